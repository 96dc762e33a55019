/**
 * Post-hoc calibration of model outputs and the sign-bias check, both fitted on training data only.
 *
 * - **Centering** shifts predictions by a constant so that their (weighted) mean on the training rows equals the
 *   training labels' mean: it removes a systematic tilt (a direction model that says "up" 80 % of the time while the
 *   base rate is 52 %) without changing the ranking.
 * - **Isotonic** regression maps predictions through the monotone (non-decreasing) step function that best fits the
 *   training labels in least squares (pool-adjacent-violators). Between fitted points it interpolates linearly and
 *   outside the fitted range it clips, as scikit-learn's `IsotonicRegression(out_of_bounds="clip")` does; tests check
 *   against fixtures produced by scikit-learn. Hand-written: PAVA is a dozen lines and no maintained npm package
 *   matches scikit-learn's tie handling and interpolation.
 * - **Positive share**: the share of predictions above the decision threshold, checked against a band. A model whose
 *   share of "up" calls sits far from the base rate is usually broken (collapsed, or learned the class prior).
 *
 * Calibrators are plain JSON so they are saved with the model they belong to.
 *
 * @module
 */

import { ConfigError } from "../../errors.ts";

/** A fitted calibration: JSON-serializable. `clip` bounds the output (probabilities: [0, 1]). */
export type Calibrator =
  | { kind: "identity" }
  | { kind: "centering"; offset: number; clip?: [number, number] }
  | { kind: "isotonic"; x: number[]; y: number[] };

/** Which calibration to fit. */
export type CalibrationMethod = "none" | "centering" | "isotonic";

function checkLengths(pred: ArrayLike<number>, y: ArrayLike<number>, w?: ArrayLike<number>): void {
  if (pred.length !== y.length) throw new ConfigError(`calibration: ${pred.length} predictions for ${y.length} labels`);
  if (w && w.length !== y.length) throw new ConfigError(`calibration: ${w.length} weights for ${y.length} labels`);
  if (y.length === 0) throw new ConfigError("calibration: no training rows to fit on");
}

/**
 * Fits a centering offset: `offset = mean_w(y) − mean_w(pred)`. With `clip`, calibrated outputs are clamped (use
 * `[0, 1]` for probabilities).
 */
export function fitCentering(
  pred: ArrayLike<number>,
  y: ArrayLike<number>,
  opts: { sampleWeight?: ArrayLike<number>; clip?: [number, number] } = {},
): Calibrator {
  checkLengths(pred, y, opts.sampleWeight);
  let sw = 0, sp = 0, sy = 0;
  for (let i = 0; i < y.length; i++) {
    const w = opts.sampleWeight ? opts.sampleWeight[i] : 1;
    sw += w;
    sp += w * pred[i];
    sy += w * y[i];
  }
  if (!(sw > 0)) throw new ConfigError("calibration: sample weights sum to zero");
  return { kind: "centering", offset: (sy - sp) / sw, ...(opts.clip ? { clip: opts.clip } : {}) };
}

/**
 * Fits a non-decreasing isotonic regression of `y` on `pred` by pool-adjacent-violators (weighted). Ties in `pred`
 * are merged first into their weighted mean, as scikit-learn does.
 */
export function fitIsotonic(
  pred: ArrayLike<number>,
  y: ArrayLike<number>,
  opts: { sampleWeight?: ArrayLike<number> } = {},
): Calibrator {
  checkLengths(pred, y, opts.sampleWeight);
  const order = Array.from({ length: pred.length }, (_, i) => i).sort((a, b) => pred[a] - pred[b]);
  // Merge ties in x.
  const xs: number[] = [], ys: number[] = [], ws: number[] = [];
  for (const i of order) {
    const w = opts.sampleWeight ? opts.sampleWeight[i] : 1;
    if (!Number.isFinite(pred[i]) || !Number.isFinite(y[i])) {
      throw new ConfigError(`calibration: non-finite prediction or label at row ${i}`);
    }
    if (w <= 0) continue;
    const last = xs.length - 1;
    if (last >= 0 && xs[last] === pred[i]) {
      ys[last] = (ys[last] * ws[last] + y[i] * w) / (ws[last] + w);
      ws[last] += w;
    } else {
      xs.push(pred[i]);
      ys.push(y[i]);
      ws.push(w);
    }
  }
  if (xs.length === 0) throw new ConfigError("calibration: every sample weight is zero");
  // PAVA over blocks: value, weight, and how many points each block spans.
  const bv: number[] = [], bw: number[] = [], bn: number[] = [];
  for (let i = 0; i < xs.length; i++) {
    bv.push(ys[i]);
    bw.push(ws[i]);
    bn.push(1);
    while (bv.length > 1 && bv[bv.length - 2] > bv[bv.length - 1]) {
      const v2 = bv.pop()!, w2 = bw.pop()!, n2 = bn.pop()!;
      const k = bv.length - 1;
      bv[k] = (bv[k] * bw[k] + v2 * w2) / (bw[k] + w2);
      bw[k] += w2;
      bn[k] += n2;
    }
  }
  const fitted: number[] = [];
  bv.forEach((v, b) => {
    for (let j = 0; j < bn[b]; j++) fitted.push(v);
  });
  return { kind: "isotonic", x: xs, y: fitted };
}

