/**
 * The coordinator of a sweep run on the queue (`candor sweep --queue`): the local sweep's steps, with the cells'
 * backtests spread over worker processes.
 *
 * 1. **Plan** the sweep as a local sweep does (`loadStoredRun`, `planSweep`), so a refused grid stops here and
 *    nothing is enqueued. The prices' path is made absolute (workers resolve it in their own working directories).
 * 2. **Record** the sweep's specification in Redis (`candor:sweep:<id>`, kept 30 days: the run, the grid, the data
 *    path, the outputs, the batch size) under a new id `sweepq_` + a ULID, for `--resume`.
 * 3. **Enqueue** one `sweep-cells` job per batch of `cellsPerJob` consecutive cells (job id `sweep-cells|<id>|<first
 *    cell>`, so enqueueing a batch twice adds nothing).
 * 4. **Wait**, showing progress from the workers' job events, and collect each finished batch's results from its job's
 *    return value. Every `checkJobsMs` it also asks the queue about each batch not yet collected: a job the queue no
 *    longer knows (lost with a Redis that ran without persistence) is enqueued again.
 * 5. **Assemble** the sweep from every cell's result with `assembleSweep`, the local sweep's own last step: the deflated
 *    Sharpe ratios (N counted by the store's trial registry, this sweep's cells once each), PBO, the CSV/JSON outputs,
 *    and the stored sweep with its trials in one transaction. Then the sweep's jobs are removed from Redis (their
 *    results are a few KB per cell-year) and its specification is marked stored.
 *
 * **Failures**: a batch the queue failed for good (its attempts spent, or a permanent refusal such as a window without
 * predictions) stops the sweep: its jobs not yet started are removed, its specification is marked failed with the
 * cell and the error, nothing is stored (as when a local sweep throws), and {@link QueuedSweepError} is thrown.
 *
 * **Resume** (`resume`: a queued sweep id): a coordinator that stopped is replaced by one that reads the specification,
 * plans the same sweep again, collects the batches already finished, enqueues again the ones the queue lost or failed
 * (a resumed sweep gives its failed cells a new set of attempts), and carries on. A sweep already stored is refused.
 * A coordinator that stopped while assembling (its specification says `assembling`, since when) may have stored the
 * sweep already: resume looks for a sweep of the same run with as many cells stored since then, and refuses as
 * stored when there is one — so resuming never stores a sweep twice.
 *
 * @module
 */

import { isAbsolute, resolve } from "node:path";
import type { Redis, RedisOptions as RedisClientOptions } from "ioredis";
import { CandorError, ConfigError } from "../errors.ts";
import { ensureOutputDir } from "../data/files.ts";
import { loadStoredRun } from "../production/rebacktest.ts";
import {
  assembleSweep,
  DEFAULT_SWEEP_DIR,
  parseSweepGrid,
  planSweep,
  type SweepCellResult,
  type SweepGridConfig,
  type SweepOutputOptions,
  type SweepResult,
} from "../production/sweep.ts";
import { newSweepId } from "../store/run_id.ts";
import type { Store } from "../store/store.ts";
import { NOT_STARTED, type QueueClients, redisConnection, watchJobs, withQueueClients } from "./connection.ts";
import { type CandorJob, defaultCellsPerJob, jobId, type JobOutcome, QUEUE_NAME, type SweepCellsJob } from "./jobs.ts";
import { decodeSweepCell } from "./sweep_job.ts";

/** What the coordinator keeps in Redis about a sweep (`candor:sweep:<id>`), for `--resume`. */
export interface QueuedSweepSpec {
  /** The stored run swept. */
  runId: string;
  /** The parsed grid. */
  grid: Record<string, unknown>;
  /** The grid as the user wrote it (stored with the sweep). */
  gridSource?: Record<string, unknown>;
  /** Absolute path of the price files, if any. */
  dataPath?: string;
  /** Output folder. */
  outDir?: string;
  /** False: neither store nor write. */
  save: boolean;
  /** Cells per job (0 until the sweep is planned when none was asked for). */
  cellsPerJob: number;
  /** Cells of the sweep. */
  cells: number;
  /**
   * `running`; `assembling` (since `assemblingAt`, epoch ms: every result is in, the sweep is being stored); `failed`
   * (with `error`); `stored` (with `storedAs`, the stored sweep's id, or null when not saved).
   */
  status: "running" | "assembling" | "failed" | "stored";
  /** When assembling started (epoch milliseconds). */
  assemblingAt?: number;
  /** Where and why it failed. */
  error?: { cell?: number; message: string };
  /** The stored sweep's id. */
  storedAs?: string | null;
}

