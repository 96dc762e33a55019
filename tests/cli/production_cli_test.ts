/**
 * The production commands as a user runs them: --help for each, an unknown option answered with the nearest one,
 * `run --production` registering a model, `backtest --run` re-sizing a stored run, `simulate` matching the backtest.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import pl from "nodejs-polars";
import { candor } from "../_helpers/candor_cli.ts";
import { openStore } from "../../lib/store/mod.ts";
import { ConfigError } from "../../lib/errors.ts";
import { panelFromFrame } from "../../lib/data/panel.ts";
import { syntheticMarket } from "../../lib/data/synthetic.ts";
import { writePanelCsv } from "../../lib/data/write.ts";
import { predictLatest } from "../../lib/production/predict.ts";

/**
 * Writes `dir`/study.yaml — the small synthetic market, two folds, then `yaml` (the entries and any other keys) — and
 * runs it as a user would with `candor run --production --json`, models in `dir`/m; returns the store, the config and
 * the printed JSON.
 */
async function productionStudy(dir: string, yaml: string) {
  const db = join(dir, "runs.db");
  const config = join(dir, "study.yaml");
  await Deno.writeTextFile(
    config,
    "data: { synthetic: { symbols: 4, days: 450, seed: 2 } }\nvalidation: { folds: 2 }\n" + yaml,
  );
  const run = await candor([
    "run",
    "--config",
    config,
    "--db",
    db,
    "--production",
    "--models-dir",
    join(dir, "m"),
    "--json",
  ]);
  assert.equal(run.code, 0, run.stderr);
  return { db, config, out: JSON.parse(run.stdout) };
}

Deno.test("candor train/predict/backtest/sweep/simulate --help; unknown options name the nearest one", async () => {
  for (const cmd of ["train", "predict", "backtest", "sweep", "simulate"]) {
    const help = await candor([cmd, "--help"]);
    assert.equal(help.code, 0, `${cmd}: ${help.stderr}`);
    assert.match(help.stdout, new RegExp(`^Usage: candor ${cmd}`, "m"), cmd);
    assert.ok(!help.stdout.includes("\u001b["), "no colour off a terminal");
  }
  const typo = await candor(["backtest", "--run", "run_x", "--sizng", "kelly"]);
  assert.equal(typo.code, 2);
  assert.match(typo.stderr, /unknown option --sizng for candor backtest \(did you mean --sizing\?\)/);
});

