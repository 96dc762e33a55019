/**
 * Kernel patches for `@tensorflow/tfjs-backend-wasm` 4.22 that make training on wasm fast and complete.
 *
 * 1. **Transposed matMul fast path.** The wasm `BatchMatMul` kernel is 10–20× slower when `transposeA` or
 *    `transposeB` is set, and every matMul gradient sets one of them. We re-register the kernel so that it
 *    materializes the transpose with the wasm `Transpose` kernel and then calls the plain (fast) kernel. Gradients are
 *    unchanged (the same arithmetic, summed in the same order per output element), which
 *    tests/models/nn/backend_test.ts checks against the cpu backend.
 * 2. **cpu fallbacks.** Kernels that exist on the cpu backend but not on wasm (`UnsortedSegmentSum` for gather
 *    gradients, `Conv2DBackpropFilter`, depthwise-conv backprop, `Einsum`) are registered on wasm as "copy inputs to a private cpu
 *    backend, run the cpu kernel, copy the result back". Slow, but correct instead of a missing-kernel crash.
 *
 * Both must be installed before `tf.setBackend("wasm")`; {@link installWasmPatches} is idempotent. The patches are
 * written by hand because no maintained package provides them; they depend on the exact tfjs version, which is why all
 * `@tensorflow/*` packages are pinned to 4.22.0 in deno.json.
 *
 * @module
 */

import * as tf from "@tensorflow/tfjs-core";
import { MathBackendCPU } from "@tensorflow/tfjs-backend-cpu";

type KernelFunc = tf.KernelConfig["kernelFunc"];
type WasmBackendLike = tf.KernelBackend & {
  disposeData(dataId: tf.DataId, force?: boolean): boolean;
  readSync(dataId: tf.DataId): tf.BackendValues;
  makeOutput(shape: number[], dtype: tf.DataType, memoryOffset?: number, values?: tf.BackendValues): tf.TensorInfo;
};

let installed: string[] | undefined;

/**
 * Kernels not delegated to cpu: complex-valued data (stored as separate real/imaginary parts, which the plain copy
 * below does not carry), strings, ragged tensors and canvas drawing. No candor model uses them.
 */
const NOT_DELEGATED = new Set([
  "Complex",
  "ComplexAbs",
  "FFT",
  "IFFT",
  "Imag",
  "Real",
  "Draw",
  "StaticRegexReplace",
  "RaggedGather",
  "RaggedRange",
  "RaggedTensorToTensor",
]);

/**
 * Registers the transposed-matMul fast path and cpu fallbacks on the wasm backend. Returns the list of patches applied
 * (e.g. `["BatchMatMul:explicit-transpose", "cpu-fallback:UnsortedSegmentSum", ...]`), recorded with every run.
 */
export function installWasmPatches(): string[] {
  if (installed !== undefined) return installed;
  const applied: string[] = [];
  const original = tf.getKernel("BatchMatMul", "wasm");
  const transpose = tf.getKernel("Transpose", "wasm");
  if (original !== undefined && transpose !== undefined) {
    const plain = original.kernelFunc;
    const transposeFunc = transpose.kernelFunc;
    const fast: KernelFunc = ({ inputs, backend, attrs }) => {
      const { a, b } = inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
      const { transposeA, transposeB } = attrs as unknown as { transposeA: boolean; transposeB: boolean };
      if (!transposeA && !transposeB) return plain({ inputs, backend, attrs });
      const wasm = backend as WasmBackendLike;
      const swapLast = (x: tf.TensorInfo): tf.TensorInfo => {
        const perm = x.shape.map((_, i) => i);
        const n = perm.length;
        [perm[n - 2], perm[n - 1]] = [perm[n - 1], perm[n - 2]];
        return transposeFunc({ inputs: { x }, backend, attrs: { perm } }) as tf.TensorInfo;
      };
      const ta = transposeA ? swapLast(a) : a;
      const tb = transposeB ? swapLast(b) : b;
      const out = plain({
        inputs: { a: ta, b: tb },
        backend,
        attrs: { ...attrs, transposeA: false, transposeB: false },
      });
      if (transposeA) wasm.disposeData(ta.dataId);
      if (transposeB) wasm.disposeData(tb.dataId);
      return out;
    };
    tf.unregisterKernel("BatchMatMul", "wasm");
    tf.registerKernel({ ...original, kernelFunc: fast });
    applied.push("BatchMatMul:explicit-transpose");
  }

  const wasmNames = new Set(tf.getKernelsForBackend("wasm").map((k) => k.kernelName));
  let cpu: MathBackendCPU | undefined;
  for (const k of tf.getKernelsForBackend("cpu")) {
    if (wasmNames.has(k.kernelName) || NOT_DELEGATED.has(k.kernelName)) continue;
    const cpuFunc = k.kernelFunc;
    const fallback: KernelFunc = ({ inputs, backend, attrs }) => {
      cpu ??= new MathBackendCPU();
      const wasm = backend as WasmBackendLike;
      const cpuInputs: Record<string, tf.TensorInfo> = {};
      for (const [name, info] of Object.entries(inputs)) {
        if (info === undefined || info === null) continue;
        cpuInputs[name] = cpu.makeTensorInfo(info.shape, info.dtype, wasm.readSync(info.dataId) as tf.BackendValues);
      }
      const result = cpuFunc({ inputs: cpuInputs, backend: cpu, attrs });
      const toWasm = (t: tf.TensorInfo): tf.TensorInfo => {
        const out = wasm.makeOutput(t.shape, t.dtype, undefined, cpu!.readSync(t.dataId));
        cpu!.disposeData(t.dataId);
        return out;
      };
      for (const t of Object.values(cpuInputs)) cpu.disposeData(t.dataId);
      return Array.isArray(result) ? result.map(toWasm) : toWasm(result);
    };
    tf.registerKernel({ kernelName: k.kernelName, backendName: "wasm", kernelFunc: fallback });
    applied.push(`cpu-fallback:${k.kernelName}`);
  }
  installed = applied;
  return applied;
}
