/**
 * The Store contract test suite. Every backend registers it with a factory that opens a fresh, empty store:
 *
 * ```ts
 * storeContractTests("sqlite", async () => ({ store: openStore(tmpFile), cleanup: () => Deno.remove(tmpFile) }));
 * ```
 *
 * Expectations are written from the contract (lib/store/store.ts), never from captured output. Failure cases check,
 * through the API, that the whole visible state is identical before and after the refused write.
 */

import assert from "node:assert/strict";
import { StoreError } from "../../lib/errors.ts";
import type {
  BacktestRecord,
  EpochRecord,
  FoldParts,
  FoldRecord,
  NewRun,
  NewStudy,
  PredictionRecord,
  Run,
  RunMetricRef,
  RunPage,
  RunQuery,
  RunStatus,
  RunSummary,
  Store,
  StoredPredictions,
  Study,
  StudySummary,
} from "../../lib/store/store.ts";
import { isRunId, isStudyId } from "../../lib/store/run_id.ts";
import { productionContractTests } from "./contract_production.ts";
import { version3ContractTests } from "./contract_v3.ts";

/** A fresh, empty store and how to dispose of it. */
export interface StoreFixture {
  store: Store;
  cleanup?: () => Promise<void> | void;
}

/** Options a test may ask the fresh store to be opened with. */
export interface StoreTestOptions {
  /** The store's clock (epoch ms), so tests move time instead of waiting. */
  clock?: () => number;
  /** Age after which a running record's heartbeat is stale (ms). */
  staleAfterMs?: number;
}

/** Opens a fresh, empty store (with `options` when given). */
export type StoreFactory = (options?: StoreTestOptions) => Promise<StoreFixture>;

/** A run input with every field set. */
export function sampleRun(overrides: Partial<NewRun> = {}): NewRun {
  return {
    config: { horizon: 1, folds: 5, model: { kind: "xgboost", params: { max_depth: 3, eta: 0.1 } }, tags: ["a"] },
    seed: 42,
    model: "xgboost",
    symbols: ["AAA", "BBB"],
    dataSource: "synthetic:planted",
    backend: "xgboost-c",
    leakageOverride: false,
    ...overrides,
  };
}

/** A fold input with every field set. */
export function sampleFold(index: number, overrides: Partial<FoldRecord> = {}): FoldRecord {
  return {
    index,
    train: [{ start: "2020-01-01", end: "2020-12-31" }],
    test: [{ start: "2021-01-05", end: "2021-03-31" }],
    validation: [{ start: "2020-11-01", end: "2020-12-31" }],
    purge: 1,
    embargo: 0,
    nTrain: 5000 + index,
    nTest: 1200,
    metrics: { accuracy: 0.5125, ic: 0.031 },
    baselines: { coinFlip: 0.5, majorityClass: 0.507 },
    fitReport: { bestIteration: 17, seconds: 0.25, notes: [] },
    ...overrides,
  };
}

/** A backtest input with a three-point equity curve. */
export function sampleBacktest(overrides: Partial<BacktestRecord> = {}): BacktestRecord {
  return {
    lag: 1,
    costBps: 5,
    slippageBps: 2,
    annualization: 252,
    metrics: { sharpe: 0.8, maxDrawdown: -0.12, totalReturn: 0.1 },
    buyAndHold: { sharpe: 0.5, maxDrawdown: -0.3, totalReturn: 0.07 },
    warnings: ["short sample"],
    equity: {
      dates: ["2021-01-04", "2021-01-05", "2021-01-06"],
      values: [1, 1.01, 0.995],
      buyAndHold: [1, 1.02, 1.03],
    },
    details: { portfolio: "long-short" },
    ...overrides,
  };
}

/** Everything the API can see, for before/after comparisons. */
async function snapshot(store: Store): Promise<{
  runs: RunSummary[];
  full: (Run | undefined)[];
  studies: (Study | undefined)[];
  predictions: StoredPredictions[];
}> {
  const runs = await store.listRuns({ limit: 1000 });
  const full = [];
  for (const r of runs) full.push(await store.getRun(r.id));
  const studies = [];
  for (const s of await store.listStudies({ limit: 1000 })) studies.push(await store.getStudy(s.id));
  const predictions = await store.listPredictions(runs.map((r) => r.id));
  return { runs, full, studies, predictions };
}

/** Asserts that `write` is refused with a StoreError matching `message` and leaves the store unchanged. */
export async function assertRefusedUnchanged(
  store: Store,
  write: () => Promise<unknown>,
  message: RegExp,
): Promise<void> {
  const before = await snapshot(store);
  await assert.rejects(write, (e: unknown) => {
    assert.ok(e instanceof StoreError, `expected a StoreError, got ${e}`);
    assert.match((e as Error).message, message);
    return true;
  });
  assert.deepStrictEqual(await snapshot(store), before);
}

