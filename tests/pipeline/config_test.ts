import assert from "node:assert/strict";
import { join } from "node:path";
import {
  configDocument,
  configToYaml,
  readStudyConfigFile,
  resolveStoredConfig,
  resolveStudyConfig,
  setConfigValue,
  StudyConfigSchema,
} from "../../lib/pipeline/config.ts";
import { ConfigError } from "../../lib/errors.ts";
import { modelKinds, trainerOf } from "../../lib/pipeline/trainers/registry.ts";
import { describeSettings, suggest } from "../../lib/pipeline/schema.ts";

import { ISSUE_YAML } from "./_issue_yaml.ts";

function refused(input: unknown, message: RegExp): void {
  assert.throws(() => resolveStudyConfig(input), (e) => {
    assert.ok(e instanceof ConfigError, `expected ConfigError, got ${e}`);
    assert.match(e.message, message);
    return true;
  });
}

Deno.test("study config: the empty config resolves to the documented demo defaults", () => {
  const c = resolveStudyConfig({});
  assert.deepEqual(c.data, { kind: "synthetic", symbols: 20, days: 2520, mode: "planted", seed: 42 });
  assert.deepEqual(c.target, { kind: "direction", horizon: 1, flat: { volatility: 0.5, window: 20 } });
  assert.equal(c.validation.scheme, "anchored");
  assert.equal(c.validation.folds, 5);
  assert.equal(c.validation.purge, 1, "the purge defaults to the horizon");
  assert.equal(c.validation.validationFraction, 0.15);
  assert.deepEqual(c.features, { set: "base", columns: "all", exclude: [] });
  assert.equal(c.models.length, 1);
  assert.equal(c.models[0].name, "xgboost");
  assert.equal(c.models[0].settings.numBoostRound, 400);
  assert.deepEqual(c.backtest, {
    lag: 1,
    costBps: 5,
    slippageBps: 0,
    borrowBps: 0,
    portfolio: "long-short",
    sizing: { kind: "sign" },
    annualization: 252,
  });
  assert.deepEqual(c.gate, { wfeThreshold: 0.5, skip: false });
  assert.equal(c.seed, 42);
  assert.equal(c.allowLeakage, false);
  // Resolving a resolved config gives it back unchanged.
  assert.equal(resolveStudyConfig(c), c);
});

