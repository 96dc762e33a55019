/**
 * candor's OpenBLAS-backed wasm kernels (lib/models/nn/kernels/blas_kernels.ts) against independent float64
 * computations written here: matMul for every transpose combination, broadcast batches, bias and ReLU (and the cases
 * handed back to tfjs's own kernel); the dense layer forward and backward; the LSTM layer forward and backward through
 * time (written out step by step); the sLSTM layer forward and backward (gradients by central differences of a
 * float64 forward pass), with the element-wise module's 4-lane bodies and 1–3 element tails. Skipped, with
 * the reason, where OpenBLAS cannot be loaded.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import * as tf from "@tensorflow/tfjs-core";
import { initBackend } from "../../../lib/models/nn/backend.ts";
import { installWasmPatches } from "../../../lib/models/nn/wasm_patches.ts";
import { loadBlas } from "../../../lib/models/nn/kernels/blas.ts";
import { CANDOR_KERNELS } from "../../../lib/models/nn/kernels/blas_kernels.ts";

/** op(a)·op(b) (+ bias, relu) in float64, from row-major values; batch dims broadcast when one side has 1. */
function reference(
  a: Float32Array,
  aShape: number[],
  b: Float32Array,
  bShape: number[],
  ta: boolean,
  tb: boolean,
  bias?: Float32Array,
  relu = false,
): Float64Array {
  const [ar, ac] = aShape.slice(-2), [br, bc] = bShape.slice(-2);
  const M = ta ? ac : ar, K = ta ? ar : ac, N = tb ? br : bc;
  const batchA = a.length / (ar * ac), batchB = b.length / (br * bc), batch = Math.max(batchA, batchB);
  const out = new Float64Array(batch * M * N);
  for (let s = 0; s < batch; s++) {
    const ao = (batchA === 1 ? 0 : s) * ar * ac, bo = (batchB === 1 ? 0 : s) * br * bc;
    for (let i = 0; i < M; i++) {
      for (let j = 0; j < N; j++) {
        let v = bias ? bias[j] : 0;
        for (let k = 0; k < K; k++) {
          const x = a[ao + (ta ? k * ac + i : i * ac + k)];
          const y = b[bo + (tb ? j * bc + k : k * bc + j)];
          v += x * y;
        }
        out[s * M * N + i * N + j] = relu ? Math.max(0, v) : v;
      }
    }
  }
  return out;
}

function values(n: number, seed: number): Float32Array {
  let s = seed >>> 0 || 1;
  return Float32Array.from({ length: n }, () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32 * 2 - 1;
  });
}

function assertClose(actual: ArrayLike<number>, expected: Float64Array, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++) {
    // Float32 products summed in float32: error grows with K; the values here are O(1) and K ≤ 40 (T·B ≤ 18 in
    // the LSTM weight gradients).
    const tol = 1e-5 * (1 + Math.abs(expected[i])) * 40;
    if (!(Math.abs(actual[i] - expected[i]) <= tol)) {
      assert.fail(`${what}: element ${i} is ${actual[i]}, expected ${expected[i]}`);
    }
  }
}

const backend = await initBackend("wasm");
const blas = loadBlas();
const skip = typeof blas === "string" ? blas : undefined;
if (skip !== undefined) console.log(`OpenBLAS kernel tests skipped: ${skip}`);
const ignore = skip !== undefined;

Deno.test({
  name: "the wasm backend runs the OpenBLAS kernels and records the library",
  ignore,
  fn: () => {
    assert.equal(backend.name, "wasm");
    const applied = installWasmPatches();
    for (
      const k of [
        "BatchMatMul:blas",
        "_FusedMatMul:blas",
        "CandorDense:blas",
        "CandorLstmForward:blas",
        "CandorSlstmForward:blas",
      ]
    ) {
      assert.ok(applied.includes(k), applied.join(", "));
    }
    assert.ok(applied.some((p) => /^blas: .*libopenblas|^blas: /.test(p)), applied.join(", "));
  },
});

