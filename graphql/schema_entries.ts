/**
 * Typed fields for what a study entry's records hold (records.ts): on `Run` the pooled line with its baselines, the
 * strongest baseline and the edge with its interval, the IC, the verdict, the gate, walk-forward efficiency, the share
 * of "up" calls and health; on `Fold` the target distribution, health, early stopping and the fold's walk-forward
 * efficiency; on `Backtest` the window, the portfolio and the Sharpe difference to buy & hold with its interval.
 *
 * Each is null for runs whose records are not a study entry's (runs stored before studies, failed entries). Numbers are
 * null where the pipeline had NaN. Free-form parts (settings, the fit report) stay JSON.
 *
 * @module
 */

import type { Edge, Efficiency, Gate, TargetDistribution, TargetStats } from "../lib/pipeline/evaluate.ts";
import type { PooledReport } from "../lib/pipeline/records.ts";
import {
  type Builder,
  finiteOrNull,
  type GraphQLContext,
  LIST_SIZES,
  type Metric,
  OPAQUE_COST,
  type SharedRefs,
} from "./builder.ts";
import { comparisonRowOf, entrySummaryOf, foldDetailsOf, targetOf } from "./records.ts";

/** A 95 % interval as stored: `[low, high]`, either end possibly null (NaN) or missing. */
type StoredInterval = readonly (number | null)[] | null | undefined;

/** An estimate with its interval, p-value and method (the pooled IC, the Sharpe difference). */
interface Estimate {
  value: number;
  ci: StoredInterval;
  pValue: number;
  method: string;
}

/** Types defined here that other parts of the schema use. */
export interface EntryRefs {
  IntervalRef: ReturnType<typeof intervalRef>;
  BaselineRef: ReturnType<typeof baselineRef>;
}

function intervalRef(builder: Builder) {
  return builder.objectRef<StoredInterval>("Interval").implement({
    description: "A 95 % interval; an end is null where undefined.",
    fields: (t) => ({
      low: t.float({ nullable: true, resolve: (i) => finiteOrNull(i?.[0]) }),
      high: t.float({ nullable: true, resolve: (i) => finiteOrNull(i?.[1]) }),
    }),
  });
}

function baselineRef(builder: Builder) {
  return builder.objectRef<{ name: string; value: number | null }>("Baseline").implement({
    description: "A naive baseline's accuracy on the same rows as the model.",
    fields: (t) => ({
      name: t.exposeString("name", { description: "coinFlip, alwaysLong, majorityClass or previousSign." }),
      value: t.float({ nullable: true, resolve: (b) => finiteOrNull(b.value) }),
    }),
  });
}

