/**
 * Whole-model gradient check: for every neural model, the gradient of its real training loss with respect to every
 * parameter is computed on the pure-JS cpu backend and on wasm (with candor's kernel patches: OpenBLAS matMul, the
 * fused dense-backward and LSTM kernels, explicit-transpose matMul, heap-view slicing, cpu fallbacks) from the same
 * seeded parameters and batch, and compared element-wise. This covers what the per-op cases of backend_test.ts do not: weight gradients through the hand-written
 * dense and LSTM backward passes, batch-norm moments, squaredDifference (MSE and auxiliary heads), step (ReLU
 * backward), the NOTEARS acyclicity matMul chain, and rank-3 slices of the sequence models.
 *
 * Zero-initialized tensors (output heads, biases) are filled with seeded values first: a zero head would make every
 * trunk gradient exactly 0 on both backends, a comparison that could not fail.
 *
 * The last test runs this file again in a subprocess with `CANDOR_BLAS=0` (kernels are registered once per process),
 * so the path without OpenBLAS — tfjs's own matMul with the explicit-transpose patch, the op-by-op layers — is checked
 * too.
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import * as tf from "@tensorflow/tfjs-core";
import { initBackend } from "../../../lib/models/nn/backend.ts";
import { MLPModel } from "../../../lib/models/nn/mlp.ts";
import { LSTMClassifier, LSTMRegressor } from "../../../lib/models/nn/lstm.ts";
import { LSTMTransformerModel } from "../../../lib/models/nn/lstm_transformer.ts";
import { XLSTMModel } from "../../../lib/models/nn/xlstm.ts";
import type { NeuralModel } from "../../../lib/models/nn/neural_model.ts";
import { notearsObjective } from "../../../lib/models/nn/notears.ts";
import { makeBatch, type Trainable } from "../../../lib/training/loop.ts";
import { SeededRandom } from "../../../lib/training/rng.ts";

const CHILD = Deno.env.get("CANDOR_GRADCHECK_CHILD") === "1";
const info = await initBackend("wasm");

/** Loss, its components and every parameter's gradient, by logical name. */
interface Gradients {
  loss: number;
  components: Record<string, number>;
  grads: Map<string, Float32Array>;
}

function normals(n: number, seed: number, scale = 1): Float32Array {
  const r = new SeededRandom(seed);
  return Float32Array.from({ length: n }, () => r.normal() * scale);
}

/** Replaces all-zero variables with seeded values (see the module doc). */
function fillZeros(vars: Array<[string, tf.Variable]>, seed: number): void {
  vars.forEach(([, v], i) => {
    if (v.dataSync().every((x) => x === 0)) v.assign(tf.tensor(normals(v.size, seed + i, 0.3), v.shape));
  });
}

function gradientsOf(t: Trainable, x: Float32Array, y: Float32Array, sampleShape: number[]): Gradients {
  const vars = t.namedVariables();
  fillZeros(vars, 1000);
  const n = y.length;
  const batch = makeBatch({ x, y, sampleShape }, Array.from({ length: n }, (_, i) => i), { noValidTargets: 0 });
  const comps: Record<string, number> = {};
  const { value, grads } = tf.variableGrads(() => {
    const { loss } = t.forward(batch, true);
    for (const [k, c] of Object.entries(loss.components)) comps[k] = c.dataSync()[0];
    return loss.total;
  }, vars.map(([, v]) => v));
  const out = new Map(vars.map(([name, v]) => [name, new Float32Array(grads[v.name].dataSync())]));
  const loss = value.dataSync()[0];
  tf.dispose([value, ...Object.values(grads), batch.x, batch.y]);
  return { loss, components: comps, grads: out };
}

/**
 * Relative comparison per tensor: |wasm − cpu| ≤ rtol·max|cpu| + 1e-7, element by element. Tensors named by
 * `zeroGrad` have a gradient that is 0 in exact arithmetic (only rounding noise remains): both must be below 1e-6.
 */
function assertClose(label: string, cpu: Gradients, wasm: Gradients, zeroGrad?: RegExp, rtol = 5e-5): void {
  const close = (a: number, b: number, scale: number) => Math.abs(a - b) <= rtol * scale + 1e-7;
  assert.ok(close(wasm.loss, cpu.loss, Math.abs(cpu.loss)), `${label}: loss wasm ${wasm.loss} vs cpu ${cpu.loss}`);
  assert.deepEqual(Object.keys(wasm.components), Object.keys(cpu.components));
  for (const [k, v] of Object.entries(cpu.components)) {
    assert.ok(close(wasm.components[k], v, Math.abs(v)), `${label}: component ${k}: ${wasm.components[k]} vs ${v}`);
  }
  assert.deepEqual([...wasm.grads.keys()], [...cpu.grads.keys()]);
  let worst = 0;
  for (const [name, g] of cpu.grads) {
    const w = wasm.grads.get(name)!;
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
      assert.ok(close(w[i], g[i], scale), `${label}: ∂loss/∂${name}[${i}]: wasm ${w[i]} vs cpu ${g[i]} (max ${scale})`);
      worst = Math.max(worst, Math.abs(w[i] - g[i]) / scale);
    }
  }
  console.log(
    `${label}: ${cpu.grads.size} parameter tensors, largest |wasm − cpu| / max|cpu| = ${worst.toExponential(1)}`,
  );
}

