/**
 * Production records (store schema version 4) in the GraphQL schema: registered models and the predictions they made,
 * backtests added to runs, robustness sweeps with their trials, and the trial registry.
 *
 * - `models(first, after)` / `model(id)`: what a user needs to find, trust and reproduce a production model (kind,
 *   entry name, the study and run whose gate allowed it, the trained window, the gate and whether it was skipped, the
 *   candor version, the data fingerprint, the features) and its prediction batches (`latestPredictions`,
 *   `predictions(last)`): per symbol the score, confidence, position, weight and warnings.
 * - `Run.backtests`: the backtests added to a run (`candor backtest --run`), each with its deflated Sharpe ratio and
 *   the number of trials it was deflated with; the run's own backtest stays `Run.backtest`.
 * - `sweeps(first, after)` / `sweep(id)`: a sweep's key, grid, deflation (N trials and the trial Sharpe variance its
 *   deflated Sharpe ratios used), PBO per window and its trials (cell coordinates, metrics, DSR, buy & hold).
 * - `trialCount(dataFingerprint, target, horizon)`: what the registry counts now under a key (study entries, added
 *   backtests, sweep cells) — the N the next deflated Sharpe ratio on that data and target will use.
 *
 * **Paging.** The store lists models and sweeps newest first by offset; a cursor carries the offset and the last
 * record's (creation time, id), and the next page skips what sorts at or before it. Models and sweeps are never
 * deleted, so records registered between two pages never make a page repeat or skip one.
 *
 * Every list is batched through the per-request loaders (loaders.ts): models by id, prediction batches of any number
 * of models, added backtests of any number of runs, sweeps by id and trials of any number of sweeps are one store call
 * each. Costs: `first`/`last`/`limit` multiply; other lists by their typical length (builder.ts LIST_SIZES).
 *
 * @module
 */

import type {
  ListTrialsOptions,
  ProductionPrediction,
  StoredModel,
  StoredProductionPredictions,
  StoredRunBacktest,
  StoredSweep,
  StoredTrial,
  TrialCount,
} from "../lib/store/production.ts";
import { variance } from "../lib/production/trials.ts";
import {
  badInput,
  type Builder,
  finiteOrNull,
  type GraphQLContext,
  isoTime,
  LIST_SIZES,
  metricList,
  notFound,
  OPAQUE_COST,
  type SharedRefs,
} from "./builder.ts";
import { chargeList } from "./guard.ts";
import type { StudyRefs } from "./schema_studies.ts";

/** Default and largest page of `models` and `sweeps`. */
export const DEFAULT_PRODUCTION_PAGE = 20;
export const MAX_PRODUCTION_PAGE = 100;
/** Default and largest number of prediction batches of `Model.predictions`. */
export const DEFAULT_BATCHES = 10;
export const MAX_BATCHES = 100;
/** Default and largest page of `Sweep.trials`. */
export const DEFAULT_TRIAL_PAGE = 100;
export const MAX_TRIAL_PAGE = 1000;

/** A record listed newest first: ordered by creation time, then id, both descending. */
interface Listed {
  id: string;
  createdAt: number;
}

interface Edge<T> {
  node: T;
  cursor: string;
}

interface Connection<T> {
  edges: Edge<T>[];
  hasNextPage: boolean;
}

/** A model's gate as the study recorded it. */
interface ModelGate {
  passed: boolean | null;
  wfe: number | null;
  threshold: number | null;
  reason: string | null;
}

/** How a deflated Sharpe ratio was computed (lib/production/trials.ts `Deflation`, flattened). */
interface DeflationView {
  trials: number;
  runs: number | null;
  runBacktests: number | null;
  sweepTrials: number | null;
  retired: number | null;
  trialSharpeVariance: number | null;
}

/** PBO of one window of a sweep (lib/production/sweep.ts `PboSummary`). */
interface PboWindow {
  window: { start: string; end: string };
  cells: number | null;
  pbo: number | null;
  probabilityOfLoss: number | null;
  groups: number | null;
  reason: string | null;
}

const isObject = (x: unknown): x is Record<string, unknown> => typeof x === "object" && x !== null && !Array.isArray(x);
const num = (x: unknown): number | null => (typeof x === "number" && Number.isFinite(x) ? x : null);
const str = (x: unknown): string | null => (typeof x === "string" ? x : null);

function encodeCursor(kind: string, offset: number, last: Listed): string {
  return btoa(JSON.stringify([kind, offset, last.createdAt, last.id])).replace(/=+$/, "");
}

