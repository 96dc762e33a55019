/**
 * The honest verdict on real prices: ten large S&P 500 stocks, a 5-day direction target. Against a coin flip the
 * pooled accuracy looks overwhelmingly significant (rows treated as independent); against the strongest naive
 * baseline on the same rows, with an interval that respects overlapping labels and correlated symbols, it is not an
 * edge, and the gate refuses it.
 */
import assert from "node:assert/strict";
import { runStudy } from "../../lib/pipeline/study.ts";
import { realDataTest } from "../_helpers/real_data.ts";

const TEN = ["AAPL", "MSFT", "JPM", "XOM", "PG", "JNJ", "KO", "WMT", "IBM", "GE"];

realDataTest(
  "real prices, h = 5: 'p < 0.0001 vs coin flip' is no edge over always long once overlap is respected",
  async (dir) => {
    const r = await runStudy({
      data: { path: dir, symbols: TEN },
      target: { kind: "direction", horizon: 5 },
      models: [{ kind: "xgboost", settings: { numBoostRound: 200 } }],
    });
    const e = r.report.entries[0];
    const p = e.pooled;
    console.log(
      `accuracy ${p.accuracy.toFixed(4)} [${p.accuracyCi.map((x) => x.toFixed(4))}], naive [${
        p.naive.ci.map((x) => x.toFixed(4))
      }] ` +
        `p ${p.naive.pValue.toExponential(2)}; baselines ${JSON.stringify(p.baselines)}; edge ${
          p.edge.difference.toFixed(4)
        } ` +
        `[${
          p.edge.ci.map((x) => x.toFixed(4))
        }] vs ${p.strongestBaseline}; verdict ${p.verdict}; gate ${e.gate.reason}`,
    );
    assert.ok(p.metrics.nTest > 30000, `${p.metrics.nTest} rows`);
    // Overlapping 5-day labels on correlated stocks: the honest interval is far wider than the binomial one.
    const boot = p.accuracyCi[1] - p.accuracyCi[0], naive = p.naive.ci[1] - p.naive.ci[0];
    assert.ok(boot > 2.5 * naive, `bootstrap width ${boot} vs naive ${naive}`);
    // In a rising market always long is a strong baseline: the reference is at least as good as the coin flip.
    assert.ok(p.baselines.alwaysLong > 0.52, `always long ${p.baselines.alwaysLong}`);
    assert.notEqual(p.strongestBaseline, "coinFlip");
    assert.equal(p.verdict, "no-edge");
    assert.equal(e.gate.passed, false);
  },
);
