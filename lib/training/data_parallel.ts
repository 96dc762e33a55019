/**
 * Data-parallel gradients across Web Workers, so training uses more than the one core a single-threaded wasm backend
 * can (tfjs-wasm's own threaded build hangs Deno at start-up, docs/design.md §5).
 *
 * With `P` gradient threads (the main thread plus `P − 1` workers, each with its own single-threaded backend and a
 * replica of the model), every step splits the batch into `P` contiguous shards of near-equal size (the first shards
 * take the remainder). The main thread writes the current parameters and each worker's shard into that worker's
 * shared memory and wakes it (`Atomics.notify`), computes the gradient of shard 0 itself, waits for the workers
 * (`Atomics.wait`, with a timeout) and combines the shard results in shard order:
 *
 *   g = Σ_k (W_k / W) · g_k,   loss = Σ_k (W_k / W) · L_k,   W = Σ_k W_k,
 *
 * where `W_k` is the shard's loss weight (its sample count for a plain mean, the sum of its sample × class weights for
 * a weighted mean; see {@link DataParallelSupport.shardWeight}). For a loss that is such a weighted mean this is the
 * full batch's gradient exactly, up to float32 summation order; the sum is accumulated in float64 in a fixed order, so
 * a run is bit-identical to another with the same seed and worker count. Clipping, the NaN sentinel and the Adam step
 * then run once, on the main thread, on the combined gradient, exactly as in single-thread training; the new
 * parameters travel with the next step's shard, so replicas can never drift.
 *
 * Losses that depend on the whole batch jointly (batch-norm statistics, anti-collapse std penalties, batch-frequency
 * weights) are not such means: models declare that, and training then runs on one thread with the reason recorded.
 *
 * Shared memory instead of messages per step: a message round trip costs about a millisecond, more than a whole
 * shard of the MLP benchmark (≈ 0.75 ms for 128 rows); the wake-up through `Atomics` costs microseconds on an idle
 * machine. Start-up still uses messages (the replica is built asynchronously). Neither side spins: waiting threads
 * sleep, so a busy machine loses no CPU to them.
 *
 * Every shard's gradient — the main thread's and each worker's — is computed by trainable.ts's `gradientTensors` and
 * `readGradient`, the same step single-thread training runs, so the threads cannot drift apart.
 *
 * Failure handling: a worker that throws (in its forward or backward pass, or while starting), or does not answer
 * within the timeout — which also covers a worker killed without reporting — fails the step with a
 * {@link WorkerError} naming the worker and the cause (never a hang); {@link GradientPool.close} terminates every
 * worker and is called by the loop in a `finally`, including after a NaN stop. A worker stuck in synchronous code (an
 * endless loop in a replica) cannot be stopped that way — Deno's `terminate()` takes effect when the thread returns
 * to its event loop — so it keeps its core until the process exits; the run has already failed with the WorkerError.
 *
 * @module
 */

import { tf } from "./tfjs.ts";
import { CandorError, ConfigError } from "../errors.ts";
import type { LossCounters } from "./losses.ts";
import {
  type ArrayDataset,
  type DataParallelSupport,
  gradientTensors,
  readGradient,
  type ReplicaSpec,
  type Trainable,
  type TrainBatch,
} from "./trainable.ts";

export type { DataParallelSupport, ReplicaSpec } from "./trainable.ts";

/** A worker failed, crashed or timed out; the run is stopped and every worker terminated. */
export class WorkerError extends CandorError {
  /** Error name, `"WorkerError"`, as shown in logs and stack traces. */
  override name = "WorkerError";
}

/** The result of one data-parallel gradient computation. */
export interface ShardedGradient {
  /** Combined flat gradient (in the order of the model's trainable variables). */
  grad: Float32Array;
  /**
   * Batch loss: the shard losses combined as Σ (W_k / W)·L_k, which is the whole batch's loss for a weighted-mean loss.
   */
  loss: number;
  /** Loss components combined with the same shard weights. */
  components: Record<string, number>;
  /**
   * Each component's weight in the loss: the weight the shards' losses declare (they run the same loss function, so
   * they agree); were they to differ, the effective weight Σ f_k·w_k·c_k / Σ f_k·c_k (f_k the shard weights).
   */
  weights: Record<string, number>;
  /** Σ g² of the combined gradient (float64). */
  sumSquares: number;
}

/** One shard's result. */
interface ShardResult {
  grad: Float32Array;
  loss: number;
  names: string[];
  components: number[];
  /** Component j's weight in the shard's loss. */
  weights: number[];
  noValidTargets: number;
}

