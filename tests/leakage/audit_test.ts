import assert from "node:assert/strict";
import {
  auditFeatures,
  BASE_FEATURES,
  findLeakingFeatures,
  FULL_FEATURES,
  waveletDeviationFeature,
} from "../../lib/mod.ts";
import type { AuditReport, FeatureDef, Panel } from "../../lib/mod.ts";
import pl from "nodejs-polars";
import { randomWalkPanel, readRealPanel } from "../features/_panels.ts";
import { realDataTest } from "../_helpers/real_data.ts";
import { leakingDefinitions, withPrecomputedColumns } from "./_leaks.ts";

function verdictOf(report: AuditReport, name: string) {
  const f = report.features.find((x) => x.name === name);
  assert.ok(f, `${name} missing from the report`);
  return f;
}

function assertLeakKindsCaught(panel: Panel, horizon: number) {
  const report = auditFeatures(panel, { features: leakingDefinitions(), columns: [], horizon, symbols: 2, cuts: 3 });
  for (const f of report.features) {
    assert.equal(f.verdict, "leak", `${f.name} should be a leak: ${f.reasons.join("; ")}`);
    assert.ok(f.firstOffendingDate !== undefined, `${f.name}: truncation test should name the first offending date`);
    assert.ok(f.reasons.some((r) => r.startsWith("truncation test")), f.name);
  }
  // A one-row look-ahead is first visible on the cut date itself (its value there needs the row after the cut).
  const next = verdictOf(report, "LEAK_NEXT_RETURN");
  assert.ok(report.cutDates.includes(next.firstOffendingDate!));
  if (horizon === 1) assert.ok(next.reasons.some((r) => r.includes("equals the 1-day forward target")));
  // Whole-series transforms change values from the very first date.
  const z = verdictOf(report, "LEAK_WHOLE_SERIES_ZSCORE");
  assert.ok(z.firstOffendingDate! < report.cutDates[0]);
}

function assertColumnsJudged(panel: Panel) {
  const report = auditFeatures(panel, { horizon: 1 });
  const returns = verdictOf(report, "returns");
  assert.equal(returns.verdict, "leak");
  assert.ok(returns.reasons.some((r) => r.includes("equals the 1-day forward target")), returns.reasons.join("; "));
  const noisy = verdictOf(report, "noisy_future");
  assert.equal(noisy.verdict, "leak", noisy.reasons.join("; "));
  assert.ok(noisy.reasons.some((r) => r.includes("|IC|")));
  const faint = verdictOf(report, "faint_future");
  assert.equal(faint.verdict, "suspect", `faint_future: ${faint.reasons.join("; ")} (IC ${faint.ic})`);
  assert.ok(faint.reasons.some((r) => r.includes("lead/lag asymmetry")));
  assert.equal(verdictOf(report, "past_return").verdict, "ok", verdictOf(report, "past_return").reasons.join("; "));
  assert.equal(verdictOf(report, "noise").verdict, "ok", verdictOf(report, "noise").reasons.join("; "));
}

Deno.test("synthetic: every injected leak kind in a definition is caught, with the first offending date", () => {
  assertLeakKindsCaught(randomWalkPanel(11, 3, 500), 1);
});

Deno.test("synthetic: a shifted target is a leak for h = 5 when it still reaches past t, not when it is the past return", () => {
  const panel = randomWalkPanel(12, 2, 400);
  const report = auditFeatures(panel, { features: BASE_FEATURES, horizon: 5, symbols: 2, cuts: 2 });
  assert.deepEqual(report.leaking, []); // RET5 = the target shifted by exactly h: legitimate
  assertLeakKindsCaught(panel, 5);
  // ln(C_{t+3} / C_{t-2}): the 5-day target of two days earlier, still three days into the future.
  const C = pl.col("px_close");
  const shifted: FeatureDef = {
    kind: "expr",
    name: "TARGET_SHIFTED_2",
    lookback: 2,
    description: "",
    expr: C.shift(-3).div(C.shift(2)).log(),
  };
  const r = auditFeatures(panel, { features: [shifted], horizon: 5, symbols: 2, cuts: 2 });
  const f = verdictOf(r, "TARGET_SHIFTED_2");
  assert.equal(f.verdict, "leak");
  assert.ok(f.reasons.some((x) => x.includes("the target of 2 day(s) earlier")), f.reasons.join("; "));
});

Deno.test("synthetic: precomputed columns — misaligned returns and implausible IC are leaks, faint future echo is suspect, honest columns pass", () => {
  assertColumnsJudged(withPrecomputedColumns(randomWalkPanel(13, 4, 1000), 0.5));
});

Deno.test("synthetic: the full built-in set and the causal wavelet feature give zero false positives", () => {
  const panel = randomWalkPanel(14, 3, 400);
  const report = auditFeatures(panel, {
    features: [...FULL_FEATURES, waveletDeviationFeature(32)],
    horizon: 1,
    symbols: 3,
    cuts: 3,
  });
  const flagged = report.features.filter((f) => f.verdict !== "ok").map((f) => `${f.name}: ${f.reasons.join("; ")}`);
  assert.deepEqual(flagged, []);
});

realDataTest("real data: injected leaks are caught on AAPL and MSFT", async (dir) => {
  const panel = await readRealPanel(dir, ["AAPL", "MSFT"]);
  assertLeakKindsCaught(panel, 1);
  assertColumnsJudged(withPrecomputedColumns(panel, 1.0));
});

realDataTest("real data: the full built-in set has zero false positives (truncation + identity)", async (dir) => {
  // A spread of symbols (flat stretches, gaps, late listings, the ETF) rather than two blue chips: rounding residue on
  // flat windows once showed up here as a false positive.
  const sample = ["AAPL", "JPM", "ABC", "AMT", "BEN", "DISH", "EQIX", "FLIR", "PG", "SPY"];
  const panel = await readRealPanel(dir, sample);
  assert.deepEqual(findLeakingFeatures(panel, FULL_FEATURES, { horizon: 1, symbols: sample, cuts: 3 }), []);
  const h5 = auditFeatures(panel, { features: FULL_FEATURES, horizon: 5, symbols: 1, cuts: 2 });
  assert.deepEqual(h5.features.filter((f) => f.verdict !== "ok").map((f) => f.name), []);
});
