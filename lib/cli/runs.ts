/**
 * The read-only commands over the run store: `candor runs` (the stored studies, newest first) and `candor show ID`
 * (a stored study printed exactly as `candor run` printed it). They never create a store: a `--db` path (or
 * `CANDOR_DB`, or the default data/candor.db) that does not exist is an error.
 *
 * @module
 */

import { existsSync } from "node:fs";
import { CandorError, ConfigError } from "../errors.ts";
import { isPostgresUrl, openStore, resolveStoreLocation } from "../store/mod.ts";
import type { Store } from "../store/store.ts";
import { readStudyReport } from "../pipeline/recorder.ts";
import type { StoredStudySummary } from "../pipeline/recorder.ts";
import { type CommandSpec, helpText, parseCommand, scalar, table, UsageError } from "./args.ts";
import { BASELINE_LABEL, fmt, formatStudy, pct, studyJson } from "./format.ts";

/** Opens an existing store (never creates one). */
export function openExistingStore(location: string | undefined, options: { staleAfterMs?: number } = {}): Store {
  const where = resolveStoreLocation(location);
  if (!isPostgresUrl(where) && where !== ":memory:" && !existsSync(where)) {
    throw new CandorError(
      `no run store at ${where}${location === undefined ? " (the default; CANDOR_DB is not set)" : ""}: run ` +
        `candor demo or candor run to create one, or pass --db PATH of an existing store`,
    );
  }
  return openStore(where, options);
}

/** `candor runs`. */
export const RUNS_SPEC: CommandSpec = {
  name: "runs",
  summary:
    "List the stored studies, newest first: id and name, data source, target and horizon, entries and pooled results.",
  usage: "runs [--limit N] [--status S] [--tag T] [--reap] [--stale-after SECONDS] [--json] [--db PATH]",
  details: "A running study whose process stopped sending heartbeats is shown as running (stale); --reap marks those " +
    "interrupted, so they can be resumed with candor run --resume ID.",
  options: [
    { name: "limit", type: "string", value: "N", description: "at most N studies (default 20)" },
    {
      name: "status",
      type: "string",
      value: "S",
      description: "only studies with this status: running, succeeded, failed or interrupted",
    },
    { name: "tag", type: "string", value: "T", description: "only studies with this tag" },
    { name: "reap", type: "boolean", description: "mark stale running studies (process gone) interrupted first" },
    {
      name: "stale-after",
      type: "string",
      value: "SECONDS",
      description: "a running study without a heartbeat for this long is stale (default 60)",
    },
    { name: "json", type: "boolean", description: "print the studies as JSON" },
    { name: "db", type: "string", value: "PATH", description: "run store (default $CANDOR_DB, else data/candor.db)" },
  ],
  examples: ["candor runs", "candor runs --json | jq '.[0].entries'"],
};

/** `candor show`. */
export const SHOW_SPEC: CommandSpec = {
  name: "show",
  summary: "Print a stored study (or the study of a run id) exactly as candor run printed it.",
  usage: "show ID [--json] [--db PATH]",
  options: [
    { name: "json", type: "boolean", description: "print the study as JSON (the shape of candor run --json)" },
    { name: "db", type: "string", value: "PATH", description: "run store (default $CANDOR_DB, else data/candor.db)" },
  ],
  positionals: true,
  examples: ["candor show study_01J…", "candor show run_01J… --json"],
};

