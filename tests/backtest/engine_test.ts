import assert from "node:assert/strict";
import fc from "fast-check";
import normalCdf from "@stdlib/stats-base-dists-normal-cdf";
import { backtest, backtestGrid, computeMetrics, METRIC_CONVENTIONS } from "../../lib/backtest/mod.ts";
import { ConfigError } from "../../lib/errors.ts";

const close = (a: number, b: number, tol = 1e-12) =>
  assert.ok(Math.abs(a - b) <= tol * Math.max(1, Math.abs(b)), `${a} != ${b}`);

function sampleStd(xs: number[]): number {
  const m = xs.reduce((s, x) => s + x, 0) / xs.length;
  return Math.sqrt(xs.reduce((s, x) => s + (x - m) ** 2, 0) / (xs.length - 1));
}

Deno.test("hand example: lag 1, costs on position changes, equity, drawdown and its duration", () => {
  // Decisions at the close of t: p = [1, 1, -1, 0, 1]; held q[t] = p[t-1] = [-, 1, 1, -1, 0]; cost 10 bps.
  const r = backtest({ returns: [NaN, 0.10, -0.05, 0.02, 0.03], positions: [1, 1, -1, 0, 1], costBps: 10 });
  const net = [
    1 * 0.10 - 0.001 * 1, // enter long from flat
    1 * -0.05, // hold
    -1 * 0.02 - 0.001 * 2, // flip long -> short: traded 2
    0 * 0.03 - 0.001 * 1, // close the short
  ];
  assert.deepEqual(r.window, { start: 1, end: 4 });
  assert.ok(Number.isNaN(r.netReturns[0]) && Number.isNaN(r.equity[0]));
  for (let i = 0; i < 4; i++) close(r.netReturns[i + 1], net[i]);
  assert.deepEqual(Array.from(r.heldPositions), [0, 1, 1, -1, 0]);
  const eq = [1.099, 1.099 * 0.95, 1.099 * 0.95 * 0.978, 1.099 * 0.95 * 0.978 * 0.999];
  for (let i = 0; i < 4; i++) close(r.equity[i + 1], eq[i]);
  close(r.metrics.totalReturn, eq[3] - 1);
  close(r.metrics.maxDrawdown, eq[3] / 1.099 - 1); // peak after day 1, trough at the end
  assert.ok(r.metrics.maxDrawdown < 0);
  assert.equal(r.metrics.maxDrawdownDuration, 3);
  close(r.metrics.turnover, (1 + 0 + 2 + 1) / 4);
  close(r.metrics.hitRate, 1 / 3); // invested on 3 periods, one of them positive
  close(r.metrics.exposure, 3 / 4);
  close(r.metrics.sharpe, (net.reduce((s, x) => s + x) / 4) / sampleStd(net) * Math.sqrt(252));
  close(r.metrics.cagr, eq[3] ** (252 / 4) - 1);
  close(r.metrics.calmar, r.metrics.cagr / Math.abs(eq[3] / 1.099 - 1));
  const downside = Math.sqrt(net.reduce((s, x) => s + Math.min(x, 0) ** 2, 0) / 4);
  close(r.metrics.sortino, (net.reduce((s, x) => s + x) / 4) / downside * Math.sqrt(252));
  // Buy & hold on the same window pays the same entry cost once.
  const bh = [0.10 - 0.001, -0.05, 0.02, 0.03];
  for (let i = 0; i < 4; i++) close(r.buyAndHold.netReturns[i + 1], bh[i]);
  close(r.buyAndHold.metrics.totalReturn, 1.099 * 0.95 * 1.02 * 1.03 - 1);
  const active = net.map((x, i) => x - bh[i]);
  close(r.metrics.alpha!, active.reduce((s, x) => s + x) / 4 * 252);
  close(r.metrics.informationRatio!, active.reduce((s, x) => s + x) / 4 / sampleStd(active) * Math.sqrt(252));
  assert.equal(r.conventions.lag, 1);
  assert.equal(r.conventions.costBps, 10);
  assert.equal(r.conventions.annualization, 252);
  assert.deepEqual(r.warnings, []);
});

Deno.test("hand example: borrow on shorts is an annual rate charged per period", () => {
  // borrow 252 bps a year over 252 periods = 1 bp per period on the short notional.
  const r = backtest({ returns: [NaN, 0.01, 0.01], positions: [-1, -1, -1], borrowBps: 252 });
  close(r.netReturns[1], -0.01 - 1e-4);
  close(r.netReturns[2], -0.01 - 1e-4);
  // Slippage adds to commission per unit traded.
  const s = backtest({ returns: [NaN, 0.01, 0.01], positions: [0.5, 0.5, 0.5], costBps: 3, slippageBps: 7 });
  close(s.netReturns[1], 0.005 - 0.001 * 0.5);
  close(s.netReturns[2], 0.005);
});

