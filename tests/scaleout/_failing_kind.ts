/**
 * A test model kind whose fit fails on the study's second fold (index 1), every time: the repeated failure the
 * scale-out tests need. Importing the module registers it (`candor worker --import tests/scaleout/_failing_kind.ts`
 * does the same in a worker process).
 */
import { z } from "zod";
import { registerTrainer } from "../../lib/pipeline/trainers/registry.ts";
import type { FoldTrainer } from "../../lib/pipeline/trainers/contract.ts";
import { fittedOn } from "../../lib/pipeline/trainers/inputs.ts";

/** The kind's name. */
export const FAILING_KIND = "failing-toy";

const trainer: FoldTrainer<Record<string, never>> = {
  kind: FAILING_KIND,
  summary: "calls up everywhere, and fails on fold 2 (a test kind)",
  tasks: ["binary"],
  settings: z.strictObject({}),
  fitted: () => [{ name: "model fit", rows: "fit" }],
  backend: () => Promise.resolve("none"),
  fit({ data, fold }) {
    if (fold.index === 1) return Promise.reject(new Error("planted failure on fold 2"));
    return Promise.resolve({
      rows: fold.rows,
      validation: new Float64Array(fold.rows.validation.length).fill(0.6),
      test: new Float64Array(fold.rows.test.length).fill(0.6),
      report: { kind: FAILING_KIND, notes: [] },
      fitted: fittedOn("model fit", fold.index, fold.rows.fit, data),
      diagnostics: [],
      health: "healthy",
      warnings: [],
    });
  },
  load: () => Promise.reject(new Error(`${FAILING_KIND} keeps no models`)),
};

registerTrainer(trainer);
