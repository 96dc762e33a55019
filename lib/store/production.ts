/**
 * The production part of the Store contract (schema version 4): the registry of production models, the predictions
 * they made for the latest dates, backtests added to a finished run (a stored run's out-of-sample predictions
 * re-sized and re-backtested without retraining), and robustness sweeps with one row per trial.
 *
 * Design decisions:
 * - **Models** are registered once and never change: a production retrain is a new model. The files live in a model
 *   folder (`path`); the store keeps what a user needs to find, trust and reproduce it (the study and run it came
 *   from, the gate and whether it was skipped, the data fingerprint, the candor version, the training window).
 * - **Production predictions** are stored per call (a batch: one model, one as-of date, one data fingerprint) with one
 *   row per symbol, in a table of their own (`production_predictions`), apart from the per-fold out-of-sample
 *   predictions of runs.
 * - **Run backtests** are added to a run, sealed or not, and never replace its own backtest: the run's backtest is
 *   what the study reported; each added one carries its sizing and conventions in `details`.
 * - **Trials.** Every backtest that could have been picked as "the result" is a trial: each succeeded run (a model
 *   entry with its backtest), each backtest added to a run, each cell of a sweep. Trials are counted per data
 *   fingerprint and target (kind and horizon) — the count a deflated Sharpe ratio needs and a researcher forgets.
 *   The count only grows: deleting a run or a study first retires its trials (schema version 5, `retired_trials`),
 *   which stay counted with their Sharpe ratios; sweeps are never deleted (a deleted run leaves its sweeps' cells).
 *
 * @module
 */

import type { BacktestRecord, ListRunsOptions, StoredBacktest } from "./store.ts";

/** What `registerModel` records. */
export interface NewModel {
  /** `model_` + a ULID (from `newModelId`); the caller names the folder after it before registering. */
  id: string;
  /** The study entry it was trained for (e.g. `gbm`). */
  name: string;
  /** Model kind of that entry. */
  kind: string;
  /** The model folder (manifest and component files). */
  path: string;
  /** Study whose gate allowed it, or null. */
  studyId?: string | null;
  /** The entry's run in that study, or null. */
  runId?: string | null;
  /** The resolved study configuration it was trained with (JSON). */
  config: Record<string, unknown>;
  /** Feature names, in column order (distinct). */
  features: string[];
  /** Fingerprint of the training data (`sha256:…` or `synthetic:…`). */
  dataFingerprint: string;
  /** Where the training prices came from. */
  dataSource: string;
  /** candor version that trained it. */
  version: string;
  /** Target kind (`direction`, `direction3`, `return`, `excess`). */
  targetKind: string;
  /** Target horizon in trading days (≥ 1). */
  horizon: number;
  /** First and last decision dates of the labelled rows it was trained on (ISO). */
  trainedFrom: string;
  /** Last labelled decision date it was trained on (ISO). */
  trainedTo: string;
  /** Last price date of the training data (ISO): predictions on prices ending before it are refused. */
  lastPriceDate: string;
  /** Symbols it was trained on. */
  symbols: string[];
  /** The study's gate for this entry: `{ passed, wfe, threshold, reason }`. */
  gate: Record<string, unknown>;
  /** True when the gate had failed and the model was trained anyway (`--skip-gate`). */
  skipGate: boolean;
  /** Everything else (target statistics, win-rate prior, sizing, components, fit reports). */
  summary?: Record<string, unknown> | null;
}

/** A registered model. */
export interface StoredModel extends Required<Omit<NewModel, "studyId" | "runId" | "summary">> {
  /** Study id, or null. */
  studyId: string | null;
  /** Run id, or null. */
  runId: string | null;
  /** Summary, or null. */
  summary: Record<string, unknown> | null;
  /** Epoch milliseconds when it was registered. */
  createdAt: number;
}

