/**
 * The backtest of an entry's stitched out-of-sample predictions: equal-weight positions on the sign of the model's
 * signal (P(up) − 0.5, P(UP) − P(DOWN), or the forecast), decided at the close of t and held from t + lag, costs on
 * turnover, against equal-weight buy & hold on the same window — and the Sharpe difference to buy & hold with a
 * block-bootstrap interval over days. CPCV plans get one backtest per path (the stored main backtest is path 1; every
 * path's metrics are in `paths`). A purged k-fold backtest trades with models that saw the future of each test block
 * and says so.
 *
 * @module
 */

import type { Panel } from "../data/panel.ts";
import { backtestPanel, type PanelBacktestResult } from "../backtest/panel.ts";
import { bootstrapSharpeDifference } from "../metrics/bootstrap.ts";
import type { BacktestRecord } from "../store/store.ts";
import type { StudyConfig } from "./config.ts";
import type { FoldPlan } from "./plan.ts";
import type { StudyData } from "./trainers/contract.ts";
import { type FoldScores, signalOf } from "./evaluate.ts";
import type { BacktestSummary } from "./records.ts";

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

function run(input: EntryBacktestInput, rows: Int32Array, signal: Float64Array): PanelBacktestResult {
  const b = input.config.backtest;
  return backtestPanel({
    panel: input.panel,
    forecasts: {
      dates: Array.from(rows, (r) => input.data.dates[r]),
      symbols: Array.from(rows, (r) => input.data.symbols[r]),
      values: signal,
    },
    portfolio: b.portfolio,
    lag: b.lag,
    costBps: b.costBps,
    slippageBps: b.slippageBps,
    annualization: b.annualization,
  });
}

/** Backtests an entry; returns the stored record and the summary printed beside the fold table. */
export function backtestEntry(input: EntryBacktestInput): { summary: BacktestSummary; record: BacktestRecord } {
  const { data, plan, config } = input;
  const signals = new Map(input.folds.map((f) => [f.index, signalOf(data.task, f.test, data.classes)]));
  let main: PanelBacktestResult;
  let paths: BacktestSummary["paths"];
  if (plan.cpcv !== undefined) {
    // Path j takes, for every date group, the predictions of the split that tests that group on path j.
    const cpcv = plan.cpcv;
    const byIndex = new Map(input.folds.map((f) => [f.index, f]));
    const results = cpcv.paths.map((path) => {
      const rows: number[] = [];
      const values: number[] = [];
      cpcv.groups.forEach((g, gi) => {
        const fold = byIndex.get(path.splitOfGroup[gi]);
        if (fold === undefined) return;
        const signal = signals.get(fold.index)!;
        fold.rows.test.forEach((r, j) => {
          const d = data.dateIndex[r];
          if (d >= g.start && d < g.end) {
            rows.push(r);
            values.push(signal[j]);
          }
        });
      });
      return run(input, Int32Array.from(rows), Float64Array.from(values));
    });
    main = results[0];
    paths = results.map((r, i) => ({ path: i + 1, metrics: r.record.metrics }));
  } else {
    const n = input.folds.reduce((s, f) => s + f.rows.test.length, 0);
    const rows = new Int32Array(n), signal = new Float64Array(n);
    let at = 0;
    for (const f of input.folds) {
      rows.set(f.rows.test, at);
      signal.set(signals.get(f.index)!, at);
      at += f.rows.test.length;
    }
    main = run(input, rows, signal);
  }
  const sharpe = bootstrapSharpeDifference(
    compact(main.netReturns),
    compact(main.buyAndHold.netReturns),
    data.horizon,
    config.backtest.annualization,
    { seed: config.seed },
  );
  const warnings = [...main.warnings];
  if (plan.scheme === "purged-kfold") {
    warnings.push(
      "purged k-fold trains on the dates after each test block: this backtest trades with models that saw the " +
        "future; use it to compare models, not as a track record",
    );
  }
  const summary: BacktestSummary = {
    window: { start: main.window.startDate ?? "", end: main.window.endDate ?? "" },
    lag: config.backtest.lag,
    costBps: config.backtest.costBps,
    slippageBps: config.backtest.slippageBps,
    annualization: config.backtest.annualization,
    portfolio: config.backtest.portfolio,
    metrics: main.record.metrics,
    buyAndHold: main.record.buyAndHold,
    sharpeDifference: { value: sharpe.estimate, ci: sharpe.ci, pValue: sharpe.pValue, method: sharpe.method },
    ...(paths === undefined ? {} : { paths }),
    warnings,
  };
  const record: BacktestRecord = {
    ...main.record,
    warnings,
    details: {
      ...main.record.details,
      sharpeDifference: summary.sharpeDifference,
      ...(paths === undefined ? {} : { paths, path: 1 }),
    },
  };
  return { summary, record };
}

/** Finite values of a per-date series (the backtest window), in order. */
function compact(a: Float64Array): Float64Array {
  return a.filter(Number.isFinite);
}
