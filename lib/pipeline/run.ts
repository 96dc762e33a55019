/**
 * The end-to-end pipeline: prices → features and targets → leakage gate → purged walk-forward folds → per fold
 * (early stopping on a validation tail inside training) fit and predict → fold metrics beside their baselines →
 * stitched out-of-sample predictions → lagged backtest against buy & hold → stored run.
 *
 * Honesty rules enforced here (DESIGN §6):
 * - splits are on the shared date axis and the purge is never shorter than the label horizon;
 * - the configuration gate (lib/leakage/configuration.ts) checks, per fold, that the rows the model is fitted on and
 *   the early-stopping tail lie inside the fold's training period and that purge ≥ horizon; a leak there is refused
 *   (LeakageError) whatever `allowLeakage` says — the override covers leaking features only — and every finding is
 *   returned (`configurationChecks`) and stored in the run summary;
 * - the early-stopping tail is carved from the end of each fold's training dates, purged from the fitting part, and
 *   never touches the test window;
 * - every accuracy stands beside the coin-flip, majority-class and previous-period-sign baselines on the same rows;
 * - the walk-forward-efficiency gate sits between the stitched out-of-sample predictions and the backtest: per fold
 *   and pooled, the accuracy form of {@link walkForwardEfficiency} compares the direction accuracy on the
 *   early-stopping tail (the model's own predictions there) with the test accuracy, against the 0.5 coin flip; an
 *   undefined or low pooled efficiency (< {@link WFE_THRESHOLD}) is a warning;
 * - neural models (MLP, LSTM; lib/pipeline/neural.ts) standardize on each fold's fitting rows only — that window goes
 *   through the configuration gate like the fit itself — and every epoch and training-health diagnostic is stored;
 * - positions decided at the close of t earn returns from t + lag (lag ≥ 1);
 * - a run that fails keeps its finished folds and records the stage it failed in.
 *
 * @module
 */

import type { Panel } from "../data/panel.ts";
import { type Matrix, takeRows } from "../data/matrix.ts";
import { loadPanel } from "../data/load.ts";
import { syntheticMarket } from "../data/synthetic.ts";
import { buildDataset, type Dataset } from "../features/dataset.ts";
import { resolveFeatures } from "../features/catalog.ts";
import { auditFeatures } from "../leakage/audit.ts";
import { checkConfiguration, type ConfigurationFinding, type FittedTransformRecord } from "../leakage/configuration.ts";
import { walkForwardSplits } from "../validation/walk_forward.ts";
import type { Fold } from "../validation/fold.ts";
import {
  accuracySignificance,
  crossSectionalIC,
  directionAccuracy,
  directionBaselines,
  informationCoefficient,
  plausibilityCheck,
  positivePredictionShare,
  predictionStd,
  previousSignBaseline,
  rankInformationCoefficient,
} from "../metrics/mod.ts";
import { XGBoostModel } from "../models/xgboost/model.ts";
import { backtestPanel, type PanelBacktestResult } from "../backtest/panel.ts";
import type { Store } from "../store/store.ts";
import { ConfigError, LeakageError } from "../errors.ts";
import { float64Column, symbolRanges } from "../features/definition.ts";
import { walkForwardEfficiency } from "../validation/efficiency.ts";
import type { LSTMConfig, MLPConfig, PipelineConfig, PipelineConfigInput } from "./config.ts";
import { resolveConfig } from "./config.ts";

/**
 * Pooled walk-forward efficiency below which a run is warned about: less than half of the edge seen on the
 * early-stopping tails survives out of sample (Pardo's robustness threshold, applied to the accuracy form).
 */
export const WFE_THRESHOLD = 0.5;

/**
 * Standard errors the validation-tail edge must clear for a walk-forward efficiency to be defined: an accuracy on n
 * rows has a standard error of at most sqrt(0.25 / n) under the coin flip, so an edge below 2·sqrt(0.25 / n) =
 * 1 / sqrt(n) is indistinguishable from noise (at about 95 %), and a ratio with it in the denominator would print
 * anything.
 */
export const WFE_NOISE_STANDARD_ERRORS = 2;

/** Walk-forward efficiency of one fold or of the pooled folds (accuracy form, coin-flip baseline 0.5). */
export interface EfficiencyReport {
  /** Direction accuracy of the model's predictions on the early-stopping tail(s). */
  validationAccuracy: number;
  /** Out-of-sample direction accuracy. */
  testAccuracy: number;
  /**
   * (test − 0.5) / (validation − 0.5), or null when the validation edge does not exceed its noise threshold
   * (`minimumEdge`), or a side has no rows.
   */
  efficiency: number | null;
  /**
   * The validation edge the ratio needs: max(0.005, {@link WFE_NOISE_STANDARD_ERRORS}·sqrt(0.25 / nValidation)), or
   * 0.005 when the number of tail rows is not given.
   */
  minimumEdge?: number;
  /** Why `efficiency` is null. */
  reason?: string;
}

