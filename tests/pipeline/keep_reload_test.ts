/**
 * The trainer contract's production extension, for every kind (the toy kind too): a fold fitted with `keep: true`
 * returns a model whose scores of the fold's test rows are the fold's own test predictions, and that model saved to a
 * folder and loaded back by the kind's `load` gives identical scores — on the test rows and on rows of a dataset it
 * has never seen (a sequence model reads each row's history from the data it is given). CI-sized: tiny networks, one
 * or two epochs, 4 symbols × 360 days.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { resolveStudyConfig, type StudyConfigInput } from "../../lib/pipeline/config.ts";
import { loadMarket, prepareStudyData, selectFeatures } from "../../lib/pipeline/data.ts";
import { planFolds } from "../../lib/pipeline/plan.ts";
import { modelKinds, registerTrainer, trainerOf, unregisterTrainer } from "../../lib/pipeline/trainers/registry.ts";
import type { EntryScores, StudyData } from "../../lib/pipeline/trainers/contract.ts";
import { runStudy } from "../../lib/pipeline/study.ts";
import { toyTrainer } from "./_toy_kind.ts";

const T = 4;
const NEURAL = { epochs: 1, patience: 1, batchSize: 64 };
const ENTRIES: Record<string, { target: string; settings: Record<string, unknown> }> = {
  xgboost: { target: "direction", settings: { numBoostRound: 15, earlyStoppingRounds: 5, threads: 1 } },
  elasticnet: { target: "return", settings: {} },
  ridge: { target: "direction", settings: {} },
  logistic: { target: "direction", settings: {} },
  mlp: { target: "direction3", settings: { hidden: [4], ...NEURAL } },
  lstm: { target: "direction", settings: { timesteps: T, units: 4, ...NEURAL } },
  "lstm-regressor": { target: "return", settings: { timesteps: T, units: 4, ...NEURAL } },
  "lstm-transformer": { target: "direction", settings: { timesteps: T, units: 4, heads: 2, ...NEURAL } },
  xlstm: { target: "return", settings: { timesteps: T, units: 4, ...NEURAL } },
  "toy-sign": { target: "direction", settings: { tilt: 0.2 } },
};

async function dataset(
  target: string,
  seed = 11,
): Promise<{ data: StudyData; config: ReturnType<typeof resolveStudyConfig> }> {
  const config = resolveStudyConfig({
    data: { synthetic: { symbols: 4, days: 360, seed } },
    target: { kind: target as "direction" },
    validation: { folds: 2 },
  } as StudyConfigInput);
  const market = await loadMarket(config.data);
  const prepared = prepareStudyData(market.panel, selectFeatures(market.panel, config.features), config.target);
  return { data: prepared.data, config };
}

function assertSame(
  a: { rows: Int32Array; scores: Float64Array },
  b: { rows: Int32Array; scores: Float64Array },
  what: string,
) {
  assert.deepEqual(Array.from(a.rows), Array.from(b.rows), `${what}: rows`);
  assert.equal(a.scores.length, b.scores.length, `${what}: length`);
  for (let i = 0; i < a.scores.length; i++) {
    if (!Object.is(a.scores[i], b.scores[i])) assert.fail(`${what}: score ${i}: ${a.scores[i]} vs ${b.scores[i]}`);
  }
}

Deno.test("every kind kept for production scores its fold's test rows as the fold did, and identically after save + load", async () => {
  registerTrainer(toyTrainer);
  const dir = await Deno.makeTempDir({ prefix: "candor-keep-" });
  try {
    const tested: string[] = [];
    for (const [kind, e] of Object.entries(ENTRIES)) {
      const { data, config } = await dataset(e.target);
      const plan = planFolds(data, config.validation);
      const fold = plan.folds[1];
      const trainer = trainerOf(kind)!;
      const entry = { name: kind, kind, settings: trainer.settings.parse(e.settings) as Record<string, unknown> };
      const out = await trainer.fit({ entry, data, fold, seed: 3, keep: true });
      const model = out.model;
      assert.ok(model !== undefined, `${kind}: keep returned no model`);
      try {
        const kept = model.score(data, fold.rows.test);
        assertSame(kept, { rows: out.rows.test, scores: out.test }, `${kind} kept vs fold`);
        await model.save(join(dir, kind));
        const loaded = await trainer.load(join(dir, kind), entry);
        try {
          assertSame(loaded.score(data, fold.rows.test), kept, `${kind} reloaded`);
          // Rows of another market the model never saw: same scores from the kept and the reloaded model.
          const other = (await dataset(e.target, 99)).data;
          const rows = Int32Array.from({ length: other.dates.length }, (_, i) => i).filter((_, i) => i % 7 === 0);
          const a = model.score(other, rows), b = loaded.score(other, rows);
          assertSame(b, a, `${kind} on new rows`);
          assert.ok(a.rows.length > 0.8 * rows.length, `${kind}: ${a.rows.length} of ${rows.length} rows scored`);
        } finally {
          loaded.dispose();
        }
      } finally {
        model.dispose();
      }
      tested.push(kind);
    }
    // Every registered kind but stacking (next test) is covered here.
    assert.deepEqual(tested.sort(), modelKinds().filter((k) => k !== "stacking").sort());
  } finally {
    unregisterTrainer("toy-sign");
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a stack kept for production scores from its bases' scores, and identically after save + load", async () => {
  const dir = await Deno.makeTempDir({ prefix: "candor-keep-stack-" });
  try {
    const r = await runStudy({
      data: { synthetic: { symbols: 4, days: 500, seed: 5 } },
      validation: { folds: 3 },
      models: [
        { name: "a", kind: "ridge" },
        { name: "b", kind: "logistic" },
        { name: "s", kind: "stacking", base: ["a", "b"], settings: { minRows: 20 } },
      ],
    });
    const { data, plan } = r;
    const foldOfRow = new Int32Array(data.dates.length).fill(-1);
    for (const f of plan.folds) for (const row of f.rows.test) foldOfRow[row] = f.index;
    const scores = new Map<string, Float64Array>();
    for (const name of ["a", "b"]) {
      const all = new Float64Array(data.dates.length).fill(NaN);
      const p = r.predictions.get(name)!;
      p.rows.forEach((row, i) => (all[row] = p.scores[i]));
      scores.set(name, all);
    }
    const oof = { foldOfRow, scores: (n: string) => scores.get(n)!, width: () => 1 };
    const trainer = trainerOf("stacking")!;
    const entry = { name: "s", kind: "stacking", settings: trainer.settings.parse({ minRows: 20 }), base: ["a", "b"] };
    const fold = plan.folds[2];
    const out = await trainer.fit({ entry, data, fold, seed: 42, oof, keep: true });
    const inputs: EntryScores = { scores: (n) => scores.get(n)!, width: () => 1 };
    const kept = out.model!.score(data, fold.rows.test, inputs);
    assertSame(kept, { rows: out.rows.test, scores: out.test }, "stack kept vs fold");
    await out.model!.save(join(dir, "s"));
    const loaded = await trainer.load(join(dir, "s"), entry);
    assertSame(loaded.score(data, fold.rows.test, inputs), kept, "stack reloaded");
    assert.throws(() => loaded.score(data, fold.rows.test), /base entries' scores/);
    out.model!.dispose();
    loaded.dispose();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
