/**
 * What every neural kind shares: its common settings (epochs, batch, learning rate and schedule, early stopping,
 * clipping, backend; class weights and label smoothing for classifiers) and one fold fit — standardize on the fold's
 * fitting rows (./inputs.ts), build per-symbol windows for sequence models, train with early stopping on the fold's
 * tail while the training-health monitors watch, predict the tail and the test window, and turn what happened into
 * stored epochs, diagnostics and a typed fit report.
 *
 * Epochs are stored 0-based (epoch 0 is the first), as the store numbers them; diagnostic messages written by the
 * monitors count epochs from 1, and each diagnostic's `data.epoch` is the stored (0-based) number.
 *
 * @module
 */

import { z } from "zod";
import type { NeuralModel, NeuralOptions } from "../../models/nn/neural_model.ts";
import { ReduceLROnPlateau, type Schedule, stepDecay, warmupCosine } from "../../training/schedules.ts";
import { closedInterval, integer, nonNegative, oneOf, openInterval, positive } from "../schema.ts";
import type { FittedSpec, FoldFitReport, FoldInput, FoldOutput, TrainedModel } from "./contract.ts";
import type { ScalingReport } from "./inputs.ts";

/**
 * The tfjs backends an entry may ask for (the same list as lib/models/nn/backend.ts's `BACKEND_REQUESTS`, repeated
 * here so that reading a config never loads TensorFlow.js; a test keeps the two equal).
 */
export const BACKEND_CHOICES = ["auto", "tensorflow", "webgpu", "wasm", "cpu"] as const;

/** Learning-rate schedules a neural entry can use (lib/training/schedules.ts). */
export const scheduleSetting = z.discriminatedUnion("kind", [
  z.strictObject({ kind: z.literal("constant") }),
  z.strictObject({
    kind: z.literal("warmup-cosine"),
    warmupEpochs: integer(0).default(1).describe("epochs of linear warm-up"),
    minLr: nonNegative().default(0).describe("learning rate at the end of the cosine"),
  }),
  z.strictObject({
    kind: z.literal("step"),
    stepEpochs: integer().default(5).describe("epochs between decays"),
    gamma: openInterval(0, 1).default(0.5).describe("multiplier at each decay"),
  }),
  z.strictObject({
    kind: z.literal("plateau"),
    factor: openInterval(0, 1).default(0.5).describe("multiplier when the validation loss stalls"),
    patience: integer().default(2).describe("epochs without improvement before a cut"),
    minLr: nonNegative().default(0).describe("floor of the learning rate"),
  }),
], { error: "expected a schedule: { kind: constant | warmup-cosine | step | plateau, ... }" });

/** A resolved schedule setting. */
export type ScheduleSetting = z.output<typeof scheduleSetting>;

/** The settings every neural kind has, with the defaults of a kind (each kind passes its own numbers). */
export function neuralSettings(d: { epochs: number; learningRate: number; patience: number; batchSize?: number }) {
  return {
    epochs: integer().default(d.epochs).describe("maximum training epochs per fold"),
    batchSize: integer().default(d.batchSize ?? 256).describe("rows per gradient step"),
    learningRate: positive().default(d.learningRate).describe("Adam learning rate (the schedule's base rate)"),
    schedule: scheduleSetting.default({ kind: "constant" }).describe(
      "learning-rate schedule: constant, warmup-cosine, step or plateau",
    ),
    patience: integer().default(d.patience).describe(
      "early stopping: epochs without a better validation-tail loss; the best epoch's weights are kept",
    ),
    minDelta: nonNegative().default(0).describe("early stopping: smallest loss improvement that counts"),
    clipNorm: positive().nullable().default(1).describe("global gradient-norm clipping threshold (null: none)"),
    weightDecay: nonNegative().default(0).describe("decoupled weight decay λ (AdamW) on every parameter"),
    stopOn: z.array(oneOf(["collapse", "sign-bias"]), { error: "expected a list of collapse, sign-bias" }).default([])
      .describe(
        "stop training when the variance-collapse or sign-bias monitor confirms its finding (best weights kept)",
      ),
    backend: oneOf(BACKEND_CHOICES).optional().describe(
      "tfjs backend (default: TFJS_BACKEND, else auto); the one used is stored with the run",
    ),
  };
}

/** Settings of the neural classifiers (binary or DOWN/FLAT/UP). */
export const classifierSettings = {
  classWeights: oneOf(["none", "balanced", "inverse"]).default("none").describe(
    "class weights from the fitting rows' labels: balanced (n / (k·n_c)) or inverse (1 / n_c, normalized)",
  ),
  labelSmoothing: closedInterval(0, 0.5).default(0).describe("label smoothing ε"),
};

