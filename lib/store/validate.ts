/**
 * Input checks shared by every store backend, so a record refused by one backend is refused by all, before any SQL
 * runs. Each check throws {@link StoreError} naming the field, what was expected and what was found.
 *
 * Also the compact equity-curve encoding: dates as little-endian Int32 day numbers since 1970-01-01 and values as
 * little-endian Float64, 12 bytes per point instead of ~30 as JSON, exact to the bit.
 *
 * @module
 */

import { StoreError } from "../errors.ts";
import type { DateWindow } from "../validation/fold.ts";
import {
  type BacktestRecord,
  DIAGNOSTIC_SEVERITIES,
  type DiagnosticRecord,
  type EpochRecord,
  type FinishRun,
  type FoldParts,
  type FoldRecord,
  type NewRun,
  type NewStudy,
  PREDICTION_SPLITS,
  type PredictionRecord,
  type PredictionSplit,
  RUN_STATUSES,
  type RunFinalParts,
  type RunStatus,
  type StudyEntry,
} from "./store.ts";

const ISO_DATE = /^\d{4}-\d{2}-\d{2}$/;

function show(x: unknown): string {
  if (typeof x === "number") return String(x);
  try {
    const s = JSON.stringify(x);
    return s === undefined ? String(x) : s.length > 80 ? s.slice(0, 77) + "..." : s;
  } catch {
    return String(x);
  }
}

/** Throws the StoreError every check uses: the field, what was expected, what was found; nothing was written. */
export function fail(field: string, expected: string, found: unknown): never {
  throw new StoreError(`${field}: expected ${expected}, found ${show(found)}; nothing was written`);
}

/** Refuses anything but a non-empty string. */
export function requireString(x: unknown, field: string): string {
  if (typeof x !== "string" || x.length === 0) fail(field, "a non-empty string", x);
  return x;
}

/** Refuses anything but a finite number. */
export function requireFinite(x: unknown, field: string): number {
  if (typeof x !== "number" || !Number.isFinite(x)) fail(field, "a finite number", x);
  return x;
}

/** Refuses anything but an integer ≥ 0 (a safe integer). */
export function requireCount(x: unknown, field: string): number {
  if (typeof x !== "number" || !Number.isSafeInteger(x) || x < 0) fail(field, "an integer ≥ 0", x);
  return x;
}

/** A number or NaN (undefined metric); ±Infinity and non-numbers are refused. */
function requireMetric(x: unknown, field: string): number {
  if (typeof x !== "number" || x === Infinity || x === -Infinity) {
    fail(field, "a finite number (or NaN for an undefined metric)", x);
  }
  return x;
}

/** Any number, NaN and ±Infinity included, or null/undefined (→ null). */
function optionalAnyNumber(x: unknown, field: string): number | null {
  if (x === undefined || x === null) return null;
  if (typeof x !== "number") fail(field, "a number or null", x);
  return x;
}

/** Refuses anything but a valid calendar date `YYYY-MM-DD`. */
export function requireIsoDate(x: unknown, field: string): string {
  if (typeof x !== "string" || !ISO_DATE.test(x) || dayNumber(x) === undefined) {
    fail(field, "an ISO date YYYY-MM-DD", x);
  }
  return x;
}

/** Days since 1970-01-01 of an ISO date, or undefined when the date does not exist (e.g. 2023-02-30). */
export function dayNumber(iso: string): number | undefined {
  const ms = Date.UTC(Number(iso.slice(0, 4)), Number(iso.slice(5, 7)) - 1, Number(iso.slice(8, 10)));
  if (!Number.isFinite(ms)) return undefined;
  const day = ms / 86_400_000;
  return isoFromDayNumber(day) === iso ? day : undefined;
}

/** ISO date of a day number (days since 1970-01-01). */
export function isoFromDayNumber(day: number): string {
  return new Date(day * 86_400_000).toISOString().slice(0, 10);
}

/** Refuses anything but a plain object (not null, not an array). */
export function requirePlainObject(x: unknown, field: string): Record<string, unknown> {
  if (typeof x !== "object" || x === null || Array.isArray(x)) fail(field, "an object", x);
  return x as Record<string, unknown>;
}

/** JSON text of an object, refusing what JSON cannot hold faithfully (cycles, BigInt). */
export function jsonText(x: unknown, field: string): string {
  let text: string | undefined;
  try {
    text = JSON.stringify(x);
  } catch (e) {
    throw new StoreError(`${field}: not JSON-serializable (${(e as Error).message}); nothing was written`);
  }
  if (text === undefined) fail(field, "a JSON-serializable value", x);
  return text;
}