/** Registers the contract tests for one backend. */
export function storeContractTests(backend: string, factory: StoreFactory): void {
  storeDashboardReadTests(backend, factory);
  version3ContractTests(backend, factory);
  const test = (name: string, fn: (store: Store) => Promise<void>) =>
    Deno.test(`store contract (${backend}): ${name}`, async () => {
      const { store, cleanup } = await factory();
      try {
        await fn(store);
      } finally {
        await store.close();
        await cleanup?.();
      }
    });

  test("createRun records a running run with every field", async (store) => {
    const before = Date.now();
    const input = sampleRun();
    const id = await store.createRun(input);
    const after = Date.now();
    assert.ok(isRunId(id), id);
    const run = await store.getRun(id);
    assert.ok(run !== undefined);
    assert.equal(run.id, id);
    assert.equal(run.status, "running");
    assert.ok(run.createdAt >= before && run.createdAt <= after, `${run.createdAt} not in [${before}, ${after}]`);
    assert.equal(run.finishedAt, null);
    assert.equal(run.error, null);
    assert.deepStrictEqual(run.config, input.config);
    assert.equal(run.seed, 42);
    assert.equal(run.model, "xgboost");
    assert.deepStrictEqual(run.symbols, ["AAA", "BBB"]);
    assert.equal(run.dataSource, "synthetic:planted");
    assert.equal(run.backend, "xgboost-c");
    assert.equal(run.leakageOverride, false);
    assert.equal(run.summary, null);
    assert.deepStrictEqual(run.folds, []);
    assert.deepStrictEqual(run.epochs, []);
    assert.deepStrictEqual(run.diagnostics, []);
    assert.equal(run.backtest, null);
  });

  test("optional run fields default to null/false", async (store) => {
    const id = await store.createRun({ config: {}, model: "linear", symbols: [], dataSource: "x.csv" });
    const run = await store.getRun(id);
    assert.equal(run?.seed, null);
    assert.equal(run?.backend, null);
    assert.equal(run?.leakageOverride, false);
  });

  test("ids are unique and sort by creation", async (store) => {
    const ids: string[] = [];
    for (let i = 0; i < 20; i++) ids.push(await store.createRun(sampleRun()));
    assert.equal(new Set(ids).size, 20);
    assert.deepStrictEqual([...ids].sort(), ids);
  });

  test("createRun refuses bad input and writes nothing", async (store) => {
    await assertRefusedUnchanged(store, () => store.createRun(sampleRun({ model: "" })), /run\.model/);
    await assertRefusedUnchanged(store, () => store.createRun(sampleRun({ seed: 1.5 })), /run\.seed/);
    await assertRefusedUnchanged(
      store,
      () => store.createRun(sampleRun({ symbols: "AAA" as unknown as string[] })),
      /run\.symbols/,
    );
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    await assertRefusedUnchanged(store, () => store.createRun(sampleRun({ config: cyclic })), /run\.config/);
  });

  test("appendFold round-trips every field; NaN metrics come back as NaN", async (store) => {
    const id = await store.createRun(sampleRun());
    await store.appendFold(id, sampleFold(1, { metrics: { accuracy: 0.52, ic: NaN } }));
    await store.appendFold(id, sampleFold(0));
    const run = await store.getRun(id);
    assert.equal(run?.folds.length, 2);
    const [f0, f1] = run!.folds;
    assert.equal(f0.index, 0);
    assert.equal(f1.index, 1);
    assert.equal(f0.runId, id);
    assert.deepStrictEqual(f0.train, [{ start: "2020-01-01", end: "2020-12-31" }]);
    assert.deepStrictEqual(f0.test, [{ start: "2021-01-05", end: "2021-03-31" }]);
    assert.deepStrictEqual(f0.validation, [{ start: "2020-11-01", end: "2020-12-31" }]);
    assert.equal(f0.purge, 1);
    assert.equal(f0.embargo, 0);
    assert.equal(f0.nTrain, 5000);
    assert.equal(f1.nTrain, 5001);
    assert.equal(f0.nTest, 1200);
    assert.deepStrictEqual(f0.metrics, { accuracy: 0.5125, ic: 0.031 });
    assert.deepStrictEqual(f0.baselines, { coinFlip: 0.5, majorityClass: 0.507 });
    assert.deepStrictEqual(f0.fitReport, { bestIteration: 17, seconds: 0.25, notes: [] });
    assert.equal(f1.metrics.accuracy, 0.52);
    assert.ok(Number.isNaN(f1.metrics.ic));
  });

  test("a fold without validation windows or fit report reads back empty", async (store) => {
    const id = await store.createRun(sampleRun());
    const { validation: _v, fitReport: _f, ...bare } = sampleFold(0);
    await store.appendFold(id, bare);
    const [fold] = (await store.getRun(id))!.folds;
    assert.deepStrictEqual(fold.validation, []);
    assert.deepStrictEqual(fold.fitReport, {});
  });

  test("appendFold refuses bad input and writes nothing", async (store) => {
    const id = await store.createRun(sampleRun());
    await store.appendFold(id, sampleFold(0));
    const cases: [Partial<FoldRecord>, RegExp][] = [
      [{ metrics: { accuracy: Infinity } }, /fold\.metrics\.accuracy/],
      [{ baselines: { coinFlip: -Infinity } }, /fold\.baselines\.coinFlip/],
      [{ metrics: { accuracy: "0.5" as unknown as number } }, /fold\.metrics\.accuracy/],
      [{ purge: NaN }, /fold\.purge/],
      [{ purge: -1 }, /fold\.purge/],
      [{ nTrain: 10.5 }, /fold\.nTrain/],
      [{ nTest: Infinity }, /fold\.nTest/],
      [{ train: [] }, /fold\.train/],
      [{ test: [{ start: "2021-03-31", end: "2021-01-05" }] }, /fold\.test\[0\]/],
      [{ test: [{ start: "2021-02-30", end: "2021-03-05" }] }, /fold\.test\[0\]\.start/],
      [{ train: [{ start: "2021/01/01", end: "2021-03-05" }] }, /fold\.train\[0\]\.start/],
    ];
    for (const [override, message] of cases) {
      await assertRefusedUnchanged(store, () => store.appendFold(id, sampleFold(1, override)), message);
    }
  });

  test("a duplicate fold index is refused and writes nothing", async (store) => {
    const id = await store.createRun(sampleRun());
    await store.appendFold(id, sampleFold(0));
    await assertRefusedUnchanged(
      store,
      () => store.appendFold(id, sampleFold(0, { nTrain: 1 })),
      /already has fold 0/,
    );
    assert.equal((await store.getRun(id))!.folds[0].nTrain, 5000);
  });

  test("every write to an unknown run id is refused and writes nothing", async (store) => {
    await store.createRun(sampleRun());
    const ghost = "run_00000000000000000000000000";
    const unknown = /unknown run id/;
    await assertRefusedUnchanged(store, () => store.appendFold(ghost, sampleFold(0)), unknown);
    await assertRefusedUnchanged(
      store,
      () => store.appendEpochs(ghost, [{ fold: 0, epoch: 0, trainLoss: 1 }]),
      unknown,
    );
    await assertRefusedUnchanged(
      store,
      () => store.appendDiagnostics(ghost, [{ fold: null, kind: "k", severity: "info", message: "m" }]),
      unknown,
    );
    await assertRefusedUnchanged(store, () => store.putBacktest(ghost, sampleBacktest()), unknown);
    await assertRefusedUnchanged(store, () => store.finishRun(ghost, { status: "succeeded" }), unknown);
    assert.equal(await store.getRun(ghost), undefined);
  });

  test("epochs round-trip, NaN and ±Infinity losses included", async (store) => {
    const id = await store.createRun(sampleRun());
    const epochs: EpochRecord[] = [
      { fold: 0, epoch: 1, trainLoss: 0.69, valLoss: 0.7, lr: 1e-3, gradNorm: 2.5, clipRatio: 0.25, extra: { s: 1 } },
      { fold: 0, epoch: 0, trainLoss: 0.7 },
      { fold: null, epoch: 0, trainLoss: NaN, valLoss: Infinity, lr: null, gradNorm: -Infinity, clipRatio: NaN },
      { fold: 1, epoch: 0, trainLoss: 0.5, valLoss: NaN },
    ];
    await store.appendEpochs(id, epochs);
    const got = (await store.getRun(id))!.epochs;
    assert.deepStrictEqual(got.map((e) => [e.fold, e.epoch]), [[null, 0], [0, 0], [0, 1], [1, 0]]);
    const [prod, e00, e01, e10] = got;
    assert.ok(Number.isNaN(prod.trainLoss));
    assert.equal(prod.valLoss, Infinity);
    assert.equal(prod.lr, null);
    assert.equal(prod.gradNorm, -Infinity);
    assert.ok(Number.isNaN(prod.clipRatio));
    assert.deepStrictEqual(e00, {
      runId: id,
      fold: 0,
      epoch: 0,
      trainLoss: 0.7,
      valLoss: null,
      lr: null,
      gradNorm: null,
      clipRatio: null,
      extra: null,
    });
    assert.deepStrictEqual(e01, {
      runId: id,
      fold: 0,
      epoch: 1,
      trainLoss: 0.69,
      valLoss: 0.7,
      lr: 1e-3,
      gradNorm: 2.5,
      clipRatio: 0.25,
      extra: { s: 1 },
    });
    assert.ok(Number.isNaN(e10.valLoss));
  });

  test("appendEpochs is all or nothing", async (store) => {
    const id = await store.createRun(sampleRun());
    await store.appendEpochs(id, [{ fold: 0, epoch: 0, trainLoss: 1 }]);
    // Second element duplicates a stored epoch: the first (valid) one must not be written either.
    await assertRefusedUnchanged(
      store,
      () => store.appendEpochs(id, [{ fold: 0, epoch: 1, trainLoss: 0.9 }, { fold: 0, epoch: 0, trainLoss: 0.8 }]),
      /already has epoch 0 of fold 0/,
    );
    await assertRefusedUnchanged(
      store,
      () => store.appendEpochs(id, [{ fold: 2, epoch: 3, trainLoss: 1 }, { fold: 2, epoch: 3, trainLoss: 1 }]),
      /each \(fold, epoch\) once/,
    );
    await assertRefusedUnchanged(
      store,
      () => store.appendEpochs(id, [{ fold: 0, epoch: 1, trainLoss: "x" as unknown as number }]),
      /trainLoss/,
    );
    await assertRefusedUnchanged(store, () => store.appendEpochs(id, [{ fold: 0, epoch: -1, trainLoss: 1 }]), /epoch/);
    // The same epoch number in another fold, or outside folds, is fine.
    await store.appendEpochs(id, [{ fold: 1, epoch: 0, trainLoss: 1 }, { fold: null, epoch: 0, trainLoss: 1 }]);
    assert.equal((await store.getRun(id))!.epochs.length, 3);
  });

  test("diagnostics round-trip in recording order; a bad one writes none of the batch", async (store) => {
    const id = await store.createRun(sampleRun());
    await store.appendDiagnostics(id, [
      { fold: 2, kind: "variance-collapse", severity: "warning", message: "std 1e-5", data: { std: 1e-5 } },
      { fold: null, kind: "leakage", severity: "error", message: "feature f leaks" },
    ]);
    await store.appendDiagnostics(id, [{ fold: 0, kind: "sign-bias", severity: "info", message: "92% up" }]);
    await assertRefusedUnchanged(
      store,
      () =>
        store.appendDiagnostics(id, [
          { fold: 0, kind: "ok", severity: "info", message: "fine" },
          { fold: 0, kind: "bad", severity: "fatal" as "error", message: "x" },
        ]),
      /severity/,
    );
    const got = (await store.getRun(id))!.diagnostics;
    assert.deepStrictEqual(got.map((d) => [d.fold, d.kind, d.severity, d.message, d.data]), [
      [2, "variance-collapse", "warning", "std 1e-5", { std: 1e-5 }],
      [null, "leakage", "error", "feature f leaks", null],
      [0, "sign-bias", "info", "92% up", null],
    ]);
    assert.ok(got[0].seq < got[1].seq && got[1].seq < got[2].seq);
    assert.ok(got.every((d) => d.runId === id && Number.isFinite(d.createdAt)));
  });

  test("backtests round-trip exactly, equity curve included", async (store) => {
    const id = await store.createRun(sampleRun());
    const values = [1, 1 + 1e-12, 0.1 + 0.2, 1e-300, 123456.789];
    const dates = ["1999-12-31", "2000-01-03", "2000-02-29", "2024-02-29", "2024-03-01"];
    await store.putBacktest(
      id,
      sampleBacktest({
        equity: { dates, values: Float64Array.from(values) },
        metrics: { sharpe: 1.25, calmar: NaN },
      }),
    );
    const bt = (await store.getRun(id))!.backtest!;
    assert.equal(bt.runId, id);
    assert.equal(bt.lag, 1);
    assert.equal(bt.costBps, 5);
    assert.equal(bt.slippageBps, 2);
    assert.equal(bt.annualization, 252);
    assert.equal(bt.metrics.sharpe, 1.25);
    assert.ok(Number.isNaN(bt.metrics.calmar));
    assert.deepStrictEqual(bt.buyAndHold, { sharpe: 0.5, maxDrawdown: -0.3, totalReturn: 0.07 });
    assert.deepStrictEqual(bt.warnings, ["short sample"]);
    assert.deepStrictEqual(bt.equity, { dates, values, buyAndHold: null });
    assert.deepStrictEqual(bt.details, { portfolio: "long-short" });
  });

  test("putBacktest replaces the backtest while running", async (store) => {
    const id = await store.createRun(sampleRun());
    await store.putBacktest(id, sampleBacktest());
    await store.putBacktest(id, sampleBacktest({ lag: 2 }));
    const bt = (await store.getRun(id))!.backtest!;
    assert.equal(bt.lag, 2);
    assert.deepStrictEqual(bt.equity.buyAndHold, [1, 1.02, 1.03]);
    assert.equal((await store.listBacktests([id])).length, 1);
  });

  test("putBacktest refuses bad input and writes nothing", async (store) => {
    const id = await store.createRun(sampleRun());
    await store.putBacktest(id, sampleBacktest());
    const eq = sampleBacktest().equity;
    const cases: [Partial<BacktestRecord>, RegExp][] = [
      [{ lag: 0.5 }, /backtest\.lag/],
      [{ costBps: NaN }, /backtest\.costBps/],
      [{ costBps: -1 }, /backtest\.costBps/],
      [{ annualization: 0 }, /backtest\.annualization/],
      [{ metrics: { sharpe: Infinity } }, /backtest\.metrics\.sharpe/],
      [{ equity: { ...eq, values: [1, 2] } }, /backtest\.equity\.values\.length/],
      [{ equity: { ...eq, values: [1, NaN, 2] } }, /backtest\.equity\.values\[1\]/],
      [{ equity: { ...eq, buyAndHold: [1, 2, Infinity] } }, /backtest\.equity\.buyAndHold\[2\]/],
      [{ equity: { ...eq, dates: ["2021-01-04", "2021-01-04", "2021-01-06"] } }, /strictly increasing/],
      [{ equity: { ...eq, dates: ["2021-01-04", "2021-13-01", "2021-01-06"] } }, /dates\[1\]/],
      [{ warnings: [1] as unknown as string[] }, /backtest\.warnings/],
    ];
    for (const [override, message] of cases) {
      await assertRefusedUnchanged(store, () => store.putBacktest(id, sampleBacktest(override)), message);
    }
  });

  test("finishRun succeeded seals the run with a summary", async (store) => {
    const id = await store.createRun(sampleRun());
    await store.appendFold(id, sampleFold(0));
    const before = Date.now();
    await store.finishRun(id, { status: "succeeded", summary: { pooled: { accuracy: 0.51 }, warnings: [] } });
    const run = (await store.getRun(id))!;
    assert.equal(run.status, "succeeded");
    assert.ok(run.finishedAt !== null && run.finishedAt >= before && run.finishedAt >= run.createdAt);
    assert.equal(run.error, null);
    assert.deepStrictEqual(run.summary, { pooled: { accuracy: 0.51 }, warnings: [] });
    const sealed = /already succeeded/;
    await assertRefusedUnchanged(store, () => store.appendFold(id, sampleFold(1)), sealed);
    await assertRefusedUnchanged(store, () => store.appendEpochs(id, [{ fold: 0, epoch: 0, trainLoss: 1 }]), sealed);
    await assertRefusedUnchanged(
      store,
      () => store.appendDiagnostics(id, [{ fold: null, kind: "k", severity: "info", message: "m" }]),
      sealed,
    );
    await assertRefusedUnchanged(store, () => store.putBacktest(id, sampleBacktest()), sealed);
    await assertRefusedUnchanged(
      store,
      () => store.finishRun(id, { status: "failed", error: { message: "late" } }),
      sealed,
    );
  });

  test("a failed run keeps its finished folds and says where it failed", async (store) => {
    const id = await store.createRun(sampleRun());
    await store.appendFold(id, sampleFold(0));
    await store.appendFold(id, sampleFold(1));
    await store.finishRun(id, {
      status: "failed",
      error: { message: "XGBoost ran out of memory", stage: "fold", fold: 2, name: "BackendUnavailableError" },
    });
    const run = (await store.getRun(id))!;
    assert.equal(run.status, "failed");
    assert.deepStrictEqual(run.error, {
      message: "XGBoost ran out of memory",
      stage: "fold",
      fold: 2,
      name: "BackendUnavailableError",
    });
    assert.deepStrictEqual(run.folds.map((f) => f.index), [0, 1]);
    assert.equal(run.backtest, null);
  });

  test("finishRun refuses inconsistent outcomes and writes nothing", async (store) => {
    const id = await store.createRun(sampleRun());
    await assertRefusedUnchanged(
      store,
      () => store.finishRun(id, { status: "failed" } as never),
      /outcome\.error/,
    );
    await assertRefusedUnchanged(
      store,
      () => store.finishRun(id, { status: "failed", error: { message: "" } }),
      /outcome\.error\.message/,
    );
    await assertRefusedUnchanged(
      store,
      () => store.finishRun(id, { status: "running" } as never),
      /outcome\.status/,
    );
    await assertRefusedUnchanged(
      store,
      () => store.finishRun(id, { status: "succeeded", error: { message: "x" } } as never),
      /outcome\.error/,
    );
    assert.equal((await store.getRun(id))!.status, "running");
  });

  test("listRuns: newest first, limit, offset, status filter", async (store) => {
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push(await store.createRun(sampleRun({ seed: i })));
    await store.finishRun(ids[1], { status: "succeeded" });
    await store.finishRun(ids[3], { status: "failed", error: { message: "boom", stage: "load" } });
    const newestFirst = [...ids].reverse();
    assert.deepStrictEqual((await store.listRuns()).map((r) => r.id), newestFirst);
    assert.deepStrictEqual((await store.listRuns({ limit: 2 })).map((r) => r.id), newestFirst.slice(0, 2));
    assert.deepStrictEqual((await store.listRuns({ limit: 2, offset: 2 })).map((r) => r.id), newestFirst.slice(2, 4));
    assert.deepStrictEqual((await store.listRuns({ status: "running" })).map((r) => r.id), [ids[4], ids[2], ids[0]]);
    assert.deepStrictEqual((await store.listRuns({ status: "failed" })).map((r) => r.id), [ids[3]]);
    const [summary] = await store.listRuns({ status: "succeeded" });
    assert.equal(summary.id, ids[1]);
    assert.equal(summary.seed, 1);
    assert.equal("folds" in summary, false);
    await assert.rejects(() => store.listRuns({ limit: 0 }), StoreError);
    await assert.rejects(() => store.listRuns({ status: "done" as never }), StoreError);
  });

  test("batch reads group parts by run and ignore unknown ids", async (store) => {
    const a = await store.createRun(sampleRun());
    const b = await store.createRun(sampleRun({ model: "lstm" }));
    await store.appendFold(a, sampleFold(0));
    await store.appendFold(b, sampleFold(0));
    await store.appendFold(b, sampleFold(1));
    await store.appendEpochs(b, [{ fold: 0, epoch: 0, trainLoss: 1 }]);
    await store.appendDiagnostics(a, [{ fold: null, kind: "k", severity: "info", message: "m" }]);
    await store.putBacktest(b, sampleBacktest());
    const ghost = "run_00000000000000000000000000";
    const runs = await store.getRuns([b, ghost, a]);
    assert.deepStrictEqual(runs.map((r) => r.id).sort(), [a, b].sort());
    const folds = await store.listFolds([a, b, ghost]);
    assert.deepStrictEqual(
      folds.map((f) => [f.runId, f.index]).sort(),
      [[a, 0], [b, 0], [b, 1]].sort(),
    );
    assert.deepStrictEqual((await store.listEpochs([a, b])).map((e) => e.runId), [b]);
    assert.deepStrictEqual((await store.listDiagnostics([a, b])).map((d) => d.runId), [a]);
    assert.deepStrictEqual((await store.listBacktests([a, b])).map((x) => x.runId), [b]);
    assert.deepStrictEqual(await store.listFolds([]), []);
  });

  test("getRun of an unknown id is undefined", async (store) => {
    assert.equal(await store.getRun("run_00000000000000000000000000"), undefined);
    assert.equal(await store.getRun("not-a-run"), undefined);
  });

  studyContractTests(test);
  productionContractTests(test);
}

