/**
 * Feature definitions as data, and their evaluation on a Panel.
 *
 * A feature is a name plus a recipe the leakage auditor can re-run on truncated history:
 *
 * - `kind: "expr"` — a polars expression over the price-basis columns (below), evaluated per symbol with
 *   `.over("symbol")`, so rolling windows and shifts never cross from one symbol into the next (or, for exact
 *   operations with a declared window, once on the whole frame with each symbol's warm-up masked: `bounded`);
 * - `kind: "series"` — a function of one symbol's price-basis arrays, called once per symbol: for what polars' JS API
 *   cannot express (rolling regressions, correlations, ranks, arg-max, the causal wavelet denoiser), for window sums
 *   and moments computed exactly per symbol by ./rolling.ts, and for most built-in features, where one pass over a
 *   symbol's arrays is several times cheaper than polars building a fresh full-height column per intermediate;
 * - `kind: "row"` — a polars expression that needs no history (calendar fields), evaluated row by row;
 * - `kind: "cross-sectional"` — another feature's values ranked across symbols on each date (a percentile in (0, 1]).
 *
 * **Time convention** (docs/design.md §2): the value at date t may use information up to the close of t. Nothing
 * here may look at a later row; the truncation test in lib/leakage proves it for every definition.
 *
 * **Price basis.** Every feature reads split- and dividend-adjusted prices, so a split does not look like a −50 % day:
 * with `f = adj_close / close`, `px_open = open·f`, `px_high = high·f`, `px_low = low·f`, `px_close = adj_close`,
 * `px_volume = volume / f` (shares re-expressed on the adjusted share count). The adjustment factor in vendor files is
 * computed with later corporate actions, so a price *level* would leak information about future splits; every
 * built-in feature is therefore a ratio of prices or volumes within one symbol's window, where the factor cancels.
 * Missing values (warm-up rows, zero ranges) are `NaN`.
 *
 * **Evaluation** (what bench/features.ts measures): on 2 M rows the full set's cost is dominated by fresh memory — the
 * 191 output columns alone are 3.3 GB — so the evaluator allocates as little else as it can. Expression and row
 * features are one lazy polars select (non-finite values turned into NaN in the same query); series features run symbol
 * by symbol with a shared per-symbol memo, write into reused chunk buffers, and each chunk is copied once into polars
 * and appended to its column as a new chunk, so the output columns hold several chunks; cross-sectional ranks are one
 * more lazy select over their sources. Into a model matrix ({@link computeFeatureMatrix}) the series features skip the
 * chunk buffers and polars: each symbol's kernel outputs are written into its matrix rows, on two threads for large
 * panels (./series_parallel.ts).
 *
 * @module
 */

import type { Matrix } from "../data/matrix.ts";
import { pl } from "../data/polars.ts";
import { isSortedBySymbolDate, type Panel } from "../data/panel.ts";
import { outputFloat32, type Prefault, prefault, sharedFloat32, sharedFloat64 } from "../data/prefault.ts";
import { ConfigError } from "../errors.ts";
import {
  evaluateSeriesFeatures,
  fillMatrix,
  firstRows,
  type MatrixTarget,
  type PriceArrays,
  writeColumns,
} from "./series_eval.ts";
import {
  computeAgain,
  type SeriesHelper,
  type SeriesThreads,
  startSeriesWorker,
  useTwoThreads,
} from "./series_parallel.ts";

/** Columns added to the panel frame before any feature is evaluated (see the module doc). */
export const PRICE_BASIS_COLUMNS = ["px_open", "px_high", "px_low", "px_close", "px_volume"] as const;

