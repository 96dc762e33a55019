import assert from "node:assert/strict";
import { xoroshiro128plus } from "pure-rand/generator/xoroshiro128plus";
import { uniformFloat64 } from "pure-rand/distribution/uniformFloat64";
import { uniformInt } from "pure-rand/distribution/uniformInt";
import {
  bootstrapBlockLength,
  bootstrapCorrelation,
  bootstrapDates,
  bootstrapMean,
  bootstrapSharpeDifference,
  circularBlockResamples,
} from "../../lib/metrics/bootstrap.ts";
import { accuracySignificance } from "../../lib/metrics/significance.ts";

/** Standard normal draws by Box–Muller from a seeded generator. */
function normals(seed: number): () => number {
  const rng = xoroshiro128plus(seed);
  return () => {
    const u = Math.max(uniformFloat64(rng), 1e-300);
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * uniformFloat64(rng));
  };
}

Deno.test("bootstrap: the block length rule is max(2h, ceil(n^(1/3))) and never exceeds n", () => {
  assert.equal(bootstrapBlockLength(1000, 1), 10);
  assert.equal(bootstrapBlockLength(1000, 20), 40);
  assert.equal(bootstrapBlockLength(4096, 5), 16);
  assert.equal(bootstrapBlockLength(9, 2), 4);
  assert.equal(bootstrapBlockLength(3, 5), 3);
});

Deno.test("bootstrap: replayed resamples are the draws themselves, whatever was drawn in between", () => {
  // Reference: the circular block draw written out here, from its own generator with the same seed.
  const reference = (n: number, L: number, B: number, seed: number) => {
    const rng = xoroshiro128plus(seed);
    const out: number[][] = [];
    for (let b = 0; b < B; b++) {
      const w = new Array(n).fill(0);
      for (let drawn = 0; drawn < n;) {
        const start = uniformInt(rng, 0, n - 1);
        for (let k = 0; k < L && drawn < n; k++, drawn++) w[(start + k) % n]++;
      }
      out.push(w);
    }
    return out;
  };
  // Each yielded array is copied before the next is drawn (the generator reuses it).
  const draw = (n: number, L: number, B: number, seed: number) =>
    Array.from(circularBlockResamples(n, L, B, seed), (w) => Array.from(w));
  const keys: [number, number, number, number][] = [[40, 6, 30, 1], [40, 6, 30, 2], [33, 5, 30, 1], [40, 6, 30, 1]];
  for (const [n, L, B, seed] of keys) {
    const expected = reference(n, L, B, seed);
    assert.deepEqual(draw(n, L, B, seed), expected, `first draw ${n}/${L}/${B}/${seed}`);
    assert.deepEqual(draw(n, L, B, seed), expected, `replay ${n}/${L}/${B}/${seed}`);
  }
});

