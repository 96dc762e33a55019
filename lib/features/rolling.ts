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

import { floats, nans } from "./arena.ts";

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
    meanX: nans(n),
    meanY: nans(n),
    sxx: nans(n),
    syy: nans(n),
    sxy: nans(n),
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

/**
 * Mean and centred sum of squares `Σ(x − x̄)²` of one series over each full window of length d: the x half of
 * {@link rollingMoments}, with the same arithmetic (so the same values to the last bit), for less work.
 */
export function rollingMeanAndSquares(x: ArrayLike<number>, d: number): { mean: Float64Array; sxx: Float64Array } {
  const n = x.length;
  const mean = nans(n);
  const sxx = nans(n);
  let k0 = 0;
  let s1 = 0;
  let s2 = 0;
  let bad = 0;
  let age = Number.POSITIVE_INFINITY;
  for (let t = 0; t < n; t++) {
    if (x[t] - x[t] !== 0) bad++;
    const a = t - d + 1;
    if (a - 1 >= 0 && x[a - 1] - x[a - 1] !== 0) bad--;
    if (a < 0) continue;
    if (bad > 0) {
      age = Number.POSITIVE_INFINITY;
      continue;
    }
    if (age >= d) {
      k0 = x[a];
      s1 = s2 = 0;
      for (let k = a; k <= t; k++) {
        const dx = x[k] - k0;
        s1 += dx;
        s2 += dx * dx;
      }
      age = 1;
    } else {
      const dx = x[t] - k0;
      const ox = x[a - 1] - k0;
      s1 += dx - ox;
      s2 += dx * dx - ox * ox;
      age++;
    }
    mean[t] = k0 + s1 / d;
    sxx[t] = Math.max(0, s2 - (s1 * s1) / d);
  }
  return { mean, sxx };
}

/** Sample standard deviation (ddof 1) over each full window of length d. */
export function rollingStd(x: ArrayLike<number>, d: number): Float64Array {
  const sxx = rollingMeanAndSquares(x, d).sxx;
  for (let i = 0; i < sxx.length; i++) sxx[i] = Math.sqrt(sxx[i] / (d - 1));
  return sxx;
}

/** Where quantile q of d sorted values sits: `(d − 1)·q` split into its floor, the next index and the fraction. */
function quantilePosition(d: number, q: number): { lo: number; hi: number; frac: number } {
  const lo = Math.floor((d - 1) * q);
  return { lo, hi: Math.min(lo + 1, d - 1), frac: (d - 1) * q - lo };
}

/**
 * Two quantiles (linear interpolation, numpy's default) and the percentile rank of the last value,
 * `(#less + (#equal + 1)/2) / d` with #equal counting the value itself, of each full window of length `d` (NaN where
 * the window holds a non-finite value): what QTLU, QTLD and RANK need, in one pass. The window is kept sorted; once it
 * is full, the value leaving is replaced by the one entering with a single shift between their two positions (O(d)
 * moves at worst, O(log d) comparisons).
 */
export function rollingQuantilesAndRank(
  x: Float64Array,
  d: number,
  quantiles: readonly [number, number],
): { quantiles: [Float64Array, Float64Array]; rank: Float64Array } {
  const n = x.length;
  const q0 = nans(n);
  const q1 = nans(n);
  const rank = nans(n);
  const a = quantilePosition(d, quantiles[0]);
  const b = quantilePosition(d, quantiles[1]);
  const sorted = floats(d);
  let size = 0;
  let bad = 0;
  for (let t = 0; t < n; t++) {
    const v = x[t];
    const finite = v - v === 0;
    const old = t >= d ? x[t - d] : Number.NaN;
    if (t >= d && old - old === 0 && finite) {
      // Replace `old` by `v`: move the values between them one step towards old's slot.
      let i = firstAtLeast(sorted, size, old);
      if (v > old) {
        for (; i + 1 < size && sorted[i + 1] < v; i++) sorted[i] = sorted[i + 1];
      } else {
        for (; i > 0 && sorted[i - 1] > v; i--) sorted[i] = sorted[i - 1];
      }
      sorted[i] = v;
    } else {
      if (t >= d) {
        if (old - old === 0) {
          size--;
          for (let i = firstAtLeast(sorted, size + 1, old); i < size; i++) sorted[i] = sorted[i + 1];
        } else bad--;
      }
      if (finite) {
        const i = firstAtLeast(sorted, size, v);
        for (let k = size; k > i; k--) sorted[k] = sorted[k - 1];
        sorted[i] = v;
        size++;
      } else bad++;
    }
    if (t < d - 1 || bad > 0) continue;
    q0[t] = sorted[a.lo] + (sorted[a.hi] - sorted[a.lo]) * a.frac;
    q1[t] = sorted[b.lo] + (sorted[b.hi] - sorted[b.lo]) * b.frac;
    const less = firstAtLeast(sorted, d, v);
    const equal = firstAbove(sorted, d, v) - less;
    rank[t] = (less + (equal + 1) / 2) / d;
  }
  return { quantiles: [q0, q1], rank };
}

/** Index of the first of the `size` sorted values that is ≥ v (`size` when none is). */
function firstAtLeast(sorted: Float64Array, size: number, v: number): number {
  let lo = 0;
  let hi = size;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (sorted[mid] < v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Index of the first of the `size` sorted values that is > v (`size` when none is). */
function firstAbove(sorted: Float64Array, size: number, v: number): number {
  let lo = 0;
  let hi = size;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (sorted[mid] <= v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Sum over each full window of length d (NaN where the window holds a non-finite value). Recomputed exactly every d
 * steps, so rounding residue never travels further than 2d rows, and exactly 0 when every value in the window is 0
 * (ratios such as `Σmax(ΔC,0) / (Σ|ΔC| + ε)` are unstable to residue on flat windows).
 */
export function rollingSum(x: ArrayLike<number>, d: number): Float64Array {
  const n = x.length;
  const out = nans(n);
  let sum = 0;
  let bad = 0;
  let nonzero = 0;
  let age = Number.POSITIVE_INFINITY;
  for (let t = 0; t < n; t++) {
    // Counted without a branch (`+(v !== 0)`): on sparse inputs such as daily gains the branch is a coin flip, and
    // mispredicting it doubled the kernel's time. A non-finite value is counted too, but only windows without one
    // are written, and it is uncounted when it leaves.
    const v = x[t];
    if (v - v !== 0) bad++;
    nonzero += +(v !== 0);
    const a = t - d + 1;
    if (a - 1 >= 0) {
      const o = x[a - 1];
      if (o - o !== 0) bad--;
      nonzero -= +(o !== 0);
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
