/**
 * The dense feature matrix handed to every model.
 *
 * @module
 */

import { ConfigError } from "../errors.ts";

/**
 * A row-major dense matrix of 32-bit floats. `NaN` marks a missing value (XGBoost treats it as missing; neural
 * models require it to be sanitized first). `columns`, when given, names the features in column order.
 */
export interface Matrix {
  /** Row-major values, length `rows * cols`: element (r, c) is `data[r * cols + c]`. `NaN` = missing. */
  data: Float32Array;
  /** Number of rows (samples, one per (symbol, date) in the pipeline). */
  rows: number;
  /** Number of columns (features). */
  cols: number;
  /** Optional feature names in column order; when present its length must equal `cols` (see `assertMatrix`). */
  columns?: string[];
}

/** Checks that `data.length === rows * cols` and that `columns` (if any) has `cols` names; throws ConfigError. */
export function assertMatrix(m: Matrix, what = "matrix"): void {
  if (!Number.isInteger(m.rows) || m.rows < 0 || !Number.isInteger(m.cols) || m.cols < 0) {
    throw new ConfigError(`${what}: rows and cols must be non-negative integers, got ${m.rows} × ${m.cols}`);
  }
  if (m.data.length !== m.rows * m.cols) {
    throw new ConfigError(
      `${what}: data has ${m.data.length} values but rows × cols = ${m.rows} × ${m.cols} = ${m.rows * m.cols}`,
    );
  }
  if (m.columns !== undefined && m.columns.length !== m.cols) {
    throw new ConfigError(`${what}: ${m.columns.length} column names for ${m.cols} columns`);
  }
}

/** Selects rows (in the given order) of a matrix into a new matrix. */
export function takeRows(m: Matrix, rows: ArrayLike<number>): Matrix {
  const out = new Float32Array(rows.length * m.cols);
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i];
    out.set(m.data.subarray(r * m.cols, (r + 1) * m.cols), i * m.cols);
  }
  return { data: out, rows: rows.length, cols: m.cols, columns: m.columns };
}
