/**
 * Databases at older schema versions, for the migration tests of both backends (sqlite_test.ts, postgres_test.ts).
 *
 * Every row is inserted with raw SQL exactly as the old write path stored it, never through the current Store code
 * (which writes version-3 columns): JSON as text in SQLite; in Postgres as a JSON *string* holding the document's text
 * (`to_json(text)`), which is what versions 1–2 wrote because postgres.js encoded the text parameter once more. Binary
 * arrays and JSON texts come from the input checks in lib/store/validate.ts, whose encoding versions 1–2 used.
 *
 * Expectations are built from the inputs written here, never by reading the store, and the checks read everything
 * back through the current Store API after the migration.
 */

import assert from "node:assert/strict";
import type {
  BacktestRecord,
  DiagnosticRecord,
  EpochRecord,
  FoldRecord,
  PredictionRecord,
  Run,
  RunError,
  RunSummary,
  Store,
  StoredPredictions,
  Study,
} from "../../lib/store/store.ts";
import { checkBacktest, checkDiagnostics, checkEpochs, checkFold, checkPredictions } from "../../lib/store/validate.ts";
import { newRunId, newStudyId } from "../../lib/store/run_id.ts";
import { sampleBacktest, sampleFold } from "./contract.ts";

/** A JSON column value: `text` as the old write path stored it, into a column of Postgres type `type`. */
export class OldJson {
  constructor(readonly text: string, readonly type: "json" | "jsonb") {}
}

/** A value bound to an old-version INSERT or UPDATE. */
export type OldValue = string | number | boolean | null | Uint8Array | OldJson;

/** A database at an old schema version, written with raw SQL (positional `?` placeholders). */
export interface OldDb {
  /** Runs one statement. */
  exec(sql: string, params: OldValue[]): Promise<void>;
  /** `sqlite` or `postgres`: decides how epochs store NaN. */
  dialect: "sqlite" | "postgres";
}

const jsonb = (x: unknown) => new OldJson(JSON.stringify(x), "jsonb");
const jsonText = (text: string, type: "json" | "jsonb") => new OldJson(text, type);

function insert(db: OldDb, table: string, row: Record<string, OldValue>): Promise<void> {
  const cols = Object.keys(row);
  return db.exec(
    `INSERT INTO ${table} (${cols.join(", ")}) VALUES (${cols.map(() => "?").join(", ")})`,
    Object.values(row),
  );
}

async function insertFold(db: OldDb, runId: string, fold: FoldRecord, createdAt: number): Promise<void> {
  const f = checkFold(fold);
  await insert(db, "folds", {
    run_id: runId,
    fold_index: f.index,
    train: jsonText(f.train, "json"),
    test: jsonText(f.test, "json"),
    validation: jsonText(f.validation, "json"),
    purge: f.purge,
    embargo: f.embargo,
    n_train: f.nTrain,
    n_test: f.nTest,
    metrics: jsonText(f.metrics, "json"),
    baselines: jsonText(f.baselines, "json"),
    fit_report: jsonText(f.fitReport, "jsonb"),
    created_at: createdAt,
  });
}

async function insertEpochs(db: OldDb, runId: string, epochs: EpochRecord[]): Promise<void> {
  for (const e of checkEpochs(epochs)) {
    const [train_loss, val_loss, lr, grad_norm, clip_ratio] = e.values;
    await insert(db, "epochs", {
      run_id: runId,
      fold_index: e.fold,
      epoch: e.epoch,
      train_loss,
      val_loss,
      lr,
      grad_norm,
      clip_ratio,
      // SQLite turns NaN into NULL, so versions 1–2 kept a mask of the NaN fields; Postgres stores NaN itself.
      ...(db.dialect === "sqlite" ? { nan_mask: e.nanMask } : {}),
      extra: e.extra === null ? null : jsonText(e.extra, "jsonb"),
    });
  }
}

