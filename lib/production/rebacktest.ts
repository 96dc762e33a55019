/**
 * Re-sizing and re-backtesting a stored run's out-of-sample predictions without retraining (`candor backtest
 * --run ID`), and the loader of a stored run's predictions that sweeps share.
 *
 * - The predictions are the run's stored per-fold test predictions; the prices are read again from the study's data
 *   source (or a path given instead) and must have the fingerprint the study recorded — a changed file would make a
 *   different backtest under the same name, so it is refused.
 * - The hybrid rule's win-rate priors are the ones the study's backtest stored per fold; runs stored before they were
 *   kept fall back to the fold records (early-stopping-tail accuracy and the fitting rows' share of positive targets).
 * - The result is stored as a backtest added to the run (`addRunBacktest`; the run's own backtest is untouched), with
 *   its sizing and conventions in `details`, and it is a trial: its deflated Sharpe ratio counts every backtest tried
 *   on the same data and target (lib/production/trials.ts).
 *
 * CPCV runs test every date once per path, so their stored predictions hold several scores per (date, symbol); they
 * are refused here (re-run the study with the new sizing instead).
 *
 * @module
 */

import { ConfigError } from "../errors.ts";
import { loadMarket, type Market } from "../pipeline/data.ts";
import { resolveStoredConfig, type StudyConfig, type StudyConfigInput, taskOf } from "../pipeline/config.ts";
import {
  backtestOutcome,
  backtestPredictions,
  type FoldPrior,
  type PredictionBacktestContext,
  type PredictionRows,
  priorOf,
} from "../pipeline/backtest.ts";
import type { BacktestSummary } from "../pipeline/records.ts";
import type { PanelBacktestResult } from "../backtest/panel.ts";
import type { BacktestRecord, RunSummary, Store, StoredBacktest, StoredFold } from "../store/store.ts";
import type { TrialKey } from "../store/production.ts";
import { deflatedSharpeOf, type Deflation, deflationWith } from "./trials.ts";

/** A stored run's predictions, ready to re-size. */
export interface StoredRun {
  /** The run. */
  run: RunSummary;
  /** Its study's resolved configuration. */
  config: StudyConfig;
  /** The prices, reloaded and checked against the study's fingerprint. */
  market: Market;
  /** Every out-of-sample row with its scores and its fold's win-rate prior. */
  rows: PredictionRows;
  /** Sizing and conventions of the study's own backtest (and what the rows are). */
  context: PredictionBacktestContext;
  /** The priors per fold. */
  priors: FoldPrior[];
  /** The run's own backtest, as stored. */
  own: StoredBacktest | null;
  /** The trial key of the run (its data fingerprint and target). */
  key: TrialKey;
}

function priorsFrom(own: StoredBacktest | null, folds: readonly StoredFold[]): FoldPrior[] {
  const stored = own?.details?.winRatePriors as FoldPrior[] | undefined;
  if (Array.isArray(stored) && stored.length > 0) {
    return stored.map((p) => ({
      ...p,
      holdoutAccuracy: p.holdoutAccuracy ?? NaN,
      trainShareUp: p.trainShareUp ?? NaN,
    }));
  }
  return folds.map((f) => {
    const holdoutAccuracy = f.metrics.validationAccuracy ?? NaN;
    const targets = (f.fitReport as { targets?: { fit?: { shareUp?: number } } }).targets;
    const trainShareUp = targets?.fit?.shareUp ?? NaN;
    return { fold: f.index, holdoutAccuracy, trainShareUp, prior: priorOf(holdoutAccuracy, trainShareUp) };
  });
}

/**
 * Loads a stored run's predictions and prices (see the module notes). `dataPath` reads the prices from another path
 * (they must still have the study's fingerprint). Refused (ConfigError): an unknown run, a run without stored
 * predictions, a CPCV run, changed price files.
 */
