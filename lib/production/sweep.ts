/**
 * Robustness sweeps over a stored run's out-of-sample predictions (`candor sweep --run ID --grid grid.yaml`): the same
 * predictions re-sized and re-backtested over a grid of costs, slippage, lags, sizing rules, date windows and
 * symbols, one backtest per cell, without retraining.
 *
 * ```yaml
 * costBps: [0, 5, 10]                  # commission levels (default: the run's)
 * slippageBps: [0, 2]                  # slippage levels (default: the run's)
 * lags: [1, 2]                         # lags ≥ 1 (default: the run's)
 * sizing: [sign, seed-aapl, { kind: kelly, fraction: 0.25 }]   # rules, as backtest.sizing (default: the run's)
 * windows: yearly                      # all (default) | yearly | { rolling: 252, step: 126 } | [{ start, end }, ...]
 * symbols: [portfolio, AAPL]           # portfolio (default: the run's whole book) | each | a list (symbols and/or portfolio)
 * borrowBps: 0                         # fixed for every cell (default: the run's)
 * pboGroups: 16                        # S of the CSCV (even; fewer when a window is short)
 * ```
 *
 * - **A cell** is one backtest of the window's data alone: a symbol's cell trades that symbol alone (its sleeve is the
 *   whole book) beside that symbol's buy & hold; the `portfolio` cell is the run's book over every symbol beside
 *   equal-weight buy & hold. Sizing warm-ups (trailing volatility) happen inside the window, as in a live start.
 * - **Every cell is a trial.** Each row's deflated Sharpe ratio uses N = every trial counted on the same data and
 *   target before this sweep (study entries, re-sized backtests, earlier sweeps' cells) plus this sweep's cells, and
 *   the variance of all their Sharpe ratios (lib/production/trials.ts): the count grows with every sweep, and the
 *   same cell's deflated Sharpe ratio falls as it does.
 * - **PBO by CSCV** (lib/metrics/pbo.ts) over the sweep matrix: per window, the cells' daily net returns on the
 *   window's dates (0 where a cell holds nothing) as T × N, S groups. The probability that the in-sample best cell
 *   is below the median out of sample.
 * - Stored: one row per cell in `trials`, the sweep in `sweeps`; written as CSV and JSON in a microsecond-stamped
 *   folder (lib/backtest/sweep.ts) with `sweep.json` (grid, options, conventions) and `pbo.json`.
 *
 * A grid with an unknown key, or a value out of range, is refused before anything runs or is written.
 *
 * @module
 */

import { join } from "node:path";
import { z } from "zod";
import type * as Yaml from "yaml";
import { lazyNamespace, lazyPackage } from "../lazy_package.ts";
import { pl } from "../data/polars.ts";
import { ConfigError } from "../errors.ts";
import { ensureOutputDir } from "../data/files.ts";
import { type Panel, panelFromFrame } from "../data/panel.ts";
import { rollingWindows, type SweepRow, writeSweep, yearlyWindows } from "../backtest/sweep.ts";
import type { BacktestMetrics } from "../backtest/metrics.ts";
import { probabilityOfBacktestOverfitting } from "../metrics/pbo.ts";
import { MAX_COST_BPS } from "../pipeline/config.ts";
import { backtestPredictions, type PredictionRows } from "../pipeline/backtest.ts";
import { closedInterval, integer, parseWith, text } from "../pipeline/schema.ts";
import { checkSizing, type SizingConfig, sizingLabel, sizingSchema } from "../pipeline/sizing.ts";
import type { DateWindow } from "../validation/fold.ts";
import type { NewTrial } from "../store/production.ts";
import type { Store } from "../store/store.ts";
import { loadStoredRun, type StoredRun } from "./rebacktest.ts";
import { deflatedSharpeOf, type Deflation, deflationWith, deflationWords } from "./trials.ts";

/** yaml, loaded on first use (lib/lazy_package.ts). */
const YAML: typeof Yaml = lazyNamespace(lazyPackage<typeof Yaml>("yaml"));

const windowSchema = z.strictObject({
  start: text().describe("first date (ISO)"),
  end: text().describe("last date (ISO)"),
});

