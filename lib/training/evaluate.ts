/**
 * Evaluation without gradients for the training loop: loss, loss components and per-row predictions over a whole
 * dataset in batches, and the row summary monitors see for models with several outputs.
 *
 * @module
 */

import { tf } from "./tfjs.ts";
import type { LossCounters } from "./losses.ts";
import {
  type ArrayDataset,
  datasetSize,
  disposeBatch,
  makeBatch,
  readsSynchronously,
  type Trainable,
} from "./trainable.ts";

/** Validation batch size giving at least two batches when n ≥ 2. */
export function validationBatchSize(n: number, batchSize: number, requested?: number): number {
  const cap = Math.max(1, Math.ceil(n / 2));
  return Math.max(1, Math.min(requested ?? batchSize * 4, cap));
}

/** What {@link evaluate} returns. */
export interface Evaluation {
  /** Mean loss per sample (each batch's loss weighted by its row count). */
  loss: number;
  /** Loss components by name, weighted like `loss`. */
  components: Record<string, number>;
  /** One value per row: see `EpochContext.predictions` in loop.ts. */
  predictions: Float32Array;
  /** Models with k > 1 outputs: the share of rows whose largest output is each class. */
  classShares?: number[];
  /** The first target column, in row order. */
  targets: Float32Array;
  /** Batches whose targets were all masked. */
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

/**
 * Loss and predictions over a whole dataset in batches (no gradients, no weight updates). Asynchronous so it also
 * runs on backends that only read asynchronously (WebGPU); on the others every read is synchronous.
 */
export async function evaluate(model: Trainable, d: ArrayDataset, batchSize: number): Promise<Evaluation> {
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
    const v = (readsSynchronously() ? packed.dataSync() : await packed.data()) as Float32Array;
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
