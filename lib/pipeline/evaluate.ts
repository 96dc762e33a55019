/**
 * Evaluation of a model entry: fold metrics by task, the naive baselines on the same rows, the target's distribution,
 * prediction health, and the pooled verdict with inference that respects overlapping labels and correlated symbols.
 *
 * **Calls.** Every task is also scored as a direction call so it can stand beside the naive baselines: binary →
 * "up" when P(up) > 0.5; regression → "up" when the forecast is > 0; the truth is "up" when the continuous target is
 * > 0 (a zero return is "down"). 3-class models call the class with the largest probability and are scored against
 * the DOWN/FLAT/UP label.
 *
 * **Baselines** (on exactly the rows the model predicted): coin flip (the expectation: 0.5, or 1/3 for three
 * classes), always long (always "up"/UP), majority (the most frequent class of the fold's fitting rows; a tie is
 * "up"), previous sign (the class of the same quantity over the h days ending at t, known at t; rows without one are
 * left out of this baseline only). The **strongest** baseline is the one with the highest pooled accuracy.
 *
 * **Verdict.** The headline compares the model with the strongest baseline on the same rows: the difference of
 * accuracies, its 95 % interval and one-sided p-value by a paired circular block bootstrap over dates
 * (lib/metrics/bootstrap.ts: all symbols of a date together, blocks of max(2h, ⌈n^{1/3}⌉) dates). `edge` when the
 * interval's lower end is above 0, else `no-edge`. Regression targets are judged on the IC (forecast vs realized
 * target) against 0 by its Driscoll–Kraay interval (date-clustered, Newey–West over the overlap; the bootstrap interval
 * is reported beside it); their direction accuracy against the baselines is reported too. The binomial interval and
 * p-value against the coin flip are kept in the record, labelled as naive (rows assumed independent); the printout
 * shows the interval only.
 *
 * **Walk-forward efficiency.** test edge / validation-tail edge, both over the same baseline (for regression: the IC
 * over 0), pooled over folds and per fold; undefined when the tail's edge is within 2 bootstrap standard errors of 0.
 * The **gate** passes when the verdict is `edge` and the pooled efficiency is defined and ≥ the threshold.
 *
 * @module
 */

import { balancedAccuracy, classificationReport, matthewsCorrelation } from "../metrics/classification.ts";
import { crossSectionalIC, informationCoefficient, rankInformationCoefficient } from "../metrics/correlation.ts";
import { meanSquaredError, predictionStd, r2Score } from "../metrics/regression.ts";
import { accuracySignificance, holmAdjusted } from "../metrics/significance.ts";
import { bootstrapCorrelation, type BootstrapEstimate, bootstrapMean } from "../metrics/bootstrap.ts";
import { correlationInterval, correlationPValue, correlationWithError } from "../metrics/driscoll_kraay.ts";
import type { DiagnosticRecord } from "../store/store.ts";
import type { FoldRows, StudyData, Task } from "./trainers/contract.ts";
import { pick } from "./trainers/inputs.ts";

/** Names of the naive baselines, in display order. */
export const BASELINES = ["coinFlip", "alwaysLong", "majorityClass", "previousSign"] as const;

/** A naive baseline's name. */
export type BaselineName = typeof BASELINES[number];

/** The baselines in words, for messages. */
export const BASELINE_WORDS: Readonly<Record<BaselineName, string>> = {
  coinFlip: "the coin flip",
  alwaysLong: "always long",
  majorityClass: "the training majority",
  previousSign: "the previous sign",
};

/** The default band of acceptable shares of "up" calls; outside it a fold (or the pooled run) is warned. */
export const UP_SHARE_BAND: readonly [number, number] = [0.2, 0.8];

/** Class labels of the DOWN/FLAT/UP target. */
export const CLASS_NAMES = ["Down", "Flat", "Up"] as const;

/**
 * The one-sided-calls check. Two-way calls (binary, regression by sign): the share of "up" calls must lie in the band.
 * Three classes: the most-called class's share must not exceed the band's upper end — a rarely called class is not a
 * collapse (a model may call "up" on 12 % of rows and "flat" on 60 %), one class taking nearly every call is.
 */
