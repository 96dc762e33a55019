/**
 * One model entry of a study, fold by fold: fit through the kind's trainer (the loop never branches on the kind),
 * check the windows it actually fitted on, score the test rows beside the naive baselines, record everything, then
 * pool the folds into the verdict, the gate and the backtest.
 *
 * @module
 */

import type { Panel } from "../data/panel.ts";
import type { ModelEntry, StudyConfig } from "./config.ts";
import type { FoldOutput, FoldTrainer, OutOfFoldPredictions, PlannedFold, StudyData } from "./trainers/contract.ts";
import type { FoldPlan } from "./plan.ts";
import { configurationGate } from "./plan.ts";
import {
  callShareText,
  foldBaselines,
  type FoldScores,
  majorityOf,
  poolEntry,
  predictionHealth,
  targetDistribution,
  taskMetrics,
} from "./evaluate.ts";
import { backtestEntry } from "./backtest.ts";
import { type EntryReport, type FoldReport, pooledReport } from "./records.ts";
import type { StudyRecorder } from "./recorder.ts";
import type { DiagnosticRecord } from "../store/store.ts";

/** Progress of an entry: fraction in [0, 1] within the entry and a short status. */
export type EntryProgress = (fraction: number, status: string) => void;

/** What training an entry needs. */
export interface EntryContext {
  /** The entry. */
  entry: ModelEntry;
  /** Its trainer. */
  // deno-lint-ignore no-explicit-any
  trainer: FoldTrainer<any>;
  /** The study's dataset and previous-period values. */
  data: StudyData;
  /** Previous-period values (baselines). */
  previous: Float64Array;
  /** The fold plan. */
  plan: FoldPlan;
  /** The panel (backtest). */
  panel: Panel;
  /** The resolved study configuration. */
  config: StudyConfig;
  /** Out-of-sample predictions of the entries trained before (stacking). */
  oof: OutOfFoldPredictions;
  /** The recorder (writes nothing without a store). */
  recorder: StudyRecorder;
  /** Stored run id of this entry. */
  runId?: string;
  /** Backend the entry uses. */
  backend: string;
  /** Progress within the entry. */
  onProgress: EntryProgress;
  /** Called with the fold being trained (for error records). */
  onFold: (fold: number | undefined) => void;
}

/** An entry's outcome: its report, and its scores for every dataset row (for entries that combine it). */
export interface EntryOutcome {
  /** The report (also written to the store). */
  report: EntryReport;
  /** Scores of every dataset row predicted out of sample (NaN elsewhere), width per row. */
  scores: Float64Array;
  /** Scores per row. */
  width: number;
  /** The stitched out-of-sample rows and their scores (fold order). */
  predictions: { rows: Int32Array; scores: Float64Array };
}

/** One fold's outcome, as trained now or read back from the store. */
export interface FoldResult {
  /** The fold's row of the fold table (fit report included). */
  report: FoldReport;
  /** Rows and scores of the test window and the tail; absent when the fold was not predicted. */
  scores?: FoldScores;
  /** The majority class of the fold's fitting rows (the majority baseline). */
  majority: number;
  /** Warnings the fold raised. */
  warnings: string[];
}

/**
 * A fold's health line: the trainer's verdict, then what its test predictions show — constant predictions, or else
 * calls outside `health.upShareBand` (a model that mostly calls one side scores about that side's base rate, the
 * classic flattering failure), each a finding of its own beside a healthy fit.
 */
function foldHealth(trained: string, prediction: string | undefined): string {
  if (prediction === undefined) return trained;
  return trained === "healthy" ? prediction : `${trained}; ${prediction}`;
}

/** The share of an entry's progress its folds take; pooling and the backtest take the rest. */
const FOLDS_SHARE = 0.97;

/** Where a fold is in its entry's plan, for progress; and how many folds train alongside it. */
export interface FoldPosition {
  /** The fold's place in the plan (0-based). */
  i: number;
  /** Folds in the plan. */
  n: number;
  /** Folds of the entry training at the same time, this one included (the trainer's `foldsAtOnce`); 1 if unset. */
  atOnce?: number;
  /** Progress within the fold ([0, 1], status); default: the entry's progress at (i + f) / n of its folds' share. */
  progress?: (fraction: number, status: string) => void;
}

/**
 * Trains one fold of an entry, evaluates it beside the baselines and records it (fold, predictions, epochs,
 * diagnostics). `position` is the fold's place in the plan, for progress.
 */
