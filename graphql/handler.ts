/**
 * The HTTP handler of `candor serve`: the GraphQL API (graphql-yoga over the Pothos schema, per-request dataloaders)
 * at /graphql with an offline GraphiQL, and the dashboard page at /, behind the defences of http.ts and guard.ts.
 *
 * Routes:
 * - `POST /graphql` with `Content-Type: application/json`: queries. Form-encoded, multipart and `text/plain` bodies
 *   are refused (415): a web page can send those cross-origin without a preflight (CSRF).
 * - `GET /graphql` asking for HTML: GraphiQL (inlined by `@graphql-yoga/render-graphiql`, works offline). Queries by
 *   GET are refused (405): a GET can be triggered by any page (`<img src>`), so only POST executes.
 * - `GET /`: the dashboard page; `GET /assets/…`: its bundled script (vega, vega-lite, vega-embed and lib/report's chart
 *   specs, built from npm packages at first use; nothing is loaded from another host) and stylesheet.
 *
 * Defaults, each with its option:
 * - `Host` must be a loopback name (`allowedHosts` adds names, e.g. the name a proxy forwards); else 403.
 * - No CORS: no `Access-Control-Allow-Origin` unless the request's `Origin` is in `allowedOrigins`; a POST whose
 *   `Origin` is neither the server's own host nor allow-listed is refused (403).
 * - With `token`, every API request needs `Authorization: Bearer <token>` (compared in constant time), else 401; the
 *   GraphiQL and dashboard pages load without it and ask for it.
 * - Limits (guard.ts): static cost ≤ 25,000 before execution, ≤ 250,000 values produced, 10 s per request; at most
 *   4 requests execute at once with 64 waiting (503 beyond); request bodies ≤ 100 KB (413); responses ≤ 16 MB; plus
 *   graphql-armor's depth ≤ 10, ≤ 15 aliases, ≤ 50 directives, ≤ 2000 tokens.
 * - Errors are masked (errors.ts): unexpected ones read "Unexpected error" and are logged with the request id, which
 *   every response carries in `x-request-id`.
 * - Responses are cached per query text while the store's change token is unchanged (http.ts); a response with errors
 *   is never cached.
 * - Queries run compiled by graphql-jit (documents with a single operation) and otherwise by graphql-js.
 * - **Subscriptions** (live progress of a running study or run, schema_progress.ts) are served over server-sent events:
 *   `POST /graphql` with `Accept: text/event-stream` and a subscription operation. They are costed like queries (per
 *   event), skip the response cache and the execution slots (they mostly wait), and are capped: at most
 *   `maxSubscriptions` (default 16) at once, 503 beyond; each lives at most `maxSubscriptionMs` (default one hour).
 *   Writes by other processes are noticed by polling the store's change token, or by Postgres LISTEN/NOTIFY.
 * - **Mutations** (tags, notes, renames, deletes, marking a stale study interrupted; schema_mutations.ts) exist only
 *   when a token is configured; otherwise the schema has no Mutation type. Their answers are never cached.
 *
 * @module
 */