async function insertDiagnostics(db: OldDb, runId: string, ds: DiagnosticRecord[], createdAt: number): Promise<void> {
  for (const d of checkDiagnostics(ds)) {
    await insert(db, "diagnostics", {
      run_id: runId,
      fold_index: d.fold,
      kind: d.kind,
      severity: d.severity,
      message: d.message,
      data: d.data === null ? null : jsonText(d.data, "jsonb"),
      created_at: createdAt,
    });
  }
}

async function insertBacktest(db: OldDb, runId: string, backtest: BacktestRecord, createdAt: number): Promise<void> {
  const b = checkBacktest(backtest);
  await insert(db, "backtests", {
    run_id: runId,
    lag: b.lag,
    cost_bps: b.costBps,
    slippage_bps: b.slippageBps,
    annualization: b.annualization,
    metrics: jsonText(b.metrics, "json"),
    buy_and_hold: jsonText(b.buyAndHold, "json"),
    warnings: jsonText(b.warnings, "jsonb"),
    equity_dates: b.equityDates,
    equity_values: b.equityValues,
    buy_and_hold_values: b.buyAndHoldValues,
    details: b.details === null ? null : jsonText(b.details, "jsonb"),
    created_at: createdAt,
  });
}

async function insertPredictions(db: OldDb, runId: string, p: PredictionRecord, createdAt: number): Promise<void> {
  const r = checkPredictions(p);
  await insert(db, "predictions", {
    run_id: runId,
    fold_index: r.fold,
    n_rows: r.rows,
    width: r.width,
    dates: r.dates,
    symbol_dictionary: jsonText(r.symbolDictionary, "jsonb"),
    symbol_codes: r.symbolCodes,
    scores: r.values,
    created_at: createdAt,
  });
}

function seal(
  db: OldDb,
  table: "runs" | "studies",
  id: string,
  status: "succeeded" | "failed",
  at: number,
  error: RunError | null,
  summary: Record<string, unknown> | null,
): Promise<void> {
  return db.exec(`UPDATE ${table} SET status = ?, error = ?, summary = ?, finished_at = ? WHERE id = ?`, [
    status,
    error === null ? null : jsonb(error),
    summary === null ? null : jsonb(summary),
    at,
    id,
  ]);
}

// ---------------------------------------------------------------------------------------------------------------------
// Version 1: runs without studies
// ---------------------------------------------------------------------------------------------------------------------

/** A run as the version-1 `createRun` stored it. */
export interface Version1Run {
  id: string;
  createdAt: number;
  config: Record<string, unknown>;
  seed: number | null;
  model: string;
  symbols: string[];
  dataSource: string;
  backend: string | null;
  leakageOverride: boolean;
}

/** The runs of the version-1 database: one succeeds, one fails, one stays running. */
export function version1Runs(): Version1Run[] {
  const base = Date.UTC(2025, 5, 1, 12);
  return [
    {
      id: newRunId(base),
      createdAt: base,
      config: { horizon: 1, model: { kind: "xgboost", params: { eta: 0.1 } } },
      seed: 42,
      model: "xgboost",
      symbols: ["AAA", "BBB"],
      dataSource: "prices/",
      backend: "xgboost-c",
      leakageOverride: false,
    },
    {
      id: newRunId(base + 60_000),
      createdAt: base + 60_000,
      config: { horizon: 5, model: { kind: "lstm" } },
      seed: 7,
      model: "lstm",
      symbols: ["CCC"],
      dataSource: "synthetic:planted",
      backend: "wasm",
      leakageOverride: false,
    },
    {
      id: newRunId(base + 120_000),
      createdAt: base + 120_000,
      config: {},
      seed: null,
      model: "mlp",
      symbols: [],
      dataSource: "x.csv",
      backend: null,
      leakageOverride: true,
    },
  ];
}

// Key order differs from sorted order on purpose: it must survive every migration (jsonb would reorder it).
const SUCCEEDED_SUMMARY = { pooled: { mcc: 0.06, accuracy: 0.53, balancedAccuracy: 0.52 }, warnings: ["short sample"] };
const FAILURE: RunError = { message: "NaN loss", stage: "fold", fold: 1, name: "TrainingError" };
/** Seconds after creation at which version-1 runs were sealed. */
const FINISHED_AFTER = 30_000;

