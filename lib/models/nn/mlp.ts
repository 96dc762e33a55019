/**
 * Multi-layer perceptron on flat feature rows: Dense → ReLU (× hidden layers) → Dense head.
 *
 * @module
 */

import { denseStack } from "./layers.ts";
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
    const hidden = this.options.hidden ?? [64, 64];
    const stack = denseStack(p, sampleShape[0], [
      ...hidden.map((units, i) => ({ name: `dense${i}`, units, relu: true })),
      { name: "head", units: outDim, relu: false },
    ], { inputGradient: false }); // the first layer's input is data: its gradient is never used
    return { forward: (x) => stack(x) };
  }

  /** Loads a model saved with `save(path)`. */
  static async load(path: string): Promise<MLPModel> {
    const m = new MLPModel(readSavedOptions(path) as MLPOptions);
    await m.loadWeights(path);
    return m;
  }
}
