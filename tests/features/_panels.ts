/**
 * Panels for feature and leakage tests, built directly with polars (independent of the loader in lib/data).
 *
 * @module
 */

import pl from "nodejs-polars";
import { join } from "node:path";
import { type Panel, PANEL_COLUMNS, panelFromFrame as panelFromDataFrame } from "../../lib/data/panel.ts";
import { loadPanel } from "../../lib/data/load.ts";

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

/**
 * A panel from long rows (sorted by symbol, then date) whose price columns all equal `close` (a valid bar; 1 when not
 * given) and volume 1000: for tests about dates, symbols and levels rather than bars.
 */
export function panelOfRows(rows: { symbol: string; date: string; close?: number }[]): Panel {
  const c = rows.map((r) => r.close ?? 1);
  return panelFromFrame(pl.DataFrame({
    date: rows.map((r) => r.date),
    symbol: rows.map((r) => r.symbol),
    open: c,
    high: c,
    low: c,
    close: c,
    adj_close: c,
    volume: rows.map(() => 1000),
  }));
}

/** Wraps a frame (date, symbol, prices, extra numeric columns) into a Panel with lib/data's panelFromFrame. */
export function panelFromFrame(frame: pl.DataFrame): Panel {
  const price = new Set<string>(PANEL_COLUMNS);
  return panelFromDataFrame(frame, { extraColumns: frame.columns.filter((c) => !price.has(c)) });
}

/** Loads `<dir>/<SYMBOL>.csv.gz` files into a Panel with the product's loader. */
export function readRealPanel(dir: string, symbols: string[]): Promise<Panel> {
  return loadPanel(symbols.map((s) => join(dir, `${s}.csv.gz`)));
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