/** Splits `n` into `parts` contiguous shard sizes differing by at most one (larger first). */
export function shardSizes(n: number, parts: number): number[] {
  const base = Math.floor(n / parts), extra = n % parts;
  return Array.from({ length: parts }, (_, k) => base + (k < extra ? 1 : 0));
}

/**
 * Shared-memory layout between the main thread and one worker (see gradient_worker.ts, which mirrors it). The
 * control words are Int32; the data buffer holds, as float32: parameters `[0, P)`, the gradient `[P, 2P)`, a result
 * header `[2P, 2P + HEADER)` (loss, no-valid-target count, component count, components), then the shard's inputs
 * `x`, targets `y` and weights `w` for up to `maxRows` rows. The text buffer carries component names and weights, and error
 * messages (UTF-8, length in the control word TEXT_LENGTH).
 */
export const SHARED = {
  /** Control words: request counter (−1 = shut down), last request done, status (0 ok, 1 error), rows, has weights, text length. */
  REQUEST: 0,
  DONE: 1,
  STATUS: 2,
  ROWS: 3,
  HAS_WEIGHTS: 4,
  TEXT_LENGTH: 5,
  CONTROL_WORDS: 8,
  /** Float32 slots of the result header: loss, noValidTargets, component count, then up to 61 components. */
  HEADER: 64,
  TEXT_BYTES: 1 << 16,
} as const;

/** Offsets (in float32 elements) of the regions of a worker's shared data buffer. */
export interface SharedLayout {
  /** Offset of the flat parameters, written by the main thread before every step. */
  params: number;
  /** Offset of the flat gradient, written back by the worker. */
  grad: number;
  /** Offset of the result header: loss, no-valid-target count, component count, components. */
  header: number;
  /** Offset of the shard's inputs, row-major, `sampleSize` values per row. */
  x: number;
  /** Offset of the shard's targets, `yWidth` values per row. */
  y: number;
  /** Offset of the shard's sample weights, one per row (read only when the HAS_WEIGHTS control word is 1). */
  w: number;
  /** Total float32 elements. */
  size: number;
  /** Number of model parameters P (float32 scalars). */
  paramCount: number;
  /** Most rows one shard can hold: ceil(maxBatch / threads). */
  maxRows: number;
  /** Shape of one input sample, e.g. `[features]` or `[steps, features]`. */
  sampleShape: number[];
  /** Values per sample: the product of `sampleShape`. */
  sampleSize: number;
  /** Target columns per row. */
  yWidth: number;
}

/** The layout for `paramCount` parameters and shards of up to `maxRows` rows. */
export function sharedLayout(paramCount: number, maxRows: number, sampleShape: number[], yWidth: number): SharedLayout {
  const sampleSize = sampleShape.reduce((a, b) => a * b, 1);
  const grad = paramCount, header = 2 * paramCount, x = header + SHARED.HEADER;
  const y = x + maxRows * sampleSize, w = y + maxRows * yWidth;
  return { params: 0, grad, header, x, y, w, size: w + maxRows, paramCount, maxRows, sampleShape, sampleSize, yWidth };
}

/**
 * One worker. Start-up goes through messages (the replica is built asynchronously); every step after that goes
 * through shared memory and `Atomics.wait`/`notify`, which costs microseconds where a message round trip costs
 * about a millisecond (measured on the MLP benchmark, whose 128-row shard takes ≈ 0.75 ms).
 */
class GradientWorker {
  readonly index: number;
  #worker: Worker;
  #failure?: WorkerError;
  #ready?: { resolve: (v: { names: string[]; sizes: number[] }) => void; reject: (e: Error) => void };
  readonly control: Int32Array;
  readonly data: Float32Array;
  readonly text: Uint8Array;
  readonly layout: SharedLayout;
  #request = 0;