// ---------------------------------------------------------------------------------------------------------------------
// Studies and out-of-sample predictions (schema version 2)
// ---------------------------------------------------------------------------------------------------------------------

/** A study input with every field set. */
export function sampleStudy(overrides: Partial<NewStudy> = {}): NewStudy {
  return {
    name: "gbm vs mlp",
    config: { target: { kind: "direction", horizon: 1 }, validation: { scheme: "rolling", folds: 3 } },
    seed: 7,
    symbols: ["AAA", "BBB", "CCC"],
    dataSource: "prices/",
    dataFingerprint: "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
    version: "0.3.0-12-gabc1234",
    features: ["ret_1", "ret_5", "vol_20"],
    entries: [{ name: "gbm", kind: "xgboost" }, { name: "mlp", kind: "mlp" }, { name: "stack", kind: "stacking" }],
    leakageOverride: false,
    ...overrides,
  };
}

/** A prediction record: `rows` rows of `width` scores, from a rule the assertions can recompute. */
export function samplePredictions(fold: number, rows = 4, width = 1): PredictionRecord {
  const symbols = ["AAA", "BBB"];
  const dates = Array.from({ length: rows }, (_, i) => isoDay(Date.UTC(2021, 0, 4) / 86_400_000 + (i >> 1)));
  const values = Array.from({ length: rows * width }, (_, k) => fold + k / 8);
  return { fold, dates, symbols: dates.map((_, i) => symbols[i % 2]), values, width };
}

