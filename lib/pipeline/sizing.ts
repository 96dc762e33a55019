/**
 * Position sizing and portfolio construction for a study's predictions (`backtest.sizing`, `backtest.portfolio`):
 * from the model's scores on a dates × symbols grid to target weights, decided at the close of each date from what is
 * known then. The rules themselves are the library's (lib/backtest/sizing.ts); this module says which inputs each
 * rule gets and how the symbols are combined.
 *
 * **The forecast each rule sizes** (one per row, known at the close of t):
 * - classifiers: the signal — P(up) − 0.5 (binary) or P(UP) − P(DOWN) (DOWN/FLAT/UP);
 * - regressors: the h-day log-return forecast f converted to a daily arithmetic expected return exp(f/h + σ²/2) − 1,
 *   with σ the trailing standard deviation of the symbol's daily log returns over the rule's window (20 days for
 *   rules without one) for a `return` target; for an `excess` target (not a price) σ = 0, i.e. exp(f/h) − 1.
 * - `kelly` sizes from P(next return > 0): P(up) (binary) or P(UP) + ½·P(FLAT) (DOWN/FLAT/UP; the FLAT band is
 *   symmetric around 0). A regression target gives no probability, so `kelly` is refused for it.
 *
 * **Rules** (per symbol, on that symbol's own series): `sign` (±1 by the forecast's sign, today's rule);
 * `forecast-over-sigma` (scale · forecast / σ_trailing, clipped to ±cap); `vol-target` (the sign scaled to an annual
 * volatility target, capped leverage); `kelly` (fraction · Kelly f* from P(up), long or short, capped); `hybrid` (the
 * long-biased fractional-Kelly hybrid: bullish → min(maxLong, baseLongBias + k), bearish → riskOffPosition when
 * bearishRiskOff else max(−maxShort, baseLongBias − k), k = kellyFraction · max(0, p − (1 − p)/payoff), with the win
 * rate p the prior clip(max(holdout direction accuracy, training share of positive targets), 0.50, 0.60) of the
 * fold (or of the production fit) that made the prediction, and an optional drawdown circuit breaker).
 *
 * **The breaker** tracks the equity of the symbol's own sized position (its sleeve, as if traded alone with the same
 * lag, costs and borrow); once that sleeve is `breaker.drawdown` below its peak, the symbol's positions are capped to
 * ±`breaker.maxPosition` until the sleeve regains its peak. With one symbol this is exactly the single-stock rule
 * the `seed-aapl` preset was tuned with.
 *
 * **Portfolio** (`backtest.portfolio`): `long-short` gives every symbol with a decision an equal sleeve 1/N_t of
 * capital and holds the sized position in it (with `sign` sizing: ±1/N_t, the equal-weight long/short book);
 * `long-only` does the same with short positions flat; `{ kind: topk, k, nDrop, short }` picks the names by the
 * model's signal with Qlib-style dropout (lib/backtest/portfolio.ts) and scales each picked name's weight by the size
 * of its position.
 *
 * The preset `seed-aapl` is the hybrid as tuned for a single stock, AAPL (maxLong 1.8, maxShort 0.1,
 * baseLongBias 1.3, bearish risk-off at a 0.10 position, half Kelly on the win-rate prior, breaker at a 25 % drawdown
 * capping positions at 0.60).
 *
 * @module
 */

import { z } from "zod";
import { ConfigError } from "../errors.ts";
import {
  applyDrawdownBreaker,
  convertedForecasts,
  longBiasedHalfKelly,
  sizePositions,
  type SizingSpec,
  validateHybridParams,
} from "../backtest/sizing.ts";
import type { BacktestCostOptions } from "../backtest/engine.ts";
import { nextPortfolioWeights, type PortfolioScheme } from "../backtest/portfolio.ts";
import { closedInterval, flag, integer, nonNegative, oneOf, openInterval, parseWith, positive } from "./schema.ts";
import type { Task } from "./trainers/contract.ts";

/** The sizing rule names, in documentation order. */
export const SIZING_KINDS = ["sign", "forecast-over-sigma", "vol-target", "kelly", "hybrid"] as const;

const kellyFractionSetting = () =>
  z.number({ error: "expected a number in (0, 1]" }).gt(0, { error: "expected a number in (0, 1]" }).max(1, {
    error: "expected a number in (0, 1]",
  });

