/**
 * The per-epoch health log, its JSON summary and `diagnose()`, which turns a summary into one line:
 * `"healthy"` or the failures found, e.g. `"collapsed at epoch 15: prediction std 0.0002 < 0.001"`.
 *
 * Typical use:
 * ```ts
 * const health = new TrainingHealth();
 * await model.fit(X, y, ...) // with options.monitors = health.monitors
 * const summary = health.summary();   // JSON, stored with the fold
 * console.log(diagnose(summary));
 * ```
 *
 * @module
 */

import type { EpochContext, TrainingEpoch, TrainingEvent, TrainingMonitor } from "../training/loop.ts";
import {
  type CollapseOptions,
  GradientHealthMonitor,
  type GradientHealthOptions,
  LossBalanceMonitor,
  type LossBalanceOptions,
  predictionStats,
  SignBiasMonitor,
  type SignBiasOptions,
  VarianceCollapseMonitor,
} from "./monitors.ts";

/** One row of the health log. */
export interface HealthRow {
  /** 1-based epoch number, as in {@link TrainingEpoch.epoch} (shifted by the loop's `epochOffset` when one is set). */
  epoch: number;
  /**
   * Mean training loss per sample over the epoch's steps (each batch's loss weighted by its size), measured while the
   * weights were still moving.
   */
  trainLoss: number;
  /** Mean validation loss per sample after the epoch's last step; undefined when training had no validation data. */
  valLoss?: number;
  /** Training loss components by name (e.g. `ce`, `mse`, `direction`), per-sample means like `trainLoss`, as logged. */
  components: Record<string, number>;
  /**
   * Each component's weight in the loss (`trainLoss = Σ componentWeights[k] · components[k]`; 1 where absent): a
   * component's share of the loss is `componentWeights[k] · components[k]` over that sum, as the loss-balance monitor
   * judges it.
   */
  componentWeights: Record<string, number>;
  /** Learning rate of the epoch's last step. */
  lr: number;
  /** Mean and std of the predictions the monitors see (for multiclass, the decision margin). */
  predMean: number;
  /** Sample std (n − 1) of those predictions, in units of the model output; near 0 means variance collapse. */
  predStd: number;
  /** Fraction of predictions > 0 (single-output models; undefined for multiclass, see `classShares`). */
  predPositive?: number;
  /** Multiclass models: share of rows predicted as each class. */
  classShares?: number[];
  /** Median over the epoch's steps of the global gradient L2 norm before clipping. */
  gradNormMedian: number;
  /** Largest global gradient L2 norm before clipping among the epoch's steps. */
  gradNormMax: number;
  /** Fraction (0–1) of the epoch's steps whose gradient was clipped; 0 when no `clipNorm` is set. */
  clipRatio: number;
  /**
   * Training batches of the epoch whose targets were all masked (their loss counted as 0); nonzero means gaps in the
   * target.
   */
  noValidTargets: number;
}

/** JSON summary of a run's health. */
export interface HealthSummary {
  /** Number of epochs logged (= `rows.length`); after a resume, only the epochs run since. */
  epochs: number;
  /** The per-epoch log, in epoch order. */
  rows: HealthRow[];
  /**
   * Every diagnostic event: the loop's own events passed to `summary()` (the non-finite sentinel) first, then the
   * monitors'.
   */
  events: TrainingEvent[];
  /**
   * Mean over epochs of the per-epoch clip ratio (fraction of steps clipped, 0–1); above the monitor's `maxClipRatio`
   * it is flagged.
   */
  meanClipRatio: number;
  /**
   * Least-squares slope of the per-epoch clip ratio against the epoch index (fraction per epoch; negative when clipping
   * fades); 0 with fewer than two epochs.
   */
  clipTrend: number;
  /**
   * Epoch at which variance collapse was confirmed (first epoch of the collapsed streak); undefined when predictions
   * never collapsed.
   */
  collapsedAt?: number;
  /** Prediction std at the last logged epoch (units of the model output); undefined when no epoch was logged. */
  finalPredStd?: number;
  /** The one-line verdict (same as diagnose(summary)). */
  verdict: string;
}

/** Records a {@link HealthRow} per epoch. */
export class HealthLog implements TrainingMonitor {
  /** Monitor name, `"health-log"`; it records rows and never raises events. */
  readonly name = "health-log";
  /** One row per epoch seen, in order. */
  readonly rows: HealthRow[] = [];

