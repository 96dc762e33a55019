/**
 * The Postgres run store (postgres.js), for a store shared by several machines or workers. Selected by `openStore`
 * when the location is a `postgres://` or `postgresql://` URL; passes the same contract test suite as SQLite.
 *
 * - Opening is synchronous and lazy: the first call connects and applies pending migrations, under a transaction-level
 *   advisory lock so two workers starting together migrate once.
 * - Every write is one transaction that first locks the run's row (`SELECT ... FOR UPDATE`), so the "is it still
 *   running / is this fold new" checks and the write cannot interleave with another writer. Failures roll back and
 *   surface as {@link StoreError}; nothing is written.
 * - `getRun` reads in one REPEATABLE READ transaction: a consistent snapshot while others write.
 * - Optional `schema`: all tables live in that Postgres schema (created if missing), e.g. one per team or per test.
 * - Connection URLs are never echoed with their password.
 *
 * @module
 */

import postgres from "postgres";
import { StoreError } from "../errors.ts";
import { newRunId, newStudyId } from "./run_id.ts";
import { POSTGRES_MIGRATIONS } from "./postgres_schema.ts";
import type { Migration } from "./sqlite_schema.ts";
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
  parseMetrics,
  requireString,
} from "./validate.ts";

/** Options of {@link PostgresStore}. */
export interface PostgresStoreOptions {
  /** Postgres schema holding the tables (created if missing). Default `public`. */
  schema?: string;
  /** Largest number of pooled connections (default 4). */
  maxConnections?: number;
  /** Migrations to apply (tests simulate other versions). Default {@link POSTGRES_MIGRATIONS}. */
  migrations?: readonly Migration[];
}

type Sql = postgres.Sql<Record<string, never>>;
type Row = Record<string, unknown>;

/** A URL safe to print: the password replaced by `***`. */
export function redactUrl(url: string): string {
  return url.replace(/(\/\/[^:/@]*:)[^@]*@/, "$1***@");
}

function json<T>(x: unknown): T {
  return (typeof x === "string" ? JSON.parse(x) : x) as T;
}

function runSummary(r: Row): RunSummary {
  return {
    id: r.id as string,
    createdAt: r.created_at as number,
    finishedAt: (r.finished_at as number | null) ?? null,
    status: r.status as RunStatus,
    error: r.error === null ? null : json(r.error),
    config: json(r.config),
    seed: (r.seed as number | null) ?? null,
    model: r.model as string,
    symbols: json(r.symbols),
    dataSource: r.data_source as string,
    backend: (r.backend as string | null) ?? null,
    leakageOverride: r.leakage_override === true,
    summary: r.summary === null ? null : json(r.summary),
    // Study fields (schema version 2); absent columns (a version-1 database) read as null.
    studyId: (r.study_id as string | null | undefined) ?? null,
    entry: (r.entry as string | null | undefined) ?? null,
    features: r.features === null || r.features === undefined ? null : json(r.features),
    dataFingerprint: (r.data_fingerprint as string | null | undefined) ?? null,
    version: (r.version as string | null | undefined) ?? null,
  };
}

function storedFold(r: Row): StoredFold {
  return {
    runId: r.run_id as string,
    index: r.fold_index as number,
    train: json(r.train),
    test: json(r.test),
    validation: json(r.validation),
    purge: r.purge as number,
    embargo: r.embargo as number,
    nTrain: r.n_train as number,
    nTest: r.n_test as number,
    metrics: parseMetrics(json(r.metrics)),
    baselines: parseMetrics(json(r.baselines)),
    fitReport: json(r.fit_report),
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
    extra: r.extra === null ? null : json(r.extra),
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
    data: r.data === null ? null : json(r.data),
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
    metrics: parseMetrics(json(r.metrics)),
    buyAndHold: parseMetrics(json(r.buy_and_hold)),
    warnings: json(r.warnings),
    equity: {
      dates: decodeDates(r.equity_dates as Uint8Array),
      values: decodeValues(r.equity_values as Uint8Array),
      buyAndHold: r.buy_and_hold_values === null ? null : decodeValues(r.buy_and_hold_values as Uint8Array),
    },
    details: r.details === null ? null : json(r.details),
    createdAt: r.created_at as number,
  };
}

