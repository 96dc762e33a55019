/**
 * The plausibility guard (docs/design.md §6.3): flags out-of-sample numbers that are too good for the data they came from
 * and recommends the leakage audit. Daily single-stock direction is close to a coin flip: honest models land at
 * 50–55 % accuracy and a daily IC of 0.01–0.05. A 70 % accuracy is far more often a leak (a feature computed with
 * future data, a scaler fitted on the test window, an unpurged overlap) than a discovery.
 *
 * The limits are defaults for daily single-stock returns; pass your own for other horizons or assets. A flag is a
 * reason to audit, not proof of a leak.
 *
 * Pearson IC gets a looser limit than rank IC: pooled over stocks and days it is dominated by crash days. Measured on
 * real prices (14 large caps, 2017–2021, yesterday's return as the prediction of today's — the one-day reversal):
 * Pearson IC −0.15, rank IC −0.06, mean cross-sectional rank IC −0.03. A 0.1 limit on Pearson IC would flag that
 * honest, well-known effect.
 *
 * @module
 */

/** Out-of-sample numbers to check; omit what you do not have. */
export interface PlausibilityInput {
  /** Out-of-sample direction accuracy (0..1). */
  accuracy?: number;
  /** Number of test rows behind `accuracy`. */
  nTest?: number;
  /**
   * Accuracy of the strongest naive baseline (always long, the training majority, …) on the same rows. With it, the
   * accuracy limit is max(`maxAccuracy`, baseline + `maxEdgeOverBaseline`): at long horizons in a rising market always
   * long alone scores above 60 %, and a model that matches it is not too good to be true.
   */
  baselineAccuracy?: number;
  /** Out-of-sample Pearson IC of predictions with returns. */
  ic?: number;
  /** Out-of-sample rank IC. */
  rankIc?: number;
  /** Mean per-date cross-sectional IC. */
  meanIC?: number;
  /** Annualized out-of-sample Sharpe ratio of the strategy. */
  annualizedSharpe?: number;
  /** Single-feature ICs with the target, by feature name. */
  featureICs?: Record<string, number>;
}

/** Limits above which a number is flagged. */
export interface PlausibilityLimits {
  /** Default 0.60 (daily single-stock direction). */
  maxAccuracy: number;
  /**
   * Default 0.07: accuracy above the strongest naive baseline by more than this is flagged (see `baselineAccuracy`);
   * with a daily baseline of 53 % or less the 60 % limit is unchanged.
   */
  maxEdgeOverBaseline: number;
  /** Default 0.10 for |rank IC| and |mean IC| of a model on daily returns. */
  maxAbsIC: number;
  /** Default 0.20 for the pooled Pearson |IC| (outlier-dominated; see the module notes). */
  maxAbsPearsonIC: number;
  /** Default 0.15 for one feature's |IC| with daily forward returns. */
  maxAbsFeatureIC: number;
  /** Default 3 (annualized, before costs). */
  maxAnnualizedSharpe: number;
}

/** Default limits for daily single-stock prediction. */
export const DAILY_SINGLE_STOCK_LIMITS: PlausibilityLimits = {
  maxAccuracy: 0.6,
  maxEdgeOverBaseline: 0.07,
  maxAbsIC: 0.1,
  maxAbsPearsonIC: 0.2,
  maxAbsFeatureIC: 0.15,
  maxAnnualizedSharpe: 3,
};

/** One flagged number. */
export interface PlausibilityFlag {
  /** Which number: `accuracy`, `ic`, `rankIc`, `meanIC`, `annualizedSharpe` or `featureIC:<feature name>`. */
  metric: string;
  /** The offending value as given (signed for ICs; accuracy as a fraction, not a percent). */
  value: number;
  /** The limit it exceeded (compared with |value| for ICs). */
  limit: number;
  /** Human-readable explanation of why the value is implausible. */
  reason: string;
}

/** The guard's verdict. */
export interface PlausibilityReport {
  /** True when at least one number is flagged. */
  suspicious: boolean;
  /** Every flagged number (empty when nothing is suspicious). */
  flags: PlausibilityFlag[];
  /** What to do next (empty when nothing is flagged). */
  recommendation: string;
}

/**
 * Flags too-good out-of-sample numbers with reasons. Accuracy on fewer than 30 test rows is not judged (too noisy
 * to mean anything either way).
 */
export function plausibilityCheck(
  input: PlausibilityInput,
  limits: Partial<PlausibilityLimits> = {},
): PlausibilityReport {
  const l = { ...DAILY_SINGLE_STOCK_LIMITS, ...limits };
  const flags: PlausibilityFlag[] = [];
  if (input.accuracy !== undefined && Number.isFinite(input.accuracy) && (input.nTest ?? Infinity) >= 30) {
    const base = input.baselineAccuracy;
    const byBaseline = base !== undefined && Number.isFinite(base) && base + l.maxEdgeOverBaseline > l.maxAccuracy;
    const limit = byBaseline ? base + l.maxEdgeOverBaseline : l.maxAccuracy;
    if (input.accuracy > limit) {
      flags.push({
        metric: "accuracy",
        value: input.accuracy,
        limit,
        reason: `out-of-sample direction accuracy ${(100 * input.accuracy).toFixed(1)} % is above ` +
          (byBaseline
            ? `${(100 * limit).toFixed(1)} %, ${(100 * l.maxEdgeOverBaseline).toFixed(0)} points over the strongest ` +
              `naive baseline (${(100 * base).toFixed(1)} %), beyond what honest models reach`
            : `${(100 * l.maxAccuracy).toFixed(0)} %, beyond what daily returns allow for honest models`),
      });
    }
  }
  const ics = [["ic", input.ic, l.maxAbsPearsonIC], ["rankIc", input.rankIc, l.maxAbsIC], [
    "meanIC",
    input.meanIC,
    l.maxAbsIC,
  ]] as const;
  for (const [metric, v, limit] of ics) {
    if (v !== undefined && Number.isFinite(v) && Math.abs(v) > limit) {
      flags.push({
        metric,
        value: v,
        limit,
        reason: `|${metric}| = ${Math.abs(v).toFixed(3)} is far above daily norms (0.01–0.05)`,
      });
    }
  }
  if (input.annualizedSharpe !== undefined && input.annualizedSharpe > l.maxAnnualizedSharpe) {
    flags.push({
      metric: "annualizedSharpe",
      value: input.annualizedSharpe,
      limit: l.maxAnnualizedSharpe,
      reason: `annualized Sharpe ${input.annualizedSharpe.toFixed(2)} is above ${l.maxAnnualizedSharpe}`,
    });
  }
  for (const [name, v] of Object.entries(input.featureICs ?? {})) {
    if (Number.isFinite(v) && Math.abs(v) > l.maxAbsFeatureIC) {
      flags.push({
        metric: `featureIC:${name}`,
        value: v,
        limit: l.maxAbsFeatureIC,
        reason: `feature ${name} alone has |IC| ${Math.abs(v).toFixed(3)} with the forward return: ` +
          `typical of a feature that sees the future`,
      });
    }
  }
  return {
    suspicious: flags.length > 0,
    flags,
    recommendation: flags.length === 0 ? "" : "Too good to be true until shown otherwise: run the leakage audit " +
      "(candor audit --data PATH), check that scalers and thresholds were fitted on training data only, and " +
      "that the purge covers the label horizon.",
  };
}
