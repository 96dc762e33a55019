import assert from "node:assert/strict";
import {
  auditFeatures,
  BASE_FEATURES,
  computeFeatures,
  ConfigError,
  findLeakingFeatures,
  FULL_FEATURES,
  waveletDeviationFeature,
} from "../../lib/mod.ts";
import { assertAuditableHorizon, correlationWithError, normalTail } from "../../lib/leakage/audit.ts";
import type { AuditReport, FeatureDef, Panel } from "../../lib/mod.ts";
import pl from "nodejs-polars";
import { normal, panelFromFrame, randomWalkPanel, readRealPanel, uniform } from "../features/_panels.ts";
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
  // 4 × 2000 rows: the faint echo (|IC| ≈ 0.07) is then ≈ 6 standard errors from zero, beyond the lead test's
  // Bonferroni bar (4.16 SE for its 2 lead correlations at h = 1); on 4 × 1000 rows it would be ≈ 4.2, too close to call.
  assertColumnsJudged(withPrecomputedColumns(randomWalkPanel(13, 4, 2000), 0.5));
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
  const features = [...FULL_FEATURES, waveletDeviationFeature(32)];
  assert.deepEqual(findLeakingFeatures(panel, features, { horizon: 1, symbols: sample, cuts: 3 }), []);
  const h5 = auditFeatures(panel, { features, horizon: 5, symbols: 1, cuts: 2 });
  assert.deepEqual(h5.features.filter((f) => f.verdict !== "ok").map((f) => f.name), []);
});

/** The panel with every built-in feature (and the causal wavelet one) attached as a precomputed column. */
function honestColumns(panel: Panel): Panel {
  const f = computeFeatures(panel, [...FULL_FEATURES, waveletDeviationFeature(32)]);
  return panelFromFrame(panel.frame.hstack(f.drop("date", "symbol")));
}

function flaggedColumns(panel: Panel, horizon: number, allow: "none" | "suspect" = "none"): string[] {
  const report = auditFeatures(panel, { horizon, symbols: 1, cuts: 1 });
  assert.equal(report.features.length, FULL_FEATURES.length + 1);
  const bad = allow === "none" ? ["suspect", "leak"] : ["leak"];
  return report.features.filter((f) => bad.includes(f.verdict)).map((f) => `${f.name}: ${f.reasons.join("; ")}`);
}

Deno.test("normalTail matches published standard normal tail probabilities", () => {
  // Abramowitz & Stegun table 26.1: Q(1.96) = 0.0249979, Q(3) = 0.00134990, Q(4) = 3.16712e-5.
  assert.ok(Math.abs(normalTail(1.96) - 0.0249979) < 1e-7);
  assert.ok(Math.abs(normalTail(3) - 0.0013499) < 1e-8);
  assert.ok(Math.abs(normalTail(4) / 3.16712e-5 - 1) < 1e-5);
  assert.ok(Math.abs(normalTail(-1.96) - (1 - 0.0249979)) < 1e-7);
});

Deno.test("correlationWithError: 1/√n on independent rows whatever the span, and a duplicated symbol adds no evidence", () => {
  const z = normal(uniform(5));
  const n = 20000;
  const x = Float64Array.from({ length: n }, z);
  const y = Float64Array.from({ length: n }, z);
  const own = Int32Array.from({ length: n }, (_, i) => i);
  // Independent rows have no autocorrelation for the Newey–West lags to add: the span must not inflate the error.
  for (const h of [1, 5, 20]) {
    const e = correlationWithError(x, y, own, n, h);
    assert.ok(Math.abs(e.se * Math.sqrt(n) - 1) < 0.05, `h = ${h}: se ${e.se} vs ${1 / Math.sqrt(n)}`);
    assert.equal(e.dof, Math.floor(n / h) - 1);
  }
  // The same series twice, both copies on the same dates: twice the rows, the same standard error.
  const xx = Float64Array.from([...x, ...x]);
  const yy = Float64Array.from([...y, ...y]);
  const dates = Int32Array.from([...own, ...own]);
  const single = correlationWithError(x, y, own, n, 5);
  const twice = correlationWithError(xx, yy, dates, n, 5);
  assert.equal(twice.n, 2 * n);
  assert.ok(Math.abs(twice.se - single.se) < 1e-9 * single.se, `${twice.se} vs ${single.se}`);
  // Counted as independent rows, the copy would wrongly shrink the error by √2 (lag 0 only, as for a one-day span).
  const naive = correlationWithError(xx, yy, Int32Array.from({ length: 2 * n }, (_, i) => i), 2 * n, 1);
  const single1 = correlationWithError(x, y, own, n, 1);
  assert.ok(Math.abs(single1.se / naive.se - Math.SQRT2) < 1e-9);
});