Deno.test({
  name: "matMul equals the float64 product for every shape and transpose (property)",
  ignore,
  fn: () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 13 }),
        fc.integer({ min: 1, max: 40 }),
        fc.integer({ min: 1, max: 21 }),
        fc.boolean(),
        fc.boolean(),
        fc.integer({ min: 1, max: 1e6 }),
        (M, K, N, ta, tb, seed) => {
          const aShape = ta ? [K, M] : [M, K], bShape = tb ? [N, K] : [K, N];
          const av = values(M * K, seed), bv = values(K * N, seed + 1);
          const got = tf.tidy(() =>
            tf.matMul(tf.tensor2d(av, aShape as [number, number]), tf.tensor2d(bv, bShape as [number, number]), ta, tb)
              .dataSync()
          );
          assertClose(got, reference(av, aShape, bv, bShape, ta, tb), `[${M}x${K}]·[${K}x${N}] ta=${ta} tb=${tb}`);
        },
      ),
      { numRuns: 300 },
    );
  },
});

Deno.test({
  name: "fused matMul with bias and ReLU, and the dense kernel, equal the float64 reference (property)",
  ignore,
  fn: () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 11 }),
        fc.integer({ min: 1, max: 30 }),
        fc.integer({ min: 1, max: 19 }),
        fc.boolean(),
        fc.boolean(),
        fc.constantFrom("linear" as const, "relu" as const),
        fc.integer({ min: 1, max: 1e6 }),
        (M, K, N, ta, withBias, activation, seed) => {
          const aShape = ta ? [K, M] : [M, K];
          const av = values(M * K, seed), bv = values(K * N, seed + 1), cv = values(N, seed + 2);
          const got = tf.tidy(() =>
            tf.fused.matMul({
              a: tf.tensor2d(av, aShape as [number, number]),
              b: tf.tensor2d(bv, [K, N]),
              transposeA: ta,
              bias: withBias ? tf.tensor1d(cv) : undefined,
              activation,
            }).dataSync()
          );
          const want = reference(av, aShape, bv, [K, N], ta, false, withBias ? cv : undefined, activation === "relu");
          assertClose(got, want, `fused [${M}x${K}]·[${K}x${N}] bias=${withBias} ${activation}`);
          const dense = tf.tidy(() =>
            (tf.engine().runKernel(
              CANDOR_KERNELS.dense,
              {
                x: tf.tensor2d(av, aShape as [number, number]).transpose(ta ? [1, 0] : [0, 1]),
                w: tf.tensor2d(bv, [K, N]),
                b: tf.tensor1d(cv),
              },
              { relu: activation === "relu" },
            ) as tf.Tensor).dataSync()
          );
          assertClose(dense, reference(av, aShape, bv, [K, N], ta, false, cv, activation === "relu"), "dense kernel");
        },
      ),
      { numRuns: 200 },
    );
  },
});

Deno.test({
  name: "batched and broadcast matMuls (attention shapes) equal the reference",
  ignore,
  fn: () => {
    const shapes: [number[], number[], boolean, boolean][] = [
      [[2, 3, 5, 4], [2, 3, 4, 6], false, false],
      [[2, 3, 5, 4], [2, 3, 6, 4], false, true],
      [[3, 5, 4], [1, 4, 9], false, false], // b broadcast over the batch
      [[1, 7, 5], [3, 6, 7], true, true], // a broadcast, both transposed (a stored [K, M], b [N, K])
    ];
    for (const [aShape, bShape, ta, tb] of shapes) {
      const av = values(aShape.reduce((x, y) => x * y), 11), bv = values(bShape.reduce((x, y) => x * y), 12);
      const got = tf.tidy(() => {
        const c = tf.matMul(tf.tensor(av, aShape), tf.tensor(bv, bShape), ta, tb);
        return { shape: c.shape, data: c.dataSync() };
      });
      const batch = Math.max(
        aShape.slice(0, -2).reduce((x, y) => x * y, 1),
        bShape.slice(0, -2).reduce((x, y) => x * y, 1),
      );
      assert.equal(got.shape.slice(0, -2).reduce((x, y) => x * y, 1), batch);
      assertClose(got.data, reference(av, aShape, bv, bShape, ta, tb), `${aShape}·${bShape}`);
    }
  },
});

