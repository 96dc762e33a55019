/**
 * Neural entries in a study: every epoch, every training-health diagnostic and the backend are stored; the scaler
 * sees the fitting rows only; LSTM rows without enough history are dropped, never predicted; training is seeded.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { runStudy, type StudyResult } from "../../lib/pipeline/study.ts";
import { openStore } from "../../lib/store/mod.ts";
import type { Store } from "../../lib/store/store.ts";
import type { NeuralFoldReport } from "../../lib/pipeline/trainers/neural.ts";

// CI-sized: 4 symbols × 400 days, 2 folds, 3 epochs, tiny networks.
const TINY = { synthetic: { symbols: 4, days: 400, mode: "planted", seed: 5 } };
const T = 5;
const MLP = { name: "mlp", kind: "mlp", settings: { hidden: [8], epochs: 3, patience: 2, batchSize: 64 } };
const LSTM = {
  name: "lstm",
  kind: "lstm",
  settings: { timesteps: T, units: 8, epochs: 3, patience: 2, batchSize: 64 },
};
const HEALTH_KINDS = [
  "non-finite",
  "variance-collapse",
  "sign-bias",
  "loss-imbalance",
  "input-scale",
  "training-health",
];

async function withStore<R>(fn: (store: Store) => Promise<R>): Promise<R> {
  const dir = await Deno.makeTempDir({ prefix: "candor-neural-" });
  const store = openStore(join(dir, "runs.db"));
  try {
    return await fn(store);
  } finally {
    await store.close();
    await Deno.remove(dir, { recursive: true });
  }
}

/** What every stored neural entry must hold, checked against the study's report. */
async function checkStoredNeural(store: Store, r: StudyResult, name: string, lr: number): Promise<void> {
  const e = r.report.entries.find((x) => x.name === name)!;
  const run = (await store.getRun(e.runId!))!;
  assert.equal(run.status, "succeeded");
  assert.ok(["wasm", "cpu", "tensorflow"].includes(run.backend!), `backend ${run.backend}`);
  assert.equal(run.backend, e.backend);
  assert.equal(run.folds.length, 2);
  for (const f of run.folds) {
    const report = f.fitReport as unknown as NeuralFoldReport;
    const res = e.folds[f.index];
    assert.equal(report.backend.name, run.backend);
    assert.deepEqual(f.metrics, res.metrics);
    assert.equal(f.baselines.coinFlip, 0.5);
    // Epochs: one per trained epoch, numbered 0.., with the fit's losses and gradient statistics.
    const epochs = run.epochs.filter((x) => x.fold === f.index);
    const trained = report.iterations!;
    assert.ok(trained >= 1 && trained <= 3, `epochs run ${trained}`);
    assert.deepEqual(epochs.map((x) => x.epoch), Array.from({ length: trained }, (_, i) => i));
    for (const x of epochs) {
      assert.ok(Number.isFinite(x.trainLoss) && x.trainLoss > 0);
      assert.ok(Number.isFinite(x.valLoss!) && x.valLoss! > 0);
      assert.ok(x.gradNorm! > 0);
      assert.ok(x.clipRatio! >= 0 && x.clipRatio! <= 1);
      assert.equal(x.lr, lr);
      assert.equal(x.extra!.nonFinite, 0);
      assert.ok(x.extra!.macroF1 === undefined || (Number(x.extra!.macroF1) >= 0 && Number(x.extra!.macroF1) <= 1));
      // The loss as logged and each component's weight survive the store: Σ weight · component = the training loss.
      const parts = x.extra!.lossComponents as Record<string, number>;
      const weights = x.extra!.lossWeights as Record<string, number>;
      assert.deepEqual(Object.keys(weights), Object.keys(parts));
      const total = Object.entries(parts).reduce((a, [k, c]) => a + weights[k] * c, 0);
      assert.ok(Math.abs(total - x.trainLoss) <= 1e-5 * x.trainLoss, `Σ w·c ${total} vs ${x.trainLoss}`);
    }
    assert.ok(epochs.some((x) => typeof x.extra!.macroF1 === "number"), "binary classifiers log macro-F1 per epoch");
    // Restore-best: the best epoch (1-based) is the one with the lowest stored validation loss.
    const minVal = Math.min(...epochs.map((x) => x.valLoss!));
    assert.equal(epochs[res.bestIteration! - 1].valLoss, minVal);
    // Diagnostics: one record per health category (info when healthy), the input-scale audit and the verdict.
    const diags = run.diagnostics.filter((d) => d.fold === f.index);
    for (const k of HEALTH_KINDS) assert.ok(diags.some((d) => d.kind === k), `fold ${f.index}: ${k}`);
    // The fold's health: the training verdict, then a finding on the test calls (constant, else one-sided) if any.
    const verdict = diags.find((d) => d.kind === "training-health")!;
    const finding = ["prediction-spread", "up-share"]
      .map((k) => diags.find((d) => d.kind === k && d.severity === "warning")?.message).find((m) => m !== undefined);
    const expected = finding === undefined
      ? verdict.message
      : verdict.message === "healthy"
      ? finding
      : `${verdict.message}; ${finding}`;
    assert.equal(res.health, expected);
    // The scaler saw the fitting period only: its windows end before the tail and the test window begin.
    const planned = r.plan.folds[f.index];
    assert.equal(report.scaling.scaler.rows, planned.rows.fit.length);
    const lastScaled = report.scaling.scaler.windows.at(-1)!.end;
    assert.ok(lastScaled < planned.fold.validation![0].start);
    assert.ok(lastScaled < planned.fold.test[0].start);
    // The fold's accuracy from its stored predictions.
    const [pred] = await store.listPredictions([run.id]).then((p) => p.filter((x) => x.fold === f.index));
    let hits = 0;
    pred.values.forEach((p, i) => {
      const row = planned.rows.test.find((rw) =>
        r.data.dates[rw] === pred.dates[i] && r.data.symbols[rw] === pred.symbols[i]
      );
      hits += (p > 0.5) === (r.data.target[row!] > 0) ? 1 : 0;
    });
    assert.ok(Math.abs(hits / pred.values.length - f.metrics.accuracy) < 1e-12);
  }
}

