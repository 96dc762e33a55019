/**
 * The series evaluator's chunking and per-symbol arena: chunks cover every symbol once, in order; evaluating in many
 * small chunks with arena arrays gives exactly what each symbol's definitions give computed on their own,
 * outside any scope (fresh arrays); arena arrays are reused only after the evaluator moves to the next symbol.
 */
import assert from "node:assert/strict";
import { FULL_FEATURES, type SeriesFeatureDef, type SymbolSeries } from "../../lib/mod.ts";
import { float64Column, symbolRanges, withPriceBasis } from "../../lib/features/definition.ts";
import { chunkPlan, evaluateSeriesFeatures, type SymbolRange } from "../../lib/features/series_eval.ts";
import { floats, withArena } from "../../lib/features/arena.ts";
import { randomWalkPanel } from "./_panels.ts";

Deno.test("chunk plan: every symbol once, in order, chunks within the row budget unless one symbol exceeds it", () => {
  const lengths = [5, 7, 3, 20, 1, 4, 4];
  const ranges: SymbolRange[] = [];
  let start = 0;
  lengths.forEach((n, i) => {
    ranges.push({ symbol: `S${i}`, start, end: start + n });
    start += n;
  });
  const chunks = chunkPlan(ranges, 10);
  assert.deepEqual(chunks.map((c) => [c.first, c.last]), [[0, 1], [1, 3], [3, 4], [4, 7]]);
  for (const c of chunks) {
    assert.equal(c.start, ranges[c.first].start);
    assert.equal(c.end, ranges[c.last - 1].end);
    assert.ok(c.end - c.start <= 10 || c.last - c.first === 1, `chunk ${c.first}..${c.last} over budget`);
  }
  assert.deepEqual(chunkPlan([], 10), []);
});

Deno.test("many small chunks with arena reuse equal each symbol computed alone with fresh arrays", () => {
  const basis = withPriceBasis(randomWalkPanel(41, 9, 130).frame);
  const ranges = symbolRanges(basis);
  const prices = {
    open: float64Column(basis, "px_open"),
    high: float64Column(basis, "px_high"),
    low: float64Column(basis, "px_low"),
    close: float64Column(basis, "px_close"),
    volume: float64Column(basis, "px_volume"),
  };
  const defs = FULL_FEATURES.filter((d): d is SeriesFeatureDef => d.kind === "series");
  // About two symbols per chunk: chunk boundaries and arena reuse both happen many times.
  const columns = evaluateSeriesFeatures(prices, ranges, defs, () => [], 8 * defs.length * 300);
  assert.ok(columns[0].nChunks() >= 4, `${columns[0].nChunks()} chunks`);
  const bad: string[] = [];
  for (const r of ranges) {
    const memo = new Map<string, unknown>();
    const s: SymbolSeries = {
      symbol: r.symbol,
      dates: [],
      open: prices.open.slice(r.start, r.end),
      high: prices.high.slice(r.start, r.end),
      low: prices.low.slice(r.start, r.end),
      close: prices.close.slice(r.start, r.end),
      volume: prices.volume.slice(r.start, r.end),
      memo<T>(key: string, compute: () => T): T {
        if (!memo.has(key)) memo.set(key, compute());
        return memo.get(key) as T;
      },
    };
    defs.forEach((d, k) => {
      const alone = d.compute(s);
      const chunked = (columns[k].toTypedArray() as Float64Array).subarray(r.start, r.end);
      for (let i = 0; i < alone.length; i++) {
        const a = Number.isFinite(alone[i]) ? alone[i] : Number.NaN;
        if (!Object.is(a, chunked[i]) && !(Number.isNaN(a) && Number.isNaN(chunked[i]))) {
          bad.push(`${d.name} ${r.symbol}[${i}]: alone ${a}, chunked ${chunked[i]}`);
          break;
        }
      }
    });
  }
  assert.deepEqual(bad, []);
});

Deno.test("arena arrays: fresh outside a scope, reused after the next symbol inside, separate when nested", () => {
  const a = floats(4);
  const b = floats(4);
  assert.notEqual(a.buffer, b.buffer, "outside a scope every array is new");
  withArena(8, (nextSymbol) => {
    const first = floats(5);
    const second = floats(5);
    assert.notEqual(first.buffer, second.buffer, "two live arrays of one symbol never share memory");
    nextSymbol();
    assert.equal(floats(3).buffer, first.buffer, "the next symbol reuses the first buffer");
    assert.equal(floats(100).length, 100, "a request above the capacity still gets a full array");
    withArena(8, () => {
      assert.notEqual(floats(5).buffer, second.buffer, "a nested evaluation has its own buffers");
    });
    assert.equal(floats(5).buffer, second.buffer, "the outer scope resumes where it was");
  });
  assert.notEqual(floats(4).buffer, floats(4).buffer);
});
