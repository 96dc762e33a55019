/**
 * The run store: open one with {@link openStore}, write through the {@link Store} contract.
 *
 * Location: the argument, else the `CANDOR_DB` environment variable, else `data/candor.db` (relative to the working
 * directory; the folder is created). A `postgres://` or `postgresql://` URL selects the Postgres backend.
 *
 * @module
 */

import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import process from "node:process";
import { StoreError } from "../errors.ts";
import { SqliteStore, type SqliteStoreOptions } from "./sqlite.ts";
import type { Store } from "./store.ts";

export * from "./store.ts";
export { SqliteStore, type SqliteStoreOptions } from "./sqlite.ts";
export { isRunId, newRunId } from "./run_id.ts";

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

/**
 * Opens (creating and migrating if needed) the run store at `location` (see {@link resolveStoreLocation}).
 * Close it with `await store.close()`.
 *
 * @throws StoreError when the location cannot be opened, the schema is newer than this code, or a Postgres URL is
 *   given (the Postgres backend is not available in this version).
 */
export function openStore(location?: string, options: SqliteStoreOptions = {}): Store {
  const where = resolveStoreLocation(location);
  if (isPostgresUrl(where)) {
    throw new StoreError(
      `the Postgres run store is not available in this version of candor (asked for ${
        where.replace(/:[^:@/]*@/, ":***@")
      }); ` +
        `use a SQLite file path instead, e.g. CANDOR_DB=data/candor.db`,
    );
  }
  if (where !== ":memory:" && !where.startsWith("file:")) {
    try {
      mkdirSync(dirname(where), { recursive: true });
    } catch (e) {
      throw new StoreError(`cannot create the folder of the run store ${where}: ${(e as Error).message}`, { cause: e });
    }
  }
  return new SqliteStore(where, options);
}