function isoDay(day: number): string {
  return new Date(day * 86_400_000).toISOString().slice(0, 10);
}

/** Element-wise equality with `Object.is` (NaN equals NaN, 0 differs from -0); reports the first difference. */
function assertSameNumbers(got: ArrayLike<number>, want: ArrayLike<number>, what: string): void {
  assert.equal(got.length, want.length, `${what}: length`);
  for (let i = 0; i < want.length; i++) {
    if (!Object.is(got[i], want[i])) assert.fail(`${what}[${i}]: got ${got[i]}, want ${want[i]}`);
  }
}

function studyContractTests(test: (name: string, fn: (store: Store) => Promise<void>) => void): void {
  test("createStudy records a running study with every field and no runs", async (store) => {
    const before = Date.now();
    const input = sampleStudy();
    const id = await store.createStudy(input);
    const after = Date.now();
    assert.ok(isStudyId(id), id);
    assert.equal(isRunId(id), false);
    const study = await store.getStudy(id);
    assert.ok(study !== undefined);
    assert.ok(study.createdAt >= before && study.createdAt <= after, `${study.createdAt} not in [${before}, ${after}]`);
    assert.deepStrictEqual(study, {
      id,
      createdAt: study.createdAt,
      finishedAt: null,
      status: "running",
      error: null,
      name: "gbm vs mlp",
      config: input.config,
      seed: 7,
      symbols: ["AAA", "BBB", "CCC"],
      dataSource: "prices/",
      dataFingerprint: "sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
      version: "0.3.0-12-gabc1234",
      features: ["ret_1", "ret_5", "vol_20"],
      entries: [{ name: "gbm", kind: "xgboost" }, { name: "mlp", kind: "mlp" }, { name: "stack", kind: "stacking" }],
      leakageOverride: false,
      summary: null,
      // Creation counts as the first heartbeat; a new study is live, untagged, without note or reopenings.
      heartbeatAt: study.createdAt,
      liveness: "live",
      tags: [],
      note: null,
      reopened: [],
      runs: [],
    });
  });

  test("optional study fields default to null/false; extra keys of an entry are not stored", async (store) => {
    const { name: _n, seed: _s, leakageOverride: _l, ...bare } = sampleStudy();
    const id = await store.createStudy({
      ...bare,
      features: [],
      entries: [{ name: "only", kind: "ridge", note: "dropped" } as { name: string; kind: string }],
    });
    const study = (await store.getStudy(id))!;
    assert.equal(study.name, null);
    assert.equal(study.seed, null);
    assert.equal(study.leakageOverride, false);
    assert.deepStrictEqual(study.features, []);
    assert.deepStrictEqual(study.entries, [{ name: "only", kind: "ridge" }]);
    assert.ok(isStudyId(await store.createStudy(sampleStudy({ leakageOverride: true }))));
    assert.equal((await store.listStudies({ limit: 1 }))[0].leakageOverride, true);
  });

  test("createStudy refuses bad input and writes nothing", async (store) => {
    await store.createStudy(sampleStudy());
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    const cases: [Partial<NewStudy>, RegExp][] = [
      [{ entries: [] }, /study\.entries: expected a non-empty array/],
      [{ entries: [{ name: "a", kind: "xgboost" }, { name: "a", kind: "mlp" }] }, /study\.entries\[1\]\.name/],
      [{ entries: [{ name: "a", kind: "" }] }, /study\.entries\[0\]\.kind/],
      [{ entries: [{ name: "", kind: "mlp" }] }, /study\.entries\[0\]\.name/],
      [{ features: ["a", "b", "a"] }, /study\.features\[2\]: expected names without repeats/],
      [{ features: "ret_1" as unknown as string[] }, /study\.features/],
      [{ symbols: ["AAA", ""] }, /study\.symbols\[1\]/],
      [{ dataFingerprint: "" }, /study\.dataFingerprint/],
      [{ version: undefined as unknown as string }, /study\.version/],
      [{ dataSource: 3 as unknown as string }, /study\.dataSource/],
      [{ seed: 1.5 }, /study\.seed/],
      [{ name: "" }, /study\.name/],
      [{ leakageOverride: "yes" as unknown as boolean }, /study\.leakageOverride/],
      [{ config: cyclic }, /study\.config/],
      [{ config: [] as unknown as Record<string, unknown> }, /study\.config/],
    ];
    for (const [override, message] of cases) {
      await assertRefusedUnchanged(store, () => store.createStudy(sampleStudy(override)), message);
    }
    assert.equal((await store.listStudies()).length, 1);
  });

  test("runs join a study: study fields round-trip and the study lists its runs in creation order", async (store) => {
    const studyId = await store.createStudy(sampleStudy());
    const outside = await store.createRun(sampleRun());
    const gbm = await store.createRun(
      sampleRun({
        studyId,
        entry: "gbm",
        features: ["ret_1", "vol_20"],
        dataFingerprint: "sha256:abc",
        version: "0.3.0",
      }),
    );
    const mlp = await store.createRun(sampleRun({ studyId, entry: "mlp", model: "mlp" }));
    const bare = await store.createRun(sampleRun({ studyId }));
    const run = (await store.getRun(gbm))!;
    assert.equal(run.studyId, studyId);
    assert.equal(run.entry, "gbm");
    assert.deepStrictEqual(run.features, ["ret_1", "vol_20"]);
    assert.equal(run.dataFingerprint, "sha256:abc");
    assert.equal(run.version, "0.3.0");
    const plain = (await store.getRun(outside))!;
    assert.deepStrictEqual(
      [plain.studyId, plain.entry, plain.features, plain.dataFingerprint, plain.version],
      [null, null, null, null, null],
    );
    const other = (await store.getRun(mlp))!;
    assert.deepStrictEqual(
      [other.studyId, other.entry, other.features, other.dataFingerprint, other.version],
      [studyId, "mlp", null, null, null],
    );
    assert.equal((await store.getRun(bare))!.entry, null);
    // The same fields through the summary reads.
    const [listed] = (await store.listRuns()).filter((r) => r.id === gbm);
    assert.deepStrictEqual(listed, (await store.getRuns([gbm]))[0]);
    assert.deepStrictEqual(
      [listed.studyId, listed.entry, listed.features, listed.dataFingerprint, listed.version],
      [studyId, "gbm", ["ret_1", "vol_20"], "sha256:abc", "0.3.0"],
    );
    const study = (await store.getStudy(studyId))!;
    assert.deepStrictEqual(study.runs.map((r) => r.id), [gbm, mlp, bare]);
    const { folds: _f, epochs: _e, diagnostics: _d, backtest: _b, ...summary } = run;
    assert.deepStrictEqual(study.runs[0], summary);
  });

  test("createRun refuses an unknown study, an unplanned entry and bad study fields; writes nothing", async (store) => {
    const studyId = await store.createStudy(sampleStudy());
    const cases: [Partial<NewRun>, RegExp][] = [
      [{ studyId: "study_00000000000000000000000000" }, /unknown study id "study_00000000000000000000000000"/],
      [{ studyId: "" }, /run\.studyId/],
      [{ studyId, entry: "lstm" }, /run\.entry: expected one of the entries of study .* \(gbm, mlp, stack\)/],
      [{ studyId, entry: "" }, /run\.entry/],
      [{ studyId, features: ["a", "a"] }, /run\.features\[1\]/],
      [{ studyId, features: [""] }, /run\.features\[0\]/],
      [{ studyId, dataFingerprint: "" }, /run\.dataFingerprint/],
      [{ studyId, version: 1 as unknown as string }, /run\.version/],
    ];
    for (const [override, message] of cases) {
      await assertRefusedUnchanged(store, () => store.createRun(sampleRun(override)), message);
    }
    assert.deepStrictEqual((await store.getStudy(studyId))!.runs, []);
  });

  test("finishStudy waits for its runs, then seals the study against new runs", async (store) => {
    const studyId = await store.createStudy(sampleStudy());
    const gbm = await store.createRun(sampleRun({ studyId, entry: "gbm" }));
    const mlp = await store.createRun(sampleRun({ studyId, entry: "mlp" }));
    await store.finishRun(gbm, { status: "succeeded" });
    await assertRefusedUnchanged(
      store,
      () => store.finishStudy(studyId, { status: "succeeded" }),
      new RegExp(`still has 1 running run\\(s\\): ${mlp} \\(entry mlp\\)`),
    );
    await store.finishRun(mlp, { status: "failed", error: { message: "NaN loss", stage: "fold", fold: 1 } });
    const before = Date.now();
    await store.finishStudy(studyId, { status: "succeeded", summary: { comparison: [{ name: "gbm" }] } });
    const study = (await store.getStudy(studyId))!;
    assert.equal(study.status, "succeeded");
    assert.ok(study.finishedAt !== null && study.finishedAt >= before && study.finishedAt >= study.createdAt);
    assert.equal(study.error, null);
    assert.deepStrictEqual(study.summary, { comparison: [{ name: "gbm" }] });
    assert.deepStrictEqual(study.runs.map((r) => [r.id, r.status]), [[gbm, "succeeded"], [mlp, "failed"]]);
    const sealed = /study .* is already succeeded/;
    await assertRefusedUnchanged(store, () => store.createRun(sampleRun({ studyId, entry: "stack" })), sealed);
    await assertRefusedUnchanged(store, () => store.finishStudy(studyId, { status: "succeeded" }), sealed);
    await assertRefusedUnchanged(
      store,
      () => store.finishStudy(studyId, { status: "failed", error: { message: "late" } }),
      sealed,
    );
  });

  test("a failed study records its error; finishStudy refuses bad outcomes and unknown ids", async (store) => {
    const studyId = await store.createStudy(sampleStudy());
    await assertRefusedUnchanged(
      store,
      () => store.finishStudy(studyId, { status: "failed" } as never),
      /outcome\.error/,
    );
    await assertRefusedUnchanged(
      store,
      () => store.finishStudy(studyId, { status: "running" } as never),
      /outcome\.status/,
    );
    await assertRefusedUnchanged(
      store,
      () => store.finishStudy("study_00000000000000000000000000", { status: "succeeded" }),
      /finishStudy: unknown study id/,
    );
    await store.finishStudy(studyId, {
      status: "failed",
      error: { message: "no rows after the purge", stage: "folds", name: "ConfigError" },
    });
    const study = (await store.getStudy(studyId))!;
    assert.equal(study.status, "failed");
    assert.ok(study.finishedAt !== null);
    assert.deepStrictEqual(study.error, { message: "no rows after the purge", stage: "folds", name: "ConfigError" });
    assert.equal(study.summary, null);
    await assertRefusedUnchanged(store, () => store.createRun(sampleRun({ studyId })), /is already failed/);
  });

  test("listStudies: newest first, limit, offset, status filter; getStudies batch", async (store) => {
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push(await store.createStudy(sampleStudy({ seed: i })));
    await store.finishStudy(ids[1], { status: "succeeded" });
    await store.finishStudy(ids[3], { status: "failed", error: { message: "boom" } });
    const newestFirst = [...ids].reverse();
    assert.deepStrictEqual((await store.listStudies()).map((s) => s.id), newestFirst);
    assert.deepStrictEqual((await store.listStudies({ limit: 2 })).map((s) => s.id), newestFirst.slice(0, 2));
    assert.deepStrictEqual(
      (await store.listStudies({ limit: 2, offset: 2 })).map((s) => s.id),
      newestFirst.slice(2, 4),
    );
    assert.deepStrictEqual((await store.listStudies({ status: "running" })).map((s) => s.id), [ids[4], ids[2], ids[0]]);
    assert.deepStrictEqual((await store.listStudies({ status: "failed" })).map((s) => s.id), [ids[3]]);
    const [summary] = await store.listStudies({ status: "succeeded" });
    assert.equal(summary.seed, 1);
    assert.equal("runs" in summary, false);
    await assert.rejects(() => store.listStudies({ limit: 0 }), StoreError);
    await assert.rejects(() => store.listStudies({ status: "done" as never }), StoreError);

    const ghost = "study_00000000000000000000000000";
    const batch: StudySummary[] = await store.getStudies([ids[3], ghost, ids[0]]);
    assert.deepStrictEqual(batch.map((s) => s.id).sort(), [ids[0], ids[3]].sort());
    const { runs: _r, ...full } = (await store.getStudy(ids[3]))!;
    assert.deepStrictEqual(batch.find((s) => s.id === ids[3]), full);
    assert.deepStrictEqual(await store.getStudies([]), []);
    assert.equal(await store.getStudy(ghost), undefined);
    assert.equal(await store.getStudy("not-a-study"), undefined);
  });

  test("predictions round-trip exactly: NaN, -0 and subnormals kept, any row order, several widths", async (store) => {
    const id = await store.createRun(sampleRun());
    const one: PredictionRecord = {
      fold: 1,
      dates: ["2024-02-29", "2021-01-04", "1999-12-31", "2021-01-04", "2024-02-29"],
      symbols: ["BBB", "AAA", "CCC", "BBB", "AAA"],
      values: Float64Array.from([0.25, NaN, -0, 5e-324, 0.1 + 0.2]),
      width: 1,
    };
    const three: PredictionRecord = {
      fold: 0,
      dates: ["2021-01-04", "2021-01-04"],
      symbols: ["AAA", "BBB"],
      values: [0.2, 0.3, 0.5, NaN, NaN, NaN],
      width: 3,
    };
    const before = Date.now();
    await store.appendPredictions(id, one);
    await store.appendPredictions(id, three);
    await store.appendPredictions(id, { fold: 2, dates: [], symbols: [], values: [], width: 2 });
    const got = await store.listPredictions([id]);
    assert.deepStrictEqual(got.map((p) => [p.runId, p.fold, p.width]), [[id, 0, 3], [id, 1, 1], [id, 2, 2]]);
    assert.deepStrictEqual(got[1].dates, one.dates);
    assert.deepStrictEqual(got[1].symbols, one.symbols);
    assertSameNumbers(got[1].values, [0.25, NaN, -0, 5e-324, 0.30000000000000004], "fold 1 values");
    assert.ok(Array.isArray(got[1].values));
    assert.deepStrictEqual(got[0].dates, ["2021-01-04", "2021-01-04"]);
    assert.deepStrictEqual(got[0].symbols, ["AAA", "BBB"]);
    assertSameNumbers(got[0].values, [0.2, 0.3, 0.5, NaN, NaN, NaN], "fold 0 values");
    assert.deepStrictEqual([got[2].dates, got[2].symbols, got[2].values], [[], [], []]);
    assert.ok(got.every((p) => p.createdAt >= before && p.createdAt <= Date.now()));
  });

  test("listPredictions groups by run then fold and ignores unknown ids", async (store) => {
    const studyId = await store.createStudy(sampleStudy());
    const a = await store.createRun(sampleRun({ studyId, entry: "gbm" }));
    const b = await store.createRun(sampleRun({ studyId, entry: "mlp" }));
    const c = await store.createRun(sampleRun());
    await store.appendPredictions(b, samplePredictions(1));
    await store.appendPredictions(a, samplePredictions(2, 6, 2));
    await store.appendPredictions(b, samplePredictions(0));
    await store.appendPredictions(a, samplePredictions(0));
    const ghost = "run_00000000000000000000000000";
    const got = await store.listPredictions([b, ghost, c, a]);
    assert.deepStrictEqual(got.map((p) => [p.runId, p.fold]), [[a, 0], [a, 2], [b, 0], [b, 1]]);
    const want = samplePredictions(2, 6, 2);
    assert.deepStrictEqual(got[1].dates, want.dates);
    assert.deepStrictEqual(got[1].dates, [
      "2021-01-04",
      "2021-01-04",
      "2021-01-05",
      "2021-01-05",
      "2021-01-06",
      "2021-01-06",
    ]);
    assert.deepStrictEqual(got[1].symbols, ["AAA", "BBB", "AAA", "BBB", "AAA", "BBB"]);
    assertSameNumbers(got[1].values, Array.from({ length: 12 }, (_, k) => 2 + k / 8), "run a fold 2");
    assert.deepStrictEqual(await store.listPredictions([c]), []);
    assert.deepStrictEqual(await store.listPredictions([]), []);
  });

  test("appendPredictions refuses bad records, unknown and sealed runs, a second record per fold", async (store) => {
    const id = await store.createRun(sampleRun());
    await store.appendPredictions(id, samplePredictions(0));
    const good = samplePredictions(1);
    const cases: [PredictionRecord, RegExp][] = [
      [{ ...good, fold: -1 }, /predictions\.fold/],
      [{ ...good, fold: 0.5 }, /predictions\.fold/],
      [{ ...good, width: 0 }, /predictions\.width: expected an integer ≥ 1/],
      [{ ...good, width: 1.5 }, /predictions\.width/],
      [{ ...good, symbols: good.symbols.slice(1) }, /predictions\.symbols\.length: expected 4/],
      [{ ...good, values: [1, 2, 3] }, /predictions\.values\.length: expected 4 \(4 rows × width 1\), found 3/],
      [{ ...good, width: 2 }, /predictions\.values\.length: expected 8/],
      [{ ...good, values: [1, 2, Infinity, 4] }, /predictions\.values\[2\] \(row 2, column 0\)/],
      [{
        ...good,
        values: [1, 2, 3, 4, 5, -Infinity],
        dates: good.dates.slice(0, 3),
        symbols: good.symbols.slice(0, 3),
        width: 2,
      }, /predictions\.values\[5\] \(row 2, column 1\)/],
      [{ ...good, values: [1, "2", 3, 4] as unknown as number[] }, /predictions\.values\[1\]/],
      [{ ...good, values: null as unknown as number[] }, /predictions\.values/],
      [{ ...good, dates: ["2021-01-04", "2021-02-30", "2021-01-05", "2021-01-05"] }, /predictions\.dates\[1\]/],
      [{ ...good, dates: ["2021-01-04", "2021-01-04", "2021/01/05", "2021-01-05"] }, /predictions\.dates\[2\]/],
      [{ ...good, symbols: ["AAA", "BBB", "", "BBB"] }, /predictions\.symbols\[2\]/],
      [{ ...good, dates: "2021-01-04" as unknown as string[] }, /predictions\.dates/],
    ];
    for (const [record, message] of cases) {
      await assertRefusedUnchanged(store, () => store.appendPredictions(id, record), message);
    }
    await assertRefusedUnchanged(
      store,
      () => store.appendPredictions(id, samplePredictions(0, 2)),
      /already has predictions for fold 0/,
    );
    await assertRefusedUnchanged(
      store,
      () => store.appendPredictions("run_00000000000000000000000000", good),
      /unknown run id/,
    );
    await store.finishRun(id, { status: "succeeded" });
    await assertRefusedUnchanged(store, () => store.appendPredictions(id, good), /already succeeded/);
    const [stored] = await store.listPredictions([id]);
    assertSameNumbers(stored.values, samplePredictions(0).values, "the first record");
  });

  test("a 200,000-row prediction record round-trips exactly", async (store) => {
    const id = await store.createRun(sampleRun());
    const nDates = 500;
    const nSymbols = 400;
    const rows = nDates * nSymbols;
    const width = 2;
    const symbolNames = Array.from({ length: nSymbols }, (_, j) => `S${String(j).padStart(3, "0")}`);
    const firstDay = Date.UTC(2015, 0, 1) / 86_400_000;
    const dates = new Array<string>(rows);
    const symbols = new Array<string>(rows);
    const values = new Float64Array(rows * width);
    for (let i = 0; i < rows; i++) {
      // Symbol-major, as a panel is sorted: symbol j, date d.
      const j = Math.floor(i / nDates);
      const d = i % nDates;
      dates[i] = isoDay(firstDay + d);
      symbols[i] = symbolNames[j];
      values[2 * i] = i % 97 === 0 ? NaN : Math.sin(i) * 1e-3;
      values[2 * i + 1] = 1 / (i + 1);
    }
    await store.appendPredictions(id, { fold: 3, dates, symbols, values, width });
    const [got] = await store.listPredictions([id]);
    assert.equal(got.fold, 3);
    assert.equal(got.width, 2);
    assert.equal(got.dates.length, rows);
    for (let i = 0; i < rows; i++) {
      if (got.dates[i] !== dates[i] || got.symbols[i] !== symbols[i]) {
        assert.fail(`row ${i}: got (${got.dates[i]}, ${got.symbols[i]}), want (${dates[i]}, ${symbols[i]})`);
      }
    }
    assertSameNumbers(got.values, values, "values");
    assert.equal(got.dates[rows - 1], isoDay(firstDay + nDates - 1));
  });
}

