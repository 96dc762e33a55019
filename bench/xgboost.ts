/**
 * XGBoost binding benchmarks against Python's xgboost on the same Debian library, the same data and parameters.
 *
 * - Training: DMatrix construction + boosting (+ per-round validation evaluation and early stopping in the second
 *   case), candor's `XGBoostModel.fit` vs Python's `xgb.DMatrix` + `xgb.train`. Runs are interleaved (candor,
 *   Python, candor, ...) and medians compared; Python's time is measured inside the interpreter, excluding start-up
 *   and import. Target: candor ≤ 1.10 × Python.
 * - Prediction: 1 M rows × 50 features through candor's `predict` (in-place dense prediction), with Python's
 *   `inplace_predict` on the same model as reference. Target: ≤ 1 s.
 *
 * - Threads: one against two at growing training sizes on the pipeline's parameters (the evidence behind the
 *   pipeline's default thread count).
 *
 * Sizes are chosen to finish in about two minutes on 2 cores. `BENCH_XGB_RUNS` overrides the number of paired runs.
 *
 * @module
 */

import { cpuUsage } from "node:process";
import { type BenchResult, median, minMax, runPython } from "./lib.ts";
import { XGBoostModel } from "../lib/models/xgboost/model.ts";
import { xgboostVersion } from "../lib/models/xgboost/library.ts";
import type { Matrix } from "../lib/data/matrix.ts";
import { XGBOOST_DEFAULT_PARAMS } from "../lib/pipeline/trainers/xgboost.ts";

const script = new URL("./reference/xgboost_train.py", import.meta.url).pathname;

function dataset(rows: number, cols: number, seed: number): { X: Matrix; y: Float32Array } {
  let s = seed;
  const rand = () => (s = (s * 16807) % 2147483647) / 2147483647;
  const data = new Float32Array(rows * cols);
  const y = new Float32Array(rows);
  for (let i = 0; i < rows; i++) {
    let z = 0;
    for (let j = 0; j < cols; j++) {
      const v = rand() - 0.5;
      data[i * cols + j] = j === 7 && rand() < 0.05 ? NaN : v;
      if (j < 5) z += v * (j + 1);
    }
    z += Math.sin(6 * data[i * cols + 5]) + (rand() - 0.5) * 2;
    y[i] = z > 0 ? 1 : 0;
  }
  return { X: { data, rows, cols }, y };
}

