/**
 * The training loop shared by every neural model.
 *
 * Per step: build the batch tensors from Float32Arrays → forward → loss → backward → global-norm clipping (the
 * pre-clip norm and whether it was clipped are recorded) → optimizer step (Adam on the flat parameter vector, adam.ts) → learning rate from the schedule.
 * Per epoch: validation loss in batches (batch size chosen so there are at least two batches), monitors
 * (lib/diagnostics plugs in here), early stopping, checkpoint.
 *
 * Failure handling, by design:
 * - empty training or validation data, NaN/Inf in inputs or targets: a ConfigError *before* training starts;
 * - a non-finite loss or gradient norm during training (the NaN/Inf sentinel): the step is not applied, training stops,
 *   the weights of the last finite epoch are restored and a `non-finite` diagnostic is recorded — it never throws;
 * - resuming from a checkpoint restores weights, Adam slots, schedule, shuffling RNG and early-stopping state, so the
 *   resumed run is bit-identical to an uninterrupted one on the same backend (tests/training/loop_test.ts).
 *
 * Datasets stay in Float32Arrays; tensors exist only per batch (the wasm heap is 32-bit).
 *
 * @module
 */

import * as tf from "@tensorflow/tfjs-core";
// tfjs-core's node bundle registers no gradients and its ESM gradient modules do not resolve under Deno (extensionless
// imports); the @tensorflow/tfjs bundle registers them all in the global registry shared by every tfjs module.
import "@tensorflow/tfjs";
import { ConfigError } from "../errors.ts";
import { type Checkpoint, decodeFloat32, encodeFloat32, readCheckpoint, writeCheckpoint } from "./checkpoint.ts";
import type { LossCounters, LossResult } from "./losses.ts";
import { type ProgressSetting, type ProgressStream, TrainingProgress } from "./progress.ts";
import { SeededRandom } from "./rng.ts";
import { type AdamOptions, FlatAdam } from "./adam.ts";
import { constantSchedule, type Schedule, type ScheduleState } from "./schedules.ts";
import { type DataParallelSupport, GradientPool } from "./data_parallel.ts";

/** A dataset held in typed arrays: `n` samples, each of shape `sampleShape`, targets `n × yWidth`. */
export interface ArrayDataset {
  /** Row-major samples: `n · prod(sampleShape)` values. */
  x: Float32Array;
  /** Shape of one sample, e.g. `[features]` or `[steps, features]`. */
  sampleShape: number[];
  /** Targets, `n · yWidth` values (class indices as floats, or regression values). */
  y: Float32Array;
  /** Target columns per sample (default 1). */
  yWidth?: number;
  /** Optional per-sample weights (length n). */
  weight?: Float32Array;
}

/** One batch as handed to a {@link Trainable}. Tensors are disposed by the loop. */
export interface TrainBatch {
  /** Samples, shape `[b, ...sampleShape]`. */
  x: tf.Tensor;
  /** Targets, shape `[b]` (yWidth 1) or `[b, yWidth]`. */
  y: tf.Tensor;
  /** Sample weights `[b]` when the dataset has them. */
  weight?: tf.Tensor1D;
  /** The same targets as a Float32Array, for off-tape computations (masks, signs, class frequencies). */
  yValues: Float32Array;
  /** The sample weights as a Float32Array, when the dataset has them. */
  weightValues?: Float32Array;
  /** Loss counters (e.g. batches with no valid targets), accumulated per epoch. */
  counters: LossCounters;
}

/** What a model exposes to the loop. */
export interface Trainable {
  /** Trainable variables with stable logical names (used in checkpoints). */
  namedVariables(): Array<[string, tf.Variable]>;
  /** Non-trainable state saved with the weights (e.g. batch-norm running statistics). */
  namedState?(): Array<[string, tf.Variable]>;
  /**
   * Forward pass and loss on a batch. `pred` is `[b]` or `[b, k]`; monitors see it summarized per row (see
   * {@link EpochContext.predictions}).
   */
  forward(batch: TrainBatch, training: boolean): { loss: LossResult; pred: tf.Tensor };
  /**
   * How to train this model data-parallel (a replica recipe for workers and the shard weight of its loss), or a
   * sentence saying why it cannot be (e.g. "batch normalization uses whole-batch statistics"). Absent: one thread.
   */
  dataParallel?(): DataParallelSupport | string;
}

