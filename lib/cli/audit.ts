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
 * `--columns` name included, and a `--horizon` the data is too short to audit — see `assertAuditableHorizon` in
 * lib/leakage/audit.ts; the error names the longest series and the longest horizon it allows), 1 unreadable or
 * invalid input (the loader's error names file, line and column; a file with more extra columns than the loader's
 * limit says how many it found and how to choose them).
 *
 * @module
 */

import { type ExtraColumnSelection, loadPanel, MAX_EXTRA_COLUMNS } from "../data/load.ts";
import { FULL_FEATURES } from "../features/catalog.ts";
import { auditFeatures, type AuditReport, type FeatureStatistics, type Verdict } from "../leakage/audit.ts";
import { type CommandSpec, helpText, parseCommand, table, UsageError } from "./args.ts";

/** `candor audit`: options, help and usage (the shared command parser: an unknown option names the nearest one). */
export const AUDIT_SPEC: CommandSpec = {
  name: "audit",
  summary: "Audit built-in features and every extra file column for look-ahead (exit 3 on a leak).",
  usage: "audit --data PATH [--horizon H] [--symbols N] [--columns all|none|a,b] [--json]",
  details: "Exit status: 0 no leak, 3 a feature leaks, 2 bad arguments, 1 bad input.",
  options: [
    { name: "data", type: "string", value: "PATH", description: "a CSV / CSV.gz / Parquet file or a folder of them" },
    {
      name: "horizon",
      type: "string",
      value: "H",
      description: "target horizon in trading days (1; at most a third of the longest series)",
    },
    {
      name: "symbols",
      type: "string",
      value: "N",
      description: "symbols the truncation test recomputes features on (3, longest history first)",
    },
    {
      name: "columns",
      type: "string",
      value: "C",
      description: `extra columns of the files to audit: all (default, at most ${MAX_EXTRA_COLUMNS}), none, or a,b,c`,
    },
    {
      name: "json",
      type: "boolean",
      description: "print the report as JSON (horizon, cut dates, and per feature its source, verdict, reasons, " +
        "notes and the statistics behind the verdict) instead of a table",
    },
  ],
  examples: ["candor audit --data prices/", "candor audit --data prices/ --horizon 5 --columns none --json"],
};

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

function positiveInt(value: string | undefined, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (!/^\d+$/.test(value.trim()) || Number(value) < 1 || !Number.isSafeInteger(Number(value))) {
    throw new UsageError(`--${name} expects a positive integer, got "${value}"`);
  }
  return Number(value);
}

/**
 * Renders an audit report as a table (leaks first, then suspects, then file columns that are ok with their notes)
 * and a summary line with the built-in features found ok, the horizon and the cut dates.
 */
export function formatAuditTable(report: AuditReport): string {
  const order = { leak: 0, suspect: 1, ok: 2 } as const;
  const rows = [...report.features].sort((a, b) => order[a.verdict] - order[b.verdict] || (a.name < b.name ? -1 : 1));
  // args.ts's table: colour only on a terminal without NO_COLOR (cli-table3's default style colours the header always).
  const t = table(["feature", "source", "verdict", "reasons (notes for ok columns)"], {
    wordWrap: true,
    colWidths: [24, 10, 9, 80],
  });
  const ok = rows.filter((r) => r.verdict === "ok");
  for (const r of rows) {
    if (r.verdict === "ok" && r.source === "definition") continue;
    const why = r.verdict === "ok" ? r.notes.map((n) => `note: ${n}`) : r.reasons;
    t.push([r.name, r.source === "definition" ? "built-in" : "file", r.verdict, why.join("\n") || "-"]);
  }
  const builtinOk = ok.filter((r) => r.source === "definition").length;
  return [
    ...(t.length > 0 ? [t.toString()] : []), // nothing to list: the summary line says all were ok
    `${builtinOk} built-in feature(s) ok (not listed); ${report.leaking.length} leak(s), ${report.suspect.length} ` +
    `suspect(s); horizon ${report.horizon}; truncation test on ${report.symbolsAudited.join(", ")} ` +
    `cut at ${report.cutDates.join(", ")}; file columns accused only beyond the last ${report.controlReturns} ` +
    `returns known at t`,
  ].join("\n");
}

/** Runs `candor audit` with the arguments after the sub-command; returns the exit status (see the module doc). */
export async function auditCommand(args: string[]): Promise<number> {
  const parsed = parseCommand(AUDIT_SPEC, args);
  if (parsed.help) {
    console.log(helpText(AUDIT_SPEC));
    return 0;
  }
  const v = parsed.values as { data?: string; horizon?: string; symbols?: string; columns?: string; json?: boolean };
  if (v.data === undefined || v.data === "") throw new UsageError("--data PATH is required");
  const horizon = positiveInt(v.horizon, "horizon", 1);
  const symbols = positiveInt(v.symbols, "symbols", 3);
  const data = v.data;
  // A ConfigError (an unknown --columns name, a horizon the data is too short for) exits 2 and any other
  // CandorError 1, through main's handler.
  const panel = await loadPanel(data, { columns: columnsOption(v.columns) });
  for (const w of panel.warnings) console.error(`warning: ${w}`);
  const report: AuditReport = auditFeatures(panel, {
    features: FULL_FEATURES,
    columns: panel.extraColumns,
    horizon,
    symbols,
  });
  if (v.json) {
    console.log(JSON.stringify(auditJson(report)));
  } else {
    console.log(formatAuditTable(report));
  }
  return report.leaking.length > 0 ? 3 : 0;
}
