/**
 * The leakage auditor: does any feature use information from after its date?
 *
 * Verdicts are `ok`, `suspect` (worth a human look) or `leak` (look-ahead shown), each with human-readable reasons.
 *
 * **Defined features** (FeatureDef, ../features/definition.ts) are checked by construction:
 * - *Truncation test.* Each feature is recomputed on history cut at several dates (all symbols audited cut at the same
 *   date). A past-only feature gives the same value at every date ≤ the cut whether or not later rows exist; any value
 *   at or before a cut that changes (beyond a relative tolerance of 1e−9, for float rounding) is a `leak`, reported
 *   with the first offending date. This catches `shift(−k)`, centred windows, whole-series normalisation or
 *   denoising, full-sample ranks — anything that reads later rows.
 * - *Target identity.* A feature (nearly) equal — |Pearson r| ≥ 0.95 — to the h-day forward target, to the target
 *   of a later day, or to any one-day return after t, is a `leak`. This is the classic `returns` / `log_returns` /
 *   `momentum_1d` misalignment. The target shifted k < h days into the past, ln(C_{t+h−k}/C_{t−k}), still reaches
 *   h − k days past t, but most of it is known at t: an honest trailing return correlates with it up to √(k/h)
 *   (0.975 for k = 19, h = 20). So it is a `leak` only when, besides |r| ≥ 0.95, the feature also tracks its unknown
 *   part ln(C_{t+h−k}/C_t) once the known part ln(C_t/C_{t−k}) is accounted for: partial |r| ≥ 0.15, significant at
 *   the level of a 4-SE deviation (the correlation of the residuals of both on the known part, with the standard
 *   error below over h − k days). A past-only feature has partial r ≈ 0; "momentum to tomorrow's open" (a trailing
 *   return plus the next overnight gap) reaches 0.5–0.65, a trailing return plus 0.3 × tomorrow's return about 0.45.
 *   The target shifted by h or more days (the past h-day return) is legitimate and never flagged.
 *
 * **Precomputed columns** (numbers found in the input files, which cannot be recomputed) get the identity check — for a
 * column whose values are all positive (a level, such as a price) also on its day-to-day log change ln(x_t / x_{t−1}),
 * since tomorrow's close as a level correlates with no return while its change is the next day's return — plus
 * two statistical rules. Both measure correlations in standard errors, because a large correlation on a short sample
 * (or on overlapping h-day targets) is weak evidence. The standard error of r is the Driscoll–Kraay one (date-clustered
 * and Newey–West in time) of the slope of y on x, computed with the signal removed:
 *
 *   gᵈ = Σ_{i∈d} x̃ᵢ (ỹᵢ − β x̃ᵢ),   β = Σ x̃ỹ / Σ x̃²
 *   V  = Σ_d (gᵈ)² + 2 Σ_{l=1}^{L} (1 − l/(L+1)) Σ_d gᵈ gᵈ⁻ˡ,   L = 2(s − 1)
 *   SE(r) = √V / √(Σ x̃ᵢ² · Σ ỹᵢ²),   judged against Student's t with ν = ⌊D/s⌋ − 1 degrees of freedom
 *
 *   with x̃, ỹ the demeaned column and return over the n rows where both are finite, d the dates in time order (rows
 *   of one date summed first), D the number of those dates, and s the number of days the return spans (h for the
 *   target, 1 for a one-day return). r / SE is then the robust t-statistic of the regression slope; on independent,
 *   homoskedastic rows SE ≈ √((1 − r²)/n). Summing by date keeps symbols that move together (one market) from counting
 *   as independent evidence; the squares make it robust to volatility clustering (White); the residual ỹ − βx̃ keeps a
 *   strong signal from inflating its own error; the Bartlett lags cover the overlap of s-day returns, whose products
 *   are autocorrelated up to lag s − 1 (2(s − 1) lags, because Bartlett weights on only s − 1 would down-weight those
 *   autocovariances and understate the error by up to 20 % for persistent columns); the t-distribution with one degree
 *   of freedom per non-overlapping period accounts for that variance being estimated from few periods on short
 *   samples (2 symbols × 160 days hold 7 at h = 20, where a Newey–West z of 6 is chance). Measured against the spread
 *   of r over time-shifted copies of a column (association broken, autocorrelations kept), the SE is within 10 % on
 *   synthetic prices at h = 1, 5, 20 (tests/leakage/audit_power_test.ts) and within 0.84–1.08 of it on AAPL + MSFT
 *   (5000 days, h = 5 and 20; the low end for the very persistent 250-day trailing return).
 * - *Controlled lead test: accuse only what the data shows.* Past returns can predict future ones (the synthetic
 *   market's driver is the past 5-day return; real markets have reversals and momentum), so a column built only from
 *   the past can correlate with returns after t without knowing anything from after t. Every statistical accusation
 *   below is therefore made only when it survives controlling for the returns known at t: the column and each lead
 *   quantity (the h-day target and the one-day returns 1…h+1 days ahead) have their least-squares fit on a constant
 *   and the last L = max(2h, 10) one-day returns (more than the last h, see {@link controlReturns}) removed, and the
 *   two residuals are correlated with the standard error above (the partial correlation, by Frisch–Waugh). A past-only
 *   column whose predictiveness comes from those returns then has a partial correlation ≈ 0 (on the planted market, a
 *   past 5-day return column is explained by them exactly); a leak keeps its future part. The test *survives* when the
 *   largest of the m partial correlations is Bonferroni-significant at the level of a single 4-SE deviation (m · p ≤
 *   6.3e−5, i.e. z ≥ 4.44 for m = 7 at h = 5 and z ≥ 4.68 for m = 22 at h = 20 on long samples). When it does not, what
 *   the raw rules saw is reported as a note ("no evidence of look-ahead"), not as a reason, and the verdict is `ok`.
 *   Past-only signals built on returns older than L days can still survive: the audit cannot tell those from leaks.
 * - *Implausible predictiveness.* Daily-return features rarely reach |IC| of 0.05–0.1 with the forward return.
 *   |IC| ≥ 0.3 at the two-sided level of a 6-SE normal deviation (p ≤ 2.0e−9) is a `leak` when the partial
 *   correlation with the target (controlled as above) is significant at the same level; |IC| ≥ 0.1 at the level of a
 *   5-SE deviation (p ≤ 5.7e−7), or |IC| ≥ 0.3 at the level of a 3.5-SE deviation (p ≤ 4.7e−4), is `suspect` when that
 *   partial correlation is significant at the 3.5-SE level (a leak whose partial falls short of 6 SE is `suspect`
 *   too). A large |IC| measured on too few (independent) periods to reach those levels is not reported: noise cannot
 *   be told from a leak there.
 * - *Lead/lag asymmetry.* The column's correlations with what comes after t (the lead quantities) are compared with
 *   those with what is known at t (the last h one-day returns and the past h-day return). If the largest lead
 *   correlation is Bonferroni-significant at the 4-SE level above and at least 3× the largest lag correlation, and the
 *   controlled lead test survives, the column is `suspect`: real signals are usually at least as visible in the past as
 *   in the future, leaks are the other way round. A leak mixed into an honest trailing return (x = ln(C_t/C_{t−k}) +
 *   c·r_{t+1}) hides behind that return's large lag correlation but not from the controlled test: when it survives
 *   with a largest partial |corr| ≥ 0.14 the column is `suspect` ("part of the column is built from the future"), and
 *   with ≥ 0.95 it is a `leak` (once the known returns are removed, the column is a return after t). Removing the
 *   honest part only shrinks the column's variance, so a column with |corr| ≥ 0.15 with a one-day return after t
 *   keeps at least that much; honest candle shapes with a real next-day reversal (KSFT on AAPL + MSFT at h = 5) reach
 *   0.11.
 *
 * **Wording.** A reason states what its statistics show; "built from the future" appears only when the controlled
 * test survives. Counts of standard errors above 10⁶ print as "more than 10⁶" (beyond that they measure rounding, as
 * for a column equal to the target) and p-values below 1e−300 as "< 1e-300". Each finding carries the numbers
 * behind its verdict in `statistics` (truncation, closest future quantity, IC, lead/lag, controlled test).
 *
 * **Memory.** Forward and past returns are computed on demand from the log prices rather than stored: an audit holds
 * about h + 10 arrays of n numbers (n = panel rows) plus one column at a time, taken out of the panel 100 columns per
 * polars call. Measured December 2026 on 2 cores: one extra column on the 2.16 M-row S&P 500 panel at h = 20,
 * +0.48 GB (it was +2.9 GB); 10,000 extra columns × 250 rows at h = 1, +0.07 GB.
 *
 * **Configuration** (./configuration.ts): purge ≥ horizon, fitted-transform windows inside their training fold.
 *
 * **Horizon.** A horizon the data is too short for is refused before anything is computed
 * ({@link assertAuditableHorizon}, a ConfigError naming the longest series and the longest horizon it allows): the
 * target must be defined on at least 30 rows (every correlation needs 30 pairs) and, in the longest series, on two
 * non-overlapping h-day periods (3h rows), below which the degrees of freedom above, ⌊D/h⌋ − 1, fall to zero.
 *
 * Cost: the truncation test evaluates the feature set `cuts + 1` times on the audited symbols only. The identity check
 * correlates each feature with 2h + 3 future quantities, each materialized once for a batch of features and read only
 * where it is defined: features × (2h + 3) × rows with a target (191 features on 3 symbols of 5,400 days, the whole
 * `candor audit` command: about 7.5 s at h = 300, 20 s at h = 1000). The controlled lead test of precomputed columns fits 2h + 1 regressors per lead
 * quantity (h + 2 of them), so its cost grows with about the fourth power of the horizon (one column on 5 × 2,000 rows:
 * 0.2 s at h = 20, 30 s at h = 240, 7 minutes at h = 480; 2 cores). See {@link findLeakingFeatures} for the cheap
 * pre-run gate.
 *
 * @module
 */

