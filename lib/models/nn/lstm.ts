/**
 * LSTM models on sequence rows (see `slidingWindows`): LSTM(hidden) → [batch norm] → Dense head.
 *
 * - {@link LSTMClassifier}: binary (UP vs not) or 3-class DOWN/FLAT/UP (`task: "multiclass"`, labels 0/1/2),
 *   class-weighted cross-entropy (`classWeights: "balanced"`), seeded Glorot initialization.
 * - {@link LSTMRegressor}: h-day return regression with optional target de-meaning (`demean`) and a zero-initialized
 *   head (`zeroInitHead`), the two usual fixes against a head that only learns the mean — whether they help is
 *   measured by the variance-collapse monitor, not assumed.
 *
 * @module
 */

import type * as tf from "@tensorflow/tfjs-core";
import { batchNorm, dense, lstm } from "./layers.ts";
import { type Network, NeuralModel, type NeuralOptions, readSavedOptions } from "./neural_model.ts";
import type { ParamStore } from "./params.ts";

/** Options of the LSTM models. `timesteps` is required. */
export interface LSTMOptions extends NeuralOptions {
  /**
   * Time steps per sample: each row of X holds `timesteps` observations of `cols / timesteps` features, oldest first.
   */
  timesteps: number;
  /** Hidden units, default 64. */
  units?: number;
  /** Batch normalization of the last hidden state. */
  batchNorm?: boolean;
  /** Start the output head at zero (predicts 0, i.e. the de-meaned target mean, at step 0). */
  zeroInitHead?: boolean;
}

function buildLstm(o: LSTMOptions, p: ParamStore, sampleShape: number[], outDim: number): Network {
  const units = o.units ?? 64;
  const cell = lstm(p, "lstm", sampleShape[1], units, { inputGradient: false });
  const bn = o.batchNorm ? batchNorm(p, "bn", units) : undefined;
  const head = dense(p, "head", units, outDim, { zeroInit: o.zeroInitHead });
  return {
    forward: (x, training) => {
      let h = cell(x as tf.Tensor3D);
      if (bn) h = bn.apply(h, training);
      return head(h);
    },
    afterStep: bn ? () => bn.commit() : undefined,
  };
}

const BATCH_NORM_BLOCKER = "batch normalization normalizes with whole-batch statistics";

/** LSTM direction classifier (binary or DOWN/FLAT/UP). */
export class LSTMClassifier extends NeuralModel {
  /** Model tag, `"lstm-classifier"`, stored with saved models and run summaries. */
  readonly kind = "lstm-classifier";
  /** The options as given (task defaults to `"binary"`). */
  declare readonly options: LSTMOptions;

  /** Binary unless `task` says otherwise (`"multiclass"`: labels 0..numClasses−1). */
  constructor(options: LSTMOptions) {
    super({ task: "binary", ...options });
  }

  /** Hidden units (default 64) and whether batch norm is on, for describe() and save(). */
  protected hyperParameters(): Record<string, unknown> {
    return { units: this.options.units ?? 64, batchNorm: this.options.batchNorm ?? false };
  }

  /**
   * LSTM over `s = [timesteps, features]` → optional batch norm of the last hidden state → Dense head with `k` outputs.
   */
  protected buildNetwork(p: ParamStore, s: number[], k: number): Network {
    return buildLstm(this.options, p, s, k);
  }

  /**
   * Batch norm blocks data-parallel training (its statistics span the whole batch); otherwise the base class decides.
   */
  protected override dataParallelBlocker(weighted: boolean): string | undefined {
    return this.options.batchNorm ? BATCH_NORM_BLOCKER : super.dataParallelBlocker(weighted);
  }

  /** Loads a model saved with `save(path)`. */
  static async load(path: string): Promise<LSTMClassifier> {
    const m = new LSTMClassifier(readSavedOptions(path) as unknown as LSTMOptions);
    await m.loadWeights(path);
    return m;
  }
}

/** LSTM return regressor. */
export class LSTMRegressor extends NeuralModel {
  /** Model tag, `"lstm-regressor"`, stored with saved models and run summaries. */
  readonly kind = "lstm-regressor";
  /** The options as given (task forced to `"regression"`). */
  declare readonly options: LSTMOptions;

  /** Always a regressor: a `task` in the options is overridden with `"regression"`. */
  constructor(options: LSTMOptions) {
    super({ ...options, task: "regression" });
  }

  /** Hidden units (default 64), zero-initialized head and target de-meaning flags, for describe() and save(). */
  protected hyperParameters(): Record<string, unknown> {
    return {
      units: this.options.units ?? 64,
      zeroInitHead: this.options.zeroInitHead ?? false,
      demean: this.options.demean ?? false,
    };
  }

  /**
   * LSTM over `s = [timesteps, features]` → optional batch norm → Dense head (zero-initialized with `zeroInitHead`)
   * with `k` outputs.
   */
  protected buildNetwork(p: ParamStore, s: number[], k: number): Network {
    return buildLstm(this.options, p, s, k);
  }

  /**
   * Batch norm blocks data-parallel training (its statistics span the whole batch); otherwise the base class decides.
   */
  protected override dataParallelBlocker(weighted: boolean): string | undefined {
    return this.options.batchNorm ? BATCH_NORM_BLOCKER : super.dataParallelBlocker(weighted);
  }

  /** Loads a model saved with `save(path)`. */
  static async load(path: string): Promise<LSTMRegressor> {
    const m = new LSTMRegressor(readSavedOptions(path) as unknown as LSTMOptions);
    await m.loadWeights(path);
    return m;
  }
}
