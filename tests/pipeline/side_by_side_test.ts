/**
 * Folds trained side by side (`FoldTrainer.foldsAtOnce`): an XGBoost study gives the same folds, verdicts and
 * predictions whether its folds train two at a time on one thread each or one at a time on two threads; the loop
 * never runs more folds at once than allowed, starts the largest first and reports progress that only grows; a fold
 * that fails stops the one beside it and is the one recorded; an interrupted side-by-side study resumes to the
 * uninterrupted result.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { z } from "zod";
import { InterruptedError } from "../../lib/errors.ts";
import { resolveStudyConfig } from "../../lib/pipeline/config.ts";
import { runStudy, type StudyProgress } from "../../lib/pipeline/study.ts";
import type { FoldTrainer } from "../../lib/pipeline/trainers/contract.ts";
import { fittedOn } from "../../lib/pipeline/trainers/inputs.ts";
import { registerTrainer, unregisterTrainer } from "../../lib/pipeline/trainers/registry.ts";
import type { XGBoostFoldReport } from "../../lib/pipeline/trainers/xgboost.ts";
import { openStore } from "../../lib/store/mod.ts";

// CI-sized: 8 symbols × 700 days, 4 anchored folds (fits of about 1,300 to 3,400 rows).
const DATA = { synthetic: { symbols: 8, days: 700, seed: 21 } };
const GBM = { numBoostRound: 60, earlyStoppingRounds: 10 };

/** Everything a study reports but its run ids, timings and how the folds were scheduled. */
function comparable(report: Awaited<ReturnType<typeof runStudy>>["report"]) {
  return {
    entries: report.entries.map(({ runId: _r, folds, settings: _s, ...e }) => ({
      ...e,
      folds: folds.map(({ seconds: _t, fit: _f, ...f }) => f),
    })),
    comparison: report.comparison.map(({ runId: _r, ...row }) => row),
  };
}

Deno.test("side by side: an XGBoost study's results do not depend on how its folds were scheduled", async () => {
  const sideBySide = await runStudy({
    data: DATA,
    validation: { folds: 4 },
    models: [{ kind: "xgboost", settings: GBM }],
  });
  const oneByOne = await runStudy({
    data: DATA,
    validation: { folds: 4 },
    models: [{ kind: "xgboost", settings: { ...GBM, foldsAtOnce: 1, threads: 2 } }],
  });
  const fits = (r: typeof sideBySide) => r.report.entries[0].folds.map((f) => f.fit as unknown as XGBoostFoldReport);
  // Two cores here and in CI: two folds at once on one thread each, against one at a time on two threads.
  const cores = navigator.hardwareConcurrency ?? 1;
  assert.deepEqual(fits(sideBySide).map((f) => [f.threads, f.foldsAtOnce]), Array(4).fill([1, Math.min(4, cores)]));
  assert.deepEqual(fits(oneByOne).map((f) => [f.threads, f.foldsAtOnce]), Array(4).fill([2, 1]));
  assert.deepStrictEqual(comparable(sideBySide.report), comparable(oneByOne.report));
  assert.deepStrictEqual(sideBySide.predictions, oneByOne.predictions);
  assert.ok(fits(sideBySide).every((f) => f.trees >= 1 && f.trees <= 60));
});

/** A test kind whose fit waits `ms` per step (as a fit waiting on another thread would), recording what it saw. */
function lanesKind(log: { active: number; maxActive: number; started: number[]; atOnce: (number | undefined)[] }) {
  const settings = z.strictObject({
    ms: z.number().default(5),
    failFold: z.number().default(-1),
    atOnce: z.number().default(2),
  });
  const trainer: FoldTrainer<z.output<typeof settings>> = {
    kind: "test-lanes",
    summary: "waits, then calls up (a test kind)",
    tasks: ["binary"],
    settings,
    fitted: () => [{ name: "model fit", rows: "fit" }],
    foldsAtOnce: (s) => s.atOnce,
    backend: () => Promise.resolve("none"),
    async fit({ data, fold, entry, onProgress, foldsAtOnce }) {
      log.active++;
      log.maxActive = Math.max(log.maxActive, log.active);
      log.started.push(fold.index);
      log.atOnce.push(foldsAtOnce);
      try {
        for (let step = 0; step < 4; step++) {
          await new Promise((r) => setTimeout(r, entry.settings.ms));
          if (fold.index === entry.settings.failFold && step === 1) throw new Error(`fold ${fold.index} broke`);
          onProgress?.((step + 1) / 4, `step ${step + 1}`);
        }
      } finally {
        log.active--;
      }
      const up = (rows: Int32Array) => new Float64Array(rows.length).fill(0.6);
      return {
        rows: fold.rows,
        validation: up(fold.rows.validation),
        test: up(fold.rows.test),
        report: { kind: "test-lanes", notes: [] },
        fitted: fittedOn("model fit", fold.index, fold.rows.fit, data),
        diagnostics: [],
        health: "healthy",
        warnings: [],
      };
    },
    load: () => Promise.reject(new Error("not kept")),
  };
  return trainer;
}

