/**
 * candor's own matrix multiplication for the wasm backend: `BatchMatMul` and `_FusedMatMul` (bias + linear/ReLU)
 * computed by a small WebAssembly SIMD module (gemm.c) that shares tfjs-wasm's memory and reads the tensors in place.
 *
 * Why: tfjs-wasm 4.22 multiplies through XNNPACK's fully-connected operator, which first packs the right-hand
 * matrix into its own layout and caches that per tensor. That suits inference, where weights stay put. In training
 * every right-hand operand is new each step — the weights after each optimizer step, the activations and output
 * gradients in the backward pass — so every matMul pays the packing (≈ 35–120 µs at the MLP benchmark's sizes,
 * measured on fresh tensors), and transposed operands take a path 10–20× slower still, or an explicit transpose
 * kernel first. gemm.c needs no packing and reads a transposed left operand through its strides; only a transposed
 * right operand is transposed (in wasm, into a scratch buffer). Measured on the MLP benchmark's step
 * (20→128→128→3, batch 256): see bench/nn.ts and the README's throughput table.
 *
 * Arithmetic: each output element is its bias (or 0) plus the products summed in ascending k, one at a time in
 * float32 (no fused multiply-add), then ReLU if asked. That differs from XNNPACK's order only by float32 rounding;
 * tests/models/nn/gemm_test.ts checks every case against the cpu backend.
 *
 * Handled: float32 operands of rank ≥ 2 whose batch dimensions are equal or one side's is 1 (broadcast), any
 * transpose flags, `_FusedMatMul` with no bias or a bias of N values and activation `linear` or `relu`. Anything else
 * (other dtypes, activations, bias shapes, PReLU weights, empty operands) goes to the kernel registered before, so
 * nothing is lost. Each thread (main or gradient worker) instantiates the module once against its own backend's
 * memory.
 *
 * Rebuilding the module: `bash tools/build_gemm_wasm.sh` (CI checks the embedded copy matches gemm.c).
 *
 * @module
 */

import * as tf from "@tensorflow/tfjs-core";
import { GEMM_WASM_BASE64 } from "./gemm_wasm.ts";

type KernelFunc = tf.KernelConfig["kernelFunc"];

interface GemmExports {
  gemm(
    a: number,
    sai: number,
    sak: number,
    b: number,
    c: number,
    m: number,
    k: number,
    n: number,
    bias: number,
    relu: number,
  ): void;
  transpose(src: number, dst: number, rows: number, cols: number): void;
}

/** The parts of tfjs-wasm's backend this module touches. */
interface WasmBackendInternals {
  wasm: { asm: { memory: WebAssembly.Memory } };
  dataIdMap: { get(id: tf.DataId): { memoryOffset: number } | undefined };
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  disposeData(dataId: tf.DataId, force?: boolean): boolean;
}

let compiled: WebAssembly.Module | undefined;
const instances = new WeakMap<WebAssembly.Memory, GemmExports>();

function gemmFor(backend: WasmBackendInternals): GemmExports {
  const memory = backend.wasm.asm.memory;
  let exports = instances.get(memory);
  if (exports === undefined) {
    compiled ??= new WebAssembly.Module(Uint8Array.from(atob(GEMM_WASM_BASE64), (c) => c.charCodeAt(0)));
    exports = new WebAssembly.Instance(compiled, { env: { memory } }).exports as unknown as GemmExports;
    instances.set(memory, exports);
  }
  return exports;
}

function offsetOf(backend: WasmBackendInternals, t: tf.TensorInfo): number {
  const d = backend.dataIdMap.get(t.dataId);
  if (d === undefined) throw new Error("gemm: tensor data is not on the wasm backend");
  return d.memoryOffset;
}

/**
 * `op(a) · op(b)` (+ bias, ReLU) into a new float32 tensor, or undefined when this kernel does not handle the case.
 */
