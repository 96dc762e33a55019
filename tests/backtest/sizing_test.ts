import assert from "node:assert/strict";
import fc from "fast-check";
import {
  applyDrawdownBreaker,
  backtest,
  dailyExpectedReturn,
  dailyExpectedReturns,
  forecastOverSigma,
  fractionalKelly,
  hybridPositions,
  kellyFraction,
  kellyPositions,
  longBiasedHalfKelly,
  signPositions,
  sizePositions,
  trailingVolatility,
  volatilityTarget,
  winRatePrior,
} from "../../lib/backtest/mod.ts";
import { ConfigError } from "../../lib/errors.ts";

const close = (a: number, b: number, tol = 1e-12) =>
  assert.ok(Math.abs(a - b) <= tol * Math.max(1, Math.abs(b)), `${a} != ${b}`);

Deno.test("forecast conversion: an h-day log forecast becomes exp(f/h + σ²/2) − 1 a day", () => {
  // 5-day log return of log(1.05): a constant daily growth of 1.05^(1/5).
  close(dailyExpectedReturn(Math.log(1.05), 5), 1.05 ** 0.2 - 1);
  // Lognormal drift correction: with σ = 0.02 a day, E[arith] = exp(μ + 0.0002) − 1.
  close(dailyExpectedReturn(0.01, 1, 0.02), Math.exp(0.01 + 0.0002) - 1);
  const s = dailyExpectedReturns([0.1, NaN, -0.1], 10, [0, 0, 0.01]);
  close(s[0], Math.exp(0.01) - 1);
  assert.ok(Number.isNaN(s[1]));
  close(s[2], Math.exp(-0.01 + 0.00005) - 1);
  assert.throws(() => dailyExpectedReturn(0.1, 0), ConfigError);
  // Compounding the daily return over h days gives back the h-day return (σ = 0).
  fc.assert(
    fc.property(fc.double({ min: -0.5, max: 0.5, noNaN: true }), fc.integer({ min: 1, max: 60 }), (f, h) => {
      close(h * Math.log1p(dailyExpectedReturn(f, h)), f, 1e-10);
    }),
    { seed: 3 },
  );
});

Deno.test("sign and forecast/σ sizing", () => {
  assert.deepEqual(Array.from(signPositions([0.3, -0.1, 0, NaN], 0.5)), [0.5, -0.5, 0, NaN]);
  // Trailing volatility at t uses r[t-1], r[t] (window 2): std of (0.01, 0.03) = 0.01414...
  const vol = trailingVolatility([0.01, 0.03, NaN, -0.01], 2);
  assert.ok(Number.isNaN(vol[0]));
  close(vol[1], Math.sqrt(0.0002));
  close(vol[2], Math.sqrt(0.0002)); // NaN return skipped: same two returns
  close(vol[3], Math.sqrt(((0.03 - 0.01) ** 2 + (-0.01 - 0.01) ** 2) / 1));
  const p = forecastOverSigma([0.01, 0.05, -0.05, 0.01], [0.02, 0.02, 0.02, 0], { scale: 1, cap: 2 });
  assert.deepEqual(Array.from(p), [0.5, 2, -2, NaN]);
});

Deno.test("volatility targeting scales to target / (σ·√252), capped", () => {
  const returns = [0.01, -0.01, 0.01, -0.01];
  const sigma = Math.sqrt(((0.01) ** 2 * 2) / 1); // window 2: std of (0.01, -0.01) with ddof 1
  const v = volatilityTarget([1, 1, -1, 1], returns, { targetVol: 0.1, window: 2, maxLeverage: 5 });
  assert.ok(Number.isNaN(v[0]));
  close(v[1], 0.1 / (sigma * Math.sqrt(252)));
  close(v[2], -0.1 / (sigma * Math.sqrt(252)));
  const capped = volatilityTarget([1, 1], [0.001, -0.001], { targetVol: 0.5, window: 2, maxLeverage: 1.5 });
  assert.equal(capped[1], 1.5);
  assert.throws(() => volatilityTarget([1], [0.01], { targetVol: 0 }), /targetVol/);
});

