import assert from "node:assert/strict";
import { XGBoostModel } from "../../lib/models/xgboost/model.ts";
import { libraryCandidates, xgboostVersion } from "../../lib/models/xgboost/library.ts";
import { takeRows } from "../../lib/data/matrix.ts";
import { BackendUnavailableError, ConfigError } from "../../lib/errors.ts";
import { accuracy, classification } from "./_synthetic.ts";

const range = (a: number, b: number) => Array.from({ length: b - a }, (_, i) => a + i);

Deno.test("library: Debian's libxgboost reports its version", () => {
  assert.match(xgboostVersion(), /^\d+\.\d+\.\d+$/);
});

Deno.test("library: an unusable XGBOOST_LIBRARY_PATH fails with the install hint, not another copy", async () => {
  const code = `import { XGBoostModel } from "${new URL("../../lib/models/xgboost/model.ts", import.meta.url).href}";
    try { new XGBoostModel(); console.log("opened"); } catch (e) { console.log(e.name + ": " + e.message); }`;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", code],
    env: { XGBOOST_LIBRARY_PATH: "/nonexistent/libxgboost.so" },
    stdout: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  assert.match(text, /^BackendUnavailableError: /);
  assert.match(text, /apt-get install libxgboost0/);
  assert.match(text, /\/nonexistent\/libxgboost\.so/);
  assert.ok(BackendUnavailableError);
});

Deno.test("xgboost: a depth-1 stump with eta 1 and no regularization predicts the two group means", async () => {
  // x < 5 → y = 2, x ≥ 5 → y = 10. One round, squared error: each leaf = mean residual, so predictions are exact.
  const x = Float32Array.from(range(0, 10));
  const y = Float32Array.from(range(0, 10), (v) => (v < 5 ? 2 : 10));
  const m = new XGBoostModel({
    params: { objective: "reg:squarederror", max_depth: 1, eta: 1, lambda: 0, min_child_weight: 0, base_score: 0 },
    numBoostRound: 1,
  });
  await m.fit({ data: x, rows: 10, cols: 1 }, y);
  const p = m.predict({ data: x, rows: 10, cols: 1 });
  for (let i = 0; i < 10; i++) assert.ok(Math.abs(p[i] - y[i]) < 1e-5, `row ${i}: ${p[i]} vs ${y[i]}`);
  m.dispose();
});

Deno.test("xgboost: learns a planted rule and handles NaN as missing", async () => {
  const { X, label } = classification(2000, 5, 7, 0, 0.2);
  const train = takeRows(X, range(0, 1500)), test = takeRows(X, range(1500, 2000));
  const m = new XGBoostModel({ params: { objective: "binary:logistic", max_depth: 3, eta: 0.3, nthread: 1 } });
  const report = await m.fit(train, label.subarray(0, 1500));
  assert.equal(report.model, "xgboost");
  const p = m.predict(test);
  assert.equal(p.length, 500);
  assert.ok(p.every((v) => v >= 0 && v <= 1));
  assert.ok(accuracy(p, label.subarray(1500)) > 0.93, `accuracy ${accuracy(p, label.subarray(1500))}`);
  m.dispose();
});

Deno.test("xgboost: early stopping keeps the best round; its predictions equal a fit of exactly that many rounds", async () => {
  const { X, label } = classification(1200, 4, 3, 0.25);
  const train = takeRows(X, range(0, 800)), val = takeRows(X, range(800, 1200));
  const params = { objective: "binary:logistic", max_depth: 4, eta: 0.5, nthread: 1, seed: 5 };
  const es = new XGBoostModel({ params, numBoostRound: 200, earlyStoppingRounds: 5 });
  const rep = await es.fit(train, label.subarray(0, 800), { validation: { X: val, y: label.subarray(800) } });
  const best = rep.bestIteration!;
  assert.ok(best >= 1 && best < 200, `best iteration ${best}`);
  const curve = rep.details!.validationCurve as number[];
  // The stopping rule: the curve ends `earlyStoppingRounds` rounds after its minimum, which is at round `best`.
  assert.equal(curve.length, best + 5);
  assert.equal(Math.min(...curve), curve[best - 1]);
  assert.ok(curve.slice(best).every((v) => v >= curve[best - 1]));
  const plain = new XGBoostModel({ params, numBoostRound: best });
  await plain.fit(train, label.subarray(0, 800));
  assert.deepEqual(es.predict(val), plain.predict(val));
  es.dispose();
  plain.dispose();
});