function multiply(
  backend: WasmBackendInternals,
  a: tf.TensorInfo,
  b: tf.TensorInfo,
  transposeA: boolean,
  transposeB: boolean,
  bias: tf.TensorInfo | undefined,
  relu: boolean,
): tf.TensorInfo | undefined {
  if (a.dtype !== "float32" || b.dtype !== "float32" || a.shape.length < 2 || b.shape.length < 2) return undefined;
  const ra = a.shape.length, rb = b.shape.length;
  const [aRows, aCols] = [a.shape[ra - 2], a.shape[ra - 1]];
  const [bRows, bCols] = [b.shape[rb - 2], b.shape[rb - 1]];
  const M = transposeA ? aCols : aRows, K = transposeA ? aRows : aCols;
  const N = transposeB ? bRows : bCols, Kb = transposeB ? bCols : bRows;
  if (K !== Kb || M === 0 || N === 0 || K === 0) return undefined;
  const batchA = a.shape.slice(0, -2).reduce((x, y) => x * y, 1);
  const batchB = b.shape.slice(0, -2).reduce((x, y) => x * y, 1);
  if (batchA !== batchB && batchA !== 1 && batchB !== 1) return undefined;
  if (bias !== undefined && (bias.dtype !== "float32" || tf.util.sizeFromShape(bias.shape) !== N)) return undefined;
  const batchShape = tf.broadcast_util.assertAndGetBroadcastShape(a.shape.slice(0, -2), b.shape.slice(0, -2));
  const batch = Math.max(batchA, batchB);
  if (tf.util.sizeFromShape(batchShape) !== batch) return undefined;

  const k = gemmFor(backend);
  const out = backend.makeOutput([...batchShape, M, N], "float32");
  // Offsets are read after every allocation (allocating may move nothing, but the lookups are cheap).
  const scratch = transposeB ? backend.makeOutput([K, N], "float32") : undefined;
  const aOff = offsetOf(backend, a), bOff = offsetOf(backend, b), cOff = offsetOf(backend, out);
  const biasOff = bias === undefined ? 0 : offsetOf(backend, bias);
  const sOff = scratch === undefined ? 0 : offsetOf(backend, scratch);
  const sai = transposeA ? 1 : K, sak = transposeA ? M : 1;
  for (let i = 0; i < batch; i++) {
    const ap = aOff + 4 * (batchA === 1 ? 0 : i) * M * K;
    let bp = bOff + 4 * (batchB === 1 ? 0 : i) * K * N;
    if (scratch !== undefined) {
      // b is stored [N, K]; the kernel reads [K, N]. A broadcast b is transposed once.
      if (i === 0 || batchB !== 1) k.transpose(bp, sOff, N, K);
      bp = sOff;
    }
    k.gemm(ap, sai, sak, bp, cOff + 4 * i * M * N, M, K, N, biasOff, relu ? 1 : 0);
  }
  if (scratch !== undefined) backend.disposeData(scratch.dataId);
  return out;
}

/**
 * Re-registers `BatchMatMul` and `_FusedMatMul` on the wasm backend with this module's kernels, each falling back to
 * the kernel registered before it. Call before `tf.setBackend("wasm")`; returns the names of the patches applied.
 */
export function installGemmKernels(): string[] {
  const applied: string[] = [];
  const batch = tf.getKernel("BatchMatMul", "wasm");
  if (batch !== undefined) {
    const previous = batch.kernelFunc;
    const kernelFunc: KernelFunc = (args) => {
      const { a, b } = args.inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
      const { transposeA, transposeB } = args.attrs as unknown as { transposeA: boolean; transposeB: boolean };
      const backend = args.backend as unknown as WasmBackendInternals;
      return multiply(backend, a, b, transposeA, transposeB, undefined, false) ?? previous(args);
    };
    tf.unregisterKernel("BatchMatMul", "wasm");
    tf.registerKernel({ ...batch, kernelFunc });
    applied.push("BatchMatMul:candor-gemm");
  }
  const fused = tf.getKernel("_FusedMatMul", "wasm");
  if (fused !== undefined) {
    const previous = fused.kernelFunc;
    const kernelFunc: KernelFunc = (args) => {
      const { a, b, bias, preluActivationWeights } = args.inputs as Record<string, tf.TensorInfo | undefined>;
      const { transposeA, transposeB, activation } = args.attrs as unknown as {
        transposeA: boolean;
        transposeB: boolean;
        activation: string;
      };
      if (preluActivationWeights == null && (activation === "linear" || activation === "relu")) {
        const backend = args.backend as unknown as WasmBackendInternals;
        const out = multiply(backend, a!, b!, transposeA, transposeB, bias ?? undefined, activation === "relu");
        if (out !== undefined) return out;
      }
      return previous(args);
    };
    tf.unregisterKernel("_FusedMatMul", "wasm");
    tf.registerKernel({ ...fused, kernelFunc });
    applied.push("_FusedMatMul:candor-gemm");
  }
  return applied;
}
