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
import { openStore } from "../lib/store/mod.ts";
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
}

/**
 * Resolves the `deno task serve` command line: flags first, then `PORT`, `HOST`, `CANDOR_GRAPHQL_TOKEN` from `env`,
 * then the defaults ({@link DEFAULT_HOST}:{@link DEFAULT_PORT}). Empty environment values count as unset. Allowed
 * hosts and origins are the union of the repeatable flags and the comma-separated environment lists.
 * @throws ConfigError for a port outside 0–65535; TypeError (from parseArgs) for an unknown flag.
 */
export function resolveServeOptions(args: readonly string[], env: Record<string, string | undefined>): ServeOptions {
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
    },
  });
  const csv = (x: string | undefined) => (x ?? "").split(",").map((s) => s.trim()).filter((s) => s !== "");
  return {
    port: parsePort(values.port, "--port") ?? parsePort(env.PORT, "PORT") ?? DEFAULT_PORT,
    host: values.host || env.HOST || DEFAULT_HOST,
    db: values.db,
    token: env.CANDOR_GRAPHQL_TOKEN || undefined,
    insecure: values.insecure ?? false,
    allowedHosts: [...(values["allow-host"] ?? []), ...csv(env.CANDOR_ALLOWED_HOSTS)],
    allowedOrigins: [...(values["allow-origin"] ?? []), ...csv(env.CANDOR_ALLOWED_ORIGINS)],
    ...cacheOption(values["cache-mb"] ?? (env.CANDOR_GRAPHQL_CACHE_MB || undefined)),
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

async function main(args: string[]): Promise<void> {
  const options = resolveServeOptions(args, process.env);
  const server = await startServer({
    ...options,
    onListen: (url) =>
      console.error(`candor dashboard on ${url.replace(/graphql$/, "")}, GraphQL API and GraphiQL on ${url}`),
  });
  const stop = () => {
    server.shutdown().finally(() => Deno.exit(0));
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
