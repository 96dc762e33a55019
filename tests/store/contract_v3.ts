/**
 * The Store contract tests of schema version 3 (interruption, heartbeats and liveness, resumption, prediction splits,
 * atomic fold and final-stage writes, annotations and deletion), registered for every backend by contract.ts.
 *
 * Time is a clock the test moves (the store's `clock` option), so liveness is tested without waiting. Expectations
 * come from the contract in lib/store/store.ts; refusals are checked to leave everything visible unchanged.
 */

import assert from "node:assert/strict";
import { StoreError } from "../../lib/errors.ts";
import type { RunError, Store } from "../../lib/store/store.ts";
import {
  assertRefusedUnchanged,
  sampleBacktest,
  sampleFold,
  samplePredictions,
  sampleRun,
  sampleStudy,
  type StoreFactory,
} from "./contract.ts";

/** A clock the test sets, in epoch ms. */
class TestClock {
  constructor(public t = Date.UTC(2026, 0, 5, 9)) {}
  readonly now = () => this.t;
  /** Moves time forward by `ms`. */
  advance(ms: number): void {
    this.t += ms;
  }
}

const STALE_AFTER_MS = 60_000;
const INTERRUPTED: RunError = {
  message: "interrupted by SIGINT",
  stage: "fold",
  entry: "gbm",
  fold: 2,
  signal: "SIGINT",
};

