/**
 * The server's defences, each shown refusing what it must refuse and letting through what it must let through:
 * list-aware cost before execution, the value budget, the deadline and the concurrency gate, the Host allow-list, CORS
 * and Origin checks, JSON-only POSTs, masked errors with request ids, truncated echoes, body and response caps, and
 * the response cache's invalidation by writes from another connection.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { openStore } from "../../lib/store/mod.ts";
import type { Store } from "../../lib/store/store.ts";
import { createGraphQLHandler, type GraphQLHandlerOptions } from "../../graphql/handler.ts";
import type { LogEntry } from "../../graphql/errors.ts";
import { LIST_SIZES } from "../../graphql/schema.ts";
import { sampleBacktest, sampleFold, sampleRun } from "../store/contract.ts";
import type { GraphQLResponse } from "../_helpers/graphql_client.ts";

/** A store on a temp file with `runs` runs, each with 2 folds and a backtest of `points` equity points. */
async function seededStore(runs = 3, points = 3): Promise<{ store: Store; path: string; dir: string; ids: string[] }> {
  const dir = await Deno.makeTempDir({ prefix: "candor-hardening-" });
  const path = join(dir, "runs.db");
  const store = openStore(path);
  const ids: string[] = [];
  const start = Date.UTC(2000, 0, 3);
  const dates = Array.from({ length: points }, (_, i) => new Date(start + i * 86_400_000).toISOString().slice(0, 10));
  for (let r = 0; r < runs; r++) {
    const id = await store.createRun(sampleRun());
    await store.appendFold(id, sampleFold(0));
    await store.appendFold(id, sampleFold(1));
    await store.putBacktest(
      id,
      sampleBacktest({
        equity: {
          dates,
          values: dates.map((_, i) => 1 + i / 1e4),
          buyAndHold: dates.map((_, i) => 1 + i / 2e4),
        },
      }),
    );
    await store.finishRun(id, { status: "succeeded", summary: { pooled: { accuracy: 0.5 } } });
    ids.push(id);
  }
  return { store, path, dir, ids };
}

/** Wraps a store so every method call is counted by name. */
function counting(store: Store): { store: Store; calls: Record<string, number> } {
  const calls: Record<string, number> = {};
  const proxy = new Proxy(store, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver);
      if (typeof value !== "function") return value;
      return (...args: unknown[]) => {
        calls[String(prop)] = (calls[String(prop)] ?? 0) + 1;
        return value.apply(target, args);
      };
    },
  });
  return { store: proxy, calls };
}

function post(
  body: string,
  headers: Record<string, string> = {},
  url = "http://localhost/graphql",
): Request {
  return new Request(url, { method: "POST", headers: { "content-type": "application/json", ...headers }, body });
}

const gql = (query: string, variables?: Record<string, unknown>, operationName?: string) =>
  JSON.stringify({ query, variables, operationName });

async function ask(
  handler: { fetch: (r: Request) => Promise<Response> },
  request: Request,
): Promise<
  { status: number; headers: Headers; body: GraphQLResponse & { errors?: { extensions?: Record<string, unknown> }[] } }
> {
  const res = await handler.fetch(request);
  return { status: res.status, headers: res.headers, body: await res.json() };
}

function quiet(): { log: (e: LogEntry) => void; entries: LogEntry[] } {
  const entries: LogEntry[] = [];
  return { log: (e) => entries.push(e), entries };
}

