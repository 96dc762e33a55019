/**
 * A NOTEARS-style linear DAG learner (Zheng et al., 2018) trained with the shared training loop.
 *
 * Linear SEM `X = X·W + E` with a zero diagonal. Loss, with every term logged as its own unweighted component beside
 * its weight (`reconstruction`, `sparsity` = ‖W‖₁, `acyclicity` = h(W), `acyclicitySquared` = h(W)²):
 *
 *   `λ_rec · ½·mean_rows ‖x − x·W‖² + λ_sparse · ‖W‖₁ + λ_acyc · (α·h(W) + ½·ρ·h(W)²)`
 *
 * where `h(W) = tr((I + W∘W/d)^d) − d` is the polynomial acyclicity measure of Yu et al. (2019, DAG-GNN): zero iff
 * the weighted graph has no cycle, differentiable with matMuls only (tfjs has no matrix exponential). α and ρ follow
 * NOTEARS' augmented-Lagrangian schedule across `rounds` (dual ascent on α, ρ × 10 when h does not shrink 4×). Inputs are
 * standardized on the training rows by default (`standardize: false` reproduces the classic failure: prices in the
 * thousands give gradient norms in the millions, and clipping fires on every step). After fitting, edges are the
 * entries with |W_ij| above a threshold; {@link NotearsDAG.adaptiveThreshold} picks the threshold maximizing F1 when
 * the true graph is known (simulation studies). The edge count at the default threshold is logged every epoch.
 *
 * As a Model, `predict(X)` returns the SEM's prediction of `targetColumn` (default the last column) from its parents.
 *
 * @module
 */

import { tf } from "../../training/tfjs.ts";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ConfigError } from "../../errors.ts";
import { assertMatrix, type Matrix } from "../../data/matrix.ts";
import type { FitOptions, FitReport, Model, Target } from "../model.ts";
import { train, type TrainingEvent, type TrainingMonitor, type TrainResult } from "../../training/loop.ts";
import type { LossResult } from "../../training/losses.ts";
import type { Schedule, ScheduleState } from "../../training/schedules.ts";
import { type BackendInfo, type BackendRequest, initBackend, initBackendForLoad } from "./backend.ts";
import { ParamStore } from "./params.ts";

/** Options of {@link NotearsDAG}. */
export interface NotearsOptions {
  /** Weight λ_rec of the reconstruction term ½·mean over rows of ‖x − x·W‖², default 1. */
  lambdaReconstruction?: number;
  /** Weight λ_sparse of the L1 penalty ‖W‖₁ that prunes weak edges, default 0.01. */
  lambdaSparsity?: number;
  /** Weight λ_acyc of the augmented-Lagrangian acyclicity term α·h(W) + ½·ρ·h(W)², default 1. */
  lambdaAcyclicity?: number;
  /** Initial quadratic acyclicity weight ρ, default 1; multiplied by 10 after a round that did not shrink h(W) 4×. */
  rho?: number;
  /** Augmented-Lagrangian rounds (dual ascent α ← α + ρ·h between rounds), default 4; `epochs` is split across them. */
  rounds?: number;
  /** Standardize columns on the training rows (default true). */
  standardize?: boolean;
  /** Total epochs over all rounds (default 200), split evenly: round(epochs / rounds) per round, at least 1. */
  epochs?: number;
  /** Rows per optimizer step (default 256). */
  batchSize?: number;
  /** Constant Adam learning rate (default 0.01) when no `schedule` is given. */
  learningRate?: number;
  /**
   * Learning-rate schedule over the whole fit (lib/training/schedules.ts), e.g. `new ReduceLROnPlateau(...)`: one
   * object across every augmented-Lagrangian round, seeing one epoch numbering (a plateau schedule keeps its state
   * from round to round). Overrides `learningRate`.
   */
  schedule?: Schedule;
  /** Global gradient L2-norm clipping threshold; undefined = no clipping (norms are still logged). */
  clipNorm?: number;
  /** |W_ij| above which an entry is an edge, default 0.3. */
  threshold?: number;
  /** 0-based column that `predict` reconstructs from its parents, default the last column. */
  targetColumn?: number;
  /** Shuffling seed (default 42; round r uses seed + r); W starts at zero, so initialization does not depend on it. */
  seed?: number;
  /** tfjs backend to use (`"auto"`, `"tensorflow"`, `"wasm"`, `"cpu"`); default from `TFJS_BACKEND`, else `"auto"`. */
  backend?: BackendRequest;
  /** Progress bar: `true`, `false`, or `"auto"` (default: only on a terminal). */
  progress?: boolean | "auto";
  /**
   * Training monitors; they see every epoch of every round under one epoch numbering, and their events are collected
   * once after the last round.
   */
  monitors?: TrainingMonitor[];
}

