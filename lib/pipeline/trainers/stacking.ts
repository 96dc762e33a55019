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
import { metaFeatureNames, metaFeatures } from "../../models/stacking/stacking.ts";
import type { Model } from "../../models/model.ts";
import { ConfigError } from "../../errors.ts";
import { closedInterval, flag, integer, nonNegative } from "../schema.ts";
import type { FoldFitReport, FoldRows, FoldTrainer } from "./contract.ts";
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
    if (rows.fit.length < s.minRows || rows.test.length === 0) {
      report.skipped = rows.test.length === 0
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
    const threshold = data.task === "binary" ? 0.5 : 0;
    const build = (r: Int32Array): Matrix => {
      const regime = new Float32Array(r.length * 2);
      r.forEach((row, i) => {
        const d = data.dateIndex[row];
        regime[2 * i] = data.regime.volPercentile[d];
        regime[2 * i + 1] = data.regime.trend[d];
      });
      const X: Matrix = { data: regime, rows: r.length, cols: 2 };
      const m = metaFeatures(
        preds.map((p) => Float64Array.from(r, (row) => p[row])),
        X,
        s.regime ? [0, 1] : [],
        threshold,
        s.regime ? ["regime_vol_pct", "regime_trend"] : [],
      );
      return { ...m, columns: names };
    };
    const model: Model = meta === "xgboost"
      ? new XGBoostModel({
        params: {
          ...XGBOOST_DEFAULT_PARAMS,
          objective: data.task === "binary" ? "binary:logistic" : "reg:squarederror",
          eval_metric: data.task === "binary" ? "logloss" : "rmse",
          seed,
        },
        numBoostRound: s.numBoostRound,
        earlyStoppingRounds: s.earlyStoppingRounds,
      })
      : new ElasticNet({ alpha: s.alpha, l1Ratio: s.l1Ratio, positive: true });
    try {
      const Xfit = build(rows.fit), Xval = build(rows.validation);
      const fitReport = await model.fit(Xfit, pick32(data.y, rows.fit), {
        ...(meta === "xgboost" && rows.validation.length > 0
          ? { validation: { X: Xval, y: pick32(data.y, rows.validation) } }
          : {}),
        seed,
      });
      const clip = (p: Float64Array) =>
        data.task === "binary" && meta !== "xgboost" ? p.map((v) => Math.min(1, Math.max(0, v))) : p;
      const validation = rows.validation.length > 0 ? clip(model.predict(Xval)) : new Float64Array(0);
      const test = clip(model.predict(build(rows.test)));
      report.notes = fitReport.notes;
      report.bestIteration = fitReport.bestIteration;
      if (meta !== "xgboost") {
        const d = model.describe() as { coef?: number[]; intercept?: number };
        report.coefficients = Object.fromEntries((d.coef ?? []).map((c, j) => [names[j], c]));
        if (d.intercept !== undefined) report.coefficients["(intercept)"] = d.intercept;
      }
      return {
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
      model.dispose?.();
    }
  },
};
