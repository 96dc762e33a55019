/**
 * The Panel: candor's one in-memory representation of prices.
 *
 * @module
 */

import type pl from "nodejs-polars";

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
