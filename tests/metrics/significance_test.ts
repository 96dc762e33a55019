import assert from "node:assert/strict";
import ref from "../fixtures/metrics/reference.json" with { type: "json" };
import fc from "fast-check";
import { accuracySignificance, binomialTest, holmAdjusted, wilsonInterval } from "../../lib/metrics/mod.ts";

const rel = (a: number, b: number, tol: number, msg: string) =>
  assert.ok(Math.abs(a - b) <= tol * Math.max(Math.abs(b), 1e-300), `${msg}: ${a} vs ${b}`);

Deno.test("binomial test p-values equal scipy.stats.binomtest (greater, less, two-sided)", () => {
  for (const c of ref.binomial) {
    const what = `k=${c.k} n=${c.n} p=${c.p}`;
    rel(binomialTest(c.k, c.n, c.p, "greater"), c.greater, 1e-9, `${what} greater`);
    rel(binomialTest(c.k, c.n, c.p, "less"), c.less, 1e-9, `${what} less`);
    rel(binomialTest(c.k, c.n, c.p, "two-sided"), c.twoSided, 1e-9, `${what} two-sided`);
  }
});

Deno.test("Wilson intervals equal scipy's proportion_ci(method='wilson')", () => {
  for (const c of ref.binomial) {
    const a = wilsonInterval(c.k, c.n, 0.95);
    const b = wilsonInterval(c.k, c.n, 0.99);
    assert.ok(
      Math.abs(a.low - c.wilson95[0]) < 1e-12 && Math.abs(a.high - c.wilson95[1]) < 1e-12,
      `95 % ${c.k}/${c.n}`,
    );
    assert.ok(
      Math.abs(b.low - c.wilson99[0]) < 1e-12 && Math.abs(b.high - c.wilson99[1]) < 1e-12,
      `99 % ${c.k}/${c.n}`,
    );
  }
});

Deno.test("accuracySignificance bundles accuracy, one-sided p-value and interval", () => {
  const s = accuracySignificance(540, 1000);
  assert.equal(s.accuracy, 0.54);
  assert.equal(s.pValue, binomialTest(540, 1000, 0.5, "greater"));
  assert.ok(s.interval.low > 0.5 && s.interval.high < 0.58);
});

Deno.test("holmAdjusted: by hand, with NaNs left out of k and the adjusted values capped at 1", () => {
  // Sorted: 0.005 (×4 = 0.02), 0.01 (×3 = 0.03), 0.03 (×2 = 0.06), 0.04 (×1, raised to the running 0.06).
  const out = holmAdjusted([0.01, 0.04, 0.03, 0.005]);
  [0.03, 0.06, 0.06, 0.02].forEach((want, i) => assert.ok(Math.abs(out[i] - want) < 1e-15, `${out}`));
  const withNaN = holmAdjusted([NaN, 0.02, 0.5]);
  assert.ok(Number.isNaN(withNaN[0]));
  assert.ok(Math.abs(withNaN[1] - 0.04) < 1e-15 && withNaN[2] === 0.5, `${withNaN}`);
  assert.deepEqual(holmAdjusted([0.6, 0.7]), [1, 1]);
  assert.deepEqual(holmAdjusted([]), []);
});

Deno.test("holmAdjusted: property — between the raw p and Bonferroni's, in the raw p-values' order", () => {
  fc.assert(
    fc.property(fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { minLength: 1, maxLength: 12 }), (p) => {
      const adj = holmAdjusted(p);
      p.forEach((x, i) => {
        assert.ok(adj[i] >= x - 1e-15 && adj[i] <= Math.min(1, p.length * x) + 1e-15);
        p.forEach((y, j) => {
          if (x < y) assert.ok(adj[i] <= adj[j] + 1e-15);
        });
      });
    }),
  );
});

Deno.test("holmAdjusted: simulated — five true nulls, family-wise error at most α", () => {
  // Independent uniform p-values (every null true): rejecting where adjusted ≤ 0.05 should err in ≤ 5 % of families
  // (Holm keeps the family-wise rate at α; unadjusted, 1 − 0.95⁵ ≈ 23 % would).
  let state = 12345;
  const uniform = () => (state = (state * 1103515245 + 12345) % 2147483648) / 2147483648;
  let anyHolm = 0, anyRaw = 0;
  const families = 4000;
  for (let f = 0; f < families; f++) {
    const p = Array.from({ length: 5 }, uniform);
    if (holmAdjusted(p).some((x) => x <= 0.05)) anyHolm++;
    if (p.some((x) => x <= 0.05)) anyRaw++;
  }
  assert.ok(anyHolm / families <= 0.06, `Holm: ${anyHolm / families}`);
  assert.ok(anyRaw / families > 0.18, `unadjusted: ${anyRaw / families}`);
});
