/**
 * A seeded synthetic stock market with known predictability, for demos and for testing that a pipeline finds a
 * signal when there is one and finds nothing when there is none.
 *
 * ## Model (daily log returns)
 *
 * For symbol i on business day t:
 *
 *     r[i,t] = μ + φ·S[i,t−1] + β_i·σ_m[t]·z_m[t] + σ_u[i,t]·z_u[i,t],     S[i,t−1] = r[i,t−1] + … + r[i,t−K]
 *
 * - **Market factor** σ_m·z_m with GARCH(1,1) variance σ_m²[t] = ω_m + α_m·(σ_m z_m)²[t−1] + β^g_m·σ_m²[t−1]
 *   (α_m = 0.08, β^g_m = 0.90, unconditional daily vol `marketVol` = 1 %), and per-symbol betas β_i ~ U(0.6, 1.4).
 * - **Idiosyncratic noise** σ_u·z_u with its own GARCH(1,1) per symbol (α = 0.07, β^g = 0.91), unconditional daily
 *   vol σ̄_u,i ~ U(1.0 %, 1.8 %). Total daily vol is ≈ 1.3–2.1 %. Volatility clusters (GARCH); tails are fat:
 *   z_m, z_u are Student-t with ν = 6 scaled to unit variance (`tailDof`). Both GARCH recursions keep a finite fourth
 *   moment (β² + 2αβ + κα² < 1 with κ = E z⁴ = 3(ν − 2)/(ν − 4) = 6), so kurtosis and the autocorrelation of squared
 *   returns are well defined; ν = 5 with these α would not satisfy it.
 * - **Drift** μ (default 0.0002 a day, ≈ 5 % a year).
 * - **Planted signal** (mode `planted`): φ = −signalStrength/√K (short-term reversal, `signalKind: "reversal"`) or
 *   +signalStrength/√K (`"momentum"`), K = `signalLookback` (default 5, one week). The driver is therefore the
 *   symbol's own past K-day log return, something every ordinary past-only price feature set contains (a 5-day return
 *   feature, or five lagged daily returns for a linear model). `signalStrength` is the standard deviation of the
 *   planted mean φ·S relative to the daily noise when volatility is steady (φ·S has sd ≈ |φ|·√K·σ). In mode
 *   `random-walk` φ = 0: apart from the constant drift, nothing is predictable.
 * - The conditional mean of tomorrow's return, m[i,t] = μ + φ·S[i,t], is known at the close of t. With
 *   `exposeDriver` it is added as the extra column `driver` (so `sign(driver)` is the oracle's forecast).
 *
 * ## Theoretical accuracy
 *
 * Given everything known at the close of t, r[i,t+1] − m[i,t] = a·Z₁ + b·Z₂ with a = β_i·σ_m[t+1] and
 * b = σ_u[i,t+1] (both known at t, GARCH variances being predetermined) and Z₁, Z₂ independent, symmetric, unit-
 * variance t. The noise is symmetric about zero, so the Bayes rule for the direction is sign(m[i,t]) and it is right
 * with probability P(a·Z₁ + b·Z₂ < |m[i,t]|) (computed by `UnitStudentT.probSumBelow`, an exact quadrature rather
 * than a simulation). `theoreticalAccuracy` is the mean of that probability over every (symbol, day) that has a next
 * day: the expected accuracy of the best possible forecaster on this very sample. No model can beat it except by
 * luck. The realized hit rate of that oracle is reported as `realizedOracleAccuracy`; the two differ only by sampling
 * noise. The default strength (0.23) puts theoreticalAccuracy near 0.566: realistic, yet learnable from ~50k rows.
 *
 * ## Prices and volume
 *
 * close[t] = close[t−1]·exp(r[t]) (start prices log-uniform in [20, 200]); adj_close = close (no dividends);
 * open = close[t−1]·exp(g), g ~ N(0, (0.3·σ_t)²); high = max(open, close)·exp(0.5·σ_t·|N|), low =
 * min(open, close)·exp(−0.5·σ_t·|N'|), so low ≤ open, close ≤ high always holds; volume = round(V_i·exp(0.3·N'' +
 * 0.5·(|shock|/σ_t − 0.8))) with V_i log-uniform in [1e5, 1e7]. Dates are weekdays from `start` (no holidays).
 *
 * ## Randomness
 *
 * One xoroshiro128+ generator (pure-rand) seeded with `seed`; the market uses the stream after one `jump()`, symbol
 * k the stream after k + 2 jumps, so a symbol's path does not depend on how many symbols are generated. The first
 * `burnIn` (250) simulated days are discarded so GARCH variances and the driver start in their stationary regime.
 *
 * @module
 */

