/**
 * Classification metrics with scikit-learn's conventions: direction accuracy, confusion matrix, per-class
 * precision/recall/F1, the classification report, macro-F1 (zero_division = 0), balanced accuracy and Matthews'
 * correlation coefficient.
 *
 * Conventions:
 * - Labels are numbers (0/1 for direction, any integers for multi-class). Unless given, the label set is the sorted
 *   union of the labels in `yTrue` and `yPred`, as in scikit-learn.
 * - A precision or recall whose denominator is zero is 0 (scikit-learn's `zero_division=0`), so a model that never
 *   predicts a class gets F1 = 0 for it instead of a flattering NaN that averaging would skip.
 * - Direction: a value is "up" iff it is > 0, matching the dataset label (1 iff the forward return is > 0). A zero
 *   return therefore counts as "down"; `directionAccuracy(..., { zeros: "exclude" })` drops rows whose true value
 *   is exactly zero instead. A prediction of exactly 0 is "down" (no call is not an up call).
 * - Non-finite values are refused with a DataError: a NaN prediction is a bug upstream, not a row to skip silently.
 *
 * Hand-written: the npm options (ml-confusion-matrix and the like) do not follow scikit-learn's zero_division and
 * label-union rules, and each of these is a few lines.
 *
 * @module
 */

import { ConfigError } from "../errors.ts";
import { assertPaired } from "./paired.ts";

/** Options of {@link directionAccuracy}. */
export interface DirectionAccuracyOptions {
  /**
   * Rows whose true value is exactly 0: `"down"` (default; the dataset's label rule, 1 iff return > 0) or
   * `"exclude"` (dropped from numerator and denominator).
   */
  zeros?: "down" | "exclude";
}

/**
 * Share of rows where the predicted direction matches the realized one. Both inputs are signed: returns (or labels
 * 0/1) for `yTrue`, and signed forecasts for `yPred` — a forecast return, or a probability minus 0.5 (a raw
 * probability is always > 0 and would be scored as "always up"). "Up" means > 0; see the module notes for zeros.
 * Returns NaN for an empty input.
 */
export function directionAccuracy(
  yTrue: ArrayLike<number>,
  yPred: ArrayLike<number>,
  opts: DirectionAccuracyOptions = {},
): number {
  assertPaired(yTrue, yPred, "directionAccuracy");
  const exclude = opts.zeros === "exclude";
  let hit = 0;
  let n = 0;
  for (let i = 0; i < yTrue.length; i++) {
    if (exclude && yTrue[i] === 0) continue;
    n++;
    if ((yTrue[i] > 0) === (yPred[i] > 0)) hit++;
  }
  return n === 0 ? NaN : hit / n;
}

/** Share of exactly equal labels (plain accuracy). NaN for an empty input. */
export function accuracy(yTrue: ArrayLike<number>, yPred: ArrayLike<number>): number {
  assertPaired(yTrue, yPred, "accuracy");
  let hit = 0;
  for (let i = 0; i < yTrue.length; i++) if (yTrue[i] === yPred[i]) hit++;
  return yTrue.length === 0 ? NaN : hit / yTrue.length;
}

/** A confusion matrix: `matrix[i][j]` counts rows with true label `labels[i]` predicted as `labels[j]`. */
export interface ConfusionMatrix {
  /** The label set in row/column order: the `labels` argument as given, else every label seen, sorted ascending. */
  labels: number[];
  /** `labels.length` × `labels.length` counts; rows are true labels, columns predicted labels. */
  matrix: number[][];
}

function labelSet(yTrue: ArrayLike<number>, yPred: ArrayLike<number>, labels?: readonly number[]): number[] {
  if (labels !== undefined) {
    if (labels.length === 0) throw new ConfigError("labels must not be empty");
    return [...labels];
  }
  const s = new Set<number>();
  for (let i = 0; i < yTrue.length; i++) s.add(yTrue[i]);
  for (let i = 0; i < yPred.length; i++) s.add(yPred[i]);
  return [...s].sort((a, b) => a - b);
}

/**
 * Confusion matrix (rows: true labels, columns: predicted labels), as scikit-learn's `confusion_matrix`. Rows whose
 * true or predicted label is not in `labels` are ignored.
 */
