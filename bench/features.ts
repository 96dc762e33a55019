/**
 * Feature-set and audit benchmarks on the real S&P 500 panel (../shared/data/sp500, ~2.2 M rows).
 *
 * - `features: full set into the model matrix`: computeFeatureMatrix(frame, FULL_FEATURES, every row) — the Float32
 *   matrix every model trains on, the path studies take — against the pandas/numpy reference
 *   (bench/reference/features.py) computing the same 191 features on the same rows into its float64 DataFrame (what
 *   Python's xgboost takes as is) — target ≥ 10× faster.
 * - `features: full set as a polars frame`: computeFeatures(panel, FULL_FEATURES), Float64 columns in a DataFrame (the
 *   notebook path), against the same reference runs.
 *
 *   Runs are interleaved (matrix, frame, pandas, matrix, …); each run on either side is a fresh process that loads the
 *   files untimed, so both sides pay for the memory their output first touches, as a program computing the set once
 *   does; loading is excluded on both sides; the ratio is the pandas median over the candor median, reported with both
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
  computeFeatureMatrix,
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

/** The two candor paths measured: into the model matrix, or into a polars frame. */
type Path = "matrix" | "frame";

/**
 * One candor run in a fresh process (`--child PATH DIR`): loads the folder untimed, warms the kernels and polars'
 * thread pool on the base set, then computes the full set once and prints its {@link Cost} as JSON.
 */
async function childCost(path: Path, dir: string): Promise<Cost> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", fileURLToPath(import.meta.url), "--child", path, dir],
    cwd: fileURLToPath(new URL("..", import.meta.url)),
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) throw new Error(`bench/features child failed: ${new TextDecoder().decode(out.stderr)}`);
  return JSON.parse(new TextDecoder().decode(out.stdout).trim().split("\n").at(-1)!);
}

/** The full-set row of one candor path against the pandas runs of the same rounds. */
function fullSetRow(path: Path, rows: number, ours: Cost[], theirs: Cost[], pairs: number): BenchResult {
  const wall = ours.map((x) => x.wall);
  const ref = theirs.map((x) => x.wall);
  const c = median(wall);
  const p = median(ref);
  const ratio = p / c;
  const cpuOurs = median(ours.map((x) => x.cpu));
  const cpuTheirs = median(theirs.map((x) => x.cpu));
  const matrixGiB = (rows * 4 * FULL_FEATURES.length) / 2 ** 30;
  const frameGiB = (rows * 8 * FULL_FEATURES.length) / 2 ** 30;
  const output = path === "matrix"
    ? `candor's output is the ${rows} × ${FULL_FEATURES.length} Float32 matrix (${matrixGiB.toFixed(2)} GiB), its ` +
      `pages mapped on a worker thread while the features are computed (lib/data/prefault.ts; fresh memory counts ` +
      `one fault per 2 MiB huge page there), pandas' its Float64 DataFrame`
    : `both outputs are ${FULL_FEATURES.length} Float64 columns (${frameGiB.toFixed(1)} GiB)`;
  console.error(
    `[features] full set (${path}): candor median ${c.toFixed(2)} s (${rangeText(wall, 1)}), pandas median ` +
      `${p.toFixed(2)} s (${rangeText(ref, 1)}): ${ratio.toFixed(1)}×`,
  );
  return {
    name: path === "matrix"
      ? `features: full set (${FULL_FEATURES.length}) into the model matrix, all symbols (${rows} rows)`
      : `features: full set (${FULL_FEATURES.length}) as a polars frame, all symbols (${rows} rows)`,
    value: c,
    unit: "s",
    range: minMax(wall),
    reference: p,
    referenceRange: minMax(ref),
    ratio,
    ...(path === "matrix" ? { target: `≥ ${TARGET_RATIO}× faster than pandas`, pass: ratio >= TARGET_RATIO } : {}),
    notes:
      `medians of ${pairs} interleaved rounds; candor ${list(ours, "wall")} s, pandas ${list(theirs, "wall")} s; ` +
      `per-round ratios ${wall.map((x, i) => (ref[i] / x).toFixed(1)).join(", ")}; CPU time (user + system) candor ` +
      `${list(ours, "cpu")} s, pandas ${list(theirs, "cpu")} s (medians ${(cpuTheirs / cpuOurs).toFixed(1)}× apart); ` +
      `memory touched for the first time (minor page faults) candor ${list(ours, "fresh")} GiB, pandas ` +
      `${list(theirs, "fresh")} GiB; ${output}; every run is a fresh process on both sides`,
  };
}

/** Runs the feature and audit benchmarks; `pairs` interleaved rounds of candor (matrix, frame) and pandas. */
export async function run(pairs = 3): Promise<BenchResult[]> {
  const dir = realDataDir();
  if (dir === undefined) {
    console.error("bench/features.ts: real data not found (set CANDOR_REAL_DATA); skipped");
    return [];
  }
  const panel = await loadPanel(dir);
  const rows = panel.frame.height;
  const matrix: Cost[] = [];
  const frame: Cost[] = [];
  const pandas: Cost[] = [];
  for (let i = 0; i < pairs; i++) {
    const m = await childCost("matrix", dir);
    const f = await childCost("frame", dir);
    const py = await runPython(reference, ["bench", dir, "1"]);
    assertSameWork(py, rows);
    const p: Cost = {
      wall: (py.seconds as number[])[0],
      cpu: (py.cpu_seconds as number[])[0],
      fresh: (py.fresh_gib as number[])[0],
    };
    matrix.push(m);
    frame.push(f);
    pandas.push(p);
    const text = (c: Cost) => `${c.wall.toFixed(2)} s (CPU ${c.cpu.toFixed(1)} s, ${c.fresh.toFixed(1)} GiB fresh)`;
    console.error(
      `[features] round ${i + 1}: candor matrix ${text(m)}, frame ${text(f)}; pandas ${text(p)}; ratios ` +
        `${(p.wall / m.wall).toFixed(1)}× and ${(p.wall / f.wall).toFixed(1)}×`,
    );
  }
  const fullSet = [fullSetRow("matrix", rows, matrix, pandas, pairs), fullSetRow("frame", rows, frame, pandas, pairs)];

  const one = chooseAuditSymbols(panel, 1);
  const audit: number[] = [];
  for (let i = 0; i < 3; i++) {
    audit.push(seconds(() => auditFeatures(panel, { features: FULL_FEATURES, symbols: one, cuts: 4, columns: [] })));
  }
  const gateBase = median([0, 1, 2].map(() => seconds(() => findLeakingFeatures(panel, BASE_FEATURES))));
  const gateFull = median([0, 1].map(() => seconds(() => findLeakingFeatures(panel, FULL_FEATURES))));
  const a = median(audit);
  return [
    ...fullSet,
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
  const panel = await loadPanel(Deno.args[2]);
  computeFeatures(panel, BASE_FEATURES); // warm-up (JIT, polars thread pool)
  const every = Int32Array.from({ length: panel.frame.height }, (_, i) => i);
  const compute = Deno.args[1] === "matrix"
    ? () => computeFeatureMatrix(panel.frame, FULL_FEATURES, every)
    : () => computeFeatures(panel, FULL_FEATURES);
  console.log(JSON.stringify(measure(compute)));
} else if (import.meta.main) {
  const results = await run(Number(Deno.args[0] ?? 3));
  console.table(results.map(({ notes: _notes, ...r }) => r));
  if (results.length > 0) await mergeIntoResults(results);
}
