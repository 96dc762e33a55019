/**
 * The Store contract: where every run, fold, training epoch, diagnostic and backtest is recorded.
 *
 * Design decisions:
 * - **Append-only while running.** A run is created with status `running`; folds, epochs, diagnostics and the backtest
 *   are written as they are produced; `finishRun` seals it as `succeeded`, `failed` or `interrupted`. A sealed run
 *   refuses further writes, so a stored result never changes after the fact (a failed or interrupted one takes writes
 *   again only when explicitly reopened to resume it). A run that crashes keeps every fold written before the crash,
 *   and its error records the stage (and fold) it failed in (docs/design.md §6.5).
 * - **Every write is one transaction.** Bad input (unknown run id, duplicate fold index, a non-finite number where a
 *   number is required, a write to a sealed run) raises {@link StoreError} and writes nothing. The one exception is
 *   deliberate: `recordFold` of a fold the run already holds answers `duplicate` and writes nothing (a retried
 *   scale-out job, two workers racing on one fold), so the fold write is idempotent per (run, fold).
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
 * - **Out-of-sample predictions** are stored per (run, fold, split) in a compact binary form (see
 *   {@link PredictionRecord}): the test rows, and the early-stopping tail's rows (`validation`) so a resumed study can
 *   recompute everything without retraining finished folds.
 * - **Interruption and liveness** (schema version 3). A run or study whose process stops before sealing it is marked
 *   `interrupted` (with where it stopped) by that process, or later by {@link Store.markInterrupted}. A running record
 *   carries a heartbeat (`heartbeat`); one whose heartbeat is older than the store's stale threshold reads as
 *   `liveness: "stale"` (its status stays `running`). An `interrupted` or `failed` study can be reopened
 *   (`reopenStudy`) and resumed: its finished folds are kept, its succeeded runs stay sealed.
 * - **Annotations are not results** (schema version 3). Tags, notes, a study's name, and deletion are allowed on sealed
 *   records too: they never change a stored number, fold, prediction or backtest. Deleting removes a run (or a study
 *   with all its runs) and every part of it in one transaction.
 * - **Every failure is a StoreError** naming the store (the SQLite path, or the Postgres URL with its password
 *   redacted) and the cause, reads included. A damaged SQLite file is a {@link StoreDamagedError}, a write lock held
 *   by another process beyond the retries a {@link StoreLockedError}, an unreachable Postgres server (or a refused
 *   login) a {@link StoreUnavailableError}.
 *
 * @module
 */

import type { DateWindow } from "../validation/fold.ts";
import type { ProductionStore } from "./production.ts";
import { StoreError } from "../errors.ts";
export { StoreError };

/**
 * The store file is damaged (SQLite: `database disk image is malformed`, `file is not a database`, or a failed
 * integrity check). Nothing was written, and the store refuses every further write through this connection.
 */
export class StoreDamagedError extends StoreError {}

/** Another process held the store's write lock through every retry; nothing was written. Try again later. */
export class StoreLockedError extends StoreError {}

/** The store's server cannot be used: unreachable, refusing connections or the login, or the database is missing. */
export class StoreUnavailableError extends StoreError {}

/**
 * Life cycle of a run or study: created `running`; sealed `succeeded` or `failed` by `finishRun`/`finishStudy`;
 * `interrupted` when its process was stopped (a signal, a crash found by a stale heartbeat) before it could seal it.
 * `failed` and `interrupted` records can be reopened (back to `running`); `succeeded` is final.
 */
export type RunStatus = "running" | "succeeded" | "failed" | "interrupted";

/** The statuses a run can have, in life-cycle order. */
export const RUN_STATUSES: readonly RunStatus[] = ["running", "succeeded", "failed", "interrupted"];

/**
 * Whether a `running` record's process still shows signs of life: `live` when its heartbeat (or, before the first
 * heartbeat, its creation) is at most the store's stale threshold old, `stale` otherwise. Sealed records have none.
 */
export type Liveness = "live" | "stale";

/** Default age (ms) after which a running record's heartbeat is stale: 60 s. Heartbeat every ~10 s. */
export const DEFAULT_STALE_AFTER_MS = 60_000;

