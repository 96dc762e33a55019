/**
 * Power and calibration of the leakage audit's statistical rules: the standard error of a correlation matches the
 * spread of r when the association is broken, and leaks that a too-large standard error once let through as `ok`
 * (target shifted 11–14 days, the future 20-day return at IC ≈ 0.16, momentum measured to tomorrow's open, tomorrow's
 * return mixed into an honest trailing return) are caught
 * on synthetic and real prices, while honest trailing returns stay `ok`.
 *
 * @module
 */

import assert from "node:assert/strict";
import pl from "nodejs-polars";
import { auditFeatures } from "../../lib/mod.ts";
import { correlationPValue, correlationWithError, pairedCorrelation, studentTail } from "../../lib/leakage/audit.ts";
import type { AuditReport, Panel } from "../../lib/mod.ts";
import { float64Column, symbolRanges } from "../../lib/features/definition.ts";
import { normal, panelFromFrame, randomWalkPanel, readRealPanel, uniform } from "../features/_panels.ts";
import { realDataTest } from "../_helpers/real_data.ts";

Deno.test("studentTail matches published Student t quantiles and closed forms", () => {
  // Two-sided 5 % critical values (any statistics table): t(1) 12.706, t(3) 3.182, t(10) 2.228, t(30) 2.042.
  for (const [dof, t] of [[1, 12.706], [3, 3.182], [10, 2.228], [30, 2.042]]) {
    assert.ok(Math.abs(studentTail(t, dof) - 0.025) < 2e-5, `t(${dof}) tail at ${t}: ${studentTail(t, dof)}`);
  }
  // One degree of freedom is Cauchy: P(T ≥ t) = 1/2 − atan(t)/π; two: 1/2 − t / (2√(2 + t²)).
  for (const t of [0.5, 1, 4, 30]) {
    assert.ok(Math.abs(studentTail(t, 1) - (0.5 - Math.atan(t) / Math.PI)) < 1e-12);
    assert.ok(Math.abs(studentTail(t, 2) - (0.5 - t / (2 * Math.sqrt(2 + t * t)))) < 1e-12);
  }
  assert.ok(Math.abs(studentTail(-1, 2) - (0.5 + 1 / (2 * Math.sqrt(3)))) < 1e-12);
  // Many degrees of freedom approach the normal: Q(4) = 3.16712e-5.
  assert.ok(Math.abs(studentTail(4, 1e6) / 3.16712e-5 - 1) < 1e-3);
});

/** Driscoll–Kraay standard error of the OLS slope of y on [1, x], written as the sandwich (X'X)⁻¹ S (X'X)⁻¹. */
function sandwichSlopeSE(x: number[], y: number[], date: number[], dates: number, lags: number): number {
  const n = x.length;
  // X'X and its inverse (2 × 2, columns [1, x]).
  const sx = x.reduce((a, b) => a + b, 0);
  const sxx = x.reduce((a, b) => a + b * b, 0);
  const det = n * sxx - sx * sx;
  const inv = [[sxx / det, -sx / det], [-sx / det, n / det]];
  const sy = y.reduce((a, b) => a + b, 0);
  const sxy = x.reduce((a, b, i) => a + b * y[i], 0);
  const coef = [inv[0][0] * sy + inv[0][1] * sxy, inv[1][0] * sy + inv[1][1] * sxy];
  // Per-date score sums h_d = Σ_{i∈d} [1, x_i] e_i.
  const h = Array.from({ length: dates }, () => [0, 0]);
  for (let i = 0; i < n; i++) {
    const e = y[i] - coef[0] - coef[1] * x[i];
    h[date[i]][0] += e;
    h[date[i]][1] += x[i] * e;
  }
  const S = [[0, 0], [0, 0]];
  for (let l = 0; l <= lags; l++) {
    const w = l === 0 ? 1 : 1 - l / (lags + 1);
    for (let t = l; t < dates; t++) {
      for (let a = 0; a < 2; a++) {
        for (let b = 0; b < 2; b++) {
          S[a][b] += w * h[t][a] * h[t - l][b];
          if (l > 0) S[a][b] += w * h[t - l][a] * h[t][b];
        }
      }
    }
  }
  // Slope variance: row 1 of inv · S · column 1 of inv.
  let v = 0;
  for (let a = 0; a < 2; a++) for (let b = 0; b < 2; b++) v += inv[1][a] * S[a][b] * inv[b][1];
  return Math.sqrt(v);
}

