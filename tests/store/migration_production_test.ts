/**
 * The upgrade to schema version 4 (production tables), on both backends: a database written by version 3 (a study with
 * a finished run: folds, epochs, diagnostics, predictions, backtest) reads back identical after the upgrade, table by
 * table; the new tables exist, empty, and take writes. (The upgrade to version 5 is in migration_retired_test.ts.)
 */

import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { join } from "node:path";
import postgres from "postgres";
import { PostgresStore, SqliteStore } from "../../lib/store/mod.ts";
import type { Store } from "../../lib/store/mod.ts";
import { SQLITE_MIGRATIONS } from "../../lib/store/sqlite_schema.ts";
import { POSTGRES_MIGRATIONS } from "../../lib/store/postgres_schema.ts";
import { samplePredictions, sampleRun, sampleStudy } from "./contract.ts";
import { sampleBacktest, sampleFold } from "./contract.ts";
import { sampleModel } from "./contract_production.ts";
import { postgresForTests } from "./_postgres_cluster.ts";

const PRODUCTION_TABLES = [
  "models",
  "production_batches",
  "production_predictions",
  "run_backtests",
  "sweeps",
  "trials",
];

/** Writes a finished study through the API of a store at schema version 3. */
async function fillPrevious(store: Store): Promise<string> {
  const studyId = await store.createStudy(sampleStudy());
  const runId = await store.createRun(sampleRun({ studyId, entry: "gbm", dataFingerprint: "sha256:aa" }));
  await store.appendFold(runId, sampleFold(0));
  await store.appendPredictions(runId, samplePredictions(0, 6));
  await store.appendEpochs(runId, [{ fold: 0, epoch: 0, trainLoss: NaN, valLoss: 0.7 }]);
  await store.appendDiagnostics(runId, [{ fold: 0, kind: "sign-bias", severity: "warning", message: "m" }]);
  await store.putBacktest(runId, sampleBacktest());
  await store.finishRun(runId, { status: "succeeded", summary: { pooled: { accuracy: 0.52 } } });
  return runId;
}

Deno.test("sqlite migration to version 4: every earlier record is kept; the production tables start empty", async () => {
  const dir = await Deno.makeTempDir({ prefix: "candor-v4-" });
  const path = join(dir, "runs.db");
  try {
    const old = new SqliteStore(path, { migrations: SQLITE_MIGRATIONS.slice(0, 3) });
    const runId = await fillPrevious(old);
    await old.close();
    const dump = () => {
      const db = new DatabaseSync(path);
      try {
        const names = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as {
          name: string;
        }[]).map((t) => t.name).filter((n) => n !== "schema_version" && n !== "sqlite_sequence");
        return Object.fromEntries(names.map((n) => [n, db.prepare(`SELECT * FROM "${n}" ORDER BY rowid`).all()]));
      } finally {
        db.close();
      }
    };
    const before = dump();
    for (const t of PRODUCTION_TABLES) assert.equal(before[t], undefined, `${t} before the upgrade`);
    const store = new SqliteStore(path, { migrations: SQLITE_MIGRATIONS.slice(0, 4) });
    try {
      assert.equal(store.schemaVersion(), 4);
      const after = dump();
      for (const [table, rows] of Object.entries(before)) assert.deepStrictEqual(after[table], rows, table);
      for (const t of PRODUCTION_TABLES) assert.deepStrictEqual(after[t], [], t);
      // The upgraded store takes production writes against the old records.
      const m = sampleModel({ runId });
      await store.registerModel(m);
      await store.addRunBacktest(runId, sampleBacktest({ lag: 2 }));
      assert.equal((await store.listRunBacktests([runId]))[0].lag, 2);
      assert.equal((await store.getModels([m.id]))[0].runId, runId);
    } finally {
      await store.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

const server = await postgresForTests();
if ("skip" in server) {
  Deno.test({ name: `postgres migration to version 4: skipped — ${server.skip}`, ignore: true, fn: () => {} });
} else {
  Deno.test("postgres migration to version 4: every earlier record is kept; the production tables start empty", async () => {
    const schema = `candor_v4_${Date.now().toString(36)}`;
    const admin = postgres(server.url, { onnotice: () => {}, max: 1 });
    try {
      const old = new PostgresStore(server.url, { schema, migrations: POSTGRES_MIGRATIONS.slice(0, 3) });
      const runId = await fillPrevious(old);
      await old.close();
      const tables = async () => {
        const names = (await admin.unsafe(
          `SELECT table_name FROM information_schema.tables WHERE table_schema = $1 AND table_name <> 'schema_version'
             ORDER BY table_name`,
          [schema],
        )).map((r) => r.table_name as string);
        const out: Record<string, unknown[]> = {};
        for (const n of names) out[n] = [...await admin.unsafe(`SELECT * FROM "${schema}"."${n}" ORDER BY 1, 2`)];
        return out;
      };
      const before = await tables();
      const store = new PostgresStore(server.url, { schema, migrations: POSTGRES_MIGRATIONS.slice(0, 4) });
      try {
        assert.equal(await store.schemaVersion(), 4);
        const after = await tables();
        for (const [table, rows] of Object.entries(before)) assert.deepStrictEqual(after[table], rows, table);
        for (const t of PRODUCTION_TABLES) assert.deepStrictEqual(after[t], [], t);
        await store.registerModel(sampleModel({ runId }));
        await store.addRunBacktest(runId, sampleBacktest({ lag: 2 }));
        assert.equal((await store.listRunBacktests([runId]))[0].lag, 2);
      } finally {
        await store.close();
      }
    } finally {
      await admin.unsafe(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await admin.end();
    }
  });
}
