/**
 * Is an accuracy distinguishable from chance? An exact binomial test (scipy's `binomtest` conventions, including its
 * two-sided rule: sum the probabilities of all outcomes no more likely than the observed one) and the Wilson score
 * interval; and Holm's adjustment for p-values read together. Binomial and normal distributions come from @stdlib.
 *
 * Rows are assumed independent. Overlapping h-day labels and cross-sectional correlation make daily panel rows far
 * from independent, so these p-values are optimistic there: test on one row per date (or per h dates) when in doubt.
 *
 * @module
 */

import { binomialCdf, binomialPmf, normalQuantile } from "../distributions.ts";
import { ConfigError } from "../errors.ts";

function checkCounts(k: number, n: number, p: number): void {
  if (!(Number.isInteger(n) && n >= 1)) throw new ConfigError(`n must be an integer ≥ 1, got ${n}`);
  if (!(Number.isInteger(k) && k >= 0 && k <= n)) throw new ConfigError(`k must be an integer in [0, n], got ${k}`);
  if (!(p >= 0 && p <= 1)) throw new ConfigError(`p must be in [0, 1], got ${p}`);
}

/** P(X ≥ k) for X ~ Binomial(n, p), computed as a lower tail of the mirrored distribution to keep small values exact. */
function upperTail(k: number, n: number, p: number): number {
  if (k <= 0) return 1;
  return binomialCdf(n - k, n, 1 - p);
}

/**
 * Exact binomial test of `k` successes in `n` trials against success probability `p` (default 0.5).
 * `alternative`: `"greater"` (default — "is the accuracy above chance?"), `"less"` or `"two-sided"` (scipy's rule).
 * Returns the p-value.
 */
export function binomialTest(
  k: number,
  n: number,
  p = 0.5,
  alternative: "greater" | "less" | "two-sided" = "greater",
): number {
  checkCounts(k, n, p);
  if (alternative === "greater") return Math.min(1, upperTail(k, n, p));
  if (alternative === "less") return Math.min(1, binomialCdf(k, n, p));
  if (alternative !== "two-sided") throw new ConfigError(`unknown alternative ${JSON.stringify(alternative)}`);
  const d = binomialPmf(k, n, p);
  const rerr = 1 + 1e-7;
  const mode = p * n;
  if (k === mode) return 1;
  if (k < mode) {
    // Smallest i ≥ ceil(np) with pmf(i) ≤ d·rerr (the pmf decreases beyond the mode): add P(X ≥ i).
    let lo = Math.ceil(mode);
    let hi = n + 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (binomialPmf(mid, n, p) <= d * rerr) hi = mid;
      else lo = mid + 1;
    }
    return Math.min(1, binomialCdf(k, n, p) + (lo <= n ? upperTail(lo, n, p) : 0));
  }
  // k > np: largest i ≤ floor(np) with pmf(i) ≤ d·rerr (the pmf increases up to the mode): add P(X ≤ i).
  let lo = -1;
  let hi = Math.floor(mode);
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (binomialPmf(mid, n, p) <= d * rerr) lo = mid;
    else hi = mid - 1;
  }
  return Math.min(1, (lo >= 0 ? binomialCdf(lo, n, p) : 0) + upperTail(k, n, p));
}

/**
 * Wilson score interval for a proportion `k / n` at `confidence` (default 0.95), without continuity correction
 * (scipy's `proportion_ci(method="wilson")`). Unlike the normal ("Wald") interval it stays inside [0, 1] and
 * behaves near 0 and 1.
 */
export function wilsonInterval(k: number, n: number, confidence = 0.95): { low: number; high: number } {
  checkCounts(k, n, 0.5);
  if (!(confidence > 0 && confidence < 1)) throw new ConfigError(`confidence must be in (0, 1), got ${confidence}`);
  const z = normalQuantile(1 - (1 - confidence) / 2, 0, 1);
  const z2 = z * z;
  const phat = k / n;
  const denom = 1 + z2 / n;
  const center = (phat + z2 / (2 * n)) / denom;
  const half = (z / denom) * Math.sqrt((phat * (1 - phat)) / n + z2 / (4 * n * n));
  return { low: Math.max(0, center - half), high: Math.min(1, center + half) };
}

/** An accuracy with its uncertainty: the headline number never stands alone (docs/design.md §6.2). */
export interface AccuracySignificance {
  /** hits / n, a fraction in [0, 1] (not a percent). */
  accuracy: number;
  /** Number of correct predictions. */
  hits: number;
  /** Number of predictions scored (test rows). */
  n: number;
  /** One-sided exact binomial p-value against `chance`. */
  pValue: number;
  /** Wilson interval at `confidence`. */
  interval: { low: number; high: number };
  /** Accuracy expected by chance that the p-value tests against (default 0.5). */
  chance: number;
  /** Two-sided confidence level of `interval`, e.g. 0.95 (default). */
  confidence: number;
}

/** Accuracy of `hits` out of `n` with its exact binomial p-value against `chance` (default 0.5) and Wilson interval. */
export function accuracySignificance(
  hits: number,
  n: number,
  opts: { chance?: number; confidence?: number } = {},
): AccuracySignificance {
  const chance = opts.chance ?? 0.5;
  const confidence = opts.confidence ?? 0.95;
  return {
    accuracy: hits / n,
    hits,
    n,
    pValue: binomialTest(hits, n, chance, "greater"),
    interval: wilsonInterval(hits, n, confidence),
    chance,
    confidence,
  };
}

/**
 * Holm's step-down adjustment of p-values read together (Holm 1979): with the k finite p-values sorted ascending,
 * the j-th smallest (j = 1 … k) becomes max over i ≤ j of min(1, (k − i + 1) · p₍ᵢ₎). Rejecting where the adjusted
 * value is ≤ α keeps the family-wise error rate at α under any dependence between the tests, and is uniformly more
 * powerful than Bonferroni. Non-finite inputs stay NaN and are not counted in k. Written here because it is five lines;
 * the statistics packages candor uses do not provide it.
 */
export function holmAdjusted(pValues: readonly number[]): number[] {
  const order = pValues.map((p, i) => [p, i] as const).filter(([p]) => Number.isFinite(p)).sort((a, b) => a[0] - b[0]);
  const out = pValues.map(() => NaN);
  let running = 0;
  order.forEach(([p, i], j) => {
    running = Math.max(running, Math.min(1, (order.length - j) * p));
    out[i] = running;
  });
  return out;
}
