/**
 * An Alpha158-style feature set after Qlib's operator families, in candor's price basis (./definition.ts).
 *
 * Notation: C, O, H, L, V are the adjusted close, open, high, low and volume of one symbol on day t; `Ref(X, k)` is X
 * k days earlier; windows `d ∈ {5, 10, 20, 30, 60}` end at t and include it; `ε = 1e−12`; standard deviations are
 * sample ones (ddof 1). A windowed value is NaN until its window is full (Qlib fills partial windows; we prefer an
 * explicit warm-up of `lookback` rows).
 *
 * Candle shape (no history):
 * - `KMID = (C−O)/O`, `KLEN = (H−L)/O`, `KMID2 = (C−O)/(H−L+ε)`, `KUP = (H−max(O,C))/O`, `KUP2 = (H−max(O,C))/(H−L+ε)`,
 *   `KLOW = (min(O,C)−L)/O`, `KLOW2 = (min(O,C)−L)/(H−L+ε)`, `KSFT = (2C−H−L)/O`, `KSFT2 = (2C−H−L)/(H−L+ε)`;
 * - `OPEN0 = O/C`, `HIGH0 = H/C`, `LOW0 = L/C`.
 *
 * Per window d:
 * - `ROCd = Ref(C,d)/C`; `MAd = mean(C)/C`; `STDd = std(C)/C`; `MAXd = max(H)/C`; `MINd = min(L)/C`;
 * - `BETAd = slope/C`, `RSQRd = R²`, `RESId = residual_t/C` of the least-squares line of C on time over the window;
 * - `QTLUd = q0.8(C)/C`, `QTLDd = q0.2(C)/C` (linear interpolation);
 * - `RANKd`: percentile of C_t among the window's closes, `(#{C_k < C_t} + (#{C_k = C_t} + 1)/2) / d`;
 * - `RSVd = (C − min(L)) / (max(H) − min(L) + ε)`;
 * - `IMAXd = (argmax H + 1)/d`, `IMINd = (argmin L + 1)/d` (1-based position in the window, oldest first, first of
 *   ties), `IMXDd = IMAXd − IMINd`;
 * - `CORRd = corr(C, ln(V+1))`, `CORDd = corr(C/Ref(C,1), ln(V/Ref(V,1) + 1))` (NaN when either side is constant);
 * - `CNTPd = mean(C > Ref(C,1))`, `CNTNd = mean(C < Ref(C,1))`, `CNTDd = CNTPd − CNTNd`;
 * - with `ΔC = C − Ref(C,1)`: `SUMPd = Σmax(ΔC,0) / (Σ|ΔC| + ε)`, `SUMNd = Σmax(−ΔC,0) / (Σ|ΔC| + ε)`,
 *   `SUMDd = SUMPd − SUMNd`;
 * - `VMAd = mean(V)/(V+ε)`, `VSTDd = std(V)/(V+ε)`;
 * - `WVMAd = std(|C/Ref(C,1) − 1|·V) / (mean(|C/Ref(C,1) − 1|·V) + ε)`;
 * - `VSUMPd`, `VSUMNd`, `VSUMDd`: as SUMP/SUMN/SUMD on ΔV = V − Ref(V,1).
 *
 * Every feature here is a per-symbol typed-array kernel (`kind: "series"`; ./rolling.ts and below), written by hand:
 * polars' JS API has no rolling regression, correlation, rank or arg-max; its per-symbol (`.over`) rolling std and
 * quantile were the slowest part of the set; its running sums, evaluated on the whole frame, carry rounding residue
 * from one symbol into the next (seen by the truncation test as changing values on flat or thinly traded stretches);
 * and even its exact operations (shifts, rolling max/min, counts, candle arithmetic) cost several times more than one
 * pass over a symbol's arrays, because every intermediate is a fresh full-height column (bench/features.ts). Those
 * exact ones were polars expressions before and keep their values to the last bit (tests/features/kernels_test.ts
 * checks them against the expressions). Each value depends only on its own window of its own symbol.
 *
 * Kernels return arrays from ./arena.ts: called inside a feature's `compute`, a result is valid until the evaluator
 * moves to the next symbol; called anywhere else it is an ordinary new array.
 *
 * @module
 */

import type { FeatureDef, SeriesFeatureDef, SymbolSeries } from "./definition.ts";
import { rollingMeanAndSquares, rollingMoments, rollingQuantilesAndRank, rollingStd, rollingSum } from "./rolling.ts";
import { logVolume } from "./technical.ts";
import { floats, ints, nans } from "./arena.ts";