/**
 * The validation edge an efficiency needs on `nValidation` tail rows: {@link WFE_NOISE_STANDARD_ERRORS} standard
 * errors of a coin-flip accuracy, 2·sqrt(0.25 / n), and never less than half a point (0.005).
 */
export function minimumValidationEdge(nValidation: number): number {
  return Math.max(0.005, WFE_NOISE_STANDARD_ERRORS * Math.sqrt(0.25 / nValidation));
}

/**
 * The accuracy-form walk-forward efficiency against the coin flip; NaN accuracies (no rows) make it undefined
 * rather than an error. With `nValidation` (the tail's rows), the ratio is defined only when the validation edge
 * exceeds {@link minimumValidationEdge}: an edge inside the noise of the tail's accuracy is no edge to retain.
 */
export function foldEfficiency(
  testAccuracy: number,
  validationAccuracy: number,
  nValidation?: number,
): EfficiencyReport {
  if (!Number.isFinite(testAccuracy) || !Number.isFinite(validationAccuracy)) {
    return {
      validationAccuracy,
      testAccuracy,
      efficiency: null,
      reason: "no rows to measure an accuracy on, efficiency undefined",
    };
  }
  const minimumEdge = nValidation === undefined ? 0.005 : minimumValidationEdge(nValidation);
  const e = walkForwardEfficiency({
    form: "accuracy",
    test: testAccuracy,
    validation: validationAccuracy,
    epsilon: minimumEdge,
  });
  if (e.efficiency === null && nValidation !== undefined && minimumEdge > 0.005) {
    return {
      validationAccuracy,
      testAccuracy,
      efficiency: null,
      minimumEdge,
      reason: `validation edge ${(validationAccuracy - 0.5).toFixed(4)} over the 0.5 coin flip is within ` +
        `${WFE_NOISE_STANDARD_ERRORS} standard errors (${minimumEdge.toFixed(4)}) of its ${nValidation} tail rows: ` +
        `no edge to retain, efficiency undefined`,
    };
  }
  return {
    validationAccuracy,
    testAccuracy,
    efficiency: e.efficiency,
    minimumEdge,
    ...(e.reason ? { reason: e.reason } : {}),
  };
}

/**
 * The walk-forward-efficiency gate over a run's folds. Pools the validation and test accuracies row-weighted (the
 * accuracy over all tails, and over all test rows) into a pooled efficiency, whose noise threshold is that of all tail
 * rows together. Warns when the pooled efficiency is undefined (no validation edge beyond its noise to carry out of
 * sample) or below {@link WFE_THRESHOLD}; and, even when the pooled value passes, when most folds fail on their own
 * (undefined or below the threshold): pooling can let opposite-sign fold edges cancel into a small pooled edge whose
 * ratio means nothing.
 */
export function efficiencyGate(
  folds: readonly { validationAccuracy: number; nValidation: number; testAccuracy: number; nTest: number }[],
): { pooled: EfficiencyReport; folds: EfficiencyReport[]; failingFolds: number; warning?: string } {
  const weighted = (acc: (f: typeof folds[number]) => number, n: (f: typeof folds[number]) => number) => {
    let s = 0, w = 0;
    for (const f of folds) {
      if (n(f) > 0 && Number.isFinite(acc(f))) {
        s += acc(f) * n(f);
        w += n(f);
      }
    }
    return { accuracy: w > 0 ? s / w : NaN, rows: w };
  };
  const validation = weighted((f) => f.validationAccuracy, (f) => f.nValidation);
  const pooled = foldEfficiency(
    weighted((f) => f.testAccuracy, (f) => f.nTest).accuracy,
    validation.accuracy,
    validation.rows,
  );
  const perFold = folds.map((f) => foldEfficiency(f.testAccuracy, f.validationAccuracy, f.nValidation));
  const failing = perFold.map((e, i) => ({ e, i })).filter(({ e }) =>
    e.efficiency === null || e.efficiency < WFE_THRESHOLD
  );
  const out = { pooled, folds: perFold, failingFolds: failing.length };
  const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
  if (pooled.efficiency === null) {
    return {
      ...out,
      warning: `walk-forward efficiency undefined: ${pooled.reason} (validation tails ${
        pct(pooled.validationAccuracy)
      }, test ${pct(pooled.testAccuracy)}); the model showed no edge before its test windows, so none can survive them`,
    };
  }
  if (pooled.efficiency < WFE_THRESHOLD) {
    return {
      ...out,
      warning: `walk-forward efficiency ${pooled.efficiency.toFixed(2)} < ${WFE_THRESHOLD}: the edge seen on the ` +
        `validation tails (accuracy ${pct(pooled.validationAccuracy)}) does not survive out of sample (accuracy ${
          pct(pooled.testAccuracy)
        })`,
    };
  }
  if (2 * failing.length > folds.length) {
    const list = failing.map(({ e, i }) =>
      `fold ${i + 1} ${e.efficiency === null ? "undefined" : e.efficiency.toFixed(2)}`
    );
    return {
      ...out,
      warning:
        `walk-forward efficiency ${pooled.efficiency.toFixed(2)} pooled, but ${failing.length} of ${folds.length} ` +
        `folds are undefined or below ${WFE_THRESHOLD} (${list.join(", ")}): the pooled value does not show an ` +
        `edge that survives fold by fold`,
    };
  }
  return out;
}

