import assert from "node:assert/strict";
import { annualizeReturn, walkForwardEfficiency } from "../../lib/validation/efficiency.ts";
import { plausibilityCheck } from "../../lib/metrics/plausibility.ts";

Deno.test("accuracy-form WFE is baseline-adjusted and undefined without a validation edge", () => {
  assert.equal(walkForwardEfficiency({ form: "accuracy", test: 0.53, validation: 0.56 }).efficiency, 0.03 / 0.06);
  // Validation at chance: undefined — not 100 % even though test equals validation.
  const flat = walkForwardEfficiency({ form: "accuracy", test: 0.5, validation: 0.5 });
  assert.equal(flat.efficiency, null);
  assert.match(flat.reason!, /undefined/);
  assert.equal(walkForwardEfficiency({ form: "accuracy", test: 0.52, validation: 0.503 }).efficiency, null);
  // Below-baseline validation does not produce a positive ratio of two negative edges.
  assert.equal(walkForwardEfficiency({ form: "accuracy", test: 0.45, validation: 0.47 }).efficiency, null);
  // Test below baseline gives a negative efficiency.
  const neg = walkForwardEfficiency({ form: "accuracy", test: 0.48, validation: 0.54 }).efficiency!;
  assert.ok(Math.abs(neg - -0.5) < 1e-12);
  // Majority-class baseline
  const maj = walkForwardEfficiency({ form: "accuracy", test: 0.56, validation: 0.58, baseline: 0.54 }).efficiency!;
  assert.ok(Math.abs(maj - 0.5) < 1e-12);
});

Deno.test("Pardo's return-form WFE handles the sign pitfall", () => {
  assert.equal(walkForwardEfficiency({ form: "return", outOfSample: 0.06, inSample: 0.12 }).efficiency, 0.5);
  assert.equal(walkForwardEfficiency({ form: "return", outOfSample: -0.03, inSample: 0.12 }).efficiency, -0.25);
  // A loss over a loss would read as +50 %: refused.
  const inv = walkForwardEfficiency({ form: "return", outOfSample: -0.05, inSample: -0.1 });
  assert.equal(inv.efficiency, null);
  assert.match(inv.reason!, /sign/);
  // Annualization makes windows of different length comparable: 21 % over two years ≈ 10 % a year.
  assert.ok(Math.abs(annualizeReturn(0.21, 504) - 0.1) < 1e-12);
});

Deno.test("plausibility guard flags too-good numbers with reasons and recommends the audit", () => {
  const ok = plausibilityCheck({ accuracy: 0.53, nTest: 5000, ic: 0.03, rankIc: 0.02 });
  assert.equal(ok.suspicious, false);
  const bad = plausibilityCheck({ accuracy: 0.71, nTest: 5000, ic: 0.4, featureICs: { fwd: 0.9, mom: 0.02 } });
  assert.equal(bad.suspicious, true);
  assert.deepEqual(bad.flags.map((f) => f.metric), ["accuracy", "ic", "featureIC:fwd"]);
  assert.match(bad.recommendation, /leakage audit/);
  // Too few rows to judge an accuracy.
  assert.equal(plausibilityCheck({ accuracy: 0.8, nTest: 10 }).suspicious, false);
});
