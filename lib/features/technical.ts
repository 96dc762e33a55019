/**
 * Classic technical features: returns, realized and range-based volatility, moving-average ratios, RSI, MACD,
 * Bollinger %B, ATR, volume z-scores and the daily range.
 *
 * Every formula below is in the price basis of ./definition.ts (adjusted `C`, `O`, `H`, `L`, `V`), indexed by trading
 * day t of one symbol; `r_t = ln(C_t / C_{t−1})` is the daily log return. Standard deviations are sample standard
 * deviations (ddof = 1). Exponential averages are recursive, `y_t = α·x_t + (1 − α)·y_{t−1}` seeded with the first
 * observation (pandas' `ewm(alpha, adjust=False)`), with α = 1/n for Wilder's averages and α = 2/(span + 1) for
 * MACD's, and a value only once `n` (or `span`) observations have been seen.
 *
 * @module
 */

import pl from "nodejs-polars";
import type { ExprFeatureDef, FeatureDef, SeriesFeatureDef } from "./definition.ts";
import { rollingMoments, rollingStd, rollingSum } from "./rolling.ts";

/** Adjusted close (`C`). */
export const C: pl.Expr = pl.col("px_close");
/** Adjusted open (`O`). */
export const O: pl.Expr = pl.col("px_open");
/** Adjusted high (`H`). */
export const H: pl.Expr = pl.col("px_high");
/** Adjusted low (`L`). */
export const L: pl.Expr = pl.col("px_low");
/** Volume on the adjusted share count (`V`). */
export const V: pl.Expr = pl.col("px_volume");

/** `r_t = ln(C_t / C_{t−1})`, the daily log return (null on a symbol's first row). */
export function dailyLogReturn(): pl.Expr {
  return C.div(C.shift(1)).log();
}

/** Daily log returns of a close series (NaN on the first row). */
export function logReturns(close: Float64Array): Float64Array {
  const out = new Float64Array(close.length).fill(Number.NaN);
  for (let i = 1; i < out.length; i++) out[i] = Math.log(close[i] / close[i - 1]);
  return out;
}

function ewm(x: pl.Expr, alpha: number, minPeriods: number): pl.Expr {
  return x.ewmMean({ alpha, adjust: false, minPeriods, bias: false, ignoreNulls: false });
}

/** `RET{d} = ln(C_t / C_{t−d})`: the d-day log return ending at t. */
export function logReturnFeature(d: number): ExprFeatureDef {
  return {
    kind: "expr",
    bounded: true,
    name: `RET${d}`,
    family: "return",
    lookback: d,
    description: `${d}-day log return ln(C_t / C_{t-${d}})`,
    expr: C.div(C.shift(d)).log(),
  };
}

/** `RVOL{d}`: sample standard deviation of the last d daily log returns `r_{t−d+1} … r_t` (daily units). */
export function realizedVolatilityFeature(d: number): SeriesFeatureDef {
  return {
    kind: "series",
    name: `RVOL${d}`,
    family: "volatility",
    lookback: d,
    description: `realized volatility: sample std (ddof 1) of the last ${d} daily log returns, daily units`,
    compute: (s) => rollingStd(s.memo("logReturn", () => logReturns(s.close)), d),
  };
}

/** `MAR{d} = C_t / mean(C_{t−d+1} … C_t) − 1`: distance from the d-day simple moving average. */
export function movingAverageRatioFeature(d: number): SeriesFeatureDef {
  return {
    kind: "series",
    name: `MAR${d}`,
    family: "moving average",
    lookback: d - 1,
    description: `close over its ${d}-day simple moving average, minus 1`,
    compute: (s) => {
      const sum = rollingSum(s.close, d);
      const out = new Float64Array(sum.length);
      for (let i = 0; i < out.length; i++) out[i] = s.close[i] / (sum[i] / d) - 1;
      return out;
    },
  };
}

/**
 * `RSI{n}` (Wilder): with gains `g_t = max(C_t − C_{t−1}, 0)` and losses `l_t = max(C_{t−1} − C_t, 0)` averaged by
 * Wilder's EMA (α = 1/n), `RSI = 100 · G / (G + L)`; in [0, 100].
 */