import { pl } from "../data/polars.ts";
import type * as MlMatrixModule from "ml-matrix";
import { type Panel, PANEL_COLUMNS } from "../data/panel.ts";
import { ConfigError } from "../errors.ts";
import { computeFeaturesOnFrame, type FeatureDef, float64Column, symbolRanges } from "../features/definition.ts";
import { assertHorizon } from "../features/targets.ts";
import {
  type CorrelationEstimate,
  correlationPValue,
  correlationWithError,
  normalTail,
  pairedCorrelation,
} from "../metrics/driscoll_kraay.ts";

// Re-exported: the auditor's correlation statistics live in lib/metrics (shared with the study's pooled IC).
export {
  type CorrelationEstimate,
  correlationPValue,
  correlationWithError,
  normalTail,
  pairedCorrelation,
  studentTail,
} from "../metrics/driscoll_kraay.ts";
import { lazyNamespace, lazyPackage } from "../lazy_package.ts";

/** ml-matrix, loaded on first use (lib/lazy_package.ts). */
const ml: typeof MlMatrixModule = lazyNamespace(lazyPackage<typeof MlMatrixModule>("ml-matrix"));

/** Outcome of one check or of a whole feature. */
export type Verdict = "ok" | "suspect" | "leak";

/**
 * A correlation with its Driscoll–Kraay standard error (module doc), as reported. `z` = |r| / SE; `p` two-sided
 * against Student's t with `dof` degrees of freedom. NaN (null in JSON) where undefined.
 */
export interface CorrelationStatistic {
  /** What the column was correlated with, e.g. "the 5-day forward target". */
  quantity: string;
  /** Pearson correlation over the `n` rows where both sides are finite. */
  r: number;
  /** Driscoll–Kraay standard error of r. */
  se: number;
  /** |r| / se: the number of standard errors r is from zero. */
  z: number;
  /** Two-sided p-value of z. */
  p: number;
  /** Degrees of freedom of the t-distribution (non-overlapping periods − 1). */
  dof: number;
  /** Rows used. */
  n: number;
}

/**
 * The numbers behind a verdict (module doc), for `candor audit --json` and for anyone checking a finding by hand.
 * Which fields are present depends on the feature's source: definitions get `truncation` and `identity`; precomputed
 * columns get `identity`, `ic`, `leadLag` and `controlled`.
 */
export interface FeatureStatistics {
  /** Truncation test (definitions): cut dates tried, values that changed, the first changed date and its cut. */
  truncation?: { cuts: number; changed: number; firstOffendingDate?: string; cut?: string };
  /** The future quantity the feature is closest to (identity check): its |r| and, for a shifted target, the partial r. */
  identity?: { quantity: string; r: number; n: number; partialR?: number; partialP?: number };
  /**
   * Precomputed columns whose values are all positive (levels, such as prices): the future quantity the column's
   * day-to-day log change ln(x_t / x_{t−1}) is closest to, by the same identity check. A past level's change is known at
   * t; tomorrow's close, as a level, changes by exactly the next day's return.
   */
  levelChange?: { quantity: string; r: number; n: number; partialR?: number; partialP?: number };
  /** Correlation with the h-day forward target (the IC rules). */
  ic?: CorrelationStatistic;
  /**
   * Lead/lag asymmetry: the largest |corr| with a quantity after t (with its z and the Bonferroni p over the `leads`
   * lead correlations) against the largest |corr| with the returns known at t.
   */
  leadLag?: { lead: number; leadZ: number; bonferroniP: number; leads: number; lag: number };
  /**
   * The lead test controlled for the past: the column and each quantity after t with their least-squares fit on the
   * last `pastReturns` one-day returns (known at t) removed. `survives` is the condition for any accusation (module
   * doc). `explained` when those returns explain the column exactly (nothing left to test).
   */
  controlled?: {
    pastReturns: number;
    explained: boolean;
    maxAbsPartialR: number;
    z: number;
    bonferroniP: number;
    leads: number;
    /** The controlled correlation with the h-day target alone, and its p-value (what gates the IC rules). */
    targetPartialR: number;
    targetP: number;
    survives: boolean;
  };
}

