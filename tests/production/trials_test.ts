/** The deflation of new trials over the registry's count, and its one-line description, with deleted runs counted. */
import assert from "node:assert/strict";
import { deflationWith, deflationWords } from "../../lib/production/trials.ts";

Deno.test("deflationWith: N and its split add up with the trials of deleted runs; the words name them only when there are some", () => {
  const before = { runs: 1, runBacktests: 2, sweepTrials: 3, retired: 4, total: 10, sharpes: [0.1, 0.3] };
  const d = deflationWith(before, [0.2, Number.NaN], { sweepTrials: 5 });
  assert.equal(d.trials, 15);
  assert.deepEqual(d.counted, { runs: 1, runBacktests: 2, sweepTrials: 8, retired: 4 });
  assert.equal(d.trials, d.counted.runs + d.counted.runBacktests + d.counted.sweepTrials + d.counted.retired);
  // Sample variance of 0.1, 0.3, 0.2 (the NaN dropped): mean 0.2, squares 0.01 + 0.01 + 0 over 2.
  assert.ok(Math.abs(d.trialSharpeVariance - 0.01) < 1e-15, String(d.trialSharpeVariance));
  assert.equal(
    deflationWords(d),
    "N = 15 trials on this data and target (1 study entry, 2 re-sized backtest(s), 8 sweep cell(s), 4 of deleted runs)",
  );
  const none = deflationWith({ ...before, retired: 0, total: 6 }, [], { runBacktests: 1 });
  assert.equal(
    deflationWords(none),
    "N = 7 trials on this data and target (1 study entry, 3 re-sized backtest(s), 3 sweep cell(s))",
  );
});
