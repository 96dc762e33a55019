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
 * The rolling regressions, ranks, arg-max/arg-min and correlations are written by hand as per-symbol loops (polars'
 * JS API has no rolling regression, rank, arg-max or correlation); each is a direct two-pass computation per window,
 * O(n·d), so a value depends only on its own window and is reproducible on truncated history.
 *
 * @module
 */

import pl from "nodejs-polars";
import type { ExprFeatureDef, FeatureDef, SeriesFeatureDef, SymbolSeries } from "./definition.ts";
import { C, H, L, O, V } from "./technical.ts";

/** Qlib's ε in ratio denominators. */
const EPS = 1e-12;

/** Windows of the Alpha158 set. */
export const ALPHA158_WINDOWS = [5, 10, 20, 30, 60] as const;

function e(name: string, lookback: number, description: string, expr: pl.Expr, family: string): ExprFeatureDef {
  return { kind: "expr", bounded: true, name, lookback, description, expr, family };
}

/**
 * Polars' rolling std keeps running sums of squares; evaluated on the whole frame, rounding residue from the previous
 * symbol would reach the next one (~1e−8 relative). Std-based features are therefore evaluated per symbol.
 */
function perSymbol(def: ExprFeatureDef): ExprFeatureDef {
  return { ...def, bounded: false };
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

/** Least-squares line of y on time 0..d−1 over each full window: slope, R² and the residual at the window's end. */
export function rollingRegression(
  y: Float64Array,
  d: number,
): { slope: Float64Array; rsq: Float64Array; resid: Float64Array } {
  const n = y.length;
  const slope = new Float64Array(n).fill(Number.NaN);
  const rsq = new Float64Array(n).fill(Number.NaN);
  const resid = new Float64Array(n).fill(Number.NaN);
  const xm = (d - 1) / 2;
  const sxx = (d * (d * d - 1)) / 12;
  for (let t = d - 1; t < n; t++) {
    const a = t - d + 1;
    let sy = 0;
    for (let k = 0; k < d; k++) sy += y[a + k];
    const ym = sy / d;
    let sxy = 0;
    let syy = 0;
    for (let k = 0; k < d; k++) {
      const dy = y[a + k] - ym;
      sxy += (k - xm) * dy;
      syy += dy * dy;
    }
    if (!Number.isFinite(sy)) continue;
    const b = sxy / sxx;
    slope[t] = b;
    rsq[t] = syy > 0 ? (sxy * sxy) / (sxx * syy) : Number.NaN;
    resid[t] = y[t] - (ym + b * (d - 1 - xm));
  }
  return { slope, rsq, resid };
}

/** Pearson correlation of x and y over each full window of length d (NaN if a side is constant or non-finite). */
export function rollingCorrelation(x: Float64Array, y: Float64Array, d: number, first = 0): Float64Array {
  const n = x.length;
  const out = new Float64Array(n).fill(Number.NaN);
  for (let t = first + d - 1; t < n; t++) {
    const a = t - d + 1;
    let sx = 0;
    let sy = 0;
    for (let k = a; k <= t; k++) {
      sx += x[k];
      sy += y[k];
    }
    if (!Number.isFinite(sx) || !Number.isFinite(sy)) continue;
    const mx = sx / d;
    const my = sy / d;
    let cxy = 0;
    let cxx = 0;
    let cyy = 0;
    for (let k = a; k <= t; k++) {
      const dx = x[k] - mx;
      const dy = y[k] - my;
      cxy += dx * dy;
      cxx += dx * dx;
      cyy += dy * dy;
    }
    // Treat a side as constant when its spread is at rounding level, not only exactly zero.
    if (cxx <= 1e-20 * d * mx * mx || cyy <= 1e-20 * d * my * my || cxx === 0 || cyy === 0) continue;
    out[t] = cxy / Math.sqrt(cxx * cyy);
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

/** Percentile rank of the last value in each full window: `(#less + (#equal + 1)/2) / d` (#equal counts itself). */
export function rollingPercentileRank(x: Float64Array, d: number): Float64Array {
  const n = x.length;
  const out = new Float64Array(n).fill(Number.NaN);
  for (let t = d - 1; t < n; t++) {
    const v = x[t];
    let less = 0;
    let equal = 0;
    for (let k = t - d + 1; k <= t; k++) {
      if (x[k] < v) less++;
      else if (x[k] === v) equal++;
    }
    out[t] = (less + (equal + 1) / 2) / d;
  }
  return out;
}

function ratioToClose(values: Float64Array, close: Float64Array): Float64Array {
  const out = new Float64Array(values.length);
  for (let i = 0; i < out.length; i++) out[i] = values[i] / close[i];
  return out;
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
  const absDC = dC.abs();
  const upC = pl.when(dC.gt(0)).then(dC).otherwise(pl.when(dC.isNull()).then(pl.lit(null)).otherwise(pl.lit(0)));
  const dnC = pl.when(dC.lt(0)).then(dC.mul(-1)).otherwise(
    pl.when(dC.isNull()).then(pl.lit(null)).otherwise(pl.lit(0)),
  );
  const sumAbsC = absDC.rollingSum({ windowSize: d }).add(EPS);
  const sumUpC = upC.cast(pl.Float64).rollingSum({ windowSize: d });
  const sumDnC = dnC.cast(pl.Float64).rollingSum({ windowSize: d });
  const dV = V.sub(V.shift(1));
  const absDV = dV.abs();
  const upV = pl.when(dV.gt(0)).then(dV).otherwise(pl.when(dV.isNull()).then(pl.lit(null)).otherwise(pl.lit(0)));
  const dnV = pl.when(dV.lt(0)).then(dV.mul(-1)).otherwise(
    pl.when(dV.isNull()).then(pl.lit(null)).otherwise(pl.lit(0)),
  );
  const sumAbsV = absDV.rollingSum({ windowSize: d }).add(EPS);
  const sumUpV = upV.cast(pl.Float64).rollingSum({ windowSize: d });
  const sumDnV = dnV.cast(pl.Float64).rollingSum({ windowSize: d });
  const up = pl.when(dC.isNull()).then(pl.lit(null)).otherwise(dC.gt(0).cast(pl.Float64));
  const down = pl.when(dC.isNull()).then(pl.lit(null)).otherwise(dC.lt(0).cast(pl.Float64));
  const cntp = up.rollingMean({ windowSize: d });
  const cntn = down.rollingMean({ windowSize: d });
  const wv = C.div(C.shift(1)).sub(1).abs().mul(V);
  const hi = H.rollingMax({ windowSize: d });
  const lo = L.rollingMin({ windowSize: d });
  const reg = (x: SymbolSeries) => x.memo(`reg${d}`, () => rollingRegression(x.close, d));
  const imax = (x: SymbolSeries) => x.memo(`imax${d}`, () => rollingArgExtreme(x.high, d, 1));
  const imin = (x: SymbolSeries) => x.memo(`imin${d}`, () => rollingArgExtreme(x.low, d, -1));
  const w = d - 1;
  return [
    e(`ROC${d}`, d, `Ref(C,${d})/C`, C.shift(d).div(C), "ROC"),
    e(`MA${d}`, w, `mean(C,${d})/C`, C.rollingMean({ windowSize: d }).div(C), "MA"),
    perSymbol(e(`STD${d}`, w, `std(C,${d})/C`, C.rollingStd({ windowSize: d, ddof: 1 }).div(C), "STD")),
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
    e(
      `QTLU${d}`,
      w,
      `q0.8(C,${d})/C`,
      C.rollingQuantile({ quantile: 0.8, interpolation: "linear", windowSize: d }).div(C),
      "QTL",
    ),
    e(
      `QTLD${d}`,
      w,
      `q0.2(C,${d})/C`,
      C.rollingQuantile({ quantile: 0.2, interpolation: "linear", windowSize: d }).div(C),
      "QTL",
    ),
    s(`RANK${d}`, w, `percentile of C_t among the last ${d} closes`, (x) => rollingPercentileRank(x.close, d), "RANK"),
    e(`RSV${d}`, w, `(C-min(L,${d}))/(max(H,${d})-min(L,${d})+eps)`, C.sub(lo).div(hi.sub(lo).add(EPS)), "RSV"),
    s(`IMAX${d}`, w, `(argmax(H,${d})+1)/${d}`, (x) => imax(x).map((v) => v / d), "IMAX"),
    s(`IMIN${d}`, w, `(argmin(L,${d})+1)/${d}`, (x) => imin(x).map((v) => v / d), "IMIN"),
    s(`IMXD${d}`, w, `IMAX${d} - IMIN${d}`, (x) => {
      const a = imax(x);
      const b = imin(x);
      return a.map((v, i) => (v - b[i]) / d);
    }, "IMXD"),
    s(`CORR${d}`, w, `corr(C, ln(V+1)) over ${d} days`, (x) => {
      const lv = x.memo("logVolume", () => x.volume.map((v) => Math.log(v + 1)));
      return rollingCorrelation(x.close, lv, d);
    }, "CORR"),
    s(`CORD${d}`, d, `corr(C/Ref(C,1), ln(V/Ref(V,1)+1)) over ${d} days`, (x) => {
      const { cr, vr } = x.memo("cordInputs", () => cordInputs(x));
      return rollingCorrelation(cr, vr, d, 1);
    }, "CORD"),
    e(`CNTP${d}`, d, `share of up days over ${d} days`, cntp, "CNT"),
    e(`CNTN${d}`, d, `share of down days over ${d} days`, cntn, "CNT"),
    e(`CNTD${d}`, d, `CNTP${d} - CNTN${d}`, cntp.sub(cntn), "CNT"),
    e(`SUMP${d}`, d, `sum(max(dC,0))/(sum|dC|+eps) over ${d} days`, sumUpC.div(sumAbsC), "SUM"),
    e(`SUMN${d}`, d, `sum(max(-dC,0))/(sum|dC|+eps) over ${d} days`, sumDnC.div(sumAbsC), "SUM"),
    e(`SUMD${d}`, d, `SUMP${d} - SUMN${d}`, sumUpC.sub(sumDnC).div(sumAbsC), "SUM"),
    e(`VMA${d}`, w, `mean(V,${d})/(V+eps)`, V.rollingMean({ windowSize: d }).div(V.add(EPS)), "VMA"),
    perSymbol(
      e(`VSTD${d}`, w, `std(V,${d})/(V+eps)`, V.rollingStd({ windowSize: d, ddof: 1 }).div(V.add(EPS)), "VSTD"),
    ),
    perSymbol(e(
      `WVMA${d}`,
      d,
      `std(|C/Ref(C,1)-1|*V,${d})/(mean(|C/Ref(C,1)-1|*V,${d})+eps)`,
      wv.rollingStd({ windowSize: d, ddof: 1 }).div(wv.rollingMean({ windowSize: d }).add(EPS)),
      "WVMA",
    )),
    e(`VSUMP${d}`, d, `sum(max(dV,0))/(sum|dV|+eps) over ${d} days`, sumUpV.div(sumAbsV), "VSUM"),
    e(`VSUMN${d}`, d, `sum(max(-dV,0))/(sum|dV|+eps) over ${d} days`, sumDnV.div(sumAbsV), "VSUM"),
    e(`VSUMD${d}`, d, `VSUMP${d} - VSUMN${d}`, sumUpV.sub(sumDnV).div(sumAbsV), "VSUM"),
  ];
}

/** The Alpha158-style set: 12 no-history features plus 29 families × 5 windows (157 features; no VWAP column). */
export function alpha158Features(): FeatureDef[] {
  return [...candleFeatures(), ...ALPHA158_WINDOWS.flatMap(windowFeatures)];
}
