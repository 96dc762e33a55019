/**
 * Input checks of the production records (schema version 4), shared by every backend so a record one backend refuses
 * is refused by all, before any SQL runs. Each check throws StoreError naming the field, what was expected and what
 * was found.
 *
 * @module
 */

import type {
  ListProductionPredictionsOptions,
  ListTrialsOptions,
  NewModel,
  NewProductionPredictions,
  NewSweep,
  NewTrial,
  TrialKey,
} from "./production.ts";
import { StoreError } from "../errors.ts";
import { isModelId } from "./run_id.ts";
import {
  fail,
  jsonText,
  metricsJson,
  nameListJson,
  optionalJsonObject,
  optionalString,
  requireCount,
  requireFinite,
  requireIsoDate,
  requirePlainObject,
  requireString,
} from "./validate.ts";

/** A model ready to insert (JSON as text). */
export interface ModelRow {
  id: string;
  name: string;
  kind: string;
  path: string;
  studyId: string | null;
  runId: string | null;
  config: string;
  features: string;
  dataFingerprint: string;
  dataSource: string;
  version: string;
  targetKind: string;
  horizon: number;
  trainedFrom: string;
  trainedTo: string;
  lastPriceDate: string;
  symbols: string;
  gate: string;
  skipGate: boolean;
  summary: string | null;
}

/** Checks `registerModel` input. */
export function checkNewModel(model: NewModel): ModelRow {
  const m = requirePlainObject(model, "model");
  const id = requireString(m.id, "model.id");
  if (!isModelId(id)) fail("model.id", "an id from newModelId (model_ + a ULID)", id);
  const horizon = requireCount(m.horizon, "model.horizon");
  if (horizon < 1) fail("model.horizon", "an integer ≥ 1", horizon);
  if (typeof m.skipGate !== "boolean") fail("model.skipGate", "a boolean", m.skipGate);
  const trainedFrom = requireIsoDate(m.trainedFrom, "model.trainedFrom");
  const trainedTo = requireIsoDate(m.trainedTo, "model.trainedTo");
  if (trainedTo < trainedFrom) fail("model.trainedTo", `a date ≥ trainedFrom (${trainedFrom})`, trainedTo);
  const lastPriceDate = requireIsoDate(m.lastPriceDate, "model.lastPriceDate");
  if (lastPriceDate < trainedTo) fail("model.lastPriceDate", `a date ≥ trainedTo (${trainedTo})`, lastPriceDate);
  return {
    id,
    name: requireString(m.name, "model.name"),
    kind: requireString(m.kind, "model.kind"),
    path: requireString(m.path, "model.path"),
    studyId: optionalString(m.studyId, "model.studyId"),
    runId: optionalString(m.runId, "model.runId"),
    config: jsonText(requirePlainObject(m.config, "model.config"), "model.config"),
    features: nameListJson(m.features, "model.features", true),
    dataFingerprint: requireString(m.dataFingerprint, "model.dataFingerprint"),
    dataSource: requireString(m.dataSource, "model.dataSource"),
    version: requireString(m.version, "model.version"),
    targetKind: requireString(m.targetKind, "model.targetKind"),
    horizon,
    trainedFrom,
    trainedTo,
    lastPriceDate,
    symbols: nameListJson(m.symbols, "model.symbols", true),
    gate: jsonText(requirePlainObject(m.gate, "model.gate"), "model.gate"),
    skipGate: m.skipGate,
    summary: optionalJsonObject(m.summary, "model.summary"),
  };
}

/** A number that may be NaN ("none") but not ±Infinity. */
function numberOrNaN(x: unknown, field: string): number {
  if (typeof x !== "number" || x === Infinity || x === -Infinity) fail(field, "a finite number or NaN", x);
  return x;
}

/** One prediction row ready to insert. */
export interface ProductionPredictionRow {
  symbol: string;
  date: string;
  score: number;
  confidence: number;
  position: number;
  weight: number;
  warnings: string;
}

/** A batch ready to insert. */
export interface ProductionBatchRow {
  modelId: string;
  asOf: string;
  dataFingerprint: string;
  dataSource: string;
  details: string | null;
  rows: ProductionPredictionRow[];
}

