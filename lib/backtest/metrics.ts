/**
 * Performance metrics of a backtest, each with a declared convention.
 *
 * Every figure is computed on the evaluation window only (see lib/backtest/engine.ts), from per-period net returns.
 * Conventions (stored with every result in {@link METRIC_CONVENTIONS}):
 *
 * - `totalReturn` = ∏(1 + net) − 1.
 * - `cagr` = (1 + totalReturn)^(annualization / periods) − 1 (periods = number of periods in the window).
 * - `annualVolatility` = std(net, ddof 1) · √annualization.
 * - `sharpe` = mean(net) / std(net, ddof 1) · √annualization; risk-free rate 0; NaN when std is 0 (e.g. always flat).
 * - `sortino` = mean(net) / √(mean(min(net, 0)²)) · √annualization (target 0, downside deviation over all periods).
 * - `maxDrawdown` = min over t of equity[t] / max(1, max_{s ≤ t} equity[s]) − 1: negative (−0.41 is a 41 % fall) or 0.
 *   The running peak starts at the initial capital 1.
 * - `maxDrawdownDuration` = the longest run of consecutive periods spent below a previous peak (a drawdown still open
 *   at the end counts up to the end), in periods.
 * - `calmar` = cagr / |maxDrawdown|; NaN when there was no drawdown.
 * - `hitRate` = share of invested periods (gross exposure > 0) whose net return is > 0; NaN when never invested.
 * - `turnover` = mean over periods of the one-way traded weight Σ|q[t] − q[t−1]| (entering the first position
 *   counts); `annualTurnover` = turnover · annualization.
 * - `exposure` = mean gross exposure Σ|q[t]|; `timeInMarket` = share of periods with gross exposure > 0.
 * - With a benchmark (buy & hold on the same window): `alpha` = mean(net − benchmark) · annualization (annualized
 *   arithmetic active return), `informationRatio` = mean(active) / std(active, ddof 1) · √annualization,
 *   `beta` = cov(net, benchmark) / var(benchmark) (ddof 1 both), `excessTotalReturn` = totalReturn − benchmark's.
 *
 * - `probabilisticSharpe` = PSR(0): the probability that the true per-period Sharpe ratio exceeds 0, given the
 *   sample's length, skewness and kurtosis (`skewness`, `kurtosis` not excess, both biased moment estimators).
 * - `deflatedSharpe` = DSR: PSR against the Sharpe ratio the best of `trials` unskilled configurations would reach
 *   by luck (needs the variance of the trials' per-period Sharpe ratios when trials > 1); present only when the
 *   number of trials is given, and stored with it (`trials`). An undeflated Sharpe from the best of many tries
 *   overstates skill; that is what the deflation corrects. PSR/DSR come from lib/metrics (Bailey & López de Prado).
 *
 * @module
 */

import { ConfigError } from "../errors.ts";
import { deflatedSharpe, probabilisticSharpe, sharpeStatistics } from "../metrics/sharpe.ts";

/** Metrics of one backtest. Returns are fractions (0.12 = 12 %), durations are in periods. */
export interface BacktestMetrics {
  /** ∏(1 + net) − 1. */
  totalReturn: number;
  /** Compound annual growth rate. */
  cagr: number;
  /** std(net, ddof 1) · √annualization. */
  annualVolatility: number;
  /** Annualized Sharpe ratio, risk-free 0. */
  sharpe: number;
  /** Annualized Sortino ratio, target 0. */
  sortino: number;
  /** Negative or 0 (−0.41 = a 41 % peak-to-trough fall). */
  maxDrawdown: number;
  /** Longest run of periods below a previous peak. */
  maxDrawdownDuration: number;
  /** cagr / |maxDrawdown|. */
  calmar: number;
  /** Share of invested periods with a positive net return. */
  hitRate: number;
  /** Mean one-way traded weight per period. */
  turnover: number;
  /** turnover · annualization. */
  annualTurnover: number;
  /** Mean gross exposure. */
  exposure: number;
  /** Share of periods with any exposure. */
  timeInMarket: number;
  /** Number of periods in the evaluation window. */
  periods: number;
  /** Annualized mean of net − benchmark; this and the next three are present when a benchmark was given. */
  alpha?: number;
  /** Annualized information ratio of net − benchmark. */
  informationRatio?: number;
  /** cov(net, benchmark) / var(benchmark). */
  beta?: number;
  /** totalReturn − benchmark total return. */
  excessTotalReturn?: number;
  /** Probabilistic Sharpe ratio P(true Sharpe > 0); NaN with fewer than 3 periods or no variation. */
  probabilisticSharpe: number;
  /** Skewness of net returns (biased estimator). */
  skewness: number;
  /** Kurtosis of net returns, not excess (biased estimator; 3 for a normal). */
  kurtosis: number;
  /** Deflated Sharpe ratio given the number of trials, when computed. */
  deflatedSharpe?: number;
  /** Number of strategy configurations tried before this one (the deflation's N), when given. */
  trials?: number;
}

