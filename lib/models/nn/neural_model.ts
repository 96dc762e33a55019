/**
 * The shared base of every tfjs model: turns the Model contract (`fit(X, y, opts)` on a {@link Matrix}) into a call of
 * the training loop (lib/training/loop.ts), and handles the task (binary / multiclass / regression), class weights,
 * target de-meaning, sequence reshaping, prediction in batches, saving and loading.
 *
 * Sequence models read each row of X as `timesteps` consecutive observations of `cols / timesteps` features,
 * time-major (`[x_{t−T+1}, …, x_t]`), oldest first; build such rows with {@link slidingWindows}.
 *
 * `predict` returns P(class 1) for binary models, the regression value for regression models, and the most probable
 * class index for multiclass models (`predictProba` gives all class probabilities).
 *
 * @module
 */

import { tf } from "../../training/tfjs.ts";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ConfigError } from "../../errors.ts";
import { assertMatrix, type Matrix } from "../../data/matrix.ts";
import { classWeights } from "../../metrics/class_weights.ts";
import type { FitOptions, FitReport, Model, Target } from "../model.ts";
import {
  antiCollapse,
  type AntiCollapseOptions,
  balancedDirectionalLoss,
  crossEntropy,
  directionalHuber,
  directionalMse,
  huber,
  type LossResult,
  mse,
} from "../../training/losses.ts";
import {
  type ArrayDataset,
  type EpochContext,
  train,
  type Trainable,
  type TrainBatch,
  type TrainingEpoch,
  type TrainingEvent,
  type TrainingMonitor,
  type TrainOptions,
  type TrainResult,
} from "../../training/loop.ts";
import type { Schedule } from "../../training/schedules.ts";
import type { DataParallelSupport } from "../../training/data_parallel.ts";
import {
  type BackendInfo,
  type BackendRequest,
  cacheOnHost,
  initBackend,
  initBackendForLoad,
  withReadableBackend,
} from "./backend.ts";
import { ParamStore } from "./params.ts";

/** What the network predicts. */
export type Task = "binary" | "multiclass" | "regression";

/** Regression losses selectable by name (see lib/training/losses.ts for formulas). */
export type RegressionLoss = "mse" | "huber" | "directional-mse" | "directional-huber" | "balanced-directional";

/** Options shared by every neural model. */
export interface NeuralOptions {
  /**
   * What the network predicts (default `"binary"`): one logit for P(class 1), `numClasses` logits, or one regression
   * value.
   */
  task?: Task;
  /** Classes for multiclass (default 3: DOWN/FLAT/UP as 0/1/2). */
  numClasses?: number;
  /** Sequence length for sequence models (each row of X is timesteps × features). */
  timesteps?: number;
  /** Training epochs (default 20). */
  epochs?: number;
  /** Training rows per optimizer step (default 64, capped at the number of training rows). */
  batchSize?: number;
  /** Constant Adam learning rate when no `schedule` is given (default 1e-3). */
  learningRate?: number;
  /** Learning-rate schedule (lib/training/schedules.ts); overrides `learningRate`. */
  schedule?: Schedule;
  /**
   * Global gradient L2-norm threshold: a step whose pre-clip norm exceeds it is scaled down to it; undefined = no
   * clipping (norms are still logged).
   */
  clipNorm?: number;
  /**
   * Stop after `patience` epochs without the validation loss improving by more than `minDelta` (default 0), then
   * restore the best epoch's weights unless `restoreBest` is false. Ignored when fit gets no validation data.
   */
  earlyStopping?: { patience: number; minDelta?: number; restoreBest?: boolean };
  /** Class weights for classification: "balanced" (computed on the training labels with lib/metrics) or explicit. */
  classWeights?: "balanced" | number[];
  /** Classification label smoothing ε: targets become (1 − ε)·onehot + ε/K (K = 2 for binary). Default 0. */
  labelSmoothing?: number;
  /** Regression loss (default "mse"). */
  loss?: RegressionLoss;
  /** Huber transition point δ, in target units, for the `huber` and `directional-huber` losses (default 1). */
  huberDelta?: number;
  /** Adds the variance and sign-diversity penalties to the loss (regression). */
  antiCollapse?: AntiCollapseOptions;
  /** Regression: subtract the training-target mean before fitting and add it back when predicting. */
  demean?: boolean;
  /**
   * Decoupled weight decay λ (AdamW) on every parameter, default 0. Regularization that works on every gradient
   * thread (it is applied by the optimizer, not added to the loss).
   */
  weightDecay?: number;
  /** Seed of weight initialization and shuffling (default 42); `FitOptions.seed` overrides it for one fit. */
  seed?: number;
  /**
   * tfjs backend to use (`"auto"`, `"tensorflow"`, `"webgpu"`, `"wasm"`, `"cpu"`); default from `TFJS_BACKEND`, else
   * `"auto"` (see lib/models/nn/backend.ts).
   */
  backend?: BackendRequest;
  /** Progress bar: `true`, `false`, or `"auto"` (default: only on a terminal). */
  progress?: boolean | "auto";
  /**
   * Training monitors (e.g. `new TrainingHealth().monitors`) called after every epoch; their events land in the fit
   * report's notes.
   */
  monitors?: TrainingMonitor[];
  /** Write a resumable checkpoint into `dir` every `everyEpochs` (default 1) epochs. */
  checkpoint?: { dir: string; everyEpochs?: number };
  /** Checkpoint folder to resume from; the model and its options must match the run that wrote it. */
  resumeFrom?: string;
  /** Stop after this many epochs in this fit (time budgets; resume later with `resumeFrom`). */
  stopAfterEpochs?: number;
  /** Rows per validation batch (default 4 · batchSize), capped at ceil(n / 2) so there are always two batches or more. */
  validationBatchSize?: number;
  /**
   * Gradient threads (see `TrainOptions.workers` in lib/training/loop.ts): `"auto"` (default) uses two on a machine
   * with two or more cores when batches have ≥ 64 rows per thread and the loss is a per-sample mean; 1 = main thread
   * only. Results equal single-thread training up to float32 summation order and are bit-identical for the same seed
   * and worker count; the count used is recorded in the fit report (`details.workers`).
   */
  workers?: number | "auto";
}

