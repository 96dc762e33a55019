import assert from "node:assert/strict";
import {
  drawdownChart,
  drawdownFromEquity,
  equityChart,
  equityFromReturns,
  foldMetricsChart,
  lineChart,
  VEGA_LITE_SCHEMA,
} from "../../lib/report/charts.ts";
import { ConfigError } from "../../lib/errors.ts";

type Row = { date?: string; x?: string | number; fold?: string; series: string; value: number | null };
// deno-lint-ignore no-explicit-any
const rowsOf = (spec: any): Row[] => spec.data.values as Row[];

function close(actual: number | null, expected: number, tol = 1e-12) {
  assert.ok(actual !== null && Math.abs(actual - expected) <= tol, `expected ${expected}, got ${actual}`);
}

Deno.test("equityFromReturns compounds simple returns (hand-computed)", () => {
  // 1 × 1.1 = 1.1; × 0.5 = 0.55; × 1.2 = 0.66
  const e = equityFromReturns([0.1, -0.5, 0.2]);
  close(e[0], 1.1);
  close(e[1], 0.55);
  close(e[2], 0.66);
  assert.equal(equityFromReturns([]).length, 0);
});

Deno.test("drawdownFromEquity is equity over its running peak minus one (hand-computed)", () => {
  const d = drawdownFromEquity([1, 1.2, 0.9, 1.5, 1.2]);
  assert.deepEqual(Array.from(d).map((v) => Math.round(v * 1e12) / 1e12), [0, 0, -0.25, 0, -0.2]);
  const withGap = drawdownFromEquity([1, NaN, 0.8]);
  assert.ok(Number.isNaN(withGap[1]));
  close(withGap[2], -0.2);
});

Deno.test("equityChart: one point per date and series, equity equal to the cumulative product of the returns", () => {
  const dates = ["2022-01-03", "2022-01-04", "2022-01-05", "2022-01-06", "2022-01-07"];
  const strategy = [0.01, -0.02, 0.03, 0.0, -0.01];
  const bench = [0.005, 0.005, -0.01, 0.02, 0.01];
  const spec = equityChart({
    dates,
    series: [{ name: "strategy", returns: strategy }, { name: "buy & hold", returns: bench }],
  });
  assert.equal(spec.$schema, VEGA_LITE_SCHEMA);
  const rows = rowsOf(spec);
  assert.equal(rows.length, 2 * dates.length);
  for (const [name, rets] of [["strategy", strategy], ["buy & hold", bench]] as const) {
    const series = rows.filter((r) => r.series === name);
    assert.deepEqual(series.map((r) => r.date), dates);
    let level = 1;
    rets.forEach((r, t) => {
      level = level * (1 + r);
      close(series[t].value, level);
    });
  }
  // deno-lint-ignore no-explicit-any
  const enc = (spec as any).encoding;
  assert.equal(enc.x.title, "date");
  assert.equal(enc.y.title, "growth of 1");
  assert.deepEqual(enc.color.sort, ["strategy", "buy & hold"]);
});

Deno.test("equityChart takes equity as given, writes NaN as a gap (null) and refuses mismatched windows", () => {
  const dates = ["2022-01-03", "2022-01-04", "2022-01-05"];
  const spec = equityChart({ dates, series: [{ name: "s", equity: [1, NaN, 1.2] }], title: "t" });
  assert.deepEqual(rowsOf(spec).map((r) => r.value), [1, null, 1.2]);
  assert.equal((spec as { title?: string }).title, "t");
  assert.throws(() => equityChart({ dates, series: [{ name: "short", equity: [1, 2] }] }), ConfigError);
  assert.throws(
    () => equityChart({ dates, series: [{ name: "both", equity: [1, 1, 1], returns: [0, 0, 0] }] }),
    ConfigError,
  );
  assert.throws(() => equityChart({ dates, series: [{ name: "neither" }] }), ConfigError);
  assert.throws(() => equityChart({ dates, series: [] }), ConfigError);
});

Deno.test("drawdownChart plots the drawdown of the compounded returns", () => {
  const dates = ["2022-01-03", "2022-01-04", "2022-01-05"];
  // equity 1.1, 0.55, 0.66 → peak 1.1 → drawdown 0, -0.5, -0.4
  const rows = rowsOf(drawdownChart({ dates, series: [{ name: "s", returns: [0.1, -0.5, 0.2] }] }));
  close(rows[0].value, 0);
  close(rows[1].value, -0.5);
  close(rows[2].value, -0.4);
});

Deno.test("foldMetricsChart: a bar per fold and series, and a reference rule at 0.5 unless disabled", () => {
  const folds = [1, 2, 3].map((k) => ({
    fold: k,
    values: { model: 0.5 + k / 100, "coin flip": 0.5, "majority class": 0.51 },
  }));
  const spec = foldMetricsChart({ folds });
  const rows = rowsOf(spec);
  assert.equal(rows.length, 9);
  assert.deepEqual(rows.filter((r) => r.series === "model").map((r) => r.value), [0.51, 0.52, 0.53]);
  // deno-lint-ignore no-explicit-any
  const layer = (spec as any).layer;
  assert.equal(layer.length, 2);
  assert.equal(layer[0].encoding.y.title, "direction accuracy");
  assert.deepEqual(layer[1].data.values, [{ reference: 0.5 }]);
  // deno-lint-ignore no-explicit-any
  assert.equal((foldMetricsChart({ folds, reference: null }) as any).layer.length, 1);
  assert.throws(() => foldMetricsChart({ folds: [] }), ConfigError);
});

Deno.test("lineChart: one point per x and series, NaN as null, length mismatch refused", () => {
  const spec = lineChart({
    x: [1, 2, 3],
    xType: "quantitative",
    series: { a: [1, 2, NaN], b: [3, 2, 1] },
    xTitle: "epoch",
  });
  const rows = rowsOf(spec);
  assert.equal(rows.length, 6);
  assert.deepEqual(rows.filter((r) => r.series === "a").map((r) => r.value), [1, 2, null]);
  // deno-lint-ignore no-explicit-any
  assert.equal((spec as any).layer[0].encoding.x.title, "epoch");
  assert.throws(() => lineChart({ x: [1, 2], series: { a: [1] } }), ConfigError);
  assert.throws(() => lineChart({ x: [1, 2], series: {} }), ConfigError);
});
