/**
 * Validation: splitters on the shared date axis (walk-forward, three-way, purged K-fold, CPCV), fold serialization
 * and walk-forward efficiency. Import from here; the files are an implementation detail.
 *
 * @module
 */

export * from "./fold.ts";
export type { PurgeOptions } from "./purge.ts";
export * from "./walk_forward.ts";
export * from "./splits.ts";
export * from "./efficiency.ts";
