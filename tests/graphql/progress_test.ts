/**
 * Live progress over server-sent events: the stage inferred from the records (by hand), a subscription that follows a
 * study written step by step and ends when it is sealed, the cap on open subscriptions and its release when a client
 * goes away, the lifetime bound, unknown ids and costs — and end to end, a study run by `candor demo` in another
 * process followed by a client of `candor serve` until the study is sealed.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { openStore } from "../../lib/store/mod.ts";
import type { RunSummary, Store } from "../../lib/store/store.ts";
import { createGraphQLHandler } from "../../graphql/handler.ts";
import { studyStage } from "../../graphql/progress.ts";
import { startServer } from "../../graphql/server.ts";
import { sampleFold, sampleRun, sampleStudy } from "../store/contract.ts";
import { subscribe } from "./_sse_client.ts";
import { query } from "../_helpers/graphql_client.ts";
import postgres from "postgres";
import { postgresForTests } from "../store/_postgres_cluster.ts";

// deno-lint-ignore no-explicit-any
type Any = any;

const URL_ = "http://localhost/graphql";

const STUDY_PROGRESS = `subscription ($id: ID!) { studyProgress(id: $id) {
  stage entry fold foldsDone plannedFolds fraction sealed
  run { id status }
  lastEpoch { fold epoch trainLoss valLoss }
  entries { name kind status foldsDone }
  study { id status comparison { name verdict } }
} }`;

Deno.test("progress: the stage of a study from its records", () => {
  const entries = [{ name: "a", kind: "xgboost" }, { name: "b", kind: "mlp" }];
  const run = (id: string, entry: string, status: string) => ({ id, entry, status }) as unknown as RunSummary;
  const folds = (pairs: [string, number][]) => new Map(pairs);
  const at = (status: string, runs: RunSummary[], done: [string, number][], planned: number | null = 3) =>
    studyStage({ status: status as "running", entries }, runs, folds(done), planned);
  assert.deepStrictEqual(at("running", [], []), { stage: "preparing", entry: null, run: null, fold: null });
  const ra = run("r1", "a", "running");
  assert.deepStrictEqual(at("running", [ra], [["r1", 1]]), { stage: "training", entry: "a", run: ra, fold: 1 });
  assert.deepStrictEqual(at("running", [ra], [["r1", 3]]), { stage: "pooling", entry: "a", run: ra, fold: null });
  // Without a known plan, a running entry is training whatever it has stored.
  assert.equal(at("running", [ra], [["r1", 9]], null).stage, "training");
  const da = run("r1", "a", "succeeded");
  assert.deepStrictEqual(at("running", [da], [["r1", 3]]), { stage: "training", entry: "b", run: null, fold: 0 });
  const db = run("r2", "b", "succeeded");
  assert.deepStrictEqual(at("running", [da, db], []), { stage: "comparing", entry: null, run: null, fold: null });
  assert.equal(at("succeeded", [da, db], []).stage, "done");
  assert.equal(at("failed", [da], []).stage, "failed");
  assert.equal(at("interrupted", [da], []).stage, "interrupted");
});

/** A handler polling fast, for a store the test writes step by step. */
function fastHandler(store: Store, extra: Parameters<typeof createGraphQLHandler>[1] = {}) {
  return createGraphQLHandler(store, { pollMs: 20, dashboard: false, graphiql: false, ...extra });
}

