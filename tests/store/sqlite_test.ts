import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { join } from "node:path";
import { StoreError } from "../../lib/errors.ts";
import { DEFAULT_STORE_PATH, openStore, resolveStoreLocation, SqliteStore } from "../../lib/store/mod.ts";
import { SQLITE_MIGRATIONS } from "../../lib/store/sqlite_schema.ts";
import {
  sampleBacktest,
  sampleFold,
  samplePredictions,
  sampleRun,
  sampleStudy,
  storeContractTests,
} from "./contract.ts";
import { StoreDamagedError, StoreLockedError } from "../../lib/store/store.ts";
import {
  assertVersion1Migrated,
  assertVersion2Migrated,
  fillVersion1,
  fillVersion2,
  type OldDb,
  OldJson,
} from "./_old_versions.ts";
import { checkStore } from "../../lib/store/mod.ts";

async function tempDb(): Promise<{ path: string; dir: string }> {
  const dir = await Deno.makeTempDir({ prefix: "candor-store-" });
  return { path: join(dir, "runs.db"), dir };
}

storeContractTests("sqlite", async (options) => {
  const { path, dir } = await tempDb();
  return { store: openStore(path, options), cleanup: () => Deno.remove(dir, { recursive: true }) };
});

storeContractTests("sqlite :memory:", (options) => Promise.resolve({ store: openStore(":memory:", options) }));

/** Every row of every table, for byte-level before/after comparisons. */
function dump(path: string): Record<string, unknown[]> {
  const db = new DatabaseSync(path);
  try {
    const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as {
      name: string;
    }[];
    const out: Record<string, unknown[]> = {};
    for (const { name } of tables) out[name] = db.prepare(`SELECT * FROM "${name}" ORDER BY rowid`).all();
    return out;
  } finally {
    db.close();
  }
}

