/** Property tests (fast-check) for every splitter: no overlap, purge and embargo, temporal order, coverage. */
import assert from "node:assert/strict";
import fc from "fast-check";
import type { Fold } from "../../lib/validation/fold.ts";
import { foldFromJSON, foldToJSON } from "../../lib/validation/fold.ts";
import { walkForwardSplits } from "../../lib/validation/walk_forward.ts";
import {
  cpcvFromJSON,
  cpcvPathPredictions,
  cpcvSplits,
  cpcvToJSON,
  purgedKFoldSplits,
  threeWaySplit,
} from "../../lib/validation/splits.ts";
import { ConfigError } from "../../lib/errors.ts";
import { makeDates } from "./walk_forward_test.ts";

const RUNS = { numRuns: 150, seed: 42 };

function assertSortedUnique(xs: Int32Array, what: string) {
  for (let i = 1; i < xs.length; i++) assert.ok(xs[i - 1] < xs[i], `${what} not strictly increasing`);
}

/** Every training date is more than `purge` dates before every test date, or more than purge + embargo after. */
function assertPurged(f: Fold, n: number) {
  const isTest = new Uint8Array(n);
  for (const t of f.testIndices) isTest[t] = 1;
  // distance to the nearest test date after / before each date
  const nextTest = new Int32Array(n).fill(1 << 30);
  const prevTest = new Int32Array(n).fill(-(1 << 30));
  for (let i = n - 1, next = 1 << 30; i >= 0; i--) {
    if (isTest[i]) next = i;
    nextTest[i] = next;
  }
  for (let i = 0, prev = -(1 << 30); i < n; i++) {
    if (isTest[i]) prev = i;
    prevTest[i] = prev;
  }
  for (const t of f.trainIndices) {
    assert.equal(isTest[t], 0, `train/test overlap at ${t}`);
    assert.ok(nextTest[t] - t > f.purge, `train ${t} within purge ${f.purge} before test ${nextTest[t]}`);
    assert.ok(t - prevTest[t] > f.purge + f.embargo, `train ${t} within purge+embargo after test ${prevTest[t]}`);
  }
  if (f.validationIndices !== undefined) {
    for (const v of f.validationIndices) assert.equal(isTest[v], 0, "validation/test overlap");
    const train = new Set(f.trainIndices);
    for (const v of f.validationIndices) assert.ok(!train.has(v), "validation/train overlap");
  }
}

/** Nothing is dropped beyond the purge and embargo: every other non-test date is a training date. */
function assertMaximalTraining(f: Fold, n: number) {
  const train = new Set(f.trainIndices);
  const isTest = new Uint8Array(n);
  for (const t of f.testIndices) isTest[t] = 1;
  for (let d = 0; d < n; d++) {
    if (isTest[d]) continue;
    let near = false;
    for (let j = Math.max(0, d - f.purge - f.embargo); j < Math.min(n, d + f.purge + 1); j++) {
      if (isTest[j] && ((j > d && j - d <= f.purge) || (j < d && d - j <= f.purge + f.embargo))) near = true;
    }
    assert.equal(train.has(d), !near, `date ${d}: training membership wrong`);
  }
}

const purgeArb = fc.record({
  horizon: fc.integer({ min: 1, max: 6 }),
  extra: fc.integer({ min: 0, max: 3 }),
  embargo: fc.integer({ min: 0, max: 5 }),
});

/** The splitter options one `purgeArb` draw stands for: the purge is the horizon plus `extra`. */
function purgeOptions(pa: { horizon: number; extra: number; embargo: number }) {
  return { horizon: pa.horizon, purge: pa.horizon + pa.extra, embargo: pa.embargo };
}

/**
 * Runs a splitter; too little data for the requested layout must be refused with a ConfigError (never mis-split),
 * which yields undefined. Any other error fails the test.
 */
function splitOrRefused<T>(split: () => T): T | undefined {
  try {
    return split();
  } catch (e) {
    assert.ok(e instanceof ConfigError, String(e));
    return undefined;
  }
}