export function rsiFeature(n = 14): ExprFeatureDef {
  const d = C.sub(C.shift(1));
  const gain = pl.when(d.gt(0)).then(d).otherwise(pl.lit(0)).cast(pl.Float64);
  const loss = pl.when(d.lt(0)).then(d.mul(-1)).otherwise(pl.lit(0)).cast(pl.Float64);
  // Keep the first row missing (no previous close), so the average starts at t = 1.
  const g = ewm(pl.when(d.isNull()).then(pl.lit(null)).otherwise(gain), 1 / n, n);
  const l = ewm(pl.when(d.isNull()).then(pl.lit(null)).otherwise(loss), 1 / n, n);
  return {
    kind: "expr",
    name: `RSI${n}`,
    family: "oscillator",
    lookback: n,
    description: `Wilder RSI(${n}) = 100·G/(G+L), G and L Wilder averages (alpha 1/${n}) of up and down moves`,
    expr: g.mul(100).div(g.add(l)),
  };
}

/** `VZ{d}`: z-score of `ln(1 + V_t)` against its last d values (including t): `(x_t − mean) / std`. */
export function volumeZScoreFeature(d: number): SeriesFeatureDef {
  return {
    kind: "series",
    name: `VZ${d}`,
    family: "volume",
    lookback: d - 1,
    description: `z-score of ln(1+V_t) over the last ${d} days (sample std)`,
    compute: (s) => {
      const x = s.memo("logVolume", () => {
        const out = new Float64Array(s.volume.length);
        for (let i = 0; i < out.length; i++) out[i] = Math.log(s.volume[i] + 1);
        return out;
      });
      const m = rollingMoments(x, x, d);
      const out = new Float64Array(x.length);
      for (let i = 0; i < out.length; i++) out[i] = (x[i] - m.meanX[i]) / Math.sqrt(m.sxx[i] / (d - 1));
      return out;
    },
  };
}

/** `RANGE = (H_t − L_t) / C_t`: the day's high-low range relative to the close. */
export function rangeFeature(): ExprFeatureDef {
  return {
    kind: "expr",
    bounded: true,
    name: "RANGE",
    family: "volatility",
    lookback: 0,
    description: "daily range (H_t - L_t) / C_t",
    expr: H.sub(L).div(C),
  };
}

/**
 * `ATR{n} = WilderEMA_n(TR) / C_t` with the true range `TR_t = max(H_t − L_t, |H_t − C_{t−1}|, |L_t − C_{t−1}|)`
 * (`H_t − L_t` on a symbol's first row).
 */
export function atrFeature(n = 14): ExprFeatureDef {
  const prev = C.shift(1);
  const hl = H.sub(L);
  const hc = H.sub(prev).abs();
  const lc = L.sub(prev).abs();
  const tr = pl.when(prev.isNull()).then(hl).otherwise(pl.maxHorizontal([hl, hc, lc]));
  return {
    kind: "expr",
    name: `ATR${n}`,
    family: "volatility",
    lookback: n - 1,
    description: `average true range: Wilder EMA (alpha 1/${n}) of the true range, over C_t`,
    expr: ewm(tr, 1 / n, n).div(C),
  };
}

/**
 * MACD family, scaled by the close so it is comparable across symbols: `MACD = (EMA12(C) − EMA26(C)) / C_t`,
 * `MACDSIG = EMA9(MACD)`, `MACDHIST = MACD − MACDSIG` (EMAs with α = 2/(span + 1)).
 */
