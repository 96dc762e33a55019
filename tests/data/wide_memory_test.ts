/**
 * Memory bounded by the input: a 21 MB CSV with 10,000 extra numeric columns (the file that once drove `candor run`
 * to 23.8 GB, 2.1 GB for loading alone) is loaded and audited in a subprocess whose peak resident memory (VmHWM) must
 * stay within LOAD_MEMORY_MULTIPLE × the file size + LOAD_MEMORY_OVERHEAD_BYTES of its start-up level — refused by
 * default (with the count and the way out), and loaded and audited column by column when the limit is raised.
 *
 * Linux only (VmHWM from /proc); skipped elsewhere.
 */

import assert from "node:assert/strict";
import { mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { LOAD_MEMORY_MULTIPLE, LOAD_MEMORY_OVERHEAD_BYTES, MAX_EXTRA_COLUMNS } from "../../lib/data/load.ts";
import { businessDays, normal, uniform } from "../features/_panels.ts";

const CHILD = fileURLToPath(new URL("./_wide_memory_child.ts", import.meta.url));
const COLUMNS = 10_000;
const ROWS = 250;

/** One symbol, ROWS business days of a random walk, and COLUMNS columns of independent noise, as CSV text. */
function wideCsv(): string {
  const u = uniform(2024);
  const z = normal(uniform(2025));
  const dates = businessDays(ROWS);
  const header = "date,open,high,low,close,adj_close,volume," + Array.from({ length: COLUMNS }, (_, j) => `f${j}`);
  const lines = [header];
  let close = 100;
  for (let t = 0; t < ROWS; t++) {
    const open = close * Math.exp(0.002 * z());
    close = open * Math.exp(0.01 * z());
    const high = Math.max(open, close) * 1.005;
    const low = Math.min(open, close) * 0.995;
    const cells = new Array<string>(COLUMNS);
    for (let j = 0; j < COLUMNS; j++) cells[j] = (u() - 0.5).toFixed(6);
    lines.push(`${dates[t]},${open},${high},${low},${close},${close},1000,${cells.join(",")}`);
  }
  return lines.join("\n") + "\n";
}

async function child(file: string, scenario: string): Promise<Record<string, unknown>> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", CHILD, file, scenario],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 0, stderr);
  return JSON.parse(new TextDecoder().decode(out.stdout));
}

Deno.test({
  name: "10,000 extra columns, 21 MB: refused by default, loaded and audited column by column within the stated bound",
  ignore: Deno.build.os !== "linux",
  fn: async () => {
    const dir = mkdtempSync(join(tmpdir(), "candor-wide-"));
    try {
      const file = join(dir, "WIDE.csv");
      writeFileSync(file, wideCsv());
      const bytes = statSync(file).size;
      assert.ok(bytes > 20e6 && bytes < 25e6, `file of ${bytes} bytes`);
      const bound = LOAD_MEMORY_MULTIPLE * bytes + LOAD_MEMORY_OVERHEAD_BYTES;
      const mb = (b: number) => `${(b / 2 ** 20).toFixed(0)} MiB`;

      const refused = await child(file, "default");
      assert.equal(refused.refused, true);
      const error = refused.error as { name: string; message: string };
      assert.equal(error.name, "DataError");
      assert.ok(error.message.includes(file), error.message);
      assert.match(error.message, /too many extra columns/);
      assert.match(error.message, /found "10,000 extra columns"/);
      assert.match(error.message, new RegExp(`at most ${MAX_EXTRA_COLUMNS.toLocaleString("en-US")} extra columns`));
      assert.match(error.message, /--columns none/);
      assert.equal(refused.noneWidth, 8);
      assert.equal(refused.someAudited, 20);
      assert.deepEqual(refused.someLeaking, []);
      const refusal = (refused.afterRefusal as number) - (refused.baseline as number);
      // Refused from the header: the file's bytes and little else.
      assert.ok(refusal <= 4 * bytes + 64 * 2 ** 20, `refusal added ${mb(refusal)} for a ${mb(bytes)} file`);
      const defaultPeak = (refused.peak as number) - (refused.baseline as number);
      assert.ok(defaultPeak <= bound, `default scenario added ${mb(defaultPeak)}, bound ${mb(bound)}`);

      const all = await child(file, "all");
      assert.equal(all.rows, ROWS);
      assert.equal(all.extraColumns, COLUMNS);
      assert.equal(all.audited, COLUMNS);
      assert.deepEqual(all.leaking, [], "independent noise columns are not leaks");
      const load = (all.afterLoad as number) - (all.baseline as number);
      const peak = (all.peak as number) - (all.baseline as number);
      assert.ok(load <= bound, `loading added ${mb(load)}, bound ${mb(bound)}`);
      assert.ok(peak <= bound, `loading and auditing added ${mb(peak)}, bound ${mb(bound)}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
});
