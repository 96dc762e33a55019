/**
 * Studies over GraphQL, against a study written by the pipeline's run recorder from hand-chosen records
 * (_study_fixture.ts): typed comparison rows, typed verdict fields on runs, folds and backtests, study pages with
 * filters and cursors, run filters by verdict, gate, target and study, `compare(runIds)` with the same-rows check,
 * paged predictions, batching (store calls counted) and costs.
 */

import assert from "node:assert/strict";
import { openStore } from "../../lib/store/mod.ts";
import type { Store } from "../../lib/store/store.ts";
import { createGraphQLHandler } from "../../graphql/handler.ts";
import { LIST_SIZES } from "../../graphql/schema.ts";
import { sampleFold, sampleRun } from "../store/contract.ts";
import { query } from "../_helpers/graphql_client.ts";
import { EQUITY_DATES, GBM, MLP, recordStudy, TEST_ROWS } from "./_study_fixture.ts";

// deno-lint-ignore no-explicit-any
type Any = any;

async function ask(store: Store, text: string, variables?: Record<string, unknown>): Promise<Any> {
  const res = await query(createGraphQLHandler(store, { cacheBytes: 0 }), text, variables);
  assert.equal(res.errors, undefined, JSON.stringify(res.errors));
  return res.data;
}

async function askError(store: Store, text: string, variables?: Record<string, unknown>) {
  const res = await query(createGraphQLHandler(store, { cacheBytes: 0 }), text, variables);
  assert.ok(res.errors?.length, `expected an error, got ${JSON.stringify(res.data)}`);
  return res.errors![0];
}

Deno.test("studies: study(id) lists its entries with their runs and the comparison table as typed rows", async () => {
  const store = openStore(":memory:");
  try {
    const s = await recordStudy(store);
    const data = await ask(
      store,
      `query ($id: ID!) { study(id: $id) {
        id name status targetKind horizon scheme plannedFolds legacy dataSource dataFingerprint version features
        entries { name kind run { id entry } }
        runs { id }
        comparison {
          name kind runId run { id }
          headline { metric value ci { low high } }
          baseline { name value }
          verdict wfe gatePassed sharpe maxDrawdown buyAndHoldSharpe buyAndHoldMaxDrawdown health
        }
        plan { index train { start end } test { start end } }
        warnings notes configurationChecks { check subject verdict reason }
      } }`,
      { id: s.studyId },
    );
    const study = data.study;
    assert.equal(study.name, "gbm vs mlp");
    assert.equal(study.status, "succeeded");
    assert.equal(study.targetKind, "direction");
    assert.equal(study.horizon, 1);
    assert.equal(study.scheme, "anchored");
    assert.equal(study.plannedFolds, 2);
    assert.equal(study.legacy, false);
    assert.equal(study.dataFingerprint, "synthetic:fixture");
    assert.deepStrictEqual(study.features, ["ret_1", "vol_20"]);
    assert.deepStrictEqual(study.entries, [
      { name: "gbm", kind: "xgboost", run: { id: s.gbm, entry: "gbm" } },
      { name: "mlp", kind: "mlp", run: { id: s.mlp, entry: "mlp" } },
    ]);
    assert.deepStrictEqual(study.runs.map((r: Any) => r.id), [s.gbm, s.mlp]);
    // The rows by hand from the records (_study_fixture.ts): accuracy ± 0.03, strongest baseline always long 0.53.
    assert.deepStrictEqual(study.comparison, [
      {
        name: "gbm",
        kind: "xgboost",
        runId: s.gbm,
        run: { id: s.gbm },
        headline: { metric: "accuracy", value: 0.55, ci: { low: 0.55 - 0.03, high: 0.55 + 0.03 } },
        baseline: { name: "alwaysLong", value: 0.53 },
        verdict: "no_edge",
        wfe: 0.8,
        gatePassed: false,
        sharpe: 0.9,
        maxDrawdown: -0.12,
        buyAndHoldSharpe: 0.6,
        buyAndHoldMaxDrawdown: -0.3,
        health: "healthy",
      },
      {
        name: "mlp",
        kind: "mlp",
        runId: s.mlp,
        run: { id: s.mlp },
        headline: { metric: "accuracy", value: 0.6, ci: { low: 0.6 - 0.03, high: 0.6 + 0.03 } },
        baseline: { name: "alwaysLong", value: 0.53 },
        verdict: "edge",
        wfe: null,
        gatePassed: true,
        sharpe: 1.2,
        maxDrawdown: -0.12,
        buyAndHoldSharpe: 0.6,
        buyAndHoldMaxDrawdown: -0.3,
        health: "1 of 2 folds unhealthy",
      },
    ]);
    assert.deepStrictEqual(study.plan.map((f: Any) => f.test[0].start), ["2021-01-04", "2021-02-01"]);
    assert.deepStrictEqual(study.warnings, ["a study warning"]);
    assert.deepStrictEqual(study.notes, ["a study note"]);
    assert.deepStrictEqual(study.configurationChecks, [
      { check: "purge", subject: "split", verdict: "ok", reason: "purge 1 ≥ horizon 1" },
    ]);
    const missing = await askError(store, `{ study(id: "study_nope") { id } }`);
    assert.equal(missing.extensions?.code, "NOT_FOUND");
  } finally {
    await store.close();
  }
});

