/**
 * Chronological three-way split, purged K-fold with embargo, and combinatorial purged cross-validation (CPCV), all
 * on the shared date axis with the purge/embargo rules of `purge.ts`: `purge` (≥ horizon) dates dropped from
 * training before each test block, `purge + embargo` after it.
 *
 * - {@link threeWaySplit}: train | purge | validation | purge | test, by fractions (default 60/20/20). One fold.
 * - {@link purgedKFoldSplits}: K contiguous test blocks (sizes as scikit-learn's `KFold`: the first `n % K` blocks
 *   one date longer); training is everything else minus the purge and embargo around the block. Training after the
 *   test block uses the future to predict the past — acceptable for model selection only with the purge and
 *   embargo, never for a backtest.
 * - {@link cpcvSplits}: López de Prado's CPCV (Advances in Financial Machine Learning, ch. 12). The dates form N
 *   contiguous groups; each of the C(N, k) splits tests k groups and trains on the purged rest. Every group is tested
 *   in C(N−1, k−1) splits, giving φ = k/N · C(N, k) = C(N−1, k−1) backtest paths: path j takes, for each group, the
 *   j-th split (in enumeration order) that tests it. Stitching a path's test predictions gives one full out-of-sample
 *   history; the spread over paths is a distribution of backtest outcomes instead of a single number.
 *
 * Hand-written (no maintained npm package implements these splitters).
 *
 * @module
 */

import { ConfigError } from "../errors.ts";
import { type DateWindow, type Fold, foldFromJSON, type FoldJSON, foldToJSON } from "./fold.ts";
import {
  assertDateAxis,
  assertInteger,
  makeFold,
  purgedComplement,
  type PurgeOptions,
  range,
  resolvePurge,
} from "./purge.ts";

/** Options of {@link threeWaySplit}. Fractions of the date axis; they must sum to 1 (±1e-9). */
export interface ThreeWaySplitOptions extends PurgeOptions {
  /** Default 0.6. */
  train?: number;
  /** Default 0.2. */
  validation?: number;
  /** Default 0.2. */
  test?: number;
}

/**
 * Chronological train/validation/test split (default 60/20/20 of the dates), with `purge` dates dropped between
 * train and validation and between validation and test, so no label of an earlier part reaches into a later one.
 * The purge dates are taken from the end of the part they follow. Returns one {@link Fold} with `validation` set.
 */
export function threeWaySplit(dates: readonly string[], opts: ThreeWaySplitOptions): Fold {
  assertDateAxis(dates);
  const p = resolvePurge(opts);
  const fTrain = opts.train ?? 0.6;
  const fVal = opts.validation ?? 0.2;
  const fTest = opts.test ?? 0.2;
  for (const [name, f] of [["train", fTrain], ["validation", fVal], ["test", fTest]] as const) {
    if (!(f > 0 && f < 1)) throw new ConfigError(`${name} fraction must be in (0, 1), got ${f}`);
  }
  if (Math.abs(fTrain + fVal + fTest - 1) > 1e-9) {
    throw new ConfigError(`train + validation + test fractions must sum to 1, got ${fTrain + fVal + fTest}`);
  }
  const n = dates.length;
  const endTrain = Math.round(n * fTrain); // exclusive ends before purging
  const endVal = Math.round(n * (fTrain + fVal));
  const train = range(0, endTrain - p.purge);
  const validation = range(endTrain, endVal - p.purge);
  const test = range(endVal, n);
  if (train.length < 1 || validation.length < 1 || test.length < 1) {
    throw new ConfigError(
      `${n} dates are too few for a ${fTrain}/${fVal}/${fTest} split with a purge of ${p.purge} on two boundaries. ` +
        `Use more data or a shorter horizon.`,
    );
  }
  return makeFold(0, dates, train, test, p, validation);
}

/** Options of {@link purgedKFoldSplits}. */
export interface PurgedKFoldOptions extends PurgeOptions {
  /** Number of contiguous test blocks K ≥ 2. Default 5. */
  folds?: number;
}

function blockBounds(n: number, k: number): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  const base = Math.floor(n / k);
  const extra = n % k;
  let start = 0;
  for (let i = 0; i < k; i++) {
    const len = base + (i < extra ? 1 : 0);
    out.push([start, start + len]);
    start += len;
  }
  return out;
}

