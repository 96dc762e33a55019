/**
 * OpenBLAS's single-precision matrix product (`cblas_sgemm`) through Deno's FFI, operating in place on a
 * `WebAssembly.Memory` (tfjs-wasm's heap): the operands are `Float32Array` views into the memory, so nothing is
 * copied. Views are taken from `memory.buffer` on every call, because a growing heap detaches earlier views.
 *
 * Why a system BLAS instead of a hand-written WebAssembly kernel: native OpenBLAS (AVX2/AVX-512 kernels chosen at
 * load time) multiplies the training-step shapes of candor's models 2–3× faster than the best 128-bit SIMD kernel we
 * wrote (measured on the LSTM and MLP benchmark shapes, e.g. [256 × 64]·[64 × 256] at 43 vs 19 GFLOP/s on one core),
 * and it is the same library PyTorch's CPU build uses here.
 *
 * Where it comes from: Debian's `libopenblas0-pthread` (`libopenblas.so.0`). `CANDOR_BLAS` overrides: `0` (or `off`)
 * disables it, any other value is the path of a CBLAS library to load instead (another OpenBLAS build, BLIS's CBLAS).
 * Loading needs `--allow-ffi`. When it cannot be loaded, {@link loadBlas} returns the reason and the callers keep
 * tfjs's own kernels (the reason is recorded with the backend's patches in every fit report).
 *
 * Kernels: OpenBLAS chooses them for the CPU when it loads (`OPENBLAS_CORETYPE` overrides, e.g. `SkylakeX` for
 * its AVX-512 kernels on AMD CPUs, where 0.3.21 picks the AVX2 "Haswell" ones); the kernels in use are part of
 * {@link Blas.description}.
 *
 * Threads: OpenBLAS is set to one thread. Training is parallel across gradient threads instead (the main thread and
 * Web Workers, lib/training/data_parallel.ts), each calling BLAS on its own shard; OpenBLAS's own threads would compete
 * with them and busy-wait between calls, which costs most when the machine is shared.
 *
 * @module
 */

/** `cblas_sgemm` row-major entry point and what was loaded. */
export interface Blas {
  /**
   * `C = alpha · op(A) · op(B) + beta · C` for row-major matrices in `memory`, with op(X) = X or Xᵀ. `a`, `b`, `c` are
   * byte offsets of the first elements; `lda`, `ldb`, `ldc` the row strides in elements of the matrices as stored
   * (A is stored M × K, or K × M when transposed; B K × N, or N × K). With `beta = 0`, C is not read.
   */
  sgemm(
    memory: WebAssembly.Memory,
    transA: boolean,
    transB: boolean,
    M: number,
    N: number,
    K: number,
    alpha: number,
    a: number,
    lda: number,
    b: number,
    ldb: number,
    beta: number,
    c: number,
    ldc: number,
  ): void;
  /** What was loaded, e.g. `OpenBLAS 0.3.21 (Haswell kernels, 1 thread) from libopenblas.so.0`. */
  readonly description: string;
}

const ROW_MAJOR = 101, NO_TRANS = 111, TRANS = 112;

const SYMBOLS = {
  cblas_sgemm: {
    parameters: [
      "i32",
      "i32",
      "i32",
      "i32",
      "i32",
      "i32",
      "f32",
      "buffer",
      "i32",
      "buffer",
      "i32",
      "f32",
      "buffer",
      "i32",
    ],
    result: "void",
  },
  openblas_set_num_threads: { parameters: ["i32"], result: "void", optional: true },
  openblas_get_config: { parameters: [], result: "pointer", optional: true },
  openblas_get_corename: { parameters: [], result: "pointer", optional: true },
} as const;

let loaded: Blas | string | undefined;

function cString(p: Deno.PointerValue | null | undefined): string | undefined {
  return p ? new Deno.UnsafePointerView(p).getCString() : undefined;
}

/**
 * Loads the CBLAS library once per thread (see the module doc for `CANDOR_BLAS`), or returns why it cannot be used:
 * disabled, missing, no FFI permission, or no `cblas_sgemm` symbol.
 */
export function loadBlas(): Blas | string {
  if (loaded !== undefined) return loaded;
  const setting = (Deno.env.get("CANDOR_BLAS") ?? "").trim();
  if (setting === "0" || setting.toLowerCase() === "off") return loaded = `disabled by CANDOR_BLAS=${setting}`;
  const path = setting === "" ? "libopenblas.so.0" : setting;
  let lib: Deno.DynamicLibrary<typeof SYMBOLS>;
  try {
    lib = Deno.dlopen(path, SYMBOLS);
  } catch (e) {
    const why = (e as Error).message.split("\n")[0];
    return loaded = `${path} could not be loaded (${why}); on Debian/Ubuntu: apt-get install libopenblas0-pthread`;
  }
  const s = lib.symbols;
  s.openblas_set_num_threads?.(1);
  const config = cString(s.openblas_get_config?.());
  const core = cString(s.openblas_get_corename?.());
  const version = config?.split(" ").slice(0, 2).join(" ") ?? "CBLAS";
  const description = `${version}${core ? ` (${core} kernels, 1 thread)` : ""} from ${path}`;
  const sgemm = s.cblas_sgemm;
  loaded = {
    description,
    sgemm(memory, transA, transB, M, N, K, alpha, a, lda, b, ldb, beta, c, ldc) {
      const buffer = memory.buffer;
      sgemm(
        ROW_MAJOR,
        transA ? TRANS : NO_TRANS,
        transB ? TRANS : NO_TRANS,
        M,
        N,
        K,
        alpha,
        new Float32Array(buffer, a),
        lda,
        new Float32Array(buffer, b),
        ldb,
        beta,
        new Float32Array(buffer, c),
        ldc,
      );
    },
  };
  return loaded;
}
