/**
 * The SQLite run store, on Deno's built-in `node:sqlite` (no native dependency to install).
 *
 * - Opened with WAL (readers never block the writer, a crash never corrupts committed runs), a busy timeout (a second
 *   process waits for the write lock instead of failing at once) and foreign keys on.
 * - Every write is one `BEGIN IMMEDIATE` transaction: the write lock is taken before the checks read anything, so a
 *   check and the write it guards cannot interleave with another connection. Any failure rolls back and surfaces as
 *   {@link StoreError}; nothing is written. A write lock still held by another process after the busy timeout is
 *   retried a bounded number of times with doubling backoff, then reported as {@link StoreLockedError}.
 * - Every read and write failure is a StoreError naming the file and the cause; a damaged file is a
 *   {@link StoreDamagedError}, after which this connection refuses every write.
 * - **Integrity.** Opening runs `PRAGMA quick_check` on every table except the bulk `predictions` (about 1 ms here
 *   whatever the predictions weigh); the first write of a connection runs it on the whole file (about 0.2–0.3 s per
 *   100 MB here), so a damaged file is never written into. `checkStore` (integrity.ts) runs the full check on demand.
 * - Migrations run at open inside an immediate transaction, so two processes opening a fresh file migrate it once.
 *
 * @module
 */

import { DatabaseSync, type SQLInputValue, type StatementSync } from "node:sqlite";
import { StoreError } from "../errors.ts";
import { newPredictionBatchId, newRunId, newStudyId, newSweepId } from "./run_id.ts";
import { type Migration, SQLITE_MIGRATIONS } from "./sqlite_schema.ts";
import { checkRunQuery, encodeCursor, foldAggregatesOf, runCountSql, runPageSql, tagsColumn } from "./run_query.ts";
import { checkPredictionSlices, checkStudyQuery, studyCountSql, studyPageSql } from "./study_query.ts";
import {
  checkAnnotatable,
  checkDeletable,
  checkHeartbeat,
  checkInterruptible,
  checkReopenable,
  checkRunStudyOpen,
  checkStaleAfterMs,
  livenessOf,
  type RecordState,
  reopeningOf,
} from "./lifecycle.ts";
import {
  type BacktestRecord,
  type BacktestSummary,
  type DiagnosticRecord,
  type DiagnosticSeverity,
  type EpochRecord,
  type FinishRun,
  type FoldAggregates,
  type FoldParts,
  type FoldRecord,
  type FoldWriteOutcome,
  type InterruptedRecords,
  type InterruptOptions,
  type ListPredictionsOptions,
  type ListRunsOptions,
  type NewRun,
  type NewStudy,
  PREDICTION_SPLITS,
  type PredictionFold,
  type PredictionRecord,
  type PredictionSlice,
  type PredictionSplit,
  type ReopenedRun,
  type ReopenedStudy,
  type Reopening,
  type Run,
  type RunError,
  type RunFinalParts,
  type RunPage,
  type RunQuery,
  type RunStatus,
  type RunSummary,
  type Store,
  StoreDamagedError,
  type StoredBacktest,
  type StoredDiagnostic,
  type StoredEpoch,
  type StoredEquityCurve,
  type StoredFold,
  type StoredPredictions,
  StoreLockedError,
  type Study,
  type StudyEntry,
  type StudyPage,
  type StudyQuery,
  type StudySummary,
} from "./store.ts";
import {
  type BacktestRow,
  checkBacktest,
  checkDiagnostics,
  checkEpochs,
  checkFinalParts,
  checkFinish,
  checkFold,
  checkFoldParts,
  checkListOptions,
  checkNewRun,
  checkNewStudy,
  checkNoRunningRuns,
  checkNote,
  checkPredictions,
  checkRunError,
  checkRunStudyFields,
  checkStudyForRun,
  checkStudyName,
  checkStudyRunning,
  checkTag,
  decodeDates,
  decodePredictionRows,
  decodeValues,
  type DiagnosticRow,
  epochNumbers,
  type EpochRow,
  type FoldRow,
  MAX_TAGS,
  parseMetrics,
  type PredictionRow,
  recordKind,
  requireString,
} from "./validate.ts";
import type {
  ListProductionPredictionsOptions,
  ListTrialsOptions,
  NewModel,
  NewProductionPredictions,
  NewSweep,
  StoredModel,
  StoredProductionPredictions,
  StoredRunBacktest,
  StoredSweep,
  StoredTrial,
  TrialCount,
  TrialKey,
} from "./production.ts";
import {
  checkLastOption,
  checkListTrialsOptions,
  checkNewModel,
  checkNewSweep,
  checkProductionPredictions,
  checkTrialKey,
  perPeriodSharpe,
} from "./validate_production.ts";

/** Options of {@link SqliteStore}. */
export interface SqliteStoreOptions {
  /** Milliseconds a connection waits for another's write lock before an attempt fails (default 5000). */
  busyTimeoutMs?: number;
  /** Further attempts after a write (or read) found the store locked beyond the busy timeout (default 3). */
  lockRetries?: number;
  /** Pause before the first retry, doubled before each next one, in ms (default 250). */
  lockBackoffMs?: number;
  /** A running record whose heartbeat is older than this (ms, ≥ 1000) reads as `stale` (default 60,000). */
  staleAfterMs?: number;
  /** The clock of every time the store writes and of liveness, epoch ms (default `Date.now`; tests move time). */
  clock?: () => number;
  /**
   * `quick` (default): the table-by-table check at open and the whole-file `quick_check` before the first write (see
   * the module notes). `off`: neither (the caller checks with `checkStore`).
   */
  integrityCheck?: "quick" | "off";
  /** Migrations to apply (tests use this to simulate other versions). Default: {@link SQLITE_MIGRATIONS}. */
  migrations?: readonly Migration[];
}

type Row = Record<string, SQLInputValue>;

/** What went wrong in SQLite, by result code (the low byte of `errcode`) or, when there is none, by message. */
export function sqliteFailureKind(e: unknown): "damaged" | "locked" | "other" {
  const err = e as { errcode?: unknown; message?: unknown } | null;
  const code = typeof err?.errcode === "number" ? err.errcode & 0xff : undefined;
  const message = String(err?.message ?? "");
  // SQLITE_CORRUPT (11), SQLITE_NOTADB (26).
  if (code === 11 || code === 26 || /malformed|file is not a database/i.test(message)) return "damaged";
  // SQLITE_BUSY (5), SQLITE_LOCKED (6).
  if (code === 5 || code === 6 || /database is locked|database table is locked/i.test(message)) return "locked";
  return "other";
}

/**
 * Problems `PRAGMA quick_check` (or `integrity_check` when `full`) finds, at most `max`; empty when the file is sound.
 * With `tables`, only those tables and their indexes are checked (a partial check: cost proportional to them).
 */
export function sqliteIntegrityProblems(
  db: DatabaseSync,
  options: { full?: boolean; tables?: readonly string[]; max?: number } = {},
): string[] {
  const pragma = options.full ? "integrity_check" : "quick_check";
  const max = options.max ?? 20;
  const rows: string[] = [];
  const run = (arg: string) => {
    for (const r of db.prepare(`PRAGMA ${pragma}(${arg})`).all() as Row[]) {
      const text = String(Object.values(r)[0]);
      if (text !== "ok") rows.push(text);
    }
  };
  if (options.tables === undefined) run(String(max));
  else for (const t of options.tables) if (rows.length < max) run(`"${t.replace(/"/g, '""')}"`);
  return rows.slice(0, max);
}

/** The tables checked when a store is opened: every table but the bulk prediction arrays. */
function openCheckTables(db: DatabaseSync): string[] {
  return (db.prepare(
    "SELECT name FROM sqlite_master WHERE type = 'table' AND name <> 'predictions' ORDER BY name",
  ).all() as Row[]).map((r) => r.name as string);
}

/** Advice printed with every damage report. */
export function damageAdvice(path: string): string {
  return `Check it with candor db check --db ${path} --full; restore the file from a backup, or recover what is ` +
    `readable with the sqlite3 shell (sqlite3 ${path} .recover > recovered.sql)`;
}

function parseJson<T>(text: unknown): T {
  return JSON.parse(text as string) as T;
}

/** The columns every run read selects: the row plus its tags. */
const RUN_SELECT = `SELECT r.*, ${tagsColumn("sqlite", "run", "r")} FROM runs r`;
/** The columns every study read selects: the row plus its tags. */
const STUDY_SELECT = `SELECT s.*, ${tagsColumn("sqlite", "study", "s")} FROM studies s`;

/** The schema-version-3 fields of a run or study row (absent columns read as empty). */
function annotations(r: Row, now: number, staleAfterMs: number) {
  const heartbeatAt = (r.heartbeat_at as number | null | undefined) ?? null;
  return {
    heartbeatAt,
    liveness: livenessOf(r.status as RunStatus, heartbeatAt, r.created_at as number, now, staleAfterMs),
    tags: r.tags_json === undefined || r.tags_json === null ? [] : parseJson<string[]>(r.tags_json),
    note: (r.note as string | null | undefined) ?? null,
    reopened: r.reopened === undefined || r.reopened === null ? [] : parseJson<Reopening[]>(r.reopened),
  };
}

