/**
 * `stacking`: a meta-learner over other entries of the same study. It never retrains them: it consumes their
 * out-of-sample predictions.
 *
 * For fold k, the meta-learner is fitted on the rows of fold k's fitting period that the base entries predicted out of
 * sample in earlier folds' test windows (each such prediction came from a base model that saw only earlier dates,
 * behind a purge), with meta-features: the base predictions, their **agreement** (share of bases on the same side of
 * the decision threshold as their mean) and **dispersion** (their standard deviation), and the causal **regime**
 * features of the row's date (volatility percentile and trend of the equal-weight market, known at the close of t).
 * It then predicts fold k's test rows from the base entries' fold-k test predictions. The first fold has no earlier
 * out-of-sample predictions and is not predicted (its row in the fold table says so); a fold with fewer than
 * `minRows` meta-training rows likewise.
 *
 * Meta-learners: `elasticnet` with non-negative weights (`positive: true`: the usual guard against a stack that shorts
 * one model to lever another; on a binary target a linear probability model clipped to [0, 1]) or `xgboost` (can use
 * regime interactions; early stopping on the meta rows of the fold's tail).
 *
 * Only walk-forward plans (anchored, rolling) can be stacked: in k-fold or CPCV plans the other folds' predictions
 * come from models trained on this fold's future, which would leak into the meta-learner.
 *
 * @module
 */

import { z } from "zod";
import type { Matrix } from "../../data/matrix.ts";
import { ElasticNet } from "../../models/linear/linear.ts";
import { XGBoostModel } from "../../models/xgboost/model.ts";
import { defaultThreads } from "../../models/xgboost/params.ts";
import { metaFeatureNames, metaFeatures } from "../../models/stacking/stacking.ts";
import type { Model } from "../../models/model.ts";
import { ConfigError } from "../../errors.ts";
import { closedInterval, flag, integer, nonNegative } from "../schema.ts";
import { join } from "node:path";
import type { FoldFitReport, FoldRows, FoldTrainer, StudyData, TrainedModel } from "./contract.ts";
import { fittedOn, pick32 } from "./inputs.ts";
import { XGBOOST_DEFAULT_PARAMS } from "./xgboost.ts";

const settings = z.strictObject({
  regime: flag().default(true).describe("add the causal regime features (market volatility percentile, trend)"),
  alpha: nonNegative().default(0.0001).describe("elasticnet meta: penalty strength α"),
  l1Ratio: closedInterval(0, 1).default(0.5).describe("elasticnet meta: share of the L1 penalty"),
  numBoostRound: integer().default(200).describe("xgboost meta: maximum boosting rounds"),
  earlyStoppingRounds: integer().default(20).describe("xgboost meta: early-stopping patience on the tail"),
  minRows: integer().default(50).describe("fewest meta-training rows a fold needs to be predicted"),
});

/** Resolved `stacking` settings. */
export type StackingSettings = z.output<typeof settings>;

/** The typed fit report of a stacking fold. */
export interface StackingFoldReport extends FoldFitReport {
  /** Base entries combined, in order. */
  base: string[];
  /** The meta-learner kind. */
  meta: string;
  /** Meta-feature names, in column order. */
  features: string[];
  /** Meta-learner coefficients by meta-feature (elasticnet meta). */
  coefficients?: Record<string, number>;
  /** Meta-training rows and the rows of the tail and the test window that every base predicted. */
  metaRows: { fit: number; validation: number; test: number };
  /** Why the fold was not predicted, when it was not. */
  skipped?: string;
}

/** Rows of `rows` that every base predicted out of sample in a fold before `before` (or in fold `before` itself). */
function rowsPredicted(
  rows: Int32Array,
  foldOfRow: Int32Array,
  bases: readonly Float64Array[],
  accept: (fold: number) => boolean,
): Int32Array {
  return rows.filter((r) => accept(foldOfRow[r]) && bases.every((b) => Number.isFinite(b[r])));
}

