/**
 * candor's wasm matMul kernel (lib/models/nn/kernels/gemm.ts) against an independent float64 product computed here,
 * for every shape class the kernel treats separately (row tails of 1–3, column blocks of 8, 4 and 1–3, K = 1),
 * every transpose combination, broadcast batches, bias and ReLU; plus the cases it hands back to tfjs's own kernel.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import * as tf from "@tensorflow/tfjs-core";
import { initBackend } from "../../../lib/models/nn/backend.ts";
import { installWasmPatches } from "../../../lib/models/nn/wasm_patches.ts";

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
    // Float32 products summed in float32: error grows with K; the values here are O(1) and K ≤ 40.
    const tol = 1e-5 * (1 + Math.abs(expected[i])) * 40;
    if (!(Math.abs(actual[i] - expected[i]) <= tol)) {
      assert.fail(`${what}: element ${i} is ${actual[i]}, expected ${expected[i]}`);
    }
  }
}

const backendReady = initBackend();

Deno.test("the wasm backend runs candor's matMul kernels", async () => {
  const backend = await backendReady;
  if (backend.name !== "wasm") return assert.fail(`expected the wasm backend, got ${backend.name}`);
  const applied = installWasmPatches();
  assert.ok(applied.includes("BatchMatMul:candor-gemm"), applied.join(", "));
  assert.ok(applied.includes("_FusedMatMul:candor-gemm"), applied.join(", "));
});

Deno.test("matMul equals the float64 product for every tail shape and transpose (property)", async () => {
  await backendReady;
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
});

Deno.test("fused matMul with bias and ReLU equals the float64 reference (property)", async () => {
  await backendReady;
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
      },
    ),
    { numRuns: 200 },
  );
});

Deno.test("large operands: several chunks of k (K > 256) and row blocks (M > 64), bias and ReLU applied once", async () => {
  await backendReady;
  for (const [M, K, N, ta] of [[70, 520, 13, false], [9, 700, 20, true], [130, 257, 8, false]] as const) {
    const aShape = ta ? [K, M] : [M, K];
    const av = values(M * K, M), bv = values(K * N, K), cv = values(N, N);
    const got = tf.tidy(() =>
      tf.fused.matMul({
        a: tf.tensor2d(av, aShape as [number, number]),
        b: tf.tensor2d(bv, [K, N]),
        transposeA: ta,
        bias: tf.tensor1d(cv),
        activation: "relu",
      }).dataSync()
    );
    const want = reference(av, aShape, bv, [K, N], ta, false, cv, true);
    // Sums of up to 700 products of O(1) values: float32 rounding stays far below 1e-3.
    for (let i = 0; i < want.length; i++) {
      assert.ok(Math.abs(got[i] - want[i]) < 1e-3, `[${M}x${K}]·[${K}x${N}] element ${i}: ${got[i]} vs ${want[i]}`);
    }
    assert.ok(want.some((v) => v === 0) && want.some((v) => v > 1), "the case exercises both sides of the ReLU");
  }
});

Deno.test("batched and broadcast matMuls (attention shapes) equal the reference", async () => {
  await backendReady;
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
});

Deno.test("cases the kernel does not handle still compute correctly (elu, leaky ReLU)", async () => {
  await backendReady;
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
});

Deno.test("transposed right operands leave no scratch buffers behind", async () => {
  await backendReady;
  const a = tf.tensor2d(values(64 * 32, 1), [64, 32]), b = tf.tensor2d(values(48 * 32, 2), [48, 32]);
  const before = tf.backend().numDataIds();
  for (let i = 0; i < 50; i++) tf.matMul(a, b, false, true).dispose();
  assert.equal(tf.backend().numDataIds(), before);
  tf.dispose([a, b]);
});