function decodeCursor(kind: string, after: string | null | undefined): { offset: number; last: Listed } | null {
  if (after === null || after === undefined) return null;
  let parsed: unknown = null;
  try {
    parsed = JSON.parse(atob(after));
  } catch { /* refused below */ }
  if (
    !Array.isArray(parsed) || parsed.length !== 4 || parsed[0] !== kind || !Number.isSafeInteger(parsed[1]) ||
    parsed[1] < 0 || !Number.isSafeInteger(parsed[2]) || typeof parsed[3] !== "string"
  ) {
    throw badInput(`after must be an endCursor returned by a previous page of ${kind}`);
  }
  return { offset: parsed[1], last: { createdAt: parsed[2], id: parsed[3] } };
}

/** True when `x` is listed after `last` (newest first: older, or as old with a smaller id). */
const listedAfter = (x: Listed, last: Listed) =>
  x.createdAt < last.createdAt || (x.createdAt === last.createdAt && x.id < last.id);

/**
 * A page of `first` records after the cursor, from a newest-first list the store reads by offset. Records inserted
 * before the cursor's position since the previous page shift the offsets; those read again are skipped (they sort at or
 * before the cursor's record), reading on until the page is full or the list ends.
 */
async function pageOf<T extends Listed>(
  kind: string,
  read: (limit: number, offset: number) => Promise<T[]>,
  args: { first?: number | null; after?: string | null },
  ctx: GraphQLContext,
): Promise<Connection<T>> {
  const first = args.first ?? DEFAULT_PRODUCTION_PAGE;
  if (!Number.isSafeInteger(first) || first < 1 || first > MAX_PRODUCTION_PAGE) {
    throw badInput(`first must be between 1 and ${MAX_PRODUCTION_PAGE}, got ${first}`);
  }
  const cursor = decodeCursor(kind, args.after);
  const kept: { node: T; position: number }[] = [];
  let at = cursor?.offset ?? 0;
  for (;;) {
    ctx.guard.checkTime();
    const batch = await read(first + 1, at);
    batch.forEach((node, i) => {
      if (cursor === null || listedAfter(node, cursor.last)) kept.push({ node, position: at + i });
    });
    at += batch.length;
    if (kept.length > first || batch.length < first + 1) break;
  }
  const page = kept.slice(0, first);
  return {
    edges: page.map(({ node, position }) => ({ node, cursor: encodeCursor(kind, position + 1, node) })),
    hasNextPage: kept.length > first,
  };
}

function gateOf(m: StoredModel): ModelGate {
  const g = m.gate;
  return {
    passed: typeof g.passed === "boolean" ? g.passed : null,
    wfe: num(g.wfe),
    threshold: num(g.threshold),
    reason: str(g.reason),
  };
}

/**
 * A stored deflation (`{ trials, counted: { runs, runBacktests, sweepTrials, retired }, trialSharpeVariance }`; no
 * `retired` before schema version 5), or null.
 */
function deflationOf(x: unknown): DeflationView | null {
  if (!isObject(x) || num(x.trials) === null) return null;
  const counted = isObject(x.counted) ? x.counted : {};
  return {
    trials: num(x.trials)!,
    runs: num(counted.runs),
    runBacktests: num(counted.runBacktests),
    sweepTrials: num(counted.sweepTrials),
    retired: num(counted.retired),
    trialSharpeVariance: num(x.trialSharpeVariance),
  };
}

/** The PBO windows of a sweep's summary (`{ pbo: PboSummary[] }`); empty when it holds none in that shape. */
function pboOf(s: StoredSweep): PboWindow[] {
  const list = s.summary?.pbo;
  if (!Array.isArray(list)) return [];
  return list.filter((p) => isObject(p) && isObject(p.window)).map((p: Record<string, unknown>) => {
    const w = p.window as Record<string, unknown>;
    return {
      window: { start: str(w.start) ?? "", end: str(w.end) ?? "" },
      cells: num(p.cells),
      pbo: num(p.pbo),
      probabilityOfLoss: num(p.probabilityOfLoss),
      groups: num(p.groups),
      reason: str(p.reason),
    };
  });
}