  constructor(index: number, layout: SharedLayout) {
    this.index = index;
    this.layout = layout;
    this.control = new Int32Array(new SharedArrayBuffer(4 * SHARED.CONTROL_WORDS));
    this.data = new Float32Array(new SharedArrayBuffer(4 * layout.size));
    this.text = new Uint8Array(new SharedArrayBuffer(SHARED.TEXT_BYTES));
    this.#worker = new Worker(new URL("./gradient_worker.ts", import.meta.url).href, { type: "module" });
    this.#worker.onmessage = (e: MessageEvent) => this.#onMessage(e.data);
    this.#worker.onerror = (e: ErrorEvent) => {
      e.preventDefault();
      this.#fail(`crashed: ${e.message}`);
    };
    this.#worker.onmessageerror = () => this.#fail("sent a message that could not be deserialized");
  }

  #fail(why: string): WorkerError {
    const err = new WorkerError(`gradient worker ${this.index} ${why}`);
    this.#failure ??= err;
    this.#ready?.reject(err);
    this.#ready = undefined;
    return err;
  }

  #onMessage(msg: { type: string; message?: string } & Record<string, unknown>): void {
    if (msg.type === "ready") {
      this.#ready?.resolve(msg as unknown as { names: string[]; sizes: number[] });
      this.#ready = undefined;
    } else if (msg.type === "error") this.#fail(`failed: ${msg.message}`);
  }

  init(spec: ReplicaSpec, timeoutMs: number): Promise<{ names: string[]; sizes: number[] }> {
    return new Promise((resolve, reject) => {
      if (this.#failure) return reject(this.#failure);
      const timer = setTimeout(
        () => this.#fail(`did not start within ${timeoutMs} ms (loading ${spec.module})`),
        timeoutMs,
      );
      this.#ready = {
        resolve: (v) => {
          clearTimeout(timer);
          resolve(v);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      };
      this.#worker.postMessage({
        type: "init",
        module: spec.module,
        args: spec.args,
        control: this.control.buffer,
        data: this.data.buffer,
        text: this.text.buffer,
        layout: this.layout,
      });
    });
  }

  /** Signals a request whose inputs were written into {@link GradientWorker.data}; returns its number. */
  submit(rows: number, hasWeights: boolean): number {
    if (this.#failure) throw this.#failure;
    const c = this.control;
    c[SHARED.ROWS] = rows;
    c[SHARED.HAS_WEIGHTS] = hasWeights ? 1 : 0;
    this.#request++;
    Atomics.store(c, SHARED.REQUEST, this.#request);
    Atomics.notify(c, SHARED.REQUEST);
    return this.#request;
  }

  /** Blocks until request `id` is done (or `timeoutMs` passes) and returns the result (views into shared memory). */
  collect(id: number, timeoutMs: number): ShardResult {
    const c = this.control;
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const done = Atomics.load(c, SHARED.DONE);
      if (done === id) break;
      const left = deadline - performance.now();
      if (left <= 0) throw this.#fail(`did not return its gradient within ${timeoutMs} ms (step request ${id})`);
      Atomics.wait(c, SHARED.DONE, done, left);
    }
    const textLength = c[SHARED.TEXT_LENGTH];
    const text = new TextDecoder().decode(this.text.slice(0, textLength));
    if (c[SHARED.STATUS] !== 0) throw this.#fail(`failed: ${text}`);
    const L = this.layout, h = this.data.subarray(L.header, L.header + SHARED.HEADER);
    const k = h[2];
    const labels = k > 0 ? JSON.parse(text) as { names: string[]; weights: number[] } : { names: [], weights: [] };
    return {
      grad: this.data.subarray(L.grad, L.grad + L.paramCount),
      loss: h[0],
      noValidTargets: h[1],
      components: Array.from(h.subarray(3, 3 + k)),
      names: labels.names,
      weights: labels.weights,
    };
  }

  terminate(): void {
    Atomics.store(this.control, SHARED.REQUEST, -1);
    Atomics.notify(this.control, SHARED.REQUEST);
    this.#worker.terminate();
  }
}

/** Options of {@link GradientPool.open}. */
export interface PoolOptions {
  /** Gradient threads including the main thread (≥ 2). */
  threads: number;
  /** Largest batch (rows) the pool will be asked for. */
  maxBatch: number;
  /** Shape of one sample and target columns of the data the pool trains on. */
  sampleShape: number[];
  /** Target columns per row (1 for a single target). */
  yWidth: number;
  /** Milliseconds a worker may take to start (load tfjs, compile wasm, build the replica); default 120 000. */
  startTimeoutMs?: number;
  /** Milliseconds a worker may take for one shard's gradient; default 120 000. */
  stepTimeoutMs?: number;
}

/**
 * The main thread's side: `threads − 1` workers plus the main thread computing shard 0. Open with
 * {@link GradientPool.open}; always {@link GradientPool.close}.
 */
export class GradientPool {
  /** Gradient threads, the main thread included (workers + 1). */
  readonly threads: number;
  #workers: GradientWorker[];
  #support: DataParallelSupport;
  #model: Trainable;
  #vars: tf.Variable[];
  #stepTimeoutMs: number;

