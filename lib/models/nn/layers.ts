/**
 * Differentiable building blocks written with tfjs-core ops (no tfjs-layers): dense, LSTM, sLSTM (xLSTM), layer norm,
 * batch norm, multi-head self-attention. Each block creates its weights in a {@link ParamStore} and returns a
 * function of tensors, so the training loop owns the tape and the optimizer.
 *
 * Measured choices (docs/design.md §5): LSTM gates use the logistic sigmoid (tfjs's hardSigmoid default differs from
 * PyTorch); the input projection of all time steps is one matMul `[B·T, F] × [F, 4H]`; time steps are split with
 * `tf.unstack` (no stridedSlice on the tape); log σ is `−softplus(−x)`.
 *
 * @module
 */

import { tf } from "../../training/tfjs.ts";
import { ConfigError } from "../../errors.ts";
import type { ParamStore } from "./params.ts";
import { CANDOR_KERNELS, hasCandorKernel } from "./kernels/blas_kernels.ts";

const onesRows = new Map<string, tf.Tensor2D>();

/**
 * A kept `[1, n]` row of ones (the bias gradient's left operand), one per batch size and backend instead of a new
 * tensor per layer per step (per backend: a tensor kept on a GPU cannot be read when prediction runs on the cpu
 * backend). At most 8 are kept (a training run uses two: the batch size and its last partial batch); the oldest is
 * disposed beyond that, which is safe because each is only read inside one synchronous matMul.
 */
function onesRow(n: number): tf.Tensor2D {
  const key = `${tf.getBackend()}:${n}`;
  let t = onesRows.get(key);
  if (t === undefined || t.isDisposed) {
    t = tf.keep(tf.ones([1, n]));
    onesRows.set(key, t);
    if (onesRows.size > 8) {
      const [oldest, tensor] = onesRows.entries().next().value!;
      tensor.dispose();
      onesRows.delete(oldest);
    }
  }
  return t;
}

/** Options of {@link dense}. */
export interface DenseOptions {
  /** Start W and b at 0 (a head that initially predicts 0). */
  zeroInit?: boolean;
  /** Add a bias (default true). */
  bias?: boolean;
  /** ReLU after the affine map (default: none). */
  activation?: "relu";
  /** Compute the input's gradient (default true; false for a first layer on data, whose gradient is never used). */
  inputGradient?: boolean;
}

/** Creates a dense layer's kernel `[inDim, outDim]` and bias `[outDim]` (Glorot uniform / zeros, or all zeros). */
function denseParams(p: ParamStore, name: string, inDim: number, outDim: number, o: DenseOptions) {
  const w = p.add(
    `${name}/kernel`,
    [inDim, outDim],
    o.zeroInit ? { kind: "zeros" } : { kind: "glorot", fanIn: inDim, fanOut: outDim },
  );
  const b = o.bias === false ? undefined : p.add(`${name}/bias`, [outDim], { kind: "zeros" });
  return { w, b };
}

/**
 * `y = act(x·W + b)` over the last axis (act = identity or ReLU); `zeroInit` starts W and b at 0 (a head that
 * initially predicts 0).
 *
 * With a bias, the layer has a hand-written backward pass (`tf.customGrad`), so training runs the fused
 * matMul + bias + ReLU kernel forward (tfjs un-fuses it whenever gradients are recorded) and the backward pass is
 * `dz = dy ⊙ 1[y > 0]`, `dW = xᵀ·dz`, `db = 1ᵀ·dz` (a one-row matMul: the wasm `Sum` over the batch axis transposes
 * first and cost as much as a weight gradient), `dx = dz·Wᵀ` — or nothing for `inputGradient: false` (a first layer
 * on data, whose input gradient is never used). On wasm with OpenBLAS, forward and backward are one kernel each
 * (kernels/blas_kernels.ts). tests/models/nn/backend_test.ts checks it against {@link denseAutodiff}.
 */