/** The sweep grid (see the module notes); every key optional, unknown keys refused. */
export const SweepGridSchema = z.strictObject({
  costBps: z.array(closedInterval(0, MAX_COST_BPS)).min(1).optional().describe("commission levels, bps"),
  slippageBps: z.array(closedInterval(0, MAX_COST_BPS)).min(1).optional().describe("slippage levels, bps"),
  lags: z.array(integer()).min(1).optional().describe("lags ≥ 1"),
  sizing: z.array(sizingSchema).min(1).optional().describe("sizing rules, as backtest.sizing"),
  windows: z.union([
    z.literal("all"),
    z.literal("yearly"),
    z.strictObject({ rolling: integer(2), step: integer().optional() }),
    z.array(windowSchema).min(1),
  ], { error: "expected all, yearly, { rolling: days, step: days } or a list of { start, end }" }).default("all")
    .describe("date windows"),
  symbols: z.union([z.literal("portfolio"), z.literal("each"), z.array(text()).min(1)], {
    error: "expected portfolio, each, or a list of symbols (portfolio included as a name)",
  }).default("portfolio").describe("cells per symbol and/or the whole book"),
  borrowBps: closedInterval(0, MAX_COST_BPS).optional().describe("annual borrow on shorts, bps (fixed)"),
  pboGroups: integer(2).default(16).describe("S of the CSCV (even)"),
});

/** A parsed grid. */
export type SweepGridConfig = z.output<typeof SweepGridSchema>;

/** Reads a grid file (YAML or JSON); problems name the file and the key path (`grid.costBps[1]: ...`). */
export async function readSweepGrid(path: string): Promise<SweepGridConfig> {
  let raw: unknown;
  try {
    raw = YAML.parse(await Deno.readTextFile(path));
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) throw new ConfigError(`${path}: grid file not found`);
    throw new ConfigError(`${path}: ${(e as Error).message.split("\n")[0]}`);
  }
  try {
    return parseSweepGrid(raw ?? {});
  } catch (e) {
    if (e instanceof ConfigError) throw new ConfigError(`${path}: ${e.message}`);
    throw e;
  }
}

/** Parses a grid object (see {@link SweepGridSchema}). */
export function parseSweepGrid(raw: unknown): SweepGridConfig {
  const grid = parseWith(SweepGridSchema, raw, ["grid"]) as SweepGridConfig;
  if (grid.pboGroups % 2 !== 0) {
    throw new ConfigError(`grid.pboGroups: expected an even number, found ${grid.pboGroups}`);
  }
  return grid;
}

/** What a sweep produced. */
export interface SweepResult {
  /** Stored sweep id (absent without storing). */
  id?: string;
  /** One row per cell, with deflatedSharpe and trials in its metrics. */
  rows: SweepRow[];
  /** The deflation every row used. */
  deflation: Deflation;
  /** PBO per window. */
  pbo: PboSummary[];
  /** The output folder (absent when nothing was written). */
  dir?: string;
  /** The stored run swept. */
  stored: StoredRun;
}

/** PBO of one window's cells. */
export interface PboSummary {
  /** The window. */
  window: DateWindow;
  /** Cells compared. */
  cells: number;
  /** PBO, or null when it cannot be computed. */
  pbo: number | null;
  /** Probability that the in-sample best is a loser out of sample. */
  probabilityOfLoss: number | null;
  /** Groups S used. */
  groups: number;
  /** Why it is null. */
  reason?: string;
}

function windowsOf(grid: SweepGridConfig, dates: readonly string[]): DateWindow[] {
  if (grid.windows === "all") return [{ start: dates[0], end: dates[dates.length - 1] }];
  if (grid.windows === "yearly") return yearlyWindows(dates);
  if (Array.isArray(grid.windows)) return grid.windows;
  return rollingWindows(dates, grid.windows.rolling, grid.windows.step);
}

function subPanel(panel: Panel, symbol: string | undefined, w: DateWindow): Panel {
  let expr = pl.col("date").greaterThanEquals(pl.lit(w.start)).and(pl.col("date").lessThanEquals(pl.lit(w.end)));
  if (symbol !== undefined) expr = expr.and(pl.col("symbol").eq(pl.lit(symbol)));
  const frame = panel.frame.filter(expr);
  return panelFromFrame(frame, { extraColumns: panel.extraColumns });
}