Deno.test("correlationWithError is the Driscoll–Kraay t-statistic of the regression slope (independent sandwich formula)", () => {
  const z = normal(uniform(41));
  const dates = 300;
  const x: number[] = [];
  const y: number[] = [];
  const date: number[] = [];
  let level = 0;
  for (let d = 0; d < dates; d++) {
    level = 0.9 * level + z(); // a persistent column
    const common = z();
    for (let s = 0; s < 3; s++) {
      x.push(level + 0.5 * z());
      y.push(0.2 * x[x.length - 1] + common + z());
      date.push(d);
    }
  }
  for (const span of [1, 5]) {
    const e = correlationWithError(Float64Array.from(x), Float64Array.from(y), Int32Array.from(date), dates, span);
    const slope = sandwichSlopeSE(x, y, date, dates, 2 * (span - 1));
    const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
    const sd = (v: number[]) => Math.sqrt(v.reduce((a, b) => a + (b - mean(v)) ** 2, 0));
    // SE(r) = SE(slope) · sd(x) / sd(y)
    const expected = slope * sd(x) / sd(y);
    assert.ok(Math.abs(e.se / expected - 1) < 1e-9, `span ${span}: ${e.se} vs ${expected}`);
    assert.equal(e.dof, Math.floor(dates / span) - 1);
    const p = correlationPValue(e);
    assert.ok(Math.abs(p - 2 * studentTail(Math.abs(e.r) / e.se, e.dof)) < 1e-15);
  }
});

/** Per-symbol circular shift of `x` by `s` rows (the same shift for every symbol): association broken, structure kept. */
function circularShift(x: Float64Array, bounds: { start: number; end: number }[], s: number): Float64Array {
  const out = new Float64Array(x.length);
  for (const { start, end } of bounds) {
    const len = end - start;
    for (let t = 0; t < len; t++) out[start + t] = x[start + ((t + s) % len)];
  }
  return out;
}

Deno.test("the standard error matches the spread of r under time-shifted nulls (h = 1, 5, 20; persistent and fresh columns)", () => {
  // 2 symbols × 3000 dates sharing a market factor, fat-tailed returns; rows ordered symbol by symbol.
  const z = normal(uniform(43));
  const days = 3000;
  const symbols = 2;
  const ret = new Float64Array(symbols * days);
  for (let t = 0; t < days; t++) {
    const market = z();
    for (let s = 0; s < symbols; s++) ret[s * days + t] = 0.01 * (0.7 * market + 0.7 * z() * (1 + Math.abs(z())) / 1.8);
  }
  const bounds = Array.from({ length: symbols }, (_, s) => ({ start: s * days, end: (s + 1) * days }));
  const cluster = Int32Array.from({ length: symbols * days }, (_, i) => i % days);
  const window = (from: number, to: number) =>
    // Σ ret over rows t+from … t+to, within the symbol
    Float64Array.from(ret, (_, i) => {
      const t = i % days;
      if (t + from < 0 || t + to >= days) return Number.NaN;
      let s = 0;
      for (let j = from; j <= to; j++) s += ret[i + j];
      return s;
    });
  const trailing60 = window(-59, 0);
  const fresh = Float64Array.from(ret, () => z());
  for (const h of [1, 5, 20]) {
    const target = window(1, h);
    for (const [name, x] of [["trailing 60-day return", trailing60], ["fresh noise", fresh]] as const) {
      const rs: number[] = [];
      const ses: number[] = [];
      for (let s = 300; s <= days - 300; s += 24) {
        const e = correlationWithError(circularShift(x, bounds, s), target, cluster, days, h);
        rs.push(e.r);
        ses.push(e.se);
      }
      const mean = rs.reduce((a, b) => a + b, 0) / rs.length;
      const spread = Math.sqrt(rs.reduce((a, b) => a + (b - mean) ** 2, 0) / (rs.length - 1));
      const se = ses.reduce((a, b) => a + b, 0) / ses.length;
      assert.ok(Math.abs(se / spread - 1) < 0.3, `h = ${h}, ${name}: mean SE ${se} vs spread of r ${spread}`);
    }
  }
});

function verdictOf(report: AuditReport, name: string) {
  const f = report.features.find((x) => x.name === name);
  assert.ok(f, `${name} missing from the report`);
  return f;
}

