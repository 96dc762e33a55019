/**
 * `deno task bench`: runs every benchmark module in bench/ (each exports `run(): Promise<BenchResult[]>`), prints a
 * table, and writes bench/results.json (name, value, unit, range, reference value and range, ratio, target, pass,
 * notes, and the date each row was measured). Rows of modules not run this time are kept, so results.json gathers
 * the latest figures of every module; `deno run -A tools/bench_table.ts` renders them into README's table.
 *
 * Ratios are measured against reference implementations (bench/reference/, run with Debian's /usr/bin/python3) in the
 * same run, because the machines are noisy. Select modules by name: `deno task bench backtest xgboost`.
 *
 * @module
 */

import type { BenchResult } from "./lib.ts";

const here = new URL(".", import.meta.url);
const wanted = new Set(Deno.args);
const modules: string[] = [];
for await (const entry of Deno.readDir(here)) {
  if (!entry.isFile || !entry.name.endsWith(".ts") || ["run.ts", "lib.ts"].includes(entry.name)) continue;
  const name = entry.name.slice(0, -3);
  if (wanted.size === 0 || wanted.has(name)) modules.push(name);
}
modules.sort();
if (modules.length === 0) {
  console.error(`no benchmark modules matched ${[...wanted].join(", ")}`);
  Deno.exit(2);
}

const results: (BenchResult & { module: string; date?: string })[] = [];
const measuredAt = new Date().toISOString();
for (const name of modules) {
  console.error(`[bench] ${name} ...`);
  const mod = await import(new URL(`${name}.ts`, here).href);
  if (typeof mod.run !== "function") {
    console.error(`[bench] ${name}.ts exports no run(); skipped`);
    continue;
  }
  for (const r of await mod.run() as BenchResult[]) results.push({ module: name, ...r, date: measuredAt });
}
console.table(results.map(({ module, name, value, unit, reference, ratio, target, pass }) => ({
  module,
  name,
  value: Number(value.toPrecision(4)),
  unit,
  reference: reference === undefined ? "" : Number(reference.toPrecision(4)),
  ratio: ratio === undefined ? "" : Number(ratio.toPrecision(3)),
  target: target ?? "",
  pass: pass === undefined ? "" : pass ? "yes" : "NO",
})));
const out = new URL("results.json", here);
let kept: typeof results = [];
try {
  const previous = JSON.parse(await Deno.readTextFile(out)) as { date?: string; results?: typeof results };
  const rerun = new Set(modules);
  kept = (previous.results ?? []).filter((r) => !rerun.has(r.module)).map((r) => ({
    ...r,
    date: r.date ?? previous.date,
  }));
} catch (e) {
  if (!(e instanceof Deno.errors.NotFound)) console.error(`[bench] previous ${out.pathname} not kept: ${e}`);
}
const all = [...kept, ...results].sort((a, b) => a.module.localeCompare(b.module));
await Deno.writeTextFile(out, JSON.stringify({ date: measuredAt, results: all }, null, 2) + "\n");
console.error(`[bench] wrote ${out.pathname}`);
