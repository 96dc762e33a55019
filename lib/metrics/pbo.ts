/**
 * Probability of backtest overfitting (PBO) by combinatorially symmetric cross-validation (CSCV), after Bailey,
 * Borwein, López de Prado & Zhu, "The Probability of Backtest Overfitting", Journal of Computational Finance 20(4),
 * 2017.
 *
 * Input: a T × N matrix of per-period returns (rows: periods in time order, columns: the N trials/configurations
 * that were tried). The rows are cut into S contiguous groups (sizes differing by at most one, like numpy's
 * `array_split`). For each of the C(S, S/2) ways to pick half the groups as in-sample (IS), the complement is
 * out-of-sample (OOS); the trial with the best IS performance is selected, and its OOS performance is ranked among
 * all trials: ω = rank / (N + 1) (average rank for ties), logit λ = ln(ω / (1 − ω)). PBO is the share of
 * combinations with λ ≤ 0 — the IS winner did no better than the OOS median. The probability of OOS loss is the
 * share of combinations where the selected trial's OOS performance is below 0. The degradation slope regresses the
 * selected trial's OOS performance on its IS performance (a slope near or below 0 says IS performance does not carry
 * over).
 *
 * Zero-variance trials. A trial whose returns are constant on a set of periods (a flat, always-out-of-market trial; a
 * fixed-coupon trial) has no Sharpe ratio there. Convention: its Sharpe is 0 when the mean is 0 (a flat trial is
 * neither good nor bad), +∞ when the mean is positive and −∞ when it is negative (no risk taken for a gain or a
 * loss). The variance counts as zero when it is within rounding of zero (≤ 1e-12 of the mean square), so a constant
 * 0.001 return is +∞ whatever the floating-point sums round to. The infinities rank like any value (an infinite IS
 * Sharpe is always selected; ties average), so PBO, logits and the probability of loss stay defined. The degradation
 * fit cannot use an infinite performance: it is fitted on the combinations whose selected IS and OOS performance
 * are both finite (`degradation.combinations` says how many), and is NaN when fewer than two remain or their IS
 * values are all equal.
 *
 * Performance is the per-period Sharpe ratio (mean / sample standard deviation) by default, or the mean. Both are
 * computed from per-group sums and sums of squares, so each combination costs O(S · N) instead of O(T · N): S = 16
 * on a 5,000 × 1,000 matrix takes well under the 5 s budget (bench/pbo.ts). Hand-written: no maintained npm package
 * implements CSCV.
 *
 * @module
 */

import { ConfigError } from "../errors.ts";

/** Row-major T × N returns: `data[t * cols + j]` is trial j's return in period t. `Matrix` fits this shape. */
export interface ReturnsMatrix {
  /** Per-period returns, row-major, length `rows * cols`. */
  data: ArrayLike<number>;
  /** T: number of periods, oldest first (they are grouped contiguously, so order matters). */
  rows: number;
  /** N: number of trials (configurations) that were tried. */
  cols: number;
}

/** Options of {@link probabilityOfBacktestOverfitting}. */
export interface PboOptions {
  /** Number of row groups S: even, ≥ 2, at most the number of rows. Default 16. */
  groups?: number;
  /** Performance measure of a trial on a set of periods. Default `"sharpe"`. */
  metric?: "sharpe" | "mean";
}

