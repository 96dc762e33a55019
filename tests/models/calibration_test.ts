/** Calibration (centering, isotonic vs scikit-learn) and the positive-share check. */
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  applyCalibrator,
  checkPositiveShare,
  fitCalibrator,
  fitCentering,
  fitIsotonic,
} from "../../lib/models/calibration/calibration.ts";
import { ConfigError } from "../../lib/errors.ts";

const fx: {
  x: number[];
  y: number[];
  w: number[];
  x_new: number[];
  cases: { weighted: boolean; train: number[]; new: number[] }[];
} = JSON.parse(await Deno.readTextFile(new URL("./fixtures/isotonic_sklearn.json", import.meta.url)));

for (const c of fx.cases) {
  Deno.test(`calibration: isotonic${c.weighted ? " (weighted)" : ""} matches scikit-learn, ties and clipping included`, () => {
    const cal = fitIsotonic(fx.x, fx.y, c.weighted ? { sampleWeight: fx.w } : {});
    const train = applyCalibrator(cal, fx.x), fresh = applyCalibrator(cal, fx.x_new);
    train.forEach((v, i) => assert.ok(Math.abs(v - c.train[i]) < 1e-12, `train ${i}: ${v} vs ${c.train[i]}`));
    fresh.forEach((v, i) => assert.ok(Math.abs(v - c.new[i]) < 1e-12, `new ${i}: ${v} vs ${c.new[i]}`));
  });
}

Deno.test("calibration: isotonic output is non-decreasing in the input and preserves the weighted mean", () => {
  fc.assert(fc.property(
    fc.array(fc.tuple(fc.double({ min: 0, max: 1, noNaN: true }), fc.integer({ min: 0, max: 1 })), {
      minLength: 1,
      maxLength: 60,
    }),
    (pairs) => {
      const x = pairs.map((p) => p[0]), y = pairs.map((p) => p[1]);
      const cal = fitIsotonic(x, y);
      const fitted = applyCalibrator(cal, x);
      const order = x.map((_, i) => i).sort((a, b) => x[a] - x[b]);
      for (let k = 1; k < order.length; k++) assert.ok(fitted[order[k]] >= fitted[order[k - 1]] - 1e-12);
      const mean = (a: ArrayLike<number>) => Array.from(a).reduce((s, v) => s + v, 0) / a.length;
      assert.ok(Math.abs(mean(fitted) - mean(y)) < 1e-9);
    },
  ));
});

Deno.test("calibration: centering shifts by mean(y) − mean(pred) and clips probabilities", () => {
  const pred = [0.7, 0.8, 0.9, 0.6], y = [1, 0, 0, 1]; // mean pred 0.75, mean y 0.5
  const cal = fitCentering(pred, y, { clip: [0, 1] });
  assert.equal(cal.kind, "centering");
  assert.ok(cal.kind === "centering" && Math.abs(cal.offset + 0.25) < 1e-12);
  const out = applyCalibrator(cal, [0.75, 0.1, 1.2]);
  assert.ok(Math.abs(out[0] - 0.5) < 1e-12);
  assert.equal(out[1], 0);
  assert.ok(Math.abs(out[2] - 0.95) < 1e-12);
  // Weighted: only the first two rows count.
  const w = fitCentering(pred, y, { sampleWeight: [1, 1, 0, 0] });
  assert.ok(w.kind === "centering" && Math.abs(w.offset - (0.5 - 0.75)) < 1e-12);
  assert.deepEqual(applyCalibrator(fitCalibrator("none", pred, y), pred), Float64Array.from(pred));
  assert.throws(() => fitCalibrator("platt" as "none", pred, y), ConfigError);
});

Deno.test("bias check: the share of positive calls outside the band gives a warning", () => {
  const biased = Array.from({ length: 100 }, (_, i) => (i < 90 ? 0.6 : 0.4));
  const c = checkPositiveShare(biased, { band: [0.3, 0.7] });
  assert.equal(c.share, 0.9);
  assert.equal(c.ok, false);
  assert.match(c.warning!, /90\.0 %/);
  const fine = checkPositiveShare([0.6, 0.4, 0.55, 0.45]);
  assert.equal(fine.share, 0.5);
  assert.ok(fine.ok && fine.warning === undefined);
  assert.equal(checkPositiveShare([0.01, -0.02, 0.03], { threshold: 0 }).share, 2 / 3);
});