/** Qlib's ε in ratio denominators. */
const EPS = 1e-12;

/** Windows of the Alpha158 set. */
export const ALPHA158_WINDOWS = [5, 10, 20, 30, 60] as const;

function s(
  name: string,
  lookback: number,
  description: string,
  compute: (s: SymbolSeries) => Float64Array,
  family: string,
): SeriesFeatureDef {
  return { kind: "series", name, lookback, description, compute, family };
}

/** Least-squares line of y on time over each full window of length d: slope, R² and the residual at the window's end. */
export function rollingRegression(
  y: Float64Array,
  d: number,
): { slope: Float64Array; rsq: Float64Array; resid: Float64Array } {
  const n = y.length;
  const index = floats(n);
  for (let i = 0; i < n; i++) index[i] = i;
  const m = rollingMoments(index, y, d);
  const sxx = (d * (d * d - 1)) / 12; // exact Σ(k − k̄)² of d consecutive integers
  const slope = nans(n);
  const rsq = nans(n);
  const resid = nans(n);
  for (let t = d - 1; t < n; t++) {
    if (Number.isNaN(m.sxy[t])) continue;
    const b = m.sxy[t] / sxx;
    slope[t] = b;
    const syy = m.syy[t];
    rsq[t] = syy > 1e-20 * d * m.meanY[t] * m.meanY[t] && syy > 0 ? (m.sxy[t] * m.sxy[t]) / (sxx * syy) : Number.NaN;
    resid[t] = y[t] - (m.meanY[t] + (b * (d - 1)) / 2);
  }
  return { slope, rsq, resid };
}

/** Pearson correlation of x and y over each full window of length d (NaN if a side is constant or non-finite). */
export function rollingCorrelation(x: Float64Array, y: Float64Array, d: number): Float64Array {
  const m = rollingMoments(x, y, d);
  const out = nans(x.length);
  for (let t = d - 1; t < x.length; t++) {
    const cxx = m.sxx[t];
    const cyy = m.syy[t];
    const mx = m.meanX[t];
    const my = m.meanY[t];
    // Treat a side as constant when its spread is at rounding level, not only exactly zero.
    if (!(cxx > 1e-20 * d * mx * mx && cyy > 1e-20 * d * my * my && cxx > 0 && cyy > 0)) continue;
    out[t] = m.sxy[t] / Math.sqrt(cxx * cyy);
  }
  return out;
}

/**
 * 1-based position (oldest first, first of ties) of the window's maximum (`sign = 1`) or minimum (`sign = −1`), with a
 * monotonic deque: O(n) for any window length.
 */
export function rollingArgExtreme(x: Float64Array, d: number, sign: 1 | -1): Float64Array {
  const n = x.length;
  const out = nans(n);
  const deque = ints(n);
  let head = 0;
  let tail = 0;
  for (let t = 0; t < n; t++) {
    // Drop strictly worse values from the back: an equal older value stays in front (first of ties wins).
    while (tail > head && sign * x[deque[tail - 1]] < sign * x[t]) tail--;
    deque[tail++] = t;
    if (deque[head] <= t - d) head++;
    if (t >= d - 1) out[t] = deque[head] - (t - d + 1) + 1;
  }
  return out;
}

/** Element-wise `f(a[i], b[i])` into a new array (a plain loop: typed-array `map` is several times slower). */
export function combine(a: Float64Array, b: Float64Array, f: (x: number, y: number) => number): Float64Array {
  const out = floats(a.length);
  for (let i = 0; i < out.length; i++) out[i] = f(a[i], b[i]);
  return out;
}

/*
 * The kernels below are explicit loops rather than `combine` with a callback: with a dozen different callbacks the
 * call site goes megamorphic and the full set ran several times slower (bench/features.ts).
 */

/** `values[t] / close[t]` into a new array. */
function perClose(values: Float64Array, close: Float64Array): Float64Array {
  const out = floats(values.length);
  for (let i = 0; i < out.length; i++) out[i] = values[i] / close[i];
  return out;
}

