/**
 * Learning-rate schedules. Every schedule maps a fractional epoch `t` (0 at the start of training, `e + b/B` after
 * batch b of B in epoch e) to a learning rate, and serializes its full state so a resumed run continues exactly.
 *
 * - {@link warmupCosine}: linear warmup then cosine decay. `T_max = max(1, epochs − warmupEpochs)`, so zero or one
 *   epoch, or a warmup as long as training, never divides by zero (the PyTorch `CosineAnnealingLR(T_max=0)` crash).
 * - {@link stepDecay}, {@link exponentialDecay}: PyTorch `StepLR` / `ExponentialLR` (per completed epoch).
 * - {@link ReduceLROnPlateau}: PyTorch semantics (mode, factor, patience, cooldown, min_lr, relative threshold).
 * - {@link lambdaSchedule}: `lr = baseLr · f(t)` for a user function; the function itself is not serializable, so
 *   {@link restoreSchedule} takes it again by name.
 *
 * @module
 */

import { ConfigError } from "../errors.ts";

/** JSON-serializable schedule state (config plus any mutable state). */
export type ScheduleState = { kind: string } & Record<string, unknown>;

/** A learning-rate schedule. */
export interface Schedule {
  /**
   * Schedule type (`constant`, `warmup-cosine`, `step`, `exponential`, `plateau`, `lambda`); the same tag as in its
   * state.
   */
  readonly kind: string;
  /** Learning rate for the optimizer step taken at fractional epoch `t` ≥ 0. */
  lrAt(t: number): number;
  /** Called once per completed epoch (0-based) with the monitored metric (validation loss when there is one). */
  onEpochEnd?(epoch: number, metric: number): void;
  /** Full state, enough for {@link restoreSchedule} to continue identically. */
  state(): ScheduleState;
  /** Restores mutable state from {@link Schedule.state} in place (stateful schedules only). */
  load?(s: ScheduleState): void;
}

function positive(name: string, v: number): void {
  if (!(v > 0) || !Number.isFinite(v)) throw new ConfigError(`${name} must be a positive finite number, got ${v}`);
}

/** Constant learning rate. */
export function constantSchedule(lr: number): Schedule {
  positive("lr", lr);
  return { kind: "constant", lrAt: () => lr, state: () => ({ kind: "constant", lr }) };
}

/** Options of {@link warmupCosine}. Epoch counts may be zero; `warmupEpochs ≥ epochs` is allowed. */
export interface WarmupCosineOptions {
  /** Peak learning rate (> 0), reached at the end of warmup. */
  baseLr: number;
  /** Total training epochs: the cosine decays over max(1, epochs − warmupEpochs) epochs, then holds `minLr`. */
  epochs: number;
  /** Epochs of linear warmup from `baseLr · warmupStartFactor` to `baseLr`, default 0 (none). */
  warmupEpochs?: number;
  /** Floor reached at the end of the cosine, default 0. */
  minLr?: number;
  /** Warmup starts at `baseLr · warmupStartFactor` (default 0.1) and rises linearly to `baseLr`. */
  warmupStartFactor?: number;
}

/**
 * Linear warmup then cosine annealing: for t < w, `lr = base·(s + (1 − s)·t/w)`; afterwards
 * `lr = min + (base − min)·(1 + cos(π·min(1, (t − w)/T_max)))/2` with `T_max = max(1, epochs − w)`.
 */
export function warmupCosine(o: WarmupCosineOptions): Schedule {
  positive("baseLr", o.baseLr);
  const w = Math.max(0, o.warmupEpochs ?? 0);
  const minLr = o.minLr ?? 0;
  const s = o.warmupStartFactor ?? 0.1;
  const tMax = Math.max(1, (o.epochs ?? 0) - w);
  return {
    kind: "warmup-cosine",
    lrAt(t: number): number {
      if (t < w) return o.baseLr * (s + (1 - s) * (t / w));
      const p = Math.min(1, (t - w) / tMax);
      return minLr + (o.baseLr - minLr) * (1 + Math.cos(Math.PI * p)) / 2;
    },
    state: () => ({ kind: "warmup-cosine", ...o }),
  };
}

/** PyTorch StepLR: `lr = base · gamma^floor(t / stepEpochs)`. */
export function stepDecay(o: { baseLr: number; stepEpochs: number; gamma?: number }): Schedule {
  positive("baseLr", o.baseLr);
  positive("stepEpochs", o.stepEpochs);
  const g = o.gamma ?? 0.1;
  return {
    kind: "step",
    lrAt: (t) => o.baseLr * g ** Math.floor(t / o.stepEpochs),
    state: () => ({ kind: "step", ...o }),
  };
}

/** PyTorch ExponentialLR: `lr = base · gamma^floor(t)`. */
export function exponentialDecay(o: { baseLr: number; gamma: number }): Schedule {
  positive("baseLr", o.baseLr);
  positive("gamma", o.gamma);
  return {
    kind: "exponential",
    lrAt: (t) => o.baseLr * o.gamma ** Math.floor(t),
    state: () => ({ kind: "exponential", ...o }),
  };
}

