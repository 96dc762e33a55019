/**
 * Kernel patches for `@tensorflow/tfjs-backend-wasm` 4.22 that make training on wasm fast and complete.
 *
 * 1. **Transposed matMul fast path.** The wasm `BatchMatMul` kernel is 10–20× slower when `transposeA` or
 *    `transposeB` is set, and every matMul gradient sets one of them. We re-register the kernel so that it
 *    materializes the transpose with the wasm `Transpose` kernel and then calls the plain (fast) kernel. Gradients are
 *    unchanged (the same arithmetic, summed in the same order per output element), which
 *    tests/models/nn/backend_test.ts checks against the cpu backend.
 *    On top of that, when OpenBLAS loads (kernels/blas.ts), {@link installBlasKernels} (kernels/blas_kernels.ts)
 *    replaces `BatchMatMul` and `_FusedMatMul` with `cblas_sgemm` on the heap in place and registers candor's fused
 *    dense-backward, LSTM and sLSTM kernels (the explicit-transpose kernel stays as the fallback for what they do not handle).
 *    Without OpenBLAS (not installed, no FFI permission, `CANDOR_BLAS=0`) the patch list says why, in a
 *    `blas-unavailable: …` entry, and the layers use tfjs's kernels op by op.
 * 2. **Copy-free slicing.** The wasm `Slice` kernel (also called internally by `Unpack` and `SplitV`) starts with
 *    `readSync`, which copies the *whole* input out of the wasm heap for every slice: unstacking a [60, 256, 256]
 *    LSTM input projection into 60 steps copied 60 × 15.7 MB per forward pass (70 % of an LSTM training step,
 *    measured with `tf.profile`). The patched kernels read through a view of the heap instead and copy only the
 *    slice itself.
 * 3. **Shared-data identity.** tfjs-wasm's `Identity` copies its input, and the engine runs it for every tensor a
 *    custom gradient saves for its backward pass (`save([...])` clones each one) and for every `tf.clone`: an LSTM
 *    layer's saved activations (~40 MB at the benchmark's shapes) were copied on every training step. Tensors are
 *    immutable and no wasm kernel writes into its inputs, so the patched `Identity` shares the input's data with a
 *    reference count — as tfjs's own `Reshape` on wasm and `Identity` on the cpu backend already do.
 * 4. **cpu fallbacks.** Kernels that exist on the cpu backend but not on wasm (`UnsortedSegmentSum` for gather
 *    gradients, `Conv2DBackpropFilter`, depthwise-conv backprop, `Einsum`) are registered on wasm as "copy inputs to a private cpu
 *    backend, run the cpu kernel, copy the result back". Slow, but correct instead of a missing-kernel crash.
 *
 * Both must be installed before `tf.setBackend("wasm")`; {@link installWasmPatches} is idempotent. The patches are
 * written by hand because no maintained package provides them; they depend on the exact tfjs version, which is why all
 * `@tensorflow/*` packages are pinned to 4.22.0 in deno.json.
 *
 * @module
 */

import { loadTfjsCpuBackend, loadTfjsWasmBackend, tf } from "../../training/tfjs.ts";
import type { MathBackendCPU } from "@tensorflow/tfjs-backend-cpu";
import { loadBlas } from "./kernels/blas.ts";
import { installBlasKernels } from "./kernels/blas_kernels.ts";