Deno.test("progress: a subscription follows a study written step by step and ends when it is sealed", async () => {
  const dir = await Deno.makeTempDir({ prefix: "candor-progress-" });
  const path = join(dir, "runs.db");
  const store = openStore(path);
  // The writer is another connection, as another process would be.
  const writer = openStore(path);
  try {
    const id = await writer.createStudy(sampleStudy({
      config: { target: { kind: "direction", horizon: 1 }, validation: { scheme: "anchored", folds: 2 } },
      entries: [{ name: "gbm", kind: "xgboost" }, { name: "mlp", kind: "mlp" }],
    }));
    const sub = await subscribe(fastHandler(store).fetch, URL_, STUDY_PROGRESS, { id });
    assert.equal(sub.status, 200);
    const next = async () => {
      const e = await sub.next(20_000);
      assert.ok(e !== undefined, "the stream ended early");
      assert.equal(e.errors, undefined, JSON.stringify(e.errors));
      return (e.data as Any).studyProgress;
    };
    let p = await next();
    assert.equal(p.stage, "preparing");
    assert.equal(p.plannedFolds, 2);
    assert.equal(p.fraction, 0);
    assert.deepStrictEqual(p.entries.map((e: Any) => e.status), ["pending", "pending"]);

    const gbm = await writer.createRun(sampleRun({ studyId: id, entry: "gbm" }));
    p = await next();
    assert.deepStrictEqual([p.stage, p.entry, p.fold, p.run.id], ["training", "gbm", 0, gbm]);
    await writer.appendFold(gbm, sampleFold(0));
    p = await next();
    assert.deepStrictEqual([p.stage, p.fold, p.foldsDone, p.fraction], ["training", 1, 1, 0.25]);
    await writer.appendFold(gbm, sampleFold(1));
    p = await next();
    assert.deepStrictEqual([p.stage, p.entry, p.fold, p.foldsDone], ["pooling", "gbm", null, 2]);
    await writer.finishRun(gbm, { status: "succeeded" });
    p = await next();
    assert.deepStrictEqual([p.stage, p.entry, p.run], ["training", "mlp", null]);
    assert.deepStrictEqual(p.entries.map((e: Any) => e.status), ["succeeded", "pending"]);
    assert.equal(p.fraction, 0.5);

    const mlp = await writer.createRun(sampleRun({ studyId: id, entry: "mlp", model: "mlp" }));
    await next();
    await writer.appendFold(mlp, sampleFold(0));
    await writer.appendEpochs(mlp, [
      { fold: 0, epoch: 0, trainLoss: 0.69, valLoss: 0.7 },
      { fold: 0, epoch: 1, trainLoss: 0.68, valLoss: 0.695 },
    ]);
    // The fold and its epochs may arrive in one event or two; wait for the epochs.
    do p = await next(); while (p.lastEpoch === null);
    assert.deepStrictEqual(p.lastEpoch, { fold: 0, epoch: 1, trainLoss: 0.68, valLoss: 0.695 });
    assert.deepStrictEqual([p.entry, p.fold, p.foldsDone], ["mlp", 1, 3]);
    // A write elsewhere that changes nothing shown sends nothing; the next visible change does.
    await writer.createStudy(sampleStudy());
    await writer.appendFold(mlp, sampleFold(1));
    p = await next();
    assert.equal(p.stage, "pooling");
    await writer.finishRun(mlp, { status: "succeeded" });
    p = await next();
    assert.equal(p.stage, "comparing");
    await writer.finishStudy(id, { status: "succeeded", summary: { comparison: [] } });
    p = await next();
    assert.deepStrictEqual([p.stage, p.sealed, p.fraction, p.study.status], ["done", true, 1, "succeeded"]);
    assert.equal(await sub.next(5_000), undefined, "the stream completes after the sealed event");
  } finally {
    await writer.close();
    await store.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("progress: open subscriptions are capped and released when a client goes away; lifetimes are bounded", async () => {
  const store = openStore(":memory:");
  try {
    const id = await store.createStudy(sampleStudy());
    const handler = fastHandler(store, { maxSubscriptions: 1, maxSubscriptionMs: 400, log: () => {} });
    const first = await subscribe(handler.fetch, URL_, STUDY_PROGRESS, { id });
    assert.equal((await first.next(10_000))?.errors, undefined);
    const second = await subscribe(handler.fetch, URL_, STUDY_PROGRESS, { id });
    assert.equal(second.status, 503);
    assert.equal(second.refusal?.errors?.[0].extensions?.code, "TOO_MANY_SUBSCRIPTIONS");
    await first.close();
    // The slot is free again once the first client has gone.
    let third;
    for (let i = 0; i < 50; i++) {
      third = await subscribe(handler.fetch, URL_, STUDY_PROGRESS, { id });
      if (third.status === 200) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.equal(third!.status, 200);
    assert.equal((await third!.next(10_000))?.errors, undefined);
    // The study never seals; the subscription ends anyway after its lifetime (400 ms here).
    assert.equal(await third!.next(10_000), undefined);
  } finally {
    await store.close();
  }
});

Deno.test({
  name: "progress: shutting the server down ends open subscriptions instead of waiting for them",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const store = openStore(":memory:");
    try {
      const id = await store.createStudy(sampleStudy());
      const server = await startServer({ port: 0, store });
      const sub = await subscribe(fetch, server.url, STUDY_PROGRESS, { id });
      assert.equal((await sub.next(10_000))?.errors, undefined);
      const down = server.shutdown();
      // Without the server ending it, the stream would stay open for its lifetime (an hour) and shutdown with it.
      assert.equal(await sub.next(10_000), undefined, "the stream completes");
      await down;
    } finally {
      await store.close();
    }
  },
});

Deno.test("progress: a store failure mid-stream reaches the client masked, as one last event, and is logged", async () => {
  const store = openStore(":memory:");
  try {
    const id = await store.createStudy(sampleStudy());
    let reads = 0;
    const failing = new Proxy(store, {
      get(target, prop, receiver) {
        const v = Reflect.get(target, prop, receiver);
        if (prop === "foldAggregates") {
          return (...args: unknown[]) => {
            if (++reads > 1) return Promise.reject(new Error("disk on fire at /secret/path"));
            return (v as (...a: unknown[]) => unknown).apply(target, args);
          };
        }
        return typeof v === "function" ? v.bind(target) : v;
      },
    });
    const logged: Record<string, unknown>[] = [];
    const sub = await subscribe(fastHandler(failing, { log: (e) => logged.push(e) }).fetch, URL_, STUDY_PROGRESS, {
      id,
    });
    assert.equal((await sub.next(10_000))?.errors, undefined);
    await store.createRun(sampleRun({ studyId: id, entry: "gbm" })); // a change: the next read fails
    const failed = await sub.next(10_000);
    assert.equal(failed?.errors?.[0].extensions?.code, "INTERNAL_SERVER_ERROR");
    assert.doesNotMatch(JSON.stringify(failed), /secret/);
    const requestId = failed?.errors?.[0].extensions?.requestId;
    assert.ok(logged.some((e) => e.requestId === requestId && /disk on fire/.test(JSON.stringify(e))));
    assert.equal(await sub.next(10_000), undefined);
  } finally {
    await store.close();
  }
});

Deno.test("progress: a study whose process stops writing is reported stale without any write", async () => {
  let now = Date.now();
  const store = openStore(":memory:", { clock: () => now });
  try {
    const id = await store.createStudy(sampleStudy());
    const sub = await subscribe(
      fastHandler(store, { refreshMs: 50 }).fetch,
      URL_,
      `subscription ($id: ID!) { studyProgress(id: $id) { stage liveness sealed } }`,
      { id },
    );
    assert.deepStrictEqual((await sub.next(10_000))?.data, {
      studyProgress: { stage: "preparing", liveness: "live", sealed: false },
    });
    now += 61_000; // no heartbeat past the store's stale threshold (60 s)
    assert.deepStrictEqual((await sub.next(10_000))?.data, {
      studyProgress: { stage: "preparing", liveness: "stale", sealed: false },
    });
    await store.markInterrupted(id, { message: "reaped" }, { onlyIfStale: true });
    assert.deepStrictEqual((await sub.next(10_000))?.data, {
      studyProgress: { stage: "interrupted", liveness: null, sealed: true },
    });
    assert.equal(await sub.next(10_000), undefined);
  } finally {
    await store.close();
  }
});

Deno.test("progress: an unknown id is one NOT_FOUND event; run progress; costs are checked; asked as JSON it says how to ask", async () => {
  const store = openStore(":memory:");
  try {
    const handler = fastHandler(store, { log: () => {} });
    const unknown = await subscribe(handler.fetch, URL_, STUDY_PROGRESS, { id: "study_nope" });
    const e = await unknown.next(10_000);
    assert.equal(e?.errors?.[0].extensions?.code, "NOT_FOUND");
    assert.equal(await unknown.next(10_000), undefined);

    const study = await store.createStudy(sampleStudy());
    const run = await store.createRun(sampleRun({ studyId: study, entry: "gbm" }));
    const sub = await subscribe(
      handler.fetch,
      URL_,
      `subscription ($id: ID!) { runProgress(id: $id) { stage fold foldsDone plannedFolds sealed run { id } } }`,
      { id: run },
    );
    assert.deepStrictEqual((await sub.next(10_000))?.data, {
      runProgress: { stage: "training", fold: 0, foldsDone: 0, plannedFolds: 3, sealed: false, run: { id: run } },
    });
    await store.appendFold(run, sampleFold(0));
    assert.equal(((await sub.next(10_000))?.data as Any).runProgress.foldsDone, 1);
    await store.finishRun(run, { status: "failed", error: { message: "boom", stage: "fold", fold: 1 } });
    assert.deepStrictEqual(((await sub.next(10_000))?.data as Any).runProgress.stage, "failed");
    assert.equal(await sub.next(10_000), undefined);

    // Asked for as JSON, a subscription is refused with the way to ask for it.
    const asJson = await query(handler, STUDY_PROGRESS, { id: study });
    assert.equal(asJson.errors?.[0].extensions?.code, "BAD_REQUEST");
    assert.match(asJson.errors![0].message, /Accept: text\/event-stream/);

    const dear = await subscribe(
      fastHandler(store, { limits: { maxCost: 5 }, log: () => {} }).fetch,
      URL_,
      STUDY_PROGRESS,
      { id: study },
    );
    assert.equal((await dear.next(10_000))?.errors?.[0].extensions?.code, "QUERY_TOO_COMPLEX");
  } finally {
    await store.close();
  }
});

Deno.test({
  name: "progress (end to end): `candor demo` in another process, followed over SSE from `candor serve` until sealed",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "candor-progress-e2e-" });
    const db = join(dir, "runs.db");
    const store = openStore(db); // created and migrated before the writer starts
    const server = await startServer({ port: 0, store });
    const demo = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        new URL("../../lib/cli/main.ts", import.meta.url).pathname,
        "demo",
        "--db",
        db,
        "--symbols",
        "4",
        "--days",
        "400",
        "--folds",
        "2",
        "--model",
        "xgboost,mlp",
        "--epochs",
        "2",
      ],
      env: { NO_COLOR: "1", OMP_WAIT_POLICY: "PASSIVE" },
      stdout: "null",
      stderr: "piped",
    }).spawn();
    const stderr = new Response(demo.stderr).text();
    try {
      // Find the study once the writer has created it, as a dashboard would.
      let id: string | undefined;
      for (let i = 0; i < 600 && id === undefined; i++) {
        const res = await fetch(server.url, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ query: `{ studies(filter: { statuses: [running] }) { nodes { id } } }` }),
        });
        id = ((await res.json()).data?.studies?.nodes ?? [])[0]?.id;
        if (id === undefined) await new Promise((r) => setTimeout(r, 100));
      }
      assert.ok(id !== undefined, "the demo never created a study");
      const sub = await subscribe(fetch, server.url, STUDY_PROGRESS, { id });
      assert.equal(sub.status, 200);
      const events: Any[] = [];
      for (;;) {
        const e = await sub.next(180_000);
        if (e === undefined) break;
        assert.equal(e.errors, undefined, JSON.stringify(e.errors));
        events.push((e.data as Any).studyProgress);
      }
      const last = events.at(-1);
      assert.deepStrictEqual([last.stage, last.sealed, last.study.status], ["done", true, "succeeded"]);
      assert.deepStrictEqual(last.entries.map((e: Any) => [e.name, e.status, e.foldsDone]), [
        ["xgboost", "succeeded", 2],
        ["mlp", "succeeded", 2],
      ]);
      assert.deepStrictEqual(last.study.comparison.map((r: Any) => r.name), ["xgboost", "mlp"]);
      // What the stream showed on the way. Which intermediate states it catches depends on how the writes fall
      // between polls, so only what holds for any of them is asserted (the step-by-step test above pins each state).
      assert.equal(events[0].sealed, false, "the first event shows the study running (it was found running)");
      assert.ok(events.slice(0, -1).every((e) => !e.sealed), "only the last event is sealed");
      const done = events.map((e) => e.foldsDone);
      assert.deepStrictEqual(done, [...done].sort((a, b) => a - b), "folds done never decrease");
      const fractions = events.map((e) => e.fraction);
      assert.deepStrictEqual(fractions, [...fractions].sort((a, b) => a - b), "fraction never decreases");
      for (const e of events) {
        assert.ok(e.fraction >= 0 && e.fraction <= 1, `fraction ${e.fraction}`);
        // Entries train in order: while mlp trains, xgboost has finished.
        if (e.entry === "mlp") assert.equal(e.entries[0].status, "succeeded", JSON.stringify(e));
        if (e.stage === "training" || e.stage === "pooling") assert.ok(["xgboost", "mlp"].includes(e.entry));
      }
      const status = await demo.status;
      assert.equal(status.code, 0, await stderr);
    } finally {
      try {
        demo.kill("SIGTERM");
      } catch { /* already exited */ }
      await demo.status;
      await stderr.catch(() => "");
      await server.shutdown();
      await store.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

const pg = await postgresForTests();
Deno.test({
  name: "progress (postgres): writes by another client arrive by LISTEN/NOTIFY, with polling all but off",
  ignore: "skip" in pg,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const url = (pg as { url: string }).url;
    const schema = `candor_progress_${Date.now().toString(36)}`;
    const store = openStore(url, { schema });
    const writer = openStore(url, { schema });
    try {
      const id = await writer.createStudy(sampleStudy());
      // Polling every 10 minutes: only a notification can wake the subscription within the test.
      const handler = fastHandler(store, { pollMs: 600_000 });
      const sub = await subscribe(handler.fetch, URL_, STUDY_PROGRESS, { id });
      assert.equal(((await sub.next(20_000))?.data as Any).studyProgress.stage, "preparing");
      const run = await writer.createRun(sampleRun({ studyId: id, entry: "gbm" }));
      const p = ((await sub.next(20_000))?.data as Any).studyProgress;
      assert.deepStrictEqual([p.stage, p.entry, p.run.id], ["training", "gbm", run]);
      await sub.close();
    } finally {
      await writer.close();
      await store.close();
      const admin = postgres(url, { onnotice: () => {}, max: 1 });
      await admin.unsafe(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).finally(() => admin.end());
    }
  },
});

Deno.test("progress: the id may be written inline or passed in a variable of any name (README's curl example)", async () => {
  const store = openStore(":memory:");
  try {
    const handler = fastHandler(store, { refreshMs: 50, log: () => {} });
    const study = await store.createStudy(sampleStudy());
    const run = await store.createRun(sampleRun({ studyId: study, entry: "gbm" }));
    const asked: [string, Record<string, unknown>][] = [
      [`subscription { studyProgress(id: "${study}") { stage sealed } }`, {}],
      [`subscription Follow($sid: ID!) { studyProgress(id: $sid) { stage sealed } }`, { sid: study }],
      [`subscription { runProgress(id: "${run}") { stage sealed } }`, {}],
    ];
    for (const [doc, variables] of asked) {
      const sub = await subscribe(handler.fetch, URL_, doc, variables);
      const first = await sub.next(10_000);
      assert.equal(first?.errors, undefined, `${doc}: ${JSON.stringify(first?.errors)}`);
      const data = first?.data as Any;
      assert.equal((data.studyProgress ?? data.runProgress).sealed, false, doc);
      await sub.close();
    }
  } finally {
    await store.close();
  }
});