Deno.test({
  name: "cases the BLAS kernel does not handle still compute correctly (elu, leaky ReLU)",
  ignore,
  fn: () => {
    const av = values(6, 3), bv = values(6, 4);
    const elu = tf.tidy(() =>
      tf.fused.matMul({ a: tf.tensor2d(av, [2, 3]), b: tf.tensor2d(bv, [3, 2]), activation: "elu" }).dataSync()
    );
    const lin = reference(av, [2, 3], bv, [3, 2], false, false);
    assertClose(elu, lin.map((v) => (v > 0 ? v : Math.expm1(v))), "elu");
    const leaky = tf.tidy(() =>
      tf.fused.matMul({
        a: tf.tensor2d(av, [2, 3]),
        b: tf.tensor2d(bv, [3, 2]),
        activation: "leakyrelu",
        leakyreluAlpha: 0.1,
      }).dataSync()
    );
    assertClose(leaky, lin.map((v) => (v > 0 ? v : 0.1 * v)), "leaky relu");
  },
});

/** Dense backward in float64: dz = relu ? dy·1[y > 0] : dy; dW = xᵀdz; db = Σ dz; dx = dz·Wᵀ. */
function denseBackwardReference(
  dy: Float32Array,
  x: Float32Array,
  w: Float32Array,
  y: Float32Array,
  m: number,
  k: number,
  n: number,
  relu: boolean,
) {
  const dz = Float64Array.from(dy, (v, i) => (relu && !(y[i] > 0) ? 0 : v));
  const dW = new Float64Array(k * n), db = new Float64Array(n), dx = new Float64Array(m * k);
  for (let r = 0; r < m; r++) {
    for (let j = 0; j < n; j++) {
      db[j] += dz[r * n + j];
      for (let c = 0; c < k; c++) {
        dW[c * n + j] += x[r * k + c] * dz[r * n + j];
        dx[r * k + c] += dz[r * n + j] * w[c * n + j];
      }
    }
  }
  return { dx, dW, db };
}

Deno.test({
  name: "dense backward kernel equals the float64 reference (ReLU mask, weight, bias and input gradients)",
  ignore,
  fn: () => {
    for (
      const [m, k, n, relu, inputGradient] of [[7, 5, 3, true, true], [9, 13, 6, false, true], [
        4,
        3,
        9,
        true,
        false,
      ]] as const
    ) {
      const x = values(m * k, m), w = values(k * n, k), dy = values(m * n, n), y = values(m * n, m + n);
      const [dx, dW, db] = tf.tidy(() =>
        (tf.engine().runKernel(
          CANDOR_KERNELS.denseBackward,
          {
            dy: tf.tensor2d(dy, [m, n]),
            x: tf.tensor2d(x, [m, k]),
            w: tf.tensor2d(w, [k, n]),
            y: tf.tensor2d(y, [m, n]),
          },
          { relu, inputGradient },
        ) as tf.Tensor[]).map((t) => t.dataSync())
      );
      const want = denseBackwardReference(dy, x, w, y, m, k, n, relu);
      const label = `dense ${m}x${k}→${n} relu=${relu}`;
      assertClose(dW, want.dW, `${label} dW`);
      assertClose(db, want.db, `${label} db`);
      assertClose(dx, inputGradient ? want.dx : new Float64Array(m * k), `${label} dx`);
    }
  },
});

const sigmoid = (v: number) => 1 / (1 + Math.exp(-v));

/**
 * LSTM forward and backward through time in float64, written out step by step (PyTorch gate order i, f, g, o). `dy`
 * is the gradient of every hidden state ([B, T, H]) with `sequences`, else of the last one ([B, H]).
 */