Deno.test("side by side: at most foldsAtOnce folds at a time, largest first, progress only grows, folds in order", async () => {
  const log = { active: 0, maxActive: 0, started: [] as number[], atOnce: [] as (number | undefined)[] };
  registerTrainer(lanesKind(log));
  try {
    const fractions: number[] = [];
    const r = await runStudy({
      data: DATA,
      validation: { folds: 5 },
      models: [{ name: "lanes", kind: "test-lanes", settings: { atOnce: 2 } }],
    }, { onProgress: (p: StudyProgress) => p.stage === "train" && fractions.push(p.fraction) });
    assert.equal(log.maxActive, 2);
    // Anchored folds: each fits on more rows than the one before, so the largest first is the plan backwards.
    assert.deepEqual(log.started, [4, 3, 2, 1, 0]);
    assert.deepEqual(log.atOnce, [2, 2, 2, 2, 2]);
    assert.deepEqual(r.report.entries[0].folds.map((f) => f.index), [0, 1, 2, 3, 4]);
    assert.ok(fractions.every((f, i) => i === 0 || f >= fractions[i - 1]), `progress went back: ${fractions}`);
    assert.ok(fractions.at(-1)! <= 1);

    // More allowed than folds: all at once; one allowed: one by one, in plan order.
    log.started.length = 0;
    log.maxActive = 0;
    await runStudy({ data: DATA, validation: { folds: 3 }, models: [{ kind: "test-lanes", settings: { atOnce: 8 } }] });
    assert.equal(log.maxActive, 3);
    log.started.length = 0;
    log.maxActive = 0;
    log.atOnce.length = 0;
    await runStudy({ data: DATA, validation: { folds: 3 }, models: [{ kind: "test-lanes", settings: { atOnce: 1 } }] });
    assert.equal(log.maxActive, 1);
    assert.deepEqual(log.started, [0, 1, 2]);
    assert.deepEqual(log.atOnce, [undefined, undefined, undefined]);
  } finally {
    unregisterTrainer("test-lanes");
  }
});

Deno.test("side by side: a failing fold stops the one beside it and is the fold the failure names", async () => {
  const log = { active: 0, maxActive: 0, started: [] as number[], atOnce: [] as (number | undefined)[] };
  registerTrainer(lanesKind(log));
  const dir = await Deno.makeTempDir();
  const store = openStore(join(dir, "runs.db"));
  try {
    // Folds start 3, 2 (largest first); fold 2 breaks in its second step while fold 3 is still training.
    await assert.rejects(
      runStudy({
        data: DATA,
        validation: { folds: 4 },
        models: [{ kind: "test-lanes", settings: { ms: 20, failFold: 2 } }],
      }, { store }),
      /fold 2 broke/,
    );
    assert.deepEqual(log.started, [3, 2], "no fold starts after a failure");
    const [study] = await store.listStudies();
    assert.equal(study.status, "failed");
    assert.equal(study.error?.fold, 2);
    assert.match(study.error?.message ?? "", /fold 2 broke/);
    const run = (await store.getStudy(study.id))!.runs[0];
    assert.equal(run.status, "failed");
    assert.deepEqual(await store.listFolds([run.id]), [], "the fold beside it was stopped, not stored");
    assert.equal(log.active, 0);
  } finally {
    unregisterTrainer("test-lanes");
    await store.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("side by side: an XGBoost study interrupted mid-fold resumes to the uninterrupted result", async () => {
  const input = { data: DATA, validation: { folds: 4 }, models: [{ name: "gbm", kind: "xgboost", settings: GBM }] };
  const config = resolveStudyConfig(input);
  const reference = await runStudy(config);
  const dir = await Deno.makeTempDir();
  const store = openStore(join(dir, "runs.db"));
  try {
    const stop = new AbortController();
    // Stop once the first two folds (4 and 3, largest first) are boosting: the abort takes effect at their next round.
    const error = await runStudy(config, {
      store,
      signal: stop.signal,
      onProgress: (p) => /fold [34]: round 5\//.test(p.message) && stop.abort("SIGINT"),
    }).then(() => undefined, (e) => e);
    assert.ok(error instanceof InterruptedError, String(error));
    const interrupted = (await store.getStudy(error.studyId!))!;
    assert.equal(interrupted.status, "interrupted");
    const stored = (await store.listFolds([interrupted.runs[0].id])).map((f) => f.index);
    assert.ok(stored.length < 4, `stored folds ${stored}`);
    const resumed = await runStudy(config, { store, resume: error.studyId! });
    assert.deepStrictEqual(comparable(resumed.report), comparable(reference.report));
    assert.deepStrictEqual(resumed.predictions, reference.predictions);
  } finally {
    await store.close();
    await Deno.remove(dir, { recursive: true });
  }
});
