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

/** Deterministic uniform(0, 1) generator (mulberry32), for test data only. */
export function uniform(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Standard normal draws from a uniform generator (Box–Muller). */
export function normal(u: () => number): () => number {
  return () => Math.sqrt(-2 * Math.log(1 - u())) * Math.cos(2 * Math.PI * u());
}

/** Business days from 2010-01-04 (Mon–Fri), ISO strings. */
export function businessDays(n: number): string[] {
  const out: string[] = [];
  const d = new Date(Date.UTC(2010, 0, 4));
  while (out.length < n) {
    const wd = d.getUTCDay();
    if (wd !== 0 && wd !== 6) out.push(d.toISOString().slice(0, 10));
    d.setUTCDate(d.getUTCDate() + 1);
  }
  return out;
}

/** A seeded random-walk panel: valid OHLCV (low ≤ open, close ≤ high), 1 % daily volatility, lognormal volume. */
export function randomWalkPanel(seed: number, symbols: number, days: number): Panel {
  const z = normal(uniform(seed));
  const dates = businessDays(days);
  const bySymbol: Record<string, PriceRows> = {};
  for (let s = 0; s < symbols; s++) {
    const r: PriceRows = { date: dates, open: [], high: [], low: [], close: [], volume: [] };
    let c = 50 + 10 * s;
    for (let t = 0; t < days; t++) {
      const o = c * Math.exp(0.002 * z());
      c = o * Math.exp(0.01 * z());
      r.open.push(o);
      r.close.push(c);
      r.high.push(Math.max(o, c) * Math.exp(0.004 * Math.abs(z())));
      r.low.push(Math.min(o, c) * Math.exp(-0.004 * Math.abs(z())));
      r.volume.push(Math.round(1e6 * Math.exp(0.3 * z())));
    }
    bySymbol[`S${String(s).padStart(2, "0")}`] = r;
  }
  return panelOf(bySymbol);
}
