/*
 * Element-wise and layout kernels for candor's training on tfjs-wasm, compiled to WebAssembly SIMD (see blas_kernels.ts
 * for how they are used between OpenBLAS matrix products, and tools/build_wasm_kernels.sh for the build). The module
 * imports tfjs-wasm's own memory and works directly on tensors' heap offsets, so it must never use memory of its own:
 * no stack, no static data, no calls into a C library. The build checks the compiled module for that.
 *
 * Arithmetic is plain float32 (no fused multiply-add: -ffp-contract=off), so results are the same on every machine.
 * Every loop handles any length: four lanes at a time, then the last 1-3 elements through partial loads and stores.
 *
 * LSTM conventions (PyTorch's gate order i, f, g, o): a step's pre-activations z = [z_i, z_f, z_g, z_o] are rows of
 * 4H values; i, f, o = sigmoid, g = tanh; c_t = f * c_{t-1} + i * g; h_t = o * tanh(c_t).
 */

#include <wasm_simd128.h>

#define EXPORT(name) __attribute__((export_name(#name)))
#define INLINE __attribute__((always_inline)) static inline

typedef v128_t f4;

INLINE f4 splat(float x) { return wasm_f32x4_splat(x); }
INLINE f4 add(f4 a, f4 b) { return wasm_f32x4_add(a, b); }
INLINE f4 sub(f4 a, f4 b) { return wasm_f32x4_sub(a, b); }
INLINE f4 mul(f4 a, f4 b) { return wasm_f32x4_mul(a, b); }

/* Loads w (1..4) floats; lanes >= w are 0. Never reads past p[w - 1]. */
INLINE f4 load(const float* p, int w) {
  if (w >= 4) return wasm_v128_load(p);
  return wasm_f32x4_make(p[0], w > 1 ? p[1] : 0.0f, w > 2 ? p[2] : 0.0f, 0.0f);
}

/* Stores the first w (1..4) lanes. */
INLINE void store(float* p, f4 v, int w) {
  if (w >= 4) {
    wasm_v128_store(p, v);
    return;
  }
  p[0] = wasm_f32x4_extract_lane(v, 0);
  if (w > 1) p[1] = wasm_f32x4_extract_lane(v, 1);
  if (w > 2) p[2] = wasm_f32x4_extract_lane(v, 2);
}

/*
 * e^x, x clamped to [-87, 88] (so 2^n stays a normal float). Cody-Waite reduction x = n ln2 + r, |r| <= ln2 / 2, and
 * Cephes' expf polynomial on r: relative error below 2e-7 over the range. n is rounded by adding 1.5 * 2^23 + 127
 * (the float's last mantissa bits then hold n + 127, which shifted into the exponent field give 2^n); the clamps are
 * pmin/pmax, single instructions on x86 (NaN handling is not needed: inputs are finite, or NaN propagates anyway).
 */
INLINE f4 exp4(f4 x) {
  x = wasm_f32x4_pmin(wasm_f32x4_pmax(x, splat(-87.0f)), splat(88.0f));
  const f4 magic = splat(12583039.0f); /* 1.5 * 2^23 + 127 */
  const f4 t = add(mul(x, splat(1.44269504088896341f)), magic);
  const f4 n = sub(t, magic);
  f4 r = sub(x, mul(n, splat(0.693359375f)));
  r = sub(r, mul(n, splat(-2.12194440e-4f)));
  f4 p = splat(1.9875691500e-4f);
  p = add(mul(p, r), splat(1.3981999507e-3f));
  p = add(mul(p, r), splat(8.3334519073e-3f));
  p = add(mul(p, r), splat(4.1665795894e-2f));
  p = add(mul(p, r), splat(1.6666665459e-1f));
  p = add(mul(p, r), splat(5.0000001201e-1f));
  p = add(add(mul(mul(p, r), r), r), splat(1.0f));
  return mul(p, wasm_i32x4_shl(t, 23));
}