import { pl } from "./polars.ts";
import { xoroshiro128plus } from "pure-rand/generator/xoroshiro128plus";
import type { JumpableRandomGenerator } from "pure-rand/types/JumpableRandomGenerator";
import { ConfigError } from "../errors.ts";
import { type Panel, panelFromFrame } from "./panel.ts";
import { UnitStudentT, Variates } from "./student_t.ts";

/** Options of `syntheticMarket`; every field has a default. */
export interface SyntheticMarketOptions {
  /** Number of symbols (default 20), named SYN00, SYN01, … */
  symbols?: number;
  /** Number of business days (default 2520, about 10 years). */
  days?: number;
  /** Seed of every random draw (default 42). */
  seed?: number;
  /** `planted` (default): next-day returns partly predictable from the past K-day return; `random-walk`: not. */
  mode?: "planted" | "random-walk";
  /** Planted mean's sd relative to the noise (default 0.23 → theoreticalAccuracy ≈ 0.566). Ignored in random-walk. */
  signalStrength?: number;
  /** `reversal` (default; tomorrow's mean opposes the past K-day return) or `momentum`. */
  signalKind?: "reversal" | "momentum";
  /** K, the number of past daily returns the driver sums (default 5). */
  signalLookback?: number;
  /** First date, an ISO date; moved forward to a weekday if needed (default 2010-01-04). */
  start?: string;
  /** Daily log-return drift μ (default 0.0002). */
  drift?: number;
  /** Student-t degrees of freedom of every innovation (default 6; must be > 2). */
  tailDof?: number;
  /** Unconditional daily vol of the market factor (default 0.01). */
  marketVol?: number;
  /** Add the oracle's conditional mean of the next day's log return as the extra column `driver` (default false). */
  exposeDriver?: boolean;
}

/** Everything the generator used, resolved, so a run can record and reproduce it. */
export interface SyntheticMarketParams {
  /** Number of symbols generated (SYN00, SYN01, …). */
  symbols: number;
  /** Number of business days kept in the panel (burn-in days excluded). */
  days: number;
  /** Seed of the xoroshiro128+ generator every draw comes from. */
  seed: number;
  /** `planted` (a predictable component exists) or `random-walk` (nothing but the drift is predictable). */
  mode: "planted" | "random-walk";
  /** Planted mean's sd relative to the daily noise; recorded as 0 in random-walk mode whatever was passed. */
  signalStrength: number;
  /** Sign of the planted effect: `reversal` (φ < 0) or `momentum` (φ > 0). */
  signalKind: "reversal" | "momentum";
  /** K, the number of past daily log returns summed into the driver S. */
  signalLookback: number;
  /** φ: the coefficient on the past K-day log return in tomorrow's mean (0 in random-walk mode). */
  signalCoefficient: number;
  /** First date of the panel, ISO `YYYY-MM-DD`, after moving the requested start forward to a weekday. */
  start: string;
  /** μ, the constant daily log-return drift (per day, not annualized; 0.0002 ≈ 5 % a year). */
  drift: number;
  /** ν, Student-t degrees of freedom of every innovation (scaled to unit variance). */
  tailDof: number;
  /** Simulated days discarded before the first panel date so GARCH variances and the driver are stationary. */
  burnIn: number;
  /** Market factor: unconditional daily vol (fraction, 0.01 = 1 %) and its GARCH(1,1) α and β. */
  market: { vol: number; garchAlpha: number; garchBeta: number };
  /** GARCH(1,1) α and β shared by every symbol's idiosyncratic noise (their vols are in `idiosyncraticVols`). */
  idiosyncratic: { garchAlpha: number; garchBeta: number };
  /** Per symbol, in `panel.symbols` order. */
  betas: number[];
  /** Per symbol, in `panel.symbols` order: unconditional daily idiosyncratic vol σ̄_u (fraction, in [0.01, 0.018)). */
  idiosyncraticVols: number[];
}

/** A generated market and what is knowable about it. */
export interface SyntheticMarket {
  /** The generated prices (and the `driver` column when `exposeDriver` was set). */
  panel: Panel;
  /** Expected next-day direction accuracy of the Bayes-optimal forecaster (see the module documentation). */
  theoreticalAccuracy: number;
  /** The hit rate that forecaster actually achieved on this sample (theoreticalAccuracy ± sampling noise). */
  realizedOracleAccuracy: number;
  /** Every parameter resolved to the value used, so the run can be recorded and regenerated exactly. */
  params: SyntheticMarketParams;
}