Deno.test("Kelly: f* = p − (1 − p)/b, fractional, and positions from probabilities", () => {
  close(kellyFraction(0.6, 1), 0.2);
  close(kellyFraction(0.5, 2), 0.25);
  close(kellyFraction(0.4, 1), -0.2);
  close(fractionalKelly(0.6, 1, 0.5), 0.1);
  assert.equal(fractionalKelly(0.4, 1, 0.5), 0);
  const k = kellyPositions([0.6, 0.4, 0.5, NaN], { fraction: 0.5 });
  close(k[0], 0.1);
  close(k[1], -0.1);
  assert.equal(k[2], 0);
  assert.ok(Number.isNaN(k[3]));
  assert.throws(() => kellyFraction(1.2), /winProbability/);
  assert.throws(() => fractionalKelly(0.6, 1, 1.5), /fraction/);
  assert.throws(() => kellyPositions([1.5]), ConfigError);
});

Deno.test("win-rate prior is clip(max(holdout accuracy, share of positive targets), 0.50, 0.60)", () => {
  close(winRatePrior(0.52, 0.54), 0.54);
  close(winRatePrior(0.56, 0.53), 0.56);
  assert.equal(winRatePrior(0.45, 0.48), 0.5);
  assert.equal(winRatePrior(0.71, 0.53), 0.6); // too good to be true is not bet on
  assert.throws(() => winRatePrior(1.2, 0.5), /holdoutAccuracy/);
});

Deno.test("long-biased half-Kelly hybrid: bullish, bearish, risk-off and neutral by hand", () => {
  // winRate 0.6, payoff 1: Kelly 0.2, half Kelly k = 0.1.
  const params = { maxLong: 1, maxShort: 0.05, baseLongBias: 0.3, bearishRiskOff: false, winRate: 0.6 };
  const p = longBiasedHalfKelly([1, -1, 0, NaN], params);
  close(p[0], 0.4); // 0.3 + 0.1
  close(p[1], 0.2); // 0.3 − 0.1: still long (long bias)
  close(p[2], 0.3);
  assert.ok(Number.isNaN(p[3]));
  const riskOff = longBiasedHalfKelly([1, -1], { ...params, bearishRiskOff: true });
  assert.deepEqual(Array.from(riskOff), [p[0], 0]);
  const shorty = longBiasedHalfKelly([-1], { ...params, baseLongBias: 0, maxShort: 0.05 });
  close(shorty[0], -0.05); // −0.1 limited by maxShort
  const capped = longBiasedHalfKelly([1], { ...params, maxLong: 0.35 });
  close(capped[0], 0.35);
  assert.throws(() => longBiasedHalfKelly([1], { ...params, baseLongBias: 2 }), /baseLongBias/);
  assert.throws(() => longBiasedHalfKelly([1], { ...params, kellyFraction: 0 }), /kellyFraction/);
  assert.throws(() => longBiasedHalfKelly([1], { ...params, maxShort: -1 }), /maxShort/);
  assert.throws(
    () => longBiasedHalfKelly([1], { ...params, drawdownThreshold: 1.5, drawdownMaxPosition: 0.1 }),
    /drawdownThreshold/,
  );
  assert.throws(() => longBiasedHalfKelly([1], { ...params, drawdownThreshold: 0.1 }), /drawdownMaxPosition/);
});

Deno.test("drawdown circuit breaker: caps positions from the close the drawdown is reached until recovery", () => {
  const returns = [NaN, -0.1, -0.1, 0.05, 0.3, 0.1];
  const { positions, tripped, equity } = applyDrawdownBreaker([1, 1, 1, 1, 1, 1], returns, {
    threshold: 0.15,
    maxPosition: 0.25,
  });
  // Equity: 0.9 (dd −10 %), 0.81 (dd −19 %: trips at the close of day 2), then held 0.25 from day 3 on.
  close(equity[1], 0.9);
  close(equity[2], 0.81);
  close(equity[3], 0.81 * (1 + 0.25 * 0.05));
  assert.deepEqual(Array.from(tripped), [0, 0, 1, 1, 1, 1]);
  assert.deepEqual(Array.from(positions), [1, 1, 0.25, 0.25, 0.25, 0.25]);
  // Recovery to the previous peak releases it.
  const rec = applyDrawdownBreaker([1, 1, 1, 1, 1], [NaN, -0.2, 1.0, 0.5, 0.1], { threshold: 0.1, maxPosition: 0.5 });
  // 0.8 trips; day 2 earns 0.5·100 % → 1.2 ≥ peak 1: released.
  assert.deepEqual(Array.from(rec.tripped), [0, 1, 0, 0, 0]);
  assert.deepEqual(Array.from(rec.positions), [1, 0.5, 1, 1, 1]);
});

