/**
 * Loss functions for the training loop. Each returns a {@link LossResult}: the scalar to minimize, its named
 * components and the weight each component carries in the scalar. The loop logs the components and their weights
 * separately (so a penalty that dominates the data term is visible, see the loss-balance monitor in lib/diagnostics,
 * which judges the weighted terms `weight · component`).
 *
 * Conventions: `pred` is the model output, shape [B] (regression value or binary logit) or [B, K] (class logits);
 * labels are class indices 0..K−1 (or 0/1) as floats; optional per-sample weights `w` are normalized by their sum.
 * Everything derived from labels (masks, signs, inverse-frequency weights) is computed off the gradient tape from data,
 * never by comparing predictions (tfjs has no gradient through comparisons).
 *
 * @module
 */

import { tf } from "./tfjs.ts";
import { ConfigError } from "../errors.ts";

/**
 * The scalar loss, its named components and their weights: `total = Σ_k weights[k] · components[k]` (a weight absent
 * from `weights` is 1).
 *
 * A component is logged as the loss chooses to make it readable — usually the unweighted term (`mse`, NOTEARS' ‖W‖₁
 * and h(W)), sometimes a term that already includes its multiplier (then its weight is 1). Whatever the choice,
 * `weights` says how much of `total` the component is, so the loss-balance monitor judges `weights[k] · components[k]`
 * and never mistakes an interpretable but lightly weighted penalty for a dominant one.
 */
export interface LossResult {
  /** The scalar that is minimized (and differentiated). */
  total: tf.Scalar;
  /**
   * Named parts of the loss (e.g. `mse`, `direction`), logged separately so a dominating penalty is visible; `total` is
   * their weighted sum with {@link LossResult.weights}.
   */
  components: Record<string, tf.Scalar>;
  /**
   * Each component's multiplier in `total` (plain finite numbers, not tensors: the loop logs them without a read-back);
   * a component missing here has weight 1.
   */
  weights?: Record<string, number>;
}

/** The weight of component `name` in a loss (1 when the loss declares none). */
export function componentWeight(loss: Pick<LossResult, "weights">, name: string): number {
  return loss.weights?.[name] ?? 1;
}

/** Counters a loss may increment (e.g. batches whose targets were all masked). Shared with the training log. */
export interface LossCounters {
  /**
   * Batches whose targets were all masked: their loss is set to 0 with zero gradients (instead of 0/0 = NaN) and
   * counted here.
   */
  noValidTargets: number;
}

function weightedMean(x: tf.Tensor, w?: tf.Tensor): tf.Scalar {
  if (w === undefined) return tf.mean(x) as tf.Scalar;
  return tf.div(tf.sum(tf.mul(x, w)), tf.maximum(tf.sum(w), 1e-12)) as tf.Scalar;
}

/** log σ(x) computed as −softplus(−x) (tfjs's logSigmoid gradient crashes inside unrolled loops). */
export function logSigmoid(x: tf.Tensor): tf.Tensor {
  return tf.neg(tf.softplus(tf.neg(x)));
}

/** Options of {@link crossEntropy}. */
export interface CrossEntropyOptions {
  /** Per-class weights (index = class), e.g. from `classWeights` in lib/metrics; sample weight = classWeights[y]. */
  classWeights?: ArrayLike<number>;
  /** Label smoothing ε: the target distribution is (1 − ε)·onehot + ε/K (K = 2 for binary). */
  labelSmoothing?: number;
  /** Per-sample weights, multiplied with class weights. */
  sampleWeight?: tf.Tensor1D;
}

function labelWeights(labels: tf.Tensor1D, o: CrossEntropyOptions): tf.Tensor1D | undefined {
  let w: tf.Tensor1D | undefined;
  if (o.classWeights !== undefined) {
    w = tf.gather(tf.tensor1d(Array.from(o.classWeights), "float32"), tf.cast(labels, "int32"));
  }
  if (o.sampleWeight !== undefined) w = w === undefined ? o.sampleWeight : tf.mul(w, o.sampleWeight);
  return w;
}

