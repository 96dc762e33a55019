/**
 * `elasticnet`: elastic-net regression by coordinate descent (lib/models/linear) on standardized features; on a
 * binary target a linear probability model (./linear_fold.ts).
 *
 * @module
 */

import { z } from "zod";
import { ElasticNet } from "../../models/linear/linear.ts";
import { closedInterval, flag, integer, nonNegative } from "../schema.ts";
import type { FoldTrainer } from "./contract.ts";
import { fitLinearFold, loadLinearFold } from "./linear_fold.ts";

const settings = z.strictObject({
  alpha: nonNegative().default(0.001).describe("overall penalty strength α"),
  l1Ratio: closedInterval(0, 1).default(0.5).describe("share of the L1 penalty (1 = lasso)"),
  positive: flag().default(false).describe("constrain coefficients to be ≥ 0"),
  maxIter: integer().default(10000).describe("maximum coordinate-descent sweeps"),
});

/** Resolved `elasticnet` settings. */
export type ElasticNetSettings = z.output<typeof settings>;

/** The `elasticnet` kind. */
export const elasticNetTrainer: FoldTrainer<ElasticNetSettings> = {
  kind: "elasticnet",
  summary: "elastic-net regression on standardized features (binary target: linear probability model)",
  tasks: ["binary", "regression"],
  settings,
  fitted: () => [{ name: "model fit", rows: "fit" }, { name: "standard scaler", rows: "fit" }],
  backend: () => Promise.resolve("js"),
  fit: (input) => fitLinearFold(input, new ElasticNet(input.entry.settings)),
  load: (dir) => loadLinearFold(dir),
};
