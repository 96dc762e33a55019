/**
 * The GraphQL HTTP handler: graphql-yoga over the Pothos schema, with per-request dataloaders, graphql-armor limits
 * and a GraphiQL page that works offline.
 *
 * - **Offline GraphiQL.** Yoga's default GraphiQL loads its scripts and styles from a CDN and renders a blank page
 *   without network; `@graphql-yoga/render-graphiql` inlines them (about 9 MB, served only to browsers asking for
 *   HTML at the endpoint).
 * - **Limits** (graphql-armor): depth ≤ 10, cost ≤ 5000, ≤ 15 aliases, ≤ 50 directives, ≤ 2000 tokens; field
 *   suggestions are hidden from error messages. Introspection is exempt, so GraphiQL's schema query works.
 * - Errors thrown on purpose are `GraphQLError`s with `extensions.code` (`NOT_FOUND`, `BAD_USER_INPUT`); anything
 *   else is masked as "Unexpected error." so store internals never reach a client.
 * - Read-only: the schema has queries only; runs are written by the pipeline through the Store API.
 * - Optional bearer token: with `token` set, every request except the GraphiQL page itself must carry
 *   `Authorization: Bearer <token>` (compared in constant time), else 401 with `extensions.code = "UNAUTHENTICATED"`.
 *   In GraphiQL, add the header in the Headers tab.
 *
 * @module
 */

import { timingSafeEqual } from "node:crypto";
import { createYoga, type Plugin, type YogaServerInstance } from "graphql-yoga";
import { renderGraphiQL } from "@graphql-yoga/render-graphiql";
import { EnvelopArmorPlugin } from "@escape.tech/graphql-armor";
import type { Store } from "../lib/store/store.ts";
import { buildSchema, type GraphQLContext } from "./schema.ts";
import { createRunLoaders } from "./loaders.ts";

/** The path the API is served on. */
export const GRAPHQL_PATH = "/graphql";

/** Example shown in GraphiQL's editor on first load. */
export const DEFAULT_GRAPHIQL_QUERY = `# Latest runs with their folds and backtest
{
  runs(limit: 5) {
    id
    status
    model
    createdAt
    folds {
      index
      test { start end }
      metrics { name value }
      baselines { name value }
    }
    backtest {
      lag
      costBps
      metrics { name value }
      buyAndHold { name value }
    }
  }
}
`;

/** Options of {@link createGraphQLHandler}. */
export interface GraphQLHandlerOptions {
  /** Serve GraphiQL to browsers at the endpoint (default true). */
  graphiql?: boolean;
  /** Log through yoga's logger (default false: quiet in tests and CLIs). */
  logging?: boolean;
  /** Require `Authorization: Bearer <token>` on every API request (the GraphiQL page itself stays open). */
  token?: string;
}

function sameSecret(given: string, expected: string): boolean {
  const a = new TextEncoder().encode(given);
  const b = new TextEncoder().encode(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Refuses requests without the bearer token, except the GraphiQL page (a browser GET asking for HTML). */
function bearerTokenPlugin(token: string): Plugin {
  if (token.length === 0) throw new TypeError("the GraphQL token must not be empty");
  return {
    onRequest({ request, endResponse, fetchAPI }) {
      const wantsPage = request.method === "GET" && (request.headers.get("accept") ?? "").includes("text/html");
      if (wantsPage) return;
      if (sameSecret(request.headers.get("authorization") ?? "", `Bearer ${token}`)) return;
      endResponse(
        new fetchAPI.Response(
          JSON.stringify({
            errors: [{ message: "missing or wrong bearer token", extensions: { code: "UNAUTHENTICATED" } }],
          }),
          { status: 401, headers: { "content-type": "application/json", "www-authenticate": "Bearer" } },
        ),
      );
    },
  };
}

/** A fetch-style handler: `await handler.fetch(new Request(...))`. */
export type GraphQLHandler = YogaServerInstance<Record<string, unknown>, GraphQLContext>;

/**
 * Creates the GraphQL handler over `store`. Use it with `Deno.serve(handler.fetch)` or call `handler.fetch(request)`
 * directly (tests need no port). The caller owns the store and closes it.
 */
export function createGraphQLHandler(store: Store, options: GraphQLHandlerOptions = {}): GraphQLHandler {
  return createYoga<Record<string, unknown>, GraphQLContext>({
    schema: buildSchema(),
    graphqlEndpoint: GRAPHQL_PATH,
    landingPage: false,
    logging: options.logging ?? false,
    context: () => ({ store, loaders: createRunLoaders(store) }),
    graphiql: options.graphiql === false ? false : { title: "candor runs", defaultQuery: DEFAULT_GRAPHIQL_QUERY },
    renderGraphiQL,
    plugins: [
      ...(options.token === undefined ? [] : [bearerTokenPlugin(options.token)]),
      EnvelopArmorPlugin({
        maxDepth: { n: 10 },
        costLimit: { maxCost: 5000 },
        maxAliases: { n: 15 },
        maxDirectives: { n: 50 },
        maxTokens: { n: 2000 },
      }),
    ],
  });
}
