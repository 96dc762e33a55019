/**
 * The Store contract: where every run, fold, training epoch, diagnostic and backtest is recorded.
 *
 * Design decisions:
 * - **Append-only while running.** A run is created with status `running`; folds, epochs, diagnostics and the backtest
 *   are written as they are produced; `finishRun` seals it as `succeeded` or `failed`. A sealed run refuses further
 *   writes, so a stored result never changes after the fact. A run that crashes keeps every fold written before the
 *   crash, and its error records the stage (and fold) it failed in (docs/design.md §6.5).
 * - **Every write is one transaction.** Bad input (unknown run id, duplicate fold index, a non-finite number where a
 *   number is required, a write to a sealed run) raises {@link StoreError} and writes nothing.
 * - **Numbers.** Metric maps (`name → number`) accept `NaN` to mean "undefined on this data" (for example the IC of a
 *   constant prediction) and give `NaN` back; `±Infinity` is refused there, because it always means a bug upstream.
 *   Fields that must be numbers (purge, sizes, lag, costs, equity values) must be finite. Epoch losses accept any
 *   number, `NaN` and `±Infinity` included: a diverged loss is data, not bad input.
 *   Free-form JSON fields (config, summary, fit reports, `extra`, `data`, `details`) follow JSON: a NaN or ±Infinity
 *   inside them is stored as null, so put numbers that matter into metric maps.
 * - **Times** are epoch milliseconds (UTC); dates are ISO `YYYY-MM-DD` strings.
 * - **Backends.** SQLite (`node:sqlite`) is the default; every backend must pass the same contract test suite
 *   (tests/store/contract.ts), so callers never special-case one.
 * - Batch reads (`getRuns`, `listFolds`, ...) take many run ids at once so GraphQL dataloaders avoid N+1 queries.
 * - **Studies** (schema version 2). A study is one fold plan and several model entries trained on the same rows; each
 *   entry is an ordinary run that names its study and entry, so everything above still holds per run. A study has the
 *   same life cycle as a run (`createStudy` → `finishStudy`); it is sealed only after all its runs are, and a sealed
 *   study takes no new runs. Runs written before studies existed were each given a study of their own by the
 *   migration (summary `{ legacy: true }`).
 * - **Out-of-sample predictions** are stored per (run, fold) in a compact binary form (see {@link PredictionRecord}).
 *
 * @module
 */

import type { DateWindow } from "../validation/fold.ts";
export { StoreError } from "../errors.ts";

/** Life cycle of a run: created `running`, sealed `succeeded` or `failed` by `finishRun`. */
export type RunStatus = "running" | "succeeded" | "failed";

/** The statuses a run can have, in life-cycle order. */
export const RUN_STATUSES: readonly RunStatus[] = ["running", "succeeded", "failed"];

/** A JSON value (what `JSON.stringify` round-trips). */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** Why and where a run failed. */
export interface RunError {
  /** The error message, as thrown. */
  message: string;
  /** Pipeline stage the run was in (`load`, `features`, `audit`, `fold`, `backtest`, ...). */
  stage?: string;
  /** Fold index being processed when it failed, if any. */
  fold?: number;
  /** Error class name, e.g. `DataError`. */
  name?: string;
}

/** What `createRun` needs: everything required to reproduce the run. */
export interface NewRun {
  /** The resolved run configuration (JSON-serializable). */
  config: Record<string, unknown>;
  /** Seed of every random choice in the run (an integer), or null when the run has none. */
  seed?: number | null;
  /** Model kind, e.g. `xgboost`, `lstm`. */
  model: string;
  /** Symbols traded, in panel order. */
  symbols: string[];
  /** Where the prices came from: a path, or e.g. `synthetic:planted`. */
  dataSource: string;
  /** Compute backend actually used, e.g. `xgboost-c`, `wasm`, `tensorflow`. */
  backend?: string | null;
  /** True when training went ahead despite leaking features, by explicit override. */
  leakageOverride?: boolean;
  // --- Study fields (schema version 2) ---
  /** Id of the study this run is an entry of; the study must exist and still be running. Absent or null: no study. */
  studyId?: string | null;
  /** Name of the model entry this run trains, one of the study's planned {@link StudyEntry} names. */
  entry?: string | null;
  /** Feature names used, in column order (each non-empty, no repeats). */
  features?: string[] | null;
  /** Fingerprint of the input data, e.g. `sha256:…` of the price files or `synthetic:…`. */
  dataFingerprint?: string | null;
  /** candor version that ran it (a version constant or `git describe`). */
  version?: string | null;
}