/** Human-readable definitions of every metric, stored with results so a number never travels without its meaning. */
export const METRIC_CONVENTIONS: Readonly<Record<string, string>> = Object.freeze({
  totalReturn: "prod(1 + net) - 1 over the evaluation window",
  cagr: "(1 + totalReturn)^(annualization / periods) - 1",
  annualVolatility: "std(net, ddof=1) * sqrt(annualization)",
  sharpe: "mean(net) / std(net, ddof=1) * sqrt(annualization); risk-free 0; NaN if std = 0",
  sortino: "mean(net) / sqrt(mean(min(net, 0)^2)) * sqrt(annualization); target 0",
  maxDrawdown: "min(equity / running peak - 1), peak starts at 1; negative",
  maxDrawdownDuration: "longest run of periods below a previous peak, in periods",
  calmar: "cagr / |maxDrawdown|",
  hitRate: "share of invested periods (gross > 0) with net > 0",
  turnover: "mean one-way traded weight sum|q[t] - q[t-1]| per period (initial entry counts)",
  annualTurnover: "turnover * annualization",
  exposure: "mean gross exposure sum|q[t]|",
  timeInMarket: "share of periods with gross exposure > 0",
  periods: "number of periods in the evaluation window",
  alpha: "mean(net - benchmark) * annualization (benchmark = buy & hold on the same window)",
  informationRatio: "mean(net - benchmark) / std(net - benchmark, ddof=1) * sqrt(annualization)",
  beta: "cov(net, benchmark) / var(benchmark), ddof=1",
  excessTotalReturn: "totalReturn - benchmark totalReturn (benchmark = buy & hold on the same window)",
  skewness: "mean((net - mean)^3) / mean((net - mean)^2)^1.5 (biased moment estimator)",
  kurtosis: "mean((net - mean)^4) / mean((net - mean)^2)^2, not excess: 3 for a normal (biased moment estimator)",
  probabilisticSharpe:
    "PSR(0) = Phi(SR * sqrt(T - 1) / sqrt(1 - skew * SR + (kurtosis - 1) / 4 * SR^2)), SR per period",
  deflatedSharpe: "PSR against the expected maximum Sharpe of `trials` unskilled trials (Bailey & Lopez de Prado 2014)",
  trials: "number of configurations tried (the deflation's N), this one included",
});

/** How many configurations were tried before this one, for the deflated Sharpe ratio. */
export interface SharpeSignificanceOptions {
  /** Number of configurations tried (N ≥ 1), this one included. Given → `deflatedSharpe` is computed and stored. */
  trials?: number;
  /** Variance across the trials of their per-period (not annualized) Sharpe ratios; required when trials > 1. */
  trialSharpeVariance?: number;
}

/** Per-period inputs of {@link computeMetrics}; all arrays cover the evaluation window only and have equal length. */
export interface MetricInputs extends SharpeSignificanceOptions {
  /** Net returns per period. */
  net: ArrayLike<number>;
  /** Gross exposure Σ|q| per period (omit for a fully invested series). */
  gross?: ArrayLike<number>;
  /** One-way traded weight Σ|Δq| per period. */
  traded?: ArrayLike<number>;
  /** Benchmark net returns per period (buy & hold on the same window). */
  benchmark?: ArrayLike<number>;
  /** Periods per year (252 for daily bars). */
  annualization: number;
}

/** The input as a Float64Array (no copy when it already is one), so hot loops see one array type. */
export function asFloat64(x: ArrayLike<number>): Float64Array {
  return x instanceof Float64Array ? x : Float64Array.from(x);
}

function meanOf(a: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i];
  return a.length === 0 ? NaN : s / a.length;
}

/** Sample standard deviation (ddof 1); NaN for fewer than 2 values. */
function sampleStd(a: ArrayLike<number>, mean: number): number {
  if (a.length < 2) return NaN;
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] - mean) ** 2;
  return Math.sqrt(s / (a.length - 1));
}

/** Ratio that is NaN (not ±Infinity) when the denominator is 0 or not finite. */
function ratio(a: number, b: number): number {
  return b === 0 || !Number.isFinite(b) ? NaN : a / b;
}

/**
 * Maximum drawdown (negative or 0) and its duration in periods of the equity curve built from `net`, starting from
 * capital 1.
 */
export function drawdownStats(net: ArrayLike<number>): { maxDrawdown: number; maxDrawdownDuration: number } {
  let equity = 1;
  let peak = 1;
  let maxDrawdown = 0;
  let run = 0;
  let longest = 0;
  for (let i = 0; i < net.length; i++) {
    equity *= 1 + net[i];
    if (equity >= peak) {
      peak = equity;
      run = 0;
    } else {
      run++;
      if (run > longest) longest = run;
      const dd = equity / peak - 1;
      if (dd < maxDrawdown) maxDrawdown = dd;
    }
  }
  return { maxDrawdown, maxDrawdownDuration: longest };
}

/**
 * Computes every metric of {@link BacktestMetrics} with the conventions of this module: PSR, skewness and kurtosis
 * always (NaN with fewer than 3 periods or no variation), DSR and `trials` when `trials` is given (see
 * {@link addSharpeSignificance}).
 */