Deno.test("walk-forward: no overlap, purge respected, training strictly before test, contiguous full coverage", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 30, max: 400 }),
      fc.integer({ min: 1, max: 8 }),
      purgeArb,
      fc.constantFrom<"anchored" | "rolling">("anchored", "rolling"),
      fc.option(fc.constantFrom(0.1, 0.25, 5), { nil: undefined }),
      (n, folds, { horizon, extra, embargo }, mode, validation) => {
        const dates = makeDates(n);
        const splits = splitOrRefused(() =>
          walkForwardSplits(dates, { folds, horizon, purge: horizon + extra, embargo, mode, validation })
        );
        if (splits === undefined) return;
        assert.equal(splits.length, folds);
        let expectedStart = splits[0].testIndices[0];
        for (const f of splits) {
          assertSortedUnique(f.trainIndices, "train");
          assertSortedUnique(f.testIndices, "test");
          assertPurged(f, n);
          assert.ok(f.trainIndices.at(-1)! + f.purge < f.testIndices[0], "train before test");
          if (f.validationIndices !== undefined) {
            assert.ok(f.trainIndices.at(-1)! + f.purge < f.validationIndices[0], "fit part purged from validation");
            assert.ok(f.validationIndices.at(-1)! + f.purge < f.testIndices[0], "validation purged from test");
          }
          // contiguous tiling of the tail: each test window starts where the previous ended
          assert.equal(f.testIndices[0], expectedStart);
          assert.equal(f.testIndices.at(-1)! - f.testIndices[0] + 1, f.testIndices.length);
          expectedStart = f.testIndices.at(-1)! + 1;
          if (mode === "rolling" && validation === undefined) {
            assert.equal(f.trainIndices.length, splits[0].trainIndices.length);
          }
          if (mode === "anchored") assert.equal(f.trainIndices[0], 0);
        }
        assert.equal(expectedStart, n, "the last test window ends on the last date");
      },
    ),
    RUNS,
  );
});

Deno.test("purged K-fold: tests partition the dates; training is exactly the non-purged, non-embargoed rest", () => {
  fc.assert(
    fc.property(fc.integer({ min: 20, max: 300 }), fc.integer({ min: 2, max: 8 }), purgeArb, (n, k, pa) => {
      const dates = makeDates(n);
      const splits = splitOrRefused(() => purgedKFoldSplits(dates, { folds: k, ...purgeOptions(pa) }));
      if (splits === undefined) return;
      const seen = new Uint8Array(n);
      for (const f of splits) {
        assertSortedUnique(f.trainIndices, "train");
        assertPurged(f, n);
        assertMaximalTraining(f, n);
        for (const t of f.testIndices) seen[t]++;
      }
      assert.ok(seen.every((c) => c === 1), "every date tested exactly once");
    }),
    RUNS,
  );
});

Deno.test("CPCV: C(N,k) splits, every group tested C(N-1,k-1) times, every path covers each date once", () => {
  const binom = (n: number, k: number) => {
    let r = 1;
    for (let i = 1; i <= k; i++) r = (r * (n - k + i)) / i;
    return Math.round(r);
  };
  fc.assert(
    fc.property(
      fc.integer({ min: 40, max: 240 }),
      fc.integer({ min: 3, max: 8 }),
      fc.integer({ min: 1, max: 3 }),
      purgeArb,
      (n, groups, kRaw, pa) => {
        const k = Math.min(kRaw, groups - 1);
        const dates = makeDates(n);
        const cv = splitOrRefused(() => cpcvSplits(dates, { groups, testGroups: k, ...purgeOptions(pa) }));
        if (cv === undefined) return;
        assert.equal(cv.folds.length, binom(groups, k));
        assert.equal(cv.paths.length, binom(groups - 1, k - 1));
        for (const f of cv.folds) {
          assertPurged(f, n);
          assertMaximalTraining(f, n);
        }
        const testedCount = new Array(groups).fill(0);
        cv.testGroupsOfFold.forEach((gs) => gs.forEach((g) => testedCount[g]++));
        assert.ok(testedCount.every((c) => c === binom(groups - 1, k - 1)));
        for (const path of cv.paths) {
          // each group's split really tests that group; the stitched path covers every date exactly once
          path.splitOfGroup.forEach((fi, g) => assert.ok(cv.testGroupsOfFold[fi].includes(g)));
          const stitched = cpcvPathPredictions(cv, path, cv.folds.map((f) => Float64Array.from(f.testIndices)));
          assert.ok(stitched.every((v, i) => v === i));
        }
        // paths use distinct splits for each group
        for (let g = 0; g < groups; g++) {
          const used: Set<number> = new Set(cv.paths.map((p) => p.splitOfGroup[g]));
          assert.equal(used.size, cv.paths.length);
        }
      },
    ),
    { numRuns: 80, seed: 7 },
  );
});