export interface CallShare {
  /** The class whose share is held to the band: "up", or the most-called of "down", "flat", "up". */
  call: "down" | "flat" | "up";
  /** Its share of the calls. */
  share: number;
  /** The band (three classes use only its upper end). */
  band: [number, number];
  /** Whether the share passes. */
  inBand: boolean;
  /** Three classes: the shares of down, flat and up calls. */
  classShares?: [number, number, number];
}

/** {@link CallShare} of the calls of `task` (`callsOf`'s codes). */
export function callShare(task: Task, calls: Int8Array, band: readonly [number, number]): CallShare {
  const k = task === "multiclass" ? 3 : 2;
  const counts = new Array<number>(k).fill(0);
  for (const c of calls) counts[c]++;
  const shares = counts.map((c) => (calls.length > 0 ? c / calls.length : NaN));
  if (task !== "multiclass") {
    const share = shares[1];
    return { call: "up", share, band: [band[0], band[1]], inBand: share >= band[0] && share <= band[1] };
  }
  let top = 2;
  for (const c of [0, 1]) if (shares[c] > shares[top]) top = c;
  const share = shares[top];
  return {
    call: (["down", "flat", "up"] as const)[top],
    share,
    band: [band[0], band[1]],
    inBand: share <= band[1],
    classShares: [shares[0], shares[1], shares[2]],
  };
}

/** The check in words: `share of "up" calls 55.0% within [20.0%, 80.0%]`, or its three-class form. */
export function callShareText(c: CallShare): string {
  const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
  if (c.classShares === undefined) {
    return `share of "up" calls ${pct(c.share)} ${c.inBand ? "within" : "outside"} [${pct(c.band[0])}, ${
      pct(c.band[1])
    }]`;
  }
  return `share of "${c.call}" calls, the most called class, ${pct(c.share)} ${c.inBand ? "≤" : "above"} ${
    pct(c.band[1])
  } (down/flat/up ${c.classShares.map(pct).join("/")})`;
}

/** The direction call (binary, regression: 1 up / 0 down) or class (multiclass) of each row's score(s). */
export function callsOf(task: Task, scores: Float64Array, classes: number): Int8Array {
  if (task === "multiclass") {
    const n = scores.length / classes;
    const out = new Int8Array(n);
    for (let i = 0; i < n; i++) {
      let best = 0;
      for (let c = 1; c < classes; c++) if (scores[i * classes + c] > scores[i * classes + best]) best = c;
      out[i] = best;
    }
    return out;
  }
  const cut = task === "binary" ? 0.5 : 0;
  // Plain loops rather than TypedArray.from(…, fn) here and below: on a whole-universe study's 1.8 M rows the mapping
  // form (an iterator and a call per element) cost seconds.
  const out = new Int8Array(scores.length);
  for (let i = 0; i < scores.length; i++) out[i] = scores[i] > cut ? 1 : 0;
  return out;
}

/** The truth of each row in the call's terms: class index (multiclass) or 1 when the target is > 0. */
export function truthOf(data: StudyData, rows: Int32Array): Int8Array {
  const out = new Int8Array(rows.length);
  if (data.task === "multiclass") { for (let i = 0; i < rows.length; i++) out[i] = data.y[rows[i]]; }
  else for (let i = 0; i < rows.length; i++) out[i] = data.target[rows[i]] > 0 ? 1 : 0;
  return out;
}

/** A continuous signal of each row (for ICs and the backtest): P(up) − 0.5, P(UP) − P(DOWN), or the forecast. */
export function signalOf(task: Task, scores: Float64Array, classes: number): Float64Array {
  if (task === "binary") return scores.map((p) => p - 0.5);
  if (task === "regression") return Float64Array.from(scores);
  const n = scores.length / classes;
  return Float64Array.from({ length: n }, (_, i) => scores[i * classes + classes - 1] - scores[i * classes]);
}

/** The "up" class in call terms: 1, or UP (2) for three classes. */
function upClass(task: Task): number {
  return task === "multiclass" ? 2 : 1;
}

/** The majority class of the fitting rows (ties go to "up"). */
export function majorityOf(data: StudyData, fit: Int32Array): number {
  const truth = truthOf(data, fit);
  const k = data.task === "multiclass" ? 3 : 2;
  const counts = new Array<number>(k).fill(0);
  for (const t of truth) counts[t]++;
  let best = upClass(data.task);
  for (let c = 0; c < k; c++) if (counts[c] > counts[best]) best = c;
  return best;
}

