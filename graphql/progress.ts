/**
 * Live progress of a running study or run, read from the store — so it works when the study is written by another
 * process (`candor run`, `candor demo`, a worker) — and pushed to subscribers as it changes.
 *
 * - **Hearing about writes.** One {@link ChangeFeed} per server: it polls the store's change token (SQLite's
 *   `data_version`, a cheap pragma; every 500 ms by default), or, when the backend pushes notifications (Postgres
 *   LISTEN/NOTIFY, `Store.onChange`), listens and polls only as a safety net every few seconds. Subscribers share it:
 *   one poll serves them all, and it runs only while someone listens.
 * - **What progress is.** A snapshot of the records: the study's status, its runs (one per model entry) with their
 *   status and the folds each has stored, and the running entry's latest stored epoch. The stage is inferred from
 *   them ({@link studyStage}); the pipeline's finer steps (load, features, audit, ...) are not recorded while a study
 *   runs, so they read as `preparing`. The study loop stores a fold's epochs when the fold finishes, so epochs and
 *   losses advance fold by fold.
 * - **Liveness.** A running study whose process stopped (killed, machine lost) never seals itself; the store derives
 *   `liveness: stale` from its heartbeat's age, which changes without a write, so subscriptions also re-read every 15 s
 *   and report the change (a stale study can then be marked interrupted).
 * - **Bounded.** A subscription emits a snapshot when it differs from the last one it sent, ends after the snapshot
 *   that shows the study (or run) sealed, and ends anyway after a maximum lifetime (default one hour; a client may
 *   subscribe again). The HTTP layer caps how many are open at once (handler.ts).
 *
 * @module
 */

import { Repeater } from "graphql-yoga";
import type { FoldAggregates, RunSummary, Store, StoredEpoch, StudySummary } from "../lib/store/store.ts";
import { plannedFoldsOf } from "./records.ts";

/** Stages a study or run is seen in. */
export type ProgressStage = "preparing" | "training" | "pooling" | "comparing" | "done" | "failed" | "interrupted";

/** The stages, in life-cycle order. */
export const PROGRESS_STAGES: readonly ProgressStage[] = [
  "preparing",
  "training",
  "pooling",
  "comparing",
  "done",
  "failed",
  "interrupted",
];

/** Shares one way of hearing about store writes between subscribers (see the module documentation). */
export class ChangeFeed {
  readonly #store: Store;
  readonly #pollMs: number;
  readonly #listeners = new Set<() => void>();
  #timer: ReturnType<typeof setTimeout> | undefined;
  #token: string | undefined;
  #stopPush: Promise<() => Promise<void>> | undefined;
  #polling = false;

  /**
   * @param pollMs how often the change token is read when the backend has no notifications (default 500 ms); with
   *   notifications, ten times less often.
   */
  constructor(store: Store, pollMs = 500) {
    this.#store = store;
    this.#pollMs = pollMs;
  }

  /** Listeners now. */
  get size(): number {
    return this.#listeners.size;
  }

  /** Calls `listener` after writes become visible (at most once per poll); returns a function that stops it. */
  subscribe(listener: () => void): () => void {
    this.#listeners.add(listener);
    if (this.#listeners.size === 1) this.#start();
    return () => {
      if (this.#listeners.delete(listener) && this.#listeners.size === 0) this.#stop();
    };
  }

  #notify(): void {
    for (const l of [...this.#listeners]) {
      try {
        l();
      } catch { /* a listener's failure is its own */ }
    }
  }

  #start(): void {
    const interval = this.#store.onChange === undefined ? this.#pollMs : this.#pollMs * 10;
    if (this.#store.onChange !== undefined) {
      this.#stopPush = this.#store.onChange(() => this.#notify());
      this.#stopPush.catch(() => {
        // No notifications after all (e.g. LISTEN refused): keep polling at the fast rate.
        this.#stopPush = undefined;
      });
    }
    const tick = async () => {
      if (this.#polling) return;
      this.#polling = true;
      try {
        const token = await this.#store.changeToken();
        if (this.#token !== undefined && token !== this.#token) this.#notify();
        this.#token = token;
      } catch {
        this.#notify(); // the readers will meet the store's error and report it
      } finally {
        this.#polling = false;
      }
      if (this.#listeners.size > 0) {
        this.#timer = setTimeout(tick, this.#stopPush === undefined ? this.#pollMs : interval);
      }
    };
    void tick();
  }

  #stop(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#token = undefined;
    const stop = this.#stopPush;
    this.#stopPush = undefined;
    stop?.then((f) => f()).catch(() => {});
  }
}

