/**
 * Feature-set and audit benchmarks on the real S&P 500 panel (../shared/data/sp500, ~2.2 M rows).
 *
 * - `features: full set, all symbols`: computeFeatures(panel, FULL_FEATURES) against the pandas/numpy reference
 *   (bench/reference/features.py) computing the same 191 features on the same rows — target ≥ 10× faster. Runs are
 *   interleaved (candor, pandas, candor, pandas, …); each run on either side is a fresh process that loads the files
 *   untimed, so both sides pay for the memory their output first touches, as a program computing the set once does;
 *   loading is excluded on both sides; the ratio is the pandas median over the candor median, reported with both
 *   ranges and the per-pair ratios, beside each side's CPU time and the memory it touched for the first time.
 * - `audit: truncation test, full set, one symbol`: auditFeatures on the longest-history symbol with 4 cut dates —
 *   target ≤ 10 s.
 * - `audit: pre-run gate (findLeakingFeatures)`: the check the pipeline runs before every run, for the base and full sets.
 *
 * Run alone with `deno run -A bench/features.ts [pairs]` (default 3 pairs): prints the table and merges these rows
 * into bench/results.json (rows of other modules are kept).
 *
 * @module
 */

import process from "node:process";
import { fileURLToPath } from "node:url";
import { type BenchResult, median, minMax, rangeText, runPython } from "./lib.ts";
import { realDataDir } from "../tests/_helpers/real_data.ts";
import {
  auditFeatures,
  BASE_FEATURES,
  computeFeatures,
  findLeakingFeatures,
  FULL_FEATURES,
  loadPanel,
} from "../lib/mod.ts";
import { chooseAuditSymbols } from "../lib/leakage/audit.ts";

const reference = fileURLToPath(new URL("./reference/features.py", import.meta.url));

/** The full set must compute at least this many times faster than the pandas reference (issue: features ≥ 10×). */
const TARGET_RATIO = 10;

function seconds(fn: () => unknown): number {
  return measure(fn).wall;
}

/** Wall seconds, user + system CPU seconds, and GiB of memory pages touched for the first time (minor page faults). */
interface Cost {
  wall: number;
  cpu: number;
  fresh: number;
}

/**
 * The cost of one call. Fresh memory is reported because on virtual machines a first touch of a page is slow (tens
 * of microseconds: the host backs the page on demand), so on this panel the wall time follows the gigabytes touched as
 * much as the CPU time; the pandas reference reports the same three figures.
 */
function measure(fn: () => unknown): Cost {
  const before = process.resourceUsage();
  const t0 = performance.now();
  fn();
  const wall = (performance.now() - t0) / 1000;
  const after = process.resourceUsage();
  const cpu = (after.userCPUTime + after.systemCPUTime - before.userCPUTime - before.systemCPUTime) / 1e6;
  return { wall, cpu, fresh: ((after.minorPageFault - before.minorPageFault) * 4096) / 2 ** 30 };
}

/** One field of every pair's cost, comma-separated with one decimal. */
function list(costs: Cost[], field: keyof Cost): string {
  return costs.map((c) => c[field].toFixed(1)).join(", ");
}

/**
 * The ratio only means something when both sides computed the same thing: the pandas reference must report as many
 * feature columns as FULL_FEATURES and as many rows as candor's panel (a reference that silently dropped a family or
 * loaded fewer rows would look faster than it is).
 */
function assertSameWork(py: Record<string, unknown>, rows: number): void {
  if (py.features !== FULL_FEATURES.length || py.rows !== rows) {
    throw new Error(
      `bench/reference/features.py computed ${py.features} features on ${py.rows} rows, candor ` +
        `${FULL_FEATURES.length} features on ${rows} rows: the timings are not comparable; bring the reference in line ` +
        "with lib/features before reading the ratio",
    );
  }
}

/**
 * One candor run in a fresh process (`--child DIR`): loads the folder untimed, warms the kernels and polars' thread pool
 * on the base set, then computes the full set once and prints its {@link Cost} as JSON.
 */
async function childCost(dir: string): Promise<Cost> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", fileURLToPath(import.meta.url), "--child", dir],
    cwd: fileURLToPath(new URL("..", import.meta.url)),
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) throw new Error(`bench/features child failed: ${new TextDecoder().decode(out.stderr)}`);
  return JSON.parse(new TextDecoder().decode(out.stdout).trim().split("\n").at(-1)!);
}

