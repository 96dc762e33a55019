/**
 * The run recorder: the only writer of study records (Qlib's separate recording layer is the model). The study loop
 * hands it typed records ({@link StudyReport}, {@link EntryReport}, {@link FoldReport}); it writes them to the store as
 * they are produced — a study, one run per model entry, each fold with its out-of-sample predictions, epochs and
 * diagnostics, the backtest — and seals them. Without a store it writes nothing and every id is undefined.
 *
 * What is stored where (read back by {@link readStudyReport}):
 * - study: the resolved config, data source and fingerprint, candor version, seed, symbols, features, the planned
 *   entries; its summary holds the plan, the comparison, notes, warnings and the configuration checks;
 * - run (one per entry): kind, settings (in `config`), backend, features, fingerprint, version; its summary holds the
 *   pooled line, the gate, the efficiency (pooled and per fold), the up-share, health and warnings;
 * - fold: windows, sizes, metrics, baselines; `fitReport` holds the typed fit report plus the tail size, the
 *   target distribution, the health verdict and the previous-sign baseline's row counts;
 * - predictions: the fold's test rows (date, symbol) and scores;
 * - backtest: metrics beside buy & hold, the equity curves, and (details) the Sharpe difference and CPCV paths.
 *
 * A failure marks the entry's run and the study failed with the stage, entry and fold it happened in; the folds
 * finished before it are kept.
 *
 * @module
 */

import type {
  BacktestRecord,
  DiagnosticRecord,
  EpochRecord,
  FoldWriteOutcome,
  PredictionRecord,
  RunError,
  Store,
} from "../store/store.ts";
import type { ModelEntry, StudyConfig } from "./config.ts";
import type { EntryReport, FoldReport, StudyReport } from "./records.ts";
import { comparisonRow } from "./records.ts";
import type { Efficiency, TargetDistribution } from "./evaluate.ts";
import type { FoldFitReport } from "./trainers/contract.ts";

/** What the study record needs when it is created. */
export interface StudyStart {
  /** Resolved configuration. */
  config: StudyConfig;
  /** Symbols, panel order. */
  symbols: string[];
  /** Data source. */
  source: string;
  /** Fingerprint of the input. */
  fingerprint: string;
  /** candor version. */
  version: string;
  /** Feature names. */
  features: string[];
  /** Whether leaking features were trained on by explicit override. */
  leakageOverride: boolean;
}

/** The fold record's `fitReport`: the typed fit report plus what the fold table needs that is not a metric. */
export interface StoredFoldDetails extends FoldFitReport {
  /** Rows of the early-stopping tail. */
  nValidation: number;
  /** The target's distribution on the fold's parts. */
  targets: TargetDistribution;
  /** Health verdict: training, and the test calls (constant, one-sided). */
  health: string;
  /** Previous-sign baseline's rows and the rows it left out. */
  previousSignBaseline: { rows: number; excluded: number };
  /** The majority class of the fitting rows (what the majority baseline calls). */
  majority: number;
  /** Warnings the fold raised (the entry's warnings are rebuilt from them on resume). */
  warnings: string[];
  /** Why the fold was not predicted. */
  skipped?: string;
}

/** The run summary of an entry (the entry report minus what the folds and backtest tables hold). */
export type StoredEntrySummary = Omit<EntryReport, "folds" | "backtest" | "runId"> & {
  /** Per-fold walk-forward efficiency by fold index. */
  foldEfficiency: Record<string, Efficiency | null>;
  /** The backtest summary (also in the backtests table, without the equity curve). */
  backtest: EntryReport["backtest"];
};

/** The study summary (the study report minus what the runs and folds hold). */
export type StoredStudySummary = Pick<
  StudyReport,
  "plan" | "comparison" | "warnings" | "notes" | "theoreticalAccuracy" | "configurationChecks"
>;

/** Writes a study's records; see the module notes. */
export class StudyRecorder {
  readonly #store?: Store;
  /** Stored study id, once begun. */
  studyId?: string;

  /** Records into `store`, or nowhere. */
  constructor(store?: Store) {
    this.#store = store;
  }