/** The `stacking` kind. */
export const stackingTrainer: FoldTrainer<StackingSettings> = {
  kind: "stacking",
  summary: "meta-learner (elasticnet, positive weights; or xgboost) over other entries' out-of-fold predictions",
  tasks: ["binary", "regression"],
  settings,
  consumes: "out-of-fold",
  fitted: () => [{ name: "meta-learner fit", rows: "fit" }, { name: "early-stopping tail", rows: "validation" }],
  backend: () => Promise.resolve("js"),
  async fit(input) {
    const { data, fold, entry, oof, seed } = input;
    const s = entry.settings;
    const base = entry.base ?? [];
    const meta = entry.meta ?? "elasticnet";
    if (oof === undefined || base.length === 0) {
      throw new ConfigError(`${entry.name}: stacking needs base entries (base: [names]) and their predictions`);
    }
    for (const b of base) {
      if (oof.width(b) !== 1) {
        throw new ConfigError(
          `${entry.name}: base entry ${b} gives ${oof.width(b)} scores per row; stacking needs one`,
        );
      }
    }
    const preds = base.map((b) => oof.scores(b));
    const k = fold.index;
    const rows: FoldRows = {
      fit: rowsPredicted(fold.rows.fit, oof.foldOfRow, preds, (f) => f >= 0 && f < k),
      validation: rowsPredicted(fold.rows.validation, oof.foldOfRow, preds, (f) => f >= 0 && f < k),
      test: rowsPredicted(fold.rows.test, oof.foldOfRow, preds, (f) => f === k),
    };
    const names = metaFeatureNames(base, s.regime ? ["regime_vol_pct", "regime_trend"] : []);
    const metaRows = { fit: rows.fit.length, validation: rows.validation.length, test: rows.test.length };
    const report: StackingFoldReport = { kind: "stacking", notes: [], base, meta, features: names, metaRows };
    // A production fit (keep, no test window) needs meta-training rows only.
    const production = input.keep === true && fold.rows.test.length === 0;
    if (rows.fit.length < s.minRows || (rows.test.length === 0 && !production)) {
      report.skipped = rows.test.length === 0 && !production
        ? "no test row predicted by every base entry"
        : `${rows.fit.length} meta-training rows (< minRows ${s.minRows}): the base entries made no out-of-sample ` +
          `prediction before this fold${k === 0 ? " (the first fold never has one)" : ""}`;
      const none = new Int32Array(0);
      return {
        rows: { fit: rows.fit, validation: none, test: none },
        validation: new Float64Array(0),
        test: new Float64Array(0),
        report,
        fitted: [],
        diagnostics: [{ fold: k, kind: "stacking-skipped", severity: "info", message: report.skipped }],
        health: "not predicted",
        warnings: [],
      };
    }
    const build = (r: Int32Array): Matrix => metaMatrix(data, r, preds, s.regime, names);
    const model: Model = meta === "xgboost"
      ? new XGBoostModel({
        params: {
          ...XGBOOST_DEFAULT_PARAMS,
          objective: data.task === "binary" ? "binary:logistic" : "reg:squarederror",
          eval_metric: data.task === "binary" ? "logloss" : "rmse",
          nthread: defaultThreads(rows.fit.length),
          seed,
        },
        numBoostRound: s.numBoostRound,
        earlyStoppingRounds: s.earlyStoppingRounds,
      })
      : new ElasticNet({ alpha: s.alpha, l1Ratio: s.l1Ratio, positive: true });
    let kept = false;
    try {
      const Xfit = build(rows.fit), Xval = build(rows.validation);
      const fitReport = await model.fit(Xfit, pick32(data.y, rows.fit), {
        ...(meta === "xgboost" && rows.validation.length > 0
          ? { validation: { X: Xval, y: pick32(data.y, rows.validation) } }
          : {}),
        seed,
      });
      const clip = clipFor(data.task, meta);
      const validation = rows.validation.length > 0 ? clip(model.predict(Xval)) : new Float64Array(0);
      const test = rows.test.length > 0 ? clip(model.predict(build(rows.test))) : new Float64Array(0);
      report.notes = fitReport.notes;
      report.bestIteration = fitReport.bestIteration;
      if (meta !== "xgboost") {
        const d = model.describe() as { coef?: number[]; intercept?: number };
        report.coefficients = Object.fromEntries((d.coef ?? []).map((c, j) => [names[j], c]));
        if (d.intercept !== undefined) report.coefficients["(intercept)"] = d.intercept;
      }
      kept = input.keep === true;
      return {
        ...(kept ? { model: keptStack(model, { format: "candor-stack/1", base, meta, regime: s.regime, names }) } : {}),
        rows,
        validation,
        test,
        report,
        fitted: [
          ...fittedOn("meta-learner fit", k, rows.fit, data),
          ...(meta === "xgboost" ? fittedOn("early-stopping tail", k, rows.validation, data) : []),
        ],
        diagnostics: fitReport.notes.map((message) => ({
          fold: k,
          kind: "model-note",
          severity: "warning" as const,
          message,
          data: { source: `stacking/${meta}` },
        })),
        health: fitReport.notes.length === 0 ? "healthy" : fitReport.notes.join("; "),
        warnings: fitReport.notes.map((n) => `${entry.name} fold ${k + 1}: ${n}`),
      };
    } finally {
      if (!kept) model.dispose?.();
    }
  },
  async load(dir) {
    const saved = JSON.parse(await Deno.readTextFile(join(dir, "stacking.json"))) as SavedStack;
    if (saved.format !== "candor-stack/1") throw new ConfigError(`${dir}/stacking.json is not a candor stack`);
    const path = join(dir, META_FILE);
    const model: Model = saved.meta === "xgboost" ? await XGBoostModel.load(path) : await ElasticNet.load(path);
    return keptStack(model, saved);
  },
};

