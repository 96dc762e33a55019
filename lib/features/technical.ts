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
 * The d-day returns are polars expressions (their logarithm is polars'); everything else is a per-symbol typed-array
 * kernel, for the reasons given in ./alpha158.ts. RSI, ATR, MACD and RANGE were polars expressions before and keep
 * their values to the last bit (tests/features/kernels_test.ts).
 *
 * Kernels return arrays from ./arena.ts: called inside a feature's `compute`, a result is valid until the evaluator
 * moves to the next symbol; called anywhere else it is an ordinary new array.
 *
 * @module
 */

import { pl } from "../data/polars.ts";
import { lazy } from "../lazy_package.ts";
import type { ExprFeatureDef, FeatureDef, SeriesFeatureDef, SymbolSeries } from "./definition.ts";
import { rollingMeanAndSquares, rollingStd, rollingSum } from "./rolling.ts";
import { floats, nans } from "./arena.ts";

/** `ln(C_t / C_{t−d})` over the adjusted close `px_close`. */
function logReturnExpr(d: number): pl.Expr {
  const close = pl.col("px_close");
  return close.div(close.shift(d)).log();
}

/** `r_t = ln(C_t / C_{t−1})`, the daily log return (null on a symbol's first row). */
export function dailyLogReturn(): pl.Expr {
  return logReturnExpr(1);
}

/** Daily log returns of a close series (NaN on the first row). */
export function logReturns(close: Float64Array): Float64Array {
  const out = nans(close.length);
  for (let i = 1; i < out.length; i++) out[i] = Math.log(close[i] / close[i - 1]);
  return out;
}

/** `ln(1 + V_t)` of one symbol, memoized per symbol (shared by CORR and the volume z-scores). */
export function logVolume(s: SymbolSeries): Float64Array {
  return s.memo("logVolume", () => {
    const out = floats(s.volume.length);
    for (let i = 0; i < out.length; i++) out[i] = Math.log(s.volume[i] + 1);
    return out;
  });
}

/**
 * Recursive exponential average of `x[start…]` (rows before `start` are missing): seeded with `x[start]`, then
 * `y_t = y_{t−1} + α·(x_t − y_{t−1})` — algebraically `α·x_t + (1 − α)·y_{t−1}`, written in the form polars'
 * `ewm_mean(adjust=false)` evaluates, which these features used before and whose values they keep to the last bit. NaN
 * until `minPeriods` values have been seen; a non-finite input propagates, as in polars.
 */
function exponentialAverage(x: Float64Array, alpha: number, minPeriods: number, start = 0): Float64Array {
  const out = nans(x.length);
  let y = x[start];
  for (let t = start; t < x.length; t++) {
    if (t > start) y = y + alpha * (x[t] - y);
    if (t - start + 1 >= minPeriods) out[t] = y;
  }
  return out;
}

/**
 * `RET{d} = ln(C_t / C_{t−d})`: the d-day log return ending at t. The expression is built on first read of `expr`, so
 * that defining the feature (BASE_FEATURES, FULL_FEATURES at import) does not load polars.
 */
export function logReturnFeature(d: number): ExprFeatureDef {
  const expr = lazy(() => logReturnExpr(d));
  return {
    kind: "expr",
    bounded: true,
    name: `RET${d}`,
    family: "return",
    lookback: d,
    description: `${d}-day log return ln(C_t / C_{t-${d}})`,
    get expr() {
      return expr();
    },
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
      const out = floats(sum.length);
      for (let i = 0; i < out.length; i++) out[i] = s.close[i] / (sum[i] / d) - 1;
      return out;
    },
  };
}

/**
 * `RSI{n}` (Wilder): with gains `g_t = max(C_t − C_{t−1}, 0)` and losses `l_t = max(C_{t−1} − C_t, 0)` averaged by
 * Wilder's EMA (α = 1/n) from t = 1, `RSI = 100 · G / (G + L)`; in [0, 100].
 */
