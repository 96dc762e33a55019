/**
 * computeFeatureMatrix writes features straight into the Float32 model matrix. Its reference is the frame contract it
 * short-cuts: computeFeaturesOnFrame's Float64 columns, read back with float64Column, rounded with Math.fround and
 * placed at (matrix row i ← frame row rows[i], column j ← defs[j]). They must agree bit for bit (NaN where missing), on
 * a ragged panel, for every kind of definition, in any order, for any ascending subset of rows, with ±Inf stored as
 * NaN, on one thread or two (a worker taking symbols from a shared counter).
 */
import assert from "node:assert/strict";
import pl from "nodejs-polars";
import { BASE_FEATURES, ConfigError, type FeatureDef, FULL_FEATURES } from "../../lib/mod.ts";
import {
  computeFeatureMatrix,
  computeFeaturesOnFrame,
  float64Column,
  symbolRanges,
} from "../../lib/features/definition.ts";
import { panelFromFrame, randomWalkPanel } from "./_panels.ts";
import { fillMatrix, firstRows, type MatrixTarget } from "../../lib/features/series_eval.ts";
import { computeAgain, FAILED, FAILED_AT, NEXT, startSeriesWorker, STATE } from "../../lib/features/series_parallel.ts";
import { sharedFloat32 } from "../../lib/data/prefault.ts";
import { runSeriesJob } from "../../lib/features/series_worker_job.ts";
import type { SeriesFeatureDef } from "../../lib/features/definition.ts";

/** Five symbols over 400 days; symbol k loses its first 30·k and last 20·k rows (different lengths and dates). */
function raggedFrame(): pl.DataFrame {
  const { frame } = randomWalkPanel(11, 5, 400);
  const pieces = symbolRanges(frame).map((r, k) => frame.slice(r.start + 30 * k, r.end - r.start - 30 * k - 20 * k));
  return panelFromFrame(pl.concat(pieces)).frame;
}

function expected(frame: pl.DataFrame, defs: readonly FeatureDef[], rows: Int32Array): Float32Array {
  const out = computeFeaturesOnFrame(frame, defs);
  const cols = defs.length;
  const data = new Float32Array(rows.length * cols);
  defs.forEach((d, j) => {
    const c = float64Column(out, d.name);
    for (let i = 0; i < rows.length; i++) data[i * cols + j] = Math.fround(c[rows[i]]);
  });
  return data;
}

function assertSame(actual: Float32Array, want: Float32Array, defs: readonly FeatureDef[]): void {
  assert.equal(actual.length, want.length);
  for (let i = 0; i < want.length; i++) {
    if (!Object.is(actual[i], want[i])) {
      const j = i % defs.length;
      assert.fail(`matrix[${Math.floor(i / defs.length)}, ${defs[j].name}] = ${actual[i]}, expected ${want[i]}`);
    }
  }
}

/** Ascending rows, each kept with probability p (a fixed LCG, so the subset is the same every run). */
function subset(height: number, p: number, seed: number): Int32Array {
  let s = seed >>> 0;
  const keep: number[] = [];
  for (let i = 0; i < height; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    if (s / 2 ** 32 < p) keep.push(i);
  }
  return Int32Array.from(keep);
}

const frame = raggedFrame();
const all = Int32Array.from({ length: frame.height }, (_, i) => i);

Deno.test("computeFeatureMatrix: the full set equals the frame path rounded to Float32, all rows and a subset", () => {
  const kinds = new Set(FULL_FEATURES.map((d) => d.kind));
  assert.deepEqual([...kinds].sort(), ["cross-sectional", "expr", "row", "series"]);
  for (const rows of [all, subset(frame.height, 0.37, 5)]) {
    const m = computeFeatureMatrix(frame, FULL_FEATURES, rows);
    assert.equal(m.rows, rows.length);
    assert.equal(m.cols, FULL_FEATURES.length);
    assert.deepEqual(m.columns, FULL_FEATURES.map((d) => d.name));
    assertSame(m.data, expected(frame, FULL_FEATURES, rows), FULL_FEATURES);
  }
});

Deno.test("computeFeatureMatrix: shuffled definitions, cross-sectional ranks without their sources", () => {
  // Reverse order mixes kinds; CSR_RET5 (an expression source) and CSR_RSI14 (a series source) alone need their
  // sources evaluated but not written.
  const defs = [...FULL_FEATURES].reverse();
  const rows = subset(frame.height, 0.5, 9);
  assertSame(computeFeatureMatrix(frame, defs, rows).data, expected(frame, defs, rows), defs);
  const alone = FULL_FEATURES.filter((d) => ["CSR_RET5", "CSR_RSI14", "DOW"].includes(d.name));
  assert.equal(alone.length, 3);
  assertSame(computeFeatureMatrix(frame, alone, rows).data, expected(frame, alone, rows), alone);
});