/** A {@link Store} in a Postgres database. */
export class PostgresStore implements Store {
  readonly backend = "postgres";
  /** The connection URL with its password redacted. */
  readonly location: string;
  /** The Postgres schema holding the tables. */
  readonly schema: string;
  #sql: Sql | undefined;
  #ready: Promise<void> | undefined;
  #migrations: readonly Migration[];

  /** Prepares a connection pool; nothing connects until the first call. */
  constructor(url: string, options: PostgresStoreOptions = {}) {
    this.location = redactUrl(url);
    this.schema = options.schema ?? "public";
    if (!/^[a-z_][a-z0-9_]{0,62}$/.test(this.schema)) {
      throw new StoreError(`Postgres schema name must match [a-z_][a-z0-9_]*, got ${JSON.stringify(this.schema)}`);
    }
    this.#migrations = options.migrations ?? POSTGRES_MIGRATIONS;
    try {
      this.#sql = postgres(url, {
        max: options.maxConnections ?? 4,
        onnotice: () => {},
        connect_timeout: 10,
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

  get #conn(): Sql {
    if (this.#sql === undefined) throw new StoreError(`the run store at ${this.location} is closed`);
    return this.#sql;
  }

  /** Connects and migrates once. */
  #ensureReady(): Promise<void> {
    this.#ready ??= this.#migrate().catch((e) => {
      this.#ready = undefined;
      if (e instanceof StoreError) throw e;
      throw new StoreError(`cannot prepare the Postgres run store at ${this.location}: ${(e as Error).message}`, {
        cause: e,
      });
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
                 VALUES (${m.version}, ${m.description}, ${Date.now()})`;
      }
    });
  }

  /** The schema version of the database. */
  async schemaVersion(): Promise<number> {
    await this.#ensureReady();
    const [{ v }] = await this.#conn`SELECT coalesce(max(version), 0)::integer AS v FROM schema_version`;
    return v as number;
  }

  /** Runs `fn` in one transaction; rolls back and rethrows as StoreError on any failure. */
  async #write<T>(what: string, fn: (tx: postgres.TransactionSql) => Promise<T>): Promise<T> {
    await this.#ensureReady();
    try {
      return await this.#conn.begin(fn) as T;
    } catch (e) {
      if (e instanceof StoreError) throw e;
      throw new StoreError(`${what}: ${(e as Error).message}; nothing was written`, { cause: e });
    }
  }

  /** Locks the run's row; refuses unknown and sealed runs. */
  async #requireRunning(tx: postgres.TransactionSql, runId: string, what: string): Promise<void> {
    requireString(runId, "runId");
    const rows = await tx`SELECT status FROM runs WHERE id = ${runId} FOR UPDATE`;
    if (rows.length === 0) {
      throw new StoreError(`${what}: unknown run id ${JSON.stringify(runId)}; nothing was written`);
    }
    if (rows[0].status !== "running") {
      throw new StoreError(
        `${what}: run ${runId} is already ${rows[0].status}; a finished run is sealed and refuses writes. ` +
          `Start a new run instead. Nothing was written`,
      );
    }
  }

  async createRun(run: NewRun): Promise<string> {
    const r = checkNewRun(run);
    const s = checkRunStudyFields(run);
    const id = newRunId();
    await this.#write("createRun", async (tx) => {
      if (s.studyId !== null) await this.#requireStudyForRun(tx, s.studyId, s.entry);
      await tx`INSERT INTO runs (id, created_at, status, config, seed, model, symbols, data_source, backend,
                 leakage_override, study_id, entry, features, data_fingerprint, version)
               VALUES (${id}, ${Date.now()}, 'running', ${r.config}::jsonb, ${r.seed}, ${r.model},
                 ${r.symbols}::jsonb, ${r.dataSource}, ${r.backend}, ${r.leakageOverride}, ${s.studyId},
                 ${s.entry}, ${s.features}::jsonb, ${s.dataFingerprint}, ${s.version})`;
    });
    return id;
  }

  async appendFold(runId: string, fold: FoldRecord): Promise<void> {
    const f = checkFold(fold);
    await this.#write("appendFold", async (tx) => {
      await this.#requireRunning(tx, runId, "appendFold");
      const dup = await tx`SELECT 1 FROM folds WHERE run_id = ${runId} AND fold_index = ${f.index}`;
      if (dup.length > 0) {
        throw new StoreError(`appendFold: run ${runId} already has fold ${f.index}; nothing was written`);
      }
      await tx`INSERT INTO folds (run_id, fold_index, train, test, validation, purge, embargo, n_train, n_test,
                 metrics, baselines, fit_report, created_at)
               VALUES (${runId}, ${f.index}, ${f.train}::json, ${f.test}::json, ${f.validation}::json, ${f.purge},
                 ${f.embargo}, ${f.nTrain}, ${f.nTest}, ${f.metrics}::json, ${f.baselines}::json,
                 ${f.fitReport}::jsonb, ${Date.now()})`;
    });
  }

  async appendEpochs(runId: string, epochs: EpochRecord[]): Promise<void> {
    const rows = checkEpochs(epochs);
    await this.#write("appendEpochs", async (tx) => {
      await this.#requireRunning(tx, runId, "appendEpochs");
      for (const e of rows) {
        const dup = await tx`SELECT 1 FROM epochs
                             WHERE run_id = ${runId} AND coalesce(fold_index, -1) = ${
          e.fold ?? -1
        } AND epoch = ${e.epoch}`;
        if (dup.length > 0) {
          throw new StoreError(
            `appendEpochs: run ${runId} already has epoch ${e.epoch} of fold ${e.fold}; nothing was written`,
          );
        }
        const [trainLoss, valLoss, lr, gradNorm, clipRatio] = e.values;
        await tx`INSERT INTO epochs (run_id, fold_index, epoch, train_loss, val_loss, lr, grad_norm, clip_ratio, extra)
                 VALUES (${runId}, ${e.fold}, ${e.epoch}, ${trainLoss}::float8, ${valLoss}::float8, ${lr}::float8,
                   ${gradNorm}::float8, ${clipRatio}::float8, ${e.extra}::jsonb)`;
      }
    });
  }

  async appendDiagnostics(runId: string, diagnostics: DiagnosticRecord[]): Promise<void> {
    const rows = checkDiagnostics(diagnostics);
    await this.#write("appendDiagnostics", async (tx) => {
      await this.#requireRunning(tx, runId, "appendDiagnostics");
      const now = Date.now();
      for (const d of rows) {
        await tx`INSERT INTO diagnostics (run_id, fold_index, kind, severity, message, data, created_at)
                 VALUES (${runId}, ${d.fold}, ${d.kind}, ${d.severity}, ${d.message}, ${d.data}::jsonb, ${now})`;
      }
    });
  }

  async putBacktest(runId: string, backtest: BacktestRecord): Promise<void> {
    const b = checkBacktest(backtest);
    await this.#write("putBacktest", async (tx) => {
      await this.#requireRunning(tx, runId, "putBacktest");
      await tx`DELETE FROM backtests WHERE run_id = ${runId}`;
      await tx`INSERT INTO backtests (run_id, lag, cost_bps, slippage_bps, annualization, metrics, buy_and_hold,
                 warnings, equity_dates, equity_values, buy_and_hold_values, details, created_at)
               VALUES (${runId}, ${b.lag}, ${b.costBps}, ${b.slippageBps}, ${b.annualization}, ${b.metrics}::json,
                 ${b.buyAndHold}::json, ${b.warnings}::jsonb, ${b.equityDates}, ${b.equityValues},
                 ${b.buyAndHoldValues}, ${b.details}::jsonb, ${Date.now()})`;
    });
  }

  async finishRun(runId: string, outcome: FinishRun): Promise<void> {
    const f = checkFinish(outcome);
    await this.#write("finishRun", async (tx) => {
      await this.#requireRunning(tx, runId, "finishRun");
      await tx`UPDATE runs SET status = ${f.status}, error = ${f.error}::jsonb, summary = ${f.summary}::jsonb,
                 finished_at = ${Date.now()}
               WHERE id = ${runId}`;
    });
  }

  async listRuns(options: ListRunsOptions = {}): Promise<RunSummary[]> {
    const { limit, offset, status } = checkListOptions(options);
    await this.#ensureReady();
    const sql = this.#conn;
    const rows = status === null
      ? await sql`SELECT * FROM runs ORDER BY created_at DESC, id DESC LIMIT ${limit} OFFSET ${offset}`
      : await sql`SELECT * FROM runs WHERE status = ${status}
                  ORDER BY created_at DESC, id DESC LIMIT ${limit} OFFSET ${offset}`;
    return rows.map(runSummary);
  }

  async #byRunIds(ids: readonly string[], query: (sql: Sql, ids: string[]) => Promise<Row[]>): Promise<Row[]> {
    if (!Array.isArray(ids)) throw new StoreError("expected an array of run ids");
    if (ids.length === 0) return [];
    await this.#ensureReady();
    return await query(this.#conn, [...ids]);
  }

  async getRuns(ids: readonly string[]): Promise<RunSummary[]> {
    return (await this.#byRunIds(ids, (sql, ids) => sql`SELECT * FROM runs WHERE id = ANY(${ids}::text[])`)).map(
      runSummary,
    );
  }

  async listFolds(runIds: readonly string[]): Promise<StoredFold[]> {
    return (await this.#byRunIds(
      runIds,
      (sql, ids) => sql`SELECT * FROM folds WHERE run_id = ANY(${ids}::text[]) ORDER BY run_id, fold_index`,
    )).map(storedFold);
  }

  async listEpochs(runIds: readonly string[]): Promise<StoredEpoch[]> {
    return (await this.#byRunIds(
      runIds,
      (sql, ids) =>
        sql`SELECT * FROM epochs WHERE run_id = ANY(${ids}::text[])
            ORDER BY run_id, coalesce(fold_index, -1), epoch`,
    )).map(storedEpoch);
  }

  async listDiagnostics(runIds: readonly string[]): Promise<StoredDiagnostic[]> {
    return (await this.#byRunIds(
      runIds,
      (sql, ids) => sql`SELECT * FROM diagnostics WHERE run_id = ANY(${ids}::text[]) ORDER BY run_id, seq`,
    )).map(storedDiagnostic);
  }

  async listBacktests(runIds: readonly string[]): Promise<StoredBacktest[]> {
    return (await this.#byRunIds(
      runIds,
      (sql, ids) => sql`SELECT * FROM backtests WHERE run_id = ANY(${ids}::text[])`,
    )).map(storedBacktest);
  }

  async getRun(id: string): Promise<Run | undefined> {
    requireString(id, "id");
    await this.#ensureReady();
    return await this.#conn.begin("ISOLATION LEVEL REPEATABLE READ READ ONLY", async (tx) => {
      const [row] = await tx`SELECT * FROM runs WHERE id = ${id}`;
      if (row === undefined) return undefined;
      const folds = await tx`SELECT * FROM folds WHERE run_id = ${id} ORDER BY fold_index`;
      const epochs = await tx`SELECT * FROM epochs WHERE run_id = ${id} ORDER BY coalesce(fold_index, -1), epoch`;
      const diagnostics = await tx`SELECT * FROM diagnostics WHERE run_id = ${id} ORDER BY seq`;
      const [bt] = await tx`SELECT * FROM backtests WHERE run_id = ${id}`;
      return {
        ...runSummary(row),
        folds: folds.map(storedFold),
        epochs: epochs.map(storedEpoch),
        diagnostics: diagnostics.map(storedDiagnostic),
        backtest: bt === undefined ? null : storedBacktest(bt),
      } as Run;
    }) as Run | undefined;
  }

  // -------------------------------------------------------------------------------------------------------------------
  // Dashboard read queries (additive, read-only; see StoreDashboardReads in store.ts and run_query.ts).
  // -------------------------------------------------------------------------------------------------------------------

  async queryRuns(query: RunQuery = {}): Promise<RunPage> {
    const q = checkRunQuery(query);
    const page = runPageSql(q, "postgres");
    const count = runCountSql(q, "postgres");
    await this.#ensureReady();
    // One snapshot for the page and the count.
    const [rows, total] = await this.#conn.begin("ISOLATION LEVEL REPEATABLE READ READ ONLY", async (tx) => [
      await tx.unsafe(page.text, page.params),
      await tx.unsafe(count.text, count.params),
    ]) as [Row[], Row[]];
    const shown = rows.slice(0, q.first);
    const sortValues = shown.map((r) => r.sort_value === null ? null : Number(r.sort_value));
    return {
      runs: shown.map(runSummary),
      sortValues,
      cursors: shown.map((r, i) => encodeCursor(q.order.signature, sortValues[i], r.id as string)),
      totalCount: Number(total[0].n),
      hasNextPage: rows.length > q.first,
    };
  }

  async foldAggregates(runIds: readonly string[]): Promise<FoldAggregates[]> {
    const rows = await this.#byRunIds(
      runIds,
      (sql, ids) =>
        sql`SELECT run_id, metrics, baselines FROM folds WHERE run_id = ANY(${ids}::text[]) ORDER BY run_id, fold_index`,
    );
    return foldAggregatesOf(rows.map((r) => ({
      runId: r.run_id as string,
      metrics: parseMetrics(json(r.metrics)),
      baselines: parseMetrics(json(r.baselines)),
    })));
  }

  async listBacktestSummaries(runIds: readonly string[]): Promise<BacktestSummary[]> {
    const rows = await this.#byRunIds(
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
      metrics: parseMetrics(json(r.metrics)),
      buyAndHold: parseMetrics(json(r.buy_and_hold)),
      warnings: json(r.warnings),
      details: r.details === null ? null : json(r.details),
      createdAt: r.created_at as number,
      points: Number(r.points),
      hasBuyAndHold: r.has_buy_and_hold === true,
    }));
  }

  async listEquityCurves(runIds: readonly string[]): Promise<StoredEquityCurve[]> {
    const rows = await this.#byRunIds(
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
    await this.#ensureReady();
    // The cluster's current snapshot (xmin:xmax:in-progress ids) changes whenever a transaction that wrote anything
    // starts or ends, here or in another database of the cluster: never equal across a commit, at worst a spurious
    // change.
    const [row] = await this.#conn`SELECT pg_current_snapshot()::text AS s`;
    return row.s as string;
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
  async #requireStudyForRun(tx: postgres.TransactionSql, studyId: string, entry: string | null): Promise<void> {
    const [row] = await tx`SELECT status, entries FROM studies WHERE id = ${studyId} FOR UPDATE`;
    checkStudyForRun(
      row === undefined ? undefined : { status: row.status as string, entries: json<StudyEntry[]>(row.entries) },
      studyId,
      entry,
    );
  }

  async createStudy(study: NewStudy): Promise<string> {
    const s = checkNewStudy(study);
    const id = newStudyId();
    await this.#write("createStudy", async (tx) => {
      await tx`INSERT INTO studies (id, created_at, status, name, config, seed, symbols, data_source, data_fingerprint,
                 version, features, entries, leakage_override)
               VALUES (${id}, ${Date.now()}, 'running', ${s.name}, ${s.config}::jsonb, ${s.seed}, ${s.symbols}::jsonb,
                 ${s.dataSource}, ${s.dataFingerprint}, ${s.version}, ${s.features}::jsonb, ${s.entries}::jsonb,
                 ${s.leakageOverride})`;
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
      await tx`UPDATE studies SET status = ${f.status}, error = ${f.error}::jsonb, summary = ${f.summary}::jsonb,
                 finished_at = ${Date.now()}
               WHERE id = ${id}`;
    });
  }

  async getStudy(id: string): Promise<Study | undefined> {
    requireString(id, "id");
    await this.#ensureReady();
    return await this.#conn.begin("ISOLATION LEVEL REPEATABLE READ READ ONLY", async (tx) => {
      const [row] = await tx`SELECT * FROM studies WHERE id = ${id}`;
      if (row === undefined) return undefined;
      const runs = await tx`SELECT * FROM runs WHERE study_id = ${id} ORDER BY created_at, id`;
      return { ...studySummary(row), runs: runs.map(runSummary) } as Study;
    }) as Study | undefined;
  }

  async getStudies(ids: readonly string[]): Promise<StudySummary[]> {
    if (!Array.isArray(ids)) throw new StoreError("expected an array of study ids");
    if (ids.length === 0) return [];
    await this.#ensureReady();
    const rows = await this.#conn`SELECT * FROM studies WHERE id = ANY(${[...ids]}::text[])`;
    return rows.map(studySummary);
  }

  async listStudies(options: ListRunsOptions = {}): Promise<StudySummary[]> {
    const { limit, offset, status } = checkListOptions(options);
    await this.#ensureReady();
    const sql = this.#conn;
    const rows = status === null
      ? await sql`SELECT * FROM studies ORDER BY created_at DESC, id DESC LIMIT ${limit} OFFSET ${offset}`
      : await sql`SELECT * FROM studies WHERE status = ${status}
                  ORDER BY created_at DESC, id DESC LIMIT ${limit} OFFSET ${offset}`;
    return rows.map(studySummary);
  }

  async appendPredictions(runId: string, predictions: PredictionRecord): Promise<void> {
    const p = checkPredictions(predictions);
    await this.#write("appendPredictions", async (tx) => {
      await this.#requireRunning(tx, runId, "appendPredictions");
      const dup = await tx`SELECT 1 FROM predictions WHERE run_id = ${runId} AND fold_index = ${p.fold}`;
      if (dup.length > 0) {
        throw new StoreError(
          `appendPredictions: run ${runId} already has predictions for fold ${p.fold}; nothing was written`,
        );
      }
      await tx`INSERT INTO predictions (run_id, fold_index, n_rows, width, dates, symbol_dictionary, symbol_codes,
                 scores, created_at)
               VALUES (${runId}, ${p.fold}, ${p.rows}, ${p.width}, ${p.dates}, ${p.symbolDictionary}::jsonb,
                 ${p.symbolCodes}, ${p.values}, ${Date.now()})`;
    });
  }

  async listPredictions(runIds: readonly string[]): Promise<StoredPredictions[]> {
    return (await this.#byRunIds(
      runIds,
      (sql, ids) => sql`SELECT * FROM predictions WHERE run_id = ANY(${ids}::text[]) ORDER BY run_id, fold_index`,
    )).map(storedPredictions);
  }

  // --- Idempotent fold writes (scale-out) ---

  async appendFoldResult(runId: string, result: FoldResultRecord): Promise<FoldWriteOutcome> {
    const { fold: f, predictions, epochs, diagnostics } = checkFoldResult(result);
    requireString(runId, "runId");
    return await this.#write("appendFoldResult", async (tx): Promise<FoldWriteOutcome> => {
      // Lock the run's row first (two workers racing on one fold serialize here), then the key: a fold already
      // stored means an earlier attempt committed, whatever the run's status since.
      const run = await tx`SELECT status FROM runs WHERE id = ${runId} FOR UPDATE`;
      if (run.length > 0) {
        const dup = await tx`SELECT 1 FROM folds WHERE run_id = ${runId} AND fold_index = ${f.index}`;
        if (dup.length > 0) return "duplicate";
      }
      await this.#requireRunning(tx, runId, "appendFoldResult");
      const now = Date.now();
      await tx`INSERT INTO folds (run_id, fold_index, train, test, validation, purge, embargo, n_train, n_test,
                 metrics, baselines, fit_report, created_at)
               VALUES (${runId}, ${f.index}, ${f.train}::json, ${f.test}::json, ${f.validation}::json, ${f.purge},
                 ${f.embargo}, ${f.nTrain}, ${f.nTest}, ${f.metrics}::json, ${f.baselines}::json,
                 ${f.fitReport}::jsonb, ${now})`;
      for (const p of predictions) {
        await tx`INSERT INTO predictions (run_id, fold_index, n_rows, width, dates, symbol_dictionary, symbol_codes,
                   scores, created_at)
                 VALUES (${runId}, ${p.fold}, ${p.rows}, ${p.width}, ${p.dates}, ${p.symbolDictionary}::jsonb,
                   ${p.symbolCodes}, ${p.values}, ${now})`;
      }
      for (const e of epochs) {
        const [trainLoss, valLoss, lr, gradNorm, clipRatio] = e.values;
        await tx`INSERT INTO epochs (run_id, fold_index, epoch, train_loss, val_loss, lr, grad_norm, clip_ratio, extra)
                 VALUES (${runId}, ${e.fold}, ${e.epoch}, ${trainLoss}::float8, ${valLoss}::float8, ${lr}::float8,
                   ${gradNorm}::float8, ${clipRatio}::float8, ${e.extra}::jsonb)`;
      }
      for (const d of diagnostics) {
        await tx`INSERT INTO diagnostics (run_id, fold_index, kind, severity, message, data, created_at)
                 VALUES (${runId}, ${d.fold}, ${d.kind}, ${d.severity}, ${d.message}, ${d.data}::jsonb, ${now})`;
      }
      return "written";
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
    error: r.error === null ? null : json(r.error),
    name: (r.name as string | null) ?? null,
    config: json(r.config),
    seed: (r.seed as number | null) ?? null,
    symbols: json(r.symbols),
    dataSource: r.data_source as string,
    dataFingerprint: (r.data_fingerprint as string | null) ?? null,
    version: (r.version as string | null) ?? null,
    features: json(r.features),
    entries: json(r.entries),
    leakageOverride: r.leakage_override === true,
    summary: r.summary === null ? null : json(r.summary),
  };
}

function storedPredictions(r: Row): StoredPredictions {
  const rows = decodePredictionRows(
    r.dates as Uint8Array,
    json<string[]>(r.symbol_dictionary),
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
