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
 * **Precomputed columns** (numbers found in the input files, which cannot be recomputed) get the identity check plus
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
 * - *Implausible predictiveness.* Daily-return features rarely reach |IC| of 0.05–0.1 with the forward return.
 *   |IC| ≥ 0.3 at the two-sided level of a 6-SE normal deviation (p ≤ 2.0e−9) is a `leak`; |IC| ≥ 0.1 at the level
 *   of a 5-SE deviation (p ≤ 5.7e−7), or |IC| ≥ 0.3 at the level of a 3.5-SE deviation (p ≤ 4.7e−4), is `suspect`.
 *   A large |IC| measured on too few (independent) periods to reach those levels is not reported: noise cannot be
 *   told from a leak there.
 * - *Lead/lag asymmetry.* The column's correlations with what comes after t (the h-day target and the one-day returns
 *   1…h+1 days ahead) are compared with those with what is known at t (the last h one-day returns and the past h-day
 *   return). If the largest lead correlation is significant — the smallest p-value over the m lead correlations,
 *   Bonferroni-corrected (m · p), no larger than that of a single 4-SE deviation (6.3e−5), i.e. z ≥ 4.44 for m = 7
 *   (h = 5) and z ≥ 4.68 for m = 22 (h = 20) on long samples — and at least 3× the largest lag correlation, the
 *   column is `suspect`: real signals are usually at least as visible in the past as in the future, leaks are the
 *   other way round. A leak mixed into an honest trailing return (x = ln(C_t/C_{t−k}) + c·r_{t+1}) hides behind that
 *   return's large lag correlation, so the lead test is repeated on the part of the column the known returns do not
 *   explain: the residual of a least-squares fit of the column on a constant and the last h one-day returns. If that
 *   residual's largest |corr| with the lead quantities is ≥ 0.14 and Bonferroni-significant at the same level, the
 *   column is `suspect` (skipped when the known returns explain the column exactly, e.g. a trailing sum of them).
 *   Removing the honest part only shrinks the column's variance, so a column with |corr| ≥ 0.15 with a one-day return
 *   after t keeps at least that much in its residual; honest candle shapes with a real next-day reversal (KSFT on
 *   AAPL + MSFT at h = 5) reach 0.11.
 *
 * **Configuration** (./configuration.ts): purge ≥ horizon, fitted-transform windows inside their training fold.
 *
 * Cost: the truncation test evaluates the feature set `cuts + 1` times on the audited symbols only; identity and IC
 * checks are single passes. See {@link findLeakingFeatures} for the cheap pre-run gate.
 *
 * @module
 */

import pl from "nodejs-polars";
import normalCdf from "@stdlib/stats-base-dists-normal-cdf";
import tCdf from "@stdlib/stats-base-dists-t-cdf";
import { CholeskyDecomposition, Matrix as MlMatrix } from "ml-matrix";
import type { Panel } from "../data/panel.ts";
import { ConfigError } from "../errors.ts";
import { computeFeaturesOnFrame, type FeatureDef, float64Column, symbolRanges } from "../features/definition.ts";
import { assertHorizon } from "../features/targets.ts";

/** Outcome of one check or of a whole feature. */
export type Verdict = "ok" | "suspect" | "leak";

