/**
 * The lagged, vectorized backtest engine (hand-written: no maintained package implements these exact, stored
 * semantics over typed arrays).
 *
 * Semantics (stored with every result, see {@link BacktestConventions}):
 *
 * - `returns[t]` is the arithmetic return from the close of t − 1 to the close of t: r[t] = P[t] / P[t−1] − 1.
 * - `positions[t]` is the target position (fraction of capital; negative = short) decided at the close of t, using
 *   information up to that close.
 * - The position held over period t is q[t] = p[t − lag]. `lag` ≥ 1 (default 1): a decision at the close of t earns
 *   from t + 1 on. `lag = 0` (trading on the same bar the decision was computed from) is look-ahead unless the
 *   decision really was made before the open; it is refused unless `sameBar: true`, and then a warning is stored.
 * - Net return: net[t] = q[t]·r[t] − (costBps + slippageBps)/1e4 · |q[t] − q[t−1]| − borrowBps/1e4/annualization ·
 *   max(−q[t], 0). Costs are charged on position changes, including the first entry from flat; no cost is charged
 *   for a final exit (positions are not closed at the end). Borrow is an annual rate on the short notional.
 * - Equity is ∏(1 + net), starting at 1.
 * - Evaluation window: from the first period in which a decided position can be held (first finite decision + lag)
 *   to the last (last finite decision + lag, or the last period). Metrics and buy & hold use this window only;
 *   `equity` and `netReturns` are NaN outside it.
 * - Missing data: a NaN position inside the window means "no decision": flat (0). A non-finite return means "no
 *   price": the held position earns nothing that period (costs of position changes are still charged). An infinite
 *   position (±Infinity, e.g. a forecast divided by a zero volatility) is a bug upstream, not "no decision": it is a
 *   ConfigError naming its index.
 * - Buy & hold (single series) is the same engine with a constant position of 1 over the same window, so it pays the
 *   same one-time entry cost.
 * - Too good to be true is flagged (docs/design.md §6.3): with at least {@link PLAUSIBILITY_MIN_PERIODS} periods, an
 *   annualized Sharpe ratio above the plausibility guard's limit (lib/metrics, 3 by default) adds a warning that
 *   recommends the leakage audit. Net of costs here, so anything flagged is also flagged before costs.
 *
 * @module
 */

import { ConfigError } from "../errors.ts";
import { plausibilityCheck } from "../metrics/plausibility.ts";
import {
  asFloat64,
  type BacktestMetrics,
  computeMetrics,
  METRIC_CONVENTIONS,
  type SharpeSignificanceOptions,
} from "./metrics.ts";

/** Conventions a backtest was run with; stored verbatim with the result. */
export interface BacktestConventions {
  /** Periods between the decision (close of t) and the first period it is held. */
  lag: number;
  /** True when lag 0 was explicitly allowed (same-bar trading). */
  sameBar: boolean;
  /** Commission per unit of one-way turnover, basis points. */
  costBps: number;
  /** Slippage per unit of one-way turnover, basis points. */
  slippageBps: number;
  /** Annual borrow rate on short notional, basis points per year (charged per period as rate / annualization). */
  borrowBps: number;
  /** Periods per year. */
  annualization: number;
  /** Return definition. */
  returns: string;
  /** Held-position and net-return definitions. */
  engine: string;
  /** Metric definitions. */
  metrics: Readonly<Record<string, string>>;
}

/** Cost and timing options shared by every backtest entry point. */
export interface BacktestCostOptions {
  /** Days between decision and holding; ≥ 1 unless `sameBar` (default 1). */
  lag?: number;
  /** Allow lag 0 (a warning is stored). */
  sameBar?: boolean;
  /** Commission in basis points per unit of one-way turnover (default 0). */
  costBps?: number;
  /** Slippage in basis points per unit of one-way turnover (default 0). */
  slippageBps?: number;
  /** Annual borrow rate on shorts in basis points (default 0). */
  borrowBps?: number;
  /** Periods per year (default 252). */
  annualization?: number;
}