/** Fits the requested calibration on training predictions and labels (`"none"` gives the identity). */
export function fitCalibrator(
  method: CalibrationMethod,
  pred: ArrayLike<number>,
  y: ArrayLike<number>,
  opts: { sampleWeight?: ArrayLike<number>; clip?: [number, number] } = {},
): Calibrator {
  if (method === "none") return { kind: "identity" };
  if (method === "centering") return fitCentering(pred, y, opts);
  if (method === "isotonic") return fitIsotonic(pred, y, opts);
  throw new ConfigError(`unknown calibration ${JSON.stringify(method)}; use "none", "centering" or "isotonic"`);
}

/** Applies a calibrator in place-free fashion, returning a new array. */
export function applyCalibrator(c: Calibrator, pred: ArrayLike<number>): Float64Array {
  const out = Float64Array.from(pred);
  if (c.kind === "identity") return out;
  if (c.kind === "centering") {
    const [lo, hi] = c.clip ?? [-Infinity, Infinity];
    for (let i = 0; i < out.length; i++) out[i] = Math.min(hi, Math.max(lo, out[i] + c.offset));
    return out;
  }
  const { x, y } = c;
  for (let i = 0; i < out.length; i++) {
    const v = out[i];
    if (Number.isNaN(v)) continue;
    if (v <= x[0]) {
      out[i] = y[0];
      continue;
    }
    if (v >= x[x.length - 1]) {
      out[i] = y[y.length - 1];
      continue;
    }
    let lo = 0, hi = x.length - 1; // x[lo] < v < x[hi]
    while (hi - lo > 1) {
      const mid = (lo + hi) >> 1;
      if (x[mid] <= v) lo = mid;
      else hi = mid;
    }
    out[i] = y[lo] + (y[hi] - y[lo]) * (v - x[lo]) / (x[hi] - x[lo]);
  }
  return out;
}

/** Result of {@link checkPositiveShare}. */
export interface PositiveShareCheck {
  /** Share of predictions strictly above `threshold` (NaNs excluded). */
  share: number;
  /** The accepted band `[low, high]`. */
  band: [number, number];
  /** Decision threshold a prediction must exceed to count as positive. */
  threshold: number;
  /** Whether the share lies inside the band (false when there are no non-NaN predictions). */
  ok: boolean;
  /** Human-readable warning when outside the band. */
  warning?: string;
}

/**
 * Checks the share of positive calls (prediction > `threshold`; 0.5 for probabilities, 0 for returns) against
 * `band` (default [0.2, 0.8]). Guards against sign bias: a model calling "up" on nearly every row.
 */
export function checkPositiveShare(
  pred: ArrayLike<number>,
  opts: { threshold?: number; band?: [number, number]; what?: string } = {},
): PositiveShareCheck {
  const threshold = opts.threshold ?? 0.5;
  const band = opts.band ?? [0.2, 0.8];
  if (!(band[0] <= band[1])) throw new ConfigError(`positive-share band [${band}] must have low ≤ high`);
  let pos = 0, n = 0;
  for (let i = 0; i < pred.length; i++) {
    if (Number.isNaN(pred[i])) continue;
    n++;
    if (pred[i] > threshold) pos++;
  }
  const share = n === 0 ? NaN : pos / n;
  const ok = n > 0 && share >= band[0] && share <= band[1];
  const what = opts.what ?? "predictions";
  return {
    share,
    band,
    threshold,
    ok,
    ...(ok ? {} : {
      warning: `sign bias: ${(share * 100).toFixed(1)} % of ${what} are above ${threshold} ` +
        `(accepted band ${(band[0] * 100).toFixed(0)}–${(band[1] * 100).toFixed(0)} %)`,
    }),
  };
}