function lstmReference(
  x: Float32Array,
  wx: Float32Array,
  wh: Float32Array,
  bias: Float32Array,
  dy: Float32Array,
  B: number,
  T: number,
  F: number,
  H: number,
  sequences: boolean,
) {
  const G = 4 * H;
  const hs = new Float64Array(B * T * H), dX = new Float64Array(B * T * F);
  const dWx = new Float64Array(F * G), dWh = new Float64Array(H * G), db = new Float64Array(G);
  for (let b = 0; b < B; b++) {
    const hPrev: Float64Array[] = [], cPrev: Float64Array[] = [], acts: Float64Array[] = [], cs: Float64Array[] = [];
    let h = new Float64Array(H), c = new Float64Array(H);
    for (let t = 0; t < T; t++) {
      const z = Float64Array.from(bias);
      for (let j = 0; j < G; j++) {
        for (let f = 0; f < F; f++) z[j] += x[(b * T + t) * F + f] * wx[f * G + j];
        for (let q = 0; q < H; q++) z[j] += h[q] * wh[q * G + j];
      }
      const a = new Float64Array(G);
      for (let q = 0; q < H; q++) {
        a[q] = sigmoid(z[q]);
        a[H + q] = sigmoid(z[H + q]);
        a[2 * H + q] = Math.tanh(z[2 * H + q]);
        a[3 * H + q] = sigmoid(z[3 * H + q]);
      }
      const cn = new Float64Array(H), hn = new Float64Array(H);
      for (let q = 0; q < H; q++) {
        cn[q] = a[H + q] * c[q] + a[q] * a[2 * H + q];
        hn[q] = a[3 * H + q] * Math.tanh(cn[q]);
        hs[(b * T + t) * H + q] = hn[q];
      }
      hPrev.push(h), cPrev.push(c), acts.push(a), cs.push(cn);
      h = hn, c = cn;
    }
    let dhNext = new Float64Array(H), dcNext = new Float64Array(H);
    for (let t = T - 1; t >= 0; t--) {
      const a = acts[t], cn = cs[t];
      const dz = new Float64Array(G), dcPrev = new Float64Array(H);
      for (let q = 0; q < H; q++) {
        const dyq = sequences ? dy[(b * T + t) * H + q] : t === T - 1 ? dy[b * H + q] : 0;
        const dh = dhNext[q] + dyq;
        const th = Math.tanh(cn[q]);
        const [i, f, g, o] = [a[q], a[H + q], a[2 * H + q], a[3 * H + q]];
        const dc = dcNext[q] + dh * o * (1 - th * th);
        dz[q] = dc * g * i * (1 - i);
        dz[H + q] = dc * cPrev[t][q] * f * (1 - f);
        dz[2 * H + q] = dc * i * (1 - g * g);
        dz[3 * H + q] = dh * th * o * (1 - o);
        dcPrev[q] = dc * f;
      }
      const dhPrev = new Float64Array(H);
      for (let j = 0; j < G; j++) {
        db[j] += dz[j];
        for (let f = 0; f < F; f++) {
          dWx[f * G + j] += x[(b * T + t) * F + f] * dz[j];
          dX[(b * T + t) * F + f] += dz[j] * wx[f * G + j];
        }
        for (let q = 0; q < H; q++) {
          dWh[q * G + j] += hPrev[t][q] * dz[j];
          dhPrev[q] += dz[j] * wh[q * G + j];
        }
      }
      dhNext = dhPrev, dcNext = dcPrev;
    }
  }
  const last = new Float64Array(B * H);
  for (let b = 0; b < B; b++) for (let q = 0; q < H; q++) last[b * H + q] = hs[(b * T + T - 1) * H + q];
  return { out: sequences ? hs : last, dX, dWx, dWh, db };
}

for (const sequences of [false, true]) {
  for (const inputGradient of [true, false]) {
    Deno.test({
      name: `LSTM kernels equal float64 backpropagation through time (${sequences ? "all steps" : "last step"}, ` +
        `input gradient ${inputGradient ? "on" : "off"})`,
      ignore,
      fn: () => {
        // H = 5 and F = 3: the element-wise loops' 4-lane bodies and their 1-3 element tails.
        const B = 3, T = 6, F = 3, H = 5, G = 4 * H;
        const x = values(B * T * F, 1), wx = values(F * G, 2).map((v) => v * 0.6);
        const wh = values(H * G, 3).map((v) => v * 0.6), bias = values(G, 4);
        const dy = values(sequences ? B * T * H : B * H, 5);
        const before = tf.backend().numDataIds();
        const got = tf.tidy(() => {
          const inputs = { x: tf.tensor3d(x, [B, T, F]), wx: tf.tensor2d(wx, [F, G]), wh: tf.tensor2d(wh, [H, G]) };
          const [out, gates, cells, tanhc, hidden, xt] = tf.engine().runKernel(
            CANDOR_KERNELS.lstmForward,
            { ...inputs, b: tf.tensor1d(bias) },
            { sequences },
          ) as tf.Tensor[];
          const [dX, dWx, dWh, db] = tf.engine().runKernel(
            CANDOR_KERNELS.lstmBackward,
            {
              dy: tf.tensor(dy, sequences ? [B, T, H] : [B, H]),
              gates,
              cells,
              tanhc,
              hidden,
              xt,
              wx: inputs.wx,
              wh: inputs.wh,
            },
            { sequences, inputGradient },
          ) as tf.Tensor[];
          assert.deepEqual(out.shape, sequences ? [B, T, H] : [B, H]);
          return [out, dX, dWx, dWh, db].map((t) => t.dataSync());
        });
        assert.equal(tf.backend().numDataIds(), before, "no scratch buffer is left behind");
        const want = lstmReference(x, wx, wh, bias, dy, B, T, F, H, sequences);
        const label = `LSTM ${sequences ? "sequences" : "last"}`;
        assertClose(got[0], want.out, `${label} output`);
        assertClose(got[1], inputGradient ? want.dX : new Float64Array(B * T * F), `${label} dX`);
        assertClose(got[2], want.dWx, `${label} dWx`);
        assertClose(got[3], want.dWh, `${label} dWh`);
        assertClose(got[4], want.db, `${label} db`);
      },
    });
  }
}

