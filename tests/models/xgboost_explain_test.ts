/** TreeSHAP, importances, SHAP top-k selection inside the training fold, the GPU fallback, and memory stability. */
import assert from "node:assert/strict";
import { XGBoostModel } from "../../lib/models/xgboost/model.ts";
import { openXGBoost, XGBoostError } from "../../lib/models/xgboost/library.ts";
import { BackendUnavailableError } from "../../lib/errors.ts";
import type { Matrix } from "../../lib/data/matrix.ts";
import { classification, lcg } from "./_synthetic.ts";

const range = (a: number, b: number) => Array.from({ length: b - a }, (_, i) => a + i);

Deno.test("shap: a single stump's TreeSHAP values are leaf value minus the cover-weighted mean leaf", async () => {
  // Feature 0 splits x < 5 (y = 2) from x ≥ 5 (y = 10); feature 1 is never used. Covers are 5 and 5, so the expected
  // value is 6 and the contributions are −4 / +4 for feature 0 and 0 for feature 1.
  const data = new Float32Array(20);
  for (let i = 0; i < 10; i++) {
    data[2 * i] = i;
    data[2 * i + 1] = (i * 7) % 3;
  }
  const X: Matrix = { data, rows: 10, cols: 2 };
  const y = Float32Array.from(range(0, 10), (v) => (v < 5 ? 2 : 10));
  const m = new XGBoostModel({
    params: { max_depth: 1, eta: 1, lambda: 0, min_child_weight: 0, base_score: 0 },
    numBoostRound: 1,
  });
  await m.fit(X, y);
  const shap = m.shapValues(X);
  assert.equal(shap.cols, 3);
  for (let i = 0; i < 10; i++) {
    assert.ok(Math.abs(shap.values[i * 3] - (i < 5 ? -4 : 4)) < 1e-5);
    assert.equal(shap.values[i * 3 + 1], 0);
    assert.ok(Math.abs(shap.values[i * 3 + 2] - 6) < 1e-5);
  }
  m.dispose();
});

Deno.test("shap: contributions add up to the logit of the predicted probability", async () => {
  const { X, label } = classification(400, 5, 13, 0.1, 0.2);
  const m = new XGBoostModel({ params: { objective: "binary:logistic", max_depth: 4 }, numBoostRound: 30 });
  await m.fit(X, label);
  const shap = m.shapValues(X);
  const p = m.predict(X);
  for (let i = 0; i < X.rows; i++) {
    let s = 0;
    for (let j = 0; j < shap.cols; j++) s += shap.values[i * shap.cols + j];
    assert.ok(Math.abs(s - Math.log(p[i] / (1 - p[i]))) < 1e-3, `row ${i}`);
  }
  assert.ok(shap.maxAdditivityError < 1e-3);
  const imp = m.shapImportance(X);
  assert.equal(imp.method, "shap");
  // Only x0 and x1 carry signal.
  const order = Array.from(imp.values.keys()).sort((a, b) => imp.values[b] - imp.values[a]);
  assert.deepEqual(order.slice(0, 2).sort(), [0, 1]);
  m.dispose();
});

Deno.test("shap: a failing SHAP computation falls back to gain importance and says why", async () => {
  const { X, label } = classification(200, 3, 2);
  const m = new XGBoostModel({ params: { objective: "binary:logistic" }, numBoostRound: 5 });
  await m.fit(X, label);
  const wrong: Matrix = { data: new Float32Array(20), rows: 10, cols: 2 }; // wrong width: XGBoost refuses it
  const imp = m.shapImportance(wrong);
  assert.equal(imp.method, "gain");
  assert.ok(imp.fallbackReason && imp.fallbackReason.length > 0);
  assert.deepEqual(Array.from(imp.values), Array.from(m.importance("gain").values));
  m.dispose();
});

Deno.test("importance: 'weight' equals the number of splits per feature counted in the saved JSON trees", async () => {
  const { X, target } = classification(500, 4, 17);
  const m = new XGBoostModel({ params: { max_depth: 3, colsample_bytree: 0.75 }, numBoostRound: 12 });
  await m.fit(X, target, { seed: 2 });
  const json = JSON.parse(new TextDecoder().decode(m.toJSONBytes()));
  const counts = new Float64Array(4);
  for (const tree of json.learner.gradient_booster.model.trees) {
    tree.left_children.forEach((l: number, node: number) => {
      if (l !== -1) counts[tree.split_indices[node]]++;
    });
  }
  const weight = m.importance("weight");
  assert.deepEqual(weight.names, ["x0", "x1", "x2", "x3"]);
  assert.deepEqual(Array.from(weight.values), Array.from(counts));
  const gain = m.importance("gain"), cover = m.importance("cover");
  assert.ok(gain.values[0] > gain.values[3] && gain.values[1] > gain.values[2]);
  assert.ok(cover.values.every((v, j) => (counts[j] === 0 ? v === 0 : v > 0)));
  m.dispose();
});

