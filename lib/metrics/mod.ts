/**
 * Metrics: classification (direction accuracy, confusion matrix, F1, MCC), information coefficients, regression
 * errors, baselines, class and sample weights. Import from here; the files are an implementation detail.
 *
 * @module
 */

export * from "./classification.ts";
export * from "./correlation.ts";
export * from "./regression.ts";
export * from "./baselines.ts";
export * from "./class_weights.ts";
export * from "./significance.ts";
export * from "./sharpe.ts";
export * from "./pbo.ts";
export * from "./threshold.ts";
export * from "./plausibility.ts";