Deno.test("study mlp and lstm: epochs, diagnostics, backend and predictions stored; scaler on fitting rows only", async () => {
  await withStore(async (store) => {
    const r = await runStudy({ data: TINY, validation: { folds: 2 }, models: [MLP, LSTM] }, { store });
    await checkStoredNeural(store, r, "mlp", 1e-3);
    await checkStoredNeural(store, r, "lstm", 2e-3);
  });
});

Deno.test("study lstm: rows without T days of history are dropped from fitting (never predicted 0.5), not from test", async () => {
  const r = await runStudy({ data: TINY, validation: { folds: 2 }, models: [LSTM, { kind: "logistic" }] });
  const lstm = r.report.entries[0], logistic = r.report.entries[1];
  for (const f of lstm.folds) {
    const report = f.fit as unknown as NeuralFoldReport;
    // Every symbol starts on the first date, inside the fitting period: its first T − 1 rows have no full window.
    assert.deepEqual(report.sequence!.dropped, { fit: 4 * (T - 1), validation: 0, test: 0 });
    assert.equal(f.nTrain, logistic.folds[f.index].nTrain - 4 * (T - 1));
    assert.equal(f.nTest, logistic.folds[f.index].nTest);
    assert.equal(report.scaling.scaler.rows, logistic.folds[f.index].nTrain, "the scaler saw every fitting row");
  }
});

Deno.test("neural studies are seeded: the same config gives the same predictions, another seed others", async () => {
  const config = {
    data: TINY,
    validation: { folds: 2 },
    models: [{ ...MLP, settings: { ...MLP.settings, epochs: 2 } }],
  };
  const a = await runStudy(config);
  const b = await runStudy(config);
  assert.deepEqual(a.predictions.get("mlp")!.scores, b.predictions.get("mlp")!.scores);
  const c = await runStudy({ ...config, seed: 6 });
  assert.notDeepEqual(a.predictions.get("mlp")!.scores, c.predictions.get("mlp")!.scores);
});

Deno.test("neural schedules and clipping are settings of every neural kind", async () => {
  const r = await runStudy({
    data: TINY,
    validation: { folds: 2 },
    models: [{
      kind: "mlp",
      settings: { epochs: 3, patience: 5, schedule: { kind: "step", stepEpochs: 1, gamma: 0.5 }, clipNorm: null },
    }],
  });
  // Step decay halves the rate each epoch: 1e-3, 5e-4, 2.5e-4 (the epochs' stored learning rates).
  const e = r.report.entries[0];
  assert.equal(e.settings.clipNorm, null);
  assert.ok(e.folds.every((f) => (f.fit as unknown as NeuralFoldReport).iterations === 3));
});

Deno.test("stopOn: a neural entry stops when the sign-bias monitor confirms a one-sided model (bull market)", async () => {
  const config = (stopOn: string[]) => ({
    data: { synthetic: { symbols: 4, days: 500, mode: "random-walk", drift: 0.008, seed: 3 } },
    target: { horizon: 5 },
    validation: { folds: 2 },
    models: [{ kind: "mlp", settings: { hidden: [8], epochs: 40, patience: 40, stopOn } }],
  });
  const stopped = (await runStudy(config(["sign-bias"]))).report.entries[0];
  const free = (await runStudy(config([]))).report.entries[0];
  for (const f of stopped.folds) {
    const fit = f.fit as unknown as NeuralFoldReport;
    assert.equal(fit.stopReason, "monitor", `fold ${f.index}: ${fit.stopReason}`);
    assert.ok(fit.iterations! < 40, `fold ${f.index}: ${fit.iterations} epochs, ${f.health}`);
    assert.match(f.health, /sign bias/);
  }
  for (const f of free.folds) assert.equal((f.fit as unknown as NeuralFoldReport).iterations, 40);
});