Deno.test("drawdown breaker at lag 0 (same bar): the decision held over t sees the drawdown through t − 1", () => {
  // Positions decided "at t" are held over period t, so they are made before r[t] is known.
  const returns = [NaN, -0.2, -0.2, 1.0, 0.1, 0.1];
  const b = applyDrawdownBreaker([1, 1, 1, 1, 1, 1], returns, {
    threshold: 0.1,
    maxPosition: 0.5,
    lag: 0,
    sameBar: true,
  });
  // t = 1: held 1 (nothing lost yet), equity 0.8 (−20 %): trips. t = 2: decided on 0.8, capped 0.5: 0.8 · 0.9 = 0.72.
  // t = 3: 0.5 · 100 % → 1.08 ≥ peak 1: released, so t = 4 and 5 hold 1 again: 1.188, 1.3068.
  assert.deepEqual(Array.from(b.tripped), [0, 0, 1, 1, 0, 0]);
  assert.deepEqual(Array.from(b.positions), [1, 1, 0.5, 0.5, 1, 1]);
  [1, 0.8, 0.72, 1.08, 1.188, 1.3068].forEach((e, t) => close(b.equity[t], e));
  // The engine, run on those positions with the same lag, computes the same equity.
  const r = backtest({ returns, positions: b.positions, lag: 0, sameBar: true });
  for (let t = 0; t < returns.length; t++) close(r.equity[t], b.equity[t]);
});

Deno.test("property: the breaker tracks exactly the equity the engine computes for its positions", () => {
  fc.assert(
    fc.property(
      fc.array(fc.double({ min: -0.15, max: 0.15, noNaN: true }), { minLength: 5, maxLength: 80 }),
      fc.double({ min: 0.02, max: 0.5, noNaN: true }),
      fc.integer({ min: 0, max: 3 }),
      fc.double({ min: 0, max: 30, noNaN: true }),
      (rets, threshold, lag, cost) => {
        const base = rets.map((_, i) => (i % 3 === 0 ? -0.5 : 1));
        const costs = { lag, sameBar: lag === 0, costBps: cost, borrowBps: 100 };
        const b = applyDrawdownBreaker(base, rets, { ...costs, threshold, maxPosition: 0.2 });
        const r = backtest({ returns: rets, positions: b.positions, ...costs });
        for (let t = r.window.start; t <= r.window.end; t++) close(b.equity[t], r.equity[t], 1e-12);
        // While tripped, decisions respect the cap.
        for (let t = 0; t < rets.length; t++) if (b.tripped[t]) assert.ok(Math.abs(b.positions[t]) <= 0.2 + 1e-15);
      },
    ),
    { seed: 5, numRuns: 150 },
  );
});

