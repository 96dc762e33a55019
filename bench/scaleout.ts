/**
 * Scale-out benchmark: a 455-symbol XGBoost + MLP study on the real S&P 500 files, run locally (`candor run`, one
 * process) and on the queue with 1 and 2 `candor worker` processes on this machine, in interleaved rounds; plus the
 * queue's own overhead per job (no-op jobs through BullMQ on the same Redis).
 *
 * What it reports (medians, with the range over rounds in the notes):
 * - the study's wall time locally and with 1 and 2 workers, and the scaling efficiency T₁ / (2 · T₂);
 * - per job: the training and store time, the store write alone (one transaction with the fold's prediction record),
 *   the time a worker spends preparing the study on its first job (loading the 455 files and building the dataset);
 * - the coordinator's own phases: preparing and enqueueing before the first job, pooling after the last;
 * - BullMQ's overhead per job (add → active → completed, no work), sequential and pipelined.
 *
 * Needs redis-server and Postgres (Debian's; the same throwaway services the tests use) and CANDOR_REAL_DATA. The
 * machine is shared and has 2 cores: two workers compete with each other (XGBoost uses both cores) and with whatever
 * else runs, so read the ranges, not only the medians. `CANDOR_BENCH_SCALEOUT_ROUNDS` (default 2) sets the rounds,
 * `CANDOR_BENCH_SCALEOUT_VARIANTS` (default `local,1,2`) which variants run, `CANDOR_BENCH_VERBOSE` prints the workers'
 * logs.
 *
 * @module
 */

import { join } from "node:path";
import { Queue, QueueEvents, Worker } from "bullmq";
import { realDataDir } from "../tests/_helpers/real_data.ts";
import {
  CandorProcess,
  freshDatabase,
  scaleoutServices,
  startRedis,
  startWorkerProcess,
} from "../tests/scaleout/_services.ts";
import { redisConnection } from "../lib/scaleout/connection.ts";
import { runStudyOnQueue } from "../lib/scaleout/coordinator.ts";
import type { JobOutcome, StudyFoldJob } from "../lib/scaleout/jobs.ts";
import { QUEUE_NAME } from "../lib/scaleout/jobs.ts";
import { openStore } from "../lib/store/mod.ts";
import { type BenchResult, median, minMax, rangeText } from "./lib.ts";

/** The study: every S&P 500 file, base features, 4 rolling folds of ~250k fitting rows, XGBoost and a small MLP. */
function studyConfig(dir: string) {
  return {
    name: "scale-out bench",
    data: { path: dir },
    validation: { scheme: "rolling", folds: 4, trainDays: 750 },
    models: [
      { name: "gbm", kind: "xgboost", settings: { numBoostRound: 200, earlyStoppingRounds: 20 } },
      { name: "mlp", kind: "mlp", settings: { epochs: 2 } },
    ],
  };
}

/** One distributed run's measurements. */
interface QueuedRun {
  workers: number;
  seconds: number;
  /** Coordinator: start → jobs enqueued (prepare, audit, records). */
  beforeQueueS: number;
  /** Jobs enqueued → first job picked up by a worker (BullMQ's processedOn; the worker prepares the study after). */
  dispatchS: number;
  /** Last job finished → study sealed (pooling, backtests, report). */
  afterJobsS: number;
  jobs: { prepareS: number; workS: number; storeS: number; totalS: number; queueS: number }[];
  /** What the workers' logs say happened: outcomes, stalls, failed attempts, queue errors. */
  log: Record<string, number>;
}

/** Counts the outcomes, stalls, failures and queue errors in a worker's log. */
function logCounts(text: string): Record<string, number> {
  const count = (re: RegExp) => (text.match(re) ?? []).length;
  return {
    started: count(/ started \(attempt/g),
    written: count(/\) written in /g),
    duplicate: count(/\) duplicate in /g),
    skipped: count(/\) skipped/g),
    failed: count(/ failed at /g),
    stalled: count(/ stalled /g),
    queueErrors: count(/ queue error: /g),
  };
}

