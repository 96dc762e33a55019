/**
 * Scale-out end to end: Debian's redis-server and a throwaway Postgres cluster on loopback, `candor worker` child
 * processes, the coordinator in this process (or as a `candor run --queue` child). Every study is CI-sized (a few
 * synthetic symbols, three folds) and compared with the local run of the same configuration and seed.
 *
 * The faults, one test each: a worker killed mid-job (its job is retried by the other worker through BullMQ's
 * stalled-job check; nothing is stored twice), a job that fails on every attempt (its run is marked failed with the
 * stage, fold and error, the study stops), a coordinator killed and replaced by `--resume`, Redis killed and
 * restarted with its append-only file (no queued job lost), and a worker that cannot read the price files.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { Queue } from "bullmq";
import { resolveStudyConfig } from "../../lib/pipeline/config.ts";
import type { StudyReport } from "../../lib/pipeline/records.ts";
import { runStudy, type StudyResult } from "../../lib/pipeline/study.ts";
import { writePanelCsv } from "../../lib/data/write.ts";
import { syntheticMarket } from "../../lib/data/synthetic.ts";
import { redisConnection } from "../../lib/scaleout/connection.ts";
import { InterruptedError } from "../../lib/errors.ts";
import { QueuedStudyError, runStudyOnQueue } from "../../lib/scaleout/coordinator.ts";
import { jobId, QUEUE_NAME } from "../../lib/scaleout/jobs.ts";
import { openStore, type Store } from "../../lib/store/mod.ts";
import {
  CandorProcess,
  freshDatabase,
  scaleoutServices,
  startRedis,
  startWorkerProcess,
  type TestRedis,
} from "./_services.ts";
import { FAILING_KIND } from "./_failing_kind.ts";

const services = await scaleoutServices();

/** A tree model, a small MLP (epochs stored) and a stack of both: 9 jobs. */
const STUDY = {
  data: { synthetic: { symbols: 5, days: 420, seed: 21 } },
  validation: { folds: 3 },
  models: [
    { name: "gbm", kind: "xgboost", settings: { numBoostRound: 30, earlyStoppingRounds: 10 } },
    { name: "mlp", kind: "mlp", settings: { epochs: 2, batchSize: 256 } },
    { name: "stack", kind: "stacking", base: ["gbm", "mlp"] },
  ],
};

/** Fast checks for tests: the coordinator reads the store every 300 ms and asks the queue every 2 s. */
const FAST = { pollMs: 300, checkJobsMs: 2_000, backoffMs: 300 };

/** The distributed study equals the local one: every fold's metrics and baselines, the pooled line, the backtest. */
function assertSameStudy(distributed: StudyReport, local: StudyReport): void {
  assert.deepEqual(distributed.entries.map((e) => e.name), local.entries.map((e) => e.name));
  assert.deepStrictEqual(distributed.plan, local.plan);
  for (const [i, d] of distributed.entries.entries()) {
    const l = local.entries[i];
    assert.equal(d.folds.length, l.folds.length);
    for (const [k, f] of d.folds.entries()) {
      assert.deepStrictEqual(f.metrics, l.folds[k].metrics, `${d.name} fold ${k} metrics`);
      assert.deepStrictEqual(f.baselines, l.folds[k].baselines, `${d.name} fold ${k} baselines`);
      assert.equal(f.nTest, l.folds[k].nTest);
      assert.equal(f.bestIteration, l.folds[k].bestIteration);
    }
    assert.deepStrictEqual(d.pooled.accuracy, l.pooled.accuracy, `${d.name} pooled accuracy`);
    assert.deepStrictEqual(d.pooled.edge, l.pooled.edge, `${d.name} pooled edge`);
    assert.deepStrictEqual(d.pooled.ic, l.pooled.ic, `${d.name} pooled IC`);
    assert.deepStrictEqual(d.pooled.verdict, l.pooled.verdict);
    assert.deepStrictEqual(d.backtest.metrics, l.backtest.metrics, `${d.name} backtest`);
    // The early-stopping tails are stored with the folds: the walk-forward efficiency and the gate are the local's.
    assert.deepStrictEqual(d.folds.map((f) => f.efficiency), l.folds.map((f) => f.efficiency), `${d.name} fold WFE`);
    assert.deepStrictEqual(d.efficiency, l.efficiency, `${d.name} WFE`);
    assert.deepStrictEqual(d.gate, l.gate, `${d.name} gate`);
  }
}

