/** Class and sample weights and the text classification report, checked on hand-computed examples. */
import assert from "node:assert/strict";
import { ConfigError, DataError } from "../../lib/errors.ts";
import {
  balancedRegressionWeights,
  classificationReport,
  classWeights,
  formatClassificationReport,
  sampleWeightsFromClasses,
} from "../../lib/metrics/mod.ts";

Deno.test("balancedRegressionWeights: all one sign falls back to weight 1; non-finite targets are refused", () => {
  // Only positive targets (a bull sample) or only non-positive ones (zero counts as down): there is no other side to
  // balance against, so every row keeps weight 1 (mean weight 1, as in the two-sided case) instead of n / (2 · 0).
  assert.deepEqual([...balancedRegressionWeights([0.1, 0.2, 0.01])], [1, 1, 1]);
  assert.deepEqual([...balancedRegressionWeights([-0.1, 0, -0.3, 0])], [1, 1, 1, 1]);
  assert.deepEqual([...balancedRegressionWeights([])], []);
  // One positive among four: 4 / (2 · 1) = 2 for it, 4 / (2 · 3) = 2/3 for the rest; each side totals n / 2 = 2.
  const w = balancedRegressionWeights(new Float64Array([-0.1, 0.5, 0, -0.2]));
  assert.deepEqual([...w], [2 / 3, 2, 2 / 3, 2 / 3]);
  for (const bad of [NaN, Infinity, -Infinity]) {
    assert.throws(() => balancedRegressionWeights([0.1, bad, -0.1]), (e: unknown) => {
      assert.ok(e instanceof DataError);
      assert.match(e.message, /non-finite target at row 1/);
      return true;
    });
  }
});

Deno.test("sampleWeightsFromClasses maps each row to its class weight and refuses an unweighted label", () => {
  const y = [0, 1, 1, 0, 0, 0]; // counts 4 and 2: balanced 6 / (2 · 4) = 3/4 and 6 / (2 · 2) = 3/2
  const w = sampleWeightsFromClasses(y, classWeights(y, "balanced"));
  assert.ok(w instanceof Float64Array);
  assert.deepEqual([...w], [0.75, 1.5, 1.5, 0.75, 0.75, 0.75]);
  assert.equal(w.reduce((s, x) => s + x, 0), 6); // balanced weights keep the total at n
  // Weights fitted on training labels, applied to rows with a label that training never saw: refused, not weight 0.
  assert.throws(() => sampleWeightsFromClasses([0, 2], { 0: 1, 1: 1 }), (e: unknown) => {
    assert.ok(e instanceof ConfigError);
    assert.match(e.message, /no class weight for label 2 \(row 1\)/);
    return true;
  });
  assert.deepEqual([...sampleWeightsFromClasses([], { 0: 1 })], []);
});

Deno.test("formatClassificationReport prints scikit-learn's table layout", () => {
  // class 0: P 1/3, R 1/2, F1 2/5, support 2; class 1: P = R = F1 = 2/3, support 3; class 2: never predicted, 0s.
  // accuracy 3/6; macro P (1/3 + 2/3 + 0)/3, R (1/2 + 2/3)/3 = 0.389, F1 16/45 = 0.356;
  // weighted P (2/3 + 2)/6 = 0.444, R (1 + 2)/6 = 0.5, F1 (0.8 + 2)/6 = 0.467.
  const report = classificationReport([0, 0, 1, 1, 1, 2], [0, 1, 1, 1, 0, 0]);
  const expected = [
    "               precision    recall        f1   support",
    "             0      0.33      0.50      0.40         2",
    "             1      0.67      0.67      0.67         3",
    "             2      0.00      0.00      0.00         1",
    "",
    "      accuracy                          0.50         6",
    "     macro avg      0.33      0.39      0.36         6",
    "  weighted avg      0.44      0.50      0.47         6",
  ].join("\n");
  assert.equal(formatClassificationReport(report, 2), expected);
  // Default: three digits.
  assert.equal(
    formatClassificationReport(report).split("\n")[1],
    "             0     0.333     0.500     0.400         2",
  );
});
