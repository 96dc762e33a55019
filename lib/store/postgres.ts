/**
 * The Postgres run store (postgres.js), for a store shared by several machines or workers. Selected by `openStore`
 * when the location is a `postgres://` or `postgresql://` URL; passes the same contract test suite as SQLite.
 *
 * - Opening is synchronous and lazy: the first call connects and applies pending migrations, under a transaction-level
 *   advisory lock so two workers starting together migrate once.
 * - Every write is one transaction that first locks the row it depends on (`SELECT ... FOR UPDATE`: the run, or the
 *   study before its runs), so the "is it still running / is this fold new" checks and the write cannot interleave
 *   with another writer. Failures roll back and surface as {@link StoreError}; nothing is written. A deadlock or
 *   serialization failure is retried a bounded number of times with backoff, then reported as
 *   {@link StoreLockedError}.
 * - JSON is sent as text and cast in SQL (`$1::text::json`): a parameter typed `json`/`jsonb` would make postgres.js
 *   JSON-encode the text once more and store a JSON string (what schema versions 1–2 did; version 3 repairs it).
 * - `getRun` reads in one REPEATABLE READ transaction: a consistent snapshot while others write.
 * - Every failure, reads included, is a StoreError naming the URL (password redacted) and the cause; an unreachable
 *   server, a refused login or a missing database is a {@link StoreUnavailableError} that says so.
 * - Optional `schema`: all tables live in that Postgres schema (created if missing), e.g. one per team or per test.
 * - Heartbeats and liveness use the clock of the process that writes or reads (like every other time stored): keep
 *   the machines sharing a store in sync (NTP); the stale threshold (60 s by default) is far above NTP's error.
 *
 * @module
 */

import type postgres from "postgres";
import { lazyPackage } from "../lazy_package.ts";
import { StoreError } from "../errors.ts";
import { newPredictionBatchId, newRunId, newStudyId, newSweepId } from "./run_id.ts";
import { POSTGRES_MIGRATIONS } from "./postgres_schema.ts";
import type { Migration } from "./sqlite_schema.ts";
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
  type StoredBacktest,
  type StoredDiagnostic,
  type StoredEpoch,
  type StoredEquityCurve,
  type StoredFold,
  type StoredPredictions,
  StoreLockedError,
  StoreUnavailableError,
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

/** postgres.js, loaded when a Postgres store is first opened (lib/lazy_package.ts). */
const loadPostgres = lazyPackage<typeof postgres>("postgres");

/** The notification channel every write transaction signals on commit, with the schema name as payload. */
export const CHANGE_CHANNEL = "candor_store_changes";

/** Options of {@link PostgresStore}. */
export interface PostgresStoreOptions {
  /** Postgres schema holding the tables (created if missing). Default `public`. */
  schema?: string;
  /** Largest number of pooled connections (default 4). */
  maxConnections?: number;
  /** Seconds to wait for a connection before reporting the server unreachable (default 10). */
  connectTimeoutSeconds?: number;
  /** Further attempts after a deadlock or serialization failure (default 3). */
  lockRetries?: number;
  /** Pause before the first retry, doubled before each next one, in ms (default 250). */
  lockBackoffMs?: number;
  /** A running record whose heartbeat is older than this (ms, ≥ 1000) reads as `stale` (default 60,000). */
  staleAfterMs?: number;
  /** The clock of every time the store writes and of liveness, epoch ms (default `Date.now`; tests move time). */
  clock?: () => number;
  /** Migrations to apply (tests simulate other versions). Default {@link POSTGRES_MIGRATIONS}. */
  migrations?: readonly Migration[];
}

type Sql = postgres.Sql<Record<string, never>>;
type Tx = postgres.TransactionSql;
type Row = Record<string, unknown>;

/** A URL safe to print: the password replaced by `***`. */
export function redactUrl(url: string): string {
  return url.replace(/(\/\/[^:/@]*:)[^@]*@/, "$1***@");
}

/** Node-style socket error codes and postgres.js connection codes that mean the server cannot be reached. */
const UNREACHABLE = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ETIMEDOUT",
  "EPIPE",
  "CONNECT_TIMEOUT",
  "CONNECTION_CLOSED",
  "CONNECTION_ENDED",
  "CONNECTION_DESTROYED",
]);

/**
 * What a postgres.js failure means: the server `unavailable` (unreachable, shutting down, refusing the login or the
 * database, out of connection slots), `retry` (deadlock, serialization failure, lock not available: try again), or
 * `other` (the statement failed).
 */
export function postgresFailureKind(e: unknown): "unavailable" | "retry" | "other" {
  const code = String((e as { code?: unknown } | null)?.code ?? "");
  if (UNREACHABLE.has(code)) return "unavailable";
  // Class 08: connection exception; 28: invalid authorization; 3D000: no such database; 57P0x: shutting down or
  // starting up; 53300: too many connections.
  if (/^(08|28)/.test(code) || ["3D000", "57P01", "57P02", "57P03", "53300"].includes(code)) return "unavailable";
  if (["40P01", "40001", "55P03"].includes(code)) return "retry";
  return "other";
}

/** Why the server cannot be used, in words, from a failure {@link postgresFailureKind} calls `unavailable`. */
function unavailableReason(e: unknown): string {
  const { code, message } = e as { code?: string; message?: string };
  const cause = message ?? String(e);
  if (code === "ECONNREFUSED") return `connection refused (${cause}): is the server running and listening there?`;
  if (code === "CONNECT_TIMEOUT" || code === "ETIMEDOUT") return `no answer in time (${cause})`;
  if (code === "ENOTFOUND" || code === "EAI_AGAIN") return `unknown host (${cause})`;
  if (code?.startsWith("28")) return `the server refused the login (${cause}): check the user and password`;
  if (code === "3D000") return `${cause}: create it, or fix the database name in the URL`;
  if (code?.startsWith("57P")) return `the server is shutting down or starting up (${cause})`;
  if (code === "53300") return `the server has no free connection slot (${cause})`;
  return `the connection failed (${cause})`;
}

/** The StoreError for a postgres.js failure of `what` on the store at `location` (a redacted URL). */
export function postgresFailure(e: unknown, what: string, location: string, mode: "read" | "write"): StoreError {
  if (e instanceof StoreError) return e;
  const nothing = mode === "write" ? "; nothing was written" : "";
  const cause = (e as Error)?.message ?? String(e);
  switch (postgresFailureKind(e)) {
    case "unavailable":
      return new StoreUnavailableError(
        `${what}: the Postgres run store at ${location} is unavailable: ${unavailableReason(e)}${nothing}`,
        { cause: e },
      );
    case "retry":
      return new StoreLockedError(
        `${what}: the Postgres run store at ${location} kept failing on concurrent writers (${cause}) after the ` +
          `retries${nothing}. Try again`,
        { cause: e },
      );
    default:
      return new StoreError(`${what}: ${cause} (Postgres run store at ${location})${nothing}`, { cause: e });
  }
}

/** The columns every run read selects: the row plus its tags. */
const RUN_SELECT = `SELECT r.*, ${tagsColumn("postgres", "run", "r")} FROM runs r`;
/** The columns every study read selects: the row plus its tags. */
const STUDY_SELECT = `SELECT s.*, ${tagsColumn("postgres", "study", "s")} FROM studies s`;

/** The schema-version-3 fields of a run or study row (documents arrive parsed; absent columns read as empty). */
function annotations(r: Row, now: number, staleAfterMs: number) {
  const heartbeatAt = (r.heartbeat_at as number | null | undefined) ?? null;
  return {
    heartbeatAt,
    liveness: livenessOf(r.status as RunStatus, heartbeatAt, r.created_at as number, now, staleAfterMs),
    tags: (r.tags_json as string[] | null | undefined) ?? [],
    note: (r.note as string | null | undefined) ?? null,
    reopened: (r.reopened as Reopening[] | null | undefined) ?? [],
  };
}

function runSummary(r: Row, now: number, staleAfterMs: number): RunSummary {
  return {
    id: r.id as string,
    createdAt: r.created_at as number,
    finishedAt: (r.finished_at as number | null) ?? null,
    status: r.status as RunStatus,
    error: (r.error as RunError | null) ?? null,
    config: r.config as Record<string, unknown>,
    seed: (r.seed as number | null) ?? null,
    model: r.model as string,
    symbols: r.symbols as string[],
    dataSource: r.data_source as string,
    backend: (r.backend as string | null) ?? null,
    leakageOverride: r.leakage_override === true,
    summary: (r.summary as Record<string, unknown> | null) ?? null,
    // Study fields (schema version 2).
    studyId: (r.study_id as string | null | undefined) ?? null,
    entry: (r.entry as string | null | undefined) ?? null,
    features: (r.features as string[] | null | undefined) ?? null,
    dataFingerprint: (r.data_fingerprint as string | null | undefined) ?? null,
    version: (r.version as string | null | undefined) ?? null,
    ...annotations(r, now, staleAfterMs),
  };
}