/** Where a study is, as its records show it. */
export interface StudyPosition {
  stage: ProgressStage;
  /** The entry being trained or pooled (or next to train), if any. */
  entry: string | null;
  /** Its run, once created. */
  run: RunSummary | null;
  /** The 0-based fold being trained (folds it has stored), while training. */
  fold: number | null;
}

/**
 * The stage of a study from its records: sealed → `done` / `failed` / `interrupted`; no run yet → `preparing`; a
 * run running with fewer folds stored than planned → `training` (that fold), with all of them → `pooling` (pooling
 * and backtesting the entry); between entries → `training` the next planned one; every planned entry finished →
 * `comparing`.
 */
export function studyStage(
  study: Pick<StudySummary, "status" | "entries">,
  runs: readonly RunSummary[],
  foldsDone: ReadonlyMap<string, number>,
  plannedFolds: number | null,
): StudyPosition {
  const sealed: Record<string, ProgressStage> = { succeeded: "done", failed: "failed", interrupted: "interrupted" };
  const status = study.status as string;
  if (status in sealed) return { stage: sealed[status], entry: null, run: null, fold: null };
  const running = runs.findLast((r) => r.status === "running");
  if (running !== undefined) {
    const done = foldsDone.get(running.id) ?? 0;
    const pooling = plannedFolds !== null && done >= plannedFolds;
    return { stage: pooling ? "pooling" : "training", entry: running.entry, run: running, fold: pooling ? null : done };
  }
  if (runs.length === 0) return { stage: "preparing", entry: null, run: null, fold: null };
  const next = study.entries.find((e) => !runs.some((r) => r.entry === e.name));
  if (next !== undefined) return { stage: "training", entry: next.name, run: null, fold: 0 };
  return { stage: "comparing", entry: null, run: null, fold: null };
}

/** A study's progress at one moment. */
export interface StudySnapshot {
  study: StudySummary;
  runs: RunSummary[];
  /** Folds stored per run id. */
  foldsDone: Map<string, number>;
  /** Folds each entry trains, when known. */
  plannedFolds: number | null;
  position: StudyPosition;
  /** The latest epoch stored by the run in training, if any. */
  lastEpoch: StoredEpoch | null;
  /** True once the study is sealed (the last snapshot of a subscription). */
  sealed: boolean;
  /** Epoch ms when it was read. */
  at: number;
  /** What changes when anything shown changes. */
  signature: string;
}

/** A run's progress at one moment. */
export interface RunSnapshot {
  run: RunSummary;
  foldsDone: number;
  plannedFolds: number | null;
  stage: ProgressStage;
  fold: number | null;
  lastEpoch: StoredEpoch | null;
  sealed: boolean;
  at: number;
  signature: string;
}

function latestEpoch(epochs: readonly StoredEpoch[]): StoredEpoch | null {
  let best: StoredEpoch | null = null;
  for (const e of epochs) {
    if (
      best === null || (e.fold ?? -1) > (best.fold ?? -1) ||
      ((e.fold ?? -1) === (best.fold ?? -1) && e.epoch > best.epoch)
    ) best = e;
  }
  return best;
}

function foldCounts(aggregates: readonly FoldAggregates[]): Map<string, number> {
  return new Map(aggregates.map((a) => [a.runId, a.folds]));
}

/** Reads a study's progress; undefined when no study has this id. */
export async function readStudySnapshot(store: Store, id: string): Promise<StudySnapshot | undefined> {
  const study = await store.getStudy(id);
  if (study === undefined) return undefined;
  const { runs, ...summary } = study;
  const foldsDone = foldCounts(await store.foldAggregates(runs.map((r) => r.id)));
  const plannedFolds = plannedFoldsOf(summary);
  const position = studyStage(summary, runs, foldsDone, plannedFolds);
  const lastEpoch = position.run === null ? null : latestEpoch(await store.listEpochs([position.run.id]));
  const sealed = summary.status !== "running";
  return {
    study: summary,
    runs,
    foldsDone,
    plannedFolds,
    position,
    lastEpoch,
    sealed,
    at: Date.now(),
    signature: JSON.stringify([
      summary.status,
      summary.finishedAt,
      summary.liveness,
      runs.map((r) => [r.id, r.status, foldsDone.get(r.id) ?? 0]),
      lastEpoch === null ? null : [lastEpoch.runId, lastEpoch.fold, lastEpoch.epoch],
    ]),
  };
}

