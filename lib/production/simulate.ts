/**
 * Forward simulation of production (`candor simulate --config study.yaml --from DATE [--retrain-every N]`): the
 * user's check that trading the model day by day gives what the backtest says.
 *
 * 1. **Walk forward, retraining on a schedule.** From the first date ≥ `from`, blocks of `retrainEvery` dates (one
 *    block to the end without it): before block k, every entry (a stack's bases first) is trained on the labelled
 *    rows whose label was known by then — decision dates up to the block's start − 1 − purge, the last
 *    `validationFraction` of them as the early-stopping tail, as in the study — and predicts the block's dates. The
 *    model at a decision date has seen data up to the day before at most.
 * 2. **Vectorized backtest** of those predictions (lib/pipeline/backtest.ts: the study's sizing and portfolio).
 * 3. **Forward simulation** of the same predictions (lib/backtest/simulator.ts): day by day, the sizer is shown
 *    only the returns and predictions up to the close of t (and its own past decisions) and decides the weights held
 *    from t + lag; the simulator does its own incremental accounting and re-decides every date from a view that runs
 *    to the end — a sizer that reads past t decides differently there and is caught (LeakageError).
 * 4. **The comparison**: the daily net returns of both, date by date. They must agree (to 1e-9): the same
 *    decisions, the same engine semantics. A difference means the sizing used information the day-by-day trader
 *    would not have had, or the two implementations diverge — either way the backtest cannot be trusted as a
 *    production track record.
 *
 * Features are computed once on the whole panel: each is past-only by construction and audited for it (the leakage
 * audit's truncation test runs in step 1 of every study), so truncating the panel at each date would compute the same
 * values.
 *
 * @module
 */

import { ConfigError } from "../errors.ts";
import { panelReturns, toGrid } from "../backtest/panel.ts";
import { simulateForward } from "../backtest/simulator.ts";
import type { BacktestMetrics } from "../backtest/metrics.ts";
import type { StudyConfig } from "../pipeline/config.ts";
import type { BacktestSummary } from "../pipeline/records.ts";
import { isTooGoodWarning, prepareStudy, syntheticMarketNote } from "../pipeline/study.ts";
import { dayNumber } from "../store/validate.ts";
import { configurationGate, type FoldPlan, MIN_FIT_DATES, rowsForDates } from "../pipeline/plan.ts";
import {
  backtestPredictions,
  directionAccuracy,
  type PredictionRows,
  priorOf,
  shareUp,
  sharpeDifference,
} from "../pipeline/backtest.ts";
import { type BookInput, rowSizingInputs, sizeBook } from "../pipeline/sizing.ts";
import { trainerOf } from "../pipeline/trainers/registry.ts";
import type { PlannedFold, StudyData } from "../pipeline/trainers/contract.ts";
import { carveValidationTail, makeFold } from "../validation/purge.ts";
import { outOfFoldFrom } from "./train.ts";

/** What a simulation needs. */
export interface SimulateInput {
  /** The resolved study configuration (data, target, features, entries, backtest, validation's purge and tail). */
  config: StudyConfig;
  /** First decision date (ISO); the first date of the data on or after it. */
  from: string;
  /** Dates between retrains (default: none — one model trained before `from`). */
  retrainEvery?: number;
  /** Simulate this entry only (default: every entry). */
  only?: string;
  /** Progress lines. */
  onProgress?: (message: string) => void;
  /** The sizer (default: the study's, lib/pipeline/sizing.ts); tests inject one that peeks. */
  book?: (input: BookInput) => { weights: Float64Array };
}

/** One entry's simulation beside its vectorized backtest. */
export interface SimulatedEntry {
  /** Entry name. */
  name: string;
  /** Kind. */
  kind: string;
  /** Dates predicted (first, last) and rows. */
  predicted: { start: string; end: string; rows: number };
  /** Forward simulation metrics. */
  forward: BacktestMetrics;
  /** Vectorized backtest metrics of the same predictions. */
  vectorized: BacktestMetrics;
  /** Buy & hold on the forward window. */
  buyAndHold: BacktestMetrics;
  /** Largest |difference| of the daily net returns over the dates either has. */
  maxDifference: number;
  /** Dates compared. */
  datesCompared: number;
  /** Whether the two agree to 1e-9. */
  matches: boolean;
  /** Warnings (the simulator's and the backtest's). */
  warnings: string[];
  /**
   * Forward Sharpe − buy & hold Sharpe over the dates both have, with its 95 % interval and one-sided p-value by a
   * block bootstrap over days (as the study's backtest reports it): a forward track record beside its benchmark.
   */
  sharpeDifference: BacktestSummary["sharpeDifference"];
}

/** What a simulation produced. */
export interface SimulationResult {
  /** First decision date simulated. */
  from: string;
  /** Retrain schedule: the first decision date of each block. */
  retrains: string[];
  /** Per entry. */
  entries: SimulatedEntry[];
  /** The conventions (lag, costs, sizing, portfolio). */
  backtest: StudyConfig["backtest"];
}