Deno.test("synthetic: honest columns on a short sample are not flagged at h = 5 and h = 20, though |IC| ≥ 0.3 by chance", () => {
  for (const seed of [21, 22, 23]) {
    const panel = honestColumns(randomWalkPanel(seed, 2, 160));
    for (const h of [5, 20]) assert.deepEqual(flaggedColumns(panel, h), [], `seed ${seed}, h = ${h}`);
    // 2 × 160 rows of 20-day targets hold about 16 independent observations (SE ≈ 0.25): past-only columns then
    // reach |IC| ≥ 0.3 by chance, which a rule blind to the sample size would call a leak.
    const report = auditFeatures(panel, { horizon: 20, symbols: 1, cuts: 1 });
    assert.ok(report.features.some((f) => Math.abs(f.ic!) >= 0.3), `seed ${seed}: no large chance IC to test with`);
  }
});

Deno.test("synthetic: the IC rules still catch a leak on a short sample once it is many standard errors out", () => {
  // ln(C_{t+20}/C_t) plus noise of equal variance: |IC| ≈ 0.7 — about 3 SE on 2 × 160 rows, but 13 on 2 × 2000.
  const withNoisyTarget = (panel: Panel, seed: number) => {
    const z = normal(uniform(seed));
    const e = pl.Series("e", Array.from({ length: panel.frame.height }, () => 0.045 * z()));
    const c = pl.col("adj_close");
    return panelFromFrame(
      panel.frame.withColumns(e).withColumns(c.shift(-20).div(c).log().over("symbol").add(pl.col("e")).alias("noisy"))
        .drop("e"),
    );
  };
  const small = auditFeatures(withNoisyTarget(randomWalkPanel(24, 2, 160), 1), { horizon: 20, symbols: 1, cuts: 1 });
  assert.notEqual(verdictOf(small, "noisy").verdict, "leak", "16 independent observations cannot prove a leak");
  const big = auditFeatures(withNoisyTarget(randomWalkPanel(24, 2, 2000), 1), { horizon: 20, symbols: 1, cuts: 1 });
  const noisy = verdictOf(big, "noisy");
  assert.equal(noisy.verdict, "leak", noisy.reasons.join("; "));
  assert.ok(noisy.reasons.some((r) => r.includes("standard errors")));
});

realDataTest(
  "real data: built-in features as precomputed columns pass the statistical rules at h = 5 and h = 20",
  async (dir) => {
    const panel = honestColumns(await readRealPanel(dir, ["AAPL", "MSFT"]));
    assert.deepEqual(flaggedColumns(panel, 5), []);
    assert.deepEqual(flaggedColumns(panel, 20), []);
    // At h = 1 candle shapes (KLOW, KSFT) can be suspect — a real next-day close-location reversal — but never a leak.
    assert.deepEqual(flaggedColumns(panel, 1, "suspect"), []);
  },
);

Deno.test("synthetic: at h = 20 the trailing 19-day return (r ≈ 0.975 with the shifted target) is honest, the shifted target itself leaks", () => {
  const panel = randomWalkPanel(25, 2, 600);
  const c = pl.col("adj_close");
  const frame = panel.frame.withColumns(
    // known at t: shares 19 of the 20 returns of ln(C_{t+1}/C_{t−19}), so r ≈ √(19/20)
    c.div(c.shift(19)).log().over("symbol").alias("past_19"),
    c.div(c.shift(20)).log().over("symbol").alias("past_20"),
    // the 20-day target of 19 days earlier: one day of it is still in the future
    c.shift(-1).div(c.shift(19)).log().over("symbol").alias("target_shifted_19"),
  );
  const report = auditFeatures(panelFromFrame(frame), { horizon: 20, symbols: 1, cuts: 1 });
  for (const name of ["past_19", "past_20"]) {
    const f = verdictOf(report, name);
    assert.equal(f.verdict, "ok", `${name}: ${f.reasons.join("; ")}`);
  }
  const leak = verdictOf(report, "target_shifted_19");
  assert.equal(leak.verdict, "leak");
  assert.ok(leak.reasons.some((r) => r.includes("the target of 19 day(s) earlier")), leak.reasons.join("; "));
});