import { timingSafeEqual } from "node:crypto";
import { createYoga, isAsyncIterable, type Plugin, type YogaServerInstance } from "graphql-yoga";
import { renderGraphiQL } from "@graphql-yoga/render-graphiql";
import { EnvelopArmorPlugin } from "@escape.tech/graphql-armor";
import { useGraphQlJit } from "@envelop/graphql-jit";
import {
  type DefinitionNode,
  type DocumentNode,
  type ExecutionResult,
  GraphQLError,
  Kind,
  OperationTypeNode,
  parse,
} from "graphql";
import type { Store } from "../lib/store/store.ts";
import { buildSchema, type GraphQLContext } from "./schema.ts";
import { createRunLoaders } from "./loaders.ts";
import { DEFAULT_LIMITS, operationCost, RequestGuard, type RequestLimits, tooComplexError } from "./guard.ts";
import { errorBody, type Logger, maskErrors, stderrJsonLogger, truncateEcho } from "./errors.ts";
import { ConcurrencyGate, finishHeaders, HostPolicy, readBodyLimited, ResponseCache } from "./http.ts";
import { PageAssets } from "./page/assets.ts";
import { ChangeFeed, type WatchOptions } from "./progress.ts";

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
  /** Serve the dashboard page at / (default true). */
  dashboard?: boolean;
  /** Log through yoga's logger too (default false: quiet in tests and CLIs). */
  logging?: boolean;
  /** Where request ids, masked errors and refusals are logged (default: JSON lines on stderr). */
  log?: Logger;
  /** Require `Authorization: Bearer <token>` on every API request (the pages themselves stay open). */
  token?: string;
  /** Host names accepted in `Host` besides loopback names (e.g. the public name behind a proxy). */
  allowedHosts?: readonly string[];
  /** Origins allowed to call the API from a browser on another origin (CORS), e.g. `https://grafana.example.com`. */
  allowedOrigins?: readonly string[];
  /** Cost, value-budget and time limits of one request (see guard.ts). */
  limits?: Partial<RequestLimits>;
  /** Largest response body, in bytes (default 16 MiB). */
  maxResponseBytes?: number;
  /** Largest request body, in bytes (default 100 KB). */
  maxBodyBytes?: number;
  /** Requests executing at once (default 4). */
  maxConcurrent?: number;
  /** Requests waiting for a slot (default 64); more are refused with 503. */
  maxQueued?: number;
  /** Bytes of responses kept for reuse while the store is unchanged (default 32 MiB; 0 turns the cache off). */
  cacheBytes?: number;
  /** Subscriptions open at once (default 16); more are refused with 503. */
  maxSubscriptions?: number;
  /** Longest life of one subscription, ms (default one hour); a client may subscribe again. */
  maxSubscriptionMs?: number;
  /** How often the store's change token is polled for subscriptions, ms (default 500). */
  pollMs?: number;
  /** How often a subscription re-reads without a write (liveness turns stale without one), ms (default 15 s). */
  refreshMs?: number;
}

/** What a request's execution reports back to the HTTP layer. */
interface RequestState {
  requestId: string;
  guard: RequestGuard;
  log: Logger;
  /** Set when the result carries errors (never cached). */
  hadErrors: boolean;
  /** Set for mutations (never cached). */
  mutation?: boolean;
  /** Set for subscription requests: the server's change feed and lifetime bound, handed to the context. */
  live?: WatchOptions;
}

/** The server context yoga passes to plugins and the context factory. */
type ServerContext = { state: RequestState };

