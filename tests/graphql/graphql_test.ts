import assert from "node:assert/strict";
import { join } from "node:path";
import { getIntrospectionQuery } from "graphql";
import { createSchema, createYoga } from "graphql-yoga";
import { openStore } from "../../lib/store/mod.ts";
import type { Store } from "../../lib/store/store.ts";
import { createGraphQLHandler } from "../../graphql/handler.ts";
import { isLoopback, parsePort, resolveServeOptions, startServer } from "../../graphql/server.ts";
import { sampleBacktest, sampleFold, sampleRun } from "../store/contract.ts";
import { type GraphQLResponse, query } from "../_helpers/graphql_client.ts";
import { recordProduction } from "./_production_fixture.ts";
import { denoRun } from "../_helpers/candor_cli.ts";
import { ConfigError } from "../../lib/errors.ts";

/** A store on a temp file with: a succeeded run (2 folds, epochs, diagnostics, backtest) and a failed run. */
async function populatedStore(): Promise<{ store: Store; dir: string; ok: string; failed: string }> {
  const dir = await Deno.makeTempDir({ prefix: "candor-graphql-" });
  const store = openStore(join(dir, "runs.db"));
  const ok = await store.createRun(sampleRun({ symbols: ["AAA", "BBB", "CCC"], seed: 7 }));
  await store.appendFold(ok, sampleFold(0, { metrics: { accuracy: 0.53, ic: NaN }, baselines: { coinFlip: 0.5 } }));
  await store.appendFold(
    ok,
    sampleFold(1, {
      train: [{ start: "2015-01-02", end: "2019-06-28" }],
      test: [{ start: "2019-07-03", end: "2020-06-30" }],
      purge: 5,
      embargo: 2,
      nTrain: 20_000,
      nTest: 4_800,
      metrics: { accuracy: 0.548, ic: 0.042 },
      baselines: { coinFlip: 0.5, majorityClass: 0.512 },
    }),
  );
  await store.appendEpochs(ok, [
    { fold: 0, epoch: 0, trainLoss: 0.693, valLoss: 0.694, lr: 0.01, gradNorm: 1.5, clipRatio: 0 },
    { fold: 0, epoch: 1, trainLoss: NaN, valLoss: Infinity },
    { fold: 1, epoch: 0, trainLoss: 0.69 },
  ]);
  await store.appendDiagnostics(ok, [
    { fold: 0, kind: "nan-loss", severity: "error", message: "loss became NaN at epoch 1", data: { epoch: 1 } },
    { fold: null, kind: "sign-bias", severity: "warning", message: "71% of predictions are up" },
  ]);
  await store.putBacktest(
    ok,
    sampleBacktest({
      lag: 1,
      costBps: 5,
      metrics: { sharpe: 0.91, maxDrawdown: -0.18, calmar: NaN },
      buyAndHold: { sharpe: 0.62, maxDrawdown: -0.34 },
      equity: {
        dates: ["2020-01-02", "2020-01-03", "2020-01-06"],
        values: [1, 1.004, 0.998],
        buyAndHold: [1, 0.99, 1.01],
      },
    }),
  );
  await store.finishRun(ok, { status: "succeeded", summary: { pooled: { accuracy: 0.54 } } });

  const failed = await store.createRun(sampleRun({ model: "lstm", backend: "wasm" }));
  await store.appendFold(failed, sampleFold(0));
  await store.finishRun(failed, {
    status: "failed",
    error: { message: "loss is NaN", stage: "fold", fold: 1, name: "CandorError" },
  });
  return { store, dir, ok, failed };
}

const RUN_QUERY = `query ($id: ID!) {
  run(id: $id) {
    id status model symbols seed backend leakageOverride config summary createdAt finishedAt
    error { message stage fold name }
    folds {
      index purge embargo nTrain nTest
      train { start end } test { start end } validation { start end }
      metrics { name value } baselines { name value }
      accuracy: metric(name: "accuracy")
      fitReport
    }
    epochs { fold epoch trainLoss valLoss lr gradNorm clipRatio nonFinite }
    diagnostics { fold kind severity message data }
    backtest {
      lag costBps slippageBps annualization warnings
      metrics { name value } buyAndHold { name value }
      sharpe: metric(name: "sharpe")
      equity { date value buyAndHold }
    }
  }
}`;