/** Progress events for bars and logs: `stage` names the step, `fraction` is progress within the whole run. */
export interface PipelineProgress {
  /** The step the run is in. */
  stage: "load" | "features" | "audit" | "configuration" | "fold" | "backtest" | "store" | "done";
  /** Progress through the whole run, in [0, 1]. */
  fraction: number;
  /** One line for a progress bar or log. */
  message: string;
}

/** One fold's outcome: windows, sizes, metrics and baselines on the same test rows. */
export interface FoldResult {
  /** 0-based fold index. */
  index: number;
  /** The fold's date windows, purge and embargo. */
  fold: Fold;
  /** Rows the model was fitted on (LSTM: those with a full window). */
  nTrain: number;
  /** Rows of the early-stopping tail. */
  nValidation: number;
  /** Test rows predicted. */
  nTest: number;
  /** Direction accuracy, ICs, prediction std, share of "up" predictions. */
  metrics: Record<string, number>;
  /** Baseline accuracies on the same test rows. */
  baselines: Record<string, number>;
  /** Best boosting round or epoch (1-based), as the fit reported it. */
  bestIteration?: number;
  /** Wall time of the fold (fit, predictions, metrics), in seconds. */
  seconds: number;
  /** Walk-forward efficiency of the fold (also in `metrics.validationAccuracy` and `metrics.wfe` when defined). */
  efficiency: EfficiencyReport;
  /** What the fit reported (stored with the fold): for neural models the backend, scaler window, stop reason, .... */
  fitReport: Record<string, unknown>;
  /** Neural models: the one-line training-health verdict of `diagnose()` ("healthy" or what went wrong). */
  health?: string;
}

/** Everything a run produced. Predictions are out-of-sample only (each row predicted by the fold that tested it). */
export interface PipelineResult {
  /** Id of the stored run; absent when nothing was stored. */
  runId?: string;
  /** The resolved configuration the run used. */
  config: PipelineConfig;
  /** Symbols of the panel, in panel order. */
  symbols: string[];
  /** Feature columns the model saw (built-in, then extra columns). */
  features: string[];
  /** One result per walk-forward fold, in order. */
  folds: FoldResult[];
  /**
   * Pooled out-of-sample metrics over all folds: accuracy with its 95 % Wilson interval (`accuracyLow`,
   * `accuracyHigh`) and one-sided binomial p-value against 0.5 (`accuracyPValue`; rows assumed independent, which
   * overlapping multi-day labels violate), Pearson and rank IC, mean per-date cross-sectional rank IC and its ICIR,
   * prediction std and share of "up" calls.
   */
  pooled: Record<string, number>;
  /** Lagged backtest of the stitched out-of-sample predictions, beside buy & hold. */
  backtest: PanelBacktestResult;
  /** Theoretical best direction accuracy, known only for the synthetic market. */
  theoreticalAccuracy?: number;
  /** Everything worth a look before trusting the numbers (audit, gates, health, plausibility). */
  warnings: string[];
  /** Findings of the configuration gate (purge ≥ horizon; fitted windows inside each fold's training period). */
  configurationChecks: ConfigurationFinding[];
  /** Pooled walk-forward efficiency (also in `pooled.validationAccuracy` and `pooled.wfe` when defined). */
  efficiency: EfficiencyReport;
  /** Neural runs: the tfjs backend actually used (also stored with the run and in each fold's fit report). */
  backend?: string;
  /** Out-of-sample rows: date, symbol, predicted P(up) and the realized h-day log-return target. */
  predictions: { dates: string[]; symbols: string[]; probability: Float64Array; target: Float64Array };
}

