/**
 * The backtest of an entry's stitched out-of-sample predictions: positions from the configured sizing rule and
 * portfolio (`backtest.sizing`, `backtest.portfolio`; lib/pipeline/sizing.ts — by default ±1/N on the sign of the
 * model's signal), decided at the close of t and held from t + lag, costs on turnover and borrow on shorts, against
 * equal-weight buy & hold on the same window — and the Sharpe difference to buy & hold with a block-bootstrap
 * interval over days. CPCV plans get one backtest per path (the stored main backtest is path 1; every path's metrics
 * are in `paths`). A purged k-fold backtest trades with models that saw the future of each test block and says so.
 *
 * The hybrid rule's win-rate prior is per fold: clip(max(the fold's early-stopping-tail direction accuracy, the share
 * of positive targets in its fitting rows), 0.50, 0.60) — both known before the fold's test window. The priors are
 * stored with the backtest (`details.winRatePriors`), so a stored run can be re-sized later (`candor backtest --run`)
 * with exactly the priors its folds had.
 *
 * @module
 */

import type { Panel } from "../data/panel.ts";
import { backtestGrid, type PanelBacktestResult, panelReturns, toGrid } from "../backtest/panel.ts";
import { winRatePrior } from "../backtest/sizing.ts";
import { bootstrapSharpeDifference } from "../metrics/bootstrap.ts";
import type { BacktestRecord } from "../store/store.ts";
import type { StudyConfig } from "./config.ts";
import type { FoldPlan } from "./plan.ts";
import type { StudyData, Task } from "./trainers/contract.ts";
import type { FoldScores } from "./evaluate.ts";
import type { BacktestSummary } from "./records.ts";
import { portfolioLabel, rowSizingInputs, sizeBook, sizingLabel } from "./sizing.ts";

/** Inputs of {@link backtestEntry}. */
export interface EntryBacktestInput {
  /** Prices (returns from adj_close). */
  panel: Panel;
  /** The study's dataset. */
  data: StudyData;
  /** Every predicted fold's test rows and scores (width per task), in fold order. */
  folds: readonly FoldScores[];
  /** The study configuration (backtest conventions, seed). */
  config: StudyConfig;
  /** The plan (CPCV paths). */
  plan: FoldPlan;
}

/** A fold's win-rate prior and what it was computed from. */
export interface FoldPrior {
  /** Fold index. */
  fold: number;
  /** Direction accuracy on the fold's early-stopping tail (NaN without tail rows). */
  holdoutAccuracy: number;
  /** Share of the fold's fitting rows whose target is > 0. */
  trainShareUp: number;
  /** clip(max(holdoutAccuracy, trainShareUp), 0.50, 0.60). */
  prior: number;
}

/** The win-rate prior, tolerating an undefined holdout accuracy (then the training share alone). */
export function priorOf(holdoutAccuracy: number, trainShareUp: number): number {
  const h = Number.isFinite(holdoutAccuracy) ? holdoutAccuracy : 0;
  const s = Number.isFinite(trainShareUp) ? trainShareUp : 0;
  return winRatePrior(h, s);
}

/** Direction accuracy of scores on rows: the signal's sign (> 0 is "up") against target > 0. */
export function directionAccuracy(data: StudyData, rows: Int32Array, scores: Float64Array): number {
  if (rows.length === 0) return NaN;
  const { signal } = rowSizingInputs(data.task, scores, data.classes);
  let hits = 0;
  for (let i = 0; i < rows.length; i++) if ((signal[i] > 0) === (data.target[rows[i]] > 0)) hits++;
  return hits / rows.length;
}

/** Share of rows whose target is > 0. */
export function shareUp(data: StudyData, rows: Int32Array): number {
  if (rows.length === 0) return NaN;
  let up = 0;
  for (const r of rows) if (data.target[r] > 0) up++;
  return up / rows.length;
}

/** The win-rate prior of each fold (see the module notes). */
export function foldPriors(data: StudyData, folds: readonly FoldScores[]): FoldPrior[] {
  return folds.map((f) => {
    const holdoutAccuracy = directionAccuracy(data, f.rows.validation, f.validation);
    const trainShareUp = shareUp(data, f.rows.fit);
    return { fold: f.index, holdoutAccuracy, trainShareUp, prior: priorOf(holdoutAccuracy, trainShareUp) };
  });
}