function subRows(rows: PredictionRows, width: number, symbol: string | undefined, w: DateWindow): PredictionRows {
  const dates: string[] = [], symbols: string[] = [], scores: number[] = [], winRate: number[] = [];
  for (let i = 0; i < rows.dates.length; i++) {
    const d = rows.dates[i];
    if (d < w.start || d > w.end || (symbol !== undefined && rows.symbols[i] !== symbol)) continue;
    dates.push(d);
    symbols.push(rows.symbols[i]);
    for (let k = 0; k < width; k++) scores.push(rows.scores[i * width + k]);
    winRate.push(rows.winRate[i]);
  }
  return { dates, symbols, scores, winRate };
}

/**
 * A sweep laid out before anything runs: the stored run, the grid, its cells in a fixed order (symbol, window, lag,
 * sizing, slippage, cost; cell i is the i-th trial stored), the windows. Deterministic for a stored run and grid, so a
 * scale-out worker that plans the same sweep numbers the cells exactly as the coordinator did.
 */
export interface SweepPlan {
  /** The stored run swept. */
  stored: StoredRun;
  /** The grid. */
  grid: SweepGridConfig;
  /** The cells, in trial order. */
  cells: readonly SweepCell[];
  /** The date windows the cells refer to. */
  windows: readonly DateWindow[];
  /** Borrow cost every cell uses, bps per year. */
  borrowBps: number;
}

/** One cell's coordinates. */
export interface SweepCell {
  /** A symbol of the run, or `portfolio` for its whole book. */
  symbol: string;
  /** Index into the plan's windows. */
  window: number;
  /** Lag ≥ 1. */
  lag: number;
  /** The sizing rule. */
  sizing: SizingConfig;
  /** Slippage, bps. */
  slippageBps: number;
  /** Commission, bps. */
  costBps: number;
}

/** One cell's backtest: its row (metrics without the deflation, which needs every cell) and its daily net returns. */
export interface SweepCellResult {
  /** The row (`deflatedSharpe` and `trials` are set when the sweep is assembled). */
  row: SweepRow;
  /** The backtest's dates (ISO). */
  dates: readonly string[];
  /** Daily net returns on those dates (the PBO's sweep matrix). */
  net: Float64Array;
}

/** Lays out a sweep (see {@link SweepPlan}); refuses a sizing the run's task cannot use, or a symbol not in the run. */
export function planSweep(stored: StoredRun, grid: SweepGridConfig): SweepPlan {
  const base = stored.config.backtest;
  const task = stored.context.task;
  const sizings = grid.sizing ?? [base.sizing];
  sizings.forEach((s, i) => checkSizing(s, task, `grid.sizing[${i}]`));
  const panel = stored.market.panel;
  const symbols = grid.symbols === "portfolio"
    ? ["portfolio"]
    : grid.symbols === "each"
    ? [...panel.symbols]
    : grid.symbols;
  for (const [i, s] of symbols.entries()) {
    if (s !== "portfolio" && !panel.symbols.includes(s)) {
      throw new ConfigError(`grid.symbols[${i}]: ${s} is not a symbol of the run (${panel.symbols.join(", ")})`);
    }
  }
  // Windows span the dates the run has out-of-sample predictions for, not the whole price history: the first years of
  // the files are training-only, and a yearly window there would hold no prediction.
  const windows = windowsOf(grid, [...new Set(stored.rows.dates)].sort());
  const cells: SweepCell[] = [];
  for (const symbol of symbols) {
    for (const [wi] of windows.entries()) {
      for (const lag of grid.lags ?? [base.lag]) {
        for (const sizing of sizings) {
          for (const slippageBps of grid.slippageBps ?? [base.slippageBps]) {
            for (const costBps of grid.costBps ?? [base.costBps]) {
              cells.push({ symbol, window: wi, lag, sizing, slippageBps, costBps });
            }
          }
        }
      }
    }
  }
  return { stored, grid, cells, windows, borrowBps: grid.borrowBps ?? base.borrowBps };
}

/** A symbol's window of prices and predictions, cut once and shared by the cells on it (keyed `symbol|window`). */
export type SweepCellCache = Map<string, { panel: Panel; rows: PredictionRows }>;

