/**
 * Every neural model trains on small seeded data through the Model contract, predicts, saves and reloads to identical
 * predictions. Sized for CI (a few seconds each on two cores).
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import type { Matrix } from "../../../lib/data/matrix.ts";
import { MLPModel } from "../../../lib/models/nn/mlp.ts";
import { LSTMClassifier, LSTMRegressor } from "../../../lib/models/nn/lstm.ts";
import { LSTMTransformerModel } from "../../../lib/models/nn/lstm_transformer.ts";
import { XLSTMModel } from "../../../lib/models/nn/xlstm.ts";
import { slidingWindows } from "../../../lib/models/nn/neural_model.ts";
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
