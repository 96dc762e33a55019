/**
 * The GraphQL schema over the run store, built code-first with Pothos.
 *
 * Conventions:
 * - Times are ISO 8601 UTC timestamps (`createdAt`, `finishedAt`); dates are `YYYY-MM-DD` strings.
 * - Metric maps are lists of `{ name, value }` in the stored order; `value` is null where the metric is undefined
 *   (stored as NaN, e.g. the IC of a constant prediction). GraphQL floats cannot carry NaN or ±Infinity.
 * - Epoch numbers that were NaN or ±Infinity (a diverged loss) read as null and are named in `nonFinite`.
 * - `run(id)` for an id that does not exist is an error with `extensions.code = "NOT_FOUND"`, not a silent null.
 * - Free-form JSON (config, summary, fit reports, diagnostic data) is exposed as the `JSON` scalar; the scalar is
 *   hand-written (pass-through) because the pinned graphql-scalars release predates graphql 16.
 * - **Cost.** Every field has a cost (Pothos complexity plugin; see guard.ts): lists multiply what is selected under
 *   them by `limit`/`first` or by a stated typical length ({@link LIST_SIZES}). Lists whose length depends on the data
 *   (runs, folds, epochs, diagnostics, equity) also charge the request's value budget as they resolve.
 * - **Dashboards** page through runs with `runsConnection(filter, orderBy, first, after)` (filters, order by any stored
 *   metric, cursors, `totalCount`) and read per-run fold aggregates (`foldAggregates`) beside the baselines'.
 *
 * This file defines runs and their parts and the root queries over them; the other parts add to the same builder
 * (builder.ts): the typed study-entry records on runs, folds and backtests (schema_entries.ts); studies, their
 * comparison, `compare` and predictions (schema_studies.ts); production models and their predictions, backtests added
 * to runs, sweeps with their trials and the trial registry (schema_production.ts); live progress subscriptions
 * (schema_progress.ts); and, only when {@link SchemaOptions.mutations} is set, the mutations (schema_mutations.ts).
 *
 * @module
 */

import type { GraphQLResolveInfo, GraphQLSchema } from "graphql";
import type { DateWindow } from "../lib/validation/fold.ts";
import { StoreError } from "../lib/errors.ts";
import { checkRunQuery, MAX_RUN_PAGE } from "../lib/store/run_query.ts";
import {
  type BacktestSummary,
  DIAGNOSTIC_SEVERITIES,
  type FoldAggregates,
  type MetricAggregate,
  RUN_METRIC_SOURCES,
  RUN_STATUSES,
  type RunError,
  type RunMetricRef,
  type RunMetricSource,
  type RunQuery,
  type RunStatus,
  type RunSummary,
  type StoredDiagnostic,
  type StoredEpoch,
  type StoredFold,
} from "../lib/store/store.ts";
import { chargeList } from "./guard.ts";
import {
  badInput,
  type EquityPoint,
  finiteOrNull,
  type GraphQLContext,
  LIST_SIZES,
  type Metric,
  metricList,
  newBuilder,
  notFound,
  OPAQUE_COST,
  type PageInfo,
  parseTime,
  type SharedRefs,
} from "./builder.ts";
import { addEntryFields } from "./schema_entries.ts";
import { addStudyTypes } from "./schema_studies.ts";
import { addProductionTypes } from "./schema_production.ts";
import { addProgressSubscriptions } from "./schema_progress.ts";
import { addMutations } from "./schema_mutations.ts";

export { type GraphQLContext, LIST_SIZES };

interface RunEdge {
  node: RunSummary;
  cursor: string;
  sortValue: number | null;
}

interface RunConnection {
  edges: RunEdge[];
  totalCount: number;
  hasNextPage: boolean;
}

/**
 * The pooled metrics of a run summary: the numbers of `pooled`, then those of `pooled.metrics` not already listed (a
 * study entry's pooled line keeps most metrics there). Run filters and orders read the same two places.
 */
