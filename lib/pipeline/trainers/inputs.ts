/**
 * Input preparation shared by trainers: gathering rows, the date windows of row sets (for the configuration gate),
 * per-fold standardization, and per-symbol sequence windows.
 *
 * Standardization (linear and neural kinds): a standard scaler is fitted on the fold's fitting rows only; after
 * scaling, NaN/±Inf (warm-up rows of rolling features) are filled with 0, the fitting rows' mean, and counted. A column
 * with no finite value in the fitting rows (an extra column that starts later) has no centre or scale to learn: it is
 * set to 0 on every split of the fold, so the model sees it as constant everywhere, and the fold is warned.
 *
 * Sequence windows: the input of row t is the scaled feature rows t − T + 1 … t of the same symbol, oldest first.
 * A row without T rows of history for its symbol has no window and is dropped from fitting, from the tail and from
 * the test window alike (never predicted 0.5); the counts are reported.
 *
 * @module
 */

import { type Matrix, takeRows } from "../../data/matrix.ts";
import { join } from "node:path";
import { fitStandardScaler, type FittedScaler, restoreScaler, sanitize } from "../../features/scalers.ts";
import { auditInputScale } from "../../diagnostics/input_scale.ts";
import type { DateWindow } from "../../validation/fold.ts";
import type { FittedTransformRecord } from "../../leakage/configuration.ts";
import type { DiagnosticRecord } from "../../store/store.ts";
import { ConfigError } from "../../errors.ts";
import type { FoldRows, StudyData } from "./contract.ts";

/** `a[rows[i]]` for every i. */
export function pick(a: ArrayLike<number>, rows: ArrayLike<number>): Float64Array {
  const out = new Float64Array(rows.length);
  for (let i = 0; i < rows.length; i++) out[i] = a[rows[i]];
  return out;
}

/** `a[rows[i]]` as Float32 (what model `fit` takes as targets). */
export function pick32(a: ArrayLike<number>, rows: ArrayLike<number>): Float32Array {
  const out = new Float32Array(rows.length);
  for (let i = 0; i < rows.length; i++) out[i] = a[rows[i]];
  return out;
}

/** The dates of `rows` as maximal runs of consecutive dates on the study's axis. */
export function windowsOfRows(rows: ArrayLike<number>, data: Pick<StudyData, "axis" | "dateIndex">): DateWindow[] {
  const used = new Uint8Array(data.axis.length);
  for (let i = 0; i < rows.length; i++) used[data.dateIndex[rows[i]]] = 1;
  const out: DateWindow[] = [];
  for (let d = 0; d < used.length; d++) {
    if (!used[d]) continue;
    let e = d;
    while (e + 1 < used.length && used[e + 1]) e++;
    out.push({ start: data.axis[d], end: data.axis[e] });
    d = e;
  }
  return out;
}

/** One configuration-gate record per window of the rows a thing was fitted on. */
export function fittedOn(
  name: string,
  fold: number,
  rows: ArrayLike<number>,
  data: Pick<StudyData, "axis" | "dateIndex">,
): FittedTransformRecord[] {
  return windowsOfRows(rows, data).map((window) => ({ name, fold, window }));
}

/** Indices of the columns of `X` without a single finite value. */
export function columnsWithoutFiniteValues(X: Matrix): number[] {
  const out: number[] = [];
  for (let j = 0; j < X.cols; j++) {
    let finite = false;
    for (let i = 0; i < X.rows && !finite; i++) finite = Number.isFinite(X.data[i * X.cols + j]);
    if (!finite) out.push(j);
  }
  return out;
}

/** Sets columns `cols` of `X` to `value` in place; returns how many finite values were overwritten. */
function setColumns(X: Matrix, cols: readonly number[], value: number): number {
  let overwritten = 0;
  for (const j of cols) {
    for (let i = 0; i < X.rows; i++) {
      if (Number.isFinite(X.data[i * X.cols + j])) overwritten++;
      X.data[i * X.cols + j] = value;
    }
  }
  return overwritten;
}

/** What {@link standardize} did, for the fold's fit report. */
export interface ScalingReport {
  /** `standard`, fitted on the fitting rows only. */
  scaler: { kind: string; rows: number; windows: DateWindow[] };
  /** NaN/±Inf filled with 0 after scaling. */
  filled: number;
  /** Columns with no finite value in the fitting rows, set to 0 on every split, and the finite values not used. */
  emptyColumns: { columns: string[]; overwritten: number };
  /** Input-scale audit of the scaled fitting, tail and test inputs (one line each). */
  inputScale: { fit: string; validation: string; test: string };
}

