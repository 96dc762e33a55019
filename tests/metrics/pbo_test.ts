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

const closeTo = (a: number, b: number, tol: number, msg: string) =>
  assert.ok(Math.abs(a - b) <= tol, `${msg}: ${a} vs ${b}`);

Deno.test("PBO at the default S = 16 (12,870 combinations) equals the numpy/scipy CSCV", () => {
  const c = ref.pboS16;
  // S defaults to 16: no groups option.
  const r = probabilityOfBacktestOverfitting({ data: c.matrix, rows: c.rows, cols: c.cols });
  assert.equal(r.groups, 16);
  assert.equal(r.nCombinations, 12_870);
  assert.equal(r.nCombinations, c.nCombinations);
  assert.equal(r.pbo, c.pbo);
  assert.equal(r.probabilityOfLoss, c.probOosLoss);
  c.logitsHead.forEach((l, i) => closeTo(r.logits[i], l, 1e-9, `logit ${i}`));
  c.logitsTail.forEach((l, i) => closeTo(r.logits[r.nCombinations - 10 + i], l, 1e-9, `logit -${10 - i}`));
  let sum = 0;
  let sq = 0;
  for (const l of r.logits) {
    sum += l;
    sq += l * l;
  }
  closeTo(sum, c.logitsSum, 1e-7, "sum of logits");
  closeTo(sq, c.logitsSumSquares, 1e-6, "sum of squared logits");
  closeTo(r.degradation.slope, c.degradationSlope, 1e-8, "slope");
  closeTo(r.degradation.intercept, c.degradationIntercept, 1e-8, "intercept");
  assert.equal(r.degradation.combinations, c.degradationCombinations);
});

Deno.test("PBO with metric 'mean' ranks trials by mean return, as the numpy reference", () => {
  const c = ref.pboMean;
  const r = probabilityOfBacktestOverfitting({ data: c.matrix, rows: c.rows, cols: c.cols }, {
    groups: c.S,
    metric: "mean",
  });
  assert.equal(r.metric, "mean");
  assert.equal(r.logits.length, c.logits.length);
  r.logits.forEach((l, i) => closeTo(l, c.logits[i], 1e-9, `logit ${i}`));
  assert.equal(r.pbo, c.pbo);
  assert.equal(r.probabilityOfLoss, c.probOosLoss);
  closeTo(r.degradation.slope, c.degradationSlope, 1e-8, "slope");
  closeTo(r.degradation.intercept, c.degradationIntercept, 1e-10, "intercept");
  // The selected IS performance is a mean return here, not a Sharpe ratio: check one by hand (first combination,
  // groups 0..3 in sample = the first 60 rows; the winner is the trial with the highest mean over them).
  let best = -Infinity;
  for (let j = 0; j < c.cols; j++) {
    let s = 0;
    for (let t = 0; t < 60; t++) s += c.matrix[t * c.cols + j];
    best = Math.max(best, s / 60);
  }
  closeTo(r.selectedInSample[0], best, 1e-15, "IS mean of the selected trial");
  // Hand example: trial 0 wins the first half and loses the second, trial 1 is flat. Whichever half is in sample,
  // the winner ends up at the bottom out of sample: rank 1 of 2, ω = 1/3, logit ln(1/2), PBO 1.
  const flip = probabilityOfBacktestOverfitting([[1, 0], [1, 0], [-1, 0], [-1, 0]], { groups: 2, metric: "mean" });
  flip.logits.forEach((l) => closeTo(l, Math.log(0.5), 1e-15, "flip logit"));
  assert.equal(flip.pbo, 1);
  assert.equal(flip.probabilityOfLoss, 0.5); // IS {0}: trial 0 then loses −1; IS {1}: flat trial 1 loses nothing
  assert.deepEqual(flip.degradation, { slope: -1, intercept: 0, combinations: 2 });
  const steady = probabilityOfBacktestOverfitting([[1, 0], [1, 0], [1, 0], [1, 0]], { groups: 2, metric: "mean" });
  steady.logits.forEach((l) => closeTo(l, Math.log(2), 1e-15, "steady logit"));
  assert.equal(steady.pbo, 0);
  assert.throws(
    () => probabilityOfBacktestOverfitting([[1, 0], [1, 0]], { groups: 2, metric: "median" as "mean" }),
    ConfigError,
  );
});

Deno.test("zero-variance trials: ±∞ or 0 Sharpe, ranked like any value; the degradation fit skips infinities", () => {
  const c = ref.pboZeroVariance;
  const r = probabilityOfBacktestOverfitting({ data: c.matrix, rows: c.rows, cols: c.cols }, { groups: c.S });
  r.logits.forEach((l, i) => closeTo(l, c.logits[i], 1e-9, `logit ${i}`));
  assert.equal(r.pbo, c.pbo);
  assert.equal(r.probabilityOfLoss, c.probOosLoss);
  // Trial 2 is constant in groups 0, 2, 4: +∞ in sample for IS = {0, 2, 4} (combination 5) and out of sample for
  // IS = {1, 3, 5} (combination 14). Those two combinations are left out of the fit.
  assert.equal(r.selectedInSample[5], Infinity);
  assert.equal(r.selectedOutOfSample[14], Infinity);
  assert.equal(r.degradation.combinations, 18);
  assert.equal(c.degradationCombinations, 18);
  closeTo(r.degradation.slope, c.degradationSlope, 1e-8, "slope");
  closeTo(r.degradation.intercept, c.degradationIntercept, 1e-8, "intercept");

  // A constant that is not a binary fraction leaves rounding residue in the sums; it is still zero variance.
  const rows = [[0.001, 0.01], [0.001, -0.02], [0.001, 0.03], [0.001, 0.01]];
  const cst = probabilityOfBacktestOverfitting(rows, { groups: 2 });
  assert.deepEqual([...cst.selectedInSample], [Infinity, Infinity]);
  assert.deepEqual([...cst.selectedOutOfSample], [Infinity, Infinity]);
  cst.logits.forEach((l) => closeTo(l, Math.log(2), 1e-15, "constant-trial logit"));
  // Every combination selects an infinite Sharpe: no finite pair is left for the degradation line.
  assert.ok(Number.isNaN(cst.degradation.slope) && Number.isNaN(cst.degradation.intercept));
  assert.equal(cst.degradation.combinations, 0);
  // A flat trial (all zeros) has Sharpe 0, not NaN, and loses to a trial with positive Sharpe.
  const flat = probabilityOfBacktestOverfitting([[0, 0.01], [0, 0.02], [0, 0.03], [0, 0.01]], { groups: 2 });
  flat.logits.forEach((l) => closeTo(l, Math.log(2), 1e-15, "flat-trial logit"));
  assert.equal(flat.probabilityOfLoss, 0);
});