/** The meta-learner's file in a model folder (XGBoost JSON or a linear model's JSON). */
const META_FILE = "meta.json";

/** What a kept stack saves beside its meta-learner. */
interface SavedStack {
  format: "candor-stack/1";
  base: string[];
  meta: string;
  regime: boolean;
  names: string[];
}

/** Binary targets with a linear meta-learner: predictions clipped to [0, 1] (a linear probability model). */
function clipFor(task: string, meta: string): (p: Float64Array) => Float64Array {
  return task === "binary" && meta !== "xgboost" ? (p) => p.map((v) => Math.min(1, Math.max(0, v))) : (p) => p;
}

/** Meta-features of rows `r`: the bases' predictions, agreement, dispersion, and the regime of each row's date. */
function metaMatrix(
  data: StudyData,
  r: Int32Array,
  preds: readonly Float64Array[],
  regime: boolean,
  names: string[],
): Matrix {
  const threshold = data.task === "binary" ? 0.5 : 0;
  const reg = new Float32Array(r.length * 2);
  r.forEach((row, i) => {
    const d = data.dateIndex[row];
    reg[2 * i] = data.regime.volPercentile[d];
    reg[2 * i + 1] = data.regime.trend[d];
  });
  const X: Matrix = { data: reg, rows: r.length, cols: 2 };
  const m = metaFeatures(
    preds.map((p) => Float64Array.from(r, (row) => p[row])),
    X,
    regime ? [0, 1] : [],
    threshold,
    regime ? ["regime_vol_pct", "regime_trend"] : [],
  );
  return { ...m, columns: names };
}

/** A stack kept for production: its meta-learner, fed the base entries' scores of the same rows. */
function keptStack(model: Model, saved: SavedStack): TrainedModel {
  return {
    score(data, rows, inputs) {
      if (inputs === undefined) {
        throw new ConfigError(`a stack scores from its base entries' scores (${saved.base.join(", ")}); none given`);
      }
      const preds = saved.base.map((b) => inputs.scores(b));
      const ok = rows.filter((r) => preds.every((p) => Number.isFinite(p[r])));
      if (ok.length === 0) return { rows: ok, scores: new Float64Array(0) };
      const X = metaMatrix(data, ok, preds, saved.regime, saved.names);
      return { rows: ok, scores: clipFor(data.task, saved.meta)(model.predict(X)) };
    },
    async save(dir) {
      await Deno.mkdir(dir, { recursive: true });
      await model.save(join(dir, META_FILE));
      await Deno.writeTextFile(join(dir, "stacking.json"), JSON.stringify(saved));
    },
    dispose: () => model.dispose?.(),
  };
}
