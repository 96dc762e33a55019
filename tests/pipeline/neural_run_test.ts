import assert from "node:assert/strict";
import { join } from "node:path";
import { type PipelineResult, runPipeline } from "../../lib/pipeline/run.ts";
import { DEFAULT_NEURAL, resolveConfig, resolveModel } from "../../lib/pipeline/config.ts";
import { openStore } from "../../lib/store/mod.ts";
import type { Run, Store } from "../../lib/store/store.ts";
import { ConfigError } from "../../lib/errors.ts";
import { candor } from "../_helpers/candor_cli.ts";

// CI-sized: 4 symbols × 400 days, 2 folds, 3 epochs, tiny networks.
const TINY = { kind: "synthetic" as const, symbols: 4, days: 400, mode: "planted" as const, seed: 5 };
const MLP = { kind: "mlp" as const, hidden: [8], epochs: 3, patience: 2, batchSize: 64 };
const T = 5;
const LSTM = { kind: "lstm" as const, timesteps: T, units: 8, epochs: 3, patience: 2, batchSize: 64 };
const HEALTH_KINDS = [
  "non-finite",
  "variance-collapse",
  "sign-bias",
  "loss-imbalance",
  "input-scale",
  "training-health",
];

async function withStore<T>(fn: (store: Store) => Promise<T>): Promise<T> {
  const dir = await Deno.makeTempDir({ prefix: "candor-neural-" });
  const store = openStore(join(dir, "runs.db"));
  try {
    return await fn(store);
  } finally {
    await store.close();
    await Deno.remove(dir, { recursive: true });
  }
}

/** What every stored neural run must hold, checked against the result and the fit reports. */
function checkStoredNeuralRun(r: PipelineResult, stored: Run, kind: "mlp" | "lstm"): void {
  assert.equal(stored.status, "succeeded");
  assert.equal(stored.model, kind);
  assert.ok(r.backend === "wasm" || r.backend === "cpu" || r.backend === "tensorflow", `backend ${r.backend}`);
  assert.equal(stored.backend, r.backend);
  assert.equal(stored.summary!.backend, r.backend);
  assert.equal((stored.config.model as { kind: string }).kind, kind);
  assert.equal(stored.folds.length, 2);
  for (const f of stored.folds) {
    const res = r.folds[f.index];
    const report = f.fitReport as Record<string, unknown>;
    assert.equal(report.backend, r.backend);
    assert.ok(Array.isArray(report.backendPatches));
    // Fold metrics beside their baselines, on the same rows.
    assert.deepEqual(f.metrics, res.metrics);
    assert.equal(f.baselines.coinFlip, 0.5);
    assert.ok(f.baselines.majorityClass >= 0 && f.baselines.majorityClass <= 1);
    assert.equal(f.nTest, res.nTest);

    // Epochs: one per trained epoch, numbered 0.., with the fit's losses and gradient statistics.
    const epochs = stored.epochs.filter((e) => e.fold === f.index);
    const run = report.epochsRun as number;
    assert.ok(run >= 1 && run <= 3, `epochs run ${run}`);
    assert.deepEqual(epochs.map((e) => e.epoch), Array.from({ length: run }, (_, i) => i));
    for (const e of epochs) {
      assert.ok(Number.isFinite(e.trainLoss) && e.trainLoss > 0);
      assert.ok(Number.isFinite(e.valLoss!) && e.valLoss! > 0);
      assert.ok(e.gradNorm! > 0);
      assert.ok(e.clipRatio! >= 0 && e.clipRatio! <= 1);
      assert.equal(e.lr, 1e-3 * (kind === "lstm" ? 2 : 1));
      assert.equal(e.extra!.nonFinite, 0);
      assert.ok((e.extra!.gradNormMax as number) >= e.gradNorm!);
    }
    // Restore-best: the best epoch (1-based) is the one with the lowest stored validation loss.
    const best = res.bestIteration!;
    const minVal = Math.min(...epochs.map((e) => e.valLoss!));
    assert.equal(epochs[best - 1].valLoss, minVal);
    if (report.stopReason === "early-stopping") assert.equal(run, best + 2, "patience 2");

    // Diagnostics: one record per health category (info when healthy), the input-scale audit and the verdict.
    const diags = stored.diagnostics.filter((d) => d.fold === f.index);
    for (const k of HEALTH_KINDS) assert.ok(diags.some((d) => d.kind === k), `fold ${f.index}: ${k}`);
    assert.ok(diags.some((d) => ["gradient-health", "gradient-explosion", "clipping"].includes(d.kind)));
    const verdict = diags.find((d) => d.kind === "training-health")!;
    assert.equal(verdict.message, res.health);
    assert.equal(verdict.severity, res.health === "healthy" ? "info" : "warning");
    if (res.health !== "healthy") {
      assert.ok(r.warnings.includes(`fold ${f.index + 1} training health: ${res.health}`));
    }
    // Standardized inputs are on the unit scale.
    assert.equal(diags.find((d) => d.kind === "input-scale")!.severity, "info");

    // The scaler was fitted on exactly the fold's fitting period, and the gate checked that window.
    const fitWindow = { start: res.fold.train[0].start, end: res.fold.train.at(-1)!.end };
    const scaler = report.scaler as { kind: string; window: { start: string; end: string }; rows: number };
    assert.equal(scaler.kind, "standard");
    assert.deepEqual(scaler.window, fitWindow);
    const check = r.configurationChecks.find((c) => c.subject === `standard scaler (fold ${f.index})`)!;
    assert.equal(check.verdict, "ok");
    assert.equal(check.reason, `fitted on ${fitWindow.start}..${fitWindow.end}, inside training`);
    // It ends before the early-stopping tail and the test window begin.
    assert.ok(scaler.window.end < res.fold.validation![0].start);
    assert.ok(scaler.window.end < res.fold.test[0].start);
  }
  // One run-level walk-forward-efficiency diagnostic.
  assert.equal(stored.diagnostics.filter((d) => d.kind === "walk-forward-efficiency" && d.fold === null).length, 1);
}

