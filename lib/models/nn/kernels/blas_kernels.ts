/**
 * Training kernels for the wasm backend built on OpenBLAS (blas.ts) and a small WebAssembly SIMD module of
 * element-wise steps (elementwise.c), both working in place on tfjs-wasm's heap:
 *
 * - `BatchMatMul` and `_FusedMatMul` (bias, linear or ReLU): one `cblas_sgemm` per batch entry, transposed operands
 *   read in place (tfjs 4.22 multiplies through XNNPACK, which packs the right-hand matrix per tensor — right for
 *   inference, a cost on every step in training — and takes a 10–20× slower path for transposed operands).
 * - `CandorDense` / `CandorDenseBackward`: a dense layer forward (`act(x·W + b)` on rank-2 operands, without the
 *   reshapes to rank 3 that `_FusedMatMul` needs) and its whole backward pass in one kernel (ReLU mask, `dW = xᵀ·dz`,
 *   `db = Σ dz`, `dx = dz·Wᵀ`), instead of five tfjs kernels and their tensors.
 * - `CandorDenseStack` / `CandorDenseStackBackward`: a whole stack of dense layers (an MLP) forward and backward, one
 *   kernel each, so a small network's step is not dominated by the engine's per-kernel bookkeeping.
 * - `CandorLstmForward` / `CandorLstmBackward`: a whole LSTM layer, forward and backward through time, each one
 *   kernel: the input projection of all steps is one product, each step is one product for the recurrence plus one
 *   fused element-wise pass (gates, cell, hidden state; in backward the gate gradients and the bias gradient), and the
 *   weight gradients are one product each over all steps. tfjs's op-by-op version issues ~15 kernels and as many
 *   intermediate tensors per time step.
 * - `CandorSlstmForward` / `CandorSlstmBackward`: the same for xLSTM's sLSTM layer (exponential input gate, normalizer
 *   and stabilizer states; all hidden states out). Autodiff through the op-by-op sLSTM records ~20 kernels per step
 *   forward and as many backward; the engine's bookkeeping, not arithmetic, was most of an xLSTM training step.
 *
 * Layout inside the LSTM kernels is time-major (`[T, B, ·]`), so every step's rows are contiguous and the hidden states
 * `hidden[0..T−1]` (with `hidden[0] = 0`) are the left operand of `dWh = Σ_t h_{t−1}ᵀ·dz_t` as one matrix. The
 * arithmetic is that of lib/models/nn/layers.ts's op-by-op LSTM and dense layers, which run on every other backend;
 * tests/models/nn/model_gradients_test.ts checks every parameter's gradient against the cpu backend and
 * tests/models/nn/blas_kernels_test.ts each kernel against float64 references.
 *
 * Each thread (main or gradient worker) instantiates the element-wise module once against its own backend's memory.
 * Rebuild it after editing elementwise.c: `bash tools/build_wasm_kernels.sh` (CI checks the embedded copy).
 *
 * @module
 */

import { tf } from "../../../training/tfjs.ts";
import type { Blas } from "./blas.ts";
import { ELEMENTWISE_WASM_BASE64 } from "./elementwise_wasm.ts";

type KernelFunc = tf.KernelConfig["kernelFunc"];

/** Names of candor's own kernels (registered on wasm only; layers.ts uses them when they are registered). */
export const CANDOR_KERNELS = {
  dense: "CandorDense",
  denseBackward: "CandorDenseBackward",
  denseStack: "CandorDenseStack",
  denseStackBackward: "CandorDenseStackBackward",
  lstmForward: "CandorLstmForward",
  lstmBackward: "CandorLstmBackward",
  slstmForward: "CandorSlstmForward",
  slstmBackward: "CandorSlstmBackward",
} as const;