export function dense(
  p: ParamStore,
  name: string,
  inDim: number,
  outDim: number,
  opts: DenseOptions = {},
): (x: tf.Tensor) => tf.Tensor {
  const { w, b } = denseParams(p, name, inDim, outDim, opts);
  return denseOp(w, b, inDim, outDim, opts);
}

/** The dense layer's computation on existing parameters (see {@link dense}). */
function denseOp(
  w: tf.Variable,
  b: tf.Variable | undefined,
  inDim: number,
  outDim: number,
  opts: DenseOptions,
): (x: tf.Tensor) => tf.Tensor {
  const relu = opts.activation === "relu";
  const inputGradient = opts.inputGradient ?? true;
  const gradFunc = (dy: tf.Tensor, saved: tf.Tensor[]): tf.Tensor[] => {
    const [xs, ws, ys] = saved as tf.Tensor2D[];
    if (hasCandorKernel(CANDOR_KERNELS.denseBackward)) {
      // The same three gradients in one kernel (wasm with OpenBLAS, kernels/blas_kernels.ts).
      return tf.engine().runKernel(
        CANDOR_KERNELS.denseBackward,
        { dy, x: xs, w: ws, y: ys },
        { relu, inputGradient },
      ) as tf.Tensor[];
    }
    const dz = (relu ? tf.mul(dy, tf.step(ys)) : dy) as tf.Tensor2D;
    const dW = tf.matMul(xs, dz, true, false);
    const db = tf.reshape(tf.matMul(onesRow(xs.shape[0]), dz), [outDim]);
    const dx = inputGradient ? tf.matMul(dz, ws, false, true) : tf.zerosLike(xs);
    return [dx, dW, db];
  };
  const fusedOp = b === undefined ? undefined : tf.customGrad((...args: unknown[]) => {
    const [x, wT, bT, save] = args as [tf.Tensor2D, tf.Tensor2D, tf.Tensor1D, tf.GradSaveFunc];
    if (hasCandorKernel(CANDOR_KERNELS.dense)) {
      // The same product in one kernel on rank-2 operands (wasm with OpenBLAS, kernels/blas_kernels.ts).
      const y = tf.engine().runKernel(CANDOR_KERNELS.dense, { x, w: wT, b: bT }, { relu }) as tf.Tensor2D;
      save([x, wT, y]);
      return { value: y, gradFunc };
    }
    // runKernel, not tf.fused.matMul: the op wrapper un-fuses whenever a gradient tape is active. The kernel takes
    // rank-3 operands (as the op passes them).
    const [m, k] = x.shape;
    const y3 = tf.engine().runKernel(
      "_FusedMatMul",
      { a: tf.reshape(x, [1, m, k]), b: tf.reshape(wT, [1, k, outDim]), bias: bT },
      { transposeA: false, transposeB: false, activation: relu ? "relu" : "linear", leakyreluAlpha: 0 },
    ) as tf.Tensor3D;
    const y = tf.reshape(y3, [m, outDim]) as tf.Tensor2D;
    save([x, wT, y]);
    return { value: y, gradFunc };
  });
  return (x) => {
    const shape = x.shape;
    const flat = (x.rank === 2 ? x : tf.reshape(x, [-1, inDim])) as tf.Tensor2D;
    const y = fusedOp !== undefined
      ? fusedOp(flat, w, b!)
      : tf.fused.matMul({ a: flat, b: w as tf.Tensor2D, activation: opts.activation });
    return x.rank === 2 ? y : tf.reshape(y, [...shape.slice(0, -1), outDim]);
  };
}

/** One layer of a {@link denseStack}. */
export interface StackLayer {
  /** Variable name prefix (`<name>/kernel`, `<name>/bias`). */
  name: string;
  /** Output width. */
  units: number;
  /** ReLU after the affine map. */
  relu: boolean;
}

/**
 * Dense layers applied in sequence to `[B, inDim]` rows, with biases: the same variables, initialization and function
 * as one {@link dense} per layer (so saved models and checkpoints are interchangeable). On wasm with OpenBLAS the whole
 * stack is one kernel forward and one backward (kernels/blas_kernels.ts), instead of two per layer plus the engine's
 * bookkeeping for each, which dominated small networks' training steps; elsewhere it is the per-layer ops.
 * `inputGradient: false` skips the first layer's input gradient (data). The last layer must be linear (a head).
 */
