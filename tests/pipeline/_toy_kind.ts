/**
 * A toy model kind in one file, to prove that adding a kind is one file plus one line (`registerTrainer(toyTrainer)`):
 * it calls "up" with probability `0.5 + tilt · sign(first feature)`, fitted on nothing. It declares settings with a
 * default, the tasks it learns and the rows its one fitted thing sees, like every real kind, and it can be kept for
 * production, saved and loaded again (its "model" is its settings).
 */
import { z } from "zod";
import { join } from "node:path";
import type { FoldTrainer, StudyData, TrainedModel } from "../../lib/pipeline/trainers/contract.ts";
import { fittedOn } from "../../lib/pipeline/trainers/inputs.ts";

const settings = z.strictObject({
  tilt: z.number().min(0).max(0.5).default(0.1).describe("how far from 0.5 the calls lean"),
});

type ToySettings = z.output<typeof settings>;

function predict(s: ToySettings, data: StudyData, rows: Int32Array): Float64Array {
  return Float64Array.from(rows, (r) => 0.5 + s.tilt * Math.sign(data.X.data[r * data.X.cols] || 0));
}

function toyModel(s: ToySettings): TrainedModel {
  return {
    score: (data, rows) => ({ rows, scores: predict(s, data, rows) }),
    save: async (dir) => {
      await Deno.mkdir(dir, { recursive: true });
      await Deno.writeTextFile(join(dir, "toy.json"), JSON.stringify(s));
    },
    dispose: () => {},
  };
}

/** The toy kind. */
export const toyTrainer: FoldTrainer<ToySettings> = {
  kind: "toy-sign",
  summary: "calls up when the first feature is positive (a test kind)",
  tasks: ["binary"],
  settings,
  fitted: () => [{ name: "model fit", rows: "fit" }],
  backend: () => Promise.resolve("none"),
  fit({ data, fold, entry, keep }) {
    return Promise.resolve({
      rows: fold.rows,
      validation: predict(entry.settings, data, fold.rows.validation),
      test: predict(entry.settings, data, fold.rows.test),
      report: { kind: "toy-sign", notes: [] },
      fitted: fittedOn("model fit", fold.index, fold.rows.fit, data),
      diagnostics: [],
      health: "healthy",
      warnings: [],
      ...(keep ? { model: toyModel(entry.settings) } : {}),
    });
  },
  async load(dir) {
    return toyModel(settings.parse(JSON.parse(await Deno.readTextFile(join(dir, "toy.json")))));
  },
};
