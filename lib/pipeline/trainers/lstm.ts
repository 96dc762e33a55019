/**
 * `lstm`: an LSTM classifier on per-symbol windows of the last `timesteps` standardized feature rows
 * (lib/models/nn/lstm.ts): binary (up / not up) or DOWN/FLAT/UP for a `direction3` target, with class weights
 * (`balanced` or `inverse`) and label smoothing. Rows without `timesteps` days of history for their symbol are
 * dropped from fitting, tail and test alike.
 *
 * @module
 */

import { z } from "zod";
import { flag, integer } from "../schema.ts";
import type { FoldTrainer } from "./contract.ts";
import { classifierSettings, fitNeural, loadNeural, neuralBackend, neuralFitted, neuralSettings } from "./neural.ts";

const settings = z.strictObject({
  timesteps: integer().default(10).describe("window length in trading days"),
  units: integer().default(16).describe("LSTM hidden units"),
  batchNorm: flag().default(false).describe("batch normalization of the last hidden state"),
  ...neuralSettings({ epochs: 10, learningRate: 2e-3, patience: 3 }),
  ...classifierSettings,
});

/** Resolved `lstm` settings. */
export type LSTMSettings = z.output<typeof settings>;

/** The `lstm` kind. */
export const lstmTrainer: FoldTrainer<LSTMSettings> = {
  kind: "lstm",
  summary: "LSTM classifier on per-symbol windows (binary or DOWN/FLAT/UP; class weights, label smoothing)",
  tasks: ["binary", "multiclass"],
  settings,
  fitted: () => neuralFitted(),
  backend: (s) => neuralBackend(s),
  fit: (input) => {
    const s = input.entry.settings;
    return fitNeural(
      input,
      async (o) =>
        new (await import("../../models/nn/lstm.ts")).LSTMClassifier({
          ...o,
          timesteps: s.timesteps,
          units: s.units,
          batchNorm: s.batchNorm,
        }),
      { timesteps: s.timesteps },
    );
  },
  load: (dir) => loadNeural(dir, async (p) => await (await import("../../models/nn/lstm.ts")).LSTMClassifier.load(p)),
};