function pooledMetrics(run: RunSummary): Metric[] {
  const pooled = (run.summary as { pooled?: unknown } | null)?.pooled;
  const top = numericEntries(pooled);
  const seen = new Set(top.map((m) => m.name));
  const nested = numericEntries((pooled as { metrics?: unknown } | undefined)?.metrics).filter((m) =>
    !seen.has(m.name)
  );
  return [...top, ...nested];
}

/** The numeric entries of a free-form JSON map (non-numbers skipped; null read as NaN, i.e. undefined). */
function numericEntries(x: unknown): Metric[] {
  if (typeof x !== "object" || x === null || Array.isArray(x)) return [];
  const out: Metric[] = [];
  for (const [name, value] of Object.entries(x)) {
    if (typeof value === "number") out.push({ name, value });
    else if (value === null) out.push({ name, value: NaN });
  }
  return out;
}

/** Largest `limit` accepted by `runs` (and `first` by `runsConnection`). */
export const MAX_RUNS_LIMIT = MAX_RUN_PAGE;

/** Options of {@link buildSchema}. */
export interface SchemaOptions {
  /**
   * Include the `Mutation` type (tags, notes, renames, deletes, marking stale studies interrupted). The server includes
   * it only when a bearer token is configured, so an unauthenticated server has no way to change the store.
   */
  mutations?: boolean;
}

