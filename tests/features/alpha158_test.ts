/**
 * Alpha158 and technical formulas checked against values worked out by hand from their documented definitions
 * (lib/features/alpha158.ts, technical.ts, calendar.ts), on tiny series built so the arithmetic is short.
 */
import assert from "node:assert/strict";
import { computeFeatures, resolveFeatures } from "../../lib/mod.ts";
import type { Panel } from "../../lib/mod.ts";
import { businessDays, panelOf, type PriceRows } from "./_panels.ts";

/** One symbol's rows; open/high/low default to the close, volume to 1e6. */
function series(close: number[], extra: Partial<PriceRows> = {}): PriceRows {
  return {
    date: extra.date ?? businessDays(close.length),
    open: extra.open ?? close,
    high: extra.high ?? close,
    low: extra.low ?? close,
    close,
    volume: extra.volume ?? close.map(() => 1e6),
  };
}

/** Feature values by name (rows in panel order: symbol, then date). */
function features(panel: Panel, names: string[]): Record<string, number[]> {
  const f = computeFeatures(panel, resolveFeatures(names));
  return Object.fromEntries(names.map((n) => [n, [...(f.getColumn(n).toArray() as number[])]]));
}

function close(actual: number, expected: number, what: string, tol = 1e-9) {
  assert.ok(
    Math.abs(actual - expected) <= tol * Math.max(1, Math.abs(expected)),
    `${what}: got ${actual}, expected ${expected}`,
  );
}

Deno.test("BETA, RSQR, RESI on a straight line: slope over the close, R² = 1, residual 0", () => {
  const c = Array.from({ length: 8 }, (_, t) => 10 + 2 * t); // 10, 12, …, 24: slope 2 per day
  const f = features(panelOf({ S: series(c) }), ["BETA5", "RSQR5", "RESI5"]);
  for (let t = 0; t < 4; t++) assert.ok(Number.isNaN(f.BETA5[t]), `warm-up row ${t}`);
  for (let t = 4; t < 8; t++) {
    close(f.BETA5[t], 2 / c[t], `BETA5[${t}]`);
    close(f.RSQR5[t], 1, `RSQR5[${t}]`);
    assert.ok(Math.abs(f.RESI5[t]) < 1e-12, `RESI5[${t}] = ${f.RESI5[t]}`);
  }
});

Deno.test("IMAX/IMIN take the first of tied extremes; RANK averages ties", () => {
  // Window of 5 ending on the last row. Highs 1, 3, 2, 3, 1: the maximum 3 first appears at position 2 → 2/5.
  // Lows 2, 1, 3, 1, 2: the minimum 1 first appears at position 2 → 2/5. (Closes sit between them.)
  const high = [1, 3, 2, 3, 1].map((x) => 10 + x);
  const low = [2, 1, 3, 1, 2].map((x) => 5 + x);
  // Closes 1, 2, 2, 3, 2: today's 2 has one smaller value and three equal (itself included): (1 + (3 + 1)/2)/5 = 0.6.
  const c = [1, 2, 2, 3, 2].map((x) => 8 + x);
  const f = features(panelOf({ S: series(c, { high, low, open: c }) }), ["IMAX5", "IMIN5", "RANK5"]);
  close(f.IMAX5[4], 0.4, "IMAX5");
  close(f.IMIN5[4], 0.4, "IMIN5");
  close(f.RANK5[4], 0.6, "RANK5");
  // A strictly highest close is ranked 5/5, the lowest (unique) 1/5.
  const up = features(panelOf({ S: series([1, 2, 3, 4, 5]) }), ["RANK5"]).RANK5[4];
  const down = features(panelOf({ S: series([5, 4, 3, 2, 1]) }), ["RANK5"]).RANK5[4];
  close(up, 1, "RANK5 of a new high");
  close(down, 0.2, "RANK5 of a new low");
});

Deno.test("KMID, KLEN, KSFT and friends on one candle O=10, H=12, L=9, C=11", () => {
  const f = features(panelOf({ S: series([11], { open: [10], high: [12], low: [9] }) }), [
    "KMID",
    "KLEN",
    "KSFT",
    "KMID2",
    "KUP",
    "KLOW",
    "KSFT2",
  ]);
  close(f.KMID[0], 0.1, "KMID = (11 − 10)/10");
  close(f.KLEN[0], 0.3, "KLEN = (12 − 9)/10");
  close(f.KSFT[0], 0.1, "KSFT = (22 − 12 − 9)/10");
  close(f.KMID2[0], 1 / 3, "KMID2 = 1/3");
  close(f.KUP[0], 0.1, "KUP = (12 − 11)/10");
  close(f.KLOW[0], 0.1, "KLOW = (10 − 9)/10");
  close(f.KSFT2[0], 1 / 3, "KSFT2 = 1/3");
});