/** Runs the feature and audit benchmarks; `pairs` interleaved candor/pandas runs. */
export async function run(pairs = 3): Promise<BenchResult[]> {
  const dir = realDataDir();
  if (dir === undefined) {
    console.error("bench/features.ts: real data not found (set CANDOR_REAL_DATA); skipped");
    return [];
  }
  const panel = await loadPanel(dir);
  const rows = panel.frame.height;
  const ours: number[] = [];
  const theirs: number[] = [];
  const ourCosts: Cost[] = [];
  const theirCosts: Cost[] = [];
  for (let i = 0; i < pairs; i++) {
    const c = await childCost(dir);
    const py = await runPython(reference, ["bench", dir, "1"]);
    assertSameWork(py, rows);
    const p: Cost = {
      wall: (py.seconds as number[])[0],
      cpu: (py.cpu_seconds as number[])[0],
      fresh: (py.fresh_gib as number[])[0],
    };
    ourCosts.push(c);
    theirCosts.push(p);
    ours.push(c.wall);
    theirs.push(p.wall);
    console.error(
      `[features] pair ${i + 1}: candor ${c.wall.toFixed(2)} s (CPU ${c.cpu.toFixed(1)} s, ${c.fresh.toFixed(1)} GiB ` +
        `fresh), pandas ${p.wall.toFixed(2)} s (CPU ${p.cpu.toFixed(1)} s, ${p.fresh.toFixed(1)} GiB fresh), ` +
        `ratio ${(p.wall / c.wall).toFixed(1)}×`,
    );
  }
  const cpuOurs = median(ourCosts.map((x) => x.cpu));
  const cpuTheirs = median(theirCosts.map((x) => x.cpu));
  const cpuNote = `candor ${list(ourCosts, "cpu")} s, pandas ${list(theirCosts, "cpu")} s (medians ` +
    `${(cpuTheirs / cpuOurs).toFixed(1)}× apart); `;
  const outputGiB = (rows * 8 * FULL_FEATURES.length) / 2 ** 30;
  const freshNote = `memory touched for the first time (minor page faults) candor ${list(ourCosts, "fresh")} GiB, ` +
    `pandas ${list(theirCosts, "fresh")} GiB (the ${FULL_FEATURES.length} Float64 output columns alone are ` +
    `${outputGiB.toFixed(1)} GiB; every run is a fresh process on both sides)`;
  const c = median(ours);
  const p = median(theirs);
  const ratio = p / c;
  console.error(
    `[features] full set: candor median ${c.toFixed(2)} s (${rangeText(ours, 1)}), pandas median ${p.toFixed(2)} s ` +
      `(${rangeText(theirs, 1)}): ${ratio.toFixed(1)}× (target ≥ ${TARGET_RATIO}×)`,
  );

  const one = chooseAuditSymbols(panel, 1);
  const audit: number[] = [];
  for (let i = 0; i < 3; i++) {
    audit.push(seconds(() => auditFeatures(panel, { features: FULL_FEATURES, symbols: one, cuts: 4, columns: [] })));
  }
  const gateBase = median([0, 1, 2].map(() => seconds(() => findLeakingFeatures(panel, BASE_FEATURES))));
  const gateFull = median([0, 1].map(() => seconds(() => findLeakingFeatures(panel, FULL_FEATURES))));
  const a = median(audit);
  return [
    {
      name: `features: full set (${FULL_FEATURES.length}), all symbols (${rows} rows)`,
      value: c,
      unit: "s",
      range: minMax(ours),
      reference: p,
      referenceRange: minMax(theirs),
      ratio,
      target: `≥ ${TARGET_RATIO}× faster than pandas`,
      pass: ratio >= TARGET_RATIO,
      notes: `medians of ${pairs} interleaved pairs; candor ${ours.map((x) => x.toFixed(1)).join(", ")} s ` +
        `(range ${rangeText(ours, 1)}); pandas ${theirs.map((x) => x.toFixed(1)).join(", ")} s (range ${
          rangeText(theirs, 1)
        }); ` +
        `per-pair ratios ${ours.map((x, i) => (theirs[i] / x).toFixed(1)).join(", ")}; CPU time (user + system) ` +
        cpuNote + freshNote,
    },
    {
      name: `audit: truncation test, full set, one symbol (${one[0]}, 4 cuts)`,
      value: a,
      unit: "s",
      target: "≤ 10 s",
      pass: a <= 10,
      notes: `median of 3: ${audit.map((x) => x.toFixed(2)).join(", ")} s`,
    },
    {
      name: "audit: pre-run gate findLeakingFeatures, base set (2 symbols, 3 cuts)",
      value: gateBase,
      unit: "s",
      notes: "median of 3",
    },
    {
      name: "audit: pre-run gate findLeakingFeatures, full set (2 symbols, 3 cuts)",
      value: gateFull,
      unit: "s",
      notes: "median of 2",
    },
  ];
}

/** Replaces this module's rows in bench/results.json (the file `deno task bench` writes), keeping the others. */
async function mergeIntoResults(results: BenchResult[]): Promise<void> {
  const file = new URL("./results.json", import.meta.url);
  let others: unknown[] = [];
  try {
    const previous = JSON.parse(await Deno.readTextFile(file)) as { results?: { module?: string }[] };
    others = (previous.results ?? []).filter((r) => r.module !== "features");
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  const rows = [...others, ...results.map((r) => ({ module: "features", ...r }))];
  await Deno.writeTextFile(file, JSON.stringify({ date: new Date().toISOString(), results: rows }, null, 2) + "\n");
  console.error(`[features] wrote ${fileURLToPath(file)}`);
}

if (import.meta.main && Deno.args[0] === "--child") {
  const panel = await loadPanel(Deno.args[1]);
  computeFeatures(panel, BASE_FEATURES); // warm-up (JIT, polars thread pool)
  console.log(JSON.stringify(measure(() => computeFeatures(panel, FULL_FEATURES))));
} else if (import.meta.main) {
  const results = await run(Number(Deno.args[0] ?? 3));
  console.table(results.map(({ notes: _notes, ...r }) => r));
  if (results.length > 0) await mergeIntoResults(results);
}