/** JSON text of an optional plain object; null when absent. */
export function optionalJsonObject(x: unknown, field: string): string | null {
  if (x === undefined || x === null) return null;
  return jsonText(requirePlainObject(x, field), field);
}

/** Checks a metric map; returns its JSON text (NaN is written as null and read back as NaN). */
export function metricsJson(x: unknown, field: string): string {
  const obj = requirePlainObject(x, field);
  for (const [k, v] of Object.entries(obj)) requireMetric(v, `${field}.${k}`);
  return JSON.stringify(obj);
}

/** Parses a metric map written by {@link metricsJson} (as text, or already parsed): null becomes NaN again. */
export function parseMetrics(json: string | Record<string, number | null>): Record<string, number> {
  const obj = typeof json === "string" ? JSON.parse(json) as Record<string, number | null> : json;
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(obj)) out[k] = v === null ? NaN : v;
  return out;
}

function windows(x: unknown, field: string, allowEmpty: boolean): DateWindow[] {
  if (!Array.isArray(x) || (!allowEmpty && x.length === 0)) {
    fail(field, allowEmpty ? "an array of date windows" : "a non-empty array of date windows", x);
  }
  return x.map((w, i) => {
    const o = requirePlainObject(w, `${field}[${i}]`);
    const start = requireIsoDate(o.start, `${field}[${i}].start`);
    const end = requireIsoDate(o.end, `${field}[${i}].end`);
    if (start > end) fail(`${field}[${i}]`, "start ≤ end", w);
    return { start, end };
  });
}

/** A run ready to insert. */
export interface RunRow {
  config: string;
  seed: number | null;
  model: string;
  symbols: string;
  dataSource: string;
  backend: string | null;
  leakageOverride: boolean;
}

/** Checks `createRun` input. */
export function checkNewRun(run: NewRun): RunRow {
  const r = requirePlainObject(run, "run");
  const seed = r.seed === undefined || r.seed === null ? null : r.seed;
  if (seed !== null && (typeof seed !== "number" || !Number.isSafeInteger(seed))) fail("run.seed", "an integer", seed);
  if (!Array.isArray(r.symbols) || r.symbols.some((s) => typeof s !== "string" || s.length === 0)) {
    fail("run.symbols", "an array of non-empty strings", r.symbols);
  }
  if (r.leakageOverride !== undefined && typeof r.leakageOverride !== "boolean") {
    fail("run.leakageOverride", "a boolean", r.leakageOverride);
  }
  const backend = r.backend === undefined || r.backend === null ? null : requireString(r.backend, "run.backend");
  return {
    config: jsonText(requirePlainObject(r.config, "run.config"), "run.config"),
    seed,
    model: requireString(r.model, "run.model"),
    symbols: JSON.stringify(r.symbols),
    dataSource: requireString(r.dataSource, "run.dataSource"),
    backend,
    leakageOverride: r.leakageOverride === true,
  };
}

/** A fold ready to insert. */
export interface FoldRow {
  index: number;
  train: string;
  test: string;
  validation: string;
  purge: number;
  embargo: number;
  nTrain: number;
  nTest: number;
  metrics: string;
  baselines: string;
  fitReport: string;
}

/** Checks `appendFold` input. */
export function checkFold(fold: FoldRecord): FoldRow {
  const f = requirePlainObject(fold, "fold");
  return {
    index: requireCount(f.index, "fold.index"),
    train: JSON.stringify(windows(f.train, "fold.train", false)),
    test: JSON.stringify(windows(f.test, "fold.test", false)),
    validation: JSON.stringify(f.validation === undefined ? [] : windows(f.validation, "fold.validation", true)),
    purge: requireCount(f.purge, "fold.purge"),
    embargo: requireCount(f.embargo, "fold.embargo"),
    nTrain: requireCount(f.nTrain, "fold.nTrain"),
    nTest: requireCount(f.nTest, "fold.nTest"),
    metrics: metricsJson(f.metrics, "fold.metrics"),
    baselines: metricsJson(f.baselines, "fold.baselines"),
    fitReport: optionalJsonObject(f.fitReport, "fold.fitReport") ?? "{}",
  };
}

