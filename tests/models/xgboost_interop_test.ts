/**
 * Interoperability with Python's xgboost: a committed fixture (no Python needed) and, when Debian's python3-xgboost
 * is installed, a live round trip of a candor-saved model through Python.
 */
import assert from "node:assert/strict";
import { XGBoostModel } from "../../lib/models/xgboost/model.ts";
import { classification } from "./_synthetic.ts";

const fixtureUrl = new URL("./fixtures/xgboost_python.json", import.meta.url);
const compatScript = new URL("../../bench/reference/xgboost_compat.py", import.meta.url).pathname;

interface Fixture {
  rows: number;
  cols: number;
  X: (number | null)[];
  models: Record<string, { model: string; predictions: number[] }>;
}

Deno.test("interop: models trained by Python's xgboost load in candor and predict identically (fixture)", async () => {
  const fx: Fixture = JSON.parse(await Deno.readTextFile(fixtureUrl));
  const X = { data: Float32Array.from(fx.X, (v) => v ?? NaN), rows: fx.rows, cols: fx.cols };
  for (const [objective, { model, predictions }] of Object.entries(fx.models)) {
    const m = XGBoostModel.fromJSONBytes(new TextEncoder().encode(model));
    const p = m.predict(X);
    assert.equal(p.length, predictions.length, objective);
    // Identical float32 outputs, widened to float64 on both sides.
    assert.deepEqual(Array.from(p), predictions, objective);
    m.dispose();
  }
});

async function pythonHasXGBoost(): Promise<boolean> {
  try {
    const out = await new Deno.Command("/usr/bin/python3", { args: ["-c", "import xgboost"], stderr: "null" }).output();
    return out.success;
  } catch {
    return false;
  }
}

const hasPython = await pythonHasXGBoost();

Deno.test({
  name: "interop: a model saved by candor loads in Python's xgboost with identical predictions" +
    (hasPython ? "" : " (SKIPPED: /usr/bin/python3 cannot import xgboost; apt-get install python3-xgboost)"),
  ignore: !hasPython,
  fn: async () => {
    const { X, label, target } = classification(400, 5, 21, 0.1, 0.1);
    const dir = await Deno.makeTempDir();
    try {
      const dataPath = `${dir}/X.f32`;
      await Deno.writeFile(dataPath, new Uint8Array(X.data.buffer));
      const cases: Array<[Record<string, string | number>, Float32Array, number | undefined]> = [
        [{ objective: "binary:logistic", max_depth: 3, subsample: 0.8 }, label, 8],
        [{ objective: "reg:squarederror", max_depth: 4, colsample_bytree: 0.7 }, target, undefined],
      ];
      for (const [params, y, es] of cases) {
        const m = new XGBoostModel({ params, numBoostRound: 60, earlyStoppingRounds: es });
        const valid = es ? { validation: { X, y: Float32Array.from(y, (v, i) => (i % 2 ? v : 1 - v)) } } : {};
        await m.fit(X, y, { seed: 4, ...valid });
        const path = `${dir}/model.json`;
        await m.save(path);
        const out = await new Deno.Command("/usr/bin/python3", {
          args: [compatScript, path, dataPath, String(X.rows), String(X.cols)],
          stdout: "piped",
          stderr: "piped",
        }).output();
        assert.ok(out.success, new TextDecoder().decode(out.stderr));
        const py = JSON.parse(new TextDecoder().decode(out.stdout).trim().split("\n").at(-1)!);
        assert.equal(py.num_boosted_rounds, m.bestIteration);
        assert.deepEqual(Array.from(m.predict(X, { calibrated: false })), py.predictions, String(params.objective));
        m.dispose();
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("interop: importances of a Python model are reported under its own feature names", async () => {
  const fx: Fixture = JSON.parse(await Deno.readTextFile(fixtureUrl));
  const m = XGBoostModel.fromJSONBytes(new TextEncoder().encode(fx.models["binary:logistic"].model));
  const imp = m.importance("weight");
  assert.deepEqual(imp.names, ["x0", "x1", "x2", "x3"]);
  assert.ok(imp.values[0] > 0 && imp.values[1] > 0);
  m.dispose();
});
