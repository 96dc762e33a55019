import assert from "node:assert/strict";
import {
  BASE_FEATURES,
  buildDataset,
  computeFeatures,
  ConfigError,
  FULL_FEATURES,
  resolveFeatures,
} from "../../lib/mod.ts";
import { float64Column } from "../../lib/features/definition.ts";
import { panelOf } from "./_panels.ts";

// A small hand-worked series (one symbol, 8 days). adj_close = close, so the price basis is the raw prices.
const close = [10, 11, 10.5, 12, 12.5, 12, 13, 12.8];
const rows = {
  date: [
    "2024-01-01",
    "2024-01-02",
    "2024-01-03",
    "2024-01-04",
    "2024-01-05",
    "2024-01-08",
    "2024-01-09",
    "2024-01-10",
  ],
  open: [9.9, 10.2, 11, 10.6, 12.1, 12.4, 12.1, 13],
  high: [10.2, 11.3, 11.1, 12.2, 12.8, 12.6, 13.2, 13.1],
  low: [9.8, 10.1, 10.4, 10.5, 11.9, 11.8, 12, 12.7],
  close,
  volume: [100, 200, 150, 300, 250, 100, 400, 350],
};

function approx(actual: number, expected: number, tol = 1e-12, what = "") {
  assert.ok(Math.abs(actual - expected) <= tol * Math.max(1, Math.abs(expected)), `${what}: ${actual} vs ${expected}`);
}

function col(name: string) {
  const f = computeFeatures(panelOf({ A: rows }), BASE_FEATURES);
  return float64Column(f, name);
}

Deno.test("RET1 and RET5 are log returns over 1 and 5 days, NaN during warm-up", () => {
  const r1 = col("RET1");
  assert.ok(Number.isNaN(r1[0]));
  approx(r1[1], Math.log(1.1), 1e-12, "RET1[1]");
  approx(r1[2], Math.log(10.5 / 11), 1e-12, "RET1[2]");
  const r5 = col("RET5");
  for (let t = 0; t < 5; t++) assert.ok(Number.isNaN(r5[t]));
  approx(r5[5], Math.log(12 / 10), 1e-12, "RET5[5]");
  approx(r5[7], Math.log(12.8 / 10.5), 1e-12, "RET5[7]");
});

Deno.test("RVOL5 is the sample std of the last five daily log returns", () => {
  const r = close.map((c, i) => (i === 0 ? NaN : Math.log(c / close[i - 1])));
  const w = r.slice(1, 6); // r_1..r_5 for t = 5
  const m = w.reduce((a, b) => a + b) / 5;
  const sd = Math.sqrt(w.reduce((a, b) => a + (b - m) ** 2, 0) / 4);
  const v = col("RVOL5");
  assert.ok(Number.isNaN(v[4]));
  approx(v[5], sd, 1e-9, "RVOL5[5]");
});

Deno.test("MAR5 is the close over its 5-day mean minus one; RANGE is (H-L)/C", () => {
  const v = col("MAR5");
  assert.ok(Number.isNaN(v[3]));
  approx(v[4], 12.5 / ((10 + 11 + 10.5 + 12 + 12.5) / 5) - 1, 1e-12, "MAR5[4]");
  const rg = col("RANGE");
  approx(rg[0], (10.2 - 9.8) / 10, 1e-12, "RANGE[0]");
});

Deno.test("RSI14 follows Wilder's recursion seeded with the first move", () => {
  // 16 closes: up 1, down 0.5 alternating; hand recursion with alpha = 1/14.
  const c = [100];
  for (let i = 1; i < 17; i++) c.push(c[i - 1] + (i % 2 === 1 ? 1 : -0.5));
  const n = c.length;
  const dates = Array.from({ length: n }, (_, i) => `2024-02-${String(i + 1).padStart(2, "0")}`);
  const panel = panelOf({
    A: { date: dates, open: c, high: c.map((x) => x + 1), low: c.map((x) => x - 1), close: c, volume: c.map(() => 1) },
  });
  const rsi = float64Column(computeFeatures(panel, BASE_FEATURES), "RSI14");
  let g = 0;
  let l = 0;
  const a = 1 / 14;
  for (let t = 1; t < n; t++) {
    const d = c[t] - c[t - 1];
    const up = Math.max(d, 0);
    const dn = Math.max(-d, 0);
    g = t === 1 ? up : a * up + (1 - a) * g;
    l = t === 1 ? dn : a * dn + (1 - a) * l;
    if (t < 14) assert.ok(Number.isNaN(rsi[t]), `RSI14[${t}] should be warm-up`);
    else approx(rsi[t], (100 * g) / (g + l), 1e-9, `RSI14[${t}]`);
  }
});

