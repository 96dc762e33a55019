import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { initBackend } from "../../lib/models/nn/backend.ts";
import {
  antiCollapse,
  balancedDirectionalLoss,
  componentWeight,
  crossEntropy,
  crossEntropyAutodiff,
  directionalHuber,
  directionalMse,
  huber,
  type LossCounters,
  type LossResult,
  maskedCrossEntropy,
  mse,
} from "../../lib/training/losses.ts";
import { notearsObjective } from "../../lib/models/nn/notears.ts";

await initBackend("wasm");
const close = (a: number, b: number, tol = 1e-5) => assert.ok(Math.abs(a - b) <= tol, `${a} vs ${b}`);
const v = (t: tf.Tensor) => t.dataSync()[0];
const sig = (z: number) => 1 / (1 + Math.exp(-z));

Deno.test("losses: binary cross-entropy with class weights and label smoothing, by hand", () => {
  const z = tf.tensor1d([2, -1, 0.5]);
  const y = tf.tensor1d([1, 0, 0]);
  const plain = [-Math.log(sig(2)), -Math.log(1 - sig(-1)), -Math.log(1 - sig(0.5))];
  close(v(crossEntropy(z, y).total), (plain[0] + plain[1] + plain[2]) / 3);
  // class weights [1, 3]: each row weighs classWeights[label] = [3, 1, 1]
  close(v(crossEntropy(z, y, { classWeights: [1, 3] }).total), (3 * plain[0] + plain[1] + plain[2]) / 5);
  const eps = 0.2;
  const q = [1 - eps / 2, eps / 2, eps / 2];
  const zs = [2, -1, 0.5];
  const smoothed = zs.map((zz, i) => -(q[i] * Math.log(sig(zz)) + (1 - q[i]) * Math.log(1 - sig(zz))));
  close(v(crossEntropy(z, y, { labelSmoothing: eps }).total), smoothed.reduce((a, b) => a + b) / 3);
});

Deno.test("losses: multiclass cross-entropy (DOWN/FLAT/UP) by hand", () => {
  const logits = tf.tensor2d([[1, 0, -1], [0, 2, 0]]);
  const y = tf.tensor1d([2, 1]);
  const lse = (r: number[]) => Math.log(r.reduce((a, b) => a + Math.exp(b), 0));
  const expect = ((lse([1, 0, -1]) - -1) + (lse([0, 2, 0]) - 2)) / 2;
  close(v(crossEntropy(logits, y).total), expect);
});

// The fused cross-entropy (JS forward, hand-written gradient) against the same loss written with tfjs ops and
// differentiated by autodiff: value and logit gradient, binary ([B] and [B, 1]) and multiclass, with class weights,
// label smoothing and sample weights.
for (
  const [name, shape, labels, o] of [
    ["multiclass", [5, 3], [2, 0, 1, 1, 2], {}],
    ["multiclass, class weights + smoothing", [5, 3], [2, 0, 1, 1, 2], {
      classWeights: [0.5, 2, 1],
      labelSmoothing: 0.1,
    }],
    ["multiclass, sample weights", [5, 4], [3, 0, 1, 1, 2], { sampleWeight: [1, 0, 2, 0.5, 3] }],
    ["binary [B]", [5], [1, 0, 0, 1, 1], { classWeights: [1, 3], labelSmoothing: 0.2 }],
    ["binary [B, 1], sample weights", [5, 1], [1, 0, 0, 1, 1], { sampleWeight: [0.2, 1, 1, 4, 0] }],
  ] as const
) {
  Deno.test(`losses: fused cross-entropy equals autodiff in value and gradient (${name})`, () => {
    const size = shape.reduce((a: number, b: number) => a * b, 1);
    // Large logits too (±30), where a naive softmax or log σ would overflow.
    const z = tf.tensor(
      Array.from({ length: size }, (_, i) => (i === 1 ? 30 : i === 2 ? -30 : Math.sin(i * 1.7) * 3)),
      [
        ...shape,
      ],
    );
    const y = tf.tensor1d([...labels]);
    const opts = {
      classWeights: "classWeights" in o ? [...o.classWeights] : undefined,
      labelSmoothing: "labelSmoothing" in o ? o.labelSmoothing : undefined,
      sampleWeight: "sampleWeight" in o ? tf.tensor1d([...o.sampleWeight]) : undefined,
    };
    // A non-uniform upstream gradient (the loss scaled by 1.7) checks that dy is applied.
    const grad = (f: typeof crossEntropy) => tf.valueAndGrad((zz: tf.Tensor) => tf.mul(f(zz, y, opts).total, 1.7))(z);
    const fused = grad(crossEntropy), reference = grad(crossEntropyAutodiff);
    close(v(fused.value), v(reference.value));
    assert.deepEqual(fused.grad.shape, z.shape);
    const a = fused.grad.dataSync(), b = reference.grad.dataSync();
    for (let i = 0; i < a.length; i++) close(a[i], b[i], 1e-6);
    assert.ok(Array.from(a).some((g) => Math.abs(g) > 1e-3), "non-trivial gradient");
  });
}

