/**
 * Correlations with standard errors that respect a panel's dependence: Driscoll–Kraay.
 *
 * Rows of one date are correlated (a common market move) and h-day labels overlap across dates, so an i.i.d. standard
 * error of a correlation (1/√n) is far too small on a panel. Here the residual products of the regression of y on x
 * are summed by date (clustering every symbol of a date), and the variance of those date sums is estimated with
 * Newey–West (Bartlett) weights over 2(span − 1) lags of the date sums, covering overlapping labels of `span` days:
 *
 *   gᵈ = Σ_{i∈d} x̃ᵢ(ỹᵢ − βx̃ᵢ), β = Σx̃ỹ / Σx̃²;  V = Σ_d gᵈ² + 2 Σ_{l=1}^{L} (1 − l/(L+1)) Σ_d gᵈ gᵈ⁻ˡ, L = 2(span − 1);
 *   SE = √V / √(Σx̃² · Σỹ²)
 *
 * r / SE is then the date-clustered, autocorrelation-robust t-statistic of the slope, judged against Student's t with
 * one degree of freedom per non-overlapping period (dates / span − 1). Used by the leakage auditor (lib/leakage) and by
 * the study's pooled IC (lib/pipeline/evaluate.ts): one implementation for both.
 *
 * Hand-written: no maintained npm package implements Driscoll–Kraay for a panel. The tails come from @stdlib.
 *
 * @module
 */

import { normalCdf, tCdf, tQuantile } from "../distributions.ts";

/** Centered sums over the rows where x and y are both finite (x̃ = x − mean of those x, likewise ỹ). */
export interface CenteredSums {
  n: number;
  /** Σx̃ỹ */
  cxy: number;
  /** Σx̃² */
  cxx: number;
  /** Σỹ² */
  cyy: number;
  /** Means of x and y over those rows. */
  mx: number;
  my: number;
}

/**
 * Two passes over the finite pairs: their means, then the centered sums. `rows`, [start, end) pairs in row order,
 * limits both passes to those rows (the same sums, in the same order, as over every row with NaN outside them).
 */
export function centeredSums(x: ArrayLike<number>, y: ArrayLike<number>, rows?: Int32Array): CenteredSums {
  const ranges = rows ?? [0, x.length];
  let n = 0;
  let sx = 0;
  let sy = 0;
  for (let k = 0; k < ranges.length; k += 2) {
    for (let i = ranges[k], end = ranges[k + 1]; i < end; i++) {
      if (Number.isFinite(x[i]) && Number.isFinite(y[i])) {
        n++;
        sx += x[i];
        sy += y[i];
      }
    }
  }
  const mx = sx / n;
  const my = sy / n;
  let cxy = 0;
  let cxx = 0;
  let cyy = 0;
  for (let k = 0; k < ranges.length; k += 2) {
    for (let i = ranges[k], end = ranges[k + 1]; i < end; i++) {
      if (Number.isFinite(x[i]) && Number.isFinite(y[i])) {
        const dx = x[i] - mx;
        const dy = y[i] - my;
        cxy += dx * dy;
        cxx += dx * dx;
        cyy += dy * dy;
      }
    }
  }
  return { n, cxy, cxx, cyy, mx, my };
}

/** Pearson r from centered sums; NaN when fewer than 30 pairs or a side is constant. */
export function pearson({ n, cxy, cxx, cyy }: CenteredSums): number {
  return n >= 30 && cxx > 0 && cyy > 0 ? cxy / Math.sqrt(cxx * cyy) : Number.NaN;
}

/**
 * Pearson correlation over rows where both are finite (only `rows`, [start, end) pairs, when given); NaN when fewer
 * than 30 pairs or a side is constant.
 */
export function pairedCorrelation(
  x: ArrayLike<number>,
  y: ArrayLike<number>,
  rows?: Int32Array,
): { r: number; n: number } {
  const sums = centeredSums(x, y, rows);
  return { r: pearson(sums), n: sums.n };
}

/** P(Z ≥ z) for a standard normal Z (from @stdlib's normal CDF, evaluated at −z so the upper tail stays accurate). */
export function normalTail(z: number): number {
  return normalCdf(-z, 0, 1);
}

/** P(T ≥ t) for Student's t with `dof` degrees of freedom (@stdlib's t CDF at −t); {@link normalTail} for dof = ∞. */
export function studentTail(t: number, dof: number): number {
  if (!(dof > 0)) return Number.NaN;
  if (!Number.isFinite(dof)) return normalTail(t);
  return tCdf(-t, dof);
}

