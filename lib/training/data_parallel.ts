/**
 * Data-parallel gradients across Web Workers, so training uses more than the one core a single-threaded wasm backend
 * can (tfjs-wasm's own threaded build hangs Deno at start-up, DESIGN.md §5).
 *
 * With `P` gradient threads (the main thread plus `P − 1` workers, each with its own single-threaded backend and a
 * replica of the model), every step splits the batch into `P` contiguous shards of near-equal size (the first shards
 * take the remainder). The main thread sends each worker the current parameters and its shard, computes the gradient
 * of shard 0 itself, then combines the shard results in shard order:
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
 * Failure handling: a worker that throws, fails to load, or does not answer within the timeout rejects the step with
 * a {@link WorkerError} naming the worker and the cause (never a hang); {@link GradientPool.close} terminates every
 * worker and is called by the loop in a `finally`, including after a NaN stop.
 *
 * @module
 */

import * as tf from "@tensorflow/tfjs-core";
import { CandorError, ConfigError } from "../errors.ts";
import type { LossCounters } from "./losses.ts";
import type { ArrayDataset, Trainable, TrainBatch } from "./loop.ts";

/** How a worker builds its replica: `module` (a URL) exports `createReplica(args): Promise<Trainable>`. */
export interface ReplicaSpec {
  /** Absolute module URL (e.g. `new URL("./replica.ts", import.meta.url).href`). */
  module: string;
  /** Structured-cloneable arguments for `createReplica`. */
  args: unknown;
}

/** What a model provides to be trained data-parallel. */
export interface DataParallelSupport {
  replica: ReplicaSpec;
  /**
   * The weight of a shard in the batch loss: the loss of the union of shards is `Σ W_k·L_k / Σ W_k`. For a plain mean
   * this is the shard's sample count; for `Σ w_i ℓ_i / Σ w_i` it is `Σ w_i` over the shard. `y` holds the shard's
   * targets (row-major, `yWidth` per row) and `w` its sample weights.
   */
  shardWeight(y: Float32Array, w: Float32Array | undefined): number;
}

/** A worker failed, crashed or timed out; the run is stopped and every worker terminated. */
export class WorkerError extends CandorError {
  override name = "WorkerError";
}

/** The result of one data-parallel gradient computation. */
export interface ShardedGradient {
  /** Combined flat gradient (in the order of the model's trainable variables). */
  grad: Float32Array;
  loss: number;
  /** Loss components combined with the same shard weights. */
  components: Record<string, number>;
  /** Σ g² of the combined gradient (float64). */
  sumSquares: number;
}

interface GradReply {
  type: "grad";
  id: number;
  grad: Float32Array;
  loss: number;
  names: string[];
  components: number[];
  noValidTargets: number;
}

interface Pending {
  resolve: (r: GradReply) => void;
  reject: (e: Error) => void;
  timer: ReturnType<typeof setTimeout>;
}

/** Splits `n` into `parts` contiguous shard sizes differing by at most one (larger first). */
export function shardSizes(n: number, parts: number): number[] {
  const base = Math.floor(n / parts), extra = n % parts;
  return Array.from({ length: parts }, (_, k) => base + (k < extra ? 1 : 0));
}

/** Gathers rows `idx` of a dataset into fresh arrays (which can be transferred to a worker). */
function gather(d: ArrayDataset, idx: ArrayLike<number>): { x: Float32Array; y: Float32Array; w?: Float32Array } {
  const s = d.sampleShape.reduce((a, b) => a * b, 1);
  const yw = d.yWidth ?? 1;
  const b = idx.length;
  const x = new Float32Array(b * s), y = new Float32Array(b * yw);
  const w = d.weight ? new Float32Array(b) : undefined;
  for (let i = 0; i < b; i++) {
    const r = idx[i];
    x.set(d.x.subarray(r * s, (r + 1) * s), i * s);
    y.set(d.y.subarray(r * yw, (r + 1) * yw), i * yw);
    if (w) w[i] = d.weight![r];
  }
  return { x, y, w };
}