export function denseStack(
  p: ParamStore,
  inDim: number,
  layers: StackLayer[],
  opts: { inputGradient?: boolean } = {},
): (x: tf.Tensor) => tf.Tensor {
  if (layers.length === 0 || layers[layers.length - 1].relu) {
    throw new ConfigError("denseStack: needs at least one layer and a linear last layer (a head)");
  }
  const inputGradient = opts.inputGradient ?? true;
  const dims = [inDim, ...layers.map((l) => l.units)];
  const params = layers.map((l, i) => denseParams(p, l.name, dims[i], dims[i + 1], {}));
  const ops = layers.map((l, i) =>
    denseOp(params[i].w, params[i].b, dims[i], dims[i + 1], {
      activation: l.relu ? "relu" : undefined,
      inputGradient: i > 0 || inputGradient,
    })
  );
  const relu = layers.map((l) => (l.relu ? 1 : 0));
  const flat = params.flatMap(({ w, b }) => [w, b!]);
  const fused = tf.customGrad((...args: unknown[]) => {
    const save = args.pop() as tf.GradSaveFunc;
    const [x, ...wb] = args as tf.Tensor[];
    const inputs: Record<string, tf.Tensor> = { x };
    wb.forEach((t, i) => inputs[`${i % 2 ? "b" : "w"}${i >> 1}`] = t);
    const [value, ...hidden] = tf.engine().runKernel(CANDOR_KERNELS.denseStack, inputs, { relu }) as tf.Tensor[];
    save([x, ...hidden, ...wb.filter((_, i) => i % 2 === 0)]);
    return {
      value,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const L = layers.length;
        const back: Record<string, tf.Tensor> = { dy, x: saved[0] };
        saved.slice(1, L).forEach((h, i) => back[`h${i + 1}`] = h);
        saved.slice(L).forEach((w, i) => back[`w${i}`] = w);
        return tf.engine().runKernel(CANDOR_KERNELS.denseStackBackward, back, { relu, inputGradient }) as tf.Tensor[];
      },
    };
  });
  return (x) => {
    if (x.rank === 2 && hasCandorKernel(CANDOR_KERNELS.denseStack)) return fused(x, ...flat);
    return ops.reduce((h, op) => op(h), x);
  };
}

/** The dense layer differentiated by tfjs's autodiff; {@link dense} must match it (tests only). */
export function denseAutodiff(
  p: ParamStore,
  name: string,
  inDim: number,
  outDim: number,
  opts: { activation?: "relu" } = {},
): (x: tf.Tensor) => tf.Tensor {
  const w = p.add(`${name}/kernel`, [inDim, outDim], { kind: "glorot", fanIn: inDim, fanOut: outDim });
  const b = p.add(`${name}/bias`, [outDim], { kind: "zeros" });
  return (x) => tf.fused.matMul({ a: x as tf.Tensor2D, b: w as tf.Tensor2D, bias: b, activation: opts.activation });
}

/**
 * Layer normalization over the last axis with learned scale and shift: `y = x̂·γ + β`, `x̂ = (x − μ) / √(σ² + ε)`.
 *
 * The normalization has a hand-written backward pass, `dx = (dx̂ − mean(dx̂) − x̂·mean(dx̂ ⊙ x̂)) / √(σ² + ε)`
 * (γ and β are left to autodiff): tfjs's gradient of each `Mean` in `tf.moments` materializes a ones tensor of the
 * input's shape, filled element by element in JavaScript — about a seventh of an xLSTM training step.
 * tests/models/nn/backend_test.ts checks it against {@link layerNormAutodiff}.
 */
