/**
 * The study: one fold plan, every model entry trained on exactly the same rows and folds, compared side by side, all
 * stored under one study id. `runStudy` is a short script of named steps:
 *
 * 1. **load** the prices (files or the synthetic market) and fingerprint them;
 * 2. **features**: select the built-in set and the file columns;
 * 3. **audit** every feature for look-ahead (a `leak` stops the study unless `allowLeakage`, stored with it);
 * 4. **dataset**: features, the target of `target.kind`, previous-period values, regime features;
 * 5. **plan** the folds of `validation.scheme` and refuse data too short or degenerate to learn from;
 * 6. **configuration gate**: every entry's fitted windows inside its fold's training period, purge ≥ horizon — before
 *    anything is stored, so a refused configuration writes nothing;
 * 7. **train** each entry over every fold (lib/pipeline/entry.ts), bases before the entries that stack them;
 * 8. **compare** the entries and seal the study.
 *
 * **Resume** (`resume`: a stored study or run id; `candor run --resume ID`): the same script on the stored study. Before
 * anything is written it is checked as resumable (lib/pipeline/resume.ts: interrupted, failed or stale; the stored
 * configuration) and, once the data is loaded, that the data has the stored fingerprint. Then the study is reopened
 * (a stale one first marked interrupted); an entry whose run succeeded is pooled again from its stored folds without
 * writing, a reopened entry trains only the folds it lacks (`trainEntry` with its stored folds), an entry never begun
 * is trained in full — each through the same fold and finish steps as a fresh run, so the result is the one an
 * uninterrupted run gives. Stacking entries read their bases' stored folds through the bases' outcomes.
 *
 * Honesty rules enforced on the way (README "What a study does"): splits on the shared date axis, purge ≥ horizon,
 * fitted transforms on fitting rows only, every headline beside its strongest naive baseline with an interval that
 * respects overlapping labels and correlated symbols, positions lagged, a failed study keeps its finished folds and
 * says where it failed.
 *
 * @module
 */

import type { Panel } from "../data/panel.ts";
import { auditFeatures } from "../leakage/audit.ts";
import { assertPanelAdequate } from "../data/adequacy.ts";
import type { ConfigurationFinding } from "../leakage/configuration.ts";
import { plausibilityCheck } from "../metrics/plausibility.ts";
import type { Store } from "../store/store.ts";
import { ConfigError, InterruptedError, LeakageError, RecordingError, ResumeRefusedError } from "../errors.ts";
import { CANDOR_VERSION } from "../version.ts";
import { resolveStudyConfig, type StudyConfig, type StudyConfigInput } from "./config.ts";
import {
  type FeatureSelection,
  loadMarket,
  type Market,
  type PreparedData,
  prepareStudyData,
  selectFeatures,
} from "./data.ts";
import { adjustedPText, studyFamily } from "./evaluate.ts";
import { configurationGate, type FoldPlan, planFolds, plannedFitted } from "./plan.ts";
import { trainerOf } from "./trainers/registry.ts";
import type { OutOfFoldPredictions, StudyData } from "./trainers/contract.ts";
import { type EntryContext, type EntryOutcome, finishEntry, trainEntry } from "./entry.ts";
import { resumableStudy } from "./resume.ts";
import { readFoldResults } from "./stored.ts";
import { StudyRecorder, type StudyStart } from "./recorder.ts";
import { comparisonRow, type EntryReport, type StudyReport } from "./records.ts";

/** The steps of a study, in order (progress events and error records name them). */
export type StudyStage =
  | "load"
  | "features"
  | "audit"
  | "dataset"
  | "plan"
  | "configuration"
  | "train"
  | "compare"
  | "store"
  | "done";

/** A progress event: the step, the entry and fold being trained, progress through the whole study in [0, 1]. */
export interface StudyProgress {
  /** The step. */
  stage: StudyStage;
  /** Progress through the whole study, in [0, 1]. */
  fraction: number;
  /** One line for a progress bar or a log. */
  message: string;
  /** Entry being trained. */
  entry?: string;
}