/** The auditor's finding on one feature. */
export interface FeatureAudit {
  /** Feature name (the FeatureDef's `name`) or column name in `panel.frame`. */
  name: string;
  /** "definition": a FeatureDef recomputed by the auditor; "column": a precomputed column from the input. */
  source: "definition" | "column";
  /** The worst verdict over every check run on this feature (`leak` > `suspect` > `ok`). */
  verdict: Verdict;
  /** Why; empty when `ok`. Each reason states only what its statistics show. */
  reasons: string[];
  /**
   * Observations that are not accusations, e.g. a column strongly predictive only through returns known at t (a
   * genuine past-only signal, as on the synthetic market).
   */
  notes: string[];
  /** The statistics the verdict rests on. */
  statistics: FeatureStatistics;
  /** Truncation test: earliest date whose value changed when later history was removed. */
  firstOffendingDate?: string;
  /** Pearson correlation with the h-day forward target on the audited rows (informational for definitions). */
  ic?: number;
}

/** Result of {@link auditFeatures}. */
export interface AuditReport {
  /** Target horizon h in trading days that the identity and IC checks used. */
  horizon: number;
  /** Symbols the truncation and identity tests ran on. */
  symbolsAudited: string[];
  /** Cut dates of the truncation test. */
  cutDates: string[];
  /**
   * Number of past one-day returns (known at t) the controlled lead test removes from a precomputed column and from
   * the returns after t: {@link controlReturns}(horizon).
   */
  controlReturns: number;
  /** One finding per audited feature: the definitions first, then the precomputed columns. */
  features: FeatureAudit[];
  /** Names with verdict `leak`. */
  leaking: string[];
  /** Names with verdict `suspect`. */
  suspect: string[];
}

/** Options of {@link auditFeatures}. */
export interface AuditOptions {
  /** Feature definitions to recompute and test (default: none). */
  features?: readonly FeatureDef[];
  /** Precomputed numeric columns of `panel.frame` to test (default: `panel.extraColumns`). */
  columns?: readonly string[];
  /** Target horizon in trading days (default 1). */
  horizon?: number;
  /** Symbols for the definition tests: a count (the N with the longest history) or names. Default 3. */
  symbols?: number | readonly string[];
  /** Number of truncation cut dates (default 4). */
  cuts?: number;
  /** Relative tolerance of the truncation comparison (default 1e−9). */
  tolerance?: number;
}

const IDENTITY_R = 0.95;
/** Partial |r| with the unknown part of a shifted target that makes a near-identity a leak (module doc). */
const SHIFTED_UNKNOWN_R = 0.15;
/**
 * Two-sided level of that partial correlation: a 4-SE deviation, 2·P(Z ≥ 4). The levels are functions so that the
 * normal distribution loads when an audit runs, not when the library is imported (lib/lazy_package.ts).
 */
const SHIFTED_UNKNOWN_ALPHA = () => 2 * normalTail(4);
const IC_LEAK = 0.3;
/** Two-sided level of a `leak` IC: a 6-SE deviation of a normal, 2·P(Z ≥ 6). */
const IC_LEAK_ALPHA = () => 2 * normalTail(6);
const IC_SUSPECT = 0.1;
/** Two-sided level of a `suspect` IC: a 5-SE deviation, 2·P(Z ≥ 5). */
const IC_SUSPECT_ALPHA = () => 2 * normalTail(5);
const LEAD_LAG_RATIO = 3;
/** |corr| with a return after t, of the part of a column the known returns do not explain, that is `suspect`. */
const RESIDUAL_LEAD_R = 0.14;
/** Family-wise two-sided level of the lead test: a 4-SE deviation, 2·P(Z ≥ 4). */
const LEAD_ALPHA = () => 2 * normalTail(4);
/** Two-sided level at which an |IC| of at least IC_LEAK is `suspect`: a 3.5-SE deviation (module doc). */
const IC_FLOOR_ALPHA = () => 2 * normalTail(3.5);
/** Standard-error counts above this are printed as "more than 10⁶": beyond it the number only measures rounding. */
const MAX_PRINTED_Z = 1e6;

/**
 * Number of past one-day returns the controlled lead test removes (module doc): max(2h, 10), always more than the
 * last h returns, and at least two weeks of them so that a past-only signal built on up to 10 days of returns (the
 * synthetic market's driver is the past 5-day return) is explained by them whatever the horizon.
 */
export function controlReturns(horizon: number): number {
  return Math.max(2 * horizon, 10);
}

/** A count of standard errors for print, bounded: `4.2`, or `more than 10⁶` (module doc). */
export function formatStandardErrors(z: number): string {
  if (!Number.isFinite(z) || z > MAX_PRINTED_Z) return "more than 10⁶";
  return z.toFixed(1);
}

/** A p-value for print: `3.1e-5`, or `< 1e-300` when it underflows. */
export function formatPValue(p: number): string {
  if (Number.isNaN(p)) return "undefined";
  return p < 1e-300 ? "< 1e-300" : `= ${p.toExponential(1)}`;
}

function worst(a: Verdict, b: Verdict): Verdict {
  const rank = { ok: 0, suspect: 1, leak: 2 } as const;
  return rank[a] >= rank[b] ? a : b;
}

/** Picks audit symbols: the `n` with the most rows (ties by name), or the given names (checked). */
export function chooseAuditSymbols(panel: Panel, symbols: number | readonly string[] = 3): string[] {
  if (typeof symbols !== "number") {
    const known = new Set(panel.symbols);
    for (const s of symbols) if (!known.has(s)) throw new ConfigError(`audit symbol "${s}" is not in the panel`);
    return [...symbols].sort();
  }
  const ranges = symbolRanges(panel.frame).map((r) => ({ symbol: r.symbol, n: r.end - r.start }));
  ranges.sort((a, b) => b.n - a.n || (a.symbol < b.symbol ? -1 : 1));
  return ranges.slice(0, Math.max(1, symbols)).map((r) => r.symbol).sort();
}

/** Cut dates spread over [30 %, 90 %] of the given sorted dates. */
export function chooseCutDates(dates: readonly string[], cuts: number): string[] {
  if (!Number.isInteger(cuts) || cuts < 1) throw new ConfigError(`cuts must be a positive integer, got ${cuts}`);
  const out = new Set<string>();
  for (let i = 0; i < cuts; i++) {
    const f = cuts === 1 ? 0.7 : 0.3 + (0.6 * i) / (cuts - 1);
    out.add(dates[Math.min(dates.length - 1, Math.floor(f * (dates.length - 1)))]);
  }
  return [...out].sort();
}

function differs(a: number, b: number, tol: number): boolean {
  const na = Number.isNaN(a);
  const nb = Number.isNaN(b);
  if (na || nb) return na !== nb;
  return Math.abs(a - b) > tol * Math.max(Math.abs(a), Math.abs(b)) + 1e-12;
}