/** Options a worker replica does not need (and that cannot be sent to a worker: schedules, monitors). */
const NOT_REPLICATED = [
  "schedule",
  "monitors",
  "checkpoint",
  "resumeFrom",
  "progress",
  "stopAfterEpochs",
  "earlyStopping",
  "workers",
] as const;

/** What a worker needs to rebuild a model's training replica (lib/models/nn/replica.ts). */
export interface ReplicaArgs {
  /** The model's `kind`, which selects the class the worker instantiates. */
  kind: string;
  /**
   * The model's options minus those a replica does not need or cannot receive (schedule, monitors, checkpointing, early
   * stopping, progress, workers).
   */
  options: Record<string, unknown>;
  /** Shape of one sample, `[features]` or `[timesteps, features]`. */
  sampleShape: number[];
  /** Per-class loss weights (index = class) resolved on the main thread, so every thread weighs rows identically. */
  classWeights?: number[];
  /** The fit's seed; the replica's own initialization is overwritten by the parameters sent before every step. */
  seed: number;
  /** Backend name of the main thread (wasm or cpu). */
  backend: string;
}

/** The network a subclass builds: output `[B, outDim]` plus optional auxiliary losses. */
export interface Network {
  /**
   * Outputs `[B, outDim]` (logits or regression values) for inputs `[B, ...sampleShape]`; `training` selects batch
   * rather than running statistics where the network has batch norm.
   */
  forward(x: tf.Tensor, training: boolean): tf.Tensor;
  /**
   * Extra loss terms (multitask heads) given the batch, each already multiplied by its weight: added to the main loss
   * as named components of weight 1.
   */
  auxLoss?(x: tf.Tensor, batch: TrainBatch, training: boolean): Record<string, tf.Scalar>;
  /**
   * Called right after each training forward pass, before its backward pass and optimizer step (batch norm folds the
   * batch's statistics into its running averages here, as PyTorch does during its forward pass).
   */
  afterStep?(): void;
}

/** Base class of the tfjs models; subclasses implement {@link NeuralModel.buildNetwork}. */
export abstract class NeuralModel implements Model {
  abstract readonly kind: string;
  /** The options as given; defaults are applied where they are used. */
  readonly options: NeuralOptions;
  /** Parameter store of the current network; undefined before fit or load and after dispose. */
  protected params?: ParamStore;
  /** The built network; undefined before fit or load and after dispose. */
  protected network?: Network;
  /** Shape of one sample the network was built for. */
  protected sampleShape?: number[];
  /** Training-target mean removed when `demean` is on. */
  protected targetOffset = 0;
  /** Per-epoch history of the last fit. */
  history: TrainingEpoch[] = [];
  /** Diagnostic events of the last fit (non-finite sentinel, monitors). */
  events: TrainingEvent[] = [];
  /** Backend used by the last fit. */
  backend?: BackendInfo;
  /** The last fit's full training result (history, stop reason, best epoch, gradient threads used). */
  lastTrain?: TrainResult;

