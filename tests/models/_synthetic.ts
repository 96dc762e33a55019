/**
 * Small seeded datasets for model tests (CI-sized).
 *
 * @module
 */

import type { Matrix } from "../../lib/data/matrix.ts";

/** Park–Miller LCG in (0, 1): tiny, seeded, and reproducible in Python (same recurrence). */
export function lcg(seed: number): () => number {
  let s = seed % 2147483647;
  if (s <= 0) s += 2147483646;
  return () => (s = (s * 16807) % 2147483647) / 2147483647;
}

/** Standard normal draws by Box–Muller from {@link lcg}. */
export function normal(rand: () => number): () => number {
  return () => Math.sqrt(-2 * Math.log(rand())) * Math.cos(2 * Math.PI * rand());
}

/**
 * `rows × cols` uniform(0, 1) features; label 1 when x0 + x1 > 1 (flipped with probability `noise`); `target` is
 * x0 + x1 − 1 + noise. A share `missing` of x2 is NaN.
 */
export function classification(rows: number, cols: number, seed = 1, noise = 0, missing = 0): {
  X: Matrix;
  label: Float32Array;
  target: Float32Array;
} {
  const r = lcg(seed);
  const data = new Float32Array(rows * cols);
  const label = new Float32Array(rows);
  const target = new Float32Array(rows);
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < cols; j++) data[i * cols + j] = r();
    const s = data[i * cols] + data[i * cols + 1] - 1;
    target[i] = s + (r() - 0.5) * 0.1;
    label[i] = (s > 0) !== (r() < noise) ? 1 : 0;
    if (cols > 2 && r() < missing) data[i * cols + 2] = NaN;
  }
  const columns = Array.from({ length: cols }, (_, j) => `x${j}`);
  return { X: { data, rows, cols, columns }, label, target };
}

/** Accuracy of probabilities against 0/1 labels at threshold 0.5. */
export function accuracy(prob: ArrayLike<number>, label: ArrayLike<number>): number {
  let ok = 0;
  for (let i = 0; i < label.length; i++) if ((prob[i] > 0.5 ? 1 : 0) === label[i]) ok++;
  return ok / label.length;
}
