import assert from "node:assert/strict";
import { ConfigError } from "../../lib/errors.ts";
import { resolveStudyConfig } from "../../lib/pipeline/config.ts";
import {
  bookWeights,
  parseSizing,
  SEED_AAPL_SIZING,
  sizeBook,
  sizedPositions,
  type SizingConfig,
  sizingLabel,
} from "../../lib/pipeline/sizing.ts";
import type { BookInput } from "../../lib/pipeline/sizing.ts";
import { priorOf } from "../../lib/pipeline/backtest.ts";
import { backtest } from "../../lib/backtest/engine.ts";

const close = (a: number, b: number, tol = 1e-12) => Math.abs(a - b) <= tol;

function book(over: Partial<BookInput> & Pick<BookInput, "signal" | "returns">): BookInput {
  const n = over.signal.length / (over.symbols?.length ?? 1);
  return {
    dates: Array.from({ length: n }, (_, i) => `2020-01-${String(i + 1).padStart(2, "0")}`),
    symbols: ["AAA"],
    task: "binary",
    targetKind: "direction",
    horizon: 1,
    sizing: { kind: "sign" },
    portfolio: "long-short",
    costs: { lag: 1, costBps: 0, slippageBps: 0, borrowBps: 0, annualization: 252 },
    ...over,
  };
}

Deno.test("sizing config: names, the seed-aapl preset with overrides, strict keys, refusals with the key path", () => {
  assert.deepEqual(parseSizing("sign"), { kind: "sign" });
  assert.deepEqual(parseSizing("kelly"), { kind: "kelly", fraction: 0.5, payoff: 1, maxPosition: 1 });
  const seed = parseSizing("seed-aapl");
  assert.deepEqual(seed, { ...SEED_AAPL_SIZING, breaker: { drawdown: 0.25, maxPosition: 0.6 } });
  assert.equal(sizingLabel(seed), "hybrid(seed-aapl)");
  const tuned = parseSizing({ preset: "seed-aapl", maxLong: 1.5 }) as Extract<SizingConfig, { kind: "hybrid" }>;
  assert.equal(tuned.maxLong, 1.5);
  assert.equal(tuned.baseLongBias, 1.3);
  assert.equal(sizingLabel(tuned), "hybrid(seed-aapl,maxLong=1.5)");
  assert.throws(
    () => parseSizing({ kind: "kelly", fractoin: 0.2 }),
    /backtest\.sizing\.fractoin: unknown key \(did you mean "fraction"\?\)/,
  );
  assert.throws(
    () => parseSizing({ kind: "kelly", fraction: 1.5 }),
    /backtest\.sizing\.fraction: expected a number in \(0, 1\]/,
  );
  assert.throws(() => parseSizing("martingale"), /expected a sizing rule/);
  // In a study: kelly cannot size a regression target; a breaker cap that never binds is refused.
  assert.throws(
    () => resolveStudyConfig({ target: { kind: "return" }, backtest: { sizing: "kelly" } }),
    (e) => e instanceof ConfigError && /backtest\.sizing: kelly sizes from P\(next return > 0\)/.test(e.message),
  );
  assert.throws(
    () =>
      resolveStudyConfig({
        backtest: { sizing: { preset: "seed-aapl", breaker: { drawdown: 0.25, maxPosition: 2 } } },
      }),
    /backtest\.sizing\.breaker\.maxPosition must be in \(0, 1\.3\)/,
  );
  assert.throws(
    () => resolveStudyConfig({ backtest: { sizing: { kind: "hybrid", maxLong: 1, baseLongBias: 1.2 } } }),
    /backtest\.sizing\.baseLongBias must be in \[0, maxLong = 1\]/,
  );
  const c = resolveStudyConfig({ backtest: { sizing: "seed-aapl", portfolio: { kind: "topk", k: 2 }, borrowBps: 30 } });
  assert.equal(c.backtest.sizing.kind, "hybrid");
  assert.deepEqual(c.backtest.portfolio, { kind: "topk", k: 2, short: false });
});

Deno.test("win-rate prior: clip(max(holdout direction accuracy, training share up), 0.50, 0.60)", () => {
  assert.equal(priorOf(0.7, 0.52), 0.6);
  assert.equal(priorOf(0.45, 0.53), 0.53);
  assert.equal(priorOf(0.54, 0.51), 0.54);
  assert.equal(priorOf(0.4, 0.45), 0.5);
  assert.equal(priorOf(NaN, 0.56), 0.56); // no tail rows: the training share alone
});

