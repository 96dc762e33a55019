/**
 * Loading price files (CSV, CSV.gz, Parquet; one file, a list, or a folder) into a validated Panel.
 *
 * Design:
 *
 * - **Parse with polars, validate vectorized, locate by walking.** Every file is read by polars, the numbers (prices,
 *   volume, extra columns) parsed by its CSV reader as Float64 and the rest as text; the files are concatenated with
 *   their file index and record index, and every rule is checked as one polars expression over all rows. When the
 *   reader refuses a value, or any rule fails, the load is redone with every column read as text (so nothing is
 *   silently coerced, and a message shows the value as written), and only then do we walk the failing file's text to
 *   turn the record index into an exact line number (quoted newlines included). Clean loads of hundreds of files
 *   therefore cost a few polars passes; errors stay precise.
 * - **One error, the first one.** When several rows are bad, the error names the first offending row in load order
 *   (files in the order given, folders sorted by name; rows in file order); when one row breaks several rules, the
 *   first rule in the list below wins. Nothing is returned and nothing is written on error.
 * - **Rules** (each a `DataError` with file, line, column as written in the file, expected, found): a required column
 *   is missing (`date, open, high, low, close, volume`; `adj_close` and `symbol`/`ticker` are optional); a column
 *   appears twice; no data rows; a date that is not an ISO `YYYY-MM-DD` calendar date; a missing, unparsable or
 *   non-finite number; a price ≤ 0 (open, high, low, close, adj_close); volume < 0; high < low; close outside
 *   [low, high]; open outside [low, high] (checked too: an open outside the day's range is as impossible as a close
 *   outside it, and signals a mis-adjusted or shifted column); a date repeated for a symbol; dates not strictly
 *   increasing for a symbol (across files too: a symbol split over several files must have them in date order).
 * - **Dates** are ISO `YYYY-MM-DD`; a time and zone may follow (`2021-01-04 00:00:00-05:00`, as yfinance writes, or
 *   `2021-01-04T00:00:00Z`) and are dropped: the calendar day as written is the bar's date. Intraday bars therefore
 *   fail as duplicate dates, which is intended (the Panel is daily).
 * - **Tolerated**: header spelling (see column_names.ts), a UTF-8 BOM, CRLF line ends, spaces around values, empty
 *   lines (every field empty) which are skipped, and an `adj_close` column that is absent or entirely empty, which
 *   falls back to `close` with one warning naming the symbols (returns then miss dividends). A partly empty
 *   `adj_close` is an error: mixing adjusted and unadjusted prices would fake returns on the switch day.
 * - **Symbols** come from a `symbol`/`ticker` column when present (a file may then hold many symbols, interleaved or
 *   not), else from the file name (`AAPL.csv.gz` → `AAPL`, `BRK-B.parquet` → `BRK-B`).
 * - **Extra columns** are kept as Float64 user features (named in `extraColumns`, normalized like the headers): empty
 *   cells become NaN (a missing feature), infinities are an error, a value that does not parse is an error unless no
 *   value of that column parses (a text column such as a company name), which is dropped with a warning.
 * - **Folders**: every `*.csv`, `*.csv.gz`, `*.parquet` directly inside, sorted by name. A file that has none of the
 *   open/high/low/close columns (an index or summary file such as `SUMMARY.csv`) is skipped with a warning; a file
 *   that has some but not all of them is an error.
 * - **Parquet** has no lines: its errors name the 1-based data row in the message and leave `line` undefined. Date
 *   columns may be Utf8, Date or Datetime (truncated to the day); prices and volume numeric or text; symbols text or
 *   integers. Another type in one of those columns is a `DataError` naming the column and its type; an extra column
 *   of another type (Boolean, List, Struct, ...) is dropped with a warning.
 * - **Files that are not CSV text** (./files.ts): symbolic link loops, broken links, permissions, UTF-16/UTF-32 or
 *   binary content, a `.csv.gz` that is not gzip or is truncated, text that is not UTF-8 — each a `DataError` naming
 *   the file and saying what it found. Every value a message echoes is cut to 200 characters (`clipEcho`).
 *
 * **Wide files and memory.** Extra columns are chosen with `columns` ("all", "none" or names); columns not chosen are
 * never parsed. More than `maxExtraColumns` chosen extra columns (default {@link MAX_EXTRA_COLUMNS} = 1000, per file
 * and over all files) is refused, from the header alone, with the count found and the way out (`--columns none` or a
 * list). Files with more than 500 chosen extra columns are read 500 columns per reader pass, the price columns first;
 * extra columns are parsed as Float64 by the reader itself, and only a file where some extra value does not parse, is
 * infinite, or is text goes through the text path below (which locates the problem or drops the text column). Peak
 * resident memory added by a call is at most {@link LOAD_MEMORY_MULTIPLE} × the input (decompressed) +
 * {@link LOAD_MEMORY_OVERHEAD_BYTES}; measured December 2026 on 2 cores: the S&P 500 folder (455 files, 116 MB of CSV
 * text, 2.16 M rows) +0.53 GB (4.6×; +0.83 GB, 7.2×, when its numbers were read as text and parsed after); a 20 MB
 * file with 1,000 extra columns +94 MB (4.8×); a 24 MB file with 10,000 extra columns refused by default at +40 MiB,
 * and with the limit raised loaded at +154 MiB (6.5×) and loaded and audited at +219 MiB (9.2×)
 * (tests/data/wide_memory_test.ts checks the bound in a subprocess). The file that once took 2.1 GB to load and drove
 * `candor run` to 23.8 GB.
 *
 * @module
 */

import { pl } from "./polars.ts";
import { Buffer } from "node:buffer";
import { open } from "node:fs/promises";
import { constants as zlibConstants, gunzipSync } from "node:zlib";
import { clipEcho, ConfigError, DataError } from "../errors.ts";
import { canonicalColumnName } from "./column_names.ts";
import { firstRaggedRecord, headerRecordLength, lineOfRecord } from "./csv_lines.ts";
import {
  assertTextContent,
  fileSystemError,
  firstInvalidUtf8Line,
  identifyContent,
  listPriceFiles,
  type PriceFile,
  readPriceFileBytes,
} from "./files.ts";
import { type Panel, panelFromFrame, PRICE_COLUMNS } from "./panel.ts";

/**
 * Extra numeric columns one load may bring by default (see {@link LoadPanelOptions.maxExtraColumns}): beyond it a
 * load is refused, with the count found and how to choose columns, before any value is parsed.
 */
export const MAX_EXTRA_COLUMNS = 1000;

