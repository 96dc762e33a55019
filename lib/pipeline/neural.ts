/**
 * One walk-forward fold of a neural model (MLP or LSTM) inside the pipeline: standardize on the fold's fitting rows,
 * sanitize, train with early stopping on the fold's validation tail while the training-health monitors watch, predict
 * the tail and the test window, and turn what happened into stored epochs, diagnostics and a fit report.
 *
 * Conventions (README "The candor command"):
 * - The standard scaler is fitted on the fold's fitting rows only (the dates before the early-stopping tail's purge);
 *   its window is the one the configuration gate checks, and the scaler's own record of it is kept in the fit report.
 * - After scaling, missing values (NaN, ±Inf: warm-up rows of rolling features) are filled with 0 — the fitting
 *   rows' mean — and counted (`fitReport.sanitize`).
 * - A column with no finite value in the fold's fitting rows (an extra column that starts later, say) has no centre or
 *   scale to learn: the scaler would pass its tail and test values through raw (prices in the thousands into a net
 *   trained on zeros). Such a column is set to the fill value 0 on every split of that fold — fitting, tail and test —
 *   so the model sees it as constant everywhere; the columns and the number of finite values overwritten are in
 *   `fitReport.emptyColumns`, and the run gets a warning.
 * - The input-scale audit runs on the scaled fitting, tail and test inputs (`fitReport.inputScale`,
 *   `inputScaleTail`, `inputScaleTest`; one `input-scale` diagnostic each, `data.split` naming the split); a flagged
 *   tail or test input is a run warning.
 * - LSTM rows are per-symbol windows of the last `timesteps` scaled rows, oldest first. A row without that much
 *   history for its symbol has no window: it is dropped from fitting, from the tail and from the test window (never
 *   predicted 0.5), so the fold's metrics and baselines are computed on the rows actually predicted; the counts are
 *   in `fitReport.droppedWithoutHistory`.
 * - The prediction is P(up), like XGBoost's; training is seeded.
 * - Epochs are stored 0-based (epoch 0 is the first), as the store numbers them; diagnostic messages written by the
 *   monitors count epochs from 1, and each diagnostic's `data.epoch` is the stored (0-based) number.
 *
 * @module
 */

import { type Matrix, takeRows } from "../data/matrix.ts";
import { fitStandardScaler, sanitize } from "../features/scalers.ts";
import type { FitWindow } from "../features/targets.ts";
import { auditInputScale } from "../diagnostics/input_scale.ts";
import { diagnose, type HealthSummary, TrainingHealth } from "../diagnostics/health.ts";
import { MLPModel } from "../models/nn/mlp.ts";
import { LSTMClassifier } from "../models/nn/lstm.ts";
import { type NeuralModel, slidingWindows } from "../models/nn/neural_model.ts";
import { initBackend } from "../models/nn/backend.ts";
import type { TrainingEpoch, TrainingEvent } from "../training/loop.ts";
import type { DiagnosticRecord, EpochRecord } from "../store/store.ts";
import { ConfigError } from "../errors.ts";
import type { LSTMConfig, MLPConfig } from "./config.ts";

/** Inputs of {@link fitNeuralFold}: the whole dataset plus the fold's row sets (dataset row indices). */
export interface NeuralFoldInput {
  model: MLPConfig | LSTMConfig;
  seed: number;
  fold: number;
  /** All dataset rows (panel order: symbol, then date). */
  X: Matrix;
  /** 0/1 direction label per dataset row. */
  label: Float64Array;
  /** Date per dataset row. */
  dates: readonly string[];
  /** Symbol per dataset row (windows never cross symbols). */
  symbols: readonly string[];
  fitRows: Int32Array;
  valRows: Int32Array;
  testRows: Int32Array;
  /** The window the scaler is fitted on: the span of the fitting rows, as given to the configuration gate. */
  scalerWindow: FitWindow;
  onProgress?: (fraction: number, status: string) => void;
}