/** Per-epoch record (JSON-serializable); the loss components are batch-size-weighted means. */
export interface TrainingEpoch {
  /** 1-based epoch. */
  epoch: number;
  /**
   * Mean training loss per sample over the epoch's steps (each step's batch loss weighted by its row count), measured
   * as the weights moved, not re-evaluated at the epoch's end.
   */
  trainLoss: number;
  /**
   * Mean validation loss per sample, evaluated after the epoch's last step without gradients; undefined without
   * validation data.
   */
  valLoss?: number;
  /** Training loss components by name (e.g. `ce`, `mse`, `direction`), per-sample means weighted like `trainLoss`. */
  components: Record<string, number>;
  /** Validation loss components by name, per-sample means; undefined without validation data. */
  valComponents?: Record<string, number>;
  /** Learning rate of the epoch's last step. */
  lr: number;
  /** Pre-clip global gradient norm statistics over the epoch's steps. */
  gradNorm: { mean: number; median: number; max: number };
  /** Fraction of steps whose gradient was clipped. */
  clipRatio: number;
  /** Optimizer steps taken in the epoch (ceil(n / batchSize)). */
  steps: number;
  /** Batches whose targets were all masked (loss 0 by convention). */
  noValidTargets: number;
  /** Wall-clock seconds of the epoch's steps plus its validation pass (monitors and checkpoint excluded). */
  seconds: number;
}

/** A diagnostic event recorded by the loop or a monitor. */
export interface TrainingEvent {
  /** 1-based epoch the event belongs to (shifted by `epochOffset` when set). */
  epoch: number;
  /** 1-based step within the epoch, for events raised mid-epoch (the non-finite sentinel). */
  step?: number;
  /**
   * Machine-readable category, e.g. `non-finite`, `variance-collapse`, `sign-bias`, `gradient-explosion`, `clipping`,
   * `loss-imbalance`.
   */
  kind: string;
  /** One-line, human-readable description with the numbers that triggered it. */
  message: string;
}

/** What a monitor sees at the end of each epoch. */
export interface EpochContext {
  /** The epoch's record, as appended to the history. */
  record: TrainingEpoch;
  /**
   * What the model predicts on the validation data (else on the training data, in order), one value per row: the raw
   * output for single-output models (binary logit, regression value); for models with k > 1 outputs (multiclass
   * logits), the margin between the largest and the second-largest output — the confidence of the decision, constant
   * when the network has collapsed to one output vector. Class balance is in {@link EpochContext.classShares}.
   */
  predictions: Float32Array;
  /**
   * Models with k > 1 outputs: the share of rows whose largest output is class c (index c), e.g. `[0, 0, 1]` for a
   * 3-class model that always predicts class 2. Undefined for single-output models.
   */
  classShares?: number[];
  /** Matching targets (first column). */
  targets: Float32Array;
  /** Pre-clip gradient norms of every step of this epoch. */
  stepGradNorms: number[];
  /** Whether each step was clipped. */
  stepClipped: boolean[];
}

/** A per-epoch observer (the monitors of lib/diagnostics implement it). */
export interface TrainingMonitor {
  /** Short identifier of the monitor, e.g. `"variance-collapse"`. */
  readonly name: string;
  /**
   * Called once after every completed epoch (not after an epoch stopped by the non-finite sentinel), after validation
   * and before early stopping.
   */
  onEpochEnd(ctx: EpochContext): void;
  /** Events found so far. */
  events(): TrainingEvent[];
}

