/**
 * Robustness sweeps: the same strategy over a grid of date windows × costs × lags × sizing rules × symbols, one
 * backtest per cell, one row per cell. A result that only holds in one cell is not a result.
 *
 * - Each cell is an independent single-symbol backtest of the window's data alone (sizing warm-ups, e.g. a trailing
 *   volatility, happen inside the window), with buy & hold on the same window.
 * - Rows carry the cell's coordinates, its fixed options (borrow, annualization), every metric and buy & hold's
 *   metrics; they are written as CSV and JSON (NaN → `NaN` in CSV, `null` in JSON) together with a `sweep.json` that
 *   always states the grid that was run, the options and the conventions (lags, costs, slippage, borrow,
 *   annualization, same-bar flag, return/engine/metric definitions), derived from the rows when the caller gives
 *   nothing, so a sweep folder never travels without its meaning. A grid or options the caller gives that
 *   contradict the rows are refused (ConfigError) before anything is written.
 * - {@link deflateSweep} adds each row's deflated Sharpe ratio with N = the number of cells: picking the best cell of
 *   a sweep is exactly the multiple-testing situation the deflation corrects for. The annualization comes from the
 *   rows (mixing annualizations is refused).
 * - Output folders are named `sweep-YYYYMMDDTHHMMSS.ffffffZ` (UTC, microseconds) and created with an exclusive
 *   mkdir: when two sweeps, in one process or several, pick the same microsecond, the loser moves on to the next
 *   microsecond, so parallel sweeps never write into the same folder.
 *
 * @module
 */

import { join } from "node:path";
import { ConfigError } from "../errors.ts";
import type { DateWindow } from "../validation/fold.ts";
import type { Panel } from "../data/panel.ts";
import { backtest, conventionsOf, resolveCosts } from "./engine.ts";
import { type LongValues, panelReturns, toGrid } from "./panel.ts";
import type { BacktestMetrics } from "./metrics.ts";
import { deflatedSharpe } from "../metrics/sharpe.ts";
import { describeSizing, sizePositions, type SizingSpec } from "./sizing.ts";

/** One symbol's aligned inputs on the sweep's date axis. */
export interface SweepSeries {
  /** Arithmetic returns r[t] (NaN = no price). */
  returns: ArrayLike<number>;
  /** Forecasts known at each close. */
  forecasts: ArrayLike<number>;
  /** P(next return > 0), for Kelly sizing. */
  probabilities?: ArrayLike<number>;
}

/** The grid. Every combination is one cell. */
export interface SweepGrid {
  /** Symbols to sweep (keys of `SweepData.series`; default all). */
  symbols?: string[];
  /** Inclusive date windows (default: the whole date axis). */
  windows?: DateWindow[];
  /** Commission levels in bps (default 0, 5, 10, 20). */
  costBps?: number[];
  /** Slippage levels in bps (default 0). */
  slippageBps?: number[];
  /** Lags (default 1). */
  lags?: number[];
  /** Sizing rules (default sign). */
  sizing?: SizingSpec[];
}

/** Inputs of {@link runSweep}. */
export interface SweepData {
  /** Sorted ISO dates shared by every series. */
  dates: readonly string[];
  /** Per-symbol inputs, keyed by symbol. */
  series: Record<string, SweepSeries>;
}

/** Fixed options of every cell. */
export interface SweepOptions {
  /** Annual borrow on shorts, bps (default 0). */
  borrowBps?: number;
  /** Periods per year (default 252). */
  annualization?: number;
  /** Allow lag 0 in `lags` (same-bar execution; each such row's backtest stores a warning). Default false. */
  sameBar?: boolean;
}

/** One cell's result: coordinates, metrics, and buy & hold on the same window. */
export interface SweepRow {
  /** Symbol of the cell. */
  symbol: string;
  /** First date of the cell's window. */
  windowStart: string;
  /** Last date of the cell's window. */
  windowEnd: string;
  /** Commission, bps. */
  costBps: number;
  /** Slippage, bps. */
  slippageBps: number;
  /** Lag between decision and holding. */
  lag: number;
  /** Annual borrow on shorts, bps (the sweep's option). */
  borrowBps: number;
  /** Periods per year the metrics were annualized with (the sweep's option). */
  annualization: number;
  /** Sizing rule label, e.g. "sign()". */
  sizing: string;
  /** The cell's metrics. */
  metrics: BacktestMetrics;
  /** Buy & hold on the cell's window. */
  buyAndHold: BacktestMetrics;
}

