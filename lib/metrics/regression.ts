/**
 * Regression metrics and prediction-shape statistics, scikit-learn conventions (`mean_squared_error`,
 * `mean_absolute_error`, `r2_score`). The shape statistics (prediction standard deviation, share of positive
 * predictions) expose a model that collapsed to a constant or to one sign, which accuracy alone hides.
 *
 * @module
 */

import { assertPaired } from "./paired.ts";

/** Mean squared error (units: squared target units). NaN for empty input. */
export function meanSquaredError(yTrue: ArrayLike<number>, yPred: ArrayLike<number>): number {
  assertPaired(yTrue, yPred, "meanSquaredError");
  let s = 0;
  for (let i = 0; i < yTrue.length; i++) s += (yTrue[i] - yPred[i]) ** 2;
  return yTrue.length === 0 ? NaN : s / yTrue.length;
}

/** Mean absolute error (target units). NaN for empty input. */
export function meanAbsoluteError(yTrue: ArrayLike<number>, yPred: ArrayLike<number>): number {
  assertPaired(yTrue, yPred, "meanAbsoluteError");
  let s = 0;
  for (let i = 0; i < yTrue.length; i++) s += Math.abs(yTrue[i] - yPred[i]);
  return yTrue.length === 0 ? NaN : s / yTrue.length;
}

/**
 * Coefficient of determination, `1 − SS_res / SS_tot`, as scikit-learn's `r2_score`: when the truth is constant it
 * is 1 for a perfect prediction and 0 otherwise. On daily returns a small negative R² is normal for a model whose
 * forecasts are biased or over-dispersed, even when its IC is positive.
 */
export function r2Score(yTrue: ArrayLike<number>, yPred: ArrayLike<number>): number {
  assertPaired(yTrue, yPred, "r2Score");
  const n = yTrue.length;
  if (n < 2) return NaN;
  let mean = 0;
  for (let i = 0; i < n; i++) mean += yTrue[i] / n;
  let res = 0;
  let tot = 0;
  for (let i = 0; i < n; i++) {
    res += (yTrue[i] - yPred[i]) ** 2;
    tot += (yTrue[i] - mean) ** 2;
  }
  if (tot === 0) return res === 0 ? 1 : 0;
  return 1 - res / tot;
}

/** Sample standard deviation (n − 1) of predictions: near 0 means the model collapsed to a constant. */
export function predictionStd(pred: ArrayLike<number>): number {
  const n = pred.length;
  if (n < 2) return NaN;
  let mean = 0;
  for (let i = 0; i < n; i++) mean += pred[i] / n;
  let s = 0;
  for (let i = 0; i < n; i++) s += (pred[i] - mean) ** 2;
  return Math.sqrt(s / (n - 1));
}

/**
 * Share of predictions above `threshold` (default 0: signed forecasts; pass 0.5 for probabilities). Near 0 or 1
 * means the model predicts one sign everywhere (sign bias). NaN for empty input.
 */
export function positivePredictionShare(pred: ArrayLike<number>, threshold = 0): number {
  if (pred.length === 0) return NaN;
  let k = 0;
  for (let i = 0; i < pred.length; i++) if (pred[i] > threshold) k++;
  return k / pred.length;
}
