/**
 * `xlstm`: xLSTM-TS (residual sLSTM blocks, lib/models/nn/xlstm.ts) on per-symbol windows, with optional wavelet
 * denoising applied causally — inside each input window, never to the whole series (a whole-series smoother leaks
 * the future into past inputs; see notebooks/01-leakage.ipynb).
 *
 * @module
 */

import { z } from "zod";
import { integer, text } from "../schema.ts";
import type { FoldTrainer } from "./contract.ts";
import { classifierSettings, fitNeural, loadNeural, neuralBackend, neuralFitted, neuralSettings } from "./neural.ts";

const settings = z.strictObject({
  timesteps: integer().default(16).describe("window length in trading days"),
  units: integer().default(16).describe("embedding and hidden width"),
  blocks: integer().default(1).describe("sLSTM blocks"),
  denoise: z.strictObject({
    wavelet: text().default("db4").describe("wavelet name (discrete-wavelets)"),
    level: integer().optional().describe("decomposition level (default: min(3, the maximum for the window))"),
  }).nullable().default(null).describe("causal per-window wavelet denoising (null: off)"),
  ...neuralSettings({ epochs: 10, learningRate: 1e-3, patience: 3 }),
  ...classifierSettings,
});

/** Resolved `xlstm` settings. */
export type XLSTMSettings = z.output<typeof settings>;

/** The `xlstm` kind. */
export const xlstmTrainer: FoldTrainer<XLSTMSettings> = {
  kind: "xlstm",
  summary: "xLSTM-TS (sLSTM blocks) on per-symbol windows; optional causal wavelet denoising per window",
  tasks: ["binary", "multiclass", "regression"],
  settings,
  fitted: () => neuralFitted(),
  backend: (s) => neuralBackend(s),
  fit: (input) => {
    const s = input.entry.settings;
    return fitNeural(
      input,
      async (o) =>
        new (await import("../../models/nn/xlstm.ts")).XLSTMModel({
          ...o,
          timesteps: s.timesteps,
          units: s.units,
          blocks: s.blocks,
          ...(s.denoise === null ? {} : { denoise: s.denoise }),
        }),
      { timesteps: s.timesteps },
    );
  },
  load: (dir) => loadNeural(dir, async (p) => await (await import("../../models/nn/xlstm.ts")).XLSTMModel.load(p)),
};