/** Dependencies and callbacks of a study. */
export interface StudyOptions {
  /** Where to record it; omitted → nothing is stored. */
  store?: Store;
  /** Called as it advances. */
  onProgress?: (p: StudyProgress) => void;
  /**
   * Stops the study at the next step, fold, epoch or boosting round once aborted (the reason names the signal, e.g.
   * `"SIGINT"`): it is then recorded as `interrupted` with where it stopped, and the promise rejects with
   * InterruptedError. Finished folds are kept; `candor run --resume ID` continues from them.
   */
  signal?: AbortSignal;
  /** Milliseconds between heartbeats of a stored study (default 10,000): a study whose process is gone reads as stale. */
  heartbeatMs?: number;
  /**
   * Resume this stored study (a study id, or the id of one of its runs) instead of starting one: see the module
   * notes. Needs `store`; the configuration must be the stored one (`storedStudyConfig`). Refusals are
   * ResumeRefusedErrors, raised before anything is written.
   */
  resume?: string;
}

/** Everything a study produced (the report is also what was stored and what `candor run` prints). */
export interface StudyResult {
  /** Stored study id (absent without a store). */
  id?: string;
  /** The report. */
  report: StudyReport;
  /** The prices it ran on. */
  panel: Panel;
  /** The dataset every entry trained on. */
  data: StudyData;
  /** The fold plan. */
  plan: FoldPlan;
  /** Per entry (by name): the stitched out-of-sample rows and scores. */
  predictions: Map<string, EntryOutcome["predictions"]>;
}

/** Where a study failed: the step, the entry and the fold (kept in the store with the message). */
class Position {
  stage: StudyStage = "load";
  entry?: string;
  fold?: number;
}

/** The audit step: a leak stops the study unless overridden; suspects become warnings. */
function auditStep(market: Market, selection: FeatureSelection, config: StudyConfig): {
  warnings: string[];
  leaking: boolean;
} {
  const audit = auditFeatures(market.panel, {
    features: selection.builtIn,
    columns: selection.columns,
    horizon: config.target.horizon,
    symbols: 2,
    cuts: 3,
  });
  const warnings: string[] = [];
  const leaking = audit.features.filter((f) => f.verdict === "leak");
  if (leaking.length > 0) {
    const list = leaking.map((l) => `${l.name} (${l.reasons.join("; ")})`).join(", ");
    if (!config.allowLeakage) {
      throw new LeakageError(
        `refusing to train on leaking features: ${list}. Fix or drop them (candor audit --data PATH shows the ` +
          `evidence); to train anyway for a demonstration, set allowLeakage (--allow-leakage), which is stored.`,
      );
    }
    warnings.push(`trained on leaking features by explicit override: ${list}`);
  }
  for (const f of audit.features.filter((f) => f.verdict === "suspect")) {
    warnings.push(`leakage audit: ${f.name} is suspect (${f.reasons.join("; ")})`);
  }
  return { warnings, leaking: leaking.length > 0 };
}

/** Refuses a dataset a model cannot learn from: a constant target in a fold's fitting rows. */
function learnableStep(data: StudyData, plan: FoldPlan): void {
  for (const f of plan.folds) {
    let first = NaN, constant = true;
    for (const r of f.rows.fit) {
      const v = data.y[r];
      if (Number.isNaN(first)) first = v;
      else if (v !== first) {
        constant = false;
        break;
      }
    }
    if (constant) {
      throw new ConfigError(
        `fold ${f.index + 1}: the target is constant (${first}) on all ${f.rows.fit.length} fitting rows — ` +
          `constant prices, or a target that never moves; there is nothing to learn`,
      );
    }
  }
}

/** The configuration gate over every entry's planned fitted windows. */
function gateStep(config: StudyConfig, plan: FoldPlan, data: StudyData): ConfigurationFinding[] {
  const fitted = config.models.flatMap((m) => plannedFitted(m.name, trainerOf(m.kind)!.fitted(m.settings), plan, data));
  return configurationGate(data.horizon, plan, fitted);
}

