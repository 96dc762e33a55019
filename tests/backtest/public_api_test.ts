import assert from "node:assert/strict";
import * as candor from "../../lib/mod.ts";

Deno.test("lib/mod.ts exports the backtest API", () => {
  for (
    const name of [
      "backtest",
      "backtestGrid",
      "backtestPanel",
      "portfolioWeights",
      "computeMetrics",
      "dailyExpectedReturn",
      "sizePositions",
      "longBiasedHalfKelly",
      "applyDrawdownBreaker",
      "winRatePrior",
      "simulateForward",
      "runSweep",
      "writeSweep",
    ]
  ) {
    assert.equal(typeof (candor as Record<string, unknown>)[name], "function", name);
  }
  const r = candor.backtest({ returns: [NaN, 0.1], positions: [1, 1] });
  assert.ok(Math.abs(r.metrics.totalReturn - 0.1) < 1e-15);
});