/** Runs `candor runs`. */
export async function runsCommand(args: string[]): Promise<number> {
  const { values, help } = parseCommand(RUNS_SPEC, args);
  if (help) {
    console.log(helpText(RUNS_SPEC));
    return 0;
  }
  const limit = values.limit === undefined ? 20 : scalar(values.limit as string);
  if (typeof limit !== "number" || !Number.isInteger(limit) || limit < 1 || limit > 1000) {
    throw new UsageError(`--limit expects an integer from 1 to 1000, found ${JSON.stringify(values.limit)}`);
  }
  const status = values.status as string | undefined;
  if (status !== undefined && !["running", "succeeded", "failed", "interrupted"].includes(status)) {
    throw new UsageError(
      `--status expects running, succeeded, failed or interrupted, found ${JSON.stringify(status)}`,
    );
  }
  const staleAfter = values["stale-after"] === undefined ? 60 : scalar(values["stale-after"] as string);
  if (typeof staleAfter !== "number" || !(staleAfter >= 1)) {
    throw new UsageError(
      `--stale-after expects a number of seconds ≥ 1, found ${JSON.stringify(values["stale-after"])}`,
    );
  }
  const store = openExistingStore(values.db as string | undefined, { staleAfterMs: Math.round(staleAfter * 1000) });
  try {
    if (values.reap) {
      const stale = (await store.listStudies({ limit: 1000, status: "running" })).filter((s) => s.liveness === "stale");
      for (const s of stale) {
        const since = s.heartbeatAt === null ? "never" : new Date(s.heartbeatAt).toISOString();
        await store.markInterrupted(s.id, {
          message: `the process running it is gone (last heartbeat ${since})`,
          stage: "unknown",
        }, { onlyIfStale: true });
        console.error(
          `candor: marked ${s.id} interrupted (last heartbeat ${since}); resume with candor run --resume ${s.id}`,
        );
      }
      if (stale.length === 0) console.error("candor: no stale running study to reap");
    }
    const studies = await store.listStudies({
      limit,
      ...(status === undefined ? {} : { status: status as "running" }),
      ...(values.tag === undefined ? {} : { tag: values.tag as string }),
    });
    const rows = studies.map((s) => {
      const summary = (s.summary ?? {}) as Partial<StoredStudySummary>;
      const config = s.config as { target?: { kind?: string; horizon?: number }; name?: string };
      return {
        id: s.id,
        createdAt: s.createdAt,
        status: s.status,
        liveness: s.liveness,
        tags: s.tags,
        name: s.name,
        dataSource: s.dataSource,
        target: config.target?.kind ?? "direction",
        horizon: config.target?.horizon ?? (s.config as { horizon?: number }).horizon ?? null,
        symbols: s.symbols.length,
        entries: s.entries.map((e) => {
          const c = summary.comparison?.find((x) => x.name === e.name);
          return {
            name: e.name,
            kind: e.kind,
            ...(c === undefined ? {} : {
              runId: c.runId,
              headline: c.headline,
              baseline: c.baseline,
              verdict: c.verdict,
              gate: c.gate,
              sharpe: c.sharpe,
            }),
          };
        }),
        error: s.error,
      };
    });
    if (values.json) {
      console.log(JSON.stringify(rows, null, 2));
      return 0;
    }
    if (rows.length === 0) {
      const filters = [
        ...(status === undefined ? [] : [`--status ${status}`]),
        ...(values.tag === undefined ? [] : [`--tag ${values.tag}`]),
      ];
      const any = filters.length > 0 && (await store.listStudies({ limit: 1 })).length > 0;
      console.log(
        any
          ? `no stored study matches ${filters.join(" ")} (candor runs without it lists the others)`
          : "no studies stored yet: try candor demo",
      );
      return 0;
    }
    const t = table(["id (name)", "created", "status", "data", "target", "symbols", "entries: pooled result"]);
    for (const r of rows) {
      const entries = r.entries.map((e) =>
        "headline" in e && e.headline !== undefined
          ? `${e.name} (${e.kind}): ${
            e.headline.metric === "ic"
              ? `IC ${fmt(e.headline.value)} [${fmt(e.headline.ci[0])}, ${fmt(e.headline.ci[1])}] vs 0`
              : `${pct(e.headline.value)} [${pct(e.headline.ci[0])}, ${pct(e.headline.ci[1])}]${
                e.baseline === undefined
                  ? ""
                  : ` vs ${BASELINE_LABEL[e.baseline.name] ?? e.baseline.name} ${pct(e.baseline.value)}`
              }`
          } ${e.verdict}`
          : `${e.name} (${e.kind})`
      ).join("\n");
      t.push([
        r.name ? `${r.id}\n${r.name}` : r.id,
        new Date(r.createdAt).toISOString().slice(0, 16).replace("T", " "),
        r.status === "running" && r.liveness === "stale"
          ? "running (stale: process gone?)"
          : (r.status === "failed" || r.status === "interrupted") && r.error
          ? `${r.status} (${r.error.stage ?? "?"}${r.error.entry ? `, ${r.error.entry}` : ""}${
            r.error.fold === undefined ? "" : ` fold ${r.error.fold + 1}`
          })`
          : r.status,
        r.dataSource,
        `${r.target}, h=${r.horizon}`,
        r.symbols,
        entries,
      ]);
    }
    console.log(t.toString());
    return 0;
  } finally {
    await store.close();
  }
}

/** Runs `candor show`. */
export async function showCommand(args: string[]): Promise<number> {
  const { values, positionals, help } = parseCommand(SHOW_SPEC, args);
  if (help) {
    console.log(helpText(SHOW_SPEC));
    return 0;
  }
  if (positionals.length !== 1) throw new UsageError("candor show needs one study or run id (candor runs lists them)");
  const store = openExistingStore(values.db as string | undefined);
  try {
    const report = await readStudyReport(store, positionals[0]);
    if (report === undefined) {
      throw new ConfigError(`no study or run ${JSON.stringify(positionals[0])} in the store (candor runs lists them)`);
    }
    console.log(values.json ? JSON.stringify(studyJson(report), null, 2) : formatStudy(report));
    return 0;
  } finally {
    await store.close();
  }
}