/** Options of {@link backtest}. */
export interface BacktestOptions extends BacktestCostOptions, SharpeSignificanceOptions {
  /** Arithmetic returns r[t] = P[t]/P[t−1] − 1 (NaN where unknown, e.g. the first period). */
  returns: ArrayLike<number>;
  /** Target positions decided at the close of each period (NaN = no decision = flat). */
  positions: ArrayLike<number>;
}

/** A benchmark run over the same window. */
export interface BenchmarkResult {
  /** Equity ∏(1 + net) over the window; NaN outside. */
  equity: Float64Array;
  /** Net return per period; NaN outside the window. */
  netReturns: Float64Array;
  /** Metrics over the window. */
  metrics: BacktestMetrics;
}

/** Result of {@link backtest}. Arrays are aligned with the inputs; NaN outside the evaluation window. */
export interface BacktestResult {
  /** Equity ∏(1 + net) over the window; NaN outside. */
  equity: Float64Array;
  /** Net return per period; NaN outside the window. */
  netReturns: Float64Array;
  /** Positions actually held, q[t] = p[t − lag] (0 outside the window). */
  heldPositions: Float64Array;
  /** Metrics over the window, with alpha/IR/beta against buy & hold. */
  metrics: BacktestMetrics;
  /** Buy & hold (constant position 1) on the same window, with the same costs. */
  buyAndHold: BenchmarkResult;
  /** Inclusive index range of the evaluation window ([0, −1] when empty). */
  window: { start: number; end: number };
  /** Conventions the run used (stored). */
  conventions: BacktestConventions;
  /** Caveats (same-bar trading, nothing held, ...). */
  warnings: string[];
}

/** Validated, defaulted cost options. */
export interface ResolvedCosts {
  /** Days between decision and holding. */
  lag: number;
  /** Whether lag 0 was explicitly allowed. */
  sameBar: boolean;
  /** Commission, bps. */
  costBps: number;
  /** Slippage, bps. */
  slippageBps: number;
  /** Annual borrow on shorts, bps. */
  borrowBps: number;
  /** Periods per year. */
  annualization: number;
  /** Warnings implied by the options. */
  warnings: string[];
}

function nonNegativeFinite(x: number, name: string): number {
  if (typeof x !== "number" || !Number.isFinite(x) || x < 0) {
    throw new ConfigError(`${name} must be a finite number ≥ 0, got ${x}`);
  }
  return x;
}

/** The error for an infinite position (`where` names it: an index, a decision date): never silently held flat. */
export function infinitePositionError(where: string, value: number): ConfigError {
  return new ConfigError(
    `${where} is ${value}: an infinite position cannot be held (a forecast divided by a zero volatility?); use NaN ` +
      `for "no decision" or clip the sizing`,
  );
}

/** Validates and defaults the cost and timing options; throws ConfigError naming the bad field. */
export function resolveCosts(opts: BacktestCostOptions): ResolvedCosts {
  const lag = opts.lag ?? 1;
  const sameBar = opts.sameBar ?? false;
  if (!Number.isInteger(lag) || lag < 0) throw new ConfigError(`lag must be an integer ≥ 1, got ${lag}`);
  const warnings: string[] = [];
  if (lag === 0) {
    if (!sameBar) {
      throw new ConfigError(
        "lag 0 trades on the same bar the decision was computed from (look-ahead). Use lag ≥ 1, or pass " +
          "sameBar: true if decisions are really made before the bar opens (a warning is stored with the result).",
      );
    }
    warnings.push("same-bar execution (lag 0): positions earn the return of the bar they were decided on");
  }
  const annualization = opts.annualization ?? 252;
  if (!Number.isFinite(annualization) || annualization <= 0) {
    throw new ConfigError(`annualization must be > 0 periods per year, got ${annualization}`);
  }
  return {
    lag,
    sameBar: lag === 0 && sameBar,
    costBps: nonNegativeFinite(opts.costBps ?? 0, "costBps"),
    slippageBps: nonNegativeFinite(opts.slippageBps ?? 0, "slippageBps"),
    borrowBps: nonNegativeFinite(opts.borrowBps ?? 0, "borrowBps"),
    annualization,
    warnings,
  };
}