/** The previous-period call of each row (NaN where unknown): class of the previous quantity. */
function previousCalls(task: Task, previous: Float64Array, rows: Int32Array): Float64Array {
  const out = new Float64Array(rows.length);
  for (let i = 0; i < rows.length; i++) {
    const v = previous[rows[i]];
    out[i] = !Number.isFinite(v) ? NaN : task === "multiclass" ? v : v > 0 ? 1 : 0;
  }
  return out;
}

/**
 * Row-level hits (1 right, 0 wrong, NaN undefined) of the model and of each baseline on `rows`; the coin flip's "hit"
 * is its expectation (1/k).
 */
export function rowHits(
  data: StudyData,
  previous: Float64Array,
  rows: Int32Array,
  calls: Int8Array,
  majority: ArrayLike<number>,
): Record<"model" | BaselineName, Float64Array> {
  const truth = truthOf(data, rows);
  const prev = previousCalls(data.task, previous, rows);
  const k = data.task === "multiclass" ? 3 : 2;
  const up = upClass(data.task);
  const n = rows.length;
  const out = {
    model: new Float64Array(n),
    coinFlip: new Float64Array(n).fill(1 / k),
    alwaysLong: new Float64Array(n),
    majorityClass: new Float64Array(n),
    previousSign: new Float64Array(n),
  };
  for (let i = 0; i < n; i++) {
    out.model[i] = calls[i] === truth[i] ? 1 : 0;
    out.alwaysLong[i] = truth[i] === up ? 1 : 0;
    out.majorityClass[i] = truth[i] === majority[i] ? 1 : 0;
    out.previousSign[i] = Number.isNaN(prev[i]) ? NaN : prev[i] === truth[i] ? 1 : 0;
  }
  return out;
}

function meanFinite(a: Float64Array): number {
  let s = 0, n = 0;
  for (const v of a) {
    if (Number.isFinite(v)) {
      s += v;
      n++;
    }
  }
  return n > 0 ? s / n : NaN;
}

/** Target distribution of one part of a fold: share of rows with target > 0, mean and std of the target. */
export interface TargetStats {
  /** Rows. */
  n: number;
  /** Share of rows whose target is > 0. */
  shareUp: number;
  /** Mean of the continuous target (h-day log return or excess). */
  mean: number;
  /** Standard deviation of the continuous target (n − 1). */
  std: number;
  /** direction3: shares of DOWN, FLAT, UP. */
  classShares?: number[];
}

/** Target distribution of a fold's fitting rows, early-stopping tail and test rows. */
export interface TargetDistribution {
  /** Fitting rows. */
  fit: TargetStats;
  /** Early-stopping tail. */
  validation: TargetStats;
  /** Test rows. */
  test: TargetStats;
}

function targetStats(data: StudyData, rows: Int32Array): TargetStats {
  const t = pick(data.target, rows);
  let up = 0, s = 0;
  for (const v of t) {
    if (v > 0) up++;
    s += v;
  }
  const mean = t.length > 0 ? s / t.length : NaN;
  let ss = 0;
  for (const v of t) ss += (v - mean) ** 2;
  const out: TargetStats = {
    n: t.length,
    shareUp: t.length > 0 ? up / t.length : NaN,
    mean,
    std: t.length > 1 ? Math.sqrt(ss / (t.length - 1)) : NaN,
  };
  if (data.task === "multiclass") {
    const c = [0, 0, 0];
    for (const r of rows) c[data.y[r]]++;
    out.classShares = c.map((x) => (rows.length > 0 ? x / rows.length : NaN));
  }
  return out;
}

/** The target distribution of a fold's parts. */
export function targetDistribution(data: StudyData, rows: FoldRows): TargetDistribution {
  return {
    fit: targetStats(data, rows.fit),
    validation: targetStats(data, rows.validation),
    test: targetStats(data, rows.test),
  };
}

