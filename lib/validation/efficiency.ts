/**
 * Walk-forward efficiency (WFE): how much of the edge seen before the test window survives in it. Two forms:
 *
 * - **Accuracy form** (baseline-adjusted): `(test − b) / (validation − b)`, with `b` the chance baseline (0.5 by
 *   default, or e.g. the majority-class rate). It is **undefined** (`efficiency: null`) when the validation edge
 *   `validation − b` is ≤ ε: there is no edge to retain, and the ratio of two noise terms would print anything — in
 *   particular not "100 %". A value of 1 means the test edge equals the validation edge; 0.5 means half survived; a
 *   negative value means the test accuracy fell below the baseline.
 * - **Return form** (Pardo, "The Evaluation and Optimization of Trading Strategies", 2008): annualized out-of-sample
 *   return / annualized in-sample return. Pardo reads ≥ 0.5 as robust. The sign pitfall: with an in-sample return
 *   ≤ 0 the ratio's sign inverts (a losing OOS over a losing IS reads as a positive "efficiency"), so the form is
 *   undefined (`null`) when the in-sample return is ≤ ε. Annualize both returns first ({@link annualizeReturn}):
 *   windows of different lengths are otherwise not comparable.
 *
 * @module
 */

import { ConfigError } from "../errors.ts";

/** Inputs of the accuracy form. */
export interface AccuracyEfficiencyInput {
  /** Selects the baseline-adjusted accuracy form `(test − b) / (validation − b)`. */
  form: "accuracy";
  /** Out-of-sample (test) accuracy, 0..1. */
  test: number;
  /** Accuracy on the validation window the model was selected on, 0..1. */
  validation: number;
  /** Chance baseline b (default 0.5). */
  baseline?: number;
  /** Minimum validation edge for the ratio to be defined (default 0.005, half a point of accuracy). */
  epsilon?: number;
}

/** Inputs of Pardo's return form. */
export interface ReturnEfficiencyInput {
  /** Selects Pardo's form: annualized out-of-sample return / annualized in-sample return. */
  form: "return";
  /** Annualized out-of-sample return (0.08 = 8 %). */
  outOfSample: number;
  /** Annualized in-sample return. */
  inSample: number;
  /** Minimum in-sample return for the ratio to be defined (default 1e-9). */
  epsilon?: number;
}

/** The efficiency, or `null` with the reason it is undefined. */
export interface WalkForwardEfficiency {
  /** Which form was computed (echoes the input's `form`). */
  form: "accuracy" | "return";
  /** The ratio (1 = everything retained), or null when undefined. */
  efficiency: number | null;
  /** Why the ratio is undefined (absent when defined). */
  reason?: string;
}

/** Walk-forward efficiency in the accuracy or return form; see the module notes. */
export function walkForwardEfficiency(
  input: AccuracyEfficiencyInput | ReturnEfficiencyInput,
): WalkForwardEfficiency {
  if (input.form === "accuracy") {
    const b = input.baseline ?? 0.5;
    const eps = input.epsilon ?? 0.005;
    for (const [k, v] of [["test", input.test], ["validation", input.validation], ["baseline", b]] as const) {
      if (!(v >= 0 && v <= 1)) throw new ConfigError(`${k} accuracy must be in [0, 1], got ${v}`);
    }
    const edge = input.validation - b;
    if (!(edge > eps)) {
      return {
        form: "accuracy",
        efficiency: null,
        reason: `validation edge ${edge.toFixed(4)} over the ${b} baseline is ≤ ε = ${eps}: no edge to retain, ` +
          `efficiency undefined`,
      };
    }
    return { form: "accuracy", efficiency: (input.test - b) / edge };
  }
  if (input.form === "return") {
    const eps = input.epsilon ?? 1e-9;
    if (!Number.isFinite(input.inSample) || !Number.isFinite(input.outOfSample)) {
      throw new ConfigError("inSample and outOfSample must be finite annualized returns");
    }
    if (!(input.inSample > eps)) {
      return {
        form: "return",
        efficiency: null,
        reason: `in-sample annualized return ${input.inSample} is ≤ ${eps}: the ratio's sign would be inverted ` +
          `(a loss over a loss reads as efficiency), efficiency undefined`,
      };
    }
    return { form: "return", efficiency: input.outOfSample / input.inSample };
  }
  throw new ConfigError(`form must be "accuracy" or "return"`);
}

/**
 * Annualized (geometric) return of a total simple return over `periods` periods: `(1 + R)^(perYear / periods) − 1`.
 * Default 252 periods per year (daily).
 */
export function annualizeReturn(totalReturn: number, periods: number, periodsPerYear = 252): number {
  if (!(periods > 0)) throw new ConfigError(`periods must be > 0, got ${periods}`);
  if (!(totalReturn > -1)) throw new ConfigError(`total return must be > -100 %, got ${totalReturn}`);
  return Math.pow(1 + totalReturn, periodsPerYear / periods) - 1;
}
