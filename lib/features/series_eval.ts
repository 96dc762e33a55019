/**
 * Evaluation of `kind: "series"` features over a whole panel: symbol by symbol, a chunk of consecutive symbols at a
 * time. Every feature of a symbol is computed with one shared per-symbol memo. For polars, the values are written
 * (±Inf as NaN) into reused chunk buffers, each appended to its column as a new chunk (no re-copy;
 * {@link evaluateSeriesFeatures}); for a model matrix, {@link fillMatrix} writes each symbol's arrays straight into
 * its matrix rows, on one thread or two (./series_parallel.ts).
 * On 2 M rows the full set's cost is dominated by fresh memory — its 191 output columns alone are 3.3 GB, and first
 * touches of memory are slow on virtual machines — so the JS side never holds more than one chunk of output.
 *
 * @module
 */

import { pl } from "../data/polars.ts";
import { ConfigError } from "../errors.ts";
import type { SeriesFeatureDef, SymbolSeries } from "./definition.ts";
import { withArena } from "./arena.ts";

/** One symbol's rows [start, end) in a frame sorted by symbol then date. */
export interface SymbolRange {
  /** The symbol. */
  symbol: string;
  /** First row (inclusive). */
  start: number;
  /** Last row (exclusive). */
  end: number;
}

/** The price-basis columns (./definition.ts) of a whole frame, rows aligned with its symbol ranges. */
export interface PriceArrays {
  /** `px_open`. */
  open: Float64Array;
  /** `px_high`. */
  high: Float64Array;
  /** `px_low`. */
  low: Float64Array;
  /** `px_close`. */
  close: Float64Array;
  /** `px_volume`. */
  volume: Float64Array;
}

/** Consecutive symbols evaluated together: symbols [first, last) covering rows [start, end). */
export interface Chunk {
  /** Index of the first symbol (in the ranges). */
  first: number;
  /** Index after the last symbol. */
  last: number;
  /** First row. */
  start: number;
  /** Row after the last. */
  end: number;
}

/** Bytes of output the chunk buffers hold. */
const CHUNK_BYTES = 64 * 1024 * 1024;

/** Splits the symbols into chunks of at most `rows` rows (a longer symbol gets a chunk of its own). */
export function chunkPlan(ranges: readonly SymbolRange[], rows: number): Chunk[] {
  const chunks: Chunk[] = [];
  let first = 0;
  for (let i = 0; i < ranges.length; i++) {
    if (i > first && ranges[i].end - ranges[first].start > rows) {
      chunks.push({ first, last: i, start: ranges[first].start, end: ranges[i].start });
      first = i;
    }
  }
  if (ranges.length > 0) {
    chunks.push({ first, last: ranges.length, start: ranges[first].start, end: ranges[ranges.length - 1].end });
  }
  return chunks;
}

/** One symbol's view of the price arrays, with a fresh memo. */
function symbolSeries(prices: PriceArrays, r: SymbolRange, dates: () => readonly string[]): SymbolSeries {
  const memo = new Map<string, unknown>();
  let symbolDates: readonly string[] | undefined;
  return {
    symbol: r.symbol,
    get dates() {
      return (symbolDates ??= dates().slice(r.start, r.end));
    },
    open: prices.open.subarray(r.start, r.end),
    high: prices.high.subarray(r.start, r.end),
    low: prices.low.subarray(r.start, r.end),
    close: prices.close.subarray(r.start, r.end),
    volume: prices.volume.subarray(r.start, r.end),
    memo<T>(key: string, compute: () => T): T {
      if (!memo.has(key)) memo.set(key, compute());
      return memo.get(key) as T;
    },
  };
}

/**
 * Computes every definition for one symbol: the definitions' own arrays (arena memory, valid until the evaluator
 * moves to the next symbol), ±Inf not yet replaced.
 *
 * @throws ConfigError when a definition returns the wrong number of values.
 */
function computeSymbol(
  defs: readonly SeriesFeatureDef[],
  prices: PriceArrays,
  r: SymbolRange,
  dates: () => readonly string[],
): Float64Array[] {
  const s = symbolSeries(prices, r, dates);
  return defs.map((d) => {
    const v = d.compute(s);
    if (v.length !== r.end - r.start) {
      throw new ConfigError(
        `feature "${d.name}" returned ${v.length} values for ${r.symbol}, expected ${r.end - r.start}`,
      );
    }
    return v;
  });
}

/** Copies `values` into `target` from `offset`, ±Inf stored as NaN (a plain copy first: the common case). */
function copyFinite(target: Float64Array, offset: number, values: Float64Array): void {
  target.set(values, offset);
  for (let i = 0; i < values.length; i++) {
    if (Math.abs(values[i]) === Number.POSITIVE_INFINITY) target[offset + i] = Number.NaN;
  }
}

/**
 * Computes every definition for the symbols of one chunk into `buffers` (one per definition, row 0 = the chunk's
 * first row), ±Inf stored as NaN; calls `nextSymbol` once a symbol's values are copied (./arena.ts).
 *
 * @throws ConfigError when a definition returns the wrong number of values.
 */
export function fillChunk(
  defs: readonly SeriesFeatureDef[],
  prices: PriceArrays,
  ranges: readonly SymbolRange[],
  chunk: Chunk,
  buffers: readonly Float64Array[],
  dates: () => readonly string[],
  nextSymbol: () => void = () => {},
): void {
  for (let j = chunk.first; j < chunk.last; j++) {
    const r = ranges[j];
    const values = computeSymbol(defs, prices, r, dates);
    for (let k = 0; k < defs.length; k++) copyFinite(buffers[k], r.start - chunk.start, values[k]);
    nextSymbol();
  }
}