/** Each rule's parameters (strict: an unknown key names the allowed ones). */
export const SIZING_RULES = {
  sign: z.strictObject({
    kind: z.literal("sign"),
  }),
  "forecast-over-sigma": z.strictObject({
    kind: z.literal("forecast-over-sigma"),
    window: integer(2).default(20).describe("trailing window of σ (daily returns up to the close of t)"),
    scale: positive().default(1).describe("multiplier on forecast / σ"),
    cap: positive().default(1).describe("position limit ±cap"),
  }),
  "vol-target": z.strictObject({
    kind: z.literal("vol-target"),
    targetVol: positive().default(0.1).describe("annualized volatility target of each symbol's position"),
    window: integer(2).default(20).describe("trailing window of the realized volatility"),
    maxLeverage: positive().default(2).describe("largest |position| after scaling"),
  }),
  kelly: z.strictObject({
    kind: z.literal("kelly"),
    fraction: kellyFractionSetting().default(0.5).describe("Kelly multiplier (0.5 = half Kelly)"),
    payoff: positive().default(1).describe("average win / average loss"),
    maxPosition: positive().default(1).describe("position limit ±maxPosition"),
  }),
  hybrid: z.strictObject({
    kind: z.literal("hybrid"),
    preset: z.literal("seed-aapl", { error: "expected the preset seed-aapl" }).optional().describe(
      "the preset these values came from (seed-aapl)",
    ),
    maxLong: nonNegative().default(1).describe("largest long position"),
    maxShort: nonNegative().default(0).describe("largest short magnitude (0 = never short)"),
    baseLongBias: nonNegative().default(0.5).describe("position on a neutral forecast; bullish/bearish move from it"),
    bearishRiskOff: flag().default(false).describe("on a bearish forecast hold riskOffPosition instead"),
    riskOffPosition: nonNegative().default(0).describe("position held on a bearish forecast when bearishRiskOff"),
    kellyFraction: kellyFractionSetting().default(0.5).describe("Kelly multiplier (0.5 = half Kelly)"),
    payoff: positive().default(1).describe("average win / average loss"),
    winRate: z.union([z.literal("prior"), closedInterval(0, 1)], {
      error: 'expected "prior" or a number in [0, 1]',
    }).default("prior").describe(
      "prior: clip(max(holdout direction accuracy, training share of positive targets), 0.50, 0.60) of the fold " +
        "(or production fit) that made the prediction; or a fixed win rate",
    ),
    breaker: z.strictObject({
      drawdown: openInterval(0, 1).describe("sleeve drawdown (a positive fraction) that trips the breaker"),
      maxPosition: positive().describe("|position| cap while tripped"),
    }).nullable().default(null).describe(
      "drawdown circuit breaker { drawdown, maxPosition }: the symbol's sleeve drawdown that trips it and the " +
        "|position| cap until the sleeve regains its peak (null: none)",
    ),
  }),
} as const;

/** The hybrid as tuned for AAPL (see the module notes). */
export const SEED_AAPL_SIZING = Object.freeze({
  kind: "hybrid" as const,
  preset: "seed-aapl" as const,
  maxLong: 1.8,
  maxShort: 0.1,
  baseLongBias: 1.3,
  bearishRiskOff: true,
  riskOffPosition: 0.1,
  kellyFraction: 0.5,
  payoff: 1,
  winRate: "prior" as const,
  breaker: Object.freeze({ drawdown: 0.25, maxPosition: 0.6 }),
});

/** Presets by name. */
export const SIZING_PRESETS: Readonly<Record<string, Readonly<Record<string, unknown>>>> = {
  "seed-aapl": SEED_AAPL_SIZING,
};

/** `sign`, `seed-aapl`, `{ kind, ... }` or `{ preset: seed-aapl, ...overrides }` → one rule object. */
function expandSizing(v: unknown): unknown {
  if (typeof v === "string") return v in SIZING_PRESETS ? { ...SIZING_PRESETS[v] } : { kind: v };
  if (v !== null && typeof v === "object" && !Array.isArray(v)) {
    const o = v as Record<string, unknown>;
    if (typeof o.preset === "string" && o.preset in SIZING_PRESETS) {
      const preset = SIZING_PRESETS[o.preset];
      const breaker = o.breaker === undefined ? preset.breaker : o.breaker;
      return { ...preset, ...o, kind: o.kind ?? preset.kind, breaker };
    }
  }
  return v;
}

/** `backtest.sizing`: a rule name, a preset name, or a rule object (see the module notes). */
export const sizingSchema = z.preprocess(
  expandSizing,
  z.discriminatedUnion("kind", [
    SIZING_RULES.sign,
    SIZING_RULES["forecast-over-sigma"],
    SIZING_RULES["vol-target"],
    SIZING_RULES.kelly,
    SIZING_RULES.hybrid,
  ], {
    error: `expected a sizing rule: ${SIZING_KINDS.join(", ")} or the preset seed-aapl (e.g. { kind: kelly, ` +
      `fraction: 0.25 })`,
  }),
);