/** A run's own fields, without its folds, epochs, diagnostics and backtest (what `listRuns` returns). */
export interface RunSummary {
  /** `run_` followed by a 26-character time-sortable identifier (ULID). */
  id: string;
  /** Epoch milliseconds (UTC). */
  createdAt: number;
  /** Epoch milliseconds when `finishRun` sealed it; null while running. */
  finishedAt: number | null;
  /** Life-cycle state: `running` until `finishRun` seals it. */
  status: RunStatus;
  /** Set when `status` is `failed`. */
  error: RunError | null;
  /** The resolved configuration the run was created with (JSON). */
  config: Record<string, unknown>;
  /** Seed of every random choice in the run, or null when it has none. */
  seed: number | null;
  /** Model kind, e.g. `xgboost`, `lstm`. */
  model: string;
  /** Symbols traded, in panel order. */
  symbols: string[];
  /** Where the prices came from: a path, or e.g. `synthetic:planted`. */
  dataSource: string;
  /** Compute backend actually used (`xgboost-c`, `wasm`, ...), or null when not recorded. */
  backend: string | null;
  /** True when training went ahead despite leaking features, by explicit override. */
  leakageOverride: boolean;
  /** Headline results written by `finishRun` (pooled metrics, warnings, ...). */
  summary: Record<string, unknown> | null;
  // --- Study fields (schema version 2); null when not recorded ---
  /** Id of the study this run belongs to (every run migrated from schema version 1 has one), or null. */
  studyId: string | null;
  /** Name of the model entry within its study (the model kind for migrated runs), or null. */
  entry: string | null;
  /** Feature names used, in column order, or null when not recorded. */
  features: string[] | null;
  /** Fingerprint of the input data (`sha256:…`, `synthetic:…`), or null when not recorded. */
  dataFingerprint: string | null;
  /** candor version that ran it, or null when not recorded. */
  version: string | null;
}

/** One walk-forward (or CPCV) fold's result, as written by `appendFold`. */
export interface FoldRecord {
  /** 0-based fold index, unique within a run. */
  index: number;
  /** Training date windows (inclusive). */
  train: DateWindow[];
  /** Test date windows (inclusive). */
  test: DateWindow[];
  /** Early-stopping windows carved from training, if any. */
  validation?: DateWindow[];
  /** Dates purged between training and test (≥ the label horizon). */
  purge: number;
  /** Dates embargoed after each test window. */
  embargo: number;
  /** Rows used to fit. */
  nTrain: number;
  /** Rows tested. */
  nTest: number;
  /** Out-of-sample metrics, e.g. `accuracy`, `ic`. `NaN` = undefined on this fold. */
  metrics: Record<string, number>;
  /** Baselines on the same test rows, e.g. `coinFlip`, `majorityClass`. */
  baselines: Record<string, number>;
  /** What the model's fit reported (best iteration, seconds, notes, ...). */
  fitReport?: Record<string, unknown>;
}

/** A stored fold: the record as written, with `validation` and `fitReport` always present. */
export interface StoredFold extends Required<FoldRecord> {
  /** Id of the run the fold belongs to. */
  runId: string;
}

/** One training epoch's health numbers. */
export interface EpochRecord {
  /** Fold the epoch belongs to, or null for a fit outside the folds (e.g. the production model). */
  fold: number | null;
  /** 0-based epoch (or boosting round) number, unique within (run, fold). */
  epoch: number;
  /** Training loss; `NaN`/`±Infinity` are stored as given (a diverged loss is data). */
  trainLoss: number;
  /** Validation loss after the epoch (same loss as `trainLoss`), or null without a validation set. */
  valLoss?: number | null;
  /** Learning rate used in this epoch. */
  lr?: number | null;
  /** Global gradient norm before clipping. */
  gradNorm?: number | null;
  /** Share of steps whose gradient was clipped, in [0, 1]. */
  clipRatio?: number | null;
  /** Anything else worth keeping (prediction std, share of "up" predictions, ...). */
  extra?: Record<string, unknown> | null;
}

