import assert from "node:assert/strict";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { dbCommand } from "../../lib/cli/db.ts";
import { UsageError } from "../../lib/cli/args.ts";
import { StoreError } from "../../lib/errors.ts";
import { openStore, SqliteStore } from "../../lib/store/mod.ts";
import { SQLITE_MIGRATIONS } from "../../lib/store/sqlite_schema.ts";
import { sampleFold, samplePredictions, sampleRun, sampleStudy } from "../store/contract.ts";

/** Runs `candor db <args>` in this process; returns its exit status and what it printed. */
async function db(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const { log, error } = console;
  console.log = (...xs: unknown[]) => out.push(xs.join(" "));
  console.error = (...xs: unknown[]) => err.push(xs.join(" "));
  try {
    const code = await dbCommand(args);
    return { code, stdout: out.join("\n"), stderr: err.join("\n") };
  } finally {
    console.log = log;
    console.error = error;
  }
}

/** A store with one study of two runs, each with two folds of predictions. */
async function storeAt(path: string): Promise<void> {
  const store = openStore(path);
  try {
    const studyId = await store.createStudy(sampleStudy());
    for (const entry of ["gbm", "mlp"]) {
      const runId = await store.createRun(sampleRun({ studyId, entry }));
      for (const f of [0, 1]) {
        await store.recordFold(runId, sampleFold(f), { predictions: [samplePredictions(f, 3000)] });
      }
      await store.finishRun(runId, { status: "succeeded" });
    }
    await store.finishStudy(studyId, { status: "succeeded" });
  } finally {
    await store.close();
  }
}

Deno.test("candor db check: a sound store exits 0 with its version and counts, as text or JSON", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = join(dir, "runs.db");
    await storeAt(path);
    const text = await db(["check", "--db", path]);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, new RegExp(`^run store: ${path} \\(sqlite, \\d+\\.\\d MB\\)$`, "m"));
    assert.match(text.stdout, new RegExp(`^schema version ${SQLITE_MIGRATIONS.length} \\(current\\)$`, "m"));
    assert.match(text.stdout, /^check: quick, \d+ ms$/m);
    assert.match(text.stdout, /^studies 1, runs 2$/m);
    assert.match(text.stdout, /^ok: no damage found$/m);
    const json = await db(["check", "--db", path, "--full", "--json"]);
    assert.equal(json.code, 0);
    const report = JSON.parse(json.stdout);
    assert.deepStrictEqual([report.ok, report.level, report.problems, report.counts], [true, "full", [], {
      studies: 1,
      runs: 2,
    }]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("candor db check: a damaged store exits 1 and lists the problems; the file is not written", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = join(dir, "runs.db");
    await storeAt(path);
    const raw = new DatabaseSync(path, { readOnly: true });
    const { rootpage } = raw.prepare("SELECT rootpage FROM sqlite_master WHERE name = 'predictions'").get() as {
      rootpage: number;
    };
    const { page_size } = raw.prepare("PRAGMA page_size").get() as { page_size: number };
    raw.close();
    const file = await Deno.open(path, { write: true });
    await file.seek((rootpage - 1) * page_size, Deno.SeekMode.Start);
    await file.write(new Uint8Array(page_size).fill(0xa5));
    file.close();
    const damaged = await Deno.readFile(path);
    for (const args of [["check", "--db", path], ["check", "--full", "--db", path]]) {
      const r = await db(args);
      assert.equal(r.code, 1, r.stdout);
      assert.match(r.stdout, /^DAMAGED: \d+ problem\(s\)$/m);
      assert.match(r.stdout, /^ {2}- /m);
      assert.match(r.stdout, /note: To repair: restore the file from a backup, or recover .*\.recover/);
      assert.match(r.stderr, new RegExp(`candor: the run store at ${path} is damaged`));
    }
    const json = JSON.parse((await db(["check", "--json", "--db", path])).stdout);
    assert.equal(json.ok, false);
    assert.ok(json.problems.length > 0);
    assert.deepStrictEqual(await Deno.readFile(path), damaged);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("candor db: usage errors suggest the nearest option or sub-command; a missing store is an error", async () => {
  await assert.rejects(() => db(["check", "--ful"]), (e: unknown) => {
    assert.ok(e instanceof UsageError);
    assert.match(e.message, /unknown option --ful for candor db \(did you mean --full\?\)/);
    return true;
  });
  await assert.rejects(() => db(["chek"]), /unknown sub-command "chek" for candor db \(did you mean check\?\)/);
  await assert.rejects(() => db([]), /candor db needs a sub-command: check or migrate/);
  await assert.rejects(() => db(["migrate", "--full"]), /--full and --json are options of candor db check/);
  const help = await db(["--help"]);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /^Usage: candor db check \[--db PATH\] \[--full\] \[--json\]/);
  assert.match(help.stdout, /--full/);
  await assert.rejects(
    () => db(["check", "--db", "/nonexistent/candor.db"]),
    (e: unknown) => e instanceof StoreError && /no SQLite run store at \/nonexistent\/candor\.db/.test(e.message),
  );
  await assert.rejects(
    () => db(["migrate", "--db", "/nonexistent/candor.db"]),
    /^CandorError: no SQLite run store at \/nonexistent\/candor\.db: nothing to migrate/,
  );
  await assert.rejects(() => Deno.stat("/nonexistent/candor.db"), Deno.errors.NotFound);
});

Deno.test("candor db migrate: an older store is brought to the current version, once", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = join(dir, "old.db");
    await new SqliteStore(path, { migrations: SQLITE_MIGRATIONS.slice(0, 2) }).close();
    const first = await db(["migrate", "--db", path]);
    assert.equal(first.code, 0);
    assert.equal(
      first.stdout,
      `migrated the run store at ${path} from schema version 2 to ${SQLITE_MIGRATIONS.length}`,
    );
    const again = await db(["migrate", "--db", path]);
    assert.equal(again.stdout, `the run store at ${path} is at schema version ${SQLITE_MIGRATIONS.length} already`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