/* 1 / (1 + e^-x). */
INLINE f4 sigmoid4(f4 x) { return wasm_f32x4_div(splat(1.0f), add(splat(1.0f), exp4(wasm_f32x4_neg(x)))); }

/* tanh(x) = 2 sigmoid(2x) - 1 (absolute error ~1e-7 near 0, where tanh(x) ~ x). */
INLINE f4 tanh4(f4 x) { return sub(mul(splat(2.0f), sigmoid4(add(x, x))), splat(1.0f)); }

/*
 * Stores one row's four gate gradients at lanes j..j+w-1 of dz (a row of 4H: [d_i, d_f, d_g, d_o]) and adds them to
 * the bias gradient db [4H]: the common tail of the LSTM and sLSTM backward steps.
 */
INLINE void store_gate_grads(float* dz, float* db, int H, int j, int w, f4 gi, f4 gf, f4 gg, f4 go) {
  const f4 g[4] = {gi, gf, gg, go};
  for (int q = 0; q < 4; q++) {
    store(dz + q * H + j, g[q], w);
    store(db + q * H + j, add(load(db + q * H + j, w), g[q]), w);
  }
}

/*
 * One LSTM step forward for B rows. z: [B, 4H] pre-activations, replaced by the activations [i, f, g, o]; c_prev:
 * [B, H] (ignored when first != 0: c_{-1} = 0); writes c, tanh(c) and h, each [B, H].
 */
EXPORT(lstm_forward_step)
void lstm_forward_step(float* z, const float* c_prev, float* c, float* tc, float* h, int B, int H, int first) {
  for (int b = 0; b < B; b++) {
    float* zi = z + b * 4 * H;
    float* zf = zi + H;
    float* zg = zf + H;
    float* zo = zg + H;
    const int row = b * H;
    for (int j = 0; j < H; j += 4) {
      const int w = H - j < 4 ? H - j : 4;
      const f4 i = sigmoid4(load(zi + j, w));
      const f4 f = sigmoid4(load(zf + j, w));
      const f4 g = tanh4(load(zg + j, w));
      const f4 o = sigmoid4(load(zo + j, w));
      const f4 cp = first ? splat(0.0f) : load(c_prev + row + j, w);
      const f4 cn = add(mul(f, cp), mul(i, g));
      const f4 t = tanh4(cn);
      store(zi + j, i, w);
      store(zf + j, f, w);
      store(zg + j, g, w);
      store(zo + j, o, w);
      store(c + row + j, cn, w);
      store(tc + row + j, t, w);
      store(h + row + j, mul(o, t), w);
    }
  }
}

/*
 * One LSTM step backward for B rows. a: [B, 4H] activations of the step; c_prev: [B, H] (ignored when first != 0);
 * tc: tanh(c_t) [B, H]; dh: [B, H] gradient reaching h_t through the recurrence, plus, when has_dy != 0, dy's row b
 * read at dy + b * dy_stride (a sequence output's gradient); dc: [B, H] gradient reaching c_t from step t + 1, replaced
 * by the gradient reaching c_{t-1}. Writes dz: [B, 4H] (the gradient of the pre-activations) and adds its column sums
 * to db [4H] (rows in ascending order).
 *
 *   dh_t = dh + dy_t;  dc_t = dc + dh_t o (1 - tanh^2 c_t)
 *   dz_i = dc_t g i (1 - i);  dz_f = dc_t c_{t-1} f (1 - f);  dz_g = dc_t i (1 - g^2);  dz_o = dh_t tanh(c_t) o (1 - o)
 *   dc_{t-1} = dc_t f
 */