/** The result of CSCV. */
export interface PboResult {
  /** Share of combinations whose logit is ≤ 0. */
  pbo: number;
  /** One logit per combination, in lexicographic order of the IS group combinations. */
  logits: Float64Array;
  /** Share of combinations where the IS-selected trial's OOS performance is < 0. */
  probabilityOfLoss: number;
  /** In-sample performance of the IS-selected (best IS) trial, per combination, in `logits` order. */
  selectedInSample: Float64Array;
  /** Out-of-sample performance of that same trial, per combination (per-period Sharpe or mean, as `metric`). */
  selectedOutOfSample: Float64Array;
  /**
   * Least-squares fit OOS = intercept + slope · IS over the combinations whose selected IS and OOS performance are
   * both finite (`combinations` of them; see the module notes on zero-variance trials). NaN when undefined.
   */
  degradation: { slope: number; intercept: number; combinations: number };
  /** C(S, S/2): the number of IS/OOS splits evaluated (the length of `logits`). */
  nCombinations: number;
  /** S, the number of contiguous row groups used. */
  groups: number;
  /** N, the number of trials (columns) compared. */
  nTrials: number;
  /** Performance measure used: per-period (not annualized) Sharpe ratio, or mean return. */
  metric: "sharpe" | "mean";
}

function toMatrix(m: ReturnsMatrix | ArrayLike<number>[]): ReturnsMatrix {
  if (Array.isArray(m)) {
    const rows = m.length;
    const cols = rows > 0 ? m[0].length : 0;
    const data = new Float64Array(rows * cols);
    m.forEach((r, t) => {
      if (r.length !== cols) throw new ConfigError(`row ${t} has ${r.length} values, expected ${cols}`);
      for (let j = 0; j < cols; j++) data[t * cols + j] = r[j];
    });
    return { data, rows, cols };
  }
  return m as ReturnsMatrix;
}

function performance(sum: number, sq: number, n: number, metric: "sharpe" | "mean"): number {
  const mean = sum / n;
  if (metric === "mean") return mean;
  const variance = (sq - sum * mean) / (n - 1);
  // Zero within rounding: the sums of a constant series leave a residue of a few ulps of sq (module notes).
  if (!(variance > 1e-12 * (sq / (n - 1)))) return mean === 0 ? 0 : mean > 0 ? Infinity : -Infinity;
  return mean / Math.sqrt(variance);
}

/**
 * Probability of backtest overfitting by CSCV. `matrix` is T × N per-period returns (row-major, or an array of rows).
 * Non-finite returns are refused. See the module notes for the definitions.
 */