export function layerNorm(p: ParamStore, name: string, dim: number, eps = 1e-5): (x: tf.Tensor) => tf.Tensor {
  const g = p.add(`${name}/gamma`, [dim], { kind: "ones" });
  const b = p.add(`${name}/beta`, [dim], { kind: "zeros" });
  const normalize = tf.customGrad((...args: unknown[]) => {
    const [x, save] = args as [tf.Tensor, tf.GradSaveFunc];
    const { mean, variance } = tf.moments(x, -1, true);
    const rstd = tf.rsqrt(tf.add(variance, eps));
    const xHat = tf.mul(tf.sub(x, mean), rstd);
    save([xHat, rstd]);
    return {
      value: xHat,
      gradFunc: (dy: tf.Tensor, [xh, r]: tf.Tensor[]) => {
        const centred = tf.sub(dy, tf.mean(dy, -1, true));
        return tf.mul(tf.sub(centred, tf.mul(xh, tf.mean(tf.mul(dy, xh), -1, true))), r);
      },
    };
  });
  return (x) => tf.add(tf.mul(normalize(x), g), b);
}

/** Reference layer normalization differentiated by tfjs's autodiff; {@link layerNorm} must match it (tests only). */
export function layerNormAutodiff(p: ParamStore, name: string, dim: number, eps = 1e-5): (x: tf.Tensor) => tf.Tensor {
  const g = p.add(`${name}/gamma`, [dim], { kind: "ones" });
  const b = p.add(`${name}/beta`, [dim], { kind: "zeros" });
  return (x) => {
    const { mean, variance } = tf.moments(x, -1, true);
    return tf.add(tf.mul(tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, eps))), g), b);
  };
}

/**
 * Batch normalization over the batch axis of `[B, D]` inputs. Training uses the batch's statistics and keeps them for
 * `commit()`, which folds them into the running averages (momentum 0.1, PyTorch convention; the variance folded
 * in is the biased batch variance, where PyTorch uses the unbiased one: a factor B/(B − 1)); inference uses the running statistics. The models call `commit()` right after each
 * training forward pass (`Network.afterStep`), before the backward pass and the optimizer step — the statistics
 * therefore come from the pre-step weights, as in PyTorch, whose running averages are updated during the forward pass.
 */
export function batchNorm(p: ParamStore, name: string, dim: number, eps = 1e-5) {
  const g = p.add(`${name}/gamma`, [dim], { kind: "ones" });
  const b = p.add(`${name}/beta`, [dim], { kind: "zeros" });
  const rm = p.add(`${name}/running_mean`, [dim], { kind: "zeros" }, false);
  const rv = p.add(`${name}/running_var`, [dim], { kind: "ones" }, false);
  let pending: [tf.Tensor, tf.Tensor] | undefined;
  return {
    apply(x: tf.Tensor, training: boolean): tf.Tensor {
      if (!training) return tf.add(tf.mul(tf.div(tf.sub(x, rm), tf.sqrt(tf.add(rv, eps))), g), b);
      const { mean, variance } = tf.moments(x, 0);
      if (pending) tf.dispose(pending);
      pending = [tf.keep(tf.clone(mean)), tf.keep(tf.clone(variance))];
      return tf.add(tf.mul(tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, eps))), g), b);
    },
    /** Folds the last training forward pass's batch statistics into the running averages (no-op if none pending). */
    commit(): void {
      if (!pending) return;
      const [m, v] = pending;
      tf.tidy(() => {
        rm.assign(tf.add(tf.mul(rm, 0.9), tf.mul(m, 0.1)));
        rv.assign(tf.add(tf.mul(rv, 0.9), tf.mul(v, 0.1)));
      });
      tf.dispose(pending);
      pending = undefined;
    },
  };
}

/**
 * Input projection of every time step in one matMul, split into per-step `[B, G]` tensors. The input is made
 * time-major first (`[T, B, F]`) so that each step is a contiguous block: unstacking along a middle axis is the slow
 * path of tfjs-backend-wasm's Unpack kernel (measured: 70 % of an LSTM training step at T = 60).
 */
function timeMajorProjection(x: tf.Tensor3D, w: tf.Tensor, b: tf.Tensor, inDim: number, outDim: number): tf.Tensor[] {
  const [B, T] = x.shape;
  const xt = tf.reshape(tf.transpose(x, [1, 0, 2]), [T * B, inDim]);
  const proj = tf.reshape(tf.add(tf.matMul(xt, w as tf.Tensor2D), b), [T, B, outDim]);
  return tf.unstack(proj, 0);
}