/**
 * Where series values go in a row-major Float32 model matrix (`computeFeatureMatrix`, ./definition.ts): matrix row i
 * is frame row `rows[i]` (ascending); symbol j's matrix rows are [firstRow[j], firstRow[j + 1]). Definition `kept[m]`
 * (an index into the evaluated definitions) is written to column `targets[m]`; definition `sources[m]` — a series
 * source of a cross-sectional feature — is also kept whole, for every frame row, in `sourceValues[m]`. Symbols write
 * disjoint rows, so threads can fill one target symbol by symbol (./series_parallel.ts).
 */
export interface MatrixTarget {
  /** The matrix values (row-major, `cols` per row). */
  data: Float32Array;
  /** Columns per row. */
  cols: number;
  /** The frame row of each matrix row, ascending. */
  rows: Int32Array;
  /** Per symbol, its first matrix row; one more entry: `rows.length`. */
  firstRow: Int32Array;
  /** Evaluated definitions written to the matrix. */
  kept: Int32Array;
  /** Their columns. */
  targets: Int32Array;
  /** Evaluated definitions kept whole (sources of cross-sectional features). */
  sources: Int32Array;
  /** Their values for every frame row, ±Inf as NaN. */
  sourceValues: Float64Array[];
}

/** Per symbol, the first matrix row at or after its first frame row, then `rows.length` (see {@link MatrixTarget}). */
export function firstRows(ranges: readonly SymbolRange[], rows: Int32Array): Int32Array {
  const out = new Int32Array(ranges.length + 1);
  let i = 0;
  ranges.forEach((r, j) => {
    while (i < rows.length && rows[i] < r.start) i++;
    out[j] = i;
  });
  out[ranges.length] = rows.length;
  return out;
}

/** Rows of the row-major matrix written per block by {@link writeColumns}: 256 rows of 191 floats fit in L2 cache. */
const WRITE_BLOCK_ROWS = 256;

/**
 * Writes matrix rows [from, to) of columns `targets[k]` from `sources[k]`, whose index 0 is frame row `start`
 * (matrix row i is frame row `rows[i]`), ±Inf as NaN. A block of rows at a time, every column within a block: writing
 * one column down the whole matrix at a time touched each cache line of the row-major matrix once per column.
 */
export function writeColumns(
  data: Float32Array,
  cols: number,
  rows: Int32Array,
  start: number,
  sources: readonly Float64Array[],
  targets: ArrayLike<number>,
  from: number,
  to: number,
): void {
  for (let block = from; block < to; block += WRITE_BLOCK_ROWS) {
    const end = Math.min(to, block + WRITE_BLOCK_ROWS);
    for (let k = 0; k < sources.length; k++) {
      const values = sources[k];
      for (let i = block, o = block * cols + targets[k]; i < end; i++, o += cols) {
        const x = values[rows[i] - start];
        data[o] = x === Number.POSITIVE_INFINITY || x === Number.NEGATIVE_INFINITY ? Number.NaN : x;
      }
    }
  }
}

/**
 * Evaluates series definitions for the symbols `claim()` hands out (an index into `ranges`, until one at or past its
 * end) and writes each symbol's values into `target` straight from the kernels' arrays (no chunk buffers).
 *
 * @throws ConfigError when a definition returns the wrong number of values.
 */
export function fillMatrix(
  prices: PriceArrays,
  ranges: readonly SymbolRange[],
  defs: readonly SeriesFeatureDef[],
  dates: () => readonly string[],
  target: MatrixTarget,
  claim: () => number,
): void {
  const longest = ranges.reduce((m, r) => Math.max(m, r.end - r.start), 0);
  const { data, cols, rows, firstRow, kept, targets, sources, sourceValues } = target;
  withArena(longest, (nextSymbol) => {
    for (let j = claim(); j < ranges.length; j = claim()) {
      const r = ranges[j];
      const values = computeSymbol(defs, prices, r, dates);
      const written = Array.from(kept, (k) => values[k]);
      writeColumns(data, cols, rows, r.start, written, targets, firstRow[j], firstRow[j + 1]);
      for (let m = 0; m < sources.length; m++) copyFinite(sourceValues[m], r.start, values[sources[m]]);
      nextSymbol();
    }
  });
}

/**
 * Evaluates series definitions over every symbol and returns one polars Series per definition (in order), each made
 * of chunks of consecutive symbols. `chunkBytes` bounds the chunk buffers (default 64 MiB).
 *
 * @throws ConfigError when a definition returns the wrong number of values.
 */
export function evaluateSeriesFeatures(
  prices: PriceArrays,
  ranges: readonly SymbolRange[],
  defs: readonly SeriesFeatureDef[],
  dates: () => readonly string[],
  chunkBytes = CHUNK_BYTES,
): pl.Series[] {
  const height = prices.close.length;
  const longest = ranges.reduce((m, r) => Math.max(m, r.end - r.start), 0);
  const chunkRows = Math.min(height, Math.max(longest, Math.floor(chunkBytes / (8 * Math.max(1, defs.length)))));
  const buffers = defs.map(() => new Float64Array(chunkRows));
  const columns: pl.Series[] = [];
  withArena(longest, (nextSymbol) => {
    for (const chunk of chunkPlan(ranges, chunkRows)) {
      fillChunk(defs, prices, ranges, chunk, buffers, dates, nextSymbol);
      defs.forEach((d, k) => {
        const piece = pl.Series(d.name, buffers[k].subarray(0, chunk.end - chunk.start));
        if (columns[k] === undefined) columns[k] = piece;
        else columns[k].append(piece);
      });
    }
  });
  return columns;
}
