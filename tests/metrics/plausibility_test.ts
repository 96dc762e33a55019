/** The plausibility guard's rules one at a time: mean IC, custom limits, accuracy with and without a test size. */
import assert from "node:assert/strict";
import { DAILY_SINGLE_STOCK_LIMITS, plausibilityCheck } from "../../lib/metrics/mod.ts";

const flagged = (r: ReturnType<typeof plausibilityCheck>) => r.flags.map((f) => [f.metric, f.value, f.limit]);

Deno.test("mean cross-sectional IC is flagged above the rank-IC limit, on either sign", () => {
  assert.deepEqual(flagged(plausibilityCheck({ meanIC: 0.12 })), [["meanIC", 0.12, 0.1]]);
  assert.deepEqual(flagged(plausibilityCheck({ meanIC: -0.15 })), [["meanIC", -0.15, 0.1]]);
  assert.equal(plausibilityCheck({ meanIC: 0.08 }).suspicious, false);
  assert.equal(plausibilityCheck({ meanIC: NaN }).suspicious, false);
  // Mean IC uses the rank-IC limit (0.10), not the looser pooled-Pearson one (0.20): 0.15 is flagged as mean IC only.
  const r = plausibilityCheck({ meanIC: 0.15, ic: 0.15 });
  assert.deepEqual(flagged(r), [["meanIC", 0.15, 0.1]]);
  assert.match(r.flags[0].reason, /\|meanIC\| = 0\.150 is far above daily norms/);
  assert.match(r.recommendation, /leakage audit/);
});

Deno.test("custom limits replace only the limits given; the rest stay at the daily single-stock defaults", () => {
  const limits = { maxAccuracy: 0.55, maxAnnualizedSharpe: 5 };
  const r = plausibilityCheck({ accuracy: 0.58, nTest: 1000, annualizedSharpe: 4, rankIc: 0.12 }, limits);
  assert.deepEqual(flagged(r), [["accuracy", 0.58, 0.55], ["rankIc", 0.12, DAILY_SINGLE_STOCK_LIMITS.maxAbsIC]]);
  assert.match(r.flags[0].reason, /58\.0 % is above 55 %/);
  // The same numbers under the defaults: 0.58 ≤ 0.60 passes, Sharpe 4 > 3 is flagged.
  const d = plausibilityCheck({ accuracy: 0.58, nTest: 1000, annualizedSharpe: 4, rankIc: 0.12 });
  assert.deepEqual(flagged(d), [["rankIc", 0.12, 0.1], ["annualizedSharpe", 4, 3]]);
  // Looser feature-IC limit for, say, weekly horizons.
  assert.equal(plausibilityCheck({ featureICs: { mom: 0.2 } }, { maxAbsFeatureIC: 0.25 }).suspicious, false);
  assert.deepEqual(flagged(plausibilityCheck({ featureICs: { mom: 0.2 } })), [["featureIC:mom", 0.2, 0.15]]);
  // The defaults object is not modified by a call with custom limits.
  assert.equal(DAILY_SINGLE_STOCK_LIMITS.maxAccuracy, 0.6);
});

Deno.test("accuracy without nTest is judged; with fewer than 30 test rows it is not", () => {
  // No test size given: the accuracy is taken at face value.
  assert.deepEqual(flagged(plausibilityCheck({ accuracy: 0.7 })), [["accuracy", 0.7, 0.6]]);
  assert.equal(plausibilityCheck({ accuracy: 0.7, nTest: 29 }).suspicious, false);
  assert.equal(plausibilityCheck({ accuracy: 0.7, nTest: 30 }).suspicious, true);
  assert.equal(plausibilityCheck({ accuracy: 0.6, nTest: 30 }).suspicious, false); // the limit itself passes
  assert.equal(plausibilityCheck({ accuracy: NaN, nTest: 500 }).suspicious, false);
  assert.deepEqual(plausibilityCheck({}), { suspicious: false, flags: [], recommendation: "" });
});

Deno.test("accuracy is judged against the strongest naive baseline when it is given: limit max(0.60, baseline + 0.07)", () => {
  // h = 20 in a rising market: always long scores 61.7 %; a model at 60.9 % is not too good to be true.
  assert.equal(plausibilityCheck({ accuracy: 0.609, nTest: 5000, baselineAccuracy: 0.617 }).suspicious, false);
  // 72 % against that baseline is 10.3 points over it: flagged at the limit 68.7 %.
  const r = plausibilityCheck({ accuracy: 0.72, nTest: 5000, baselineAccuracy: 0.617 });
  assert.equal(r.flags.length, 1);
  assert.ok(Math.abs(r.flags[0].limit - 0.687) < 1e-12);
  assert.match(r.flags[0].reason, /strongest naive baseline \(61\.7 %\)/);
  // Daily: a baseline of 52 % keeps the 60 % limit (52 + 7 = 59 is below it).
  assert.deepEqual(flagged(plausibilityCheck({ accuracy: 0.61, nTest: 5000, baselineAccuracy: 0.52 })), [[
    "accuracy",
    0.61,
    0.6,
  ]]);
});
