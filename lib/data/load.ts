/**
 * Loading price files (CSV, CSV.gz, Parquet; one file, a list, or a folder) into a validated Panel.
 *
 * Design:
 *
 * - **Parse with polars, validate vectorized, locate by walking.** Every file is read by polars with every column as
 *   text (so nothing is silently coerced), the files are concatenated with their file index and record index, and
 *   every rule is checked as one polars expression over all rows. Only when a rule fails do we walk that one file's
 *   text to turn the record index into an exact line number (quoted newlines included). Clean loads of hundreds of
 *   files therefore cost a few polars passes; errors stay precise.
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
 *   columns may be Utf8 or Date (Datetime is truncated to the day).
 *
 * @module
 */

import pl from "nodejs-polars";
import { open, readdir, readFile, stat } from "node:fs/promises";
import { basename, join } from "node:path";
import { promisify } from "node:util";
import { constants as zlibConstants, gunzip, gunzipSync } from "node:zlib";
import { DataError } from "../errors.ts";
import { canonicalColumnName } from "./column_names.ts";
import { csvRecords, lineOfRecord } from "./csv_lines.ts";
import { type Panel, panelFromFrame, PRICE_COLUMNS } from "./panel.ts";

const gunzipAsync = promisify(gunzip);

/** Options of `loadPanel`. */
export interface LoadPanelOptions {
  /**
   * Keep only these symbols. In a folder, files named after other symbols are not read unless their header has a
   * symbol/ticker column; rows of other symbols are dropped. A requested symbol that is found nowhere is an error.
   */
  symbols?: readonly string[];
  /** Files read and decompressed at once (default 8). */
  concurrency?: number;
  /** Called after each file is read with (files read, files to read), for progress bars. */
  onProgress?: (done: number, total: number) => void;
}

/** Columns every price file must have (after header normalization). */
export const REQUIRED_COLUMNS = ["date", "open", "high", "low", "close", "volume"] as const;

const NUMERIC_COLUMNS = ["open", "high", "low", "close", "adj_close", "volume"] as const;
const OHLC = ["open", "high", "low", "close"] as const;
/** An ISO date, optionally followed by a time and zone (`2021-01-04 00:00:00-05:00`, as yfinance writes). */
const ISO_DATE = "^\\d{4}-\\d{2}-\\d{2}(?:[T ]\\d{2}:\\d{2}(?::\\d{2}(?:\\.\\d+)?)?(?:Z|[+-]\\d{2}:?\\d{2})?)?$";

type Format = "csv" | "csv.gz" | "parquet";

interface SourceFile {
  path: string;
  format: Format;
  /** Symbol implied by the file name. */
  fileSymbol: string;
  /** Listed explicitly (never skipped) rather than found in a folder. */
  explicit: boolean;
}

interface FileTable {
  source: SourceFile;
  /** canonical name → name as written in the file */
  written: Map<string, string>;
  /**
   * All data columns Utf8 with canonical names, plus `symbol`, `__row` (0-based data record index) and `__file`
   * (index in the load order).
   */
  frame: pl.DataFrame;
  /** The file had no usable adj_close; it was filled from close. */
  adjFallback: boolean;
}

/** The file format implied by a path's extension, or undefined. */
function formatOf(path: string): Format | undefined {
  const lower = path.toLowerCase();
  if (lower.endsWith(".csv.gz")) return "csv.gz";
  if (lower.endsWith(".csv")) return "csv";
  if (lower.endsWith(".parquet") || lower.endsWith(".pq")) return "parquet";
  return undefined;
}

/** `AAPL.csv.gz` → `AAPL`. */
function symbolFromFileName(path: string): string {
  return basename(path).replace(/\.(csv\.gz|csv|parquet|pq)$/i, "");
}

async function listSources(source: string | readonly string[]): Promise<SourceFile[]> {
  const inputs = typeof source === "string" ? [source] : [...source];
  if (inputs.length === 0) {
    throw new DataError("no input given", { expected: "a file, a list of files or a folder", found: "[]" });
  }
  const out: SourceFile[] = [];
  for (const input of inputs) {
    let info;
    try {
      info = await stat(input);
    } catch {
      throw new DataError("file or folder not found", {
        file: input,
        expected: "an existing .csv, .csv.gz or .parquet file, or a folder of them",
        found: "nothing at this path",
      });
    }
    if (info.isDirectory()) {
      const names = (await readdir(input)).filter((n) => formatOf(n) !== undefined).sort();
      if (names.length === 0) {
        throw new DataError("folder holds no price files", {
          file: input,
          expected: "files ending in .csv, .csv.gz or .parquet",
          found: "none",
        });
      }
      for (const name of names) {
        const path = join(input, name);
        out.push({ path, format: formatOf(name)!, fileSymbol: symbolFromFileName(name), explicit: false });
      }
    } else {
      const format = formatOf(input);
      if (format === undefined) {
        throw new DataError("unsupported file type", {
          file: input,
          expected: "a name ending in .csv, .csv.gz or .parquet",
          found: basename(input),
        });
      }
      out.push({ path: input, format, fileSymbol: symbolFromFileName(input), explicit: true });
    }
  }
  return out;
}