/** One symbol's history in the price basis, oldest first, for `kind: "series"` features. */
export interface SymbolSeries {
  /** The symbol these arrays belong to. */
  readonly symbol: string;
  /** This symbol's own trading dates (ISO `YYYY-MM-DD`), oldest first; index i matches index i of every array. */
  readonly dates: readonly string[];
  /** Adjusted open, `px_open = open · adj_close / close`. */
  readonly open: Float64Array;
  /** Adjusted high, `px_high = high · adj_close / close`. */
  readonly high: Float64Array;
  /** Adjusted low, `px_low = low · adj_close / close`. */
  readonly low: Float64Array;
  /** Adjusted close, `px_close = adj_close` (split- and dividend-adjusted). */
  readonly close: Float64Array;
  /** Volume in adjusted shares, `px_volume = volume · close / adj_close`. */
  readonly volume: Float64Array;
  /**
   * Memoizes an intermediate shared by several features of the same symbol (e.g. one rolling regression feeding
   * BETA, RSQR and RESI). Keys are per symbol and per `computeFeatures` call.
   */
  memo<T>(key: string, compute: () => T): T;
}

/** Fields every feature definition has, whatever its kind: name, description, look-back and family. */
export interface FeatureCommon {
  /** Unique column name. */
  name: string;
  /** What the feature measures, with its formula. */
  description: string;
  /** Rows of history (per symbol) the value at t needs beyond t itself; the first `lookback` values are NaN. */
  lookback: number;
  /** Family for grouping in tables (e.g. "ROC", "volatility", "calendar"). */
  family?: string;
}

/**
 * A feature defined by a polars expression over the price-basis columns, evaluated per symbol.
 *
 * By default it is evaluated with `.over("symbol")`. With `bounded: true` the definition promises that the value at
 * row t reads only rows t − lookback … t and uses only exact operations (shifts, rolling max/min, arithmetic — not
 * running sums, whose rounding residue would carry from one symbol into the next): it is then evaluated once on the
 * whole (symbol, date)-sorted frame, letting polars share common subexpressions across features, and the first
 * `lookback` rows of every symbol — the only rows where a window could reach into the previous symbol — are set to
 * NaN. tests/features/bounded_test.ts checks every built-in bounded feature against its `.over` evaluation.
 */
export interface ExprFeatureDef extends FeatureCommon {
  /** Discriminant: a per-symbol polars expression. */
  kind: "expr";
  /** Expression over the price-basis columns (`px_open` … `px_volume`); cast to Float64, non-finite results → NaN. */
  expr: pl.Expr;
  /**
   * Promise that row t reads only rows t − lookback … t through exact operations, allowing the faster masked
   * whole-frame evaluation described above (default false: evaluated with `.over("symbol")`).
   */
  bounded?: boolean;
}

/**
 * A feature computed by a function of one symbol's arrays (oldest first); must return one value per row, NaN where
 * undefined, and may read only rows up to the one it writes (the truncation test checks).
 */
export interface SeriesFeatureDef extends FeatureCommon {
  /** Discriminant: a function of one symbol's arrays. */
  kind: "series";
  /**
   * Called once per symbol; must return exactly `s.close.length` values aligned with `s.dates` (else ConfigError),
   * with NaN where undefined. Non-finite results are stored as NaN. Arrays the built-in kernels return inside `compute`
   * (rolling sums, moments, …) live in memory the evaluator reuses for the next symbol (./arena.ts): use them within
   * the call, never keep them across symbols.
   */
  compute: (s: SymbolSeries) => Float64Array;
}

/** A feature that needs no history (a function of the row alone, e.g. the weekday of `date`). */
export interface RowFeatureDef extends FeatureCommon {
  /** Discriminant: needs no history. */
  kind: "row";
  /** Expression of the current row only (e.g. over `date`), evaluated without `.over`; cast to Float64. */
  expr: pl.Expr;
}

/** Per-date cross-sectional percentile rank of another feature (average ties; rank / count of non-missing). */
export interface CrossSectionalFeatureDef extends FeatureCommon {
  /** Discriminant: ranked across symbols on each date. */
  kind: "cross-sectional";
  /**
   * The feature whose values are ranked; it must not itself be cross-sectional (ConfigError). It is computed under
   * its own name and dropped from the output unless also requested directly.
   */
  source: FeatureDef;
}

/**
 * A feature definition: data the leakage auditor can re-evaluate on truncated history. See the module doc for the
 * four kinds and the time convention every definition must honour.
 */
export type FeatureDef = ExprFeatureDef | SeriesFeatureDef | RowFeatureDef | CrossSectionalFeatureDef;