/** A JSON value (what `JSON.stringify` round-trips). */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** Why and where a run (or study) failed or was interrupted. */
export interface RunError {
  /** The error message, as thrown (or what stopped it, e.g. `interrupted by SIGINT`). */
  message: string;
  /** Pipeline stage the run was in (`load`, `features`, `audit`, `fold`, `backtest`, ...). */
  stage?: string;
  /** Fold index being processed when it failed, if any. */
  fold?: number;
  /** Error class name, e.g. `DataError`. */
  name?: string;
  /** Model entry being trained when it stopped (schema version 3). */
  entry?: string;
  /** The signal that stopped the process, e.g. `SIGINT`, `SIGTERM` (schema version 3). */
  signal?: string;
}

/** One earlier ending of a record that was reopened: what it was and when. */
export interface Reopening {
  /** Epoch milliseconds when it was reopened. */
  at: number;
  /** The status it had before reopening. */
  status: "failed" | "interrupted";
  /** The error it had. */
  error: RunError;
  /** Epoch milliseconds when it had been sealed. */
  finishedAt: number;
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
  /** Set when `status` is `failed` or `interrupted`: the error and where it happened. */
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
  // --- Liveness and annotations (schema version 3) ---
  /** Epoch milliseconds of the last heartbeat (creation counts as one), or null (runs stored before version 3). */
  heartbeatAt: number | null;
  /** `live` or `stale` while `running` (see {@link Liveness}); null once sealed. Derived when read, never stored. */
  liveness: Liveness | null;
  /** Tags, sorted (code-unit order). */
  tags: string[];
  /** Free-text note, or null. */
  note: string | null;
  /** Earlier endings, oldest first, when the run was reopened (empty otherwise). */
  reopened: Reopening[];
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

/** How `finishRun` (or `finishStudy`) seals a record. `failed` and `interrupted` say where, in `error`. */
export type FinishRun =
  | { status: "succeeded"; summary?: Record<string, unknown> | null }
  | { status: "failed"; error: RunError; summary?: Record<string, unknown> | null }
  | { status: "interrupted"; error: RunError; summary?: Record<string, unknown> | null };

/**
 * What `finishRun` may write in the same transaction as the sealing, so a run's last stage is all or nothing (an
 * interruption never leaves a backtest or verdict diagnostics on an unsealed run that a resume would write again).
 */
export interface RunFinalParts {
  /** The run's backtest (replaces an earlier one). */
  backtest?: BacktestRecord;
  /** Diagnostics of the whole run or of any fold. */
  diagnostics?: DiagnosticRecord[];
}

/**
 * What `recordFold` writes with a fold, in one transaction: a fold row then exists exactly when all its parts do,
 * which is what "finished fold" means to a resume. Every part must belong to the fold (same fold index).
 */
export interface FoldParts {
  /** Prediction records of the fold: at most one per split (`test`, `validation`). */
  predictions?: PredictionRecord[];
  /** The fold's training epochs. */
  epochs?: EpochRecord[];
  /** The fold's diagnostics. */
  diagnostics?: DiagnosticRecord[];
}

/** What `recordFold` did: `written`, or `duplicate` when the run already held the fold (nothing written). */
export type FoldWriteOutcome = "written" | "duplicate";

/** Filters of `listRuns` (and `listStudies`). */
export interface ListRunsOptions {
  /** At most this many runs (default 50, at most 1000). */
  limit?: number;
  /** Skip this many (newest first), for paging. */
  offset?: number;
  /** Only runs with this status. */
  status?: RunStatus;
  /** Only records carrying this tag (schema version 3). */
  tag?: string;
}

/** Options of `markInterrupted`. */
export interface InterruptOptions {
  /**
   * Refuse (StoreError, nothing written) unless the record's heartbeat is stale when the transaction runs, so a reaper
   * racing a heartbeat never interrupts a live process. Default false (a process interrupting itself is live).
   */
  onlyIfStale?: boolean;
}

/** The records `markInterrupted` changed. */
export interface InterruptedRecords {
  /** Studies marked interrupted (zero or one). */
  studies: string[];
  /** Runs marked interrupted, in creation order. */
  runs: string[];
}

/** A run taking writes again after `reopenRun` or `reopenStudy`. */
export interface ReopenedRun {
  /** The run's id. */
  runId: string;
  /** Its model entry, or null. */
  entry: string | null;
  /** Indexes of its finished folds (fold rows), kept with every part of them; a resume skips them. */
  folds: number[];
  /**
   * Parts of unfinished folds removed so those folds can be trained and recorded again: epochs, diagnostics and
   * prediction records whose fold index has no fold row (left by a process stopped between its per-part writes).
   */
  discarded: { epochs: number; diagnostics: number; predictions: number };
}

/** A study taking writes again after `reopenStudy`. */
export interface ReopenedStudy {
  /** The study's id. */
  studyId: string;
  /** Its runs that were `failed` or `interrupted` and now run again, in creation order (succeeded runs stay sealed). */
  runs: ReopenedRun[];
}

/**
 * The run store. Every method is async so network backends fit the same contract. The production methods (models,
 * production predictions, run backtests, sweeps and trials; schema version 4) are declared in ./production.ts.
 */
export interface Store extends StoreDashboardReads, StoreStudyReads, ProductionStore {
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
  /**
   * Seals a running run as succeeded, failed or interrupted, writing `parts` (backtest, diagnostics) in the same
   * transaction.
   */
  finishRun(runId: string, outcome: FinishRun, parts?: RunFinalParts): Promise<void>;
  /**
   * Records a finished fold with all its parts in one transaction (see {@link FoldParts}), keyed by (run, fold index):
   * the one fold write of a study, local or on scale-out workers. When the run already holds a fold with this index
   * nothing is written and `duplicate` is returned, whatever the run's status: a job retried after its first attempt
   * committed (a worker killed before it could report success, or two workers racing on a job the queue thought
   * stalled) counts as done and never stores the fold twice or half. Otherwise `written`, or refused like `appendFold`
   * (unknown or sealed run), and when a part names another fold, repeats a prediction split or collides with a stored
   * part (nothing written).
   */
  recordFold(runId: string, fold: FoldRecord, parts?: FoldParts): Promise<FoldWriteOutcome>;
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
   * Seals a running study as succeeded, failed or interrupted, like `finishRun`. Refused while any of its runs is still
   * running (finish them first, or use `markInterrupted`, which seals a study and its running runs together), so a
   * sealed study and its runs never change again unless reopened; a sealed study accepts no new runs.
   */
  finishStudy(id: string, outcome: FinishRun): Promise<void>;
  /** A study with the summaries of its runs (in creation order), read as one consistent snapshot; undefined if unknown. */
  getStudy(id: string): Promise<Study | undefined>;
  /** Batch: the studies with these ids that exist (any order). */
  getStudies(ids: readonly string[]): Promise<StudySummary[]>;
  /** Studies, newest first; `limit`, `offset`, `status` and `tag` as in `listRuns`. */
  listStudies(options?: ListRunsOptions): Promise<StudySummary[]>;
  /**
   * Records the predictions of one fold of a running run, for one split (`test` unless `split` says `validation`).
   * Refused for an unknown or sealed run, a (run, fold, split) that already has predictions, and malformed records
   * (see {@link PredictionRecord}).
   */
  appendPredictions(runId: string, predictions: PredictionRecord): Promise<void>;
  /** Batch: the prediction records of these runs, by run, fold, then split (`test` before `validation`). */
  listPredictions(runIds: readonly string[], options?: ListPredictionsOptions): Promise<StoredPredictions[]>;

