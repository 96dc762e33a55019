/**
 * candor's public API. Re-exports only: every symbol lives in its own module.
 *
 * @module
 */

export * from "./errors.ts";
export * from "./data/matrix.ts";
export * from "./data/panel.ts";
export * from "./validation/fold.ts";
export * from "./models/model.ts";
export * from "./validation/mod.ts";
export * from "./metrics/mod.ts";
export * from "./report/charts.ts";
export * from "./report/render.ts";
export * from "./report/notebook.ts";
export * from "./features/definition.ts";
export * from "./features/technical.ts";
export * from "./features/alpha158.ts";
export * from "./features/calendar.ts";
export * from "./features/catalog.ts";
export * from "./features/targets.ts";
export * from "./features/dataset.ts";
export * from "./backtest/mod.ts";
export * from "./store/mod.ts";
export * from "./models/xgboost/mod.ts";
export * from "./models/calibration/calibration.ts";
export * from "./features/wavelet.ts";
export * from "./features/scalers.ts";
export * from "./leakage/audit.ts";
export * from "./leakage/configuration.ts";
export * from "./data/column_names.ts";
export * from "./data/load.ts";
export * from "./data/synthetic.ts";
export * from "./data/write.ts";
export * from "./models/linear/linear.ts";
export * from "./models/stacking/mod.ts";
export * from "./features/base.ts";
export * from "./training/mod.ts";
export * from "./models/nn/mod.ts";
export * from "./diagnostics/mod.ts";
export * from "./pipeline/config.ts";
export * from "./pipeline/run.ts";
