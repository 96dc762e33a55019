import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import * as tf from "@tensorflow/tfjs-core";
import { initBackend } from "../../lib/models/nn/backend.ts";
import { ConfigError } from "../../lib/errors.ts";
import { type ArrayDataset, train, type Trainable, validationBatchSize } from "../../lib/training/loop.ts";
import { mse } from "../../lib/training/losses.ts";
import { SeededRandom } from "../../lib/training/rng.ts";
import { ReduceLROnPlateau, warmupCosine } from "../../lib/training/schedules.ts";

await initBackend("wasm");

/** y = x·w* + noise, 4 features. */
function linearData(n: number, seed: number, scale = 1): ArrayDataset {
  const r = new SeededRandom(seed);
  const w = [1, -2, 0.5, 0];
  const x = new Float32Array(n * 4);
  const y = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    for (let j = 0; j < 4; j++) {
      x[i * 4 + j] = r.normal() * scale;
      s += x[i * 4 + j] * w[j];
    }
    y[i] = s + 0.1 * r.normal();
  }
  return { x, y, sampleShape: [4] };
}

let counter = 0;
/** A linear model y = x·w + b with the loop's contract. `poison` makes the loss NaN from a given call on. */
function linearModel(seed = 1, poisonAfter?: number): Trainable & { w: tf.Variable; b: tf.Variable; calls: number } {
  const r = new SeededRandom(seed);
  const w = tf.variable(
    tf.tensor2d(Float32Array.from({ length: 4 }, () => r.normal() * 0.1), [4, 1]),
    true,
    `lt${counter}/w`,
  );
  const b = tf.variable(tf.zeros([1]), true, `lt${counter++}/b`);
  const m = {
    w,
    b,
    calls: 0,
    namedVariables: (): Array<[string, tf.Variable]> => [["w", w], ["b", b]],
    forward(batch: { x: tf.Tensor; y: tf.Tensor }, training: boolean) {
      if (training) m.calls++;
      let pred = tf.reshape(tf.add(tf.matMul(batch.x as tf.Tensor2D, w), b), [-1]);
      if (poisonAfter !== undefined && training && m.calls > poisonAfter) pred = tf.mul(pred, NaN);
      return { loss: mse(pred, batch.y), pred };
    },
  };
  return m;
}

Deno.test("loop: empty training or validation data is a ConfigError before any step", async () => {
  const empty: ArrayDataset = { x: new Float32Array(0), y: new Float32Array(0), sampleShape: [4] };
  await assert.rejects(() => train(linearModel(), empty, { epochs: 1, progress: false }), ConfigError);
  await assert.rejects(
    () => train(linearModel(), linearData(10, 1), { epochs: 1, validation: empty, progress: false }),
    /validation data is empty/,
  );
  const bad = linearData(10, 1);
  bad.x[7] = NaN;
  await assert.rejects(
    () => train(linearModel(), bad, { epochs: 1, progress: false }),
    /1 NaN\/Inf values \(first in sample 1\)/,
  );
});

Deno.test("loop: validation batch size always gives at least two batches", () => {
  assert.equal(validationBatchSize(3, 256), 2);
  assert.equal(validationBatchSize(1000, 32), 128);
  assert.equal(validationBatchSize(100, 256), 50);
  assert.equal(validationBatchSize(2, 1), 1);
});

Deno.test("loop: learns a linear map; global-norm clipping records pre-clip norms and the clipped flag", async () => {
  const m = linearModel();
  const res = await train(m, linearData(256, 2), {
    epochs: 30,
    batchSize: 32,
    learningRate: 0.05,
    clipNorm: 0.5,
    validation: linearData(64, 3),
    progress: false,
  });
  const last = res.history.at(-1)!;
  assert.ok(last.valLoss! < 0.05, `val loss ${last.valLoss}`);
  const w = m.w.dataSync();
  assert.ok(Math.abs(w[0] - 1) < 0.1 && Math.abs(w[1] + 2) < 0.1, `w = ${w}`);
  // At the start the gradient norm is ~2·|w*| ≈ 4.6 > 0.5, so the first epoch clips every step; at the end it is small.
  assert.equal(res.history[0].clipRatio, 1);
  assert.ok(res.history[0].gradNorm.max > 0.5);
  assert.ok(last.clipRatio < 0.5, `final clip ratio ${last.clipRatio}`);
  assert.equal(res.history[0].steps, 8);
});

