/**
 * Position sizing: forecasts → target positions (fractions of capital, negative = short) decided at the close of
 * each period, using information up to that close only. The engine lags them.
 *
 * - {@link signPositions}: ±1 by the forecast's sign.
 * - {@link forecastOverSigma}: scale · forecast / σ, clipped to ±cap (σ = trailing volatility, known at the close).
 * - {@link volatilityTarget}: scales positions so the trailing realized volatility of the underlying, times the
 *   position, hits an annual target (capped leverage).
 * - {@link kellyFraction} / {@link kellyPositions}: Kelly f* = p − (1 − p) / b from win probability p and payoff b
 *   (average win / average loss), times a fraction (½ = half Kelly).
 * - {@link winRatePrior}: the honest win probability to feed Kelly: clip(max(holdout direction accuracy, training
 *   share of positive targets), 0.50, 0.60). The floor 0.5 stops a bad holdout from sizing to 0 on noise; the
 *   ceiling 0.6 is where daily direction accuracy stops being believable (docs/design.md §6.3): above it, suspect a leak
 *   rather than bet more.
 * - {@link longBiasedHalfKelly}: the long-biased hybrid. With k = kellyFraction · max(0, p − (1 − p)/b):
 *   bullish → min(maxLong, baseLongBias + k); bearish → riskOffPosition (default 0: flat) if bearishRiskOff, else
 *   max(−maxShort, baseLongBias − k);
 *   forecast exactly 0 → min(maxLong, baseLongBias); NaN → NaN (no decision). Optionally followed by
 * - {@link applyDrawdownBreaker}: a drawdown circuit breaker. The strategy's own equity is tracked with the engine's
 *   semantics; once its drawdown at a close reaches −threshold, every decision is capped to ±drawdownMaxPosition
 *   until equity recovers to its previous peak. Path-dependent, so sequential (hand-written, as is all sizing).
 *   The cap must be > 0: a cap of 0 goes flat, flat equity never regains its peak, and the breaker would never
 *   release (a permanent stop, not a breaker). In the hybrid it must also be below the largest |position| the rule
 *   actually takes, max(bullish, |bearish|) (at most max(maxLong, maxShort)), or it never binds. A small cap recovers slowly: the breaker stays on
 *   until the capped position earns back the whole drawdown.
 * - Forecast conversion ({@link sizePositions}, lib/backtest/forecast.ts): a spec with `horizon` h treats the
 *   forecasts as h-day log-return forecasts and converts them to daily arithmetic expected returns
 *   exp(f / h + σ² / 2) − 1 before sizing (σ = `dailyLogVol`: a number, or "trailing" for the trailing std of daily
 *   log returns over the rule's window, known at the close). This matters for forecast/σ sizing, which uses the
 *   magnitude; for sign-based rules only the sign changes, and only when the drift correction outweighs f / h.
 *
 * Every parameter set is validated: a bad one is a ConfigError naming the field and the allowed range.
 *
 * @module
 */

import { ConfigError } from "../errors.ts";
import { type BacktestCostOptions, resolveCosts } from "./engine.ts";
import { dailyExpectedReturns } from "./forecast.ts";

function check(cond: boolean, field: string, allowed: string, got: unknown): void {
  if (!cond) throw new ConfigError(`${field} must be ${allowed}, got ${JSON.stringify(got)}`);
}

const finite = (x: unknown): x is number => typeof x === "number" && Number.isFinite(x);

/** Sign of each forecast (+1, −1, 0), times `scale`; NaN stays NaN. */
export function signPositions(forecasts: ArrayLike<number>, scale = 1): Float64Array {
  check(finite(scale) && scale >= 0, "scale", "a finite number ≥ 0", scale);
  return Float64Array.from(forecasts as ArrayLike<number>, (f) => (Number.isNaN(f) ? NaN : Math.sign(f) * scale));
}