function runSummary(r: Row, now: number, staleAfterMs: number): RunSummary {
  return {
    id: r.id as string,
    createdAt: r.created_at as number,
    finishedAt: (r.finished_at as number | null) ?? null,
    status: r.status as RunStatus,
    error: r.error === null ? null : parseJson(r.error),
    config: parseJson(r.config),
    seed: (r.seed as number | null) ?? null,
    model: r.model as string,
    symbols: parseJson(r.symbols),
    dataSource: r.data_source as string,
    backend: (r.backend as string | null) ?? null,
    leakageOverride: r.leakage_override === 1,
    summary: r.summary === null ? null : parseJson(r.summary),
    // Study fields (schema version 2).
    studyId: (r.study_id as string | null | undefined) ?? null,
    entry: (r.entry as string | null | undefined) ?? null,
    features: r.features === null || r.features === undefined ? null : parseJson(r.features),
    dataFingerprint: (r.data_fingerprint as string | null | undefined) ?? null,
    version: (r.version as string | null | undefined) ?? null,
    ...annotations(r, now, staleAfterMs),
  };
}

function storedFold(r: Row): StoredFold {
  return {
    runId: r.run_id as string,
    index: r.fold_index as number,
    train: parseJson(r.train),
    test: parseJson(r.test),
    validation: parseJson(r.validation),
    purge: r.purge as number,
    embargo: r.embargo as number,
    nTrain: r.n_train as number,
    nTest: r.n_test as number,
    metrics: parseMetrics(r.metrics as string),
    baselines: parseMetrics(r.baselines as string),
    fitReport: parseJson(r.fit_report),
  };
}

function storedEpoch(r: Row): StoredEpoch {
  const n = epochNumbers(
    [r.train_loss, r.val_loss, r.lr, r.grad_norm, r.clip_ratio] as (number | null)[],
    r.nan_mask as number,
  );
  return {
    runId: r.run_id as string,
    fold: (r.fold_index as number | null) ?? null,
    epoch: r.epoch as number,
    trainLoss: n.trainLoss ?? NaN,
    valLoss: n.valLoss,
    lr: n.lr,
    gradNorm: n.gradNorm,
    clipRatio: n.clipRatio,
    extra: r.extra === null ? null : parseJson(r.extra),
  };
}

function storedDiagnostic(r: Row): StoredDiagnostic {
  return {
    runId: r.run_id as string,
    seq: r.seq as number,
    fold: (r.fold_index as number | null) ?? null,
    kind: r.kind as string,
    severity: r.severity as DiagnosticSeverity,
    message: r.message as string,
    data: r.data === null ? null : parseJson(r.data),
    createdAt: r.created_at as number,
  };
}

