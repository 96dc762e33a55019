import assert from "node:assert/strict";
import {
  backtest,
  backtestGrid,
  hybridPositions,
  type MarketView,
  nextPortfolioWeights,
  signPositions,
  simulateForward,
} from "../../lib/backtest/mod.ts";
import { ConfigError, LeakageError } from "../../lib/errors.ts";
import { deflatedSharpe } from "../../lib/metrics/sharpe.ts";

const close = (a: number, b: number, tol = 1e-12) =>
  assert.ok(
    (Number.isNaN(a) && Number.isNaN(b)) || Math.abs(a - b) <= tol * Math.max(1, Math.abs(b)),
    `${a} != ${b}`,
  );

/** Seeded fat-ish-tailed returns and noisy forecasts correlated with the next return. */
function market(n: number, m: number, seed: number) {
  let s = seed;
  const u = () => (s = (s * 16807) % 2147483647) / 2147483647;
  const gauss = () => Math.sqrt(-2 * Math.log(u())) * Math.cos(2 * Math.PI * u());
  const returns = new Float64Array(n * m).map(() => 0.0003 + 0.015 * gauss());
  for (let j = 0; j < m; j++) returns[j] = NaN;
  const forecasts = new Float64Array(n * m).map((_, i) => (i + m < n * m ? 0.3 * returns[i + m] : 0) + 0.01 * gauss());
  // No forecasts in a warm-up and after the end; a missing price mid-way.
  forecasts.fill(NaN, 0, 10 * m);
  forecasts.fill(NaN, (n - 5) * m);
  returns[(n >> 1) * m] = NaN;
  return { returns, forecasts };
}

function assertSameRun(
  a: ReturnType<typeof simulateForward>,
  b: { window: { start: number; end: number }; equity: Float64Array; netReturns: Float64Array; metrics: object },
) {
  assert.deepEqual(a.window, { start: b.window.start, end: b.window.end });
  for (let t = 0; t < a.netReturns.length; t++) {
    close(a.netReturns[t], b.netReturns[t]);
    close(a.equity[t], b.equity[t]);
  }
  const am = a.metrics as unknown as Record<string, number>;
  for (const [k, v] of Object.entries(b.metrics)) close(am[k], v as number);
}

Deno.test("forward simulation equals the vectorized engine on the same predictions", () => {
  const n = 400;
  const { returns, forecasts } = market(n, 1, 42);
  for (const lag of [1, 2]) {
    const costs = { lag, costBps: 10, slippageBps: 2, borrowBps: 50 };
    const fwd = simulateForward({ returns, forecasts, sizer: (f) => Math.sign(f as number), ...costs });
    const vec = backtest({ returns, positions: signPositions(forecasts), ...costs });
    assertSameRun(fwd, vec);
    assert.ok(fwd.metrics.periods > 300);
  }
});

Deno.test("forward simulation with a drawdown breaker computed from the view equals the vectorized rule", () => {
  const n = 300;
  const { returns, forecasts } = market(n, 1, 9);
  const params = { maxLong: 1, maxShort: 0.5, baseLongBias: 0, bearishRiskOff: false, winRate: 0.6, kellyFraction: 1 };
  const threshold = 0.01;
  const cap = 0.05;
  const costs = { costBps: 5, borrowBps: 25 };
  // Sizer: the hybrid's base size, capped while the strategy's own drawdown (from view.equity) is tripped.
  const sizer = (f: unknown, v: MarketView) => {
    const x = f as number;
    const base = x > 0 ? 0.2 : x < 0 ? -0.2 : x === 0 ? 0 : NaN;
    let peak = 1;
    let on = false;
    for (let s = 0; s <= v.t; s++) {
      const e = v.equity[s];
      if (Number.isNaN(e)) continue;
      if (e >= peak) {
        peak = e;
        on = false;
      } else if (e / peak - 1 <= -threshold) on = true;
    }
    return on && Number.isFinite(base) ? Math.max(-cap, Math.min(cap, base)) : base;
  };
  const fwd = simulateForward({ returns, forecasts, sizer, ...costs });
  const positions = hybridPositions(forecasts, returns, {
    ...params,
    drawdownThreshold: threshold,
    drawdownMaxPosition: cap,
  }, costs);
  const vec = backtest({ returns, positions, ...costs });
  assertSameRun(fwd, vec);
  assert.ok(Array.from(positions).some((p) => Math.abs(p) === cap), "the breaker should trip in this example");
});