/**
 * Peak resident memory a `loadPanel` call adds to the process, as a multiple of the input's size (decompressed CSV
 * bytes; for Parquet, the file's bytes): at most `LOAD_MEMORY_MULTIPLE × input + LOAD_MEMORY_OVERHEAD_BYTES`,
 * whatever the shape (many rows, or up to {@link MAX_EXTRA_COLUMNS} extra columns). Checked by
 * tests/data/wide_memory_test.ts in a subprocess on files of about 20 MB.
 */
export const LOAD_MEMORY_MULTIPLE = 12;

/** The fixed part of the `loadPanel` memory bound ({@link LOAD_MEMORY_MULTIPLE}): 256 MiB. */
export const LOAD_MEMORY_OVERHEAD_BYTES = 256 * 1024 * 1024;

/** Which extra columns (beyond the price columns) to read: all of them, none, or these names. */
export type ExtraColumnSelection = "all" | "none" | readonly string[];

/** Options of `loadPanel`. */
export interface LoadPanelOptions {
  /**
   * Keep only these symbols. In a folder, files named after other symbols are not read unless their header has a
   * symbol/ticker column; rows of other symbols are dropped. A requested symbol that is found nowhere is an error
   * naming it, the first symbols available and, for a symbol that differs only in case (`aapl`), the one the files
   * use: symbols match exactly.
   */
  symbols?: readonly string[];
  /**
   * Extra numeric columns to read (default "all"): "none" reads only the price columns, a list reads those names
   * (spelled as in the file or normalized, e.g. `My Feature` or `my_feature`). Columns not chosen are never parsed,
   * so a file with 10,000 columns loads in the time and memory of its price columns. A listed name that no file has
   * is a ConfigError naming the extra columns present.
   */
  columns?: ExtraColumnSelection;
  /**
   * Most extra columns the load may bring (default {@link MAX_EXTRA_COLUMNS}, counted per file and over all files
   * together, after `columns`). More is a DataError naming the file and the count, before any value is parsed.
   */
  maxExtraColumns?: number;
  /** Files read and decompressed at once (default 8). */
  concurrency?: number;
  /** Called after each file is read with (files read, files to read), for progress bars. */
  onProgress?: (done: number, total: number) => void;
}

/** Columns every price file must have (after header normalization). */
export const REQUIRED_COLUMNS = ["date", "open", "high", "low", "close", "volume"] as const;

const NUMERIC_COLUMNS = ["open", "high", "low", "close", "adj_close", "volume"] as const;
const OHLC = ["open", "high", "low", "close"] as const;
/** Canonical names that are not extra columns. */
const PANEL_NAMES = new Set<string>(["date", "symbol", ...NUMERIC_COLUMNS]);
/** An ISO date, optionally followed by a time and zone (`2021-01-04 00:00:00-05:00`, as yfinance writes). */
const ISO_DATE = "^\\d{4}-\\d{2}-\\d{2}(?:[T ]\\d{2}:\\d{2}(?::\\d{2}(?:\\.\\d+)?)?(?:Z|[+-]\\d{2}:?\\d{2})?)?$";

type SourceFile = PriceFile;

interface FileTable {
  source: SourceFile;
  /** canonical name → name as written in the file */
  written: Map<string, string>;
  /**
   * All data columns Utf8 (in a typed load prices, volume and extra columns Float64) with canonical names, plus
   * `symbol`, `__row` (0-based data record index) and `__file` (index in the load order).
   */
  frame: pl.DataFrame;
  /** The file had no usable adj_close; it was filled from close. */
  adjFallback: boolean;
  /** Canonical names of every extra column in the header, chosen or not (for the unknown-column message). */
  extrasInHeader: string[];
  /** Notes from reading this file (extra columns of unusable types dropped). */
  warnings: string[];
}

/** How extra columns are chosen, resolved once per load. */
interface ColumnChoice {
  /** Whether the extra column with this canonical name is read. */
  wants: (canonical: string) => boolean;
  /** Most extra columns allowed. */
  limit: number;
  /** The selection as given, for messages. */
  given: ExtraColumnSelection;
}

function resolveColumnChoice(opts: LoadPanelOptions): ColumnChoice {
  const given = opts.columns ?? "all";
  const limit = opts.maxExtraColumns ?? MAX_EXTRA_COLUMNS;
  if (!(limit >= 0)) throw new ConfigError(`maxExtraColumns must be ≥ 0, got ${limit}`);
  if (given === "all") return { wants: () => true, limit, given };
  if (given === "none") return { wants: () => false, limit, given };
  if (!Array.isArray(given)) {
    throw new ConfigError(`columns must be "all", "none" or a list of names, got ${JSON.stringify(given)}`);
  }
  const names = new Set(given.map(canonicalColumnName));
  return { wants: (c) => names.has(c), limit, given };
}

/**
 * True when a file may hold symbols other than its name's: a Parquet file (not peeked), or a CSV whose header has a
 * symbol/ticker column. Reads only the first few kilobytes (a partial gunzip for .csv.gz).
 */
async function mayHoldOtherSymbols(src: SourceFile): Promise<boolean> {
  if (src.format === "parquet") return true;
  let handle;
  try {
    handle = await open(src.path, "r");
  } catch (e) {
    throw await fileSystemError(src.path, e, "file");
  }
  try {
    const chunk = Buffer.alloc(16_384);
    const { bytesRead } = await handle.read(chunk, 0, chunk.length, 0);
    let head: Buffer = chunk.subarray(0, bytesRead);
    if (src.format === "csv.gz") {
      try {
        head = gunzipSync(head, { finishFlush: zlibConstants.Z_SYNC_FLUSH });
      } catch {
        return true; // let the full read report it
      }
    }
    const firstLine = head.toString("utf8").split("\n")[0];
    return firstLine.split(",").some((name) => canonicalColumnName(name) === "symbol");
  } catch (e) {
    throw await fileSystemError(src.path, e, "file");
  } finally {
    await handle.close();
  }
}

/**
 * Explains why polars refused a CSV: text that is not UTF-8 (with its line and first bad byte), else the first
 * record whose field count differs from the header's, else polars' own reason.
 */