/** Adds the typed study-entry fields to `Run`, `Fold` and `Backtest`; returns the types other parts reuse. */
export function addEntryFields(builder: Builder, refs: SharedRefs): EntryRefs {
  const { RunRef, FoldRef, BacktestRef, MetricRef, DateWindowRef, VerdictEnum } = refs;

  const IntervalRef = intervalRef(builder);

  const EstimateRef = builder.objectRef<Estimate>("Estimate").implement({
    description: "A statistic with its 95 % interval and one-sided p-value (of ≤ 0), and how they were computed.",
    fields: (t) => ({
      value: t.float({ nullable: true, resolve: (e) => finiteOrNull(e.value) }),
      ci: t.field({ type: IntervalRef, resolve: (e) => e.ci }),
      pValue: t.float({ nullable: true, resolve: (e) => finiteOrNull(e.pValue) }),
      method: t.exposeString("method"),
    }),
  });

  const EdgeRef = builder.objectRef<Edge>("Edge").implement({
    description: "The model's edge over a reference on the same rows (accuracy points as a fraction, or the IC for " +
      "return targets), with a paired block-bootstrap interval over dates.",
    fields: (t) => ({
      difference: t.float({ nullable: true, resolve: (e) => finiteOrNull(e.difference) }),
      ci: t.field({ type: IntervalRef, resolve: (e) => e.ci }),
      pValue: t.float({
        nullable: true,
        description: 'One-sided p-value of "no edge" (difference ≤ 0).',
        resolve: (e) => finiteOrNull(e.pValue),
      }),
      method: t.exposeString("method"),
      against: t.exposeString("against", { description: "The reference: a baseline's name, or 0 for the IC." }),
      rows: t.int({ nullable: true, description: "Rows the difference is computed on.", resolve: (e) => e.rows }),
    }),
  });

  const BaselineRef = baselineRef(builder);

  const NaiveRef = builder.objectRef<PooledReport["naive"]>("NaiveInference").implement({
    description: "The binomial test against the coin flip and Wilson interval, rows assumed independent — labelled " +
      "naive: overlapping labels and correlated symbols make it too narrow.",
    fields: (t) => ({
      ci: t.field({ type: IntervalRef, resolve: (n) => n.ci }),
      pValue: t.float({ nullable: true, resolve: (n) => finiteOrNull(n.pValue) }),
      method: t.exposeString("method"),
    }),
  });

  const PooledLineRef = builder.objectRef<PooledReport>("PooledLine").implement({
    description: "A study entry's pooled out-of-sample line: accuracy with its block-bootstrap interval beside the " +
      "naive baselines on the same rows, the edge over the strongest of them, the IC, and the verdict.",
    fields: (t) => ({
      accuracy: t.float({ nullable: true, resolve: (p) => finiteOrNull(p.accuracy) }),
      accuracyCi: t.field({
        type: IntervalRef,
        description: "Block-bootstrap 95 % interval over dates (all symbols of a date together).",
        resolve: (p) => p.accuracyCi,
      }),
      naive: t.field({ type: NaiveRef, resolve: (p) => p.naive }),
      baselines: t.field({
        type: [BaselineRef],
        description: "coinFlip, alwaysLong, majorityClass, previousSign, in that order.",
        complexity: { field: 1, multiplier: 4 },
        resolve: (p) => [
          { name: "coinFlip", value: p.baselines.coinFlip },
          { name: "alwaysLong", value: p.baselines.alwaysLong },
          { name: "majorityClass", value: p.baselines.majority },
          { name: "previousSign", value: p.baselines.previousSign },
        ],
      }),
      strongestBaseline: t.field({
        type: BaselineRef,
        description: "The baseline with the highest pooled accuracy: the one the model must beat.",
        resolve: (p) => ({
          name: p.strongestBaseline,
          value: p.strongestBaseline === "majorityClass"
            ? p.baselines.majority
            : p.baselines[p.strongestBaseline as "coinFlip" | "alwaysLong" | "previousSign"],
        }),
      }),
      edge: t.field({ type: EdgeRef, description: "Model − strongest baseline.", resolve: (p) => p.edge }),
      ic: t.field({ type: EstimateRef, description: "IC of the signal with the target.", resolve: (p) => p.ic }),
      verdict: t.field({ type: VerdictEnum, resolve: (p) => p.verdict }),
      verdictOn: t.exposeString("verdictOn", {
        description: "The statistic the verdict is on: accuracy-vs-strongest-baseline, or ic.",
      }),
      metrics: t.field({
        type: [MetricRef],
        description: "Every other pooled metric (rankIc, macroF1, shareUp, nTest, ...).",
        complexity: { field: 1, multiplier: LIST_SIZES.pooled },
        resolve: (p) => Object.entries(p.metrics ?? {}).map(([name, value]): Metric => ({ name, value: value ?? NaN })),
      }),
      metric: t.float({
        nullable: true,
        args: { name: t.arg.string({ required: true }) },
        resolve: (p, { name }) => finiteOrNull(p.metrics?.[name]),
      }),
    }),
  });

  const GateRef = builder.objectRef<Gate>("Gate").implement({
    description: "The walk-forward-efficiency gate: passes when the verdict is edge and the pooled efficiency is " +
      "defined and at least the threshold; failing it is what stops a production retrain.",
    fields: (t) => ({
      passed: t.exposeBoolean("passed"),
      wfe: t.float({
        nullable: true,
        description: "Pooled walk-forward efficiency.",
        resolve: (g) => finiteOrNull(g.wfe),
      }),
      threshold: t.float({ nullable: true, resolve: (g) => finiteOrNull(g.threshold) }),
      reason: t.exposeString("reason", { description: "Why it passed or failed, with the numbers." }),
    }),
  });

  const EfficiencyRef = builder.objectRef<Efficiency>("Efficiency").implement({
    description: "Walk-forward efficiency: test edge / validation-tail edge over the same reference; undefined " +
      "(null, with the reason) when the tail's edge is within 2 bootstrap standard errors of 0.",
    fields: (t) => ({
      efficiency: t.float({ nullable: true, resolve: (e) => finiteOrNull(e.efficiency) }),
      testEdge: t.float({ nullable: true, resolve: (e) => finiteOrNull(e.testEdge) }),
      validationEdge: t.float({ nullable: true, resolve: (e) => finiteOrNull(e.validationEdge) }),
      validationSe: t.float({ nullable: true, resolve: (e) => finiteOrNull(e.validationSe) }),
      reason: t.string({ nullable: true, resolve: (e) => e.reason ?? null }),
    }),
  });

  const UpShareRef = builder.objectRef<
    { share: number; band: [number, number]; inBand: boolean; call?: string; classShares?: number[] }
  >("UpShare")
    .implement({
      description: 'The one-sided-calls check over all predicted rows: the share of "up" calls and the band it is ' +
        "held to (outside it, the accuracy is mostly the base rate of the side called); for a 3-class target, the " +
        "most-called class's share against the band's upper end.",
      fields: (t) => ({
        call: t.string({
          description: '"up" for two-way calls; for three classes the most-called class ("down", "flat" or "up").',
          resolve: (u) => u.call ?? "up",
        }),
        share: t.float({
          nullable: true,
          description: "The share of `call` calls.",
          resolve: (u) => finiteOrNull(u.share),
        }),
        band: t.field({ type: IntervalRef, resolve: (u) => u.band }),
        inBand: t.exposeBoolean("inBand"),
        classShares: t.floatList({
          nullable: true,
          description: "3-class targets: the shares of down, flat and up calls.",
          resolve: (u) => u.classShares ?? null,
        }),
      }),
    });

  builder.objectFields(RunRef, (t) => ({
    studyId: t.id({ nullable: true, description: "The study this run is an entry of.", resolve: (r) => r.studyId }),
    entry: t.string({ nullable: true, description: "The entry's name within its study.", resolve: (r) => r.entry }),
    features: t.stringList({
      nullable: true,
      description: "Feature names used, in column order.",
      complexity: OPAQUE_COST,
      resolve: (r) => r.features,
    }),
    dataFingerprint: t.string({ nullable: true, resolve: (r) => r.dataFingerprint }),
    version: t.string({ nullable: true, description: "candor version that ran it.", resolve: (r) => r.version }),
    targetKind: t.string({
      nullable: true,
      description: "direction, direction3, return or excess (null for runs from before studies).",
      resolve: (r) => targetOf(r.config).kind,
    }),
    horizon: t.int({
      nullable: true,
      description: "Label horizon h in trading days.",
      resolve: (r) => targetOf(r.config).horizon,
    }),
    task: t.string({
      nullable: true,
      description: "binary, multiclass or regression.",
      resolve: (r) => entrySummaryOf(r)?.task ?? null,
    }),
    settings: t.field({
      type: "JSON",
      nullable: true,
      description: "The entry's resolved model settings.",
      complexity: OPAQUE_COST,
      resolve: (r) => entrySummaryOf(r)?.settings ?? null,
    }),
    verdict: t.field({
      type: VerdictEnum,
      nullable: true,
      description: "edge or no_edge (null until the entry succeeds, and for runs from before studies).",
      resolve: (r) => entrySummaryOf(r)?.pooled.verdict ?? null,
    }),
    pooledLine: t.field({ type: PooledLineRef, nullable: true, resolve: (r) => entrySummaryOf(r)?.pooled ?? null }),
    gate: t.field({ type: GateRef, nullable: true, resolve: (r) => entrySummaryOf(r)?.gate ?? null }),
    efficiency: t.field({
      type: EfficiencyRef,
      nullable: true,
      description: "Pooled walk-forward efficiency.",
      resolve: (r) => entrySummaryOf(r)?.efficiency ?? null,
    }),
    upShare: t.field({ type: UpShareRef, nullable: true, resolve: (r) => entrySummaryOf(r)?.upShare ?? null }),
    health: t.stringList({
      nullable: true,
      description:
        'Health verdict per fold ("healthy", "not predicted", or what went wrong in training or in the test calls: constant or one-sided).',
      complexity: OPAQUE_COST,
      resolve: (r) => entrySummaryOf(r)?.health ?? null,
    }),
    healthSummary: t.string({
      nullable: true,
      description: '"healthy", or how many folds were not (as the comparison table says it).',
      resolve: (r) => comparisonRowOf(r)?.health ?? null,
    }),
  }));

  const TargetStatsRef = builder.objectRef<TargetStats>("TargetStats").implement({
    description: "The target on one part of a fold: rows, share > 0, mean and std of the continuous target.",
    fields: (t) => ({
      n: t.exposeInt("n"),
      shareUp: t.float({ nullable: true, resolve: (s) => finiteOrNull(s.shareUp) }),
      mean: t.float({ nullable: true, resolve: (s) => finiteOrNull(s.mean) }),
      std: t.float({ nullable: true, resolve: (s) => finiteOrNull(s.std) }),
      classShares: t.floatList({
        nullable: { list: true, items: true },
        description: "direction3: shares of DOWN, FLAT, UP.",
        complexity: OPAQUE_COST,
        resolve: (s) => s.classShares?.map((x) => finiteOrNull(x)) ?? null,
      }),
    }),
  });

  const TargetDistributionRef = builder.objectRef<TargetDistribution>("TargetDistribution").implement({
    description: "The target's distribution on a fold's fitting rows, early-stopping tail and test rows.",
    fields: (t) => ({
      fit: t.field({ type: TargetStatsRef, resolve: (d) => d.fit }),
      validation: t.field({ type: TargetStatsRef, resolve: (d) => d.validation }),
      test: t.field({ type: TargetStatsRef, resolve: (d) => d.test }),
    }),
  });

  builder.objectFields(FoldRef, (t) => ({
    nValidation: t.int({
      nullable: true,
      description: "Rows of the early-stopping tail.",
      resolve: (f) => foldDetailsOf(f)?.nValidation ?? null,
    }),
    health: t.string({
      nullable: true,
      description: "Health verdict of the fold: training, and its test calls (constant or one-sided predictions).",
      resolve: (f) => foldDetailsOf(f)?.health ?? null,
    }),
    bestIteration: t.int({
      nullable: true,
      description: "Best boosting round or epoch (1-based) chosen by early stopping.",
      resolve: (f) => foldDetailsOf(f)?.bestIteration ?? null,
    }),
    iterations: t.int({
      nullable: true,
      description: "Trees or epochs actually trained (1 tree = a constant model).",
      resolve: (f) => foldDetailsOf(f)?.iterations ?? null,
    }),
    seconds: t.float({ nullable: true, resolve: (f) => finiteOrNull(foldDetailsOf(f)?.seconds) }),
    skipped: t.string({
      nullable: true,
      description: "Why the fold was not predicted, when it was not.",
      resolve: (f) => foldDetailsOf(f)?.skipped ?? null,
    }),
    notes: t.stringList({
      nullable: true,
      description: "Notes the model reported (fallbacks, warnings), verbatim.",
      complexity: OPAQUE_COST,
      resolve: (f) => foldDetailsOf(f)?.notes ?? null,
    }),
    targets: t.field({
      type: TargetDistributionRef,
      nullable: true,
      resolve: (f) => foldDetailsOf(f)?.targets ?? null,
    }),
    efficiency: t.field({
      type: EfficiencyRef,
      nullable: true,
      description: "The fold's walk-forward efficiency (from the run summary, written when the entry finished).",
      resolve: async (f, _a, ctx) => {
        const run = await ctx.loaders.run.load(f.runId);
        return run === null ? null : entrySummaryOf(run)?.foldEfficiency?.[String(f.index)] ?? null;
      },
    }),
  }));

  const PathRef = builder.objectRef<{ path: number; metrics: Record<string, number> }>("BacktestPath").implement({
    description: "One CPCV backtest path.",
    fields: (t) => ({
      path: t.exposeInt("path"),
      metrics: t.field({
        type: [MetricRef],
        complexity: { field: 1, multiplier: LIST_SIZES.metrics },
        resolve: (p) => Object.entries(p.metrics).map(([name, value]) => ({ name, value: value ?? NaN })),
      }),
    }),
  });

  builder.objectFields(BacktestRef, (t) => {
    const summaryOf = async (runId: string, ctx: GraphQLContext) => {
      const run = await ctx.loaders.run.load(runId);
      return run === null ? null : entrySummaryOf(run)?.backtest ?? null;
    };
    return {
      window: t.field({
        type: DateWindowRef,
        nullable: true,
        description: "The evaluation window (study entries).",
        resolve: async (b, _a, ctx) => {
          const w = (await summaryOf(b.runId, ctx))?.window;
          return w && w.start ? w : null;
        },
      }),
      portfolio: t.string({
        nullable: true,
        description: "Portfolio construction, e.g. long-short.",
        resolve: async (b, _a, ctx) => (await summaryOf(b.runId, ctx))?.portfolio || null,
      }),
      sharpeDifference: t.field({
        type: EstimateRef,
        nullable: true,
        description: "Sharpe(strategy) − Sharpe(buy & hold) on the same window, with a block-bootstrap interval.",
        resolve: async (b, _a, ctx) => (await summaryOf(b.runId, ctx))?.sharpeDifference ?? null,
      }),
      paths: t.field({
        type: [PathRef],
        nullable: true,
        description: "CPCV: one backtest per path (metrics only).",
        complexity: { field: 1, multiplier: LIST_SIZES.paths },
        resolve: async (b, _a, ctx) => (await summaryOf(b.runId, ctx))?.paths ?? null,
      }),
    };
  });
  return { IntervalRef, BaselineRef };
}