  /** Stores the options; nothing is built until `fit` or `loadWeights`. */
  constructor(options: NeuralOptions = {}) {
    this.options = options;
  }

  /** Builds the network for samples of `sampleShape` with `outDim` outputs. */
  protected abstract buildNetwork(p: ParamStore, sampleShape: number[], outDim: number): Network;

  /** Model-specific parameters for describe() and save(). */
  protected abstract hyperParameters(): Record<string, unknown>;

  /** The task, default `"binary"`. */
  protected get task(): Task {
    return this.options.task ?? "binary";
  }

  /** Network outputs: `numClasses` (default 3) for multiclass, else 1. */
  protected outDim(): number {
    return this.task === "multiclass" ? (this.options.numClasses ?? 3) : 1;
  }

  /** Shape of one sample for a matrix with `cols` columns. */
  protected shapeFor(cols: number): number[] {
    const t = this.options.timesteps;
    if (t === undefined) return [cols];
    if (cols % t !== 0) {
      throw new ConfigError(
        `${this.kind}: ${cols} columns is not a multiple of timesteps = ${t}; build rows with slidingWindows`,
      );
    }
    return [t, cols / t];
  }

  /** Preprocesses inputs before they reach the network (identity; wavelet denoising overrides). */
  protected transformInputs(X: Matrix): Matrix {
    return X;
  }

  /**
   * Converts X, y and sample weights into the loop's dataset: ConfigError on a row/target count mismatch or a label
   * outside 0..K−1 (classification); subtracts `targetOffset` from regression targets; applies `transformInputs` and
   * the sample shape.
   */
  protected toDataset(X: Matrix, y: Target, w?: Float32Array, what = "training data"): ArrayDataset {
    assertMatrix(X, what);
    if (y.length !== X.rows) throw new ConfigError(`${what}: ${X.rows} rows but ${y.length} targets`);
    const yy = Float32Array.from(y, (v) => v - (this.task === "regression" ? this.targetOffset : 0));
    if (this.task !== "regression") {
      const k = this.outDim() === 1 ? 2 : this.outDim();
      for (let i = 0; i < yy.length; i++) {
        if (!(Number.isInteger(yy[i]) && yy[i] >= 0 && yy[i] < k)) {
          throw new ConfigError(`${what}: label ${y[i]} at row ${i} is not a class index in 0..${k - 1}`);
        }
      }
    }
    return { x: this.transformInputs(X).data, sampleShape: this.shapeFor(X.cols), y: yy, weight: w };
  }

  /**
   * The task's loss on a batch: cross-entropy with class weights, label smoothing and sample weights for
   * classification; the selected regression loss (default MSE), plus the anti-collapse penalties when configured.
   */
  protected mainLoss(pred: tf.Tensor, batch: TrainBatch, cw: number[] | undefined): LossResult {
    const o = this.options;
    if (this.task !== "regression") {
      return crossEntropy(pred, batch.y as tf.Tensor1D, {
        classWeights: cw,
        labelSmoothing: o.labelSmoothing,
        sampleWeight: batch.weight,
      });
    }
    let base: LossResult;
    switch (o.loss ?? "mse") {
      case "mse":
        base = mse(pred, batch.y, batch.weight);
        break;
      case "huber":
        base = huber(pred, batch.y, o.huberDelta ?? 1, batch.weight);
        break;
      case "directional-mse":
        base = directionalMse(pred, batch.y, batch.weight);
        break;
      case "directional-huber":
        base = directionalHuber(pred, batch.y, o.huberDelta ?? 1, 1, batch.weight);
        break;
      case "balanced-directional":
        base = balancedDirectionalLoss(pred, batch.yValues);
        break;
    }
    return o.antiCollapse ? antiCollapse(base, pred, o.antiCollapse) : base;
  }

