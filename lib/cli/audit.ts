/**
 * `candor audit --data PATH [--horizon H] [--symbols N] [--json]`: the leakage audit from the command line.
 *
 * Loads price files (a file or a folder), audits every built-in feature (FULL_FEATURES: truncation test on the N
 * symbols with the longest history, default 3, plus target identity) and every extra numeric column found in the
 * files (treated as user-supplied features: target identity, implausible IC, lead/lag asymmetry), and prints a table
 * — or, with `--json`, `{"features": [{"name", "verdict", "reasons"}, ...]}` on stdout.
 *
 * Exit status: 0 no leak (suspects allowed), 3 at least one feature is a `leak`, 2 bad arguments, 1 unreadable or
 * invalid input (the loader's error names file, line and column).
 *
 * @module
 */

import { parseArgs } from "node:util";
import Table from "cli-table3";
import { loadPanel } from "../data/load.ts";
import { CandorError } from "../errors.ts";
import { FULL_FEATURES } from "../features/catalog.ts";
import { auditFeatures, type AuditReport } from "../leakage/audit.ts";

const USAGE = `Usage: candor audit --data PATH [--horizon H] [--symbols N] [--json]

  --data PATH     a CSV / CSV.gz / Parquet file or a folder of them
  --horizon H     target horizon in trading days (default 1)
  --symbols N     symbols the truncation test recomputes features on (default 3, longest history first)
  --json          print {"features": [{"name", "verdict", "reasons"}]} instead of a table

Exit status: 0 no leak, 3 a feature leaks, 2 bad arguments, 1 bad input.`;

function positiveInt(value: string | undefined, name: string, fallback: number): number | string {
  if (value === undefined) return fallback;
  if (!/^\d+$/.test(value.trim()) || Number(value) < 1) return `--${name} expects a positive integer, got "${value}"`;
  return Number(value);
}

/** Renders an audit report as a table (leaks first, then suspects, then the ok count). */
export function formatAuditTable(report: AuditReport): string {
  const order = { leak: 0, suspect: 1, ok: 2 } as const;
  const rows = [...report.features].sort((a, b) => order[a.verdict] - order[b.verdict] || (a.name < b.name ? -1 : 1));
  const table = new Table({
    head: ["feature", "source", "verdict", "reasons"],
    wordWrap: true,
    colWidths: [24, 12, 9, 80],
  });
  const ok = rows.filter((r) => r.verdict === "ok");
  for (const r of rows) {
    if (r.verdict === "ok" && r.source === "definition") continue;
    table.push([r.name, r.source, r.verdict, r.reasons.join("\n") || "-"]);
  }
  const builtinOk = ok.filter((r) => r.source === "definition").length;
  return [
    table.toString(),
    `${builtinOk} built-in feature(s) ok (not listed); ${report.leaking.length} leak(s), ${report.suspect.length} ` +
    `suspect(s); horizon ${report.horizon}; truncation test on ${report.symbolsAudited.join(", ")} ` +
    `cut at ${report.cutDates.join(", ")}`,
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
    const panel = await loadPanel(v.data);
    for (const w of panel.warnings) console.error(`warning: ${w}`);
    report = auditFeatures(panel, {
      features: FULL_FEATURES,
      columns: panel.extraColumns,
      horizon: horizon as number,
      symbols: symbols as number,
    });
  } catch (e) {
    if (e instanceof CandorError) {
      console.error(`candor audit: ${e.message}`);
      return 1;
    }
    throw e;
  }
  if (v.json) {
    const features = report.features.map((f) => ({ name: f.name, verdict: f.verdict, reasons: f.reasons }));
    console.log(JSON.stringify({ features }));
  } else {
    console.log(formatAuditTable(report));
  }
  return report.leaking.length > 0 ? 3 : 0;
}
