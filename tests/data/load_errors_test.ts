/**
 * Every loader error, one by one: each test writes a small file with exactly one problem and asserts the DataError's
 * file, line (header = line 1), column (as written in the file), expected and found.
 */

import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { DataError } from "../../lib/errors.ts";
import pl from "nodejs-polars";
import { loadPanel } from "../../lib/data/load.ts";

const HEADER = "date,open,high,low,close,adj_close,volume";
const GOOD = [
  "2021-01-04,10,11,9,10.5,10.4,1000",
  "2021-01-05,10.5,11.5,10,11,10.9,1200",
  "2021-01-06,11,11.2,10.1,10.2,10.1,900",
];

/** Writes `files` (name → content) to a fresh temp folder, runs fn, then removes the folder. */
async function withFiles(files: Record<string, string | Uint8Array>, fn: (dir: string) => Promise<void>) {
  const dir = mkdtempSync(join(tmpdir(), "candor-load-err-"));
  try {
    for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), content);
    await fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

interface Expected {
  file: string;
  line?: number;
  column?: string;
  expected?: RegExp;
  found?: string;
  message?: RegExp;
}

async function assertDataError(load: Promise<unknown>, want: Expected) {
  let error: unknown;
  try {
    await load;
  } catch (e) {
    error = e;
  }
  assert.ok(error instanceof DataError, `expected a DataError, got ${error}`);
  assert.equal(error.file, want.file, error.message);
  assert.equal(error.line, want.line, error.message);
  assert.equal(error.column, want.column, error.message);
  if (want.expected) assert.match(error.expected ?? "", want.expected, error.message);
  if (want.found !== undefined) assert.equal(error.found, want.found, error.message);
  if (want.message) assert.match(error.message, want.message);
  // The message alone must locate the problem.
  assert.ok(error.message.includes(want.file), error.message);
  if (want.line !== undefined) assert.ok(error.message.includes(`line ${want.line}`), error.message);
}

/** A CSV with the good rows, row `index` (0-based data row) replaced by `row`. */
function csvWith(index: number, row: string, header = HEADER): string {
  const rows = [...GOOD];
  rows[index] = row;
  return [header, ...rows].join("\n") + "\n";
}

async function expectRowError(row: string, index: number, want: Omit<Expected, "file" | "line">, header = HEADER) {
  await withFiles({ "X.csv": csvWith(index, row, header) }, async (dir) => {
    await assertDataError(loadPanel(join(dir, "X.csv")), { file: join(dir, "X.csv"), line: index + 2, ...want });
  });
}

Deno.test("good rows load (control for every error test below)", async () => {
  await withFiles({ "X.csv": csvWith(0, GOOD[0]) }, async (dir) => {
    const panel = await loadPanel(join(dir, "X.csv"));
    assert.equal(panel.frame.height, 3);
    assert.deepEqual(panel.symbols, ["X"]);
  });
});

Deno.test("missing required column names the column and shows the header found", async () => {
  await withFiles({ "X.csv": "date,open,high,low,adj_close,volume\n2021-01-04,10,11,9,10.4,1000\n" }, async (dir) => {
    await assertDataError(loadPanel(join(dir, "X.csv")), {
      file: join(dir, "X.csv"),
      line: 1,
      column: "close",
      expected: /date, open, high, low, close, volume/,
      found: "date,open,high,low,adj_close,volume",
    });
  });
});

Deno.test("a column given twice under two spellings is refused", async () => {
  await withFiles({ "X.csv": "date,open,high,low,close,Adj Close,adj_close,volume\n" }, async (dir) => {
    await assertDataError(loadPanel(join(dir, "X.csv")), {
      file: join(dir, "X.csv"),
      line: 1,
      column: "adj_close",
      found: 'both "Adj Close" and "adj_close"',
    });
  });
});

Deno.test("unparsable date: wrong format, impossible calendar date, empty", async () => {
  await expectRowError("2021/01/05,10.5,11.5,10,11,10.9,1200", 1, {
    column: "date",
    expected: /YYYY-MM-DD/,
    found: "2021/01/05",
  });
  await expectRowError("2021-02-30,10.5,11.5,10,11,10.9,1200", 1, { column: "date", found: "2021-02-30" });
  await expectRowError("2021-1-5,10.5,11.5,10,11,10.9,1200", 1, { column: "date", found: "2021-1-5" });
  await expectRowError(",10.5,11.5,10,11,10.9,1200", 1, { column: "date", found: "", message: /missing date/ });
});