function storedFold(r: Row): StoredFold {
  return {
    runId: r.run_id as string,
    index: r.fold_index as number,
    train: r.train as StoredFold["train"],
    test: r.test as StoredFold["test"],
    validation: r.validation as StoredFold["validation"],
    purge: r.purge as number,
    embargo: r.embargo as number,
    nTrain: r.n_train as number,
    nTest: r.n_test as number,
    metrics: parseMetrics(r.metrics as Record<string, number | null>),
    baselines: parseMetrics(r.baselines as Record<string, number | null>),
    fitReport: r.fit_report as Record<string, unknown>,
  };
}

function storedEpoch(r: Row): StoredEpoch {
  return {
    runId: r.run_id as string,
    fold: (r.fold_index as number | null) ?? null,
    epoch: r.epoch as number,
    trainLoss: r.train_loss as number,
    valLoss: (r.val_loss as number | null) ?? null,
    lr: (r.lr as number | null) ?? null,
    gradNorm: (r.grad_norm as number | null) ?? null,
    clipRatio: (r.clip_ratio as number | null) ?? null,
    extra: (r.extra as Record<string, unknown> | null) ?? null,
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
    data: (r.data as Record<string, unknown> | null) ?? null,
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
    metrics: parseMetrics(r.metrics as Record<string, number | null>),
    buyAndHold: parseMetrics(r.buy_and_hold as Record<string, number | null>),
    warnings: r.warnings as string[],
    equity: {
      dates: decodeDates(r.equity_dates as Uint8Array),
      values: decodeValues(r.equity_values as Uint8Array),
      buyAndHold: r.buy_and_hold_values === null ? null : decodeValues(r.buy_and_hold_values as Uint8Array),
    },
    details: (r.details as Record<string, unknown> | null) ?? null,
    createdAt: r.created_at as number,
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** A {@link Store} in a Postgres database. */
export class PostgresStore implements Store {
  readonly backend = "postgres";
  /** The connection URL with its password redacted. */
  readonly location: string;
  /** The Postgres schema holding the tables. */
  readonly schema: string;
  #sql: Sql | undefined;
  #ready: Promise<void> | undefined;
  readonly #migrations: readonly Migration[];
  readonly #lockRetries: number;
  readonly #lockBackoffMs: number;
  readonly #staleAfterMs: number;
  readonly #clock: () => number;

  /** Prepares a connection pool; nothing connects until the first call. */
  constructor(url: string, options: PostgresStoreOptions = {}) {
    this.location = redactUrl(url);
    this.schema = options.schema ?? "public";
    if (!/^[a-z_][a-z0-9_]{0,62}$/.test(this.schema)) {
      throw new StoreError(`Postgres schema name must match [a-z_][a-z0-9_]*, got ${JSON.stringify(this.schema)}`);
    }
    this.#migrations = options.migrations ?? POSTGRES_MIGRATIONS;
    this.#lockRetries = Math.max(0, Math.floor(options.lockRetries ?? 3));
    this.#lockBackoffMs = Math.max(0, options.lockBackoffMs ?? 250);
    this.#staleAfterMs = checkStaleAfterMs(options.staleAfterMs);
    this.#clock = options.clock ?? Date.now;
    try {
      this.#sql = loadPostgres()(url, {
        max: options.maxConnections ?? 4,
        onnotice: () => {},
        connect_timeout: options.connectTimeoutSeconds ?? 10,
        connection: { search_path: this.schema, application_name: "candor" },
        types: {
          // int8 (epoch ms, sizes, seeds) as JS numbers rather than strings.
          int8: { to: 20, from: [20], serialize: (x: number) => String(x), parse: (x: string) => Number(x) },
        },
      }) as unknown as Sql;
    } catch (e) {
      throw new StoreError(`cannot use the Postgres run store at ${this.location}: ${(e as Error).message}`, {
        cause: e,
      });
    }
  }

  /** Now, in epoch milliseconds, by the store's clock. */
  #now(): number {
    return this.#clock();
  }

  get #conn(): Sql {
    if (this.#sql === undefined) throw new StoreError(`the run store at ${this.location} is closed`);
    return this.#sql;
  }

  /** Connects and migrates once. */
  #ensureReady(): Promise<void> {
    this.#ready ??= this.#migrate().catch((e) => {
      this.#ready = undefined;
      throw postgresFailure(e, "connect and migrate", this.location, "write");
    });
    return this.#ready;
  }

  async #migrate(): Promise<void> {
    const migrations = this.#migrations;
    migrations.forEach((m, i) => {
      if (m.version !== i + 1) throw new StoreError(`migration ${i} has version ${m.version}; must be 1, 2, ...`);
    });
    const latest = migrations.length;
    await this.#conn.begin(async (tx) => {
      await tx`SELECT pg_advisory_xact_lock(hashtext('candor-store-migrations'))`;
      await tx.unsafe(`CREATE SCHEMA IF NOT EXISTS "${this.schema}"`);
      await tx.unsafe(`SET LOCAL search_path TO "${this.schema}"`);
      await tx.unsafe(
        `CREATE TABLE IF NOT EXISTS schema_version (
           version integer PRIMARY KEY, description text NOT NULL, applied_at bigint NOT NULL)`,
      );
      const [{ v }] = await tx`SELECT coalesce(max(version), 0)::integer AS v FROM schema_version`;
      if (v > latest) {
        throw new StoreError(
          `the run store at ${this.location} (schema ${this.schema}) has schema version ${v}, newer than this ` +
            `candor understands (${latest}). Upgrade candor, or use another database or schema; nothing was changed`,
        );
      }
      for (const m of migrations.slice(v)) {
        await tx.unsafe(m.sql);
        await tx`INSERT INTO schema_version (version, description, applied_at)
                 VALUES (${m.version}, ${m.description}, ${this.#now()})`;
      }
    });
  }

  /** The schema version of the database. */
  async schemaVersion(): Promise<number> {
    return await this.#read("schemaVersion", async (sql) => {
      const [{ v }] = await sql`SELECT coalesce(max(version), 0)::integer AS v FROM schema_version`;
      return v as number;
    });
  }

  /**
   * Runs `fn` in one transaction; rolls back and rethrows as StoreError on any failure. A deadlock or serialization
   * failure is retried (bounded, with backoff).
   */
  async #write<T>(what: string, fn: (tx: Tx) => Promise<T>): Promise<T> {
    await this.#ensureReady();
    for (let attempt = 0;; attempt++) {
      try {
        return await this.#conn.begin(async (tx) => {
          const out = await fn(tx);
          // Delivered to listeners (onChange) only when this transaction commits.
          await tx`SELECT pg_notify(${CHANGE_CHANNEL}, ${this.schema})`;
          return out;
        }) as T;
      } catch (e) {
        if (e instanceof StoreError) throw e;
        if (postgresFailureKind(e) === "retry" && attempt < this.#lockRetries) {
          await sleep(this.#lockBackoffMs * 2 ** attempt);
          continue;
        }
        throw postgresFailure(e, what, this.location, "write");
      }
    }
  }

  /** Runs the read `fn` on the pool; failures become StoreErrors naming the server. */
  async #read<T>(what: string, fn: (sql: Sql) => Promise<T>): Promise<T> {
    await this.#ensureReady();
    try {
      return await fn(this.#conn);
    } catch (e) {
      throw postgresFailure(e, what, this.location, "read");
    }
  }

  /** Runs the read `fn` in one REPEATABLE READ READ ONLY transaction (one consistent snapshot). */
  async #snapshot<T>(what: string, fn: (tx: Tx) => Promise<T>): Promise<T> {
    return await this.#read(what, async (sql) => await sql.begin("ISOLATION LEVEL REPEATABLE READ READ ONLY", fn) as T);
  }

  #runs(rows: readonly Row[]): RunSummary[] {
    const now = this.#now();
    return rows.map((r) => runSummary(r, now, this.#staleAfterMs));
  }

  #studies(rows: readonly Row[]): StudySummary[] {
    const now = this.#now();
    return rows.map((r) => studySummary(r, now, this.#staleAfterMs));
  }

  /** Locks a run's or study's row and reads its life-cycle state (undefined when there is none). */
  async #state(tx: Tx, kind: "run" | "study", id: string): Promise<RecordState | undefined> {
    const [row] = await tx.unsafe(
      `SELECT status, created_at, heartbeat_at, finished_at, error FROM ${kind === "run" ? "runs" : "studies"}
         WHERE id = $1 FOR UPDATE`,
      [id],
    );
    return row === undefined ? undefined : {
      status: row.status as RunStatus,
      createdAt: row.created_at as number,
      heartbeatAt: (row.heartbeat_at as number | null) ?? null,
      finishedAt: (row.finished_at as number | null) ?? null,
      error: (row.error as RunError | null) ?? null,
    };
  }

  /** Locks the run's row; refuses unknown and sealed runs. */
  async #requireRunning(tx: Tx, runId: string, what: string): Promise<void> {
    requireString(runId, "runId");
    const rows = await tx`SELECT status FROM runs WHERE id = ${runId} FOR UPDATE`;
    if (rows.length === 0) {
      throw new StoreError(`${what}: unknown run id ${JSON.stringify(runId)}; nothing was written`);
    }
    if (rows[0].status !== "running") {
      throw new StoreError(
        `${what}: run ${runId} is already ${rows[0].status}; a finished run is sealed and refuses writes. ` +
          `Start a new run instead${
            rows[0].status === "succeeded" ? "" : ", or reopen it (reopenRun / reopenStudy) to resume it"
          }. Nothing was written`,
      );
    }
  }

  // --- Inserts shared by the single-part and the all-parts writes ---

  async #insertFold(tx: Tx, runId: string, f: FoldRow, what: string): Promise<void> {
    const dup = await tx`SELECT 1 FROM folds WHERE run_id = ${runId} AND fold_index = ${f.index}`;
    if (dup.length > 0) {
      throw new StoreError(`${what}: run ${runId} already has fold ${f.index}; nothing was written`);
    }
    await tx`INSERT INTO folds (run_id, fold_index, train, test, validation, purge, embargo, n_train, n_test,
               metrics, baselines, fit_report, created_at)
             VALUES (${runId}, ${f.index}, ${f.train}::text::json, ${f.test}::text::json,
               ${f.validation}::text::json, ${f.purge}, ${f.embargo}, ${f.nTrain}, ${f.nTest},
               ${f.metrics}::text::json, ${f.baselines}::text::json, ${f.fitReport}::text::json, ${this.#now()})`;
  }

  async #insertEpochs(tx: Tx, runId: string, rows: EpochRow[], what: string): Promise<void> {
    for (const e of rows) {
      const dup = await tx`SELECT 1 FROM epochs
                           WHERE run_id = ${runId} AND coalesce(fold_index, -1) = ${e.fold ?? -1}
                             AND epoch = ${e.epoch}`;
      if (dup.length > 0) {
        throw new StoreError(
          `${what}: run ${runId} already has epoch ${e.epoch} of fold ${e.fold}; nothing was written`,
        );
      }
      const [trainLoss, valLoss, lr, gradNorm, clipRatio] = e.values;
      await tx`INSERT INTO epochs (run_id, fold_index, epoch, train_loss, val_loss, lr, grad_norm, clip_ratio, extra)
               VALUES (${runId}, ${e.fold}, ${e.epoch}, ${trainLoss}::float8, ${valLoss}::float8, ${lr}::float8,
                 ${gradNorm}::float8, ${clipRatio}::float8, ${e.extra}::text::json)`;
    }
  }

  async #insertDiagnostics(tx: Tx, runId: string, rows: DiagnosticRow[]): Promise<void> {
    const now = this.#now();
    for (const d of rows) {
      await tx`INSERT INTO diagnostics (run_id, fold_index, kind, severity, message, data, created_at)
               VALUES (${runId}, ${d.fold}, ${d.kind}, ${d.severity}, ${d.message}, ${d.data}::text::json, ${now})`;
    }
  }

  async #insertBacktest(tx: Tx, runId: string, b: BacktestRow): Promise<void> {
    await tx`DELETE FROM backtests WHERE run_id = ${runId}`;
    await tx`INSERT INTO backtests (run_id, lag, cost_bps, slippage_bps, annualization, metrics, buy_and_hold,
               warnings, equity_dates, equity_values, buy_and_hold_values, details, created_at)
             VALUES (${runId}, ${b.lag}, ${b.costBps}, ${b.slippageBps}, ${b.annualization},
               ${b.metrics}::text::json, ${b.buyAndHold}::text::json, ${b.warnings}::text::json, ${b.equityDates},
               ${b.equityValues}, ${b.buyAndHoldValues}, ${b.details}::text::json, ${this.#now()})`;
  }

  async #insertPredictions(tx: Tx, runId: string, p: PredictionRow, what: string): Promise<void> {
    const dup = await tx`SELECT 1 FROM predictions
                         WHERE run_id = ${runId} AND fold_index = ${p.fold} AND split = ${p.split}`;
    if (dup.length > 0) {
      throw new StoreError(
        `${what}: run ${runId} already has predictions for fold ${p.fold} (split ${p.split}); nothing was written`,
      );
    }
    await tx`INSERT INTO predictions (run_id, fold_index, split, n_rows, width, dates, symbol_dictionary,
               symbol_codes, scores, created_at)
             VALUES (${runId}, ${p.fold}, ${p.split}, ${p.rows}, ${p.width}, ${p.dates},
               ${p.symbolDictionary}::text::jsonb, ${p.symbolCodes}, ${p.values}, ${this.#now()})`;
  }

  // --- Runs ---

  async createRun(run: NewRun): Promise<string> {
    const r = checkNewRun(run);
    const s = checkRunStudyFields(run);
    const id = newRunId();
    await this.#write("createRun", async (tx) => {
      if (s.studyId !== null) await this.#requireStudyForRun(tx, s.studyId, s.entry);
      const now = this.#now();
      await tx`INSERT INTO runs (id, created_at, status, config, seed, model, symbols, data_source, backend,
                 leakage_override, study_id, entry, features, data_fingerprint, version, heartbeat_at)
               VALUES (${id}, ${now}, 'running', ${r.config}::text::json, ${r.seed}, ${r.model},
                 ${r.symbols}::text::json, ${r.dataSource}, ${r.backend}, ${r.leakageOverride}, ${s.studyId},
                 ${s.entry}, ${s.features}::text::json, ${s.dataFingerprint}, ${s.version}, ${now})`;
    });
    return id;
  }

  async appendFold(runId: string, fold: FoldRecord): Promise<void> {
    const f = checkFold(fold);
    await this.#write("appendFold", async (tx) => {
      await this.#requireRunning(tx, runId, "appendFold");
      await this.#insertFold(tx, runId, f, "appendFold");
    });
  }

  async recordFold(runId: string, fold: FoldRecord, parts?: FoldParts): Promise<FoldWriteOutcome> {
    const f = checkFold(fold);
    const p = checkFoldParts(f.index, parts);
    requireString(runId, "runId");
    return await this.#write("recordFold", async (tx): Promise<FoldWriteOutcome> => {
      // Lock the run's row first (two writers racing on one fold serialize here), then the key: a fold already stored
      // means an earlier attempt committed, whatever the run's status since.
      const run = await tx`SELECT 1 FROM runs WHERE id = ${runId} FOR UPDATE`;
      if (run.length > 0) {
        const dup = await tx`SELECT 1 FROM folds WHERE run_id = ${runId} AND fold_index = ${f.index}`;
        if (dup.length > 0) return "duplicate";
      }
      await this.#requireRunning(tx, runId, "recordFold");
      await this.#insertFold(tx, runId, f, "recordFold");
      for (const r of p.predictions) await this.#insertPredictions(tx, runId, r, "recordFold");
      await this.#insertEpochs(tx, runId, p.epochs, "recordFold");
      await this.#insertDiagnostics(tx, runId, p.diagnostics);
      return "written";
    });
  }

  async appendEpochs(runId: string, epochs: EpochRecord[]): Promise<void> {
    const rows = checkEpochs(epochs);
    await this.#write("appendEpochs", async (tx) => {
      await this.#requireRunning(tx, runId, "appendEpochs");
      await this.#insertEpochs(tx, runId, rows, "appendEpochs");
    });
  }

  async appendDiagnostics(runId: string, diagnostics: DiagnosticRecord[]): Promise<void> {
    const rows = checkDiagnostics(diagnostics);
    await this.#write("appendDiagnostics", async (tx) => {
      await this.#requireRunning(tx, runId, "appendDiagnostics");
      await this.#insertDiagnostics(tx, runId, rows);
    });
  }

  async putBacktest(runId: string, backtest: BacktestRecord): Promise<void> {
    const b = checkBacktest(backtest);
    await this.#write("putBacktest", async (tx) => {
      await this.#requireRunning(tx, runId, "putBacktest");
      await this.#insertBacktest(tx, runId, b);
    });
  }

  async finishRun(runId: string, outcome: FinishRun, parts?: RunFinalParts): Promise<void> {
    const f = checkFinish(outcome);
    const p = checkFinalParts(parts);
    await this.#write("finishRun", async (tx) => {
      await this.#requireRunning(tx, runId, "finishRun");
      if (p.backtest !== null) await this.#insertBacktest(tx, runId, p.backtest);
      await this.#insertDiagnostics(tx, runId, p.diagnostics);
      await tx`UPDATE runs SET status = ${f.status}, error = ${f.error}::text::json,
                 summary = ${f.summary}::text::json, finished_at = ${this.#now()}
               WHERE id = ${runId}`;
    });
  }

  async listRuns(options: ListRunsOptions = {}): Promise<RunSummary[]> {
    const { limit, offset, status, tag } = checkListOptions(options);
    return await this.#read("listRuns", async (sql) =>
      this.#runs(
        await sql.unsafe(
          `${RUN_SELECT} WHERE ($1::text IS NULL OR r.status = $1::text)
             AND ($2::text IS NULL OR EXISTS (SELECT 1 FROM run_tags t WHERE t.run_id = r.id AND t.tag = $2::text))
           ORDER BY r.created_at DESC, r.id DESC LIMIT $3 OFFSET $4`,
          [status, tag, limit, offset],
        ),
      ));
  }

  async #byRunIds(what: string, ids: readonly string[], query: (sql: Sql, ids: string[]) => Promise<Row[]>) {
    if (!Array.isArray(ids)) throw new StoreError(`${what}: expected an array of run ids`);
    if (ids.length === 0) return [];
    return await this.#read(what, (sql) => query(sql, [...ids]));
  }

  async getRuns(ids: readonly string[]): Promise<RunSummary[]> {
    return this.#runs(
      await this.#byRunIds(
        "getRuns",
        ids,
        (sql, ids) => sql.unsafe(`${RUN_SELECT} WHERE r.id = ANY($1::text[])`, [ids]),
      ),
    );
  }

  async listFolds(runIds: readonly string[]): Promise<StoredFold[]> {
    return (await this.#byRunIds(
      "listFolds",
      runIds,
      (sql, ids) => sql`SELECT * FROM folds WHERE run_id = ANY(${ids}::text[]) ORDER BY run_id, fold_index`,
    )).map(storedFold);
  }

  async listEpochs(runIds: readonly string[]): Promise<StoredEpoch[]> {
    return (await this.#byRunIds(
      "listEpochs",
      runIds,
      (sql, ids) =>
        sql`SELECT * FROM epochs WHERE run_id = ANY(${ids}::text[])
            ORDER BY run_id, coalesce(fold_index, -1), epoch`,
    )).map(storedEpoch);
  }

  async listDiagnostics(runIds: readonly string[]): Promise<StoredDiagnostic[]> {
    return (await this.#byRunIds(
      "listDiagnostics",
      runIds,
      (sql, ids) => sql`SELECT * FROM diagnostics WHERE run_id = ANY(${ids}::text[]) ORDER BY run_id, seq`,
    )).map(storedDiagnostic);
  }

  async listBacktests(runIds: readonly string[]): Promise<StoredBacktest[]> {
    return (await this.#byRunIds(
      "listBacktests",
      runIds,
      (sql, ids) => sql`SELECT * FROM backtests WHERE run_id = ANY(${ids}::text[])`,
    )).map(storedBacktest);
  }

  async getRun(id: string): Promise<Run | undefined> {
    requireString(id, "id");
    return await this.#snapshot("getRun", async (tx) => {
      const [row] = await tx.unsafe(`${RUN_SELECT} WHERE r.id = $1`, [id]);
      if (row === undefined) return undefined;
      const folds = await tx`SELECT * FROM folds WHERE run_id = ${id} ORDER BY fold_index`;
      const epochs = await tx`SELECT * FROM epochs WHERE run_id = ${id} ORDER BY coalesce(fold_index, -1), epoch`;
      const diagnostics = await tx`SELECT * FROM diagnostics WHERE run_id = ${id} ORDER BY seq`;
      const [bt] = await tx`SELECT * FROM backtests WHERE run_id = ${id}`;
      return {
        ...this.#runs([row])[0],
        folds: folds.map(storedFold),
        epochs: epochs.map(storedEpoch),
        diagnostics: diagnostics.map(storedDiagnostic),
        backtest: bt === undefined ? null : storedBacktest(bt),
      } as Run;
    });
  }

  // -------------------------------------------------------------------------------------------------------------------
  // Dashboard read queries (additive, read-only; see StoreDashboardReads in store.ts and run_query.ts).
  // -------------------------------------------------------------------------------------------------------------------

  async queryRuns(query: RunQuery = {}): Promise<RunPage> {
    const q = checkRunQuery(query);
    const page = runPageSql(q, "postgres");
    const count = runCountSql(q, "postgres");
    // One snapshot for the page and the count.
    const [rows, total] = await this.#snapshot("queryRuns", async (tx) => [
      await tx.unsafe(page.text, page.params),
      await tx.unsafe(count.text, count.params),
    ]) as [Row[], Row[]];
    const shown = rows.slice(0, q.first);
    const sortValues = shown.map((r) => r.sort_value === null ? null : Number(r.sort_value));
    return {
      runs: this.#runs(shown),
      sortValues,
      cursors: shown.map((r, i) => encodeCursor(q.order.signature, sortValues[i], r.id as string)),
      totalCount: Number(total[0].n),
      hasNextPage: rows.length > q.first,
    };
  }

  async foldAggregates(runIds: readonly string[]): Promise<FoldAggregates[]> {
    const rows = await this.#byRunIds(
      "foldAggregates",
      runIds,
      (sql, ids) =>
        sql`SELECT run_id, metrics, baselines FROM folds WHERE run_id = ANY(${ids}::text[]) ORDER BY run_id, fold_index`,
    );
    return foldAggregatesOf(rows.map((r) => ({
      runId: r.run_id as string,
      metrics: parseMetrics(r.metrics as Record<string, number | null>),
      baselines: parseMetrics(r.baselines as Record<string, number | null>),
    })));
  }

  async listBacktestSummaries(runIds: readonly string[]): Promise<BacktestSummary[]> {
    const rows = await this.#byRunIds(
      "listBacktestSummaries",
      runIds,
      (sql, ids) =>
        sql`SELECT run_id, lag, cost_bps, slippage_bps, annualization, metrics, buy_and_hold, warnings, details,
              created_at, octet_length(equity_dates) / 4 AS points, buy_and_hold_values IS NOT NULL AS has_buy_and_hold
            FROM backtests WHERE run_id = ANY(${ids}::text[])`,
    );
    return rows.map((r) => ({
      runId: r.run_id as string,
      lag: r.lag as number,
      costBps: r.cost_bps as number,
      slippageBps: r.slippage_bps as number,
      annualization: r.annualization as number,
      metrics: parseMetrics(r.metrics as Record<string, number | null>),
      buyAndHold: parseMetrics(r.buy_and_hold as Record<string, number | null>),
      warnings: r.warnings as string[],
      details: (r.details as Record<string, unknown> | null) ?? null,
      createdAt: r.created_at as number,
      points: Number(r.points),
      hasBuyAndHold: r.has_buy_and_hold === true,
    }));
  }

  async listEquityCurves(runIds: readonly string[]): Promise<StoredEquityCurve[]> {
    const rows = await this.#byRunIds(
      "listEquityCurves",
      runIds,
      (sql, ids) =>
        sql`SELECT run_id, equity_dates, equity_values, buy_and_hold_values FROM backtests
            WHERE run_id = ANY(${ids}::text[])`,
    );
    return rows.map((r) => ({
      runId: r.run_id as string,
      dates: decodeDates(r.equity_dates as Uint8Array),
      values: decodeValues(r.equity_values as Uint8Array),
      buyAndHold: r.buy_and_hold_values === null ? null : decodeValues(r.buy_and_hold_values as Uint8Array),
    }));
  }

  async changeToken(): Promise<string> {
    // The cluster's current snapshot (xmin:xmax:in-progress ids) changes whenever a transaction that wrote anything
    // starts or ends, here or in another database of the cluster: never equal across a commit, at worst a spurious
    // change.
    return await this.#read("changeToken", async (sql) => {
      const [row] = await sql`SELECT pg_current_snapshot()::text AS s`;
      return row.s as string;
    });
  }

  async close(): Promise<void> {
    const sql = this.#sql;
    this.#sql = undefined;
    await sql?.end({ timeout: 5 });
  }

  // --- Studies and out-of-sample predictions (schema version 2) ---

  /**
   * Locks the study's row (so `finishStudy` cannot seal it until this run is committed, and then sees it running);
   * refuses an unknown or sealed study, or an entry the study did not plan.
   */
  async #requireStudyForRun(tx: Tx, studyId: string, entry: string | null): Promise<void> {
    const [row] = await tx`SELECT status, entries FROM studies WHERE id = ${studyId} FOR UPDATE`;
    checkStudyForRun(
      row === undefined ? undefined : { status: row.status as string, entries: row.entries as StudyEntry[] },
      studyId,
      entry,
    );
  }

  async createStudy(study: NewStudy): Promise<string> {
    const s = checkNewStudy(study);
    const id = newStudyId();
    await this.#write("createStudy", async (tx) => {
      const now = this.#now();
      await tx`INSERT INTO studies (id, created_at, status, name, config, seed, symbols, data_source, data_fingerprint,
                 version, features, entries, leakage_override, heartbeat_at)
               VALUES (${id}, ${now}, 'running', ${s.name}, ${s.config}::text::json, ${s.seed},
                 ${s.symbols}::text::json, ${s.dataSource}, ${s.dataFingerprint}, ${s.version},
                 ${s.features}::text::json, ${s.entries}::text::json, ${s.leakageOverride}, ${now})`;
    });
    return id;
  }

  async finishStudy(id: string, outcome: FinishRun): Promise<void> {
    requireString(id, "id");
    const f = checkFinish(outcome);
    await this.#write("finishStudy", async (tx) => {
      const [row] = await tx`SELECT status FROM studies WHERE id = ${id} FOR UPDATE`;
      checkStudyRunning(row?.status as string | undefined, id, "finishStudy");
      const running = await tx`SELECT id, entry FROM runs WHERE study_id = ${id} AND status = 'running'
                               ORDER BY created_at, id`;
      checkNoRunningRuns(running.map((r) => ({ id: r.id as string, entry: (r.entry as string | null) ?? null })), id);
      await tx`UPDATE studies SET status = ${f.status}, error = ${f.error}::text::json,
                 summary = ${f.summary}::text::json, finished_at = ${this.#now()}
               WHERE id = ${id}`;
    });
  }

  async getStudy(id: string): Promise<Study | undefined> {
    requireString(id, "id");
    return await this.#snapshot("getStudy", async (tx) => {
      const [row] = await tx.unsafe(`${STUDY_SELECT} WHERE s.id = $1`, [id]);
      if (row === undefined) return undefined;
      const runs = await tx.unsafe(`${RUN_SELECT} WHERE r.study_id = $1 ORDER BY r.created_at, r.id`, [id]);
      return { ...this.#studies([row])[0], runs: this.#runs(runs) } as Study;
    });
  }

  async getStudies(ids: readonly string[]): Promise<StudySummary[]> {
    if (!Array.isArray(ids)) throw new StoreError("getStudies: expected an array of study ids");
    if (ids.length === 0) return [];
    return this.#studies(
      await this.#read("getStudies", (sql) => sql.unsafe(`${STUDY_SELECT} WHERE s.id = ANY($1::text[])`, [[...ids]])),
    );
  }

  async listStudies(options: ListRunsOptions = {}): Promise<StudySummary[]> {
    const { limit, offset, status, tag } = checkListOptions(options);
    return await this.#read("listStudies", async (sql) =>
      this.#studies(
        await sql.unsafe(
          `${STUDY_SELECT} WHERE ($1::text IS NULL OR s.status = $1::text)
             AND ($2::text IS NULL
               OR EXISTS (SELECT 1 FROM study_tags t WHERE t.study_id = s.id AND t.tag = $2::text))
           ORDER BY s.created_at DESC, s.id DESC LIMIT $3 OFFSET $4`,
          [status, tag, limit, offset],
        ),
      ));
  }

  async appendPredictions(runId: string, predictions: PredictionRecord): Promise<void> {
    const p = checkPredictions(predictions);
    await this.#write("appendPredictions", async (tx) => {
      await this.#requireRunning(tx, runId, "appendPredictions");
      await this.#insertPredictions(tx, runId, p, "appendPredictions");
    });
  }

  async listPredictions(runIds: readonly string[], options: ListPredictionsOptions = {}): Promise<StoredPredictions[]> {
    const split = options?.split ?? null;
    if (split !== null && !PREDICTION_SPLITS.includes(split)) {
      throw new StoreError(`listPredictions: split: expected ${PREDICTION_SPLITS.join(" | ")}, found ${String(split)}`);
    }
    return (await this.#byRunIds(
      "listPredictions",
      runIds,
      (sql, ids) =>
        sql`SELECT * FROM predictions WHERE run_id = ANY(${ids}::text[])
              AND (${split}::text IS NULL OR split = ${split}::text)
            ORDER BY run_id, fold_index, split`,
    )).map(storedPredictions);
  }

  // --- Production: models, production predictions, run backtests, sweeps and trials (schema version 4) ---

  async registerModel(model: NewModel): Promise<string> {
    const m = checkNewModel(model);
    await this.#write("registerModel", async (tx) => {
      const dup = await tx`SELECT 1 FROM models WHERE id = ${m.id}`;
      if (dup.length > 0) {
        throw new StoreError(`registerModel: model ${m.id} is already registered; nothing was written`);
      }
      await tx`INSERT INTO models (id, created_at, name, kind, path, study_id, run_id, config, features,
                 data_fingerprint, data_source, version, target_kind, horizon, trained_from, trained_to,
                 last_price_date, symbols, gate, skip_gate, summary)
               VALUES (${m.id}, ${this.#now()}, ${m.name}, ${m.kind}, ${m.path}, ${m.studyId}, ${m.runId},
                 ${m.config}::text::json, ${m.features}::text::json, ${m.dataFingerprint}, ${m.dataSource}, ${m.version},
                 ${m.targetKind}, ${m.horizon}, ${m.trainedFrom}, ${m.trainedTo}, ${m.lastPriceDate},
                 ${m.symbols}::text::json, ${m.gate}::text::json, ${m.skipGate}, ${m.summary}::text::json)`;
    });
    return m.id;
  }

  async getModels(ids: readonly string[]): Promise<StoredModel[]> {
    if (!Array.isArray(ids)) throw new StoreError("expected an array of model ids");
    if (ids.length === 0) return [];
    return (await this.#read("getModels", (sql) => sql`SELECT * FROM models WHERE id = ANY(${[...ids]}::text[])`))
      .map(storedModel);
  }

  async listModels(options: ListRunsOptions = {}): Promise<StoredModel[]> {
    const { limit, offset } = checkListOptions({ limit: options.limit, offset: options.offset });
    return (await this.#read(
      "listModels",
      (sql) => sql`SELECT * FROM models ORDER BY created_at DESC, id DESC LIMIT ${limit} OFFSET ${offset}`,
    )).map(storedModel);
  }

  async appendProductionPredictions(batch: NewProductionPredictions): Promise<string> {
    const b = checkProductionPredictions(batch);
    const id = newPredictionBatchId();
    await this.#write("appendProductionPredictions", async (tx) => {
      const model = await tx`SELECT 1 FROM models WHERE id = ${b.modelId} FOR SHARE`;
      if (model.length === 0) {
        throw new StoreError(
          `appendProductionPredictions: unknown model id ${JSON.stringify(b.modelId)}; nothing was written`,
        );
      }
      await tx`INSERT INTO production_batches (id, model_id, created_at, as_of, data_fingerprint, data_source, details)
               VALUES (${id}, ${b.modelId}, ${this.#now()}, ${b.asOf}, ${b.dataFingerprint}, ${b.dataSource},
                 ${b.details}::text::json)`;
      const orNull = (x: number) => (Number.isNaN(x) ? null : x);
      for (const [i, r] of b.rows.entries()) {
        await tx`INSERT INTO production_predictions (batch_id, row_index, symbol, date, score, confidence, position,
                   weight, warnings)
                 VALUES (${id}, ${i}, ${r.symbol}, ${r.date}, ${orNull(r.score)}::float8,
                   ${orNull(r.confidence)}::float8, ${orNull(r.position)}::float8, ${orNull(r.weight)}::float8,
                   ${r.warnings}::text::json)`;
      }
    });
    return id;
  }

  async listProductionPredictions(
    modelIds: readonly string[],
    options: ListProductionPredictionsOptions = {},
  ): Promise<StoredProductionPredictions[]> {
    if (!Array.isArray(modelIds)) throw new StoreError("expected an array of model ids");
    const last = checkLastOption(options);
    if (modelIds.length === 0) return [];
    return await this.#snapshot("listProductionPredictions", async (tx) => {
      const batches = await tx`SELECT * FROM (
                                 SELECT *, ROW_NUMBER() OVER (PARTITION BY model_id ORDER BY created_at DESC, id DESC)
                                   AS newest
                                 FROM production_batches WHERE model_id = ANY(${[...modelIds]}::text[])) b
                               WHERE newest <= ${last ?? Number.MAX_SAFE_INTEGER} ORDER BY created_at, id`;
      const out: StoredProductionPredictions[] = [];
      for (const b of batches) {
        const rows = await tx`SELECT * FROM production_predictions WHERE batch_id = ${b.id} ORDER BY row_index`;
        out.push(productionBatch(b, rows));
      }
      return out;
    });
  }

  async addRunBacktest(runId: string, backtest: BacktestRecord): Promise<number> {
    requireString(runId, "runId");
    const b = checkBacktest(backtest);
    return await this.#write("addRunBacktest", async (tx) => {
      const run = await tx`SELECT 1 FROM runs WHERE id = ${runId} FOR SHARE`;
      if (run.length === 0) {
        throw new StoreError(`addRunBacktest: unknown run id ${JSON.stringify(runId)}; nothing was written`);
      }
      const [row] = await tx`INSERT INTO run_backtests (run_id, lag, cost_bps, slippage_bps, annualization, metrics,
                 buy_and_hold, warnings, equity_dates, equity_values, buy_and_hold_values, details, created_at)
               VALUES (${runId}, ${b.lag}, ${b.costBps}, ${b.slippageBps}, ${b.annualization}, ${b.metrics}::text::json,
                 ${b.buyAndHold}::text::json, ${b.warnings}::text::json, ${b.equityDates}, ${b.equityValues},
                 ${b.buyAndHoldValues}, ${b.details}::text::json, ${this.#now()})
               RETURNING seq`;
      return row.seq as number;
    });
  }

  async listRunBacktests(runIds: readonly string[]): Promise<StoredRunBacktest[]> {
    return (await this.#byRunIds(
      "listRunBacktests",
      runIds,
      (sql, ids) => sql`SELECT * FROM run_backtests WHERE run_id = ANY(${ids}::text[]) ORDER BY seq`,
    )).map((r) => ({ ...storedBacktest(r), seq: r.seq as number }));
  }

  async createSweep(sweep: NewSweep): Promise<string> {
    const s = checkNewSweep(sweep);
    const id = newSweepId();
    await this.#write("createSweep", async (tx) => {
      if (s.runId !== null) {
        const run = await tx`SELECT 1 FROM runs WHERE id = ${s.runId} FOR SHARE`;
        if (run.length === 0) {
          throw new StoreError(`createSweep: unknown run id ${JSON.stringify(s.runId)}; nothing was written`);
        }
      }
      await tx`INSERT INTO sweeps (id, created_at, run_id, data_fingerprint, target_kind, horizon, grid, options, dir,
                 summary, trials_before, cells)
               VALUES (${id}, ${this.#now()}, ${s.runId}, ${s.key.dataFingerprint}, ${s.key.targetKind},
                 ${s.key.horizon}, ${s.grid}::text::json, ${s.options}::text::json, ${s.dir}, ${s.summary}::text::json,
                 ${s.trialsBefore}, ${s.trials.length})`;
      for (const t of s.trials) {
        await tx`INSERT INTO trials (sweep_id, cell, symbol, window_start, window_end, cost_bps, slippage_bps, lag,
                   sizing, annualization, metrics, buy_and_hold)
                 VALUES (${id}, ${t.cell}, ${t.symbol}, ${t.windowStart}, ${t.windowEnd}, ${t.costBps},
                   ${t.slippageBps}, ${t.lag}, ${t.sizing}, ${t.annualization}, ${t.metrics}::text::json,
                   ${t.buyAndHold}::text::json)`;
      }
    });
    return id;
  }

  async getSweep(id: string): Promise<{ sweep: StoredSweep; trials: StoredTrial[] } | undefined> {
    requireString(id, "id");
    return await this.#snapshot("getSweep", async (tx) => {
      const [row] = await tx`SELECT * FROM sweeps WHERE id = ${id}`;
      if (row === undefined) return undefined;
      const trials = await tx`SELECT * FROM trials WHERE sweep_id = ${id} ORDER BY cell`;
      return { sweep: storedSweep(row), trials: trials.map(storedTrial) };
    });
  }

  async listSweeps(options: ListRunsOptions = {}): Promise<StoredSweep[]> {
    const { limit, offset } = checkListOptions({ limit: options.limit, offset: options.offset });
    return (await this.#read(
      "listSweeps",
      (sql) => sql`SELECT * FROM sweeps ORDER BY created_at DESC, id DESC LIMIT ${limit} OFFSET ${offset}`,
    )).map(storedSweep);
  }

  async getSweeps(ids: readonly string[]): Promise<StoredSweep[]> {
    if (!Array.isArray(ids)) throw new StoreError("getSweeps: expected an array of sweep ids");
    if (ids.length === 0) return [];
    return (await this.#read("getSweeps", (sql) => sql`SELECT * FROM sweeps WHERE id = ANY(${[...ids]}::text[])`))
      .map(storedSweep);
  }

  async listTrials(sweepIds: readonly string[], options: ListTrialsOptions = {}): Promise<StoredTrial[]> {
    if (!Array.isArray(sweepIds)) throw new StoreError("listTrials: expected an array of sweep ids");
    const page = checkListTrialsOptions(options);
    if (sweepIds.length === 0) return [];
    return (await this.#read("listTrials", (sql) => {
      const value = sql`(metrics ->> ${page.metric ?? ""})::float8`;
      const order = page.metric === null
        ? sql`cell`
        : page.descending
        ? sql`${value} DESC NULLS LAST, cell`
        : sql`${value} ASC NULLS LAST, cell`;
      return sql`SELECT * FROM (
                   SELECT *, ROW_NUMBER() OVER (PARTITION BY sweep_id ORDER BY ${order}) AS position
                     FROM trials WHERE sweep_id = ANY(${[...sweepIds]}::text[])) t
                 WHERE position > ${page.offset} AND position <= ${page.end ?? Number.MAX_SAFE_INTEGER}
                 ORDER BY sweep_id, position`;
    })).map(storedTrial);
  }

  async countTrials(key: TrialKey): Promise<TrialCount> {
    const k = checkTrialKey(key);
    return await this.#snapshot("countTrials", async (tx) => {
      const onKey = tx`r.status = 'succeeded' AND r.data_fingerprint = ${k.dataFingerprint}
                       AND r.config -> 'target' ->> 'kind' = ${k.targetKind}
                       AND r.config -> 'target' ->> 'horizon' = ${String(k.horizon)}`;
      const runs = await tx`SELECT r.id, b.metrics, b.annualization FROM runs r
                            LEFT JOIN backtests b ON b.run_id = r.id WHERE ${onKey}`;
      const added = await tx`SELECT rb.metrics, rb.annualization FROM run_backtests rb
                             JOIN runs r ON r.id = rb.run_id WHERE ${onKey}`;
      const trials = await tx`SELECT t.metrics, t.annualization FROM trials t JOIN sweeps s ON s.id = t.sweep_id
                              WHERE s.data_fingerprint = ${k.dataFingerprint} AND s.target_kind = ${k.targetKind}
                                AND s.horizon = ${k.horizon}`;
      const retired = await tx`SELECT sharpe FROM retired_trials
                               WHERE data_fingerprint = ${k.dataFingerprint} AND target_kind = ${k.targetKind}
                                 AND horizon = ${k.horizon} ORDER BY seq`;
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
    });
  }

  // -------------------------------------------------------------------------------------------------------------------
  // Dashboard reads for studies and prediction pages (additive, read-only; see StoreStudyReads in store.ts and
  // study_query.ts), and change notifications.
  // -------------------------------------------------------------------------------------------------------------------

  async queryStudies(query: StudyQuery = {}): Promise<StudyPage> {
    const q = checkStudyQuery(query);
    const page = studyPageSql(q, "postgres");
    const count = studyCountSql(q, "postgres");
    // One snapshot for the page and the count.
    const [rows, total] = await this.#snapshot("queryStudies", async (tx) => [
      await tx.unsafe(page.text, page.params),
      await tx.unsafe(count.text, count.params),
    ]) as [Row[], Row[]];
    const shown = rows.slice(0, q.first);
    return {
      studies: this.#studies(shown),
      cursors: shown.map((r) =>
        encodeCursor(q.order.signature, r.sort_value === null ? null : Number(r.sort_value), r.id as string)
      ),
      totalCount: Number(total[0].n),
      hasNextPage: rows.length > q.first,
    };
  }

  async listPredictionFolds(runIds: readonly string[]): Promise<PredictionFold[]> {
    return (await this.#byRunIds(
      "listPredictionFolds",
      runIds,
      (sql, ids) =>
        sql`SELECT run_id, fold_index, split, n_rows, width, created_at FROM predictions
            WHERE run_id = ANY(${ids}::text[]) ORDER BY run_id, fold_index, split`,
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
    // substring() on bytea counts bytes: only the slices' bytes leave the database.
    const rows = await this.#read("readPredictionSlices", (sql) =>
      sql`
      SELECT p.run_id, p.fold_index, p.split, p.width, p.created_at, p.symbol_dictionary,
        substring(p.dates FROM (4 * q.off + 1)::int FOR (4 * q.lim)::int) AS dates,
        substring(p.symbol_codes FROM (4 * q.off + 1)::int FOR (4 * q.lim)::int) AS symbol_codes,
        substring(p.scores FROM (8 * p.width * q.off + 1)::int FOR (8 * p.width * q.lim)::int) AS scores
      FROM unnest(${checked.map((s) => s.runId)}::text[], ${checked.map((s) => s.fold)}::int[],
                  ${checked.map((s) => s.split)}::text[],
                  ${checked.map((s) => s.offset)}::bigint[], ${checked.map((s) => s.limit)}::bigint[])
        WITH ORDINALITY AS q(run_id, fold, split, off, lim, ord)
      JOIN predictions p ON p.run_id = q.run_id AND p.fold_index = q.fold AND p.split = q.split
      ORDER BY q.ord`);
    return rows.map((r) => storedPredictions(r as Row));
  }

  /**
   * Calls `listener` after every write committed by any client of this schema (every write transaction ends with
   * `pg_notify`), and again after each (re)connection of the listening connection, when notifications may have been
   * missed. Uses one dedicated connection besides the pool.
   */
  async onChange(listener: () => void): Promise<() => Promise<void>> {
    await this.#ensureReady();
    const schema = this.schema;
    const { unlisten } = await this.#conn.listen(
      CHANGE_CHANNEL,
      (payload) => {
        if (payload === schema) listener();
      },
      () => listener(),
    );
    return async () => {
      await unlisten().catch(() => {});
    };
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
    await this.#write("heartbeat", async (tx) => {
      // The study's row first, then the run's: the order every study-level write locks in.
      checkHeartbeat(await this.#state(tx, kind, studyId), kind, studyId);
      const now = this.#now();
      if (runId !== undefined) {
        const [owner] = await tx`SELECT study_id FROM runs WHERE id = ${runId}`;
        if (owner !== undefined && owner.study_id !== studyId) {
          throw new StoreError(`heartbeat: run ${runId} is not a run of study ${studyId}; nothing was written`);
        }
        checkHeartbeat(await this.#state(tx, "run", runId), "run", runId);
        await tx`UPDATE runs SET heartbeat_at = ${now} WHERE id = ${runId}`;
      }
      await tx.unsafe(`UPDATE ${kind === "run" ? "runs" : "studies"} SET heartbeat_at = $1 WHERE id = $2`, [
        now,
        studyId,
      ]);
    });
  }

  async markInterrupted(id: string, error: RunError, options: InterruptOptions = {}): Promise<InterruptedRecords> {
    const kind = recordKind(id);
    const err = checkRunError(error, "error");
    const onlyIfStale = options.onlyIfStale === true;
    return await this.#write("markInterrupted", async (tx) => {
      const now = this.#now();
      checkInterruptible(await this.#state(tx, kind, id), kind, id, onlyIfStale, now, this.#staleAfterMs);
      if (kind === "run") {
        await tx`UPDATE runs SET status = 'interrupted', error = ${err}::text::json, finished_at = ${now}
                 WHERE id = ${id}`;
        return { studies: [], runs: [id] };
      }
      const runs = await tx`UPDATE runs SET status = 'interrupted', error = ${err}::text::json, finished_at = ${now}
                            WHERE study_id = ${id} AND status = 'running' RETURNING id, created_at`;
      await tx`UPDATE studies SET status = 'interrupted', error = ${err}::text::json, finished_at = ${now}
               WHERE id = ${id}`;
      const ordered = [...runs].sort((a, b) =>
        (a.created_at as number) - (b.created_at as number) || String(a.id).localeCompare(String(b.id))
      );
      return { studies: [id], runs: ordered.map((r) => r.id as string) };
    });
  }

  /** Reopens one failed or interrupted run whose row is locked; see {@link ReopenedRun}. */
  async #reopenRun(tx: Tx, runId: string, state: RecordState, now: number): Promise<ReopenedRun> {
    const [row] = await tx`SELECT entry, reopened FROM runs WHERE id = ${runId}`;
    const discard = async (table: string) =>
      (await tx.unsafe(
        `DELETE FROM ${table} WHERE run_id = $1 AND fold_index IS NOT NULL
           AND fold_index NOT IN (SELECT fold_index FROM folds WHERE run_id = $1)`,
        [runId],
      )).count;
    const discarded = {
      epochs: await discard("epochs"),
      diagnostics: await discard("diagnostics"),
      predictions: await discard("predictions"),
    };
    const reopened = [...(row.reopened as Reopening[]), reopeningOf(state, now)];
    await tx`UPDATE runs SET status = 'running', error = NULL, finished_at = NULL, heartbeat_at = ${now},
               reopened = ${JSON.stringify(reopened)}::text::json
             WHERE id = ${runId}`;
    const folds = await tx`SELECT fold_index FROM folds WHERE run_id = ${runId} ORDER BY fold_index`;
    return {
      runId,
      entry: (row.entry as string | null) ?? null,
      folds: folds.map((f) => f.fold_index as number),
      discarded,
    };
  }

  async reopenStudy(studyId: string): Promise<ReopenedStudy> {
    requireString(studyId, "studyId");
    return await this.#write("reopenStudy", async (tx) => {
      const now = this.#now();
      const state = await this.#state(tx, "study", studyId);
      checkReopenable(state, "study", studyId);
      const [row] = await tx`SELECT reopened FROM studies WHERE id = ${studyId}`;
      const reopened = [...(row.reopened as Reopening[]), reopeningOf(state!, now)];
      await tx`UPDATE studies SET status = 'running', error = NULL, finished_at = NULL, heartbeat_at = ${now},
                 reopened = ${JSON.stringify(reopened)}::text::json
               WHERE id = ${studyId}`;
      const ids = await tx`SELECT id FROM runs WHERE study_id = ${studyId} AND status IN ('failed', 'interrupted')
                           ORDER BY created_at, id`;
      const runs: ReopenedRun[] = [];
      for (const { id } of ids) {
        const runState = await this.#state(tx, "run", id as string);
        runs.push(await this.#reopenRun(tx, id as string, runState!, now));
      }
      return { studyId, runs };
    });
  }

  async reopenRun(runId: string): Promise<ReopenedRun> {
    requireString(runId, "runId");
    return await this.#write("reopenRun", async (tx) => {
      const [owner] = await tx`SELECT study_id FROM runs WHERE id = ${runId}`;
      const studyId = (owner?.study_id as string | null | undefined) ?? null;
      // The study's row first (the order every study-level write locks in), then the run's.
      const study = studyId === null ? undefined : await this.#state(tx, "study", studyId);
      const state = await this.#state(tx, "run", runId);
      checkReopenable(state, "run", runId);
      checkRunStudyOpen(studyId, study?.status, runId);
      return await this.#reopenRun(tx, runId, state!, this.#now());
    });
  }

  // --- Annotations and removal (schema version 3) ---

  async #exists(tx: Tx, kind: "run" | "study", id: string): Promise<boolean> {
    return (await tx.unsafe(`SELECT 1 FROM ${kind === "run" ? "runs" : "studies"} WHERE id = $1 FOR UPDATE`, [id]))
      .length > 0;
  }

  async tag(id: string, tag: string): Promise<boolean> {
    const kind = recordKind(id);
    const t = checkTag(tag);
    const [table, key] = kind === "run" ? ["run_tags", "run_id"] : ["study_tags", "study_id"];
    return await this.#write("tag", async (tx) => {
      checkAnnotatable(await this.#exists(tx, kind, id), "tag", kind, id);
      if ((await tx.unsafe(`SELECT 1 FROM ${table} WHERE ${key} = $1 AND tag = $2`, [id, t])).length > 0) return false;
      const [{ n }] = await tx.unsafe(`SELECT count(*)::integer AS n FROM ${table} WHERE ${key} = $1`, [id]);
      if ((n as number) >= MAX_TAGS) {
        throw new StoreError(`tag: ${kind} ${id} already has ${MAX_TAGS} tags, the most allowed; nothing was written`);
      }
      await tx.unsafe(`INSERT INTO ${table} (${key}, tag, created_at) VALUES ($1, $2, $3)`, [id, t, this.#now()]);
      return true;
    });
  }

  async untag(id: string, tag: string): Promise<boolean> {
    const kind = recordKind(id);
    const t = checkTag(tag);
    const [table, key] = kind === "run" ? ["run_tags", "run_id"] : ["study_tags", "study_id"];
    return await this.#write("untag", async (tx) => {
      checkAnnotatable(await this.#exists(tx, kind, id), "untag", kind, id);
      return (await tx.unsafe(`DELETE FROM ${table} WHERE ${key} = $1 AND tag = $2`, [id, t])).count === 1;
    });
  }

  async setNote(id: string, note: string | null): Promise<void> {
    const kind = recordKind(id);
    const n = checkNote(note);
    await this.#write("setNote", async (tx) => {
      const { count } = await tx.unsafe(`UPDATE ${kind === "run" ? "runs" : "studies"} SET note = $1 WHERE id = $2`, [
        n,
        id,
      ]);
      checkAnnotatable(count === 1, "setNote", kind, id);
    });
  }

  async renameStudy(id: string, name: string | null): Promise<void> {
    requireString(id, "id");
    const n = checkStudyName(name);
    await this.#write("renameStudy", async (tx) => {
      const { count } = await tx`UPDATE studies SET name = ${n} WHERE id = ${id}`;
      checkAnnotatable(count === 1, "renameStudy", "study", id);
    });
  }

  async deleteRun(id: string): Promise<void> {
    requireString(id, "id");
    await this.#write("deleteRun", async (tx) => {
      checkDeletable(await this.#state(tx, "run", id), "run", id);
      await this.#retireTrials(tx, tx`r.id = ${id}`);
      // Folds, epochs, diagnostics, backtest, predictions and tags go with it (ON DELETE CASCADE).
      await tx`DELETE FROM runs WHERE id = ${id}`;
    });
  }

  async deleteStudy(id: string): Promise<void> {
    requireString(id, "id");
    await this.#write("deleteStudy", async (tx) => {
      checkDeletable(await this.#state(tx, "study", id), "study", id);
      const running = await tx`SELECT id FROM runs WHERE study_id = ${id} AND status = 'running'`;
      for (const r of running) checkDeletable(await this.#state(tx, "run", r.id as string), "run", r.id as string);
      await this.#retireTrials(tx, tx`r.study_id = ${id}`);
      // Its runs go with it, and their parts with them (ON DELETE CASCADE).
      await tx`DELETE FROM studies WHERE id = ${id}`;
    });
  }

  /**
   * Copies into `retired_trials` the trials `countTrials` counts for the runs `which` selects, which the caller deletes
   * next in the same transaction: each succeeded run with a trial key (its own backtest's Sharpe ratio, or none) and
   * each backtest added to it. The trial registry keeps counting them, so deleting never lowers N. The runs are
   * locked first: a backtest being added to one of them concurrently either commits before they are read (and is
   * retired) or waits and is then refused (its run is gone), never deleted uncounted.
   */
  async #retireTrials(tx: Tx, which: postgres.PendingQuery<postgres.Row[]>): Promise<void> {
    const runs = await tx`SELECT r.id, r.data_fingerprint, r.config -> 'target' ->> 'kind' AS kind,
                            r.config -> 'target' ->> 'horizon' AS horizon, b.metrics, b.annualization
                          FROM runs r LEFT JOIN backtests b ON b.run_id = r.id
                          WHERE r.status = 'succeeded' AND r.data_fingerprint IS NOT NULL AND ${which}
                          ORDER BY r.created_at, r.id FOR UPDATE OF r`;
    if (runs.length === 0) return;
    const added = await tx`SELECT run_id, seq, metrics, annualization FROM run_backtests
                           WHERE run_id = ANY(${runs.map((r) => r.id as string)}::text[]) ORDER BY seq`;
    const now = this.#now();
    for (const r of runs) {
      // countTrials matches the target's kind and horizon as text against a key's kind and String(horizon), an
      // integer ≥ 1: a run whose target reads otherwise is counted under no key, so there is nothing of it to retire.
      const kind = r.kind as string | null;
      const horizon = typeof r.horizon === "string" && /^[1-9][0-9]*$/.test(r.horizon) ? Number(r.horizon) : NaN;
      if (kind === null || !Number.isSafeInteger(horizon)) continue;
      const fingerprint = r.data_fingerprint as string;
      await tx`INSERT INTO retired_trials (data_fingerprint, target_kind, horizon, source, run_id, backtest_seq, sharpe,
                 retired_at)
               VALUES (${fingerprint}, ${kind}, ${horizon}, 'run', ${r.id as string}, NULL, ${trialSharpe(r)}, ${now})`;
      for (const b of added) {
        if (b.run_id !== r.id) continue;
        await tx`INSERT INTO retired_trials (data_fingerprint, target_kind, horizon, source, run_id, backtest_seq,
                   sharpe, retired_at)
                 VALUES (${fingerprint}, ${kind}, ${horizon}, 'run_backtest', ${r.id as string}, ${b.seq as number},
                   ${trialSharpe(b)}, ${now})`;
      }
    }
  }
}