Deno.test("buildDataset: h-day forward log-return target, direction label, last h rows dropped, NaNs kept", () => {
  const panel = panelOf({
    A: rows,
    B: {
      ...rows,
      close: rows.close.map((x) => x * 2),
      open: rows.open.map((x) => x * 2),
      high: rows.high.map((x) => x * 2),
      low: rows.low.map((x) => x * 2),
    },
  });
  const ds = buildDataset(panel, { features: BASE_FEATURES, horizon: 2 });
  assert.equal(ds.X.rows, 2 * (8 - 2));
  assert.equal(ds.X.cols, BASE_FEATURES.length);
  assert.deepEqual(ds.featureNames, BASE_FEATURES.map((d) => d.name));
  assert.deepEqual(ds.symbols, [...Array(6).fill("A"), ...Array(6).fill("B")]);
  assert.equal(ds.dates[5], "2024-01-08");
  approx(ds.target[0], Math.log(10.5 / 10), 1e-12, "target[0]");
  approx(ds.target[3], Math.log(12 / 12), 1e-12, "target[3]");
  assert.equal(ds.label[0], 1);
  assert.equal(ds.label[3], 0); // zero return is not "up"
  assert.ok(Number.isNaN(ds.X.data[0])); // RET1 on the first row is missing, kept as NaN
  assert.ok(Math.abs(ds.X.data[ds.X.cols] - Math.log(1.1)) < 1e-6);
});

Deno.test("buildDataset: each row's date and symbol are the panel's own, with ragged and interleaved date sets", () => {
  // A trades on odd days, B on days 2..9, C on three days; the shared axis is their union.
  const day = (d: number) => `2024-03-${String(d).padStart(2, "0")}`;
  const series = (days: number[]) => {
    const c = days.map((d) => 10 + d);
    return { date: days.map(day), open: c, high: c.map((x) => x + 1), low: c.map((x) => x - 1), close: c, volume: c };
  };
  const days = { A: [1, 3, 5, 7, 9, 11], B: [2, 3, 4, 5, 6, 7, 8, 9], C: [4, 10, 12] };
  const panel = panelOf({ A: series(days.A), B: series(days.B), C: series(days.C) });
  const ds = buildDataset(panel, { features: BASE_FEATURES.slice(0, 1), horizon: 1 });
  // Every symbol loses its last row (no next-day return); the rest keep their own dates, in panel order.
  const expected = Object.entries(days).flatMap(([s, d]) => d.slice(0, -1).map((x) => [s, day(x)]));
  assert.deepEqual(ds.symbols.map((s, i) => [s, ds.dates[i]]), expected);
});

Deno.test("feature names are unique across the full built-in set, and the base set has at least 10", () => {
  assert.ok(BASE_FEATURES.length >= 10);
  assert.equal(new Set(FULL_FEATURES.map((d) => d.name)).size, FULL_FEATURES.length);
});

Deno.test("resolveFeatures: names from the full registry, base set by default, ConfigError for unknown names", () => {
  assert.deepEqual(resolveFeatures([]).map((d) => d.name), BASE_FEATURES.map((d) => d.name));
  assert.deepEqual(resolveFeatures(["KMID", "RSI14", "CSR_RET5"]).map((d) => d.name), ["KMID", "RSI14", "CSR_RET5"]);
  assert.throws(() => resolveFeatures(["NOPE"]), ConfigError);
});

Deno.test("computeFeatures refuses a frame that is not sorted by symbol then date", () => {
  const panel = panelOf({ A: rows });
  const shuffled = { ...panel, frame: panel.frame.sort("date", true) };
  assert.throws(() => computeFeatures(shuffled, BASE_FEATURES), ConfigError);
});
