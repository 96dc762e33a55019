/**
 * Panel backtests: a dates × symbols grid of returns and forecasts (or weights) → one portfolio, with equal-weight
 * buy & hold of the same universe on the same window.
 *
 * Grids are row-major Float64Arrays: entry `[t * m + j]` is date t, symbol j. Conventions (besides the engine's, see
 * lib/backtest/engine.ts):
 *
 * - Returns come from adjusted closes: r[t, j] = P[t, j] / P[prev, j] − 1 where prev is the symbol's previous date
 *   with a price, so a gap's return is earned when the price reappears. A symbol with no price on a date has a NaN
 *   return there and contributes nothing to that date's P&L (its held weight sits idle, as cash). Weights are not
 *   renormalized on the held date for missing prices: that would use information from after the decision.
 * - Forecast NaN = not tradable that date (see lib/backtest/portfolio.ts). Dates where no symbol has a forecast are
 *   "no decision"; the evaluation window runs from the first decision + lag to the last decision + lag.
 * - Target weights are restored at every close (daily rebalancing): turnover counts changes of target weights, not
 *   the drift of held weights between closes.
 * - Buy & hold: at the start of the window, 1/N of capital in each of the N symbols that have a return on the first
 *   held date, never rebalanced (each holding drifts with its own returns; a symbol without a price earns nothing).
 *   It pays the same entry cost as the strategy ((costBps + slippageBps)/1e4 on a turnover of 1) and nothing after.
 *
 * @module
 */

import { pl } from "../data/polars.ts";
import type { Panel } from "../data/panel.ts";
import { ConfigError } from "../errors.ts";
import {
  type BacktestConventions,
  type BacktestCostOptions,
  type BenchmarkResult,
  conventionsOf,
  equityOf,
  plausibilityWarnings,
  resolveCosts,
  simulateWeights,
} from "./engine.ts";
import { type BacktestMetrics, computeMetrics, type SharpeSignificanceOptions } from "./metrics.ts";
import { describeScheme, type PortfolioScheme, portfolioWeights } from "./portfolio.ts";

/** Options of {@link backtestGrid}. Give either `forecasts` (with `portfolio`) or `weights`. */
export interface GridBacktestOptions extends BacktestCostOptions, SharpeSignificanceOptions {
  /** Sorted ISO dates (n). */
  dates: readonly string[];
  /** Symbols (m). */
  symbols: readonly string[];
  /** Arithmetic returns, n × m row-major, NaN where a symbol has no price. */
  returns: ArrayLike<number>;
  /** Forecasts known at the close of each date, n × m row-major, NaN = no forecast. */
  forecasts?: ArrayLike<number>;
  /** Explicit target weights, n × m row-major (instead of forecasts + portfolio). */
  weights?: ArrayLike<number>;
  /** Portfolio construction from forecasts (default "long-short"). */
  portfolio?: PortfolioScheme;
}

/**
 * What the run store keeps of a backtest (the shape `Store.putBacktest` accepts): the conventions it ran with,
 * metrics beside buy & hold on the same window, warnings, the equity curves, and the rest of the conventions in
 * `details` (portfolio construction, same-bar flag, borrow, window, metric definitions). NaN metrics are kept as NaN.
 */
export interface BacktestRunRecord {
  /** Days between decision and holding. */
  lag: number;
  /** Commission per unit of one-way turnover, bps. */
  costBps: number;
  /** Slippage per unit of one-way turnover, bps. */
  slippageBps: number;
  /** Periods per year. */
  annualization: number;
  /** Strategy metrics (see lib/backtest/metrics.ts). */
  metrics: Record<string, number>;
  /** Buy & hold metrics on the same window. */
  buyAndHold: Record<string, number>;
  /** Caveats to show beside the numbers. */
  warnings: string[];
  /** Equity curves over the window: strategy and buy & hold, dates aligned. */
  equity: { dates: string[]; values: number[]; buyAndHold: number[] };
  /** Portfolio construction, same-bar flag, borrow, window, return and metric definitions. */
  details: Record<string, unknown>;
}

/**
 * Metrics as a plain number map for storage: absent optional figures are left out and ±Infinity (an overflowing
 * CAGR over a very short window) is stored as NaN, "undefined", since stores keep finite numbers or NaN only.
 */