/** The per-period Sharpe ratio of a counted trial's row (`metrics` as stored, `annualization`), or null when undefined. */
function trialSharpe(r: Row): number | null {
  if (r.metrics === null || r.metrics === undefined) return null;
  return perPeriodSharpe(parseMetrics(r.metrics as Record<string, number | null>), r.annualization as number) ?? null;
}

// --- Studies and out-of-sample predictions (schema version 2): row mapping ---

function studySummary(r: Row, now: number, staleAfterMs: number): StudySummary {
  return {
    id: r.id as string,
    createdAt: r.created_at as number,
    finishedAt: (r.finished_at as number | null) ?? null,
    status: r.status as RunStatus,
    error: (r.error as RunError | null) ?? null,
    name: (r.name as string | null) ?? null,
    config: r.config as Record<string, unknown>,
    seed: (r.seed as number | null) ?? null,
    symbols: r.symbols as string[],
    dataSource: r.data_source as string,
    dataFingerprint: (r.data_fingerprint as string | null) ?? null,
    version: (r.version as string | null) ?? null,
    features: r.features as string[],
    entries: r.entries as StudyEntry[],
    leakageOverride: r.leakage_override === true,
    summary: (r.summary as Record<string, unknown> | null) ?? null,
    ...annotations(r, now, staleAfterMs),
  };
}

