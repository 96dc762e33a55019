/**
 * Scalers fitted on a training window only, and a NaN/Inf sanitizer.
 *
 * - {@link fitStandardScaler}: per column `(x − mean) / std` (sample std, ddof 1);
 * - {@link fitRobustScaler}: per column `(x − median) / IQR` (IQR = q75 − q25, linear interpolation);
 * - {@link crossSectionalScale}: per date, across symbols — z-score or percentile rank. It is stateless (each date uses
 *   only its own rows, all known at that date's close), so there is nothing to fit and nothing to leak.
 *
 * A fitted scaler only sees rows whose date is inside the window given to `fit…` and records that window (and the row
 * count), so the auditor's configuration check can prove it never saw a test date. Missing values (NaN) are ignored
 * when fitting and stay NaN when transforming. A column with zero spread is scaled by 1 (centred only), not divided
 * by zero.
 *
 * @module
 */

import type { Matrix } from "../data/matrix.ts";
import { assertMatrix } from "../data/matrix.ts";
import { ConfigError, DataError } from "../errors.ts";
import type { FitWindow } from "./targets.ts";

/** A per-column affine scaler fitted on one training window. */
export interface FittedScaler {
  /** `standard`: centre = mean, scale = sample std (ddof 1); `robust`: centre = median, scale = IQR (q75 − q25). */
  readonly kind: "standard" | "robust";
  /** Per-column centre (mean or median). */
  readonly center: Float64Array;
  /** Per-column scale (std or IQR; 1 where the spread was 0 or undefined). */
  readonly scale: Float64Array;
  /** The inclusive date window it was fitted on. */
  readonly window: FitWindow;
  /** Rows it was fitted on. */
  readonly rows: number;
  /** Returns `(X − center) / scale` as a new matrix. */
  transform(X: Matrix): Matrix;
}

function rowsInWindow(dates: readonly string[], window: FitWindow, n: number): number[] {
  if (dates.length !== n) throw new ConfigError(`scaler: ${dates.length} dates for ${n} rows`);
  if (window.start > window.end) throw new ConfigError(`scaler: window start ${window.start} after end ${window.end}`);
  const rows: number[] = [];
  for (let i = 0; i < n; i++) if (dates[i] >= window.start && dates[i] <= window.end) rows.push(i);
  if (rows.length === 0) {
    throw new ConfigError(`scaler: no rows inside the fitting window ${window.start}..${window.end}`);
  }
  return rows;
}

function makeScaler(
  kind: "standard" | "robust",
  center: Float64Array,
  scale: Float64Array,
  window: FitWindow,
  rows: number,
): FittedScaler {
  return {
    kind,
    center,
    scale,
    window: { ...window },
    rows,
    transform(X: Matrix): Matrix {
      assertMatrix(X);
      if (X.cols !== center.length) throw new ConfigError(`scaler fitted on ${center.length} columns, got ${X.cols}`);
      const out = new Float32Array(X.data.length);
      for (let i = 0; i < X.rows; i++) {
        const o = i * X.cols;
        for (let j = 0; j < X.cols; j++) out[o + j] = (X.data[o + j] - center[j]) / scale[j];
      }
      return { data: out, rows: X.rows, cols: X.cols, columns: X.columns };
    },
  };
}

/**
 * A fitted scaler rebuilt from its saved numbers (a production model reloaded from its folder): the same transform as
 * the scaler that was fitted, bit for bit, since it is the same arithmetic on the same centre and scale.
 */
export function restoreScaler(
  kind: "standard" | "robust",
  center: ArrayLike<number>,
  scale: ArrayLike<number>,
  window: FitWindow,
  rows: number,
): FittedScaler {
  if (center.length !== scale.length) {
    throw new ConfigError(`scaler: ${center.length} centres for ${scale.length} scales`);
  }
  return makeScaler(kind, Float64Array.from(center), Float64Array.from(scale), window, rows);
}

