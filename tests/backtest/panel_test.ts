import assert from "node:assert/strict";
import fc from "fast-check";
import pl from "nodejs-polars";
import {
  backtest,
  backtestGrid,
  backtestPanel,
  type PortfolioScheme,
  portfolioWeights,
} from "../../lib/backtest/mod.ts";
import type { Panel } from "../../lib/data/panel.ts";
import { ConfigError } from "../../lib/errors.ts";

const close = (a: number, b: number, tol = 1e-12) =>
  assert.ok(Math.abs(a - b) <= tol * Math.max(1, Math.abs(b)), `${a} != ${b}`);

// 4 dates × 3 symbols; symbol 1 has no price on date 2.
const dates = ["2020-01-01", "2020-01-02", "2020-01-03", "2020-01-06"];
const symbols = ["A", "B", "C"];
const returns = [
  NaN,
  NaN,
  NaN,
  0.01,
  0.02,
  -0.01,
  0.03,
  NaN,
  0.02,
  -0.02,
  0.04,
  0.01,
]; // deno-fmt-ignore
const forecasts = [
  0.5, -0.2, 0.1,
  -0.3, 0.4, NaN,
  0.2, NaN, -0.1,
  0.1, 0.1, 0.1,
]; // deno-fmt-ignore

Deno.test("hand example: long-short panel with lag 1, costs, a missing price, and buy & hold on the same window", () => {
  const r = backtestGrid({ dates, symbols, returns, forecasts, portfolio: "long-short", costBps: 10 });
  // Weights decided at t: t0 [1/3, -1/3, 1/3]; t1 [-1/2, 1/2, 0] (C has no forecast); t2 [1/2, 0, -1/2].
  assert.deepEqual(r.window, { start: 1, end: 3, startDate: "2020-01-02", endDate: "2020-01-06" });
  close(r.netReturns[1], (0.01 - 0.02 - 0.01) / 3 - 0.001 * 1);
  // B's held +1/2 earns nothing on the date it has no price; traded = 5/6 + 5/6 + 1/3 = 2.
  close(r.traded[2], 2);
  close(r.netReturns[2], -0.5 * 0.03 - 0.001 * 2);
  close(r.netReturns[3], 0.5 * -0.02 - 0.5 * 0.01 - 0.001 * 2);
  close(r.gross[1], 1);
  // Equal-weight buy & hold of A, B, C from date 1, never rebalanced, entry cost once.
  const v1 = [1.01, 1.02, 0.99];
  const v2 = [1.01 * 1.03, 1.02, 0.99 * 1.02];
  const v3 = [v2[0] * 0.98, 1.02 * 1.04, v2[2] * 1.01];
  const sum = (a: number[]) => a.reduce((s, x) => s + x, 0);
  close(r.buyAndHold.netReturns[1], sum(v1) / 3 - 1 - 0.001);
  close(r.buyAndHold.netReturns[2], sum(v2) / sum(v1) - 1);
  close(r.buyAndHold.netReturns[3], sum(v3) / sum(v2) - 1);
  close(r.buyAndHold.equity[3], (sum(v3) / 3) * (1 - 0.001 / (sum(v1) / 3)));
  assert.deepEqual(r.record.equity.dates, dates.slice(1));
  close(r.record.equity.values[2], r.equity[3]);
  close(r.record.equity.buyAndHold[2], r.buyAndHold.equity[3]);
  assert.equal(r.record.details.portfolio, "long-short");
  assert.equal(r.record.costBps, 10);
  assert.equal(r.record.lag, 1);
});

Deno.test("hand example: equal-weight and long-only weights", () => {
  const eq = portfolioWeights(forecasts, 4, 3, "equal-weight");
  assert.deepEqual(Array.from(eq.subarray(3, 6)), [0.5, 0.5, 0]);
  const lo = portfolioWeights(forecasts, 4, 3, "long-only");
  assert.deepEqual(Array.from(lo.subarray(0, 3)), [1 / 3, 0, 1 / 3]);
  assert.deepEqual(Array.from(lo.subarray(6, 9)), [0.5, 0, 0]);
});