export function macdFeatures(): ExprFeatureDef[] {
  const macd = ewm(C, 2 / 13, 12).sub(ewm(C, 2 / 27, 26)).div(C);
  const signal = ewm(macd, 2 / 10, 9);
  return [
    {
      kind: "expr",
      name: "MACD",
      family: "oscillator",
      lookback: 25,
      description: "(EMA12(C) - EMA26(C)) / C_t",
      expr: macd,
    },
    {
      kind: "expr",
      name: "MACDSIG",
      family: "oscillator",
      lookback: 33,
      description: "EMA9 of MACD",
      expr: signal,
    },
    {
      kind: "expr",
      name: "MACDHIST",
      family: "oscillator",
      lookback: 33,
      description: "MACD - MACDSIG",
      expr: macd.sub(signal),
    },
  ];
}

/** `BBPB{d} = (C_t − (m − k·s)) / (2k·s)` with m, s the d-day mean and sample std of C: Bollinger %B. */
export function bollingerPercentBFeature(d = 20, k = 2): SeriesFeatureDef {
  return {
    kind: "series",
    name: `BBPB${d}`,
    family: "oscillator",
    lookback: d - 1,
    description: `Bollinger %B: (C_t - (m - ${k}s)) / (${2 * k}s), m and s the ${d}-day mean and std of C`,
    compute: (s) => {
      const m = rollingMoments(s.close, s.close, d);
      const out = new Float64Array(s.close.length);
      for (let i = 0; i < out.length; i++) {
        const sd = Math.sqrt(m.sxx[i] / (d - 1));
        out[i] = (s.close[i] - (m.meanX[i] - k * sd)) / (2 * k * sd);
      }
      return out;
    },
  };
}

/** `PARK{d} = sqrt(mean_d(ln(H/L)²) / (4 ln 2))`: Parkinson's range-based volatility, daily units. */
export function parkinsonVolatilityFeature(d = 20): SeriesFeatureDef {
  return {
    kind: "series",
    name: `PARK${d}`,
    family: "volatility",
    lookback: d - 1,
    description: `Parkinson volatility over ${d} days: sqrt(mean(ln(H/L)^2) / (4 ln 2))`,
    compute: (s) => {
      const sq = new Float64Array(s.close.length);
      for (let i = 0; i < sq.length; i++) sq[i] = Math.log(s.high[i] / s.low[i]) ** 2;
      const sum = rollingSum(sq, d);
      for (let i = 0; i < sum.length; i++) sum[i] = Math.sqrt(sum[i] / d / (4 * Math.LN2));
      return sum;
    },
  };
}

/**
 * `GK{d} = sqrt(max(0, mean_d(½ ln(H/L)² − (2 ln 2 − 1) ln(C/O)²)))`: Garman–Klass range-based volatility, daily units.
 */
export function garmanKlassVolatilityFeature(d = 20): SeriesFeatureDef {
  return {
    kind: "series",
    name: `GK${d}`,
    family: "volatility",
    lookback: d - 1,
    description: `Garman-Klass volatility over ${d} days: sqrt(mean(0.5 ln(H/L)^2 - (2 ln2 - 1) ln(C/O)^2))`,
    compute: (s) => {
      const term = new Float64Array(s.close.length);
      for (let i = 0; i < term.length; i++) {
        term[i] = 0.5 * Math.log(s.high[i] / s.low[i]) ** 2 -
          (2 * Math.LN2 - 1) * Math.log(s.close[i] / s.open[i]) ** 2;
      }
      const sum = rollingSum(term, d);
      for (let i = 0; i < sum.length; i++) sum[i] = Math.sqrt(Math.max(0, sum[i] / d));
      return sum;
    },
  };
}

/** Every technical feature: returns, volatilities, MA ratios, oscillators, volume z-scores. */
export function technicalFeatures(): FeatureDef[] {
  return [
    ...[1, 5, 10, 20, 60].map(logReturnFeature),
    ...[5, 10, 20, 60].map(realizedVolatilityFeature),
    ...[5, 10, 20, 60].map(movingAverageRatioFeature),
    rsiFeature(14),
    ...macdFeatures(),
    bollingerPercentBFeature(20, 2),
    atrFeature(14),
    rangeFeature(),
    parkinsonVolatilityFeature(20),
    garmanKlassVolatilityFeature(20),
    volumeZScoreFeature(20),
    volumeZScoreFeature(60),
  ];
}
