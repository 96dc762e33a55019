/**
 * The upgrade to schema version 5 (retired trials), on both backends: a store written by version 4 with trials under
 * a key (two succeeded runs, a backtest added to one, a sweep) counts exactly those trials after the upgrade, with an
 * empty `retired_trials` table; deleting a run afterwards moves its trials there, one row per trial with the run id,
 * the added backtest's seq and the per-period Sharpe ratio, and leaves N and the Sharpe ratios unchanged. `checkStore`
 * knows version 5 and reports a retired trial whose run is still stored.
 */

import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { join } from "node:path";
import postgres from "postgres";
import { PostgresStore, SqliteStore } from "../../lib/store/mod.ts";
import type { Store, TrialCount } from "../../lib/store/mod.ts";
import { checkStore } from "../../lib/store/integrity.ts";
import { SQLITE_MIGRATIONS } from "../../lib/store/sqlite_schema.ts";
import { POSTGRES_MIGRATIONS } from "../../lib/store/postgres_schema.ts";
import { sampleBacktest } from "./contract.ts";
import { finishedRun, sampleSweep } from "./contract_production.ts";
import { postgresForTests } from "./_postgres_cluster.ts";

const KEY = { dataFingerprint: "sha256:aa", targetKind: "direction", horizon: 1 };
const ANNUAL = Math.sqrt(252);

/**
 * Trials under {@link KEY}, written through a version-4 store; returns the run to delete, its added backtest, and a
 * run that stays.
 */
async function fillVersion4(store: Store): Promise<{ runId: string; seq: number; kept: string }> {
  const runId = await finishedRun(store, "sha256:aa", { kind: "direction", horizon: 1 }, 0.252 * ANNUAL);
  const seq = await store.addRunBacktest(runId, sampleBacktest({ metrics: { sharpe: 0.1 * ANNUAL } }));
  const kept = await finishedRun(store, "sha256:aa", { kind: "direction", horizon: 1 }, NaN); // no Sharpe ratio
  await store.createSweep(sampleSweep({ runId })); // cells 1.2, 0.3 and an undefined Sharpe ratio
  await finishedRun(store, "sha256:aa", { kind: "direction", horizon: 5 }, ANNUAL); // another key
  return { runId, seq, kept };
}

/** A retired trial of a run still stored: what `checkStore` must report (it would be counted twice). */
const RETIRE_STORED_RUN = `INSERT INTO retired_trials (data_fingerprint, target_kind, horizon, source, run_id,
    backtest_seq, sharpe, retired_at) VALUES ('sha256:aa', 'direction', 1, 'run', $1, NULL, NULL, 0)`;

function assertCounts(got: TrialCount, want: Omit<TrialCount, "sharpes">, sharpes: number[]): void {
  const { sharpes: gotSharpes, ...counts } = got;
  assert.deepStrictEqual(counts, want);
  const g = [...gotSharpes].sort((a, b) => a - b), w = [...sharpes].sort((a, b) => a - b);
  assert.equal(g.length, w.length, `sharpes ${g} vs ${w}`);
  g.forEach((s, i) => assert.ok(Math.abs(s - w[i]) < 1e-12, `${s} vs ${w[i]}`));
}

const SHARPES = [0.252, 0.1, 1.2 / ANNUAL, 0.3 / ANNUAL];

/** Upgrade, count, delete, count: what both backends must show. */
async function upgradedKeepsCounts(
  store: Store,
  old: { runId: string; seq: number },
  retiredRows: () => Promise<Record<string, unknown>[]>,
): Promise<void> {
  assert.deepStrictEqual(await retiredRows(), []);
  const upgraded = await store.countTrials(KEY);
  assertCounts(upgraded, { runs: 2, runBacktests: 1, sweepTrials: 3, retired: 0, total: 6 }, SHARPES);
  await store.deleteRun(old.runId);
  const after = await store.countTrials(KEY);
  assertCounts(after, { runs: 1, runBacktests: 0, sweepTrials: 3, retired: 2, total: 6 }, SHARPES);
  const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);
  assert.deepStrictEqual(sorted(after.sharpes), sorted(upgraded.sharpes));
  const rows = await retiredRows();
  assert.deepStrictEqual(
    // Postgres int8 columns read back as strings through a plain client.
    rows.map((r) => [
      r.data_fingerprint,
      r.target_kind,
      Number(r.horizon),
      r.source,
      r.run_id,
      r.backtest_seq === null ? null : Number(r.backtest_seq),
    ]),
    [
      ["sha256:aa", "direction", 1, "run", old.runId, null],
      ["sha256:aa", "direction", 1, "run_backtest", old.runId, old.seq],
    ],
  );
  assert.ok(Math.abs((rows[0].sharpe as number) - 0.252) < 1e-12, `run sharpe ${rows[0].sharpe}`);
  assert.ok(Math.abs((rows[1].sharpe as number) - 0.1) < 1e-12, `added backtest sharpe ${rows[1].sharpe}`);
  // The other key is untouched.
  assertCounts(await store.countTrials({ ...KEY, horizon: 5 }), {
    runs: 1,
    runBacktests: 0,
    sweepTrials: 0,
    retired: 0,
    total: 1,
  }, [1]);
}

