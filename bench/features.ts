/**
 * Feature-set and audit benchmarks on the real S&P 500 panel (../shared/data/sp500, ~2.2 M rows).
 *
 * - `features: full set, all symbols`: computeFeatures(panel, FULL_FEATURES) — target ≤ 30 s and ≥ 3× faster than
 *   the pandas/numpy reference (bench/reference/features.py) computing the same 191 features. Runs are paired and
 *   interleaved (candor, pandas, candor, pandas, …); loading is excluded on both sides; medians are reported.
 * - `audit: truncation test, full set, one symbol`: auditFeatures on the longest-history symbol with 4 cut dates —
 *   target ≤ 10 s.
 * - `audit: pre-run gate (findLeakingFeatures)`: the check the pipeline runs before every run, for the base and full sets.
 *
 * Run alone with `deno run -A bench/features.ts [pairs]` (default 3 pairs).
 *
 * @module
 */

import { fileURLToPath } from "node:url";
import { type BenchResult, median, runPython } from "./lib.ts";
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

function seconds(fn: () => unknown): number {
  const t0 = performance.now();
  fn();
  return (performance.now() - t0) / 1000;
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

/** Runs the feature and audit benchmarks; `pairs` interleaved candor/pandas runs. */
export async function run(pairs = 3): Promise<BenchResult[]> {
  const dir = realDataDir();
  if (dir === undefined) {
    console.error("bench/features.ts: real data not found (set CANDOR_REAL_DATA); skipped");
    return [];
  }
  const panel = await loadPanel(dir);
  const rows = panel.frame.height;
  computeFeatures(panel, BASE_FEATURES); // warm-up (JIT, polars thread pool)
  const ours: number[] = [];
  const theirs: number[] = [];
  for (let i = 0; i < pairs; i++) {
    ours.push(seconds(() => computeFeatures(panel, FULL_FEATURES)));
    const py = await runPython(reference, ["bench", dir, "1"]);
    assertSameWork(py, rows);
    theirs.push((py.seconds as number[])[0]);
    console.error(
      `[features] pair ${i + 1}: candor ${ours.at(-1)!.toFixed(2)} s, pandas ${theirs.at(-1)!.toFixed(2)} s`,
    );
  }
  const c = median(ours);
  const p = median(theirs);

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
      reference: p,
      ratio: p / c,
      target: "≤ 30 s and ≥ 3× faster than pandas",
      pass: c <= 30 && p / c >= 3,
      notes: `medians of ${pairs} interleaved pairs; candor ${ours.map((x) => x.toFixed(1)).join(", ")} s; ` +
        `pandas ${theirs.map((x) => x.toFixed(1)).join(", ")} s`,
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

if (import.meta.main) console.table(await run(Number(Deno.args[0] ?? 3)));
