/**
 * Input-scale audit and NaN counts for a feature matrix, run before training a neural model.
 *
 * Unscaled inputs (prices in the thousands, volumes in the millions) make the first layer's gradients huge: every step
 * is clipped and the optimizer crawls. The audit flags columns whose typical magnitude is far from 1, constant columns
 * (std 0: nothing to learn, and standardization divides by zero) and columns with NaN/Inf.
 *
 * @module
 */

import type { Matrix } from "../data/matrix.ts";

/** One column's statistics and verdict. */
export interface ColumnScale {
  /** Column name from the matrix, or `x<j>` (0-based column index) when the matrix has no names. */
  column: string;
  /** Mean of the column's finite values; NaN when it has none. */
  mean: number;
  /** Sample std (n − 1) of the finite values; 0 when fewer than two are finite. */
  std: number;
  /** Smallest finite value; Infinity when the column has none. */
  min: number;
  /** Largest finite value; −Infinity when the column has none. */
  max: number;
  /** NaN or ±Inf values. */
  nonFinite: number;
  /**
   * First problem found, in this order: `non-finite` (any NaN/Inf), `constant` (std 0), `unscaled` (max(|mean|, std) >
   * maxScale or some |value| > maxAbs); else `ok`.
   */
  verdict: "ok" | "unscaled" | "constant" | "non-finite";
}

/** The audit of a whole matrix. */
export interface InputScaleReport {
  /** One entry per matrix column, in column order. */
  columns: ColumnScale[];
  /** Columns not "ok". */
  flagged: string[];
  /** Total NaN/Inf values. */
  nonFinite: number;
  /** One line: "inputs ok" or what is wrong. */
  summary: string;
}

/**
 * Audits every column: `unscaled` when max(|mean|, std) > `maxScale` (default 10) or the largest |value| exceeds
 * `maxAbs` (default 100); `constant` when std = 0; `non-finite` when it contains NaN/Inf.
 */
export function auditInputScale(X: Matrix, o: { maxScale?: number; maxAbs?: number } = {}): InputScaleReport {
  const maxScale = o.maxScale ?? 10;
  const maxAbs = o.maxAbs ?? 100;
  const columns: ColumnScale[] = [];
  let totalBad = 0;
  for (let j = 0; j < X.cols; j++) {
    let n = 0, s = 0, bad = 0, min = Infinity, max = -Infinity;
    for (let i = 0; i < X.rows; i++) {
      const v = X.data[i * X.cols + j];
      if (!Number.isFinite(v)) {
        bad++;
        continue;
      }
      n++;
      s += v;
      if (v < min) min = v;
      if (v > max) max = v;
    }
    const mean = n > 0 ? s / n : NaN;
    let s2 = 0;
    for (let i = 0; i < X.rows; i++) {
      const v = X.data[i * X.cols + j];
      if (Number.isFinite(v)) s2 += (v - mean) ** 2;
    }
    const std = n > 1 ? Math.sqrt(s2 / (n - 1)) : 0;
    const verdict: ColumnScale["verdict"] = bad > 0
      ? "non-finite"
      : std === 0
      ? "constant"
      : Math.max(Math.abs(mean), std) > maxScale || Math.max(Math.abs(min), Math.abs(max)) > maxAbs
      ? "unscaled"
      : "ok";
    totalBad += bad;
    columns.push({ column: X.columns?.[j] ?? `x${j}`, mean, std, min, max, nonFinite: bad, verdict });
  }
  const flagged = columns.filter((c) => c.verdict !== "ok").map((c) => c.column);
  const parts: string[] = [];
  for (const kind of ["unscaled", "constant", "non-finite"] as const) {
    const cs = columns.filter((c) => c.verdict === kind);
    if (cs.length === 0) continue;
    const names = cs.slice(0, 5).map((c) =>
      kind === "unscaled" ? `${c.column} [${c.min.toPrecision(3)}, ${c.max.toPrecision(3)}]` : c.column
    );
    parts.push(`${cs.length} ${kind} column(s): ${names.join(", ")}${cs.length > 5 ? ", …" : ""}`);
  }
  if (totalBad > 0) parts.push(`${totalBad} NaN/Inf values`);
  return { columns, flagged, nonFinite: totalBad, summary: parts.length === 0 ? "inputs ok" : parts.join("; ") };
}

/** NaN/Inf count per column (column name → count), only for columns that have any. */
export function nonFiniteCounts(X: Matrix): Record<string, number> {
  const out: Record<string, number> = {};
  for (let j = 0; j < X.cols; j++) {
    let bad = 0;
    for (let i = 0; i < X.rows; i++) if (!Number.isFinite(X.data[i * X.cols + j])) bad++;
    if (bad > 0) out[X.columns?.[j] ?? `x${j}`] = bad;
  }
  return out;
}