export function confusionMatrix(
  yTrue: ArrayLike<number>,
  yPred: ArrayLike<number>,
  labels?: readonly number[],
): ConfusionMatrix {
  assertPaired(yTrue, yPred, "confusionMatrix");
  const ls = labelSet(yTrue, yPred, labels);
  const pos = new Map(ls.map((l, i) => [l, i]));
  const matrix = ls.map(() => new Array<number>(ls.length).fill(0));
  for (let i = 0; i < yTrue.length; i++) {
    const a = pos.get(yTrue[i]);
    const b = pos.get(yPred[i]);
    if (a !== undefined && b !== undefined) matrix[a][b]++;
  }
  return { labels: ls, matrix };
}

/** Precision, recall, F1 and support of one class. */
export interface ClassScores {
  /** The class label these scores are for. */
  label: number;
  /** TP / (TP + FP), a fraction in [0, 1]; 0 when the class was never predicted (zero_division = 0). */
  precision: number;
  /** TP / (TP + FN), a fraction in [0, 1]; 0 when the class never occurs in the truth. */
  recall: number;
  /** 2·TP / (2·TP + FP + FN), the harmonic mean of precision and recall; 0 when both are undefined. */
  f1: number;
  /** Number of rows whose true label is this class. */
  support: number;
}

/** Averaged scores (macro: unweighted mean over classes; weighted: weighted by support). */
export interface AveragedScores {
  /** Average of the per-class precisions (fraction in [0, 1]). */
  precision: number;
  /** Average of the per-class recalls (fraction in [0, 1]). */
  recall: number;
  /** Average of the per-class F1 scores (not the F1 of the averaged precision and recall). */
  f1: number;
  /** Total support over the classes: the number of rows counted in the report (not averaged). */
  support: number;
}

/** scikit-learn's classification report as data. */
export interface ClassificationReport {
  /** Per-class scores in label order. */
  classes: ClassScores[];
  /** Share of counted rows predicted exactly right (fraction in [0, 1]); NaN when no row was counted. */
  accuracy: number;
  /** Unweighted mean over classes: every class counts the same, however rare (scikit-learn's "macro avg"). */
  macroAvg: AveragedScores;
  /** Mean over classes weighted by support (scikit-learn's "weighted avg"); 0s when no row was counted. */
  weightedAvg: AveragedScores;
}

function scoresFrom(cm: ConfusionMatrix): ClassScores[] {
  const k = cm.labels.length;
  return cm.labels.map((label, c) => {
    const tp = cm.matrix[c][c];
    let support = 0;
    let predicted = 0;
    for (let j = 0; j < k; j++) support += cm.matrix[c][j];
    for (let i = 0; i < k; i++) predicted += cm.matrix[i][c];
    const precision = predicted === 0 ? 0 : tp / predicted;
    const recall = support === 0 ? 0 : tp / support;
    const denom = support + predicted; // 2tp + fp + fn
    const f1 = denom === 0 ? 0 : (2 * tp) / denom;
    return { label, precision, recall, f1, support };
  });
}

/** Per-class precision, recall, F1 and support (zero_division = 0), in label order. */
export function precisionRecallF1(
  yTrue: ArrayLike<number>,
  yPred: ArrayLike<number>,
  labels?: readonly number[],
): ClassScores[] {
  return scoresFrom(confusionMatrix(yTrue, yPred, labels));
}

/**
 * scikit-learn's `classification_report(output_dict=True)` as a typed object: per-class scores, accuracy, macro and
 * support-weighted averages (zero_division = 0). Use {@link formatClassificationReport} for the text table.
 */
export function classificationReport(
  yTrue: ArrayLike<number>,
  yPred: ArrayLike<number>,
  labels?: readonly number[],
): ClassificationReport {
  const cm = confusionMatrix(yTrue, yPred, labels);
  const classes = scoresFrom(cm);
  let total = 0;
  let correct = 0;
  for (let i = 0; i < cm.labels.length; i++) {
    correct += cm.matrix[i][i];
    for (let j = 0; j < cm.labels.length; j++) total += cm.matrix[i][j];
  }
  const k = classes.length;
  const macroAvg: AveragedScores = { precision: 0, recall: 0, f1: 0, support: 0 };
  const weightedAvg: AveragedScores = { precision: 0, recall: 0, f1: 0, support: 0 };
  for (const c of classes) {
    macroAvg.precision += c.precision / k;
    macroAvg.recall += c.recall / k;
    macroAvg.f1 += c.f1 / k;
    macroAvg.support += c.support;
    if (total > 0) {
      weightedAvg.precision += (c.precision * c.support) / total;
      weightedAvg.recall += (c.recall * c.support) / total;
      weightedAvg.f1 += (c.f1 * c.support) / total;
    }
    weightedAvg.support += c.support;
  }
  return { classes, accuracy: total === 0 ? NaN : correct / total, macroAvg, weightedAvg };
}