/** Truncation-test result for one feature. */
export interface TruncationResult {
  /** Earliest date (over all cuts) whose value changed; undefined when none did. */
  firstOffendingDate?: string;
  /** The cut that exposed it. */
  cut?: string;
  /** Number of (row, cut) values that changed. */
  changed: number;
}

/**
 * Recomputes `defs` on `frame` cut at each date in `cutDates` and compares every value at or before the cut with the
 * value computed on the full frame (`full`, computed here unless the caller already has it).
 */
export function truncationTest(
  frame: pl.DataFrame,
  defs: readonly FeatureDef[],
  cutDates: readonly string[],
  tolerance = 1e-9,
  full: pl.DataFrame = computeFeaturesOnFrame(frame, defs),
): Map<string, TruncationResult> {
  const results = new Map<string, TruncationResult>(defs.map((d) => [d.name, { changed: 0 }]));
  if (defs.length === 0) return results;
  for (const cut of cutDates) {
    const keep = pl.col("date").lessThanEquals(pl.lit(cut));
    const cutFrame = frame.filter(keep);
    if (cutFrame.height === 0) continue;
    const truncated = computeFeaturesOnFrame(cutFrame, defs);
    const reference = full.filter(keep);
    const dates = reference.getColumn("date").toArray() as string[];
    for (const d of defs) {
      const a = float64Column(reference, d.name);
      const b = float64Column(truncated, d.name);
      const r = results.get(d.name)!;
      for (let i = 0; i < a.length; i++) {
        if (differs(a[i], b[i], tolerance)) {
          r.changed++;
          if (r.firstOffendingDate === undefined || dates[i] < r.firstOffendingDate) {
            r.firstOffendingDate = dates[i];
            r.cut = cut;
          }
        }
      }
    }
  }
  return results;
}

/** An h-day log return starting `shift` rows after t, ln(C[t+shift+h] / C[t+shift]), within t's symbol. */
interface Window {
  /** Days spanned. */
  h: number;
  /** Rows after t where it starts (negative: before t). */
  shift: number;
}

/**
 * A quantity a feature must not reproduce, or a past quantity it may use, defined by its window(s): materialized on
 * demand from the log prices ({@link ReturnSeries}) rather than stored, so the audit holds a few arrays of n numbers
 * whatever the horizon (h = 20 once meant 60+ stored arrays: 2 GB on the 2.16 M-row S&P 500 panel).
 */
interface Quantity extends Window {
  label: string;
  /** Days the quantity spans (its overlap, for the standard error). */
  span: number;
  /** For the target shifted k < h days into the past: its part known at t and its part after t. */
  split?: { known: Window; unknown: Window; span: number };
  /** Whether it is a lead quantity of the lead/lag check (the target and the one-day returns after t). */
  lead: boolean;
}

/** Log adjusted closes and each row's symbol bounds: every window's return is a difference of two log prices. */
class ReturnSeries {
  /** ln(adj_close) per row. */
  readonly logClose: Float64Array;
  /** First row of each row's symbol. */
  readonly start: Int32Array;
  /** One past the last row of each row's symbol. */
  readonly end: Int32Array;
  /** Number of rows. */
  readonly n: number;
  /** Each symbol's rows, [start, end). */
  readonly symbols: { start: number; end: number }[];

  constructor(frame: pl.DataFrame) {
    const close = float64Column(frame, "adj_close");
    this.n = close.length;
    this.logClose = Float64Array.from(close, Math.log);
    this.start = new Int32Array(this.n);
    this.end = new Int32Array(this.n);
    this.symbols = symbolRanges(frame);
    for (const r of this.symbols) {
      this.start.fill(r.start, r.start, r.end);
      this.end.fill(r.end, r.start, r.end);
    }
  }

  /**
   * The rows where the window's return can be defined, as [start, end) pairs in row order: in each symbol, the rows t
   * with t + shift and t + shift + h both inside it. Every other row of {@link fill} is NaN.
   */
  definedRows(w: Window): Int32Array {
    const out: number[] = [];
    for (const r of this.symbols) {
      const lo = r.start + Math.max(0, -w.shift);
      const hi = r.end - Math.max(0, w.shift + w.h);
      if (hi > lo) out.push(lo, hi);
    }
    return Int32Array.from(out);
  }

  /** The window's return at every row into `out` (NaN where it leaves the row's symbol); returns `out`. */
  fill(w: Window, out: Float64Array = new Float64Array(this.n)): Float64Array {
    const { logClose, start, end } = this;
    for (let t = 0; t < this.n; t++) {
      const a = t + w.shift;
      const b = a + w.h;
      out[t] = a >= start[t] && b < end[t] ? logClose[b] - logClose[a] : Number.NaN;
    }
    return out;
  }
}

/** The forward and past quantities of the module doc ("target identity" and "lead/lag") for horizon h. */
function quantities(horizon: number): { future: Quantity[]; past: Quantity[] } {
  const future: Quantity[] = [
    { label: `the ${horizon}-day forward target`, h: horizon, shift: 0, span: horizon, lead: true },
  ];
  for (let k = 1; k < horizon; k++) {
    future.push({
      label: `the target of ${k} day(s) earlier (still reaches ${horizon - k} day(s) ahead)`,
      h: horizon,
      shift: -k,
      span: horizon,
      split: { known: { h: k, shift: -k }, unknown: { h: horizon - k, shift: 0 }, span: horizon - k },
      lead: false,
    });
  }
  for (let k = 1; k <= 2; k++) {
    future.push({ label: `the target of ${k} day(s) later`, h: horizon, shift: k, span: horizon, lead: false });
  }
  for (let j = horizon === 1 ? 2 : 1; j <= horizon + 1; j++) {
    future.push({ label: `the one-day return ${j} day(s) ahead`, h: 1, shift: j - 1, span: 1, lead: true });
  }
  const past: Quantity[] = [];
  for (let j = 0; j < horizon; j++) {
    past.push({ label: `the one-day return ${j} day(s) back`, h: 1, shift: -j - 1, span: 1, lead: false }); // r_{t−j}
  }
  if (horizon > 1) {
    past.push({ label: `the past ${horizon}-day return`, h: horizon, shift: -horizon, span: horizon, lead: false });
  }
  return { future, past };
}

/** What the identity and IC checks share for one frame: its returns, dates, quantities and scratch space. */
interface QuantityContext {
  returns: ReturnSeries;
  future: Quantity[];
  past: Quantity[];
  dates: { cluster: Int32Array; clusters: number };
  /** Reused buffers of n numbers for materialized quantities. */
  scratch: Float64Array[];
}

function quantityContext(frame: pl.DataFrame, horizon: number): QuantityContext {
  const returns = new ReturnSeries(frame);
  return {
    returns,
    ...quantities(horizon),
    dates: dateClusters(frame),
    scratch: [0, 1, 2].map(() => new Float64Array(returns.n)),
  };
}

/**
 * `y` minus its least-squares line on `on`, fitted over the rows where y, `on` and `also` are all finite (the
 * residual of a partial correlation); NaN on every other row.
 */
