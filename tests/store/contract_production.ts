/**
 * The Store contract for production records (schema version 4): models, production predictions, backtests added to
 * runs, sweeps and the trial registry. Registered by `storeContractTests` for every backend. Expectations come from
 * the contract (lib/store/production.ts); refused writes are checked to change nothing visible through the API.
 */

import assert from "node:assert/strict";
import { StoreError } from "../../lib/errors.ts";
import type { NewModel, NewProductionPredictions, NewSweep, NewTrial, Store } from "../../lib/store/mod.ts";
import { isModelId, newModelId } from "../../lib/store/mod.ts";
import { sampleBacktest, sampleFold, sampleRun, sampleStudy } from "./contract.ts";

/** A model record with every field set. */
export function sampleModel(overrides: Partial<NewModel> = {}): NewModel {
  const id = overrides.id ?? newModelId();
  return {
    id,
    name: "gbm",
    kind: "xgboost",
    path: `data/models/${id}`,
    studyId: null,
    runId: null,
    config: { target: { kind: "direction", horizon: 1 }, backtest: { sizing: { kind: "sign" } } },
    features: ["ret_1", "ret_5", "driver"],
    dataFingerprint: "sha256:aa",
    dataSource: "prices/",
    version: "0.3.0",
    targetKind: "direction",
    horizon: 1,
    trainedFrom: "2015-01-02",
    trainedTo: "2020-12-30",
    lastPriceDate: "2020-12-31",
    symbols: ["AAA", "BBB"],
    gate: { passed: true, wfe: 0.8, threshold: 0.5, reason: "edge" },
    skipGate: false,
    summary: { winRatePrior: 0.55, components: ["gbm"] },
    ...overrides,
  };
}

function sampleBatch(modelId: string, overrides: Partial<NewProductionPredictions> = {}): NewProductionPredictions {
  return {
    modelId,
    asOf: "2021-01-04",
    dataFingerprint: "sha256:bb",
    dataSource: "prices/",
    rows: [
      { symbol: "BBB", date: "2021-01-04", score: 0.56, confidence: 0.56, position: 1, weight: 0.5, warnings: [] },
      {
        symbol: "AAA",
        date: "2020-12-31",
        score: NaN,
        confidence: NaN,
        position: NaN,
        weight: NaN,
        warnings: ["stale data: last price 2020-12-31"],
      },
    ],
    details: { score: "P(up)", confidence: "probability of the called side" },
    ...overrides,
  };
}

function sampleTrial(cell: number, sharpe: number): NewTrial {
  return {
    cell,
    symbol: cell % 2 === 0 ? "portfolio" : "AAA",
    windowStart: "2020-01-02",
    windowEnd: "2020-12-31",
    costBps: 5 * cell,
    slippageBps: 0,
    lag: 1,
    sizing: "sign()",
    annualization: 252,
    metrics: { sharpe, deflatedSharpe: NaN, trials: 3 },
    buyAndHold: { sharpe: 0.4 },
  };
}

export function sampleSweep(overrides: Partial<NewSweep> = {}): NewSweep {
  return {
    runId: null,
    key: { dataFingerprint: "sha256:aa", targetKind: "direction", horizon: 1 },
    grid: { costBps: [0, 5, 10] },
    options: { borrowBps: 0, annualization: 252 },
    dir: "data/sweeps/sweep-20210104T000000.000001Z",
    summary: { pbo: { value: 0.25, groups: 4 } },
    trialsBefore: 2,
    trials: [sampleTrial(0, 1.2), sampleTrial(1, 0.3), sampleTrial(2, NaN)],
    ...overrides,
  };
}

/** Everything production the API can see (for before/after comparisons). */
async function productionSnapshot(store: Store, runIds: string[]) {
  const models = await store.listModels({ limit: 1000 });
  const batches = await store.listProductionPredictions(models.map((m) => m.id));
  const runBacktests = await store.listRunBacktests(runIds);
  const sweeps = await store.listSweeps({ limit: 1000 });
  const full = [];
  for (const s of sweeps) full.push(await store.getSweep(s.id));
  const runs = await store.getRuns(runIds);
  const backtests = await store.listBacktests(runIds);
  return { models, batches, runBacktests, sweeps, full, runs, backtests };
}