/** An epoch ready to insert. `nanMask` bit i is set when numeric field i (trainLoss, valLoss, lr, gradNorm, clipRatio) is NaN. */
export interface EpochRow {
  fold: number | null;
  epoch: number;
  values: [number, number | null, number | null, number | null, number | null];
  nanMask: number;
  extra: string | null;
}

/** Order of an epoch's numeric fields in {@link EpochRow.values} and the NaN mask. */
export const EPOCH_NUMBERS = ["trainLoss", "valLoss", "lr", "gradNorm", "clipRatio"] as const;

/** Checks `appendEpochs` input, including duplicates within the batch. */
export function checkEpochs(epochs: EpochRecord[]): EpochRow[] {
  if (!Array.isArray(epochs)) fail("epochs", "an array", epochs);
  const seen = new Set<string>();
  return epochs.map((e, i) => {
    const o = requirePlainObject(e, `epochs[${i}]`);
    const fold = o.fold === null || o.fold === undefined ? null : requireCount(o.fold, `epochs[${i}].fold`);
    const epoch = requireCount(o.epoch, `epochs[${i}].epoch`);
    const key = `${fold}:${epoch}`;
    if (seen.has(key)) fail(`epochs[${i}]`, "each (fold, epoch) once", { fold, epoch });
    seen.add(key);
    if (typeof o.trainLoss !== "number") fail(`epochs[${i}].trainLoss`, "a number", o.trainLoss);
    const values = EPOCH_NUMBERS.map((k) => optionalAnyNumber(o[k], `epochs[${i}].${k}`)) as EpochRow["values"];
    let nanMask = 0;
    values.forEach((v, j) => {
      if (v !== null && Number.isNaN(v)) nanMask |= 1 << j;
    });
    return { fold, epoch, values, nanMask, extra: optionalJsonObject(o.extra, `epochs[${i}].extra`) };
  });
}

/** Rebuilds an epoch's numbers from stored values and NaN mask. */
export function epochNumbers(
  stored: ReadonlyArray<number | null>,
  nanMask: number,
): Record<(typeof EPOCH_NUMBERS)[number], number | null> {
  const out = {} as Record<(typeof EPOCH_NUMBERS)[number], number | null>;
  EPOCH_NUMBERS.forEach((k, j) => {
    out[k] = (nanMask >> j) & 1 ? NaN : stored[j] ?? null;
  });
  return out;
}

/** A diagnostic ready to insert. */
export interface DiagnosticRow {
  fold: number | null;
  kind: string;
  severity: string;
  message: string;
  data: string | null;
}

/** Checks `appendDiagnostics` input. */
export function checkDiagnostics(diagnostics: DiagnosticRecord[]): DiagnosticRow[] {
  if (!Array.isArray(diagnostics)) fail("diagnostics", "an array", diagnostics);
  return diagnostics.map((d, i) => {
    const o = requirePlainObject(d, `diagnostics[${i}]`);
    if (!DIAGNOSTIC_SEVERITIES.includes(o.severity as never)) {
      fail(`diagnostics[${i}].severity`, DIAGNOSTIC_SEVERITIES.join(" | "), o.severity);
    }
    return {
      fold: o.fold === null || o.fold === undefined ? null : requireCount(o.fold, `diagnostics[${i}].fold`),
      kind: requireString(o.kind, `diagnostics[${i}].kind`),
      severity: o.severity as string,
      message: requireString(o.message, `diagnostics[${i}].message`),
      data: optionalJsonObject(o.data, `diagnostics[${i}].data`),
    };
  });
}

/** A backtest ready to insert. */
export interface BacktestRow {
  lag: number;
  costBps: number;
  slippageBps: number;
  annualization: number;
  metrics: string;
  buyAndHold: string;
  warnings: string;
  equityDates: Uint8Array;
  equityValues: Uint8Array;
  buyAndHoldValues: Uint8Array | null;
  details: string | null;
}

function encodeValues(values: ArrayLike<number>, n: number, field: string): Uint8Array {
  if (values === null || typeof values !== "object" || typeof values.length !== "number") {
    fail(field, "an array of numbers", values);
  }
  if (values.length !== n) fail(`${field}.length`, `${n} (one value per date)`, values.length);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = requireFinite(values[i], `${field}[${i}]`);
  return littleEndianBytes(out);
}

/** True on a little-endian host (every platform Deno ships for): typed arrays already hold the stored byte order. */
const HOST_LITTLE_ENDIAN = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1;

