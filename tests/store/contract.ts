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
  FoldRecord,
  NewRun,
  NewStudy,
  PredictionRecord,
  Run,
  RunSummary,
  Store,
  StoredPredictions,
  Study,
  StudySummary,
} from "../../lib/store/store.ts";
import { isRunId, isStudyId } from "../../lib/store/run_id.ts";

/** A fresh, empty store and how to dispose of it. */
export interface StoreFixture {
  store: Store;
  cleanup?: () => Promise<void> | void;
}

/** Opens a fresh, empty store. */
export type StoreFactory = () => Promise<StoreFixture>;

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