/**
 * Backtests the plan's cells `from` (inclusive) to `to` (exclusive), in order. A symbol's window is cut once per
 * `cache` (one per call unless given) and shared by its cells. A cell whose window holds no prediction is refused
 * (ConfigError).
 */
export function runSweepCells(
  plan: SweepPlan,
  from = 0,
  to = plan.cells.length,
  cache: SweepCellCache = new Map(),
): SweepCellResult[] {
  const { stored, windows, borrowBps } = plan;
  const base = stored.config.backtest;
  const width = stored.context.task === "multiclass" ? stored.context.classes : 1;
  const out: SweepCellResult[] = [];
  for (const c of plan.cells.slice(from, to)) {
    const w = windows[c.window];
    const key = `${c.symbol}|${c.window}`;
    let part = cache.get(key);
    if (part === undefined) {
      const sym = c.symbol === "portfolio" ? undefined : c.symbol;
      part = { panel: subPanel(stored.market.panel, sym, w), rows: subRows(stored.rows, width, sym, w) };
      cache.set(key, part);
    }
    if (part.rows.dates.length === 0 || part.panel.frame.height === 0) {
      throw new ConfigError(`no prediction of ${c.symbol} in the window ${w.start}..${w.end}; choose other windows`);
    }
    const backtest = {
      ...base,
      lag: c.lag,
      costBps: c.costBps,
      slippageBps: c.slippageBps,
      borrowBps,
      sizing: c.sizing,
    };
    const { result } = backtestPredictions(part.panel, part.rows, { ...stored.context, backtest });
    out.push({
      row: {
        symbol: c.symbol,
        windowStart: part.panel.dates[0],
        windowEnd: part.panel.dates[part.panel.dates.length - 1],
        costBps: c.costBps,
        slippageBps: c.slippageBps,
        lag: c.lag,
        borrowBps,
        annualization: base.annualization,
        sizing: sizingLabel(c.sizing),
        metrics: result.metrics,
        buyAndHold: result.buyAndHold.metrics,
      },
      dates: result.dates,
      net: result.netReturns,
    });
  }
  return out;
}

/** Where sweeps write their folders unless told otherwise. */
export const DEFAULT_SWEEP_DIR = "data/sweeps";

/** Options of {@link assembleSweep} and {@link sweepRun}. */
export interface SweepOutputOptions {
  /** Where the sweep-<timestamp> folder goes (default data/sweeps). */
  outDir?: string;
  /** False: neither store nor write (default true). */
  save?: boolean;
  /** The grid as the user wrote it, stored with the sweep (default: the parsed grid). */
  gridSource?: Record<string, unknown>;
}

/**
 * Assembles a sweep from every cell's result (in cell order): the deflated Sharpe ratio of each row with N counted by
 * the store's trial registry (this sweep's cells included), PBO per window, and — unless `save` is false — the CSV and
 * JSON outputs and the stored sweep with one trial per cell, written in one transaction. The local sweep and the
 * scale-out coordinator both end here, so the same cell results give the same sweep.
 */