/**
 * A recurrent layer run as candor's forward and backward kernels (kernels/blas_kernels.ts): the forward kernel takes
 * `{ x, wx, wh, b }` and returns the layer's output followed by what its backward pass needs, in the order `saved`
 * names them; the backward kernel takes `dy`, those tensors by name and the two weights, and returns
 * `[dx, dWx, dWh, db]`.
 */
function fusedRecurrent(
  forward: string,
  backward: string,
  saved: readonly string[],
  forwardAttrs: Record<string, boolean>,
  backwardAttrs: Record<string, boolean>,
) {
  return tf.customGrad((...args: unknown[]) => {
    const [x, wx, wh, b, save] = args as [tf.Tensor3D, tf.Tensor2D, tf.Tensor2D, tf.Tensor1D, tf.GradSaveFunc];
    const [value, ...kept] = tf.engine().runKernel(forward, { x, wx, wh, b }, forwardAttrs) as tf.Tensor[];
    save([...kept, wx, wh]);
    return {
      value,
      gradFunc: (dy: tf.Tensor, tensors: tf.Tensor[]) => {
        const inputs: Record<string, tf.Tensor> = { dy, wx: tensors[saved.length], wh: tensors[saved.length + 1] };
        saved.forEach((name, i) => inputs[name] = tensors[i]);
        return tf.engine().runKernel(backward, inputs, backwardAttrs) as tf.Tensor[];
      },
    };
  });
}

/**
 * LSTM over `[B, T, F]` inputs (PyTorch gate order i, f, g, o; forget-gate bias initialized to 1). Returns all hidden
 * states `[B, T, H]` when `sequences` is true, else the last `[B, H]`.
 *
 * Same function as {@link lstmAutodiff}, with a hand-written backward pass (`tf.customGrad`): autodiff through 60
 * unrolled steps issues ~35 small kernels and three matMuls per step, and sums 60 separate weight gradients. Here the
 * backward loop only carries `dh`, `dc` (one `[B, 4H] × [4H, H]` matMul per step against `Whᵀ` transposed once), and
 * the weight gradients are single large matMuls over all steps: `dWh = H_prevᵀ·DZ`, `dWx = Xᵀ·DZ`, `db = ΣDZ`.
 * tests/models/nn/backend_test.ts checks it against the autodiff version. `inputGradient: false` (first layer on raw
 * data) returns a zero input gradient instead of computing it.
 */