Deno.test("forward simulation of a panel equals the grid engine (long-short weights)", () => {
  const n = 200;
  const m = 4;
  const { returns, forecasts } = market(n, m, 77);
  const dates = Array.from({ length: n }, (_, t) => new Date(Date.UTC(2020, 0, 1 + t)).toISOString().slice(0, 10));
  const longShort = (f: unknown) => {
    const row = f as Float64Array;
    const eligible = Array.from(row).filter(Number.isFinite).length;
    return Array.from(row, (x) => (eligible === 0 ? NaN : Number.isFinite(x) ? Math.sign(x) / eligible : 0));
  };
  const fwd = simulateForward({ returns, forecasts, symbols: m, dates, sizer: longShort, costBps: 10 });
  const vec = backtestGrid({
    dates,
    symbols: ["A", "B", "C", "D"],
    returns,
    forecasts,
    portfolio: "long-short",
    costBps: 10,
  });
  assertSameRun(fwd, vec);
  for (let t = 0; t < n; t++) close(fwd.buyAndHold.netReturns[t], vec.buyAndHold.netReturns[t]);
});

Deno.test("a strategy that reads tomorrow's return is caught, naming the date", () => {
  const n = 50;
  const { returns } = market(n, 1, 5);
  const dates = Array.from({ length: n }, (_, t) => `d${t}`);
  const peeking = (v: MarketView) => Math.sign(v.returns[v.t + 1]);
  assert.throws(
    () => simulateForward({ returns, dates, model: peeking }),
    (e: unknown) => e instanceof LeakageError && /look-ahead: the decision at d0 /.test(e.message),
  );
  // Without the audit it still cannot profit: tomorrow is not in the view, so it never decides anything.
  const blind = simulateForward({ returns, model: peeking, lookAheadAudit: false });
  assert.equal(blind.metrics.periods, 0);
  assert.ok(Array.from(blind.decisions).every(Number.isNaN));
});

Deno.test("vectorized look-ahead in a model is caught: centered smoothing and full-sample normalization", () => {
  const n = 120;
  const { returns, forecasts } = market(n, 1, 13);
  // A centered 5-day mean of forecasts (uses t+1, t+2).
  const centered = (v: MarketView) => {
    const f = v.forecasts!;
    let s = 0;
    let k = 0;
    for (let i = v.t - 2; i <= v.t + 2; i++) {
      if (i >= 0 && i < f.length && Number.isFinite(f[i])) {
        s += f[i];
        k++;
      }
    }
    return k === 0 ? NaN : Math.sign(s / k);
  };
  assert.throws(() => simulateForward({ returns, forecasts, model: centered }), LeakageError);
  // z-scoring with the mean of the whole array handed in (future included in the oracle view).
  const zscore = (v: MarketView) => {
    const f = Array.from(v.forecasts!).filter(Number.isFinite);
    const mean = f.reduce((a, b) => a + b, 0) / Math.max(1, f.length);
    return v.forecasts![v.t] - mean;
  };
  assert.throws(() => simulateForward({ returns, forecasts, model: zscore }), LeakageError);
  // The trailing (honest) versions pass the audit.
  const trailing = (v: MarketView) => {
    let s = 0;
    let k = 0;
    for (let i = v.t - 4; i <= v.t; i++) {
      if (i >= 0 && Number.isFinite(v.forecasts![i])) {
        s += v.forecasts![i];
        k++;
      }
    }
    return k === 0 ? NaN : Math.sign(s / k);
  };
  const ok = simulateForward({ returns, forecasts, model: trailing, costBps: 5 });
  assert.ok(ok.metrics.periods > 100);
});