EXPORT(lstm_backward_step)
void lstm_backward_step(const float* a, const float* c_prev, const float* tc, const float* dh, const float* dy,
                        int dy_stride, int has_dy, float* dc, float* dz, float* db, int B, int H, int first) {
  const f4 one = splat(1.0f);
  for (int b = 0; b < B; b++) {
    const float* ai = a + b * 4 * H;
    float* dzi = dz + b * 4 * H;
    const int row = b * H;
    for (int j = 0; j < H; j += 4) {
      const int w = H - j < 4 ? H - j : 4;
      const f4 i = load(ai + j, w);
      const f4 f = load(ai + H + j, w);
      const f4 g = load(ai + 2 * H + j, w);
      const f4 o = load(ai + 3 * H + j, w);
      const f4 t = load(tc + row + j, w);
      const f4 cp = first ? splat(0.0f) : load(c_prev + row + j, w);
      f4 dht = load(dh + row + j, w);
      if (has_dy) dht = add(dht, load(dy + b * dy_stride + j, w));
      const f4 dct = add(load(dc + row + j, w), mul(mul(dht, o), sub(one, mul(t, t))));
      const f4 gi = mul(mul(mul(dct, g), i), sub(one, i));
      const f4 gf = mul(mul(mul(dct, cp), f), sub(one, f));
      const f4 gg = mul(mul(dct, i), sub(one, mul(g, g)));
      const f4 go = mul(mul(mul(dht, t), o), sub(one, o));
      store(dc + row + j, mul(dct, f), w);
      store_gate_grads(dzi, db, H, j, w, gi, gf, gg, go);
    }
  }
}

/*
 * log(1 + e) for e in [0, 1]: 2 atanh(s) with s = e / (2 + e) in [0, 1/3], the series to s^15 (truncation below 1e-9).
 */
INLINE f4 log1p_unit(f4 e) {
  const f4 s = wasm_f32x4_div(e, add(splat(2.0f), e));
  const f4 s2 = mul(s, s);
  f4 p = splat(1.0f / 15.0f);
  p = add(mul(p, s2), splat(1.0f / 13.0f));
  p = add(mul(p, s2), splat(1.0f / 11.0f));
  p = add(mul(p, s2), splat(1.0f / 9.0f));
  p = add(mul(p, s2), splat(1.0f / 7.0f));
  p = add(mul(p, s2), splat(1.0f / 5.0f));
  p = add(mul(p, s2), splat(1.0f / 3.0f));
  p = add(mul(p, s2), splat(1.0f));
  return mul(mul(splat(2.0f), s), p);
}

/*
 * sLSTM conventions (xLSTM's scalar-memory cell; lib/models/nn/layers.ts `slstm` is the op-by-op definition): a step's
 * pre-activations are rows [z_i, z_f, z_z, z_o] of 4H values; log f = log sigmoid(z_f); the stabilizer
 * m_t = max(log f + m_{t-1}, z_i) (m_0 = z_i); i' = e^(z_i - m_t), f' = e^(log f + m_{t-1} - m_t) (0 at t = 0, where
 * c_{-1} = n_{-1} = 0); g = tanh(z_z), o = sigmoid(z_o); c_t = f' c_{t-1} + i' g, n_t = f' n_{t-1} + i' (>= 1, since
 * i' or f' is 1 at every step), h_t = o c_t / n_t.
 *
 * One sLSTM step forward for B rows. z: [B, 4H] pre-activations, replaced by [i', f', g, o]; c_prev, n_prev: [B, H]
 * (ignored when first != 0); m: [B, H] stabilizer, read (unless first) and replaced by m_t; writes c, n, h and
 * sf = sigmoid(-z_f) = d log f / d z_f, each [B, H].
 */