/** One worker and its outstanding requests. */
class GradientWorker {
  readonly index: number;
  #worker: Worker;
  #pending = new Map<number, Pending>();
  #failure?: WorkerError;
  #ready?: { resolve: (v: { names: string[]; sizes: number[] }) => void; reject: (e: Error) => void };

  constructor(index: number) {
    this.index = index;
    this.#worker = new Worker(new URL("./gradient_worker.ts", import.meta.url).href, { type: "module" });
    this.#worker.onmessage = (e: MessageEvent) => this.#onMessage(e.data);
    this.#worker.onerror = (e: ErrorEvent) => {
      e.preventDefault();
      this.#fail(`crashed: ${e.message}`);
    };
    this.#worker.onmessageerror = () => this.#fail("sent a message that could not be deserialized");
  }

  #fail(why: string): void {
    const err = new WorkerError(`gradient worker ${this.index} ${why}`);
    this.#failure ??= err;
    this.#ready?.reject(err);
    this.#ready = undefined;
    for (const p of this.#pending.values()) {
      clearTimeout(p.timer);
      p.reject(err);
    }
    this.#pending.clear();
  }

  #onMessage(msg: { type: string; id?: number; message?: string } & Record<string, unknown>): void {
    if (msg.type === "ready") {
      this.#ready?.resolve(msg as unknown as { names: string[]; sizes: number[] });
      this.#ready = undefined;
    } else if (msg.type === "grad") {
      const p = this.#pending.get(msg.id!);
      if (p === undefined) return;
      clearTimeout(p.timer);
      this.#pending.delete(msg.id!);
      p.resolve(msg as unknown as GradReply);
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
      this.#worker.postMessage({ type: "init", module: spec.module, args: spec.args });
    });
  }

  gradient(id: number, msg: Record<string, unknown>, transfer: ArrayBuffer[], timeoutMs: number): Promise<GradReply> {
    return new Promise((resolve, reject) => {
      if (this.#failure) return reject(this.#failure);
      const timer = setTimeout(
        () => this.#fail(`did not return its gradient within ${timeoutMs} ms (step request ${id})`),
        timeoutMs,
      );
      this.#pending.set(id, { resolve, reject, timer });
      this.#worker.postMessage({ type: "grad", id, ...msg }, transfer);
    });
  }

  terminate(): void {
    for (const p of this.#pending.values()) clearTimeout(p.timer);
    this.#pending.clear();
    this.#worker.terminate();
  }
}

/** Options of {@link GradientPool.open}. */
export interface PoolOptions {
  /** Gradient threads including the main thread (≥ 2). */
  threads: number;
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
  readonly threads: number;
  #workers: GradientWorker[];
  #support: DataParallelSupport;
  #model: Trainable;
  #vars: tf.Variable[];
  #stepTimeoutMs: number;
  #nextId = 0;

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
    const workers = Array.from({ length: o.threads - 1 }, (_, i) => new GradientWorker(i + 1));
    try {
      const names = model.namedVariables().map(([n]) => n);
      const sizes = model.namedVariables().map(([, v]) => v.size);
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
   */
  async gradient(
    data: ArrayDataset,
    idx: Uint32Array,
    counters: LossCounters,
    makeBatch: (d: ArrayDataset, idx: ArrayLike<number>, c: LossCounters) => TrainBatch,
  ): Promise<ShardedGradient> {
    // A batch with fewer rows than threads (an epoch's last) uses fewer shards: an empty shard's mean would be 0/0.
    const parts = Math.min(this.threads, idx.length);
    const sizes = shardSizes(idx.length, parts);
    const starts = sizes.map((_, k) => sizes.slice(0, k).reduce((a, b) => a + b, 0));
    const params = this.#readParams();
    const yWidth = data.yWidth ?? 1;
    const weights: number[] = [];
    const replies: Array<Promise<GradReply>> = [];
    for (let k = 1; k < parts; k++) {
      const shard = gather(data, idx.subarray(starts[k], starts[k] + sizes[k]));
      weights[k] = this.#support.shardWeight(shard.y, shard.w);
      const transfer = [shard.x.buffer, shard.y.buffer, ...(shard.w ? [shard.w.buffer] : [])] as ArrayBuffer[];
      const id = this.#nextId++;
      const p = this.#workers[k - 1].gradient(
        id,
        { params: params.slice(), ...shard, sampleShape: data.sampleShape, yWidth },
        transfer,
        this.#stepTimeoutMs,
      );
      // Attach a handler now so a worker failing while the main thread computes is never an unhandled rejection.
      p.catch(() => {});
      replies.push(p);
    }
    const own = this.#ownShard(data, idx.subarray(0, sizes[0]), counters, makeBatch);
    weights[0] = this.#support.shardWeight(own.y, own.w);
    const others = await Promise.all(replies);
    const results = [own.reply, ...others];
    for (const r of others) counters.noValidTargets += r.noValidTargets;
    return combineShards(results, weights, sizes);
  }

  #readParams(): Float32Array {
    const flat = tf.tidy(() => tf.concat(this.#vars.map((v) => tf.reshape(v, [-1]))));
    const out = new Float32Array(flat.dataSync() as Float32Array);
    flat.dispose();
    return out;
  }

  #ownShard(
    data: ArrayDataset,
    idx: Uint32Array,
    counters: LossCounters,
    makeBatch: (d: ArrayDataset, idx: ArrayLike<number>, c: LossCounters) => TrainBatch,
  ): { reply: GradReply; y: Float32Array; w?: Float32Array } {
    const batch = makeBatch(data, idx, counters);
    const names: string[] = [];
    const comps: tf.Tensor[] = [];
    const { value, grads } = tf.variableGrads(() => {
      const { loss } = this.#model.forward(batch, true);
      for (const [k, c] of Object.entries(loss.components)) {
        names.push(k);
        comps.push(tf.keep(c));
      }
      return loss.total;
    }, this.#vars);
    const packed = tf.tidy(() =>
      tf.concat([
        tf.reshape(value, [1]),
        ...comps.map((c) => tf.reshape(c, [1])),
        ...this.#vars.map((v) => tf.reshape(grads[v.name], [-1])),
      ])
    );
    const all = packed.dataSync() as Float32Array;
    tf.dispose([
      packed,
      value,
      ...comps,
      ...Object.values(grads),
      batch.x,
      batch.y,
      ...(batch.weight ? [batch.weight] : []),
    ]);
    return {
      reply: {
        type: "grad",
        id: -1,
        loss: all[0],
        names,
        components: Array.from(all.subarray(1, 1 + names.length)),
        grad: all.subarray(1 + names.length),
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
 * Combines shard results in shard order with weights `W_k / W` (float64 accumulation, rounded once to float32). When
 * every shard weight is 0 (e.g. all-zero sample weights) the shards are weighted by their sizes; their gradients are
 * then all zero anyway.
 */
export function combineShards(
  results: Array<{ grad: Float32Array; loss: number; names: string[]; components: number[] }>,
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
  const acc = new Float64Array(n);
  let loss = 0;
  const components: Record<string, number> = {};
  results.forEach((r, k) => {
    if (r.grad.length !== n) {
      throw new WorkerError(`shard ${k} returned ${r.grad.length} gradient values, expected ${n}`);
    }
    // A zero-weight shard still goes through the sum, so a non-finite value in it is not hidden.
    const f = ws[k] / W;
    const g = r.grad;
    for (let i = 0; i < n; i++) acc[i] += f * g[i];
    loss += f * r.loss;
    r.names.forEach((name, j) => components[name] = (components[name] ?? 0) + f * r.components[j]);
  });
  const grad = new Float32Array(acc);
  let sumSquares = 0;
  for (let i = 0; i < n; i++) sumSquares += grad[i] * grad[i];
  return { grad, loss, components, sumSquares };
}
