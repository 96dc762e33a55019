/**
 * Overfitting statistics for Sharpe ratios (Bailey & López de Prado): the probabilistic Sharpe ratio (PSR), the
 * deflated Sharpe ratio (DSR), the expected maximum Sharpe ratio under the null of no skill, and the minimum track
 * record length (MinTRL).
 *
 * Conventions — the usual source of wrong numbers here:
 * - Sharpe ratios are **per period and not annualized** (daily mean / daily standard deviation for daily returns).
 *   An annualized Sharpe passed in makes the PSR saturate at ≈ 1. Divide by √(periods per year) first.
 * - `kurtosis` is the plain fourth standardized moment (3 for a normal distribution), **not** excess kurtosis.
 * - `nObs` is the number of return observations behind the Sharpe ratio.
 * - `trialSharpeVariance` is the variance across trials of the per-period Sharpe ratios.
 *
 * PSR(SR*) = Φ( (SR − SR*) √(T − 1) / √(1 − γ₃ SR + (γ₄ − 1)/4 · SR²) ) (Bailey & López de Prado 2012, "The Sharpe
 * Ratio Efficient Frontier", Journal of Risk 15(2)). DSR = PSR(SR₀) with SR₀ = √V · ((1 − γ) Φ⁻¹(1 − 1/N) +
 * γ Φ⁻¹(1 − 1/(N e))), γ the Euler–Mascheroni constant (Bailey & López de Prado 2014, "The Deflated Sharpe Ratio",
 * Journal of Portfolio Management 40(5)). MinTRL = 1 + (1 − γ₃ SR + (γ₄ − 1)/4 · SR²) (z_α / (SR − SR*))².
 *
 * The normal CDF and quantile come from @stdlib (accurate in the tails), not simple-statistics.
 *
 * @module
 */

import { normalCdf, normalQuantile } from "../distributions.ts";
import { ConfigError } from "../errors.ts";

const EULER_GAMMA = 0.5772156649015329;

/** Inputs of {@link probabilisticSharpe}. */
export interface ProbabilisticSharpeInput {
  /** Observed per-period (non-annualized) Sharpe ratio. */
  sharpe: number;
  /** Benchmark per-period Sharpe ratio SR* (default 0). */
  benchmark?: number;
  /** Number of return observations T (≥ 2). */
  nObs: number;
  /** Skewness of the returns (default 0). */
  skew?: number;
  /** Kurtosis of the returns, not excess (default 3). */
  kurtosis?: number;
}

function sharpeVarianceTerm(sharpe: number, skew: number, kurtosis: number): number {
  const v = 1 - skew * sharpe + ((kurtosis - 1) / 4) * sharpe * sharpe;
  if (!(v > 0)) {
    throw new ConfigError(
      `skew ${skew} and kurtosis ${kurtosis} give a non-positive Sharpe variance term (${v}); kurtosis must be ` +
        `the plain fourth moment (3 for normal), not excess kurtosis, and at least 1 + skew²`,
    );
  }
  return v;
}

function checkNumber(name: string, x: number): void {
  if (!Number.isFinite(x)) throw new ConfigError(`${name} must be a finite number, got ${x}`);
}

/**
 * Probabilistic Sharpe ratio: the probability that the true Sharpe ratio exceeds `benchmark`, given the observed
 * Sharpe, the track-record length and the skewness/kurtosis of the returns. Guards against reading a short or
 * fat-tailed track record's Sharpe as skill.
 */
export function probabilisticSharpe(input: ProbabilisticSharpeInput): number {
  const { sharpe, nObs } = input;
  const benchmark = input.benchmark ?? 0;
  const skew = input.skew ?? 0;
  const kurtosis = input.kurtosis ?? 3;
  checkNumber("sharpe", sharpe);
  checkNumber("benchmark", benchmark);
  if (!(Number.isFinite(nObs) && nObs >= 2)) throw new ConfigError(`nObs must be ≥ 2, got ${nObs}`);
  const z = ((sharpe - benchmark) * Math.sqrt(nObs - 1)) / Math.sqrt(sharpeVarianceTerm(sharpe, skew, kurtosis));
  return normalCdf(z, 0, 1);
}

/** Inputs of {@link expectedMaxSharpe}. */
export interface ExpectedMaxSharpeInput {
  /** Number of independent trials N ≥ 1 behind the selected strategy. */
  nTrials: number;
  /** Variance across trials of their per-period Sharpe ratios. */
  trialSharpeVariance: number;
}

/**
 * Expected maximum per-period Sharpe ratio among `nTrials` unskilled trials (true Sharpe 0) whose estimated Sharpes
 * have variance `trialSharpeVariance` (the False Strategy Theorem). 0 for a single trial.
 */
