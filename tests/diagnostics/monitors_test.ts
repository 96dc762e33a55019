import assert from "node:assert/strict";
import type { EpochContext } from "../../lib/training/loop.ts";
import { diagnose, TrainingHealth } from "../../lib/diagnostics/health.ts";
import {
  GradientHealthMonitor,
  LossBalanceMonitor,
  SignBiasMonitor,
  VarianceCollapseMonitor,
  weightedLossShares,
} from "../../lib/diagnostics/monitors.ts";
import { summarizeOutputs } from "../../lib/training/loop.ts";
import { SeededRandom } from "../../lib/training/rng.ts";
import { initBackend } from "../../lib/models/nn/backend.ts";
import { MLPModel } from "../../lib/models/nn/mlp.ts";
import type { Matrix } from "../../lib/data/matrix.ts";
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
  assert.ok(Math.abs(s.rows[0].predPositive! - 0.5) < 1e-9);
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
  assert.match(v, /loss dominated by "variance" \(99% of the weighted total/);
});

Deno.test("loss balance: the data term may dominate; an auxiliary head or penalty above half of the loss may not", () => {
  const judge = (components: Record<string, number>) => {
    const m = new LossBalanceMonitor();
    m.onEpochEnd(ctx(1, spread, { components }, [1]));
    return m.events();
  };
  assert.deepEqual(judge({ mse: 1 }), []);
  assert.deepEqual(judge({ mse: 0.99, variance: 0.01 }), [], "a small penalty on a healthy loss is not an imbalance");
  assert.deepEqual(judge({ mse: 0.6, magnitude: 0.3, volatility: 0.1 }), []);
  const flagged = judge({ mse: 0.2, magnitude: 0.05, volatility: 0.75 });
  assert.equal(flagged.length, 1);
  assert.match(
    flagged[0].message,
    /loss dominated by "volatility" \(75% of the weighted total at the last epoch; the data term "mse" 20%\)/,
  );
});

Deno.test("loss balance: shares are the weighted terms w·c over their sum, as the loss weighs them", () => {
  const judge = (components: Record<string, number>, componentWeights?: Record<string, number>) => {
    const m = new LossBalanceMonitor();
    m.onEpochEnd(ctx(1, spread, { components, componentWeights }, [1]));
    return { shares: m.shares[0], events: m.events() };
  };
  const close = (a: Record<string, number>, b: Record<string, number>) => {
    assert.deepEqual(Object.keys(a), Object.keys(b));
    for (const k of Object.keys(b)) assert.ok(Math.abs(a[k] - b[k]) < 1e-12, `${k}: ${a[k]} vs ${b[k]}`);
  };
  // NOTEARS at λ = 0.01: ‖W‖₁ = 8 is logged unweighted next to a reconstruction of 0.5. Terms: 0.5, 0.01·8 = 0.08,
  // 2·0.005 = 0.01, 0.5·0.0001 = 0.00005; sum 0.59005. As logged, ‖W‖₁ would be 8 / 8.5051 = 94 % and flagged; the
  // loss gives it 0.08 / 0.59005 = 13.6 %.
  const notears = judge(
    { reconstruction: 0.5, sparsity: 8, acyclicity: 0.005, acyclicitySquared: 0.0001 },
    { reconstruction: 1, sparsity: 0.01, acyclicity: 2, acyclicitySquared: 0.5 },
  );
  close(notears.shares, {
    reconstruction: 0.5 / 0.59005,
    sparsity: 0.08 / 0.59005,
    acyclicity: 0.01 / 0.59005,
    acyclicitySquared: 0.00005 / 0.59005,
  });
  assert.deepEqual(notears.events, [], "a large but lightly weighted ‖W‖₁ is not a dominant penalty");
  // Directional MSE (0.4·mse + 0.6·direction): unweighted, direction is 0.8 / 1.8 = 44 % (not flagged); weighted it is
  // 0.48 / (0.4 + 0.48) = 54.5 %, above half of the loss.
  const directional = judge({ mse: 1, direction: 0.8 }, { mse: 0.4, direction: 0.6 });
  close(directional.shares, { mse: 0.4 / 0.88, direction: 0.48 / 0.88 });
  assert.equal(directional.events.length, 1);
  assert.match(directional.events[0].message, /loss dominated by "direction" \(55% of the weighted total.*"mse" 45%\)/);
  // Absent weights are 1 (records written before weights were logged); a negative weight counts by its size.
  close(judge({ mse: 3, variance: 1 }).shares, { mse: 0.75, variance: 0.25 });
  close(weightedLossShares({ components: { mse: 2, bonus: 1 }, componentWeights: { bonus: -2 } }), {
    mse: 0.5,
    bonus: 0.5,
  });
  close(weightedLossShares({ components: { mse: 0, l2: 0 } }), { mse: 0, l2: 0 });
});