Deno.test("studies: a run's pooled line, verdict, gate, efficiency, up-share, health; folds and backtest typed", async () => {
  const store = openStore(":memory:");
  try {
    const s = await recordStudy(store);
    const { run } = await ask(
      store,
      `query ($id: ID!) { run(id: $id) {
        studyId entry targetKind horizon task verdict healthSummary health settings
        study { id }
        pooledLine {
          accuracy accuracyCi { low high } naive { ci { low high } pValue method }
          baselines { name value } strongestBaseline { name value }
          edge { difference ci { low high } pValue method against rows }
          ic { value ci { low high } pValue method }
          verdict verdictOn rankIc: metric(name: "rankIc") meanIC: metric(name: "meanIC")
        }
        pooled { name value }
        gate { passed wfe threshold reason }
        efficiency { efficiency testEdge validationEdge validationSe reason }
        upShare { call share band { low high } inBand classShares }
        folds {
          index nValidation health bestIteration iterations seconds skipped notes
          targets { fit { n shareUp mean std } validation { n shareUp } test { n shareUp mean std classShares } }
          efficiency { efficiency validationEdge testEdge }
        }
        backtest { window { start end } portfolio sharpeDifference { value ci { low high } pValue method } paths { path } }
      } }`,
      { id: s.mlp },
    );
    assert.equal(run.studyId, s.studyId);
    assert.equal(run.study.id, s.studyId);
    assert.equal(run.entry, "mlp");
    assert.equal(run.targetKind, "direction");
    assert.equal(run.horizon, 1);
    assert.equal(run.task, "binary");
    assert.equal(run.verdict, "edge");
    assert.deepStrictEqual(run.health, ["healthy", "variance collapse"]);
    assert.equal(run.healthSummary, "1 of 2 folds unhealthy");
    assert.deepStrictEqual(run.settings, { depth: 3 });
    const p = run.pooledLine;
    assert.equal(p.accuracy, 0.6);
    assert.deepStrictEqual(p.accuracyCi, { low: 0.6 - 0.03, high: 0.6 + 0.03 });
    assert.deepStrictEqual(p.naive, {
      ci: { low: 0.6 - 0.01, high: 0.6 + 0.01 },
      pValue: 0.001,
      method: "naive binomial",
    });
    assert.deepStrictEqual(p.baselines, [
      { name: "coinFlip", value: 0.5 },
      { name: "alwaysLong", value: 0.53 },
      { name: "majorityClass", value: 0.51 },
      { name: "previousSign", value: 0.49 },
    ]);
    assert.deepStrictEqual(p.strongestBaseline, { name: "alwaysLong", value: 0.53 });
    assert.deepStrictEqual(p.edge, {
      difference: 0.6 - 0.53,
      ci: { low: 0.6 - 0.56, high: 0.6 - 0.5 },
      pValue: 0.01,
      method: "paired block bootstrap",
      against: "alwaysLong",
      rows: 2 * TEST_ROWS,
    });
    assert.deepStrictEqual(p.ic, {
      value: 0.03,
      ci: { low: 0.01, high: 0.05 },
      pValue: 0.02,
      method: "block bootstrap",
    });
    assert.equal(p.verdict, "edge");
    assert.equal(p.verdictOn, "accuracy-vs-strongest-baseline");
    assert.equal(p.rankIc, 0.025);
    assert.equal(p.meanIC, null); // NaN when recorded
    // The flat list keeps the pooled line's numbers: accuracy on top, the rest from pooled.metrics.
    assert.deepStrictEqual(
      run.pooled.map((m: Any) => m.name),
      ["accuracy", "rankIc", "shareUp", "nTest", "meanIC"],
    );
    assert.deepStrictEqual(run.gate, { passed: true, wfe: null, threshold: 0.5, reason: "edge and WFE ≥ 0.5" });
    assert.deepStrictEqual(run.efficiency, {
      efficiency: null,
      testEdge: 0,
      validationEdge: 0.04,
      validationSe: 0.01,
      reason: "tail edge within noise",
    });
    // A record without `call` (written before 3-class targets had their own check) holds the share of "up" calls.
    assert.deepStrictEqual(run.upShare, {
      call: "up",
      share: 0.6,
      band: { low: 0.2, high: 0.8 },
      inBand: true,
      classShares: null,
    });
    assert.equal(run.folds.length, 2);
    const [f0, f1] = run.folds;
    assert.deepStrictEqual(f0, {
      index: 0,
      nValidation: 40,
      health: "healthy",
      bestIteration: 7,
      iterations: 9,
      seconds: 1.5,
      skipped: null,
      notes: ["a note"],
      targets: {
        fit: { n: 400, shareUp: 0.52, mean: 0.001, std: 0.02 },
        validation: { n: 40, shareUp: 0.45 },
        test: { n: TEST_ROWS, shareUp: 0.5, mean: 0.003, std: 0.01, classShares: null },
      },
      efficiency: { efficiency: 0.9, validationEdge: 0.03, testEdge: 0.03 * 0.9 },
    });
    assert.equal(f1.health, "variance collapse");
    assert.equal(f1.targets.test.shareUp, 0.5 + 1 / 6);
    assert.equal(f1.efficiency, null);
    assert.deepStrictEqual(run.backtest, {
      window: { start: EQUITY_DATES[0], end: EQUITY_DATES.at(-1) },
      portfolio: "long-short",
      sharpeDifference: { value: 1.2 - 0.6, ci: { low: -0.5, high: 1.1 }, pValue: 0.2, method: "block bootstrap" },
      paths: null,
    });
    // A run stored outside a study has none of these: nulls, not errors.
    const lone = await store.createRun(sampleRun());
    await store.appendFold(lone, sampleFold(0));
    await store.finishRun(lone, { status: "succeeded", summary: { pooled: { accuracy: 0.5 } } });
    const old = await ask(
      store,
      `query ($id: ID!) { run(id: $id) { verdict pooledLine { accuracy } gate { passed } targetKind study { id }
        folds { targets { fit { n } } efficiency { efficiency } health } comparisonRow { name } } }`,
      { id: lone },
    );
    assert.deepStrictEqual(old.run, {
      verdict: null,
      pooledLine: null,
      gate: null,
      targetKind: null,
      study: null,
      folds: [{ targets: null, efficiency: null, health: null }],
      comparisonRow: null,
    });
    assert.equal(GBM.pooled.verdict, "no-edge");
    assert.equal(MLP.gate.passed, true);
  } finally {
    await store.close();
  }
});