/**
 * Calendar-year windows over sorted ISO dates (the first and last may be partial), for a sweep's `windows`.
 */
export function yearlyWindows(dates: readonly string[]): DateWindow[] {
  const out: DateWindow[] = [];
  for (const d of dates) {
    const last = out.at(-1);
    if (last !== undefined && last.end.slice(0, 4) === d.slice(0, 4)) last.end = d;
    else out.push({ start: d, end: d });
  }
  return out;
}

/**
 * Rolling windows of `length` dates, starting every `step` dates (default `length`: back to back); a final window
 * shorter than `length` is dropped.
 */
export function rollingWindows(dates: readonly string[], length: number, step = length): DateWindow[] {
  if (!Number.isInteger(length) || length < 2) {
    throw new ConfigError(`window length must be an integer ≥ 2, got ${length}`);
  }
  if (!Number.isInteger(step) || step < 1) throw new ConfigError(`window step must be an integer ≥ 1, got ${step}`);
  const out: DateWindow[] = [];
  for (let a = 0; a + length <= dates.length; a += step) out.push({ start: dates[a], end: dates[a + length - 1] });
  return out;
}

/**
 * Sweep inputs from a Panel and long-format forecasts (e.g. stitched out-of-sample predictions): per symbol, the
 * adjusted-close returns on the panel's date axis and the forecasts placed on it (NaN where absent). `probabilities`
 * (optional, same rows as `forecasts`) feed Kelly sizing.
 */
export function sweepDataFromPanel(panel: Panel, forecasts: LongValues, probabilities?: ArrayLike<number>): SweepData {
  const { dates, symbols, returns } = panelReturns(panel);
  const n = dates.length;
  const m = symbols.length;
  const f = toGrid(forecasts, dates, symbols);
  const p = probabilities === undefined ? undefined : toGrid({ ...forecasts, values: probabilities }, dates, symbols);
  const column = (grid: Float64Array, j: number) => Float64Array.from({ length: n }, (_, t) => grid[t * m + j]);
  const series: Record<string, SweepSeries> = {};
  symbols.forEach((s, j) => {
    series[s] = {
      returns: column(returns, j),
      forecasts: column(f, j),
      ...(p === undefined ? {} : { probabilities: column(p, j) }),
    };
  });
  return { dates, series };
}

function windowIndices(dates: readonly string[], w: DateWindow): [number, number] {
  if (!(w.start <= w.end)) throw new ConfigError(`sweep window ${w.start}..${w.end}: start must be ≤ end`);
  let a = 0;
  while (a < dates.length && dates[a] < w.start) a++;
  let b = dates.length - 1;
  while (b >= 0 && dates[b] > w.end) b--;
  if (b < a) throw new ConfigError(`sweep window ${w.start}..${w.end} contains no date of the data`);
  return [a, b];
}

/** Whether a rule's positions depend on costs (the drawdown breaker tracks net equity). */
function costDependent(spec: SizingSpec): boolean {
  return spec.kind === "hybrid" && spec.drawdownThreshold !== undefined;
}

