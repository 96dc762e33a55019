/**
 * Properties of the loader over random inputs (fast-check):
 *
 * - any generated market written with writePanelCsv loads back exactly;
 * - corrupting any one cell of a valid file yields a DataError at exactly that line and column (as written in the
 *   header), whatever the header spelling and line ending.
 */

import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import { DataError } from "../../lib/errors.ts";
import { lineOfRecord } from "../../lib/data/csv_lines.ts";
import { loadPanel } from "../../lib/data/load.ts";
import { syntheticMarket } from "../../lib/data/synthetic.ts";
import { writePanelCsv } from "../../lib/data/write.ts";

Deno.test("lineOfRecord: hand-checked cases (quoted newlines, escaped quotes, CRLF, empty lines)", () => {
  const text = 'h1,h2\r\na,"x\r\ny"\r\n\r\nb,"say ""hi""\n!"\nc,d\n';
  // header: line 1; record 0: lines 2-3; record 1: empty line 4; record 2: lines 5-6; record 3: line 7
  assert.equal(lineOfRecord(text, 0), 2);
  assert.equal(lineOfRecord(text, 1), 4);
  assert.equal(lineOfRecord(text, 2), 5);
  assert.equal(lineOfRecord(text, 3), 7);
  assert.equal(lineOfRecord(text, 4), undefined);
});

Deno.test("property: writePanelCsv → loadPanel is the identity on generated markets", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.integer({ min: 1, max: 4 }),
      fc.integer({ min: 2, max: 60 }),
      fc.integer({ min: 0, max: 2 ** 31 - 1 }),
      fc.constantFrom("planted", "random-walk"),
      fc.boolean(),
      async (symbols, days, seed, mode, exposeDriver) => {
        const m = syntheticMarket({ symbols, days, seed, mode: mode as "planted" | "random-walk", exposeDriver });
        const dir = mkdtempSync(join(tmpdir(), "candor-prop-"));
        try {
          writePanelCsv(m.panel, dir, { gzip: seed % 2 === 0 });
          const back = await loadPanel(dir);
          assert.deepEqual(back.symbols, m.panel.symbols);
          assert.deepEqual(back.extraColumns, m.panel.extraColumns);
          assert.deepEqual(back.frame.toRecords(), m.panel.frame.toRecords());
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      },
    ),
    { numRuns: 15, seed: 20261122 },
  );
});

const HEADERS = [
  ["date", "open", "high", "low", "close", "adj_close", "volume"],
  ["Date", "Open", "High", "Low", "Close", "Adj Close", "Volume"],
  ["DATE", "OPEN", "HIGH", "LOW", "CLOSE", "AdjClose", "VOLUME"],
];

/** A corruption of one cell that must be reported at that cell. */
const CORRUPTIONS: Record<string, string[]> = {
  date: ["2021-13-01", "20210105", "yesterday", ""],
  open: ["x", "", "-1", "0", "NaN", "1e999"],
  high: ["x", "", "0", "-3"],
  low: ["x", "", "-2", "0"],
  close: ["x", "", "0", "inf"],
  adj_close: ["x", "", "-1", "0"],
  volume: ["x", "", "-1", "-inf"],
};

Deno.test("property: one corrupted cell is reported at its exact line and column", async () => {
  const m = syntheticMarket({ symbols: 1, days: 40, seed: 3 });
  const records = m.panel.frame.toRecords() as Record<string, string | number>[];
  const canonical = HEADERS[0];
  await fc.assert(
    fc.asyncProperty(
      fc.integer({ min: 0, max: records.length - 1 }),
      fc.integer({ min: 0, max: canonical.length - 1 }),
      fc.nat(),
      fc.integer({ min: 0, max: HEADERS.length - 1 }),
      fc.constantFrom("\n", "\r\n"),
      fc.integer({ min: 0, max: 3 }),
      async (row, col, pick, headerIndex, eol, emptyLines) => {
        const name = canonical[col];
        const options = CORRUPTIONS[name];
        const bad = options[pick % options.length];
        const header = HEADERS[headerIndex];
        const lines = [header.join(",")];
        const lineOfRow: number[] = [];
        records.forEach((r, i) => {
          if (i === 1) { for (let k = 0; k < emptyLines; k++) lines.push(""); // empty lines before row 1 are skipped
           }
          const cells = canonical.map((c) => String(r[c]));
          if (i === row) cells[col] = bad;
          lines.push(cells.join(","));
          lineOfRow.push(lines.length);
        });
        const dir = mkdtempSync(join(tmpdir(), "candor-prop-"));
        const file = join(dir, "SYN.csv");
        try {
          writeFileSync(file, lines.join(eol) + eol);
          const error = await loadPanel(file).then(() => undefined, (e) => e);
          assert.ok(error instanceof DataError, `no error for ${name}=${JSON.stringify(bad)} on row ${row}`);
          assert.equal(error.file, file);
          assert.equal(error.line, lineOfRow[row], error.message);
          assert.equal(error.column, header[col], error.message);
          assert.equal(error.found, bad.trim(), error.message);
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      },
    ),
    { numRuns: 60, seed: 42 },
  );
});