export async function trainFold(
  ctx: EntryContext,
  planned: PlannedFold,
  position: FoldPosition,
): Promise<FoldResult> {
  const { entry, trainer, data, plan, recorder } = ctx;
  const width = data.task === "multiclass" ? data.classes : 1;
  const { i, n } = position;
  const progress = position.progress ??
    ((f: number, status: string) => ctx.onProgress(FOLDS_SHARE * (i + f) / n, status));
  const band = ctx.config.health.upShareBand;
  const warnings: string[] = [];
  ctx.onFold(planned.index);
  const t0 = performance.now();
  progress(0, `fold ${i + 1}/${n}: training`);
  const out: FoldOutput = await trainer.fit({
    entry: { name: entry.name, kind: entry.kind, settings: entry.settings, base: entry.base, meta: entry.meta },
    data,
    fold: planned,
    seed: ctx.config.seed,
    oof: ctx.oof,
    onProgress: (f, status) => progress(f, `fold ${i + 1}: ${status}`),
    ...(position.atOnce === undefined ? {} : { foldsAtOnce: position.atOnce }),
  });
  // The windows the fit actually used must lie inside the fold's training period (a bug here is a leak).
  configurationGate(data.horizon, { ...plan, folds: [planned] }, out.fitted);
  const seconds = (performance.now() - t0) / 1000;
  const skipped = out.rows.test.length === 0 ? (out.report as { skipped?: string }).skipped ?? "not predicted" : "";
  const majority = majorityOf(data, out.rows.fit);
  const diagnostics: DiagnosticRecord[] = [...out.diagnostics];
  let metrics: Record<string, number> = {};
  let baselines: Record<string, number> = {};
  let previousSign = { rows: 0, excluded: 0 };
  let scores: FoldScores | undefined;
  let predicted: string | undefined; // constant or one-sided test predictions are not healthy, whatever the fit says
  if (skipped === "") {
    metrics = taskMetrics(data, out.rows.test, out.test);
    if (out.rows.validation.length > 0) {
      const tail = taskMetrics(data, out.rows.validation, out.validation);
      metrics.validationAccuracy = tail.accuracy;
      metrics.validationIc = tail.ic;
    }
    const b = foldBaselines(data, ctx.previous, out.rows.test, out.test, majority);
    baselines = b.baselines;
    previousSign = b.previousSign;
    const h = predictionHealth(planned.index, data, out.test, band);
    diagnostics.push(...h.diagnostics);
    warnings.push(...h.warnings.map((w) => `${entry.name} ${w}`));
    const finding = (kind: string) => h.diagnostics.find((d) => d.kind === kind && d.severity === "warning")?.message;
    predicted = finding("prediction-spread") ?? finding("up-share");
    scores = { index: planned.index, rows: out.rows, test: out.test, validation: out.validation };
  }
  warnings.push(...out.warnings);
  const report: FoldReport = {
    index: planned.index,
    train: planned.fold.train,
    validation: planned.fold.validation ?? [],
    test: planned.fold.test,
    purge: planned.fold.purge,
    embargo: planned.fold.embargo,
    nTrain: out.rows.fit.length,
    nValidation: out.rows.validation.length,
    nTest: out.rows.test.length,
    metrics,
    baselines,
    ...(out.report.bestIteration === undefined ? {} : { bestIteration: out.report.bestIteration }),
    health: skipped === "" ? foldHealth(out.health, predicted) : "not predicted",
    targets: targetDistribution(data, out.rows),
    efficiency: null,
    ...(skipped === "" ? {} : { skipped }),
    seconds,
    fit: { ...out.report, seconds },
  };
  await recorder.fold(ctx.runId, report, {
    epochs: out.epochs ?? [],
    diagnostics,
    previousSign,
    majority,
    warnings,
    predictions: {
      dates: Array.from(out.rows.test, (r) => data.dates[r]),
      symbols: Array.from(out.rows.test, (r) => data.symbols[r]),
      values: out.test,
      width,
    },
    tail: {
      dates: Array.from(out.rows.validation, (r) => data.dates[r]),
      symbols: Array.from(out.rows.validation, (r) => data.symbols[r]),
      values: out.validation,
      width,
    },
  });
  ctx.onFold(undefined);
  return { report, ...(scores === undefined ? {} : { scores }), majority, warnings };
}

/**
 * Trains and evaluates one entry over every fold of the plan. `stored`: folds finished before (a resumed study, read
 * back with `readFoldResults`); only the plan's other folds are trained, then all are pooled alike.
 */
export async function trainEntry(ctx: EntryContext, stored: readonly FoldResult[] = []): Promise<EntryOutcome> {
  const done = new Set(stored.map((r) => r.report.index));
  const todo = ctx.plan.folds.flatMap((planned, i) => (done.has(planned.index) ? [] : [{ planned, i }]));
  const cores = navigator.hardwareConcurrency ?? 1;
  const atOnce = Math.min(todo.length, Math.max(1, ctx.trainer.foldsAtOnce?.(ctx.entry.settings, cores) ?? 1));
  const results: FoldResult[] = [...stored];
  if (atOnce > 1) results.push(...await trainSideBySide(ctx, todo, atOnce, done.size));
  else {
    for (const { planned, i } of todo) results.push(await trainFold(ctx, planned, { i, n: ctx.plan.folds.length }));
  }
  return await finishEntry(ctx, results);
}

/** Thrown into a fold still training beside one that failed, to stop it at its next progress point. */
class StoppedBesideFailure extends Error {}

/**
 * Trains `todo` with up to `atOnce` folds at a time (each fold's heavy work runs off this thread; see the trainer's
 * `foldsAtOnce`). Largest training window first, so that the last fold to start is a short one. Results do not
 * depend on the order. When a fold fails, the folds beside it are stopped at their next progress point (finished
 * ones are stored), the failing fold is reported to `onFold`, and its error is thrown.
 */
