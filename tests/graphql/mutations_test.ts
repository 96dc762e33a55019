/**
 * Mutations: present only when the server requires a token; arguments checked before the store is touched; each
 * mutation calls the store's method with what was asked and answers with the record read afresh; answers are never
 * cached; the round trip through a real store: tags, notes, renames, deletes with all parts, refusals by the store,
 * and marking a stale study (not a live one) interrupted.
 */

import assert from "node:assert/strict";
import { getIntrospectionQuery } from "graphql";
import { openStore } from "../../lib/store/mod.ts";
import type { Store } from "../../lib/store/store.ts";
import { createGraphQLHandler } from "../../graphql/handler.ts";
import { sampleFold, sampleRun, sampleStudy } from "../store/contract.ts";
import { recordStudy } from "./_study_fixture.ts";

// deno-lint-ignore no-explicit-any
type Any = any;

const TOKEN = "t0ken-for-tests";

async function ask(
  handler: { fetch(r: Request): Promise<Response> },
  text: string,
  variables?: Record<string, unknown>,
  token: string | null = TOKEN,
): Promise<{ status: number; body: Any }> {
  const res = await handler.fetch(
    new Request("http://localhost/graphql", {
      method: "POST",
      headers: {
        "content-type": "application/json",
        accept: "application/json",
        ...(token === null ? {} : { authorization: `Bearer ${token}` }),
      },
      body: JSON.stringify({ query: text, variables }),
    }),
  );
  return { status: res.status, body: await res.json() };
}

/** The store plus spy edit methods that record their calls (and change nothing). */
function spyStore(store: Store): { store: Store; calls: [string, ...unknown[]][] } {
  const calls: [string, ...unknown[]][] = [];
  const spy = (name: string) => (...args: unknown[]) => {
    calls.push([name, ...args]);
    return Promise.resolve(name === "markInterrupted" ? { studies: [], runs: [] } : true);
  };
  const methods: Record<string, unknown> = {};
  for (const m of ["tag", "untag", "setNote", "renameStudy", "deleteRun", "deleteStudy", "markInterrupted"]) {
    methods[m] = spy(m);
  }
  const proxy = new Proxy(store, {
    get(target, prop, receiver) {
      if (typeof prop === "string" && prop in methods) return methods[prop];
      const v = Reflect.get(target, prop, receiver);
      return typeof v === "function" ? v.bind(target) : v;
    },
  });
  return { store: proxy, calls };
}

Deno.test("mutations: absent without a token; with one, present and behind the token", async () => {
  const store = openStore(":memory:");
  try {
    const open = createGraphQLHandler(store, { dashboard: false });
    const intro = await ask(open, getIntrospectionQuery(), undefined, null);
    assert.equal(intro.body.data.__schema.mutationType, null);
    const refused = await ask(open, `mutation { tag(id: "run_x", tag: "a") { __typename } }`, undefined, null);
    assert.equal(refused.body.errors[0].extensions.code, "MUTATIONS_DISABLED");
    assert.match(refused.body.errors[0].message, /CANDOR_GRAPHQL_TOKEN/);

    const guarded = createGraphQLHandler(store, { dashboard: false, token: TOKEN });
    assert.equal(
      (await ask(guarded, getIntrospectionQuery())).body.data.__schema.mutationType.name,
      "Mutation",
    );
    const noToken = await ask(guarded, `mutation { tag(id: "run_x", tag: "a") { __typename } }`, undefined, null);
    assert.equal(noToken.status, 401);
  } finally {
    await store.close();
  }
});

