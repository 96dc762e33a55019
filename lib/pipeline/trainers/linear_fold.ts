/**
 * The fold fit shared by the linear kinds (`elasticnet`, `ridge`, `logistic`): standardize on the fold's fitting
 * rows (./inputs.ts), fit, predict. Regressors on a binary target are linear probability models: they fit the 0/1
 * label and their predictions, clipped to [0, 1], are read as P(up). No early stopping: the tail is only predicted
 * (for the walk-forward efficiency).
 *
 * @module
 */

import { join } from "node:path";
import { takeRows } from "../../data/matrix.ts";
import type { Model } from "../../models/model.ts";
import { loadLinearModel } from "../../models/linear/linear.ts";
import type { FoldFitReport, FoldInput, FoldOutput, StudyData, TrainedModel } from "./contract.ts";
import { fittedOn, FoldScaler, pick32, standardize } from "./inputs.ts";

/** The typed fit report of a linear fold. */
export interface LinearFoldReport extends FoldFitReport {
  /** Coefficients by feature name (in standardized units) and the intercept. */
  coefficients: Record<string, number>;
  /** Standardization of the fold's inputs. */
  scaling: unknown;
}

/** Fits `model` on one fold's standardized fitting rows and predicts the tail and the test rows. */
export async function fitLinearFold<S>(input: FoldInput<S>, model: Model): Promise<FoldOutput<LinearFoldReport>> {
  const { data, fold, entry } = input;
  const scaled = standardize(data, fold.rows, fold.index);
  const report = await model.fit(scaled.fit, pick32(data.y, fold.rows.fit), { seed: input.seed });
  const clip = clipFor(data);
  const predict = (X: typeof scaled.test) => (X.rows === 0 ? new Float64Array(0) : clip(model.predict(X)));
  const validation = predict(scaled.validation);
  const test = predict(scaled.test);
  const described = model.describe() as { coef?: number[]; intercept?: number };
  const names = data.X.columns ?? [];
  const coefficients: Record<string, number> = {};
  (described.coef ?? []).forEach((c, j) => coefficients[names[j] ?? `x${j}`] = c);
  if (described.intercept !== undefined) coefficients["(intercept)"] = described.intercept;
  return {
    ...(input.keep ? { model: keptLinear(model, scaled.scaler) } : {}),
    rows: fold.rows,
    validation,
    test,
    report: {
      kind: entry.kind,
      ...(report.bestIteration === undefined ? {} : { iterations: report.bestIteration }),
      notes: report.notes,
      coefficients,
      scaling: scaled.report,
    },
    fitted: [
      ...fittedOn("model fit", fold.index, fold.rows.fit, data),
      ...fittedOn("standard scaler", fold.index, fold.rows.fit, data),
    ],
    diagnostics: [
      ...scaled.diagnostics,
      ...report.notes.map((message) => ({
        fold: fold.index,
        kind: "model-note",
        severity: "warning" as const,
        message,
        data: { source: entry.kind },
      })),
    ],
    health: report.notes.length === 0 ? "healthy" : report.notes.join("; "),
    warnings: [...scaled.warnings, ...report.notes.map((n) => `${entry.name} fold ${fold.index + 1}: ${n}`)],
  };
}

/** Binary targets: the linear probability model's predictions clipped to [0, 1] and read as P(up). */
function clipFor(data: Pick<StudyData, "task">): (p: Float64Array) => Float64Array {
  return data.task === "binary" ? (p) => p.map((v) => Math.min(1, Math.max(0, v))) : (p) => p;
}

const MODEL_FILE = "linear.json";

/** A linear model kept for production with its fold scaler. */
function keptLinear(model: Model, scaler: FoldScaler): TrainedModel {
  return {
    score(data, rows) {
      if (rows.length === 0) return { rows, scores: new Float64Array(0) };
      return { rows, scores: clipFor(data)(model.predict(scaler.transform(takeRows(data.X, rows)).X)) };
    },
    async save(dir) {
      await Deno.mkdir(dir, { recursive: true });
      await model.save(join(dir, MODEL_FILE));
      await scaler.save(dir);
    },
    dispose: () => model.dispose?.(),
  };
}

/** Rebuilds a linear model saved by a kept fold (any linear kind: the file names its class). */
export async function loadLinearFold(dir: string): Promise<TrainedModel> {
  return keptLinear(await loadLinearModel(join(dir, MODEL_FILE)), await FoldScaler.load(dir));
}
