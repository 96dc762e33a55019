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
 * - `sweep-cells`: a consecutive batch of cells of a sweep over a stored run ({@link SweepCellsJob}), run by
 *   lib/scaleout/sweep_job.ts. Its result (each cell's metrics and daily net returns) is the job's return value: the
 *   coordinator assembles the sweep and stores its trials once, in one transaction, as a local sweep does.
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

/**
 * Cells `from` to `to` (exclusive) of a sweep over a stored run: backtest them and return their results. The worker
 * reads the run's predictions from the store and its prices from `dataPath`, plans the sweep from `grid` exactly as
 * the coordinator did (lib/production/sweep.ts `planSweep`), and refuses when its plan has another number of cells.
 */
export interface SweepCellsJob {
  /** The job kind. */
  kind: "sweep-cells";
  /** The queued sweep's id (`sweepq_` + a ULID; the stored sweep gets its own id when it is assembled). */
  sweepId: string;
  /** The stored run swept. */
  runId: string;
  /** The parsed grid (JSON). */
  grid: Record<string, unknown>;
  /** Absolute path of the price files (absent for a synthetic-data run). */
  dataPath?: string;
  /** Cells of the whole sweep (a check that worker and coordinator planned the same sweep). */
  cells: number;
  /** First cell of the batch (0-based). */
  from: number;
  /** One past the batch's last cell. */
  to: number;
}

/**
 * Cells per `sweep-cells` job when none is asked for: ⌈cells / 32⌉, at most 32 — so a sweep has about 32 jobs (enough to
 * spread over the workers; a short grid gets one cell per job) and a large grid's job carries 32 cells. Measured on
 * this machine (README, scale-out): a job costs the queue about 16 ms (median; 1–79 ms on a loaded machine), a
 * single-symbol cell 2.5 ms and a 455-symbol synthetic book's cell 71 ms (one year), so the queue's share is about 20 % either
 * way: 32 small cells per job, or one book cell per job.
 */
export function defaultCellsPerJob(cells: number): number {
  return Math.min(32, Math.max(1, Math.ceil(cells / 32)));
}

/** Every kind of job a worker takes. */
export type CandorJob = StudyFoldJob | SweepCellsJob;

/**
 * The job's id: deterministic, and free of `:` (which BullMQ refuses in custom ids). Entry names are URI-encoded, so
 * two entries never share an id.
 */
export function jobId(job: CandorJob): string {
  if (job.kind === "sweep-cells") return `${job.kind}|${job.sweepId}|${job.from}`;
  return `${job.kind}|${job.studyId}|${encodeURIComponent(job.entry)}|${job.fold}`;
}

/** A job in a few words, for logs. */
export function describeJob(job: CandorJob): string {
  if (job.kind === "sweep-cells") {
    return `cells ${job.from + 1}–${job.to} of ${job.cells} of sweep ${job.sweepId}`;
  }
  return `fold ${job.fold + 1} of ${job.entry} (${job.studyId})`;
}

/**
 * One sweep cell's result as it travels in a job's return value (JSON): the row with every non-finite number written
 * as a string (`"NaN"`, `"Infinity"`, `"-Infinity"`), the dates, and the daily net returns as the base64 of their
 * little-endian float64 bytes — so the coordinator reads back bit for bit what the worker computed.
 */
export interface EncodedSweepCell {
  /** Cell number in the sweep. */
  cell: number;
  /** The row (lib/backtest/sweep.ts `SweepRow`), non-finite numbers as strings. */
  row: Record<string, unknown>;
  /** The backtest's dates. */
  dates: string[];
  /** base64 of the net returns' float64 bytes. */
  net: string;
}

/** What a finished job reports (kept by the queue as the job's return value; a few hundred bytes). */
export interface JobOutcome {
  /**
   * `written`: the result was stored by this attempt (a sweep batch: its results are in `cells`); `duplicate`: an
   * earlier attempt had already stored it (nothing written); `skipped`: there was nothing left to do (the run or study
   * was sealed meanwhile, e.g. failed).
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
  /** A `sweep-cells` job's results, one per cell of the batch, in cell order. */
  cells?: EncodedSweepCell[];
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
  /** What the handler prepares before its first job of a kind (for logs), e.g. "the study". */
  readonly prepares: string;
  /** What {@link recordFailure} leaves behind once a job failed for good (for logs), e.g. "the run is marked failed". */
  readonly afterFailure: string;
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