  /**
   * Appends the epoch's row: losses, learning rate and gradient statistics from the record, prediction statistics from
   * the evaluated predictions.
   */
  onEpochEnd(ctx: EpochContext): void {
    const r: TrainingEpoch = ctx.record;
    const p = predictionStats(ctx.predictions);
    this.rows.push({
      epoch: r.epoch,
      trainLoss: r.trainLoss,
      valLoss: r.valLoss,
      components: r.components,
      componentWeights: Object.fromEntries(Object.keys(r.components).map((k) => [k, r.componentWeights?.[k] ?? 1])),
      lr: r.lr,
      predMean: p.mean,
      predStd: p.std,
      predPositive: ctx.classShares === undefined ? p.positive : undefined,
      classShares: ctx.classShares,
      gradNormMedian: r.gradNorm.median,
      gradNormMax: r.gradNorm.max,
      clipRatio: r.clipRatio,
      noValidTargets: r.noValidTargets,
    });
  }

  events(): TrainingEvent[] {
    return [];
  }
}

/** Options of {@link TrainingHealth}. */
export interface TrainingHealthOptions {
  /** Thresholds of the variance-collapse monitor (minimum prediction std, patience, warmup). */
  collapse?: CollapseOptions;
  /** Thresholds of the sign/class-bias monitor (largest one-sided fraction, decision threshold, patience). */
  signBias?: SignBiasOptions;
  /** Thresholds of the gradient-health monitor (explosion factor, largest mean clip ratio, absolute norm ceiling). */
  gradients?: GradientHealthOptions;
  /** Threshold of the loss-balance monitor (largest share one loss component may take). */
  lossBalance?: LossBalanceOptions;
}

/** All monitors plus the health log, ready to pass as `monitors` to a model or to `train()`. */
export class TrainingHealth {
  /** The per-epoch health log; runs first so its rows exist before any monitor fires. */
  readonly log = new HealthLog();
  /** Flags predictions collapsing to (nearly) a constant. */
  readonly collapse: VarianceCollapseMonitor;
  /** Flags predictions that (almost) all have one sign or one class. */
  readonly signBias: SignBiasMonitor;
  /**
   * Flags exploding gradients and persistent clipping; also supplies `meanClipRatio` and `clipTrend` to the summary.
   */
  readonly gradients: GradientHealthMonitor;
  /** Flags one loss component dominating the total. */
  readonly lossBalance: LossBalanceMonitor;

  /** Builds every monitor from its options; an omitted option group takes that monitor's defaults. */
  constructor(o: TrainingHealthOptions = {}) {
    this.collapse = new VarianceCollapseMonitor(o.collapse);
    this.signBias = new SignBiasMonitor(o.signBias);
    this.gradients = new GradientHealthMonitor(o.gradients);
    this.lossBalance = new LossBalanceMonitor(o.lossBalance);
  }

  /** The monitors, in the order they run. */
  get monitors(): TrainingMonitor[] {
    return [this.log, this.collapse, this.signBias, this.gradients, this.lossBalance];
  }

  /**
   * The JSON summary. `extraEvents` are events recorded by the loop itself (the non-finite sentinel), e.g. a
   * model's `events` after fit; duplicates of the monitors' own events are dropped.
   */
  summary(extraEvents: TrainingEvent[] = []): HealthSummary {
    const own = this.monitors.flatMap((m) => m.events());
    const seen = new Set(own.map((e) => `${e.kind}|${e.epoch}|${e.message}`));
    const events = [...extraEvents.filter((e) => !seen.has(`${e.kind}|${e.epoch}|${e.message}`)), ...own];
    const s: Omit<HealthSummary, "verdict"> = {
      epochs: this.log.rows.length,
      rows: this.log.rows,
      events,
      meanClipRatio: this.gradients.meanClipRatio(),
      clipTrend: this.gradients.clipTrend(),
      collapsedAt: this.collapse.collapsedAt,
      finalPredStd: this.log.rows.at(-1)?.predStd,
    };
    return { ...s, verdict: diagnose(s) };
  }
}

const ORDER = ["non-finite", "variance-collapse", "sign-bias", "gradient-explosion", "clipping", "loss-imbalance"];

/**
 * One-line verdict: `"healthy"` when no monitor fired, else the events' messages, most serious first, joined by
 * "; " (repeated explosion events are folded into the first plus a count).
 */
export function diagnose(s: Pick<HealthSummary, "events">): string {
  if (s.events.length === 0) return "healthy";
  const byKind = new Map<string, TrainingEvent[]>();
  for (const e of s.events) byKind.set(e.kind, [...(byKind.get(e.kind) ?? []), e]);
  const kinds = [...byKind.keys()].sort((a, b) => {
    const ia = ORDER.indexOf(a), ib = ORDER.indexOf(b);
    return (ia < 0 ? 99 : ia) - (ib < 0 ? 99 : ib);
  });
  return kinds.map((k) => {
    const es = byKind.get(k)!;
    return es.length === 1 ? es[0].message : `${es[0].message} (+${es.length - 1} more epochs)`;
  }).join("; ");
}