/** A stored epoch: absent optional numbers read back as null. */
export interface StoredEpoch {
  /** Id of the run the epoch belongs to. */
  runId: string;
  /** Fold index, or null for a fit outside the folds. */
  fold: number | null;
  /** 0-based epoch (or boosting round) number, unique within (run, fold). */
  epoch: number;
  /** Training loss as recorded; may be `NaN`/`±Infinity` when training diverged. */
  trainLoss: number;
  /** Validation loss, or null when none was recorded. */
  valLoss: number | null;
  /** Learning rate used in this epoch, or null. */
  lr: number | null;
  /** Global gradient L2 norm before clipping, or null. */
  gradNorm: number | null;
  /** Share of steps whose gradient was clipped, in [0, 1], or null. */
  clipRatio: number | null;
  /** Other per-epoch numbers as recorded (prediction std, share of "up" calls, ...), or null. */
  extra: Record<string, unknown> | null;
}

/** Severity of a diagnostic. */
export type DiagnosticSeverity = "info" | "warning" | "error";

/** The severities a diagnostic can have. */
export const DIAGNOSTIC_SEVERITIES: readonly DiagnosticSeverity[] = ["info", "warning", "error"];

/** A finding of a monitor or check, e.g. variance collapse, sign bias, a leakage warning. */
export interface DiagnosticRecord {
  /** Fold it concerns, or null for the whole run. */
  fold: number | null;
  /** Machine-readable kind, e.g. `variance-collapse`, `sign-bias`, `nan-loss`, `leakage`. */
  kind: string;
  /** `info`, `warning` (worth a look before trusting the result) or `error` (the result is not usable). */
  severity: DiagnosticSeverity;
  /** One line a human can act on. */
  message: string;
  /** Supporting numbers. */
  data?: Record<string, unknown> | null;
}

/** A stored diagnostic, in insertion order (`seq` increases within a run). */
export interface StoredDiagnostic extends DiagnosticRecord {
  /** Id of the run the diagnostic belongs to. */
  runId: string;
  /** Recording order within the run (increasing). */
  seq: number;
  /** Supporting numbers, or null. */
  data: Record<string, unknown> | null;
  /** Epoch milliseconds when it was recorded. */
  createdAt: number;
}

/** An equity curve: one value per date (growth of 1 unit, after costs). */
export interface EquityCurve {
  /** Strictly increasing ISO dates. */
  dates: string[];
  /** Strategy equity per date; finite. */
  values: ArrayLike<number>;
  /** Buy & hold equity on the same dates, if computed. */
  buyAndHold?: ArrayLike<number> | null;
}

/** A backtest of a run's out-of-sample predictions, with its conventions (docs/design.md §6.2). */
export interface BacktestRecord {
  /** Days between the decision (close of t) and the first return earned; ≥ 1 for an honest backtest. */
  lag: number;
  /** Commission per unit turnover, basis points. */
  costBps: number;
  /** Slippage per unit turnover, basis points. */
  slippageBps: number;
  /** Periods per year used to annualize (252 for daily). */
  annualization: number;
  /** Strategy metrics (`sharpe`, `maxDrawdown`, `cagr`, ...); `NaN` = undefined. */
  metrics: Record<string, number>;
  /** Buy & hold metrics on the same window. */
  buyAndHold: Record<string, number>;
  /** Caveats worth showing next to the numbers. */
  warnings: string[];
  /** Strategy equity per date, with buy & hold on the same dates when computed. */
  equity: EquityCurve;
  /** Anything else: portfolio construction, sizing, ... */
  details?: Record<string, unknown> | null;
}

/** A stored backtest. Equity values come back as plain arrays. */
export interface StoredBacktest {
  /** Id of the run the backtest belongs to. */
  runId: string;
  /** Days between the decision (close of t) and the first return earned. */
  lag: number;
  /** Commission per unit turnover, basis points. */
  costBps: number;
  /** Slippage per unit turnover, basis points. */
  slippageBps: number;
  /** Periods per year used to annualize (252 for daily). */
  annualization: number;
  /** Strategy metrics (`sharpe`, `maxDrawdown`, ...); `NaN` = undefined. */
  metrics: Record<string, number>;
  /** Buy & hold metrics on the same window. */
  buyAndHold: Record<string, number>;
  /** Caveats worth showing next to the numbers. */
  warnings: string[];
  /** Equity curves as plain arrays: strategy `values` and `buyAndHold` (null when not computed) per date. */
  equity: { dates: string[]; values: number[]; buyAndHold: number[] | null };
  /** Portfolio construction, sizing and other details, or null. */
  details: Record<string, unknown> | null;
  /** Epoch milliseconds when it was written. */
  createdAt: number;
}

