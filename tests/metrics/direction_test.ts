import assert from "node:assert/strict";
import { DataError } from "../../lib/errors.ts";
import {
  alwaysLongBaseline,
  balancedRegressionWeights,
  coinFlipBaseline,
  directionAccuracy,
  directionBaselines,
  majorityClassBaseline,
  positivePredictionShare,
  previousSignBaseline,
} from "../../lib/metrics/mod.ts";

Deno.test("directionAccuracy: up iff > 0, zero returns count as down unless excluded", () => {
  const ret = [0.01, -0.02, 0, 0.03, -0.01];
  const pred = [0.2, -0.1, -0.3, -0.1, 0];
  // hits: row0 up/up, row1 down/down, row2 0 (down)/down, row3 up/down miss, row4 down/0 (down) → 4/5
  assert.equal(directionAccuracy(ret, pred), 4 / 5);
  // excluding the zero return: 3 of 4
  assert.equal(directionAccuracy(ret, pred, { zeros: "exclude" }), 3 / 4);
  // 0/1 labels work the same way as returns
  assert.equal(directionAccuracy([1, 0, 0, 1, 0], pred), 4 / 5);
  assert.ok(Number.isNaN(directionAccuracy([], [])));
  assert.throws(() => directionAccuracy([0.1, NaN], [1, 1]), DataError);
});

Deno.test("baselines: majority class from training labels, previous sign, always long, coin flip", () => {
  const test = [0.01, -0.01, 0.02, 0.03, -0.02, 0]; // up, down, up, up, down, down(zero)
  assert.equal(alwaysLongBaseline(test), 3 / 6);
  // training mostly down → predicts down everywhere → 3/6
  assert.equal(majorityClassBaseline([0, 0, 1], test), 3 / 6);
  // tie goes up
  assert.equal(majorityClassBaseline([0, 1], test), 3 / 6);
  assert.equal(majorityClassBaseline([1, 1, 0], [0.1, 0.2, -0.1]), 2 / 3);
  // previous sign: previous returns [+, +, -, +, +, -] vs truth [+, -, +, +, -, 0→down]
  assert.equal(previousSignBaseline([0.1, 0.2, -0.1, 0.1, 0.3, -0.2], test), 3 / 6);
  assert.equal(coinFlipBaseline(test), 0.5);
  const realized = coinFlipBaseline(new Float64Array(20_000).fill(1), { seed: 7 });
  assert.ok(Math.abs(realized - 0.5) < 0.02, `seeded coin flip ${realized}`);
  assert.equal(coinFlipBaseline(test, { seed: 7 }), coinFlipBaseline(test, { seed: 7 }));
});

Deno.test("balancedRegressionWeights give both signs equal total weight with mean weight 1", () => {
  const t = [0.1, 0.2, 0.3, -0.1, 0];
  const w = balancedRegressionWeights(t);
  // 3 positive, 2 non-positive: 5/6 and 5/4
  assert.deepEqual(Array.from(w), [5 / 6, 5 / 6, 5 / 6, 5 / 4, 5 / 4]);
  assert.equal(positivePredictionShare(t), 3 / 5);
  assert.equal(positivePredictionShare([0.4, 0.6, 0.7], 0.5), 2 / 3);
});

Deno.test("directionBaselines reports all four baselines on the same rows", () => {
  const test = [0.01, -0.01, 0.02, 0.03];
  const b = directionBaselines({ testTrue: test, trainLabels: [0, 0, 0, 1], previousReturn: [1, 1, 1, 1] });
  assert.deepEqual(b, { coinFlip: 0.5, majorityClass: 0.25, previousSign: 0.75, alwaysLong: 0.75 });
  assert.ok(Number.isNaN(directionBaselines({ testTrue: test, trainLabels: [1] }).previousSign));
});