/** Task metrics of predictions `scores` on `rows` (see the module notes for the names). */
export function taskMetrics(data: StudyData, rows: Int32Array, scores: Float64Array): Record<string, number> {
  const { task, classes } = data;
  const calls = callsOf(task, scores, classes);
  const truth = truthOf(data, rows);
  const target = pick(data.target, rows);
  const signal = signalOf(task, scores, classes);
  const m: Record<string, number> = {};
  let hits = 0, ups = 0;
  const up = upClass(task);
  for (let i = 0; i < calls.length; i++) {
    if (calls[i] === truth[i]) hits++;
    if (calls[i] === up) ups++;
  }
  m.accuracy = rows.length > 0 ? hits / rows.length : NaN;
  m.ic = informationCoefficient(signal, target);
  m.rankIc = rankInformationCoefficient(signal, target);
  m.predictionStd = predictionStd(task === "multiclass" ? signal : scores);
  m.shareUp = rows.length > 0 ? ups / rows.length : NaN;
  if (task === "regression") {
    m.mse = meanSquaredError(target, scores);
    m.r2 = r2Score(target, scores);
    return m;
  }
  const labels = task === "multiclass" ? [0, 1, 2] : [0, 1];
  const report = classificationReport(truth, calls, labels);
  m.balancedAccuracy = balancedAccuracy(truth, calls);
  m.macroF1 = report.macroAvg.f1;
  m.mcc = matthewsCorrelation(truth, calls);
  const names = task === "multiclass" ? CLASS_NAMES : (["Down", "Up"] as const);
  report.classes.forEach((c, i) => {
    m[`precision${names[i]}`] = c.precision;
    m[`recall${names[i]}`] = c.recall;
    m[`f1${names[i]}`] = c.f1;
    m[`support${names[i]}`] = c.support;
  });
  if (task === "multiclass") {
    for (const [c, name] of CLASS_NAMES.entries()) {
      let k = 0;
      for (const x of calls) if (x === c) k++;
      m[`share${name}`] = calls.length > 0 ? k / calls.length : NaN;
    }
  }
  return m;
}

/**
 * Prediction-health findings of a fold: the spread of the predictions and the {@link callShare} check (the share of
 * "up" calls against a band; with three classes, the most-called class's share against its upper end).
 */
export function predictionHealth(
  fold: number,
  data: StudyData,
  scores: Float64Array,
  band: readonly [number, number] = UP_SHARE_BAND,
): { diagnostics: DiagnosticRecord[]; warnings: string[] } {
  const calls = callsOf(data.task, scores, data.classes);
  const check = callShare(data.task, calls, band);
  const spread = predictionStd(data.task === "multiclass" ? signalOf(data.task, scores, data.classes) : scores);
  const diagnostics: DiagnosticRecord[] = [];
  const warnings: string[] = [];
  const side = check.classShares === undefined ? "side" : "class";
  diagnostics.push({
    fold,
    kind: "up-share",
    severity: check.inBand ? "info" : "warning",
    message: check.inBand ? callShareText(check) : `${callShareText(check)}: the model mostly calls one ${side}, so ` +
      `its accuracy is close to that ${side}'s base rate`,
    data: {
      shareUp: check.classShares === undefined ? check.share : check.classShares[2],
      band: [...band],
      call: check.call,
      share: check.share,
      ...(check.classShares === undefined ? {} : { classShares: check.classShares }),
    },
  });
  if (!check.inBand) warnings.push(`fold ${fold + 1}: ${diagnostics.at(-1)!.message}`);
  const constant = !(spread > 1e-9);
  diagnostics.push({
    fold,
    kind: "prediction-spread",
    severity: constant ? "warning" : "info",
    message: constant
      ? `predictions are constant (std ${spread.toExponential(2)}): the model learned nothing that varies by row`
      : `prediction std ${spread.toPrecision(3)}`,
    data: { predictionStd: spread },
  });
  if (constant) warnings.push(`fold ${fold + 1}: ${diagnostics.at(-1)!.message}`);
  return { diagnostics, warnings };
}

/** One fold's scores on its rows, as the loop hands them to the pooled evaluation. */
export interface FoldScores {
  /** Fold index. */
  index: number;
  /** Rows predicted (test) and their scores. */
  rows: FoldRows;
  /** Test scores (width per row: `classes` for multiclass, else 1). */
  test: Float64Array;
  /** Early-stopping-tail scores. */
  validation: Float64Array;
}