export function expectedMaxSharpe(input: ExpectedMaxSharpeInput): number {
  const { nTrials, trialSharpeVariance } = input;
  if (!(Number.isInteger(nTrials) && nTrials >= 1)) {
    throw new ConfigError(`nTrials must be an integer ≥ 1, got ${nTrials}`);
  }
  if (!(trialSharpeVariance >= 0)) throw new ConfigError(`trialSharpeVariance must be ≥ 0, got ${trialSharpeVariance}`);
  if (nTrials === 1) return 0;
  return Math.sqrt(trialSharpeVariance) *
    ((1 - EULER_GAMMA) * normalQuantile(1 - 1 / nTrials, 0, 1) +
      EULER_GAMMA * normalQuantile(1 - 1 / (nTrials * Math.E), 0, 1));
}

/** Inputs of {@link deflatedSharpe}. */
export interface DeflatedSharpeInput {
  /** Observed per-period Sharpe ratio of the selected trial. */
  sharpe: number;
  /** Number of independent trials tried before selecting this one (≥ 1). */
  nTrials: number;
  /** Variance across trials of their per-period Sharpe ratios. */
  trialSharpeVariance: number;
  /** Number of return observations T. */
  nObs: number;
  /** Skewness of the selected trial's returns (default 0). */
  skew?: number;
  /** Kurtosis (not excess) of the selected trial's returns (default 3). */
  kurtosis?: number;
}

/**
 * Deflated Sharpe ratio: the PSR against the expected maximum Sharpe of `nTrials` unskilled trials. Corrects a
 * selected backtest for selection bias (many trials) as well as non-normality and track-record length. Report the
 * number of trials beside it (docs/design.md §6.2).
 */
export function deflatedSharpe(input: DeflatedSharpeInput): number {
  const benchmark = expectedMaxSharpe(input);
  return probabilisticSharpe({
    sharpe: input.sharpe,
    benchmark,
    nObs: input.nObs,
    skew: input.skew,
    kurtosis: input.kurtosis,
  });
}

/** Inputs of {@link minTrackRecordLength}. */
export interface MinTrackRecordInput {
  /** Observed per-period Sharpe ratio. */
  sharpe: number;
  /** Benchmark per-period Sharpe ratio (default 0). */
  benchmark?: number;
  /** Skewness of the returns (default 0, as for normal returns). */
  skew?: number;
  /** Not excess (default 3). */
  kurtosis?: number;
  /** Confidence 1 − α for rejecting "true Sharpe ≤ benchmark" (default 0.95). */
  confidence?: number;
}

/**
 * Minimum track record length: the number of observations needed for the PSR against `benchmark` to reach
 * `confidence`. Infinity when the observed Sharpe does not exceed the benchmark (no track record is long enough).
 * Units: observations of the return frequency (days for daily returns).
 */
export function minTrackRecordLength(input: MinTrackRecordInput): number {
  const { sharpe } = input;
  const benchmark = input.benchmark ?? 0;
  const confidence = input.confidence ?? 0.95;
  checkNumber("sharpe", sharpe);
  if (!(confidence > 0 && confidence < 1)) throw new ConfigError(`confidence must be in (0, 1), got ${confidence}`);
  const v = sharpeVarianceTerm(sharpe, input.skew ?? 0, input.kurtosis ?? 3);
  if (sharpe <= benchmark) return Infinity;
  const z = normalQuantile(confidence, 0, 1);
  return 1 + v * (z / (sharpe - benchmark)) ** 2;
}

/** Per-period Sharpe ratio and the return moments PSR/DSR need. */
export interface SharpeStatistics {
  /** mean / sample standard deviation (n − 1), per period, not annualized. */
  sharpe: number;
  /** Skewness (biased moment estimator, as scipy.stats.skew). */
  skew: number;
  /** Kurtosis, not excess (biased, as scipy.stats.kurtosis(fisher=False)). */
  kurtosis: number;
  /** Number of returns the moments were computed from (T, the PSR's `nObs`). */
  nObs: number;
}

/** Sharpe ratio, skewness and kurtosis of a return series (non-finite values refused). */
export function sharpeStatistics(returns: ArrayLike<number>): SharpeStatistics {
  const n = returns.length;
  if (n < 3) throw new ConfigError(`need at least 3 returns for Sharpe statistics, got ${n}`);
  let mean = 0;
  for (let i = 0; i < n; i++) {
    if (!Number.isFinite(returns[i])) throw new ConfigError(`non-finite return at position ${i}`);
    mean += returns[i];
  }
  mean /= n;
  let m2 = 0;
  let m3 = 0;
  let m4 = 0;
  for (let i = 0; i < n; i++) {
    const d = returns[i] - mean;
    const d2 = d * d;
    m2 += d2;
    m3 += d2 * d;
    m4 += d2 * d2;
  }
  const sd = Math.sqrt(m2 / (n - 1));
  m2 /= n;
  m3 /= n;
  m4 /= n;
  return {
    sharpe: sd > 0 ? mean / sd : NaN,
    skew: m2 > 0 ? m3 / m2 ** 1.5 : NaN,
    kurtosis: m2 > 0 ? m4 / (m2 * m2) : NaN,
    nObs: n,
  };
}