/**
 * Cross-entropy. Binary (`logits` shape [B] or [B, 1]): `ℓ = −[q·log σ(z) + (1 − q)·log σ(−z)]` with smoothed target
 * `q = (1 − ε)·y + ε/2`. Multiclass ([B, K]): `ℓ = −Σ_k q_k·log softmax(z)_k`, `q = (1 − ε)·onehot(y) + ε/K`.
 * Loss = Σ w_i ℓ_i / Σ w_i with `w_i = classWeights[y_i] · sampleWeight_i` (plain mean when neither is given).
 *
 * One fused op with a hand-written gradient, `∂L/∂z_i = w_i / Σw · (p_i − q_i)` (p = σ(z) or softmax(z); Σ_k q_k = 1):
 * the logits (B·K values) are read once and the loss and its gradient computed in JS in float64, instead of the ~25
 * small kernels of log-softmax, one-hot, gather and weighted-mean chains and their autodiff (measured on wasm: ~0.3 ms
 * of a 2.4 ms MLP training step). Labels and sample weights are data: no gradient flows into them (a weight tensor
 * computed from trainable variables would get none). {@link crossEntropyAutodiff} is the same loss written with tfjs
 * ops; tests/training/losses_test.ts checks value and gradient against it.
 */
export function crossEntropy(logits: tf.Tensor, labels: tf.Tensor1D, o: CrossEntropyOptions = {}): LossResult {
  // The fused version reads the logits synchronously, which WebGPU cannot do under Deno: use the op-by-op version.
  if (tf.getBackend() === "webgpu") return crossEntropyAutodiff(logits, labels, o);
  const eps = o.labelSmoothing ?? 0;
  const binary = logits.rank === 1 || (logits.rank === 2 && logits.shape[1] === 1);
  const k = binary ? 1 : logits.shape[1]!;
  const y = labels.dataSync();
  const sw = o.sampleWeight?.dataSync();
  const cw = o.classWeights;
  const n = y.length;
  if (logits.size !== n * k) {
    throw new ConfigError(`crossEntropy: ${n} labels but logits of shape [${logits.shape}]`);
  }
  if (sw !== undefined && sw.length !== n) throw new ConfigError(`crossEntropy: ${n} labels but ${sw.length} weights`);
  const fused = tf.customGrad((...args: unknown[]) => {
    const z = (args[0] as tf.Tensor).dataSync();
    // g holds w_i·(p − q) until the loss is known, then is divided by Σw.
    const g = new Float32Array(n * k);
    let total = 0, wSum = 0;
    for (let i = 0; i < n; i++) {
      const label = y[i];
      const wi = (cw !== undefined ? cw[label] : 1) * (sw !== undefined ? sw[i] : 1);
      wSum += wi;
      let li: number;
      if (binary) {
        const zi = z[i];
        const q = label * (1 - eps) + eps / 2;
        // log σ(z) = −softplus(−z), log σ(−z) = −softplus(z); softplus(x) = max(x, 0) + log1p(e^{−|x|}).
        const sp = Math.log1p(Math.exp(-Math.abs(zi)));
        li = q * (Math.max(-zi, 0) + sp) + (1 - q) * (Math.max(zi, 0) + sp);
        g[i] = wi * (1 / (1 + Math.exp(-zi)) - q);
      } else {
        const row = i * k;
        let max = -Infinity;
        for (let c = 0; c < k; c++) max = Math.max(max, z[row + c]);
        let sumExp = 0;
        for (let c = 0; c < k; c++) sumExp += Math.exp(z[row + c] - max);
        const logZ = max + Math.log(sumExp);
        li = 0;
        for (let c = 0; c < k; c++) {
          const q = (c === label ? 1 - eps : 0) + eps / k;
          li -= q * (z[row + c] - logZ);
          g[row + c] = wi * (Math.exp(z[row + c] - logZ) - q);
        }
      }
      total += wi * li;
    }
    const denom = cw === undefined && sw === undefined ? n : Math.max(wSum, 1e-12);
    for (let j = 0; j < g.length; j++) g[j] /= denom;
    return {
      value: tf.scalar(total / denom),
      gradFunc: (dy: tf.Tensor) => tf.mul(dy, tf.tensor(g, logits.shape)),
    };
  });
  const total = fused(logits) as tf.Scalar;
  return { total, components: { ce: total } };
}

