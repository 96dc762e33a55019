/**
 * What a model exposes to the training loop, how batches are built, and the one function that computes a batch's
 * loss and gradient — shared by the loop (lib/training/loop.ts), the data-parallel pool (data_parallel.ts) and every
 * gradient worker (gradient_worker.ts), which all import it from here (so neither of the first two imports the other
 * for these).
 *
 * Datasets stay in Float32Arrays; tensors exist only per batch (the wasm heap is 32-bit).
 *
 * @module
 */

// Loading tfjs through ./tfjs.ts also registers every gradient (see that module).
import { tf } from "./tfjs.ts";
import { ConfigError } from "../errors.ts";
import { componentWeight, type LossCounters, type LossResult } from "./losses.ts";

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

/** How a worker builds its replica: `module` (a URL) exports `createReplica(args): Promise<Trainable>`. */
export interface ReplicaSpec {
  /** Absolute module URL (e.g. `new URL("./replica.ts", import.meta.url).href`). */
  module: string;
  /** Structured-cloneable arguments for `createReplica`. */
  args: unknown;
}

/** What a model provides to be trained data-parallel (see data_parallel.ts). */
export interface DataParallelSupport {
  /** How each worker rebuilds the same network (module URL and its arguments). */
  replica: ReplicaSpec;
  /**
   * Approximate multiply-adds of one sample's forward pass (e.g. parameters × time steps): `workers: "auto"` splits
   * only batches whose shards carry enough work to gain (see `MIN_AUTO_WORK` in loop.ts).
   */
  workPerSample: number;
  /**
   * The weight of a shard in the batch loss: the loss of the union of shards is `Σ W_k·L_k / Σ W_k`. For a plain mean
   * this is the shard's sample count; for `Σ w_i ℓ_i / Σ w_i` it is `Σ w_i` over the shard. `y` holds the shard's
   * targets (row-major, `yWidth` per row) and `w` its sample weights.
   */
  shardWeight(y: Float32Array, w: Float32Array | undefined): number;
}

/** What a model exposes to the loop. */
export interface Trainable {
  /** Trainable variables with stable logical names (used in checkpoints). */
  namedVariables(): Array<[string, tf.Variable]>;
  /** Non-trainable state saved with the weights (e.g. batch-norm running statistics). */
  namedState?(): Array<[string, tf.Variable]>;
  /**
   * Forward pass and loss on a batch. `pred` is `[b]` or `[b, k]`; monitors see it summarized per row (see
   * `EpochContext.predictions` in loop.ts).
   */
  forward(batch: TrainBatch, training: boolean): { loss: LossResult; pred: tf.Tensor };
  /**
   * How to train this model data-parallel (a replica recipe for workers and the shard weight of its loss), or a
   * sentence saying why it cannot be (e.g. "batch normalization uses whole-batch statistics"). Absent: one thread.
   */
  dataParallel?(): DataParallelSupport | string;
}

/** Values per sample: the product of the sample shape. */
export function sampleSize(d: ArrayDataset): number {
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

/** Disposes a batch's tensors. */
export function disposeBatch(b: TrainBatch): void {
  tf.dispose([b.x, b.y, ...(b.weight ? [b.weight] : [])]);
}

/** A batch's loss, its named components and every variable's gradient, as tensors not yet read back. */
export interface GradientTensors {
  /** Component names, in the order of {@link GradientTensors.tensors}' components. */
  names: string[];
  /** Each component's weight in the loss (`LossResult.weights`, 1 when absent), in the order of `names`. */
  weights: number[];
  /** `[loss, ...components, ...gradients in variable order]`. */
  tensors: tf.Tensor[];
  /** Float32 values all tensors hold together: 1 + components + parameters. */
  size: number;
}

/** One batch's gradient read back: `values = [loss, ...components, ...flat gradient in variable order]`. */
export interface BatchGradient {
  /** Component names; `values[1 + i]` is component i. */
  names: string[];
  /** Component i's weight in the loss. */
  weights: number[];
  /** Loss, components and the flat gradient, float32. */
  values: Float32Array;
}

/**
 * The gradient step every gradient thread runs (the main thread alone, or the main thread and each worker on its
 * shard): the model's forward pass and loss on `batch` under `tf.variableGrads`, with respect to `vars`. The batch's
 * tensors are disposed. Read the result with {@link readGradient} (synchronous backends) or
 * {@link readGradientAsync} (backends that can only read asynchronously, e.g. WebGPU).
 */
export function gradientTensors(model: Trainable, vars: tf.Variable[], batch: TrainBatch): GradientTensors {
  const names: string[] = [];
  const weights: number[] = [];
  const comps: tf.Tensor[] = [];
  try {
    const { value, grads } = tf.variableGrads(() => {
      const { loss } = model.forward(batch, true);
      for (const [k, c] of Object.entries(loss.components)) {
        const w = componentWeight(loss, k);
        if (!Number.isFinite(w)) throw new ConfigError(`loss component "${k}": weight ${w} is not a finite number`);
        names.push(k);
        weights.push(w);
        comps.push(tf.keep(c));
      }
      return loss.total;
    }, vars);
    const tensors = [value, ...comps, ...vars.map((v) => grads[v.name])];
    return { names, weights, tensors, size: tensors.reduce((a, t) => a + t.size, 0) };
  } catch (e) {
    tf.dispose(comps);
    throw e;
  } finally {
    disposeBatch(batch);
  }
}

/** A backend that can show a tensor's data as a view of its memory (tfjs-wasm: a view into the wasm heap). */
interface HeapBackend {
  typedArrayFromHeap(t: tf.TensorInfo): Float32Array | Int32Array | Uint8Array;
}

/**
 * Reads {@link gradientTensors}' result into one Float32Array and disposes the tensors. Each tensor is read directly
 * into its place: a concat on the backend would add a kernel per tensor and one more copy. On a backend whose memory
 * can be viewed (wasm), the values are copied straight from the view, without `dataSync`'s intermediate copy. A
 * `buffer` of the right length is filled instead of a new array (the loop reuses one per run: the values are consumed
 * within the step).
 */
export function readGradient(g: GradientTensors, buffer?: Float32Array): BatchGradient {
  const values = buffer !== undefined && buffer.length === g.size ? buffer : new Float32Array(g.size);
  const backend = tf.backend() as unknown as Partial<HeapBackend>;
  const view = typeof backend.typedArrayFromHeap === "function" ? backend as HeapBackend : undefined;
  let off = 0;
  for (const t of g.tensors) {
    values.set(
      (view !== undefined && t.dtype === "float32" ? view.typedArrayFromHeap(t) : t.dataSync()) as Float32Array,
      off,
    );
    off += t.size;
  }
  tf.dispose(g.tensors);
  return { names: g.names, weights: g.weights, values };
}

/** {@link readGradient} for backends that read asynchronously (WebGPU cannot read synchronously under Deno). */
export async function readGradientAsync(g: GradientTensors): Promise<BatchGradient> {
  const values = new Float32Array(g.size);
  const parts = await Promise.all(g.tensors.map((t) => t.data() as Promise<Float32Array>));
  let off = 0;
  for (const p of parts) {
    values.set(p, off);
    off += p.length;
  }
  tf.dispose(g.tensors);
  return { names: g.names, weights: g.weights, values };
}

/**
 * Whether the active backend reads tensors synchronously (`dataSync`). WebGPU does not under Deno (its synchronous
 * path needs a 2D canvas), so the loop reads asynchronously there.
 */
export function readsSynchronously(): boolean {
  return tf.getBackend() !== "webgpu";
}
