/**
 * The data-parallel tests' dataset: `n` rows of 6 standard-normal features, y = x₀ − 2·x₁ + noise, row weights
 * alternating 0.5 and 3. Seeded.
 *
 * @module
 */

import type { ArrayDataset } from "../../lib/training/loop.ts";
import { SeededRandom } from "../../lib/training/rng.ts";

/** The dataset (see the module doc). */
export function weightedData(n: number, seed: number): ArrayDataset {
  const r = new SeededRandom(seed);
  const f = 6;
  const x = Float32Array.from({ length: n * f }, () => r.normal());
  const y = Float32Array.from({ length: n }, (_, i) => x[i * f] - 2 * x[i * f + 1] + 0.1 * r.normal());
  const weight = Float32Array.from({ length: n }, (_, i) => (i % 2 ? 3 : 0.5));
  return { x, y, sampleShape: [f], weight };
}
