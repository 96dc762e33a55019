/**
 * Wavelet denoising for xLSTM-TS-style preprocessing — causally.
 *
 * Papers that denoise prices with a discrete wavelet transform usually transform the *whole* series once, then train
 * and test on the smoothed result. Every reconstructed value then depends on prices after it (the filters are
 * two-sided and the thresholds are estimated from the whole series): a look-ahead leak that makes direction accuracy
 * look spectacular. Here:
 *
 * - {@link causalWaveletDenoise} denoises, for each day t, only the trailing window `x[t−W+1 … t]` and keeps the last
 *   reconstructed value, so the value at t uses nothing after t (cost O(n · W) per series).
 * - {@link wholeSeriesWaveletDenoise} is the leaking whole-series version, kept only as a labelled demonstration:
 *   {@link WAVELET_WHOLE_SERIES_LEAK_DEMO} is a feature built on it, and the truncation test in lib/leakage flags it.
 *
 * Denoising: `discrete-wavelets` decomposition (Daubechies-4 by default, symmetric padding), soft thresholding of the
 * detail coefficients at Donoho–Johnstone's universal threshold `σ·√(2 ln n)` with `σ = median(|d₁|) / 0.6745` from
 * the finest details, then reconstruction.
 *
 * @module
 */

import { lazyNamespace, lazyPackage } from "../lazy_package.ts";
import type { SeriesFeatureDef, SymbolSeries } from "./definition.ts";

/** Options of the wavelet denoisers. */
export interface WaveletDenoiseOptions {
  /** Wavelet name understood by discrete-wavelets (default "db4"). */
  wavelet?: string;
  /** Decomposition level (default: min(3, the maximum level for the length)). */
  level?: number;
}

/**
 * The package's runtime export (its bundled .d.ts describes the class, not the UMD object), loaded on first use
 * (lib/lazy_package.ts): a CommonJS package, whose loading would otherwise be paid by every import of the library.
 */
const wt = lazyNamespace(lazyPackage<{
  maxLevel(dataLength: number, wavelet: string): number;
  wavedec(data: readonly number[], wavelet: string, mode: string, level: number): number[][];
  waverec(coeffs: readonly (readonly number[])[], wavelet: string): number[];
}>("discrete-wavelets"));

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Denoises one block with soft universal thresholding; returns the reconstruction (same length as the block). */
export function denoiseBlock(x: readonly number[], options: WaveletDenoiseOptions = {}): number[] {
  const wavelet = options.wavelet ?? "db4";
  const w = wavelet;
  const maxLevel = wt.maxLevel(x.length, w);
  const level = Math.max(1, Math.min(options.level ?? 3, maxLevel));
  const coeffs = wt.wavedec(x, w, "symmetric", level);
  const finest = coeffs[coeffs.length - 1];
  const sigma = median(finest.map(Math.abs)) / 0.6745;
  const thr = sigma * Math.sqrt(2 * Math.log(x.length));
  const shrunk = coeffs.map((c, i) => i === 0 ? c : c.map((v) => (Math.abs(v) <= thr ? 0 : v > 0 ? v - thr : v + thr)));
  const rec = wt.waverec(shrunk, w);
  return rec.slice(0, x.length);
}

/**
 * Causal denoiser: value at t = last point of the denoised trailing window `x[t−window+1 … t]`; NaN for the first
 * `window − 1` points and for windows containing a non-finite value.
 */
export function causalWaveletDenoise(
  x: ArrayLike<number>,
  window = 64,
  options: WaveletDenoiseOptions = {},
): Float64Array {
  const n = x.length;
  const out = new Float64Array(n).fill(Number.NaN);
  const block = new Array<number>(window);
  for (let t = window - 1; t < n; t++) {
    let finite = true;
    for (let k = 0; k < window; k++) {
      block[k] = x[t - window + 1 + k];
      if (!Number.isFinite(block[k])) finite = false;
    }
    if (!finite) continue;
    out[t] = denoiseBlock(block, options)[window - 1];
  }
  return out;
}

/**
 * LEAKS — demonstration only. Denoises the whole series at once, so every value depends on the future. Never use it
 * to build features; it exists so tests and notebooks can show the truncation test catching it.
 */
export function wholeSeriesWaveletDenoise(x: ArrayLike<number>, options: WaveletDenoiseOptions = {}): Float64Array {
  const values = Array.from(x);
  if (values.length < 8 || values.some((v) => !Number.isFinite(v))) return new Float64Array(values.length).fill(NaN);
  return Float64Array.from(denoiseBlock(values, options));
}

function logClose(s: SymbolSeries): Float64Array {
  return s.close.map(Math.log);
}

/**
 * `WDEV{W}` = `ln C_t − D_t`, with D the causal wavelet-denoised log close over a trailing window of W days: how far
 * the close sits above its denoised trend. Past-only.
 */
export function waveletDeviationFeature(window = 64, options: WaveletDenoiseOptions = {}): SeriesFeatureDef {
  return {
    kind: "series",
    name: `WDEV${window}`,
    family: "wavelet",
    lookback: window - 1,
    description: `ln C_t minus the causal ${options.wavelet ?? "db4"} wavelet-denoised log close over ${window} days`,
    compute: (s) => {
      const lc = logClose(s);
      const d = causalWaveletDenoise(lc, window, options);
      return lc.map((v, i) => v - d[i]);
    },
  };
}

/**
 * LEAKS — labelled demonstration: like {@link waveletDeviationFeature} but with the whole-series denoiser. The
 * truncation test reports it as a `leak`; it is not part of any built-in feature set.
 */
export const WAVELET_WHOLE_SERIES_LEAK_DEMO: SeriesFeatureDef = {
  kind: "series",
  name: "WDEV_WHOLE_SERIES_LEAK_DEMO",
  family: "wavelet (leaking demonstration)",
  lookback: 0,
  description: "LEAKS: ln C_t minus the whole-series wavelet-denoised log close (uses the future; demonstration only)",
  compute: (s) => {
    const lc = logClose(s);
    const d = wholeSeriesWaveletDenoise(lc);
    return lc.map((v, i) => v - d[i]);
  },
};