Deno.test("synthetic: a future price as a level is a leak (its day-to-day change is a future return); past levels are ok", () => {
  const panel = randomWalkPanel(31, 3, 500);
  const c = pl.col("adj_close");
  const frame = panel.frame.withColumns(
    c.shift(-1).over("symbol").alias("next_close"), // tomorrow's close, as a level
    c.shift(-3).over("symbol").alias("close_in_3"), // the close three days ahead
    c.mul(2.5).alias("close_scaled"), // today's close in another currency: known at t
    c.rollingMean(5).over("symbol").alias("sma5"), // a trailing average level
    c.shift(1).over("symbol").alias("prev_close"),
  );
  for (const horizon of [1, 5]) {
    const report = auditFeatures(panelFromFrame(frame), { horizon, symbols: 1, cuts: 1 });
    for (const name of ["close_scaled", "sma5", "prev_close"]) {
      const f = verdictOf(report, name);
      assert.equal(f.verdict, "ok", `h = ${horizon}, ${name}: ${f.reasons.join("; ")}`);
      // Checked as a level (its change is known at t: it may share returns with a shifted target, never one after t).
      assert.ok(f.statistics.levelChange !== undefined, `h = ${horizon}, ${name}`);
    }
    for (const [name, ahead] of [["next_close", 1], ["close_in_3", 3]] as const) {
      const f = verdictOf(report, name);
      assert.equal(f.verdict, "leak", `h = ${horizon}, ${name}`);
      // ln(C_{t+k} / C_{t+k−1}) is the one-day return k days ahead, exactly: at h = 1 the target itself (k = 1) or the
      // target of k − 1 days later; at h = 5 one of the one-day returns after t the check lists.
      const quantity = horizon === 5
        ? `the one-day return ${ahead} day(s) ahead`
        : ahead === 1
        ? "the 1-day forward target"
        : `the target of ${ahead - 1} day(s) later`;
      assert.equal(f.statistics.levelChange!.quantity, quantity, `h = ${horizon}, ${name}`);
      assert.ok(f.statistics.levelChange!.r > 0.999999, `h = ${horizon}, ${name}: ${f.statistics.levelChange!.r}`);
      assert.ok(
        f.reasons.some((r) => r.startsWith(`as a level, its day-to-day log change equals ${quantity} (r = 1.000`)),
        f.reasons.join("; "),
      );
    }
  }
  // Not a level (a value ≤ 0): no change is checked.
  const signed = auditFeatures(panelFromFrame(panel.frame.withColumns(c.mul(-1).alias("short_value"))), {
    symbols: 1,
    cuts: 1,
  });
  assert.equal(verdictOf(signed, "short_value").statistics.levelChange, undefined);
});

realDataTest(
  "real data: at h = 5 the target shifted 2 days into the past is a leak, the past 5-day return is not",
  async (dir) => {
    const panel = await readRealPanel(dir, ["AAPL", "MSFT"]);
    const C = pl.col("px_close");
    const defs: FeatureDef[] = [
      // ln(C_{t+3}/C_{t−2}): the 5-day target of two days earlier, three days of it after t
      { kind: "expr", name: "TARGET_SHIFTED_2", lookback: 2, description: "", expr: C.shift(-3).div(C.shift(2)).log() },
      // ln(C_t/C_{t−5}): the target shifted by exactly h, known at t
      { kind: "expr", name: "PAST_5", lookback: 5, description: "", expr: C.div(C.shift(5)).log() },
    ];
    const report = auditFeatures(panel, { features: defs, horizon: 5, symbols: 2, cuts: 2 });
    const leak = verdictOf(report, "TARGET_SHIFTED_2");
    assert.equal(leak.verdict, "leak");
    assert.ok(leak.reasons.some((r) => r.includes("the target of 2 day(s) earlier")), leak.reasons.join("; "));
    assert.ok(leak.reasons.some((r) => r.startsWith("truncation test")));
    const past = verdictOf(report, "PAST_5");
    assert.equal(past.verdict, "ok", past.reasons.join("; "));
  },
);

/** A random-walk panel whose symbols keep only their first `rows[i]` rows (S00, S01, …). */
function unevenPanel(rows: number[]): Panel {
  const panel = randomWalkPanel(51, rows.length, Math.max(...rows));
  const keep = rows.map((n, i) =>
    pl.col("symbol").eq(pl.lit(`S${String(i).padStart(2, "0")}`)).and(
      pl.col("date").lessThanEquals(pl.lit(panel.dates[n - 1])),
    )
  );
  return panelFromFrame(panel.frame.filter(keep.reduce((a, b) => a.or(b))));
}