  // --- Interruption, liveness, resumption (schema version 3) ---

  /**
   * Records that the process of a running study (and of its run `runId`, when given) is alive: sets `heartbeatAt` to
   * now. Call it every ~10 s while training. `studyId` may also be the id of a run created without a study. Refused
   * when the record is unknown or not running; an `interrupted` record says it was marked interrupted (by a reaper
   * that found it stale), so the process learns it should stop.
   */
  heartbeat(studyId: string, runId?: string): Promise<void>;
  /**
   * Marks a running study and every one of its running runs `interrupted` with `error` (where it stopped), in one
   * transaction; with a run id, that run only. What a signal handler, `candor runs --reap` and GraphQL call. Refused
   * when the record is unknown or not running, or (with `onlyIfStale`) while its heartbeat is fresh.
   */
  markInterrupted(id: string, error: RunError, options?: InterruptOptions): Promise<InterruptedRecords>;
  /**
   * Lets a `failed` or `interrupted` study take writes again: the study and each of its failed or interrupted runs go
   * back to `running` (error and finish time cleared, the earlier ending kept in `reopened`, heartbeat now). Finished
   * folds are kept; parts of unfinished folds are discarded (see {@link ReopenedRun}); succeeded runs stay sealed.
   * Refused for an unknown, running or succeeded study.
   */
  reopenStudy(studyId: string): Promise<ReopenedStudy>;
  /**
   * Lets one `failed` or `interrupted` run take writes again, as `reopenStudy` does for each of its runs. Refused for
   * an unknown, running or succeeded run, and when its study is not running (reopen the study instead).
   */
  reopenRun(runId: string): Promise<ReopenedRun>;