/** A run with everything recorded for it. */
export interface Run extends RunSummary {
  /** By fold index. */
  folds: StoredFold[];
  /** By fold (null first), then epoch. */
  epochs: StoredEpoch[];
  /** In the order recorded. */
  diagnostics: StoredDiagnostic[];
  /** The backtest of the run's out-of-sample predictions, or null when none was stored. */
  backtest: StoredBacktest | null;
}

/** How `finishRun` seals a run. */
export type FinishRun =
  | { status: "succeeded"; summary?: Record<string, unknown> | null }
  | { status: "failed"; error: RunError; summary?: Record<string, unknown> | null };

/** Filters of `listRuns`. */
export interface ListRunsOptions {
  /** At most this many runs (default 50, at most 1000). */
  limit?: number;
  /** Skip this many (newest first), for paging. */
  offset?: number;
  /** Only runs with this status. */
  status?: RunStatus;
}

/** The run store. Every method is async so network backends fit the same contract. */
export interface Store extends StoreDashboardReads {
  /** Backend name, e.g. `sqlite`, `postgres`. */
  readonly backend: string;
  /** Records a new run with status `running`; returns its id. */
  createRun(run: NewRun): Promise<string>;
  /** Records a finished fold. Refused for an unknown or sealed run, or a fold index already written. */
  appendFold(runId: string, fold: FoldRecord): Promise<void>;
  /** Records training epochs (all or nothing). Refused for a duplicate (fold, epoch). */
  appendEpochs(runId: string, epochs: EpochRecord[]): Promise<void>;
  /** Records diagnostics (all or nothing). */
  appendDiagnostics(runId: string, diagnostics: DiagnosticRecord[]): Promise<void>;
  /** Records the run's backtest, replacing an earlier one while the run is still running. */
  putBacktest(runId: string, backtest: BacktestRecord): Promise<void>;
  /** Seals a running run as succeeded or failed. */
  finishRun(runId: string, outcome: FinishRun): Promise<void>;
  /** Runs, newest first. */
  listRuns(options?: ListRunsOptions): Promise<RunSummary[]>;
  /** A run with all its parts, or undefined when no run has this id. */
  getRun(id: string): Promise<Run | undefined>;
  /** Batch: the runs with these ids that exist (any order). */
  getRuns(ids: readonly string[]): Promise<RunSummary[]>;
  /** Batch: the folds of these runs, by run then fold index. */
  listFolds(runIds: readonly string[]): Promise<StoredFold[]>;
  /** Batch: the epochs of these runs, by run, fold (null first), epoch. */
  listEpochs(runIds: readonly string[]): Promise<StoredEpoch[]>;
  /** Batch: the diagnostics of these runs, by run then recording order. */
  listDiagnostics(runIds: readonly string[]): Promise<StoredDiagnostic[]>;
  /** Batch: the backtests of these runs (at most one per run). */
  listBacktests(runIds: readonly string[]): Promise<StoredBacktest[]>;
  /** Releases the connection. Idempotent. */
  close(): Promise<void>;

  // --- Studies and out-of-sample predictions (schema version 2) ---

  /** Records a new study with status `running`; returns its id (`study_` + ULID). Runs join it through `NewRun.studyId`. */
  createStudy(study: NewStudy): Promise<string>;
  /**
   * Seals a running study as succeeded or failed, like `finishRun`. Refused while any of its runs is still running
   * (finish them first), so a sealed study and all its runs never change again; a sealed study accepts no new runs.
   */
  finishStudy(id: string, outcome: FinishRun): Promise<void>;
  /** A study with the summaries of its runs (in creation order), read as one consistent snapshot; undefined if unknown. */
  getStudy(id: string): Promise<Study | undefined>;
  /** Batch: the studies with these ids that exist (any order). */
  getStudies(ids: readonly string[]): Promise<StudySummary[]>;
  /** Studies, newest first; `limit`, `offset` and `status` as in `listRuns`. */
  listStudies(options?: ListRunsOptions): Promise<StudySummary[]>;
  /**
   * Records the out-of-sample predictions of one fold of a running run. Refused for an unknown or sealed run, a
   * (run, fold) that already has predictions, and malformed records (see {@link PredictionRecord}).
   */
  appendPredictions(runId: string, predictions: PredictionRecord): Promise<void>;
  /** Batch: the prediction records of these runs, by run then fold. */
  listPredictions(runIds: readonly string[]): Promise<StoredPredictions[]>;