/** Out-of-sample predictions of the entries trained so far, for entries that combine them. */
export function outOfFold(
  plan: FoldPlan,
  data: StudyData,
  done: ReadonlyMap<string, Pick<EntryOutcome, "scores" | "width">>,
): OutOfFoldPredictions {
  const foldOfRow = new Int32Array(data.dates.length).fill(-1);
  for (const f of plan.folds) for (const r of f.rows.test) foldOfRow[r] = f.index;
  return {
    foldOfRow,
    scores: (name) => {
      const e = done.get(name);
      if (e === undefined) throw new ConfigError(`entry ${name} has not been trained before the entry combining it`);
      return e.scores;
    },
    width: (name) => done.get(name)?.width ?? 1,
  };
}

/**
 * Whether the study's accuracy is next-day direction accuracy, the quantity the synthetic market's theoretical best
 * refers to: a `direction` target (or a `return` target, scored by its sign) over one day. A 3-class target, a longer
 * horizon or an excess return has another best, which the generator does not compute.
 */
function nextDayDirection(config: StudyConfig): boolean {
  return (config.target.kind === "direction" || config.target.kind === "return") && config.target.horizon === 1;
}

/**
 * Plausibility flags of the pooled numbers (too good to be true). On the synthetic market with a planted signal the
 * numbers are expected to be strong: the flags (and the backtests' too-good Sharpe warnings) are folded into one note
 * that says so, instead of a list of alarms the demo then contradicts.
 */
function plausibilityStep(entries: readonly EntryOutcome[], market: Market, warnings: string[]): string[] {
  const flags: string[] = [];
  const flagged = new Set<string>(); // the entries the note is about: only those whose numbers raised a flag
  for (const { report: e } of entries) {
    const guard = plausibilityCheck({
      accuracy: e.task === "multiclass" ? undefined : e.pooled.accuracy,
      nTest: e.pooled.metrics.nTest,
      baselineAccuracy: comparisonRow(e).baseline.value,
      rankIc: e.pooled.metrics.rankIc,
      meanIC: e.pooled.metrics.meanIC,
    });
    for (const flag of guard.flags) flags.push(`${e.name}: implausible ${flag.metric}: ${flag.reason}`);
    if (guard.flags.length > 0 || e.warnings.some(isTooGoodWarning)) flagged.add(e.name);
  }
  if (market.theoreticalAccuracy === undefined) return [...warnings, ...flags];
  const folded = [...warnings.filter(isTooGoodWarning), ...flags];
  if (folded.length === 0) return [...warnings];
  const strong = entries.filter(({ report: e }) => flagged.has(e.name)).map(({ report: e }) =>
    `${e.name} (accuracy ${(100 * e.pooled.accuracy).toFixed(1)}%, rank IC ${e.pooled.metrics.rankIc.toFixed(3)}, ` +
    `Sharpe ${e.backtest.metrics.sharpe.toFixed(2)})`
  );
  return [
    ...warnings.filter((w) => !isTooGoodWarning(w)),
    syntheticMarketNote(market.theoreticalAccuracy, `the scores of ${strong.join(", ")} are expected here`),
  ];
}

/** Whether a warning is a too-good-to-be-true flag (a backtest's or the pooled numbers' plausibility check). */
export function isTooGoodWarning(w: string): boolean {
  return /too good to be true|implausible/.test(w);
}

/**
 * The note that replaces too-good-to-be-true flags on the synthetic market with a planted signal, whose strong scores
 * are expected (`expected` says which, e.g. "the scores of gbm (…) are expected here"); the study and the forward
 * simulation both print it.
 */
export function syntheticMarketNote(theoreticalAccuracy: number, expected: string): string {
  return `note: this is the synthetic market with a planted signal (theoretical best next-day direction accuracy ${
    (100 * theoreticalAccuracy).toFixed(1)
  }%): ${expected}; on real daily stock returns numbers like these would mean a leak ` +
    `(check with candor audit --data PATH)`;
}

/**
 * When a study of two or more entries finds an edge, which of its edges hold under Holm's correction at the level of a
 * single verdict (one-sided 2.5 %, family-wise), with the adjusted p-values ({@link studyFamily}).
 */
