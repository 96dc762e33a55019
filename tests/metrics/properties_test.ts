/** Properties of the classification metrics that must hold for any input (fast-check). */
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  accuracy,
  balancedAccuracy,
  directionAccuracy,
  macroF1,
  matthewsCorrelation,
  probabilityOfBacktestOverfitting,
} from "../../lib/metrics/mod.ts";

const labels = fc.array(fc.tuple(fc.integer({ min: 0, max: 2 }), fc.integer({ min: 0, max: 2 })), {
  minLength: 1,
  maxLength: 200,
});

Deno.test("metrics are invariant to row order; MCC is symmetric; perfect predictions score 1", () => {
  fc.assert(
    fc.property(labels, fc.integer(), (pairs, seed) => {
      const yt = pairs.map((p) => p[0]);
      const yp = pairs.map((p) => p[1]);
      const order = pairs.map((_, i) => i).sort((a, b) => ((a * 7919 + seed) % 101) - ((b * 7919 + seed) % 101));
      const yt2 = order.map((i) => yt[i]);
      const yp2 = order.map((i) => yp[i]);
      const eq = (a: number, b: number) => Math.abs(a - b) < 1e-12 || (Number.isNaN(a) && Number.isNaN(b));
      assert.ok(eq(macroF1(yt, yp), macroF1(yt2, yp2)));
      assert.ok(eq(balancedAccuracy(yt, yp), balancedAccuracy(yt2, yp2)));
      assert.ok(eq(matthewsCorrelation(yt, yp), matthewsCorrelation(yp, yt)));
      assert.equal(accuracy(yt, yt), 1);
      if (new Set(yt).size > 1) assert.ok(eq(matthewsCorrelation(yt, yt), 1));
      assert.ok(eq(macroF1(yt, yt), 1));
    }),
    { numRuns: 200, seed: 3 },
  );
});

Deno.test("any constant predictor: balanced accuracy 1/2 and MCC 0 on two classes, direction accuracy = base rate", () => {
  fc.assert(
    fc.property(fc.array(fc.double({ min: -1, max: 1, noNaN: true }), { minLength: 2, maxLength: 300 }), (ret) => {
      const up = ret.filter((r) => r > 0).length / ret.length;
      assert.ok(Math.abs(directionAccuracy(ret, ret.map(() => 1)) - up) < 1e-12);
      assert.ok(Math.abs(directionAccuracy(ret, ret.map(() => -1)) - (1 - up)) < 1e-12);
      const y = ret.map((r) => (r > 0 ? 1 : 0));
      if (new Set(y).size === 2) {
        assert.equal(balancedAccuracy(y, y.map(() => 1)), 0.5);
        assert.equal(matthewsCorrelation(y, y.map(() => 0)), 0);
      }
    }),
    { numRuns: 200, seed: 4 },
  );
});

Deno.test("PBO accepts an array of rows as well as a row-major matrix", () => {
  const rows = Array.from({ length: 40 }, (_, t) => Array.from({ length: 5 }, (_, j) => Math.sin(t * 1.3 + j * 2.1)));
  const a = probabilityOfBacktestOverfitting(rows, { groups: 4 });
  const b = probabilityOfBacktestOverfitting({ data: Float64Array.from(rows.flat()), rows: 40, cols: 5 }, {
    groups: 4,
  });
  assert.deepEqual(a, b);
  assert.equal(a.nCombinations, 6);
});
