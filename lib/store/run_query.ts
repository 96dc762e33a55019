/**
 * The dashboard read queries shared by every backend: validation of a {@link RunQuery}, the SQL that filters, orders
 * and pages runs (one builder, rendered for SQLite or Postgres), opaque cursors, and fold aggregates.
 *
 * - **Keyset pagination.** A page is "the first n runs after the cursor in a total order": the sort value, then the run
 *   id in the same direction, missing values last. The cursor carries the sort value and id of the last run seen and
 *   the order it belongs to, so a page never skips or repeats a run when runs are added meanwhile, and a cursor from
 *   another order is refused instead of silently misread.
 * - **Metrics in SQL.** Filters and orders on a metric read the stored JSON maps in the database (SQLite `json_extract`,
 *   Postgres `->>`), so only the requested page leaves the database. A metric that is missing, null (NaN when written)
 *   or not a number counts as missing: it fails every threshold and sorts last.
 * - **Aggregates in TypeScript.** Fold aggregates are computed here from the stored metric maps by one function, so
 *   both backends give bit-identical means and standard deviations (SQL engines sum in different orders and SQLite has
 *   no standard deviation).
 *
 * @module
 */

import { StoreError } from "../errors.ts";
import {
  type FoldAggregates,
  type MetricAggregate,
  RUN_METRIC_SOURCES,
  RUN_STATUSES,
  type RunMetricRef,
  type RunQuery,
  type RunStatus,
} from "./store.ts";

/** Largest page of `queryRuns`. */
export const MAX_RUN_PAGE = 1000;
/** Default page of `queryRuns`. */
export const DEFAULT_RUN_PAGE = 50;
/** Most metric thresholds in one query. */
export const MAX_METRIC_FILTERS = 8;
/** Most values in one list filter (models, symbols, data sources). */
export const MAX_FILTER_VALUES = 100;

const METRIC_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

function fail(field: string, expected: string, found: unknown): never {
  let shown: string;
  try {
    shown = JSON.stringify(found) ?? String(found);
  } catch {
    shown = String(found);
  }
  if (shown.length > 80) shown = shown.slice(0, 77) + "...";
  throw new StoreError(`queryRuns: ${field}: expected ${expected}, found ${shown}`);
}

/** The order of a page, normalized. `metric` is set when ordering by a stored metric. */
export interface CheckedOrder {
  by: "createdAt" | "finishedAt" | "metric";
  metric?: RunMetricRef;
  direction: "asc" | "desc";
  /** Identifies the order inside cursors, e.g. `createdAt:desc`, `backtest.sharpe:asc`. */
  signature: string;
}

/** A validated query. */
export interface CheckedRunQuery {
  models: string[];
  symbols: string[];
  dataSources: string[];
  statuses: RunStatus[];
  studyIds: string[];
  targetKinds: string[];
  verdicts: string[];
  gatePassed: boolean | null;
  tags: string[];
  createdFrom: number | null;
  createdTo: number | null;
  metrics: { metric: RunMetricRef; min: number | null; max: number | null }[];
  order: CheckedOrder;
  first: number;
  after: { value: number | null; id: string } | null;
}

/** A validated list filter: non-empty strings (≤ 1,000 characters each, ≤ 100 values), duplicates dropped. */
export function stringList(x: unknown, field: string): string[] {
  if (x === undefined || x === null) return [];
  if (!Array.isArray(x) || x.some((s) => typeof s !== "string" || s.length === 0 || s.length > 1000)) {
    fail(field, "a list of non-empty strings", x);
  }
  if (x.length > MAX_FILTER_VALUES) fail(`${field}.length`, `at most ${MAX_FILTER_VALUES}`, x.length);
  return [...new Set(x as string[])];
}

/** A validated epoch-millisecond bound, or null when absent. */
export function epochMs(x: unknown, field: string): number | null {
  if (x === undefined || x === null) return null;
  if (typeof x !== "number" || !Number.isSafeInteger(x)) fail(field, "epoch milliseconds (an integer)", x);
  return x;
}

