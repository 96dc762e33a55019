/**
 * The synthetic market: determinism, round trip through CSV, stylized facts of daily returns, (un)predictability
 * measured with a least-squares model written here, and the reported theoretical accuracy against the realized hit
 * rate of the oracle rule, recomputed from prices alone.
 */

import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import normalCdf from "@stdlib/stats-base-dists-normal-cdf";
import tCdf from "@stdlib/stats-base-dists-t-cdf";
import { xoroshiro128plus } from "pure-rand/generator/xoroshiro128plus";
import { ConfigError } from "../../lib/errors.ts";
import { loadPanel } from "../../lib/data/load.ts";
import type { Panel } from "../../lib/data/panel.ts";
import { CLOSED_FORM_MAX_NU, integerTCdf, UnitStudentT, Variates } from "../../lib/data/student_t.ts";
import { businessDays, syntheticMarket } from "../../lib/data/synthetic.ts";
import { writePanelCsv } from "../../lib/data/write.ts";

/** Per-symbol series of adj_close (symbols in panel order). */
function closesBySymbol(panel: Panel): Float64Array[] {
  const closes = panel.frame.getColumn("adj_close").toTypedArray() as Float64Array;
  const days = panel.dates.length;
  return panel.symbols.map((_, k) => closes.subarray(k * days, (k + 1) * days));
}

function logReturns(close: Float64Array): Float64Array {
  const r = new Float64Array(close.length - 1);
  for (let t = 1; t < close.length; t++) r[t - 1] = Math.log(close[t] / close[t - 1]);
  return r;
}

function autocorrelation(x: ArrayLike<number>, lag: number): number {
  let mean = 0;
  for (let i = 0; i < x.length; i++) mean += x[i];
  mean /= x.length;
  let num = 0;
  let den = 0;
  for (let i = 0; i < x.length; i++) {
    den += (x[i] - mean) ** 2;
    if (i >= lag) num += (x[i] - mean) * (x[i - lag] - mean);
  }
  return num / den;
}

function excessKurtosis(x: ArrayLike<number>): number {
  let mean = 0;
  for (let i = 0; i < x.length; i++) mean += x[i];
  mean /= x.length;
  let m2 = 0;
  let m4 = 0;
  for (let i = 0; i < x.length; i++) {
    const d = x[i] - mean;
    m2 += d * d;
    m4 += d ** 4;
  }
  m2 /= x.length;
  m4 /= x.length;
  return m4 / (m2 * m2) - 3;
}

/** Solves A x = b (A symmetric positive definite, small) by Gaussian elimination with partial pivoting. */
function solve(A: number[][], b: number[]): number[] {
  const n = b.length;
  const M = A.map((row, i) => [...row, b[i]]);
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(M[r][c]) > Math.abs(M[p][c])) p = r;
    [M[c], M[p]] = [M[p], M[c]];
    for (let r = c + 1; r < n; r++) {
      const f = M[r][c] / M[c][c];
      for (let k = c; k <= n; k++) M[r][k] -= f * M[c][k];
    }
  }
  const x = new Array(n).fill(0);
  for (let r = n - 1; r >= 0; r--) {
    let s = M[r][n];
    for (let k = r + 1; k < n; k++) s -= M[r][k] * x[k];
    x[r] = s / M[r][r];
  }
  return x;
}

/**
 * Pooled least squares of the next-day log return on an intercept and the last `lags` daily log returns, fitted on
 * days before the midpoint (targets included), evaluated on the days after: out-of-sample direction accuracy.
 */
function leastSquaresDirectionAccuracy(panel: Panel, lags = 5): number {
  const series = closesBySymbol(panel).map(logReturns);
  const T = series[0].length;
  const split = Math.floor(T / 2);
  const p = lags + 1;
  const xtx = Array.from({ length: p }, () => new Array(p).fill(0));
  const xty = new Array(p).fill(0);
  const features = (r: Float64Array, t: number) => [1, ...Array.from({ length: lags }, (_, k) => r[t - k])];
  for (const r of series) {
    for (let t = lags - 1; t + 1 < split; t++) {
      const x = features(r, t);
      for (let i = 0; i < p; i++) {
        xty[i] += x[i] * r[t + 1];
        for (let j = 0; j < p; j++) xtx[i][j] += x[i] * x[j];
      }
    }
  }
  const w = solve(xtx, xty);
  let hits = 0;
  let n = 0;
  for (const r of series) {
    for (let t = split; t + 1 < T; t++) {
      const x = features(r, t);
      const pred = x.reduce((s, v, i) => s + v * w[i], 0);
      if ((pred > 0) === (r[t + 1] > 0)) hits++;
      n++;
    }
  }
  return hits / n;
}

