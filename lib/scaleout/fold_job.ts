/**
 * The `study-fold` job: one fold of one model entry of a stored study, trained in a worker process by exactly the
 * code a local run uses (`prepareStudy`, then `trainFold`), and stored through the same recorder.
 *
 * - **The study is prepared once per configuration per worker process**: loading the prices, the features, the
 *   dataset and the fold plan are deterministic for a resolved configuration (`prepareStudy`), so the result is
 *   cached and every later job of the same study only trains. The leakage audit is not repeated (the coordinator ran
 *   it before anything was enqueued).
 * - **The data is read by the worker** from the path in the study's configuration: it must be a path every worker can
 *   read (a shared filesystem mounted at the same place, or identical copies). A worker that cannot read it fails the
 *   job with a message saying so; a worker whose files do not have the study's fingerprint refuses to train on them.
 * - **Idempotent**: a fold the run already holds is not trained again (`duplicate`), and the store writes the fold
 *   with all its parts in one transaction keyed by (run, fold) (`recordFold`), so two attempts racing on one
 *   fold store it once. A run or study sealed meanwhile (another fold failed for good) makes the job a no-op
 *   (`skipped`).
 * - **Stacking** folds read their base entries' stored out-of-sample predictions (`readFoldResults`); the coordinator
 *   enqueues them only once every fold of every base is stored.
 *
 * @module
 */

import { ConfigError, DataError, LeakageError, StoreError } from "../errors.ts";
import type { StudyConfig } from "../pipeline/config.ts";
import { type EntryContext, trainFold } from "../pipeline/entry.ts";
import { StudyRecorder } from "../pipeline/recorder.ts";
import { outOfSampleScores, readFoldResults } from "../pipeline/stored.ts";
import { outOfFold, type PreparedStudy, prepareStudy, type StudyStage } from "../pipeline/study.ts";
import { trainerOf } from "../pipeline/trainers/registry.ts";
import type { FoldWriteOutcome, Store } from "../store/store.ts";
import {
  type JobContext,
  JobError,
  type JobHandler,
  type JobOutcome,
  storedStudyConfig,
  type StudyFoldJob,
} from "./jobs.ts";

/** A recorder that remembers whether the fold it wrote was new (`written`) or already stored (`duplicate`). */
class FoldRecorder extends StudyRecorder {
  /** What the fold write did. */
  outcome?: FoldWriteOutcome;
  /** Milliseconds the write took. */
  ms = 0;
  /** Called when the write starts (the job's stage becomes `store`). */
  onWrite: () => void = () => {};

  override async fold(...args: Parameters<StudyRecorder["fold"]>): Promise<FoldWriteOutcome | undefined> {
    this.onWrite();
    const t0 = performance.now();
    this.outcome = await super.fold(...args);
    this.ms = performance.now() - t0;
    return this.outcome;
  }
}

/** Prepared studies of this process, by resolved configuration, most recently used last. */
class PreparedStudies {
  readonly #entries = new Map<string, { fingerprint: Promise<string>; prepared: Promise<PreparedStudy> }>();
  readonly #capacity: number;

  constructor(capacity: number) {
    this.#capacity = Math.max(1, capacity);
  }