Deno.test("mutations: arguments are checked before the store is touched", async () => {
  const store = openStore(":memory:");
  try {
    const { studyId, gbm } = await recordStudy(store);
    const spy = spyStore(store);
    const h = createGraphQLHandler(spy.store, { dashboard: false, token: TOKEN, log: () => {} });
    const code = async (text: string) => (await ask(h, text)).body.errors?.[0]?.extensions?.code;
    assert.equal(await code(`mutation { tag(id: "${gbm}", tag: "") { __typename } }`), "BAD_USER_INPUT");
    assert.equal(await code(`mutation { tag(id: "${gbm}", tag: "-leading") { __typename } }`), "BAD_USER_INPUT");
    assert.equal(
      await code(`mutation { tag(id: "${gbm}", tag: "${"x".repeat(65)}") { __typename } }`),
      "BAD_USER_INPUT",
    );
    assert.equal(await code(`mutation { tag(id: "run_unknown", tag: "ok") { __typename } }`), "NOT_FOUND");
    assert.equal(await code(`mutation { renameStudy(id: "${gbm}", name: "x") { id } }`), "BAD_USER_INPUT");
    assert.equal(await code(`mutation { renameStudy(id: "${studyId}", name: "  ") { id } }`), "BAD_USER_INPUT");
    assert.equal(await code(`mutation { deleteRun(id: "${studyId}") { id } }`), "BAD_USER_INPUT");
    assert.equal(await code(`mutation { deleteStudy(id: "${gbm}") { id } }`), "BAD_USER_INPUT");
    assert.equal(await code(`mutation { markInterrupted(id: "${studyId}") { __typename } }`), "BAD_USER_INPUT"); // sealed
    const long = "n".repeat(10_001);
    assert.equal(
      (await ask(h, `mutation ($n: String) { setNote(id: "${gbm}", note: $n) { __typename } }`, { n: long })).body
        .errors?.[0]?.extensions?.code,
      "BAD_USER_INPUT",
    );
    assert.deepStrictEqual(spy.calls, [], "nothing reached the store");
  } finally {
    await store.close();
  }
});

Deno.test("mutations: each calls the store's edit with what was asked, answers afresh and is never cached", async () => {
  let now = Date.now();
  const store = openStore(":memory:", { clock: () => now });
  try {
    const { studyId, gbm } = await recordStudy(store);
    const running = await store.createStudy(sampleStudy());
    const r = await store.createRun(sampleRun({ studyId: running, entry: "gbm" }));
    await store.appendFold(r, sampleFold(0));
    now += 10 * 60_000; // no heartbeat for ten minutes: stale
    const spy = spyStore(store);
    const h = createGraphQLHandler(spy.store, { dashboard: false, token: TOKEN });
    const ok = async (text: string, variables?: Record<string, unknown>) => {
      const res = await ask(h, text, variables);
      assert.equal(res.body.errors, undefined, JSON.stringify(res.body.errors));
      return res.body.data;
    };
    const tagged = await ok(`mutation { tag(id: "${gbm}", tag: " keep ") { __typename ... on Run { id tags } } }`);
    assert.deepStrictEqual(tagged.tag, { __typename: "Run", id: gbm, tags: [] }); // the spy changes nothing
    await ok(`mutation { tag(id: "${gbm}", tag: " keep ") { __typename } }`); // the same again: not a cached answer
    await ok(`mutation { untag(id: "${studyId}", tag: "keep") { ... on Study { id name } } }`);
    await ok(`mutation { setNote(id: "${studyId}", note: "looks leaky") { __typename } }`);
    await ok(`mutation { setNote(id: "${studyId}", note: "  ") { __typename } }`);
    const renamed = await ok(`mutation { renameStudy(id: "${studyId}", name: " Better name ") { id name } }`);
    assert.equal(renamed.renameStudy.id, studyId);
    assert.deepStrictEqual((await ok(`mutation { deleteRun(id: "${gbm}") { id runs } }`)).deleteRun, {
      id: gbm,
      runs: 1,
    });
    assert.deepStrictEqual((await ok(`mutation { deleteStudy(id: "${studyId}") { id runs } }`)).deleteStudy, {
      id: studyId,
      runs: 2,
    });
    await ok(`mutation { markInterrupted(id: "${running}", reason: "worker lost") { ... on Study { id status } } }`);
    assert.deepStrictEqual(spy.calls, [
      ["tag", gbm, "keep"],
      ["tag", gbm, "keep"],
      ["untag", studyId, "keep"],
      ["setNote", studyId, "looks leaky"],
      ["setNote", studyId, null],
      ["renameStudy", studyId, "Better name"],
      ["deleteRun", gbm],
      ["deleteStudy", studyId],
      ["markInterrupted", running, { message: "worker lost", name: "Interrupted" }, { onlyIfStale: true }],
    ]);
  } finally {
    await store.close();
  }
});