Deno.test("sizePositions dispatches every rule and hybridPositions adds the breaker", () => {
  const f = [0.01, -0.02, 0.03, 0.01, -0.01];
  const r = [NaN, 0.01, -0.02, 0.015, -0.3];
  assert.deepEqual(Array.from(sizePositions({ kind: "sign" }, { forecasts: f, returns: r })), [1, -1, 1, 1, -1]);
  // forecast/σ with window 2: σ[2] = std(0.01, −0.02) = 0.03/√2, σ[3] = std(−0.02, 0.015) = 0.035/√2,
  // σ[4] = std(0.015, −0.3) = 0.315/√2.
  const s2 = [NaN, NaN, 0.03 / Math.SQRT2, 0.035 / Math.SQRT2, 0.315 / Math.SQRT2];
  const fos = sizePositions({ kind: "forecastOverSigma", window: 2, scale: 1, cap: 1 }, { forecasts: f, returns: r });
  assert.ok(Number.isNaN(fos[0]) && Number.isNaN(fos[1]));
  assert.equal(fos[2], 1); // 0.03 / 0.0212 = 1.41, capped
  close(fos[3], 0.01 / s2[3]);
  close(fos[4], -0.01 / s2[4]);
  // Volatility targeting of the sign: ±0.1 / (σ·√252), annualized with the costs' annualization.
  const vt = sizePositions({ kind: "volatilityTarget", targetVol: 0.1, window: 2, maxLeverage: 10 }, {
    forecasts: f,
    returns: r,
    costs: { annualization: 52 },
  });
  for (const t of [2, 3, 4]) close(vt[t], Math.sign(f[t]) * 0.1 / (s2[t] * Math.sqrt(52)));
  // Kelly: P = 0.7 → half of f* = 0.4 is 0.2 long; P = 0.35 → half of f*(0.65) = 0.3 is 0.15 short.
  const kelly = sizePositions({ kind: "kelly", fraction: 0.5 }, {
    forecasts: f,
    returns: r,
    probabilities: [0.7, 0.35, 0.5, NaN, 0.55],
  });
  close(kelly[0], 0.2);
  close(kelly[1], -0.15);
  assert.equal(kelly[2], 0);
  assert.ok(Number.isNaN(kelly[3]));
  close(kelly[4], 0.05);
  // Hybrid (no breaker): winRate 0.55 → Kelly 0.1, half 0.05 around the bias 0.5.
  const hybridSpec = {
    kind: "hybrid",
    maxLong: 1,
    maxShort: 0,
    baseLongBias: 0.5,
    bearishRiskOff: false,
    winRate: 0.55,
  } as const;
  const hybrid = sizePositions(hybridSpec, { forecasts: f, returns: r });
  for (let t = 0; t < 5; t++) close(hybrid[t], f[t] > 0 ? 0.55 : 0.45);
  // With the breaker, tracked with the given costs: day 4 (−30 % on a 0.55 long, 10 bps entry) trips a 15 % breaker.
  const hb = sizePositions(
    { ...hybridSpec, drawdownThreshold: 0.15, drawdownMaxPosition: 0.2 },
    { forecasts: [...f, 0.01], returns: [...r, 0.01], costs: { costBps: 10 } },
  );
  assert.deepEqual(Array.from(hb).map((x) => +x.toFixed(12)), [0.55, 0.45, 0.55, 0.55, 0.2, 0.2]);
  const hy = { maxLong: 1, maxShort: 0, baseLongBias: 1, bearishRiskOff: false, winRate: 0.55 };
  const withBreaker = hybridPositions([1, 1, 1, 1, 1], [NaN, -0.3, 0.01, 0.01, 0.01], {
    ...hy,
    drawdownThreshold: 0.2,
    drawdownMaxPosition: 0.1,
  });
  assert.deepEqual(Array.from(withBreaker), [1, 0.1, 0.1, 0.1, 0.1]);
  assert.throws(() => sizePositions({ kind: "kelly" }, { forecasts: f, returns: r }), /probabilities/);
  assert.throws(() => sizePositions({ kind: "nope" } as never, { forecasts: f, returns: r }), ConfigError);
});

Deno.test("the breaker refuses a cap of 0 (it would never release) and a cap that never binds", () => {
  const hy = { maxLong: 1, maxShort: 0.3, baseLongBias: 0.5, bearishRiskOff: false, winRate: 0.55 };
  assert.throws(() => longBiasedHalfKelly([1], { ...hy, drawdownThreshold: 0.1, drawdownMaxPosition: 0 }), {
    name: "ConfigError",
    message: /drawdownMaxPosition must be in \(0, 0\.55\).*never release/,
  });
  // winRate 0.55, half Kelly: k = 0.5 · (0.55 − 0.45) = 0.05, so the rule takes 0.5 + 0.05 = 0.55 long and
  // 0.5 − 0.05 = 0.45 long: a cap of 0.6 (below maxLong = 1) still never binds.
  for (const cap of [1, 0.6, 0.55]) {
    assert.throws(
      () => longBiasedHalfKelly([1], { ...hy, drawdownThreshold: 0.1, drawdownMaxPosition: cap }),
      /never binds/,
      `cap ${cap}`,
    );
  }
  assert.doesNotThrow(() => longBiasedHalfKelly([1], { ...hy, drawdownThreshold: 0.1, drawdownMaxPosition: 0.54 }));
  // A cap above maxLong still binds on shorts when the rule shorts more: full Kelly at p = 0.6, b = 2 gives
  // f* = 0.6 − 0.4 / 2 = 0.4: bullish min(0.2, 0.4) = 0.2, bearish −0.4.
  const shortHeavy = {
    ...hy,
    maxLong: 0.2,
    baseLongBias: 0,
    maxShort: 1,
    winRate: 0.6,
    payoff: 2,
    kellyFraction: 1,
    drawdownThreshold: 0.1,
  };
  assert.doesNotThrow(() => longBiasedHalfKelly([1], { ...shortHeavy, drawdownMaxPosition: 0.3 }));
  assert.throws(() => longBiasedHalfKelly([1], { ...shortHeavy, drawdownMaxPosition: 0.4 }), /never binds/);
  // Risk-off never shorts, so maxShort does not count: the largest position is the bullish 0.2.
  assert.throws(
    () => longBiasedHalfKelly([1], { ...shortHeavy, bearishRiskOff: true, drawdownMaxPosition: 0.3 }),
    /never binds/,
  );
  assert.throws(() => applyDrawdownBreaker([1, 1], [NaN, 0.01], { threshold: 0.1, maxPosition: 0 }), {
    name: "ConfigError",
    message: /maxPosition must be a finite number > 0/,
  });
  // Why 0 is refused: capped to 0 the equity is flat, stays below its peak, and the breaker stays on for good.
  const tiny = applyDrawdownBreaker([1, 1, 1, 1, 1], [NaN, -0.2, 0.5, 0.5, 0.5], { threshold: 0.1, maxPosition: 1e-9 });
  assert.deepEqual(Array.from(tiny.tripped), [0, 1, 1, 1, 1]);
});

