/**
 * Mapping a large output array's memory on another thread while the caller computes what goes into it.
 *
 * On virtual machines the first write to each page of fresh memory is slow: the host backs the page on demand. On the
 * 2-core VM candor is developed and tested on, first-writing the full feature set's 1.65 GB Float32 matrix (S&P 500
 * panel, 2.16 M rows × 191 features) took 4.5–7 s of the caller's time — more than the series kernels that fill it.
 * {@link prefault} hands that cost to a worker thread: it asks for transparent huge pages on the range (`madvise`
 * `MADV_HUGEPAGE` where FFI and glibc are available: fewer, larger faults) and touches every page from the end
 * backwards — the caller writes from the start, so the two share the faults — with an atomic add of zero
 * (`Atomics.add(x, i, 0)`), which maps the page without changing its value even while the caller writes the same
 * word. Hence the array must live in a SharedArrayBuffer: {@link sharedFloat32} allocates one (lazily zeroed, like an
 * ArrayBuffer). Page faults take only the faulting region's lock, so unlike `MADV_POPULATE_WRITE` (tried first: it
 * holds the process's memory-map lock, and the caller's own allocations — starting a worker, polars' buffers — then
 * waited behind it, a second each) the touches slow nothing else down.
 *
 * Arrays under 64 MiB, or not in shared memory, are left alone (a worker costs tens of milliseconds), and
 * `CANDOR_PREFAULT=off` turns it off; the caller's writes then fault the pages in as usual.
 *
 * Written by hand because no library does this: it is a loop of atomic adds on a Web Worker, so the caller's API stays
 * synchronous (the worker reports through `Atomics`, never through the event loop, so nothing is left pending when the
 * caller returns).
 *
 * @module
 */

/** Arrays smaller than this are not worth a worker. */
export const PREFAULT_MIN_BYTES = 64 * 1024 * 1024;

/** The worker's progress word: it moves from WAITING to RUNNING to DONE. */
export const WAITING = 0;
/** The worker is touching pages. */
export const RUNNING = 1;
/** Every page is mapped. */
export const DONE = 2;

/** Where a mapping stands: not started yet, running, finished, or never attempted (`skipped`). */
export type PrefaultState = "waiting" | "running" | "done" | "skipped";

/** A mapping under way; {@link Prefault.finish} must be called once the caller is done writing. */
export interface Prefault {
  /** The mapping's state now (does not wait). */
  state(): PrefaultState;
  /**
   * Stops the worker and returns its state at that moment: `"done"`, `"running"` (the caller finished first; the rest
   * of its pages were mapped by the caller's own writes), or `"skipped"` (it never started, or nothing was attempted).
   */
  finish(): PrefaultState;
}

/** What the worker receives. */
export interface PrefaultJob {
  /** The progress word. */
  state: Int32Array;
  /** The array's memory. */
  buffer: SharedArrayBuffer;
  /** The array's first byte in `buffer`. */
  byteOffset: number;
  /** The array's length in bytes. */
  byteLength: number;
}

const SKIPPED: Prefault = { state: () => "skipped", finish: () => "skipped" };

const STATES: Record<number, PrefaultState> = { [WAITING]: "waiting", [RUNNING]: "running", [DONE]: "done" };

/** A Float32Array of `length` zeros in a SharedArrayBuffer (what {@link prefault} and worker threads need). */
export function sharedFloat32(length: number): Float32Array {
  return new Float32Array(new SharedArrayBuffer(length * 4));
}

/** A Float64Array of `length` zeros in a SharedArrayBuffer. */
export function sharedFloat64(length: number): Float64Array {
  return new Float64Array(new SharedArrayBuffer(length * 8));
}

/** A Float32Array of `length` zeros: in shared memory when {@link prefault} would map it, else an ordinary one. */
export function outputFloat32(length: number): Float32Array {
  return length * 4 >= PREFAULT_MIN_BYTES ? sharedFloat32(length) : new Float32Array(length);
}

function enabled(): boolean {
  try {
    if (Deno.permissions.querySync({ name: "env", variable: "CANDOR_PREFAULT" }).state !== "granted") return true;
    const setting = (Deno.env.get("CANDOR_PREFAULT") ?? "").trim().toLowerCase();
    return setting !== "0" && setting !== "off";
  } catch {
    return true;
  }
}

/**
 * Starts mapping `view`'s memory on a worker thread when it is in a SharedArrayBuffer and at least
 * {@link PREFAULT_MIN_BYTES} (module doc); call `finish()` on the result when done writing (in a `finally`).
 */
export function prefault(view: ArrayBufferView): Prefault {
  if (!(view.buffer instanceof SharedArrayBuffer) || view.byteLength < PREFAULT_MIN_BYTES || !enabled()) {
    return SKIPPED;
  }
  const state = new Int32Array(new SharedArrayBuffer(4));
  let worker: Worker;
  try {
    worker = new Worker(new URL("./prefault_worker.ts", import.meta.url), { type: "module" });
  } catch {
    return SKIPPED;
  }
  const job: PrefaultJob = { state, buffer: view.buffer, byteOffset: view.byteOffset, byteLength: view.byteLength };
  worker.postMessage(job);
  let finished: PrefaultState | undefined;
  return {
    state: () => finished ?? STATES[Atomics.load(state, 0)],
    finish() {
      if (finished !== undefined) return finished;
      worker.terminate();
      const now = Atomics.load(state, 0);
      return finished = now === WAITING ? "skipped" : STATES[now];
    },
  };
}
