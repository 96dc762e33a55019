/**
 * The coordinator of a study run on the queue (`candor run --queue`): the local study's steps, with the training
 * spread over worker processes.
 *
 * 1. **Prepare** the study as a local run does (`prepareStudy`: load, features, leakage audit, dataset, fold plan,
 *    configuration gate), so a refused configuration or a leak stops here and nothing is stored or enqueued. A
 *    relative data path is made absolute first (workers resolve it in their own working directories).
 * 2. **Record** the study and one run per entry in the shared store (the same recorder a local run uses).
 * 3. **Enqueue** one `study-fold` job per (entry, fold) — the entries that combine others (stacking) only once every
 *    fold of each of their bases is stored.
 * 4. **Wait**, showing progress from the workers' job events, and **pool** each entry as soon as all its folds are in
 *    the store: its stored folds are read back (`readFoldResults`) and pooled by `finishEntry`, exactly as a local run
 *    pools the folds it just trained — so the verdict, gate, backtest and study report are the local run's.
 * 5. **Assemble** the study report (`studyReport`, shared with the local loop) and seal the study.
 *
 * The store is the source of truth, not the queue's events: the coordinator polls it (every `pollMs`, and whenever a
 * job event arrives), so it survives missed events, a Redis restart, and its own restart. Every `checkJobsMs` it also
 * asks the queue about each fold not yet stored: a job the queue no longer knows (lost with a Redis that ran without
 * persistence) is enqueued again, and a job the queue failed for good (e.g. it stalled more often than allowed) has
 * its run marked failed.
 *
 * **Failures**: when an entry's run is marked failed (by the worker whose last attempt failed, or by the check above),
 * the coordinator removes the study's queued jobs, seals the study's other unfinished runs as failed ("not finished:
 * the study stopped because …"), seals the study failed with the stage, entry, fold and error, and throws
 * {@link QueuedStudyError}. Folds already stored are kept. A study marked `interrupted` by another process meanwhile
 * (a reaper, the dashboard) stops the coordinator with an InterruptedError, the records left as they are.
 *
 * **Resume** (`resume`: a study id, or the id of one of its runs): a coordinator that stopped (killed, machine lost)
 * is replaced by one that reattaches to the stored study: it prepares the same configuration (checking the data's
 * fingerprint), creates the runs that were never created, enqueues only the folds that are neither stored nor known
 * to the queue (job ids are deterministic), and carries on; entries already pooled and sealed are pooled again
 * without writing. A study that was meanwhile sealed `interrupted` (e.g. reaped by `candor runs --reap` once the
 * coordinator's heartbeat went stale) or `failed` is reopened first (`reopenStudy`), and the queue's finished jobs of
 * its unstored folds — skipped because their run was sealed, or failed for good — are removed so those folds are
 * enqueued and trained again. A succeeded study is refused.
 *
 * @module
 */

import { isAbsolute, resolve } from "node:path";
import { CandorError, ConfigError, DataError, InterruptedError } from "../errors.ts";
import { CANDOR_VERSION } from "../version.ts";
import { type ModelEntry, resolveStudyConfig, type StudyConfig, type StudyConfigInput } from "../pipeline/config.ts";
import { type EntryContext, type EntryOutcome, finishEntry } from "../pipeline/entry.ts";
import { StudyRecorder, type StudyStart } from "../pipeline/recorder.ts";
import { readFoldResults } from "../pipeline/stored.ts";
import {
  outOfFold,
  type PreparedStudy,
  prepareStudy,
  type StudyProgress,
  studyReport,
  type StudyResult,
  type StudyStage,
} from "../pipeline/study.ts";
import { trainerOf } from "../pipeline/trainers/registry.ts";
import type { RunError, RunSummary, Store, Study } from "../store/store.ts";
import { NOT_STARTED, type QueueClients, redisConnection, watchJobs, withQueueClients } from "./connection.ts";
import { recordFoldFailure } from "./fold_job.ts";
import { type CandorJob, jobId, type JobOutcome, QUEUE_NAME, storedStudyConfig, type StudyFoldJob } from "./jobs.ts";