/** Writes a version-1 database (runs of every status with every part), as version 1 wrote it. */
export async function fillVersion1(db: OldDb): Promise<Version1Run[]> {
  const runs = version1Runs();
  for (const r of runs) {
    await insert(db, "runs", {
      id: r.id,
      created_at: r.createdAt,
      status: "running",
      config: jsonb(r.config),
      seed: r.seed,
      model: r.model,
      symbols: jsonb(r.symbols),
      data_source: r.dataSource,
      backend: r.backend,
      leakage_override: r.leakageOverride,
    });
  }
  const [ok, failed, running] = runs;
  const t = (r: Version1Run) => r.createdAt + 1000;
  await insertFold(db, ok.id, sampleFold(0), t(ok));
  await insertFold(db, ok.id, sampleFold(1, { metrics: { accuracy: 0.55, ic: NaN } }), t(ok));
  await insertEpochs(db, ok.id, [
    { fold: 0, epoch: 0, trainLoss: 0.7, valLoss: 0.71, lr: 1e-3, gradNorm: 1.5, clipRatio: 0, extra: { std: 0.1 } },
    { fold: null, epoch: 0, trainLoss: NaN, valLoss: Infinity, gradNorm: -Infinity },
  ]);
  await insertDiagnostics(db, ok.id, [
    { fold: 0, kind: "sign-bias", severity: "warning", message: "91% up", data: { share: 0.91 } },
    { fold: null, kind: "wfe", severity: "info", message: "WFE 0.6" },
  ], t(ok));
  await insertBacktest(db, ok.id, sampleBacktest({ metrics: { sharpe: 0.8, calmar: NaN } }), t(ok));
  await seal(db, "runs", ok.id, "succeeded", ok.createdAt + FINISHED_AFTER, null, SUCCEEDED_SUMMARY);

  await insertFold(db, failed.id, sampleFold(0), t(failed));
  await insertEpochs(db, failed.id, [{ fold: 0, epoch: 0, trainLoss: 0.69, valLoss: NaN }]);
  await seal(db, "runs", failed.id, "failed", failed.createdAt + FINISHED_AFTER, FAILURE, null);

  await insertFold(db, running.id, sampleFold(0, { nTrain: 10 }), t(running));
  await insertDiagnostics(db, running.id, [
    { fold: 0, kind: "variance-collapse", severity: "error", message: "std 0" },
  ], t(running));
  return runs;
}