/** {@link crossEntropy} written with tfjs ops and differentiated by autodiff; the fused version must match it. */
export function crossEntropyAutodiff(logits: tf.Tensor, labels: tf.Tensor1D, o: CrossEntropyOptions = {}): LossResult {
  const eps = o.labelSmoothing ?? 0;
  const w = labelWeights(labels, o);
  let per: tf.Tensor;
  if (logits.rank === 1 || (logits.rank === 2 && logits.shape[1] === 1)) {
    const z = tf.reshape(logits, [-1]);
    const q = tf.add(tf.mul(labels, 1 - eps), eps / 2);
    per = tf.neg(tf.add(tf.mul(q, logSigmoid(z)), tf.mul(tf.sub(1, q), logSigmoid(tf.neg(z)))));
  } else {
    const k = logits.shape[1]!;
    const onehot = tf.cast(tf.oneHot(tf.cast(labels, "int32"), k), "float32");
    const q = eps === 0 ? onehot : tf.add(tf.mul(onehot, 1 - eps), eps / k);
    per = tf.neg(tf.sum(tf.mul(q, tf.logSoftmax(logits)), 1));
  }
  const total = weightedMean(per, w);
  return { total, components: { ce: total } };
}

/**
 * Cross-entropy over the rows whose `mask` is 1 (e.g. FLAT days excluded, or padded steps). When every row is masked
 * the loss is exactly 0 (with zero gradients) instead of 0/0 = NaN, and `counters.noValidTargets` is incremented.
 */
export function maskedCrossEntropy(
  logits: tf.Tensor,
  labels: tf.Tensor1D,
  mask: ArrayLike<number>,
  o: CrossEntropyOptions = {},
  counters?: LossCounters,
): LossResult {
  let valid = 0;
  for (let i = 0; i < mask.length; i++) if (mask[i] > 0) valid++;
  if (valid === 0) {
    if (counters !== undefined) counters.noValidTargets++;
    const zero = tf.mul(tf.sum(logits), 0) as tf.Scalar;
    return { total: zero, components: { ce: zero } };
  }
  const m = tf.tensor1d(Float32Array.from(mask, (v) => (v > 0 ? 1 : 0)));
  return crossEntropy(logits, labels, { ...o, sampleWeight: o.sampleWeight ? tf.mul(o.sampleWeight, m) : m });
}

/** Mean squared error: `mean((p − y)²)` (weighted mean with sample weights). */
export function mse(pred: tf.Tensor, y: tf.Tensor, w?: tf.Tensor): LossResult {
  const total = weightedMean(tf.squaredDifference(tf.reshape(pred, [-1]), tf.reshape(y, [-1])), w);
  return { total, components: { mse: total } };
}

function huberPer(pred: tf.Tensor, y: tf.Tensor, delta: number): tf.Tensor {
  const a = tf.abs(tf.sub(tf.reshape(pred, [-1]), tf.reshape(y, [-1])));
  const quad = tf.minimum(a, delta);
  // 0.5·q² + δ·(a − q): quadratic inside |e| ≤ δ, linear outside; differentiable without comparisons.
  return tf.add(tf.mul(0.5, tf.square(quad)), tf.mul(delta, tf.sub(a, quad)));
}

/** Huber loss: `mean(½e²)` for |e| ≤ δ, `mean(δ(|e| − ½δ))` beyond (e = p − y). */
export function huber(pred: tf.Tensor, y: tf.Tensor, delta = 1, w?: tf.Tensor): LossResult {
  const total = weightedMean(huberPer(pred, y, delta), w);
  return { total, components: { huber: total } };
}

function wrongDirection(pred: tf.Tensor, y: tf.Tensor, w?: tf.Tensor): tf.Scalar {
  // max(0, −p·y): zero when prediction and target share a sign, growing with the size of the miss.
  return weightedMean(tf.relu(tf.neg(tf.mul(tf.reshape(pred, [-1]), tf.reshape(y, [-1])))), w);
}

/**
 * Directional MSE: `0.4·mean((p − y)²) + 0.6·mean(max(0, −p·y))`. Components `mse` and `direction` are the unweighted
 * terms (weights 0.4 and 0.6).
 */