/** An edge over a reference with its inference. */
export interface Edge {
  /** model − reference (accuracy points as a fraction, or the IC itself for regression). */
  difference: number;
  /** 95 % interval of the difference. */
  ci: [number, number];
  /** One-sided p-value of "no edge" (difference ≤ 0). */
  pValue: number;
  /** How the interval was computed. */
  method: string;
  /** What the difference is measured against. */
  against: string;
  /** Rows the difference is computed on. */
  rows: number;
}

/** The one-sided level of an entry's verdict: its 95 % interval lies above 0. */
export const VERDICT_LEVEL = 0.025;

/**
 * What {@link familyVerdicts} reads of an entry: its name and pooled verdict (a study entry or a stored run summary;
 * summaries stored by earlier versions may lack the p-value fields, and such an entry is then not counted).
 */
export interface VerdictOf {
  name: string;
  pooled: {
    verdict: "edge" | "no-edge";
    verdictOn: string;
    edge?: { pValue: number };
    icDriscollKraay?: { value: number; pValue: number };
  };
}

/** An entry's verdict read as one of a study's tests (see {@link familyVerdicts}). */
export interface FamilyVerdict {
  /** Entries tested on the same rows (those with a defined p-value). */
  tests: number;
  /** The entry's one-sided p-value after Holm's correction over `tests`. */
  adjustedP: number;
  /** Its own verdict was `edge` (Holm can only take an edge away; a `no-edge` entry has none to lose). */
  edge: boolean;
  /** Whether its edge holds at a family-wise {@link VERDICT_LEVEL}: an `edge` verdict and adjustedP ≤ the level. */
  holds: boolean;
}

/**
 * An entry's verdict as a one-sided p-value: the bootstrap p of its edge over the strongest baseline, or for an IC
 * verdict half the Driscoll–Kraay two-sided p on the side of the estimate.
 */
function verdictPValue(e: VerdictOf): number {
  if (e.pooled.verdictOn !== "ic") return e.pooled.edge?.pValue ?? NaN;
  const dk = e.pooled.icDriscollKraay;
  if (dk === undefined) return NaN;
  return dk.value > 0 ? dk.pValue / 2 : 1 - dk.pValue / 2;
}

/**
 * Several entries on the same rows are several tests: the more entries, the likelier one shows an edge by chance.
 * Holm's correction over the entries' one-sided p-values, per entry name (entries without a defined p-value are left
 * out). A bootstrap p-value is at least 1/1001, so beyond about 25 entries no edge can hold.
 */
export function familyVerdicts(entries: readonly VerdictOf[]): Map<string, FamilyVerdict> {
  const p = entries.map(verdictPValue);
  const tests = p.filter(Number.isFinite).length;
  const adjusted = holmAdjusted(p);
  const out = new Map<string, FamilyVerdict>();
  entries.forEach((e, i) => {
    if (!Number.isFinite(adjusted[i])) return;
    const edge = e.pooled.verdict === "edge";
    out.set(e.name, { tests, adjustedP: adjusted[i], edge, holds: edge && adjusted[i] <= VERDICT_LEVEL });
  });
  return out;
}

/**
 * {@link familyVerdicts} of a study, when it tested two or more entries; empty otherwise (one test is no family): what
 * the study's note and production training read.
 */
export function studyFamily(entries: readonly VerdictOf[]): Map<string, FamilyVerdict> {
  const family = familyVerdicts(entries);
  return (family.values().next().value?.tests ?? 0) >= 2 ? family : new Map();
}

/** An adjusted p-value as the study note and `candor train` print it: "= 0.003", or "< 0.001". */
export function adjustedPText(p: number): string {
  return p < 0.001 ? "< 0.001" : `= ${p.toFixed(3)}`;
}

/** The walk-forward-efficiency gate of an entry. */
export interface Gate {
  /** Whether a production retrain may go ahead. */
  passed: boolean;
  /** Pooled walk-forward efficiency, or null when undefined. */
  wfe: number | null;
  /** The threshold it was held to. */
  threshold: number;
  /** Why it passed or failed, in words with the numbers. */
  reason: string;
}

/** Walk-forward efficiency of one fold or of the pooled folds. */
export interface Efficiency {
  /** The tail's edge over the reference. */
  validationEdge: number;
  /** Its bootstrap standard error. */
  validationSe: number;
  /** The test edge over the same reference. */
  testEdge: number;
  /** testEdge / validationEdge, or null when the tail's edge is within 2 standard errors of 0 (or undefined). */
  efficiency: number | null;
  /** Why it is undefined. */
  reason?: string;
}