/** The auditor's finding on one feature. */
export interface FeatureAudit {
  /** Feature name (the FeatureDef's `name`) or column name in `panel.frame`. */
  name: string;
  /** "definition": a FeatureDef recomputed by the auditor; "column": a precomputed column from the input. */
  source: "definition" | "column";
  /** The worst verdict over every check run on this feature (`leak` > `suspect` > `ok`). */
  verdict: Verdict;
  /** Why; empty when `ok`. */
  reasons: string[];
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
/** Two-sided level of that partial correlation: a 4-SE deviation, 2·P(Z ≥ 4). */
const SHIFTED_UNKNOWN_ALPHA = 2 * normalTail(4);
const IC_LEAK = 0.3;
/** Two-sided level of a `leak` IC: a 6-SE deviation of a normal, 2·P(Z ≥ 6). */
const IC_LEAK_ALPHA = 2 * normalTail(6);
const IC_SUSPECT = 0.1;
/** Two-sided level of a `suspect` IC: a 5-SE deviation, 2·P(Z ≥ 5). */
const IC_SUSPECT_ALPHA = 2 * normalTail(5);
const LEAD_LAG_RATIO = 3;
/** |corr| with a return after t, of the part of a column the known returns do not explain, that is `suspect`. */
const RESIDUAL_LEAD_R = 0.14;
/** Family-wise two-sided level of the lead test: a 4-SE deviation, 2·P(Z ≥ 4). */
const LEAD_ALPHA = 2 * normalTail(4);
/** Two-sided level at which an |IC| of at least IC_LEAK is `suspect`: a 3.5-SE deviation (module doc). */
const IC_FLOOR_ALPHA = 2 * normalTail(3.5);

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

/** A future quantity a feature must not reproduce, aligned with the rows of a frame. */
interface FutureQuantity {
  label: string;
  values: Float64Array;
  /** Days the quantity spans (its overlap, for the standard error). */
  span: number;
  /** For the target shifted k < h days into the past: its part known at t and its part after t. */
  split?: { known: Float64Array; unknown: Float64Array; span: number };
  /** Whether it is a lead quantity of the lead/lag check (the target and the one-day returns after t). */
  lead: boolean;
}

/** Per-row forward and past quantities (module doc, "target identity" and "lead/lag"), per symbol, from adj_close. */
function futureQuantities(
  frame: pl.DataFrame,
  horizon: number,
): { future: FutureQuantity[]; past: { values: Float64Array; span: number }[] } {
  const close = float64Column(frame, "adj_close");
  const ranges = symbolRanges(frame);
  const n = close.length;
  const fwd = (h: number, shift: number) => {
    // value at row t: ln(C[t+shift+h] / C[t+shift]) within the symbol, NaN outside.
    const out = new Float64Array(n).fill(Number.NaN);
    for (const r of ranges) {
      for (let t = r.start; t < r.end; t++) {
        const a = t + shift;
        const b = a + h;
        if (a >= r.start && b < r.end) out[t] = Math.log(close[b] / close[a]);
      }
    }
    return out;
  };
  const future: FutureQuantity[] = [
    { label: `the ${horizon}-day forward target`, values: fwd(horizon, 0), span: horizon, lead: true },
  ];
  for (let k = 1; k < horizon; k++) {
    future.push({
      label: `the target of ${k} day(s) earlier (still reaches ${horizon - k} day(s) ahead)`,
      values: fwd(horizon, -k),
      span: horizon,
      split: { known: fwd(k, -k), unknown: fwd(horizon - k, 0), span: horizon - k },
      lead: false,
    });
  }
  for (let k = 1; k <= 2; k++) {
    future.push({ label: `the target of ${k} day(s) later`, values: fwd(horizon, k), span: horizon, lead: false });
  }
  for (let j = horizon === 1 ? 2 : 1; j <= horizon + 1; j++) {
    future.push({ label: `the one-day return ${j} day(s) ahead`, values: fwd(1, j - 1), span: 1, lead: true });
  }
  const past: { values: Float64Array; span: number }[] = [];
  for (let j = 0; j < horizon; j++) past.push({ values: fwd(1, -j - 1), span: 1 }); // r_{t−j}: known at t
  if (horizon > 1) past.push({ values: fwd(horizon, -horizon), span: horizon }); // ln(C_t / C_{t−h})
  return { future, past };
}

/** Centered sums over the rows where x and y are both finite (x̃ = x − mean of those x, likewise ỹ). */
interface CenteredSums {
  n: number;
  /** Σx̃ỹ */
  cxy: number;
  /** Σx̃² */
  cxx: number;
  /** Σỹ² */
  cyy: number;
  /** Means of x and y over those rows. */
  mx: number;
  my: number;
}

/** Two passes over the finite pairs: their means, then the centered sums. */
function centeredSums(x: ArrayLike<number>, y: ArrayLike<number>): CenteredSums {
  let n = 0;
  let sx = 0;
  let sy = 0;
  for (let i = 0; i < x.length; i++) {
    if (Number.isFinite(x[i]) && Number.isFinite(y[i])) {
      n++;
      sx += x[i];
      sy += y[i];
    }
  }
  const mx = sx / n;
  const my = sy / n;
  let cxy = 0;
  let cxx = 0;
  let cyy = 0;
  for (let i = 0; i < x.length; i++) {
    if (Number.isFinite(x[i]) && Number.isFinite(y[i])) {
      const dx = x[i] - mx;
      const dy = y[i] - my;
      cxy += dx * dy;
      cxx += dx * dx;
      cyy += dy * dy;
    }
  }
  return { n, cxy, cxx, cyy, mx, my };
}

/** Pearson r from centered sums; NaN when fewer than 30 pairs or a side is constant. */
function pearson({ n, cxy, cxx, cyy }: CenteredSums): number {
  return n >= 30 && cxx > 0 && cyy > 0 ? cxy / Math.sqrt(cxx * cyy) : Number.NaN;
}

/** Pearson correlation over rows where both are finite; NaN when fewer than 30 pairs or a side is constant. */
export function pairedCorrelation(x: ArrayLike<number>, y: ArrayLike<number>): { r: number; n: number } {
  const sums = centeredSums(x, y);
  return { r: pearson(sums), n: sums.n };
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

function identityCheck(
  values: Float64Array,
  future: FutureQuantity[],
  dates: { cluster: Int32Array; clusters: number },
): string[] {
  const reasons: string[] = [];
  for (const q of future) {
    const { r, n } = pairedCorrelation(values, q.values);
    if (!(Math.abs(r) >= IDENTITY_R)) continue;
    if (q.split !== undefined) {
      // Only a leak when the feature also follows the part of the shifted target that lies after t (module doc):
      // the partial correlation with it given the known part, as the correlation of the two residuals on the known part.
      const { known, unknown } = q.split;
      const partial = correlationWithError(
        residualOn(values, known, unknown),
        residualOn(unknown, known, values),
        dates.cluster,
        dates.clusters,
        q.split.span,
      );
      const p = correlationPValue(partial);
      if (!(Math.abs(partial.r) >= SHIFTED_UNKNOWN_R && p <= SHIFTED_UNKNOWN_ALPHA)) continue;
      reasons.push(
        `equals ${q.label} (r = ${r.toFixed(3)} over ${n} rows) and follows its part after t once its part known ` +
          `at t is accounted for (partial r = ${partial.r.toFixed(3)}, ${
            (Math.abs(partial.r) / partial.se).toFixed(1)
          } ` +
          `standard errors, p = ${p.toExponential(1)}): the feature is the answer shifted into t`,
      );
      continue;
    }
    reasons.push(`equals ${q.label} (r = ${r.toFixed(3)} over ${n} rows): the feature is the answer shifted into t`);
  }
  return reasons;
}

/** P(Z ≥ z) for a standard normal Z (from @stdlib's normal CDF, evaluated at −z so the upper tail stays accurate). */
export function normalTail(z: number): number {
  return normalCdf(-z, 0, 1);
}

/** P(T ≥ t) for Student's t with `dof` degrees of freedom (@stdlib's t CDF at −t); {@link normalTail} for dof = ∞. */
export function studentTail(t: number, dof: number): number {
  if (!(dof > 0)) return Number.NaN;
  if (!Number.isFinite(dof)) return normalTail(t);
  return tCdf(-t, dof);
}

/** A correlation with its standard error (module doc formula). */
export interface CorrelationEstimate {
  /** Pearson correlation over the `n` finite pairs; NaN when n < 30 or a side is constant. */
  r: number;
  /** Rows where both sides are finite. */
  n: number;
  /**
   * Driscoll–Kraay standard error of r: residual products summed by date, Newey–West (Bartlett) over 2(span − 1) lags of
   * the date sums. NaN with r.
   */
  se: number;
  /**
   * Degrees of freedom for judging r / SE: the non-overlapping span-day periods among the dates that have a finite
   * pair, minus one (module doc). NaN with r.
   */
  dof: number;
}

/**
 * Pearson correlation of x and y with the standard error of the module doc (Driscoll–Kraay):
 *
 *   gᵈ = Σ_{i∈d} x̃ᵢ(ỹᵢ − βx̃ᵢ), β = Σx̃ỹ / Σx̃²;  V = Σ_d gᵈ² + 2 Σ_{l=1}^{L} (1 − l/(L+1)) Σ_d gᵈ gᵈ⁻ˡ, L = 2(span − 1);
 *   SE = √V / √(Σx̃² · Σỹ²)
 *
 * so r / SE is the date-clustered, autocorrelation-robust t-statistic of the slope of y on x. `cluster[i]` is the
 * chronological index (0 … clusters − 1) of row i's date: lags are taken between date indices. NaN r and se when
 * fewer than 30 finite pairs or a side is constant.
 */
export function correlationWithError(
  x: ArrayLike<number>,
  y: ArrayLike<number>,
  cluster: Int32Array,
  clusters: number,
  span: number,
): CorrelationEstimate {
  const sums = centeredSums(x, y);
  const r = pearson(sums);
  const n = sums.n;
  if (Number.isNaN(r)) return { r, n, se: Number.NaN, dof: Number.NaN };
  const { g, dates } = residualProducts(x, y, sums, cluster, clusters);
  const se = Math.sqrt(bartlettVariance(g, 2 * (span - 1)) / (sums.cxx * sums.cyy));
  return { r, n, se, dof: Math.max(1, Math.floor(dates / span) - 1) };
}

/**
 * Two-sided p-value of a correlation estimate, |r| / SE against Student's t with the estimate's degrees of freedom
 * (module doc); NaN when r or SE is undefined or SE is 0.
 */
export function correlationPValue(e: CorrelationEstimate): number {
  if (!(e.se > 0) || Number.isNaN(e.r)) return Number.NaN;
  return Math.min(1, 2 * studentTail(Math.abs(e.r) / e.se, e.dof));
}

/** Per-date sums of x̃(ỹ − βx̃) over the finite pairs (β the least-squares slope of y on x), and how many dates have one. */
function residualProducts(
  x: ArrayLike<number>,
  y: ArrayLike<number>,
  sums: CenteredSums,
  cluster: Int32Array,
  clusters: number,
): { g: Float64Array; dates: number } {
  const beta = sums.cxy / sums.cxx;
  const g = new Float64Array(clusters);
  const seen = new Uint8Array(clusters);
  let dates = 0;
  for (let i = 0; i < x.length; i++) {
    if (Number.isFinite(x[i]) && Number.isFinite(y[i])) {
      const dx = x[i] - sums.mx;
      g[cluster[i]] += dx * (y[i] - sums.my - beta * dx);
      if (seen[cluster[i]] === 0) {
        seen[cluster[i]] = 1;
        dates++;
      }
    }
  }
  return { g, dates };
}

/** Newey–West long-run variance of a series with Bartlett weights 1 − l/(L+1) over L lags (never negative). */
function bartlettVariance(g: Float64Array, lags: number): number {
  let v = 0;
  for (let t = 0; t < g.length; t++) v += g[t] * g[t];
  for (let l = 1; l <= lags; l++) {
    let s = 0;
    for (let t = l; t < g.length; t++) s += g[t] * g[t - l];
    v += 2 * (1 - l / (lags + 1)) * s;
  }
  return Math.max(v, 0);
}

/** Chronological integer ids of the distinct dates of a frame's rows (the clusters of {@link correlationWithError}). */
function dateClusters(frame: pl.DataFrame): { cluster: Int32Array; clusters: number } {
  const dates = frame.getColumn("date").toArray() as string[];
  const sorted = [...new Set(dates)].sort();
  const ids = new Map(sorted.map((d, i) => [d, i]));
  return { cluster: Int32Array.from(dates, (d) => ids.get(d)!), clusters: sorted.length };
}

/** The one-day returns known at t, as a least-squares basis shared by every column (module doc, lead/lag). */
interface PastBasis {
  /** Regressors: a constant, then each known return; rows where any return is not finite are never used. */
  rows: Float64Array[];
  /** Whether row i has every regressor finite. */
  usable: Uint8Array;
  /** Σ zzᵀ over the usable rows (z = [1, returns]), row-major. */
  gram: Float64Array;
}

function pastBasis(returns: Float64Array[], n: number): PastBasis {
  const p = returns.length + 1;
  const usable = new Uint8Array(n);
  const gram = new Float64Array(p * p);
  const rows: Float64Array[] = [];
  for (let i = 0; i < n; i++) {
    const z = new Float64Array(p);
    z[0] = 1;
    let ok = true;
    for (let j = 0; j < returns.length && ok; j++) {
      z[j + 1] = returns[j][i];
      ok = Number.isFinite(z[j + 1]);
    }
    rows.push(z);
    if (!ok) continue;
    usable[i] = 1;
    for (let a = 0; a < p; a++) for (let b = 0; b < p; b++) gram[a * p + b] += z[a] * z[b];
  }
  return { rows, usable, gram };
}

/** Solves A b = c for a symmetric positive-definite A (p × p, row-major) by Cholesky; undefined when A is not. */
function solve(a: Float64Array, c: Float64Array): Float64Array | undefined {
  const p = c.length;
  const chol = new CholeskyDecomposition(
    new MlMatrix(Array.from({ length: p }, (_, i) => a.subarray(i * p, i * p + p))),
  );
  if (!chol.isPositiveDefinite()) return undefined;
  return Float64Array.from(chol.solve(MlMatrix.columnVector(Array.from(c))).getColumn(0));
}

/**
 * The column minus its least-squares fit on the known returns (over the rows where both are finite): the part of
 * the column that the last h returns do not explain. NaN elsewhere, or everywhere when the fit is singular.
 */
function residualOnPast(values: Float64Array, basis: PastBasis): Float64Array {
  const p = basis.rows[0]?.length ?? 1;
  const gram = Float64Array.from(basis.gram);
  const xty = new Float64Array(p);
  const n = values.length;
  for (let i = 0; i < n; i++) {
    if (basis.usable[i] === 0) continue;
    const z = basis.rows[i];
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
    let fit = 0;
    for (let a = 0; a < p; a++) fit += coef[a] * basis.rows[i][a];
    out[i] = values[i] - fit;
    rss += out[i] * out[i];
    sum += values[i];
    sumSq += values[i] * values[i];
    m++;
  }
  // A column the known returns explain (R² ≈ 1, e.g. a trailing sum of them) leaves only rounding: nothing to test.
  if (!(rss > 1e-8 * (sumSq - sum * sum / m))) out.fill(Number.NaN);
  return out;
}

/** Family-wise p-value of the smallest of m correlation p-values (Bonferroni: m · min p, at most 1). */
function bonferroniPValue(estimates: readonly CorrelationEstimate[]): number {
  return Math.min(1, estimates.length * Math.min(...estimates.map(correlationPValue)));
}

function predictivenessCheck(
  values: Float64Array,
  future: FutureQuantity[],
  past: { values: Float64Array; span: number }[],
  horizon: number,
  dates: { cluster: Int32Array; clusters: number },
  basis: PastBasis,
): { verdict: Verdict; reasons: string[]; ic: number } {
  const reasons: string[] = [];
  let verdict: Verdict = "ok";
  const est = (y: Float64Array, span: number) => correlationWithError(values, y, dates.cluster, dates.clusters, span);
  const target = est(future[0].values, horizon);
  const ic = target.r;
  if (Number.isNaN(ic) || !(target.se > 0)) return { verdict, reasons, ic };
  const absIc = Math.abs(ic);
  const z = absIc / target.se;
  const p = correlationPValue(target);
  const evidence =
    `${z.toFixed(1)} standard errors, p = ${p.toExponential(1)} with ${target.dof} degrees of freedom, ` +
    `n = ${target.n}`;
  if (absIc >= IC_LEAK && p <= IC_LEAK_ALPHA) {
    verdict = "leak";
    reasons.push(
      `|IC| with the ${horizon}-day forward return is ${absIc.toFixed(3)} (${evidence}); daily-return features ` +
        `rarely exceed 0.05-0.1, so ${IC_LEAK} or more, this far from zero, means the column knows the future`,
    );
  } else if ((absIc >= IC_SUSPECT && p <= IC_SUSPECT_ALPHA) || (absIc >= IC_LEAK && p <= IC_FLOOR_ALPHA)) {
    verdict = "suspect";
    reasons.push(
      `|IC| with the ${horizon}-day forward return is ${absIc.toFixed(3)} (${evidence}): implausibly predictive ` +
        `for daily returns; check how the column was built`,
    );
  }
  // The target (future[0]) and the one-day returns after t; the target's estimate is the one already made.
  const leadQuantities = future.filter((q) => q.lead);
  const usable = (c: CorrelationEstimate) => !Number.isNaN(c.r) && c.se > 0;
  const leads = leadQuantities.map((q) => (q === future[0] ? target : est(q.values, q.span))).filter(usable);
  const lags = past.map((q) => pairedCorrelation(values, q.values).r).filter((r) => !Number.isNaN(r));
  if (leads.length === 0) return { verdict, reasons, ic };
  const lead = Math.max(...leads.map((c) => Math.abs(c.r)));
  const leadZ = Math.max(...leads.map((c) => Math.abs(c.r) / c.se));
  const leadP = bonferroniPValue(leads);
  const lag = Math.max(0, ...lags.map(Math.abs));
  if (leadP <= LEAD_ALPHA && lead >= LEAD_LAG_RATIO * lag) {
    verdict = worst(verdict, "suspect");
    reasons.push(
      `lead/lag asymmetry: max |corr| with returns after t is ${lead.toFixed(3)} (max z = ${leadZ.toFixed(1)} over ` +
        `${leads.length} lead correlations, Bonferroni p = ${leadP.toExponential(1)}) but with the last ${horizon} ` +
        `return(s) known at t only ${lag.toFixed(3)}; genuine signals rarely see the future better than the past`,
    );
    return { verdict, reasons, ic };
  }
  // The same question for the part of the column that the known returns do not explain: an honest trailing return
  // mixed with a future one hides the future part behind a large lag correlation.
  const rest = residualOnPast(values, basis);
  const restLeads = leadQuantities.map((q) =>
    correlationWithError(rest, q.values, dates.cluster, dates.clusters, q.span)
  ).filter(usable);
  if (restLeads.length === 0) return { verdict, reasons, ic };
  const restLead = Math.max(...restLeads.map((c) => Math.abs(c.r)));
  const restP = bonferroniPValue(restLeads);
  if (restP <= LEAD_ALPHA && restLead >= RESIDUAL_LEAD_R) {
    verdict = worst(verdict, "suspect");
    reasons.push(
      `once the last ${horizon} return(s) known at t are regressed out, what remains of the column correlates ` +
        `${restLead.toFixed(3)} with returns after t (Bonferroni p = ${restP.toExponential(1)} over ` +
        `${restLeads.length} lead correlations): part of the column is built from the future`,
    );
  }
  return { verdict, reasons, ic };
}

/**
 * Audits feature definitions (truncation + target identity) and precomputed columns (identity, implausible IC,
 * lead/lag asymmetry) against the h-day forward target. See the module doc for every rule and threshold.
 *
 * @throws ConfigError for a bad horizon, unknown audit symbols or columns.
 */
export function auditFeatures(panel: Panel, options: AuditOptions = {}): AuditReport {
  const horizon = options.horizon ?? 1;
  assertHorizon(horizon);
  const defs = options.features ?? [];
  const columns = options.columns ?? panel.extraColumns;
  for (const c of columns) {
    if (!panel.frame.columns.includes(c)) throw new ConfigError(`column "${c}" is not in the panel`);
  }
  const symbols = chooseAuditSymbols(panel, options.symbols ?? 3);
  const sub = panel.frame.filter(pl.col("symbol").isIn(symbols));
  const subDates = sub.getColumn("date").unique().sort().toArray() as string[];
  const cutDates = chooseCutDates(subDates, options.cuts ?? 4);
  const features: FeatureAudit[] = [];

  if (defs.length > 0) {
    const computed = computeFeaturesOnFrame(sub, defs);
    const trunc = truncationTest(sub, defs, cutDates, options.tolerance ?? 1e-9, computed);
    const { future } = futureQuantities(sub, horizon);
    const subClusters = dateClusters(sub);
    for (const d of defs) {
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
      const values = float64Column(computed, d.name);
      const id = identityCheck(values, future, subClusters);
      if (id.length > 0) {
        verdict = "leak";
        reasons.push(...id);
      }
      const ic = pairedCorrelation(values, future[0].values).r;
      features.push({
        name: d.name,
        source: "definition",
        verdict,
        reasons,
        firstOffendingDate: t.firstOffendingDate,
        ic,
      });
    }
  }

  if (columns.length > 0) {
    const { future, past } = futureQuantities(panel.frame, horizon);
    const dates = dateClusters(panel.frame);
    const basis = pastBasis(past.filter((q) => q.span === 1).map((q) => q.values), panel.frame.height);
    for (const c of columns) {
      const values = float64Column(panel.frame, c);
      const reasons = identityCheck(values, future, dates);
      let verdict: Verdict = reasons.length > 0 ? "leak" : "ok";
      const p = predictivenessCheck(values, future, past, horizon, dates, basis);
      verdict = worst(verdict, p.verdict);
      reasons.push(...p.reasons);
      features.push({ name: c, source: "column", verdict, reasons, ic: p.ic });
    }
  }
  return {
    horizon,
    symbolsAudited: symbols,
    cutDates,
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