/** The little-endian bytes of `a`. Callers pass arrays they made and drop, so on a little-endian host it is a view. */
function littleEndianBytes(a: Float64Array | Int32Array): Uint8Array {
  if (HOST_LITTLE_ENDIAN) return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  const bytes = new Uint8Array(a.byteLength);
  const view = new DataView(bytes.buffer);
  if (a instanceof Float64Array) a.forEach((v, i) => view.setFloat64(i * 8, v, true));
  else a.forEach((v, i) => view.setInt32(i * 4, v, true));
  return bytes;
}

/** Little-endian Float64 bytes as numbers (a view when aligned on a little-endian host, else a copy). */
function float64s(bytes: Uint8Array): Float64Array {
  const n = bytes.byteLength / 8;
  if (HOST_LITTLE_ENDIAN) {
    const aligned = bytes.byteOffset % 8 === 0 ? bytes : bytes.slice();
    return new Float64Array(aligned.buffer, aligned.byteOffset, n);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return Float64Array.from({ length: n }, (_, i) => view.getFloat64(i * 8, true));
}

/** Little-endian Int32 bytes as numbers (a view when aligned on a little-endian host, else a copy). */
function int32s(bytes: Uint8Array): Int32Array {
  const n = bytes.byteLength / 4;
  if (HOST_LITTLE_ENDIAN) {
    const aligned = bytes.byteOffset % 4 === 0 ? bytes : bytes.slice();
    return new Int32Array(aligned.buffer, aligned.byteOffset, n);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return Int32Array.from({ length: n }, (_, i) => view.getInt32(i * 4, true));
}

/** Decodes equity values written by {@link checkBacktest}. */
export function decodeValues(bytes: Uint8Array): number[] {
  const values = float64s(bytes);
  const out = new Array<number>(values.length);
  for (let i = 0; i < out.length; i++) out[i] = values[i];
  return out;
}

/** Decodes equity dates written by {@link checkBacktest}. */
export function decodeDates(bytes: Uint8Array): string[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Array<string>(bytes.byteLength / 4);
  for (let i = 0; i < out.length; i++) out[i] = isoFromDayNumber(view.getInt32(i * 4, true));
  return out;
}

/** Checks `putBacktest` input and encodes the equity curve compactly. */
export function checkBacktest(backtest: BacktestRecord): BacktestRow {
  const b = requirePlainObject(backtest, "backtest");
  const lag = requireCount(b.lag, "backtest.lag");
  const equity = requirePlainObject(b.equity, "backtest.equity");
  if (!Array.isArray(equity.dates)) fail("backtest.equity.dates", "an array of ISO dates", equity.dates);
  const days = new Int32Array(equity.dates.length);
  equity.dates.forEach((d, i) => {
    days[i] = dayNumber(requireIsoDate(d, `backtest.equity.dates[${i}]`))!;
    if (i > 0 && days[i] <= days[i - 1]) fail(`backtest.equity.dates[${i}]`, "strictly increasing dates", d);
  });
  const n = days.length;
  if (!Array.isArray(b.warnings) || b.warnings.some((w) => typeof w !== "string")) {
    fail("backtest.warnings", "an array of strings", b.warnings);
  }
  const costBps = requireFinite(b.costBps, "backtest.costBps");
  const slippageBps = requireFinite(b.slippageBps, "backtest.slippageBps");
  if (costBps < 0) fail("backtest.costBps", "≥ 0", costBps);
  if (slippageBps < 0) fail("backtest.slippageBps", "≥ 0", slippageBps);
  const annualization = requireFinite(b.annualization, "backtest.annualization");
  if (annualization <= 0) fail("backtest.annualization", "> 0", annualization);
  return {
    lag,
    costBps,
    slippageBps,
    annualization,
    metrics: metricsJson(b.metrics, "backtest.metrics"),
    buyAndHold: metricsJson(b.buyAndHold, "backtest.buyAndHold"),
    warnings: JSON.stringify(b.warnings),
    equityDates: littleEndianBytes(days),
    equityValues: encodeValues(equity.values as ArrayLike<number>, n, "backtest.equity.values"),
    buyAndHoldValues: equity.buyAndHold === undefined || equity.buyAndHold === null
      ? null
      : encodeValues(equity.buyAndHold as ArrayLike<number>, n, "backtest.equity.buyAndHold"),
    details: optionalJsonObject(b.details, "backtest.details"),
  };
}

/** A sealing ready to write. */
export interface FinishRow {
  status: Exclude<RunStatus, "running">;
  error: string | null;
  summary: string | null;
}

/**
 * Checks a {@link RunError} (`message` required; `stage`, `entry`, `signal`, `name` strings; `fold` an integer ≥ 0)
 * and returns its JSON text.
 */
export function checkRunError(x: unknown, field: string): string {
  const e = requirePlainObject(x, field);
  requireString(e.message, `${field}.message`);
  for (const k of ["stage", "name", "entry", "signal"]) {
    if (e[k] !== undefined) requireString(e[k], `${field}.${k}`);
  }
  if (e.fold !== undefined) requireCount(e.fold, `${field}.fold`);
  return jsonText(e, field);
}

/** Checks `finishRun` input: `failed` and `interrupted` need an error with a message; `succeeded` takes none. */
export function checkFinish(outcome: FinishRun): FinishRow {
  const o = requirePlainObject(outcome, "outcome");
  if (o.status !== "succeeded" && o.status !== "failed" && o.status !== "interrupted") {
    fail("outcome.status", "succeeded | failed | interrupted", o.status);
  }
  let error: string | null = null;
  if (o.status !== "succeeded") {
    error = checkRunError(o.error, "outcome.error");
  } else if (o.error !== undefined && o.error !== null) {
    fail("outcome.error", "no error for a succeeded run", o.error);
  }
  return { status: o.status, error, summary: optionalJsonObject(o.summary, "outcome.summary") };
}

/** Checks `listRuns`/`listStudies` options; returns limit, offset, status and tag filters. */
export function checkListOptions(
  options: { limit?: number; offset?: number; status?: string; tag?: string } = {},
): { limit: number; offset: number; status: RunStatus | null; tag: string | null } {
  const limit = options.limit === undefined ? 50 : requireCount(options.limit, "limit");
  if (limit < 1 || limit > 1000) fail("limit", "1 to 1000", limit);
  const offset = options.offset === undefined ? 0 : requireCount(options.offset, "offset");
  const status = options.status ?? null;
  if (status !== null && !RUN_STATUSES.includes(status as RunStatus)) {
    fail("status", RUN_STATUSES.join(" | "), status);
  }
  const tag = options.tag === undefined || options.tag === null ? null : checkTag(options.tag, "tag");
  return { limit, offset, status: status as RunStatus | null, tag };
}

// ---------------------------------------------------------------------------------------------------------------------
// Annotations (schema version 3): tags, notes, study names
// ---------------------------------------------------------------------------------------------------------------------

/** Longest tag, in UTF-16 code units. */
export const MAX_TAG_LENGTH = 64;
/** Most tags on one run or study. */
export const MAX_TAGS = 100;
/** Longest note, in UTF-16 code units. */
export const MAX_NOTE_LENGTH = 10_000;
/** Longest study name, in UTF-16 code units. */
export const MAX_STUDY_NAME_LENGTH = 200;

// deno-lint-ignore no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;

/** Checks a tag: 1–64 characters, no control characters, no leading or trailing white space. */
export function checkTag(x: unknown, field = "tag"): string {
  if (typeof x !== "string" || x.length === 0 || x.length > MAX_TAG_LENGTH || CONTROL.test(x) || x.trim() !== x) {
    fail(field, `1–${MAX_TAG_LENGTH} characters without control characters or surrounding spaces`, x);
  }
  return x;
}

/** Checks a note: null or "" (clear), else at most 10,000 characters. Returns the value to store. */
export function checkNote(x: unknown): string | null {
  if (x === null || x === "") return null;
  if (typeof x !== "string" || x.length > MAX_NOTE_LENGTH) {
    fail("note", `a string of at most ${MAX_NOTE_LENGTH} characters, or null to clear it`, x);
  }
  return x;
}

/** Checks a study name: null (clear) or 1–200 characters without control characters. */
export function checkStudyName(x: unknown): string | null {
  if (x === null) return null;
  if (typeof x !== "string" || x.length === 0 || x.length > MAX_STUDY_NAME_LENGTH || CONTROL.test(x)) {
    fail("name", `1–${MAX_STUDY_NAME_LENGTH} characters without control characters, or null to clear it`, x);
  }
  return x;
}

/** Whether an id names a study (`study_…`) or a run (anything else, normally `run_…`). Refuses a non-string. */
export function recordKind(id: unknown, field = "id"): "study" | "run" {
  requireString(id, field);
  return (id as string).startsWith("study_") ? "study" : "run";
}

// ---------------------------------------------------------------------------------------------------------------------
// Studies and out-of-sample predictions (schema version 2)
// ---------------------------------------------------------------------------------------------------------------------

/** An array of non-empty strings (no repeats when `distinct`); returns its JSON text. */
export function nameListJson(x: unknown, field: string, distinct: boolean): string {
  if (!Array.isArray(x)) fail(field, "an array of non-empty strings", x);
  const seen = new Set<string>();
  x.forEach((s, i) => {
    requireString(s, `${field}[${i}]`);
    if (distinct && seen.has(s)) fail(`${field}[${i}]`, "names without repeats", s);
    seen.add(s);
  });
  return JSON.stringify(x);
}

/** An optional non-empty string; null when absent. */
export function optionalString(x: unknown, field: string): string | null {
  return x === undefined || x === null ? null : requireString(x, field);
}

/** The study fields of a run, ready to insert (JSON text for `features`). */
export interface RunStudyRow {
  studyId: string | null;
  entry: string | null;
  features: string | null;
  dataFingerprint: string | null;
  version: string | null;
}

/** Checks the study fields of `createRun` input (whether the study exists is checked by the backend, in its transaction). */
export function checkRunStudyFields(run: NewRun): RunStudyRow {
  const r = requirePlainObject(run, "run");
  return {
    studyId: optionalString(r.studyId, "run.studyId"),
    entry: optionalString(r.entry, "run.entry"),
    features: r.features === undefined || r.features === null ? null : nameListJson(r.features, "run.features", true),
    dataFingerprint: optionalString(r.dataFingerprint, "run.dataFingerprint"),
    version: optionalString(r.version, "run.version"),
  };
}

/**
 * Refuses a run joining a study that does not exist or is sealed, or naming an entry the study did not plan.
 * `study` is the study's row as read inside the write transaction (undefined when there is none).
 */
export function checkStudyForRun(
  study: { status: string; entries: StudyEntry[] } | undefined,
  studyId: string,
  entry: string | null,
): void {
  if (study === undefined) {
    throw new StoreError(
      `createRun: unknown study id ${JSON.stringify(studyId)}; create it with createStudy first. Nothing was written`,
    );
  }
  if (study.status !== "running") {
    throw new StoreError(
      `createRun: study ${studyId} is already ${study.status}; a finished study is sealed and takes no new runs. ` +
        `Start a new study instead. Nothing was written`,
    );
  }
  if (entry !== null && !study.entries.some((e) => e.name === entry)) {
    fail("run.entry", `one of the entries of study ${studyId} (${study.entries.map((e) => e.name).join(", ")})`, entry);
  }
}

/** Refuses unknown and sealed studies (`status` as read inside the write transaction, undefined when unknown). */
export function checkStudyRunning(status: string | undefined, studyId: string, what: string): void {
  if (status === undefined) {
    throw new StoreError(`${what}: unknown study id ${JSON.stringify(studyId)}; nothing was written`);
  }
  if (status !== "running") {
    throw new StoreError(
      `${what}: study ${studyId} is already ${status}; a finished study is sealed and refuses writes. ` +
        `Start a new study instead. Nothing was written`,
    );
  }
}

/** Refuses sealing a study while some of its runs (`running`: ids and entries) are still running. */
export function checkNoRunningRuns(running: { id: string; entry: string | null }[], studyId: string): void {
  if (running.length === 0) return;
  const shown = running.slice(0, 5).map((r) => r.entry === null ? r.id : `${r.id} (entry ${r.entry})`);
  const more = running.length > 5 ? ` and ${running.length - 5} more` : "";
  throw new StoreError(
    `finishStudy: study ${studyId} still has ${running.length} running run(s): ${shown.join(", ")}${more}. ` +
      `Seal them with finishRun first, so a sealed study never changes. Nothing was written`,
  );
}

/** A study ready to insert (JSON as text). */
export interface StudyRow {
  name: string | null;
  config: string;
  seed: number | null;
  symbols: string;
  dataSource: string;
  dataFingerprint: string;
  version: string;
  features: string;
  entries: string;
  leakageOverride: boolean;
}

/** Checks `createStudy` input: at least one entry, entry names distinct, feature names distinct. */
export function checkNewStudy(study: NewStudy): StudyRow {
  const s = requirePlainObject(study, "study");
  const seed = s.seed === undefined || s.seed === null ? null : s.seed;
  if (seed !== null && (typeof seed !== "number" || !Number.isSafeInteger(seed))) {
    fail("study.seed", "an integer", seed);
  }
  if (s.leakageOverride !== undefined && typeof s.leakageOverride !== "boolean") {
    fail("study.leakageOverride", "a boolean", s.leakageOverride);
  }
  if (!Array.isArray(s.entries) || s.entries.length === 0) {
    fail("study.entries", "a non-empty array of { name, kind }", s.entries);
  }
  const names = new Set<string>();
  const entries = s.entries.map((e, i): StudyEntry => {
    const o = requirePlainObject(e, `study.entries[${i}]`);
    const name = requireString(o.name, `study.entries[${i}].name`);
    if (names.has(name)) fail(`study.entries[${i}].name`, "a name no other entry has", name);
    names.add(name);
    return { name, kind: requireString(o.kind, `study.entries[${i}].kind`) };
  });
  return {
    name: optionalString(s.name, "study.name"),
    config: jsonText(requirePlainObject(s.config, "study.config"), "study.config"),
    seed,
    symbols: nameListJson(s.symbols, "study.symbols", false),
    dataSource: requireString(s.dataSource, "study.dataSource"),
    dataFingerprint: requireString(s.dataFingerprint, "study.dataFingerprint"),
    version: requireString(s.version, "study.version"),
    features: nameListJson(s.features, "study.features", true),
    entries: JSON.stringify(entries),
    leakageOverride: s.leakageOverride === true,
  };
}

/**
 * A prediction record ready to insert: dates as little-endian Int32 day numbers, symbols as a JSON dictionary of the
 * distinct symbols (first-appearance order) plus a little-endian Int32 index per row, scores as little-endian Float64
 * (NaN kept bit-exact as a NaN; only REAL columns would turn it into NULL).
 */
export interface PredictionRow {
  fold: number;
  split: PredictionSplit;
  rows: number;
  width: number;
  dates: Uint8Array;
  symbolDictionary: string;
  symbolCodes: Uint8Array;
  values: Uint8Array;
}

/** Checks `appendPredictions` input and encodes it compactly (bounded memory: a few typed arrays, no per-row JSON). */
export function checkPredictions(record: PredictionRecord): PredictionRow {
  const p = requirePlainObject(record, "predictions");
  const fold = requireCount(p.fold, "predictions.fold");
  const split = p.split === undefined ? "test" : p.split;
  if (!PREDICTION_SPLITS.includes(split as PredictionSplit)) {
    fail("predictions.split", PREDICTION_SPLITS.join(" | "), split);
  }
  const width = requireCount(p.width, "predictions.width");
  if (width < 1) fail("predictions.width", "an integer ≥ 1 (scores per row)", width);
  if (!Array.isArray(p.dates)) fail("predictions.dates", "an array of ISO dates", p.dates);
  const rows = p.dates.length;
  if (!Array.isArray(p.symbols)) fail("predictions.symbols", "an array of symbols", p.symbols);
  if (p.symbols.length !== rows) fail("predictions.symbols.length", `${rows} (one symbol per date)`, p.symbols.length);
  const values = p.values as ArrayLike<number>;
  if (values === null || typeof values !== "object" || typeof values.length !== "number") {
    fail("predictions.values", "an array of numbers", values);
  }
  if (values.length !== rows * width) {
    fail("predictions.values.length", `${rows * width} (${rows} rows × width ${width})`, values.length);
  }

  // Dates repeat across symbols: parse each distinct date once.
  const days = new Int32Array(rows);
  const dayOf = new Map<string, number>();
  for (let i = 0; i < rows; i++) {
    const d = p.dates[i];
    let day = dayOf.get(d);
    if (day === undefined) {
      day = dayNumber(requireIsoDate(d, `predictions.dates[${i}]`))!;
      dayOf.set(d, day);
    }
    days[i] = day;
  }

  const codes = new Int32Array(rows);
  const codeOf = new Map<string, number>();
  for (let i = 0; i < rows; i++) {
    const s = p.symbols[i];
    let code = codeOf.get(s);
    if (code === undefined) {
      requireString(s, `predictions.symbols[${i}]`);
      code = codeOf.size;
      codeOf.set(s, code);
    }
    codes[i] = code;
  }

  const scores = new Float64Array(values.length);
  for (let i = 0; i < scores.length; i++) {
    const v = values[i];
    if (typeof v !== "number" || v === Infinity || v === -Infinity) {
      fail(
        `predictions.values[${i}] (row ${Math.floor(i / width)}, column ${i % width})`,
        "a finite number or NaN",
        v,
      );
    }
    scores[i] = v;
  }
  return {
    fold,
    split: split as PredictionSplit,
    rows,
    width,
    dates: littleEndianBytes(days),
    symbolDictionary: JSON.stringify([...codeOf.keys()]),
    symbolCodes: littleEndianBytes(codes),
    values: littleEndianBytes(scores),
  };
}

/** Decodes the per-row dates and symbols of a record written by {@link checkPredictions} (strings shared, not copied). */
export function decodePredictionRows(
  dates: Uint8Array,
  symbolDictionary: string[],
  symbolCodes: Uint8Array,
): { dates: string[]; symbols: string[] } {
  const days = int32s(dates);
  const codes = int32s(symbolCodes);
  const n = days.length;
  if (codes.length !== n) {
    throw new StoreError(`stored predictions are corrupt: ${n} dates but ${codes.length} symbols`);
  }
  const isoOf = new Map<number, string>();
  const outDates = new Array<string>(n);
  const outSymbols = new Array<string>(n);
  for (let i = 0; i < n; i++) {
    const day = days[i];
    let iso = isoOf.get(day);
    if (iso === undefined) {
      iso = isoFromDayNumber(day);
      isoOf.set(day, iso);
    }
    outDates[i] = iso;
    const symbol = symbolDictionary[codes[i]];
    if (symbol === undefined) {
      throw new StoreError(`stored predictions are corrupt: symbol index out of range at row ${i}`);
    }
    outSymbols[i] = symbol;
  }
  return { dates: outDates, symbols: outSymbols };
}

// ---------------------------------------------------------------------------------------------------------------------
// Atomic fold and final-stage writes (schema version 3)
// ---------------------------------------------------------------------------------------------------------------------

/** A fold's parts ready to insert. */
export interface FoldPartsRows {
  predictions: PredictionRow[];
  epochs: EpochRow[];
  diagnostics: DiagnosticRow[];
}

/** Checks `recordFold` parts: each belongs to fold `index`; at most one prediction record per split. */
export function checkFoldParts(index: number, parts: FoldParts | undefined): FoldPartsRows {
  const p = parts === undefined ? {} : requirePlainObject(parts, "parts");
  const list = (x: unknown, field: string): unknown[] => {
    if (x === undefined) return [];
    if (!Array.isArray(x)) fail(field, "an array", x);
    return x;
  };
  const predictions = list(p.predictions, "parts.predictions").map((r, i) => {
    const row = checkPredictions(r as PredictionRecord);
    if (row.fold !== index) fail(`parts.predictions[${i}].fold`, `${index} (the fold recorded)`, row.fold);
    return row;
  });
  const splits = new Set<string>();
  predictions.forEach((r, i) => {
    if (splits.has(r.split)) fail(`parts.predictions[${i}].split`, "each split once", r.split);
    splits.add(r.split);
  });
  const epochs = checkEpochs(list(p.epochs, "parts.epochs") as EpochRecord[]);
  epochs.forEach((e, i) => {
    if (e.fold !== index) fail(`parts.epochs[${i}].fold`, `${index} (the fold recorded)`, e.fold);
  });
  const diagnostics = checkDiagnostics(list(p.diagnostics, "parts.diagnostics") as DiagnosticRecord[]);
  diagnostics.forEach((d, i) => {
    if (d.fold !== index) fail(`parts.diagnostics[${i}].fold`, `${index} (the fold recorded)`, d.fold);
  });
  return { predictions, epochs, diagnostics };
}

/** Checks `finishRun` parts (backtest, diagnostics). */
export function checkFinalParts(parts: RunFinalParts | undefined): {
  backtest: BacktestRow | null;
  diagnostics: DiagnosticRow[];
} {
  if (parts === undefined) return { backtest: null, diagnostics: [] };
  const p = requirePlainObject(parts, "parts");
  return {
    backtest: p.backtest === undefined ? null : checkBacktest(p.backtest as BacktestRecord),
    diagnostics: p.diagnostics === undefined ? [] : checkDiagnostics(p.diagnostics as DiagnosticRecord[]),
  };
}