function storedPredictions(r: Row): StoredPredictions {
  const rows = decodePredictionRows(
    r.dates as Uint8Array,
    r.symbol_dictionary as string[],
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
    config: r.config as Record<string, unknown>,
    features: r.features as string[],
    dataFingerprint: r.data_fingerprint as string,
    dataSource: r.data_source as string,
    version: r.version as string,
    targetKind: r.target_kind as string,
    horizon: r.horizon as number,
    trainedFrom: r.trained_from as string,
    trainedTo: r.trained_to as string,
    lastPriceDate: r.last_price_date as string,
    symbols: r.symbols as string[],
    gate: r.gate as Record<string, unknown>,
    skipGate: r.skip_gate === true,
    summary: (r.summary as Record<string, unknown> | null) ?? null,
  };
}

function productionBatch(b: Row, rows: readonly Row[]): StoredProductionPredictions {
  const num = (x: unknown) => (x === null ? NaN : x as number);
  return {
    id: b.id as string,
    modelId: b.model_id as string,
    createdAt: b.created_at as number,
    asOf: b.as_of as string,
    dataFingerprint: b.data_fingerprint as string,
    dataSource: b.data_source as string,
    details: (b.details as Record<string, unknown> | null) ?? null,
    rows: rows.map((r) => ({
      symbol: r.symbol as string,
      date: r.date as string,
      score: num(r.score),
      confidence: num(r.confidence),
      position: num(r.position),
      weight: num(r.weight),
      warnings: r.warnings as string[],
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
    grid: r.grid as Record<string, unknown>,
    options: r.options as Record<string, unknown>,
    dir: (r.dir as string | null) ?? null,
    summary: (r.summary as Record<string, unknown> | null) ?? null,
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
    metrics: parseMetrics(r.metrics as Record<string, number | null>),
    buyAndHold: parseMetrics(r.buy_and_hold as Record<string, number | null>),
  };
}
