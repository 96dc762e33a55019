/**
 * Production records over GraphQL: models with their gate, trained window and prediction batches; backtests added to
 * runs; sweeps with their trials, deflation and PBO; the trial registry's count; cursors that stay right while models
 * are registered between pages; costs that refuse nested lists before execution. Expected values are written by hand
 * from the records the fixture stores (_production_fixture.ts).
 */

import assert from "node:assert/strict";
import { parse } from "graphql";
import { openStore } from "../../lib/store/mod.ts";
import type { Store } from "../../lib/store/store.ts";
import { createGraphQLHandler } from "../../graphql/handler.ts";
import { buildSchema } from "../../graphql/schema.ts";
import { DEFAULT_LIMITS, operationCost } from "../../graphql/guard.ts";
import { MODELS_PAGE_SIZE, MODELS_QUERY, SWEEPS_PAGE_SIZE, SWEEPS_QUERY } from "../../graphql/page/api.ts";
import { newModelId } from "../../lib/store/mod.ts";
import { query } from "../_helpers/graphql_client.ts";
import { KEY, recordProduction } from "./_production_fixture.ts";
import { sampleModel } from "../store/contract_production.ts";

/** A store whose clock moves one second per reading, so creation order is strict and known. */
function steppedStore(): Store {
  let now = Date.UTC(2021, 0, 4);
  return openStore(":memory:", { clock: () => (now += 1000) });
}

async function ok(
  handler: ReturnType<typeof createGraphQLHandler>,
  source: string,
  variables?: Record<string, unknown>,
) {
  const res = await query(handler, source, variables);
  assert.equal(res.errors, undefined, JSON.stringify(res.errors));
  return res.data!;
}

Deno.test("production: a model's typed fields, its study and run, and its prediction batches newest first", async () => {
  const store = steppedStore();
  try {
    const f = await recordProduction(store);
    const handler = createGraphQLHandler(store);
    const data = await ok(
      handler,
      `query ($id: ID!) { model(id: $id) {
        id name kind targetKind horizon trainedWindow { start end } lastPriceDate version dataFingerprint features
        skipGate gate { passed wfe threshold reason } study { id name } run { id status }
        latestPredictions { asOf dataFingerprint rowCount details rows {
          symbol date score confidence position weight warnings } }
        predictions(last: 5) { asOf rowCount }
        onlyB: latestPredictions { rows(symbols: ["BBB"]) { symbol position } }
      } }`,
      { id: f.models.gbm },
    );
    assert.deepStrictEqual(data.model, {
      id: f.models.gbm,
      name: "gbm",
      kind: "xgboost",
      targetKind: "direction",
      horizon: 1,
      trainedWindow: { start: "2015-01-05", end: "2020-12-30" },
      lastPriceDate: "2020-12-31",
      version: "0.3.0",
      dataFingerprint: "sha256:fixture",
      features: ["ret_1", "ret_5", "vol_21"],
      skipGate: false,
      gate: { passed: true, wfe: 0.8, threshold: 0.5, reason: "edge and WFE ≥ 0.5" },
      study: { id: f.studyId, name: "production fixture" },
      run: { id: f.runId, status: "succeeded" },
      latestPredictions: {
        asOf: "2021-01-05",
        dataFingerprint: "sha256:day2",
        rowCount: 3,
        details: { score: "P(up)", confidence: "probability of the called side" },
        rows: [
          { symbol: "AAA", date: "2021-01-05", score: 0.62, confidence: 0.62, position: 1, weight: 0.5, warnings: [] },
          {
            symbol: "BBB",
            date: "2021-01-05",
            score: 0.41,
            confidence: 0.59,
            position: -1,
            weight: -0.5,
            warnings: [],
          },
          {
            symbol: "CCC",
            date: "2021-01-05",
            score: null,
            confidence: null,
            position: null,
            weight: null,
            warnings: ["unseen symbol: CCC was not in the training data"],
          },
        ],
      },
      predictions: [{ asOf: "2021-01-05", rowCount: 3 }, { asOf: "2021-01-04", rowCount: 1 }],
      onlyB: { rows: [{ symbol: "BBB", position: -1 }] },
    });
    const mlp = await ok(
      handler,
      `query ($id: ID!) { model(id: $id) { name skipGate gate { passed wfe } study { id } latestPredictions { asOf }
        predictions { asOf } } }`,
      { id: f.models.mlp },
    );
    assert.deepStrictEqual(mlp.model, {
      name: "mlp",
      skipGate: true,
      gate: { passed: false, wfe: 0.3 },
      study: null,
      latestPredictions: null,
      predictions: [],
    });
    const last1 = await ok(handler, `query ($id: ID!) { model(id: $id) { predictions(last: 1) { asOf } } }`, {
      id: f.models.gbm,
    });
    assert.deepStrictEqual(last1.model, { predictions: [{ asOf: "2021-01-05" }] });

    const missing = await query(handler, `{ model(id: "model_nope") { id } }`);
    assert.equal(missing.errors?.[0].extensions?.code, "NOT_FOUND");
    const bad = await query(handler, `query ($id: ID!) { model(id: $id) { predictions(last: 0) { asOf } } }`, {
      id: f.models.gbm,
    });
    assert.equal(bad.errors?.[0].extensions?.code, "BAD_USER_INPUT");
  } finally {
    await store.close();
  }
});

