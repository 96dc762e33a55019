/**
 * `mlp`: a multi-layer perceptron on each row's standardized features (lib/models/nn/mlp.ts). Binary, 3-class or
 * regression, following the study's target.
 *
 * @module
 */

import { z } from "zod";
import { integer } from "../schema.ts";
import type { FoldTrainer } from "./contract.ts";
import { classifierSettings, fitNeural, loadNeural, neuralBackend, neuralFitted, neuralSettings } from "./neural.ts";

const settings = z.strictObject({
  hidden: z.array(integer(), { error: "expected a list of layer widths" }).min(1, {
    error: "expected at least one hidden layer",
  }).default([32, 16]).describe("hidden layer widths"),
  ...neuralSettings({ epochs: 20, learningRate: 1e-3, patience: 4 }),
  ...classifierSettings,
});

/** Resolved `mlp` settings. */
export type MLPSettings = z.output<typeof settings>;

/** The `mlp` kind. */
export const mlpTrainer: FoldTrainer<MLPSettings> = {
  kind: "mlp",
  summary: "multi-layer perceptron on standardized features (tfjs; binary, 3-class or regression)",
  tasks: ["binary", "multiclass", "regression"],
  settings,
  fitted: () => neuralFitted(),
  backend: (s) => neuralBackend(s),
  fit: (input) =>
    fitNeural(
      input,
      async (o) => new (await import("../../models/nn/mlp.ts")).MLPModel({ ...o, hidden: input.entry.settings.hidden }),
    ),
  load: (dir) => loadNeural(dir, async (p) => await (await import("../../models/nn/mlp.ts")).MLPModel.load(p)),
};