Deno.test("study config: the issue's YAML resolves, with base entries ordered before the stack", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const file = join(dir, "study.yaml");
    await Deno.writeTextFile(file, ISSUE_YAML);
    const c = resolveStudyConfig(await readStudyConfigFile(file));
    assert.deepEqual(c.data, { kind: "files", path: "prices/" });
    assert.equal(c.validation.scheme, "rolling");
    assert.equal(c.validation.trainDays, 1000);
    assert.deepEqual(c.models.map((m) => m.name), ["gbm", "mlp", "lt", "xl", "stack"]);
    assert.equal(c.models[1].settings.epochs, 5);
    assert.equal(c.models[1].settings.batchSize, 256, "omitted settings take the kind's defaults");
    assert.deepEqual(c.models[4].base, ["gbm", "mlp"]);
    assert.equal(c.models[4].meta, "elasticnet");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("study config: errors are path-precise, say what was expected and what was found", () => {
  refused(
    { models: [{ kind: "xgboost" }, { kind: "lstm", settings: { units: "abc" } }] },
    /^models\[1\]\.settings\.units: expected a positive integer, found "abc"$/,
  );
  refused({ target: { horizon: 2.5 } }, /^target\.horizon: expected a positive integer, found 2\.5$/);
  refused({ backtest: { costBps: -1 } }, /^backtest\.costBps: expected a number in \[0, 10000\], found -1$/);
  refused({ backtest: { lag: 0 } }, /^backtest\.lag: expected a positive integer, found 0$/);
  refused({ validation: { scheme: "kfold" } }, /validation\.scheme: expected one of anchored, rolling, three-way/);
  refused({ target: { kind: "price" } }, /target\.kind: expected one of direction, direction3, return, excess/);
  // A discriminated union's failure quotes the discriminator found, not the whole object it was expanded into.
  refused({ backtest: { sizing: "foo" } }, /^backtest\.sizing\.kind: expected a sizing rule: sign, .*, found "foo"$/);
  refused(
    { backtest: { sizing: { kind: "kely" } } },
    /^backtest\.sizing\.kind: expected a sizing rule: .*, found "kely"$/,
  );
  // An inverted band would accept nothing (and warn on every fold): refused, with what was written.
  refused(
    { health: { upShareBand: [0.9, 0.1] } },
    /^health\.upShareBand: expected \[low, high\] with low ≤ high, found \[0\.9,0\.1\]$/,
  );
  refused(
    { models: [{ kind: "xgboost", settings: { positiveShareBand: [0.8, 0.2] } }] },
    /^models\[0\]\.settings\.positiveShareBand: expected \[low, high\] with low ≤ high, found \[0\.8,0\.2\]$/,
  );
  assert.deepEqual(resolveStudyConfig({ health: { upShareBand: [0.5, 0.5] } }).health.upShareBand, [0.5, 0.5]);
});

Deno.test("study config: unknown keys name the allowed ones and the nearest", () => {
  // A key of a part, written at the top level, is named with its part.
  refused(
    { horizon: 5 },
    /^horizon: unknown key \(did you mean "target\.horizon"\?\); allowed here: name, data, target, validation/,
  );
  refused(
    { target: { horizn: 5 } },
    /target\.horizn: unknown key \(did you mean "horizon"\?\); allowed here: kind, horizon, flat/,
  );
  refused(
    { models: [{ kind: "mlp", settings: { epoch: 5 } }] },
    /models\[0\]\.settings\.epoch: unknown key \(did you mean "epochs"\?\); allowed here: hidden, epochs, batchSize/,
  );
  refused(
    { models: [{ kind: "xgbost" }] },
    /models\[0\]\.kind: unknown model kind "xgbost" \(did you mean "xgboost"\?\)/,
  );
  refused({ features: ["RET5", "RSI41"] }, /features\.set\[1\]: unknown feature "RSI41"/);
  // Two swapped letters are the likelier slip than a letter too many: "modle" is "model", not "mode".
  assert.equal(suggest("modle", ["mode", "model"]), "model");
  assert.equal(suggest("MODLE", ["mode", "model"]), "model");
  assert.equal(suggest("mdoe", ["model", "mode"]), "mode");
  assert.equal(suggest("mod", ["mode", "model"]), "mode");
  assert.equal(suggest("zzzzzz", ["mode", "model"]), undefined);
  refused(
    { target: { hroizon: 5 } },
    /target\.hroizon: unknown key \(did you mean "horizon"\?\)/,
  );
});

Deno.test("study config: data is { path, symbols } or { synthetic: { … } }, and its problems are named so", async () => {
  const market = { kind: "synthetic", symbols: 20, days: 600, mode: "planted", seed: 42 };
  assert.deepEqual(resolveStudyConfig({ data: { synthetic: { days: 600 } } }).data, market);
  assert.deepEqual(resolveStudyConfig({ data: {} }).data, { ...market, days: 2520 });
  assert.deepEqual(resolveStudyConfig({ data: { path: "p/", symbols: ["A"] } }).data, {
    kind: "files",
    path: "p/",
    symbols: ["A"],
  });
  // The tagged form a resolved configuration holds (a stored study's) still reads.
  assert.deepEqual(resolveStudyConfig({ data: { kind: "synthetic", days: 600 } }).data, market);

  // The key as written, and the value found there.
  refused({ data: { synthetic: { days: 10 } } }, /^data\.synthetic\.days: expected an integer ≥ 60, found 10$/);
  refused(
    { data: { synthetic: { signalStrength: 0 } } },
    /^data\.synthetic\.signalStrength: expected a number > 0, found 0$/,
  );
  refused({ data: { kind: "synthetic", days: 10 } }, /^data\.synthetic\.days: expected an integer ≥ 60, found 10$/);
  refused(
    { data: { synthetic: { dayz: 600 } } },
    /^data\.synthetic\.dayz: unknown key \(did you mean "days"\?\); allowed here: symbols, days, mode, seed,/,
  );
  // The market's keys belong under data.synthetic.
  refused(
    { data: { days: 600 } },
    /^data\.days: unknown key \(did you mean "synthetic\.days"\?\); allowed here: path, symbols, synthetic$/,
  );
  refused(
    { data: { symbols: 4 } },
    /^data\.symbols: expected a list of symbols \(the number of symbols of the synthetic market is data\.synthetic\.symbols\), found 4$/,
  );
  refused({ data: { symbols: ["AAPL"] } }, /^data\.symbols: expected together with data\.path .*, found \["AAPL"\]$/);
  refused(
    { data: { path: "p/", synthetic: { days: 600 } } },
    /^data: expected price files \(path\) or the synthetic market \(synthetic\), not both, found \{"path":"p\/","synthetic":\{"days":600\}\}$/,
  );

  // What --dry-run prints is the documented shape, and it reads back as the same configuration.
  const YAML = await import("yaml");
  const synthetic = resolveStudyConfig({ data: { synthetic: { symbols: 4, days: 600, drift: 0.001 } } });
  assert.deepEqual(YAML.parse(configToYaml(synthetic)).data, {
    synthetic: { symbols: 4, days: 600, mode: "planted", seed: 42, drift: 0.001 },
  });
  assert.deepEqual(resolveStudyConfig(YAML.parse(configToYaml(synthetic))), synthetic);
  const files = resolveStudyConfig({ data: { path: "p/", symbols: ["A", "B"] } });
  assert.deepEqual(YAML.parse(configToYaml(files)).data, { path: "p/", symbols: ["A", "B"] });
  assert.deepEqual(configDocument(files).data, { path: "p/", symbols: ["A", "B"] });
});

Deno.test("study config: a value changed by a preprocess is quoted as found, not reported missing", () => {
  // `features: NAME` reads as `{ set: NAME }`: the problem is at features.set, where the raw input holds nothing.
  refused({ features: "basic" }, /^features\.set: expected base, full or a list of feature names, found "basic"$/);
  refused(
    { features: { set: "basic" } },
    /^features\.set: expected base, full or a list of feature names, found "basic"$/,
  );
  refused({ features: { columns: 5 } }, /^features\.columns: expected all, none or a list of column names, found 5$/);
  // A key that is really missing is still reported so.
  refused({ models: [{ settings: {} }] }, /^models\[0\]\.kind: expected a string, found nothing$/);
});

Deno.test("study config: the purge may not be shorter than the horizon; scheme settings belong to their scheme", () => {
  refused(
    { target: { horizon: 5 }, validation: { purge: 2 } },
    /validation\.purge: 2 is shorter than the label horizon 5/,
  );
  assert.equal(resolveStudyConfig({ target: { horizon: 5 } }).validation.purge, 5);
  refused(
    { validation: { trainDays: 500 } },
    /validation\.trainDays: a setting of the rolling scheme, not of anchored/,
  );
  refused(
    { validation: { scheme: "cpcv", folds: 4 } },
    /validation\.folds: a setting of the anchored, rolling and purged-kfold schemes/,
  );
  refused({ validation: { scheme: "cpcv", groups: 4, testGroups: 4 } }, /testGroups: expected fewer than groups \(4\)/);
  refused(
    { validation: { scheme: "three-way", split: { train: 0.5, validation: 0.2, test: 0.2 } } },
    /validation\.split: train \+ validation \+ test must be 1/,
  );
});

Deno.test("study config: a resolved configuration (every default filled) reads back as itself, for every scheme", async () => {
  // `candor run --dry-run` prints the resolved configuration to be saved and run again with --config; it holds the
  // defaults of keys other schemes read (split, groups, embargo, …), which must not be refused as foreign settings.
  const dir = await Deno.makeTempDir();
  try {
    for (const scheme of ["anchored", "rolling", "three-way", "purged-kfold", "cpcv"]) {
      const resolved = resolveStudyConfig({ validation: { scheme }, target: { horizon: 2 } });
      const file = join(dir, `${scheme}.yaml`);
      await Deno.writeTextFile(file, configToYaml(resolved));
      const back = resolveStudyConfig(await readStudyConfigFile(file));
      assert.deepEqual(back, resolved, scheme);
      assert.deepEqual(resolveStudyConfig(JSON.parse(JSON.stringify(resolved))), resolved, `${scheme} (JSON)`);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  // A foreign key set to anything but its default is still a mistake worth refusing.
  refused({ validation: { groups: 8 } }, /validation\.groups: a setting of the cpcv scheme, not of anchored/);
  refused({ validation: { embargo: 3 } }, /validation\.embargo: a setting of the purged-kfold and cpcv schemes/);
  refused(
    { validation: { split: { train: 0.7, validation: 0.1, test: 0.2 } } },
    /validation\.split: a setting of the three-way scheme, not of anchored/,
  );
  refused({ validation: { scheme: "cpcv", folds: 4 } }, /validation\.folds: a setting of the anchored/);
});

Deno.test("study config: entries — unique names, kinds that fit the target, stacking over named bases only", () => {
  refused(
    { models: [{ kind: "mlp" }, { kind: "mlp" }] },
    /models\[1\]\.name: "mlp" is already the name of models\[0\]/,
  );
  refused(
    { target: { kind: "return" }, models: [{ kind: "logistic" }] },
    /models\[0\]\.kind: logistic cannot learn a regression target .* kinds for this target: xgboost, elasticnet, ridge, mlp/,
  );
  refused({ models: [{ kind: "lstm-regressor" }] }, /lstm-regressor cannot learn a binary target/);
  refused({ models: [{ kind: "xgboost", base: ["a"] }] }, /models\[0\]: base and meta are for stacking entries/);
  refused({ models: [{ kind: "stacking" }] }, /models\[0\]\.base: stacking needs the names of the entries it combines/);
  refused(
    { models: [{ kind: "xgboost" }, { kind: "stacking", base: ["gbm"] }] },
    /models\[1\]\.base: no entry named "gbm"; entries: xgboost, stacking/,
  );
  refused(
    { validation: { scheme: "purged-kfold" }, models: [{ kind: "xgboost" }, { kind: "stacking", base: ["xgboost"] }] },
    /stacking needs a walk-forward scheme/,
  );
});

Deno.test("setConfigValue: dotted and indexed paths create what is missing; flags override the file", () => {
  const c: Record<string, unknown> = { target: { kind: "return" } };
  setConfigValue(c, "target.horizon", 5);
  setConfigValue(c, "models[0].settings.units", 32);
  setConfigValue(c, "models[0].kind", "lstm");
  assert.deepEqual(c, { target: { kind: "return", horizon: 5 }, models: [{ settings: { units: 32 }, kind: "lstm" }] });
});

Deno.test("readStudyConfigFile: a YAML syntax error names the file, line and column; a missing file is named", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const file = join(dir, "bad.yaml");
    await Deno.writeTextFile(file, "data: { path: prices/ }\nmodels:\n  - { kind: xgboost\n");
    await assert.rejects(
      readStudyConfigFile(file),
      (e) => e instanceof ConfigError && /bad\.yaml, line \d+, column \d+/.test(e.message),
    );
    await assert.rejects(readStudyConfigFile(join(dir, "none.yaml")), /none\.yaml: config file not found/);
    const list = join(dir, "list.yaml");
    await Deno.writeTextFile(list, "- a\n- b\n");
    await assert.rejects(readStudyConfigFile(list), /expected a mapping of settings/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("every kind declares its settings with defaults and descriptions (what candor models prints)", () => {
  assert.deepEqual(modelKinds(), [
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
  for (const kind of modelKinds()) {
    const t = trainerOf(kind)!;
    const docs = describeSettings(t.settings);
    assert.ok(docs.length > 0, kind);
    for (const d of docs) assert.ok(d.description.length > 0, `${kind}.${d.name} has no description`);
    // The defaults the listing shows are the ones a fit uses: parsing {} gives them.
    const parsed = t.settings.parse({}) as Record<string, unknown>;
    for (const d of docs.filter((x) => x.default !== undefined)) {
      assert.deepEqual(parsed[d.name], JSON.parse(d.default!), `${kind}.${d.name}`);
    }
  }
  assert.ok(StudyConfigSchema !== undefined);
});

Deno.test("neural settings accept exactly the tfjs backends the models know", async () => {
  const { BACKEND_CHOICES } = await import("../../lib/pipeline/trainers/neural.ts");
  const { BACKEND_REQUESTS } = await import("../../lib/models/nn/backend.ts");
  assert.deepEqual([...BACKEND_CHOICES], [...BACKEND_REQUESTS]);
  assert.equal(
    resolveStudyConfig({ models: [{ kind: "mlp", settings: { backend: "webgpu" } }] }).models[0].settings.backend,
    "webgpu",
  );
});

Deno.test("study config: XGBoost parameters XGBoost would not use, or candor sets, are refused before anything runs", () => {
  const xgb = (params: Record<string, unknown>, target = "direction") => ({
    target: { kind: target },
    models: [{ kind: "xgboost", settings: { params } }],
  });
  refused(
    xgb({ max_dept: 4 }),
    /^models\[0\]\.settings\.params\.max_dept: XGBoost does not use this parameter \(did you mean "max_depth"\?\)/,
  );
  refused(xgb({ n_estimators: 100 }), /params\.n_estimators: .*not an XGBoost parameter: set settings\.numBoostRound/);
  refused(xgb({ nthread: 4 }), /params\.nthread: set by candor from settings\.threads; remove it and set threads/);
  refused(xgb({ random_state: 1 }), /params\.random_state: set by candor .*seed/);
  refused(xgb({ objective: "binary:hinge" }), /params\.objective: set by candor: the objective follows target\.kind/);
  refused(xgb({ max_depth: "abc" }), /params: XGBoost refused a value: .*max_depth.*'abc'/);
  // Two problems, one line each.
  refused(
    xgb({ max_dept: 4, etaa: 0.1 }),
    /invalid configuration:\n {2}models\[0\]\.settings\.params\.max_dept: .*\n {2}.*params\.etaa/,
  );
  // Used names pass, whichever of XGBoost's names they use: aliases, the loss for early stopping, a booster's own.
  for (
    const ok of [
      { learning_rate: 0.1, reg_lambda: 2, min_split_loss: 0.1, max_bin: 64 },
      { eval_metric: "auc", scale_pos_weight: 2 },
      { booster: "dart", rate_drop: 0.1 },
      { monotone_constraints: "(1,-1)" }, // depends on the data's columns: left to training
    ]
  ) {
    assert.doesNotThrow(() => resolveStudyConfig(xgb(ok)), JSON.stringify(ok));
  }
  // A booster's parameters are its own: tree parameters mean nothing to the linear booster.
  refused(xgb({ booster: "gblinear", max_depth: 4 }), /params\.max_depth: XGBoost does not use this parameter/);
  // A configuration read back from the store ran as it was: resuming or re-backtesting it is not refused.
  assert.doesNotThrow(() => resolveStoredConfig(xgb({ max_dept: 4 })));
});