function residualOn(y: Float64Array, on: Float64Array, also: Float64Array): Float64Array {
  const keep = (i: number) => Number.isFinite(y[i]) && Number.isFinite(on[i]) && Number.isFinite(also[i]);
  let n = 0;
  let sy = 0;
  let so = 0;
  for (let i = 0; i < y.length; i++) {
    if (keep(i)) {
      n++;
      sy += y[i];
      so += on[i];
    }
  }
  const my = sy / n;
  const mo = so / n;
  let cyo = 0;
  let coo = 0;
  for (let i = 0; i < y.length; i++) {
    if (keep(i)) {
      cyo += (y[i] - my) * (on[i] - mo);
      coo += (on[i] - mo) * (on[i] - mo);
    }
  }
  const b = coo > 0 ? cyo / coo : 0;
  const out = new Float64Array(y.length).fill(Number.NaN);
  for (let i = 0; i < y.length; i++) if (keep(i)) out[i] = y[i] - my - b * (on[i] - mo);
  return out;
}

/** What an identity reason concludes about a feature that equals a future quantity. */
const IDENTITY_CONCLUSION = "the feature is the answer shifted into t";

/** A feature's target-identity finding: reasons (empty when none applies) and the closest future quantity. */
interface IdentityFinding {
  reasons: string[];
  closest?: NonNullable<FeatureStatistics["identity"]>;
}

/**
 * The target-identity check (module doc) of several features at once. The future quantities number 2h + 3, so each is
 * materialized once for all the features given, and correlated only over the rows where it is defined (the last h
 * rows of each symbol and more have none): the cost is features × (2h + 3) × the rows with a target.
 * `conclusions[i]` ends feature i's reasons (default: the feature is the answer shifted into t).
 */
function identityChecks(
  features: readonly Float64Array[],
  ctx: QuantityContext,
  conclusions: readonly string[] = features.map(() => IDENTITY_CONCLUSION),
): IdentityFinding[] {
  const { dates, returns, scratch } = ctx;
  const findings: IdentityFinding[] = features.map(() => ({ reasons: [] }));
  for (const q of ctx.future) {
    const rows = returns.definedRows(q);
    if (rows.length === 0) continue; // NaN everywhere: no correlation, nothing to report
    const quantity = returns.fill(q, scratch[0]);
    for (let f = 0; f < features.length; f++) {
      const values = features[f];
      const finding = findings[f];
      const { r, n } = pairedCorrelation(values, quantity, rows);
      if (!Number.isNaN(r) && (finding.closest === undefined || Math.abs(r) > Math.abs(finding.closest.r))) {
        finding.closest = { quantity: q.label, r, n };
      }
      if (!(Math.abs(r) >= IDENTITY_R)) continue;
      if (q.split !== undefined) {
        // Only a leak when the feature also follows the part of the shifted target that lies after t (module doc): the
        // partial correlation with it given the known part, as the correlation of the two residuals on the known part.
        const known = returns.fill(q.split.known, scratch[1]);
        const unknown = returns.fill(q.split.unknown, scratch[2]);
        const partial = correlationWithError(
          residualOn(values, known, unknown),
          residualOn(unknown, known, values),
          dates.cluster,
          dates.clusters,
          q.split.span,
        );
        const p = correlationPValue(partial);
        if (finding.closest?.quantity === q.label) {
          finding.closest = { ...finding.closest, partialR: partial.r, partialP: p };
        }
        if (!(Math.abs(partial.r) >= SHIFTED_UNKNOWN_R && p <= SHIFTED_UNKNOWN_ALPHA())) continue;
        finding.reasons.push(
          `equals ${q.label} (r = ${r.toFixed(3)} over ${n} rows) and follows its part after t once its part known ` +
            `at t is accounted for (partial r = ${partial.r.toFixed(3)}, ${
              formatStandardErrors(Math.abs(partial.r) / partial.se)
            } standard errors, p ${formatPValue(p)}): ${conclusions[f]}`,
        );
        continue;
      }
      finding.reasons.push(
        `equals ${q.label} (r = ${r.toFixed(3)} over ${n} rows): ${conclusions[f]}`,
      );
    }
  }
  return findings;
}

/** Chronological integer ids of the distinct dates of a frame's rows (the clusters of {@link correlationWithError}). */
function dateClusters(frame: pl.DataFrame): { cluster: Int32Array; clusters: number } {
  const dates = frame.getColumn("date").toArray() as string[];
  const sorted = [...new Set(dates)].sort();
  const ids = new Map(sorted.map((d, i) => [d, i]));
  return { cluster: Int32Array.from(dates, (d) => ids.get(d)!), clusters: sorted.length };
}

/**
 * The last L one-day returns known at t (r_t, r_{t−1}, …, r_{t−L+1}), as a least-squares basis shared by every
 * column (module doc, controlled lead test). Row i's regressors are [1, ret[i], ret[i−1], …, ret[i−L+1]], read from
 * one array of one-day returns, so the basis costs two arrays of n numbers whatever L.
 */
interface PastBasis {
  /** p = L + 1 regressors per row: a constant, then the L returns. */
  p: number;
  /** One-day log return of each row within its symbol (NaN on a symbol's first row). */
  ret: Float64Array;
  /** Whether row i has all L returns finite within its symbol. */
  usable: Uint8Array;
  /** Σ zzᵀ over the usable rows, row-major p × p. */
  gram: Float64Array;
}

/** Row i's regressors into `z` (length p): 1, then ret[i], ret[i−1], …, ret[i−p+2]. */
function regressors(basis: PastBasis, i: number, z: Float64Array): void {
  z[0] = 1;
  for (let j = 1; j < basis.p; j++) z[j] = basis.ret[i - j + 1];
}

/** The basis of the last `lags` one-day returns of each row, within its symbol. */
function pastBasis(returns: ReturnSeries, lags: number): PastBasis {
  const n = returns.n;
  const p = lags + 1;
  const ret = returns.fill({ h: 1, shift: -1 }); // ln(C_t / C_{t−1})
  const usable = new Uint8Array(n);
  let finiteRun = 0; // consecutive finite returns ending at t, within the symbol (a symbol's first row is NaN)
  for (let t = 0; t < n; t++) {
    finiteRun = Number.isFinite(ret[t]) ? finiteRun + 1 : 0;
    if (finiteRun >= lags) usable[t] = 1;
  }
  const basis: PastBasis = { p, ret, usable, gram: new Float64Array(p * p) };
  const z = new Float64Array(p);
  for (let i = 0; i < n; i++) {
    if (usable[i] === 0) continue;
    regressors(basis, i, z);
    for (let a = 0; a < p; a++) for (let b = 0; b < p; b++) basis.gram[a * p + b] += z[a] * z[b];
  }
  return basis;
}

/** Solves A b = c for a symmetric positive-definite A (p × p, row-major) by Cholesky; undefined when A is not. */
function solve(a: Float64Array, c: Float64Array): Float64Array | undefined {
  const p = c.length;
  const chol = new ml.CholeskyDecomposition(
    new ml.Matrix(Array.from({ length: p }, (_, i) => a.subarray(i * p, i * p + p))),
  );
  if (!chol.isPositiveDefinite()) return undefined;
  return Float64Array.from(chol.solve(ml.Matrix.columnVector(Array.from(c))).getColumn(0));
}

