import assert from "node:assert/strict";
import ref from "../fixtures/metrics/reference.json" with { type: "json" };
import { cpcvSplits, purgedKFoldSplits, threeWaySplit } from "../../lib/validation/splits.ts";
import { makeDates } from "./walk_forward_test.ts";

Deno.test("purged K-fold test blocks equal scikit-learn KFold(shuffle=False)", () => {
  for (const c of ref.kFold) {
    const folds = purgedKFoldSplits(makeDates(c.n), { folds: c.folds, horizon: 1 });
    assert.deepEqual(folds.map((f) => Array.from(f.testIndices)), c.tests, `n=${c.n} k=${c.folds}`);
  }
});

Deno.test("purged K-fold: hand-checked purge before and purge + embargo after the test block", () => {
  const dates = makeDates(20);
  const [, second] = purgedKFoldSplits(dates, { folds: 4, horizon: 2, embargo: 1 });
  // test block 5..9; drop 3..4 before (purge 2) and 10..12 after (purge 2 + embargo 1)
  assert.deepEqual(Array.from(second.testIndices), [5, 6, 7, 8, 9]);
  assert.deepEqual(Array.from(second.trainIndices), [0, 1, 2, 13, 14, 15, 16, 17, 18, 19]);
  assert.deepEqual(second.train, [
    { start: dates[0], end: dates[2] },
    { start: dates[13], end: dates[19] },
  ]);
});

Deno.test("CPCV with N = 6, k = 2: 15 splits and 5 backtest paths (López de Prado, AFML ch. 12)", () => {
  const dates = makeDates(60);
  const cv = cpcvSplits(dates, { groups: 6, testGroups: 2, horizon: 1 });
  assert.equal(cv.folds.length, 15);
  assert.equal(cv.paths.length, 5);
  assert.deepEqual(cv.testGroupsOfFold[0], [0, 1]);
  assert.deepEqual(cv.testGroupsOfFold[14], [4, 5]);
  // Split 0 tests groups 0 and 1 (dates 0..19): one merged test window, purge only at its outer edge.
  assert.deepEqual(cv.folds[0].test, [{ start: dates[0], end: dates[19] }]);
  assert.equal(cv.folds[0].trainIndices[0], 21);
  // Split 1 tests groups 0 and 2: two windows, purged on both sides of each.
  assert.deepEqual(cv.folds[1].test, [{ start: dates[0], end: dates[9] }, { start: dates[20], end: dates[29] }]);
  assert.deepEqual(Array.from(cv.folds[1].trainIndices.slice(0, 8)), [11, 12, 13, 14, 15, 16, 17, 18]);
  assert.equal(cv.folds[1].trainIndices[8], 31);
  // Path 0 uses, for each group, the first split testing it.
  assert.deepEqual(cv.paths[0].splitOfGroup, [0, 0, 1, 2, 3, 4]);
});

Deno.test("three-way split: default 60/20/20 with purges on both boundaries", () => {
  const dates = makeDates(100);
  const f = threeWaySplit(dates, { horizon: 3 });
  assert.deepEqual([f.trainIndices[0], f.trainIndices.at(-1)], [0, 56]);
  assert.deepEqual([f.validationIndices![0], f.validationIndices!.at(-1)], [60, 76]);
  assert.deepEqual([f.testIndices[0], f.testIndices.at(-1)], [80, 99]);
  assert.equal(f.purge, 3);
});
