/**
 * Shared rules of every splitter: the date axis must be sorted and unique, the purge is never shorter than the label
 * horizon, and folds are assembled from index sets into the {@link Fold} shape with their date windows.
 *
 * Conventions (docs/design.md §2): the label at date index `t` is the return from the close of `t` to the close of `t + h`.
 * A training date `t` may sit before a test window starting at `s` only if `t + purge < s`, i.e. `purge` dates are
 * dropped right before the window; with `purge ≥ h` no training label reaches into the test window. Training dates
 * after a test window ending at `u` start at `u + purge + embargo + 1`: the purge removes labels that overlap the
 * test labels (which run to `u + h`), the embargo adds a further gap against serially correlated features.
 *
 * @module
 */

import { ConfigError } from "../errors.ts";
import type { DateWindow, Fold } from "./fold.ts";

/** Options every splitter shares. Sizes are counts of dates on the shared date axis. */
export interface PurgeOptions {
  /** Label horizon `h` in dates (the h-day forward return). Integer ≥ 1. */
  horizon: number;
  /** Dates dropped from training on each side of a test window. Default: `horizon`; less is refused. */
  purge?: number;
  /** Extra dates dropped from training after a test window (serial correlation). Default 0. */
  embargo?: number;
}

/** Resolved, validated purge and embargo. */
export interface ResolvedPurge {
  horizon: number;
  purge: number;
  embargo: number;
}

/** Validates `horizon`, `purge`, `embargo` and fills the defaults. Throws ConfigError when the purge < horizon. */
export function resolvePurge(opts: PurgeOptions): ResolvedPurge {
  const { horizon } = opts;
  if (!Number.isInteger(horizon) || horizon < 1) {
    throw new ConfigError(`horizon must be an integer number of dates ≥ 1, got ${horizon}`);
  }
  const purge = opts.purge ?? horizon;
  const embargo = opts.embargo ?? 0;
  if (!Number.isInteger(purge) || purge < 0) throw new ConfigError(`purge must be an integer ≥ 0, got ${purge}`);
  if (purge < horizon) {
    throw new ConfigError(
      `purge (${purge}) is shorter than the label horizon (${horizon}): training labels would overlap the test ` +
        `window. Use purge ≥ ${horizon} (or leave it unset to default to the horizon).`,
    );
  }
  if (!Number.isInteger(embargo) || embargo < 0) {
    throw new ConfigError(`embargo must be an integer number of dates ≥ 0, got ${embargo}`);
  }
  return { horizon, purge, embargo };
}

/**
 * Checks that `dates` is a strictly increasing list of ISO `YYYY-MM-DD` strings (the shared date axis). Row-level
 * dates of a panel repeat per symbol: pass `[...new Set(rowDates)].sort()` instead.
 */
export function assertDateAxis(dates: readonly string[]): void {
  if (!Array.isArray(dates) || dates.length === 0) {
    throw new ConfigError("dates must be a non-empty array of ISO YYYY-MM-DD strings");
  }
  for (let i = 1; i < dates.length; i++) {
    if (!(dates[i - 1] < dates[i])) {
      throw new ConfigError(
        `dates must be sorted and unique (the shared date axis); dates[${i - 1}] = ${dates[i - 1]} is not before ` +
          `dates[${i}] = ${dates[i]}. For row-level dates pass [...new Set(dates)].sort().`,
      );
    }
  }
}

/** Checks that `n` is an integer ≥ `min`, naming the option in the error. */
export function assertInteger(name: string, n: number, min: number): void {
  if (!Number.isInteger(n) || n < min) throw new ConfigError(`${name} must be an integer ≥ ${min}, got ${n}`);
}

/** Contiguous runs of sorted indices, as inclusive date windows. */
export function windowsOf(indices: Int32Array, dates: readonly string[]): DateWindow[] {
  const out: DateWindow[] = [];
  let i = 0;
  while (i < indices.length) {
    let j = i;
    while (j + 1 < indices.length && indices[j + 1] === indices[j] + 1) j++;
    out.push({ start: dates[indices[i]], end: dates[indices[j]] });
    i = j + 1;
  }
  return out;
}

/** The integers `start, start + 1, ..., end - 1` (empty when end ≤ start). */
export function range(start: number, end: number): Int32Array {
  const n = Math.max(0, end - start);
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) out[i] = start + i;
  return out;
}

/**
 * Training indices for a set of test blocks (half-open `[start, end)` ranges, sorted, non-overlapping): every date
 * outside the blocks, minus `purge` dates before each block and `purge + embargo` dates after it.
 */
export function purgedComplement(
  n: number,
  blocks: Array<[number, number]>,
  purge: number,
  embargo: number,
): Int32Array {
  const excluded = new Uint8Array(n);
  for (const [start, end] of blocks) {
    const lo = Math.max(0, start - purge);
    const hi = Math.min(n, end + purge + embargo);
    for (let i = lo; i < hi; i++) excluded[i] = 1;
  }
  let count = 0;
  for (let i = 0; i < n; i++) count += excluded[i] ^ 1;
  const out = new Int32Array(count);
  let k = 0;
  for (let i = 0; i < n; i++) if (excluded[i] === 0) out[k++] = i;
  return out;
}

/** Assembles a {@link Fold} from index sets, deriving the date windows. */
export function makeFold(
  index: number,
  dates: readonly string[],
  trainIndices: Int32Array,
  testIndices: Int32Array,
  purge: ResolvedPurge,
  validationIndices?: Int32Array,
): Fold {
  const fold: Fold = {
    index,
    train: windowsOf(trainIndices, dates),
    test: windowsOf(testIndices, dates),
    trainIndices,
    testIndices,
    purge: purge.purge,
    embargo: purge.embargo,
  };
  if (validationIndices !== undefined) {
    fold.validation = windowsOf(validationIndices, dates);
    fold.validationIndices = validationIndices;
  }
  return fold;
}

/**
 * Splits sorted training indices into a fitting part and a validation tail: the last `validation` dates (a fraction
 * in (0, 1) of the training dates, or a count ≥ 1) become validation and `purge` dates before them are dropped, so no
 * fitting label reaches into the validation window.
 */
export function carveValidationTail(
  trainIndices: Int32Array,
  validation: number,
  purge: number,
): { fit: Int32Array; validation: Int32Array } {
  const n = trainIndices.length;
  let nVal: number;
  if (validation > 0 && validation < 1) nVal = Math.max(1, Math.round(n * validation));
  else if (Number.isInteger(validation) && validation >= 1) nVal = validation;
  else {
    throw new ConfigError(`validation must be a fraction in (0, 1) or a count of dates ≥ 1, got ${validation}`);
  }
  const nFit = n - nVal - purge;
  if (nFit < 1) {
    throw new ConfigError(
      `only ${n} training dates: too few for a validation tail of ${nVal} plus a purge of ${purge}. ` +
        `Use fewer folds, a smaller validation tail, or more data.`,
    );
  }
  return { fit: trainIndices.slice(0, nFit), validation: trainIndices.slice(n - nVal) };
}
