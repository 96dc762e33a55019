/**
 * `deno task serve`: the dashboard at http://127.0.0.1:4000/, the GraphQL API and GraphiQL at /graphql, over the run
 * store.
 *
 * ```
 * deno task serve [--port N] [--host H] [--db PATH] [--insecure] [--allow-host NAME]... [--allow-origin URL]...
 *                 [--cache-mb MB]
 * ```
 *
 * Port: `--port`, else `PORT`, else 4000 (0 picks a free port). Host: `--host`, else `HOST`, else 127.0.0.1 — bound
 * to loopback by default. Set `CANDOR_GRAPHQL_TOKEN` to require `Authorization: Bearer <token>` on every API request;
 * binding another interface without a token is refused (use a token, or a proxy that authenticates, and pass
 * `--insecure` to bind anyway). Store: `--db`, else `CANDOR_DB`, else data/candor.db.
 *
 * Browser defences (handler.ts): requests must name a loopback host, or the bound host, or one added with
 * `--allow-host` / `CANDOR_ALLOWED_HOSTS` (comma-separated; e.g. the name a reverse proxy forwards); no CORS unless an
 * origin is added with `--allow-origin` / `CANDOR_ALLOWED_ORIGINS`. Answers are cached while the store is unchanged,
 * up to `--cache-mb` / `CANDOR_GRAPHQL_CACHE_MB` megabytes (default 32; 0 turns the cache off).
 *
 * @module
 */

import { parseArgs } from "node:util";
import process from "node:process";
import { existsSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { isPostgresUrl, openStore, resolveStoreLocation } from "../lib/store/mod.ts";
import type { Store } from "../lib/store/store.ts";
import { ConfigError } from "../lib/errors.ts";
import { createGraphQLHandler, GRAPHQL_PATH } from "./handler.ts";
import { isLoopback } from "./http.ts";

export { isLoopback };

/** Default port of `deno task serve`. */
export const DEFAULT_PORT = 4000;
/** Default interface: loopback only. */
export const DEFAULT_HOST = "127.0.0.1";

/** Options of {@link startServer}. */
export interface ServerOptions {
  /** TCP port; 0 picks a free one. Default {@link DEFAULT_PORT}. */
  port?: number;
  /** Interface to bind. Default {@link DEFAULT_HOST}. */
  host?: string;
  /** An open store to serve (the caller closes it). Without it, `db` is opened and closed with the server. */
  store?: Store;
  /** Store location when `store` is not given (see openStore). */
  db?: string;
  /** Require this bearer token on API requests (see createGraphQLHandler). */
  token?: string;
  /** Allow a non-loopback host without a token (e.g. behind an authenticating proxy). */
  insecure?: boolean;
  /** Host names accepted in `Host` besides loopback names and the bound host. */
  allowedHosts?: readonly string[];
  /** Origins allowed to call the API cross-origin (CORS). */
  allowedOrigins?: readonly string[];
  /** Megabytes of answers cached while the store is unchanged (default 32; 0 turns the cache off). */
  cacheMb?: number;
  /** Called once listening, with the endpoint URL. */
  onListen?: (url: string) => void;
}

/** A running server. */
export interface RunningServer {
  /** The endpoint, e.g. `http://127.0.0.1:4000/graphql`. */
  url: string;
  /** Stops accepting requests, waits for in-flight ones, and closes the store if the server opened it. */
  shutdown(): Promise<void>;
}

/** Parses a TCP port (0–65535) from a flag or environment value. */
export function parsePort(value: string | undefined, source: string): number | undefined {
  if (value === undefined || value === "") return undefined;
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || n > 65535) {
    throw new ConfigError(`${source} must be a TCP port between 0 and 65535, got ${JSON.stringify(value)}`);
  }
  return n;
}

/**
 * Starts the GraphQL server.
 * @throws ConfigError when asked to bind a non-loopback host with neither a token nor `insecure`.
 */
