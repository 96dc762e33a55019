/**
 * The fold-trainer contract: what a model kind must provide for the study loop to train it on every fold of a study.
 *
 * The shape follows scikit-learn's `cross_val_predict` and skfolio's generic fold loop: one contract, one generic
 * loop. A model kind is **one file** implementing {@link FoldTrainer} — its settings with their defaults (a strict
 * schema: an unknown key is a ConfigError naming the allowed ones), the tasks it can learn, the fitted windows the
 * configuration gate must check, and `fit` on one fold — plus **one line** in ./registry.ts. The study loop
 * (lib/pipeline/study.ts) never branches on the kind.
 *
 * Conventions every trainer keeps:
 * - It fits only on `fold.rows.fit` (and uses `fold.rows.validation`, the early-stopping tail carved from the end of
 *   the fold's training dates, for early stopping or selection only) and predicts `fold.rows.validation` and
 *   `fold.rows.test`. Anything fitted (scalers, offsets, class weights, meta-learners) sees fitting rows only and is
 *   reported in `fitted` with the rows it actually saw; the loop checks those windows against the fold.
 * - Scores: binary → P(up) per row; multiclass → `classes` probabilities per row, row-major (DOWN, FLAT, UP);
 *   regression → the forecast of the study's continuous target (an h-day log return or its excess over the market).
 * - A trainer that cannot predict some rows (a sequence model without enough history) returns the rows it used in
 *   `rows`; metrics and baselines are then computed on exactly those rows.
 * - Whatever the model reports that a user should see (fallbacks, sign bias, warnings) goes into `diagnostics` and
 *   `warnings`; nothing is dropped.
 * - **Keeping the fitted model** (production): with `keep: true` the fit also returns `model`, a
 *   {@link TrainedModel} that scores any rows of any dataset with the same features (the newest rows of new price
 *   files), saves itself into a folder, and is rebuilt from that folder by the kind's `load`. Everything fitted goes
 *   with it (scalers, de-meaning offsets, the meta-learner of a stack); a sequence model reads each row's history from
 *   the dataset it is given. A reloaded model scores exactly as the model that was fitted.
 *
 * @module
 */

import type { z } from "zod";
import type { Matrix } from "../../data/matrix.ts";
import type { Fold } from "../../validation/fold.ts";
import type { FittedTransformRecord } from "../../leakage/configuration.ts";
import type { RegimeFeatures } from "../../models/stacking/regime.ts";
import type { DiagnosticRecord, EpochRecord } from "../../store/store.ts";

/** What a study's models learn, derived from `target.kind`. */
export type Task = "binary" | "multiclass" | "regression";

/** The dataset of a study: every row is a (symbol, date) pair in panel order; all arrays are parallel. */
export interface StudyData {
  /** Features, row-major Float32, NaN where missing; `X.columns` are the feature names. */
  readonly X: Matrix;
  /**
   * What models fit: 0/1 (binary: up), class index 0/1/2 (multiclass: DOWN/FLAT/UP), or the continuous target
   * (regression).
   */
  readonly y: Float64Array;
  /** The continuous target: the h-day log return, or its excess over the equal-weight market (`target.kind`). */
  readonly target: Float64Array;
  /** Decision date t of each row (ISO). */
  readonly dates: readonly string[];
  /** Symbol of each row. */
  readonly symbols: readonly string[];
  /** The study's sorted, unique date axis (the one the folds index). */
  readonly axis: readonly string[];
  /** Index into `axis` of each row's date. */
  readonly dateIndex: Int32Array;
  /** Label horizon h in trading days. */
  readonly horizon: number;
  /** binary, multiclass or regression. */
  readonly task: Task;
  /** Number of classes (2 binary, 3 multiclass); 1 for regression. */
  readonly classes: number;
  /** Causal market-regime features per date of `axis` (volatility percentile and trend of the equal-weight market). */
  readonly regime: RegimeFeatures;
}