EXPORT(slstm_forward_step)
void slstm_forward_step(float* z, const float* c_prev, const float* n_prev, float* m, float* c, float* n, float* h,
                        float* sf, int B, int H, int first) {
  for (int b = 0; b < B; b++) {
    float* zi = z + b * 4 * H;
    float* zf = zi + H;
    float* zz = zf + H;
    float* zo = zz + H;
    const int row = b * H;
    for (int j = 0; j < H; j += 4) {
      const int w = H - j < 4 ? H - j : 4;
      const f4 it = load(zi + j, w);
      const f4 ft = load(zf + j, w);
      const f4 g = tanh4(load(zz + j, w));
      const f4 o = sigmoid4(load(zo + j, w));
      /* One exponential for both log sigmoid(z_f) = min(z_f, 0) - log(1 + e) and sigmoid(-z_f) = (z_f >= 0 ? e : 1) /
       * (1 + e), with e = e^-|z_f|. */
      const f4 e = exp4(wasm_f32x4_neg(wasm_f32x4_abs(ft)));
      const f4 logf = sub(wasm_f32x4_pmin(ft, splat(0.0f)), log1p_unit(e));
      const v128_t nonneg = wasm_f32x4_ge(ft, splat(0.0f));
      const f4 sfv = wasm_f32x4_div(wasm_v128_bitselect(e, splat(1.0f), nonneg), add(splat(1.0f), e));
      f4 mt, ip, fp, cn, nn;
      if (first) {
        mt = it;
        ip = splat(1.0f);
        fp = splat(0.0f);
        cn = g;
        nn = ip;
      } else {
        /* m_t is the larger of the two terms, so one of i', f' is e^0 = 1 and the other e^-|z_i - carried|: one
         * exponential for both. */
        const f4 carried = add(logf, load(m + row + j, w));
        const v128_t input_wins = wasm_f32x4_ge(it, carried);
        mt = wasm_f32x4_pmax(carried, it);
        const f4 smaller = exp4(wasm_f32x4_neg(wasm_f32x4_abs(sub(it, carried))));
        ip = wasm_v128_bitselect(splat(1.0f), smaller, input_wins);
        fp = wasm_v128_bitselect(smaller, splat(1.0f), input_wins);
        cn = add(mul(fp, load(c_prev + row + j, w)), mul(ip, g));
        nn = add(mul(fp, load(n_prev + row + j, w)), ip);
      }
      store(zi + j, ip, w);
      store(zf + j, fp, w);
      store(zz + j, g, w);
      store(zo + j, o, w);
      store(m + row + j, mt, w);
      store(c + row + j, cn, w);
      store(n + row + j, nn, w);
      store(h + row + j, mul(o, wasm_f32x4_div(cn, nn)), w);
      store(sf + row + j, sfv, w);
    }
  }
}

/*
 * One sLSTM step backward for B rows. The stabilizer cancels in c / n, so h does not depend on it and it is held
 * constant here (its paths' contributions sum to zero). a: [B, 4H] = [i', f', g, o] of the step; c, n: [B, H] of the
 * step; c_prev, n_prev: [B, H] (ignored when first != 0); sf: sigmoid(-z_f) [B, H]; dh: [B, H] gradient reaching h_t
 * through the recurrence, plus dy's row b at dy + b * dy_stride when has_dy != 0; dc, dn: [B, H] gradients reaching
 * c_t and n_t from step t + 1, replaced by those reaching c_{t-1} and n_{t-1}. Writes dz [B, 4H] and adds its column
 * sums to db [4H] (rows in ascending order).
 *
 *   dh_t = dh + dy_t;  r = c_t / n_t;  dc_t = dc + dh_t o / n_t;  dn_t = dn - dh_t o r / n_t
 *   dz_i = (dc_t g + dn_t) i';  dz_f = (dc_t c_{t-1} + dn_t n_{t-1}) f' sigmoid(-z_f);  dz_z = dc_t i' (1 - g^2)
 *   dz_o = dh_t r o (1 - o);  dc_{t-1} = dc_t f';  dn_{t-1} = dn_t f'
 */