/** Adds the price-basis columns (module doc) to a panel frame. */
export function withPriceBasis(frame: pl.DataFrame): pl.DataFrame {
  const f = pl.col("adj_close").div(pl.col("close"));
  return frame.withColumns(
    pl.col("open").mul(f).alias("px_open"),
    pl.col("high").mul(f).alias("px_high"),
    pl.col("low").mul(f).alias("px_low"),
    pl.col("adj_close").alias("px_close"),
    pl.col("volume").div(f).alias("px_volume"),
  );
}

/** Row ranges [start, end) of each symbol in a frame sorted by symbol then date. */
export function symbolRanges(frame: pl.DataFrame): { symbol: string; start: number; end: number }[] {
  const counts = frame.groupBy("symbol").len().sort("symbol");
  const symbols = counts.getColumn("symbol").toArray() as string[];
  const lens = counts.getColumn(counts.columns[1]).toArray() as number[];
  const out: { symbol: string; start: number; end: number }[] = [];
  let start = 0;
  for (let i = 0; i < symbols.length; i++) {
    out.push({ symbol: symbols[i], start, end: start + Number(lens[i]) });
    start += Number(lens[i]);
  }
  return out;
}

/** Column of a frame as a Float64 polars Series with nulls turned into NaN. */
function float64Series(frame: pl.DataFrame, name: string): pl.Series {
  return frame.select(pl.col(name).cast(pl.Float64).fillNull(pl.lit(Number.NaN))).getColumn(name);
}

/** A Float64 series as a Float64Array. */
function float64Array(s: pl.Series): Float64Array {
  const a = s.toTypedArray() as Float64Array;
  return a instanceof Float64Array ? a : Float64Array.from(a as ArrayLike<number>);
}

/** Column of a frame as a Float64Array with nulls turned into NaN. */
export function float64Column(frame: pl.DataFrame, name: string): Float64Array {
  return float64Array(float64Series(frame, name));
}

function checkUniqueNames(defs: readonly FeatureDef[]): void {
  const seen = new Set<string>();
  for (const d of defs) {
    if (seen.has(d.name)) throw new ConfigError(`feature "${d.name}" is defined twice; feature names must be unique`);
    if (["date", "symbol"].includes(d.name)) throw new ConfigError(`feature name "${d.name}" is reserved`);
    seen.add(d.name);
  }
}

/** What evaluating a list of definitions on a frame needs, checked once (see {@link computeFeaturesOnFrame}). */
interface Evaluation {
  /** The frame's price columns plus the price basis (`px_*`). */
  basis: pl.DataFrame;
  /** Each symbol's rows. */
  ranges: { symbol: string; start: number; end: number }[];
  /** Polars-expression and row definitions (sources of cross-sectional features included). */
  exprDefs: (ExprFeatureDef | RowFeatureDef)[];
  /** Series definitions (sources of cross-sectional features included). */
  seriesDefs: SeriesFeatureDef[];
  /** Cross-sectional definitions. */
  csDefs: CrossSectionalFeatureDef[];
  /** Evaluate bounded expressions per symbol (`.over`) instead of masked over the whole frame. */
  unmasked: boolean;
}

function planEvaluation(frame: pl.DataFrame, defs: readonly FeatureDef[], unmasked: boolean): Evaluation {
  checkUniqueNames(defs);
  if (!isSortedBySymbolDate(frame)) {
    throw new ConfigError(
      "features need a frame sorted by symbol then date with no repeated (symbol, date); build it with loadPanel or " +
        "panelFromFrame",
    );
  }
  const basis = withPriceBasis(frame.select("date", "symbol", "open", "high", "low", "close", "adj_close", "volume"));
  // Sources of cross-sectional features are computed under their own name even when not requested.
  const csDefs = defs.filter((d): d is CrossSectionalFeatureDef => d.kind === "cross-sectional");
  const perSymbol = defs.filter((d) => d.kind !== "cross-sectional");
  for (const d of csDefs) {
    if (d.source.kind === "cross-sectional") {
      throw new ConfigError(`cross-sectional feature "${d.name}" cannot rank another cross-sectional feature`);
    }
    if (!perSymbol.some((p) => p.name === d.source.name)) perSymbol.push(d.source);
  }
  return {
    basis,
    ranges: symbolRanges(basis),
    exprDefs: perSymbol.filter((d): d is ExprFeatureDef | RowFeatureDef => d.kind === "expr" || d.kind === "row"),
    seriesDefs: perSymbol.filter((d): d is SeriesFeatureDef => d.kind === "series"),
    csDefs,
    unmasked,
  };
}

