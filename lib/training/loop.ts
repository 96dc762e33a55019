/**
 * The training loop shared by every neural model.
 *
 * Per step: build the batch tensors from Float32Arrays → forward → loss → backward → global-norm clipping (the
 * pre-clip norm and whether it was clipped are recorded) → optimizer step (Adam on the flat parameter vector, adam.ts)
 * → learning rate from the schedule. Per epoch: validation loss in batches (batch size chosen so there are at least two
 * batches), monitors (lib/diagnostics plugs in here), early stopping, checkpoint.
 *
 * Structure: {@link train} is the script — set up a {@link TrainingRun} (inputs checked, state built or resumed), open
 * the gradient workers, run epochs, finish. A run's epoch is its named steps: `trainSteps` (the optimizer steps),
 * `recordEpoch` (evaluation and the epoch's record), `observe` (schedule, monitors, callback), then the non-finite
 * check, `trackBest` (early stopping) and `checkpoint`. Every gradient, on the main thread alone or on each gradient
 * thread's shard, is computed by trainable.ts's `gradientTensors`.
 *
 * Failure handling, by design:
 * - empty training or validation data, NaN/Inf in inputs or targets: a ConfigError *before* training starts;
 * - a non-finite loss or gradient norm during training (the NaN/Inf sentinel): the step is not applied, training stops,
 *   the weights of the last finite epoch are restored and a `non-finite` diagnostic is recorded — it never throws;
 * - resuming from a checkpoint restores weights, Adam slots, schedule, shuffling RNG and early-stopping state, so the
 *   resumed run is bit-identical to an uninterrupted one on the same backend (tests/training/loop_test.ts).
 *
 * Datasets stay in Float32Arrays; tensors exist only per batch (the wasm heap is 32-bit). On backends that read only
 * asynchronously (WebGPU) every read-back is awaited; elsewhere the steps read synchronously.
 *
 * @module
 */

import { tf } from "./tfjs.ts";
import { ConfigError } from "../errors.ts";
import { type Checkpoint, decodeFloat32, encodeFloat32, readCheckpoint, writeCheckpoint } from "./checkpoint.ts";
import type { LossCounters } from "./losses.ts";
import { type ProgressSetting, type ProgressStream, TrainingProgress } from "./progress.ts";
import { SeededRandom } from "./rng.ts";
import { type AdamOptions, FlatAdam } from "./adam.ts";
import { constantSchedule, type Schedule, type ScheduleState } from "./schedules.ts";
import { GradientPool } from "./data_parallel.ts";
import { evaluate, type Evaluation, validationBatchSize } from "./evaluate.ts";
import {
  type ArrayDataset,
  type BatchGradient,
  type DataParallelSupport,
  datasetSize,
  gradientTensors,
  makeBatch,
  readGradient,
  readGradientAsync,
  readsSynchronously,
  sampleSize,
  type Trainable,
} from "./trainable.ts";

export type { ArrayDataset, Trainable, TrainBatch } from "./trainable.ts";
export { datasetSize, makeBatch } from "./trainable.ts";
export { evaluate, summarizeOutputs, validationBatchSize } from "./evaluate.ts";

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
  /**
   * Training loss components by name (e.g. `ce`, `mse`, `direction`; NOTEARS' `sparsity` = ‖W‖₁), per-sample means
   * weighted like `trainLoss`, as the loss logs them (`LossResult.components`: usually unweighted).
   */
  components: Record<string, number>;
  /**
   * Each component's weight in the loss (`LossResult.weights`), so `trainLoss = Σ_k componentWeights[k] ·
   * components[k]`: the share of the loss a component really is comes from `componentWeights[k] · components[k]`, not
   * from the component alone. When a loss changes a weight within the epoch, the epoch's effective weight
   * Σ n_b·w_b·c_b / Σ n_b·c_b over its steps (b). Absent in records written before weights were logged: read it as
   * every weight 1.
   */
  componentWeights?: Record<string, number>;
  /** Validation loss components by name, per-sample means, with the same weights; undefined without validation data. */
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
  /**
   * Why training should stop after this epoch, or undefined to go on (e.g. a confirmed variance collapse): the loop
   * stops with stop reason `monitor`, keeps the best epoch's weights when early stopping restores them, and records a
   * `monitor-stop` event with this reason.
   */
  stopRequested?(): string | undefined;
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
  /**
   * Milliseconds a worker may take to return one shard's gradient (default 120 000); also the start-up bound unless
   * {@link TrainOptions.workerStartTimeoutMs} is given.
   */
  workerTimeoutMs?: number;
  /**
   * Milliseconds a worker may take to start — load tfjs, compile wasm, load OpenBLAS, build the replica — (default
   * `workerTimeoutMs`, else 120 000). Start-up takes seconds on a busy machine, far longer than a step.
   */
  workerStartTimeoutMs?: number;
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
export type StopReason = "completed" | "early-stopping" | "non-finite" | "stop-after" | "monitor";

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