Deno.test("production: models and sweeps page newest first; a model registered between pages neither repeats nor skips one", async () => {
  const store = steppedStore();
  try {
    const f = await recordProduction(store);
    const handler = createGraphQLHandler(store);
    const PAGE = `query ($first: Int, $after: String) {
      models(first: $first, after: $after) { pageInfo { hasNextPage endCursor } edges { cursor node { id } } }
    }`;
    type Page = {
      models: { pageInfo: { hasNextPage: boolean; endCursor: string | null }; edges: { node: { id: string } }[] };
    };
    const all = (await ok(handler, PAGE, {})) as Page;
    assert.deepStrictEqual(all.models.edges.map((e) => e.node.id), [f.models.mlp, f.models.gbm, f.models.gbm2020]);
    assert.equal(all.models.pageInfo.hasNextPage, false);

    const first = (await ok(handler, PAGE, { first: 1 })) as Page;
    assert.deepStrictEqual(first.models.edges.map((e) => e.node.id), [f.models.mlp]);
    assert.equal(first.models.pageInfo.hasNextPage, true);
    // Two models registered since: they sort before the cursor and shift every offset by two.
    const late = [await store.registerModel(sampleModel()), await store.registerModel(sampleModel())];
    const second = (await ok(handler, PAGE, { first: 1, after: first.models.pageInfo.endCursor })) as Page;
    assert.deepStrictEqual(second.models.edges.map((e) => e.node.id), [f.models.gbm]);
    assert.equal(second.models.pageInfo.hasNextPage, true);
    const third = (await ok(handler, PAGE, { first: 5, after: second.models.pageInfo.endCursor })) as Page;
    assert.deepStrictEqual(third.models.edges.map((e) => e.node.id), [f.models.gbm2020]);
    assert.equal(third.models.pageInfo.hasNextPage, false);
    // A fresh first page starts with them.
    const fresh = (await ok(handler, PAGE, { first: 2 })) as Page;
    assert.deepStrictEqual(fresh.models.edges.map((e) => e.node.id), [late[1], late[0]]);

    const sweeps = await ok(handler, `{ sweeps { pageInfo { hasNextPage } nodes { id } } }`);
    assert.deepStrictEqual(sweeps.sweeps, { pageInfo: { hasNextPage: false }, nodes: [{ id: f.sweepId }] });

    for (
      const [args, code] of [
        [`first: 0`, "BAD_USER_INPUT"],
        [`first: 101`, "BAD_USER_INPUT"],
        [`after: "bm9wZQ"`, "BAD_USER_INPUT"],
      ] as const
    ) {
      const res = await query(handler, `{ models(${args}) { nodes { id } } }`);
      assert.equal(res.errors?.[0].extensions?.code, code, args);
    }
    // A sweeps cursor is not a models cursor.
    const sweepCursor = (await ok(handler, `{ sweeps(first: 1) { pageInfo { endCursor } } }`)) as {
      sweeps: { pageInfo: { endCursor: string } };
    };
    const crossed = await query(handler, `query ($a: String) { models(after: $a) { nodes { id } } }`, {
      a: sweepCursor.sweeps.pageInfo.endCursor,
    });
    assert.equal(crossed.errors?.[0].extensions?.code, "BAD_USER_INPUT");
  } finally {
    await store.close();
  }
});