/** The twelve candle-shape features of the module doc, in one pass over O, H, L, C. */
function candleShapes(x: SymbolSeries): Record<string, Float64Array> {
  const n = x.close.length;
  const names = ["KMID", "KLEN", "KMID2", "KUP", "KUP2", "KLOW", "KLOW2", "KSFT", "KSFT2", "OPEN0", "HIGH0", "LOW0"];
  const out: Record<string, Float64Array> = {};
  for (const name of names) out[name] = floats(n);
  const { KMID, KLEN, KMID2, KUP, KUP2, KLOW, KLOW2, KSFT, KSFT2, OPEN0, HIGH0, LOW0 } = out;
  for (let i = 0; i < n; i++) {
    const o = x.open[i];
    const h = x.high[i];
    const l = x.low[i];
    const c = x.close[i];
    const range = h - l + EPS;
    const top = Math.max(o, c);
    const bottom = Math.min(o, c);
    KMID[i] = (c - o) / o;
    KLEN[i] = (h - l) / o;
    KMID2[i] = (c - o) / range;
    KUP[i] = (h - top) / o;
    KUP2[i] = (h - top) / range;
    KLOW[i] = (bottom - l) / o;
    KLOW2[i] = (bottom - l) / range;
    KSFT[i] = (2 * c - h - l) / o;
    KSFT2[i] = (2 * c - h - l) / range;
    OPEN0[i] = o / c;
    HIGH0[i] = h / c;
    LOW0[i] = l / c;
  }
  return out;
}

function candleFeatures(): SeriesFeatureDef[] {
  const shape = (name: string, description: string, family = "candle") =>
    s(name, 0, description, (x) => x.memo("candleShapes", () => candleShapes(x))[name], family);
  return [
    shape("KMID", "(C-O)/O"),
    shape("KLEN", "(H-L)/O"),
    shape("KMID2", "(C-O)/(H-L+eps)"),
    shape("KUP", "(H-max(O,C))/O"),
    shape("KUP2", "(H-max(O,C))/(H-L+eps)"),
    shape("KLOW", "(min(O,C)-L)/O"),
    shape("KLOW2", "(min(O,C)-L)/(H-L+eps)"),
    shape("KSFT", "(2C-H-L)/O"),
    shape("KSFT2", "(2C-H-L)/(H-L+eps)"),
    shape("OPEN0", "O/C", "price"),
    shape("HIGH0", "H/C", "price"),
    shape("LOW0", "L/C", "price"),
  ];
}

/** `Ref(C,d)/C`: NaN on the first d rows. */
function rateOfChange(close: Float64Array, d: number): Float64Array {
  const out = nans(close.length);
  for (let t = d; t < out.length; t++) out[t] = close[t - d] / close[t];
  return out;
}

/**
 * The window's maximum (or minimum) value, read at the position {@link rollingArgExtreme} found (1-based within the
 * window ending at t), so MAX/MIN/RSV share one pass with IMAX/IMIN; NaN when the window holds a NaN (as polars'
 * rolling max/min, which these features used before).
 */
function valueAt(values: Float64Array, position: Float64Array, d: number): Float64Array {
  const out = nans(values.length);
  let missing = 0;
  for (let t = 0; t < out.length; t++) {
    missing += +Number.isNaN(values[t]);
    if (t >= d) missing -= +Number.isNaN(values[t - d]);
    if (t >= d - 1 && missing === 0) out[t] = values[t - d + position[t]];
  }
  return out;
}

/**
 * CNTP/CNTN/CNTD over d days: the shares of up days (`C_t > C_{t−1}`) and down days in the window, from running
 * counts (exact integers), NaN until the window holds d daily moves.
 */
function directionCounts(close: Float64Array, d: number): { up: Float64Array; down: Float64Array; net: Float64Array } {
  const n = close.length;
  const up = nans(n);
  const down = nans(n);
  const net = nans(n);
  let ups = 0;
  let downs = 0;
  // Branch-free counting (`+(delta > 0)`): up and down days are a coin flip, so branches would mispredict half the time.
  for (let t = 1; t < n; t++) {
    const delta = close[t] - close[t - 1];
    ups += +(delta > 0);
    downs += +(delta < 0);
    if (t > d) {
      const old = close[t - d] - close[t - d - 1];
      ups -= +(old > 0);
      downs -= +(old < 0);
    }
    if (t >= d) {
      up[t] = ups / d;
      down[t] = downs / d;
      net[t] = up[t] - down[t];
    }
  }
  return { up, down, net };
}

function cordInputs(x: SymbolSeries): { cr: Float64Array; vr: Float64Array } {
  const n = x.close.length;
  const cr = nans(n);
  const vr = nans(n);
  for (let i = 1; i < n; i++) {
    cr[i] = x.close[i] / x.close[i - 1];
    vr[i] = Math.log(x.volume[i] / x.volume[i - 1] + 1);
  }
  return { cr, vr };
}