Deno.test("unparsable number names the column as written (Yahoo header)", async () => {
  const yahoo = "Date,Open,High,Low,Close,Adj Close,Volume";
  await expectRowError("2021-01-05,10.5,11.5,10,11,abc,1200", 1, {
    column: "Adj Close",
    expected: /^a number$/,
    found: "abc",
  }, yahoo);
  await expectRowError("2021-01-05,10.5,11.5,10,1 1,10.9,1200", 1, { column: "Close", found: "1 1" }, yahoo);
});

Deno.test("missing number in a required column", async () => {
  await expectRowError("2021-01-05,10.5,,10,11,10.9,1200", 1, { column: "high", found: "", message: /missing high/ });
});

Deno.test("non-finite numbers: NaN and inf", async () => {
  await expectRowError("2021-01-05,10.5,11.5,10,NaN,10.9,1200", 1, {
    column: "close",
    expected: /finite/,
    found: "NaN",
  });
  await expectRowError("2021-01-05,10.5,11.5,10,11,10.9,inf", 1, {
    column: "volume",
    expected: /finite/,
    found: "inf",
  });
});

Deno.test("duplicate date points at the second occurrence and names the first", async () => {
  await expectRowError("2021-01-05,11,11.2,10.1,10.2,10.1,900", 2, {
    column: "date",
    expected: /already on line 3/,
    found: "2021-01-05",
    message: /duplicate date/,
  });
});

Deno.test("dates out of order point at the first date that goes backwards", async () => {
  await expectRowError("2021-01-04,11,11.2,10.1,10.2,10.1,900", 2, {
    column: "date",
    found: "2021-01-04",
    message: /dates out of order|duplicate date/,
  });
  await expectRowError("2021-01-01,11,11.2,10.1,10.2,10.1,900", 2, {
    column: "date",
    expected: /after 2021-01-05 \(line 3\)/,
    found: "2021-01-01",
    message: /out of order/,
  });
});

Deno.test("non-positive prices, column by column", async () => {
  await expectRowError("2021-01-05,10.5,11.5,10,11,0,1200", 1, {
    column: "adj_close",
    expected: /> 0/,
    found: "0",
  });
  await expectRowError("2021-01-05,10.5,11.5,-1,11,10.9,1200", 1, { column: "low", expected: /> 0/, found: "-1" });
});

Deno.test("high below low", async () => {
  await expectRowError("2021-01-05,10.5,9,10,9.5,10.9,1200", 1, {
    column: "high",
    expected: /high ≥ low \(10\)/,
    found: "9",
  });
});

Deno.test("close outside [low, high], above and below", async () => {
  await expectRowError("2021-01-05,10.5,11.5,10,11.6,10.9,1200", 1, {
    column: "close",
    expected: /\[10, 11.5\]/,
    found: "11.6",
  });
  await expectRowError("2021-01-05,10.5,11.5,10,9.99,10.9,1200", 1, { column: "close", found: "9.99" });
});

Deno.test("open outside [low, high]", async () => {
  await expectRowError("2021-01-05,12,11.5,10,11,10.9,1200", 1, {
    column: "open",
    expected: /\[10, 11.5\]/,
    found: "12",
  });
});

Deno.test("negative volume", async () => {
  await expectRowError("2021-01-05,10.5,11.5,10,11,10.9,-5", 1, { column: "volume", expected: /≥ 0/, found: "-5" });
});

Deno.test("no data rows: header only, and header followed by empty lines", async () => {
  for (const content of [HEADER + "\n", HEADER, HEADER + "\n\n\n"]) {
    await withFiles({ "X.csv": content }, async (dir) => {
      await assertDataError(loadPanel(join(dir, "X.csv")), {
        file: join(dir, "X.csv"),
        line: 2,
        message: /no data rows/,
      });
    });
  }
});

Deno.test("empty file", async () => {
  await withFiles({ "X.csv": "" }, async (dir) => {
    await assertDataError(loadPanel(join(dir, "X.csv")), { file: join(dir, "X.csv"), line: 1, message: /empty/ });
  });
});