/**
 * Trailing volatility (std with ddof 1) of the last `window` returns up to and including t: known at the close of
 * t. NaN until `window` finite returns are available; non-finite returns are skipped.
 */
export function trailingVolatility(returns: ArrayLike<number>, window: number): Float64Array {
  check(Number.isInteger(window) && window >= 2, "window", "an integer ≥ 2", window);
  const n = returns.length;
  const out = new Float64Array(n).fill(NaN);
  const seen = new Float64Array(n); // finite returns so far, compacted
  let k = 0;
  for (let t = 0; t < n; t++) {
    const r = returns[t];
    if (Number.isFinite(r)) seen[k++] = r;
    if (k >= window) {
      let m = 0;
      for (let i = k - window; i < k; i++) m += seen[i];
      m /= window;
      let ss = 0;
      for (let i = k - window; i < k; i++) ss += (seen[i] - m) * (seen[i] - m);
      out[t] = Math.sqrt(ss / (window - 1));
    }
  }
  return out;
}

/** Options of {@link forecastOverSigma}. */
export interface ForecastOverSigmaOptions {
  /** Multiplier on forecast / σ (default 1). */
  scale?: number;
  /** Position limit ±cap (default 1). */
  cap?: number;
}

/**
 * Positions scale · forecast / σ clipped to ±cap, with σ per period (e.g. {@link trailingVolatility}, in the
 * forecast's units). σ ≤ 0 or NaN gives NaN (no decision) rather than an unbounded position.
 */
export function forecastOverSigma(
  forecasts: ArrayLike<number>,
  sigma: ArrayLike<number>,
  opts: ForecastOverSigmaOptions = {},
): Float64Array {
  const scale = opts.scale ?? 1;
  const cap = opts.cap ?? 1;
  check(finite(scale) && scale >= 0, "scale", "a finite number ≥ 0", scale);
  check(finite(cap) && cap >= 0, "cap", "a finite number ≥ 0", cap);
  if (sigma.length !== forecasts.length) throw new ConfigError("sigma and forecasts must have the same length");
  const out = new Float64Array(forecasts.length);
  for (let i = 0; i < out.length; i++) {
    const s = sigma[i];
    out[i] = s > 0 ? Math.min(cap, Math.max(-cap, (scale * forecasts[i]) / s)) : NaN;
  }
  return out;
}

/** Options of {@link volatilityTarget}. */
export interface VolatilityTargetOptions {
  /** Annualized volatility target, e.g. 0.10. */
  targetVol: number;
  /** Trailing window of returns for realized volatility (default 20). */
  window?: number;
  /** Maximum |position| after scaling (default 2). */
  maxLeverage?: number;
  /** Periods per year (default 252). */
  annualization?: number;
}

/**
 * Scales positions by targetVol / (trailing σ · √annualization), capped at ±maxLeverage. σ at t uses returns up to
 * and including t (known at the close of t). NaN during the warm-up.
 */
export function volatilityTarget(
  positions: ArrayLike<number>,
  returns: ArrayLike<number>,
  opts: VolatilityTargetOptions,
): Float64Array {
  const window = opts.window ?? 20;
  const maxLeverage = opts.maxLeverage ?? 2;
  const A = opts.annualization ?? 252;
  check(finite(opts.targetVol) && opts.targetVol > 0, "targetVol", "a finite annual volatility > 0", opts.targetVol);
  check(finite(maxLeverage) && maxLeverage > 0, "maxLeverage", "a finite number > 0", maxLeverage);
  check(finite(A) && A > 0, "annualization", "> 0", A);
  if (positions.length !== returns.length) throw new ConfigError("positions and returns must have the same length");
  const sigma = trailingVolatility(returns, window);
  const out = new Float64Array(positions.length);
  for (let t = 0; t < out.length; t++) {
    const s = sigma[t] * Math.sqrt(A);
    out[t] = s > 0 ? Math.min(maxLeverage, Math.max(-maxLeverage, positions[t] * opts.targetVol / s)) : NaN;
  }
  return out;
}