export function directionalMse(pred: tf.Tensor, y: tf.Tensor, w?: tf.Tensor): LossResult {
  const m = mse(pred, y, w).total;
  const d = wrongDirection(pred, y, w);
  return {
    total: tf.add(tf.mul(0.4, m), tf.mul(0.6, d)) as tf.Scalar,
    components: { mse: m, direction: d },
    weights: { mse: 0.4, direction: 0.6 },
  };
}

/**
 * Directional Huber: `huber_δ(p, y) + λ·mean(max(0, −p·y))` (default δ = 1, λ = 1). Components `huber` and
 * `direction` are the unweighted terms (weights 1 and λ).
 */
export function directionalHuber(pred: tf.Tensor, y: tf.Tensor, delta = 1, lambda = 1, w?: tf.Tensor): LossResult {
  const h = huber(pred, y, delta, w).total;
  const d = wrongDirection(pred, y, w);
  return {
    total: tf.add(h, tf.mul(lambda, d)) as tf.Scalar,
    components: { huber: h, direction: d },
    weights: { huber: 1, direction: lambda },
  };
}

/**
 * Balanced directional loss for a regression output: `Σ w_i·softplus(−s_i·p_i/τ) / Σ w_i` where `s_i = sign(y_i)`
 * (rows with y = 0 get weight 0) and `w_i = n/(2·n_up)` for up rows, `n/(2·n_down)` for down rows (inverse
 * frequency, computed from the batch's targets), so a model cannot lower the loss by always predicting the majority
 * direction. τ (default 1) sets the scale of p.
 */
export function balancedDirectionalLoss(pred: tf.Tensor, yValues: ArrayLike<number>, tau = 1): LossResult {
  let up = 0, down = 0;
  for (let i = 0; i < yValues.length; i++) {
    if (yValues[i] > 0) up++;
    else if (yValues[i] < 0) down++;
  }
  const n = up + down;
  const s = new Float32Array(yValues.length);
  const w = new Float32Array(yValues.length);
  for (let i = 0; i < yValues.length; i++) {
    if (yValues[i] > 0) [s[i], w[i]] = [1, n / (2 * up)];
    else if (yValues[i] < 0) [s[i], w[i]] = [-1, n / (2 * down)];
  }
  const per = tf.softplus(tf.neg(tf.mul(tf.tensor1d(s), tf.div(tf.reshape(pred, [-1]), tau))));
  const total = n === 0 ? tf.mul(tf.sum(pred), 0) as tf.Scalar : weightedMean(per, tf.tensor1d(w));
  return { total, components: { direction: total } };
}

/** Options of {@link antiCollapse}. */
export interface AntiCollapseOptions {
  /** Minimum prediction std across the batch below which the variance penalty applies. */
  targetStd: number;
  /** Weight of `max(0, targetStd − std(p))²`, default 1. */
  varianceWeight?: number;
  /** Weight of the sign-diversity penalty `mean(tanh(p/targetStd))²`, default 0.1. */
  signWeight?: number;
}

/**
 * Adds anti-collapse penalties to a base loss: `base + α·max(0, σ* − std(p))² + β·mean(tanh(p/σ*))²`. The first term
 * pushes the batch's prediction spread back above σ* (a model predicting a constant has std 0); the second is 0 when
 * predictions are balanced in sign and 1 when they all share one. Components: the base's (with the base's weights),
 * plus the unweighted penalties `variance` (weight α) and `sign` (weight β).
 */
export function antiCollapse(base: LossResult, pred: tf.Tensor, o: AntiCollapseOptions): LossResult {
  const p = tf.reshape(pred, [-1]);
  const { variance } = tf.moments(p);
  const std = tf.sqrt(tf.add(variance, 1e-12));
  const varPen = tf.square(tf.relu(tf.sub(o.targetStd, std))) as tf.Scalar;
  const signPen = tf.square(tf.mean(tf.tanh(tf.div(p, o.targetStd)))) as tf.Scalar;
  const alpha = o.varianceWeight ?? 1, beta = o.signWeight ?? 0.1;
  const total = tf.addN([base.total, tf.mul(alpha, varPen), tf.mul(beta, signPen)]) as tf.Scalar;
  return {
    total,
    components: { ...base.components, variance: varPen, sign: signPen },
    weights: { ...base.weights, variance: alpha, sign: beta },
  };
}