  /**
   * The prepared study of `config`, whose data must have fingerprint `expected`. A cached one whose fingerprint
   * differs (the files changed since it was prepared) is prepared again once; still different is a DataError.
   * `hit` says whether the cache answered.
   */
  async get(
    config: StudyConfig,
    expected: string,
    step: (stage: StudyStage) => void,
  ): Promise<{ prepared: PreparedStudy; hit: boolean }> {
    const key = JSON.stringify(config);
    let entry = this.#entries.get(key);
    let hit = entry !== undefined;
    if (entry !== undefined && await entry.fingerprint.catch(() => "") !== expected) {
      this.#entries.delete(key);
      entry = undefined;
      hit = false;
    }
    if (entry === undefined) {
      const prepared = prepareStudy(config, {
        audit: false,
        step: <T>(stage: StudyStage, _f: number, _m: string, fn: () => T): T => {
          step(stage);
          return fn();
        },
      });
      entry = { prepared, fingerprint: prepared.then((p) => p.market.fingerprint) };
      prepared.catch(() => this.#entries.delete(key));
      while (this.#entries.size >= this.#capacity) this.#entries.delete(this.#entries.keys().next().value!);
    }
    this.#entries.delete(key);
    this.#entries.set(key, entry);
    const prepared = await entry.prepared;
    if (prepared.market.fingerprint !== expected) {
      this.#entries.delete(key);
      step("load");
      throw new DataError(
        `the price files at ${prepared.market.source} have fingerprint ${prepared.market.fingerprint} on this ` +
          `worker, but the study was planned on ${expected}: the data changed since the study started, or differs ` +
          `on this machine. Refusing to train on other data`,
      );
    }
    return { prepared, hit };
  }
}

/** Refuses, with what to do, a data path this worker cannot read (`what`: whose files they are, for the message). */
export async function checkReadable(path: string, worker: string, what = "the study's"): Promise<void> {
  try {
    const info = await Deno.stat(path);
    if (info.isDirectory) {
      for await (const _ of Deno.readDir(path)) break;
    } else (await Deno.open(path, { read: true })).close();
  } catch (e) {
    throw new DataError(
      `worker ${worker} cannot read ${what} price files here (${(e as Error).message}). Workers read the ` +
        `data themselves: put it on a filesystem every worker mounts at the same path (a shared volume, NFS), or ` +
        `copy the same files to that path on every machine`,
      { file: path },
      { cause: e },
    );
  }
}

/** Options of {@link studyFoldHandler}. */
export interface StudyFoldHandlerOptions {
  /** Prepared studies kept in memory (default 1; a 455-symbol study with the full feature set holds GBs). */
  cachedStudies?: number;
}

/** The handler of `study-fold` jobs (see the module notes). */
export function studyFoldHandler(options: StudyFoldHandlerOptions = {}): JobHandler<StudyFoldJob> {
  const cache = new PreparedStudies(options.cachedStudies ?? 1);
  return {
    kind: "study-fold",
    prepares: "the study",
    afterFailure: "the run is marked failed",
    async run(job: StudyFoldJob, ctx: JobContext): Promise<JobOutcome> {
      const t0 = performance.now();
      let stage = "load";
      let prepareMs = 0;
      let storeMs = 0;
      const outcome = (o: JobOutcome["outcome"], reason?: string, workStart = performance.now()): JobOutcome => ({
        outcome: o,
        ...(reason === undefined ? {} : { reason }),
        worker: ctx.worker,
        ms: { prepare: prepareMs, work: performance.now() - workStart, store: storeMs, total: performance.now() - t0 },
      });
      const { store } = ctx;
      try {
        const study = await store.getStudy(job.studyId);
        if (study === undefined) {
          throw new JobError(
            "load",
            new ConfigError(`no study ${job.studyId} in this worker's run store: is --db the coordinator's store?`),
            { permanent: true },
          );
        }
        const run = study.runs.find((r) => r.id === job.runId);
        if (run === undefined || run.entry !== job.entry) {
          throw new JobError(
            "load",
            new ConfigError(`study ${job.studyId} has no run ${job.runId} for entry ${job.entry}`),
            { permanent: true },
          );
        }
        if ((await store.listFolds([job.runId])).some((f) => f.index === job.fold)) return outcome("duplicate");
        if (run.status !== "running") return outcome("skipped", `run ${run.id} is ${run.status}`);
        if (study.status !== "running") return outcome("skipped", `study ${study.id} is ${study.status}`);

        const config = storedStudyConfig(study);
        const entry = config.models.find((m) => m.name === job.entry);
        if (entry === undefined) throw new ConfigError(`study ${study.id} has no entry ${job.entry}`);
        const trainer = trainerOf(entry.kind);
        if (trainer === undefined) {
          // Not permanent: another worker may have the kind registered.
          throw new JobError(
            "load",
            new ConfigError(
              `model kind ${entry.kind} is not registered in worker ${ctx.worker}: start it with --import MODULE, a ` +
                `module that calls registerTrainer for the kind`,
            ),
          );
        }
        if (config.data.kind === "files") await checkReadable(config.data.path, ctx.worker);
        const tPrepare = performance.now();
        ctx.progress(0, "preparing the study");
        const { prepared, hit } = await cache.get(config, study.dataFingerprint ?? "", (s) => (stage = s));
        if (!hit) prepareMs = performance.now() - tPrepare;
        const { plan, market } = prepared;
        const { data, previous } = prepared.prepared;
        const position = plan.folds.findIndex((f) => f.index === job.fold);
        if (position < 0) throw new ConfigError(`the study's fold plan has no fold ${job.fold}`);

        stage = "train";
        const tWork = performance.now();
        const bases = new Map<string, ReturnType<typeof outOfSampleScores>>();
        for (const base of entry.base ?? []) {
          const baseRun = study.runs.find((r) => r.entry === base);
          const results = baseRun === undefined ? [] : await readFoldResults(store, baseRun.id, data, previous);
          if (results.length < plan.folds.length) {
            throw new Error(
              `base entry ${base} has ${results.length} of ${plan.folds.length} folds stored; a stacking fold runs ` +
                `once every fold of its bases is stored`,
            );
          }
          bases.set(base, outOfSampleScores(data, results));
        }
        const n = plan.folds.length;
        const recorder = new FoldRecorder(store);
        recorder.onWrite = () => (stage = "store");
        const ctxEntry: EntryContext = {
          entry,
          trainer,
          data,
          previous,
          plan,
          panel: market.panel,
          config,
          oof: outOfFold(plan, data, bases),
          recorder,
          runId: job.runId,
          backend: await trainer.backend(entry.settings),
          // trainFold reports progress over the whole entry, (i + f) / n: rescaled to this fold.
          onProgress: (f, status) => ctx.progress(Math.min(1, Math.max(0, f * n - position)), status),
          onFold: () => {},
        };
        try {
          await trainFold(ctxEntry, plan.folds[position], { i: position, n });
        } catch (e) {
          if (stage === "store" && e instanceof StoreError) {
            const [now] = await store.getRuns([job.runId]);
            if (now !== undefined && now.status !== "running") {
              return outcome("skipped", `run ${now.id} was sealed ${now.status} while the fold trained`, tWork);
            }
          }
          throw e;
        }
        storeMs = recorder.ms;
        return outcome(recorder.outcome === "duplicate" ? "duplicate" : "written", undefined, tWork);
      } catch (e) {
        if (e instanceof JobError) throw e;
        throw new JobError(stage, e, { permanent: e instanceof ConfigError || e instanceof LeakageError });
      }
    },
    async recordFailure(job: StudyFoldJob, error: JobError, store: Store): Promise<void> {
      await recordFoldFailure(store, job, { message: error.message, stage: error.stage, name: error.causeName });
    },
  };
}

/**
 * Seals a fold job's run as failed with where it stopped (stage, fold) and the error; a run already sealed is left as
 * it is (the first recorded failure stands).
 */
export async function recordFoldFailure(
  store: Store,
  job: StudyFoldJob,
  error: { message: string; stage: string; name?: string },
): Promise<void> {
  const [run] = await store.getRuns([job.runId]);
  if (run === undefined || run.status !== "running") return;
  try {
    await store.finishRun(job.runId, {
      status: "failed",
      error: { message: error.message, stage: error.stage, fold: job.fold, name: error.name ?? "Error" },
    });
  } catch (e) {
    const [again] = await store.getRuns([job.runId]);
    if (again?.status === "running") throw e; // sealed meanwhile by another process: its failure stands
  }
}
