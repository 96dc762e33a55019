import assert from "node:assert/strict";
import { join } from "node:path";
import { candor } from "../_helpers/candor_cli.ts";
import { openStore } from "../../lib/store/mod.ts";
import { syntheticMarket } from "../../lib/data/synthetic.ts";
import { realDataTest } from "../_helpers/real_data.ts";

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

Deno.test("candor: bad arguments and refused configs exit 2 with the reason; a missing data path exits 1", async () => {
  const unknown = await candor(["demo", "--bogus"]);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /Usage:/);
  const noData = await candor(["run"]);
  assert.equal(noData.code, 2);
  assert.match(noData.stderr, /--data PATH/);
  const notNumber = await candor(["demo", "--folds", "many"]);
  assert.equal(notNumber.code, 2);
  assert.match(notNumber.stderr, /--folds expects an integer ≥ 2, got "many"/);
  const purge = await candor(["demo", "--", "--no-store", "--horizon", "5", "--purge", "2"]);
  assert.equal(purge.code, 2);
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

/** Cells of the table rows (lines starting with │) of a cli-table3 table, trimmed. */
function tableRows(table: string): string[][] {
  return table.split("\n").filter((l) => l.startsWith("│")).map((l) => l.split("│").slice(1, -1).map((c) => c.trim()));
}

/** "53.3%" → 0.533. */
const percent = (cell: string) => Number(cell.replace("%", "")) / 100;

Deno.test("candor demo prints the fold table, the pooled line with the theoretical best, and the backtest table", async () => {
  const demo = await candor(["demo", ...SMALL, "--no-store"]);
  assert.equal(demo.code, 0, demo.stderr);
  // stderr is a pipe here, not a terminal: the progress bar must stay silent (no bar, no percentages, no cursor codes).
  assert.doesNotMatch(demo.stderr, /[█░]|\d+%|\r/, `progress output on a non-terminal stderr: ${demo.stderr}`);
  assert.ok(!demo.stderr.includes("\u001b["), "no cursor or color codes on a non-terminal stderr");

  const [foldPart, backtestPart] = demo.stdout.split(/^Backtest /m);
  assert.ok(backtestPart !== undefined, demo.stdout);
  const folds = tableRows(foldPart);
  const head = folds[0];
  for (const column of ["fold", "n test", "accuracy", "coin flip", "majority", "IC"]) {
    assert.ok(head.includes(column), `fold table lacks column ${column}: ${head.join(" | ")}`);
  }
  const col = (name: string) => head.indexOf(name);
  const body = folds.slice(1);
  assert.deepEqual(body.map((r) => r[col("fold")]), ["1", "2"]);
  let rows = 0, hits = 0;
  for (const r of body) {
    assert.equal(r[col("coin flip")], "50.0%");
    const acc = percent(r[col("accuracy")]);
    const majority = percent(r[col("majority")]);
    assert.ok(acc >= 0 && acc <= 1 && majority >= 0 && majority <= 1, r.join(" | "));
    assert.ok(Math.abs(Number(r[col("IC")])) <= 1, r.join(" | "));
    rows += Number(r[col("n test")]);
    hits += acc * Number(r[col("n test")]);
  }
  // The pooled accuracy is the row-weighted mean of the fold accuracies (each printed to 0.1 %).
  const pooled = demo.stdout.match(/pooled over (\d+) rows: accuracy ([\d.]+)%/);
  assert.ok(pooled, demo.stdout);
  assert.equal(Number(pooled[1]), rows);
  assert.ok(Math.abs(Number(pooled[2]) / 100 - hits / rows) <= 0.001, `${pooled[2]}% vs ${hits / rows}`);
  // The demo's market is the planted one of seed 42: its Bayes-optimal accuracy, from the generator itself.
  const theory = syntheticMarket({ symbols: 4, days: 500, seed: 42, mode: "planted" }).theoreticalAccuracy;
  assert.match(demo.stdout, new RegExp(`theoretical best for this market: ${(100 * theory).toFixed(1)}%`));

  assert.match(backtestPart, /^\S+ → \S+ \(lag 1, costs 5 bps, annualization 252\)/);
  const bt = tableRows(backtestPart);
  assert.deepEqual(bt[0].slice(1, 4), ["total return", "CAGR", "Sharpe"]);
  const names = bt.slice(1).map((r) => r[0]);
  assert.deepEqual(names, ["strategy (long-short)", "buy & hold (equal weight)"]);
  for (const r of bt.slice(1)) assert.ok(Number.isFinite(Number(r[3])), `Sharpe of ${r[0]}: ${r[3]}`);
  assert.doesNotMatch(demo.stdout, /stored as run/, "--no-store records nothing");
});

Deno.test("candor run on a bad price file exits 1 naming file, line and column, and stores no run", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const prices = join(dir, "prices");
    await Deno.mkdir(prices);
    const good = ["date,open,high,low,close,adj_close,volume"];
    for (let d = 1; d <= 9; d++) good.push(`2021-03-0${d},10,11,9,10.5,10.5,1000`);
    await Deno.writeTextFile(join(prices, "AAA.csv"), good.join("\n") + "\n");
    const bad = [...good];
    bad[4] = "2021-03-04,10,11,9,abc,10.5,1000"; // line 5 of the file: close does not parse
    await Deno.writeTextFile(join(prices, "BBB.csv"), bad.join("\n") + "\n");
    const db = join(dir, "runs.db");

    const run = await candor(["run", "--data", prices, "--folds", "2", "--db", db]);
    assert.equal(run.code, 1, run.stderr);
    const file = join(prices, "BBB.csv");
    assert.ok(run.stderr.includes(`${file}, line 5, column "close": unparsable close`), run.stderr);
    assert.match(run.stderr, /expected a number, found "abc"/);
    assert.equal(run.stdout, "");

    const store = openStore(db);
    try {
      assert.deepEqual(await store.listRuns({}), [], "a run that fails on its data is never recorded");
    } finally {
      await store.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

realDataTest(
  "candor run on real S&P 500 files: SPY's empty adj_close falls back to close; the run is stored",
  async (data) => {
    const dir = await Deno.makeTempDir();
    try {
      const db = join(dir, "runs.db");
      const run = await candor(["run", "--data", data, "--only", "AAPL,MSFT,SPY", "--folds", "2", "--db", db]);
      assert.equal(run.code, 0, run.stderr);
      const fallback = /adj_close missing or empty for 1 symbol\(s\): SPY; returns use close/;
      assert.match(run.stdout, new RegExp(`^warning: ${fallback.source}`, "m"));
      const id = run.stdout.match(/stored as run (\S+)/)?.[1];
      assert.ok(id !== undefined, run.stdout);

      const store = openStore(db);
      try {
        const stored = await store.getRun(id);
        assert.ok(stored !== undefined);
        assert.equal(stored.status, "succeeded");
        assert.deepEqual([...stored.symbols].sort(), ["AAPL", "MSFT", "SPY"]);
        assert.equal(stored.folds.length, 2);
        for (const f of stored.folds) assert.ok(f.nTest > 0 && f.metrics.accuracy >= 0 && f.metrics.accuracy <= 1);
        assert.ok((stored.summary?.warnings as string[]).some((w) => fallback.test(w)));
        assert.equal(stored.backtest?.lag, 1);
      } finally {
        await store.close();
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);
