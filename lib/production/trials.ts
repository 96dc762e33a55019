/**
 * The trial registry's arithmetic: a deflated Sharpe ratio whose number of trials N is every backtest tried on the
 * same data and target — the study entries, the backtests re-sized from them, the sweep cells (counted by the store,
 * lib/store/production.ts) — not only the ones in front of the user. The trial variance is the sample variance
 * (ddof 1) of those trials' per-period Sharpe ratios. Bailey & López de Prado (2014): the more configurations were
 * tried, the higher the best one's Sharpe must be to mean anything, and a researcher who counts only today's sweep
 * deflates too little.
 *
 * @module
 */

import { deflatedSharpe } from "../metrics/sharpe.ts";
import type { TrialCount } from "../store/production.ts";

/** What a deflation was computed with, stored and printed beside the number. */
export interface Deflation {
  /** N: trials counted under the key, this one included. */
  trials: number;
  /** How N splits: runs, backtests added to runs, sweep cells (this one's included), trials of deleted runs. */
  counted: { runs: number; runBacktests: number; sweepTrials: number; retired: number };
  /** Variance of the trials' per-period Sharpe ratios (ddof 1), 0 with fewer than two. */
  trialSharpeVariance: number;
}

/** Sample variance (ddof 1); 0 with fewer than two values. */
export function variance(xs: readonly number[]): number {
  if (xs.length < 2) return 0;
  const m = xs.reduce((a, b) => a + b, 0) / xs.length;
  return xs.reduce((a, b) => a + (b - m) ** 2, 0) / (xs.length - 1);
}

/**
 * The deflation of new trials given what the registry held before them: N = before.total + the new trials, the
 * variance over the Sharpe ratios of both. `added` says which counter the new trials go to.
 */
export function deflationWith(
  before: TrialCount,
  newSharpes: readonly number[],
  added: { runBacktests?: number; sweepTrials?: number },
): Deflation {
  const extra = (added.runBacktests ?? 0) + (added.sweepTrials ?? 0);
  return {
    trials: before.total + extra,
    counted: {
      runs: before.runs,
      runBacktests: before.runBacktests + (added.runBacktests ?? 0),
      sweepTrials: before.sweepTrials + (added.sweepTrials ?? 0),
      retired: before.retired,
    },
    trialSharpeVariance: variance([...before.sharpes, ...newSharpes.filter(Number.isFinite)]),
  };
}

/**
 * The deflated Sharpe ratio of one backtest (annualized Sharpe, periods, skewness, kurtosis as the engine reports
 * them) under a deflation; NaN when the Sharpe or the moments are undefined or there are fewer than 3 periods.
 */
export function deflatedSharpeOf(
  m: { sharpe: number; periods: number; skewness: number; kurtosis: number },
  annualization: number,
  d: Deflation,
): number {
  if (!Number.isFinite(m.sharpe) || !Number.isFinite(m.kurtosis) || !(m.periods >= 3) || d.trials < 1) return NaN;
  return deflatedSharpe({
    sharpe: m.sharpe / Math.sqrt(annualization),
    nTrials: d.trials,
    trialSharpeVariance: d.trialSharpeVariance,
    nObs: m.periods,
    skew: Number.isFinite(m.skewness) ? m.skewness : 0,
    kurtosis: m.kurtosis,
  });
}

/** One line on a deflation, for printouts. */
export function deflationWords(d: Deflation): string {
  const c = d.counted;
  return `N = ${d.trials} trials on this data and target (${c.runs} study entr${c.runs === 1 ? "y" : "ies"}, ` +
    `${c.runBacktests} re-sized backtest(s), ${c.sweepTrials} sweep cell(s)` +
    `${c.retired > 0 ? `, ${c.retired} of deleted runs` : ""})`;
}