/** Runs every cell of the grid (symbols × windows × lags × sizing × slippage × costs) and returns one row per cell. */
export function runSweep(data: SweepData, grid: SweepGrid = {}, options: SweepOptions = {}): SweepRow[] {
  const symbols = grid.symbols ?? Object.keys(data.series);
  const windows = grid.windows ?? [{ start: data.dates[0], end: data.dates[data.dates.length - 1] }];
  const costs = grid.costBps ?? [0, 5, 10, 20];
  const slippages = grid.slippageBps ?? [0];
  const lags = grid.lags ?? [1];
  const sizings = grid.sizing ?? [{ kind: "sign" } as SizingSpec];
  const fixed = resolveCosts(options);
  for (const c of costs) resolveCosts({ costBps: c });
  for (const s of slippages) resolveCosts({ slippageBps: s });
  for (const l of lags) resolveCosts({ lag: l, sameBar: options.sameBar });
  const rows: SweepRow[] = [];
  for (const symbol of symbols) {
    const series = data.series[symbol];
    if (series === undefined) throw new ConfigError(`sweep symbol ${symbol} has no series`);
    if (series.returns.length !== data.dates.length || series.forecasts.length !== data.dates.length) {
      throw new ConfigError(`sweep series ${symbol}: returns and forecasts must have one value per date`);
    }
    for (const w of windows) {
      const [a, b] = windowIndices(data.dates, w);
      const slice = (x: ArrayLike<number>) => Float64Array.from({ length: b - a + 1 }, (_, i) => x[a + i]);
      const returns = slice(series.returns);
      const forecasts = slice(series.forecasts);
      const probabilities = series.probabilities === undefined ? undefined : slice(series.probabilities);
      for (const lag of lags) {
        for (const spec of sizings) {
          const label = describeSizing(spec);
          let cached: Float64Array | undefined;
          for (const slippageBps of slippages) {
            for (const costBps of costs) {
              const cellCosts = { lag, costBps, slippageBps, ...options };
              const positions = costDependent(spec)
                ? sizePositions(spec, { forecasts, returns, probabilities, costs: cellCosts })
                : (cached ??= sizePositions(spec, { forecasts, returns, probabilities, costs: cellCosts }));
              const r = backtest({ returns, positions, ...cellCosts });
              rows.push({
                symbol,
                windowStart: data.dates[a],
                windowEnd: data.dates[b],
                costBps,
                slippageBps,
                lag,
                borrowBps: fixed.borrowBps,
                annualization: fixed.annualization,
                sizing: label,
                metrics: r.metrics,
                buyAndHold: r.buyAndHold.metrics,
              });
            }
          }
        }
      }
    }
  }
  return rows;
}

/** The one value of `field` shared by every row; ConfigError when rows disagree or a row lacks it. */
function sharedOption(rows: readonly SweepRow[], field: "borrowBps" | "annualization"): number | undefined {
  const values = new Set<number>();
  for (const r of rows) {
    const v = r[field];
    if (typeof v !== "number" || !Number.isFinite(v) || v < 0) {
      throw new ConfigError(
        `sweep row ${r.symbol} ${r.windowStart}..${r.windowEnd} has no valid ${field} (got ${v}); build rows with ` +
          `runSweep, which records it`,
      );
    }
    values.add(v);
  }
  if (values.size > 1) {
    throw new ConfigError(
      `sweep rows mix ${field} values (${[...values].join(", ")}): rows from sweeps with different options are ` +
        `not one sweep; deflate and store them separately`,
    );
  }
  return values.size === 0 ? undefined : [...values][0];
}

/**
 * Adds `deflatedSharpe` and `trials` to every row's metrics (in place; returns the rows): N = number of rows, the
 * trial variance = sample variance (ddof 1) of the rows' finite per-period Sharpe ratios (annual Sharpe / √A, with
 * A the rows' own `annualization`). Rows whose Sharpe is undefined get NaN. Uses each row's own length, skewness and
 * kurtosis. Throws ConfigError when the rows mix annualizations (their Sharpe ratios are not comparable).
 */
export function deflateSweep(rows: SweepRow[]): SweepRow[] {
  const annualization = sharedOption(rows, "annualization") ?? 252;
  const perPeriod = rows.map((r) => r.metrics.sharpe / Math.sqrt(annualization)).filter(Number.isFinite);
  const mean = perPeriod.reduce((a, b) => a + b, 0) / Math.max(1, perPeriod.length);
  const variance = perPeriod.length < 2
    ? 0
    : perPeriod.reduce((a, b) => a + (b - mean) ** 2, 0) / (perPeriod.length - 1);
  for (const row of rows) {
    const m = row.metrics;
    m.trials = rows.length;
    if (!Number.isFinite(m.sharpe) || !Number.isFinite(m.kurtosis) || m.periods < 3) {
      m.deflatedSharpe = NaN;
      continue;
    }
    m.deflatedSharpe = deflatedSharpe({
      sharpe: m.sharpe / Math.sqrt(annualization),
      nTrials: rows.length,
      trialSharpeVariance: variance,
      nObs: m.periods,
      skew: m.skewness,
      kurtosis: m.kurtosis,
    });
  }
  return rows;
}

