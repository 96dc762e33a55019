/**
 * A stored run's predictions re-sized without retraining (`candor backtest --run`) and swept (`candor sweep`): the
 * sign re-backtest equals an independent implementation (the library's long-short panel backtest of the stored
 * predictions), re-sized backtests are added to the run with their sizing, sweeps count every trial on the same data
 * and target, and each row's deflated Sharpe ratio is the formula's with that count and the variance of every
 * counted trial's Sharpe ratio; the count grows across sweeps and the deflated Sharpe ratio falls with it.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import fc from "fast-check";
import { runStudy } from "../../lib/pipeline/study.ts";
import { openStore } from "../../lib/store/mod.ts";
import type { Store } from "../../lib/store/store.ts";
import { backtestPanel } from "../../lib/backtest/panel.ts";
import { deflatedSharpe } from "../../lib/metrics/sharpe.ts";
import { rebacktestRun } from "../../lib/production/rebacktest.ts";
import { parseSweepGrid, sweepRun } from "../../lib/production/sweep.ts";
import { deflatedSharpeOf, variance } from "../../lib/production/trials.ts";
import { ConfigError } from "../../lib/errors.ts";
import { candor } from "../_helpers/candor_cli.ts";

const DATA = { synthetic: { symbols: 5, days: 500, seed: 21 } };

async function withStudy(fn: (store: Store, runId: string, db: string, dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "candor-stored-run-" });
  const db = join(dir, "runs.db");
  const store = openStore(db);
  try {
    const r = await runStudy(
      { data: DATA, validation: { folds: 3 }, models: [{ name: "lin", kind: "logistic" }], backtest: { costBps: 5 } },
      { store },
    );
    await fn(store, r.report.entries[0].runId!, db, dir);
  } finally {
    await store.close();
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("backtest --run: the sign re-backtest equals the library's long-short backtest of the stored predictions; re-sized ones are added to the run", async () => {
  await withStudy(async (store, runId) => {
    const own = (await store.listBacktests([runId]))[0];
    const same = await rebacktestRun(store, runId, {}, { save: false });
    // Independent implementation: the library's equal-weight long-short book on the sign of P(up) − 0.5.
    const predictions = await store.listPredictions([runId], { split: "test" });
    const dates = predictions.flatMap((p) => p.dates), symbols = predictions.flatMap((p) => p.symbols);
    const values = predictions.flatMap((p) => p.values.map((v) => v - 0.5));
    const lib = backtestPanel({
      panel: same.stored.market.panel,
      forecasts: { dates, symbols, values },
      portfolio: "long-short",
      lag: 1,
      costBps: 5,
    });
    for (const k of ["sharpe", "totalReturn", "maxDrawdown", "turnover"] as const) {
      assert.ok(
        Math.abs(same.result.metrics[k] - lib.metrics[k]) < 1e-12,
        `${k}: ${same.result.metrics[k]} vs ${lib.metrics[k]}`,
      );
      assert.ok(Math.abs(own.metrics[k] - lib.metrics[k]) < 1e-12, `stored ${k}`);
    }
    assert.deepEqual(await store.listRunBacktests([runId]), [], "save: false stores nothing");
    // Re-sized with the seed-aapl hybrid and other costs: stored with the run, its sizing and the priors in details.
    const seed = await rebacktestRun(store, runId, { sizing: "seed-aapl", costBps: 10, lag: 2 });
    const [added] = await store.listRunBacktests([runId]);
    assert.equal(added.seq, seed.seq);
    assert.equal(added.lag, 2);
    assert.equal(added.costBps, 10);
    const details = added.details as { sizing: { preset: string }; rebacktestOf: string; winRatePriors: unknown[] };
    assert.equal(details.sizing.preset, "seed-aapl");
    assert.equal(details.rebacktestOf, runId);
    assert.equal(details.winRatePriors.length, 3);
    assert.equal(added.metrics.trials, 2, "the study entry and this backtest");
    // Buy & hold's deflated Sharpe under the same N and trial variance, from the formula's inputs by hand: the number
    // a long-biased book's deflated Sharpe is read beside (both test a Sharpe against zero).
    const bh = seed.result.buyAndHold.metrics;
    const expected = deflatedSharpe({
      sharpe: bh.sharpe / Math.sqrt(252),
      nTrials: 2,
      trialSharpeVariance: seed.deflation.trialSharpeVariance,
      nObs: bh.periods,
      skew: bh.skewness,
      kurtosis: bh.kurtosis,
    });
    assert.ok(Number.isFinite(expected));
    assert.ok(
      Math.abs(seed.buyAndHoldDeflatedSharpe - expected) < 1e-12,
      `${seed.buyAndHoldDeflatedSharpe} vs ${expected}`,
    );
    assert.deepEqual((await store.listBacktests([runId]))[0], own, "the run's own backtest is untouched");
    // Refusals: a rule the target cannot take, other price files, a run that does not exist.
    await assert.rejects(
      () => rebacktestRun(store, runId, { sizing: { kind: "hybrid", maxLong: 1, baseLongBias: 2 } }),
      (e) => e instanceof ConfigError && /backtest\.sizing\.baseLongBias/.test(e.message),
    );
    await assert.rejects(() => rebacktestRun(store, "run_nope", {}), /no run "run_nope" in this store/);
    assert.equal((await store.listRunBacktests([runId])).length, 1);
  });
});

Deno.test("sweep: every cell a trial counted with the registry; deflated Sharpe = the formula with that N and variance; N grows across sweeps and the DSR falls", async () => {
  await withStudy(async (store, runId, db, dir) => {
    const grid = parseSweepGrid({ costBps: [0, 10], lags: [1, 2], sizing: ["sign", "seed-aapl"], pboGroups: 8 });
    const first = await sweepRun(store, runId, grid, { outDir: join(dir, "sweeps") });
    assert.equal(first.rows.length, 8);
    assert.equal(first.deflation.trials, 1 + 8, "the study's entry and this sweep's cells");
    // Independent recomputation of one row's deflated Sharpe ratio from the stored trials.
    const allSharpes = [
      ...(await store.listBacktests([runId])).map((b) => b.metrics.sharpe / Math.sqrt(252)),
      ...first.rows.map((r) => r.metrics.sharpe / Math.sqrt(252)),
    ];
    const row = first.rows[0];
    const expected = deflatedSharpe({
      sharpe: row.metrics.sharpe / Math.sqrt(252),
      nTrials: 9,
      trialSharpeVariance: variance(allSharpes),
      nObs: row.metrics.periods,
      skew: row.metrics.skewness,
      kurtosis: row.metrics.kurtosis,
    });
    assert.ok(Math.abs(row.metrics.deflatedSharpe! - expected) < 1e-12, `${row.metrics.deflatedSharpe} vs ${expected}`);
    assert.equal(row.metrics.trials, 9);
    const stored = (await store.getSweep(first.id!))!;
    assert.equal(stored.trials.length, 8);
    assert.equal(stored.sweep.trialsBefore, 1);
    assert.equal(stored.trials[0].metrics.trials, 9);
    assert.match(first.dir!, /sweep-\d{8}T\d{6}\.\d{6}Z$/);
    const csv = await Deno.readTextFile(join(first.dir!, "rows.csv"));
    assert.equal(csv.trim().split("\n").length, 1 + 8);
    assert.match(await Deno.readTextFile(join(first.dir!, "sweep.json")), /trial registry's N = 9/);
    const pbo = first.pbo[0];
    assert.equal(pbo.cells, 8);
    assert.ok(pbo.pbo !== null && pbo.pbo >= 0 && pbo.pbo <= 1);
    // A second sweep counts the first: N = 1 + 8 + 8, and the same cell deflates more.
    const second = await sweepRun(store, runId, grid, { outDir: join(dir, "sweeps") });
    assert.equal(second.deflation.trials, 17);
    assert.equal((await store.getSweep(second.id!))!.sweep.trialsBefore, 9);
    assert.equal(second.rows[0].metrics.sharpe, row.metrics.sharpe);
    assert.ok(second.rows[0].metrics.deflatedSharpe! < row.metrics.deflatedSharpe!, "more trials, lower DSR");
    assert.notEqual(second.dir, first.dir);
    // A grid with an unknown key is refused (exit 2) before anything runs: nothing stored, nothing written.
    const bad = join(dir, "bad.yaml");
    await Deno.writeTextFile(bad, "costBps: [0]\nlag: [1]\n");
    const refused = await candor(["sweep", "--run", runId, "--grid", bad, "--db", db, "--out", join(dir, "sweeps")]);
    assert.equal(refused.code, 2, refused.stderr);
    assert.match(refused.stderr, /bad\.yaml: grid\.lag: unknown key \(did you mean "lags"\?\); allowed here: costBps/);
    assert.equal((await store.listSweeps()).length, 2);
    assert.equal([...Deno.readDirSync(join(dir, "sweeps"))].length, 2);
  });
});

Deno.test("sweep: yearly and rolling windows span the run's out-of-sample dates, not the training-only start of the files", async () => {
  await withStudy(async (store, runId) => {
    const predicted = [...new Set((await store.listPredictions([runId], { split: "test" })).flatMap((p) => p.dates))]
      .sort();
    const yearly = await sweepRun(store, runId, parseSweepGrid({ windows: "yearly" }), { save: false });
    const starts = yearly.rows.map((r) => r.windowStart).sort();
    assert.equal(starts[0], predicted[0], "the first window starts at the first prediction");
    assert.equal(yearly.rows.map((r) => r.windowEnd).sort().at(-1), predicted.at(-1));
    const years = new Set(predicted.map((d) => d.slice(0, 4)));
    assert.equal(yearly.rows.length, years.size, "one window per calendar year that holds a prediction");
  });
});

Deno.test("the deflated Sharpe ratio falls as the number of trials grows (same Sharpe, variance, moments)", () => {
  fc.assert(
    fc.property(
      fc.double({ min: 0.2, max: 4, noNaN: true }),
      fc.double({ min: 1e-5, max: 1e-2, noNaN: true }),
      fc.integer({ min: 1, max: 500 }),
      fc.integer({ min: 1, max: 500 }),
      (sharpe, v, n, extra) => {
        const m = { sharpe, periods: 500, skewness: 0, kurtosis: 3 };
        const counted = { runs: n, runBacktests: 0, sweepTrials: 0, retired: 0 };
        const a = deflatedSharpeOf(m, 252, { trials: n, counted, trialSharpeVariance: v });
        const b = deflatedSharpeOf(m, 252, { trials: n + extra, counted, trialSharpeVariance: v });
        return b < a || (a === 1 && b === 1) || (a === 0 && b === 0);
      },
    ),
  );
});