Deno.test("production: backtests added to a run, with their deflation, beside the run's own backtest", async () => {
  const store = steppedStore();
  try {
    const f = await recordProduction(store);
    const data = await ok(
      createGraphQLHandler(store),
      `query ($id: ID!) { run(id: $id) {
        backtest { lag }
        backtests { seq lag sizing portfolio sharpe deflatedSharpe buyAndHoldSharpe points
          deflation { trials runs runBacktests sweepTrials trialSharpeVariance }
          equity { date value buyAndHold } }
      } }`,
      { id: f.runId },
    );
    const run = data.run as { backtests: { sharpe: number }[] };
    assert.ok(Math.abs(run.backtests[0].sharpe - 0.2 * Math.sqrt(252)) < 1e-12);
    run.backtests[0].sharpe = 0; // checked above
    assert.deepStrictEqual(data.run, {
      backtest: { lag: 1 },
      backtests: [{
        seq: f.seqs[0],
        lag: 2,
        sizing: "kelly(0.25)",
        portfolio: "long-short",
        sharpe: 0,
        deflatedSharpe: 0.75,
        buyAndHoldSharpe: 0.5,
        points: 3,
        deflation: { trials: 2, runs: 1, runBacktests: 1, sweepTrials: 0, trialSharpeVariance: 0.005 },
        equity: [
          { date: "2021-01-04", value: 1, buyAndHold: 1 },
          { date: "2021-01-05", value: 1.01, buyAndHold: 1 },
          { date: "2021-01-06", value: 1.02, buyAndHold: 0.99 },
        ],
      }],
    });
  } finally {
    await store.close();
  }
});

Deno.test("production: a sweep's trials by cell or by deflated Sharpe (undefined last), its deflation and PBO", async () => {
  const store = steppedStore();
  try {
    const f = await recordProduction(store);
    const handler = createGraphQLHandler(store);
    const data = await ok(
      handler,
      `query ($id: ID!) { sweep(id: $id) {
        id run { id } dataFingerprint targetKind horizon cells trialsBefore dir grid
        deflation { trials runs runBacktests sweepTrials trialSharpeVariance }
        pbo { window { start end } cells pbo probabilityOfLoss groups reason }
        byCell: trials { cell symbol window { start end } costBps slippageBps lag sizing deflatedSharpe trials
          maxDrawdown buyAndHoldSharpe }
        best: trials(orderBy: "deflatedSharpe", limit: 3) { cell }
        worst: trials(orderBy: "deflatedSharpe", direction: asc) { cell }
        page: trials(limit: 2, offset: 1) { cell }
      } }`,
      { id: f.sweepId },
    );
    const s = data.sweep as Record<string, unknown>;
    assert.deepStrictEqual(s.deflation, {
      trials: 6,
      runs: 1,
      runBacktests: 1,
      sweepTrials: 4,
      trialSharpeVariance: 0.41 / 30,
    });
    assert.deepStrictEqual(s.pbo, [{
      window: { start: "2021-01-04", end: "2021-06-30" },
      cells: 4,
      pbo: 0.25,
      probabilityOfLoss: 0.125,
      groups: 4,
      reason: null,
    }]);
    const dsr = [0.9, null, 0.4, 0.95];
    assert.deepStrictEqual(
      s.byCell,
      [0, 1, 2, 3].map((cell) => ({
        cell,
        symbol: cell < 2 ? "portfolio" : "AAA",
        window: { start: "2021-01-04", end: "2021-06-30" },
        costBps: cell % 2 === 0 ? 0 : 10,
        slippageBps: 1,
        lag: 1,
        sizing: "sign()",
        deflatedSharpe: dsr[cell],
        trials: 6,
        maxDrawdown: -0.05 * (cell + 1),
        buyAndHoldSharpe: 0.5,
      })),
    );
    assert.deepStrictEqual(s.best, [{ cell: 3 }, { cell: 0 }, { cell: 2 }]);
    assert.deepStrictEqual(s.worst, [{ cell: 2 }, { cell: 0 }, { cell: 3 }, { cell: 1 }]);
    assert.deepStrictEqual(s.page, [{ cell: 1 }, { cell: 2 }]);
    assert.deepStrictEqual(
      { id: s.id, run: s.run, fp: s.dataFingerprint, kind: s.targetKind, h: s.horizon, cells: s.cells },
      { id: f.sweepId, run: { id: f.runId }, fp: "sha256:fixture", kind: "direction", h: 1, cells: 4 },
    );
    assert.equal(s.trialsBefore, 2);
    assert.deepStrictEqual(s.grid, { costBps: [0, 10], symbols: ["portfolio", "AAA"] });

    const missing = await query(handler, `{ sweep(id: "sweep_nope") { id } }`);
    assert.equal(missing.errors?.[0].extensions?.code, "NOT_FOUND");
    const misspelt = await query(
      handler,
      `query ($id: ID!) { sweep(id: $id) { trials(orderBy: "deflatedSharp") { cell } } }`,
      {
        id: f.sweepId,
      },
    );
    assert.equal(misspelt.errors?.[0].extensions?.code, "BAD_USER_INPUT");
    assert.match(
      misspelt.errors![0].message,
      /no trial of this sweep has a metric "deflatedSharp"; its metrics: .*deflatedSharpe/,
    );
    for (const args of [`orderBy: "sharpe') --"`, `limit: 0`, `limit: 1001`, `offset: -1`]) {
      const bad = await query(handler, `query ($id: ID!) { sweep(id: $id) { trials(${args}) { cell } } }`, {
        id: f.sweepId,
      });
      assert.equal(bad.errors?.[0].extensions?.code, "BAD_USER_INPUT", args);
    }
  } finally {
    await store.close();
  }
});