export async function assembleSweep(
  store: Store,
  plan: SweepPlan,
  results: readonly SweepCellResult[],
  opts: SweepOutputOptions = {},
): Promise<SweepResult> {
  const { stored, windows, borrowBps, grid } = plan;
  if (results.length !== plan.cells.length) {
    throw new ConfigError(`a sweep of ${plan.cells.length} cells cannot be assembled from ${results.length} results`);
  }
  const base = stored.config.backtest;
  const panel = stored.market.panel;
  const runId = stored.run.id;
  const rows = results.map((r) => r.row);
  const returnsOf = results.map((r) => ({ dates: r.dates, net: r.net }));
  const windowOfRow = plan.cells.map((c) => c.window);
  const before = await store.countTrials(stored.key);
  const sharpes = rows.map((r) => r.metrics.sharpe / Math.sqrt(base.annualization));
  const deflation = deflationWith(before, sharpes, { sweepTrials: rows.length });
  for (const r of rows) {
    r.metrics.deflatedSharpe = deflatedSharpeOf(r.metrics, base.annualization, deflation);
    r.metrics.trials = deflation.trials;
  }
  const pbo = windows.map((w, wi) =>
    pboOf(w, panel.dates.filter((d) => d >= w.start && d <= w.end), rows, returnsOf, windowOfRow, wi, grid.pboGroups)
  );
  if (opts.save === false) return { rows, deflation, pbo, stored };
  const out = await writeSweep(rows, opts.outDir ?? DEFAULT_SWEEP_DIR, {
    options: { borrowBps, annualization: base.annualization },
    deflation: `deflatedSharpe: the trial registry's N = ${deflation.trials} (${deflationWords(deflation)}: every ` +
      `backtest tried on data ${stored.key.dataFingerprint}, target ${stored.key.targetKind} h=${stored.key.horizon}, ` +
      `this sweep's cells included); trial variance = ddof-1 variance of all their per-period Sharpe ratios`,
  });
  const noNaN = (_k: string, v: unknown) => (typeof v === "number" && !Number.isFinite(v) ? null : v);
  await Deno.writeTextFile(join(out.dir, "pbo.json"), JSON.stringify({ pbo, deflation }, noNaN, 2) + "\n");
  const id = await store.createSweep({
    runId,
    key: stored.key,
    grid: JSON.parse(JSON.stringify(opts.gridSource ?? grid)),
    options: { borrowBps, annualization: base.annualization, portfolio: base.portfolio },
    dir: out.dir,
    summary: JSON.parse(JSON.stringify({ pbo, deflation }, noNaN)),
    trialsBefore: before.total,
    trials: rows.map((r, cell): NewTrial => ({
      cell,
      symbol: r.symbol,
      windowStart: r.windowStart,
      windowEnd: r.windowEnd,
      costBps: r.costBps,
      slippageBps: r.slippageBps,
      lag: r.lag,
      sizing: r.sizing,
      annualization: r.annualization,
      metrics: numeric(r.metrics),
      buyAndHold: numeric(r.buyAndHold),
    })),
  });
  return { id, rows, deflation, pbo, dir: out.dir, stored };
}

/** Runs a sweep over a stored run in this process (see the module notes); stores and writes it unless `save` is false. */
export async function sweepRun(
  store: Store,
  runId: string,
  grid: SweepGridConfig,
  opts: SweepOutputOptions & { dataPath?: string } = {},
): Promise<SweepResult> {
  const plan = planSweep(await loadStoredRun(store, runId, opts.dataPath), grid);
  if (opts.save !== false) ensureOutputDir(opts.outDir ?? DEFAULT_SWEEP_DIR, "sweep output folder (--out)");
  return await assembleSweep(store, plan, runSweepCells(plan), opts);
}

function numeric(m: BacktestMetrics): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(m)) if (typeof v === "number") out[k] = Number.isFinite(v) ? v : NaN;
  return out;
}

function pboOf(
  window: DateWindow,
  dates: readonly string[],
  rows: SweepRow[],
  returnsOf: { dates: readonly string[]; net: Float64Array }[],
  windowOfRow: number[],
  wi: number,
  maxGroups: number,
): PboSummary {
  const idx = rows.map((_, i) => i).filter((i) => windowOfRow[i] === wi);
  const w = { start: dates[0] ?? window.start, end: dates[dates.length - 1] ?? window.end };
  if (idx.length < 2) {
    return {
      window: w,
      cells: idx.length,
      pbo: null,
      probabilityOfLoss: null,
      groups: 0,
      reason: "fewer than 2 cells",
    };
  }
  const T = dates.length;
  let S = Math.min(maxGroups, Math.floor(T / 2));
  if (S % 2 === 1) S--;
  if (S < 2) {
    return { window: w, cells: idx.length, pbo: null, probabilityOfLoss: null, groups: 0, reason: `${T} dates` };
  }
  // Every cell's net return on the window's dates (0 where it holds nothing or has no price).
  const at = new Map(dates.map((d, t) => [d, t]));
  const data = new Float64Array(T * idx.length);
  idx.forEach((i, j) => {
    const { dates: cd, net } = returnsOf[i];
    cd.forEach((d, k) => {
      const t = at.get(d);
      if (t !== undefined && Number.isFinite(net[k])) data[t * idx.length + j] = net[k];
    });
  });
  const p = probabilityOfBacktestOverfitting({ data, rows: T, cols: idx.length }, { groups: S });
  return { window: w, cells: idx.length, pbo: p.pbo, probabilityOfLoss: p.probabilityOfLoss, groups: S };
}
