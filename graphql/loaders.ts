/**
 * Per-request DataLoaders over the run store's batch reads, so a query over N runs costs one store call per kind of
 * part (folds, epochs, diagnostics, backtest summaries, equity curves, fold aggregates, prediction records and slices)
 * instead of N, and a query over N studies one call for the studies and one for all their runs.
 *
 * Loaders are created per request (never shared), so one request never sees another's cache and a long-lived server
 * never serves stale runs. Backtests load without their equity curves; a curve loads only when `equity` is selected,
 * after its resolver has charged the request's value budget with the curve's length (known from the backtest
 * summary), so a curve too large for the budget is refused before it is decoded.
 *
 * Production records batch the same way: models by id, the prediction batches of any number of models, the backtests
 * added to any number of runs, sweeps by id and the trials of any number of sweeps are one store call each. The trial
 * registry's counts (`countTrials`) are per key: the loader only deduplicates them within a request.
 *
 * @module
 */

import DataLoader from "dataloader";
import type {
  BacktestSummary,
  FoldAggregates,
  PredictionFold,
  PredictionSlice,
  RunSummary,
  Store,
  StoredDiagnostic,
  StoredEpoch,
  StoredEquityCurve,
  StoredFold,
  StoredPredictions,
  StudySummary,
} from "../lib/store/store.ts";
import { MAX_RUN_PAGE } from "../lib/store/run_query.ts";
import type {
  ListTrialsOptions,
  StoredModel,
  StoredProductionPredictions,
  StoredRunBacktest,
  StoredSweep,
  StoredTrial,
  TrialCount,
  TrialKey,
} from "../lib/store/production.ts";
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
  /** Studies by id. */
  study: DataLoader<string, StudySummary | null>;
  /** The runs of each study, in creation order (read by pages of the run query; each run primes `run`). */
  studyRuns: DataLoader<string, RunSummary[]>;
  /** The prediction records of each run, without their rows. */
  predictionFolds: DataLoader<string, PredictionFold[]>;
  /** A slice of one prediction record, or null when the (run, fold) has none. */
  predictionSlice: DataLoader<PredictionSlice, StoredPredictions | null, string>;
  /** Production models by id. */
  model: DataLoader<string, StoredModel | null>;
  /**
   * The newest `last` prediction batches of each model, oldest first (one store call per distinct `last` in a batch:
   * only the batches shown are read, however long a model has been predicting).
   */
  modelPredictions: DataLoader<{ modelId: string; last: number }, StoredProductionPredictions[], string>;
  /** The backtests added to each run, in the order added (equity curves included). */
  runBacktests: DataLoader<string, StoredRunBacktest[]>;
  /** Sweeps by id (without their trials). */
  sweep: DataLoader<string, StoredSweep | null>;
  /** A page of each sweep's trials (by cell or by a metric); one store call per distinct page in a batch. */
  trials: DataLoader<TrialPageKey, StoredTrial[], string>;
  /** The trial registry's count under a key (one store call per distinct key). */
  trialCount: DataLoader<TrialKey, TrialCount, string>;
}

/** A page of one sweep's trials. */
export interface TrialPageKey {
  sweepId: string;
  options: ListTrialsOptions;
}

const trialPageOf = (k: TrialPageKey) =>
  JSON.stringify([
    k.options.orderBy?.metric ?? null,
    k.options.orderBy?.direction ?? null,
    k.options.offset ?? 0,
    k.options.limit ?? null,
  ]);