function storedBacktest(r: Row): StoredBacktest {
  return {
    runId: r.run_id as string,
    lag: r.lag as number,
    costBps: r.cost_bps as number,
    slippageBps: r.slippage_bps as number,
    annualization: r.annualization as number,
    metrics: parseMetrics(r.metrics as string),
    buyAndHold: parseMetrics(r.buy_and_hold as string),
    warnings: parseJson(r.warnings),
    equity: {
      dates: decodeDates(r.equity_dates as Uint8Array),
      values: decodeValues(r.equity_values as Uint8Array),
      buyAndHold: r.buy_and_hold_values === null ? null : decodeValues(r.buy_and_hold_values as Uint8Array),
    },
    details: r.details === null ? null : parseJson(r.details),
    createdAt: r.created_at as number,
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A {@link Store} in one SQLite file (or `:memory:`). */
export class SqliteStore implements Store {
  readonly backend = "sqlite";
  /** The file this store writes to. */
  readonly path: string;
  #db: DatabaseSync | undefined;
  readonly #busyTimeoutMs: number;
  readonly #lockRetries: number;
  readonly #lockBackoffMs: number;
  readonly #staleAfterMs: number;
  readonly #clock: () => number;
  /** Whole-file check still to run before the first write (false when done or turned off). */
  #checkBeforeWrite: boolean;
  /** Set once the file is known to be damaged: every later write is refused. */
  #damaged: { found: string; by: string } | undefined;

  /**
   * Opens (creating if needed), checks and migrates the database at `path`.
   * @throws StoreDamagedError when the open-time check finds damage (nothing is written); StoreLockedError when
   *   another process holds the write lock a migration needs through every retry; StoreError when the file cannot
   *   be opened or its schema is newer than this code.
   */
  constructor(path: string, options: SqliteStoreOptions = {}) {
    this.path = path;
    this.#busyTimeoutMs = Math.max(0, Math.floor(options.busyTimeoutMs ?? 5000));
    this.#lockRetries = Math.max(0, Math.floor(options.lockRetries ?? 3));
    this.#lockBackoffMs = Math.max(0, options.lockBackoffMs ?? 250);
    this.#staleAfterMs = checkStaleAfterMs(options.staleAfterMs);
    this.#clock = options.clock ?? Date.now;
    const check = (options.integrityCheck ?? "quick") === "quick";
    this.#checkBeforeWrite = check;
    let db: DatabaseSync;
    try {
      db = new DatabaseSync(path);
    } catch (e) {
      throw this.#failure(e, "open", "read", 1);
    }
    try {
      db.exec(`PRAGMA busy_timeout = ${this.#busyTimeoutMs}`);
      if (check) {
        // Before anything that could write (journal mode, migrations): a damaged file is never written into.
        const problems = sqliteIntegrityProblems(db, { tables: openCheckTables(db), max: 5 });
        if (problems.length > 0) {
          throw new StoreDamagedError(
            `the run store at ${path} is damaged (${problems.join("; ")}); nothing was written. ${damageAdvice(path)}`,
          );
        }
      }
      db.exec("PRAGMA foreign_keys = ON");
      if (path !== ":memory:") db.exec("PRAGMA journal_mode = WAL");
      db.exec("PRAGMA synchronous = NORMAL");
      migrate(db, options.migrations ?? SQLITE_MIGRATIONS, path, this.#lockRetries);
    } catch (e) {
      try {
        db.close();
      } catch { /* the error below says what happened */ }
      if (e instanceof StoreError) throw e;
      throw this.#failure(e, "open", "write", this.#lockRetries + 1);
    }
    this.#db = db;
  }

  /** Now, in epoch milliseconds, by the store's clock. */
  #now(): number {
    return this.#clock();
  }

  get #conn(): DatabaseSync {
    if (this.#db === undefined) throw new StoreError(`the run store at ${this.path} is closed`);
    return this.#db;
  }

  /** The StoreError for a failure of `what` (a read or a write) after `attempts` attempts. */
  #failure(e: unknown, what: string, mode: "read" | "write", attempts: number): StoreError {
    if (e instanceof StoreError) return e;
    const cause = (e as Error)?.message ?? String(e);
    const nothing = mode === "write" ? "; nothing was written" : "";
    switch (sqliteFailureKind(e)) {
      case "damaged":
        this.#damaged ??= { found: cause, by: what };
        return new StoreDamagedError(
          `${what}: the run store at ${this.path} is damaged (${cause})${nothing}; it refuses writes from now on. ${
            damageAdvice(this.path)
          }`,
          { cause: e },
        );
      case "locked":
        return new StoreLockedError(
          `${what}: the run store at ${this.path} is locked by another process: the write lock was still held after ` +
            `${attempts} attempt(s) of ${this.#busyTimeoutMs} ms each (${cause})${nothing}. Retry when the other ` +
            `process is done (fuser ${this.path} names it)`,
          { cause: e },
        );
      default:
        return new StoreError(`${what}: ${cause} (run store at ${this.path})${nothing}`, { cause: e });
    }
  }

  #backoff(attempt: number): number {
    return this.#lockBackoffMs * 2 ** attempt;
  }

  /**
   * Runs `fn` in one immediate transaction; rolls back and rethrows as StoreError on any failure. A lock held by
   * another process beyond the busy timeout is retried (bounded, with backoff); the transaction never spans an await.
   */
  async #write<T>(what: string, fn: (db: DatabaseSync) => T): Promise<T> {
    if (this.#checkBeforeWrite && this.#damaged === undefined) {
      const problems = await this.#read(what, (db) => sqliteIntegrityProblems(db, { max: 5 }));
      if (problems.length > 0) this.#damaged = { found: problems.join("; "), by: "the check before the first write" };
      this.#checkBeforeWrite = false;
    }
    if (this.#damaged !== undefined) {
      throw new StoreDamagedError(
        `${what}: the run store at ${this.path} is damaged (${this.#damaged.found}; found by ${this.#damaged.by}); ` +
          `it refuses writes. Nothing was written. ${damageAdvice(this.path)}`,
      );
    }
    for (let attempt = 0;; attempt++) {
      const db = this.#conn;
      try {
        db.exec("BEGIN IMMEDIATE");
      } catch (e) {
        if (sqliteFailureKind(e) === "locked" && attempt < this.#lockRetries) {
          await sleep(this.#backoff(attempt));
          continue;
        }
        throw this.#failure(e, `${what}: could not take the write lock`, "write", attempt + 1);
      }
      try {
        const out = fn(db);
        db.exec("COMMIT");
        return out;
      } catch (e) {
        if (db.isTransaction) {
          try {
            db.exec("ROLLBACK");
          } catch { /* the failure below says what happened */ }
        }
        if (e instanceof StoreError) throw e;
        if (sqliteFailureKind(e) === "locked" && attempt < this.#lockRetries) {
          await sleep(this.#backoff(attempt));
          continue;
        }
        throw this.#failure(e, what, "write", attempt + 1);
      }
    }
  }

  /**
   * Runs the read `fn`, in one read transaction when `snapshot` (its statements see one consistent state while other
   * processes write). Failures become StoreErrors naming the file; a lock (rare in WAL) is retried like a write's.
   */
  async #read<T>(what: string, fn: (db: DatabaseSync) => T, snapshot = false): Promise<T> {
    for (let attempt = 0;; attempt++) {
      const db = this.#conn;
      try {
        if (snapshot) db.exec("BEGIN");
        const out = fn(db);
        if (snapshot) db.exec("COMMIT");
        return out;
      } catch (e) {
        if (snapshot && db.isTransaction) {
          try {
            db.exec("ROLLBACK");
          } catch { /* the failure below says what happened */ }
        }
        if (e instanceof StoreError) throw e;
        if (sqliteFailureKind(e) === "locked" && attempt < this.#lockRetries) {
          await sleep(this.#backoff(attempt));
          continue;
        }
        throw this.#failure(e, what, "read", attempt + 1);
      }
    }
  }

  /** Maps rows to run summaries, liveness as of now. */
  #runs(rows: Row[]): RunSummary[] {
    const now = this.#now();
    return rows.map((r) => runSummary(r, now, this.#staleAfterMs));
  }

  #studies(rows: Row[]): StudySummary[] {
    const now = this.#now();
    return rows.map((r) => studySummary(r, now, this.#staleAfterMs));
  }

  /** A run's or study's life-cycle state, read inside a transaction. */
  #state(db: DatabaseSync, kind: "run" | "study", id: string): RecordState | undefined {
    const table = kind === "run" ? "runs" : "studies";
    const row = db.prepare(`SELECT status, created_at, heartbeat_at, finished_at, error FROM ${table} WHERE id = ?`)
      .get(id) as Row | undefined;
    return row === undefined ? undefined : {
      status: row.status as RunStatus,
      createdAt: row.created_at as number,
      heartbeatAt: (row.heartbeat_at as number | null) ?? null,
      finishedAt: (row.finished_at as number | null) ?? null,
      error: row.error === null ? null : parseJson<RunError>(row.error),
    };
  }

  /** Refuses unknown and sealed runs (inside a write transaction). */
  #requireRunning(db: DatabaseSync, runId: string, what: string): void {
    requireString(runId, "runId");
    const row = db.prepare("SELECT status FROM runs WHERE id = ?").get(runId) as Row | undefined;
    if (row === undefined) {
      throw new StoreError(`${what}: unknown run id ${JSON.stringify(runId)}; nothing was written`);
    }
    if (row.status !== "running") {
      throw new StoreError(
        `${what}: run ${runId} is already ${row.status}; a finished run is sealed and refuses writes. ` +
          `Start a new run instead${
            row.status === "succeeded" ? "" : ", or reopen it (reopenRun / reopenStudy) to resume it"
          }. Nothing was written`,
      );
    }
  }

  // --- Inserts shared by the single-part and the all-parts writes ---

  #insertFold(db: DatabaseSync, runId: string, f: FoldRow, what: string): void {
    const dup = db.prepare("SELECT 1 FROM folds WHERE run_id = ? AND fold_index = ?").get(runId, f.index);
    if (dup !== undefined) {
      throw new StoreError(`${what}: run ${runId} already has fold ${f.index}; nothing was written`);
    }
    db.prepare(
      `INSERT INTO folds (run_id, fold_index, train, test, validation, purge, embargo, n_train, n_test, metrics,
         baselines, fit_report, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(
      runId,
      f.index,
      f.train,
      f.test,
      f.validation,
      f.purge,
      f.embargo,
      f.nTrain,
      f.nTest,
      f.metrics,
      f.baselines,
      f.fitReport,
      this.#now(),
    );
  }

  #insertEpochs(db: DatabaseSync, runId: string, rows: EpochRow[], what: string): void {
    const exists = db.prepare("SELECT 1 FROM epochs WHERE run_id = ? AND coalesce(fold_index, -1) = ? AND epoch = ?");
    const insert = db.prepare(
      `INSERT INTO epochs (run_id, fold_index, epoch, train_loss, val_loss, lr, grad_norm, clip_ratio, nan_mask,
         extra) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    for (const e of rows) {
      if (exists.get(runId, e.fold ?? -1, e.epoch) !== undefined) {
        throw new StoreError(
          `${what}: run ${runId} already has epoch ${e.epoch} of fold ${e.fold}; nothing was written`,
        );
      }
      insert.run(runId, e.fold, e.epoch, ...e.values, e.nanMask, e.extra);
    }
  }

  #insertDiagnostics(db: DatabaseSync, runId: string, rows: DiagnosticRow[]): void {
    const insert = db.prepare(
      `INSERT INTO diagnostics (run_id, fold_index, kind, severity, message, data, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?)`,
    );
    const now = this.#now();
    for (const d of rows) insert.run(runId, d.fold, d.kind, d.severity, d.message, d.data, now);
  }

  #insertBacktest(db: DatabaseSync, runId: string, b: BacktestRow): void {
    db.prepare("DELETE FROM backtests WHERE run_id = ?").run(runId);
    db.prepare(
      `INSERT INTO backtests (run_id, lag, cost_bps, slippage_bps, annualization, metrics, buy_and_hold, warnings,
         equity_dates, equity_values, buy_and_hold_values, details, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(
      runId,
      b.lag,
      b.costBps,
      b.slippageBps,
      b.annualization,
      b.metrics,
      b.buyAndHold,
      b.warnings,
      b.equityDates,
      b.equityValues,
      b.buyAndHoldValues,
      b.details,
      this.#now(),
    );
  }

  #insertPredictions(db: DatabaseSync, runId: string, p: PredictionRow, what: string): void {
    const dup = db.prepare("SELECT 1 FROM predictions WHERE run_id = ? AND fold_index = ? AND split = ?")
      .get(runId, p.fold, p.split);
    if (dup !== undefined) {
      throw new StoreError(
        `${what}: run ${runId} already has predictions for fold ${p.fold} (split ${p.split}); nothing was written`,
      );
    }
    db.prepare(
      `INSERT INTO predictions (run_id, fold_index, split, n_rows, width, dates, symbol_dictionary, symbol_codes,
         scores, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(runId, p.fold, p.split, p.rows, p.width, p.dates, p.symbolDictionary, p.symbolCodes, p.values, this.#now());
  }

  // --- Runs ---

  async createRun(run: NewRun): Promise<string> {
    const row = checkNewRun(run);
    const study = checkRunStudyFields(run);
    const id = newRunId();
    await this.#write("createRun", (db) => {
      if (study.studyId !== null) this.#requireStudyForRun(db, study.studyId, study.entry);
      const now = this.#now();
      db.prepare(
        `INSERT INTO runs (id, created_at, status, config, seed, model, symbols, data_source, backend,
           leakage_override, study_id, entry, features, data_fingerprint, version, heartbeat_at)
           VALUES (?, ?, 'running', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ).run(
        id,
        now,
        row.config,
        row.seed,
        row.model,
        row.symbols,
        row.dataSource,
        row.backend,
        row.leakageOverride ? 1 : 0,
        study.studyId,
        study.entry,
        study.features,
        study.dataFingerprint,
        study.version,
        now,
      );
    });
    return id;
  }

  async appendFold(runId: string, fold: FoldRecord): Promise<void> {
    const f = checkFold(fold);
    await this.#write("appendFold", (db) => {
      this.#requireRunning(db, runId, "appendFold");
      this.#insertFold(db, runId, f, "appendFold");
    });
  }

  async recordFold(runId: string, fold: FoldRecord, parts?: FoldParts): Promise<FoldWriteOutcome> {
    const f = checkFold(fold);
    const p = checkFoldParts(f.index, parts);
    requireString(runId, "runId");
    return await this.#write("recordFold", (db): FoldWriteOutcome => {
      // The key first (the write transaction holds the database's write lock): a fold already stored means an earlier
      // attempt committed, whatever the run's status since.
      if (db.prepare("SELECT 1 FROM folds WHERE run_id = ? AND fold_index = ?").get(runId, f.index) !== undefined) {
        return "duplicate";
      }
      this.#requireRunning(db, runId, "recordFold");
      this.#insertFold(db, runId, f, "recordFold");
      for (const r of p.predictions) this.#insertPredictions(db, runId, r, "recordFold");
      this.#insertEpochs(db, runId, p.epochs, "recordFold");
      this.#insertDiagnostics(db, runId, p.diagnostics);
      return "written";
    });
  }

  async appendEpochs(runId: string, epochs: EpochRecord[]): Promise<void> {
    const rows = checkEpochs(epochs);
    await this.#write("appendEpochs", (db) => {
      this.#requireRunning(db, runId, "appendEpochs");
      this.#insertEpochs(db, runId, rows, "appendEpochs");
    });
  }

  async appendDiagnostics(runId: string, diagnostics: DiagnosticRecord[]): Promise<void> {
    const rows = checkDiagnostics(diagnostics);
    await this.#write("appendDiagnostics", (db) => {
      this.#requireRunning(db, runId, "appendDiagnostics");
      this.#insertDiagnostics(db, runId, rows);
    });
  }

  async putBacktest(runId: string, backtest: BacktestRecord): Promise<void> {
    const b = checkBacktest(backtest);
    await this.#write("putBacktest", (db) => {
      this.#requireRunning(db, runId, "putBacktest");
      this.#insertBacktest(db, runId, b);
    });
  }

  async finishRun(runId: string, outcome: FinishRun, parts?: RunFinalParts): Promise<void> {
    const f = checkFinish(outcome);
    const p = checkFinalParts(parts);
    await this.#write("finishRun", (db) => {
      this.#requireRunning(db, runId, "finishRun");
      if (p.backtest !== null) this.#insertBacktest(db, runId, p.backtest);
      this.#insertDiagnostics(db, runId, p.diagnostics);
      db.prepare("UPDATE runs SET status = ?, error = ?, summary = ?, finished_at = ? WHERE id = ?")
        .run(f.status, f.error, f.summary, this.#now(), runId);
    });
  }

  async listRuns(options: ListRunsOptions = {}): Promise<RunSummary[]> {
    const { limit, offset, status, tag } = checkListOptions(options);
    const where: string[] = [];
    const params: SQLInputValue[] = [];
    if (status !== null) where.push("r.status = ?"), params.push(status);
    if (tag !== null) {
      where.push("EXISTS (SELECT 1 FROM run_tags t WHERE t.run_id = r.id AND t.tag = ?)"), params.push(tag);
    }
    const sql = `${RUN_SELECT} ${where.length > 0 ? `WHERE ${where.join(" AND ")}` : ""}
      ORDER BY r.created_at DESC, r.id DESC LIMIT ? OFFSET ?`;
    return await this.#read("listRuns", (db) => this.#runs(db.prepare(sql).all(...params, limit, offset) as Row[]));
  }

  async #byRunIds(what: string, sql: string, ids: readonly string[]): Promise<Row[]> {
    if (!Array.isArray(ids)) throw new StoreError(`${what}: expected an array of run ids`);
    if (ids.length === 0) return [];
    return await this.#read(what, (db) => db.prepare(sql).all(JSON.stringify(ids)) as Row[]);
  }

  async getRuns(ids: readonly string[]): Promise<RunSummary[]> {
    return this.#runs(
      await this.#byRunIds("getRuns", `${RUN_SELECT} WHERE r.id IN (SELECT value FROM json_each(?))`, ids),
    );
  }

  async listFolds(runIds: readonly string[]): Promise<StoredFold[]> {
    return (await this.#byRunIds(
      "listFolds",
      "SELECT * FROM folds WHERE run_id IN (SELECT value FROM json_each(?)) ORDER BY run_id, fold_index",
      runIds,
    )).map(storedFold);
  }

  async listEpochs(runIds: readonly string[]): Promise<StoredEpoch[]> {
    return (await this.#byRunIds(
      "listEpochs",
      `SELECT * FROM epochs WHERE run_id IN (SELECT value FROM json_each(?))
         ORDER BY run_id, coalesce(fold_index, -1), epoch`,
      runIds,
    )).map(storedEpoch);
  }

  async listDiagnostics(runIds: readonly string[]): Promise<StoredDiagnostic[]> {
    return (await this.#byRunIds(
      "listDiagnostics",
      "SELECT * FROM diagnostics WHERE run_id IN (SELECT value FROM json_each(?)) ORDER BY run_id, seq",
      runIds,
    )).map(storedDiagnostic);
  }

  async listBacktests(runIds: readonly string[]): Promise<StoredBacktest[]> {
    return (await this.#byRunIds(
      "listBacktests",
      "SELECT * FROM backtests WHERE run_id IN (SELECT value FROM json_each(?))",
      runIds,
    )).map(storedBacktest);
  }

  async getRun(id: string): Promise<Run | undefined> {
    requireString(id, "id");
    // One read transaction, so the parts are a consistent snapshot even while another process writes.
    return await this.#read("getRun", (db) => {
      const row = db.prepare(`${RUN_SELECT} WHERE r.id = ?`).get(id) as Row | undefined;
      if (row === undefined) return undefined;
      const folds = (db.prepare("SELECT * FROM folds WHERE run_id = ? ORDER BY fold_index").all(id) as Row[]).map(
        storedFold,
      );
      const epochs = (db.prepare(
        "SELECT * FROM epochs WHERE run_id = ? ORDER BY coalesce(fold_index, -1), epoch",
      ).all(id) as Row[]).map(storedEpoch);
      const diagnostics = (db.prepare("SELECT * FROM diagnostics WHERE run_id = ? ORDER BY seq").all(id) as Row[])
        .map(storedDiagnostic);
      const bt = db.prepare("SELECT * FROM backtests WHERE run_id = ?").get(id) as Row | undefined;
      return {
        ...this.#runs([row])[0],
        folds,
        epochs,
        diagnostics,
        backtest: bt === undefined ? null : storedBacktest(bt),
      };
    }, true);
  }

  // -------------------------------------------------------------------------------------------------------------------
  // Dashboard read queries (additive, read-only; see StoreDashboardReads in store.ts and run_query.ts).
  // -------------------------------------------------------------------------------------------------------------------

  async queryRuns(query: RunQuery = {}): Promise<RunPage> {
    const q = checkRunQuery(query);
    const page = runPageSql(q, "sqlite");
    const count = runCountSql(q, "sqlite");
    // One read transaction: the page and the count see the same snapshot.
    return await this.#read("queryRuns", (db) => {
      const rows = db.prepare(page.text).all(...page.params) as Row[];
      const total = db.prepare(count.text).get(...count.params) as Row;
      const shown = rows.slice(0, q.first);
      const sortValues = shown.map((r) => (r.sort_value as number | null) ?? null);
      return {
        runs: this.#runs(shown),
        sortValues,
        cursors: shown.map((r, i) => encodeCursor(q.order.signature, sortValues[i], r.id as string)),
        totalCount: total.n as number,
        hasNextPage: rows.length > q.first,
      };
    }, true);
  }

  async foldAggregates(runIds: readonly string[]): Promise<FoldAggregates[]> {
    const rows = await this.#byRunIds(
      "foldAggregates",
      `SELECT run_id, metrics, baselines FROM folds WHERE run_id IN (SELECT value FROM json_each(?))
         ORDER BY run_id, fold_index`,
      runIds,
    );
    return foldAggregatesOf(rows.map((r) => ({
      runId: r.run_id as string,
      metrics: parseMetrics(r.metrics as string),
      baselines: parseMetrics(r.baselines as string),
    })));
  }

  async listBacktestSummaries(runIds: readonly string[]): Promise<BacktestSummary[]> {
    const rows = await this.#byRunIds(
      "listBacktestSummaries",
      `SELECT run_id, lag, cost_bps, slippage_bps, annualization, metrics, buy_and_hold, warnings, details, created_at,
         length(equity_dates) / 4 AS points, buy_and_hold_values IS NOT NULL AS has_buy_and_hold
         FROM backtests WHERE run_id IN (SELECT value FROM json_each(?))`,
      runIds,
    );
    return rows.map((r) => ({
      runId: r.run_id as string,
      lag: r.lag as number,
      costBps: r.cost_bps as number,
      slippageBps: r.slippage_bps as number,
      annualization: r.annualization as number,
      metrics: parseMetrics(r.metrics as string),
      buyAndHold: parseMetrics(r.buy_and_hold as string),
      warnings: parseJson(r.warnings),
      details: r.details === null ? null : parseJson(r.details),
      createdAt: r.created_at as number,
      points: r.points as number,
      hasBuyAndHold: r.has_buy_and_hold === 1,
    }));
  }

  async listEquityCurves(runIds: readonly string[]): Promise<StoredEquityCurve[]> {
    const rows = await this.#byRunIds(
      "listEquityCurves",
      `SELECT run_id, equity_dates, equity_values, buy_and_hold_values FROM backtests
         WHERE run_id IN (SELECT value FROM json_each(?))`,
      runIds,
    );
    return rows.map((r) => ({
      runId: r.run_id as string,
      dates: decodeDates(r.equity_dates as Uint8Array),
      values: decodeValues(r.equity_values as Uint8Array),
      buyAndHold: r.buy_and_hold_values === null ? null : decodeValues(r.buy_and_hold_values as Uint8Array),
    }));
  }

  /** The change token's statements, prepared once (the token is read on every API request). */
  #tokenStatements: { version: StatementSync; changes: StatementSync } | undefined;

  async changeToken(): Promise<string> {
    return await this.#read("changeToken", (db) => {
      // data_version changes when another connection (or process) commits; total_changes() counts this connection's
      // own writes. Together they change with every committed write this connection can see.
      this.#tokenStatements ??= {
        version: db.prepare("PRAGMA data_version"),
        changes: db.prepare("SELECT total_changes() AS c"),
      };
      const v = this.#tokenStatements.version.get() as Row;
      const c = this.#tokenStatements.changes.get() as Row;
      return `${v.data_version}:${c.c}`;
    });
  }

  /** The schema version of the open database. */
  schemaVersion(): number {
    try {
      return currentVersion(this.#conn);
    } catch (e) {
      throw this.#failure(e, "schemaVersion", "read", 1);
    }
  }

  close(): Promise<void> {
    try {
      this.#db?.close();
    } catch { /* closing a damaged or already closed connection: nothing more to release */ }
    this.#db = undefined;
    return Promise.resolve();
  }

  // --- Studies and out-of-sample predictions (schema version 2) ---

  /** Refuses a run joining an unknown or sealed study, or naming an entry the study did not plan. */
  #requireStudyForRun(db: DatabaseSync, studyId: string, entry: string | null): void {
    const row = db.prepare("SELECT status, entries FROM studies WHERE id = ?").get(studyId) as Row | undefined;
    checkStudyForRun(
      row === undefined ? undefined : { status: row.status as string, entries: parseJson<StudyEntry[]>(row.entries) },
      studyId,
      entry,
    );
  }

  async createStudy(study: NewStudy): Promise<string> {
    const s = checkNewStudy(study);
    const id = newStudyId();
    await this.#write("createStudy", (db) => {
      const now = this.#now();
      db.prepare(
        `INSERT INTO studies (id, created_at, status, name, config, seed, symbols, data_source, data_fingerprint,
           version, features, entries, leakage_override, heartbeat_at)
           VALUES (?, ?, 'running', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ).run(
        id,
        now,
        s.name,
        s.config,
        s.seed,
        s.symbols,
        s.dataSource,
        s.dataFingerprint,
        s.version,
        s.features,
        s.entries,
        s.leakageOverride ? 1 : 0,
        now,
      );
    });
    return id;
  }

  async finishStudy(id: string, outcome: FinishRun): Promise<void> {
    requireString(id, "id");
    const f = checkFinish(outcome);
    await this.#write("finishStudy", (db) => {
      const row = db.prepare("SELECT status FROM studies WHERE id = ?").get(id) as Row | undefined;
      checkStudyRunning(row?.status as string | undefined, id, "finishStudy");
      const running = db.prepare(
        "SELECT id, entry FROM runs WHERE study_id = ? AND status = 'running' ORDER BY created_at, id",
      ).all(id) as { id: string; entry: string | null }[];
      checkNoRunningRuns(running, id);
      db.prepare("UPDATE studies SET status = ?, error = ?, summary = ?, finished_at = ? WHERE id = ?")
        .run(f.status, f.error, f.summary, this.#now(), id);
    });
  }

  async getStudy(id: string): Promise<Study | undefined> {
    requireString(id, "id");
    // One read transaction: the study and its runs are a consistent snapshot even while another process writes.
    return await this.#read("getStudy", (db) => {
      const row = db.prepare(`${STUDY_SELECT} WHERE s.id = ?`).get(id) as Row | undefined;
      if (row === undefined) return undefined;
      const runs = db.prepare(`${RUN_SELECT} WHERE r.study_id = ? ORDER BY r.created_at, r.id`).all(id) as Row[];
      return { ...this.#studies([row])[0], runs: this.#runs(runs) };
    }, true);
  }

  async getStudies(ids: readonly string[]): Promise<StudySummary[]> {
    if (!Array.isArray(ids)) throw new StoreError("getStudies: expected an array of study ids");
    if (ids.length === 0) return [];
    return await this.#read("getStudies", (db) =>
      this.#studies(
        db.prepare(`${STUDY_SELECT} WHERE s.id IN (SELECT value FROM json_each(?))`).all(JSON.stringify(ids)) as Row[],
      ));
  }

  async listStudies(options: ListRunsOptions = {}): Promise<StudySummary[]> {
    const { limit, offset, status, tag } = checkListOptions(options);
    const where: string[] = [];
    const params: SQLInputValue[] = [];
    if (status !== null) where.push("s.status = ?"), params.push(status);
    if (tag !== null) {
      where.push("EXISTS (SELECT 1 FROM study_tags t WHERE t.study_id = s.id AND t.tag = ?)"), params.push(tag);
    }
    const sql = `${STUDY_SELECT} ${where.length > 0 ? `WHERE ${where.join(" AND ")}` : ""}
      ORDER BY s.created_at DESC, s.id DESC LIMIT ? OFFSET ?`;
    return await this.#read(
      "listStudies",
      (db) => this.#studies(db.prepare(sql).all(...params, limit, offset) as Row[]),
    );
  }

  async appendPredictions(runId: string, predictions: PredictionRecord): Promise<void> {
    const p = checkPredictions(predictions);
    await this.#write("appendPredictions", (db) => {
      this.#requireRunning(db, runId, "appendPredictions");
      this.#insertPredictions(db, runId, p, "appendPredictions");
    });
  }

  async listPredictions(runIds: readonly string[], options: ListPredictionsOptions = {}): Promise<StoredPredictions[]> {
    if (!Array.isArray(runIds)) throw new StoreError("listPredictions: expected an array of run ids");
    const split = checkSplitOption(options);
    if (runIds.length === 0) return [];
    // Keys first (from the primary-key index), then one record at a time, so only one record's encoded bytes are
    // held beside the decoded arrays. Not `StatementSync.iterate()`: in node:sqlite (Deno 2.9) an error while
    // stepping, e.g. a damaged page, ends its iteration silently, and a damaged store would read as having none.
    return await this.#read("listPredictions", (db) => {
      const keys = db.prepare(
        `SELECT run_id, fold_index, split FROM predictions WHERE run_id IN (SELECT value FROM json_each(?))
           AND (? IS NULL OR split = ?) ORDER BY run_id, fold_index, split`,
      ).all(JSON.stringify(runIds), split, split) as Row[];
      const one = db.prepare("SELECT * FROM predictions WHERE run_id = ? AND fold_index = ? AND split = ?");
      return keys.map((k) => storedPredictions(one.get(k.run_id, k.fold_index, k.split) as Row));
    }, true);
  }

  // -------------------------------------------------------------------------------------------------------------------
  // Dashboard reads for studies and prediction pages (additive, read-only; see StoreStudyReads in store.ts and
  // study_query.ts).
  // -------------------------------------------------------------------------------------------------------------------

  async queryStudies(query: StudyQuery = {}): Promise<StudyPage> {
    const q = checkStudyQuery(query);
    const page = studyPageSql(q, "sqlite");
    const count = studyCountSql(q, "sqlite");
    // One read transaction: the page and the count see the same snapshot.
    return await this.#read("queryStudies", (db) => {
      const rows = db.prepare(page.text).all(...page.params) as Row[];
      const total = db.prepare(count.text).get(...count.params) as Row;
      const shown = rows.slice(0, q.first);
      return {
        studies: this.#studies(shown),
        cursors: shown.map((r) =>
          encodeCursor(q.order.signature, (r.sort_value as number | null) ?? null, r.id as string)
        ),
        totalCount: total.n as number,
        hasNextPage: rows.length > q.first,
      };
    }, true);
  }

  async listPredictionFolds(runIds: readonly string[]): Promise<PredictionFold[]> {
    return (await this.#byRunIds(
      "listPredictionFolds",
      `SELECT run_id, fold_index, split, n_rows, width, created_at FROM predictions
         WHERE run_id IN (SELECT value FROM json_each(?)) ORDER BY run_id, fold_index, split`,
      runIds,
    )).map((r) => ({
      runId: r.run_id as string,
      fold: r.fold_index as number,
      split: (r.split as PredictionSplit | undefined) ?? "test",
      rows: r.n_rows as number,
      width: r.width as number,
      createdAt: r.created_at as number,
    }));
  }

  async readPredictionSlices(slices: readonly PredictionSlice[]): Promise<StoredPredictions[]> {
    const checked = checkPredictionSlices(slices);
    if (checked.length === 0) return [];
    // substr() on a BLOB counts bytes: only the slice's bytes leave the database. One read transaction for all.
    return await this.#read("readPredictionSlices", (db) => {
      const statement = db.prepare(
        `SELECT run_id, fold_index, split, width, created_at, symbol_dictionary,
           substr(dates, 4 * ?1 + 1, 4 * ?2) AS dates, substr(symbol_codes, 4 * ?1 + 1, 4 * ?2) AS symbol_codes,
           substr(scores, 8 * width * ?1 + 1, 8 * width * ?2) AS scores
         FROM predictions WHERE run_id = ?3 AND fold_index = ?4 AND split = ?5`,
      );
      const out: StoredPredictions[] = [];
      for (const s of checked) {
        const r = statement.get(s.offset, s.limit, s.runId, s.fold, s.split) as Row | undefined;
        if (r !== undefined) out.push(storedPredictions(r));
      }
      return out;
    }, true);
  }

  // --- Interruption, liveness, resumption (schema version 3) ---

  async heartbeat(studyId: string, runId?: string): Promise<void> {
    const kind = recordKind(studyId, "studyId");
    if (runId !== undefined) {
      requireString(runId, "runId");
      if (kind === "run") {
        throw new StoreError(`heartbeat: runId is for a run of a study; ${studyId} is a run id. Nothing was written`);
      }
    }
    await this.#write("heartbeat", (db) => {
      checkHeartbeat(this.#state(db, kind, studyId), kind, studyId);
      const now = this.#now();
      if (runId !== undefined) {
        const owner = db.prepare("SELECT study_id FROM runs WHERE id = ?").get(runId) as Row | undefined;
        if (owner !== undefined && owner.study_id !== studyId) {
          throw new StoreError(`heartbeat: run ${runId} is not a run of study ${studyId}; nothing was written`);
        }
        checkHeartbeat(this.#state(db, "run", runId), "run", runId);
        db.prepare("UPDATE runs SET heartbeat_at = ? WHERE id = ?").run(now, runId);
      }
      db.prepare(`UPDATE ${kind === "run" ? "runs" : "studies"} SET heartbeat_at = ? WHERE id = ?`).run(now, studyId);
    });
  }

  async markInterrupted(id: string, error: RunError, options: InterruptOptions = {}): Promise<InterruptedRecords> {
    const kind = recordKind(id);
    const err = checkRunError(error, "error");
    const onlyIfStale = options.onlyIfStale === true;
    return await this.#write("markInterrupted", (db) => {
      const now = this.#now();
      checkInterruptible(this.#state(db, kind, id), kind, id, onlyIfStale, now, this.#staleAfterMs);
      if (kind === "run") {
        db.prepare("UPDATE runs SET status = 'interrupted', error = ?, finished_at = ? WHERE id = ?").run(err, now, id);
        return { studies: [], runs: [id] };
      }
      const runs = (db.prepare(
        "SELECT id FROM runs WHERE study_id = ? AND status = 'running' ORDER BY created_at, id",
      ).all(id) as Row[]).map((r) => r.id as string);
      db.prepare(
        "UPDATE runs SET status = 'interrupted', error = ?, finished_at = ? WHERE study_id = ? AND status = 'running'",
      ).run(err, now, id);
      db.prepare("UPDATE studies SET status = 'interrupted', error = ?, finished_at = ? WHERE id = ?").run(
        err,
        now,
        id,
      );
      return { studies: [id], runs };
    });
  }

  /** Reopens one failed or interrupted run (inside a write transaction); see {@link ReopenedRun}. */
  #reopenRun(db: DatabaseSync, runId: string, state: RecordState, now: number): ReopenedRun {
    const row = db.prepare("SELECT entry, reopened FROM runs WHERE id = ?").get(runId) as Row;
    const unfinished = "fold_index IS NOT NULL AND fold_index NOT IN (SELECT fold_index FROM folds WHERE run_id = ?)";
    const discard = (table: string) =>
      Number(db.prepare(`DELETE FROM ${table} WHERE run_id = ? AND ${unfinished}`).run(runId, runId).changes);
    const discarded = {
      epochs: discard("epochs"),
      diagnostics: discard("diagnostics"),
      predictions: discard("predictions"),
    };
    const reopened = [...parseJson<Reopening[]>(row.reopened), reopeningOf(state, now)];
    db.prepare(
      `UPDATE runs SET status = 'running', error = NULL, finished_at = NULL, heartbeat_at = ?, reopened = ?
         WHERE id = ?`,
    ).run(now, JSON.stringify(reopened), runId);
    const folds = (db.prepare("SELECT fold_index FROM folds WHERE run_id = ? ORDER BY fold_index").all(runId) as Row[])
      .map((r) => r.fold_index as number);
    return { runId, entry: (row.entry as string | null) ?? null, folds, discarded };
  }

  async reopenStudy(studyId: string): Promise<ReopenedStudy> {
    requireString(studyId, "studyId");
    return await this.#write("reopenStudy", (db) => {
      const now = this.#now();
      const state = this.#state(db, "study", studyId);
      checkReopenable(state, "study", studyId);
      const row = db.prepare("SELECT reopened FROM studies WHERE id = ?").get(studyId) as Row;
      const reopened = [...parseJson<Reopening[]>(row.reopened), reopeningOf(state!, now)];
      db.prepare(
        `UPDATE studies SET status = 'running', error = NULL, finished_at = NULL, heartbeat_at = ?, reopened = ?
           WHERE id = ?`,
      ).run(now, JSON.stringify(reopened), studyId);
      const ids = (db.prepare(
        "SELECT id FROM runs WHERE study_id = ? AND status IN ('failed', 'interrupted') ORDER BY created_at, id",
      ).all(studyId) as Row[]).map((r) => r.id as string);
      return { studyId, runs: ids.map((id) => this.#reopenRun(db, id, this.#state(db, "run", id)!, now)) };
    });
  }

  async reopenRun(runId: string): Promise<ReopenedRun> {
    requireString(runId, "runId");
    return await this.#write("reopenRun", (db) => {
      const state = this.#state(db, "run", runId);
      checkReopenable(state, "run", runId);
      const { study_id } = db.prepare("SELECT study_id FROM runs WHERE id = ?").get(runId) as Row;
      const studyId = (study_id as string | null) ?? null;
      const study = studyId === null ? undefined : this.#state(db, "study", studyId);
      checkRunStudyOpen(studyId, study?.status, runId);
      return this.#reopenRun(db, runId, state!, this.#now());
    });
  }

  // --- Annotations and removal (schema version 3) ---

  #exists(db: DatabaseSync, kind: "run" | "study", id: string): boolean {
    return db.prepare(`SELECT 1 FROM ${kind === "run" ? "runs" : "studies"} WHERE id = ?`).get(id) !== undefined;
  }

  async tag(id: string, tag: string): Promise<boolean> {
    const kind = recordKind(id);
    const t = checkTag(tag);
    const [table, key] = kind === "run" ? ["run_tags", "run_id"] : ["study_tags", "study_id"];
    return await this.#write("tag", (db) => {
      checkAnnotatable(this.#exists(db, kind, id), "tag", kind, id);
      if (db.prepare(`SELECT 1 FROM ${table} WHERE ${key} = ? AND tag = ?`).get(id, t) !== undefined) return false;
      const { n } = db.prepare(`SELECT count(*) AS n FROM ${table} WHERE ${key} = ?`).get(id) as Row;
      if ((n as number) >= MAX_TAGS) {
        throw new StoreError(`tag: ${kind} ${id} already has ${MAX_TAGS} tags, the most allowed; nothing was written`);
      }
      db.prepare(`INSERT INTO ${table} (${key}, tag, created_at) VALUES (?, ?, ?)`).run(id, t, this.#now());
      return true;
    });
  }

  async untag(id: string, tag: string): Promise<boolean> {
    const kind = recordKind(id);
    const t = checkTag(tag);
    const [table, key] = kind === "run" ? ["run_tags", "run_id"] : ["study_tags", "study_id"];
    return await this.#write("untag", (db) => {
      checkAnnotatable(this.#exists(db, kind, id), "untag", kind, id);
      return Number(db.prepare(`DELETE FROM ${table} WHERE ${key} = ? AND tag = ?`).run(id, t).changes) === 1;
    });
  }

  async setNote(id: string, note: string | null): Promise<void> {
    const kind = recordKind(id);
    const n = checkNote(note);
    await this.#write("setNote", (db) => {
      const { changes } = db.prepare(`UPDATE ${kind === "run" ? "runs" : "studies"} SET note = ? WHERE id = ?`)
        .run(n, id);
      checkAnnotatable(Number(changes) === 1, "setNote", kind, id);
    });
  }

  async renameStudy(id: string, name: string | null): Promise<void> {
    requireString(id, "id");
    const n = checkStudyName(name);
    await this.#write("renameStudy", (db) => {
      const { changes } = db.prepare("UPDATE studies SET name = ? WHERE id = ?").run(n, id);
      checkAnnotatable(Number(changes) === 1, "renameStudy", "study", id);
    });
  }

  async deleteRun(id: string): Promise<void> {
    requireString(id, "id");
    await this.#write("deleteRun", (db) => {
      checkDeletable(this.#state(db, "run", id), "run", id);
      this.#retireTrials(db, "r.id = ?", id);
      // Folds, epochs, diagnostics, backtest, predictions and tags go with it (ON DELETE CASCADE).
      db.prepare("DELETE FROM runs WHERE id = ?").run(id);
    });
  }

  async deleteStudy(id: string): Promise<void> {
    requireString(id, "id");
    await this.#write("deleteStudy", (db) => {
      checkDeletable(this.#state(db, "study", id), "study", id);
      const running = db.prepare(
        "SELECT id, entry FROM runs WHERE study_id = ? AND status = 'running' ORDER BY created_at, id",
      ).all(id) as { id: string; entry: string | null }[];
      for (const r of running) checkDeletable(this.#state(db, "run", r.id), "run", r.id);
      this.#retireTrials(db, "r.study_id = ?", id);
      // Its runs go with it, and their parts with them (ON DELETE CASCADE).
      db.prepare("DELETE FROM studies WHERE id = ?").run(id);
    });
  }

  /**
   * Copies into `retired_trials` the trials `countTrials` counts for the runs `where` selects, which the caller deletes
   * next in the same transaction: each succeeded run with a trial key (its own backtest's Sharpe ratio, or none) and
   * each backtest added to it. The trial registry keeps counting them, so deleting never lowers N.
   */
  #retireTrials(db: DatabaseSync, where: "r.id = ?" | "r.study_id = ?", id: string): void {
    const runs = db.prepare(
      `SELECT r.id AS id, r.data_fingerprint AS data_fingerprint, json_extract(r.config, '$.target.kind') AS kind,
              json_extract(r.config, '$.target.horizon') AS horizon, b.metrics AS metrics,
              b.annualization AS annualization
         FROM runs r LEFT JOIN backtests b ON b.run_id = r.id
         WHERE r.status = 'succeeded' AND r.data_fingerprint IS NOT NULL AND ${where}
         ORDER BY r.created_at, r.id`,
    ).all(id) as Row[];
    if (runs.length === 0) return;
    const added = db.prepare(
      "SELECT seq, metrics, annualization FROM run_backtests WHERE run_id = ? ORDER BY seq",
    );
    const insert = db.prepare(
      `INSERT INTO retired_trials (data_fingerprint, target_kind, horizon, source, run_id, backtest_seq, sharpe,
         retired_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    const now = this.#now();
    for (const r of runs) {
      // countTrials matches `json_extract(...) = ?` against a key's string kind and integer horizon ≥ 1: a run whose
      // target reads otherwise is counted under no key, so there is nothing of it to retire.
      const { kind, horizon } = r;
      if (typeof kind !== "string" || !Number.isSafeInteger(horizon) || (horizon as number) < 1) continue;
      const key = [r.data_fingerprint as string, kind, horizon as number] as const;
      insert.run(...key, "run", r.id as string, null, trialSharpe(r), now);
      for (const b of added.all(r.id as string) as Row[]) {
        insert.run(...key, "run_backtest", r.id as string, b.seq as number, trialSharpe(b), now);
      }
    }
  }

  // --- Production: models, production predictions, run backtests, sweeps and trials (schema version 4) ---

  async registerModel(model: NewModel): Promise<string> {
    const m = checkNewModel(model);
    await this.#write("registerModel", (db) => {
      if (db.prepare("SELECT 1 FROM models WHERE id = ?").get(m.id) !== undefined) {
        throw new StoreError(`registerModel: model ${m.id} is already registered; nothing was written`);
      }
      db.prepare(
        `INSERT INTO models (id, created_at, name, kind, path, study_id, run_id, config, features, data_fingerprint,
           data_source, version, target_kind, horizon, trained_from, trained_to, last_price_date, symbols, gate,
           skip_gate, summary) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ).run(
        m.id,
        this.#now(),
        m.name,
        m.kind,
        m.path,
        m.studyId,
        m.runId,
        m.config,
        m.features,
        m.dataFingerprint,
        m.dataSource,
        m.version,
        m.targetKind,
        m.horizon,
        m.trainedFrom,
        m.trainedTo,
        m.lastPriceDate,
        m.symbols,
        m.gate,
        m.skipGate ? 1 : 0,
        m.summary,
      );
    });
    return m.id;
  }

  async getModels(ids: readonly string[]): Promise<StoredModel[]> {
    if (!Array.isArray(ids)) throw new StoreError("getModels: expected an array of model ids");
    if (ids.length === 0) return [];
    return await this.#read(
      "getModels",
      (db) =>
        (db.prepare("SELECT * FROM models WHERE id IN (SELECT value FROM json_each(?))").all(
          JSON.stringify(ids),
        ) as Row[])
          .map(storedModel),
    );
  }

  async listModels(options: ListRunsOptions = {}): Promise<StoredModel[]> {
    const { limit, offset } = checkListOptions({ limit: options.limit, offset: options.offset });
    return await this.#read(
      "listModels",
      (db) =>
        (db.prepare("SELECT * FROM models ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?").all(
          limit,
          offset,
        ) as Row[])
          .map(storedModel),
    );
  }

  async appendProductionPredictions(batch: NewProductionPredictions): Promise<string> {
    const b = checkProductionPredictions(batch);
    const id = newPredictionBatchId();
    await this.#write("appendProductionPredictions", (db) => {
      if (db.prepare("SELECT 1 FROM models WHERE id = ?").get(b.modelId) === undefined) {
        throw new StoreError(
          `appendProductionPredictions: unknown model id ${JSON.stringify(b.modelId)}; nothing was written`,
        );
      }
      db.prepare(
        `INSERT INTO production_batches (id, model_id, created_at, as_of, data_fingerprint, data_source, details)
           VALUES (?, ?, ?, ?, ?, ?, ?)`,
      ).run(id, b.modelId, this.#now(), b.asOf, b.dataFingerprint, b.dataSource, b.details);
      const insert = db.prepare(
        `INSERT INTO production_predictions (batch_id, row_index, symbol, date, score, confidence, position, weight,
           warnings) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      );
      const orNull = (x: number) => (Number.isNaN(x) ? null : x);
      b.rows.forEach((r, i) =>
        insert.run(
          id,
          i,
          r.symbol,
          r.date,
          orNull(r.score),
          orNull(r.confidence),
          orNull(r.position),
          orNull(r.weight),
          r.warnings,
        )
      );
    });
    return id;
  }

  async listProductionPredictions(
    modelIds: readonly string[],
    options: ListProductionPredictionsOptions = {},
  ): Promise<StoredProductionPredictions[]> {
    if (!Array.isArray(modelIds)) throw new StoreError("listProductionPredictions: expected an array of model ids");
    const last = checkLastOption(options);
    if (modelIds.length === 0) return [];
    return await this.#read("listProductionPredictions", (db) => {
      const batches = db.prepare(
        `SELECT * FROM (
           SELECT *, ROW_NUMBER() OVER (PARTITION BY model_id ORDER BY created_at DESC, id DESC) AS newest
             FROM production_batches WHERE model_id IN (SELECT value FROM json_each(?)))
           WHERE newest <= ? ORDER BY created_at, id`,
      ).all(JSON.stringify(modelIds), last ?? Number.MAX_SAFE_INTEGER) as Row[];
      const rows = db.prepare("SELECT * FROM production_predictions WHERE batch_id = ? ORDER BY row_index");
      return batches.map((b) => productionBatch(b, rows.all(b.id as string) as Row[]));
    }, true);
  }

  async addRunBacktest(runId: string, backtest: BacktestRecord): Promise<number> {
    requireString(runId, "runId");
    const b = checkBacktest(backtest);
    return await this.#write("addRunBacktest", (db) => {
      if (db.prepare("SELECT 1 FROM runs WHERE id = ?").get(runId) === undefined) {
        throw new StoreError(`addRunBacktest: unknown run id ${JSON.stringify(runId)}; nothing was written`);
      }
      const r = db.prepare(
        `INSERT INTO run_backtests (run_id, lag, cost_bps, slippage_bps, annualization, metrics, buy_and_hold,
           warnings, equity_dates, equity_values, buy_and_hold_values, details, created_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING seq`,
      ).get(
        runId,
        b.lag,
        b.costBps,
        b.slippageBps,
        b.annualization,
        b.metrics,
        b.buyAndHold,
        b.warnings,
        b.equityDates,
        b.equityValues,
        b.buyAndHoldValues,
        b.details,
        this.#now(),
      ) as Row;
      return r.seq as number;
    });
  }

  async listRunBacktests(runIds: readonly string[]): Promise<StoredRunBacktest[]> {
    return (await this.#byRunIds(
      "listRunBacktests",
      "SELECT * FROM run_backtests WHERE run_id IN (SELECT value FROM json_each(?)) ORDER BY seq",
      runIds,
    )).map((r) => ({ ...storedBacktest(r), seq: r.seq as number }));
  }

  async createSweep(sweep: NewSweep): Promise<string> {
    const s = checkNewSweep(sweep);
    const id = newSweepId();
    await this.#write("createSweep", (db) => {
      if (s.runId !== null && db.prepare("SELECT 1 FROM runs WHERE id = ?").get(s.runId) === undefined) {
        throw new StoreError(`createSweep: unknown run id ${JSON.stringify(s.runId)}; nothing was written`);
      }
      db.prepare(
        `INSERT INTO sweeps (id, created_at, run_id, data_fingerprint, target_kind, horizon, grid, options, dir,
           summary, trials_before, cells) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ).run(
        id,
        this.#now(),
        s.runId,
        s.key.dataFingerprint,
        s.key.targetKind,
        s.key.horizon,
        s.grid,
        s.options,
        s.dir,
        s.summary,
        s.trialsBefore,
        s.trials.length,
      );
      const insert = db.prepare(
        `INSERT INTO trials (sweep_id, cell, symbol, window_start, window_end, cost_bps, slippage_bps, lag, sizing,
           annualization, metrics, buy_and_hold) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      );
      for (const t of s.trials) {
        insert.run(
          id,
          t.cell,
          t.symbol,
          t.windowStart,
          t.windowEnd,
          t.costBps,
          t.slippageBps,
          t.lag,
          t.sizing,
          t.annualization,
          t.metrics,
          t.buyAndHold,
        );
      }
    });
    return id;
  }

  async getSweep(id: string): Promise<{ sweep: StoredSweep; trials: StoredTrial[] } | undefined> {
    requireString(id, "id");
    return await this.#read("getSweep", (db) => {
      const row = db.prepare("SELECT * FROM sweeps WHERE id = ?").get(id) as Row | undefined;
      if (row === undefined) return undefined;
      const trials = db.prepare("SELECT * FROM trials WHERE sweep_id = ? ORDER BY cell").all(id) as Row[];
      return { sweep: storedSweep(row), trials: trials.map(storedTrial) };
    }, true);
  }

  async listSweeps(options: ListRunsOptions = {}): Promise<StoredSweep[]> {
    const { limit, offset } = checkListOptions({ limit: options.limit, offset: options.offset });
    return await this.#read(
      "listSweeps",
      (db) =>
        (db.prepare("SELECT * FROM sweeps ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?").all(
          limit,
          offset,
        ) as Row[])
          .map(storedSweep),
    );
  }

  async getSweeps(ids: readonly string[]): Promise<StoredSweep[]> {
    if (!Array.isArray(ids)) throw new StoreError("getSweeps: expected an array of sweep ids");
    if (ids.length === 0) return [];
    return await this.#read(
      "getSweeps",
      (db) =>
        (db.prepare("SELECT * FROM sweeps WHERE id IN (SELECT value FROM json_each(?))").all(
          JSON.stringify(ids),
        ) as Row[])
          .map(storedSweep),
    );
  }

  async listTrials(sweepIds: readonly string[], options: ListTrialsOptions = {}): Promise<StoredTrial[]> {
    if (!Array.isArray(sweepIds)) throw new StoreError("listTrials: expected an array of sweep ids");
    const page = checkListTrialsOptions(options);
    if (sweepIds.length === 0) return [];
    // The metric name is checked to be a plain identifier, so `$.name` is a valid JSON path; the direction is a keyword.
    const value = "json_extract(metrics, ?)";
    const order = page.metric === null
      ? "cell"
      : `${value} IS NULL, ${value} ${page.descending ? "DESC" : "ASC"}, cell`;
    const path = page.metric === null ? [] : [`$.${page.metric}`, `$.${page.metric}`];
    return await this.#read(
      "listTrials",
      (db) =>
        (db.prepare(
          `SELECT * FROM (
             SELECT *, ROW_NUMBER() OVER (PARTITION BY sweep_id ORDER BY ${order}) AS position
               FROM trials WHERE sweep_id IN (SELECT value FROM json_each(?)))
             WHERE position > ? AND position <= ? ORDER BY sweep_id, position`,
        ).all(...path, JSON.stringify(sweepIds), page.offset, page.end ?? Number.MAX_SAFE_INTEGER) as Row[])
          .map(storedTrial),
    );
  }

  async countTrials(key: TrialKey): Promise<TrialCount> {
    const k = checkTrialKey(key);
    return await this.#read("countTrials", (db) => {
      const onKey = `r.status = 'succeeded' AND r.data_fingerprint = ? AND json_extract(r.config, '$.target.kind') = ?
                     AND json_extract(r.config, '$.target.horizon') = ?`;
      const runs = db.prepare(
        `SELECT r.id AS id, b.metrics AS metrics, b.annualization AS annualization FROM runs r
           LEFT JOIN backtests b ON b.run_id = r.id WHERE ${onKey}`,
      ).all(k.dataFingerprint, k.targetKind, k.horizon) as Row[];
      const added = db.prepare(
        `SELECT rb.metrics AS metrics, rb.annualization AS annualization FROM run_backtests rb
           JOIN runs r ON r.id = rb.run_id WHERE ${onKey}`,
      ).all(k.dataFingerprint, k.targetKind, k.horizon) as Row[];
      const trials = db.prepare(
        `SELECT t.metrics AS metrics, t.annualization AS annualization FROM trials t
           JOIN sweeps s ON s.id = t.sweep_id
           WHERE s.data_fingerprint = ? AND s.target_kind = ? AND s.horizon = ?`,
      ).all(k.dataFingerprint, k.targetKind, k.horizon) as Row[];
      const retired = db.prepare(
        "SELECT sharpe FROM retired_trials WHERE data_fingerprint = ? AND target_kind = ? AND horizon = ? ORDER BY seq",
      ).all(k.dataFingerprint, k.targetKind, k.horizon) as Row[];
      const sharpes: number[] = [];
      for (const r of [...runs, ...added, ...trials]) {
        const s = trialSharpe(r);
        if (s !== null) sharpes.push(s);
      }
      for (const r of retired) if (r.sharpe !== null) sharpes.push(r.sharpe as number);
      return {
        runs: runs.length,
        runBacktests: added.length,
        sweepTrials: trials.length,
        retired: retired.length,
        total: runs.length + added.length + trials.length + retired.length,
        sharpes,
      };
    }, true);
  }
}

/** The per-period Sharpe ratio of a counted trial's row (`metrics` as stored, `annualization`), or null when undefined. */
function trialSharpe(r: Row): number | null {
  if (r.metrics === null || r.metrics === undefined) return null;
  return perPeriodSharpe(parseMetrics(r.metrics as string), r.annualization as number) ?? null;
}

/** Checks `listPredictions` options; returns the split filter or null. */
function checkSplitOption(options: ListPredictionsOptions): PredictionSplit | null {
  const split = options?.split ?? null;
  if (split !== null && !PREDICTION_SPLITS.includes(split)) {
    throw new StoreError(`listPredictions: split: expected ${PREDICTION_SPLITS.join(" | ")}, found ${String(split)}`);
  }
  return split;
}

// --- Studies and out-of-sample predictions (schema version 2): row mapping ---

function studySummary(r: Row, now: number, staleAfterMs: number): StudySummary {
  return {
    id: r.id as string,
    createdAt: r.created_at as number,
    finishedAt: (r.finished_at as number | null) ?? null,
    status: r.status as RunStatus,
    error: r.error === null ? null : parseJson(r.error),
    name: (r.name as string | null) ?? null,
    config: parseJson(r.config),
    seed: (r.seed as number | null) ?? null,
    symbols: parseJson(r.symbols),
    dataSource: r.data_source as string,
    dataFingerprint: (r.data_fingerprint as string | null) ?? null,
    version: (r.version as string | null) ?? null,
    features: parseJson(r.features),
    entries: parseJson(r.entries),
    leakageOverride: r.leakage_override === 1,
    summary: r.summary === null ? null : parseJson(r.summary),
    ...annotations(r, now, staleAfterMs),
  };
}

function storedPredictions(r: Row): StoredPredictions {
  const rows = decodePredictionRows(
    r.dates as Uint8Array,
    parseJson<string[]>(r.symbol_dictionary),
    r.symbol_codes as Uint8Array,
  );
  return {
    runId: r.run_id as string,
    fold: r.fold_index as number,
    split: (r.split as PredictionSplit | undefined) ?? "test",
    dates: rows.dates,
    symbols: rows.symbols,
    values: decodeValues(r.scores as Uint8Array),
    width: r.width as number,
    createdAt: r.created_at as number,
  };
}

/** The schema version recorded in `db` (0 for a file without one). */
export function currentVersion(db: DatabaseSync): number {
  const row = db.prepare("SELECT max(version) AS v FROM schema_version").get() as Row;
  return (row.v as number | null) ?? 0;
}

/**
 * Applies pending migrations in one immediate transaction (all or nothing); refuses a database newer than the code.
 * Foreign keys are off while migrating (a table rebuild drops a parent table, which would otherwise cascade-delete its
 * children) and `PRAGMA foreign_key_check` must find nothing before the transaction commits. Another process holding
 * the write lock beyond the busy timeout is waited for again, `lockRetries` times.
 */
function migrate(db: DatabaseSync, migrations: readonly Migration[], path: string, lockRetries: number): void {
  migrations.forEach((m, i) => {
    if (m.version !== i + 1) {
      throw new StoreError(`migration ${i} has version ${m.version}; versions must be 1, 2, ...`);
    }
  });
  const latest = migrations.length;
  const check = () => {
    const v = currentVersion(db);
    if (v > latest) {
      throw new StoreError(
        `the run store at ${path} has schema version ${v}, newer than this candor understands (${latest}). ` +
          `Upgrade candor, or point CANDOR_DB (or --db) at another file; the database was not touched`,
      );
    }
    return v;
  };
  const hasVersionTable = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'")
    .get() !== undefined;
  if (hasVersionTable && check() === latest) return;
  // Must be set outside a transaction (inside one it is a no-op); restored in `finally`.
  db.exec("PRAGMA foreign_keys = OFF");
  try {
    for (let attempt = 0;; attempt++) {
      try {
        db.exec("BEGIN IMMEDIATE");
        break;
      } catch (e) {
        if (sqliteFailureKind(e) !== "locked" || attempt >= lockRetries) throw e;
      }
    }
    migrateLocked(db, migrations, path, check);
  } finally {
    db.exec("PRAGMA foreign_keys = ON");
  }
}

/** The migrating transaction, begun by the caller; commits, or rolls back and rethrows. */
function migrateLocked(db: DatabaseSync, migrations: readonly Migration[], path: string, check: () => number): void {
  try {
    db.exec(
      `CREATE TABLE IF NOT EXISTS schema_version (
         version INTEGER PRIMARY KEY, description TEXT NOT NULL, applied_at INTEGER NOT NULL) STRICT`,
    );
    // Re-read under the write lock: another process may have migrated meanwhile.
    for (const m of migrations.slice(check())) {
      db.exec(m.sql);
      db.prepare("INSERT INTO schema_version (version, description, applied_at) VALUES (?, ?, ?)").run(
        m.version,
        m.description,
        Date.now(),
      );
    }
    const dangling = db.prepare("PRAGMA foreign_key_check").all();
    if (dangling.length > 0) {
      throw new StoreError(
        `the migration of the run store at ${path} would leave ${dangling.length} dangling reference(s) ` +
          `(first: ${JSON.stringify(dangling[0])}); nothing was changed`,
      );
    }
    db.exec("COMMIT");
  } catch (e) {
    if (db.isTransaction) db.exec("ROLLBACK");
    throw e;
  }
}

// --- Production (schema version 4): row mapping ---

function storedModel(r: Row): StoredModel {
  return {
    id: r.id as string,
    createdAt: r.created_at as number,
    name: r.name as string,
    kind: r.kind as string,
    path: r.path as string,
    studyId: (r.study_id as string | null) ?? null,
    runId: (r.run_id as string | null) ?? null,
    config: parseJson(r.config),
    features: parseJson(r.features),
    dataFingerprint: r.data_fingerprint as string,
    dataSource: r.data_source as string,
    version: r.version as string,
    targetKind: r.target_kind as string,
    horizon: r.horizon as number,
    trainedFrom: r.trained_from as string,
    trainedTo: r.trained_to as string,
    lastPriceDate: r.last_price_date as string,
    symbols: parseJson(r.symbols),
    gate: parseJson(r.gate),
    skipGate: r.skip_gate === 1,
    summary: r.summary === null ? null : parseJson(r.summary),
  };
}

function productionBatch(b: Row, rows: Row[]): StoredProductionPredictions {
  const num = (x: unknown) => (x === null ? NaN : x as number);
  return {
    id: b.id as string,
    modelId: b.model_id as string,
    createdAt: b.created_at as number,
    asOf: b.as_of as string,
    dataFingerprint: b.data_fingerprint as string,
    dataSource: b.data_source as string,
    details: b.details === null ? null : parseJson(b.details),
    rows: rows.map((r) => ({
      symbol: r.symbol as string,
      date: r.date as string,
      score: num(r.score),
      confidence: num(r.confidence),
      position: num(r.position),
      weight: num(r.weight),
      warnings: parseJson(r.warnings),
    })),
  };
}

function storedSweep(r: Row): StoredSweep {
  return {
    id: r.id as string,
    createdAt: r.created_at as number,
    runId: (r.run_id as string | null) ?? null,
    key: {
      dataFingerprint: r.data_fingerprint as string,
      targetKind: r.target_kind as string,
      horizon: r.horizon as number,
    },
    grid: parseJson(r.grid),
    options: parseJson(r.options),
    dir: (r.dir as string | null) ?? null,
    summary: r.summary === null ? null : parseJson(r.summary),
    trialsBefore: r.trials_before as number,
    cells: r.cells as number,
  };
}

function storedTrial(r: Row): StoredTrial {
  return {
    sweepId: r.sweep_id as string,
    cell: r.cell as number,
    symbol: r.symbol as string,
    windowStart: r.window_start as string,
    windowEnd: r.window_end as string,
    costBps: r.cost_bps as number,
    slippageBps: r.slippage_bps as number,
    lag: r.lag as number,
    sizing: r.sizing as string,
    annualization: r.annualization as number,
    metrics: parseMetrics(r.metrics as string),
    buyAndHold: parseMetrics(r.buy_and_hold as string),
  };
}