Deno.test("candor run --production registers the passing entry; backtest --run re-sizes it; simulate matches the backtest", async () => {
  const dir = await Deno.makeTempDir({ prefix: "candor-cli-production-" });
  try {
    const { db, config, out } = await productionStudy(
      dir,
      "models: [{ name: lin, kind: logistic }]\nbacktest: { sizing: seed-aapl }\n",
    );
    assert.equal(out.models[0].gate.passed, true, out.models[0].gate.reason);
    assert.equal(out.production.models.length, 1);
    assert.equal(out.production.models[0].sizing, "hybrid(seed-aapl)");
    assert.equal(out.production.models[0].family, undefined, "one entry is one test: no Holm reading");
    const runId = out.models[0].runId;

    const bt = await candor([
      "backtest",
      "--run",
      runId,
      "--sizing",
      "kelly",
      "--fraction",
      "0.25",
      "--lag",
      "2",
      "--db",
      db,
    ]);
    assert.equal(bt.code, 0, bt.stderr);
    assert.match(bt.stdout, /re-sized without retraining: kelly\(fraction=0\.25,payoff=1,maxPosition=1\), long-short/);
    assert.match(bt.stdout, /Backtest .* \(lag 2, costs 5 bps/);
    assert.match(bt.stdout, /deflated Sharpe .* with N = 2 trials on this data and target/);
    assert.match(bt.stdout, /the run's own backtest \(hybrid\(seed-aapl\)\)/);
    const store = openStore(db);
    try {
      const [added] = await store.listRunBacktests([runId]);
      assert.equal(added.lag, 2);
      assert.equal((added.details as { sizing: { kind: string; fraction: number } }).sizing.fraction, 0.25);
      assert.equal((await store.listModels()).length, 1);
    } finally {
      await store.close();
    }

    const sim = await candor(["simulate", "--config", config, "--from", "2011-01-03", "--retrain-every", "60"]);
    assert.equal(sim.code, 0, sim.stderr);
    assert.match(sim.stdout, /production matches the backtest: the daily net returns agree on \d+ dates/);
    const noFrom = await candor(["simulate", "--config", config]);
    assert.equal(noFrom.code, 2);
    assert.match(noFrom.stderr, /needs --from DATE/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("candor run --production and train --study: each model says whether its edge holds among the study's entries (Holm)", async () => {
  const dir = await Deno.makeTempDir({ prefix: "candor-cli-family-" });
  try {
    const { db, out } = await productionStudy(
      dir,
      "models: [{ name: lin, kind: logistic }, { name: rdg, kind: ridge }]\n",
    );
    // Holm for two one-sided p-values, by hand: the smaller doubled, the larger raised to it.
    const p = out.models.map((m: { pooled: { edge: { pValue: number } } }) => m.pooled.edge.pValue) as number[];
    const low = Math.min(1, 2 * Math.min(...p)), high = Math.max(low, Math.max(...p));
    const adjusted = p.map((x) => (x === Math.min(...p) ? low : high));
    assert.equal(out.production.models.length, 2, JSON.stringify(out.production.refused));
    for (const m of out.production.models) {
      const i = out.models.findIndex((e: { name: string }) => e.name === m.name);
      assert.equal(m.family.tests, 2);
      assert.ok(Math.abs(m.family.adjustedP - adjusted[i]) < 1e-12, `${m.family.adjustedP} vs ${adjusted[i]}`);
      assert.equal(m.family.holds, adjusted[i] <= 0.025);
      // Stored with the model, for `candor predict` to warn about an edge that does not hold.
      const manifest = JSON.parse(await Deno.readTextFile(join(m.path, "model.json")));
      assert.deepEqual(manifest.study.family, m.family);
    }
    // The same reading from the stored study, in words.
    const train = await candor(["train", "--study", out.id, "--db", db, "--models-dir", join(dir, "m2")]);
    assert.equal(train.code, 0, train.stderr);
    for (const [i, m] of out.models.entries()) {
      const words = adjusted[i] <= 0.025 ? "holds" : "does NOT hold";
      const shown = adjusted[i] < 0.001 ? "< 0.001" : `= ${adjusted[i].toFixed(3)}`;
      assert.ok(
        train.stdout.includes(`${m.name} (`) &&
          train.stdout.includes(
            `its edge ${words} under Holm's correction over the study's 2 entries (adjusted p ${shown})`,
          ),
        train.stdout,
      );
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("candor predict --as-of and simulate --from take calendar dates only: 2019-13-45, 2019-02-30 and 2019-02-29 are refused, 2020-02-29 is taken", async () => {
  const dir = await Deno.makeTempDir({ prefix: "candor-cli-dates-" });
  try {
    // Weekdays from 2018-06-01 to 2020-05-28; the model is trained on the prices through 2020-01-31.
    const market = syntheticMarket({ symbols: 4, days: 520, seed: 3, start: "2018-06-01" });
    const train = join(dir, "train"), all = join(dir, "all"), db = join(dir, "runs.db");
    writePanelCsv(
      panelFromFrame(market.panel.frame.filter(pl.col("date").lessThanEquals(pl.lit("2020-01-31")))),
      train,
    );
    writePanelCsv(market.panel, all);
    const config = join(dir, "study.yaml");
    await Deno.writeTextFile(
      config,
      `data: { path: ${all} }\nvalidation: { folds: 2 }\nmodels: [{ name: lin, kind: logistic }]\n`,
    );
    const run = await candor([
      "run",
      "--data",
      train,
      "--model",
      "logistic",
      "--folds",
      "2",
      "--skip-gate",
      "--production",
      "--models-dir",
      join(dir, "m"),
      "--db",
      db,
    ]);
    assert.equal(run.code, 0, run.stderr);

    for (const bad of ["2019-13-45", "2019-02-30", "2019-02-29", "2019-04-31", "2019-00-10", "20190101"]) {
      const predict = await candor(["predict", "--model", "latest", "--data", all, "--as-of", bad, "--db", db]);
      assert.equal(predict.code, 2, predict.stderr);
      assert.match(
        predict.stderr,
        new RegExp(`^candor: --as-of ${bad}: not a calendar date \\(expected YYYY-MM-DD\\)`),
      );
      const simulate = await candor(["simulate", "--config", config, "--from", bad]);
      assert.equal(simulate.code, 2, simulate.stderr);
      assert.match(
        simulate.stderr,
        new RegExp(`^candor: --from ${bad}: not a calendar date \\(expected YYYY-MM-DD\\)`),
      );
    }
    const store = openStore(db);
    try {
      const [model] = await store.listModels();
      assert.equal((await store.listProductionPredictions([model.id])).length, 0, "nothing stored for a refused date");
      // The library refuses it too, before the model is looked up.
      await assert.rejects(
        () => predictLatest({ store, model: "model_none", data: all, asOf: "2019-02-29" }),
        (e) =>
          e instanceof ConfigError && e.message === "--as-of 2019-02-29: not a calendar date (expected YYYY-MM-DD)",
      );
    } finally {
      await store.close();
    }

    // 2020 is a leap year; 2020-02-29 is a Saturday, so the last prices on or before it are Friday's.
    const leap = await candor([
      "predict",
      "--model",
      "latest",
      "--data",
      all,
      "--as-of",
      "2020-02-29",
      "--json",
      "--db",
      db,
    ]);
    assert.equal(leap.code, 0, leap.stderr);
    const out = JSON.parse(leap.stdout);
    assert.equal(out.asOf, "2020-02-28");
    assert.ok(out.predictions.every((p: { date: string }) => p.date === "2020-02-28"));
    const sim = await candor(["simulate", "--config", config, "--from", "2020-02-29", "--json"]);
    assert.equal(sim.code, 0, sim.stderr);
    assert.equal(JSON.parse(sim.stdout).from, "2020-03-02", "the first decision date on or after --from");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
