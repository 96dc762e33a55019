/**
 * The command line refuses integer options that are not whole numbers at or above their minimum, and configurations
 * the pipeline refuses, as bad arguments (exit status 2), before any work or storage starts.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { candor } from "../_helpers/candor_cli.ts";

const BAD_INTEGERS: Array<{ option: string; values: string[]; min: number; extra?: string[] }> = [
  { option: "epochs", values: ["0", "2.5", "-1"], min: 1, extra: ["--model", "mlp"] },
  { option: "horizon", values: ["0", "1.5", "-2"], min: 1 },
  { option: "folds", values: ["1", "2.5", "-3"], min: 2 },
  { option: "purge", values: ["-1", "0.5"], min: 0 },
  { option: "symbols", values: ["0"], min: 1 },
];

Deno.test("candor demo: integer options that are zero, fractional or negative exit 2 naming the option and its range", async () => {
  for (const { option, values, min, extra } of BAD_INTEGERS) {
    for (const value of values) {
      const r = await candor(["demo", "--no-store", ...(extra ?? []), `--${option}`, value]);
      assert.equal(r.code, 2, `--${option} ${value}: exit ${r.code}\n${r.stderr}`);
      assert.ok(
        r.stderr.includes(`candor: --${option} expects an integer ≥ ${min}, got "${value}"`),
        `--${option} ${value}: ${r.stderr}`,
      );
      assert.equal(r.stdout, "", "nothing ran");
    }
  }
});

Deno.test("candor demo: a negative cost exits 2 naming the option", async () => {
  const r = await candor(["demo", "--no-store", "--cost-bps", "-5"]);
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /--cost-bps expects a number ≥ 0, got "-5"/);
});

Deno.test("candor demo: a configuration the pipeline refuses is a bad argument (exit 2) and opens no store", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const db = join(dir, "runs.db");
    const purge = await candor(["demo", "--db", db, "--horizon", "5", "--purge", "2"]);
    assert.equal(purge.code, 2, purge.stderr);
    assert.match(purge.stderr, /candor: purge \(2\) is shorter than the label horizon \(5\)/);
    await assert.rejects(Deno.stat(db), Deno.errors.NotFound, "no run store is created for a refused configuration");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("candor run: a failure while running keeps exit status 1", async () => {
  const missing = await candor(["run", "--no-store", "--data", "/nonexistent/prices", "--folds", "2"]);
  assert.equal(missing.code, 1, missing.stderr);
  assert.match(missing.stderr, /nonexistent/);
});
