/**
 * lib/distributions.ts serves `@stdlib`'s functions from one bundled file (lib/vendor/stdlib_distributions.cjs): each
 * must return exactly what the package itself returns, tails and edge cases included.
 */

import assert from "node:assert/strict";
import pkgBinomialCdf from "@stdlib/stats-base-dists-binomial-cdf";
import pkgBinomialPmf from "@stdlib/stats-base-dists-binomial-pmf";
import pkgNormalCdf from "@stdlib/stats-base-dists-normal-cdf";
import pkgNormalQuantile from "@stdlib/stats-base-dists-normal-quantile";
import pkgTCdf from "@stdlib/stats-base-dists-t-cdf";
import pkgTQuantile from "@stdlib/stats-base-dists-t-quantile";
import { binomialCdf, binomialPmf, normalCdf, normalQuantile, tCdf, tQuantile } from "../../lib/distributions.ts";

const XS = [-40, -8.5, -3, -1.96, -1e-9, 0, 1e-9, 0.5, 1.5, 2.7, 6, 38, NaN, Infinity, -Infinity];
const PS = [0, 1e-300, 1e-12, 1e-4, 0.025, 0.3, 0.5, 0.77, 0.975, 1 - 1e-9, 1, NaN, -0.1, 1.1];
const DOFS = [0.5, 1, 2, 3.5, 7, 30, 499, 1e6, 0, -1, NaN, Infinity];

function same(a: number, b: number, what: string) {
  assert.ok(Object.is(a, b), `${what}: bundle ${a}, package ${b}`);
}

Deno.test("bundled @stdlib distributions return exactly what the packages return", () => {
  for (const v of DOFS) {
    for (const x of XS) same(tCdf(x, v), pkgTCdf(x, v), `tCdf(${x}, ${v})`);
    for (const p of PS) same(tQuantile(p, v), pkgTQuantile(p, v), `tQuantile(${p}, ${v})`);
  }
  for (const [mu, sigma] of [[0, 1], [0.3, 2.5], [0, 0], [1, -1]]) {
    for (const x of XS) same(normalCdf(x, mu, sigma), pkgNormalCdf(x, mu, sigma), `normalCdf(${x}, ${mu}, ${sigma})`);
    for (const p of PS) {
      same(normalQuantile(p, mu, sigma), pkgNormalQuantile(p, mu, sigma), `normalQuantile(${p}, ${mu}, ${sigma})`);
    }
  }
  for (const n of [0, 1, 10, 41900, 1852973]) {
    for (const p of [0, 0.5, 0.516, 1 / 3, 1]) {
      for (const k of [-1, 0, 1, Math.floor(n / 2), n - 1, n, n + 1, 2.5]) {
        same(binomialCdf(k, n, p), pkgBinomialCdf(k, n, p), `binomialCdf(${k}, ${n}, ${p})`);
        same(binomialPmf(k, n, p), pkgBinomialPmf(k, n, p), `binomialPmf(${k}, ${n}, ${p})`);
      }
    }
  }
  // Known values (scipy.stats): t(7) CDF at 1.5, the t(100) 97.5 % quantile, Φ(−3), Φ⁻¹(0.025), Bin(50, ½) at 20.
  assert.ok(Math.abs(tCdf(1.5, 7) - 0.911350756505015) < 1e-14);
  assert.ok(Math.abs(tQuantile(0.975, 100) - 1.9839715185235518) < 1e-13);
  assert.ok(Math.abs(normalCdf(-3, 0, 1) - 0.0013498980316300933) < 1e-17);
  assert.ok(Math.abs(normalQuantile(0.025, 0, 1) + 1.9599639845400545) < 1e-14);
  assert.ok(Math.abs(binomialCdf(20, 50, 0.5) - 0.10131937553227033) < 1e-15);
  assert.ok(Math.abs(binomialPmf(20, 50, 0.5) - 0.04185914925255223) < 1e-15);
});
