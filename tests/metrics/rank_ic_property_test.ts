/**
 * The rank IC against the definition of Spearman's correlation computed the slow, obvious way: each value's midrank is
 * the number of values below it plus half the number of other values equal to it (O(n²)), then Pearson's formula.
 * Inputs drawn from small pools force ties, mixed signs, −0 next to +0, subnormals and huge magnitudes — the cases a
 * bit-level sort could get wrong.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { rankInformationCoefficient } from "../../lib/mod.ts";

function naiveMidranks(x: number[]): number[] {
  return x.map((v) => {
    let below = 0, equal = 0;
    for (const w of x) {
      if (w < v) below++;
      else if (w === v) equal++;
    }
    return below + (equal - 1) / 2;
  });
}

function pearson(a: number[], b: number[]): number {
  const n = a.length;
  const ma = a.reduce((s, v) => s + v, 0) / n, mb = b.reduce((s, v) => s + v, 0) / n;
  let sab = 0, saa = 0, sbb = 0;
  for (let i = 0; i < n; i++) {
    sab += (a[i] - ma) * (b[i] - mb);
    saa += (a[i] - ma) ** 2;
    sbb += (b[i] - mb) ** 2;
  }
  return saa > 0 && sbb > 0 ? sab / Math.sqrt(saa * sbb) : NaN;
}

const POOL = [-1e300, -3.5, -1, -Number.MIN_VALUE, -0, 0, Number.MIN_VALUE, 2.2250738585072014e-308, 0.1, 1, 7, 1e300];
const value = fc.oneof(fc.constantFrom(...POOL), fc.double({ noNaN: true, noDefaultInfinity: true }));

Deno.test("rank IC equals Pearson on midranks computed by definition (ties, signs, ±0, extremes)", () => {
  fc.assert(
    fc.property(fc.array(fc.tuple(value, value), { minLength: 2, maxLength: 300 }), (pairs) => {
      const x = pairs.map((p) => p[0]), y = pairs.map((p) => p[1]);
      const expected = pearson(naiveMidranks(x), naiveMidranks(y));
      const got = rankInformationCoefficient(x, y);
      if (Number.isNaN(expected)) assert.ok(Number.isNaN(got), `expected NaN, got ${got}`);
      else assert.ok(Math.abs(got - Math.max(-1, Math.min(1, expected))) < 1e-9, `${got} vs ${expected}`);
    }),
    { numRuns: 300 },
  );
});

Deno.test("rank IC equals the definition on samples long enough for the radix argsort (ties, signs, ±0, extremes)", () => {
  // Samples under 512 values are ranked by a comparison sort, longer ones by the radix sort on the bits (11-bit
  // digits; 16-bit ones from 262,144 values, tested below): the same edge cases through the second path.
  fc.assert(
    fc.property(fc.array(fc.tuple(value, value), { minLength: 512, maxLength: 1500 }), (pairs) => {
      const x = pairs.map((p) => p[0]), y = pairs.map((p) => p[1]);
      const expected = pearson(naiveMidranks(x), naiveMidranks(y));
      const got = rankInformationCoefficient(x, y);
      if (Number.isNaN(expected)) assert.ok(Number.isNaN(got), `expected NaN, got ${got}`);
      else assert.ok(Math.abs(got - Math.max(-1, Math.min(1, expected))) < 1e-9, `${got} vs ${expected}`);
    }),
    { numRuns: 20 },
  );
});

Deno.test("rank IC of a large sample with heavy ties matches the definition computed by counting", () => {
  // 20,000 values over 50 distinct levels: every value tied with ~400 others, so the runs of ties decide the answer.
  const n = 20_000;
  let s = 7;
  const rnd = () => (s = (s * 1103515245 + 12345) % 2147483648) / 2147483648;
  const x = Array.from({ length: n }, () => Math.floor(rnd() * 50) - 25);
  const y = x.map((v) => v + Math.floor(rnd() * 20));
  // Midranks by counting levels: below(v) + (count(v) − 1) / 2.
  const ranksOf = (a: number[]) => {
    const counts = new Map<number, number>();
    for (const v of a) counts.set(v, (counts.get(v) ?? 0) + 1);
    const levels = [...counts.keys()].sort((p, q) => p - q);
    const rank = new Map<number, number>();
    let below = 0;
    for (const l of levels) {
      rank.set(l, below + (counts.get(l)! - 1) / 2);
      below += counts.get(l)!;
    }
    return a.map((v) => rank.get(v)!);
  };
  const expected = pearson(ranksOf(x), ranksOf(y));
  assert.ok(Math.abs(rankInformationCoefficient(x, y) - expected) < 1e-12);
});

for (const n of [9_000, 270_000]) {
  Deno.test(`rank IC above the radix threshold: ±0, subnormals and extremes ranked as the definition ranks them (${n} pairs)`, () => {
    // Pairs drawn from the pool of edge cases: 9,000 go through the radix sort with 11-bit digits, 270,000 through the
    // one with 16-bit digits.
    let s = 11;
    const rnd = () => (s = (s * 1103515245 + 12345) % 2147483648) / 2147483648;
    const x = Array.from({ length: n }, () => POOL[Math.floor(rnd() * POOL.length)]);
    const y = Array.from({ length: n }, (_, i) => (rnd() < 0.7 ? x[i] : POOL[Math.floor(rnd() * POOL.length)]));
    // Midranks by counting: below(v) + (count(v) − 1) / 2, with −0 and +0 one level (a Map's SameValueZero keys).
    const ranksOf = (a: number[]) => {
      const counts = new Map<number, number>();
      for (const v of a) counts.set(v, (counts.get(v) ?? 0) + 1);
      let below = 0;
      const rank = new Map<number, number>();
      for (const l of [...counts.keys()].sort((p, q) => p - q)) {
        rank.set(l, below + (counts.get(l)! - 1) / 2);
        below += counts.get(l)!;
      }
      return a.map((v) => rank.get(v)!);
    };
    const expected = pearson(ranksOf(x), ranksOf(y));
    assert.ok(Math.abs(rankInformationCoefficient(x, y) - expected) < 1e-12);
  });
}