Deno.test({
  name: "LSTM kernel: pre-activations far outside exp's float32 range saturate the gates instead of producing NaN",
  ignore,
  fn: () => {
    const B = 2, T = 3, F = 2, H = 4, G = 4 * H;
    const x = Float32Array.from({ length: B * T * F }, (_, i) => (i % 2 ? 300 : -300));
    const wx = Float32Array.from({ length: F * G }, (_, i) => (i % 3) - 1);
    const out = tf.tidy(() =>
      (tf.engine().runKernel(
        CANDOR_KERNELS.lstmForward,
        { x: tf.tensor3d(x, [B, T, F]), wx: tf.tensor2d(wx, [F, G]), wh: tf.zeros([H, G]), b: tf.zeros([G]) },
        { sequences: true },
      ) as tf.Tensor[])[0].dataSync()
    );
    const zero = new Float32Array(B * T * F);
    const want = lstmReference(x, wx, new Float32Array(H * G), new Float32Array(G), zero, B, T, F, H, true).out;
    assertClose(out, want, "saturated LSTM");
  },
});

/**
 * sLSTM forward in float64 over all steps (the definition in elementwise.c and layers.ts, stabilizer included), from
 * float64 copies of the operands so that central differences can perturb any of them. Returns all hidden states
 * [B, T, H]; `branches` counts, over steps after the first, which term the stabilizer's max took.
 */
function slstmReference(
  x: Float64Array,
  wx: Float64Array,
  wh: Float64Array,
  bias: Float64Array,
  B: number,
  T: number,
  F: number,
  H: number,
) {
  const G = 4 * H;
  const hs = new Float64Array(B * T * H);
  const branches = { input: 0, carried: 0 };
  for (let b = 0; b < B; b++) {
    let h = new Float64Array(H), c = new Float64Array(H), n = new Float64Array(H), m = new Float64Array(H);
    for (let t = 0; t < T; t++) {
      const z = Float64Array.from(bias);
      for (let j = 0; j < G; j++) {
        for (let f = 0; f < F; f++) z[j] += x[(b * T + t) * F + f] * wx[f * G + j];
        for (let q = 0; q < H; q++) z[j] += h[q] * wh[q * G + j];
      }
      const hn = new Float64Array(H), cn = new Float64Array(H), nn = new Float64Array(H), mn = new Float64Array(H);
      for (let q = 0; q < H; q++) {
        const zi = z[q], zf = z[H + q], g = Math.tanh(z[2 * H + q]), o = sigmoid(z[3 * H + q]);
        // log σ(z_f) without overflow for large |z_f|.
        const logF = Math.min(zf, 0) - Math.log1p(Math.exp(-Math.abs(zf)));
        mn[q] = t === 0 ? zi : Math.max(logF + m[q], zi);
        if (t > 0) branches[zi > logF + m[q] ? "input" : "carried"]++;
        const ip = Math.exp(zi - mn[q]), fp = t === 0 ? 0 : Math.exp(logF + m[q] - mn[q]);
        cn[q] = fp * c[q] + ip * g;
        nn[q] = fp * n[q] + ip;
        hn[q] = (o * cn[q]) / nn[q];
        hs[(b * T + t) * H + q] = hn[q];
      }
      h = hn, c = cn, n = nn, m = mn;
    }
  }
  return Object.assign(hs, { branches });
}