/** Dataset row indices of one fold's parts, each sorted ascending. */
export interface FoldRows {
  /** Rows a model is fitted on (the fold's training dates before the early-stopping tail and its purge). */
  fit: Int32Array;
  /** The early-stopping tail: the last training dates, purged from the fitting part. */
  validation: Int32Array;
  /** The out-of-sample rows. */
  test: Int32Array;
}

/** One fold of the study's plan: the splitter's fold plus the dataset rows of each part. */
export interface PlannedFold {
  /** 0-based fold index. */
  index: number;
  /** Date windows, indices into `StudyData.axis`, purge and embargo. */
  fold: Fold;
  /** Dataset rows of each part. */
  rows: FoldRows;
}

/** Out-of-sample predictions of other entries of the same study, for trainers that combine them (stacking). */
export interface OutOfFoldPredictions {
  /** Scores of entry `name` for every dataset row (NaN where that entry never predicted the row out of sample). */
  scores(name: string): Float64Array;
  /** Predictions per row of entry `name` (1, or the number of classes). */
  width(name: string): number;
  /** Index of the fold whose test window predicted each row (−1: none), the same for every entry of the plan. */
  readonly foldOfRow: Int32Array;
}

/** A model entry of a study as the trainer sees it. */
export interface EntryInfo<S> {
  /** Unique name within the study (e.g. `gbm`). */
  name: string;
  /** The model kind (the registry key). */
  kind: string;
  /** Resolved settings (defaults filled). */
  settings: S;
  /** Base entries (stacking). */
  base?: string[];
  /** Meta-learner (stacking). */
  meta?: string;
}

/** Everything one `fit` call gets. */
export interface FoldInput<S> {
  /** The entry being trained. */
  entry: EntryInfo<S>;
  /** The study's dataset. */
  data: StudyData;
  /** The fold. */
  fold: PlannedFold;
  /** Seed of every random choice. */
  seed: number;
  /** Other entries' out-of-sample predictions (only for trainers with `consumes: "out-of-fold"`). */
  oof?: OutOfFoldPredictions;
  /** Progress in [0, 1] within the fold, with a short status. */
  onProgress?: (fraction: number, status: string) => void;
  /** Keep the fitted model (`FoldOutput.model`) for production instead of freeing it after the fold. */
  keep?: boolean;
  /**
   * Folds of the entry training at the same time as this one, itself included ({@link FoldTrainer.foldsAtOnce}); 1 or
   * absent: alone.
   */
  foldsAtOnce?: number;
}

/** Scores of other entries for every row of a dataset, for trainers that combine them (a stack's bases). */
export type EntryScores = Pick<OutOfFoldPredictions, "scores" | "width">;

/**
 * A fitted model kept for production (see the module notes). Scores have the layout of {@link FoldOutput.test}:
 * P(up), `classes` probabilities per row, or the forecast.
 */
export interface TrainedModel {
  /**
   * Scores `rows` of `data` (a dataset with the same feature columns as the one it was fitted on). Returns the rows
   * it could score — a sequence model skips rows without enough history in `data`, a stack rows some base did not
   * score — and their scores. `inputs` holds other entries' scores for every row of `data` (kinds that combine
   * them).
   */
  score(data: StudyData, rows: Int32Array, inputs?: EntryScores): { rows: Int32Array; scores: Float64Array };
  /** Writes everything needed to rebuild it into the folder `dir` (created). */
  save(dir: string): Promise<void>;
  /** Frees native or tensor memory. Idempotent. */
  dispose(): void;
}

/** What every fold fit reports (stored with the fold); each kind extends it with its own typed fields. */
export interface FoldFitReport {
  /** The model kind. */
  kind: string;
  /** Best boosting round or epoch (1-based) as early stopping chose it, when there is one. */
  bestIteration?: number;
  /** Trees or epochs actually trained. */
  iterations?: number;
  /** Notes the model reported (fallbacks, warnings), verbatim. */
  notes: string[];
  /** Wall time of the fit and predictions, seconds (filled by the loop). */
  seconds?: number;
}