/** The classification report as a fixed-width text table (like scikit-learn's printed report). */
export function formatClassificationReport(report: ClassificationReport, digits = 3): string {
  const f = (x: number) => x.toFixed(digits).padStart(10);
  const lines = [
    `${"".padStart(14)}${"precision".padStart(10)}${"recall".padStart(10)}${"f1".padStart(10)}` +
    `${"support".padStart(10)}`,
  ];
  for (const c of report.classes) {
    lines.push(
      `${String(c.label).padStart(14)}${f(c.precision)}${f(c.recall)}${f(c.f1)}${String(c.support).padStart(10)}`,
    );
  }
  lines.push("");
  lines.push(
    `${"accuracy".padStart(14)}${"".padStart(20)}${f(report.accuracy)}${String(report.macroAvg.support).padStart(10)}`,
  );
  for (const [name, a] of [["macro avg", report.macroAvg], ["weighted avg", report.weightedAvg]] as const) {
    lines.push(`${name.padStart(14)}${f(a.precision)}${f(a.recall)}${f(a.f1)}${String(a.support).padStart(10)}`);
  }
  return lines.join("\n");
}

/**
 * Macro-averaged F1: the unweighted mean of per-class F1 over the label set, with zero_division = 0 (scikit-learn's
 * `f1_score(average="macro", zero_division=0)`). A constant predictor on balanced up/down data scores ≈ 0.33, not the
 * 0.5 its accuracy suggests.
 */
export function macroF1(yTrue: ArrayLike<number>, yPred: ArrayLike<number>, labels?: readonly number[]): number {
  return classificationReport(yTrue, yPred, labels).macroAvg.f1;
}

/**
 * F1 of one class (default the positive class 1), zero_division = 0, as `f1_score(average="binary")`.
 */
export function f1Score(yTrue: ArrayLike<number>, yPred: ArrayLike<number>, positive = 1): number {
  const cm = confusionMatrix(yTrue, yPred);
  const c = cm.labels.indexOf(positive);
  if (c < 0) return 0;
  return scoresFrom(cm)[c].f1;
}

/**
 * Balanced accuracy: the mean recall over the classes present in `yTrue` (scikit-learn's `balanced_accuracy_score`).
 * 0.5 for any constant predictor on two classes, whatever the class balance.
 */
export function balancedAccuracy(yTrue: ArrayLike<number>, yPred: ArrayLike<number>): number {
  const classes = precisionRecallF1(yTrue, yPred).filter((c) => c.support > 0);
  if (classes.length === 0) return NaN;
  let s = 0;
  for (const c of classes) s += c.recall;
  return s / classes.length;
}

/**
 * Matthews correlation coefficient (multi-class form, as scikit-learn's `matthews_corrcoef`): 0 when either the
 * truth or the prediction is constant.
 */
export function matthewsCorrelation(yTrue: ArrayLike<number>, yPred: ArrayLike<number>): number {
  const { matrix } = confusionMatrix(yTrue, yPred);
  const k = matrix.length;
  const tSum = new Array<number>(k).fill(0);
  const pSum = new Array<number>(k).fill(0);
  let correct = 0;
  let n = 0;
  for (let i = 0; i < k; i++) {
    correct += matrix[i][i];
    for (let j = 0; j < k; j++) {
      tSum[i] += matrix[i][j];
      pSum[j] += matrix[i][j];
      n += matrix[i][j];
    }
  }
  let tp = 0;
  let pp = 0;
  let tt = 0;
  for (let i = 0; i < k; i++) {
    tp += tSum[i] * pSum[i];
    pp += pSum[i] * pSum[i];
    tt += tSum[i] * tSum[i];
  }
  const cov = correct * n - tp;
  const varP = n * n - pp;
  const varT = n * n - tt;
  if (varP * varT === 0) return 0;
  return cov / Math.sqrt(varT * varP);
}