  // --- Idempotent fold writes (scale-out: a retried job must never store a fold twice) ---

  /**
   * Records one fold of a run with everything it produced — the fold record, its prediction records, epochs and
   * diagnostics — in **one transaction**, keyed by (run, fold index). When the run already holds a fold with this
   * index nothing is written and `duplicate` is returned, whatever the run's status: a job retried after its first
   * attempt committed (a worker killed before it could report success, or two workers racing on a job the queue
   * thought stalled) counts as done and never stores the fold twice or half. Otherwise the run must exist and be
   * running, every part is validated as by the single-part methods, and either everything is written (`written`) or
   * nothing is (StoreError). Every prediction record and epoch must carry the fold's index; a diagnostic carries it or
   * null.
   */
  appendFoldResult(runId: string, result: FoldResultRecord): Promise<FoldWriteOutcome>;
}

/** Everything one fold of a run produced, written together by `appendFoldResult`. */
export interface FoldResultRecord {
  /** The fold record; its `index` is the key. */
  fold: FoldRecord;
  /** Its out-of-sample prediction records (`fold` = the fold's index); empty when the fold predicted nothing. */
  predictions: PredictionRecord[];
  /** Its training epochs (`fold` = the fold's index); empty for kinds without epochs. */
  epochs: EpochRecord[];
  /** Its diagnostics (`fold` = the fold's index, or null). */
  diagnostics: DiagnosticRecord[];
}

/** What `appendFoldResult` did: `written`, or `duplicate` when the run already held the fold (nothing written). */
export type FoldWriteOutcome = "written" | "duplicate";

// ---------------------------------------------------------------------------------------------------------------------
// Studies and out-of-sample predictions (schema version 2)
// ---------------------------------------------------------------------------------------------------------------------

/** One model entry planned in a study: a name unique within the study and the model kind it trains. */
export interface StudyEntry {
  /** Unique within the study, e.g. `gbm`; the `entry` of the run that trains it. */
  name: string;
  /** Model kind, e.g. `xgboost`, `lstm`, `stacking`. */
  kind: string;
}

/**
 * What `createStudy` needs. A study is one fold plan and the model entries trained on exactly the same rows and
 * folds; each entry is stored as a run (`NewRun.studyId`, `NewRun.entry`), so the per-run contract is unchanged.
 */
export interface NewStudy {
  /** Optional human name. */
  name?: string | null;
  /** The resolved study configuration (JSON-serializable). */
  config: Record<string, unknown>;
  /** Seed of every random choice in the study (an integer), or null when it has none. */
  seed?: number | null;
  /** Symbols, in panel order. */
  symbols: string[];
  /** Where the prices came from: a path, or e.g. `synthetic:planted`. */
  dataSource: string;
  /** Fingerprint of the input data: `sha256:…` of the files, or `synthetic:…`. */
  dataFingerprint: string;
  /** candor version that ran it. */
  version: string;
  /** Feature names used, in column order (distinct). */
  features: string[];
  /** The model entries planned, in training order (at least one; names distinct). */
  entries: StudyEntry[];
  /** True when training went ahead despite leaking features, by explicit override. */
  leakageOverride?: boolean;
}

/** A study's own fields, without its runs (what `listStudies` and `getStudies` return). */
export interface StudySummary {
  /** `study_` followed by a 26-character time-sortable identifier (ULID). */
  id: string;
  /** Epoch milliseconds (UTC). */
  createdAt: number;
  /** Epoch milliseconds when `finishStudy` sealed it; null while running. */
  finishedAt: number | null;
  /** Life-cycle state: `running` until `finishStudy` seals it. */
  status: RunStatus;
  /** Set when `status` is `failed`. */
  error: RunError | null;
  /** Human name, or null. */
  name: string | null;
  /** The resolved configuration (JSON). */
  config: Record<string, unknown>;
  /** Seed of every random choice, or null. */
  seed: number | null;
  /** Symbols, in panel order. */
  symbols: string[];
  /** Where the prices came from. */
  dataSource: string;
  /** Fingerprint of the input data, or null (studies migrated from schema version 1 have none). */
  dataFingerprint: string | null;
  /** candor version that ran it, or null (studies migrated from schema version 1). */
  version: string | null;
  /** Feature names used, in column order (empty for studies migrated from schema version 1). */
  features: string[];
  /** The model entries planned, in training order. */
  entries: StudyEntry[];
  /** True when training went ahead despite leaking features, by explicit override. */
  leakageOverride: boolean;
  /** Results written by `finishStudy` (the comparison, ...); `{ legacy: true }` for migrated studies. */
  summary: Record<string, unknown> | null;
}