Deno.test("losses: fused cross-entropy propagates NaN logits (the training loop's non-finite sentinel)", () => {
  const r = crossEntropy(tf.tensor2d([[NaN, 0, 1], [0, 1, 2]]), tf.tensor1d([0, 1]));
  assert.ok(Number.isNaN(v(r.total)));
});

Deno.test("losses: all-masked cross-entropy is 0 (not NaN), has zero gradient, and is counted", () => {
  const counters: LossCounters = { noValidTargets: 0 };
  const w = tf.variable(tf.tensor1d([0.3, -0.2]));
  const x = tf.tensor2d([[1, 2], [3, 4]]);
  const { value, grads } = tf.variableGrads(() => {
    const z = tf.reshape(tf.matMul(x, tf.reshape(w, [2, 1])), [-1]);
    return maskedCrossEntropy(z, tf.tensor1d([1, 0]), [0, 0], {}, counters).total;
  }, [w]);
  assert.equal(v(value), 0);
  assert.deepEqual(Array.from(grads[w.name].dataSync()), [0, 0]);
  assert.equal(counters.noValidTargets, 1);
  // With one valid row the loss is that row's cross-entropy.
  const one = maskedCrossEntropy(tf.tensor1d([2, 5]), tf.tensor1d([1, 0]), [1, 0], {}, counters);
  close(v(one.total), -Math.log(sig(2)));
  assert.equal(counters.noValidTargets, 1);
});

Deno.test("losses: Huber, directional MSE and balanced directional loss follow their formulas", () => {
  const p = tf.tensor1d([0.5, -2, 1]);
  const y = tf.tensor1d([0, 1, 1.5]);
  // errors 0.5, -3, -0.5 with δ = 1: 0.125, 1·(3 − 0.5) = 2.5, 0.125
  close(v(huber(p, y, 1).total), (0.125 + 2.5 + 0.125) / 3);
  const m = (0.25 + 9 + 0.25) / 3;
  const d = (0 + 2 + 0) / 3; // max(0, −p·y): only row 2 (−2 vs 1) has the wrong sign
  const dm = directionalMse(p, y);
  close(v(dm.total), 0.4 * m + 0.6 * d);
  close(v(dm.components.mse), m);
  close(v(dm.components.direction), d);
  // Balanced directional: 1 down row, 2 up rows, 1 zero row (weight 0) → weights 1.5 (down), 0.75 (up)
  const sp = (x: number) => Math.log1p(Math.exp(x));
  const bd = balancedDirectionalLoss(tf.tensor1d([0.2, -0.1, 0.3, 9]), [1, 1, -1, 0]);
  const expect = (0.75 * sp(-0.2) + 0.75 * sp(0.1) + 1.5 * sp(0.3)) / 3;
  close(v(bd.total), expect);
});

Deno.test("losses: anti-collapse penalizes a constant prediction and a one-signed one", () => {
  const base = { total: tf.scalar(0), components: {} };
  const constant = antiCollapse(base, tf.tensor1d([0.01, 0.01, 0.01, 0.01]), { targetStd: 0.01 });
  close(v(constant.components.variance), 1e-4, 1e-7); // (0.01 − 0)²
  close(v(constant.components.sign), Math.tanh(1) ** 2);
  const healthy = antiCollapse(base, tf.tensor1d([0.02, -0.02, 0.02, -0.02]), { targetStd: 0.01 });
  close(v(healthy.components.variance), 0, 1e-9);
  close(v(healthy.components.sign), 0, 1e-9);
});

