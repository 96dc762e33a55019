/**
 * Training-health monitors. Each implements the training loop's `TrainingMonitor` (lib/training/loop.ts): it sees,
 * after every epoch, the epoch record (losses, components, gradient norms, clip ratio) and the model's predictions on
 * the validation data — raw outputs (logit, regression value) for single-output models; for multiclass models the
 * margin between the two largest logits plus the share of rows predicted as each class — and records events with a
 * one-line message.
 *
 * What each guards against:
 * - {@link VarianceCollapseMonitor}: the model predicts (nearly) a constant — an LSTM regressor on daily returns that
 *   learned the mean; its loss looks fine, its predictions are useless.
 * - {@link SignBiasMonitor}: (almost) every prediction has the same sign (single output) or the same class
 *   (multiclass) — "always long" in disguise.
 * - {@link GradientHealthMonitor}: exploding gradients (a step's norm far above the running median), and a clip
 *   ratio near 100 % (clipping is then doing the optimizer's job; usually unscaled inputs).
 * - {@link LossBalanceMonitor}: one loss term dominating the total (a penalty drowning the data term), judged on the
 *   weighted terms `weight · component` the loss is the sum of, not on the components as logged (a lightly weighted
 *   but large ‖W‖₁ is not a dominant penalty).
 *
 * @module
 */

import type { EpochContext, TrainingEpoch, TrainingEvent, TrainingMonitor } from "../training/loop.ts";

function stats(p: Float32Array): { mean: number; std: number; positive: number } {
  let s = 0, s2 = 0, pos = 0;
  for (const v of p) {
    s += v;
    if (v > 0) pos++;
  }
  const mean = s / Math.max(1, p.length);
  for (const v of p) s2 += (v - mean) ** 2;
  return { mean, std: Math.sqrt(s2 / Math.max(1, p.length - 1)), positive: pos / Math.max(1, p.length) };
}

/** Options of {@link VarianceCollapseMonitor}. */
export interface CollapseOptions {
  /** Prediction std below which an epoch counts as collapsed (units of the model output), default 1e-3. */
  minStd?: number;
  /** Consecutive collapsed checks before the event fires, default 3. */
  patience?: number;
  /** Epochs ignored at the start (a zero-initialized head starts collapsed), default 2. */
  warmup?: number;
  /** Check every n-th epoch, default 1. */
  checkInterval?: number;
  /** Ask the training loop to stop once the collapse is confirmed (the best epoch's weights are then kept). */
  stop?: boolean;
}

/** Detects prediction-variance collapse; records per-epoch prediction std. */
export class VarianceCollapseMonitor implements TrainingMonitor {
  /** Monitor name, `"variance-collapse"`; also the `kind` of its event. */
  readonly name = "variance-collapse";
  /** The options with defaults filled in. */
  readonly options: Required<CollapseOptions>;
  /** Prediction std per epoch (index = epoch − 1). */
  readonly stds: number[] = [];
  #streak = 0;
  #streakStart = 0;
  #events: TrainingEvent[] = [];
  /** Epoch at which collapse was confirmed (first epoch of the streak), if any. */
  collapsedAt?: number;

  /** Unset options take the defaults: minStd 1e-3, patience 3, warmup 2, checkInterval 1, no stop. */
  constructor(o: CollapseOptions = {}) {
    this.options = { minStd: 1e-3, patience: 3, warmup: 2, checkInterval: 1, stop: false, ...o };
  }

  /** With `stop`: why training should stop now (the collapse was confirmed), else undefined. */
  stopRequested(): string | undefined {
    return this.options.stop && this.#events.length > 0 ? this.#events[0].message : undefined;
  }