async function refusedUnchanged(store: Store, runIds: string[], write: () => Promise<unknown>, message: RegExp) {
  const before = await productionSnapshot(store, runIds);
  await assert.rejects(write, (e: unknown) => {
    assert.ok(e instanceof StoreError, `expected a StoreError, got ${e}`);
    assert.match((e as Error).message, message);
    return true;
  });
  assert.deepStrictEqual(await productionSnapshot(store, runIds), before);
}

/** A succeeded run of a study on `fingerprint` with target (kind, horizon), with a backtest of the given Sharpe. */
export async function finishedRun(
  store: Store,
  fingerprint: string,
  target: { kind: string; horizon: number },
  sharpe: number,
): Promise<string> {
  const config = { target, validation: { scheme: "anchored" } };
  const studyId = await store.createStudy(
    sampleStudy({ config, dataFingerprint: fingerprint, entries: [{ name: "gbm", kind: "xgboost" }] }),
  );
  const runId = await store.createRun(
    sampleRun({ config: { ...config, entry: { name: "gbm" } }, studyId, entry: "gbm", dataFingerprint: fingerprint }),
  );
  await store.appendFold(runId, sampleFold(0));
  await store.putBacktest(runId, sampleBacktest({ metrics: { sharpe } }));
  await store.finishRun(runId, { status: "succeeded", summary: {} });
  await store.finishStudy(studyId, { status: "succeeded" });
  return runId;
}