async function queuedRun(postgresUrl: string, config: unknown, workers: number): Promise<QueuedRun> {
  const redis = await startRedis();
  const db = await freshDatabase(postgresUrl);
  const store = openStore(db.url);
  const procs: CandorProcess[] = [];
  try {
    for (let i = 0; i < workers; i++) {
      procs.push(await startWorkerProcess(`w${i + 1}`, redis.url, db.url, [], [], 120));
    }
    const t0 = Date.now();
    let queuedAt = 0;
    try {
      await runStudyOnQueue(config as never, { store, queue: redis.url, onQueued: () => (queuedAt = Date.now()) });
    } catch (e) {
      for (const p of procs) console.error(`[bench] worker log:\n${p.stderr}`);
      throw e;
    }
    const end = Date.now();
    const log: Record<string, number> = {};
    for (const p of procs) {
      for (const [k, v] of Object.entries(logCounts(p.stderr))) log[k] = (log[k] ?? 0) + v;
      if (Deno.env.get("CANDOR_BENCH_VERBOSE")) console.error(`[bench] worker log:\n${p.stderr}`);
    }
    const queue = new Queue<StudyFoldJob, JobOutcome>(QUEUE_NAME, { connection: redisConnection(redis.url) });
    try {
      const done = await queue.getJobs(["completed"], 0, 10_000);
      const started = Math.min(...done.map((j) => j.processedOn!));
      const finished = Math.max(...done.map((j) => j.finishedOn!));
      return {
        workers,
        seconds: (end - t0) / 1000,
        beforeQueueS: (queuedAt - t0) / 1000,
        dispatchS: (started - queuedAt) / 1000,
        afterJobsS: (end - finished) / 1000,
        log,
        jobs: done.map((j) => ({
          prepareS: j.returnvalue.ms.prepare / 1000,
          workS: j.returnvalue.ms.work / 1000,
          storeS: j.returnvalue.ms.store / 1000,
          totalS: j.returnvalue.ms.total / 1000,
          // Time BullMQ holds the job around the handler: processedOn → finishedOn minus the handler's own time.
          queueS: (j.finishedOn! - j.processedOn!) / 1000 - j.returnvalue.ms.total / 1000,
        })),
      };
    } finally {
      await queue.close();
    }
  } finally {
    for (const p of procs) p.kill("SIGTERM");
    await Promise.all(procs.map((p) => p.done()));
    await store.close();
    await redis.stop();
    await db.drop();
  }
}

/** The same study in one `candor run` process (nothing stored): the local reference. */
async function localRun(file: string): Promise<number> {
  const t0 = Date.now();
  const p = new CandorProcess(["run", "--config", file, "--no-store"]);
  const status = await p.done();
  if (!status.success) throw new Error(`local run failed:\n${p.stderr}`);
  return (Date.now() - t0) / 1000;
}

/** BullMQ's own cost per job: no-op jobs, one at a time (add → completed seen) and 500 pipelined. */
async function queueOverhead(): Promise<{ sequentialMs: number[]; pipelinedMs: number }> {
  const redis = await startRedis();
  const connection = redisConnection(redis.url);
  const queue = new Queue("candor-bench-noop", { connection });
  const events = new QueueEvents("candor-bench-noop", { connection });
  const worker = new Worker("candor-bench-noop", () => Promise.resolve(1), { connection });
  try {
    await Promise.all([queue.waitUntilReady(), events.waitUntilReady(), worker.waitUntilReady()]);
    const sequentialMs: number[] = [];
    for (let i = 0; i < 60; i++) {
      const t0 = performance.now();
      const job = await queue.add("noop", { i });
      await job.waitUntilFinished(events);
      if (i >= 10) sequentialMs.push(performance.now() - t0);
    }
    const n = 500;
    let completed = 0;
    const all = Promise.withResolvers<void>();
    worker.on("completed", () => ++completed === n && all.resolve());
    const t0 = performance.now();
    await queue.addBulk(Array.from({ length: n }, (_, i) => ({ name: "noop", data: { i } })));
    await all.promise;
    return { sequentialMs, pipelinedMs: (performance.now() - t0) / n };
  } finally {
    await worker.close();
    await events.close();
    await queue.close();
    await redis.stop();
  }
}