function explainUnparsableCsv(src: SourceFile, bytes: Uint8Array, cause: unknown): DataError {
  const invalid = firstInvalidUtf8Line(bytes);
  if (invalid !== undefined) {
    return new DataError("not UTF-8 text", {
      file: src.path,
      line: invalid.line,
      expected: "UTF-8 text (this looks like Latin-1 or Windows-1252; save the file as UTF-8, e.g. iconv -f " +
        "WINDOWS-1252 -t UTF-8)",
      found: `the byte 0x${invalid.byte.toString(16).toUpperCase().padStart(2, "0")}`,
    }, { cause });
  }
  const ragged = firstRaggedRecord(bytes);
  if (ragged !== undefined) return raggedError(src, ragged, cause);
  return new DataError(`not a readable CSV file (${String((cause as Error)?.message ?? cause).split("\n")[0]})`, {
    file: src.path,
    expected: "comma-separated text with a header line",
  }, { cause });
}

function raggedError(src: SourceFile, r: { line: number; fields: number; width: number }, cause?: unknown) {
  return new DataError("wrong number of fields", {
    file: src.path,
    line: r.line,
    expected: `${r.width} comma-separated fields like the header`,
    found: `${r.fields} fields`,
  }, cause === undefined ? undefined : { cause });
}

/** Header names of a CSV (as written), parsed by polars from the header record alone. */
function csvHeader(src: SourceFile, bytes: Buffer): string[] {
  try {
    const head = bytes.subarray(0, headerRecordLength(bytes));
    return pl.readCSV(head, { nRows: 0, inferSchemaLength: 0, hasHeader: true, quoteChar: '"', raiseIfEmpty: false })
      .columns;
  } catch (e) {
    throw explainUnparsableCsv(src, bytes, e);
  }
}

/** Column names and types of a Parquet file, read without its rows. */
function parquetColumns(src: SourceFile, bytes: Buffer): string[] {
  try {
    return pl.readParquet(bytes, { nRows: 0 }).columns;
  } catch (e) {
    throw unreadableParquet(src, bytes, e);
  }
}

function unreadableParquet(src: SourceFile, bytes: Uint8Array, e: unknown): DataError {
  const isParquet = bytes.length >= 4 && String.fromCharCode(...bytes.subarray(0, 4)) === "PAR1";
  const kind = isParquet ? undefined : identifyContent(bytes);
  const what = isParquet
    ? `a damaged Parquet file (${String((e as Error)?.message ?? e).split("\n")[0]})`
    : kind !== undefined
    ? `${kind.what}, not Parquet (${kind.advice})`
    : bytes.length === 0
    ? "an empty file"
    : "text or other data, not Parquet (a Parquet file starts with PAR1; a CSV must be named .csv)";
  return new DataError("not a readable Parquet file", {
    file: src.path,
    expected: "a Parquet file (it starts and ends with the bytes PAR1)",
    found: what,
  }, { cause: e });
}

/** Polars type families of Parquet columns, for the type check. */
function typeFamily(dtype: pl.DataType): "text" | "number" | "date" | "datetime" | "null" | "other" {
  const v = dtype.variant;
  if (v === "Utf8" || v === "String" || v === "Categorical") return "text";
  if (/^(U?Int(8|16|32|64)|Float(32|64)|Decimal)$/.test(v)) return "number";
  if (v === "Date") return "date";
  if (v === "Datetime") return "datetime";
  if (v === "Null") return "null";
  return "other";
}