/** Progress of a sweep on the queue. */
export interface SweepProgress {
  /** Cells whose results are back. */
  done: number;
  /** Cells of the sweep. */
  cells: number;
  /** Jobs running on the workers now. */
  running: number;
  /** Progress in [0, 1], running jobs counted by their own progress. */
  fraction: number;
  /** One line. */
  message: string;
}

/** Options of {@link sweepOnQueue}. */
export interface QueueSweepOptions extends SweepOutputOptions {
  /** The shared run store (Postgres) the workers read the run from. */
  store: Store;
  /** The queue's Redis URL. */
  queue: string;
  /** The stored run to sweep (not with `resume`). */
  runId?: string;
  /** The grid (not with `resume`). */
  grid?: SweepGridConfig;
  /** Read the prices here instead of the study's path (same fingerprint). */
  dataPath?: string;
  /** Reattach to this queued sweep (`sweepq_…`); everything else is read from its specification. */
  resume?: string;
  /** Consecutive cells per job (default {@link defaultCellsPerJob} of the sweep's cells). */
  cellsPerJob?: number;
  /** Attempts per job before the sweep fails (default 3). */
  attempts?: number;
  /** First retry delay in milliseconds, doubling per attempt (default 2,000). */
  backoffMs?: number;
  /** Milliseconds between two looks at the queue while waiting (default 2,000; job events wake it sooner). */
  pollMs?: number;
  /** Milliseconds between two checks of every unfinished batch for lost jobs (default 10,000). */
  checkJobsMs?: number;
  /** Milliseconds to wait for Redis at start before giving up (default 10,000). */
  connectTimeoutMs?: number;
  /** Called as cells come back. */
  onProgress?: (p: SweepProgress) => void;
  /** Called once the jobs are enqueued (the queued sweep's id, for --resume). */
  onQueued?: (info: { sweepId: string; jobs: number; cells: number; resumed: boolean }) => void;
}

/** A sweep on the queue failed: the cell (when known) and why. Nothing of it was stored. */
export class QueuedSweepError extends CandorError {
  /** The queued sweep's id. */
  readonly sweepId: string;
  /** The failing cell (0-based), when the error names it. */
  readonly cell: number | undefined;

  /** Builds the message. */
  constructor(sweepId: string, reason: string, cell: number | undefined) {
    super(
      `sweep ${sweepId} failed${cell === undefined ? "" : ` at cell ${cell}`}: ${reason}. Nothing was stored; ` +
        `fix the cause and run the sweep again, or retry its failed cells with --resume ${sweepId}`,
    );
    this.sweepId = sweepId;
    this.cell = cell;
  }
}

/** The Redis key of a queued sweep's specification. */
export function sweepSpecKey(sweepId: string): string {
  return `candor:sweep:${sweepId}`;
}

const SPEC_TTL_SECONDS = 30 * 86_400;