Deno.test("computeFeatureMatrix: ±Inf from a series definition is NaN, in the matrix and in the rank of it", () => {
  // 1/(i mod 3): +Inf every third row, -Inf nowhere; its negation gives -Inf. Both must be stored as NaN, and the
  // cross-sectional rank must treat them as missing, exactly as the frame path does.
  const inverse = (sign: number): FeatureDef => ({
    kind: "series",
    name: sign > 0 ? "INV" : "NEG_INV",
    family: "test",
    lookback: 0,
    description: "sign / (row mod 3)",
    compute: (s) => Float64Array.from(s.close, (_, i) => sign / (i % 3)),
  });
  const source = inverse(-1);
  const rank: FeatureDef = {
    kind: "cross-sectional",
    name: "CSR_NEG_INV",
    family: "test",
    lookback: 0,
    description: "rank of NEG_INV",
    source,
  };
  const defs = [inverse(1), rank];
  const rows = subset(frame.height, 0.6, 4);
  const m = computeFeatureMatrix(frame, defs, rows);
  assertSame(m.data, expected(frame, defs, rows), defs);
  assert.ok(m.data.some((x) => Number.isNaN(x)) && m.data.every((x) => Number.isFinite(x) || Number.isNaN(x)));
});

Deno.test("computeFeatureMatrix: no rows gives an empty matrix; rows out of order or out of range are refused", () => {
  const empty = computeFeatureMatrix(frame, BASE_FEATURES, new Int32Array(0));
  assert.equal(empty.rows, 0);
  assert.equal(empty.data.length, 0);
  assert.throws(() => computeFeatureMatrix(frame, BASE_FEATURES, Int32Array.from([3, 2])), ConfigError);
  assert.throws(() => computeFeatureMatrix(frame, BASE_FEATURES, Int32Array.from([1, 1])), ConfigError);
  assert.throws(() => computeFeatureMatrix(frame, BASE_FEATURES, Int32Array.from([frame.height])), ConfigError);
  assert.throws(() => computeFeatureMatrix(frame, BASE_FEATURES, Int32Array.from([-1])), ConfigError);
});

Deno.test("computeFeatureMatrix: two threads (a worker sharing the symbols) give the same matrix as one", () => {
  for (const rows of [all, subset(frame.height, 0.3, 21)]) {
    const want = expected(frame, FULL_FEATURES, rows);
    const two = computeFeatureMatrix(frame, FULL_FEATURES, rows, { seriesThreads: "two" });
    assert.ok(two.data.buffer instanceof SharedArrayBuffer, "the worker wrote into shared memory");
    assertSame(two.data, want, FULL_FEATURES);
    assertSame(computeFeatureMatrix(frame, FULL_FEATURES, rows, { seriesThreads: "one" }).data, want, FULL_FEATURES);
  }
});

Deno.test("computeFeatureMatrix: a custom series definition keeps the evaluation on one thread, same values", () => {
  const custom: FeatureDef = {
    kind: "series",
    name: "CLOSE_SQ",
    family: "test",
    lookback: 0,
    description: "close squared",
    compute: (s) => Float64Array.from(s.close, (c) => c * c),
  };
  const defs = [...BASE_FEATURES, custom];
  const rows = subset(frame.height, 0.5, 2);
  const m = computeFeatureMatrix(frame, defs, rows, { seriesThreads: "two" });
  assert.ok(!(m.data.buffer instanceof SharedArrayBuffer), "no worker: the custom function exists only here");
  assertSame(m.data, expected(frame, defs, rows), defs);
});

Deno.test("feature worker: fills the rows of the symbols it takes; a failure reports the symbol it held, computed again", () => {
  const ranges = symbolRanges(frame);
  const series = FULL_FEATURES.filter((d): d is SeriesFeatureDef => d.kind === "series").slice(0, 20);
  const rows = all;
  const cols = series.length;
  const target = (): MatrixTarget => ({
    data: new Float32Array(rows.length * cols),
    cols,
    rows,
    firstRow: firstRows(ranges, rows),
    kept: Int32Array.from(series, (_, k) => k),
    targets: Int32Array.from(series, (_, k) => k),
    sources: new Int32Array(0),
    sourceValues: [],
  });
  const prices = {
    open: float64Column(frame, "open"),
    high: float64Column(frame, "high"),
    low: float64Column(frame, "low"),
    close: float64Column(frame, "close"),
    volume: float64Column(frame, "volume"),
  };
  const noDates = () => [];
  const whole = target();
  let next = 0;
  fillMatrix(prices, ranges, series, noDates, whole, () => next++);
  // The worker alone (the caller claims nothing and waits for it to start) fills a shared target identically.
  const shared = { ...target(), data: sharedFloat32(rows.length * cols) };
  assert.equal(startSeriesWorker(prices, ranges, series, shared).finish(20_000), -1);
  assertSame(shared.data, whole.data, series);
  // A job whose last definition is unknown fails on the first symbol it claims (2, after the caller took 0 and 1).
  const control = new Int32Array(new SharedArrayBuffer(16));
  control[NEXT] = 2;
  const partial = target();
  runSeriesJob({ control, prices, ranges, names: [...series.map((d) => d.name), "NO_SUCH_FEATURE"], target: partial });
  assert.equal(control[STATE], FAILED);
  assert.equal(control[FAILED_AT], 2);
  const [from, to] = [partial.firstRow[2], partial.firstRow[3]];
  assert.ok(partial.data.subarray(from * cols, to * cols).every((x) => x === 0), "symbol 2 was not written");
  computeAgain(prices, ranges, series, noDates, partial, 2);
  assertSame(partial.data.subarray(from * cols, to * cols), whole.data.subarray(from * cols, to * cols), series);
});
