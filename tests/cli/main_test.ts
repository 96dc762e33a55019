import assert from "node:assert/strict";
import { join } from "node:path";
import { candor } from "../_helpers/candor_cli.ts";
import { openStore } from "../../lib/store/mod.ts";
import { syntheticMarket } from "../../lib/data/synthetic.ts";
import { realDataTest } from "../_helpers/real_data.ts";

const SMALL = ["--symbols", "4", "--days", "500", "--folds", "2"];

/** Cells of the table rows (lines starting with │) of a cli-table3 table, trimmed. */
function tableRows(table: string): string[][] {
  return table.split("\n").filter((l) => l.startsWith("│")).map((l) => l.split("│").slice(1, -1).map((c) => c.trim()));
}

/** "53.3%" → 0.533. */
const percent = (cell: string) => Number(cell.replace("%", "")) / 100;

Deno.test("candor demo --json stores a study; runs --json lists it with its entries; show prints exactly what run printed", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const db = join(dir, "runs.db");
    const demo = await candor(["demo", ...SMALL, "--db", db, "--json", "--model", "xgboost,logistic"]);
    assert.equal(demo.code, 0, demo.stderr);
    const result = JSON.parse(demo.stdout);
    assert.match(result.id, /^study_[0-9A-Z]{26}$/);
    assert.equal(result.config.data.symbols, 4);
    assert.deepEqual(result.models.map((m: { name: string }) => m.name), ["xgboost", "logistic"]);
    for (const m of result.models) {
      assert.equal(m.folds.length, 2);
      for (const f of m.folds) {
        assert.ok(f.metrics.accuracy >= 0 && f.metrics.accuracy <= 1);
        assert.equal(f.baselines.coinFlip, 0.5);
      }
      assert.ok(Number.isFinite(m.pooled.accuracy));
      for (const k of ["alwaysLong", "majority", "previousSign"]) assert.ok(Number.isFinite(m.pooled.baselines[k]));
      assert.ok(["coinFlip", "alwaysLong", "majorityClass", "previousSign"].includes(m.pooled.strongestBaseline));
      assert.equal(m.pooled.edge.ci.length, 2);
      assert.match(m.pooled.edge.method, /block bootstrap over dates/);
      assert.ok(["edge", "no-edge"].includes(m.pooled.verdict));
      assert.deepEqual(Object.keys(m.gate).sort(), ["passed", "reason", "threshold", "wfe"]);
      assert.equal(typeof m.backtest.metrics.sharpe, "number");
      assert.equal(typeof m.backtest.metrics.maxDrawdown, "number");
    }

    const runs = await candor(["runs", "--json"], { CANDOR_DB: db });
    assert.equal(runs.code, 0, runs.stderr);
    const listed = JSON.parse(runs.stdout);
    assert.equal(listed.length, 1);
    assert.equal(listed[0].id, result.id);
    assert.equal(listed[0].status, "succeeded");
    assert.equal(listed[0].dataSource, "synthetic:planted");
    assert.equal(listed[0].horizon, 1);
    assert.deepEqual(listed[0].entries.map((e: { kind: string }) => e.kind), ["xgboost", "logistic"]);
    // The pooled accuracy, not the mean of the fold accuracies.
    assert.equal(listed[0].entries[0].headline.value, result.models[0].pooled.accuracy);

    const table = await candor(["runs", "--db", db]);
    assert.equal(table.code, 0);
    assert.match(table.stdout, new RegExp(result.id));
    assert.ok(!table.stdout.includes("\u001b["), "no colour off a terminal");

    const text = await candor(["demo", ...SMALL, "--db", db, "--model", "xgboost,logistic"]);
    assert.equal(text.code, 0, text.stderr);
    const id = text.stdout.match(/stored as study (study_\S+)/)![1];
    const show = await candor(["show", id, "--db", db]);
    assert.equal(show.code, 0, show.stderr);
    assert.equal(show.stdout, text.stdout, "candor show prints the study exactly as candor run did");
    const byRun = await candor(["show", result.models[0].runId, "--db", db, "--json"]);
    assert.equal(JSON.parse(byRun.stdout).id, result.id, "a run id shows its study");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("candor demo prints each entry's fold table beside its baselines, the pooled verdict, and the backtest", async () => {
  const demo = await candor(["demo", ...SMALL, "--no-store"]);
  assert.equal(demo.code, 0, demo.stderr);
  // stderr is a pipe here, not a terminal: no progress bar, no cursor or colour codes anywhere.
  assert.doesNotMatch(demo.stderr, /[█░]|\d+%|\r/, `progress output on a non-terminal stderr: ${demo.stderr}`);
  assert.ok(!demo.stdout.includes("\u001b[") && !demo.stderr.includes("\u001b["));
  const [foldPart, backtestPart] = demo.stdout.split(/^Backtest /m);
  const folds = tableRows(foldPart);
  const head = folds[0];
  for (const column of ["fold", "n test", "accuracy", "coin flip", "always long", "majority", "prev. sign", "IC"]) {
    assert.ok(head.includes(column), `fold table lacks column ${column}: ${head.join(" | ")}`);
  }
  const col = (name: string) => head.indexOf(name);
  const body = folds.slice(1);
  assert.deepEqual(body.map((r) => r[col("fold")]), ["1", "2"]);
  let rows = 0, hits = 0;
  for (const r of body) {
    assert.equal(r[col("coin flip")], "50.0%");
    rows += Number(r[col("n test")]);
    hits += percent(r[col("accuracy")]) * Number(r[col("n test")]);
  }
  const pooled = demo.stdout.match(
    /Pooled over (\d+) rows: accuracy ([\d.]+)% \(95% CI [\d.]+%–[\d.]+%, block bootstrap over dates; naive binomial/,
  );
  assert.ok(pooled, demo.stdout);
  assert.equal(Number(pooled[1]), rows);
  assert.ok(Math.abs(Number(pooled[2]) / 100 - hits / rows) <= 0.001);
  assert.match(
    demo.stdout,
    /^ {2}baselines on the same rows: always long [\d.]+%, majority [\d.]+%, previous sign [\d.]+%, coin flip 50\.0%; strongest: /m,
  );
  assert.match(
    demo.stdout,
    /^ {2}edge over [a-z ]+: [+-][\d.]+ points \(95% CI [+-][\d.]+ to [+-][\d.]+, p [=<] [\d.]+\)$/m,
  );
  assert.match(demo.stdout, /^Verdict: (edge|no-edge) .*Gate: (passed|failed) — /m);
  const theory = syntheticMarket({ symbols: 4, days: 500, seed: 42, mode: "planted" }).theoreticalAccuracy;
  assert.match(demo.stdout, new RegExp(`theoretical best for this market: ${(100 * theory).toFixed(1)}%`));
  assert.match(backtestPart, /^\S+ → \S+ \(lag 1, costs 5 bps, annualization 252\)/);
  const bt = tableRows(backtestPart);
  assert.deepEqual(bt.slice(1).map((r) => r[0]), ["strategy (long-short)", "buy & hold (equal weight)"]);
  assert.match(
    backtestPart,
    /Sharpe − buy & hold Sharpe: -?[\d.]+ \(95% CI -?[\d.]+ to -?[\d.]+, block bootstrap over days\)/,
  );
  assert.doesNotMatch(demo.stdout, /stored as study/, "--no-store records nothing");
});

Deno.test("README: the sample output of `deno task demo` has the demo's current lines", async () => {
  // Compared line by line with digits masked and table padding collapsed: a changed label, a new clause or a dropped
  // line in the demo's output shows here as a stale README, without pinning figures a library update may move.
  const readme = await Deno.readTextFile(new URL("../../README.md", import.meta.url));
  const block = readme.split("What the demo prints (`deno task demo`, default seed):")[1]?.split("```")[1];
  assert.ok(block, "README has the demo's sample output");
  const shape = (text: string) =>
    text.split("\n").filter((l) => l.trim() !== "" && !l.startsWith("stored as study") && l.trim() !== "sh")
      .map((l) =>
        l.replace(/study_[0-9A-Z]+…?/g, "study_…").replace(/\d+/g, "#").replace(/─+/g, "─").replace(/ +/g, " ")
          .trimEnd()
      );
  const dir = await Deno.makeTempDir();
  try {
    // Stored, as `deno task demo` does (its header names the study).
    const demo = await candor(["demo", "--db", `${dir}/runs.db`]);
    assert.equal(demo.code, 0, demo.stderr);
    assert.deepEqual(shape(demo.stdout), shape(block));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("candor COMMAND --help answers for every command; an unknown option or command names the nearest one", async () => {
  for (const cmd of ["demo", "run", "runs", "show", "models", "features", "audit", "synth"]) {
    const help = await candor([cmd, "--help"]);
    assert.equal(help.code, 0, `${cmd}: ${help.stderr}`);
    assert.match(help.stdout, new RegExp(`^Usage: candor ${cmd}`, "m"), cmd);
  }
  const top = await candor(["--help"]);
  assert.equal(top.code, 0);
  for (const cmd of ["demo", "run", "runs", "show", "models"]) assert.match(top.stdout, new RegExp(`^  ${cmd} `, "m"));
  const typo = await candor(["run", "--hoizon", "5"]);
  assert.equal(typo.code, 2);
  assert.match(typo.stderr, /unknown option --hoizon for candor run \(did you mean --horizon\?\)/);
  assert.match(typo.stderr, /Usage: candor run/);
  const cmd = await candor(["shwo"]);
  assert.equal(cmd.code, 2);
  assert.match(cmd.stderr, /unknown command "shwo" \(did you mean show\?\)/);
  // `candor help run` is `candor run --help`; no command at all is a usage error (usage on stderr, exit 2).
  const helpRun = await candor(["help", "run"]);
  assert.equal(helpRun.code, 0, helpRun.stderr);
  assert.equal(helpRun.stdout, (await candor(["run", "--help"])).stdout);
  const bare = await candor([]);
  assert.equal(bare.code, 2);
  assert.equal(bare.stdout, "");
  assert.match(bare.stderr, /^ {2}demo /m);
  const helpTypo = await candor(["help", "shwo"]);
  assert.equal(helpTypo.code, 2);
  assert.match(helpTypo.stderr, /no command "shwo" \(did you mean show\?\)/);
});

Deno.test("candor run: flags are config keys and override the file; --set reaches any key; --dry-run trains and stores nothing", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const file = join(dir, "study.yaml");
    await Deno.writeTextFile(
      file,
      "data: { synthetic: { symbols: 3, days: 400 } }\ntarget: { horizon: 2 }\nmodels:\n  - { name: net, kind: mlp }\n",
    );
    const db = join(dir, "runs.db");
    const dry = await candor([
      "run",
      "--config",
      file,
      "--horizon",
      "3",
      "--set",
      "models[0].settings.hidden=[8, 4]",
      "--folds",
      "2",
      "--dry-run",
      "--db",
      db,
    ]);
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stdout, /^ {2}horizon: 3$/m, "the flag overrides the file");
    assert.match(dry.stdout, /^ {6}hidden:\n {8}- 8\n {8}- 4$/m, "--set reached the entry's settings");
    assert.match(dry.stdout, /^ {6}epochs: 20$/m, "defaults are filled");
    assert.match(dry.stdout, /^# fold plan: anchored, 2 fold\(s\), purge 3, 3 symbols/m);
    assert.equal(tableRows(dry.stdout.split("# fold plan")[1]).length, 3, "header + 2 folds");
    assert.match(dry.stdout, /dry run: nothing trained or stored/);
    await assert.rejects(Deno.stat(db), Deno.errors.NotFound, "a dry run opens no store");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("candor demo --set models[0].… with no --model refines the default xgboost entry", async () => {
  const dry = await candor(["demo", "--set", "models[0].settings.threads=1", "--dry-run", "--no-store"]);
  assert.equal(dry.code, 0, dry.stderr);
  assert.match(dry.stdout, /^models:\n {2}- name: xgboost\n {4}kind: xgboost\n {4}settings:\n/m, "the default entry");
  assert.match(dry.stdout, /^ {6}threads: 1$/m, "--set reached its settings");
  assert.match(dry.stdout, /^ {6}earlyStoppingRounds: 30$/m, "its other defaults are kept");
  // With --model the list is the flag's, and --set refines it.
  const mlp = await candor([
    "demo",
    "--model",
    "mlp",
    "--set",
    "models[0].settings.epochs=2",
    "--dry-run",
    "--no-store",
  ]);
  assert.equal(mlp.code, 0, mlp.stderr);
  assert.match(mlp.stdout, /^ {4}kind: mlp$/m);
  assert.match(mlp.stdout, /^ {6}epochs: 2$/m);
  assert.doesNotMatch(mlp.stdout, /kind: xgboost/);
});

Deno.test("candor runs / show never create a store: a --db that does not exist is an error", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const db = join(dir, "none.db");
    for (const args of [["runs", "--db", db], ["show", "study_X", "--db", db]]) {
      const r = await candor(args);
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, /no run store at .*none\.db/);
    }
    await assert.rejects(Deno.stat(db), Deno.errors.NotFound);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("candor models lists every kind with its settings and defaults; candor features the built-in names", async () => {
  const all = await candor(["models", "--json"]);
  assert.equal(all.code, 0, all.stderr);
  const kinds = JSON.parse(all.stdout);
  assert.deepEqual(kinds.map((k: { kind: string }) => k.kind), [
    "xgboost",
    "elasticnet",
    "ridge",
    "logistic",
    "mlp",
    "lstm",
    "lstm-regressor",
    "lstm-transformer",
    "xlstm",
    "stacking",
  ]);
  const lstm = kinds.find((k: { kind: string }) => k.kind === "lstm");
  assert.deepEqual(lstm.tasks, ["binary", "multiclass"]);
  const ts = lstm.settings.find((s: { name: string }) => s.name === "timesteps");
  assert.equal(ts.default, "10");
  assert.equal(ts.type, "integer ≥ 1");
  const one = await candor(["models", "lstm-regressor"]);
  assert.match(one.stdout, /^lstm-regressor — /m);
  assert.match(one.stdout, /│ loss +│ one of mse, huber,/);
  const bad = await candor(["models", "lsmt"]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /unknown model kind "lsmt" \(did you mean "lstm"\?\)/);
  const features = await candor(["features", "--json"]);
  const f = JSON.parse(features.stdout);
  assert.equal(f.base.length, 12);
  assert.equal(f.full.length, 191);
});

Deno.test("candor synth writes price files that candor run reads back", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const synth = await candor(["synth", "--out", join(dir, "prices"), "--symbols", "3", "--days", "400"]);
    assert.equal(synth.code, 0, synth.stderr);
    assert.equal([...Deno.readDirSync(join(dir, "prices"))].length, 3);
    const run = await candor(["run", "--data", join(dir, "prices"), "--folds", "2", "--no-store", "--json"]);
    assert.equal(run.code, 0, run.stderr);
    assert.equal(JSON.parse(run.stdout).symbols.length, 3);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("candor run on a bad price file exits 1 naming file, line and column, and stores nothing", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const prices = join(dir, "prices");
    await Deno.mkdir(prices);
    const good = ["date,open,high,low,close,adj_close,volume"];
    for (let d = 1; d <= 9; d++) good.push(`2021-03-0${d},10,11,9,10.5,10.5,1000`);
    await Deno.writeTextFile(join(prices, "AAA.csv"), good.join("\n") + "\n");
    const bad = [...good];
    bad[4] = "2021-03-04,10,11,9,abc,10.5,1000";
    await Deno.writeTextFile(join(prices, "BBB.csv"), bad.join("\n") + "\n");
    const db = join(dir, "runs.db");
    const run = await candor(["run", "--data", prices, "--folds", "2", "--db", db]);
    assert.equal(run.code, 1, run.stderr);
    assert.ok(run.stderr.includes(`${join(prices, "BBB.csv")}, line 5, column "close": unparsable close`), run.stderr);
    assert.equal(run.stdout, "");
    const store = openStore(db);
    try {
      assert.deepEqual(await store.listStudies(), [], "a study that fails on its data is never recorded");
      assert.deepEqual(await store.listRuns({}), []);
    } finally {
      await store.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

realDataTest(
  "candor run on real S&P 500 files: SPY's empty adj_close falls back to close; the study is stored",
  async (data) => {
    const dir = await Deno.makeTempDir();
    try {
      const db = join(dir, "runs.db");
      const run = await candor(["run", "--data", data, "--only", "AAPL,MSFT,SPY", "--folds", "2", "--db", db]);
      assert.equal(run.code, 0, run.stderr);
      assert.match(run.stdout, /^warning: adj_close missing or empty for 1 symbol\(s\): SPY; returns use close/m);
      const id = run.stdout.match(/stored as study (\S+)/)?.[1];
      assert.ok(id !== undefined, run.stdout);
      const store = openStore(db);
      try {
        const study = await store.getStudy(id);
        assert.equal(study?.status, "succeeded");
        assert.deepEqual([...study!.symbols].sort(), ["AAPL", "MSFT", "SPY"]);
        assert.match(study!.dataFingerprint!, /^sha256:/);
        const run0 = await store.getRun(study!.runs[0].id);
        assert.equal(run0?.folds.length, 2);
        assert.equal(run0?.backtest?.lag, 1);
      } finally {
        await store.close();
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);
