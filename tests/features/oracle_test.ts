/**
 * Every built-in feature against an independent pandas/numpy implementation (bench/reference/features.py, committed
 * output in tests/fixtures/features/oracle.json: two seeded symbols at different price levels, one with a split-like
 * adjustment factor, so the price basis is exercised).
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import pl from "nodejs-polars";
import { computeFeatures, float64Column, FULL_FEATURES } from "../../lib/mod.ts";
import { panelFromFrame } from "./_panels.ts";

const oracle = JSON.parse(
  readFileSync(new URL("../fixtures/features/oracle.json", import.meta.url), "utf8"),
) as { input: Record<string, (string | number)[]>; features: Record<string, (number | null)[]> };

Deno.test("all built-in features match the pandas/numpy reference to 1e-8 (relative), NaN where it has NaN", () => {
  const frame = pl.DataFrame(oracle.input).withColumns(
    pl.col(["open", "high", "low", "close", "adj_close", "volume"]).cast(pl.Float64),
  );
  const panel = panelFromFrame(frame);
  const out = computeFeatures(panel, FULL_FEATURES);
  const missing = FULL_FEATURES.filter((d) => !(d.name in oracle.features)).map((d) => d.name);
  assert.deepEqual(missing, [], "the reference must cover every built-in feature");
  const bad: string[] = [];
  for (const d of FULL_FEATURES) {
    const ours = float64Column(out, d.name);
    const ref = oracle.features[d.name];
    const known = ref.filter((v) => v !== null).length;
    if (known < 20) bad.push(`${d.name}: only ${known} reference values`);
    for (let i = 0; i < ref.length; i++) {
      const r = ref[i];
      const o = ours[i];
      const ok = r === null ? Number.isNaN(o) : Math.abs(o - r) <= 1e-8 * Math.max(1, Math.abs(r));
      if (!ok) {
        bad.push(`${d.name}[${i}] (${oracle.input.symbol[i]} ${oracle.input.date[i]}): ours ${o}, reference ${r}`);
        break;
      }
    }
  }
  assert.deepEqual(bad, []);
});