/** Options of {@link ReduceLROnPlateau} (PyTorch names and defaults). */
export interface PlateauOptions {
  /** Initial learning rate (> 0). */
  baseLr: number;
  /** `"min"` (default): a lower metric is better (losses); `"max"`: a higher one is. */
  mode?: "min" | "max";
  /** Multiplier applied to the learning rate on a plateau, in (0, 1); default 0.1. */
  factor?: number;
  /** Epochs without improvement tolerated; the rate drops on the (patience + 1)-th. Default 10. */
  patience?: number;
  /** Epochs after a reduction during which epochs without improvement are not counted, default 0. */
  cooldown?: number;
  /** Floor for the learning rate, default 0. */
  minLr?: number;
  /** Relative improvement threshold (PyTorch `threshold_mode="rel"`), default 1e-4. */
  threshold?: number;
}

/**
 * Multiplies the learning rate by `factor` when the metric has not improved (relative threshold) for more than
 * `patience` epochs, then waits `cooldown` epochs; never below `minLr`.
 */
export class ReduceLROnPlateau implements Schedule {
  /** Schedule tag, `"plateau"`. */
  readonly kind = "plateau";
  /** The options with PyTorch's defaults filled in. */
  readonly options: Required<PlateauOptions>;
  /** Current learning rate; constant within an epoch, changed only by `onEpochEnd`. */
  lr: number;
  /** Best metric seen so far (+Infinity in `min` mode, −Infinity in `max` mode, before the first epoch). */
  best: number;
  /** Epochs without relative improvement since the last improvement, reduction or cooldown epoch. */
  badEpochs = 0;
  /** Cooldown epochs remaining after the last reduction. */
  cooldownLeft = 0;

  /** Starts at `baseLr`; ConfigError when baseLr is not a positive finite number or factor is outside (0, 1). */
  constructor(o: PlateauOptions) {
    positive("baseLr", o.baseLr);
    this.options = {
      mode: "min",
      factor: 0.1,
      patience: 10,
      cooldown: 0,
      minLr: 0,
      threshold: 1e-4,
      ...o,
    };
    if (!(this.options.factor > 0 && this.options.factor < 1)) {
      throw new ConfigError(`ReduceLROnPlateau factor must be in (0, 1), got ${this.options.factor}`);
    }
    this.lr = o.baseLr;
    this.best = this.options.mode === "min" ? Infinity : -Infinity;
  }

  lrAt(): number {
    return this.lr;
  }

  onEpochEnd(_epoch: number, metric: number): void {
    const { mode, threshold, patience, cooldown, factor, minLr } = this.options;
    const better = mode === "min" ? metric < this.best * (1 - threshold) : metric > this.best * (1 + threshold);
    if (better) {
      this.best = metric;
      this.badEpochs = 0;
    } else this.badEpochs++;
    if (this.cooldownLeft > 0) {
      this.cooldownLeft--;
      this.badEpochs = 0;
    }
    if (this.badEpochs > patience) {
      this.lr = Math.max(minLr, this.lr * factor);
      this.cooldownLeft = cooldown;
      this.badEpochs = 0;
    }
  }

  /** Restores the mutable state saved by {@link ReduceLROnPlateau.state} (used when resuming from a checkpoint). */
  load(s: ScheduleState): void {
    // deno-lint-ignore no-explicit-any
    const o = s as any;
    this.lr = o.lr;
    this.best = o.best ?? (this.options.mode === "min" ? Infinity : -Infinity);
    this.badEpochs = o.badEpochs;
    this.cooldownLeft = o.cooldownLeft;
  }

  state(): ScheduleState {
    return {
      kind: "plateau",
      options: this.options,
      lr: this.lr,
      best: Number.isFinite(this.best) ? this.best : null,
      badEpochs: this.badEpochs,
      cooldownLeft: this.cooldownLeft,
    };
  }
}

/** `lr = baseLr · f(t)`; `name` identifies `f` in saved state. */
export function lambdaSchedule(baseLr: number, f: (t: number) => number, name = "lambda"): Schedule {
  positive("baseLr", baseLr);
  return { kind: "lambda", lrAt: (t) => baseLr * f(t), state: () => ({ kind: "lambda", baseLr, name }) };
}

/**
 * Rebuilds a schedule from {@link Schedule.state}. Lambda schedules need their function again: pass it in
 * `lambdas[name]`; a missing one is a ConfigError.
 */
export function restoreSchedule(s: ScheduleState, lambdas: Record<string, (t: number) => number> = {}): Schedule {
  // deno-lint-ignore no-explicit-any
  const o = s as any;
  switch (s.kind) {
    case "constant":
      return constantSchedule(o.lr);
    case "warmup-cosine":
      return warmupCosine(o);
    case "step":
      return stepDecay(o);
    case "exponential":
      return exponentialDecay(o);
    case "plateau": {
      const p = new ReduceLROnPlateau(o.options);
      p.load(s);
      return p;
    }
    case "lambda": {
      const f = lambdas[o.name];
      if (f === undefined) {
        throw new ConfigError(`lambda schedule "${o.name}" cannot be restored: pass its function in lambdas.${o.name}`);
      }
      return lambdaSchedule(o.baseLr, f, o.name);
    }
    default:
      throw new ConfigError(`unknown schedule kind "${s.kind}"`);
  }
}
