/**
 * `candor worker`: a scale-out worker process (lib/scaleout/worker.ts). It takes jobs from the queue a
 * `candor run --queue` coordinator fills, trains them with the code a local run uses, and writes the results to the
 * shared Postgres run store. Start as many as there are cores to spare, on as many machines as can reach Redis,
 * Postgres and the price files (at the same path).
 *
 * SIGINT or SIGTERM: stop taking jobs and finish the running ones, then exit 0; a second signal exits at once (the
 * abandoned jobs' locks expire and other workers take them).
 *
 * @module
 */

import { isAbsolute, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { isPostgresUrl, openStore, redactUrl } from "../store/mod.ts";
import { type CommandSpec, helpText, parseCommand, scalar, UsageError } from "./args.ts";
import { ConfigError } from "../errors.ts";

/** `candor worker`'s options. */
export const WORKER_SPEC: CommandSpec = {
  name: "worker",
  summary: "Take scale-out jobs from a Redis queue, train them, store the results in the shared Postgres store.",
  usage: "worker --queue redis://HOST:PORT[/DB] --db postgres://… [--concurrency N] [--name NAME]",
  details: "Every worker and the coordinator (candor run --queue) must name the same Redis and Postgres, and every\n" +
    "worker must read the study's price files at the path in its configuration (a shared filesystem).\n" +
    "SIGINT/SIGTERM: finish the running jobs, then exit; a second signal exits at once.",
  options: [
    {
      name: "queue",
      type: "string",
      value: "URL",
      description: "the job queue's Redis: redis://host:port[/db] (default $CANDOR_QUEUE)",
    },
    {
      name: "db",
      type: "string",
      value: "URL",
      description: "the shared run store: a postgres:// URL (default $CANDOR_DB)",
    },
    { name: "concurrency", type: "string", value: "N", description: "jobs run at once in this process (1)" },
    { name: "name", type: "string", value: "NAME", description: "this worker's name in logs (host:pid)" },
    {
      name: "lock-seconds",
      type: "string",
      value: "S",
      description: "job lock: a job whose worker stops for this long is retried elsewhere (120)",
    },
    {
      name: "cached-studies",
      type: "string",
      value: "N",
      description: "prepared studies (datasets, fold plans) kept in memory (1)",
    },
    {
      name: "import",
      type: "string",
      value: "MODULE",
      multiple: true,
      description: "import a module first, e.g. one calling registerTrainer for a custom kind (repeatable)",
    },
  ],
  examples: [
    "candor worker --queue redis://10.0.0.5:6379 --db postgres://candor@10.0.0.5/candor",
    "CANDOR_QUEUE=redis://127.0.0.1:6379 CANDOR_DB=postgres://candor@127.0.0.1/candor candor worker --concurrency 2",
  ],
};

function count(value: unknown, name: string, min: number, fallback: number): number {
  if (value === undefined) return fallback;
  const n = scalar(String(value));
  if (typeof n !== "number" || !Number.isFinite(n) || n < min) {
    throw new UsageError(`--${name} expects a number ≥ ${min}, found ${JSON.stringify(value)}`);
  }
  return n;
}

/** Runs `candor worker` until a signal stops it; returns the exit status. */
export async function workerCommand(args: string[]): Promise<number> {
  const { values, help } = parseCommand(WORKER_SPEC, args);
  if (help) {
    console.log(helpText(WORKER_SPEC));
    return 0;
  }
  const queue = (values.queue as string | undefined) ?? Deno.env.get("CANDOR_QUEUE") ?? "";
  if (queue === "") throw new UsageError("candor worker needs --queue redis://HOST:PORT (or CANDOR_QUEUE)");
  const db = (values.db as string | undefined) ?? Deno.env.get("CANDOR_DB") ?? "";
  if (!isPostgresUrl(db)) {
    throw new UsageError(
      `candor worker needs the shared run store as a postgres:// URL (--db or CANDOR_DB)${
        db === "" ? "" : `, found ${JSON.stringify(redactUrl(db))}`
      }: workers on several machines write to one store`,
    );
  }
  const concurrency = count(values.concurrency, "concurrency", 1, 1);
  if (!Number.isInteger(concurrency)) throw new UsageError(`--concurrency expects an integer ≥ 1`);
  const lockMs = Math.round(1000 * count(values["lock-seconds"], "lock-seconds", 1, 120));
  const cachedStudies = count(values["cached-studies"], "cached-studies", 1, 1);
  for (const m of (values.import as string[] | undefined) ?? []) {
    const url = /^[a-z][a-z0-9+.-]*:/i.test(m) && !isAbsolute(m) ? m : pathToFileURL(resolve(m)).href;
    try {
      await import(url);
    } catch (e) {
      // A missing file or a module that throws while loading: say which --import, not an uncaught stack trace.
      throw new ConfigError(`--import ${m}: cannot load the module: ${(e as Error)?.message ?? String(e)}`, {
        cause: e,
      });
    }
  }
  const { startWorker } = await import("../scaleout/worker.ts");
  const store = openStore(db);
  const worker = await startWorker({
    queue,
    store,
    concurrency,
    lockMs,
    cachedStudies,
    ...(typeof values.name === "string" ? { name: values.name } : {}),
  });
  let signals = 0;
  const stopped = Promise.withResolvers<void>();
  const onSignal = () => {
    signals++;
    if (signals === 1) {
      console.error(`${worker.name}: stopping: finishing the running jobs (signal again to stop at once)`);
      worker.close().then(() => stopped.resolve(), stopped.reject);
    } else {
      console.error(`${worker.name}: stopping at once; the running jobs will be retried by other workers`);
      Deno.exit(130);
    }
  };
  Deno.addSignalListener("SIGINT", onSignal);
  Deno.addSignalListener("SIGTERM", onSignal);
  try {
    await stopped.promise;
  } finally {
    Deno.removeSignalListener("SIGINT", onSignal);
    Deno.removeSignalListener("SIGTERM", onSignal);
    await store.close();
  }
  const c = worker.counts;
  console.error(
    `${worker.name}: stopped after ${c.written} fold(s) written, ${c.duplicate} already stored, ${c.skipped} ` +
      `skipped, ${c.failed} failed attempt(s)`,
  );
  return 0;
}