/** A study with its runs. */
export interface Study extends StudySummary {
  /** Summaries of its runs, in creation order. */
  runs: RunSummary[];
}

/**
 * Out-of-sample predictions of one fold of a run: one row per (date, symbol) tested, `width` scores per row.
 * Stored compactly (day numbers, a symbol dictionary with an index per row, little-endian Float64 scores), so a
 * 2-million-row fold costs about 16 bytes per row plus 8 per extra score, never per-row JSON.
 */
export interface PredictionRecord {
  /** Fold index (an integer ≥ 0); one record per (run, fold). */
  fold: number;
  /** ISO dates `YYYY-MM-DD`, one per row (any order). */
  dates: string[];
  /** Symbols, one per row. */
  symbols: string[];
  /** `rows × width` scores, row-major; finite or `NaN` (no prediction); `±Infinity` is refused. */
  values: ArrayLike<number>;
  /** Scores per row: 1 (a forecast or the probability of "up"), or the number of classes. */
  width: number;
}

/** A stored prediction record; `values` come back as a plain array, NaN preserved. */
export interface StoredPredictions {
  /** Id of the run the predictions belong to. */
  runId: string;
  /** Fold index. */
  fold: number;
  /** ISO date per row. */
  dates: string[];
  /** Symbol per row. */
  symbols: string[];
  /** `rows × width` scores, row-major. */
  values: number[];
  /** Scores per row. */
  width: number;
  /** Epoch milliseconds when it was written. */
  createdAt: number;
}

// ---------------------------------------------------------------------------------------------------------------------
// Dashboard read queries (additive, read-only): filtered and sorted run pages with cursors, fold aggregates, backtest
// summaries without their equity curves, equity curves on their own, and a change token for response caching.
// ---------------------------------------------------------------------------------------------------------------------

/**
 * Where a run-level metric is read from, for filtering and sorting runs:
 * - `pooled`: the run summary's `pooled` map (out-of-sample metrics over all folds, written by `finishRun`);
 * - `backtest`: the backtest's strategy metrics (`sharpe`, `maxDrawdown`, ...);
 * - `buyAndHold`: buy & hold's metrics on the same backtest window;
 * - `foldMean`: the mean of a fold metric over the run's folds where it is defined.
 */
export type RunMetricSource = "pooled" | "backtest" | "buyAndHold" | "foldMean";

/** The metric sources, in documentation order. */
export const RUN_METRIC_SOURCES: readonly RunMetricSource[] = ["pooled", "backtest", "buyAndHold", "foldMean"];

/** A run-level metric: its source and its name within that source (letters, digits and `_`, ≤ 64 characters). */
export interface RunMetricRef {
  /** Which stored map the metric comes from. */
  source: RunMetricSource;
  /** The metric's key in that map, e.g. `accuracy`, `sharpe`. */
  name: string;
}

/** A threshold on a run-level metric. Runs where the metric is missing or undefined (NaN) never pass one. */
export interface RunMetricFilter {
  /** The metric compared. */
  metric: RunMetricRef;
  /** Keep runs whose metric is ≥ this (inclusive). */
  min?: number;
  /** Keep runs whose metric is ≤ this (inclusive). */
  max?: number;
}

/**
 * The order of a run page. Ties (and every `createdAt` order) are broken by run id in the same direction, so the order
 * is total and a cursor is unambiguous. Runs whose sort metric is missing or undefined come last in both directions.
 */
export interface RunOrder {
  /** `createdAt` (default), `finishedAt` (running runs last) or a stored metric. */
  by: "createdAt" | "finishedAt" | RunMetricRef;
  /** Default `desc` (newest or largest first). */
  direction?: "asc" | "desc";
}

/**
 * Filters, order and page of `queryRuns`. Each list filter keeps runs matching any of its values; different filters
 * must all hold. Omitted or empty filters keep every run.
 */