/** A fold scaler as saved in a model folder (`scaler.json`): everything {@link FoldScaler.transform} needs. */
export interface SavedScaler {
  /** Format tag. */
  format: "candor-scaler/1";
  /** `standard`: (x − mean) / sample std of the fitting rows. */
  kind: "standard";
  /** Per-column centre. */
  center: number[];
  /** Per-column scale (1 where the spread was 0 or undefined). */
  scale: number[];
  /** Columns without a finite value in the fitting rows (set to 0 everywhere). */
  emptyColumns: number[];
  /** Feature names the scaler was fitted on, in column order. */
  columns: string[];
  /** Rows it was fitted on. */
  rows: number;
  /** First and last fitting dates. */
  window: { start: string; end: string };
}

/**
 * The standardization of a fold as a reusable, serializable transform: fitted on the fold's fitting rows only, then
 * applied unchanged to any rows — the fold's tail and test rows, or, for a production model, the newest rows of
 * new price files. `transform` scales with the fitted centre and scale, sets the empty columns to 0 and fills NaN/±Inf
 * with 0 (the fitting rows' mean), the same arithmetic for every caller, so a reloaded model scores bit for bit like
 * the model that was fitted.
 */
export class FoldScaler {
  readonly #scaler: FittedScaler;
  /** The saved form. */
  readonly saved: SavedScaler;

  private constructor(saved: SavedScaler) {
    this.saved = saved;
    this.#scaler = restoreScaler(saved.kind, saved.center, saved.scale, saved.window, saved.rows);
  }

  /** Fits on `rows` of `data` (the fold's fitting rows). */
  static fit(data: StudyData, rows: Int32Array, fold: number): FoldScaler {
    if (rows.length === 0) throw new ConfigError(`fold ${fold + 1} has no fitting rows to standardize on`);
    const fitX = takeRows(data.X, rows);
    let start = data.dates[rows[0]], end = start;
    for (const r of rows) {
      const d = data.dates[r];
      if (d < start) start = d;
      if (d > end) end = d;
    }
    // The scaler sees exactly the fitting rows: it is given only them (their span may cover other parts of a k-fold).
    const fitted = fitStandardScaler(fitX, Array.from(rows, (r) => data.dates[r]), { start, end });
    return new FoldScaler({
      format: "candor-scaler/1",
      kind: "standard",
      center: Array.from(fitted.center),
      scale: Array.from(fitted.scale),
      emptyColumns: columnsWithoutFiniteValues(fitX),
      columns: data.X.columns ?? Array.from({ length: data.X.cols }, (_, j) => `x${j}`),
      rows: fitted.rows,
      window: { start, end },
    });
  }

  /** Rebuilds a saved scaler. */
  static fromSaved(saved: SavedScaler): FoldScaler {
    if (saved?.format !== "candor-scaler/1") throw new ConfigError("not a candor scaler (format candor-scaler/1)");
    return new FoldScaler(saved);
  }

  /** Reads `scaler.json` from a model folder. */
  static async load(dir: string): Promise<FoldScaler> {
    return FoldScaler.fromSaved(JSON.parse(await Deno.readTextFile(join(dir, "scaler.json"))));
  }

  /** Writes `scaler.json` into a model folder. */
  async save(dir: string): Promise<void> {
    await Deno.mkdir(dir, { recursive: true });
    await Deno.writeTextFile(join(dir, "scaler.json"), JSON.stringify(this.saved));
  }

  /** Scaled rows (a new matrix), the finite values of empty columns overwritten, and the NaN/±Inf filled. */
  transform(X: Matrix): { X: Matrix; overwritten: number; filled: number } {
    const scaled = this.#scaler.transform(X);
    const overwritten = setColumns(scaled, this.saved.emptyColumns, 0);
    const { X: clean, report } = sanitize(scaled, { policy: "fill", value: 0 });
    return { X: clean, overwritten, filled: report.filled };
  }
}

/** Scaled splits of a fold plus what was done. */
export interface Standardized {
  /** The fitted scaler (kept with a production model). */
  scaler: FoldScaler;
  /** Scaled fitting rows. */
  fit: Matrix;
  /** Scaled early-stopping tail. */
  validation: Matrix;
  /** Scaled test rows. */
  test: Matrix;
  /** All dataset rows scaled with the fold's scaler (only with `allRows`: sequence windows reach back). */
  all?: Matrix;
  /** The report. */
  report: ScalingReport;
  /** Input-scale diagnostics (one per split) and warnings. */
  diagnostics: DiagnosticRecord[];
  /** Warnings for the run. */
  warnings: string[];
}

/**
 * Standardizes a fold's splits with a scaler fitted on its fitting rows only (see the module notes). With `allRows`,
 * every dataset row is also transformed (sequence models window over past rows of any split).
 */
