/**
 * Writing a Panel back to price files in the loader's format, one file per symbol.
 *
 * @module
 */

import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { ConfigError } from "../errors.ts";
import type { Panel } from "./panel.ts";

/** Options of `writePanelCsv`. */
export interface WritePanelCsvOptions {
  /** Write `<SYMBOL>.csv.gz` instead of `<SYMBOL>.csv` (default false). */
  gzip?: boolean;
}

/**
 * Writes one `<SYMBOL>.csv` (or `.csv.gz`) per symbol into `dir` (created if needed), with the header
 * `date,open,high,low,close,adj_close,volume` followed by the extra columns, rows in date order. Floats are written
 * in their shortest round-trip form, so `loadPanel(dir)` gives back exactly the same values; missing extra values are
 * written as `NaN`. Existing files of the same names are overwritten. Returns the paths written, in symbol order.
 *
 * Throws ConfigError for a symbol that cannot be a file name (empty, containing a path separator, or starting with a
 * dot), before writing anything.
 */
export function writePanelCsv(panel: Panel, dir: string, opts: WritePanelCsvOptions = {}): string[] {
  for (const s of panel.symbols) {
    if (s === "" || /[/\\\0]/.test(s) || s.startsWith(".")) {
      throw new ConfigError(`symbol ${JSON.stringify(s)} cannot be used as a file name; rename it before writing`);
    }
  }
  mkdirSync(dir, { recursive: true });
  const columns = ["date", "open", "high", "low", "close", "adj_close", "volume", ...panel.extraColumns];
  const parts = panel.frame.partitionBy("symbol", true, true);
  const paths: string[] = [];
  for (const part of parts) {
    const symbol = part.getColumn("symbol").get(0) as string;
    const csv = part.select(...columns).sort("date").writeCSV({ includeHeader: true });
    const path = join(dir, `${symbol}.csv${opts.gzip ? ".gz" : ""}`);
    writeFileSync(path, opts.gzip ? gzipSync(csv) : csv);
    paths.push(path);
  }
  return paths.sort();
}