export function startServer(options: ServerOptions = {}): Promise<RunningServer> {
  const hostname = options.host ?? DEFAULT_HOST;
  if (!isLoopback(hostname) && options.token === undefined && options.insecure !== true) {
    return Promise.reject(
      new ConfigError(
        `refusing to serve the run store on ${hostname} without authentication: set CANDOR_GRAPHQL_TOKEN, ` +
          `or pass --insecure if a proxy in front authenticates`,
      ),
    );
  }
  const ownsStore = options.store === undefined;
  const store = options.store ?? openStore(options.db);
  // A specific bound address is a name clients use; the wildcard addresses are not.
  const bound = ["0.0.0.0", "::", "[::]"].includes(hostname) ? [] : [hostname];
  const handler = createGraphQLHandler(store, {
    token: options.token,
    allowedHosts: [...bound, ...(options.allowedHosts ?? [])],
    allowedOrigins: options.allowedOrigins,
    ...(options.cacheMb === undefined ? {} : { cacheBytes: Math.round(options.cacheMb * 1024 * 1024) }),
  });
  // Build the dashboard's script in the background, so the first page view does not wait for it.
  handler.warmUp().catch((e) => console.error(`candor serve: the dashboard page is unavailable: ${e.message}`));
  return new Promise((resolve, reject) => {
    let server: Deno.HttpServer;
    try {
      server = Deno.serve({
        hostname,
        port: options.port ?? DEFAULT_PORT,
        onListen: ({ port }: Deno.NetAddr) => {
          const host = hostname.includes(":") ? `[${hostname}]` : hostname;
          const url = `http://${host}:${port}${GRAPHQL_PATH}`;
          options.onListen?.(url);
          resolve({
            url,
            shutdown: async () => {
              handler.close(); // open subscriptions end, or shutdown would wait for them
              await server.shutdown();
              if (ownsStore) await store.close();
            },
          });
        },
      }, (request) => handler.fetch(request));
    } catch (e) {
      if (ownsStore) store.close();
      reject(e);
    }
  });
}

/** What `deno task serve` binds and serves, resolved from its flags and environment (see the module documentation). */
export interface ServeOptions {
  port: number;
  host: string;
  /** Store location; undefined lets openStore apply `CANDOR_DB`, else data/candor.db. */
  db?: string;
  token?: string;
  insecure: boolean;
  /** From `--allow-host` (repeatable) and `CANDOR_ALLOWED_HOSTS` (comma-separated). */
  allowedHosts: string[];
  /** From `--allow-origin` (repeatable) and `CANDOR_ALLOWED_ORIGINS` (comma-separated). */
  allowedOrigins: string[];
  /** From `--cache-mb`, else `CANDOR_GRAPHQL_CACHE_MB`; undefined keeps the default (32). */
  cacheMb?: number;
  /** `--help` / `-h`: print the usage and exit. */
  help?: boolean;
}

/**
 * Resolves the `deno task serve` command line: flags first, then `PORT`, `HOST`, `CANDOR_GRAPHQL_TOKEN` from `env`,
 * then the defaults ({@link DEFAULT_HOST}:{@link DEFAULT_PORT}). Empty environment values count as unset. Allowed
 * hosts and origins are the union of the repeatable flags and the comma-separated environment lists.
 * @throws ConfigError for a port outside 0–65535; TypeError (from parseArgs) for an unknown flag.
 */
