/**
 * Production records written by hand through the Store API, so GraphQL's production fields can be checked against
 * numbers known by construction: a succeeded study entry on data `sha256:fixture` (target direction, h = 1) with a
 * backtest of per-period Sharpe 0.1; a backtest added to it (per-period Sharpe 0.2); a sweep of that run with four
 * cells (per-period Sharpe 0.3, 0.1, 0.2, 0.4; deflated Sharpe 0.9, undefined, 0.4, 0.95) and one PBO window; three
 * registered models (gbm-2020, then gbm from the study with two prediction batches, then mlp trained with its failed
 * gate skipped).
 *
 * The trial registry therefore counts 1 entry + 1 added backtest + 4 cells = 6 trials, whose per-period Sharpe ratios
 * [0.1, 0.2, 0.3, 0.1, 0.2, 0.4] have a sample variance of (0.35 − 1.3² / 6) / 5 = 0.41 / 30.
 */

import type { Store } from "../../lib/store/store.ts";
import { type NewModel, newModelId, type NewTrial } from "../../lib/store/mod.ts";
import { sampleBacktest, sampleFold, sampleRun, sampleStudy } from "../store/contract.ts";

/** The trial key every record here shares. */
export const KEY = { dataFingerprint: "sha256:fixture", targetKind: "direction", horizon: 1 } as const;

/** √252: annual Sharpe ratios are stored, the registry works per period. */
const ANNUAL = Math.sqrt(252);

/** Ids of what {@link recordProduction} stored. */
export interface ProductionFixture {
  studyId: string;
  runId: string;
  /** Registered in this order (oldest first). */
  models: { gbm2020: string; gbm: string; mlp: string };
  /** gbm's prediction batches, oldest first. */
  batches: string[];
  /** Sequence numbers of the backtests added to the run. */
  seqs: number[];
  sweepId: string;
}

function model(overrides: Partial<NewModel>): NewModel {
  const id = newModelId();
  return {
    id,
    name: "gbm",
    kind: "xgboost",
    path: `data/models/${id}`,
    studyId: null,
    runId: null,
    config: { target: { kind: "direction", horizon: 1 } },
    features: ["ret_1", "ret_5", "vol_21"],
    dataFingerprint: KEY.dataFingerprint,
    dataSource: "prices/",
    version: "0.3.0",
    targetKind: "direction",
    horizon: 1,
    trainedFrom: "2015-01-05",
    trainedTo: "2020-12-30",
    lastPriceDate: "2020-12-31",
    symbols: ["AAA", "BBB"],
    gate: { passed: true, wfe: 0.8, threshold: 0.5, reason: "edge and WFE ≥ 0.5" },
    skipGate: false,
    summary: null,
    ...overrides,
  };
}

function trial(cell: number, perPeriodSharpe: number, deflatedSharpe: number): NewTrial {
  return {
    cell,
    symbol: cell < 2 ? "portfolio" : "AAA",
    windowStart: "2021-01-04",
    windowEnd: "2021-06-30",
    costBps: cell % 2 === 0 ? 0 : 10,
    slippageBps: 1,
    lag: 1,
    sizing: "sign()",
    annualization: 252,
    metrics: { sharpe: perPeriodSharpe * ANNUAL, deflatedSharpe, trials: 6, maxDrawdown: -0.05 * (cell + 1) },
    buyAndHold: { sharpe: 0.5, maxDrawdown: -0.2 },
  };
}

