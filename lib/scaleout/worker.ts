/**
 * A worker process: takes candor jobs from the BullMQ queue, runs each through its kind's {@link JobHandler}, and
 * writes results to the shared run store. `candor worker` is this plus argument parsing and signals.
 *
 * Failure handling (BullMQ's, configured here):
 * - **Stalled jobs.** A worker holds a lock on each job it runs and renews it every `lockMs / 2` while the job runs;
 *   a worker that dies (killed, machine lost) stops renewing, and after `lockMs` another worker's stalled-job check
 *   (every `lockMs`) puts the job back in the queue, where any worker takes it. A job may stall twice
 *   (`maxStalledCount` 2) before the queue fails it. The lock is renewed from the event loop: a computation that
 *   blocks the loop for longer than `lockMs` makes a live job look stalled (it is then run twice; the store keeps one
 *   copy), so keep `lockMs` well above the longest synchronous step (XGBoost yields every 100 ms while training; preparing a
 *   study — loading, features, dataset — does not: 20 s for the 455-symbol S&P 500 files with the base features on
 *   a busy 2-core machine, where 30 s locks made live jobs stall and run twice, hence the 120 s default).
 * - **Retries.** A failed attempt is retried with exponential backoff up to the job's `attempts` (set by the
 *   coordinator); a permanent failure (a configuration the study cannot run with) is not retried. When the last
 *   attempt fails, the handler records the failure in the store (a study fold: the run is sealed `failed` with stage,
 *   fold and error), so the store says where the study stopped even when no coordinator is watching; a sweep batch
 *   has nothing stored to mark (its sweep is stored only once assembled), and its coordinator fails the sweep.
 * - **Shutdown.** `close()` stops taking jobs and waits for the running ones; `close(true)` abandons them (their
 *   locks expire and other workers retry them).
 *
 * @module
 */

import type { Job } from "bullmq";
import type { Store } from "../store/store.ts";
import { probeRedis, redactRedisUrl, redisConnection } from "./connection.ts";
import { studyFoldHandler } from "./fold_job.ts";
import { type CandorJob, describeJob, JobError, type JobHandler, type JobOutcome, QUEUE_NAME } from "./jobs.ts";
import { sweepCellsHandler } from "./sweep_job.ts";

/** Options of {@link startWorker}. */
export interface WorkerOptions {
  /** The queue's Redis URL (`redis://host:port[/db]`). */
  queue: string;
  /** The shared run store (Postgres) where results are written. */
  store: Store;
  /** Jobs run at once in this process (default 1; training is CPU-bound, so prefer one process per core). */
  concurrency?: number;
  /** Job lock duration in milliseconds (default 120,000); see the module notes. */
  lockMs?: number;
  /** This worker's name in logs and job records (default `host:pid`). */
  name?: string;
  /** Where log lines go (default stderr). */
  log?: (line: string) => void;
  /** Prepared studies kept in memory (default 1). */
  cachedStudies?: number;
  /** Least milliseconds between two progress updates of a job sent to Redis (default 500). */
  progressMs?: number;
}

/** A running worker. */
export interface RunningWorker {
  /** Its name. */
  readonly name: string;
  /** Jobs finished by this process, by outcome, and failed attempts. */
  readonly counts: Record<JobOutcome["outcome"] | "failed", number>;
  /** Stops taking jobs; waits for running ones unless `force`. */
  close(force?: boolean): Promise<void>;
}

