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
 * Everything that sums or averages over a window (means, sums, standard deviations, regressions, correlations) and
 * the quantiles, ranks and arg-max/arg-min are per-symbol kernels (./rolling.ts and below): polars' JS API has no
 * rolling regression, correlation, rank or arg-max; its per-symbol (`.over`) rolling std and quantile were the slowest
 * part of the set; and its running sums, evaluated on the whole frame, carry rounding residue from one symbol into the
 * next (seen by the truncation test as changing values on flat or thinly traded stretches). Polars expressions are
 * kept for what is exact: shifts, rolling max/min, counts, candle arithmetic. Each value depends only on its own
 * window of its own symbol.
 *
 * @module
 */

import pl from "nodejs-polars";
import type { ExprFeatureDef, FeatureDef, SeriesFeatureDef, SymbolSeries } from "./definition.ts";
import { C, H, L, O } from "./technical.ts";
import { rollingMoments, rollingQuantilesAndRank, rollingStd, rollingSum } from "./rolling.ts";

/** Qlib's ε in ratio denominators. */
const EPS = 1e-12;

/** Windows of the Alpha158 set. */
export const ALPHA158_WINDOWS = [5, 10, 20, 30, 60] as const;

function e(name: string, lookback: number, description: string, expr: pl.Expr, family: string): ExprFeatureDef {
  return { kind: "expr", bounded: true, name, lookback, description, expr, family };
}

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
  const index = new Float64Array(n);
  for (let i = 0; i < n; i++) index[i] = i;
  const m = rollingMoments(index, y, d);
  const sxx = (d * (d * d - 1)) / 12; // exact Σ(k − k̄)² of d consecutive integers
  const slope = new Float64Array(n).fill(Number.NaN);
  const rsq = new Float64Array(n).fill(Number.NaN);
  const resid = new Float64Array(n).fill(Number.NaN);
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
  const out = new Float64Array(x.length).fill(Number.NaN);
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
  const out = new Float64Array(n).fill(Number.NaN);
  const deque = new Int32Array(n);
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
  const out = new Float64Array(a.length);
  for (let i = 0; i < out.length; i++) out[i] = f(a[i], b[i]);
  return out;
}

function ratioToClose(values: Float64Array, close: Float64Array): Float64Array {
  return combine(values, close, (v, c) => v / c);
}

function cordInputs(x: SymbolSeries): { cr: Float64Array; vr: Float64Array } {
  const n = x.close.length;
  const cr = new Float64Array(n).fill(Number.NaN);
  const vr = new Float64Array(n).fill(Number.NaN);
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
      const up = new Float64Array(n).fill(Number.NaN);
      const down = new Float64Array(n).fill(Number.NaN);
      const abs = new Float64Array(n).fill(Number.NaN);
      for (let i = 1; i < n; i++) {
        const delta = v[i] - v[i - 1];
        up[i] = delta > 0 ? delta : 0;
        down[i] = delta < 0 ? -delta : 0;
        abs[i] = Math.abs(delta);
      }
      return { up, down, abs };
    });
    const su = rollingSum(moves.up, d);
    const sd = rollingSum(moves.down, d);
    const sa = rollingSum(moves.abs, d);
    return {
      up: combine(su, sa, (u, a) => u / (a + EPS)),
      down: combine(sd, sa, (w, a) => w / (a + EPS)),
      net: combine(combine(su, sd, (u, w) => u - w), sa, (v, a) => v / (a + EPS)),
    };
  });
}

function candleFeatures(): ExprFeatureDef[] {
  const range = H.sub(L).add(EPS);
  const top = pl.maxHorizontal([O, C]);
  const bottom = pl.minHorizontal([O, C]);
  const k = "candle";
  return [
    e("KMID", 0, "(C-O)/O", C.sub(O).div(O), k),
    e("KLEN", 0, "(H-L)/O", H.sub(L).div(O), k),
    e("KMID2", 0, "(C-O)/(H-L+eps)", C.sub(O).div(range), k),
    e("KUP", 0, "(H-max(O,C))/O", H.sub(top).div(O), k),
    e("KUP2", 0, "(H-max(O,C))/(H-L+eps)", H.sub(top).div(range), k),
    e("KLOW", 0, "(min(O,C)-L)/O", bottom.sub(L).div(O), k),
    e("KLOW2", 0, "(min(O,C)-L)/(H-L+eps)", bottom.sub(L).div(range), k),
    e("KSFT", 0, "(2C-H-L)/O", C.mul(2).sub(H).sub(L).div(O), k),
    e("KSFT2", 0, "(2C-H-L)/(H-L+eps)", C.mul(2).sub(H).sub(L).div(range), k),
    e("OPEN0", 0, "O/C", O.div(C), "price"),
    e("HIGH0", 0, "H/C", H.div(C), "price"),
    e("LOW0", 0, "L/C", L.div(C), "price"),
  ];
}

