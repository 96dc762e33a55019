/**
 * The boosting loop on a thread of its own (`boostOffThread`, what a study uses to train folds side by side) against
 * the same loop on the calling thread (`boost`): the booster must be the same, bit for bit — with row and column
 * subsampling on, so that XGBoost's random engine (one per thread) is exercised — and the thread's failures,
 * interruptions and memory hand-over must behave as documented.
 */
import assert from "node:assert/strict";
import { boost, boostOffThread, type BoostSpec } from "../../lib/models/xgboost/boost.ts";
import { PredictType } from "../../lib/models/xgboost/booster.ts";
import { XGBoostModel } from "../../lib/models/xgboost/model.ts";
import { takeRows } from "../../lib/data/matrix.ts";
import { XGBoostError } from "../../lib/models/xgboost/library.ts";
import { classification } from "./_synthetic.ts";

const range = (a: number, b: number) => Array.from({ length: b - a }, (_, i) => a + i);
const { X, label } = classification(3000, 6, 17, 0.3, 0.1);
const PARAMS: Array<[string, string]> = [
  ["objective", "binary:logistic"],
  ["tree_method", "hist"],
  ["max_depth", "3"],
  ["eta", "0.1"],
  ["subsample", "0.7"],
  ["colsample_bytree", "0.6"],
  ["nthread", "1"],
  ["seed", "9"],
];

/** A fresh spec (the off-thread loop takes its arrays over). */
function spec(rounds = 200): BoostSpec {
  return {
    X: takeRows(X, range(0, 2000)),
    label: label.slice(0, 2000),
    validation: { X: takeRows(X, range(2000, 2500)), label: label.slice(2000, 2500) },
    params: PARAMS,
    rounds,
    earlyStopping: 15,
    given: ["max_depth", "eta", "subsample", "colsample_bytree", "max_dept"],
    trainPredictions: true,
  };
}

const test = takeRows(X, range(2500, 3000));

Deno.test("boost off thread: the same booster as on this thread, bit for bit, also on a reused thread", async () => {
  const here = await boost(spec());
  try {
    const expected = here.booster.predictDense(test, PredictType.margin).values;
    assert.ok(here.bestIteration > 5 && here.bestIteration < 200, `best iteration ${here.bestIteration}`);
    assert.deepEqual(here.unused, ["max_dept"]);
    for (let run = 0; run < 2; run++) { // the second run reuses the first one's idle thread
      const there = await boostOffThread(spec());
      try {
        assert.equal(there.bestIteration, here.bestIteration);
        assert.equal(there.bestScore, here.bestScore);
        assert.equal(there.metric, "logloss");
        assert.deepEqual(there.history, here.history);
        assert.deepEqual(there.unused, here.unused);
        assert.deepEqual(there.trainPredictions, here.trainPredictions);
        assert.deepEqual(there.booster.predictDense(test, PredictType.margin).values, expected);
        assert.equal(there.booster.boostedRounds(), here.bestIteration);
        assert.deepEqual(there.booster.toJSONBytes(), here.booster.toJSONBytes());
        // The configuration came along: the rebuilt booster trains on with the same parameters.
        const config = there.booster.jsonConfig() as { learner: { generic_param: { seed: string } } };
        assert.equal(config.learner.generic_param.seed, "9");
      } finally {
        there.booster.free();
      }
    }
  } finally {
    here.booster.free();
  }
});

Deno.test("boost off thread: a throwing progress callback stops the thread and rejects with its error", async () => {
  const seen: number[] = [];
  const stop = new Error("stop here");
  await assert.rejects(
    () =>
      boostOffThread(spec(), (i) => {
        seen.push(i);
        if (i === 3) throw stop;
      }),
    (e: unknown) => e === stop,
  );
  assert.deepEqual(seen.slice(0, 4), [0, 1, 2, 3]);
  // A stopped thread is not reused; the next loop gets a working one.
  const after = await boostOffThread(spec(5));
  assert.equal(after.booster.boostedRounds(), after.bestIteration);
  after.booster.free();
});

