/**
 * A toy model kind in one file, to prove that adding a kind is one file plus one line (`registerTrainer(toyTrainer)`):
 * it calls "up" with probability `0.5 + tilt · sign(first feature)`, fitted on nothing. It declares settings with a
 * default, the tasks it learns and the rows its one fitted thing sees, like every real kind.
 */
import { z } from "zod";
import type { FoldTrainer } from "../../lib/pipeline/trainers/contract.ts";
import { fittedOn } from "../../lib/pipeline/trainers/inputs.ts";

const settings = z.strictObject({
  tilt: z.number().min(0).max(0.5).default(0.1).describe("how far from 0.5 the calls lean"),
});

/** The toy kind. */
export const toyTrainer: FoldTrainer<z.output<typeof settings>> = {
  kind: "toy-sign",
  summary: "calls up when the first feature is positive (a test kind)",
  tasks: ["binary"],
  settings,
  fitted: () => [{ name: "model fit", rows: "fit" }],
  backend: () => Promise.resolve("none"),
  fit({ data, fold, entry }) {
    const predict = (rows: Int32Array) =>
      Float64Array.from(rows, (r) => 0.5 + entry.settings.tilt * Math.sign(data.X.data[r * data.X.cols] || 0));
    return Promise.resolve({
      rows: fold.rows,
      validation: predict(fold.rows.validation),
      test: predict(fold.rows.test),
      report: { kind: "toy-sign", notes: [] },
      fitted: fittedOn("model fit", fold.index, fold.rows.fit, data),
      diagnostics: [],
      health: "healthy",
      warnings: [],
    });
  },
};
