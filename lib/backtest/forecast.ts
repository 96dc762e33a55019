/**
 * Forecast conversion: a model's h-day log-return forecast → the daily arithmetic expected return that sizing and
 * the engine (arithmetic daily returns) work in.
 *
 * Convention: the h-day target at t is log(P[t+h] / P[t]) (docs/design.md §2). Spreading it evenly over the horizon gives a
 * daily log drift μ = f / h. Under a lognormal daily return with log volatility σ, E[P[t+1]/P[t]] = exp(μ + σ²/2), so
 * the daily arithmetic expected return is exp(f / h + σ² / 2) − 1. With σ = 0 (the default) this is the plain
 * geometric de-annualization exp(f / h) − 1. Using f itself as a daily return would overstate it h-fold; mixing log
 * and arithmetic returns misstates the drift by σ²/2 a day, which matters for volatile names.
 *
 * @module
 */

import { ConfigError } from "../errors.ts";

function checkHorizon(h: number): void {
  if (!Number.isInteger(h) || h < 1) throw new ConfigError(`horizon must be an integer ≥ 1 (days), got ${h}`);
}

/**
 * Daily arithmetic expected return from one h-day log-return forecast: exp(f / h + σ² / 2) − 1, where σ is the
 * daily log-return volatility (default 0). NaN in, NaN out.
 */
export function dailyExpectedReturn(logForecast: number, horizon: number, dailyLogVol = 0): number {
  checkHorizon(horizon);
  if (!(dailyLogVol >= 0)) throw new ConfigError(`dailyLogVol must be ≥ 0, got ${dailyLogVol}`);
  return Math.expm1(logForecast / horizon + dailyLogVol * dailyLogVol / 2);
}

/** {@link dailyExpectedReturn} over a series; `dailyLogVol` is one number or one value per forecast. */
export function dailyExpectedReturns(
  logForecasts: ArrayLike<number>,
  horizon: number,
  dailyLogVol: number | ArrayLike<number> = 0,
): Float64Array {
  checkHorizon(horizon);
  const out = new Float64Array(logForecasts.length);
  for (let i = 0; i < out.length; i++) {
    const s = typeof dailyLogVol === "number" ? dailyLogVol : dailyLogVol[i];
    out[i] = Math.expm1(logForecasts[i] / horizon + s * s / 2);
  }
  return out;
}
