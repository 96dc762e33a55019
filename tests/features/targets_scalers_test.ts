import assert from "node:assert/strict";
import {
  binaryLabel,
  crossSectionalScale,
  dailyArithmeticReturn,
  excessOfMarket,
  fitRobustScaler,
  fitStandardScaler,
  fitTargetDemeaner,
  sanitize,
  threeClassLabel,
} from "../../lib/mod.ts";
import { ConfigError, DataError } from "../../lib/errors.ts";

const close = (a: number, b: number, tol = 1e-12) => Math.abs(a - b) <= tol * Math.max(1, Math.abs(b));

Deno.test("daily arithmetic equivalent: exp(y/h) - 1 compounds back to the h-day move", () => {
  const y = Math.log(1.21); // +21 % over 2 days = +10 % a day
  const d = dailyArithmeticReturn([y, Number.NaN], 2);
  assert.ok(close(d[0], 0.1));
  assert.ok(Number.isNaN(d[1]));
});

Deno.test("binary and 3-class labels, absolute and volatility bands", () => {
  assert.deepEqual([...binaryLabel([0.01, 0, -0.02])], [1, 0, 0]);
  assert.deepEqual([...threeClassLabel([0.02, 0.005, -0.005, -0.02], { kind: "absolute", width: 0.01 })], [2, 1, 1, 0]);
  // band = k·σ·√h = 1 · 0.01 · 2 = 0.02 for h = 4
  const y = [0.03, 0.015, -0.015, -0.03];
  const vol = [0.01, 0.01, 0.01, 0.01];
  assert.deepEqual(
    [...threeClassLabel(y, { kind: "volatility", k: 1, dailyVolatility: vol, horizon: 4 })],
    [2, 1, 1, 0],
  );
  assert.throws(() => threeClassLabel(y, { kind: "absolute", width: -1 }), ConfigError);
});

Deno.test("excess of market: equal-weight mean and a named market symbol", () => {
  const y = [0.03, 0.01, -0.02, 0.02];
  const dates = ["d1", "d1", "d2", "d2"];
  const syms = ["A", "SPY", "A", "SPY"];
  const ew = excessOfMarket(y, dates, syms);
  assert.ok(close(ew[0], 0.01) && close(ew[1], -0.01) && close(ew[2], -0.02) && close(ew[3], 0.02));
  const spy = excessOfMarket(y, dates, syms, { symbol: "SPY" });
  assert.ok(close(spy[0], 0.02) && close(spy[2], -0.04) && spy[1] === 0);
});

Deno.test("de-meaning is fitted on the training window only and records it", () => {
  const y = [1, 2, 3, 100];
  const dates = ["2020-01-01", "2020-01-02", "2020-01-03", "2020-02-01"];
  const dm = fitTargetDemeaner(y, dates, { start: "2020-01-01", end: "2020-01-31" });
  assert.equal(dm.mean, 2); // the test-period 100 is not seen
  assert.equal(dm.count, 3);
  assert.deepEqual(dm.window, { start: "2020-01-01", end: "2020-01-31" });
  assert.deepEqual([...dm.apply([2, 102])], [0, 100]);
  assert.throws(() => fitTargetDemeaner(y, dates, { start: "2021-01-01", end: "2021-12-31" }), ConfigError);
});

Deno.test("standard and robust scalers: hand-computed centre and scale from the training window only", () => {
  // two columns; the last row is outside the window and must not move the fit
  const X = { data: Float32Array.from([1, 10, 2, 20, 3, 30, 4, 40, 1000, -1000]), rows: 5, cols: 2 };
  const dates = ["a1", "a2", "a3", "a4", "b1"];
  const w = { start: "a1", end: "a4" };
  const s = fitStandardScaler(X, dates, w);
  assert.ok(close(s.center[0], 2.5) && close(s.center[1], 25));
  assert.ok(close(s.scale[0], Math.sqrt(5 / 3)) && close(s.scale[1], Math.sqrt(500 / 3)));
  assert.equal(s.rows, 4);
  const t = s.transform(X);
  assert.ok(close(t.data[0], (1 - 2.5) / Math.sqrt(5 / 3), 1e-6));
  const r = fitRobustScaler(X, dates, w);
  // median of 1..4 = 2.5; q25 = 1.75, q75 = 3.25 (linear) → IQR 1.5
  assert.ok(close(r.center[0], 2.5) && close(r.scale[0], 1.5));
  assert.deepEqual(r.window, w);
});

Deno.test("cross-sectional scaling per date: z-score and percentile rank with ties", () => {
  const X = { data: Float32Array.from([1, 2, 3, 5, 5, Number.NaN]), rows: 6, cols: 1 };
  const dates = ["d1", "d1", "d1", "d2", "d2", "d2"];
  const z = crossSectionalScale(X, dates, "zscore");
  const sd = Math.sqrt(2 / 3);
  assert.ok(close(z.data[0], -1 / sd, 1e-6) && close(z.data[1], 0, 1e-6) && close(z.data[2], 1 / sd, 1e-6));
  assert.equal(z.data[3], 0); // zero spread → 0
  assert.ok(Number.isNaN(z.data[5]));
  const rk = crossSectionalScale(X, dates, "rank");
  assert.deepEqual([...rk.data.slice(0, 5)].map((v) => Math.round(v * 1000) / 1000), [0.333, 0.667, 1, 0.75, 0.75]);
});

Deno.test("sanitizer: counts NaN/±Inf per column; drop, fill and error policies", () => {
  const X = {
    data: Float32Array.from([1, Number.NaN, Infinity, 2, 3, -Infinity, 4, 5]),
    rows: 4,
    cols: 2,
    columns: ["a", "b"],
  };
  const dropped = sanitize(X, { policy: "drop" });
  assert.deepEqual([...dropped.keptRows], [3]);
  assert.deepEqual(dropped.report.nan, [0, 1]);
  assert.deepEqual(dropped.report.posInf, [1, 0]);
  assert.deepEqual(dropped.report.negInf, [0, 1]);
  assert.equal(dropped.report.rowsDropped, 3);
  const filled = sanitize(X, { policy: "fill", fitted: Float64Array.from([-1, -2]) });
  assert.deepEqual([...filled.X.data], [1, -2, -1, 2, 3, -2, 4, 5]);
  assert.equal(filled.report.filled, 3);
  assert.throws(
    () => sanitize(X, { policy: "error" }),
    (e: unknown) => e instanceof DataError && /"b"/.test(e.message),
  );
  // The error reports the counts, not only the first cell: rows 1-3 hold one NaN, one +Inf and one -Inf.
  assert.throws(
    () => sanitize(X, { policy: "error" }),
    (e: unknown) =>
      e instanceof DataError && e.line === 1 && e.column === "b" &&
      e.message.includes("3 non-finite feature value(s) (1 NaN, 1 +Inf, 1 -Inf) in 3 of 4 row(s), by column: b 2, a 1"),
  );
});
