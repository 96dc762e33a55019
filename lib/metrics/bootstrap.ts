/**
 * Inference that respects the data: a circular block bootstrap over **dates**.
 *
 * Out-of-sample rows of a panel are not independent. Rows of one date share the market's move (correlated symbols),
 * and an h-day label at t overlaps the labels at t + 1 … t + h − 1 (overlapping labels). A binomial interval that
 * treats 44,700 such rows as independent coin flips is several times too narrow. Here every replicate resamples
 * whole dates — all symbols of a date together — in blocks of consecutive dates (Politis & Romano's circular block
 * bootstrap, so every date has the same chance of being drawn), which keeps both the cross-sectional correlation and
 * the serial dependence up to the block length.
 *
 * **Block length** (the stated rule): `L = max(2h, ⌈n^{1/3}⌉)` dates for n dates and label horizon h. Overlapping
 * h-day labels make hits correlated up to h − 1 days apart (a triangular autocorrelation); a block bootstrap
 * underestimates the variance by about Σ|k|·ρ_k / L, which for that shape is about h / (3L): one sixth at L = 2h.
 * Beyond that, L grows like n^{1/3}, the rate that minimizes the error of block-bootstrap variance estimates (Hall,
 * Horowitz & Jing 1995). {@link BOOTSTRAP_REPLICATES} replicates, seeded.
 *
 * Statistics are computed from per-date sums, so a replicate costs O(dates): a resample is a vector of how many times
 * each date was drawn.
 *
 * - Interval: the percentile interval of the replicates.
 * - p-value (one-sided, H0: θ ≤ 0): `(1 + #{θ*_b − θ̂ ≥ θ̂}) / (B + 1)` — the bootstrap distribution of θ* − θ̂ stands
 *   in for that of θ̂ − θ under the null.
 *
 * Hand-written: no maintained npm package implements a block bootstrap over a panel's dates.
 *
 * @module
 */

import { xoroshiro128plus } from "pure-rand/generator/xoroshiro128plus";
import { uniformInt } from "pure-rand/distribution/uniformInt";
import { ConfigError } from "../errors.ts";

/** Replicates per bootstrap (enough for a stable 95 % percentile interval). */
export const BOOTSTRAP_REPLICATES = 1000;

/** The block length rule: `max(2h, ⌈n^{1/3}⌉)` dates, at most n. */
export function bootstrapBlockLength(nDates: number, horizon: number): number {
  if (!(nDates >= 1)) throw new ConfigError(`bootstrap needs at least one date, got ${nDates}`);
  return Math.min(nDates, Math.max(2 * horizon, Math.ceil(Math.cbrt(nDates))));
}

/**
 * `replicates` resamples of `nDates` dates by circular blocks of `blockLength`: each is the number of times every
 * date was drawn (they sum to nDates). Seeded.
 *
 * With `dates` (ascending date indices), each resample is read at those dates only: the weights of a statistic that
 * reads nothing elsewhere (a fold's tail covers a few dozen of a study's thousands of dates) — the same draws, at a
 * cost of O(dates.length) per replicate.
 *
 * The yielded array is reused: read it before asking for the next. The draws depend only on the four arguments, and a
 * study bootstraps a dozen statistics (accuracy, edge, IC, each fold's tail) over the same dates with the same seed, so
 * the draws of the last two argument sets are kept (as 16-bit counts, ≤ 16 MB for 8,000 dates) and replayed: the
 * same resamples, without drawing them again.
 */
export function circularBlockResamples(
  nDates: number,
  blockLength: number,
  replicates: number,
  seed: number,
  dates?: Int32Array,
): Generator<Float64Array> {
  if (!Number.isInteger(blockLength) || blockLength < 1 || blockLength > nDates) {
    throw new ConfigError(`block length must be an integer in [1, ${nDates}], got ${blockLength}`);
  }
  const counts = resampleCounts(nDates, blockLength, replicates, seed);
  return (function* () {
    if (dates === undefined) {
      const w = new Float64Array(nDates);
      for (let b = 0; b < replicates; b++) {
        w.set(counts.subarray(b * nDates, (b + 1) * nDates));
        yield w;
      }
      return;
    }
    const w = new Float64Array(dates.length);
    for (let b = 0, at = 0; b < replicates; b++, at += nDates) {
      for (let j = 0; j < dates.length; j++) w[j] = counts[at + dates[j]];
      yield w;
    }
  })();
}

/** The dates with at least one row (`n[d] > 0`), ascending, and the date sums restricted to them. */
function activeDates<K extends string>(n: Float64Array, sums: Record<K, Float64Array>): {
  dates: Int32Array;
  n: Float64Array;
  sums: Record<K, Float64Array>;
} {
  let count = 0;
  for (let d = 0; d < n.length; d++) if (n[d] > 0) count++;
  const dates = new Int32Array(count);
  for (let d = 0, j = 0; d < n.length; d++) if (n[d] > 0) dates[j++] = d;
  const pick = (a: Float64Array) => Float64Array.from(dates, (d) => a[d]);
  const out = {} as Record<K, Float64Array>;
  for (const k of Object.keys(sums) as K[]) out[k] = pick(sums[k]);
  return { dates, n: pick(n), sums: out };
}