/** Checks a run read back from a migrated version-1 database against what `fillVersion1` wrote. */
export function assertVersion1Run(run: Run | undefined, input: Version1Run, index: number): void {
  assert.ok(run !== undefined, `run ${input.id} is missing`);
  assert.equal(run.id, input.id);
  assert.equal(run.createdAt, input.createdAt);
  assert.deepStrictEqual(
    [run.config, run.seed, run.model, run.symbols, run.dataSource, run.backend, run.leakageOverride],
    [input.config, input.seed, input.model, input.symbols, input.dataSource, input.backend, input.leakageOverride],
  );
  assert.equal(JSON.stringify(run.config), JSON.stringify(input.config), "config keys in the order written");
  if (index === 0) {
    assert.equal(run.status, "succeeded");
    assert.equal(run.finishedAt, input.createdAt + FINISHED_AFTER);
    assert.equal(run.error, null);
    assert.equal(JSON.stringify(run.summary), JSON.stringify(SUCCEEDED_SUMMARY), "summary keys in the order written");
    assert.deepStrictEqual(run.folds.map((f) => f.index), [0, 1]);
    assert.deepStrictEqual(run.folds[0].metrics, { accuracy: 0.5125, ic: 0.031 });
    assert.deepStrictEqual(run.folds[0].fitReport, sampleFold(0).fitReport);
    assert.deepStrictEqual(run.folds[0].train, sampleFold(0).train);
    assert.ok(Number.isNaN(run.folds[1].metrics.ic));
    assert.deepStrictEqual(run.epochs.map((e) => [e.fold, e.epoch]), [[null, 0], [0, 0]]);
    assert.ok(Number.isNaN(run.epochs[0].trainLoss));
    assert.deepStrictEqual([run.epochs[0].valLoss, run.epochs[0].lr, run.epochs[0].gradNorm], [
      Infinity,
      null,
      -Infinity,
    ]);
    assert.deepStrictEqual(run.epochs[1].extra, { std: 0.1 });
    assert.deepStrictEqual(run.diagnostics.map((d) => [d.fold, d.kind, d.severity, d.data]), [
      [0, "sign-bias", "warning", { share: 0.91 }],
      [null, "wfe", "info", null],
    ]);
    assert.deepStrictEqual(run.backtest?.equity, {
      dates: ["2021-01-04", "2021-01-05", "2021-01-06"],
      values: [1, 1.01, 0.995],
      buyAndHold: [1, 1.02, 1.03],
    });
    assert.deepStrictEqual(run.backtest?.warnings, ["short sample"]);
    assert.deepStrictEqual(run.backtest?.details, { portfolio: "long-short" });
    assert.ok(Number.isNaN(run.backtest?.metrics.calmar));
  } else if (index === 1) {
    assert.equal(run.status, "failed");
    assert.equal(run.finishedAt, input.createdAt + FINISHED_AFTER);
    assert.deepStrictEqual(run.error, FAILURE);
    assert.deepStrictEqual(run.folds.map((f) => f.index), [0]);
    assert.ok(Number.isNaN(run.epochs[0].valLoss));
    assert.equal(run.backtest, null);
  } else {
    assert.equal(run.status, "running");
    assert.equal(run.finishedAt, null);
    assert.equal(run.summary, null);
    assert.deepStrictEqual(run.folds.map((f) => f.nTrain), [10]);
    assert.deepStrictEqual(run.diagnostics.map((d) => d.kind), ["variance-collapse"]);
  }
}

/** The version-3 fields of a record written before version 3: no heartbeat, tags, note or reopenings. */
function noVersion3Fields(status: string) {
  // Created in 2025 and never heartbeating: a record still running reads as stale.
  return {
    heartbeatAt: null,
    liveness: status === "running" ? "stale" as const : null,
    tags: [],
    note: null,
    reopened: [],
  };
}

/**
 * After the migration of a version-1 database to the current version: each run reads back as written, has its own
 * legacy study with the run's fields, and the running one can still be written, finished and its study sealed.
 */
export async function assertVersion1Migrated(store: Store, inputs: Version1Run[]): Promise<void> {
  const studyIds: string[] = [];
  const statuses = ["succeeded", "failed", "running"] as const;
  for (const [i, input] of inputs.entries()) {
    const run = await store.getRun(input.id);
    assertVersion1Run(run, input, i);
    const studyId = `study_${input.id.slice("run_".length)}`;
    studyIds.push(studyId);
    const { folds: _f, epochs: _e, diagnostics: _d, backtest: _b, ...summary } = run!;
    const expectedRun: RunSummary = {
      id: input.id,
      createdAt: input.createdAt,
      finishedAt: i === 2 ? null : input.createdAt + FINISHED_AFTER,
      status: statuses[i],
      error: i === 1 ? FAILURE : null,
      config: input.config,
      seed: input.seed,
      model: input.model,
      symbols: input.symbols,
      dataSource: input.dataSource,
      backend: input.backend,
      leakageOverride: input.leakageOverride,
      summary: i === 0 ? SUCCEEDED_SUMMARY : null,
      studyId,
      entry: input.model,
      features: null,
      dataFingerprint: null,
      version: null,
      ...noVersion3Fields(statuses[i]),
    };
    assert.deepStrictEqual(summary, expectedRun);
    const expected: Study = {
      id: studyId,
      createdAt: input.createdAt,
      finishedAt: expectedRun.finishedAt,
      status: statuses[i],
      error: expectedRun.error,
      name: null,
      config: input.config,
      seed: input.seed,
      symbols: input.symbols,
      dataSource: input.dataSource,
      dataFingerprint: null,
      version: null,
      features: [],
      entries: [{ name: input.model, kind: input.model }],
      leakageOverride: input.leakageOverride,
      summary: { legacy: true },
      ...noVersion3Fields(statuses[i]),
      runs: [expectedRun],
    };
    assert.deepStrictEqual(await store.getStudy(studyId), expected);
  }
  assert.deepStrictEqual((await store.listStudies({ limit: 1000 })).map((s) => s.id), [...studyIds].reverse());
  assert.deepStrictEqual((await store.listStudies({ status: "running" })).map((s) => s.id), [studyIds[2]]);

  // The run that was running when the store was upgraded can still be written, finished, and its study sealed.
  const running = inputs[2].id;
  await store.appendFold(running, sampleFold(1));
  await store.appendPredictions(running, { fold: 1, dates: ["2021-01-05"], symbols: ["AAA"], values: [NaN], width: 1 });
  await store.finishRun(running, { status: "succeeded" });
  await store.finishStudy(studyIds[2], { status: "succeeded" });
  assert.equal((await store.getStudy(studyIds[2]))?.status, "succeeded");
}