/**
 * The series minus its least-squares fit on the known returns (over the rows where both are finite): the part that
 * the last L returns do not explain. NaN elsewhere, or everywhere when the fit is singular or explains the series
 * exactly (R² ≈ 1, e.g. a trailing sum of those returns: only rounding would be left to test).
 */
function residualOnPast(values: Float64Array, basis: PastBasis): Float64Array {
  const { p } = basis;
  const z = new Float64Array(p);
  const gram = Float64Array.from(basis.gram);
  const xty = new Float64Array(p);
  const n = values.length;
  for (let i = 0; i < n; i++) {
    if (basis.usable[i] === 0) continue;
    regressors(basis, i, z);
    if (Number.isFinite(values[i])) {
      for (let a = 0; a < p; a++) xty[a] += z[a] * values[i];
    } else {
      for (let a = 0; a < p; a++) for (let b = 0; b < p; b++) gram[a * p + b] -= z[a] * z[b];
    }
  }
  const out = new Float64Array(n).fill(Number.NaN);
  const coef = solve(gram, xty);
  if (coef === undefined) return out;
  let rss = 0;
  let sum = 0;
  let sumSq = 0;
  let m = 0;
  for (let i = 0; i < n; i++) {
    if (basis.usable[i] === 0 || !Number.isFinite(values[i])) continue;
    regressors(basis, i, z);
    let fit = 0;
    for (let a = 0; a < p; a++) fit += coef[a] * z[a];
    out[i] = values[i] - fit;
    rss += out[i] * out[i];
    sum += values[i];
    sumSq += values[i] * values[i];
    m++;
  }
  if (!(rss > 1e-8 * (sumSq - sum * sum / m))) out.fill(Number.NaN);
  return out;
}

/** Family-wise p-value of the smallest of m correlation p-values (Bonferroni: m · min p, at most 1). */
function bonferroniPValue(estimates: readonly CorrelationEstimate[]): number {
  return Math.min(1, estimates.length * Math.min(...estimates.map(correlationPValue)));
}

/** What the statistical rules of a precomputed column share: quantities, the past basis, the controlled leads. */
interface ColumnContext extends QuantityContext {
  horizon: number;
  basis: PastBasis;
  /**
   * The lead quantities (the target, then the one-day returns after t), each with its residual on the basis, kept in
   * single precision (ample for a correlation, half the memory: h + 2 arrays of n numbers).
   */
  leads: { q: Quantity; residual: Float32Array }[];
}

function columnContext(frame: pl.DataFrame, horizon: number): ColumnContext {
  const base = quantityContext(frame, horizon);
  const basis = pastBasis(base.returns, controlReturns(horizon));
  const leads = base.future.filter((q) => q.lead).map((q) => ({
    q,
    residual: Float32Array.from(residualOnPast(base.returns.fill(q, base.scratch[0]), basis)),
  }));
  return { ...base, horizon, basis, leads };
}

/** A correlation estimate as reported (with its quantity, z and p). */
function statistic(quantity: string, e: CorrelationEstimate): CorrelationStatistic {
  return { quantity, r: e.r, se: e.se, z: Math.abs(e.r) / e.se, p: correlationPValue(e), dof: e.dof, n: e.n };
}

/**
 * The statistical rules for a precomputed column (module doc): implausible IC, lead/lag asymmetry and the controlled
 * lead test. An accusation is made only when the controlled lead test survives; otherwise what the raw rules saw is a
 * note (the column predicts through returns known at t, which is no evidence of look-ahead).
 */
