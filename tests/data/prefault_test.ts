/**
 * prefault maps an output array's pages on a worker thread. What must hold: it never changes a value (the caller
 * writes into the array while the worker maps it), small arrays, arrays outside shared memory and
 * `CANDOR_PREFAULT=off` are left alone, and once it reports "done" the pages nobody wrote are resident too (asked of
 * the kernel with mincore).
 */
import assert from "node:assert/strict";
import { outputFloat32, prefault, PREFAULT_MIN_BYTES, sharedFloat32 } from "../../lib/data/prefault.ts";

const linux = Deno.build.os === "linux";
const FLOATS = (PREFAULT_MIN_BYTES * 3) / 2 / 4; // 96 MiB

/** The share of the whole 4 KiB pages inside `view` that are resident (mincore(2)). */
function residentShare(view: Float32Array): number {
  const libc = Deno.dlopen("libc.so.6", { mincore: { parameters: ["pointer", "usize", "buffer"], result: "i32" } });
  try {
    const address = BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(view)));
    const start = (address + 4095n) & ~4095n;
    const end = (address + BigInt(view.byteLength)) & ~4095n;
    const pages = new Uint8Array(Number((end - start) / 4096n));
    assert.equal(libc.symbols.mincore(Deno.UnsafePointer.create(start), end - start, pages), 0);
    return pages.reduce((n, p) => n + (p & 1), 0) / pages.length;
  } finally {
    libc.close();
  }
}

Deno.test("prefault: small arrays and arrays outside shared memory are left alone", () => {
  assert.equal(prefault(sharedFloat32(PREFAULT_MIN_BYTES / 4 - 1)).finish(), "skipped");
  assert.equal(prefault(new Float32Array(FLOATS)).finish(), "skipped");
  assert.ok(outputFloat32(FLOATS).buffer instanceof SharedArrayBuffer);
  assert.ok(outputFloat32(PREFAULT_MIN_BYTES / 4 - 1).buffer instanceof ArrayBuffer);
});

Deno.test({
  name: "prefault: values written before and during the mapping survive it, and the pages end up mapped",
  ignore: !linux,
  fn() {
    const a = sharedFloat32(FLOATS);
    const quarter = a.length / 4;
    const before = (i: number) => Math.fround((i % 7919) - 3000.25);
    const during = (i: number) => Math.fround(-((i % 104729) + 0.125));
    for (let i = 0; i < quarter; i++) a[i] = before(i);
    const mapping = prefault(a);
    // The caller keeps writing the second quarter until the worker has finished (at most 20 s).
    const deadline = performance.now() + 20_000;
    do {
      for (let i = quarter; i < 2 * quarter; i++) a[i] = during(i);
    } while (mapping.state() !== "done" && performance.now() < deadline);
    assert.equal(mapping.finish(), "done");
    assert.equal(mapping.finish(), "done", "finish is idempotent");
    // Checked before anything reads the second half (a read can map memory too): nobody wrote it, so the worker must
    // have mapped every page of it.
    assert.equal(residentShare(a.subarray(2 * quarter)), 1, "the second half's pages are all resident");
    assert.equal(residentShare(sharedFloat32(FLOATS)), 0, "a fresh array's pages are not (the check can fail)");
    for (let i = 0; i < quarter; i++) if (a[i] !== before(i)) assert.fail(`a[${i}] = ${a[i]}`);
    for (let i = quarter; i < 2 * quarter; i++) if (a[i] !== during(i)) assert.fail(`a[${i}] = ${a[i]}`);
    for (let i = 2 * quarter; i < a.length; i++) if (a[i] !== 0) assert.fail(`a[${i}] = ${a[i]}, expected 0`);
  },
});

Deno.test("prefault: CANDOR_PREFAULT=off turns it off", () => {
  const previous = Deno.env.get("CANDOR_PREFAULT");
  Deno.env.set("CANDOR_PREFAULT", "off");
  try {
    assert.equal(prefault(sharedFloat32(FLOATS)).finish(), "skipped");
  } finally {
    if (previous === undefined) Deno.env.delete("CANDOR_PREFAULT");
    else Deno.env.set("CANDOR_PREFAULT", previous);
  }
});