/**
 * Kelly fraction f* = p − (1 − p) / b for win probability p and payoff ratio b (average win / average loss). May be
 * negative (the bet has negative edge).
 */
export function kellyFraction(winProbability: number, payoff = 1): number {
  check(
    finite(winProbability) && winProbability >= 0 && winProbability <= 1,
    "winProbability",
    "in [0, 1]",
    winProbability,
  );
  check(finite(payoff) && payoff > 0, "payoff", "a finite number > 0", payoff);
  return winProbability - (1 - winProbability) / payoff;
}

/** Fractional Kelly: fraction · max(0, f*). Half Kelly is fraction 0.5. */
export function fractionalKelly(winProbability: number, payoff = 1, fraction = 0.5): number {
  check(finite(fraction) && fraction > 0 && fraction <= 1, "fraction", "in (0, 1]", fraction);
  return fraction * Math.max(0, kellyFraction(winProbability, payoff));
}

/** Options of {@link kellyPositions}. */
export interface KellyPositionOptions {
  /** Kelly multiplier in (0, 1] (default 0.5, half Kelly). */
  fraction?: number;
  /** Average win / average loss (default 1). */
  payoff?: number;
  /** Position limit ±maxPosition (default 1). */
  maxPosition?: number;
}

/**
 * Positions from per-period probabilities that the next return is positive: long fraction · f*(P) when that is
 * positive, short fraction · f*(1 − P) when that is, else flat; clipped to ±maxPosition. NaN → NaN.
 */
export function kellyPositions(probabilities: ArrayLike<number>, opts: KellyPositionOptions = {}): Float64Array {
  const fraction = opts.fraction ?? 0.5;
  const payoff = opts.payoff ?? 1;
  const maxPosition = opts.maxPosition ?? 1;
  check(finite(maxPosition) && maxPosition >= 0, "maxPosition", "a finite number ≥ 0", maxPosition);
  fractionalKelly(0.5, payoff, fraction); // validates fraction and payoff
  return Float64Array.from(probabilities as ArrayLike<number>, (p) => {
    if (!(p >= 0 && p <= 1)) {
      if (Number.isNaN(p)) return NaN;
      throw new ConfigError(`probabilities must be in [0, 1], got ${p}`);
    }
    const up = fractionalKelly(p, payoff, fraction);
    const down = fractionalKelly(1 - p, payoff, fraction);
    return up > 0 ? Math.min(maxPosition, up) : down > 0 ? -Math.min(maxPosition, down) : 0;
  });
}

/**
 * The win probability to size with: clip(max(holdout direction accuracy, training share of positive targets), 0.50,
 * 0.60). Using the share of up days as a floor credits a long bias the market pays anyway; the 0.60 ceiling refuses
 * to bet on an accuracy that is more likely a leak than skill.
 */
export function winRatePrior(holdoutAccuracy: number, trainPositiveShare: number): number {
  check(
    finite(holdoutAccuracy) && holdoutAccuracy >= 0 && holdoutAccuracy <= 1,
    "holdoutAccuracy",
    "in [0, 1]",
    holdoutAccuracy,
  );
  check(
    finite(trainPositiveShare) && trainPositiveShare >= 0 && trainPositiveShare <= 1,
    "trainPositiveShare",
    "in [0, 1]",
    trainPositiveShare,
  );
  return Math.min(0.6, Math.max(0.5, Math.max(holdoutAccuracy, trainPositiveShare)));
}