/** Starts a worker (see the module notes); resolves once it is connected and taking jobs. */
export async function startWorker(options: WorkerOptions): Promise<RunningWorker> {
  // Loaded here, not with the module: bullmq (CommonJS) would otherwise be paid by every import of the library.
  const { UnrecoverableError, Worker } = await import("bullmq");
  const name = options.name ?? `${Deno.hostname()}:${Deno.pid}`;
  const log = options.log ?? ((line: string) => console.error(line));
  const lockMs = options.lockMs ?? 120_000;
  const progressMs = options.progressMs ?? 500;
  const handlers = new Map<string, JobHandler>(
    [studyFoldHandler({ cachedStudies: options.cachedStudies }), sweepCellsHandler()].map((
      h,
    ) => [h.kind, h as JobHandler]),
  );
  const counts = { written: 0, duplicate: 0, skipped: 0, failed: 0 };
  const stamp = () => new Date().toISOString().slice(11, 19);

  const runJob = async (job: Job<CandorJob, JobOutcome>): Promise<JobOutcome> => {
    const handler = handlers.get(job.data.kind);
    if (handler === undefined) {
      throw new UnrecoverableError(`worker ${name} does not know job kind ${JSON.stringify(job.data.kind)}`);
    }
    const attempts = job.opts.attempts ?? 1;
    log(`${stamp()} ${name}: ${describeJob(job.data)} started (attempt ${job.attemptsMade + 1} of ${attempts})`);
    let last = 0;
    const progress = (fraction: number, status: string) => {
      const now = Date.now();
      if (now - last < progressMs && fraction < 1) return;
      last = now;
      job.updateProgress({ fraction, status }).catch(() => {}); // progress is advisory; never fail a job on it
    };
    try {
      const out = await handler.run(job.data, { store: options.store, worker: name, progress });
      counts[out.outcome]++;
      log(
        `${stamp()} ${name}: ${describeJob(job.data)} ${out.outcome}${out.reason ? ` (${out.reason})` : ""} in ` +
          `${(out.ms.total / 1000).toFixed(1)} s` +
          (out.ms.prepare > 0 ? ` (preparing ${handler.prepares} ${(out.ms.prepare / 1000).toFixed(1)} s)` : ""),
      );
      return out;
    } catch (e) {
      counts.failed++;
      const error = e instanceof JobError ? e : new JobError("train", e);
      const final = error.permanent || job.attemptsMade + 1 >= attempts;
      log(
        `${stamp()} ${name}: ${describeJob(job.data)} failed at ${error.stage}: ${error.message}` +
          (final ? ` — no attempts left, ${handler.afterFailure}` : " — will be retried"),
      );
      if (final) {
        await handler.recordFailure(job.data, error, options.store).catch((r) =>
          log(`${stamp()} ${name}: could not record the failure in the store: ${(r as Error).message}`)
        );
      }
      if (error.permanent) throw new UnrecoverableError(error.message);
      throw error;
    }
  };

  await probeRedis(options.queue);
  await options.store.listStudies({ limit: 1 }); // a store that cannot be reached fails here, not job by job
  const worker = new Worker<CandorJob, JobOutcome>(QUEUE_NAME, runJob, {
    connection: redisConnection(options.queue),
    concurrency: options.concurrency ?? 1,
    lockDuration: lockMs,
    stalledInterval: lockMs,
    maxStalledCount: 2,
    name,
    autorun: true,
  });
  worker.on("error", (e) => {
    const lost = /^Missing lock for job (\S+)\. moveToFinished/.exec(e.message);
    log(
      lost === null ? `${stamp()} ${name}: queue error: ${e.message}` : `${stamp()} ${name}: lost the lock of job ` +
        `${lost[1]} while running it (the event loop was blocked, or Redis unreachable, for longer than the lock); ` +
        `its next attempt finds the result stored and does nothing`,
    );
  });
  worker.on("stalled", (id) =>
    log(
      `${stamp()} ${name}: job ${id} stalled (its worker stopped, or did not renew the lock in time); it is retried`,
    ));
  await worker.waitUntilReady();
  log(
    `${stamp()} ${name}: taking jobs from ${redactRedisUrl(options.queue)} (concurrency ${options.concurrency ?? 1})`,
  );
  return {
    name,
    counts,
    close: (force = false) => worker.close(force),
  };
}
