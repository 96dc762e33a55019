import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { initBackend } from "../../lib/models/nn/backend.ts";
import { FlatAdam } from "../../lib/training/adam.ts";

await initBackend("wasm");

Deno.test("FlatAdam: two steps on two variables match the Adam formula computed by hand", () => {
  const a = tf.variable(tf.tensor1d([1, -2]), true, "adam_test/a");
  const b = tf.variable(tf.tensor2d([[0.5]]), true, "adam_test/b");
  const opt = new FlatAdam([a, b], { beta1: 0.9, beta2: 0.999, epsilon: 1e-8 });
  const grads = [[0.5, 0.1, -1], [-0.3, 0.2, 2]];
  const theta = [1, -2, 0.5], m = [0, 0, 0], v = [0, 0, 0];
  grads.forEach((g, k) => {
    const t = k + 1;
    for (let i = 0; i < 3; i++) {
      m[i] = 0.9 * m[i] + 0.1 * g[i];
      v[i] = 0.999 * v[i] + 0.001 * g[i] ** 2;
      theta[i] -= (0.1 / (1 - 0.9 ** t)) * m[i] / (Math.sqrt(v[i] / (1 - 0.999 ** t)) + 1e-8);
    }
    opt.step(tf.tensor1d(g), 0.1);
  });
  const got = [...a.dataSync(), ...b.dataSync()];
  theta.forEach((x, i) => assert.ok(Math.abs(got[i] - x) < 1e-6, `θ${i}: ${got[i]} vs ${x}`));
  assert.deepEqual(b.shape, [1, 1]);
  const s = opt.state();
  assert.equal(s.t, 2);
  const again = new FlatAdam([a, b]);
  again.load(s);
  assert.deepEqual(again.state(), s);
  assert.throws(() => new FlatAdam([a]).load(s), /holds 3 parameters, the model has 2/);
});

Deno.test("FlatAdam: a variable changed between steps (restore, resume) is re-read, not overwritten from a stale copy", () => {
  const a = tf.variable(tf.tensor1d([1, 2]), true, "adam_test/restored");
  const opt = new FlatAdam([a]);
  opt.step(new Float32Array([1, 1]), 0.1);
  // Restoring a snapshot, as the loop does after a non-finite step or for early stopping.
  a.assign(tf.tensor1d([10, 20]));
  opt.step(new Float32Array([0, 0]), 0.1);
  // Step 2 from the restored values, by hand: m = 0.9·0.1, v = 0.999·0.001, bias corrections 1 − 0.9², 1 − 0.999².
  const delta = (0.1 / (1 - 0.81)) * 0.09 / (Math.sqrt(0.000999 / (1 - 0.999 ** 2)) + 1e-8);
  const got = Array.from(a.dataSync());
  assert.ok(Math.abs(got[0] - (10 - delta)) < 1e-5 && Math.abs(got[1] - (20 - delta)) < 1e-5, `${got}, δ ${delta}`);
});

Deno.test("FlatAdam.currentParameters: the variables' values after a step, and re-read after a restore", () => {
  const a = tf.variable(tf.tensor1d([1, 2]), true, "adam_test/current_a");
  const b = tf.variable(tf.tensor1d([3]), true, "adam_test/current_b");
  const opt = new FlatAdam([a, b]);
  assert.deepEqual(Array.from(opt.currentParameters()), [1, 2, 3]);
  opt.step(new Float32Array([1, -1, 0]), 0.1);
  // First Adam step moves each parameter by lr·sign(g) (up to ε), none where g = 0.
  const after = Array.from(opt.currentParameters());
  assert.deepEqual(after, [...a.dataSync(), ...b.dataSync()]);
  assert.ok(Math.abs(after[0] - 0.9) < 1e-6 && Math.abs(after[1] - 2.1) < 1e-6 && after[2] === 3, `${after}`);
  b.assign(tf.tensor1d([7]));
  assert.deepEqual(Array.from(opt.currentParameters()), [after[0], after[1], 7]);
});

Deno.test("FlatAdam with weightDecay is AdamW: θ ← θ·(1 − lr·λ), then the Adam step (PyTorch's order), by hand", () => {
  const a = tf.variable(tf.tensor1d([1, -2, 0.5]), true, "adamw_test/a");
  const opt = new FlatAdam([a], { weightDecay: 0.5 });
  const grads = [[0.5, 0.1, 0], [-0.3, 0.2, 0]];
  const theta = [1, -2, 0.5], m = [0, 0, 0], v = [0, 0, 0];
  const lr = 0.1, wd = 0.5;
  grads.forEach((g, k) => {
    const t = k + 1;
    for (let i = 0; i < 3; i++) {
      theta[i] *= 1 - lr * wd;
      m[i] = 0.9 * m[i] + 0.1 * g[i];
      v[i] = 0.999 * v[i] + 0.001 * g[i] ** 2;
      theta[i] -= (lr / (1 - 0.9 ** t)) * m[i] / (Math.sqrt(v[i] / (1 - 0.999 ** t)) + 1e-8);
    }
    opt.step(tf.tensor1d(g), lr);
  });
  const got = a.dataSync();
  theta.forEach((x, i) => assert.ok(Math.abs(got[i] - x) < 1e-6, `θ${i}: ${got[i]} vs ${x}`));
  // A parameter with no gradient only decays: 0.5 · 0.95².
  assert.ok(Math.abs(got[2] - 0.5 * 0.95 ** 2) < 1e-7);
  assert.throws(() => new FlatAdam([a], { weightDecay: -1 }), /weightDecay must be ≥ 0/);
  a.dispose();
});