export function metricsRecord(m: BacktestMetrics): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(m)) if (typeof v === "number") out[k] = Number.isFinite(v) ? v : NaN;
  return out;
}

/** Result of a panel backtest. Per-date arrays have n entries (NaN outside the window). */
export interface PanelBacktestResult {
  /** The grid's dates (n). */
  dates: readonly string[];
  /** The grid's symbols (m). */
  symbols: readonly string[];
  /** Equity ∏(1 + net) over the window; NaN outside. */
  equity: Float64Array;
  /** Net portfolio return per date; NaN outside the window. */
  netReturns: Float64Array;
  /** Gross exposure Σ|q| per date. */
  gross: Float64Array;
  /** One-way traded weight Σ|Δq| per date. */
  traded: Float64Array;
  /** Held weights q (n × m row-major). */
  heldWeights: Float64Array;
  /** Strategy metrics, with alpha/IR/beta against buy & hold. */
  metrics: BacktestMetrics;
  /** Equal-weight buy & hold on the same window. */
  buyAndHold: BenchmarkResult;
  /** Inclusive evaluation window, as indices and dates. */
  window: { start: number; end: number; startDate?: string; endDate?: string };
  /** Portfolio construction label. */
  portfolio: string;
  /** Conventions the run used (stored). */
  conventions: BacktestConventions;
  /** Caveats (same-bar trading, partial universes, ...). */
  warnings: string[];
  /** JSON-ready summary for the run store. */
  record: BacktestRunRecord;
}

/**
 * Equal-weight buy & hold over [start, end] of the symbols with a finite return at `start` (see module docs).
 * Returns per-date net returns (NaN outside the window).
 */
export function buyAndHoldGrid(
  returns: ArrayLike<number>,
  n: number,
  m: number,
  start: number,
  end: number,
  entryCost: number,
): { net: Float64Array; universe: number } {
  const net = new Float64Array(n).fill(NaN);
  if (end < start) return { net, universe: 0 };
  const members: number[] = [];
  for (let j = 0; j < m; j++) if (Number.isFinite(returns[start * m + j])) members.push(j);
  const value = new Float64Array(members.length).fill(1 / Math.max(1, members.length));
  let prevTotal = 1;
  for (let t = start; t <= end; t++) {
    let total = 0;
    for (let i = 0; i < members.length; i++) {
      const r = returns[t * m + members[i]];
      if (Number.isFinite(r)) value[i] *= 1 + r;
      total += value[i];
    }
    if (members.length === 0) total = 1;
    net[t] = total / prevTotal - 1 - (t === start && members.length > 0 ? entryCost : 0);
    prevTotal = total;
  }
  return { net, universe: members.length };
}

function windowList(a: Float64Array, start: number, end: number): number[] {
  const out: number[] = [];
  for (let t = start; t <= end; t++) out.push(a[t]);
  return out;
}

/**
 * Backtests a dates × symbols grid: forecasts → weights (equal weight, long-short, long-only, top-k with dropout) or
 * explicit weights → lagged, costed portfolio returns, with equal-weight buy & hold on the same window.
 *
 * Guards against: misaligned grids (size checks), look-ahead through lag 0, a benchmark measured on a different
 * window than the strategy.
 */
