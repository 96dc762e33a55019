import assert from "node:assert/strict";
import ref from "../fixtures/metrics/reference.json" with { type: "json" };
import { accuracySignificance, binomialTest, wilsonInterval } from "../../lib/metrics/mod.ts";

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