Deno.test("lag 2 holds each decision two periods later; the window starts at the first decision + lag", () => {
  const r = backtest({ returns: [NaN, 0.01, 0.02, 0.03, 0.04], positions: [NaN, 1, -1, 1, 1], lag: 2 });
  assert.deepEqual(r.window, { start: 3, end: 4 });
  close(r.netReturns[3], 1 * 0.03);
  close(r.netReturns[4], -1 * 0.04);
  assert.equal(r.buyAndHold.metrics.periods, 2);
  close(r.buyAndHold.metrics.totalReturn, 1.03 * 1.04 - 1);
});

Deno.test("lag 0 is refused unless sameBar, and then a warning is stored", () => {
  assert.throws(() => backtest({ returns: [0.01, 0.02], positions: [1, 1], lag: 0 }), ConfigError);
  const r = backtest({ returns: [0.01, 0.02], positions: [1, -1], lag: 0, sameBar: true });
  assert.equal(r.conventions.sameBar, true);
  assert.equal(r.warnings.length, 1);
  close(r.netReturns[0], 0.01);
  close(r.netReturns[1], -0.02);
});

Deno.test("invalid inputs are ConfigErrors that name the problem", () => {
  assert.throws(() => backtest({ returns: [0.01, 0.02], positions: [1] }), /align/);
  assert.throws(() => backtest({ returns: [0.01], positions: [1], costBps: -1 }), /costBps/);
  assert.throws(() => backtest({ returns: [0.01], positions: [1], lag: 1.5 }), ConfigError);
  assert.throws(() => backtest({ returns: [0.01], positions: [1], annualization: 0 }), /annualization/);
});

Deno.test("NaN returns earn nothing, NaN decisions inside the window are flat", () => {
  const r = backtest({ returns: [NaN, 0.05, NaN, 0.02], positions: [1, NaN, 1, 1], costBps: 10 });
  close(r.netReturns[1], 0.05 - 0.001); // enter
  close(r.netReturns[2], 0 - 0.001); // decision at 1 is NaN: flat, exit cost
  close(r.netReturns[3], 0.02 - 0.001); // re-enter
  const empty = backtest({ returns: [0.01, 0.02], positions: [NaN, NaN] });
  assert.equal(empty.metrics.periods, 0);
  assert.ok(Number.isNaN(empty.metrics.sharpe));
  assert.equal(empty.warnings.length, 1);
});

Deno.test("a decision using the return it will earn is look-ahead: lag 1 removes the edge it shows at lag 0", () => {
  // Deterministic alternating returns: sign(r[t]) is perfect at lag 0 and always wrong at lag 1.
  const n = 200;
  const size = (t: number) => 0.01 + 0.005 * Math.sin(t);
  const returns = Array.from({ length: n }, (_, t) => (t % 2 === 0 ? size(t) : -size(t)));
  const positions = returns.map(Math.sign);
  const peeking = backtest({ returns, positions, lag: 0, sameBar: true });
  const honest = backtest({ returns, positions, lag: 1 });
  close(peeking.metrics.totalReturn, returns.reduce((e, r) => e * (1 + Math.abs(r)), 1) - 1);
  close(honest.metrics.totalReturn, returns.slice(1).reduce((e, r) => e * (1 - Math.abs(r)), 1) - 1);
  // The peeking run is flagged as too good to be true (Sharpe far above 3), beside the same-bar warning.
  assert.ok(peeking.warnings.some((w) => w.startsWith("too good to be true")), peeking.warnings.join("; "));
  assert.ok(!honest.warnings.some((w) => w.startsWith("too good to be true")));
});

Deno.test("properties: zero costs and a constant position 1 reproduce buy & hold; costs never help", () => {
  fc.assert(
    fc.property(
      fc.array(fc.double({ min: -0.2, max: 0.2, noNaN: true }), { minLength: 3, maxLength: 60 }),
      fc.array(fc.double({ min: -2, max: 2, noNaN: true }), { minLength: 60, maxLength: 60 }),
      fc.double({ min: 0, max: 50, noNaN: true }),
      (rets, pos, cost) => {
        const positions = pos.slice(0, rets.length);
        const ones = rets.map(() => 1);
        const bh = backtest({ returns: rets, positions: ones });
        for (let t = 1; t < rets.length; t++) close(bh.equity[t], bh.buyAndHold.equity[t], 1e-12);
        const free = backtest({ returns: rets, positions });
        const costly = backtest({ returns: rets, positions, costBps: cost });
        for (let t = 1; t < rets.length; t++) assert.ok(costly.netReturns[t] <= free.netReturns[t] + 1e-15);
        // Equity is the cumulative product of (1 + net).
        let e = 1;
        for (let t = 1; t < rets.length; t++) {
          e *= 1 + costly.netReturns[t];
          close(costly.equity[t], e, 1e-12);
        }
        assert.ok(costly.metrics.maxDrawdown <= 0);
      },
    ),
    { seed: 7, numRuns: 200 },
  );
});