/** A resolved sizing rule (every default filled). */
export type SizingConfig = { [K in keyof typeof SIZING_RULES]: z.output<(typeof SIZING_RULES)[K]> }[
  keyof typeof SIZING_RULES
];

/** The top-k portfolio object of `backtest.portfolio`. */
export const topkPortfolio = z.strictObject({
  kind: z.literal("topk"),
  k: integer().describe("names per book"),
  nDrop: integer(0).optional().describe("most names replaced per date (default k: a plain daily top-k)"),
  short: flag().default(false).describe("also short the k lowest"),
});

/** `backtest.portfolio`: long-short, long-only or a top-k book with dropout. */
export const portfolioSchema = z.union([oneOf(["long-short", "long-only"]), topkPortfolio], {
  error: "expected long-short, long-only or { kind: topk, k, nDrop, short }",
});

/** A resolved portfolio. */
export type PortfolioConfig = z.output<typeof portfolioSchema>;

/** Parses a sizing rule (a name, a preset or an object); problems are ConfigErrors under `prefix`. */
export function parseSizing(input: unknown, prefix: readonly PropertyKey[] = ["backtest", "sizing"]): SizingConfig {
  return parseWith(sizingSchema, input, prefix) as SizingConfig;
}

/**
 * Refuses a sizing rule that cannot work: `kelly` on a regression target (no probability), hybrid parameters out of
 * range (baseLongBias above maxLong, a breaker cap that would never release or never bind, ...), with the key path.
 */
export function checkSizing(sizing: SizingConfig, task: Task, where = "backtest.sizing"): void {
  if (sizing.kind === "kelly" && task === "regression") {
    throw new ConfigError(
      `${where}: kelly sizes from P(next return > 0) and a return target gives none; use forecast-over-sigma, ` +
        `vol-target or hybrid`,
    );
  }
  if (sizing.kind === "hybrid") {
    try {
      // The win rate the check assumes: the rule's own, or the prior's floor (the smallest bullish position).
      validateHybridParams(hybridParams(sizing, typeof sizing.winRate === "number" ? sizing.winRate : 0.5));
    } catch (e) {
      if (e instanceof ConfigError) {
        const msg = e.message.replace(/^drawdownThreshold/, "breaker.drawdown").replace(
          /^drawdownMaxPosition/,
          "breaker.maxPosition",
        );
        throw new ConfigError(`${where}.${msg}`);
      }
      throw e;
    }
  }
}

/** The library's hybrid parameters for a win rate. */
function hybridParams(s: Extract<SizingConfig, { kind: "hybrid" }>, winRate: number) {
  return {
    maxLong: s.maxLong,
    maxShort: s.maxShort,
    baseLongBias: s.baseLongBias,
    bearishRiskOff: s.bearishRiskOff,
    riskOffPosition: s.riskOffPosition,
    kellyFraction: s.kellyFraction,
    payoff: s.payoff,
    winRate,
    ...(s.breaker === null
      ? {}
      : { drawdownThreshold: s.breaker.drawdown, drawdownMaxPosition: s.breaker.maxPosition }),
  };
}

/** A readable label of a rule, e.g. `hybrid(seed-aapl)`, `kelly(fraction=0.25,payoff=1,maxPosition=1)`. */
export function sizingLabel(s: SizingConfig): string {
  if (s.kind === "hybrid" && s.preset !== undefined) {
    const preset = SIZING_PRESETS[s.preset] as Record<string, unknown>;
    const changed = Object.entries(s).filter(([k, v]) =>
      k !== "kind" && k !== "preset" && JSON.stringify(v) !== JSON.stringify(preset[k])
    );
    return `hybrid(${[s.preset, ...changed.map(([k, v]) => `${k}=${JSON.stringify(v)}`)].join(",")})`;
  }
  const { kind, ...rest } = s as Record<string, unknown>;
  const args = Object.entries(rest).map(([k, v]) => `${k}=${typeof v === "object" ? JSON.stringify(v) : v}`);
  return `${kind}(${args.join(",")})`;
}

/** A readable label of a portfolio. */
export function portfolioLabel(p: PortfolioConfig): string {
  if (typeof p === "string") return p;
  return `topk(k=${p.k},nDrop=${p.nDrop ?? p.k},${p.short ? "long-short" : "long-only"})`;
}

/** Per-row inputs of sizing, derived from a model's scores (see the module notes). */
export interface RowSizingInputs {
  /** The signal per row: P(up) − 0.5, P(UP) − P(DOWN), or the forecast. */
  signal: Float64Array;
  /** P(next return > 0) per row (classifiers), else undefined. */
  probability?: Float64Array;
}