/** Precision, recall and F1 of a predicted edge set against the true one (directed edges). */
export interface EdgeScore {
  /** The |W_ij| threshold the edges were cut at. */
  threshold: number;
  /** Number of predicted directed edges (off-diagonal |W_ij| > threshold). */
  edges: number;
  /** Fraction of predicted edges that are true edges (0 when none is predicted). */
  precision: number;
  /** Fraction of true edges that were predicted (0 when the truth has none). */
  recall: number;
  /** Harmonic mean of precision and recall (0 when both are 0). */
  f1: number;
}

/** Scores the directed edges `|W_ij| > threshold` (i ≠ j) against a 0/1 adjacency `truth` (row-major d×d). */
export function scoreEdges(w: ArrayLike<number>, truth: ArrayLike<number>, d: number, threshold: number): EdgeScore {
  let tp = 0, fp = 0, fn = 0;
  for (let i = 0; i < d; i++) {
    for (let j = 0; j < d; j++) {
      if (i === j) continue;
      const pred = Math.abs(w[i * d + j]) > threshold;
      const real = truth[i * d + j] !== 0;
      if (pred && real) tp++;
      else if (pred) fp++;
      else if (real) fn++;
    }
  }
  const precision = tp + fp > 0 ? tp / (tp + fp) : 0;
  const recall = tp + fn > 0 ? tp / (tp + fn) : 0;
  const f1 = precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0;
  return { threshold, edges: tp + fp, precision, recall, f1 };
}

/** Weights and multipliers of {@link notearsObjective}. */
export interface NotearsObjectiveOptions {
  /** Weight of the reconstruction term ½·mean over rows of ‖x − x·W‖². */
  lambdaReconstruction: number;
  /** Weight of the L1 penalty ‖W‖₁ (diagonal masked out). */
  lambdaSparsity: number;
  /** Weight of the augmented-Lagrangian term α·h + ½·ρ·h². */
  lambdaAcyclicity: number;
  /** Dual variable α of the augmented Lagrangian. */
  alpha: number;
  /** Quadratic penalty weight ρ. */
  rho: number;
  /** Column whose reconstruction is returned as `pred`. */
  targetColumn: number;
}

/**
 * The NOTEARS training objective on a batch `x` `[b, d]` for weights `w` `[d, d]` (the diagonal is masked out):
 * `λ_rec·½·mean_rows‖x − x·W‖² + λ_sparse·‖W‖₁ + λ_acyc·(α·h + ½·ρ·h²)`, `h = tr((I + W∘W/d)^d) − d`. Components,
 * unweighted, with their weights in the loss: `reconstruction` (λ_rec), `sparsity` = ‖W‖₁ (λ_sparse), `acyclicity` =
 * h (λ_acyc·α) and `acyclicitySquared` = h² (λ_acyc·ρ/2), so the loss is exactly Σ weight · component and the
 * loss-balance monitor judges each term as the loss weighs it. `pred` is the reconstruction of `targetColumn`.
 */