/** A readable name of a polars type for messages: `Boolean`, `List(Float64)`, `Int64`. */
function typeName(dtype: pl.DataType): string {
  return String(dtype).replace(/DataType\(/g, "(").replace(/^\((.*)\)$/, "$1").replace(/\(([A-Za-z0-9]+)\)/g, "$1")
    .replace(/^Bool$/, "Boolean");
}

/**
 * Parquet columns as Utf8 text, after a type check: prices, volume and extra columns must be numbers (or text to
 * parse, as in a CSV), dates text, Date or Datetime, symbols text or integers. A price column of another type is a
 * DataError naming the column and its type; an extra column of another type (Boolean, List, Struct, Binary, ...) is
 * dropped with a warning, like a text column. With `typed`, numeric price, volume and extra columns become Float64
 * directly and any other of those columns abandons the typed attempt ({@link NeedsTextPath}).
 */
function parquetAsText(src: SourceFile, df: pl.DataFrame, warnings: string[], typed: boolean): pl.DataFrame {
  const exprs: pl.Expr[] = [];
  df.columns.forEach((name, i) => {
    const dtype = df.dtypes[i];
    const family = typeFamily(dtype);
    const canonical = canonicalColumnName(name);
    const wrong = (expected: string) =>
      new DataError("wrong column type", {
        file: src.path,
        column: name,
        expected,
        found: typeName(dtype),
      });
    if (canonical === "date") {
      if (family === "date") exprs.push(pl.col(name).cast(pl.Utf8));
      else if (family === "datetime") exprs.push(pl.col(name).dt.strftime("%Y-%m-%d"));
      else if (family === "text" || family === "null") exprs.push(pl.col(name).cast(pl.Utf8));
      else throw wrong("text dates (YYYY-MM-DD), a Date or a Datetime column");
    } else if (canonical === "symbol") {
      if (family === "text" || family === "null" || (family === "number" && /Int/.test(dtype.variant))) {
        exprs.push(pl.col(name).cast(pl.Utf8));
      } else throw wrong("a text column of symbols");
    } else if (typed) {
      if (family === "number" || family === "null") {
        // A Float32 or Decimal price reads as the decimal it prints as, as the text path reads it (not the Float32's
        // widened binary value, nor a division that may round otherwise).
        const viaText = PANEL_NAMES.has(canonical) && (dtype.variant === "Float32" || dtype.variant === "Decimal");
        exprs.push((viaText ? pl.col(name).cast(pl.Utf8) : pl.col(name)).cast(pl.Float64));
      } else throw new NeedsTextPath(); // text to parse, or a type to drop: the text path handles both
    } else if (family === "number" || family === "text" || family === "null") {
      exprs.push(pl.col(name).cast(pl.Utf8));
    } else if (PANEL_NAMES.has(canonical)) {
      throw wrong("a numeric column (Float64, Int64, ...) or text holding numbers");
    } else {
      warnings.push(`dropped column ${canonical} of ${src.path}: ${typeName(dtype)}, not numbers`);
    }
  });
  return df.select(...exprs);
}

/**
 * Reads one file into a FileTable (all Utf8), or a warning when a folder file is not a price file. Only the price
 * columns and the chosen extra columns are parsed; too many chosen extra columns are refused before parsing.
 */
async function readTable(
  src: SourceFile,
  index: number,
  choice: ColumnChoice,
  typed: boolean,
): Promise<FileTable | { skipped: string }> {
  const warnings: string[] = [];
  const bytes = await readPriceFileBytes(src);
  let header: string[];
  if (src.format === "parquet") {
    header = parquetColumns(src, bytes);
  } else {
    assertTextContent(src, bytes);
    if (bytes.toString("utf8", 0, Math.min(bytes.length, 4096)).trim() === "") {
      throw new DataError("empty file", {
        file: src.path,
        line: 1,
        expected: "a header line naming date, open, high, low, close, volume",
        found: "nothing",
      });
    }
    header = csvHeader(src, bytes);
  }
  const headerLine = src.format === "parquet" ? undefined : 1;

  // Header: canonical names, no duplicates, required columns present.
  const written = new Map<string, string>();
  for (const name of header) {
    const canonical = canonicalColumnName(name);
    const clash = written.get(canonical);
    if (clash !== undefined || canonical === "") {
      throw new DataError(clash !== undefined ? "column appears twice" : "unusable column name", {
        file: src.path,
        line: headerLine,
        column: name,
        expected: clash !== undefined ? `one column meaning "${canonical}"` : "a non-empty column name",
        found: clash !== undefined ? `both ${JSON.stringify(clash)} and ${JSON.stringify(name)}` : name,
      });
    }
    written.set(canonical, name);
  }
  const missing = REQUIRED_COLUMNS.filter((c) => !written.has(c));
  if (missing.length > 0) {
    if (!src.explicit && OHLC.every((c) => !written.has(c))) {
      return { skipped: `skipped ${src.path}: not a price file (no open/high/low/close columns)` };
    }
    throw new DataError("missing required column", {
      file: src.path,
      line: headerLine,
      column: missing[0],
      expected: `${src.format === "parquet" ? "columns" : "a header with"} ${
        REQUIRED_COLUMNS.join(", ")
      } (adj_close, symbol optional)`,
      found: header.join(","),
    });
  }

  // Extra columns: the chosen ones only, at most `limit` of them.
  const extrasInHeader = [...written.keys()].filter((c) => !PANEL_NAMES.has(c));
  const chosen = extrasInHeader.filter(choice.wants);
  if (chosen.length > choice.limit) throw tooManyColumns(src.path, headerLine, chosen.length, choice);
  const keep = [...written.keys()].filter((c) => PANEL_NAMES.has(c) || chosen.includes(c));
  const project = keep.length < header.length ? keep.map((c) => written.get(c)!) : undefined;

  // Wide files are read a batch of extra columns at a time (polars' reader needs memory per column and per chunk of
  // rows, far beyond the values themselves when there are thousands of columns), the price columns first.
  const numeric = [...NUMERIC_COLUMNS.filter((c) => written.has(c)), ...chosen];
  const typedNames = new Set(typed ? numeric.map((c) => written.get(c)!) : []);
  const read = (cols: string[] | undefined, rowIndex: boolean): pl.DataFrame => {
    if (src.format === "parquet") {
      let part: pl.DataFrame;
      try {
        part = pl.readParquet(bytes, cols === undefined ? {} : { columns: cols });
      } catch (e) {
        throw unreadableParquet(src, bytes, e);
      }
      part = parquetAsText(src, part, warnings, typed);
      return rowIndex ? part.withRowIndex("__row") : part;
    }
    const dtypes = Object.fromEntries((cols ?? header).filter((w) => typedNames.has(w)).map((w) => [w, pl.Float64]));
    try {
      return pl.readCSV(bytes, {
        inferSchemaLength: 0,
        hasHeader: true,
        quoteChar: '"',
        raiseIfEmpty: false,
        rechunk: true,
        truncateRaggedLines: false,
        ...(rowIndex ? { rowIndexName: "__row" } : {}),
        ...(cols === undefined ? {} : { columns: cols }),
        ...(Object.keys(dtypes).length > 0 ? { dtypes } : {}),
      });
    } catch (e) {
      if (typed) throw new NeedsTextPath(); // the text path says which value, where
      throw explainUnparsableCsv(src, bytes, e);
    }
  };
  let df: pl.DataFrame;
  if (chosen.length <= READ_BATCH) {
    df = read(project, true);
  } else {
    df = read(keep.filter((c) => PANEL_NAMES.has(c)).map((c) => written.get(c)!), true);
    for (let b = 0; b < chosen.length; b += READ_BATCH) {
      const part = read(chosen.slice(b, b + READ_BATCH).map((c) => written.get(c)!), false);
      if (part.height !== df.height) {
        throw new DataError("not a readable CSV file (columns of different lengths)", {
          file: src.path,
          expected: "comma-separated text with one record per line",
          found: `${df.height} rows for the price columns, ${part.height} for extra columns`,
        });
      }
      df = pl.concat([df, part], { how: "horizontal" });
    }
  }
  // Polars checks field counts only for the columns it reads: a row with too many fields would pass unseen.
  if (src.format !== "parquet" && (project !== undefined || chosen.length > READ_BATCH)) {
    const ragged = firstRaggedRecord(bytes, { onlyMore: true });
    if (ragged !== undefined) throw raggedError(src, ragged);
  }
  // Canonical names, set all at once (polars' `rename` and a select of aliases cost time quadratic in the width).
  const canonicalOf = new Map([...written].map(([c, w]) => [w, c]));
  df = df.clone();
  df.columns = df.columns.map((w) => (w === "__row" ? w : canonicalOf.get(w)!));
  const symbol = written.has("symbol") ? [] : [pl.lit(src.fileSymbol).alias("symbol")];
  df = df.withColumns(...symbol, pl.lit(index).cast(pl.UInt32).alias("__file"));
  // adj_close absent or entirely empty: fall back to close (and say so).
  const adjFallback = !written.has("adj_close") || df.getColumn("adj_close").nullCount() === df.height;
  if (adjFallback) df = df.withColumns(pl.col("close").alias("adj_close"));
  return { source: src, written, frame: df, adjFallback, extrasInHeader, warnings };
}

/**
 * Abandons a load that read extra columns as numbers directly (the fast path, see {@link loadPanel}): some extra value
 * did not parse or is infinite, or a Parquet extra column is text. The load is redone with every column as text,
 * which finds and locates the problem exactly, or drops text columns with a warning.
 */
class NeedsTextPath extends Error {}

/** The DataError for more extra columns than the limit: the count, the limit, and how to choose columns. */
function tooManyColumns(file: string, line: number | undefined, found: number, choice: ColumnChoice): DataError {
  return new DataError("too many extra columns", {
    file,
    line,
    expected: `at most ${choice.limit.toLocaleString("en-US")} extra columns beside date, symbol, open, high, low, ` +
      `close, adj_close, volume; choose the ones to use with --columns a,b,c (or none with --columns none; in code, ` +
      `loadPanel's columns option)`,
    found: `${found.toLocaleString("en-US")} extra columns` +
      (choice.given === "all" ? "" : ` chosen by ${JSON.stringify(choice.given).slice(0, 80)}`),
  });
}

/**
 * Runs `fn` over `items` with at most `limit` in flight, preserving order. When several calls fail, the failure of
 * the first item (not the first to happen) is thrown, so errors do not depend on timing.
 */
async function mapLimited<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  const failures = new Map<number, unknown>();
  let next = 0;
  async function worker() {
    while (next < items.length) {
      const i = next++;
      try {
        out[i] = await fn(items[i]);
      } catch (e) {
        failures.set(i, e);
      }
    }
  }
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  if (failures.size > 0) throw failures.get(Math.min(...failures.keys()));
  return out;
}