/** Dependencies and callbacks of a run. */
export interface PipelineOptions {
  /** Where to record the run; omitted → nothing is stored. */
  store?: Store;
  /** Called as the run advances (for progress bars and logs). */
  onProgress?: (p: PipelineProgress) => void;
}

/** Loads the configured data source into a validated Panel. */
export async function loadConfiguredPanel(
  config: PipelineConfig,
): Promise<{ panel: Panel; theoreticalAccuracy?: number }> {
  if (config.data.kind === "files") {
    const panel = await loadPanel(config.data.path, { symbols: config.data.symbols });
    return { panel };
  }
  const market = syntheticMarket({
    symbols: config.data.symbols,
    days: config.data.days,
    mode: config.data.mode,
    seed: config.data.seed,
    ...(config.data.signalStrength === undefined ? {} : { signalStrength: config.data.signalStrength }),
  });
  return { panel: market.panel, theoreticalAccuracy: market.theoreticalAccuracy };
}

/** The panel's extra columns the config asks for; unknown names are a ConfigError. */
function selectColumns(panel: Panel, wanted: PipelineConfig["columns"]): string[] {
  if (wanted === "none") return [];
  if (wanted === "all") return [...panel.extraColumns];
  const missing = wanted.filter((c) => !panel.extraColumns.includes(c));
  if (missing.length > 0) {
    throw new ConfigError(
      `columns not found in the price files: ${missing.join(", ")}; extra numeric columns present: ${
        panel.extraColumns.join(", ") || "none"
      }`,
    );
  }
  return [...wanted];
}

/** Row indices (into the dataset) of every row whose date index is in `dateIdx`. */
function rowsForDates(rowDateIndex: Int32Array, dateIdx: ArrayLike<number>, nDates: number): Int32Array {
  const wanted = new Uint8Array(nDates);
  for (let i = 0; i < dateIdx.length; i++) wanted[dateIdx[i]] = 1;
  let n = 0;
  for (let r = 0; r < rowDateIndex.length; r++) n += wanted[rowDateIndex[r]];
  const out = new Int32Array(n);
  let k = 0;
  for (let r = 0; r < rowDateIndex.length; r++) if (wanted[rowDateIndex[r]]) out[k++] = r;
  return out;
}

function pick(a: Float64Array, rows: Int32Array): Float64Array {
  const out = new Float64Array(rows.length);
  for (let i = 0; i < rows.length; i++) out[i] = a[rows[i]];
  return out;
}

/**
 * The panel row of each dataset row. Relies on the dataset's documented order: panel order (symbol, then date) minus
 * each symbol's last h rows, whose target is unknown; checked row by row against the symbols.
 */
export function panelRowsOfDataset(panel: Panel, data: Dataset): Int32Array {
  const out = new Int32Array(data.dates.length);
  let row = 0;
  for (const { symbol, start, end } of symbolRanges(panel.frame)) {
    const kept = Math.max(0, end - start - data.horizon);
    for (let i = start; i < start + kept; i++, row++) {
      if (data.symbols[row] !== symbol) throw new Error(`internal: dataset row ${row} is not in panel order`);
      out[row] = i;
    }
  }
  if (row !== out.length) {
    throw new Error(`internal: dataset has ${out.length} rows but the panel accounts for ${row}`);
  }
  return out;
}

/**
 * The h-day log return ending at each dataset row's date, log(adj_close[t] / adj_close[t−h]): the last return of the
 * target's length known at the decision time, for the previous-period-sign baseline. NaN for a symbol's first h rows.
 */
export function previousReturns(panel: Panel, rows: Int32Array, horizon: number): Float64Array {
  const adj = float64Column(panel.frame, "adj_close");
  const symbols = panel.frame.getColumn("symbol").toArray() as string[];
  return Float64Array.from(
    rows,
    (i) => i - horizon >= 0 && symbols[i - horizon] === symbols[i] ? Math.log(adj[i] / adj[i - horizon]) : NaN,
  );
}

/**
 * The previous-period-sign baseline on the test rows whose previous h-day return is known: a symbol's first h rows
 * (a listing, or the start of its history inside a test window) have none, and are left out of this baseline only —
 * they stay in the model's accuracy and the other baselines. `excluded` counts them (stored in the fold's fit report
 * as `previousSignBaseline`); the accuracy is NaN when no test row has a previous return.
 */