/** The exports of elementwise.c (pointers are byte offsets into the imported memory). */
interface Elementwise {
  lstm_forward_step(
    z: number,
    cPrev: number,
    c: number,
    tc: number,
    h: number,
    B: number,
    H: number,
    first: number,
  ): void;
  lstm_backward_step(
    a: number,
    cPrev: number,
    tc: number,
    dh: number,
    dy: number,
    dyStride: number,
    hasDy: number,
    dc: number,
    dz: number,
    db: number,
    B: number,
    H: number,
    first: number,
  ): void;
  slstm_forward_step(
    z: number,
    cPrev: number,
    nPrev: number,
    m: number,
    c: number,
    n: number,
    h: number,
    sf: number,
    B: number,
    H: number,
    first: number,
  ): void;
  slstm_backward_step(
    a: number,
    c: number,
    n: number,
    cPrev: number,
    nPrev: number,
    sf: number,
    dh: number,
    dy: number,
    dyStride: number,
    hasDy: number,
    dc: number,
    dn: number,
    dz: number,
    db: number,
    B: number,
    H: number,
    first: number,
  ): void;
  swap01(src: number, dst: number, A: number, B: number, C: number): void;
  fill_rows(dst: number, row: number, rows: number, cols: number): void;
  relu(x: number, n: number): void;
  relu_backward(dy: number, y: number, dz: number, n: number): void;
  column_sums(src: number, dst: number, rows: number, cols: number): void;
}

/** The parts of tfjs-wasm's backend these kernels touch. */
interface WasmBackendInternals {
  wasm: { asm: { memory: WebAssembly.Memory } };
  dataIdMap: { get(id: tf.DataId): { memoryOffset: number } | undefined };
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  disposeData(dataId: tf.DataId, force?: boolean): boolean;
}

let compiled: WebAssembly.Module | undefined;
const instances = new WeakMap<WebAssembly.Memory, Elementwise>();

function elementwiseFor(memory: WebAssembly.Memory): Elementwise {
  let exports = instances.get(memory);
  if (exports === undefined) {
    compiled ??= new WebAssembly.Module(Uint8Array.from(atob(ELEMENTWISE_WASM_BASE64), (c) => c.charCodeAt(0)));
    exports = new WebAssembly.Instance(compiled, { env: { memory } }).exports as unknown as Elementwise;
    instances.set(memory, exports);
  }
  return exports;
}

/** One kernel invocation's view of the backend: heap offsets, allocation, BLAS and the element-wise module. */
class Heap {
  readonly memory: WebAssembly.Memory;
  readonly k: Elementwise;
  #scratch: tf.TensorInfo[] = [];

  constructor(readonly backend: WasmBackendInternals, readonly blas: Blas) {
    this.memory = backend.wasm.asm.memory;
    this.k = elementwiseFor(this.memory);
  }

  /** Byte offset of a tensor's data. Offsets stay valid when the heap grows (only views detach). */
  at(t: tf.TensorInfo): number {
    const d = this.backend.dataIdMap.get(t.dataId);
    if (d === undefined) throw new Error("candor kernel: tensor data is not on the wasm backend");
    return d.memoryOffset;
  }

  /** A new float32 output tensor (uninitialized). */
  output(shape: number[]): tf.TensorInfo {
    return this.backend.makeOutput(shape, "float32");
  }

  /** A float32 buffer released by {@link Heap.release}. */
  scratch(shape: number[]): tf.TensorInfo {
    const t = this.output(shape);
    this.#scratch.push(t);
    return t;
  }