/** Purged K-fold with embargo: see the module notes. Throws ConfigError when a fold would have no training dates. */
export function purgedKFoldSplits(dates: readonly string[], opts: PurgedKFoldOptions): Fold[] {
  assertDateAxis(dates);
  const p = resolvePurge(opts);
  const k = opts.folds ?? 5;
  assertInteger("folds", k, 2);
  const n = dates.length;
  if (n < k) throw new ConfigError(`${n} dates are too few for ${k} folds`);
  return blockBounds(n, k).map(([s, e], i) => {
    const train = purgedComplement(n, [[s, e]], p.purge, p.embargo);
    if (train.length === 0) {
      throw new ConfigError(`fold ${i} has no training dates left after purge ${p.purge} and embargo ${p.embargo}`);
    }
    return makeFold(i, dates, train, range(s, e), p);
  });
}

/** Options of {@link cpcvSplits}. */
export interface CpcvOptions extends PurgeOptions {
  /** Number of groups N ≥ 2. Default 6. */
  groups?: number;
  /** Test groups per split k, 1 ≤ k < N. Default 2. */
  testGroups?: number;
}

/** One CPCV backtest path: which split supplies the out-of-sample predictions for each group. */
export interface CpcvPath {
  /** 0-based path number, 0 … φ − 1. */
  index: number;
  /** `splitOfGroup[g]` is the index of the fold whose test predictions cover group `g` on this path. */
  splitOfGroup: number[];
}

/** The output of {@link cpcvSplits}. */
export interface CpcvSplits {
  /** One fold per combination of test groups, in lexicographic order of the group combinations. */
  folds: Fold[];
  /** The test groups of each fold (same order as `folds`). */
  testGroupsOfFold: number[][];
  /** The date groups: windows and half-open index ranges. */
  groups: { window: DateWindow; start: number; end: number }[];
  /** φ = C(N−1, k−1) backtest paths. */
  paths: CpcvPath[];
}

/**
 * A {@link CpcvSplits} in plain JSON: folds as {@link FoldJSON} (indices as half-open ranges), the rest as is.
 * `JSON.stringify` of a raw CpcvSplits would mangle the folds' Int32Arrays; use {@link cpcvToJSON}.
 */
export interface CpcvSplitsJSON {
  /** {@link CpcvSplits.folds}, each converted with {@link foldToJSON}. */
  folds: FoldJSON[];
  /** Same as {@link CpcvSplits.testGroupsOfFold}. */
  testGroupsOfFold: number[][];
  /** Same as {@link CpcvSplits.groups}: inclusive date window and half-open `[start, end)` index range per group. */
  groups: { window: DateWindow; start: number; end: number }[];
  /** Same as {@link CpcvSplits.paths}. */
  paths: CpcvPath[];
}

/** A whole CPCV result (folds, test groups, date groups, paths) as JSON-safe data. Inverse of {@link cpcvFromJSON}. */
export function cpcvToJSON(cv: CpcvSplits): CpcvSplitsJSON {
  return {
    folds: cv.folds.map(foldToJSON),
    testGroupsOfFold: cv.testGroupsOfFold.map((g) => [...g]),
    groups: cv.groups.map((g) => ({ window: { ...g.window }, start: g.start, end: g.end })),
    paths: cv.paths.map((p) => ({ index: p.index, splitOfGroup: [...p.splitOfGroup] })),
  };
}

/**
 * Rebuilds a {@link CpcvSplits} from {@link cpcvToJSON} output (or its `JSON.parse`d text). Throws ConfigError when
 * the parts do not fit together (a test-group list per fold, a split per group on every path, folds that exist).
 */
export function cpcvFromJSON(json: CpcvSplitsJSON): CpcvSplits {
  const { folds, testGroupsOfFold, groups, paths } = json;
  if (!Array.isArray(folds) || !Array.isArray(testGroupsOfFold) || !Array.isArray(groups) || !Array.isArray(paths)) {
    throw new ConfigError("a serialized CPCV result needs folds, testGroupsOfFold, groups and paths arrays");
  }
  if (testGroupsOfFold.length !== folds.length) {
    throw new ConfigError(
      `serialized CPCV result has ${folds.length} folds but ${testGroupsOfFold.length} test-group lists`,
    );
  }
  for (const p of paths) {
    if (p.splitOfGroup.length !== groups.length || p.splitOfGroup.some((f) => !(f >= 0 && f < folds.length))) {
      throw new ConfigError(
        `serialized CPCV path ${p.index} must name one of the ${folds.length} folds for each of the ` +
          `${groups.length} groups`,
      );
    }
  }
  return {
    folds: folds.map(foldFromJSON),
    testGroupsOfFold: testGroupsOfFold.map((g) => [...g]),
    groups: groups.map((g) => ({ window: { ...g.window }, start: g.start, end: g.end })),
    paths: paths.map((p) => ({ index: p.index, splitOfGroup: [...p.splitOfGroup] })),
  };
}