/** What a neural fold produced. Row sets are the rows actually used (LSTM: those with a full window). */
export interface NeuralFoldOutput {
  fitRows: Int32Array;
  valRows: Int32Array;
  testRows: Int32Array;
  /** P(up) on `valRows`. */
  valProb: Float64Array;
  /** P(up) on `testRows`. */
  prob: Float64Array;
  /** Best epoch (1-based), as the fit reported it. */
  bestIteration?: number;
  /** JSON fit report for the fold record: backend, workers, stop reason, scaler, sanitizer, input scale, ... */
  fitReport: Record<string, unknown>;
  /** One record per trained epoch (0-based epoch numbers). */
  epochs: EpochRecord[];
  /** Training-health findings of the fold (always one per category, `info` when healthy). */
  diagnostics: DiagnosticRecord[];
  /** The one-line verdict of {@link diagnose}: "healthy" or what went wrong. */
  health: string;
  /** Run warnings raised by this fold (unhealthy training, inputs the scale audit flags). */
  warnings: string[];
  /** tfjs backend actually used. */
  backend: string;
}

/** Number of NaN/±Inf numbers in an epoch record's losses, learning rate and gradient-norm statistics. */
export function nonFiniteInEpoch(r: TrainingEpoch): number {
  const values = [r.trainLoss, r.valLoss, r.lr, r.gradNorm.mean, r.gradNorm.median, r.gradNorm.max];
  return values.filter((v) => v !== undefined && !Number.isFinite(v)).length;
}

/** Store records of a fit's history: losses, lr, median pre-clip gradient norm, clip ratio, non-finite count. */
export function epochRecords(fold: number, history: readonly TrainingEpoch[], health?: HealthSummary): EpochRecord[] {
  return history.map((r) => {
    const row = health?.rows.find((h) => h.epoch === r.epoch);
    return {
      fold,
      epoch: r.epoch - 1,
      trainLoss: r.trainLoss,
      valLoss: r.valLoss ?? null,
      lr: r.lr,
      gradNorm: r.gradNorm.median,
      clipRatio: r.clipRatio,
      extra: {
        nonFinite: nonFiniteInEpoch(r),
        gradNormMean: r.gradNorm.mean,
        gradNormMax: r.gradNorm.max,
        steps: r.steps,
        seconds: r.seconds,
        ...(row === undefined ? {} : { predStd: row.predStd, predPositive: row.predPositive ?? null }),
      },
    };
  });
}

const SEVERITY: Record<string, DiagnosticRecord["severity"]> = { "non-finite": "error" };

/**
 * The fold's diagnostics: every monitor event as a warning (`non-finite` as an error), and for each category that
 * raised nothing an `info` record with the number it was judged on; plus the input-scale audit and the verdict.
 */