Deno.test({
  name: "mutations (real store): tags, notes, rename, delete with all parts; what the store refuses, and a live study",
  fn: async () => {
    const store = openStore(":memory:");
    try {
      const { studyId, gbm, mlp } = await recordStudy(store);
      const h = createGraphQLHandler(store, { dashboard: false, token: TOKEN });
      const ok = async (text: string) => {
        const res = await ask(h, text);
        assert.equal(res.body.errors, undefined, JSON.stringify(res.body.errors));
        return res.body.data;
      };
      assert.deepStrictEqual(
        (await ok(`mutation { tag(id: "${gbm}", tag: "keep") { ... on Run { tags } } }`)).tag,
        { tags: ["keep"] },
      );
      assert.deepStrictEqual(
        (await ok(`mutation { untag(id: "${gbm}", tag: "keep") { ... on Run { tags } } }`)).untag,
        { tags: [] },
      );
      assert.deepStrictEqual(
        (await ok(`mutation { setNote(id: "${studyId}", note: "n") { ... on Study { note } } }`)).setNote,
        { note: "n" },
      );
      assert.equal(
        (await ok(`mutation { renameStudy(id: "${studyId}", name: "new") { name } }`)).renameStudy.name,
        "new",
      );
      await ok(`mutation { deleteRun(id: "${mlp}") { id } }`);
      assert.equal(
        (await ask(h, `{ run(id: "${mlp}") { id } }`)).body.errors?.[0]?.extensions?.code,
        "NOT_FOUND",
      );
      assert.deepStrictEqual(await store.listFolds([mlp]), []);
      assert.deepStrictEqual(await store.listPredictions([mlp]), []);
      await ok(`mutation { deleteStudy(id: "${studyId}") { id runs } }`);
      assert.deepStrictEqual(await store.getRuns([gbm]), []);
      // A running run cannot be deleted: the store refuses and says why.
      const live = await store.createStudy(sampleStudy());
      const liveRun = await store.createRun(sampleRun({ studyId: live, entry: "gbm" }));
      const refused = await ask(h, `mutation { deleteRun(id: "${liveRun}") { id } }`);
      assert.equal(refused.body.errors?.[0]?.extensions?.code, "STORE_REFUSED");
      assert.match(refused.body.errors[0].message, /running/);
      // A live study (fresh heartbeat) is not marked interrupted.
      const notStale = await ask(h, `mutation { markInterrupted(id: "${live}") { __typename } }`);
      assert.equal(notStale.body.errors?.[0]?.extensions?.code, "BAD_USER_INPUT");
      assert.match(notStale.body.errors[0].message, /is live/);
    } finally {
      await store.close();
    }
  },
});

Deno.test({
  name: "mutations (real store): a study whose heartbeat went stale is marked interrupted with its running runs",
  fn: async () => {
    let now = Date.now();
    const store = openStore(":memory:", { clock: () => now });
    try {
      const id = await store.createStudy(sampleStudy());
      const run = await store.createRun(sampleRun({ studyId: id, entry: "gbm" }));
      now += 61_000; // past the default stale threshold (60 s) without a heartbeat
      const h = createGraphQLHandler(store, { dashboard: false, token: TOKEN });
      const before = await ask(h, `query ($id: ID!) { study(id: $id) { status liveness heartbeatAt } }`, { id });
      assert.equal(before.body.data.study.liveness, "stale");
      const res = await ask(
        h,
        `mutation ($id: ID!) { markInterrupted(id: $id, reason: "worker lost") {
          ... on Study { id status liveness error { message name } runs { id status } }
        } }`,
        { id },
      );
      assert.equal(res.body.errors, undefined, JSON.stringify(res.body.errors));
      assert.deepStrictEqual(res.body.data.markInterrupted, {
        id,
        status: "interrupted",
        liveness: null,
        error: { message: "worker lost", name: "Interrupted" },
        runs: [{ id: run, status: "interrupted" }],
      });
    } finally {
      await store.close();
    }
  },
});
