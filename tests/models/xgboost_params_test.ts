/**
 * Which parameters XGBoost does not use (lib/models/xgboost/params.ts), checked against XGBoost itself: the same
 * parameters given to a booster with `validate_parameters` on, in a fresh process, make XGBoost print its own
 * "Parameters: { … } are not used" warning on stderr, whose names must be exactly the probe's.
 */
import assert from "node:assert/strict";
import { defaultThreads, ONE_THREAD_BELOW_ROWS, probeParams } from "../../lib/models/xgboost/params.ts";
import { XGBoostModel } from "../../lib/models/xgboost/model.ts";

type Params = Record<string, string | number | boolean>;

/** The names XGBoost's own warning lists when a booster with `params` runs one round (none: no warning). */
async function xgboostWarns(params: Params): Promise<string[]> {
  const booster = new URL("../../lib/models/xgboost/booster.ts", import.meta.url).href;
  const code = `import { Booster, DMatrix } from "${booster}";
    const d = new DMatrix({ rows: 8, cols: 1, data: Float32Array.from({ length: 8 }, (_, i) => i) },
      { label: Float32Array.from({ length: 8 }, (_, i) => i % 2) });
    const b = Booster.create([d]);
    for (const [k, v] of Object.entries(${JSON.stringify(params)})) b.setParam(k, String(v));
    b.setParam("validate_parameters", "1");
    b.updateOneIter(0, d);`;
  const out = await new Deno.Command(Deno.execPath(), { args: ["eval", code], stdout: "null", stderr: "piped" })
    .output();
  const stderr = new TextDecoder().decode(out.stderr);
  assert.ok(out.success, stderr);
  const m = stderr.match(/Parameters: \{([^}]*)\} (?:are|might) not (?:be )?used/);
  return m === null ? [] : m[1].split(",").map((s) => s.trim().replace(/^"|"$/g, "")).filter((s) => s !== "");
}

const BASE: Params = { objective: "binary:logistic", tree_method: "hist", max_depth: 3, eta: 0.1 };

Deno.test("probeParams: the names XGBoost's own warning lists, for typos, aliases, wrapper arguments and boosters", async () => {
  const cases: Params[] = [
    {},
    { max_dept: 3 },
    { learning_rate: 0.1, reg_alpha: 1, reg_lambda: 2, gamma: 0.1, random_state: 7, verbosity: 1, n_jobs: 1 },
    { n_estimators: 100, early_stopping_rounds: 10, colsample_bytre: 0.5 },
    { eval_metric: "auc", scale_pos_weight: 3, max_bin: 64, grow_policy: "lossguide", max_leaves: 8 },
    { booster: "dart", rate_drop: 0.1, skip_drop: 0.5, sample_type: "weighted" },
    { booster: "gblinear", feature_selector: "cyclic", updater: "coord_descent" },
    { objective: "reg:squarederror", scale_pos_weight: 2, huber_slope: 1 },
  ];
  for (const extra of cases) {
    const params = { ...BASE, ...extra };
    const probe = probeParams(params);
    assert.ok(probe !== undefined, "Debian's libxgboost is installed by set-up");
    assert.equal(probe.refused, undefined, JSON.stringify(params));
    assert.deepEqual([...probe.unused].sort(), (await xgboostWarns(params)).sort(), JSON.stringify(extra));
  }
  // The cases above are not vacuous: XGBoost flags names in several of them.
  assert.deepEqual(await xgboostWarns({ ...BASE, max_dept: 3 }), ["max_dept"]);
  assert.ok((await xgboostWarns({ ...BASE, booster: "gblinear" })).includes("max_depth"));
});

Deno.test("probeParams: a refused value is XGBoost's message; names are still checked; data-dependent values pass", () => {
  const bad = probeParams({ ...BASE, max_depth: "abc", max_dept: 3 })!;
  assert.match(bad.refused!, /^Invalid Parameter format for max_depth expect int but value='abc'$/);
  assert.deepEqual(bad.unused, ["max_dept"]);
  assert.match(probeParams({ ...BASE, booster: "gbtreee" })!.refused!, /^Unknown gbm type gbtreee$/);
  // One monotone constraint per column: the probe has one column, the data more; left to training.
  const mono = probeParams({ ...BASE, monotone_constraints: "(1,-1,0)" })!;
  assert.equal(mono.refused, undefined);
  assert.deepEqual(mono.unused, []);
  assert.ok(mono.used.includes("max_depth") && mono.used.includes("eta"));
});

Deno.test("XGBoostModel: a parameter XGBoost did not use is a note of the fit report", async () => {
  const X = { rows: 40, cols: 2, data: Float32Array.from({ length: 80 }, (_, i) => (i * 37) % 11) };
  const y = Float32Array.from({ length: 40 }, (_, i) => i % 2);
  const fit = async (params: Params) => {
    const m = new XGBoostModel({ params: { objective: "binary:logistic", ...params }, numBoostRound: 3 });
    try {
      return (await m.fit(X, y, { seed: 1 })).notes.filter((n) => /did not use/.test(n));
    } finally {
      m.dispose();
    }
  };
  assert.deepEqual(await fit({ max_dept: 2, etaa: 0.3 }), [
    "XGBoost did not use parameters max_dept, etaa: they had no effect (misspelt, or not one of this booster's)",
  ]);
  assert.deepEqual(await fit({ max_depth: 2, learning_rate: 0.3 }), []);
});

Deno.test("defaultThreads: one thread below the measured crossover, every core from it", () => {
  assert.equal(ONE_THREAD_BELOW_ROWS, 25_000);
  assert.equal(defaultThreads(0, 8), 1);
  assert.equal(defaultThreads(24_999, 8), 1);
  assert.equal(defaultThreads(25_000, 8), 8);
  assert.equal(defaultThreads(2_000_000, 2), 2);
  assert.equal(defaultThreads(2_000_000, 0), 1);
  // Fits side by side share the cores: 2 cores, 2 folds → 1 thread each; 64 cores, 5 folds → 12 each (64 ÷ 5 = 12.8).
  assert.equal(defaultThreads(2_000_000, 2, 2), 1);
  assert.equal(defaultThreads(2_000_000, 64, 5), 12);
  assert.equal(defaultThreads(2_000_000, 3, 4), 1);
  assert.equal(defaultThreads(24_999, 64, 2), 1);
});