export function backtestGrid(opts: GridBacktestOptions): PanelBacktestResult {
  const costs = resolveCosts(opts);
  const n = opts.dates.length;
  const m = opts.symbols.length;
  if (opts.returns.length !== n * m) {
    throw new ConfigError(`returns has ${opts.returns.length} entries, expected ${n * m} (${n} dates × ${m} symbols)`);
  }
  if ((opts.forecasts === undefined) === (opts.weights === undefined)) {
    throw new ConfigError("give exactly one of forecasts (with a portfolio scheme) or weights");
  }
  const scheme = opts.portfolio ?? "long-short";
  const weights = opts.weights ?? portfolioWeights(opts.forecasts!, n, m, scheme);
  const sim = simulateWeights(opts.returns, weights, n, m, costs);
  const { start, end } = sim;
  const warnings = [...costs.warnings];
  if (end < start) warnings.push("no forecast or weight inside the grid: nothing was held, metrics are NaN");
  const entryCost = (costs.costBps + costs.slippageBps) / 1e4;
  const bh = buyAndHoldGrid(opts.returns, n, m, start, end, entryCost);
  if (end >= start && bh.universe < m) {
    warnings.push(`buy & hold holds the ${bh.universe} of ${m} symbols with a price on the first held date`);
  }
  const win = (a: Float64Array) => a.subarray(start, end + 1);
  const bhWin = win(bh.net);
  const ones = new Float64Array(bhWin.length).fill(1);
  const bhTraded = new Float64Array(bhWin.length);
  if (bhTraded.length > 0) bhTraded[0] = 1;
  const bhMetrics = computeMetrics({ net: bhWin, gross: ones, traded: bhTraded, annualization: costs.annualization });
  const metrics = computeMetrics({
    net: win(sim.net),
    gross: win(sim.gross),
    traded: win(sim.traded),
    benchmark: bhWin,
    annualization: costs.annualization,
    trials: opts.trials,
    trialSharpeVariance: opts.trialSharpeVariance,
  });
  warnings.push(...plausibilityWarnings(metrics));
  const equity = equityOf(sim.net, start, end);
  const bhEquity = equityOf(bh.net, start, end);
  const conventions = conventionsOf(costs);
  const portfolio = opts.weights !== undefined ? "weights" : describeScheme(scheme);
  const hasWindow = end >= start;
  const record: BacktestRunRecord = {
    lag: costs.lag,
    costBps: costs.costBps,
    slippageBps: costs.slippageBps,
    annualization: costs.annualization,
    metrics: metricsRecord(metrics),
    buyAndHold: metricsRecord(bhMetrics),
    warnings,
    equity: {
      dates: hasWindow ? opts.dates.slice(start, end + 1) : [],
      values: hasWindow ? windowList(equity, start, end) : [],
      buyAndHold: hasWindow ? windowList(bhEquity, start, end) : [],
    },
    details: {
      portfolio,
      symbols: m,
      buyAndHoldSymbols: bh.universe,
      sameBar: costs.sameBar,
      borrowBps: costs.borrowBps,
      window: hasWindow ? { start: opts.dates[start], end: opts.dates[end], periods: end - start + 1 } : null,
      returns: conventions.returns,
      engine: conventions.engine,
      metricDefinitions: conventions.metrics,
    },
  };
  return {
    dates: opts.dates,
    symbols: opts.symbols,
    equity,
    netReturns: sim.net,
    gross: sim.gross,
    traded: sim.traded,
    heldWeights: sim.held,
    metrics,
    buyAndHold: { equity: bhEquity, netReturns: bh.net, metrics: bhMetrics },
    window: hasWindow ? { start, end, startDate: opts.dates[start], endDate: opts.dates[end] } : { start: 0, end: -1 },
    portfolio,
    conventions,
    warnings,
    record,
  };
}

/**
 * The dates × symbols grid of arithmetic returns from a Panel's `adj_close` (see module docs for gaps). Dates are
 * the panel's sorted date union; symbols its symbols.
 *
 * Reads only typed columns and per-symbol date ranges from polars: a symbol whose rows fill its date range has
 * contiguous date indices; only symbols with gaps have their date strings read (a full S&P 500 panel takes well
 * under a second instead of several seconds of string conversion).
 */
