/**
 * The SQLite run store, on Deno's built-in `node:sqlite` (no native dependency to install).
 *
 * - Opened with WAL (readers never block the writer, a crash never corrupts committed runs), a busy timeout (a second
 *   process waits for the write lock instead of failing at once) and foreign keys on.
 * - Every write is one `BEGIN IMMEDIATE` transaction: the write lock is taken before the checks read anything, so a
 *   check and the write it guards cannot interleave with another connection. Any failure rolls back and surfaces as
 *   {@link StoreError}; nothing is written.
 * - Migrations run at open inside an immediate transaction, so two processes opening a fresh file migrate it once.
 *
 * @module
 */

import { DatabaseSync, type SQLInputValue, type StatementSync } from "node:sqlite";
import { StoreError } from "../errors.ts";
import { newRunId, newStudyId } from "./run_id.ts";
import { type Migration, SQLITE_MIGRATIONS } from "./sqlite_schema.ts";
import { checkRunQuery, encodeCursor, foldAggregatesOf, runCountSql, runPageSql } from "./run_query.ts";
import type {
  BacktestRecord,
  BacktestSummary,
  DiagnosticRecord,
  DiagnosticSeverity,
  EpochRecord,
  FinishRun,
  FoldAggregates,
  FoldRecord,
  FoldResultRecord,
  FoldWriteOutcome,
  ListRunsOptions,
  NewRun,
  NewStudy,
  PredictionRecord,
  Run,
  RunPage,
  RunQuery,
  RunStatus,
  RunSummary,
  Store,
  StoredBacktest,
  StoredDiagnostic,
  StoredEpoch,
  StoredEquityCurve,
  StoredFold,
  StoredPredictions,
  Study,
  StudyEntry,
  StudySummary,
} from "./store.ts";
import {
  checkBacktest,
  checkDiagnostics,
  checkEpochs,
  checkFinish,
  checkFold,
  checkFoldResult,
  checkListOptions,
  checkNewRun,
  checkNewStudy,
  checkNoRunningRuns,
  checkPredictions,
  checkRunStudyFields,
  checkStudyForRun,
  checkStudyRunning,
  decodeDates,
  decodePredictionRows,
  decodeValues,
  epochNumbers,
  parseMetrics,
  requireString,
} from "./validate.ts";

/** Options of {@link SqliteStore}. */
export interface SqliteStoreOptions {
  /** Milliseconds a connection waits for another's write lock before failing (default 5000). */
  busyTimeoutMs?: number;
  /** Migrations to apply (tests use this to simulate other versions). Default: {@link SQLITE_MIGRATIONS}. */
  migrations?: readonly Migration[];
}

type Row = Record<string, SQLInputValue>;

function parseJson<T>(text: unknown): T {
  return JSON.parse(text as string) as T;
}