/** Runs a sweep on the queue (see the module notes) and returns what a local sweep returns. */
export async function sweepOnQueue(options: QueueSweepOptions): Promise<SweepResult> {
  const { store } = options;
  const progress = options.onProgress ?? (() => {});
  const attempts = options.attempts ?? 3;
  const backoffMs = options.backoffMs ?? 2_000;
  const pollMs = options.pollMs ?? 2_000;
  const checkJobsMs = options.checkJobsMs ?? 10_000;
  const connection = redisConnection(options.queue);

  return await withQueueClients<CandorJob, JobOutcome, SweepResult>(
    options.queue,
    QUEUE_NAME,
    options.connectTimeoutMs ?? 10_000,
    async (clients) => {
      // The sweep's specification lives in the same Redis, through a plain client; every command is awaited before
      // coordinate returns, so closing it needs no graceful quit.
      const { Redis } = await import("ioredis");
      const redis = new Redis(connection as RedisClientOptions);
      redis.on("error", clients.onError);
      try {
        return await coordinate(clients, redis);
      } finally {
        redis.disconnect();
      }
    },
  );

  async function coordinate(
    { queue, events, connectionNote }: QueueClients<CandorJob, JobOutcome>,
    redis: Redis,
  ): Promise<SweepResult> {
    let sweepId: string;
    let spec: QueuedSweepSpec;
    const resumed = options.resume !== undefined;
    if (options.resume !== undefined) {
      sweepId = options.resume;
      const text = await redis.get(sweepSpecKey(sweepId));
      if (text === null) {
        throw new ConfigError(
          `--resume: the queue knows no sweep ${sweepId} (a queued sweep's id starts with sweepq_; its record is ` +
            `kept 30 days in the queue's Redis)`,
        );
      }
      spec = JSON.parse(text) as QueuedSweepSpec;
      if (spec.status === "assembling" && spec.save) {
        // The coordinator stopped while storing: the sweep may be stored already (one transaction), under its run.
        const since = spec.assemblingAt ?? 0;
        const same = (await store.listSweeps({ limit: 50 })).find((s) =>
          s.runId === spec.runId && s.createdAt >= since && s.cells === spec.cells
        );
        if (same !== undefined) spec = { ...spec, status: "stored", storedAs: same.id };
      }
      if (spec.status === "stored") {
        throw new ConfigError(
          `--resume: sweep ${sweepId} is finished` + (spec.storedAs ? ` and stored as ${spec.storedAs}` : "") +
            `; there is nothing to reattach to`,
        );
      }
      spec = { ...spec, status: "running" };
      delete spec.error;
    } else {
      if (options.runId === undefined || options.grid === undefined) {
        throw new ConfigError("a sweep on the queue needs a stored run and a grid (or --resume)");
      }
      sweepId = newSweepId().replace(/^sweep_/, "sweepq_");
      const cellsPerJob = options.cellsPerJob ?? 0; // 0: chosen from the number of cells, once planned
      if (!Number.isInteger(cellsPerJob) || cellsPerJob < 0) {
        throw new ConfigError(`cells per job must be an integer ≥ 1, found ${cellsPerJob}`);
      }
      spec = {
        runId: options.runId,
        grid: JSON.parse(JSON.stringify(options.grid)),
        ...(options.gridSource === undefined ? {} : { gridSource: options.gridSource }),
        ...(options.dataPath === undefined ? {} : { dataPath: resolve(options.dataPath) }),
        ...(options.outDir === undefined ? {} : { outDir: resolve(options.outDir) }),
        save: options.save !== false,
        cellsPerJob,
        cells: 0,
        status: "running",
      };
    }

    const stored = await loadStoredRun(store, spec.runId, spec.dataPath);
    const plan = planSweep(stored, parseSweepGrid(spec.grid));
    if (spec.save) ensureOutputDir(spec.outDir ?? DEFAULT_SWEEP_DIR, "sweep output folder (--out)");
    if (spec.dataPath === undefined && stored.config.data.kind === "files") {
      // Workers read the files themselves, from their own working directories: the path goes absolute.
      const path = stored.config.data.path;
      spec.dataPath = isAbsolute(path) ? path : resolve(path);
    }
    if (resumed && spec.cells !== plan.cells.length) {
      throw new ConfigError(
        `--resume: sweep ${sweepId} was planned with ${spec.cells} cells, this process plans ${plan.cells.length}: ` +
          `the run or the data changed`,
      );
    }
    spec.cells = plan.cells.length;
    if (spec.cellsPerJob === 0) spec.cellsPerJob = defaultCellsPerJob(spec.cells);
    const saveSpec = () => redis.set(sweepSpecKey(sweepId), JSON.stringify(spec), "EX", SPEC_TTL_SECONDS);
    await saveSpec();

    const n = plan.cells.length;
    const batches: SweepCellsJob[] = [];
    for (let from = 0; from < n; from += spec.cellsPerJob) {
      batches.push({
        kind: "sweep-cells",
        sweepId,
        runId: spec.runId,
        grid: spec.grid,
        ...(spec.dataPath === undefined ? {} : { dataPath: spec.dataPath }),
        cells: n,
        from,
        to: Math.min(n, from + spec.cellsPerJob),
      });
    }
    const ids = batches.map(jobId);
    const byId = new Map(ids.map((id, i) => [id, i]));
    const results: (SweepCellResult | undefined)[] = new Array(n);
    const pending = new Set(batches.keys());
    const flagged = new Set<number>(); // batches whose job finished or failed since the last look
    const { running, sleep } = watchJobs(events, (id) => byId.has(id), (id) => flagged.add(byId.get(id)!));
    const jobOptions = (b: SweepCellsJob) => ({
      jobId: jobId(b),
      attempts,
      backoff: { type: "exponential", delay: backoffMs },
      removeOnComplete: { age: 7 * 86_400 },
      removeOnFail: { age: 30 * 86_400 },
    });
    const enqueue = async (list: SweepCellsJob[]) => {
      if (list.length > 0) {
        await queue.addBulk(list.map((b) => ({ name: b.kind, data: b as CandorJob, opts: jobOptions(b) })));
      }
    };

    /** Looks at one batch's job: collects its results, enqueues it again when lost, fails the sweep when failed. */
    const check = async (b: number): Promise<void> => {
      const job = await queue.getJob(ids[b]);
      if (job === undefined) return await enqueue([batches[b]]);
      const state = await job.getState();
      if (state === "completed") {
        const out = job.returnvalue as JobOutcome | null;
        const cells = out?.cells ?? [];
        const { from, to } = batches[b];
        if (cells.length !== to - from || cells.some((c, k) => c.cell !== from + k)) {
          // A result that does not fit (another version of the job): run the batch again.
          await job.remove();
          return await enqueue([batches[b]]);
        }
        for (const c of cells) results[c.cell] = decodeSweepCell(c);
        pending.delete(b);
      } else if (state === "failed") {
        const reason = job.failedReason || "the job failed";
        const m = /^cell (\d+) /.exec(reason);
        const cell = m === null ? undefined : Number(m[1]);
        await stop(reason, cell);
        throw new QueuedSweepError(sweepId, reason, cell);
      }
    };

    /** Removes the sweep's jobs not yet started and marks the specification failed. */
    const stop = async (message: string, cell: number | undefined) => {
      for (const id of ids) {
        const job = await queue.getJob(id);
        if (job !== undefined && NOT_STARTED.has(await job.getState())) await job.remove().catch(() => {});
      }
      spec = { ...spec, status: "failed", error: { ...(cell === undefined ? {} : { cell }), message } };
      await saveSpec();
    };

    if (resumed) {
      // Collect what is finished; a batch failed for good gets a new set of attempts.
      for (const [b, id] of ids.entries()) {
        const job = await queue.getJob(id);
        if (job !== undefined && await job.getState() === "failed") await job.remove();
        else if (job !== undefined) await check(b);
      }
    }
    const toEnqueue: SweepCellsJob[] = [];
    for (const b of pending) {
      if ((await queue.getJob(ids[b])) === undefined) toEnqueue.push(batches[b]);
    }
    await enqueue(toEnqueue);
    options.onQueued?.({ sweepId, jobs: toEnqueue.length, cells: n, resumed });

    let lastCheck = Date.now();
    while (pending.size > 0) {
      const all = Date.now() - lastCheck >= checkJobsMs;
      if (all) lastCheck = Date.now();
      const look = all ? [...pending] : [...flagged].filter((b) => pending.has(b));
      flagged.clear();
      for (const b of look) await check(b);
      if (pending.size === 0) break;
      const done = n - [...pending].reduce((a, b) => a + batches[b].to - batches[b].from, 0);
      const partial = [...running.entries()].reduce((a, [id, f]) => {
        const b = batches[byId.get(id)!];
        return a + f * (b.to - b.from);
      }, 0);
      progress({
        done,
        cells: n,
        running: running.size,
        fraction: Math.min(1, (done + partial) / n) * 0.95,
        message: `${done}/${n} cells back, ${running.size} job(s) running on the workers` +
          connectionNote(),
      });
      await sleep(pollMs);
    }

    progress({ done: n, cells: n, running: 0, fraction: 0.96, message: "assembling: deflation, PBO, outputs" });
    spec = { ...spec, status: "assembling", assemblingAt: Date.now() };
    await saveSpec();
    const result = await assembleSweep(store, plan, results as SweepCellResult[], {
      save: spec.save,
      ...(spec.outDir === undefined ? {} : { outDir: spec.outDir }),
      ...(spec.gridSource === undefined ? {} : { gridSource: spec.gridSource }),
    });
    spec = { ...spec, status: "stored", storedAs: result.id ?? null };
    await saveSpec();
    for (const id of ids) await queue.remove(id).catch(() => {}); // their results are in the stored sweep now
    progress({ done: n, cells: n, running: 0, fraction: 1, message: "done" });
    return result;
  }
}