export function notearsObjective(
  w: tf.Tensor,
  x: tf.Tensor2D,
  o: NotearsObjectiveOptions,
): { loss: LossResult; pred: tf.Tensor } {
  const d = w.shape[0]!;
  const eye = tf.eye(d);
  const wm = tf.mul(w, tf.sub(1, eye)) as tf.Tensor2D;
  const recon = tf.matMul(x, wm);
  const rec = tf.mul(0.5, tf.mean(tf.sum(tf.square(tf.sub(x, recon)), 1))) as tf.Scalar;
  const l1 = tf.sum(tf.abs(wm)) as tf.Scalar;
  const m = tf.add(eye, tf.div(tf.square(wm), d)) as tf.Tensor2D;
  let power = m;
  for (let k = 1; k < d; k++) power = tf.matMul(power, m);
  const h = tf.sub(tf.sum(tf.mul(power, eye)), d) as tf.Scalar;
  const h2 = tf.square(h) as tf.Scalar;
  const weights = {
    reconstruction: o.lambdaReconstruction,
    sparsity: o.lambdaSparsity,
    acyclicity: o.lambdaAcyclicity * o.alpha,
    acyclicitySquared: o.lambdaAcyclicity * 0.5 * o.rho,
  };
  const total = tf.addN([
    tf.mul(weights.reconstruction, rec),
    tf.mul(weights.sparsity, l1),
    tf.mul(weights.acyclicity, h),
    tf.mul(weights.acyclicitySquared, h2),
  ]) as tf.Scalar;
  const pred = tf.reshape(tf.slice(recon, [0, o.targetColumn], [-1, 1]), [-1]);
  return {
    loss: { total, components: { reconstruction: rec, sparsity: l1, acyclicity: h, acyclicitySquared: h2 }, weights },
    pred,
  };
}

/**
 * Forwards epochs to a monitor but hides its events from each round's result: the monitors see every round, so
 * their events are collected once, after the last round.
 */
function quietMonitor(m: TrainingMonitor): TrainingMonitor {
  return {
    name: m.name,
    onEpochEnd: (ctx) => m.onEpochEnd(ctx),
    events: () => [],
    ...(m.stopRequested === undefined ? {} : { stopRequested: () => m.stopRequested!() }),
  };
}

/** The NOTEARS-style DAG learner. */
export class NotearsDAG implements Model {
  readonly kind = "notears-dag";
  /** The options as given; defaults are applied in `fit`. */
  readonly options: NotearsOptions;
  #params?: ParamStore;
  #w?: tf.Variable;
  #mean?: Float64Array;
  #std?: Float64Array;
  #d = 0;
  /** Edge count at the default threshold, per epoch. */
  edgeCounts: number[] = [];
  /** h(W) per epoch. */
  acyclicity: number[] = [];
  /** Diagnostic events of the last fit: the loop's own (non-finite sentinel) per round, then each monitor's once. */
  events: TrainingEvent[] = [];
  /**
   * The last fit's training result merged over rounds (concatenated history, the last round's stop reason and best
   * epoch).
   */
  lastTrain?: TrainResult;
  /** Backend used by the last fit or load. */
  backend?: BackendInfo;

  /** Stores the options; W is created (at zero) by `fit`. */
  constructor(options: NotearsOptions = {}) {
    this.options = options;
  }