/** A text column trimmed, with cells that were only spaces made empty (null). */
function trimmedText(c: string): pl.Expr {
  const trimmed = pl.col(c).str.strip();
  return pl.when(trimmed.eq(pl.lit(""))).then(pl.lit(null)).otherwise(trimmed).alias(c);
}

/** One validation rule: rows where `bad` is true break it. */
interface Rule {
  column: string;
  bad: pl.Expr;
  problem: string;
  expected: (row: Record<string, unknown>) => string;
  found: (row: Record<string, unknown>) => string;
}

const num = (c: string) => `__n_${c}`;
const show = (v: unknown) => (v === null || v === undefined ? "" : String(v));

/**
 * The rules on the price columns: `parse` (symbol, date, and for each price column missing / unparsable / non-finite)
 * and `range` (prices > 0, volume ≥ 0, high ≥ low, close and open inside [low, high]), in rank order.
 */
function priceRules(): { parse: Rule[]; range: Rule[] } {
  const parse: Rule[] = [
    {
      column: "symbol",
      bad: pl.col("symbol").isNull(),
      problem: "missing symbol",
      expected: () => "a symbol",
      found: () => "",
    },
    {
      column: "date",
      bad: pl.col("date").isNull(),
      problem: "missing date",
      expected: () => "an ISO date YYYY-MM-DD",
      found: () => "",
    },
    {
      column: "date",
      bad: pl.col("date").str.contains(ISO_DATE).not().or(pl.col("__date").isNull()),
      problem: "unparsable date",
      expected: () => "an ISO calendar date YYYY-MM-DD",
      found: (r) => show(r.date),
    },
  ];
  for (const c of NUMERIC_COLUMNS) {
    parse.push(
      {
        column: c,
        bad: pl.col(c).isNull(),
        problem: c === "adj_close"
          ? "missing adj_close (fill it, or leave the whole column empty to fall back to close)"
          : `missing ${c}`,
        expected: () => "a number",
        found: () => "",
      },
      {
        column: c,
        bad: pl.col(c).isNotNull().and(pl.col(num(c)).isNull()),
        problem: `unparsable ${c}`,
        expected: () => "a number",
        found: (r) => show(r[c]),
      },
      {
        column: c,
        bad: pl.col(num(c)).isNan().or(pl.col(num(c)).isInfinite()),
        problem: `non-finite ${c}`,
        expected: () => "a finite number",
        found: (r) => show(r[c]),
      },
    );
  }
  const range: Rule[] = PRICE_COLUMNS.map((c) => ({
    column: c,
    bad: pl.col(num(c)).ltEq(0),
    problem: `non-positive price in ${c}`,
    expected: () => "a price > 0",
    found: (r: Record<string, unknown>) => show(r[c]),
  }));
  range.push(
    {
      column: "volume",
      bad: pl.col(num("volume")).lt(0),
      problem: "negative volume",
      expected: () => "a volume ≥ 0",
      found: (r) => show(r.volume),
    },
    {
      column: "high",
      bad: pl.col(num("high")).lt(pl.col(num("low"))),
      problem: "high below low",
      expected: (r) => `high ≥ low (${show(r.low)})`,
      found: (r) => show(r.high),
    },
    {
      column: "close",
      bad: pl.col(num("close")).lt(pl.col(num("low"))).or(pl.col(num("close")).gt(pl.col(num("high")))),
      problem: "close outside the day's range",
      expected: (r) => `close within [low, high] = [${show(r.low)}, ${show(r.high)}]`,
      found: (r) => show(r.close),
    },
    {
      column: "open",
      bad: pl.col(num("open")).lt(pl.col(num("low"))).or(pl.col(num("open")).gt(pl.col(num("high")))),
      problem: "open outside the day's range",
      expected: (r) => `open within [low, high] = [${show(r.low)}, ${show(r.high)}]`,
      found: (r) => show(r.open),
    },
  );
  return { parse, range };
}

/** The rules on an extra column: every non-empty value parses (unparsable), and none is infinite (NaN is missing). */
function extraRules(c: string): Rule[] {
  return [
    {
      column: c,
      bad: pl.col(c).isNotNull().and(pl.col(num(c)).isNull()),
      problem: `unparsable ${c}`,
      expected: () => "a number",
      found: (r) => show(r[c]),
    },
    {
      column: c,
      bad: pl.col(num(c)).isInfinite(),
      problem: `non-finite ${c}`,
      expected: () => "a finite number or an empty cell",
      found: (r) => show(r[c]),
    },
  ];
}

/** The first row of `frame` (which has `__file` and `__row`) breaking `rule`, as a finding of rank `rank`. */
function locateRule(frame: pl.DataFrame, rule: Rule, rank: number): Finding {
  const row = frame.filter(rule.bad.fillNull(false)).head(1).toRecords()[0] as Record<string, unknown>;
  return {
    file: Number(row.__file),
    row: Number(row.__row),
    rank,
    column: rule.column,
    problem: rule.problem,
    expected: rule.expected(row),
    found: rule.found(row),
  };
}

/** A located problem, before it is turned into a DataError. */
interface Finding {
  file: number;
  row: number;
  rank: number;
  column: string;
  problem: string;
  expected: string;
  found: string;
}

function earlier(a: Finding | undefined, b: Finding): Finding {
  if (a === undefined) return b;
  if (b.file !== a.file) return b.file < a.file ? b : a;
  if (b.row !== a.row) return b.row < a.row ? b : a;
  return b.rank < a.rank ? b : a;
}

/** Where a data record is, as (line, message prefix): exact line for CSV, row number for Parquet. */
async function locate(table: FileTable, record: number): Promise<{ line?: number; prefix: string }> {
  if (table.source.format === "parquet") return { prefix: `row ${record + 1}: ` };
  const text = (await readPriceFileBytes(table.source)).toString("utf8");
  return { line: lineOfRecord(text, record) ?? record + 2, prefix: "" };
}