function metricRef(x: unknown, field: string): RunMetricRef {
  if (typeof x !== "object" || x === null) fail(field, "{ source, name }", x);
  const { source, name } = x as Record<string, unknown>;
  if (!RUN_METRIC_SOURCES.includes(source as never)) fail(`${field}.source`, RUN_METRIC_SOURCES.join(" | "), source);
  if (typeof name !== "string" || !METRIC_NAME.test(name)) {
    fail(`${field}.name`, "a metric name (letters, digits, _; at most 64 characters)", name);
  }
  return { source: source as RunMetricRef["source"], name };
}

function bound(x: unknown, field: string): number | null {
  if (x === undefined || x === null) return null;
  if (typeof x !== "number" || !Number.isFinite(x)) fail(field, "a finite number", x);
  return x;
}

function checkOrder(query: RunQuery): CheckedOrder {
  const order = query.order ?? { by: "createdAt" };
  const direction = order.direction ?? "desc";
  if (direction !== "asc" && direction !== "desc") fail("order.direction", "asc | desc", direction);
  if (order.by === "createdAt" || order.by === "finishedAt") {
    return { by: order.by, direction, signature: `${order.by}:${direction}` };
  }
  const metric = metricRef(order.by, "order.by");
  return { by: "metric", metric, direction, signature: `${metric.source}.${metric.name}:${direction}` };
}

/** Validates a query; throws StoreError naming the offending field. */
export function checkRunQuery(query: RunQuery = {}): CheckedRunQuery {
  if (typeof query !== "object" || query === null) fail("query", "an object", query);
  const statuses = stringList(query.statuses, "statuses");
  for (const s of statuses) if (!RUN_STATUSES.includes(s as RunStatus)) fail("statuses", RUN_STATUSES.join(" | "), s);
  const metrics = (query.metrics ?? []).map((m, i) => {
    const metric = metricRef(m?.metric, `metrics[${i}].metric`);
    const min = bound(m.min, `metrics[${i}].min`);
    const max = bound(m.max, `metrics[${i}].max`);
    if (min === null && max === null) fail(`metrics[${i}]`, "min, max or both", m);
    return { metric, min, max };
  });
  if (metrics.length > MAX_METRIC_FILTERS) fail("metrics.length", `at most ${MAX_METRIC_FILTERS}`, metrics.length);
  const first = query.first ?? DEFAULT_RUN_PAGE;
  if (!Number.isSafeInteger(first) || first < 1 || first > MAX_RUN_PAGE) fail("first", `1 to ${MAX_RUN_PAGE}`, first);
  const order = checkOrder(query);
  const verdicts = stringList(query.verdicts, "verdicts");
  for (const v of verdicts) if (v !== "edge" && v !== "no-edge") fail("verdicts", "edge | no-edge", v);
  const gatePassed = query.gatePassed ?? null;
  if (gatePassed !== null && typeof gatePassed !== "boolean") fail("gatePassed", "true or false", gatePassed);
  return {
    models: stringList(query.models, "models"),
    symbols: stringList(query.symbols, "symbols"),
    dataSources: stringList(query.dataSources, "dataSources"),
    statuses: statuses as RunStatus[],
    studyIds: stringList(query.studyIds, "studyIds"),
    targetKinds: stringList(query.targetKinds, "targetKinds"),
    verdicts,
    gatePassed,
    tags: stringList(query.tags, "tags"),
    createdFrom: epochMs(query.createdFrom, "createdFrom"),
    createdTo: epochMs(query.createdTo, "createdTo"),
    metrics,
    order,
    first,
    after: query.after === undefined || query.after === null ? null : decodeCursor(query.after, order.signature),
  };
}

