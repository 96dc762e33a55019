/**
 * Cross-sectional portfolio construction: target weights per date from a dates × symbols grid of forecasts.
 *
 * Every scheme decides the weights of date t from the forecasts of date t only (the engine lags them). A symbol is
 * eligible on a date when its forecast there is finite; a NaN forecast (no prediction, no price) means "not
 * tradable": weight 0 that date. Weights are normalized per date so the gross exposure Σ|w| is 1 whenever anything
 * is held (long-short books put half the capital on each side).
 *
 * - `equal-weight`: 1/N on every eligible symbol (the forecast's value is ignored).
 * - `long-short`: +1/N where the forecast is > 0, −1/N where it is < 0, 0 where it is exactly 0 (N = eligible).
 * - `long-only`: +1/N where the forecast is > 0, flat otherwise (N = eligible; the rest stays in cash).
 * - `topk`: the k highest forecasts long (and, with `short`, the k lowest short), with a TopkDropout-style turnover
 *   limit like Qlib's `TopkDropoutStrategy`: each date at most `nDrop` held names are replaced. Concretely (per
 *   book): drop held names that are no longer eligible; take the best `nDrop + k − |held|` non-held names ("today");
 *   rank held ∪ today by forecast; sell the held names among the `nDrop` worst of that ranking (never one
 *   ranked within the best k, which only matters when too few candidates exist); buy the best
 *   `|sold| + k − |held|` of today. With `nDrop ≥ k` this is a plain daily top-k. Ties rank the lower symbol index
 *   first. The short book ranks by −forecast among names not in the long book. Each book is equal-weighted.
 *
 * Hand-written (no maintained JS package does cross-sectional top-k with dropout over typed arrays).
 *
 * @module
 */

import { ConfigError } from "../errors.ts";

/** How to turn a forecast grid into weights. */
export type PortfolioScheme =
  | "equal-weight"
  | "long-short"
  | "long-only"
  | { kind: "topk"; k: number; nDrop?: number; short?: boolean };

/** A readable label of a scheme, for stored records ("topk(k=10,nDrop=2,long-short)"). */
export function describeScheme(s: PortfolioScheme): string {
  if (typeof s === "string") return s;
  return `topk(k=${s.k},nDrop=${s.nDrop ?? s.k},${s.short ? "long-short" : "long-only"})`;
}

/** Validates a scheme; throws ConfigError naming what is wrong. */
export function validateScheme(s: PortfolioScheme): void {
  if (typeof s === "string") {
    if (!["equal-weight", "long-short", "long-only"].includes(s)) {
      throw new ConfigError(
        `unknown portfolio ${JSON.stringify(s)}; use "equal-weight", "long-short", "long-only" or { kind: "topk", k }`,
      );
    }
    return;
  }
  if (s.kind !== "topk") throw new ConfigError(`unknown portfolio kind ${JSON.stringify(s.kind)}`);
  if (!Number.isInteger(s.k) || s.k < 1) throw new ConfigError(`topk.k must be an integer ≥ 1, got ${s.k}`);
  const nDrop = s.nDrop ?? s.k;
  if (!Number.isInteger(nDrop) || nDrop < 0) throw new ConfigError(`topk.nDrop must be an integer ≥ 0, got ${nDrop}`);
}

/** `a` ranks before `b`: higher score, ties by lower index. */
function better(scores: ArrayLike<number>, base: number, a: number, b: number): boolean {
  const sa = scores[base + a];
  const sb = scores[base + b];
  return sa > sb || (sa === sb && a < b);
}

/**
 * The best `count` of `candidates` (symbol indices) by score on row `base`, best first. A bounded heap keeps this
 * O(m log count) per date.
 */
function bestOf(scores: ArrayLike<number>, base: number, candidates: number[], count: number, sign: number): number[] {
  if (count <= 0) return [];
  // Heap whose root is the worst of the kept elements.
  const heap: number[] = [];
  const worse = (a: number, b: number) => sign > 0 ? better(scores, base, b, a) : betterNeg(scores, base, b, a);
  for (const c of candidates) {
    if (heap.length < count) {
      heap.push(c);
      let i = heap.length - 1;
      while (i > 0) {
        const p = (i - 1) >> 1;
        if (worse(heap[i], heap[p])) {
          [heap[i], heap[p]] = [heap[p], heap[i]];
          i = p;
        } else break;
      }
    } else if (worse(heap[0], c)) {
      heap[0] = c;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let w = i;
        if (l < heap.length && worse(heap[l], heap[w])) w = l;
        if (r < heap.length && worse(heap[r], heap[w])) w = r;
        if (w === i) break;
        [heap[i], heap[w]] = [heap[w], heap[i]];
        i = w;
      }
    }
  }
  return heap.sort((a, b) => (worse(a, b) ? 1 : -1));
}

