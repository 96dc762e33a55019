/**
 * Series features for a model matrix on two threads: the caller and one Web Worker take symbols from a shared counter
 * (`Atomics.add`, one symbol at a time, so neither waits for the other's share) and write each symbol's values into
 * its own rows of one matrix in shared memory (./series_eval.ts `fillMatrix`, the same code on both threads). The
 * worker starts before the caller evaluates the polars columns, so it computes symbols meanwhile.
 *
 * Why: the 176 series kernels of the full set are single-threaded JavaScript, 4.5–6 s on the 2.16 M-row S&P 500 panel,
 * the largest part of `computeFeatureMatrix` (./definition.ts), on machines with at least two cores.
 *
 * Only built-in definitions go to the worker — it finds them by name in FEATURE_REGISTRY, so a custom definition (a
 * function living only in the caller) keeps the whole evaluation on the caller's thread, as do small panels (a worker
 * and the shared copies of its inputs cost a few hundred milliseconds). Failure handling: a worker that never starts
 * takes no symbol; one that throws reports the symbol it held, which the caller computes again itself (raising the
 * definition's own error if it fails there too); the caller never waits on a worker that is not computing, and waits at
 * most 10 minutes for one that is (it takes milliseconds per symbol).
 *
 * @module
 */

import { CandorError } from "../errors.ts";
import { sharedFloat64 } from "../data/prefault.ts";
import { FEATURE_REGISTRY } from "./catalog.ts";
import type { SeriesFeatureDef } from "./definition.ts";
import { fillMatrix, type MatrixTarget, type PriceArrays, type SymbolRange } from "./series_eval.ts";

/** How `computeFeatureMatrix` evaluates series features: a worker when worth it, always one, or never. */
export type SeriesThreads = "auto" | "two" | "one";

/** Below this many values (rows × series definitions), one thread: a worker's start-up would not pay off. */
export const TWO_THREADS_MIN_VALUES = 40_000_000;

/** Words of the shared control block. */
export const NEXT = 0;
/** The worker's state word. */
export const STATE = 1;
/** The symbol the worker held when it failed. */
export const FAILED_AT = 2;

/** Worker states. */
export const WAITING = 0;
/** Taking symbols. */
export const RUNNING = 1;
/** Finished: no symbol left. */
export const DONE = 2;
/** Threw while computing symbol `FAILED_AT`. */
export const FAILED = 3;

/** What the worker receives. */
export interface SeriesJob {
  /** The shared control block (`NEXT`, `STATE`, `FAILED_AT`). */
  control: Int32Array;
  /** The price arrays (shared copies). */
  prices: PriceArrays;
  /** Every symbol's rows. */
  ranges: SymbolRange[];
  /** The built-in definitions, by name, in evaluation order. */
  names: string[];
  /** The matrix target; `data` and `sourceValues` in shared memory. */
  target: MatrixTarget;
}

/** Whether the series definitions go to two threads for a matrix of `rows` rows under `mode`. */
export function useTwoThreads(defs: readonly SeriesFeatureDef[], rows: number, mode: SeriesThreads): boolean {
  if (mode === "one" || defs.length === 0 || !defs.every((d) => FEATURE_REGISTRY.get(d.name) === d)) return false;
  if (mode === "two") return true;
  const cores = typeof navigator !== "undefined" ? navigator.hardwareConcurrency ?? 1 : 1;
  return cores >= 2 && rows * defs.length >= TWO_THREADS_MIN_VALUES;
}

function sharedCopy(a: Float64Array): Float64Array {
  const out = sharedFloat64(a.length);
  out.set(a);
  return out;
}

/** A started worker: symbols are claimed through {@link SeriesHelper.claim}; {@link SeriesHelper.finish} joins it. */
export interface SeriesHelper {
  /** The next symbol for the caller (shared with the worker). */
  claim(): number;
  /**
   * Once the caller's claims have run out: waits for the worker's last symbol, stops the worker, and returns the
   * symbol the worker failed on (to compute again), or -1. A worker that has not started is not waited for unless
   * `startTimeoutMs` says so (tests: a worker doing every symbol).
   */
  finish(startTimeoutMs?: number): number;
  /** Stops the worker (idempotent; for a `finally`). */
  close(): void;
}

/** Starts the worker on `target` (whose `data` and `sourceValues` must be shared memory). */
export function startSeriesWorker(
  prices: PriceArrays,
  ranges: SymbolRange[],
  defs: readonly SeriesFeatureDef[],
  target: MatrixTarget,
): SeriesHelper {
  const control = new Int32Array(new SharedArrayBuffer(4 * 4));
  const worker = new Worker(new URL("./series_worker.ts", import.meta.url), { type: "module" });
  // Shared copies of the inputs: posting 95 MB of ordinary arrays cost 0.3 s of structured cloning on this thread.
  const shared: PriceArrays = {
    open: sharedCopy(prices.open),
    high: sharedCopy(prices.high),
    low: sharedCopy(prices.low),
    close: sharedCopy(prices.close),
    volume: sharedCopy(prices.volume),
  };
  const rows = new Int32Array(new SharedArrayBuffer(target.rows.byteLength));
  rows.set(target.rows);
  const job: SeriesJob = {
    control,
    prices: shared,
    ranges,
    names: defs.map((d) => d.name),
    target: { ...target, rows },
  };
  worker.postMessage(job);
  let closed = false;
  const close = () => {
    if (!closed) worker.terminate();
    closed = true;
  };
  return {
    claim: () => Atomics.add(control, NEXT, 1),
    finish(startTimeoutMs = 0) {
      if (startTimeoutMs > 0) Atomics.wait(control, STATE, WAITING, startTimeoutMs);
      const deadline = performance.now() + 600_000;
      while (Atomics.load(control, STATE) === RUNNING) {
        const left = deadline - performance.now();
        if (left <= 0) {
          close();
          throw new CandorError("the feature worker did not finish its last symbol within 10 minutes");
        }
        Atomics.wait(control, STATE, RUNNING, left);
      }
      // WAITING: it never started, so it claimed nothing (it marks itself RUNNING before its first claim).
      const failed = Atomics.load(control, STATE) === FAILED ? Atomics.load(control, FAILED_AT) : -1;
      close();
      return failed;
    },
    close,
  };
}

/** Computes symbol `j` on the caller's thread (after the worker failed on it). */
export function computeAgain(
  prices: PriceArrays,
  ranges: readonly SymbolRange[],
  defs: readonly SeriesFeatureDef[],
  dates: () => readonly string[],
  target: MatrixTarget,
  j: number,
): void {
  let given = false;
  const once = () => {
    if (given) return ranges.length;
    given = true;
    return j;
  };
  fillMatrix(prices, ranges, defs, dates, target, once);
}