/** Resample counts kept for replay (see circularBlockResamples), most recent last. */
const keptResamples: { key: string; counts: Uint16Array | Float64Array }[] = [];
const KEPT_RESAMPLES = 2;
/** Kept only up to this many counts (replicates × dates): 16 MB of 16-bit counts. */
const KEPT_COUNTS_MAX = 8_000_000;

/** The counts of every replicate, concatenated (replicate b at [b·nDates, (b+1)·nDates)); drawn or replayed. */
function resampleCounts(
  nDates: number,
  blockLength: number,
  replicates: number,
  seed: number,
): Uint16Array | Float64Array {
  const key = `${nDates}/${blockLength}/${replicates}/${seed}`;
  const kept = keptResamples.findIndex((k) => k.key === key);
  if (kept >= 0) {
    const [hit] = keptResamples.splice(kept, 1);
    keptResamples.push(hit);
    return hit.counts;
  }
  // A date is drawn at most once per block, so its count is at most the number of blocks in a replicate.
  const blocks = Math.ceil(nDates / blockLength);
  const counts = blocks <= 0xffff ? new Uint16Array(nDates * replicates) : new Float64Array(nDates * replicates);
  const rng = xoroshiro128plus(seed);
  for (let b = 0; b < replicates; b++) {
    const at = b * nDates;
    for (let drawn = 0; drawn < nDates;) {
      const start = uniformInt(rng, 0, nDates - 1);
      const take = Math.min(blockLength, nDates - drawn); // the last block is cut to fill exactly nDates
      // The block wraps around the end of the dates (circular): two straight runs, no modulo per date.
      const straight = Math.min(take, nDates - start);
      for (let d = at + start, end = d + straight; d < end; d++) counts[d]++;
      for (let d = at, end = at + take - straight; d < end; d++) counts[d]++;
      drawn += take;
    }
  }
  if (counts.length <= KEPT_COUNTS_MAX) {
    keptResamples.push({ key, counts });
    if (keptResamples.length > KEPT_RESAMPLES) keptResamples.shift();
  }
  return counts;
}

/** A bootstrapped statistic: the estimate, its percentile interval, standard error and one-sided p-value (θ ≤ 0). */
export interface BootstrapEstimate {
  /** The statistic on the data itself. */
  estimate: number;
  /** 95 % percentile interval [low, high] (NaN when undefined). */
  ci: [number, number];
  /** Standard deviation of the replicates. */
  se: number;
  /** One-sided p-value of H0: θ ≤ 0. */
  pValue: number;
  /** How it was computed, in words. */
  method: string;
  /** Block length in dates. */
  blockLength: number;
  /** Replicates. */
  replicates: number;
}

function quantile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return NaN;
  const pos = q * (sorted.length - 1);
  const lo = Math.floor(pos), hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

/**
 * Bootstraps `stat(weights)`, a statistic of per-date weights (1 for every date gives the estimate itself). With
 * `dates`, the weights are those of the listed dates only, in their order (see {@link circularBlockResamples}).
 * Replicates where the statistic is undefined (NaN) are left out of the interval.
 */
export function bootstrapDates(
  nDates: number,
  horizon: number,
  stat: (weights: Float64Array) => number,
  opts: { seed?: number; replicates?: number; blockLength?: number; confidence?: number; dates?: Int32Array } = {},
): BootstrapEstimate {
  const replicates = opts.replicates ?? BOOTSTRAP_REPLICATES;
  const blockLength = opts.blockLength ?? bootstrapBlockLength(nDates, horizon);
  const confidence = opts.confidence ?? 0.95;
  const dates = opts.dates;
  const estimate = stat(new Float64Array(dates?.length ?? nDates).fill(1));
  const values: number[] = [];
  const seed = opts.seed ?? 42;
  for (const w of circularBlockResamples(nDates, blockLength, replicates, seed, dates)) {
    const v = stat(w);
    if (Number.isFinite(v)) values.push(v);
  }
  const sorted = Float64Array.from(values).sort();
  const mean = values.reduce((a, b) => a + b, 0) / Math.max(1, values.length);
  const se = Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / Math.max(1, values.length - 1));
  let beyond = 0;
  for (const v of values) if (v - estimate >= estimate) beyond++;
  const a = (1 - confidence) / 2;
  return {
    estimate,
    ci: [quantile(sorted, a), quantile(sorted, 1 - a)],
    se,
    pValue: Number.isFinite(estimate) ? (1 + beyond) / (values.length + 1) : NaN,
    method: `circular block bootstrap over dates (blocks of ${blockLength} dates, all symbols of a date together, ` +
      `${replicates} replicates)`,
    blockLength,
    replicates,
  };
}

/** Per-date sums of a row-level quantity: `sum[d]` over the rows of date d, and the row count `n[d]`. */
export interface DateSums {
  /** Sum per date. */
  sum: Float64Array;
  /** Rows per date. */
  n: Float64Array;
}

