/**
 * `candor run --resume ID`: a real `candor demo` stopped by SIGINT after the first fold of its second entry is
 * stored, then resumed (by the id of one of its runs), prints the fold metrics, pooled metrics and backtests of an
 * uninterrupted run of the same configuration and seed; a configuration that differs, a study that succeeded and a
 * resume without the store are refused with exit 2, writing nothing.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { openStore } from "../../lib/store/mod.ts";
import { candor } from "../_helpers/candor_cli.ts";

const MAIN = fileURLToPath(new URL("../../lib/cli/main.ts", import.meta.url));

/** A logistic regression, an MLP slow enough to be interrupted mid-entry, and a stack of both. */
const STUDY = [
  "--symbols",
  "4",
  "--days",
  "500",
  "--folds",
  "3",
  "--model",
  "logistic,mlp,stacking",
  "--epochs",
  "400",
  "--set",
  "models[1].settings.patience=400",
  "--set",
  "models[2].base=[logistic, mlp]",
];

/** Starts `candor demo` on `db` and resolves once the first fold of the mlp entry is stored. */
async function startStudy(db: string): Promise<Deno.ChildProcess> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, "demo", "--db", db, ...STUDY],
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const deadline = Date.now() + 240_000;
  while (Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 300));
    try {
      const store = openStore(db);
      try {
        const [study] = await store.listStudies();
        const mlp = study === undefined
          ? undefined
          : (await store.getStudy(study.id))?.runs.find((r) => r.entry === "mlp");
        if (mlp !== undefined && (await store.listFolds([mlp.id])).length >= 1) return child;
      } finally {
        await store.close();
      }
    } catch {
      // the store may not exist yet
    }
  }
  child.kill("SIGKILL");
  throw new Error("the study never stored a fold of its second entry");
}

/** What a resumed study must reproduce: each entry's folds, pooled metrics, gate and backtest (not its run id). */
// deno-lint-ignore no-explicit-any
function results(json: any) {
  // deno-lint-ignore no-explicit-any
  return json.models.map(({ runId: _runId, ...entry }: any) => entry);
}

Deno.test("candor run --resume: a study interrupted by SIGINT mid-entry finishes as the uninterrupted run does", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const db = join(dir, "runs.db");
    const reference = await candor(["demo", "--no-store", "--json", ...STUDY]);
    assert.equal(reference.code, 0, reference.stderr);

    const child = await startStudy(db);
    child.kill("SIGINT");
    const stopped = await child.output();
    const stderr = new TextDecoder().decode(stopped.stderr);
    assert.equal(stopped.code, 130, stderr);
    const store = openStore(db);
    let studyId: string;
    let mlpRun: string;
    let mlpFolds: number;
    try {
      const [study] = await store.listStudies();
      studyId = study.id;
      assert.equal(study.status, "interrupted");
      assert.match(stderr, new RegExp(`candor run --resume ${studyId} continues it`));
      const full = (await store.getStudy(studyId))!;
      assert.deepEqual(full.runs.map((r) => [r.entry, r.status]), [["logistic", "succeeded"], ["mlp", "interrupted"]]);
      mlpRun = full.runs[1].id;
      mlpFolds = (await store.listFolds([mlpRun])).length;
      assert.ok(mlpFolds >= 1 && mlpFolds < 3, `stopped mid-entry (${mlpFolds} mlp folds stored)`);
    } finally {
      await store.close();
    }

    // Refused, nothing written: another configuration (the demo's flags give one), and no store.
    const other = await candor(["demo", "--db", db, "--resume", studyId, ...STUDY, "--seed", "7"]);
    assert.equal(other.code, 2, other.stderr);
    assert.match(
      other.stderr,
      /configuration differs from study study_\w+'s: data.seed: 42 \(stored\) vs 7 \(given\); seed: 42/,
    );
    const noStore = await candor(["run", "--no-store", "--resume", studyId]);
    assert.equal(noStore.code, 2, noStore.stderr);
    assert.match(noStore.stderr, /--resume continues a study in the run store: drop --no-store/);

    // Resumed by the id of one of its runs; the configuration is the stored one.
    const resumed = await candor(["run", "--db", db, "--resume", mlpRun, "--json"]);
    assert.equal(resumed.code, 0, resumed.stderr);
    const got = JSON.parse(resumed.stdout);
    const want = JSON.parse(reference.stdout);
    assert.equal(got.id, studyId);
    assert.deepStrictEqual(results(got), results(want));
    assert.deepStrictEqual(got.warnings, want.warnings);

    const check = openStore(db);
    try {
      const full = (await check.getStudy(studyId))!;
      assert.equal(full.status, "succeeded");
      assert.deepEqual(full.runs.map((r) => [r.entry, r.status]), [
        ["logistic", "succeeded"],
        ["mlp", "succeeded"],
        ["stacking", "succeeded"],
      ]);
      assert.equal(full.runs[1].id, mlpRun, "the interrupted run is continued, not replaced");
      assert.equal((await check.listFolds([mlpRun])).length, 3);
    } finally {
      await check.close();
    }

    const again = await candor(["run", "--db", db, "--resume", studyId]);
    assert.equal(again.code, 2, again.stderr);
    assert.match(again.stderr, /already succeeded; there is nothing to resume/);
    const unknown = await candor(["run", "--db", db, "--resume", "study_00000000000000000000000000"]);
    assert.equal(unknown.code, 2, unknown.stderr);
    assert.match(unknown.stderr, /no study or run "study_0+"/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