/** The tolerance of the forward/vectorized comparison (both are sums of the same products). */
export const MATCH_TOLERANCE = 1e-9;

/** Blocks of the walk-forward: a planned fold per block (training before it, the block as test). */
function blocks(
  config: StudyConfig,
  data: Pick<StudyData, "axis" | "dateIndex" | "horizon">,
  from: string,
  every: number | undefined,
): PlannedFold[] {
  const axis = data.axis;
  const first = axis.findIndex((d) => d >= from);
  if (first < 0) {
    throw new ConfigError(`--from ${from}: after the last date with a label (${axis[axis.length - 1]})`);
  }
  const v = config.validation;
  const size = every === undefined || every <= 0 ? axis.length - first : every;
  const out: PlannedFold[] = [];
  for (let s = first, k = 0; s < axis.length; s += size, k++) {
    const end = Math.min(axis.length, s + size);
    const trainEnd = s - v.purge; // exclusive: decision dates whose label is known the day before the block
    if (trainEnd <= 0) throw new ConfigError(`--from ${from}: no labelled date before it to train on`);
    const train = Int32Array.from({ length: trainEnd }, (_, i) => i);
    const { fit, validation } = carveValidationTail(train, v.validationFraction, v.purge);
    if (fit.length < MIN_FIT_DATES) {
      throw new ConfigError(
        `--from ${from}: the first model would fit on ${fit.length} dates (fewer than ${MIN_FIT_DATES}); start later`,
      );
    }
    const test = Int32Array.from({ length: end - s }, (_, i) => s + i);
    const fold = makeFold(k, axis, fit, test, { horizon: data.horizon, purge: v.purge, embargo: 0 }, validation);
    const n = axis.length;
    out.push({
      index: k,
      fold,
      rows: {
        fit: rowsForDates(data.dateIndex, fit, n),
        validation: rowsForDates(data.dateIndex, validation, n),
        test: rowsForDates(data.dateIndex, test, n),
      },
    });
  }
  return out;
}