/** Builds the schema. Pure: the store comes in through the context. */
export function buildSchema(options: SchemaOptions = {}): GraphQLSchema {
  const builder = newBuilder();

  builder.scalarType("JSON", {
    description: "Any JSON value (objects, arrays, strings, numbers, booleans, null).",
    serialize: (v) => v,
    parseValue: (v) => v,
  });

  const RunStatusEnum = builder.enumType("RunStatus", {
    description: "running → succeeded | failed | interrupted (its process stopped before sealing it; failed and " +
      "interrupted records can be reopened and resumed). A finished run is sealed.",
    values: RUN_STATUSES as RunStatus[],
  });
  const SeverityEnum = builder.enumType("Severity", {
    values: DIAGNOSTIC_SEVERITIES as ("info" | "warning" | "error")[],
  });
  const MetricSourceEnum = builder.enumType("MetricSource", {
    description: "Where a run-level metric is read from: the run summary's pooled out-of-sample metrics, the " +
      "backtest's strategy metrics, buy & hold's metrics on the same window, or the mean of a fold metric over folds.",
    values: RUN_METRIC_SOURCES as RunMetricSource[],
  });
  const SortDirectionEnum = builder.enumType("SortDirection", { values: ["asc", "desc"] as const });
  const VerdictEnum = builder.enumType("Verdict", {
    description:
      "The verdict of a study entry: `edge` when the 95 % interval of its headline edge (accuracy over the " +
      "strongest naive baseline on the same rows, or the IC for return targets) lies above 0; otherwise `no_edge` " +
      "(stored as `no-edge`).",
    values: {
      edge: { value: "edge" as const },
      no_edge: { value: "no-edge" as const },
    },
  });
  const RunOrderFieldEnum = builder.enumType("RunOrderField", {
    description: "What runs are ordered by; `metric` needs `orderBy.metric`.",
    values: ["createdAt", "finishedAt", "metric"] as const,
  });

  const DateWindowRef = builder.objectRef<DateWindow>("DateWindow").implement({
    description: "An inclusive range of trading dates.",
    fields: (t) => ({
      start: t.exposeString("start", { description: "First date, YYYY-MM-DD." }),
      end: t.exposeString("end", { description: "Last date, YYYY-MM-DD (inclusive)." }),
    }),
  });

  const MetricRef = builder.objectRef<Metric>("Metric").implement({
    description: "A named number.",
    fields: (t) => ({
      name: t.exposeString("name"),
      value: t.float({
        nullable: true,
        description: "Null when undefined on this data (stored as NaN).",
        resolve: (m) => finiteOrNull(m.value),
      }),
    }),
  });

  const MetricAggregateRef = builder.objectRef<MetricAggregate>("MetricAggregate").implement({
    description: "One metric over a run's folds: only folds where it is defined count (n).",
    fields: (t) => ({
      name: t.exposeString("name"),
      n: t.exposeInt("n", { description: "Folds where the metric is defined." }),
      mean: t.float({ nullable: true, resolve: (a) => a.mean }),
      std: t.float({
        nullable: true,
        description: "Sample standard deviation (n − 1); null for n < 2.",
        resolve: (a) => a.std,
      }),
      min: t.float({ nullable: true, resolve: (a) => a.min }),
      max: t.float({ nullable: true, resolve: (a) => a.max }),
    }),
  });

  const FoldAggregatesRef = builder.objectRef<FoldAggregates>("FoldAggregates").implement({
    description: "Every fold metric and baseline of a run aggregated over its folds, so a model's mean stands " +
      "beside each baseline's mean on the same test rows.",
    fields: (t) => ({
      folds: t.exposeInt("folds", { description: "Stored folds." }),
      metrics: t.field({
        type: [MetricAggregateRef],
        complexity: { field: 1, multiplier: LIST_SIZES.metrics },
        resolve: (a) => a.metrics,
      }),
      baselines: t.field({
        type: [MetricAggregateRef],
        complexity: { field: 1, multiplier: LIST_SIZES.metrics },
        resolve: (a) => a.baselines,
      }),
      metric: t.field({
        type: MetricAggregateRef,
        nullable: true,
        description: "One fold metric by name (null if no fold has it).",
        args: { name: t.arg.string({ required: true }) },
        resolve: (a, { name }) => a.metrics.find((m) => m.name === name) ?? null,
      }),
      strongestBaseline: t.field({
        type: MetricAggregateRef,
        nullable: true,
        description: "The baseline with the largest mean (the one a model must beat), or null without baselines.",
        resolve: (a) =>
          a.baselines.reduce<MetricAggregate | null>(
            (best, b) => b.mean !== null && (best === null || b.mean > best.mean!) ? b : best,
            null,
          ),
      }),
    }),
  });

  const RunErrorRef = builder.objectRef<RunError>("RunError").implement({
    description: "Why and where a run failed.",
    fields: (t) => ({
      message: t.exposeString("message"),
      stage: t.string({ nullable: true, description: "Pipeline stage it failed in.", resolve: (e) => e.stage }),
      fold: t.int({ nullable: true, description: "Fold being processed, if any.", resolve: (e) => e.fold }),
      name: t.string({ nullable: true, description: "Error class, e.g. DataError.", resolve: (e) => e.name }),
    }),
  });

  const windowsCost = { field: 1, multiplier: LIST_SIZES.windows };
  const FoldRef = builder.objectRef<StoredFold>("Fold").implement({
    description: "One walk-forward fold: its date windows, purge, embargo, metrics and baselines on the same rows.",
    fields: (t) => ({
      index: t.exposeInt("index", { description: "0-based fold index." }),
      train: t.field({ type: [DateWindowRef], complexity: windowsCost, resolve: (f) => f.train }),
      test: t.field({ type: [DateWindowRef], complexity: windowsCost, resolve: (f) => f.test }),
      validation: t.field({
        type: [DateWindowRef],
        description: "Early-stopping windows carved from training (empty if none).",
        complexity: windowsCost,
        resolve: (f) => f.validation,
      }),
      purge: t.exposeInt("purge", { description: "Dates purged between training and test (≥ label horizon)." }),
      embargo: t.exposeInt("embargo", { description: "Dates embargoed after each test window." }),
      nTrain: t.exposeInt("nTrain", { description: "Rows used to fit." }),
      nTest: t.exposeInt("nTest", { description: "Rows tested." }),
      metrics: t.field({
        type: [MetricRef],
        complexity: { field: 1, multiplier: LIST_SIZES.metrics },
        resolve: (f) => metricList(f.metrics),
      }),
      baselines: t.field({
        type: [MetricRef],
        description: "Baseline accuracies on the same test rows.",
        complexity: { field: 1, multiplier: LIST_SIZES.metrics },
        resolve: (f) => metricList(f.baselines),
      }),
      metric: t.float({
        nullable: true,
        description: "One metric by name (null if absent or undefined).",
        args: { name: t.arg.string({ required: true }) },
        resolve: (f, { name }) => finiteOrNull(f.metrics[name] ?? null),
      }),
      fitReport: t.field({ type: "JSON", complexity: OPAQUE_COST, resolve: (f) => f.fitReport }),
    }),
  });

  const EpochRef = builder.objectRef<StoredEpoch>("Epoch").implement({
    description: "Training health of one epoch (or boosting round).",
    fields: (t) => ({
      fold: t.int({ nullable: true, description: "Null for a fit outside the folds.", resolve: (e) => e.fold }),
      epoch: t.exposeInt("epoch"),
      trainLoss: t.float({ nullable: true, resolve: (e) => finiteOrNull(e.trainLoss) }),
      valLoss: t.float({ nullable: true, resolve: (e) => finiteOrNull(e.valLoss) }),
      lr: t.float({ nullable: true, resolve: (e) => finiteOrNull(e.lr) }),
      gradNorm: t.float({ nullable: true, resolve: (e) => finiteOrNull(e.gradNorm) }),
      clipRatio: t.float({ nullable: true, resolve: (e) => finiteOrNull(e.clipRatio) }),
      nonFinite: t.stringList({
        description: "Fields whose value was NaN or ±Infinity, as `name=value` (e.g. `trainLoss=NaN`).",
        resolve: (e) =>
          (["trainLoss", "valLoss", "lr", "gradNorm", "clipRatio"] as const)
            .filter((k) => e[k] !== null && !Number.isFinite(e[k]))
            .map((k) => `${k}=${e[k]}`),
      }),
      extra: t.field({ type: "JSON", nullable: true, complexity: OPAQUE_COST, resolve: (e) => e.extra }),
    }),
  });

  const DiagnosticRef = builder.objectRef<StoredDiagnostic>("Diagnostic").implement({
    description: "A monitor's finding (variance collapse, sign bias, NaN loss, leakage, ...).",
    fields: (t) => ({
      fold: t.int({ nullable: true, description: "Null when it concerns the whole run.", resolve: (d) => d.fold }),
      kind: t.exposeString("kind"),
      severity: t.field({ type: SeverityEnum, resolve: (d) => d.severity }),
      message: t.exposeString("message"),
      data: t.field({ type: "JSON", nullable: true, complexity: OPAQUE_COST, resolve: (d) => d.data }),
      createdAt: t.string({ resolve: (d) => new Date(d.createdAt).toISOString() }),
    }),
  });

  const EquityPointRef = builder.objectRef<EquityPoint>("EquityPoint").implement({
    fields: (t) => ({
      date: t.exposeString("date"),
      value: t.exposeFloat("value", { description: "Strategy equity (growth of 1, after costs)." }),
      buyAndHold: t.float({
        nullable: true,
        description: "Buy & hold equity on the same date.",
        resolve: (p) => p.buyAndHold,
      }),
    }),
  });

  const BacktestRef = builder.objectRef<BacktestSummary>("Backtest").implement({
    description: "The lagged, costed backtest of the run's out-of-sample predictions, beside buy & hold.",
    fields: (t) => ({
      lag: t.exposeInt("lag", { description: "Days from decision (close of t) to the first return earned." }),
      costBps: t.exposeFloat("costBps", { description: "Commission per unit turnover, basis points." }),
      slippageBps: t.exposeFloat("slippageBps", { description: "Slippage per unit turnover, basis points." }),
      annualization: t.exposeFloat("annualization", { description: "Periods per year." }),
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
        args: { name: t.arg.string({ required: true }) },
        resolve: (b, { name }) => finiteOrNull(b.metrics[name] ?? null),
      }),
      buyAndHoldMetric: t.float({
        nullable: true,
        description: "One buy & hold metric by name, on the same window.",
        args: { name: t.arg.string({ required: true }) },
        resolve: (b, { name }) => finiteOrNull(b.buyAndHold[name] ?? null),
      }),
      warnings: t.stringList({ complexity: OPAQUE_COST, resolve: (b) => b.warnings }),
      points: t.exposeInt("points", { description: "Dates in the equity curve." }),
      equity: t.field({
        type: [EquityPointRef],
        description: `Strategy and buy & hold equity per date (costed at ${LIST_SIZES.equity} points).`,
        complexity: { field: 1, multiplier: LIST_SIZES.equity },
        resolve: async (b, _args, ctx, info) => {
          // Charged before loading: the summary knows the curve's length.
          chargeList(ctx.guard, info, { length: b.points } as unknown[]);
          const curve = await ctx.loaders.equity.load(b.runId);
          if (curve === null) return [];
          return curve.dates.map((date, i) => ({
            date,
            value: curve.values[i],
            buyAndHold: curve.buyAndHold?.[i] ?? null,
          }));
        },
      }),
      details: t.field({ type: "JSON", nullable: true, complexity: OPAQUE_COST, resolve: (b) => b.details }),
    }),
  });

  const MetricRefInput = builder.inputType("MetricRefInput", {
    description: "A run-level metric: its source and its name within that source (e.g. backtest / sharpe).",
    fields: (t) => ({
      source: t.field({ type: MetricSourceEnum, required: true }),
      name: t.string({ required: true }),
    }),
  });

  /** A run-level metric of `run`, read as the store reads it for filters and orders. */
  async function runMetric(run: RunSummary, ref: RunMetricRef, ctx: GraphQLContext): Promise<number | null> {
    switch (ref.source) {
      case "pooled":
        return finiteOrNull(pooledMetrics(run).find((m) => m.name === ref.name)?.value);
      case "backtest":
        return finiteOrNull((await ctx.loaders.backtest.load(run.id))?.metrics[ref.name]);
      case "buyAndHold":
        return finiteOrNull((await ctx.loaders.backtest.load(run.id))?.buyAndHold[ref.name]);
      case "foldMean": {
        const agg = await ctx.loaders.foldAggregates.load(run.id);
        return agg.metrics.find((m) => m.name === ref.name)?.mean ?? null;
      }
    }
  }

  const RunRef = builder.objectRef<RunSummary>("Run").implement({
    description: "One pipeline run: configuration, folds, training health, diagnostics and backtest.",
    fields: (t) => ({
      id: t.exposeID("id"),
      status: t.field({ type: RunStatusEnum, resolve: (r) => r.status }),
      model: t.exposeString("model", { description: "Model kind, e.g. xgboost." }),
      symbols: t.exposeStringList("symbols", { complexity: OPAQUE_COST }),
      dataSource: t.exposeString("dataSource"),
      backend: t.string({ nullable: true, resolve: (r) => r.backend }),
      seed: t.float({ nullable: true, description: "Seed of every random choice.", resolve: (r) => r.seed }),
      leakageOverride: t.exposeBoolean("leakageOverride", {
        description: "True when training went ahead despite leaking features, by explicit override.",
      }),
      config: t.field({ type: "JSON", complexity: OPAQUE_COST, resolve: (r) => r.config }),
      summary: t.field({ type: "JSON", nullable: true, complexity: OPAQUE_COST, resolve: (r) => r.summary }),
      pooled: t.field({
        type: [MetricRef],
        description: "Pooled out-of-sample metrics over all folds (accuracy, IC, rank IC, ...), from the run " +
          "summary; empty until the run succeeds. For a study entry these are its pooled line's metrics, where " +
          "accuracyLow / accuracyHigh are the naive binomial interval: the block-bootstrap interval the verdict " +
          "uses is `pooledLine.accuracyCi`.",
        complexity: { field: 1, multiplier: LIST_SIZES.pooled },
        resolve: (r) => pooledMetrics(r),
      }),
      warnings: t.stringList({
        description: "Everything worth a look before trusting the numbers (from the run summary).",
        complexity: OPAQUE_COST,
        resolve: (r) => {
          const w = (r.summary as { warnings?: unknown } | null)?.warnings;
          return Array.isArray(w) ? w.filter((x): x is string => typeof x === "string") : [];
        },
      }),
      metric: t.float({
        nullable: true,
        description: "A run-level metric, as filters and orders read it (null when missing or undefined).",
        args: { source: t.arg({ type: MetricSourceEnum, required: true }), name: t.arg.string({ required: true }) },
        resolve: (r, args, ctx) => runMetric(r, { source: args.source, name: args.name }, ctx),
      }),
      createdAt: t.string({ description: "ISO 8601 UTC.", resolve: (r) => new Date(r.createdAt).toISOString() }),
      finishedAt: t.string({
        nullable: true,
        description: "ISO 8601 UTC; null while running.",
        resolve: (r) => r.finishedAt === null ? null : new Date(r.finishedAt).toISOString(),
      }),
      error: t.field({ type: RunErrorRef, nullable: true, resolve: (r) => r.error }),
      folds: t.field({
        type: [FoldRef],
        complexity: { field: 1, multiplier: LIST_SIZES.folds },
        resolve: async (r, _a, ctx, info) => chargeList(ctx.guard, info, await ctx.loaders.folds.load(r.id)),
      }),
      foldAggregates: t.field({
        type: FoldAggregatesRef,
        description: "Mean, std, min and max of every fold metric and baseline.",
        resolve: (r, _a, ctx) => ctx.loaders.foldAggregates.load(r.id),
      }),
      epochs: t.field({
        type: [EpochRef],
        args: { fold: t.arg.int({ description: "Only this fold's epochs." }) },
        complexity: (args) => ({
          field: 1,
          multiplier: args.fold === null || args.fold === undefined ? LIST_SIZES.epochs : LIST_SIZES.epochsOfOneFold,
        }),
        resolve: async (r, { fold }, ctx, info) => {
          if (fold !== null && fold !== undefined && fold < 0) {
            throw badInput(`fold must be ≥ 0 (folds are numbered from 0), got ${fold}`);
          }
          const all = await ctx.loaders.epochs.load(r.id);
          return chargeList(
            ctx.guard,
            info,
            fold === null || fold === undefined ? all : all.filter((e) => e.fold === fold),
          );
        },
      }),
      diagnostics: t.field({
        type: [DiagnosticRef],
        args: { severity: t.arg({ type: SeverityEnum, description: "Only this severity." }) },
        complexity: { field: 1, multiplier: LIST_SIZES.diagnostics },
        resolve: async (r, { severity }, ctx, info) => {
          const all = await ctx.loaders.diagnostics.load(r.id);
          return chargeList(
            ctx.guard,
            info,
            severity === null || severity === undefined ? all : all.filter((d) => d.severity === severity),
          );
        },
      }),
      backtest: t.field({
        type: BacktestRef,
        nullable: true,
        resolve: (r, _a, ctx) => ctx.loaders.backtest.load(r.id),
      }),
    }),
  });

  const MetricThresholdInput = builder.inputType("MetricThreshold", {
    description: "Keep runs whose metric is within [min, max] (inclusive); a missing or undefined metric never " +
      "passes.",
    fields: (t) => ({
      metric: t.field({ type: MetricRefInput, required: true }),
      min: t.float(),
      max: t.float(),
    }),
  });

  const RunFilterInput = builder.inputType("RunFilter", {
    description: "Each list keeps runs matching any of its values; different fields must all hold.",
    fields: (t) => ({
      models: t.stringList({ description: 'Model kinds, e.g. ["xgboost", "lstm"].' }),
      symbols: t.stringList({ description: "Runs trading at least one of these symbols." }),
      dataSources: t.stringList({ description: "Data sources exactly as stored (a path, synthetic:planted, ...)." }),
      statuses: t.field({ type: [RunStatusEnum] }),
      studyIds: t.idList({ description: "Entries of these studies." }),
      tags: t.stringList({ description: "Runs carrying at least one of these tags (the run's own)." }),
      targetKinds: t.stringList({
        description: 'Target kinds, e.g. ["direction", "return"] (runs from before studies have none and never match).',
      }),
      verdicts: t.field({ type: [VerdictEnum], description: "Study entries with these verdicts." }),
      gatePassed: t.boolean({
        description: "Study entries whose walk-forward-efficiency gate passed (true) or failed (false).",
      }),
      createdFrom: t.string({ description: "Created at or after (ISO 8601 date or timestamp, UTC)." }),
      createdTo: t.string({ description: "Created before (ISO 8601 date or timestamp, UTC)." }),
      metrics: t.field({ type: [MetricThresholdInput], description: "Thresholds, all of which must hold (≤ 8)." }),
    }),
  });

  const RunOrderInput = builder.inputType("RunOrder", {
    description: "Ties are broken by run id in the same direction; missing metric values come last either way.",
    fields: (t) => ({
      field: t.field({ type: RunOrderFieldEnum, required: true, defaultValue: "createdAt" }),
      metric: t.field({ type: MetricRefInput, description: "The metric when `field` is `metric`." }),
      direction: t.field({ type: SortDirectionEnum, required: true, defaultValue: "desc" }),
    }),
  });

  const PageInfoRef = builder.objectRef<PageInfo>("PageInfo").implement({
    description: "Forward pagination: pass `endCursor` as `after` while `hasNextPage`.",
    fields: (t) => ({
      hasNextPage: t.exposeBoolean("hasNextPage"),
      endCursor: t.string({ nullable: true, resolve: (c) => c.endCursor }),
    }),
  });

  const RunEdgeRef = builder.objectRef<RunEdge>("RunEdge").implement({
    fields: (t) => ({
      cursor: t.exposeString("cursor"),
      node: t.field({ type: RunRef, resolve: (e) => e.node }),
      sortValue: t.float({
        nullable: true,
        description: "The value the run was ordered by (epoch ms for times; null for a missing metric).",
        resolve: (e) => e.sortValue,
      }),
    }),
  });

  const RunConnectionRef = builder.objectRef<RunConnection>("RunConnection").implement({
    description: "A page of runs.",
    fields: (t) => ({
      totalCount: t.exposeInt("totalCount", { description: "Runs matching the filter, over all pages." }),
      pageInfo: t.field({
        type: PageInfoRef,
        resolve: (c) => ({ hasNextPage: c.hasNextPage, endCursor: c.edges.at(-1)?.cursor ?? null }),
      }),
      // The page size is already the multiplier of runsConnection; the lists inside do not multiply again.
      edges: t.field({
        type: [RunEdgeRef],
        complexity: { field: 0, multiplier: 1 },
        resolve: (c, _a, ctx, info) => chargeList(ctx.guard, info, c.edges),
      }),
      nodes: t.field({
        type: [RunRef],
        complexity: { field: 0, multiplier: 1 },
        resolve: (c, _a, ctx, info) => chargeList(ctx.guard, info, c.edges.map((e) => e.node)),
      }),
    }),
  });

  builder.queryType({
    fields: (t) => ({
      runs: t.field({
        type: [RunRef],
        description: "Runs, newest first. Dashboards: see runsConnection for filters, orders and cursors.",
        args: {
          limit: t.arg.int({ description: `At most this many (default 50, at most ${MAX_RUNS_LIMIT}).` }),
          offset: t.arg.int({ description: "Skip this many (paging)." }),
          status: t.arg({ type: RunStatusEnum }),
        },
        complexity: (args) => ({ field: 1, multiplier: Math.max(0, args.limit ?? 50) }),
        resolve: async (_root, args, ctx, info) => {
          const limit = args.limit ?? 50;
          if (limit < 1 || limit > MAX_RUNS_LIMIT) {
            throw badInput(`limit must be between 1 and ${MAX_RUNS_LIMIT}, got ${limit}`);
          }
          const offset = args.offset ?? 0;
          if (offset < 0) throw badInput(`offset must be ≥ 0, got ${offset}`);
          const runs = await ctx.store.listRuns({ limit, offset, status: args.status ?? undefined });
          for (const r of runs) ctx.loaders.run.prime(r.id, r);
          return chargeList(ctx.guard, info as GraphQLResolveInfo, runs);
        },
      }),
      runsConnection: t.field({
        type: RunConnectionRef,
        description: "A page of runs matching `filter`, in `orderBy` order (newest first by default), after the " +
          "cursor `after`, with the total count.",
        args: {
          filter: t.arg({ type: RunFilterInput }),
          orderBy: t.arg({ type: RunOrderInput }),
          first: t.arg.int({ description: `Page size (default 50, at most ${MAX_RUNS_LIMIT}).` }),
          after: t.arg.string({ description: "endCursor of the previous page (same filter and order)." }),
        },
        complexity: (args) => ({ field: 2, multiplier: Math.max(0, args.first ?? 50) }),
        resolve: async (_root, args, ctx) => {
          const f = args.filter ?? {};
          const order = args.orderBy;
          if (order?.field === "metric" && !order.metric) {
            throw badInput("orderBy.metric is required with field metric");
          }
          const query: RunQuery = {
            models: f.models ?? undefined,
            symbols: f.symbols ?? undefined,
            dataSources: f.dataSources ?? undefined,
            statuses: f.statuses ?? undefined,
            studyIds: f.studyIds?.map(String),
            tags: f.tags ?? undefined,
            targetKinds: f.targetKinds ?? undefined,
            verdicts: f.verdicts ?? undefined,
            gatePassed: f.gatePassed ?? undefined,
            createdFrom: parseTime(f.createdFrom, "filter.createdFrom"),
            createdTo: parseTime(f.createdTo, "filter.createdTo"),
            metrics: f.metrics?.map((m) => ({
              metric: m.metric,
              min: m.min ?? undefined,
              max: m.max ?? undefined,
            })),
            order: order === null || order === undefined
              ? undefined
              : { by: order.field === "metric" ? order.metric! : order.field, direction: order.direction },
            first: args.first ?? undefined,
            after: args.after,
          };
          try {
            checkRunQuery(query); // bad arguments are the client's to fix; anything the store throws later is ours
          } catch (e) {
            if (e instanceof StoreError) throw badInput(e.message.replace(/^queryRuns: /, ""));
            throw e;
          }
          const page = await ctx.store.queryRuns(query);
          for (const r of page.runs) ctx.loaders.run.prime(r.id, r);
          return {
            edges: page.runs.map((node, i) => ({ node, cursor: page.cursors[i], sortValue: page.sortValues[i] })),
            totalCount: page.totalCount,
            hasNextPage: page.hasNextPage,
          };
        },
      }),
      run: t.field({
        type: RunRef,
        nullable: true,
        description: "One run by id; an unknown id is an error with extensions.code NOT_FOUND.",
        args: { id: t.arg.id({ required: true }) },
        resolve: async (_root, { id }, ctx) => {
          const run = await ctx.loaders.run.load(String(id));
          if (run === null) {
            throw notFound(`no run with id ${JSON.stringify(String(id))}; list stored runs with { runs { id } }`);
          }
          return run;
        },
      }),
    }),
  });

  const refs: SharedRefs = {
    RunRef,
    FoldRef,
    EpochRef,
    BacktestRef,
    EquityPointRef,
    MetricRef,
    DateWindowRef,
    RunErrorRef,
    RunStatusEnum,
    VerdictEnum,
    SortDirectionEnum,
    PageInfoRef,
  };
  const entryRefs = addEntryFields(builder, refs);
  const studyRefs = addStudyTypes(builder, refs, entryRefs);
  addProductionTypes(builder, refs, studyRefs);
  addProgressSubscriptions(builder, refs, studyRefs);
  if (options.mutations === true) addMutations(builder, refs, studyRefs);

  return builder.toSchema({ sortSchema: false });
}