/** Options of {@link train}. */
export interface TrainOptions {
  /** Total epochs to train (≥ 0, integer); also the horizon schedules are built for. */
  epochs: number;
  /**
   * Training rows per optimizer step (default 32, capped at the dataset size); the last batch of an epoch may be
   * smaller.
   */
  batchSize?: number;
  /** Constant learning rate when no schedule is given (default 1e-3). */
  learningRate?: number;
  /** Learning-rate schedule, queried before every step at the fractional epoch; overrides `learningRate`. */
  schedule?: Schedule;
  /** Adam β1, β2, ε (PyTorch defaults 0.9, 0.999, 1e-8). */
  adam?: AdamOptions;
  /** Global-norm clipping threshold; undefined = no clipping (norms are still recorded). */
  clipNorm?: number;
  /**
   * Held-out data evaluated after every epoch; its loss drives early stopping, plateau schedules and the monitors (else
   * the training loss and training rows do).
   */
  validation?: ArrayDataset;
  /** Validation batch size; default min(batchSize·4, ceil(n/2)) so there are always at least two batches. */
  validationBatchSize?: number;
  /**
   * Stop after `patience` epochs without the monitored loss improving by more than `minDelta` (default 0);
   * `restoreBest` (default true) then reloads the best epoch's weights.
   */
  earlyStopping?: { patience: number; minDelta?: number; restoreBest?: boolean };
  /** Seed of the shuffling RNG (default 42); weight initialization is seeded by the model. */
  seed?: number;
  /** Shuffle the training rows every epoch (default true); `false` keeps dataset order. */
  shuffle?: boolean;
  /** Write a checkpoint to `dir` every `everyEpochs` (default 1) epochs. */
  checkpoint?: { dir: string; everyEpochs?: number };
  /**
   * Resume from a checkpoint folder written by a previous run with the same model and options. Weights, optimizer,
   * schedule, shuffling RNG, early-stopping state and history are restored; monitors are not (they are plain objects
   * the caller owns, not part of the checkpoint): pass fresh monitors and read their verdicts as covering the resumed
   * epochs only, or keep the same monitor objects alive across the interruption.
   */
  resumeFrom?: string;
  /** Stop after this many epochs in this call (checkpoint tests, time budgets); `epochs` still drives schedules. */
  stopAfterEpochs?: number;
  /** Whether to draw a progress bar (default `"auto"`: only on a terminal). */
  progress?: ProgressSetting;
  /** Where the progress bar is drawn (default stderr). */
  progressStream?: ProgressStream;
  /**
   * Observers called at the end of every epoch (see lib/diagnostics); their events are appended to {@link
   * TrainResult.events} at the end.
   */
  monitors?: TrainingMonitor[];
  /** Callback with every epoch's record, after the monitors. */
  onEpochEnd?: (r: TrainingEpoch) => void;
  /**
   * Gradient threads: the main thread plus `workers − 1` Web Workers, each computing the gradient of one shard of
   * every batch (lib/training/data_parallel.ts). Default 1. `"auto"` uses min(2, navigator.hardwareConcurrency) when
   * the model supports it (see {@link Trainable.dataParallel}), the backend is single-threaded (wasm, cpu) and
   * each thread's shard holds at least {@link MIN_AUTO_SHARD} rows and {@link MIN_AUTO_WORK} multiply-adds of forward
   * pass (smaller shards lose more to waking and waiting than they gain); otherwise 1, with the reason in
   * {@link TrainResult.workersNote}. An explicit number > 1 that the model cannot honour is a ConfigError.
   */
  workers?: number | "auto";
  /** Milliseconds a worker may take to start, and to return one shard's gradient (default 120 000). */
  workerTimeoutMs?: number;
  /**
   * Added to every epoch number the run reports (records, events, monitors, {@link TrainResult.bestEpoch}), for callers
   * that train one model in several calls and want one numbering, e.g. NOTEARS's augmented-Lagrangian rounds (round 2
   * of 50-epoch rounds reports epochs 51–100). Schedules, checkpoints and `stopAfterEpochs` still count this call's
   * epochs from 0. Default 0.
   */
  epochOffset?: number;
}

/** Smallest shard (rows per gradient thread) for which `workers: "auto"` splits a batch. */
export const MIN_AUTO_SHARD = 64;

/**
 * Smallest shard work (forward-pass multiply-adds, {@link DataParallelSupport.workPerSample} × rows) for which
 * `workers: "auto"` splits a batch. Measured on 2 cores: the LSTM benchmark's 128-row shards (~170 M) gain ~1.8× on
 * an idle machine; the MLP benchmark's (~2.5 M, ~1.5 ms each) gain ~5 % idle and lose ~30 % when another process
 * holds a core, because every step waits for the slower thread.
 */
export const MIN_AUTO_WORK = 20e6;

/** Why training ended. */
export type StopReason = "completed" | "early-stopping" | "non-finite" | "stop-after";

/** The result of {@link train}. */
export interface TrainResult {
  /**
   * One record per completed epoch, in order (for a resumed run, the checkpoint's history followed by this call's
   * epochs).
   */
  history: TrainingEpoch[];
  /** Why training ended: all epochs run, early stopping, the non-finite sentinel, or `stopAfterEpochs`. */
  stopReason: StopReason;
  /** 1-based epoch whose weights the model holds at the end (best epoch when restored). */
  bestEpoch: number;
  /** Diagnostics: the loop's own (non-finite sentinel) followed by every monitor's events. */
  events: TrainingEvent[];
  /** Wall-clock seconds of the whole call, including validation, monitors, checkpoints and worker start-up. */
  seconds: number;
  /** Gradient threads used (1 = the main thread only). */
  workers: number;
  /** Why fewer gradient threads than requested were used (`workers: "auto"`). */
  workersNote?: string;
}

