import assert from "node:assert/strict";
import {
  BASE_FEATURES,
  buildDataset,
  checkConfiguration,
  ConfigError,
  fitStandardScaler,
  walkForwardSplits,
} from "../../lib/mod.ts";
import { randomWalkPanel, readRealPanel } from "../features/_panels.ts";
import { realDataTest } from "../_helpers/real_data.ts";

const fold = {
  index: 0,
  train: [{ start: "2020-01-01", end: "2020-06-30" }],
  test: [{ start: "2020-07-10", end: "2020-09-30" }],
};

Deno.test("purge shorter than the horizon is a leak; purge = horizon is ok", () => {
  const bad = checkConfiguration({ horizon: 5, purge: 3 });
  assert.equal(bad[0].verdict, "leak");
  assert.match(bad[0].reason, /purge 3 < horizon 5/);
  assert.equal(checkConfiguration({ horizon: 5, purge: 5 })[0].verdict, "ok");
});

Deno.test("a scaler fitted on the whole sample is a leak; one fitted on the training window is ok", () => {
  const dates = ["2020-01-02", "2020-03-02", "2020-06-30", "2020-07-15", "2020-09-30"];
  const X = { data: Float32Array.from([1, 2, 3, 4, 5]), rows: 5, cols: 1 };
  const honest = fitStandardScaler(X, dates, fold.train[0]);
  const whole = fitStandardScaler(X, dates, { start: dates[0], end: dates[4] });
  const findings = checkConfiguration({
    horizon: 1,
    purge: 1,
    folds: [fold],
    fitted: [
      { name: "scaler (train)", fold: 0, window: honest.window },
      { name: "scaler (whole sample)", fold: 0, window: whole.window },
    ],
  });
  const byName = new Map(findings.map((f) => [f.subject, f]));
  assert.equal(byName.get("scaler (train) (fold 0)")!.verdict, "ok");
  const leak = byName.get("scaler (whole sample) (fold 0)")!;
  assert.equal(leak.verdict, "leak");
  assert.match(leak.reason, /overlapping the test window/);
});

Deno.test("walk-forward folds: scalers fitted per fold pass, a whole-sample fit leaks in every fold", () => {
  const panel = randomWalkPanel(41, 2, 300);
  const ds = buildDataset(panel, { features: BASE_FEATURES, horizon: 1 });
  const folds = walkForwardSplits(panel.dates, { folds: 3, horizon: 1 });
  const fitted = folds.flatMap((f) => [
    { name: "per-fold scaler", fold: f.index, window: fitStandardScaler(ds.X, ds.dates, f.train[0]).window },
    {
      name: "whole-sample scaler",
      fold: f.index,
      window: fitStandardScaler(ds.X, ds.dates, { start: panel.dates[0], end: panel.dates.at(-1)! }).window,
    },
  ]);
  const findings = checkConfiguration({ horizon: 1, purge: folds[0].purge, folds, fitted });
  assert.equal(findings.filter((f) => f.subject.startsWith("per-fold") && f.verdict === "ok").length, folds.length);
  assert.equal(
    findings.filter((f) => f.subject.startsWith("whole-sample") && f.verdict === "leak").length,
    folds.length,
  );
  assert.equal(findings.find((f) => f.check === "purge")!.verdict, "ok");
});

realDataTest(
  "real data: purge < horizon is refused at h = 5 on AAPL/MSFT dates, purge = horizon passes",
  async (dir) => {
    const panel = await readRealPanel(dir, ["AAPL", "MSFT"]);
    assert.throws(() => walkForwardSplits(panel.dates, { folds: 4, horizon: 5, purge: 3 }), ConfigError);
    const folds = walkForwardSplits(panel.dates, { folds: 4, horizon: 5 });
    assert.equal(folds[0].purge, 5);
    const purge = (p: number) => checkConfiguration({ horizon: 5, purge: p, folds }).find((f) => f.check === "purge")!;
    assert.equal(purge(3).verdict, "leak");
    assert.match(purge(3).reason, /purge 3 < horizon 5: the last 2 training label\(s\)/);
    assert.equal(purge(5).verdict, "ok");
  },
);

realDataTest("real data: walk-forward folds on AAPL/MSFT flag a whole-sample scaler in every fold", async (dir) => {
  const panel = await readRealPanel(dir, ["AAPL", "MSFT"]);
  const ds = buildDataset(panel, { features: BASE_FEATURES, horizon: 5 });
  const folds = walkForwardSplits(panel.dates, { folds: 4, horizon: 5 });
  const whole = fitStandardScaler(ds.X, ds.dates, { start: panel.dates[0], end: panel.dates.at(-1)! });
  const fitted = folds.flatMap((f) => [
    { name: "per-fold scaler", fold: f.index, window: fitStandardScaler(ds.X, ds.dates, f.train[0]).window },
    { name: "whole-sample scaler", fold: f.index, window: whole.window },
  ]);
  const findings = checkConfiguration({ horizon: 5, purge: folds[0].purge, folds, fitted });
  const per = findings.filter((f) => f.subject.startsWith("per-fold"));
  const leaks = findings.filter((f) => f.subject.startsWith("whole-sample"));
  assert.equal(per.length, 4);
  assert.ok(per.every((f) => f.verdict === "ok"), per.map((f) => f.reason).join("; "));
  assert.equal(leaks.length, 4);
  for (const f of leaks) {
    assert.equal(f.verdict, "leak");
    // The whole-sample window runs from the first to the last real date, through every test window.
    assert.ok(f.reason.includes(`fitted on ${panel.dates[0]}..${panel.dates.at(-1)}`), f.reason);
    assert.match(f.reason, /overlapping the test window/);
  }
});