/** Stores the records described in the module notes. */
export async function recordProduction(store: Store): Promise<ProductionFixture> {
  const config = { target: { kind: "direction", horizon: 1 }, validation: { scheme: "anchored", folds: 1 } };
  const studyId = await store.createStudy(
    sampleStudy({
      name: "production fixture",
      config,
      dataFingerprint: KEY.dataFingerprint,
      entries: [{ name: "gbm", kind: "xgboost" }],
    }),
  );
  const runId = await store.createRun(sampleRun({
    config: { ...config, entry: { name: "gbm" } },
    studyId,
    entry: "gbm",
    dataFingerprint: KEY.dataFingerprint,
  }));
  await store.appendFold(runId, sampleFold(0));
  await store.putBacktest(runId, sampleBacktest({ metrics: { sharpe: 0.1 * ANNUAL } }));
  await store.finishRun(runId, { status: "succeeded", summary: {} });
  await store.finishStudy(studyId, { status: "succeeded" });

  const seqs = [
    await store.addRunBacktest(
      runId,
      sampleBacktest({
        lag: 2,
        metrics: { sharpe: 0.2 * ANNUAL, deflatedSharpe: 0.75, trials: 2 },
        buyAndHold: { sharpe: 0.5 },
        equity: {
          dates: ["2021-01-04", "2021-01-05", "2021-01-06"],
          values: [1, 1.01, 1.02],
          buyAndHold: [1, 1, 0.99],
        },
        details: {
          sizingLabel: "kelly(0.25)",
          portfolio: "long-short",
          deflation: { trials: 2, counted: { runs: 1, runBacktests: 1, sweepTrials: 0 }, trialSharpeVariance: 0.005 },
        },
      }),
    ),
  ];

  const sweepId = await store.createSweep({
    runId,
    key: { ...KEY },
    grid: { costBps: [0, 10], symbols: ["portfolio", "AAA"] },
    options: { borrowBps: 0, annualization: 252 },
    dir: "data/sweeps/fixture",
    summary: {
      pbo: [{
        window: { start: "2021-01-04", end: "2021-06-30" },
        cells: 4,
        pbo: 0.25,
        probabilityOfLoss: 0.125,
        groups: 4,
      }],
      deflation: { trials: 6, counted: { runs: 1, runBacktests: 1, sweepTrials: 4 }, trialSharpeVariance: 0.41 / 30 },
    },
    trialsBefore: 2,
    trials: [trial(0, 0.3, 0.9), trial(1, 0.1, NaN), trial(2, 0.2, 0.4), trial(3, 0.4, 0.95)],
  });

  const gbm2020 = await store.registerModel(model({ name: "gbm", trainedTo: "2019-12-30", version: "0.2.0" }));
  const gbm = await store.registerModel(model({ studyId, runId }));
  const mlp = await store.registerModel(
    model({
      name: "mlp",
      kind: "mlp",
      gate: { passed: false, wfe: 0.3, threshold: 0.5, reason: "walk-forward efficiency below the threshold" },
      skipGate: true,
    }),
  );
  const batches = [
    await store.appendProductionPredictions({
      modelId: gbm,
      asOf: "2021-01-04",
      dataFingerprint: "sha256:day1",
      dataSource: "prices/",
      rows: [{
        symbol: "AAA",
        date: "2021-01-04",
        score: 0.55,
        confidence: 0.55,
        position: 1,
        weight: 1,
        warnings: [],
      }],
    }),
    await store.appendProductionPredictions({
      modelId: gbm,
      asOf: "2021-01-05",
      dataFingerprint: "sha256:day2",
      dataSource: "prices/",
      rows: [
        { symbol: "AAA", date: "2021-01-05", score: 0.62, confidence: 0.62, position: 1, weight: 0.5, warnings: [] },
        { symbol: "BBB", date: "2021-01-05", score: 0.41, confidence: 0.59, position: -1, weight: -0.5, warnings: [] },
        {
          symbol: "CCC",
          date: "2021-01-05",
          score: NaN,
          confidence: NaN,
          position: NaN,
          weight: NaN,
          warnings: ["unseen symbol: CCC was not in the training data"],
        },
      ],
      details: { score: "P(up)", confidence: "probability of the called side" },
    }),
  ];
  return { studyId, runId, models: { gbm2020, gbm, mlp }, batches, seqs, sweepId };
}