/** Long-format predictions to backtest: one row per (date, symbol), `width` scores per row, the prior per row. */
export interface PredictionRows {
  /** Decision date of each row. */
  dates: readonly string[];
  /** Symbol of each row. */
  symbols: readonly string[];
  /** Scores, `width` per row (P(up); class probabilities; the forecast). */
  scores: ArrayLike<number>;
  /** Win-rate prior of the model that made each row's prediction. */
  winRate: ArrayLike<number>;
}

/** What a backtest of predictions needs besides the rows. */
export interface PredictionBacktestContext {
  /** The task of the scores. */
  task: Task;
  /** Scores per row (classes for multiclass, else 1). */
  classes: number;
  /** Target kind. */
  targetKind: string;
  /** Label horizon. */
  horizon: number;
  /** The backtest settings (lag, costs, borrow, portfolio, sizing, annualization). */
  backtest: StudyConfig["backtest"];
}

/** The panel's return grid, computed once per panel. */
const GRIDS = new WeakMap<Panel, ReturnType<typeof panelReturns>>();

function gridOf(panel: Panel): ReturnType<typeof panelReturns> {
  let g = GRIDS.get(panel);
  if (g === undefined) {
    g = panelReturns(panel);
    GRIDS.set(panel, g);
  }
  return g;
}

/**
 * Sizes and backtests long-format predictions against a panel (lib/pipeline/sizing.ts for the rule and the book).
 * Returns the engine's result and each symbol's sized positions (n × m).
 */
export function backtestPredictions(
  panel: Panel,
  rows: PredictionRows,
  ctx: PredictionBacktestContext,
): { result: PanelBacktestResult; positions: Float64Array } {
  const { dates, symbols, returns } = gridOf(panel);
  const inputs = rowSizingInputs(ctx.task, rows.scores, ctx.task === "multiclass" ? ctx.classes : 1);
  const place = (values: ArrayLike<number>) =>
    toGrid({ dates: rows.dates, symbols: rows.symbols, values }, dates, symbols);
  const b = ctx.backtest;
  const costs = {
    lag: b.lag,
    costBps: b.costBps,
    slippageBps: b.slippageBps,
    borrowBps: b.borrowBps,
    annualization: b.annualization,
  };
  const signal = place(inputs.signal);
  const { positions, weights } = sizeBook({
    dates,
    symbols,
    returns,
    signal,
    ...(inputs.probability === undefined ? {} : { probability: place(inputs.probability) }),
    winRate: place(rows.winRate),
    task: ctx.task,
    targetKind: ctx.targetKind,
    horizon: ctx.horizon,
    sizing: b.sizing,
    portfolio: b.portfolio,
    costs,
  });
  const result = backtestGrid({ dates, symbols, returns, weights, ...costs });
  result.record.details = {
    ...result.record.details,
    portfolio: portfolioLabel(b.portfolio),
    sizing: b.sizing,
    sizingLabel: sizingLabel(b.sizing),
  };
  result.portfolio = portfolioLabel(b.portfolio);
  return { result, positions };
}

/** The summary printed beside the fold table and the record the store keeps, from a main backtest. */
export function backtestOutcome(
  main: PanelBacktestResult,
  ctx: PredictionBacktestContext & { seed: number; scheme?: string },
  extra: { paths?: BacktestSummary["paths"]; priors?: FoldPrior[] } = {},
): { summary: BacktestSummary; record: BacktestRecord } {
  const b = ctx.backtest;
  const sharpe = sharpeDifference(main.netReturns, main.buyAndHold.netReturns, ctx.horizon, b.annualization, ctx.seed);
  const warnings = [...main.warnings];
  if (ctx.scheme === "purged-kfold") {
    warnings.push(
      "purged k-fold trains on the dates after each test block: this backtest trades with models that saw the " +
        "future; use it to compare models, not as a track record",
    );
  }
  const summary: BacktestSummary = {
    window: { start: main.window.startDate ?? "", end: main.window.endDate ?? "" },
    lag: b.lag,
    costBps: b.costBps,
    slippageBps: b.slippageBps,
    annualization: b.annualization,
    portfolio: portfolioLabel(b.portfolio),
    sizing: sizingLabel(b.sizing),
    borrowBps: b.borrowBps,
    metrics: main.record.metrics,
    buyAndHold: main.record.buyAndHold,
    sharpeDifference: sharpe,
    ...(extra.paths === undefined ? {} : { paths: extra.paths }),
    warnings,
  };
  const record: BacktestRecord = {
    ...main.record,
    warnings,
    details: {
      ...main.record.details,
      sharpeDifference: summary.sharpeDifference,
      ...(extra.priors === undefined ? {} : { winRatePriors: extra.priors }),
      ...(extra.paths === undefined ? {} : { paths: extra.paths, path: 1 }),
    },
  };
  return { summary, record };
}