Deno.test("bootstrap: read at some dates, the resamples are the full draws at those dates; mean and correlation unchanged", () => {
  const n = 60, L = 6, B = 200;
  const dates = Int32Array.from([0, 7, 8, 9, 33, 59]);
  const full = Array.from(circularBlockResamples(n, L, B, 5), (w) => Array.from(w));
  const gathered = Array.from(circularBlockResamples(n, L, B, 5, dates), (w) => Array.from(w));
  assert.deepEqual(gathered, full.map((w) => Array.from(dates, (d) => w[d])));
  // A row-level mean and a correlation observed on a few dates only: the same estimates, bit for bit, as the
  // statistic written over every date (dates without rows weigh in with zero sums).
  const rand = normals(8);
  const dateOf = Int32Array.from({ length: 40 }, (_, i) => dates[i % dates.length]);
  const x = Float64Array.from(dateOf, () => rand()), y = Float64Array.from(x, (v) => v + rand());
  const sum = new Float64Array(n), cnt = new Float64Array(n);
  dateOf.forEach((d, i) => {
    sum[d] += x[i];
    cnt[d]++;
  });
  const direct = bootstrapDates(n, 1, (w) => {
    let num = 0, den = 0;
    for (let d = 0; d < n; d++) {
      if (w[d] === 0) continue;
      num += w[d] * sum[d];
      den += w[d] * cnt[d];
    }
    return den > 0 ? num / den : NaN;
  }, { seed: 3 });
  assert.deepStrictEqual(bootstrapMean(x, dateOf, n, 1, { seed: 3 }), direct);
  const sx = new Float64Array(n), sy = new Float64Array(n), sxx = new Float64Array(n), syy = new Float64Array(n);
  const sxy = new Float64Array(n);
  dateOf.forEach((d, i) => {
    sx[d] += x[i];
    sy[d] += y[i];
    sxx[d] += x[i] * x[i];
    syy[d] += y[i] * y[i];
    sxy[d] += x[i] * y[i];
  });
  const pearson = bootstrapDates(n, 1, (w) => {
    let a = 0, b = 0, aa = 0, bb = 0, ab = 0, m = 0;
    for (let d = 0; d < n; d++) {
      if (w[d] === 0) continue;
      a += w[d] * sx[d];
      b += w[d] * sy[d];
      aa += w[d] * sxx[d];
      bb += w[d] * syy[d];
      ab += w[d] * sxy[d];
      m += w[d] * cnt[d];
    }
    if (m < 2) return NaN;
    const cov = ab - (a * b) / m, va = aa - (a * a) / m, vb = bb - (b * b) / m;
    return va > 0 && vb > 0 ? cov / Math.sqrt(va * vb) : NaN;
  }, { seed: 3 });
  const r = bootstrapCorrelation(x, y, dateOf, n, 1, { seed: 3 });
  assert.deepStrictEqual(r, pearson);
  assert.ok(r.estimate > 0.4 && r.estimate < 1, `correlation ${r.estimate}`);
});

Deno.test("bootstrap: circular block resamples draw n dates, in runs of the block length, every date equally often", () => {
  const n = 50, L = 7, B = 4000;
  const total = new Float64Array(n);
  for (const w of circularBlockResamples(n, L, B, 3)) {
    assert.equal(w.reduce((a, b) => a + b, 0), n);
    for (let d = 0; d < n; d++) total[d] += w[d];
  }
  // Circular blocks: each date's expected count is exactly 1 per replicate (no edge effect).
  for (let d = 0; d < n; d++) assert.ok(Math.abs(total[d] / B - 1) < 0.12, `date ${d}: ${total[d] / B}`);
});

Deno.test("bootstrap: on independent rows the interval of a mean matches the normal-theory one", () => {
  const z = normals(11);
  const n = 2000;
  const values = Float64Array.from({ length: n }, () => 1 + 2 * z());
  const dateOf = Int32Array.from({ length: n }, (_, i) => i);
  const b = bootstrapMean(values, dateOf, n, 1, { seed: 5 });
  const mean = values.reduce((a, c) => a + c, 0) / n;
  const sd = Math.sqrt(values.reduce((a, c) => a + (c - mean) ** 2, 0) / (n - 1));
  assert.ok(Math.abs(b.estimate - mean) < 1e-12);
  // Standard error of the mean sd/√n ≈ 0.0447; the block bootstrap's should be within 15 %.
  assert.ok(Math.abs(b.se / (sd / Math.sqrt(n)) - 1) < 0.15, `se ${b.se} vs ${sd / Math.sqrt(n)}`);
  assert.ok(b.ci[0] < mean && mean < b.ci[1]);
  assert.ok(b.pValue < 0.001, "a mean 22 standard errors above 0 is significant");
});