  // --- Annotations and removal (schema version 3); allowed on sealed records: they change no result ---

  /**
   * Tags a run or study (by id). Tags are 1–64 characters without control characters or surrounding spaces, at most
   * 100 per record. Returns false when it already had the tag.
   */
  tag(id: string, tag: string): Promise<boolean>;
  /** Removes a tag from a run or study. Returns false when it did not have it. */
  untag(id: string, tag: string): Promise<boolean>;
  /** Sets (at most 10,000 characters) or clears (null or empty) the free-text note of a run or study. */
  setNote(id: string, note: string | null): Promise<void>;
  /** Sets (1–200 characters) or clears (null) a study's name. */
  renameStudy(id: string, name: string | null): Promise<void>;
  /**
   * Deletes a run with its folds, epochs, diagnostics, backtest, predictions and tags, in one transaction. Refused for
   * an unknown or running run (mark it interrupted first, so no live process keeps writing into a deleted run). Its
   * trials stay counted: in the same transaction, a succeeded run's own backtest and the backtests added to it are
   * retired into the trial registry (`countTrials`), so N and the trial Sharpe ratios never shrink.
   */
  deleteRun(id: string): Promise<void>;
  /**
   * Deletes a study with all its runs and every part of them, in one transaction; refused like `deleteRun`. Its runs'
   * trials stay counted, as for `deleteRun`.
   */
  deleteStudy(id: string): Promise<void>;
}

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
  /** Set when `status` is `failed` or `interrupted`. */
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
  // --- Liveness and annotations (schema version 3) ---
  /** Epoch milliseconds of the last heartbeat (creation counts as one), or null (studies stored before version 3). */
  heartbeatAt: number | null;
  /** `live` or `stale` while `running` (see {@link Liveness}); null once sealed. Derived when read, never stored. */
  liveness: Liveness | null;
  /** Tags, sorted (code-unit order). */
  tags: string[];
  /** Free-text note, or null. */
  note: string | null;
  /** Earlier endings, oldest first, when the study was reopened (empty otherwise). */
  reopened: Reopening[];
}

/** A study with its runs. */
export interface Study extends StudySummary {
  /** Summaries of its runs, in creation order. */
  runs: RunSummary[];
}

/**
 * Which rows of a fold a prediction record holds: `test` (the out-of-sample test rows) or `validation` (the
 * early-stopping tail carved from training, stored so a resumed study recomputes without retraining).
 */
export type PredictionSplit = "test" | "validation";

/** The prediction splits, in listing order. */
export const PREDICTION_SPLITS: readonly PredictionSplit[] = ["test", "validation"];

/** Options of `listPredictions`. */
export interface ListPredictionsOptions {
  /** Only records of this split (default: both). */
  split?: PredictionSplit;
}

/**
 * Out-of-sample predictions of one fold of a run: one row per (date, symbol) tested, `width` scores per row.
 * Stored compactly (day numbers, a symbol dictionary with an index per row, little-endian Float64 scores), so a
 * 2-million-row fold costs about 16 bytes per row plus 8 per extra score, never per-row JSON.
 */
