/**
 * The Web Worker side of data-parallel training (see data_parallel.ts): holds one replica of the model on its own
 * single-threaded tfjs backend and, per step, sets the parameters it is sent, computes the gradient of the loss on its
 * shard of the batch and sends it back as one flat Float32Array (transferred, not copied).
 *
 * Protocol (all messages are plain objects):
 * - in `{type: "init", module, args}`: `await import(module)` and `createReplica(args)` → a {@link Trainable};
 *   out `{type: "ready", names, sizes}` (the variables, so the main thread can check both sides agree).
 * - in `{type: "grad", id, params, x, y, w?, sampleShape, yWidth}`: out `{type: "grad", id, grad, loss, names,
 *   components, noValidTargets}`.
 * - any failure: out `{type: "error", id?, message}`; the main thread turns it into an error and terminates the worker.
 *
 * @module
 */

import * as tf from "@tensorflow/tfjs-core";
import type { Trainable } from "./loop.ts";

/** A step request as received by the worker. */
interface GradRequest {
  type: "grad";
  id: number;
  params: Float32Array;
  x: Float32Array;
  y: Float32Array;
  w?: Float32Array;
  sampleShape: number[];
  yWidth: number;
}

interface InitRequest {
  type: "init";
  module: string;
  args: unknown;
}

// deno-lint-ignore no-explicit-any
const scope = self as any;
let model: Trainable | undefined;
let vars: tf.Variable[] = [];

function gradient(r: GradRequest): void {
  if (model === undefined) throw new Error("gradient requested before init");
  let off = 0;
  for (const v of vars) {
    const t = tf.tensor(r.params.subarray(off, off + v.size), v.shape);
    v.assign(t);
    t.dispose();
    off += v.size;
  }
  if (off !== r.params.length) throw new Error(`received ${r.params.length} parameters, the replica has ${off}`);
  const b = r.y.length / r.yWidth;
  const counters = { noValidTargets: 0 };
  const batch = {
    x: tf.tensor(r.x, [b, ...r.sampleShape]),
    y: r.yWidth === 1 ? tf.tensor1d(r.y) : tf.tensor2d(r.y, [b, r.yWidth]),
    weight: r.w ? tf.tensor1d(r.w) : undefined,
    yValues: r.y,
    weightValues: r.w,
    counters,
  };
  const names: string[] = [];
  const comps: tf.Tensor[] = [];
  const { value, grads } = tf.variableGrads(() => {
    const { loss } = model!.forward(batch, true);
    for (const [k, c] of Object.entries(loss.components)) {
      names.push(k);
      comps.push(tf.keep(c));
    }
    return loss.total;
  }, vars);
  const packed = tf.tidy(() =>
    tf.concat([
      tf.reshape(value, [1]),
      ...comps.map((c) => tf.reshape(c, [1])),
      ...vars.map((v) => tf.reshape(grads[v.name], [-1])),
    ])
  );
  // One read-back; the copy owns its buffer, so it can be transferred.
  const all = new Float32Array(packed.dataSync() as Float32Array);
  tf.dispose([
    packed,
    value,
    ...comps,
    ...Object.values(grads),
    batch.x,
    batch.y,
    ...(batch.weight ? [batch.weight] : []),
  ]);
  const grad = all.subarray(1 + names.length);
  scope.postMessage(
    {
      type: "grad",
      id: r.id,
      loss: all[0],
      names,
      components: Array.from(all.subarray(1, 1 + names.length)),
      grad,
      noValidTargets: counters.noValidTargets,
    },
    [all.buffer],
  );
}

scope.onmessage = async (e: MessageEvent) => {
  const msg = e.data as InitRequest | GradRequest;
  try {
    if (msg.type === "init") {
      const mod = await import(msg.module);
      if (typeof mod.createReplica !== "function") throw new Error(`${msg.module} exports no createReplica(args)`);
      model = await mod.createReplica(msg.args) as Trainable;
      const named = model.namedVariables();
      vars = named.map(([, v]) => v);
      scope.postMessage({ type: "ready", names: named.map(([n]) => n), sizes: vars.map((v) => v.size) });
    } else if (msg.type === "grad") {
      gradient(msg);
    }
  } catch (err) {
    const m = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
    scope.postMessage({ type: "error", id: (msg as GradRequest).id, message: m });
  }
};
