/**
 * The validation and statistics API of issue 4, imported from the package entry point (lib/mod.ts) with the names and
 * argument shapes the issue lists, each checked on a tiny input whose answer is worked out by hand in the comments.
 */
import assert from "node:assert/strict";
import * as candor from "../../lib/mod.ts";
import {
  bestF1Threshold,
  classificationReport,
  classWeights,
  cpcvSplits,
  deflatedSharpe,
  directionAccuracy,
  informationCoefficient,
  macroF1,
  minTrackRecordLength,
  plausibilityCheck,
  probabilisticSharpe,
  probabilityOfBacktestOverfitting,
  purgedKFoldSplits,
  rankInformationCoefficient,
  threeWaySplit,
  walkForwardEfficiency,
  walkForwardSplits,
} from "../../lib/mod.ts";
import { makeDates } from "./walk_forward_test.ts";

const close = (a: number, b: number, tol: number, msg: string) =>
  assert.ok(Math.abs(a - b) <= tol, `${msg}: ${a} vs ${b}`);
const idx = (xs: Int32Array) => [...xs];

Deno.test("lib/mod.ts exports every name of the validation and statistics API as a function", () => {
  const names = [
    "walkForwardSplits",
    "purgedKFoldSplits",
    "cpcvSplits",
    "threeWaySplit",
    "macroF1",
    "classificationReport",
    "directionAccuracy",
    "informationCoefficient",
    "rankInformationCoefficient",
    "classWeights",
    "walkForwardEfficiency",
    "probabilisticSharpe",
    "deflatedSharpe",
    "probabilityOfBacktestOverfitting",
    "bestF1Threshold",
    "minTrackRecordLength",
    "plausibilityCheck",
  ];
  const api = candor as Record<string, unknown>;
  for (const name of names) assert.equal(typeof api[name], "function", `${name} is not exported from lib/mod.ts`);
});