function predictivenessCheck(
  values: Float64Array,
  ctx: ColumnContext,
): { verdict: Verdict; reasons: string[]; notes: string[]; ic: number; statistics: FeatureStatistics } {
  const reasons: string[] = [];
  const notes: string[] = [];
  const statistics: FeatureStatistics = {};
  let verdict: Verdict = "ok";
  const { horizon, future, dates, returns, scratch } = ctx;
  const L = controlReturns(horizon);
  const est = (q: Quantity) =>
    correlationWithError(values, returns.fill(q, scratch[0]), dates.cluster, dates.clusters, q.span);
  const target = est(future[0]);
  const ic = target.r;
  if (Number.isNaN(ic) || !(target.se > 0)) return { verdict, reasons, notes, ic, statistics };
  statistics.ic = statistic(future[0].label, target);
  const usable = (c: CorrelationEstimate) => !Number.isNaN(c.r) && c.se > 0;

  // The controlled lead test: is the column related to what comes after t beyond what the last L returns explain?
  const rest = residualOnPast(values, ctx.basis);
  const controlledAll = ctx.leads.map(({ q, residual }) =>
    correlationWithError(rest, residual, dates.cluster, dates.clusters, q.span)
  );
  const controlled = controlledAll.filter(usable);
  // The target alone, controlled: what gates the IC rules, each at its own level.
  const controlledTarget = controlledAll[0] !== undefined && usable(controlledAll[0])
    ? correlationPValue(controlledAll[0])
    : 1;
  const explained = controlled.length === 0;
  const restLead = explained ? Number.NaN : Math.max(...controlled.map((c) => Math.abs(c.r)));
  const restZ = explained ? Number.NaN : Math.max(...controlled.map((c) => Math.abs(c.r) / c.se));
  const restP = explained ? 1 : bonferroniPValue(controlled);
  const survives = !explained && restP <= LEAD_ALPHA();
  statistics.controlled = {
    pastReturns: L,
    explained,
    maxAbsPartialR: restLead,
    z: restZ,
    bonferroniP: restP,
    leads: controlled.length,
    targetPartialR: controlledAll[0]?.r ?? Number.NaN,
    targetP: controlledTarget,
    survives,
  };
  const control = explained
    ? `the last ${L} one-day returns known at t explain the column exactly`
    : `controlled for the last ${L} one-day returns known at t (removed from the column and from the returns after ` +
      `t), its largest |corr| with returns after t is ${restLead.toFixed(3)} (${formatStandardErrors(restZ)} ` +
      `standard errors, Bonferroni p ${formatPValue(restP)} over ${controlled.length} lead correlations)`;

  // Implausible IC.
  const absIc = Math.abs(ic);
  const z = absIc / target.se;
  const p = correlationPValue(target);
  const evidence = `${formatStandardErrors(z)} standard errors, p ${formatPValue(p)} with ${target.dof} degrees of ` +
    `freedom, n = ${target.n}`;
  const icLeak = absIc >= IC_LEAK && p <= IC_LEAK_ALPHA();
  const icSuspect = (absIc >= IC_SUSPECT && p <= IC_SUSPECT_ALPHA()) || (absIc >= IC_LEAK && p <= IC_FLOOR_ALPHA());
  const icText = `|IC| with the ${horizon}-day forward return is ${absIc.toFixed(3)} (${evidence})`;
  const targetControl = explained
    ? `the last ${L} one-day returns known at t explain the column exactly`
    : `controlled for the last ${L} one-day returns known at t (removed from the column and from the target), the ` +
      `correlation with the target is ${controlledAll[0].r.toFixed(3)} (p ${formatPValue(controlledTarget)})`;
  const icSurvives = (alpha: number) => !explained && controlledTarget <= alpha;

  // Raw lead/lag asymmetry.
  const leads = ctx.leads.map(({ q }) => (q === future[0] ? target : est(q))).filter(usable);
  const lags = ctx.past.map((q) => pairedCorrelation(values, returns.fill(q, scratch[0])).r)
    .filter((r) => !Number.isNaN(r));
  let asymmetry = false;
  let leadLagText = "";
  if (leads.length > 0) {
    const lead = Math.max(...leads.map((c) => Math.abs(c.r)));
    const leadZ = Math.max(...leads.map((c) => Math.abs(c.r) / c.se));
    const leadP = bonferroniPValue(leads);
    const lag = Math.max(0, ...lags.map(Math.abs));
    statistics.leadLag = { lead, leadZ, bonferroniP: leadP, leads: leads.length, lag };
    asymmetry = leadP <= LEAD_ALPHA() && lead >= LEAD_LAG_RATIO * lag;
    leadLagText = `max |corr| with returns after t is ${lead.toFixed(3)} (max ${formatStandardErrors(leadZ)} ` +
      `standard errors over ${leads.length} lead correlations, Bonferroni p ${formatPValue(leadP)}) but with the ` +
      `last ${horizon} return(s) known at t only ${lag.toFixed(3)}`;
  }

  const noEvidence = "what the column knows about the future, the past returns already tell, so this is no evidence " +
    "of look-ahead (a genuine past-only signal, or a market whose past returns predict its future ones)";
  if (icLeak && icSurvives(IC_LEAK_ALPHA())) {
    verdict = "leak";
    reasons.push(
      `${icText}; daily-return features rarely exceed 0.05-0.1, and ${targetControl}: the column is built from ` +
        `the future`,
    );
  } else if ((icLeak || icSuspect) && icSurvives(IC_FLOOR_ALPHA())) {
    verdict = "suspect";
    reasons.push(
      `${icText}: implausibly predictive for daily returns, and ${targetControl}; check how the column was built`,
    );
  } else if (icLeak || icSuspect) {
    notes.push(`${icText}; but ${targetControl}: ${noEvidence}`);
  }
  if (!survives) {
    if (asymmetry) notes.push(`lead/lag: ${leadLagText}; but ${control}: ${noEvidence}`);
    return { verdict, reasons, notes, ic, statistics };
  }
  if (asymmetry) {
    verdict = worst(verdict, "suspect");
    reasons.push(
      `lead/lag asymmetry: ${leadLagText}, and ${control}; genuine signals rarely see the future better than the past`,
    );
  }
  if (restLead >= IDENTITY_R && verdict !== "leak") {
    verdict = "leak";
    reasons.push(`${control}: once the returns known at t are removed, the column is a return after t`);
  } else if (reasons.length === 0 && restLead >= RESIDUAL_LEAD_R) {
    verdict = worst(verdict, "suspect");
    reasons.push(`${control}: part of the column is built from the future`);
  }
  return { verdict, reasons, notes, ic, statistics };
}

/**
 * ln(x_t / x_{t−1}) within each symbol of a column whose finite values are all positive (a level), NaN on each symbol's
 * first row and where either value is missing; undefined for a column with a value ≤ 0 (not a level) or fewer than 30
 * changes.
 */
function levelChange(values: Float64Array, returns: ReturnSeries): Float64Array | undefined {
  for (const v of values) if (v <= 0) return undefined; // NaN compares false: missing values do not count
  const out = new Float64Array(values.length).fill(Number.NaN);
  let defined = 0;
  for (const { start, end } of returns.symbols) {
    for (let i = start + 1; i < end; i++) {
      const a = values[i - 1], b = values[i];
      if (Number.isFinite(a) && Number.isFinite(b)) {
        out[i] = Math.log(b / a);
        defined++;
      }
    }
  }
  return defined >= 30 ? out : undefined;
}

/** Precomputed columns taken out of the panel per polars call (see {@link auditFeatures}). */
const COLUMN_BATCH = 100;

/** Numbers of recomputed feature values held at once by the identity check of definitions (64 MB). */
const DEFINITION_BATCH_VALUES = 1 << 23;

/**
 * A column as a Float64Array (null → NaN) owned by JavaScript: a copy of polars' buffer, so that V8 counts the memory
 * and collects the native buffer it came from in step (native buffers alone do not prompt a collection, and a loop
 * over thousands of columns would otherwise hold them all). A Float64 column without nulls (what the loader makes) is
 * copied straight from its Series, without a polars expression per column.
 */
function columnValues(series: pl.Series): Float64Array {
  if (series.dtype.equals(pl.Float64) && series.nullCount() === 0) {
    return new Float64Array(series.toTypedArray() as Float64Array);
  }
  return new Float64Array(float64Column(series.toFrame(), series.name));
}

/**
 * Fewest rows with a defined h-day target an audit needs: every correlation it draws a verdict from needs 30 finite
 * pairs (fewer give NaN, lib/metrics/driscoll_kraay.ts).
 */
export const MIN_AUDIT_TARGET_ROWS = 30;

/**
 * Refuses a horizon the data is too short to audit (module doc, "Horizon"): fewer than
 * {@link MIN_AUDIT_TARGET_ROWS} rows with a defined h-day target in all, or a longest series of fewer than 3h rows
 * (its 2h rows with a target hold fewer than two non-overlapping h-day periods). The error names the horizon, the
 * longest series and the longest horizon the data allows. Cost: one group-by over the symbols.
 *
 * @throws ConfigError when the horizon is too long for the data.
 */
export function assertAuditableHorizon(panel: Panel, horizon: number): void {
  const lengths = symbolRanges(panel.frame).map((r) => ({ symbol: r.symbol, rows: r.end - r.start }));
  const longest = lengths.reduce((a, b) => (b.rows > a.rows ? b : a), { symbol: "", rows: 0 });
  const targetRows = (h: number) => lengths.reduce((sum, l) => sum + Math.max(0, l.rows - h), 0);
  const auditable = (h: number) => longest.rows >= 3 * h && targetRows(h) >= MIN_AUDIT_TARGET_ROWS;
  if (auditable(horizon)) return;
  // The longest auditable horizon: both conditions fail from some h on, so a binary search over [0, horizon).
  let lo = 0;
  let hi = horizon;
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (auditable(mid)) lo = mid;
    else hi = mid;
  }
  const found = targetRows(horizon);
  const withTarget = longest.rows - horizon;
  const what = found === 0
    ? `horizon ${horizon} leaves no row with a defined ${horizon}-day target`
    : `horizon ${horizon} leaves too few rows with a defined ${horizon}-day target (${found} in all)`;
  const series = longest.rows === 0
    ? "the prices have no rows"
    : `the longest series, ${longest.symbol}, has ${longest.rows} row(s)` +
      (withTarget > 0 ? `, ${withTarget} of them with a target` : "");
  const fix = lo >= 1
    ? `use a horizon of at most ${lo}, or more history`
    : "the prices are too short to audit at any horizon; use more history";
  throw new ConfigError(
    `${what}: ${series}. The audit needs the target on at least ${MIN_AUDIT_TARGET_ROWS} rows, and on two ` +
      `non-overlapping ${horizon}-day periods of one series (a series of at least ${3 * horizon} rows), to tell a ` +
      `leak from chance: ${fix}`,
  );
}