export function healthDiagnostics(
  fold: number,
  summary: HealthSummary,
  inputScale: { summary: string; flagged: string[]; nonFinite: number },
  otherInputs: readonly { split: string; report: { summary: string; flagged: string[]; nonFinite: number } }[] = [],
): DiagnosticRecord[] {
  const out: DiagnosticRecord[] = [];
  const byKind = (kinds: string[]) => summary.events.filter((e) => kinds.includes(e.kind));
  const asRecord = (e: TrainingEvent): DiagnosticRecord => ({
    fold,
    kind: e.kind,
    severity: SEVERITY[e.kind] ?? "warning",
    message: e.message,
    data: { epoch: e.epoch - 1, ...(e.step === undefined ? {} : { step: e.step }) },
  });
  const last = summary.rows.at(-1);
  const categories: Array<{ kinds: string[]; kind: string; healthy: () => DiagnosticRecord }> = [
    {
      kinds: ["non-finite"],
      kind: "non-finite",
      healthy: () => ({ fold, kind: "non-finite", severity: "info", message: "every loss and gradient norm finite" }),
    },
    {
      kinds: ["variance-collapse"],
      kind: "variance-collapse",
      healthy: () => ({
        fold,
        kind: "variance-collapse",
        severity: "info",
        message: `no variance collapse (final prediction std ${fmt(summary.finalPredStd)} in logits)`,
        data: { finalPredStd: num(summary.finalPredStd) },
      }),
    },
    {
      kinds: ["sign-bias"],
      kind: "sign-bias",
      healthy: () => ({
        fold,
        kind: "sign-bias",
        severity: "info",
        message: `no sign bias (final share of "up" predictions ${
          last?.predPositive === undefined ? "—" : `${(100 * last.predPositive).toFixed(1)}%`
        })`,
        data: { predPositive: num(last?.predPositive) },
      }),
    },
    {
      kinds: ["gradient-explosion", "clipping"],
      kind: "gradient-health",
      healthy: () => ({
        fold,
        kind: "gradient-health",
        severity: "info",
        message: `gradients healthy (mean clip ratio ${(100 * summary.meanClipRatio).toFixed(1)}%, final median norm ${
          fmt(last?.gradNormMedian)
        })`,
        data: { meanClipRatio: num(summary.meanClipRatio), clipTrend: num(summary.clipTrend) },
      }),
    },
    {
      kinds: ["loss-imbalance"],
      kind: "loss-imbalance",
      healthy: () => ({ fold, kind: "loss-imbalance", severity: "info", message: "loss components balanced" }),
    },
  ];
  const known = new Set(categories.flatMap((c) => c.kinds));
  for (const c of categories) {
    const events = byKind(c.kinds);
    if (events.length === 0) out.push(c.healthy());
    else out.push(...events.map(asRecord));
  }
  // Events of kinds no category covers (future monitors) are kept too.
  out.push(...summary.events.filter((e) => !known.has(e.kind)).map(asRecord));
  // One input-scale record per split; the training split's data carries no `split` field (it came first).
  const scaleRecord = (split: string, report: typeof inputScale, named: boolean): DiagnosticRecord => ({
    fold,
    kind: "input-scale",
    severity: report.flagged.length === 0 ? "info" : "warning",
    message: `scaled ${split} inputs: ${report.summary}`,
    data: { ...(named ? { split } : {}), flagged: report.flagged, nonFiniteAfterSanitize: report.nonFinite },
  });
  out.push(scaleRecord("training", inputScale, false));
  for (const { split, report } of otherInputs) out.push(scaleRecord(split, report, true));
  const verdict = diagnose(summary);
  out.push({
    fold,
    kind: "training-health",
    severity: verdict === "healthy" ? "info" : "warning",
    message: verdict,
    data: {
      epochs: summary.epochs,
      meanClipRatio: num(summary.meanClipRatio),
      collapsedAt: summary.collapsedAt ?? null,
      finalPredStd: num(summary.finalPredStd),
    },
  });
  return out;
}

function num(x: number | undefined): number | null {
  return x === undefined || !Number.isFinite(x) ? null : x;
}

function fmt(x: number | undefined): string {
  return x === undefined || !Number.isFinite(x) ? "—" : x.toPrecision(3);
}

/** Indices of the columns of `X` without a single finite value (all NaN/±Inf, or no rows). */
export function columnsWithoutFiniteValues(X: Matrix): number[] {
  const out: number[] = [];
  for (let j = 0; j < X.cols; j++) {
    let finite = false;
    for (let i = 0; i < X.rows && !finite; i++) finite = Number.isFinite(X.data[i * X.cols + j]);
    if (!finite) out.push(j);
  }
  return out;
}

/** Sets columns `cols` of `X` to `value` in place; returns how many finite values were overwritten. */
function setColumns(X: Matrix, cols: readonly number[], value: number): number {
  let overwritten = 0;
  for (const j of cols) {
    for (let i = 0; i < X.rows; i++) {
      if (Number.isFinite(X.data[i * X.cols + j])) overwritten++;
      X.data[i * X.cols + j] = value;
    }
  }
  return overwritten;
}

