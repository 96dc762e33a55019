import assert from "node:assert/strict";
import { join } from "node:path";
import { configurationGate, runPipeline } from "../../lib/pipeline/run.ts";
import { LeakageError } from "../../lib/errors.ts";
import { openStore } from "../../lib/store/mod.ts";
import { walkForwardSplits } from "../../lib/validation/walk_forward.ts";
import { businessDays } from "../features/_panels.ts";

const FAST_MODEL = { numBoostRound: 60, earlyStoppingRounds: 10 };

Deno.test("pipeline: the configuration gate checks every fold's fit and early-stopping tail, all ok, stored with the run", async () => {
  const dir = await Deno.makeTempDir();
  const store = openStore(join(dir, "runs.db"));
  try {
    const r = await runPipeline(
      {
        data: { kind: "synthetic", symbols: 3, days: 400, mode: "random-walk" },
        folds: 3,
        horizon: 2,
        model: FAST_MODEL,
      },
      { store },
    );
    const checks = r.configurationChecks;
    // One purge check plus, per fold, the model fit and the early-stopping tail.
    assert.equal(checks.length, 1 + 2 * 3);
    assert.ok(checks.every((c) => c.verdict === "ok"), checks.map((c) => `${c.subject}: ${c.reason}`).join("\n"));
    assert.equal(checks.find((c) => c.check === "purge")!.reason, "purge 2 ≥ horizon 2");
    for (const f of r.folds) {
      const fit = checks.find((c) => c.subject === `model fit (fold ${f.index})`);
      assert.ok(fit, `fold ${f.index} fit checked`);
      // The fit window is the span of the rows trained on: from the first training date to the end of the fit part.
      assert.equal(fit.reason, `fitted on ${f.fold.train[0].start}..${f.fold.train.at(-1)!.end}, inside training`);
      assert.ok(checks.some((c) => c.subject === `early-stopping tail (fold ${f.index})`));
    }
    const stored = await store.getRun(r.runId!);
    assert.deepEqual(stored?.summary?.configurationChecks, checks);
  } finally {
    await store.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("configurationGate refuses a fit reaching into the test window and a purge shorter than the horizon", () => {
  const dates = businessDays(300);
  const folds = walkForwardSplits(dates, { folds: 3, horizon: 5, validation: 0.2 });
  const span = (idx: Int32Array) => ({ start: dates[idx[0]], end: dates[idx[idx.length - 1]] });
  const honest = folds.flatMap((f) => [
    { name: "model fit", fold: f.index, window: span(f.trainIndices) },
    { name: "early-stopping tail", fold: f.index, window: span(f.validationIndices!) },
  ]);
  assert.ok(configurationGate(5, folds, honest).every((c) => c.verdict === "ok"));

  // A "scaler" fitted on every date up to the end of fold 1's test window: test information reaches training.
  const last = folds[1].test.at(-1)!.end;
  const leaky = [...honest, { name: "scaler", fold: 1, window: { start: dates[0], end: last } }];
  assert.throws(
    () => configurationGate(5, folds, leaky),
    (e) =>
      e instanceof LeakageError && e.message.includes("scaler (fold 1)") &&
      e.message.includes(`fitted on ${dates[0]}..${last}`) && /overlapping the test window/.test(e.message),
  );

  // Folds claiming a purge of 3 for 5-day labels.
  const shortPurge = folds.map((f) => ({ ...f, purge: 3 }));
  assert.throws(
    () => configurationGate(5, shortPurge, honest),
    (e) => e instanceof LeakageError && /purge 3 < horizon 5/.test(e.message),
  );
});
