/**
 * Per-request DataLoaders over the run store's batch reads, so a query over N runs costs one store call per kind of
 * part (folds, epochs, diagnostics, backtest summaries, equity curves, fold aggregates) instead of N.
 *
 * Loaders are created per request (never shared), so one request never sees another's cache and a long-lived server
 * never serves stale runs. Backtests load without their equity curves; a curve loads only when `equity` is selected,
 * after its resolver has charged the request's value budget with the curve's length (known from the backtest
 * summary), so a curve too large for the budget is refused before it is decoded.
 *
 * @module
 */

import DataLoader from "dataloader";
import type {
  BacktestSummary,
  FoldAggregates,
  RunSummary,
  Store,
  StoredDiagnostic,
  StoredEpoch,
  StoredEquityCurve,
  StoredFold,
} from "../lib/store/store.ts";
import type { RequestGuard } from "./guard.ts";

/** The loaders of one request, keyed by run id. */
export interface RunLoaders {
  run: DataLoader<string, RunSummary | null>;
  folds: DataLoader<string, StoredFold[]>;
  epochs: DataLoader<string, StoredEpoch[]>;
  diagnostics: DataLoader<string, StoredDiagnostic[]>;
  /** Backtests without their equity curves. */
  backtest: DataLoader<string, BacktestSummary | null>;
  /** Equity curves, loaded only when selected. */
  equity: DataLoader<string, StoredEquityCurve | null>;
  /** Fold aggregates; a run without folds gets zero folds and empty lists. */
  foldAggregates: DataLoader<string, FoldAggregates>;
}

function groupByRun<T extends { runId: string }>(ids: readonly string[], items: T[]): T[][] {
  const groups = new Map<string, T[]>(ids.map((id) => [id, []]));
  for (const item of items) groups.get(item.runId)?.push(item);
  return ids.map((id) => groups.get(id)!);
}

function oneByKey<T>(ids: readonly string[], items: T[], key: (t: T) => string): (T | null)[] {
  const byId = new Map(items.map((x) => [key(x), x]));
  return ids.map((id) => byId.get(id) ?? null);
}

/** Fresh loaders for one request; each batch first checks the request's deadline. */
export function createRunLoaders(store: Store, guard?: RequestGuard): RunLoaders {
  const timed = <T>(read: (ids: readonly string[]) => Promise<T[]>) => (ids: readonly string[]) => {
    guard?.checkTime();
    return read(ids);
  };
  return {
    run: new DataLoader(timed(async (ids) => oneByKey(ids, await store.getRuns(ids), (r) => r.id))),
    folds: new DataLoader(timed(async (ids) => groupByRun(ids, await store.listFolds(ids)))),
    epochs: new DataLoader(timed(async (ids) => groupByRun(ids, await store.listEpochs(ids)))),
    diagnostics: new DataLoader(timed(async (ids) => groupByRun(ids, await store.listDiagnostics(ids)))),
    backtest: new DataLoader(
      timed(async (ids) => oneByKey(ids, await store.listBacktestSummaries(ids), (b) => b.runId)),
    ),
    equity: new DataLoader(timed(async (ids) => oneByKey(ids, await store.listEquityCurves(ids), (c) => c.runId))),
    foldAggregates: new DataLoader(timed(async (ids) => {
      const found = new Map((await store.foldAggregates(ids)).map((a) => [a.runId, a]));
      return ids.map((id) => found.get(id) ?? { runId: id, folds: 0, metrics: [], baselines: [] });
    })),
  };
}