  /**
   * Records the epoch's prediction std (decision-margin std for multiclass) and, past warmup, extends or resets the
   * collapsed streak; fires at most once, dated at the streak's first epoch.
   */
  onEpochEnd(ctx: EpochContext): void {
    // Multiclass: the spread of the decision margin (top logit − runner-up); 0 when every row gets the same logits.
    const what = ctx.classShares !== undefined ? "decision-margin std" : "prediction std";
    const { std } = stats(ctx.predictions);
    this.stds.push(std);
    const e = ctx.record.epoch;
    const { warmup, checkInterval, minStd, patience } = this.options;
    if (e <= warmup || (e - warmup) % checkInterval !== 0) return;
    if (std < minStd) {
      if (this.#streak === 0) this.#streakStart = e;
      this.#streak++;
      if (this.#streak === patience && this.collapsedAt === undefined) {
        this.collapsedAt = this.#streakStart;
        this.#events.push({
          epoch: this.#streakStart,
          kind: "variance-collapse",
          message: `collapsed at epoch ${this.#streakStart}: ${what} ${std.toPrecision(2)} < ${minStd}`,
        });
      }
    } else this.#streak = 0;
  }

  events(): TrainingEvent[] {
    return [...this.#events];
  }
}

/** Options of {@link SignBiasMonitor}. */
export interface SignBiasOptions {
  /** Fraction of predictions on one side above which an epoch is biased, default 0.9. */
  maxFraction?: number;
  /** Decision threshold on the raw output (0 for logits and returns), default 0. */
  threshold?: number;
  /** Consecutive biased epochs before the event fires, default 3. */
  patience?: number;
  /** Epochs ignored at the start, default 1. */
  warmup?: number;
  /** Ask the training loop to stop once the bias has persisted `patience` epochs. */
  stop?: boolean;
}

/**
 * Detects predictions that (almost) all fall on one side of the threshold (single-output models), or (almost) all in
 * one class (multiclass models: the largest class share above `maxFraction`, from {@link EpochContext.classShares}).
 */
export class SignBiasMonitor implements TrainingMonitor {
  /** Monitor name, `"sign-bias"`; also the `kind` of its event. */
  readonly name = "sign-bias";
  /** The options with defaults filled in. */
  readonly options: Required<SignBiasOptions>;
  /** Fraction of predictions above the threshold, per epoch (single-output models). */
  readonly positiveFractions: number[] = [];
  /** Share of the most frequently predicted class, per epoch (multiclass models). */
  readonly topClassShares: number[] = [];
  #streak = 0;
  #start = 0;
  #events: TrainingEvent[] = [];

  /** Unset options take the defaults: maxFraction 0.9, threshold 0, patience 3, warmup 1, no stop. */
  constructor(o: SignBiasOptions = {}) {
    this.options = { maxFraction: 0.9, threshold: 0, patience: 3, warmup: 1, stop: false, ...o };
  }

  /** With `stop`: why training should stop now (the bias persisted), else undefined. */
  stopRequested(): string | undefined {
    return this.options.stop && this.#events.length > 0 ? this.#events[0].message : undefined;
  }

  /**
   * Records the epoch's positive fraction (or top-class share) and, past warmup, extends or resets the biased streak;
   * fires at most once, after `patience` consecutive biased epochs, dated at the first.
   */
  onEpochEnd(ctx: EpochContext): void {
    let share: number, describe: () => string;
    const shares = ctx.classShares;
    if (shares !== undefined) {
      const top = shares.indexOf(Math.max(...shares));
      share = shares[top];
      this.topClassShares.push(share);
      describe = () =>
        `class bias from epoch ${this.#start}: ${(100 * share).toFixed(1)}% of predictions are class ${top}`;
    } else {
      let pos = 0;
      for (const v of ctx.predictions) if (v > this.options.threshold) pos++;
      const f = pos / Math.max(1, ctx.predictions.length);
      this.positiveFractions.push(f);
      share = Math.max(f, 1 - f);
      describe = () =>
        `sign bias from epoch ${this.#start}: ${(100 * share).toFixed(1)}% of predictions ${
          f >= 0.5 ? "positive" : "negative"
        }`;
    }
    const e = ctx.record.epoch;
    if (e <= this.options.warmup) return;
    if (!(share > this.options.maxFraction)) {
      this.#streak = 0;
      return;
    }
    if (this.#streak++ === 0) this.#start = e;
    if (this.#streak === this.options.patience && this.#events.length === 0) {
      this.#events.push({
        epoch: this.#start,
        kind: "sign-bias",
        message: `${describe()} (> ${(100 * this.options.maxFraction).toFixed(0)}%)`,
      });
    }
  }

  events(): TrainingEvent[] {
    return [...this.#events];
  }
}

