/**
 * Data-parallel training of the benchmark's models (MLP, LSTM) through the Model contract: one step on two gradient
 * threads equals one step on one thread up to float32 summation order, seeded runs with the same worker count are
 * bit-identical, the fit report records the worker count, and models whose loss is not a per-sample mean refuse
 * explicit workers (and fall back to one thread under "auto", saying why).
 */
import assert from "node:assert/strict";
import type { Matrix } from "../../../lib/data/matrix.ts";
import { MLPModel } from "../../../lib/models/nn/mlp.ts";
import { LSTMClassifier, LSTMRegressor } from "../../../lib/models/nn/lstm.ts";
import type { NeuralModel } from "../../../lib/models/nn/neural_model.ts";
import type { ParamStore } from "../../../lib/models/nn/params.ts";
import { SeededRandom } from "../../../lib/training/rng.ts";
import { ConfigError } from "../../../lib/errors.ts";

function weights(m: NeuralModel): Float32Array {
  const p = (m as unknown as { params: ParamStore }).params;
  const parts = p.trainable.map(([, v]) => v.dataSync() as Float32Array);
  const out = new Float32Array(parts.reduce((a, x) => a + x.length, 0));
  let o = 0;
  for (const x of parts) {
    out.set(x, o);
    o += x.length;
  }
  return out;
}

function gaussian(n: number, seed: number): Float32Array {
  const r = new SeededRandom(seed);
  return Float32Array.from({ length: n }, () => r.normal());
}

function mlpData(n: number): { X: Matrix; y: Float64Array; w: Float32Array } {
  const X = { data: gaussian(n * 20, 1), rows: n, cols: 20 };
  const y = Float64Array.from({ length: n }, (_, i) => (X.data[i * 20] > 0.6 ? 2 : X.data[i * 20] < -0.6 ? 0 : 1));
  // The second half weighs 4× the first: shards of unequal total weight, so the shard weighting is exercised.
  const w = Float32Array.from({ length: n }, (_, i) => (i < n / 2 ? 0.5 : 2) + (i % 3) / 4);
  return { X, y, w };
}

function lstmData(n: number, T: number, F: number): { X: Matrix; y: Float64Array } {
  const X = { data: gaussian(n * T * F, 2), rows: n, cols: T * F };
  const y = Float64Array.from({ length: n }, (_, i) => X.data[i * T * F + (T - 1) * F] * 0.5);
  return { X, y };
}

/**
 * Largest |a − b| relative to the largest |b|. Shards sum the same products in a different order, so the two
 * results differ by float32 rounding only: a few ulps of the larger partial sums, i.e. ≲ 1e-6 of max|b| here.
 */
function relDiff(a: Float32Array, b: Float32Array): number {
  let d = 0, m = 0;
  for (let i = 0; i < a.length; i++) {
    d = Math.max(d, Math.abs(a[i] - b[i]));
    m = Math.max(m, Math.abs(b[i]));
  }
  return d / m;
}

Deno.test("data-parallel MLP (class + sample weights): one step on 2 threads equals 1 thread; reruns bit-identical", async () => {
  const { X, y, w } = mlpData(256);
  const fit = async (workers: number) => {
    const m = new MLPModel({
      task: "multiclass",
      hidden: [128, 128],
      classWeights: "balanced",
      epochs: 1,
      batchSize: 256,
      learningRate: 1e-3,
      progress: false,
      workers,
    });
    const report = await m.fit(X, y, { sampleWeight: w, seed: 5 });
    const out = { report, w: weights(m), h: m.history[0] };
    m.dispose();
    return out;
  };
  const one = await fit(1), two = await fit(2), again = await fit(2);
  assert.equal(one.report.details!.workers, 1);
  assert.equal(two.report.details!.workers, 2);
  // Loss and gradient norm of the batch: the same quantity computed as a weighted mean of two shards.
  assert.ok(
    Math.abs(two.h.trainLoss - one.h.trainLoss) <= 1e-6 * one.h.trainLoss,
    `${two.h.trainLoss} vs ${one.h.trainLoss}`,
  );
  assert.ok(Math.abs(two.h.gradNorm.max - one.h.gradNorm.max) <= 1e-5 * one.h.gradNorm.max);
  // Parameters after one Adam step (θ − lr·g/(|g| + ε) at t = 1): gradient rounding differences reach the weights
  // scaled by lr, so the weights agree to well under lr·1e-3 = 1e-6.
  const d = relDiff(two.w, one.w);
  console.log(`MLP: max |Δθ| / max |θ| = ${d.toExponential(2)}, trainLoss ${one.h.trainLoss} vs ${two.h.trainLoss}`);
  assert.ok(d < 1e-6, `relative weight difference ${d}`);
  assert.deepEqual(again.w, two.w, "same seed and worker count: bit-identical weights");
  assert.equal(again.h.trainLoss, two.h.trainLoss);
});

