/**
 * The worker thread of ./prefault.ts: asks for huge pages on the range where it can, then touches every page of it
 * from the end backwards with an atomic add of zero (which never changes a value), and reports through the shared
 * state word.
 *
 * @module
 */

import { DONE, type PrefaultJob, RUNNING } from "./prefault.ts";

const MADV_HUGEPAGE = 14;
const PAGE = 4096;

/** `madvise(MADV_HUGEPAGE)` over the whole pages of the range, when FFI and glibc are available (else nothing). */
function hugePages(view: Uint8Array): void {
  try {
    if (Deno.build.os !== "linux" || Deno.permissions.querySync({ name: "ffi" }).state !== "granted") return;
    const libc = Deno.dlopen("libc.so.6", { madvise: { parameters: ["pointer", "usize", "i32"], result: "i32" } });
    try {
      const address = BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(view)));
      const start = (address + BigInt(PAGE - 1)) & ~BigInt(PAGE - 1);
      const end = (address + BigInt(view.byteLength)) & ~BigInt(PAGE - 1);
      // Refused under THP "never", which is fine: the touches then map 4 KiB pages.
      if (end > start) libc.symbols.madvise(Deno.UnsafePointer.create(start), end - start, MADV_HUGEPAGE);
    } finally {
      libc.close();
    }
  } catch {
    // No FFI, no glibc: 4 KiB pages.
  }
}

(self as unknown as Worker).onmessage = (event: MessageEvent<PrefaultJob>) => {
  const { state, buffer, byteOffset, byteLength } = event.data;
  Atomics.store(state, 0, RUNNING);
  hugePages(new Uint8Array(buffer, byteOffset, byteLength));
  // Whole 4-byte words inside the range; a word every 4 KiB touches every page, plus the last word.
  const first = Math.ceil(byteOffset / 4);
  const words = new Int32Array(buffer, first * 4, Math.floor((byteOffset + byteLength) / 4) - first);
  if (words.length > 0) Atomics.add(words, words.length - 1, 0);
  for (let i = words.length - 1; i >= 0; i -= PAGE / 4) Atomics.add(words, i, 0);
  Atomics.store(state, 0, DONE);
  Atomics.notify(state, 0);
};
