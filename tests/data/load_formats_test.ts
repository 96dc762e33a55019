/**
 * What the loader accepts: header spellings, BOM/CRLF, spaces, gzip, Parquet, folders, multi-symbol files, extra
 * columns, the adj_close fallback, and the real S&P 500 folder checked against its independent SUMMARY.csv.
 */

import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync, gzipSync } from "node:zlib";
import pl from "nodejs-polars";
import { loadPanel } from "../../lib/data/load.ts";
import { canonicalColumnName } from "../../lib/data/column_names.ts";
import { PANEL_COLUMNS } from "../../lib/data/panel.ts";
import { realDataTest } from "../_helpers/real_data.ts";

const ROWS = [
  ["2021-01-04", 10, 11, 9, 10.5, 10.4, 1000],
  ["2021-01-05", 10.5, 11.5, 10, 11, 10.9, 1200],
  ["2021-01-06", 11, 11.2, 10.1, 10.2, 10.1, 900],
] as const;

function csv(header: string, sep = "\n", rows: readonly (readonly (string | number)[])[] = ROWS): string {
  return [header, ...rows.map((r) => r.join(","))].join(sep) + sep;
}

async function withFiles(files: Record<string, string | Uint8Array>, fn: (dir: string) => Promise<void>) {
  const dir = mkdtempSync(join(tmpdir(), "candor-load-fmt-"));
  try {
    for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), content);
    await fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The canonical records the three ROWS must load as, for symbol `symbol`. */
function expectedRecords(symbol: string) {
  return ROWS.map(([date, open, high, low, close, adj_close, volume]) => ({
    date,
    symbol,
    open,
    high,
    low,
    close,
    adj_close,
    volume,
  }));
}

Deno.test("header normalization: Yahoo and other spellings map to canonical names", () => {
  const cases: [string, string][] = [
    ["Adj Close", "adj_close"],
    ["adj_close", "adj_close"],
    ["AdjClose", "adj_close"],
    ["adjclose", "adj_close"],
    ["ADJ CLOSE", "adj_close"],
    ["Adjusted Close", "adj_close"],
    ["\uFEFFDate", "date"],
    ["  Volume ", "volume"],
    ["Ticker", "symbol"],
    ["My Feature", "my_feature"],
    ["rsi14", "rsi14"],
  ];
  for (const [raw, canonical] of cases) assert.equal(canonicalColumnName(raw), canonical, raw);
});

Deno.test("Yahoo-style files load identically whatever the header spelling, BOM, CRLF or spaces", async () => {
  const variants: Record<string, string> = {
    "A.csv": csv("date,open,high,low,close,adj_close,volume"),
    "B.csv": csv("Date,Open,High,Low,Close,Adj Close,Volume"),
    "C.csv": csv("Date,Open,High,Low,Close,AdjClose,Volume", "\r\n"),
    "D.csv": "\uFEFF" + csv(" DATE , OPEN , HIGH , LOW , CLOSE , ADJ CLOSE , VOLUME ", "\r\n"),
    "E.csv": csv("Date,Open,High,Low,Close,Adj Close,Volume", "\n", ROWS.map((r) => r.map((v) => ` ${v} `))),
  };
  await withFiles(variants, async (dir) => {
    for (const name of Object.keys(variants)) {
      const panel = await loadPanel(join(dir, name));
      const symbol = name.replace(".csv", "");
      assert.deepEqual(panel.frame.toRecords(), expectedRecords(symbol), name);
      assert.deepEqual(panel.frame.columns, [...PANEL_COLUMNS], name);
      assert.deepEqual(panel.warnings, [], name);
    }
  });
});