function runSummary(r: Row): RunSummary {
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
    // Study fields (schema version 2); absent columns (a version-1 database) read as null.
    studyId: (r.study_id as string | null | undefined) ?? null,
    entry: (r.entry as string | null | undefined) ?? null,
    features: r.features === null || r.features === undefined ? null : parseJson(r.features),
    dataFingerprint: (r.data_fingerprint as string | null | undefined) ?? null,
    version: (r.version as string | null | undefined) ?? null,
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

/** A {@link Store} in one SQLite file (or `:memory:`). */
export class SqliteStore implements Store {
  readonly backend = "sqlite";
  /** The file this store writes to. */
  readonly path: string;
  #db: DatabaseSync | undefined;

  /**
   * Opens (creating if needed) and migrates the database at `path`.
   * @throws StoreError when the file cannot be opened or its schema is newer than this code.
   */
  constructor(path: string, options: SqliteStoreOptions = {}) {
    this.path = path;
    let db: DatabaseSync;
    try {
      db = new DatabaseSync(path);
    } catch (e) {
      throw new StoreError(`cannot open the SQLite run store at ${path}: ${(e as Error).message}`, { cause: e });
    }
    try {
      const timeout = options.busyTimeoutMs ?? 5000;
      db.exec(`PRAGMA busy_timeout = ${Math.max(0, Math.floor(timeout))}`);
      db.exec("PRAGMA foreign_keys = ON");
      if (path !== ":memory:") db.exec("PRAGMA journal_mode = WAL");
      db.exec("PRAGMA synchronous = NORMAL");
      migrate(db, options.migrations ?? SQLITE_MIGRATIONS, path);
    } catch (e) {
      db.close();
      if (e instanceof StoreError) throw e;
      throw new StoreError(`cannot prepare the SQLite run store at ${path}: ${(e as Error).message}`, { cause: e });
    }
    this.#db = db;
  }

  get #conn(): DatabaseSync {
    if (this.#db === undefined) throw new StoreError(`the run store at ${this.path} is closed`);
    return this.#db;
  }

  /** Runs `fn` in one immediate transaction; rolls back and rethrows as StoreError on any failure. */
  #write<T>(what: string, fn: (db: DatabaseSync) => T): T {
    const db = this.#conn;
    try {
      db.exec("BEGIN IMMEDIATE");
    } catch (e) {
      throw new StoreError(`${what}: could not take the write lock (${(e as Error).message}); nothing was written`, {
        cause: e,
      });
    }
    try {
      const out = fn(db);
      db.exec("COMMIT");
      return out;
    } catch (e) {
      if (db.isTransaction) db.exec("ROLLBACK");
      if (e instanceof StoreError) throw e;
      throw new StoreError(`${what}: ${(e as Error).message}; nothing was written`, { cause: e });
    }
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
          `Start a new run instead. Nothing was written`,
      );
    }
  }

  createRun(run: NewRun): Promise<string> {
    return Promise.resolve().then(() => {
      const row = checkNewRun(run);
      const study = checkRunStudyFields(run);
      const id = newRunId();
      this.#write("createRun", (db) => {
        if (study.studyId !== null) this.#requireStudyForRun(db, study.studyId, study.entry);
        db.prepare(
          `INSERT INTO runs (id, created_at, status, config, seed, model, symbols, data_source, backend,
             leakage_override, study_id, entry, features, data_fingerprint, version)
             VALUES (?, ?, 'running', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        ).run(
          id,
          Date.now(),
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
        );
      });
      return id;
    });
  }

  appendFold(runId: string, fold: FoldRecord): Promise<void> {
    return Promise.resolve().then(() => {
      const f = checkFold(fold);
      this.#write("appendFold", (db) => {
        this.#requireRunning(db, runId, "appendFold");
        const dup = db.prepare("SELECT 1 FROM folds WHERE run_id = ? AND fold_index = ?").get(runId, f.index);
        if (dup !== undefined) {
          throw new StoreError(`appendFold: run ${runId} already has fold ${f.index}; nothing was written`);
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
          Date.now(),
        );
      });
    });
  }

  appendEpochs(runId: string, epochs: EpochRecord[]): Promise<void> {
    return Promise.resolve().then(() => {
      const rows = checkEpochs(epochs);
      this.#write("appendEpochs", (db) => {
        this.#requireRunning(db, runId, "appendEpochs");
        const exists = db.prepare(
          "SELECT 1 FROM epochs WHERE run_id = ? AND coalesce(fold_index, -1) = ? AND epoch = ?",
        );
        const insert = db.prepare(
          `INSERT INTO epochs (run_id, fold_index, epoch, train_loss, val_loss, lr, grad_norm, clip_ratio, nan_mask,
             extra) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        );
        for (const e of rows) {
          if (exists.get(runId, e.fold ?? -1, e.epoch) !== undefined) {
            throw new StoreError(
              `appendEpochs: run ${runId} already has epoch ${e.epoch} of fold ${e.fold}; nothing was written`,
            );
          }
          insert.run(runId, e.fold, e.epoch, ...e.values, e.nanMask, e.extra);
        }
      });
    });
  }

  appendDiagnostics(runId: string, diagnostics: DiagnosticRecord[]): Promise<void> {
    return Promise.resolve().then(() => {
      const rows = checkDiagnostics(diagnostics);
      this.#write("appendDiagnostics", (db) => {
        this.#requireRunning(db, runId, "appendDiagnostics");
        const insert = db.prepare(
          `INSERT INTO diagnostics (run_id, fold_index, kind, severity, message, data, created_at)
             VALUES (?, ?, ?, ?, ?, ?, ?)`,
        );
        const now = Date.now();
        for (const d of rows) insert.run(runId, d.fold, d.kind, d.severity, d.message, d.data, now);
      });
    });
  }

  putBacktest(runId: string, backtest: BacktestRecord): Promise<void> {
    return Promise.resolve().then(() => {
      const b = checkBacktest(backtest);
      this.#write("putBacktest", (db) => {
        this.#requireRunning(db, runId, "putBacktest");
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
          Date.now(),
        );
      });
    });
  }

  finishRun(runId: string, outcome: FinishRun): Promise<void> {
    return Promise.resolve().then(() => {
      const f = checkFinish(outcome);
      this.#write("finishRun", (db) => {
        this.#requireRunning(db, runId, "finishRun");
        db.prepare("UPDATE runs SET status = ?, error = ?, summary = ?, finished_at = ? WHERE id = ?")
          .run(f.status, f.error, f.summary, Date.now(), runId);
      });
    });
  }

  listRuns(options: ListRunsOptions = {}): Promise<RunSummary[]> {
    return Promise.resolve().then(() => {
      const { limit, offset, status } = checkListOptions(options);
      const rows = status === null
        ? this.#conn.prepare("SELECT * FROM runs ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?").all(
          limit,
          offset,
        )
        : this.#conn.prepare("SELECT * FROM runs WHERE status = ? ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?")
          .all(status, limit, offset);
      return (rows as Row[]).map(runSummary);
    });
  }

  #byRunIds(sql: string, ids: readonly string[]): Row[] {
    if (!Array.isArray(ids)) throw new StoreError("expected an array of run ids");
    if (ids.length === 0) return [];
    return this.#conn.prepare(sql).all(JSON.stringify(ids)) as Row[];
  }

  getRuns(ids: readonly string[]): Promise<RunSummary[]> {
    return Promise.resolve().then(() =>
      this.#byRunIds("SELECT * FROM runs WHERE id IN (SELECT value FROM json_each(?))", ids).map(runSummary)
    );
  }

  listFolds(runIds: readonly string[]): Promise<StoredFold[]> {
    return Promise.resolve().then(() =>
      this.#byRunIds(
        "SELECT * FROM folds WHERE run_id IN (SELECT value FROM json_each(?)) ORDER BY run_id, fold_index",
        runIds,
      ).map(storedFold)
    );
  }

  listEpochs(runIds: readonly string[]): Promise<StoredEpoch[]> {
    return Promise.resolve().then(() =>
      this.#byRunIds(
        `SELECT * FROM epochs WHERE run_id IN (SELECT value FROM json_each(?))
           ORDER BY run_id, coalesce(fold_index, -1), epoch`,
        runIds,
      ).map(storedEpoch)
    );
  }

  listDiagnostics(runIds: readonly string[]): Promise<StoredDiagnostic[]> {
    return Promise.resolve().then(() =>
      this.#byRunIds(
        "SELECT * FROM diagnostics WHERE run_id IN (SELECT value FROM json_each(?)) ORDER BY run_id, seq",
        runIds,
      ).map(storedDiagnostic)
    );
  }

  listBacktests(runIds: readonly string[]): Promise<StoredBacktest[]> {
    return Promise.resolve().then(() =>
      this.#byRunIds("SELECT * FROM backtests WHERE run_id IN (SELECT value FROM json_each(?))", runIds).map(
        storedBacktest,
      )
    );
  }

  getRun(id: string): Promise<Run | undefined> {
    return Promise.resolve().then(() => {
      requireString(id, "id");
      const db = this.#conn;
      // One read transaction, so the parts are a consistent snapshot even while another process writes.
      db.exec("BEGIN");
      try {
        const row = db.prepare("SELECT * FROM runs WHERE id = ?").get(id) as Row | undefined;
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
          ...runSummary(row),
          folds,
          epochs,
          diagnostics,
          backtest: bt === undefined ? null : storedBacktest(bt),
        };
      } finally {
        db.exec("COMMIT");
      }
    });
  }

  // -------------------------------------------------------------------------------------------------------------------
  // Dashboard read queries (additive, read-only; see StoreDashboardReads in store.ts and run_query.ts).
  // -------------------------------------------------------------------------------------------------------------------

  queryRuns(query: RunQuery = {}): Promise<RunPage> {
    return Promise.resolve().then(() => {
      const q = checkRunQuery(query);
      const page = runPageSql(q, "sqlite");
      const count = runCountSql(q, "sqlite");
      const db = this.#conn;
      // One read transaction: the page and the count see the same snapshot.
      db.exec("BEGIN");
      try {
        const rows = db.prepare(page.text).all(...page.params) as Row[];
        const total = db.prepare(count.text).get(...count.params) as Row;
        const shown = rows.slice(0, q.first);
        const sortValues = shown.map((r) => (r.sort_value as number | null) ?? null);
        return {
          runs: shown.map(runSummary),
          sortValues,
          cursors: shown.map((r, i) => encodeCursor(q.order.signature, sortValues[i], r.id as string)),
          totalCount: total.n as number,
          hasNextPage: rows.length > q.first,
        };
      } finally {
        db.exec("COMMIT");
      }
    });
  }

  foldAggregates(runIds: readonly string[]): Promise<FoldAggregates[]> {
    return Promise.resolve().then(() =>
      foldAggregatesOf(
        this.#byRunIds(
          `SELECT run_id, metrics, baselines FROM folds WHERE run_id IN (SELECT value FROM json_each(?))
             ORDER BY run_id, fold_index`,
          runIds,
        ).map((r) => ({
          runId: r.run_id as string,
          metrics: parseMetrics(r.metrics as string),
          baselines: parseMetrics(r.baselines as string),
        })),
      )
    );
  }

  listBacktestSummaries(runIds: readonly string[]): Promise<BacktestSummary[]> {
    return Promise.resolve().then(() =>
      this.#byRunIds(
        `SELECT run_id, lag, cost_bps, slippage_bps, annualization, metrics, buy_and_hold, warnings, details, created_at,
           length(equity_dates) / 4 AS points, buy_and_hold_values IS NOT NULL AS has_buy_and_hold
           FROM backtests WHERE run_id IN (SELECT value FROM json_each(?))`,
        runIds,
      ).map((r) => ({
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
      }))
    );
  }

  listEquityCurves(runIds: readonly string[]): Promise<StoredEquityCurve[]> {
    return Promise.resolve().then(() =>
      this.#byRunIds(
        `SELECT run_id, equity_dates, equity_values, buy_and_hold_values FROM backtests
           WHERE run_id IN (SELECT value FROM json_each(?))`,
        runIds,
      ).map((r) => ({
        runId: r.run_id as string,
        dates: decodeDates(r.equity_dates as Uint8Array),
        values: decodeValues(r.equity_values as Uint8Array),
        buyAndHold: r.buy_and_hold_values === null ? null : decodeValues(r.buy_and_hold_values as Uint8Array),
      }))
    );
  }

  /** The change token's statements, prepared once (the token is read on every API request). */
  #tokenStatements: { version: StatementSync; changes: StatementSync } | undefined;

  changeToken(): Promise<string> {
    return Promise.resolve().then(() => {
      // data_version changes when another connection (or process) commits; total_changes() counts this connection's
      // own writes. Together they change with every committed write this connection can see.
      const db = this.#conn;
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
    return currentVersion(this.#conn);
  }

  close(): Promise<void> {
    this.#db?.close();
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

  createStudy(study: NewStudy): Promise<string> {
    return Promise.resolve().then(() => {
      const s = checkNewStudy(study);
      const id = newStudyId();
      this.#write("createStudy", (db) => {
        db.prepare(
          `INSERT INTO studies (id, created_at, status, name, config, seed, symbols, data_source, data_fingerprint,
             version, features, entries, leakage_override) VALUES (?, ?, 'running', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        ).run(
          id,
          Date.now(),
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
        );
      });
      return id;
    });
  }

  finishStudy(id: string, outcome: FinishRun): Promise<void> {
    return Promise.resolve().then(() => {
      requireString(id, "id");
      const f = checkFinish(outcome);
      this.#write("finishStudy", (db) => {
        const row = db.prepare("SELECT status FROM studies WHERE id = ?").get(id) as Row | undefined;
        checkStudyRunning(row?.status as string | undefined, id, "finishStudy");
        const running = db.prepare(
          "SELECT id, entry FROM runs WHERE study_id = ? AND status = 'running' ORDER BY created_at, id",
        ).all(id) as { id: string; entry: string | null }[];
        checkNoRunningRuns(running, id);
        db.prepare("UPDATE studies SET status = ?, error = ?, summary = ?, finished_at = ? WHERE id = ?")
          .run(f.status, f.error, f.summary, Date.now(), id);
      });
    });
  }

  getStudy(id: string): Promise<Study | undefined> {
    return Promise.resolve().then(() => {
      requireString(id, "id");
      const db = this.#conn;
      // One read transaction: the study and its runs are a consistent snapshot even while another process writes.
      db.exec("BEGIN");
      try {
        const row = db.prepare("SELECT * FROM studies WHERE id = ?").get(id) as Row | undefined;
        if (row === undefined) return undefined;
        const runs = db.prepare("SELECT * FROM runs WHERE study_id = ? ORDER BY created_at, id").all(id) as Row[];
        return { ...studySummary(row), runs: runs.map(runSummary) };
      } finally {
        db.exec("COMMIT");
      }
    });
  }

  getStudies(ids: readonly string[]): Promise<StudySummary[]> {
    return Promise.resolve().then(() => {
      if (!Array.isArray(ids)) throw new StoreError("expected an array of study ids");
      if (ids.length === 0) return [];
      const rows = this.#conn.prepare("SELECT * FROM studies WHERE id IN (SELECT value FROM json_each(?))")
        .all(JSON.stringify(ids)) as Row[];
      return rows.map(studySummary);
    });
  }

  listStudies(options: ListRunsOptions = {}): Promise<StudySummary[]> {
    return Promise.resolve().then(() => {
      const { limit, offset, status } = checkListOptions(options);
      const rows = status === null
        ? this.#conn.prepare("SELECT * FROM studies ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?").all(
          limit,
          offset,
        )
        : this.#conn.prepare(
          "SELECT * FROM studies WHERE status = ? ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?",
        ).all(status, limit, offset);
      return (rows as Row[]).map(studySummary);
    });
  }

  appendPredictions(runId: string, predictions: PredictionRecord): Promise<void> {
    return Promise.resolve().then(() => {
      const p = checkPredictions(predictions);
      this.#write("appendPredictions", (db) => {
        this.#requireRunning(db, runId, "appendPredictions");
        const dup = db.prepare("SELECT 1 FROM predictions WHERE run_id = ? AND fold_index = ?").get(runId, p.fold);
        if (dup !== undefined) {
          throw new StoreError(
            `appendPredictions: run ${runId} already has predictions for fold ${p.fold}; nothing was written`,
          );
        }
        db.prepare(
          `INSERT INTO predictions (run_id, fold_index, n_rows, width, dates, symbol_dictionary, symbol_codes, scores,
             created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        ).run(runId, p.fold, p.rows, p.width, p.dates, p.symbolDictionary, p.symbolCodes, p.values, Date.now());
      });
    });
  }

  listPredictions(runIds: readonly string[]): Promise<StoredPredictions[]> {
    return Promise.resolve().then(() => {
      if (!Array.isArray(runIds)) throw new StoreError("expected an array of run ids");
      if (runIds.length === 0) return [];
      const rows = this.#conn.prepare(
        "SELECT * FROM predictions WHERE run_id IN (SELECT value FROM json_each(?)) ORDER BY run_id, fold_index",
      ).iterate(JSON.stringify(runIds));
      // Decoded one record at a time, so only one record's encoded bytes are held beside the decoded arrays.
      const out: StoredPredictions[] = [];
      for (const r of rows as Iterable<Row>) out.push(storedPredictions(r));
      return out;
    });
  }

  // --- Idempotent fold writes (scale-out) ---

  appendFoldResult(runId: string, result: FoldResultRecord): Promise<FoldWriteOutcome> {
    return Promise.resolve().then(() => {
      const { fold: f, predictions, epochs, diagnostics } = checkFoldResult(result);
      requireString(runId, "runId");
      return this.#write("appendFoldResult", (db): FoldWriteOutcome => {
        // The key first: a fold already stored means an earlier attempt committed; the run may be sealed since.
        if (db.prepare("SELECT 1 FROM folds WHERE run_id = ? AND fold_index = ?").get(runId, f.index) !== undefined) {
          return "duplicate";
        }
        this.#requireRunning(db, runId, "appendFoldResult");
        const now = Date.now();
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
          now,
        );
        const prediction = db.prepare(
          `INSERT INTO predictions (run_id, fold_index, n_rows, width, dates, symbol_dictionary, symbol_codes, scores,
             created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        );
        for (const p of predictions) {
          prediction.run(runId, p.fold, p.rows, p.width, p.dates, p.symbolDictionary, p.symbolCodes, p.values, now);
        }
        const epoch = db.prepare(
          `INSERT INTO epochs (run_id, fold_index, epoch, train_loss, val_loss, lr, grad_norm, clip_ratio, nan_mask,
             extra) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        );
        for (const e of epochs) epoch.run(runId, e.fold, e.epoch, ...e.values, e.nanMask, e.extra);
        const diagnostic = db.prepare(
          `INSERT INTO diagnostics (run_id, fold_index, kind, severity, message, data, created_at)
             VALUES (?, ?, ?, ?, ?, ?, ?)`,
        );
        for (const d of diagnostics) diagnostic.run(runId, d.fold, d.kind, d.severity, d.message, d.data, now);
        return "written";
      });
    });
  }
}