/** Backtests an entry; returns the stored record and the summary printed beside the fold table. */
export function backtestEntry(input: EntryBacktestInput): { summary: BacktestSummary; record: BacktestRecord } {
  const { data, plan, config } = input;
  const width = data.task === "multiclass" ? data.classes : 1;
  const priors = foldPriors(data, input.folds);
  const priorOfFold = new Map(priors.map((p) => [p.fold, p.prior]));
  const ctx: PredictionBacktestContext = {
    task: data.task,
    classes: data.classes,
    targetKind: config.target.kind,
    horizon: data.horizon,
    backtest: config.backtest,
  };
  /** Rows of the given folds (optionally only those whose date falls in [start, end) of the date axis). */
  const rowsOf = (parts: { fold: FoldScores; start?: number; end?: number }[]): PredictionRows => {
    const dates: string[] = [], symbols: string[] = [], scores: number[] = [], winRate: number[] = [];
    for (const { fold, start, end } of parts) {
      fold.rows.test.forEach((r, j) => {
        const d = data.dateIndex[r];
        if (start !== undefined && !(d >= start && d < end!)) return;
        dates.push(data.dates[r]);
        symbols.push(data.symbols[r]);
        for (let c = 0; c < width; c++) scores.push(fold.test[j * width + c]);
        winRate.push(priorOfFold.get(fold.index)!);
      });
    }
    return { dates, symbols, scores, winRate };
  };
  let main: PanelBacktestResult;
  let paths: BacktestSummary["paths"];
  if (plan.cpcv !== undefined) {
    // Path j takes, for every date group, the predictions of the split that tests that group on path j.
    const cpcv = plan.cpcv;
    const byIndex = new Map(input.folds.map((f) => [f.index, f]));
    const results = cpcv.paths.map((path) => {
      const parts = cpcv.groups.flatMap((g, gi) => {
        const fold = byIndex.get(path.splitOfGroup[gi]);
        return fold === undefined ? [] : [{ fold, start: g.start, end: g.end }];
      });
      return backtestPredictions(input.panel, rowsOf(parts), ctx).result;
    });
    main = results[0];
    paths = results.map((r, i) => ({ path: i + 1, metrics: r.record.metrics }));
  } else {
    main = backtestPredictions(input.panel, rowsOf(input.folds.map((fold) => ({ fold }))), ctx).result;
  }
  return backtestOutcome(main, { ...ctx, seed: config.seed, scheme: plan.scheme }, { paths, priors });
}

/**
 * Strategy Sharpe − buy & hold Sharpe over the dates where both have a net return (the backtest window), with its 95 %
 * interval and one-sided p-value by a block bootstrap over days: what a backtest, and a forward simulation, report
 * beside buy & hold.
 */
export function sharpeDifference(
  net: Float64Array,
  buyAndHold: Float64Array,
  horizon: number,
  annualization: number,
  seed: number,
): BacktestSummary["sharpeDifference"] {
  const both: number[] = [];
  for (let t = 0; t < net.length; t++) if (Number.isFinite(net[t]) && Number.isFinite(buyAndHold[t])) both.push(t);
  const e = bootstrapSharpeDifference(
    Float64Array.from(both, (t) => net[t]),
    Float64Array.from(both, (t) => buyAndHold[t]),
    horizon,
    annualization,
    { seed },
  );
  return { value: e.estimate, ci: e.ci, pValue: e.pValue, method: e.method };
}