/** Evaluates the expression and row definitions into `columns` (one polars pass over the whole frame). */
function evaluateExprColumns(ev: Evaluation, columns: Map<string, pl.Series>): void {
  const { basis, ranges, exprDefs } = ev;
  if (exprDefs.length === 0) return;
  const rowInSymbol = new Int32Array(basis.height);
  for (const r of ranges) for (let i = r.start; i < r.end; i++) rowInSymbol[i] = i - r.start;
  const exprs = exprDefs.map((d) => (d.kind === "expr" ? evaluateExpr(d, ev.unmasked) : d.expr).alias(d.name));
  // Non-finite values → NaN in a second step over the evaluated columns: wrapping each expression would evaluate
  // it twice.
  const evaluated = basis.withColumns(pl.Series("__row_in_symbol", rowInSymbol)).lazy().select(...exprs)
    .select(...exprDefs.map((d) => finiteOrNaN(pl.col(d.name)).alias(d.name))).collectSync();
  for (const d of exprDefs) columns.set(d.name, evaluated.getColumn(d.name));
}

/** The price-basis arrays the series definitions read. */
function priceArrays(basis: pl.DataFrame): PriceArrays {
  return {
    open: float64Column(basis, "px_open"),
    high: float64Column(basis, "px_high"),
    low: float64Column(basis, "px_low"),
    close: float64Column(basis, "px_close"),
    volume: float64Column(basis, "px_volume"),
  };
}

/** The frame's dates, read from polars on first use (most series definitions never ask). */
function datesOf(basis: pl.DataFrame): () => string[] {
  let dates: string[] | undefined;
  return () => (dates ??= basis.getColumn("date").toArray() as string[]);
}

/** Evaluates the cross-sectional definitions into `columns`, from their sources already there. */
function evaluateCrossSectional(ev: Evaluation, columns: Map<string, pl.Series>): void {
  const { basis, csDefs } = ev;
  if (csDefs.length === 0) return;
  // Group by an integer day number rather than the ISO string: hashing integers is several times cheaper.
  const day = basis.select(pl.col("date").str.strptime(pl.Date, "%Y-%m-%d").cast(pl.Int32).alias("__day"));
  const sources = [...new Set(csDefs.map((d) => d.source.name))].map((n) => columns.get(n)!);
  const ranked = pl.DataFrame([day.getColumn("__day"), ...sources]).lazy()
    .select(...csDefs.map((d) => crossSectionalRank(d.source.name).alias(d.name))).collectSync();
  for (const d of csDefs) columns.set(d.name, ranked.getColumn(d.name));
}

/**
 * Evaluates feature definitions on a panel frame (sorted by symbol then date).
 *
 * Returns a frame with `date`, `symbol` and one Float64 column per definition, in definition order, rows aligned with
 * the input. Missing values are `NaN` (never null), and ±Inf from divisions by zero become `NaN` too, so downstream
 * `toTypedArray()` never fails.
 */
export function computeFeaturesOnFrame(
  frame: pl.DataFrame,
  defs: readonly FeatureDef[],
  options: { evaluateBoundedPerSymbol?: boolean } = {},
): pl.DataFrame {
  const ev = planEvaluation(frame, defs, options.evaluateBoundedPerSymbol ?? false);
  const columns = new Map<string, pl.Series>();
  evaluateExprColumns(ev, columns);
  if (ev.seriesDefs.length > 0) {
    const series = evaluateSeriesFeatures(priceArrays(ev.basis), ev.ranges, ev.seriesDefs, datesOf(ev.basis));
    ev.seriesDefs.forEach((d, k) => columns.set(d.name, series[k]));
  }
  evaluateCrossSectional(ev, columns);
  const { basis } = ev;
  return pl.DataFrame([basis.getColumn("date"), basis.getColumn("symbol"), ...defs.map((d) => columns.get(d.name)!)]);
}

