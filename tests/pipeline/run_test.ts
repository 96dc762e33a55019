import assert from "node:assert/strict";
import { join } from "node:path";
import pl from "nodejs-polars";
import { runPipeline } from "../../lib/pipeline/run.ts";
import { openStore } from "../../lib/store/mod.ts";
import type { StoredFold } from "../../lib/store/store.ts";
import { syntheticMarket } from "../../lib/data/synthetic.ts";
import { panelFromFrame } from "../../lib/data/panel.ts";
import { writePanelCsv } from "../../lib/data/write.ts";
import { LeakageError } from "../../lib/errors.ts";

// Small markets so each run takes seconds; the standard error of an accuracy over n rows is ≈ 0.5 / √n.
const SMALL = { kind: "synthetic" as const, symbols: 8, days: 900, seed: 7 };
const FAST_MODEL = { numBoostRound: 150, earlyStoppingRounds: 20 };

Deno.test("pipeline: the planted signal is learned, but never beyond the Bayes-optimal accuracy", async () => {
  const r = await runPipeline({ data: { ...SMALL, mode: "planted" }, folds: 3, model: FAST_MODEL });
  const n = r.pooled.nTest;
  const se = 0.5 / Math.sqrt(n);
  assert.ok(r.theoreticalAccuracy !== undefined && r.theoreticalAccuracy > 0.53);
  // Learnable: the 95 % Wilson interval lies above the coin flip.
  assert.ok(r.pooled.accuracyLow > 0.5, `accuracy ${r.pooled.accuracy} (low ${r.pooled.accuracyLow}) over ${n} rows`);
  // Honest: no model can beat the rule that knows the driver; exceeding it by > 3 SE would mean look-ahead.
  assert.ok(r.pooled.accuracy < r.theoreticalAccuracy! + 3 * se);
  // The pooled accuracy is the row-weighted mean of the fold accuracies (same rows, recomputed by hand).
  let hits = 0;
  for (let i = 0; i < r.predictions.probability.length; i++) {
    hits += (r.predictions.probability[i] > 0.5) === (r.predictions.target[i] > 0) ? 1 : 0;
  }
  assert.ok(Math.abs(hits / n - r.pooled.accuracy) < 1e-12);
  const weighted = r.folds.reduce((s, f) => s + f.metrics.accuracy * f.nTest, 0) / n;
  assert.ok(Math.abs(weighted - r.pooled.accuracy) < 1e-12);
});

Deno.test("pipeline: on a random walk the out-of-sample accuracy is a coin flip", async () => {
  const r = await runPipeline({ data: { ...SMALL, mode: "random-walk" }, folds: 3, model: FAST_MODEL });
  const se = 0.5 / Math.sqrt(r.pooled.nTest);
  assert.ok(Math.abs(r.pooled.accuracy - 0.5) < 4 * se, `accuracy ${r.pooled.accuracy}, 4 SE = ${4 * se}`);
});

Deno.test("pipeline: folds purge the horizon, the early-stopping tail stays inside training, positions lag", async () => {
  const horizon = 5;
  const r = await runPipeline({
    data: { ...SMALL, symbols: 4, mode: "planted" },
    horizon,
    folds: 3,
    model: FAST_MODEL,
  });
  const dates = [...new Set(r.predictions.dates)].sort();
  for (const f of r.folds) {
    const lastFit = Math.max(...f.fold.trainIndices);
    const firstValidation = Math.min(...f.fold.validationIndices!);
    const lastValidation = Math.max(...f.fold.validationIndices!);
    const firstTest = Math.min(...f.fold.testIndices);
    // A label at index i reaches i + horizon: fitting labels must end before the early-stopping tail starts, and
    // early-stopping labels before the test window starts.
    assert.ok(
      lastFit + horizon < firstValidation,
      `fold ${f.index}: last fit ${lastFit}, validation ${firstValidation}`,
    );
    assert.ok(lastValidation + horizon < firstTest, `fold ${f.index}: validation ${lastValidation}, test ${firstTest}`);
    assert.ok(f.nValidation > 0);
    assert.ok(f.fold.purge >= horizon);
    assert.equal(f.nTest > 0, true);
  }
  // Out-of-sample predictions: each (date, symbol) once, only from test windows.
  const keys = new Set(r.predictions.dates.map((d, i) => `${d}|${r.predictions.symbols[i]}`));
  assert.equal(keys.size, r.predictions.dates.length);
  // Lag 1: the first return earned comes one trading day after the first forecast.
  const firstForecast = dates[0];
  const grid = r.backtest.dates;
  assert.equal(r.backtest.window.startDate, grid[grid.indexOf(firstForecast) + 1]);
  assert.equal(r.backtest.conventions.lag, 1);
});

Deno.test("pipeline: a leaking user column is refused, and trained on only by a stored override", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const market = syntheticMarket({ symbols: 4, days: 600, seed: 3 });
    // "tomorrow" is the next day's log return: the classic misaligned-returns leak.
    const leaked = market.panel.frame.withColumns(
      pl.col("adj_close").shift(-1).div(pl.col("adj_close")).log().over("symbol").fillNull(0).alias("tomorrow"),
    );
    writePanelCsv(panelFromFrame(leaked, { extraColumns: ["tomorrow"] }), join(dir, "prices"));
    const data = { kind: "files" as const, path: join(dir, "prices") };
    const store = openStore(join(dir, "runs.db"));
    try {
      await assert.rejects(
        runPipeline({ data, folds: 2, model: FAST_MODEL }, { store }),
        (e) => e instanceof LeakageError && /tomorrow/.test(e.message),
      );
      assert.equal((await store.listRuns({})).length, 0, "a refused run writes nothing");

      const r = await runPipeline({ data, folds: 2, model: FAST_MODEL, allowLeakage: true }, { store });
      assert.ok(r.features.includes("tomorrow"));
      assert.ok(r.warnings.some((w) => /override/.test(w) && /tomorrow/.test(w)));
      // The leak makes the model look like genius, and the plausibility guard says so.
      assert.ok(r.pooled.accuracy > 0.9);
      assert.ok(r.warnings.some((w) => /implausible accuracy/.test(w)));
      const stored = await store.getRun(r.runId!);
      assert.equal(stored?.leakageOverride, true);
      assert.equal(stored?.status, "succeeded");
    } finally {
      await store.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("pipeline: a stored run holds every fold with the metrics it returned", async () => {
  const dir = await Deno.makeTempDir();
  const store = openStore(join(dir, "runs.db"));
  try {
    const r = await runPipeline({ data: { ...SMALL, symbols: 4, mode: "planted" }, folds: 2, model: FAST_MODEL }, {
      store,
    });
    const run = await store.getRun(r.runId!);
    if (run === undefined) throw new Error("run not stored");
    assert.equal(run.status, "succeeded");
    assert.equal(run.folds.length, 2);
    for (const f of r.folds) {
      const folds: StoredFold[] = run.folds;
      const saved = folds.find((x) => x.index === f.index)!;
      assert.equal(saved.metrics.accuracy, f.metrics.accuracy);
      assert.equal(saved.baselines.majorityClass, f.baselines.majorityClass);
      assert.deepEqual(saved.test, f.fold.test);
    }
    assert.equal(run.backtest?.lag, 1);
    assert.equal(run.backtest?.metrics.sharpe, r.backtest.metrics.sharpe);
  } finally {
    await store.close();
    await Deno.remove(dir, { recursive: true });
  }
});