/** Registers the production contract tests with the backend's `test` helper. */
export function productionContractTests(test: (name: string, fn: (store: Store) => Promise<void>) => void): void {
  test("registerModel round-trips every field; newest first; unknown ids ignored", async (store) => {
    const before = Date.now();
    const a = sampleModel();
    const idA = await store.registerModel(a);
    assert.equal(idA, a.id);
    assert.ok(isModelId(idA));
    const b = sampleModel({ name: "mlp", kind: "mlp", skipGate: true, studyId: null, summary: null });
    await store.registerModel(b);
    const [got] = await store.getModels([idA, "model_nope"]);
    const { createdAt, ...rest } = got;
    assert.ok(createdAt >= before && createdAt <= Date.now());
    assert.deepStrictEqual(rest, { ...a, studyId: null, runId: null });
    const listed = await store.listModels();
    assert.deepStrictEqual(listed.map((m) => m.id), [b.id, a.id]);
    assert.equal(listed[0].skipGate, true);
    assert.equal(listed[0].summary, null);
    assert.deepStrictEqual((await store.listModels({ limit: 1, offset: 1 })).map((m) => m.id), [a.id]);
    assert.deepStrictEqual(await store.getModels([]), []);
  });

  test("registerModel keeps its study and run; refuses duplicates and bad records, writing nothing", async (store) => {
    const runId = await finishedRun(store, "sha256:aa", { kind: "direction", horizon: 1 }, 1);
    const [run] = await store.getRuns([runId]);
    const m = sampleModel({ studyId: run.studyId, runId });
    await store.registerModel(m);
    const [got] = await store.getModels([m.id]);
    assert.equal(got.studyId, run.studyId);
    assert.equal(got.runId, runId);
    await refusedUnchanged(store, [runId], () => store.registerModel(m), /already registered/);
    for (
      const [bad, message] of [
        [{ id: "run_01" }, /model\.id/],
        [{ horizon: 0 }, /model\.horizon/],
        [{ trainedTo: "2014-01-01" }, /model\.trainedTo/],
        [{ lastPriceDate: "2020-01-01" }, /model\.lastPriceDate/],
        [{ features: ["a", "a"] }, /model\.features\[1\]/],
        [{ skipGate: "no" as unknown as boolean }, /model\.skipGate/],
        [{ gate: null as unknown as Record<string, unknown> }, /model\.gate/],
        [{ trainedFrom: "2020-13-01" }, /model\.trainedFrom/],
      ] as [Partial<NewModel>, RegExp][]
    ) {
      await refusedUnchanged(store, [runId], () => store.registerModel(sampleModel(bad)), message);
    }
  });

  test("production predictions round-trip per batch, NaN kept, rows in order", async (store) => {
    const m = sampleModel();
    await store.registerModel(m);
    const other = sampleModel();
    await store.registerModel(other);
    const first = await store.appendProductionPredictions(sampleBatch(m.id));
    const second = await store.appendProductionPredictions(sampleBatch(m.id, { asOf: "2021-01-05", details: null }));
    await store.appendProductionPredictions(sampleBatch(other.id));
    const batches = await store.listProductionPredictions([m.id]);
    assert.deepStrictEqual(batches.map((b) => b.id), [first, second]);
    const { id: _i, createdAt: _c, ...rest } = batches[0];
    assert.deepStrictEqual(rest, sampleBatch(m.id));
    assert.equal(batches[1].details, null);
    assert.ok(Number.isNaN(batches[0].rows[1].score));
    assert.deepStrictEqual(batches[0].rows.map((r) => r.symbol), ["BBB", "AAA"]);
    assert.equal((await store.listProductionPredictions([m.id, other.id])).length, 3);
    assert.deepStrictEqual(await store.listProductionPredictions(["model_nope"]), []);
  });

  test("listProductionPredictions with last reads each model's newest batches only, still oldest first", async (store) => {
    const a = sampleModel();
    const b = sampleModel();
    await store.registerModel(a);
    await store.registerModel(b);
    const aIds = [];
    for (const asOf of ["2021-01-04", "2021-01-05", "2021-01-06"]) {
      aIds.push(await store.appendProductionPredictions(sampleBatch(a.id, { asOf })));
    }
    const bOnly = await store.appendProductionPredictions(sampleBatch(b.id));
    const newest = await store.listProductionPredictions([a.id, b.id], { last: 1 });
    assert.deepStrictEqual(newest.map((x) => x.id).sort(), [aIds[2], bOnly].sort());
    assert.deepStrictEqual(newest.find((x) => x.modelId === a.id)!.rows.map((r) => r.symbol), ["BBB", "AAA"]);
    assert.deepStrictEqual((await store.listProductionPredictions([a.id], { last: 2 })).map((x) => x.asOf), [
      "2021-01-05",
      "2021-01-06",
    ]);
    assert.deepStrictEqual(
      (await store.listProductionPredictions([a.id], { last: 10 })).map((x) => x.id),
      aIds,
    );
    for (const last of [0, -1, 1.5, NaN]) {
      await assert.rejects(
        () => store.listProductionPredictions([a.id], { last }),
        (e: unknown) => e instanceof StoreError && /last must be a positive integer/.test((e as Error).message),
      );
    }
  });

  test("appendProductionPredictions refuses unknown models and bad rows, writing nothing", async (store) => {
    const m = sampleModel();
    await store.registerModel(m);
    const row = sampleBatch(m.id).rows[0];
    for (
      const [batch, message] of [
        [sampleBatch(newModelId()), /unknown model id/],
        [sampleBatch(m.id, { rows: [] }), /predictions\.rows/],
        [sampleBatch(m.id, { rows: [row, row] }), /predictions\.rows\[1\]\.symbol/],
        [sampleBatch(m.id, { rows: [{ ...row, score: Infinity }] }), /predictions\.rows\[0\]\.score/],
        [sampleBatch(m.id, { rows: [{ ...row, date: "4 Jan" }] }), /predictions\.rows\[0\]\.date/],
        [sampleBatch(m.id, { asOf: "" }), /predictions\.asOf/],
      ] as [NewProductionPredictions, RegExp][]
    ) {
      await refusedUnchanged(store, [], () => store.appendProductionPredictions(batch), message);
    }
  });

  test("addRunBacktest adds to a sealed run, in order, and never touches its own backtest", async (store) => {
    const runId = await finishedRun(store, "sha256:aa", { kind: "direction", horizon: 1 }, 1);
    const own = await store.listBacktests([runId]);
    const a = sampleBacktest({ details: { sizing: { kind: "hybrid" } }, metrics: { sharpe: 0.4 } });
    const b = sampleBacktest({ lag: 2, details: { sizing: { kind: "sign" } } });
    const seqA = await store.addRunBacktest(runId, a);
    const seqB = await store.addRunBacktest(runId, b);
    assert.ok(seqB > seqA);
    const added = await store.listRunBacktests([runId, "run_nope"]);
    assert.deepStrictEqual(added.map((x) => x.seq), [seqA, seqB]);
    const { seq: _s, createdAt: _c, runId: r, ...rest } = added[0];
    assert.equal(r, runId);
    assert.deepStrictEqual(rest, {
      ...a,
      equity: {
        dates: a.equity.dates,
        values: Array.from(a.equity.values),
        buyAndHold: Array.from(a.equity.buyAndHold!),
      },
    });
    assert.equal(added[1].lag, 2);
    assert.deepStrictEqual(await store.listBacktests([runId]), own);
    await refusedUnchanged(store, [runId], () => store.addRunBacktest("run_nope", a), /unknown run id/);
    await refusedUnchanged(store, [runId], () => store.addRunBacktest(runId, { ...a, lag: -1 }), /backtest\.lag/);
  });

  test("createSweep stores the sweep and its trials in one piece; bad trials write nothing", async (store) => {
    const runId = await finishedRun(store, "sha256:aa", { kind: "direction", horizon: 1 }, 1);
    const input = sampleSweep({ runId });
    const id = await store.createSweep(input);
    const got = await store.getSweep(id);
    assert.ok(got !== undefined);
    const { id: gotId, createdAt: _c, cells, ...sweep } = got.sweep;
    assert.equal(gotId, id);
    assert.equal(cells, 3);
    const { trials, ...expected } = input;
    assert.deepStrictEqual(sweep, expected);
    assert.deepStrictEqual(got.trials.map(({ sweepId: _s, ...t }) => t), trials);
    assert.ok(Number.isNaN(got.trials[2].metrics.sharpe));
    assert.deepStrictEqual((await store.listSweeps()).map((s) => s.id), [id]);
    assert.equal(await store.getSweep("sweep_nope"), undefined);
    const t = sampleTrial(0, 1);
    for (
      const [bad, message] of [
        [{ trials: [] }, /sweep\.trials/],
        [{ trials: [t, t] }, /sweep\.trials\[1\]\.cell/],
        [{ trials: [{ ...t, costBps: -1 }] }, /sweep\.trials\[0\]\.costBps/],
        [{ trials: [{ ...t, metrics: { sharpe: Infinity } }] }, /sweep\.trials\[0\]\.metrics\.sharpe/],
        [{ key: { dataFingerprint: "x", targetKind: "direction", horizon: 0 } }, /sweep\.key\.horizon/],
        [{ runId: "run_nope" }, /unknown run id/],
      ] as [Partial<NewSweep>, RegExp][]
    ) {
      await refusedUnchanged(store, [runId], () => store.createSweep(sampleSweep(bad)), message);
    }
  });

  test("getSweeps and listTrials read any number of sweeps and their trials in one call each", async (store) => {
    const a = await store.createSweep(sampleSweep());
    const b = await store.createSweep(
      sampleSweep({ trials: [sampleTrial(0, 2), sampleTrial(1, -1)], trialsBefore: 5 }),
    );
    assert.deepStrictEqual(await store.getSweeps([]), []);
    assert.deepStrictEqual(await store.listTrials([]), []);
    const sweeps = await store.getSweeps([b, "sweep_nope", a]);
    assert.deepStrictEqual(sweeps.map((s) => s.id).sort(), [a, b].sort());
    const full = { a: (await store.getSweep(a))!, b: (await store.getSweep(b))! };
    assert.deepStrictEqual(sweeps.find((s) => s.id === b), full.b.sweep);
    assert.deepStrictEqual(sweeps.find((s) => s.id === a), full.a.sweep);
    const trials = await store.listTrials([b, a, "sweep_nope"]);
    // Grouped by sweep, each sweep's by cell, and the same records getSweep returns.
    assert.deepStrictEqual(trials.filter((t) => t.sweepId === a), full.a.trials);
    assert.deepStrictEqual(trials.filter((t) => t.sweepId === b), full.b.trials);
    assert.deepStrictEqual(trials.filter((t) => t.sweepId === b).map((t) => t.metrics.sharpe), [2, -1]);
    assert.equal(trials.length, 5);
    const firstOfB = trials.findIndex((t) => t.sweepId === b);
    assert.ok(trials.slice(firstOfB, firstOfB + 2).every((t) => t.sweepId === b), "one sweep's trials are adjacent");
  });

  test("listTrials pages each sweep's trials by cell or by a metric, undefined values last, ties by cell", async (store) => {
    // Sharpe by cell: a = [1.2, 0.3, NaN], b = [0.3, NaN, 2, 0.3].
    const a = await store.createSweep(sampleSweep());
    const b = await store.createSweep(sampleSweep({
      trials: [sampleTrial(0, 0.3), sampleTrial(1, NaN), sampleTrial(2, 2), sampleTrial(3, 0.3)],
    }));
    const cells = async (options: Parameters<Store["listTrials"]>[1]) => {
      const got = await store.listTrials([a, b], options);
      return {
        a: got.filter((t) => t.sweepId === a).map((t) => t.cell),
        b: got.filter((t) => t.sweepId === b).map((t) => t.cell),
      };
    };
    assert.deepStrictEqual(await cells({}), { a: [0, 1, 2], b: [0, 1, 2, 3] });
    assert.deepStrictEqual(await cells({ limit: 2 }), { a: [0, 1], b: [0, 1] });
    assert.deepStrictEqual(await cells({ offset: 2, limit: 5 }), { a: [2], b: [2, 3] });
    const bySharpe = (direction: "asc" | "desc") => ({ orderBy: { metric: "sharpe", direction } });
    assert.deepStrictEqual(await cells(bySharpe("desc")), { a: [0, 1, 2], b: [2, 0, 3, 1] });
    assert.deepStrictEqual(await cells(bySharpe("asc")), { a: [1, 0, 2], b: [0, 3, 2, 1] });
    assert.deepStrictEqual(await cells({ ...bySharpe("desc"), offset: 1, limit: 2 }), { a: [1, 2], b: [0, 3] });
    // A metric no trial has orders by cell (every value undefined).
    assert.deepStrictEqual(await cells({ orderBy: { metric: "absent", direction: "desc" } }), {
      a: [0, 1, 2],
      b: [0, 1, 2, 3],
    });
    // The page holds the same records as the whole list.
    const whole = await store.listTrials([b]);
    assert.deepStrictEqual(await store.listTrials([b], { ...bySharpe("desc"), limit: 1 }), [whole[2]]);
    for (
      const [options, message] of [
        [{ limit: 0 }, /limit must be a positive integer/],
        [{ offset: -1 }, /offset must be a non-negative integer/],
        [{ orderBy: { metric: "sharpe') OR 1=1 --", direction: "desc" } }, /orderBy\.metric must be a metric name/],
        [{ orderBy: { metric: "sharpe", direction: "down" } }, /orderBy\.direction must be asc or desc/],
      ] as [Parameters<Store["listTrials"]>[1], RegExp][]
    ) {
      await assert.rejects(() => store.listTrials([a], options), (e: unknown) => {
        assert.ok(e instanceof StoreError);
        assert.match((e as Error).message, message);
        return true;
      });
    }
  });

  test("countTrials counts succeeded runs, their added backtests and sweep cells on the same data and target", async (store) => {
    const key = { dataFingerprint: "sha256:aa", targetKind: "direction", horizon: 1 };
    assert.deepStrictEqual(await store.countTrials(key), {
      runs: 0,
      runBacktests: 0,
      sweepTrials: 0,
      retired: 0,
      total: 0,
      sharpes: [],
    });
    const r1 = await finishedRun(store, "sha256:aa", { kind: "direction", horizon: 1 }, 0.252 * Math.sqrt(252));
    await finishedRun(store, "sha256:aa", { kind: "direction", horizon: 5 }, 1); // another horizon
    await finishedRun(store, "sha256:other", { kind: "direction", horizon: 1 }, 1); // other data
    await finishedRun(store, "sha256:aa", { kind: "return", horizon: 1 }, 1); // another target
    // A running run is not (yet) a trial.
    const studyId = await store.createStudy(sampleStudy({ config: { target: { kind: "direction", horizon: 1 } } }));
    await store.createRun(sampleRun({
      config: { target: { kind: "direction", horizon: 1 } },
      studyId,
      entry: "gbm",
      dataFingerprint: "sha256:aa",
    }));
    await store.addRunBacktest(r1, sampleBacktest({ metrics: { sharpe: NaN } }));
    await store.createSweep(sampleSweep());
    await store.createSweep(sampleSweep({ key: { ...key, horizon: 5 } }));
    const count = await store.countTrials(key);
    assert.equal(count.runs, 1);
    assert.equal(count.runBacktests, 1);
    assert.equal(count.sweepTrials, 3);
    assert.equal(count.total, 5);
    // Per-period Sharpe ratios of the trials whose Sharpe is defined: the run (0.252), sweep cells 1.2 and 0.3.
    const want = [0.252, 1.2 / Math.sqrt(252), 0.3 / Math.sqrt(252)].sort();
    const got = [...count.sharpes].sort();
    assert.equal(got.length, want.length);
    got.forEach((s, i) => assert.ok(Math.abs(s - want[i]) < 1e-12, `${s} vs ${want[i]}`));
  });

  test("deleteRun and deleteStudy keep every trial counted: N and the trial Sharpe ratios do not change", async (store) => {
    const key = { dataFingerprint: "sha256:aa", targetKind: "direction", horizon: 1 };
    const annual = Math.sqrt(252);
    // Study A: r1 (per-period Sharpe 0.252) with two added backtests (0.1, and an undefined Sharpe), swept.
    const r1 = await finishedRun(store, "sha256:aa", { kind: "direction", horizon: 1 }, 0.252 * annual);
    await store.addRunBacktest(r1, sampleBacktest({ metrics: { sharpe: 0.1 * annual } }));
    await store.addRunBacktest(r1, sampleBacktest({ metrics: { sharpe: NaN } }));
    const sweepId = await store.createSweep(sampleSweep({ runId: r1 })); // cells 1.2, 0.3, undefined
    // Study B: r2 (a trial whose Sharpe is undefined) with one added backtest (-0.05), and a failed run on the same
    // data and target, which is no trial (its backtest's Sharpe of 5 must never be counted).
    const config = { target: { kind: "direction", horizon: 1 }, validation: { scheme: "anchored" } };
    const studyB = await store.createStudy(sampleStudy({ config, dataFingerprint: "sha256:aa" }));
    const r2 = await store.createRun(
      sampleRun({
        config: { ...config, entry: { name: "gbm" } },
        studyId: studyB,
        entry: "gbm",
        dataFingerprint: "sha256:aa",
      }),
    );
    await store.putBacktest(r2, sampleBacktest({ metrics: { sharpe: NaN } }));
    await store.finishRun(r2, { status: "succeeded", summary: {} });
    await store.addRunBacktest(r2, sampleBacktest({ metrics: { sharpe: -0.05 * annual } }));
    const failed = await store.createRun(
      sampleRun({
        config: { ...config, entry: { name: "mlp" } },
        studyId: studyB,
        entry: "mlp",
        dataFingerprint: "sha256:aa",
      }),
    );
    await store.putBacktest(failed, sampleBacktest({ metrics: { sharpe: 5 * annual } }));
    await store.finishRun(failed, { status: "failed", error: { message: "diverged" } });
    await store.finishStudy(studyB, { status: "succeeded" });
    // Study C: another horizon, counted under its own key only.
    const h5 = { ...key, horizon: 5 };
    const r5 = await finishedRun(store, "sha256:aa", { kind: "direction", horizon: 5 }, 1 * annual);
    const studyC = (await store.getRuns([r5]))[0].studyId!;

    const close = (got: number[], want: number[]) => {
      const g = [...got].sort((a, b) => a - b), w = [...want].sort((a, b) => a - b);
      assert.equal(g.length, w.length, `${g} vs ${w}`);
      g.forEach((s, i) => assert.ok(Math.abs(s - w[i]) < 1e-12, `${s} vs ${w[i]}`));
    };
    const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);
    const before = await store.countTrials(key);
    assert.deepStrictEqual(
      [before.runs, before.runBacktests, before.sweepTrials, before.retired, before.total],
      [2, 3, 3, 0, 8],
    );
    close(before.sharpes, [0.252, 0.1, -0.05, 1.2 / annual, 0.3 / annual]);

    await store.deleteRun(r1);
    const afterRun = await store.countTrials(key);
    // r1 and its two added backtests are retired; the sweep's cells stay live (the sweep outlives its run).
    assert.deepStrictEqual(
      [afterRun.runs, afterRun.runBacktests, afterRun.sweepTrials, afterRun.retired, afterRun.total],
      [1, 1, 3, 3, 8],
    );
    assert.deepStrictEqual(sorted(afterRun.sharpes), sorted(before.sharpes));
    const swept = await store.getSweep(sweepId);
    assert.equal(swept?.sweep.runId, null);
    assert.equal(swept?.trials.length, 3);

    await store.deleteStudy(studyB);
    const afterStudy = await store.countTrials(key);
    // r2 and its added backtest are retired; the failed run is not a trial and adds nothing.
    assert.deepStrictEqual(
      [afterStudy.runs, afterStudy.runBacktests, afterStudy.sweepTrials, afterStudy.retired, afterStudy.total],
      [0, 0, 3, 5, 8],
    );
    assert.deepStrictEqual(sorted(afterStudy.sharpes), sorted(before.sharpes));
    assert.deepStrictEqual(await store.getRuns([r1, r2, failed]), []);

    // The other key's trial moves from live to retired, and nothing of it reaches the first key.
    const h5Before = await store.countTrials(h5);
    assert.deepStrictEqual([h5Before.runs, h5Before.retired, h5Before.total], [1, 0, 1]);
    await store.deleteStudy(studyC);
    const h5After = await store.countTrials(h5);
    assert.deepStrictEqual(
      [h5After.runs, h5After.runBacktests, h5After.sweepTrials, h5After.retired, h5After.total],
      [0, 0, 0, 1, 1],
    );
    assert.deepStrictEqual(h5After.sharpes, h5Before.sharpes);
    close(h5After.sharpes, [1]);
    assert.deepStrictEqual(await store.countTrials(key), afterStudy);
  });

  test("a refused delete retires nothing", async (store) => {
    const key = { dataFingerprint: "sha256:aa", targetKind: "direction", horizon: 1 };
    const config = { target: { kind: "direction", horizon: 1 }, validation: { scheme: "anchored" } };
    const studyId = await store.createStudy(sampleStudy({ config, dataFingerprint: "sha256:aa" }));
    const done = await store.createRun(
      sampleRun({ config: { ...config, entry: { name: "gbm" } }, studyId, entry: "gbm", dataFingerprint: "sha256:aa" }),
    );
    await store.putBacktest(done, sampleBacktest({ metrics: { sharpe: 0.252 * Math.sqrt(252) } }));
    await store.finishRun(done, { status: "succeeded", summary: {} });
    await store.createRun(
      sampleRun({ config: { ...config, entry: { name: "mlp" } }, studyId, entry: "mlp", dataFingerprint: "sha256:aa" }),
    );
    const before = await store.countTrials(key);
    assert.deepStrictEqual([before.runs, before.retired, before.total], [1, 0, 1]);
    await assert.rejects(() => store.deleteStudy(studyId), (e: unknown) => {
      assert.ok(e instanceof StoreError);
      assert.match((e as Error).message, new RegExp(`^deleteStudy: study ${studyId} is running`));
      return true;
    });
    assert.deepStrictEqual(await store.countTrials(key), before);
  });
}
