/**
 * Forward simulation: production walked day by day (retraining on a schedule) must give exactly the vectorized
 * backtest of the same predictions — with the default sign book, with the stateful seed-aapl hybrid (the drawdown
 * breaker tracks equity through time) and with a top-k book (yesterday's book decides today's) — and a sizer that
 * looks one day ahead is caught.
 */
import assert from "node:assert/strict";
import { resolveStudyConfig } from "../../lib/pipeline/config.ts";
import { simulateProduction } from "../../lib/production/simulate.ts";
import { type BookInput, sizeBook } from "../../lib/pipeline/sizing.ts";
import { ConfigError, LeakageError } from "../../lib/errors.ts";

const BASE = {
  data: { synthetic: { symbols: 4, days: 420, seed: 9 } },
  validation: { folds: 2 },
  models: [{ name: "lin", kind: "logistic" }],
};

Deno.test("simulate: day-by-day production equals the vectorized backtest (sign, seed-aapl, top-k); retrains on schedule", async () => {
  for (
    const backtest of [
      {},
      { sizing: "seed-aapl", costBps: 10, borrowBps: 50 },
      { portfolio: { kind: "topk", k: 2, nDrop: 1, short: true }, sizing: { kind: "vol-target", targetVol: 0.2 } },
    ]
  ) {
    const config = resolveStudyConfig({ ...BASE, backtest });
    const from = "2010-09-01";
    const r = await simulateProduction({ config, from, retrainEvery: 40 });
    const e = r.entries[0];
    assert.ok(e.matches, `${JSON.stringify(backtest)}: forward and vectorized differ by ${e.maxDifference}`);
    assert.ok(e.datesCompared > 100, String(e.datesCompared));
    assert.equal(e.forward.sharpe, e.vectorized.sharpe);
    // The forward record beside buy & hold: the point estimate is the difference of the two Sharpe ratios over the
    // same dates, inside its bootstrap interval.
    const d = e.sharpeDifference;
    assert.ok(Math.abs(d.value - (e.forward.sharpe - e.buyAndHold.sharpe)) < 1e-9, `${d.value} vs the metrics'`);
    assert.ok(d.ci[0] < d.value && d.value < d.ci[1], JSON.stringify(d));
    assert.match(d.method, /block/);
    assert.ok(e.predicted.start >= from);
    // One model per 40-date block from the first date on or after --from.
    assert.equal(r.retrains[0], r.from);
    assert.equal(r.retrains.length, Math.ceil(e.predicted.rows / 4 / 40));
  }
});

Deno.test("simulate: a sizer that reads tomorrow's returns is caught", async () => {
  const config = resolveStudyConfig(BASE);
  // Goes long when the next date's return (not known at the close of t) is positive.
  const peeking = (input: BookInput) => {
    const out = sizeBook(input);
    const m = input.symbols.length, n = input.dates.length;
    for (let t = 0; t < n; t++) {
      for (let j = 0; j < m; j++) {
        const next = input.returns[(t + 1) * m + j];
        if (Number.isFinite(out.weights[t * m + j])) out.weights[t * m + j] = next > 0 ? 1 / m : 0;
      }
    }
    return out;
  };
  await assert.rejects(
    () => simulateProduction({ config, from: "2010-09-01", book: peeking }),
    (e) => e instanceof LeakageError && /look-ahead: the decision at \d{4}-\d{2}-\d{2}/.test(e.message),
  );
});

Deno.test("simulateProduction refuses a from that is not a calendar date, before preparing anything", async () => {
  for (const from of ["2019-02-30", "2019-13-45", "2019-02-29"]) {
    await assert.rejects(
      () => simulateProduction({ config: resolveStudyConfig({}), from }),
      (e: unknown) =>
        e instanceof ConfigError && e.message === `from "${from}": not a calendar date (expected YYYY-MM-DD)`,
    );
  }
});