Deno.test("hand example: top-k with dropout replaces at most nDrop names a day (Qlib TopkDropout)", () => {
  const scores = [
    5,
    4,
    3,
    2,
    1,
    1,
    2,
    5,
    4,
    3,
    1,
    2,
    5,
    4,
    3,
  ]; // deno-fmt-ignore
  const w = portfolioWeights(scores, 3, 5, { kind: "topk", k: 2, nDrop: 1 });
  // t0: buy the best two {0, 1}. t1: only the worst held (0) is replaced, by the best non-held (2): {1, 2}.
  // t2: the worst held (1) is replaced by 3: {2, 3}. A plain top-2 would hold {2, 3} already at t1.
  assert.deepEqual(Array.from(w), [0.5, 0.5, 0, 0, 0, 0, 0.5, 0.5, 0, 0, 0, 0, 0.5, 0.5, 0]);
  const plain = portfolioWeights(scores, 3, 5, { kind: "topk", k: 2 });
  assert.deepEqual(Array.from(plain.subarray(5, 10)), [0, 0, 0.5, 0.5, 0]);
  const ls = portfolioWeights(scores.slice(0, 5), 1, 5, { kind: "topk", k: 2, nDrop: 1, short: true });
  assert.deepEqual(Array.from(ls.subarray(0, 5)), [0.25, 0.25, 0, -0.25, -0.25]);
});

Deno.test("property: top-k with nDrop ≥ k is the daily top k; dropout changes at most nDrop names a day", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 2, max: 12 }),
      fc.integer({ min: 1, max: 8 }),
      fc.integer({ min: 1, max: 4 }),
      fc.integer({ min: 0, max: 1_000_000 }),
      (m, n, k0, seed) => {
        const k = Math.min(k0, m);
        let s = seed;
        const rand = () => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648);
        const scores = Array.from({ length: n * m }, () => Math.round(rand() * 20) / 4); // ties happen
        const w = portfolioWeights(scores, n, m, { kind: "topk", k });
        for (let t = 0; t < n; t++) {
          const order = Array.from({ length: m }, (_, j) => j).sort((a, b) =>
            scores[t * m + b] - scores[t * m + a] || a - b
          );
          const expected = new Set(order.slice(0, k));
          for (let j = 0; j < m; j++) assert.equal(w[t * m + j] > 0, expected.has(j));
        }
        const d = portfolioWeights(scores, n, m, { kind: "topk", k, nDrop: 1 });
        for (let t = 1; t < n; t++) {
          let added = 0;
          for (let j = 0; j < m; j++) if (d[t * m + j] > 0 && !(d[(t - 1) * m + j] > 0)) added++;
          assert.ok(added <= 1, `date ${t}: ${added} names added`);
          let held = 0;
          for (let j = 0; j < m; j++) held += d[t * m + j] > 0 ? 1 : 0;
          assert.equal(held, k);
        }
      },
    ),
    { seed: 11, numRuns: 150 },
  );
});

Deno.test("backtestPanel reads adj_close returns from a Panel and places long-format forecasts", () => {
  const frame = pl.DataFrame({
    date: ["2020-01-01", "2020-01-02", "2020-01-03", "2020-01-01", "2020-01-03"],
    symbol: ["A", "A", "A", "B", "B"],
    adj_close: [100, 110, 99, 50, 55],
  });
  const panel = {
    frame,
    symbols: ["A", "B"],
    dates: ["2020-01-01", "2020-01-02", "2020-01-03"],
    warnings: [],
    extraColumns: [],
  } as unknown as Panel;
  const r = backtestPanel({
    panel,
    forecasts: { dates: ["2020-01-01", "2020-01-01"], symbols: ["A", "B"], values: [1, -1] },
    portfolio: "long-short",
  });
  // Decided on day 0, held on day 1 only (last decision + lag). B has no price on day 1: earns nothing.
  assert.deepEqual([r.window.start, r.window.end], [1, 1]);
  close(r.netReturns[1], 0.5 * 0.10);
  // B's gap return (55/50 - 1) is earned on the day its price reappears.
  const longB = backtestPanel({
    panel,
    forecasts: { dates: ["2020-01-02"], symbols: ["B"], values: [1] },
    portfolio: "long-only",
  });
  close(longB.netReturns[2], 0.1);
  assert.throws(
    () =>
      backtestPanel({ panel, forecasts: { dates: ["2020-01-01", "2020-01-01"], symbols: ["A", "A"], values: [1, 1] } }),
    /duplicate/,
  );
  assert.throws(
    () => backtestPanel({ panel, forecasts: { dates: ["2021-01-01"], symbols: ["A"], values: [1] } }),
    ConfigError,
  );
});