async function toError(tables: readonly (FileTable | undefined)[], f: Finding): Promise<DataError> {
  const table = tables[f.file]!;
  const where = await locate(table, f.row);
  return new DataError(where.prefix + f.problem, {
    file: table.source.path,
    line: where.line,
    column: table.written.get(f.column) ?? f.column,
    expected: f.expected,
    found: f.found,
  });
}

/**
 * Loads price files into a validated Panel.
 *
 * `source` is a `.csv`, `.csv.gz` or `.parquet` file, a folder of them, or a list of files and folders. The result is
 * sorted by symbol then date, prices and volume as Float64, dates as ISO strings, `adj_close` present for every row.
 *
 * Throws `DataError` naming file, line (1-based, header = line 1), column (as written in the file), what was expected
 * and what was found, at the first bad row; see the module documentation for every rule and every tolerance.
 *
 * @example
 * ```ts
 * const panel = await loadPanel("data/prices");            // AAPL.csv.gz, MSFT.csv, ...
 * const one = await loadPanel("AAPL.csv", { symbols: ["AAPL"] });
 * console.log(panel.symbols.length, panel.dates.length, panel.warnings);
 * ```
 */
export async function loadPanel(source: string | readonly string[], opts: LoadPanelOptions = {}): Promise<Panel> {
  try {
    return await loadOnce(source, opts, true);
  } catch (e) {
    if (e instanceof NeedsTextPath) return await loadOnce(source, opts, false);
    throw e;
  }
}

/** Symbols of the files listed in a "requested symbols not found" error, before "… (N in all)". */
const SYMBOLS_SHOWN = 10;

/**
 * The error for symbols asked for (`symbols`, `--only`) and found in no file name and no row: names each, suggests
 * the symbol of the files it matches but for case (symbols are matched exactly), and lists the first symbols
 * available so the spelling the files use can be seen.
 */
function symbolsNotFound(file: string, absent: readonly string[], available: readonly string[]): DataError {
  const symbols = [...new Set(available)].sort();
  const byLowerCase = new Map<string, string>();
  for (const s of symbols) if (!byLowerCase.has(s.toLowerCase())) byLowerCase.set(s.toLowerCase(), s);
  const named = absent.map((s) => {
    const near = byLowerCase.get(s.toLowerCase());
    return near === undefined ? s : `${s} (did you mean ${near}? symbols match exactly, case included)`;
  });
  const shown = symbols.slice(0, SYMBOLS_SHOWN).join(", ");
  const list = symbols.length === 0
    ? "the files hold no symbols"
    : `symbols available: ${shown}${symbols.length > SYMBOLS_SHOWN ? `, … (${symbols.length} in all)` : ""}`;
  return new DataError(`requested symbols not found: ${named.join(", ")}; ${list}`, {
    file,
    expected: "files or rows for every requested symbol",
    found: `nothing for ${absent.join(", ")}`,
  });
}

/**
 * One load. With `typed`, prices, volume and extra columns are parsed as Float64 by the CSV reader itself (less
 * memory than text and no parse pass of ours: the S&P 500 folder's load peaked at 0.41 GB against 0.72 GB in a
 * measurement of the reader alone); anything a rule would report in them, or a value the reader refuses, throws
 * {@link NeedsTextPath} so the caller redoes the load as text, where every rule of the module doc is checked and
 * located and the message shows the value as written. The reader accepts the numbers the text path's cast accepts
 * (checked on 35 spellings; a leading space it reads where the text path trims, to the same number).
 */