async function trainSideBySide(
  ctx: EntryContext,
  todo: { planned: PlannedFold; i: number }[],
  atOnce: number,
  alreadyDone: number,
): Promise<FoldResult[]> {
  const n = ctx.plan.folds.length;
  const queue = [...todo].sort((a, b) => b.planned.rows.fit.length - a.planned.rows.fit.length || a.i - b.i);
  const fraction = new Map<number, number>();
  const results: FoldResult[] = [];
  let failure: { error: unknown; fold: number } | undefined;
  const laneCtx: EntryContext = { ...ctx, onFold: () => {} };
  const lane = async () => {
    for (let next = queue.shift(); next !== undefined && failure === undefined; next = queue.shift()) {
      const { planned, i } = next;
      const progress = (f: number, status: string) => {
        if (failure !== undefined) throw new StoppedBesideFailure(`fold ${i + 1} stopped: another fold failed`);
        fraction.set(i, f);
        let sum = alreadyDone;
        for (const v of fraction.values()) sum += v;
        ctx.onProgress(FOLDS_SHARE * sum / n, status);
      };
      try {
        results.push(await trainFold(laneCtx, planned, { i, n, atOnce, progress }));
      } catch (error) {
        if (!(error instanceof StoppedBesideFailure)) failure ??= { error, fold: planned.index };
      }
    }
  };
  await Promise.all(Array.from({ length: atOnce }, lane));
  if (failure !== undefined) {
    ctx.onFold(failure.fold);
    throw failure.error;
  }
  return results;
}

/**
 * Pools an entry's folds (trained now, or read back from the store) into the verdict, the gate and the backtest,
 * stores them and seals the entry's run.
 */
export async function finishEntry(ctx: EntryContext, results: readonly FoldResult[]): Promise<EntryOutcome> {
  const { entry, data, plan, recorder } = ctx;
  const width = data.task === "multiclass" ? data.classes : 1;
  const band = ctx.config.health.upShareBand;
  const ordered = [...results].sort((a, b) => a.report.index - b.report.index);
  const folds = ordered.map((r) => r.report);
  const scores = ordered.flatMap((r) => (r.scores === undefined ? [] : [r.scores]));
  const majority = new Map(ordered.map((r) => [r.report.index, r.majority]));
  const warnings = ordered.flatMap((r) => r.warnings);
  if (scores.length === 0) {
    throw new Error(`${entry.name}: no fold was predicted, nothing to evaluate`);
  }
  ctx.onProgress(FOLDS_SHARE, "pooling and backtesting");
  const pooled = poolEntry(data, ctx.previous, scores, majority, {
    seed: ctx.config.seed,
    wfeThreshold: ctx.config.gate.wfeThreshold,
    upShareBand: band,
  });
  pooled.foldEfficiency.forEach((e, i) => {
    const f = folds.find((x) => x.index === scores[i].index)!;
    f.efficiency = e; // stored in the run summary (folds are written before the pooled baseline is known)
  });
  // Stitch the out-of-sample rows (fold order) and scatter the scores over the dataset for combining entries.
  const nRows = scores.reduce((s, f) => s + f.rows.test.length, 0);
  const rows = new Int32Array(nRows);
  const stitched = new Float64Array(nRows * width);
  const all = new Float64Array(data.dates.length * width).fill(NaN);
  let at = 0;
  for (const f of scores) {
    rows.set(f.rows.test, at);
    stitched.set(f.test, at * width);
    f.rows.test.forEach((r, j) => {
      for (let c = 0; c < width; c++) all[r * width + c] = f.test[j * width + c];
    });
    at += f.rows.test.length;
  }
  const backtest = backtestEntry({ panel: ctx.panel, data, folds: scores, config: ctx.config, plan });
  if (!pooled.upShare.inBand) {
    const side = pooled.upShare.classShares === undefined ? "side" : "class";
    warnings.push(
      `${entry.name}: over all folds, ${callShareText(pooled.upShare)}: its accuracy is mostly the base rate of the ` +
        `${side} it calls`,
    );
  }
  if (!pooled.gate.passed) warnings.push(`${entry.name}: gate failed: ${pooled.gate.reason}`);
  const report: EntryReport = {
    name: entry.name,
    kind: entry.kind,
    task: data.task,
    ...(ctx.runId === undefined ? {} : { runId: ctx.runId }),
    backend: ctx.backend,
    settings: entry.settings,
    folds,
    pooled: pooledReport(pooled),
    efficiency: pooled.efficiency,
    gate: pooled.gate,
    backtest: backtest.summary,
    upShare: pooled.upShare,
    health: folds.map((f) => f.health),
    warnings: [...warnings, ...backtest.summary.warnings.map((w) => `${entry.name} backtest: ${w}`)],
  };
  await recorder.finishEntry(ctx.runId, report, backtest.record);
  return { report, scores: all, width, predictions: { rows, scores: stitched } };
}
