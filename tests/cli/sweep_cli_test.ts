/**
 * `candor sweep` as printed: the best cells ranked by deflated Sharpe ratio (the raw ranking puts the luckiest short
 * windows on top), and PBO's probability of loss said to be against zero, not buy & hold.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { candor } from "../_helpers/candor_cli.ts";

Deno.test("candor sweep prints the best cells by deflated Sharpe ratio, in order", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const db = join(dir, "runs.db");
    const demo = await candor([
      "demo",
      ...["--symbols", "4", "--days", "900", "--folds", "2", "--model", "logistic", "--db", db, "--json"],
    ]);
    assert.equal(demo.code, 0, demo.stderr);
    const runId = JSON.parse(demo.stdout).models[0].runId;
    const grid = join(dir, "grid.yaml");
    await Deno.writeTextFile(grid, "costBps: [0, 20]\nlags: [1, 2]\nwindows: yearly\nsymbols: each\n");
    const r = await candor(["sweep", "--run", runId, "--grid", grid, "--db", db, "--out", join(dir, "sweeps")]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /the 10 best cells by deflated Sharpe ratio:/);
    const rows = r.stdout.split("\n").filter((l) => /^│ [A-Z0-9]+ +│ \d{4}-/.test(l)).map((l) =>
      l.split("│").slice(1, -1).map((c) => c.trim())
    );
    assert.equal(rows.length, 10, r.stdout);
    const deflated = rows.map((c) => Number(c[7]));
    for (let i = 1; i < deflated.length; i++) assert.ok(deflated[i - 1] >= deflated[i], deflated.join(", "));
    // Not the raw order: somewhere a lower Sharpe ranks above a higher one (short windows with high Sharpe and few
    // periods deflate the most).
    const sharpe = rows.map((c) => Number(c[6]));
    assert.ok(sharpe.some((s, i) => i > 0 && sharpe[i - 1] < s), sharpe.join(", "));
    assert.match(
      r.stdout,
      /probability that the in-sample best loses money out of sample, not that it trails buy & hold/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
