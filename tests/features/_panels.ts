/**
 * Panels for feature and leakage tests, built directly with polars (independent of the loader in lib/data).
 *
 * @module
 */

import pl from "nodejs-polars";
import { gunzipSync } from "node:zlib";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Panel } from "../../lib/data/panel.ts";

/** Price columns of a test panel. */
export interface PriceRows {
  date: string[];
  open: number[];
  high: number[];
  low: number[];
  close: number[];
  adj_close?: number[];
  volume: number[];
}

/** Builds a Panel from per-symbol price rows (sorted by symbol, then date). */
export function panelOf(
  bySymbol: Record<string, PriceRows>,
  extra: Record<string, Record<string, number[]>> = {},
): Panel {
  const frames = Object.keys(bySymbol).sort().map((symbol) => {
    const r = bySymbol[symbol];
    const cols: Record<string, unknown[]> = {
      date: r.date,
      symbol: r.date.map(() => symbol),
      open: r.open,
      high: r.high,
      low: r.low,
      close: r.close,
      adj_close: r.adj_close ?? r.close,
      volume: r.volume,
    };
    for (const [name, values] of Object.entries(extra[symbol] ?? {})) cols[name] = values;
    return pl.DataFrame(cols).withColumns(
      pl.col(["open", "high", "low", "close", "adj_close", "volume", ...Object.keys(extra[symbol] ?? {})]).cast(
        pl.Float64,
      ),
    );
  });
  return panelFromFrame(pl.concat(frames));
}

/** Wraps a frame (date, symbol, prices, extra numeric columns) sorted by symbol then date into a Panel. */
export function panelFromFrame(frame: pl.DataFrame): Panel {
  const price = new Set(["date", "symbol", "open", "high", "low", "close", "adj_close", "volume"]);
  const sorted = frame.sort(["symbol", "date"]);
  return {
    frame: sorted,
    symbols: sorted.getColumn("symbol").unique().sort().toArray() as string[],
    dates: sorted.getColumn("date").unique().sort().toArray() as string[],
    warnings: [],
    extraColumns: sorted.columns.filter((c) => !price.has(c)),
  };
}

/** Reads `<dir>/<SYMBOL>.csv.gz` files into a Panel (adj_close falls back to close when empty). */
export function readRealPanel(dir: string, symbols: string[]): Panel {
  const frames = symbols.map((symbol) => {
    const text = gunzipSync(readFileSync(join(dir, `${symbol}.csv.gz`))).toString("utf8");
    const df = pl.readCSV(text, { inferSchemaLength: 0 });
    const num = (c: string) => pl.col(c).cast(pl.Float64);
    return df.select(
      pl.col("date"),
      pl.lit(symbol).alias("symbol"),
      num("open"),
      num("high"),
      num("low"),
      num("close"),
      pl.when(num("adj_close").isNull()).then(num("close")).otherwise(num("adj_close")).alias("adj_close"),
      num("volume"),
    );
  });
  return panelFromFrame(pl.concat(frames));
}