Deno.test("a row with too many fields, and one with too few", async () => {
  await expectRowError("2021-01-05,10.5,11.5,10,11,10.9,1200,7", 1, {
    message: /wrong number of fields/,
    expected: /7 comma-separated fields/,
    found: "8 fields",
  });
  await expectRowError("2021-01-05,10.5,11.5,10,11,10.9", 1, { column: "volume", message: /missing volume/ });
});

Deno.test("line numbers stay exact after empty lines, CRLF and a quoted field spanning two lines", async () => {
  const content = [
    "date,open,high,low,close,adj_close,volume,note",
    '2021-01-04,10,11,9,10.5,10.4,1000,"two\nlines"', // lines 2-3
    "", // line 4 (skipped)
    "2021-01-05,10.5,11.5,10,11,10.9,1200,x", // line 5
    "2021-01-06,11,11.2,10.1,12,10.1,900,y", // line 6: close above high
  ].join("\r\n");
  await withFiles({ "X.csv": content }, async (dir) => {
    await assertDataError(loadPanel(join(dir, "X.csv")), {
      file: join(dir, "X.csv"),
      line: 6,
      column: "close",
      found: "12",
    });
  });
});

Deno.test("the first bad row wins; on one row the first rule wins", async () => {
  const content = [HEADER, GOOD[0], "2021-01-05,10.5,11.5,10,abc,-1,-5", "2021-01-06,x,11.2,10.1,10.2,10.1,900"]
    .join("\n");
  await withFiles({ "X.csv": content }, async (dir) => {
    await assertDataError(loadPanel(join(dir, "X.csv")), { file: join(dir, "X.csv"), line: 3, column: "close" });
  });
});

Deno.test("errors in gzip files and in folders name the file in the folder", async () => {
  const bad = csvWith(2, "2021-01-06,11,11.2,10.1,10.2,10.1,-900");
  await withFiles(
    { "A.csv": csvWith(0, GOOD[0]), "B.csv.gz": gzipSync(new TextEncoder().encode(bad)) },
    async (dir) => {
      await assertDataError(loadPanel(dir), {
        file: join(dir, "B.csv.gz"),
        line: 4,
        column: "volume",
        found: "-900",
      });
    },
  );
});

Deno.test("a symbol split over two files must not repeat a date; the error names both places", async () => {
  const first = [HEADER.replace("date", "symbol,date"), ...GOOD.map((r) => `ACME,${r}`)].join("\n");
  const second = [HEADER.replace("date", "symbol,date"), "ACME,2021-01-06,11,11.2,10.1,10.2,10.1,900"].join("\n");
  await withFiles({ "2021a.csv": first, "2021b.csv": second }, async (dir) => {
    await assertDataError(loadPanel(dir), {
      file: join(dir, "2021b.csv"),
      line: 2,
      column: "date",
      expected: new RegExp(`already on .*2021a\\.csv line 4`),
      found: "2021-01-06",
    });
  });
});

Deno.test("a partly empty adj_close is an error, not a silent fallback", async () => {
  await expectRowError("2021-01-05,10.5,11.5,10,11,,1200", 1, { column: "adj_close", found: "", message: /missing/ });
});

Deno.test("an extra column with an occasional non-number is an error; infinities too", async () => {
  const header = HEADER + ",feature";
  const rows = [GOOD[0] + ",0.1", GOOD[1] + ",oops", GOOD[2] + ",0.3"];
  await withFiles({ "X.csv": [header, ...rows].join("\n") }, async (dir) => {
    await assertDataError(loadPanel(join(dir, "X.csv")), {
      file: join(dir, "X.csv"),
      line: 3,
      column: "feature",
      found: "oops",
    });
  });
  const inf = [GOOD[0] + ",0.1", GOOD[1] + ",-inf", GOOD[2] + ",0.3"];
  await withFiles({ "X.csv": [header, ...inf].join("\n") }, async (dir) => {
    await assertDataError(loadPanel(join(dir, "X.csv")), {
      file: join(dir, "X.csv"),
      line: 3,
      column: "feature",
      found: "-inf",
    });
  });
});