// ---------------------------------------------------------------------------------------------------------------------
// Version 2: studies, runs of studies, predictions
// ---------------------------------------------------------------------------------------------------------------------

/** What `fillVersion2` wrote, to build expectations from. */
export interface Version2Fixture {
  /** Study ids: succeeded (two entries), failed (one failed entry), running (one running entry). */
  studies: { succeeded: string; failed: string; running: string };
  /** Run ids by entry: gbm and mlp (succeeded study), lstm (failed), xgb (running). */
  runs: { gbm: string; mlp: string; lstm: string; xgb: string };
  /** The expected study records, with their runs, after the migration. */
  expected: Study[];
  /** The expected prediction records of every run after the migration (all `test`). */
  predictions: Omit<StoredPredictions, "createdAt">[];
}

const V2_BASE = Date.UTC(2025, 8, 1, 9);
/** A study summary whose key order is not sorted order (and not jsonb's order either). */
const COMPARISON_SUMMARY = {
  plan: { scheme: "rolling", folds: [0, 1] },
  comparison: [
    { name: "gbm", verdict: "edge", sharpe: 0.8, runId: "" },
    { name: "mlp", verdict: "no-edge", sharpe: 0.1, runId: "" },
  ],
  notes: [],
  warnings: ["one"],
};
const STUDY_FAILURE: RunError = { message: "NaN loss in fold 1", stage: "fold", fold: 1, name: "TrainingError" };