Deno.test("boost off thread: XGBoost's refusal comes back with its own message", async () => {
  const bad = { ...spec(3), params: [...PARAMS, ["max_depth", "abc"]] as Array<[string, string]> };
  await assert.rejects(
    () => boostOffThread(bad),
    (e: unknown) =>
      e instanceof XGBoostError && /UpdateOneIter failed: .*Invalid Parameter format for max_depth/.test(e.message),
  );
});

Deno.test("boost off thread: X is copied unless moved; labels are handed over", async () => {
  const copied = spec(3);
  (await boostOffThread(copied)).booster.free();
  assert.equal(copied.X.data.length, 2000 * 6, "X copied: still usable");
  assert.equal(copied.label.length, 0, "labels handed over: detached here");
  const moved = spec(3);
  (await boostOffThread(moved, undefined, { moveX: true })).booster.free();
  assert.equal(moved.X.data.length, 0, "X moved: detached here");
});

Deno.test("XGBoostModel.fit with ownThread: the same model; the caller's X survives unless moveX", async () => {
  const options = {
    params: { objective: "binary:logistic", max_depth: 3, eta: 0.1, subsample: 0.7, nthread: 1, seed: 4 },
    numBoostRound: 100,
    earlyStoppingRounds: 10,
  };
  const fitX = takeRows(X, range(0, 2000)), y = label.subarray(0, 2000);
  const validation = { X: takeRows(X, range(2000, 2500)), y: label.subarray(2000, 2500) };
  const here = new XGBoostModel(options), there = new XGBoostModel(options);
  const a = await here.fit(fitX, y, { validation });
  const b = await there.fit(fitX, y, { validation, ownThread: true });
  assert.equal(b.bestIteration, a.bestIteration);
  assert.deepEqual(b.details?.trainPositiveShare, a.details?.trainPositiveShare);
  assert.deepEqual(there.predict(test), here.predict(test));
  assert.equal(fitX.data.length, 2000 * 6);
  assert.equal(y.length, 2000, "the caller's labels are copied before they are handed over");
  const moved = takeRows(X, range(0, 2000));
  await there.fit(moved, y, { validation, ownThread: true, moveX: true });
  assert.equal(moved.data.length, 0);
  assert.deepEqual(there.predict(test), here.predict(test));
  here.dispose();
  there.dispose();
  // SHAP selection's preliminary booster boosts on the fit's own thread too: the same columns, the same model, and
  // the caller's X (which the preliminary booster reads) intact.
  const selecting = { ...options, selectTopK: 3 };
  const a3 = new XGBoostModel(selecting), b3 = new XGBoostModel(selecting);
  const ra = await a3.fit(fitX, y, { validation });
  const rb = await b3.fit(fitX, y, { validation, ownThread: true });
  assert.deepEqual(rb.details?.selectedColumns, ra.details?.selectedColumns);
  assert.equal((ra.details?.selectedColumns as number[]).length, 3);
  assert.deepEqual(b3.predict(test), a3.predict(test));
  assert.equal(fitX.data.length, 2000 * 6);
  a3.dispose();
  b3.dispose();
});

