/**
 * Bad arguments and refused configurations exit 2 with a path-precise reason, before any work or storage starts.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { candor } from "../_helpers/candor_cli.ts";

const BAD: Array<{ args: string[]; message: RegExp }> = [
  { args: ["--horizon", "0"], message: /target\.horizon: expected a positive integer, found 0/ },
  { args: ["--horizon", "1.5"], message: /target\.horizon: expected a positive integer, found 1\.5/ },
  { args: ["--folds", "1"], message: /validation\.folds: expected an integer ≥ 2, found 1/ },
  { args: ["--folds", "many"], message: /validation\.folds: expected an integer ≥ 2, found "many"/ },
  { args: ["--purge", "-1"], message: /validation\.purge: expected an integer ≥ 0, found -1/ },
  { args: ["--symbols", "0"], message: /data\.synthetic\.symbols: expected a positive integer, found 0/ },
  { args: ["--cost-bps", "-5"], message: /backtest\.costBps: expected a number in \[0, 10000\], found -5/ },
  { args: ["--cost-bps", "99999999"], message: /backtest\.costBps: expected a number in \[0, 10000\], found 99999999/ },
  { args: ["--lag", "0"], message: /backtest\.lag: expected a positive integer, found 0/ },
  {
    args: ["--model", "mlp", "--epochs", "0"],
    message: /models\[0\]\.settings\.epochs: expected a positive integer, found 0/,
  },
  { args: ["--model", "gbm"], message: /models\[0\]\.kind: unknown model kind "gbm"; kinds: xgboost, elasticnet/ },
  { args: ["--epochs", "3"], message: /--epochs is for neural entries/ },
  { args: ["--target", "return", "--model", "logistic"], message: /logistic cannot learn a regression target/ },
];

Deno.test("candor demo: bad values exit 2 with the config key, what was expected and what was found", async () => {
  for (const { args, message } of BAD) {
    const r = await candor(["demo", "--no-store", ...args]);
    assert.equal(r.code, 2, `${args.join(" ")}: exit ${r.code}\n${r.stderr}`);
    assert.match(r.stderr, message, args.join(" "));
    assert.equal(r.stdout, "", "nothing ran");
  }
});

Deno.test("candor demo: a configuration refused by the plan or the purge rule exits 2 and opens no store", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const db = join(dir, "runs.db");
    const purge = await candor(["demo", "--db", db, "--horizon", "5", "--purge", "2"]);
    assert.equal(purge.code, 2, purge.stderr);
    assert.match(purge.stderr, /validation\.purge: 2 is shorter than the label horizon 5/);
    await assert.rejects(Deno.stat(db), Deno.errors.NotFound, "no run store is created for a refused configuration");
    const tooShort = await candor(["demo", "--no-store", "--days", "200", "--folds", "8"]);
    assert.equal(tooShort.code, 2, tooShort.stderr);
    assert.match(tooShort.stderr, /fitting dates .* at least 60 are needed/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("candor run: a failure on the data keeps exit status 1", async () => {
  const missing = await candor(["run", "--no-store", "--data", "/nonexistent/prices", "--folds", "2"]);
  assert.equal(missing.code, 1, missing.stderr);
  assert.match(missing.stderr, /nonexistent/);
});