async function loadOnce(
  source: string | readonly string[],
  opts: LoadPanelOptions,
  typed: boolean,
): Promise<Panel> {
  const warnings: string[] = [];
  const choice = resolveColumnChoice(opts);
  let sources = await listPriceFiles(source);
  const sourceLabel = typeof source === "string" ? source : source.join(", ");
  const wanted = opts.symbols === undefined ? undefined : new Set(opts.symbols);
  // Symbols of the files left unread because their name is not wanted (each holds only its name's symbol).
  let unreadSymbols: string[] = [];
  if (wanted !== undefined) {
    const keep = await mapLimited(
      sources,
      opts.concurrency ?? 8,
      async (s) => s.explicit || wanted.has(s.fileSymbol) || await mayHoldOtherSymbols(s),
    );
    unreadSymbols = sources.filter((_, i) => !keep[i]).map((s) => s.fileSymbol);
    sources = sources.filter((_, i) => keep[i]);
  }

  let filesRead = 0;
  const results = await mapLimited(
    sources.map((s, i) => [s, i] as const),
    opts.concurrency ?? 8,
    async ([s, i]) => {
      const table = await readTable(s, i, choice, typed);
      opts.onProgress?.(++filesRead, sources.length);
      return table;
    },
  );
  const read: (FileTable | undefined)[] = results.map((r) => ("skipped" in r ? undefined : r));
  for (const r of results) {
    if ("skipped" in r) warnings.push(r.skipped);
    else warnings.push(...r.warnings);
  }

  const tables = read.filter((t): t is FileTable => t !== undefined);
  if (tables.length === 0) {
    // Price files were found, but none was read: named after other symbols than the ones asked for.
    if (wanted !== undefined && unreadSymbols.length > 0) {
      throw symbolsNotFound(sourceLabel, [...wanted], unreadSymbols);
    }
    throw new DataError("no price files found", {
      file: sourceLabel,
      expected: "at least one file with date, open, high, low, close, volume columns",
      found: "none",
    });
  }

  // Extra columns: everything that is not a Panel column, in order of first appearance; at most the limit in all.
  const known = new Set<string>([...PANEL_NAMES, "__row", "__file"]);
  const seen = new Set<string>();
  const extras: string[] = [];
  for (const t of tables) {
    for (const c of t.frame.columns) {
      if (!known.has(c) && !seen.has(c)) {
        seen.add(c);
        extras.push(c);
      }
    }
  }
  if (Array.isArray(choice.given)) {
    const present = new Set(tables.flatMap((t) => t.extrasInHeader));
    const absent = choice.given.filter((c) => !present.has(canonicalColumnName(c)));
    if (absent.length > 0) {
      const list = [...present];
      throw new ConfigError(
        `columns not found in the price files: ${clipEcho(absent.join(", "))}; extra columns present: ${
          list.length === 0 ? "none" : clipEcho(list.join(", "))
        } (${list.length})`,
      );
    }
  }
  if (extras.length > choice.limit) throw tooManyColumns(sourceLabel, undefined, extras.length, choice);

  let all = tables.length === 1
    ? tables[0].frame
    : pl.concat(tables.map((t) => t.frame), { how: "diagonal", rechunk: true });
  if (!all.columns.includes("adj_close")) {
    all = all.withColumns(pl.lit(null).cast(typed ? pl.Float64 : pl.Utf8).alias("adj_close"));
  }

  // Symbols written in files may carry spaces; file-name symbols cannot.
  if (tables.some((t) => t.written.has("symbol"))) all = all.withColumns(trimmedText("symbol"));

  // Parse the price columns and dates once, vectorized (a typed load's numbers are Float64 already, which the cast
  // keeps). A text column whose cells do not all parse is trimmed (spaces around values are tolerated) and parsed
  // again; clean files never pay for trimming. Extra columns are parsed further down, a batch at a time.
  const parseNumbers = (cols: readonly string[]) =>
    all.withColumns(...cols.map((c) => pl.col(c).cast(pl.Float64, false).alias(num(c))));
  all = parseNumbers(NUMERIC_COLUMNS);
  if (!typed) {
    const failed = all.select(
      ...NUMERIC_COLUMNS.map((c) => pl.col(c).isNotNull().and(pl.col(num(c)).isNull()).sum().alias(c)),
    ).toRecords()[0] as Record<string, number>;
    const retry = NUMERIC_COLUMNS.filter((c) => failed[c] > 0);
    if (retry.length > 0) {
      all = all.withColumns(...retry.map(trimmedText));
      all = parseNumbers(retry);
    }
  }
  const dateIsBad = pl.col("date").str.contains(ISO_DATE).not().or(pl.col("__date").isNull());
  // `__iso` is the date as written, cut to its calendar day when a time follows (the bar's own day, not UTC's).
  const parseDates = () => {
    const longest = all.select(pl.col("date").str.lengths().max().alias("n")).getColumn("n").get(0) as number | null;
    const iso = (longest ?? 0) > 10 ? pl.col("date").str.slice(0, 10) : pl.col("date");
    return all.withColumns(iso.alias("__iso")).withColumns(
      pl.col("__iso").str.strptime(pl.Date, "%Y-%m-%d").alias("__date"),
    );
  };
  all = parseDates();
  if ((all.select(dateIsBad.fillNull(false).sum().alias("n")).getColumn("n").get(0) as number) > 0) {
    all = all.withColumns(trimmedText("date"));
    all = parseDates();
  }

  // Empty lines (every field empty) are skipped; the record index keeps line numbers exact.
  if (all.getColumn("date").nullCount() > 0) {
    const fields = all.columns.filter((c) =>
      !c.startsWith("__") && (c !== "symbol" || tables.some((t) => t.written.has("symbol")))
    );
    all = all.filter(pl.anyHorizontal(pl.col(fields).isNotNull()));
  }
  const filesWithRows = new Set(all.getColumn("__file").unique().toArray() as number[]);
  const empty = read.findIndex((t, i) => t !== undefined && !filesWithRows.has(i));
  if (empty >= 0) {
    const src = sources[empty];
    throw new DataError("no data rows", {
      file: src.path,
      line: src.format === "parquet" ? undefined : 2,
      expected: "at least one data row after the header",
      found: "end of file",
    });
  }
  if (wanted !== undefined) {
    const inRows = all.getColumn("symbol").unique().toArray() as string[];
    const present = new Set(inRows);
    const absent = [...wanted].filter((s) => !present.has(s));
    if (absent.length > 0) throw symbolsNotFound(sourceLabel, absent, [...inRows, ...unreadSymbols]);
    all = all.filter(pl.col("symbol").isIn([...wanted]));
  }

  // Order rules need rows in (symbol, file, record) order. Files hold one symbol each and come sorted by name in the
  // usual case: sort only when needed. Extra columns are parsed after the sort, so they come out in the final order.
  const unsorted = all.select(
    pl.col("symbol").lt(pl.col("symbol").shift(1)).or(
      pl.col("symbol").eq(pl.col("symbol").shift(1)).and(
        pl.col("__file").lt(pl.col("__file").shift(1)).or(
          pl.col("__file").eq(pl.col("__file").shift(1)).and(pl.col("__row").lt(pl.col("__row").shift(1))),
        ),
      ),
    ).fillNull(false).sum().alias("n"),
  ).getColumn("n").get(0) as number;
  if (unsorted > 0) all = all.sort(["symbol", "__file", "__row"]);

  // Value rules on the price columns: each counted in one pass; only failing ones are located. Ranks keep the order
  // of the module doc: symbol and date, then each column's missing/unparsable/non-finite checks (price columns, then
  // extra columns), then the range rules, then the order rules.
  const { parse: parseRules, range: rangeRules } = priceRules();
  const extraRank = (j: number, k: number) => parseRules.length + 2 * j + k;
  const rangeRank = (i: number) => parseRules.length + 2 * extras.length + i;
  const orderRank = rangeRank(rangeRules.length);
  const ranked = [
    ...parseRules.map((r, i) => ({ rule: r, rank: i })),
    ...rangeRules.map((r, i) => ({ rule: r, rank: rangeRank(i) })),
  ];
  const counts = all.select(...ranked.map((r, i) => r.rule.bad.fillNull(false).sum().alias(`r${i}`)))
    .toRecords()[0] as Record<string, number>;
  // A typed load reports nothing itself: the text path shows each value as written.
  if (typed && ranked.some((_, i) => counts[`r${i}`] > 0)) throw new NeedsTextPath();
  let first: Finding | undefined;
  ranked.forEach(({ rule, rank }, i) => {
    if (!(counts[`r${i}`] > 0)) return;
    first = earlier(first, locateRule(all, rule, rank));
  });

  // Extra columns, a batch at a time (module doc): text columns dropped with a warning, the rest parsed to Float64.
  const extraFrames: pl.DataFrame[] = [];
  const numericExtras: string[] = [];
  for (let b = 0; b < extras.length; b += EXTRA_BATCH) {
    const names = extras.slice(b, b + EXTRA_BATCH);
    const parsed = typed ? typedExtraBatch(all, names) : parseExtraBatch(all, names, b, extraRank, warnings);
    if (parsed.first !== undefined) first = earlier(first, parsed.first);
    if (parsed.names.length > 0) extraFrames.push(parsed.frame);
    numericExtras.push(...parsed.names);
  }

  // Order rules: per symbol, in load order (file, record), dates strictly increasing.
  const order = all.select(
    pl.col("symbol"),
    pl.col("date"),
    pl.col("__file"),
    pl.col("__row"),
    pl.col("symbol").shift(1).alias("__psym"),
    pl.col("__iso").shift(1).alias("__pdate"),
    pl.col("__iso"),
    pl.col("__file").shift(1).alias("__pfile"),
    pl.col("__row").shift(1).alias("__prow"),
  ).filter(pl.col("symbol").eq(pl.col("__psym")).and(pl.col("__iso").ltEq(pl.col("__pdate"))));
  if (order.height > 0) {
    const row = order.sort(["__file", "__row"]).head(1).toRecords()[0] as Record<string, unknown>;
    const prevTable = read[Number(row.__pfile)]!;
    const prev = await locate(prevTable, Number(row.__prow));
    const prevWhere = (Number(row.__pfile) === Number(row.__file) ? "" : `${prevTable.source.path} `) +
      (prev.line !== undefined ? `line ${prev.line}` : prev.prefix.replace(/: $/, ""));
    const duplicate = row.__iso === row.__pdate;
    first = earlier(first, {
      file: Number(row.__file),
      row: Number(row.__row),
      rank: orderRank,
      column: "date",
      problem: duplicate ? `duplicate date for ${row.symbol}` : `dates out of order for ${row.symbol}`,
      expected: duplicate
        ? `each date once per symbol (${show(row.__pdate)} is already on ${prevWhere})`
        : `a date after ${show(row.__pdate)} (${prevWhere})`,
      found: show(row.date),
    });
  }
  if (first !== undefined) throw await toError(read, first);

  const fallbackFiles = read.flatMap((t, i) => (t?.adjFallback ? [i] : []));
  const fallbackSymbols = fallbackFiles.length === 0 ? [] : (all.filter(pl.col("__file").isIn(fallbackFiles))
    .getColumn("symbol").unique().toArray() as (string | null)[]).filter((s): s is string => !!s).sort();
  if (fallbackSymbols.length > 0) {
    warnings.push(
      `adj_close missing or empty for ${fallbackSymbols.length} symbol(s): ${fallbackSymbols.join(", ")}; ` +
        `returns use close, which misses dividends`,
    );
  }
  const prices = all.select(
    pl.col("__iso").alias("date"),
    pl.col("symbol"),
    ...NUMERIC_COLUMNS.map((c) => pl.col(num(c)).alias(c)),
  );
  const frame = extraFrames.length === 0 ? prices : pl.concat([prices, ...extraFrames], { how: "horizontal" });
  return panelFromFrame(frame, { warnings, extraColumns: numericExtras });
}