/** Raw bytes of a file, decompressed, without a UTF-8 BOM. */
async function readBytes(src: SourceFile): Promise<Buffer> {
  let bytes: Buffer = await readFile(src.path);
  if (src.format === "csv.gz") {
    try {
      bytes = await gunzipAsync(bytes);
    } catch (e) {
      throw new DataError("not a valid gzip file", {
        file: src.path,
        expected: "gzip-compressed CSV",
        found: (e as Error).message,
      });
    }
  }
  if (src.format !== "parquet" && bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) {
    bytes = bytes.subarray(3);
  }
  return bytes;
}

/**
 * True when a file may hold symbols other than its name's: a Parquet file (not peeked), or a CSV whose header has a
 * symbol/ticker column. Reads only the first few kilobytes (a partial gunzip for .csv.gz).
 */
async function mayHoldOtherSymbols(src: SourceFile): Promise<boolean> {
  if (src.format === "parquet") return true;
  const handle = await open(src.path, "r");
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
  } finally {
    await handle.close();
  }
}

/** Explains why polars refused a CSV: the first record whose field count differs from the header's. */
function explainUnparsableCsv(src: SourceFile, text: string, cause: unknown): DataError {
  const records = csvRecords(text);
  const width = records[0]?.fields.length ?? 0;
  for (const rec of records.slice(1)) {
    const blank = rec.fields.length === 1 && rec.fields[0].trim() === "";
    if (!blank && rec.fields.length !== width) {
      return new DataError("wrong number of fields", {
        file: src.path,
        line: rec.line,
        expected: `${width} comma-separated fields like the header`,
        found: `${rec.fields.length} fields`,
      }, { cause });
    }
  }
  return new DataError(`not a readable CSV file (${String((cause as Error)?.message ?? cause).split("\n")[0]})`, {
    file: src.path,
    expected: "comma-separated text with a header line",
  }, { cause });
}

