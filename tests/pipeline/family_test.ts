/**
 * `familyVerdicts`: a study's entries read as one family of one-sided tests, Holm-corrected — by hand.
 */

import assert from "node:assert/strict";
import { familyVerdicts, type VerdictOf } from "../../lib/pipeline/evaluate.ts";

const entry = (
  name: string,
  verdict: "edge" | "no-edge",
  edgeP: number,
  ic: { value: number; pValue: number } = { value: NaN, pValue: NaN },
  verdictOn = "accuracy-vs-strongest-baseline",
): VerdictOf => ({ name, pooled: { verdict, verdictOn, edge: { pValue: edgeP }, icDriscollKraay: ic } });

Deno.test("familyVerdicts: Holm over the entries' one-sided p-values; an edge holds at adjusted p ≤ 2.5 %", () => {
  // Sorted p: 0.004 (×3 = 0.012), 0.01 (×2 = 0.02), 0.2 (×1 = 0.2).
  const f = familyVerdicts([entry("a", "edge", 0.01), entry("b", "no-edge", 0.2), entry("c", "edge", 0.004)]);
  assert.deepEqual([...f.keys()], ["a", "b", "c"]);
  assert.ok(Math.abs(f.get("a")!.adjustedP - 0.02) < 1e-15 && f.get("a")!.holds && f.get("a")!.tests === 3);
  assert.ok(Math.abs(f.get("b")!.adjustedP - 0.2) < 1e-15 && !f.get("b")!.holds);
  assert.ok(Math.abs(f.get("c")!.adjustedP - 0.012) < 1e-15 && f.get("c")!.holds);
  // An edge whose adjusted p passes 2.5 % does not hold: 0.015 alone would, but ×2 it is 0.03.
  const two = familyVerdicts([entry("x", "edge", 0.015), entry("y", "edge", 0.02)]);
  assert.equal(two.get("x")!.holds, false);
  assert.ok(Math.abs(two.get("x")!.adjustedP - 0.03) < 1e-15);
  assert.deepEqual([...f.values()].map((v) => v.edge), [true, false, true]);
  // A no-edge verdict never holds, however small its p.
  assert.equal(familyVerdicts([entry("n", "no-edge", 0.001), entry("m", "edge", 0.5)]).get("n")!.holds, false);
});

Deno.test("familyVerdicts: IC verdicts use half the two-sided Driscoll–Kraay p on the estimate's side; undefined p is left out", () => {
  const ic = (value: number, pValue: number) => entry("r", "edge", NaN, { value, pValue }, "ic");
  // IC 0.03 with two-sided p 0.01 → one-sided 0.005; beside an accuracy verdict at 0.02: ×2 = 0.01, then 0.02.
  const f = familyVerdicts([ic(0.03, 0.01), entry("k", "edge", 0.02)]);
  assert.ok(Math.abs(f.get("r")!.adjustedP - 0.01) < 1e-15);
  assert.ok(Math.abs(f.get("k")!.adjustedP - 0.02) < 1e-15);
  // A negative IC is on the wrong side: one-sided p = 1 − 0.01 / 2.
  assert.ok(Math.abs(familyVerdicts([ic(-0.03, 0.01)]).get("r")!.adjustedP - 0.995) < 1e-15);
  // An entry without a defined p-value is not a test: k counts the others.
  const g = familyVerdicts([entry("u", "no-edge", NaN), entry("v", "edge", 0.01)]);
  assert.equal(g.has("u"), false);
  assert.equal(g.get("v")!.tests, 1);
  // Nor is a run summary stored without the field its verdict needs (an earlier version's record): no error either.
  const legacy: VerdictOf = { name: "old", pooled: { verdict: "edge", verdictOn: "accuracy-vs-strongest-baseline" } };
  const h = familyVerdicts([legacy, entry("w", "edge", 0.01)]);
  assert.equal(h.has("old"), false);
  assert.equal(h.get("w")!.tests, 1);
});
