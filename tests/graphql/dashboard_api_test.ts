/**
 * The dashboard's reads over GraphQL: runsConnection's filters, orders, cursors and totalCount as the API maps them
 * onto the store's queryRuns (whose semantics the store contract tests pin down), fold aggregates beside the
 * baselines, and the typed run-level fields. Expected values are written by hand from the records stored here.
 */

import assert from "node:assert/strict";
import { openStore } from "../../lib/store/mod.ts";
import type { Store } from "../../lib/store/store.ts";
import { parse, validate } from "graphql";
import { createGraphQLHandler } from "../../graphql/handler.ts";
import { buildSchema } from "../../graphql/schema.ts";
import { DEFAULT_LIMITS, operationCost } from "../../graphql/guard.ts";
import {
  RUN_QUERY,
  RUNS_QUERY,
  STUDIES_QUERY,
  STUDY_PROGRESS_SUBSCRIPTION,
  STUDY_QUERY,
} from "../../graphql/page/api.ts";
import { sampleBacktest, sampleFold, sampleRun } from "../store/contract.ts";
import { query } from "../_helpers/graphql_client.ts";

/** Three runs; values are dyadic so means and standard deviations are exact. */
async function threeRuns(store: Store) {
  const a = await store.createRun(sampleRun({ model: "xgboost", symbols: ["AAA", "BBB"], dataSource: "prices/" }));
  await store.appendFold(
    a,
    sampleFold(0, { metrics: { accuracy: 0.5 }, baselines: { coinFlip: 0.5, alwaysLong: 0.5 } }),
  );
  await store.appendFold(
    a,
    sampleFold(1, { metrics: { accuracy: 0.75 }, baselines: { coinFlip: 0.5, alwaysLong: 0.625 } }),
  );
  await store.putBacktest(a, sampleBacktest({ metrics: { sharpe: 1.5 }, buyAndHold: { sharpe: 0.5 } }));
  await store.finishRun(a, {
    status: "succeeded",
    summary: { pooled: { accuracy: 0.625, accuracyLow: 0.5, accuracyHigh: 0.75, ic: null }, warnings: ["w1"] },
  });
  const b = await store.createRun(sampleRun({ model: "lstm", symbols: ["CCC"], dataSource: "prices/" }));
  await store.appendFold(b, sampleFold(0, { metrics: { accuracy: 0.5 }, baselines: { coinFlip: 0.5 } }));
  await store.putBacktest(b, sampleBacktest({ metrics: { sharpe: -0.5 }, buyAndHold: { sharpe: 0.5 } }));
  await store.finishRun(b, { status: "succeeded", summary: { pooled: { accuracy: 0.5 } } });
  const c = await store.createRun(sampleRun({ model: "xgboost", symbols: ["AAA"], dataSource: "synthetic:planted" }));
  return { a, b, c };
}