Deno.test("studies: pages filtered by status, model kind, target kind, name and source, ordered, by cursor", async () => {
  const store = openStore(":memory:");
  try {
    const a = await recordStudy(store, { name: "Alpha direction" });
    await new Promise((r) => setTimeout(r, 3));
    const b = await recordStudy(store, { name: "beta returns", target: "return" });
    await new Promise((r) => setTimeout(r, 3));
    const c = await recordStudy(store, { name: "gamma live", seal: false });
    const ids = async (filter: Record<string, unknown>, orderBy?: Record<string, unknown>) =>
      (await ask(
        store,
        `query ($f: StudyFilter, $o: StudyOrder) { studies(filter: $f, orderBy: $o) { totalCount nodes { id } } }`,
        { f: filter, o: orderBy },
      )).studies;
    assert.deepStrictEqual(await ids({}), { totalCount: 3, nodes: [c, b, a].map((x) => ({ id: x.studyId })) });
    assert.deepStrictEqual((await ids({ statuses: ["running"] })).nodes, [{ id: c.studyId }]);
    assert.deepStrictEqual((await ids({ targetKinds: ["return"] })).nodes, [{ id: b.studyId }]);
    assert.deepStrictEqual((await ids({ modelKinds: ["mlp"] })).totalCount, 3);
    assert.deepStrictEqual((await ids({ modelKinds: ["lstm"] })).totalCount, 0);
    assert.deepStrictEqual((await ids({ name: "ALPHA" })).nodes, [{ id: a.studyId }]);
    assert.deepStrictEqual((await ids({ dataSources: ["synthetic:planted"] })).totalCount, 3);
    await store.tag(b.studyId, "keep");
    assert.deepStrictEqual((await ids({ tags: ["keep", "other"] })).nodes, [{ id: b.studyId }]);
    const labelled = await ask(store, `query ($id: ID!) { study(id: $id) { tags note liveness reopened { at } } }`, {
      id: b.studyId,
    });
    assert.deepStrictEqual(labelled.study, { tags: ["keep"], note: null, liveness: null, reopened: [] });
    assert.deepStrictEqual(
      (await ids({}, { field: "createdAt", direction: "asc" })).nodes,
      [a, b, c].map((x) => ({ id: x.studyId })),
    );
    // Pages of one by cursor visit every study once.
    const seen: string[] = [];
    let after: string | null = null;
    for (let i = 0; i < 4; i++) {
      const page: Any = (await ask(
        store,
        `query ($after: String) { studies(first: 1, after: $after) { pageInfo { hasNextPage endCursor } edges { cursor node { id } } } }`,
        { after },
      )).studies;
      seen.push(...page.edges.map((e: Any) => e.node.id));
      if (!page.pageInfo.hasNextPage) break;
      after = page.pageInfo.endCursor;
    }
    assert.deepStrictEqual(seen, [c, b, a].map((x) => x.studyId));
    const bad = await askError(store, `{ studies(after: "nope") { totalCount } }`);
    assert.equal(bad.extensions?.code, "BAD_USER_INPUT");
    assert.match(bad.message, /^after: /);
    const badName = await askError(store, `{ studies(filter: { name: "" }) { totalCount } }`);
    assert.match(badName.message, /^filter\.name: /);
    // A running study's comparison holds the entries that finished (gbm), not the one still training.
    const running = await ask(
      store,
      `query ($id: ID!) { study(id: $id) { status comparison { name } plan { index } } }`,
      {
        id: c.studyId,
      },
    );
    assert.deepStrictEqual(running.study, { status: "running", comparison: [{ name: "gbm" }], plan: null });
  } finally {
    await store.close();
  }
});