  /** The learned weighted adjacency (row-major d×d, W_ij = effect of variable i on variable j), in standardized units. */
  weights(): Float32Array {
    if (this.#w === undefined) throw new ConfigError("notears-dag: fit first");
    return new Float32Array(this.#w.dataSync());
  }

  /** 0/1 adjacency at `threshold` (default options.threshold or 0.3). */
  adjacency(threshold = this.options.threshold ?? 0.3): Uint8Array {
    return Uint8Array.from(this.weights(), (v, k) => (Math.abs(v) > threshold && k % (this.#d + 1) !== 0 ? 1 : 0));
  }

  /** The threshold maximizing F1 against a known graph (candidates: every |W_ij| and the default). */
  adaptiveThreshold(truth: ArrayLike<number>): EdgeScore {
    const w = this.weights();
    const cands = new Set<number>([this.options.threshold ?? 0.3]);
    for (let k = 0; k < w.length; k++) if (k % (this.#d + 1) !== 0) cands.add(Math.abs(w[k]) - 1e-9);
    let best: EdgeScore | undefined;
    for (const t of cands) {
      if (t < 0) continue;
      const s = scoreEdges(w, truth, this.#d, t);
      if (best === undefined || s.f1 > best.f1) best = s;
    }
    return best!;
  }

  async fit(X: Matrix, _y?: Target, opts: FitOptions = {}): Promise<FitReport> {
    const t0 = performance.now();
    assertMatrix(X, "DAG learner input");
    if (X.rows < 2) throw new ConfigError(`notears-dag: needs at least 2 rows, got ${X.rows}`);
    this.backend = await initBackend(this.options.backend);
    // W is read after every epoch (edge counts), which WebGPU cannot do synchronously, and one d × d matrix gains
    // nothing from a GPU: with webgpu selected, the learner trains on the cpu backend (its tensors stay there).
    const gpu = tf.getBackend() === "webgpu";
    if (gpu) await tf.setBackend("cpu");
    try {
      return await this.#fit(X, opts, t0, gpu);
    } finally {
      if (gpu) await tf.setBackend("webgpu");
    }
  }

  async #fit(X: Matrix, opts: FitOptions, t0: number, gpu: boolean): Promise<FitReport> {
    const o = this.options;
    const d = X.cols;
    this.#d = d;
    const mean = new Float64Array(d), std = new Float64Array(d).fill(1);
    if (o.standardize !== false) {
      for (let j = 0; j < d; j++) {
        let s = 0, s2 = 0;
        for (let i = 0; i < X.rows; i++) s += X.data[i * d + j];
        mean[j] = s / X.rows;
        for (let i = 0; i < X.rows; i++) s2 += (X.data[i * d + j] - mean[j]) ** 2;
        std[j] = Math.sqrt(s2 / (X.rows - 1)) || 1;
      }
    }
    this.#mean = mean;
    this.#std = std;
    const xs = Float32Array.from(X.data, (v, k) => (v - mean[k % d]) / std[k % d]);
    this.#params?.dispose();
    this.#params = new ParamStore(opts.seed ?? o.seed ?? 42);
    const w = this.#params.add("W", [d, d], { kind: "zeros" });
    this.#w = w;
    const objective: NotearsObjectiveOptions = {
      lambdaReconstruction: o.lambdaReconstruction ?? 1,
      lambdaSparsity: o.lambdaSparsity ?? 0.01,
      lambdaAcyclicity: o.lambdaAcyclicity ?? 1,
      alpha: 0,
      rho: o.rho ?? 1,
      targetColumn: o.targetColumn ?? d - 1,
    };
    const threshold = o.threshold ?? 0.3;
    this.edgeCounts = [];
    this.acyclicity = [];
    const params = this.#params;
    const rounds = Math.max(1, o.rounds ?? 4);
    const epochsPerRound = Math.max(1, Math.round((o.epochs ?? 200) / rounds));
    let lastH = Infinity;
    const results: TrainResult[] = [];
    const trainable = {
      namedVariables: () => params.trainable,
      forward: (batch: { x: tf.Tensor }) => notearsObjective(w, batch.x as tf.Tensor2D, objective),
    };
    const monitors = o.monitors?.map(quietMonitor);
    let epochsDone = 0;
    for (let round = 0; round < rounds; round++) {
      // One epoch numbering across rounds: monitors, the health log and the history see epochs 1, 2, … once each (a
      // collapse monitor's warm-up covers the first epochs of the fit, not of every round).
      const r = await train(trainable, { x: xs, sampleShape: [d], y: new Float32Array(X.rows) }, {
        epochs: epochsPerRound,
        epochOffset: epochsDone,
        batchSize: o.batchSize ?? 256,
        learningRate: o.learningRate ?? 0.01,
        ...(o.schedule === undefined ? {} : { schedule: acrossRounds(o.schedule, epochsDone) }),
        clipNorm: o.clipNorm,
        seed: (opts.seed ?? o.seed ?? 42) + round,
        progress: o.progress ?? "auto",
        monitors,
        onEpochEnd: (rec) => {
          const wv = w.dataSync();
          let edges = 0;
          for (let k = 0; k < wv.length; k++) if (k % (d + 1) !== 0 && Math.abs(wv[k]) > threshold) edges++;
          this.edgeCounts.push(edges);
          this.acyclicity.push(rec.components.acyclicity);
          opts.onProgress?.(
            this.edgeCounts.length / (epochsPerRound * rounds),
            `round ${round + 1}: ${edges} edges, h(W) ${rec.components.acyclicity}`,
          );
        },
      });
      results.push(r);
      epochsDone += r.history.length;
      if (r.stopReason === "non-finite") break;
      const h = this.acyclicity.at(-1) ?? 0;
      objective.alpha += objective.rho * h;
      if (h > lastH / 4) objective.rho *= 10;
      lastH = h;
    }
    const result: TrainResult = {
      history: results.flatMap((r) => r.history),
      stopReason: results.at(-1)!.stopReason,
      bestEpoch: results.at(-1)!.bestEpoch,
      // The loop's own events (non-finite sentinel) per round, then each monitor's events once.
      events: [...results.flatMap((r) => r.events), ...(o.monitors ?? []).flatMap((m) => m.events())],
      seconds: results.reduce((a, r) => a + r.seconds, 0),
      workers: 1,
    };
    w.assign(tf.mul(w, tf.sub(tf.ones([d, d]), tf.eye(d))));
    this.lastTrain = result;
    this.events = result.events;
    return {
      model: this.kind,
      bestIteration: result.bestEpoch,
      seconds: (performance.now() - t0) / 1000,
      notes: [
        ...result.events.map((e) => e.message),
        ...(gpu ? ["trained on the cpu backend: webgpu cannot read W back synchronously after each epoch"] : []),
      ],
      details: {
        backend: gpu ? "cpu" : this.backend!.name,
        backendPatches: this.backend!.patches,
        // Full-batch augmented-Lagrangian rounds on a d × d matrix: always the main thread.
        workers: result.workers,
        stopReason: result.stopReason,
        edges: this.edgeCounts.at(-1),
        edgeCounts: this.edgeCounts,
        acyclicity: this.acyclicity.at(-1),
        history: result.history,
      },
    };
  }

  /** Prediction of `targetColumn` from the other columns through the learned SEM, in the input's units. */
  predict(X: Matrix): Float64Array {
    assertMatrix(X, "DAG learner input");
    const w = this.weights();
    const d = this.#d;
    if (X.cols !== d) throw new ConfigError(`notears-dag: fitted on ${d} columns, got ${X.cols}`);
    const t = this.options.targetColumn ?? d - 1;
    const out = new Float64Array(X.rows);
    for (let i = 0; i < X.rows; i++) {
      let s = 0;
      for (let j = 0; j < d; j++) s += ((X.data[i * d + j] - this.#mean![j]) / this.#std![j]) * w[j * d + t];
      out[i] = s * this.#std![t] + this.#mean![t];
    }
    return out;
  }

  describe(): Record<string, unknown> {
    const o = { ...this.options } as Record<string, unknown>;
    delete o.monitors;
    return { kind: this.kind, ...o, backend: this.backend?.name };
  }

  save(path: string): Promise<void> {
    mkdirSync(path, { recursive: true });
    writeFileSync(
      join(path, "model.json"),
      JSON.stringify({
        format: "candor-dag/1",
        description: this.describe(),
        d: this.#d,
        weights: Array.from(this.weights()),
        mean: Array.from(this.#mean!),
        std: Array.from(this.#std!),
      }),
    );
    return Promise.resolve();
  }

  /** Loads a learner saved with `save(path)` (weights, standardization and options). */
  static async load(path: string): Promise<NotearsDAG> {
    const saved = JSON.parse(readFileSync(join(path, "model.json"), "utf8"));
    if (saved.format !== "candor-dag/1") throw new ConfigError(`${path}/model.json is not a candor DAG learner`);
    const { kind: _kind, backend, ...options } = saved.description;
    const m = new NotearsDAG(options as NotearsOptions);
    m.backend = await initBackendForLoad(backend ?? undefined);
    m.#d = saved.d;
    m.#mean = Float64Array.from(saved.mean);
    m.#std = Float64Array.from(saved.std);
    m.#params = new ParamStore(0);
    m.#w = m.#params.add("W", [saved.d, saved.d], { kind: "zeros" });
    m.#w.assign(tf.tensor2d(Float32Array.from(saved.weights), [saved.d, saved.d]));
    return m;
  }

  dispose(): void {
    this.#params?.dispose();
    this.#params = undefined;
    this.#w = undefined;
  }
}

/** The fit-wide schedule as one round's `train()` sees it: its epoch 0 is epoch `offset` of the fit. */
function acrossRounds(s: Schedule, offset: number): Schedule {
  return {
    kind: s.kind,
    lrAt: (t) => s.lrAt(t + offset),
    onEpochEnd: (epoch, metric) => s.onEpochEnd?.(epoch + offset, metric),
    state: () => s.state(),
    ...(s.load === undefined ? {} : { load: (st: ScheduleState) => s.load!(st) }),
  };
}
