import assert from "node:assert/strict";
import { join } from "node:path";
import { efficiencyGate, foldEfficiency, runPipeline, WFE_THRESHOLD } from "../../lib/pipeline/run.ts";
import type { PipelineResult } from "../../lib/pipeline/run.ts";
import { openStore } from "../../lib/store/mod.ts";

const SMALL = { kind: "synthetic" as const, symbols: 8, days: 900, seed: 7 };
const FAST_MODEL = { numBoostRound: 150, earlyStoppingRounds: 20 };
const close = (a: number, b: number, tol = 1e-12) => Math.abs(a - b) <= tol;

Deno.test("foldEfficiency: (test − 0.5) / (validation − 0.5), undefined without a validation edge or rows", () => {
  // 0.52 keeps 2 of the validation tail's 4 points of edge.
  assert.ok(close(foldEfficiency(0.52, 0.54).efficiency!, 0.5));
  // Below the coin flip out of sample: negative.
  assert.ok(close(foldEfficiency(0.49, 0.55).efficiency!, -0.2));
  // An edge of 0.4 points is under the 0.5-point ε: no edge to retain, not "efficiency 1.5".
  const none = foldEfficiency(0.506, 0.504);
  assert.equal(none.efficiency, null);
  assert.match(none.reason!, /no edge to retain/);
  assert.equal(foldEfficiency(NaN, 0.6).efficiency, null);
  assert.equal(foldEfficiency(0.55, NaN).efficiency, null);
});

Deno.test("efficiencyGate pools row-weighted accuracies and warns below 0.5 or when undefined", () => {
  assert.equal(WFE_THRESHOLD, 0.5);
  // Validation (0.55·1000 + 0.53·1000) / 2000 = 0.54 (edge 0.04 > 1/√2000 ≈ 0.022); test (0.52·300 + 0.51·200) / 500
  // = 0.516; efficiency 0.016 / 0.04 = 0.4 < 0.5.
  const low = efficiencyGate([
    { validationAccuracy: 0.55, nValidation: 1000, testAccuracy: 0.52, nTest: 300 },
    { validationAccuracy: 0.53, nValidation: 1000, testAccuracy: 0.51, nTest: 200 },
  ]);
  assert.ok(close(low.pooled.validationAccuracy, 0.54));
  assert.ok(close(low.pooled.testAccuracy, 0.516));
  assert.ok(close(low.pooled.efficiency!, 0.4, 1e-9));
  assert.match(low.warning!, /walk-forward efficiency 0\.40 < 0\.5: .*54\.0%.*51\.6%/);

  // 0.05 of 0.06 points survive: 0.8333…, no warning (the 6-point edge on 500 tail rows clears 1/√500 ≈ 0.045).
  const kept = efficiencyGate([{ validationAccuracy: 0.56, nValidation: 500, testAccuracy: 0.55, nTest: 80 }]);
  assert.ok(close(kept.pooled.efficiency!, 0.05 / 0.06, 1e-9));
  assert.equal(kept.warning, undefined);

  // No validation edge: undefined, and said so.
  const flat = efficiencyGate([
    { validationAccuracy: 0.51, nValidation: 100, testAccuracy: 0.6, nTest: 100 },
    { validationAccuracy: 0.496, nValidation: 100, testAccuracy: 0.6, nTest: 100 },
  ]);
  assert.equal(flat.pooled.efficiency, null);
  assert.match(flat.warning!, /walk-forward efficiency undefined: .*no edge to retain/);

  // A fold without validation rows does not count in the pooled validation accuracy.
  const empty = efficiencyGate([
    { validationAccuracy: NaN, nValidation: 0, testAccuracy: 0.5, nTest: 10 },
    { validationAccuracy: 0.6, nValidation: 400, testAccuracy: 0.55, nTest: 10 },
  ]);
  assert.ok(close(empty.pooled.validationAccuracy, 0.6));
  assert.ok(close(empty.pooled.efficiency!, 0.025 / 0.1, 1e-9));
});

