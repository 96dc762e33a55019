/**
 * The data-parallel "worker never answers" case, run in a process of its own by data_parallel_test.ts: the hung
 * worker spins until its process exits (Deno's Worker.terminate does not stop a thread stuck in synchronous code), so
 * it must not share the test runner's process. Prints the outcome as one JSON line and exits.
 *
 * @module
 */

import { initBackend } from "../../lib/models/nn/backend.ts";
import { WorkerError } from "../../lib/training/data_parallel.ts";
import { train } from "../../lib/training/loop.ts";
import { linearTrainable } from "./linear_replica.ts";
import { weightedData } from "./_weighted_data.ts";

await initBackend("wasm");
const t0 = performance.now();
const outcome = await train(
  linearTrainable({ seed: 2, features: 6, fault: { kind: "hang", atCall: 2 } }),
  weightedData(256, 3),
  {
    epochs: 3,
    batchSize: 128,
    learningRate: 0.05,
    progress: false,
    workers: 2,
    workerTimeoutMs: 1500,
    // Starting a worker takes seconds on a busy machine: only the step bound is under test.
    workerStartTimeoutMs: 120_000,
  },
).then(
  () => ({ name: "resolved", message: "" }),
  (e) => ({ name: e instanceof WorkerError ? "WorkerError" : String(e?.name), message: String(e?.message) }),
);
console.log(JSON.stringify({ ...outcome, ms: performance.now() - t0 }));
Deno.exit(0);
