/**
 * Child process of tests/data/wide_memory_test.ts: loads (and audits) one price file and prints, as JSON on stdout,
 * the process's resident-memory high-water mark (VmHWM) before and after, so the parent can hold the loader and the
 * audit to their stated bound. Run as `deno run -A _wide_memory_child.ts <file> <scenario>`:
 *
 * - `default`: the default load must refuse the file (its message is reported); then `columns: "none"` and a list of
 *   20 columns load, and those 20 are audited;
 * - `all`: every extra column is loaded (limit raised to 10,000) and audited.
 *
 * @module
 */

import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadPanel } from "../../lib/data/load.ts";
import { auditFeatures } from "../../lib/leakage/audit.ts";

/** VmHWM of this process in bytes (Linux /proc). */
function highWaterMark(): number {
  const kb = /VmHWM:\s+(\d+)\s+kB/.exec(Deno.readTextFileSync("/proc/self/status"))?.[1];
  if (kb === undefined) throw new Error("no VmHWM in /proc/self/status");
  return Number(kb) * 1024;
}

const [file, scenario] = Deno.args;
// Warm up polars (thread pool, first allocations) on a 3-row file, so the baseline holds the fixed start-up cost.
const warm = mkdtempSync(join(tmpdir(), "candor-warm-"));
writeFileSync(
  join(warm, "W.csv"),
  "date,open,high,low,close,volume,x\n2021-01-04,1,2,0.5,1,10,1\n2021-01-05,1,2,0.5,1.5,10,2\n2021-01-06,1,2,0.5,1.2,10,3\n",
);
await loadPanel(join(warm, "W.csv"));
rmSync(warm, { recursive: true });
const baseline = highWaterMark();

const out: Record<string, unknown> = { baseline };
if (scenario === "default") {
  try {
    await loadPanel(file);
    out.refused = false;
  } catch (e) {
    out.refused = true;
    out.error = { name: (e as Error).name, message: (e as Error).message };
  }
  out.afterRefusal = highWaterMark();
  const none = await loadPanel(file, { columns: "none" });
  out.noneWidth = none.frame.width;
  const some = await loadPanel(file, { columns: Array.from({ length: 20 }, (_, j) => `f${j * 500}`) });
  const report = auditFeatures(some, { horizon: 1 });
  out.someAudited = report.features.length;
  out.someLeaking = report.leaking;
} else {
  const panel = await loadPanel(file, { maxExtraColumns: 10_000 });
  out.afterLoad = highWaterMark();
  out.rows = panel.frame.height;
  out.extraColumns = panel.extraColumns.length;
  const report = auditFeatures(panel, { horizon: 1 });
  out.audited = report.features.length;
  out.leaking = report.leaking;
}
out.peak = highWaterMark();
console.log(JSON.stringify(out));
