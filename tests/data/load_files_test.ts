/**
 * Files that are not what their name says, and wide files: every case is a DataError naming the file and saying what
 * was found (symbolic link loops, broken links, UTF-16 and binary content, gzip that is not gzip or is truncated,
 * Latin-1 text, Parquet columns of the wrong type), echoed values are cut, and extra columns are chosen, limited and
 * parsed as the module doc of lib/data/load.ts says.
 */

import assert from "node:assert/strict";
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import pl from "nodejs-polars";
import { clipEcho, ConfigError, DataError, MAX_ECHO_CHARS } from "../../lib/errors.ts";
import { loadPanel, MAX_EXTRA_COLUMNS } from "../../lib/data/load.ts";
import { firstInvalidUtf8Line, identifyContent } from "../../lib/data/files.ts";
import { firstRaggedRecord, headerRecordLength } from "../../lib/data/csv_lines.ts";

const HEADER = "date,open,high,low,close,adj_close,volume";
const ROWS = [
  "2021-01-04,10,11,9,10.5,10.4,1000",
  "2021-01-05,10.5,11.5,10,11,10.9,1200",
  "2021-01-06,11,11.2,10.1,10.2,10.1,900",
];
const GOOD = [HEADER, ...ROWS].join("\n") + "\n";

async function withDir(fn: (dir: string) => Promise<void>) {
  const dir = mkdtempSync(join(tmpdir(), "candor-load-files-"));
  try {
    await fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Loads and returns the DataError (fails when the load succeeds or throws something else). */
async function dataError(load: Promise<unknown>): Promise<DataError> {
  try {
    await load;
  } catch (e) {
    assert.ok(e instanceof DataError, `expected a DataError, got ${e}`);
    return e;
  }
  assert.fail("the load succeeded");
}

Deno.test("a symbolic link loop is named as one, given directly and found in a folder", async () => {
  await withDir(async (dir) => {
    const prices = join(dir, "prices");
    Deno.mkdirSync(prices);
    writeFileSync(join(prices, "A.csv"), GOOD);
    symlinkSync("B.csv", join(prices, "C.csv"));
    symlinkSync("C.csv", join(prices, "B.csv")); // B → C → B
    const inFolder = await dataError(loadPanel(prices));
    assert.equal(inFolder.file, join(prices, "B.csv"));
    assert.match(inFolder.message, /symbolic link loop/);
    assert.match(inFolder.found ?? "", /B\.csv → C\.csv → B\.csv/);

    const direct = await dataError(loadPanel(join(prices, "C.csv")));
    assert.equal(direct.file, join(prices, "C.csv"));
    assert.match(direct.message, /symbolic link loop/);
    assert.doesNotMatch(direct.message, /not found/);

    symlinkSync("self", join(dir, "self")); // a folder link to itself
    const self = await dataError(loadPanel(join(dir, "self")));
    assert.match(self.message, /symbolic link loop/);
  });
});

Deno.test("a broken link and a missing path are told apart", async () => {
  await withDir(async (dir) => {
    symlinkSync(join(dir, "gone.csv"), join(dir, "X.csv"));
    const broken = await dataError(loadPanel(join(dir, "X.csv")));
    assert.match(broken.message, /broken symbolic link/);
    assert.match(broken.found ?? "", /gone\.csv.*does not exist/);
    const missing = await dataError(loadPanel(join(dir, "nothing.csv")));
    assert.match(missing.message, /not found/);
  });
});

Deno.test("UTF-16 (with and without a byte-order mark), UTF-32, binary, zip, gzip and Parquet content in a .csv are named", async () => {
  const utf16le = (s: string) => new Uint8Array([...s].flatMap((c) => [c.charCodeAt(0), 0]));
  const utf16be = (s: string) => new Uint8Array([...s].flatMap((c) => [0, c.charCodeAt(0)]));
  const cases: [string, Uint8Array, RegExp][] = [
    ["u16le.csv", new Uint8Array([0xff, 0xfe, ...utf16le(GOOD)]), /UTF-16 \(little-endian\) text/],
    ["u16be.csv", new Uint8Array([0xfe, 0xff, ...utf16be(GOOD)]), /UTF-16 \(big-endian\) text/],
    ["u16nobom.csv", utf16le(GOOD), /UTF-16 \(little-endian\) text without a byte-order mark/],
    ["u32.csv", new Uint8Array([0xff, 0xfe, 0, 0, 0x64, 0, 0, 0]), /UTF-32/],
    ["bin.csv", new Uint8Array([0x13, 0x37, 0x42, 0x00, 0x99, 0x01]), /binary data \(a NUL byte at byte 4\)/],
    ["book.csv", new Uint8Array([0x50, 0x4b, 0x03, 0x04, 0x14, 0, 0, 0]), /zip archive \(an Excel \.xlsx/],
    ["packed.csv", gzipSync(new TextEncoder().encode(GOOD)), /gzip-compressed data/],
    ["table.csv", new Uint8Array([0x50, 0x41, 0x52, 0x31, 0x15, 0x04]), /a Parquet file/],
  ];
  await withDir(async (dir) => {
    for (const [name, bytes, what] of cases) {
      writeFileSync(join(dir, name), bytes);
      const e = await dataError(loadPanel(join(dir, name)));
      assert.equal(e.file, join(dir, name));
      assert.match(e.message, /not CSV text/, name);
      assert.match(e.message, what, `${name}: ${e.message}`);
    }
  });
});

Deno.test("identifyContent leaves text alone and firstInvalidUtf8Line finds the line and byte (hand-checked)", () => {
  const enc = new TextEncoder();
  assert.equal(identifyContent(enc.encode(GOOD)), undefined);
  assert.equal(identifyContent(enc.encode("date,name\n2021-01-04,Zürich café ☕\n")), undefined);
  assert.equal(firstInvalidUtf8Line(enc.encode("a\nZürich ☕\n")), undefined);
  // "caf\xe9" (Latin-1 é) on line 3; the genuine U+FFFD on line 2 is valid UTF-8 and skipped.
  const latin1 = new Uint8Array([...enc.encode("a,b\n\uFFFD ok\ncaf"), 0xe9, ...enc.encode("\n")]);
  assert.deepEqual(firstInvalidUtf8Line(latin1), { line: 3, byte: 0xe9 });
});

Deno.test("Latin-1 text names its line and first bad byte", async () => {
  await withDir(async (dir) => {
    const path = join(dir, "X.csv");
    const enc = new TextEncoder();
    writeFileSync(path, new Uint8Array([...enc.encode(HEADER + ",name\n" + ROWS[0] + ",caf"), 0xe9, 10]));
    const e = await dataError(loadPanel(path));
    assert.equal(e.line, 2);
    assert.match(e.message, /not UTF-8 text/);
    assert.equal(e.found, "the byte 0xE9");
  });
});

Deno.test("a .csv.gz that is not gzip says what it is; truncated and corrupt gzip are told apart", async () => {
  await withDir(async (dir) => {
    const plain = join(dir, "A.csv.gz");
    writeFileSync(plain, GOOD);
    const e1 = await dataError(loadPanel(plain));
    assert.match(e1.message, /not a gzip file/);
    assert.match(e1.found ?? "", /plain text, not compressed \(name it \.csv/);

    const empty = join(dir, "B.csv.gz");
    writeFileSync(empty, "");
    assert.match((await dataError(loadPanel(empty))).found ?? "", /an empty file/);

    const long = [HEADER, ...Array.from({ length: 3000 }, (_, i) => ROWS[i % 3])].join("\n");
    const gz = gzipSync(new TextEncoder().encode(long));
    const cut = join(dir, "C.csv.gz");
    writeFileSync(cut, gz.subarray(0, Math.floor(gz.length / 2)));
    const e3 = await dataError(loadPanel(cut));
    assert.equal(e3.file, cut);
    assert.match(e3.message, /truncated gzip file/);

    const flipped = Uint8Array.from(gz);
    flipped[gz.length - 6] ^= 0xff; // inside the CRC-32 trailer
    const bad = join(dir, "D.csv.gz");
    writeFileSync(bad, flipped);
    const e4 = await dataError(loadPanel(bad));
    assert.match(e4.message, /corrupt gzip file/);
    assert.match(e4.found ?? "", /zlib: /);
  });
});

Deno.test("Parquet: a price column of the wrong type is named with its type; unusable extra columns are dropped with a warning", async () => {
  await withDir(async (dir) => {
    const base = () => ({
      date: ["2021-01-04", "2021-01-05"],
      open: [10, 10.5],
      high: [11, 11.5],
      low: [9, 10],
      close: [10.5, 11],
      volume: [1000, 1200],
    } as Record<string, unknown>);
    const write = (name: string, cols: Record<string, unknown>) => {
      const path = join(dir, name);
      pl.DataFrame(cols).writeParquet(path);
      return path;
    };
    const boolClose = write("A.parquet", { ...base(), close: [true, false] });
    const e1 = await dataError(loadPanel(boolClose));
    assert.equal(e1.column, "close");
    assert.match(e1.message, /wrong column type/);
    assert.equal(e1.found, "Boolean");

    const numDate = write("B.parquet", { ...base(), date: [18631, 18632] });
    const e2 = await dataError(loadPanel(numDate));
    assert.equal(e2.column, "date");
    assert.match(e2.expected ?? "", /text dates .* Date or a Datetime/);

    const extras = write("C.parquet", { ...base(), flag: [true, false], parts: [[1, 2], [3]], score: [1, 2] });
    const panel = await loadPanel(extras);
    assert.deepEqual(panel.extraColumns, ["score"]);
    assert.ok(panel.warnings.some((w) => /dropped column flag .*Boolean/.test(w)), panel.warnings.join("\n"));
    assert.ok(panel.warnings.some((w) => /dropped column parts .*List\(Float64\)/.test(w)), panel.warnings.join("\n"));
  });
});

Deno.test("a 20 MB field is echoed as 200 characters and its length", async () => {
  await withDir(async (dir) => {
    const path = join(dir, "X.csv");
    const field = "x".repeat(20_000_000);
    writeFileSync(path, `${HEADER}\n2021-01-04,${field},11,9,10.5,10.4,1000\n`);
    const e = await dataError(loadPanel(path));
    assert.equal(e.line, 2);
    assert.equal(e.column, "open");
    assert.equal(e.found, `${"x".repeat(MAX_ECHO_CHARS)}… (20,000,000 characters in all)`);
    assert.ok(e.message.length < 1000, `message of ${e.message.length} characters`);
  });
  // And in a header: a missing column among 10,000 names.
  await withDir(async (dir) => {
    const path = join(dir, "X.csv");
    const names = Array.from({ length: 10_000 }, (_, i) => `feature_${i}`);
    writeFileSync(path, `date,open,high,low,volume,${names.join(",")}\n`);
    const e = await dataError(loadPanel(path));
    assert.equal(e.column, "close");
    assert.ok(e.message.length < 2000, `message of ${e.message.length} characters`);
  });
});

Deno.test("clipEcho keeps short text, cuts long text with its length, never splits a surrogate pair", () => {
  assert.equal(clipEcho("abc"), "abc");
  assert.equal(clipEcho("a".repeat(MAX_ECHO_CHARS)), "a".repeat(MAX_ECHO_CHARS));
  assert.equal(clipEcho("abcdef", 3), "abc… (6 characters in all)");
  assert.equal(clipEcho("ab😀cd", 3), "ab… (6 characters in all)"); // 😀 is two UTF-16 units at 2–3
});

Deno.test("extra columns over the limit are refused from the header, with the count and the way out", async () => {
  await withDir(async (dir) => {
    const path = join(dir, "W.csv");
    const n = MAX_EXTRA_COLUMNS + 1;
    const extra = Array.from({ length: n }, (_, i) => `f${i}`);
    writeFileSync(path, [HEADER + "," + extra.join(","), ...ROWS.map((r) => r + ",0.5".repeat(n))].join("\n"));
    const e = await dataError(loadPanel(path));
    assert.equal(e.file, path);
    assert.equal(e.line, 1);
    assert.match(e.message, /too many extra columns/);
    assert.equal(e.found, `${n.toLocaleString("en-US")} extra columns`);
    assert.match(e.expected ?? "", /at most 1,000 extra columns/);
    assert.match(e.expected ?? "", /--columns a,b,c/);
    assert.match(e.expected ?? "", /--columns none/);

    const none = await loadPanel(path, { columns: "none" });
    assert.deepEqual(none.extraColumns, []);
    assert.equal(none.frame.width, 8);
    const some = await loadPanel(path, { columns: ["f10", "F3"] });
    assert.deepEqual(some.extraColumns, ["f3", "f10"]); // file order; "F3" normalizes to f3
    assert.deepEqual(some.frame.getColumn("f10").toArray(), [0.5, 0.5, 0.5]);
  });
});

Deno.test("columns: a list reads only those columns, spelled as written or normalized; raising the limit reads them all", async () => {
  await withDir(async (dir) => {
    const path = join(dir, "X.csv");
    writeFileSync(path, [HEADER + ",My Feature,other", ...ROWS.map((r, i) => `${r},${i},${-i}`)].join("\n"));
    const written = await loadPanel(path, { columns: ["My Feature"] });
    assert.deepEqual(written.extraColumns, ["my_feature"]);
    assert.deepEqual(written.frame.getColumn("my_feature").toArray(), [0, 1, 2]);
    const normalized = await loadPanel(path, { columns: ["my_feature"] });
    assert.deepEqual(normalized.extraColumns, ["my_feature"]);
    await assert.rejects(loadPanel(path, { columns: ["nope"] }), (e: unknown) => {
      assert.ok(e instanceof ConfigError);
      assert.match(e.message, /columns not found in the price files: nope; extra columns present: my_feature, other/);
      return true;
    });
    await assert.rejects(loadPanel(path, { maxExtraColumns: 1 }), /too many extra columns/);
    assert.deepEqual((await loadPanel(path, { maxExtraColumns: 2 })).extraColumns, ["my_feature", "other"]);
  });
});

Deno.test("columns none still refuses a row with too many fields (the reader checks only the columns it reads)", async () => {
  await withDir(async (dir) => {
    const path = join(dir, "X.csv");
    writeFileSync(path, [HEADER + ",f", ROWS[0] + ",1", ROWS[1] + ",2,3", ROWS[2] + ",3"].join("\n"));
    const e = await dataError(loadPanel(path, { columns: "none" }));
    assert.equal(e.line, 3);
    assert.match(e.message, /wrong number of fields/);
    assert.equal(e.found, "9 fields");
  });
});

Deno.test("extra values: the spellings the reader parses load as numbers; the rest take the exact text path", async () => {
  await withDir(async (dir) => {
    const path = join(dir, "X.csv");
    const spellings = ["1e5", ".5", "5.", "+3", "-0", "NaN", "", " 2 ", "7"];
    const want = [1e5, 0.5, 5, 3, -0, NaN, NaN, 2, 7];
    const rows = spellings.map((v, i) => {
      const d = new Date(Date.UTC(2021, 0, 4 + i)).toISOString().slice(0, 10);
      return `${d},10,11,9,10.5,10.4,1000,"${v}"`;
    });
    writeFileSync(path, [HEADER + ",x", ...rows].join("\n"));
    const got = (await loadPanel(path)).frame.getColumn("x").toArray() as number[];
    assert.deepEqual(got.map((v) => Object.is(v, -0) ? "-0" : v), want.map((v) => Object.is(v, -0) ? "-0" : v));
  });
});

Deno.test("a wide file read in column batches equals the same file read whole (values, order, text columns, errors)", async () => {
  await withDir(async (dir) => {
    const n = 620; // more than one 500-column read batch
    const names = Array.from({ length: n }, (_, j) => `f${j}`);
    const rows = Array.from({ length: 40 }, (_, i) => {
      const d = new Date(Date.UTC(2021, 0, 4 + i)).toISOString().slice(0, 10);
      return `${d},10,11,9,10.5,10.4,1000,` + names.map((_, j) => (j === 550 ? "name" : `${i * 0.25 + j}`)).join(",");
    });
    const path = join(dir, "W.csv");
    writeFileSync(path, [HEADER + "," + names.join(","), ...rows].join("\n"));
    const panel = await loadPanel(path);
    assert.equal(panel.extraColumns.length, n - 1); // f550 is text: dropped
    assert.ok(panel.warnings.some((w) => w.includes("dropped column f550")));
    assert.deepEqual(panel.extraColumns.slice(548, 551), ["f548", "f549", "f551"]);
    for (const j of [0, 499, 500, 619]) {
      assert.deepEqual(panel.frame.getColumn(`f${j}`).toArray(), rows.map((_, i) => i * 0.25 + j), `f${j}`);
    }
    // An infinity in the second batch is reported exactly (text path), at its line and column.
    const bad = rows.map((r, i) => (i === 7 ? r.replace(/,[^,]*$/, ",-inf") : r));
    writeFileSync(path, [HEADER + "," + names.join(","), ...bad].join("\n"));
    const e = await dataError(loadPanel(path));
    assert.equal(e.line, 9);
    assert.equal(e.column, "f619");
    assert.equal(e.found, "-inf");
  });
});

Deno.test("firstRaggedRecord and headerRecordLength: hand-checked (quotes, CRLF, blank lines)", () => {
  const enc = (s: string) => new TextEncoder().encode(s);
  assert.equal(firstRaggedRecord(enc("a,b\n1,2\r\n\n  \n3,4\n")), undefined);
  assert.deepEqual(firstRaggedRecord(enc('a,b\n"1,\n2",3\n4,5,6\n')), { line: 4, fields: 3, width: 2 });
  assert.deepEqual(firstRaggedRecord(enc("a,b,c\n1,2\n")), { line: 2, fields: 2, width: 3 });
  assert.equal(firstRaggedRecord(enc("a,b,c\n1,2\n"), { onlyMore: true }), undefined);
  assert.equal(headerRecordLength(enc('"a\nb",c\n1,2\n')), 8);
  assert.equal(headerRecordLength(enc("a,b")), 3);
});
