/*
 * Single-precision matrix multiplication for candor's training on tfjs-wasm, compiled to WebAssembly SIMD (see
 * gemm.ts for why, and tools/build_gemm_wasm.sh for the build). The module imports tfjs-wasm's own memory and works
 * directly on tensors' heap offsets, so it must never use memory of its own: no stack, no static data, no calls into a
 * C library. tools/build_gemm_wasm.sh checks the compiled module for that.
 *
 *   C[i, j] = act(bias[j] + sum_k A[i*sai + k*sak] * B[k*N + j])     i < M, j < N, k < K (ascending)
 *
 * A is read with arbitrary strides (sai, sak): row-major A (sai = K, sak = 1) or a transposed one stored [K, M]
 * (sai = 1, sak = M). B is row-major [K, N]; a transposed B is transposed into a scratch buffer first (transpose()).
 * bias may be 0 (none); relu != 0 applies max(0, .). Every output element is summed over k in ascending order, one
 * product at a time, starting from its bias (or 0), each step a multiply-add (MADD: fused where the CPU has FMA, so
 * results can differ between machines in the last float32 bit, never between runs on one machine).
 *
 * Blocking: 4 rows x 8 columns of C in eight 4-lane accumulators, inside the cache blocks described at gemm(). Column
 * tails use one 4-lane vector (width 1-3 read as a full vector except on the last row of B, so nothing past B's end
 * is ever read); row tails use the same kernels one row at a time.
 */

#include <wasm_simd128.h>

#define ALWAYS_INLINE __attribute__((always_inline)) static inline

/* acc + a * b: relaxed SIMD's multiply-add, one fused instruction where the CPU has FMA (x86-64 with FMA3, arm64),
 * a multiply and an add elsewhere. */
#define MADD(acc, a, b) wasm_f32x4_relaxed_madd(a, b, acc)

ALWAYS_INLINE v128_t relu4(v128_t x) { return wasm_f32x4_max(x, wasm_f32x4_splat(0.0f)); }

/* Loads w (1..4) floats as a vector; lanes >= w are 0. Safe at the very end of a buffer. */
ALWAYS_INLINE v128_t load_partial(const float* p, int w) {
  return wasm_f32x4_make(p[0], w > 1 ? p[1] : 0.0f, w > 2 ? p[2] : 0.0f, 0.0f);
}

ALWAYS_INLINE void store_partial(float* p, v128_t v, int w) {
  p[0] = wasm_f32x4_extract_lane(v, 0);
  if (w > 1) p[1] = wasm_f32x4_extract_lane(v, 1);
  if (w > 2) p[2] = wasm_f32x4_extract_lane(v, 2);
}

/* rows (1..4) x 8 columns over K values of k; starts from bias (first) or from C (a later chunk of k). */
ALWAYS_INLINE void block8(const float* A, int sai, int sak, const float* B, float* C, int rows, int K, int N,
                          const float* bias, int first, int relu) {
  v128_t c00, c01, c10, c11, c20, c21, c30, c31;
  if (first) {
    const v128_t init0 = bias ? wasm_v128_load(bias) : wasm_f32x4_splat(0.0f);
    const v128_t init1 = bias ? wasm_v128_load(bias + 4) : wasm_f32x4_splat(0.0f);
    c00 = init0, c01 = init1, c10 = init0, c11 = init1, c20 = init0, c21 = init1, c30 = init0, c31 = init1;
  } else {
    c00 = wasm_v128_load(C), c01 = wasm_v128_load(C + 4);
    c10 = rows > 1 ? wasm_v128_load(C + N) : c00, c11 = rows > 1 ? wasm_v128_load(C + N + 4) : c01;
    c20 = rows > 2 ? wasm_v128_load(C + 2 * N) : c00, c21 = rows > 2 ? wasm_v128_load(C + 2 * N + 4) : c01;
    c30 = rows > 3 ? wasm_v128_load(C + 3 * N) : c00, c31 = rows > 3 ? wasm_v128_load(C + 3 * N + 4) : c01;
  }
  const float* a0 = A;
  const float* a1 = A + (rows > 1 ? sai : 0);
  const float* a2 = A + (rows > 2 ? 2 * sai : 0);
  const float* a3 = A + (rows > 3 ? 3 * sai : 0);
  for (int k = 0; k < K; k++) {
    const v128_t b0 = wasm_v128_load(B);
    const v128_t b1 = wasm_v128_load(B + 4);
    B += N;
    const v128_t v0 = wasm_v128_load32_splat(a0);
    const v128_t v1 = wasm_v128_load32_splat(a1);
    const v128_t v2 = wasm_v128_load32_splat(a2);
    const v128_t v3 = wasm_v128_load32_splat(a3);
    a0 += sak;
    a1 += sak;
    a2 += sak;
    a3 += sak;
    c00 = MADD(c00, v0, b0);
    c01 = MADD(c01, v0, b1);
    c10 = MADD(c10, v1, b0);
    c11 = MADD(c11, v1, b1);
    c20 = MADD(c20, v2, b0);
    c21 = MADD(c21, v2, b1);
    c30 = MADD(c30, v3, b0);
    c31 = MADD(c31, v3, b1);
  }
  if (relu) {
    c00 = relu4(c00), c01 = relu4(c01), c10 = relu4(c10), c11 = relu4(c11);
    c20 = relu4(c20), c21 = relu4(c21), c30 = relu4(c30), c31 = relu4(c31);
  }
  wasm_v128_store(C, c00);
  wasm_v128_store(C + 4, c01);
  if (rows > 1) wasm_v128_store(C + N, c10), wasm_v128_store(C + N + 4, c11);
  if (rows > 2) wasm_v128_store(C + 2 * N, c20), wasm_v128_store(C + 2 * N + 4, c21);
  if (rows > 3) wasm_v128_store(C + 3 * N, c30), wasm_v128_store(C + 3 * N + 4, c31);
}

