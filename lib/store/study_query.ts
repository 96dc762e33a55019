/**
 * The dashboard read queries over studies and prediction records shared by every backend: validation of a
 * {@link StudyQuery} and the SQL that filters, orders and pages studies (rendered for SQLite or Postgres, with the same
 * keyset cursors as run pages, see run_query.ts), and the validation of prediction slices.
 *
 * Filters read the stored columns and JSON in the database (the config's `target.kind`, the planned entries' kinds),
 * so only the requested page leaves it.
 *
 * @module
 */

import { StoreError } from "../errors.ts";
import { PREDICTION_SPLITS, type PredictionSlice, RUN_STATUSES, type RunStatus, type StudyQuery } from "./store.ts";
import {
  decodeCursor,
  DEFAULT_RUN_PAGE,
  type Dialect,
  epochMs,
  inList,
  jsonList,
  jsonText,
  MAX_RUN_PAGE,
  Params,
  type SqlQuery,
  stringList,
  tagsColumn,
} from "./run_query.ts";

/** Largest page of `queryStudies`. */
export const MAX_STUDY_PAGE = MAX_RUN_PAGE;
/** Largest slice of prediction rows read at once. */
export const MAX_PREDICTION_SLICE = 10_000;
/** Most slices in one `readPredictionSlices` call. */
export const MAX_PREDICTION_SLICES = 1000;

/** A validated study query. */
export interface CheckedStudyQuery {
  statuses: RunStatus[];
  dataSources: string[];
  targetKinds: string[];
  modelKinds: string[];
  tags: string[];
  nameContains: string | null;
  createdFrom: number | null;
  createdTo: number | null;
  order: { by: "createdAt" | "finishedAt"; direction: "asc" | "desc"; signature: string };
  first: number;
  after: { value: number | null; id: string } | null;
}

function fail(what: string, field: string, expected: string, found: unknown): never {
  let shown: string;
  try {
    shown = JSON.stringify(found) ?? String(found);
  } catch {
    shown = String(found);
  }
  if (shown.length > 80) shown = shown.slice(0, 77) + "...";
  throw new StoreError(`${what}: ${field}: expected ${expected}, found ${shown}`);
}

/** Validates a study query; throws StoreError naming the offending field. */
export function checkStudyQuery(query: StudyQuery = {}): CheckedStudyQuery {
  if (typeof query !== "object" || query === null) fail("queryStudies", "query", "an object", query);
  const rename = (e: unknown): never => {
    if (e instanceof StoreError) throw new StoreError(e.message.replace(/^queryRuns: /, "queryStudies: "));
    throw e;
  };
  try {
    const statuses = stringList(query.statuses, "statuses");
    for (const s of statuses) {
      if (!RUN_STATUSES.includes(s as RunStatus)) fail("queryStudies", "statuses", RUN_STATUSES.join(" | "), s);
    }
    const name = query.nameContains ?? null;
    if (name !== null && (typeof name !== "string" || name.length === 0 || name.length > 200)) {
      fail("queryStudies", "nameContains", "text of 1 to 200 characters", name);
    }
    const by = query.order?.by ?? "createdAt";
    const direction = query.order?.direction ?? "desc";
    if (by !== "createdAt" && by !== "finishedAt") fail("queryStudies", "order.by", "createdAt | finishedAt", by);
    if (direction !== "asc" && direction !== "desc") fail("queryStudies", "order.direction", "asc | desc", direction);
    const signature = `study.${by}:${direction}`;
    const first = query.first ?? DEFAULT_RUN_PAGE;
    if (!Number.isSafeInteger(first) || first < 1 || first > MAX_STUDY_PAGE) {
      fail("queryStudies", "first", `1 to ${MAX_STUDY_PAGE}`, first);
    }
    return {
      statuses: statuses as RunStatus[],
      dataSources: stringList(query.dataSources, "dataSources"),
      targetKinds: stringList(query.targetKinds, "targetKinds"),
      modelKinds: stringList(query.modelKinds, "modelKinds"),
      tags: stringList(query.tags, "tags"),
      nameContains: name,
      createdFrom: epochMs(query.createdFrom, "createdFrom"),
      createdTo: epochMs(query.createdTo, "createdTo"),
      order: { by, direction, signature },
      first,
      after: query.after === undefined || query.after === null ? null : decodeCursor(query.after, signature),
    };
  } catch (e) {
    return rename(e);
  }
}