/**
 * Escaped leaks and honest controls as precomputed columns. Per symbol, `fwd(h, s)[t] = ln(C_{t+s+h} / C_{t+s})`.
 * Noise is scaled to the quantity it is added to, so the ICs do not depend on the price level or volatility.
 */
function escapedLeakColumns(panel: Panel, seed: number): { panel: Panel; ic: Map<string, number> } {
  const z = normal(uniform(seed));
  const close = float64Column(panel.frame, "adj_close");
  const open = float64Column(panel.frame, "open");
  const rawClose = float64Column(panel.frame, "close");
  const ranges = symbolRanges(panel.frame);
  const n = close.length;
  const fwd = (h: number, s: number) => {
    const out = new Float64Array(n).fill(Number.NaN);
    for (const r of ranges) {
      for (let t = r.start; t < r.end; t++) {
        if (t + s >= r.start && t + s + h < r.end) out[t] = Math.log(close[t + s + h] / close[t + s]);
      }
    }
    return out;
  };
  const sd = (x: Float64Array) => {
    const f = x.filter(Number.isFinite);
    const m = f.reduce((a, b) => a + b, 0) / f.length;
    return Math.sqrt(f.reduce((a, b) => a + (b - m) ** 2, 0) / f.length);
  };
  /** x with correlation ≈ rho with y (both standardised), the rest independent normal noise. */
  const mix = (y: Float64Array, rho: number) => {
    const s = sd(y);
    return Float64Array.from(y, (v) => rho * v / s + Math.sqrt(1 - rho * rho) * z());
  };
  const plusNoise = (x: Float64Array, lambda: number) => {
    const s = sd(x);
    return Float64Array.from(x, (v) => v + lambda * s * z());
  };
  const r1 = fwd(1, 0);
  const s1 = sd(r1);
  const toNextOpen = (k: number) => {
    // ln(O_{t+1} / C_{t−k}) on adjusted prices: a k-day trailing return plus tomorrow's overnight gap
    const out = new Float64Array(n).fill(Number.NaN);
    for (const r of ranges) {
      for (let t = r.start + k; t + 1 < r.end; t++) {
        out[t] = Math.log(open[t + 1] * close[t + 1] / rawClose[t + 1] / close[t - k]);
      }
    }
    return out;
  };
  /** x + c·r_{t+1} with c such that corr(x + c·r_{t+1}, r_{t+1}) = 0.15 (x independent of r_{t+1}). */
  const mixedWithNext = (x: Float64Array) => {
    const c = 0.15 * sd(x) / (s1 * Math.sqrt(1 - 0.15 * 0.15));
    return Float64Array.from(x, (v, i) => v + c * r1[i]);
  };
  const cols: Record<string, Float64Array> = {
    // h = 20: the 20-day target of 12 days earlier (8 days still ahead), plus noise of half its size
    shifted12_h20: plusNoise(fwd(20, -12), 0.5),
    // h = 20: the future 20-day return at IC ≈ 0.16
    future_ic016_h20: mix(fwd(20, 0), 0.16),
    // h = 5: ln(C_{t+1} / C_{t−4}) plus noise, IC ≈ 0.16 with the 5-day target
    shifted4_h5: plusNoise(fwd(5, -4), 0.5),
    // h = 20: the honest 19-day trailing return plus 0.3 × tomorrow's return and some noise
    trail19_next_h20: Float64Array.from(fwd(19, -19), (v, i) => v + 0.3 * r1[i] + 0.6 * s1 * z()),
    // h = 20: 19-day momentum measured to tomorrow's open
    to_next_open_h20: toNextOpen(19),
    // h = 5 and 20: an honest 60-day trailing return plus tomorrow's return, 0.15 correlation with the latter
    trail60_next: mixedWithNext(fwd(60, -60)),
    // honest controls
    trailing19: fwd(19, -19),
    trailing20: fwd(20, -20),
    trailing250: fwd(250, -250),
  };
  let frame = panel.frame;
  for (const [k, v] of Object.entries(cols)) frame = frame.withColumn(pl.Series(k, Array.from(v), pl.Float64));
  const ic = new Map<string, number>();
  for (const [k, v] of Object.entries(cols)) {
    const h = k.endsWith("_h5") ? 5 : 20;
    ic.set(k, pairedCorrelation(v, fwd(h, 0)).r);
  }
  return { panel: panelFromFrame(frame), ic };
}

