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
  epoch: number;
  trainLoss: number;
  valLoss?: number;
  components: Record<string, number>;
  lr: number;
  /** Mean and std of the predictions the monitors see (for multiclass, the decision margin). */
  predMean: number;
  predStd: number;
  /** Fraction of predictions > 0 (single-output models; undefined for multiclass, see `classShares`). */
  predPositive?: number;
  /** Multiclass models: share of rows predicted as each class. */
  classShares?: number[];
  gradNormMedian: number;
  gradNormMax: number;
  clipRatio: number;
  noValidTargets: number;
}

/** JSON summary of a run's health. */
export interface HealthSummary {
  epochs: number;
  rows: HealthRow[];
  events: TrainingEvent[];
  meanClipRatio: number;
  clipTrend: number;
  collapsedAt?: number;
  finalPredStd?: number;
  /** The one-line verdict (same as diagnose(summary)). */
  verdict: string;
}

/** Records a {@link HealthRow} per epoch. */
export class HealthLog implements TrainingMonitor {
  readonly name = "health-log";
  readonly rows: HealthRow[] = [];

  onEpochEnd(ctx: EpochContext): void {
    const r: TrainingEpoch = ctx.record;
    const p = predictionStats(ctx.predictions);
    this.rows.push({
      epoch: r.epoch,
      trainLoss: r.trainLoss,
      valLoss: r.valLoss,
      components: r.components,
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
  collapse?: CollapseOptions;
  signBias?: SignBiasOptions;
  gradients?: GradientHealthOptions;
  lossBalance?: LossBalanceOptions;
}

/** All monitors plus the health log, ready to pass as `monitors` to a model or to `train()`. */
export class TrainingHealth {
  readonly log = new HealthLog();
  readonly collapse: VarianceCollapseMonitor;
  readonly signBias: SignBiasMonitor;
  readonly gradients: GradientHealthMonitor;
  readonly lossBalance: LossBalanceMonitor;

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