Deno.test("seed-aapl reproduces its single-stock rule on a hand-worked path: the breaker trips at −25 % and releases at the peak", () => {
  // One symbol, lag 1, no costs, win-rate prior 0.55: k = ½ · (0.55 − 0.45) = 0.05, so bullish = min(1.8, 1.3 + 0.05)
  // = 1.35, bearish = the risk-off position 0.10, neutral = 1.30. The breaker tracks this position's own equity.
  const signal = [0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, -0.1, 0];
  const returns = [0, -0.1, -0.1, 0.1, 0.2, 0.2, 0.05, 0, 0];
  // Equity by hand (held position = yesterday's decision):
  // t1: 1 · (1 + 1.35 · −0.1) = 0.865            drawdown −13.5 %: off → decide 1.35
  // t2: 0.865 · 0.865 = 0.748225                  drawdown −25.18 % ≤ −25 %: trips → decide min(0.6, 1.35) = 0.6
  // t3: 0.748225 · (1 + 0.6 · 0.1) = 0.7931185    still below the peak 1: capped 0.6
  // t4: 0.7931185 · 1.12 = 0.88829272             capped 0.6
  // t5: 0.88829272 · 1.12 = 0.9948878464          capped 0.6
  // t6: 0.9948878464 · 1.03 = 1.02473448179       ≥ the peak 1: releases → decide 1.35
  // t7: bearish → 0.10 (risk off); t8: neutral → 1.30
  const want = [1.35, 1.35, 0.6, 0.6, 0.6, 0.6, 1.35, 0.1, 1.3];
  const input = book({
    signal,
    returns,
    winRate: signal.map(() => 0.55),
    sizing: parseSizing("seed-aapl"),
  });
  const { positions, weights } = sizeBook(input);
  positions.forEach((p, t) => assert.ok(close(p, want[t]), `t${t}: ${p} vs ${want[t]}`));
  // One symbol: its sleeve is the whole book.
  weights.forEach((w, t) => assert.ok(close(w, want[t]), `weight t${t}`));
  // The engine earns exactly the hand-worked equity with these positions.
  const r = backtest({ returns, positions: want, lag: 1 });
  assert.ok(close(r.equity[6], 1.02473448179, 1e-10), String(r.equity[6]));
  // Without the breaker the same path stays at 1.35 throughout the drawdown.
  const plain = sizedPositions({ ...input, sizing: { ...parseSizing("seed-aapl"), breaker: null } as SizingConfig });
  assert.deepEqual(Array.from(plain.slice(0, 7)), [1.35, 1.35, 1.35, 1.35, 1.35, 1.35, 1.35]);
  // The prior moves the bullish level: 0.6 → k = 0.1 → 1.4; a missing prior is its floor 0.5 → k = 0 → 1.3.
  const high = sizedPositions({ ...input, winRate: signal.map(() => 0.6) });
  assert.ok(close(high[0], 1.4));
  const none = sizedPositions({ ...input, winRate: signal.map(() => NaN) });
  assert.ok(close(none[0], 1.3));
});

Deno.test("regression forecasts are converted from h-day log returns to daily arithmetic returns before sizing", () => {
  // f = −0.0004 over h = 5: f/h = −0.00008 a day; the trailing daily log vol of ±2 % returns adds σ²/2 ≈ 0.0002, so
  // the arithmetic expectation is positive for a return target (long), and −0.00008 for an excess target (short).
  const n = 30;
  const returns = Array.from({ length: n }, (_, t) => (t % 2 === 0 ? 0.02 : -0.02));
  const signal = Array.from({ length: n }, () => -0.0004);
  const asReturn = sizedPositions(book({ signal, returns, task: "regression", targetKind: "return", horizon: 5 }));
  const asExcess = sizedPositions(book({ signal, returns, task: "regression", targetKind: "excess", horizon: 5 }));
  assert.ok(Number.isNaN(asReturn[5]), "no trailing σ yet: no decision");
  assert.equal(asReturn[25], 1);
  assert.equal(asExcess[25], -1);
  // forecast-over-sigma sizes the converted magnitude: expm1(f/h) / σ_trailing for an excess target.
  const fos = sizedPositions(book({
    signal: signal.map(() => 0.001),
    returns,
    task: "regression",
    targetKind: "excess",
    horizon: 5,
    sizing: { kind: "forecast-over-sigma", window: 20, scale: 10, cap: 1 },
  }));
  const sigma = Math.sqrt((20 * 0.02 * 0.02) / 19); // sample std of ±0.02, mean 0
  assert.ok(close(fos[25], (10 * Math.expm1(0.001 / 5)) / sigma, 1e-12), String(fos[25]));
});

Deno.test("kelly sizes from P(up); the book gives equal sleeves (long-short, long-only) or a top-k pick", () => {
  // Two symbols × 2 dates; P(up) 0.6 → half Kelly 0.5 · (0.6 − 0.4) = 0.1 long; 0.3 → 0.5 · (0.7 − 0.3) = 0.2 short.
  const probability = [0.6, 0.3, 0.55, NaN];
  const signal = probability.map((p) => p - 0.5);
  const input = book({
    symbols: ["AAA", "BBB"],
    signal,
    probability,
    returns: [0, 0, 0.01, 0.01],
    sizing: parseSizing("kelly"),
  });
  const pos = sizedPositions(input);
  assert.ok(close(pos[0], 0.1) && close(pos[1], -0.2) && close(pos[2], 0.05));
  assert.ok(Number.isNaN(pos[3]));
  const ls = bookWeights(pos, signal, 2, 2, "long-short");
  assert.ok(close(ls[0], 0.05) && close(ls[1], -0.1) && close(ls[2], 0.05) && ls[3] === 0);
  const lo = bookWeights(pos, signal, 2, 2, "long-only");
  assert.ok(close(lo[0], 0.05) && lo[1] === 0);
  const top = bookWeights(pos, signal, 2, 2, { kind: "topk", k: 1, short: false });
  assert.ok(close(top[0], 0.1) && top[1] === 0 && close(top[2], 0.05) && top[3] === 0);
  // sign sizing with long-short is the old equal-weight book: ±1/N on the symbols with a prediction.
  const sign = sizeBook({ ...input, sizing: { kind: "sign" } }).weights;
  assert.deepEqual(Array.from(sign), [0.5, -0.5, 1, 0]);
});