Deno.test("defaults: 20 symbols × 2520 weekdays from 2010-01-04, planted, theoretical accuracy in [0.55, 0.60]", () => {
  const m = syntheticMarket();
  assert.equal(m.panel.symbols.length, 20);
  assert.equal(m.panel.dates.length, 2520);
  assert.equal(m.panel.frame.height, 20 * 2520);
  assert.equal(m.panel.dates[0], "2010-01-04");
  assert.equal(m.params.mode, "planted");
  assert.equal(m.params.seed, 42);
  assert.ok(m.theoreticalAccuracy > 0.55 && m.theoreticalAccuracy < 0.6, String(m.theoreticalAccuracy));
  assert.deepEqual(m.panel.warnings, []);
  assert.deepEqual(m.panel.extraColumns, []);
});

Deno.test("business days: weekdays only, weekend start moves to Monday", () => {
  assert.deepEqual(businessDays("2021-01-01", 4), ["2021-01-01", "2021-01-04", "2021-01-05", "2021-01-06"]);
  assert.deepEqual(businessDays("2021-01-02", 2), ["2021-01-04", "2021-01-05"]);
  const days = businessDays("2010-01-04", 2520);
  assert.equal(days.length, 2520);
  assert.ok(days.every((d) => ![0, 6].includes(new Date(`${d}T00:00:00Z`).getUTCDay())));
  assert.throws(() => businessDays("2021-13-01", 1), ConfigError);
});

Deno.test("seeded: same seed → identical data; other seed → different; a symbol's path ignores how many are drawn", () => {
  const a = syntheticMarket({ symbols: 3, days: 200, seed: 7 });
  const b = syntheticMarket({ symbols: 3, days: 200, seed: 7 });
  const c = syntheticMarket({ symbols: 3, days: 200, seed: 8 });
  for (const col of a.panel.frame.columns) {
    assert.deepEqual(a.panel.frame.getColumn(col).toArray(), b.panel.frame.getColumn(col).toArray(), col);
  }
  assert.equal(a.theoreticalAccuracy, b.theoreticalAccuracy);
  assert.notDeepEqual(a.panel.frame.getColumn("close").toArray(), c.panel.frame.getColumn("close").toArray());
  const wide = syntheticMarket({ symbols: 5, days: 200, seed: 7 });
  const closes = closesBySymbol(wide.panel);
  assert.deepEqual([...closesBySymbol(a.panel)[1]], [...closes[1]]);
});