export interface PredictionRecord {
  /** Fold index (an integer ≥ 0); one record per (run, fold, split). */
  fold: number;
  /** Which rows: `test` (default) or `validation` (schema version 3). */
  split?: PredictionSplit;
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
  /** Which rows of the fold (records stored before schema version 3 are `test`). */
  split: PredictionSplit;
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
 * - `pooled`: the run summary's `pooled` map (out-of-sample metrics over all folds, written by `finishRun`); a name
 *   that is not a number there is read from `pooled.metrics` (where a study's pooled line keeps its other metrics);
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
  /** Runs that are entries of these studies. */
  studyIds?: readonly string[];
  /** Target kinds (`direction`, `direction3`, `return`, `excess`): the run config's `target.kind`; runs without one never match. */
  targetKinds?: readonly string[];
  /** Verdicts (`edge`, `no-edge`): the run summary's `pooled.verdict`; runs without one never match. */
  verdicts?: readonly string[];
  /** Whether the walk-forward-efficiency gate passed (the run summary's `gate.passed`); runs without a gate never match. */
  gatePassed?: boolean;
  /** Runs carrying at least one of these tags (the run's own tags, not its study's). */
  tags?: readonly string[];
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

// ---------------------------------------------------------------------------------------------------------------------
// Dashboard reads for studies and prediction pages (additive, read-only): filtered and sorted study pages with cursors,
// the prediction records of runs without their rows, and a slice of one record's rows; optional change notifications.
// ---------------------------------------------------------------------------------------------------------------------

/**
 * Filters, order and page of `queryStudies`. Each list filter keeps studies matching any of its values; different
 * filters must all hold. Omitted or empty filters keep every study.
 */
export interface StudyQuery {
  /** Life-cycle states. */
  statuses?: readonly RunStatus[];
  /** Data sources exactly as stored. */
  dataSources?: readonly string[];
  /** Target kinds: the study config's `target.kind` (studies migrated from schema version 1 have none). */
  targetKinds?: readonly string[];
  /** Studies planning at least one entry of these model kinds. */
  modelKinds?: readonly string[];
  /** Studies carrying at least one of these tags (the study's own tags, not its runs'). */
  tags?: readonly string[];
  /** Studies whose name contains this text (case-insensitive for ASCII letters; 1–200 characters). */
  nameContains?: string;
  /** Created at or after this time (epoch ms, inclusive). */
  createdFrom?: number;
  /** Created before this time (epoch ms, exclusive). */
  createdTo?: number;
  /** Order (default newest first); ties broken by id in the same direction; unfinished studies last by `finishedAt`. */
  order?: { by: "createdAt" | "finishedAt"; direction?: "asc" | "desc" };
  /** Page size, 1–1000 (default 50). */
  first?: number;
  /** The `endCursor` of the previous page, from the same filters and order. */
  after?: string | null;
}

/** One page of `queryStudies`. */
export interface StudyPage {
  /** The studies of this page, in order. */
  studies: StudySummary[];
  /** Opaque cursor of each study (pass one as `after` to continue after it), parallel to `studies`. */
  cursors: string[];
  /** How many studies match the filters, over all pages. */
  totalCount: number;
  /** True when more studies follow this page. */
  hasNextPage: boolean;
}

/** A stored prediction record without its rows: which (run, fold) it is and its size. */
export interface PredictionFold {
  /** Id of the run. */
  runId: string;
  /** Fold index. */
  fold: number;
  /** Which rows of the fold: `test` or `validation` (the early-stopping tail). */
  split: PredictionSplit;
  /** Rows (date, symbol) predicted. */
  rows: number;
  /** Scores per row. */
  width: number;
  /** Epoch milliseconds when it was written. */
  createdAt: number;
}

/** Rows `[offset, offset + limit)` of the prediction record of (run, fold, split), in stored row order. */
export interface PredictionSlice {
  /** Id of the run. */
  runId: string;
  /** Fold index. */
  fold: number;
  /** Which record of the fold (default `test`). */
  split?: PredictionSplit;
  /** First row (≥ 0). */
  offset: number;
  /** Rows at most (1–10,000). */
  limit: number;
}

/**
 * Read-only queries for dashboards over studies and predictions. Every backend implements them with the same semantics
 * (tests/store/dashboard_reads_test.ts). Reading a slice decodes only the rows asked for, whatever the record's size.
 */
export interface StoreStudyReads {
  /** Studies filtered, ordered and paged by cursor, with the total count of matches. */
  queryStudies(query?: StudyQuery): Promise<StudyPage>;
  /** Batch: the prediction records of these runs without their rows, by run, fold, then split. */
  listPredictionFolds(runIds: readonly string[]): Promise<PredictionFold[]>;
  /**
   * Batch: slices of prediction records, one result per slice whose (run, fold, split) has a record, in the order asked;
   * `dates`, `symbols` and `values` hold only the slice's rows (fewer past the end of the record).
   */
  readPredictionSlices(slices: readonly PredictionSlice[]): Promise<StoredPredictions[]>;
  /**
   * Calls `listener` after writes committed by any connection or process (Postgres: LISTEN/NOTIFY), and once whenever
   * notifications may have been missed (a reconnect). Resolves to a function that stops listening. Absent on backends
   * without push notifications: poll {@link StoreDashboardReads.changeToken} instead.
   */
  onChange?(listener: () => void): Promise<() => Promise<void>>;
}
