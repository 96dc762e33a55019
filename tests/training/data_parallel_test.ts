/**
 * The data-parallel gradient path of the training loop on a linear model (fast): shard weighting by hand, parity
 * with one thread over several epochs, determinism, and failure handling — a worker that throws, hangs, fails to start
 * or returns NaN ends the run with a clear error or the NaN sentinel, never a hang.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import { tmpdir } from "node:os";
import { initBackend } from "../../lib/models/nn/backend.ts";
import { ConfigError } from "../../lib/errors.ts";
import { combineShards, shardSizes, WorkerError } from "../../lib/training/data_parallel.ts";
import { MIN_AUTO_SHARD, MIN_AUTO_WORK, resolveWorkers, train } from "../../lib/training/loop.ts";
import { type Fault, linearTrainable } from "./linear_replica.ts";
import { weightedData } from "./_weighted_data.ts";

await initBackend("wasm");

Deno.test("data-parallel: shard sizes and the weighted combination, by hand", () => {
  assert.deepEqual(shardSizes(10, 3), [4, 3, 3]);
  assert.deepEqual(shardSizes(256, 2), [128, 128]);
  // Shard weights 1 and 3: g = (1·[1, 2] + 3·[3, 4]) / 4 = [2.5, 3.5]; loss = (1·1 + 3·2) / 4 = 1.75.
  const r = combineShards(
    [
      { grad: Float32Array.of(1, 2), loss: 1, names: ["mse"], components: [1] },
      { grad: Float32Array.of(3, 4), loss: 2, names: ["mse"], components: [2] },
    ],
    [1, 3],
    [2, 2],
  );
  assert.deepEqual(Array.from(r.grad), [2.5, 3.5]);
  assert.equal(r.loss, 1.75);
  assert.equal(r.components.mse, 1.75);
  assert.equal(r.sumSquares, 2.5 ** 2 + 3.5 ** 2);
  assert.deepEqual(r.weights, { mse: 1 }, "a shard that declares no weight: weight 1");
  // The components' weights travel with them: the shards' own weight when they agree, else the effective weight
  // Σ f·w·c / Σ f·c = (0.25·2·1 + 0.75·4·2) / (0.25·1 + 0.75·2) = 6.5 / 1.75.
  const weighted = combineShards(
    [
      { grad: Float32Array.of(0), loss: 1, names: ["mse", "l1"], components: [1, 1], weights: [0.4, 2] },
      { grad: Float32Array.of(0), loss: 2, names: ["mse", "l1"], components: [2, 2], weights: [0.4, 4] },
    ],
    [1, 3],
    [2, 2],
  );
  assert.equal(weighted.weights.mse, 0.4);
  assert.ok(Math.abs(weighted.weights.l1 - 6.5 / 1.75) < 1e-12);
  // A NaN in a zero-weight shard is not hidden.
  const nan = combineShards(
    [{ grad: Float32Array.of(1), loss: 1, names: [], components: [] }, {
      grad: Float32Array.of(NaN),
      loss: NaN,
      names: [],
      components: [],
    }],
    [1, 0],
    [1, 1],
  );
  assert.ok(Number.isNaN(nan.sumSquares) && Number.isNaN(nan.loss));
});

Deno.test("data-parallel: the components' weights cross the worker boundary into the epoch record", async () => {
  const m = linearTrainable({ seed: 2, features: 6, l2Weight: 0.25 });
  const res = await train(m, weightedData(256, 1), {
    epochs: 2,
    batchSize: 128,
    learningRate: 0.05,
    seed: 9,
    progress: false,
    workers: 2,
  });
  assert.equal(res.workers, 2);
  for (const r of res.history) {
    assert.deepEqual(r.componentWeights, { mse: 1, l2: 0.25 });
    const sum = r.components.mse + 0.25 * r.components.l2;
    assert.ok(Math.abs(sum - r.trainLoss) <= 1e-5 * r.trainLoss, `${sum} vs ${r.trainLoss}`);
  }
});

Deno.test("data-parallel: 2 threads track 1 thread over 5 epochs of weighted data; same seed is bit-identical", async () => {
  const data = weightedData(513, 1); // each epoch ends with a one-row batch: one shard, not an empty second one
  const run = async (workers: number) => {
    const m = linearTrainable({ seed: 2, features: 6 });
    const res = await train(m, data, {
      epochs: 5,
      batchSize: 128,
      learningRate: 0.05,
      seed: 9,
      progress: false,
      workers,
    });
    return { res, w: Array.from(m.w.dataSync()), b: m.b.dataSync()[0] };
  };
  const one = await run(1), two = await run(2), again = await run(2);
  assert.equal(one.res.workers, 1);
  assert.equal(two.res.workers, 2);
  // 20 Adam steps; per-step differences are float32 rounding of the shard sums (≈ 1e-7 relative) and Adam does not
  // amplify them here (|g| ≫ ε), so the weights agree to ~1e-6.
  for (let j = 0; j < 6; j++) assert.ok(Math.abs(two.w[j] - one.w[j]) < 1e-5, `w[${j}]: ${two.w[j]} vs ${one.w[j]}`);
  assert.ok(Math.abs(two.b - one.b) < 1e-5);
  two.res.history.forEach((h, i) => {
    const ref = one.res.history[i].trainLoss;
    assert.ok(Math.abs(h.trainLoss - ref) <= 1e-5 * ref, `epoch ${i + 1}: ${h.trainLoss} vs ${ref}`);
  });
  // Training happened (the comparison is not between two untouched initializations).
  const losses = one.res.history.map((h) => h.trainLoss);
  assert.ok(losses[4] < losses[0] / 2, `losses ${losses}`);
  assert.deepEqual(again.w, two.w);
  assert.equal(again.b, two.b);
  assert.deepEqual(again.res.history.map((h) => h.trainLoss), two.res.history.map((h) => h.trainLoss));
});

Deno.test("data-parallel: checkpoint + resume on 2 threads equals the uninterrupted 2-thread run exactly", async () => {
  const dir = mkdtempSync(join(tmpdir(), "candor-dp-ckpt-"));
  try {
    const data = weightedData(384, 4);
    const opts = { epochs: 4, batchSize: 128, learningRate: 0.05, seed: 3, progress: false as const, workers: 2 };
    const a = linearTrainable({ seed: 2, features: 6 });
    await train(a, data, opts);
    await train(linearTrainable({ seed: 2, features: 6 }), data, { ...opts, checkpoint: { dir }, stopAfterEpochs: 2 });
    const c = linearTrainable({ seed: 77, features: 6 }); // different init: everything must come from the checkpoint
    const rc = await train(c, data, { ...opts, resumeFrom: dir });
    assert.equal(rc.workers, 2);
    assert.deepEqual(Array.from(c.w.dataSync()), Array.from(a.w.dataSync()));
    assert.deepEqual(Array.from(c.b.dataSync()), Array.from(a.b.dataSync()));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

async function faulty(fault: Fault) {
  const m = linearTrainable({ seed: 2, features: 6, fault });
  return await train(m, weightedData(256, 3), {
    epochs: 3,
    batchSize: 128,
    learningRate: 0.05,
    progress: false,
    workers: 2,
    workerTimeoutMs: 20_000,
    // Starting a worker takes seconds on a busy machine: only the step bound is under test.
    workerStartTimeoutMs: 120_000,
  });
}

Deno.test("data-parallel: a worker that throws ends the run with a WorkerError naming the cause", async () => {
  await assert.rejects(
    () => faulty({ kind: "throw", atCall: 3 }),
    (e) =>
      e instanceof WorkerError &&
      /gradient worker 1 failed: .*injected failure in the replica's forward/.test(e.message),
  );
});

Deno.test("data-parallel: a worker that never answers times out with a WorkerError instead of hanging", async () => {
  // In a process of its own: the hung worker keeps spinning until its process exits (Deno's Worker.terminate does not
  // stop a thread stuck in synchronous code), and in the test runner's process it would hold a core for the rest of
  // the suite.
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL("./_hang_case.ts", import.meta.url).pathname],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.ok(out.success, new TextDecoder().decode(out.stderr));
  const r = JSON.parse(new TextDecoder().decode(out.stdout).trim().split("\n").at(-1)!);
  assert.equal(r.name, "WorkerError");
  assert.match(r.message, /did not return its gradient within 1500 ms/);
  assert.ok(r.ms < 15_000, `${r.ms} ms`);
});

Deno.test("data-parallel: a replica that fails to start is a WorkerError before the first step", async () => {
  await assert.rejects(
    () => faulty({ kind: "start", atCall: 1 }),
    (e) => e instanceof WorkerError && /failed: .*injected failure while building the replica/.test(e.message),
  );
});

Deno.test("data-parallel: NaN from a worker trips the sentinel, restores the last finite epoch and stops cleanly", async () => {
  const m = linearTrainable({ seed: 2, features: 6, fault: { kind: "nan", atCall: 5 } }); // epoch 3, step 1
  const seen: number[][] = [];
  const res = await train(m, weightedData(256, 3), {
    epochs: 6,
    batchSize: 128,
    learningRate: 0.05,
    progress: false,
    workers: 2,
    onEpochEnd: () => seen.push(Array.from(m.w.dataSync())),
  });
  assert.equal(res.stopReason, "non-finite");
  assert.equal(res.history.length, 2);
  assert.deepEqual(Array.from(m.w.dataSync()), seen[1]);
  assert.match(res.events[0].message, /non-finite loss at epoch 3, step 1/);
});

Deno.test("data-parallel: worker count resolution (auto, explicit, refused)", () => {
  const m = linearTrainable({ seed: 1, features: 2 });
  const cores = navigator.hardwareConcurrency;
  const big = resolveWorkers(m, "auto", 2 * MIN_AUTO_SHARD, "wasm");
  assert.equal(big.threads, Math.min(2, cores));
  const small = resolveWorkers(m, "auto", 2 * MIN_AUTO_SHARD - 1, "wasm");
  assert.equal(small.threads, 1);
  if (cores >= 2) assert.match(small.note!, /too small to split/);
  // Enough rows but too little work per shard (the MLP benchmark's case): one thread, saying why.
  const light = linearTrainable({ seed: 1, features: 2, work: MIN_AUTO_WORK / MIN_AUTO_SHARD - 1 });
  const lightRes = resolveWorkers(light, "auto", 2 * MIN_AUTO_SHARD, "wasm");
  assert.equal(lightRes.threads, 1);
  if (cores >= 2) assert.match(lightRes.note!, /multiply-adds are too small/);
  assert.equal(resolveWorkers(light, 2, 2 * MIN_AUTO_SHARD, "wasm").threads, 2, "explicit workers still split");
  assert.equal(resolveWorkers(m, "auto", 4096, "tensorflow").threads, 1);
  assert.equal(resolveWorkers(m, undefined, 4096, "wasm").threads, 1, "train() defaults to one thread");
  assert.equal(resolveWorkers(m, 3, 8, "wasm").threads, 3, "explicit counts are honoured");
  const plain = { namedVariables: m.namedVariables, forward: m.forward };
  assert.throws(() => resolveWorkers(plain, 2, 256, "wasm"), ConfigError);
  assert.equal(resolveWorkers(plain, "auto", 256, "wasm").threads, 1);
  assert.throws(() => resolveWorkers(m, 0, 256, "wasm"), ConfigError);
  assert.throws(() => resolveWorkers(m, 1.5, 256, "wasm"), ConfigError);
});
