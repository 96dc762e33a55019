/**
 * Every neural model trains on small seeded data through the Model contract, predicts, saves and reloads to identical
 * predictions. Sized for CI (a few seconds each on two cores).
 */
import assert from "node:assert/strict";
import { stepDecay } from "../../../lib/training/schedules.ts";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import * as tf from "@tensorflow/tfjs-core";
import { join } from "node:path";
import { tmpdir } from "node:os";
import type { Matrix } from "../../../lib/data/matrix.ts";
import { MLPModel } from "../../../lib/models/nn/mlp.ts";
import { LSTMClassifier, LSTMRegressor } from "../../../lib/models/nn/lstm.ts";
import { LSTMTransformerModel } from "../../../lib/models/nn/lstm_transformer.ts";
import { XLSTMModel } from "../../../lib/models/nn/xlstm.ts";
import { type NeuralModel, slidingWindows } from "../../../lib/models/nn/neural_model.ts";
import { initBackend } from "../../../lib/models/nn/backend.ts";
import { ParamStore } from "../../../lib/models/nn/params.ts";
import { slstm } from "../../../lib/models/nn/layers.ts";
import { NotearsDAG } from "../../../lib/models/nn/notears.ts";
import { SeededRandom } from "../../../lib/training/rng.ts";
import { ConfigError } from "../../../lib/errors.ts";

function tmp(): string {
  return mkdtempSync(join(tmpdir(), "candor-nn-"));
}

/** n rows of f standard-normal features; class = DOWN/FLAT/UP of x0 + 0.5·x1 at ±0.5. */
function threeClass(n: number, seed: number): { X: Matrix; y: Float64Array } {
  const r = new SeededRandom(seed);
  const f = 4;
  const data = Float32Array.from({ length: n * f }, () => r.normal());
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const s = data[i * f] + 0.5 * data[i * f + 1];
    y[i] = s < -0.5 ? 0 : s > 0.5 ? 2 : 1;
  }
  return { X: { data, rows: n, cols: f }, y };
}

/** Sequences of T steps × 2 features; y = Σ of feature 0 over the last 3 steps (regression) or its sign. */
function sequences(n: number, T: number, seed: number): { X: Matrix; y: Float64Array } {
  const r = new SeededRandom(seed);
  const data = Float32Array.from({ length: n * T * 2 }, () => r.normal());
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) for (let t = T - 3; t < T; t++) y[i] += data[i * T * 2 + t * 2];
  return { X: { data, rows: n, cols: T * 2 }, y };
}

function accuracy(p: Float64Array, y: Float64Array, binary = false): number {
  let ok = 0;
  for (let i = 0; i < y.length; i++) ok += (binary ? (p[i] > 0.5 ? 1 : 0) : p[i]) === y[i] ? 1 : 0;
  return ok / y.length;
}