/** Gradient threads for a run, and the data-parallel support when more than one (see {@link TrainOptions.workers}). */
export function resolveWorkers(
  model: Trainable,
  requested: number | "auto" | undefined,
  batchSize: number,
  backendName: string,
): { threads: number; support?: DataParallelSupport; note?: string } {
  const req = requested ?? 1;
  if (req !== "auto" && !(Number.isInteger(req) && req >= 1)) {
    throw new ConfigError(`workers must be a positive integer or "auto", got ${JSON.stringify(req)}`);
  }
  if (req === 1) return { threads: 1 };
  const s = model.dataParallel?.() ?? "the model provides no replica recipe for workers";
  const cores = typeof navigator !== "undefined" ? navigator.hardwareConcurrency ?? 1 : 1;
  let why: string | undefined;
  if (typeof s === "string") why = s;
  else if (backendName === "tensorflow" || backendName === "webgl" || backendName === "webgpu") {
    why = `the ${backendName} backend is multi-threaded or on a GPU already`;
  }
  const threads = req === "auto" ? Math.min(2, cores) : req;
  if (why === undefined && req === "auto") {
    if (threads < 2) why = `${cores} CPU core(s) available`;
    else if (batchSize < MIN_AUTO_SHARD * threads) {
      why = `batches of ${batchSize} rows are too small to split (auto needs ≥ ${MIN_AUTO_SHARD} rows per thread)`;
    } else if ((s as DataParallelSupport).workPerSample * Math.floor(batchSize / threads) < MIN_AUTO_WORK) {
      const work = (s as DataParallelSupport).workPerSample * Math.floor(batchSize / threads);
      why = `shards of ${(work / 1e6).toPrecision(2)} M multiply-adds are too small to gain from splitting ` +
        `(auto needs ≥ ${MIN_AUTO_WORK / 1e6} M)`;
    }
  }
  if (why !== undefined) {
    if (req !== "auto") throw new ConfigError(`workers: ${req} requested, but ${why}; use workers: 1 or "auto"`);
    return { threads: 1, note: `one gradient thread: ${why}` };
  }
  return { threads, support: s as DataParallelSupport };
}

function sampleSize(d: ArrayDataset): number {
  return d.sampleShape.reduce((a, b) => a * b, 1);
}

/** Number of samples in a dataset; ConfigError when shapes disagree. */
export function datasetSize(d: ArrayDataset, what = "dataset"): number {
  const s = sampleSize(d);
  const yw = d.yWidth ?? 1;
  if (s <= 0) throw new ConfigError(`${what}: sample shape [${d.sampleShape}] has no elements`);
  const n = d.x.length / s;
  if (!Number.isInteger(n)) throw new ConfigError(`${what}: x has ${d.x.length} values, not a multiple of ${s}`);
  if (d.y.length !== n * yw) throw new ConfigError(`${what}: ${n} samples but ${d.y.length / yw} target rows`);
  if (d.weight !== undefined && d.weight.length !== n) {
    throw new ConfigError(`${what}: ${n} samples but ${d.weight.length} weights`);
  }
  return n;
}

function assertFinite(a: Float32Array, what: string, rowSize: number): void {
  let count = 0, first = -1;
  for (let i = 0; i < a.length; i++) {
    if (!Number.isFinite(a[i])) {
      if (first < 0) first = i;
      count++;
    }
  }
  if (count > 0) {
    throw new ConfigError(
      `${what} contains ${count} NaN/Inf values (first in sample ${
        Math.floor(first / rowSize)
      }): impute or drop them ` +
        `before training a neural model (NaNs propagate into every weight)`,
    );
  }
}

/** Builds the tensors of one batch from the given sample indices. */
export function makeBatch(d: ArrayDataset, idx: ArrayLike<number>, counters: LossCounters): TrainBatch {
  const s = sampleSize(d);
  const yw = d.yWidth ?? 1;
  const b = idx.length;
  const xb = new Float32Array(b * s);
  const yb = new Float32Array(b * yw);
  const wb = d.weight ? new Float32Array(b) : undefined;
  const { x, y } = d;
  // Short rows are copied element by element: a subarray view per row cost more than the copy itself (measured 32 →
  // 18 µs for a batch of 256 rows of 20 features).
  const viaView = s >= 64;
  for (let i = 0; i < b; i++) {
    const r = idx[i];
    if (viaView) xb.set(x.subarray(r * s, (r + 1) * s), i * s);
    else for (let j = 0, from = r * s, to = i * s; j < s; j++) xb[to + j] = x[from + j];
    for (let j = 0; j < yw; j++) yb[i * yw + j] = y[r * yw + j];
    if (wb) wb[i] = d.weight![r];
  }
  return {
    x: tf.tensor(xb, [b, ...d.sampleShape]),
    y: yw === 1 ? tf.tensor1d(yb) : tf.tensor2d(yb, [b, yw]),
    weight: wb ? tf.tensor1d(wb) : undefined,
    yValues: yb,
    weightValues: wb,
    counters,
  };
}