Deno.test("graphql: run(id) answers from a real store with the values written through the Store API", async () => {
  const { store, dir, ok } = await populatedStore();
  try {
    const stored = (await store.getRun(ok))!;
    const res = await query(createGraphQLHandler(store), RUN_QUERY, { id: ok });
    assert.equal(res.errors, undefined, JSON.stringify(res.errors));
    // deno-lint-ignore no-explicit-any
    const run = res.data!.run as any;
    assert.equal(run.id, ok);
    assert.equal(run.status, "succeeded");
    assert.equal(run.model, "xgboost");
    assert.deepStrictEqual(run.symbols, ["AAA", "BBB", "CCC"]);
    assert.equal(run.seed, 7);
    assert.equal(run.backend, "xgboost-c");
    assert.equal(run.leakageOverride, false);
    assert.deepStrictEqual(run.config, sampleRun().config);
    assert.deepStrictEqual(run.summary, { pooled: { accuracy: 0.54 } });
    assert.equal(run.createdAt, new Date(stored.createdAt).toISOString());
    assert.match(run.finishedAt, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
    assert.equal(run.error, null);

    assert.equal(run.folds.length, 2);
    const [f0, f1] = run.folds;
    assert.deepStrictEqual(f0.metrics, [{ name: "accuracy", value: 0.53 }, { name: "ic", value: null }]);
    assert.deepStrictEqual(f0.baselines, [{ name: "coinFlip", value: 0.5 }]);
    assert.equal(f0.accuracy, 0.53);
    assert.deepStrictEqual(f1, {
      index: 1,
      purge: 5,
      embargo: 2,
      nTrain: 20_000,
      nTest: 4_800,
      train: [{ start: "2015-01-02", end: "2019-06-28" }],
      test: [{ start: "2019-07-03", end: "2020-06-30" }],
      validation: [{ start: "2020-11-01", end: "2020-12-31" }],
      metrics: [{ name: "accuracy", value: 0.548 }, { name: "ic", value: 0.042 }],
      baselines: [{ name: "coinFlip", value: 0.5 }, { name: "majorityClass", value: 0.512 }],
      accuracy: 0.548,
      fitReport: { bestIteration: 17, seconds: 0.25, notes: [] },
    });

    assert.deepStrictEqual(run.epochs, [
      { fold: 0, epoch: 0, trainLoss: 0.693, valLoss: 0.694, lr: 0.01, gradNorm: 1.5, clipRatio: 0, nonFinite: [] },
      {
        fold: 0,
        epoch: 1,
        trainLoss: null,
        valLoss: null,
        lr: null,
        gradNorm: null,
        clipRatio: null,
        nonFinite: ["trainLoss=NaN", "valLoss=Infinity"],
      },
      { fold: 1, epoch: 0, trainLoss: 0.69, valLoss: null, lr: null, gradNorm: null, clipRatio: null, nonFinite: [] },
    ]);
    assert.deepStrictEqual(run.diagnostics, [
      { fold: 0, kind: "nan-loss", severity: "error", message: "loss became NaN at epoch 1", data: { epoch: 1 } },
      { fold: null, kind: "sign-bias", severity: "warning", message: "71% of predictions are up", data: null },
    ]);
    assert.deepStrictEqual(run.backtest, {
      lag: 1,
      costBps: 5,
      slippageBps: 2,
      annualization: 252,
      warnings: ["short sample"],
      metrics: [{ name: "sharpe", value: 0.91 }, { name: "maxDrawdown", value: -0.18 }, {
        name: "calmar",
        value: null,
      }],
      buyAndHold: [{ name: "sharpe", value: 0.62 }, { name: "maxDrawdown", value: -0.34 }],
      sharpe: 0.91,
      equity: [
        { date: "2020-01-02", value: 1, buyAndHold: 1 },
        { date: "2020-01-03", value: 1.004, buyAndHold: 0.99 },
        { date: "2020-01-06", value: 0.998, buyAndHold: 1.01 },
      ],
    });
  } finally {
    await store.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("graphql: runs(limit, status), newest first; a failed run says where it failed and keeps its folds", async () => {
  const { store, dir, ok, failed } = await populatedStore();
  try {
    const handler = createGraphQLHandler(store);
    const all = await query(handler, `{ runs { id status } }`);
    assert.deepStrictEqual(all.data!.runs, [{ id: failed, status: "failed" }, { id: ok, status: "succeeded" }]);
    const limited = await query(handler, `{ runs(limit: 1) { id } }`);
    assert.deepStrictEqual(limited.data!.runs, [{ id: failed }]);
    const byStatus = await query(
      handler,
      `{ runs(status: failed) { id model backend error { message stage fold name } folds { index } backtest { lag } } }`,
    );
    assert.deepStrictEqual(byStatus.data!.runs, [{
      id: failed,
      model: "lstm",
      backend: "wasm",
      error: { message: "loss is NaN", stage: "fold", fold: 1, name: "CandorError" },
      folds: [{ index: 0 }],
      backtest: null,
    }]);
    const bad = await query(handler, `{ runs(limit: 0) { id } }`);
    assert.equal(bad.errors?.[0].extensions?.code, "BAD_USER_INPUT");
    const filtered = await query(
      handler,
      `query ($id: ID!) { run(id: $id) { epochs(fold: 1) { epoch } diagnostics(severity: warning) { kind } } }`,
      { id: ok },
    );
    assert.deepStrictEqual(filtered.data!.run, { epochs: [{ epoch: 0 }], diagnostics: [{ kind: "sign-bias" }] });
  } finally {
    await store.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("graphql: an unknown run id is a NOT_FOUND error, not a silent null", async () => {
  const { store, dir } = await populatedStore();
  try {
    const res = await query(createGraphQLHandler(store), `{ run(id: "run_nope") { id } }`);
    assert.deepStrictEqual(res.data, { run: null });
    assert.equal(res.errors?.length, 1);
    assert.equal(res.errors![0].extensions?.code, "NOT_FOUND");
    assert.match(res.errors![0].message, /no run with id "run_nope"/);
  } finally {
    await store.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("graphql: dataloaders read each kind of part once per request, whatever the number of runs", async () => {
  const { store, dir } = await populatedStore();
  for (let i = 0; i < 3; i++) {
    const id = await store.createRun(sampleRun());
    await store.appendFold(id, sampleFold(0));
  }
  const calls: Record<string, number> = {};
  const counting = new Proxy(store, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver);
      if (typeof value !== "function") return value;
      return (...args: unknown[]) => {
        calls[String(prop)] = (calls[String(prop)] ?? 0) + 1;
        return value.apply(target, args);
      };
    },
  });
  try {
    const res = await query(
      createGraphQLHandler(counting),
      `{ runs { id folds { index } epochs { epoch } diagnostics { kind } backtest { lag } } }`,
    );
    assert.equal(res.errors, undefined, JSON.stringify(res.errors));
    assert.equal((res.data!.runs as unknown[]).length, 5);
    assert.deepStrictEqual(calls, {
      changeToken: 1, // the response cache's validity check
      listRuns: 1,
      listFolds: 1,
      listEpochs: 1,
      listDiagnostics: 1,
      listBacktestSummaries: 1,
    });
    // The dashboard's lists: a page of runs with fold aggregates, a run metric and equity curves.
    for (const k of Object.keys(calls)) delete (calls as Record<string, number>)[k];
    const page = await query(
      createGraphQLHandler(counting),
      `{ runsConnection(first: 5) { totalCount edges { node {
          id foldAggregates { folds } foldMean: metric(source: foldMean, name: "accuracy")
          sharpe: metric(source: backtest, name: "sharpe") folds { index } backtest { equity { date } }
      } } } }`,
    );
    assert.equal(page.errors, undefined, JSON.stringify(page.errors));
    assert.deepStrictEqual(calls, {
      changeToken: 1,
      queryRuns: 1,
      foldAggregates: 1,
      listBacktestSummaries: 1,
      listFolds: 1,
      listEquityCurves: 1,
    });
    // Production lists: models with their study, run and prediction batches; sweeps with their run and trials; the
    // backtests added to runs. Three of each, one store call per kind.
    const more = [await recordProduction(counting), await recordProduction(counting), await recordProduction(counting)];
    for (const k of Object.keys(calls)) delete (calls as Record<string, number>)[k];
    const production = await query(
      createGraphQLHandler(counting),
      `{ models { nodes { id study { id } run { id } latestPredictions { asOf } predictions { rows { symbol } } } }
         sweeps { nodes { id run { id backtests { seq } } trials { cell } } } }`,
    );
    assert.equal(production.errors, undefined, JSON.stringify(production.errors));
    const data = production.data as { models: { nodes: unknown[] }; sweeps: { nodes: { trials: unknown[] }[] } };
    assert.equal(data.models.nodes.length, 9);
    assert.deepStrictEqual(data.sweeps.nodes.map((s) => s.trials.length), [4, 4, 4]);
    assert.equal(more.length, 3);
    assert.deepStrictEqual(calls, {
      changeToken: 1,
      listModels: 1,
      getStudies: 1,
      getRuns: 1,
      listProductionPredictions: 2, // one per distinct number of batches asked: latestPredictions 1, predictions 10
      listSweeps: 1,
      listTrials: 1,
      listRunBacktests: 1,
    });
    // By id, aliased: one batch read per kind as well.
    for (const k of Object.keys(calls)) delete (calls as Record<string, number>)[k];
    const byId = await query(
      createGraphQLHandler(counting),
      `query ($m1: ID!, $m2: ID!, $s1: ID!, $s2: ID!) {
        m1: model(id: $m1) { latestPredictions { asOf } } m2: model(id: $m2) { latestPredictions { asOf } }
        s1: sweep(id: $s1) { trials { cell } } s2: sweep(id: $s2) { trials { cell } } }`,
      { m1: more[0].models.gbm, m2: more[1].models.mlp, s1: more[0].sweepId, s2: more[2].sweepId },
    );
    assert.equal(byId.errors, undefined, JSON.stringify(byId.errors));
    assert.deepStrictEqual(calls, {
      changeToken: 1,
      getModels: 1,
      listProductionPredictions: 1,
      getSweeps: 1,
      listTrials: 1,
    });
  } finally {
    await store.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("graphql: armor limits refuse alias floods; introspection (GraphiQL's schema query) still works", async () => {
  const store = openStore(":memory:");
  try {
    const handler = createGraphQLHandler(store);
    const flood = `{ ${Array.from({ length: 20 }, (_, i) => `a${i}: runs { id }`).join(" ")} }`;
    const res = await query(handler, flood);
    assert.ok(res.errors !== undefined && res.errors.length > 0);
    assert.match(res.errors[0].message, /alias/i);
    const intro = await query(handler, getIntrospectionQuery());
    assert.equal(intro.errors, undefined, JSON.stringify(intro.errors));
    // deno-lint-ignore no-explicit-any
    const types = (intro.data!.__schema as any).types.map((t: { name: string }) => t.name);
    for (const t of ["Run", "Fold", "Backtest", "Metric", "DateWindow", "Epoch", "Diagnostic", "EquityPoint"]) {
      assert.ok(types.includes(t), `schema lacks ${t}`);
    }
  } finally {
    await store.close();
  }
});

/** URLs the page would load from the network: script/img/iframe src, link href, CSS @import and url(). */
function externalLoads(html: string): string[] {
  const found: string[] = [];
  const patterns = [
    /<script\b[^>]*\bsrc\s*=\s*["']?([^"'\s>]+)/gi,
    /<link\b[^>]*\bhref\s*=\s*["']?([^"'\s>]+)/gi,
    /<(?:img|iframe)\b[^>]*\bsrc\s*=\s*["']?([^"'\s>]+)/gi,
    /@import\s+(?:url\()?\s*["']?([^"')\s;]+)/gi,
    /url\(\s*["']?((?:https?:)?\/\/[^"')\s]+)/gi,
  ];
  for (const re of patterns) {
    for (const m of html.matchAll(re)) {
      if (/^(?:https?:)?\/\//i.test(m[1])) found.push(m[1]);
    }
  }
  // Script, style and font URLs in string literals (worker bundles fetched at start-up, dynamic imports).
  for (const m of html.matchAll(/["'`]((?:https?:)?\/\/[^"'`\s]+\.(?:m?js|css|woff2?|ttf))["'`]/gi)) found.push(m[1]);
  for (const m of html.matchAll(/\bimport\(\s*["'`]((?:https?:)?\/\/[^"'`]+)/gi)) found.push(m[1]);
  return [...new Set(found)];
}

Deno.test("graphql: the GraphiQL page is self-contained (loads nothing from another host)", async () => {
  const store = openStore(":memory:");
  try {
    const res = await createGraphQLHandler(store).fetch(
      new Request("http://localhost/graphql", { headers: { accept: "text/html" } }),
    );
    assert.equal(res.status, 200);
    assert.match(res.headers.get("content-type") ?? "", /text\/html/);
    const html = await res.text();
    assert.match(html, /<title>candor runs<\/title>/);
    assert.match(html, /renderYogaGraphiQL/);
    assert.deepStrictEqual(externalLoads(html), []);
    // The check itself must catch the CDN page yoga serves by default.
    const cdnPage = await createYoga({ schema: createSchema({ typeDefs: "type Query { a: Int }" }), logging: false })
      .fetch(new Request("http://localhost/graphql", { headers: { accept: "text/html" } }));
    const cdnLoads = externalLoads(await cdnPage.text());
    assert.ok(cdnLoads.some((u) => u.includes("yoga-graphiql.umd.js")), cdnLoads.join(", "));
    assert.ok(cdnLoads.some((u) => u.includes("graphiql.css")), cdnLoads.join(", "));
    assert.ok(cdnLoads.some((u) => u.includes("editor.worker.bundle.js")), cdnLoads.join(", "));
    assert.deepStrictEqual(
      externalLoads('<link rel="stylesheet" href="https://unpkg.com/x.css"><script src="//cdn.x/y.js"></script>')
        .sort(),
      ["//cdn.x/y.js", "https://unpkg.com/x.css"],
    );
  } finally {
    await store.close();
  }
});

Deno.test("graphql server: serves queries and GraphiQL over a real port on 127.0.0.1", async () => {
  const { store, dir, ok } = await populatedStore();
  const server = await startServer({ port: 0, store });
  try {
    assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+\/graphql$/);
    const res = await fetch(server.url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ query: `{ runs(status: succeeded) { id folds { index } backtest { lag costBps } } }` }),
    });
    assert.equal(res.status, 200);
    const body = await res.json() as GraphQLResponse;
    assert.deepStrictEqual(body.data, {
      runs: [{ id: ok, folds: [{ index: 0 }, { index: 1 }], backtest: { lag: 1, costBps: 5 } }],
    });
    // The dashboard page is served at / (its script is bundled on first use).
    const root = await fetch(server.url.replace(/graphql$/, ""));
    assert.equal(root.status, 200);
    assert.match(root.headers.get("content-type") ?? "", /text\/html/);
    assert.match(root.headers.get("content-security-policy") ?? "", /script-src 'self'/);
    assert.deepStrictEqual(externalLoads(await root.text()), []);
    const page = await fetch(server.url, { headers: { accept: "text/html" } });
    assert.equal(page.status, 200);
    assert.deepStrictEqual(externalLoads(await page.text()), []);
  } finally {
    await server.shutdown();
    await store.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("graphql server: `deno task serve` entry point honours PORT, HOST and CANDOR_DB", async () => {
  const { store, dir, ok } = await populatedStore();
  await store.close();
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL("../../graphql/server.ts", import.meta.url).pathname],
    env: { PORT: "0", HOST: "127.0.0.1", CANDOR_DB: join(dir, "runs.db") },
    stdout: "null",
    stderr: "piped",
  }).spawn();
  try {
    // The server announces its URL on stderr once listening.
    const reader = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
    let text = "";
    let url: string | undefined;
    while (url === undefined) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`server exited before listening: ${text}`);
      text += value;
      url = text.match(/(http:\/\/127\.0\.0\.1:\d+\/graphql)/)?.[1];
    }
    reader.releaseLock();
    const res = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ query: `query ($id: ID!) { run(id: $id) { id status } }`, variables: { id: ok } }),
    });
    assert.deepStrictEqual((await res.json() as GraphQLResponse).data, { run: { id: ok, status: "succeeded" } });
  } finally {
    child.kill("SIGTERM");
    await child.status;
    await child.stderr.cancel().catch(() => {});
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("graphql server: `deno task serve` defaults to 127.0.0.1:4000; flags beat PORT/HOST, which beat defaults", () => {
  // The defaults as the issue states them, not as the module's constants: loopback only, port 4000.
  assert.deepStrictEqual(resolveServeOptions([], {}), {
    port: 4000,
    host: "127.0.0.1",
    db: undefined,
    token: undefined,
    insecure: false,
    allowedHosts: [],
    allowedOrigins: [],
  });
  // Empty environment values count as unset.
  assert.deepStrictEqual(resolveServeOptions([], { PORT: "", HOST: "", CANDOR_GRAPHQL_TOKEN: "" }), {
    port: 4000,
    host: "127.0.0.1",
    db: undefined,
    token: undefined,
    insecure: false,
    allowedHosts: [],
    allowedOrigins: [],
  });
  const env = { PORT: "8080", HOST: "0.0.0.0", CANDOR_GRAPHQL_TOKEN: "t0k" };
  assert.deepStrictEqual(resolveServeOptions([], env), {
    port: 8080,
    host: "0.0.0.0",
    db: undefined,
    token: "t0k",
    insecure: false,
    allowedHosts: [],
    allowedOrigins: [],
  });
  assert.deepStrictEqual(
    resolveServeOptions(["--port", "0", "--host", "::1", "--db", "/tmp/x.db", "--insecure"], env),
    { port: 0, host: "::1", db: "/tmp/x.db", token: "t0k", insecure: true, allowedHosts: [], allowedOrigins: [] },
  );
  assert.deepStrictEqual(
    resolveServeOptions(["--allow-host", "runs.example.com", "--allow-origin", "https://grafana.example.com"], {
      CANDOR_ALLOWED_HOSTS: "a.example, b.example:8080",
      CANDOR_ALLOWED_ORIGINS: "https://c.example",
    }),
    {
      port: 4000,
      host: "127.0.0.1",
      db: undefined,
      token: undefined,
      insecure: false,
      allowedHosts: ["runs.example.com", "a.example", "b.example:8080"],
      allowedOrigins: ["https://grafana.example.com", "https://c.example"],
    },
  );
  assert.throws(() => resolveServeOptions([], { PORT: "http" }), /PORT must be a TCP port/);
  assert.throws(() => resolveServeOptions(["--bogus"], {}), TypeError);
  assert.equal(resolveServeOptions(["-h"], {}).help, true);
  assert.equal(resolveServeOptions(["--help"], {}).help, true);
  // Host names as clients send them; a URL would never match a Host header (every request refused).
  assert.deepStrictEqual(
    resolveServeOptions(["--allow-host", "[::1]:4000", "--allow-host", "dash.example.com:8443"], {}).allowedHosts,
    ["[::1]:4000", "dash.example.com:8443"],
  );
  for (
    const [args, env] of [[["--allow-host", "http://x.example"], {}], [[], { CANDOR_ALLOWED_HOSTS: "a.example/x" }]]
  ) {
    assert.throws(
      () => resolveServeOptions(args as string[], env as Record<string, string>),
      (e: unknown) =>
        e instanceof ConfigError && /--allow-host \(CANDOR_ALLOWED_HOSTS\) expects a host name/.test(e.message),
    );
  }
});

Deno.test("graphql server: --help; a --db whose folder is missing and an unreachable Postgres are refused before listening", async () => {
  const serve = (args: string[]) =>
    denoRun(new URL("../../graphql/server.ts", import.meta.url).pathname, args, { CANDOR_DB: "" });
  const help = await serve(["--help"]);
  assert.equal(help.code, 0, help.stderr);
  assert.match(help.stdout, /^Usage: deno task serve \[--port N\]/);
  const dir = await Deno.makeTempDir();
  try {
    const typo = await serve(["--port", "0", "--db", join(dir, "nope", "runs.db")]);
    assert.equal(typo.code, 2, typo.stderr);
    assert.match(typo.stderr, /no run store at .*nope\/runs\.db, and its folder .*nope does not exist/);
    await assert.rejects(Deno.stat(join(dir, "nope")), Deno.errors.NotFound);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  const down = await serve(["--port", "0", "--db", "postgres://candor:s3cret@127.0.0.1:1/none"]);
  assert.equal(down.code, 1, down.stderr);
  assert.match(down.stderr, /unavailable: connection refused/);
  assert.ok(!down.stderr.includes("s3cret"), "the password stays masked");
});

Deno.test("graphql server: ports are validated", () => {
  assert.equal(parsePort(undefined, "PORT"), undefined);
  assert.equal(parsePort("", "PORT"), undefined);
  assert.equal(parsePort("4000", "PORT"), 4000);
  assert.equal(parsePort("0", "PORT"), 0);
  assert.throws(() => parsePort("70000", "--port"), /--port must be a TCP port/);
  assert.throws(() => parsePort("4k", "PORT"), /PORT must be a TCP port/);
});

Deno.test("graphql: with a token, API requests need the bearer header; the GraphiQL page stays reachable", async () => {
  const store = openStore(":memory:");
  try {
    const handler = createGraphQLHandler(store, { token: "s3cret" });
    const ask = (headers: Record<string, string>) =>
      handler.fetch(
        new Request("http://localhost/graphql", {
          method: "POST",
          headers: { "content-type": "application/json", ...headers },
          body: JSON.stringify({ query: "{ runs { id } }" }),
        }),
      );
    const refused: Record<string, string>[] = [
      {},
      { authorization: "Bearer wrong!" },
      { authorization: "s3cret" },
      { authorization: "Basic s3cret" },
      { authorization: "Bearer S3CRET" }, // the token is exact; only the scheme's case is free
      { authorization: "Bearers3cret" },
    ];
    for (const headers of refused) {
      const res = await ask(headers);
      assert.equal(res.status, 401, JSON.stringify(headers));
      assert.equal(res.headers.get("www-authenticate"), "Bearer");
      const body = await res.json() as GraphQLResponse;
      assert.equal(body.errors?.[0].extensions?.code, "UNAUTHENTICATED");
    }
    const ok = await ask({ authorization: "Bearer s3cret" });
    assert.equal(ok.status, 200);
    assert.deepStrictEqual((await ok.json() as GraphQLResponse).data, { runs: [] });
    // The scheme name is case-insensitive (RFC 7235 §2.1).
    for (const scheme of ["bearer", "BEARER"]) {
      const res = await ask({ authorization: `${scheme} s3cret` });
      assert.equal(res.status, 200, scheme);
      await res.body?.cancel();
    }
    const page = await handler.fetch(new Request("http://localhost/graphql", { headers: { accept: "text/html" } }));
    assert.equal(page.status, 200);
    await page.body?.cancel();
    // A GET query is an API request too, even from a browser-like client without the header.
    const get = await handler.fetch(new Request("http://localhost/graphql?query=%7Bruns%7Bid%7D%7D"));
    assert.equal(get.status, 401);
    await get.body?.cancel();
  } finally {
    await store.close();
  }
});

Deno.test("graphql server: refuses to bind a non-loopback host without a token", async () => {
  const store = openStore(":memory:");
  try {
    await assert.rejects(() => startServer({ host: "0.0.0.0", port: 0, store }), /without authentication/);
    assert.ok(isLoopback("127.0.0.1") && isLoopback("localhost") && isLoopback("::1"));
    assert.ok(!isLoopback("0.0.0.0") && !isLoopback("192.168.1.10"));
  } finally {
    await store.close();
  }
});

Deno.test("graphql: a document with several operations answers the one named, whichever was asked first", async () => {
  const { store, dir, ok, failed } = await populatedStore();
  try {
    const handler = createGraphQLHandler(store, { cacheBytes: 0 });
    const doc = `query Failed { runs(status: failed) { id } } query Succeeded { runs(status: succeeded) { id } }`;
    const ask = async (operationName: string) => {
      const res = await handler.fetch(
        new Request("http://localhost/graphql", {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ query: doc, operationName }),
        }),
      );
      return ((await res.json()) as GraphQLResponse).data;
    };
    for (let i = 0; i < 2; i++) {
      assert.deepStrictEqual(await ask("Failed"), { runs: [{ id: failed }] });
      assert.deepStrictEqual(await ask("Succeeded"), { runs: [{ id: ok }] });
    }
    // A single-operation query runs compiled; its answer is the same as the interpreter's.
    const single = await query(handler, `{ runs { id status } }`);
    assert.deepStrictEqual(single.data, { runs: [{ id: failed, status: "failed" }, { id: ok, status: "succeeded" }] });
  } finally {
    await store.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("graphql: a negative fold is a bad argument, not an empty answer", async () => {
  const store = openStore(":memory:");
  try {
    const handler = createGraphQLHandler(store);
    const id = await store.createRun(sampleRun());
    for (const field of ["epochs(fold: -1) { epoch }", "predictions(fold: -1) { totalCount }"]) {
      const r = await query(handler, `query ($id: ID!) { run(id: $id) { ${field} } }`, { id });
      assert.equal(r.errors?.[0].extensions?.code, "BAD_USER_INPUT", JSON.stringify(r));
      assert.match(r.errors![0].message, /fold must be ≥ 0 \(folds are numbered from 0\), got -1/);
    }
  } finally {
    await store.close();
  }
});
