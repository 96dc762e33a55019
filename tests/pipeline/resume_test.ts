/**
 * Resuming a study (`runStudy(config, { store, resume })`): a study stopped in the middle of its second entry trains
 * only the folds it lacks, and ends with exactly the fold metrics, pooled verdicts, gates and backtests of an
 * uninterrupted run of the same configuration; what cannot be resumed is refused before anything is written.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { InterruptedError, ResumeRefusedError } from "../../lib/errors.ts";
import { syntheticMarket } from "../../lib/data/synthetic.ts";
import { writePanelCsv } from "../../lib/data/write.ts";
import { resolveStudyConfig } from "../../lib/pipeline/config.ts";
import { configDifferences } from "../../lib/pipeline/resume.ts";
import { runStudy, type StudyProgress } from "../../lib/pipeline/study.ts";
import { openStore } from "../../lib/store/mod.ts";
import type { Store } from "../../lib/store/store.ts";

// CI-sized: 6 symbols × 500 days, 3 anchored folds; a tree model, a linear model and a stack of both.
const INPUT = {
  data: { synthetic: { symbols: 6, days: 500, seed: 11 } },
  validation: { folds: 3 },
  models: [
    { name: "gbm", kind: "xgboost", settings: { numBoostRound: 40, earlyStoppingRounds: 10 } },
    { kind: "logistic" },
    { name: "stack", kind: "stacking", base: ["gbm", "logistic"] },
  ],
};
const CONFIG = resolveStudyConfig(INPUT);

/** The folds each entry started training, from the progress events (`<entry> fold i/n: training`). */
function trainedFolds(events: StudyProgress[]): string[] {
  return events.flatMap((e) => {
    const m = /^(\S+) fold (\d+)\/\d+: training$/.exec(e.message);
    return m === null ? [] : [`${m[1]} ${m[2]}`];
  });
}

/** Runs `input` on `store` and stops it (as SIGINT does) once `entry` has started its fold `fold` (1-based). */
async function interruptedStudy(store: Store, input: unknown, entry: string, fold: number): Promise<string> {
  const stop = new AbortController();
  const error = await runStudy(resolveStudyConfig(input), {
    store,
    signal: stop.signal,
    // The abort takes effect at the next progress event: the fold that just started is finished and stored first.
    onProgress: (p) => p.message === `${entry} fold ${fold}/3: training` && stop.abort("SIGINT"),
  }).then(() => undefined, (e) => e);
  assert.ok(error instanceof InterruptedError, String(error));
  assert.ok(error.studyId !== undefined);
  return error.studyId;
}

/** The parts of an entry's report a resumed study must reproduce (everything but its run id and timings). */
function comparable(report: Awaited<ReturnType<typeof runStudy>>["report"]) {
  return {
    entries: report.entries.map(({ runId: _runId, folds, ...e }) => ({
      ...e,
      folds: folds.map(({ seconds: _s, fit: _fit, ...f }) => f),
    })),
    comparison: report.comparison.map(({ runId: _runId, ...row }) => row),
    warnings: report.warnings,
  };
}