function multipleComparisonNote(entries: readonly EntryReport[]): string | undefined {
  const family = studyFamily(entries);
  if (family.size === 0 || !entries.some((e) => e.pooled.verdict === "edge")) return undefined;
  const tested = family.values().next().value!.tests;
  const findings = entries.flatMap((e) => {
    const f = family.get(e.name);
    return e.pooled.verdict === "edge" && f !== undefined
      ? [`${e.name}'s edge ${f.holds ? "holds" : "does not hold"} (adjusted p ${adjustedPText(f.adjustedP)})`]
      : [];
  });
  return `${tested} entries tested on the same rows: each verdict is a one-sided test at 2.5 % (its 95 % interval ` +
    `above 0); with Holm's correction over the ${tested} tests (family-wise 2.5 %): ${findings.join("; ")}`;
}

/** Everything a study needs before training: data, features, audit, dataset, plan, configuration checks. */
export interface PreparedStudy {
  /** The prices and where they came from. */
  market: Market;
  /** The features used. */
  selection: FeatureSelection;
  /** The audit's warnings and whether leaking features are trained on by override. */
  audit: { warnings: string[]; leaking: boolean };
  /** The dataset every entry trains on. */
  prepared: PreparedData;
  /** The fold plan. */
  plan: FoldPlan;
  /** The configuration gate's findings. */
  checks: ConfigurationFinding[];
}

/**
 * Steps 1–6 of a study (see the module notes): deterministic for a config, so a worker process can prepare the same
 * dataset and plan and train one fold of it. `step` reports progress (and lets the caller track the stage for error
 * records); `audit: false` skips the leakage audit (a worker preparing a study its coordinator already audited).
 */
export async function prepareStudy(
  config: StudyConfig,
  opts: { step?: <T>(stage: StudyStage, fraction: number, message: string, fn: () => T) => T; audit?: boolean } = {},
): Promise<PreparedStudy> {
  const step = opts.step ?? (<T>(_s: StudyStage, _f: number, _m: string, fn: () => T): T => fn());
  const market = await step("load", 0, "loading prices", () => loadMarket(config.data, config.features.columns));
  const panel = market.panel;
  // Data too short, a horizon as long as the data, constant prices: refused with the numbers, before anything else.
  step(
    "load",
    0.02,
    "checking the data can be learned from",
    () => assertPanelAdequate(panel, { horizon: config.target.horizon, source: market.source }),
  );
  const selection = step(
    "features",
    0.03,
    `selecting features for ${panel.symbols.length} symbols`,
    () => selectFeatures(panel, config.features),
  );
  const audit = opts.audit === false
    ? { warnings: [], leaking: false }
    : step("audit", 0.05, "leakage audit", () => auditStep(market, selection, config));
  const prepared = step(
    "dataset",
    0.08,
    "features and targets",
    () => prepareStudyData(panel, selection, config.target),
  );
  const { data } = prepared;
  const plan = step("plan", 0.1, `${config.validation.scheme} fold plan`, () => planFolds(data, config.validation));
  step("plan", 0.1, "checking the data can be learned from", () => learnableStep(data, plan));
  const checks = step("configuration", 0.11, "configuration gate", () => gateStep(config, plan, data));
  return { market, selection, audit, prepared, plan, checks };
}

/**
 * Step 8's report: the study's warnings (data, audit, configuration checks, then each entry's, then the plausibility
 * note), notes and comparison, from the prepared study and its entries' outcomes in training order. The local loop
 * and the scale-out coordinator (lib/scaleout/) both assemble a study through it, so both print and store the same
 * report for the same folds.
 */
