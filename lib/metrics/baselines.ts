/**
 * Baselines every headline accuracy must stand beside (docs/design.md §6.2), computed on the same test rows: coin flip,
 * majority class (learned from the training labels only), previous-period sign, and always long.
 *
 * All use the direction rule of {@link directionAccuracy}: "up" iff the value is > 0 (a zero return is "down").
 *
 * @module
 */

import { ConfigError } from "../errors.ts";
import { directionAccuracy } from "./classification.ts";
import { xoroshiro128plus } from "pure-rand/generator/xoroshiro128plus";
import { uniformFloat64 } from "pure-rand/distribution/uniformFloat64";

/**
 * Coin-flip baseline. Without a seed: the expected accuracy of a fair coin, exactly 0.5 for any test set (the
 * honest reference line). With `seed`: the realized accuracy of one seeded sequence of fair flips on these rows —
 * useful to show how far chance alone wanders on a test set of this size. NaN for an empty test set.
 */
export function coinFlipBaseline(yTrue: ArrayLike<number>, opts: { seed?: number } = {}): number {
  if (yTrue.length === 0) return NaN;
  if (opts.seed === undefined) return 0.5;
  const rng = xoroshiro128plus(opts.seed);
  const flips = new Float64Array(yTrue.length);
  for (let i = 0; i < flips.length; i++) flips[i] = uniformFloat64(rng) < 0.5 ? 1 : -1;
  return directionAccuracy(yTrue, flips);
}

/**
 * Majority-class baseline: predicts, for every test row, the direction most frequent in the training labels (not
 * the test labels — that would peek). Training labels may be 0/1 labels or returns ("up" iff > 0); a tie goes to
 * "up". Returns the accuracy on `testTrue`.
 */
export function majorityClassBaseline(trainLabels: ArrayLike<number>, testTrue: ArrayLike<number>): number {
  if (trainLabels.length === 0) throw new ConfigError("majorityClassBaseline needs at least one training label");
  let up = 0;
  for (let i = 0; i < trainLabels.length; i++) if (trainLabels[i] > 0) up++;
  const call = up * 2 >= trainLabels.length ? 1 : -1;
  return directionAccuracy(testTrue, new Float64Array(testTrue.length).fill(call));
}

/**
 * Previous-period-sign baseline: predicts that each row's direction repeats the sign of the return realized just
 * before it (the last return known at the decision time, e.g. the 1-day return ending at t). Momentum in one line.
 */
export function previousSignBaseline(previousReturn: ArrayLike<number>, testTrue: ArrayLike<number>): number {
  return directionAccuracy(testTrue, previousReturn);
}

/** Always-long baseline: the share of test rows that went up (accuracy of predicting "up" everywhere). */
export function alwaysLongBaseline(testTrue: ArrayLike<number>): number {
  return directionAccuracy(testTrue, new Float64Array(testTrue.length).fill(1));
}

/** Inputs of {@link directionBaselines}: all on the same test rows, training labels from the fold's training part. */
export interface DirectionBaselinesInput {
  /** Realized test returns (or 0/1 labels). */
  testTrue: ArrayLike<number>;
  /** Training labels or returns, for the majority class. */
  trainLabels: ArrayLike<number>;
  /** The return realized just before each test row (omit when unavailable). */
  previousReturn?: ArrayLike<number>;
  /** Seed for a realized coin-flip sequence; without it the coin flip is its expectation, 0.5. */
  seed?: number;
}

/** Every direction baseline on one test window, for the fold table beside the model's accuracy. */
export interface DirectionBaselines {
  /** Coin-flip accuracy: exactly 0.5 without a seed, else one seeded sequence's realized accuracy (fraction). */
  coinFlip: number;
  /** Accuracy of always predicting the training labels' majority direction (fraction; a tie means "up"). */
  majorityClass: number;
  /** NaN when no previous returns were given. */
  previousSign: number;
  /** Accuracy of predicting "up" everywhere, i.e. the share of test rows with a value > 0 (fraction). */
  alwaysLong: number;
}

/** All four direction baselines on the same test rows. */
export function directionBaselines(input: DirectionBaselinesInput): DirectionBaselines {
  return {
    coinFlip: coinFlipBaseline(input.testTrue, { seed: input.seed }),
    majorityClass: majorityClassBaseline(input.trainLabels, input.testTrue),
    previousSign: input.previousReturn === undefined ? NaN : previousSignBaseline(input.previousReturn, input.testTrue),
    alwaysLong: alwaysLongBaseline(input.testTrue),
  };
}