export function lstm(
  p: ParamStore,
  name: string,
  inDim: number,
  hidden: number,
  opts: { inputGradient?: boolean } = {},
) {
  const H = hidden;
  // When the input is data (the first layer), its gradient is never used: skip the [T·B, 4H] × [4H, F] matMul.
  const inputGradient = opts.inputGradient ?? true;
  const wx = p.add(`${name}/kernel`, [inDim, 4 * H], { kind: "glorot", fanIn: inDim, fanOut: 4 * H });
  const wh = p.add(`${name}/recurrent_kernel`, [H, 4 * H], { kind: "glorot", fanIn: H, fanOut: 4 * H });
  const bias = new Float32Array(4 * H);
  bias.fill(1, H, 2 * H);
  const b = p.add(`${name}/bias`, [4 * H], { kind: "zeros" });
  b.assign(tf.tensor1d(bias));
  // 1 on the sigmoid gates (i, f, o), 0 on the tanh gate g. Made per call from host values: a tensor kept across
  // calls would stay on the backend that made it (a GPU), unreadable when prediction runs on the cpu backend.
  const sigMaskValues = Float32Array.from({ length: 4 * H }, (_, k) => (k >= 2 * H && k < 3 * H ? 0 : 1));

  const build = (sequences: boolean) =>
    tf.customGrad((...args: unknown[]) => {
      const [x, wxT, whT, bT, save] = args as [tf.Tensor3D, tf.Tensor2D, tf.Tensor2D, tf.Tensor1D, tf.GradSaveFunc];
      const [B, T] = x.shape;
      const sigMask = tf.tensor1d(sigMaskValues);
      // σ on i, f, o and tanh on g from one sigmoid, tanh(u) = 2σ(2u) − 1: the g columns of the weights are doubled
      // once per call instead of scaling z at every step (the backward pass works with the unscaled z).
      const scale = tf.sub(2, sigMask), offset = tf.sub(sigMask, 1);
      const wxS = tf.mul(wxT, scale), whS = tf.mul(whT, scale), bS = tf.mul(bT, scale);
      const xt = tf.reshape(tf.transpose(x, [1, 0, 2]), [T * B, inDim]);
      const steps = tf.unstack(tf.reshape(tf.add(tf.matMul(xt, wxS), bS), [T, B, 4 * H]), 0);
      let h: tf.Tensor = tf.zeros([B, H]);
      let c: tf.Tensor = tf.zeros([B, H]);
      const gates: tf.Tensor[] = [], cs: tf.Tensor[] = [], hs: tf.Tensor[] = [];
      for (let t = 0; t < T; t++) {
        const a = tf.add(tf.mul(tf.sigmoid(tf.add(steps[t], tf.matMul(h as tf.Tensor2D, whS))), scale), offset);
        const [i, f, g, o] = tf.split(a, 4, 1);
        c = tf.add(tf.mul(f, c), tf.mul(i, g));
        h = tf.mul(o, tf.tanh(c));
        gates.push(a);
        cs.push(c);
        hs.push(h);
      }
      const A = tf.stack(gates), C = tf.stack(cs), Hs = tf.stack(hs);
      save([xt, A, C, Hs, wxT, whT]);
      const value = sequences ? tf.transpose(Hs, [1, 0, 2]) : h;
      return {
        value,
        gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
          const [xs, As, Cs, Hsv, wxU, whU] = saved;
          const whTr = tf.transpose(whU);
          const mask = tf.tensor1d(sigMaskValues);
          // Everything that does not depend on the backward recursion is computed for all steps at once.
          const [Ia, Fa, Ga, Oa] = tf.split(As, 4, 2);
          const tanhC = tf.tanh(Cs);
          const cPrevAll = tf.concat([tf.zeros([1, B, H]), tf.slice(Cs, [0, 0, 0], [T - 1, B, H])], 0);
          // dA/dz: a(1 − a) on σ gates, 1 − a² on the tanh gate.
          const deriv = tf.add(
            tf.mul(mask, tf.mul(As, tf.sub(1, As))),
            tf.mul(tf.sub(1, mask), tf.sub(1, tf.square(As))),
          );
          const oDtanh = tf.mul(Oa, tf.sub(1, tf.square(tanhC)));
          // dz = [dc, dc, dc, dh] ⊙ [g, c_prev, i, tanh(c)] ⊙ dA/dz; the last two factors are known for all steps.
          const mult = tf.mul(tf.concat([Ga, cPrevAll, Ia, tanhC], 2), deriv);
          const multStep = tf.unstack(mult, 0), fStep = tf.unstack(Fa, 0), odStep = tf.unstack(oDtanh, 0);
          const dyT = sequences ? tf.unstack(tf.transpose(dy, [1, 0, 2]), 0) : undefined;
          let dh: tf.Tensor = sequences ? tf.zeros([B, H]) : dy;
          let dc: tf.Tensor = tf.zeros([B, H]);
          const dzs: tf.Tensor[] = new Array(T);
          for (let t = T - 1; t >= 0; t--) {
            if (dyT) dh = tf.add(dh, dyT[t]);
            dc = tf.add(dc, tf.mul(dh, odStep[t]));
            const dz = tf.mul(tf.concat([dc, dc, dc, dh], 1), multStep[t]);
            dzs[t] = dz;
            dc = tf.mul(dc, fStep[t]);
            dh = tf.matMul(dz as tf.Tensor2D, whTr as tf.Tensor2D);
          }
          const DZ = tf.reshape(tf.stack(dzs), [T * B, 4 * H]);
          const hPrev = tf.reshape(tf.concat([tf.zeros([1, B, H]), tf.slice(Hsv, [0, 0, 0], [T - 1, B, H])], 0), [
            T * B,
            H,
          ]);
          const dWh = tf.matMul(hPrev as tf.Tensor2D, DZ as tf.Tensor2D, true, false);
          const dWx = tf.matMul(xs as tf.Tensor2D, DZ as tf.Tensor2D, true, false);
          const db = tf.sum(DZ, 0);
          const dX = !inputGradient ? tf.zerosLike(x) : tf.transpose(
            tf.reshape(tf.matMul(DZ as tf.Tensor2D, wxU as tf.Tensor2D, false, true), [T, B, inDim]),
            [
              1,
              0,
              2,
            ],
          );
          return [dX, dWx, dWh, db];
        },
      };
    });
  // The same layer as two kernels (wasm with OpenBLAS: kernels/blas_kernels.ts), forward and backward through time.
  const buildFused = (sequences: boolean) =>
    fusedRecurrent(
      CANDOR_KERNELS.lstmForward,
      CANDOR_KERNELS.lstmBackward,
      ["gates", "cells", "tanhc", "hidden", "xt"],
      { sequences },
      { sequences, inputGradient },
    );
  const ops = [build(false), build(true)];
  const fused = [buildFused(false), buildFused(true)];
  return (x: tf.Tensor3D, sequences = false): tf.Tensor =>
    (hasCandorKernel(CANDOR_KERNELS.lstmForward) ? fused : ops)[sequences ? 1 : 0](x, wx, wh, b);
}

