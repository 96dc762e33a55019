/**
 * `deno task serve`: the GraphQL API and GraphiQL over the run store, on http://127.0.0.1:4000/graphql by default.
 *
 * ```
 * deno task serve [--port N] [--host H] [--db PATH] [--insecure]
 * ```
 *
 * `/` redirects to the endpoint. Port: `--port`, else `PORT`, else 4000 (0 picks a free port). Host: `--host`, else `HOST`, else 127.0.0.1 — bound
 * to loopback by default. Set `CANDOR_GRAPHQL_TOKEN` to require `Authorization: Bearer <token>` on every API request;
 * binding another interface without a token is refused (use a token, or a proxy that authenticates, and pass
 * `--insecure` to bind anyway). Store: `--db`, else `CANDOR_DB`, else data/candor.db.
 *
 * @module
 */

import { parseArgs } from "node:util";
import process from "node:process";
import { openStore } from "../lib/store/mod.ts";
import type { Store } from "../lib/store/store.ts";
import { ConfigError } from "../lib/errors.ts";
import { createGraphQLHandler, GRAPHQL_PATH } from "./handler.ts";

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

/** True for hosts only this machine can reach. */
export function isLoopback(host: string): boolean {
  return host === "localhost" || host === "::1" || host === "[::1]" || /^127\.\d+\.\d+\.\d+$/.test(host);
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
  const handler = createGraphQLHandler(store, { token: options.token });
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
              await server.shutdown();
              if (ownsStore) await store.close();
            },
          });
        },
      }, (request) => {
        const url = new URL(request.url);
        if (url.pathname === "/") return Response.redirect(new URL(GRAPHQL_PATH, url), 302);
        // A copy without the connection's abort signal: Deno aborts that signal after every successful response
        // (legacy behaviour) and warns when a handler listens to it; this API is read-only, so there is nothing to
        // cancel when a client goes away.
        return handler.fetch(
          new Request(request.url, {
            method: request.method,
            headers: request.headers,
            body: request.body,
            duplex: "half",
          } as RequestInit),
        );
      });
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
}

/**
 * Resolves the `deno task serve` command line: flags first, then `PORT`, `HOST`, `CANDOR_GRAPHQL_TOKEN` from `env`,
 * then the defaults ({@link DEFAULT_HOST}:{@link DEFAULT_PORT}). Empty environment values count as unset.
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
    },
  });
  return {
    port: parsePort(values.port, "--port") ?? parsePort(env.PORT, "PORT") ?? DEFAULT_PORT,
    host: values.host || env.HOST || DEFAULT_HOST,
    db: values.db,
    token: env.CANDOR_GRAPHQL_TOKEN || undefined,
    insecure: values.insecure ?? false,
  };
}

async function main(args: string[]): Promise<void> {
  const options = resolveServeOptions(args, process.env);
  const server = await startServer({
    ...options,
    onListen: (url) => console.error(`candor GraphQL API and GraphiQL on ${url}`),
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
