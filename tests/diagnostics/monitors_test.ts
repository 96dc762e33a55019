import assert from "node:assert/strict";
import type { EpochContext } from "../../lib/training/loop.ts";
import { diagnose, TrainingHealth } from "../../lib/diagnostics/health.ts";
import { GradientHealthMonitor, VarianceCollapseMonitor } from "../../lib/diagnostics/monitors.ts";
import { auditInputScale, nonFiniteCounts } from "../../lib/diagnostics/input_scale.ts";

function ctx(
  epoch: number,
  predictions: number[],
  o: Partial<EpochContext["record"]> = {},
  norms = [1, 1, 1, 1],
): EpochContext {
  const clipped = norms.map((n) => n > 5);
  return {
    record: {
      epoch,
      trainLoss: 1,
      components: { mse: 1 },
      lr: 1e-3,
      gradNorm: { mean: 1, median: 1, max: Math.max(...norms) },
      clipRatio: clipped.filter(Boolean).length / norms.length,
      steps: norms.length,
      noValidTargets: 0,
      seconds: 0,
      ...o,
    },
    predictions: Float32Array.from(predictions),
    targets: new Float32Array(predictions.length),
    stepGradNorms: norms,
    stepClipped: clipped,
  };
}

const spread = [-0.02, 0.01, 0.03, -0.01];
const flat = [0.0001, 0.0002, 0.0001, 0.0003]; // std ≈ 0.0001

Deno.test("collapse monitor: fires after `patience` collapsed checks, dated at the streak's first epoch", () => {
  const m = new VarianceCollapseMonitor({ minStd: 1e-3, patience: 3, warmup: 2 });
  const series = [flat, flat, spread, spread, flat, spread, flat, flat, flat, flat];
  series.forEach((p, i) => m.onEpochEnd(ctx(i + 1, p)));
  // epochs 1–2 are warmup (ignored although flat); the 5th epoch's streak breaks at 6; epochs 7, 8, 9 confirm.
  assert.equal(m.collapsedAt, 7);
  assert.equal(m.events().length, 1);
  assert.match(m.events()[0].message, /^collapsed at epoch 7: prediction std 0\.000\d+ < 0\.001$/);
});

Deno.test("health: healthy run gives 'healthy'; sign bias, clipping and imbalance produce one-liners", () => {
  const ok = new TrainingHealth();
  for (let e = 1; e <= 6; e++) for (const m of ok.monitors) m.onEpochEnd(ctx(e, spread));
  const s = ok.summary();
  assert.equal(s.verdict, "healthy");
  assert.equal(s.rows.length, 6);
  assert.ok(Math.abs(s.rows[0].predPositive - 0.5) < 1e-9);
  assert.equal(JSON.parse(JSON.stringify(s)).verdict, "healthy", "the summary is JSON");

  const bad = new TrainingHealth();
  for (let e = 1; e <= 6; e++) {
    for (const m of bad.monitors) {
      m.onEpochEnd(ctx(e, [0.2, 0.3, 0.1, 0.4], { components: { mse: 0.01, variance: 0.99 } }, [9, 8, 7, 6]));
    }
  }
  const v = bad.summary().verdict;
  assert.match(v, /sign bias from epoch 2: 100\.0% of predictions positive \(> 90%\)/);
  assert.match(v, /gradient clipped on 100% of steps/);
  assert.match(v, /loss dominated by "variance" \(99% of the total/);
});

Deno.test("gradient health: explosions relative to the running median; clip-ratio trend", () => {
  const g = new GradientHealthMonitor({ explosionFactor: 10 });
  g.onEpochEnd(ctx(1, spread, {}, [1, 1, 1, 1, 1, 1]));
  g.onEpochEnd(ctx(2, spread, {}, [1, 2, 50, 1]));
  assert.deepEqual(g.explosions, [0, 1]);
  assert.match(
    g.events()[0].message,
    /exploding gradients at epoch 2: 1 step\(s\) above 10× the running median \(worst 50×\)/,
  );
  const huge = new GradientHealthMonitor({ maxNorm: 1e3 });
  huge.onEpochEnd(ctx(1, spread, { gradNorm: { mean: 2e6, median: 2e6, max: 3e6 } }, [2e6, 2e6, 2e6, 3e6]));
  assert.equal(huge.events()[0].message, "exploding gradients at epoch 1: median step norm 2.0e+6 > 1000");
  const t = new GradientHealthMonitor();
  [1, 0.75, 0.5, 0.25].forEach((r, i) => t.onEpochEnd(ctx(i + 1, spread, { clipRatio: r })));
  assert.ok(Math.abs(t.clipTrend() + 0.25) < 1e-12);
  assert.ok(Math.abs(t.meanClipRatio() - 0.625) < 1e-12);
});

Deno.test("diagnose: most serious first, repeated events folded", () => {
  const line = diagnose({
    events: [
      { epoch: 3, kind: "gradient-explosion", message: "exploding gradients at epoch 3" },
      { epoch: 4, kind: "gradient-explosion", message: "exploding gradients at epoch 4" },
      { epoch: 5, kind: "non-finite", message: "non-finite loss at epoch 5" },
    ],
  });
  assert.equal(line, "non-finite loss at epoch 5; exploding gradients at epoch 3 (+1 more epochs)");
});

Deno.test("input audit: unscaled, constant and non-finite columns are flagged with counts", () => {
  const rows = 4;
  const data = Float32Array.from([
    [0.1, 2775, 1, NaN],
    [-0.2, 10, 1, 0.5],
    [0.3, 1500, 1, Infinity],
    [0.0, 0, 1, 0.1],
  ].flat());
  const r = auditInputScale({ data, rows, cols: 4, columns: ["ret", "price", "one", "gappy"] });
  assert.deepEqual(r.columns.map((c) => c.verdict), ["ok", "unscaled", "constant", "non-finite"]);
  assert.deepEqual(r.flagged, ["price", "one", "gappy"]);
  assert.equal(r.nonFinite, 2);
  assert.match(r.summary, /1 unscaled column\(s\): price \[0\.00, 2\.78e\+3\]/);
  assert.deepEqual(nonFiniteCounts({ data, rows, cols: 4, columns: ["ret", "price", "one", "gappy"] }), { gappy: 2 });
});