Deno.test("round trip: writePanelCsv (plain and gzip) → loadPanel gives back exactly the same panel", async () => {
  const m = syntheticMarket({ symbols: 3, days: 300, seed: 1, exposeDriver: true });
  for (const gzip of [false, true]) {
    const dir = mkdtempSync(join(tmpdir(), "candor-synth-"));
    try {
      const paths = writePanelCsv(m.panel, dir, { gzip });
      assert.deepEqual(paths, m.panel.symbols.map((s) => join(dir, `${s}.csv${gzip ? ".gz" : ""}`)));
      const back = await loadPanel(dir);
      assert.deepEqual(back.symbols, m.panel.symbols);
      assert.deepEqual(back.dates, m.panel.dates);
      assert.deepEqual(back.extraColumns, ["driver"]);
      assert.deepEqual(back.warnings, []);
      for (const c of m.panel.frame.columns) {
        assert.deepEqual(back.frame.getColumn(c).toArray(), m.panel.frame.getColumn(c).toArray(), c);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
});

Deno.test("bars are consistent: low ≤ open, close ≤ high, prices > 0, integer volume ≥ 0", () => {
  const f = syntheticMarket({ symbols: 5, days: 1000, seed: 3 }).panel.frame;
  const get = (c: string) => f.getColumn(c).toTypedArray() as Float64Array;
  const [o, h, l, c, v] = ["open", "high", "low", "close", "volume"].map(get);
  for (let i = 0; i < f.height; i++) {
    assert.ok(l[i] > 0 && l[i] <= o[i] && l[i] <= c[i] && o[i] <= h[i] && c[i] <= h[i], `row ${i}`);
    assert.ok(v[i] >= 0 && Number.isInteger(v[i]), `row ${i}`);
  }
});

Deno.test("stylized facts: daily vol 1–2.5 %, fat tails, volatility clustering stronger than return autocorrelation", () => {
  const m = syntheticMarket({ symbols: 10, days: 5000, seed: 11, mode: "random-walk" });
  let meanAcfSq = 0;
  for (const close of closesBySymbol(m.panel)) {
    const r = logReturns(close);
    const sd = Math.sqrt(r.reduce((s, x) => s + x * x, 0) / r.length);
    assert.ok(sd > 0.01 && sd < 0.025, `daily vol ${sd}`);
    assert.ok(excessKurtosis(r) > 1, `excess kurtosis ${excessKurtosis(r)}`);
    const squared = r.map((x) => x * x);
    const acfSq = autocorrelation(squared, 1);
    const acf = autocorrelation(r, 1);
    assert.ok(acfSq > Math.abs(acf), `acf(r²) ${acfSq} vs acf(r) ${acf}`);
    assert.ok(Math.abs(acf) < 0.06, `random walk acf(r) ${acf}`);
    meanAcfSq += acfSq / m.panel.symbols.length;
  }
  assert.ok(meanAcfSq > 0.08, `mean acf(r²) ${meanAcfSq}`);
});

function correlation(x: ArrayLike<number>, y: ArrayLike<number>): number {
  let mx = 0;
  let my = 0;
  for (let i = 0; i < x.length; i++) {
    mx += x[i];
    my += y[i];
  }
  mx /= x.length;
  my /= y.length;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < x.length; i++) {
    sxy += (x[i] - mx) * (y[i] - my);
    sxx += (x[i] - mx) ** 2;
    syy += (y[i] - my) ** 2;
  }
  return sxy / Math.sqrt(sxx * syy);
}

const mean = (x: readonly number[]) => x.reduce((s, v) => s + v, 0) / x.length;

Deno.test("market factor: pairwise return correlations are positive and match the betas and volatilities", () => {
  // Shocks are β_i·σ_m·z_m + σ_u,i·z_u,i with unit-variance, independent z and unconditional GARCH variances σ_m²
  // (marketVol²) and σ̄_u,i², so corr(i, j) = β_i β_j σ_m² / √((β_i² σ_m² + σ̄_u,i²)(β_j² σ_m² + σ̄_u,j²)). The planted
  // mean φ·S filters every symbol's shocks through the same linear recursion; shocks being serially uncorrelated, that
  // scales covariances and variances alike and leaves the correlation unchanged, so both modes are checked.
  //
  // Tolerance: the error is dominated by the market factor's realized variance over the sample, which GARCH
  // persistence (α + β = 0.98) and t(6) tails make vary by tens of percent between 10-year samples; it shifts every
  // pair of one market together. Over 30 seeds, one market's mean pairwise correlation (10 symbols × 2520 days) was
  // off by sd 0.044 (mean +0.002), so the mean of 8 markets has sd ≈ 0.016 and 0.06 is ≈ 4 sd; a missing factor (0)
  // or a factor at twice the variance (≈ +0.15) fails it. Between pairs of one market the shared shift cancels:
  // realized and implied correlations, each centred on its market's mean, correlate at ≈ 0.9–0.95 over 8 markets × 45
  // pairs (per-pair noise ≈ 0.03 against an implied spread of ≈ 0.08), so > 0.7 is a loose floor that betas or
  // idiosyncratic vols other than the reported ones would still fail.
  const realizedMeans: number[] = [];
  const impliedMeans: number[] = [];
  const realizedCentred: number[] = [];
  const impliedCentred: number[] = [];
  for (let seed = 1; seed <= 8; seed++) {
    const m = syntheticMarket({ symbols: 10, days: 2520, seed, mode: seed % 2 === 0 ? "random-walk" : "planted" });
    const returns = closesBySymbol(m.panel).map(logReturns);
    const s2 = m.params.market.vol ** 2;
    const { betas, idiosyncraticVols: u } = m.params;
    const realized: number[] = [];
    const implied: number[] = [];
    for (let i = 0; i < returns.length; i++) {
      for (let j = i + 1; j < returns.length; j++) {
        realized.push(correlation(returns[i], returns[j]));
        implied.push(
          betas[i] * betas[j] * s2 / Math.sqrt((betas[i] ** 2 * s2 + u[i] ** 2) * (betas[j] ** 2 * s2 + u[j] ** 2)),
        );
      }
    }
    const r = mean(realized);
    const e = mean(implied);
    assert.ok(r > 0.15, `seed ${seed}: mean pairwise correlation ${r} (implied ${e})`);
    realizedMeans.push(r);
    impliedMeans.push(e);
    realizedCentred.push(...realized.map((x) => x - r));
    impliedCentred.push(...implied.map((x) => x - e));
  }
  const realized = mean(realizedMeans);
  const implied = mean(impliedMeans);
  assert.ok(implied > 0.2 && implied < 0.5, `implied mean correlation ${implied}`);
  assert.ok(Math.abs(realized - implied) < 0.06, `realized ${realized} vs implied ${implied}`);
  const crossPair = correlation(realizedCentred, impliedCentred);
  assert.ok(crossPair > 0.7, `pairs with higher implied correlation are more correlated: ${crossPair}`);
});

Deno.test("random walk: a least-squares model on lagged returns gets ~50 % out of sample", () => {
  for (const seed of [1, 2]) {
    const m = syntheticMarket({ mode: "random-walk", seed });
    assert.equal(m.params.signalCoefficient, 0);
    const acc = leastSquaresDirectionAccuracy(m.panel);
    assert.ok(Math.abs(acc - 0.5) < 0.02, `seed ${seed}: accuracy ${acc}`);
    assert.ok(Math.abs(m.theoreticalAccuracy - 0.5) < 0.01, `theoretical ${m.theoreticalAccuracy}`);
  }
});

Deno.test("planted: the same least-squares model clearly beats 50 % and approaches the theoretical accuracy", () => {
  const m = syntheticMarket();
  const acc = leastSquaresDirectionAccuracy(m.panel);
  assert.ok(acc > 0.54, `accuracy ${acc}`);
  assert.ok(
    acc > m.theoreticalAccuracy - 0.02 && acc < m.theoreticalAccuracy + 0.015,
    `${acc} vs ${m.theoreticalAccuracy}`,
  );
});

Deno.test("the driver is the past K-day log return (from prices alone), and the oracle's hit rate matches theory", () => {
  for (const opts of [{}, { signalKind: "momentum" as const, signalStrength: 0.4, signalLookback: 3 }]) {
    const m = syntheticMarket({ symbols: 20, days: 10_000, seed: 5, exposeDriver: true, ...opts });
    const K = m.params.signalLookback;
    const phi = m.params.signalCoefficient;
    const days = m.panel.dates.length;
    const driver = m.panel.frame.getColumn("driver").toTypedArray() as Float64Array;
    let hits = 0;
    let n = 0;
    closesBySymbol(m.panel).forEach((close, k) => {
      for (let t = 0; t + 1 < days; t++) {
        const d = driver[k * days + t];
        if (t >= K) {
          const fromPrices = m.params.drift + phi * Math.log(close[t] / close[t - K]);
          assert.ok(Math.abs(d - fromPrices) < 1e-9, `driver ${d} vs ${fromPrices}`);
        }
        const next = Math.log(close[t + 1] / close[t]);
        if ((d > 0 && next > 0) || (d < 0 && next < 0)) hits++;
        n++;
      }
    });
    const realized = hits / n;
    const se = Math.sqrt(m.theoreticalAccuracy * (1 - m.theoreticalAccuracy) / n);
    assert.ok(
      Math.abs(realized - m.theoreticalAccuracy) < 5 * se,
      `${realized} vs ${m.theoreticalAccuracy} (se ${se})`,
    );
    assert.ok(Math.abs(realized - m.realizedOracleAccuracy) < 1e-12);
  }
});

Deno.test("Student-t sampler: unit variance and the exact @stdlib CDF (Kolmogorov–Smirnov)", () => {
  const v = new Variates(xoroshiro128plus(123));
  const t5 = UnitStudentT.of(5);
  const n = 50_000;
  const xs = Float64Array.from({ length: n }, () => v.studentT(5)).sort();
  const variance = xs.reduce((s, x) => s + x * x, 0) / n;
  assert.ok(Math.abs(variance - 1) < 0.06, `variance ${variance}`);
  let ks = 0;
  for (let i = 0; i < n; i++) {
    const F = t5.exactCdf(xs[i]);
    ks = Math.max(ks, Math.abs(F - i / n), Math.abs(F - (i + 1) / n));
  }
  assert.ok(ks < 1.63 / Math.sqrt(n), `KS ${ks}`); // 1 % critical value
});

Deno.test("integer-ν closed-form t CDF equals @stdlib's incomplete-beta CDF (ν = 1 … 64, tails included)", () => {
  const xs = [-1e6, -300, -40, -12.5, -3, -1.7, -0.4, -1e-9, 0, 1e-9, 0.25, 1, 2.2, 6, 25, 1e4];
  for (let nu = 1; nu <= CLOSED_FORM_MAX_NU; nu++) {
    for (const x of xs) {
      const got = integerTCdf(x, nu), want = tCdf(x, nu);
      // absolute error near the centre, relative in the far left tail (where both are tiny)
      assert.ok(Math.abs(got - want) <= 1e-13 + 1e-9 * want, `ν ${nu}, t ${x}: ${got} vs ${want}`);
    }
  }
  assert.equal(integerTCdf(Infinity, 3), 1);
  assert.equal(integerTCdf(-Infinity, 3), 0);
  assert.ok(Number.isNaN(integerTCdf(NaN, 3)));
  // Known values: ν = 1 is Cauchy (1/2 + atan(t)/π); ν = 2 is 1/2 + t / (2√(2 + t²)).
  assert.ok(Math.abs(integerTCdf(1, 1) - 0.75) < 1e-15);
  assert.ok(Math.abs(integerTCdf(2, 2) - (0.5 + 2 / (2 * Math.sqrt(6)))) < 1e-15);
  // A fractional or large ν goes through @stdlib, and the unit-variance scaling applies to both paths.
  for (const nu of [6, 6.5, 80]) {
    const d = UnitStudentT.of(nu);
    assert.ok(Math.abs(d.exactCdf(0.9) - tCdf(0.9 / d.scale, nu)) < 1e-13, `ν ${nu}`);
  }
});

Deno.test("probSumBelow: matches the Gaussian closed form for large ν and Monte Carlo for ν = 5", () => {
  const big = UnitStudentT.of(1e6);
  for (const [a, b, c] of [[0.8, 0.6, 0.1], [1.5, 0.5, 0.3], [0, 1, 0.2], [0.3, 1.2, 0]]) {
    const exact = normalCdf(c / Math.hypot(a, b), 0, 1);
    assert.ok(Math.abs(big.probSumBelow(a, b, c) - exact) < 2e-4, `${a},${b},${c}`);
  }
  const t5 = UnitStudentT.of(5);
  const v = new Variates(xoroshiro128plus(9));
  const n = 200_000;
  for (const [a, b, c] of [[0.8, 0.6, 0.2], [0.2, 1, 0.05]]) {
    let below = 0;
    for (let i = 0; i < n; i++) if (a * v.studentT(5) + b * v.studentT(5) < c) below++;
    const p = t5.probSumBelow(a, b, c);
    assert.ok(Math.abs(below / n - p) < 4 * Math.sqrt(p * (1 - p) / n), `${below / n} vs ${p}`);
  }
  // The inlined loop is the definition, E over the nodes of F((c − a·z) / b), up to rounding, tails included.
  const q = t5.nodes();
  for (const [a, b, c] of [[0.8, 0.6, 0.2], [0.2, 1, 0.05], [3, 0.01, 0.4], [0.01, 3, -2], [50, 0.001, 0]]) {
    let s = 0;
    for (const z of q) s += t5.cdf((c - a * z) / b);
    assert.ok(Math.abs(t5.probSumBelow(a, b, c) - s / q.length) < 1e-12, `${a},${b},${c}`);
  }
});

Deno.test("bad options are refused with ConfigError", () => {
  assert.throws(() => syntheticMarket({ symbols: 0 }), ConfigError);
  assert.throws(() => syntheticMarket({ days: 2.5 }), ConfigError);
  assert.throws(() => syntheticMarket({ mode: "chaos" as "planted" }), ConfigError);
  assert.throws(() => syntheticMarket({ signalStrength: -1 }), ConfigError);
  assert.throws(() => syntheticMarket({ signalStrength: 0.5, signalLookback: 5 }), ConfigError); // |φ|·K ≥ 1
  assert.throws(() => syntheticMarket({ tailDof: 2 }), ConfigError);
  assert.throws(() => syntheticMarket({ start: "2021-02-30x" }), ConfigError);
});