function whereClause(p: Params, q: CheckedStudyQuery): string {
  const parts: string[] = [];
  if (q.statuses.length > 0) parts.push(inList(p, "s.status", q.statuses));
  if (q.dataSources.length > 0) parts.push(inList(p, "s.data_source", q.dataSources));
  if (q.targetKinds.length > 0) parts.push(inList(p, jsonText(p, "s.config", ["target", "kind"]), q.targetKinds));
  if (q.modelKinds.length > 0) {
    const json = jsonList(p, q.modelKinds);
    parts.push(
      p.dialect === "sqlite"
        ? `EXISTS (SELECT 1 FROM json_each(s.entries) e WHERE json_extract(e.value, '$.kind') IN ` +
          `(SELECT value FROM json_each(${json})))`
        : `EXISTS (SELECT 1 FROM json_array_elements(s.entries) e WHERE e->>'kind' IN ` +
          `(SELECT jsonb_array_elements_text(${json})))`,
    );
  }
  if (q.tags.length > 0) {
    parts.push(`EXISTS (SELECT 1 FROM study_tags t WHERE t.study_id = s.id AND ${inList(p, "t.tag", q.tags)})`);
  }
  if (q.nameContains !== null) {
    const needle = p.add(q.nameContains, "text");
    parts.push(
      p.dialect === "sqlite"
        ? `instr(lower(s.name), lower(${needle})) > 0`
        : `strpos(lower(s.name), lower(${needle})) > 0`,
    );
  }
  if (q.createdFrom !== null) parts.push(`s.created_at >= ${p.add(q.createdFrom, "bigint")}`);
  if (q.createdTo !== null) parts.push(`s.created_at < ${p.add(q.createdTo, "bigint")}`);
  return parts.length === 0 ? "" : `WHERE ${parts.join(" AND ")}`;
}

/** SQL of one page: every `studies` column plus `sort_value`, at most `first + 1` rows (the extra one means "more"). */
export function studyPageSql(q: CheckedStudyQuery, dialect: Dialect): SqlQuery {
  const p = new Params(dialect);
  const sortExpr = q.order.by === "createdAt" ? "s.created_at" : "s.finished_at";
  const where = whereClause(p, q);
  const dir = q.order.direction === "desc" ? "DESC" : "ASC";
  const cmp = q.order.direction === "desc" ? "<" : ">";
  let after = "";
  if (q.after !== null) {
    if (q.after.value === null) {
      after = `WHERE q.sort_value IS NULL AND q.id ${cmp} ${p.add(q.after.id, "text")}`;
    } else {
      const v1 = p.add(q.after.value, "bigint");
      const v2 = p.add(q.after.value, "bigint");
      const id = p.add(q.after.id, "text");
      after =
        `WHERE (q.sort_value ${cmp} ${v1} OR (q.sort_value = ${v2} AND q.id ${cmp} ${id}) OR q.sort_value IS NULL)`;
    }
  }
  const limit = p.add(q.first + 1, "integer");
  return {
    text: `SELECT * FROM (SELECT s.*, ${tagsColumn(dialect, "study", "s")}, ${sortExpr} AS sort_value ` +
      `FROM studies s ${where}) q ${after} ` +
      `ORDER BY q.sort_value ${dir} NULLS LAST, q.id ${dir} LIMIT ${limit}`,
    params: p.values,
  };
}

/** SQL counting every study that matches the filters (cursor and page size ignored). */
export function studyCountSql(q: CheckedStudyQuery, dialect: Dialect): SqlQuery {
  const p = new Params(dialect);
  return { text: `SELECT count(*) AS n FROM studies s ${whereClause(p, q)}`, params: p.values };
}

/** Validates prediction slices; throws StoreError naming the offending slice. */
export function checkPredictionSlices(slices: readonly PredictionSlice[]): Required<PredictionSlice>[] {
  if (!Array.isArray(slices)) fail("readPredictionSlices", "slices", "an array", slices);
  if (slices.length > MAX_PREDICTION_SLICES) {
    fail("readPredictionSlices", "slices.length", `at most ${MAX_PREDICTION_SLICES}`, slices.length);
  }
  return slices.map((s, i) => {
    const at = `slices[${i}]`;
    if (typeof s !== "object" || s === null) fail("readPredictionSlices", at, "{ runId, fold, offset, limit }", s);
    if (typeof s.runId !== "string" || s.runId.length === 0) {
      fail("readPredictionSlices", `${at}.runId`, "a run id", s.runId);
    }
    if (!Number.isSafeInteger(s.fold) || s.fold < 0) {
      fail("readPredictionSlices", `${at}.fold`, "an integer ≥ 0", s.fold);
    }
    if (!Number.isSafeInteger(s.offset) || s.offset < 0) {
      fail("readPredictionSlices", `${at}.offset`, "an integer ≥ 0", s.offset);
    }
    if (!Number.isSafeInteger(s.limit) || s.limit < 1 || s.limit > MAX_PREDICTION_SLICE) {
      fail("readPredictionSlices", `${at}.limit`, `1 to ${MAX_PREDICTION_SLICE}`, s.limit);
    }
    const split = s.split ?? "test";
    if (!PREDICTION_SPLITS.includes(split)) {
      fail("readPredictionSlices", `${at}.split`, PREDICTION_SPLITS.join(" | "), s.split);
    }
    return { runId: s.runId, fold: s.fold, split, offset: s.offset, limit: s.limit };
  });
}