export function previousSignOnKnownRows(
  testTarget: Float64Array,
  previousReturn: Float64Array,
): { accuracy: number; rows: number; excluded: number } {
  const known: number[] = [];
  for (let i = 0; i < previousReturn.length; i++) if (Number.isFinite(previousReturn[i])) known.push(i);
  const excluded = previousReturn.length - known.length;
  if (known.length === 0) return { accuracy: NaN, rows: 0, excluded };
  return {
    accuracy: previousSignBaseline(
      Float64Array.from(known, (i) => previousReturn[i]),
      Float64Array.from(known, (i) => testTarget[i]),
    ),
    rows: known.length,
    excluded,
  };
}

/** Appends panel columns (gathered at `rows`) to a feature matrix, as extra features. */
function appendColumns(X: Matrix, panel: Panel, names: string[], rows: Int32Array): Matrix {
  if (names.length === 0) return X;
  const extra = names.map((n) => float64Column(panel.frame, n));
  const cols = X.cols + names.length;
  const data = new Float32Array(X.rows * cols);
  for (let r = 0; r < X.rows; r++) {
    data.set(X.data.subarray(r * X.cols, (r + 1) * X.cols), r * cols);
    for (let j = 0; j < extra.length; j++) data[r * cols + X.cols + j] = extra[j][rows[r]];
  }
  return { data, rows: X.rows, cols, columns: [...(X.columns ?? []), ...names] };
}

function foldMetrics(target: Float64Array, prob: Float64Array): Record<string, number> {
  return {
    accuracy: directionAccuracy(target, prob.map((p) => p - 0.5)),
    ic: informationCoefficient(prob, target),
    rankIc: rankInformationCoefficient(prob, target),
    predictionStd: predictionStd(prob),
    shareUp: positivePredictionShare(prob, 0.5),
  };
}

/** The inclusive date span of dataset rows (their dates need not be sorted). */
function spanOf(rows: Int32Array, rowDates: readonly string[]): { start: string; end: string } | undefined {
  if (rows.length === 0) return undefined;
  let start = rowDates[rows[0]];
  let end = start;
  for (const r of rows) {
    const d = rowDates[r];
    if (d < start) start = d;
    if (d > end) end = d;
  }
  return { start, end };
}

/**
 * The configuration gate of a run: {@link checkConfiguration} with the folds' training periods (fitting part plus
 * early-stopping tail) and the windows actually fitted on.
 *
 * @param horizon label horizon in trading days
 * @param folds the run's walk-forward folds
 * @param fitted one record per fitted thing and fold: the date span of the rows it saw
 * @returns every finding (verdict `ok` included)
 * @throws LeakageError when any finding is a `leak` (purge < horizon, or a fit reaching outside its training period)
 */
export function configurationGate(
  horizon: number,
  folds: readonly Fold[],
  fitted: readonly FittedTransformRecord[],
): ConfigurationFinding[] {
  const findings = checkConfiguration({
    horizon,
    purge: Math.min(...folds.map((f) => f.purge)),
    folds: folds.map((f) => ({ index: f.index, train: [...f.train, ...(f.validation ?? [])], test: f.test })),
    fitted,
  });
  const leaks = findings.filter((f) => f.verdict === "leak");
  if (leaks.length > 0) {
    throw new LeakageError(
      `refusing to train: the split or a fit lets test information in: ` +
        leaks.map((f) => `${f.subject}: ${f.reason}`).join("; ") +
        ". This is a configuration error, not a feature, so --allow-leakage does not override it.",
    );
  }
  return findings;
}

/** Fold metrics plus significance and cross-sectional IC, over all out-of-sample rows. */
function pooledMetrics(dates: string[], target: Float64Array, prob: Float64Array): Record<string, number> {
  const m = foldMetrics(target, prob);
  const sig = accuracySignificance(Math.round(m.accuracy * prob.length), prob.length);
  const cs = crossSectionalIC(dates, prob, target);
  return {
    ...m,
    accuracyLow: sig.interval.low,
    accuracyHigh: sig.interval.high,
    accuracyPValue: sig.pValue,
    meanIC: cs.meanIC,
    icir: cs.icir,
    nTest: prob.length,
  };
}

/**
 * Runs the whole pipeline. With a store, the run is recorded as it goes: a failure marks the run failed with the
 * stage it failed in, keeping the folds already finished, and the error is rethrown.
 */
