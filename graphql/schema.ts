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
 *
 * @module
 */

import SchemaBuilder from "@pothos/core";
import { GraphQLError, type GraphQLSchema } from "graphql";
import type { DateWindow } from "../lib/validation/fold.ts";
import {
  DIAGNOSTIC_SEVERITIES,
  RUN_STATUSES,
  type RunError,
  type RunStatus,
  type RunSummary,
  type Store,
  type StoredBacktest,
  type StoredDiagnostic,
  type StoredEpoch,
  type StoredFold,
} from "../lib/store/store.ts";
import type { RunLoaders } from "./loaders.ts";

/** What every resolver receives. */
export interface GraphQLContext {
  store: Store;
  loaders: RunLoaders;
}

interface Metric {
  name: string;
  value: number;
}

interface EquityPoint {
  date: string;
  value: number;
  buyAndHold: number | null;
}

const finiteOrNull = (x: number | null): number | null => x !== null && Number.isFinite(x) ? x : null;

const metricList = (m: Record<string, number>): Metric[] => Object.entries(m).map(([name, value]) => ({ name, value }));

/** Largest `limit` accepted by `runs`. */
export const MAX_RUNS_LIMIT = 1000;

/** Builds the schema. Pure: the store comes in through the context. */
export function buildSchema(): GraphQLSchema {
  const builder = new SchemaBuilder<{
    Context: GraphQLContext;
    Scalars: { JSON: { Input: unknown; Output: unknown } };
  }>({});

  builder.scalarType("JSON", {
    description: "Any JSON value (objects, arrays, strings, numbers, booleans, null).",
    serialize: (v) => v,
    parseValue: (v) => v,
  });

  const RunStatusEnum = builder.enumType("RunStatus", {
    description: "running → succeeded | failed. A finished run is sealed.",
    values: RUN_STATUSES as RunStatus[],
  });
  const SeverityEnum = builder.enumType("Severity", {
    values: DIAGNOSTIC_SEVERITIES as ("info" | "warning" | "error")[],
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

  const RunErrorRef = builder.objectRef<RunError>("RunError").implement({
    description: "Why and where a run failed.",
    fields: (t) => ({
      message: t.exposeString("message"),
      stage: t.string({ nullable: true, description: "Pipeline stage it failed in.", resolve: (e) => e.stage }),
      fold: t.int({ nullable: true, description: "Fold being processed, if any.", resolve: (e) => e.fold }),
      name: t.string({ nullable: true, description: "Error class, e.g. DataError.", resolve: (e) => e.name }),
    }),
  });

  const FoldRef = builder.objectRef<StoredFold>("Fold").implement({
    description: "One walk-forward fold: its date windows, purge, embargo, metrics and baselines on the same rows.",
    fields: (t) => ({
      index: t.exposeInt("index", { description: "0-based fold index." }),
      train: t.field({ type: [DateWindowRef], resolve: (f) => f.train }),
      test: t.field({ type: [DateWindowRef], resolve: (f) => f.test }),
      validation: t.field({
        type: [DateWindowRef],
        description: "Early-stopping windows carved from training (empty if none).",
        resolve: (f) => f.validation,
      }),
      purge: t.exposeInt("purge", { description: "Dates purged between training and test (≥ label horizon)." }),
      embargo: t.exposeInt("embargo", { description: "Dates embargoed after each test window." }),
      nTrain: t.exposeInt("nTrain", { description: "Rows used to fit." }),
      nTest: t.exposeInt("nTest", { description: "Rows tested." }),
      metrics: t.field({ type: [MetricRef], resolve: (f) => metricList(f.metrics) }),
      baselines: t.field({
        type: [MetricRef],
        description: "Baseline accuracies on the same test rows.",
        resolve: (f) => metricList(f.baselines),
      }),
      metric: t.float({
        nullable: true,
        description: "One metric by name (null if absent or undefined).",
        args: { name: t.arg.string({ required: true }) },
        resolve: (f, { name }) => finiteOrNull(f.metrics[name] ?? null),
      }),
      fitReport: t.field({ type: "JSON", resolve: (f) => f.fitReport }),
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
      extra: t.field({ type: "JSON", nullable: true, resolve: (e) => e.extra }),
    }),
  });

  const DiagnosticRef = builder.objectRef<StoredDiagnostic>("Diagnostic").implement({
    description: "A monitor's finding (variance collapse, sign bias, NaN loss, leakage, ...).",
    fields: (t) => ({
      fold: t.int({ nullable: true, description: "Null when it concerns the whole run.", resolve: (d) => d.fold }),
      kind: t.exposeString("kind"),
      severity: t.field({ type: SeverityEnum, resolve: (d) => d.severity }),
      message: t.exposeString("message"),
      data: t.field({ type: "JSON", nullable: true, resolve: (d) => d.data }),
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

  const BacktestRef = builder.objectRef<StoredBacktest>("Backtest").implement({
    description: "The lagged, costed backtest of the run's out-of-sample predictions, beside buy & hold.",
    fields: (t) => ({
      lag: t.exposeInt("lag", { description: "Days from decision (close of t) to the first return earned." }),
      costBps: t.exposeFloat("costBps", { description: "Commission per unit turnover, basis points." }),
      slippageBps: t.exposeFloat("slippageBps", { description: "Slippage per unit turnover, basis points." }),
      annualization: t.exposeFloat("annualization", { description: "Periods per year." }),
      metrics: t.field({ type: [MetricRef], resolve: (b) => metricList(b.metrics) }),
      buyAndHold: t.field({ type: [MetricRef], resolve: (b) => metricList(b.buyAndHold) }),
      metric: t.float({
        nullable: true,
        args: { name: t.arg.string({ required: true }) },
        resolve: (b, { name }) => finiteOrNull(b.metrics[name] ?? null),
      }),
      warnings: t.stringList({ resolve: (b) => b.warnings }),
      equity: t.field({
        type: [EquityPointRef],
        resolve: (b) =>
          b.equity.dates.map((date, i) => ({
            date,
            value: b.equity.values[i],
            buyAndHold: b.equity.buyAndHold?.[i] ?? null,
          })),
      }),
      details: t.field({ type: "JSON", nullable: true, resolve: (b) => b.details }),
    }),
  });

  const RunRef = builder.objectRef<RunSummary>("Run").implement({
    description: "One pipeline run: configuration, folds, training health, diagnostics and backtest.",
    fields: (t) => ({
      id: t.exposeID("id"),
      status: t.field({ type: RunStatusEnum, resolve: (r) => r.status }),
      model: t.exposeString("model", { description: "Model kind, e.g. xgboost." }),
      symbols: t.exposeStringList("symbols"),
      dataSource: t.exposeString("dataSource"),
      backend: t.string({ nullable: true, resolve: (r) => r.backend }),
      seed: t.float({ nullable: true, description: "Seed of every random choice.", resolve: (r) => r.seed }),
      leakageOverride: t.exposeBoolean("leakageOverride", {
        description: "True when training went ahead despite leaking features, by explicit override.",
      }),
      config: t.field({ type: "JSON", resolve: (r) => r.config }),
      summary: t.field({ type: "JSON", nullable: true, resolve: (r) => r.summary }),
      createdAt: t.string({ description: "ISO 8601 UTC.", resolve: (r) => new Date(r.createdAt).toISOString() }),
      finishedAt: t.string({
        nullable: true,
        description: "ISO 8601 UTC; null while running.",
        resolve: (r) => r.finishedAt === null ? null : new Date(r.finishedAt).toISOString(),
      }),
      error: t.field({ type: RunErrorRef, nullable: true, resolve: (r) => r.error }),
      folds: t.field({ type: [FoldRef], resolve: (r, _a, ctx) => ctx.loaders.folds.load(r.id) }),
      epochs: t.field({
        type: [EpochRef],
        args: { fold: t.arg.int({ description: "Only this fold's epochs." }) },
        resolve: async (r, { fold }, ctx) => {
          const all = await ctx.loaders.epochs.load(r.id);
          return fold === null || fold === undefined ? all : all.filter((e) => e.fold === fold);
        },
      }),
      diagnostics: t.field({
        type: [DiagnosticRef],
        args: { severity: t.arg({ type: SeverityEnum, description: "Only this severity." }) },
        resolve: async (r, { severity }, ctx) => {
          const all = await ctx.loaders.diagnostics.load(r.id);
          return severity === null || severity === undefined ? all : all.filter((d) => d.severity === severity);
        },
      }),
      backtest: t.field({
        type: BacktestRef,
        nullable: true,
        resolve: (r, _a, ctx) => ctx.loaders.backtest.load(r.id),
      }),
    }),
  });

  builder.queryType({
    fields: (t) => ({
      runs: t.field({
        type: [RunRef],
        description: "Runs, newest first.",
        args: {
          limit: t.arg.int({ description: `At most this many (default 50, at most ${MAX_RUNS_LIMIT}).` }),
          offset: t.arg.int({ description: "Skip this many (paging)." }),
          status: t.arg({ type: RunStatusEnum }),
        },
        resolve: async (_root, args, ctx) => {
          const limit = args.limit ?? 50;
          if (limit < 1 || limit > MAX_RUNS_LIMIT) {
            throw new GraphQLError(`limit must be between 1 and ${MAX_RUNS_LIMIT}, got ${limit}`, {
              extensions: { code: "BAD_USER_INPUT" },
            });
          }
          const offset = args.offset ?? 0;
          if (offset < 0) {
            throw new GraphQLError(`offset must be ≥ 0, got ${offset}`, { extensions: { code: "BAD_USER_INPUT" } });
          }
          const runs = await ctx.store.listRuns({ limit, offset, status: args.status ?? undefined });
          for (const r of runs) ctx.loaders.run.prime(r.id, r);
          return runs;
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
            throw new GraphQLError(
              `no run with id ${JSON.stringify(String(id))}; list stored runs with { runs { id } }`,
              {
                extensions: { code: "NOT_FOUND" },
              },
            );
          }
          return run;
        },
      }),
    }),
  });

  return builder.toSchema({ sortSchema: false });
}