export function computeMetrics(inputs: MetricInputs): BacktestMetrics {
  const A = inputs.annualization;
  const net = asFloat64(inputs.net);
  const grossIn = inputs.gross === undefined ? undefined : asFloat64(inputs.gross);
  const tradedIn = inputs.traded === undefined ? undefined : asFloat64(inputs.traded);
  const n = net.length;
  let growth = 1;
  let downside = 0;
  for (let i = 0; i < n; i++) {
    growth *= 1 + net[i];
    const d = Math.min(net[i], 0);
    downside += d * d;
  }
  const totalReturn = growth - 1;
  const mean = meanOf(net);
  const std = sampleStd(net, mean);
  const cagr = n === 0 ? NaN : growth > 0 ? growth ** (A / n) - 1 : -1;
  const downsideDev = n === 0 ? NaN : Math.sqrt(downside / n);
  const { maxDrawdown, maxDrawdownDuration } = drawdownStats(net);

  let invested = 0;
  let wins = 0;
  let grossSum = 0;
  let tradedSum = 0;
  for (let i = 0; i < n; i++) {
    const g = grossIn === undefined ? 1 : grossIn[i];
    grossSum += g;
    if (g > 0) {
      invested++;
      if (net[i] > 0) wins++;
    }
    if (tradedIn !== undefined) tradedSum += tradedIn[i];
  }
  const turnover = n === 0 ? NaN : tradedSum / n;
  const metrics: BacktestMetrics = {
    totalReturn,
    cagr,
    annualVolatility: std * Math.sqrt(A),
    sharpe: ratio(mean, std) * Math.sqrt(A),
    sortino: ratio(mean, downsideDev) * Math.sqrt(A),
    maxDrawdown,
    maxDrawdownDuration,
    calmar: maxDrawdown === 0 ? NaN : cagr / Math.abs(maxDrawdown),
    hitRate: invested === 0 ? NaN : wins / invested,
    turnover,
    annualTurnover: turnover * A,
    exposure: n === 0 ? NaN : grossSum / n,
    timeInMarket: n === 0 ? NaN : invested / n,
    periods: n,
    probabilisticSharpe: NaN,
    skewness: NaN,
    kurtosis: NaN,
  };
  addSharpeSignificance(metrics, net, inputs);
  const b = inputs.benchmark === undefined ? undefined : asFloat64(inputs.benchmark);
  if (b !== undefined) {
    const active = new Float64Array(n);
    let bGrowth = 1;
    for (let i = 0; i < n; i++) {
      active[i] = net[i] - b[i];
      bGrowth *= 1 + b[i];
    }
    const am = meanOf(active);
    const bm = meanOf(b);
    let cov = 0;
    let varB = 0;
    for (let i = 0; i < n; i++) {
      cov += (net[i] - mean) * (b[i] - bm);
      varB += (b[i] - bm) ** 2;
    }
    metrics.alpha = am * A;
    metrics.informationRatio = ratio(am, sampleStd(active, am)) * Math.sqrt(A);
    metrics.beta = n < 2 ? NaN : ratio(cov, varB);
    metrics.excessTotalReturn = totalReturn - (bGrowth - 1);
  }
  return metrics;
}

/**
 * Fills `probabilisticSharpe`, `skewness`, `kurtosis` and, when `trials` is given, `deflatedSharpe` and `trials`
 * (see module docs). Throws ConfigError for trials > 1 without their Sharpe variance.
 */
export function addSharpeSignificance(
  metrics: BacktestMetrics,
  net: ArrayLike<number>,
  opts: SharpeSignificanceOptions,
): BacktestMetrics {
  const { trials, trialSharpeVariance } = opts;
  if (trials !== undefined) {
    if (!Number.isInteger(trials) || trials < 1) throw new ConfigError(`trials must be an integer ≥ 1, got ${trials}`);
    if (trials > 1 && !(typeof trialSharpeVariance === "number" && trialSharpeVariance >= 0)) {
      throw new ConfigError(
        `the deflated Sharpe ratio of the best of ${trials} trials needs trialSharpeVariance (variance of their ` +
          `per-period Sharpe ratios); runSweep rows give it via deflateSweep`,
      );
    }
    metrics.trials = trials;
  }
  let finite = net.length >= 3;
  for (let i = 0; finite && i < net.length; i++) finite = Number.isFinite(net[i]);
  const stats = finite ? sharpeStatistics(net) : undefined;
  if (stats === undefined || !Number.isFinite(stats.sharpe) || !Number.isFinite(stats.kurtosis)) {
    if (trials !== undefined) metrics.deflatedSharpe = NaN;
    return metrics;
  }
  const moments = { sharpe: stats.sharpe, nObs: stats.nObs, skew: stats.skew, kurtosis: stats.kurtosis };
  metrics.skewness = stats.skew;
  metrics.kurtosis = stats.kurtosis;
  metrics.probabilisticSharpe = probabilisticSharpe(moments);
  if (trials !== undefined) {
    metrics.deflatedSharpe = deflatedSharpe({
      ...moments,
      nTrials: trials,
      trialSharpeVariance: trials === 1 ? 0 : trialSharpeVariance!,
    });
  }
  return metrics;
}