/** Every fold of every run stored exactly once: one fold record, one prediction record, no repeated epoch. */
async function assertStoredOnce(store: Store, result: StudyResult): Promise<void> {
  const study = (await store.getStudy(result.id!))!;
  assert.equal(study.status, "succeeded");
  const ids = study.runs.map((r) => r.id);
  const [folds, predictions, epochs] = await Promise.all([
    store.listFolds(ids),
    store.listPredictions(ids),
    store.listEpochs(ids),
  ]);
  for (const e of result.report.entries) {
    assert.deepEqual(folds.filter((f) => f.runId === e.runId).map((f) => f.index), [0, 1, 2], e.name);
    const predicted = e.folds.filter((f) => f.nTest > 0).map((f) => f.index);
    const mine = predictions.filter((p) => p.runId === e.runId);
    assert.deepEqual(mine.filter((p) => p.split === "test").map((p) => p.fold), predicted, e.name);
    const tails = e.folds.filter((f) => f.nTest > 0 && f.nValidation > 0).map((f) => f.index);
    assert.deepEqual(mine.filter((p) => p.split === "validation").map((p) => p.fold), tails, `${e.name} tails`);
    const keys = epochs.filter((x) => x.runId === e.runId).map((x) => `${x.fold}:${x.epoch}`);
    assert.equal(new Set(keys).size, keys.length, `${e.name}: an epoch stored twice`);
  }
  assert.ok(epochs.some((x) => x.runId === result.report.entries[1].runId), "the MLP's epochs are stored");
}

/** Runs `fn` with a fresh Redis, a fresh database and its store; stops and drops them afterwards. */
async function withServices(
  fn: (s: { redis: TestRedis; db: string; store: Store }) => Promise<void>,
  persistent = false,
): Promise<void> {
  if ("skip" in services) return;
  const redis = await startRedis(persistent);
  const db = await freshDatabase(services.postgresUrl);
  const store = openStore(db.url);
  try {
    await fn({ redis, db: db.url, store });
  } finally {
    await store.close();
    await redis.stop();
    await db.drop();
  }
}