/**
 * SUMP/SUMN/SUMD (or VSUM… on volume) over d days: with Δ = X_t − X_{t−1}, `Σmax(Δ,0)`, `Σmax(−Δ,0)` and `Σ|Δ|` by
 * {@link rollingSum} (exact on flat windows), divided by `Σ|Δ| + ε`.
 */
function upDown(x: SymbolSeries, column: "close" | "volume", d: number) {
  return x.memo(`updown-${column}-${d}`, () => {
    const moves = x.memo(`moves-${column}`, () => {
      const v = x[column];
      const n = v.length;
      const up = nans(n);
      const down = nans(n);
      const abs = nans(n);
      for (let i = 1; i < n; i++) {
        const delta = v[i] - v[i - 1];
        up[i] = delta > 0 ? delta : 0;
        down[i] = delta < 0 ? -delta : 0;
        abs[i] = Math.abs(delta);
      }
      return { up, down, abs };
    });
    const up = rollingSum(moves.up, d);
    const down = rollingSum(moves.down, d);
    const abs = rollingSum(moves.abs, d);
    const net = floats(up.length);
    for (let i = 0; i < net.length; i++) {
      const total = abs[i] + EPS;
      net[i] = (up[i] - down[i]) / total;
      up[i] = up[i] / total;
      down[i] = down[i] / total;
    }
    return { up, down, net };
  });
}