/** Fewer periods than this (about a quarter of daily bars) are too noisy for the Sharpe plausibility flag. */
export const PLAUSIBILITY_MIN_PERIODS = 60;

/** Warnings for too-good-to-be-true metrics (empty when plausible or too short to judge). */
export function plausibilityWarnings(metrics: BacktestMetrics): string[] {
  if (!(metrics.periods >= PLAUSIBILITY_MIN_PERIODS) || !Number.isFinite(metrics.sharpe)) return [];
  const report = plausibilityCheck({ annualizedSharpe: metrics.sharpe });
  return report.flags.map((f) => `too good to be true: ${f.reason}. ${report.recommendation}`);
}

/** The stored conventions of a run with these costs. */
export function conventionsOf(c: ResolvedCosts): BacktestConventions {
  return {
    lag: c.lag,
    sameBar: c.sameBar,
    costBps: c.costBps,
    slippageBps: c.slippageBps,
    borrowBps: c.borrowBps,
    annualization: c.annualization,
    returns: "arithmetic, r[t] = P[t]/P[t-1] - 1 from adjusted closes; no price -> no P&L",
    engine: "q[t] = p[t - lag] (p decided at the close of t); net[t] = sum q[t]*r[t] - (costBps + slippageBps)/1e4 * " +
      "sum|q[t] - q[t-1]| - borrowBps/1e4/annualization * sum max(-q[t], 0); equity = prod(1 + net)",
    metrics: METRIC_CONVENTIONS,
  };
}

/** Output of {@link simulateWeights}: per-period series over the whole grid (window entries only are meaningful). */
export interface WeightSimulation {
  /** Portfolio net return per date. */
  net: Float64Array;
  /** Gross exposure Σ|q| per date. */
  gross: Float64Array;
  /** One-way traded weight Σ|Δq| per date. */
  traded: Float64Array;
  /** Held weights q (dates × symbols, row-major). */
  held: Float64Array;
  /** First index of the evaluation window. */
  start: number;
  /** Last index of the evaluation window (inclusive; < start when empty). */
  end: number;
}

/**
 * The core loop over a dates × symbols grid (row-major, `n` dates, `m` symbols): target weights `weights[t, j]`
 * decided at the close of t are held over t + lag. Returns per-date portfolio net return, gross exposure and traded
 * weight. The window is [first date with any finite weight + lag, min(last such date + lag, n − 1)].
 */
export function simulateWeights(
  returns: ArrayLike<number>,
  weights: ArrayLike<number>,
  n: number,
  m: number,
  costs: ResolvedCosts,
): WeightSimulation {
  if (returns.length !== n * m || weights.length !== n * m) {
    throw new ConfigError(
      `returns (${returns.length}) and positions/weights (${weights.length}) must both have ${n * m} entries ` +
        `(${n} periods × ${m} symbols)`,
    );
  }
  const rets = asFloat64(returns);
  const wts = asFloat64(weights);
  for (let i = 0; i < wts.length; i++) {
    const w = wts[i];
    if (w === Infinity || w === -Infinity) {
      const where = m === 1 ? `index ${i}` : `index ${i} (period ${Math.floor(i / m)}, symbol ${i % m})`;
      throw infinitePositionError(`position at ${where}`, w);
    }
  }
  let first = -1;
  let last = -1;
  for (let t = 0; t < n && first < 0; t++) {
    for (let j = 0; j < m; j++) if (Number.isFinite(wts[t * m + j])) first = t;
  }
  for (let t = n - 1; t >= 0 && last < 0; t--) {
    for (let j = 0; j < m; j++) if (Number.isFinite(wts[t * m + j])) last = t;
  }
  const lag = costs.lag;
  const start = first < 0 ? n : first + lag;
  const end = first < 0 ? -1 : Math.min(last + lag, n - 1);
  const c = (costs.costBps + costs.slippageBps) / 1e4;
  const borrow = costs.borrowBps / 1e4 / costs.annualization;
  const net = new Float64Array(n).fill(NaN);
  const gross = new Float64Array(n);
  const traded = new Float64Array(n);
  const held = new Float64Array(n * m);
  for (let t = start; t <= end; t++) {
    const row = t * m;
    const src = (t - lag) * m;
    const prevRow = t === start ? -1 : row - m;
    let pnl = 0;
    let g = 0;
    let tr = 0;
    let shorts = 0;
    for (let j = 0; j < m; j++) {
      const w = wts[src + j];
      const q = w === w && w !== Infinity && w !== -Infinity ? w : 0;
      held[row + j] = q;
      const r = rets[row + j];
      if (r === r && r !== Infinity && r !== -Infinity) pnl += q * r;
      const prev = prevRow < 0 ? 0 : held[prevRow + j];
      tr += Math.abs(q - prev);
      if (q < 0) {
        shorts -= q;
        g -= q;
      } else g += q;
    }
    net[t] = pnl - c * tr - borrow * shorts;
    gross[t] = g;
    traded[t] = tr;
  }
  return { net, gross, traded, held, start, end };
}