/** What a fold fit produced. */
export interface FoldOutput<R extends FoldFitReport = FoldFitReport> {
  /** The rows actually fitted, used for early stopping and predicted (a subset of the planned ones). */
  rows: FoldRows;
  /** Scores on `rows.validation` (see the module notes for the layout by task). */
  validation: Float64Array;
  /** Scores on `rows.test`. */
  test: Float64Array;
  /** The typed fit report. */
  report: R;
  /** Every fitted thing with the window of the rows it actually saw (checked against the fold after the fit). */
  fitted: FittedTransformRecord[];
  /** Per-epoch records (neural kinds). */
  epochs?: EpochRecord[];
  /** Findings worth storing: training health, model notes, input scale. */
  diagnostics: DiagnosticRecord[];
  /** One-line training-health verdict ("healthy" or what went wrong). */
  health: string;
  /** Run warnings raised by this fold. */
  warnings: string[];
  /** The fitted model, when `FoldInput.keep` asked for it (the caller disposes of it). */
  model?: TrainedModel;
}

/** Which rows a fitted thing is fitted on: the fold's fitting rows or its early-stopping tail. */
export interface FittedSpec {
  /** What is fitted, e.g. "model fit", "standard scaler", "early-stopping tail". */
  name: string;
  /** The part of the fold it sees. */
  rows: "fit" | "validation";
}

/** A problem {@link FoldTrainer.check} found: where inside the entry's settings, and what is wrong. */
export interface SettingProblem {
  /** Path inside the settings, e.g. `["params", "max_dept"]`. */
  path: (string | number)[];
  /** What is wrong and what to do, e.g. `XGBoost does not use this parameter (did you mean "max_depth"?)`. */
  message: string;
}

/** A model kind the study loop can train. Implement it in one file and add one line to ./registry.ts. */
export interface FoldTrainer<S = Record<string, unknown>> {
  /** The registry key, e.g. `xgboost`. */
  readonly kind: string;
  /** One line for `candor models`. */
  readonly summary: string;
  /** The tasks it can learn; another target kind is refused before training with the kinds that can. */
  readonly tasks: readonly Task[];
  /** Strict settings schema with every default (the one place defaults live). */
  readonly settings: z.ZodType<S>;
  /** `out-of-fold`: combines other entries' out-of-sample predictions (named in the entry's `base`). */
  readonly consumes?: "out-of-fold";
  /**
   * Checks of valid-by-schema settings that need more than the schema (the study's task, the kind's native library),
   * made when a new configuration is resolved, before anything is loaded or stored: one problem per item, its path
   * inside the entry's settings. Not made again for a configuration read back from the store.
   */
  check?(settings: S, task: Task): SettingProblem[];
  /** The fitted things the configuration gate must check, and the rows each sees. */
  fitted(settings: S): FittedSpec[];
  /**
   * How many folds of an entry may train at once on a machine with `cores` cores. For a kind whose fit does its heavy
   * work off the main thread (XGBoost boosts each fold on a thread of its own), the loop trains that many folds side
   * by side and tells each `fit` so (`FoldInput.foldsAtOnce`); the results must not depend on it. Absent: one at a
   * time.
   */
  foldsAtOnce?(settings: S, cores: number): number;
  /** The compute backend the kind will use (stored with the run), e.g. `xgboost-c`, `wasm`. */
  backend(settings: S): Promise<string>;
  /** Trains on one fold and predicts its early-stopping tail and test rows (keeping the model with `keep`). */
  fit(input: FoldInput<S>): Promise<FoldOutput>;
  /** Rebuilds a model saved by {@link TrainedModel.save} for this entry (its settings, and a stack's base and meta). */
  load(dir: string, entry: EntryInfo<S>): Promise<TrainedModel>;
}
