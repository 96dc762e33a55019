/**
 * Dashboard reads over studies and predictions, on both backends (SQLite always; Postgres when a server is available,
 * see _postgres_cluster.ts): study pages with filters, orders, cursors and counts; the run filters by study, target
 * kind, verdict and gate; pooled metrics kept under `pooled.metrics`; prediction records listed without rows and read
 * by slices; change notifications (Postgres).
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import postgres from "postgres";
import { StoreError } from "../../lib/errors.ts";
import { openStore } from "../../lib/store/mod.ts";
import type { Store } from "../../lib/store/store.ts";
import { samplePredictions, sampleRun, sampleStudy, type StoreFactory } from "./contract.ts";
import { postgresForTests } from "./_postgres_cluster.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Three studies with distinct names, sources, targets, kinds and statuses; returned oldest first. */
async function threeStudies(store: Store): Promise<string[]> {
  const a = await store.createStudy(sampleStudy({
    name: "Momentum GBM",
    dataSource: "prices/",
    config: { target: { kind: "direction", horizon: 1 } },
    entries: [{ name: "gbm", kind: "xgboost" }],
  }));
  await sleep(3);
  const b = await store.createStudy(sampleStudy({
    name: "returns lstm",
    dataSource: "synthetic:planted",
    config: { target: { kind: "return", horizon: 5 } },
    entries: [{ name: "l", kind: "lstm-regressor" }, { name: "r", kind: "ridge" }],
  }));
  await sleep(3);
  const c = await store.createStudy(sampleStudy({
    name: null,
    dataSource: "prices/",
    config: { target: { kind: "direction3", horizon: 1 } },
    entries: [{ name: "gbm", kind: "xgboost" }, { name: "mlp", kind: "mlp" }],
  }));
  // a succeeded first, then b failed; c keeps running.
  await store.finishStudy(a, { status: "succeeded", summary: { comparison: [] } });
  await sleep(3);
  await store.finishStudy(b, { status: "failed", error: { message: "boom", stage: "train" } });
  return [a, b, c];
}