EXPORT(slstm_backward_step)
void slstm_backward_step(const float* a, const float* c, const float* n, const float* c_prev, const float* n_prev,
                         const float* sf, const float* dh, const float* dy, int dy_stride, int has_dy, float* dc,
                         float* dn, float* dz, float* db, int B, int H, int first) {
  const f4 one = splat(1.0f);
  for (int b = 0; b < B; b++) {
    const float* ai = a + b * 4 * H;
    float* dzi = dz + b * 4 * H;
    const int row = b * H;
    for (int j = 0; j < H; j += 4) {
      const int w = H - j < 4 ? H - j : 4;
      const f4 ip = load(ai + j, w);
      const f4 fp = load(ai + H + j, w);
      const f4 g = load(ai + 2 * H + j, w);
      const f4 o = load(ai + 3 * H + j, w);
      const f4 nt = load(n + row + j, w);
      const f4 r = wasm_f32x4_div(load(c + row + j, w), nt);
      f4 dht = load(dh + row + j, w);
      if (has_dy) dht = add(dht, load(dy + b * dy_stride + j, w));
      const f4 dr = wasm_f32x4_div(mul(dht, o), nt);
      const f4 dct = add(load(dc + row + j, w), dr);
      const f4 dnt = sub(load(dn + row + j, w), mul(dr, r));
      const f4 gi = mul(add(mul(dct, g), dnt), ip);
      const f4 gf = first ? splat(0.0f)
                          : mul(mul(add(mul(dct, load(c_prev + row + j, w)), mul(dnt, load(n_prev + row + j, w))), fp),
                                load(sf + row + j, w));
      const f4 gz = mul(mul(dct, ip), sub(one, mul(g, g)));
      const f4 go = mul(mul(mul(dht, r), o), sub(one, o));
      store(dc + row + j, mul(dct, fp), w);
      store(dn + row + j, mul(dnt, fp), w);
      store_gate_grads(dzi, db, H, j, w, gi, gf, gz, go);
    }
  }
}

/* dst[b, a, :] = src[a, b, :] for src [A, B, C] (swaps the two leading axes; rows of C values are copied whole). */
EXPORT(swap01)
void swap01(const float* src, float* dst, int A, int B, int C) {
  for (int a = 0; a < A; a++) {
    for (int b = 0; b < B; b++) {
      const float* s = src + (a * B + b) * C;
      float* d = dst + (b * A + a) * C;
      for (int k = 0; k < C; k += 4) store(d + k, load(s + k, C - k < 4 ? C - k : 4), C - k < 4 ? C - k : 4);
    }
  }
}

/* dst[r, :] = row[:] for r < rows (a bias broadcast over rows; row may be 0 for zeros). */
EXPORT(fill_rows)
void fill_rows(float* dst, const float* row, int rows, int cols) {
  for (int r = 0; r < rows; r++) {
    float* d = dst + r * cols;
    for (int k = 0; k < cols; k += 4) {
      const int w = cols - k < 4 ? cols - k : 4;
      store(d + k, row ? load(row + k, w) : splat(0.0f), w);
    }
  }
}

/* x = max(x, 0) in place, n values. */
EXPORT(relu)
void relu(float* x, int n) {
  for (int k = 0; k < n; k += 4) {
    const int w = n - k < 4 ? n - k : 4;
    store(x + k, wasm_f32x4_max(load(x + k, w), splat(0.0f)), w);
  }
}

/* dz = dy where y > 0, else 0 (ReLU's backward from its output y), n values. */
EXPORT(relu_backward)
void relu_backward(const float* dy, const float* y, float* dz, int n) {
  for (int k = 0; k < n; k += 4) {
    const int w = n - k < 4 ? n - k : 4;
    const v128_t positive = wasm_f32x4_gt(load(y + k, w), splat(0.0f));
    store(dz + k, wasm_v128_and(load(dy + k, w), positive), w);
  }
}

/* dst[j] = sum_r src[r, j] over r ascending, for src [rows, cols] (row by row, so dst stays in cache). */
EXPORT(column_sums)
void column_sums(const float* src, float* dst, int rows, int cols) {
  fill_rows(dst, 0, 1, cols);
  for (int r = 0; r < rows; r++) {
    const float* s = src + r * cols;
    for (int k = 0; k < cols; k += 4) {
      const int w = cols - k < 4 ? cols - k : 4;
      store(dst + k, add(load(dst + k, w), load(s + k, w)), w);
    }
  }
}
