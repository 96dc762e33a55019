import assert from "node:assert/strict";
import postgres from "postgres";
import { StoreError } from "../../lib/errors.ts";
import { checkStore, openStore, PostgresStore, redactUrl } from "../../lib/store/mod.ts";
import { POSTGRES_MIGRATIONS } from "../../lib/store/postgres_schema.ts";
import { StoreUnavailableError } from "../../lib/store/store.ts";
import { sampleFold, sampleRun, sampleStudy, storeContractTests } from "./contract.ts";
import { postgresForTests } from "./_postgres_cluster.ts";
import {
  assertVersion1Migrated,
  assertVersion2Migrated,
  fillVersion1,
  fillVersion2,
  type OldDb,
  OldJson,
} from "./_old_versions.ts";

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

  storeContractTests("postgres", (options) => {
    const schema = freshSchema();
    return Promise.resolve({ store: openStore(url, { ...options, schema }), cleanup: () => dropSchema(schema) });
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

  /** A raw connection to an old-version schema, writing JSON as the old code stored it: a JSON string of the text. */
  const oldPostgres = (admin: postgres.Sql, schema: string): OldDb => ({
    dialect: "postgres",
    exec: async (sql, params) => {
      let n = 0;
      const text = sql
        .replace(/^(INSERT INTO|UPDATE) (\w+)/, `$1 "${schema}".$2`)
        .replace(/\?/g, () => {
          const v = params[n++];
          return v instanceof OldJson ? `to_${v.type}($${n}::text)` : `$${n}`;
        });
      await admin.unsafe(
        text,
        params.map((v) => v instanceof OldJson ? v.text : v) as postgres.ParameterOrJSON<never>[],
      );
    },
  });

  /** Every row of the store's tables in `schema`, as text (key order and exact values visible). */
  const tablesAsText = async (admin: postgres.Sql, schema: string, tables: string[]) => {
    const out: Record<string, string[]> = {};
    for (const t of tables) {
      const rows = await admin.unsafe(`SELECT t::text AS row FROM "${schema}".${t} t`);
      out[t] = rows.map((r) => r.row as string).sort();
    }
    return out;
  };

  Deno.test("postgres migration from version 1: every version-1 record is kept, every run gets its study", async () => {
    const schema = freshSchema();
    const admin = postgres(url, { onnotice: () => {}, max: 1 });
    const v1Tables = ["folds", "epochs", "diagnostics", "backtests"];
    try {
      const v1 = new PostgresStore(url, { schema, migrations: POSTGRES_MIGRATIONS.slice(0, 1) });
      assert.equal(await v1.schemaVersion(), 1);
      await v1.close();
      const inputs = await fillVersion1(oldPostgres(admin, schema));
      const version1 = await tablesAsText(admin, schema, v1Tables);
      // The version-2 migration leaves every version-1 table as it was.
      const v2 = new PostgresStore(url, { schema, migrations: POSTGRES_MIGRATIONS.slice(0, 2) });
      assert.equal(await v2.schemaVersion(), 2);
      await v2.close();
      assert.deepStrictEqual(await tablesAsText(admin, schema, v1Tables), version1);
      const store = new PostgresStore(url, { schema });
      try {
        assert.equal(await store.schemaVersion(), POSTGRES_MIGRATIONS.length);
        await assertVersion1Migrated(store, inputs);
      } finally {
        await store.close();
      }
    } finally {
      await admin.end();
      await dropSchema(schema);
    }
  });

  Deno.test("postgres migration from version 2: JSON strings become documents, key order and every value kept", async () => {
    const schema = freshSchema();
    const admin = postgres(url, { onnotice: () => {}, max: 1 });
    try {
      const v2 = new PostgresStore(url, { schema, migrations: POSTGRES_MIGRATIONS.slice(0, 2) });
      assert.equal(await v2.schemaVersion(), 2);
      await v2.close();
      const fixture = await fillVersion2(oldPostgres(admin, schema));
      // As the version-2 write path left them: every JSON column holds a string (the bug), not a document.
      const [{ kind, text }] = await admin.unsafe(
        `SELECT jsonb_typeof(summary) AS kind, summary #>> '{}' AS text FROM "${schema}".studies WHERE id = $1`,
        [fixture.studies.succeeded],
      );
      assert.equal(kind, "string");
      const summaryText = text as string;

      const store = new PostgresStore(url, { schema });
      try {
        assert.equal(await store.schemaVersion(), POSTGRES_MIGRATIONS.length);
        await assertVersion2Migrated(store, fixture);
      } finally {
        await store.close();
      }
      // Documents now: queryable by path, typed as objects, the text exactly as written (key order included).
      const q = (sql: string, params: unknown[] = []) =>
        admin.unsafe(sql.replaceAll("S.", `"${schema}".`), params as postgres.ParameterOrJSON<never>[]);
      const [doc] = await q(
        `SELECT summary->'comparison'->0->>'verdict' AS verdict, json_typeof(summary) AS kind, summary::text AS text,
           summary::jsonb @? '$.comparison[*] ? (@.verdict == "no-edge")' AS has_no_edge
         FROM S.studies WHERE id = $1`,
        [fixture.studies.succeeded],
      );
      assert.deepStrictEqual({ ...doc }, { verdict: "edge", kind: "object", text: summaryText, has_no_edge: true });
      const [{ pooled }] = await q(`SELECT summary->'pooled'->>'accuracy' AS pooled FROM S.runs WHERE id = $1`, [
        fixture.runs.gbm,
      ]);
      assert.equal(pooled, "0.53");
      for (
        const [table, column] of [
          ["studies", "config"],
          ["studies", "entries"],
          ["runs", "config"],
          ["runs", "symbols"],
          ["folds", "metrics"],
          ["folds", "fit_report"],
          ["folds", "train"],
          ["epochs", "extra"],
          ["diagnostics", "data"],
          ["backtests", "details"],
          ["backtests", "warnings"],
        ]
      ) {
        const rows = await q(
          `SELECT DISTINCT json_typeof(${column}) AS kind FROM S.${table} WHERE ${column} IS NOT NULL`,
        );
        assert.ok(rows.length > 0, `${table}.${column}`);
        assert.deepStrictEqual(rows.map((r) => r.kind).filter((k) => k !== "object" && k !== "array"), [], column);
      }
      const [{ dict }] = await q(`SELECT DISTINCT jsonb_typeof(symbol_dictionary) AS dict FROM S.predictions`);
      assert.equal(dict, "array");
      const report = await checkStore(url, { schema, full: true });
      assert.deepStrictEqual([report.ok, report.problems, report.schemaVersion], [
        true,
        [],
        POSTGRES_MIGRATIONS.length,
      ]);
    } finally {
      await admin.end();
      await dropSchema(schema);
    }
  });

  Deno.test("postgres: new writes store JSON as documents (the version-2 write path stored strings)", async () => {
    const schema = freshSchema();
    const store = openStore(url, { schema });
    const admin = postgres(url, { onnotice: () => {}, max: 1 });
    try {
      const studyId = await store.createStudy(sampleStudy());
      const runId = await store.createRun(sampleRun({ studyId, entry: "gbm" }));
      await store.recordFold(runId, sampleFold(0), { epochs: [{ fold: 0, epoch: 0, trainLoss: 1, extra: { a: 1 } }] });
      await store.finishRun(runId, { status: "succeeded", summary: { pooled: { zeta: 1, alpha: 2 } } });
      await store.markInterrupted(studyId, { message: "stop", signal: "SIGTERM" });
      const [row] = await admin.unsafe(
        `SELECT json_typeof(r.config) AS config, r.summary::text AS summary, r.summary->'pooled'->>'zeta' AS zeta,
           json_typeof(f.metrics) AS metrics, json_typeof(e.extra) AS extra, s.error->>'signal' AS signal
         FROM "${schema}".runs r JOIN "${schema}".folds f ON f.run_id = r.id JOIN "${schema}".epochs e ON e.run_id = r.id
           JOIN "${schema}".studies s ON s.id = r.study_id`,
      );
      assert.deepStrictEqual({ ...row }, {
        config: "object",
        summary: '{"pooled":{"zeta":1,"alpha":2}}',
        zeta: "1",
        metrics: "object",
        extra: "object",
        signal: "SIGTERM",
      });
    } finally {
      await admin.end();
      await store.close();
      await dropSchema(schema);
    }
  });

  Deno.test("postgres outage: a missing database and an unknown login are reported as such", async () => {
    const base = new URL(url);
    const noDatabase = new URL(url);
    noDatabase.pathname = "/candor_no_such_database";
    const noRole = new URL(url);
    noRole.username = "candor_no_such_role";
    for (
      const [where, message] of [
        [noDatabase.href, /is unavailable: database "candor_no_such_database" does not exist: create it/],
        [noRole.href, /is unavailable: the server refused the login .*candor_no_such_role.*check the user/],
      ] as const
    ) {
      const store = openStore(where);
      try {
        await assert.rejects(() => store.listStudies(), (e: unknown) => {
          assert.ok(e instanceof StoreUnavailableError, String(e));
          assert.match(e.message, message);
          return true;
        });
        await assert.rejects(() => checkStore(where), StoreUnavailableError);
      } finally {
        await store.close();
      }
    }
    assert.equal((await checkStore(base.href, { schema: freshSchema() })).schemaVersion, 0);
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

Deno.test("postgres outage: every read and write on a closed port is a StoreUnavailableError naming the redacted URL", async () => {
  assert.equal(redactUrl("postgres://me:secret@db:5432/x"), "postgres://me:***@db:5432/x");
  // A port nothing listens on: bound, then released.
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  const url = `postgres://me:secret@127.0.0.1:${port}/candor`;
  const store = openStore(url, { connectTimeoutSeconds: 5 });
  assert.equal(store.backend, "postgres");
  const calls: [string, () => Promise<unknown>][] = [
    ["listRuns", () => store.listRuns()],
    ["getRun", () => store.getRun("run_00000000000000000000000000")],
    ["listStudies", () => store.listStudies()],
    ["queryRuns", () => store.queryRuns()],
    ["listPredictions", () => store.listPredictions(["run_00000000000000000000000000"])],
    ["changeToken", () => store.changeToken()],
    ["createStudy", () => store.createStudy(sampleStudy())],
    ["tag", () => store.tag("run_00000000000000000000000000", "x")],
    ["check", () => checkStore(url)],
  ];
  try {
    for (const [name, call] of calls) {
      await assert.rejects(call, (e: unknown) => {
        assert.ok(e instanceof StoreUnavailableError, `${name}: ${e}`);
        assert.doesNotMatch(e.message, /secret/, name);
        assert.ok(e.message.includes(`postgres://me:***@127.0.0.1:${port}/candor`), `${name}: ${e.message}`);
        assert.match(e.message, /is unavailable: connection refused .*is the server running/, name);
        return true;
      });
    }
  } finally {
    await store.close();
  }
});