Deno.test("studies: runs filtered by verdict, gate, target kind and study", async () => {
  const store = openStore(":memory:");
  try {
    const a = await recordStudy(store);
    const b = await recordStudy(store, { target: "return" });
    const ids = async (filter: Record<string, unknown>) =>
      ((await ask(store, `query ($f: RunFilter) { runsConnection(filter: $f) { edges { node { id } } } }`, {
        f: filter,
      }))
        .runsConnection.edges as Any[]).map((e) => e.node.id).sort();
    assert.deepStrictEqual(await ids({ verdicts: ["edge"] }), [a.mlp, b.mlp].sort());
    assert.deepStrictEqual(await ids({ verdicts: ["no_edge"] }), [a.gbm, b.gbm].sort());
    assert.deepStrictEqual(await ids({ gatePassed: false }), [a.gbm, b.gbm].sort());
    assert.deepStrictEqual(await ids({ targetKinds: ["return"] }), [b.gbm, b.mlp].sort());
    assert.deepStrictEqual(await ids({ studyIds: [a.studyId], gatePassed: true }), [a.mlp]);
  } finally {
    await store.close();
  }
});

Deno.test("studies: compare(runIds) gives the rows in order and says when the rows tested differ", async () => {
  const store = openStore(":memory:");
  try {
    const a = await recordStudy(store);
    const b = await recordStudy(store, { target: "return" });
    const other = await store.createRun(sampleRun({ symbols: ["XYZ"] }));
    await store.appendFold(other, sampleFold(0));
    const compare = async (runIds: string[]) =>
      (await ask(
        store,
        `query ($ids: [ID!]!) { compare(runIds: $ids) { sameRows differences missing rows { name runId verdict } runs { id } } }`,
        { ids: runIds },
      )).compare;
    const same = await compare([a.mlp, a.gbm]);
    assert.deepStrictEqual(same, {
      sameRows: true,
      differences: [],
      missing: [],
      rows: [{ name: "mlp", runId: a.mlp, verdict: "edge" }, { name: "gbm", runId: a.gbm, verdict: "no_edge" }],
      runs: [{ id: a.mlp }, { id: a.gbm }],
    });
    const targets = await compare([a.gbm, b.gbm]);
    assert.equal(targets.sameRows, false);
    assert.deepStrictEqual(targets.differences, [
      `${b.gbm} vs ${a.gbm}: different target (return, h = 1 vs direction, h = 1)`,
    ]);
    const lone = await compare([a.gbm, other]);
    assert.equal(lone.sameRows, false);
    assert.deepStrictEqual(lone.missing, [other]);
    assert.deepStrictEqual(lone.rows.map((r: Any) => r.name), ["gbm"]);
    assert.ok(
      lone.differences.includes(
        `${other} vs ${a.gbm}: different symbols (1 vs 2; only in ${other}: XYZ; only in ${a.gbm}: AAA, BBB)`,
      ),
      lone.differences.join("\n"),
    );
    assert.ok(lone.differences.some((d: string) => d.includes("1 folds vs 2")), lone.differences.join("\n"));
    const unknown = await askError(store, `{ compare(runIds: ["run_x"]) { sameRows } }`);
    assert.equal(unknown.extensions?.code, "NOT_FOUND");
    const none = await askError(store, `{ compare(runIds: []) { sameRows } }`);
    assert.equal(none.extensions?.code, "BAD_USER_INPUT");
  } finally {
    await store.close();
  }
});

