/**
 * `lstm-regressor`: an LSTM forecasting the study's continuous target (a `return` or `excess` target) from
 * per-symbol windows, with the two usual fixes against a head that only learns the mean — target de-meaning
 * (fitted on the fold's fitting rows only) and a zero-initialized head — and every regression loss of
 * lib/training/losses.ts selectable, optionally with the anti-collapse penalties. Whether the fixes help is measured
 * by the variance-collapse and sign-bias monitors, not assumed.
 *
 * @module
 */

import { z } from "zod";
import { flag, integer, nonNegative, oneOf, positive } from "../schema.ts";
import type { FoldTrainer } from "./contract.ts";
import { fitNeural, loadNeural, neuralBackend, neuralFitted, neuralSettings } from "./neural.ts";

const settings = z.strictObject({
  timesteps: integer().default(10).describe("window length in trading days"),
  units: integer().default(16).describe("LSTM hidden units"),
  demean: flag().default(true).describe("subtract the fitting rows' target mean before fitting"),
  zeroInitHead: flag().default(true).describe("start the output head at zero"),
  loss: oneOf(["mse", "huber", "directional-mse", "directional-huber", "balanced-directional"]).default("mse")
    .describe("regression loss (lib/training/losses.ts)"),
  huberDelta: positive().default(0.01).describe("Huber transition point, in target units (log return)"),
  antiCollapse: z.strictObject({
    targetStd: positive().describe("prediction std below which the variance penalty applies"),
    varianceWeight: nonNegative().default(1).describe("weight of the variance penalty"),
    signWeight: nonNegative().default(0.1).describe("weight of the sign-diversity penalty"),
  }).nullable().default(null).describe("anti-collapse penalties (null: off)"),
  ...neuralSettings({ epochs: 10, learningRate: 2e-3, patience: 3 }),
});

/** Resolved `lstm-regressor` settings. */
export type LSTMRegressorSettings = z.output<typeof settings>;

/** The `lstm-regressor` kind. */
export const lstmRegressorTrainer: FoldTrainer<LSTMRegressorSettings> = {
  kind: "lstm-regressor",
  summary: "LSTM return regressor (de-meaning, zero-initialized head, selectable loss, anti-collapse penalties)",
  tasks: ["regression"],
  settings,
  fitted: (s) => neuralFitted(s.demean),
  backend: (s) => neuralBackend(s),
  fit: (input) => {
    const s = input.entry.settings;
    return fitNeural(
      input,
      async (o) =>
        new (await import("../../models/nn/lstm.ts")).LSTMRegressor({
          ...o,
          timesteps: s.timesteps,
          units: s.units,
          demean: s.demean,
          zeroInitHead: s.zeroInitHead,
          loss: s.loss,
          huberDelta: s.huberDelta,
          ...(s.antiCollapse === null ? {} : { antiCollapse: s.antiCollapse }),
        }),
      { timesteps: s.timesteps, demean: s.demean },
    );
  },
  load: (dir) => loadNeural(dir, async (p) => await (await import("../../models/nn/lstm.ts")).LSTMRegressor.load(p)),
};