export function panelReturns(panel: Panel): { dates: string[]; symbols: string[]; returns: Float64Array } {
  const dates = [...panel.dates];
  const symbols = [...panel.symbols];
  const n = dates.length;
  const m = symbols.length;
  const dateIndex = new Map(dates.map((d, i) => [d, i]));
  const frame = panel.frame;
  const ranges = frame.groupBy("symbol").agg(
    pl.col("date").min().alias("first"),
    pl.col("date").max().alias("last"),
    pl.col("date").count().alias("rows"),
  );
  const rSymbols = ranges.getColumn("symbol").toArray() as string[];
  const rFirst = ranges.getColumn("first").toArray() as string[];
  const rLast = ranges.getColumn("last").toArray() as string[];
  const rRows = ranges.getColumn("rows").toArray() as number[];
  const bySymbol = new Map(rSymbols.map((s, i) => [s, i]));
  const prices = frame.getColumn("adj_close").toTypedArray() as Float64Array;
  const symbolColumn = frame.getColumn("symbol");
  const dateColumn = frame.getColumn("date");
  const returns = new Float64Array(n * m).fill(NaN);
  let offset = 0;
  for (let j = 0; j < m; j++) {
    const k = bySymbol.get(symbols[j]);
    if (k === undefined) continue; // a symbol without rows
    const rows = Number(rRows[k]);
    if (symbolColumn.get(offset) !== symbols[j]) {
      throw new ConfigError(
        `panel frame is not sorted by symbol in panel.symbols order (row ${offset} is ${symbolColumn.get(offset)}, ` +
          `expected ${symbols[j]}); build Panels with the data loader`,
      );
    }
    const t0 = dateIndex.get(rFirst[k]);
    const t1 = dateIndex.get(rLast[k]);
    if (t0 === undefined || t1 === undefined) {
      throw new ConfigError(`panel dates of ${symbols[j]} are not in panel.dates`);
    }
    let index: (i: number) => number;
    if (t1 - t0 + 1 === rows) {
      index = (i) => t0 + i;
    } else {
      const own = dateColumn.slice(offset, rows).toArray() as string[];
      const idx = Int32Array.from(own, (d) => dateIndex.get(d) ?? -1);
      if (idx.includes(-1)) throw new ConfigError(`panel dates of ${symbols[j]} are not in panel.dates`);
      index = (i) => idx[i];
    }
    for (let i = 1; i < rows; i++) {
      returns[index(i) * m + j] = prices[offset + i] / prices[offset + i - 1] - 1;
    }
    offset += rows;
  }
  if (offset !== prices.length) {
    throw new ConfigError(`panel frame has ${prices.length} rows but its symbols account for ${offset}`);
  }
  return { dates, symbols, returns };
}

/** Long-format values keyed by (date, symbol), e.g. stitched out-of-sample predictions. */
export interface LongValues {
  /** Date of each value. */
  dates: readonly string[];
  /** Symbol of each value. */
  symbols: readonly string[];
  /** The values (NaN = absent). */
  values: ArrayLike<number>;
}

/**
 * Places long-format (date, symbol, value) rows on a dates × symbols grid (NaN where absent). Unknown dates or
 * symbols and duplicate (date, symbol) pairs are ConfigErrors: a silently dropped or doubled forecast would change
 * the backtest without notice.
 */
export function toGrid(values: LongValues, dates: readonly string[], symbols: readonly string[]): Float64Array {
  const n = dates.length;
  const m = symbols.length;
  if (values.dates.length !== values.values.length || values.symbols.length !== values.values.length) {
    throw new ConfigError(
      `forecast dates (${values.dates.length}), symbols (${values.symbols.length}) and values ` +
        `(${values.values.length}) must have the same length`,
    );
  }
  const dateIndex = new Map(dates.map((d, i) => [d, i]));
  const symbolIndex = new Map(symbols.map((s, i) => [s, i]));
  const grid = new Float64Array(n * m).fill(NaN);
  const seen = new Uint8Array(n * m);
  for (let i = 0; i < values.values.length; i++) {
    const t = dateIndex.get(values.dates[i]);
    const j = symbolIndex.get(values.symbols[i]);
    if (t === undefined) throw new ConfigError(`forecast row ${i}: date ${values.dates[i]} is not a panel date`);
    if (j === undefined) throw new ConfigError(`forecast row ${i}: symbol ${values.symbols[i]} is not in the panel`);
    if (seen[t * m + j]) {
      throw new ConfigError(`forecast row ${i}: duplicate forecast for ${values.symbols[i]} on ${values.dates[i]}`);
    }
    seen[t * m + j] = 1;
    grid[t * m + j] = values.values[i];
  }
  return grid;
}

/** Options of {@link backtestPanel}. */
export interface PanelBacktestOptions extends BacktestCostOptions, SharpeSignificanceOptions {
  /** Prices; returns come from `adj_close`. */
  panel: Panel;
  /** Forecasts known at the close of each (date, symbol), long format; rows not given are "no forecast". */
  forecasts: LongValues;
  /** Portfolio construction (default "long-short"). */
  portfolio?: PortfolioScheme;
}

/**
 * Backtests long-format forecasts against a Panel's adjusted-close returns: the grid form of {@link backtestGrid}
 * with returns from {@link panelReturns} and forecasts placed by {@link toGrid}.
 */
export function backtestPanel(opts: PanelBacktestOptions): PanelBacktestResult {
  const { dates, symbols, returns } = panelReturns(opts.panel);
  const forecasts = toGrid(opts.forecasts, dates, symbols);
  return backtestGrid({ ...opts, dates, symbols, returns, forecasts });
}