const DAY_MS = 86_400_000;

/** `count` weekdays starting at `start` (moved forward to a Monday if it falls on a weekend), as ISO dates. */
export function businessDays(start: string, count: number): string[] {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(start) || Number.isNaN(Date.parse(`${start}T00:00:00Z`))) {
    throw new ConfigError(`start must be an ISO date YYYY-MM-DD, got ${JSON.stringify(start)}`);
  }
  const out: string[] = [];
  let t = Date.parse(`${start}T00:00:00Z`);
  while (out.length < count) {
    const dow = new Date(t).getUTCDay();
    if (dow !== 0 && dow !== 6) out.push(new Date(t).toISOString().slice(0, 10));
    t += DAY_MS;
  }
  return out;
}

function positiveInteger(name: string, v: number): number {
  if (!Number.isInteger(v) || v < 1) throw new ConfigError(`${name} must be a positive integer, got ${v}`);
  return v;
}

/**
 * Generates a seeded synthetic market (see the module documentation for the exact model) and reports the best
 * achievable next-day direction accuracy on it.
 *
 * @example
 * ```ts
 * const { panel, theoreticalAccuracy } = syntheticMarket();                    // 20 × 2520, planted, seed 42
 * const noise = syntheticMarket({ mode: "random-walk", seed: 7 });            // nothing to learn
 * ```
 */