/** Quantile of sorted values with linear interpolation between order statistics (numpy's default, R type 7). */
export function linearQuantileSorted(sorted: readonly number[], q: number): number {
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

function columnValues(X: Matrix, rows: number[], j: number): number[] {
  const v: number[] = [];
  for (const i of rows) {
    const x = X.data[i * X.cols + j];
    if (Number.isFinite(x)) v.push(x);
  }
  return v;
}

/**
 * Fits a standard scaler on the rows of `X` whose date (parallel array) lies in `window`.
 *
 * @throws ConfigError when no row lies inside the window or the shapes disagree.
 */
export function fitStandardScaler(X: Matrix, dates: readonly string[], window: FitWindow): FittedScaler {
  assertMatrix(X);
  const rows = rowsInWindow(dates, window, X.rows);
  const center = new Float64Array(X.cols);
  const scale = new Float64Array(X.cols).fill(1);
  for (let j = 0; j < X.cols; j++) {
    const v = columnValues(X, rows, j);
    if (v.length === 0) continue;
    const m = v.reduce((a, b) => a + b, 0) / v.length;
    center[j] = m;
    if (v.length > 1) {
      const sd = Math.sqrt(v.reduce((a, b) => a + (b - m) * (b - m), 0) / (v.length - 1));
      if (sd > 0) scale[j] = sd;
    }
  }
  return makeScaler("standard", center, scale, window, rows.length);
}

/** Fits a robust (median / IQR) scaler on the rows of `X` whose date lies in `window`. */
export function fitRobustScaler(X: Matrix, dates: readonly string[], window: FitWindow): FittedScaler {
  assertMatrix(X);
  const rows = rowsInWindow(dates, window, X.rows);
  const center = new Float64Array(X.cols);
  const scale = new Float64Array(X.cols).fill(1);
  for (let j = 0; j < X.cols; j++) {
    const v = columnValues(X, rows, j).sort((a, b) => a - b);
    if (v.length === 0) continue;
    center[j] = linearQuantileSorted(v, 0.5);
    const iqr = linearQuantileSorted(v, 0.75) - linearQuantileSorted(v, 0.25);
    if (iqr > 0) scale[j] = iqr;
  }
  return makeScaler("robust", center, scale, window, rows.length);
}

/**
 * Per-date cross-sectional scaling: within each date, `"zscore"` gives `(x − mean) / std` (population std over that
 * date's symbols; 0 when the spread is 0), `"rank"` the percentile rank (average ties, rank / count, in (0, 1]).
 * NaN stays NaN and is excluded from the date's statistics.
 */
export function crossSectionalScale(X: Matrix, dates: readonly string[], method: "zscore" | "rank"): Matrix {
  assertMatrix(X);
  if (dates.length !== X.rows) throw new ConfigError(`crossSectionalScale: ${dates.length} dates for ${X.rows} rows`);
  const groups = new Map<string, number[]>();
  for (let i = 0; i < X.rows; i++) {
    const g = groups.get(dates[i]);
    if (g === undefined) groups.set(dates[i], [i]);
    else g.push(i);
  }
  const out = new Float32Array(X.data.length).fill(Number.NaN);
  for (const rows of groups.values()) {
    for (let j = 0; j < X.cols; j++) {
      const idx = rows.filter((i) => Number.isFinite(X.data[i * X.cols + j]));
      if (idx.length === 0) continue;
      const v = idx.map((i) => X.data[i * X.cols + j]);
      if (method === "zscore") {
        const m = v.reduce((a, b) => a + b, 0) / v.length;
        const sd = Math.sqrt(v.reduce((a, b) => a + (b - m) * (b - m), 0) / v.length);
        idx.forEach((i, k) => (out[i * X.cols + j] = sd > 0 ? (v[k] - m) / sd : 0));
      } else {
        const order = v.map((x, k) => [x, k] as const).sort((a, b) => a[0] - b[0]);
        let a = 0;
        while (a < order.length) {
          let b = a;
          while (b + 1 < order.length && order[b + 1][0] === order[a][0]) b++;
          const rank = (a + b) / 2 + 1;
          for (let k = a; k <= b; k++) out[idx[order[k][1]] * X.cols + j] = rank / order.length;
          a = b + 1;
        }
      }
    }
  }
  return { data: out, rows: X.rows, cols: X.cols, columns: X.columns };
}

/** What {@link sanitize} found and did. */
export interface SanitizeReport {
  /** NaN cells found (per column, in column order). */
  nan: number[];
  /** +Inf cells found per column. */
  posInf: number[];
  /** −Inf cells found per column. */
  negInf: number[];
  /** Cells replaced ("fill"). */
  filled: number;
  /** Rows removed ("drop"). */
  rowsDropped: number;
}

/** Options of {@link sanitize}. */
export type SanitizePolicy =
  | { policy: "drop" }
  | { policy: "fill"; value?: number; fitted?: Float64Array }
  | { policy: "error" };

/**
 * Handles non-finite cells (NaN, ±Inf) by policy:
 * - `"drop"`: removes every row with a non-finite cell (`keptRows` says which rows survived, to subset targets too);
 * - `"fill"`: replaces them with `value` (default 0) or a per-column `fitted` value (e.g. training medians);
 * - `"error"`: throws DataError with the counts (NaN, +Inf, −Inf, rows, worst columns) and the first offending row
 *   and column.
 *
 * Always reports per-column counts. Guards against NaN reaching a neural model, where one NaN poisons every weight.
 */
export function sanitize(
  X: Matrix,
  options: SanitizePolicy,
): { X: Matrix; keptRows: Int32Array; report: SanitizeReport } {
  assertMatrix(X);
  const nan = new Array<number>(X.cols).fill(0);
  const posInf = new Array<number>(X.cols).fill(0);
  const negInf = new Array<number>(X.cols).fill(0);
  const badRow = new Uint8Array(X.rows);
  let first: { row: number; col: number; value: number } | undefined;
  for (let i = 0; i < X.rows; i++) {
    for (let j = 0; j < X.cols; j++) {
      const x = X.data[i * X.cols + j];
      if (Number.isFinite(x)) continue;
      first ??= { row: i, col: j, value: x };
      badRow[i] = 1;
      if (Number.isNaN(x)) nan[j]++;
      else if (x > 0) posInf[j]++;
      else negInf[j]++;
    }
  }
  if (options.policy === "error" && first !== undefined) {
    const name = (j: number) => X.columns?.[j] ?? `column ${j + 1}`;
    const sum = (a: number[]) => a.reduce((x, y) => x + y, 0);
    const perColumn = nan.map((_, j) => ({ j, n: nan[j] + posInf[j] + negInf[j] })).filter((c) => c.n > 0)
      .sort((a, b) => b.n - a.n || a.j - b.j);
    const listed = perColumn.slice(0, 5).map((c) => `${name(c.j)} ${c.n}`).join(", ") +
      (perColumn.length > 5 ? `, … (${perColumn.length - 5} more column(s))` : "");
    const rows = badRow.reduce((a, b) => a + b, 0);
    throw new DataError(
      `${sum(nan) + sum(posInf) + sum(negInf)} non-finite feature value(s) (${sum(nan)} NaN, ${sum(posInf)} +Inf, ` +
        `${sum(negInf)} -Inf) in ${rows} of ${X.rows} row(s), by column: ${listed}; the first is here`,
      {
        line: first.row + 1,
        column: name(first.col),
        expected: "a finite number (choose the drop or fill policy to handle missing values)",
        found: String(first.value),
      },
    );
  }
  if (options.policy === "fill") {
    if (options.fitted !== undefined && options.fitted.length !== X.cols) {
      throw new ConfigError(`sanitize: ${options.fitted.length} fill values for ${X.cols} columns`);
    }
    const out = new Float32Array(X.data);
    let filled = 0;
    for (let k = 0; k < out.length; k++) {
      if (!Number.isFinite(out[k])) {
        out[k] = options.fitted?.[k % X.cols] ?? options.value ?? 0;
        filled++;
      }
    }
    const keptRows = Int32Array.from({ length: X.rows }, (_, i) => i);
    return {
      X: { data: out, rows: X.rows, cols: X.cols, columns: X.columns },
      keptRows,
      report: { nan, posInf, negInf, filled, rowsDropped: 0 },
    };
  }
  const kept: number[] = [];
  for (let i = 0; i < X.rows; i++) if (badRow[i] === 0) kept.push(i);
  const out = new Float32Array(kept.length * X.cols);
  kept.forEach((r, i) => out.set(X.data.subarray(r * X.cols, (r + 1) * X.cols), i * X.cols));
  return {
    X: { data: out, rows: kept.length, cols: X.cols, columns: X.columns },
    keptRows: Int32Array.from(kept),
    report: { nan, posInf, negInf, filled: 0, rowsDropped: X.rows - kept.length },
  };
}