/** Options of {@link GradientHealthMonitor}. */
export interface GradientHealthOptions {
  /** A step norm above `factor ×` the median of all earlier epochs' steps is an explosion, default 10. */
  explosionFactor?: number;
  /** Mean clip ratio above which clipping is flagged, default 0.5. */
  maxClipRatio?: number;
  /**
   * Absolute ceiling on an epoch's median pre-clip norm, default 1e3: gradients that are huge from the first step
   * (unscaled inputs) never stand out against their own running median, so they are caught here.
   */
  maxNorm?: number;
}

/** Per-epoch gradient statistics: explosions relative to the running median, clip ratio and its trend. */
export class GradientHealthMonitor implements TrainingMonitor {
  /** Monitor name, `"gradient-health"`; its events have kind `gradient-explosion` or `clipping`. */
  readonly name = "gradient-health";
  /** The options with defaults filled in. */
  readonly options: Required<GradientHealthOptions>;
  /** Fraction (0–1) of steps clipped, per epoch seen, in order. */
  readonly clipRatios: number[] = [];
  /** Median global gradient L2 norm before clipping, per epoch seen. */
  readonly medianNorms: number[] = [];
  /** Largest global gradient L2 norm before clipping, per epoch seen. */
  readonly maxNorms: number[] = [];
  /** Steps flagged as explosions, per epoch. */
  readonly explosions: number[] = [];
  #all: number[] = [];
  #events: TrainingEvent[] = [];

  /** Unset options take the defaults: explosionFactor 10, maxClipRatio 0.5, maxNorm 1e3. */
  constructor(o: GradientHealthOptions = {}) {
    this.options = { explosionFactor: 10, maxClipRatio: 0.5, maxNorm: 1e3, ...o };
  }

  /**
   * Counts the epoch's steps above `explosionFactor` × the median of all earlier steps (this epoch's own median until 5
   * steps have been seen), stores clip ratio and norms, and records a `gradient-explosion` event when the epoch's
   * median norm exceeds `maxNorm` or any step exploded.
   */
  onEpochEnd(ctx: EpochContext): void {
    let exploded = 0, worst = 0;
    // Reference: median of every earlier step (this epoch's own median during the first epoch).
    const ref = this.#all.length >= 5 ? median(this.#all) : median(ctx.stepGradNorms);
    for (const g of ctx.stepGradNorms) {
      if (ref > 0 && g > this.options.explosionFactor * ref) {
        exploded++;
        worst = Math.max(worst, g / ref);
      }
    }
    this.#all.push(...ctx.stepGradNorms);
    this.explosions.push(exploded);
    this.clipRatios.push(ctx.record.clipRatio);
    this.medianNorms.push(ctx.record.gradNorm.median);
    this.maxNorms.push(ctx.record.gradNorm.max);
    if (ctx.record.gradNorm.median > this.options.maxNorm) {
      this.#events.push({
        epoch: ctx.record.epoch,
        kind: "gradient-explosion",
        message: `exploding gradients at epoch ${ctx.record.epoch}: median step norm ${
          ctx.record.gradNorm.median.toPrecision(2)
        } > ${this.options.maxNorm}`,
      });
    } else if (exploded > 0) {
      this.#events.push({
        epoch: ctx.record.epoch,
        kind: "gradient-explosion",
        message:
          `exploding gradients at epoch ${ctx.record.epoch}: ${exploded} step(s) above ${this.options.explosionFactor}× ` +
          `the running median (worst ${worst.toFixed(0)}×)`,
      });
    }
  }

  /** Mean clip ratio over all epochs. */
  meanClipRatio(): number {
    return this.clipRatios.reduce((a, b) => a + b, 0) / Math.max(1, this.clipRatios.length);
  }

  /** Least-squares slope of the clip ratio per epoch (negative: clipping fades as training settles). */
  clipTrend(): number {
    const n = this.clipRatios.length;
    if (n < 2) return 0;
    const xm = (n - 1) / 2;
    const ym = this.meanClipRatio();
    let sxy = 0, sxx = 0;
    this.clipRatios.forEach((y, x) => {
      sxy += (x - xm) * (y - ym);
      sxx += (x - xm) ** 2;
    });
    return sxy / sxx;
  }

  events(): TrainingEvent[] {
    const out = [...this.#events];
    const r = this.meanClipRatio();
    if (this.clipRatios.length > 0 && r > this.options.maxClipRatio) {
      out.push({
        epoch: this.clipRatios.length,
        kind: "clipping",
        message: `gradient clipped on ${(100 * r).toFixed(0)}% of steps (trend ${this.clipTrend() >= 0 ? "+" : ""}${
          (100 * this.clipTrend()).toFixed(1)
        } pts/epoch): check input scaling`,
      });
    }
    return out;
  }
}

