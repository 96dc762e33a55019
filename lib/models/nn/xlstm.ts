/**
 * xLSTM-TS: a linear embedding of each time step → N residual pre-LN sLSTM blocks (`x + sLSTM(LN(x))`, exponential
 * gating with normalizer and stabilizer states, see `slstm` in layers.ts) → LayerNorm → last step → head.
 *
 * Optional wavelet denoising (`denoise: { wavelet, level }`) applies `denoiseBlock` from lib/features/wavelet.ts
 * (soft universal thresholding of the detail coefficients) to each feature inside each input window. It is causal by
 * construction: a window only holds observations up to its own date and is denoised on its own — never the whole
 * series at once, which would leak future values into past inputs.
 *
 * @module
 */

import { tf } from "../../training/tfjs.ts";
import { denoiseBlock, type WaveletDenoiseOptions } from "../../features/wavelet.ts";
import type { Matrix } from "../../data/matrix.ts";
import { dense, layerNorm, slstm } from "./layers.ts";
import { type Network, NeuralModel, type NeuralOptions, readSavedOptions } from "./neural_model.ts";
import type { ParamStore } from "./params.ts";

/** Options of {@link XLSTMModel}. */
export interface XLSTMOptions extends NeuralOptions {
  /**
   * Time steps per sample: each row of X holds `timesteps` observations of `cols / timesteps` features, oldest first.
   */
  timesteps: number;
  /** Embedding and hidden width, default 32. */
  units?: number;
  /** sLSTM blocks, default 2. */
  blocks?: number;
  /** Causal per-window wavelet denoising, off by default. */
  denoise?: WaveletDenoiseOptions;
}

/** xLSTM-TS classifier or regressor. */
export class XLSTMModel extends NeuralModel {
  /** Model tag, `"xlstm-ts"`, stored with saved models and run summaries. */
  readonly kind = "xlstm-ts";
  /** The options as given (task defaults to `"regression"`). */
  declare readonly options: XLSTMOptions;

  /** Regression unless `task` says otherwise. */
  constructor(options: XLSTMOptions) {
    super({ task: "regression", ...options });
  }

  /** Width (default 32), sLSTM blocks (2) and the denoising settings (null when off), for describe() and save(). */
  protected hyperParameters(): Record<string, unknown> {
    return { units: this.options.units ?? 32, blocks: this.options.blocks ?? 2, denoise: this.options.denoise ?? null };
  }

  /**
   * With `denoise`: wavelet-denoises each feature's series within each row's own window (causal: no value from after
   * the window's last date enters it); otherwise returns X unchanged.
   */
  protected override transformInputs(X: Matrix): Matrix {
    const dn = this.options.denoise;
    // A saved model records "no denoising" as null (JSON has no undefined): both mean off.
    if (dn === undefined || dn === null) return X;
    const T = this.options.timesteps;
    const F = X.cols / T;
    const out = new Float32Array(X.data.length);
    const series = new Float64Array(T);
    for (let r = 0; r < X.rows; r++) {
      const base = r * X.cols;
      for (let f = 0; f < F; f++) {
        for (let t = 0; t < T; t++) series[t] = X.data[base + t * F + f];
        const clean = denoiseBlock(Array.from(series), dn);
        for (let t = 0; t < T; t++) out[base + t * F + f] = clean[t];
      }
    }
    return { ...X, data: out };
  }

  /**
   * Per-step linear embedding of `s = [timesteps, features]` → residual pre-LN sLSTM blocks → LayerNorm → last step →
   * head with `outDim` outputs (zero-initialized for regression).
   */
  protected buildNetwork(p: ParamStore, s: number[], outDim: number): Network {
    const d = this.options.units ?? 32;
    const embed = dense(p, "embed", s[1], d);
    const blocks = Array.from({ length: this.options.blocks ?? 2 }, (_, i) => ({
      ln: layerNorm(p, `block${i}/ln`, d),
      cell: slstm(p, `block${i}/slstm`, d, d),
    }));
    const lnOut = layerNorm(p, "final_norm", d);
    const head = dense(p, "head", d, outDim, { zeroInit: this.task === "regression" });
    return {
      forward: (x) => {
        let h = embed(x);
        for (const b of blocks) h = tf.add(h, b.cell(b.ln(h) as tf.Tensor3D));
        const T = h.shape[1]!;
        return head(lnOut(tf.reshape(tf.slice(h, [0, T - 1, 0], [-1, 1, -1]), [-1, d])));
      },
    };
  }

  /** Loads a model saved with `save(path)`. */
  static async load(path: string): Promise<XLSTMModel> {
    const m = new XLSTMModel(readSavedOptions(path) as unknown as XLSTMOptions);
    await m.loadWeights(path);
    return m;
  }
}
