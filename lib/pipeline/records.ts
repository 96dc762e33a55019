/**
 * The typed records of a study: what the run recorder writes, what the store keeps, what `candor run` prints and what
 * `candor show` prints again from the store. One type per concept, JSON-safe (NaN may read back as null from JSON
 * fields; printers treat both as "undefined").
 *
 * - {@link StudyReport}: the whole study — config, data, plan, one {@link EntryReport} per model entry, the
 *   comparison, warnings.
 * - {@link EntryReport}: one model entry (one stored run): fold table, pooled metrics with baselines and the verdict,
 *   the gate, the backtest beside buy & hold, training health, warnings.
 * - {@link FoldReport}: one row of the fold table.
 *
 * @module
 */

import type { DateWindow } from "../validation/fold.ts";
import type { ConfigurationFinding } from "../leakage/configuration.ts";
import type { StudyConfig } from "./config.ts";
import type { BaselineName, Edge, Efficiency, Gate, TargetDistribution } from "./evaluate.ts";
import type { FoldFitReport, Task } from "./trainers/contract.ts";
import type { BootstrapEstimate } from "../metrics/bootstrap.ts";

/** One fold of one entry. */
export interface FoldReport {
  /** 0-based fold index. */
  index: number;
  /** Fitting windows (the dates before the early-stopping tail and its purge). */
  train: DateWindow[];
  /** Early-stopping tail windows. */
  validation: DateWindow[];
  /** Test windows. */
  test: DateWindow[];
  /** Dates purged between the parts (≥ the horizon). */
  purge: number;
  /** Dates embargoed after the test window. */
  embargo: number;
  /** Rows fitted on. */
  nTrain: number;
  /** Rows of the early-stopping tail. */
  nValidation: number;
  /** Test rows predicted (0 when the fold was not predicted, e.g. a stacking entry's first fold). */
  nTest: number;
  /** Task metrics on the test rows (accuracy, ic, rankIc, macroF1, ...). */
  metrics: Record<string, number>;
  /** Naive baselines on the same rows. */
  baselines: Record<string, number>;
  /** Best boosting round or epoch (1-based), as the fit reported it. */
  bestIteration?: number;
  /** Health verdict: "healthy", or what went wrong in training or in the test predictions (constant, one-sided). */
  health: string;
  /** The target's distribution on the fitting rows, the tail and the test rows. */
  targets: TargetDistribution;
  /** The fold's walk-forward efficiency. */
  efficiency: Efficiency | null;
  /** Why the fold was not predicted, when it was not. */
  skipped?: string;
  /** Wall time of the fold, seconds. */
  seconds: number;
  /** What the fit reported (typed per kind). */
  fit: FoldFitReport;
}

/** The pooled line of an entry, as `--json` prints it. */
export interface PooledReport {
  /** Direction accuracy (3-class accuracy for direction3) over all predicted rows. */
  accuracy: number;
  /** Block-bootstrap 95 % interval of the accuracy. */
  accuracyCi: [number, number];
  /** The naive binomial figures (rows assumed independent), labelled as such. */
  naive: { ci: [number, number]; pValue: number; method: string };
  /** Pooled baselines on the same rows. */
  baselines: { coinFlip: number; alwaysLong: number; majority: number; previousSign: number };
  /** The strongest of them. */
  strongestBaseline: BaselineName;
  /** Model − strongest baseline, with its interval. */
  edge: Edge;
  /** IC of the signal with the target, with its block-bootstrap interval. */
  ic: { value: number; ci: [number, number]; pValue: number; method: string };
  /** The same IC with its Driscoll–Kraay standard error, t-based 95 % interval and two-sided p-value. */
  icDriscollKraay: { value: number; se: number; ci: [number, number]; pValue: number; dof: number };
  /** `edge` or `no-edge`. */
  verdict: "edge" | "no-edge";
  /** What the verdict is on. */
  verdictOn: string;
  /** Every other pooled metric (rankIc, meanIC, icir, macroF1, shareUp, nTest, ...). */
  metrics: Record<string, number>;
}

