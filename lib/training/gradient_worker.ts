/**
 * The Web Worker side of data-parallel training (see data_parallel.ts): holds one replica of the model on its own
 * single-threaded tfjs backend and, per step, takes the parameters and its shard of the batch from shared memory,
 * computes the gradient of the loss on the shard and writes it back.
 *
 * Protocol: one message `{type: "init", module, args, control, data, text, layout}` — `await import(module)`,
 * `createReplica(args)` → a {@link Trainable}, answered with `{type: "ready", names, sizes}` (the variables, so the
 * main thread can check both sides agree) or `{type: "error", message}`. From then on the worker serves requests
 * through the shared buffers (layout in data_parallel.ts: `SHARED`, `SharedLayout`): it waits on the request counter
 * with `Atomics.wait`, computes, writes the gradient, loss and components (component names and weights, and errors, as UTF-8 text), stores
 * the request number in DONE and notifies. A request counter of −1 ends the loop.
 *
 * @module
 */

import { tf } from "./tfjs.ts";
import { gradientTensors, readGradient, type Trainable } from "./trainable.ts";
import { SHARED, type SharedLayout } from "./data_parallel.ts";

interface InitRequest {
  type: "init";
  module: string;
  args: unknown;
  control: SharedArrayBuffer;
  data: SharedArrayBuffer;
  text: SharedArrayBuffer;
  layout: SharedLayout;
}

// deno-lint-ignore no-explicit-any
const scope = self as any;
const encoder = new TextEncoder();

function writeText(text: Uint8Array, control: Int32Array, s: string): void {
  const bytes = encoder.encode(s).subarray(0, text.length);
  text.set(bytes);
  control[SHARED.TEXT_LENGTH] = bytes.length;
}

/** Computes one request's gradient into the shared buffers. */
function gradient(
  model: Trainable,
  vars: tf.Variable[],
  c: Int32Array,
  data: Float32Array,
  L: SharedLayout,
): { names: string[]; weights: number[] } {
  let off = L.params;
  for (const v of vars) {
    const t = tf.tensor(data.subarray(off, off + v.size), v.shape);
    v.assign(t);
    t.dispose();
    off += v.size;
  }
  const b = c[SHARED.ROWS];
  const hasW = c[SHARED.HAS_WEIGHTS] === 1;
  // Copies: the batch's value arrays must not change under the model while it runs (they are also cheap).
  const yValues = data.slice(L.y, L.y + b * L.yWidth);
  const weightValues = hasW ? data.slice(L.w, L.w + b) : undefined;
  const counters = { noValidTargets: 0 };
  const batch = {
    x: tf.tensor(data.subarray(L.x, L.x + b * L.sampleSize), [b, ...L.sampleShape]),
    y: L.yWidth === 1 ? tf.tensor1d(yValues) : tf.tensor2d(yValues, [b, L.yWidth]),
    weight: weightValues ? tf.tensor1d(weightValues) : undefined,
    yValues,
    weightValues,
    counters,
  };
  const { names, weights, values } = readGradient(gradientTensors(model, vars, batch));
  if (names.length > SHARED.HEADER - 3) throw new Error(`more than ${SHARED.HEADER - 3} loss components`);
  data.set(values.subarray(1 + names.length), L.grad);
  data[L.header] = values[0];
  data[L.header + 1] = counters.noValidTargets;
  data[L.header + 2] = names.length;
  data.set(values.subarray(1, 1 + names.length), L.header + 3);
  return { names, weights };
}

/** Serves requests until the counter is −1 (blocking this worker's thread, which has nothing else to do). */
function serve(model: Trainable, vars: tf.Variable[], init: InitRequest): void {
  const c = new Int32Array(init.control);
  const data = new Float32Array(init.data);
  const text = new Uint8Array(init.text);
  let seen = 0;
  for (;;) {
    Atomics.wait(c, SHARED.REQUEST, seen);
    const req = Atomics.load(c, SHARED.REQUEST);
    if (req < 0) return;
    if (req === seen) continue;
    seen = req;
    try {
      // Component names and their weights in the loss (float64, as JSON: the weights are not rounded to float32).
      writeText(text, c, JSON.stringify(gradient(model, vars, c, data, init.layout)));
      c[SHARED.STATUS] = 0;
    } catch (err) {
      writeText(text, c, err instanceof Error ? `${err.name}: ${err.message}` : String(err));
      c[SHARED.STATUS] = 1;
    }
    Atomics.store(c, SHARED.DONE, req);
    Atomics.notify(c, SHARED.DONE);
  }
}

scope.onmessage = async (e: MessageEvent) => {
  const msg = e.data as InitRequest;
  if (msg.type !== "init") return;
  let model: Trainable;
  let vars: tf.Variable[];
  try {
    const mod = await import(msg.module);
    if (typeof mod.createReplica !== "function") throw new Error(`${msg.module} exports no createReplica(args)`);
    model = await mod.createReplica(msg.args) as Trainable;
    const named = model.namedVariables();
    vars = named.map(([, v]) => v);
    scope.postMessage({ type: "ready", names: named.map(([n]) => n), sizes: vars.map((v) => v.size) });
  } catch (err) {
    scope.postMessage({ type: "error", message: err instanceof Error ? `${err.name}: ${err.message}` : String(err) });
    return;
  }
  serve(model, vars, msg);
};