  /** Trains the model (see the module doc); records backend, history and diagnostics in the report. */
  async fit(X: Matrix, y: Target, opts: FitOptions = {}): Promise<FitReport> {
    const t0 = performance.now();
    this.backend = await initBackend(this.options.backend);
    const o = this.options;
    const seed = opts.seed ?? o.seed ?? 42;
    if (X.rows === 0) {
      throw new ConfigError(`${this.kind}: training data is empty (0 rows): check the fold's training window`);
    }
    if (this.task === "regression" && o.demean) {
      let s = 0;
      for (let i = 0; i < y.length; i++) s += y[i];
      this.targetOffset = s / y.length;
    } else this.targetOffset = 0;
    const data = this.toDataset(X, y, opts.sampleWeight);
    const validation = opts.validation
      ? this.toDataset(opts.validation.X, opts.validation.y, opts.validation.sampleWeight, "validation data")
      : undefined;
    let cw: number[] | undefined;
    if (this.task !== "regression" && o.classWeights !== undefined) {
      if (o.classWeights === "balanced") {
        const w = classWeights(data.y, "balanced");
        cw = Array.from({ length: Math.max(2, this.outDim()) }, (_, k) => w[k] ?? 0);
      } else cw = o.classWeights;
    }
    const trainable = this.buildTrainable(data.sampleShape, cw, seed, data.weight !== undefined);
    const trainOpts: TrainOptions = {
      epochs: o.epochs ?? 20,
      batchSize: o.batchSize ?? 64,
      learningRate: o.learningRate ?? 1e-3,
      schedule: o.schedule,
      clipNorm: o.clipNorm,
      validation,
      validationBatchSize: o.validationBatchSize,
      earlyStopping: validation ? o.earlyStopping : undefined,
      seed,
      progress: o.progress ?? "auto",
      monitors: forecastMonitors(o.monitors, this.targetOffset),
      ...(o.weightDecay ? { adam: { weightDecay: o.weightDecay } } : {}),
      checkpoint: o.checkpoint,
      resumeFrom: o.resumeFrom,
      stopAfterEpochs: o.stopAfterEpochs,
      workers: o.workers ?? "auto",
      onEpochEnd: opts.onProgress
        ? (r) => opts.onProgress!(r.epoch / (o.epochs ?? 20), `epoch ${r.epoch} loss ${r.trainLoss.toPrecision(4)}`)
        : undefined,
    };
    const result = await train(trainable, data, trainOpts);
    // Backends that read only asynchronously (WebGPU) keep a host copy of the weights for predict and save.
    await cacheOnHost([...this.params!.trainable, ...this.params!.state].map(([, v]) => v));
    this.lastTrain = result;
    this.history = result.history;
    this.events = result.events;
    const notes = result.events.map((e) => e.message);
    if (this.backend.fallbacks.length > 0) notes.push(`backend fallbacks: ${this.backend.fallbacks.join(" | ")}`);
    return {
      model: this.kind,
      bestIteration: result.bestEpoch,
      seconds: (performance.now() - t0) / 1000,
      notes,
      details: {
        backend: this.backend.name,
        backendRequested: this.backend.requested,
        backendPatches: this.backend.patches,
        ...(this.backend.adapter === undefined ? {} : { backendAdapter: this.backend.adapter }),
        workers: result.workers,
        workersNote: result.workersNote,
        stopReason: result.stopReason,
        classWeights: cw,
        targetOffset: this.targetOffset,
        history: result.history,
        events: result.events,
      },
    };
  }