Deno.test("losses: directional Huber and sample-weighted MSE / Huber, by hand", () => {
  const p = tf.tensor1d([0.5, -2, 1]);
  const y = tf.tensor1d([0, 1, 1.5]);
  // per-row errors 0.5, −3, −0.5; Huber (δ = 1) 0.125, 2.5, 0.125; wrong direction max(0, −p·y) 0, 2, 0
  const dh = directionalHuber(p, y, 1, 2);
  close(v(dh.components.huber), 2.75 / 3);
  close(v(dh.components.direction), 2 / 3);
  close(v(dh.total), 2.75 / 3 + 2 * (2 / 3));
  // δ = 4 keeps every row quadratic: ½e² = 0.125, 4.5, 0.125
  close(v(directionalHuber(p, y, 4).components.huber), 4.75 / 3);
  // Sample weights 1, 2, 3 normalized by their sum (6).
  const w = tf.tensor1d([1, 2, 3]);
  close(v(mse(p, y, w).total), (0.25 + 2 * 9 + 3 * 0.25) / 6);
  close(v(huber(p, y, 1, w).total), (0.125 + 2 * 2.5 + 3 * 0.125) / 6);
  const dw = directionalHuber(p, y, 1, 1, w);
  close(v(dw.total), (0.125 + 5 + 0.375) / 6 + (2 * 2) / 6);
  // A zero weight removes a row entirely.
  close(v(mse(p, y, tf.tensor1d([1, 0, 1])).total), (0.25 + 0.25) / 2);
});

Deno.test("losses: total = Σ weights·components, with the weights each loss declares (1 when absent)", () => {
  const sum = (l: LossResult) =>
    Object.entries(l.components).reduce((a, [k, c]) => a + componentWeight(l, k) * v(c), 0);
  const p = tf.tensor1d([0.5, -1, 2]), y = tf.tensor1d([1, 1, -0.5]);
  // mse = (0.25 + 4 + 6.25) / 3 = 3.5; direction = mean(max(0, −p·y)) = (0 + 1 + 1) / 3 = 2/3.
  const dm = directionalMse(p, y);
  assert.deepEqual(dm.weights, { mse: 0.4, direction: 0.6 });
  close(v(dm.components.mse), 3.5);
  close(v(dm.components.direction), 2 / 3);
  close(v(dm.total), 0.4 * 3.5 + 0.6 * (2 / 3));
  close(sum(dm), v(dm.total));
  const dh = directionalHuber(p, y, 1, 0.25);
  assert.deepEqual(dh.weights, { huber: 1, direction: 0.25 });
  close(sum(dh), v(dh.total));
  const ac = antiCollapse(dm, p, { targetStd: 10, varianceWeight: 2, signWeight: 0.3 });
  assert.deepEqual(ac.weights, { mse: 0.4, direction: 0.6, variance: 2, sign: 0.3 });
  close(sum(ac), v(ac.total));
  assert.equal(mse(p, y).weights, undefined, "a one-term loss declares nothing: weight 1");
  close(sum(mse(p, y)), 3.5);

  // NOTEARS, d = 2, W = [[0, 1], [2, 0]], x = [[1, 2], [3, −1]]: x·W = [[4, 1], [−2, 3]], residuals [−3, 1] and
  // [5, −4], so reconstruction = ½·(10 + 41)/2 = 12.75; ‖W‖₁ = 3; h = tr((I + W∘W/2)²) − 2 = a²b²/2 = 2.
  // λ_rec 1, λ_sparse 0.1, λ_acyc 2, α 0.5, ρ 3: weights 1, 0.1, λ_acyc·α = 1, λ_acyc·ρ/2 = 3;
  // total = 12.75 + 0.3 + 2·(0.5·2 + 1.5·4) = 27.05.
  const w = tf.tensor2d([0, 1, 2, 0], [2, 2]), x = tf.tensor2d([1, 2, 3, -1], [2, 2]);
  const { loss } = notearsObjective(w, x, {
    lambdaReconstruction: 1,
    lambdaSparsity: 0.1,
    lambdaAcyclicity: 2,
    alpha: 0.5,
    rho: 3,
    targetColumn: 1,
  });
  assert.deepEqual(loss.weights, { reconstruction: 1, sparsity: 0.1, acyclicity: 1, acyclicitySquared: 3 });
  close(v(loss.components.reconstruction), 12.75);
  close(v(loss.components.sparsity), 3);
  close(v(loss.components.acyclicity), 2, 1e-4);
  close(v(loss.components.acyclicitySquared), 4, 1e-4);
  close(v(loss.total), 27.05, 1e-4);
  close(sum(loss), v(loss.total), 1e-4);
});