Deno.test("symbols asked for and found nowhere are named, with the symbols available and a case-insensitive match", async () => {
  const csv = [HEADER, ...GOOD].join("\n") + "\n";
  const gz = gzipSync(new TextEncoder().encode(csv));
  const files: Record<string, string | Uint8Array> = { "AAPL.csv.gz": gz, "MSFT.csv": csv, "IBM.csv": csv };
  // Twelve more symbols: the list stops after ten of the fifteen.
  for (let i = 0; i < 12; i++) files[`S${String(i).padStart(2, "0")}.csv`] = csv;
  // A file with a symbol column is read (it may hold any symbol); a file without price columns is skipped.
  files["SUMMARY.csv"] = "symbol,rows\nAAPL,3\n";
  await withFiles(files, async (dir) => {
    const shown = "AAPL, IBM, MSFT, S00, S01, S02, S03, S04, S05, S06, … (15 in all)";
    // No file is named after the symbol: the price files are there, so this is not "no price files found".
    await assertDataError(loadPanel(dir, { symbols: ["ZZZZ"] }), {
      file: dir,
      found: "nothing for ZZZZ",
      message: new RegExp(`: requested symbols not found: ZZZZ; symbols available: ${literal(shown)}; expected `),
    });
    await assertDataError(loadPanel(dir, { symbols: ["aapl", "ZZZZ"] }), {
      file: dir,
      found: "nothing for aapl, ZZZZ",
      message: new RegExp(
        `: requested symbols not found: aapl \\(did you mean AAPL\\? symbols match exactly, case included\\), ZZZZ; ` +
          `symbols available: ${literal(shown)};`,
      ),
    });
    // Some found: the ones read count among those available.
    await assertDataError(loadPanel(dir, { symbols: ["MSFT", "ibm"] }), {
      file: dir,
      found: "nothing for ibm",
      message: new RegExp(`not found: ibm \\(did you mean IBM\\? .*\\); symbols available: ${literal(shown)};`),
    });
    const ok = await loadPanel(dir, { symbols: ["AAPL", "IBM"] });
    assert.deepEqual(ok.symbols, ["AAPL", "IBM"]);
  });
  // One explicit file: its rows' symbol is the one suggested.
  await withFiles({ "AAPL.csv": [HEADER, ...GOOD].join("\n") }, async (dir) => {
    const file = join(dir, "AAPL.csv");
    await assertDataError(loadPanel(file, { symbols: ["Aapl"] }), {
      file,
      found: "nothing for Aapl",
      message: /not found: Aapl \(did you mean AAPL\? symbols match exactly, case included\); symbols available: AAPL;/,
    });
  });
});