  /** Creates the study (status running). */
  async beginStudy(s: StudyStart): Promise<string | undefined> {
    if (this.#store === undefined) return undefined;
    this.studyId = await this.#store.createStudy({
      name: s.config.name ?? null,
      config: s.config as unknown as Record<string, unknown>,
      seed: s.config.seed,
      symbols: s.symbols,
      dataSource: s.source,
      dataFingerprint: s.fingerprint,
      version: s.version,
      features: s.features,
      entries: s.config.models.map((m) => ({ name: m.name, kind: m.kind })),
      leakageOverride: s.leakageOverride,
    });
    return this.studyId;
  }

  /** Creates an entry's run (status running). */
  async beginEntry(
    entry: ModelEntry,
    s: StudyStart,
    backend: string,
  ): Promise<string | undefined> {
    if (this.#store === undefined) return undefined;
    return await this.#store.createRun({
      config: { ...(s.config as unknown as Record<string, unknown>), models: undefined, entry },
      seed: s.config.seed,
      model: entry.kind,
      symbols: s.symbols,
      dataSource: s.source,
      backend,
      leakageOverride: s.leakageOverride,
      studyId: this.studyId ?? null,
      entry: entry.name,
      features: s.features,
      dataFingerprint: s.fingerprint,
      version: s.version,
    });
  }

  /**
   * Records a finished fold with its test and early-stopping-tail predictions, epochs and diagnostics, in one
   * transaction keyed by (run, fold): a fold exists in the store exactly when all its parts do (what "finished" means
   * to a resume). `duplicate` when the run already held the fold (a retried scale-out job; nothing written), undefined
   * without a store.
   */
  async fold(
    runId: string | undefined,
    f: FoldReport,
    parts: {
      epochs: EpochRecord[];
      diagnostics: DiagnosticRecord[];
      previousSign: { rows: number; excluded: number };
      majority: number;
      warnings: string[];
      predictions: Omit<PredictionRecord, "fold" | "split">;
      tail: Omit<PredictionRecord, "fold" | "split">;
    },
  ): Promise<FoldWriteOutcome | undefined> {
    if (this.#store === undefined || runId === undefined) return undefined;
    const details: StoredFoldDetails = {
      ...f.fit,
      nValidation: f.nValidation,
      targets: f.targets,
      health: f.health,
      previousSignBaseline: parts.previousSign,
      majority: parts.majority,
      warnings: parts.warnings,
      ...(f.skipped === undefined ? {} : { skipped: f.skipped }),
    };
    const predictions: PredictionRecord[] = f.nTest > 0
      ? [
        { fold: f.index, split: "test", ...parts.predictions },
        ...(parts.tail.dates.length > 0 ? [{ fold: f.index, split: "validation" as const, ...parts.tail }] : []),
      ]
      : [];
    return await this.#store.recordFold(runId, {
      index: f.index,
      train: f.train,
      test: f.test,
      validation: f.validation,
      purge: f.purge,
      embargo: f.embargo,
      nTrain: f.nTrain,
      nTest: f.nTest,
      metrics: f.metrics,
      baselines: f.baselines,
      fitReport: details as unknown as Record<string, unknown>,
    }, { predictions, epochs: parts.epochs, diagnostics: parts.diagnostics });
  }

  /** Seals an entry's run as succeeded with its summary, its backtest and the verdict and gate findings, at once. */
  async finishEntry(runId: string | undefined, e: EntryReport, backtest: BacktestRecord): Promise<void> {
    if (this.#store === undefined || runId === undefined) return;
    const diagnostics: DiagnosticRecord[] = [
      {
        fold: null,
        kind: "verdict",
        severity: e.pooled.verdict === "edge" ? "info" : "warning",
        message: `${e.pooled.verdict}: ${e.gate.reason}`,
        data: { edge: e.pooled.edge, ic: e.pooled.ic } as unknown as Record<string, unknown>,
      },
      {
        fold: null,
        kind: "gate",
        severity: e.gate.passed ? "info" : "warning",
        message: `gate ${e.gate.passed ? "passed" : "failed"}: ${e.gate.reason}`,
        data: e.gate as unknown as Record<string, unknown>,
      },
    ];
    const { folds, runId: _id, ...rest } = e;
    const summary: StoredEntrySummary = {
      ...rest,
      foldEfficiency: Object.fromEntries(folds.map((f) => [String(f.index), f.efficiency])),
    };
    await this.#store.finishRun(
      runId,
      { status: "succeeded", summary: JSON.parse(JSON.stringify(summary)) as Record<string, unknown> },
      { backtest, diagnostics },
    );
  }

  /** Keeps a running study marked alive (its heartbeat), with the entry's run when one is being trained. */
  async heartbeat(runId: string | undefined): Promise<void> {
    if (this.#store === undefined || this.studyId === undefined) return;
    await this.#store.heartbeat(this.studyId, runId);
  }

  /** Marks the study and its running runs interrupted (a signal): where it stopped is in `error`. */
  async interrupt(error: RunError): Promise<void> {
    if (this.#store === undefined || this.studyId === undefined) return;
    await this.#store.markInterrupted(this.studyId, error);
  }

  /** Seals an entry's run as failed (the error and where). */
  async failEntry(runId: string | undefined, error: RunError): Promise<void> {
    if (this.#store === undefined || runId === undefined) return;
    await this.#store.finishRun(runId, { status: "failed", error });
  }

  /** Seals the study as succeeded with its summary. */
  async finishStudy(r: StudyReport): Promise<void> {
    if (this.#store === undefined || this.studyId === undefined) return;
    const summary: StoredStudySummary = {
      plan: r.plan,
      comparison: r.entries.map(comparisonRow),
      warnings: r.warnings,
      notes: r.notes,
      ...(r.theoreticalAccuracy === undefined ? {} : { theoreticalAccuracy: r.theoreticalAccuracy }),
      configurationChecks: r.configurationChecks,
    };
    await this.#store.finishStudy(this.studyId, {
      status: "succeeded",
      summary: JSON.parse(JSON.stringify(summary)) as Record<string, unknown>,
    });
  }

  /** Seals the study as failed. */
  async failStudy(error: RunError): Promise<void> {
    if (this.#store === undefined || this.studyId === undefined) return;
    await this.#store.finishStudy(this.studyId, { status: "failed", error });
  }
}

/**
 * Rebuilds a stored study's report (what `candor show` prints): the study record, its runs, their folds and
 * backtests. Undefined when no study has this id. A run id is accepted too (its study is read).
 */
export async function readStudyReport(store: Store, id: string): Promise<StudyReport | undefined> {
  let studyId = id;
  if (id.startsWith("run_")) {
    const [run] = await store.getRuns([id]);
    if (run === undefined || run.studyId === null) return undefined;
    studyId = run.studyId;
  }
  const study = await store.getStudy(studyId);
  if (study === undefined) return undefined;
  const runIds = study.runs.map((r) => r.id);
  const [folds, backtests] = await Promise.all([store.listFolds(runIds), store.listBacktests(runIds)]);
  const summary = (study.summary ?? {}) as Partial<StoredStudySummary> & { legacy?: boolean };
  const entries: EntryReport[] = study.runs.filter((r) => r.status === "succeeded" && r.summary !== null).map((run) => {
    const s = run.summary as unknown as StoredEntrySummary;
    const backtest = backtests.find((b) => b.runId === run.id);
    return {
      ...s,
      runId: run.id,
      backtest: s.backtest ?? {
        window: { start: "", end: "" },
        lag: backtest?.lag ?? NaN,
        costBps: backtest?.costBps ?? NaN,
        slippageBps: backtest?.slippageBps ?? NaN,
        annualization: backtest?.annualization ?? NaN,
        portfolio: "",
        metrics: backtest?.metrics ?? {},
        buyAndHold: backtest?.buyAndHold ?? {},
        sharpeDifference: { value: NaN, ci: [NaN, NaN], pValue: NaN, method: "" },
        warnings: backtest?.warnings ?? [],
      },
      folds: folds.filter((f) => f.runId === run.id).map((f): FoldReport => {
        const d = f.fitReport as unknown as StoredFoldDetails;
        return {
          index: f.index,
          train: f.train,
          validation: f.validation,
          test: f.test,
          purge: f.purge,
          embargo: f.embargo,
          nTrain: f.nTrain,
          nValidation: d.nValidation,
          nTest: f.nTest,
          metrics: f.metrics,
          baselines: f.baselines,
          ...(d.bestIteration === undefined || d.bestIteration === null ? {} : { bestIteration: d.bestIteration }),
          health: d.health,
          targets: d.targets,
          efficiency: s.foldEfficiency?.[String(f.index)] ?? null,
          ...(d.skipped === undefined ? {} : { skipped: d.skipped }),
          seconds: d.seconds ?? NaN,
          fit: d,
        };
      }),
    };
  });
  return {
    id: study.id,
    createdAt: study.createdAt,
    status: study.status,
    config: study.config as unknown as StudyConfig,
    source: study.dataSource,
    fingerprint: study.dataFingerprint ?? "",
    version: study.version ?? "",
    symbols: study.symbols,
    features: study.features,
    plan: summary.plan ?? { scheme: "", folds: [] },
    entries,
    comparison: summary.comparison ?? entries.map(comparisonRow),
    warnings: summary.warnings ?? [],
    notes: summary.notes ?? [],
    ...(summary.theoreticalAccuracy === undefined ? {} : { theoreticalAccuracy: summary.theoreticalAccuracy }),
    configurationChecks: summary.configurationChecks ?? [],
  };
}