/* rows (1..4) x w (1..4) columns over K values of k; `end`: B's last row is this chunk's last (see below). */
ALWAYS_INLINE void block4(const float* A, int sai, int sak, const float* B, float* C, int rows, int K, int N, int w,
                          const float* bias, int first, int end, int relu) {
  v128_t c0, c1, c2, c3;
  if (first) {
    const v128_t init = bias ? (w == 4 ? wasm_v128_load(bias) : load_partial(bias, w)) : wasm_f32x4_splat(0.0f);
    c0 = init, c1 = init, c2 = init, c3 = init;
  } else {
    c0 = w == 4 ? wasm_v128_load(C) : load_partial(C, w);
    c1 = rows > 1 ? (w == 4 ? wasm_v128_load(C + N) : load_partial(C + N, w)) : c0;
    c2 = rows > 2 ? (w == 4 ? wasm_v128_load(C + 2 * N) : load_partial(C + 2 * N, w)) : c0;
    c3 = rows > 3 ? (w == 4 ? wasm_v128_load(C + 3 * N) : load_partial(C + 3 * N, w)) : c0;
  }
  const float* a0 = A;
  const float* a1 = A + (rows > 1 ? sai : 0);
  const float* a2 = A + (rows > 2 ? 2 * sai : 0);
  const float* a3 = A + (rows > 3 ? 3 * sai : 0);
  for (int k = 0; k < K; k++) {
    /* A full-vector read of a narrow tail stays inside B except on its last row. */
    const v128_t b = (w == 4 || !end || k + 1 < K) ? wasm_v128_load(B) : load_partial(B, w);
    B += N;
    c0 = MADD(c0, wasm_v128_load32_splat(a0), b);
    c1 = MADD(c1, wasm_v128_load32_splat(a1), b);
    c2 = MADD(c2, wasm_v128_load32_splat(a2), b);
    c3 = MADD(c3, wasm_v128_load32_splat(a3), b);
    a0 += sak;
    a1 += sak;
    a2 += sak;
    a3 += sak;
  }
  if (relu) c0 = relu4(c0), c1 = relu4(c1), c2 = relu4(c2), c3 = relu4(c3);
  if (w == 4) {
    wasm_v128_store(C, c0);
    if (rows > 1) wasm_v128_store(C + N, c1);
    if (rows > 2) wasm_v128_store(C + 2 * N, c2);
    if (rows > 3) wasm_v128_store(C + 3 * N, c3);
  } else {
    store_partial(C, c0, w);
    if (rows > 1) store_partial(C + N, c1, w);
    if (rows > 2) store_partial(C + 2 * N, c2, w);
    if (rows > 3) store_partial(C + 3 * N, c3, w);
  }
}

/* Cache blocking: chunks of KC values of k (B's chunk, KC x N, stays in L2) and MC rows of A (an MC x KC block); within
 * them one 8-column panel of B (KC x 32 bytes, in L1) serves every 4-row block. Later chunks of k continue from the
 * float32 partial sums stored in C, so the summation order is the same as without chunks. */
#define KC 256
#define MC 64

__attribute__((export_name("gemm"))) void gemm(const float* A, int sai, int sak, const float* B, float* C, int M,
                                                int K, int N, const float* bias, int relu) {
  for (int k0 = 0; k0 < K; k0 += KC) {
    const int kc = K - k0 < KC ? K - k0 : KC;
    const int first = k0 == 0, last = k0 + kc == K;
    const int act = relu && last;
    const float* Ak = A + k0 * sak;
    const float* Bk = B + k0 * N;
    for (int i0 = 0; i0 < M; i0 += MC) {
      const int i1 = M - i0 < MC ? M : i0 + MC;
      int j = 0;
      for (; j + 8 <= N; j += 8) {
        const float* bj = bias ? bias + j : 0;
        int i = i0;
        for (; i + 4 <= i1; i += 4) block8(Ak + i * sai, sai, sak, Bk + j, C + i * N + j, 4, kc, N, bj, first, act);
        for (; i < i1; i++) block8(Ak + i * sai, sai, sak, Bk + j, C + i * N + j, 1, kc, N, bj, first, act);
      }
      for (; j < N; j += 4) {
        const int w = N - j < 4 ? N - j : 4;
        const float* bj = bias ? bias + j : 0;
        int i = i0;
        for (; i + 4 <= i1; i += 4) {
          block4(Ak + i * sai, sai, sak, Bk + j, C + i * N + j, 4, kc, N, w, bj, first, last, act);
        }
        for (; i < i1; i++) block4(Ak + i * sai, sai, sak, Bk + j, C + i * N + j, 1, kc, N, w, bj, first, last, act);
      }
    }
  }
}

/* dst[c, r] = src[r, c] for a row-major [rows, cols] src, in 8 x 8 tiles. */
__attribute__((export_name("transpose"))) void transpose(const float* src, float* dst, int rows, int cols) {
  for (int r0 = 0; r0 < rows; r0 += 8) {
    const int r1 = r0 + 8 < rows ? r0 + 8 : rows;
    for (int c0 = 0; c0 < cols; c0 += 8) {
      const int c1 = c0 + 8 < cols ? c0 + 8 : cols;
      for (int r = r0; r < r1; r++) {
        for (int c = c0; c < c1; c++) dst[c * rows + r] = src[r * cols + c];
      }
    }
  }
}
