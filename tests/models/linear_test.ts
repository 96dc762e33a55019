/** Linear models against scikit-learn fixtures (bench/reference/linear_fixtures.py) and hand-checkable cases. */
import assert from "node:assert/strict";
import { ElasticNet, loadLinearModel, LogisticRegression, Ridge } from "../../lib/models/linear/linear.ts";
import type { Matrix } from "../../lib/data/matrix.ts";
import { ConfigError } from "../../lib/errors.ts";
import type { Model } from "../../lib/models/model.ts";

interface Case {
  kind: "elasticnet" | "ridge" | "logistic";
  params: Record<string, number | boolean>;
  weighted: boolean;
  coef: number[];
  intercept: number;
  predictions: number[];
}
const fx: { rows: number; cols: number; X: number[]; y: number[]; label: number[]; weight: number[]; cases: Case[] } =
  JSON.parse(await Deno.readTextFile(new URL("./fixtures/linear_sklearn.json", import.meta.url)));
const X: Matrix = { data: Float32Array.from(fx.X), rows: fx.rows, cols: fx.cols };

function build(c: Case): Model {
  if (c.kind === "elasticnet") return new ElasticNet(c.params);
  if (c.kind === "ridge") return new Ridge(c.params);
  return new LogisticRegression(c.params);
}

for (const c of fx.cases) {
  Deno.test(`linear: ${c.kind} ${JSON.stringify(c.params)}${c.weighted ? " weighted" : ""} matches scikit-learn`, async () => {
    const m = build(c);
    const y = Float64Array.from(c.kind === "logistic" ? fx.label : fx.y);
    await m.fit(X, y, c.weighted ? { sampleWeight: Float32Array.from(fx.weight) } : {});
    const fit = (m as ElasticNet).coefficients;
    const tol = c.kind === "logistic" ? 1e-5 : 1e-6;
    fit.coef.forEach((v, j) => assert.ok(Math.abs(v - c.coef[j]) < tol, `coef ${j}: ${v} vs ${c.coef[j]}`));
    assert.ok(Math.abs(fit.intercept - c.intercept) < tol, `intercept ${fit.intercept} vs ${c.intercept}`);
    const p = m.predict(X);
    p.forEach((v, i) => assert.ok(Math.abs(v - c.predictions[i]) < 1e-5, `row ${i}`));
    if (c.params.positive) assert.ok(fit.coef.every((v) => v >= 0));
    // Save → load gives identical predictions.
    const dir = await Deno.makeTempDir();
    await m.save(`${dir}/m.json`);
    const back = await loadLinearModel(`${dir}/m.json`);
    assert.deepEqual(back.predict(X), p);
    await Deno.remove(dir, { recursive: true });
  });
}

Deno.test("linear: ridge with alpha 0 recovers an exact linear relation; lasso with a huge alpha gives the mean", async () => {
  const data = Float32Array.from([1, 2, 2, 0, 3, 5, 4, 1, 0, 3]); // 5 rows × 2
  const Xs: Matrix = { data, rows: 5, cols: 2 };
  const y = Float64Array.from([0, 1, 2, 3, 4], (i) => 2 * data[2 * i] - 3 * data[2 * i + 1] + 1.5);
  const r = new Ridge({ alpha: 0 });
  await r.fit(Xs, y);
  assert.ok(Math.abs(r.coefficients.coef[0] - 2) < 1e-9 && Math.abs(r.coefficients.coef[1] + 3) < 1e-9);
  assert.ok(Math.abs(r.coefficients.intercept - 1.5) < 1e-9);
  const lasso = new ElasticNet({ alpha: 1e6, l1Ratio: 1 });
  await lasso.fit(Xs, y);
  assert.deepEqual(Array.from(lasso.coefficients.coef), [0, 0]);
  assert.ok(Math.abs(lasso.coefficients.intercept - y.reduce((a, b) => a + b) / 5) < 1e-12);
});

Deno.test("linear: NaN features and non-binary logistic labels are refused", async () => {
  const bad: Matrix = { data: Float32Array.from([1, NaN, 2, 3]), rows: 2, cols: 2 };
  await assert.rejects(() => new ElasticNet().fit(bad, Float64Array.from([1, 2])), ConfigError);
  const ok: Matrix = { data: Float32Array.from([1, 0, 2, 3]), rows: 2, cols: 2 };
  await assert.rejects(() => new LogisticRegression().fit(ok, Float64Array.from([0, 2])), ConfigError);
  assert.throws(() => new ElasticNet().predict(ok), ConfigError);
  assert.throws(() => new ElasticNet({ l1Ratio: 2 }), ConfigError);
});
