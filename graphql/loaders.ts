/**
 * Per-request DataLoaders over the run store's batch reads, so a query over N runs costs one store call per kind of
 * part (folds, epochs, diagnostics, backtest) instead of N.
 *
 * Loaders are created per request (never shared), so one request never sees another's cache and a long-lived server
 * never serves stale runs.
 *
 * @module
 */

import DataLoader from "dataloader";
import type {
  RunSummary,
  Store,
  StoredBacktest,
  StoredDiagnostic,
  StoredEpoch,
  StoredFold,
} from "../lib/store/store.ts";

/** The loaders of one request, keyed by run id. */
export interface RunLoaders {
  run: DataLoader<string, RunSummary | null>;
  folds: DataLoader<string, StoredFold[]>;
  epochs: DataLoader<string, StoredEpoch[]>;
  diagnostics: DataLoader<string, StoredDiagnostic[]>;
  backtest: DataLoader<string, StoredBacktest | null>;
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

/** Fresh loaders for one request. */
export function createRunLoaders(store: Store): RunLoaders {
  return {
    run: new DataLoader(async (ids) => oneByKey(ids, await store.getRuns(ids), (r) => r.id)),
    folds: new DataLoader(async (ids) => groupByRun(ids, await store.listFolds(ids))),
    epochs: new DataLoader(async (ids) => groupByRun(ids, await store.listEpochs(ids))),
    diagnostics: new DataLoader(async (ids) => groupByRun(ids, await store.listDiagnostics(ids))),
    backtest: new DataLoader(async (ids) => oneByKey(ids, await store.listBacktests(ids), (b) => b.runId)),
  };
}
