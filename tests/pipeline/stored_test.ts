import assert from "node:assert/strict";
import { join } from "node:path";
import { StoreError } from "../../lib/errors.ts";
import { resolveStudyConfig } from "../../lib/pipeline/config.ts";
import { finishEntry } from "../../lib/pipeline/entry.ts";
import { majorityOf } from "../../lib/pipeline/evaluate.ts";
import { StudyRecorder } from "../../lib/pipeline/recorder.ts";
import { outOfSampleScores, readFoldResults } from "../../lib/pipeline/stored.ts";
import { outOfFold, prepareStudy, runStudy } from "../../lib/pipeline/study.ts";
import { trainerOf } from "../../lib/pipeline/trainers/registry.ts";
import { openStore } from "../../lib/store/mod.ts";

// CI-sized: 6 symbols × 500 days, 3 anchored folds; a tree model, a linear model and a stack of both.
const INPUT = {
  data: { synthetic: { symbols: 6, days: 500, seed: 11 } },
  validation: { folds: 3 },
  models: [
    { name: "gbm", kind: "xgboost", settings: { numBoostRound: 40, earlyStoppingRounds: 10 } },
    { kind: "logistic" },
    { name: "stack", kind: "stacking", base: ["gbm", "logistic"] },
  ],
};
const CONFIG = resolveStudyConfig(INPUT);

Deno.test("readFoldResults: stored folds read back as the loop's fold results; pooling them gives the local entry", async () => {
  const dir = await Deno.makeTempDir();
  const store = openStore(join(dir, "runs.db"));
  try {
    const local = await runStudy(CONFIG, { store });
    // An independent preparation of the same config (what a worker or a resumed run does).
    const again = await prepareStudy(CONFIG, { audit: false });
    const { data, previous } = again.prepared;
    assert.equal(data.dates.length, local.data.dates.length);
    for (const entry of local.report.entries) {
      const results = await readFoldResults(store, entry.runId!, data, previous);
      assert.deepEqual(results.map((r) => r.report.index), again.plan.folds.map((f) => f.index));
      const stitched = local.predictions.get(entry.name)!;
      let at = 0;
      for (const [i, r] of results.entries()) {
        const planned = again.plan.folds[i];
        const want = entry.folds[i];
        assert.deepStrictEqual(r.report.metrics, want.metrics, `${entry.name} fold ${i} metrics`);
        assert.deepStrictEqual(r.report.baselines, want.baselines);
        assert.deepStrictEqual(r.report.targets, want.targets);
        assert.equal(r.report.nTrain, want.nTrain);
        assert.equal(r.report.nValidation, want.nValidation);
        assert.equal(r.report.health, want.health);
        // The majority class of the planned fitting rows, computed here independently of what was stored (a stack
        // fits on the subset of rows its bases predicted out of sample, so its majority is its own).
        if (entry.kind !== "stacking") {
          assert.equal(r.majority, majorityOf(data, planned.rows.fit), `${entry.name} fold ${i} majority`);
        }
        if (entry.kind === "stacking" && i === 0) {
          assert.equal(r.scores, undefined, "the stack's first fold has no out-of-fold history and no scores");
          continue;
        }
        // Every planned test row, in the plan's order, with the scores the local run held in memory.
        assert.deepStrictEqual(r.scores!.rows.test, planned.rows.test);
        if (entry.kind !== "stacking") assert.deepStrictEqual(r.scores!.rows.validation, planned.rows.validation);
        const n = r.scores!.rows.test.length;
        assert.deepStrictEqual(r.scores!.test, stitched.scores.subarray(at, at + n));
        at += n;
      }
      // Pooling the read-back folds without a store reproduces the local entry.
      const trainer = trainerOf(entry.kind)!;
      const pooled = await finishEntry({
        entry: CONFIG.models.find((m) => m.name === entry.name)!,
        trainer,
        data,
        previous,
        plan: again.plan,
        panel: again.market.panel,
        config: CONFIG,
        oof: outOfFold(again.plan, data, new Map()),
        recorder: new StudyRecorder(),
        runId: entry.runId!,
        backend: entry.backend,
        onProgress: () => {},
        onFold: () => {},
      }, results);
      assert.deepStrictEqual(pooled.report.pooled.accuracy, entry.pooled.accuracy);
      assert.deepStrictEqual(pooled.report.pooled.edge, entry.pooled.edge);
      assert.deepStrictEqual(pooled.report.pooled.ic, entry.pooled.ic);
      assert.deepStrictEqual(pooled.report.pooled.baselines, entry.pooled.baselines);
      assert.deepStrictEqual(pooled.report.backtest.metrics, entry.backtest.metrics);
      assert.deepStrictEqual(pooled.report.upShare, entry.upShare);
      // The early-stopping tails are stored beside the test rows: the walk-forward efficiency and the gate it feeds
      // are the local run's too.
      assert.deepStrictEqual(pooled.report.efficiency, entry.efficiency);
      assert.deepStrictEqual(pooled.report.gate, entry.gate);
      assert.deepStrictEqual(pooled.report.folds.map((f) => f.efficiency), entry.folds.map((f) => f.efficiency));
      assert.ok(!pooled.report.warnings.some((w) => /tail's predictions are not stored/.test(w)));
      // What stacking reads: the same out-of-sample scores as the local run's.
      const scattered = outOfSampleScores(data, results);
      const rows = stitched.rows;
      for (let j = 0; j < rows.length; j++) assert.equal(scattered.scores[rows[j]], stitched.scores[j]);
      assert.equal(scattered.scores.filter(Number.isFinite).length, rows.length);
    }
  } finally {
    await store.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("readFoldResults refuses folds stored for other data", async () => {
  const dir = await Deno.makeTempDir();
  const store = openStore(join(dir, "runs.db"));
  try {
    const small = { ...INPUT, models: INPUT.models.slice(1, 2) };
    const local = await runStudy(small, { store });
    const runId = local.report.entries[0].runId!;
    // Same symbols and dates, other prices: the stored baselines do not recompute on these rows.
    const other = await prepareStudy(
      resolveStudyConfig({ ...small, data: { synthetic: { symbols: 6, days: 500, seed: 12 } } }),
      { audit: false },
    );
    await assert.rejects(
      () => readFoldResults(store, runId, other.prepared.data, other.prepared.previous),
      (e: unknown) => e instanceof StoreError && /baseline recomputes .* the data changed/.test(e.message),
    );
    // Fewer symbols: stored rows that are not rows of this dataset.
    const fewer = await prepareStudy(
      resolveStudyConfig({ ...small, data: { synthetic: { symbols: 4, days: 500, seed: 11 } } }),
      { audit: false },
    );
    await assert.rejects(
      () => readFoldResults(store, runId, fewer.prepared.data, fewer.prepared.previous),
      (e: unknown) => e instanceof StoreError && /is not a row of this study's dataset/.test(e.message),
    );
  } finally {
    await store.close();
    await Deno.remove(dir, { recursive: true });
  }
});