/**
 * Reference LSTM differentiated by tfjs's autodiff (one tape entry per op per step); {@link lstm} must match it. Kept
 * for the gradient tests and as the readable definition. LSTM over `[B, T, F]` inputs (PyTorch gate order i, f, g, o; forget-gate bias initialized to 1). Returns all hidden
 * states `[B, T, H]` when `sequences` is true, else the last `[B, H]`.
 */
export function lstmAutodiff(p: ParamStore, name: string, inDim: number, hidden: number) {
  const wx = p.add(`${name}/kernel`, [inDim, 4 * hidden], { kind: "glorot", fanIn: inDim, fanOut: 4 * hidden });
  const wh = p.add(`${name}/recurrent_kernel`, [hidden, 4 * hidden], {
    kind: "glorot",
    fanIn: hidden,
    fanOut: 4 * hidden,
  });
  const bias = new Float32Array(4 * hidden);
  bias.fill(1, hidden, 2 * hidden);
  const b = p.add(`${name}/bias`, [4 * hidden], { kind: "zeros" });
  b.assign(tf.tensor1d(bias));
  return (x: tf.Tensor3D, sequences = false): tf.Tensor => {
    const steps = timeMajorProjection(x, wx, b, inDim, 4 * hidden);
    const [B, T] = x.shape;
    let h: tf.Tensor = tf.zeros([B, hidden]);
    let c: tf.Tensor = tf.zeros([B, hidden]);
    const hs: tf.Tensor[] = [];
    for (let t = 0; t < T; t++) {
      const z = tf.add(steps[t], tf.matMul(h as tf.Tensor2D, wh));
      const [i, f, g, o] = tf.split(z, 4, 1);
      c = tf.add(tf.mul(tf.sigmoid(f), c), tf.mul(tf.sigmoid(i), tf.tanh(g)));
      h = tf.mul(tf.sigmoid(o), tf.tanh(c));
      if (sequences) hs.push(h);
    }
    return sequences ? tf.stack(hs, 1) : h;
  };
}

