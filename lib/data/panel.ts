/**
 * The Panel: candor's one in-memory representation of prices.
 *
 * @module
 */

import { pl } from "./polars.ts";

/** Required price columns, in canonical order, after loading. */
export const PANEL_COLUMNS = ["date", "symbol", "open", "high", "low", "close", "adj_close", "volume"] as const;

/**
 * Long-format daily prices, one row per (symbol, date), validated once at load.
 *
 * - `frame` columns: `date` (Utf8, ISO `YYYY-MM-DD`; lexicographic order is chronological), `symbol` (Utf8),
 *   `open`, `high`, `low`, `close`, `adj_close`, `volume` (Float64); sorted by symbol then date; no duplicate
 *   (symbol, date); prices finite and > 0; `low ≤ open, close ≤ high`; `volume ≥ 0`.
 * - Returns always come from `adj_close`. Where a file had no usable `adj_close` it was filled from `close`, and
 *   `warnings` says so.
 * - Extra numeric columns found in the files (user-supplied features) are kept after the price columns.
 */
export interface Panel {
  /** The long price frame itself: canonical columns, then `extraColumns`; sorted by symbol then date (see above). */
  readonly frame: pl.DataFrame;
  /** Symbols in frame order (sorted). */
  readonly symbols: readonly string[];
  /** Sorted union of all trading dates (the shared date axis splitters work on). */
  readonly dates: readonly string[];
  /** Human-readable notes from loading (fallbacks, fills); never errors. */
  readonly warnings: readonly string[];
  /** Names of the extra numeric columns beyond PANEL_COLUMNS. */
  readonly extraColumns: readonly string[];
}

/** The price columns that must be finite and strictly positive. */
export const PRICE_COLUMNS = ["open", "high", "low", "close", "adj_close"] as const;

/**
 * Wraps an already validated long frame as a Panel, deriving `symbols` (sorted unique) and `dates` (sorted union).
 *
 * The frame must already satisfy every Panel invariant (this is for the loader and the generators, which validate or
 * construct them); it is sorted by symbol then date here, and columns are put in canonical order with the extra
 * columns after them. Use `loadPanel` for untrusted input.
 */
export function panelFromFrame(
  frame: pl.DataFrame,
  info: { warnings?: readonly string[]; extraColumns?: readonly string[] } = {},
): Panel {
  const extraColumns = [...(info.extraColumns ?? [])];
  // A select by thousands of names costs time in proportion to the width for each: skip it when already in order.
  const wantedOrder = [...PANEL_COLUMNS, ...extraColumns];
  const inOrder = frame.width === wantedOrder.length && frame.columns.every((c, i) => c === wantedOrder[i]);
  const selected = inOrder ? frame : frame.select(...wantedOrder);
  const sorted = isSortedBySymbolDate(selected) ? selected : selected.sort(["symbol", "date"]);
  const symbols = sorted.getColumn("symbol").unique().sort().toArray() as string[];
  const dates = sorted.getColumn("date").unique().sort().toArray() as string[];
  return { frame: sorted, symbols, dates, warnings: [...(info.warnings ?? [])], extraColumns };
}

/** Positions already computed, per panel (a study asks for them more than once; panels are immutable). */
const datePositions = new WeakMap<Panel, Int32Array>();

/**
 * Each frame row's position (0-based) on `panel.dates`, the sorted union of trading dates, so callers index the
 * panel's own date strings instead of converting one fresh string per row (on the whole S&P 500, 2 M rows, that
 * conversion costs seconds). Polars maps each date string to its position (`replaceStrict`, order-preserving by
 * construction): 0.1 s on the whole S&P 500 against 0.6 s for a dense rank, which sorts the strings. Computed once per
 * panel; the array is shared, so callers must not modify it.
 */
export function rowDatePositions(panel: Panel): Int32Array {
  const known = datePositions.get(panel);
  if (known !== undefined) return known;
  const positions = Array.from(panel.dates, (_, i) => i);
  const at = panel.frame.select(
    pl.col("date").replaceStrict(panel.dates as string[], positions, undefined, pl.Int32).alias("d"),
  ).getColumn("d").toTypedArray() as Int32Array;
  datePositions.set(panel, at);
  return at;
}

/** True when the frame's rows are in (symbol, date) order with no repeated (symbol, date); one vectorized pass. */
export function isSortedBySymbolDate(frame: pl.DataFrame): boolean {
  if (frame.height < 2) return true;
  const symbol = pl.col("symbol");
  const date = pl.col("date");
  const bad = symbol.lt(symbol.shift(1)).or(symbol.eq(symbol.shift(1)).and(date.ltEq(date.shift(1))));
  return (frame.select(bad.fillNull(false).sum().alias("n")).getColumn("n").get(0) as number) === 0;
}