/** The cursor of a run at `value` (its sort value) in the order `signature`. */
export function encodeCursor(signature: string, value: number | null, id: string): string {
  const bytes = new TextEncoder().encode(JSON.stringify([signature, value, id]));
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** Decodes a cursor made by {@link encodeCursor} for the same order; refuses anything else. */
export function decodeCursor(cursor: unknown, signature: string): { value: number | null; id: string } {
  if (typeof cursor !== "string" || cursor.length === 0 || cursor.length > 512 || !/^[A-Za-z0-9_-]+$/.test(cursor)) {
    fail("after", "a cursor returned by a previous page", cursor);
  }
  let parsed: unknown;
  try {
    const binary = atob(cursor.replace(/-/g, "+").replace(/_/g, "/"));
    parsed = JSON.parse(new TextDecoder().decode(Uint8Array.from(binary, (c) => c.charCodeAt(0))));
  } catch {
    fail("after", "a cursor returned by a previous page", cursor);
  }
  if (
    !Array.isArray(parsed) || parsed.length !== 3 || typeof parsed[0] !== "string" ||
    !(parsed[1] === null || (typeof parsed[1] === "number" && Number.isFinite(parsed[1]))) ||
    typeof parsed[2] !== "string"
  ) {
    fail("after", "a cursor returned by a previous page", cursor);
  }
  if (parsed[0] !== signature) {
    fail("after", `a cursor of the order ${signature} (this one belongs to ${parsed[0]})`, cursor);
  }
  return { value: parsed[1], id: parsed[2] };
}

/** The SQL dialects the builder renders. */
export type Dialect = "sqlite" | "postgres";

/** SQL text with its positional parameters. */
export interface SqlQuery {
  text: string;
  params: (string | number)[];
}

/** Positional parameters of one SQL text, rendered for a dialect. */
export class Params {
  readonly values: (string | number)[] = [];
  constructor(readonly dialect: Dialect) {}
  /** A placeholder for `value`, with a Postgres cast when given. */
  add(value: string | number, pgType?: string): string {
    this.values.push(value);
    if (this.dialect === "sqlite") return "?";
    return `$${this.values.length}${pgType ? `::${pgType}` : ""}`;
  }
}

/** A numeric value from a stored JSON map, or NULL when missing or not a number. */
function jsonNumber(p: Params, column: string, key: string, under: readonly string[] = []): string {
  if (p.dialect === "sqlite") {
    const path = `$.${[...under, key].map((k) => `"${k}"`).join(".")}`;
    const path1 = p.add(path);
    const path2 = p.add(path);
    return `(CASE WHEN json_type(${column}, ${path1}) IN ('integer', 'real') THEN json_extract(${column}, ${path2}) END)`;
  }
  // Every document column is `json` (schema version 3 stores documents, not strings holding them).
  const base = `${column}${under.map((k) => `->'${k}'`).join("")}`;
  const k1 = p.add(key, "text");
  const k2 = p.add(key, "text");
  return `(CASE WHEN json_typeof(${base}->${k1}) = 'number' THEN (${base}->>${k2})::float8 END)`;
}

/**
 * A text value at a fixed path of a JSON column (NULL when missing or not text). `path` is a literal of this module,
 * never user input.
 */
export function jsonText(p: Params, column: string, path: readonly string[]): string {
  if (p.dialect === "sqlite") {
    const at = `$.${path.map((k) => `"${k}"`).join(".")}`;
    return `(CASE WHEN json_type(${column}, '${at}') = 'text' THEN json_extract(${column}, '${at}') END)`;
  }
  const parent = path.slice(0, -1).map((k) => `->'${k}'`).join("");
  const last = path.at(-1)!;
  return `(CASE WHEN json_typeof(${column}${parent}->'${last}') = 'string' THEN ${column}${parent}->>'${last}' END)`;
}

/** True when a boolean at a fixed path of a JSON column equals `value` (missing or not boolean: false). */
function jsonBoolean(p: Params, column: string, path: readonly string[], value: boolean): string {
  if (p.dialect === "sqlite") {
    const at = `$.${path.map((k) => `"${k}"`).join(".")}`;
    return `json_type(${column}, '${at}') = '${value ? "true" : "false"}'`;
  }
  const parent = path.slice(0, -1).map((k) => `->'${k}'`).join("");
  const last = path.at(-1)!;
  return `(json_typeof(${column}${parent}->'${last}') = 'boolean' AND ${column}${parent}->>'${last}' = '${value}')`;
}

/** SQL for a run-level metric of the run aliased `r`. */
function metricExpr(p: Params, m: RunMetricRef): string {
  switch (m.source) {
    case "pooled":
      // `under` is a fixed literal, never user input. A study's pooled line keeps most metrics under pooled.metrics.
      return `coalesce(${jsonNumber(p, "r.summary", m.name, ["pooled"])}, ${
        jsonNumber(p, "r.summary", m.name, ["pooled", "metrics"])
      })`;
    case "backtest":
      return `(SELECT ${jsonNumber(p, "b.metrics", m.name)} FROM backtests b WHERE b.run_id = r.id)`;
    case "buyAndHold":
      return `(SELECT ${jsonNumber(p, "b.buy_and_hold", m.name)} FROM backtests b WHERE b.run_id = r.id)`;
    case "foldMean":
      return `(SELECT avg(${jsonNumber(p, "f.metrics", m.name)}) FROM folds f WHERE f.run_id = r.id)`;
  }
}

/** A JSON list parameter: text on the wire, cast in SQL (a parameter typed jsonb would be JSON-encoded once more). */
export function jsonList(p: Params, values: string[]): string {
  const placeholder = p.add(JSON.stringify(values), "text");
  return p.dialect === "sqlite" ? placeholder : `(${placeholder})::jsonb`;
}

/** `expr IN (values)`, the values passed as one JSON list parameter. */
export function inList(p: Params, expr: string, values: string[]): string {
  const json = jsonList(p, values);
  return p.dialect === "sqlite"
    ? `${expr} IN (SELECT value FROM json_each(${json}))`
    : `${expr} IN (SELECT jsonb_array_elements_text(${json}))`;
}

function whereClause(p: Params, q: CheckedRunQuery): string {
  const parts: string[] = [];
  if (q.models.length > 0) parts.push(inList(p, "r.model", q.models));
  if (q.dataSources.length > 0) parts.push(inList(p, "r.data_source", q.dataSources));
  if (q.statuses.length > 0) parts.push(inList(p, "r.status", q.statuses));
  if (q.symbols.length > 0) {
    const json = jsonList(p, q.symbols);
    parts.push(
      p.dialect === "sqlite"
        ? `EXISTS (SELECT 1 FROM json_each(r.symbols) s WHERE s.value IN (SELECT value FROM json_each(${json})))`
        : `r.symbols::jsonb ?| ARRAY(SELECT jsonb_array_elements_text(${json}))`,
    );
  }
  if (q.studyIds.length > 0) parts.push(inList(p, "r.study_id", q.studyIds));
  if (q.targetKinds.length > 0) parts.push(inList(p, jsonText(p, "r.config", ["target", "kind"]), q.targetKinds));
  if (q.verdicts.length > 0) parts.push(inList(p, jsonText(p, "r.summary", ["pooled", "verdict"]), q.verdicts));
  if (q.gatePassed !== null) parts.push(jsonBoolean(p, "r.summary", ["gate", "passed"], q.gatePassed));
  if (q.tags.length > 0) {
    parts.push(`EXISTS (SELECT 1 FROM run_tags t WHERE t.run_id = r.id AND ${inList(p, "t.tag", q.tags)})`);
  }
  if (q.createdFrom !== null) parts.push(`r.created_at >= ${p.add(q.createdFrom, "bigint")}`);
  if (q.createdTo !== null) parts.push(`r.created_at < ${p.add(q.createdTo, "bigint")}`);
  for (const m of q.metrics) {
    if (m.min !== null) parts.push(`${metricExpr(p, m.metric)} >= ${p.add(m.min, "float8")}`);
    if (m.max !== null) parts.push(`${metricExpr(p, m.metric)} <= ${p.add(m.max, "float8")}`);
  }
  return parts.length === 0 ? "" : `WHERE ${parts.join(" AND ")}`;
}

/** SQL of one page: every `runs` column plus `sort_value`, at most `first + 1` rows (the extra one means "more"). */
export function runPageSql(q: CheckedRunQuery, dialect: Dialect): SqlQuery {
  const p = new Params(dialect);
  const sortExpr = q.order.by === "createdAt"
    ? "r.created_at"
    : q.order.by === "finishedAt"
    ? "r.finished_at"
    : metricExpr(p, q.order.metric!);
  const where = whereClause(p, q);
  const dir = q.order.direction === "desc" ? "DESC" : "ASC";
  const cmp = q.order.direction === "desc" ? "<" : ">";
  const valueType = q.order.by === "metric" ? "float8" : "bigint";
  let after = "";
  if (q.after !== null) {
    if (q.after.value === null) {
      after = `WHERE q.sort_value IS NULL AND q.id ${cmp} ${p.add(q.after.id, "text")}`;
    } else {
      // Placeholders are added in the order they appear in the text (SQLite's ? are positional).
      const v1 = p.add(q.after.value, valueType);
      const v2 = p.add(q.after.value, valueType);
      const id = p.add(q.after.id, "text");
      after =
        `WHERE (q.sort_value ${cmp} ${v1} OR (q.sort_value = ${v2} AND q.id ${cmp} ${id}) OR q.sort_value IS NULL)`;
    }
  }
  const limit = p.add(q.first + 1, "integer");
  return {
    text: `SELECT * FROM (SELECT r.*, ${tagsColumn(dialect, "run", "r")}, ${sortExpr} AS sort_value ` +
      `FROM runs r ${where}) q ${after} ` +
      `ORDER BY q.sort_value ${dir} NULLS LAST, q.id ${dir} LIMIT ${limit}`,
    params: p.values,
  };
}

/**
 * A select-list item `tags_json`: the record's tags as a JSON array, sorted (code-unit order: SQLite's default
 * collation, Postgres `COLLATE "C"`), `[]` when it has none. `alias` is the run's or study's table alias.
 */
export function tagsColumn(dialect: Dialect, kind: "run" | "study", alias: string): string {
  const [table, key] = kind === "run" ? ["run_tags", "run_id"] : ["study_tags", "study_id"];
  return dialect === "sqlite"
    ? `(SELECT json_group_array(tag) FROM (SELECT tag FROM ${table} WHERE ${key} = ${alias}.id ORDER BY tag)) ` +
      `AS tags_json`
    : `(SELECT coalesce(json_agg(tag ORDER BY tag COLLATE "C"), '[]'::json) FROM ${table} ` +
      `WHERE ${key} = ${alias}.id) AS tags_json`;
}

/** SQL counting every run that matches the filters (cursor and page size ignored). */
export function runCountSql(q: CheckedRunQuery, dialect: Dialect): SqlQuery {
  const p = new Params(dialect);
  const where = whereClause(p, q);
  return { text: `SELECT count(*) AS n FROM runs r ${where}`, params: p.values };
}

function aggregate(values: Map<string, number[]>): MetricAggregate[] {
  return [...values].map(([name, xs]) => {
    const defined = xs.filter((x) => !Number.isNaN(x));
    const n = defined.length;
    if (n === 0) return { name, n, mean: null, std: null, min: null, max: null };
    let sum = 0;
    let min = Infinity;
    let max = -Infinity;
    for (const x of defined) {
      sum += x;
      if (x < min) min = x;
      if (x > max) max = x;
    }
    const mean = sum / n;
    let ss = 0;
    for (const x of defined) ss += (x - mean) ** 2;
    return { name, n, mean, std: n < 2 ? null : Math.sqrt(ss / (n - 1)), min, max };
  });
}

/**
 * Fold aggregates from stored folds (each with its run id and decoded metric and baseline maps), folds of a run in
 * index order. NaN values are left out of every statistic; names keep their first-seen order.
 */
export function foldAggregatesOf(
  folds: Iterable<{ runId: string; metrics: Record<string, number>; baselines: Record<string, number> }>,
): FoldAggregates[] {
  const byRun = new Map<string, { folds: number; metrics: Map<string, number[]>; baselines: Map<string, number[]> }>();
  for (const f of folds) {
    let acc = byRun.get(f.runId);
    if (acc === undefined) byRun.set(f.runId, acc = { folds: 0, metrics: new Map(), baselines: new Map() });
    acc.folds++;
    for (const [map, into] of [[f.metrics, acc.metrics], [f.baselines, acc.baselines]] as const) {
      for (const [k, v] of Object.entries(map)) {
        let xs = into.get(k);
        if (xs === undefined) into.set(k, xs = []);
        xs.push(v);
      }
    }
  }
  return [...byRun].map(([runId, acc]) => ({
    runId,
    folds: acc.folds,
    metrics: aggregate(acc.metrics),
    baselines: aggregate(acc.baselines),
  }));
}