Deno.test("xgboost: sample weight 2 equals duplicating the row (exact trees)", async () => {
  const { X, target } = classification(300, 3, 11);
  const w = Float32Array.from(range(0, 300), (i) => (i % 3 === 0 ? 2 : 1));
  const dupRows = range(0, 300).flatMap((i) => (i % 3 === 0 ? [i, i] : [i]));
  const params = { objective: "reg:squarederror", tree_method: "exact", max_depth: 3, eta: 0.3, nthread: 1 };
  const a = new XGBoostModel({ params, numBoostRound: 20 });
  await a.fit(X, target, { sampleWeight: w });
  const b = new XGBoostModel({ params, numBoostRound: 20 });
  await b.fit(takeRows(X, dupRows), Float32Array.from(dupRows, (i) => target[i]));
  const unweighted = new XGBoostModel({ params, numBoostRound: 20 });
  await unweighted.fit(X, target);
  const pa = a.predict(X), pb = b.predict(X), pu = unweighted.predict(X);
  for (let i = 0; i < 300; i++) assert.ok(Math.abs(pa[i] - pb[i]) < 1e-5, `row ${i}: ${pa[i]} vs ${pb[i]}`);
  assert.ok(pa.some((v, i) => Math.abs(v - pu[i]) > 1e-4), "weights must change the fit");
  for (const m of [a, b, unweighted]) m.dispose();
});

Deno.test("xgboost: multi:softprob returns rows × num_class probabilities, row-major", async () => {
  const { X } = classification(600, 3, 5);
  const y = Float32Array.from(range(0, 600), (i) => Math.min(2, Math.floor(X.data[i * 3] * 3)));
  const m = new XGBoostModel({
    params: { objective: "multi:softprob", num_class: 3, max_depth: 2 },
    numBoostRound: 20,
  });
  await m.fit(X, y);
  const p = m.predict(X);
  assert.equal(p.length, 600 * 3);
  let ok = 0;
  for (let i = 0; i < 600; i++) {
    const row = p.subarray(i * 3, i * 3 + 3);
    assert.ok(Math.abs(row[0] + row[1] + row[2] - 1) < 1e-5);
    if (row.indexOf(Math.max(...row)) === y[i]) ok++;
  }
  assert.ok(ok / 600 > 0.95, `multi-class accuracy ${ok / 600}`);
  m.dispose();
});

