/**
 * `candor db`: maintenance of the run store.
 *
 * - `candor db check [--db PATH] [--full] [--json]` checks the store without changing it (lib/store/integrity.ts):
 *   SQLite `quick_check` by default, `integrity_check` plus foreign keys with `--full`; for Postgres, that the server
 *   answers, the schema version and the store's invariants. Exit status 0 when sound, 1 when damaged (the problems are
 *   printed) or when the store cannot be checked at all (no such file, the server unreachable).
 * - `candor db migrate [--db PATH]` brings the store to the schema version this candor writes (every other command
 *   does that on first use too) and says from which version.
 *
 * @module
 */

import { CandorError } from "../errors.ts";
import { existsSync } from "node:fs";
import { checkStore, type IntegrityReport, isPostgresUrl, openStore, resolveStoreLocation } from "../store/mod.ts";
import type { SqliteStore } from "../store/sqlite.ts";
import type { PostgresStore } from "../store/postgres.ts";
import { suggest } from "../pipeline/schema.ts";
import { type CommandSpec, helpText, parseCommand, UsageError } from "./args.ts";

/** The `candor db` sub-commands. */
const SUBCOMMANDS = ["check", "migrate"] as const;

/** `candor db`. */
export const DB_SPEC: CommandSpec = {
  name: "db",
  summary: "Check the run store for damage (exit 1 when damaged), or migrate it to the current schema.",
  usage: "db check [--db PATH] [--full] [--json]\n       candor db migrate [--db PATH]",
  details: "check reads the store without changing it: SQLite's quick_check by default (about 0.2–0.3 s per 100 MB " +
    "on 2 shared cores), integrity_check and the foreign keys with --full; for Postgres, that the server answers, " +
    "the schema version and the store's invariants (--full also finds JSON stored as strings). Exit status: 0 sound, " +
    "1 damaged or not checkable. migrate upgrades the store to the schema this candor writes, as any command would.",
  options: [
    { name: "db", type: "string", value: "PATH", description: "run store (default $CANDOR_DB, else data/candor.db)" },
    {
      name: "full",
      type: "boolean",
      description: "check: the full check (every index against its table, foreign keys)",
    },
    { name: "json", type: "boolean", description: "check: print the report as JSON" },
  ],
  positionals: true,
  examples: ["candor db check", "candor db check --db runs.db --full --json", "candor db migrate --db runs.db"],
};

/** The report of `candor db check` as text. */
export function formatIntegrityReport(r: IntegrityReport): string {
  const size = r.bytes === null ? "" : `, ${(r.bytes / 1e6).toFixed(1)} MB`;
  const version = r.schemaVersion === null
    ? "schema version unreadable"
    : `schema version ${r.schemaVersion}${
      r.schemaVersion === r.latestVersion ? " (current)" : ` (current: ${r.latestVersion})`
    }`;
  const lines = [
    `run store: ${r.location} (${r.backend}${size})`,
    version,
    `check: ${r.level}, ${Math.round(r.ms)} ms`,
  ];
  if (r.counts !== null) lines.push(`studies ${r.counts.studies}, runs ${r.counts.runs}`);
  if (r.ok) lines.push("ok: no damage found");
  else lines.push(`DAMAGED: ${r.problems.length} problem(s)`, ...r.problems.map((p) => `  - ${p}`));
  for (const n of r.notes) lines.push(`note: ${n}`);
  return lines.join("\n");
}

/** Runs `candor db …` (arguments after `db`); returns the exit status. */
export async function dbCommand(args: string[]): Promise<number> {
  const { values, positionals, help } = parseCommand(DB_SPEC, args);
  if (help) {
    console.log(helpText(DB_SPEC));
    return 0;
  }
  const [sub, ...extra] = positionals;
  if (sub === undefined) throw new UsageError("candor db needs a sub-command: check or migrate");
  if (!(SUBCOMMANDS as readonly string[]).includes(sub)) {
    const near = suggest(sub, SUBCOMMANDS);
    throw new UsageError(
      `unknown sub-command ${JSON.stringify(sub)} for candor db${near ? ` (did you mean ${near}?)` : ""}`,
    );
  }
  if (extra.length > 0) throw new UsageError(`candor db ${sub} takes no further arguments, found ${extra.join(" ")}`);
  const where = resolveStoreLocation(values.db as string | undefined);
  if (sub === "migrate") {
    if (values.full || values.json) throw new UsageError("--full and --json are options of candor db check");
    return await migrateCommand(where);
  }
  const report = await checkStore(where, { full: values.full === true });
  console.log(values.json ? JSON.stringify(report, null, 2) : formatIntegrityReport(report));
  if (!report.ok) console.error(`candor: the run store at ${report.location} is damaged`);
  return report.ok ? 0 : 1;
}

async function migrateCommand(where: string): Promise<number> {
  if (!isPostgresUrl(where) && (where === ":memory:" || !existsSync(where))) {
    throw new CandorError(
      `no SQLite run store at ${where}: nothing to migrate (candor run or candor demo creates one at the current schema)`,
    );
  }
  const before = await checkStore(where);
  if (!before.ok) {
    console.log(formatIntegrityReport(before));
    throw new CandorError(`the run store at ${before.location} is damaged; it was not migrated`);
  }
  const store = openStore(where);
  try {
    // Opening migrated a SQLite file; a Postgres store migrates on its first call, which this is.
    const after = await (store as SqliteStore | PostgresStore).schemaVersion();
    console.log(
      before.schemaVersion === after
        ? `the run store at ${before.location} is at schema version ${after} already`
        : `migrated the run store at ${before.location} from schema version ${before.schemaVersion} to ${after}`,
    );
    return 0;
  } finally {
    await store.close();
  }
}