export function studyReport(
  config: StudyConfig,
  prepared: PreparedStudy,
  outcomes: readonly EntryOutcome[],
  id?: string,
): StudyReport {
  const { market, selection, audit, plan, checks } = prepared;
  const panel = market.panel;
  const warnings = [...panel.warnings, ...audit.warnings];
  for (const c of checks.filter((f) => f.verdict !== "ok")) {
    warnings.push(`configuration check: ${c.subject} is ${c.verdict} (${c.reason})`);
  }
  const notes = [...selection.notes];
  if (prepared.prepared.droppedRows > 0) {
    notes.push(`${prepared.prepared.droppedRows} rows without a defined ${config.target.kind} target were left out`);
  }
  for (const o of outcomes) warnings.push(...o.report.warnings);
  const multiple = multipleComparisonNote(outcomes.map((o) => o.report));
  if (multiple !== undefined) notes.push(multiple);
  return {
    ...(id === undefined ? {} : { id }),
    config,
    source: market.source,
    fingerprint: market.fingerprint,
    version: CANDOR_VERSION,
    symbols: [...panel.symbols],
    features: prepared.prepared.features,
    plan: {
      scheme: plan.scheme,
      folds: plan.folds.map((f) => ({
        index: f.index,
        train: f.fold.train,
        validation: f.fold.validation ?? [],
        test: f.fold.test,
      })),
    },
    entries: outcomes.map((o) => o.report),
    comparison: outcomes.map((o) => comparisonRow(o.report)),
    warnings: plausibilityStep(outcomes, market, warnings),
    notes,
    ...(market.theoreticalAccuracy === undefined || !nextDayDirection(config)
      ? {}
      : { theoreticalAccuracy: market.theoreticalAccuracy }),
    configurationChecks: checks,
  };
}

/**
 * Runs a study (see the module notes). With a store it is recorded as it goes; a failure marks the study (and the
 * entry being trained) failed with the step, entry and fold, keeping the folds already finished, and is rethrown.
 */