/** Reads one file into a FileTable (all Utf8), or a warning when a folder file is not a price file. */
async function readTable(src: SourceFile, index: number): Promise<FileTable | { skipped: string }> {
  const bytes = await readBytes(src);
  let df: pl.DataFrame;
  if (src.format === "parquet") {
    try {
      df = pl.readParquet(bytes);
    } catch (e) {
      throw new DataError("not a readable Parquet file", { file: src.path, found: (e as Error).message }, { cause: e });
    }
    df = df.select(...df.columns.map((name) => {
      const dtype = df.getColumn(name).dtype;
      if (dtype.equals(pl.Date)) return pl.col(name).cast(pl.Utf8);
      if (String(dtype).startsWith("Datetime")) return pl.col(name).dt.strftime("%Y-%m-%d");
      return pl.col(name).cast(pl.Utf8);
    }));
  } else {
    if (bytes.toString("utf8", 0, Math.min(bytes.length, 4096)).trim() === "") {
      throw new DataError("empty file", {
        file: src.path,
        line: 1,
        expected: "a header line naming date, open, high, low, close, volume",
        found: "nothing",
      });
    }
    try {
      df = pl.readCSV(bytes, {
        inferSchemaLength: 0,
        hasHeader: true,
        quoteChar: '"',
        raiseIfEmpty: false,
        rowIndexName: "__row",
        rechunk: true,
        truncateRaggedLines: false,
      });
    } catch (e) {
      throw explainUnparsableCsv(src, bytes.toString("utf8"), e);
    }
  }

  // Header: canonical names, no duplicates, required columns present.
  const written = new Map<string, string>();
  const rename: Record<string, string> = {};
  for (const name of df.columns) {
    if (name === "__row") continue;
    const canonical = canonicalColumnName(name);
    const clash = written.get(canonical);
    if (clash !== undefined || canonical === "") {
      throw new DataError(clash !== undefined ? "column appears twice" : "unusable column name", {
        file: src.path,
        line: src.format === "parquet" ? undefined : 1,
        column: name,
        expected: clash !== undefined ? `one column meaning "${canonical}"` : "a non-empty column name",
        found: clash !== undefined ? `both ${JSON.stringify(clash)} and ${JSON.stringify(name)}` : name,
      });
    }
    written.set(canonical, name);
    rename[name] = canonical;
  }
  const missing = REQUIRED_COLUMNS.filter((c) => !written.has(c));
  if (missing.length > 0) {
    if (!src.explicit && OHLC.every((c) => !written.has(c))) {
      return { skipped: `skipped ${src.path}: not a price file (no open/high/low/close columns)` };
    }
    throw new DataError("missing required column", {
      file: src.path,
      line: src.format === "parquet" ? undefined : 1,
      column: missing[0],
      expected: `${src.format === "parquet" ? "columns" : "a header with"} ${
        REQUIRED_COLUMNS.join(", ")
      } (adj_close, symbol optional)`,
      found: df.columns.filter((c) => c !== "__row").join(","),
    });
  }
  df = df.rename(rename);
  if (src.format === "parquet") df = df.withRowIndex("__row");
  const symbol = written.has("symbol") ? [] : [pl.lit(src.fileSymbol).alias("symbol")];
  df = df.withColumns(...symbol, pl.lit(index).cast(pl.UInt32).alias("__file"));
  // adj_close absent or entirely empty: fall back to close (and say so).
  const adjFallback = !written.has("adj_close") || df.getColumn("adj_close").nullCount() === df.height;
  if (adjFallback) df = df.withColumns(pl.col("close").alias("adj_close"));
  return { source: src, written, frame: df, adjFallback };
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

function rulesFor(extraColumns: readonly string[]): Rule[] {
  const rules: Rule[] = [
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
  for (const c of [...NUMERIC_COLUMNS, ...extraColumns]) {
    const isExtra = !(NUMERIC_COLUMNS as readonly string[]).includes(c);
    if (!isExtra) {
      rules.push({
        column: c,
        bad: pl.col(c).isNull(),
        problem: c === "adj_close"
          ? "missing adj_close (fill it, or leave the whole column empty to fall back to close)"
          : `missing ${c}`,
        expected: () => "a number",
        found: () => "",
      });
    }
    rules.push({
      column: c,
      bad: pl.col(c).isNotNull().and(pl.col(num(c)).isNull()),
      problem: `unparsable ${c}`,
      expected: () => "a number",
      found: (r) => show(r[c]),
    });
    rules.push({
      column: c,
      bad: isExtra ? pl.col(num(c)).isInfinite() : pl.col(num(c)).isNan().or(pl.col(num(c)).isInfinite()),
      problem: `non-finite ${c}`,
      expected: () => (isExtra ? "a finite number or an empty cell" : "a finite number"),
      found: (r) => show(r[c]),
    });
  }
  for (const c of PRICE_COLUMNS) {
    rules.push({
      column: c,
      bad: pl.col(num(c)).ltEq(0),
      problem: `non-positive price in ${c}`,
      expected: () => "a price > 0",
      found: (r) => show(r[c]),
    });
  }
  rules.push(
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
  return rules;
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
  const text = (await readBytes(table.source)).toString("utf8");
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
  const warnings: string[] = [];
  let sources = await listSources(source);
  const wanted = opts.symbols === undefined ? undefined : new Set(opts.symbols);
  if (wanted !== undefined) {
    const keep = await mapLimited(
      sources,
      opts.concurrency ?? 8,
      async (s) => s.explicit || wanted.has(s.fileSymbol) || await mayHoldOtherSymbols(s),
    );
    sources = sources.filter((_, i) => keep[i]);
  }

  let filesRead = 0;
  const results = await mapLimited(
    sources.map((s, i) => [s, i] as const),
    opts.concurrency ?? 8,
    async ([s, i]) => {
      const table = await readTable(s, i);
      opts.onProgress?.(++filesRead, sources.length);
      return table;
    },
  );
  const read: (FileTable | undefined)[] = results.map((r) => ("skipped" in r ? undefined : r));
  for (const r of results) if ("skipped" in r) warnings.push(r.skipped);

  const tables = read.filter((t): t is FileTable => t !== undefined);
  if (tables.length === 0) {
    throw new DataError("no price files found", {
      file: typeof source === "string" ? source : source.join(", "),
      expected: "at least one file with date, open, high, low, close, volume columns",
      found: "none",
    });
  }

  // Extra columns: everything that is not a Panel column, in order of first appearance.
  const known = new Set<string>(["date", "symbol", ...NUMERIC_COLUMNS, "__row", "__file"]);
  const extras: string[] = [];
  for (const t of tables) for (const c of t.frame.columns) if (!known.has(c) && !extras.includes(c)) extras.push(c);

  let all = tables.length === 1
    ? tables[0].frame
    : pl.concat(tables.map((t) => t.frame), { how: "diagonal", rechunk: true });
  if (!all.columns.includes("adj_close")) all = all.withColumns(pl.lit(null).cast(pl.Utf8).alias("adj_close"));

  // Symbols written in files may carry spaces; file-name symbols cannot.
  if (tables.some((t) => t.written.has("symbol"))) all = all.withColumns(trimmedText("symbol"));

  // Parse numbers and dates once, vectorized. A column whose cells do not all parse is trimmed (spaces around values
  // are tolerated) and parsed again; clean files never pay for trimming.
  const numericColumns = [...NUMERIC_COLUMNS, ...extras];
  const parseNumbers = (cols: readonly string[]) =>
    all.withColumns(...cols.map((c) => pl.col(c).cast(pl.Float64, false).alias(num(c))));
  all = parseNumbers(numericColumns);
  const failed = all.select(
    ...numericColumns.map((c) => pl.col(c).isNotNull().and(pl.col(num(c)).isNull()).sum().alias(c)),
  ).toRecords()[0] as Record<string, number>;
  const retry = numericColumns.filter((c) => failed[c] > 0);
  if (retry.length > 0) {
    all = all.withColumns(...retry.map(trimmedText));
    all = parseNumbers(retry);
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
    all = all.filter(pl.anyHorizontal(fields.map((c) => pl.col(c).isNotNull())));
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
    all = all.filter(pl.col("symbol").isIn([...wanted]));
    const present = new Set(all.getColumn("symbol").unique().toArray() as string[]);
    const absent = [...wanted].filter((s) => !present.has(s));
    if (absent.length > 0) {
      throw new DataError("requested symbols not found", {
        file: typeof source === "string" ? source : source.join(", "),
        expected: "files or rows for every requested symbol",
        found: `nothing for ${absent.join(", ")}`,
      });
    }
  }

  // Text extra columns (nothing parses) are dropped with a warning; the rest are numeric features.
  const numericExtras: string[] = [];
  if (extras.length > 0) {
    const stats = all.select(
      ...extras.flatMap((
        c,
      ) => [pl.col(c).isNotNull().sum().alias(`${c}:n`), pl.col(num(c)).isNotNull().sum().alias(`${c}:p`)]),
    ).toRecords()[0] as Record<string, number>;
    for (const c of extras) {
      if (stats[`${c}:n`] > 0 && stats[`${c}:p`] === 0) warnings.push(`dropped column ${c}: text, not numbers`);
      else numericExtras.push(c);
    }
  }

  // Value rules: each counted in one pass; only failing ones are located.
  const rules = rulesFor(numericExtras);
  const counts = all.select(...rules.map((r, i) => r.bad.fillNull(false).sum().alias(`r${i}`)))
    .toRecords()[0] as Record<
      string,
      number
    >;
  let first: Finding | undefined;
  for (let i = 0; i < rules.length; i++) {
    if (!(counts[`r${i}`] > 0)) continue;
    const row = all.filter(rules[i].bad.fillNull(false)).head(1).toRecords()[0] as Record<string, unknown>;
    first = earlier(first, {
      file: Number(row.__file),
      row: Number(row.__row),
      rank: i,
      column: rules[i].column,
      problem: rules[i].problem,
      expected: rules[i].expected(row),
      found: rules[i].found(row),
    });
  }

  // Order rules: per symbol, in load order (file, record), dates strictly increasing.
  // Files hold one symbol each and come sorted by name in the usual case: sort only when needed.
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
      rank: rules.length,
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
  const frame = all.select(
    pl.col("__iso").alias("date"),
    pl.col("symbol"),
    ...NUMERIC_COLUMNS.map((c) => pl.col(num(c)).alias(c)),
    ...numericExtras.map((c) => pl.col(num(c)).fillNull(pl.lit(NaN)).alias(c)),
  );
  return panelFromFrame(frame, { warnings, extraColumns: numericExtras });
}