/**
 * Evaluates feature definitions on a panel frame straight into the Float32 {@link Matrix} models train on: row i of
 * the matrix is frame row `rows[i]` (ascending), column j is `defs[j]`, values exactly `Math.fround` of what
 * {@link computeFeaturesOnFrame} returns (NaN for missing).
 *
 * Why not `computeFeaturesOnFrame` then a copy: on the full set over the S&P 500 panel that path materialises the
 * features three times — polars' 3.1 GB of Float64 columns, a Float64Array per column read back from polars, then the
 * matrix — and on virtual machines every first touch of memory is slow (about 12 µs per 4 KiB page measured here).
 * Series definitions (176 of the full set's 191) are written from each symbol's kernel outputs into the matrix rows
 * directly, a cache-sized block of rows at a time; only expression, row and cross-sectional columns (and the series
 * sources of cross-sectional ones) go through polars. The matrix's pages are mapped on a worker thread while the
 * features are computed (../data/prefault.ts). On that panel: 7.1–8.5 s and a 1.65 GB matrix (bench/features.ts),
 * against 45–50 s and 8.3 GiB of fresh memory for the frame-then-copy path.
 *
 * `options.seriesThreads`: `"auto"` (default) evaluates the series features on two threads — this one and a worker —
 * when every one is built in and the work is large enough (over 40 M values), `"two"` whenever they are all built in,
 * `"one"` on this thread (./series_parallel.ts). The values are the same either way. With two threads, or from 64 MiB
 * on, the matrix's memory is a SharedArrayBuffer.
 *
 * @throws ConfigError like {@link computeFeaturesOnFrame}, or when `rows` is not ascending within the frame.
 */
export function computeFeatureMatrix(
  frame: pl.DataFrame,
  defs: readonly FeatureDef[],
  rows: Int32Array,
  options: { seriesThreads?: SeriesThreads } = {},
): Matrix {
  // Read once: every property read of a polars DataFrame goes through a Proxy that lists its columns (natively) —
  // `frame.height` in this loop cost 3.4 s on 2.16 M rows.
  const height = frame.height;
  for (let i = 0; i < rows.length; i++) {
    if (!(rows[i] >= 0 && rows[i] < height && (i === 0 || rows[i] > rows[i - 1]))) {
      throw new ConfigError(
        `computeFeatureMatrix: rows must be ascending frame rows in [0, ${height}); rows[${i}] = ${rows[i]}`,
      );
    }
  }
  const ev = planEvaluation(frame, defs, false);
  const cols = defs.length;
  const two = useTwoThreads(ev.seriesDefs, rows.length, options.seriesThreads ?? "auto");
  // Shared memory when a worker writes into it or maps its pages (../data/prefault.ts).
  const data = two ? sharedFloat32(rows.length * cols) : outputFloat32(rows.length * cols);
  let helper: SeriesHelper | undefined;
  let mapping: Prefault | undefined;
  try {
    const position = new Map(defs.map((d, j) => [d.name, j]));
    const columns = new Map<string, pl.Series>();
    const series = ev.seriesDefs;
    let target: MatrixTarget | undefined;
    let prices: PriceArrays | undefined;
    if (series.length > 0) {
      const kept = series.flatMap((d, k) => position.has(d.name) ? [k] : []);
      // Series sources of cross-sectional features, kept whole for polars to rank.
      const sourceNames = new Set(ev.csDefs.map((d) => d.source.name));
      const sources = series.flatMap((d, k) => sourceNames.has(d.name) ? [k] : []);
      target = {
        data,
        cols,
        rows,
        firstRow: firstRows(ev.ranges, rows),
        kept: Int32Array.from(kept),
        targets: Int32Array.from(kept, (k) => position.get(series[k].name)!),
        sources: Int32Array.from(sources),
        sourceValues: sources.map(() => two ? sharedFloat64(height) : new Float64Array(height)),
      };
      prices = priceArrays(ev.basis);
      // The worker computes symbols while this thread evaluates the polars columns.
      if (two) helper = startSeriesWorker(prices, ev.ranges, series, target);
    }
    mapping = prefault(data);
    evaluateExprColumns(ev, columns);
    if (target !== undefined && prices !== undefined) {
      const dates = datesOf(ev.basis);
      let next = 0;
      fillMatrix(prices, ev.ranges, series, dates, target, helper?.claim ?? (() => next++));
      const failed = helper?.finish() ?? -1;
      if (failed >= 0) computeAgain(prices, ev.ranges, series, dates, target, failed);
      target.sources.forEach((k, m) => columns.set(series[k].name, pl.Series(series[k].name, target.sourceValues[m])));
    }
    evaluateCrossSectional(ev, columns);
    const rest = [...ev.exprDefs, ...ev.csDefs].filter((d) => position.has(d.name));
    writePolarsColumns(data, cols, rows, rest.map((d) => columns.get(d.name)!), rest.map((d) => position.get(d.name)!));
  } finally {
    helper?.close();
    mapping?.finish();
  }
  return { data, rows: rows.length, cols, columns: defs.map((d) => d.name) };
}