Deno.test("loop: NaN sentinel stops, restores the last finite epoch's weights and records a diagnostic", async () => {
  const m = linearModel(1, 20); // 8 steps per epoch: epochs 1–2 are finite, epoch 3 turns NaN at step 5
  const seen: number[][] = [];
  const res = await train(m, linearData(256, 2), {
    epochs: 10,
    batchSize: 32,
    learningRate: 0.01,
    onEpochEnd: () => seen.push(Array.from(m.w.dataSync())),
    progress: false,
  });
  assert.equal(res.stopReason, "non-finite");
  assert.equal(res.history.length, 2);
  assert.deepEqual(Array.from(m.w.dataSync()), seen[1]);
  assert.equal(res.events.length, 1);
  assert.match(res.events[0].message, /non-finite loss at epoch 3, step 5/);
});

Deno.test("loop: early stopping restores the best epoch's weights", async () => {
  const m = linearModel();
  const val = linearData(64, 3);
  const snapshots: number[][] = [];
  // A rising learning rate makes validation loss diverge after a few epochs.
  const res = await train(m, linearData(128, 2), {
    epochs: 40,
    batchSize: 32,
    schedule: { kind: "blowup", lrAt: (t) => 0.02 * 1.5 ** t, state: () => ({ kind: "blowup" }) },
    validation: val,
    earlyStopping: { patience: 3, restoreBest: true },
    onEpochEnd: () => snapshots.push(Array.from(m.w.dataSync())),
    progress: false,
  });
  assert.equal(res.stopReason, "early-stopping");
  const vals = res.history.map((h) => h.valLoss!);
  const bestIdx = vals.indexOf(Math.min(...vals));
  assert.equal(res.bestEpoch, bestIdx + 1);
  assert.equal(res.history.length, bestIdx + 1 + 3);
  assert.deepEqual(Array.from(m.w.dataSync()), snapshots[bestIdx]);
});

Deno.test("loop: seeded runs are identical; checkpoint + resume equals an uninterrupted run exactly", async () => {
  const dir = mkdtempSync(join(tmpdir(), "candor-ckpt-"));
  try {
    const data = linearData(200, 5);
    const val = linearData(50, 6);
    const opts = () => ({
      epochs: 6,
      batchSize: 16,
      schedule: new ReduceLROnPlateau({ baseLr: 0.05, patience: 0, factor: 0.5 }),
      clipNorm: 1,
      validation: val,
      earlyStopping: { patience: 100 },
      seed: 11,
      progress: false as const,
    });
    const a = linearModel(3);
    const ra = await train(a, data, opts());
    const b = linearModel(3);
    await train(b, data, opts());
    assert.deepEqual(Array.from(a.w.dataSync()), Array.from(b.w.dataSync()), "same seed, same weights");

    const c = linearModel(3);
    const first = await train(c, data, { ...opts(), checkpoint: { dir }, stopAfterEpochs: 3 });
    assert.equal(first.stopReason, "stop-after");
    const d = linearModel(99); // different init: everything must come from the checkpoint
    const rd = await train(d, data, { ...opts(), resumeFrom: dir });
    assert.deepEqual(Array.from(d.w.dataSync()), Array.from(a.w.dataSync()));
    assert.deepEqual(Array.from(d.b.dataSync()), Array.from(a.b.dataSync()));
    assert.deepEqual(rd.history.map((h) => h.lr), ra.history.map((h) => h.lr));
    assert.deepEqual(rd.history.map((h) => h.valLoss), ra.history.map((h) => h.valLoss));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

Deno.test("loop: a one-epoch run with warmup + cosine completes (T_max clamps to 1)", async () => {
  const res = await train(linearModel(), linearData(64, 2), {
    epochs: 1,
    batchSize: 16,
    schedule: warmupCosine({ baseLr: 0.01, epochs: 1, warmupEpochs: 1 }),
    progress: false,
  });
  assert.equal(res.stopReason, "completed");
  assert.ok(Number.isFinite(res.history[0].trainLoss));
});