/** Runs the benchmark (see the module notes). */
export async function run(): Promise<BenchResult[]> {
  const dir = realDataDir();
  if (dir === undefined) {
    console.error("bench/scaleout: real-data folder absent (set CANDOR_REAL_DATA); skipped");
    return [];
  }
  const services = await scaleoutServices();
  if ("skip" in services) {
    console.error(`bench/scaleout: ${services.skip}; skipped`);
    return [];
  }
  const rounds = Number(Deno.env.get("CANDOR_BENCH_SCALEOUT_ROUNDS") ?? 2);
  const variants = (Deno.env.get("CANDOR_BENCH_SCALEOUT_VARIANTS") ?? "local,1,2").split(",");
  const config = studyConfig(dir);
  // A Redis client reconnecting after its server was stopped must not end the benchmark; say so instead.
  const onUnhandled = (e: PromiseRejectionEvent) => {
    console.error(`[bench] scaleout: ignored an unhandled rejection: ${e.reason?.stack ?? e.reason}`);
    e.preventDefault();
  };
  globalThis.addEventListener("unhandledrejection", onUnhandled);
  const tmp = await Deno.makeTempDir();
  const file = join(tmp, "study.json");
  await Deno.writeTextFile(file, JSON.stringify(config));
  const local: number[] = [];
  const queued: QueuedRun[] = [];
  try {
    const overhead = await queueOverhead();
    for (let r = 0; r < rounds; r++) {
      // Interleaved, order alternating, so a drift in the machine's load hits every variant alike.
      const order = r % 2 === 0 ? ["local", 1, 2] as const : [2, 1, "local"] as const;
      for (const v of order.filter((x) => variants.includes(String(x)))) {
        console.error(
          `[bench] scaleout round ${r + 1}/${rounds}: ${v === "local" ? "local run" : `${v} worker(s)`} at ` +
            new Date().toISOString(),
        );
        if (v === "local") local.push(await localRun(file));
        else queued.push(await queuedRun(services.postgresUrl, config, v));
        console.error(`[bench]   ${v === "local" ? local.at(-1)!.toFixed(1) : queued.at(-1)!.seconds.toFixed(1)} s`);
      }
    }
    const one = queued.filter((q) => q.workers === 1);
    const two = queued.filter((q) => q.workers === 2);
    const t1 = one.map((q) => q.seconds), t2 = two.map((q) => q.seconds);
    const jobs = queued.flatMap((q) => q.jobs);
    const prepared = jobs.filter((j) => j.prepareS > 0).map((j) => j.prepareS);
    const detail = {
      local,
      queued: queued.map(({ jobs, ...q }) => ({ ...q, jobs: jobs.length })),
      jobs,
      overhead,
    };
    console.error(`[bench] scaleout detail: ${JSON.stringify(detail)}`);
    const rows: BenchResult[] = [];
    if (t1.length > 0) {
      rows.push({
        name: "study wall time, 1 worker (455 symbols, XGBoost + MLP, 8 jobs)",
        value: median(t1),
        unit: "s",
        range: minMax(t1),
        ...(local.length === 0
          ? {}
          : { reference: median(local), referenceRange: minMax(local), ratio: median(local) / median(t1) }),
        notes: `range ${rangeText(t1, 1)} s` +
          (local.length === 0 ? "" : `; reference: the local run, range ${rangeText(local, 1)} s`),
      });
    }
    if (t2.length > 0) {
      rows.push({
        name: "study wall time, 2 workers",
        value: median(t2),
        unit: "s",
        range: minMax(t2),
        ...(t1.length === 0
          ? {}
          : { reference: median(t1), referenceRange: minMax(t1), ratio: median(t1) / median(t2) }),
        notes: `range ${rangeText(t2, 1)} s; ratio: speed-up over 1 worker`,
      });
    }
    if (t1.length > 0 && t1.length === t2.length) {
      const efficiency = t1.map((a, i) => a / (2 * t2[i]));
      rows.push({
        name: "scaling efficiency T1 / (2 T2), per round",
        value: median(efficiency),
        unit: "",
        range: minMax(efficiency),
        notes: `range ${rangeText(efficiency, 2)}`,
      });
    }
    // Per-job figures from the jobs that trained (a retried job that found its fold stored reports ~0).
    const trained = jobs.filter((j) => j.storeS > 0);
    if (trained.length > 0) {
      rows.push(
        {
          name: "per job: train + store (prepared study)",
          value: median(trained.map((j) => j.workS)),
          unit: "s",
          range: minMax(trained.map((j) => j.workS)),
          notes: `range ${rangeText(trained.map((j) => j.workS), 1)} s over ${trained.length} jobs`,
        },
        {
          name: "per job: store write (fold + ~480k-row prediction record, one transaction)",
          value: median(trained.map((j) => j.storeS)),
          unit: "s",
          range: minMax(trained.map((j) => j.storeS)),
          notes: `range ${rangeText(trained.map((j) => j.storeS), 2)} s`,
        },
      );
    }
    if (prepared.length > 0) {
      rows.push({
        name: "per worker: preparing the study on its first job",
        value: median(prepared),
        unit: "s",
        range: minMax(prepared),
        notes: `range ${rangeText(prepared, 1)} s over ${prepared.length} worker starts`,
      });
    }
    if (queued.length > 0) {
      rows.push(
        {
          name: "coordinator: start → jobs enqueued (load, audit, dataset, plan, records)",
          value: median(queued.map((q) => q.beforeQueueS)),
          unit: "s",
          range: minMax(queued.map((q) => q.beforeQueueS)),
          notes: `range ${rangeText(queued.map((q) => q.beforeQueueS), 1)} s`,
        },
        {
          name: "coordinator: jobs enqueued → first job picked up by a worker (< 0: before the enqueue call returned)",
          value: median(queued.map((q) => q.dispatchS)),
          unit: "s",
          range: minMax(queued.map((q) => q.dispatchS)),
          notes: `range ${rangeText(queued.map((q) => q.dispatchS), 1)} s`,
        },
        {
          name: "coordinator: last job → study sealed (pooling, backtests)",
          value: median(queued.map((q) => q.afterJobsS)),
          unit: "s",
          range: minMax(queued.map((q) => q.afterJobsS)),
          notes: `range ${rangeText(queued.map((q) => q.afterJobsS), 1)} s`,
        },
        {
          name: "BullMQ per job around the handler (lock, state moves, progress)",
          value: 1000 * median(jobs.map((j) => j.queueS)),
          unit: "ms",
          range: minMax(jobs.map((j) => 1000 * j.queueS)),
          notes: `range ${rangeText(jobs.map((j) => 1000 * j.queueS), 0)} ms`,
        },
      );
    }
    rows.push(
      {
        name: "BullMQ no-op job, add → completed seen, one at a time",
        value: median(overhead.sequentialMs),
        unit: "ms",
        range: minMax(overhead.sequentialMs),
        notes: `range ${rangeText(overhead.sequentialMs, 1)} ms over ${overhead.sequentialMs.length} jobs`,
      },
      { name: "BullMQ no-op job, 500 pipelined", value: overhead.pipelinedMs, unit: "ms/job" },
    );
    return rows;
  } finally {
    globalThis.removeEventListener("unhandledrejection", onUnhandled);
    await Deno.remove(tmp, { recursive: true });
  }
}

if (import.meta.main) console.log(JSON.stringify(await run(), null, 2));