Deno.test("yfinance-style date-times keep their calendar day; Dividends/Stock Splits become extra columns", async () => {
  const header = "Date,Open,High,Low,Close,Volume,Dividends,Stock Splits";
  const rows = ROWS.map(([d, o, h, l, c, _a, v], i) => [`${d} 00:00:00-05:00`, o, h, l, c, v, i === 2 ? 0.5 : 0, 0]);
  const iso = ROWS.map(([d, ...rest]) => [`${d}T00:00:00Z`, ...rest]);
  await withFiles({
    "YF.csv": csv(header, "\n", rows),
    "ISO.csv": csv("date,open,high,low,close,adj_close,volume", "\n", iso),
  }, async (dir) => {
    const panel = await loadPanel(dir);
    assert.deepEqual(panel.dates, ["2021-01-04", "2021-01-05", "2021-01-06"]);
    assert.deepEqual(panel.extraColumns, ["dividends", "stock_splits"]);
    const yf = panel.frame.filter(pl.col("symbol").eq(pl.lit("YF")));
    assert.deepEqual(yf.getColumn("dividends").toArray(), [0, 0, 0.5]);
    assert.match(panel.warnings.join(";"), /adj_close missing or empty for 1 symbol\(s\): YF;/);
  });
  const intraday = [["2021-01-04 09:30:00", 10, 11, 9, 10.5, 10.4, 1], [
    "2021-01-04 09:31:00",
    10,
    11,
    9,
    10.5,
    10.4,
    1,
  ]];
  await withFiles({ "X.csv": csv("date,open,high,low,close,adj_close,volume", "\n", intraday) }, async (dir) => {
    await assert.rejects(loadPanel(join(dir, "X.csv")), /line 3, column "date": duplicate date/);
  });
  const junk = [["2021-01-04 noon", 10, 11, 9, 10.5, 10.4, 1]];
  await withFiles({ "X.csv": csv("date,open,high,low,close,adj_close,volume", "\n", junk) }, async (dir) => {
    await assert.rejects(loadPanel(join(dir, "X.csv")), /line 2, column "date": unparsable date/);
  });
});