/** Equity curve ∏(1 + net) over [start, end]; NaN outside. */
export function equityOf(net: Float64Array, start: number, end: number): Float64Array {
  const equity = new Float64Array(net.length).fill(NaN);
  let e = 1;
  for (let t = start; t <= end; t++) {
    e *= 1 + net[t];
    equity[t] = e;
  }
  return equity;
}

/**
 * Backtests one series of target positions against its returns with lag, costs and borrow (semantics in the module
 * documentation), with buy & hold on the same window.
 *
 * Guards against: same-bar look-ahead (lag 0 refused without `sameBar`), silently misaligned inputs (length mismatch
 * is a ConfigError), negative or non-finite costs.
 *
 * @example
 * ```ts
 * const r = backtest({ returns, positions, lag: 1, costBps: 5 });
 * r.metrics.sharpe; r.metrics.maxDrawdown; // e.g. −0.41
 * ```
 */
export function backtest(opts: BacktestOptions): BacktestResult {
  const costs = resolveCosts(opts);
  const n = opts.returns.length;
  if (opts.positions.length !== n) {
    throw new ConfigError(
      `positions has ${opts.positions.length} entries but returns has ${n}: align them on the same dates first`,
    );
  }
  const sim = simulateWeights(opts.returns, opts.positions, n, 1, costs);
  const { start, end } = sim;
  const warnings = [...costs.warnings];
  const ones = new Float64Array(n);
  if (end >= start) ones.fill(1, start - costs.lag, end - costs.lag + 1);
  else warnings.push("no finite position inside the series: nothing was held, metrics are NaN");
  const bh = simulateWeights(opts.returns, end >= start ? ones : new Float64Array(n).fill(NaN), n, 1, costs);
  const win = (a: Float64Array) => a.subarray(start, end + 1);
  const bhMetrics = computeMetrics({
    net: win(bh.net),
    gross: win(bh.gross),
    traded: win(bh.traded),
    annualization: costs.annualization,
  });
  const metrics = computeMetrics({
    net: win(sim.net),
    gross: win(sim.gross),
    traded: win(sim.traded),
    benchmark: win(bh.net),
    annualization: costs.annualization,
    trials: opts.trials,
    trialSharpeVariance: opts.trialSharpeVariance,
  });
  warnings.push(...plausibilityWarnings(metrics));
  return {
    equity: equityOf(sim.net, start, end),
    netReturns: sim.net,
    heldPositions: sim.held,
    metrics,
    buyAndHold: { equity: equityOf(bh.net, start, end), netReturns: bh.net, metrics: bhMetrics },
    window: end >= start ? { start, end } : { start: 0, end: -1 },
    conventions: conventionsOf(costs),
    warnings,
  };
}
