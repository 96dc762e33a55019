/**
 * Prediction targets and labels.
 *
 * The h-day target at t is `y_t = ln(adj_close_{t+h} / adj_close_t)` (docs/design.md §2), computed per symbol over that
 * symbol's own rows (trading days), so it never reads another symbol's prices. It is unknown (NaN) for the last h rows
 * of each symbol. From it:
 *
 * - `dailyArithmeticReturn(y, h) = exp(y / h) − 1`: the constant daily simple return that compounds to the same
 *   h-day move (what sizing and backtests need from an h-day log-return forecast);
 * - `binaryLabel(y)`: 1 when y > 0, else 0 (NaN stays NaN);
 * - `threeClassLabel(y, band)`: 0 = DOWN (y < −band), 1 = FLAT (|y| ≤ band), 2 = UP (y > band), with the band
 *   either absolute (log-return units) or in volatility units (`k · σ_t · √h`, σ_t the trailing daily volatility known
 *   at t — never the forward one);
 * - `excessOfMarket`: y minus the same-date market return (equal-weight cross-sectional mean of y, or a named
 *   symbol's y such as SPY);
 * - `fitTargetDemeaner`: a mean offset fitted on a training window only, recording that window, so a test fold's
 *   mean never leaks into training.
 *
 * @module
 */

import { pl } from "../data/polars.ts";
import { ConfigError } from "../errors.ts";

/** An inclusive range of ISO dates (structurally the same as lib/validation's DateWindow). */
export interface FitWindow {
  /** First date of the window, ISO `YYYY-MM-DD`, inclusive. */
  start: string;
  /** Last date of the window, ISO `YYYY-MM-DD`, inclusive. */
  end: string;
}

/** Checks that a horizon is a positive integer number of trading days. */
export function assertHorizon(horizon: number): void {
  if (!Number.isInteger(horizon) || horizon < 1) {
    throw new ConfigError(`horizon must be a positive integer number of trading days, got ${horizon}`);
  }
}

/**
 * Polars expression for the h-day forward log return `ln(adj_close_{t+h} / adj_close_t)` per symbol (null for the
 * last h rows of each symbol). Evaluate on a frame sorted by symbol then date.
 */
export function forwardLogReturnExpr(horizon: number): pl.Expr {
  assertHorizon(horizon);
  const c = pl.col("adj_close");
  return c.shift(-horizon).div(c).log().over("symbol");
}

/** Daily arithmetic equivalent of an h-day log return: `exp(y / h) − 1` (element-wise; NaN stays NaN). */
export function dailyArithmeticReturn(logReturn: ArrayLike<number>, horizon: number): Float64Array {
  assertHorizon(horizon);
  const out = new Float64Array(logReturn.length);
  for (let i = 0; i < out.length; i++) out[i] = Math.expm1(logReturn[i] / horizon);
  return out;
}

/** Direction label: 1 when y > 0, 0 when y ≤ 0, NaN when y is NaN. */
export function binaryLabel(target: ArrayLike<number>): Float64Array {
  const out = new Float64Array(target.length);
  for (let i = 0; i < out.length; i++) out[i] = Number.isNaN(target[i]) ? Number.NaN : target[i] > 0 ? 1 : 0;
  return out;
}

/** Flat band of a 3-class label: absolute log-return units, or k trailing volatilities scaled to the horizon. */
export type FlatBand =
  | { kind: "absolute"; width: number }
  | {
    kind: "volatility";
    /** Band = k · σ_t · √h. */
    k: number;
    /** σ_t: trailing daily volatility known at t (e.g. the RVOL20 feature), one per row. */
    dailyVolatility: ArrayLike<number>;
    horizon: number;
  };

