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

/**
 * The best `count` of `candidates` (symbol indices), best first, ranking by `sign · score` (higher first; ties by
 * lower index). A bounded heap keeps this O(candidates · log count) per date.
 */
function bestOf(scores: ArrayLike<number>, base: number, candidates: number[], count: number, sign: number): number[] {
  if (count <= 0) return [];
  const key = (j: number) => sign * scores[base + j];
  /** `a` ranks after `b`. */
  const worse = (a: number, b: number) => {
    const ka = key(a);
    const kb = key(b);
    return ka < kb || (ka === kb && a > b);
  };
  // Heap whose root is the worst of the kept elements.
  const heap: number[] = [];
  for (const c of candidates) {
    if (heap.length < count) {
      heap.push(c);
      let i = heap.length - 1;
      while (i > 0) {
        const p = (i - 1) >> 1;
        if (!worse(heap[i], heap[p])) break;
        const tmp = heap[i];
        heap[i] = heap[p];
        heap[p] = tmp;
        i = p;
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
        const tmp = heap[i];
        heap[i] = heap[w];
        heap[w] = tmp;
        i = w;
      }
    }
  }
  return heap.sort((a, b) => (worse(a, b) ? 1 : -1));
}

/**
 * One TopkDropout step for one book: returns the new holdings. `blocked[j]` = 1 marks symbols this book may not
 * hold (the other book's names); it is used as scratch and restored.
 */
function topkDropoutStep(
  scores: ArrayLike<number>,
  base: number,
  held: number[],
  eligible: number[],
  blocked: Uint8Array,
  k: number,
  nDrop: number,
  sign: number,
): number[] {
  const last: number[] = [];
  for (const h of held) if (Number.isFinite(scores[base + h]) && !blocked[h]) last.push(h);
  for (const h of last) blocked[h] |= 2;
  const nonHeld: number[] = [];
  for (const j of eligible) if (!blocked[j]) nonHeld.push(j);
  for (const h of last) blocked[h] &= 1;
  const today = bestOf(scores, base, nonHeld, nDrop + k - last.length, sign);
  const comb = bestOf(scores, base, [...last, ...today], last.length + today.length, sign);
  // The nDrop worst of the ranking, but never a name that is still within the best k (possible when too few
  // candidates exist to fill k + nDrop places).
  const worst = new Set(comb.slice(Math.max(k, comb.length - nDrop)));
  const sell = last.filter((h) => worst.has(h));
  const left = last.filter((h) => !worst.has(h));
  const buy = today.slice(0, Math.max(0, sell.length + k - last.length));
  return [...left, ...buy];
}

/**
 * One date's target weights from that date's forecasts (`forecasts[offset .. offset + m)`) and the previous
 * decided weights (the books top-k keeps; undefined before the first decision). All NaN when no symbol is
 * eligible. This is the step {@link portfolioWeights} repeats, exported so a forward simulation can build the same
 * portfolio one date at a time.
 */
export function nextPortfolioWeights(
  forecasts: ArrayLike<number>,
  previous: ArrayLike<number> | undefined,
  scheme: PortfolioScheme,
  m: number = forecasts.length,
  offset = 0,
): Float64Array {
  validateScheme(scheme);
  const w = new Float64Array(m);
  const eligible: number[] = [];
  for (let j = 0; j < m; j++) if (Number.isFinite(forecasts[offset + j])) eligible.push(j);
  if (eligible.length === 0) return w.fill(NaN);
  const N = eligible.length;
  if (scheme === "equal-weight") {
    for (const j of eligible) w[j] = 1 / N;
  } else if (scheme === "long-short") {
    for (const j of eligible) {
      const f = forecasts[offset + j];
      w[j] = f > 0 ? 1 / N : f < 0 ? -1 / N : 0;
    }
  } else if (scheme === "long-only") {
    for (const j of eligible) w[j] = forecasts[offset + j] > 0 ? 1 / N : 0;
  } else {
    const k = scheme.k;
    const nDrop = scheme.nDrop ?? k;
    const longHeld: number[] = [];
    const shortHeld: number[] = [];
    if (previous !== undefined) {
      for (let j = 0; j < m; j++) {
        if (previous[j] > 0) longHeld.push(j);
        else if (previous[j] < 0) shortHeld.push(j);
      }
    }
    const excluded = new Uint8Array(m);
    const longBook = topkDropoutStep(forecasts, offset, longHeld, eligible, excluded, k, nDrop, 1);
    let shortBook: number[] = [];
    if (scheme.short) {
      for (const j of longBook) excluded[j] = 1;
      shortBook = topkDropoutStep(forecasts, offset, shortHeld, eligible, excluded, k, nDrop, -1);
    }
    const half = scheme.short && shortBook.length > 0 && longBook.length > 0 ? 0.5 : 1;
    for (const j of longBook) w[j] = half / longBook.length;
    for (const j of shortBook) w[j] = -half / shortBook.length;
  }
  return w;
}

/**
 * Target weights (dates × symbols, row-major, 0 where not held) from a forecast grid. Rows with no eligible symbol
 * are all NaN ("no decision"), so the engine's evaluation window starts at the first date with a forecast; top-k
 * books carry over such rows unchanged.
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
  let previous: Float64Array | undefined;
  for (let t = 0; t < n; t++) {
    const row = nextPortfolioWeights(forecasts, previous, scheme, m, t * m);
    w.set(row, t * m);
    if (!Number.isNaN(row[0])) previous = row; // a no-decision row is all NaN
  }
  return w;
}