/** Each fold's accuracy recomputed from its slice of the stitched predictions (folds are stitched in order). */
function checkFoldAccuracies(r: PipelineResult): void {
  let k = 0;
  for (const f of r.folds) {
    let hits = 0;
    for (let i = k; i < k + f.nTest; i++) {
      const p = r.predictions.probability[i];
      assert.ok(p > 0 && p < 1, `P(up) ${p}`);
      hits += (p > 0.5) === (r.predictions.target[i] > 0) ? 1 : 0;
    }
    assert.ok(Math.abs(hits / f.nTest - f.metrics.accuracy) < 1e-12);
    k += f.nTest;
  }
  assert.equal(k, r.predictions.probability.length);
}

/** Runs `model` on TINY (2 folds) into `store`; checks what every stored neural run holds and each fold's accuracy. */
async function runCheckedNeural(store: Store, model: typeof MLP | typeof LSTM): Promise<PipelineResult> {
  const r = await runPipeline({ data: TINY, folds: 2, model }, { store });
  const stored = (await store.getRun(r.runId!))!;
  checkStoredNeuralRun(r, stored, model.kind);
  checkFoldAccuracies(r);
  return r;
}

Deno.test("pipeline mlp: epochs, diagnostics and backend are stored; the scaler window passes the gate", async () => {
  await withStore(async (store) => {
    const r = await runCheckedNeural(store, MLP);
    for (const f of r.folds) {
      // The MLP predicts every row: the scaler saw exactly the rows the model was fitted on.
      assert.equal((f.fitReport.scaler as { rows: number }).rows, f.nTrain);
    }
  });
});

Deno.test("pipeline lstm: rows without T days of history are dropped, never predicted; health is stored", async () => {
  await withStore(async (store) => {
    const r = await runCheckedNeural(store, LSTM);
    const xgb = await runPipeline({ data: TINY, folds: 2, model: { numBoostRound: 20, earlyStoppingRounds: 5 } });
    for (const f of r.folds) {
      const dropped = f.fitReport.droppedWithoutHistory as Record<string, number>;
      // Every symbol starts on the first date, inside the fitting period: its first T − 1 rows have no full window.
      assert.equal(dropped.fit, TINY.symbols * (T - 1));
      assert.equal(dropped.validation, 0);
      assert.equal(dropped.test, 0);
      assert.equal(f.nTrain, xgb.folds[f.index].nTrain - TINY.symbols * (T - 1));
      assert.equal(f.nTest, xgb.folds[f.index].nTest);
      // The scaler was fitted on all fitting rows, including those too early for a window.
      assert.equal((f.fitReport.scaler as { rows: number }).rows, xgb.folds[f.index].nTrain);
    }
  });
});

