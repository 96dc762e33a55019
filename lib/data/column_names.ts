/**
 * Canonical column names for price files.
 *
 * Price files come with many spellings of the same header: Yahoo's `Date,Open,High,Low,Close,Adj Close,Volume`,
 * snake case `adj_close`, camel case `AdjClose`, a UTF-8 byte-order mark glued to the first name, stray spaces. All of
 * them map to one canonical snake-case name, so the rest of candor only ever sees `date, symbol, open, high, low,
 * close, adj_close, volume` (plus any extra columns, normalized the same way).
 *
 * @module
 */

/** Canonical name → accepted spellings after normalization (`normalizeColumnName`). */
const ALIASES: Record<string, readonly string[]> = {
  symbol: ["symbol", "ticker"],
  adj_close: ["adj_close", "adjclose", "adjusted_close", "adj_close_price"],
};

/**
 * Normalizes a header cell: drops a byte-order mark and surrounding whitespace, splits camel case (`AdjClose` →
 * `adj_close`), lower-cases, and turns every run of other characters into one underscore.
 *
 * Example: `"\uFEFF Adj Close "` → `"adj_close"`, `"AdjClose"` → `"adj_close"`, `"adj-close"` → `"adj_close"`.
 */
export function normalizeColumnName(raw: string): string {
  return raw
    .replace(/^\uFEFF/, "")
    .trim()
    .replace(/([a-z0-9])([A-Z])/g, "$1_$2")
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "_")
    .replace(/^_+|_+$/g, "");
}

/**
 * The canonical name of a header cell: `symbol` for `Ticker`, `adj_close` for `Adj Close`/`AdjClose`/`adjclose`/
 * `Adjusted Close`, otherwise the normalized name itself (`Open` → `open`, `My Feature` → `my_feature`).
 */
export function canonicalColumnName(raw: string): string {
  const normalized = normalizeColumnName(raw);
  for (const [canonical, spellings] of Object.entries(ALIASES)) {
    if (spellings.includes(normalized)) return canonical;
  }
  return normalized;
}