/** The tests, for one backend. */
export function storeStudyReadTests(backend: string, factory: StoreFactory): void {
  const test = (name: string, fn: (store: Store) => Promise<void>) =>
    Deno.test(`store study reads (${backend}): ${name}`, async () => {
      const { store, cleanup } = await factory();
      try {
        await fn(store);
      } finally {
        await store.close();
        await cleanup?.();
      }
    });

  test("queryStudies filters by status, source, target kind, model kind, name and dates, with the total", async (s) => {
    const [a, b, c] = await threeStudies(s);
    const ids = async (q: Parameters<Store["queryStudies"]>[0]) => (await s.queryStudies(q)).studies.map((x) => x.id);
    assert.deepStrictEqual(await ids({}), [c, b, a]); // newest first
    assert.deepStrictEqual(await ids({ statuses: ["running", "failed"] }), [c, b]);
    assert.deepStrictEqual(await ids({ dataSources: ["prices/"] }), [c, a]);
    assert.deepStrictEqual(await ids({ targetKinds: ["return", "direction3"] }), [c, b]);
    assert.deepStrictEqual(await ids({ modelKinds: ["xgboost"] }), [c, a]);
    assert.deepStrictEqual(await ids({ modelKinds: ["ridge"] }), [b]);
    assert.deepStrictEqual(await ids({ nameContains: "GBM" }), [a]);
    assert.deepStrictEqual(await ids({ nameContains: "lstm" }), [b]); // case-insensitive, a study without a name never
    assert.deepStrictEqual(await ids({ dataSources: ["prices/"], modelKinds: ["mlp"] }), [c]);
    await s.tag(a, "keep");
    await s.tag(c, "keep");
    await s.tag(c, "draft");
    assert.deepStrictEqual(await ids({ tags: ["keep"] }), [c, a]);
    assert.deepStrictEqual(await ids({ tags: ["draft", "none"] }), [c]);
    assert.deepStrictEqual((await s.queryStudies({ tags: ["draft"] })).studies[0].tags, ["draft", "keep"]);
    const created = (await s.getStudies([b]))[0].createdAt;
    assert.deepStrictEqual(await ids({ createdFrom: created }), [c, b]);
    assert.deepStrictEqual(await ids({ createdTo: created }), [a]);
    const page = await s.queryStudies({ dataSources: ["prices/"], first: 1 });
    assert.equal(page.totalCount, 2);
    assert.equal(page.hasNextPage, true);
    // The summaries are the same as getStudies gives.
    assert.deepStrictEqual(page.studies[0], (await s.getStudies([c]))[0]);
  });

  test("queryStudies pages by cursor in both directions and by finish time (unfinished last)", async (s) => {
    const [a, b, c] = await threeStudies(s);
    const all: string[] = [];
    let after: string | null = null;
    for (let i = 0; i < 5; i++) {
      const page = await s.queryStudies({ first: 1, after, order: { by: "createdAt", direction: "asc" } });
      all.push(...page.studies.map((x) => x.id));
      assert.equal(page.totalCount, 3);
      if (!page.hasNextPage) break;
      after = page.cursors.at(-1)!;
    }
    assert.deepStrictEqual(all, [a, b, c]);
    const byFinish = await s.queryStudies({ order: { by: "finishedAt", direction: "desc" } });
    assert.deepStrictEqual(byFinish.studies.map((x) => x.id), [b, a, c]);
    const byFinishAsc = await s.queryStudies({ order: { by: "finishedAt", direction: "asc" } });
    assert.deepStrictEqual(byFinishAsc.studies.map((x) => x.id), [a, b, c]);
    // A cursor continues after an unfinished study too (sort value null).
    const first2 = await s.queryStudies({ first: 2, order: { by: "finishedAt", direction: "asc" } });
    const rest = await s.queryStudies({
      first: 2,
      order: { by: "finishedAt", direction: "asc" },
      after: first2.cursors[1],
    });
    assert.deepStrictEqual(rest.studies.map((x) => x.id), [c]);
    const afterNull = await s.queryStudies({ order: { by: "finishedAt", direction: "asc" }, after: rest.cursors[0] });
    assert.deepStrictEqual(afterNull.studies, []);
    // A cursor of another order is refused, as are bad arguments, naming the field.
    await assert.rejects(
      () => s.queryStudies({ after: first2.cursors[0] }),
      (e: unknown) => e instanceof StoreError && /queryStudies: after: .*study\.finishedAt:asc/.test(e.message),
    );
    await assert.rejects(() => s.queryStudies({ first: 0 }), /queryStudies: first: expected 1 to 1000/);
    await assert.rejects(() => s.queryStudies({ statuses: ["done" as never] }), /queryStudies: statuses/);
    await assert.rejects(() => s.queryStudies({ nameContains: "" }), /queryStudies: nameContains/);
  });

  test("queryRuns filters by study, target kind, verdict and gate; pooled metrics under pooled.metrics", async (s) => {
    const study = await s.createStudy(
      sampleStudy({ entries: [{ name: "gbm", kind: "xgboost" }, { name: "mlp", kind: "mlp" }] }),
    );
    const other = await s.createStudy(sampleStudy({ entries: [{ name: "gbm", kind: "xgboost" }] }));
    const entry = (name: string, target: string) => ({ target: { kind: target, horizon: 1 }, entry: { name } });
    const gbm = await s.createRun(sampleRun({ studyId: study, entry: "gbm", config: entry("gbm", "direction") }));
    const mlp = await s.createRun(
      sampleRun({ studyId: study, entry: "mlp", model: "mlp", config: entry("mlp", "return") }),
    );
    const lone = await s.createRun(sampleRun({ studyId: other, entry: "gbm", config: { horizon: 1 } }));
    const summary = (verdict: string, passed: boolean, rankIc: number) => ({
      pooled: { accuracy: 0.5, verdict, metrics: { accuracy: 0.5, rankIc } },
      gate: { passed, wfe: null, threshold: 0.5, reason: "r" },
    });
    await s.finishRun(gbm, { status: "succeeded", summary: summary("edge", true, 0.04) });
    await s.finishRun(mlp, { status: "succeeded", summary: summary("no-edge", false, 0.01) });
    await s.finishRun(lone, { status: "succeeded", summary: { pooled: { accuracy: 0.6, rankIc: 0.09 } } });
    const ids = async (q: Parameters<Store["queryRuns"]>[0]) => (await s.queryRuns(q)).runs.map((r) => r.id).sort();
    assert.deepStrictEqual(await ids({ studyIds: [study] }), [gbm, mlp].sort());
    assert.deepStrictEqual(await ids({ studyIds: [other] }), [lone]);
    assert.deepStrictEqual(await ids({ targetKinds: ["direction"] }), [gbm]);
    assert.deepStrictEqual(await ids({ targetKinds: ["direction", "return"] }), [gbm, mlp].sort());
    assert.deepStrictEqual(await ids({ verdicts: ["edge"] }), [gbm]);
    assert.deepStrictEqual(await ids({ verdicts: ["no-edge"] }), [mlp]);
    assert.deepStrictEqual(await ids({ gatePassed: true }), [gbm]);
    assert.deepStrictEqual(await ids({ gatePassed: false }), [mlp]); // a run without a gate matches neither
    assert.equal((await s.queryRuns({ verdicts: ["edge", "no-edge"], gatePassed: true })).totalCount, 1);
    // rankIc is a top-level pooled number for the lone run and lives under pooled.metrics for the study's runs.
    const byRankIc = await s.queryRuns({ order: { by: { source: "pooled", name: "rankIc" }, direction: "desc" } });
    assert.deepStrictEqual(byRankIc.runs.map((r) => r.id), [lone, gbm, mlp]);
    assert.deepStrictEqual(byRankIc.sortValues, [0.09, 0.04, 0.01]);
    assert.deepStrictEqual(
      await ids({ metrics: [{ metric: { source: "pooled", name: "rankIc" }, min: 0.02, max: 0.05 }] }),
      [gbm],
    );
    await assert.rejects(() => s.queryRuns({ verdicts: ["maybe"] }), /queryRuns: verdicts: expected edge \| no-edge/);
    await assert.rejects(() => s.queryRuns({ gatePassed: "yes" as never }), /queryRuns: gatePassed/);
  });

  test("prediction records list without their rows; slices hold exactly the rows asked for", async (s) => {
    const study = await s.createStudy(sampleStudy());
    const run = await s.createRun(sampleRun({ studyId: study, entry: "gbm" }));
    const three = await s.createRun(sampleRun({ studyId: study, entry: "mlp", model: "mlp" }));
    await s.appendPredictions(run, samplePredictions(0, 10));
    await s.appendPredictions(run, samplePredictions(1, 6));
    await s.appendPredictions(three, samplePredictions(0, 5, 3));
    // The early-stopping tail's record of the same fold is a record of its own (split validation).
    await s.appendPredictions(run, { ...samplePredictions(5, 4), fold: 0, split: "validation" });
    const folds = await s.listPredictionFolds([three, run, "run_unknown"]);
    assert.deepStrictEqual(
      folds.map(({ createdAt: _, ...f }) => f).sort((x, y) => (x.runId + x.fold).localeCompare(y.runId + y.fold)),
      [
        { runId: run, fold: 0, split: "test", rows: 10, width: 1 },
        { runId: run, fold: 0, split: "validation", rows: 4, width: 1 },
        { runId: run, fold: 1, split: "test", rows: 6, width: 1 },
        { runId: three, fold: 0, split: "test", rows: 5, width: 3 },
      ].sort((x, y) => (x.runId + x.fold).localeCompare(y.runId + y.fold)),
    );
    // The expected slices are cut by hand from what was written.
    const cut = (fold: number, rows: number, width: number, offset: number, limit: number) => {
      const p = samplePredictions(fold, rows, width);
      const end = Math.min(rows, offset + limit);
      return {
        dates: p.dates.slice(offset, end),
        symbols: p.symbols.slice(offset, end),
        values: Array.from(p.values).slice(offset * width, end * width),
        width,
      };
    };
    const slices = await s.readPredictionSlices([
      { runId: three, fold: 0, offset: 1, limit: 2 },
      { runId: run, fold: 0, offset: 7, limit: 5 }, // past the end: the 3 rows left
      { runId: run, fold: 9, offset: 0, limit: 5 }, // no such record: left out
      { runId: run, fold: 1, offset: 6, limit: 5 }, // starts at the end: empty
      { runId: run, fold: 0, offset: 0, limit: 10 },
    ]);
    const shape = (x: (typeof slices)[number]) => ({
      dates: x.dates,
      symbols: x.symbols,
      values: x.values,
      width: x.width,
    });
    assert.deepStrictEqual(slices.map((x) => [x.runId, x.fold]), [[three, 0], [run, 0], [run, 1], [run, 0]]);
    assert.deepStrictEqual(shape(slices[0]), cut(0, 5, 3, 1, 2));
    assert.deepStrictEqual(shape(slices[1]), cut(0, 10, 1, 7, 5));
    assert.deepStrictEqual(shape(slices[2]), cut(1, 6, 1, 6, 5));
    assert.deepStrictEqual(shape(slices[3]), cut(0, 10, 1, 0, 10));
    assert.deepStrictEqual(await s.readPredictionSlices([]), []);
    const tail = await s.readPredictionSlices([{ runId: run, fold: 0, split: "validation", offset: 1, limit: 2 }]);
    assert.deepStrictEqual(tail.map(shape), [cut(5, 4, 1, 1, 2)]);
    assert.equal(tail[0].split, "validation");
    await assert.rejects(
      () => s.readPredictionSlices([{ runId: run, fold: 0, offset: -1, limit: 1 }]),
      /readPredictionSlices: slices\[0\]\.offset/,
    );
    await assert.rejects(
      () => s.readPredictionSlices([{ runId: run, fold: 0, offset: 0, limit: 10_001 }]),
      /readPredictionSlices: slices\[0\]\.limit: expected 1 to 10000/,
    );
  });
}