/** Everything pooled over an entry's folds. */
export interface PooledEvaluation {
  /** Task metrics over all out-of-sample rows, plus naive inference (accuracyLow/High/PValue: binomial, Wilson). */
  metrics: Record<string, number>;
  /** Pooled baseline accuracies on the same rows. */
  baselines: Record<BaselineName, number>;
  /** The strongest baseline's name. */
  strongestBaseline: BaselineName;
  /** Accuracy with its block-bootstrap interval. */
  accuracy: BootstrapEstimate;
  /** Model accuracy − strongest baseline accuracy. */
  edge: Edge;
  /** The IC of the signal with the target, with its block-bootstrap interval. */
  ic: BootstrapEstimate;
  /**
   * The same IC with its Driscoll–Kraay standard error (lib/metrics/driscoll_kraay.ts: date-clustered, Newey–West over
   * the overlap of h-day labels), the t-based 95 % interval and two-sided p-value: the regression verdict's statistic.
   */
  icDriscollKraay: { value: number; se: number; ci: [number, number]; pValue: number; dof: number };
  /** `edge` when the verdict statistic's 95 % interval lies above 0. */
  verdict: "edge" | "no-edge";
  /** Which statistic the verdict is on. */
  verdictOn: "accuracy-vs-strongest-baseline" | "ic";
  /** Pooled walk-forward efficiency. */
  efficiency: Efficiency;
  /** Per-fold walk-forward efficiency. */
  foldEfficiency: Efficiency[];
  /** The gate. */
  gate: Gate;
  /** The {@link callShare} check over all rows (the share of "up" calls, or of the most-called of three classes). */
  upShare: CallShare;
}

const NOISE_SE = 2;

function efficiencyOf(validation: BootstrapEstimate, testEdge: number): Efficiency {
  const out: Efficiency = {
    validationEdge: validation.estimate,
    validationSe: validation.se,
    testEdge,
    efficiency: null,
  };
  if (!Number.isFinite(validation.estimate) || !Number.isFinite(testEdge)) {
    out.reason = "no rows to measure an edge on";
  } else if (!(validation.estimate > NOISE_SE * validation.se)) {
    out.reason = `validation-tail edge ${validation.estimate.toFixed(4)} is within ${NOISE_SE} standard errors ` +
      `(${(NOISE_SE * validation.se).toFixed(4)}) of 0: no edge to retain, efficiency undefined`;
  } else out.efficiency = testEdge / validation.estimate;
  return out;
}

/**
 * Pools an entry's folds: task metrics, baselines, the verdict against the strongest baseline, walk-forward
 * efficiency and the gate (see the module notes).
 */