Deno.test("studies: a fold's predictions come by pages, each read alone from the store", async () => {
  const store = openStore(":memory:");
  try {
    const s = await recordStudy(store);
    const page = async (after: string | null) =>
      (await ask(
        store,
        `query ($id: ID!, $after: String) { run(id: $id) {
          predictionFolds { fold split rows width }
          predictions(fold: 1, first: 4, after: $after) {
            fold width totalCount pageInfo { hasNextPage endCursor } rows { date symbol values }
          }
          none: predictions(fold: 7) { totalCount }
          tail: predictions(fold: 1, split: validation) { totalCount }
        } }`,
        { id: s.gbm, after },
      )).run;
    const first = await page(null);
    assert.deepStrictEqual(first.predictionFolds, [{ fold: 0, split: "test", rows: 6, width: 1 }, {
      fold: 1,
      split: "test",
      rows: 6,
      width: 1,
    }]);
    assert.equal(first.none, null);
    assert.equal(first.tail, null); // this study stored no early-stopping-tail predictions
    const p1 = first.predictions;
    assert.equal(p1.totalCount, 6);
    assert.equal(p1.pageInfo.hasNextPage, true);
    // Rows as _study_fixture.ts wrote them: score = fold + row / 10.
    assert.deepStrictEqual(p1.rows, [
      { date: "2021-01-04", symbol: "AAA", values: [1] },
      { date: "2021-01-04", symbol: "BBB", values: [1.1] },
      { date: "2021-01-05", symbol: "AAA", values: [1.2] },
      { date: "2021-01-05", symbol: "BBB", values: [1.3] },
    ]);
    const p2 = (await page(p1.pageInfo.endCursor)).predictions;
    assert.deepStrictEqual(p2.rows.map((r: Any) => r.values[0]), [1.4, 1.5]);
    assert.equal(p2.pageInfo.hasNextPage, false);
    const bad = await askError(store, `{ run(id: "${s.gbm}") { predictions(fold: 0, after: "zzz") { totalCount } } }`);
    assert.equal(bad.extensions?.code, "BAD_USER_INPUT");
  } finally {
    await store.close();
  }
});