Deno.test("CORD5 by hand: close ratios with deviations −2..2, volume terms 2, 1, 2, 3, 2 give r = 1/√5", () => {
  const x = [1.01, 1.02, 1.03, 1.04, 1.05]; // C_t / C_{t−1}
  const y = [2, 1, 2, 3, 2]; // ln(V_t / V_{t−1} + 1)
  const c = [100];
  const v = [1000];
  for (let k = 0; k < 5; k++) {
    c.push(c[k] * x[k]);
    v.push(v[k] * (Math.exp(y[k]) - 1));
  }
  // Σdx·dy = (−2)(0) + (−1)(−1) + 0 + (1)(1) + (2)(0) = 2 (×0.01); Σdx² = 10 (×0.0001); Σdy² = 2 → 2/√20.
  const f = features(panelOf({ S: series(c, { volume: v }) }), ["CORD5"]);
  close(f.CORD5[5], 1 / Math.sqrt(5), "CORD5");
});

Deno.test("WVMA5 and SUMP/SUMN/SUMD5 by hand", () => {
  // Returns ±10 % with volumes 10..50: |r|·V = 1, 2, 3, 4, 5 → sample std √2.5 over mean 3.
  const c = [100, 110, 99, 108.9, 98.01, 107.811];
  const v = [7, 10, 20, 30, 40, 50];
  close(features(panelOf({ S: series(c, { volume: v }) }), ["WVMA5"]).WVMA5[5], Math.sqrt(2.5) / 3, "WVMA5");
  // ΔC = 1, 2, −1, 0, 3: gains 6, losses 1, Σ|ΔC| = 7.
  const f = features(panelOf({ S: series([10, 11, 13, 12, 12, 15]) }), ["SUMP5", "SUMN5", "SUMD5"]);
  close(f.SUMP5[5], 6 / 7, "SUMP5");
  close(f.SUMN5[5], 1 / 7, "SUMN5");
  close(f.SUMD5[5], 5 / 7, "SUMD5");
});

Deno.test("ATR14 starts from the first row's high − low; MACD's EMAs are seeded with the first close", () => {
  // Row 0: H − L = 4 (no previous close). Rows ≥ 1: C = 10, H = 11, L = 9 → TR = max(2, 1, 1) = 2.
  // Wilder's EMA seeded with 4: y_t = 2 + 2·(13/14)^t; first value at row 13.
  const n = 16;
  const c = Array.from({ length: n }, () => 10);
  const high = c.map((_, t) => (t === 0 ? 12 : 11));
  const low = c.map((_, t) => (t === 0 ? 8 : 9));
  const atr = features(panelOf({ S: series(c, { high, low }) }), ["ATR14"]).ATR14;
  assert.ok(Number.isNaN(atr[12]));
  for (const t of [13, 15]) close(atr[t], (2 + 2 * (13 / 14) ** t) / 10, `ATR14[${t}]`);

  // C_0 = 20, then 10: EMA_t = 10 + 10·(1 − α)^t, so MACD_t = 10·((11/13)^t − (25/27)^t) / 10, first at row 25.
  const m = 36;
  const step = Array.from({ length: m }, (_, t) => (t === 0 ? 20 : 10));
  const f = features(panelOf({ S: series(step) }), ["MACD", "MACDSIG"]);
  const macd = (t: number) => (11 / 13) ** t - (25 / 27) ** t;
  assert.ok(Number.isNaN(f.MACD[24]));
  for (const t of [25, 30, 35]) close(f.MACD[t], macd(t), `MACD[${t}]`);
  // Signal: EMA9 (α = 0.2) of MACD seeded with MACD_25, first reported at row 33.
  let sig = macd(25);
  for (let t = 26; t <= 33; t++) sig = 0.2 * macd(t) + 0.8 * sig;
  assert.ok(Number.isNaN(f.MACDSIG[32]));
  close(f.MACDSIG[33], sig, "MACDSIG[33]");
});

Deno.test("DOW of known dates: 2000-02-29 Tue, 2000-03-03 Fri, 2016-03-07 Mon, 2024-01-03 Wed", () => {
  const date = ["2000-02-29", "2000-03-03", "2016-03-07", "2024-01-03"];
  const f = features(panelOf({ S: series([1, 1, 1, 1], { date }) }), ["DOW"]);
  assert.deepEqual(f.DOW, [1, 4, 0, 2]);
});

Deno.test("cross-sectional rank of 3 symbols with a tie: average rank over the symbols with a value", () => {
  const date = ["2021-01-04", "2021-01-05", "2021-01-06"];
  // Day 2 one-day returns: A ln 1.1, B ln 1.1 (tie), C ln 0.9 → C 1/3, A and B (2 + 3)/2 / 3 = 5/6.
  // Day 3: A ln(1.2), B ln(0.5), C missing (NaN close) → ranked among 2: B 1/2, A 2/2.
  const panel = panelOf({
    A: series([100, 110, 132], { date }),
    B: series([50, 55, 27.5], { date }),
    C: series([10, 9, Number.NaN], { date }),
  });
  const f = features(panel, ["CSR_RET1"]).CSR_RET1; // rows: A0 A1 A2 B0 B1 B2 C0 C1 C2
  assert.ok([0, 3, 6].every((i) => Number.isNaN(f[i])), "no return on the first day, no rank");
  close(f[1], 5 / 6, "A day 2");
  close(f[4], 5 / 6, "B day 2");
  close(f[7], 1 / 3, "C day 2");
  close(f[2], 1, "A day 3");
  close(f[5], 0.5, "B day 3");
  assert.ok(Number.isNaN(f[8]), "C day 3 has no value and no rank");
});