export function rsiFeature(n = 14): SeriesFeatureDef {
  return {
    kind: "series",
    name: `RSI${n}`,
    family: "oscillator",
    lookback: n,
    description: `Wilder RSI(${n}) = 100·G/(G+L), G and L Wilder averages (alpha 1/${n}) of up and down moves`,
    compute: (s) => {
      const c = s.close;
      const gain = floats(c.length);
      const loss = floats(c.length);
      gain[0] = loss[0] = Number.NaN; // no previous close (the averages start at t = 1)
      for (let t = 1; t < c.length; t++) {
        const d = c[t] - c[t - 1];
        gain[t] = d > 0 ? d : 0;
        loss[t] = d < 0 ? -d : 0;
      }
      // The first row has no previous close, so the averages start at t = 1.
      const g = exponentialAverage(gain, 1 / n, n, 1);
      const l = exponentialAverage(loss, 1 / n, n, 1);
      for (let t = 0; t < g.length; t++) g[t] = (g[t] * 100) / (g[t] + l[t]);
      return g;
    },
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
      const x = logVolume(s);
      const { mean, sxx } = rollingMeanAndSquares(x, d);
      for (let i = 0; i < sxx.length; i++) sxx[i] = (x[i] - mean[i]) / Math.sqrt(sxx[i] / (d - 1));
      return sxx;
    },
  };
}

/** `RANGE = (H_t − L_t) / C_t`: the day's high-low range relative to the close. */
export function rangeFeature(): SeriesFeatureDef {
  return {
    kind: "series",
    name: "RANGE",
    family: "volatility",
    lookback: 0,
    description: "daily range (H_t - L_t) / C_t",
    compute: (s) => {
      const out = floats(s.close.length);
      for (let i = 0; i < out.length; i++) out[i] = (s.high[i] - s.low[i]) / s.close[i];
      return out;
    },
  };
}

/**
 * `ATR{n} = WilderEMA_n(TR) / C_t` with the true range `TR_t = max(H_t − L_t, |H_t − C_{t−1}|, |L_t − C_{t−1}|)`
 * (`H_t − L_t` on a symbol's first row).
 */
export function atrFeature(n = 14): SeriesFeatureDef {
  return {
    kind: "series",
    name: `ATR${n}`,
    family: "volatility",
    lookback: n - 1,
    description: `average true range: Wilder EMA (alpha 1/${n}) of the true range, over C_t`,
    compute: (s) => {
      const tr = floats(s.close.length);
      for (let t = 0; t < tr.length; t++) {
        const hl = s.high[t] - s.low[t];
        tr[t] = t === 0 ? hl : Math.max(hl, Math.abs(s.high[t] - s.close[t - 1]), Math.abs(s.low[t] - s.close[t - 1]));
      }
      const atr = exponentialAverage(tr, 1 / n, n);
      for (let t = 0; t < atr.length; t++) atr[t] = atr[t] / s.close[t];
      return atr;
    },
  };
}

/** MACD and its signal line for one symbol (NaN before their first full span), memoized per symbol. */
function macdLines(s: SymbolSeries): { macd: Float64Array; signal: Float64Array } {
  return s.memo("macd", () => {
    const fast = exponentialAverage(s.close, 2 / 13, 12);
    const slow = exponentialAverage(s.close, 2 / 27, 26);
    const macd = floats(s.close.length);
    for (let t = 0; t < macd.length; t++) macd[t] = (fast[t] - slow[t]) / s.close[t];
    // MACD is missing before row 25 (the slow average's span), so its signal line starts there.
    return { macd, signal: exponentialAverage(macd, 2 / 10, 9, 25) };
  });
}

/**
 * MACD family, scaled by the close so it is comparable across symbols: `MACD = (EMA12(C) − EMA26(C)) / C_t`,
 * `MACDSIG = EMA9(MACD)`, `MACDHIST = MACD − MACDSIG` (EMAs with α = 2/(span + 1)).
 */
export function macdFeatures(): SeriesFeatureDef[] {
  return [
    {
      kind: "series",
      name: "MACD",
      family: "oscillator",
      lookback: 25,
      description: "(EMA12(C) - EMA26(C)) / C_t",
      compute: (s) => macdLines(s).macd,
    },
    {
      kind: "series",
      name: "MACDSIG",
      family: "oscillator",
      lookback: 33,
      description: "EMA9 of MACD",
      compute: (s) => macdLines(s).signal,
    },
    {
      kind: "series",
      name: "MACDHIST",
      family: "oscillator",
      lookback: 33,
      description: "MACD - MACDSIG",
      compute: (s) => {
        const { macd, signal } = macdLines(s);
        const out = floats(macd.length);
        for (let t = 0; t < out.length; t++) out[t] = macd[t] - signal[t];
        return out;
      },
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
      const { mean, sxx } = rollingMeanAndSquares(s.close, d);
      for (let i = 0; i < sxx.length; i++) {
        const sd = Math.sqrt(sxx[i] / (d - 1));
        sxx[i] = (s.close[i] - (mean[i] - k * sd)) / (2 * k * sd);
      }
      return sxx;
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
      const sq = floats(s.close.length);
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
      const term = floats(s.close.length);
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