const trialKeyOf = (k: TrialPageKey) => `${k.sweepId}\u0000${trialPageOf(k)}`;

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
  const timed = <T, K = string>(read: (ids: readonly K[]) => Promise<T[]>) => (ids: readonly K[]) => {
    guard?.checkTime();
    return read(ids);
  };
  const loaders: RunLoaders = {
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
    study: new DataLoader(timed(async (ids) => oneByKey(ids, await store.getStudies(ids), (s) => s.id))),
    studyRuns: new DataLoader(timed(async (ids) => {
      const runs: RunSummary[] = [];
      let after: string | null = null;
      for (;;) {
        const page = await store.queryRuns({
          studyIds: ids,
          order: { by: "createdAt", direction: "asc" },
          first: MAX_RUN_PAGE,
          after,
        });
        runs.push(...page.runs);
        if (!page.hasNextPage) break;
        guard?.checkTime();
        after = page.cursors.at(-1)!;
      }
      for (const r of runs) loaders.run.prime(r.id, r);
      const groups = new Map<string, RunSummary[]>(ids.map((id) => [id, []]));
      for (const r of runs) if (r.studyId !== null) groups.get(r.studyId)?.push(r);
      return ids.map((id) => groups.get(id)!);
    })),
    predictionFolds: new DataLoader(timed(async (ids) => groupByRun(ids, await store.listPredictionFolds(ids)))),
    predictionSlice: new DataLoader(
      timed<StoredPredictions | null, PredictionSlice>(async (slices) => {
        const found = await store.readPredictionSlices(slices);
        // One result per slice that exists, in the order asked: match them back by (run, fold) in order.
        const out: (StoredPredictions | null)[] = [];
        let at = 0;
        for (const s of slices) {
          const r = found[at];
          if (r !== undefined && r.runId === s.runId && r.fold === s.fold && r.split === (s.split ?? "test")) {
            out.push(r);
            at++;
          } else out.push(null);
        }
        return out;
      }),
      { cacheKeyFn: (s) => `${s.runId}\u0000${s.fold}\u0000${s.split ?? "test"}\u0000${s.offset}\u0000${s.limit}` },
    ),
    model: new DataLoader(timed(async (ids) => oneByKey(ids, await store.getModels(ids), (m) => m.id))),
    modelPredictions: new DataLoader(
      timed<StoredProductionPredictions[], { modelId: string; last: number }>(async (keys) => {
        const found = new Map<string, StoredProductionPredictions[]>();
        for (const last of new Set(keys.map((k) => k.last))) {
          const ids = [...new Set(keys.filter((k) => k.last === last).map((k) => k.modelId))];
          for (const id of ids) found.set(`${id}\u0000${last}`, []);
          for (const b of await store.listProductionPredictions(ids, { last })) {
            found.get(`${b.modelId}\u0000${last}`)?.push(b);
          }
        }
        return keys.map((k) => found.get(`${k.modelId}\u0000${k.last}`)!);
      }),
      { cacheKeyFn: (k) => `${k.modelId}\u0000${k.last}` },
    ),
    runBacktests: new DataLoader(timed(async (ids) => groupByRun(ids, await store.listRunBacktests(ids)))),
    sweep: new DataLoader(timed(async (ids) => oneByKey(ids, await store.getSweeps(ids), (s) => s.id))),
    trials: new DataLoader(
      timed<StoredTrial[], TrialPageKey>(async (keys) => {
        const found = new Map<string, StoredTrial[]>();
        const pages = new Map<string, TrialPageKey[]>();
        for (const k of keys) {
          const page = trialPageOf(k);
          pages.set(page, [...(pages.get(page) ?? []), k]);
          found.set(trialKeyOf(k), []);
        }
        for (const group of pages.values()) {
          const { options } = group[0];
          const ids = [...new Set(group.map((k) => k.sweepId))];
          for (const t of await store.listTrials(ids, options)) {
            found.get(trialKeyOf({ sweepId: t.sweepId, options }))?.push(t);
          }
        }
        return keys.map((k) => found.get(trialKeyOf(k))!);
      }),
      { cacheKeyFn: trialKeyOf },
    ),
    trialCount: new DataLoader(
      timed<TrialCount, TrialKey>((keys) => Promise.all(keys.map((k) => store.countTrials(k)))),
      { cacheKeyFn: (k) => `${k.dataFingerprint}\u0000${k.targetKind}\u0000${k.horizon}` },
    ),
  };
  return loaders;
}