Deno.test("neural runs are seeded: the same config gives the same predictions", async () => {
  const a = await runPipeline({ data: TINY, folds: 2, model: { ...MLP, epochs: 2 } });
  const b = await runPipeline({ data: TINY, folds: 2, model: { ...MLP, epochs: 2 } });
  assert.deepEqual(a.predictions.probability, b.predictions.probability);
  const c = await runPipeline({ data: TINY, folds: 2, seed: 6, model: { ...MLP, epochs: 2 } });
  assert.notDeepEqual(a.predictions.probability, c.predictions.probability);
});

Deno.test("resolveModel: neural defaults are small; bad settings are refused by field", () => {
  assert.deepEqual(resolveModel({ kind: "mlp" }), DEFAULT_NEURAL.mlp);
  assert.deepEqual(resolveModel({ kind: "lstm", epochs: 4 }), { ...DEFAULT_NEURAL.lstm, epochs: 4 });
  assert.equal(DEFAULT_NEURAL.lstm.timesteps, 10);
  assert.equal(resolveConfig().model.kind, "xgboost");
  const refused: [unknown, RegExp][] = [
    [{ kind: "gbm" }, /model\.kind must be one of xgboost, mlp, lstm/],
    [{ kind: "mlp", epochs: 0 }, /model\.epochs/],
    [{ kind: "mlp", hidden: [] }, /model\.hidden/],
    [{ kind: "mlp", hidden: [8, 2.5] }, /model\.hidden\[1\]/],
    [{ kind: "lstm", timesteps: 0 }, /model\.timesteps/],
    [{ kind: "lstm", learningRate: -1 }, /model\.learningRate/],
    [{ kind: "lstm", backend: "gpu" }, /model\.backend/],
  ];
  for (const [input, message] of refused) {
    assert.throws(
      () => resolveModel(input as Parameters<typeof resolveModel>[0]),
      (e) => e instanceof ConfigError && message.test(e.message),
    );
  }
});

Deno.test("candor demo --model mlp --json: a stored neural run with health per fold; bad --model exits 2", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const db = join(dir, "runs.db");
    const args = ["--symbols", "4", "--days", "400", "--folds", "2", "--seed", "5", "--db", db];
    const out = await candor(["demo", ...args, "--model", "mlp", "--epochs", "2", "--json"]);
    assert.equal(out.code, 0, out.stderr);
    const result = JSON.parse(out.stdout);
    assert.equal(result.config.model.kind, "mlp");
    assert.equal(result.config.model.epochs, 2);
    assert.deepEqual(result.config.model.hidden, DEFAULT_NEURAL.mlp.hidden);
    assert.equal(result.folds.length, 2);
    for (const f of result.folds) {
      assert.equal(typeof f.health, "string");
      assert.equal(f.backend, result.backend);
      assert.ok(f.metrics.accuracy >= 0 && f.metrics.accuracy <= 1);
      assert.equal(f.baselines.coinFlip, 0.5);
    }
    const store = openStore(db);
    try {
      const stored = (await store.getRun(result.runId))!;
      assert.equal(stored.model, "mlp");
      assert.equal(stored.backend, result.backend);
      assert.ok(stored.epochs.length >= 2 && stored.epochs.every((e) => e.epoch < 2));
    } finally {
      await store.close();
    }

    const text = await candor(["demo", ...args, "--no-store", "--model", "lstm", "--epochs", "1"]);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /lstm on (wasm|cpu|tensorflow)\)/);
    assert.match(text.stdout, /^fold 1 training health: .+$/m);
    assert.match(text.stdout, /^fold 2 training health: .+$/m);
    assert.match(text.stdout, /^Walk-forward efficiency/m);

    const bad = await candor(["demo", "--no-store", "--model", "gbm"]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--model expects one of xgboost, mlp, lstm/);
    const epochs = await candor(["demo", "--no-store", "--epochs", "3"]);
    assert.equal(epochs.code, 2);
    assert.match(epochs.stderr, /--epochs is for the neural models/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
