import assert from "node:assert/strict";
import postgres from "postgres";
import { StoreError } from "../../lib/errors.ts";
import { openStore, PostgresStore, redactUrl } from "../../lib/store/mod.ts";
import { POSTGRES_MIGRATIONS } from "../../lib/store/postgres_schema.ts";
import { sampleFold, sampleRun, sampleStudy, storeContractTests } from "./contract.ts";
import { postgresForTests } from "./_postgres_cluster.ts";
import { assertMigrated, assertVersion1Run, fillVersion1 } from "./_version1.ts";
import type { Run } from "../../lib/store/store.ts";

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

  // --- Schema version 2 (studies, predictions) ---

  Deno.test("postgres: a run joining a study races its sealing on another connection; exactly one wins", async () => {
    const schema = freshSchema();
    const a = openStore(url, { schema });
    const b = openStore(url, { schema });
    try {
      await a.listRuns();
      await b.listRuns(); // both migrated
      for (let i = 0; i < 10; i++) {
        const studyId = await a.createStudy(sampleStudy());
        const [joined, sealed] = await Promise.allSettled([
          a.createRun(sampleRun({ studyId, entry: "gbm" })),
          b.finishStudy(studyId, { status: "succeeded" }),
        ]);
        // Run first: the study has a running run and refuses to seal. Seal first: the sealed study refuses the run.
        assert.equal([joined, sealed].filter((r) => r.status === "fulfilled").length, 1, `round ${i}`);
        const loser = (joined.status === "rejected" ? joined : sealed) as PromiseRejectedResult;
        assert.ok(loser.reason instanceof StoreError, String(loser.reason));
        const study = (await b.getStudy(studyId))!;
        assert.equal(study.status === "succeeded", joined.status === "rejected");
        assert.equal(study.runs.length, joined.status === "fulfilled" ? 1 : 0);
      }
    } finally {
      await a.close();
      await b.close();
      await dropSchema(schema);
    }
  });

  Deno.test("postgres migration to version 2: every version-1 record is kept and every run gets its study", async () => {
    const schema = freshSchema();
    const admin = postgres(url, { onnotice: () => {}, max: 1 });
    const v1Columns =
      "id, created_at, finished_at, status, error, config, seed, model, symbols, data_source, backend, " +
      "leakage_override, summary";
    const tables = async () => ({
      runs: await admin.unsafe(`SELECT ${v1Columns} FROM "${schema}".runs ORDER BY id`),
      folds: await admin.unsafe(`SELECT * FROM "${schema}".folds ORDER BY run_id, fold_index`),
      epochs: await admin.unsafe(
        `SELECT * FROM "${schema}".epochs ORDER BY run_id, coalesce(fold_index, -1), epoch`,
      ),
      diagnostics: await admin.unsafe(`SELECT * FROM "${schema}".diagnostics ORDER BY seq`),
      backtests: await admin.unsafe(`SELECT * FROM "${schema}".backtests ORDER BY run_id`),
    });
    try {
      const v1 = new PostgresStore(url, { schema, migrations: POSTGRES_MIGRATIONS.slice(0, 1) });
      assert.equal(await v1.schemaVersion(), 1);
      const inputs = await fillVersion1(v1, async (r) => {
        await admin.unsafe(
          `INSERT INTO "${schema}".runs (id, created_at, status, config, seed, model, symbols, data_source, backend,
             leakage_override) VALUES ($1, $2, 'running', $3::jsonb, $4, $5, $6::jsonb, $7, $8, $9)`,
          [
            r.id,
            r.createdAt,
            JSON.stringify(r.config),
            r.seed,
            r.model,
            JSON.stringify(r.symbols),
            r.dataSource,
            r.backend,
            r.leakageOverride,
          ],
        );
      });
      const before: Run[] = [];
      for (const r of inputs) before.push((await v1.getRun(r.id))!);
      inputs.forEach((r, i) => assertVersion1Run(before[i], r, i));
      await v1.close();
      const tablesBefore = await tables();
      assert.equal(tablesBefore.runs.length, 3);

      const store = new PostgresStore(url, { schema });
      try {
        assert.equal(await store.schemaVersion(), 2);
        const tablesAfter = await tables();
        for (const [table, rows] of Object.entries(tablesBefore)) {
          assert.ok(rows.length > 0, table);
          assert.deepStrictEqual(
            [...tablesAfter[table as keyof typeof tablesAfter]],
            [...rows],
            table,
          );
        }
        await assertMigrated(store, inputs, before);
      } finally {
        await store.close();
      }
    } finally {
      await admin.end();
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