storeStudyReadTests("sqlite", async () => {
  const dir = await Deno.makeTempDir({ prefix: "candor-study-reads-" });
  return { store: openStore(join(dir, "runs.db")), cleanup: () => Deno.remove(dir, { recursive: true }) };
});

const server = await postgresForTests();
if ("skip" in server) {
  Deno.test({ name: `store study reads (postgres): skipped — ${server.skip}`, ignore: true, fn: () => {} });
} else {
  const url = server.url;
  let counter = 0;
  const freshSchema = () => `candor_reads_${Date.now().toString(36)}_${counter++}`;
  const dropSchema = async (schema: string) => {
    const admin = postgres(url, { onnotice: () => {}, max: 1 });
    try {
      await admin.unsafe(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    } finally {
      await admin.end();
    }
  };
  storeStudyReadTests("postgres", () => {
    const schema = freshSchema();
    return Promise.resolve({ store: openStore(url, { schema }), cleanup: () => dropSchema(schema) });
  });

  Deno.test("store study reads (postgres): onChange hears commits of another client of the schema, not others", async () => {
    const schema = freshSchema();
    const elsewhere = freshSchema();
    const watcher = openStore(url, { schema });
    const writer = openStore(url, { schema });
    const stranger = openStore(url, { schema: elsewhere });
    try {
      assert.equal(typeof watcher.onChange, "function");
      let heard = 0;
      const stop = await watcher.onChange!(() => heard++);
      const waitFor = async (n: number) => {
        for (let i = 0; i < 200 && heard < n; i++) await sleep(25);
      };
      await waitFor(1); // the listen itself reports once (changes may have been missed before it)
      const base = heard;
      await writer.createStudy(sampleStudy());
      await waitFor(base + 1);
      assert.equal(heard, base + 1);
      // A refused write commits nothing and notifies no one; a write in another schema is not heard either.
      await assert.rejects(() => writer.finishStudy("study_unknown", { status: "succeeded" }));
      await stranger.createStudy(sampleStudy());
      await writer.createStudy(sampleStudy());
      await waitFor(base + 2);
      await sleep(200);
      assert.equal(heard, base + 2);
      await stop();
      await writer.createStudy(sampleStudy());
      await sleep(300);
      assert.equal(heard, base + 2);
    } finally {
      await watcher.close();
      await writer.close();
      await stranger.close();
      await dropSchema(schema);
      await dropSchema(elsewhere);
    }
  });
}
