/**
 * Rolling-window kernels for one symbol's series, written by hand because polars' JS API has no rolling regression,
 * correlation or rank, and because evaluating its rolling std per symbol (`.over`) dominated the cost of the full
 * feature set (see bench/features.ts).
 *
 * Every kernel looks only at the window ending at t (full windows only; NaN before), so its output at t depends on
 * nothing after t, and a window containing a non-finite value gives NaN. Each kernel is exact up to rounding:
 *
 * - {@link rollingMoments}: centred sums over sliding windows, accumulated relative to an anchor (the window's first
 *   value) that is re-set, with an exact recomputation, every `d` steps. Accumulating deviations from a nearby anchor
 *   instead of raw values avoids the cancellation of `Σx² − (Σx)²/d` on price levels, and the work is O(n).
 * - {@link rollingSortedWindow}: the window kept sorted (binary search, then shifting the tail), for quantiles and
 *   ranks: O(n·d) element moves, O(log d) lookups.
 *
 * @module
 */

/** Centred sums of a window: `Sxx = Σ(x − x̄)²`, `Syy`, `Sxy`, and the means. */
export interface WindowMoments {
  meanX: Float64Array;
  meanY: Float64Array;
  sxx: Float64Array;
  syy: Float64Array;
  sxy: Float64Array;
}

/**
 * Centred first and second moments of x and y over each full window of length `d` (NaN where the window is not full
 * or holds a non-finite value). Pass `y = x` for a single series.
 */
export function rollingMoments(x: ArrayLike<number>, y: ArrayLike<number>, d: number): WindowMoments {
  const n = x.length;
  const out: WindowMoments = {
    meanX: new Float64Array(n).fill(Number.NaN),
    meanY: new Float64Array(n).fill(Number.NaN),
    sxx: new Float64Array(n).fill(Number.NaN),
    syy: new Float64Array(n).fill(Number.NaN),
    sxy: new Float64Array(n).fill(Number.NaN),
  };
  let kx = 0;
  let ky = 0;
  let s1x = 0;
  let s1y = 0;
  let s2x = 0;
  let s2y = 0;
  let sxy = 0;
  let bad = 0;
  let age = Number.POSITIVE_INFINITY;
  // `v - v !== 0` is true exactly for NaN and ±Infinity (a cheaper test than Number.isFinite in this hot loop).
  for (let t = 0; t < n; t++) {
    if (x[t] - x[t] !== 0 || y[t] - y[t] !== 0) bad++;
    const a = t - d + 1;
    if (a - 1 >= 0 && (x[a - 1] - x[a - 1] !== 0 || y[a - 1] - y[a - 1] !== 0)) bad--;
    if (a < 0) continue;
    if (bad > 0) {
      age = Number.POSITIVE_INFINITY;
      continue;
    }
    if (age >= d) {
      kx = x[a];
      ky = y[a];
      s1x =
        s1y =
        s2x =
        s2y =
        sxy =
          0;
      for (let k = a; k <= t; k++) {
        const dx = x[k] - kx;
        const dy = y[k] - ky;
        s1x += dx;
        s1y += dy;
        s2x += dx * dx;
        s2y += dy * dy;
        sxy += dx * dy;
      }
      age = 1;
    } else {
      const dx = x[t] - kx;
      const dy = y[t] - ky;
      const ox = x[a - 1] - kx;
      const oy = y[a - 1] - ky;
      s1x += dx - ox;
      s1y += dy - oy;
      s2x += dx * dx - ox * ox;
      s2y += dy * dy - oy * oy;
      sxy += dx * dy - ox * oy;
      age++;
    }
    out.meanX[t] = kx + s1x / d;
    out.meanY[t] = ky + s1y / d;
    out.sxx[t] = Math.max(0, s2x - (s1x * s1x) / d);
    out.syy[t] = Math.max(0, s2y - (s1y * s1y) / d);
    out.sxy[t] = sxy - (s1x * s1y) / d;
  }
  return out;
}

/** Sample standard deviation (ddof 1) over each full window of length d. */
export function rollingStd(x: ArrayLike<number>, d: number): Float64Array {
  const sxx = rollingMoments(x, x, d).sxx;
  for (let i = 0; i < sxx.length; i++) sxx[i] = Math.sqrt(sxx[i] / (d - 1));
  return sxx;
}

/**
 * Visits each full window of length `d` with its values sorted ascending (a view valid only during the call) and
 * writes `visit`'s result at t; NaN where the window holds a non-finite value.
 */