Deno.test("health log: each row carries the components' weights, and the summary judges the weighted shares", () => {
  const health = new TrainingHealth();
  const record = { components: { reconstruction: 0.5, sparsity: 8 }, componentWeights: { sparsity: 0.01 } };
  for (let e = 1; e <= 3; e++) for (const m of health.monitors) m.onEpochEnd(ctx(e, spread, record));
  const s = health.summary();
  assert.deepEqual(s.rows[2].componentWeights, { reconstruction: 1, sparsity: 0.01 });
  assert.ok(!s.events.some((e) => e.kind === "loss-imbalance"), s.verdict);
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

Deno.test("multiclass outputs: per-row decision margin and class shares, by hand", () => {
  const margins = new Float32Array(3);
  const counts = [0, 0, 0];
  // rows: winner 2 by 1.5; a tie between 0 and 1 (first wins, margin 0); winner 1 by 4
  summarizeOutputs(Float32Array.from([0, 0.5, 2, 3, 3, -1, -2, 2, -3]), 3, margins, counts);
  assert.deepEqual(Array.from(margins), [1.5, 0, 4]);
  assert.deepEqual(counts, [1, 1, 1]);
});

Deno.test("sign-bias monitor: multiclass checks the largest class share, not the sign of a logit", () => {
  const m = new SignBiasMonitor({ patience: 2, warmup: 1 });
  // Margins are always ≥ 0: a sign check on them would call every multiclass model biased. The message gives the
  // share at the epoch that confirms the streak (the 4th).
  const shares = [[0.3, 0.3, 0.4], [0.3, 0.35, 0.35], [0.02, 0.03, 0.95], [0, 0.04, 0.96]];
  shares.forEach((s, i) => m.onEpochEnd({ ...ctx(i + 1, [0.5, 1, 2, 0.1]), classShares: s }));
  assert.deepEqual(m.topClassShares, [0.4, 0.35, 0.95, 0.96]);
  assert.equal(m.events().length, 1);
  assert.equal(m.events()[0].message, "class bias from epoch 3: 96.0% of predictions are class 2 (> 90%)");
});

/** 150 rows, 4 features; class = DOWN/FLAT/UP of x0 + 0.5·x1 at ±0.5 (about a third each). */
function threeClass(): { X: Matrix; y: Float64Array } {
  const r = new SeededRandom(21);
  const n = 150, f = 4;
  const data = Float32Array.from({ length: n * f }, () => r.normal());
  const y = Float64Array.from({ length: n }, (_, i) => {
    const s = data[i * f] + 0.5 * data[i * f + 1];
    return s < -0.5 ? 0 : s > 0.5 ? 2 : 1;
  });
  return { X: { data, rows: n, cols: f }, y };
}

Deno.test("health: a 3-class model that predicts one class only is flagged; a balanced one is not", async () => {
  await initBackend();
  const d = threeClass();
  const fit = async (classWeights?: number[]) => {
    const health = new TrainingHealth();
    const m = new MLPModel({
      task: "multiclass",
      hidden: [8],
      epochs: 6,
      batchSize: 30,
      learningRate: 0.05,
      classWeights,
      monitors: health.monitors,
      progress: false,
      seed: 4,
    });
    await m.fit(d.X, d.y, { validation: d });
    const pred = m.predict(d.X);
    m.dispose();
    return { s: health.summary(m.events), pred };
  };
  // Only class-2 rows carry weight: the loss falls by raising logit 2 everywhere, so every row is called class 2.
  const one = await fit([0, 0, 1]);
  assert.ok(one.pred.every((c) => c === 2), "ground truth: the model predicts class 2 only");
  assert.deepEqual(one.s.rows.at(-1)!.classShares, [0, 0, 1]);
  assert.equal(one.s.rows.at(-1)!.predPositive, undefined);
  assert.match(one.s.verdict, /class bias from epoch 2: 100\.0% of predictions are class 2 \(> 90%\)/);
  const balanced = await fit();
  const shares = balanced.s.rows.at(-1)!.classShares!;
  const truth = [0, 1, 2].map((c) => d.y.filter((v) => v === c).length / d.y.length);
  assert.ok(shares.every((v, c) => Math.abs(v - truth[c]) < 0.15), `shares ${shares} vs labels ${truth}`);
  assert.doesNotMatch(balanced.s.verdict, /class bias|collapsed/);
});

Deno.test("monitors judge the forecast, not the de-meaned network output: a regressor forecasting 'up' everywhere is flagged as positive", async () => {
  await initBackend("cpu");
  // Targets around +0.01 with no relation to the inputs: a de-meaned network predicts ≈ 0, the forecasts ≈ +0.01.
  const rng = new SeededRandom(3);
  const n = 400, cols = 4;
  const X: Matrix = { data: Float32Array.from({ length: n * cols }, () => rng.uniform() - 0.5), rows: n, cols };
  const y = Float32Array.from({ length: n }, () => 0.01 + 0.001 * (rng.uniform() - 0.5));
  const health = new TrainingHealth();
  const model = new MLPModel({
    task: "regression",
    hidden: [4],
    epochs: 6,
    batchSize: 64,
    learningRate: 1e-4,
    earlyStopping: { patience: 10 },
    demean: true,
    monitors: health.monitors,
    progress: false,
    backend: "cpu",
    workers: 1,
  });
  try {
    await model.fit(X, y, { validation: { X, y } });
  } finally {
    model.dispose();
  }
  const last = health.summary().rows.at(-1)!;
  assert.ok(last.predPositive! > 0.95, `share of positive forecasts seen by the monitors: ${last.predPositive}`);
  assert.match(health.summary().verdict, /sign bias from epoch \d+: 100\.0% of predictions positive/);
});

Deno.test("collapse and sign-bias monitors ask the loop to stop only with stop: true, once their finding is confirmed", () => {
  const constant = [0.2, 0.2, 0.2, 0.2];
  const quiet = new VarianceCollapseMonitor({ patience: 2, warmup: 1 });
  const stopping = new VarianceCollapseMonitor({ patience: 2, warmup: 1, stop: true });
  const biased = new SignBiasMonitor({ patience: 2, warmup: 0, stop: true });
  const asked: Array<string | undefined> = [];
  for (let e = 1; e <= 4; e++) {
    const c = ctx(e, constant);
    quiet.onEpochEnd(c);
    stopping.onEpochEnd(c);
    biased.onEpochEnd(c);
    asked.push(stopping.stopRequested());
    assert.equal(quiet.stopRequested(), undefined);
  }
  // Epochs 2 and 3 are the collapsed streak of 2 (after one warm-up epoch): confirmed at epoch 3.
  assert.deepEqual(asked.map((a) => a !== undefined), [false, false, true, true]);
  assert.match(asked[2]!, /collapsed at epoch 2/);
  assert.match(biased.stopRequested()!, /sign bias from epoch 1: 100\.0% of predictions positive/);
});
