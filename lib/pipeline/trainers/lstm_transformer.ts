/**
 * `lstm-transformer`: LSTM → Pre-LN Transformer blocks → zero-initialized head (lib/models/nn/lstm_transformer.ts) on
 * per-symbol windows. For regression targets the auxiliary heads (magnitude, sign, volatility) share the trunk unless
 * `multitask: false`; classification targets use the main head only.
 *
 * @module
 */

import { z } from "zod";
import { ConfigError } from "../../errors.ts";
import { flag, integer, nonNegative } from "../schema.ts";
import type { FoldTrainer } from "./contract.ts";
import { classifierSettings, fitNeural, loadNeural, neuralBackend, neuralFitted, neuralSettings } from "./neural.ts";

const settings = z.strictObject({
  timesteps: integer().default(10).describe("window length in trading days"),
  units: integer().default(16).describe("LSTM units = model width"),
  blocks: integer().default(1).describe("Transformer blocks (Pre-LN)"),
  heads: integer().default(2).describe("attention heads (must divide units)"),
  ffDim: integer().optional().describe("feed-forward width (default 2·units)"),
  multitask: flag().default(true).describe("regression: train the auxiliary heads that are switched on"),
  magnitudeHead: flag().default(true).describe("auxiliary head predicting |y|"),
  signHead: flag().default(true).describe("auxiliary head predicting 1[y > 0]"),
  volatilityHead: flag().default(false).describe("auxiliary head predicting y²"),
  auxWeight: nonNegative().default(0.1).describe("weight of each auxiliary loss"),
  ...neuralSettings({ epochs: 10, learningRate: 1e-3, patience: 3 }),
  ...classifierSettings,
}).refine((s) => s.units % s.heads === 0, { error: "heads must divide units", path: ["heads"] });

/** Resolved `lstm-transformer` settings. */
export type LSTMTransformerSettings = z.output<typeof settings>;

/** The `lstm-transformer` kind. */
export const lstmTransformerTrainer: FoldTrainer<LSTMTransformerSettings> = {
  kind: "lstm-transformer",
  summary: "LSTM + Pre-LN Transformer on per-symbol windows (multitask heads for regression)",
  tasks: ["binary", "multiclass", "regression"],
  settings,
  fitted: () => neuralFitted(),
  backend: (s) => neuralBackend(s),
  fit: (input) => {
    const s = input.entry.settings;
    if (s.units % s.heads !== 0) throw new ConfigError(`heads (${s.heads}) must divide units (${s.units})`);
    return fitNeural(
      input,
      async (o) =>
        new (await import("../../models/nn/lstm_transformer.ts")).LSTMTransformerModel({
          ...o,
          timesteps: s.timesteps,
          units: s.units,
          blocks: s.blocks,
          heads: s.heads,
          ...(s.ffDim === undefined ? {} : { ffDim: s.ffDim }),
          multitask: s.multitask,
          magnitudeHead: s.magnitudeHead,
          signHead: s.signHead,
          volatilityHead: s.volatilityHead,
          auxWeight: s.auxWeight,
        }),
      { timesteps: s.timesteps },
    );
  },
  load: (dir) =>
    loadNeural(
      dir,
      async (p) => await (await import("../../models/nn/lstm_transformer.ts")).LSTMTransformerModel.load(p),
    ),
};
