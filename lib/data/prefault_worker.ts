/**
 * The worker thread of ./prefault.ts: maps one address range (`MADV_HUGEPAGE`, then `MADV_POPULATE_WRITE`) and
 * reports through the shared state word. Neither call changes the range's contents.
 *
 * @module
 */

import { DONE, FAILED, RUNNING } from "./prefault.ts";

const MADV_HUGEPAGE = 14;
const MADV_POPULATE_WRITE = 23;
/** Bytes populated per call (a multiple of the 2 MiB huge page). */
const SLICE = 2n * 1024n * 1024n;

interface Job {
  state: Int32Array;
  start: bigint;
  length: bigint;
}

(self as unknown as Worker).onmessage = (event: MessageEvent<Job>) => {
  const { state, start, length } = event.data;
  Atomics.store(state, 0, RUNNING);
  let result = FAILED;
  try {
    const libc = Deno.dlopen("libc.so.6", {
      madvise: { parameters: ["pointer", "usize", "i32"], result: "i32" },
    });
    try {
      // Huge pages where the kernel allows them (fewer, larger faults); refused under THP "never", which is fine.
      libc.symbols.madvise(Deno.UnsafePointer.create(start), length, MADV_HUGEPAGE);
      // A slice at a time: populating holds the process's memory-map lock, and one call over the whole range
      // stalled the caller's own allocations (which need that lock) until it was done (measured: 3 s on 1.65 GB).
      // From the end backwards: the caller writes from the start, so the two meet in the middle and share the
      // faults, instead of the caller catching up with the worker and both faulting the same pages.
      let ok = true;
      for (let end = start + length; ok && end > start; end -= SLICE) {
        const at = end - start < SLICE ? start : end - SLICE;
        ok = libc.symbols.madvise(Deno.UnsafePointer.create(at), end - at, MADV_POPULATE_WRITE) === 0;
      }
      if (ok) result = DONE;
    } finally {
      libc.close();
    }
  } catch {
    // No glibc or no FFI in this thread: the caller's writes fault the pages in as usual.
  }
  Atomics.store(state, 0, result);
  Atomics.notify(state, 0);
};
