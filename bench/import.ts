/**
 * Cost of `import "lib/mod.ts"`: what a program pays before it calls anything (target ≤ 0.3 s).
 *
 * Each run is a fresh `deno eval` process (module cache warm: one untimed run first) that imports lib/mod.ts and
 * reports the import's wall time measured inside the process (start-up of Deno itself excluded), its CPU seconds and
 * the npm packages it evaluated (the CommonJS ones, from the module cache). An empty `deno eval` is timed alongside,
 * interleaved, so the whole-process figures can be read as "start-up + import".
 *
 * Reference: set `BENCH_IMPORT_BEFORE` to the folder of another checkout of the repository (an earlier revision, with
 * its node_modules installed) and its lib/mod.ts is timed interleaved with this one; the ratio is before / now.
 * `BENCH_IMPORT_RUNS` sets the number of rounds (default 15).
 *
 * TensorFlow.js, polars, the store drivers, yaml, vega and the `@stdlib` distributions load on first use
 * (lib/lazy_package.ts); a package that still loads at import time shows up in the notes.
 *
 * @module
 */

import { fileURLToPath } from "node:url";
import { type BenchResult, median, minMax, rangeText } from "./lib.ts";

interface Sample {
  /** Import wall time inside the process, s. */
  seconds: number;
  /** CPU seconds (user + system) of the import. */
  cpu: number;
  /** Whole-process wall time, s. */
  process: number;
  /** npm packages evaluated as CommonJS by the import. */
  packages: string[];
}

const PROBE = `
import { createRequire } from "node:module";
import { cpuUsage } from "node:process";
const c0 = cpuUsage(), t0 = performance.now();
if (Deno.env.get("IMPORT_TARGET")) await import(Deno.env.get("IMPORT_TARGET"));
const seconds = (performance.now() - t0) / 1000, used = cpuUsage(c0);
const packages = new Set();
for (const k of Object.keys(createRequire(import.meta.url).cache)) {
  const m = k.match(/node_modules\\/\\.deno\\/[^/]+\\/node_modules\\/((@[^/]+\\/)?[^/]+)/);
  if (m) packages.add(m[1]);
}
console.log(JSON.stringify({ seconds, cpu: (used.user + used.system) / 1e6, packages: [...packages].sort() }));
`;

async function sample(root: string | undefined): Promise<Sample> {
  const cwd = root ?? fileURLToPath(new URL("..", import.meta.url));
  const target = root === undefined ? "" : new URL("lib/mod.ts", `file://${root}/`).href;
  const t0 = performance.now();
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--config", `${cwd}/deno.json`, PROBE],
    cwd,
    env: { IMPORT_TARGET: target },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const process = (performance.now() - t0) / 1000;
  if (!out.success) throw new Error(`import probe failed in ${cwd}: ${new TextDecoder().decode(out.stderr)}`);
  const r = JSON.parse(new TextDecoder().decode(out.stdout).trim().split("\n").at(-1)!);
  return { ...r, process };
}

/** Runs the benchmark; see the module doc. */
export async function run(): Promise<BenchResult[]> {
  const runs = Number(Deno.env.get("BENCH_IMPORT_RUNS") ?? 15);
  const here = fileURLToPath(new URL("..", import.meta.url)).replace(/\/$/, "");
  const before = Deno.env.get("BENCH_IMPORT_BEFORE")?.replace(/\/$/, "");
  await sample(here); // warm the module cache
  if (before) await sample(before);
  const now: Sample[] = [], old: Sample[] = [], empty: Sample[] = [];
  for (let r = 0; r < runs; r++) {
    now.push(await sample(here));
    if (before) old.push(await sample(before));
    empty.push(await sample(undefined));
  }
  const m = median(now.map((s) => s.seconds));
  const mb = before ? median(old.map((s) => s.seconds)) : undefined;
  const notes = [
    `medians of ${runs} interleaved fresh processes; import wall ${rangeText(now.map((s) => s.seconds), 3)} s`,
    `CPU ${median(now.map((s) => s.cpu)).toFixed(3)} s (${rangeText(now.map((s) => s.cpu), 3)})`,
    `whole process ${median(now.map((s) => s.process)).toFixed(3)} s (${
      rangeText(now.map((s) => s.process), 3)
    }) vs empty ` +
    `deno eval ${median(empty.map((s) => s.process)).toFixed(3)} s (${rangeText(empty.map((s) => s.process), 3)})`,
    `CommonJS packages evaluated: ${now[0].packages.join(", ") || "none"}`,
  ];
  if (before) {
    notes.push(
      `before (${before}): import wall ${mb!.toFixed(3)} s (${rangeText(old.map((s) => s.seconds), 3)}), CPU ${
        median(old.map((s) => s.cpu)).toFixed(3)
      } s, whole process ${median(old.map((s) => s.process)).toFixed(3)} s`,
    );
  }
  return [{
    name: "import lib/mod.ts (wall, in process)",
    value: m,
    unit: "s",
    range: minMax(now.map((s) => s.seconds)),
    reference: mb,
    referenceRange: before ? minMax(old.map((s) => s.seconds)) : undefined,
    ratio: mb === undefined ? undefined : mb / m,
    target: "≤ 0.3 s",
    pass: m <= 0.3,
    notes: notes.join("; "),
  }];
}

if (import.meta.main) console.table(await run());