/** Matrix rows per block in {@link writePolarsColumns}: small enough that each block's arrays reuse freed memory. */
const POLARS_BLOCK_ROWS = 1 << 16;

/**
 * Writes polars columns (frame-aligned) into matrix columns `targets`, a block of matrix rows at a time: each block
 * reads only its frame rows (a zero-copy slice, then a small typed array). Reading whole columns back cost 1 s for the
 * full set's 15 polars columns on the S&P 500 panel — 260 MB of fresh memory, slow to touch on virtual machines.
 */
function writePolarsColumns(
  data: Float32Array,
  cols: number,
  rows: Int32Array,
  series: readonly pl.Series[],
  targets: readonly number[],
): void {
  if (series.length === 0 || rows.length === 0) return;
  // Every feature column is Float64 with NaN for missing; anything else is normalised first.
  const columns = series.map((c) =>
    c.dtype.equals(pl.Float64) && c.nullCount() === 0 ? c : float64Series(pl.DataFrame([c]), c.name)
  );
  for (let from = 0; from < rows.length; from += POLARS_BLOCK_ROWS) {
    const to = Math.min(rows.length, from + POLARS_BLOCK_ROWS);
    const start = rows[from];
    const length = rows[to - 1] + 1 - start;
    const values = columns.map((c) => float64Array(c.slice(start, length)));
    writeColumns(data, cols, rows, start, values, targets, from, to);
  }
}

/** `e` where finite, NaN where it is null, NaN or ±Inf (the output convention of every feature column). */
function finiteOrNaN(e: pl.Expr): pl.Expr {
  const x = e.cast(pl.Float64);
  return pl.when(x.isFinite()).then(x).otherwise(pl.lit(Number.NaN));
}

/** A per-symbol expression: masked whole-frame evaluation when bounded (see ExprFeatureDef), else `.over`. */
function evaluateExpr(d: ExprFeatureDef, forceOver: boolean): pl.Expr {
  const e = d.expr.cast(pl.Float64);
  if (!d.bounded || forceOver) return e.over("symbol");
  return pl.when(pl.col("__row_in_symbol").gtEq(d.lookback)).then(e).otherwise(pl.lit(Number.NaN));
}

/** Per-date percentile rank (average ties) of a column among its non-missing values: rank / count, in (0, 1]. */
function crossSectionalRank(name: string): pl.Expr {
  const valid = pl.col(name).isNotNan();
  const x = pl.when(valid).then(pl.col(name)).otherwise(pl.lit(null));
  const rank = x.rank("average").over("__day");
  const count = x.count().over("__day");
  return pl.when(valid).then(rank.div(count)).otherwise(pl.lit(Number.NaN)).cast(pl.Float64);
}

/**
 * Computes features for every (symbol, date) row of a panel. See {@link computeFeaturesOnFrame}.
 *
 * @throws ConfigError on duplicate or reserved feature names, or a frame not sorted by symbol then date.
 */
export function computeFeatures(panel: Panel, defs: readonly FeatureDef[]): pl.DataFrame {
  return computeFeaturesOnFrame(panel.frame, defs);
}