Deno.test("splitters: walkForwardSplits, purgedKFoldSplits, cpcvSplits, threeWaySplit(dates, opts)", () => {
  const dates = makeDates(10); // 2020-01-01 .. 2020-01-10
  // Test windows of 2 tile the tail; purge 1 (= horizon): folds = ⌊(10 − 2 − 1 − 2) / 2⌋ + 1 = 3, starting at 4, 6, 8.
  const wf = walkForwardSplits(dates, { testSize: 2, horizon: 1 });
  assert.deepEqual(wf.map((f) => [idx(f.trainIndices), idx(f.testIndices)]), [
    [[0, 1, 2], [4, 5]],
    [[0, 1, 2, 3, 4], [6, 7]],
    [[0, 1, 2, 3, 4, 5, 6], [8, 9]],
  ]);
  assert.deepEqual(wf[0].train, [{ start: "2020-01-01", end: "2020-01-03" }]);
  assert.deepEqual(wf[0].test, [{ start: "2020-01-05", end: "2020-01-06" }]);
  assert.equal(wf[0].purge, 1);

  // Two blocks of 5; purge 1 before and purge + embargo = 2 after each test block.
  const kf = purgedKFoldSplits(dates, { folds: 2, horizon: 1, embargo: 1 });
  assert.deepEqual(kf.map((f) => [idx(f.testIndices), idx(f.trainIndices)]), [
    [[0, 1, 2, 3, 4], [7, 8, 9]],
    [[5, 6, 7, 8, 9], [0, 1, 2, 3]],
  ]);
  assert.equal(kf[0].embargo, 1);

  // N = 4 groups of 3, k = 2: C(4, 2) = 6 splits in lexicographic order {0,1} {0,2} {0,3} {1,2} {1,3} {2,3}, and
  // C(3, 1) = 3 paths; path j takes, for each group, the j-th split that tests it.
  const cv = cpcvSplits(makeDates(12), { groups: 4, testGroups: 2, horizon: 1 });
  assert.deepEqual(cv.testGroupsOfFold, [[0, 1], [0, 2], [0, 3], [1, 2], [1, 3], [2, 3]]);
  assert.deepEqual(cv.paths.map((p) => p.splitOfGroup), [[0, 0, 1, 2], [1, 3, 3, 4], [2, 4, 5, 5]]);
  assert.deepEqual(idx(cv.folds[0].trainIndices), [7, 8, 9, 10, 11]); // test 0..5, purge drops 6
  assert.deepEqual(idx(cv.folds[1].trainIndices), [4, 10, 11]); // test 0..2 and 6..8; purge drops 3, 5 and 9

  // 60/20/20 of 20 dates = 12 | 4 | 4, the last date of train and of validation purged.
  const tw = threeWaySplit(makeDates(20), { horizon: 1 });
  assert.deepEqual(idx(tw.trainIndices), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  assert.deepEqual(idx(tw.validationIndices!), [12, 13, 14]);
  assert.deepEqual(idx(tw.testIndices), [16, 17, 18, 19]);
});

Deno.test("macroF1(yTrue, yPred) and classificationReport(yTrue, yPred, labels?) on a hand example", () => {
  const yTrue = [0, 0, 1, 1, 1, 2];
  const yPred = [0, 1, 1, 1, 0, 0];
  // class 0: tp 1, predicted 3, support 2 → P 1/3, R 1/2, F1 2·1/(2 + 3) = 2/5
  // class 1: tp 2, predicted 3, support 3 → P 2/3, R 2/3, F1 2/3
  // class 2: never predicted → P 0 (zero_division = 0), R 0, F1 0
  close(macroF1(yTrue, yPred), (2 / 5 + 2 / 3 + 0) / 3, 1e-15, "macro-F1 = 16/45");
  const r = classificationReport(yTrue, yPred);
  assert.deepEqual(r.classes.map((c) => c.label), [0, 1, 2]);
  close(r.classes[0].precision, 1 / 3, 1e-15, "P0");
  close(r.classes[0].recall, 1 / 2, 1e-15, "R0");
  close(r.classes[1].f1, 2 / 3, 1e-15, "F1 1");
  assert.deepEqual([r.classes[2].precision, r.classes[2].f1, r.classes[2].support], [0, 0, 1]);
  assert.equal(r.accuracy, 0.5);
  close(r.weightedAvg.f1, (2 * (2 / 5) + 3 * (2 / 3)) / 6, 1e-15, "weighted F1");
  // labels restricts the report: rows with label 2 on either side drop out of the matrix (scikit-learn's rule).
  const r01 = classificationReport(yTrue, yPred, [0, 1]);
  assert.deepEqual(r01.classes.map((c) => c.support), [2, 3]);
});

Deno.test("directionAccuracy, informationCoefficient and rankInformationCoefficient on hand examples", () => {
  // up/up hit, down/up miss, 0 (down)/down hit, up/down miss → 2/4; excluding the zero-return row → 1/3.
  assert.equal(directionAccuracy([0.01, -0.02, 0, 0.03], [0.5, 0.1, -0.1, -0.2]), 0.5);
  close(directionAccuracy([0.01, -0.02, 0, 0.03], [0.5, 0.1, -0.1, -0.2], { zeros: "exclude" }), 1 / 3, 1e-15, "ex");
  // Pearson: deviations (−1.5, −0.5, 0.5, 1.5) and (−3.25, −1.25, 0.75, 3.75): Σxy 11.5, Σx² 5, Σy² 26.75.
  close(informationCoefficient([1, 2, 3, 4], [2, 4, 6, 9]), 11.5 / Math.sqrt(5 * 26.75), 1e-15, "IC");
  // Spearman with a tie: ranks (1, 2.5, 2.5, 4) and (1, 3, 2, 4) → Σxy 4.5, Σx² 4.5, Σy² 5 → 3/√10.
  close(rankInformationCoefficient([1, 2, 2, 3], [10, 30, 20, 40]), 3 / Math.sqrt(10), 1e-15, "rank IC");
  assert.ok(Number.isNaN(informationCoefficient([1, 1, 1], [1, 2, 3])), "constant input: undefined, not 0");
});

Deno.test("classWeights(y, 'balanced' | 'inverse'): Record<number, number>", () => {
  // balanced = n / (k · count): 4 / (2 · 3) = 2/3 and 4 / (2 · 1) = 2, as scikit-learn's compute_class_weight.
  const b = classWeights([0, 0, 0, 1], "balanced");
  assert.deepEqual(Object.keys(b), ["0", "1"]);
  close(b[0], 2 / 3, 1e-15, "balanced 0");
  assert.equal(b[1], 2);
  // inverse: (1/count) normalized to sum 1: (1/3) / (4/3) = 1/4 and 1 / (4/3) = 3/4.
  const inv = classWeights([0, 0, 0, 1], "inverse");
  close(inv[0], 0.25, 1e-15, "inverse 0");
  close(inv[1], 0.75, 1e-15, "inverse 1");
  // Three classes with counts 1, 2, 3 of n = 6: balanced 6/3, 6/6, 6/9.
  const three = classWeights([2, 1, 2, 0, 1, 2], "balanced");
  assert.deepEqual(three, { 0: 2, 1: 1, 2: 6 / 9 });
});

Deno.test("walkForwardEfficiency: accuracy and return forms, undefined without an edge", () => {
  // (0.53 − 0.5) / (0.56 − 0.5) = 0.5
  close(walkForwardEfficiency({ form: "accuracy", test: 0.53, validation: 0.56 }).efficiency!, 0.5, 1e-12, "acc");
  const none = walkForwardEfficiency({ form: "accuracy", test: 0.53, validation: 0.502 });
  assert.equal(none.efficiency, null);
  assert.ok(none.reason!.includes("undefined"));
  close(walkForwardEfficiency({ form: "return", outOfSample: 0.05, inSample: 0.1 }).efficiency!, 0.5, 1e-15, "ret");
  assert.equal(walkForwardEfficiency({ form: "return", outOfSample: -0.05, inSample: -0.1 }).efficiency, null);
});

Deno.test("probabilisticSharpe({ sharpe, benchmark, nObs, skew, kurtosis }), deflatedSharpe, minTrackRecordLength", () => {
  // With skew 0.05 and kurtosis 3 at SR 0.1 the variance term is 1 − 0.05·0.1 + (3 − 1)/4 · 0.01 = 1, so
  // z = 0.1 · √(nObs − 1): nObs 101 → z = 1, nObs 401 → z = 2.
  const PHI_1 = 0.8413447460685429; // Φ(1)
  const PHI_2 = 0.9772498680518208; // Φ(2)
  close(probabilisticSharpe({ sharpe: 0.1, benchmark: 0, nObs: 101, skew: 0.05, kurtosis: 3 }), PHI_1, 1e-12, "z=1");
  close(probabilisticSharpe({ sharpe: 0.1, benchmark: 0, nObs: 401, skew: 0.05, kurtosis: 3 }), PHI_2, 1e-12, "z=2");
  close(probabilisticSharpe({ sharpe: 0.1, benchmark: 0.1, nObs: 101, skew: 0.05, kurtosis: 3 }), 0.5, 1e-15, "=SR*");
  // No dispersion across trials: the expected maximum Sharpe is 0 and the DSR is the PSR against 0.
  close(
    deflatedSharpe({ sharpe: 0.1, nTrials: 20, trialSharpeVariance: 0, nObs: 101, skew: 0.05, kurtosis: 3 }),
    PHI_1,
    1e-12,
    "DSR",
  );
  // More trials with dispersed Sharpes raise the bar: the DSR drops below the PSR.
  assert.ok(
    deflatedSharpe({ sharpe: 0.1, nTrials: 20, trialSharpeVariance: 0.001, nObs: 101, skew: 0.05, kurtosis: 3 }) <
      PHI_1,
  );
  // MinTRL = 1 + v · (z_c / SR)² = 1 + 1 · (1 / 0.1)² = 101 at confidence Φ(1).
  close(minTrackRecordLength({ sharpe: 0.1, skew: 0.05, kurtosis: 3, confidence: PHI_1 }), 101, 1e-8, "MinTRL");
});

Deno.test("probabilityOfBacktestOverfitting(matrix, opts) and bestF1Threshold(yTrue, scores) by hand", () => {
  // Two trials, two groups of two periods. Trial 0 earns 1 then loses 1; trial 1 is flat. Ranking by mean: whichever
  // half is in sample, its winner is last out of sample: ω = 1/3, logit ln(1/2) ≤ 0 in both combinations → PBO 1.
  const r = probabilityOfBacktestOverfitting([[1, 0], [1, 0], [-1, 0], [-1, 0]], { groups: 2, metric: "mean" });
  assert.equal(r.nCombinations, 2);
  assert.equal(r.pbo, 1);
  r.logits.forEach((l) => close(l, Math.log(0.5), 1e-15, "logit"));
  // scores 0.9 (1), 0.8 (1), 0.7 (0), 0.3 (1), 0.1 (0); 3 positives. F1 at each cut: 2/4, 4/5, 4/6, 6/7, 6/8.
  const t = bestF1Threshold([0, 1, 1, 0, 1], [0.1, 0.9, 0.8, 0.7, 0.3]);
  assert.equal(t.threshold, 0.3);
  close(t.f1, 6 / 7, 1e-15, "F1");
  close(t.precision, 3 / 4, 1e-15, "precision");
  assert.equal(t.recall, 1);
});

Deno.test("plausibilityCheck flags a too-good accuracy and recommends the leakage audit", () => {
  const r = plausibilityCheck({ accuracy: 0.7, nTest: 500 });
  assert.equal(r.suspicious, true);
  assert.deepEqual(r.flags.map((f) => [f.metric, f.value, f.limit]), [["accuracy", 0.7, 0.6]]);
  assert.ok(r.recommendation.includes("leakage audit"));
  assert.deepEqual(plausibilityCheck({ accuracy: 0.53, nTest: 500 }), {
    suspicious: false,
    flags: [],
    recommendation: "",
  });
});
