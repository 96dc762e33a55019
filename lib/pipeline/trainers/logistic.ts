/**
 * `logistic`: L2-penalized logistic regression by Newton steps (lib/models/linear) on standardized features; P(up).
 *
 * @module
 */

import { z } from "zod";
import { LogisticRegression } from "../../models/linear/linear.ts";
import { integer, positive } from "../schema.ts";
import type { FoldTrainer } from "./contract.ts";
import { fitLinearFold, loadLinearFold } from "./linear_fold.ts";

const settings = z.strictObject({
  C: positive().default(1).describe("inverse L2 strength (scikit-learn's C)"),
  maxIter: integer().default(100).describe("maximum Newton steps"),
  tol: positive().default(1e-6).describe("stop when the largest |gradient| component (a sum over rows) is ≤ tol"),
});

/** Resolved `logistic` settings. */
export type LogisticSettings = z.output<typeof settings>;

/** The `logistic` kind. */
export const logisticTrainer: FoldTrainer<LogisticSettings> = {
  kind: "logistic",
  summary: "logistic regression on standardized features (binary)",
  tasks: ["binary"],
  settings,
  fitted: () => [{ name: "model fit", rows: "fit" }, { name: "standard scaler", rows: "fit" }],
  backend: () => Promise.resolve("js"),
  fit: (input) => fitLinearFold(input, new LogisticRegression(input.entry.settings)),
  load: (dir) => loadLinearFold(dir),
};