/** Writes a version-2 database (studies of every status, their runs with every part and predictions). */
export async function fillVersion2(db: OldDb): Promise<Version2Fixture> {
  const at = (minutes: number) => V2_BASE + minutes * 60_000;
  const config = { target: { kind: "direction", horizon: 1 }, validation: { scheme: "rolling", folds: 2 }, seed: 7 };
  const studies = { succeeded: newStudyId(at(0)), failed: newStudyId(at(10)), running: newStudyId(at(20)) };
  const runs = { gbm: newRunId(at(1)), mlp: newRunId(at(2)), lstm: newRunId(at(11)), xgb: newRunId(at(21)) };
  const summary = {
    ...COMPARISON_SUMMARY,
    comparison: COMPARISON_SUMMARY.comparison.map((c) => ({ ...c, runId: c.name === "gbm" ? runs.gbm : runs.mlp })),
  };
  const studyRows = [
    { id: studies.succeeded, at: at(0), name: "gbm vs mlp", entries: [["gbm", "xgboost"], ["mlp", "mlp"]] },
    { id: studies.failed, at: at(10), name: null, entries: [["lstm", "lstm"]] },
    { id: studies.running, at: at(20), name: null, entries: [["xgb", "xgboost"]] },
  ];
  for (const s of studyRows) {
    await insert(db, "studies", {
      id: s.id,
      created_at: s.at,
      status: "running",
      name: s.name,
      config: jsonb(config),
      seed: 7,
      symbols: jsonb(["AAA", "BBB"]),
      data_source: "prices/",
      data_fingerprint: "sha256:ab12",
      version: "0.3.0",
      features: jsonb(["ret_1", "vol_20"]),
      entries: jsonb(s.entries.map(([name, kind]) => ({ name, kind }))),
      leakage_override: false,
    });
  }
  const runRows = [
    { id: runs.gbm, at: at(1), study: studies.succeeded, entry: "gbm", model: "xgboost" },
    { id: runs.mlp, at: at(2), study: studies.succeeded, entry: "mlp", model: "mlp" },
    { id: runs.lstm, at: at(11), study: studies.failed, entry: "lstm", model: "lstm" },
    { id: runs.xgb, at: at(21), study: studies.running, entry: "xgb", model: "xgboost" },
  ];
  const runConfig = (entry: string, model: string) => ({ ...config, entry: { name: entry, kind: model } });
  for (const r of runRows) {
    await insert(db, "runs", {
      id: r.id,
      created_at: r.at,
      status: "running",
      config: jsonb(runConfig(r.entry, r.model)),
      seed: 7,
      model: r.model,
      symbols: jsonb(["AAA", "BBB"]),
      data_source: "prices/",
      backend: r.model === "xgboost" ? "xgboost-c" : "wasm",
      leakage_override: false,
      study_id: r.study,
      entry: r.entry,
      features: jsonb(["ret_1", "vol_20"]),
      data_fingerprint: "sha256:ab12",
      version: "0.3.0",
    });
  }

  const p0: PredictionRecord = {
    fold: 0,
    dates: ["2021-01-04", "2021-01-04", "2021-01-05"],
    symbols: ["AAA", "BBB", "AAA"],
    values: [0.6, NaN, 0.4],
    width: 1,
  };
  const p1: PredictionRecord = {
    fold: 1,
    dates: ["2021-03-01", "2021-03-02"],
    symbols: ["BBB", "BBB"],
    values: [0.2, 0.3, 0.5, -0, 5e-324, 1],
    width: 3,
  };
  const pooled = { mcc: 0.06, accuracy: 0.53, balancedAccuracy: 0.52 };
  const entrySummary = (headline: number) => ({ pooled: { ...pooled, accuracy: headline }, gate: { passed: true } });

  // gbm: two folds with every part, a backtest, predictions for both folds; succeeded.
  await insertFold(db, runs.gbm, sampleFold(0), at(3));
  await insertFold(db, runs.gbm, sampleFold(1, { metrics: { accuracy: 0.55, ic: NaN } }), at(3));
  await insertEpochs(db, runs.gbm, [
    { fold: 0, epoch: 0, trainLoss: 0.7, valLoss: NaN, lr: 0.1, extra: { rounds: 17 } },
    { fold: 1, epoch: 0, trainLoss: Infinity, valLoss: 0.69 },
  ]);
  await insertDiagnostics(db, runs.gbm, [
    { fold: 1, kind: "sign-bias", severity: "warning", message: "91% up", data: { share: 0.91, z: { a: 1, b: [1] } } },
    { fold: null, kind: "verdict", severity: "info", message: "edge" },
  ], at(3));
  await insertBacktest(db, runs.gbm, sampleBacktest(), at(4));
  await insertPredictions(db, runs.gbm, p0, at(3));
  await insertPredictions(db, runs.gbm, p1, at(3));
  await seal(db, "runs", runs.gbm, "succeeded", at(5), null, entrySummary(0.53));
  // mlp: one fold and its predictions; succeeded.
  await insertFold(db, runs.mlp, sampleFold(0, { nTrain: 90 }), at(6));
  await insertPredictions(db, runs.mlp, p0, at(6));
  await seal(db, "runs", runs.mlp, "succeeded", at(7), null, entrySummary(0.5));
  await seal(db, "studies", studies.succeeded, "succeeded", at(8), null, summary);
  // lstm: fold 0 finished, then the study failed in fold 1.
  await insertFold(db, runs.lstm, sampleFold(0), at(12));
  await insertEpochs(db, runs.lstm, [{ fold: 0, epoch: 0, trainLoss: 0.69 }, { fold: 1, epoch: 0, trainLoss: NaN }]);
  await insertPredictions(db, runs.lstm, p0, at(12));
  await seal(db, "runs", runs.lstm, "failed", at(13), STUDY_FAILURE, null);
  await seal(db, "studies", studies.failed, "failed", at(13), STUDY_FAILURE, null);
  // xgb: still running with one fold.
  await insertFold(db, runs.xgb, sampleFold(0), at(22));
  await insertPredictions(db, runs.xgb, p0, at(22));

  const runSummary = (r: (typeof runRows)[number], status: RunSummary["status"], fin: number | null): RunSummary => ({
    id: r.id,
    createdAt: r.at,
    finishedAt: fin,
    status,
    error: status === "failed" ? STUDY_FAILURE : null,
    config: runConfig(r.entry, r.model),
    seed: 7,
    model: r.model,
    symbols: ["AAA", "BBB"],
    dataSource: "prices/",
    backend: r.model === "xgboost" ? "xgboost-c" : "wasm",
    leakageOverride: false,
    summary: status !== "succeeded" ? null : entrySummary(r.entry === "gbm" ? 0.53 : 0.5),
    studyId: r.study,
    entry: r.entry,
    features: ["ret_1", "vol_20"],
    dataFingerprint: "sha256:ab12",
    version: "0.3.0",
    ...noVersion3Fields(status),
  });
  const studyRecord = (
    s: (typeof studyRows)[number],
    status: RunSummary["status"],
    fin: number | null,
    studyRuns: RunSummary[],
  ): Study => ({
    id: s.id,
    createdAt: s.at,
    finishedAt: fin,
    status,
    error: status === "failed" ? STUDY_FAILURE : null,
    name: s.name,
    config,
    seed: 7,
    symbols: ["AAA", "BBB"],
    dataSource: "prices/",
    dataFingerprint: "sha256:ab12",
    version: "0.3.0",
    features: ["ret_1", "vol_20"],
    entries: s.entries.map(([name, kind]) => ({ name, kind })),
    leakageOverride: false,
    summary: status === "succeeded" ? summary : null,
    ...noVersion3Fields(status),
    runs: studyRuns,
  });
  const expected = [
    studyRecord(studyRows[0], "succeeded", at(8), [
      runSummary(runRows[0], "succeeded", at(5)),
      runSummary(runRows[1], "succeeded", at(7)),
    ]),
    studyRecord(studyRows[1], "failed", at(13), [runSummary(runRows[2], "failed", at(13))]),
    studyRecord(studyRows[2], "running", null, [runSummary(runRows[3], "running", null)]),
  ];
  const stored = (runId: string, p: PredictionRecord): Omit<StoredPredictions, "createdAt"> => ({
    runId,
    fold: p.fold,
    split: "test",
    dates: p.dates,
    symbols: p.symbols,
    values: [...(p.values as number[])],
    width: p.width,
  });
  const predictions = [
    stored(runs.gbm, p0),
    stored(runs.gbm, p1),
    stored(runs.mlp, p0),
    stored(runs.lstm, p0),
    stored(runs.xgb, p0),
  ];
  return { studies, runs, expected, predictions };
}