export function poolEntry(
  data: StudyData,
  previous: Float64Array,
  folds: readonly FoldScores[],
  majorityByFold: ReadonlyMap<number, number>,
  opts: { seed: number; wfeThreshold: number; upShareBand?: readonly [number, number] },
): PooledEvaluation {
  const predicted = folds.filter((f) => f.rows.test.length > 0);
  const concat = (get: (f: FoldScores) => Int32Array) => {
    const parts = predicted.map(get);
    const out = new Int32Array(parts.reduce((s, p) => s + p.length, 0));
    let at = 0;
    for (const p of parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  };
  const concatScores = (get: (f: FoldScores) => Float64Array) => {
    const parts = predicted.map(get);
    const out = new Float64Array(parts.reduce((s, p) => s + p.length, 0));
    let at = 0;
    for (const p of parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  };
  const rows = concat((f) => f.rows.test);
  const scores = concatScores((f) => f.test);
  const majority = new Float64Array(rows.length);
  for (let i = 0, at = 0; i < predicted.length; at += predicted[i].rows.test.length, i++) {
    majority.fill(majorityByFold.get(predicted[i].index)!, at, at + predicted[i].rows.test.length);
  }
  const calls = callsOf(data.task, scores, data.classes);
  const hits = rowHits(data, previous, rows, calls, majority);
  const metrics = taskMetrics(data, rows, scores);
  const n = rows.length;
  const naive = accuracySignificance(Math.round(metrics.accuracy * n), n, {
    chance: data.task === "multiclass" ? 1 / 3 : 0.5,
  });
  metrics.accuracyLow = naive.interval.low;
  metrics.accuracyHigh = naive.interval.high;
  metrics.accuracyPValue = naive.pValue;
  metrics.nTest = n;
  const dates = Array.from(rows, (r) => data.dates[r]);
  const signal = signalOf(data.task, scores, data.classes);
  const target = pick(data.target, rows);
  const cs = crossSectionalIC(dates, signal, target);
  metrics.meanIC = cs.meanIC;
  metrics.icir = cs.icir;

  const baselines = Object.fromEntries(BASELINES.map((b) => [b, meanFinite(hits[b])])) as Record<BaselineName, number>;
  const strongest = BASELINES.reduce(
    (best, b) => (baselines[b] > baselines[best] ? b : best),
    "coinFlip" as BaselineName,
  );
  const dateOf = new Int32Array(rows.length);
  for (let i = 0; i < rows.length; i++) dateOf[i] = data.dateIndex[rows[i]];
  const nDates = data.axis.length;
  const boot = { seed: opts.seed };
  const accuracy = bootstrapMean(hits.model, dateOf, nDates, data.horizon, boot);
  // The mean of the per-date rank ICs with the same block bootstrap over dates (one value per date): neighbouring
  // dates' ICs share overlapping labels and market moves, which the ICIR's plain t-statistic would ignore.
  const axisAt = new Map(data.axis.map((d, i) => [d, i]));
  const meanIc = bootstrapMean(
    Float64Array.from(cs.perDate, (p) => p.ic),
    Int32Array.from(cs.perDate, (p) => axisAt.get(p.date)!),
    nDates,
    data.horizon,
    boot,
  );
  metrics.meanICLow = meanIc.ci[0];
  metrics.meanICHigh = meanIc.ci[1];
  const diff = (a: Float64Array, b: Float64Array) => {
    const out = new Float64Array(a.length);
    for (let i = 0; i < a.length; i++) out[i] = Number.isFinite(b[i]) ? a[i] - b[i] : NaN;
    return out;
  };
  const paired = diff(hits.model, hits[strongest]);
  const edgeBoot = bootstrapMean(paired, dateOf, nDates, data.horizon, boot);
  const edge: Edge = {
    difference: edgeBoot.estimate,
    ci: edgeBoot.ci,
    pValue: edgeBoot.pValue,
    method: `paired ${edgeBoot.method}`,
    against: strongest,
    rows: paired.filter(Number.isFinite).length,
  };
  const ic = bootstrapCorrelation(signal, target, dateOf, nDates, data.horizon, boot);
  const dk = correlationWithError(signal, target, dateOf, nDates, data.horizon);
  const icDriscollKraay = {
    value: dk.r,
    se: dk.se,
    ci: correlationInterval(dk),
    pValue: correlationPValue(dk),
    dof: dk.dof,
  };
  const verdictOn = data.task === "regression" ? "ic" as const : "accuracy-vs-strongest-baseline" as const;
  // Regression targets are judged on the IC with its Driscoll–Kraay interval; classifiers on the paired edge.
  const lower = verdictOn === "ic" ? icDriscollKraay.ci[0] : edge.ci[0];
  const verdict = lower > 0 ? "edge" as const : "no-edge" as const;

  // Walk-forward efficiency over the same reference, fold by fold and pooled.
  const tailEdge = (f: FoldScores) => {
    const r = f.rows.validation;
    const c = callsOf(data.task, f.validation, data.classes);
    const m = new Float64Array(r.length).fill(majorityByFold.get(f.index)!);
    const h = rowHits(data, previous, r, c, m);
    return { rows: r, hits: h, signal: signalOf(data.task, f.validation, data.classes) };
  };
  const edgeOn = (r: Int32Array, h: ReturnType<typeof rowHits>, s: Float64Array) => {
    const d = new Int32Array(r.length);
    for (let i = 0; i < r.length; i++) d[i] = data.dateIndex[r[i]];
    return verdictOn === "ic"
      ? bootstrapCorrelation(s, pick(data.target, r), d, nDates, data.horizon, boot)
      : bootstrapMean(diff(h.model, h[strongest]), d, nDates, data.horizon, boot);
  };
  const tails = predicted.map(tailEdge);
  const foldEfficiency = predicted.map((f, i) => {
    const t = tails[i];
    const testHits = rowHits(
      data,
      previous,
      f.rows.test,
      callsOf(data.task, f.test, data.classes),
      new Float64Array(f.rows.test.length).fill(majorityByFold.get(f.index)!),
    );
    const testEdge = verdictOn === "ic"
      ? informationCoefficient(signalOf(data.task, f.test, data.classes), pick(data.target, f.rows.test))
      : meanFinite(diff(testHits.model, testHits[strongest]));
    return efficiencyOf(edgeOn(t.rows, t.hits, t.signal), testEdge);
  });
  const allTail = {
    rows: concat((f) => f.rows.validation),
    hits: {} as ReturnType<typeof rowHits>,
    signal: concatScores((f) => signalOf(data.task, f.validation, data.classes)),
  };
  for (const k of ["model", ...BASELINES] as const) {
    const parts = tails.map((t) => t.hits[k]);
    const out = new Float64Array(parts.reduce((s, p) => s + p.length, 0));
    let at = 0;
    for (const p of parts) {
      out.set(p, at);
      at += p.length;
    }
    allTail.hits[k] = out;
  }
  const efficiency = efficiencyOf(
    edgeOn(allTail.rows, allTail.hits, allTail.signal),
    verdictOn === "ic" ? ic.estimate : edge.difference,
  );
  const threshold = opts.wfeThreshold;
  const pctPts = (x: number) => `${(100 * x).toFixed(2)} points`;
  const edgeText = verdictOn === "ic"
    ? `IC ${dk.r.toFixed(4)} (95% CI ${icDriscollKraay.ci[0].toFixed(4)} to ${
      icDriscollKraay.ci[1].toFixed(4)
    }, Driscoll–Kraay)`
    : `accuracy edge over ${BASELINE_WORDS[strongest]} ${pctPts(edge.difference)} (95% CI ${pctPts(edge.ci[0])} to ${
      pctPts(edge.ci[1])
    })`;
  let gate: Gate;
  if (verdict !== "edge") {
    gate = { passed: false, wfe: efficiency.efficiency, threshold, reason: `no edge: ${edgeText}` };
  } else if (efficiency.efficiency === null) {
    gate = { passed: false, wfe: null, threshold, reason: `walk-forward efficiency undefined: ${efficiency.reason}` };
  } else if (efficiency.efficiency < threshold) {
    gate = {
      passed: false,
      wfe: efficiency.efficiency,
      threshold,
      reason: `walk-forward efficiency ${efficiency.efficiency.toFixed(2)} < ${threshold}: the validation-tail edge ` +
        `(${efficiency.validationEdge.toFixed(4)}) does not survive out of sample (${efficiency.testEdge.toFixed(4)})`,
    };
  } else {
    gate = {
      passed: true,
      wfe: efficiency.efficiency,
      threshold,
      reason: `${edgeText}; walk-forward efficiency ${efficiency.efficiency.toFixed(2)} ≥ ${threshold}`,
    };
  }
  const band = [...(opts.upShareBand ?? UP_SHARE_BAND)] as [number, number];
  return {
    metrics,
    baselines,
    strongestBaseline: strongest,
    accuracy,
    edge,
    ic,
    icDriscollKraay,
    verdict,
    verdictOn,
    efficiency,
    foldEfficiency,
    gate,
    upShare: callShare(data.task, calls, band),
  };
}

/** Per-fold baselines on the test rows a fold predicted (accuracies; previous sign on rows with a previous value). */
export function foldBaselines(
  data: StudyData,
  previous: Float64Array,
  rows: Int32Array,
  scores: Float64Array,
  majority: number,
): { baselines: Record<BaselineName, number>; previousSign: { rows: number; excluded: number } } {
  const calls = callsOf(data.task, scores, data.classes);
  const hits = rowHits(data, previous, rows, calls, new Float64Array(rows.length).fill(majority));
  const known = hits.previousSign.filter(Number.isFinite).length;
  return {
    baselines: Object.fromEntries(BASELINES.map((b) => [b, meanFinite(hits[b])])) as Record<BaselineName, number>,
    previousSign: { rows: known, excluded: rows.length - known },
  };
}