Deno.test("three-way split: ordered train | purge | validation | purge | test, near the requested fractions", () => {
  fc.assert(
    fc.property(fc.integer({ min: 50, max: 2000 }), purgeArb, (n, pa) => {
      const dates = makeDates(n);
      const purge = pa.horizon + pa.extra;
      const f = threeWaySplit(dates, { horizon: pa.horizon, purge, embargo: pa.embargo });
      const v = f.validationIndices!;
      assert.equal(f.trainIndices[0], 0);
      assert.equal(v[0] - f.trainIndices.at(-1)!, purge + 1);
      assert.equal(f.testIndices[0] - v.at(-1)!, purge + 1);
      assert.equal(f.testIndices.at(-1), n - 1);
      assert.ok(Math.abs(f.testIndices.length - 0.2 * n) <= 1);
      assert.ok(Math.abs(f.trainIndices.length + purge - 0.6 * n) <= 1);
    }),
    RUNS,
  );
  assert.throws(() => threeWaySplit(makeDates(100), { horizon: 5, purge: 2 }), ConfigError);
  assert.throws(
    () => threeWaySplit(makeDates(100), { horizon: 1, train: 0.5, validation: 0.2, test: 0.2 }),
    ConfigError,
  );
});

Deno.test("folds survive a JSON round trip (indices as ranges)", () => {
  const dates = makeDates(200);
  const all: Fold[] = [
    ...walkForwardSplits(dates, { folds: 4, horizon: 3, validation: 0.2 }),
    ...purgedKFoldSplits(dates, { folds: 5, horizon: 2, embargo: 3 }),
    ...cpcvSplits(dates, { groups: 6, testGroups: 2, horizon: 2 }).folds,
    threeWaySplit(dates, { horizon: 5 }),
  ];
  for (const f of all) {
    const back = foldFromJSON(JSON.parse(JSON.stringify(foldToJSON(f))));
    assert.deepEqual(back, f);
  }
});

Deno.test("every splitter refuses a purge shorter than the horizon", () => {
  const dates = makeDates(300);
  assert.throws(() => purgedKFoldSplits(dates, { horizon: 5, purge: 3 }), ConfigError);
  assert.throws(() => cpcvSplits(dates, { horizon: 5, purge: 4 }), ConfigError);
  assert.throws(() => threeWaySplit(dates, { horizon: 5, purge: 0 }), ConfigError);
  assert.throws(() => walkForwardSplits(dates, { horizon: 5, purge: 1 }), ConfigError);
});

/** The fold after a JSON text round trip equals the original (Int32Arrays included). */
function assertRoundTrip(f: Fold) {
  assert.deepEqual(foldFromJSON(JSON.parse(JSON.stringify(foldToJSON(f)))), f);
}

Deno.test("walk-forward by testSize/trainSize/step: window layout, gaps or overlaps, purge, maximal fold count", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 30, max: 400 }),
      fc.integer({ min: 1, max: 40 }), // testSize
      fc.integer({ min: 1, max: 60 }), // step: below, equal to or above testSize
      fc.option(fc.integer({ min: 1, max: 120 }), { nil: undefined }), // trainSize
      purgeArb,
      fc.constantFrom<"anchored" | "rolling">("anchored", "rolling"),
      (n, testSize, step, trainSize, { horizon, extra, embargo }, mode) => {
        const dates = makeDates(n);
        const purge = horizon + extra;
        let splits: Fold[];
        try {
          splits = walkForwardSplits(dates, { testSize, step, trainSize, horizon, purge, embargo, mode });
        } catch (e) {
          assert.ok(e instanceof ConfigError, String(e));
          // Refused only when not even one fold fits.
          assert.ok(n - (trainSize ?? testSize) - purge - testSize < 0, `refused a layout that fits: ${e}`);
          return;
        }
        const minTrain = trainSize ?? testSize;
        // As many folds as fit: one more, `step` earlier, would leave fewer than minTrain training dates.
        assert.equal(splits.length, Math.floor((n - minTrain - purge - testSize) / step) + 1);
        const tested = new Uint16Array(n);
        splits.forEach((f, i) => {
          assertSortedUnique(f.trainIndices, "train");
          assertPurged(f, n);
          assert.equal(f.purge, purge);
          assert.equal(f.embargo, embargo);
          // contiguous test window of testSize dates, starting `step` after the previous one, the last ending on n − 1
          assert.equal(f.testIndices.length, testSize);
          assert.equal(f.testIndices.at(-1)! - f.testIndices[0] + 1, testSize);
          assert.equal(f.testIndices[0], n - testSize - (splits.length - 1 - i) * step);
          assert.deepEqual(f.test, [{ start: dates[f.testIndices[0]], end: dates[f.testIndices.at(-1)!] }]);
          // training is contiguous and ends exactly `purge` dates before the test window
          assert.equal(f.trainIndices.at(-1)! - f.trainIndices[0] + 1, f.trainIndices.length);
          assert.equal(f.trainIndices.at(-1)! + purge + 1, f.testIndices[0]);
          if (mode === "anchored") {
            assert.equal(f.trainIndices[0], 0);
            assert.ok(f.trainIndices.length >= minTrain);
          } else if (trainSize !== undefined) {
            assert.equal(f.trainIndices.length, trainSize);
          } else {
            assert.equal(f.trainIndices.length, splits[0].trainIndices.length);
          }
          for (const t of f.testIndices) tested[t]++;
          assertRoundTrip(f);
        });
        // step > testSize leaves untested gaps of step − testSize dates; step ≤ testSize covers the tail, with each
        // date tested at most ceil(testSize / step) times.
        const first = splits[0].testIndices[0];
        for (let d = 0; d < first; d++) assert.equal(tested[d], 0);
        for (let d = first; d < n; d++) {
          const expected = splits.filter((f) => f.testIndices[0] <= d && d <= f.testIndices.at(-1)!).length;
          assert.equal(tested[d], expected);
          if (step <= testSize) assert.ok(tested[d] >= 1 && tested[d] <= Math.ceil(testSize / step));
          else assert.ok(tested[d] <= 1);
        }
        if (step > testSize && splits.length > 1) {
          assert.equal(splits[1].testIndices[0] - splits[0].testIndices.at(-1)! - 1, step - testSize);
        }
      },
    ),
    RUNS,
  );
});