/**
 * After the migration of a version-2 database: every study, run, part and prediction reads back as written (object
 * keys in the order written), old runs have no heartbeat, tags, note or reopenings, and the version-3 operations work
 * on the old records: the running study is stale and can be reaped, the failed one reopened and finished.
 */
export async function assertVersion2Migrated(store: Store, fx: Version2Fixture): Promise<void> {
  for (const expected of fx.expected) {
    const study = await store.getStudy(expected.id);
    assert.deepStrictEqual(study, expected);
    assert.equal(JSON.stringify(study!.summary), JSON.stringify(expected.summary), "summary keys in the order written");
    for (const run of study!.runs) {
      assert.equal(JSON.stringify(run.config), JSON.stringify(expected.runs.find((r) => r.id === run.id)!.config));
    }
  }
  assert.deepStrictEqual(
    (await store.listStudies()).map((s) => [s.id, s.status, s.liveness]),
    [
      [fx.studies.running, "running", "stale"],
      [fx.studies.failed, "failed", null],
      [fx.studies.succeeded, "succeeded", null],
    ],
  );
  const gbm = (await store.getRun(fx.runs.gbm))!;
  assert.deepStrictEqual(gbm.folds.map((f) => [f.index, f.fitReport]), [[0, sampleFold(0).fitReport], [
    1,
    sampleFold(1).fitReport,
  ]]);
  assert.ok(Number.isNaN(gbm.folds[1].metrics.ic));
  assert.ok(Number.isNaN(gbm.epochs[0].valLoss) && gbm.epochs[1].trainLoss === Infinity);
  assert.deepStrictEqual(gbm.epochs[0].extra, { rounds: 17 });
  assert.deepStrictEqual(gbm.diagnostics.map((d) => [d.fold, d.kind, d.data]), [
    [1, "sign-bias", { share: 0.91, z: { a: 1, b: [1] } }],
    [null, "verdict", null],
  ]);
  const backtest = sampleBacktest();
  assert.deepStrictEqual(
    { ...gbm.backtest!, runId: undefined, createdAt: undefined },
    {
      runId: undefined,
      createdAt: undefined,
      lag: backtest.lag,
      costBps: backtest.costBps,
      slippageBps: backtest.slippageBps,
      annualization: backtest.annualization,
      metrics: backtest.metrics,
      buyAndHold: backtest.buyAndHold,
      warnings: backtest.warnings,
      equity: {
        dates: backtest.equity.dates,
        values: [...backtest.equity.values as number[]],
        buyAndHold: [...backtest.equity.buyAndHold as number[]],
      },
      details: backtest.details,
    },
  );
  const ids = Object.values(fx.runs);
  const predictions = (await store.listPredictions(ids)).map(({ createdAt: _c, ...p }) => p);
  const order = (p: { runId: string; fold: number }) => `${p.runId}:${p.fold}`;
  assert.deepStrictEqual(
    predictions.sort((a, b) => order(a).localeCompare(order(b))),
    [...fx.predictions].sort((a, b) => order(a).localeCompare(order(b))),
  );
  assert.ok(Object.is(predictions.find((p) => p.runId === fx.runs.gbm && p.fold === 1)!.values[3], -0));
  assert.deepStrictEqual(await store.listPredictions(ids, { split: "validation" }), []);

  // Version-3 operations on the old records. The running study has never heartbeated: a reaper may take it.
  assert.deepStrictEqual(
    await store.markInterrupted(fx.studies.running, { message: "process gone" }, { onlyIfStale: true }),
    { studies: [fx.studies.running], runs: [fx.runs.xgb] },
  );
  // The failed study resumes: its failed run keeps fold 0 (and its predictions); fold 1's orphaned epoch goes.
  const reopened = await store.reopenStudy(fx.studies.failed);
  assert.deepStrictEqual(reopened, {
    studyId: fx.studies.failed,
    runs: [{
      runId: fx.runs.lstm,
      entry: "lstm",
      folds: [0],
      discarded: { epochs: 1, diagnostics: 0, predictions: 0 },
    }],
  });
  await store.recordFold(fx.runs.lstm, sampleFold(1), {
    predictions: [{ fold: 1, split: "validation", dates: ["2020-12-31"], symbols: ["AAA"], values: [0.5], width: 1 }],
    epochs: [{ fold: 1, epoch: 0, trainLoss: 0.68 }],
  });
  await store.finishRun(fx.runs.lstm, { status: "succeeded" });
  await store.finishStudy(fx.studies.failed, { status: "succeeded" });
  const resumed = (await store.getStudy(fx.studies.failed))!;
  assert.equal(resumed.status, "succeeded");
  assert.deepStrictEqual(resumed.reopened.map((r) => [r.status, r.error, r.finishedAt]), [[
    "failed",
    STUDY_FAILURE,
    fx.expected[1].finishedAt,
  ]]);
  await store.tag(fx.studies.succeeded, "baseline");
  await store.setNote(fx.runs.gbm, "the one to beat");
  assert.deepStrictEqual((await store.listStudies({ tag: "baseline" })).map((s) => s.id), [fx.studies.succeeded]);
  assert.equal((await store.getRuns([fx.runs.gbm]))[0].note, "the one to beat");
}