Deno.test("sqlite: a refused write leaves every table byte-identical", async () => {
  const { path, dir } = await tempDb();
  const store = openStore(path);
  try {
    const id = await store.createRun(sampleRun());
    await store.appendFold(id, sampleFold(0));
    await store.putBacktest(id, sampleBacktest());
    await store.appendEpochs(id, [{ fold: 0, epoch: 0, trainLoss: 1 }]);
    const before = dump(path);
    const refused = [
      () => store.appendFold(id, sampleFold(0)),
      () => store.appendFold(id, sampleFold(1, { metrics: { accuracy: Infinity } })),
      () => store.appendFold("run_00000000000000000000000000", sampleFold(1)),
      () => store.appendEpochs(id, [{ fold: 0, epoch: 1, trainLoss: 1 }, { fold: 0, epoch: 1, trainLoss: 2 }]),
      // Fails mid-transaction, after epoch 2 was inserted: the insert must be rolled back.
      () => store.appendEpochs(id, [{ fold: 0, epoch: 2, trainLoss: 1 }, { fold: 0, epoch: 0, trainLoss: 2 }]),
      () => store.putBacktest(id, sampleBacktest({ equity: { dates: ["2021-01-01"], values: [NaN] } })),
      () => store.finishRun(id, { status: "failed", error: { message: "" } }),
    ];
    for (const write of refused) await assert.rejects(write, StoreError);
    assert.deepStrictEqual(dump(path), before);
  } finally {
    await store.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("sqlite: opens in WAL mode with foreign keys on and stores epoch milliseconds", async () => {
  const { path, dir } = await tempDb();
  const store = openStore(path);
  try {
    const before = Date.now();
    await store.createRun(sampleRun());
    const raw = new DatabaseSync(path);
    try {
      assert.deepStrictEqual({ ...raw.prepare("PRAGMA journal_mode").get() }, { journal_mode: "wal" });
      const { created_at } = raw.prepare("SELECT created_at FROM runs").get() as { created_at: number };
      // Milliseconds, not seconds or nanoseconds: within a minute of now.
      assert.ok(Math.abs(created_at - before) < 60_000, String(created_at));
    } finally {
      raw.close();
    }
  } finally {
    await store.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("sqlite: the equity curve is stored compactly (12 bytes per point)", async () => {
  const { path, dir } = await tempDb();
  const store = openStore(path);
  try {
    const id = await store.createRun(sampleRun());
    const n = 2520;
    const dates = Array.from(
      { length: n },
      (_, i) => new Date(Date.UTC(2010, 0, 1) + i * 86_400_000).toISOString().slice(0, 10),
    );
    const values = Array.from({ length: n }, (_, i) => 1 + i / n);
    await store.putBacktest(id, sampleBacktest({ equity: { dates, values, buyAndHold: null } }));
    const raw = new DatabaseSync(path);
    const sizes = raw.prepare("SELECT length(equity_dates) AS d, length(equity_values) AS v FROM backtests").get();
    raw.close();
    assert.deepStrictEqual({ ...sizes }, { d: 4 * n, v: 8 * n });
    const bt = (await store.getRun(id))!.backtest!;
    assert.deepStrictEqual(bt.equity.dates, dates);
    assert.deepStrictEqual(bt.equity.values, values);
  } finally {
    await store.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("sqlite migrations: a fresh file is at the latest version and reopening applies nothing", async () => {
  const { path, dir } = await tempDb();
  try {
    const s1 = new SqliteStore(path);
    assert.equal(s1.schemaVersion(), SQLITE_MIGRATIONS.length);
    const id = await s1.createRun(sampleRun());
    await s1.close();
    const s2 = new SqliteStore(path);
    assert.equal(s2.schemaVersion(), SQLITE_MIGRATIONS.length);
    assert.equal((await s2.getRun(id))?.id, id);
    await s2.close();
    const rows = dump(path).schema_version as { version: number }[];
    assert.deepStrictEqual(rows.map((r) => r.version), SQLITE_MIGRATIONS.map((m) => m.version));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("sqlite migrations: forward-only upgrade keeps the data; a failing migration changes nothing", async () => {
  const { path, dir } = await tempDb();
  try {
    const s1 = new SqliteStore(path);
    const id = await s1.createRun(sampleRun());
    await s1.close();
    const broken = [...SQLITE_MIGRATIONS, {
      version: SQLITE_MIGRATIONS.length + 1,
      description: "broken",
      sql: "ALTER TABLE runs ADD COLUMN remark TEXT; THIS IS NOT SQL;",
    }];
    const before = dump(path);
    assert.throws(() => new SqliteStore(path, { migrations: broken }), StoreError);
    assert.deepStrictEqual(dump(path), before);
    const next = [...SQLITE_MIGRATIONS, {
      version: SQLITE_MIGRATIONS.length + 1,
      description: "run remarks",
      sql: "ALTER TABLE runs ADD COLUMN remark TEXT;",
    }];
    const s2 = new SqliteStore(path, { migrations: next });
    assert.equal(s2.schemaVersion(), SQLITE_MIGRATIONS.length + 1);
    assert.equal((await s2.getRun(id))?.id, id);
    await s2.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("sqlite migrations: a database newer than the code is refused untouched", async () => {
  const { path, dir } = await tempDb();
  try {
    await new SqliteStore(path).close();
    const raw = new DatabaseSync(path);
    raw.prepare("INSERT INTO schema_version (version, description, applied_at) VALUES (?, ?, ?)").run(999, "x", 0);
    raw.close();
    const before = dump(path);
    assert.throws(() => openStore(path), (e: unknown) => {
      assert.ok(e instanceof StoreError);
      assert.match(
        e.message,
        new RegExp(`schema version 999, newer than this candor understands \\(${SQLITE_MIGRATIONS.length}\\)`),
      );
      assert.match(e.message, /Upgrade candor/);
      return true;
    });
    assert.deepStrictEqual(dump(path), before);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("sqlite concurrency: a second connection waits for the write lock, retries, then fails cleanly", async () => {
  const { path, dir } = await tempDb();
  const a = openStore(path);
  const b = openStore(path, { busyTimeoutMs: 300, lockRetries: 1 });
  const locker = new DatabaseSync(path);
  try {
    const id = await a.createRun(sampleRun());
    // Writes through two connections interleave and both are visible to each.
    await b.appendFold(id, sampleFold(0));
    await a.appendFold(id, sampleFold(1));
    assert.deepStrictEqual((await b.getRun(id))!.folds.map((f) => f.index), [0, 1]);

    locker.exec("BEGIN IMMEDIATE");
    const t0 = performance.now();
    await assert.rejects(() => b.appendFold(id, sampleFold(2)), (e: unknown) => {
      assert.ok(e instanceof StoreLockedError, String(e));
      assert.match(e.message, /write lock was still held after 2 attempt\(s\) of 300 ms each/);
      assert.match(e.message, new RegExp(`run store at ${path} is locked by another process`));
      assert.match(e.message, /nothing was written/);
      return true;
    });
    const waited = performance.now() - t0;
    assert.ok(waited >= 550, `gave up after ${waited.toFixed(0)} ms, before two 300 ms busy timeouts`);
    // Readers are not blocked by the writer (WAL).
    assert.equal((await b.getRun(id))!.folds.length, 2);
    locker.exec("ROLLBACK");
    await b.appendFold(id, sampleFold(2));
    assert.equal((await a.getRun(id))!.folds.length, 3);
  } finally {
    locker.close();
    await a.close();
    await b.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("sqlite concurrency: a lock released while the writer backs off lets the retry succeed", async () => {
  const { path, dir } = await tempDb();
  const store = openStore(path, { busyTimeoutMs: 100, lockRetries: 3 });
  const locker = new DatabaseSync(path);
  try {
    const id = await store.createRun(sampleRun());
    locker.exec("BEGIN IMMEDIATE");
    // The first attempt blocks this thread for the 100 ms busy timeout; the timer can only fire afterwards, during
    // a backoff pause (the writer awaits between attempts), so the lock is released before a later attempt.
    let released = false;
    const timer = setTimeout(() => {
      locker.exec("ROLLBACK");
      released = true;
    }, 150);
    await store.appendFold(id, sampleFold(0));
    clearTimeout(timer);
    assert.ok(released, "the write succeeded while the lock was still held");
    assert.deepStrictEqual((await store.getRun(id))!.folds.map((f) => f.index), [0]);
  } finally {
    locker.close();
    await store.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("sqlite concurrency: two processes writing at once lose nothing", async () => {
  const { path, dir } = await tempDb();
  const store = openStore(path);
  try {
    const mine = await store.createRun(sampleRun());
    const theirs = await store.createRun(sampleRun());
    const writer = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", new URL("./_concurrent_writer.ts", import.meta.url).pathname, path, theirs, "40"],
      stdout: "piped",
      stderr: "piped",
    }).output();
    for (let i = 0; i < 40; i++) await store.appendFold(mine, sampleFold(i));
    const out = await writer;
    assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
    assert.equal((await store.getRun(mine))!.folds.length, 40);
    assert.deepStrictEqual(
      (await store.getRun(theirs))!.folds.map((f) => f.index),
      Array.from({ length: 40 }, (_, i) => i),
    );
  } finally {
    await store.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("openStore: argument, then CANDOR_DB, then data/candor.db; creates the folder", async () => {
  const { dir } = await tempDb();
  const saved = Deno.env.get("CANDOR_DB");
  try {
    Deno.env.delete("CANDOR_DB");
    assert.equal(resolveStoreLocation(), DEFAULT_STORE_PATH);
    assert.equal(DEFAULT_STORE_PATH, "data/candor.db");
    Deno.env.set("CANDOR_DB", join(dir, "env.db"));
    assert.equal(resolveStoreLocation(), join(dir, "env.db"));
    assert.equal(resolveStoreLocation("x.db"), "x.db");
    assert.equal(resolveStoreLocation(""), join(dir, "env.db"));
    const nested = join(dir, "a", "b", "runs.db");
    const s = openStore(nested);
    await s.createRun(sampleRun());
    await s.close();
    assert.ok((await Deno.stat(nested)).isFile);
    const e = openStore();
    await e.close();
    assert.ok((await Deno.stat(join(dir, "env.db"))).isFile);
  } finally {
    if (saved === undefined) Deno.env.delete("CANDOR_DB");
    else Deno.env.set("CANDOR_DB", saved);
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("openStore: a closed store refuses use; closing twice is harmless", async () => {
  const s = openStore(":memory:");
  await s.close();
  await s.close();
  await assert.rejects(() => s.listRuns(), /closed/);
});

// --- Schema version 2 (studies, predictions) ---

/** A raw connection to an old-version file, writing as the old code did (JSON as text, booleans as 0/1). */
function oldSqlite(db: DatabaseSync): OldDb {
  return {
    dialect: "sqlite",
    exec: (sql, params) => {
      db.prepare(sql).run(
        ...params.map((v) => v instanceof OldJson ? v.text : typeof v === "boolean" ? (v ? 1 : 0) : v),
      );
      return Promise.resolve();
    },
  };
}

/** Rows restricted to `columns` (the columns an older version had). */
function project(rows: unknown[], columns: string[]): unknown[] {
  return rows.map((row) => Object.fromEntries(columns.map((c) => [c, (row as Record<string, unknown>)[c]])));
}

/** Every table's rows restricted to the columns `before` had are unchanged (as sets: rebuilt tables may reorder). */
function assertOldColumnsUnchanged(before: Record<string, unknown[]>, after: Record<string, unknown[]>): void {
  for (const [table, rows] of Object.entries(before)) {
    if (table === "schema_version" || rows.length === 0) continue;
    const columns = Object.keys(rows[0] as object);
    const key = (r: unknown) =>
      JSON.stringify(project([r], columns)[0], (_k, v) => v instanceof Uint8Array ? [...v] : v);
    assert.deepStrictEqual(
      project(after[table], columns).map(key).sort(),
      rows.map(key).sort(),
      `${table}: every value of the old columns is unchanged`,
    );
  }
}

Deno.test("sqlite migration from version 1: every version-1 record is kept, every run gets its study", async () => {
  const { path, dir } = await tempDb();
  try {
    await new SqliteStore(path, { migrations: SQLITE_MIGRATIONS.slice(0, 1) }).close();
    const raw = new DatabaseSync(path);
    const inputs = await fillVersion1(oldSqlite(raw));
    raw.close();
    const version1 = dump(path);
    assert.equal(version1.runs.length, 3);

    // To version 2 first: its migration leaves every version-1 table byte-identical (and the same rows in order).
    await new SqliteStore(path, { migrations: SQLITE_MIGRATIONS.slice(0, 2) }).close();
    const version2 = dump(path);
    for (const table of ["folds", "epochs", "diagnostics", "backtests"]) {
      assert.ok(version1[table].length > 0, table);
      assert.deepStrictEqual(version2[table], version1[table], table);
    }
    const v1Columns = Object.keys(version1.runs[0] as object);
    assert.deepStrictEqual(project(version2.runs, v1Columns), project(version1.runs, v1Columns));

    const store = new SqliteStore(path);
    try {
      assert.equal(store.schemaVersion(), SQLITE_MIGRATIONS.length);
      assertOldColumnsUnchanged(version2, dump(path));
      await assertVersion1Migrated(store, inputs);
    } finally {
      await store.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("sqlite migration from version 2: studies, runs, parts and predictions read back as written", async () => {
  const { path, dir } = await tempDb();
  try {
    await new SqliteStore(path, { migrations: SQLITE_MIGRATIONS.slice(0, 2) }).close();
    const raw = new DatabaseSync(path);
    const fixture = await fillVersion2(oldSqlite(raw));
    raw.close();
    const before = dump(path);
    const store = new SqliteStore(path);
    try {
      assert.equal(store.schemaVersion(), SQLITE_MIGRATIONS.length);
      const after = dump(path);
      assertOldColumnsUnchanged(before, after);
      // The rebuilt tables gained their version-3 columns with empty values; existing predictions are `test`.
      for (const table of ["runs", "studies"]) {
        assert.ok(
          (after[table] as Record<string, unknown>[]).every((r) =>
            r.heartbeat_at === null && r.note === null && r.reopened === "[]"
          ),
          table,
        );
      }
      assert.ok((after.predictions as Record<string, unknown>[]).every((r) => r.split === "test"));
      assert.deepStrictEqual([after.run_tags, after.study_tags], [[], []]);
      await assertVersion2Migrated(store, fixture);
    } finally {
      await store.close();
    }
    // What the old and the new code wrote is sound: the full check finds nothing.
    const report = await checkStore(path, { full: true });
    assert.deepStrictEqual([report.ok, report.problems, report.schemaVersion], [true, [], SQLITE_MIGRATIONS.length]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("sqlite migration to version 3: a failure changes nothing; afterwards foreign keys are on", async () => {
  const { path, dir } = await tempDb();
  try {
    await new SqliteStore(path, { migrations: SQLITE_MIGRATIONS.slice(0, 2) }).close();
    const raw = new DatabaseSync(path);
    const fixture = await fillVersion2(oldSqlite(raw));
    raw.close();
    const before = dump(path);
    const broken = [...SQLITE_MIGRATIONS.slice(0, 2), {
      ...SQLITE_MIGRATIONS[2],
      sql: SQLITE_MIGRATIONS[2].sql + "\nNOT SQL;",
    }];
    assert.throws(() => new SqliteStore(path, { migrations: broken }), StoreError);
    assert.deepStrictEqual(dump(path), before);
    const store = new SqliteStore(path);
    try {
      // Deleting a study cascades to its runs and their parts: the rebuilt tables kept their foreign keys, and
      // the connection has them on again.
      await store.deleteStudy(fixture.studies.succeeded);
      const left = dump(path);
      const runIds = new Set([fixture.runs.gbm, fixture.runs.mlp]);
      for (const table of ["runs", "folds", "epochs", "diagnostics", "backtests", "predictions"]) {
        const key = table === "runs" ? "id" : "run_id";
        assert.ok((left[table] as Record<string, unknown>[]).every((r) => !runIds.has(r[key] as string)), table);
      }
      assert.equal(left.studies.length, 2);
      assert.equal(left.folds.length, before.folds.length - 3);
    } finally {
      await store.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("sqlite: prediction scores are stored as 8-byte little-endian BLOBs (NaN kept), dates and symbols as Int32", async () => {
  const { path, dir } = await tempDb();
  const store = openStore(path);
  try {
    const id = await store.createRun(sampleRun());
    await store.appendPredictions(id, {
      fold: 0,
      dates: ["1970-01-02", "1970-01-02", "2000-01-01"],
      symbols: ["BBB", "AAA", "BBB"],
      values: [1, NaN, -2, 0.5, 0, 3],
      width: 2,
    });
    const raw = new DatabaseSync(path);
    const row = raw.prepare("SELECT * FROM predictions").get() as Record<string, unknown>;
    raw.close();
    const ints = (b: unknown) => {
      const bytes = b as Uint8Array;
      const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      return Array.from({ length: bytes.byteLength / 4 }, (_, i) => v.getInt32(i * 4, true));
    };
    // 1970-01-02 is day 1; 2000-01-01 is day 10957 (30 years, 7 of them leap: 30 × 365 + 7).
    assert.deepStrictEqual(ints(row.dates), [1, 1, 10957]);
    assert.deepStrictEqual(JSON.parse(row.symbol_dictionary as string), ["BBB", "AAA"]);
    assert.deepStrictEqual(ints(row.symbol_codes), [0, 1, 0]);
    const scores = row.scores as Uint8Array;
    assert.equal(scores.byteLength, 6 * 8);
    const view = new DataView(scores.buffer, scores.byteOffset, scores.byteLength);
    assert.equal(view.getFloat64(16, true), -2);
    assert.ok(Number.isNaN(view.getFloat64(8, true)));
    assert.deepStrictEqual([row.n_rows, row.width], [3, 2]);
  } finally {
    await store.close();
    await Deno.remove(dir, { recursive: true });
  }
});

// Dashboard read queries: the change token sees writes committed by another connection (another process alike).
Deno.test("sqlite: changeToken changes when another connection commits a write", async () => {
  const { path, dir } = await tempDb();
  const reader = openStore(path);
  const writer = openStore(path);
  try {
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
    await Deno.remove(dir, { recursive: true });
  }
});

// --- Damage: every failure is a StoreError naming the file, and a damaged file is never written into ---

/** A store with studies, runs, folds, epochs, backtests and predictions, written without deletes (no free pages). */
async function filledStore(path: string): Promise<{ studies: string[]; runs: string[] }> {
  const store = openStore(path);
  const studies: string[] = [];
  const runs: string[] = [];
  try {
    for (let s = 0; s < 4; s++) {
      const studyId = await store.createStudy(sampleStudy());
      studies.push(studyId);
      for (const entry of ["gbm", "mlp"]) {
        const runId = await store.createRun(sampleRun({ studyId, entry }));
        runs.push(runId);
        for (let f = 0; f < 4; f++) {
          await store.recordFold(runId, sampleFold(f), {
            predictions: [samplePredictions(f, 2000, 1)],
            epochs: Array.from({ length: 20 }, (_, epoch) => ({ fold: f, epoch, trainLoss: 1 / (epoch + 1) })),
          });
        }
        await store.finishRun(runId, { status: "succeeded" });
      }
      await store.finishStudy(studyId, { status: "succeeded" });
    }
  } finally {
    await store.close();
  }
  return { studies, runs };
}

/** Overwrites `length` bytes at `offset` with bytes from a seeded generator (xorshift32); returns the file's bytes. */
function damage(path: string, offset: number, length: number, seed = 0x9e3779b9): Uint8Array {
  const bytes = new Uint8Array(length);
  let x = seed >>> 0;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    bytes[i] = x & 0xff;
  }
  const file = Deno.openSync(path, { write: true });
  try {
    file.seekSync(offset, Deno.SeekMode.Start);
    file.writeSync(bytes);
  } finally {
    file.close();
  }
  return Deno.readFileSync(path);
}

/** The first page of `table` (its b-tree root) and the page size, read from an intact file. */
function rootPage(path: string, table: string): { offset: number; pageSize: number } {
  const db = new DatabaseSync(path, { readOnly: true });
  try {
    const { page_size } = db.prepare("PRAGMA page_size").get() as { page_size: number };
    const { rootpage } = db.prepare("SELECT rootpage FROM sqlite_master WHERE name = ?").get(table) as {
      rootpage: number;
    };
    return { offset: (rootpage - 1) * page_size, pageSize: page_size };
  } finally {
    db.close();
  }
}

/** Asserts `e` reports damage of the store at `path` as a StoreDamagedError. */
function assertDamage(e: unknown, path: string): true {
  assert.ok(e instanceof StoreDamagedError, `expected a StoreDamagedError, got ${e}`);
  assert.ok(e.message.includes(path), e.message);
  assert.match(e.message, /damaged/);
  assert.match(e.message, /candor db check --db .* --full/);
  return true;
}

Deno.test("sqlite damage: 16 KB of random bytes in the middle is reported by opening or reading, and nothing is written into the file", async () => {
  const { path, dir } = await tempDb();
  try {
    const { runs } = await filledStore(path);
    const size = (await Deno.stat(path)).size;
    assert.ok(size > 1_000_000, `store of ${size} bytes`);
    const damaged = damage(path, Math.floor(size / 2), 16 * 1024);
    const errors: unknown[] = [];
    const attempt = async (fn: () => unknown) => {
      try {
        await fn();
      } catch (e) {
        errors.push(e);
      }
    };
    let store: ReturnType<typeof openStore> | undefined;
    await attempt(() => store = openStore(path));
    if (store !== undefined) {
      const s = store;
      await attempt(() => s.listStudies({ limit: 1000 }));
      await attempt(() => s.listRuns({ limit: 1000 }));
      for (const id of runs) await attempt(() => s.getRun(id));
      await attempt(() => s.listPredictions(runs));
      await attempt(() => s.queryRuns({ first: 1000 }));
      const before = errors.length;
      await attempt(() => s.createStudy(sampleStudy()));
      assert.equal(errors.length, before + 1, "a write into the damaged store was accepted");
      await s.close();
    }
    assert.ok(errors.length > 0, "the damage went unnoticed");
    for (const e of errors) assertDamage(e, path);
    assert.deepStrictEqual(Deno.readFileSync(path), damaged, "the damaged file was written into");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("sqlite damage: a damaged runs table or header is refused at open, before anything is written", async () => {
  const { path, dir } = await tempDb();
  try {
    await filledStore(path);
    const pristine = Deno.readFileSync(path);
    const { offset, pageSize } = rootPage(path, "runs");
    const damaged = damage(path, offset, pageSize);
    assert.throws(() => openStore(path), (e: unknown) => assertDamage(e, path));
    assert.throws(() => openStore(path), /nothing was written/);
    assert.deepStrictEqual(Deno.readFileSync(path), damaged);

    Deno.writeFileSync(path, pristine);
    const header = damage(path, 0, 100);
    assert.throws(() => openStore(path), (e: unknown) => assertDamage(e, path) && /not a database/.test(String(e)));
    assert.deepStrictEqual(Deno.readFileSync(path), header);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("sqlite damage: damaged prediction arrays open (the open check skips them), fail every read of them and refuse every write", async () => {
  const { path, dir } = await tempDb();
  try {
    const { runs } = await filledStore(path);
    const { offset, pageSize } = rootPage(path, "predictions");
    const damaged = damage(path, offset, pageSize);
    const store = openStore(path);
    try {
      // What the open check covers still reads.
      assert.equal((await store.listRuns({ limit: 1000 })).length, runs.length);
      assert.equal((await store.getRun(runs[0]))!.folds.length, 4);
      await assert.rejects(() => store.listPredictions(runs), (e: unknown) => assertDamage(e, path));
      // The whole-file check before the first write finds the damage; later writes are refused at once.
      await assert.rejects(() => store.createStudy(sampleStudy()), (e: unknown) => assertDamage(e, path));
      await assert.rejects(() => store.tag(runs[0], "x"), (e: unknown) => assertDamage(e, path));
    } finally {
      await store.close();
    }
    assert.deepStrictEqual(Deno.readFileSync(path), damaged);
    const quick = await checkStore(path);
    const full = await checkStore(path, { full: true });
    for (const report of [quick, full]) {
      assert.equal(report.ok, false);
      assert.ok(report.problems.length > 0);
      assert.ok(report.notes.some((n) => /\.recover/.test(n)), JSON.stringify(report.notes));
    }
    assert.deepStrictEqual([quick.level, full.level], ["quick", "full"]);
    assert.deepStrictEqual(Deno.readFileSync(path), damaged, "checking wrote into the file");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("checkStore (sqlite): a sound store is ok with its version and counts; a missing file is an error", async () => {
  const { path, dir } = await tempDb();
  try {
    const { studies, runs } = await filledStore(path);
    const before = Deno.readFileSync(path);
    for (const full of [false, true]) {
      const report = await checkStore(path, { full });
      assert.deepStrictEqual(
        [report.ok, report.backend, report.location, report.schemaVersion, report.latestVersion, report.problems],
        [true, "sqlite", path, SQLITE_MIGRATIONS.length, SQLITE_MIGRATIONS.length, []],
      );
      assert.deepStrictEqual(report.counts, { studies: studies.length, runs: runs.length });
      assert.equal(report.bytes, before.length);
    }
    assert.deepStrictEqual(Deno.readFileSync(path), before);
    await assert.rejects(() => checkStore(join(dir, "nothing.db")), /no SQLite run store at .*nothing\.db/);
    // A version-2 file is reported with the pending migration, and left at version 2.
    const old = join(dir, "old.db");
    await new SqliteStore(old, { migrations: SQLITE_MIGRATIONS.slice(0, 2) }).close();
    const report = await checkStore(old);
    assert.deepStrictEqual([report.ok, report.schemaVersion], [true, 2]);
    assert.match(
      report.notes.join("\n"),
      new RegExp(`schema version 2: .* migrates it to ${SQLITE_MIGRATIONS.length}`),
    );
    assert.equal((await checkStore(old)).schemaVersion, 2);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("sqlite damage: with the open check off, every read that meets damage is a StoreDamagedError, and writes are refused after it", async () => {
  const { path, dir } = await tempDb();
  try {
    const { studies, runs } = await filledStore(path);
    const { offset, pageSize } = rootPage(path, "runs");
    const damaged = damage(path, offset, pageSize);
    const store = openStore(path, { integrityCheck: "off" });
    try {
      const reads: [string, () => Promise<unknown>][] = [
        ["listRuns", () => store.listRuns()],
        ["getRun", () => store.getRun(runs[0])],
        ["getRuns", () => store.getRuns(runs)],
        ["queryRuns", () => store.queryRuns()],
        ["getStudy", () => store.getStudy(studies[0])],
      ];
      for (const [name, read] of reads) {
        await assert.rejects(
          read,
          (e: unknown) => assertDamage(e, path) && e instanceof Error && e.message.startsWith(name),
        );
      }
      await assert.rejects(() => store.createStudy(sampleStudy()), (e: unknown) => {
        assertDamage(e, path);
        assert.match(String(e), /found by listRuns/);
        return true;
      });
    } finally {
      await store.close();
    }
    assert.deepStrictEqual(Deno.readFileSync(path), damaged);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