/** Registers the version-3 contract tests of one backend. */
export function version3ContractTests(backend: string, factory: StoreFactory): void {
  const test = (name: string, fn: (store: Store, clock: TestClock) => Promise<void>) =>
    Deno.test(`store contract (${backend}): ${name}`, async () => {
      const clock = new TestClock();
      const { store, cleanup } = await factory({ clock: clock.now, staleAfterMs: STALE_AFTER_MS });
      try {
        await fn(store, clock);
      } finally {
        await store.close();
        await cleanup?.();
      }
    });

  /** A running study with runs for its entries `gbm` and `mlp`. */
  const studyWithRuns = async (store: Store) => {
    const studyId = await store.createStudy(sampleStudy());
    const gbm = await store.createRun(sampleRun({ studyId, entry: "gbm" }));
    const mlp = await store.createRun(sampleRun({ studyId, entry: "mlp", model: "mlp" }));
    return { studyId, gbm, mlp };
  };

  // --- Interruption ---

  test("finishRun and finishStudy seal as interrupted with where it stopped; an error is required", async (store) => {
    const { studyId, gbm, mlp } = await studyWithRuns(store);
    await store.finishRun(gbm, { status: "succeeded" });
    await assertRefusedUnchanged(
      store,
      () => store.finishRun(mlp, { status: "interrupted" } as never),
      /outcome\.error: expected an object/,
    );
    await assertRefusedUnchanged(
      store,
      () => store.finishRun(mlp, { status: "interrupted", error: { message: "x", signal: 9 as never } }),
      /outcome\.error\.signal: expected a non-empty string/,
    );
    await store.finishRun(mlp, { status: "interrupted", error: INTERRUPTED });
    await store.finishStudy(studyId, { status: "interrupted", error: INTERRUPTED });
    const study = (await store.getStudy(studyId))!;
    assert.deepStrictEqual(
      [study.status, study.error, study.liveness, study.runs.map((r) => [r.status, r.error, r.liveness])],
      ["interrupted", INTERRUPTED, null, [["succeeded", null, null], ["interrupted", INTERRUPTED, null]]],
    );
    assert.ok(study.finishedAt !== null);
    assert.deepStrictEqual((await store.listRuns({ status: "interrupted" })).map((r) => r.id), [mlp]);
    assert.deepStrictEqual((await store.listStudies({ status: "interrupted" })).map((s) => s.id), [studyId]);
    const page = await store.queryRuns({ statuses: ["interrupted"] });
    assert.deepStrictEqual([page.totalCount, page.runs.map((r) => r.id)], [1, [mlp]]);
  });

  test(
    "markInterrupted seals a study and its running runs at once; sealed runs keep their status",
    async (store, clock) => {
      const { studyId, gbm, mlp } = await studyWithRuns(store);
      await store.appendFold(gbm, sampleFold(0));
      await store.finishRun(gbm, { status: "succeeded" });
      clock.advance(5000);
      assert.deepStrictEqual(await store.markInterrupted(studyId, INTERRUPTED), { studies: [studyId], runs: [mlp] });
      const study = (await store.getStudy(studyId))!;
      assert.equal(study.status, "interrupted");
      assert.equal(study.finishedAt, clock.t);
      assert.deepStrictEqual(study.runs.map((r) => [r.id, r.status, r.error, r.finishedAt === null]), [
        [gbm, "succeeded", null, false],
        [mlp, "interrupted", INTERRUPTED, false],
      ]);
      assert.deepStrictEqual((await store.getRun(gbm))!.folds.map((f) => f.index), [0]);
      // Sealed: a second interruption, and any write to the interrupted run, is refused.
      await assertRefusedUnchanged(store, () => store.markInterrupted(studyId, INTERRUPTED), /already interrupted/);
      await assertRefusedUnchanged(store, () => store.appendFold(mlp, sampleFold(0)), /already interrupted.*reopen/);
      await assertRefusedUnchanged(
        store,
        () => store.createRun(sampleRun({ studyId, entry: "stack" })),
        /already interrupted/,
      );
      await assertRefusedUnchanged(
        store,
        () => store.markInterrupted("study_00000000000000000000000000", INTERRUPTED),
        /unknown study id/,
      );
      await assertRefusedUnchanged(store, () => store.markInterrupted(gbm, { message: "" }), /error\.message/);
    },
  );

  test("markInterrupted with a run id marks that run only", async (store) => {
    const { studyId, gbm, mlp } = await studyWithRuns(store);
    assert.deepStrictEqual(await store.markInterrupted(gbm, INTERRUPTED), { studies: [], runs: [gbm] });
    const study = (await store.getStudy(studyId))!;
    assert.deepStrictEqual([study.status, ...study.runs.map((r) => r.status)], ["running", "interrupted", "running"]);
    assert.equal(study.runs[1].id, mlp);
    const lone = await store.createRun(sampleRun());
    assert.deepStrictEqual(await store.markInterrupted(lone, INTERRUPTED), { studies: [], runs: [lone] });
  });

  // --- Heartbeats and liveness ---

  test(
    "liveness: live until the heartbeat is older than the threshold, then stale; null once sealed",
    async (store, clock) => {
      const { studyId, gbm, mlp } = await studyWithRuns(store);
      const created = clock.t;
      let study = (await store.getStudy(studyId))!;
      // Creation counts as a heartbeat.
      assert.deepStrictEqual([study.heartbeatAt, study.liveness], [created, "live"]);
      clock.advance(30_000);
      await store.heartbeat(studyId, gbm);
      clock.advance(STALE_AFTER_MS); // 60 s after gbm's heartbeat: not older than the threshold
      study = (await store.getStudy(studyId))!;
      assert.deepStrictEqual(
        [study.heartbeatAt, study.liveness, study.runs.map((r) => [r.id, r.heartbeatAt, r.liveness])],
        [created + 30_000, "live", [[gbm, created + 30_000, "live"], [mlp, created, "stale"]]],
      );
      clock.advance(1);
      assert.deepStrictEqual((await store.listStudies()).map((s) => s.liveness), ["stale"]);
      assert.deepStrictEqual((await store.getRuns([gbm])).map((r) => [r.status, r.liveness]), [["running", "stale"]]);
      assert.deepStrictEqual((await store.queryRuns()).runs.map((r) => r.liveness), ["stale", "stale"]);
      await store.heartbeat(studyId);
      assert.equal((await store.getStudy(studyId))!.liveness, "live");
      await store.finishRun(gbm, { status: "succeeded" });
      await store.finishRun(mlp, { status: "failed", error: { message: "boom" } });
      await store.finishStudy(studyId, { status: "failed", error: { message: "boom" } });
      assert.deepStrictEqual(
        (await store.getStudy(studyId))!.runs.map((r) => [r.status, r.liveness]),
        [["succeeded", null], ["failed", null]],
      );
      assert.equal((await store.getStudy(studyId))!.liveness, null);
    },
  );

  test("heartbeat refuses unknown, sealed and foreign records; an interrupted one is told to stop", async (store) => {
    const { studyId, gbm } = await studyWithRuns(store);
    const other = await store.createStudy(sampleStudy());
    const otherRun = await store.createRun(sampleRun({ studyId: other, entry: "gbm" }));
    await assertRefusedUnchanged(store, () => store.heartbeat(studyId, otherRun), /is not a run of study/);
    await assertRefusedUnchanged(
      store,
      () => store.heartbeat("study_00000000000000000000000000"),
      /unknown study id/,
    );
    await assertRefusedUnchanged(
      store,
      () => store.heartbeat(studyId, "run_00000000000000000000000000"),
      /unknown run/,
    );
    await assertRefusedUnchanged(store, () => store.heartbeat(gbm, gbm), /runId is for a run of a study/);
    await store.markInterrupted(studyId, { message: "process gone" });
    await assertRefusedUnchanged(store, () => store.heartbeat(studyId, gbm), /was marked interrupted.*should stop/);
    // A run created without a study heartbeats by its own id.
    const lone = await store.createRun(sampleRun());
    await store.heartbeat(lone);
    await store.finishRun(lone, { status: "succeeded" });
    await assertRefusedUnchanged(store, () => store.heartbeat(lone), /already succeeded/);
  });

  test("markInterrupted onlyIfStale refuses a live record and takes a stale one", async (store, clock) => {
    const { studyId, mlp } = await studyWithRuns(store);
    await assertRefusedUnchanged(
      store,
      () => store.markInterrupted(studyId, { message: "reaped" }, { onlyIfStale: true }),
      /is live \(last heartbeat 0 s ago, stale after 60 s\)/,
    );
    clock.advance(STALE_AFTER_MS + 1);
    const reaped = await store.markInterrupted(studyId, { message: "reaped" }, { onlyIfStale: true });
    assert.deepStrictEqual(reaped.studies, [studyId]);
    assert.equal(reaped.runs.length, 2);
    assert.equal((await store.getRuns([mlp]))[0].status, "interrupted");
  });

  // --- Resumption ---

  test(
    "reopenStudy: the study and its unfinished runs run again; finished folds kept, orphans discarded",
    async (store, clock) => {
      const { studyId, gbm, mlp } = await studyWithRuns(store);
      await store.recordFold(gbm, sampleFold(0), { predictions: [samplePredictions(0)] });
      await store.finishRun(gbm, { status: "succeeded" });
      // mlp: fold 0 finished with every part; fold 1's epochs, diagnostic and predictions written, its fold row not.
      await store.recordFold(mlp, sampleFold(0), {
        predictions: [samplePredictions(0), { ...samplePredictions(0), split: "validation" }],
        epochs: [{ fold: 0, epoch: 0, trainLoss: 0.7 }],
        diagnostics: [{ fold: 0, kind: "sign-bias", severity: "warning", message: "up" }],
      });
      await store.appendEpochs(mlp, [{ fold: 1, epoch: 0, trainLoss: 0.6 }, { fold: 1, epoch: 1, trainLoss: 0.5 }]);
      await store.appendDiagnostics(mlp, [
        { fold: 1, kind: "nan-loss", severity: "error", message: "NaN" },
        { fold: null, kind: "note", severity: "info", message: "run level" },
      ]);
      await store.appendPredictions(mlp, samplePredictions(1));
      await store.markInterrupted(studyId, INTERRUPTED);
      const interruptedAt = clock.t;
      clock.advance(3_600_000);

      const reopened = await store.reopenStudy(studyId);
      assert.deepStrictEqual(reopened, {
        studyId,
        runs: [{ runId: mlp, entry: "mlp", folds: [0], discarded: { epochs: 2, diagnostics: 1, predictions: 1 } }],
      });
      const study = (await store.getStudy(studyId))!;
      const history = [{ at: clock.t, status: "interrupted", error: INTERRUPTED, finishedAt: interruptedAt }];
      assert.deepStrictEqual(
        [study.status, study.error, study.finishedAt, study.heartbeatAt, study.liveness, study.reopened],
        ["running", null, null, clock.t, "live", history],
      );
      assert.deepStrictEqual(study.runs.map((r) => [r.id, r.status, r.reopened.length]), [[gbm, "succeeded", 0], [
        mlp,
        "running",
        1,
      ]]);
      assert.deepStrictEqual(study.runs[1].reopened, history);
      const run = (await store.getRun(mlp))!;
      assert.deepStrictEqual(run.folds.map((f) => f.index), [0]);
      assert.deepStrictEqual(run.epochs.map((e) => [e.fold, e.epoch]), [[0, 0]]);
      assert.deepStrictEqual(run.diagnostics.map((d) => [d.fold, d.kind]), [[0, "sign-bias"], [null, "note"]]);
      assert.deepStrictEqual(
        (await store.listPredictions([gbm, mlp])).map((p) => [p.runId, p.fold, p.split]),
        [[gbm, 0, "test"], [mlp, 0, "test"], [mlp, 0, "validation"]].sort((a, b) =>
          String(a[0]).localeCompare(String(b[0]))
        ),
      );
      // The resumed run takes the missing fold again, and everything seals as an uninterrupted study would.
      await store.recordFold(mlp, sampleFold(1), {
        predictions: [samplePredictions(1)],
        epochs: [{ fold: 1, epoch: 0, trainLoss: 0.6 }],
      });
      await store.finishRun(mlp, { status: "succeeded" });
      await store.finishStudy(studyId, { status: "succeeded" });
      assert.equal((await store.getStudy(studyId))!.status, "succeeded");
    },
  );

  test("reopen refuses running, succeeded and unknown records; a run of a sealed study needs reopenStudy", async (store) => {
    const { studyId, gbm, mlp } = await studyWithRuns(store);
    await assertRefusedUnchanged(store, () => store.reopenStudy(studyId), /is running; there is nothing to reopen/);
    await assertRefusedUnchanged(store, () => store.reopenRun(gbm), /is running/);
    await store.finishRun(gbm, { status: "succeeded" });
    await assertRefusedUnchanged(store, () => store.reopenRun(gbm), /succeeded; a succeeded run is sealed for good/);
    await store.finishRun(mlp, { status: "failed", error: { message: "boom", stage: "fold", fold: 0 } });
    await store.finishStudy(studyId, { status: "failed", error: { message: "boom" } });
    await assertRefusedUnchanged(
      store,
      () => store.reopenRun(mlp),
      new RegExp(`belongs to study ${studyId}, which is failed; reopen the study with reopenStudy`),
    );
    await assertRefusedUnchanged(
      store,
      () => store.reopenStudy("study_00000000000000000000000000"),
      /unknown study id/,
    );
    await assertRefusedUnchanged(store, () => store.reopenRun("run_00000000000000000000000000"), /unknown run id/);
    // A failed study reopens like an interrupted one, and then a failed run of it can be reopened on its own too.
    assert.deepStrictEqual((await store.reopenStudy(studyId)).runs.map((r) => r.runId), [mlp]);
    await store.finishRun(mlp, { status: "failed", error: { message: "again" } });
    assert.deepStrictEqual(await store.reopenRun(mlp), {
      runId: mlp,
      entry: "mlp",
      folds: [],
      discarded: { epochs: 0, diagnostics: 0, predictions: 0 },
    });
    assert.deepStrictEqual((await store.getRuns([mlp]))[0].reopened.map((r) => [r.status, r.error.message]), [
      ["failed", "boom"],
      ["failed", "again"],
    ]);
    await store.finishRun(mlp, { status: "succeeded" });
    await store.finishStudy(studyId, { status: "succeeded" });
    await assertRefusedUnchanged(store, () => store.reopenStudy(studyId), /succeeded; a succeeded study is sealed/);
  });

  // --- Prediction splits and atomic writes ---

  test("predictions per (fold, split): test by default, validation beside it, listed and filtered by split", async (store) => {
    const id = await store.createRun(sampleRun());
    await store.appendPredictions(id, samplePredictions(0, 4, 1));
    await store.appendPredictions(id, { ...samplePredictions(0, 2, 3), split: "validation" });
    await store.appendPredictions(id, { ...samplePredictions(1, 2, 1), split: "test" });
    const all = await store.listPredictions([id]);
    assert.deepStrictEqual(all.map((p) => [p.fold, p.split, p.width, p.dates.length]), [
      [0, "test", 1, 4],
      [0, "validation", 3, 2],
      [1, "test", 1, 2],
    ]);
    assert.deepStrictEqual(all[1].values, samplePredictions(0, 2, 3).values);
    assert.deepStrictEqual((await store.listPredictions([id], { split: "validation" })).map((p) => p.fold), [0]);
    assert.deepStrictEqual((await store.listPredictions([id], { split: "test" })).map((p) => p.fold), [0, 1]);
    await assertRefusedUnchanged(
      store,
      () => store.appendPredictions(id, { ...samplePredictions(0), split: "validation" }),
      /already has predictions for fold 0 \(split validation\)/,
    );
    await assertRefusedUnchanged(
      store,
      () => store.appendPredictions(id, { ...samplePredictions(2), split: "train" as never }),
      /predictions\.split: expected test \| validation/,
    );
    await assert.rejects(() => store.listPredictions([id], { split: "tail" as never }), StoreError);
  });

  test("recordFold writes a fold with every part, or nothing", async (store) => {
    const id = await store.createRun(sampleRun());
    const parts = {
      predictions: [samplePredictions(0), { ...samplePredictions(0, 2), split: "validation" as const }],
      epochs: [{ fold: 0, epoch: 0, trainLoss: 0.7 }, { fold: 0, epoch: 1, trainLoss: NaN }],
      diagnostics: [{ fold: 0, kind: "sign-bias", severity: "warning" as const, message: "up" }],
    };
    // A part of another fold, a split twice, or a bad part refuses the whole fold.
    for (
      const [bad, message] of [
        [{ ...parts, epochs: [{ fold: 1, epoch: 0, trainLoss: 1 }] }, /parts\.epochs\[0\]\.fold: expected 0/],
        [{ ...parts, diagnostics: [{ ...parts.diagnostics[0], fold: null }] }, /parts\.diagnostics\[0\]\.fold/],
        [{ ...parts, predictions: [samplePredictions(0), samplePredictions(0)] }, /split: expected each split once/],
        [{ ...parts, predictions: [samplePredictions(1)] }, /parts\.predictions\[0\]\.fold: expected 0/],
        [{ ...parts, predictions: [{ ...samplePredictions(0), values: [1, 2, 3, Infinity] }] }, /values\[3\]/],
      ] as const
    ) {
      await assertRefusedUnchanged(store, () => store.recordFold(id, sampleFold(0), bad as never), message);
    }
    // A part that collides with a stored one rolls the fold back too.
    await store.appendEpochs(id, [{ fold: 0, epoch: 1, trainLoss: 1 }]);
    await assertRefusedUnchanged(store, () => store.recordFold(id, sampleFold(0), parts), /already has epoch 1/);
    const other = await store.createRun(sampleRun());
    await store.recordFold(other, sampleFold(0), parts);
    const run = (await store.getRun(other))!;
    assert.deepStrictEqual(run.folds.map((f) => f.index), [0]);
    assert.deepStrictEqual(run.epochs.map((e) => e.epoch), [0, 1]);
    assert.ok(Number.isNaN(run.epochs[1].trainLoss));
    assert.deepStrictEqual(run.diagnostics.map((d) => d.kind), ["sign-bias"]);
    assert.deepStrictEqual((await store.listPredictions([other])).map((p) => p.split), ["test", "validation"]);
    await store.finishRun(other, { status: "succeeded" });
    await assertRefusedUnchanged(store, () => store.recordFold(other, sampleFold(1)), /already succeeded/);
  });

  test("finishRun writes the backtest and diagnostics with the sealing, or nothing", async (store) => {
    const id = await store.createRun(sampleRun());
    await store.putBacktest(id, sampleBacktest({ lag: 2 }));
    await assertRefusedUnchanged(
      store,
      () =>
        store.finishRun(id, { status: "succeeded" }, {
          backtest: sampleBacktest(),
          diagnostics: [{ fold: null, kind: "gate", severity: "bad" as never, message: "x" }],
        }),
      /diagnostics\[0\]\.severity/,
    );
    await store.finishRun(id, { status: "succeeded", summary: { pooled: { accuracy: 0.5 } } }, {
      backtest: sampleBacktest({ lag: 1 }),
      diagnostics: [
        { fold: null, kind: "verdict", severity: "info", message: "edge" },
        { fold: null, kind: "gate", severity: "info", message: "passed" },
      ],
    });
    const run = (await store.getRun(id))!;
    assert.deepStrictEqual([run.status, run.backtest?.lag, run.diagnostics.map((d) => d.kind)], [
      "succeeded",
      1,
      ["verdict", "gate"],
    ]);
  });

  // --- Annotations and deletion ---

  test("tags: added once, listed sorted, filter runs and studies, allowed on sealed records", async (store) => {
    const { studyId, gbm, mlp } = await studyWithRuns(store);
    await store.finishRun(gbm, { status: "succeeded" });
    assert.equal(await store.tag(gbm, "baseline"), true);
    assert.equal(await store.tag(gbm, "baseline"), false);
    assert.equal(await store.tag(gbm, "Zeta"), true);
    assert.equal(await store.tag(gbm, "ab"), true);
    assert.equal(await store.tag(mlp, "ab"), true);
    assert.equal(await store.tag(studyId, "paper v2"), true);
    assert.deepStrictEqual((await store.getRuns([gbm]))[0].tags, ["Zeta", "ab", "baseline"]);
    assert.deepStrictEqual((await store.getRun(mlp))!.tags, ["ab"]);
    assert.deepStrictEqual((await store.getStudy(studyId))!.tags, ["paper v2"]);
    assert.deepStrictEqual((await store.listRuns({ tag: "baseline" })).map((r) => r.id), [gbm]);
    assert.deepStrictEqual((await store.listRuns({ tag: "ab", status: "running" })).map((r) => r.id), [mlp]);
    assert.deepStrictEqual((await store.listStudies({ tag: "paper v2" })).map((s) => s.id), [studyId]);
    assert.deepStrictEqual(await store.listStudies({ tag: "ab" }), []);
    const page = await store.queryRuns({ tags: ["baseline", "nothing"] });
    assert.deepStrictEqual([page.totalCount, page.runs.map((r) => r.id)], [1, [gbm]]);
    assert.equal((await store.queryRuns({ tags: ["ab"] })).totalCount, 2);
    assert.equal(await store.untag(gbm, "Zeta"), true);
    assert.equal(await store.untag(gbm, "Zeta"), false);
    assert.deepStrictEqual((await store.getRuns([gbm]))[0].tags, ["ab", "baseline"]);
    // A sealed run keeps its results while annotated.
    assert.equal((await store.getRun(gbm))!.status, "succeeded");
  });

  test("tags: bad tags, unknown ids and the 101st tag are refused", async (store) => {
    const id = await store.createRun(sampleRun());
    for (const bad of ["", " lead", "trail ", "a\nb", "x".repeat(65), 3 as never]) {
      await assertRefusedUnchanged(store, () => store.tag(id, bad), /tag: expected 1–64 characters/);
    }
    await assertRefusedUnchanged(store, () => store.tag("run_00000000000000000000000000", "x"), /unknown run id/);
    await assertRefusedUnchanged(store, () => store.untag("study_00000000000000000000000000", "x"), /unknown study/);
    for (let i = 0; i < 100; i++) await store.tag(id, `t${String(i).padStart(3, "0")}`);
    await assertRefusedUnchanged(store, () => store.tag(id, "one more"), /already has 100 tags/);
    assert.equal(await store.tag(id, "t000"), false);
  });

  test("notes and study names: set, cleared, bounded, allowed on sealed records", async (store) => {
    const { studyId, gbm } = await studyWithRuns(store);
    await store.markInterrupted(studyId, INTERRUPTED);
    await store.setNote(gbm, "seed 7 diverged; see fold 2");
    await store.setNote(studyId, "first try");
    await store.renameStudy(studyId, "gbm vs mlp, 2026");
    let study = (await store.getStudy(studyId))!;
    assert.deepStrictEqual([study.note, study.name, study.runs[0].note, study.runs[1].note], [
      "first try",
      "gbm vs mlp, 2026",
      "seed 7 diverged; see fold 2",
      null,
    ]);
    await store.setNote(gbm, null);
    await store.setNote(studyId, "");
    await store.renameStudy(studyId, null);
    study = (await store.getStudy(studyId))!;
    assert.deepStrictEqual([study.note, study.name, study.runs[0].note, study.status], [
      null,
      null,
      null,
      "interrupted",
    ]);
    await assertRefusedUnchanged(store, () => store.setNote(gbm, "x".repeat(10_001)), /note: expected a string/);
    await assertRefusedUnchanged(store, () => store.renameStudy(studyId, ""), /name: expected 1–200 characters/);
    await assertRefusedUnchanged(store, () => store.renameStudy(gbm, "x"), /unknown study id/);
    await assertRefusedUnchanged(store, () => store.setNote("run_00000000000000000000000000", "x"), /unknown run id/);
  });

  test("deleteRun and deleteStudy remove every part in one transaction; running and unknown records are refused", async (store) => {
    const { studyId, gbm, mlp } = await studyWithRuns(store);
    const keep = await store.createStudy(sampleStudy());
    const kept = await store.createRun(sampleRun({ studyId: keep, entry: "gbm" }));
    for (const id of [gbm, kept]) {
      await store.recordFold(id, sampleFold(0), {
        predictions: [samplePredictions(0)],
        epochs: [{ fold: 0, epoch: 0, trainLoss: 1 }],
        diagnostics: [{ fold: 0, kind: "k", severity: "info", message: "m" }],
      });
      await store.finishRun(id, { status: "succeeded" }, { backtest: sampleBacktest() });
      await store.tag(id, "x");
    }
    await assertRefusedUnchanged(store, () => store.deleteRun(mlp), /is running; mark it interrupted first/);
    await assertRefusedUnchanged(store, () => store.deleteStudy(studyId), /is running; mark it interrupted first/);
    await assertRefusedUnchanged(store, () => store.deleteRun("run_00000000000000000000000000"), /unknown run id/);
    await store.deleteRun(gbm);
    assert.deepStrictEqual(await store.getRuns([gbm]), []);
    for (
      const parts of await Promise.all([
        store.listFolds([gbm]),
        store.listEpochs([gbm]),
        store.listDiagnostics([gbm]),
        store.listBacktests([gbm]),
        store.listPredictions([gbm]),
      ])
    ) assert.deepStrictEqual(parts, []);
    assert.deepStrictEqual((await store.listRuns({ tag: "x" })).map((r) => r.id), [kept]);
    await store.markInterrupted(studyId, INTERRUPTED);
    await store.tag(studyId, "gone");
    await store.deleteStudy(studyId);
    assert.equal(await store.getStudy(studyId), undefined);
    assert.deepStrictEqual(await store.getRuns([mlp]), []);
    assert.deepStrictEqual(await store.listStudies({ tag: "gone" }), []);
    // The other study and its run are untouched.
    const other = (await store.getRun(kept))!;
    assert.deepStrictEqual([other.folds.length, other.epochs.length, other.backtest?.lag, other.tags], [1, 1, 1, [
      "x",
    ]]);
    assert.equal((await store.listPredictions([kept])).length, 1);
  });
}