async function onBoth(run: () => Gradients): Promise<{ cpu: Gradients; wasm: Gradients }> {
  await tf.setBackend("cpu");
  try {
    const cpu = run();
    await tf.setBackend("wasm");
    const wasm = run();
    return { cpu, wasm };
  } finally {
    await tf.setBackend("wasm");
  }
}

interface ModelCase {
  name: string;
  make: () => NeuralModel;
  sampleShape: number[];
  /** Targets for `rows` samples. */
  y: (rows: number) => Float32Array;
  classWeights?: number[];
  /** Parameters whose gradient is exactly 0 in exact arithmetic. */
  zeroGrad?: RegExp;
}

const rows = 6;
const classes = (k: number) => (n: number) => Float32Array.from({ length: n }, (_, i) => i % k);
const returns = (n: number) => normals(n, 77, 0.5);

const modelCases: ModelCase[] = [
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

for (const c of modelCases) {
  Deno.test(`model gradients: wasm equals cpu for every parameter — ${c.name}`, async () => {
    const size = c.sampleShape.reduce((a, b) => a * b, 1);
    const x = normals(rows * size, 5);
    const y = c.y(rows);
    const { cpu, wasm } = await onBoth(() => {
      const m = c.make();
      const t = m.replicaTrainable({
        kind: m.kind,
        options: {},
        sampleShape: c.sampleShape,
        classWeights: c.classWeights,
        seed: 3,
        backend: tf.getBackend(),
      });
      const g = gradientsOf(t, x, y, c.sampleShape);
      m.dispose();
      return g;
    });
    assertClose(c.name, cpu, wasm, c.zeroGrad);
  });
}

Deno.test("model gradients: wasm equals cpu — NOTEARS objective (acyclicity matMul chain, L1, masked diagonal)", async () => {
  const d = 5;
  const x = normals(8 * d, 9);
  const w0 = normals(d * d, 10, 0.4);
  const { cpu, wasm } = await onBoth(() => {
    const w = tf.variable(tf.tensor2d(w0, [d, d]));
    const xs = tf.tensor2d(x, [8, d]);
    const comps: Record<string, number> = {};
    const { value, grads } = tf.variableGrads(() => {
      const { loss } = notearsObjective(w, xs, {
        lambdaReconstruction: 1,
        lambdaSparsity: 0.1,
        lambdaAcyclicity: 1,
        alpha: 0.7,
        rho: 3,
        targetColumn: d - 1,
      });
      for (const [k, v] of Object.entries(loss.components)) comps[k] = v.dataSync()[0];
      return loss.total;
    }, [w]);
    const out = {
      loss: value.dataSync()[0],
      components: comps,
      grads: new Map([["W", new Float32Array(grads[w.name].dataSync())]]),
    };
    tf.dispose([w, xs, value, ...Object.values(grads)]);
    return out;
  });
  assert.ok(cpu.components.acyclicity > 1e-3, `h(W) = ${cpu.components.acyclicity}: the chain must be exercised`);
  const g = cpu.grads.get("W")!;
  for (let i = 0; i < d; i++) assert.equal(Math.abs(g[i * d + i]), 0, "diagonal is masked: zero gradient");
  assertClose("NOTEARS", cpu, wasm);
});

Deno.test(`model gradients: the wasm run used ${CHILD ? "tfjs's kernels (CANDOR_BLAS=0)" : "OpenBLAS and the fused kernels"}`, () => {
  assert.equal(info.name, "wasm");
  for (const k of ["BatchMatMul:blas", "CandorLstmForward:blas", "CandorDense:blas", "CandorDenseBackward:blas"]) {
    assert.equal(info.patches.includes(k), !CHILD, info.patches.join(", "));
  }
  assert.equal(info.patches.some((p) => p.startsWith("blas-unavailable: disabled by CANDOR_BLAS=0")), CHILD);
  assert.ok(info.patches.includes("BatchMatMul:explicit-transpose"));
});

if (!CHILD) {
  Deno.test("model gradients: the same checks pass with CANDOR_BLAS=0 (subprocess)", async () => {
    const file = fileURLToPath(import.meta.url);
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["test", "-A", "--no-check", file],
      env: { CANDOR_BLAS: "0", CANDOR_GRADCHECK_CHILD: "1", NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 0, text.slice(-3000));
    const passed = /ok \| (\d+) passed \| 0 failed/.exec(text);
    assert.ok(passed !== null && Number(passed[1]) === modelCases.length + 2, text.slice(-1500));
  });
}
