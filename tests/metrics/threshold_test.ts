import assert from "node:assert/strict";
import ref from "../fixtures/metrics/reference.json" with { type: "json" };
import { applyThreshold, bestF1Threshold, f1Score } from "../../lib/metrics/mod.ts";

Deno.test("bestF1Threshold finds scikit-learn's best point of the precision-recall curve", () => {
  const c = ref.bestF1;
  const best = bestF1Threshold(c.yTrue, c.scores);
  assert.equal(best.threshold, c.threshold);
  assert.ok(Math.abs(best.f1 - c.f1) < 1e-12);
  // Applying the threshold reproduces the F1 it reported.
  assert.ok(Math.abs(f1Score(c.yTrue, applyThreshold(c.scores, best.threshold)) - best.f1) < 1e-12);
});

Deno.test("a threshold chosen on validation is applied unchanged to test", () => {
  const valY = [0, 0, 1, 1, 1, 0];
  const valS = [0.1, 0.4, 0.35, 0.8, 0.6, 0.7];
  const { threshold } = bestF1Threshold(valY, valS);
  // candidates: ≥0.8 → F1 0.5; ≥0.7 → 0.4; ≥0.6 → 4/7; ≥0.4 → 0.5; ≥0.35 → 0.75; ≥0.1 → 2/3.
  assert.equal(threshold, 0.35);
  assert.deepEqual(Array.from(applyThreshold([0.2, 0.35, 0.9], threshold)), [0, 1, 1]);
  assert.equal(bestF1Threshold([0, 0], [0.3, 0.4]).threshold, Infinity);
});