Deno.test("hardening: 15 aliases of runs(limit: 1000) { backtest { equity } } are refused before the store is read", async () => {
  const { store, dir } = await seededStore();
  const { store: spy, calls } = counting(store);
  try {
    const handler = createGraphQLHandler(spy, { log: quiet().log });
    const attack = `{ ${
      Array.from({ length: 15 }, (_, i) => `a${i}: runs(limit: 1000) { backtest { equity { date value buyAndHold } } }`)
        .join(" ")
    } }`;
    const { status, body } = await ask(handler, post(gql(attack)));
    assert.equal(status, 200);
    assert.equal(body.data, undefined);
    assert.equal(body.errors?.length, 1);
    assert.equal(body.errors![0].extensions?.code, "QUERY_TOO_COMPLEX");
    // Per alias: runs 1 + 1000 × (backtest 1 + 1 × (equity 1 + 2500 points × 3 fields)).
    const perAlias = 1 + 1000 * (1 + 1 * (1 + LIST_SIZES.equity * 3));
    assert.equal(LIST_SIZES.equity, 2500);
    assert.equal(body.errors![0].extensions?.cost, 15 * perAlias);
    assert.equal(body.errors![0].extensions?.maxCost, 25_000);
    assert.match(body.errors![0].message, /refused before execution: its cost is 112530015, above the limit of 25000/);
    assert.deepStrictEqual(Object.keys(calls).filter((k) => k !== "changeToken"), [], JSON.stringify(calls));
  } finally {
    await store.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("hardening: cost multiplies by limit/first and typical list lengths; the limit is inclusive", async () => {
  const { store, dir } = await seededStore();
  try {
    const cost = async (query: string, variables?: Record<string, unknown>, maxCost = 0) => {
      const handler = createGraphQLHandler(store, { limits: { maxCost }, log: quiet().log });
      const { body } = await ask(handler, post(gql(query, variables)));
      return body.errors?.[0]?.extensions?.cost;
    };
    // runs 1 + 10 × id 1
    assert.equal(await cost(`{ runs(limit: 10) { id } }`), 11);
    // runs 1 + 2 × (id 1 + folds (1 + 20 × (index 1 + metrics (1 + 10 × (name 1 + value 1)))))
    assert.equal(
      await cost(`{ runs(limit: 2) { id folds { index metrics { name value } } } }`),
      1 + 2 * (1 + 1 + 20 * (1 + 1 + 10 * 2)),
    );
    // runsConnection 2 + 5 × (totalCount 1 + edges 0 + 1 × (node 1 + 1 × (id 1)))
    assert.equal(await cost(`{ runsConnection(first: 5) { totalCount edges { node { id } } } }`), 2 + 5 * (1 + 0 + 2));
    // Variables count: limit from $n.
    assert.equal(await cost(`query ($n: Int) { runs(limit: $n) { id } }`, { n: 400 }), 401);
    // Epochs of one fold cost a third of all epochs.
    assert.equal(
      await cost(`{ runs(limit: 1) { epochs(fold: 0) { epoch } all: epochs { epoch } } }`),
      1 + 1 * ((1 + LIST_SIZES.epochsOfOneFold) + (1 + LIST_SIZES.epochs)),
    );
    // At the limit it runs; one above, it is refused.
    const atLimit = createGraphQLHandler(store, { limits: { maxCost: 11 }, log: quiet().log });
    const ok = await ask(atLimit, post(gql(`{ runs(limit: 10) { id } }`)));
    assert.equal(ok.body.errors, undefined);
    const over = await ask(atLimit, post(gql(`{ runs(limit: 11) { id } }`)));
    assert.equal(over.body.errors?.[0].extensions?.code, "QUERY_TOO_COMPLEX");
    // A cheap first operation cannot hide an expensive one chosen by operationName.
    const twoOps = `query Cheap { runs(limit: 1) { id } } query Dear { runs(limit: 500) { id } }`;
    const dear = await ask(atLimit, post(gql(twoOps, undefined, "Dear")));
    assert.equal(dear.body.errors?.[0].extensions?.code, "QUERY_TOO_COMPLEX");
    assert.equal(dear.body.errors?.[0].extensions?.cost, 501);
    const cheap = await ask(atLimit, post(gql(twoOps, undefined, "Cheap")));
    assert.equal(cheap.body.errors, undefined);
    // The same document with other variables is costed again (costs are cached per variables).
    const byVar = `query ($n: Int) { runs(limit: $n) { id } }`;
    assert.equal((await ask(atLimit, post(gql(byVar, { n: 3 })))).body.errors, undefined);
    assert.equal(
      (await ask(atLimit, post(gql(byVar, { n: 30 })))).body.errors?.[0].extensions?.code,
      "QUERY_TOO_COMPLEX",
    );
  } finally {
    await store.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("hardening: a stored list longer than its typical length is stopped by the value budget before it is decoded", async () => {
  const { store, dir, ids } = await seededStore(1, 5000);
  const { store: spy, calls } = counting(store);
  try {
    const query = `query ($id: ID!) { run(id: $id) { backtest { points equity { date value buyAndHold } } } }`;
    // Static cost admits it (2,500 points assumed); the stored curve has 5,000 × 3 = 15,000 values.
    const tight = createGraphQLHandler(spy, { limits: { maxValues: 10_000 }, log: quiet().log });
    const refused = await ask(tight, post(gql(query, { id: ids[0] })));
    assert.equal(refused.body.errors?.[0].extensions?.code, "RESPONSE_TOO_LARGE");
    assert.match(refused.body.errors![0].message, /exceed 10000 values \(reached at Backtest\.equity\)/);
    assert.equal(calls.listEquityCurves, undefined, "the curve was not read");
    const roomy = createGraphQLHandler(spy, { limits: { maxValues: 15_000 }, log: quiet().log });
    const ok = await ask(roomy, post(gql(query, { id: ids[0] })));
    assert.equal(ok.body.errors, undefined);
    // deno-lint-ignore no-explicit-any
    assert.equal((ok.body.data as any).run.backtest.equity.length, 5000);
  } finally {
    await store.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("hardening: a request past its deadline is answered TIMEOUT and keeps its slot until it stops; others wait or are refused", async () => {
  const { store, dir } = await seededStore();
  let unblock!: () => void;
  const blocked = new Promise<void>((resolve) => (unblock = resolve));
  const slow = new Proxy(store, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver);
      if (prop === "listRuns") return async (...args: unknown[]) => (await blocked, value.apply(target, args));
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  const { log, entries } = quiet();
  try {
    const handler = createGraphQLHandler(slow, {
      limits: { timeoutMs: 200 },
      maxConcurrent: 1,
      maxQueued: 1,
      cacheBytes: 0,
      log,
    });
    const first = await ask(handler, post(gql(`{ runs { id } }`)));
    assert.equal(first.status, 503);
    assert.equal(first.body.errors?.[0].extensions?.code, "TIMEOUT");
    assert.equal(first.body.errors?.[0].extensions?.requestId, first.headers.get("x-request-id"));
    // The timed-out execution still holds the only slot: the next request waits, then is refused as busy.
    const second = await ask(handler, post(gql(`{ runsConnection { totalCount } }`)));
    assert.equal(second.status, 503);
    assert.equal(second.body.errors?.[0].extensions?.code, "SERVER_BUSY");
    // With the queue full, a third is refused at once.
    const queued = handler.fetch(post(gql(`{ runsConnection { totalCount } }`)));
    const third = await ask(handler, post(gql(`{ runsConnection { totalCount } }`)));
    assert.equal(third.body.errors?.[0].extensions?.code, "SERVER_BUSY");
    unblock();
    await (await queued).body?.cancel();
    const after = await ask(handler, post(gql(`{ runsConnection { totalCount } }`)));
    assert.equal(after.status, 200);
    assert.deepStrictEqual(after.body.data, { runsConnection: { totalCount: 3 } });
    assert.ok(entries.some((e) => e.level === "warn" && /TIMEOUT/.test(e.message)));
  } finally {
    unblock();
    await store.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("hardening: only loopback Host names are served by default; others are added by option", async () => {
  const { store, dir } = await seededStore();
  const { store: spy, calls } = counting(store);
  try {
    const handler = createGraphQLHandler(spy, { log: quiet().log });
    const q = gql(`{ runsConnection { totalCount } }`);
    for (const url of ["http://localhost/graphql", "http://127.0.0.1:4000/graphql", "http://[::1]:4000/graphql"]) {
      const res = await ask(handler, post(q, {}, url));
      assert.equal(res.status, 200, url);
    }
    // DNS rebinding: an attacker's name resolving to 127.0.0.1 still names itself in Host.
    for (
      const url of ["http://evil.example:4000/graphql", "http://192.168.1.10:4000/graphql", "http://evil.example/"]
    ) {
      const before = calls.queryRuns ?? 0;
      const res = await ask(handler, post(q, {}, url));
      assert.equal(res.status, 403, url);
      assert.equal(res.body.errors?.[0].extensions?.code, "HOST_NOT_ALLOWED");
      assert.match(res.body.errors![0].message, /--allow-host/);
      assert.equal(calls.queryRuns ?? 0, before, "nothing executed");
    }
    const proxied = createGraphQLHandler(spy, { allowedHosts: ["runs.example.com"], log: quiet().log });
    assert.equal((await ask(proxied, post(q, {}, "https://runs.example.com/graphql"))).status, 200);
    assert.equal((await ask(proxied, post(q, {}, "https://other.example.com/graphql"))).status, 403);
  } finally {
    await store.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("hardening: no CORS by default; cross-origin POSTs are refused unless the origin is allow-listed", async () => {
  const { store, dir } = await seededStore();
  try {
    const q = gql(`{ runsConnection { totalCount } }`);
    const closed = createGraphQLHandler(store, { log: quiet().log });
    const evil = await ask(closed, post(q, { origin: "http://evil.example" }));
    assert.equal(evil.status, 403);
    assert.equal(evil.body.errors?.[0].extensions?.code, "ORIGIN_NOT_ALLOWED");
    assert.equal(evil.headers.get("access-control-allow-origin"), null);
    const nullOrigin = await ask(closed, post(q, { origin: "null" }));
    assert.equal(nullOrigin.status, 403);
    // The page itself (same host and port) and clients without Origin (curl) are served, without CORS headers.
    const same = await ask(closed, post(q, { origin: "http://localhost" }));
    assert.equal(same.status, 200);
    assert.equal(same.headers.get("access-control-allow-origin"), null);
    const preflight = await closed.fetch(
      new Request("http://localhost/graphql", { method: "OPTIONS", headers: { origin: "http://evil.example" } }),
    );
    assert.equal(preflight.status, 403);
    assert.equal(preflight.headers.get("access-control-allow-origin"), null);

    const open = createGraphQLHandler(store, { allowedOrigins: ["https://grafana.example.com"], log: quiet().log });
    const pre = await open.fetch(
      new Request("http://localhost/graphql", {
        method: "OPTIONS",
        headers: { origin: "https://grafana.example.com", "access-control-request-method": "POST" },
      }),
    );
    assert.equal(pre.status, 204);
    assert.equal(pre.headers.get("access-control-allow-origin"), "https://grafana.example.com");
    assert.match(pre.headers.get("access-control-allow-headers") ?? "", /content-type/);
    const allowed = await ask(open, post(q, { origin: "https://grafana.example.com" }));
    assert.equal(allowed.status, 200);
    assert.equal(allowed.headers.get("access-control-allow-origin"), "https://grafana.example.com");
    assert.equal(allowed.headers.get("access-control-allow-credentials"), null);
    assert.equal((await ask(open, post(q, { origin: "https://grafana.example.com.evil.example" }))).status, 403);
  } finally {
    await store.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("hardening: form, text and multipart POSTs and GET queries execute nothing (CSRF)", async () => {
  const { store, dir } = await seededStore();
  const { store: spy, calls } = counting(store);
  try {
    const handler = createGraphQLHandler(spy, { log: quiet().log });
    const query = `{ runs { id } }`;
    const refused: [Request, number][] = [
      [
        new Request("http://localhost/graphql", {
          method: "POST",
          headers: { "content-type": "application/x-www-form-urlencoded" },
          body: `query=${encodeURIComponent(query)}`,
        }),
        415,
      ],
      [
        new Request("http://localhost/graphql", {
          method: "POST",
          headers: { "content-type": "text/plain" },
          body: JSON.stringify({ query }),
        }),
        415,
      ],
      [
        new Request("http://localhost/graphql", {
          method: "POST",
          body: (() => {
            const f = new FormData();
            f.set("query", query);
            return f;
          })(),
        }),
        415,
      ],
      [new Request(`http://localhost/graphql?query=${encodeURIComponent(query)}`), 405],
      [new Request(`http://localhost/graphql?query=${encodeURIComponent(query)}`, { method: "PUT", body: "{}" }), 405],
    ];
    for (const [request, status] of refused) {
      const res = await ask(handler, request);
      assert.equal(res.status, status, `${request.method} ${request.headers.get("content-type")}`);
    }
    assert.deepStrictEqual(calls, {}, "nothing reached the store");
    // A JSON POST with a charset parameter is fine.
    const ok = await ask(handler, post(gql(query), { "content-type": "application/json; charset=utf-8" }));
    assert.equal(ok.status, 200);
  } finally {
    await store.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("hardening: unexpected errors are masked for the client and logged with the request id and cause", async () => {
  const { store, dir } = await seededStore();
  const broken = new Proxy(store, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver);
      if (prop === "listFolds") {
        return () => Promise.reject(new Error("disk I/O error at /srv/secret/runs.db", { cause: new Error("EIO") }));
      }
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  const { log, entries } = quiet();
  try {
    const handler = createGraphQLHandler(broken, { log });
    const res = await ask(handler, post(gql(`{ runs(limit: 1) { id folds { index } } }`)));
    const requestId = res.headers.get("x-request-id");
    assert.match(requestId ?? "", /^[0-9a-f-]{36}$/);
    const [error] = res.body.errors!;
    assert.equal(error.extensions?.code, "INTERNAL_SERVER_ERROR");
    assert.equal(error.extensions?.requestId, requestId);
    assert.match(
      error.message,
      new RegExp(`^Unexpected error; the server log has the cause under request id ${requestId}$`),
    );
    assert.doesNotMatch(JSON.stringify(res.body), /secret|EIO|disk/);
    const logged = entries.find((e) => e.requestId === requestId && e.level === "error");
    assert.ok(logged, JSON.stringify(entries));
    assert.deepStrictEqual(logged.cause, ["Error: disk I/O error at /srv/secret/runs.db", "Error: EIO"]);
    assert.equal(logged.path, "runs.0.folds");
    // Errors raised on purpose keep their message and carry the request id too.
    const missing = await ask(handler, post(gql(`{ run(id: "run_nope") { id } }`)));
    assert.equal(missing.body.errors?.[0].extensions?.code, "NOT_FOUND");
    assert.equal(missing.body.errors?.[0].extensions?.requestId, missing.headers.get("x-request-id"));
  } finally {
    await store.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("hardening: inputs echoed in error messages are truncated", async () => {
  const { store, dir } = await seededStore();
  try {
    const handler = createGraphQLHandler(store, { log: quiet().log });
    const long = "x".repeat(5000);
    const notFound = await ask(handler, post(gql(`query ($id: ID!) { run(id: $id) { id } }`, { id: long })));
    const m1 = notFound.body.errors![0].message;
    assert.equal(notFound.body.errors![0].extensions?.code, "NOT_FOUND");
    assert.ok(m1.length < 300, `${m1.length} characters`);
    assert.match(m1, /"x{64}…" \(5000 chars\)/);
    const coercion = await ask(handler, post(gql(`query ($n: Int) { runs(limit: $n) { id } }`, { n: long })));
    const m2 = coercion.body.errors![0].message;
    assert.ok(m2.length < 300, m2);
    assert.doesNotMatch(m2, /x{65}/);
    const badCursor = await ask(
      handler,
      post(gql(`query ($a: String) { runsConnection(after: $a) { totalCount } }`, { a: long })),
    );
    assert.equal(badCursor.body.errors![0].extensions?.code, "BAD_USER_INPUT");
    assert.ok(badCursor.body.errors![0].message.length < 300);
    // A body that is not JSON: 400, and nothing of it comes back (the parser's message can quote it).
    const garbled = await handler.fetch(post(`{"query": ${"x".repeat(5000)}`));
    assert.equal(garbled.status, 400);
    assert.doesNotMatch(await garbled.text(), /xxxx/);
  } finally {
    await store.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("hardening: request bodies and responses are capped; every response carries the security headers", async () => {
  const { store, dir } = await seededStore(3, 200);
  try {
    const handler = createGraphQLHandler(store, { log: quiet().log, maxResponseBytes: 4000 });
    const huge = await ask(handler, post(gql(`{ runs { id } }`, { pad: "y".repeat(200_000) })));
    assert.equal(huge.status, 413);
    assert.equal(huge.body.errors?.[0].extensions?.code, "BODY_TOO_LARGE");
    const big = await ask(handler, post(gql(`{ runs(limit: 3) { backtest { equity { date value } } } }`)));
    assert.equal(big.body.errors?.[0].extensions?.code, "RESPONSE_TOO_LARGE");
    assert.match(big.body.errors![0].message, /above the limit of 4000/);
    const small = await ask(handler, post(gql(`{ runs { id } }`)));
    assert.equal(small.status, 200);
    for (const res of [huge, big, small]) {
      assert.equal(res.headers.get("x-content-type-options"), "nosniff");
      assert.equal(res.headers.get("x-frame-options"), "DENY");
      assert.equal(res.headers.get("referrer-policy"), "no-referrer");
      assert.match(res.headers.get("x-request-id") ?? "", /^[0-9a-f-]{36}$/);
    }
  } finally {
    await store.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("hardening: cached answers are reused only until another connection commits a write", async () => {
  const { store, path, dir } = await seededStore(2);
  const { store: spy, calls } = counting(store);
  const writer = openStore(path);
  try {
    const handler = createGraphQLHandler(spy, { log: quiet().log } satisfies GraphQLHandlerOptions);
    const q = gql(`{ runsConnection { totalCount edges { node { id folds { index } } } } }`);
    const first = await ask(handler, post(q));
    assert.equal((first.body.data as { runsConnection: { totalCount: number } }).runsConnection.totalCount, 2);
    const reads = calls.queryRuns;
    const second = await ask(handler, post(q));
    assert.deepStrictEqual(second.body, first.body);
    assert.equal(calls.queryRuns, reads, "served from the cache");
    assert.notEqual(second.headers.get("x-request-id"), first.headers.get("x-request-id"));
    // Another process (here: another connection) stores a run: the next answer sees it.
    const id = await writer.createRun(sampleRun());
    const third = await ask(handler, post(q));
    assert.equal((third.body.data as { runsConnection: { totalCount: number } }).runsConnection.totalCount, 3);
    assert.equal(calls.queryRuns, reads + 1);
    await writer.appendFold(id, sampleFold(0));
    const fourth = await ask(handler, post(q));
    // deno-lint-ignore no-explicit-any
    assert.deepStrictEqual((fourth.body.data as any).runsConnection.edges[0].node, { id, folds: [{ index: 0 }] });
    // A cached answer frees its execution slot: with one slot, repeated hits and a fresh query all get through.
    const single = createGraphQLHandler(spy, { maxConcurrent: 1, maxQueued: 0, log: quiet().log });
    for (let i = 0; i < 3; i++) assert.equal((await ask(single, post(q))).status, 200);
    assert.equal((await ask(single, post(gql(`{ runs { id } }`)))).status, 200);
    // Answers with errors are never cached.
    const bad = gql(`{ run(id: "run_nope") { id } }`);
    await ask(handler, post(bad));
    const loads = calls.getRuns;
    await ask(handler, post(bad));
    assert.equal(calls.getRuns, loads + 1);
  } finally {
    await writer.close();
    await store.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("hardening: graphql-armor's limits answer QUERY_TOO_COMPLEX and a bad variable BAD_USER_INPUT, like other refusals", async () => {
  const store = openStore(":memory:");
  try {
    const handler = createGraphQLHandler(store, { log: () => {} });
    const ask = async (query: string, variables: Record<string, unknown> = {}) => {
      const res = await handler.fetch(
        new Request("http://localhost/graphql", {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ query, variables }),
        }),
      );
      return (await res.json() as GraphQLResponse).errors ?? [];
    };
    const aliases = Array.from({ length: 16 }, (_, i) => `a${i}: runs { id }`).join(" ");
    const directives = "@include(if: true) ".repeat(51);
    // Depth 11: runs → study → runs → … (each level a field of the schema).
    const deep = "{ runs { " + "study { runs { ".repeat(5) + "id" + " } }".repeat(5) + " } }";
    for (
      const [query, limit] of [[`{ ${aliases} }`, /Aliases limit of 15/], [
        `{ runs ${directives} { id } }`,
        /Directives limit of 50/,
      ], [deep, /Query depth limit of 10/]] as const
    ) {
      const errors = await ask(query);
      assert.equal(errors.length, 1, JSON.stringify(errors));
      assert.match(errors[0].message, limit);
      assert.equal(errors[0].extensions?.code, "QUERY_TOO_COMPLEX", errors[0].message);
    }
    const missing = await ask(`query ($l: Int!) { runs(limit: $l) { id } }`);
    assert.match(missing[0].message, /^Variable "\$l" of required type "Int!" was not provided/);
    assert.equal(missing[0].extensions?.code, "BAD_USER_INPUT");
    const wrong = await ask(`query ($l: Int) { runs(limit: $l) { id } }`, { l: "x" });
    assert.equal(wrong[0].extensions?.code, "BAD_USER_INPUT");
  } finally {
    await store.close();
  }
});