export interface RunQuery {
  /** Model kinds, e.g. `["xgboost", "lstm"]`. */
  models?: readonly string[];
  /** Runs trading at least one of these symbols. */
  symbols?: readonly string[];
  /** Data sources exactly as stored (`prices/`, `synthetic:planted`, ...). */
  dataSources?: readonly string[];
  /** Life-cycle states. */
  statuses?: readonly RunStatus[];
  /** Created at or after this time (epoch ms, inclusive). */
  createdFrom?: number;
  /** Created before this time (epoch ms, exclusive). */
  createdTo?: number;
  /** Metric thresholds, all of which must hold. At most 8. */
  metrics?: readonly RunMetricFilter[];
  /** Order (default newest first). */
  order?: RunOrder;
  /** Page size, 1–1000 (default 50). */
  first?: number;
  /** The `endCursor` of the previous page, from the same filters and order. */
  after?: string | null;
}

/** One page of `queryRuns`. */
export interface RunPage {
  /** The runs of this page, in order. */
  runs: RunSummary[];
  /** The value each run was sorted by (epoch ms for times; null for a missing metric), parallel to `runs`. */
  sortValues: (number | null)[];
  /** Opaque cursor of each run (pass one as `after` to continue after it), parallel to `runs`. */
  cursors: string[];
  /** How many runs match the filters, over all pages. */
  totalCount: number;
  /** True when more runs follow this page. */
  hasNextPage: boolean;
}

/**
 * Summary statistics of one metric over a run's folds. Only defined values count: NaN (undefined on a fold) is left
 * out and `n` says how many values remain. `std` is the sample standard deviation (n − 1), null for n < 2; `mean`,
 * `min` and `max` are null for n = 0.
 */
export interface MetricAggregate {
  /** The metric's key in the fold maps. */
  name: string;
  /** Folds where the metric is defined. */
  n: number;
  /** Mean over those folds. */
  mean: number | null;
  /** Sample standard deviation over those folds (n − 1 in the denominator). */
  std: number | null;
  /** Smallest value. */
  min: number | null;
  /** Largest value. */
  max: number | null;
}

/** Aggregates of every fold metric and baseline of one run, names in first-seen order (by fold index). */
export interface FoldAggregates {
  /** Id of the run. */
  runId: string;
  /** Number of stored folds. */
  folds: number;
  /** Per fold metric (`accuracy`, `ic`, ...). */
  metrics: MetricAggregate[];
  /** Per baseline (`coinFlip`, `majorityClass`, ...), on the same test rows as the metrics. */
  baselines: MetricAggregate[];
}

/** A stored backtest without its equity curve, plus the curve's length (cheap to list for many runs). */
export interface BacktestSummary extends Omit<StoredBacktest, "equity"> {
  /** Points (dates) in the equity curve. */
  points: number;
  /** True when buy & hold equity is stored beside the strategy's. */
  hasBuyAndHold: boolean;
}

/** A run's equity curve as stored with its backtest. */
export interface StoredEquityCurve {
  /** Id of the run. */
  runId: string;
  /** Strictly increasing ISO dates. */
  dates: string[];
  /** Strategy equity (growth of 1, after costs) per date. */
  values: number[];
  /** Buy & hold equity per date, or null when not stored. */
  buyAndHold: number[] | null;
}

/**
 * Read-only queries for dashboards. Every backend implements them with the same semantics (tests/store/contract.ts).
 */
export interface StoreDashboardReads {
  /** Runs filtered, ordered and paged by cursor, with the total count of matches. */
  queryRuns(query?: RunQuery): Promise<RunPage>;
  /** Batch: fold aggregates of these runs (one entry per existing run, any order; runs without folds have none). */
  foldAggregates(runIds: readonly string[]): Promise<FoldAggregates[]>;
  /** Batch: the backtests of these runs without their equity curves (at most one per run). */
  listBacktestSummaries(runIds: readonly string[]): Promise<BacktestSummary[]>;
  /** Batch: the equity curves of these runs' backtests (at most one per run). */
  listEquityCurves(runIds: readonly string[]): Promise<StoredEquityCurve[]>;
  /**
   * An opaque value that changes whenever a write committed by any connection or process becomes visible to this
   * store (it may also change without one). Equal tokens mean every read in between saw the same data, so a response
   * computed after reading token t stays valid while the token is still t.
   */
  changeToken(): Promise<string>;
}
