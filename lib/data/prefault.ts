/**
 * Mapping a large output array's memory on another thread while the caller computes what goes into it.
 *
 * On virtual machines the first write to each page of fresh memory is slow: the host backs the page on demand. On the
 * 2-core VM candor is developed and tested on, first-writing the full feature set's 1.65 GB Float32 matrix (S&P 500
 * panel, 2.16 M rows × 191 features) one 4 KiB page at a time took 4.5–4.7 s of the caller's time — more than the 176
 * series kernels that fill it. Asking the kernel to map the range ahead (`madvise` `MADV_HUGEPAGE`, then
 * `MADV_POPULATE_WRITE`, Linux ≥ 5.14) costs the same 0.2–3 s or so (depending on how much freed memory the guest
 * still has backed), but on a worker thread, in parallel with the computation; the caller's writes then find the
 * pages mapped (0.02 s to touch them all).
 *
 * Populating never changes a byte of the range: it only maps pages (zero-filled where none was), so it is safe while
 * the caller writes into the same array, and harmless even if the array is freed meanwhile. Anything missing —
 * another OS, no `--allow-ffi`, no glibc, an older kernel, `CANDOR_PREFAULT=off` — makes it a no-op: the caller's
 * writes then fault the pages in as usual. Arrays under 64 MiB are left alone (a worker costs tens of milliseconds).
 *
 * Written by hand because no library does this: it is two system calls, and the thread is a Web Worker so the
 * caller's API stays synchronous (the worker reports through `Atomics`, never through the event loop, so nothing is
 * left pending when the caller returns).
 *
 * @module
 */

/** Arrays smaller than this are not worth a worker. */
export const PREFAULT_MIN_BYTES = 64 * 1024 * 1024;

const PAGE = 4096n;

/** The worker's progress word: it moves from WAITING to RUNNING to DONE or FAILED. */
export const WAITING = 0;
/** The worker is inside `madvise`. */
export const RUNNING = 1;
/** The range is mapped. */
export const DONE = 2;
/** The system refused (old kernel, no glibc); the caller's writes fault the pages in as usual. */
export const FAILED = 3;

/** Where a mapping stands: not started yet, running, finished (`done`, `failed`), or never attempted (`skipped`). */
export type PrefaultState = "waiting" | "running" | "done" | "failed" | "skipped";

/** A mapping under way; {@link Prefault.finish} must be called once the caller is done writing. */
export interface Prefault {
  /** The mapping's state now (does not wait). */
  state(): PrefaultState;
  /**
   * Waits (at most `timeoutMs`, default 60 s) for a worker that has started, then stops it, and returns the final
   * state; a worker that has not started by then is stopped without waiting (`"skipped"`), and so is one still
   * running after the timeout (`"running"`).
   */
  finish(timeoutMs?: number): PrefaultState;
}

const SKIPPED: Prefault = { state: () => "skipped", finish: () => "skipped" };

const STATES: Record<number, PrefaultState> = {
  [WAITING]: "waiting",
  [RUNNING]: "running",
  [DONE]: "done",
  [FAILED]: "failed",
};

function enabled(): boolean {
  if (Deno.build.os !== "linux") return false;
  try {
    if (Deno.permissions.querySync({ name: "ffi" }).state !== "granted") return false;
    if (Deno.permissions.querySync({ name: "env", variable: "CANDOR_PREFAULT" }).state !== "granted") return true;
    const setting = (Deno.env.get("CANDOR_PREFAULT") ?? "").trim().toLowerCase();
    return setting !== "0" && setting !== "off";
  } catch {
    return false;
  }
}

/**
 * Starts mapping `view`'s memory on a worker thread when it is at least {@link PREFAULT_MIN_BYTES} and the system
 * allows it (module doc); call `finish()` on the result when done writing (in a `finally`).
 */
export function prefault(view: ArrayBufferView): Prefault {
  if (view.byteLength < PREFAULT_MIN_BYTES || !enabled()) return SKIPPED;
  const address = BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(view)));
  const start = (address + PAGE - 1n) & ~(PAGE - 1n);
  const end = (address + BigInt(view.byteLength)) & ~(PAGE - 1n);
  if (end <= start) return SKIPPED;
  const state = new Int32Array(new SharedArrayBuffer(4));
  let worker: Worker;
  try {
    worker = new Worker(new URL("./prefault_worker.ts", import.meta.url), { type: "module" });
  } catch {
    return SKIPPED;
  }
  worker.postMessage({ state, start, length: end - start });
  let finished: PrefaultState | undefined;
  return {
    state: () => finished ?? STATES[Atomics.load(state, 0)],
    finish(timeoutMs = 60_000) {
      if (finished !== undefined) return finished;
      // A worker that has not even started by now (the caller computed for a while) is not waited for.
      if (Atomics.load(state, 0) === RUNNING) Atomics.wait(state, 0, RUNNING, timeoutMs);
      const now = Atomics.load(state, 0);
      // A worker stopped inside madvise finishes that call first (harmless either way: module doc).
      worker.terminate();
      return finished = now === WAITING ? "skipped" : STATES[now];
    },
  };
}