Deno.test("data-parallel LSTM regressor: one step on 2 threads equals 1 thread; reruns bit-identical", async () => {
  const T = 12, F = 5;
  const { X, y } = lstmData(128, T, F);
  const fit = async (workers: number) => {
    const m = new LSTMRegressor({ timesteps: T, units: 16, epochs: 1, batchSize: 128, progress: false, workers });
    const report = await m.fit(X, y, { seed: 3 });
    const out = { report, w: weights(m), h: m.history[0] };
    m.dispose();
    return out;
  };
  const one = await fit(1), two = await fit(2), again = await fit(2);
  assert.equal(two.report.details!.workers, 2);
  assert.ok(Math.abs(two.h.trainLoss - one.h.trainLoss) <= 1e-6 * one.h.trainLoss);
  assert.ok(Math.abs(two.h.gradNorm.max - one.h.gradNorm.max) <= 1e-5 * one.h.gradNorm.max);
  const d = relDiff(two.w, one.w);
  console.log(`LSTM: max |Δθ| / max |θ| = ${d.toExponential(2)}`);
  assert.ok(d < 1e-6, `relative weight difference ${d}`);
  assert.deepEqual(again.w, two.w);
});

Deno.test("data-parallel: batch norm refuses explicit workers and falls back to one thread under auto, saying why", async () => {
  const { X, y } = lstmData(256, 6, 3);
  const yb = Float64Array.from(y, (v) => (v > 0 ? 1 : 0));
  const opts = { timesteps: 6, units: 8, batchNorm: true, epochs: 1, batchSize: 256, progress: false as const };
  await assert.rejects(
    () => new LSTMClassifier({ ...opts, workers: 2 }).fit(X, yb),
    (e) => e instanceof ConfigError && /batch normalization/.test(e.message),
  );
  const m = new LSTMClassifier({ ...opts, workers: "auto" });
  const r = await m.fit(X, yb);
  assert.equal(r.details!.workers, 1);
  assert.match(String(r.details!.workersNote), /batch normalization/);
  m.dispose();
});

Deno.test("data-parallel: auto splits the LSTM benchmark's batches and keeps the MLP benchmark's on one thread", async () => {
  // Fit reports only (one short epoch each); the threshold itself is tested in tests/training/data_parallel_test.ts.
  const cores = navigator.hardwareConcurrency;
  const T = 60, F = 20;
  const { X, y } = lstmData(256, T, F);
  const lstm = new LSTMRegressor({ timesteps: T, units: 64, epochs: 1, batchSize: 256, progress: false });
  const rl = await lstm.fit(X, y);
  assert.equal(rl.details!.workers, Math.min(2, cores));
  lstm.dispose();
  const d = mlpData(256);
  const mlp = new MLPModel({ task: "multiclass", hidden: [128, 128], epochs: 1, batchSize: 256, progress: false });
  const rm = await mlp.fit(d.X, d.y);
  assert.equal(rm.details!.workers, 1);
  if (cores >= 2) assert.match(String(rm.details!.workersNote), /too small to gain/);
  mlp.dispose();
});
