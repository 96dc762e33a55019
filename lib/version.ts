/**
 * The candor version, stored with every study, run and production model (and compared when a saved model is loaded).
 * Kept equal to `version` in deno.json (a test checks it).
 *
 * @module
 */

/** candor's version (semantic versioning). */
export const CANDOR_VERSION = "0.3.0";
