import assert from "node:assert/strict";
import postgres from "postgres";
import { StoreError } from "../../lib/errors.ts";
import { openStore, PostgresStore, redactUrl } from "../../lib/store/mod.ts";
import { POSTGRES_MIGRATIONS } from "../../lib/store/postgres_schema.ts";
import { sampleFold, sampleRun, storeContractTests } from "./contract.ts";
import { postgresForTests } from "./_postgres_cluster.ts";

const server = await postgresForTests();

if ("skip" in server) {
  Deno.test({ name: `store (postgres): skipped — ${server.skip}`, ignore: true, fn: () => {} });
} else {
  const url = server.url;
  let counter = 0;
  /** A fresh schema per test, dropped afterwards. */
  const freshSchema = () => `candor_test_${Date.now().toString(36)}_${counter++}`;
  const dropSchema = async (schema: string) => {
    const admin = postgres(url, { onnotice: () => {}, max: 1 });
    try {
      await admin.unsafe(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    } finally {
      await admin.end();
    }
  };

  storeContractTests("postgres", () => {
    const schema = freshSchema();
    return Promise.resolve({ store: openStore(url, { schema }), cleanup: () => dropSchema(schema) });
  });

  Deno.test("postgres: migrations run once; a database newer than the code is refused untouched", async () => {
    const schema = freshSchema();
    try {
      const a = new PostgresStore(url, { schema });
      assert.equal(await a.schemaVersion(), POSTGRES_MIGRATIONS.length);
      const id = await a.createRun(sampleRun());
      await a.close();
      const b = new PostgresStore(url, { schema });
      assert.equal(await b.schemaVersion(), POSTGRES_MIGRATIONS.length);
      assert.equal((await b.getRun(id))?.id, id);
      await b.close();

      const admin = postgres(url, { onnotice: () => {}, max: 1 });
      await admin.unsafe(`INSERT INTO "${schema}".schema_version VALUES (999, 'future', 0)`);
      await admin.end();
      const c = new PostgresStore(url, { schema });
      await assert.rejects(() => c.listRuns(), (e: unknown) => {
        assert.ok(e instanceof StoreError);
        assert.match(e.message, /schema version 999, newer than this candor understands/);
        return true;
      });
      await c.close();
    } finally {
      await dropSchema(schema);
    }
  });

  Deno.test("postgres: concurrent writers on two connections; a racing duplicate fold is written once", async () => {
    const schema = freshSchema();
    const a = openStore(url, { schema });
    const b = openStore(url, { schema });
    try {
      const id = await a.createRun(sampleRun());
      await b.listRuns(); // both migrated
      await Promise.all(
        Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? a : b).appendFold(id, sampleFold(i))),
      );
      assert.deepStrictEqual((await a.getRun(id))!.folds.map((f) => f.index), Array.from({ length: 20 }, (_, i) => i));
      const race = await Promise.allSettled([a.appendFold(id, sampleFold(99)), b.appendFold(id, sampleFold(99))]);
      assert.equal(race.filter((r) => r.status === "fulfilled").length, 1);
      const rejected = race.find((r) => r.status === "rejected") as PromiseRejectedResult;
      assert.ok(rejected.reason instanceof StoreError);
      assert.equal((await b.getRun(id))!.folds.filter((f) => f.index === 99).length, 1);
    } finally {
      await a.close();
      await b.close();
      await dropSchema(schema);
    }
  });

  // Dashboard read queries: the change token sees writes committed through another connection pool.
  Deno.test("postgres: changeToken changes when another connection commits a write", async () => {
    const schema = freshSchema();
    const reader = openStore(url, { schema });
    const writer = openStore(url, { schema });
    try {
      await reader.listRuns();
      const t0 = await reader.changeToken();
      assert.equal(await reader.changeToken(), t0);
      const id = await writer.createRun(sampleRun());
      const t1 = await reader.changeToken();
      assert.notEqual(t1, t0);
      await writer.appendFold(id, sampleFold(0));
      assert.notEqual(await reader.changeToken(), t1);
    } finally {
      await reader.close();
      await writer.close();
      await dropSchema(schema);
    }
  });
}

Deno.test("postgres: an unreachable server is a StoreError that never shows the password", async () => {
  assert.equal(redactUrl("postgres://me:secret@db:5432/x"), "postgres://me:***@db:5432/x");
  const store = openStore("postgres://me:secret@127.0.0.1:1/candor");
  assert.equal(store.backend, "postgres");
  try {
    await assert.rejects(() => store.listRuns(), (e: unknown) => {
      assert.ok(e instanceof StoreError);
      assert.doesNotMatch(e.message, /secret/);
      assert.match(e.message, /me:\*\*\*@127\.0\.0\.1:1/);
      return true;
    });
  } finally {
    await store.close();
  }
});
