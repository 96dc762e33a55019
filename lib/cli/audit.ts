/**
 * `candor audit --data PATH [--horizon H] [--symbols N] [--columns all|none|a,b] [--json]`: the leakage audit from
 * the command line.
 *
 * Loads price files (a file or a folder), audits every built-in feature (FULL_FEATURES: truncation test on the N
 * symbols with the longest history, default 3, plus target identity) and the extra numeric columns found in the files
 * (all of them by default; `--columns` chooses, and columns not chosen are never read; treated as user-supplied
 * features: target identity, implausible IC, lead/lag asymmetry, each accusation only when it survives controlling
 * for the returns known at t — see lib/leakage/audit.ts), and prints a table — or, with `--json`, the report of
 * {@link auditJson}.
 *
 * Exit status: 0 no leak (suspects allowed), 3 at least one feature is a `leak`, 2 bad arguments (an unknown
 * `--columns` name included), 1 unreadable or invalid input (the loader's error names file, line and column; a file
 * with more extra columns than the loader's limit says how many it found and how to choose them).
 *
 * @module
 */

import { parseArgs } from "node:util";
import Table from "cli-table3";
import { type ExtraColumnSelection, loadPanel, MAX_EXTRA_COLUMNS } from "../data/load.ts";
import { CandorError, ConfigError } from "../errors.ts";
import { FULL_FEATURES } from "../features/catalog.ts";
import { auditFeatures, type AuditReport, type FeatureStatistics, type Verdict } from "../leakage/audit.ts";

const USAGE = `Usage: candor audit --data PATH [--horizon H] [--symbols N] [--columns all|none|a,b] [--json]

  --data PATH     a CSV / CSV.gz / Parquet file or a folder of them
  --horizon H     target horizon in trading days (default 1)
  --symbols N     symbols the truncation test recomputes features on (default 3, longest history first)
  --columns C     extra columns of the files to audit: all (default, at most ${MAX_EXTRA_COLUMNS}), none, or a,b,c
  --json          print the report as JSON (horizon, cut dates, and per feature its source, verdict, reasons,
                  notes and the statistics behind the verdict) instead of a table

Exit status: 0 no leak, 3 a feature leaks, 2 bad arguments, 1 bad input.`;

/** Where an audited feature comes from, as `audit --json` names it. */
export type AuditSource = "built-in" | "file";

/** One feature of `candor audit --json`. */
export interface AuditJsonFeature {
  /** Feature or column name. */
  name: string;
  /** "built-in": a candor feature recomputed by the auditor; "file": an extra column of the price files. */
  source: AuditSource;
  /** `ok`, `suspect` or `leak`. */
  verdict: Verdict;
  /** Why, when not `ok`; each reason states what its statistics show. */
  reasons: string[];
  /** Observations that are not accusations (e.g. predictive only through returns known at t). */
  notes: string[];
  /** The numbers behind the verdict (NaN as null). */
  statistics: FeatureStatistics;
}

/** `candor audit --json`: the audit's settings and every feature's finding. */
export interface AuditJson {
  /** Target horizon h in trading days. */
  horizon: number;
  /** Symbols the built-in features were recomputed on. */
  symbolsAudited: string[];
  /** Cut dates of the truncation test. */
  cutDates: string[];
  /** Past one-day returns the controlled lead test removes: max(2h, 10). */
  controlReturns: number;
  /** Names with verdict `leak`. */
  leaking: string[];
  /** Names with verdict `suspect`. */
  suspect: string[];
  /** Built-in features first, then file columns. */
  features: AuditJsonFeature[];
}

/** The JSON form of an audit report (what `candor audit --json` prints). */
export function auditJson(report: AuditReport): AuditJson {
  return {
    horizon: report.horizon,
    symbolsAudited: report.symbolsAudited,
    cutDates: report.cutDates,
    controlReturns: report.controlReturns,
    leaking: report.leaking,
    suspect: report.suspect,
    features: report.features.map((f) => ({
      name: f.name,
      source: f.source === "definition" ? "built-in" : "file",
      verdict: f.verdict,
      reasons: f.reasons,
      notes: f.notes,
      statistics: f.statistics,
    })),
  };
}