Deno.test("production: trialCount is the registry's N and trial Sharpe variance on one data and target", async () => {
  const store = steppedStore();
  try {
    const f = await recordProduction(store);
    const handler = createGraphQLHandler(store);
    const Q = `query ($fp: String!, $target: String!, $h: Int!) {
      trialCount(dataFingerprint: $fp, target: $target, horizon: $h) {
        runs runBacktests sweepTrials retired total sharpesDefined trialSharpeVariance } }`;
    const data = await ok(handler, Q, { fp: KEY.dataFingerprint, target: KEY.targetKind, h: KEY.horizon });
    const c = data.trialCount as Record<string, number>;
    assert.ok(Math.abs(c.trialSharpeVariance - 0.41 / 30) < 1e-12, String(c.trialSharpeVariance));
    assert.deepStrictEqual({ ...c, trialSharpeVariance: 0 }, {
      runs: 1,
      runBacktests: 1,
      sweepTrials: 4,
      retired: 0,
      total: 6,
      sharpesDefined: 6,
      trialSharpeVariance: 0,
    });
    // Another horizon counts nothing; the variance of fewer than two is null.
    const none = await ok(handler, Q, { fp: KEY.dataFingerprint, target: KEY.targetKind, h: 5 });
    assert.deepStrictEqual(none.trialCount, {
      runs: 0,
      runBacktests: 0,
      sweepTrials: 0,
      retired: 0,
      total: 0,
      sharpesDefined: 0,
      trialSharpeVariance: null,
    });
    // Deleting the run (its backtest and the one added to it) keeps N and the variance: they are retired, not lost.
    await store.deleteRun(f.runId);
    const after = (await ok(handler, Q, { fp: KEY.dataFingerprint, target: KEY.targetKind, h: KEY.horizon }))
      .trialCount as Record<string, number>;
    // The same Sharpe ratios in another order: equal up to rounding.
    assert.ok(Math.abs(after.trialSharpeVariance - 0.41 / 30) < 1e-12, String(after.trialSharpeVariance));
    assert.deepStrictEqual({ ...after, trialSharpeVariance: 0 }, {
      runs: 0,
      runBacktests: 0,
      sweepTrials: 4,
      retired: 2,
      total: 6,
      sharpesDefined: 6,
      trialSharpeVariance: 0,
    });
    const bad = await query(handler, Q, { fp: KEY.dataFingerprint, target: KEY.targetKind, h: 0 });
    assert.equal(bad.errors?.[0].extensions?.code, "BAD_USER_INPUT");
  } finally {
    await store.close();
  }
});