/** The common settings, resolved. */
export interface NeuralCommon {
  /** See {@link neuralSettings}. */
  epochs: number;
  /** Rows per step. */
  batchSize: number;
  /** Base learning rate. */
  learningRate: number;
  /** Schedule. */
  schedule: ScheduleSetting;
  /** Early-stopping patience. */
  patience: number;
  /** Early-stopping minimum improvement. */
  minDelta: number;
  /** Clip threshold or null. */
  clipNorm: number | null;
  /** Decoupled weight decay. */
  weightDecay: number;
  /** Monitors whose confirmed finding stops training. */
  stopOn: Array<"collapse" | "sign-bias">;
  /** Backend request. */
  backend?: typeof BACKEND_CHOICES[number];
  /** Classifiers: class weights. */
  classWeights?: "none" | "balanced" | "inverse";
  /** Classifiers: label smoothing. */
  labelSmoothing?: number;
}

/** The schedule object for a fit. */
export function buildSchedule(s: ScheduleSetting, baseLr: number, epochs: number): Schedule | undefined {
  switch (s.kind) {
    case "constant":
      return undefined;
    case "warmup-cosine":
      return warmupCosine({ baseLr, epochs, warmupEpochs: s.warmupEpochs, minLr: s.minLr });
    case "step":
      return stepDecay({ baseLr, stepEpochs: s.stepEpochs, gamma: s.gamma });
    case "plateau":
      return new ReduceLROnPlateau({ baseLr, factor: s.factor, patience: s.patience, minLr: s.minLr });
  }
}

/** The fitted things of a neural fold (the configuration gate checks each). */
export function neuralFitted(demean = false): FittedSpec[] {
  return [
    { name: "model fit", rows: "fit" },
    { name: "standard scaler", rows: "fit" },
    { name: "early-stopping tail", rows: "validation" },
    ...(demean ? [{ name: "target de-meaning", rows: "fit" as const }] : []),
  ];
}

/** The tfjs backend a neural entry will use (initializes it once per process; tfjs loads only here). */
export async function neuralBackend(s: { backend?: NeuralCommon["backend"] }): Promise<string> {
  const { initBackend } = await import("../../models/nn/backend.ts");
  return (await initBackend(s.backend)).name;
}

/** The typed fit report of a neural fold. */
export interface NeuralFoldReport extends FoldFitReport {
  /** tfjs backend used, what was asked for, and the kernel patches installed. */
  backend: { name: string; requested: unknown; patches: unknown };
  /** Gradient threads used, and why when fewer than asked. */
  workers: { count: unknown; note: unknown };
  /** Why training stopped: completed, early-stopping, non-finite, .... */
  stopReason: unknown;
  /** Per-class loss weights used (classifiers with class weights). */
  classWeights?: number[];
  /** Standardization of the fold's inputs. */
  scaling: ScalingReport;
  /** Sequence models: window length and rows dropped for want of history, per split. */
  sequence?: { timesteps: number; dropped: { fit: number; validation: number; test: number } };
  /** The training-health verdict. */
  health: string;
}

/** Builds the network of a kind from the common neural options the fold prepared (may import the model lazily). */
export type BuildNetwork = (options: NeuralOptions) => Promise<NeuralModel>;

/** Rebuilds the network of a kind from the folder its `save` wrote (the class's static `load`, imported lazily). */
export type LoadNetwork = (path: string) => Promise<NeuralModel>;

/**
 * Trains one fold of a neural kind (./neural_fit.ts, loaded on first use so that studies without neural entries never
 * load TensorFlow.js). `timesteps` > 0 makes it a sequence model (per-symbol windows); `demean` reports the target
 * de-meaning the model fits on the fitting rows.
 */
export async function fitNeural(
  input: FoldInput<NeuralCommon>,
  build: BuildNetwork,
  options: { timesteps?: number; demean?: boolean } = {},
): Promise<FoldOutput<NeuralFoldReport>> {
  const { fitNeuralFold } = await import("./neural_fit.ts");
  return await fitNeuralFold(input, build, options);
}

/** Rebuilds a neural model kept by {@link fitNeural} from its folder (network, scaler, window length). */
export async function loadNeural(dir: string, load: LoadNetwork): Promise<TrainedModel> {
  const { loadNeuralFold } = await import("./neural_fit.ts");
  return await loadNeuralFold(dir, load);
}
