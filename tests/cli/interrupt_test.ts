/**
 * Interrupted studies: SIGINT and SIGTERM stop a study at the next step and record it as interrupted (exit 130 /
 * 143) with where it stopped and its finished folds; a study whose process was killed outright reads as stale and
 * `candor runs --reap` marks it interrupted.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { openStore } from "../../lib/store/mod.ts";
import { candor } from "../_helpers/candor_cli.ts";

const MAIN = fileURLToPath(new URL("../../lib/cli/main.ts", import.meta.url));

/** Starts `candor demo` writing to `db`, and resolves once the first fold of the second entry is stored. */
async function startStudy(db: string): Promise<Deno.ChildProcess> {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      MAIN,
      "demo",
      "--db",
      db,
      "--symbols",
      "4",
      "--days",
      "500",
      "--folds",
      "3",
      "--model",
      "logistic,mlp",
      "--epochs",
      "400",
      "--set",
      "models[1].settings.patience=400",
    ],
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const deadline = Date.now() + 240_000;
  while (Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 500));
    try {
      const store = openStore(db);
      try {
        const [study] = await store.listStudies();
        if (study !== undefined) {
          const full = await store.getStudy(study.id);
          const mlp = full?.runs.find((r) => r.entry === "mlp");
          if (mlp !== undefined && (await store.listFolds([mlp.id])).length >= 1) return child;
        }
      } finally {
        await store.close();
      }
    } catch {
      // the store may not exist yet
    }
  }
  child.kill("SIGKILL");
  throw new Error("the study never reached its second entry");
}

for (const [signal, code] of [["SIGINT", 130], ["SIGTERM", 143]] as const) {
  Deno.test(`candor run: ${signal} records the study as interrupted with its stage, entry and fold, and exits ${code}`, async () => {
    const dir = await Deno.makeTempDir();
    try {
      const db = join(dir, "runs.db");
      const child = await startStudy(db);
      child.kill(signal);
      const out = await child.output();
      const stderr = new TextDecoder().decode(out.stderr);
      assert.equal(out.code, code, stderr);
      assert.match(stderr, /interrupted.*candor run --resume/);
      const store = openStore(db);
      try {
        const [study] = await store.listStudies();
        assert.equal(study.status, "interrupted");
        assert.equal(study.error?.stage, "train");
        assert.equal(study.error?.entry, "mlp");
        assert.equal(study.error?.signal, signal);
        assert.ok(typeof study.error?.fold === "number");
        const full = await store.getStudy(study.id);
        assert.deepEqual(full!.runs.map((r) => [r.entry, r.status]), [["logistic", "succeeded"], [
          "mlp",
          "interrupted",
        ]]);
        const folds = await store.listFolds([full!.runs[1].id]);
        assert.ok(folds.length >= 1, "finished folds are kept");
      } finally {
        await store.close();
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
}

Deno.test("candor runs: a study whose process was killed reads as stale; --reap marks it interrupted", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const db = join(dir, "runs.db");
    const child = await startStudy(db);
    child.kill("SIGKILL");
    await child.output();
    await new Promise((r) => setTimeout(r, 2500));
    const listed = await candor(["runs", "--db", db, "--stale-after", "1"]);
    assert.equal(listed.code, 0, listed.stderr);
    assert.match(listed.stdout, /running \(stale: process gone\?\)/);
    const reaped = await candor(["runs", "--db", db, "--stale-after", "1", "--reap", "--json"]);
    assert.equal(reaped.code, 0, reaped.stderr);
    assert.match(reaped.stderr, /marked study_\S+ interrupted/);
    const [study] = JSON.parse(reaped.stdout);
    assert.equal(study.status, "interrupted");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
