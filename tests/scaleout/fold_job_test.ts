import assert from "node:assert/strict";
import { join } from "node:path";
import { resolveStudyConfig, type StudyConfig } from "../../lib/pipeline/config.ts";
import { StudyRecorder } from "../../lib/pipeline/recorder.ts";
import { prepareStudy, runStudy } from "../../lib/pipeline/study.ts";
import { trainerOf } from "../../lib/pipeline/trainers/registry.ts";
import { writePanelCsv } from "../../lib/data/write.ts";
import { syntheticMarket } from "../../lib/data/synthetic.ts";
import { studyFoldHandler } from "../../lib/scaleout/fold_job.ts";
import { JobError, type JobOutcome, type StudyFoldJob } from "../../lib/scaleout/jobs.ts";
import { openStore, type Store } from "../../lib/store/mod.ts";
import { CANDOR_VERSION } from "../../lib/version.ts";

// CI-sized: 6 symbols × 500 days, 3 folds; a tree model and a stack over it and a linear model.
const INPUT = {
  data: { synthetic: { symbols: 6, days: 500, seed: 3 } },
  validation: { folds: 3 },
  models: [
    { name: "gbm", kind: "xgboost", settings: { numBoostRound: 40, earlyStoppingRounds: 10 } },
    { kind: "logistic" },
    { name: "stack", kind: "stacking", base: ["gbm", "logistic"] },
  ],
};

/** Records a study and one run per entry, as the coordinator does before it enqueues anything. */
async function recordStudy(
  store: Store,
  config: StudyConfig,
  fingerprint?: string,
): Promise<{ studyId: string; runs: Map<string, string> }> {
  const prep = await prepareStudy(config, { audit: false });
  const start = {
    config,
    symbols: [...prep.market.panel.symbols],
    source: prep.market.source,
    fingerprint: fingerprint ?? prep.market.fingerprint,
    version: CANDOR_VERSION,
    features: prep.prepared.features,
    leakageOverride: false,
  };
  const recorder = new StudyRecorder(store);
  const studyId = (await recorder.beginStudy(start))!;
  const runs = new Map<string, string>();
  for (const m of config.models) {
    runs.set(m.name, (await recorder.beginEntry(m, start, await trainerOf(m.kind)!.backend(m.settings)))!);
  }
  return { studyId, runs };
}

