/**
 * A study written through the pipeline's own run recorder (lib/pipeline/recorder.ts) from hand-chosen records, so
 * GraphQL's typed fields can be checked against numbers known by construction: two entries (gbm: xgboost, no edge,
 * gate failed; mlp: edge, gate passed, one unhealthy fold), two folds each with target distributions, per-fold
 * efficiency, predictions (and epochs for mlp), a backtest each, and the sealed study with its comparison.
 */

import { resolveStudyConfig } from "../../lib/pipeline/config.ts";
import { StudyRecorder, type StudyStart } from "../../lib/pipeline/recorder.ts";
import type { EntryReport, FoldReport, StudyReport } from "../../lib/pipeline/records.ts";
import type { BacktestRecord, Store } from "../../lib/store/store.ts";

/** Dates of the backtest's equity curve: 60 weekdays from 2021-01-04. */
export const EQUITY_DATES: string[] = (() => {
  const out: string[] = [];
  for (let d = 0; out.length < 60; d++) {
    const day = new Date(Date.UTC(2021, 0, 4) + d * 86_400_000);
    if (day.getUTCDay() !== 0 && day.getUTCDay() !== 6) out.push(day.toISOString().slice(0, 10));
  }
  return out;
})();

/** Test rows of each fold: 3 dates × 2 symbols. */
export const TEST_ROWS = 6;

const fold = (index: number, health: string, efficiency: number | null): FoldReport => ({
  index,
  train: [{ start: "2020-01-02", end: index === 0 ? "2020-06-30" : "2020-12-31" }],
  validation: [{ start: "2020-07-02", end: "2020-07-31" }],
  test: [{ start: index === 0 ? "2021-01-04" : "2021-02-01", end: index === 0 ? "2021-01-29" : "2021-02-26" }],
  purge: 1,
  embargo: 0,
  nTrain: 400 + 100 * index,
  nValidation: 40,
  nTest: TEST_ROWS,
  metrics: { accuracy: 0.5 + index / 10, ic: 0.02 },
  baselines: { coinFlip: 0.5, alwaysLong: 0.53, majorityClass: 0.51, previousSign: 0.49 },
  bestIteration: 7,
  health,
  targets: {
    fit: { n: 400 + 100 * index, shareUp: 0.52, mean: 0.001, std: 0.02 },
    validation: { n: 40, shareUp: 0.45, mean: -0.002, std: 0.03 },
    test: { n: TEST_ROWS, shareUp: 0.5 + index / 6, mean: 0.003, std: 0.01 },
  },
  efficiency: efficiency === null ? null : {
    validationEdge: 0.03,
    validationSe: 0.01,
    testEdge: 0.03 * efficiency,
    efficiency,
  },
  seconds: 1.5,
  fit: { kind: "xgboost", bestIteration: 7, iterations: 9, notes: ["a note"], seconds: 1.5 },
});

function entry(
  name: string,
  kind: string,
  o: {
    accuracy: number;
    verdict: "edge" | "no-edge";
    passed: boolean;
    wfe: number | null;
    sharpe: number;
    health: [string, string];
  },
): EntryReport {
  return {
    name,
    kind,
    task: "binary",
    backend: kind === "xgboost" ? "xgboost-c" : "wasm",
    settings: { depth: 3 },
    folds: [fold(0, o.health[0], 0.9), fold(1, o.health[1], null)],
    pooled: {
      accuracy: o.accuracy,
      accuracyCi: [o.accuracy - 0.03, o.accuracy + 0.03],
      naive: { ci: [o.accuracy - 0.01, o.accuracy + 0.01], pValue: 0.001, method: "naive binomial" },
      baselines: { coinFlip: 0.5, alwaysLong: 0.53, majority: 0.51, previousSign: 0.49 },
      strongestBaseline: "alwaysLong",
      edge: {
        difference: o.accuracy - 0.53,
        ci: [o.accuracy - 0.56, o.accuracy - 0.5],
        pValue: o.verdict === "edge" ? 0.01 : 0.2,
        method: "paired block bootstrap",
        against: "alwaysLong",
        rows: 2 * TEST_ROWS,
      },
      ic: { value: 0.03, ci: [0.01, 0.05], pValue: 0.02, method: "block bootstrap" },
      icDriscollKraay: { value: 0.03, se: 0.01, ci: [0.01, 0.05], pValue: 0.004, dof: 120 },
      verdict: o.verdict,
      verdictOn: "accuracy-vs-strongest-baseline",
      metrics: { accuracy: o.accuracy, rankIc: 0.025, shareUp: 0.6, nTest: 2 * TEST_ROWS, meanIC: NaN },
    },
    efficiency: {
      validationEdge: 0.04,
      validationSe: 0.01,
      testEdge: 0.04 * (o.wfe ?? 0),
      efficiency: o.wfe,
      ...(o.wfe === null ? { reason: "tail edge within noise" } : {}),
    },
    gate: { passed: o.passed, wfe: o.wfe, threshold: 0.5, reason: o.passed ? "edge and WFE ≥ 0.5" : "no edge" },
    backtest: {
      window: { start: EQUITY_DATES[0], end: EQUITY_DATES.at(-1)! },
      lag: 1,
      costBps: 5,
      slippageBps: 0,
      annualization: 252,
      portfolio: "long-short",
      metrics: { sharpe: o.sharpe, maxDrawdown: -0.12 },
      buyAndHold: { sharpe: 0.6, maxDrawdown: -0.3 },
      sharpeDifference: { value: o.sharpe - 0.6, ci: [-0.5, 1.1], pValue: 0.2, method: "block bootstrap" },
      warnings: [],
    },
    upShare: { share: 0.6, band: [0.2, 0.8], inBand: true },
    health: o.health,
    warnings: [`${name}: a warning`],
  };
}

