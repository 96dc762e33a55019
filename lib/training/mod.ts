/**
 * The training loop, Adam, schedules, losses, seeded randomness and checkpoints shared by every neural model.
 * Import from here.
 *
 * @module
 */

export * from "./loop.ts";
export * from "./adam.ts";
export * from "./schedules.ts";
export * from "./losses.ts";
export * from "./rng.ts";
export * from "./checkpoint.ts";
export * from "./progress.ts";
export * from "./data_parallel.ts";
