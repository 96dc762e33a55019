/**
 * The jobs candor puts on its BullMQ queue, and the contract a worker runs them through.
 *
 * A job is a small JSON record naming work whose inputs live elsewhere: the study's resolved configuration and data
 * fingerprint are in the run store, the prices on a filesystem every worker reads. A job never carries data, so a
 * queue entry costs a few hundred bytes of Redis whatever the size of the study.
 *
 * Kinds, each run by one {@link JobHandler} (a new kind is one handler file plus one line in the worker's handler
 * list; the worker loop never branches on the kind):
 * - `study-fold`: one fold of one model entry of a study ({@link StudyFoldJob}), run by lib/scaleout/fold_job.ts;
 * - a sweep cell (one configuration of a backtest or training sweep) is meant to join as another member of
 *   {@link CandorJob} with its own handler.
 *
 * Job ids are deterministic ({@link jobId}): enqueueing the same work again — a coordinator resumed after a crash —
 * adds nothing while the first job is still known to the queue.
 *
 * @module
 */

import { CandorError } from "../errors.ts";
import type { Store } from "../store/store.ts";

/** Name of the BullMQ queue every candor job goes through (Redis keys `bull:candor:*`). */
export const QUEUE_NAME = "candor";

/** One fold of one model entry of a stored study: train it, evaluate it, store it. */
export interface StudyFoldJob {
  /** The job kind. */
  kind: "study-fold";
  /** The study (its resolved config and data fingerprint are read from the store). */
  studyId: string;
  /** The entry's run, where the fold is stored. */
  runId: string;
  /** The model entry's name in the study config. */
  entry: string;
  /** The fold's index in the study's fold plan. */
  fold: number;
}

/** Every kind of job a worker takes (a sweep cell joins this union with its own handler). */
export type CandorJob = StudyFoldJob;

/**
 * The job's id: deterministic, and free of `:` (which BullMQ refuses in custom ids). Entry names are URI-encoded, so
 * two entries never share an id.
 */
export function jobId(job: CandorJob): string {
  return `${job.kind}|${job.studyId}|${encodeURIComponent(job.entry)}|${job.fold}`;
}

/** What a finished job reports (kept by the queue as the job's return value; a few hundred bytes). */
export interface JobOutcome {
  /**
   * `written`: the result was stored by this attempt; `duplicate`: an earlier attempt had already stored it (nothing
   * written); `skipped`: there was nothing left to do (the run or study was sealed meanwhile, e.g. failed).
   */
  outcome: "written" | "duplicate" | "skipped";
  /** Why it was skipped. */
  reason?: string;
  /** The worker that ran it (`host:pid` or its `--name`). */
  worker: string;
  /**
   * Wall times in milliseconds: preparing the study (0 when this process had it cached), the work (training and
   * storing), the store write alone, the whole job.
   */
  ms: { prepare: number; work: number; store: number; total: number };
}

/** What a handler gets besides the job. */
export interface JobContext {
  /** The shared run store. */
  store: Store;
  /** This worker's name (`host:pid` or its `--name`). */
  worker: string;
  /** Reports progress within the job, fraction in [0, 1] (throttled before it reaches Redis). */
  progress(fraction: number, status: string): void;
}

/** Runs one kind of job in a worker process. */
export interface JobHandler<J extends CandorJob = CandorJob> {
  /** The kind it runs. */
  readonly kind: J["kind"];
  /** Runs the job; throws a {@link JobError} (with the stage) when it fails. */
  run(job: J, ctx: JobContext): Promise<JobOutcome>;
  /**
   * Records in the store that the job failed for good (its last attempt failed, or it cannot succeed), so the run says
   * where it stopped even when no coordinator is watching. Must tolerate being called twice.
   */
  recordFailure(job: J, error: JobError, store: Store): Promise<void>;
}

/** A job that failed: the stage it was in (`load`, `dataset`, `train`, `store`, ...) and the cause's message. */
export class JobError extends CandorError {
  /** The stage the job was in. */
  readonly stage: string;
  /** True when retrying cannot help (a deterministic refusal); the queue then fails the job at once. */
  readonly permanent: boolean;
  /** Class name of the underlying error (e.g. `DataError`). */
  readonly causeName: string;

  /** Wraps `cause`, thrown during `stage`. */
  constructor(stage: string, cause: unknown, options: { permanent?: boolean } = {}) {
    super(cause instanceof Error ? cause.message : String(cause), { cause });
    this.stage = stage;
    this.permanent = options.permanent ?? false;
    this.causeName = cause instanceof Error ? cause.name : "Error";
  }
}

/** A stored study's configuration (see lib/pipeline/resume.ts). */
export { storedStudyConfig } from "../pipeline/resume.ts";