export function standardize(data: StudyData, rows: FoldRows, fold: number, allRows = false): Standardized {
  const scaler = FoldScaler.fit(data, rows.fit, fold);
  const { start, end } = scaler.saved.window;
  const empty = scaler.saved.emptyColumns;
  const emptyNames = empty.map((j) => data.X.columns?.[j] ?? `x${j}`);
  let overwritten = 0, filled = 0;
  const prepare = (m: Matrix): Matrix => {
    const t = scaler.transform(m);
    overwritten += t.overwritten;
    filled += t.filled;
    return t.X;
  };
  const fit = prepare(takeRows(data.X, rows.fit));
  const validation = prepare(takeRows(data.X, rows.validation));
  const test = prepare(takeRows(data.X, rows.test));
  // Finite values of the empty columns in the tail and test rows that the model will not see (none in fitting rows).
  const notUsed = overwritten;
  const all = allRows ? prepare(data.X) : undefined;
  const audits = {
    fit: auditInputScale(fit),
    validation: auditInputScale(validation),
    test: auditInputScale(test),
  };
  const diagnostics: DiagnosticRecord[] = ([["training", audits.fit], ["early-stopping tail", audits.validation], [
    "test",
    audits.test,
  ]] as const).map(([split, a], i) => ({
    fold,
    kind: "input-scale",
    severity: a.flagged.length === 0 ? "info" : "warning",
    message: `scaled ${split} inputs: ${a.summary}`,
    data: { ...(i === 0 ? {} : { split }), flagged: a.flagged, nonFiniteAfterSanitize: a.nonFinite },
  }));
  const warnings: string[] = [];
  if (audits.fit.flagged.length > 0) {
    warnings.push(`fold ${fold + 1} input scale after standardization: ${audits.fit.summary}`);
  }
  for (const [split, a] of [["early-stopping tail", audits.validation], ["test", audits.test]] as const) {
    if (a.flagged.length > 0) {
      warnings.push(`fold ${fold + 1} ${split} input scale after standardization: ${a.summary}`);
    }
  }
  if (empty.length > 0) {
    warnings.push(
      `fold ${fold + 1}: ${emptyNames.join(", ")} ${empty.length === 1 ? "has" : "have"} no finite value in the ` +
        `fitting rows (${start}..${end}), so nothing to standardize with: set to 0 on every split of this fold ` +
        `(${notUsed} finite value(s) outside the fitting rows not used)`,
    );
  }
  return {
    scaler,
    fit,
    validation,
    test,
    ...(all === undefined ? {} : { all }),
    report: {
      scaler: { kind: "standard", rows: scaler.saved.rows, windows: windowsOfRows(rows.fit, data) },
      filled,
      emptyColumns: { columns: emptyNames, overwritten: notUsed },
      inputScale: { fit: audits.fit.summary, validation: audits.validation.summary, test: audits.test.summary },
    },
    diagnostics,
    warnings,
  };
}

/**
 * The sequence inputs of `rows`: for each row with `timesteps` rows of history for its symbol, the scaled rows
 * t − T + 1 … t flattened oldest first. Rows of a symbol are contiguous and in date order in the dataset.
 */
export function sequenceWindows(
  scaled: Matrix,
  rows: Int32Array,
  timesteps: number,
  symbols: readonly string[],
): { X: Matrix; rows: Int32Array } {
  const kept: number[] = [];
  for (const r of rows) {
    const first = r - timesteps + 1;
    if (first >= 0 && symbols[first] === symbols[r]) kept.push(r);
  }
  const c = scaled.cols;
  const data = new Float32Array(kept.length * timesteps * c);
  kept.forEach((r, j) => data.set(scaled.data.subarray((r - timesteps + 1) * c, (r + 1) * c), j * timesteps * c));
  return { X: { data, rows: kept.length, cols: timesteps * c }, rows: Int32Array.from(kept) };
}

/**
 * Sequence inputs of `rows` of any dataset (a production model scoring new rows): each row with `timesteps` rows of
 * history for its symbol in `data` gets the scaled rows t − T + 1 … t, oldest first; the others are left out (the
 * returned `rows`). Only the rows the windows need are scaled, with the same transform as in training.
 */
export function scaledWindows(
  data: Pick<StudyData, "X" | "symbols">,
  rows: Int32Array,
  timesteps: number,
  scaler: FoldScaler,
): { X: Matrix; rows: Int32Array } {
  const kept: number[] = [];
  for (const r of rows) {
    const first = r - timesteps + 1;
    if (first >= 0 && data.symbols[first] === data.symbols[r]) kept.push(r);
  }
  const needed = new Set<number>();
  for (const r of kept) for (let k = r - timesteps + 1; k <= r; k++) needed.add(k);
  const order = Int32Array.from([...needed].sort((a, b) => a - b));
  const at = new Map<number, number>();
  order.forEach((r, i) => at.set(r, i));
  const scaled = scaler.transform(takeRows(data.X, order)).X;
  const c = scaled.cols;
  const out = new Float32Array(kept.length * timesteps * c);
  kept.forEach((r, j) => {
    for (let k = 0; k < timesteps; k++) {
      const src = at.get(r - timesteps + 1 + k)!;
      out.set(scaled.data.subarray(src * c, (src + 1) * c), (j * timesteps + k) * c);
    }
  });
  return { X: { data: out, rows: kept.length, cols: timesteps * c }, rows: Int32Array.from(kept) };
}