/** The fold and pooled WFE a run reports must follow from its own fold accuracies by the formula. */
function checkConsistent(r: PipelineResult): void {
  let vs = 0, vn = 0;
  for (const f of r.folds) {
    const v = f.metrics.validationAccuracy;
    assert.ok(v >= 0 && v <= 1, `fold ${f.index} validation accuracy ${v}`);
    assert.ok(f.nValidation > 0);
    // Accuracies on n rows are multiples of 1/n.
    assert.ok(close(Math.round(v * f.nValidation) / f.nValidation, v));
    vs += v * f.nValidation;
    vn += f.nValidation;
    // Defined only when the tail's edge exceeds 2 standard errors of its accuracy, 2·sqrt(0.25 / n) = 1/√n.
    if (v - 0.5 > Math.max(0.005, 1 / Math.sqrt(f.nValidation))) {
      assert.ok(close(f.metrics.wfe, (f.metrics.accuracy - 0.5) / (v - 0.5)));
    } else {
      assert.equal("wfe" in f.metrics, false, "undefined WFE is absent from the metrics");
      assert.ok(r.warnings.some((w) => w.startsWith(`fold ${f.index + 1}: walk-forward efficiency undefined`)));
    }
  }
  assert.ok(close(r.pooled.validationAccuracy, vs / vn));
  assert.ok(close(r.efficiency.testAccuracy, r.pooled.accuracy));
  if (r.efficiency.efficiency !== null) {
    assert.ok(close(r.pooled.wfe, (r.pooled.accuracy - 0.5) / (vs / vn - 0.5), 1e-9));
  }
}

Deno.test("pipeline WFE on a random walk: whatever edge the validation tails show does not survive, and the run says so", async () => {
  const dir = await Deno.makeTempDir();
  const store = openStore(join(dir, "runs.db"));
  try {
    const r = await runPipeline({ data: { ...SMALL, mode: "random-walk" }, folds: 3, model: FAST_MODEL }, { store });
    checkConsistent(r);
    // Nothing is predictable: the test accuracy is a coin flip (within 4 SE), so the efficiency is undefined or low.
    assert.ok(Math.abs(r.pooled.accuracy - 0.5) < 4 * 0.5 / Math.sqrt(r.pooled.nTest));
    assert.ok(r.efficiency.efficiency === null || r.efficiency.efficiency < WFE_THRESHOLD);
    const warning = r.warnings.find((w) => w.startsWith("walk-forward efficiency"));
    assert.ok(warning, r.warnings.join("\n"));
    assert.match(warning, /undefined|does not survive out of sample/);
    const stored = (await store.getRun(r.runId!))!;
    assert.ok((stored.summary!.warnings as string[]).includes(warning));
    const diag = stored.diagnostics.find((d) => d.kind === "walk-forward-efficiency")!;
    assert.equal(diag.fold, null);
    assert.equal(diag.severity, "warning");
    assert.equal(diag.message, warning);
    for (const f of stored.folds) {
      assert.equal(f.metrics.validationAccuracy, r.folds[f.index].metrics.validationAccuracy);
    }
  } finally {
    await store.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("pipeline WFE on the planted market: the validation edge is real and carries out of sample", async () => {
  const r = await runPipeline({ data: { ...SMALL, mode: "planted" }, folds: 3, model: FAST_MODEL });
  checkConsistent(r);
  // The planted driver gives the tails a real edge (well above ε), so the pooled efficiency is defined, and a
  // learnable, stationary signal keeps most of it: no WFE warning.
  assert.ok(r.pooled.validationAccuracy > 0.52, `validation accuracy ${r.pooled.validationAccuracy}`);
  assert.notEqual(r.efficiency.efficiency, null);
  assert.ok(r.pooled.wfe >= WFE_THRESHOLD, `WFE ${r.pooled.wfe}`);
  assert.equal(r.warnings.some((w) => w.startsWith("walk-forward efficiency")), false);
});