/** `a` ranks before `b` when ranking by −score: lower score, ties by lower index. */
function betterNeg(scores: ArrayLike<number>, base: number, a: number, b: number): boolean {
  const sa = scores[base + a];
  const sb = scores[base + b];
  return sa < sb || (sa === sb && a < b);
}

/** One TopkDropout step for one book. Returns the new holdings. */
function topkDropoutStep(
  scores: ArrayLike<number>,
  base: number,
  held: number[],
  eligible: number[],
  excluded: Uint8Array,
  k: number,
  nDrop: number,
  sign: number,
): number[] {
  const isHeld = new Set<number>();
  const last: number[] = [];
  for (const h of held) {
    if (Number.isFinite(scores[base + h]) && !excluded[h]) {
      last.push(h);
      isHeld.add(h);
    }
  }
  const nonHeld = eligible.filter((j) => !isHeld.has(j) && !excluded[j]);
  const today = bestOf(scores, base, nonHeld, nDrop + k - last.length, sign);
  const comb = bestOf(scores, base, [...last, ...today], last.length + today.length, sign);
  // The nDrop worst of the ranking, but never a name that is still within the best k (possible when too few
  // candidates exist to fill k + nDrop places).
  const worstN = new Set(comb.slice(Math.max(k, comb.length - nDrop)));
  const sell = last.filter((h) => worstN.has(h));
  const left = last.filter((h) => !worstN.has(h));
  const buy = today.slice(0, Math.max(0, sell.length + k - last.length));
  return [...left, ...buy];
}

/**
 * Target weights (dates × symbols, row-major, 0 where not held) from a forecast grid. Rows with no eligible symbol
 * are all NaN ("no decision"), so the engine's evaluation window starts at the first date with a forecast.
 */
export function portfolioWeights(
  forecasts: ArrayLike<number>,
  n: number,
  m: number,
  scheme: PortfolioScheme,
): Float64Array {
  validateScheme(scheme);
  if (forecasts.length !== n * m) {
    throw new ConfigError(`forecasts has ${forecasts.length} entries, expected ${n * m} (${n} dates × ${m} symbols)`);
  }
  const w = new Float64Array(n * m);
  let longBook: number[] = [];
  let shortBook: number[] = [];
  const excluded = new Uint8Array(m);
  for (let t = 0; t < n; t++) {
    const base = t * m;
    const eligible: number[] = [];
    for (let j = 0; j < m; j++) if (Number.isFinite(forecasts[base + j])) eligible.push(j);
    if (eligible.length === 0) {
      w.fill(NaN, base, base + m);
      continue;
    }
    const N = eligible.length;
    if (scheme === "equal-weight") {
      for (const j of eligible) w[base + j] = 1 / N;
    } else if (scheme === "long-short") {
      for (const j of eligible) {
        const f = forecasts[base + j];
        w[base + j] = f > 0 ? 1 / N : f < 0 ? -1 / N : 0;
      }
    } else if (scheme === "long-only") {
      for (const j of eligible) w[base + j] = forecasts[base + j] > 0 ? 1 / N : 0;
    } else {
      const k = scheme.k;
      const nDrop = scheme.nDrop ?? k;
      excluded.fill(0);
      longBook = topkDropoutStep(forecasts, base, longBook, eligible, excluded, k, nDrop, 1);
      if (scheme.short) {
        for (const j of longBook) excluded[j] = 1;
        shortBook = topkDropoutStep(forecasts, base, shortBook, eligible, excluded, k, nDrop, -1);
      }
      const half = scheme.short && shortBook.length > 0 && longBook.length > 0 ? 0.5 : 1;
      for (const j of longBook) w[base + j] = half / longBook.length;
      for (const j of shortBook) w[base + j] = -half / shortBook.length;
    }
  }
  return w;
}