  release(): void {
    for (const t of this.#scratch) this.backend.disposeData(t.dataId);
    this.#scratch = [];
  }

  /** Row-major `C = op(A)·op(B) + beta·C` on byte offsets; leading dimensions as stored (see Blas.sgemm). */
  gemm(
    transA: boolean,
    transB: boolean,
    M: number,
    N: number,
    K: number,
    a: number,
    lda: number,
    b: number,
    ldb: number,
    beta: number,
    c: number,
    ldc: number,
  ): void {
    this.blas.sgemm(this.memory, transA, transB, M, N, K, 1, a, lda, b, ldb, beta, c, ldc);
  }
}

/**
 * `op(a) · op(b)` (+ bias, ReLU) into a new float32 tensor, or undefined when this kernel does not handle the case
 * (other dtypes, empty operands, batch shapes that neither match nor broadcast from 1, a bias that is not N values).
 */
function matMul(
  heap: Heap,
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
  const batchA = tf.util.sizeFromShape(a.shape.slice(0, -2)), batchB = tf.util.sizeFromShape(b.shape.slice(0, -2));
  if (batchA !== batchB && batchA !== 1 && batchB !== 1) return undefined;
  if (bias !== undefined && (bias.dtype !== "float32" || tf.util.sizeFromShape(bias.shape) !== N)) return undefined;
  const batchShape = tf.broadcast_util.assertAndGetBroadcastShape(a.shape.slice(0, -2), b.shape.slice(0, -2));
  const batch = Math.max(batchA, batchB);
  if (tf.util.sizeFromShape(batchShape) !== batch) return undefined;
  const out = heap.output([...batchShape, M, N]);
  const aOff = heap.at(a), bOff = heap.at(b), cOff = heap.at(out);
  const biasOff = bias === undefined ? 0 : heap.at(bias);
  for (let i = 0; i < batch; i++) {
    const ap = aOff + 4 * (batchA === 1 ? 0 : i) * M * K;
    const bp = bOff + 4 * (batchB === 1 ? 0 : i) * K * N;
    const cp = cOff + 4 * i * M * N;
    if (bias !== undefined) heap.k.fill_rows(cp, biasOff, M, N);
    heap.gemm(transposeA, transposeB, M, N, K, ap, transposeA ? M : K, bp, transposeB ? K : N, bias ? 1 : 0, cp, N);
    if (relu) heap.k.relu(cp, M * N);
  }
  return out;
}

/**
 * A dense layer's backward pass. Inputs `dy` [m, n], `x` [m, k], `w` [k, n] and, with `relu`, the layer's output `y`
 * [m, n]; outputs `[dx [m, k], dW [k, n], db [n]]` with `dz = relu ? dy ⊙ 1[y > 0] : dy`, `dW = xᵀ·dz`,
 * `db = Σ_rows dz`, `dx = dz·Wᵀ` (zeros when `inputGradient` is false: the layer's input is data).
 */
function denseBackward(heap: Heap, inputs: Record<string, tf.TensorInfo>, relu: boolean, inputGradient: boolean) {
  const { dy, x, w, y } = inputs;
  const [m, k] = x.shape, n = w.shape[1];
  const dx = heap.output([m, k]), dW = heap.output([k, n]), db = heap.output([n]);
  const dz = relu ? heap.scratch([m, n]) : dy;
  if (relu) heap.k.relu_backward(heap.at(dy), heap.at(y), heap.at(dz), m * n);
  const dzOff = heap.at(dz);
  heap.gemm(true, false, k, n, m, heap.at(x), k, dzOff, n, 0, heap.at(dW), n);
  heap.k.column_sums(dzOff, heap.at(db), m, n);
  if (inputGradient) heap.gemm(false, true, m, k, n, dzOff, n, heap.at(w), n, 0, heap.at(dx), k);
  else heap.k.fill_rows(heap.at(dx), 0, m, k);
  heap.release();
  return [dx, dW, db];
}

/**
 * A stack of L dense layers forward: inputs `x` [m, d0], `w{l}` [d_l, d_{l+1}], `b{l}` [d_{l+1}]; `relu[l]` = 1 applies
 * ReLU after layer l (the last layer must be linear). Outputs `[out, h1, …, h_{L−1}]`: the last layer's output and the
 * hidden activations the backward kernel needs.
 */
function denseStackForward(heap: Heap, inputs: Record<string, tf.TensorInfo>, relu: number[]): tf.TensorInfo[] {
  const outs: tf.TensorInfo[] = [];
  let a = inputs.x;
  relu.forEach((r, l) => {
    const y = matMul(heap, a, inputs[`w${l}`], false, false, inputs[`b${l}`], r === 1);
    if (y === undefined) throw new Error(`${CANDOR_KERNELS.denseStack}: unsupported operands at layer ${l}`);
    outs.push(y);
    a = y;
  });
  return [outs[outs.length - 1], ...outs.slice(0, -1)];
}

/**
 * The stack's backward pass: inputs `dy` [m, d_L], `x`, the hidden activations `h1 … h_{L−1}` and the weights
 * `w0 … w_{L−1}`. Outputs `[dx, dW0, db0, dW1, db1, …]` (dx zeros when `inputGradient` is false): layer by layer from
 * the last, `dz = relu ? dA ⊙ 1[h > 0] : dA`, `dW = aᵀ·dz`, `db = Σ dz`, `dA_prev = dz·Wᵀ`.
 */
function denseStackBackward(
  heap: Heap,
  inputs: Record<string, tf.TensorInfo>,
  relu: number[],
  inputGradient: boolean,
): tf.TensorInfo[] {
  const L = relu.length;
  const acts = [inputs.x, ...Array.from({ length: L - 1 }, (_, l) => inputs[`h${l + 1}`])];
  const m = inputs.x.shape[0];
  const grads: tf.TensorInfo[] = new Array(2 * L);
  const dx = heap.output([m, inputs.x.shape[1]]);
  let dA = inputs.dy;
  for (let l = L - 1; l >= 0; l--) {
    const w = inputs[`w${l}`];
    const [k, n] = w.shape;
    let dz = dA;
    if (relu[l] === 1) {
      dz = heap.scratch([m, n]);
      heap.k.relu_backward(heap.at(dA), heap.at(acts[l + 1]), heap.at(dz), m * n);
    }
    const dW = heap.output([k, n]), db = heap.output([n]);
    heap.gemm(true, false, k, n, m, heap.at(acts[l]), k, heap.at(dz), n, 0, heap.at(dW), n);
    heap.k.column_sums(heap.at(dz), heap.at(db), m, n);
    grads[2 * l] = dW;
    grads[2 * l + 1] = db;
    if (l > 0 || inputGradient) {
      const prev = l > 0 ? heap.scratch([m, k]) : dx;
      heap.gemm(false, true, m, k, n, heap.at(dz), n, heap.at(w), n, 0, heap.at(prev), k);
      dA = prev;
    } else heap.k.fill_rows(heap.at(dx), 0, m, k);
  }
  heap.release();
  return [dx, ...grads];
}

/**
 * The part of an LSTM-style layer's forward pass that does not depend on its cell, on the outputs it allocates: `xt`
 * = x made time-major [T, B, F]; the pre-activations Z (`gates` [T, B, 4H]) = bias + Xt·Wx for all steps in one
 * product; `hidden` [T + 1, B, H] with hidden[0] = 0; then per step Z_t += h_{t−1}·Wh (nothing to add at t = 0) and
 * `step(t)`, the cell's element-wise pass, which must write h_t into hidden[t + 1]. `at` gives the step the byte
 * offsets of Z and hidden and the sizes of one step's blocks in each; the same offsets are returned with the outputs.
 */
function recurrentForward(
  heap: Heap,
  inputs: Record<string, tf.TensorInfo>,
  step: (t: number, at: { Z: number; Hd: number; zStep: number; hStep: number }) => void,
): { gates: tf.TensorInfo; hidden: tf.TensorInfo; xt: tf.TensorInfo; Hd: number; hStep: number } {
  const { x, wx, wh, b } = inputs;
  const [B, T, F] = x.shape, H = wh.shape[0], G = 4 * H;
  const gates = heap.output([T, B, G]), hidden = heap.output([T + 1, B, H]), xt = heap.output([T, B, F]);
  const [Wx, Wh, Z, Hd, XT] = [wx, wh, gates, hidden, xt].map((t) => heap.at(t));
  const at = { Z, Hd, zStep: 4 * B * G, hStep: 4 * B * H };
  const k = heap.k;
  k.swap01(heap.at(x), XT, B, T, F);
  k.fill_rows(Z, heap.at(b), T * B, G);
  heap.gemm(false, false, T * B, G, F, XT, F, Wx, G, 1, Z, G);
  k.fill_rows(Hd, 0, B, H);
  for (let t = 0; t < T; t++) {
    if (t > 0) heap.gemm(false, false, B, G, H, Hd + t * at.hStep, H, Wh, G, 1, Z + t * at.zStep, G);
    step(t, at);
  }
  return { gates, hidden, xt, Hd, hStep: at.hStep };
}

/**
 * The cell-independent part of the backward pass through time: dh and db start at 0, then from the last step down
 * `step(t)` (the cell's element-wise pass: writes dz_t into dZ, adds it to db, updates its own carried gradients) and
 * dh = dz_t·Whᵀ for the step before; then the weight gradients as single products over all steps,
 * `dWh = hidden[0..T−1]ᵀ·dZ`, `dWx = Xtᵀ·dZ`, and `dx = dZ·Wxᵀ` back in [B, T, F] (zeros when `inputGradient` is
 * false). Inputs: the forward kernel's `hidden` and `xt`, the weights `wx`, `wh`. Returns `[dx, dWx, dWh, db]`; its
 * scratch buffers are released by the caller's {@link Heap.release}.
 */
function recurrentBackward(
  heap: Heap,
  inputs: Record<string, tf.TensorInfo>,
  inputGradient: boolean,
  step: (t: number, at: { DZ: number; DH: number; DB: number; zStep: number; hStep: number }) => void,
): tf.TensorInfo[] {
  const { hidden, xt, wx, wh } = inputs;
  const [T, B, F] = xt.shape, H = wh.shape[0], G = 4 * H;
  const dx = heap.output([B, T, F]), dWx = heap.output([F, G]), dWh = heap.output([H, G]), db = heap.output([G]);
  const [Hd, XT, Wx, Wh, DB] = [hidden, xt, wx, wh, db].map((t) => heap.at(t));
  const [DZ, DH] = [heap.scratch([T, B, G]), heap.scratch([B, H])].map((t) => heap.at(t));
  const at = { DZ, DH, DB, zStep: 4 * B * G, hStep: 4 * B * H };
  const k = heap.k;
  k.fill_rows(DH, 0, B, H);
  k.fill_rows(DB, 0, 1, G);
  for (let t = T - 1; t >= 0; t--) {
    step(t, at);
    if (t > 0) heap.gemm(false, true, B, H, G, DZ + t * at.zStep, G, Wh, G, 0, DH, H);
  }
  heap.gemm(true, false, H, G, T * B, Hd, H, DZ, G, 0, heap.at(dWh), G);
  heap.gemm(true, false, F, G, T * B, XT, F, DZ, G, 0, heap.at(dWx), G);
  if (inputGradient) {
    const DXT = heap.at(heap.scratch([T, B, F]));
    heap.gemm(false, true, T * B, F, G, DZ, G, Wx, G, 0, DXT, F);
    k.swap01(DXT, heap.at(dx), T, B, F);
  } else k.fill_rows(heap.at(dx), 0, B * T, F);
  return [dx, dWx, dWh, db];
}

/**
 * LSTM forward over `x` [B, T, F] with `wx` [F, 4H], `wh` [H, 4H], `b` [4H]. Outputs `[out, gates, cells, tanhc,
 * hidden, xt]`: out = all hidden states [B, T, H] (`sequences`) or the last [B, H]; gates [T, B, 4H] (activated i, f,
 * g, o), cells [T, B, H], tanhc = tanh(cells), hidden [T + 1, B, H] (hidden[0] = 0, hidden[t + 1] = h_t), xt = x
 * time-major [T, B, F]. Everything but `out` is what the backward kernel needs.
 */
function lstmForward(heap: Heap, inputs: Record<string, tf.TensorInfo>, sequences: boolean): tf.TensorInfo[] {
  const { x, wh } = inputs;
  const [B, T] = x.shape, H = wh.shape[0];
  const out = heap.output(sequences ? [B, T, H] : [B, H]);
  const cells = heap.output([T, B, H]), tanhc = heap.output([T, B, H]);
  const [C, TC] = [heap.at(cells), heap.at(tanhc)];
  const { gates, hidden, xt, ...states } = recurrentForward(
    heap,
    inputs,
    (t, { Z, Hd, zStep, hStep }) =>
      heap.k.lstm_forward_step(
        Z + t * zStep,
        C + (t - 1) * hStep,
        C + t * hStep,
        TC + t * hStep,
        Hd + (t + 1) * hStep,
        B,
        H,
        t === 0 ? 1 : 0,
      ),
  );
  // [T, B, H] → [B, T, H]; with one step (A = 1) swap01 is a plain copy of the last state.
  if (sequences) heap.k.swap01(states.Hd + states.hStep, heap.at(out), T, B, H);
  else heap.k.swap01(states.Hd + T * states.hStep, heap.at(out), 1, B, H);
  return [out, gates, cells, tanhc, hidden, xt];
}

/**
 * LSTM backward through time. Inputs: `dy` ([B, T, H] with `sequences`, else [B, H]), the forward kernel's saved
 * `gates`, `cells`, `tanhc`, `hidden`, `xt`, and the weights `wx`, `wh`. Outputs `[dx [B, T, F], dWx, dWh, db]`
 * (dx zeros when `inputGradient` is false).
 */
function lstmBackward(
  heap: Heap,
  inputs: Record<string, tf.TensorInfo>,
  sequences: boolean,
  inputGradient: boolean,
): tf.TensorInfo[] {
  const { dy, gates, cells, tanhc, wh, xt } = inputs;
  const [T, B] = xt.shape, H = wh.shape[0];
  const DC = heap.at(heap.scratch([B, H]));
  heap.k.fill_rows(DC, 0, B, H);
  const [A, C, TC, DY] = [gates, cells, tanhc, dy].map((t) => heap.at(t));
  const grads = recurrentBackward(heap, inputs, inputGradient, (t, { DZ, DH, DB, zStep, hStep }) => {
    // dy reaches h_t at every step of a sequence output, and only the last step otherwise.
    const hasDy = sequences || t === T - 1;
    heap.k.lstm_backward_step(
      A + t * zStep,
      C + (t - 1) * hStep,
      TC + t * hStep,
      DH,
      hasDy ? (sequences ? DY + 4 * t * H : DY) : 0,
      sequences ? T * H : H,
      hasDy ? 1 : 0,
      DC,
      DZ + t * zStep,
      DB,
      B,
      H,
      t === 0 ? 1 : 0,
    );
  });
  heap.release();
  return grads;
}

/**
 * sLSTM forward over `x` [B, T, F] with `wx` [F, 4H], `wh` [H, 4H], `b` [4H] (conventions in elementwise.c). Outputs
 * `[out, gates, cells, norms, sf, hidden, xt]`: out = all hidden states [B, T, H]; gates [T, B, 4H] = (i', f', g, o);
 * cells and norms (c, n) [T, B, H]; sf = sigmoid(−z_f) [T, B, H]; hidden [T + 1, B, H] (hidden[0] = 0); xt = x
 * time-major [T, B, F]. Everything but `out` is what the backward kernel needs.
 */
function slstmForward(heap: Heap, inputs: Record<string, tf.TensorInfo>): tf.TensorInfo[] {
  const { x, wh } = inputs;
  const [B, T] = x.shape, H = wh.shape[0];
  const out = heap.output([B, T, H]);
  const cells = heap.output([T, B, H]), norms = heap.output([T, B, H]), sf = heap.output([T, B, H]);
  const [C, N, SF, M] = [cells, norms, sf, heap.scratch([B, H])].map((t) => heap.at(t));
  const { gates, hidden, xt, ...states } = recurrentForward(
    heap,
    inputs,
    (t, { Z, Hd, zStep, hStep }) =>
      heap.k.slstm_forward_step(
        Z + t * zStep,
        C + (t - 1) * hStep,
        N + (t - 1) * hStep,
        M,
        C + t * hStep,
        N + t * hStep,
        Hd + (t + 1) * hStep,
        SF + t * hStep,
        B,
        H,
        t === 0 ? 1 : 0,
      ),
  );
  heap.k.swap01(states.Hd + states.hStep, heap.at(out), T, B, H);
  heap.release();
  return [out, gates, cells, norms, sf, hidden, xt];
}

/**
 * sLSTM backward through time. Inputs: `dy` [B, T, H], the forward kernel's saved `gates`, `cells`, `norms`, `sf`,
 * `hidden`, `xt`, and the weights `wx`, `wh`. Outputs `[dx [B, T, F], dWx, dWh, db]`.
 */
function slstmBackward(heap: Heap, inputs: Record<string, tf.TensorInfo>): tf.TensorInfo[] {
  const { dy, gates, cells, norms, sf, wh, xt } = inputs;
  const [T, B] = xt.shape, H = wh.shape[0];
  const [DC, DN] = [heap.scratch([B, H]), heap.scratch([B, H])].map((t) => heap.at(t));
  for (const buf of [DC, DN]) heap.k.fill_rows(buf, 0, B, H);
  const [A, C, N, SF, DY] = [gates, cells, norms, sf, dy].map((t) => heap.at(t));
  const grads = recurrentBackward(
    heap,
    inputs,
    true,
    (t, { DZ, DH, DB, zStep, hStep }) =>
      heap.k.slstm_backward_step(
        A + t * zStep,
        C + t * hStep,
        N + t * hStep,
        C + (t - 1) * hStep,
        N + (t - 1) * hStep,
        SF + t * hStep,
        DH,
        DY + 4 * t * H,
        T * H,
        1,
        DC,
        DN,
        DZ + t * zStep,
        DB,
        B,
        H,
        t === 0 ? 1 : 0,
      ),
  );
  heap.release();
  return grads;
}

/**
 * Registers the BLAS-backed `BatchMatMul` and `_FusedMatMul` (each falling back to the kernel registered before it
 * for cases it does not handle) and candor's dense and LSTM kernels on the wasm backend. Call before
 * `tf.setBackend("wasm")`; returns the names of the patches applied.
 */
export function installBlasKernels(blas: Blas): string[] {
  const applied: string[] = [];
  const heapOf = (backend: unknown) => new Heap(backend as WasmBackendInternals, blas);
  const batch = tf.getKernel("BatchMatMul", "wasm");
  if (batch !== undefined) {
    const previous = batch.kernelFunc;
    const kernelFunc: KernelFunc = (args) => {
      const { a, b } = args.inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
      const { transposeA, transposeB } = args.attrs as unknown as { transposeA: boolean; transposeB: boolean };
      return matMul(heapOf(args.backend), a, b, transposeA, transposeB, undefined, false) ?? previous(args);
    };
    tf.unregisterKernel("BatchMatMul", "wasm");
    tf.registerKernel({ ...batch, kernelFunc });
    applied.push("BatchMatMul:blas");
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
        const out = matMul(
          heapOf(args.backend),
          a!,
          b!,
          transposeA,
          transposeB,
          bias ?? undefined,
          activation === "relu",
        );
        if (out !== undefined) return out;
      }
      return previous(args);
    };
    tf.unregisterKernel("_FusedMatMul", "wasm");
    tf.registerKernel({ ...fused, kernelFunc });
    applied.push("_FusedMatMul:blas");
  }
  tf.registerKernel({
    kernelName: CANDOR_KERNELS.dense,
    backendName: "wasm",
    kernelFunc: ({ inputs, backend, attrs }) => {
      const { x, w, b } = inputs as Record<string, tf.TensorInfo>;
      const { relu } = attrs as unknown as { relu: boolean };
      const y = matMul(heapOf(backend), x, w, false, false, b, relu);
      if (y === undefined) throw new Error(`${CANDOR_KERNELS.dense}: unsupported operands [${x.shape}]·[${w.shape}]`);
      return y;
    },
  });
  tf.registerKernel({
    kernelName: CANDOR_KERNELS.denseBackward,
    backendName: "wasm",
    kernelFunc: ({ inputs, backend, attrs }) => {
      const { relu, inputGradient } = attrs as unknown as { relu: boolean; inputGradient: boolean };
      return denseBackward(heapOf(backend), inputs as Record<string, tf.TensorInfo>, relu, inputGradient);
    },
  });
  tf.registerKernel({
    kernelName: CANDOR_KERNELS.denseStack,
    backendName: "wasm",
    kernelFunc: ({ inputs, backend, attrs }) => {
      const { relu } = attrs as unknown as { relu: number[] };
      return denseStackForward(heapOf(backend), inputs as Record<string, tf.TensorInfo>, relu);
    },
  });
  tf.registerKernel({
    kernelName: CANDOR_KERNELS.denseStackBackward,
    backendName: "wasm",
    kernelFunc: ({ inputs, backend, attrs }) => {
      const { relu, inputGradient } = attrs as unknown as { relu: number[]; inputGradient: boolean };
      return denseStackBackward(heapOf(backend), inputs as Record<string, tf.TensorInfo>, relu, inputGradient);
    },
  });
  tf.registerKernel({
    kernelName: CANDOR_KERNELS.lstmForward,
    backendName: "wasm",
    kernelFunc: ({ inputs, backend, attrs }) => {
      const { sequences } = attrs as unknown as { sequences: boolean };
      return lstmForward(heapOf(backend), inputs as Record<string, tf.TensorInfo>, sequences);
    },
  });
  tf.registerKernel({
    kernelName: CANDOR_KERNELS.lstmBackward,
    backendName: "wasm",
    kernelFunc: ({ inputs, backend, attrs }) => {
      const { sequences, inputGradient } = attrs as unknown as { sequences: boolean; inputGradient: boolean };
      return lstmBackward(heapOf(backend), inputs as Record<string, tf.TensorInfo>, sequences, inputGradient);
    },
  });
  tf.registerKernel({
    kernelName: CANDOR_KERNELS.slstmForward,
    backendName: "wasm",
    kernelFunc: ({ inputs, backend }) => slstmForward(heapOf(backend), inputs as Record<string, tf.TensorInfo>),
  });
  tf.registerKernel({
    kernelName: CANDOR_KERNELS.slstmBackward,
    backendName: "wasm",
    kernelFunc: ({ inputs, backend }) => slstmBackward(heapOf(backend), inputs as Record<string, tf.TensorInfo>),
  });
  applied.push(
    `${CANDOR_KERNELS.dense}:blas`,
    `${CANDOR_KERNELS.denseBackward}:blas`,
    `${CANDOR_KERNELS.denseStack}:blas`,
    `${CANDOR_KERNELS.denseStackBackward}:blas`,
    `${CANDOR_KERNELS.lstmForward}:blas`,
    `${CANDOR_KERNELS.lstmBackward}:blas`,
    `${CANDOR_KERNELS.slstmForward}:blas`,
    `${CANDOR_KERNELS.slstmBackward}:blas`,
  );
  return applied;
}

/** Whether candor's kernel `name` is registered for the active backend (layers.ts then uses it). */
export function hasCandorKernel(name: string): boolean {
  const backend = tf.getBackend();
  return backend !== undefined && tf.getKernel(name, backend) !== undefined;
}
