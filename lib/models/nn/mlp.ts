/**
 * Multi-layer perceptron on flat feature rows: Dense → ReLU (× hidden layers) → Dense head.
 *
 * @module
 */

import { dense } from "./layers.ts";
import { type Network, NeuralModel, type NeuralOptions, readSavedOptions } from "./neural_model.ts";
import type { ParamStore } from "./params.ts";

/** Options of {@link MLPModel}. */
export interface MLPOptions extends NeuralOptions {
  /** Hidden layer widths, default [64, 64]. */
  hidden?: number[];
}

/** MLP classifier or regressor implementing the Model contract. */
export class MLPModel extends NeuralModel {
  /** Model tag, `"mlp"`, stored with saved models and run summaries. */
  readonly kind = "mlp";
  /** The options as given (task defaults to `"binary"`). */
  declare readonly options: MLPOptions;

  /** Binary classifier unless `task` says otherwise. */
  constructor(options: MLPOptions = {}) {
    super(options);
  }

  /** Hidden layer widths (default [64, 64]), for describe() and save(). */
  protected hyperParameters(): Record<string, unknown> {
    return { hidden: this.options.hidden ?? [64, 64] };
  }

  /**
   * Dense + ReLU layers of the `hidden` widths on `sampleShape = [features]`, then a linear Dense head with `outDim`
   * outputs.
   */
  protected buildNetwork(p: ParamStore, sampleShape: number[], outDim: number): Network {
    const widths = [sampleShape[0], ...(this.options.hidden ?? [64, 64])];
    // The first layer's input is data: its gradient is never used.
    const layers = widths.slice(1).map((w, i) =>
      dense(p, `dense${i}`, widths[i], w, { activation: "relu", inputGradient: i > 0 })
    );
    const head = dense(p, "head", widths[widths.length - 1], outDim);
    return {
      forward: (x) => {
        let h = x;
        for (const l of layers) h = l(h);
        return head(h);
      },
    };
  }

  /** Loads a model saved with `save(path)`. */
  static async load(path: string): Promise<MLPModel> {
    const m = new MLPModel(readSavedOptions(path) as MLPOptions);
    await m.loadWeights(path);
    return m;
  }
}
