/**
 * The job of the worker thread of ./series_parallel.ts (loaded by ./series_worker.ts): takes symbols from the shared
 * counter and writes their built-in series features into the shared matrix, then reports through the control block.
 *
 * @module
 */

import { FEATURE_REGISTRY } from "./catalog.ts";
import type { SeriesFeatureDef } from "./definition.ts";
import { fillMatrix } from "./series_eval.ts";
import { DONE, FAILED, FAILED_AT, NEXT, RUNNING, type SeriesJob, STATE } from "./series_parallel.ts";

/** Built-in series features read only prices; a definition asking for dates fails here and runs on the caller. */
function noDates(): never {
  throw new Error("dates are not passed to the feature worker");
}

/** Runs the job to the end of the symbols (or to the first failure), reporting through `job.control`. */
export function runSeriesJob(job: SeriesJob): void {
  const { control, prices, ranges, names, target } = job;
  Atomics.store(control, STATE, RUNNING);
  let current = -1;
  try {
    const defs = names.map((n) => FEATURE_REGISTRY.get(n) as SeriesFeatureDef);
    fillMatrix(prices, ranges, defs, noDates, target, () => (current = Atomics.add(control, NEXT, 1)));
    Atomics.store(control, STATE, DONE);
  } catch {
    Atomics.store(control, FAILED_AT, current);
    Atomics.store(control, STATE, FAILED);
  }
  Atomics.notify(control, STATE);
}