  private constructor(
    workers: GradientWorker[],
    support: DataParallelSupport,
    model: Trainable,
    stepTimeoutMs: number,
  ) {
    this.threads = workers.length + 1;
    this.#workers = workers;
    this.#support = support;
    this.#model = model;
    this.#vars = model.namedVariables().map(([, v]) => v);
    this.#stepTimeoutMs = stepTimeoutMs;
  }

  /**
   * Starts the workers and checks that every replica has the main model's variables (names and sizes, in order).
   * Throws {@link WorkerError} (after terminating every worker) when one fails to start.
   */
  static async open(model: Trainable, support: DataParallelSupport, o: PoolOptions): Promise<GradientPool> {
    if (!(Number.isInteger(o.threads) && o.threads >= 2)) {
      throw new ConfigError(`a gradient pool needs at least 2 threads, got ${o.threads}`);
    }
    const names = model.namedVariables().map(([n]) => n);
    const sizes = model.namedVariables().map(([, v]) => v.size);
    const layout = sharedLayout(
      sizes.reduce((a, b) => a + b, 0),
      Math.ceil(o.maxBatch / o.threads),
      o.sampleShape,
      o.yWidth,
    );
    const workers = Array.from({ length: o.threads - 1 }, (_, i) => new GradientWorker(i + 1, layout));
    try {
      const ready = await Promise.all(workers.map((w) => w.init(support.replica, o.startTimeoutMs ?? 120_000)));
      ready.forEach((r, i) => {
        if (r.names.join("|") !== names.join("|") || r.sizes.join("|") !== sizes.join("|")) {
          throw new WorkerError(
            `gradient worker ${i + 1}'s replica has variables [${r.names}] of sizes [${r.sizes}], the model has ` +
              `[${names}] of sizes [${sizes}]: the replica recipe does not rebuild the same network`,
          );
        }
      });
    } catch (e) {
      for (const w of workers) w.terminate();
      throw e;
    }
    return new GradientPool(workers, support, model, o.stepTimeoutMs ?? 120_000);
  }

  /**
   * The gradient of the model's loss on batch rows `idx` of `data`, computed in shards (see the module doc). The
   * main thread's shard is built with `makeBatch`; counters (e.g. batches with no valid targets) are accumulated.
   * Synchronous: the main thread blocks on the workers (with the step timeout) after computing its own shard.
   * `params`, when given, must be the model's current parameters as one flat vector in variable order (e.g.
   * `FlatAdam.currentParameters()`); otherwise they are read from the variables.
   */
  gradient(
    data: ArrayDataset,
    idx: Uint32Array,
    counters: LossCounters,
    makeBatch: (d: ArrayDataset, idx: ArrayLike<number>, c: LossCounters) => TrainBatch,
    params?: Float32Array,
  ): ShardedGradient {
    // A batch with fewer rows than threads (an epoch's last) uses fewer shards: an empty shard's mean would be 0/0.
    const parts = Math.min(this.threads, idx.length);
    const sizes = shardSizes(idx.length, parts);
    const starts = sizes.map((_, k) => sizes.slice(0, k).reduce((a, b) => a + b, 0));
    if (parts > 1 && sizes[0] > this.#workers[0].layout.maxRows) {
      throw new ConfigError(`batch of ${idx.length} rows is larger than the pool was opened for`);
    }
    // The caller's flat parameters (the optimizer keeps them) spare a concat kernel and a read-back per step.
    if (params !== undefined && params.length !== this.#workers[0]?.layout.paramCount && parts > 1) {
      throw new ConfigError(`${params.length} parameters given, the model has ${this.#workers[0].layout.paramCount}`);
    }
    if (parts > 1) params ??= this.#readParams();
    const weights: number[] = [];
    const requests: number[] = [];
    for (let k = 1; k < parts; k++) {
      const w = this.#workers[k - 1];
      const L = w.layout;
      w.data.set(params!, L.params);
      const rows = idx.subarray(starts[k], starts[k] + sizes[k]);
      const S = L.sampleSize, Y = L.yWidth;
      const xs = w.data.subarray(L.x, L.x + rows.length * S);
      const ys = w.data.subarray(L.y, L.y + rows.length * Y);
      const ws = data.weight ? w.data.subarray(L.w, L.w + rows.length) : undefined;
      for (let i = 0; i < rows.length; i++) {
        const r = rows[i];
        xs.set(data.x.subarray(r * S, (r + 1) * S), i * S);
        ys.set(data.y.subarray(r * Y, (r + 1) * Y), i * Y);
        if (ws) ws[i] = data.weight![r];
      }
      weights[k] = this.#support.shardWeight(ys, ws);
      requests[k] = w.submit(rows.length, ws !== undefined);
    }
    const own = this.#ownShard(data, idx.subarray(0, sizes[0]), counters, makeBatch);
    weights[0] = this.#support.shardWeight(own.y, own.w);
    const results: ShardResult[] = [own.result];
    for (let k = 1; k < parts; k++) {
      const r = this.#workers[k - 1].collect(requests[k], this.#stepTimeoutMs);
      counters.noValidTargets += r.noValidTargets;
      results.push(r);
    }
    return combineShards(results, weights, sizes);
  }