Deno.test("selection: SHAP top-k is fitted on training rows only; the validation set cannot change it", async () => {
  const { X, label } = classification(800, 6, 23, 0.05);
  // A validation set in which x4 alone predicts the label: if selection looked at it, x4 would be chosen.
  const r = lcg(99);
  const vData = Float32Array.from({ length: 300 * 6 }, () => r());
  const vY = Float32Array.from(range(0, 300), (i) => (vData[i * 6 + 4] > 0.5 ? 1 : 0));
  const opts = { params: { objective: "binary:logistic", max_depth: 3 }, numBoostRound: 50, selectTopK: 2 };
  const a = new XGBoostModel({ ...opts, earlyStoppingRounds: 5 });
  const ra = await a.fit(X, label, { validation: { X: { data: vData, rows: 300, cols: 6 }, y: vY } });
  const b = new XGBoostModel(opts);
  await b.fit(X, label);
  assert.deepEqual(a.selectedColumns, [0, 1]);
  assert.deepEqual(b.selectedColumns, [0, 1]);
  assert.deepEqual(ra.details!.selectedColumns, [0, 1]);
  // The final booster sees only the selected columns; importances of the others are 0; predict takes full rows.
  assert.deepEqual(Array.from(a.importance("weight").values).map((v) => v > 0), [
    true,
    true,
    false,
    false,
    false,
    false,
  ]);
  assert.equal(a.predict(X).length, 800);
  const dir = await Deno.makeTempDir();
  await a.save(`${dir}/m.json`);
  const back = await XGBoostModel.load(`${dir}/m.json`);
  assert.deepEqual(back.predict(X), a.predict(X));
  await Deno.remove(dir, { recursive: true });
  for (const m of [a, b, back]) m.dispose();
});

/** A model whose margin is off by one: every TreeSHAP row then violates additivity (contributions sum to margin − 1). */
class OffByOneMargin extends XGBoostModel {
  override predictMargin(X: Matrix): Float64Array {
    return super.predictMargin(X).map((v) => v + 1);
  }
}

Deno.test("shap: an additivity violation throws, and shapImportance falls back to gain importance saying why", async () => {
  const { X, label } = classification(300, 4, 6, 0.05);
  const m = new OffByOneMargin({ params: { objective: "binary:logistic", max_depth: 3 }, numBoostRound: 10 });
  await m.fit(X, label);
  assert.throws(
    () => m.shapValues(X),
    (e: unknown) => e instanceof XGBoostError && /additivity failed/.test(e.message),
  );
  const imp = m.shapImportance(X);
  assert.equal(imp.method, "gain");
  assert.match(imp.fallbackReason!, /SHAP additivity failed at row 0/);
  assert.deepEqual(Array.from(imp.values), Array.from(m.importance("gain").values));
  assert.deepEqual(imp.names, ["x0", "x1", "x2", "x3"]);
  m.dispose();
});

/** The label rule of `classification` (x0 + x1 > 1) with its informative columns moved to positions 4 and 2. */
function permutedNamed(rows: number, seed: number) {
  const { X, label } = classification(rows, 6, seed, 0.05);
  const perm = [5, 3, 1, 4, 0, 2]; // new column c holds original column perm[c]: x0 → 4, x1 → 2
  const data = new Float32Array(X.data.length);
  for (let i = 0; i < rows; i++) for (let c = 0; c < 6; c++) data[i * 6 + c] = X.data[i * 6 + perm[c]];
  const columns = ["mom_5d", "vol_20d", "rsi_14", "gap", "ret_1d", "volume_z"];
  return { X: { data, rows, cols: 6, columns } as Matrix, label };
}

