/**
 * The neural fold fit (loaded lazily by ./neural.ts): standardize, window, train with the health monitors, predict,
 * and turn what happened into epochs, diagnostics and the typed report.
 *
 * @module
 */

import type { Matrix } from "../../data/matrix.ts";
import { diagnose, type HealthSummary, TrainingHealth } from "../../diagnostics/health.ts";
import { classWeights } from "../../metrics/class_weights.ts";
import { macroF1 } from "../../metrics/classification.ts";
import type { EpochContext, TrainingEpoch, TrainingEvent, TrainingMonitor } from "../../training/loop.ts";
import type { DiagnosticRecord, EpochRecord } from "../../store/store.ts";
import { ConfigError } from "../../errors.ts";
import { join } from "node:path";
import { takeRows } from "../../data/matrix.ts";
import type { NeuralModel } from "../../models/nn/neural_model.ts";
import type { FoldInput, FoldOutput, FoldRows, StudyData, Task, TrainedModel } from "./contract.ts";
import { fittedOn, FoldScaler, pick32, scaledWindows, sequenceWindows, standardize } from "./inputs.ts";
import {
  type BuildNetwork,
  buildSchedule,
  type LoadNetwork,
  type NeuralCommon,
  type NeuralFoldReport,
} from "./neural.ts";

/** Number of NaN/±Inf numbers in an epoch record's losses, learning rate and gradient-norm statistics. */
export function nonFiniteInEpoch(r: TrainingEpoch): number {
  const values = [r.trainLoss, r.valLoss, r.lr, r.gradNorm.mean, r.gradNorm.median, r.gradNorm.max];
  return values.filter((v) => v !== undefined && !Number.isFinite(v)).length;
}

/**
 * Store records of a fit's history: losses, lr, median pre-clip gradient norm, clip ratio, non-finite count, and in
 * `extra` the loss components with their weights in the loss (`lossComponents`, `lossWeights`).
 */
export function epochRecords(
  fold: number,
  history: readonly TrainingEpoch[],
  health?: HealthSummary,
  perEpoch?: ReadonlyMap<number, Record<string, number>>,
): EpochRecord[] {
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
        // The loss as logged and each component's weight in it (the loss-balance monitor's inputs).
        lossComponents: r.components,
        lossWeights: Object.fromEntries(Object.keys(r.components).map((k) => [k, r.componentWeights?.[k] ?? 1])),
        ...(perEpoch?.get(r.epoch) ?? {}),
        ...(row === undefined ? {} : { predStd: row.predStd, predPositive: row.predPositive ?? null }),
      },
    };
  });
}

const SEVERITY: Record<string, DiagnosticRecord["severity"]> = { "non-finite": "error" };

function num(x: number | undefined): number | null {
  return x === undefined || !Number.isFinite(x) ? null : x;
}

function fmt(x: number | undefined): string {
  return x === undefined || !Number.isFinite(x) ? "—" : x.toPrecision(3);
}

/**
 * A fold's training-health diagnostics: every monitor event as a warning (`non-finite` as an error), an `info` record
 * with the number it was judged on for each category that raised nothing, and the verdict of `diagnose()`.
 */