/** Waits until a fold of the study is stored (the worker's log is shown when none comes). */
async function waitForFold(store: Store, studyId: string, w: CandorProcess): Promise<void> {
  const until = Date.now() + 120_000;
  while ((await store.listFolds((await store.getStudy(studyId))!.runs.map((r) => r.id))).length === 0) {
    if (Date.now() > until) throw new Error(`no fold stored; worker:\n${w.stderr}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Kills the processes and waits for them. */
async function stopAll(...ps: (CandorProcess | undefined)[]): Promise<void> {
  for (const p of ps) p?.kill();
  await Promise.all(ps.map((p) => p?.done()));
}

if ("skip" in services) {
  Deno.test({ name: `scale-out: skipped — ${services.skip}`, ignore: true, fn: () => {} });
} else {
  Deno.test("scale-out: two workers, one killed mid-job; the other retries it; the study equals the local run, each fold stored once", async () => {
    await withServices(async ({ redis, db, store }) => {
      const [w1, w2] = await Promise.all([
        startWorkerProcess("w1", redis.url, db),
        startWorkerProcess("w2", redis.url, db),
      ]);
      try {
        const running = runStudyOnQueue(STUDY, { store, queue: redis.url, ...FAST });
        // Killed while preparing or training its first job: nothing of that job is stored by w1.
        const [, killed] = await w1.waitFor(/w1: (fold \d+ of \S+ \(study_\w+\)) started/);
        w1.kill("SIGKILL");
        const result = await running;
        assert.match(w2.stderr, /stalled/, "w2's stalled-job check found w1's job");
        assert.ok(w2.stderr.includes(`${killed} started`), `w2 took over ${killed}:\n${w2.stderr}`);
        const local = await runStudy(STUDY);
        assertSameStudy(result.report, local.report);
        await assertStoredOnce(store, result);
      } finally {
        await stopAll(w1, w2);
      }
    });
  });

  Deno.test("scale-out: a job that fails on every attempt marks its run failed with the stage, fold and error; the study stops", async () => {
    await withServices(async ({ redis, db, store }) => {
      const w = await startWorkerProcess("w1", redis.url, db, ["--import", "tests/scaleout/_failing_kind.ts"]);
      try {
        const config = resolveStudyConfig({
          data: { synthetic: { symbols: 4, days: 400, seed: 5 } },
          validation: { folds: 3 },
          models: [{ name: "ok", kind: "logistic" }, { name: "bad", kind: FAILING_KIND }],
        });
        let studyId = "";
        await assert.rejects(
          () =>
            runStudyOnQueue(config, {
              store,
              queue: redis.url,
              attempts: 2,
              onQueued: (q) => (studyId = q.studyId),
              ...FAST,
            }),
          (e: unknown) => {
            assert.ok(e instanceof QueuedStudyError, String(e));
            assert.match(e.message, /bad fold 2 \(stage train\): planted failure on fold 2/);
            return true;
          },
        );
        // Both attempts ran, then the worker recorded the failure.
        assert.match(w.stderr, /fold 2 of bad .* started \(attempt 2 of 2\)/);
        assert.match(w.stderr, /fold 2 of bad .* failed at train: planted failure on fold 2 — no attempts left/);
        const study = (await store.getStudy(studyId))!;
        assert.equal(study.status, "failed");
        assert.deepEqual(
          { ...study.error, message: undefined },
          { message: undefined, stage: "train", fold: 1, name: "Error", entry: "bad" },
        );
        const bad = study.runs.find((r) => r.entry === "bad")!;
        assert.equal(bad.status, "failed");
        assert.deepEqual(bad.error, { message: "planted failure on fold 2", stage: "train", fold: 1, name: "Error" });
        assert.ok(!(await store.listFolds([bad.id])).some((f) => f.index === 1), "the failed fold is not stored");
        const ok = study.runs.find((r) => r.entry === "ok")!;
        assert.ok(
          ok.status === "succeeded" || /not finished: the study stopped because bad failed/.test(ok.error!.message),
        );
        // Nothing of the study is left queued (a job the worker had already started finishes as a no-op).
        const queue = new Queue(QUEUE_NAME, { connection: redisConnection(redis.url) });
        try {
          const until = Date.now() + 60_000;
          while ((await queue.getActiveCount()) > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 200));
          const counts = await queue.getJobCounts("waiting", "delayed", "active");
          assert.deepEqual(counts, { waiting: 0, delayed: 0, active: 0 });
        } finally {
          await queue.close();
        }
      } finally {
        await stopAll(w);
      }
    });
  });

  Deno.test("scale-out: the coordinator killed mid-study is replaced by --resume; the study equals the local run", async () => {
    await withServices(async ({ redis, db, store }) => {
      const dir = await Deno.makeTempDir();
      const w = await startWorkerProcess("w1", redis.url, db);
      let coordinator: CandorProcess | undefined;
      try {
        const file = join(dir, "study.json");
        await Deno.writeTextFile(file, JSON.stringify(STUDY));
        coordinator = new CandorProcess(["run", "--config", file, "--queue", redis.url, "--db", db]);
        const [, studyId] = await coordinator.waitFor(/study (study_\w+) started: \d+ job\(s\) queued/);
        // Killed once the workers have stored something, while jobs are still queued.
        await waitForFold(store, studyId, w);
        coordinator.kill("SIGKILL");
        await coordinator.done();
        assert.equal((await store.getStudy(studyId))!.status, "running");
        let reattached = false;
        const result = await runStudyOnQueue(undefined, {
          store,
          queue: redis.url,
          resume: studyId,
          onQueued: (q) => (reattached = q.resumed && q.studyId === studyId),
          ...FAST,
        });
        assert.ok(reattached);
        assert.equal(result.id, studyId);
        const local = await runStudy(STUDY);
        assertSameStudy(result.report, local.report);
        await assertStoredOnce(store, result);
        // A sealed study has nothing to reattach to.
        await assert.rejects(
          () => runStudyOnQueue(undefined, { store, queue: redis.url, resume: studyId }),
          /study study_\w+ is already succeeded; there is nothing to reattach to/,
        );
      } finally {
        await stopAll(w, coordinator);
        await Deno.remove(dir, { recursive: true });
      }
    });
  });

  Deno.test("scale-out: a study marked interrupted stops its coordinator; --resume reopens it and it finishes", async () => {
    await withServices(async ({ redis, db, store }) => {
      let w = await startWorkerProcess("w1", redis.url, db);
      try {
        let studyId = "";
        const first = runStudyOnQueue(STUDY, {
          store,
          queue: redis.url,
          ...FAST,
          onQueued: (q) => (studyId = q.studyId),
        });
        const stopped = assert.rejects(first, (e: unknown) => {
          assert.ok(e instanceof InterruptedError, String(e));
          assert.match(e.message, /study study_\w+ was marked interrupted by another process \(reaped\).*--resume/);
          return true;
        });
        for (const until = Date.now() + 120_000; studyId === "" && Date.now() < until;) {
          await new Promise((r) => setTimeout(r, 100));
        }
        assert.notEqual(studyId, "", "the study was never queued");
        await waitForFold(store, studyId, w);
        // The worker goes first, so that jobs are still queued when the study is sealed (a worker left running would
        // skip them all itself, and the next one would find nothing to skip).
        await stopAll(w);
        // As `candor runs --reap` or the dashboard would: the study and its running runs are sealed interrupted.
        await store.markInterrupted(studyId, { message: "reaped", stage: "train" });
        await stopped;
        // A worker then finds the queued jobs' runs sealed and completes them without training (skipped) — when any
        // job is left: on a fast machine the first worker may have run every job before it was stopped.
        const queue = new Queue(QUEUE_NAME, { connection: redisConnection(redis.url) });
        let left = 0;
        try {
          const counts = await queue.getJobCounts("waiting", "delayed", "active", "prioritized", "waiting-children");
          left = Object.values(counts).reduce((a, b) => a + b, 0);
        } finally {
          await queue.close();
        }
        w = await startWorkerProcess("w2", redis.url, db);
        if (left > 0) await w.waitFor(/skipped \(run run_\w+ is interrupted\)/);
        const result = await runStudyOnQueue(undefined, {
          store,
          queue: redis.url,
          resume: (await store.getStudy(studyId))!.runs[0].id, // a run's id names its study
          ...FAST,
        });
        assert.equal(result.id, studyId);
        const local = await runStudy(STUDY);
        assertSameStudy(result.report, local.report);
        await assertStoredOnce(store, result);
        const study = (await store.getStudy(studyId))!;
        assert.deepEqual(study.reopened.map((r) => r.status), ["interrupted"]);
      } finally {
        await stopAll(w);
      }
    });
  });

  Deno.test("scale-out: Redis killed and restarted with its append-only file loses no queued job", async () => {
    await withServices(async ({ redis, db, store }) => {
      let queued = 0;
      const ready = Promise.withResolvers<void>();
      const running = runStudyOnQueue(STUDY, {
        store,
        queue: redis.url,
        onQueued: (q) => {
          queued = q.jobs;
          ready.resolve();
        },
        ...FAST,
      });
      running.catch(() => ready.resolve());
      let workers: CandorProcess[] = [];
      try {
        await ready.promise;
        assert.equal(queued, 6, "the base entries' 6 jobs (the stack's wait for them)");
        await redis.kill(); // no workers yet: every job is still waiting
        await redis.restart();
        const queue = new Queue(QUEUE_NAME, { connection: redisConnection(redis.url) });
        try {
          assert.equal(await queue.getWaitingCount(), 6, "the queued jobs survived the crash");
        } finally {
          await queue.close();
        }
        workers = await Promise.all([
          startWorkerProcess("w1", redis.url, db),
          startWorkerProcess("w2", redis.url, db),
        ]);
        const result = await running;
        const local = await runStudy(STUDY);
        assertSameStudy(result.report, local.report);
        await assertStoredOnce(store, result);
      } finally {
        await stopAll(...workers);
      }
    }, true);
  });

  Deno.test("scale-out: a worker that cannot read the price files fails its job saying so; the run records it", async () => {
    await withServices(async ({ redis, db, store }) => {
      const dir = await Deno.makeTempDir();
      const prices = join(dir, "prices");
      await writePanelCsv(syntheticMarket({ symbols: 3, days: 300, seed: 5 }).panel, prices);
      // This worker may read everything but the price folder: a machine without the shared filesystem.
      const w = await startWorkerProcess("w1", redis.url, db, [], [`--deny-read=${prices}`]);
      try {
        const config = resolveStudyConfig({
          data: { path: prices },
          validation: { folds: 2 },
          models: [{ kind: "logistic" }],
        });
        let studyId = "";
        await assert.rejects(
          () =>
            runStudyOnQueue(config, {
              store,
              queue: redis.url,
              attempts: 1,
              onQueued: (q) => (studyId = q.studyId),
              ...FAST,
            }),
          (e: unknown) => e instanceof QueuedStudyError && /stage load/.test(e.message),
        );
        const study = (await store.getStudy(studyId))!;
        const run = study.runs[0];
        assert.equal(run.status, "failed");
        assert.equal(run.error!.stage, "load");
        assert.match(run.error!.message, /worker w1 cannot read the study's price files/);
        assert.match(run.error!.message, /a filesystem every worker mounts at the same path/);
        // The queue's own record of the failed job carries the same reason.
        const queue = new Queue(QUEUE_NAME, { connection: redisConnection(redis.url) });
        try {
          const job = await queue.getJob(
            jobId({ kind: "study-fold", studyId, runId: run.id, entry: "logistic", fold: run.error!.fold! }),
          );
          assert.match(job!.failedReason, /cannot read the study's price files/);
        } finally {
          await queue.close();
        }
      } finally {
        await stopAll(w);
        await Deno.remove(dir, { recursive: true });
      }
    });
  });
}
