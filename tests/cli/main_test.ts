import assert from "node:assert/strict";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const MAIN = fileURLToPath(new URL("../../lib/cli/main.ts", import.meta.url));

async function candor(args: string[], env: Record<string, string> = {}) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, ...args],
    env: { NO_COLOR: "1", ...env },
    stdout: "piped",
    stderr: "piped",
  }).output();
  return {
    code: out.code,
    stdout: new TextDecoder().decode(out.stdout),
    stderr: new TextDecoder().decode(out.stderr),
  };
}

const SMALL = ["--symbols", "4", "--days", "500", "--folds", "2"];

Deno.test("candor demo --json stores a run that candor runs --json lists with folds and backtest", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const db = join(dir, "runs.db");
    const demo = await candor(["demo", ...SMALL, "--db", db, "--json"]);
    assert.equal(demo.code, 0, demo.stderr);
    const result = JSON.parse(demo.stdout);
    assert.equal(result.folds.length, 2);
    assert.equal(result.config.data.symbols, 4);
    for (const f of result.folds) {
      assert.ok(f.metrics.accuracy >= 0 && f.metrics.accuracy <= 1);
      assert.equal(f.baselines.coinFlip, 0.5);
    }

    const runs = await candor(["runs", "--json"], { CANDOR_DB: db });
    assert.equal(runs.code, 0, runs.stderr);
    const listed = JSON.parse(runs.stdout);
    assert.equal(listed.length, 1);
    assert.equal(listed[0].id, result.runId);
    assert.equal(listed[0].status, "succeeded");
    assert.equal(listed[0].model, "xgboost");
    assert.deepEqual(listed[0].symbols.length, 4);
    assert.equal(listed[0].folds.length, 2);
    assert.equal(listed[0].folds[0].metrics.accuracy, result.folds[0].metrics.accuracy);
    assert.equal(listed[0].backtest.lag, 1);
    assert.equal(typeof listed[0].backtest.metrics.sharpe, "number");
    assert.equal(listed[0].backtest.equity, undefined, "equity curves stay in the store");

    const table = await candor(["runs", "--db", db]);
    assert.equal(table.code, 0);
    assert.match(table.stdout, new RegExp(result.runId));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("candor: bad arguments exit 2 with usage; refused configs exit 1 with the reason", async () => {
  const unknown = await candor(["demo", "--bogus"]);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /Usage:/);
  const noData = await candor(["run"]);
  assert.equal(noData.code, 2);
  assert.match(noData.stderr, /--data PATH/);
  const notNumber = await candor(["demo", "--folds", "many"]);
  assert.equal(notNumber.code, 2);
  assert.match(notNumber.stderr, /--folds expects a number/);
  const purge = await candor(["demo", "--", "--no-store", "--horizon", "5", "--purge", "2"]);
  assert.equal(purge.code, 1);
  assert.match(purge.stderr, /purge \(2\) is shorter than the label horizon \(5\)/);
  const missing = await candor(["run", "--no-store", "--data", "/nonexistent/prices"]);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /nonexistent/);
});

Deno.test("candor synth writes price files that candor run reads back", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const synth = await candor(["synth", "--out", join(dir, "prices"), "--symbols", "3", "--days", "400"]);
    assert.equal(synth.code, 0, synth.stderr);
    const files = [...Deno.readDirSync(join(dir, "prices"))].map((e) => e.name).sort();
    assert.equal(files.length, 3);
    const run = await candor(["run", "--data", join(dir, "prices"), "--folds", "2", "--no-store", "--json"]);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(JSON.parse(run.stdout).symbols.length, 3);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