  /**
   * Creates fresh parameters (seeded) and the network, and returns the training loop's view of them. `weighted`:
   * the training data has sample weights (decides whether the loss is a mean the workers can split).
   */
  protected buildTrainable(
    sampleShape: number[],
    cw: number[] | undefined,
    seed: number,
    weighted: boolean,
  ): Trainable {
    this.dispose();
    this.params = new ParamStore(seed);
    this.sampleShape = sampleShape;
    const net = this.buildNetwork(this.params, sampleShape, this.outDim());
    this.network = net;
    const params = this.params;
    return {
      namedVariables: () => params.trainable,
      namedState: () => params.state,
      forward: (batch, training) => {
        const out = net.forward(batch.x, training);
        const pred = this.outDim() === 1 ? tf.reshape(out, [-1]) : out;
        const main = this.mainLoss(pred, batch, cw);
        const aux = net.auxLoss?.(batch.x, batch, training);
        if (training) net.afterStep?.();
        if (aux === undefined || Object.keys(aux).length === 0) return { loss: main, pred };
        const total = tf.addN([main.total, ...Object.values(aux)]) as tf.Scalar;
        // Auxiliary terms enter the total as they are (weight 1: a head's term already includes its multiplier).
        const weights = { ...main.weights, ...Object.fromEntries(Object.keys(aux).map((k) => [k, 1])) };
        return { loss: { total, components: { ...main.components, ...aux }, weights }, pred };
      },
      dataParallel: (): DataParallelSupport | string => {
        const why = this.dataParallelBlocker(weighted);
        if (why !== undefined) return why;
        const options: Record<string, unknown> = { ...this.options };
        for (const k of NOT_REPLICATED) delete options[k];
        const args: ReplicaArgs = {
          kind: this.kind,
          options,
          sampleShape,
          classWeights: cw,
          seed,
          backend: this.backend?.name ?? "wasm",
        };
        const steps = sampleShape.length >= 2 ? sampleShape[0] : 1;
        return {
          replica: { module: new URL("./replica.ts", import.meta.url).href, args },
          // Each weight is used about once per sample and time step in the forward pass.
          workPerSample: params.trainable.reduce((a, [, v]) => a + v.size, 0) * steps,
          // Every loss accepted by dataParallelBlocker is Σ wᵢℓᵢ / Σ wᵢ with wᵢ = classWeight[yᵢ] · sampleWeightᵢ
          // (1 when absent), so a shard weighs Σ wᵢ over its rows.
          shardWeight: (y, w) => {
            let total = 0;
            for (let i = 0; i < y.length; i++) {
              const c = cw !== undefined && this.task !== "regression" ? cw[y[i]] : 1;
              total += c * (w !== undefined ? w[i] : 1);
            }
            return total;
          },
        };
      },
    };
  }

  /**
   * Why this model's loss cannot be split across workers, or undefined when it is a per-sample weighted mean (the
   * condition for data-parallel gradients to equal the whole batch's). Subclasses add their own reasons.
   */
  protected dataParallelBlocker(_weighted: boolean): string | undefined {
    const o = this.options;
    if (o.antiCollapse !== undefined) return "the anti-collapse penalty uses the whole batch's prediction spread";
    if (this.task === "regression" && o.loss === "balanced-directional") {
      return "the balanced directional loss weights rows by the whole batch's up/down frequencies";
    }
    return undefined;
  }

  /**
   * Builds this model's training view in a worker (called by lib/models/nn/replica.ts with the main thread's
   * {@link ReplicaArgs}); the worker receives the parameters before each step, so its own initialization is unused.
   */
  replicaTrainable(args: ReplicaArgs): Trainable {
    return this.buildTrainable(args.sampleShape, args.classWeights, args.seed, false);
  }

  /** Raw network outputs `[rows, outDim]` computed in batches. */
  protected outputs(X: Matrix): Float32Array {
    if (this.network === undefined) throw new ConfigError(`${this.kind}: predict called before fit or load`);
    assertMatrix(X, "prediction input");
    const shape = this.shapeFor(X.cols);
    const size = shape.reduce((a, b) => a * b, 1);
    const xs = this.transformInputs(X).data;
    const k = this.outDim();
    const out = new Float32Array(X.rows * k);
    const bs = 512;
    // On WebGPU (no synchronous reads under Deno) prediction runs on the cpu backend with the trained weights.
    return withReadableBackend(() => {
      for (let s = 0; s < X.rows; s += bs) {
        const e = Math.min(X.rows, s + bs);
        const t = tf.tidy(() => {
          const x = tf.tensor(xs.subarray(s * size, e * size), [e - s, ...shape]);
          const o = this.network!.forward(x, false);
          return k === 1 ? (this.task === "binary" ? tf.sigmoid(o) : o) : tf.softmax(o);
        });
        out.set(t.dataSync() as Float32Array, s * k);
        t.dispose();
      }
      return out;
    });
  }

  /** One value per row: P(class 1) (binary), the predicted value (regression), the argmax class (multiclass). */
  predict(X: Matrix): Float64Array {
    const out = this.outputs(X);
    const k = this.outDim();
    if (k === 1) return Float64Array.from(out, (v) => v + this.targetOffset);
    const res = new Float64Array(X.rows);
    for (let i = 0; i < X.rows; i++) {
      let best = 0;
      for (let j = 1; j < k; j++) if (out[i * k + j] > out[i * k + best]) best = j;
      res[i] = best;
    }
    return res;
  }

  /** Class probabilities `[rows × numClasses]`, row-major (multiclass), or `[rows]` P(class 1) (binary). */
  predictProba(X: Matrix): Float32Array {
    return this.outputs(X);
  }