/** Parameters of the long-biased fractional-Kelly hybrid (see module docs). */
export interface HybridSizingParams {
  /** Largest long position, ≥ 0 (e.g. 1). */
  maxLong: number;
  /** Largest short magnitude, ≥ 0 (0 = never short). */
  maxShort: number;
  /** Long position held on a neutral forecast and the base that bullish/bearish Kelly sizing moves from; in [0, maxLong]. */
  baseLongBias: number;
  /** On a bearish forecast hold `riskOffPosition` (flat by default) instead of sizing below the bias. */
  bearishRiskOff: boolean;
  /**
   * The position held on a bearish forecast when `bearishRiskOff` (default 0, flat), in [0, baseLongBias]: a small
   * residual long (the seed-aapl preset holds 0.10) keeps some market exposure while risk is off.
   */
  riskOffPosition?: number;
  /** Kelly multiplier in (0, 1] (default 0.5, half Kelly). */
  kellyFraction?: number;
  /** Win probability, e.g. from {@link winRatePrior}; in [0, 1]. */
  winRate: number;
  /** Average win / average loss (default 1). */
  payoff?: number;
  /** Drawdown (positive fraction, e.g. 0.15) at which the circuit breaker trips; omit for no breaker. */
  drawdownThreshold?: number;
  /**
   * |position| cap while the breaker is on; required with drawdownThreshold. Above 0 and below the largest
   * |position| the rule actually takes, max(bullish, |bearish|) (see the module docs; not simply max(maxLong,
   * maxShort)): 0 would go flat and never recover (the breaker would never release); a cap at or above the largest
   * position never binds.
   */
  drawdownMaxPosition?: number;
}

/** Validates hybrid sizing parameters; throws ConfigError naming the first bad field. */
export function validateHybridParams(
  p: HybridSizingParams,
):
  & Required<Omit<HybridSizingParams, "drawdownThreshold" | "drawdownMaxPosition">>
  & Pick<HybridSizingParams, "drawdownThreshold" | "drawdownMaxPosition"> {
  check(finite(p.maxLong) && p.maxLong >= 0, "maxLong", "a finite number ≥ 0", p.maxLong);
  check(finite(p.maxShort) && p.maxShort >= 0, "maxShort", "a finite number ≥ 0", p.maxShort);
  check(
    finite(p.baseLongBias) && p.baseLongBias >= 0 && p.baseLongBias <= p.maxLong,
    "baseLongBias",
    `in [0, maxLong = ${p.maxLong}]`,
    p.baseLongBias,
  );
  check(typeof p.bearishRiskOff === "boolean", "bearishRiskOff", "a boolean", p.bearishRiskOff);
  const riskOff = p.riskOffPosition ?? 0;
  check(
    finite(riskOff) && riskOff >= 0 && riskOff <= p.baseLongBias,
    "riskOffPosition",
    `in [0, baseLongBias = ${p.baseLongBias}]`,
    riskOff,
  );
  const kf = p.kellyFraction ?? 0.5;
  check(finite(kf) && kf > 0 && kf <= 1, "kellyFraction", "in (0, 1]", kf);
  check(finite(p.winRate) && p.winRate >= 0 && p.winRate <= 1, "winRate", "in [0, 1]", p.winRate);
  const payoff = p.payoff ?? 1;
  check(finite(payoff) && payoff > 0, "payoff", "a finite number > 0", payoff);
  if (p.drawdownThreshold !== undefined || p.drawdownMaxPosition !== undefined) {
    check(
      finite(p.drawdownThreshold) && p.drawdownThreshold > 0 && p.drawdownThreshold < 1,
      "drawdownThreshold",
      "in (0, 1) (a positive drawdown fraction, e.g. 0.15)",
      p.drawdownThreshold,
    );
    const { bull, bear } = hybridLevels({ ...p, kellyFraction: kf, payoff, riskOffPosition: riskOff });
    const largest = Math.max(bull, Math.abs(bear));
    check(
      finite(p.drawdownMaxPosition) && p.drawdownMaxPosition > 0 && p.drawdownMaxPosition < largest,
      "drawdownMaxPosition",
      `in (0, ${largest}), the largest |position| this rule takes (bullish ${bull}, bearish ${bear}): 0 goes flat, ` +
        `flat equity never regains its peak and the breaker would never release; a cap ≥ ${largest} never binds`,
      p.drawdownMaxPosition,
    );
  }
  return { ...p, kellyFraction: kf, payoff, riskOffPosition: riskOff };
}