/** The two entries as recorded. */
export const GBM = entry("gbm", "xgboost", {
  accuracy: 0.55,
  verdict: "no-edge",
  passed: false,
  wfe: 0.8,
  sharpe: 0.9,
  health: ["healthy", "healthy"],
});
export const MLP = entry("mlp", "mlp", {
  accuracy: 0.6,
  verdict: "edge",
  passed: true,
  wfe: null,
  sharpe: 1.2,
  health: ["healthy", "variance collapse"],
});

function backtestRecord(sharpe: number): BacktestRecord {
  return {
    lag: 1,
    costBps: 5,
    slippageBps: 0,
    annualization: 252,
    metrics: { sharpe, maxDrawdown: -0.12 },
    buyAndHold: { sharpe: 0.6, maxDrawdown: -0.3 },
    warnings: [],
    equity: {
      dates: EQUITY_DATES,
      values: EQUITY_DATES.map((_, i) => 1 + i / 500 + 0.01 * Math.sin(i / 3)),
      buyAndHold: EQUITY_DATES.map((_, i) => 1 + i / 800),
    },
  };
}

/** Prediction rows of a fold: 3 dates × 2 symbols, score = fold + row / 10. */
export function foldPredictions(index: number) {
  const dates = ["2021-01-04", "2021-01-04", "2021-01-05", "2021-01-05", "2021-01-06", "2021-01-06"];
  return {
    dates,
    symbols: dates.map((_, i) => (i % 2 === 0 ? "AAA" : "BBB")),
    values: dates.map((_, i) => index + i / 10),
    width: 1,
  };
}

/** What {@link recordStudy} wrote. */
export interface RecordedStudy {
  studyId: string;
  gbm: string;
  mlp: string;
  /** With `seal: false`: records the rest (mlp's second fold, its backtest, sealing the study). */
  finish: () => Promise<void>;
}

/**
 * Records the study into `store`. With `seal: false` the study stays running after gbm finished and mlp stored its
 * first fold (as a live study looks) until `finish()` records the rest.
 */
export async function recordStudy(
  store: Store,
  options: { name?: string; seal?: boolean; target?: "direction" | "return" } = {},
): Promise<RecordedStudy> {
  const config = resolveStudyConfig({
    name: options.name ?? "gbm vs mlp",
    data: { synthetic: { symbols: 2, days: 300 } },
    target: { kind: options.target ?? "direction", horizon: 1 },
    validation: { scheme: "anchored", folds: 2 },
    models: [{ name: "gbm", kind: "xgboost" }, { name: "mlp", kind: "mlp" }],
  });
  const start: StudyStart = {
    config,
    symbols: ["AAA", "BBB"],
    source: "synthetic:planted",
    fingerprint: "synthetic:fixture",
    version: "0.3.0",
    features: ["ret_1", "vol_20"],
    leakageOverride: false,
  };
  const recorder = new StudyRecorder(store);
  const studyId = (await recorder.beginStudy(start))!;
  const ids: string[] = [];
  const writeFold = async (runId: string, e: EntryReport, f: FoldReport) => {
    await recorder.fold(runId, f, {
      epochs: e === MLP
        ? [0, 1, 2].map((k) => ({ fold: f.index, epoch: k, trainLoss: 0.7 - k / 100, valLoss: 0.71 - k / 200 }))
        : [],
      diagnostics: [],
      previousSign: { rows: TEST_ROWS, excluded: 0 },
      majority: 1,
      warnings: [],
      predictions: foldPredictions(f.index),
      tail: { dates: [], symbols: [], values: new Float64Array(0), width: 1 },
    });
  };
  const finishEntry = (runId: string, e: EntryReport) =>
    recorder.finishEntry(runId, { ...e, runId }, backtestRecord(e.backtest.metrics.sharpe));
  const seal = async () => {
    const report = studyReport();
    await recorder.finishStudy(report);
  };
  const studyReport = (): StudyReport => ({
    config,
    source: start.source,
    fingerprint: start.fingerprint,
    version: start.version,
    symbols: start.symbols,
    features: start.features,
    plan: {
      scheme: "anchored",
      folds: GBM.folds.map((f) => ({ index: f.index, train: f.train, validation: f.validation, test: f.test })),
    },
    entries: [{ ...GBM, runId: ids[0] }, { ...MLP, runId: ids[1] }],
    comparison: [],
    warnings: ["a study warning"],
    notes: ["a study note"],
    configurationChecks: [{ check: "purge", subject: "split", verdict: "ok", reason: "purge 1 ≥ horizon 1" }],
  });
  for (const [model, e] of [[config.models[0], GBM], [config.models[1], MLP]] as const) {
    const runId = (await recorder.beginEntry(model, start, e.backend))!;
    ids.push(runId);
    for (const f of e.folds) {
      if (options.seal === false && e === MLP && f.index === 1) {
        return {
          studyId,
          gbm: ids[0],
          mlp: ids[1],
          finish: async () => {
            await writeFold(runId, e, f);
            await finishEntry(runId, e);
            await seal();
          },
        };
      }
      await writeFold(runId, e, f);
    }
    await finishEntry(runId, e);
  }
  await seal();
  return { studyId, gbm: ids[0], mlp: ids[1], finish: () => Promise.resolve() };
}