Deno.test("dashboard API: runsConnection filters, orders by a metric and pages by cursor with totalCount", async () => {
  const store = openStore(":memory:");
  try {
    const { a, b, c } = await threeRuns(store);
    const handler = createGraphQLHandler(store);
    const PAGE = `query ($filter: RunFilter, $orderBy: RunOrder, $first: Int, $after: String) {
      runsConnection(filter: $filter, orderBy: $orderBy, first: $first, after: $after) {
        totalCount pageInfo { hasNextPage endCursor } edges { cursor sortValue node { id } }
      }
    }`;
    type Page = {
      runsConnection: {
        totalCount: number;
        pageInfo: { hasNextPage: boolean; endCursor: string | null };
        edges: { cursor: string; sortValue: number | null; node: { id: string } }[];
      };
    };
    const page = async (variables: Record<string, unknown>) => {
      const res = await query(handler, PAGE, variables);
      assert.equal(res.errors, undefined, JSON.stringify(res.errors));
      return (res.data as Page).runsConnection;
    };
    const ids = (p: Page["runsConnection"]) => p.edges.map((e) => e.node.id);

    // Default: newest first, everything.
    const all = await page({});
    assert.deepStrictEqual(ids(all), [c, b, a]);
    assert.equal(all.totalCount, 3);
    assert.equal(all.pageInfo.hasNextPage, false);
    assert.equal(all.pageInfo.endCursor, all.edges[2].cursor);

    assert.deepStrictEqual(ids(await page({ filter: { models: ["xgboost"] } })), [c, a]);
    assert.deepStrictEqual(ids(await page({ filter: { symbols: ["AAA"], statuses: ["succeeded"] } })), [a]);
    assert.deepStrictEqual(ids(await page({ filter: { dataSources: ["prices/"] } })), [b, a]);
    assert.deepStrictEqual(ids(await page({ filter: { createdFrom: "2000-01-01", createdTo: "2000-01-02" } })), []);
    assert.deepStrictEqual(
      ids(await page({ filter: { createdFrom: "2000-01-01T00:00:00Z" } })),
      [c, b, a],
    );
    const sharpe = { source: "backtest", name: "sharpe" };
    assert.deepStrictEqual(ids(await page({ filter: { metrics: [{ metric: sharpe, min: 0 }] } })), [a]);
    assert.deepStrictEqual(
      ids(await page({ filter: { metrics: [{ metric: { source: "foldMean", name: "accuracy" }, max: 0.5 }] } })),
      [b],
    );

    // Ordered by Sharpe, largest first; c has no backtest and comes last. Paged one by one.
    const orderBy = { field: "metric", metric: sharpe, direction: "desc" };
    const p1 = await page({ orderBy, first: 1 });
    assert.deepStrictEqual(ids(p1), [a]);
    assert.equal(p1.edges[0].sortValue, 1.5);
    assert.equal(p1.totalCount, 3);
    assert.equal(p1.pageInfo.hasNextPage, true);
    const p2 = await page({ orderBy, first: 1, after: p1.pageInfo.endCursor });
    assert.deepStrictEqual([ids(p2), p2.edges[0].sortValue], [[b], -0.5]);
    const p3 = await page({ orderBy, first: 1, after: p2.pageInfo.endCursor });
    assert.deepStrictEqual([ids(p3), p3.edges[0].sortValue, p3.pageInfo.hasNextPage], [[c], null, false]);
    const asc = await page({ orderBy: { ...orderBy, direction: "asc" } });
    assert.deepStrictEqual(ids(asc), [b, a, c]);
  } finally {
    await store.close();
  }
});

Deno.test("dashboard API: bad filters and cursors are BAD_USER_INPUT with the argument named", async () => {
  const store = openStore(":memory:");
  try {
    await threeRuns(store);
    const handler = createGraphQLHandler(store);
    const ask = (args: string) => query(handler, `{ runsConnection(${args}) { totalCount } }`);
    const cases: [string, RegExp][] = [
      [`orderBy: { field: metric }`, /orderBy\.metric is required/],
      [`filter: { createdFrom: "yesterday" }`, /filter\.createdFrom must be an ISO 8601 date/],
      [`after: "bm90IGEgY3Vyc29y"`, /after: expected a cursor/],
      [`first: 0`, /first: expected 1 to 1000/],
      [`filter: { metrics: [{ metric: { source: pooled, name: "bad name" }, min: 0 }] }`, /metrics\[0\]\.metric\.name/],
      [`filter: { metrics: [{ metric: { source: pooled, name: "accuracy" } }] }`, /expected min, max or both/],
    ];
    for (const [args, message] of cases) {
      const res = await ask(args);
      assert.equal(res.errors?.[0].extensions?.code, "BAD_USER_INPUT", `${args}: ${JSON.stringify(res.errors)}`);
      assert.match(res.errors![0].message, message);
    }
    // A cursor from another order is refused rather than misread.
    const first = await query(handler, `{ runsConnection(first: 1) { pageInfo { endCursor } } }`);
    // deno-lint-ignore no-explicit-any
    const cursor = (first.data as any).runsConnection.pageInfo.endCursor;
    const foreign = await query(
      handler,
      `query ($a: String) { runsConnection(after: $a, orderBy: { field: finishedAt }) { totalCount } }`,
      { a: cursor },
    );
    assert.match(
      foreign.errors![0].message,
      /a cursor of the order finishedAt:desc \(this one belongs to createdAt:desc\)/,
    );
    // An unknown metric source is a schema validation error.
    const unknown = await ask(`orderBy: { field: metric, metric: { source: elsewhere, name: "x" } }`);
    assert.match(unknown.errors![0].message, /MetricSource/);
  } finally {
    await store.close();
  }
});