// ---------------------------------------------------------------------------------------------------------------------
// Dashboard read queries (queryRuns, foldAggregates, listBacktestSummaries, listEquityCurves, changeToken). Expected
// pages are computed from the written inputs by plain filtering and sorting here, never captured from a backend.
// ---------------------------------------------------------------------------------------------------------------------

/** Every page of `query` walked with page size `first`, concatenated; checks the page invariants on the way. */
async function allPages(store: Store, query: RunQuery, first: number): Promise<{ ids: string[]; values: unknown[] }> {
  const ids: string[] = [];
  const values: unknown[] = [];
  let after: string | null = null;
  for (let guard = 0; guard < 100; guard++) {
    const page: RunPage = await store.queryRuns({ ...query, first, after });
    assert.equal(page.cursors.length, page.runs.length);
    assert.equal(page.sortValues.length, page.runs.length);
    assert.ok(page.runs.length <= first);
    ids.push(...page.runs.map((r) => r.id));
    values.push(...page.sortValues);
    if (!page.hasNextPage) return { ids, values };
    assert.equal(page.runs.length, first, "a page followed by more runs is full");
    after = page.cursors.at(-1)!;
  }
  throw new Error("pagination did not end");
}

/** Ids ordered by value (nulls last), ties by id, both in `direction`. */
function expectedOrder(rows: { id: string; value: number | null }[], direction: "asc" | "desc"): string[] {
  const sign = direction === "asc" ? 1 : -1;
  return [...rows].sort((a, b) => {
    if (a.value === null || b.value === null) {
      if (a.value !== b.value) return a.value === null ? 1 : -1;
    } else if (a.value !== b.value) return sign * (a.value - b.value);
    return sign * (a.id < b.id ? -1 : 1);
  }).map((r) => r.id);
}