/** Extra columns read from a file per pass of polars' reader (see `readTable`). */
const READ_BATCH = 500;

/** Extra columns parsed per batch: wide enough to amortize a polars call, narrow enough that no call is slow. */
const EXTRA_BATCH = 200;

/**
 * Extra columns `names` already read as Float64 (the typed path): empty cells become NaN; an infinity abandons the
 * typed path ({@link NeedsTextPath}) so that the text path reports it as written.
 */
function typedExtraBatch(
  all: pl.DataFrame,
  names: readonly string[],
): { frame: pl.DataFrame; names: string[]; first?: Finding } {
  // One expression over the whole batch (pl.all()): an expression object per column costs memory and time in
  // nodejs-polars, which thousands of columns would feel.
  const batch = all.select(...names).select(pl.all().cast(pl.Float64));
  const infinite = batch.select(pl.all().isInfinite().fillNull(false).sum()).row(0) as number[];
  if (infinite.some((n) => Number(n) > 0)) throw new NeedsTextPath();
  return { frame: batch.select(pl.all().fillNull(pl.lit(NaN))), names: [...names] };
}

/**
 * Parses the text extra columns `names` (a slice of the load's extra columns starting at index `offset`) of the frame:
 * a column where no value parses is dropped with a warning (a text column such as a company name); otherwise every
 * value must parse (after trimming spaces) and be finite or empty, and the first row that breaks that is returned as
 * a finding. Returns the Float64 Series (empty cells as NaN) of the numeric columns, in order.
 *
 * Working on a narrow frame of one batch keeps every polars call small: one select over thousands of columns costs
 * time quadratic in their number.
 */
function parseExtraBatch(
  all: pl.DataFrame,
  names: readonly string[],
  offset: number,
  rank: (j: number, k: number) => number,
  warnings: string[],
): { frame: pl.DataFrame; names: string[]; first?: Finding } {
  let batch = all.select("__file", "__row", ...names);
  const cast = (cols: readonly string[]) =>
    batch.withColumns(...cols.map((c) => pl.col(c).cast(pl.Float64, false).alias(num(c))));
  batch = cast(names);
  const stat = (suffix: string, e: (c: string) => pl.Expr) => names.map((c) => e(c).sum().alias(`${c}${suffix}`));
  let stats = batch.select(
    ...stat(":n", (c) => pl.col(c).isNotNull()),
    ...stat(":p", (c) => pl.col(num(c)).isNotNull()),
  ).toRecords()[0] as Record<string, number>;
  const retry = names.filter((c) => stats[`${c}:n`] > stats[`${c}:p`]);
  if (retry.length > 0) {
    batch = batch.withColumns(...retry.map(trimmedText));
    batch = cast(retry);
    stats = batch.select(
      ...stat(":n", (c) => pl.col(c).isNotNull()),
      ...stat(":p", (c) => pl.col(num(c)).isNotNull()),
    ).toRecords()[0] as Record<string, number>;
  }
  const numeric: string[] = [];
  for (const c of names) {
    if (stats[`${c}:n`] > 0 && stats[`${c}:p`] === 0) warnings.push(`dropped column ${c}: text, not numbers`);
    else numeric.push(c);
  }
  let first: Finding | undefined;
  const rules = numeric.flatMap((c) => {
    const j = offset + names.indexOf(c);
    return extraRules(c).map((rule, k) => ({ rule, rank: rank(j, k) }));
  });
  if (rules.length > 0) {
    const counts = batch.select(...rules.map((r, i) => r.rule.bad.fillNull(false).sum().alias(`r${i}`)))
      .toRecords()[0] as Record<string, number>;
    rules.forEach(({ rule, rank }, i) => {
      if (counts[`r${i}`] > 0) first = earlier(first, locateRule(batch, rule, rank));
    });
  }
  const frame = batch.select(...numeric.map((c) => pl.col(num(c)).fillNull(pl.lit(NaN)).alias(c)));
  return { frame, names: numeric, first };
}
