/**
 * Output folders a user names (`synth --out`, `train --models-dir`, `sweep --out`) and modules `worker --import`s:
 * a folder that cannot be written is refused with the option, the path and the reason, exit 2, before any long work
 * and without storing anything; never an uncaught ENOENT with a stack trace.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { candor } from "../_helpers/candor_cli.ts";
import { ensureOutputDir } from "../../lib/data/files.ts";
import { ConfigError } from "../../lib/errors.ts";
import { openStore } from "../../lib/store/mod.ts";

/** A path under /proc, where the kernel lets nobody (root included) create a folder. */
const UNWRITABLE = "/proc/candor-no-such-folder";

function assertRefused(r: { code: number; stderr: string }, message: RegExp): void {
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, message);
  assert.ok(!/Uncaught|^\s+at /m.test(r.stderr), `no stack trace:\n${r.stderr}`);
}

Deno.test("ensureOutputDir creates nested folders and names the option and the reason when it cannot", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const nested = join(dir, "a", "b", "c");
    ensureOutputDir(nested, "--out");
    assert.ok((await Deno.stat(nested)).isDirectory);
    assert.deepEqual([...Deno.readDirSync(nested)], [], "the write check leaves nothing behind");
    ensureOutputDir(nested, "--out"); // an existing folder is fine

    const file = join(dir, "prices.csv");
    await Deno.writeTextFile(file, "x");
    for (const path of [file, join(file, "sub")]) {
      assert.throws(() => ensureOutputDir(path, "--out"), (e: unknown) => {
        assert.ok(e instanceof ConfigError);
        assert.equal(
          e.message,
          `--out ${path}: cannot write there: a file is in the way (the path, or one of its ` +
            `parents, is not a folder)`,
        );
        return true;
      });
    }
    assert.throws(
      () => ensureOutputDir(UNWRITABLE, "models folder (--models-dir)"),
      (e: unknown) =>
        e instanceof ConfigError &&
        e.message === `models folder (--models-dir) ${UNWRITABLE}: cannot write there: the file system does not let ` +
            `a folder be created there`,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("candor synth --out: an unwritable folder or a file in the way exits 2 with the reason", async () => {
  const dir = await Deno.makeTempDir();
  try {
    assertRefused(await candor(["synth", "--out", UNWRITABLE]), /^candor: --out \/proc\/candor-no-such-folder: cannot/);
    const file = join(dir, "taken");
    await Deno.writeTextFile(file, "");
    assertRefused(await candor(["synth", "--out", file]), /--out .*taken: cannot write there: a file is in the way/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("candor train --models-dir and sweep --out: an unwritable folder is refused before training or sweeping; nothing stored", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const db = join(dir, "runs.db");
    const demo = await candor([
      "demo",
      ...["--symbols", "4", "--days", "450", "--folds", "2", "--model", "logistic", "--db", db, "--json"],
    ]);
    assert.equal(demo.code, 0, demo.stderr);
    const study = JSON.parse(demo.stdout);

    const train = await candor(["train", "--study", study.id, "--skip-gate", "--db", db, "--models-dir", UNWRITABLE]);
    assertRefused(train, /models folder \(--models-dir\) \/proc\/candor-no-such-folder: cannot write there/);
    assert.ok(!train.stderr.includes("training"), "refused before training");

    const grid = join(dir, "grid.yaml");
    await Deno.writeTextFile(grid, "costBps: [0, 5]\nlags: [1, 2]\n");
    const sweep = await candor([
      "sweep",
      "--run",
      study.models[0].runId,
      "--grid",
      grid,
      "--db",
      db,
      "--out",
      UNWRITABLE,
    ]);
    assertRefused(sweep, /sweep output folder \(--out\) \/proc\/candor-no-such-folder: cannot write there/);

    const store = openStore(db);
    try {
      assert.deepEqual(await store.listModels({}), []);
      assert.deepEqual(await store.listSweeps({ limit: 10 }), []);
    } finally {
      await store.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("candor worker --import: a module that does not load is named, exit 2, no stack trace", async () => {
  const r = await candor([
    "worker",
    ...["--queue", "redis://127.0.0.1:1", "--db", "postgres://candor@127.0.0.1:1/none"],
    ...["--import", "/nonexistent/kinds.ts"],
  ]);
  assertRefused(r, /^candor: --import \/nonexistent\/kinds\.ts: cannot load the module: Module not found/);
});