export async function runStudy(
  input: StudyConfigInput | StudyConfig = {},
  options: StudyOptions = {},
): Promise<StudyResult> {
  const config = resolveStudyConfig(input);
  const notify = options.onProgress ?? (() => {});
  const stopIfAborted = () => {
    const signal = options.signal;
    if (signal?.aborted) {
      const name = typeof signal.reason === "string" ? signal.reason : "abort";
      throw new InterruptedError(`study interrupted (${name})`, name);
    }
  };
  // Every progress event is also a point where an abort takes effect (between boosting rounds, after each epoch).
  const progress = (p: StudyProgress) => {
    stopIfAborted();
    notify(p);
  };
  const recorder = new StudyRecorder(options.store);
  const at = new Position();
  let runId: string | undefined;
  let heartbeat: ReturnType<typeof setInterval> | undefined;
  const step = <T>(stage: StudyStage, fraction: number, message: string, fn: () => T): T => {
    at.stage = stage;
    progress({ stage, fraction, message });
    return fn();
  };
  try {
    const store = options.store;
    if (options.resume !== undefined && store === undefined) {
      throw new ResumeRefusedError("--resume needs the run store the study is in (it cannot be used with --no-store)");
    }
    const resuming = options.resume === undefined ? undefined : await resumableStudy(store!, options.resume, config);
    const { market, selection, audit, prepared, plan, checks } = await prepareStudy(config, { step });
    const panel = market.panel;
    const { data } = prepared;
    if (resuming !== undefined && resuming.dataFingerprint !== market.fingerprint) {
      throw new ResumeRefusedError(
        `--resume: the data at ${market.source} has fingerprint ${market.fingerprint}, but study ${resuming.id} was ` +
          `trained on ${resuming.dataFingerprint}: the data changed since; a resumed study must finish on the data it ` +
          `began with (start a new study on the new data)`,
      );
    }

    const start: StudyStart = {
      config,
      symbols: [...panel.symbols],
      source: market.source,
      fingerprint: market.fingerprint,
      version: CANDOR_VERSION,
      features: prepared.features,
      leakageOverride: audit.leaking,
    };
    at.stage = "store";
    let reopened: Map<string, { id: string; status: string; backend: string | null }> | undefined;
    if (resuming === undefined) await recorder.beginStudy(start);
    else {
      if (resuming.status === "running") {
        await store!.markInterrupted(resuming.id, {
          message: "its process stopped sending heartbeats (found stale by --resume)",
          stage: "train",
        }, { onlyIfStale: true });
      }
      await store!.reopenStudy(resuming.id);
      recorder.studyId = resuming.id;
      const runs = (await store!.getStudy(resuming.id))!.runs;
      reopened = new Map(runs.map((r) => [r.entry ?? "", { id: r.id, status: r.status, backend: r.backend }]));
    }
    const id = recorder.studyId;
    if (id !== undefined) {
      const timer = setInterval(() => {
        recorder.heartbeat(runId).catch((e) => console.error(`candor: heartbeat not recorded: ${e}`));
      }, options.heartbeatMs ?? 10_000);
      Deno.unrefTimer(timer as unknown as number);
      heartbeat = timer;
    }

    const done = new Map<string, EntryOutcome>();
    const outcomes: EntryOutcome[] = [];
    for (const [i, entry] of config.models.entries()) {
      const trainer = trainerOf(entry.kind)!;
      at.stage = "train";
      at.entry = entry.name;
      const base = 0.12 + 0.83 * (i / config.models.length);
      const share = 0.83 / config.models.length;
      progress({ stage: "train", fraction: base, message: `${entry.name}: starting`, entry: entry.name });
      const earlier = reopened?.get(entry.name);
      const backend = earlier?.backend ?? await trainer.backend(entry.settings);
      const ctx = (id: string | undefined, rec: StudyRecorder): EntryContext => ({
        entry,
        trainer,
        data,
        previous: prepared.previous,
        plan,
        panel,
        config,
        oof: outOfFold(plan, data, done),
        recorder: rec,
        ...(id === undefined ? {} : { runId: id }),
        backend,
        onProgress: (f, status) =>
          progress({
            stage: "train",
            fraction: base + share * f,
            message: `${entry.name} ${status}`,
            entry: entry.name,
          }),
        onFold: (fold) => (at.fold = fold),
      });
      let outcome: EntryOutcome;
      if (earlier?.status === "succeeded") {
        // Sealed before the interruption: pooled again from its stored folds, nothing written.
        const stored = await readFoldResults(store!, earlier.id, data, prepared.previous);
        outcome = await finishEntry(ctx(earlier.id, new StudyRecorder()), stored);
      } else {
        runId = earlier?.id ?? await recorder.beginEntry(entry, start, backend);
        const stored = earlier === undefined ? [] : await readFoldResults(store!, earlier.id, data, prepared.previous);
        outcome = await trainEntry(ctx(runId, recorder), stored);
      }
      runId = undefined;
      done.set(entry.name, outcome);
      outcomes.push(outcome);
    }
    at.entry = undefined;
    at.stage = "compare";
    progress({ stage: "compare", fraction: 0.96, message: "comparing the entries" });
    const report = studyReport(config, { market, selection, audit, prepared, plan, checks }, outcomes, id);
    at.stage = "store";
    await recorder.finishStudy(report);
    progress({ stage: "done", fraction: 1, message: "done" });
    return {
      ...(id === undefined ? {} : { id }),
      report,
      panel,
      data,
      plan,
      predictions: new Map(outcomes.map((o) => [o.report.name, o.predictions])),
    };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const where = {
      message,
      stage: at.stage,
      ...(at.entry === undefined ? {} : { entry: at.entry }),
      ...(at.fold === undefined ? {} : { fold: at.fold }),
      name: error instanceof Error ? error.name : "Error",
      ...(error instanceof InterruptedError ? { signal: error.signal } : {}),
    };
    if (error instanceof InterruptedError) error.studyId = recorder.studyId;
    try {
      if (error instanceof InterruptedError) await recorder.interrupt(where);
      else {
        await recorder.failEntry(runId, where);
        await recorder.failStudy(where);
      }
    } catch (recording) {
      // Never swallowed: the caller sees both the failure and that it could not be recorded.
      throw new RecordingError(
        `${message} — and recording this in the store failed too: ${
          recording instanceof Error ? recording.message : String(recording)
        }`,
        { cause: error },
      );
    }
    throw error;
  } finally {
    if (heartbeat !== undefined) clearInterval(heartbeat);
  }
}
