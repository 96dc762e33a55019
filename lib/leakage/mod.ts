/**
 * The leakage auditor's public surface: feature audits (./audit.ts) and configuration checks (./configuration.ts).
 *
 * @module
 */

export * from "./audit.ts";
export * from "./configuration.ts";