Deno.test("selection: with named columns, the gain fallback picks the truly important columns (not the first k)", async () => {
  const { X, label } = permutedNamed(800, 23);
  const opts = { params: { objective: "binary:logistic", max_depth: 3 }, numBoostRound: 30, selectTopK: 2 };
  // SHAP fails on the preliminary booster, so the ranking is by its gain importance, looked up by feature name.
  const forced = new OffByOneMargin(opts);
  const rep = await forced.fit(X, label);
  assert.ok(
    rep.notes.some((n) => /feature selection used gain importance: SHAP additivity failed/.test(n)),
    rep.notes.join("; "),
  );
  assert.deepEqual(forced.selectedColumns, [2, 4]);
  // The SHAP path agrees.
  const shap = new XGBoostModel(opts);
  const repShap = await shap.fit(X, label);
  assert.ok(!repShap.notes.some((n) => /gain importance/.test(n)));
  assert.deepEqual(shap.selectedColumns, [2, 4]);
  // Importances of the final booster are reported under the input names, at the input positions.
  const imp = forced.importance("gain");
  assert.equal(imp.names[4], "ret_1d");
  assert.deepEqual(Array.from(imp.values).map((v) => v > 0), [false, false, true, false, true, false]);
  forced.dispose();
  shap.dispose();
});

const noCuda = openXGBoost().buildInfo.USE_CUDA !== true;

Deno.test({
  name:
    "device: an explicit 'cuda' request on a CPU-only library trains on the CPU, warns once on stderr and notes why",
  ignore: !noCuda,
  fn: async () => {
    const { X, label } = classification(100, 2, 4);
    const warnings: string[] = [];
    const warn = console.warn;
    console.warn = (...args: unknown[]) => void warnings.push(args.join(" "));
    try {
      const m = new XGBoostModel({ params: { objective: "binary:logistic" }, numBoostRound: 3, device: "cuda" });
      const rep = await m.fit(X, label);
      assert.equal(rep.details!.device, "cpu");
      assert.equal(m.describe().device, "cpu");
      assert.ok(rep.notes.some((n) => /^training on CPU: .*built without CUDA/.test(n)), rep.notes.join("; "));
      assert.equal(warnings.length, 1);
      assert.match(warnings[0], /XGBoost: training on CPU: .*USE_CUDA=false/);
      // The CPU fallback trains normally: the configuration has no GPU parameter.
      const config = JSON.stringify(m.jsonConfig());
      assert.ok(!/gpu_hist/.test(config) && /"tree_method":"hist"/.test(config));
      // The XGBoost-style spelling params.device = "cuda" takes the same path.
      const viaParam = new XGBoostModel({ params: { objective: "binary:logistic", device: "cuda" }, numBoostRound: 3 });
      const rep2 = await viaParam.fit(X, label);
      assert.equal(rep2.details!.device, "cpu");
      assert.equal(warnings.length, 2);
      m.dispose();
      viaParam.dispose();
    } finally {
      console.warn = warn;
    }
  },
});

Deno.test({
  name: "device: asking for CUDA on a CPU-only library falls back to the CPU with the reason; requireGpu refuses",
  ignore: !noCuda,
  fn: async () => {
    const { X, label } = classification(100, 2, 4);
    const m = new XGBoostModel({ params: { objective: "binary:logistic" }, numBoostRound: 3, device: "auto" });
    const rep = await m.fit(X, label);
    assert.equal(rep.details!.device, "cpu");
    assert.ok(rep.notes.some((n) => /built without CUDA/.test(n)), rep.notes.join("; "));
    const strict = new XGBoostModel({ params: { objective: "binary:logistic" }, device: "cuda", requireGpu: true });
    await assert.rejects(() => strict.fit(X, label), BackendUnavailableError);
    m.dispose();
  },
});

async function memoryGrowthMB(mode: "dispose" | "leak"): Promise<number> {
  const probe = new URL("./_xgboost_memory_probe.ts", import.meta.url).pathname;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--v8-flags=--expose-gc", probe, mode],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stdout = new TextDecoder().decode(out.stdout);
  assert.ok(out.success, `memory probe failed: ${new TextDecoder().decode(out.stderr)}`);
  return JSON.parse(stdout.trim().split("\n").at(-1)!).grownMB;
}

Deno.test("memory: 1,000 fit/predict/dispose cycles do not grow the resident set (a leak of the same cycles does)", async () => {
  // Measured in a process of its own after a forced GC: in the test runner's process, other test modules' allocations
  // and uncollected JS garbage moved the resident set by tens of MB. A leaked model (booster + buffers) costs
  // ~170 kB here, so 1,000 undisposed models add ~170 MB; the allowance of 16 MB covers allocator noise.
  const [disposed, leaked] = await Promise.all([memoryGrowthMB("dispose"), memoryGrowthMB("leak")]);
  console.log(`rss growth: disposed ${disposed.toFixed(2)} MB, leaked ${leaked.toFixed(2)} MB`);
  assert.ok(disposed < 16, `RSS grew by ${disposed.toFixed(1)} MB over 1,000 disposed cycles`);
  assert.ok(leaked > 64, `the probe should see 1,000 undisposed models (~170 MB), saw ${leaked.toFixed(1)} MB`);
});
