/**
 * Shared by the whole-model gradient checks (model_gradients_test.ts: wasm vs cpu; webgpu_gradients_test.ts: webgpu vs
 * cpu): the model cases, the gradient of a model's real training loss for every parameter (read asynchronously, so
 * it runs on every backend), and the element-wise comparison.
 *
 * Zero-initialized tensors (output heads, biases) are filled with seeded values first: a zero head would make every
 * trunk gradient exactly 0 on both backends, a comparison that could not fail.
 *
 * @module
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { MLPModel } from "../../../lib/models/nn/mlp.ts";
import { LSTMClassifier, LSTMRegressor } from "../../../lib/models/nn/lstm.ts";
import { LSTMTransformerModel } from "../../../lib/models/nn/lstm_transformer.ts";
import { XLSTMModel } from "../../../lib/models/nn/xlstm.ts";
import type { NeuralModel } from "../../../lib/models/nn/neural_model.ts";
import { notearsObjective } from "../../../lib/models/nn/notears.ts";
import { makeBatch, type Trainable } from "../../../lib/training/loop.ts";
import { SeededRandom } from "../../../lib/training/rng.ts";

/** Loss, its components and every parameter's gradient, by logical name. */
export interface Gradients {
  loss: number;
  components: Record<string, number>;
  grads: Map<string, Float32Array>;
}

/** Seeded standard normals times `scale`. */
export function normals(n: number, seed: number, scale = 1): Float32Array {
  const r = new SeededRandom(seed);
  return Float32Array.from({ length: n }, () => r.normal() * scale);
}

async function read(t: tf.Tensor): Promise<Float32Array> {
  return new Float32Array(await t.data() as Float32Array);
}

/** Replaces all-zero variables with seeded values (see the module doc). */
async function fillZeros(vars: Array<[string, tf.Variable]>, seed: number): Promise<void> {
  for (const [i, [, v]] of vars.entries()) {
    if ((await read(v)).every((x) => x === 0)) v.assign(tf.tensor(normals(v.size, seed + i, 0.3), v.shape));
  }
}

/** Loss, components and every parameter's gradient of `t`'s training loss on one batch, on the active backend. */
export async function gradientsOf(
  t: Trainable,
  x: Float32Array,
  y: Float32Array,
  sampleShape: number[],
): Promise<Gradients> {
  const vars = t.namedVariables();
  await fillZeros(vars, 1000);
  const n = y.length;
  const batch = makeBatch({ x, y, sampleShape }, Array.from({ length: n }, (_, i) => i), { noValidTargets: 0 });
  const compTensors: Record<string, tf.Tensor> = {};
  const { value, grads } = tf.variableGrads(() => {
    const { loss } = t.forward(batch, true);
    for (const [k, c] of Object.entries(loss.components)) compTensors[k] = tf.keep(c);
    return loss.total;
  }, vars.map(([, v]) => v));
  const components: Record<string, number> = {};
  for (const [k, c] of Object.entries(compTensors)) components[k] = (await read(c))[0];
  const out = new Map<string, Float32Array>();
  for (const [name, v] of vars) out.set(name, await read(grads[v.name]));
  const loss = (await read(value))[0];
  tf.dispose([value, ...Object.values(grads), ...Object.values(compTensors), batch.x, batch.y]);
  return { loss, components, grads: out };
}

/**
 * Relative comparison per tensor: |other − cpu| ≤ rtol·max|cpu| + 1e-7, element by element. Tensors named by
 * `zeroGrad` have a gradient that is 0 in exact arithmetic (only rounding noise remains): both must be below 1e-6.
 */
export function assertClose(
  label: string,
  cpu: Gradients,
  other: Gradients,
  backend: string,
  zeroGrad?: RegExp,
  rtol = 5e-5,
): void {
  const close = (a: number, b: number, scale: number) => Math.abs(a - b) <= rtol * scale + 1e-7;
  assert.ok(
    close(other.loss, cpu.loss, Math.abs(cpu.loss)),
    `${label}: loss ${backend} ${other.loss} vs cpu ${cpu.loss}`,
  );
  assert.deepEqual(Object.keys(other.components), Object.keys(cpu.components));
  for (const [k, v] of Object.entries(cpu.components)) {
    assert.ok(close(other.components[k], v, Math.abs(v)), `${label}: component ${k}: ${other.components[k]} vs ${v}`);
  }
  assert.deepEqual([...other.grads.keys()], [...cpu.grads.keys()]);
  let worst = 0;
  for (const [name, g] of cpu.grads) {
    const w = other.grads.get(name)!;
    if (zeroGrad?.test(name)) {
      for (const v of [...g, ...w]) {
        assert.ok(Math.abs(v) < 1e-6, `${label}: ${name} should have a zero gradient: ${v}`);
      }
      continue;
    }
    let scale = 0;
    for (const v of g) scale = Math.max(scale, Math.abs(v));
    assert.ok(scale > 0, `${label}: gradient of ${name} is identically 0 (the check would be vacuous)`);
    for (let i = 0; i < g.length; i++) {
      assert.ok(
        close(w[i], g[i], scale),
        `${label}: ∂loss/∂${name}[${i}]: ${backend} ${w[i]} vs cpu ${g[i]} (max ${scale})`,
      );
      worst = Math.max(worst, Math.abs(w[i] - g[i]) / scale);
    }
  }
  console.log(
    `${label}: ${cpu.grads.size} parameter tensors, largest |${backend} − cpu| / max|cpu| = ${worst.toExponential(1)}`,
  );
}

