/**
 * The run store: open one with {@link openStore}, write through the {@link Store} contract.
 *
 * Location: the argument, else the `CANDOR_DB` environment variable, else `data/candor.db` (relative to the working
 * directory; the folder is created). A `postgres://` or `postgresql://` URL selects the Postgres backend
 * (lib/store/postgres.ts), which passes the same contract tests.
 *
 * @module
 */

import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import process from "node:process";
import { StoreError } from "../errors.ts";
import { SqliteStore } from "./sqlite.ts";
import { PostgresStore } from "./postgres.ts";
import type { Store } from "./store.ts";

export * from "./store.ts";
export * from "./production.ts";
export { SqliteStore, type SqliteStoreOptions } from "./sqlite.ts";
export { PostgresStore, type PostgresStoreOptions, redactUrl } from "./postgres.ts";
export { isRunId, newRunId } from "./run_id.ts";
export { isStudyId, newStudyId } from "./run_id.ts";
export { isModelId, newModelId } from "./run_id.ts";
export { checkStore, type CheckStoreOptions, type IntegrityReport } from "./integrity.ts";

/** Default location of the SQLite run store, relative to the working directory. */
export const DEFAULT_STORE_PATH = "data/candor.db";

/** True for a location that names a Postgres server rather than a SQLite file. */
export function isPostgresUrl(location: string): boolean {
  return /^postgres(ql)?:\/\//i.test(location);
}

/**
 * Where {@link openStore} will open the store: `location`, else `CANDOR_DB`, else {@link DEFAULT_STORE_PATH}.
 * Empty strings count as unset.
 */
export function resolveStoreLocation(location?: string): string {
  if (location !== undefined && location !== "") return location;
  const env = process.env.CANDOR_DB;
  if (env !== undefined && env !== "") return env;
  return DEFAULT_STORE_PATH;
}

/** Options of {@link openStore}; each applies to one backend and is ignored by the other unless said otherwise. */
export interface OpenStoreOptions {
  /** SQLite: milliseconds to wait for another connection's write lock (default 5000). */
  busyTimeoutMs?: number;
  /** Both: further attempts after a lock (SQLite) or a deadlock (Postgres) made a write fail (default 3). */
  lockRetries?: number;
  /** Both: a running record whose heartbeat is older than this (ms, ≥ 1000) reads as `stale` (default 60,000). */
  staleAfterMs?: number;
  /** Both: the clock of every stored time and of liveness, epoch ms (default `Date.now`; for tests and simulations). */
  clock?: () => number;
  /** SQLite: `quick` (default) checks the file when opened and before the first write; `off` does not. */
  integrityCheck?: "quick" | "off";
  /** Postgres: schema holding the tables (default `public`). */
  schema?: string;
  /** Postgres: largest number of pooled connections (default 4). */
  maxConnections?: number;
  /** Postgres: seconds to wait for a connection before reporting the server unreachable (default 10). */
  connectTimeoutSeconds?: number;
}

/**
 * Opens the run store at `location` (see {@link resolveStoreLocation}): a SQLite file (created and migrated at once;
 * its folder is created) or, for a `postgres://` URL, a Postgres database (connected and migrated on first use).
 * Close it with `await store.close()`.
 *
 * @throws StoreError when the SQLite file cannot be opened or its schema is newer than this code; StoreDamagedError
 *   when the open-time check finds it damaged (nothing is written into it). Postgres reports its problems (an
 *   unreachable server as StoreUnavailableError) from its first call.
 */
export function openStore(location?: string, options: OpenStoreOptions = {}): Store {
  const where = resolveStoreLocation(location);
  if (isPostgresUrl(where)) {
    return new PostgresStore(where, {
      schema: options.schema,
      maxConnections: options.maxConnections,
      connectTimeoutSeconds: options.connectTimeoutSeconds,
      lockRetries: options.lockRetries,
      staleAfterMs: options.staleAfterMs,
      clock: options.clock,
    });
  }
  if (where !== ":memory:" && !where.startsWith("file:")) {
    try {
      mkdirSync(dirname(where), { recursive: true });
    } catch (e) {
      throw new StoreError(`cannot create the folder of the run store ${where}: ${(e as Error).message}`, { cause: e });
    }
  }
  return new SqliteStore(where, {
    busyTimeoutMs: options.busyTimeoutMs,
    lockRetries: options.lockRetries,
    staleAfterMs: options.staleAfterMs,
    clock: options.clock,
    integrityCheck: options.integrityCheck,
  });
}