function disposeBatch(b: TrainBatch): void {
  tf.dispose([b.x, b.y, ...(b.weight ? [b.weight] : [])]);
}

/** Validation batch size giving at least two batches when n ≥ 2. */
export function validationBatchSize(n: number, batchSize: number, requested?: number): number {
  const cap = Math.max(1, Math.ceil(n / 2));
  return Math.max(1, Math.min(requested ?? batchSize * 4, cap));
}

interface Evaluation {
  loss: number;
  components: Record<string, number>;
  /** See {@link EpochContext.predictions}. */
  predictions: Float32Array;
  /** See {@link EpochContext.classShares}. */
  classShares?: number[];
  targets: Float32Array;
  noValidTargets: number;
}

/**
 * Row-wise summary of `[b, k]` outputs (k > 1): per row, the margin between the largest and second-largest value,
 * and the index of the largest (first on ties) counted into `counts`.
 */
export function summarizeOutputs(values: Float32Array, k: number, margins: Float32Array, counts: number[]): void {
  for (let i = 0; i < margins.length; i++) {
    let best = 0, top = -Infinity, second = -Infinity;
    for (let j = 0; j < k; j++) {
      const v = values[i * k + j];
      if (v > top) [second, top, best] = [top, v, j];
      else if (v > second) second = v;
    }
    margins[i] = top - second;
    counts[best]++;
  }
}

/** Loss and predictions over a whole dataset in batches (no gradients, no weight updates). */
export function evaluate(model: Trainable, d: ArrayDataset, batchSize: number): Evaluation {
  const n = datasetSize(d);
  const yw = d.yWidth ?? 1;
  const counters: LossCounters = { noValidTargets: 0 };
  const predictions = new Float32Array(n);
  const targets = new Float32Array(n);
  let counts: number[] | undefined;
  let loss = 0;
  const comps: Record<string, number> = {};
  for (let start = 0; start < n; start += batchSize) {
    const end = Math.min(n, start + batchSize);
    const idx = Array.from({ length: end - start }, (_, i) => start + i);
    const batch = makeBatch(d, idx, counters);
    const names: string[] = [];
    let width = 1;
    const packed = tf.tidy(() => {
      const { loss: l, pred } = model.forward(batch, false);
      width = pred.rank === 1 ? 1 : pred.size / pred.shape[0];
      const parts: tf.Tensor[] = [tf.reshape(l.total, [1])];
      for (const [k, v] of Object.entries(l.components)) {
        names.push(k);
        parts.push(tf.reshape(v, [1]));
      }
      parts.push(tf.reshape(tf.cast(pred, "float32"), [-1]));
      return tf.concat(parts);
    });
    const v = packed.dataSync() as Float32Array;
    packed.dispose();
    disposeBatch(batch);
    const b = end - start;
    loss += v[0] * b;
    names.forEach((k, i) => comps[k] = (comps[k] ?? 0) + v[1 + i] * b);
    const out = v.subarray(1 + names.length);
    if (width === 1) predictions.set(out, start);
    else {
      counts ??= new Array<number>(width).fill(0);
      summarizeOutputs(out, width, predictions.subarray(start, end), counts);
    }
    for (let i = 0; i < b; i++) targets[start + i] = d.y[(start + i) * yw];
  }
  for (const k of Object.keys(comps)) comps[k] /= n;
  return {
    loss: loss / n,
    components: comps,
    predictions,
    classShares: counts?.map((c) => c / n),
    targets,
    noValidTargets: counters.noValidTargets,
  };
}

/**
 * Σ aᵢ². A function of its own so that V8 optimizes this loop apart from {@link train}: inside train's body it ran
 * interpreted whenever train was deoptimized at an epoch boundary, costing ~0.6 ms per MLP step (20k gradient values,
 * a 30 % slower epoch).
 */
function sumOfSquares(a: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * a[i];
  return s;
}