export async function runPipeline(
  input: PipelineConfigInput | PipelineConfig = {},
  options: PipelineOptions = {},
): Promise<PipelineResult> {
  const config = resolveConfig(input as PipelineConfigInput);
  const progress = options.onProgress ?? (() => {});
  const store = options.store;
  let stage: PipelineProgress["stage"] = "load";
  let runId: string | undefined;

  try {
    progress({ stage, fraction: 0, message: "loading prices" });
    const { panel, theoreticalAccuracy } = await loadConfiguredPanel(config);
    const warnings = [...panel.warnings];

    stage = "features";
    progress({ stage, fraction: 0.05, message: `computing features for ${panel.symbols.length} symbols` });
    const builtIn = resolveFeatures(config.features);
    const columns = selectColumns(panel, config.columns);

    stage = "audit";
    progress({ stage, fraction: 0.08, message: "leakage audit" });
    const audit = auditFeatures(panel, { features: builtIn, columns, horizon: config.horizon, symbols: 2, cuts: 3 });
    const leaking = audit.features.filter((f) => f.verdict === "leak");
    if (leaking.length > 0) {
      const list = leaking.map((l) => `${l.name} (${l.reasons.join("; ")})`).join(", ");
      if (!config.allowLeakage) {
        throw new LeakageError(
          `refusing to train on leaking features: ${list}. Fix or drop them; ` +
            `to train anyway for a demonstration, set allowLeakage (--allow-leakage), which is stored with the run.`,
        );
      }
      warnings.push(`trained on leaking features by explicit override: ${list}`);
    }
    for (const f of audit.features.filter((f) => f.verdict === "suspect")) {
      warnings.push(`leakage audit: ${f.name} is suspect (${f.reasons.join("; ")})`);
    }

    stage = "features";
    const built = buildDataset(panel, { features: builtIn, horizon: config.horizon });
    const panelRows = panelRowsOfDataset(panel, built);
    const data: Dataset = {
      ...built,
      X: appendColumns(built.X, panel, columns, panelRows),
      featureNames: [...built.featureNames, ...columns],
    };
    const dates = [...new Set(data.dates)].sort();
    const dateIndex = new Map(dates.map((d, i) => [d, i]));
    const rowDateIndex = Int32Array.from(data.dates, (d) => dateIndex.get(d)!);
    const previousReturn = previousReturns(panel, panelRows, config.horizon);

    const neural = config.model.kind === "xgboost" ? undefined : config.model;
    // Neural code (tfjs) is loaded only for neural runs: XGBoost runs start and behave as before.
    const nn = neural === undefined ? undefined : await import("./neural.ts");
    const backend = neural === undefined ? undefined : await nn!.neuralBackend(neural);

    // The configuration gate runs before the run is created: a refused configuration writes nothing (DESIGN §6.5).
    stage = "configuration";
    progress({ stage, fraction: 0.09, message: "configuration gate" });
    const folds = walkForwardSplits(dates, {
      folds: config.folds,
      horizon: config.horizon,
      purge: config.purge,
      embargo: config.embargo,
      mode: "anchored",
      validation: config.validationFraction,
    });
    const fitted: FittedTransformRecord[] = [];
    for (const fold of folds) {
      const fit = spanOf(rowsForDates(rowDateIndex, fold.trainIndices, dates.length), data.dates);
      if (fit !== undefined) fitted.push({ name: "model fit", fold: fold.index, window: fit });
      const tail = spanOf(rowsForDates(rowDateIndex, fold.validationIndices ?? [], dates.length), data.dates);
      if (tail !== undefined) fitted.push({ name: "early-stopping tail", fold: fold.index, window: tail });
      // Neural models standardize on exactly the fitting rows: the scaler's window is the fit's span.
      if (neural !== undefined && fit !== undefined) {
        fitted.push({ name: "standard scaler", fold: fold.index, window: fit });
      }
    }
    const configurationChecks = configurationGate(config.horizon, folds, fitted);
    for (const f of configurationChecks.filter((f) => f.verdict !== "ok")) {
      warnings.push(`configuration check: ${f.subject} is ${f.verdict} (${f.reason})`);
    }

    if (store !== undefined) {
      runId = await store.createRun({
        config: config as unknown as Record<string, unknown>,
        seed: config.seed,
        model: config.model.kind,
        symbols: [...panel.symbols],
        dataSource: config.data.kind === "files" ? config.data.path : `synthetic:${config.data.mode}`,
        leakageOverride: leaking.length > 0 && config.allowLeakage,
        ...(backend === undefined ? {} : { backend }),
      });
    }

    const oosRows: Int32Array[] = [];
    const oosProb: Float64Array[] = [];
    const foldResults: FoldResult[] = [];
    for (const fold of folds) {
      stage = "fold";
      const base = 0.1 + 0.8 * (fold.index / folds.length);
      progress({ stage, fraction: base, message: `fold ${fold.index + 1}/${folds.length}: training` });
      const t0 = performance.now();
      const onProgress = (f: number, status: string) =>
        progress({ stage, fraction: base + 0.8 / folds.length * f, message: `fold ${fold.index + 1}: ${status}` });
      // The splitter carved the early-stopping tail from the end of training, purged from the fitting part.
      let fitRows = rowsForDates(rowDateIndex, fold.trainIndices, dates.length);
      let valRows = rowsForDates(rowDateIndex, fold.validationIndices!, dates.length);
      let testRows = rowsForDates(rowDateIndex, fold.testIndices, dates.length);

      let prob: Float64Array;
      let valProb: Float64Array;
      let bestIteration: number | undefined;
      let fitReport: Record<string, unknown>;
      let trained: Awaited<ReturnType<NonNullable<typeof nn>["fitNeuralFold"]>> | undefined;
      if (neural === undefined) {
        const xgb = config.model as Extract<PipelineConfig["model"], { kind: "xgboost" }>;
        const model = new XGBoostModel({
          params: { ...xgb.params, seed: config.seed },
          numBoostRound: xgb.numBoostRound,
          earlyStoppingRounds: xgb.earlyStoppingRounds,
        });
        try {
          const validationX = takeRows(data.X, valRows);
          const report = await model.fit(takeRows(data.X, fitRows), Float32Array.from(pick(data.label, fitRows)), {
            validation: { X: validationX, y: Float32Array.from(pick(data.label, valRows)) },
            seed: config.seed,
            onProgress,
          });
          bestIteration = report.bestIteration;
          prob = model.predict(takeRows(data.X, testRows));
          valProb = model.predict(validationX);
        } finally {
          model.dispose();
        }
        fitReport = { bestIteration, nValidation: valRows.length };
      } else {
        trained = await nn!.fitNeuralFold({
          model: neural as MLPConfig | LSTMConfig,
          seed: config.seed,
          fold: fold.index,
          X: data.X,
          label: data.label,
          dates: data.dates,
          symbols: data.symbols,
          fitRows,
          valRows,
          testRows,
          scalerWindow: fitted.find((f) => f.name === "standard scaler" && f.fold === fold.index)!.window,
          onProgress,
        });
        ({ fitRows, valRows, testRows, prob, valProb, bestIteration } = trained);
        fitReport = { bestIteration, nValidation: valRows.length, ...trained.fitReport };
        warnings.push(...trained.warnings);
      }

      const testTarget = pick(data.target, testRows);
      const metrics = foldMetrics(testTarget, prob);
      const efficiency = foldEfficiency(
        metrics.accuracy,
        directionAccuracy(pick(data.target, valRows), valProb.map((p) => p - 0.5)),
        valRows.length,
      );
      metrics.validationAccuracy = efficiency.validationAccuracy;
      if (efficiency.efficiency !== null) metrics.wfe = efficiency.efficiency;
      else warnings.push(`fold ${fold.index + 1}: walk-forward efficiency undefined: ${efficiency.reason}`);
      const previousSign = previousSignOnKnownRows(testTarget, pick(previousReturn, testRows));
      const baselines: Record<string, number> = {
        ...directionBaselines({ testTrue: testTarget, trainLabels: pick(data.label, fitRows) }),
        previousSign: previousSign.accuracy,
      };
      const seconds = (performance.now() - t0) / 1000;
      fitReport = {
        ...fitReport,
        previousSignBaseline: { rows: previousSign.rows, excluded: previousSign.excluded },
        seconds,
      };
      const result: FoldResult = {
        index: fold.index,
        fold,
        nTrain: fitRows.length,
        nValidation: valRows.length,
        nTest: testRows.length,
        metrics,
        baselines,
        bestIteration,
        seconds,
        efficiency,
        fitReport,
        ...(trained === undefined ? {} : { health: trained.health }),
      };
      foldResults.push(result);
      oosRows.push(testRows);
      oosProb.push(prob);
      if (store !== undefined && runId !== undefined) {
        await store.appendFold(runId, {
          index: fold.index,
          train: fold.train,
          test: fold.test,
          validation: fold.validation,
          purge: fold.purge,
          embargo: fold.embargo,
          nTrain: fitRows.length,
          nTest: testRows.length,
          metrics,
          baselines,
          fitReport,
        });
        if (trained !== undefined) {
          await store.appendEpochs(runId, trained.epochs);
          await store.appendDiagnostics(runId, trained.diagnostics);
        }
      }
    }

    // Stitch the out-of-sample predictions (every row belongs to exactly one test window).
    let nOos = 0;
    for (const r of oosRows) nOos += r.length;
    const allRows = new Int32Array(nOos);
    const probability = new Float64Array(nOos);
    let k = 0;
    oosRows.forEach((rows, i) => {
      allRows.set(rows, k);
      probability.set(oosProb[i], k);
      k += rows.length;
    });
    const oosTarget = pick(data.target, allRows);
    const oosDates = Array.from(allRows, (r) => data.dates[r]);
    const oosSymbols = Array.from(allRows, (r) => data.symbols[r]);
    const pooled = pooledMetrics(oosDates, oosTarget, probability);

    // The walk-forward-efficiency gate: does the edge seen on the early-stopping tails survive out of sample?
    const gate = efficiencyGate(foldResults.map((f) => ({
      validationAccuracy: f.efficiency.validationAccuracy,
      nValidation: f.nValidation,
      testAccuracy: f.efficiency.testAccuracy,
      nTest: f.nTest,
    })));
    const efficiency = gate.pooled;
    pooled.validationAccuracy = efficiency.validationAccuracy;
    if (efficiency.efficiency !== null) pooled.wfe = efficiency.efficiency;
    if (gate.warning !== undefined) warnings.push(gate.warning);
    if (store !== undefined && runId !== undefined) {
      await store.appendDiagnostics(runId, [{
        fold: null,
        kind: "walk-forward-efficiency",
        severity: gate.warning === undefined ? "info" : "warning",
        message: gate.warning ??
          `walk-forward efficiency ${efficiency.efficiency!.toFixed(2)} ≥ ${WFE_THRESHOLD}: validation tails ${
            (100 * efficiency.validationAccuracy).toFixed(1)
          }%, test ${(100 * efficiency.testAccuracy).toFixed(1)}%`,
        data: { ...efficiency, threshold: WFE_THRESHOLD },
      }]);
    }

    stage = "backtest";
    progress({ stage, fraction: 0.92, message: "backtesting out-of-sample predictions" });
    const backtest = backtestPanel({
      panel,
      forecasts: { dates: oosDates, symbols: oosSymbols, values: probability.map((p) => p - 0.5) },
      portfolio: config.backtest.portfolio,
      lag: config.backtest.lag,
      costBps: config.backtest.costBps,
      slippageBps: config.backtest.slippageBps,
      annualization: config.backtest.annualization,
    });

    const guard = plausibilityCheck({
      accuracy: pooled.accuracy,
      nTest: probability.length,
      rankIc: pooled.rankIc,
      meanIC: pooled.meanIC,
      // The Sharpe ratio is judged by the backtest itself, whose warnings are reported beside these.
    });
    for (const flag of guard.flags) warnings.push(`implausible ${flag.metric}: ${flag.reason}`);
    if (guard.suspicious && theoreticalAccuracy !== undefined) {
      warnings.push(
        `this is the synthetic market with a planted signal (theoretical best accuracy ${
          theoreticalAccuracy.toFixed(3)
        }): numbers this strong are expected here, not on real daily stock returns`,
      );
    }

    stage = "store";
    if (store !== undefined && runId !== undefined) {
      progress({ stage, fraction: 0.97, message: "storing the run" });
      await store.putBacktest(runId, backtest.record);
      await store.finishRun(runId, {
        status: "succeeded",
        summary: {
          pooled,
          theoreticalAccuracy,
          warnings,
          folds: foldResults.length,
          configurationChecks,
          walkForwardEfficiency: { ...efficiency, threshold: WFE_THRESHOLD },
          ...(backend === undefined ? {} : {
            backend,
            health: foldResults.map((f) => ({ fold: f.index, verdict: f.health ?? null })),
          }),
        },
      });
    }
    progress({ stage: "done", fraction: 1, message: "done" });
    return {
      runId,
      config,
      symbols: [...panel.symbols],
      features: data.featureNames,
      folds: foldResults,
      pooled,
      backtest,
      theoreticalAccuracy,
      warnings,
      configurationChecks,
      efficiency,
      ...(backend === undefined ? {} : { backend }),
      predictions: { dates: oosDates, symbols: oosSymbols, probability, target: oosTarget },
    };
  } catch (error) {
    if (store !== undefined && runId !== undefined) {
      const message = error instanceof Error ? error.message : String(error);
      await store.finishRun(runId, { status: "failed", error: { message, stage } }).catch(() => {});
    }
    throw error;
  }
}