Deno.test("xgboost: save → load gives identical predictions; the file is XGBoost JSON", async () => {
  const { X, label } = classification(500, 4, 9, 0.1, 0.1);
  const dir = await Deno.makeTempDir();
  try {
    for (const calibration of ["none", "isotonic"] as const) {
      const m = new XGBoostModel({
        params: { objective: "binary:logistic", max_depth: 3, subsample: 0.8, colsample_bytree: 0.8 },
        numBoostRound: 30,
        calibration,
      });
      await m.fit(X, label, { seed: 3 });
      const path = `${dir}/m-${calibration}.json`;
      await m.save(path);
      const json = JSON.parse(await Deno.readTextFile(path));
      assert.ok(json.learner.gradient_booster, "XGBoost JSON model layout");
      const back = await XGBoostModel.load(path);
      assert.deepEqual(back.predict(X), m.predict(X));
      assert.equal(back.bestIteration, m.bestIteration);
      assert.deepEqual(back.calibrator, m.calibrator);
      m.dispose();
      back.dispose();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("xgboost: misuse fails with typed errors", async () => {
  const { X, label } = classification(50, 2, 1);
  const m = new XGBoostModel({ params: { objective: "binary:logistic" }, numBoostRound: 2 });
  assert.throws(() => m.predict(X), ConfigError);
  await assert.rejects(() => m.fit(X, label.subarray(0, 10)), ConfigError);
  await assert.rejects(() => m.fit(X, Float32Array.from(label, (v) => v * 3)), ConfigError);
  await m.fit(X, label);
  assert.throws(() => m.predict({ data: new Float32Array(3), rows: 1, cols: 3 }), ConfigError);
  m.dispose();
  m.dispose();
  assert.throws(() => m.predict(X), ConfigError);
  assert.throws(() => new XGBoostModel({ numBoostRound: 0 }), ConfigError);
});

Deno.test("xgboost: sign-bias warning from the training share of positive calls; centering fixes the tilt", async () => {
  // 85 % positive labels: an honest model calls "up" on most training rows, outside a [0.2, 0.6] band.
  const { X } = classification(600, 3, 8);
  const y = Float32Array.from({ length: 600 }, (_, i) => (X.data[i * 3] < 0.85 ? 1 : 0));
  const m = new XGBoostModel({
    params: { objective: "binary:logistic", max_depth: 2 },
    numBoostRound: 10,
    positiveShareBand: [0.2, 0.6],
  });
  const rep = await m.fit(X, y);
  assert.ok(rep.notes.some((n) => /sign bias/.test(n)), rep.notes.join("; "));
  assert.ok((rep.details!.trainPositiveShare as number) > 0.8);
  const fine = new XGBoostModel({ params: { objective: "binary:logistic", max_depth: 2 }, numBoostRound: 10 });
  const ok = await fine.fit(X, Float32Array.from(y, (_, i) => (X.data[i * 3] < 0.5 ? 1 : 0)));
  assert.ok(!ok.notes.some((n) => /sign bias/.test(n)));
  // Centering: the mean calibrated training prediction equals the label mean (clipping aside).
  const c = new XGBoostModel({ params: { objective: "binary:logistic" }, numBoostRound: 3, calibration: "centering" });
  await c.fit(X, y);
  const p = c.predict(X), raw = c.predict(X, { calibrated: false });
  const mean = (a: ArrayLike<number>) => Array.from(a).reduce((s, v) => s + v, 0) / a.length;
  assert.ok(Math.abs(mean(p) - mean(y)) < 1e-3, `${mean(p)} vs ${mean(y)}`);
  assert.ok(Math.abs(mean(raw) - mean(y)) > 0.01, "3 rounds at eta 0.3 leave the raw mean off the base rate");
  for (const model of [m, fine, c]) model.dispose();
});

Deno.test("xgboost: the seed drives row/column subsampling: same seed, same model; another seed, another model", async () => {
  const { X, label } = classification(400, 6, 12, 0.2);
  const fit = async (seed: number) => {
    const m = new XGBoostModel({
      params: { objective: "binary:logistic", subsample: 0.5, colsample_bytree: 0.5, nthread: 2 },
      numBoostRound: 15,
    });
    await m.fit(X, label, { seed });
    const p = m.predict(X);
    assert.equal((m.describe().params as Record<string, unknown>).objective, "binary:logistic");
    JSON.stringify(m.describe()); // JSON-serializable
    m.dispose();
    return p;
  };
  const [a, b, c] = [await fit(1), await fit(1), await fit(2)];
  assert.deepEqual(a, b);
  assert.notDeepEqual(a, c);
});

Deno.test("xgboost: matrices that are views into a larger buffer (non-zero byteOffset) are read correctly", async () => {
  const { X, label } = classification(300, 4, 3);
  const view = { data: X.data.subarray(400, 800), rows: 100, cols: 4 };
  const copy = { data: X.data.slice(400, 800), rows: 100, cols: 4 };
  const a = new XGBoostModel({ params: { objective: "binary:logistic", nthread: 1 }, numBoostRound: 5 });
  await a.fit(view, label.subarray(100, 200));
  const b = new XGBoostModel({ params: { objective: "binary:logistic", nthread: 1 }, numBoostRound: 5 });
  await b.fit(copy, label.slice(100, 200));
  assert.deepEqual(a.predict(copy), b.predict(copy));
  assert.deepEqual(a.predict(view), a.predict(copy));
  a.dispose();
  b.dispose();
});

const wheelCopy = "/usr/lib/python3/dist-packages/xgboost/lib/libxgboost.so";
const hasWheelCopy = (() => {
  try {
    return Deno.statSync(wheelCopy).isFile;
  } catch {
    return false;
  }
})();

Deno.test({
  name: "library: XGBOOST_LIBRARY_PATH selects a specific copy (Python's xgboost package copy here)" +
    (hasWheelCopy ? "" : " (SKIPPED: no Python xgboost package copy of libxgboost.so on this machine)"),
  ignore: !hasWheelCopy,
  fn: async () => {
    const code = `import { openXGBoost } from "${new URL("../../lib/models/xgboost/library.ts", import.meta.url).href}";
      const lib = openXGBoost(); console.log(lib.path + " " + lib.version.join("."));`;
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["eval", code],
      env: { XGBOOST_LIBRARY_PATH: wheelCopy },
      stdout: "piped",
    }).output();
    assert.match(new TextDecoder().decode(out.stdout), new RegExp(`^${wheelCopy} \\d+\\.\\d+\\.\\d+`));
  },
});

const debianLibrary = "/usr/lib/x86_64-linux-gnu/libxgboost.so.0";
const hasDebianLibrary = (() => {
  try {
    return Deno.statSync(debianLibrary).isFile;
  } catch {
    return false;
  }
})();

Deno.test({
  name: "library: XGBOOST_LIBRARY_PATH accepts the absolute path of Debian's library" +
    (hasDebianLibrary ? "" : ` (SKIPPED: no ${debianLibrary} on this machine)`),
  ignore: !hasDebianLibrary,
  fn: async () => {
    // A fresh process: the library is opened once per process.
    const code = `import { openXGBoost } from "${new URL("../../lib/models/xgboost/library.ts", import.meta.url).href}";
      const lib = openXGBoost(); console.log(lib.path + " " + lib.version.join("."));`;
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["eval", code],
      env: { XGBOOST_LIBRARY_PATH: debianLibrary },
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.ok(out.success, new TextDecoder().decode(out.stderr));
    assert.equal(new TextDecoder().decode(out.stdout).trim(), `${debianLibrary} ${xgboostVersion()}`);
  },
});

Deno.test("library: candidates list a pip wheel's copy under ~/.local and the active virtualenv, after the sonames", () => {
  const tmp = Deno.makeTempDirSync();
  const saved = Object.fromEntries(
    ["HOME", "XGBOOST_LIBRARY_PATH", "VIRTUAL_ENV", "CONDA_PREFIX"].map((k) => [k, Deno.env.get(k)]),
  );
  try {
    const wheel = (root: string, py: string) => {
      const dir = `${root}/lib/${py}/site-packages/xgboost/lib`;
      Deno.mkdirSync(dir, { recursive: true });
      Deno.writeTextFileSync(`${dir}/libxgboost.so`, "not a real library");
      return `${dir}/libxgboost.so`;
    };
    const userCopy = wheel(`${tmp}/home/.local`, "python3.11");
    const venvCopy = wheel(`${tmp}/venv`, "python3.12");
    Deno.mkdirSync(`${tmp}/elsewhere/lib/python3.11/site-packages/xgboost/lib`, { recursive: true }); // no file
    Deno.env.set("HOME", `${tmp}/home`);
    for (const k of ["XGBOOST_LIBRARY_PATH", "VIRTUAL_ENV", "CONDA_PREFIX"]) Deno.env.delete(k);
    const plain = libraryCandidates();
    assert.deepEqual(plain.slice(0, 2), ["libxgboost.so.0", "libxgboost.so"]);
    assert.ok(plain.includes(userCopy), plain.join("\n"));
    assert.ok(!plain.includes(venvCopy), "an inactive virtualenv is not searched");
    assert.ok(!plain.some((p) => p.startsWith(`${tmp}/elsewhere`)));
    Deno.env.set("VIRTUAL_ENV", `${tmp}/venv`);
    const withVenv = libraryCandidates();
    assert.equal(withVenv[2], venvCopy, "the active virtualenv comes before system and user copies");
    assert.ok(withVenv.includes(userCopy));
    // An explicit choice is the only candidate.
    Deno.env.set("XGBOOST_LIBRARY_PATH", "/opt/xgb/libxgboost.so");
    assert.deepEqual(libraryCandidates(), ["/opt/xgb/libxgboost.so"]);
  } finally {
    for (const [k, v] of Object.entries(saved)) v === undefined ? Deno.env.delete(k) : Deno.env.set(k, v);
    Deno.removeSync(tmp, { recursive: true });
  }
});

Deno.test("xgboost: the booster's own configuration shows every parameter applied (hist by default, seed, nthread)", async () => {
  const { X, target } = classification(200, 3, 14);
  const m = new XGBoostModel({
    params: { alpha: 0.25, lambda: 3.5, min_child_weight: 4, max_depth: 2, eta: 0.125, nthread: 1, subsample: 0.75 },
    numBoostRound: 3,
  });
  await m.fit(X, target, { seed: 42 });
  type Config = {
    learner: {
      generic_param: Record<string, string>;
      gradient_booster: {
        gbtree_train_param: Record<string, string>;
        updater: Record<string, { train_param: Record<string, string> }>;
      };
      objective: { name: string };
    };
  };
  const c = m.jsonConfig() as Config;
  assert.equal(c.learner.gradient_booster.gbtree_train_param.tree_method, "hist");
  assert.equal(c.learner.objective.name, "reg:squarederror");
  assert.equal(c.learner.generic_param.seed, "42");
  assert.equal(c.learner.generic_param.nthread, "1");
  const train = c.learner.gradient_booster.updater.grow_quantile_histmaker.train_param;
  assert.equal(Number(train.alpha), 0.25);
  assert.equal(Number(train.lambda), 3.5);
  assert.equal(Number(train.min_child_weight), 4);
  assert.equal(Number(train.max_depth), 2);
  assert.equal(Number(train.eta), 0.125);
  assert.equal(Number(train.subsample), 0.75);
  // params.seed wins over fit's seed; an explicit tree_method replaces the default.
  const exact = new XGBoostModel({ params: { tree_method: "exact", seed: 9, nthread: 1 }, numBoostRound: 2 });
  await exact.fit(X, target, { seed: 42 });
  const ce = exact.jsonConfig() as Config;
  assert.equal(ce.learner.gradient_booster.gbtree_train_param.tree_method, "exact");
  assert.equal(ce.learner.generic_param.seed, "9");
  m.dispose();
  exact.dispose();
});

Deno.test("xgboost: multi-class objectives refuse calibration and a positive-share band; the skipped bias check is a detail", async () => {
  const multi = { objective: "multi:softprob", num_class: 3 };
  assert.throws(() => new XGBoostModel({ params: multi, calibration: "centering" }), ConfigError);
  assert.throws(() => new XGBoostModel({ params: multi, calibration: "isotonic" }), ConfigError);
  assert.throws(() => new XGBoostModel({ params: { num_class: 3 }, calibration: "centering" }), ConfigError);
  assert.throws(() => new XGBoostModel({ params: multi, positiveShareBand: [0.3, 0.7] }), ConfigError);
  const { X } = classification(150, 3, 5);
  const y = Float32Array.from(range(0, 150), (i) => i % 3);
  const m = new XGBoostModel({ params: { ...multi, max_depth: 2 }, numBoostRound: 3 });
  const rep = await m.fit(X, y);
  assert.match(String(rep.details!.signBiasCheckSkipped), /multi:softprob gives 3 class probabilities/);
  assert.deepEqual(rep.notes, [], "a check that does not apply is not a note about the fit");
  assert.equal(rep.details!.trainPositiveShare, undefined);
  assert.equal(rep.details!.calibration, "identity");
  m.dispose();
  // Single-output objectives keep the check (and no such note).
  const b = new XGBoostModel({ params: { objective: "binary:logistic" }, numBoostRound: 3, calibration: "centering" });
  const rb = await b.fit(X, Float32Array.from(y, (v) => (v === 0 ? 1 : 0)));
  assert.ok(!rb.notes.some((n) => /skipped/.test(n)));
  assert.equal(typeof rb.details!.trainPositiveShare, "number");
  b.dispose();
});