  #readParams(): Float32Array {
    const flat = tf.tidy(() => tf.concat(this.#vars.map((v) => tf.reshape(v, [-1]))));
    const out = flat.dataSync() as Float32Array;
    flat.dispose();
    return out;
  }

  #ownShard(
    data: ArrayDataset,
    idx: Uint32Array,
    counters: LossCounters,
    makeBatch: (d: ArrayDataset, idx: ArrayLike<number>, c: LossCounters) => TrainBatch,
  ): { result: ShardResult; y: Float32Array; w?: Float32Array } {
    const batch = makeBatch(data, idx, counters);
    const { names, weights, values } = readGradient(gradientTensors(this.#model, this.#vars, batch));
    return {
      result: {
        loss: values[0],
        names,
        weights,
        components: Array.from(values.subarray(1, 1 + names.length)),
        grad: values.subarray(1 + names.length),
        noValidTargets: 0,
      },
      y: batch.yValues,
      w: batch.weightValues,
    };
  }

  /** Terminates every worker (idempotent). */
  close(): void {
    for (const w of this.#workers) w.terminate();
    this.#workers = [];
  }
}

/**
 * Combines shard results in shard order with weights `W_k / W` (float64 accumulation, rounded once to float32;
 * the two-shard case is the same sum written out, for speed). When
 * every shard weight is 0 (e.g. all-zero sample weights) the shards are weighted by their sizes; their gradients are
 * then all zero anyway.
 */
export function combineShards(
  results: Array<{ grad: Float32Array; loss: number; names: string[]; components: number[]; weights?: number[] }>,
  weights: number[],
  sizes: number[],
): ShardedGradient {
  let W = weights.reduce((a, b) => a + b, 0);
  let ws = weights;
  if (!(W > 0)) {
    ws = sizes;
    W = sizes.reduce((a, b) => a + b, 0);
  }
  const n = results[0].grad.length;
  let loss = 0;
  const components: Record<string, number> = {};
  const terms: Record<string, number> = {};
  const declared: Record<string, number> = {};
  const f = results.map((r, k) => {
    if (r.grad.length !== n) {
      throw new WorkerError(`shard ${k} returned ${r.grad.length} gradient values, expected ${n}`);
    }
    // A zero-weight shard still goes through the sum, so a non-finite value in it is not hidden.
    const fk = ws[k] / W;
    loss += fk * r.loss;
    r.names.forEach((name, j) => {
      const w = r.weights?.[j] ?? 1;
      components[name] = (components[name] ?? 0) + fk * r.components[j];
      terms[name] = (terms[name] ?? 0) + fk * w * r.components[j];
      // NaN marks a weight that differs between shards.
      declared[name] = declared[name] === undefined || declared[name] === w ? w : NaN;
    });
    return fk;
  });
  // The declared weight when the shards agree (always, for one loss function); else the effective weight.
  const componentWeights: Record<string, number> = {};
  for (const name of Object.keys(components)) {
    const agreed = !Number.isNaN(declared[name]);
    componentWeights[name] = agreed ? declared[name] : components[name] !== 0 ? terms[name] / components[name] : 1;
  }
  // One pass: each element summed over shards in shard order in float64, rounded once, and squared for the norm.
  const grad = new Float32Array(n);
  let sumSquares = 0;
  if (results.length === 2) {
    const g0 = results[0].grad, g1 = results[1].grad, f0 = f[0], f1 = f[1];
    for (let i = 0; i < n; i++) {
      const v = Math.fround(f0 * g0[i] + f1 * g1[i]);
      grad[i] = v;
      sumSquares += v * v;
    }
  } else {
    const gs = results.map((r) => r.grad);
    for (let i = 0; i < n; i++) {
      let a = 0;
      for (let k = 0; k < gs.length; k++) a += f[k] * gs[k][i];
      const v = Math.fround(a);
      grad[i] = v;
      sumSquares += v * v;
    }
  }
  return { grad, loss, components, weights: componentWeights, sumSquares };
}