  describe(): Record<string, unknown> {
    const o = { ...this.options } as Record<string, unknown>;
    delete o.monitors;
    if (this.options.schedule) o.schedule = this.options.schedule.state();
    return {
      kind: this.kind,
      ...o,
      ...this.hyperParameters(),
      backend: this.backend?.name,
      targetOffset: this.targetOffset,
    };
  }

  /** Writes `model.json` (description, sample shape, weights) into the folder `path`. */
  save(path: string): Promise<void> {
    if (this.params === undefined) throw new ConfigError(`${this.kind}: nothing to save, fit first`);
    mkdirSync(path, { recursive: true });
    writeFileSync(
      join(path, "model.json"),
      JSON.stringify({
        format: "candor-nn/1",
        description: this.describe(),
        sampleShape: this.sampleShape,
        targetOffset: this.targetOffset,
        weights: this.params.snapshot(),
      }),
    );
    return Promise.resolve();
  }

  /** Loads weights saved by {@link NeuralModel.save} into this (identically configured) model. */
  async loadWeights(path: string): Promise<void> {
    const saved = JSON.parse(readFileSync(join(path, "model.json"), "utf8"));
    if (saved.format !== "candor-nn/1") throw new ConfigError(`${path}/model.json is not a candor neural model`);
    if (saved.description.kind !== this.kind) {
      throw new ConfigError(`${path} holds a ${saved.description.kind} model, not ${this.kind}`);
    }
    this.backend = await initBackendForLoad(this.options.backend);
    this.dispose();
    this.params = new ParamStore(this.options.seed ?? 42);
    this.sampleShape = saved.sampleShape;
    this.network = this.buildNetwork(this.params, saved.sampleShape, this.outDim());
    this.params.load(saved.weights);
    this.targetOffset = saved.targetOffset;
  }

  dispose(): void {
    this.params?.dispose();
    this.params = undefined;
    this.network = undefined;
  }
}

/** Reads the options stored in a saved model folder (for the subclasses' static `load`). */
export function readSavedOptions(path: string): Record<string, unknown> {
  const saved = JSON.parse(readFileSync(join(path, "model.json"), "utf8"));
  // The schedule is stored as its state for the record; a reloaded model is for prediction (refit with a new one).
  const options = { ...saved.description };
  delete options.schedule;
  return options;
}

/**
 * Builds sequence rows: row i of the result holds rows `i − T + 1 … i` of `X` (oldest first, flattened time-major),
 * for every i with a full window inside its group. `groups` (e.g. symbols, one label per row, rows of a group
 * contiguous and in date order) keeps windows from crossing groups. Returns the windows and, per window, the index of
 * its last row (use it to align targets, dates and symbols).
 */
export function slidingWindows(X: Matrix, timesteps: number, groups?: ArrayLike<string | number>): {
  X: Matrix;
  rowIndex: Uint32Array;
} {
  assertMatrix(X);
  if (!(timesteps >= 1)) throw new ConfigError(`timesteps must be ≥ 1, got ${timesteps}`);
  const ends: number[] = [];
  let runStart = 0;
  for (let i = 0; i < X.rows; i++) {
    if (groups !== undefined && i > 0 && groups[i] !== groups[i - 1]) runStart = i;
    if (i - runStart + 1 >= timesteps) ends.push(i);
  }
  const c = X.cols;
  const data = new Float32Array(ends.length * timesteps * c);
  ends.forEach((e, j) => data.set(X.data.subarray((e - timesteps + 1) * c, (e + 1) * c), j * timesteps * c));
  return { X: { data, rows: ends.length, cols: timesteps * c }, rowIndex: Uint32Array.from(ends) };
}

/**
 * Monitors see what the model forecasts, not the network's raw output: with target de-meaning the network predicts
 * y − mean, so its outputs are shifted back by the training mean (and the targets with them) before a monitor judges
 * them. Otherwise a regressor whose forecasts are 99.9 % "up" was reported as 99 % negative by the sign-bias monitor.
 */
function forecastMonitors(monitors: TrainingMonitor[] | undefined, offset: number): TrainingMonitor[] | undefined {
  if (monitors === undefined || offset === 0) return monitors;
  return monitors.map((m) => ({
    name: m.name,
    onEpochEnd: (ctx: EpochContext) =>
      m.onEpochEnd({
        ...ctx,
        predictions: ctx.predictions.map((p) => p + offset),
        targets: ctx.targets.map((t) => t + offset),
      }),
    events: () => m.events(),
    ...(m.stopRequested === undefined ? {} : { stopRequested: () => m.stopRequested!() }),
  }));
}