export function probabilityOfBacktestOverfitting(
  matrix: ReturnsMatrix | ArrayLike<number>[],
  opts: PboOptions = {},
): PboResult {
  const m = toMatrix(matrix);
  const { rows: T, cols: N } = m;
  const S = opts.groups ?? 16;
  const metric = opts.metric ?? "sharpe";
  if (metric !== "sharpe" && metric !== "mean") throw new ConfigError(`unknown metric ${JSON.stringify(metric)}`);
  if (!(Number.isInteger(S) && S >= 2 && S % 2 === 0)) {
    throw new ConfigError(`groups (S) must be an even integer ≥ 2, got ${S}`);
  }
  if (N < 2) throw new ConfigError(`need at least 2 trials (columns), got ${N}`);
  if (m.data.length !== T * N) {
    throw new ConfigError(`data has ${m.data.length} values, expected rows × cols = ${T * N}`);
  }
  const minRows = metric === "sharpe" ? 2 : 1;
  if (Math.floor(T / S) < minRows) {
    throw new ConfigError(`${T} rows are too few for ${S} groups; each group needs at least ${minRows} rows`);
  }

  // Per-group sums and sums of squares: groupSum[g * N + j].
  const groupSum = new Float64Array(S * N);
  const groupSq = new Float64Array(S * N);
  const groupCount = new Int32Array(S);
  const base = Math.floor(T / S);
  const extra = T % S;
  let t = 0;
  for (let g = 0; g < S; g++) {
    const len = base + (g < extra ? 1 : 0);
    groupCount[g] = len;
    const off = g * N;
    for (let r = 0; r < len; r++, t++) {
      const row = t * N;
      for (let j = 0; j < N; j++) {
        const x = m.data[row + j];
        if (!Number.isFinite(x)) throw new ConfigError(`non-finite return at row ${t}, trial ${j}`);
        groupSum[off + j] += x;
        groupSq[off + j] += x * x;
      }
    }
  }
  const totalSum = new Float64Array(N);
  const totalSq = new Float64Array(N);
  for (let g = 0; g < S; g++) {
    for (let j = 0; j < N; j++) {
      totalSum[j] += groupSum[g * N + j];
      totalSq[j] += groupSq[g * N + j];
    }
  }

  const half = S / 2;
  let nComb = 1;
  for (let i = 1; i <= half; i++) nComb = (nComb * (S - half + i)) / i;
  nComb = Math.round(nComb);
  const logits = new Float64Array(nComb);
  const selIS = new Float64Array(nComb);
  const selOOS = new Float64Array(nComb);
  const isSum = new Float64Array(N);
  const isSq = new Float64Array(N);
  const oosPerf = new Float64Array(N);
  const combo = Array.from({ length: half }, (_, i) => i);
  let losses = 0;
  let overfit = 0;
  for (let c = 0; c < nComb; c++) {
    isSum.fill(0);
    isSq.fill(0);
    let isN = 0;
    for (const g of combo) {
      isN += groupCount[g];
      const off = g * N;
      for (let j = 0; j < N; j++) {
        isSum[j] += groupSum[off + j];
        isSq[j] += groupSq[off + j];
      }
    }
    const oosN = T - isN;
    let star = 0;
    let bestIS = -Infinity;
    for (let j = 0; j < N; j++) {
      const p = performance(isSum[j], isSq[j], isN, metric);
      if (p > bestIS) {
        bestIS = p;
        star = j;
      }
      oosPerf[j] = performance(totalSum[j] - isSum[j], totalSq[j] - isSq[j], oosN, metric);
    }
    const pStar = oosPerf[star];
    let below = 0;
    let ties = 0;
    for (let j = 0; j < N; j++) {
      if (oosPerf[j] < pStar) below++;
      else if (oosPerf[j] === pStar) ties++;
    }
    const rank = below + (ties + 1) / 2; // average rank among ties (ties counts the selected trial itself)
    const w = rank / (N + 1);
    const lambda = Math.log(w / (1 - w));
    logits[c] = lambda;
    selIS[c] = bestIS;
    selOOS[c] = pStar;
    if (lambda <= 0) overfit++;
    if (pStar < 0) losses++;
    // next combination in lexicographic order
    let i = half - 1;
    while (i >= 0 && combo[i] === S - half + i) i--;
    if (i < 0) break;
    combo[i]++;
    for (let k = i + 1; k < half; k++) combo[k] = combo[k - 1] + 1;
  }
  return {
    pbo: overfit / nComb,
    logits,
    probabilityOfLoss: losses / nComb,
    selectedInSample: selIS,
    selectedOutOfSample: selOOS,
    degradation: leastSquares(selIS, selOOS),
    nCombinations: nComb,
    groups: S,
    nTrials: N,
    metric,
  };
}

/** Least squares y = intercept + slope · x over the pairs where both are finite; NaN when undefined. */
function leastSquares(x: Float64Array, y: Float64Array): { slope: number; intercept: number; combinations: number } {
  let n = 0;
  let mx = 0;
  let my = 0;
  for (let i = 0; i < x.length; i++) {
    if (!(Number.isFinite(x[i]) && Number.isFinite(y[i]))) continue;
    n++;
    mx += x[i];
    my += y[i];
  }
  if (n < 2) return { slope: NaN, intercept: NaN, combinations: n };
  mx /= n;
  my /= n;
  let sxy = 0;
  let sxx = 0;
  for (let i = 0; i < x.length; i++) {
    if (!(Number.isFinite(x[i]) && Number.isFinite(y[i]))) continue;
    sxy += (x[i] - mx) * (y[i] - my);
    sxx += (x[i] - mx) ** 2;
  }
  if (!(sxx > 0)) return { slope: NaN, intercept: NaN, combinations: n };
  const slope = sxy / sxx;
  return { slope, intercept: my - slope * mx, combinations: n };
}