function sameSecret(given: string, expected: string): boolean {
  const a = new TextEncoder().encode(given);
  const b = new TextEncoder().encode(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * Refuses operations whose static cost exceeds the limit, before execution (see guard.ts); a subscription is costed
 * like a query (its selection is what every event produces). Marks mutations so their answers are not cached.
 */
function costLimitPlugin(maxCost: number): Plugin {
  // Costs depend on the document and the variables only; documents are the parser cache's objects, so repeated
  // queries skip the walk.
  const known = new WeakMap<object, Map<string, number | undefined>>();
  const costOf = (args: Parameters<NonNullable<Plugin["onExecute"]>>[0]["args"]) => {
    const vars = JSON.stringify(args.variableValues ?? {});
    const key = `${args.operationName ?? ""}\n${vars}`;
    let byVars = known.get(args.document);
    if (byVars === undefined) known.set(args.document, byVars = new Map());
    let cost: number | undefined;
    if (byVars.has(key)) cost = byVars.get(key);
    else {
      cost = operationCost(args.schema, args.document, args.operationName, args.variableValues);
      if (byVars.size < 64) byVars.set(key, cost);
    }
    return cost;
  };
  return {
    onExecute({ args, setResultAndStopExecution }) {
      const op = (args.document as DocumentNode).definitions.find((d: DefinitionNode) =>
        d.kind === Kind.OPERATION_DEFINITION && (args.operationName == null || d.name?.value === args.operationName)
      );
      if (op?.kind === Kind.OPERATION_DEFINITION && op.operation === OperationTypeNode.MUTATION) {
        const state = (args.contextValue as Partial<ServerContext> | undefined)?.state;
        if (state !== undefined) state.mutation = true;
        if (args.schema.getMutationType() == null) {
          // Validation admits a mutation the schema has no root for; say why instead of failing in execution.
          setResultAndStopExecution({ errors: [noMutationsError()] });
          return;
        }
      }
      const cost = costOf(args);
      if (cost !== undefined && cost > maxCost) setResultAndStopExecution({ errors: [tooComplexError(cost, maxCost)] });
    },
    onSubscribe({ args, setResultAndStopExecution }) {
      const cost = costOf(args as Parameters<NonNullable<Plugin["onExecute"]>>[0]["args"]);
      if (cost !== undefined && cost > maxCost) setResultAndStopExecution({ errors: [tooComplexError(cost, maxCost)] });
    },
  };
}

/**
 * The credentials of an `Authorization: Bearer <token>` header ("" for any other header): the scheme name is matched
 * without regard to case (RFC 7235 §2.1), the token exactly.
 */
function bearerToken(header: string | null): string {
  const m = /^bearer +(.*)$/i.exec(header ?? "");
  return m === null ? "" : m[1];
}

/** The error a mutation gets from a server without a token (whose schema has no mutations). */
function noMutationsError(): GraphQLError {
  return new GraphQLError(
    "this server has no mutations: they are enabled only when it requires a bearer token (CANDOR_GRAPHQL_TOKEN)",
    { extensions: { code: "MUTATIONS_DISABLED" } },
  );
}

/** Masks unexpected errors, truncates echoed inputs and tags every error with the request id (see errors.ts). */
function errorMaskingPlugin(): Plugin<Record<string, unknown>, ServerContext> {
  return {
    onResultProcess({ result, setResult, serverContext }) {
      const state = serverContext.state;
      if (state === undefined || Array.isArray(result) || !("errors" in result) || !result.errors?.length) return;
      state.hadErrors = true;
      const r = result as ExecutionResult;
      setResult({ ...r, errors: maskErrors(r.errors as GraphQLError[], state.requestId, state.log) });
    },
    // Subscriptions: the result is a stream; each event's errors are masked as it is sent.
    onSubscribe({ args }) {
      const state = (args.contextValue as Partial<ServerContext> | undefined)?.state;
      if (state === undefined) return;
      const mask = (r: ExecutionResult, set: (r: ExecutionResult) => void) => {
        if (!r.errors?.length) return;
        set({ ...r, errors: maskErrors(r.errors as GraphQLError[], state.requestId, state.log) });
      };
      return {
        onSubscribeResult({ result, setResult }) {
          if (!isAsyncIterable(result)) {
            mask(result as ExecutionResult, setResult);
            return;
          }
          return { onNext: ({ result, setResult }) => mask(result, setResult) };
        },
      };
    },
  };
}

/** The handler: `await handler.fetch(request)`; `Deno.serve(handler.fetch)` serves it. */
export interface GraphQLHandler {
  /** Answers one request (never throws). */
  fetch(request: Request): Promise<Response>;
  /** Builds the dashboard's script now rather than on the first page request (the server calls it at start). */
  warmUp(): Promise<void>;
  /**
   * Ends every open subscription (each stream completes) and refuses new ones, so a server shutting down does not wait
   * for streams that could last an hour.
   */
  close(): void;
  /** The yoga instance behind /graphql (GraphiQL, parsing, validation, execution). */
  readonly yoga: YogaServerInstance<ServerContext, GraphQLContext>;
}

function newRequestId(): string {
  return crypto.randomUUID();
}

function jsonResponse(status: number, body: string, headers: Record<string, string> = {}): Response {
  return new Response(body, { status, headers: { "content-type": "application/json; charset=utf-8", ...headers } });
}

/**
 * Creates the handler over `store` (see the module documentation). Tests call `handler.fetch(request)` directly and
 * need no port. The caller owns the store and closes it.
 */
export function createGraphQLHandler(store: Store, options: GraphQLHandlerOptions = {}): GraphQLHandler {
  if (options.token !== undefined && options.token.length === 0) {
    throw new TypeError("the GraphQL token must not be empty");
  }
  const limits: RequestLimits = { ...DEFAULT_LIMITS, ...options.limits };
  const log = options.log ?? stderrJsonLogger;
  const policy = new HostPolicy(options.allowedHosts, options.allowedOrigins);
  const gate = new ConcurrencyGate(options.maxConcurrent ?? 4, options.maxQueued ?? 64);
  const maxResponseBytes = options.maxResponseBytes ?? 16 * 1024 * 1024;
  const maxBodyBytes = options.maxBodyBytes ?? 100_000;
  const cacheBytes = options.cacheBytes ?? 32 * 1024 * 1024;
  const cache = cacheBytes > 0 ? new ResponseCache(cacheBytes) : undefined;
  const graphiql = options.graphiql !== false;
  const page = options.dashboard === false ? undefined : new PageAssets();
  const feed = new ChangeFeed(store, options.pollMs ?? 500);
  const maxSubscriptions = options.maxSubscriptions ?? 16;
  const maxSubscriptionMs = options.maxSubscriptionMs ?? 60 * 60 * 1000;
  let openSubscriptions = 0;
  const closing = new AbortController();

  const yoga = createYoga<ServerContext, GraphQLContext>({
    schema: buildSchema({ mutations: options.token !== undefined }),
    graphqlEndpoint: GRAPHQL_PATH,
    landingPage: false,
    logging: options.logging ?? false,
    cors: false,
    batching: false,
    maskedErrors: false,
    context: ({ state }) => {
      const ctx: GraphQLContext = { store, loaders: createRunLoaders(store, state.guard), guard: state.guard };
      if (state.live !== undefined) {
        ctx.live = state.live;
        // Each event of a subscription reads afresh with its own budget and deadline.
        ctx.renew = () => {
          ctx.guard = new RequestGuard(limits);
          ctx.loaders = createRunLoaders(store, ctx.guard);
        };
      }
      return ctx;
    },
    graphiql: graphiql ? { title: "candor runs", defaultQuery: DEFAULT_GRAPHIQL_QUERY } : false,
    renderGraphiQL,
    plugins: [
      EnvelopArmorPlugin({
        maxDepth: { n: 10 },
        costLimit: { enabled: false }, // replaced by the list-aware cost below
        maxAliases: { n: 15 },
        maxDirectives: { n: 50 },
        maxTokens: { n: 2000 },
      }),
      costLimitPlugin(limits.maxCost),
      // Queries compiled to JavaScript (graphql-jit) run about twice as fast as graphql-js's interpreter here. The
      // plugin caches compiled queries per document without the operation name, so documents holding several
      // operations keep the interpreter. Subscriptions keep it too: graphql-jit 0.8 hands a subscription field's
      // resolver the request's variables in place of the field's arguments, so `studyProgress(id: "study_…")` written
      // inline (or with a variable not named `id`) saw no id.
      useGraphQlJit({}, {
        enableIf: (args) => {
          const ops = args.document.definitions.filter((d) => d.kind === Kind.OPERATION_DEFINITION);
          return ops.length === 1 && ops[0].operation !== OperationTypeNode.SUBSCRIPTION;
        },
        onError: (result) =>
          log({ level: "warn", message: "graphql-jit could not compile a query", errors: result.errors }),
      }),
      errorMaskingPlugin(),
    ],
  });

  /** True when `body` asks for a subscription operation (parsed only for requests that accept an event stream). */
  function isSubscription(body: string): boolean {
    try {
      const { query, operationName } = JSON.parse(body) as { query?: unknown; operationName?: unknown };
      if (typeof query !== "string") return false;
      const ops = parse(query, { maxTokens: 2000 }).definitions.filter((d) => d.kind === Kind.OPERATION_DEFINITION);
      const op = typeof operationName === "string" ? ops.find((d) => d.name?.value === operationName) : ops[0];
      return op?.operation === OperationTypeNode.SUBSCRIPTION;
    } catch {
      return false; // yoga reports the problem
    }
  }

  /**
   * A subscription over server-sent events: no execution slot (it mostly waits), no cache, no overall deadline (each
   * event has its own), counted against `maxSubscriptions` until its stream ends or the client goes away.
   */
  async function subscribe(request: Request, url: URL, requestId: string, body: string): Promise<Response> {
    if (closing.signal.aborted) {
      return jsonResponse(503, errorBody("the server is shutting down", "SHUTTING_DOWN", requestId));
    }
    if (openSubscriptions >= maxSubscriptions) {
      log({ level: "warn", requestId, message: `refused a subscription: ${maxSubscriptions} already open` });
      return jsonResponse(
        503,
        errorBody(
          `the server already serves ${maxSubscriptions} subscriptions; retry later`,
          "TOO_MANY_SUBSCRIPTIONS",
          requestId,
        ),
        { "retry-after": "5" },
      );
    }
    openSubscriptions++;
    let released = false;
    const release = () => {
      if (!released) {
        released = true;
        openSubscriptions--;
      }
    };
    try {
      const state: RequestState = {
        requestId,
        guard: new RequestGuard(limits),
        log,
        hadErrors: false,
        live: { feed, maxMs: maxSubscriptionMs, refreshMs: options.refreshMs, signal: closing.signal },
      };
      const forward = new Request(url, { method: "POST", headers: request.headers, body });
      const res = await yoga.fetch(forward, { state });
      if (res.body === null) {
        release();
        return res;
      }
      const reader = res.body.getReader();
      const stream = new ReadableStream<Uint8Array>({
        async pull(controller) {
          try {
            const { value, done } = await reader.read();
            if (done) {
              release();
              controller.close();
            } else controller.enqueue(value);
          } catch (e) {
            release();
            controller.error(e);
          }
        },
        async cancel(reason) {
          release();
          await reader.cancel(reason).catch(() => {});
        },
      });
      return new Response(stream, { status: res.status, headers: res.headers });
    } catch (e) {
      release();
      throw e;
    }
  }

  async function execute(request: Request, url: URL, requestId: string): Promise<Response> {
    const body = await readBodyLimited(request, maxBodyBytes);
    if (body === undefined) {
      return jsonResponse(413, errorBody(`request body above ${maxBodyBytes} bytes`, "BODY_TOO_LARGE", requestId));
    }
    if ((request.headers.get("accept") ?? "").includes("text/event-stream") && isSubscription(body)) {
      return await subscribe(request, url, requestId, body);
    }
    const guard = new RequestGuard(limits);
    const release = await gate.acquire(guard.deadline);
    if (release === undefined) {
      log({ level: "warn", requestId, message: "refused: the server is busy" });
      return jsonResponse(
        503,
        errorBody("the server is busy; retry shortly", "SERVER_BUSY", requestId),
        { "retry-after": "1" },
      );
    }
    // The slot is released when execution ends: at once for a cached answer or a failure, otherwise when yoga's work
    // settles — which may be after a timeout answer, so a runaway request keeps holding its slot until it stops.
    let handedOver = false;
    try {
      const accept = request.headers.get("accept") ?? "";
      const key = `${accept}\n${body}`;
      const token = cache === undefined ? undefined : await store.changeToken();
      if (token !== undefined) {
        const hit = cache!.get(key, token);
        if (hit !== undefined) {
          return new Response(hit.body, { status: hit.status, headers: { "content-type": hit.contentType } });
        }
      }
      const state: RequestState = { requestId, guard, log, hadErrors: false };
      const forward = new Request(url, { method: "POST", headers: request.headers, body });
      const work = Promise.resolve(yoga.fetch(forward, { state })).then(async (res) => ({
        res,
        text: await res.text(),
      }));
      handedOver = true;
      work.finally(release).catch(() => {});
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timedOut = new Promise<"timeout">((resolve) => {
        timer = setTimeout(() => resolve("timeout"), Math.max(0, guard.deadline - Date.now()));
      });
      const outcome = await Promise.race([work, timedOut]).finally(() => clearTimeout(timer));
      if (outcome === "timeout") {
        log({ level: "warn", requestId, message: `answered TIMEOUT after ${limits.timeoutMs} ms` });
        return jsonResponse(
          503,
          errorBody(`the request ran out of time (${limits.timeoutMs} ms)`, "TIMEOUT", requestId),
        );
      }
      const { res, text } = outcome;
      const bytes = text.length * 3 <= maxResponseBytes ? text.length : new TextEncoder().encode(text).byteLength;
      if (bytes > maxResponseBytes) {
        log({ level: "warn", requestId, message: `refused a ${bytes}-byte response (limit ${maxResponseBytes})` });
        return jsonResponse(
          200,
          errorBody(
            `the response would be ${bytes} bytes, above the limit of ${maxResponseBytes}; ask for fewer runs or ` +
              `fewer nested lists`,
            "RESPONSE_TOO_LARGE",
            requestId,
          ),
        );
      }
      const contentType = res.headers.get("content-type") ?? "application/json; charset=utf-8";
      if (token !== undefined && res.status === 200 && !state.hadErrors && state.mutation !== true) {
        cache!.set(key, { token, status: res.status, contentType, body: text });
      }
      return new Response(text, { status: res.status, headers: res.headers });
    } finally {
      if (!handedOver) release();
    }
  }

  async function route(request: Request, requestId: string): Promise<Response> {
    const url = new URL(request.url);
    if (!policy.hostAllowed(url.hostname)) {
      log({ level: "warn", requestId, message: `refused Host ${truncateEcho(JSON.stringify(url.host))}` });
      return jsonResponse(
        403,
        errorBody(
          truncateEcho(
            `Host "${url.host}" is not served: only loopback names are by default. Add the name with ` +
              `--allow-host (or CANDOR_ALLOWED_HOSTS) if a proxy forwards it`,
          ),
          "HOST_NOT_ALLOWED",
          requestId,
        ),
      );
    }
    const method = request.method;
    if (url.pathname !== GRAPHQL_PATH) {
      if (page !== undefined && (method === "GET" || method === "HEAD")) {
        const res = await page.serve(url.pathname);
        if (res !== undefined) return res;
      }
      return jsonResponse(
        404,
        errorBody(`nothing at ${truncateEcho(JSON.stringify(url.pathname))}`, "NOT_FOUND", requestId),
      );
    }
    const origin = request.headers.get("origin");
    if (method === "OPTIONS") {
      if (origin === null || !policy.corsAllowed(origin)) {
        return new Response(null, { status: 403 });
      }
      return new Response(null, {
        status: 204,
        headers: {
          "access-control-allow-methods": "POST",
          "access-control-allow-headers": "content-type, authorization",
          "access-control-max-age": "600",
        },
      });
    }
    const wantsPage = (method === "GET" || method === "HEAD") &&
      (request.headers.get("accept") ?? "").includes("text/html");
    if (wantsPage && graphiql) {
      // A copy without the connection's abort signal (Deno aborts it after each response and warns if listened to).
      const copy = new Request(url, { method, headers: request.headers });
      return await yoga.fetch(copy, { state: undefined as unknown as RequestState });
    }
    if (
      options.token !== undefined &&
      !sameSecret(bearerToken(request.headers.get("authorization")), options.token)
    ) {
      return jsonResponse(
        401,
        errorBody("missing or wrong bearer token", "UNAUTHENTICATED", requestId),
        { "www-authenticate": "Bearer" },
      );
    }
    if (method !== "POST") {
      return jsonResponse(
        405,
        errorBody(`use POST with Content-Type: application/json (got ${method})`, "METHOD_NOT_ALLOWED", requestId),
        { allow: "POST" },
      );
    }
    const type = (request.headers.get("content-type") ?? "").split(";")[0].trim().toLowerCase();
    if (type !== "application/json") {
      return jsonResponse(
        415,
        errorBody(
          `POST bodies must be JSON (Content-Type: application/json), got ${
            truncateEcho(JSON.stringify(type || "none"))
          }; form and text bodies are refused because any web page can send them`,
          "UNSUPPORTED_MEDIA_TYPE",
          requestId,
        ),
      );
    }
    if (!policy.originAllowed(origin, url)) {
      log({
        level: "warn",
        requestId,
        message: `refused cross-origin POST from ${truncateEcho(JSON.stringify(origin))}`,
      });
      return jsonResponse(
        403,
        errorBody(
          truncateEcho(`Origin "${origin}" may not call this API; allow it with --allow-origin (CORS)`),
          "ORIGIN_NOT_ALLOWED",
          requestId,
        ),
      );
    }
    return await execute(request, url, requestId);
  }

  return {
    yoga,
    warmUp: async () => {
      await page?.build();
    },
    close: () => closing.abort(),
    fetch: async (request: Request) => {
      const requestId = newRequestId();
      const origin = request.headers.get("origin");
      const cors = origin !== null && policy.corsAllowed(origin) ? origin : null;
      let res: Response;
      try {
        res = await route(request, requestId);
      } catch (e) {
        log({
          level: "error",
          requestId,
          message: "unexpected error while answering a request",
          cause: e instanceof Error ? `${e.name}: ${e.message}` : String(e),
          stack: e instanceof Error ? e.stack : undefined,
        });
        res = jsonResponse(
          500,
          errorBody(
            `Unexpected error; the server log has the cause under request id ${requestId}`,
            "INTERNAL_SERVER_ERROR",
            requestId,
          ),
        );
      }
      // Responses built elsewhere may have immutable headers: copy them when needed.
      try {
        finishHeaders(res.headers, requestId, cors);
      } catch {
        res = new Response(res.body, { status: res.status, statusText: res.statusText, headers: res.headers });
        finishHeaders(res.headers, requestId, cors);
      }
      return res;
    },
  };
}