Deno.test("every splitter's folds survive a JSON text round trip (property)", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 40, max: 300 }),
      purgeArb,
      fc.integer({ min: 2, max: 6 }),
      fc.option(fc.constantFrom(0.2, 3), { nil: undefined }),
      (n, pa, k, validation) => {
        const dates = makeDates(n);
        const p = purgeOptions(pa);
        const build: Array<() => Fold[]> = [
          () => walkForwardSplits(dates, { ...p, folds: k, validation }),
          () => walkForwardSplits(dates, { ...p, testSize: k + 3, step: k, mode: "rolling" }),
          () => purgedKFoldSplits(dates, { ...p, folds: k }),
          () => cpcvSplits(dates, { ...p, groups: k + 1, testGroups: 2 }).folds,
          () => [threeWaySplit(dates, p)],
        ];
        for (const b of build) splitOrRefused(b)?.forEach(assertRoundTrip);
      },
    ),
    { numRuns: 60, seed: 11 },
  );
});

Deno.test("a whole CPCV result (folds, groups, paths) survives a JSON round trip and still stitches paths", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 40, max: 240 }),
      fc.integer({ min: 3, max: 7 }),
      fc.integer({ min: 1, max: 3 }),
      purgeArb,
      (n, groups, kRaw, pa) => {
        const k = Math.min(kRaw, groups - 1);
        const cv = splitOrRefused(() => cpcvSplits(makeDates(n), { groups, testGroups: k, ...purgeOptions(pa) }));
        if (cv === undefined) return;
        const text = JSON.stringify(cpcvToJSON(cv));
        const back = cpcvFromJSON(JSON.parse(text));
        assert.deepEqual(back, cv);
        // The restored result is usable: each path still stitches a full out-of-sample history.
        const preds = back.folds.map((f) => Float64Array.from(f.testIndices));
        for (const path of back.paths) assert.ok(cpcvPathPredictions(back, path, preds).every((v, i) => v === i));
      },
    ),
    { numRuns: 60, seed: 3 },
  );
  const cv = cpcvSplits(makeDates(60), { groups: 4, testGroups: 2, horizon: 1 });
  const json = cpcvToJSON(cv);
  // Plain data only: no typed arrays left for JSON.stringify to mangle.
  assert.ok(json.folds.every((f) => Array.isArray(f.trainIndices) && Array.isArray(f.testIndices)));
  assert.throws(() => cpcvFromJSON({ ...json, testGroupsOfFold: json.testGroupsOfFold.slice(1) }), ConfigError);
  assert.throws(
    () => cpcvFromJSON({ ...json, paths: [{ index: 0, splitOfGroup: [0, 0, 1, 99] }] }),
    ConfigError,
  );
  assert.throws(() => cpcvFromJSON({ ...json, paths: [{ index: 0, splitOfGroup: [0, 0, 1] }] }), ConfigError);
});