export async function loadStoredRun(store: Store, runId: string, dataPath?: string): Promise<StoredRun> {
  const [run] = await store.getRuns([runId]);
  if (run === undefined) {
    const recent = (await store.listRuns({ limit: 5, status: "succeeded" })).map((r) =>
      `${r.id} (${r.entry ?? r.model})`
    );
    throw new ConfigError(
      `no run ${JSON.stringify(runId)} in this store${recent.length === 0 ? "" : `; the newest: ${recent.join(", ")}`}`,
    );
  }
  if (run.status !== "succeeded") {
    throw new ConfigError(`run ${runId} is ${run.status}: only a finished run is re-sized`);
  }
  if (run.studyId === null) throw new ConfigError(`run ${runId} belongs to no study: its configuration is unknown`);
  const study = await store.getStudy(run.studyId);
  if (study === undefined) throw new ConfigError(`the study ${run.studyId} of run ${runId} is not in this store`);
  const input = study.config as StudyConfigInput;
  const config = resolveStoredConfig(
    dataPath === undefined ? input : { ...input, data: { kind: "files", path: dataPath } } as StudyConfigInput,
  );
  if (config.validation.scheme === "cpcv") {
    throw new ConfigError(
      `run ${runId} used CPCV: its stored predictions score every date once per backtest path, so there is no single ` +
        `track to re-size; re-run the study with the sizing instead (candor run --set backtest.sizing=...)`,
    );
  }
  const market = await loadMarket(config.data);
  const expected = run.dataFingerprint ?? study.dataFingerprint;
  if (expected !== null && market.fingerprint !== expected) {
    throw new ConfigError(
      `the prices at ${market.source} are not the ones run ${runId} was trained and tested on (fingerprint ` +
        `${market.fingerprint}, the study recorded ${expected}); re-sizing them would backtest other data under ` +
        `its name. Point --data at the original files`,
    );
  }
  const [predictions, folds, backtests] = await Promise.all([
    store.listPredictions([runId], { split: "test" }),
    store.listFolds([runId]),
    store.listBacktests([runId]),
  ]);
  if (predictions.length === 0) {
    throw new ConfigError(`run ${runId} has no stored out-of-sample predictions to re-size`);
  }
  const own = backtests[0] ?? null;
  const priors = priorsFrom(own, folds);
  const priorOfFold = new Map(priors.map((p) => [p.fold, p.prior]));
  const dates: string[] = [], symbols: string[] = [], scores: number[] = [], winRate: number[] = [];
  const width = predictions[0].width;
  for (const p of predictions) {
    const prior = priorOfFold.get(p.fold) ?? 0.5;
    for (let i = 0; i < p.dates.length; i++) {
      dates.push(p.dates[i]);
      symbols.push(p.symbols[i]);
      for (let k = 0; k < width; k++) scores.push(p.values[i * width + k]);
      winRate.push(prior);
    }
  }
  const task = taskOf(config.target.kind);
  return {
    run,
    config,
    market,
    rows: { dates, symbols, scores, winRate },
    context: {
      task,
      classes: task === "multiclass" ? width : task === "binary" ? 2 : 1,
      targetKind: config.target.kind,
      horizon: config.target.horizon,
      backtest: config.backtest,
    },
    priors,
    own,
    key: { dataFingerprint: market.fingerprint, targetKind: config.target.kind, horizon: config.target.horizon },
  };
}

/**
 * The backtest settings of a stored run with overrides (lag, costs, borrow, portfolio, sizing; a partial sizing
 * object replaces the rule), validated as a study's are (key paths under `backtest.`).
 */
export function backtestSettings(
  config: StudyConfig,
  overrides: Record<string, unknown>,
): StudyConfig["backtest"] {
  const merged = { ...config.backtest, ...overrides };
  // Resolving a whole config re-checks the sizing against the target (kelly on a regression target, hybrid ranges).
  return resolveStoredConfig({ ...config, backtest: merged }).backtest;
}

/** What a re-backtest produced. */
export interface RebacktestResult {
  /** The stored run and its predictions. */
  stored: StoredRun;
  /** The backtest settings used. */
  backtest: StudyConfig["backtest"];
  /** The engine's result. */
  result: PanelBacktestResult;
  /** Summary (what `candor run` prints for a backtest). */
  summary: BacktestSummary;
  /** The record stored with the run. */
  record: BacktestRecord;
  /** Its deflation against the trial registry. */
  deflation: Deflation;
  /** Deflated Sharpe ratio under it. */
  deflatedSharpe: number;
  /**
   * Buy & hold's deflated Sharpe ratio under the same deflation: both test a Sharpe ratio against zero (the best of N
   * luckless trials), so a long-biased book in a rising market scores high on market exposure alone; this is the
   * number to read it beside.
   */
  buyAndHoldDeflatedSharpe: number;
  /** The stored backtest's sequence number (absent when not stored). */
  seq?: number;
}

/** Re-sizes and re-backtests a stored run (see the module notes); stores the result unless `store: false`. */
export async function rebacktestRun(
  store: Store,
  runId: string,
  overrides: Record<string, unknown>,
  opts: { dataPath?: string; save?: boolean } = {},
): Promise<RebacktestResult> {
  const stored = await loadStoredRun(store, runId, opts.dataPath);
  const backtest = backtestSettings(stored.config, overrides);
  const ctx = { ...stored.context, backtest };
  const { result } = backtestPredictions(stored.market.panel, stored.rows, ctx);
  const { summary, record } = backtestOutcome(result, {
    ...ctx,
    seed: stored.config.seed,
    scheme: stored.config.validation.scheme,
  }, { priors: stored.priors });
  const before = await store.countTrials(stored.key);
  const perPeriod = result.metrics.sharpe / Math.sqrt(backtest.annualization);
  const deflation = deflationWith(before, [perPeriod], { runBacktests: 1 });
  const dsr = deflatedSharpeOf(result.metrics, backtest.annualization, deflation);
  record.metrics = { ...record.metrics, deflatedSharpe: dsr, trials: deflation.trials };
  record.details = {
    ...record.details,
    source: "candor backtest --run",
    rebacktestOf: runId,
    deflation,
  };
  const seq = opts.save === false ? undefined : await store.addRunBacktest(runId, record);
  return {
    stored,
    backtest,
    result,
    summary,
    record,
    deflation,
    deflatedSharpe: dsr,
    buyAndHoldDeflatedSharpe: deflatedSharpeOf(result.buyAndHold.metrics, backtest.annualization, deflation),
    ...(seq === undefined ? {} : { seq }),
  };
}