Deno.test({
  name: "boost off thread: a stopped loop ends after its round in progress; its core is free at once",
  ignore: Deno.build.os !== "linux", // reads the process's CPU time from /proc
  async fn() {
    // A loop of 100,000 rounds (minutes) stopped at its third round; then the process's CPU time over the next second
    // of waiting. Deno's Worker.terminate alone leaves the loop running on its core (measured on a quiet machine: 1.01 s
    // of CPU in that second, against 0.02 s with the stop flag).
    const code = `
      import { boostOffThread } from "${new URL("../../lib/models/xgboost/boost.ts", import.meta.url).href}";
      const rows = 20000, cols = 8;
      let s = 1;
      const data = Float32Array.from({ length: rows * cols }, () => (s = (s * 16807) % 2147483647) / 2147483647);
      const label = Float32Array.from({ length: rows }, (_, i) => (data[i * cols] > 0.5 ? 1 : 0));
      const cpu = () => {
        const f = Deno.readTextFileSync("/proc/self/stat").split(") ")[1].split(" ");
        return (Number(f[11]) + Number(f[12])) / 100;
      };
      const error = await boostOffThread(
        { X: { data, rows, cols }, label, params: [["nthread", "1"], ["max_depth", "6"]], rounds: 100000, given: [],
          trainPredictions: false },
        (i) => { if (i === 2) throw new Error("stop"); },
      ).then(() => "resolved", (e) => e.message);
      const before = cpu();
      await new Promise((r) => setTimeout(r, 1000));
      console.log(JSON.stringify({ error, busy: cpu() - before }));
      Deno.exit(0);
    `;
    const out = await new Deno.Command(Deno.execPath(), { args: ["eval", code], stdout: "piped", stderr: "piped" })
      .output();
    const text = new TextDecoder().decode(out.stdout).trim();
    assert.ok(out.success, new TextDecoder().decode(out.stderr));
    const { error, busy } = JSON.parse(text.split("\n").at(-1)!);
    assert.equal(error, "stop");
    assert.ok(busy < 0.25, `the process used ${busy} s of CPU in the second after the loop was stopped`);
  },
});

Deno.test("boost: the kept rounds' training predictions (read from cache snapshots) equal a fresh prediction", async () => {
  // The loop copies the training rows' margins from XGBoost's prediction cache whenever the tail score improves and
  // has XGBoost transform the last copy; a copy taken after a round that was not kept, a round added on top, or a
  // cache that is not a plain sum of trees (dart) would show here against XGBoost's in-place prediction of the cut
  // booster from the values.
  const { X: all, label: y, target } = classification(4000, 6, 31, 0.35, 0.1);
  const fit = takeRows(all, range(0, 3200)), tail = takeRows(all, range(3200, 4000));
  const cases: Array<{ name: string; params: Array<[string, string]>; regression?: boolean; patience?: number }> = [
    { name: "hist, subsampled", params: [["tree_method", "hist"], ["subsample", "0.7"], ["colsample_bytree", "0.6"]] },
    { name: "hist, patience 3", params: [["tree_method", "hist"], ["eta", "0.3"]], patience: 3 },
    { name: "approx", params: [["tree_method", "approx"], ["subsample", "0.8"]] },
    { name: "exact, squared error", params: [["tree_method", "exact"]], regression: true },
    { name: "hist, squared error", params: [["tree_method", "hist"], ["max_depth", "5"]], regression: true },
    { name: "two trees a round", params: [["tree_method", "hist"], ["num_parallel_tree", "2"], ["subsample", "0.6"]] },
    { name: "dart", params: [["tree_method", "hist"], ["booster", "dart"], ["rate_drop", "0.1"]] },
  ];
  let cut = 0;
  for (const c of cases) {
    for (const seed of ["1", "2"]) {
      const objective = c.regression ? "reg:squarederror" : "binary:logistic";
      const labels = c.regression ? target : y;
      const out = await boost({
        X: fit,
        label: labels.slice(0, 3200),
        weight: Float32Array.from({ length: 3200 }, (_, i) => 0.5 + (i % 7) / 7),
        validation: { X: tail, label: labels.slice(3200) },
        params: [
          ["objective", objective],
          ["max_depth", "3"],
          ["eta", "0.1"],
          ["nthread", "1"],
          ["seed", seed],
          ...c.params,
        ],
        rounds: 150,
        earlyStopping: c.patience ?? 10,
        given: [],
        trainPredictions: true,
      });
      if (out.bestIteration < out.history.length) cut++;
      assert.deepEqual(out.trainPredictions, out.booster.predictDense(fit).values, `${c.name}, seed ${seed}`);
      out.booster.free();
    }
  }
  assert.ok(cut >= 10, `early stopping cut rounds in ${cut} of 14 loops`);
  // No early stopping: every round kept, the cache read as is.
  const out = await boost({ ...spec(30), validation: undefined, earlyStopping: undefined });
  assert.equal(out.bestIteration, 30);
  assert.deepEqual(out.trainPredictions, out.booster.predictDense(takeRows(X, range(0, 2000))).values);
  out.booster.free();
});