Deno.test("PSR by hand, DSR with the number of trials, and a refusal to deflate without the trials' variance", () => {
  const rets = [NaN, 0.02, -0.01, 0.015, 0.005, -0.02, 0.03, 0.01];
  const r = backtest({ returns: rets, positions: rets.map(() => 1), trials: 1 });
  const x = rets.slice(1);
  const n = x.length;
  const mean = x.reduce((a, b) => a + b) / n;
  const sr = mean / sampleStd(x);
  const m2 = x.reduce((a, b) => a + (b - mean) ** 2, 0) / n;
  const skew = x.reduce((a, b) => a + (b - mean) ** 3, 0) / n / m2 ** 1.5;
  const kurt = x.reduce((a, b) => a + (b - mean) ** 4, 0) / n / m2 ** 2;
  const z = sr * Math.sqrt(n - 1) / Math.sqrt(1 - skew * sr + (kurt - 1) / 4 * sr * sr);
  close(r.metrics.skewness, skew);
  close(r.metrics.kurtosis, kurt);
  close(r.metrics.probabilisticSharpe, normalCdf(z, 0, 1), 1e-12);
  // One trial: nothing to deflate.
  close(r.metrics.deflatedSharpe!, r.metrics.probabilisticSharpe);
  assert.equal(r.metrics.trials, 1);
  // The best of 100 trials must clear a higher bar.
  const d = backtest({ returns: rets, positions: rets.map(() => 1), trials: 100, trialSharpeVariance: 0.01 });
  assert.ok(d.metrics.deflatedSharpe! < d.metrics.probabilisticSharpe);
  assert.throws(() => backtest({ returns: rets, positions: rets.map(() => 1), trials: 100 }), /trialSharpeVariance/);
});

Deno.test("beta by hand: cov(net, benchmark) / var(benchmark), ddof 1", () => {
  // net deviations (−0.0025, 0.0075, −0.0225, 0.0175), benchmark deviations (0.0125, 0.0025, −0.0275, 0.0125):
  // Σ products = 0.000825, Σ squares = 0.001075, beta = 33/43.
  const m = computeMetrics({
    net: [0.01, 0.02, -0.01, 0.03],
    benchmark: [0.02, 0.01, -0.02, 0.02],
    annualization: 252,
  });
  close(m.beta!, 33 / 43);
  close(m.alpha!, 0.005 * 252); // mean(net − benchmark) = 0.02 / 4
  close(m.excessTotalReturn!, (1.01 * 1.02 * 0.99 * 1.03 - 1) - (1.02 * 1.01 * 0.98 * 1.02 - 1));
  // Half invested without costs: net = ½ r exactly, so beta against buy & hold is ½.
  const r = backtest({ returns: [NaN, 0.01, -0.02, 0.03, 0.005, -0.01], positions: [0.5, 0.5, 0.5, 0.5, 0.5, NaN] });
  close(r.metrics.beta!, 0.5);
});

Deno.test("infinite positions are ConfigErrors naming their index, not silently flat", () => {
  assert.throws(() => backtest({ returns: [NaN, 0.01, 0.02], positions: [1, Infinity, 1] }), {
    name: "ConfigError",
    message: /index 1 is Infinity/,
  });
  assert.throws(
    () =>
      backtestGrid({
        dates: ["2020-01-01", "2020-01-02"],
        symbols: ["A", "B"],
        returns: [NaN, NaN, 0.01, 0.02],
        weights: [0.5, 0.5, 0.5, -Infinity],
      }),
    { name: "ConfigError", message: /index 3 \(period 1, symbol 1\) is -Infinity/ },
  );
  // NaN still means "no decision".
  assert.equal(backtest({ returns: [NaN, 0.01, 0.02], positions: [1, NaN, 1] }).heldPositions[2], 0);
});

Deno.test("every metric carries a stated convention", () => {
  const r = backtest({ returns: [NaN, 0.01, -0.02, 0.03, 0.005], positions: [1, 1, -1, 1, NaN], trials: 1 });
  for (const k of Object.keys(r.metrics)) assert.ok(k in METRIC_CONVENTIONS, `no convention for ${k}`);
  assert.equal(r.conventions.metrics, METRIC_CONVENTIONS);
});