type KernelFunc = tf.KernelConfig["kernelFunc"];
type WasmBackendLike = tf.KernelBackend & {
  typedArrayFromHeap(t: tf.TensorInfo): Float32Array | Int32Array | Uint8Array;
  disposeData(dataId: tf.DataId, force?: boolean): boolean;
  incRef(dataId: tf.DataId): void;
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
 * Registers the transposed-matMul fast path, the OpenBLAS kernels and cpu fallbacks on the wasm backend. Returns the list
 * of patches applied (e.g. `["BatchMatMul:explicit-transpose", "blas: OpenBLAS 0.3.21 (Haswell kernels, 1 thread) from
 * libopenblas.so.0", "BatchMatMul:blas", ..., "cpu-fallback:UnsortedSegmentSum", ...]`), recorded with every run.
 */
export function installWasmPatches(): string[] {
  if (installed !== undefined) return installed;
  loadTfjsWasmBackend(); // registers the wasm kernels patched below
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
  // On top of it (it stays the fallback): OpenBLAS in place on the heap, and the fused layer kernels built on it.
  const blas = loadBlas();
  if (typeof blas === "string") applied.push(`blas-unavailable: ${blas}`);
  else applied.push(`blas: ${blas.description}`, ...installBlasKernels(blas));

  applied.push(...installSlicePatches());

  const identity = tf.getKernel("Identity", "wasm");
  if (identity !== undefined) {
    const copy = identity.kernelFunc;
    tf.unregisterKernel("Identity", "wasm");
    tf.registerKernel({
      ...identity,
      kernelFunc: (args) => {
        const x = (args.inputs as { x: tf.TensorInfo }).x;
        if (x.dtype === "string") return copy(args);
        (args.backend as WasmBackendLike).incRef(x.dataId);
        return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
      },
    });
    applied.push("Identity:shared");
  }

  const wasmNames = new Set(tf.getKernelsForBackend("wasm").map((k) => k.kernelName));
  let cpu: MathBackendCPU | undefined;
  for (const k of tf.getKernelsForBackend("cpu")) {
    if (wasmNames.has(k.kernelName) || NOT_DELEGATED.has(k.kernelName)) continue;
    const cpuFunc = k.kernelFunc;
    const fallback: KernelFunc = ({ inputs, backend, attrs }) => {
      cpu ??= new (loadTfjsCpuBackend().MathBackendCPU)();
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

/** Copies `x[begin : begin + size]` (any rank) into a new wasm tensor, reading the input through a heap view. */
function sliceFromHeap(wasm: WasmBackendLike, x: tf.TensorInfo, begin: number[], size: number[]): tf.TensorInfo {
  const out = wasm.makeOutput(size, x.dtype);
  const n = size.reduce((a, b) => a * b, 1);
  if (n === 0) return out;
  // Views are taken after makeOutput: allocating may grow (and detach) the heap buffer.
  const xv = wasm.typedArrayFromHeap(x);
  const ov = wasm.typedArrayFromHeap(out);
  const rank = x.shape.length;
  const strides = new Array<number>(rank);
  strides[rank - 1] = 1;
  for (let d = rank - 2; d >= 0; d--) strides[d] = strides[d + 1] * x.shape[d + 1];
  // Innermost contiguous run: trailing dims taken whole, plus the first partial one.
  let inner = rank - 1;
  while (inner > 0 && begin[inner] === 0 && size[inner] === x.shape[inner]) inner--;
  const run = size.slice(inner).reduce((a, b) => a * b, 1);
  const idx = new Array<number>(inner).fill(0);
  let o = 0;
  while (o < n) {
    let off = begin[inner] * strides[inner];
    for (let d = 0; d < inner; d++) off += (begin[d] + idx[d]) * strides[d];
    ov.set(xv.subarray(off, off + run), o);
    o += run;
    for (let d = inner - 1; d >= 0; d--) {
      if (++idx[d] < size[d]) break;
      idx[d] = 0;
    }
  }
  return out;
}

function installSlicePatches(): string[] {
  const applied: string[] = [];
  const slice = tf.getKernel("Slice", "wasm");
  if (slice !== undefined) {
    const original = slice.kernelFunc;
    tf.unregisterKernel("Slice", "wasm");
    tf.registerKernel({
      ...slice,
      kernelFunc: ({ inputs, backend, attrs }) => {
        const x = (inputs as { x: tf.TensorInfo }).x;
        if (x.dtype === "string") return original({ inputs, backend, attrs });
        const { begin, size } = attrs as unknown as { begin: number | number[]; size: number | number[] };
        const [b, s] = tf.slice_util.parseSliceParams(x as tf.Tensor, begin, size);
        return sliceFromHeap(backend as WasmBackendLike, x, b, s);
      },
    });
    applied.push("Slice:heap-view");
  }
  const unpack = tf.getKernel("Unpack", "wasm");
  if (unpack !== undefined) {
    tf.unregisterKernel("Unpack", "wasm");
    tf.registerKernel({
      ...unpack,
      kernelFunc: ({ inputs, backend, attrs }) => {
        const value = (inputs as { value: tf.TensorInfo }).value;
        const rank = value.shape.length;
        let axis = (attrs as unknown as { axis: number }).axis;
        if (axis < 0) axis += rank;
        const outShape = value.shape.filter((_, i) => i !== axis);
        const size = value.shape.slice();
        size[axis] = 1;
        const outs: tf.TensorInfo[] = [];
        for (let i = 0; i < value.shape[axis]; i++) {
          const begin = new Array<number>(rank).fill(0);
          begin[axis] = i;
          const t = sliceFromHeap(backend as WasmBackendLike, value, begin, size);
          outs.push({ dataId: t.dataId, dtype: t.dtype, shape: outShape });
        }
        return outs;
      },
    });
    applied.push("Unpack:heap-view");
  }
  const splitV = tf.getKernel("SplitV", "wasm");
  if (splitV !== undefined) {
    tf.unregisterKernel("SplitV", "wasm");
    tf.registerKernel({
      ...splitV,
      kernelFunc: ({ inputs, backend, attrs }) => {
        const x = (inputs as { x: tf.TensorInfo }).x;
        const a = attrs as unknown as { numOrSizeSplits: number | number[]; axis: number };
        const axis = tf.util.parseAxisParam(a.axis, x.shape)[0];
        const sizes = tf.backend_util.prepareSplitSize(x as tf.Tensor, a.numOrSizeSplits, axis);
        const begin = new Array<number>(x.shape.length).fill(0);
        const size = x.shape.slice();
        return sizes.map((s) => {
          size[axis] = s;
          const t = sliceFromHeap(backend as WasmBackendLike, x, begin.slice(), size.slice());
          begin[axis] += s;
          return t;
        });
      },
    });
    applied.push("SplitV:heap-view");
  }
  return applied;
}