/** The k-combinations of 0..n−1 in lexicographic order. */
function combinations(n: number, k: number): number[][] {
  const out: number[][] = [];
  const c = Array.from({ length: k }, (_, i) => i);
  if (k > n || k < 0) return out;
  while (true) {
    out.push([...c]);
    let i = k - 1;
    while (i >= 0 && c[i] === n - k + i) i--;
    if (i < 0) return out;
    c[i]++;
    for (let j = i + 1; j < k; j++) c[j] = c[j - 1] + 1;
  }
}

/** Combinatorial purged cross-validation: see the module notes. */
export function cpcvSplits(dates: readonly string[], opts: CpcvOptions): CpcvSplits {
  assertDateAxis(dates);
  const p = resolvePurge(opts);
  const nGroups = opts.groups ?? 6;
  const k = opts.testGroups ?? 2;
  assertInteger("groups", nGroups, 2);
  assertInteger("testGroups", k, 1);
  if (k >= nGroups) throw new ConfigError(`testGroups (${k}) must be smaller than groups (${nGroups})`);
  const n = dates.length;
  if (n < nGroups) throw new ConfigError(`${n} dates are too few for ${nGroups} groups`);
  const bounds = blockBounds(n, nGroups);
  const combos = combinations(nGroups, k);
  const folds = combos.map((combo, i) => {
    // Merge adjacent test groups into one block so the purge applies only at the outer edges.
    const blocks: Array<[number, number]> = [];
    for (const g of combo) {
      const [s, e] = bounds[g];
      const last = blocks.at(-1);
      if (last !== undefined && last[1] === s) last[1] = e;
      else blocks.push([s, e]);
    }
    const train = purgedComplement(n, blocks, p.purge, p.embargo);
    if (train.length === 0) {
      throw new ConfigError(
        `CPCV split ${i} has no training dates left after purge and embargo; use fewer test groups`,
      );
    }
    const test = new Int32Array(blocks.reduce((s, [a, b]) => s + b - a, 0));
    let t = 0;
    for (const [a, b] of blocks) for (let j = a; j < b; j++) test[t++] = j;
    return makeFold(i, dates, train, test, p);
  });
  const nPaths = combinations(nGroups - 1, k - 1).length;
  const paths: CpcvPath[] = Array.from({ length: nPaths }, (_, j) => ({ index: j, splitOfGroup: [] }));
  for (let g = 0; g < nGroups; g++) {
    let j = 0;
    combos.forEach((combo, i) => {
      if (combo.includes(g)) paths[j++].splitOfGroup[g] = i;
    });
  }
  return {
    folds,
    testGroupsOfFold: combos,
    groups: bounds.map(([s, e]) => ({ window: { start: dates[s], end: dates[e - 1] }, start: s, end: e })),
    paths,
  };
}

/**
 * Stitches one CPCV path's out-of-sample predictions: `predictions[i]` holds fold `i`'s predictions aligned with its
 * `testIndices`. Returns a Float64Array over the whole date axis (one value per date; every date is covered by
 * exactly one group).
 */
export function cpcvPathPredictions(cpcv: CpcvSplits, path: CpcvPath, predictions: ArrayLike<number>[]): Float64Array {
  const n = cpcv.groups.at(-1)!.end;
  const out = new Float64Array(n).fill(NaN);
  cpcv.groups.forEach((g, gi) => {
    const f = cpcv.folds[path.splitOfGroup[gi]];
    const pred = predictions[f.index];
    if (pred === undefined || pred.length !== f.testIndices.length) {
      throw new ConfigError(`predictions for CPCV fold ${f.index} must have ${f.testIndices.length} values`);
    }
    for (let t = 0; t < f.testIndices.length; t++) {
      const d = f.testIndices[t];
      if (d >= g.start && d < g.end) out[d] = pred[t];
    }
  });
  return out;
}