/** A flat record of a row: coordinates, then metrics, then `bh_`-prefixed buy & hold metrics. */
export function flattenSweepRow(row: SweepRow): Record<string, string | number> {
  const out: Record<string, string | number> = {
    symbol: row.symbol,
    windowStart: row.windowStart,
    windowEnd: row.windowEnd,
    costBps: row.costBps,
    slippageBps: row.slippageBps,
    lag: row.lag,
    borrowBps: row.borrowBps,
    annualization: row.annualization,
    sizing: row.sizing,
  };
  for (const [k, v] of Object.entries(row.metrics)) if (typeof v === "number") out[k] = v;
  for (const [k, v] of Object.entries(row.buyAndHold)) if (typeof v === "number") out[`bh_${k}`] = v;
  return out;
}

function csvCell(v: string | number | undefined): string {
  if (v === undefined) return "";
  if (typeof v === "number") return Number.isNaN(v) ? "NaN" : String(v);
  return /[",\n\r]/.test(v) ? `"${v.replaceAll('"', '""')}"` : v;
}

/** Rows as CSV (header = union of the flattened keys, in first-seen order; full float precision). */
export function sweepToCsv(rows: SweepRow[]): string {
  const flat = rows.map(flattenSweepRow);
  const header: string[] = [];
  const seen = new Set<string>();
  for (const r of flat) {
    for (const k of Object.keys(r)) {
      if (!seen.has(k)) {
        seen.add(k);
        header.push(k);
      }
    }
  }
  const lines = [header.join(",")];
  for (const r of flat) lines.push(header.map((k) => csvCell(r[k])).join(","));
  return lines.join("\n") + "\n";
}

let lastStampMicros = 0;

/**
 * A UTC timestamp with microseconds, `YYYYMMDDTHHMMSS.ffffffZ`, strictly increasing within the process. `micros` is
 * microseconds since the epoch.
 */
export function microsecondStamp(micros?: number): string {
  let us = micros ?? Math.floor((performance.timeOrigin + performance.now()) * 1000);
  if (micros === undefined) {
    if (us <= lastStampMicros) us = lastStampMicros + 1;
    lastStampMicros = us;
  }
  const d = new Date(Math.floor(us / 1000));
  const pad = (x: number, w = 2) => String(x).padStart(w, "0");
  return `${d.getUTCFullYear()}${pad(d.getUTCMonth() + 1)}${pad(d.getUTCDate())}T${pad(d.getUTCHours())}` +
    `${pad(d.getUTCMinutes())}${pad(d.getUTCSeconds())}.${pad(us % 1_000_000, 6)}Z`;
}

/**
 * Creates `<baseDir>/<prefix>-<microsecond stamp>` exclusively (retrying on the next microsecond when another
 * sweep took that name) and returns its path.
 */
export async function createStampedDir(baseDir: string, prefix = "sweep"): Promise<string> {
  await Deno.mkdir(baseDir, { recursive: true });
  let us = Math.floor((performance.timeOrigin + performance.now()) * 1000);
  if (us <= lastStampMicros) us = lastStampMicros + 1;
  for (let attempt = 0; attempt < 10_000; attempt++, us++) {
    const dir = join(baseDir, `${prefix}-${microsecondStamp(us)}`);
    try {
      await Deno.mkdir(dir); // not recursive: fails if it exists
      lastStampMicros = Math.max(lastStampMicros, us);
      return dir;
    } catch (e) {
      if (!(e instanceof Deno.errors.AlreadyExists)) throw e;
    }
  }
  throw new ConfigError(`could not create a unique sweep folder under ${baseDir}`);
}

/** Where {@link writeSweep} put its files. */
export interface SweepOutput {
  /** The sweep's own folder. */
  dir: string;
  /** rows.csv path. */
  csv: string;
  /** rows.json path. */
  json: string;
  /** sweep.json path (grid, options, conventions). */
  meta: string;
}

/** The conventions of a sweep, stored in `sweep.json`: per-cell values as lists, fixed options as numbers. */
export interface SweepConventions {
  /** Lags of the cells (decision at the close of t held from t + lag). */
  lags: number[];
  /** Whether lag 0 was allowed (same-bar execution). */
  sameBar: boolean;
  /** Commission levels of the cells, bps per unit of one-way turnover. */
  costBps: number[];
  /** Slippage levels of the cells, bps per unit of one-way turnover. */
  slippageBps: number[];
  /** Annual borrow on shorts, bps (charged per period as borrowBps / 1e4 / annualization). */
  borrowBps: number;
  /** Periods per year of every metric. */
  annualization: number;
  /** Return definition. */
  returns: string;
  /** Held-position and net-return definitions. */
  engine: string;
  /** What one cell is. */
  cell: string;
  /** Deflated Sharpe convention of the rows. */
  deflation: string;
  /** Metric definitions. */
  metrics: Readonly<Record<string, string>>;
}

/** What `sweep.json` holds. */
export interface SweepMeta {
  /** Number of rows. */
  rows: number;
  /** ISO creation time. */
  createdAt: string;
  /**
   * The grid that was run: the caller's fields (checked against the rows: a contradiction is refused), the others as
   * found in the rows (sizing as labels).
   */
  grid: SweepGrid | Record<string, unknown>;
  /** The fixed options of every cell. */
  options: Required<SweepOptions>;
  /** The conventions of every cell. */
  conventions: SweepConventions;
}

const uniq = <T>(xs: T[]): T[] => [...new Set(xs)];

/** The grid as found in the rows (sizing as labels, windows as the rows' first and last dates). */
interface RowsGrid {
  symbols: string[];
  windows: DateWindow[];
  costBps: number[];
  slippageBps: number[];
  lags: number[];
  sizing: string[];
}

/**
 * Throws ConfigError when a caller's grid says something the rows contradict: every field given must list exactly
 * the values the rows were run with (in any order; sizing specs compared by their labels). A given window matches
 * a row window that lies inside it (rows record the first and last dates of the data in the window).
 */
function checkGivenGrid(grid: SweepGrid, rows: RowsGrid): void {
  const fail = (field: string, given: unknown, found: unknown) => {
    throw new ConfigError(
      `grid.${field} = ${JSON.stringify(given)} but the rows were run with ${field} ${JSON.stringify(found)}: ` +
        `sweep.json would contradict its rows; pass the grid the rows were run with, or none (it is then read ` +
        `from the rows)`,
    );
  };
  const sameSet = <T>(a: readonly T[], b: readonly T[]) => {
    const sa = new Set(a), sb = new Set(b);
    return sa.size === sb.size && [...sa].every((x) => sb.has(x));
  };
  for (const field of ["symbols", "costBps", "slippageBps", "lags"] as const) {
    const given = grid[field];
    if (given === undefined) continue;
    if (!Array.isArray(given)) fail(field, given, rows[field]);
    if (!sameSet<string | number>(given, rows[field])) fail(field, given, rows[field]);
  }
  if (grid.sizing !== undefined) {
    if (!Array.isArray(grid.sizing)) fail("sizing", grid.sizing, rows.sizing);
    const labels = grid.sizing.map((s) => (typeof s === "string" ? s : describeSizing(s)));
    if (!sameSet(labels, rows.sizing)) fail("sizing", labels, rows.sizing);
  }
  if (grid.windows !== undefined) {
    const given = grid.windows;
    if (!Array.isArray(given)) fail("windows", given, rows.windows);
    const inside = (r: DateWindow, g: DateWindow) => g.start <= r.start && r.end <= g.end;
    const distinct = new Set(given.map((g) => `${g.start}|${g.end}`)).size;
    if (
      distinct !== rows.windows.length ||
      !given.every((g) => rows.windows.some((r) => inside(r, g))) ||
      !rows.windows.every((r) => given.some((g) => inside(r, g)))
    ) {
      fail("windows", given, rows.windows);
    }
  }
}

/**
 * The metadata {@link writeSweep} stores: grid, options and conventions, taken from the rows and completed by what
 * the caller passes. Throws ConfigError when the rows mix borrow or annualization, or when the given options or
 * grid contradict the rows (a given grid field must list exactly the values the rows were run with).
 */
export function sweepMeta(
  rows: SweepRow[],
  info: { grid?: SweepGrid; options?: SweepOptions; deflation?: string } = {},
): SweepMeta {
  const given = resolveCosts(info.options ?? {});
  const fromRows = { borrowBps: sharedOption(rows, "borrowBps"), annualization: sharedOption(rows, "annualization") };
  for (const k of ["borrowBps", "annualization"] as const) {
    const v = info.options?.[k];
    if (v !== undefined && fromRows[k] !== undefined && v !== fromRows[k]) {
      throw new ConfigError(`options.${k} = ${v} but the rows were run with ${k} = ${fromRows[k]}`);
    }
  }
  const lags = uniq(rows.map((r) => r.lag)).sort((a, b) => a - b);
  const sameBar = (info.options?.sameBar ?? false) || lags.includes(0);
  const options: Required<SweepOptions> = {
    borrowBps: fromRows.borrowBps ?? given.borrowBps,
    annualization: fromRows.annualization ?? given.annualization,
    sameBar,
  };
  const derived: RowsGrid = {
    symbols: uniq(rows.map((r) => r.symbol)),
    windows: uniq(rows.map((r) => `${r.windowStart}|${r.windowEnd}`)).map((w) => {
      const [start, end] = w.split("|");
      return { start, end };
    }),
    costBps: uniq(rows.map((r) => r.costBps)),
    slippageBps: uniq(rows.map((r) => r.slippageBps)),
    lags,
    sizing: uniq(rows.map((r) => r.sizing)),
  };
  if (info.grid !== undefined) checkGivenGrid(info.grid, derived);
  const engine = conventionsOf(resolveCosts({ ...options, lag: lags[0] ?? 1 }));
  return {
    rows: rows.length,
    createdAt: new Date().toISOString(),
    grid: { ...derived, ...(info.grid ?? {}) },
    options,
    conventions: {
      lags,
      sameBar,
      costBps: derived.costBps,
      slippageBps: derived.slippageBps,
      borrowBps: options.borrowBps,
      annualization: options.annualization,
      returns: engine.returns,
      engine: engine.engine,
      cell: "one single-symbol backtest of the window's data alone (sizing warm-ups inside the window), with buy & " +
        "hold (constant position 1, same costs) on the same window",
      deflation: info.deflation ??
        "deflatedSharpe (when present): N = trials = number of rows, trial variance = ddof-1 variance of " +
          "the rows' finite per-period Sharpe ratios (sharpe / sqrt(annualization))",
      metrics: engine.metrics,
    },
  };
}

/**
 * Writes rows to a fresh, uniquely named folder under `baseDir`: `rows.csv`, `rows.json` and `sweep.json` (grid,
 * options, conventions, row count, creation time; see {@link sweepMeta}). The conventions are always written, from
 * the rows when `info` is empty; `info.deflation` states how the rows' deflated Sharpe ratios were computed when it
 * was not {@link deflateSweep}'s N = number of rows (e.g. a trial registry's count).
 */
export async function writeSweep(
  rows: SweepRow[],
  baseDir: string,
  info: { grid?: SweepGrid; options?: SweepOptions; deflation?: string } = {},
): Promise<SweepOutput> {
  const metaDoc = sweepMeta(rows, info); // validates before anything is written
  const dir = await createStampedDir(baseDir);
  const csv = join(dir, "rows.csv");
  const json = join(dir, "rows.json");
  const meta = join(dir, "sweep.json");
  const noNaN = (_k: string, v: unknown) => (typeof v === "number" && !Number.isFinite(v) ? null : v);
  await Deno.writeTextFile(csv, sweepToCsv(rows));
  await Deno.writeTextFile(json, JSON.stringify(rows.map(flattenSweepRow), noNaN, 1) + "\n");
  await Deno.writeTextFile(
    meta,
    JSON.stringify(metaDoc, noNaN, 2) + "\n",
  );
  return { dir, csv, json, meta };
}
