/**
 * Class and sample weights against class imbalance. Fit them on the training part of a fold only (docs/design.md §2):
 * weights computed on all rows leak the test window's class balance into training.
 *
 * @module
 */

import { ConfigError, DataError } from "../errors.ts";

/**
 * Weight per class label.
 *
 * - `"balanced"`: `n / (k · count_c)`, as scikit-learn's `compute_class_weight("balanced")` — the weighted count of
 *   every class is n / k, so the average weight per sample is 1 and the loss keeps its scale.
 * - `"inverse"`: normalized inverse frequency, `(1 / count_c) / Σ_j (1 / count_j)`, so the class weights sum to 1.
 *   Proportional to `"balanced"`; only the scale of a weighted loss differs (which matters for learning rates).
 *
 * Only classes present in `y` get a weight (a class absent from training cannot be weighted). Labels must be
 * finite numbers (0/1 for direction).
 */
export function classWeights(y: ArrayLike<number>, mode: "balanced" | "inverse"): Record<number, number> {
  if (mode !== "balanced" && mode !== "inverse") {
    throw new ConfigError(`class weight mode must be "balanced" or "inverse", got ${JSON.stringify(mode)}`);
  }
  if (y.length === 0) throw new ConfigError("classWeights needs at least one label");
  const counts = new Map<number, number>();
  for (let i = 0; i < y.length; i++) {
    if (!Number.isFinite(y[i])) {
      throw new DataError(`classWeights: non-finite label at row ${i}`, {
        expected: "a class label",
        found: String(y[i]),
      });
    }
    counts.set(y[i], (counts.get(y[i]) ?? 0) + 1);
  }
  const labels = [...counts.keys()].sort((a, b) => a - b);
  const out: Record<number, number> = {};
  if (mode === "balanced") {
    for (const l of labels) out[l] = y.length / (labels.length * counts.get(l)!);
  } else {
    let s = 0;
    for (const l of labels) s += 1 / counts.get(l)!;
    for (const l of labels) out[l] = 1 / counts.get(l)! / s;
  }
  return out;
}

/** Per-row weights from per-class weights (`weights[y[i]]`). Throws when a label has no weight. */
export function sampleWeightsFromClasses(y: ArrayLike<number>, weights: Record<number, number>): Float64Array {
  const out = new Float64Array(y.length);
  for (let i = 0; i < y.length; i++) {
    const w = weights[y[i]];
    if (w === undefined) {
      throw new ConfigError(`no class weight for label ${y[i]} (row ${i}); fit the weights on labels that include it`);
    }
    out[i] = w;
  }
  return out;
}

/**
 * Sample weights for a regression target that give positive and non-positive targets equal total weight:
 * `n / (2 · n_pos)` for targets > 0 and `n / (2 · n_nonpos)` for the rest (zero counts as down, as the direction
 * label does). The mean weight is 1. Guards against a return regressor that learns the sign of the drift (predicting
 * "up" everywhere in a bull sample) instead of the signal. Non-finite targets are refused.
 */
export function balancedRegressionWeights(target: ArrayLike<number>): Float64Array {
  const n = target.length;
  let pos = 0;
  for (let i = 0; i < n; i++) {
    if (!Number.isFinite(target[i])) {
      throw new DataError(`balancedRegressionWeights: non-finite target at row ${i}`, {
        expected: "a finite return",
        found: String(target[i]),
      });
    }
    if (target[i] > 0) pos++;
  }
  const neg = n - pos;
  const out = new Float64Array(n);
  if (pos === 0 || neg === 0) return out.fill(1);
  const wPos = n / (2 * pos);
  const wNeg = n / (2 * neg);
  for (let i = 0; i < n; i++) out[i] = target[i] > 0 ? wPos : wNeg;
  return out;
}