/** The hybrid's three positions (bullish, bearish, neutral) from validated parameters. */
function hybridLevels(
  p: Pick<HybridSizingParams, "maxLong" | "maxShort" | "baseLongBias" | "bearishRiskOff" | "winRate"> & {
    kellyFraction: number;
    payoff: number;
    riskOffPosition: number;
  },
): { bull: number; bear: number; neutral: number } {
  const k = p.kellyFraction * Math.max(0, kellyFraction(p.winRate, p.payoff));
  return {
    bull: Math.min(p.maxLong, p.baseLongBias + k),
    bear: p.bearishRiskOff ? p.riskOffPosition : Math.max(-p.maxShort, p.baseLongBias - k),
    neutral: Math.min(p.maxLong, p.baseLongBias),
  };
}

/**
 * Long-biased fractional-Kelly hybrid positions from forecasts (only their sign is used; see module docs). Does
 * not apply the drawdown breaker, which needs returns: use {@link hybridPositions} for the whole rule.
 */
export function longBiasedHalfKelly(forecasts: ArrayLike<number>, params: HybridSizingParams): Float64Array {
  const { bull, bear, neutral } = hybridLevels(validateHybridParams(params));
  return Float64Array.from(
    forecasts as ArrayLike<number>,
    (f) => (f > 0 ? bull : f < 0 ? bear : f === 0 ? neutral : NaN),
  );
}

/** Options of {@link applyDrawdownBreaker}: the breaker and the engine conventions its equity is tracked with. */
export interface DrawdownBreakerOptions extends BacktestCostOptions {
  /** Positive drawdown fraction that trips the breaker (e.g. 0.15 = a 15 % fall from the peak). */
  threshold: number;
  /** |position| cap while tripped, > 0 (a cap of 0 goes flat and would never release). */
  maxPosition: number;
}

/**
 * Caps target positions while the strategy's own drawdown is at or beyond −threshold, until equity regains its
 * previous peak. Equity is tracked exactly as the engine computes it (same lag, costs, borrow), so
 * `backtest({ returns, positions: applyDrawdownBreaker(...).positions, ...sameCosts })` reproduces `equity`.
 * With lag ≥ 1 the decision at the close of t sees the drawdown at the close of t: no look-ahead. With lag 0
 * (`sameBar`: the position decided "at t" is held over period t, so it is really decided before period t's return)
 * the decision at t sees the drawdown through the close of t − 1, the last equity known when it is made; the
 * breaker then reacts one period later than at lag 1 relative to the return it holds. `tripped[t]` is the state
 * the decision at t was made with.
 */