/** 3-class label: 0 = DOWN (y < −band), 1 = FLAT (−band ≤ y ≤ band), 2 = UP (y > band); NaN where y or band is NaN. */
export function threeClassLabel(target: ArrayLike<number>, band: FlatBand): Float64Array {
  if (band.kind === "absolute" && !(band.width >= 0)) {
    throw new ConfigError(`flat band width must be ≥ 0, got ${band.width}`);
  }
  if (band.kind === "volatility") {
    if (!(band.k >= 0)) throw new ConfigError(`flat band k must be ≥ 0, got ${band.k}`);
    assertHorizon(band.horizon);
    if (band.dailyVolatility.length !== target.length) {
      throw new ConfigError(`dailyVolatility has ${band.dailyVolatility.length} values for ${target.length} targets`);
    }
  }
  const out = new Float64Array(target.length);
  for (let i = 0; i < out.length; i++) {
    const w = band.kind === "absolute" ? band.width : band.k * band.dailyVolatility[i] * Math.sqrt(band.horizon);
    const y = target[i];
    out[i] = Number.isNaN(y) || Number.isNaN(w) ? Number.NaN : y > w ? 2 : y < -w ? 0 : 1;
  }
  return out;
}

/**
 * Excess-of-market target: y minus the same-date market value. `market: "equal-weight"` uses the cross-sectional mean
 * of the non-missing targets on each date; `{ symbol }` uses that symbol's target on the same date (NaN when the
 * symbol has no target that date). Inputs are parallel arrays (one entry per row).
 */
export function excessOfMarket(
  target: ArrayLike<number>,
  dates: readonly string[],
  symbols: readonly string[],
  market: "equal-weight" | { symbol: string } = "equal-weight",
): Float64Array {
  if (dates.length !== target.length || symbols.length !== target.length) {
    throw new ConfigError("excessOfMarket: target, dates and symbols must have the same length");
  }
  const ref = new Map<string, number>();
  if (market === "equal-weight") {
    const sum = new Map<string, number>();
    const n = new Map<string, number>();
    for (let i = 0; i < target.length; i++) {
      if (Number.isNaN(target[i])) continue;
      sum.set(dates[i], (sum.get(dates[i]) ?? 0) + target[i]);
      n.set(dates[i], (n.get(dates[i]) ?? 0) + 1);
    }
    for (const [d, s] of sum) ref.set(d, s / n.get(d)!);
  } else {
    for (let i = 0; i < target.length; i++) if (symbols[i] === market.symbol) ref.set(dates[i], target[i]);
  }
  const out = new Float64Array(target.length);
  for (let i = 0; i < out.length; i++) out[i] = target[i] - (ref.get(dates[i]) ?? Number.NaN);
  return out;
}

/** A de-meaning offset fitted on one training window. */
export interface TargetDemeaner {
  /** Mean of the non-missing training targets. */
  readonly mean: number;
  /** The inclusive date window it was fitted on. */
  readonly window: FitWindow;
  /** Number of targets it was fitted on. */
  readonly count: number;
  /** Returns `y − mean` (a new array). */
  apply(target: ArrayLike<number>): Float64Array;
}

/**
 * Fits a de-meaning offset on the rows whose date lies in `window` (inclusive) only. Guards against the classic leak
 * of de-meaning with the full-sample mean, which carries the test period's drift into training.
 *
 * @throws ConfigError when the window holds no non-missing target.
 */
export function fitTargetDemeaner(
  target: ArrayLike<number>,
  dates: readonly string[],
  window: FitWindow,
): TargetDemeaner {
  let sum = 0;
  let count = 0;
  for (let i = 0; i < target.length; i++) {
    if (dates[i] >= window.start && dates[i] <= window.end && !Number.isNaN(target[i])) {
      sum += target[i];
      count++;
    }
  }
  if (count === 0) throw new ConfigError(`no target inside the fitting window ${window.start}..${window.end}`);
  const mean = sum / count;
  return {
    mean,
    window: { ...window },
    count,
    apply(y: ArrayLike<number>): Float64Array {
      const out = new Float64Array(y.length);
      for (let i = 0; i < out.length; i++) out[i] = y[i] - mean;
      return out;
    },
  };
}