/** Runs the XGBoost benchmarks; see the module doc. */
export async function run(): Promise<BenchResult[]> {
  const runs = Number(Deno.env.get("BENCH_XGB_RUNS") ?? 7);
  const dir = await Deno.makeTempDir({ prefix: "candor-bench-xgb-" });
  const results: BenchResult[] = [];
  try {
    const cols = 50;
    const train = dataset(20_000, cols, 11), val = dataset(5_000, cols, 12);
    await Deno.writeFile(`${dir}/train.f32`, new Uint8Array(train.X.data.buffer));
    await Deno.writeFile(`${dir}/label.f32`, new Uint8Array(train.y.buffer));
    await Deno.writeFile(`${dir}/val.f32`, new Uint8Array(val.X.data.buffer));
    await Deno.writeFile(`${dir}/val_label.f32`, new Uint8Array(val.y.buffer));
    const params = {
      objective: "binary:logistic",
      tree_method: "hist",
      max_depth: 6,
      eta: 0.1,
      subsample: 0.8,
      colsample_bytree: 0.8,
      min_child_weight: 1,
      nthread: 2,
      seed: 0,
    };
    const cases = [
      { name: "train 20k×50, 60 rounds", numBoostRound: 60, early: undefined as number | undefined },
      { name: "train 20k×50, early stopping on 5k validation (≤ 200 rounds)", numBoostRound: 200, early: 10 },
    ];
    let model: XGBoostModel | undefined;
    for (const c of cases) {
      const cfg = {
        train: `${dir}/train.f32`,
        label: `${dir}/label.f32`,
        rows: train.X.rows,
        cols,
        ...(c.early ? { val: `${dir}/val.f32`, val_rows: val.X.rows, val_label: `${dir}/val_label.f32` } : {}),
        params,
        num_boost_round: c.numBoostRound,
        early_stopping_rounds: c.early,
      };
      await Deno.writeTextFile(`${dir}/cfg.json`, JSON.stringify(cfg));
      const fitOnce = async () => {
        model?.dispose();
        model = new XGBoostModel({ params, numBoostRound: c.numBoostRound, earlyStoppingRounds: c.early });
        const t0 = performance.now(), c0 = cpuUsage();
        const rep = await model.fit(train.X, train.y, c.early ? { validation: { X: val.X, y: val.y } } : {});
        const used = cpuUsage(c0);
        return {
          seconds: (performance.now() - t0) / 1000,
          cpu: (used.user + used.system) / 1e6,
          rounds: rep.bestIteration,
        };
      };
      await fitOnce(); // warm-up (OpenMP threads, page faults)
      const ours: number[] = [], theirs: number[] = [], cpuOurs: number[] = [], cpuTheirs: number[] = [];
      let roundsOurs = 0, roundsPy = 0;
      for (let r = 0; r < runs; r++) {
        const a = await fitOnce();
        ours.push(a.seconds);
        cpuOurs.push(a.cpu);
        roundsOurs = a.rounds ?? 0;
        const py = await runPython(script, ["train", `${dir}/cfg.json`]);
        theirs.push(py.seconds as number);
        cpuTheirs.push(py.cpu as number);
        roundsPy = py.rounds as number;
      }
      const mo = median(ours), mp = median(theirs);
      results.push({
        name: `xgboost ${c.name}`,
        value: mo,
        unit: "s",
        range: minMax(ours),
        reference: mp,
        referenceRange: minMax(theirs),
        ratio: mp / mo,
        target: "candor ≤ 1.10 × Python (ratio ≥ 0.909)",
        pass: mo <= 1.10 * mp,
        notes:
          `medians of ${runs} interleaved runs; libxgboost ${xgboostVersion()}; best rounds candor ${roundsOurs}, ` +
          `Python ${roundsPy}; CPU seconds (median) ${median(cpuOurs).toFixed(3)} vs ${
            median(cpuTheirs).toFixed(3)
          }; wall ${ours.map((t) => t.toFixed(3)).join("/")} vs ${theirs.map((t) => t.toFixed(3)).join("/")}`,
      });
    }

    // Prediction: 1 M × 50 with 100-tree models of depth 6 and depth 3.
    const big = dataset(1_000_000, cols, 13);
    await Deno.writeFile(`${dir}/predict.f32`, new Uint8Array(big.X.data.buffer));
    for (const depth of [6, 3]) {
      model?.dispose();
      model = new XGBoostModel({ params: { ...params, max_depth: depth }, numBoostRound: 100 });
      await model.fit(train.X, train.y);
      await model.save(`${dir}/model.json`);
      await Deno.writeTextFile(
        `${dir}/cfg.json`,
        JSON.stringify({ params, cols, model: `${dir}/model.json`, predict: `${dir}/predict.f32`, predict_rows: 1e6 }),
      );
      model.predict({ data: big.X.data.subarray(0, 1000 * cols), rows: 1000, cols });
      const ours: number[] = [], theirs: number[] = [];
      let sumOurs = 0, sumPy = 0;
      for (let r = 0; r < runs; r++) {
        const t0 = performance.now();
        const pred = model.predict(big.X);
        ours.push((performance.now() - t0) / 1000);
        sumOurs = pred.reduce((a, b) => a + b, 0);
        const py = await runPython(script, ["predict", `${dir}/cfg.json`]);
        theirs.push(py.seconds as number);
        sumPy = py.checksum as number;
      }
      // Both sides must have predicted the same thing, or the timing compares different work.
      if (Math.abs(sumOurs - sumPy) > 1e-6 * Math.max(1, Math.abs(sumPy))) {
        throw new Error(`xgboost predict bench: prediction sums differ (candor ${sumOurs}, Python ${sumPy})`);
      }
      const mo = median(ours), mp = median(theirs);
      results.push({
        name: `xgboost predict 1M×50 (100 trees, depth ${depth})`,
        value: mo,
        unit: "s",
        range: minMax(ours),
        reference: mp,
        referenceRange: minMax(theirs),
        ratio: mp / mo,
        target: "≤ 1 s",
        pass: mo <= 1,
        notes: `medians of ${runs} interleaved runs; reference is Python inplace_predict on the same model; ` +
          `nthread 2; times ${ours.map((t) => t.toFixed(3)).join("/")} vs ${theirs.map((t) => t.toFixed(3)).join("/")}`,
      });
    }
    model?.dispose();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  results.push(...await threadCrossover());
  return results;
}

/**
 * One thread against two on the pipeline's own parameters (hist, depth 3, eta 0.05, early stopping on a tail of a
 * fifth as many rows, evaluated every round) at growing training sizes, 12 columns: the evidence behind
 * `defaultThreads` (one thread below 25,000 training rows). Per-round time of 100 rounds, medians of interleaved runs;
 * ratio = two-thread time / one-thread time (> 1: one thread faster).
 */
async function threadCrossover(): Promise<BenchResult[]> {
  const runs = Number(Deno.env.get("BENCH_XGB_THREAD_RUNS") ?? 5);
  const out: BenchResult[] = [];
  for (const rows of [4_000, 16_000, 32_000, 128_000]) {
    const train = dataset(rows, 12, 21), tail = dataset(Math.round(rows / 5), 12, 22);
    const perRound: Record<number, number[]> = { 1: [], 2: [] };
    for (let r = 0; r < runs; r++) {
      for (const nthread of [1, 2]) {
        const model = new XGBoostModel({
          params: {
            ...XGBOOST_DEFAULT_PARAMS,
            objective: "binary:logistic",
            eval_metric: "logloss",
            nthread,
            seed: 0,
          },
          numBoostRound: 100,
          earlyStoppingRounds: 1000, // every round evaluated, none stopped early: the same work on both sides
        });
        const t0 = performance.now();
        await model.fit(train.X, train.y, { validation: { X: tail.X, y: tail.y } });
        perRound[nthread].push((performance.now() - t0) / 100);
        model.dispose();
      }
    }
    const one = median(perRound[1]), two = median(perRound[2]);
    out.push({
      name: `xgboost round at ${rows / 1000}k×12 rows (pipeline parameters, tail evaluated): 1 thread vs 2`,
      value: one,
      unit: "ms",
      range: minMax(perRound[1]),
      reference: two,
      referenceRange: minMax(perRound[2]),
      ratio: two / one,
      notes: `ms per round over 100 rounds, medians of ${runs} interleaved runs; reference = 2 threads; ` +
        `ratio > 1: one thread faster (the pipeline's default below 25,000 training rows)`,
    });
  }
  return out;
}

if (import.meta.main) console.table(await run());
