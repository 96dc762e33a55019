/**
 * The Model contract: every trainer (XGBoost, linear, stacking, every neural model) implements it, so the pipeline
 * and stacking never special-case a model.
 *
 * @module
 */

import type { Matrix } from "../data/matrix.ts";

/** Targets: regression values, or class indices 0..k-1 stored as floats. */
export type Target = Float32Array | Float64Array;

/** Options common to every `fit`. Models may accept more. */
export interface FitOptions {
  /** Held-out data used only for early stopping / model selection, never for the final parameters' fit. */
  validation?: { X: Matrix; y: Target; sampleWeight?: Float32Array };
  /** Per-row weights for the training rows. */
  sampleWeight?: Float32Array;
  /** Seed for every random choice the model makes. */
  seed?: number;
  /** Called with progress in [0, 1] and a short status, for progress bars. */
  onProgress?: (fraction: number, status: string) => void;
}

/** What a fit reports back; stored with the fold. */
export interface FitReport {
  /** Model kind, e.g. "xgboost". */
  model: string;
  /** Iterations or epochs actually used (after early stopping: the best one, 1-based). */
  bestIteration?: number;
  /** Wall-clock training time in seconds. */
  seconds: number;
  /** Notes worth surfacing (fallbacks, warnings). */
  notes: string[];
  /** Model-specific extras (validation curve, backend, ...). JSON-serializable. */
  details?: Record<string, unknown>;
}

/** A trainable predictor. `predict` returns one value per row: a regression value or P(class 1) for binary models. */
export interface Model {
  /** Model kind, e.g. "xgboost", "elasticnet". */
  readonly kind: string;
  /** Fits on `X`, `y`; `opts.validation` only for early stopping / selection, `opts.sampleWeight` weights rows. */
  fit(X: Matrix, y: Target, opts?: FitOptions): Promise<FitReport>;
  /** One prediction per row of `X` (same columns as in `fit`). */
  predict(X: Matrix): Float64Array;
  /** Writes everything needed to reload the model into the folder or file `path`. */
  save(path: string): Promise<void>;
  /** JSON-serializable description: kind, parameters, and anything needed to reproduce the fit. */
  describe(): Record<string, unknown>;
  /** Frees native or GPU resources deterministically. Idempotent. */
  dispose?(): void;
}
