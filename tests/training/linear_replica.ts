/**
 * A linear model y = x·w + b with the loop's contract and a worker replica recipe, for the data-parallel tests.
 * `createReplica` is what gradient workers load; `fault` injects worker failures (throw, hang, NaN) at a given step.
 */
import * as tf from "@tensorflow/tfjs-core";
import { initBackend } from "../../lib/models/nn/backend.ts";
import type { Trainable } from "../../lib/training/loop.ts";
import { mse } from "../../lib/training/losses.ts";
import { SeededRandom } from "../../lib/training/rng.ts";

/** How a replica misbehaves from its `atCall`-th training forward pass on (1-based); the main thread never does. */
export interface Fault {
  kind: "throw" | "hang" | "nan" | "start";
  atCall: number;
}

/** Replica arguments (structured-cloneable). */
export interface LinearArgs {
  seed: number;
  features: number;
  fault?: Fault;
  /** Declared forward multiply-adds per sample (default 1e6, so that "auto" splits batches of ≥ 128 rows). */
  work?: number;
  /** Add an L2 penalty Σw² to the loss with this declared weight (default: none, the loss is the MSE alone). */
  l2Weight?: number;
}

let counter = 0;

/** The linear model; `replica` marks the worker copy (the only one that applies `fault`). */
export function linearTrainable(args: LinearArgs, replica = false): Trainable & { w: tf.Variable; b: tf.Variable } {
  const r = new SeededRandom(args.seed);
  const f = args.features;
  const w = tf.variable(
    tf.tensor2d(Float32Array.from({ length: f }, () => r.normal() * 0.1), [f, 1]),
    true,
    `lr${counter}/w`,
  );
  const b = tf.variable(tf.zeros([1]), true, `lr${counter++}/b`);
  let calls = 0;
  return {
    w,
    b,
    namedVariables: () => [["w", w], ["b", b]],
    forward(batch, training) {
      if (training) calls++;
      const fault = replica && args.fault !== undefined && training && calls >= args.fault.atCall
        ? args.fault.kind
        : undefined;
      if (fault === "throw") throw new Error("injected failure in the replica's forward pass");
      if (fault === "hang") { for (;;) { /* never returns: the pool's step timeout must fire */ } }
      let pred = tf.reshape(tf.add(tf.matMul(batch.x as tf.Tensor2D, w), b), [-1]);
      if (fault === "nan") pred = tf.mul(pred, NaN);
      const loss = mse(pred, batch.y, batch.weight);
      if (args.l2Weight === undefined) return { loss, pred };
      const l2 = tf.sum(tf.square(w)) as tf.Scalar;
      return {
        loss: {
          total: tf.add(loss.total, tf.mul(args.l2Weight, l2)) as tf.Scalar,
          components: { ...loss.components, l2 },
          weights: { l2: args.l2Weight },
        },
        pred,
      };
    },
    dataParallel: () => ({
      replica: { module: new URL("./linear_replica.ts", import.meta.url).href, args },
      workPerSample: args.work ?? 1e6,
      shardWeight: (y, wt) => wt === undefined ? y.length : wt.reduce((a, v) => a + v, 0),
    }),
  };
}

/** Worker entry: the replica of {@link linearTrainable}. */
export async function createReplica(args: LinearArgs): Promise<Trainable> {
  if (args.fault?.kind === "start") throw new Error("injected failure while building the replica");
  await initBackend("wasm");
  return linearTrainable(args, true);
}