/** `text` as a regular expression matching it literally. */
function literal(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

Deno.test("missing paths, unsupported files, folders without price files, unknown symbols", async () => {
  await assertDataError(loadPanel("/nonexistent/candor/prices.csv"), {
    file: "/nonexistent/candor/prices.csv",
    message: /not found/,
  });
  await withFiles(
    { "X.txt": "hello", "SUMMARY.csv": "symbol,rows\nA,3\n", "A.csv": csvWith(0, GOOD[0]) },
    async (dir) => {
      await assertDataError(loadPanel(join(dir, "X.txt")), { file: join(dir, "X.txt"), message: /unsupported/ });
      await assertDataError(loadPanel(dir, { symbols: ["A", "ZZZ"] }), { file: dir, found: "nothing for ZZZ" });
    },
  );
  await withFiles({ "SUMMARY.csv": "symbol,rows\nA,3\n" }, async (dir) => {
    await assertDataError(loadPanel(dir), { file: dir, message: /no price files/ });
    // Named explicitly, a non-price file is an error, not a skip.
    await assertDataError(loadPanel(join(dir, "SUMMARY.csv")), {
      file: join(dir, "SUMMARY.csv"),
      line: 1,
      column: "date",
    });
  });
});

Deno.test("a bad gzip file", async () => {
  await withFiles({ "X.csv.gz": "not gzip at all" }, async (dir) => {
    await assertDataError(loadPanel(join(dir, "X.csv.gz")), { file: join(dir, "X.csv.gz"), message: /gzip/ });
  });
});

Deno.test("with several bad files, the first in load order is reported whatever finishes first", async () => {
  const big = [HEADER.replace(",close", ""), ...Array.from({ length: 20_000 }, () => "2021-01-04,10,11,9,10.4,1000")]
    .join("\n");
  await withFiles({ "A.csv": big, "B.csv": "date,open\n" }, async (dir) => {
    for (let i = 0; i < 3; i++) {
      await assertDataError(loadPanel(dir), { file: join(dir, "A.csv"), line: 1, column: "close" });
    }
  });
});

// Parquet has no lines: errors leave `line` undefined and name the 1-based data row in the message instead. Columns
// here are typed (Float64 prices), so NaN and ±Inf arrive as real IEEE values, not as text.

/** The GOOD rows as typed Parquet columns (Yahoo-style names), with `change` applied, written to X.parquet. */
function parquetWith(dir: string, change: (cols: Record<string, unknown[]>) => void): string {
  const cols: Record<string, unknown[]> = {
    Date: ["2021-01-04", "2021-01-05", "2021-01-06"],
    Open: [10, 10.5, 11],
    High: [11, 11.5, 11.2],
    Low: [9, 10, 10.1],
    Close: [10.5, 11, 10.2],
    "Adj Close": [10.4, 10.9, 10.1],
    Volume: [1000, 1200, 900],
  };
  change(cols);
  const path = join(dir, "X.parquet");
  pl.DataFrame(cols).writeParquet(path);
  return path;
}

async function expectParquetError(
  change: (cols: Record<string, unknown[]>) => void,
  want: Omit<Expected, "file" | "line">,
): Promise<void> {
  await withFiles({}, async (dir) => {
    const path = parquetWith(dir, change);
    await assertDataError(loadPanel(path), { file: path, line: undefined, ...want });
  });
}

Deno.test("Parquet: good typed columns load (control for the Parquet error tests)", async () => {
  await withFiles({}, async (dir) => {
    const panel = await loadPanel(parquetWith(dir, () => {}));
    assert.deepEqual(panel.frame.getColumn("close").toArray(), [10.5, 11, 10.2]);
    assert.deepEqual(panel.frame.getColumn("adj_close").toArray(), [10.4, 10.9, 10.1]);
  });
});

Deno.test("Parquet: a missing required column names it and lists the columns found", async () => {
  await expectParquetError((cols) => delete cols.Close, {
    column: "close",
    expected: /^columns date, open, high, low, close, volume/,
    found: "Date,Open,High,Low,Adj Close,Volume",
    message: /missing required column/,
  });
});

Deno.test("Parquet: NaN, +Inf and −Inf in Float64 price columns are refused at their row", async () => {
  await expectParquetError((cols) => (cols.Close[1] = NaN), {
    column: "Close",
    expected: /^a finite number$/,
    found: "NaN",
    message: /row 2: non-finite close/,
  });
  await expectParquetError((cols) => (cols.High[2] = Infinity), {
    column: "High",
    expected: /^a finite number$/,
    found: "inf",
    message: /row 3: non-finite high/,
  });
  await expectParquetError((cols) => (cols["Adj Close"][0] = -Infinity), {
    column: "Adj Close",
    expected: /^a finite number$/,
    found: "-inf",
    message: /row 1: non-finite adj_close/,
  });
});

Deno.test("Parquet: a duplicate date points at the second row and names the first (text and Date columns)", async () => {
  const want = {
    column: "Date",
    expected: /each date once per symbol \(2021-01-05 is already on row 2\)/,
    found: "2021-01-05",
    message: /row 3: duplicate date for X/,
  };
  await expectParquetError((cols) => (cols.Date[2] = "2021-01-05"), want);
  await withFiles({}, async (dir) => {
    const path = join(dir, "X.parquet");
    pl.DataFrame({
      date: ["2021-01-04", "2021-01-05", "2021-01-05"],
      open: [10, 10.5, 11],
      high: [11, 11.5, 11.2],
      low: [9, 10, 10.1],
      close: [10.5, 11, 10.2],
      volume: [1000, 1200, 900],
    }).withColumns(pl.col("date").str.strptime(pl.Date, "%Y-%m-%d")).writeParquet(path);
    await assertDataError(loadPanel(path), { file: path, line: undefined, ...want, column: "date" });
  });
});