/** Rows of `rows` that have a window (`windowOf[row] ≥ 0`). */
function withWindow(rows: Int32Array, windowOf: Int32Array): Int32Array {
  return rows.filter((r) => windowOf[r] >= 0);
}

function pick01(label: Float64Array, rows: Int32Array): Float32Array {
  return Float32Array.from(rows, (r) => label[r]);
}

/** The tfjs backend a neural run will use (initializes it once per process). */
export async function neuralBackend(model: MLPConfig | LSTMConfig): Promise<string> {
  return (await initBackend(model.backend)).name;
}

/** Trains and evaluates one fold of a neural model; see the module notes for the conventions. */
export async function fitNeuralFold(input: NeuralFoldInput): Promise<NeuralFoldOutput> {
  const { model: cfg, fold, X, label, dates } = input;
  const fitX = takeRows(X, input.fitRows);
  const scaler = fitStandardScaler(fitX, Array.from(input.fitRows, (r) => dates[r]), input.scalerWindow);
  if (scaler.rows !== input.fitRows.length) {
    throw new Error(
      `internal: fold ${fold}'s scaler saw ${scaler.rows} of ${input.fitRows.length} fitting rows in its window`,
    );
  }
  // Columns the scaler learned nothing about: the fill value on every split of this fold (module notes).
  const empty = columnsWithoutFiniteValues(fitX);
  const emptyNames = empty.map((j) => X.columns?.[j] ?? `x${j}`);
  let overwritten = 0;
  const prepare = (m: Matrix) => {
    const scaled = scaler.transform(m);
    overwritten += setColumns(scaled, empty, 0);
    const { X: clean, report } = sanitize(scaled, { policy: "fill", value: 0 });
    return { X: clean, filled: report.filled };
  };

  let fitRows = input.fitRows, valRows = input.valRows, testRows = input.testRows;
  let Xfit: Matrix, Xval: Matrix, Xtest: Matrix;
  let filled: number;
  let inputScale: ReturnType<typeof auditInputScale>;
  let tailScale: ReturnType<typeof auditInputScale>;
  let testScale: ReturnType<typeof auditInputScale>;
  const dropped: Record<string, number> = {};
  let net: NeuralModel;
  const health = new TrainingHealth();
  const common = {
    task: "binary" as const,
    epochs: cfg.epochs,
    batchSize: cfg.batchSize,
    learningRate: cfg.learningRate,
    clipNorm: cfg.clipNorm,
    earlyStopping: { patience: cfg.patience, restoreBest: true },
    monitors: health.monitors,
    progress: false,
    seed: input.seed,
    ...(cfg.backend === undefined ? {} : { backend: cfg.backend }),
  };
  if (cfg.kind === "mlp") {
    const f = prepare(fitX);
    const v = prepare(takeRows(X, valRows));
    const t = prepare(takeRows(X, testRows));
    Xfit = f.X, Xval = v.X, Xtest = t.X;
    filled = f.filled + v.filled + t.filled;
    inputScale = auditInputScale(Xfit);
    tailScale = auditInputScale(Xval);
    testScale = auditInputScale(Xtest);
    net = new MLPModel({ ...common, hidden: cfg.hidden });
  } else {
    // Scale every row the windows may reach (all of them: features only, never labels), then window per symbol.
    const all = prepare(X);
    filled = all.filled;
    const { X: windows, rowIndex } = slidingWindows(all.X, cfg.timesteps, input.symbols as string[]);
    const windowOf = new Int32Array(X.rows).fill(-1);
    rowIndex.forEach((row, j) => windowOf[row] = j);
    fitRows = withWindow(fitRows, windowOf);
    valRows = withWindow(valRows, windowOf);
    testRows = withWindow(testRows, windowOf);
    dropped.fit = input.fitRows.length - fitRows.length;
    dropped.validation = input.valRows.length - valRows.length;
    dropped.test = input.testRows.length - testRows.length;
    for (const [what, rows] of [["fitting", fitRows], ["early-stopping", valRows], ["test", testRows]] as const) {
      if (rows.length === 0) {
        throw new ConfigError(
          `fold ${fold + 1}: no ${what} row has ${cfg.timesteps} days of history for the LSTM; ` +
            `use a shorter model.timesteps or more days`,
        );
      }
    }
    const w = (rows: Int32Array) => takeRows(windows, Array.from(rows, (r) => windowOf[r]));
    Xfit = w(fitRows), Xval = w(valRows), Xtest = w(testRows);
    inputScale = auditInputScale(takeRows(all.X, fitRows));
    tailScale = auditInputScale(takeRows(all.X, valRows));
    testScale = auditInputScale(takeRows(all.X, testRows));
    net = new LSTMClassifier({ ...common, timesteps: cfg.timesteps, units: cfg.units });
  }

  try {
    const report = await net.fit(Xfit, pick01(label, fitRows), {
      validation: { X: Xval, y: pick01(label, valRows) },
      seed: input.seed,
      onProgress: input.onProgress,
    });
    const valProb = net.predict(Xval);
    const prob = net.predict(Xtest);
    const summary = health.summary(net.events);
    const verdict = diagnose(summary);
    const details = report.details ?? {};
    const backend = String(details.backend);
    const warnings: string[] = [];
    if (verdict !== "healthy") warnings.push(`fold ${fold + 1} training health: ${verdict}`);
    if (inputScale.flagged.length > 0) {
      warnings.push(`fold ${fold + 1} input scale after standardization: ${inputScale.summary}`);
    }
    for (const [split, audit] of [["early-stopping tail", tailScale], ["test", testScale]] as const) {
      if (audit.flagged.length > 0) {
        warnings.push(`fold ${fold + 1} ${split} input scale after standardization: ${audit.summary}`);
      }
    }
    if (empty.length > 0) {
      warnings.push(
        `fold ${fold + 1}: ${emptyNames.join(", ")} ${empty.length === 1 ? "has" : "have"} no finite value in the ` +
          `fitting rows (${scaler.window.start}..${scaler.window.end}), so nothing to standardize with: set to 0 on ` +
          `every split of this fold (${overwritten} finite value(s) outside the fitting rows not used)`,
      );
    }
    const fitReport: Record<string, unknown> = {
      model: report.model,
      backend,
      backendRequested: details.backendRequested,
      backendPatches: details.backendPatches,
      workers: details.workers,
      workersNote: details.workersNote,
      stopReason: details.stopReason,
      epochsRun: net.history.length,
      notes: report.notes,
      scaler: { kind: scaler.kind, window: scaler.window, rows: scaler.rows },
      sanitize: { policy: "fill 0 after scaling", filled },
      inputScale: inputScale.summary,
      inputScaleTail: tailScale.summary,
      inputScaleTest: testScale.summary,
      emptyColumns: {
        columns: emptyNames,
        policy: "no finite value in the fitting rows: set to 0 on fitting, tail and test rows",
        overwritten,
      },
      health: verdict,
      ...(cfg.kind === "lstm" ? { timesteps: cfg.timesteps, droppedWithoutHistory: dropped } : {}),
    };
    return {
      fitRows,
      valRows,
      testRows,
      valProb,
      prob,
      bestIteration: report.bestIteration,
      fitReport,
      epochs: epochRecords(fold, net.history, summary),
      diagnostics: healthDiagnostics(fold, summary, inputScale, [
        { split: "early-stopping tail", report: tailScale },
        { split: "test", report: testScale },
      ]),
      health: verdict,
      warnings,
      backend,
    };
  } finally {
    net.dispose();
  }
}
