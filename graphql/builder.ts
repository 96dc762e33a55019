/**
 * What every part of the GraphQL schema shares: the Pothos builder's types, the resolver context, the typical list
 * lengths that cost analysis multiplies by, and small helpers for arguments and numbers.
 *
 * The schema is built in parts, one file per concern, each adding its types and fields to one builder
 * (schema.ts calls them in order): runs and their parts (schema.ts), the typed study records on runs and folds
 * (schema_entries.ts), studies, comparison and predictions (schema_studies.ts), production models, added backtests,
 * sweeps and the trial registry (schema_production.ts), live progress (schema_progress.ts) and mutations
 * (schema_mutations.ts).
 *
 * @module
 */

import SchemaBuilder, { type EnumRef, type ObjectRef } from "@pothos/core";
import ComplexityPlugin from "@pothos/plugin-complexity";
import { GraphQLError } from "graphql";
import type {
  BacktestSummary,
  RunError,
  RunStatus,
  RunSummary,
  Store,
  StoredEpoch,
  StoredFold,
} from "../lib/store/store.ts";
import type { DateWindow } from "../lib/validation/fold.ts";
import type { RunLoaders } from "./loaders.ts";
import type { RequestGuard } from "./guard.ts";
import type { WatchOptions } from "./progress.ts";

/** What every resolver receives. */
export interface GraphQLContext {
  store: Store;
  loaders: RunLoaders;
  /** Enforces the request's value budget and deadline. */
  guard: RequestGuard;
  /**
   * Subscriptions only: starts a fresh reading of the store for the next event (new loaders, new guard), so every event
   * sees current data and has its own budget. Queries and mutations leave it undefined.
   */
  renew?: () => void;
  /** Subscriptions only: the server's change feed and the longest life of a subscription (progress.ts). */
  live?: WatchOptions;
}

/** The builder's type parameters. */
export interface SchemaTypes {
  Context: GraphQLContext;
  Scalars: { JSON: { Input: unknown; Output: unknown } };
}

type Types = PothosSchemaTypes.ExtendDefaultTypes<SchemaTypes>;

/** The Pothos builder every part of the schema adds to. */
export type Builder = PothosSchemaTypes.SchemaBuilder<Types>;

/** A named number (metric maps are lists of these; NaN reads as null). */
export interface Metric {
  name: string;
  value: number;
}

/** A point of an equity curve (strategy and buy & hold on the same date). */
export interface EquityPoint {
  date: string;
  value: number;
  buyAndHold: number | null;
}

/** A metric map (`{ name: value }`, NaN = undefined) as a list of metrics, in the stored order. */
export const metricList = (m: Record<string, number>): Metric[] =>
  Object.entries(m).map(([name, value]) => ({ name, value }));

/** The types defined by schema.ts that the other parts of the schema use. */
export interface SharedRefs {
  RunRef: ObjectRef<Types, RunSummary>;
  FoldRef: ObjectRef<Types, StoredFold>;
  EpochRef: ObjectRef<Types, StoredEpoch>;
  BacktestRef: ObjectRef<Types, BacktestSummary>;
  EquityPointRef: ObjectRef<Types, EquityPoint>;
  MetricRef: ObjectRef<Types, Metric>;
  DateWindowRef: ObjectRef<Types, DateWindow>;
  RunErrorRef: ObjectRef<Types, RunError>;
  RunStatusEnum: EnumRef<Types, RunStatus, RunStatus>;
  /** `edge` and `no_edge` (stored as `no-edge`). */
  VerdictEnum: EnumRef<Types, "edge" | "no-edge", "edge" | "no-edge">;
  SortDirectionEnum: EnumRef<Types, "asc" | "desc", "asc" | "desc">;
  PageInfoRef: ObjectRef<Types, PageInfo>;
}

/** Forward pagination state of a page of a connection. */
export interface PageInfo {
  hasNextPage: boolean;
  endCursor: string | null;
}

/** A new builder with the complexity plugin (costs declared per field, checked by guard.ts before execution). */
export function newBuilder(): Builder {
  return new SchemaBuilder<SchemaTypes>({
    plugins: [ComplexityPlugin],
    // Costs are declared here and checked once per request, before execution, by the handler (guard.ts); the plugin's
    // own per-root-field check is off.
    complexity: { defaultComplexity: 1, defaultListMultiplier: 10, disabled: true },
  });
}

/**
 * Typical lengths of lists whose size the client does not choose, used as cost multipliers. They are estimates, not
 * caps: the value budget (guard.ts) bounds what longer stored lists produce.
 */
export const LIST_SIZES = {
  /** Walk-forward folds of a run (CPCV splits included). */
  folds: 20,
  /** Epochs of a run over all folds; of one fold when `fold` is given. */
  epochs: 300,
  epochsOfOneFold: 100,
  /** Diagnostics of a run. */
  diagnostics: 30,
  /** Entries of a metric map (fold metrics, baselines, backtest metrics, aggregates). */
  metrics: 10,
  /** Pooled metrics of a run summary (a study entry's pooled line holds about 25). */
  pooled: 25,
  /** Date windows of a fold. */
  windows: 2,
  /** Points of an equity curve: ten years of trading days. */
  equity: 2500,
  /** Model entries (runs) of a study, and rows of its comparison. */
  entries: 10,
  /** Configuration-gate findings of a study (entries × folds × fitted transforms). */
  checks: 100,
  /** Scores per prediction row (1, or the number of classes). */
  scores: 3,
  /** Backtest paths of a CPCV study. */
  paths: 10,
  /** Rows (symbols) of a production prediction batch. */
  predictionRows: 100,
  /** Backtests added to a run. */
  runBacktests: 3,
  /** Windows of a sweep's PBO. */
  pboWindows: 10,
} as const;

/** Cost of a field returning free-form JSON or a list of scalars (no sub-selection to multiply). */
export const OPAQUE_COST = 10;

/** A GraphQL float: null for null, undefined, NaN and ±Infinity (GraphQL floats cannot carry them). */
export const finiteOrNull = (x: number | null | undefined): number | null =>
  x !== null && x !== undefined && Number.isFinite(x) ? x : null;

/** An error the client made (`extensions.code = "BAD_USER_INPUT"`). */
export function badInput(message: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code: "BAD_USER_INPUT" } });
}

/** An id that names nothing (`extensions.code = "NOT_FOUND"`), with how to find valid ones. */
export function notFound(message: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code: "NOT_FOUND" } });
}

/** Epoch ms of an ISO 8601 date or timestamp argument. */
export function parseTime(value: string | null | undefined, arg: string): number | undefined {
  if (value === null || value === undefined) return undefined;
  const ms = Date.parse(value);
  if (!/^\d{4}-\d{2}-\d{2}/.test(value) || !Number.isFinite(ms)) {
    throw badInput(`${arg} must be an ISO 8601 date or timestamp (e.g. 2026-01-31 or 2026-01-31T12:00:00Z)`);
  }
  return ms;
}

/** Epoch ms as ISO 8601 UTC, or null. */
export function isoTime(ms: number | null | undefined): string | null {
  return ms === null || ms === undefined ? null : new Date(ms).toISOString();
}