/** An entry's backtest summary (the full equity curve is in the store). */
export interface BacktestSummary {
  /** Evaluation window. */
  window: { start: string; end: string };
  /** Days between decision and the first return earned. */
  lag: number;
  /** Commission, bps per unit of turnover. */
  costBps: number;
  /** Slippage, bps per unit of turnover. */
  slippageBps: number;
  /** Periods per year. */
  annualization: number;
  /** Portfolio construction. */
  portfolio: string;
  /** Sizing rule label (absent in studies stored before sizing was configurable: sign). */
  sizing?: string;
  /** Annual borrow on shorts, bps (absent before it was configurable: 0). */
  borrowBps?: number;
  /** Strategy metrics (sharpe, maxDrawdown, totalReturn, cagr, turnover, ...). */
  metrics: Record<string, number>;
  /** Equal-weight buy & hold on the same window. */
  buyAndHold: Record<string, number>;
  /** Sharpe(strategy) − Sharpe(buy & hold) with a block-bootstrap interval. */
  sharpeDifference: { value: number; ci: [number, number]; pValue: number; method: string };
  /** CPCV: one backtest per path (metrics only). */
  paths?: { path: number; metrics: Record<string, number> }[];
  /** Caveats. */
  warnings: string[];
}

/** One model entry of a study (one stored run). */
export interface EntryReport {
  /** Entry name. */
  name: string;
  /** Model kind. */
  kind: string;
  /** binary, multiclass or regression. */
  task: Task;
  /** Stored run id (absent when nothing was stored). */
  runId?: string;
  /** Compute backend used. */
  backend: string;
  /** Resolved settings. */
  settings: Record<string, unknown>;
  /** The fold table. */
  folds: FoldReport[];
  /** The pooled line. */
  pooled: PooledReport;
  /** Walk-forward efficiency, pooled. */
  efficiency: Efficiency;
  /** The gate. */
  gate: Gate;
  /** Backtest beside buy & hold. */
  backtest: BacktestSummary;
  /**
   * The one-sided-calls check over all rows (lib/pipeline/evaluate.ts `callShare`): the share of "up" calls and the
   * band it is held to; with three classes, the most-called class (`call`), its share against the band's upper end and
   * the three shares. Records written before `call` existed hold the share of "up" calls.
   */
  upShare: {
    share: number;
    band: [number, number];
    inBand: boolean;
    call?: "down" | "flat" | "up";
    classShares?: [number, number, number];
  };
  /** Per-fold health verdicts. */
  health: string[];
  /** Warnings of this entry. */
  warnings: string[];
}

/** One row of the comparison table. */
export interface ComparisonRow {
  /** Entry name. */
  name: string;
  /** Kind. */
  kind: string;
  /** Stored run id. */
  runId?: string;
  /** Pooled accuracy (or IC for regression headline). */
  headline: { metric: "accuracy" | "ic"; value: number; ci: [number, number] };
  /** Strongest baseline and its accuracy. */
  baseline: { name: string; value: number };
  /** Verdict. */
  verdict: "edge" | "no-edge";
  /** Pooled walk-forward efficiency. */
  wfe: number | null;
  /** Gate passed. */
  gate: boolean;
  /** Backtest Sharpe and max drawdown, and buy & hold's. */
  sharpe: number;
  /** Max drawdown (negative fraction). */
  maxDrawdown: number;
  /** Buy & hold Sharpe on the same window. */
  buyAndHoldSharpe: number;
  /** Buy & hold max drawdown. */
  buyAndHoldMaxDrawdown: number;
  /** "healthy" or the number of unhealthy folds. */
  health: string;
}