/**
 * Audits feature definitions (truncation + target identity) and precomputed columns (identity, implausible IC,
 * lead/lag asymmetry) against the h-day forward target. See the module doc for every rule and threshold.
 *
 * @throws ConfigError for a bad horizon (one the data is too short for included, {@link assertAuditableHorizon}),
 *   unknown audit symbols or columns.
 */
export function auditFeatures(panel: Panel, options: AuditOptions = {}): AuditReport {
  const horizon = options.horizon ?? 1;
  assertHorizon(horizon);
  assertAuditableHorizon(panel, horizon);
  const defs = options.features ?? [];
  const columns = options.columns ?? panel.extraColumns;
  const present = new Set(panel.frame.columns); // `frame.columns` builds a new array at every read
  for (const c of columns) if (!present.has(c)) throw new ConfigError(`column "${c}" is not in the panel`);
  const symbols = chooseAuditSymbols(panel, options.symbols ?? 3);
  // Only the price columns take part in recomputation: filtering a frame copies every column it has.
  const prices = panel.frame.select(...PANEL_COLUMNS);
  const sub = prices.filter(pl.col("symbol").isIn(symbols));
  const subDates = sub.getColumn("date").unique().sort().toArray() as string[];
  const cutDates = chooseCutDates(subDates, options.cuts ?? 4);
  const features: FeatureAudit[] = [];

  if (defs.length > 0) {
    const computed = computeFeaturesOnFrame(sub, defs);
    const trunc = truncationTest(sub, defs, cutDates, options.tolerance ?? 1e-9, computed);
    const qctx = quantityContext(sub, horizon);
    const target = qctx.returns.fill(qctx.future[0]);
    // Features are checked a batch at a time, so that each future quantity is materialized once per batch rather than
    // once per feature, with the batch's values held in at most DEFINITION_BATCH_VALUES numbers.
    const batchSize = Math.max(1, Math.floor(DEFINITION_BATCH_VALUES / Math.max(1, sub.height)));
    for (let b = 0; b < defs.length; b += batchSize) {
      const batch = defs.slice(b, b + batchSize);
      const values = batch.map((d) => float64Column(computed, d.name));
      const ids = identityChecks(values, qctx);
      batch.forEach((d, i) => {
        const reasons: string[] = [];
        let verdict: Verdict = "ok";
        const t = trunc.get(d.name)!;
        if (t.firstOffendingDate !== undefined) {
          verdict = "leak";
          reasons.push(
            `truncation test: value on ${t.firstOffendingDate} changed when history after ${t.cut} was removed ` +
              `(${t.changed} value(s) changed over ${cutDates.length} cut(s)); the feature reads later rows`,
          );
        }
        const id = ids[i];
        if (id.reasons.length > 0) {
          verdict = "leak";
          reasons.push(...id.reasons);
        }
        const ic = pairedCorrelation(values[i], target).r;
        features.push({
          name: d.name,
          source: "definition",
          verdict,
          reasons,
          notes: [],
          statistics: {
            truncation: {
              cuts: cutDates.length,
              changed: t.changed,
              firstOffendingDate: t.firstOffendingDate,
              cut: t.cut,
            },
            identity: id.closest,
          },
          firstOffendingDate: t.firstOffendingDate,
          ic,
        });
      });
    }
  }

  if (columns.length > 0) {
    const ctx = columnContext(prices, horizon);
    // Columns are taken out of the panel a batch at a time through a narrow frame: a polars call on a frame of
    // thousands of columns costs time and native memory in proportion to its width, every time.
    for (let b = 0; b < columns.length; b += COLUMN_BATCH) {
      const names = columns.slice(b, b + COLUMN_BATCH);
      const batch = panel.frame.select(...names).getColumns();
      for (const series of batch) {
        const c = series.name;
        const values = columnValues(series);
        // A level (a price, say) hides a leak from correlations with returns: its day-to-day change is checked too,
        // in the same pass over the future quantities.
        const change = levelChange(values, ctx.returns);
        const [id, moved] = change === undefined
          ? identityChecks([values], ctx)
          : identityChecks([values, change], ctx, [
            IDENTITY_CONCLUSION,
            "the column is a value from after t (a future price, say)",
          ]);
        const reasons = id.reasons;
        for (const r of moved?.reasons ?? []) reasons.push(`as a level, its day-to-day log change ${r}`);
        let verdict: Verdict = reasons.length > 0 ? "leak" : "ok";
        const p = predictivenessCheck(values, ctx);
        verdict = worst(verdict, p.verdict);
        reasons.push(...p.reasons);
        features.push({
          name: c,
          source: "column",
          verdict,
          reasons,
          notes: verdict === "ok" ? p.notes : [],
          statistics: {
            identity: id.closest,
            ...(moved?.closest === undefined ? {} : { levelChange: moved.closest }),
            ...p.statistics,
          },
          ic: p.ic,
        });
      }
    }
  }
  return {
    horizon,
    symbolsAudited: symbols,
    cutDates,
    controlReturns: controlReturns(horizon),
    features,
    leaking: features.filter((f) => f.verdict === "leak").map((f) => f.name),
    suspect: features.filter((f) => f.verdict === "suspect").map((f) => f.name),
  };
}

/**
 * The cheap pre-run gate: names of the features (definitions and precomputed columns) the auditor calls `leak`.
 *
 * Runs {@link auditFeatures} on the 2 symbols with the longest history with 3 cut dates (precomputed columns only
 * when passed in `columns`). Measured with bench/features.ts on the S&P 500 panel (2 cores, other jobs running):
 * ~0.1 s for BASE_FEATURES and ~1.3–4 s for FULL_FEATURES (191 features recomputed 4 times on ~11,000 rows), plus
 * about 0.1 s per precomputed column over the whole panel. The cost does not grow with the number of symbols in the
 * panel. The pipeline calls it before every run and refuses to train when the list is non-empty (unless overridden).
 */
export function findLeakingFeatures(
  panel: Panel,
  features: readonly FeatureDef[],
  options: { horizon?: number; columns?: readonly string[]; symbols?: number | readonly string[]; cuts?: number } = {},
): string[] {
  return auditFeatures(panel, {
    features,
    columns: options.columns ?? [],
    horizon: options.horizon ?? 1,
    symbols: options.symbols ?? 2,
    cuts: options.cuts ?? 3,
  }).leaking;
}