/** Registers the dashboard read-query contract tests for one backend (called by {@link storeContractTests}). */
export function storeDashboardReadTests(backend: string, factory: StoreFactory): void {
  const test = (name: string, fn: (store: Store) => Promise<void>) =>
    Deno.test(`store contract (${backend}): ${name}`, async () => {
      const { store, cleanup } = await factory();
      try {
        await fn(store);
      } finally {
        await store.close();
        await cleanup?.();
      }
    });

  /**
   * Six runs with dyadic metric values (exact in binary, so sums and means are exact):
   * pooled accuracy, backtest sharpe, buy & hold sharpe and fold accuracies per run, some missing or NaN.
   */
  async function sixRuns(store: Store) {
    const spec = [
      {
        model: "xgboost",
        symbols: ["AAA", "BBB"],
        data: "prices/",
        pooled: 0.5625,
        sharpe: 0.5,
        bh: 0.25,
        folds: [0.5, 0.625],
      },
      {
        model: "lstm",
        symbols: ["CCC"],
        data: "prices/",
        pooled: NaN,
        sharpe: -0.25,
        bh: 0.25,
        folds: [0.5, NaN, 0.75],
      },
      {
        model: "xgboost",
        symbols: ["BBB"],
        data: "synthetic:planted",
        pooled: 0.5,
        sharpe: 1.5,
        bh: 0.75,
        folds: [0.5],
      },
      { model: "mlp", symbols: ["DDD"], data: "synthetic:planted", pooled: 0.5625, sharpe: null, bh: null, folds: [] },
      { model: "xgboost", symbols: ["AAA"], data: "prices/", pooled: null, sharpe: 0.5, bh: 0.5, folds: [0.75, 0.75] },
      {
        model: "lstm",
        symbols: ["EEE", "AAA"],
        data: "other.csv",
        pooled: 0.625,
        sharpe: 0.125,
        bh: 0.25,
        folds: [0.25],
      },
    ] as const;
    const runs = [];
    for (const [i, s] of spec.entries()) {
      const id = await store.createRun(sampleRun({ model: s.model, symbols: [...s.symbols], dataSource: s.data }));
      for (const [k, acc] of s.folds.entries()) {
        await store.appendFold(id, sampleFold(k, { metrics: { accuracy: acc }, baselines: { coinFlip: 0.5 } }));
      }
      if (s.sharpe !== null) {
        await store.putBacktest(id, sampleBacktest({ metrics: { sharpe: s.sharpe }, buyAndHold: { sharpe: s.bh! } }));
      }
      if (i === 1) await store.finishRun(id, { status: "failed", error: { message: "boom" } });
      else if (s.pooled !== null) {
        await store.finishRun(id, { status: "succeeded", summary: { pooled: { accuracy: s.pooled, n: 10 } } });
      } // run 4 stays running, without a summary
      const foldValues = s.folds.filter((x) => !Number.isNaN(x));
      runs.push({
        id,
        ...s,
        createdAt: (await store.getRun(id))!.createdAt,
        // What the store must read back: NaN and "not written" are both missing.
        pooledValue: i === 1 || s.pooled === null || Number.isNaN(s.pooled) ? null : s.pooled as number,
        foldMean: foldValues.length === 0 ? null : foldValues.reduce((a, b) => a + b, 0) / foldValues.length,
      });
    }
    return runs;
  }

  test("queryRuns: newest first by default, paged by cursor without gaps or repeats, with the total count", async (store) => {
    const runs = await sixRuns(store);
    const newest = (await store.listRuns()).map((r) => r.id);
    const page = await store.queryRuns();
    assert.deepStrictEqual(page.runs.map((r) => r.id), newest);
    assert.equal(page.totalCount, 6);
    assert.equal(page.hasNextPage, false);
    assert.deepStrictEqual(page.sortValues, page.runs.map((r) => r.createdAt));
    assert.deepStrictEqual(page.runs.find((r) => r.id === runs[0].id), (await store.getRuns([runs[0].id]))[0]);
    for (const first of [1, 2, 4, 6]) assert.deepStrictEqual((await allPages(store, {}, first)).ids, newest);
    const two = await store.queryRuns({ first: 2 });
    assert.equal(two.totalCount, 6);
    assert.equal(two.hasNextPage, true);
    // A run created after the first page was read does not shift the next one (keyset, not offset).
    await store.createRun(sampleRun());
    const next = await store.queryRuns({ first: 2, after: two.cursors[1] });
    assert.deepStrictEqual(next.runs.map((r) => r.id), newest.slice(2, 4));
    assert.equal(next.totalCount, 7);
    const oldest = await allPages(store, { order: { by: "createdAt", direction: "asc" } }, 3);
    assert.deepStrictEqual(oldest.ids.slice(0, 6), [...newest].reverse());
  });

  test("queryRuns: list filters keep runs matching any value; different filters must all hold", async (store) => {
    const runs = await sixRuns(store);
    const ids = async (q: RunQuery) => {
      const page = await store.queryRuns(q);
      assert.equal(page.totalCount, page.runs.length);
      return page.runs.map((r) => r.id).sort();
    };
    const want = (keep: (r: (typeof runs)[number], i: number) => boolean) => runs.filter(keep).map((r) => r.id).sort();
    assert.deepStrictEqual(await ids({ models: ["xgboost"] }), want((r) => r.model === "xgboost"));
    assert.deepStrictEqual(
      await ids({ models: ["lstm", "mlp"] }),
      want((r) => r.model === "lstm" || r.model === "mlp"),
    );
    assert.deepStrictEqual(
      await ids({ symbols: ["AAA"] }),
      want((r) => (r.symbols as readonly string[]).includes("AAA")),
    );
    assert.deepStrictEqual(
      await ids({ symbols: ["CCC", "DDD"] }),
      want((r) => r.symbols.some((s: string) => s === "CCC" || s === "DDD")),
    );
    assert.deepStrictEqual(await ids({ symbols: ["ZZZ"] }), []);
    assert.deepStrictEqual(await ids({ dataSources: ["prices/"] }), want((r) => r.data === "prices/"));
    assert.deepStrictEqual(await ids({ statuses: ["failed"] }), [runs[1].id]);
    assert.deepStrictEqual(await ids({ statuses: ["running", "failed"] }), [runs[1].id, runs[4].id].sort());
    assert.deepStrictEqual(
      await ids({ models: ["xgboost"], symbols: ["AAA"], dataSources: ["prices/"], statuses: ["succeeded"] }),
      [runs[0].id],
    );
    const from = runs[2].createdAt;
    const to = runs[4].createdAt;
    assert.deepStrictEqual(await ids({ createdFrom: from }), want((r) => r.createdAt >= from));
    assert.deepStrictEqual(await ids({ createdTo: to }), want((r) => r.createdAt < to));
    assert.deepStrictEqual(
      await ids({ createdFrom: from, createdTo: to }),
      want((r) => r.createdAt >= from && r.createdAt < to),
    );
    assert.deepStrictEqual(await ids({ models: [], symbols: [] }), want(() => true));
  });

  test("queryRuns: metric thresholds on every source; a missing or NaN metric never passes", async (store) => {
    const runs = await sixRuns(store);
    const ids = async (q: RunQuery) => (await store.queryRuns(q)).runs.map((r) => r.id).sort();
    const want = (keep: (r: (typeof runs)[number]) => boolean) => runs.filter(keep).map((r) => r.id).sort();
    const pooled = { source: "pooled", name: "accuracy" } as const;
    assert.deepStrictEqual(
      await ids({ metrics: [{ metric: pooled, min: 0.5625 }] }),
      want((r) => r.pooledValue !== null && r.pooledValue >= 0.5625),
    );
    assert.deepStrictEqual(
      await ids({ metrics: [{ metric: pooled, max: 0.5625 }] }),
      want((r) => r.pooledValue !== null && r.pooledValue <= 0.5625),
    );
    assert.deepStrictEqual(
      await ids({ metrics: [{ metric: { source: "backtest", name: "sharpe" }, min: 0, max: 0.5 }] }),
      want((r) => r.sharpe !== null && r.sharpe >= 0 && r.sharpe <= 0.5),
    );
    assert.deepStrictEqual(
      await ids({ metrics: [{ metric: { source: "buyAndHold", name: "sharpe" }, min: 0.5 }] }),
      want((r) => r.bh !== null && r.bh >= 0.5),
    );
    assert.deepStrictEqual(
      await ids({ metrics: [{ metric: { source: "foldMean", name: "accuracy" }, min: 0.5625 }] }),
      want((r) => r.foldMean !== null && r.foldMean >= 0.5625),
    );
    // Two thresholds at once, and a metric no run has.
    assert.deepStrictEqual(
      await ids({
        metrics: [{ metric: pooled, min: 0.5 }, { metric: { source: "backtest", name: "sharpe" }, min: 1 }],
      }),
      [runs[2].id],
    );
    assert.deepStrictEqual(await ids({ metrics: [{ metric: { source: "pooled", name: "nope" }, min: -1e9 }] }), []);
    // `n` is an integer in the summary: integers are numbers too.
    assert.equal((await ids({ metrics: [{ metric: { source: "pooled", name: "n" }, min: 10, max: 10 }] })).length, 4);
  });

  test("queryRuns: ordered by a stored metric, ties by id, missing values last in both directions", async (store) => {
    const runs = await sixRuns(store);
    const cases: [RunMetricRef, (r: (typeof runs)[number]) => number | null][] = [
      [{ source: "pooled", name: "accuracy" }, (r) => r.pooledValue],
      [{ source: "backtest", name: "sharpe" }, (r) => r.sharpe],
      [{ source: "buyAndHold", name: "sharpe" }, (r) => r.bh],
      [{ source: "foldMean", name: "accuracy" }, (r) => r.foldMean],
    ];
    for (const [metric, value] of cases) {
      for (const direction of ["desc", "asc"] as const) {
        const rows = runs.map((r) => ({ id: r.id, value: value(r) }));
        const expected = expectedOrder(rows, direction);
        const order = { by: metric, direction };
        const whole = await store.queryRuns({ order });
        const label = `${metric.source}.${metric.name} ${direction}`;
        assert.deepStrictEqual(whole.runs.map((r) => r.id), expected, label);
        assert.deepStrictEqual(whole.sortValues, expected.map((id) => rows.find((r) => r.id === id)!.value), label);
        for (const first of [1, 2, 5]) {
          assert.deepStrictEqual(
            (await allPages(store, { order }, first)).ids,
            expected,
            `${label}, pages of ${first}`,
          );
        }
      }
    }
    // Filters and order together: xgboost runs by fold mean, largest first.
    const xgb = runs.filter((r) => r.model === "xgboost").map((r) => ({ id: r.id, value: r.foldMean }));
    const page = await store.queryRuns({
      models: ["xgboost"],
      order: { by: { source: "foldMean", name: "accuracy" } },
      first: 2,
    });
    assert.deepStrictEqual(page.runs.map((r) => r.id), expectedOrder(xgb, "desc").slice(0, 2));
    assert.equal(page.totalCount, 3);
    assert.equal(page.hasNextPage, true);
    // Finished time: running runs (no finishedAt) last.
    const byFinish = await store.queryRuns({ order: { by: "finishedAt", direction: "asc" } });
    assert.equal(byFinish.runs.at(-1)!.id, runs[4].id);
    assert.equal(byFinish.sortValues.at(-1), null);
  });

  test("queryRuns: bad arguments and foreign cursors are refused with the field named", async (store) => {
    await sixRuns(store);
    const page = await store.queryRuns({ first: 1 });
    const refuse = async (q: RunQuery, message: RegExp) =>
      await assert.rejects(() => store.queryRuns(q), (e: unknown) => {
        assert.ok(e instanceof StoreError, String(e));
        assert.match((e as Error).message, message);
        return true;
      });
    await refuse({ first: 0 }, /first: expected 1 to 1000/);
    await refuse({ first: 1001 }, /first/);
    await refuse({ statuses: ["done" as RunStatus] }, /statuses/);
    await refuse({ order: { by: { source: "elsewhere" as never, name: "x" } } }, /order\.by\.source/);
    await refuse({ order: { by: { source: "pooled", name: "a'); DROP TABLE runs; --" } } }, /order\.by\.name/);
    await refuse({ metrics: [{ metric: { source: "pooled", name: "accuracy" } }] }, /metrics\[0\]: expected min, max/);
    await refuse({ metrics: [{ metric: { source: "pooled", name: "accuracy" }, min: NaN }] }, /metrics\[0\]\.min/);
    await refuse({ createdFrom: 1.5 }, /createdFrom/);
    await refuse({ after: "not a cursor!" }, /after/);
    await refuse({ after: "e30" }, /after/); // base64url of "{}"
    // A cursor of newest-first order is not a cursor of the Sharpe order.
    await refuse(
      { after: page.cursors[0], order: { by: { source: "backtest", name: "sharpe" } } },
      /after: expected a cursor of the order backtest\.sharpe:desc \(this one belongs to createdAt:desc\)/,
    );
    assert.equal((await store.listRuns({ limit: 1000 })).length, 6, "nothing was dropped");
  });

  test("foldAggregates: mean, sample std, min and max of each metric and baseline, NaN left out", async (store) => {
    const a = await store.createRun(sampleRun());
    const b = await store.createRun(sampleRun());
    const none = await store.createRun(sampleRun());
    await store.appendFold(a, sampleFold(0, { metrics: { accuracy: 0.5, ic: NaN }, baselines: { coinFlip: 0.5 } }));
    await store.appendFold(a, sampleFold(1, { metrics: { accuracy: 0.75, ic: 0.25 }, baselines: { coinFlip: 0.5 } }));
    await store.appendFold(
      a,
      sampleFold(2, { metrics: { accuracy: 0.625 }, baselines: { coinFlip: 0.5, prev: 0.25 } }),
    );
    await store.appendFold(b, sampleFold(0, { metrics: { ic: NaN }, baselines: {} }));
    const ghost = "run_00000000000000000000000000";
    const got = await store.foldAggregates([b, none, ghost, a]);
    const byRun = new Map(got.map((g) => [g.runId, g]));
    assert.deepStrictEqual([...byRun.keys()].sort(), [a, b].sort());
    // accuracy: 0.5, 0.75, 0.625 → mean 0.625, deviations −1/8, 1/8, 0 → sample variance (1/64 + 1/64) / 2 = 1/64.
    assert.deepStrictEqual(byRun.get(a), {
      runId: a,
      folds: 3,
      metrics: [
        { name: "accuracy", n: 3, mean: 0.625, std: 0.125, min: 0.5, max: 0.75 },
        { name: "ic", n: 1, mean: 0.25, std: null, min: 0.25, max: 0.25 },
      ],
      baselines: [
        { name: "coinFlip", n: 3, mean: 0.5, std: 0, min: 0.5, max: 0.5 },
        { name: "prev", n: 1, mean: 0.25, std: null, min: 0.25, max: 0.25 },
      ],
    });
    assert.deepStrictEqual(byRun.get(b), {
      runId: b,
      folds: 1,
      metrics: [{ name: "ic", n: 0, mean: null, std: null, min: null, max: null }],
      baselines: [],
    });
    assert.deepStrictEqual(await store.foldAggregates([]), []);
  });

  test("backtest summaries and equity curves read back what putBacktest wrote, apart", async (store) => {
    const a = await store.createRun(sampleRun());
    const b = await store.createRun(sampleRun());
    await store.createRun(sampleRun());
    await store.putBacktest(a, sampleBacktest());
    const noBh = sampleBacktest({
      equity: { dates: ["2022-03-01", "2022-03-02"], values: [1, 0.5], buyAndHold: null },
      details: null,
    });
    await store.putBacktest(b, noBh);
    const full = new Map((await store.listBacktests([a, b])).map((x) => [x.runId, x]));
    const summaries = await store.listBacktestSummaries([a, b, "run_00000000000000000000000000"]);
    assert.equal(summaries.length, 2);
    for (const s of summaries) {
      const { equity, ...rest } = full.get(s.runId)!;
      assert.deepStrictEqual(s, { ...rest, points: equity.dates.length, hasBuyAndHold: equity.buyAndHold !== null });
    }
    assert.equal(summaries.find((s) => s.runId === a)!.points, 3);
    assert.equal(summaries.find((s) => s.runId === b)!.hasBuyAndHold, false);
    const curves = await store.listEquityCurves([b, a]);
    assert.deepStrictEqual(
      new Map(curves.map((c) => [c.runId, c])),
      new Map([
        [a, {
          runId: a,
          dates: ["2021-01-04", "2021-01-05", "2021-01-06"],
          values: [1, 1.01, 0.995],
          buyAndHold: [1, 1.02, 1.03],
        }],
        [b, { runId: b, dates: ["2022-03-01", "2022-03-02"], values: [1, 0.5], buyAndHold: null }],
      ]),
    );
    assert.deepStrictEqual(await store.listBacktestSummaries([]), []);
    assert.deepStrictEqual(await store.listEquityCurves([]), []);
  });

  test("changeToken: stable while nothing is written, different after every committed write", async (store) => {
    const t0 = await store.changeToken();
    await store.listRuns();
    await store.queryRuns();
    assert.equal(await store.changeToken(), t0);
    const id = await store.createRun(sampleRun());
    const t1 = await store.changeToken();
    assert.notEqual(t1, t0);
    await store.appendFold(id, sampleFold(0));
    const t2 = await store.changeToken();
    assert.notEqual(t2, t1);
    await store.finishRun(id, { status: "succeeded" });
    const t3 = await store.changeToken();
    assert.notEqual(t3, t2);
    assert.equal(await store.changeToken(), t3);
    // A refused write commits nothing; the token may stay or change, but reads still agree with it afterwards.
    await assert.rejects(() => store.appendFold(id, sampleFold(1)), StoreError);
    const t4 = await store.changeToken();
    assert.equal(await store.changeToken(), t4);
  });

  // --- Idempotent fold writes (recordFold keyed by run and fold) ---

  /** One fold with a prediction record, two epochs and a diagnostic, all keyed to `index`. */
  const foldParts = (index: number): FoldParts => ({
    predictions: [samplePredictions(index)],
    epochs: [
      { fold: index, epoch: 0, trainLoss: 0.7, valLoss: 0.69 },
      { fold: index, epoch: 1, trainLoss: 0.68, valLoss: NaN },
    ],
    diagnostics: [{ fold: index, kind: "health", severity: "info", message: `fold ${index} healthy` }],
  });

  test("recordFold of a fold already stored writes nothing and answers duplicate, even once sealed", async (store) => {
    const id = await store.createRun(sampleRun());
    assert.equal(await store.recordFold(id, sampleFold(0), foldParts(0)), "written");
    const once = await snapshot(store);
    // A retried job: same fold, maybe different numbers (a rerun on another machine) — nothing is written.
    assert.equal(await store.recordFold(id, sampleFold(0, { metrics: { accuracy: 0.9 } }), foldParts(0)), "duplicate");
    // Without its parts too: the key alone decides.
    assert.equal(await store.recordFold(id, sampleFold(0)), "duplicate");
    assert.deepStrictEqual(await snapshot(store), once);
    const run = (await store.getRun(id))!;
    assert.deepStrictEqual(run.folds.map((f) => [f.index, f.metrics.accuracy]), [[0, 0.5125]]);
    assert.deepStrictEqual(run.epochs.map((e) => [e.fold, e.epoch]), [[0, 0], [0, 1]]);
    assert.ok(Number.isNaN(run.epochs[1].valLoss));
    assert.deepStrictEqual(run.diagnostics.map((d) => d.message), ["fold 0 healthy"]);
    assert.deepStrictEqual((await store.listPredictions([id])).map((p) => p.fold), [0]);
    // A fold without parts, then another fold.
    assert.equal(await store.recordFold(id, sampleFold(1, { nTest: 0 })), "written");
    assert.equal(await store.recordFold(id, sampleFold(2), foldParts(2)), "written");
    assert.deepStrictEqual((await store.listFolds([id])).map((f) => f.index), [0, 1, 2]);
    // Sealed since: a stored fold is still a duplicate (done), a new one is refused.
    await store.finishRun(id, { status: "failed", error: { message: "stopped", stage: "train", fold: 3 } });
    assert.equal(await store.recordFold(id, sampleFold(2), foldParts(2)), "duplicate");
    await assertRefusedUnchanged(store, () => store.recordFold(id, sampleFold(3), foldParts(3)), /already failed/);
    // A fold index stored in another run is no duplicate here.
    const other = await store.createRun(sampleRun());
    assert.equal(await store.recordFold(other, sampleFold(0), foldParts(0)), "written");
  });

  test("recordFold is all or nothing when it writes; an unknown run is refused", async (store) => {
    const id = await store.createRun(sampleRun());
    await store.appendEpochs(id, [{ fold: 4, epoch: 1, trainLoss: 1 }]);
    // Epoch 1 of fold 4 exists already (a part left by per-part writes): the fold, its predictions and diagnostics
    // must not be written either.
    await assertRefusedUnchanged(
      store,
      () => store.recordFold(id, sampleFold(4), { ...foldParts(4), epochs: [{ fold: 4, epoch: 1, trainLoss: 2 }] }),
      /recordFold: .*already has epoch 1/,
    );
    await assertRefusedUnchanged(
      store,
      () => store.recordFold("run_00000000000000000000000000", sampleFold(0), foldParts(0)),
      /unknown run id/,
    );
    assert.deepStrictEqual(await store.listFolds([id]), []);
  });

  test("recordFold: two writers racing on one fold store it once", async (store) => {
    const id = await store.createRun(sampleRun());
    const outcomes = await Promise.all([
      store.recordFold(id, sampleFold(0), foldParts(0)),
      store.recordFold(id, sampleFold(0, { metrics: { accuracy: 0.6 } }), foldParts(0)),
      store.recordFold(id, sampleFold(0, { metrics: { accuracy: 0.7 } }), foldParts(0)),
    ]);
    assert.deepStrictEqual([...outcomes].sort(), ["duplicate", "duplicate", "written"]);
    const run = (await store.getRun(id))!;
    assert.equal(run.folds.length, 1);
    assert.equal(run.epochs.length, 2);
    assert.equal(run.diagnostics.length, 1);
    assert.equal((await store.listPredictions([id])).length, 1);
  });
}