Deno.test("properties: symbol order does not matter; m identical symbols behave like one series", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 2, max: 7 }),
      fc.integer({ min: 3, max: 25 }),
      fc.integer({ min: 1, max: 1_000_000 }),
      fc.constantFrom<PortfolioScheme>(
        "equal-weight",
        "long-short",
        "long-only",
        { kind: "topk", k: 2, nDrop: 1 },
        { kind: "topk", k: 1, short: true },
      ),
      (m, n, seed, scheme) => {
        let s = seed;
        const u = () => ((s = (s * 16807) % 2147483647) / 2147483647);
        const rets = Array.from({ length: n * m }, (_, i) => (i < m || u() < 0.1 ? NaN : (u() - 0.5) * 0.1));
        const fcs = Array.from({ length: n * m }, () => (u() < 0.1 ? NaN : u() - 0.5)); // distinct: no ties
        const dates = Array.from({ length: n }, (_, t) => `d${String(t).padStart(3, "0")}`);
        const syms = Array.from({ length: m }, (_, j) => `S${j}`);
        const opts = { dates, portfolio: scheme, costBps: 7, borrowBps: 30 };
        const a = backtestGrid({ ...opts, symbols: syms, returns: rets, forecasts: fcs });
        const perm = Array.from({ length: m }, (_, j) => (j + 1) % m); // rotate the columns
        const pick = (x: number[]) => x.map((_, i) => x[Math.floor(i / m) * m + perm[i % m]]);
        const b = backtestGrid({
          ...opts,
          symbols: perm.map((j) => syms[j]),
          returns: pick(rets),
          forecasts: pick(fcs),
        });
        for (let t = 0; t < n; t++) {
          const x = a.netReturns[t];
          const y = b.netReturns[t];
          assert.ok((Number.isNaN(x) && Number.isNaN(y)) || Math.abs(x - y) < 1e-14, `${t}: ${x} vs ${y}`);
          const bx = a.buyAndHold.netReturns[t];
          const by = b.buyAndHold.netReturns[t];
          assert.ok((Number.isNaN(bx) && Number.isNaN(by)) || Math.abs(bx - by) < 1e-14);
        }
      },
    ),
    { seed: 21, numRuns: 200 },
  );
  // m copies of one series, long-short on the same forecast = the series with position sign(forecast).
  const n = 30;
  const r = Array.from({ length: n }, (_, t) => (t === 0 ? NaN : Math.sin(t) * 0.03));
  const f = Array.from({ length: n }, (_, t) => Math.cos(t * 1.3));
  const m = 4;
  const rep = (x: number[]) => x.flatMap((v) => Array(m).fill(v));
  const grid = backtestGrid({
    dates: Array.from({ length: n }, (_, t) => `d${t}`),
    symbols: ["A", "B", "C", "D"],
    returns: rep(r),
    forecasts: rep(f),
    costBps: 10,
  });
  const one = backtest({ returns: r, positions: f.map(Math.sign), costBps: 10 });
  for (let t = 1; t < n; t++) close(grid.netReturns[t], one.netReturns[t], 1e-14);
  close(grid.metrics.sharpe, one.metrics.sharpe, 1e-12);
});