Deno.test("auditFeatures refuses a horizon the data is too short for, naming the longest series and the longest horizon allowed", () => {
  // S00 has 90 rows, S01 40. At h the target exists on max(0, 90 − h) + max(0, 40 − h) rows; the audit needs 30 of
  // them and a longest series of at least 3h rows (two non-overlapping h-day periods with a target): h ≤ 30.
  const panel = unevenPanel([90, 40]);
  assertAuditableHorizon(panel, 30); // 60 + 10 rows with a target, 90 ≥ 3 × 30
  assert.throws(
    () => assertAuditableHorizon(panel, 31),
    (e: Error) =>
      e instanceof ConfigError &&
      e.message.startsWith(
        "horizon 31 leaves too few rows with a defined 31-day target (68 in all): the longest series, S00, has " +
          "90 row(s), 59 of them with a target. The audit needs the target on at least 30 rows, and on two " +
          "non-overlapping 31-day periods of one series (a series of at least 93 rows)",
      ) && e.message.endsWith("use a horizon of at most 30, or more history"),
  );
  const start = performance.now();
  assert.throws(
    () => auditFeatures(panel, { features: FULL_FEATURES, horizon: 100_000 }),
    (e: Error) =>
      e instanceof ConfigError &&
      e.message.startsWith(
        "horizon 100000 leaves no row with a defined 100000-day target: the longest series, S00, has 90 row(s). ",
      ) && e.message.endsWith("use a horizon of at most 30, or more history"),
  );
  assert.ok(performance.now() - start < 5_000, "refused before any feature is computed");
  // One symbol of 40 rows: 3h ≤ 40 allows h = 13, but only 40 − h ≥ 30 rows with a target leaves h ≤ 10.
  const short = unevenPanel([40]);
  assertAuditableHorizon(short, 10);
  assert.throws(
    () => assertAuditableHorizon(short, 11),
    /^ConfigError: horizon 11 leaves too few rows with a defined 11-day target \(29 in all\): the longest series, S00, has 40 row\(s\), 29 of them with a target\. .*: use a horizon of at most 10, or more history$/,
  );
  // 20 rows hold at most 19 one-day targets: no horizon can be audited.
  assert.throws(() => assertAuditableHorizon(unevenPanel([20]), 1), /too short to audit at any horizon/);
});

Deno.test("a moderate horizon: definitions equal to the target or to a return after t are still caught (h = 30, 300 days)", () => {
  const panel = randomWalkPanel(52, 2, 300);
  const C = pl.col("px_close");
  const def = (name: string, expr: pl.Expr): FeatureDef => ({
    kind: "expr",
    name,
    lookback: 0,
    description: name,
    expr,
  });
  const report = auditFeatures(panel, {
    features: [
      ...BASE_FEATURES,
      def("TARGET_30", C.shift(-30).div(C).log()),
      def("RETURN_3_AHEAD", C.shift(-3).div(C.shift(-2)).log()),
      def("PAST_30", C.div(C.shift(30)).log()),
    ],
    columns: [],
    horizon: 30,
    symbols: 2,
  });
  const target = verdictOf(report, "TARGET_30");
  assert.equal(target.verdict, "leak");
  assert.ok(
    target.reasons.some((r) => r.startsWith("equals the 30-day forward target (r = 1.000")),
    target.reasons.join("; "),
  );
  assert.equal(target.statistics.identity?.quantity, "the 30-day forward target");
  // Each symbol's last 30 rows have no target: 2 × (300 − 30) pairs.
  assert.equal(target.statistics.identity?.n, 540);
  const ahead = verdictOf(report, "RETURN_3_AHEAD");
  assert.equal(ahead.verdict, "leak");
  assert.equal(ahead.statistics.identity?.quantity, "the one-day return 3 day(s) ahead");
  assert.ok(ahead.reasons.some((r) => r.startsWith("equals the one-day return 3 day(s) ahead (r = 1.000")));
  // The past 30-day return is what the target was 30 days ago: known at t, never flagged.
  const past = verdictOf(report, "PAST_30");
  assert.equal(past.verdict, "ok", past.reasons.join("; "));
  for (const d of BASE_FEATURES) assert.equal(verdictOf(report, d.name).verdict, "ok", d.name);
});
