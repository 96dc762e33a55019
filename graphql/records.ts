/**
 * The study pipeline's typed records as the store keeps them (lib/pipeline/recorder.ts: `StoredEntrySummary` in a run's
 * summary, `StoredStudySummary` in a study's, `StoredFoldDetails` in a fold's fit report), read back for GraphQL.
 *
 * Runs written before studies existed (and runs written by other code through the Store API) carry other summaries:
 * each reader checks the shape it relies on and returns null when it is not there, so their typed fields read as null
 * instead of failing. Numbers inside JSON records may be null where the pipeline had NaN (JSON has no NaN).
 *
 * Also here: the comparison rows of a study (stored when it was sealed; built from its finished entries while it
 * runs, with the pipeline's own `comparisonRow`), and the check that runs compared side by side were tested on the
 * same rows.
 *
 * @module
 */

import type { StoredEntrySummary, StoredFoldDetails, StoredStudySummary } from "../lib/pipeline/recorder.ts";
import { type ComparisonRow, comparisonRow, type EntryReport } from "../lib/pipeline/records.ts";
import type { RunSummary, StoredFold, StudySummary } from "../lib/store/store.ts";

export type { ComparisonRow, StoredEntrySummary, StoredFoldDetails, StoredStudySummary };

const isObject = (x: unknown): x is Record<string, unknown> => typeof x === "object" && x !== null && !Array.isArray(x);

/** The run summary of a study entry, or null when the run's summary is not one (older runs, failed runs). */
export function entrySummaryOf(run: RunSummary): StoredEntrySummary | null {
  const s = run.summary;
  if (!isObject(s) || !isObject(s.pooled) || !isObject(s.gate) || !isObject(s.pooled.edge)) return null;
  if (typeof s.pooled.verdict !== "string" || typeof s.gate.passed !== "boolean") return null;
  return s as unknown as StoredEntrySummary;
}

/** The summary of a sealed study, or null (running, failed before sealing, or migrated from schema version 1). */
export function studySummaryOf(study: StudySummary): StoredStudySummary | null {
  const s = study.summary;
  if (!isObject(s) || s.legacy === true || !Array.isArray(s.comparison)) return null;
  return s as unknown as StoredStudySummary;
}

/** The typed details a study fold keeps in its fit report, or null for folds written otherwise. */
export function foldDetailsOf(fold: StoredFold): StoredFoldDetails | null {
  const d = fold.fitReport;
  if (!isObject(d) || !isObject(d.targets) || typeof d.health !== "string") return null;
  return d as unknown as StoredFoldDetails;
}

/** The comparison row of a finished study entry (the pipeline's own builder), or null when it is not one. */
export function comparisonRowOf(run: RunSummary): ComparisonRow | null {
  const s = entrySummaryOf(run);
  if (s === null || !isObject(s.backtest)) return null;
  const report: EntryReport = { ...s, runId: run.id, folds: [] };
  return comparisonRow(report);
}

/**
 * A study's comparison: the rows stored when it was sealed; while it runs (or when it failed before sealing), the rows
 * of the entries that finished, in training order.
 */
export function comparisonOf(study: StudySummary, runs: readonly RunSummary[]): ComparisonRow[] {
  const stored = studySummaryOf(study);
  if (stored !== null) return stored.comparison;
  return runs.map(comparisonRowOf).filter((r): r is ComparisonRow => r !== null);
}

/** A config's `target.kind` and `target.horizon` (studies and their runs), or nulls when not recorded. */
export function targetOf(config: Record<string, unknown>): { kind: string | null; horizon: number | null } {
  const t = config.target;
  if (!isObject(t)) return { kind: null, horizon: null };
  return {
    kind: typeof t.kind === "string" ? t.kind : null,
    horizon: typeof t.horizon === "number" ? t.horizon : null,
  };
}

/** A config's `validation.scheme`, or null. */
export function schemeOf(config: Record<string, unknown>): string | null {
  const v = config.validation;
  return isObject(v) && typeof v.scheme === "string" ? v.scheme : null;
}

function binomial(n: number, k: number): number {
  let out = 1;
  for (let i = 1; i <= k; i++) out = (out * (n - k + i)) / i;
  return Math.round(out);
}