/** Training and validation sample counts, after checking what must hold before the first step (else ConfigError). */
function checkInputs(data: ArrayDataset, o: TrainOptions): { n: number; nVal: number } {
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
  return { n, nVal };
}

/**
 * Σ aᵢ². A function of its own so that V8 optimizes this loop apart from its caller: inlined into a long function it
 * ran interpreted whenever that function was deoptimized at an epoch boundary, costing ~0.6 ms per MLP step (20k
 * gradient values, a 30 % slower epoch).
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

/** Encodes tensors for a checkpoint, reading them synchronously where the backend can. */
async function serialize(vars: Array<[string, tf.Tensor]>): Promise<Record<string, ReturnType<typeof encodeFloat32>>> {
  const out: Record<string, ReturnType<typeof encodeFloat32>> = {};
  const sync = readsSynchronously();
  for (const [name, v] of vars) {
    out[name] = encodeFloat32(v.shape, (sync ? v.dataSync() : await v.data()) as Float32Array);
  }
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
 * One optimizer step's inputs: the batch loss, its components and their weights, the flat gradient and the gradient's L2
 * norm.
 */
interface StepGradient {
  loss: number;
  components: Record<string, number>;
  weights: Record<string, number>;
  grad: Float32Array;
  norm: number;
}

function stepGradient(g: BatchGradient): StepGradient {
  const v = g.values;
  const components: Record<string, number> = {}, weights: Record<string, number> = {};
  g.names.forEach((name, i) => {
    components[name] = v[1 + i];
    weights[name] = g.weights[i];
  });
  const grad = v.subarray(1 + g.names.length);
  return { loss: v[0], components, weights, grad, norm: Math.sqrt(sumOfSquares(grad)) };
}

/** What an epoch's optimizer steps leave for its record. */
interface EpochSteps {
  /** Pre-clip gradient norm of every applied step. */
  norms: number[];
  /** Whether each applied step was clipped. */
  clipped: boolean[];
  /** Σ batch loss × batch rows, and the same per component. */
  lossSum: number;
  compSum: Record<string, number>;
  /** Σ weight × component × batch rows per component, the last step's weight, and the components whose weight varied. */
  termSum: Record<string, number>;
  lastWeight: Record<string, number>;
  weightVaried: Set<string>;
  counters: LossCounters;
  /** Set when a step's loss or gradient norm was not finite (the step was not applied). */
  nonFinite?: TrainingEvent;
}

function emptyEvaluation(): Evaluation {
  return {
    loss: NaN,
    components: {},
    predictions: new Float32Array(0),
    targets: new Float32Array(0),
    noValidTargets: 0,
  };
}

/** The state one call of {@link train} carries between epochs, and the named steps of an epoch. */
class TrainingRun {
  readonly n: number;
  readonly batchSize: number;
  readonly valBatch: number;
  readonly stepsPerEpoch: number;
  readonly schedule: Schedule;
  readonly vars: tf.Variable[];
  /** Trainable variables then state (batch-norm statistics): what snapshots, restores and checkpoints cover. */
  readonly allVars: Array<[string, tf.Variable]>;
  readonly optimizer: FlatAdam;
  /** Added to every reported epoch number (TrainOptions.epochOffset). */
  readonly off: number;
  readonly progress: TrainingProgress;
  readonly lastEpoch: number;
  startEpoch = 0;
  rng: SeededRandom;
  history: TrainingEpoch[] = [];
  events: TrainingEvent[] = [];
  best = Infinity;
  bestEpoch = 0;
  wait = 0;
  /** After a non-finite stop: the (local, 1-based) epoch whose weights were restored. */
  heldEpoch = 0;
  bestSnap?: tf.Tensor[];
  lastGood: tf.Tensor[];
  stopReason: StopReason = "completed";
  lr: number;
  workers: { threads: number; support?: DataParallelSupport; note?: string } = { threads: 1 };
  /** Reused for every step's gradient read (its values are consumed within the step). */
  gradBuffer?: Float32Array;
  pool?: GradientPool;

  constructor(readonly model: Trainable, readonly data: ArrayDataset, readonly o: TrainOptions) {
    const { n, nVal } = checkInputs(data, o);
    this.n = n;
    this.batchSize = Math.max(1, Math.min(o.batchSize ?? 32, n));
    this.valBatch = validationBatchSize(nVal, this.batchSize, o.validationBatchSize);
    this.stepsPerEpoch = Math.ceil(n / this.batchSize);
    this.schedule = o.schedule ?? constantSchedule(o.learningRate ?? 1e-3);
    const trainable = model.namedVariables();
    this.vars = trainable.map(([, v]) => v);
    this.allVars = [...trainable, ...(model.namedState?.() ?? [])];
    this.optimizer = new FlatAdam(this.vars, o.adam);
    this.rng = new SeededRandom(o.seed ?? 42);
    this.off = o.epochOffset ?? 0;
    if (o.resumeFrom !== undefined) this.resume(o.resumeFrom);
    this.lastGood = snapshot(this.allVars);
    this.progress = new TrainingProgress(o.progress ?? "auto", o.progressStream);
    this.progress.start(o.epochs * this.stepsPerEpoch, this.startEpoch * this.stepsPerEpoch);
    this.lr = this.schedule.lrAt(this.startEpoch);
    this.lastEpoch = o.stopAfterEpochs !== undefined
      ? Math.min(o.epochs, this.startEpoch + o.stopAfterEpochs)
      : o.epochs;
  }

  /** Restores weights, optimizer, schedule, shuffling RNG, early-stopping state and history from a checkpoint. */
  resume(dir: string): void {
    const c = readCheckpoint(dir);
    deserializeInto(this.allVars, c.variables, `resume from ${dir}`);
    this.optimizer.load({
      t: c.optimizer.iterations,
      m: decodeFloat32(c.optimizer.m),
      v: decodeFloat32(c.optimizer.v),
    });
    (this.schedule as { load?: (s: ScheduleState) => void }).load?.(c.schedule);
    this.rng = SeededRandom.fromState(c.rng);
    this.best = c.earlyStopping.best ?? Infinity;
    this.bestEpoch = c.earlyStopping.bestEpoch;
    this.wait = c.earlyStopping.wait;
    if (c.bestVariables !== undefined) {
      this.bestSnap = this.allVars.map(([name]) => {
        const t = c.bestVariables![name];
        return tf.tensor(decodeFloat32(t), t.shape);
      });
    }
    this.history = c.history as TrainingEpoch[];
    this.startEpoch = c.epoch;
  }

  /**
   * Resolves the gradient threads and starts the workers; on backends that read only asynchronously, reads the
   * starting parameters for the optimizer. Releases everything on failure.
   */
  async start(): Promise<void> {
    try {
      this.workers = resolveWorkers(this.model, this.o.workers, this.batchSize, tf.getBackend());
      if (this.workers.support !== undefined) {
        this.pool = await GradientPool.open(this.model, this.workers.support, {
          threads: this.workers.threads,
          maxBatch: this.batchSize,
          sampleShape: this.data.sampleShape,
          yWidth: this.data.yWidth ?? 1,
          startTimeoutMs: this.o.workerStartTimeoutMs ?? this.o.workerTimeoutMs,
          stepTimeoutMs: this.o.workerTimeoutMs,
        });
      }
      if (!readsSynchronously()) await this.optimizer.refresh();
    } catch (e) {
      this.closeWorkers();
      this.release();
      throw e;
    }
  }

  /** One epoch: steps, record, observers, then stop checks and checkpoint. Returns whether training continues. */
  async epoch(epoch: number): Promise<boolean> {
    const t0 = performance.now();
    const steps = await this.trainSteps(epoch);
    if (steps.nonFinite !== undefined) {
      this.stopNonFinite(steps.nonFinite, epoch);
      return false;
    }
    const { record, ev } = await this.recordEpoch(epoch, steps, t0);
    const monitored = record.valLoss ?? record.trainLoss;
    this.observe(epoch, record, ev, steps, monitored);
    // Yield to the event loop between epochs so timers, signals and progress output are serviced.
    await new Promise((resolve) => setTimeout(resolve, 0));
    if (!Number.isFinite(monitored)) {
      const e = this.off + epoch + 1;
      this.stopNonFinite({
        epoch: e,
        kind: "non-finite",
        message: `non-finite ${this.o.validation ? "validation" : "training"} loss at epoch ${e}: training stopped, ` +
          `weights of epoch ${this.off + epoch} restored`,
      }, epoch);
      return false;
    }
    tf.dispose(this.lastGood);
    this.lastGood = snapshot(this.allVars);
    const stopNow = this.trackBest(epoch, monitored);
    const asked = (this.o.monitors ?? []).map((m) => m.stopRequested?.()).find((r) => r !== undefined);
    await this.checkpoint(epoch, stopNow || asked !== undefined);
    if (stopNow) {
      this.stopReason = "early-stopping";
      return false;
    }
    if (asked !== undefined) {
      this.stopReason = "monitor";
      const e = this.off + epoch + 1;
      this.events.push({ epoch: e, kind: "monitor-stop", message: `training stopped at epoch ${e}: ${asked}` });
      return false;
    }
    if (epoch + 1 === this.lastEpoch && this.lastEpoch < this.o.epochs) this.stopReason = "stop-after";
    return true;
  }

  /** The epoch's optimizer steps over a fresh shuffle; stops at the first non-finite loss or gradient norm. */
  async trainSteps(epoch: number): Promise<EpochSteps> {
    const { n, batchSize, stepsPerEpoch, o } = this;
    const order = o.shuffle === false ? Uint32Array.from({ length: n }, (_, i) => i) : this.rng.permutation(n);
    const s: EpochSteps = {
      norms: [],
      clipped: [],
      lossSum: 0,
      compSum: {},
      termSum: {},
      lastWeight: {},
      weightVaried: new Set(),
      counters: { noValidTargets: 0 },
    };
    const sync = readsSynchronously();
    for (let step = 0; step < stepsPerEpoch; step++) {
      const idx = order.subarray(step * batchSize, Math.min(n, (step + 1) * batchSize));
      this.lr = this.schedule.lrAt(epoch + step / stepsPerEpoch);
      const g = sync ? this.gradient(idx, s.counters) : await this.gradientAsync(idx, s.counters);
      if (!Number.isFinite(g.loss) || !Number.isFinite(g.norm)) {
        s.nonFinite = this.nonFiniteStep(epoch, step, g);
        break;
      }
      const doClip = o.clipNorm !== undefined && g.norm > o.clipNorm;
      this.optimizer.step(g.grad, this.lr, doClip ? o.clipNorm! / (g.norm + 1e-6) : 1);
      s.norms.push(g.norm);
      s.clipped.push(doClip);
      const b = idx.length;
      s.lossSum += g.loss * b;
      for (const [k, c] of Object.entries(g.components)) {
        const w = g.weights[k] ?? 1;
        s.compSum[k] = (s.compSum[k] ?? 0) + c * b;
        s.termSum[k] = (s.termSum[k] ?? 0) + w * c * b;
        if (s.lastWeight[k] !== undefined && s.lastWeight[k] !== w) s.weightVaried.add(k);
        s.lastWeight[k] = w;
      }
      this.progress.update(epoch * stepsPerEpoch + step + 1, this.off + epoch + 1, g.loss, this.lr, g.norm);
    }
    return s;
  }

  /** A batch's gradient: shards across the gradient threads, or the main thread alone. */
  gradient(idx: Uint32Array, counters: LossCounters): StepGradient {
    if (this.pool !== undefined) {
      const r = this.pool.gradient(this.data, idx, counters, makeBatch, this.optimizer.currentParameters());
      return {
        loss: r.loss,
        components: r.components,
        weights: r.weights,
        grad: r.grad,
        norm: Math.sqrt(r.sumSquares),
      };
    }
    const g = gradientTensors(this.model, this.vars, makeBatch(this.data, idx, counters));
    const read = readGradient(g, this.gradBuffer);
    this.gradBuffer = read.values;
    return stepGradient(read);
  }

  /** {@link TrainingRun.gradient} on a backend that reads asynchronously (one thread: such backends use no workers). */
  async gradientAsync(idx: Uint32Array, counters: LossCounters): Promise<StepGradient> {
    const g = gradientTensors(this.model, this.vars, makeBatch(this.data, idx, counters));
    return stepGradient(await readGradientAsync(g));
  }

  nonFiniteStep(epoch: number, step: number, g: StepGradient): TrainingEvent {
    const e = this.off + epoch + 1;
    return {
      epoch: e,
      step: step + 1,
      kind: "non-finite",
      message: `non-finite ${Number.isFinite(g.loss) ? "gradient norm" : "loss"} at epoch ${e}, step ${step + 1} ` +
        `(loss ${g.loss}, grad norm ${g.norm}): step skipped, training stopped, weights of the last finite epoch ` +
        `(${this.off + epoch}) restored`,
    };
  }

  /** Restores the last finite epoch's weights and ends training with `event`. */
  stopNonFinite(event: TrainingEvent, epoch: number): void {
    restore(this.allVars, this.lastGood);
    this.events.push(event);
    this.stopReason = "non-finite";
    this.heldEpoch = epoch;
  }

  /** Evaluates (validation, else training rows when a monitor needs predictions) and appends the epoch's record. */
  async recordEpoch(epoch: number, s: EpochSteps, t0: number): Promise<{ record: TrainingEpoch; ev: Evaluation }> {
    const { n, batchSize, o } = this;
    const trainN = s.norms.length > 0 ? n : 1;
    const components: Record<string, number> = {}, componentWeights: Record<string, number> = {};
    for (const k of Object.keys(s.compSum)) {
      components[k] = s.compSum[k] / trainN;
      // The declared weight when it was the same on every step (always, for a fixed loss), else the effective one.
      const varied = s.weightVaried.has(k) && s.compSum[k] !== 0;
      componentWeights[k] = varied ? s.termSum[k] / s.compSum[k] : s.lastWeight[k];
    }
    // Without validation, predictions on the training rows are only computed when a monitor needs them.
    const needEval = o.validation !== undefined || (o.monitors?.length ?? 0) > 0;
    const ev = needEval
      ? await evaluate(
        this.model,
        o.validation ?? this.data,
        o.validation ? this.valBatch : Math.max(batchSize, validationBatchSize(n, batchSize)),
      )
      : emptyEvaluation();
    const record: TrainingEpoch = {
      epoch: this.off + epoch + 1,
      trainLoss: s.lossSum / trainN,
      valLoss: o.validation ? ev.loss : undefined,
      components,
      componentWeights,
      valComponents: o.validation ? ev.components : undefined,
      lr: this.lr,
      gradNorm: {
        mean: s.norms.reduce((a, b) => a + b, 0) / Math.max(1, s.norms.length),
        median: medianOf(s.norms),
        max: Math.max(...s.norms),
      },
      clipRatio: s.clipped.filter(Boolean).length / Math.max(1, s.clipped.length),
      steps: s.norms.length,
      noValidTargets: s.counters.noValidTargets,
      seconds: (performance.now() - t0) / 1000,
    };
    this.history.push(record);
    return { record, ev };
  }

  /** The schedule's epoch end (plateau schedules read the monitored loss), the monitors, then the caller's callback. */
  observe(epoch: number, record: TrainingEpoch, ev: Evaluation, s: EpochSteps, monitored: number): void {
    this.schedule.onEpochEnd?.(epoch, monitored);
    for (const m of this.o.monitors ?? []) {
      m.onEpochEnd({
        record,
        predictions: ev.predictions,
        classShares: ev.classShares,
        targets: ev.targets,
        stepGradNorms: s.norms,
        stepClipped: s.clipped,
      });
    }
    this.o.onEpochEnd?.(record);
  }

  /** Early-stopping bookkeeping (best loss, its weights, patience); returns whether to stop now. */
  trackBest(epoch: number, monitored: number): boolean {
    const es = this.o.earlyStopping;
    if (monitored < this.best - (es?.minDelta ?? 0)) {
      this.best = monitored;
      this.bestEpoch = epoch + 1;
      this.wait = 0;
      if (es !== undefined && es.restoreBest !== false) {
        if (this.bestSnap) tf.dispose(this.bestSnap);
        this.bestSnap = snapshot(this.allVars);
      }
    } else this.wait++;
    return es !== undefined && this.wait >= es.patience;
  }

  /** Writes a checkpoint when one is due: every `everyEpochs`, at an early stop and at the call's last epoch. */
  async checkpoint(epoch: number, stopNow: boolean): Promise<void> {
    const c = this.o.checkpoint;
    if (!c || !((epoch + 1) % (c.everyEpochs ?? 1) === 0 || stopNow || epoch + 1 === this.lastEpoch)) return;
    const os = this.optimizer.state();
    const best = this.bestSnap;
    const checkpoint: Checkpoint = {
      format: "candor-checkpoint/1",
      epoch: epoch + 1,
      variables: await serialize(this.allVars),
      optimizer: { iterations: os.t, m: encodeFloat32([os.m.length], os.m), v: encodeFloat32([os.v.length], os.v) },
      schedule: this.schedule.state(),
      rng: this.rng.state(),
      earlyStopping: {
        best: Number.isFinite(this.best) ? this.best : null,
        bestEpoch: this.bestEpoch,
        wait: this.wait,
      },
      bestVariables: best ? await serialize(this.allVars.map(([name], i) => [name, best[i]])) : undefined,
      history: this.history,
    };
    writeCheckpoint(c.dir, checkpoint);
  }

  /** Terminates the gradient workers (idempotent). */
  closeWorkers(): void {
    this.pool?.close();
  }

  /** Stops the progress bar and frees the snapshots and the optimizer (after a failure, or at the end). */
  release(): void {
    this.progress.stop();
    tf.dispose(this.lastGood);
    if (this.bestSnap) tf.dispose(this.bestSnap);
    this.optimizer.dispose();
  }

  /** Restores the best epoch's weights when early stopping asks for it, releases the run and builds the result. */
  finish(seconds: number): TrainResult {
    const { o, off } = this;
    // The history's last record is this call's last epoch (offset included; a resumed history ends at the resume point
    // when this call ran no epoch).
    let finalEpoch = this.history.length > 0 ? this.history[this.history.length - 1].epoch : off;
    if (this.stopReason === "non-finite") finalEpoch = off + this.heldEpoch;
    const es = o.earlyStopping;
    if (
      es !== undefined && es.restoreBest !== false && this.bestSnap !== undefined && this.stopReason !== "stop-after"
    ) {
      restore(this.allVars, this.bestSnap);
      finalEpoch = off + this.bestEpoch;
    }
    this.release();
    for (const m of o.monitors ?? []) this.events.push(...m.events());
    return {
      history: this.history,
      stopReason: this.stopReason,
      bestEpoch: finalEpoch,
      events: this.events,
      seconds,
      workers: this.workers.threads,
      workersNote: this.workers.note,
    };
  }
}

/**
 * Trains `model` on `data`. Never throws for numerical trouble during training (see the module doc); throws
 * ConfigError for unusable inputs before the first step, and WorkerError when a gradient worker fails.
 */
export async function train(model: Trainable, data: ArrayDataset, o: TrainOptions): Promise<TrainResult> {
  const t0 = performance.now();
  const run = new TrainingRun(model, data, o);
  await run.start();
  try {
    for (let epoch = run.startEpoch; epoch < run.lastEpoch; epoch++) {
      if (!(await run.epoch(epoch))) break;
    }
  } catch (e) {
    // A worker failure (WorkerError) ends the run: release what the run holds before surfacing it.
    run.release();
    throw e;
  } finally {
    run.closeWorkers();
  }
  return run.finish((performance.now() - t0) / 1000);
}
