/**
 * The forward simulator: steps through dates, asking the strategy (a model and a sizer) for its decision at each
 * close while showing it only what was known then, and does its own incremental accounting.
 *
 * How look-ahead is kept out and caught:
 *
 * 1. **Truncated views.** At the close of d the strategy gets a {@link MarketView} whose arrays end at d (returns,
 *    forecasts, its own equity and positions); the position it decides is held over d + lag. Seen from the period a
 *    position is held in, t, the model and sizer saw a view truncated at t − lag (t − 1 by default). They are windows onto buffers that are filled one date at a time, so
 *    not even the underlying ArrayBuffer holds a later value: reading past the end yields `undefined` / NaN.
 * 2. **Look-ahead audit** (on by default). At each audited date the same decision is recomputed from an *oracle*
 *    view whose arrays run to the last date. An honest decision at d depends only on data through d and comes out
 *    identical; one that reads past `view.t` sees real future values in the oracle view and differs. The first such
 *    date raises a {@link LeakageError}. This also catches vectorized signal code (a centered window, a
 *    `shift(-1)`, full-sample normalization) evaluated on the view. The audit needs decisions to be a pure function
 *    of the view: keep state in the view (equity, held), not in the closure.
 * 3. What no simulator can see: a strategy that closes over outside data (a precomputed array indexed by
 *    `view.t`). Pass data in through `returns` / `forecasts` so it is revealed date by date.
 *
 * The accounting is an independent, incremental implementation of the engine's semantics (lag, costs on position
 * changes, borrow, NaN handling, evaluation window); on the same decisions it equals the vectorized engine
 * (tested to 1e-12).
 *
 * @module
 */

import { ConfigError, LeakageError } from "../errors.ts";
import {
  type BacktestCostOptions,
  type BacktestResult,
  conventionsOf,
  equityOf,
  infinitePositionError,
  plausibilityWarnings,
  resolveCosts,
  simulateWeights,
} from "./engine.ts";
import { computeMetrics, type SharpeSignificanceOptions } from "./metrics.ts";
import { buyAndHoldGrid } from "./panel.ts";

/** Buy & hold trades its whole capital once, on the first held date. */
function bhTraded(n: number, start: number): Float64Array {
  const a = new Float64Array(n);
  if (start < n) a[start] = 1;
  return a;
}

/** What a strategy sees at the close of date t. Grid arrays are row-major (dates × symbols) and end at t. */
export interface MarketView {
  /** Index of the current close (the decision date). */
  readonly t: number;
  /** Date of the current close, when dates were given. */
  readonly date?: string;
  /** Number of symbols (1 for a single series). */
  readonly symbols: number;
  /** Returns through t: (t + 1) × symbols. */
  readonly returns: Float64Array;
  /** Forecasts through t, when given: (t + 1) × symbols. */
  readonly forecasts?: Float64Array;
  /** The strategy's equity through t (NaN before its first held period). */
  readonly equity: Float64Array;
  /** Positions held through t: (t + 1) × symbols. */
  readonly held: Float64Array;
  /** The strategy's own earlier decisions, through t − 1: t × symbols (NaN = no decision). */
  readonly decisions: Float64Array;
}

/** The strategy's decision at a close: one position (single series) or one weight per symbol. NaN = no decision. */
export type Decision = number | ArrayLike<number>;

/** Options of {@link simulateForward}. */
export interface ForwardOptions extends BacktestCostOptions, SharpeSignificanceOptions {
  /** Returns, n × symbols row-major (NaN = no price). */
  returns: ArrayLike<number>;
  /** Number of symbols (default 1). */
  symbols?: number;
  /** Model outputs known at each close (e.g. out-of-sample predictions), revealed date by date. */
  forecasts?: ArrayLike<number>;
  /** ISO dates (n), for messages and the view. */
  dates?: readonly string[];
  /** Forecast at the close of view.t (default: the revealed forecast row at view.t). */
  model?: (view: MarketView) => Decision;
  /** Position(s) from the model's forecast (default: the forecast itself). */
  sizer?: (forecast: Decision, view: MarketView) => Decision;
  /** Recompute decisions from a full-history view and fail on any difference (default "every" date). */
  lookAheadAudit?: "every" | false | number;
}

/** Result of {@link simulateForward}: a BacktestResult plus the decisions taken at each close. */
export interface ForwardResult extends BacktestResult {
  /** Target positions decided at each close, n × symbols (NaN = no decision). */
  decisions: Float64Array;
}