function columnsOption(value: string | undefined): ExtraColumnSelection {
  if (value === undefined || value === "all" || value === "none") return value ?? "all";
  return value.split(",").map((c) => c.trim()).filter((c) => c !== "");
}

function positiveInt(value: string | undefined, name: string, fallback: number): number | string {
  if (value === undefined) return fallback;
  if (!/^\d+$/.test(value.trim()) || Number(value) < 1) return `--${name} expects a positive integer, got "${value}"`;
  return Number(value);
}

/**
 * Renders an audit report as a table (leaks first, then suspects, then file columns that are ok with their notes)
 * and a summary line with the built-in features found ok, the horizon and the cut dates.
 */
export function formatAuditTable(report: AuditReport): string {
  const order = { leak: 0, suspect: 1, ok: 2 } as const;
  const rows = [...report.features].sort((a, b) => order[a.verdict] - order[b.verdict] || (a.name < b.name ? -1 : 1));
  const table = new Table({
    head: ["feature", "source", "verdict", "reasons (notes for ok columns)"],
    wordWrap: true,
    colWidths: [24, 10, 9, 80],
  });
  const ok = rows.filter((r) => r.verdict === "ok");
  for (const r of rows) {
    if (r.verdict === "ok" && r.source === "definition") continue;
    const why = r.verdict === "ok" ? r.notes.map((n) => `note: ${n}`) : r.reasons;
    table.push([r.name, r.source === "definition" ? "built-in" : "file", r.verdict, why.join("\n") || "-"]);
  }
  const builtinOk = ok.filter((r) => r.source === "definition").length;
  return [
    table.toString(),
    `${builtinOk} built-in feature(s) ok (not listed); ${report.leaking.length} leak(s), ${report.suspect.length} ` +
    `suspect(s); horizon ${report.horizon}; truncation test on ${report.symbolsAudited.join(", ")} ` +
    `cut at ${report.cutDates.join(", ")}; file columns accused only beyond the last ${report.controlReturns} ` +
    `returns known at t`,
  ].join("\n");
}

/** Runs `candor audit` with the arguments after the sub-command; returns the exit status (see the module doc). */
export async function auditCommand(args: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      options: {
        data: { type: "string" },
        horizon: { type: "string" },
        symbols: { type: "string" },
        columns: { type: "string" },
        json: { type: "boolean", default: false },
        help: { type: "boolean", short: "h", default: false },
      },
      allowPositionals: false,
      strict: true,
    });
  } catch (e) {
    console.error(`candor audit: ${(e as Error).message}\n\n${USAGE}`);
    return 2;
  }
  const v = parsed.values;
  if (v.help) {
    console.log(USAGE);
    return 0;
  }
  if (v.data === undefined || v.data === "") {
    console.error(`candor audit: --data PATH is required\n\n${USAGE}`);
    return 2;
  }
  const horizon = positiveInt(v.horizon, "horizon", 1);
  const symbols = positiveInt(v.symbols, "symbols", 3);
  for (const x of [horizon, symbols]) {
    if (typeof x === "string") {
      console.error(`candor audit: ${x}\n\n${USAGE}`);
      return 2;
    }
  }
  let report: AuditReport;
  try {
    const panel = await loadPanel(v.data, { columns: columnsOption(v.columns) });
    for (const w of panel.warnings) console.error(`warning: ${w}`);
    report = auditFeatures(panel, {
      features: FULL_FEATURES,
      columns: panel.extraColumns,
      horizon: horizon as number,
      symbols: symbols as number,
    });
  } catch (e) {
    if (e instanceof ConfigError) {
      console.error(`candor audit: ${e.message}\n\n${USAGE}`);
      return 2;
    }
    if (e instanceof CandorError) {
      console.error(`candor audit: ${e.message}`);
      return 1;
    }
    throw e;
  }
  if (v.json) {
    console.log(JSON.stringify(auditJson(report)));
  } else {
    console.log(formatAuditTable(report));
  }
  return report.leaking.length > 0 ? 3 : 0;
}