/** A correlation with its standard error (module doc formula). */
export interface CorrelationEstimate {
  /** Pearson correlation over the `n` finite pairs; NaN when n < 30 or a side is constant. */
  r: number;
  /** Rows where both sides are finite. */
  n: number;
  /**
   * Driscoll–Kraay standard error of r: residual products summed by date, Newey–West (Bartlett) over 2(span − 1) lags of
   * the date sums. NaN with r.
   */
  se: number;
  /**
   * Degrees of freedom for judging r / SE: the non-overlapping span-day periods among the dates that have a finite
   * pair, minus one (module doc). NaN with r.
   */
  dof: number;
}

/**
 * Pearson correlation of x and y with the standard error of the module doc (Driscoll–Kraay):
 *
 *   gᵈ = Σ_{i∈d} x̃ᵢ(ỹᵢ − βx̃ᵢ), β = Σx̃ỹ / Σx̃²;  V = Σ_d gᵈ² + 2 Σ_{l=1}^{L} (1 − l/(L+1)) Σ_d gᵈ gᵈ⁻ˡ, L = 2(span − 1);
 *   SE = √V / √(Σx̃² · Σỹ²)
 *
 * so r / SE is the date-clustered, autocorrelation-robust t-statistic of the slope of y on x. `cluster[i]` is the
 * chronological index (0 … clusters − 1) of row i's date: lags are taken between date indices. NaN r and se when
 * fewer than 30 finite pairs or a side is constant.
 */
export function correlationWithError(
  x: ArrayLike<number>,
  y: ArrayLike<number>,
  cluster: Int32Array,
  clusters: number,
  span: number,
): CorrelationEstimate {
  const sums = centeredSums(x, y);
  const r = pearson(sums);
  const n = sums.n;
  if (Number.isNaN(r)) return { r, n, se: Number.NaN, dof: Number.NaN };
  const { g, dates } = residualProducts(x, y, sums, cluster, clusters);
  const se = Math.sqrt(bartlettVariance(g, 2 * (span - 1)) / (sums.cxx * sums.cyy));
  return { r, n, se, dof: Math.max(1, Math.floor(dates / span) - 1) };
}

/**
 * Two-sided p-value of a correlation estimate, |r| / SE against Student's t with the estimate's degrees of freedom
 * (module doc); NaN when r or SE is undefined or SE is 0.
 */
export function correlationPValue(e: CorrelationEstimate): number {
  if (!(e.se > 0) || Number.isNaN(e.r)) return Number.NaN;
  return Math.min(1, 2 * studentTail(Math.abs(e.r) / e.se, e.dof));
}

/** Per-date sums of x̃(ỹ − βx̃) over the finite pairs (β the least-squares slope of y on x), and how many dates have one. */
function residualProducts(
  x: ArrayLike<number>,
  y: ArrayLike<number>,
  sums: CenteredSums,
  cluster: Int32Array,
  clusters: number,
): { g: Float64Array; dates: number } {
  const beta = sums.cxy / sums.cxx;
  const g = new Float64Array(clusters);
  const seen = new Uint8Array(clusters);
  let dates = 0;
  for (let i = 0; i < x.length; i++) {
    if (Number.isFinite(x[i]) && Number.isFinite(y[i])) {
      const dx = x[i] - sums.mx;
      g[cluster[i]] += dx * (y[i] - sums.my - beta * dx);
      if (seen[cluster[i]] === 0) {
        seen[cluster[i]] = 1;
        dates++;
      }
    }
  }
  return { g, dates };
}

/** Newey–West long-run variance of a series with Bartlett weights 1 − l/(L+1) over L lags (never negative). */
function bartlettVariance(g: Float64Array, lags: number): number {
  let v = 0;
  for (let t = 0; t < g.length; t++) v += g[t] * g[t];
  for (let l = 1; l <= lags; l++) {
    let s = 0;
    for (let t = l; t < g.length; t++) s += g[t] * g[t - l];
    v += 2 * (1 - l / (lags + 1)) * s;
  }
  return Math.max(v, 0);
}

/**
 * The two-sided `confidence` interval of a correlation estimate, r ± t_{(1+c)/2, dof} · SE (Student's t with the
 * estimate's degrees of freedom); NaNs when the estimate is undefined.
 */
export function correlationInterval(e: CorrelationEstimate, confidence = 0.95): [number, number] {
  if (!(e.se > 0) || Number.isNaN(e.r) || !(e.dof > 0)) return [Number.NaN, Number.NaN];
  const q = tQuantile((1 + confidence) / 2, e.dof);
  return [e.r - q * e.se, e.r + q * e.se];
}