Deno.test("resume: a study stopped in its second entry trains only the missing folds and ends as an uninterrupted run", async () => {
  const dir = await Deno.makeTempDir();
  const store = openStore(join(dir, "runs.db"));
  try {
    const reference = await runStudy(CONFIG);
    const studyId = await interruptedStudy(store, INPUT, "logistic", 2);
    const before = (await store.getStudy(studyId))!;
    assert.equal(before.status, "interrupted");
    assert.deepEqual(before.runs.map((r) => [r.entry, r.status]), [["gbm", "succeeded"], ["logistic", "interrupted"]]);
    const logistic = before.runs[1].id;
    assert.deepEqual((await store.listFolds([logistic])).map((f) => f.index), [0, 1]);

    const events: StudyProgress[] = [];
    const resumed = await runStudy(CONFIG, { store, resume: studyId, onProgress: (p) => events.push(p) });
    // Only what was missing was trained: logistic's third fold and the stack, never begun.
    assert.deepEqual(trainedFolds(events), ["logistic 3", "stack 1", "stack 2", "stack 3"]);
    assert.equal(resumed.id, studyId);
    assert.deepStrictEqual(comparable(resumed.report), comparable(reference.report));
    for (const [name, p] of reference.predictions) {
      assert.deepStrictEqual(resumed.predictions.get(name), p, `${name}: stitched out-of-sample predictions`);
    }

    const after = (await store.getStudy(studyId))!;
    assert.equal(after.status, "succeeded");
    assert.deepEqual(after.runs.map((r) => [r.entry, r.status]), [
      ["gbm", "succeeded"],
      ["logistic", "succeeded"],
      ["stack", "succeeded"],
    ]);
    assert.equal(after.runs[1].id, logistic, "the interrupted run is continued, not replaced");
    assert.equal(after.runs[1].reopened.length, 1);
    assert.equal(after.runs[1].reopened[0].status, "interrupted");
    assert.deepEqual((await store.listFolds([logistic])).map((f) => f.index), [0, 1, 2]);
    // What `candor show` reads is the resumed study's report.
    const stored = (await store.getRuns([after.runs[2].id]))[0];
    const stack = reference.report.entries[2];
    assert.deepStrictEqual(
      (stored.summary as { pooled: { accuracy: number } }).pooled.accuracy,
      JSON.parse(JSON.stringify(stack.pooled.accuracy)),
    );

    // Succeeded now: nothing left to resume.
    await assert.rejects(
      () => runStudy(CONFIG, { store, resume: studyId }),
      (e: unknown) => e instanceof ResumeRefusedError && /already succeeded/.test(e.message),
    );
  } finally {
    await store.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("resume: refused before anything is written — other configuration, other data, a live study, unknown id", async () => {
  const dir = await Deno.makeTempDir();
  const store = openStore(join(dir, "runs.db"));
  try {
    // A study on price files, stopped in its first entry.
    const files = join(dir, "prices");
    writePanelCsv(syntheticMarket({ symbols: 4, days: 400, seed: 5 }).panel, files);
    const input = { data: { path: files }, validation: { folds: 3 }, models: [{ kind: "logistic" }] };
    const studyId = await interruptedStudy(store, input, "logistic", 1);
    const config = resolveStudyConfig(input);
    const snapshot = async () => JSON.stringify([await store.getStudy(studyId), await store.listStudies()]);
    const unchanged = await snapshot();
    const refused = async (c: unknown, resume: string, message: RegExp) => {
      await assert.rejects(
        () => runStudy(resolveStudyConfig(c), { store, resume }),
        (e: unknown) => e instanceof ResumeRefusedError && message.test(e.message),
      );
      assert.equal(await snapshot(), unchanged, "nothing was written");
    };

    await refused(
      { ...input, seed: 8 },
      studyId,
      /configuration differs from study study_\w+'s: seed: 42 \(stored\) vs 8 \(given\)/,
    );
    await refused({ ...input, validation: { folds: 4 } }, studyId, /validation\.folds: 3 \(stored\) vs 4 \(given\)/);
    await refused(input, "study_00000000000000000000000000", /no study or run "study_0+"/);
    // The same configuration on changed prices.
    const first = join(files, (await Array.fromAsync(Deno.readDir(files))).map((e) => e.name).sort()[0]);
    const text = await Deno.readTextFile(first);
    await Deno.writeTextFile(first, text.replace(/\n([^\n]+)\n$/, "\n"));
    await refused(input, studyId, /the data at .* has fingerprint sha256:\w+, but study study_\w+ was trained on/);
    await Deno.writeTextFile(first, text);

    // A running study whose process is alive (its heartbeat is fresh) belongs to that process.
    await store.reopenStudy(studyId);
    await assert.rejects(
      () => runStudy(config, { store, resume: studyId }),
      (e: unknown) => e instanceof ResumeRefusedError && /is running and its process is alive/.test(e.message),
    );
    // Without a store there is nothing to resume.
    await assert.rejects(
      () => runStudy(config, { resume: studyId }),
      (e: unknown) => e instanceof ResumeRefusedError && /needs the run store/.test(e.message),
    );
  } finally {
    await store.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("resume: a stale study (its process gone without a word) is marked interrupted, then resumed", async () => {
  const dir = await Deno.makeTempDir();
  let now = Date.now();
  const store = openStore(join(dir, "runs.db"), { staleAfterMs: 60_000, clock: () => now });
  try {
    const input = { ...INPUT, models: INPUT.models.slice(1, 2) };
    const studyId = await interruptedStudy(store, input, "logistic", 2);
    await store.reopenStudy(studyId); // as if a process had taken it up again, then died
    now += 120_000;
    assert.equal((await store.getStudy(studyId))!.liveness, "stale");
    const events: StudyProgress[] = [];
    const resumed = await runStudy(resolveStudyConfig(input), {
      store,
      resume: studyId,
      onProgress: (p) => events.push(p),
    });
    assert.deepEqual(trainedFolds(events), ["logistic 3"]);
    const study = (await store.getStudy(studyId))!;
    assert.equal(study.status, "succeeded");
    assert.deepEqual(study.reopened.map((r) => r.status), ["interrupted", "interrupted"]);
    assert.match(study.reopened[1].error?.message ?? "", /stopped sending heartbeats/);
    assert.equal(resumed.report.entries[0].folds.length, 3);
  } finally {
    await store.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("configDifferences lists each differing path with both values, key order ignored", () => {
  assert.deepEqual(configDifferences({ a: 1, b: { c: [1, 2] } }, { b: { c: [1, 2] }, a: 1 }), []);
  assert.deepEqual(configDifferences({ a: 1, b: { c: [1, 2] } }, { a: 2, b: { c: [1, 3] } }), [
    "a: 1 (stored) vs 2 (given)",
    "b.c[1]: 2 (stored) vs 3 (given)",
  ]);
  assert.deepEqual(configDifferences({ m: [1] }, { m: [1, 2], x: "y" }), [
    "m: 1 items (stored) vs 2 (given)",
    'x: absent (stored) vs "y" (given)',
  ]);
});
