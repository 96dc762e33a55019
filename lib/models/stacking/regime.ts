/**
 * Causal regime features for stacking meta-learners: where the market's recent volatility sits in its own history,
 * and the recent trend. Each value at date t uses returns up to and including t only (the close of t), so appending
 * them to a row dated t adds no look-ahead; a test recomputes them on truncated history to prove it.
 *
 * - `volPercentile[t]`: the share of the last `rankWindow` values of the trailing `volWindow`-day volatility that
 *   are ≤ today's (in (0, 1]); NaN until `volWindow` returns exist.
 * - `trend[t]`: the sum of the last `trendWindow` daily log returns (the log return over the window); NaN before.
 *
 * @module
 */

import { ConfigError } from "../../errors.ts";
import type { Matrix } from "../../data/matrix.ts";

/** Windows, in dates. */
export interface RegimeOptions {
  /** Trailing window of the realized volatility (default 20). */
  volWindow?: number;
  /** History against which today's volatility is ranked (default 252). */
  rankWindow?: number;
  /** Trailing window of the trend (default 60). */
  trendWindow?: number;
}

/** Per-date regime features, aligned with the dates given. */
export interface RegimeFeatures {
  /** The date axis the features belong to (sorted, unique). */
  dates: string[];
  /** Share in (0, 1] of the last `rankWindow` trailing volatilities that are ≤ the date's; NaN while warming up. */
  volPercentile: Float64Array;
  /** Sum of the trailing window's log returns up to and including the date; NaN while warming up. */
  trend: Float64Array;
}

/**
 * Computes causal regime features from one daily log-return series (e.g. an equal-weight market return) on a
 * sorted, unique date axis.
 */
export function causalRegimeFeatures(
  dates: readonly string[],
  returns: ArrayLike<number>,
  opts: RegimeOptions = {},
): RegimeFeatures {
  const volWindow = opts.volWindow ?? 20, rankWindow = opts.rankWindow ?? 252, trendWindow = opts.trendWindow ?? 60;
  for (const [k, v] of Object.entries({ volWindow, rankWindow, trendWindow })) {
    if (!Number.isInteger(v) || v < 2) throw new ConfigError(`causalRegimeFeatures: ${k} must be an integer ≥ 2`);
  }
  if (dates.length !== returns.length) {
    throw new ConfigError(`causalRegimeFeatures: ${dates.length} dates for ${returns.length} returns`);
  }
  for (let i = 1; i < dates.length; i++) {
    if (!(dates[i] > dates[i - 1])) throw new ConfigError(`causalRegimeFeatures: dates not sorted/unique at ${i}`);
  }
  const n = dates.length;
  const vol = new Float64Array(n).fill(NaN);
  const volPercentile = new Float64Array(n).fill(NaN);
  const trend = new Float64Array(n).fill(NaN);
  for (let t = 0; t < n; t++) {
    if (t + 1 >= volWindow) {
      let m = 0;
      for (let k = t - volWindow + 1; k <= t; k++) m += returns[k];
      m /= volWindow;
      let s = 0;
      for (let k = t - volWindow + 1; k <= t; k++) s += (returns[k] - m) ** 2;
      vol[t] = Math.sqrt(s / (volWindow - 1));
      let le = 0, count = 0;
      for (let k = Math.max(0, t - rankWindow + 1); k <= t; k++) {
        if (Number.isNaN(vol[k])) continue;
        count++;
        if (vol[k] <= vol[t]) le++;
      }
      volPercentile[t] = le / count;
    }
    if (t + 1 >= trendWindow) {
      let s = 0;
      for (let k = t - trendWindow + 1; k <= t; k++) s += returns[k];
      trend[t] = s;
    }
  }
  return { dates: [...dates], volPercentile, trend };
}

/**
 * Appends the regime features of each row's date to `X` as columns `regime_vol_pct` and `regime_trend` (rows whose
 * date is not in `regime.dates` get NaN).
 */
export function appendRegimeColumns(X: Matrix, rowDates: readonly string[], regime: RegimeFeatures): Matrix {
  if (rowDates.length !== X.rows) {
    throw new ConfigError(`appendRegimeColumns: ${rowDates.length} dates, ${X.rows} rows`);
  }
  const at = new Map(regime.dates.map((d, i) => [d, i]));
  const cols = X.cols + 2;
  const data = new Float32Array(X.rows * cols);
  for (let i = 0; i < X.rows; i++) {
    data.set(X.data.subarray(i * X.cols, (i + 1) * X.cols), i * cols);
    const k = at.get(rowDates[i]);
    data[i * cols + X.cols] = k === undefined ? NaN : regime.volPercentile[k];
    data[i * cols + X.cols + 1] = k === undefined ? NaN : regime.trend[k];
  }
  const base = X.columns ?? Array.from({ length: X.cols }, (_, j) => `f${j}`);
  return { data, rows: X.rows, cols, columns: [...base, "regime_vol_pct", "regime_trend"] };
}