Deno.test("dashboard API: fold aggregates beside the strongest baseline, pooled metrics, warnings and run metrics", async () => {
  const store = openStore(":memory:");
  try {
    const { a, c } = await threeRuns(store);
    const handler = createGraphQLHandler(store);
    const res = await query(
      handler,
      `query ($id: ID!, $c: ID!) {
        run(id: $id) {
          pooled { name value } warnings
          foldAggregates {
            folds
            metrics { name n mean std min max }
            baselines { name n mean std min max }
            accuracy: metric(name: "accuracy") { mean }
            strongestBaseline { name mean }
          }
          poolAcc: metric(source: pooled, name: "accuracy")
          foldAcc: metric(source: foldMean, name: "accuracy")
          sharpe: metric(source: backtest, name: "sharpe")
          bhSharpe: metric(source: buyAndHold, name: "sharpe")
          missing: metric(source: backtest, name: "nope")
          backtest { points hasSharpe: metric(name: "sharpe") bh: buyAndHoldMetric(name: "sharpe") }
        }
        empty: run(id: $c) {
          pooled { name } warnings foldAggregates { folds metrics { name } strongestBaseline { name } } backtest { points }
          foldAcc: metric(source: foldMean, name: "accuracy")
        }
      }`,
      { id: a, c },
    );
    assert.equal(res.errors, undefined, JSON.stringify(res.errors));
    assert.deepStrictEqual(res.data, {
      run: {
        pooled: [
          { name: "accuracy", value: 0.625 },
          { name: "accuracyLow", value: 0.5 },
          { name: "accuracyHigh", value: 0.75 },
          { name: "ic", value: null },
        ],
        warnings: ["w1"],
        foldAggregates: {
          folds: 2,
          // accuracy 0.5, 0.75: mean 0.625, sample std √((0.125² + 0.125²) / (2 − 1)).
          metrics: [{
            name: "accuracy",
            n: 2,
            mean: 0.625,
            std: Math.sqrt(0.125 ** 2 + 0.125 ** 2),
            min: 0.5,
            max: 0.75,
          }],
          baselines: [
            { name: "coinFlip", n: 2, mean: 0.5, std: 0, min: 0.5, max: 0.5 },
            // 0.5, 0.625: mean 0.5625, deviations ∓0.0625.
            { name: "alwaysLong", n: 2, mean: 0.5625, std: Math.sqrt(0.0625 ** 2 + 0.0625 ** 2), min: 0.5, max: 0.625 },
          ],
          accuracy: { mean: 0.625 },
          strongestBaseline: { name: "alwaysLong", mean: 0.5625 },
        },
        poolAcc: 0.625,
        foldAcc: 0.625,
        sharpe: 1.5,
        bhSharpe: 0.5,
        missing: null,
        backtest: { points: 3, hasSharpe: 1.5, bh: 0.5 },
      },
      empty: {
        pooled: [],
        warnings: [],
        foldAggregates: { folds: 0, metrics: [], strongestBaseline: null },
        backtest: null,
        foldAcc: null,
      },
    });
  } finally {
    await store.close();
  }
});

Deno.test("dashboard API: the page's own queries validate against the schema and fit the default cost limit", () => {
  const schema = buildSchema();
  for (
    const [name, text] of [
      ["runs list", RUNS_QUERY],
      ["run page", RUN_QUERY],
      ["studies list", STUDIES_QUERY],
      ["study page", STUDY_QUERY],
      ["study live view", STUDY_PROGRESS_SUBSCRIPTION],
    ] as const
  ) {
    const document = parse(text);
    assert.deepStrictEqual(validate(schema, document).map((e) => e.message), [], name);
    const cost = operationCost(schema, document, undefined, { id: "run_x", first: 50 });
    assert.ok(cost !== undefined && cost <= DEFAULT_LIMITS.maxCost, `${name} costs ${cost}`);
  }
});
