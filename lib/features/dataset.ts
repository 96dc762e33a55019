/**
 * From a Panel to the (X, target, label) arrays every model trains on.
 *
 * Rows are (symbol, date) pairs in panel order (symbol, then date). Rows whose target is unknown — the last `horizon`
 * rows of each symbol — are dropped; missing feature values stay `NaN` (XGBoost treats them as missing; neural models
 * must sanitize first, see `sanitize` in ./scalers.ts).
 *
 * @module
 */

import { type Panel, rowDatePositions } from "../data/panel.ts";
import type { Matrix } from "../data/matrix.ts";
import { computeFeatureMatrix, type FeatureDef, float64Column, symbolRanges } from "./definition.ts";
import { assertHorizon, binaryLabel, forwardLogReturnExpr } from "./targets.ts";

/** Options of {@link buildDataset}. */
export interface DatasetOptions {
  /** Feature definitions, in column order. */
  features: readonly FeatureDef[];
  /** Target horizon h in trading days: target_t = ln(adj_close_{t+h} / adj_close_t). */
  horizon: number;
}

/** A model-ready dataset; all arrays are parallel to the rows of `X`. */
export interface Dataset {
  /** Features, row-major Float32, NaN for missing; `X.columns` = `featureNames`. */
  X: Matrix;
  /** h-day forward log return of adj_close. */
  target: Float64Array;
  /** Direction: 1 if target > 0 else 0. */
  label: Float64Array;
  /** ISO date of each row (the decision date t). */
  dates: string[];
  /** Symbol of each row. */
  symbols: string[];
  /** Feature names in column order. */
  featureNames: string[];
  /** The horizon the target was built with. */
  horizon: number;
}

/**
 * Computes features and the h-day forward log-return target for a panel and assembles a {@link Dataset}.
 *
 * @throws ConfigError for a non-positive or fractional horizon, or duplicate feature names.
 */
export function buildDataset(panel: Panel, options: DatasetOptions): Dataset {
  assertHorizon(options.horizon);
  const tgt = panel.frame.select(forwardLogReturnExpr(options.horizon).alias("target"));
  const target = float64Column(tgt, "target");
  let n = 0;
  for (let i = 0; i < target.length; i++) if (Number.isFinite(target[i])) n++;
  const keep = new Int32Array(n);
  for (let i = 0, k = 0; i < target.length; i++) if (Number.isFinite(target[i])) keep[k++] = i;
  const names = options.features.map((d) => d.name);
  const X = computeFeatureMatrix(panel.frame, options.features, keep);
  // Dates and symbols as references to the panel's own strings (its date axis, its symbol ranges), not fresh ones.
  const dateAt = rowDatePositions(panel);
  const symbolAt = new Array<string>(target.length);
  for (const r of symbolRanges(panel.frame)) symbolAt.fill(r.symbol, r.start, r.end);
  const t = new Float64Array(n);
  const dates = new Array<string>(n);
  const symbols = new Array<string>(n);
  for (let k = 0; k < n; k++) {
    t[k] = target[keep[k]];
    dates[k] = panel.dates[dateAt[keep[k]]];
    symbols[k] = symbolAt[keep[k]];
  }
  return { X, target: t, label: binaryLabel(t), dates, symbols, featureNames: names, horizon: options.horizon };
}