/** Checks `appendProductionPredictions` input (distinct symbols; whether the model exists is the backend's check). */
export function checkProductionPredictions(batch: NewProductionPredictions): ProductionBatchRow {
  const b = requirePlainObject(batch, "predictions");
  if (!Array.isArray(b.rows) || b.rows.length === 0) fail("predictions.rows", "a non-empty array of rows", b.rows);
  const seen = new Set<string>();
  const rows = b.rows.map((r, i): ProductionPredictionRow => {
    const o = requirePlainObject(r, `predictions.rows[${i}]`);
    const symbol = requireString(o.symbol, `predictions.rows[${i}].symbol`);
    if (seen.has(symbol)) fail(`predictions.rows[${i}].symbol`, "a symbol no other row has", symbol);
    seen.add(symbol);
    if (!Array.isArray(o.warnings) || o.warnings.some((w) => typeof w !== "string")) {
      fail(`predictions.rows[${i}].warnings`, "an array of strings", o.warnings);
    }
    return {
      symbol,
      date: requireIsoDate(o.date, `predictions.rows[${i}].date`),
      score: numberOrNaN(o.score, `predictions.rows[${i}].score`),
      confidence: numberOrNaN(o.confidence, `predictions.rows[${i}].confidence`),
      position: numberOrNaN(o.position, `predictions.rows[${i}].position`),
      weight: numberOrNaN(o.weight, `predictions.rows[${i}].weight`),
      warnings: JSON.stringify(o.warnings),
    };
  });
  return {
    modelId: requireString(b.modelId, "predictions.modelId"),
    asOf: requireIsoDate(b.asOf, "predictions.asOf"),
    dataFingerprint: requireString(b.dataFingerprint, "predictions.dataFingerprint"),
    dataSource: requireString(b.dataSource, "predictions.dataSource"),
    details: optionalJsonObject(b.details, "predictions.details"),
    rows,
  };
}

/** Checks a trial key. */
export function checkTrialKey(key: TrialKey, field = "key"): TrialKey {
  const k = requirePlainObject(key, field);
  const horizon = requireCount(k.horizon, `${field}.horizon`);
  if (horizon < 1) fail(`${field}.horizon`, "an integer ≥ 1", horizon);
  return {
    dataFingerprint: requireString(k.dataFingerprint, `${field}.dataFingerprint`),
    targetKind: requireString(k.targetKind, `${field}.targetKind`),
    horizon,
  };
}

/** A trial ready to insert. */
export interface TrialRow extends Omit<NewTrial, "metrics" | "buyAndHold"> {
  metrics: string;
  buyAndHold: string;
}

/** A sweep ready to insert. */
export interface SweepRow {
  runId: string | null;
  key: TrialKey;
  grid: string;
  options: string;
  dir: string | null;
  summary: string | null;
  trialsBefore: number;
  trials: TrialRow[];
}

function positiveNumber(x: unknown, field: string): number {
  const v = requireFinite(x, field);
  if (v <= 0) fail(field, "a number > 0", v);
  return v;
}