Deno.test("production: costs multiply the new lists; the page's queries fit and nested floods are refused unexecuted", () => {
  const schema = buildSchema();
  const cost = (source: string, variables: Record<string, unknown> = {}) =>
    operationCost(schema, parse(source), undefined, variables)!;
  // The root's own cost (2) + first × (what each node selects); lists inside multiply by limit/last or their typical
  // length (rows of a batch: 100).
  assert.equal(
    cost(`{ models(first: 10) { nodes { latestPredictions { rows { symbol } } } } }`),
    2 + 10 * (1 + 1 + 100 * 1),
  );
  assert.equal(cost(`{ sweeps(first: 5) { nodes { trials(limit: 40) { cell } } } }`), 2 + 5 * (1 + 40 * 1));
  assert.equal(cost(`{ models(first: 2) { nodes { predictions(last: 3) { asOf } } } }`), 2 + 2 * (1 + 3 * 1));
  for (
    const [name, q, first] of [
      ["MODELS_QUERY", MODELS_QUERY, MODELS_PAGE_SIZE],
      ["SWEEPS_QUERY", SWEEPS_QUERY, SWEEPS_PAGE_SIZE],
    ] as const
  ) {
    const c = cost(q, { first });
    assert.ok(c > 0 && c <= DEFAULT_LIMITS.maxCost / 2, `${name} costs ${c}`);
  }
  const flood = `{ models(first: 100) { nodes { predictions(last: 100) { rows { symbol } } } } }`;
  assert.ok(cost(flood) > DEFAULT_LIMITS.maxCost);
});

Deno.test("production: a nested flood is refused before the store is read", async () => {
  const store = openStore(":memory:");
  const calls: string[] = [];
  const spy = new Proxy(store, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver);
      if (typeof value !== "function") return value;
      return (...args: unknown[]) => {
        calls.push(String(prop));
        return value.apply(target, args);
      };
    },
  });
  try {
    await store.registerModel(sampleModel({ id: newModelId() }));
    const res = await query(
      createGraphQLHandler(spy),
      `{ sweeps(first: 100) { nodes { trials(limit: 1000) { cell metrics { name value } } } } }`,
    );
    assert.equal(res.errors?.[0].extensions?.code, "QUERY_TOO_COMPLEX");
    assert.deepStrictEqual(calls.filter((c) => c !== "changeToken"), []);
  } finally {
    await store.close();
  }
});

Deno.test("production: a batch with more rows than its typical length is charged to the value budget as it resolves", async () => {
  const store = openStore(":memory:");
  try {
    const id = await store.registerModel(sampleModel({ id: newModelId() }));
    // 300 symbols: three times the typical length the cost analysis assumes, so the cost admits the query.
    const rows = Array.from({ length: 300 }, (_, i) => ({
      symbol: `S${String(i).padStart(3, "0")}`,
      date: "2021-01-05",
      score: 0.5,
      confidence: 0.5,
      position: 0,
      weight: 0,
      warnings: [],
    }));
    await store.appendProductionPredictions({
      modelId: id,
      asOf: "2021-01-05",
      dataFingerprint: "sha256:x",
      dataSource: "prices/",
      rows,
    });
    const Q = `{ models { nodes { latestPredictions { rows { symbol date score confidence position weight } } } } }`;
    // 300 rows × 6 fields = 1,800 values: refused under a budget of 1,000, answered under 2,000.
    const tight = await query(createGraphQLHandler(store, { limits: { maxValues: 1_000 } }), Q);
    assert.equal(tight.errors?.[0].extensions?.code, "RESPONSE_TOO_LARGE");
    const roomy = await query(createGraphQLHandler(store, { limits: { maxValues: 2_000 } }), Q);
    assert.equal(roomy.errors, undefined, JSON.stringify(roomy.errors));
    const got = (roomy.data as { models: { nodes: { latestPredictions: { rows: unknown[] } }[] } }).models;
    assert.equal(got.nodes[0].latestPredictions.rows.length, 300);
  } finally {
    await store.close();
  }
});