/** Runs `run` on the cpu backend, then on `backend`; leaves `backend` active. */
export async function onBoth(
  backend: string,
  run: () => Promise<Gradients>,
): Promise<{ cpu: Gradients; other: Gradients }> {
  await tf.setBackend("cpu");
  try {
    const cpu = await run();
    await tf.setBackend(backend);
    const other = await run();
    return { cpu, other };
  } finally {
    await tf.setBackend(backend);
  }
}

/** Every parameter's gradient of model case `c`'s loss on the active backend. */
export async function modelGradients(c: ModelCase): Promise<Gradients> {
  const size = c.sampleShape.reduce((a, b) => a * b, 1);
  const m = c.make();
  const t = m.replicaTrainable({
    kind: m.kind,
    options: {},
    sampleShape: c.sampleShape,
    classWeights: c.classWeights,
    seed: 3,
    backend: tf.getBackend(),
  });
  const g = await gradientsOf(t, normals(rows * size, 5), c.y(rows), c.sampleShape);
  m.dispose();
  return g;
}

/** The NOTEARS objective's gradient with respect to W (d = 5, 8 rows), on the active backend. */
export async function notearsGradients(): Promise<Gradients> {
  const d = 5;
  const x = normals(8 * d, 9);
  const w0 = normals(d * d, 10, 0.4);
  const w = tf.variable(tf.tensor2d(w0, [d, d]));
  const xs = tf.tensor2d(x, [8, d]);
  const compTensors: Record<string, tf.Tensor> = {};
  const { value, grads } = tf.variableGrads(() => {
    const { loss } = notearsObjective(w, xs, {
      lambdaReconstruction: 1,
      lambdaSparsity: 0.1,
      lambdaAcyclicity: 1,
      alpha: 0.7,
      rho: 3,
      targetColumn: d - 1,
    });
    for (const [k, v] of Object.entries(loss.components)) compTensors[k] = tf.keep(v);
    return loss.total;
  }, [w]);
  const components: Record<string, number> = {};
  for (const [k, c] of Object.entries(compTensors)) components[k] = (await read(c))[0];
  const out = { loss: (await read(value))[0], components, grads: new Map([["W", await read(grads[w.name])]]) };
  tf.dispose([w, xs, value, ...Object.values(grads), ...Object.values(compTensors)]);
  return out;
}

/** Checks that the NOTEARS comparison exercises what it claims (the acyclicity chain, the masked diagonal). */
export function assertNotearsExercised(cpu: Gradients): void {
  const d = 5;
  assert.ok(cpu.components.acyclicity > 1e-3, `h(W) = ${cpu.components.acyclicity}: the chain must be exercised`);
  const g = cpu.grads.get("W")!;
  for (let i = 0; i < d; i++) assert.equal(Math.abs(g[i * d + i]), 0, "diagonal is masked: zero gradient");
}

/** One model whose every parameter gradient is compared across backends. */
export interface ModelCase {
  name: string;
  make: () => NeuralModel;
  sampleShape: number[];
  /** Targets for `rows` samples. */
  y: (rows: number) => Float32Array;
  classWeights?: number[];
  /** Parameters whose gradient is exactly 0 in exact arithmetic. */
  zeroGrad?: RegExp;
}

/** Rows per batch. */
export const rows = 6;
const classes = (k: number) => (n: number) => Float32Array.from({ length: n }, (_, i) => i % k);
const returns = (n: number) => normals(n, 77, 0.5);

/** The models checked: every neural model kind and the loss features that reach its parameters. */
export const modelCases: ModelCase[] = [
  {
    name: "MLP 3-class (ReLU step, class-weighted cross-entropy)",
    make: () => new MLPModel({ task: "multiclass", numClasses: 3, hidden: [7, 5] }),
    sampleShape: [4],
    y: classes(3),
    classWeights: [0.5, 2, 1],
  },
  {
    name: "MLP regression, directional Huber + anti-collapse (abs, minimum, relu, moments, tanh)",
    make: () =>
      new MLPModel({ task: "regression", hidden: [6], loss: "directional-huber", antiCollapse: { targetStd: 2 } }),
    sampleShape: [4],
    y: returns,
  },
  {
    name: "LSTM classifier with batch norm (moments over the batch)",
    make: () => new LSTMClassifier({ timesteps: 5, units: 4, batchNorm: true }),
    sampleShape: [5, 3],
    y: classes(2),
  },
  {
    name: "LSTM regressor, MSE (squaredDifference)",
    make: () => new LSTMRegressor({ timesteps: 5, units: 4 }),
    sampleShape: [5, 3],
    y: returns,
  },
  {
    name: "LSTM regressor, 5 units over 7 steps of 3 features (element-wise tails of the fused kernels)",
    make: () => new LSTMRegressor({ timesteps: 7, units: 5 }),
    sampleShape: [7, 3],
    y: returns,
  },
  {
    name: "LSTM+Transformer with magnitude/sign/volatility heads (attention, layer norm, rank-3 slice)",
    make: () =>
      new LSTMTransformerModel({
        timesteps: 4,
        units: 4,
        blocks: 1,
        heads: 2,
        magnitudeHead: true,
        signHead: true,
        volatilityHead: true,
        auxWeight: 0.5,
      }),
    sampleShape: [4, 3],
    y: returns,
    // q·(k_j + b) shifts every score of a query by the same q·b, which softmax ignores.
    zeroGrad: /attention\/key\/bias$/,
  },
  {
    name: "xLSTM-TS (sLSTM exponential gating, stabilizer max, residuals, rank-3 slice)",
    make: () => new XLSTMModel({ timesteps: 4, units: 4, blocks: 2 }),
    sampleShape: [4, 3],
    y: returns,
  },
];