/** The whole study. */
export interface StudyReport {
  /** Stored study id (absent when nothing was stored). */
  id?: string;
  /** Epoch ms when it was created (from the store). */
  createdAt?: number;
  /** Status in the store. */
  status?: string;
  /** The resolved configuration. */
  config: StudyConfig;
  /** Where the prices came from. */
  source: string;
  /** Fingerprint of the input files. */
  fingerprint: string;
  /** candor version that ran it. */
  version: string;
  /** Symbols, in panel order. */
  symbols: string[];
  /** Feature names, in column order. */
  features: string[];
  /** The fold plan (date windows). */
  plan: {
    scheme: string;
    folds: { index: number; train: DateWindow[]; validation: DateWindow[]; test: DateWindow[] }[];
  };
  /** The entries. */
  entries: EntryReport[];
  /** The comparison table. */
  comparison: ComparisonRow[];
  /** Study-wide warnings (audit, notes, plausibility). */
  warnings: string[];
  /** Study-wide notes (features left out, data notes). */
  notes: string[];
  /**
   * Best achievable value of the study's accuracy (synthetic market only, and only for next-day direction: a
   * `direction` or `return` target over one day).
   */
  theoreticalAccuracy?: number;
  /** Findings of the configuration gate. */
  configurationChecks: ConfigurationFinding[];
}

/** The pooled line from the evaluation (see lib/pipeline/evaluate.ts). */
export function pooledReport(p: {
  metrics: Record<string, number>;
  baselines: Record<BaselineName, number>;
  strongestBaseline: BaselineName;
  accuracy: BootstrapEstimate;
  edge: Edge;
  ic: BootstrapEstimate;
  icDriscollKraay: PooledReport["icDriscollKraay"];
  verdict: "edge" | "no-edge";
  verdictOn: string;
}): PooledReport {
  return {
    accuracy: p.metrics.accuracy,
    accuracyCi: p.accuracy.ci,
    naive: {
      ci: [p.metrics.accuracyLow, p.metrics.accuracyHigh],
      pValue: p.metrics.accuracyPValue,
      method: "binomial test against the coin flip and Wilson interval, rows assumed independent (naive)",
    },
    baselines: {
      coinFlip: p.baselines.coinFlip,
      alwaysLong: p.baselines.alwaysLong,
      majority: p.baselines.majorityClass,
      previousSign: p.baselines.previousSign,
    },
    strongestBaseline: p.strongestBaseline,
    edge: p.edge,
    ic: { value: p.ic.estimate, ci: p.ic.ci, pValue: p.ic.pValue, method: p.ic.method },
    icDriscollKraay: p.icDriscollKraay,
    verdict: p.verdict,
    verdictOn: p.verdictOn,
    metrics: p.metrics,
  };
}

/** The comparison row of an entry. */
export function comparisonRow(e: EntryReport): ComparisonRow {
  const headline = e.task === "regression"
    ? { metric: "ic" as const, value: e.pooled.icDriscollKraay.value, ci: e.pooled.icDriscollKraay.ci }
    : { metric: "accuracy" as const, value: e.pooled.accuracy, ci: e.pooled.accuracyCi };
  const strongest = e.pooled.strongestBaseline;
  const baselineValue = strongest === "majorityClass"
    ? e.pooled.baselines.majority
    : e.pooled.baselines[strongest as Exclude<BaselineName, "majorityClass">];
  const unhealthy = e.health.filter((h) => h !== "healthy" && h !== "not predicted").length;
  return {
    name: e.name,
    kind: e.kind,
    ...(e.runId === undefined ? {} : { runId: e.runId }),
    headline,
    baseline: { name: strongest, value: baselineValue },
    verdict: e.pooled.verdict,
    wfe: e.gate.wfe,
    gate: e.gate.passed,
    sharpe: e.backtest.metrics.sharpe,
    maxDrawdown: e.backtest.metrics.maxDrawdown,
    buyAndHoldSharpe: e.backtest.buyAndHold.sharpe,
    buyAndHoldMaxDrawdown: e.backtest.buyAndHold.maxDrawdown,
    health: unhealthy === 0 ? "healthy" : `${unhealthy} of ${e.health.length} folds unhealthy`,
  };
}