export function applyDrawdownBreaker(
  positions: ArrayLike<number>,
  returns: ArrayLike<number>,
  opts: DrawdownBreakerOptions,
): { positions: Float64Array; tripped: Uint8Array; equity: Float64Array } {
  check(finite(opts.threshold) && opts.threshold > 0 && opts.threshold < 1, "threshold", "in (0, 1)", opts.threshold);
  check(
    finite(opts.maxPosition) && opts.maxPosition > 0,
    "maxPosition",
    "a finite number > 0 (a cap of 0 goes flat: equity stays below its peak and the breaker never releases)",
    opts.maxPosition,
  );
  if (positions.length !== returns.length) throw new ConfigError("positions and returns must have the same length");
  const costs = resolveCosts(opts);
  const c = (costs.costBps + costs.slippageBps) / 1e4;
  const borrow = costs.borrowBps / 1e4 / costs.annualization;
  const n = positions.length;
  const lag = costs.lag;
  const out = new Float64Array(n);
  const tripped = new Uint8Array(n);
  const equity = new Float64Array(n).fill(NaN);
  let first = -1;
  let last = -1;
  for (let t = 0; t < n; t++) {
    if (Number.isFinite(positions[t])) {
      if (first < 0) first = t;
      last = t;
    }
  }
  const start = first < 0 ? n : first + lag;
  const end = first < 0 ? -1 : Math.min(last + lag, n - 1);
  let e = 1;
  let peak = 1;
  let on = false;
  let prevQ = 0;
  const decide = (t: number) => {
    const p = positions[t];
    out[t] = on && Number.isFinite(p) ? Math.min(opts.maxPosition, Math.max(-opts.maxPosition, p)) : p;
    tripped[t] = on ? 1 : 0;
  };
  for (let t = 0; t < n; t++) {
    // Same bar (lag 0): the position held over period t is decided before period t's return is known, so it sees
    // the drawdown through the close of t − 1 only.
    if (lag === 0) decide(t);
    // Earn period t with the position decided lag periods ago (engine semantics).
    if (t >= start && t <= end) {
      const w = out[t - lag];
      const q = Number.isFinite(w) ? w : 0;
      const r = returns[t];
      const net = (Number.isFinite(r) ? q * r : 0) - c * Math.abs(q - prevQ) - borrow * Math.max(-q, 0);
      prevQ = q;
      e *= 1 + net;
      equity[t] = e;
      if (e >= peak) {
        peak = e;
        on = false;
      } else if (e / peak - 1 <= -opts.threshold) on = true;
    }
    // lag ≥ 1: decide at the close of t, seeing the drawdown through t.
    if (lag > 0) decide(t);
  }
  return { positions: out, tripped, equity };
}

/**
 * The full hybrid rule: {@link longBiasedHalfKelly} followed, when `drawdownThreshold` is set, by
 * {@link applyDrawdownBreaker} tracked with the given engine conventions.
 */
export function hybridPositions(
  forecasts: ArrayLike<number>,
  returns: ArrayLike<number>,
  params: HybridSizingParams,
  costs: BacktestCostOptions = {},
): Float64Array {
  const base = longBiasedHalfKelly(forecasts, params);
  if (params.drawdownThreshold === undefined) return base;
  return applyDrawdownBreaker(base, returns, {
    ...costs,
    threshold: params.drawdownThreshold,
    maxPosition: params.drawdownMaxPosition!,
  }).positions;
}

/**
 * Optional forecast conversion of a {@link SizingSpec}: with `horizon` h, forecasts are h-day log-return forecasts
 * and are converted to daily arithmetic expected returns exp(f / h + σ² / 2) − 1 before sizing.
 */
export interface ForecastConversionSpec {
  /**
   * Forecast horizon in days (integer ≥ 1); omit when forecasts already are daily arithmetic returns. Refused with
   * `kelly`, which sizes from probabilities and never reads the forecasts.
   */
  horizon?: number;
  /**
   * Daily log-return volatility σ of the conversion (needs `horizon`): a number ≥ 0 (default 0: no drift
   * correction), or "trailing": the std (ddof 1) of the last `window` daily log returns log(1 + r) up to the close
   * (window of the rule, default 20; NaN during the warm-up).
   */
  dailyLogVol?: number | "trailing";
}

/** A sizing rule as data (for sweeps and stored configurations). */
export type SizingSpec =
  & (
    | { kind: "sign"; scale?: number }
    | { kind: "forecastOverSigma"; window?: number; scale?: number; cap?: number }
    | { kind: "volatilityTarget"; targetVol: number; window?: number; maxLeverage?: number }
    | { kind: "kelly"; fraction?: number; payoff?: number; maxPosition?: number }
    | ({ kind: "hybrid" } & HybridSizingParams)
  )
  & ForecastConversionSpec;