/** Checks `createSweep` input: at least one trial, distinct cell numbers. */
export function checkNewSweep(sweep: NewSweep): SweepRow {
  const s = requirePlainObject(sweep, "sweep");
  if (!Array.isArray(s.trials) || s.trials.length === 0) fail("sweep.trials", "a non-empty array of trials", s.trials);
  const cells = new Set<number>();
  const trials = s.trials.map((t, i): TrialRow => {
    const o = requirePlainObject(t, `sweep.trials[${i}]`);
    const cell = requireCount(o.cell, `sweep.trials[${i}].cell`);
    if (cells.has(cell)) fail(`sweep.trials[${i}].cell`, "a cell number no other trial has", cell);
    cells.add(cell);
    const costBps = requireFinite(o.costBps, `sweep.trials[${i}].costBps`);
    const slippageBps = requireFinite(o.slippageBps, `sweep.trials[${i}].slippageBps`);
    if (costBps < 0) fail(`sweep.trials[${i}].costBps`, "≥ 0", costBps);
    if (slippageBps < 0) fail(`sweep.trials[${i}].slippageBps`, "≥ 0", slippageBps);
    return {
      cell,
      symbol: requireString(o.symbol, `sweep.trials[${i}].symbol`),
      windowStart: requireIsoDate(o.windowStart, `sweep.trials[${i}].windowStart`),
      windowEnd: requireIsoDate(o.windowEnd, `sweep.trials[${i}].windowEnd`),
      costBps,
      slippageBps,
      lag: requireCount(o.lag, `sweep.trials[${i}].lag`),
      sizing: requireString(o.sizing, `sweep.trials[${i}].sizing`),
      annualization: positiveNumber(o.annualization, `sweep.trials[${i}].annualization`),
      metrics: metricsJson(o.metrics, `sweep.trials[${i}].metrics`),
      buyAndHold: metricsJson(o.buyAndHold, `sweep.trials[${i}].buyAndHold`),
    };
  });
  return {
    runId: optionalString(s.runId, "sweep.runId"),
    key: checkTrialKey(s.key as TrialKey, "sweep.key"),
    grid: jsonText(requirePlainObject(s.grid, "sweep.grid"), "sweep.grid"),
    options: jsonText(requirePlainObject(s.options, "sweep.options"), "sweep.options"),
    dir: optionalString(s.dir, "sweep.dir"),
    summary: optionalJsonObject(s.summary, "sweep.summary"),
    trialsBefore: requireCount(s.trialsBefore, "sweep.trialsBefore"),
    trials,
  };
}

/** The per-period Sharpe ratio of a stored metric map, or undefined when it is not defined. */
export function perPeriodSharpe(metrics: Record<string, number>, annualization: number): number | undefined {
  const s = metrics.sharpe;
  if (typeof s !== "number" || !Number.isFinite(s) || !(annualization > 0)) return undefined;
  return s / Math.sqrt(annualization);
}

/** The `last` option of `listProductionPredictions`: a positive safe integer, or undefined for every batch. */
export function checkLastOption(options: ListProductionPredictionsOptions | undefined): number | undefined {
  const last = options?.last;
  if (last === undefined) return undefined;
  if (!Number.isSafeInteger(last) || last < 1) {
    throw new StoreError(`listProductionPredictions: last must be a positive integer, found ${String(last)}`);
  }
  return last;
}

/** `listTrials` options, checked: the metric to order by (or null for cell order), direction, offset and limit. */
export interface TrialPage {
  metric: string | null;
  descending: boolean;
  offset: number;
  /** Largest position kept (offset + limit), or null for all. */
  end: number | null;
}

/** Checks `listTrials` options (a metric name is letters, digits and `_`, so it is safe inside a JSON path). */
export function checkListTrialsOptions(options: ListTrialsOptions | undefined): TrialPage {
  const o = options ?? {};
  const offset = o.offset ?? 0;
  if (!Number.isSafeInteger(offset) || offset < 0) {
    throw new StoreError(`listTrials: offset must be a non-negative integer, found ${String(offset)}`);
  }
  const limit = o.limit;
  if (limit !== undefined && (!Number.isSafeInteger(limit) || limit < 1)) {
    throw new StoreError(`listTrials: limit must be a positive integer, found ${String(limit)}`);
  }
  let metric: string | null = null;
  let descending = false;
  if (o.orderBy !== undefined) {
    const { metric: name, direction } = o.orderBy;
    if (typeof name !== "string" || !/^[A-Za-z_][A-Za-z0-9_]{0,63}$/.test(name)) {
      throw new StoreError(
        `listTrials: orderBy.metric must be a metric name (letters, digits and _), found ${JSON.stringify(name)}`,
      );
    }
    if (direction !== "asc" && direction !== "desc") {
      throw new StoreError(`listTrials: orderBy.direction must be asc or desc, found ${JSON.stringify(direction)}`);
    }
    metric = name;
    descending = direction === "desc";
  }
  return { metric, descending, offset, end: limit === undefined ? null : offset + limit };
}