Deno.test("gzip, Parquet (Utf8 and Date dates) and plain CSV in one folder; non-price files skipped with a warning", async () => {
  const dir = mkdtempSync(join(tmpdir(), "candor-load-fmt-"));
  try {
    writeFileSync(join(dir, "AAA.csv"), csv("date,open,high,low,close,adj_close,volume"));
    writeFileSync(
      join(dir, "BBB.csv.gz"),
      gzipSync(new TextEncoder().encode(csv("Date,Open,High,Low,Close,Adj Close,Volume"))),
    );
    const cols = {
      date: ROWS.map((r) => r[0]),
      open: ROWS.map((r) => r[1]),
      high: ROWS.map((r) => r[2]),
      low: ROWS.map((r) => r[3]),
      close: ROWS.map((r) => r[4]),
      adj_close: ROWS.map((r) => r[5]),
      volume: ROWS.map((r) => r[6]),
    };
    pl.DataFrame(cols).writeParquet(join(dir, "CCC.parquet"));
    pl.DataFrame(cols).withColumns(pl.col("date").str.strptime(pl.Date, "%Y-%m-%d")).writeParquet(
      join(dir, "DDD.parquet"),
    );
    writeFileSync(join(dir, "SUMMARY.csv"), "symbol,first_date,last_date,rows\nAAA,2021-01-04,2021-01-06,3\n");
    writeFileSync(join(dir, "notes.txt"), "ignored: not a price file extension");
    const panel = await loadPanel(dir);
    assert.deepEqual(panel.symbols, ["AAA", "BBB", "CCC", "DDD"]);
    assert.deepEqual(panel.dates, ["2021-01-04", "2021-01-05", "2021-01-06"]);
    assert.deepEqual(panel.frame.toRecords(), ["AAA", "BBB", "CCC", "DDD"].flatMap(expectedRecords));
    assert.equal(panel.warnings.length, 1);
    assert.match(panel.warnings[0], /skipped .*SUMMARY\.csv: not a price file/);

    const progress: [number, number][] = [];
    await loadPanel(dir, { onProgress: (done, total) => progress.push([done, total]) });
    assert.deepEqual(progress, [1, 2, 3, 4, 5].map((k) => [k, 5])); // SUMMARY.csv is read, then skipped

    const some = await loadPanel(dir, { symbols: ["CCC", "AAA"] });
    assert.deepEqual(some.symbols, ["AAA", "CCC"]);

    const list = await loadPanel([join(dir, "DDD.parquet"), join(dir, "AAA.csv")]);
    assert.deepEqual(list.symbols, ["AAA", "DDD"]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

Deno.test("Parquet errors name the data row (Parquet has no lines)", async () => {
  const dir = mkdtempSync(join(tmpdir(), "candor-load-fmt-"));
  try {
    pl.DataFrame({
      date: ["2021-01-04", "2021-01-05"],
      open: [10, 10],
      high: [11, 11],
      low: [9, 9],
      close: [10, 12],
      volume: [1, 1],
    }).writeParquet(join(dir, "X.parquet"));
    await assert.rejects(loadPanel(join(dir, "X.parquet")), (e: Error & { line?: number; column?: string }) => {
      assert.match(e.message, /X\.parquet.*row 2: close outside/);
      assert.equal(e.line, undefined);
      assert.equal(e.column, "close");
      return true;
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

Deno.test("a long file with a ticker column and interleaved symbols is sorted by symbol then date", async () => {
  const rows = ROWS.flatMap((r) => [["ZZ", ...r], ["AA", ...r]]);
  await withFiles({
    "prices.csv": csv(
      "Date,Ticker,Open,High,Low,Close,Adj Close,Volume",
      "\n",
      rows.map(([s, d, ...v]) => [d, s, ...v]),
    ),
  }, async (dir) => {
    const panel = await loadPanel(join(dir, "prices.csv"));
    assert.deepEqual(panel.symbols, ["AA", "ZZ"]);
    assert.deepEqual(panel.frame.toRecords(), [...expectedRecords("AA"), ...expectedRecords("ZZ")]);
  });
});

Deno.test("symbols option: multi-symbol files in a folder are searched, single-symbol files chosen by name", async () => {
  const rows = ROWS.flatMap((r) => [["ZZ", ...r], ["AA", ...r]]);
  const header = "Date,Ticker,Open,High,Low,Close,Adj Close,Volume";
  const long = csv(header, "\n", rows.map(([s, d, ...v]) => [d, s, ...v]));
  await withFiles({
    "universe.csv.gz": gzipSync(new TextEncoder().encode(long)),
    "QQ.csv": csv("date,open,high,low,close,adj_close,volume"),
    "RR.csv": "this file is not even a CSV price file, and is never read",
  }, async (dir) => {
    const panel = await loadPanel(dir, { symbols: ["ZZ", "QQ"] });
    assert.deepEqual(panel.symbols, ["QQ", "ZZ"]);
    assert.deepEqual(panel.frame.toRecords(), [...expectedRecords("QQ"), ...expectedRecords("ZZ")]);
  });
});

Deno.test("extra columns: numeric ones kept as Float64 (empty → NaN, union across files), text ones dropped with a warning", async () => {
  const header = "date,open,high,low,close,adj_close,volume,Momentum 5,name";
  const rows = ROWS.map((r, i) => [...r, i === 1 ? "" : String(i / 10), "Acme Corp"]);
  await withFiles(
    { "A.csv": csv(header, "\n", rows), "B.csv": csv("date,open,high,low,close,adj_close,volume") },
    async (dir) => {
      const panel = await loadPanel(dir);
      assert.deepEqual(panel.extraColumns, ["momentum_5"]);
      assert.deepEqual(panel.frame.columns, [...PANEL_COLUMNS, "momentum_5"]);
      const feature = panel.frame.getColumn("momentum_5").toArray() as number[];
      assert.equal(feature[0], 0);
      assert.ok(Number.isNaN(feature[1]));
      assert.equal(feature[2], 0.2);
      assert.ok(feature.slice(3).every(Number.isNaN)); // B has no such column
      assert.ok(panel.warnings.some((w) => /dropped column name: text/.test(w)), panel.warnings.join("; "));
    },
  );
});

Deno.test("adj_close absent or entirely empty: filled from close, with one warning naming the symbols", async () => {
  await withFiles({
    "NOADJ.csv": csv("date,open,high,low,close,volume", "\n", ROWS.map(([d, o, h, l, c, _a, v]) => [d, o, h, l, c, v])),
    "EMPTY.csv": csv(
      "date,open,high,low,close,adj_close,volume",
      "\n",
      ROWS.map(([d, o, h, l, c, _a, v]) => [d, o, h, l, c, "", v]),
    ),
    "FULL.csv": csv("date,open,high,low,close,adj_close,volume"),
  }, async (dir) => {
    const panel = await loadPanel(dir);
    assert.equal(panel.warnings.length, 1);
    assert.match(panel.warnings[0], /adj_close missing or empty for 2 symbol\(s\): EMPTY, NOADJ/);
    for (const s of ["EMPTY", "NOADJ"]) {
      const part = panel.frame.filter(pl.col("symbol").eq(pl.lit(s)));
      assert.deepEqual(part.getColumn("adj_close").toArray(), part.getColumn("close").toArray());
    }
    const full = panel.frame.filter(pl.col("symbol").eq(pl.lit("FULL")));
    assert.deepEqual(full.getColumn("adj_close").toArray(), ROWS.map((r) => r[5]));
  });
});

realDataTest("real data: SPY's empty adj_close falls back to close with a warning naming SPY", async (dir) => {
  const panel = await loadPanel(join(dir, "SPY.csv.gz"));
  assert.equal(panel.warnings.length, 1);
  assert.match(panel.warnings[0], /adj_close missing or empty for 1 symbol\(s\): SPY;/);
  assert.deepEqual(panel.frame.getColumn("adj_close").toArray(), panel.frame.getColumn("close").toArray());
  assert.equal(panel.dates[0], "1999-11-01");
});

realDataTest("real data: the whole S&P 500 folder loads and matches SUMMARY.csv symbol by symbol", async (dir) => {
  // Independent expectation: SUMMARY.csv parsed by hand (symbol, first_date, last_date, rows, has_adj_close, ...).
  const lines = readFileSync(join(dir, "SUMMARY.csv"), "utf8").trim().split("\n");
  const header = lines[0].split(",");
  const at = (name: string) => header.indexOf(name);
  const summary = new Map(
    lines.slice(1).map((l) => {
      const f = l.split(",");
      return [f[at("symbol")], {
        first: f[at("first_date")],
        last: f[at("last_date")],
        rows: Number(f[at("rows")]),
        adj: f[at("has_adj_close")],
      }];
    }),
  );
  const expectedRows = [...summary.values()].reduce((s, v) => s + v.rows, 0);

  const panel = await loadPanel(dir);
  assert.equal(panel.frame.height, expectedRows);
  assert.deepEqual([...panel.symbols], [...summary.keys()].sort());
  const stats = panel.frame.groupBy("symbol").agg(
    pl.col("date").min().alias("first"),
    pl.col("date").max().alias("last"),
    pl.col("date").count().alias("rows"),
  ).toRecords() as { symbol: string; first: string; last: string; rows: number }[];
  for (const s of stats) {
    const want = summary.get(s.symbol)!;
    assert.deepEqual({ first: s.first, last: s.last, rows: Number(s.rows) }, {
      first: want.first,
      last: want.last,
      rows: want.rows,
    }, s.symbol);
  }
  const noAdj = [...summary.entries()].filter(([, v]) => v.adj !== "true").map(([k]) => k).sort();
  assert.deepEqual(noAdj, ["SPY"]);
  assert.ok(panel.warnings.some((w) => w.includes(`symbol(s): ${noAdj.join(", ")};`)), panel.warnings.join("; "));
  assert.ok(panel.warnings.some((w) => /skipped .*SUMMARY\.csv/.test(w)));
  // Panel invariants, checked independently of the loader's own checks.
  const f = panel.frame;
  const sorted = f.sort(["symbol", "date"]);
  assert.deepEqual(f.getColumn("date").toArray().slice(0, 1000), sorted.getColumn("date").toArray().slice(0, 1000));
  assert.equal(f.select(pl.col("low").gt(pl.col("close")).or(pl.col("close").gt(pl.col("high"))).sum()).row(0)[0], 0);
  assert.equal(f.getColumn("adj_close").nullCount(), 0);
  assert.equal(panel.dates.length, new Set(f.getColumn("date").toArray()).size);
});

realDataTest("real data: one corrupted line in a copy of AAPL.csv.gz is reported at that line", async (dir) => {
  const lines = gunzipSync(readFileSync(join(dir, "AAPL.csv.gz"))).toString("utf8").split("\n");
  const header = lines[0].split(",");
  const target = 1234; // 1-based line number in the file
  const cells = lines[target - 1].split(",");
  const high = Number(cells[header.indexOf("high")]);
  cells[header.indexOf("close")] = String(high * 1.01);
  lines[target - 1] = cells.join(",");
  await withFiles({ "AAPL.csv.gz": gzipSync(new TextEncoder().encode(lines.join("\n"))) }, async (tmp) => {
    await assert.rejects(loadPanel(tmp), (e: Error & { line?: number; column?: string; found?: string }) => {
      assert.equal(e.line, target, e.message);
      assert.equal(e.column, "close");
      assert.equal(e.found, String(high * 1.01));
      return true;
    });
  });
});

Deno.test("numbers read directly as Float64 equal the text path's: odd spellings, Float32 and Decimal Parquet prices", async () => {
  // Clean files load on the typed path (the reader parses the numbers); a value a rule reports sends the load down the
  // text path (which echoes it as written). Both must read every valid spelling as the same number, Number(text).
  const spelled = [
    ["2021-01-04", "+10", "11.", ".95e1", '"10.5"', " 10.4", "1e3"],
    ["2021-01-05", "10.50", "1.15E1", "10", "11", "10.9", "1200"],
  ];
  const csvText = "date,open,high,low,close,adj_close,volume\n" + spelled.map((r) => r.join(",")).join("\n") + "\n";
  const asNumber = (s: string) => Number(s.replaceAll('"', "").trim());
  // A row that breaks a rule (a price of 0) takes the same file down the text path: the message shows "0.00".
  const broken = csvText.replace("10.50", "0.00");
  const f32 = pl.DataFrame({
    date: ["2021-01-04", "2021-01-05"],
    open: [1.1, 2.2],
    high: [1.3, 2.3],
    low: [1.0, 2.1],
    close: [1.2, 2.2],
    adj_close: [1.2, 2.2],
    volume: [10, 20],
  }).withColumns(pl.col(["open", "high", "low", "close", "adj_close"]).cast(pl.Float32));
  const decimal = f32.withColumns(pl.col(["open", "high", "low", "close", "adj_close"]).cast(pl.Decimal(10, 2)));
  await withFiles({ "ODD.csv": csvText, "BAD.csv": broken }, async (dir) => {
    const panel = await loadPanel(join(dir, "ODD.csv"));
    const names = ["open", "high", "low", "close", "adj_close", "volume"];
    assert.deepEqual(
      panel.frame.toRecords(),
      spelled.map(([date, ...v]) => ({
        date,
        symbol: "ODD",
        ...Object.fromEntries(names.map((n, i) => [n, asNumber(v[i])])),
      })),
    );
    await assert.rejects(
      loadPanel(join(dir, "BAD.csv")),
      /non-positive price in open; expected a price > 0, found "0\.00"/,
    );
    f32.writeParquet(join(dir, "F32.parquet"));
    decimal.writeParquet(join(dir, "DEC.parquet"));
    for (const file of ["F32.parquet", "DEC.parquet"]) {
      const p = await loadPanel(join(dir, file));
      assert.deepEqual(p.frame.getColumn("open").toArray(), [1.1, 2.2], file); // not 1.100000023841858
      assert.deepEqual(p.frame.getColumn("close").toArray(), [1.2, 2.2], file);
    }
  });
});