export function resolveServeOptions(args: readonly string[], env: Record<string, string | undefined>): ServeOptions {
  const csv = (x: string | undefined) => (x ?? "").split(",").map((s) => s.trim()).filter((s) => s !== "");
  const { values } = parseArgs({
    args: [...args],
    strict: true,
    options: {
      port: { type: "string" },
      host: { type: "string" },
      db: { type: "string" },
      insecure: { type: "boolean" },
      "allow-host": { type: "string", multiple: true },
      "allow-origin": { type: "string", multiple: true },
      "cache-mb": { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  const allowedHosts = [...(values["allow-host"] ?? []), ...csv(env.CANDOR_ALLOWED_HOSTS)];
  for (const h of allowedHosts) {
    // A Host header is a name and maybe a port: a URL here would never match one, so every request would be refused.
    if (!/^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(:\d{1,5})?$/.test(h)) {
      throw new ConfigError(
        `--allow-host (CANDOR_ALLOWED_HOSTS) expects a host name as clients send it, e.g. dash.example.com or ` +
          `dash.example.com:8443, got ${JSON.stringify(h)}${h.includes("://") ? ": drop the scheme" : ""}`,
      );
    }
  }
  return {
    port: parsePort(values.port, "--port") ?? parsePort(env.PORT, "PORT") ?? DEFAULT_PORT,
    host: values.host || env.HOST || DEFAULT_HOST,
    db: values.db,
    token: env.CANDOR_GRAPHQL_TOKEN || undefined,
    insecure: values.insecure ?? false,
    allowedHosts,
    allowedOrigins: [...(values["allow-origin"] ?? []), ...csv(env.CANDOR_ALLOWED_ORIGINS)],
    ...cacheOption(values["cache-mb"] ?? (env.CANDOR_GRAPHQL_CACHE_MB || undefined)),
    ...(values.help ? { help: true } : {}),
  };
}

function cacheOption(value: string | undefined): { cacheMb?: number } {
  if (value === undefined) return {};
  const mb = Number(value);
  if (!/^\d+(\.\d+)?$/.test(value.trim()) || !Number.isFinite(mb)) {
    throw new ConfigError(
      `--cache-mb (CANDOR_GRAPHQL_CACHE_MB) must be a number of megabytes ≥ 0, got ${JSON.stringify(value)}`,
    );
  }
  return { cacheMb: mb };
}

/** What `deno task serve --help` prints. */
export const SERVE_USAGE = `Usage: deno task serve [--port N] [--host H] [--db PATH] [--insecure] [--allow-host NAME]...
                       [--allow-origin URL]... [--cache-mb MB]

The dashboard at http://HOST:PORT/, the GraphQL API and GraphiQL at /graphql, over the run store.

Options:
  --port N            TCP port (else PORT, else ${DEFAULT_PORT}; 0 picks a free one)
  --host H            interface to bind (else HOST, else ${DEFAULT_HOST}); another interface needs CANDOR_GRAPHQL_TOKEN
  --db PATH           run store: SQLite path or postgres:// URL (else CANDOR_DB, else data/candor.db)
  --insecure          bind another interface without a token (a proxy in front authenticates)
  --allow-host NAME   a Host name requests may use besides loopback and the bound host (repeatable; also
                      CANDOR_ALLOWED_HOSTS, comma-separated)
  --allow-origin URL  an origin allowed to call the API from a browser (CORS; repeatable; also CANDOR_ALLOWED_ORIGINS)
  --cache-mb MB       answer cache while the store is unchanged (else CANDOR_GRAPHQL_CACHE_MB, else 32; 0: off)
  -h, --help          this text

Set CANDOR_GRAPHQL_TOKEN to require Authorization: Bearer <token> on every API request (and to enable mutations).
Exit status: 0 stopped by SIGINT/SIGTERM, 1 the store or the port is unavailable, 2 bad arguments.`;

/**
 * Opens the store the server will read, before it listens: a Postgres store that cannot be reached is refused at once
 * (not as a 500 on every query), and a SQLite path given with --db or CANDOR_DB whose folder does not exist is taken
 * for a typo rather than created. A SQLite file not there yet is created empty, and said so.
 */
async function openServedStore(db: string | undefined): Promise<Store> {
  const where = resolveStoreLocation(db);
  if (!isPostgresUrl(where) && where !== ":memory:" && !existsSync(where)) {
    const given = db !== undefined || (process.env.CANDOR_DB ?? "") !== "";
    const folder = dirname(resolve(where));
    if (given && !existsSync(folder)) {
      throw new ConfigError(
        `no run store at ${where}, and its folder ${folder} does not exist: check the path (--db or CANDOR_DB), ` +
          `or create the folder to start an empty store there`,
      );
    }
    console.error(
      `candor serve: no run store at ${where} yet: starting with an empty one (studies run with --db ${where} ` +
        `appear as they are written)`,
    );
  }
  const store = openStore(where);
  try {
    await store.listStudies({ limit: 1 });
    return store;
  } catch (e) {
    await store.close().catch(() => {});
    throw e;
  }
}

async function main(args: string[]): Promise<void> {
  const options = resolveServeOptions(args, process.env);
  if (options.help) {
    console.log(SERVE_USAGE);
    return;
  }
  const store = await openServedStore(options.db);
  let server: RunningServer;
  try {
    server = await startServer({
      ...options,
      store,
      onListen: (url) =>
        console.error(`candor dashboard on ${url.replace(/graphql$/, "")}, GraphQL API and GraphiQL on ${url}`),
    });
  } catch (e) {
    await store.close().catch(() => {});
    if (e instanceof Deno.errors.AddrInUse) {
      throw new Error(`port ${options.port} on ${options.host} is in use: pick another with --port (0: any free one)`);
    }
    throw e;
  }
  const stop = () => {
    server.shutdown().then(() => store.close()).finally(() => Deno.exit(0));
  };
  Deno.addSignalListener("SIGINT", stop);
  Deno.addSignalListener("SIGTERM", stop);
}

if (import.meta.main) {
  try {
    await main(Deno.args);
  } catch (e) {
    console.error(`candor serve: ${(e as Error).message}`);
    Deno.exit(e instanceof ConfigError || e instanceof TypeError ? 2 : 1);
  }
}