Deno.test("forward top-k with dropout, built one date at a time from the view, equals the grid engine", () => {
  const n = 150;
  const m = 8;
  const { returns, forecasts } = market(n, m, 31);
  const dates = Array.from({ length: n }, (_, t) => `d${String(t).padStart(3, "0")}`);
  const symbols = Array.from({ length: m }, (_, j) => `S${j}`);
  for (const scheme of [{ kind: "topk", k: 3, nDrop: 1 }, { kind: "topk", k: 2, nDrop: 1, short: true }] as const) {
    const sizer = (f: unknown, v: MarketView) => {
      // The previous decided row (skipping no-decision rows), from the view's own decisions.
      let prev: Float64Array | undefined;
      for (let s = v.t - 1; s >= 0 && prev === undefined; s--) {
        const row = v.decisions.subarray(s * m, (s + 1) * m);
        if (!Number.isNaN(row[0])) prev = row;
      }
      return nextPortfolioWeights(f as Float64Array, prev, scheme);
    };
    const fwd = simulateForward({ returns, forecasts, symbols: m, dates, sizer, costBps: 10, borrowBps: 40 });
    const vec = backtestGrid({ dates, symbols, returns, forecasts, portfolio: scheme, costBps: 10, borrowBps: 40 });
    assertSameRun(fwd, vec);
    assert.ok(vec.metrics.turnover > 0);
  }
});

Deno.test("forward results carry the deflated Sharpe ratio given the number of trials", () => {
  const { returns, forecasts } = market(300, 1, 11);
  const fwd = simulateForward({
    returns,
    forecasts,
    sizer: (f) => Math.sign(f as number),
    trials: 20,
    trialSharpeVariance: 0.002,
  });
  const m = fwd.metrics;
  assert.equal(m.trials, 20);
  const expected = deflatedSharpe({
    sharpe: m.sharpe / Math.sqrt(252),
    nTrials: 20,
    trialSharpeVariance: 0.002,
    nObs: m.periods,
    skew: m.skewness,
    kurtosis: m.kurtosis,
  });
  close(m.deflatedSharpe!, expected);
  assert.ok(m.deflatedSharpe! < m.probabilisticSharpe);
  // Same figure as the vectorized engine on the same decisions.
  const vec = backtest({ returns, positions: fwd.decisions, trials: 20, trialSharpeVariance: 0.002 });
  close(m.deflatedSharpe!, vec.metrics.deflatedSharpe!);
  assert.throws(() => simulateForward({ returns, forecasts, trials: 20 }), /trialSharpeVariance/);
  assert.equal(simulateForward({ returns, forecasts }).metrics.deflatedSharpe, undefined);
});

Deno.test("an infinite decision is a ConfigError naming its date", () => {
  const returns = [NaN, 0.01, 0.02, 0.01];
  const dates = ["2020-01-01", "2020-01-02", "2020-01-03", "2020-01-06"];
  assert.throws(
    () => simulateForward({ returns, dates, forecasts: [1, 1, 1, 1], sizer: (_f, v) => (v.t === 2 ? Infinity : 1) }),
    (e: unknown) => e instanceof ConfigError && /2020-01-03 is Infinity/.test(e.message),
  );
});

Deno.test("lag 0 (same bar) is refused: a decision from data through a close cannot be held over that period", () => {
  // Before this was refused, every period at lag 0 read a decision not yet taken and the run held nothing at all.
  const returns = [NaN, 0.01, -0.02, 0.03, 0.01];
  assert.throws(() => simulateForward({ returns, forecasts: [1, 1, 1, 1, 1], lag: 0, sameBar: true }), {
    name: "ConfigError",
    message: /lag 0 \(same bar\) is not simulated/,
  });
  assert.throws(() => simulateForward({ returns, forecasts: [1, 1, 1, 1, 1], lag: 0 }), ConfigError);
});