/** Reads a run's progress; undefined when no run has this id. */
export async function readRunSnapshot(store: Store, id: string): Promise<RunSnapshot | undefined> {
  const [run] = await store.getRuns([id]);
  if (run === undefined) return undefined;
  const [aggregates, epochs, studies] = await Promise.all([
    store.foldAggregates([id]),
    store.listEpochs([id]),
    run.studyId === null ? Promise.resolve([]) : store.getStudies([run.studyId]),
  ]);
  const foldsDone = aggregates[0]?.folds ?? 0;
  const plannedFolds = studies[0] === undefined ? null : plannedFoldsOf(studies[0]);
  const sealedStages: Record<string, ProgressStage> = {
    succeeded: "done",
    failed: "failed",
    interrupted: "interrupted",
  };
  const status = run.status as string;
  const sealed = status !== "running";
  const pooling = plannedFolds !== null && foldsDone >= plannedFolds;
  const stage = sealedStages[status] ?? (pooling ? "pooling" : "training");
  const lastEpoch = latestEpoch(epochs);
  return {
    run,
    foldsDone,
    plannedFolds,
    stage,
    fold: sealed || pooling ? null : foldsDone,
    lastEpoch,
    sealed,
    at: Date.now(),
    signature: JSON.stringify([
      run.status,
      run.liveness,
      foldsDone,
      lastEpoch === null ? null : [lastEpoch.fold, lastEpoch.epoch],
      studies[0]?.status ?? null,
    ]),
  };
}

/** Options of {@link watch}. */
export interface WatchOptions {
  /** The server's feed. */
  feed: ChangeFeed;
  /** Longest life of a subscription, ms. */
  maxMs: number;
  /** Re-read this often even without a write, ms (liveness turns stale without one; default 15 s). */
  refreshMs?: number;
  /** Ends the subscription when aborted (the server shutting down). */
  signal?: AbortSignal;
}

/** The last item of a watch that failed: the resolver throws `error`, so the client gets it as the event's error. */
export interface WatchFailure {
  failure: Error;
}

/**
 * Snapshots from `read` as they change: the first at once, then one whenever the store changes and the snapshot
 * differs from the last one sent; ends after a sealed snapshot, after `maxMs`, or when the consumer stops (the client
 * went away). A failure to read (or `read` resolving to undefined: `missing()`'s error) ends it with a
 * {@link WatchFailure} item, so the client learns why instead of seeing the stream break.
 */
export function watch<S extends { signature: string; sealed: boolean }>(
  read: () => Promise<S | undefined>,
  missing: () => Error,
  options: WatchOptions,
): AsyncIterableIterator<S | WatchFailure> {
  return new Repeater<S | WatchFailure>(async (push, stop) => {
    let stopped = false;
    let dirty = true;
    let wake: (() => void) | undefined;
    const unsubscribe = options.feed.subscribe(() => {
      dirty = true;
      wake?.();
    });
    const lifetime = setTimeout(() => stop(), options.maxMs);
    const refresh = setInterval(() => {
      dirty = true;
      wake?.();
    }, options.refreshMs ?? 15_000);
    void stop.then(() => {
      stopped = true;
    });
    const end = () => stop();
    options.signal?.addEventListener("abort", end, { once: true });
    if (options.signal?.aborted) stop();
    try {
      let last = "";
      while (!stopped) {
        if (dirty) {
          dirty = false;
          const snapshot = await read();
          if (snapshot === undefined) throw missing();
          if (snapshot.signature !== last) {
            last = snapshot.signature;
            await push(snapshot);
          }
          if (snapshot.sealed) break;
          continue;
        }
        await Promise.race([stop, new Promise<void>((resolve) => (wake = resolve))]);
        wake = undefined;
      }
      stop();
    } catch (e) {
      if (!stopped) await push({ failure: e instanceof Error ? e : new Error(String(e)) });
      stop();
    } finally {
      unsubscribe();
      clearTimeout(lifetime);
      clearInterval(refresh);
      options.signal?.removeEventListener("abort", end);
    }
  });
}