async function withStore(fn: (store: Store, dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir();
  const store = openStore(join(dir, "runs.db"));
  try {
    await fn(store, dir);
  } finally {
    await store.close();
    await Deno.remove(dir, { recursive: true });
  }
}

const ctx = (store: Store) => ({ store, worker: "test-worker", progress: () => {} });

Deno.test("study-fold job: trains a fold exactly as the local loop, stores it once however often it runs", async () => {
  await withStore(async (store) => {
    const config = resolveStudyConfig(INPUT);
    const { studyId, runs } = await recordStudy(store, config);
    const handler = studyFoldHandler();
    const job = (entry: string, fold: number): StudyFoldJob => ({
      kind: "study-fold",
      studyId,
      runId: runs.get(entry)!,
      entry,
      fold,
    });
    const outcomes: JobOutcome["outcome"][] = [];
    for (const entry of ["gbm", "logistic"]) {
      for (const fold of [0, 1, 2]) outcomes.push((await handler.run(job(entry, fold), ctx(store))).outcome);
    }
    assert.deepEqual(outcomes, Array(6).fill("written"));
    // A retried job whose first attempt committed: nothing is trained or written again.
    const before = await store.getRun(runs.get("gbm")!);
    assert.equal((await handler.run(job("gbm", 1), ctx(store))).outcome, "duplicate");
    assert.deepStrictEqual(await store.getRun(runs.get("gbm")!), before);
    // Two attempts racing on one fold (a job thought stalled while its worker was alive): both train, one stores.
    const raced = await Promise.all([
      handler.run(job("stack", 2), ctx(store)),
      handler.run(job("stack", 2), ctx(store)),
    ]);
    assert.deepEqual(raced.map((o) => o.outcome).sort(), ["duplicate", "written"]);
    for (const fold of [0, 1]) assert.equal((await handler.run(job("stack", fold), ctx(store))).outcome, "written");

    // The local run of the same configuration: the same fold metrics, fold by fold, and each fold stored once.
    const local = await runStudy(config);
    for (const e of local.report.entries) {
      const runId = runs.get(e.name)!;
      const run = (await store.getRun(runId))!;
      assert.deepEqual(run.folds.map((f) => f.index), [0, 1, 2], `${e.name}: one record per fold`);
      for (const f of run.folds) {
        assert.deepStrictEqual(f.metrics, e.folds[f.index].metrics, `${e.name} fold ${f.index}`);
        assert.deepStrictEqual(f.baselines, e.folds[f.index].baselines);
      }
      const predictions = await store.listPredictions([runId], { split: "test" });
      assert.deepEqual(
        predictions.map((p) => p.fold),
        e.folds.filter((f) => f.nTest > 0).map((f) => f.index),
        `${e.name}: one test prediction record per predicted fold`,
      );
      const tails = await store.listPredictions([runId], { split: "validation" });
      assert.deepEqual(
        tails.map((p) => p.fold),
        e.folds.filter((f) => f.nTest > 0 && f.nValidation > 0).map((f) => f.index),
        `${e.name}: one early-stopping tail record per predicted fold with a tail`,
      );
      const keys = run.diagnostics.map((d) => `${d.fold}|${d.kind}|${d.message}`);
      assert.equal(new Set(keys).size, keys.length, `${e.name}: no diagnostic written twice`);
    }
  });
});

Deno.test("study-fold job: refuses other data, unreadable data and unknown studies, saying why and where", async () => {
  await withStore(async (store, dir) => {
    const handler = studyFoldHandler();
    // Planned on other data (another fingerprint): refused, stage load, nothing written.
    const config = resolveStudyConfig({ ...INPUT, models: [INPUT.models[1]] });
    const other = await recordStudy(store, config, "synthetic:planted:6x500:seed=999");
    const job = {
      kind: "study-fold" as const,
      studyId: other.studyId,
      runId: other.runs.get("logistic")!,
      entry: "logistic",
      fold: 0,
    };
    await assert.rejects(() => handler.run(job, ctx(store)), (e: unknown) => {
      assert.ok(e instanceof JobError);
      assert.equal(e.stage, "load");
      assert.match(
        e.message,
        /have fingerprint synthetic:planted:6x500:seed=3 .* planned on synthetic:planted:6x500:seed=999/,
      );
      assert.match(e.message, /Refusing to train on other data/);
      assert.equal(e.permanent, false);
      return true;
    });
    assert.deepEqual(await store.listFolds([job.runId]), []);

    // Price files this worker cannot read (the folder is gone): a clear message about shared storage.
    const prices = join(dir, "prices");
    await writePanelCsv(syntheticMarket({ symbols: 3, days: 300, seed: 5 }).panel, prices);
    const files = resolveStudyConfig({
      data: { path: prices },
      validation: { folds: 2 },
      models: [{ kind: "logistic" }],
    });
    const study = await recordStudy(store, files);
    await Deno.rename(prices, join(dir, "moved"));
    const fileJob = {
      kind: "study-fold" as const,
      studyId: study.studyId,
      runId: study.runs.get("logistic")!,
      entry: "logistic",
      fold: 0,
    };
    await assert.rejects(() => handler.run(fileJob, ctx(store)), (e: unknown) => {
      assert.ok(e instanceof JobError);
      assert.equal(e.stage, "load");
      assert.match(e.message, /worker test-worker cannot read the study's price files/);
      assert.match(e.message, /a filesystem every worker mounts at the same path/);
      return true;
    });
    // Its final failure, recorded in the store: the run says where it stopped.
    await handler.recordFailure(fileJob, new JobError("load", new Error("cannot read")), store);
    const [failed] = await store.getRuns([fileJob.runId]);
    assert.equal(failed.status, "failed");
    assert.deepEqual(failed.error, { message: "cannot read", stage: "load", fold: 0, name: "Error" });

    // A study this store does not hold (the worker's --db is not the coordinator's): permanent.
    await assert.rejects(
      () => handler.run({ ...job, studyId: "study_00000000000000000000000000" }, ctx(store)),
      (e: unknown) => e instanceof JobError && e.permanent && /is --db the coordinator's store/.test(e.message),
    );
  });
});