Deno.test("studies: a page of studies with entries, runs, folds, comparison and predictions costs one store call per kind", async () => {
  const store = openStore(":memory:");
  try {
    for (let i = 0; i < 3; i++) await recordStudy(store);
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
    const res = await query(
      createGraphQLHandler(counting),
      `{ studies(first: 10) { totalCount nodes {
          id comparison { name run { id verdict } }
          entries { name run { id folds { index efficiency { efficiency } } backtest { sharpeDifference { value } } } }
          runs { id predictionFolds { fold } predictions(fold: 0, first: 2) { rows { date } } foldAggregates { folds } }
      } } }`,
    );
    assert.equal(res.errors, undefined, JSON.stringify(res.errors));
    assert.equal((res.data!.studies as Any).nodes.length, 3);
    assert.deepStrictEqual(calls, {
      changeToken: 1,
      queryStudies: 1,
      queryRuns: 1, // every study's runs at once
      getRuns: 1, // the comparison rows' runs, resolved before the studies' runs are read
      listFolds: 1,
      listBacktestSummaries: 1,
      listPredictionFolds: 1,
      readPredictionSlices: 1,
      foldAggregates: 1,
    });
  } finally {
    await store.close();
  }
});

Deno.test("studies: cost analysis multiplies by the new lists' sizes", async () => {
  const store = openStore(":memory:");
  try {
    const cost = async (text: string) => {
      const res = await query(createGraphQLHandler(store, { limits: { maxCost: 0 } }), text);
      return res.errors?.[0]?.extensions as { cost?: number } | undefined;
    };
    // studies 2 + 5 × (nodes 0 + 1 × (id 1 + runs (1 + entries × (id 1))))
    assert.equal(
      (await cost(`{ studies(first: 5) { nodes { id runs { id } } } }`))?.cost,
      2 + 5 * (1 + 1 + LIST_SIZES.entries * 1),
    );
    // predictions 2 + first × (rows 0 + 1 × (date 1 + values (1 + scores × 0)))... values is a list of scalars
    assert.equal(
      (await cost(`{ run(id: "x") { predictions(fold: 0, first: 100) { rows { date } } } }`))?.cost,
      1 + (2 + 100 * (0 + 1 * 1)),
    );
    // compare multiplies by the runs asked for.
    assert.equal(
      (await cost(`{ compare(runIds: ["a", "b", "c"]) { rows { name } } }`))?.cost,
      5 + 3 * (0 + 1 * 1),
    );
  } finally {
    await store.close();
  }
});