/** Options of {@link runStudyOnQueue}. */
export interface QueueStudyOptions {
  /** The shared run store (Postgres) the workers write to. */
  store: Store;
  /** The queue's Redis URL. */
  queue: string;
  /** Reattach to this running study instead of starting one (the configuration is read from the store). */
  resume?: string;
  /** Called as the study advances (the same events as a local run; training fed by the workers' job events). */
  onProgress?: (p: StudyProgress) => void;
  /** Called once the study's jobs are enqueued (its id and how to reattach). */
  onQueued?: (info: { studyId: string; jobs: number; resumed: boolean }) => void;
  /** Attempts per job before its run is marked failed (default 3). */
  attempts?: number;
  /** First retry delay in milliseconds, doubling per attempt (default 5,000). */
  backoffMs?: number;
  /** Milliseconds between two reads of the store while waiting (default 2,000; job events wake it sooner). */
  pollMs?: number;
  /** Milliseconds between two checks of the queue for lost or failed jobs (default 10,000). */
  checkJobsMs?: number;
  /** Milliseconds to wait for Redis at start before giving up (default 10,000). */
  connectTimeoutMs?: number;
  /** Milliseconds between heartbeats of the study and its unfinished runs (default 10,000). */
  heartbeatMs?: number;
}

/** A study run on the queue failed: where (stage, entry, fold) and why, as recorded in the store. */
export class QueuedStudyError extends CandorError {
  /** Where it failed and why. */
  readonly where: RunError & { entry?: string };

  /** Builds the message from where it failed. */
  constructor(studyId: string, where: RunError & { entry?: string }) {
    super(
      `study ${studyId} failed: ${where.entry ?? "the study"}${
        where.fold === undefined ? "" : ` fold ${where.fold + 1}`
      }` +
        ` (stage ${where.stage ?? "?"}): ${where.message}. Folds finished before the failure are kept in the store`,
    );
    this.where = where;
  }
}

/** One model entry as the coordinator tracks it. */
interface EntryState {
  entry: ModelEntry;
  runId: string;
  enqueued: boolean;
  outcome?: EntryOutcome;
}