/** Sums `values` (one per row) by date index (`dateOf[i]` in [0, nDates)); rows with a non-finite value are skipped. */
export function sumByDate(values: ArrayLike<number>, dateOf: ArrayLike<number>, nDates: number): DateSums {
  const sum = new Float64Array(nDates), n = new Float64Array(nDates);
  for (let i = 0; i < values.length; i++) {
    if (!Number.isFinite(values[i])) continue;
    sum[dateOf[i]] += values[i];
    n[dateOf[i]]++;
  }
  return { sum, n };
}

/** The weighted mean of a row-level quantity from its date sums: Σ w_d·sum_d / Σ w_d·n_d. */
export function weightedMean(s: DateSums, w: Float64Array): number {
  let num = 0, den = 0;
  for (let d = 0; d < w.length; d++) {
    if (w[d] === 0) continue;
    num += w[d] * s.sum[d];
    den += w[d] * s.n[d];
  }
  return den > 0 ? num / den : NaN;
}

/**
 * Bootstrap of a row-level mean (e.g. an accuracy: the mean of 0/1 hits, or an accuracy difference: the mean of
 * hit_a − hit_b on the same rows), resampling dates.
 */
export function bootstrapMean(
  values: ArrayLike<number>,
  dateOf: ArrayLike<number>,
  nDates: number,
  horizon: number,
  opts: { seed?: number; replicates?: number } = {},
): BootstrapEstimate {
  const all = sumByDate(values, dateOf, nDates);
  // Dates without a row add nothing to either sum: the statistic reads the others only (the same value, and the same
  // floating-point sums, in the same order).
  const active = activeDates(all.n, { sum: all.sum });
  const sums = { sum: active.sums.sum, n: active.n };
  return bootstrapDates(nDates, horizon, (w) => weightedMean(sums, w), { ...opts, dates: active.dates });
}

/** Bootstrap of Pearson's correlation between two row-level series, resampling dates. */
export function bootstrapCorrelation(
  x: ArrayLike<number>,
  y: ArrayLike<number>,
  dateOf: ArrayLike<number>,
  nDates: number,
  horizon: number,
  opts: { seed?: number; replicates?: number } = {},
): BootstrapEstimate {
  const s = { x: new Float64Array(nDates), y: new Float64Array(nDates), xx: new Float64Array(nDates) };
  const yy = new Float64Array(nDates), xy = new Float64Array(nDates), n = new Float64Array(nDates);
  for (let i = 0; i < x.length; i++) {
    if (!Number.isFinite(x[i]) || !Number.isFinite(y[i])) continue;
    const d = dateOf[i];
    s.x[d] += x[i];
    s.y[d] += y[i];
    s.xx[d] += x[i] * x[i];
    yy[d] += y[i] * y[i];
    xy[d] += x[i] * y[i];
    n[d]++;
  }
  // Only dates with a pair enter the sums (see bootstrapMean).
  const { dates, n: cn, sums: c } = activeDates(n, { x: s.x, y: s.y, xx: s.xx, yy, xy });
  return bootstrapDates(nDates, horizon, (w) => {
    let sx = 0, sy = 0, sxx = 0, syy = 0, sxy = 0, m = 0;
    for (let d = 0; d < w.length; d++) {
      if (w[d] === 0) continue;
      sx += w[d] * c.x[d];
      sy += w[d] * c.y[d];
      sxx += w[d] * c.xx[d];
      syy += w[d] * c.yy[d];
      sxy += w[d] * c.xy[d];
      m += w[d] * cn[d];
    }
    if (m < 2) return NaN;
    const cov = sxy - (sx * sy) / m, vx = sxx - (sx * sx) / m, vy = syy - (sy * sy) / m;
    return vx > 0 && vy > 0 ? cov / Math.sqrt(vx * vy) : NaN;
  }, { ...opts, dates });
}

/**
 * Bootstrap of the difference of annualized Sharpe ratios of two daily return series on the same dates (a strategy
 * and its benchmark), resampling days in blocks (Ledoit & Wolf 2008 bootstrap the same difference; this is the
 * percentile version).
 */
export function bootstrapSharpeDifference(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  horizon: number,
  annualization: number,
  opts: { seed?: number; replicates?: number } = {},
): BootstrapEstimate {
  if (a.length !== b.length) throw new ConfigError(`Sharpe difference: ${a.length} vs ${b.length} returns`);
  const n = a.length;
  const sharpe = (r: ArrayLike<number>, w: Float64Array) => {
    let s = 0, ss = 0, m = 0;
    for (let t = 0; t < n; t++) {
      if (w[t] === 0) continue;
      s += w[t] * r[t];
      ss += w[t] * r[t] * r[t];
      m += w[t];
    }
    const mean = s / m;
    const v = (ss - m * mean * mean) / (m - 1);
    return v > 0 ? (mean / Math.sqrt(v)) * Math.sqrt(annualization) : NaN;
  };
  return bootstrapDates(n, horizon, (w) => sharpe(a, w) - sharpe(b, w), opts);
}
