/**
 * Backtesting: the lagged vectorized engine (single series and dates × symbols panels), portfolio construction,
 * metrics with declared conventions, sizing, the forward simulator and robustness sweeps.
 *
 * @module
 */

export * from "./engine.ts";
export * from "./metrics.ts";
export * from "./portfolio.ts";
export * from "./panel.ts";
export * from "./forecast.ts";
export * from "./sizing.ts";
export * from "./simulator.ts";
export * from "./sweep.ts";