/** Runs the simulation (see the module notes). */
export async function simulateProduction(input: SimulateInput): Promise<SimulationResult> {
  const { config } = input;
  const progress = input.onProgress ?? (() => {});
  const names = config.models.map((m) => m.name);
  if (input.only !== undefined && !names.includes(input.only)) {
    throw new ConfigError(`--model: no entry ${JSON.stringify(input.only)} in the study; entries: ${names.join(", ")}`);
  }
  if (dayNumber(input.from) === undefined) {
    throw new ConfigError(`from ${JSON.stringify(input.from)}: not a calendar date (expected YYYY-MM-DD)`);
  }
  if (input.retrainEvery !== undefined && !(Number.isInteger(input.retrainEvery) && input.retrainEvery >= 1)) {
    throw new ConfigError(`--retrain-every: expected an integer ≥ 1 (dates), found ${input.retrainEvery}`);
  }
  progress("preparing the data");
  const study = await prepareStudy(config);
  const { data } = study.prepared;
  const panel = study.market.panel;
  // On the synthetic market with a planted signal a strong forward Sharpe is expected: the study's note, not an alarm.
  const theoretical = study.market.theoreticalAccuracy;
  const syntheticNoted = (warnings: string[], name: string, m: BacktestMetrics): string[] =>
    theoretical === undefined || !warnings.some(isTooGoodWarning) ? warnings : [
      ...warnings.filter((w) => !isTooGoodWarning(w)),
      syntheticMarketNote(theoretical, `${name}'s forward Sharpe ${m.sharpe.toFixed(2)} is expected here`),
    ];
  const folds = blocks(config, data, input.from, input.retrainEvery);
  const plan: FoldPlan = { scheme: "anchored", folds };
  // Which entries to train: the selected ones and what they combine.
  const wanted = new Set<string>();
  const visit = (n: string) => {
    if (wanted.has(n)) return;
    for (const b of config.models.find((m) => m.name === n)!.base ?? []) visit(b);
    wanted.add(n);
  };
  (input.only === undefined ? names : [input.only]).forEach(visit);
  const width = data.task === "multiclass" ? data.classes : 1;
  const predicted = new Map<string, { rows: number[]; scores: number[]; winRate: number[] }>();
  for (const entry of config.models.filter((m) => wanted.has(m.name))) {
    const trainer = trainerOf(entry.kind)!;
    const acc = { rows: [] as number[], scores: [] as number[], winRate: [] as number[] };
    for (const fold of folds) {
      progress(`${entry.name}: block ${fold.index + 1}/${folds.length} (${fold.fold.test[0]?.start ?? ""}): training`);
      const oof = outOfFoldFrom(
        plan,
        data,
        new Map([...predicted].map(([n, p]) => [n, { rows: p.rows, scores: p.scores }])),
      );
      const out = await trainer.fit({
        entry: { name: entry.name, kind: entry.kind, settings: entry.settings, base: entry.base, meta: entry.meta },
        data,
        fold,
        seed: config.seed,
        oof,
      });
      configurationGate(data.horizon, { ...plan, folds: [fold] }, out.fitted);
      const prior = priorOf(directionAccuracy(data, out.rows.validation, out.validation), shareUp(data, out.rows.fit));
      out.rows.test.forEach((r, j) => {
        acc.rows.push(r);
        for (let c = 0; c < width; c++) acc.scores.push(out.test[j * width + c]);
        acc.winRate.push(prior);
      });
    }
    predicted.set(entry.name, acc);
  }
  const grid = panelReturns(panel);
  const entries: SimulatedEntry[] = [];
  for (const name of input.only === undefined ? names : [input.only]) {
    const p = predicted.get(name)!;
    if (p.rows.length === 0) throw new ConfigError(`${name}: nothing was predicted from ${input.from}`);
    const rows: PredictionRows = {
      dates: p.rows.map((r) => data.dates[r]),
      symbols: p.rows.map((r) => data.symbols[r]),
      scores: p.scores,
      winRate: p.winRate,
    };
    progress(`${name}: vectorized backtest and forward simulation`);
    const ctx = {
      task: data.task,
      classes: data.classes,
      targetKind: config.target.kind,
      horizon: data.horizon,
      backtest: config.backtest,
    };
    const vectorized = backtestPredictions(panel, rows, ctx).result;
    // The forward grid starts a warm-up before the first decision (trailing windows), so the day-by-day sizer's
    // cost stays quadratic in the simulated dates only.
    const first = grid.dates.indexOf(rows.dates.reduce((a, b) => (a < b ? a : b)));
    const start = Math.max(0, first - warmup(config));
    const dates = grid.dates.slice(start);
    const mSym = grid.symbols.length;
    const returns = grid.returns.subarray(start * mSym);
    const inputs = rowSizingInputs(data.task, Float64Array.from(rows.scores), width);
    const place = (values: ArrayLike<number>) =>
      toGrid({ dates: rows.dates, symbols: rows.symbols, values }, dates, grid.symbols);
    const signal = place(inputs.signal);
    const probability = inputs.probability === undefined ? undefined : place(inputs.probability);
    const winRate = place(rows.winRate);
    const b = config.backtest;
    const costs = {
      lag: b.lag,
      costBps: b.costBps,
      slippageBps: b.slippageBps,
      borrowBps: b.borrowBps,
      annualization: b.annualization,
    };
    const book = input.book ?? sizeBook;
    const forward = simulateForward({
      returns,
      symbols: mSym,
      forecasts: signal,
      dates,
      ...costs,
      // The decision at the close of t from the view: returns and signals through t; the side inputs (P(up), the
      // win-rate prior) cut where the view's returns end (the audit's oracle view runs to the last date).
      sizer: (_forecast, view) => {
        const k = view.returns.length;
        const { weights } = book({
          dates: dates.slice(0, k / mSym),
          symbols: grid.symbols,
          returns: view.returns,
          signal: view.forecasts!,
          ...(probability === undefined ? {} : { probability: probability.subarray(0, k) }),
          winRate: winRate.subarray(0, k),
          task: data.task,
          targetKind: config.target.kind,
          horizon: data.horizon,
          sizing: b.sizing,
          portfolio: b.portfolio,
          costs,
        });
        return weights.subarray(view.t * mSym, (view.t + 1) * mSym);
      },
    });
    let maxDifference = 0, compared = 0;
    for (let t = 0; t < dates.length; t++) {
      const a = forward.netReturns[t], v = vectorized.netReturns[start + t];
      if (!Number.isFinite(a) && !Number.isFinite(v)) continue;
      compared++;
      const d = Number.isFinite(a) && Number.isFinite(v) ? Math.abs(a - v) : Infinity;
      if (d > maxDifference) maxDifference = d;
    }
    const sorted = [...rows.dates].sort();
    entries.push({
      name,
      kind: config.models.find((m) => m.name === name)!.kind,
      predicted: { start: sorted[0], end: sorted[sorted.length - 1], rows: rows.dates.length },
      forward: forward.metrics,
      vectorized: vectorized.metrics,
      buyAndHold: forward.buyAndHold.metrics,
      maxDifference,
      datesCompared: compared,
      matches: maxDifference <= MATCH_TOLERANCE,
      sharpeDifference: sharpeDifference(
        forward.netReturns,
        forward.buyAndHold.netReturns,
        data.horizon,
        b.annualization,
        config.seed,
      ),
      warnings: syntheticNoted([...new Set([...forward.warnings, ...vectorized.warnings])], name, forward.metrics),
    });
  }
  return {
    from: data.axis[folds[0].fold.testIndices[0]],
    retrains: folds.map((f) => data.axis[f.fold.testIndices[0]]),
    entries,
    backtest: config.backtest,
  };
}

/** Dates of history the sizing rule reads before a decision (its trailing window), with a margin. */
function warmup(config: StudyConfig): number {
  const s = config.backtest.sizing as { window?: number };
  return Math.max(s.window ?? 20, 20) + 5;
}