export function healthDiagnostics(fold: number, summary: HealthSummary): DiagnosticRecord[] {
  const out: DiagnosticRecord[] = [];
  const asRecord = (e: TrainingEvent): DiagnosticRecord => ({
    fold,
    kind: e.kind,
    severity: SEVERITY[e.kind] ?? "warning",
    message: e.message,
    data: { epoch: e.epoch - 1, ...(e.step === undefined ? {} : { step: e.step }) },
  });
  const last = summary.rows.at(-1);
  const categories: Array<{ kinds: string[]; healthy: () => DiagnosticRecord }> = [
    {
      kinds: ["non-finite"],
      healthy: () => ({ fold, kind: "non-finite", severity: "info", message: "every loss and gradient norm finite" }),
    },
    {
      kinds: ["variance-collapse"],
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
      healthy: () => ({ fold, kind: "loss-imbalance", severity: "info", message: "loss components balanced" }),
    },
  ];
  const known = new Set(categories.flatMap((c) => c.kinds));
  for (const c of categories) {
    const events = summary.events.filter((e) => c.kinds.includes(e.kind));
    if (events.length === 0) out.push(c.healthy());
    else out.push(...events.map(asRecord));
  }
  out.push(...summary.events.filter((e) => !known.has(e.kind)).map(asRecord));
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

/**
 * Records the macro-F1 of the validation-tail predictions after every epoch of a binary classifier (the monitors see
 * logits: "up" iff > 0), so a classifier that drifts towards one class shows it epoch by epoch, not only in the loss.
 */
export class MacroF1Monitor implements TrainingMonitor {
  /** Monitor name. */
  readonly name = "macro-f1";
  /** Macro-F1 by 1-based epoch. */
  readonly byEpoch = new Map<number, Record<string, number>>();

  /** Computes the epoch's macro-F1 from the validation predictions (single-output models only). */
  onEpochEnd(ctx: EpochContext): void {
    if (ctx.classShares !== undefined) return;
    const pred = Float64Array.from(ctx.predictions, (p) => (p > 0 ? 1 : 0));
    this.byEpoch.set(ctx.record.epoch, { macroF1: macroF1(ctx.targets, pred, [0, 1]) });
  }

  /** No events: the numbers go into the epoch records. */
  events(): TrainingEvent[] {
    return [];
  }
}

/**
 * Trains one fold of a neural kind. `timesteps` > 0 makes it a sequence model (per-symbol windows); `extra` are
 * kind-specific model options (hidden widths, units, loss, ...). See the module notes.
 */
export async function fitNeuralFold(
  input: FoldInput<NeuralCommon>,
  build: BuildNetwork,
  options: { timesteps?: number; demean?: boolean } = {},
): Promise<FoldOutput<NeuralFoldReport>> {
  const { data, fold, entry } = input;
  const s = entry.settings;
  const index = fold.index;
  const timesteps = options.timesteps ?? 0;
  const scaled = standardize(data, fold.rows, index, timesteps > 0);
  let rows: FoldRows = fold.rows;
  let Xfit: Matrix = scaled.fit, Xval: Matrix = scaled.validation, Xtest: Matrix = scaled.test;
  let sequence: NeuralFoldReport["sequence"];
  if (timesteps > 0) {
    const w = (r: Int32Array) => sequenceWindows(scaled.all!, r, timesteps, data.symbols);
    const f = w(fold.rows.fit), v = w(fold.rows.validation), t = w(fold.rows.test);
    for (const [what, part] of [["fitting", f], ["early-stopping", v], ["test", t]] as const) {
      // A production fit has no test rows to predict.
      if (part.rows.length === 0 && !(what === "test" && fold.rows.test.length === 0)) {
        throw new ConfigError(
          `fold ${index + 1}: no ${what} row has ${timesteps} days of history for ${entry.name} (${entry.kind}); ` +
            `use a smaller settings.timesteps or more days`,
        );
      }
    }
    rows = { fit: f.rows, validation: v.rows, test: t.rows };
    Xfit = f.X, Xval = v.X, Xtest = t.X;
    sequence = {
      timesteps,
      dropped: {
        fit: fold.rows.fit.length - f.rows.length,
        validation: fold.rows.validation.length - v.rows.length,
        test: fold.rows.test.length - t.rows.length,
      },
    };
  }
  const yFit = pick32(data.y, rows.fit);
  const yVal = pick32(data.y, rows.validation);
  let cw: "balanced" | number[] | undefined;
  if (data.task !== "regression" && s.classWeights !== undefined && s.classWeights !== "none") {
    if (s.classWeights === "balanced") cw = "balanced";
    else {
      const w = classWeights(yFit, "inverse");
      cw = Array.from({ length: data.classes }, (_, k) => w[k] ?? 0);
    }
  }
  const health = new TrainingHealth({
    collapse: { stop: s.stopOn.includes("collapse") },
    signBias: { stop: s.stopOn.includes("sign-bias") },
  });
  const f1 = new MacroF1Monitor();
  const net = await build({
    task: data.task,
    ...(data.task === "multiclass" ? { numClasses: data.classes } : {}),
    epochs: s.epochs,
    batchSize: s.batchSize,
    learningRate: s.learningRate,
    ...(s.schedule.kind === "constant" ? {} : { schedule: buildSchedule(s.schedule, s.learningRate, s.epochs) }),
    ...(s.clipNorm === null ? {} : { clipNorm: s.clipNorm }),
    ...(s.weightDecay > 0 ? { weightDecay: s.weightDecay } : {}),
    earlyStopping: { patience: s.patience, minDelta: s.minDelta, restoreBest: true },
    ...(cw === undefined ? {} : { classWeights: cw }),
    ...(s.labelSmoothing ? { labelSmoothing: s.labelSmoothing } : {}),
    monitors: data.task === "binary" ? [...health.monitors, f1] : health.monitors,
    progress: false,
    seed: input.seed,
    ...(s.backend === undefined ? {} : { backend: s.backend }),
  });
  let kept = false;
  try {
    const report = await net.fit(Xfit, yFit, {
      validation: { X: Xval, y: yVal },
      seed: input.seed,
      onProgress: input.onProgress,
    });
    const scores = (X: Matrix) => networkScores(net, data.task, X);
    const validation = scores(Xval);
    const test = scores(Xtest);
    const summary = health.summary(net.events);
    const verdict = diagnose(summary);
    const d = report.details ?? {};
    const warnings = [...scaled.warnings];
    if (verdict !== "healthy") warnings.push(`${entry.name} fold ${index + 1} training health: ${verdict}`);
    const fitted = [
      ...fittedOn("model fit", index, rows.fit, data),
      ...fittedOn("standard scaler", index, fold.rows.fit, data),
      ...fittedOn("early-stopping tail", index, rows.validation, data),
      ...(options.demean ? fittedOn("target de-meaning", index, rows.fit, data) : []),
    ];
    kept = input.keep === true;
    return {
      ...(kept ? { model: keptNetwork(net, scaled.scaler, data.task, timesteps) } : {}),
      rows,
      validation,
      test,
      report: {
        kind: entry.kind,
        bestIteration: report.bestIteration,
        iterations: net.history.length,
        notes: report.notes,
        backend: { name: String(d.backend), requested: d.backendRequested ?? null, patches: d.backendPatches ?? [] },
        workers: { count: d.workers ?? null, note: d.workersNote ?? null },
        stopReason: d.stopReason ?? null,
        ...(Array.isArray(d.classWeights) ? { classWeights: d.classWeights as number[] } : {}),
        scaling: scaled.report,
        ...(sequence === undefined ? {} : { sequence }),
        health: verdict,
      },
      fitted,
      epochs: epochRecords(index, net.history, summary, f1.byEpoch),
      diagnostics: [...healthDiagnostics(index, summary), ...scaled.diagnostics],
      health: verdict,
      warnings,
    };
  } finally {
    if (!kept) net.dispose();
  }
}

/** The network's scores: P(up), `classes` probabilities per row, or the forecast; none for no rows. */
function networkScores(net: NeuralModel, task: Task, X: Matrix): Float64Array {
  if (X.rows === 0) return new Float64Array(0);
  return task === "multiclass" ? Float64Array.from(net.predictProba(X)) : net.predict(X);
}

/** What a kept neural model saves beside its network and scaler. */
interface SavedNeural {
  format: "candor-neural-fold/1";
  task: Task;
  timesteps: number;
}

/** A network kept for production with its fold scaler; sequence models read each row's history from the data. */
function keptNetwork(net: NeuralModel, scaler: FoldScaler, task: Task, timesteps: number): TrainedModel {
  return {
    score(data: StudyData, rows: Int32Array) {
      if (timesteps > 0) {
        const w = scaledWindows(data, rows, timesteps, scaler);
        return { rows: w.rows, scores: networkScores(net, task, w.X) };
      }
      if (rows.length === 0) return { rows, scores: new Float64Array(0) };
      return { rows, scores: networkScores(net, task, scaler.transform(takeRows(data.X, rows)).X) };
    },
    async save(dir: string) {
      await Deno.mkdir(dir, { recursive: true });
      await net.save(join(dir, "network"));
      await scaler.save(dir);
      const meta: SavedNeural = { format: "candor-neural-fold/1", task, timesteps };
      await Deno.writeTextFile(join(dir, "neural.json"), JSON.stringify(meta));
    },
    dispose: () => net.dispose(),
  };
}

/** Rebuilds a kept neural model from its folder (see {@link keptNetwork}). */
export async function loadNeuralFold(dir: string, load: LoadNetwork): Promise<TrainedModel> {
  const meta = JSON.parse(await Deno.readTextFile(join(dir, "neural.json"))) as SavedNeural;
  if (meta.format !== "candor-neural-fold/1") throw new ConfigError(`${dir}/neural.json is not a candor neural model`);
  const scaler = await FoldScaler.load(dir);
  return keptNetwork(await load(join(dir, "network")), scaler, meta.task, meta.timesteps);
}
