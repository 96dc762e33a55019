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
import type { BacktestRecord, EpochRecord, FoldRecord, NewRun, Run, RunSummary, Store } from "../../lib/store/store.ts";
import { isRunId } from "../../lib/store/run_id.ts";

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
async function snapshot(store: Store): Promise<{ runs: RunSummary[]; full: (Run | undefined)[] }> {
  const runs = await store.listRuns({ limit: 1000 });
  const full = [];
  for (const r of runs) full.push(await store.getRun(r.id));
  return { runs, full };
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
}