function medianOf(xs: number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function snapshot(vars: Array<[string, tf.Variable]>): tf.Tensor[] {
  return vars.map(([, v]) => tf.clone(v));
}

function restore(vars: Array<[string, tf.Variable]>, snap: tf.Tensor[]): void {
  vars.forEach(([, v], i) => v.assign(snap[i]));
}

function serialize(vars: Array<[string, tf.Tensor]>): Record<string, ReturnType<typeof encodeFloat32>> {
  const out: Record<string, ReturnType<typeof encodeFloat32>> = {};
  for (const [name, v] of vars) out[name] = encodeFloat32(v.shape, v.dataSync() as Float32Array);
  return out;
}

function deserializeInto(
  vars: Array<[string, tf.Variable]>,
  saved: Record<string, ReturnType<typeof encodeFloat32>>,
  what: string,
): void {
  for (const [name, v] of vars) {
    const t = saved[name];
    if (t === undefined) throw new ConfigError(`${what}: variable "${name}" missing from the checkpoint`);
    if (t.shape.join("x") !== v.shape.join("x")) {
      throw new ConfigError(`${what}: variable "${name}" has shape [${t.shape}] in the checkpoint, [${v.shape}] here`);
    }
    v.assign(tf.tensor(decodeFloat32(t), t.shape));
  }
}

/**
 * Trains `model` on `data`. Never throws for numerical trouble during training (see the module doc); throws
 * ConfigError for unusable inputs before the first step.
 */
export async function train(model: Trainable, data: ArrayDataset, o: TrainOptions): Promise<TrainResult> {
  const t0 = performance.now();
  if (!tf.engine().backendName) {
    throw new ConfigError(
      "no tfjs backend is initialized: call initBackend() from lib/models/nn/backend.ts before train() (every model's " +
        "fit does this)",
    );
  }
  const n = datasetSize(data, "training data");
  if (n === 0) {
    throw new ConfigError(
      "training data is empty (0 samples): check the fold's training window, the sequence length (each sample needs " +
        "that many past rows) and that rows were not all dropped for missing features",
    );
  }
  assertFinite(data.x, "training inputs", sampleSize(data));
  assertFinite(data.y, "training targets", data.yWidth ?? 1);
  let nVal = 0;
  if (o.validation !== undefined) {
    nVal = datasetSize(o.validation, "validation data");
    if (nVal === 0) {
      throw new ConfigError(
        "validation data is empty (0 samples): pass none, or enlarge the validation tail of the training window",
      );
    }
    assertFinite(o.validation.x, "validation inputs", sampleSize(o.validation));
    assertFinite(o.validation.y, "validation targets", o.validation.yWidth ?? 1);
  }
  if (!(o.epochs >= 0) || !Number.isInteger(o.epochs)) {
    throw new ConfigError(`epochs must be a non-negative integer, got ${o.epochs}`);
  }
  const batchSize = Math.max(1, Math.min(o.batchSize ?? 32, n));
  const valBatch = validationBatchSize(nVal, batchSize, o.validationBatchSize);
  const stepsPerEpoch = Math.ceil(n / batchSize);
  const schedule = o.schedule ?? constantSchedule(o.learningRate ?? 1e-3);
  const vars = model.namedVariables();
  const state = model.namedState?.() ?? [];
  const allVars = [...vars, ...state];
  const optimizer = new FlatAdam(vars.map(([, v]) => v), o.adam);
  let rng = new SeededRandom(o.seed ?? 42);
  let history: TrainingEpoch[] = [];
  const events: TrainingEvent[] = [];
  const es = o.earlyStopping;
  let best = Infinity, bestEpoch = 0, wait = 0;
  const off = o.epochOffset ?? 0;
  /** After a non-finite stop: the (local, 1-based) epoch whose weights were restored. */
  let heldEpoch = 0;
  let bestSnap: tf.Tensor[] | undefined;
  let startEpoch = 0;

  if (o.resumeFrom !== undefined) {
    const c = readCheckpoint(o.resumeFrom);
    deserializeInto(allVars, c.variables, `resume from ${o.resumeFrom}`);
    optimizer.load({
      t: c.optimizer.iterations,
      m: decodeFloat32(c.optimizer.m),
      v: decodeFloat32(c.optimizer.v),
    });
    (schedule as { load?: (s: ScheduleState) => void }).load?.(c.schedule);
    rng = SeededRandom.fromState(c.rng);
    best = c.earlyStopping.best ?? Infinity;
    bestEpoch = c.earlyStopping.bestEpoch;
    wait = c.earlyStopping.wait;
    if (c.bestVariables !== undefined) {
      bestSnap = allVars.map(([name]) => {
        const t = c.bestVariables![name];
        return tf.tensor(decodeFloat32(t), t.shape);
      });
    }
    history = c.history as TrainingEpoch[];
    startEpoch = c.epoch;
  }

  let lastGood = snapshot(allVars);
  const progress = new TrainingProgress(o.progress ?? "auto", o.progressStream);
  progress.start(o.epochs * stepsPerEpoch, startEpoch * stepsPerEpoch);
  let stopReason: StopReason = "completed";
  let lr = schedule.lrAt(startEpoch);
  const lastEpoch = o.stopAfterEpochs !== undefined ? Math.min(o.epochs, startEpoch + o.stopAfterEpochs) : o.epochs;

  const par = resolveWorkers(model, o.workers, batchSize, tf.getBackend());
  const pool = par.support === undefined ? undefined : await GradientPool.open(model, par.support, {
    threads: par.threads,
    maxBatch: batchSize,
    sampleShape: data.sampleShape,
    yWidth: data.yWidth ?? 1,
    startTimeoutMs: o.workerTimeoutMs,
    stepTimeoutMs: o.workerTimeoutMs,
  }).catch((e) => {
    progress.stop();
    tf.dispose(lastGood);
    if (bestSnap) tf.dispose(bestSnap);
    optimizer.dispose();
    throw e;
  });
  try {
    for (let epoch = startEpoch; epoch < lastEpoch; epoch++) {
      const te = performance.now();
      const order = o.shuffle === false ? Uint32Array.from({ length: n }, (_, i) => i) : rng.permutation(n);
      const counters: LossCounters = { noValidTargets: 0 };
      const norms: number[] = [];
      const clipped: boolean[] = [];
      let lossSum = 0;
      const compSum: Record<string, number> = {};
      let nonFinite: TrainingEvent | undefined;
      for (let s = 0; s < stepsPerEpoch; s++) {
        const idx = order.subarray(s * batchSize, Math.min(n, (s + 1) * batchSize));
        lr = schedule.lrAt(epoch + s / stepsPerEpoch);
        let grad: Float32Array, loss: number, norm: number;
        const stepComps: Record<string, number> = {};
        if (pool !== undefined) {
          const r = pool.gradient(data, idx, counters, makeBatch, optimizer.currentParameters());
          grad = r.grad;
          loss = r.loss;
          norm = Math.sqrt(r.sumSquares);
          Object.assign(stepComps, r.components);
        } else {
          const batch = makeBatch(data, idx, counters);
          const names: string[] = [];
          let comps: tf.Tensor[] = [];
          const { value, grads } = tf.variableGrads(() => {
            const { loss } = model.forward(batch, true);
            for (const [k, v] of Object.entries(loss.components)) {
              names.push(k);
              comps.push(tf.keep(v));
            }
            return loss.total;
          }, vars.map(([, v]) => v));
          // Loss, components and the flat gradient read into one vector (Adam and the norm work on it in JS). Each
          // tensor is read directly: a concat on the backend would add a kernel per tensor and one more copy.
          const v = new Float32Array(1 + comps.length + optimizer.size);
          v[0] = value.dataSync()[0];
          comps.forEach((c, i) => v[1 + i] = c.dataSync()[0]);
          let off = 1 + comps.length;
          for (const [, x] of vars) {
            v.set(grads[x.name].dataSync() as Float32Array, off);
            off += x.size;
          }
          tf.dispose([value, ...comps, ...Object.values(grads)]);
          comps = [];
          disposeBatch(batch);
          loss = v[0];
          names.forEach((k, i) => stepComps[k] = v[1 + i]);
          grad = v.subarray(1 + names.length);
          norm = Math.sqrt(sumOfSquares(grad));
        }
        if (!Number.isFinite(loss) || !Number.isFinite(norm)) {
          nonFinite = {
            epoch: off + epoch + 1,
            step: s + 1,
            kind: "non-finite",
            message: `non-finite ${Number.isFinite(loss) ? "gradient norm" : "loss"} at epoch ${
              off + epoch + 1
            }, step ${
              s + 1
            } (loss ${loss}, grad norm ${norm}): step skipped, training stopped, weights of the last finite epoch (${
              off + epoch
            }) restored`,
          };
          break;
        }
        const doClip = o.clipNorm !== undefined && norm > o.clipNorm;
        optimizer.step(grad, lr, doClip ? o.clipNorm! / (norm + 1e-6) : 1);
        norms.push(norm);
        clipped.push(doClip);
        const b = idx.length;
        lossSum += loss * b;
        for (const [k, c] of Object.entries(stepComps)) compSum[k] = (compSum[k] ?? 0) + c * b;
        progress.update(epoch * stepsPerEpoch + s + 1, off + epoch + 1, loss, lr, norm);
      }
      if (nonFinite !== undefined) {
        restore(allVars, lastGood);
        events.push(nonFinite);
        stopReason = "non-finite";
        heldEpoch = epoch;
        break;
      }
      const trainN = norms.length > 0 ? n : 1;
      const components: Record<string, number> = {};
      for (const k of Object.keys(compSum)) components[k] = compSum[k] / trainN;
      // Without validation, predictions on the training rows are only computed when a monitor needs them.
      const needEval = o.validation !== undefined || (o.monitors?.length ?? 0) > 0;
      const ev = needEval
        ? evaluate(
          model,
          o.validation ?? data,
          o.validation ? valBatch : Math.max(batchSize, validationBatchSize(n, batchSize)),
        )
        : {
          loss: NaN,
          components: {},
          predictions: new Float32Array(0),
          targets: new Float32Array(0),
          noValidTargets: 0,
        };
      const record: TrainingEpoch = {
        epoch: off + epoch + 1,
        trainLoss: lossSum / trainN,
        valLoss: o.validation ? ev.loss : undefined,
        components,
        valComponents: o.validation ? ev.components : undefined,
        lr,
        gradNorm: {
          mean: norms.reduce((a, b) => a + b, 0) / Math.max(1, norms.length),
          median: medianOf(norms),
          max: Math.max(...norms),
        },
        clipRatio: clipped.filter(Boolean).length / Math.max(1, clipped.length),
        steps: norms.length,
        noValidTargets: counters.noValidTargets,
        seconds: (performance.now() - te) / 1000,
      };
      history.push(record);
      const monitored = record.valLoss ?? record.trainLoss;
      schedule.onEpochEnd?.(epoch, monitored);
      for (const m of o.monitors ?? []) {
        m.onEpochEnd({
          record,
          predictions: ev.predictions,
          classShares: ev.classShares,
          targets: ev.targets,
          stepGradNorms: norms,
          stepClipped: clipped,
        });
      }
      o.onEpochEnd?.(record);
      // Yield to the event loop between epochs so timers, signals and progress output are serviced.
      await new Promise((resolve) => setTimeout(resolve, 0));
      if (!Number.isFinite(monitored)) {
        events.push({
          epoch: off + epoch + 1,
          kind: "non-finite",
          message:
            `non-finite ${o.validation ? "validation" : "training"} loss at epoch ${off + epoch + 1}: training ` +
            `stopped, weights of epoch ${off + epoch} restored`,
        });
        restore(allVars, lastGood);
        stopReason = "non-finite";
        heldEpoch = epoch;
        break;
      }
      tf.dispose(lastGood);
      lastGood = snapshot(allVars);
      const minDelta = es?.minDelta ?? 0;
      if (monitored < best - minDelta) {
        best = monitored;
        bestEpoch = epoch + 1;
        wait = 0;
        if (es?.restoreBest !== false && es !== undefined) {
          if (bestSnap) tf.dispose(bestSnap);
          bestSnap = snapshot(allVars);
        }
      } else wait++;
      const stopNow = es !== undefined && wait >= es.patience;
      if (o.checkpoint && ((epoch + 1) % (o.checkpoint.everyEpochs ?? 1) === 0 || stopNow || epoch + 1 === lastEpoch)) {
        const os = optimizer.state();
        const c: Checkpoint = {
          format: "candor-checkpoint/1",
          epoch: epoch + 1,
          variables: serialize(allVars),
          optimizer: { iterations: os.t, m: encodeFloat32([os.m.length], os.m), v: encodeFloat32([os.v.length], os.v) },
          schedule: schedule.state(),
          rng: rng.state(),
          earlyStopping: { best: Number.isFinite(best) ? best : null, bestEpoch, wait },
          bestVariables: bestSnap ? serialize(allVars.map(([name], i) => [name, bestSnap![i]])) : undefined,
          history,
        };
        writeCheckpoint(o.checkpoint.dir, c);
      }
      if (stopNow) {
        stopReason = "early-stopping";
        break;
      }
      if (epoch + 1 === lastEpoch && lastEpoch < o.epochs) stopReason = "stop-after";
    }
  } catch (e) {
    // A worker failure (WorkerError) ends the run: release what the loop holds before surfacing it.
    progress.stop();
    tf.dispose(lastGood);
    if (bestSnap) tf.dispose(bestSnap);
    optimizer.dispose();
    throw e;
  } finally {
    pool?.close();
  }
  progress.stop();
  // The history's last record is this call's last epoch (offset included; a resumed history ends at the resume point
  // when this call ran no epoch).
  let finalEpoch = history.length > 0 ? history[history.length - 1].epoch : off;
  if (stopReason === "non-finite") finalEpoch = off + heldEpoch;
  if (es !== undefined && es.restoreBest !== false && bestSnap !== undefined && stopReason !== "stop-after") {
    restore(allVars, bestSnap);
    finalEpoch = off + bestEpoch;
  }
  tf.dispose(lastGood);
  if (bestSnap) tf.dispose(bestSnap);
  optimizer.dispose();
  for (const m of o.monitors ?? []) events.push(...m.events());
  return {
    history,
    stopReason,
    bestEpoch: finalEpoch,
    events,
    seconds: (performance.now() - t0) / 1000,
    workers: par.threads,
    workersNote: par.note,
  };
}
