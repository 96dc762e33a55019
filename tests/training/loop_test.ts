import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import * as tf from "@tensorflow/tfjs-core";
import { initBackend } from "../../lib/models/nn/backend.ts";
import { ConfigError } from "../../lib/errors.ts";
import { type ArrayDataset, train, type Trainable, validationBatchSize } from "../../lib/training/loop.ts";
import { directionalMse, mse } from "../../lib/training/losses.ts";
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
/**
 * A linear model y = x·w + b with the loop's contract. After `poisonAfter` training calls: the loss turns NaN
 * (`poison: "loss"`), the loss stays finite but its gradient is +Inf (`"gradient"`), or evaluation (validation) returns
 * NaN predictions (`"validation"`).
 */
function linearModel(
  seed = 1,
  poisonAfter?: number,
  poison: "loss" | "gradient" | "validation" = "loss",
): Trainable & { w: tf.Variable; b: tf.Variable; calls: number } {
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
      const poisoned = poisonAfter !== undefined && m.calls > poisonAfter;
      if (poisoned && poison === "loss" && training) pred = tf.mul(pred, NaN);
      if (poisoned && poison === "validation" && !training) pred = tf.mul(pred, NaN);
      const loss = mse(pred, batch.y);
      if (poisoned && poison === "gradient" && training) {
        // + 0 in value, +Inf in gradient: the loss the loop reads is finite, the gradient norm is not.
        const inf = tf.customGrad((...args: unknown[]) => {
          const x = args[0] as tf.Tensor;
          return { value: tf.mul(tf.sum(x), 0), gradFunc: () => tf.fill(x.shape, Infinity) };
        })(w);
        loss.total = tf.add(loss.total, inf) as tf.Scalar;
      }
      return { loss, pred };
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

/**
 * Trains `linearModel(1, poisonAfter, poison)` on 256 rows in batches of 32 (8 steps per epoch) for up to 10 epochs,
 * recording w after every completed epoch, so the sentinel tests can tell which epoch's weights were restored.
 */
async function trainPoisoned(
  poisonAfter: number,
  poison: "loss" | "gradient" | "validation",
  validation?: ArrayDataset,
) {
  const m = linearModel(1, poisonAfter, poison);
  const seen: number[][] = [];
  const res = await train(m, linearData(256, 2), {
    epochs: 10,
    batchSize: 32,
    learningRate: 0.01,
    validation,
    onEpochEnd: () => seen.push(Array.from(m.w.dataSync())),
    progress: false,
  });
  return { m, res, seen };
}

Deno.test("loop: NaN sentinel stops, restores the last finite epoch's weights and records a diagnostic", async () => {
  const { m, res, seen } = await trainPoisoned(20, "loss"); // epochs 1–2 are finite, epoch 3 turns NaN at step 5
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

Deno.test("loop: an Inf gradient norm with a finite loss triggers the sentinel too", async () => {
  const { m, res, seen } = await trainPoisoned(20, "gradient"); // epoch 3, step 5 has an infinite gradient
  assert.equal(res.stopReason, "non-finite");
  assert.equal(res.history.length, 2);
  assert.equal(res.bestEpoch, 2);
  assert.deepEqual(Array.from(m.w.dataSync()), seen[1], "weights of epoch 2 restored");
  assert.ok(Array.from(m.w.dataSync()).every(Number.isFinite));
  assert.equal(res.events.length, 1);
  assert.match(
    res.events[0].message,
    /^non-finite gradient norm at epoch 3, step 5 \(loss [0-9.e-]+, grad norm Infinity\)/,
  );
});

Deno.test("loop: a non-finite validation loss stops training and restores the previous epoch's weights", async () => {
  // Validation after epoch 3's 8 steps returns NaN predictions.
  const { m, res, seen } = await trainPoisoned(16, "validation", linearData(64, 3));
  assert.equal(res.stopReason, "non-finite");
  assert.equal(res.history.length, 3);
  assert.ok(Number.isNaN(res.history[2].valLoss!));
  assert.equal(res.bestEpoch, 2, "the model holds epoch 2's weights");
  assert.deepEqual(Array.from(m.w.dataSync()), seen[1]);
  assert.notDeepEqual(seen[2], seen[1]);
  assert.equal(
    res.events[0].message,
    "non-finite validation loss at epoch 3: training stopped, weights of epoch 2 restored",
  );
});

/** One trainable weight; validation losses follow `script` (one value per epoch, one step per epoch). */
function scriptedModel(script: number[]): Trainable & { w: tf.Variable } {
  const w = tf.variable(tf.tensor1d([0]), true, `scripted${counter++}/w`);
  let steps = 0;
  return {
    w,
    namedVariables: () => [["w", w]],
    forward(batch, training) {
      const b = batch.yValues.length;
      if (training) {
        steps++;
        const total = tf.sum(tf.square(tf.sub(w, 1))) as tf.Scalar;
        return { loss: { total, components: {} }, pred: tf.zeros([b]) };
      }
      const total = tf.scalar(script[steps - 1]);
      return { loss: { total, components: {} }, pred: tf.zeros([b]) };
    },
  };
}

Deno.test("loop: early stopping counts only improvements larger than minDelta", async () => {
  const script = [1, 0.9, 0.88, 0.87, 0.86, 0.85, 0.84, 0.83];
  const data: ArrayDataset = { x: new Float32Array(4), y: new Float32Array(4), sampleShape: [1] };
  const run = async (minDelta: number) => {
    const m = scriptedModel(script);
    const seen: number[] = [];
    const res = await train(m, data, {
      epochs: script.length,
      batchSize: 4,
      learningRate: 0.05,
      validation: data,
      earlyStopping: { patience: 3, minDelta },
      onEpochEnd: () => seen.push(m.w.dataSync()[0]),
      progress: false,
    });
    return { res, seen, w: m.w.dataSync()[0] };
  };
  // minDelta 0.05: epoch 2 improves on 1 by 0.1; epochs 3–5 improve by < 0.05 on 0.9 → 3 bad epochs, stop at 5.
  const strict = await run(0.05);
  assert.equal(strict.res.stopReason, "early-stopping");
  assert.equal(strict.res.history.length, 5);
  assert.equal(strict.res.bestEpoch, 2);
  assert.equal(strict.w, strict.seen[1], "epoch 2's weights restored");
  // minDelta 0: every epoch improves, training runs to the end.
  const loose = await run(0);
  assert.equal(loose.res.stopReason, "completed");
  assert.equal(loose.res.bestEpoch, script.length);
});

Deno.test("loop: resuming after the best epoch keeps the checkpointed best weights and restores them at the stop", async () => {
  const dir = mkdtempSync(join(tmpdir(), "candor-ckpt-"));
  try {
    const data = linearData(128, 2), val = linearData(64, 3);
    const opts = () => ({
      epochs: 40,
      batchSize: 32,
      schedule: { kind: "blowup", lrAt: (t: number) => 0.02 * 1.5 ** t, state: () => ({ kind: "blowup" }) },
      validation: val,
      earlyStopping: { patience: 3, restoreBest: true },
      progress: false as const,
    });
    const a = linearModel();
    const ra = await train(a, data, opts());
    assert.equal(ra.stopReason, "early-stopping");
    const best = ra.bestEpoch;
    // Interrupted one epoch after the best: the best weights exist only in the checkpoint's bestVariables.
    const b = linearModel();
    await train(b, data, { ...opts(), checkpoint: { dir }, stopAfterEpochs: best + 1 });
    const c = linearModel(99);
    const rc = await train(c, data, { ...opts(), resumeFrom: dir });
    assert.equal(rc.stopReason, "early-stopping");
    assert.equal(rc.bestEpoch, best);
    assert.deepEqual(rc.history.map((h) => h.valLoss), ra.history.map((h) => h.valLoss));
    assert.deepEqual(Array.from(c.w.dataSync()), Array.from(a.w.dataSync()));
    assert.deepEqual(Array.from(c.b.dataSync()), Array.from(a.b.dataSync()));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

Deno.test("loop: the progress bar writes loss, lr and grad norm to the given stream, and nothing when disabled", async () => {
  const written: string[] = [];
  const tty = { isTTY: true, columns: 160, write: (s: string) => written.push(s) };
  const run = (progress: boolean | "auto", stream: typeof tty) =>
    train(linearModel(), linearData(64, 2), {
      epochs: 2,
      batchSize: 16,
      learningRate: 0.01,
      progress,
      progressStream: stream,
    });
  await run(true, tty);
  const text = written.join("");
  assert.match(text, /epoch 2 \|.*\| 8\/8 steps \| loss [0-9.]+ \| lr 1\.00e-2 \| grad norm [0-9.]+/);
  written.length = 0;
  await run(false, tty);
  assert.equal(written.length, 0, "disabled: nothing written");
  const pipe = { ...tty, isTTY: false };
  await run("auto", pipe);
  assert.equal(written.length, 0, "auto on a non-terminal: nothing written");
});

Deno.test("loop: epochOffset numbers records, events and bestEpoch from the offset", async () => {
  const m = linearModel(1, 20);
  const res = await train(m, linearData(256, 2), { epochs: 5, batchSize: 32, epochOffset: 10, progress: false });
  assert.deepEqual(res.history.map((h) => h.epoch), [11, 12]);
  assert.equal(res.bestEpoch, 12);
  assert.match(res.events[0].message, /at epoch 13, step 5 .* last finite epoch \(12\) restored/);
});

Deno.test("loop: a monitor can stop training (stop reason 'monitor'); the best epoch's weights are kept and the stop is recorded", async () => {
  const m = linearModel(4);
  const snapshots: number[][] = [];
  let epochs = 0;
  const stopper = {
    name: "stopper",
    onEpochEnd: () => epochs++,
    events: () => [],
    stopRequested: () => (epochs >= 3 ? "enough (a test monitor)" : undefined),
  };
  const res = await train(m, linearData(128, 2), {
    epochs: 20,
    batchSize: 32,
    learningRate: 0.05,
    validation: linearData(64, 3),
    earlyStopping: { patience: 50, restoreBest: true },
    monitors: [stopper],
    onEpochEnd: () => snapshots.push(Array.from(m.w.dataSync())),
    progress: false,
  });
  assert.equal(res.stopReason, "monitor");
  assert.equal(res.history.length, 3);
  assert.ok(
    res.events.some((e) => e.kind === "monitor-stop" && e.epoch === 3 && /enough \(a test monitor\)/.test(e.message)),
  );
  const vals = res.history.map((h) => h.valLoss!);
  assert.deepEqual(Array.from(m.w.dataSync()), snapshots[vals.indexOf(Math.min(...vals))]);
});

Deno.test("loop: each epoch record carries the components' weights; trainLoss = Σ weight·component", async () => {
  // A linear model whose loss is 0.4·mse + 0.6·direction (directionalMse), plus a penalty whose weight is 1 on odd
  // steps and 3 on even ones: its epoch weight is the effective Σ w·c / Σ c.
  const base = linearModel(4);
  let step = 0;
  const m: Trainable = {
    namedVariables: base.namedVariables,
    forward(batch, training) {
      const { pred } = base.forward(batch, training);
      const main = directionalMse(pred, batch.y);
      const l2 = tf.sum(tf.square(base.w)) as tf.Scalar;
      const k = training ? (step++ % 2 === 0 ? 1 : 3) : 1;
      return {
        loss: {
          total: tf.add(main.total, tf.mul(k, l2)) as tf.Scalar,
          components: { ...main.components, l2 },
          weights: { ...main.weights, l2: k },
        },
        pred,
      };
    },
  };
  const res = await train(m, linearData(256, 2), { epochs: 3, batchSize: 32, learningRate: 0.01, progress: false });
  for (const r of res.history) {
    assert.equal(r.componentWeights!.mse, 0.4);
    assert.equal(r.componentWeights!.direction, 0.6);
    // 8 steps of 32 rows alternate 1 and 3: the effective weight lies strictly between them.
    assert.ok(r.componentWeights!.l2 > 1 && r.componentWeights!.l2 < 3, `l2 weight ${r.componentWeights!.l2}`);
    const sum = Object.entries(r.components).reduce((a, [k, c]) => a + r.componentWeights![k] * c, 0);
    assert.ok(Math.abs(sum - r.trainLoss) <= 1e-5 * r.trainLoss, `Σ w·c = ${sum}, trainLoss ${r.trainLoss}`);
  }
});