Deno.test("MLP: 3-class DOWN/FLAT/UP with balanced class weights; save/load gives identical predictions", async () => {
  const train = threeClass(1200, 1), test = threeClass(400, 2);
  const m = new MLPModel({
    task: "multiclass",
    numClasses: 3,
    hidden: [32],
    epochs: 15,
    learningRate: 0.01,
    classWeights: "balanced",
    progress: false,
  });
  const rep = await m.fit(train.X, train.y, { seed: 3 });
  assert.equal(rep.details!.backend, "wasm");
  const cw = rep.details!.classWeights as number[];
  assert.equal(cw.length, 3);
  for (let c = 0; c < 3; c++) {
    const count = train.y.filter((v) => v === c).length;
    assert.ok(Math.abs(cw[c] - train.y.length / (3 * count)) < 1e-12, `class ${c}: n/(k·count) expected, got ${cw[c]}`);
  }
  const acc = accuracy(m.predict(test.X), test.y);
  assert.ok(acc > 0.85, `accuracy ${acc}`);
  const proba = m.predictProba(test.X);
  assert.equal(proba.length, 3 * test.X.rows);
  assert.ok(Math.abs(proba[0] + proba[1] + proba[2] - 1) < 1e-5);
  const dir = tmp();
  try {
    await m.save(dir);
    const back = await MLPModel.load(dir);
    assert.deepEqual(back.predict(test.X), m.predict(test.X));
    back.dispose();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  m.dispose();
});

Deno.test("MLP: seeded fits are identical; labels outside the classes are a ConfigError", async () => {
  const d = threeClass(300, 4);
  const fit = async () => {
    const m = new MLPModel({ task: "multiclass", hidden: [8], epochs: 2, progress: false, seed: 5 });
    await m.fit(d.X, d.y);
    const p = m.predictProba(d.X);
    m.dispose();
    return p;
  };
  assert.deepEqual(await fit(), await fit());
  const bad = new MLPModel({ task: "binary", epochs: 1, progress: false });
  await assert.rejects(() => bad.fit(d.X, d.y), /label 2 at row \d+ is not a class index in 0\.\.1/);
  await assert.rejects(
    () => bad.fit({ data: new Float32Array(0), rows: 0, cols: 4 }, new Float64Array(0)),
    ConfigError,
  );
});

Deno.test("LSTM classifier (binary, batch norm) learns a sequence rule and reloads", async () => {
  const tr = sequences(1500, 8, 6), te = sequences(400, 8, 7);
  const lab = (y: Float64Array) => y.map((v) => (v > 0 ? 1 : 0));
  const m = new LSTMClassifier({
    timesteps: 8,
    units: 16,
    epochs: 6,
    learningRate: 0.01,
    batchNorm: true,
    progress: false,
  });
  await m.fit(tr.X, lab(tr.y), { validation: { X: te.X, y: lab(te.y) } });
  const acc = accuracy(m.predict(te.X), lab(te.y), true);
  assert.ok(acc > 0.85, `accuracy ${acc}`);
  const dir = tmp();
  try {
    await m.save(dir);
    const back = await LSTMClassifier.load(dir);
    assert.deepEqual(back.predict(te.X), m.predict(te.X));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

Deno.test("LSTM regressor: de-meaning stores the training mean and adds it back; zero head starts at the mean", async () => {
  const tr = sequences(600, 6, 8);
  const y = tr.y.map((v) => v + 5); // a large mean the network would otherwise have to learn through its bias
  const m = new LSTMRegressor({ timesteps: 6, units: 8, epochs: 0, demean: true, zeroInitHead: true, progress: false });
  await m.fit(tr.X, y);
  const mean = y.reduce((a, b) => a + b, 0) / y.length;
  const p = m.predict(tr.X);
  assert.ok(p.every((v) => Math.abs(v - mean) < 1e-4), "0 epochs + zero head ⇒ every prediction is the training mean");
  const trained = new LSTMRegressor({
    timesteps: 6,
    units: 16,
    epochs: 8,
    learningRate: 0.01,
    demean: true,
    progress: false,
  });
  await trained.fit(tr.X, y);
  const q = trained.predict(tr.X);
  let se = 0, sv = 0;
  for (let i = 0; i < y.length; i++) [se, sv] = [se + (q[i] - y[i]) ** 2, sv + (y[i] - mean) ** 2];
  assert.ok(se / sv < 0.3, `R² = ${1 - se / sv}`);
});

Deno.test("LSTM+Transformer: trains, logs multitask components separately, and `multitask: false` removes them", async () => {
  const tr = sequences(400, 6, 9);
  const m = new LSTMTransformerModel({
    timesteps: 6,
    units: 16,
    blocks: 1,
    heads: 2,
    epochs: 4,
    learningRate: 0.005,
    magnitudeHead: true,
    signHead: true,
    volatilityHead: true,
    progress: false,
  });
  await m.fit(tr.X, tr.y);
  const comps = Object.keys(m.history[0].components).sort();
  assert.deepEqual(comps, ["magnitude", "mse", "sign", "volatility"]);
  assert.ok(m.history.at(-1)!.components.mse < m.history[0].components.mse, "main loss decreases");
  const single = new LSTMTransformerModel({
    timesteps: 6,
    units: 16,
    blocks: 1,
    heads: 2,
    epochs: 1,
    signHead: true,
    multitask: false,
    progress: false,
  });
  await single.fit(tr.X, tr.y);
  assert.deepEqual(Object.keys(single.history[0].components), ["mse"]);
  const p = single.predict(tr.X);
  assert.ok(p.every(Number.isFinite));
});

Deno.test("xLSTM-TS: trains with causal per-window wavelet denoising; a window's input never depends on later rows", async () => {
  const tr = sequences(300, 16, 10);
  const m = new XLSTMModel({
    timesteps: 16,
    units: 8,
    blocks: 2,
    epochs: 3,
    learningRate: 0.005,
    denoise: { wavelet: "haar", level: 2 },
    progress: false,
  });
  await m.fit(tr.X, tr.y);
  assert.ok(m.history.at(-1)!.trainLoss < m.history[0].trainLoss);
  // Changing the last window leaves the predictions for every other window unchanged.
  const before = m.predict(tr.X);
  const altered = { ...tr.X, data: new Float32Array(tr.X.data) };
  altered.data.fill(3, (tr.X.rows - 1) * tr.X.cols);
  const after = m.predict(altered);
  assert.deepEqual(after.subarray(0, tr.X.rows - 1), before.subarray(0, tr.X.rows - 1));
  assert.notEqual(after[tr.X.rows - 1], before[tr.X.rows - 1]);
});

Deno.test("slidingWindows: windows never cross groups and are oldest-first", () => {
  const X: Matrix = { data: Float32Array.from([1, 2, 3, 4, 5, 6, 7]), rows: 7, cols: 1 };
  const w = slidingWindows(X, 3, ["a", "a", "a", "a", "b", "b", "b"]);
  assert.deepEqual(Array.from(w.rowIndex), [2, 3, 6]);
  assert.deepEqual(Array.from(w.X.data), [1, 2, 3, 2, 3, 4, 5, 6, 7]);
});

Deno.test("NOTEARS DAG learner: save/load keeps weights, standardization and predictions", async () => {
  const r = new SeededRandom(12);
  const n = 200;
  const data = new Float32Array(n * 3);
  for (let i = 0; i < n; i++) {
    const a = r.normal(), b = 1.5 * a + r.normal();
    data.set([a * 10 + 100, b, 0.8 * b + r.normal()], i * 3);
  }
  const X: Matrix = { data, rows: n, cols: 3 };
  const m = new NotearsDAG({ epochs: 40, rounds: 2, learningRate: 0.05, progress: false });
  const rep = await m.fit(X);
  assert.equal((rep.details!.edgeCounts as number[]).length, 40);
  // Two rounds of 20 epochs: one numbering across rounds, each epoch once.
  const epochs = (rep.details!.history as Array<{ epoch: number }>).map((h) => h.epoch);
  assert.deepEqual(epochs, Array.from({ length: 40 }, (_, i) => i + 1));
  assert.equal(rep.bestIteration, 40);
  assert.ok((rep.details!.backendPatches as string[]).includes("BatchMatMul:explicit-transpose"));
  const dir = tmp();
  try {
    await m.save(dir);
    const back = await NotearsDAG.load(dir);
    assert.deepEqual(back.weights(), m.weights());
    assert.deepEqual(back.predict(X), m.predict(X));
    assert.deepEqual(back.adjacency(), m.adjacency());
    back.dispose();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  m.dispose();
});

Deno.test("MLP: a fit interrupted after 2 of 4 epochs and resumed from its checkpoint equals the uninterrupted fit", async () => {
  const d = threeClass(300, 13);
  const opts = {
    task: "multiclass" as const,
    hidden: [8],
    epochs: 4,
    learningRate: 0.01,
    progress: false as const,
    seed: 2,
  };
  const full = new MLPModel(opts);
  await full.fit(d.X, d.y);
  const dir = tmp();
  try {
    const first = new MLPModel({ ...opts, checkpoint: { dir }, stopAfterEpochs: 2 });
    const r1 = await first.fit(d.X, d.y);
    assert.equal(r1.details!.stopReason, "stop-after");
    const resumed = new MLPModel({ ...opts, resumeFrom: dir });
    await resumed.fit(d.X, d.y);
    assert.deepEqual(resumed.predictProba(d.X), full.predictProba(d.X));
    assert.equal(resumed.history.length, 4);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

Deno.test("save/load round trips: LSTM regressor (de-meaned: targetOffset), LSTM+Transformer, xLSTM-TS", async () => {
  const tr = sequences(120, 6, 14);
  const y = tr.y.map((v) => v + 3);
  const mean = y.reduce((a, b) => a + b, 0) / y.length;
  const small = { timesteps: 6, units: 8, epochs: 1, batchSize: 32, progress: false as const, seed: 1 };
  const cases: Array<[NeuralModel, (dir: string) => Promise<NeuralModel>]> = [
    [new LSTMRegressor({ ...small, demean: true }), (dir) => LSTMRegressor.load(dir)],
    [
      new LSTMTransformerModel({ ...small, blocks: 1, heads: 2, magnitudeHead: true, signHead: true }),
      (dir) => LSTMTransformerModel.load(dir),
    ],
    [new XLSTMModel({ ...small, blocks: 1, denoise: { wavelet: "haar", level: 1 } }), (dir) => XLSTMModel.load(dir)],
  ];
  for (const [m, load] of cases) {
    const rep = await m.fit(tr.X, y);
    if (m instanceof LSTMRegressor) {
      assert.ok(Math.abs((rep.details!.targetOffset as number) - mean) < 1e-9, "targetOffset = training mean");
    }
    const dir = tmp();
    try {
      await m.save(dir);
      const back = await load(dir);
      assert.equal(back.kind, m.kind);
      assert.deepEqual(back.predict(tr.X), m.predict(tr.X), `${m.kind}: identical predictions after reload`);
      if (m instanceof LSTMRegressor) {
        // The offset travels with the model: without it every prediction would be off by the training mean.
        const p = back.predict(tr.X);
        assert.ok(Math.abs(p.reduce((a, b) => a + b, 0) / p.length - mean) < 1, "predictions sit around the mean");
      }
      back.dispose();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    m.dispose();
  }
});

Deno.test("load: a model saved on an unavailable backend loads on auto and records why", async () => {
  const d = threeClass(60, 15);
  const m = new MLPModel({ task: "multiclass", hidden: [4], epochs: 1, progress: false });
  await m.fit(d.X, d.y);
  const dir = tmp();
  try {
    await m.save(dir);
    const file = join(dir, "model.json");
    const saved = JSON.parse(readFileSync(file, "utf8"));
    saved.description.backend = "tensorflow"; // as if trained with tfjs-node, absent here
    writeFileSync(file, JSON.stringify(saved));
    const back = await MLPModel.load(dir);
    assert.equal(back.backend!.name, "wasm");
    assert.ok(back.backend!.fallbacks.some((f) => f.startsWith("tensorflow (saved with the model)")));
    assert.deepEqual(back.predict(d.X), m.predict(d.X));
    back.dispose();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  m.dispose();
});

Deno.test("LSTM classifier: 3-class DOWN/FLAT/UP with balanced class weights learns a sequence rule", async () => {
  // Class of the sum of feature 0 over the last 3 steps at ±1: FLAT is the majority, DOWN and UP rarer.
  const lab = (y: Float64Array) => y.map((v) => (v < -1 ? 0 : v > 1 ? 2 : 1));
  const tr = sequences(900, 6, 16), te = sequences(300, 6, 17);
  const m = new LSTMClassifier({
    timesteps: 6,
    units: 12,
    task: "multiclass",
    numClasses: 3,
    epochs: 8,
    learningRate: 0.02,
    classWeights: "balanced",
    progress: false,
    seed: 3,
  });
  const ytr = lab(tr.y);
  const rep = await m.fit(tr.X, ytr);
  const cw = rep.details!.classWeights as number[];
  for (let c = 0; c < 3; c++) {
    const count = ytr.filter((v) => v === c).length;
    assert.ok(Math.abs(cw[c] - ytr.length / (3 * count)) < 1e-12, `class ${c} weight ${cw[c]}`);
  }
  assert.ok(cw[1] < cw[0] && cw[1] < cw[2], "the majority class (FLAT) weighs least");
  const pred = m.predict(te.X);
  const yte = lab(te.y);
  // Balanced accuracy (mean per-class recall): a majority-class predictor scores 1/3.
  const recall = [0, 1, 2].map((c) => {
    const idx = Array.from(yte.keys()).filter((i) => yte[i] === c);
    return idx.filter((i) => pred[i] === c).length / idx.length;
  });
  const balanced = recall.reduce((a, b) => a + b, 0) / 3;
  assert.ok(balanced > 0.7, `balanced accuracy ${balanced} (recalls ${recall})`);
  const proba = m.predictProba(te.X);
  for (let i = 0; i < te.X.rows; i++) {
    assert.ok(Math.abs(proba[3 * i] + proba[3 * i + 1] + proba[3 * i + 2] - 1) < 1e-5);
  }
  m.dispose();
});

Deno.test("LSTM+Transformer: the zero-initialized head predicts exactly 0 before training", async () => {
  const tr = sequences(50, 5, 18);
  const m = new LSTMTransformerModel({ timesteps: 5, units: 8, blocks: 1, heads: 2, epochs: 0, progress: false });
  await m.fit(tr.X, tr.y.map((v) => v + 10)); // no de-meaning: a random head would predict anything
  assert.ok(m.predict(tr.X).every((v) => v === 0));
  m.dispose();
});

Deno.test("sLSTM: pre-activations far beyond exp's float32 range stay finite and equal the float64 recurrences", async () => {
  await initBackend();
  const B = 2, T = 5, F = 3, H = 2;
  const r = new SeededRandom(19);
  const x = Float32Array.from({ length: B * T * F }, () => 150 * r.normal());
  const p = new ParamStore(5);
  const cell = slstm(p, "s", F, H);
  const [wx, wh, b] = p.trainable.map(([, v]) => Array.from(v.dataSync()));
  const xt = tf.tensor3d(x, [B, T, F]);
  const out = cell(xt);
  const got = Array.from(out.dataSync());
  // Reference without the stabilizer, in float64: c = σ(f̃)c + e^ĩ·tanh(z̃), n = σ(f̃)n + e^ĩ, h = σ(õ)·c/n.
  const sig = (v: number) => 1 / (1 + Math.exp(-v));
  let maxI = 0;
  for (let s = 0; s < B; s++) {
    const h = new Float64Array(H), c = new Float64Array(H), n = new Float64Array(H);
    for (let t = 0; t < T; t++) {
      const z = Array.from({ length: 4 * H }, (_, k) => {
        let v = b[k];
        for (let f = 0; f < F; f++) v += x[(s * T + t) * F + f] * wx[f * 4 * H + k];
        for (let j = 0; j < H; j++) v += h[j] * wh[j * 4 * H + k];
        return v;
      });
      for (let j = 0; j < H; j++) {
        const [ii, ff, zz] = [z[j], z[H + j], z[2 * H + j]];
        maxI = Math.max(maxI, ii);
        c[j] = sig(ff) * c[j] + Math.exp(ii) * Math.tanh(zz);
        n[j] = sig(ff) * n[j] + Math.exp(ii);
      }
      for (let j = 0; j < H; j++) {
        h[j] = sig(z[3 * H + j]) * c[j] / n[j];
        const g = got[(s * T + t) * H + j];
        assert.ok(Number.isFinite(g), `h[${s},${t},${j}] = ${g}`);
        assert.ok(Math.abs(g - h[j]) < 1e-3, `h[${s},${t},${j}]: ${g} vs float64 ${h[j]}`);
      }
    }
  }
  assert.ok(maxI > 100, `the input gate reaches ${maxI}: exp() would overflow float32 (> 88.7) without the stabilizer`);
  const dx = tf.grad((v: tf.Tensor) => tf.sum(cell(v as tf.Tensor3D)))(xt);
  assert.ok(Array.from(dx.dataSync()).every(Number.isFinite), "gradients stay finite too");
  tf.dispose([xt, out, dx]);
  p.dispose();
});

Deno.test("NOTEARS DAG learner: one schedule over every round (a step decay does not restart at round 2)", async () => {
  const r = new SeededRandom(5);
  const n = 120;
  const data = new Float32Array(n * 2);
  for (let i = 0; i < n; i++) {
    const a = r.normal();
    data.set([a, 0.8 * a + r.normal()], i * 2);
  }
  const m = new NotearsDAG({
    epochs: 4,
    rounds: 2,
    schedule: stepDecay({ baseLr: 0.02, stepEpochs: 1, gamma: 0.5 }),
    progress: false,
  });
  await m.fit({ data, rows: n, cols: 2 });
  const lrs = m.lastTrain!.history.map((h) => h.lr);
  // Epochs 1..4 of the fit at 0.02 · 0.5^(epoch − 1): round 2 continues the decay instead of starting over.
  lrs.forEach((lr, i) => assert.ok(Math.abs(lr - 0.02 * 0.5 ** i) < 1e-12, `epoch ${i + 1}: ${lr}`));
});
