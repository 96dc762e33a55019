/**
 * Shared part of the schema-version-2 migration tests (sqlite_test.ts, postgres_test.ts): fill a database that has
 * only the version-1 schema with runs of every status and all their parts, then check, after the current code has
 * migrated it, that every version-1 record reads back identical and that every run has a study of its own.
 *
 * Runs are inserted with the version-1 columns by the backend's own SQL (the current `createRun` writes version-2
 * columns); folds, epochs, diagnostics, backtests and sealing go through the Store API, whose SQL for them is
 * unchanged since version 1. Expectations come from the inputs written here, not from reading the store.
 */

import assert from "node:assert/strict";
import type { Run, RunSummary, Store, Study } from "../../lib/store/store.ts";
import { newRunId } from "../../lib/store/run_id.ts";
import { sampleBacktest, sampleFold } from "./contract.ts";

/** A run as the version-1 `createRun` stored it (status `running`, no finish time). */
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

/** Inserts one version-1 run row with the backend's SQL. */
export type InsertVersion1Run = (run: Version1Run) => Promise<void>;

/** The runs of the version-1 database: one will succeed, one fail, one stay running. */
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

const SUCCEEDED_SUMMARY = { pooled: { accuracy: 0.53 }, warnings: ["short sample"] };
const FAILURE = { message: "NaN loss", stage: "fold", fold: 1, name: "TrainingError" };

/** Writes the parts of the runs through `store` (a store opened with the version-1 migration only). */
export async function fillVersion1(store: Store, insert: InsertVersion1Run): Promise<Version1Run[]> {
  const runs = version1Runs();
  for (const r of runs) await insert(r);
  const [ok, failed, running] = runs.map((r) => r.id);

  await store.appendFold(ok, sampleFold(0));
  await store.appendFold(ok, sampleFold(1, { metrics: { accuracy: 0.55, ic: NaN } }));
  await store.appendEpochs(ok, [
    { fold: 0, epoch: 0, trainLoss: 0.7, valLoss: 0.71, lr: 1e-3, gradNorm: 1.5, clipRatio: 0, extra: { std: 0.1 } },
    { fold: null, epoch: 0, trainLoss: NaN, valLoss: Infinity, gradNorm: -Infinity },
  ]);
  await store.appendDiagnostics(ok, [
    { fold: 0, kind: "sign-bias", severity: "warning", message: "91% up", data: { share: 0.91 } },
    { fold: null, kind: "wfe", severity: "info", message: "WFE 0.6" },
  ]);
  await store.putBacktest(ok, sampleBacktest({ metrics: { sharpe: 0.8, calmar: NaN } }));
  await store.finishRun(ok, { status: "succeeded", summary: SUCCEEDED_SUMMARY });

  await store.appendFold(failed, sampleFold(0));
  await store.appendEpochs(failed, [{ fold: 0, epoch: 0, trainLoss: 0.69, valLoss: NaN }]);
  await store.finishRun(failed, { status: "failed", error: FAILURE });

  await store.appendFold(running, sampleFold(0, { nTrain: 10 }));
  await store.appendDiagnostics(running, [{ fold: 0, kind: "variance-collapse", severity: "error", message: "std 0" }]);
  return runs;
}

/** Checks a run read back from the filled database against what `fillVersion1` wrote. */
export function assertVersion1Run(run: Run | undefined, input: Version1Run, index: number): void {
  assert.ok(run !== undefined, `run ${input.id} is missing`);
  assert.equal(run.id, input.id);
  assert.equal(run.createdAt, input.createdAt);
  assert.deepStrictEqual(
    [run.config, run.seed, run.model, run.symbols, run.dataSource, run.backend, run.leakageOverride],
    [input.config, input.seed, input.model, input.symbols, input.dataSource, input.backend, input.leakageOverride],
  );
  if (index === 0) {
    assert.equal(run.status, "succeeded");
    assert.ok(run.finishedAt !== null && run.finishedAt >= run.createdAt);
    assert.equal(run.error, null);
    assert.deepStrictEqual(run.summary, SUCCEEDED_SUMMARY);
    assert.deepStrictEqual(run.folds.map((f) => f.index), [0, 1]);
    assert.deepStrictEqual(run.folds[0].metrics, { accuracy: 0.5125, ic: 0.031 });
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
    assert.ok(Number.isNaN(run.backtest?.metrics.calmar));
  } else if (index === 1) {
    assert.equal(run.status, "failed");
    assert.ok(run.finishedAt !== null);
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

const STUDY_FIELDS = ["studyId", "entry", "features", "dataFingerprint", "version"] as const;

/** A run without the fields schema version 2 added. */
function withoutStudyFields<T extends RunSummary>(run: T): Omit<T, (typeof STUDY_FIELDS)[number]> {
  const { studyId: _s, entry: _e, features: _f, dataFingerprint: _d, version: _v, ...rest } = run;
  return rest;
}

/**
 * After migration: each run reads back exactly as before (`before`, read through the API from the version-1
 * database), has its own legacy study with the run's fields, and the running one can still be finished.
 */
export async function assertMigrated(store: Store, inputs: Version1Run[], before: Run[]): Promise<void> {
  const studyIds: string[] = [];
  for (const [i, input] of inputs.entries()) {
    const run = await store.getRun(input.id);
    assertVersion1Run(run, input, i);
    assert.deepStrictEqual(STUDY_FIELDS.map((k) => before[i][k]), [null, null, null, null, null]);
    assert.deepStrictEqual(withoutStudyFields(run!), withoutStudyFields(before[i]));

    const studyId = `study_${input.id.slice("run_".length)}`;
    studyIds.push(studyId);
    assert.deepStrictEqual(
      STUDY_FIELDS.map((k) => run![k]),
      [studyId, input.model, null, null, null],
    );
    const { folds: _f, epochs: _e, diagnostics: _d, backtest: _b, ...summary } = run!;
    const expected: Study = {
      id: studyId,
      createdAt: input.createdAt,
      finishedAt: before[i].finishedAt,
      status: before[i].status,
      error: before[i].error,
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
      runs: [summary],
    };
    assert.deepStrictEqual(await store.getStudy(studyId), expected);
  }
  assert.deepStrictEqual((await store.listStudies({ limit: 1000 })).map((s) => s.id), [...studyIds].reverse());
  assert.deepStrictEqual(
    (await store.listStudies({ status: "running" })).map((s) => s.id),
    [studyIds[2]],
  );
  assert.ok((await store.listRuns({ limit: 1000 })).every((r) => r.studyId !== null));

  // The run that was running when the store was upgraded can still be written, finished, and its study sealed.
  const running = inputs[2].id;
  await store.appendFold(running, sampleFold(1));
  await store.appendPredictions(running, { fold: 1, dates: ["2021-01-05"], symbols: ["AAA"], values: [NaN], width: 1 });
  await store.finishRun(running, { status: "succeeded" });
  await store.finishStudy(studyIds[2], { status: "succeeded" });
  assert.equal((await store.getStudy(studyIds[2]))?.status, "succeeded");
}
