/**
 * Training-health diagnostics: monitors (variance collapse, sign bias, gradient health, loss balance), the input-scale
 * audit, the per-epoch health log, its JSON summary and `diagnose()`. Import from here.
 *
 * @module
 */

export * from "./monitors.ts";
export * from "./input_scale.ts";
export * from "./health.ts";