// --- Studies and out-of-sample predictions (schema version 2): row mapping ---

function studySummary(r: Row): StudySummary {
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
    dates: rows.dates,
    symbols: rows.symbols,
    values: decodeValues(r.scores as Uint8Array),
    width: r.width as number,
    createdAt: r.created_at as number,
  };
}

function currentVersion(db: DatabaseSync): number {
  const row = db.prepare("SELECT max(version) AS v FROM schema_version").get() as Row;
  return (row.v as number | null) ?? 0;
}

/** Applies pending migrations in one immediate transaction (all or nothing); refuses a database newer than the code. */
function migrate(db: DatabaseSync, migrations: readonly Migration[], path: string): void {
  migrations.forEach((m, i) => {
    if (m.version !== i + 1) {
      throw new StoreError(`migration ${i} has version ${m.version}; versions must be 1, 2, ...`);
    }
  });
  db.exec(
    `CREATE TABLE IF NOT EXISTS schema_version (
       version INTEGER PRIMARY KEY, description TEXT NOT NULL, applied_at INTEGER NOT NULL) STRICT`,
  );
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
  if (check() === latest) return;
  db.exec("BEGIN IMMEDIATE");
  try {
    // Re-read under the write lock: another process may have migrated meanwhile.
    for (const m of migrations.slice(check())) {
      db.exec(m.sql);
      db.prepare("INSERT INTO schema_version (version, description, applied_at) VALUES (?, ?, ?)").run(
        m.version,
        m.description,
        Date.now(),
      );
    }
    db.exec("COMMIT");
  } catch (e) {
    if (db.isTransaction) db.exec("ROLLBACK");
    throw e;
  }
}
