/**
 * LSTM + Transformer: LSTM(units, all steps) → LayerNorm → N Pre-LN Transformer blocks
 * (`x + MHA(LN(x))`, `x + FFN(LN(x))`) → LayerNorm → last step → zero-initialized output head.
 *
 * The zero-initialized head makes the untrained model predict exactly 0 (the de-meaned mean), so early training
 * cannot lock in a large constant offset. For regression, optional auxiliary heads share the trunk (multitask):
 * magnitude (`|y|`, MSE), sign (`1[y > 0]`, cross-entropy) and volatility (`y²`, MSE), each weighted by `auxWeight`
 * (default 0.1) and logged as its own loss component; `multitask: false` switches them all off.
 *
 * @module
 */

import { tf } from "../../training/tfjs.ts";
import { crossEntropy } from "../../training/losses.ts";
import { dense, layerNorm, lstm, selfAttention } from "./layers.ts";
import { type Network, NeuralModel, type NeuralOptions, readSavedOptions } from "./neural_model.ts";
import type { ParamStore } from "./params.ts";

/** Options of {@link LSTMTransformerModel}. */
export interface LSTMTransformerOptions extends NeuralOptions {
  /**
   * Time steps per sample: each row of X holds `timesteps` observations of `cols / timesteps` features, oldest first.
   */
  timesteps: number;
  /** LSTM units = model width, default 32. */
  units?: number;
  /** Transformer blocks, default 2. */
  blocks?: number;
  /** Attention heads, default 4 (must divide units). */
  heads?: number;
  /** Feed-forward width, default 2·units. */
  ffDim?: number;
  /** Auxiliary heads (regression only): predict the magnitude `|y|` with an MSE head. */
  magnitudeHead?: boolean;
  /** Predict the sign `1[y > 0]` with a cross-entropy head. */
  signHead?: boolean;
  /** Predict `y²` with an MSE head. */
  volatilityHead?: boolean;
  /** Master switch for the auxiliary heads (default true: the heads that are enabled are used). */
  multitask?: boolean;
  /** Weight of each auxiliary head's loss in the total (default 0.1); each is logged as its own component. */
  auxWeight?: number;
}

/** LSTM + Transformer classifier or regressor. */
export class LSTMTransformerModel extends NeuralModel {
  /** Model tag, `"lstm-transformer"`, stored with saved models and run summaries. */
  readonly kind = "lstm-transformer";
  /** The options as given (task defaults to `"regression"`). */
  declare readonly options: LSTMTransformerOptions;

  /** Regression unless `task` says otherwise. */
  constructor(options: LSTMTransformerOptions) {
    super({ task: "regression", ...options });
  }

  /** Width (default 32), blocks (2), heads (4) and feed-forward width (2·units), for describe() and save(). */
  protected hyperParameters(): Record<string, unknown> {
    const o = this.options;
    return { units: o.units ?? 32, blocks: o.blocks ?? 2, heads: o.heads ?? 4, ffDim: o.ffDim ?? 2 * (o.units ?? 32) };
  }

  /**
   * LSTM over `s = [timesteps, features]` → LayerNorm → Pre-LN Transformer blocks → LayerNorm → last step →
   * zero-initialized head with `outDim` outputs, plus the enabled auxiliary heads (regression).
   */
  protected buildNetwork(p: ParamStore, s: number[], outDim: number): Network {
    const o = this.options;
    const d = o.units ?? 32;
    const cell = lstm(p, "lstm", s[1], d, { inputGradient: false });
    const lnIn = layerNorm(p, "lstm_norm", d);
    const blocks = Array.from({ length: o.blocks ?? 2 }, (_, i) => ({
      ln1: layerNorm(p, `block${i}/ln1`, d),
      att: selfAttention(p, `block${i}/attention`, d, o.heads ?? 4),
      ln2: layerNorm(p, `block${i}/ln2`, d),
      ff1: dense(p, `block${i}/ff1`, d, o.ffDim ?? 2 * d),
      ff2: dense(p, `block${i}/ff2`, o.ffDim ?? 2 * d, d),
    }));
    const lnOut = layerNorm(p, "final_norm", d);
    const head = dense(p, "head", d, outDim, { zeroInit: true });
    const multitask = this.task === "regression" && o.multitask !== false;
    const aux = {
      magnitude: multitask && o.magnitudeHead ? dense(p, "magnitude_head", d, 1, { zeroInit: true }) : undefined,
      sign: multitask && o.signHead ? dense(p, "sign_head", d, 1, { zeroInit: true }) : undefined,
      volatility: multitask && o.volatilityHead ? dense(p, "volatility_head", d, 1, { zeroInit: true }) : undefined,
    };
    let lastTrunk: tf.Tensor | undefined;
    const trunk = (x: tf.Tensor): tf.Tensor => {
      let h = lnIn(cell(x as tf.Tensor3D, true));
      for (const b of blocks) {
        h = tf.add(h, b.att(b.ln1(h) as tf.Tensor3D));
        h = tf.add(h, b.ff2(tf.relu(b.ff1(b.ln2(h)))));
      }
      const T = h.shape[1]!;
      const last = tf.reshape(tf.slice(h, [0, T - 1, 0], [-1, 1, -1]), [-1, d]);
      return lnOut(last);
    };
    const w = o.auxWeight ?? 0.1;
    return {
      forward: (x) => {
        lastTrunk = trunk(x);
        return head(lastTrunk);
      },
      auxLoss: (_x, batch) => {
        const out: Record<string, tf.Scalar> = {};
        if (lastTrunk === undefined) return out;
        const y = tf.reshape(batch.y, [-1]);
        if (aux.magnitude) {
          out.magnitude = tf.mul(
            w,
            tf.mean(tf.squaredDifference(tf.reshape(aux.magnitude(lastTrunk), [-1]), tf.abs(y))),
          );
        }
        if (aux.sign) {
          const up = tf.cast(tf.greater(y, 0), "float32") as tf.Tensor1D; // labels only: off the gradient path
          out.sign = tf.mul(w, crossEntropy(tf.reshape(aux.sign(lastTrunk), [-1]), up).total) as tf.Scalar;
        }
        if (aux.volatility) {
          out.volatility = tf.mul(
            w,
            tf.mean(tf.squaredDifference(tf.reshape(aux.volatility(lastTrunk), [-1]), tf.square(y))),
          ) as tf.Scalar;
        }
        return out;
      },
    };
  }

  /**
   * Auxiliary heads combined with sample weights block data-parallel training (their unweighted means and the weighted
   * main loss have no common shard weight); otherwise the base class decides.
   */
  protected override dataParallelBlocker(weighted: boolean): string | undefined {
    const o = this.options;
    const aux = this.task === "regression" && o.multitask !== false &&
      (o.magnitudeHead || o.signHead || o.volatilityHead);
    // The auxiliary heads' losses are plain means; with sample weights the main loss is not, so no single shard
    // weight makes the sum of shard gradients equal the batch's.
    if (aux && weighted) return "auxiliary-head losses are unweighted means while the main loss uses sample weights";
    return super.dataParallelBlocker(weighted);
  }

  /** Loads a model saved with `save(path)`. */
  static async load(path: string): Promise<LSTMTransformerModel> {
    const m = new LSTMTransformerModel(readSavedOptions(path) as unknown as LSTMTransformerOptions);
    await m.loadWeights(path);
    return m;
  }
}