/** One symbol's production prediction. */
export interface ProductionPrediction {
  /** Symbol. */
  symbol: string;
  /** Decision date of the features the prediction is made from (ISO). */
  date: string;
  /** The model's score: P(up), P(UP) − P(DOWN), or the forecast; NaN when the symbol could not be predicted. */
  score: number;
  /** Calibrated probability of the called side, or forecast / σ (the batch's details say which); NaN when none. */
  confidence: number;
  /** Target position under the model's sizing rule (fraction of the symbol's sleeve); NaN when none. */
  position: number;
  /** Share of capital (position × the portfolio's sleeve); NaN when none. */
  weight: number;
  /** Why the prediction deserves caution (stale data, missing features, an unseen symbol, a gap since training). */
  warnings: string[];
}

/** What `appendProductionPredictions` records: one batch (one call of `candor predict`). */
export interface NewProductionPredictions {
  /** The registered model that predicted. */
  modelId: string;
  /** The as-of date: the last price date used (ISO). */
  asOf: string;
  /** Fingerprint of the price files read. */
  dataFingerprint: string;
  /** Where the prices came from. */
  dataSource: string;
  /** One row per symbol (distinct symbols). */
  rows: ProductionPrediction[];
  /** Conventions of the batch (what the score and confidence are, the sizing rule, warnings). */
  details?: Record<string, unknown> | null;
}

/** A stored batch of production predictions. */
export interface StoredProductionPredictions extends Required<Omit<NewProductionPredictions, "details">> {
  /** `pred_` + a ULID. */
  id: string;
  /** Details, or null. */
  details: Record<string, unknown> | null;
  /** Epoch milliseconds when it was written. */
  createdAt: number;
}

/** Options of `listProductionPredictions`. */
export interface ListProductionPredictionsOptions {
  /** Only each model's newest `last` batches (a positive integer); all when absent. */
  last?: number;
}

/** Options of `listTrials`: which page of each sweep's trials, in which order. */
export interface ListTrialsOptions {
  /**
   * Order each sweep's trials by this metric (a name of letters, digits and `_`, e.g. `deflatedSharpe`), undefined
   * or missing values last in both directions, ties by cell; by cell when absent.
   */
  orderBy?: { metric: string; direction: "asc" | "desc" };
  /** Skip this many of each sweep's trials, in that order (default 0). */
  offset?: number;
  /** At most this many of each sweep's trials (a positive integer; default: all). */
  limit?: number;
}

/** A backtest added to a run, numbered in the order added. */
export interface StoredRunBacktest extends StoredBacktest {
  /** Order of addition across the store (increasing). */
  seq: number;
}

/** What makes trials comparable: the same data and the same target. */
export interface TrialKey {
  /** Data fingerprint. */
  dataFingerprint: string;
  /** Target kind. */
  targetKind: string;
  /** Target horizon (trading days). */
  horizon: number;
}

/** One cell of a sweep. */
export interface NewTrial {
  /** 0-based cell number within the sweep (distinct). */
  cell: number;
  /** Symbol, or `portfolio` for the whole book. */
  symbol: string;
  /** First date of the cell's window (ISO). */
  windowStart: string;
  /** Last date of the cell's window (ISO). */
  windowEnd: string;
  /** Commission, bps. */
  costBps: number;
  /** Slippage, bps. */
  slippageBps: number;
  /** Lag (≥ 0). */
  lag: number;
  /** Sizing rule label. */
  sizing: string;
  /** Periods per year the metrics were annualized with (> 0). */
  annualization: number;
  /** The cell's metrics (`sharpe`, `deflatedSharpe`, `trials`, ...); NaN = undefined. */
  metrics: Record<string, number>;
  /** Buy & hold on the cell's window. */
  buyAndHold: Record<string, number>;
}

/** A stored trial. */
export interface StoredTrial extends NewTrial {
  /** Sweep id. */
  sweepId: string;
}

/** What `createSweep` records. */
export interface NewSweep {
  /** The run whose stored predictions were swept, or null. */
  runId?: string | null;
  /** The key its trials count under. */
  key: TrialKey;
  /** The grid as given (JSON). */
  grid: Record<string, unknown>;
  /** Fixed options and conventions (JSON). */
  options: Record<string, unknown>;
  /** Folder the CSV/JSON rows were written to, or null. */
  dir?: string | null;
  /** PBO by CSCV over the sweep matrix, and anything else worth keeping (JSON), or null. */
  summary?: Record<string, unknown> | null;
  /** Trials counted under the key before this sweep (what its deflated Sharpe ratios used, with its own cells). */
  trialsBefore: number;
  /** The cells (at least one). */
  trials: NewTrial[];
}

