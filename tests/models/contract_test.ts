/**
 * The Model contract (docs/design.md §3) for every non-neural model: fit on small seeded data, predict, save, load with
 * identical predictions, a JSON-serializable describe(), and an idempotent dispose().
 */
import assert from "node:assert/strict";
import type { Matrix } from "../../lib/data/matrix.ts";
import type { FitOptions, FitReport, Model, Target } from "../../lib/models/model.ts";
import { XGBoostModel } from "../../lib/models/xgboost/model.ts";
import { ElasticNet, loadLinearModel, LogisticRegression, Ridge } from "../../lib/models/linear/linear.ts";
import { type StackingFitOptions, StackingModel } from "../../lib/models/stacking/stacking.ts";
import { takeRows } from "../../lib/data/matrix.ts";
import { classification } from "./_synthetic.ts";

const ROWS = 300;
const { X, label, target } = classification(ROWS, 4, 77, 0.1);
const range = (a: number, b: number) => Array.from({ length: b - a }, (_, i) => a + i);
/** Three rows per date, in date order (for stacking's walk-forward folds). */
const dates = range(0, ROWS).map((i) => new Date(Date.UTC(2022, 0, 1) + Math.floor(i / 3) * 86_400_000))
  .map((d) => d.toISOString().slice(0, 10));
const classes = Float32Array.from(range(0, ROWS), (i) => Math.min(2, Math.floor(X.data[i * 4] * 3)));
const train = takeRows(X, range(0, 200)), val = takeRows(X, range(200, ROWS));

interface Case {
  name: string;
  make: () => Model;
  y: Target;
  /** Fit on these rows (default: all). */
  X?: Matrix;
  opts?: FitOptions | StackingFitOptions;
  load: (path: string) => Promise<Model>;
  /** Whether `save` writes a folder rather than one file. */
  folder?: boolean;
  /** Values per row of `predict`. */
  outputs?: number;
  /** Case-specific checks of the fitted model. */
  check?: (model: Model, report: FitReport) => void;
}

const xgbLoad = (p: string) => XGBoostModel.load(p);
const cases: Case[] = [
  {
    name: "XGBoost regression",
    make: () => new XGBoostModel({ params: { max_depth: 3, nthread: 1 }, numBoostRound: 15 }),
    y: target,
    load: xgbLoad,
  },
  {
    name: "XGBoost binary",
    make: () =>
      new XGBoostModel({ params: { objective: "binary:logistic", max_depth: 3, nthread: 1 }, numBoostRound: 15 }),
    y: label,
    load: xgbLoad,
  },
  {
    name: "XGBoost multi-class",
    make: () =>
      new XGBoostModel({
        params: { objective: "multi:softprob", num_class: 3, max_depth: 2, nthread: 1 },
        numBoostRound: 8,
      }),
    y: classes,
    load: xgbLoad,
    outputs: 3,
  },
  {
    name: "XGBoost early-stopped",
    make: () =>
      new XGBoostModel({
        params: { objective: "binary:logistic", max_depth: 4, eta: 0.5, nthread: 1 },
        numBoostRound: 200,
        earlyStoppingRounds: 4,
      }),
    X: train,
    y: label.subarray(0, 200),
    opts: { validation: { X: val, y: label.subarray(200) } },
    load: xgbLoad,
    check: (_m, r) => assert.ok(r.bestIteration! < 200, `stopped at ${r.bestIteration}`),
  },
  {
    name: "XGBoost with centering calibration",
    make: () =>
      new XGBoostModel({
        params: { objective: "binary:logistic", max_depth: 2, nthread: 1 },
        numBoostRound: 5,
        calibration: "centering",
      }),
    y: label,
    load: xgbLoad,
    check: (m) => assert.equal((m as XGBoostModel).calibrator?.kind, "centering"),
  },
  { name: "ElasticNet", make: () => new ElasticNet({ alpha: 0.01, positive: true }), y: target, load: loadLinearModel },
  { name: "Ridge", make: () => new Ridge({ alpha: 0.5 }), y: target, load: loadLinearModel },
  { name: "LogisticRegression", make: () => new LogisticRegression({ C: 2 }), y: label, load: loadLinearModel },
  {
    name: "StackingModel",
    make: () =>
      new StackingModel({
        baseModels: [
          { name: "ridge", create: () => new Ridge({ alpha: 1 }) },
          {
            name: "xgb",
            create: () => new XGBoostModel({ params: { max_depth: 2, nthread: 1 }, numBoostRound: 10 }),
          },
        ],
        folds: 3,
        threshold: 0,
      }),
    y: target,
    opts: { dates },
    load: (dir) => StackingModel.load(dir),
    folder: true,
  },
];

/** Only JSON values: no typed arrays, functions, NaN/Infinity, class instances (undefined properties are allowed). */
function assertPlainJSON(v: unknown, path: string): void {
  if (v === null || typeof v === "string" || typeof v === "boolean" || v === undefined) return;
  if (typeof v === "number") return assert.ok(Number.isFinite(v), `${path} is ${v}`);
  if (Array.isArray(v)) return v.forEach((x, i) => assertPlainJSON(x, `${path}[${i}]`));
  assert.equal(typeof v, "object", `${path} is a ${typeof v}`);
  assert.equal(Object.getPrototypeOf(v), Object.prototype, `${path} is a ${(v as object).constructor?.name}`);
  for (const [k, x] of Object.entries(v as object)) assertPlainJSON(x, `${path}.${k}`);
}

for (const c of cases) {
  Deno.test(`contract: ${c.name}: fit, predict, save → load identical, describe is JSON, dispose idempotent`, async () => {
    const model = c.make();
    assertPlainJSON(model.describe(), "describe() before fit");
    const Xfit = c.X ?? X;
    const report = await model.fit(Xfit, c.y, c.opts as FitOptions);
    assert.equal(report.model, model.kind);
    assert.ok(report.seconds >= 0);
    assertPlainJSON(report.notes, "report.notes");
    assertPlainJSON(report.details ?? {}, "report.details");
    const p = model.predict(X);
    assert.equal(p.length, ROWS * (c.outputs ?? 1));
    assert.ok(p.every(Number.isFinite));
    assertPlainJSON(model.describe(), "describe()");
    c.check?.(model, report);
    const dir = await Deno.makeTempDir();
    try {
      const path = c.folder ? `${dir}/model` : `${dir}/model.json`;
      await model.save(path);
      const back = await c.load(path);
      assert.equal(back.kind, model.kind);
      assert.deepEqual(back.predict(X), p);
      assertPlainJSON(back.describe(), "describe() after load");
      back.dispose?.();
      back.dispose?.();
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
    model.dispose?.();
    model.dispose?.();
  });
}
