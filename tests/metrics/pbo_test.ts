import assert from "node:assert/strict";
import ref from "../fixtures/metrics/reference.json" with { type: "json" };
import { ConfigError } from "../../lib/errors.ts";
import { probabilityOfBacktestOverfitting } from "../../lib/metrics/mod.ts";
import { xoroshiro128plus } from "pure-rand/generator/xoroshiro128plus";
import { uniformFloat64 } from "pure-rand/distribution/uniformFloat64";

Deno.test("PBO, logits, probability of OOS loss and degradation equal a direct numpy/scipy CSCV", () => {
  for (const c of ref.pbo) {
    const r = probabilityOfBacktestOverfitting({ data: c.matrix, rows: c.rows, cols: c.cols }, { groups: c.S });
    assert.equal(r.logits.length, c.logits.length, c.name);
    r.logits.forEach((l, i) =>
      assert.ok(Math.abs(l - c.logits[i]) < 1e-9, `${c.name} logit ${i}: ${l} vs ${c.logits[i]}`)
    );
    assert.equal(r.pbo, c.pbo, c.name);
    assert.equal(r.probabilityOfLoss, c.probOosLoss, c.name);
    assert.ok(Math.abs(r.degradation.slope - c.degradationSlope) < 1e-8, `${c.name} slope`);
    assert.ok(Math.abs(r.degradation.intercept - c.degradationIntercept) < 1e-8, `${c.name} intercept`);
  }
});

Deno.test("PBO is low when one trial has real skill and about one half on pure noise", () => {
  const rng = xoroshiro128plus(2026);
  const gauss = () => {
    const u = 1 - uniformFloat64(rng);
    const v = uniformFloat64(rng);
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  };
  const T = 1600, N = 40;
  const noise = new Float64Array(T * N).map(() => 0.01 * gauss());
  const skilled = noise.map((x, i) => (i % N === 7 ? x + 0.004 : x));
  const rSkill = probabilityOfBacktestOverfitting({ data: skilled, rows: T, cols: N }, { groups: 10 });
  assert.equal(rSkill.nCombinations, 252);
  assert.ok(rSkill.pbo < 0.05, `skilled PBO ${rSkill.pbo}`);
  assert.ok(rSkill.probabilityOfLoss < 0.05);
  // Under the null the selected trial's OOS rank is uniform, so PBO averages 1/2 over independent noise matrices
  // (a single matrix's PBO varies a lot: its combinations share data).
  let mean = 0;
  const reps = 40;
  for (let r = 0; r < reps; r++) {
    const m = new Float64Array(400 * 20).map(() => 0.01 * gauss());
    mean += probabilityOfBacktestOverfitting({ data: m, rows: 400, cols: 20 }, { groups: 8 }).pbo / reps;
  }
  assert.ok(mean > 0.3 && mean < 0.7, `mean noise PBO ${mean}`);
  assert.throws(() => probabilityOfBacktestOverfitting({ data: noise, rows: T, cols: N }, { groups: 7 }), ConfigError);
});