/** The sLSTM kernels on float32 operands: the forward output and the backward pass for `dy`. */
function slstmKernels(
  x: Float32Array,
  wx: Float32Array,
  wh: Float32Array,
  bias: Float32Array,
  dy: Float32Array,
  B: number,
  T: number,
  F: number,
  H: number,
) {
  const G = 4 * H;
  const before = tf.backend().numDataIds();
  const got = tf.tidy(() => {
    const inputs = { x: tf.tensor3d(x, [B, T, F]), wx: tf.tensor2d(wx, [F, G]), wh: tf.tensor2d(wh, [H, G]) };
    const [out, gates, cells, norms, sf, hidden, xt] = tf.engine().runKernel(
      CANDOR_KERNELS.slstmForward,
      { ...inputs, b: tf.tensor1d(bias) },
      {},
    ) as tf.Tensor[];
    assert.deepEqual(out.shape, [B, T, H]);
    const grads = tf.engine().runKernel(
      CANDOR_KERNELS.slstmBackward,
      { dy: tf.tensor3d(dy, [B, T, H]), gates, cells, norms, sf, hidden, xt, wx: inputs.wx, wh: inputs.wh },
      {},
    ) as tf.Tensor[];
    return [out, ...grads].map((t) => t.dataSync());
  });
  assert.equal(tf.backend().numDataIds(), before, "no scratch buffer is left behind");
  return { out: got[0], dX: got[1], dWx: got[2], dWh: got[3], db: got[4] };
}

Deno.test({
  name: "sLSTM kernels equal a float64 forward pass and its central-difference gradients",
  ignore,
  fn: () => {
    // H = 5 and F = 3: the element-wise loops' 4-lane bodies and their 1-3 element tails. Weights scaled so that the
    // stabilizer switches between the carried forget term and the input gate within a sequence.
    const B = 3, T = 6, F = 3, H = 5, G = 4 * H;
    const x = values(B * T * F, 11), wx = values(F * G, 12).map((v) => v * 1.5);
    const wh = values(H * G, 13).map((v) => v * 0.8), bias = values(G, 14);
    const dy = values(B * T * H, 15);
    const got = slstmKernels(x, wx, wh, bias, dy, B, T, F, H);
    const operands = [x, wx, wh, bias].map((a) => Float64Array.from(a));
    const loss = () => {
      const hs = slstmReference(operands[0], operands[1], operands[2], operands[3], B, T, F, H);
      let s = 0;
      for (let i = 0; i < hs.length; i++) s += hs[i] * dy[i];
      return s;
    };
    // The stabilizer's max switches branches only where two terms tie; a step of 1e-6 crosses no tie here (checked
    // by the agreement of the float32 kernel with every difference below).
    const gradient = (which: number) => {
      const a = operands[which], g = new Float64Array(a.length), eps = 1e-6;
      for (let i = 0; i < a.length; i++) {
        const v = a[i];
        a[i] = v + eps;
        const up = loss();
        a[i] = v - eps;
        const down = loss();
        a[i] = v;
        g[i] = (up - down) / (2 * eps);
      }
      return g;
    };
    assertClose(
      got.out,
      slstmReference(operands[0], operands[1], operands[2], operands[3], B, T, F, H),
      "sLSTM output",
    );
    assertClose(got.dX, gradient(0), "sLSTM dX");
    assertClose(got.dWx, gradient(1), "sLSTM dWx");
    assertClose(got.dWh, gradient(2), "sLSTM dWh");
    assertClose(got.db, gradient(3), "sLSTM db");
  },
});

Deno.test({
  name: "sLSTM kernel: pre-activations far outside exp's float32 range stay finite (the stabilizer at work)",
  ignore,
  fn: () => {
    const B = 2, T = 4, F = 2, H = 4, G = 4 * H;
    const x = Float32Array.from({ length: B * T * F }, (_, i) => (i % 2 ? 300 : -300));
    const wx = Float32Array.from({ length: F * G }, (_, i) => (i % 3) - 1);
    const wh = new Float32Array(H * G), bias = new Float32Array(G), dy = values(B * T * H, 16);
    const got = slstmKernels(x, wx, wh, bias, dy, B, T, F, H);
    const want = slstmReference(
      Float64Array.from(x),
      Float64Array.from(wx),
      Float64Array.from(wh),
      Float64Array.from(bias),
      B,
      T,
      F,
      H,
    );
    assertClose(got.out, want, "saturated sLSTM output");
    for (const [name, g] of Object.entries(got)) assert.ok(g.every(Number.isFinite), `${name} is finite`);
  },
});