export function syntheticMarket(opts: SyntheticMarketOptions = {}): SyntheticMarket {
  const n = positiveInteger("symbols", opts.symbols ?? 20);
  const days = positiveInteger("days", opts.days ?? 2520);
  const seed = opts.seed ?? 42;
  if (!Number.isSafeInteger(seed)) throw new ConfigError(`seed must be an integer, got ${seed}`);
  const mode = opts.mode ?? "planted";
  if (mode !== "planted" && mode !== "random-walk") {
    throw new ConfigError(`mode must be "planted" or "random-walk", got ${JSON.stringify(mode)}`);
  }
  const strength = opts.signalStrength ?? 0.23;
  if (!(strength >= 0) || !Number.isFinite(strength)) {
    throw new ConfigError(`signalStrength must be a finite number ≥ 0, got ${strength}`);
  }
  const kind = opts.signalKind ?? "reversal";
  if (kind !== "reversal" && kind !== "momentum") {
    throw new ConfigError(`signalKind must be "reversal" or "momentum", got ${JSON.stringify(kind)}`);
  }
  const lookback = positiveInteger("signalLookback", opts.signalLookback ?? 5);
  const phi = mode === "random-walk" ? 0 : (kind === "reversal" ? -1 : 1) * strength / Math.sqrt(lookback);
  if (Math.abs(phi) * lookback >= 1) {
    throw new ConfigError(
      `signalStrength ${strength} with lookback ${lookback} makes returns explosive (|φ|·K = ${
        Math.abs(phi) * lookback
      } ≥ 1); use a strength below ${1 / Math.sqrt(lookback)}`,
    );
  }
  const drift = opts.drift ?? 0.0002;
  const nu = opts.tailDof ?? 6;
  const dist = UnitStudentT.of(nu); // validates nu > 2
  const marketVol = opts.marketVol ?? 0.01;
  if (!(marketVol >= 0)) throw new ConfigError(`marketVol must be ≥ 0, got ${marketVol}`);
  const dates = businessDays(opts.start ?? "2010-01-04", days);
  const burnIn = 250;
  const mA = 0.08, mB = 0.9, uA = 0.07, uB = 0.91;
  const mOmega = marketVol * marketVol * (1 - mA - mB);

  // Independent streams: market after 1 jump, symbol k after k + 2 jumps.
  const base: JumpableRandomGenerator = xoroshiro128plus(seed);
  base.jump();
  const marketRng = new Variates(base.clone());
  const streams: Variates[] = [];
  for (let k = 0; k < n; k++) {
    base.jump();
    streams.push(new Variates(base.clone()));
  }

  const width = String(n - 1).length;
  const names = Array.from({ length: n }, (_, k) => `SYN${String(k).padStart(Math.max(2, width), "0")}`);
  const betas = streams.map((v) => 0.6 + 0.8 * v.uniform());
  const idioVols = streams.map((v) => 0.010 + 0.008 * v.uniform());
  const startPrice = streams.map((v) => Math.exp(Math.log(20) + v.uniform() * Math.log(10)));
  const baseVolume = streams.map((v) => Math.exp(Math.log(1e5) + v.uniform() * Math.log(100)));

  // Market factor path over burn-in + days: its conditional variance and its shock.
  const total = burnIn + days;
  const mVar = new Float64Array(total);
  const mShock = new Float64Array(total);
  {
    let v = marketVol * marketVol;
    let prev = 0;
    for (let t = 0; t < total; t++) {
      v = t === 0 ? v : mOmega + mA * prev * prev + mB * v;
      mVar[t] = v;
      prev = Math.sqrt(v) * marketRng.studentT(nu);
      mShock[t] = prev;
    }
  }

  const rows = n * days;
  const cols = {
    open: new Float64Array(rows),
    high: new Float64Array(rows),
    low: new Float64Array(rows),
    close: new Float64Array(rows),
    volume: new Float64Array(rows),
    driver: new Float64Array(rows),
  };
  let probSum = 0;
  let hits = 0;
  let scored = 0;
  const r = new Float64Array(total);
  for (let k = 0; k < n; k++) {
    const rng = streams[k];
    const beta = betas[k];
    const uOmega = idioVols[k] * idioVols[k] * (1 - uA - uB);
    let uVar = idioVols[k] * idioVols[k];
    let uPrev = 0;
    let pastSum = 0; // S: sum of the last K returns
    let close = startPrice[k];
    for (let t = 0; t < total; t++) {
      if (t > 0) uVar = uOmega + uA * uPrev * uPrev + uB * uVar;
      const mean = drift + phi * pastSum; // known at the close of t − 1
      const a = beta * Math.sqrt(mVar[t]);
      const b = Math.sqrt(uVar);
      uPrev = b * rng.studentT(nu);
      const shock = beta * mShock[t] + uPrev;
      r[t] = mean + shock;
      pastSum += r[t] - (t >= lookback ? r[t - lookback] : 0);

      const sigma = Math.sqrt(a * a + b * b);
      // Price bars: always drawn, so the stream does not depend on burn-in bookkeeping.
      const gap = 0.3 * sigma * rng.normal();
      const upWick = 0.5 * sigma * Math.abs(rng.normal());
      const downWick = 0.5 * sigma * Math.abs(rng.normal());
      const volNoise = rng.normal();
      const prevClose = close;
      close = prevClose * Math.exp(r[t]);
      const d = t - burnIn;
      if (d >= 1) {
        // The forecast of r[t] was made on day d − 1, with mean, a and b all known then.
        probSum += dist.probSumBelow(a, b, Math.abs(mean));
        if ((mean > 0 && r[t] > 0) || (mean < 0 && r[t] < 0) || (mean === 0 && r[t] > 0)) hits++;
        scored++;
      }
      if (d >= 0) {
        const i = k * days + d;
        const open = prevClose * Math.exp(gap);
        cols.open[i] = open;
        cols.close[i] = close;
        cols.high[i] = Math.max(open, close) * Math.exp(upWick);
        cols.low[i] = Math.min(open, close) * Math.exp(-downWick);
        cols.volume[i] = Math.round(baseVolume[k] * Math.exp(0.3 * volNoise + 0.5 * (Math.abs(shock) / sigma - 0.8)));
        cols.driver[i] = drift + phi * pastSum; // tomorrow's conditional mean
      }
    }
  }

  const symbolColumn: string[] = new Array(rows);
  const dateColumn: string[] = new Array(rows);
  for (let k = 0; k < n; k++) {
    for (let d = 0; d < days; d++) {
      symbolColumn[k * days + d] = names[k];
      dateColumn[k * days + d] = dates[d];
    }
  }
  const frame = pl.DataFrame({
    date: dateColumn,
    symbol: symbolColumn,
    open: cols.open,
    high: cols.high,
    low: cols.low,
    close: cols.close,
    adj_close: cols.close,
    volume: cols.volume,
    ...(opts.exposeDriver ? { driver: cols.driver } : {}),
  });
  const panel = panelFromFrame(frame, { extraColumns: opts.exposeDriver ? ["driver"] : [] });

  return {
    panel,
    theoreticalAccuracy: scored > 0 ? probSum / scored : 0.5,
    realizedOracleAccuracy: scored > 0 ? hits / scored : 0.5,
    params: {
      symbols: n,
      days,
      seed,
      mode,
      signalStrength: mode === "random-walk" ? 0 : strength,
      signalKind: kind,
      signalLookback: lookback,
      signalCoefficient: phi,
      start: dates[0],
      drift,
      tailDof: nu,
      burnIn,
      market: { vol: marketVol, garchAlpha: mA, garchBeta: mB },
      idiosyncratic: { garchAlpha: uA, garchBeta: uB },
      betas,
      idiosyncraticVols: idioVols,
    },
  };
}