function windowFeatures(d: number): FeatureDef[] {
  const imax = (x: SymbolSeries) => x.memo(`imax${d}`, () => rollingArgExtreme(x.high, d, 1));
  const imin = (x: SymbolSeries) => x.memo(`imin${d}`, () => rollingArgExtreme(x.low, d, -1));
  const hi = (x: SymbolSeries) => x.memo(`hi${d}`, () => valueAt(x.high, imax(x), d));
  const lo = (x: SymbolSeries) => x.memo(`lo${d}`, () => valueAt(x.low, imin(x), d));
  const counts = (x: SymbolSeries) => x.memo(`counts${d}`, () => directionCounts(x.close, d));
  const reg = (x: SymbolSeries) => x.memo(`reg${d}`, () => rollingRegression(x.close, d));
  const sortedStats = (x: SymbolSeries) => x.memo(`sorted${d}`, () => rollingQuantilesAndRank(x.close, d, [0.8, 0.2]));
  const position = (x: SymbolSeries, at: (x: SymbolSeries) => Float64Array) => {
    const p = at(x);
    const out = floats(p.length);
    for (let i = 0; i < out.length; i++) out[i] = p[i] / d;
    return out;
  };
  const w = d - 1;
  return [
    s(`ROC${d}`, d, `Ref(C,${d})/C`, (x) => rateOfChange(x.close, d), "ROC"),
    s(`MA${d}`, w, `mean(C,${d})/C`, (x) => {
      const sum = rollingSum(x.close, d);
      for (let i = 0; i < sum.length; i++) sum[i] = sum[i] / d / x.close[i];
      return sum;
    }, "MA"),
    s(`STD${d}`, w, `std(C,${d})/C`, (x) => {
      const std = rollingStd(x.close, d);
      for (let i = 0; i < std.length; i++) std[i] = std[i] / x.close[i];
      return std;
    }, "STD"),
    s(`BETA${d}`, w, `slope of C on time over ${d} days / C`, (x) => perClose(reg(x).slope, x.close), "BETA"),
    s(`RSQR${d}`, w, `R^2 of C on time over ${d} days`, (x) => reg(x).rsq, "RSQR"),
    s(`RESI${d}`, w, `residual at t of C on time over ${d} days / C`, (x) => perClose(reg(x).resid, x.close), "RESI"),
    s(`MAX${d}`, w, `max(H,${d})/C`, (x) => perClose(hi(x), x.close), "MAX"),
    s(`MIN${d}`, w, `min(L,${d})/C`, (x) => perClose(lo(x), x.close), "MIN"),
    s(`QTLU${d}`, w, `q0.8(C,${d})/C`, (x) => perClose(sortedStats(x).quantiles[0], x.close), "QTL"),
    s(`QTLD${d}`, w, `q0.2(C,${d})/C`, (x) => perClose(sortedStats(x).quantiles[1], x.close), "QTL"),
    s(`RANK${d}`, w, `percentile of C_t among the last ${d} closes`, (x) => sortedStats(x).rank, "RANK"),
    s(`RSV${d}`, w, `(C-min(L,${d}))/(max(H,${d})-min(L,${d})+eps)`, (x) => {
      const h = hi(x);
      const l = lo(x);
      const out = floats(x.close.length);
      for (let t = 0; t < out.length; t++) out[t] = (x.close[t] - l[t]) / (h[t] - l[t] + EPS);
      return out;
    }, "RSV"),
    s(`IMAX${d}`, w, `(argmax(H,${d})+1)/${d}`, (x) => position(x, imax), "IMAX"),
    s(`IMIN${d}`, w, `(argmin(L,${d})+1)/${d}`, (x) => position(x, imin), "IMIN"),
    s(`IMXD${d}`, w, `IMAX${d} - IMIN${d}`, (x) => {
      const a = imax(x);
      const b = imin(x);
      const out = floats(a.length);
      for (let i = 0; i < out.length; i++) out[i] = (a[i] - b[i]) / d;
      return out;
    }, "IMXD"),
    s(`CORR${d}`, w, `corr(C, ln(V+1)) over ${d} days`, (x) => rollingCorrelation(x.close, logVolume(x), d), "CORR"),
    s(`CORD${d}`, d, `corr(C/Ref(C,1), ln(V/Ref(V,1)+1)) over ${d} days`, (x) => {
      const { cr, vr } = x.memo("cordInputs", () => cordInputs(x));
      return rollingCorrelation(cr, vr, d);
    }, "CORD"),
    s(`CNTP${d}`, d, `share of up days over ${d} days`, (x) => counts(x).up, "CNT"),
    s(`CNTN${d}`, d, `share of down days over ${d} days`, (x) => counts(x).down, "CNT"),
    s(`CNTD${d}`, d, `CNTP${d} - CNTN${d}`, (x) => counts(x).net, "CNT"),
    s(`SUMP${d}`, d, `sum(max(dC,0))/(sum|dC|+eps) over ${d} days`, (x) => upDown(x, "close", d).up, "SUM"),
    s(`SUMN${d}`, d, `sum(max(-dC,0))/(sum|dC|+eps) over ${d} days`, (x) => upDown(x, "close", d).down, "SUM"),
    s(`SUMD${d}`, d, `SUMP${d} - SUMN${d}`, (x) => upDown(x, "close", d).net, "SUM"),
    s(`VMA${d}`, w, `mean(V,${d})/(V+eps)`, (x) => {
      const sum = rollingSum(x.volume, d);
      for (let i = 0; i < sum.length; i++) sum[i] = sum[i] / d / (x.volume[i] + EPS);
      return sum;
    }, "VMA"),
    s(`VSTD${d}`, w, `std(V,${d})/(V+eps)`, (x) => {
      const std = rollingStd(x.volume, d);
      for (let i = 0; i < std.length; i++) std[i] = std[i] / (x.volume[i] + EPS);
      return std;
    }, "VSTD"),
    s(`WVMA${d}`, d, `std(|C/Ref(C,1)-1|*V,${d})/(mean(|C/Ref(C,1)-1|*V,${d})+eps)`, (x) => {
      const wv = x.memo("wv", () => {
        const out = nans(x.close.length);
        for (let i = 1; i < out.length; i++) out[i] = Math.abs(x.close[i] / x.close[i - 1] - 1) * x.volume[i];
        return out;
      });
      const { mean, sxx } = rollingMeanAndSquares(wv, d);
      for (let i = 0; i < sxx.length; i++) sxx[i] = Math.sqrt(sxx[i] / (d - 1)) / (mean[i] + EPS);
      return sxx;
    }, "WVMA"),
    s(`VSUMP${d}`, d, `sum(max(dV,0))/(sum|dV|+eps) over ${d} days`, (x) => upDown(x, "volume", d).up, "VSUM"),
    s(`VSUMN${d}`, d, `sum(max(-dV,0))/(sum|dV|+eps) over ${d} days`, (x) => upDown(x, "volume", d).down, "VSUM"),
    s(`VSUMD${d}`, d, `VSUMP${d} - VSUMN${d}`, (x) => upDown(x, "volume", d).net, "VSUM"),
  ];
}

/** The Alpha158-style set: 12 no-history features plus 29 families × 5 windows (157 features; no VWAP column). */
export function alpha158Features(): FeatureDef[] {
  return [...candleFeatures(), ...ALPHA158_WINDOWS.flatMap(windowFeatures)];
}