/**
 * Folds every entry of a study trains: the sealed study's stored plan; while it runs, the count its resolved config
 * implies (anchored, rolling and purged k-fold: `folds`; three-way: 1; CPCV: C(groups, testGroups)), because the plan
 * itself is stored only when the study is sealed. Null when neither tells.
 */
export function plannedFoldsOf(study: StudySummary): number | null {
  const stored = studySummaryOf(study);
  if (stored !== null && Array.isArray(stored.plan?.folds) && stored.plan.folds.length > 0) {
    return stored.plan.folds.length;
  }
  const v = study.config.validation;
  if (!isObject(v)) return null;
  const int = (x: unknown) => (typeof x === "number" && Number.isSafeInteger(x) && x > 0 ? x : null);
  switch (v.scheme) {
    case "anchored":
    case "rolling":
    case "purged-kfold":
      return int(v.folds);
    case "three-way":
      return 1;
    case "cpcv": {
      const n = int(v.groups);
      const k = int(v.testGroups);
      return n === null || k === null || k >= n ? null : binomial(n, k);
    }
    default:
      return null;
  }
}

/** The items of `a` that are not in `b`. */
const only = (a: readonly string[], b: readonly string[]) => {
  const inB = new Set(b);
  return a.filter((x) => !inB.has(x));
};
/** At most five items, then how many in all. */
const listSome = (xs: readonly string[]) =>
  xs.length === 0 ? "none" : xs.slice(0, 5).join(", ") + (xs.length > 5 ? `, … (${xs.length} in all)` : "");

const windowsText = (w: readonly { start: string; end: string }[]) => w.map((x) => `${x.start}..${x.end}`).join(", ");

/**
 * Why runs compared side by side were not tested on the same rows: a different data fingerprint, symbols, target
 * (kind and horizon), number of folds, or, fold by fold, test windows and test row counts. Empty when they were (as far
 * as the stored records tell). Each difference names the runs and what differs.
 */
export function rowDifferences(
  runs: readonly RunSummary[],
  folds: ReadonlyMap<string, readonly StoredFold[]>,
): string[] {
  if (runs.length < 2) return [];
  const [ref, ...others] = runs;
  const out: string[] = [];
  const refTarget = targetOf(ref.config);
  const refFolds = folds.get(ref.id) ?? [];
  for (const run of others) {
    const vs = `${run.id} vs ${ref.id}`;
    if (ref.dataFingerprint !== null && run.dataFingerprint !== null && ref.dataFingerprint !== run.dataFingerprint) {
      out.push(`${vs}: different input data (fingerprint ${run.dataFingerprint} vs ${ref.dataFingerprint})`);
    }
    if (ref.symbols.join("\u0000") !== run.symbols.join("\u0000")) {
      // Name the symbols that differ: two sets of the same size would otherwise read "(6 vs 6)".
      const onlyRun = only(run.symbols, ref.symbols), onlyRef = only(ref.symbols, run.symbols);
      out.push(
        `${vs}: different symbols (${run.symbols.length} vs ${ref.symbols.length}; ` +
          (onlyRun.length + onlyRef.length === 0
            ? "the same symbols in another order)"
            : `only in ${run.id}: ${listSome(onlyRun)}; only in ${ref.id}: ${listSome(onlyRef)})`),
      );
    }
    const target = targetOf(run.config);
    if (target.kind !== refTarget.kind || target.horizon !== refTarget.horizon) {
      out.push(
        `${vs}: different target (${target.kind ?? "?"}, h = ${target.horizon ?? "?"} vs ${refTarget.kind ?? "?"}, ` +
          `h = ${refTarget.horizon ?? "?"})`,
      );
    }
    const mine = folds.get(run.id) ?? [];
    if (mine.length !== refFolds.length) {
      out.push(`${vs}: ${mine.length} folds vs ${refFolds.length}`);
      continue;
    }
    for (let i = 0; i < mine.length; i++) {
      const a = mine[i], b = refFolds[i];
      if (windowsText(a.test) !== windowsText(b.test)) {
        out.push(`${vs}: fold ${a.index} tests ${windowsText(a.test)} vs ${windowsText(b.test)}`);
      } else if (a.nTest !== b.nTest) {
        out.push(`${vs}: fold ${a.index} tests ${a.nTest} rows vs ${b.nTest}`);
      }
    }
  }
  return out;
}
