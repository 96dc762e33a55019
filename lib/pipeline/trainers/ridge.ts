/**
 * `ridge`: ridge regression in closed form (lib/models/linear) on standardized features; on a binary target a linear
 * probability model (./linear_fold.ts).
 *
 * @module
 */

import { z } from "zod";
import { Ridge } from "../../models/linear/linear.ts";
import { nonNegative } from "../schema.ts";
import type { FoldTrainer } from "./contract.ts";
import { fitLinearFold, loadLinearFold } from "./linear_fold.ts";

const settings = z.strictObject({
  alpha: nonNegative().default(1).describe("L2 penalty α"),
});

/** Resolved `ridge` settings. */
export type RidgeSettings = z.output<typeof settings>;

/** The `ridge` kind. */
export const ridgeTrainer: FoldTrainer<RidgeSettings> = {
  kind: "ridge",
  summary: "ridge regression on standardized features (binary target: linear probability model)",
  tasks: ["binary", "regression"],
  settings,
  fitted: () => [{ name: "model fit", rows: "fit" }, { name: "standard scaler", rows: "fit" }],
  backend: () => Promise.resolve("js"),
  fit: (input) => fitLinearFold(input, new Ridge(input.entry.settings)),
  load: (dir) => loadLinearFold(dir),
};