function assertEscapedLeaksCaught(panel: Panel, ic: Map<string, number>) {
  const columns = [...ic.keys()];
  const h20 = auditFeatures(panel, { horizon: 20, columns, symbols: 1, cuts: 1 });
  const h5 = auditFeatures(panel, { horizon: 5, columns, symbols: 1, cuts: 1 });
  const why = (f: { reasons: string[] }, name: string) => `${name} (IC ${ic.get(name)!.toFixed(3)}): ${f.reasons}`;
  const expect = (report: AuditReport, name: string, allowed: string[]) => {
    const f = verdictOf(report, name);
    assert.ok(allowed.includes(f.verdict), `h = ${report.horizon}: ${f.verdict}, wanted ${allowed}; ${why(f, name)}`);
  };
  expect(h20, "shifted12_h20", ["leak"]);
  expect(h20, "future_ic016_h20", ["suspect", "leak"]);
  expect(h5, "shifted4_h5", ["suspect", "leak"]);
  expect(h20, "trail19_next_h20", ["leak"]);
  expect(h20, "to_next_open_h20", ["leak"]);
  expect(h5, "trail60_next", ["suspect", "leak"]);
  expect(h20, "trail60_next", ["suspect", "leak"]);
  for (const name of ["trailing19", "trailing20", "trailing250"]) {
    expect(h20, name, ["ok"]);
    expect(h5, name, ["ok"]);
  }
}

Deno.test("synthetic: leaks a √h-inflated standard error let pass are caught; trailing returns stay ok", () => {
  // 2 symbols × 4000 days of a random walk with an overnight gap (open ≠ previous close).
  const { panel, ic } = escapedLeakColumns(randomWalkPanel(44, 2, 4000), 45);
  assertEscapedLeaksCaught(panel, ic);
});

realDataTest("real data: leaks a √h-inflated standard error let pass are caught on AAPL and MSFT", async (dir) => {
  const full = await readRealPanel(dir, ["AAPL", "MSFT"]);
  const dates = full.dates.slice(-5000);
  const panel = panelFromFrame(full.frame.filter(pl.col("date").greaterThanEquals(pl.lit(dates[0]))));
  const { panel: withCols, ic } = escapedLeakColumns(panel, 46);
  assertEscapedLeaksCaught(withCols, ic);
});

realDataTest(
  "real data: on AAPL × 500 days the future return at IC 0.6–0.8 (h = 20) and 0.45 (h = 5) is flagged",
  async (dir) => {
    // 25 non-overlapping 20-day periods: the old √h error (≈ 0.2) made every IC below ~0.9 look like chance.
    const full = await readRealPanel(dir, ["AAPL"]);
    const dates = full.dates.slice(-500);
    const panel = panelFromFrame(full.frame.filter(pl.col("date").greaterThanEquals(pl.lit(dates[0]))));
    const close = float64Column(panel.frame, "adj_close");
    const z = normal(uniform(47));
    const future = (h: number, rho: number) => {
      const y = close.map((c, t) => (t + h < close.length ? Math.log(close[t + h] / c) : Number.NaN));
      const f = y.filter(Number.isFinite);
      const m = f.reduce((a, b) => a + b, 0) / f.length;
      const s = Math.sqrt(f.reduce((a, b) => a + (b - m) ** 2, 0) / f.length);
      return Float64Array.from(y, (v) => rho * v / s + Math.sqrt(1 - rho * rho) * z());
    };
    const cols: Record<string, Float64Array> = {
      f20_08: future(20, 0.8),
      f20_06: future(20, 0.6),
      f5_05: future(5, 0.5),
    };
    let frame = panel.frame;
    for (const [k, v] of Object.entries(cols)) frame = frame.withColumn(pl.Series(k, Array.from(v), pl.Float64));
    const withCols = panelFromFrame(frame);
    for (const [name, h] of [["f20_08", 20], ["f20_06", 20], ["f5_05", 5]] as const) {
      const f = verdictOf(auditFeatures(withCols, { horizon: h, columns: [name], symbols: 1, cuts: 1 }), name);
      assert.notEqual(f.verdict, "ok", `${name} at h = ${h} (IC ${f.ic?.toFixed(3)}) should be flagged`);
    }
  },
);
