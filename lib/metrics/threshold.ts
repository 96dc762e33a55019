/**
 * Decision thresholds chosen on validation data and applied unchanged to test data. Choosing the threshold on the
 * test window is a quiet leak: the best-F1 threshold on test always looks better than it will live.
 *
 * Convention (scikit-learn's `precision_recall_curve`): a row is predicted positive iff `score ≥ threshold`.
 *
 * @module
 */

import { ConfigError, DataError } from "../errors.ts";

/** The best-F1 threshold and the scores it reaches on the data it was chosen on. */
export interface ThresholdChoice {
  /** Score cut-off: positive iff `score ≥ threshold`; `Infinity` (predict nothing) when there is no positive label. */
  threshold: number;
  /** F1 of the positive class at that threshold, on the data it was chosen on (in-sample, so optimistic). */
  f1: number;
  /** Precision TP / (TP + FP) at that threshold, on the same data. */
  precision: number;
  /** Recall TP / (TP + FN) at that threshold, on the same data. */
  recall: number;
}

/**
 * The threshold that maximizes the F1 of the positive class (label 1) on `yTrue` (0/1 labels) and `scores`.
 * Candidates are the distinct scores; among equal F1 the lowest threshold wins (as `argmax` over scikit-learn's
 * increasing thresholds). With no positive label the F1 is 0 everywhere: returns `threshold = Infinity` (predict
 * nothing). Fit on validation data, then call {@link applyThreshold} on test scores.
 */
export function bestF1Threshold(yTrue: ArrayLike<number>, scores: ArrayLike<number>): ThresholdChoice {
  const n = yTrue.length;
  if (n !== scores.length) throw new ConfigError(`yTrue has ${n} values but scores has ${scores.length}`);
  let positives = 0;
  for (let i = 0; i < n; i++) {
    if (yTrue[i] !== 0 && yTrue[i] !== 1) {
      throw new DataError(`bestF1Threshold: label at row ${i} is not 0/1`, {
        expected: "0 or 1",
        found: String(yTrue[i]),
      });
    }
    if (!Number.isFinite(scores[i])) {
      throw new DataError(`bestF1Threshold: non-finite score at row ${i}`, {
        expected: "a finite score",
        found: String(scores[i]),
      });
    }
    positives += yTrue[i];
  }
  if (positives === 0) return { threshold: Infinity, f1: 0, precision: 0, recall: 0 };
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[b] - scores[a]);
  let tp = 0;
  let predicted = 0;
  let best: ThresholdChoice = { threshold: Infinity, f1: -1, precision: 0, recall: 0 };
  let i = 0;
  while (i < n) {
    const s = scores[order[i]];
    while (i < n && scores[order[i]] === s) {
      tp += yTrue[order[i]];
      predicted++;
      i++;
    }
    const precision = tp / predicted;
    const recall = tp / positives;
    const f1 = tp === 0 ? 0 : (2 * tp) / (predicted + positives);
    if (f1 >= best.f1) best = { threshold: s, f1, precision, recall };
  }
  return best;
}

/** Labels from scores with a fixed threshold: 1 iff `score ≥ threshold`. */
export function applyThreshold(scores: ArrayLike<number>, threshold: number): Float64Array {
  const out = new Float64Array(scores.length);
  for (let i = 0; i < scores.length; i++) out[i] = scores[i] >= threshold ? 1 : 0;
  return out;
}