function isFiniteNumber(x: number): boolean {
  return x === x && x !== Infinity && x !== -Infinity;
}

function sameDecision(a: number, b: number): boolean {
  return a === b || (Number.isNaN(a) && Number.isNaN(b));
}

/**
 * Runs a strategy forward through time (see module docs). Throws LeakageError when the look-ahead audit finds a
 * decision that changes once later data is visible, and ConfigError for lag 0: a decision taken at a close from
 * data through that close cannot be held over the same period.
 */
export function simulateForward(opts: ForwardOptions): ForwardResult {
  const costs = resolveCosts(opts);
  if (costs.lag === 0) {
    throw new ConfigError(
      "the forward simulator decides at each close from a view through that close, which can only be held from " +
        "the next period: lag 0 (same bar) is not simulated. Use lag ≥ 1, or the vectorized engine (backtest with " +
        "sameBar: true) for decisions really made before the bar opens",
    );
  }
  const m = opts.symbols ?? 1;
  if (!Number.isInteger(m) || m < 1) throw new ConfigError(`symbols must be an integer ≥ 1, got ${m}`);
  const total = opts.returns.length;
  if (total % m !== 0) throw new ConfigError(`returns has ${total} entries, not a multiple of ${m} symbols`);
  const n = total / m;
  if (opts.forecasts !== undefined && opts.forecasts.length !== total) {
    throw new ConfigError(`forecasts has ${opts.forecasts.length} entries, expected ${total}`);
  }
  if (opts.dates !== undefined && opts.dates.length !== n) {
    throw new ConfigError(`dates has ${opts.dates.length} entries, expected ${n}`);
  }
  if (opts.model === undefined && opts.forecasts === undefined) {
    throw new ConfigError("give forecasts, a model, or both");
  }
  const audit = opts.lookAheadAudit ?? "every";
  const auditEvery = audit === false ? 0 : audit === "every" ? 1 : audit;
  if (!Number.isInteger(auditEvery) || auditEvery < 0) {
    throw new ConfigError(`lookAheadAudit must be "every", false or a positive step, got ${audit}`);
  }
  const model = opts.model ??
    ((v: MarketView) => (m === 1 ? v.forecasts![v.t] : v.forecasts!.slice(v.t * m, (v.t + 1) * m)));
  const sizer = opts.sizer ?? ((f: Decision) => f);

  // Buffers revealed one date at a time.
  const seenReturns = new Float64Array(total).fill(NaN);
  const seenForecasts = opts.forecasts === undefined ? undefined : new Float64Array(total).fill(NaN);
  const equityBuf = new Float64Array(n).fill(NaN);
  const held = new Float64Array(total);
  const decisions = new Float64Array(total).fill(NaN);
  const fullReturns = Float64Array.from(opts.returns);
  const fullForecasts = opts.forecasts === undefined ? undefined : Float64Array.from(opts.forecasts);

  const c = (costs.costBps + costs.slippageBps) / 1e4;
  const borrow = costs.borrowBps / 1e4 / costs.annualization;
  const lag = costs.lag;
  const net = new Float64Array(n).fill(NaN);
  const gross = new Float64Array(n);
  const traded = new Float64Array(n);
  let firstDecision = -1;
  let lastDecision = -1;
  let equity = 1;

  const decide = (view: MarketView): Float64Array => {
    const d = sizer(model(view), view);
    const out = new Float64Array(m);
    if (typeof d === "number") {
      if (m !== 1) throw new ConfigError(`the strategy returned one number for ${m} symbols`);
      out[0] = d;
    } else {
      if (d.length < m) throw new ConfigError(`the strategy returned ${d.length} weights for ${m} symbols`);
      for (let j = 0; j < m; j++) out[j] = d[j];
    }
    return out;
  };

  for (let t = 0; t < n; t++) {
    // Reveal the close of t.
    for (let j = 0; j < m; j++) {
      seenReturns[t * m + j] = fullReturns[t * m + j];
      if (seenForecasts !== undefined) seenForecasts[t * m + j] = fullForecasts![t * m + j];
    }
    // Account for period t with the decision taken lag periods ago.
    const src = t - lag;
    if (firstDecision >= 0 && src >= firstDecision) {
      let pnl = 0;
      let g = 0;
      let tr = 0;
      let shorts = 0;
      const startNow = src === firstDecision;
      for (let j = 0; j < m; j++) {
        const w = decisions[src * m + j];
        const q = isFiniteNumber(w) ? w : 0;
        held[t * m + j] = q;
        const r = fullReturns[t * m + j];
        if (isFiniteNumber(r)) pnl += q * r;
        tr += Math.abs(q - (startNow ? 0 : held[(t - 1) * m + j]));
        if (q < 0) shorts -= q;
        g += Math.abs(q);
      }
      net[t] = pnl - c * tr - borrow * shorts;
      gross[t] = g;
      traded[t] = tr;
      equity *= 1 + net[t];
      equityBuf[t] = equity;
    }
    // Decide at the close of t from the truncated view.
    const view: MarketView = {
      t,
      date: opts.dates?.[t],
      symbols: m,
      returns: seenReturns.subarray(0, (t + 1) * m),
      forecasts: seenForecasts?.subarray(0, (t + 1) * m),
      equity: equityBuf.subarray(0, t + 1),
      held: held.subarray(0, (t + 1) * m),
      decisions: decisions.subarray(0, t * m),
    };
    const d = decide(view);
    if (auditEvery > 0 && t % auditEvery === 0) {
      const oracle: MarketView = { ...view, returns: fullReturns, forecasts: fullForecasts };
      const o = decide(oracle);
      for (let j = 0; j < m; j++) {
        if (!sameDecision(d[j], o[j])) {
          const when = opts.dates?.[t] ?? `index ${t}`;
          throw new LeakageError(
            `look-ahead: the decision at ${when}${m > 1 ? ` (symbol ${j})` : ""} is ${d[j]} from data up to that ` +
              `close but ${o[j]} when later data is visible. The model or sizer reads past view.t; use only ` +
              `view arrays up to index t (inclusive).`,
          );
        }
      }
    }
    let any = false;
    for (let j = 0; j < m; j++) {
      if (d[j] === Infinity || d[j] === -Infinity) {
        const when = opts.dates?.[t] ?? `index ${t}`;
        throw infinitePositionError(`the decision at ${when}${m > 1 ? ` (symbol ${j})` : ""}`, d[j]);
      }
      decisions[t * m + j] = d[j];
      if (isFiniteNumber(d[j])) any = true;
    }
    if (any) {
      if (firstDecision < 0) firstDecision = t;
      lastDecision = t;
    }
  }

  // Report on the engine's window: [first decision + lag, last decision + lag].
  const start = firstDecision < 0 ? n : firstDecision + lag;
  const end = firstDecision < 0 ? -1 : Math.min(lastDecision + lag, n - 1);
  for (let t = end + 1; t < n; t++) net[t] = NaN;
  const warnings = [...costs.warnings];
  if (end < start) warnings.push("the strategy never decided a finite position: nothing was held, metrics are NaN");
  const ones = new Float64Array(total).fill(NaN);
  if (end >= start) ones.fill(1, (start - lag) * m, (end - lag + 1) * m);
  const entryCost = (costs.costBps + costs.slippageBps) / 1e4;
  const bh = m === 1 ? simulateWeights(fullReturns, ones, n, 1, costs) : {
    ...buyAndHoldGrid(fullReturns, n, m, start, end, entryCost),
    gross: new Float64Array(n).fill(1),
    traded: bhTraded(n, start),
  };
  const win = (a: Float64Array) => a.subarray(start, end + 1);
  const metrics = computeMetrics({
    net: win(net),
    gross: win(gross),
    traded: win(traded),
    benchmark: win(bh.net),
    annualization: costs.annualization,
    trials: opts.trials,
    trialSharpeVariance: opts.trialSharpeVariance,
  });
  warnings.push(...plausibilityWarnings(metrics));
  return {
    equity: equityOf(net, start, end),
    netReturns: net,
    heldPositions: held,
    decisions,
    metrics,
    buyAndHold: {
      equity: equityOf(bh.net, start, end),
      netReturns: bh.net,
      metrics: computeMetrics({
        net: win(bh.net),
        gross: win(bh.gross),
        traded: win(bh.traded),
        annualization: costs.annualization,
      }),
    },
    window: end >= start ? { start, end } : { start: 0, end: -1 },
    conventions: conventionsOf(costs),
    warnings,
  };
}
