/**
 * On real S&P 500 prices: honest baselines land near a coin flip and pass the plausibility guard; a leaking
 * "prediction" (tomorrow's return plus noise) is flagged. Skipped when ../shared/data/sp500 is absent.
 */
import assert from "node:assert/strict";
import { gunzipSync } from "node:zlib";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { realDataTest } from "../_helpers/real_data.ts";
import {
  alwaysLongBaseline,
  crossSectionalIC,
  directionAccuracy,
  informationCoefficient,
  plausibilityCheck,
  previousSignBaseline,
  rankInformationCoefficient,
} from "../../lib/metrics/mod.ts";
import { walkForwardSplits } from "../../lib/validation/walk_forward.ts";

const SYMBOLS = ["AAPL", "MSFT", "JPM", "XOM", "PG", "KO", "INTC", "CSCO", "WMT", "PFE", "MRK", "HD", "DIS", "MMM"];

/** Daily log returns from adj_close, keyed by the date the return ends on. */
function dailyReturns(dir: string, symbol: string): { dates: string[]; ret: number[] } {
  const text = new TextDecoder().decode(gunzipSync(readFileSync(join(dir, `${symbol}.csv.gz`))));
  const lines = text.trim().split("\n");
  const header = lines[0].split(",");
  const di = header.indexOf("date");
  const ai = header.indexOf("adj_close");
  const dates: string[] = [];
  const ret: number[] = [];
  let prev = NaN;
  for (const line of lines.slice(1)) {
    const f = line.split(",");
    const px = Number(f[ai]);
    if (Number.isFinite(prev)) {
      dates.push(f[di]);
      ret.push(Math.log(px / prev));
    }
    prev = px;
  }
  return { dates, ret };
}

realDataTest("real prices: previous-day sign and always-long stay near a coin flip and pass the guard", (dir) => {
  const rowDates: string[] = [];
  const prevRet: number[] = [];
  const nextRet: number[] = [];
  for (const s of SYMBOLS) {
    const { dates, ret } = dailyReturns(dir, s);
    for (let t = 1; t < ret.length; t++) {
      rowDates.push(dates[t]);
      prevRet.push(ret[t - 1]);
      nextRet.push(ret[t]);
    }
  }
  // Test on the last fold of an anchored walk-forward over the shared date axis, as the pipeline would.
  const axis = [...new Set(rowDates)].sort();
  const folds = walkForwardSplits(axis, { folds: 5, horizon: 1 });
  const testDates = new Set(Array.from(folds[4].testIndices, (i) => axis[i]));
  const rows = rowDates.map((d, i) => (testDates.has(d) ? i : -1)).filter((i) => i >= 0);
  const truth = rows.map((i) => nextRet[i]);
  const prev = rows.map((i) => prevRet[i]);
  const prevSign = previousSignBaseline(prev, truth);
  const long = alwaysLongBaseline(truth);
  assert.ok(prevSign > 0.44 && prevSign < 0.56, `previous-sign accuracy ${prevSign}`);
  assert.ok(long > 0.46 && long < 0.58, `always-long accuracy ${long}`);
  const ic = crossSectionalIC(rows.map((i) => rowDates[i]), prev, truth);
  assert.ok(Math.abs(ic.meanIC) < 0.06, `mean cross-sectional IC ${ic.meanIC}`);
  const report = plausibilityCheck({
    accuracy: prevSign,
    nTest: rows.length,
    ic: informationCoefficient(prev, truth),
    rankIc: rankInformationCoefficient(prev, truth),
    meanIC: ic.meanIC,
  });
  assert.equal(report.suspicious, false, JSON.stringify(report.flags));

  // A leak: "predicting" with tomorrow's return plus noise. The guard must flag it.
  let seed = 1;
  const noise = () => ((seed = (seed * 16807) % 2147483647) / 2147483647 - 0.5) * 0.04;
  const leaked = truth.map((r) => r + noise());
  const leakReport = plausibilityCheck({
    accuracy: directionAccuracy(truth, leaked),
    nTest: truth.length,
    ic: informationCoefficient(leaked, truth),
  });
  assert.equal(leakReport.suspicious, true);
  assert.ok(leakReport.flags.some((f) => f.metric === "accuracy"));
});
