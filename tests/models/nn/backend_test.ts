/**
 * The wasm backend (with candor's transposed-matMul fast path and cpu fallbacks) must compute the same gradients as
 * the pure-JS cpu backend for every op the models use. Each case is differentiated on both backends from identical
 * inputs and compared element-wise.
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { initBackend } from "../../../lib/models/nn/backend.ts";
import { installWasmPatches } from "../../../lib/models/nn/wasm_patches.ts";
import { ConfigError } from "../../../lib/errors.ts";
import { ParamStore } from "../../../lib/models/nn/params.ts";
import {
  dense,
  denseAutodiff,
  layerNorm,
  layerNormAutodiff,
  lstm,
  lstmAutodiff,
  selfAttention,
  slstm,
} from "../../../lib/models/nn/layers.ts";
import { SeededRandom } from "../../../lib/training/rng.ts";

function randn(shape: number[], seed: number): { shape: number[]; values: Float32Array } {
  const r = new SeededRandom(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  return { shape, values: Float32Array.from({ length: n }, () => r.normal()) };
}

type Input = { shape: number[]; values: Float32Array };
type Case = { name: string; inputs: Input[]; f: (...xs: tf.Tensor[]) => tf.Scalar };

const cases: Case[] = [
  {
    name: "matMul",
    inputs: [randn([5, 4], 1), randn([4, 3], 2)],
    f: (a, b) => tf.sum(tf.matMul(a as tf.Tensor2D, b as tf.Tensor2D)),
  },
  {
    name: "matMul transposeA/B",
    inputs: [randn([4, 5], 3), randn([3, 4], 4)],
    f: (a, b) => tf.sum(tf.square(tf.matMul(a as tf.Tensor2D, b as tf.Tensor2D, true, true))),
  },
  {
    name: "fused matMul + bias + relu (dense layers)",
    inputs: [randn([6, 5], 41), randn([5, 4], 42), randn([4], 43)],
    f: (a, b, c) =>
      tf.sum(tf.square(tf.fused.matMul({ a: a as tf.Tensor2D, b: b as tf.Tensor2D, bias: c, activation: "relu" }))),
  },
  {
    name: "batched matMul (attention shapes)",
    inputs: [randn([2, 3, 4, 5], 5), randn([2, 3, 4, 5], 6)],
    f: (a, b) => tf.sum(tf.softmax(tf.matMul(a as tf.Tensor4D, b as tf.Tensor4D, false, true))),
  },
  {
    name: "elementwise: add sub mul div sigmoid tanh relu exp softplus abs sqrt minimum maximum",
    inputs: [randn([6, 4], 7), randn([6, 4], 8)],
    f: (a, b) =>
      tf.sum(tf.addN([
        tf.mul(tf.sigmoid(a), tf.tanh(b)),
        tf.div(tf.sub(a, b), tf.add(tf.exp(b), 1)),
        tf.relu(a),
        tf.neg(tf.softplus(tf.neg(a))),
        tf.abs(b),
        tf.sqrt(tf.add(tf.square(a), 1)),
        tf.minimum(a, 0.5),
        tf.maximum(a, b),
      ])),
  },
  {
    name: "reductions, moments, logSoftmax",
    inputs: [randn([8, 3], 9)],
    f: (a) => {
      const { mean, variance } = tf.moments(a, -1, true);
      return tf.add(tf.sum(tf.div(tf.sub(a, mean), tf.sqrt(tf.add(variance, 1e-5)))), tf.mean(tf.logSoftmax(a)));
    },
  },
  {
    name: "gather (UnsortedSegmentSum via cpu fallback), oneHot",
    inputs: [randn([4, 3], 10)],
    f: (a) =>
      tf.add(
        tf.sum(tf.gather(a, tf.tensor1d([0, 2, 2, 1], "int32"))),
        tf.sum(tf.mul(a, tf.cast(tf.oneHot(tf.tensor1d([0, 1, 2, 0], "int32"), 3), "float32"))),
      ),
  },
  {
    name: "reshape, transpose, split, unstack, stack, concat, slice",
    inputs: [randn([2, 4, 6], 11)],
    f: (a) => {
      const [p, q] = tf.split(a, 2, 2);
      const st = tf.stack(tf.unstack(tf.transpose(p, [0, 2, 1]), 1), 1);
      return tf.sum(
        tf.mul(
          tf.concat([tf.reshape(st, [2, -1]), tf.reshape(q, [2, -1])], 1),
          tf.slice(tf.reshape(a, [2, -1]), [0, 0], [2, 24]),
        ),
      );
    },
  },
];

function layerCase(name: string, inShape: number[], build: (p: ParamStore) => (x: tf.Tensor) => tf.Tensor): Case {
  // Parameters are created from a seeded store on the current backend; gradients are taken w.r.t. the input.
  return {
    name,
    inputs: [randn(inShape, 12)],
    f: (x) => {
      const p = new ParamStore(7);
      const out = tf.sum(tf.square(build(p)(x))) as tf.Scalar;
      const kept = tf.keep(out);
      p.dispose();
      return kept;
    },
  };
}
cases.push(
  layerCase("LSTM layer", [3, 5, 4], (p) => {
    const f = lstm(p, "l", 4, 6);
    return (x) => f(x as tf.Tensor3D);
  }),
  layerCase("sLSTM layer", [3, 5, 4], (p) => {
    const f = slstm(p, "s", 4, 6);
    return (x) => f(x as tf.Tensor3D);
  }),
  layerCase("self-attention + layer norm", [2, 5, 8], (p) => {
    const ln = layerNorm(p, "ln", 8);
    const att = selfAttention(p, "a", 8, 2);
    return (x) => att(ln(x) as tf.Tensor3D);
  }),
);

async function gradsOn(backend: string, c: Case): Promise<Float32Array[]> {
  await tf.setBackend(backend);
  const xs = c.inputs.map((i) => tf.tensor(i.values, i.shape));
  const g = tf.grads((...a: tf.Tensor[]) => c.f(...a))(xs);
  const out = g.map((t) => t.dataSync() as Float32Array).map((a) => new Float32Array(a));
  tf.dispose([...xs, ...g]);
  return out;
}

Deno.test("backend: auto selects wasm here and records why tensorflow and webgpu were skipped", async () => {
  const info = await initBackend("auto");
  assert.equal(info.name, "wasm");
  assert.ok(info.fallbacks.some((f) => f.startsWith("tensorflow:")), info.fallbacks.join("; "));
  // This machine has no GPU: either no adapter at all, or a software one (lavapipe), which auto must never pick.
  const webgpu = info.fallbacks.find((f) => f.startsWith("webgpu:"));
  assert.ok(webgpu !== undefined, info.fallbacks.join("; "));
  if (info.adapter !== undefined) {
    assert.ok(info.adapter.fallback, `a hardware adapter was skipped: ${info.adapter.description}`);
    assert.match(webgpu, /only a software adapter .*TFJS_BACKEND=webgpu uses it anyway/);
  }
  assert.ok(info.patches.includes("BatchMatMul:explicit-transpose"));
  assert.ok(info.patches.includes("cpu-fallback:UnsortedSegmentSum"));
  assert.equal(installWasmPatches(), info.patches, "patches are installed once");
});

Deno.test("backend: explicit unavailable backends fail with a typed error; unknown names are config errors", async () => {
  await assert.rejects(() => initBackend("tensorflow"), /no TensorFlow native binding/);
  Deno.env.set("TFJS_BACKEND", "gpu-please");
  try {
    await assert.rejects(() => initBackend(), ConfigError);
  } finally {
    Deno.env.delete("TFJS_BACKEND");
  }
});

for (const c of cases) {
  Deno.test(`backend: wasm gradient matches cpu — ${c.name}`, async () => {
    await initBackend("wasm");
    const onCpu = await gradsOn("cpu", c);
    const onWasm = await gradsOn("wasm", c);
    assert.equal(onWasm.length, onCpu.length);
    for (let k = 0; k < onCpu.length; k++) {
      let scale = 1e-3;
      for (const v of onCpu[k]) scale = Math.max(scale, Math.abs(v));
      for (let i = 0; i < onCpu[k].length; i++) {
        const d = Math.abs(onWasm[k][i] - onCpu[k][i]);
        assert.ok(
          d <= 1e-4 * scale + 1e-5,
          `${c.name}: input ${k} element ${i}: wasm ${onWasm[k][i]} vs cpu ${onCpu[k][i]}`,
        );
      }
    }
    await tf.setBackend("wasm");
  });
}

for (const sequences of [false, true]) {
  Deno.test(`LSTM: hand-written backward equals autodiff (${sequences ? "all steps" : "last step"}), on wasm`, async () => {
    await initBackend("wasm");
    const x = tf.tensor(randn([3, 7, 4], 21).values, [3, 7, 4]) as tf.Tensor3D;
    const weights = tf.tensor(randn([7 * 3 * 5], 22).values, [3, 7, 5]);
    const gradsOf = (make: typeof lstm) => {
      const p = new ParamStore(9);
      const cell = make(p, "l", 4, 5);
      const vars = p.trainable.map(([, v]) => v);
      const { value, grads } = tf.variableGrads(() => {
        const out = cell(x, sequences);
        // A non-uniform weighting so every output element gets its own upstream gradient.
        return tf.sum(tf.mul(out, sequences ? weights : tf.reshape(tf.slice(weights, [0, 6, 0], [3, 1, 5]), [3, 5])));
      }, vars);
      const dx = tf.grad((xx: tf.Tensor) => tf.sum(tf.square(cell(xx as tf.Tensor3D, sequences))))(x);
      const out = [
        value.dataSync()[0],
        ...vars.map((v) => Array.from(grads[v.name].dataSync())),
        Array.from(dx.dataSync()),
      ];
      p.dispose();
      return out;
    };
    const fast = gradsOf(lstm);
    const reference = gradsOf(lstmAutodiff);
    assert.ok(Math.abs((fast[0] as number) - (reference[0] as number)) < 1e-5, "same forward value");
    for (let k = 1; k < fast.length; k++) {
      const a = fast[k] as number[], b = reference[k] as number[];
      for (let i = 0; i < a.length; i++) {
        assert.ok(Math.abs(a[i] - b[i]) < 1e-4, `tensor ${k}[${i}]: ${a[i]} vs ${b[i]}`);
      }
    }
  });
}

for (const backend of ["cpu", "wasm"]) {
  Deno.test(`layer norm: hand-written backward equals autodiff (γ, β and the input), on ${backend}`, async () => {
    await initBackend(backend as "cpu" | "wasm");
    // Rank 3 with rows of very different scale and offset, as the residual stream of the sequence models has.
    const raw = randn([3, 4, 6], 51).values.map((v, i) => v * (1 + (i % 5)) + (i % 7) - 3);
    const x = tf.tensor3d(raw, [3, 4, 6]);
    const weights = tf.tensor(randn([3, 4, 6], 52).values, [3, 4, 6]);
    const gradsOf = (make: typeof layerNorm) => {
      const p = new ParamStore(5);
      const ln = make(p, "ln", 6);
      // Non-trivial γ and β, so that their gradients and the scaling of the input gradient are both exercised.
      p.trainable[0][1].assign(tf.tensor1d([0.5, 1.5, -1, 2, 0.8, 1.2]));
      p.trainable[1][1].assign(tf.tensor1d([0.1, -0.2, 0.3, 0, 0.5, -0.4]));
      const vars = p.trainable.map(([, v]) => v);
      const f = (xx: tf.Tensor) => tf.sum(tf.mul(ln(xx), weights)) as tf.Scalar;
      const { value, grads } = tf.variableGrads(() => f(x), vars);
      const out = [
        [value.dataSync()[0]],
        ...vars.map((v) => Array.from(grads[v.name].dataSync())),
        Array.from(tf.grad(f)(x).dataSync()),
      ];
      p.dispose();
      return out;
    };
    const fast = gradsOf(layerNorm), reference = gradsOf(layerNormAutodiff);
    assert.equal(fast.length, 4);
    for (let k = 0; k < fast.length; k++) {
      for (let i = 0; i < fast[k].length; i++) {
        const [a, b] = [fast[k][i], reference[k][i]];
        assert.ok(Math.abs(a - b) <= 1e-5 * (1 + Math.abs(b)), `tensor ${k}[${i}]: ${a} vs ${b}`);
      }
    }
    assert.ok(fast[3].some((v) => Math.abs(v) > 1e-3), "the input gradient is not trivially zero");
  });
}

Deno.test("LSTM: inputGradient false leaves weight gradients unchanged and returns a zero input gradient", async () => {
  await initBackend("wasm");
  const x = tf.tensor(randn([2, 5, 3], 31).values, [2, 5, 3]) as tf.Tensor3D;
  const run = (inputGradient: boolean) => {
    const p = new ParamStore(4);
    const cell = lstm(p, "l", 3, 4, { inputGradient });
    const vars = p.trainable.map(([, v]) => v);
    const { grads } = tf.variableGrads(() => tf.sum(tf.square(cell(x))), vars);
    const dx = tf.grad((xx: tf.Tensor) => tf.sum(tf.square(cell(xx as tf.Tensor3D))))(x);
    const out = { w: vars.map((v) => Array.from(grads[v.name].dataSync())), dx: Array.from(dx.dataSync()) };
    p.dispose();
    return out;
  };
  const full = run(true), skipped = run(false);
  assert.deepEqual(skipped.w, full.w);
  assert.ok(skipped.dx.every((v) => v === 0));
  assert.ok(full.dx.some((v) => v !== 0));
});

// A narrowing (5 → 4) and a widening (3 → 6) layer, linear and ReLU.
for (const [inDim, outDim, activation] of [[5, 4, undefined], [5, 4, "relu"], [3, 6, "relu"]] as const) {
  Deno.test(`dense ${inDim}→${outDim}: hand-written backward equals autodiff (${activation ?? "linear"}), on wasm`, async () => {
    await initBackend("wasm");
    const x = tf.tensor(randn([6, inDim], 41).values, [6, inDim]) as tf.Tensor2D;
    const weights = tf.tensor(randn([6, outDim], 42).values, [6, outDim]);
    const gradsOf = (make: typeof denseAutodiff, inputGradient = true) => {
      const p = new ParamStore(8);
      const layer = make === denseAutodiff
        ? denseAutodiff(p, "d", inDim, outDim, { activation })
        : dense(p, "d", inDim, outDim, { activation, inputGradient });
      // A non-zero bias so that some ReLU units are off and others on.
      p.trainable[1][1].assign(tf.tensor1d([0.3, -0.4, 0.1, -0.05, 0.2, -0.1].slice(0, outDim)));
      const vars = p.trainable.map(([, v]) => v);
      const f = (xx: tf.Tensor) => tf.sum(tf.mul(layer(xx), weights)) as tf.Scalar;
      const { value, grads } = tf.variableGrads(() => f(x), vars);
      const dx = tf.grad(f)(x);
      if (activation === "relu") {
        const y = Array.from(layer(x).dataSync());
        assert.ok(y.some((v) => v === 0) && y.some((v) => v > 0), "some ReLU units are off, some on");
      }
      const out = [
        value.dataSync()[0],
        ...vars.map((v) => Array.from(grads[v.name].dataSync())),
        Array.from(dx.dataSync()),
      ];
      p.dispose();
      return out;
    };
    const fast = gradsOf(dense as typeof denseAutodiff), reference = gradsOf(denseAutodiff);
    assert.ok(Math.abs((fast[0] as number) - (reference[0] as number)) < 1e-5, "same forward value");
    for (let k = 1; k < fast.length; k++) {
      const a = fast[k] as number[], b = reference[k] as number[];
      for (let i = 0; i < a.length; i++) {
        assert.ok(Math.abs(a[i] - b[i]) < 1e-5, `tensor ${k}[${i}]: ${a[i]} vs ${b[i]}`);
      }
    }
    // inputGradient: false keeps the weight gradients and returns a zero input gradient.
    const skipped = gradsOf(dense as typeof denseAutodiff, false);
    assert.deepEqual(skipped.slice(0, 3), fast.slice(0, 3));
    assert.ok((skipped[3] as number[]).every((v) => v === 0));
  });
}