/**
 * sLSTM cell of xLSTM (Beck et al., 2024) over `[B, T, F]`, returning `[B, T, H]`. Exponential input gate and
 * log-space forget gate `log f = log σ(f̃)`, with normalizer state n and stabilizer m:
 * `m_t = max(log f_t + m_{t−1}, ĩ_t)`, `i' = exp(ĩ_t − m_t)`, `f' = exp(log f_t + m_{t−1} − m_t)`,
 * `c_t = f'·c_{t−1} + i'·z_t`, `n_t = f'·n_{t−1} + i'`, `h_t = o_t·c_t/n_t`. The stabilizer cancels exactly in
 * c/n, so it changes no value, only keeps exp() finite.
 */
export function slstm(p: ParamStore, name: string, inDim: number, hidden: number) {
  const wx = p.add(`${name}/kernel`, [inDim, 4 * hidden], { kind: "glorot", fanIn: inDim, fanOut: 4 * hidden });
  const wh = p.add(`${name}/recurrent_kernel`, [hidden, 4 * hidden], {
    kind: "glorot",
    fanIn: hidden,
    fanOut: 4 * hidden,
  });
  const b = p.add(`${name}/bias`, [4 * hidden], { kind: "zeros" });
  // On wasm with OpenBLAS: the whole layer as two kernels, forward and backward through time (kernels/blas_kernels.ts;
  // the backward pass holds the stabilizer constant, which changes no gradient since h does not depend on it).
  const fused = fusedRecurrent(
    CANDOR_KERNELS.slstmForward,
    CANDOR_KERNELS.slstmBackward,
    ["gates", "cells", "norms", "sf", "hidden", "xt"],
    {},
    {},
  );
  return (x: tf.Tensor3D): tf.Tensor => {
    if (hasCandorKernel(CANDOR_KERNELS.slstmForward)) return fused(x, wx, wh, b);
    const steps = timeMajorProjection(x, wx, b, inDim, 4 * hidden);
    const [B, T] = x.shape;
    let h: tf.Tensor = tf.zeros([B, hidden]);
    let c: tf.Tensor = tf.zeros([B, hidden]);
    let n: tf.Tensor = tf.zeros([B, hidden]);
    let m: tf.Tensor = tf.zeros([B, hidden]);
    const hs: tf.Tensor[] = [];
    for (let t = 0; t < T; t++) {
      const zAll = tf.add(steps[t], tf.matMul(h as tf.Tensor2D, wh));
      const [iT, fT, zT, oT] = tf.split(zAll, 4, 1);
      const logF = tf.neg(tf.softplus(tf.neg(fT)));
      const mNew = t === 0 ? iT : tf.maximum(tf.add(logF, m), iT);
      const iP = tf.exp(tf.sub(iT, mNew));
      const fP = tf.exp(tf.sub(tf.add(logF, m), mNew));
      c = tf.add(tf.mul(fP, c), tf.mul(iP, tf.tanh(zT)));
      n = tf.add(tf.mul(fP, n), iP);
      m = mNew;
      h = tf.mul(tf.sigmoid(oT), tf.div(c, n));
      hs.push(h);
    }
    return tf.stack(hs, 1);
  };
}

/** Multi-head self-attention over `[B, T, D]` (all positions are past observations, so no mask is needed). */
export function selfAttention(p: ParamStore, name: string, dim: number, heads: number) {
  const dh = Math.floor(dim / heads);
  const q = dense(p, `${name}/query`, dim, dh * heads);
  const k = dense(p, `${name}/key`, dim, dh * heads);
  const v = dense(p, `${name}/value`, dim, dh * heads);
  const out = dense(p, `${name}/output`, dh * heads, dim);
  return (x: tf.Tensor3D): tf.Tensor => {
    const [B, T] = x.shape;
    const split = (t: tf.Tensor) => tf.transpose(tf.reshape(t, [B, T, heads, dh]), [0, 2, 1, 3]);
    const qh = split(q(x)), kh = split(k(x)), vh = split(v(x));
    const scores = tf.div(tf.matMul(qh as tf.Tensor4D, kh as tf.Tensor4D, false, true), Math.sqrt(dh));
    const att = tf.matMul(tf.softmax(scores), vh as tf.Tensor4D);
    return out(tf.reshape(tf.transpose(att, [0, 2, 1, 3]), [B, T, dh * heads]));
  };
}