/** The signal and the probability of "up" of each row of scores (`width` scores per row). */
export function rowSizingInputs(task: Task, scores: ArrayLike<number>, classes: number): RowSizingInputs {
  if (task === "binary") {
    // A loop rather than Float64Array.from(scores, fn), which costs an iterator step and a call per row.
    const signal = new Float64Array(scores.length);
    for (let i = 0; i < scores.length; i++) signal[i] = scores[i] - 0.5;
    return { signal, probability: Float64Array.from(scores) };
  }
  if (task === "regression") return { signal: Float64Array.from(scores) };
  const n = scores.length / classes;
  const signal = new Float64Array(n), probability = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const down = scores[i * classes], up = scores[i * classes + classes - 1];
    const flat = classes === 3 ? scores[i * classes + 1] : 0;
    signal[i] = up - down;
    probability[i] = up + flat / 2;
  }
  return { signal, probability };
}

/** Everything sizing a book needs, on one dates × symbols grid (row-major, `[t * m + j]`). */
export interface BookInput {
  /** Sorted dates (n). */
  dates: readonly string[];
  /** Symbols (m). */
  symbols: readonly string[];
  /** Arithmetic returns P[t]/P[prev] − 1 (NaN: no price). */
  returns: ArrayLike<number>;
  /** The model's signal at the close of each date (NaN: no prediction). */
  signal: ArrayLike<number>;
  /** P(next return > 0) (classifiers; NaN where absent). */
  probability?: ArrayLike<number>;
  /** The win-rate prior of the model that made each prediction (hybrid with `winRate: prior`). */
  winRate?: ArrayLike<number>;
  /** The task of the scores. */
  task: Task;
  /** Target kind (conversion of regression forecasts). */
  targetKind: string;
  /** Label horizon h (conversion of regression forecasts). */
  horizon: number;
  /** The sizing rule. */
  sizing: SizingConfig;
  /** How the symbols are combined. */
  portfolio: PortfolioConfig;
  /** Engine conventions (lag, costs, borrow, annualization): the breaker tracks its sleeve with them. */
  costs: BacktestCostOptions;
}

/** One symbol's column of a grid. */
function column(grid: ArrayLike<number>, j: number, n: number, m: number): Float64Array {
  const out = new Float64Array(n);
  for (let t = 0; t < n; t++) out[t] = grid[t * m + j];
  return out;
}

/** The library spec of a non-hybrid rule, with the regression conversion. */
function librarySpec(s: Exclude<SizingConfig, { kind: "hybrid" }>, input: BookInput): SizingSpec {
  const conversion: { horizon?: number; dailyLogVol?: number | "trailing" } = input.task === "regression"
    ? { horizon: input.horizon, dailyLogVol: input.targetKind === "return" ? "trailing" : 0 }
    : {};
  switch (s.kind) {
    case "sign":
      return { kind: "sign", ...conversion };
    case "forecast-over-sigma":
      return { kind: "forecastOverSigma", window: s.window, scale: s.scale, cap: s.cap, ...conversion };
    case "vol-target":
      return {
        kind: "volatilityTarget",
        targetVol: s.targetVol,
        window: s.window,
        maxLeverage: s.maxLeverage,
        ...conversion,
      };
    case "kelly":
      return { kind: "kelly", fraction: s.fraction, payoff: s.payoff, maxPosition: s.maxPosition };
  }
}

/** The forecast a hybrid reads the sign of: the signal, or the converted regression forecast. */
function hybridForecasts(f: Float64Array, r: Float64Array, input: BookInput): ArrayLike<number> {
  if (input.task !== "regression") return f;
  return convertedForecasts(librarySpec({ kind: "sign" }, input), { forecasts: f, returns: r });
}

/** One symbol's hybrid positions: levels by each row's win rate, then the breaker over the whole series. */
function hybridSeries(
  s: Extract<SizingConfig, { kind: "hybrid" }>,
  f: ArrayLike<number>,
  r: Float64Array,
  winRate: Float64Array | undefined,
  costs: BacktestCostOptions,
): Float64Array {
  const n = f.length;
  const base = new Float64Array(n).fill(NaN);
  const levels = new Map<number, Float64Array>();
  const { breaker: _b, ...noBreaker } = s;
  for (let t = 0; t < n; t++) {
    if (Number.isNaN(f[t])) continue;
    let p = typeof s.winRate === "number" ? s.winRate : winRate?.[t] ?? NaN;
    if (!Number.isFinite(p)) p = 0.5; // no prior recorded: the prior's floor
    let l = levels.get(p);
    if (l === undefined) {
      l = longBiasedHalfKelly([1, -1, 0], hybridParams({ ...noBreaker, breaker: null }, p));
      levels.set(p, l);
    }
    base[t] = f[t] > 0 ? l[0] : f[t] < 0 ? l[1] : l[2];
  }
  if (s.breaker === null) return base;
  return applyDrawdownBreaker(base, r, { ...costs, threshold: s.breaker.drawdown, maxPosition: s.breaker.maxPosition })
    .positions;
}