/** Adds the production types, the root queries over them and `Run.backtests`. */
export function addProductionTypes(builder: Builder, refs: SharedRefs, studyRefs: StudyRefs): void {
  const { RunRef, MetricRef, DateWindowRef, EquityPointRef, PageInfoRef, SortDirectionEnum } = refs;
  const { StudyRef } = studyRefs;

  const ModelGateRef = builder.objectRef<ModelGate>("ModelGate").implement({
    description: "The study's gate for the entry a model was trained from: it passes when the entry has an edge over " +
      "its strongest naive baseline and its walk-forward efficiency reaches the threshold.",
    fields: (t) => ({
      passed: t.boolean({ nullable: true, resolve: (g) => g.passed }),
      wfe: t.float({ nullable: true, description: "Walk-forward efficiency.", resolve: (g) => g.wfe }),
      threshold: t.float({
        nullable: true,
        description: "Least walk-forward efficiency.",
        resolve: (g) => g.threshold,
      }),
      reason: t.string({ nullable: true, resolve: (g) => g.reason }),
    }),
  });

  const ProductionPredictionRef = builder.objectRef<ProductionPrediction>("ProductionPrediction").implement({
    description: "One symbol's production prediction. Numbers are null when the symbol could not be predicted (its " +
      "warnings say why).",
    fields: (t) => ({
      symbol: t.exposeString("symbol"),
      date: t.exposeString("date", { description: "Decision date of the features predicted from (YYYY-MM-DD)." }),
      score: t.float({
        nullable: true,
        description: "P(up), P(UP) − P(DOWN), or the forecast (the batch's details say which).",
        resolve: (p) => finiteOrNull(p.score),
      }),
      confidence: t.float({
        nullable: true,
        description: "Calibrated probability of the called side, or forecast / σ.",
        resolve: (p) => finiteOrNull(p.confidence),
      }),
      position: t.float({
        nullable: true,
        description: "Target position under the model's sizing rule (fraction of the symbol's sleeve).",
        resolve: (p) => finiteOrNull(p.position),
      }),
      weight: t.float({
        nullable: true,
        description: "Share of capital (position × the portfolio's sleeve).",
        resolve: (p) => finiteOrNull(p.weight),
      }),
      warnings: t.exposeStringList("warnings", {
        description: "Why the prediction deserves caution (stale data, missing features, an unseen symbol, a gap " +
          "since training).",
        complexity: OPAQUE_COST,
      }),
    }),
  });

  const PredictionBatchRef = builder.objectRef<StoredProductionPredictions>("PredictionBatch").implement({
    description: "One call of `candor predict`: a model's predictions as of a date, one row per symbol.",
    fields: (t) => ({
      id: t.exposeID("id"),
      asOf: t.exposeString("asOf", { description: "Last price date used (YYYY-MM-DD)." }),
      dataFingerprint: t.exposeString("dataFingerprint", { description: "Fingerprint of the price files read." }),
      dataSource: t.exposeString("dataSource"),
      createdAt: t.string({ description: "ISO 8601 UTC.", resolve: (b) => isoTime(b.createdAt)! }),
      details: t.field({
        type: "JSON",
        nullable: true,
        description: "Conventions of the batch (what the score and confidence are, the sizing rule).",
        complexity: OPAQUE_COST,
        resolve: (b) => b.details,
      }),
      rowCount: t.int({ resolve: (b) => b.rows.length }),
      rows: t.field({
        type: [ProductionPredictionRef],
        description: "In the order written; only these symbols when `symbols` is given.",
        args: { symbols: t.arg.stringList() },
        complexity: { field: 1, multiplier: LIST_SIZES.predictionRows },
        resolve: (b, { symbols }, ctx, info) => {
          const keep = symbols === null || symbols === undefined ? null : new Set(symbols);
          return chargeList(ctx.guard, info, keep === null ? b.rows : b.rows.filter((r) => keep.has(r.symbol)));
        },
      }),
    }),
  });

  const ModelRef = builder.objectRef<StoredModel>("Model").implement({
    description: "A registered production model: an entry of a study retrained on all labelled data once its gate " +
      "passed (or with the gate skipped, which is recorded). Never changes; a retrain is a new model.",
    fields: (t) => ({
      id: t.exposeID("id"),
      name: t.exposeString("name", { description: "The study entry it was trained for, e.g. gbm." }),
      kind: t.exposeString("kind", { description: "Model kind, e.g. xgboost." }),
      path: t.exposeString("path", { description: "The model folder (manifest and component files)." }),
      studyId: t.id({ nullable: true, resolve: (m) => m.studyId }),
      study: t.field({
        type: StudyRef,
        nullable: true,
        description: "The study whose gate allowed it (null if none, or deleted since).",
        resolve: (m, _a, ctx) => (m.studyId === null ? null : ctx.loaders.study.load(m.studyId)),
      }),
      runId: t.id({ nullable: true, resolve: (m) => m.runId }),
      run: t.field({
        type: RunRef,
        nullable: true,
        description: "The entry's run in that study (null if none, or deleted since).",
        resolve: (m, _a, ctx) => (m.runId === null ? null : ctx.loaders.run.load(m.runId)),
      }),
      targetKind: t.exposeString("targetKind", { description: "direction, direction3, return or excess." }),
      horizon: t.exposeInt("horizon", { description: "Target horizon, trading days." }),
      trainedWindow: t.field({
        type: DateWindowRef,
        description: "First and last decision dates of the labelled rows it was trained on.",
        resolve: (m) => ({ start: m.trainedFrom, end: m.trainedTo }),
      }),
      lastPriceDate: t.exposeString("lastPriceDate", {
        description: "Last price date of its training data: predictions on prices ending before it are refused.",
      }),
      gate: t.field({ type: ModelGateRef, resolve: gateOf }),
      skipGate: t.exposeBoolean("skipGate", {
        description: "True when the gate had failed and it was trained anyway (--skip-gate).",
      }),
      version: t.exposeString("version", { description: "candor version that trained it." }),
      dataFingerprint: t.exposeString("dataFingerprint", { description: "Fingerprint of the training data." }),
      dataSource: t.exposeString("dataSource"),
      features: t.exposeStringList("features", { description: "In column order.", complexity: OPAQUE_COST }),
      symbols: t.exposeStringList("symbols", { complexity: OPAQUE_COST }),
      config: t.field({ type: "JSON", complexity: OPAQUE_COST, resolve: (m) => m.config }),
      summary: t.field({ type: "JSON", nullable: true, complexity: OPAQUE_COST, resolve: (m) => m.summary }),
      createdAt: t.string({
        description: "When it was registered (ISO 8601 UTC).",
        resolve: (m) => isoTime(m.createdAt)!,
      }),
      latestPredictions: t.field({
        type: PredictionBatchRef,
        nullable: true,
        description: "Its most recent prediction batch (null before its first `candor predict`).",
        resolve: async (m, _a, ctx) => (await ctx.loaders.modelPredictions.load({ modelId: m.id, last: 1 }))[0] ?? null,
      }),
      predictions: t.field({
        type: [PredictionBatchRef],
        description: `Its prediction batches, newest first (the last ${DEFAULT_BATCHES} by default, at most ` +
          `${MAX_BATCHES}).`,
        args: { last: t.arg.int() },
        complexity: (args) => ({ field: 1, multiplier: Math.max(0, args.last ?? DEFAULT_BATCHES) }),
        resolve: async (m, { last }, ctx, info) => {
          const n = last ?? DEFAULT_BATCHES;
          if (n < 1 || n > MAX_BATCHES) throw badInput(`last must be between 1 and ${MAX_BATCHES}, got ${n}`);
          const newest = await ctx.loaders.modelPredictions.load({ modelId: m.id, last: n });
          return chargeList(ctx.guard, info, [...newest].reverse());
        },
      }),
    }),
  });

  const DeflationRef = builder.objectRef<DeflationView>("Deflation").implement({
    description:
      "What a deflated Sharpe ratio was computed with: N, every backtest tried on the same data and target " +
      "(study entries, backtests added to runs, sweep cells — the new ones included), and the sample variance of " +
      "their per-period Sharpe ratios (Bailey & López de Prado, 2014).",
    fields: (t) => ({
      trials: t.exposeInt("trials", { description: "N." }),
      runs: t.int({ nullable: true, description: "Study entries counted.", resolve: (d) => d.runs }),
      runBacktests: t.int({ nullable: true, description: "Added backtests counted.", resolve: (d) => d.runBacktests }),
      sweepTrials: t.int({ nullable: true, description: "Sweep cells counted.", resolve: (d) => d.sweepTrials }),
      retired: t.int({
        nullable: true,
        description: "Trials of deleted runs counted (null for a deflation stored before they were kept).",
        resolve: (d) => d.retired,
      }),
      trialSharpeVariance: t.float({
        nullable: true,
        description: "Sample variance (n − 1) of the trials' per-period Sharpe ratios.",
        resolve: (d) => d.trialSharpeVariance,
      }),
    }),
  });

  const AddedBacktestRef = builder.objectRef<StoredRunBacktest>("AddedBacktest").implement({
    description: "A backtest added to a finished run (`candor backtest --run`): its stored out-of-sample predictions " +
      "re-sized and re-backtested without retraining, beside buy & hold, with a deflated Sharpe ratio that counts " +
      "every trial on the same data and target.",
    fields: (t) => ({
      seq: t.exposeInt("seq", { description: "Order of addition (increasing across the store)." }),
      createdAt: t.string({ description: "ISO 8601 UTC.", resolve: (b) => isoTime(b.createdAt)! }),
      lag: t.exposeInt("lag", { description: "Days from decision (close of t) to the first return earned." }),
      costBps: t.exposeFloat("costBps", { description: "Commission per unit turnover, basis points." }),
      slippageBps: t.exposeFloat("slippageBps", { description: "Slippage per unit turnover, basis points." }),
      annualization: t.exposeFloat("annualization", { description: "Periods per year." }),
      sizing: t.string({
        nullable: true,
        description: "The sizing rule, e.g. sign() or kelly(0.25).",
        resolve: (b) => str(b.details?.sizingLabel),
      }),
      portfolio: t.string({ nullable: true, resolve: (b) => str(b.details?.portfolio) }),
      sharpe: t.float({ nullable: true, resolve: (b) => finiteOrNull(b.metrics.sharpe) }),
      deflatedSharpe: t.float({
        nullable: true,
        description:
          "Probability that the true Sharpe ratio exceeds the best that N unskilled trials would show by luck.",
        resolve: (b) => finiteOrNull(b.metrics.deflatedSharpe),
      }),
      deflation: t.field({
        type: DeflationRef,
        nullable: true,
        resolve: (b) => deflationOf(b.details?.deflation),
      }),
      buyAndHoldSharpe: t.float({ nullable: true, resolve: (b) => finiteOrNull(b.buyAndHold.sharpe) }),
      metrics: t.field({
        type: [MetricRef],
        complexity: { field: 1, multiplier: LIST_SIZES.metrics },
        resolve: (b) => metricList(b.metrics),
      }),
      buyAndHold: t.field({
        type: [MetricRef],
        complexity: { field: 1, multiplier: LIST_SIZES.metrics },
        resolve: (b) => metricList(b.buyAndHold),
      }),
      metric: t.float({
        nullable: true,
        description: "One strategy metric by name (null if absent or undefined).",
        args: { name: t.arg.string({ required: true }) },
        resolve: (b, { name }) => finiteOrNull(b.metrics[name] ?? null),
      }),
      buyAndHoldMetric: t.float({
        nullable: true,
        description: "One buy & hold metric by name, on the same window.",
        args: { name: t.arg.string({ required: true }) },
        resolve: (b, { name }) => finiteOrNull(b.buyAndHold[name] ?? null),
      }),
      warnings: t.exposeStringList("warnings", { complexity: OPAQUE_COST }),
      points: t.int({ description: "Dates in the equity curve.", resolve: (b) => b.equity.dates.length }),
      equity: t.field({
        type: [EquityPointRef],
        description: `Strategy and buy & hold equity per date (costed at ${LIST_SIZES.equity} points).`,
        complexity: { field: 1, multiplier: LIST_SIZES.equity },
        resolve: (b, _a, ctx, info) => {
          const e = b.equity;
          chargeList(ctx.guard, info, e.dates);
          return e.dates.map((date, i) => ({ date, value: e.values[i], buyAndHold: e.buyAndHold?.[i] ?? null }));
        },
      }),
      details: t.field({ type: "JSON", nullable: true, complexity: OPAQUE_COST, resolve: (b) => b.details }),
    }),
  });

  builder.objectFields(RunRef, (t) => ({
    backtests: t.field({
      type: [AddedBacktestRef],
      description: "Backtests added to this run (re-sized, re-backtested), in the order added; its own backtest is " +
        "`backtest`.",
      complexity: { field: 1, multiplier: LIST_SIZES.runBacktests },
      resolve: async (r, _a, ctx, info) => chargeList(ctx.guard, info, await ctx.loaders.runBacktests.load(r.id)),
    }),
  }));

  const TrialRef = builder.objectRef<StoredTrial>("Trial").implement({
    description: "One cell of a sweep: one backtest of the run's predictions on a window, a symbol (or the whole " +
      "book), a lag, a sizing rule, costs and slippage — and one trial of the registry.",
    fields: (t) => ({
      cell: t.exposeInt("cell", { description: "0-based cell number." }),
      symbol: t.exposeString("symbol", { description: "A symbol alone, or portfolio for the whole book." }),
      window: t.field({ type: DateWindowRef, resolve: (x) => ({ start: x.windowStart, end: x.windowEnd }) }),
      costBps: t.exposeFloat("costBps"),
      slippageBps: t.exposeFloat("slippageBps"),
      lag: t.exposeInt("lag"),
      sizing: t.exposeString("sizing", { description: "Sizing rule label." }),
      annualization: t.exposeFloat("annualization", { description: "Periods per year." }),
      sharpe: t.float({ nullable: true, description: "Annualized.", resolve: (x) => finiteOrNull(x.metrics.sharpe) }),
      deflatedSharpe: t.float({
        nullable: true,
        description: "Deflated Sharpe ratio under the sweep's deflation (null when undefined: too few periods, a " +
          "constant return).",
        resolve: (x) => finiteOrNull(x.metrics.deflatedSharpe),
      }),
      trials: t.int({
        nullable: true,
        description: "N its deflated Sharpe ratio counted.",
        resolve: (x) => num(x.metrics.trials),
      }),
      maxDrawdown: t.float({ nullable: true, resolve: (x) => finiteOrNull(x.metrics.maxDrawdown) }),
      buyAndHoldSharpe: t.float({
        nullable: true,
        description: "Buy & hold on the cell's window and symbol(s).",
        resolve: (x) => finiteOrNull(x.buyAndHold.sharpe),
      }),
      metrics: t.field({
        type: [MetricRef],
        complexity: { field: 1, multiplier: LIST_SIZES.metrics },
        resolve: (x) => metricList(x.metrics),
      }),
      buyAndHold: t.field({
        type: [MetricRef],
        complexity: { field: 1, multiplier: LIST_SIZES.metrics },
        resolve: (x) => metricList(x.buyAndHold),
      }),
      metric: t.float({
        nullable: true,
        args: { name: t.arg.string({ required: true }) },
        resolve: (x, { name }) => finiteOrNull(x.metrics[name] ?? null),
      }),
    }),
  });

  const PboWindowRef = builder.objectRef<PboWindow>("PboWindow").implement({
    description: "Probability of backtest overfitting by CSCV over one window's cells: the probability that the " +
      "in-sample best cell ranks below the median out of sample.",
    fields: (t) => ({
      window: t.field({ type: DateWindowRef, resolve: (p) => p.window }),
      cells: t.int({ nullable: true, resolve: (p) => p.cells }),
      pbo: t.float({ nullable: true, description: "Null when it cannot be computed (reason).", resolve: (p) => p.pbo }),
      probabilityOfLoss: t.float({
        nullable: true,
        description: "Probability that the in-sample best loses money out of sample.",
        resolve: (p) => p.probabilityOfLoss,
      }),
      groups: t.int({ nullable: true, description: "Groups S of the CSCV.", resolve: (p) => p.groups }),
      reason: t.string({ nullable: true, resolve: (p) => p.reason }),
    }),
  });

  const SweepRef = builder.objectRef<StoredSweep>("Sweep").implement({
    description: "A robustness sweep (`candor sweep`): a run's stored predictions backtested over a grid of costs, " +
      "slippage, lags, sizing rules, windows and symbols. Every cell is a trial, deflated with every trial on the " +
      "same data and target; PBO per window.",
    fields: (t) => ({
      id: t.exposeID("id"),
      createdAt: t.string({ description: "ISO 8601 UTC.", resolve: (s) => isoTime(s.createdAt)! }),
      runId: t.id({ nullable: true, resolve: (s) => s.runId }),
      run: t.field({
        type: RunRef,
        nullable: true,
        description: "The run swept (null if deleted since).",
        resolve: (s, _a, ctx) => (s.runId === null ? null : ctx.loaders.run.load(s.runId)),
      }),
      dataFingerprint: t.string({ resolve: (s) => s.key.dataFingerprint }),
      targetKind: t.string({ resolve: (s) => s.key.targetKind }),
      horizon: t.int({ resolve: (s) => s.key.horizon }),
      cells: t.exposeInt("cells", { description: "Trials (cells) of this sweep." }),
      trialsBefore: t.exposeInt("trialsBefore", {
        description: "Trials the registry counted on this data and target before the sweep.",
      }),
      deflation: t.field({
        type: DeflationRef,
        nullable: true,
        description: "What every cell's deflated Sharpe ratio used (N = trialsBefore + cells).",
        resolve: (s) => deflationOf(s.summary?.deflation),
      }),
      pbo: t.field({
        type: [PboWindowRef],
        description: "PBO per window of the grid.",
        complexity: { field: 1, multiplier: LIST_SIZES.pboWindows },
        resolve: (s, _a, ctx, info) => chargeList(ctx.guard, info, pboOf(s)),
      }),
      grid: t.field({ type: "JSON", complexity: OPAQUE_COST, resolve: (s) => s.grid }),
      options: t.field({ type: "JSON", complexity: OPAQUE_COST, resolve: (s) => s.options }),
      dir: t.string({ nullable: true, description: "Folder of its CSV/JSON rows.", resolve: (s) => s.dir }),
      summary: t.field({ type: "JSON", nullable: true, complexity: OPAQUE_COST, resolve: (s) => s.summary }),
      trials: t.field({
        type: [TrialRef],
        description: `A page of its trials, by cell or ordered by a metric (undefined values last, ties by cell), ` +
          `from offset (default ${DEFAULT_TRIAL_PAGE}, at most ${MAX_TRIAL_PAGE}); only the page is read from the store.`,
        args: {
          limit: t.arg.int(),
          offset: t.arg.int(),
          orderBy: t.arg.string({ description: "A metric name, e.g. deflatedSharpe (default: cell order)." }),
          direction: t.arg({ type: SortDirectionEnum, description: "Default desc with orderBy." }),
        },
        complexity: (args) => ({ field: 1, multiplier: Math.max(0, args.limit ?? DEFAULT_TRIAL_PAGE) }),
        resolve: async (s, args, ctx, info) => {
          const limit = args.limit ?? DEFAULT_TRIAL_PAGE;
          if (limit < 1 || limit > MAX_TRIAL_PAGE) {
            throw badInput(`limit must be between 1 and ${MAX_TRIAL_PAGE}, got ${limit}`);
          }
          const offset = args.offset ?? 0;
          if (offset < 0) throw badInput(`offset must be ≥ 0, got ${offset}`);
          const metric = args.orderBy ?? null;
          if (metric !== null && !/^[A-Za-z_][A-Za-z0-9_]{0,63}$/.test(metric)) {
            throw badInput(`orderBy must be a metric name (letters, digits and _), got ${JSON.stringify(metric)}`);
          }
          const options: ListTrialsOptions = {
            offset,
            limit,
            ...(metric === null ? {} : { orderBy: { metric, direction: args.direction ?? "desc" } }),
          };
          const trials = await ctx.loaders.trials.load({ sweepId: s.id, options });
          // The store orders a metric no trial has as all-missing (cell order): a misspelt name must not pass for one.
          if (metric !== null && trials.length > 0 && !trials.some((r) => metric in r.metrics)) {
            throw badInput(
              `orderBy: no trial of this sweep has a metric ${JSON.stringify(metric)}; its metrics: ${
                Object.keys(trials[0].metrics).sort().join(", ")
              }`,
            );
          }
          return chargeList(ctx.guard, info, trials);
        },
      }),
    }),
  });

  const ModelEdgeRef = builder.objectRef<Edge<StoredModel>>("ModelEdge").implement({
    fields: (t) => ({
      cursor: t.exposeString("cursor"),
      node: t.field({ type: ModelRef, resolve: (e) => e.node }),
    }),
  });
  const ModelConnectionRef = builder.objectRef<Connection<StoredModel>>("ModelConnection").implement({
    description: "A page of models, newest first.",
    fields: (t) => ({
      pageInfo: t.field({
        type: PageInfoRef,
        resolve: (c) => ({ hasNextPage: c.hasNextPage, endCursor: c.edges.at(-1)?.cursor ?? null }),
      }),
      // The page size is already the multiplier of the root field; the lists inside do not multiply again.
      edges: t.field({
        type: [ModelEdgeRef],
        complexity: { field: 0, multiplier: 1 },
        resolve: (c, _a, ctx, info) => chargeList(ctx.guard, info, c.edges),
      }),
      nodes: t.field({
        type: [ModelRef],
        complexity: { field: 0, multiplier: 1 },
        resolve: (c, _a, ctx, info) => chargeList(ctx.guard, info, c.edges.map((e) => e.node)),
      }),
    }),
  });
  const SweepEdgeRef = builder.objectRef<Edge<StoredSweep>>("SweepEdge").implement({
    fields: (t) => ({
      cursor: t.exposeString("cursor"),
      node: t.field({ type: SweepRef, resolve: (e) => e.node }),
    }),
  });
  const SweepConnectionRef = builder.objectRef<Connection<StoredSweep>>("SweepConnection").implement({
    description: "A page of sweeps, newest first.",
    fields: (t) => ({
      pageInfo: t.field({
        type: PageInfoRef,
        resolve: (c) => ({ hasNextPage: c.hasNextPage, endCursor: c.edges.at(-1)?.cursor ?? null }),
      }),
      // The page size is already the multiplier of the root field; the lists inside do not multiply again.
      edges: t.field({
        type: [SweepEdgeRef],
        complexity: { field: 0, multiplier: 1 },
        resolve: (c, _a, ctx, info) => chargeList(ctx.guard, info, c.edges),
      }),
      nodes: t.field({
        type: [SweepRef],
        complexity: { field: 0, multiplier: 1 },
        resolve: (c, _a, ctx, info) => chargeList(ctx.guard, info, c.edges.map((e) => e.node)),
      }),
    }),
  });

  const TrialCountRef = builder.objectRef<TrialCount>("TrialCount").implement({
    description: "The trials the registry counts on one data fingerprint and target: the N the next deflated Sharpe " +
      "ratio there will use.",
    fields: (t) => ({
      runs: t.exposeInt("runs", { description: "Succeeded study entries (each entry's backtest)." }),
      runBacktests: t.exposeInt("runBacktests", { description: "Backtests added to those runs." }),
      sweepTrials: t.exposeInt("sweepTrials", { description: "Cells of sweeps." }),
      retired: t.exposeInt("retired", {
        description: "Trials of deleted runs (a run's backtest and the backtests added to it), still counted: " +
          "deleting never lowers N.",
      }),
      total: t.exposeInt("total", { description: "runs + runBacktests + sweepTrials + retired: N." }),
      sharpesDefined: t.int({
        description: "Trials whose Sharpe ratio is defined (they enter the variance).",
        resolve: (c) => c.sharpes.length,
      }),
      trialSharpeVariance: t.float({
        nullable: true,
        description: "Sample variance (n − 1) of their per-period Sharpe ratios; null with fewer than two.",
        resolve: (c) => (c.sharpes.length < 2 ? null : variance(c.sharpes)),
      }),
    }),
  });

  builder.queryFields((t) => ({
    models: t.field({
      type: ModelConnectionRef,
      description: "A page of registered production models, newest first.",
      args: {
        first: t.arg.int({
          description: `Page size (default ${DEFAULT_PRODUCTION_PAGE}, at most ${MAX_PRODUCTION_PAGE}).`,
        }),
        after: t.arg.string({ description: "endCursor of the previous page." }),
      },
      complexity: (args) => ({ field: 2, multiplier: Math.max(0, args.first ?? DEFAULT_PRODUCTION_PAGE) }),
      resolve: async (_root, args, ctx) => {
        const page = await pageOf(
          "models",
          (limit, offset) => ctx.store.listModels({ limit, offset }),
          args,
          ctx,
        );
        for (const e of page.edges) ctx.loaders.model.prime(e.node.id, e.node);
        return page;
      },
    }),
    model: t.field({
      type: ModelRef,
      nullable: true,
      description: "One production model by id; an unknown id is an error with extensions.code NOT_FOUND.",
      args: { id: t.arg.id({ required: true }) },
      resolve: async (_root, { id }, ctx) => {
        const model = await ctx.loaders.model.load(String(id));
        if (model === null) {
          throw notFound(
            `no model with id ${JSON.stringify(String(id))}; list registered models with { models { nodes { id } } }`,
          );
        }
        return model;
      },
    }),
    sweeps: t.field({
      type: SweepConnectionRef,
      description: "A page of sweeps, newest first.",
      args: {
        first: t.arg.int({
          description: `Page size (default ${DEFAULT_PRODUCTION_PAGE}, at most ${MAX_PRODUCTION_PAGE}).`,
        }),
        after: t.arg.string({ description: "endCursor of the previous page." }),
      },
      complexity: (args) => ({ field: 2, multiplier: Math.max(0, args.first ?? DEFAULT_PRODUCTION_PAGE) }),
      resolve: async (_root, args, ctx) => {
        const page = await pageOf(
          "sweeps",
          (limit, offset) => ctx.store.listSweeps({ limit, offset }),
          args,
          ctx,
        );
        for (const e of page.edges) ctx.loaders.sweep.prime(e.node.id, e.node);
        return page;
      },
    }),
    sweep: t.field({
      type: SweepRef,
      nullable: true,
      description: "One sweep by id; an unknown id is an error with extensions.code NOT_FOUND.",
      args: { id: t.arg.id({ required: true }) },
      resolve: async (_root, { id }, ctx) => {
        const sweep = await ctx.loaders.sweep.load(String(id));
        if (sweep === null) {
          throw notFound(
            `no sweep with id ${JSON.stringify(String(id))}; list sweeps with { sweeps { nodes { id } } }`,
          );
        }
        return sweep;
      },
    }),
    trialCount: t.field({
      type: TrialCountRef,
      description: "The trials counted on this data fingerprint and target (kind and horizon).",
      args: {
        dataFingerprint: t.arg.string({ required: true }),
        target: t.arg.string({ required: true, description: "Target kind: direction, direction3, return, excess." }),
        horizon: t.arg.int({ required: true, description: "Target horizon, trading days (≥ 1)." }),
      },
      complexity: 5,
      resolve: (_root, args, ctx) => {
        if (args.horizon < 1) throw badInput(`horizon must be ≥ 1, got ${args.horizon}`);
        return ctx.loaders.trialCount.load({
          dataFingerprint: args.dataFingerprint,
          targetKind: args.target,
          horizon: args.horizon,
        });
      },
    }),
  }));
}
