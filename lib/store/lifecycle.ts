/**
 * The life cycle rules shared by every store backend (schema version 3): which status may move to which, liveness
 * derived from heartbeats, and the refusals with their messages, so both backends refuse the same things in the same
 * words. Each `check…` takes what the backend read inside its write transaction and throws {@link StoreError}.
 *
 * ```
 *   createRun/createStudy ─→ running ──finish──→ succeeded            (final)
 *                              │  ↑  ──finish──→ failed ──────┐
 *                              │  │  ──finish / markInterrupted──→ interrupted
 *                              │  └──────── reopenRun / reopenStudy ─┘ (failed or interrupted only)
 *                              └─ heartbeat: heartbeatAt = now
 * ```
 *
 * @module
 */

import { StoreError } from "../errors.ts";
import { DEFAULT_STALE_AFTER_MS, type Liveness, type Reopening, type RunError, type RunStatus } from "./store.ts";

/**
 * Liveness of a record: null unless `running`; `stale` when the last sign of life (its heartbeat, else its creation)
 * is more than `staleAfterMs` before `now` (all epoch ms), else `live`.
 */
export function livenessOf(
  status: RunStatus,
  heartbeatAt: number | null,
  createdAt: number,
  now: number,
  staleAfterMs: number,
): Liveness | null {
  if (status !== "running") return null;
  return now - (heartbeatAt ?? createdAt) > staleAfterMs ? "stale" : "live";
}

/** Checks a stale threshold (ms, an integer ≥ 1000); undefined gives {@link DEFAULT_STALE_AFTER_MS}. */
export function checkStaleAfterMs(x: unknown): number {
  if (x === undefined) return DEFAULT_STALE_AFTER_MS;
  if (typeof x !== "number" || !Number.isSafeInteger(x) || x < 1000) {
    throw new StoreError(`staleAfterMs: expected an integer number of milliseconds ≥ 1000, found ${String(x)}`);
  }
  return x;
}

/** What a backend read about a record inside its transaction (undefined: no such record). */
export interface RecordState {
  /** Its status. */
  status: RunStatus;
  /** Creation time, epoch ms. */
  createdAt: number;
  /** Last heartbeat, epoch ms, or null (none recorded). */
  heartbeatAt: number | null;
  /** Sealing time, epoch ms, or null while running. */
  finishedAt: number | null;
  /** Its error, when failed or interrupted. */
  error: RunError | null;
}

function unknown(what: string, kind: "run" | "study", id: string): never {
  throw new StoreError(`${what}: unknown ${kind} id ${JSON.stringify(id)}; nothing was written`);
}

/** Refuses a heartbeat for an unknown or sealed record; an interrupted one is told it was marked interrupted. */
export function checkHeartbeat(state: RecordState | undefined, kind: "run" | "study", id: string): void {
  if (state === undefined) unknown("heartbeat", kind, id);
  if (state.status === "interrupted") {
    throw new StoreError(
      `heartbeat: ${kind} ${id} was marked interrupted${
        state.finishedAt === null ? "" : ` at ${new Date(state.finishedAt).toISOString()}`
      } (${state.error?.message ?? "no reason recorded"}); its process should stop writing. Resume it with ` +
        `reopenStudy (candor run --resume). Nothing was written`,
    );
  }
  if (state.status !== "running") {
    throw new StoreError(`heartbeat: ${kind} ${id} is already ${state.status}; nothing was written`);
  }
}

/**
 * Refuses interrupting an unknown or sealed record, and (with `onlyIfStale`) a live one: its heartbeat is at most
 * `staleAfterMs` old at `now`.
 */
export function checkInterruptible(
  state: RecordState | undefined,
  kind: "run" | "study",
  id: string,
  onlyIfStale: boolean,
  now: number,
  staleAfterMs: number,
): void {
  if (state === undefined) unknown("markInterrupted", kind, id);
  if (state.status !== "running") {
    throw new StoreError(
      `markInterrupted: ${kind} ${id} is already ${state.status}; only a running ${kind} can be interrupted. ` +
        `Nothing was written`,
    );
  }
  if (onlyIfStale && livenessOf(state.status, state.heartbeatAt, state.createdAt, now, staleAfterMs) === "live") {
    const age = Math.round((now - (state.heartbeatAt ?? state.createdAt)) / 1000);
    throw new StoreError(
      `markInterrupted: ${kind} ${id} is live (last heartbeat ${age} s ago, stale after ${staleAfterMs / 1000} s); ` +
        `it was not marked interrupted. Nothing was written`,
    );
  }
}

/** Refuses reopening an unknown, running or succeeded record. */
export function checkReopenable(state: RecordState | undefined, kind: "run" | "study", id: string): void {
  const what = kind === "run" ? "reopenRun" : "reopenStudy";
  if (state === undefined) unknown(what, kind, id);
  if (state.status === "running") {
    throw new StoreError(`${what}: ${kind} ${id} is running; there is nothing to reopen. Nothing was written`);
  }
  if (state.status === "succeeded") {
    throw new StoreError(
      `${what}: ${kind} ${id} succeeded; a succeeded ${kind} is sealed for good (its results are final). ` +
        `Start a new study instead. Nothing was written`,
    );
  }
}

/** Refuses reopening a run whose study is not running (the study must be reopened, which reopens the run too). */
export function checkRunStudyOpen(studyId: string | null, studyStatus: RunStatus | undefined, runId: string): void {
  if (studyId === null || studyStatus === "running") return;
  throw new StoreError(
    `reopenRun: run ${runId} belongs to study ${studyId}, which is ${studyStatus ?? "missing"}; reopen the study ` +
      `with reopenStudy(${JSON.stringify(studyId)}), which reopens its failed and interrupted runs too. ` +
      `Nothing was written`,
  );
}

/** The {@link Reopening} entry recording a record's ending, reopened at `now`. */
export function reopeningOf(state: RecordState, now: number): Reopening {
  return {
    at: now,
    status: state.status as "failed" | "interrupted",
    error: state.error ?? { message: "no error recorded" },
    finishedAt: state.finishedAt ?? now,
  };
}

/** Refuses deleting an unknown or running record. */
export function checkDeletable(state: RecordState | undefined, kind: "run" | "study", id: string): void {
  const what = kind === "run" ? "deleteRun" : "deleteStudy";
  if (state === undefined) unknown(what, kind, id);
  if (state.status === "running") {
    throw new StoreError(
      `${what}: ${kind} ${id} is running; mark it interrupted first (markInterrupted, or candor runs --reap when ` +
        `its process is gone), so no live process keeps writing into a deleted ${kind}. Nothing was written`,
    );
  }
}

/** Refuses an annotation (tag, note, name) of an unknown record. */
export function checkAnnotatable(exists: boolean, what: string, kind: "run" | "study", id: string): void {
  if (!exists) unknown(what, kind, id);
}
