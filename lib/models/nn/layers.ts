/**
 * Differentiable building blocks written with tfjs-core ops (no tfjs-layers): dense, LSTM, sLSTM (xLSTM), layer norm,
 * batch norm, multi-head self-attention. Each block creates its weights in a {@link ParamStore} and returns a
 * function of tensors, so the training loop owns the tape and the optimizer.
 *
 * Measured choices (DESIGN.md §5): LSTM gates use the logistic sigmoid (tfjs's hardSigmoid default differs from
 * PyTorch); the input projection of all time steps is one matMul `[B·T, F] × [F, 4H]`; time steps are split with
 * `tf.unstack` (no stridedSlice on the tape); log σ is `−softplus(−x)`.
 *
 * @module
 */

import * as tf from "@tensorflow/tfjs-core";
import type { ParamStore } from "./params.ts";

/** `y = x·W + b` over the last axis; `zeroInit` starts W and b at 0 (a head that initially predicts 0). */
export function dense(
  p: ParamStore,
  name: string,
  inDim: number,
  outDim: number,
  opts: { zeroInit?: boolean; bias?: boolean } = {},
): (x: tf.Tensor) => tf.Tensor {
  const w = p.add(
    `${name}/kernel`,
    [inDim, outDim],
    opts.zeroInit ? { kind: "zeros" } : {
      kind: "glorot",
      fanIn: inDim,
      fanOut: outDim,
    },
  );
  const b = opts.bias === false ? undefined : p.add(`${name}/bias`, [outDim], { kind: "zeros" });
  return (x) => {
    const shape = x.shape;
    const flat = x.rank === 2 ? x : tf.reshape(x, [-1, inDim]);
    let y = tf.matMul(flat as tf.Tensor2D, w as tf.Tensor2D);
    if (b !== undefined) y = tf.add(y, b);
    return x.rank === 2 ? y : tf.reshape(y, [...shape.slice(0, -1), outDim]);
  };
}

/** Layer normalization over the last axis with learned scale and shift. */
export function layerNorm(p: ParamStore, name: string, dim: number, eps = 1e-5): (x: tf.Tensor) => tf.Tensor {
  const g = p.add(`${name}/gamma`, [dim], { kind: "ones" });
  const b = p.add(`${name}/beta`, [dim], { kind: "zeros" });
  return (x) => {
    const { mean, variance } = tf.moments(x, -1, true);
    return tf.add(tf.mul(tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, eps))), g), b);
  };
}

/**
 * Batch normalization over the batch axis of `[B, D]` inputs. Training uses batch statistics and queues a running
 * average update (momentum 0.1, PyTorch convention) applied by `commit()` after the optimizer step; inference uses the
 * running statistics.
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
    /** Folds the last training batch's statistics into the running averages. */
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
 * LSTM over `[B, T, F]` inputs (PyTorch gate order i, f, g, o; forget-gate bias initialized to 1). Returns all hidden
 * states `[B, T, H]` when `sequences` is true, else the last `[B, H]`.
 */
export function lstm(p: ParamStore, name: string, inDim: number, hidden: number) {
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
  return (x: tf.Tensor3D): tf.Tensor => {
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