/** Options of {@link LossBalanceMonitor}. */
export interface LossBalanceOptions {
  /**
   * Share of the loss (Σ over the weighted terms |weight · component|) above which an auxiliary or penalty term
   * dominates, default 0.5. The data term (the first component: the loss the model is fitted for) is never flagged for
   * dominating — that is what a healthy loss looks like.
   */
  maxShare?: number;
}

/**
 * Each loss term's share of the loss for one epoch record: `|w_k · c_k| / Σ_j |w_j · c_j|`, with `c` the logged
 * components and `w` their weights in the loss (`record.componentWeights`, 1 where absent). All shares are 0 when every
 * term is 0. This is the share the loss really gives a term: NOTEARS logs ‖W‖₁ unweighted next to its weight λ, and
 * the component alone would overstate the penalty by 1/λ.
 */
export function weightedLossShares(
  record: Pick<TrainingEpoch, "components" | "componentWeights">,
): Record<string, number> {
  const w = record.componentWeights ?? {};
  const terms = Object.entries(record.components).map(([k, c]): [string, number] => [k, Math.abs((w[k] ?? 1) * c)]);
  const total = terms.reduce((a, [, t]) => a + t, 0);
  return Object.fromEntries(terms.map(([k, t]) => [k, total > 0 ? t / total : 0]));
}

/**
 * Tracks each loss term's share of the loss, per epoch — the weighted term `weight · component` over the sum of all
 * weighted terms ({@link weightedLossShares}) — and flags an auxiliary head or a penalty (any component after the
 * first, the data term) that takes more than `maxShare` of the loss at the last epoch: the model is then mostly trained
 * for something other than its target.
 */
export class LossBalanceMonitor implements TrainingMonitor {
  /** Monitor name, `"loss-balance"`; its event has kind `loss-imbalance`. */
  readonly name = "loss-balance";
  /** Share of the loss (0–1) above which an auxiliary or penalty term dominates; judged at the last epoch. */
  readonly maxShare: number;
  /** Per epoch: component → share of the loss, weighted as the loss weighs it (0–1, summing to 1). */
  readonly shares: Array<Record<string, number>> = [];

  /** `maxShare` defaults to 0.5. */
  constructor(o: LossBalanceOptions = {}) {
    this.maxShare = o.maxShare ?? 0.5;
  }

  /** Records each training-loss term's weighted share of the loss for the epoch (all 0 when the loss is 0). */
  onEpochEnd(ctx: EpochContext): void {
    this.shares.push(weightedLossShares(ctx.record));
  }

  events(): TrainingEvent[] {
    const last = this.shares.at(-1);
    if (last === undefined || Object.keys(last).length < 2) return [];
    // The first component is the data term; only the others (auxiliary heads, penalties) can dominate wrongly.
    const [dataTerm, ...others] = Object.entries(last);
    const [name, share] = others.sort((a, b) => b[1] - a[1])[0];
    if (share <= this.maxShare) return [];
    return [{
      epoch: this.shares.length,
      kind: "loss-imbalance",
      message: `loss dominated by "${name}" (${(100 * share).toFixed(0)}% of the weighted total at the last epoch; ` +
        `the data term "${dataTerm[0]}" ${(100 * dataTerm[1]).toFixed(0)}%)`,
    }];
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Prediction mean, std and fraction positive: the numbers the health log keeps per epoch. */
export function predictionStats(p: Float32Array): { mean: number; std: number; positive: number } {
  return stats(p);
}