/** Inputs of {@link sizePositions}, aligned per period. */
export interface SizingInputs {
  /** Forecasts known at the close of each period (signed: expected return or score). */
  forecasts: ArrayLike<number>;
  /** Arithmetic returns r[t] (for trailing volatility and the drawdown breaker). */
  returns: ArrayLike<number>;
  /** P(next return > 0) per period, for `kelly` (defaults to none: `kelly` then needs it). */
  probabilities?: ArrayLike<number>;
  /** Engine conventions, for the drawdown breaker's equity tracking (and annualization). */
  costs?: BacktestCostOptions;
}

/** A readable label of a sizing rule, e.g. "volatilityTarget(targetVol=0.1)". */
export function describeSizing(spec: SizingSpec): string {
  const { kind, ...rest } = spec;
  const args = Object.entries(rest).map(([k, v]) => `${k}=${v}`).join(",");
  return `${kind}(${args})`;
}

/**
 * The forecasts a spec sizes with: unchanged without `horizon`, else converted from h-day log returns to daily
 * arithmetic expected returns (see {@link ForecastConversionSpec}). A `kelly` spec sizes from probabilities, so a
 * conversion on it is refused (ConfigError) rather than silently ignored.
 */
export function convertedForecasts(spec: SizingSpec, inputs: SizingInputs): ArrayLike<number> {
  const { horizon, dailyLogVol } = spec;
  if (spec.kind === "kelly" && (horizon !== undefined || dailyLogVol !== undefined)) {
    throw new ConfigError(
      "kelly sizing uses probabilities, not forecasts: horizon and dailyLogVol (a forecast conversion) would be " +
        "ignored; drop them, or size the forecasts with another rule",
    );
  }
  if (horizon === undefined) {
    if (dailyLogVol !== undefined) {
      throw new ConfigError("dailyLogVol converts h-day log forecasts and needs horizon (days) as well");
    }
    return inputs.forecasts;
  }
  check(Number.isInteger(horizon) && horizon >= 1, "horizon", "an integer ≥ 1 (days)", horizon);
  if (dailyLogVol === "trailing") {
    const window = "window" in spec && spec.window !== undefined ? spec.window : 20;
    const logReturns = Float64Array.from(inputs.returns as ArrayLike<number>, (r) => Math.log1p(r));
    return dailyExpectedReturns(inputs.forecasts, horizon, trailingVolatility(logReturns, window));
  }
  const sigma = dailyLogVol ?? 0;
  check(finite(sigma) && sigma >= 0, "dailyLogVol", `a number ≥ 0 or "trailing"`, sigma);
  return dailyExpectedReturns(inputs.forecasts, horizon, sigma);
}

/**
 * Applies a {@link SizingSpec}: target positions decided at each close from information up to that close. With
 * `horizon`, forecasts are first converted to daily arithmetic expected returns ({@link convertedForecasts}).
 */
export function sizePositions(spec: SizingSpec, inputs: SizingInputs): Float64Array {
  const { returns } = inputs;
  if (inputs.forecasts.length !== returns.length) {
    throw new ConfigError(
      `forecasts (${inputs.forecasts.length}) and returns (${returns.length}) must have one value per period`,
    );
  }
  const forecasts = convertedForecasts(spec, inputs);
  switch (spec.kind) {
    case "sign":
      return signPositions(forecasts, spec.scale ?? 1);
    case "forecastOverSigma":
      return forecastOverSigma(forecasts, trailingVolatility(returns, spec.window ?? 20), spec);
    case "volatilityTarget":
      return volatilityTarget(signPositions(forecasts), returns, {
        ...spec,
        annualization: inputs.costs?.annualization,
      });
    case "kelly":
      if (inputs.probabilities === undefined) {
        throw new ConfigError("kelly sizing needs probabilities (P(next return > 0) per period)");
      }
      return kellyPositions(inputs.probabilities, spec);
    case "hybrid":
      return hybridPositions(forecasts, returns, spec, inputs.costs);
    default:
      throw new ConfigError(`unknown sizing kind ${JSON.stringify((spec as { kind: unknown }).kind)}`);
  }
}