Deno.test("bootstrap: correlation and Sharpe-difference estimates equal the plain formulas on the data", () => {
  const z = normals(2);
  const n = 500;
  const x = Float64Array.from({ length: n }, () => z());
  const y = Float64Array.from(x, (v) => 0.3 * v + z());
  const dateOf = Int32Array.from({ length: n }, (_, i) => Math.floor(i / 5));
  const r = bootstrapCorrelation(x, y, dateOf, 100, 1, { seed: 1, replicates: 200 });
  const mx = x.reduce((a, b) => a + b) / n, my = y.reduce((a, b) => a + b) / n;
  let sxy = 0, sxx = 0, syy = 0;
  for (let i = 0; i < n; i++) {
    sxy += (x[i] - mx) * (y[i] - my);
    sxx += (x[i] - mx) ** 2;
    syy += (y[i] - my) ** 2;
  }
  assert.ok(Math.abs(r.estimate - sxy / Math.sqrt(sxx * syy)) < 1e-12);
  const a = Float64Array.from({ length: 300 }, () => 0.001 + 0.01 * z());
  const b = Float64Array.from({ length: 300 }, () => 0.01 * z());
  const sharpe = (s: Float64Array) => {
    const m = s.reduce((p, c) => p + c) / s.length;
    const sd = Math.sqrt(s.reduce((p, c) => p + (c - m) ** 2, 0) / (s.length - 1));
    return (m / sd) * Math.sqrt(252);
  };
  const d = bootstrapSharpeDifference(a, b, 1, 252, { seed: 1, replicates: 200 });
  assert.ok(Math.abs(d.estimate - (sharpe(a) - sharpe(b))) < 1e-9);
});

/**
 * A random-walk panel with a market factor (correlated symbols), overlapping 5-day labels, and a "market timing"
 * model whose calls are persistent and the same for every symbol of a date, independent of the returns: its true
 * accuracy edge over the coin flip is exactly 0.
 */
function panelHits(seed: number, symbols: number, dates: number, horizon: number): {
  hits: Float64Array;
  dateOf: Int32Array;
} {
  const z = normals(seed);
  const T = dates + horizon;
  const market = Float64Array.from({ length: T }, () => z());
  const daily: Float64Array[] = Array.from({ length: symbols }, () => Float64Array.from(market, (m) => m + z()));
  const call = new Float64Array(dates);
  let ar = z();
  for (let t = 0; t < dates; t++) {
    ar = 0.8 * ar + Math.sqrt(1 - 0.64) * z();
    call[t] = ar > 0 ? 1 : 0;
  }
  const hits = new Float64Array(symbols * dates);
  const dateOf = new Int32Array(symbols * dates);
  for (let s = 0; s < symbols; s++) {
    for (let t = 0; t < dates; t++) {
      let y = 0;
      for (let k = 1; k <= horizon; k++) y += daily[s][t + k];
      const i = s * dates + t;
      hits[i] = (y > 0 ? 1 : 0) === call[t] ? 0.5 : -0.5; // hit − coin flip
      dateOf[i] = t;
    }
  }
  return { hits, dateOf };
}

Deno.test("bootstrap: over 200 random-walk panels with overlapping h = 5 labels the 95% interval covers the true edge (0) at least 90% of the time, where the naive binomial one does not", () => {
  const panels = 200, symbols = 10, dates = 400, horizon = 5;
  let covered = 0, naiveCovered = 0;
  for (let p = 0; p < panels; p++) {
    const { hits, dateOf } = panelHits(1000 + p, symbols, dates, horizon);
    const b = bootstrapMean(hits, dateOf, dates, horizon, { seed: p, replicates: 400 });
    if (b.ci[0] <= 0 && 0 <= b.ci[1]) covered++;
    const n = hits.length;
    const k = hits.reduce((a, h) => a + (h > 0 ? 1 : 0), 0);
    const naive = accuracySignificance(k, n).interval;
    if (naive.low <= 0.5 && 0.5 <= naive.high) naiveCovered++;
  }
  assert.ok(covered / panels >= 0.9, `block bootstrap covered 0 in ${covered} of ${panels}`);
  // The test can fail: rows that are not independent make the naive interval far too narrow.
  assert.ok(naiveCovered / panels < 0.75, `naive binomial covered 0 in ${naiveCovered} of ${panels}`);
});