/** Each symbol's sized position per date (n × m; NaN: no decision), by the rule of `input.sizing`. */
export function sizedPositions(input: BookInput): Float64Array {
  const n = input.dates.length, m = input.symbols.length;
  checkShapes(input, n, m);
  const out = new Float64Array(n * m);
  const s = input.sizing;
  for (let j = 0; j < m; j++) {
    const f = column(input.signal, j, n, m);
    const r = column(input.returns, j, n, m);
    let pos: Float64Array;
    if (s.kind === "hybrid") {
      const w = input.winRate === undefined ? undefined : column(input.winRate, j, n, m);
      pos = hybridSeries(s, hybridForecasts(f, r, input), r, w, input.costs);
    } else {
      let probabilities: Float64Array | undefined;
      if (s.kind === "kelly") {
        if (input.probability === undefined) {
          throw new ConfigError("kelly sizing needs P(up) per prediction: a classification target");
        }
        probabilities = column(input.probability, j, n, m);
        // No prediction → no decision (the library reads a NaN probability as no decision too).
        for (let t = 0; t < n; t++) if (Number.isNaN(f[t])) probabilities[t] = NaN;
      }
      pos = sizePositions(librarySpec(s, input), { forecasts: f, returns: r, probabilities, costs: input.costs });
    }
    for (let t = 0; t < n; t++) out[t * m + j] = Number.isNaN(f[t]) ? NaN : pos[t];
  }
  return out;
}

function checkShapes(input: BookInput, n: number, m: number): void {
  for (const [name, g] of [["returns", input.returns], ["signal", input.signal]] as const) {
    if (g.length !== n * m) throw new ConfigError(`${name} has ${g.length} entries, expected ${n * m} (${n} × ${m})`);
  }
}

/**
 * Target weights (n × m) from sized positions: equal sleeves of the symbols with a decision (long-short, long-only)
 * or a top-k book picked by the signal with each name scaled by |position|. A date where no symbol has a decision
 * is all NaN ("no decision"), as the engine expects.
 */
export function bookWeights(
  positions: ArrayLike<number>,
  signal: ArrayLike<number>,
  n: number,
  m: number,
  portfolio: PortfolioConfig,
): Float64Array {
  const w = new Float64Array(n * m);
  let previous: Float64Array | undefined;
  const masked = new Float64Array(m);
  for (let t = 0; t < n; t++) {
    let count = 0;
    for (let j = 0; j < m; j++) if (Number.isFinite(positions[t * m + j])) count++;
    if (count === 0) {
      w.fill(NaN, t * m, (t + 1) * m);
      continue;
    }
    if (typeof portfolio === "string") {
      for (let j = 0; j < m; j++) {
        const p = positions[t * m + j];
        w[t * m + j] = Number.isFinite(p) ? (portfolio === "long-only" ? Math.max(0, p) : p) / count : 0;
      }
      continue;
    }
    for (let j = 0; j < m; j++) masked[j] = Number.isFinite(positions[t * m + j]) ? signal[t * m + j] : NaN;
    const scheme: PortfolioScheme = {
      kind: "topk",
      k: portfolio.k,
      ...(portfolio.nDrop === undefined ? {} : { nDrop: portfolio.nDrop }),
      short: portfolio.short,
    };
    const row = nextPortfolioWeights(masked, previous, scheme, m);
    if (!Number.isNaN(row[0])) previous = row;
    for (let j = 0; j < m; j++) {
      const p = positions[t * m + j];
      w[t * m + j] = Number.isNaN(row[j]) ? 0 : row[j] * (Number.isFinite(p) ? Math.abs(p) : 0);
    }
  }
  return w;
}

/** Sized positions and the book's weights for `input` (see {@link sizedPositions} and {@link bookWeights}). */
export function sizeBook(input: BookInput): { positions: Float64Array; weights: Float64Array } {
  const positions = sizedPositions(input);
  const weights = bookWeights(positions, input.signal, input.dates.length, input.symbols.length, input.portfolio);
  return { positions, weights };
}