export function rollingSortedWindow(
  x: ArrayLike<number>,
  d: number,
  visit: (sorted: Float64Array, current: number, t: number) => number,
): Float64Array {
  const n = x.length;
  const out = new Float64Array(n).fill(Number.NaN);
  const sorted = new Float64Array(d);
  let size = 0;
  let bad = 0;
  const lowerBound = (v: number) => {
    let lo = 0;
    let hi = size;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (sorted[mid] < v) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
  for (let t = 0; t < n; t++) {
    // Remove the value leaving the window first, so the buffer never holds more than d values.
    const leaving = t - d;
    if (leaving >= 0) {
      const o = x[leaving];
      if (o - o === 0) {
        const i = lowerBound(o);
        for (let k = i; k < size - 1; k++) sorted[k] = sorted[k + 1];
        size--;
      } else bad--;
    }
    const v = x[t];
    if (v - v === 0) {
      const i = lowerBound(v);
      for (let k = size; k > i; k--) sorted[k] = sorted[k - 1];
      sorted[i] = v;
      size++;
    } else bad++;
    if (t >= d - 1 && bad === 0) out[t] = visit(sorted, v, t);
  }
  return out;
}

/** Quantile q of each full window with linear interpolation (numpy's default). */
export function rollingQuantile(x: ArrayLike<number>, d: number, q: number): Float64Array {
  const pos = (d - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, d - 1);
  const frac = pos - lo;
  return rollingSortedWindow(x, d, (s) => s[lo] + (s[hi] - s[lo]) * frac);
}

/** Percentile rank of `v` in a sorted window of length d: `(#less + (#equal + 1)/2) / d`. */
function percentileOfLast(s: Float64Array, v: number, d: number): number {
  let lo = 0;
  let hi = d;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (s[mid] < v) lo = mid + 1;
    else hi = mid;
  }
  const less = lo;
  hi = d;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (s[mid] <= v) lo = mid + 1;
    else hi = mid;
  }
  return (less + (lo - less + 1) / 2) / d;
}

/** Percentile rank of the window's last value: `(#less + (#equal + 1)/2) / d`, #equal counting the value itself. */
export function rollingPercentileRank(x: ArrayLike<number>, d: number): Float64Array {
  return rollingSortedWindow(x, d, (s, v) => percentileOfLast(s, v, d));
}

/**
 * Several quantiles and the percentile rank of each full window in one pass over a shared sorted window (what QTLU,
 * QTLD and RANK need together).
 */
export function rollingQuantilesAndRank(
  x: ArrayLike<number>,
  d: number,
  quantiles: readonly number[],
): { quantiles: Float64Array[]; rank: Float64Array } {
  const outs = quantiles.map(() => new Float64Array(x.length).fill(Number.NaN));
  const spec = quantiles.map((q) => {
    const pos = (d - 1) * q;
    const lo = Math.floor(pos);
    return { lo, hi: Math.min(lo + 1, d - 1), frac: pos - lo };
  });
  const rank = rollingSortedWindow(x, d, (s, v, t) => {
    for (let k = 0; k < spec.length; k++) {
      const { lo, hi, frac } = spec[k];
      outs[k][t] = s[lo] + (s[hi] - s[lo]) * frac;
    }
    return percentileOfLast(s, v, d);
  });
  return { quantiles: outs, rank };
}

/**
 * Sum over each full window of length d (NaN where the window holds a non-finite value). Recomputed exactly every d
 * steps, so rounding residue never travels further than 2d rows, and exactly 0 when every value in the window is 0
 * (ratios such as `Σmax(ΔC,0) / (Σ|ΔC| + ε)` are unstable to residue on flat windows).
 */
export function rollingSum(x: ArrayLike<number>, d: number): Float64Array {
  const n = x.length;
  const out = new Float64Array(n).fill(Number.NaN);
  let sum = 0;
  let bad = 0;
  let nonzero = 0;
  let age = Number.POSITIVE_INFINITY;
  for (let t = 0; t < n; t++) {
    const v = x[t];
    if (v - v !== 0) bad++;
    else if (v !== 0) nonzero++;
    const a = t - d + 1;
    if (a - 1 >= 0) {
      const o = x[a - 1];
      if (o - o !== 0) bad--;
      else if (o !== 0) nonzero--;
    }
    if (a < 0) continue;
    if (bad > 0) {
      age = Number.POSITIVE_INFINITY;
      continue;
    }
    if (age >= d) {
      sum = 0;
      for (let k = a; k <= t; k++) sum += x[k];
      age = 1;
    } else {
      sum += v - x[a - 1];
      age++;
    }
    out[t] = nonzero === 0 ? 0 : sum;
  }
  return out;
}