Deno.test("sqlite migration to version 5: trial counts are kept; a run deleted afterwards stays counted", async () => {
  const dir = await Deno.makeTempDir({ prefix: "candor-v5-" });
  const path = join(dir, "runs.db");
  try {
    const old = new SqliteStore(path, { migrations: SQLITE_MIGRATIONS.slice(0, 4) });
    const written = await fillVersion4(old);
    await old.close();
    const pending = await checkStore(path);
    assert.deepStrictEqual([pending.ok, pending.schemaVersion, pending.latestVersion], [true, 4, 5]);
    assert.match(pending.notes.join("\n"), /schema version 4: the next candor that opens the store migrates it to 5/);
    const store = new SqliteStore(path);
    try {
      assert.equal(store.schemaVersion(), 5);
      await upgradedKeepsCounts(store, written, () => {
        const db = new DatabaseSync(path, { readOnly: true });
        try {
          return Promise.resolve(
            (db.prepare("SELECT * FROM retired_trials ORDER BY seq").all() as Record<string, unknown>[]).map((r) => ({
              ...r,
            })),
          );
        } finally {
          db.close();
        }
      });
    } finally {
      await store.close();
    }
    const report = await checkStore(path, { full: true });
    assert.deepStrictEqual([report.ok, report.problems, report.schemaVersion], [true, [], 5]);
    const db = new DatabaseSync(path);
    try {
      db.prepare(RETIRE_STORED_RUN.replace("$1", "?")).run(written.kept);
    } finally {
      db.close();
    }
    const damaged = await checkStore(path);
    assert.deepStrictEqual([damaged.ok, damaged.problems], [false, [
      `run ${written.kept} is still stored but 1 trial(s) of it are retired: the trial registry counts them twice`,
    ]]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

const server = await postgresForTests();
if ("skip" in server) {
  Deno.test({ name: `postgres migration to version 5: skipped — ${server.skip}`, ignore: true, fn: () => {} });
} else {
  Deno.test("postgres migration to version 5: trial counts are kept; a run deleted afterwards stays counted", async () => {
    const schema = `candor_v5_${Date.now().toString(36)}`;
    const admin = postgres(server.url, { onnotice: () => {}, max: 1 });
    try {
      const old = new PostgresStore(server.url, { schema, migrations: POSTGRES_MIGRATIONS.slice(0, 4) });
      const written = await fillVersion4(old);
      await old.close();
      const pending = await checkStore(server.url, { schema });
      assert.deepStrictEqual([pending.ok, pending.schemaVersion, pending.latestVersion], [true, 4, 5]);
      const store = new PostgresStore(server.url, { schema });
      try {
        assert.equal(await store.schemaVersion(), 5);
        await upgradedKeepsCounts(
          store,
          written,
          async () => [...await admin.unsafe(`SELECT * FROM "${schema}".retired_trials ORDER BY seq`)],
        );
      } finally {
        await store.close();
      }
      assert.deepStrictEqual((await checkStore(server.url, { schema })).problems, []);
      await admin.unsafe(RETIRE_STORED_RUN.replace("retired_trials", `"${schema}".retired_trials`), [written.kept]);
      const damaged = await checkStore(server.url, { schema });
      assert.deepStrictEqual([damaged.ok, damaged.problems], [false, [
        `run ${written.kept} is still stored but 1 trial(s) of it are retired: the trial registry counts them twice`,
      ]]);
    } finally {
      await admin.unsafe(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await admin.end();
    }
  });
}