function windowFeatures(d: number): FeatureDef[] {
  const dC = C.sub(C.shift(1));
  const up = pl.when(dC.isNull()).then(pl.lit(null)).otherwise(dC.gt(0).cast(pl.Float64));
  const down = pl.when(dC.isNull()).then(pl.lit(null)).otherwise(dC.lt(0).cast(pl.Float64));
  const cntp = up.rollingMean({ windowSize: d });
  const cntn = down.rollingMean({ windowSize: d });
  const hi = H.rollingMax({ windowSize: d });
  const lo = L.rollingMin({ windowSize: d });
  const reg = (x: SymbolSeries) => x.memo(`reg${d}`, () => rollingRegression(x.close, d));
  const imax = (x: SymbolSeries) => x.memo(`imax${d}`, () => rollingArgExtreme(x.high, d, 1));
  const imin = (x: SymbolSeries) => x.memo(`imin${d}`, () => rollingArgExtreme(x.low, d, -1));
  const sortedStats = (x: SymbolSeries) => x.memo(`sorted${d}`, () => rollingQuantilesAndRank(x.close, d, [0.8, 0.2]));
  const w = d - 1;
  return [
    e(`ROC${d}`, d, `Ref(C,${d})/C`, C.shift(d).div(C), "ROC"),
    s(`MA${d}`, w, `mean(C,${d})/C`, (x) => combine(rollingSum(x.close, d), x.close, (sum, c) => sum / d / c), "MA"),
    s(`STD${d}`, w, `std(C,${d})/C`, (x) => ratioToClose(rollingStd(x.close, d), x.close), "STD"),
    s(`BETA${d}`, w, `slope of C on time over ${d} days / C`, (x) => ratioToClose(reg(x).slope, x.close), "BETA"),
    s(`RSQR${d}`, w, `R^2 of C on time over ${d} days`, (x) => reg(x).rsq, "RSQR"),
    s(
      `RESI${d}`,
      w,
      `residual at t of C on time over ${d} days / C`,
      (x) => ratioToClose(reg(x).resid, x.close),
      "RESI",
    ),
    e(`MAX${d}`, w, `max(H,${d})/C`, hi.div(C), "MAX"),
    e(`MIN${d}`, w, `min(L,${d})/C`, lo.div(C), "MIN"),
    s(`QTLU${d}`, w, `q0.8(C,${d})/C`, (x) => ratioToClose(sortedStats(x).quantiles[0], x.close), "QTL"),
    s(`QTLD${d}`, w, `q0.2(C,${d})/C`, (x) => ratioToClose(sortedStats(x).quantiles[1], x.close), "QTL"),
    s(`RANK${d}`, w, `percentile of C_t among the last ${d} closes`, (x) => sortedStats(x).rank, "RANK"),
    e(`RSV${d}`, w, `(C-min(L,${d}))/(max(H,${d})-min(L,${d})+eps)`, C.sub(lo).div(hi.sub(lo).add(EPS)), "RSV"),
    s(`IMAX${d}`, w, `(argmax(H,${d})+1)/${d}`, (x) => combine(imax(x), imax(x), (a) => a / d), "IMAX"),
    s(`IMIN${d}`, w, `(argmin(L,${d})+1)/${d}`, (x) => combine(imin(x), imin(x), (a) => a / d), "IMIN"),
    s(`IMXD${d}`, w, `IMAX${d} - IMIN${d}`, (x) => combine(imax(x), imin(x), (a, b) => (a - b) / d), "IMXD"),
    s(`CORR${d}`, w, `corr(C, ln(V+1)) over ${d} days`, (x) => {
      const lv = x.memo("logVolume", () => combine(x.volume, x.volume, (v) => Math.log(v + 1)));
      return rollingCorrelation(x.close, lv, d);
    }, "CORR"),
    s(`CORD${d}`, d, `corr(C/Ref(C,1), ln(V/Ref(V,1)+1)) over ${d} days`, (x) => {
      const { cr, vr } = x.memo("cordInputs", () => cordInputs(x));
      return rollingCorrelation(cr, vr, d);
    }, "CORD"),
    e(`CNTP${d}`, d, `share of up days over ${d} days`, cntp, "CNT"),
    e(`CNTN${d}`, d, `share of down days over ${d} days`, cntn, "CNT"),
    e(`CNTD${d}`, d, `CNTP${d} - CNTN${d}`, cntp.sub(cntn), "CNT"),
    s(`SUMP${d}`, d, `sum(max(dC,0))/(sum|dC|+eps) over ${d} days`, (x) => upDown(x, "close", d).up, "SUM"),
    s(`SUMN${d}`, d, `sum(max(-dC,0))/(sum|dC|+eps) over ${d} days`, (x) => upDown(x, "close", d).down, "SUM"),
    s(`SUMD${d}`, d, `SUMP${d} - SUMN${d}`, (x) => upDown(x, "close", d).net, "SUM"),
    s(
      `VMA${d}`,
      w,
      `mean(V,${d})/(V+eps)`,
      (x) => combine(rollingSum(x.volume, d), x.volume, (sum, v) => sum / d / (v + EPS)),
      "VMA",
    ),
    s(
      `VSTD${d}`,
      w,
      `std(V,${d})/(V+eps)`,
      (x) => combine(rollingStd(x.volume, d), x.volume, (a, b) => a / (b + EPS)),
      "VSTD",
    ),
    s(`WVMA${d}`, d, `std(|C/Ref(C,1)-1|*V,${d})/(mean(|C/Ref(C,1)-1|*V,${d})+eps)`, (x) => {
      const wv = x.memo("wv", () => {
        const out = new Float64Array(x.close.length).fill(Number.NaN);
        for (let i = 1; i < out.length; i++) out[i] = Math.abs(x.close[i] / x.close[i - 1] - 1) * x.volume[i];
        return out;
      });
      const m = rollingMoments(wv, wv, d);
      return combine(m.sxx, m.meanX, (v, mean) => Math.sqrt(v / (d - 1)) / (mean + EPS));
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