/** A stored sweep (without its trials). */
export interface StoredSweep extends Required<Omit<NewSweep, "trials" | "runId" | "dir" | "summary">> {
  /** `sweep_` + a ULID. */
  id: string;
  /** Run id, or null. */
  runId: string | null;
  /** Folder, or null. */
  dir: string | null;
  /** Summary, or null. */
  summary: Record<string, unknown> | null;
  /** Number of cells. */
  cells: number;
  /** Epoch milliseconds when it was written. */
  createdAt: number;
}

/** The trials counted under one key. */
export interface TrialCount {
  /** Succeeded runs on this data and target (each entry's backtest is one trial). */
  runs: number;
  /** Backtests added to those runs. */
  runBacktests: number;
  /** Cells of sweeps under this key. */
  sweepTrials: number;
  /**
   * Trials of deleted runs under this key (each run's own backtest and each backtest added to it), kept when the run
   * or its study was deleted: deleting never lowers the count.
   */
  retired: number;
  /** runs + runBacktests + sweepTrials + retired. */
  total: number;
  /**
   * The per-period Sharpe ratio (annual Sharpe / √annualization) of every counted trial whose Sharpe is defined, retired
   * ones included, for the trial variance of a deflated Sharpe ratio.
   */
  sharpes: number[];
}

/** The production methods every store implements (schema version 4). */
export interface ProductionStore {
  /** Registers a production model; refused for a malformed record or an id already registered. */
  registerModel(model: NewModel): Promise<string>;
  /** Batch: the models with these ids that exist (any order). */
  getModels(ids: readonly string[]): Promise<StoredModel[]>;
  /** Models, newest first (`limit`, `offset` as in `listRuns`; `status` is ignored). */
  listModels(options?: ListRunsOptions): Promise<StoredModel[]>;
  /** Records a batch of production predictions of a registered model; returns its id. */
  appendProductionPredictions(batch: NewProductionPredictions): Promise<string>;
  /**
   * Batch: the prediction batches of these models, oldest first, rows in the order written. With `last`, only each
   * model's newest `last` batches (still oldest first), so a dashboard showing the latest predictions reads those
   * rows alone, however long a model has been predicting.
   */
  listProductionPredictions(
    modelIds: readonly string[],
    options?: ListProductionPredictionsOptions,
  ): Promise<StoredProductionPredictions[]>;
  /** Adds a backtest to an existing run (sealed runs included); its own backtest is untouched. Returns its seq. */
  addRunBacktest(runId: string, backtest: BacktestRecord): Promise<number>;
  /** Batch: the backtests added to these runs, in the order added. */
  listRunBacktests(runIds: readonly string[]): Promise<StoredRunBacktest[]>;
  /** Records a sweep and all its trials in one transaction; returns its id. */
  createSweep(sweep: NewSweep): Promise<string>;
  /** A sweep and its trials (by cell), or undefined. */
  getSweep(id: string): Promise<{ sweep: StoredSweep; trials: StoredTrial[] } | undefined>;
  /** Sweeps, newest first (`limit`, `offset`). */
  listSweeps(options?: ListRunsOptions): Promise<StoredSweep[]>;
  /** Batch: the sweeps with these ids that exist (any order), without their trials. */
  getSweeps(ids: readonly string[]): Promise<StoredSweep[]>;
  /**
   * Batch: the trials of these sweeps, grouped by sweep (any order of sweeps), each sweep's by cell — or a page of
   * each sweep's trials in a metric's order (`options`). One read for any number of sweeps, so a page of sweeps with
   * their trials is two store calls, not one per sweep, and only the page of each sweep is read.
   */
  listTrials(sweepIds: readonly string[], options?: ListTrialsOptions): Promise<StoredTrial[]>;
  /** The trials counted under a key (see the module notes). */
  countTrials(key: TrialKey): Promise<TrialCount>;
}