Deno.test("sizing specs with a horizon convert h-day log forecasts to daily arithmetic returns first", () => {
  const r = [NaN, 0.01, 0.03, -0.01];
  const f = [0.05, 0.05, 0.05, -0.05]; // 5-day log-return forecasts
  // σ (window 2): NaN, NaN, std(0.01, 0.03) = √0.0002, std(0.03, −0.01) = √0.0008.
  const raw = sizePositions({ kind: "forecastOverSigma", window: 2, cap: 1 }, { forecasts: f, returns: r });
  assert.deepEqual(Array.from(raw).slice(2), [1, -1]); // the 5-day forecast read as daily: capped both times
  const conv = sizePositions({ kind: "forecastOverSigma", window: 2, cap: 1, horizon: 5 }, {
    forecasts: f,
    returns: r,
  });
  close(conv[2], Math.expm1(0.01) / Math.sqrt(0.0002)); // 0.7106...
  close(conv[3], Math.expm1(-0.01) / Math.sqrt(0.0008)); // −0.3518...
  // A constant daily log volatility adds the lognormal drift σ²/2.
  const withVol = sizePositions(
    { kind: "forecastOverSigma", window: 2, cap: 1, horizon: 5, dailyLogVol: 0.02 },
    { forecasts: f, returns: r },
  );
  close(withVol[2], Math.expm1(0.01 + 0.0002) / Math.sqrt(0.0002));
  // "trailing": σ = std of the last 2 daily log returns, known at the close.
  const trailing = sizePositions(
    { kind: "forecastOverSigma", window: 2, cap: 1, horizon: 5, dailyLogVol: "trailing" },
    { forecasts: f, returns: r },
  );
  const sLog = Math.abs(Math.log(1.03) - Math.log(1.01)) / Math.SQRT2;
  close(trailing[2], Math.expm1(0.01 + sLog * sLog / 2) / Math.sqrt(0.0002));
  // The drift correction can turn a slightly negative log forecast into a positive expected return.
  const sign = sizePositions({ kind: "sign", horizon: 1, dailyLogVol: 0.02 }, {
    forecasts: [-0.0001, -0.0003],
    returns: [NaN, 0],
  });
  assert.deepEqual(Array.from(sign), [1, -1]); // −0.0001 + 0.0002 > 0; −0.0003 + 0.0002 < 0
  assert.throws(
    () => sizePositions({ kind: "sign", dailyLogVol: 0.02 }, { forecasts: f, returns: r }),
    /needs horizon/,
  );
  // Kelly sizes from probabilities and never reads the forecasts: a conversion on it is refused, not ignored.
  for (const conv of [{ horizon: 5 }, { horizon: 5, dailyLogVol: 0.02 }, { dailyLogVol: 0.02 }]) {
    assert.throws(
      () =>
        sizePositions({ kind: "kelly", ...conv }, { forecasts: f, returns: r, probabilities: [0.6, 0.6, 0.6, 0.6] }),
      { name: "ConfigError", message: /kelly sizing uses probabilities/ },
      JSON.stringify(conv),
    );
  }
  assert.throws(() => sizePositions({ kind: "sign", horizon: 0 }, { forecasts: f, returns: r }), /horizon/);
  assert.throws(
    () => sizePositions({ kind: "sign", horizon: 5, dailyLogVol: -1 }, { forecasts: f, returns: r }),
    /dailyLogVol/,
  );
  assert.throws(() => sizePositions({ kind: "sign" }, { forecasts: [1], returns: r }), /one value per period/);
});
