/**
 * The fold fit shared by the linear kinds (`elasticnet`, `ridge`, `logistic`): standardize on the fold's fitting
 * rows (./inputs.ts), fit, predict. Regressors on a binary target are linear probability models: they fit the 0/1
 * label and their predictions, clipped to [0, 1], are read as P(up). No early stopping: the tail is only predicted
 * (for the walk-forward efficiency).
 *
 * @module
 */

import type { Model } from "../../models/model.ts";
import type { FoldFitReport, FoldInput, FoldOutput } from "./contract.ts";
import { fittedOn, pick32, standardize } from "./inputs.ts";

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
  const probability = data.task === "binary";
  const clip = (p: Float64Array) => (probability ? p.map((v) => Math.min(1, Math.max(0, v))) : p);
  const validation = clip(model.predict(scaled.validation));
  const test = clip(model.predict(scaled.test));
  const described = model.describe() as { coef?: number[]; intercept?: number };
  const names = data.X.columns ?? [];
  const coefficients: Record<string, number> = {};
  (described.coef ?? []).forEach((c, j) => coefficients[names[j] ?? `x${j}`] = c);
  if (described.intercept !== undefined) coefficients["(intercept)"] = described.intercept;
  return {
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