/** Runs a study on the queue (see the module notes) and returns what a local run returns. */
export async function runStudyOnQueue(
  input: StudyConfigInput | StudyConfig | undefined,
  options: QueueStudyOptions,
): Promise<StudyResult> {
  const { store } = options;
  const progress = options.onProgress ?? (() => {});
  const attempts = options.attempts ?? 3;
  const backoffMs = options.backoffMs ?? 5_000;
  const pollMs = options.pollMs ?? 2_000;
  const checkJobsMs = options.checkJobsMs ?? 10_000;
  redisConnection(options.queue); // a malformed --queue is refused before anything else

  let resumed: Study | undefined;
  let config: StudyConfig;
  if (options.resume !== undefined) {
    resumed = await store.getStudy(options.resume);
    if (resumed === undefined) {
      const [run] = await store.getRuns([options.resume]);
      if (run?.studyId) resumed = await store.getStudy(run.studyId);
    }
    if (resumed === undefined) throw new ConfigError(`--resume: no study ${options.resume} in the run store`);
    if (resumed.status === "succeeded") {
      throw new ConfigError(
        `--resume: study ${resumed.id} is already ${resumed.status}` +
          (resumed.error === null ? "" : ` (${resumed.error.message})`) + `; there is nothing to reattach to`,
      );
    }
    config = storedStudyConfig(resumed);
  } else {
    config = resolveStudyConfig(input ?? {});
    // Workers read the files themselves, from their own working directories: store the path absolute.
    if (config.data.kind === "files" && !isAbsolute(config.data.path)) {
      config = { ...config, data: { ...config.data, path: resolve(config.data.path) } };
    }
  }

  // Connection errors while Redis restarts: the clients reconnect on their own and the store stays the source of
  // truth, so they are shown as progress rather than thrown.
  return await withQueueClients<CandorJob, JobOutcome, StudyResult>(
    options.queue,
    QUEUE_NAME,
    options.connectTimeoutMs ?? 10_000,
    coordinate,
  );

  async function coordinate(
    { queue, events, connectionNote }: QueueClients<CandorJob, JobOutcome>,
  ): Promise<StudyResult> {
    const at: { stage: StudyStage; entry?: string; fold?: number } = { stage: "load" };
    const step = <T>(stage: StudyStage, fraction: number, message: string, fn: () => T): T => {
      at.stage = stage;
      progress({ stage, fraction, message });
      return fn();
    };
    const prep: PreparedStudy = await prepareStudy(config, { step });
    const { market, audit, plan } = prep;
    const { data, previous } = prep.prepared;
    const start: StudyStart = {
      config,
      symbols: [...market.panel.symbols],
      source: market.source,
      fingerprint: market.fingerprint,
      version: CANDOR_VERSION,
      features: prep.prepared.features,
      leakageOverride: audit.leaking,
    };
    if (resumed !== undefined && resumed.dataFingerprint !== market.fingerprint) {
      throw new DataError(
        `--resume: the price files at ${market.source} now have fingerprint ${market.fingerprint}, but study ` +
          `${resumed.id} was started on ${resumed.dataFingerprint}: the data changed; refusing to mix folds of ` +
          `different data in one study`,
      );
    }
    const recorder = new StudyRecorder(store);
    at.stage = "store";
    if (resumed === undefined) await recorder.beginStudy(start);
    else {
      if (resumed.status !== "running") {
        await store.reopenStudy(resumed.id);
        resumed = (await store.getStudy(resumed.id))!;
      }
      recorder.studyId = resumed.id;
    }
    const studyId = recorder.studyId!;

    const states: EntryState[] = [];
    // The coordinator keeps the study and its unfinished runs alive in the store (a heartbeat every heartbeatMs), so
    // `candor runs` shows them live while workers train, and stale once the coordinator is gone.
    const beat = async () => {
      for (const runId of [undefined, ...states.filter((s) => s.outcome === undefined).map((s) => s.runId)]) {
        await store.heartbeat(studyId, runId).catch(() => {}); // a run sealed meanwhile: nothing to keep alive
      }
    };
    const heartbeat = setInterval(() => void beat(), options.heartbeatMs ?? 10_000);
    Deno.unrefTimer(heartbeat as unknown as number);
    try {
      for (const entry of config.models) {
        const trainer = trainerOf(entry.kind)!;
        const existing = resumed?.runs.find((r) => r.entry === entry.name);
        const runId = existing?.id ?? (await recorder.beginEntry(entry, start, await trainer.backend(entry.settings)))!;
        states.push({ entry, runId, enqueued: false });
      }
      const total = states.length * plan.folds.length;
      const { running, sleep } = watchJobs(events, (id) => id !== undefined && id.startsWith(`study-fold|${studyId}|`));

      let queuedJobs = 0;
      let announced = false;
      let lastCheck = Date.now();
      at.stage = "train";
      while (true) {
        const runIds = states.map((s) => s.runId);
        const [folds, runs] = await Promise.all([store.listFolds(runIds), store.getRuns(runIds)]);
        const stored = new Map(runIds.map((id) => [id, new Set<number>()]));
        for (const f of folds) stored.get(f.runId)!.add(f.index);
        const failed = states.map((s) => runs.find((r) => r.id === s.runId)!).find((r) => r.status === "failed");
        if (failed !== undefined) {
          const where = { ...failed.error!, entry: failed.entry ?? undefined };
          await stopStudy(where);
          throw new QueuedStudyError(studyId, where);
        }
        // Marked interrupted by another process (a reaper, the dashboard): its workers now skip its jobs; stop here and
        // leave the records as they are, for --resume.
        const stopped = runs.find((r) => r.status === "interrupted");
        if (stopped !== undefined) throw interruptedBy(stopped.error);
        const complete = (name: string) => {
          const s = states.find((x) => x.entry.name === name)!;
          return stored.get(s.runId)!.size === plan.folds.length;
        };
        for (const s of states) {
          if (s.outcome !== undefined) continue;
          const run = runs.find((r) => r.id === s.runId)!;
          if (complete(s.entry.name)) {
            at.entry = s.entry.name;
            progress({
              stage: "train",
              fraction: 0.12 + 0.83 * (folds.length / total),
              message: `${s.entry.name}: pooling and backtesting`,
              entry: s.entry.name,
            });
            s.outcome = await poolEntry(s, run, prep, recorder);
            at.entry = undefined;
          } else if (!s.enqueued && (s.entry.base ?? []).every(complete)) {
            queuedJobs += await enqueue(s, stored.get(s.runId)!);
            s.enqueued = true;
          }
        }
        if (!announced) {
          options.onQueued?.({ studyId, jobs: queuedJobs, resumed: resumed !== undefined });
          announced = true;
        }
        if (states.every((s) => s.outcome !== undefined)) break;
        if (Date.now() - lastCheck >= checkJobsMs) {
          lastCheck = Date.now();
          await checkJobs(states, stored);
        }
        const partial = [...running.values()].reduce((a, b) => a + b, 0);
        progress({
          stage: "train",
          fraction: 0.12 + 0.83 * Math.min(1, (folds.length + partial) / total),
          message: `${folds.length}/${total} folds stored, ${running.size} running on the workers` +
            connectionNote(),
        });
        await sleep(pollMs);
      }

      at.stage = "compare";
      progress({ stage: "compare", fraction: 0.96, message: "comparing the entries" });
      const outcomes = states.map((s) => s.outcome!);
      const report = studyReport(config, prep, outcomes, studyId);
      at.stage = "store";
      await recorder.finishStudy(report);
      progress({ stage: "done", fraction: 1, message: "done" });
      return {
        id: studyId,
        report,
        panel: market.panel,
        data,
        plan,
        predictions: new Map(outcomes.map((o) => [o.report.name, o.predictions])),
      };
    } catch (error) {
      if (error instanceof QueuedStudyError || error instanceof InterruptedError) throw error;
      // Interrupted while this pass was writing (a pooled entry's run sealed under it): not a failure of the study.
      const now = await store.getStudy(studyId).catch(() => undefined);
      if (now?.status === "interrupted") throw interruptedBy(now.error);
      const where = {
        message: error instanceof Error ? error.message : String(error),
        stage: at.stage,
        ...(at.entry === undefined ? {} : { entry: at.entry }),
        name: error instanceof Error ? error.name : "Error",
      };
      await stopStudy(where).catch((e) => console.error(`candor: could not record the failure: ${e}`));
      throw error;
    } finally {
      clearInterval(heartbeat);
    }

    /** The error that stops the coordinator of a study another process marked interrupted. */
    function interruptedBy(error: RunError | null): InterruptedError {
      return new InterruptedError(
        `study ${studyId} was marked interrupted by another process (${error?.message ?? "no reason given"}); its ` +
          `workers skip its jobs. Continue it with --resume ${studyId}`,
        error?.signal ?? "interrupted",
      );
    }

    /** Enqueues the entry's folds that are not stored; returns how many jobs it added. */
    async function enqueue(s: EntryState, done: Set<number>): Promise<number> {
      const missing = plan.folds.filter((f) => !done.has(f.index)).map((f): StudyFoldJob => ({
        kind: "study-fold",
        studyId,
        runId: s.runId,
        entry: s.entry.name,
        fold: f.index,
      }));
      if (resumed !== undefined) {
        // A finished job whose fold is not stored did not store it (skipped: its run was sealed; or failed for good):
        // removed, or the queue would ignore the new job with its id.
        for (const job of missing) {
          const old = await queue.getJob(jobId(job));
          if (old !== undefined && ["completed", "failed"].includes(await old.getState())) await old.remove();
        }
      }
      const jobs = missing.map((job) => {
        return {
          name: job.kind as string,
          data: job as CandorJob,
          opts: {
            jobId: jobId(job),
            attempts,
            backoff: { type: "exponential", delay: backoffMs },
            removeOnComplete: { age: 7 * 86_400 },
            removeOnFail: { age: 30 * 86_400 },
          },
        };
      });
      if (jobs.length > 0) await queue.addBulk(jobs);
      return jobs.length;
    }

    /** Pools an entry whose folds are all stored (without writing when its run is already sealed). */
    async function poolEntry(
      s: EntryState,
      run: RunSummary,
      p: PreparedStudy,
      rec: StudyRecorder,
    ): Promise<EntryOutcome> {
      const trainer = trainerOf(s.entry.kind)!;
      const ctx: EntryContext = {
        entry: s.entry,
        trainer,
        data,
        previous,
        plan,
        panel: p.market.panel,
        config,
        oof: outOfFold(plan, data, new Map()),
        recorder: run.status === "running" ? rec : new StudyRecorder(),
        runId: s.runId,
        backend: run.backend ?? (await trainer.backend(s.entry.settings)),
        onProgress: () => {},
        onFold: () => {},
      };
      return await finishEntry(ctx, await readFoldResults(store, s.runId, data, previous));
    }

    /** Re-enqueues jobs the queue lost; marks the run of a job the queue failed for good. */
    async function checkJobs(all: EntryState[], stored: Map<string, Set<number>>): Promise<void> {
      for (const s of all) {
        if (!s.enqueued || s.outcome !== undefined) continue;
        for (const f of plan.folds) {
          if (stored.get(s.runId)!.has(f.index)) continue;
          const data: StudyFoldJob = {
            kind: "study-fold",
            studyId,
            runId: s.runId,
            entry: s.entry.name,
            fold: f.index,
          };
          const job = await queue.getJob(jobId(data));
          if (job === undefined) {
            s.enqueued = false; // enqueued again (the missing folds only) on the next pass
            continue;
          }
          if (await job.getState() === "failed") {
            await recordFoldFailure(store, data, {
              message: job.failedReason || "the job failed",
              stage: "train",
            });
          }
        }
      }
    }

    /** Stops a failed study: queued jobs removed, unfinished runs and the study sealed failed (module notes). */
    async function stopStudy(where: RunError & { entry?: string }): Promise<void> {
      for (const s of states) {
        for (const f of plan.folds) {
          const id = jobId({ kind: "study-fold", studyId, runId: s.runId, entry: s.entry.name, fold: f.index });
          const job = await queue.getJob(id);
          if (job !== undefined && NOT_STARTED.has(await job.getState())) await job.remove().catch(() => {});
        }
      }
      const runs = await store.getRuns(states.map((s) => s.runId));
      const where1 = where.fold === undefined ? "" : ` at fold ${where.fold + 1}`;
      for (const r of runs.filter((x) => x.status === "running")) {
        const own = r.entry === where.entry;
        await store.finishRun(r.id, {
          status: "failed",
          error: own
            ? {
              message: where.message,
              stage: where.stage ?? "train",
              ...(where.fold === undefined ? {} : { fold: where.fold }),
              name: where.name ?? "Error",
            }
            : {
              message: `not finished: the study stopped because ${
                where.entry ?? "the study"
              } failed${where1}: ${where.message}`,
              stage: "train",
              name: "Stopped",
            },
        }).catch(() => {}); // sealed meanwhile: its own record stands
      }
      await recorder.failStudy(where);
    }
  }
}
