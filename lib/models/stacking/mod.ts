/**
 * Stacking ensembles over walk-forward out-of-fold predictions, and causal regime meta-features.
 *
 * @module
 */

export * from "./stacking.ts";
export * from "./regime.ts";
