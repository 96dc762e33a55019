/**
 * Walk-forward splits on the shared date axis: anchored (expanding training window) or rolling (fixed-length
 * training window), with a purge of at least the label horizon between training and test.
 *
 * Layout. Test windows have `testSize` dates and start every `step` dates (default `step = testSize`, so the test
 * windows tile the tail of the data without gaps and every date from the first test date on is tested exactly once).
 * The windows are placed so that the last one ends on the last date; any remainder goes to the first training window.
 * Given only `folds`, `testSize = floor(n / (folds + 1))` — scikit-learn's `TimeSeriesSplit` layout, whose `gap`
 * equals our purge — so the first training window is about as long as one test window. Given `trainSize`, the
 * first test window starts at `trainSize + purge`.
 *
 * For fold `i` with test window `[s, s + testSize)`: anchored training is `[0, s - purge)`; rolling training is
 * `[s - purge - trainSize, s - purge)`. Training always precedes the test window, so the embargo (which guards the
 * dates after a test window) changes nothing here; it is recorded in the fold for the run store.
 *
 * An optional validation tail (`validation`: a fraction of the training dates or a count) is carved from the end of
 * each training window for early stopping, with `purge` dates dropped between the fitting part and the tail; the
 * fold's `trainIndices` is then the fitting part only.
 *
 * The splitters are hand-written: no maintained npm package implements purged, embargoed splits on a date axis.
 *
 * @module
 */

import { ConfigError } from "../errors.ts";
import type { Fold } from "./fold.ts";
import {
  assertDateAxis,
  assertInteger,
  carveValidationTail,
  makeFold,
  type PurgeOptions,
  range,
  resolvePurge,
} from "./purge.ts";

/** Options of {@link walkForwardSplits}. All sizes are counts of dates. */
export interface WalkForwardOptions extends PurgeOptions {
  /** Number of test windows. Default 5 when `testSize` is not given either. */
  folds?: number;
  /** `"anchored"` (expanding training window, the default) or `"rolling"` (fixed `trainSize`). */
  mode?: "anchored" | "rolling";
  /** Dates per test window. Default: `floor(n / (folds + 1))`, or `floor((n - trainSize - purge) / folds)`. */
  testSize?: number;
  /** Rolling: training window length (default: the first fold's). Anchored: minimum length of the first training window. */
  trainSize?: number;
  /** Dates between the starts of consecutive test windows. Default `testSize`. */
  step?: number;
  /** Validation tail carved from each training window: a fraction in (0, 1) or a count of dates ≥ 1. */
  validation?: number;
}

/**
 * Walk-forward folds over a sorted, unique date axis. Refuses (ConfigError) a purge shorter than the horizon, and
 * any layout that leaves a fold without training dates.
 *
 * @example
 * const folds = walkForwardSplits(dates, { folds: 5, horizon: 5 }); // anchored, purge 5
 * for (const f of folds) console.log(f.train, f.test); // date windows; f.trainIndices index into `dates`
 */
export function walkForwardSplits(dates: readonly string[], opts: WalkForwardOptions): Fold[] {
  assertDateAxis(dates);
  const purge = resolvePurge(opts);
  const n = dates.length;
  const mode = opts.mode ?? "anchored";
  if (mode !== "anchored" && mode !== "rolling") {
    throw new ConfigError(`mode must be "anchored" or "rolling", got ${JSON.stringify(mode)}`);
  }
  if (opts.trainSize !== undefined) assertInteger("trainSize", opts.trainSize, 1);
  if (opts.folds !== undefined) assertInteger("folds", opts.folds, 1);
  if (opts.testSize !== undefined) assertInteger("testSize", opts.testSize, 1);
  if (opts.step !== undefined) assertInteger("step", opts.step, 1);

  let folds = opts.folds;
  let testSize = opts.testSize;
  if (testSize === undefined) {
    folds ??= 5;
    testSize = opts.trainSize !== undefined
      ? Math.floor((n - opts.trainSize - purge.purge) / folds)
      : Math.floor(n / (folds + 1));
    if (testSize < 1) {
      throw new ConfigError(
        `${n} dates are too few for ${folds} test windows` +
          (opts.trainSize !== undefined
            ? ` after a training window of ${opts.trainSize} and a purge of ${purge.purge}`
            : "") +
          `. Use fewer folds or more data.`,
      );
    }
  }
  const step = opts.step ?? testSize;
  if (folds === undefined) {
    const minTrain = opts.trainSize ?? testSize;
    const room = n - minTrain - purge.purge - testSize;
    if (room < 0) {
      throw new ConfigError(
        `${n} dates are too few for a training window of ${minTrain}, a purge of ${purge.purge} and a test window ` +
          `of ${testSize}. Use smaller windows or more data.`,
      );
    }
    folds = Math.floor(room / step) + 1;
  }
  const lastStart = n - testSize;
  const firstStart = lastStart - (folds - 1) * step;
  const firstTrainEnd = firstStart - purge.purge; // exclusive
  const trainSize = opts.trainSize ?? firstTrainEnd;
  if (firstTrainEnd < 1 || firstTrainEnd < (opts.trainSize ?? 1)) {
    throw new ConfigError(
      `${n} dates leave ${Math.max(0, firstTrainEnd)} training dates before the first of ${folds} test windows of ` +
        `${testSize} (step ${step}, purge ${purge.purge})` +
        (opts.trainSize !== undefined ? `, fewer than trainSize ${opts.trainSize}` : "") +
        `. Use fewer folds, smaller windows or more data.`,
    );
  }

  const out: Fold[] = [];
  for (let i = 0; i < folds; i++) {
    const s = firstStart + i * step;
    const trainEnd = s - purge.purge;
    const trainStart = mode === "anchored" ? 0 : trainEnd - trainSize;
    const train = range(trainStart, trainEnd);
    const test = range(s, s + testSize);
    if (opts.validation !== undefined) {
      const { fit, validation } = carveValidationTail(train, opts.validation, purge.purge);
      out.push(makeFold(i, dates, fit, test, purge, validation));
    } else {
      out.push(makeFold(i, dates, train, test, purge));
    }
  }
  return out;
}
