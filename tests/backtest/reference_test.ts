/**
 * Agreement with the independent numpy implementation (bench/reference/backtest.py) on real prices: the engine and
 * panel portfolios, every sizing rule (forecast conversion, forecast/σ, volatility targeting, Kelly, the hybrid with
 * its drawdown breaker), and sweep rows with PSR, DSR, skewness and kurtosis. The committed fixture needs no Python;
 * when /usr/bin/python3 with numpy is present, the script is rerun and compared too.
 */
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { gunzipSync } from "node:zlib";
import { realDataTest } from "../_helpers/real_data.ts";
import {
  applyDrawdownBreaker,
  backtest,
  backtestGrid,
  type BacktestMetrics,
  backtestPanel,
  dailyExpectedReturns,
  deflateSweep,
  describeSizing,
  type HybridSizingParams,
  longBiasedHalfKelly,
  type PortfolioScheme,
  runSweep,
  sizePositions,
  type SizingSpec,
  winRatePrior,
} from "../../lib/backtest/mod.ts";
import { loadPanel } from "../../lib/data/load.ts";

const here = fileURLToPath(new URL(".", import.meta.url));
const fixturePath = join(here, "../fixtures/backtest/reference.json");
const script = join(here, "../../bench/reference/backtest.py");

interface RefRun {
  name: string;
  lag: number;
  costBps: number;
  slippageBps?: number;
  borrowBps?: number;
  portfolio?: PortfolioScheme;
  start: number;
  end: number;
  net: number[];
  equity: number[];
  buyAndHoldNet: number[];
  metrics: Record<string, number | null>;
  buyAndHold: Record<string, number | null>;
}
interface SizingCase extends RefRun {
  spec: SizingSpec;
  annualization: number;
  positions: (number | null)[];
  tripped?: number;
}
interface SizingReference {
  symbol: string;
  horizon: number;
  conversionVol: number;
  converted: (number | null)[];
  probability: { center: number; slope: number; lo: number; hi: number };
  winRate: { holdoutAccuracy: number; trainPositiveShare: number; winRate: number };
  cases: SizingCase[];
}
interface SweepReference {
  symbols: string[];
  windows: { start: string; end: string }[];
  costBps: number[];
  lag: number;
  borrowBps: number;
  annualization: number;
  sizing: SizingSpec[];
  trialSharpeVariance: number;
  rows: {
    symbol: string;
    windowStart: string;
    windowEnd: string;
    costBps: number;
    sizingIndex: number;
    metrics: Record<string, number | null>;
    buyAndHold: Record<string, number | null>;
  }[];
}
interface Reference {
  symbols: string[];
  start: string;
  end: string;
  momentum: number;
  dates: string[];
  panel: RefRun[];
  series: RefRun & { symbol: string };
  sizing: SizingReference;
  sweep: SweepReference;
}

/** Adjusted closes of the fixture's symbols inside its window, on the union of their dates (NaN = no row). */
function loadGrid(dir: string, ref: Reference): { dates: string[]; prices: Float64Array } {
  const bySymbol = ref.symbols.map((s) => {
    const text = new TextDecoder().decode(gunzipSync(readFileSync(join(dir, `${s}.csv.gz`))));
    const lines = text.trim().split("\n");
    const header = lines[0].split(",");
    const di = header.indexOf("date");
    const pi = header.indexOf("adj_close");
    const map = new Map<string, number>();
    for (const line of lines.slice(1)) {
      const cells = line.split(",");
      if (cells[di] >= ref.start && cells[di] <= ref.end) map.set(cells[di], Number(cells[pi]));
    }
    return map;
  });
  const dates = [...new Set(bySymbol.flatMap((m) => [...m.keys()]))].sort();
  const m = ref.symbols.length;
  const prices = new Float64Array(dates.length * m).fill(NaN);
  dates.forEach((d, t) => bySymbol.forEach((mp, j) => (prices[t * m + j] = mp.get(d) ?? NaN)));
  return { dates, prices };
}

function returnsAndMomentum(prices: Float64Array, n: number, m: number, k: number) {
  const returns = new Float64Array(n * m).fill(NaN);
  const momentum = new Float64Array(n * m).fill(NaN);
  for (let j = 0; j < m; j++) {
    let prev = NaN;
    for (let t = 0; t < n; t++) {
      const p = prices[t * m + j];
      if (Number.isNaN(p)) continue;
      if (!Number.isNaN(prev)) returns[t * m + j] = p / prev - 1;
      prev = p;
      if (t >= k) momentum[t * m + j] = Math.log(p / prices[(t - k) * m + j]); // NaN if the old price is missing
    }
  }
  return { returns, momentum };
}

function near(actual: number, expected: number | null, what: string, tol = 1e-9) {
  if (expected === null) {
    assert.ok(Number.isNaN(actual), `${what}: expected NaN, got ${actual}`);
    return;
  }
  assert.ok(Math.abs(actual - expected) <= tol * Math.max(1, Math.abs(expected)), `${what}: ${actual} vs ${expected}`);
}

function compareRun(ref: RefRun, r: {
  window: { start: number; end: number };
  netReturns: Float64Array;
  equity: Float64Array;
  metrics: BacktestMetrics;
  buyAndHold: { netReturns: Float64Array; metrics: BacktestMetrics };
}) {
  assert.equal(r.window.start, ref.start, `${ref.name}: window start`);
  assert.equal(r.window.end, ref.end, `${ref.name}: window end`);
  for (let i = 0; i < ref.net.length; i++) {
    near(r.netReturns[ref.start + i], ref.net[i], `${ref.name}: net[${i}]`);
    near(r.equity[ref.start + i], ref.equity[i], `${ref.name}: equity[${i}]`);
    near(r.buyAndHold.netReturns[ref.start + i], ref.buyAndHoldNet[i], `${ref.name}: buy & hold net[${i}]`);
  }
  compareMetrics(r.metrics, ref.metrics, `${ref.name}: metrics`);
  compareMetrics(r.buyAndHold.metrics, ref.buyAndHold, `${ref.name}: buyAndHold`);
}

function compareMetrics(actual: BacktestMetrics, expected: Record<string, number | null>, what: string) {
  const m = actual as unknown as Record<string, number>;
  for (const [k, v] of Object.entries(expected)) {
    assert.ok(k in m, `${what}: metric ${k} missing`);
    near(m[k], v, `${what}: ${k}`);
  }
}

const column = (grid: Float64Array, n: number, m: number, j: number) =>
  Float64Array.from({ length: n }, (_, t) => grid[t * m + j]);

function checkSizing(ref: Reference, returns: Float64Array, momentum: Float64Array) {
  const n = ref.dates.length;
  const m = ref.symbols.length;
  const s = ref.sizing;
  const j = ref.symbols.indexOf(s.symbol);
  const r = column(returns, n, m, j);
  const f = column(momentum, n, m, j);
  // Forecast conversion of the 20-day log momentum read as a 20-day forecast.
  const conv = dailyExpectedReturns(f, s.horizon, s.conversionVol);
  s.converted.forEach((v, t) => near(conv[t], v, `converted[${t}]`));
  assert.equal(winRatePrior(s.winRate.holdoutAccuracy, s.winRate.trainPositiveShare), s.winRate.winRate);
  const c = s.probability;
  const probabilities = f.map((x) => Math.min(c.hi, Math.max(c.lo, c.center + c.slope * x)));
  const kinds = new Set<string>();
  for (const cs of s.cases) {
    kinds.add(cs.spec.kind);
    const costs = {
      lag: cs.lag,
      costBps: cs.costBps,
      slippageBps: cs.slippageBps,
      borrowBps: cs.borrowBps,
      annualization: cs.annualization,
    };
    const positions = sizePositions(cs.spec, { forecasts: f, returns: r, probabilities, costs });
    cs.positions.forEach((v, t) => near(positions[t], v, `${cs.name}: position[${t}]`));
    if (cs.tripped !== undefined) {
      const spec = cs.spec as HybridSizingParams;
      const b = applyDrawdownBreaker(longBiasedHalfKelly(f, spec), r, {
        ...costs,
        threshold: spec.drawdownThreshold!,
        maxPosition: spec.drawdownMaxPosition!,
      });
      let on = 0;
      let releases = 0;
      b.tripped.forEach((x, t) => {
        on += x;
        if (t > 0 && b.tripped[t - 1] === 1 && x === 0) releases++;
      });
      assert.equal(on, cs.tripped, `${cs.name}: days with the breaker on`);
      assert.ok(on > 0 && releases > 0, `${cs.name}: the breaker should trip and release on these prices`);
    }
    compareRun(cs, backtest({ returns: r, positions, ...costs }));
  }
  assert.deepEqual([...kinds].sort(), ["forecastOverSigma", "hybrid", "kelly", "volatilityTarget"]);
}

function checkSweep(ref: Reference, returns: Float64Array, momentum: Float64Array) {
  const n = ref.dates.length;
  const m = ref.symbols.length;
  const sw = ref.sweep;
  const series = Object.fromEntries(sw.symbols.map((sym) => {
    const j = ref.symbols.indexOf(sym);
    return [sym, { returns: column(returns, n, m, j), forecasts: column(momentum, n, m, j) }];
  }));
  const rows = deflateSweep(runSweep(
    { dates: ref.dates, series },
    { symbols: sw.symbols, windows: sw.windows, costBps: sw.costBps, lags: [sw.lag], sizing: sw.sizing },
    { borrowBps: sw.borrowBps, annualization: sw.annualization },
  ));
  assert.equal(rows.length, sw.rows.length);
  for (const e of sw.rows) {
    const label = describeSizing(sw.sizing[e.sizingIndex]);
    const what = `sweep ${e.symbol} ${e.windowStart} ${label} ${e.costBps}bps`;
    const row = rows.find((r) =>
      r.symbol === e.symbol && r.windowStart === e.windowStart && r.sizing === label && r.costBps === e.costBps
    );
    assert.ok(row !== undefined, `${what}: no such row`);
    assert.equal(row.windowEnd, e.windowEnd, what);
    assert.equal(row.metrics.trials, sw.rows.length);
    compareMetrics(row.metrics, e.metrics, what);
    compareMetrics(row.buyAndHold, e.buyAndHold, `${what} buy & hold`);
  }
}

function checkAgainst(ref: Reference, dir: string) {
  const { dates, prices } = loadGrid(dir, ref);
  assert.deepEqual(dates, ref.dates);
  const n = dates.length;
  const m = ref.symbols.length;
  const { returns, momentum } = returnsAndMomentum(prices, n, m, ref.momentum);
  for (const cfg of ref.panel) {
    const r = backtestGrid({
      dates,
      symbols: ref.symbols,
      returns,
      forecasts: momentum,
      portfolio: cfg.portfolio,
      lag: cfg.lag,
      costBps: cfg.costBps,
      slippageBps: cfg.slippageBps,
      borrowBps: cfg.borrowBps,
    });
    compareRun(cfg, r);
  }
  const s = ref.series;
  const j = ref.symbols.indexOf(s.symbol);
  const rets = Float64Array.from({ length: n }, (_, t) => returns[t * m + j]);
  const positions = Float64Array.from({ length: n }, (_, t) => Math.min(1, Math.max(-1, momentum[t * m + j] / 0.1)));
  compareRun(
    s,
    backtest({
      returns: rets,
      positions,
      lag: s.lag,
      costBps: s.costBps,
      slippageBps: s.slippageBps,
      borrowBps: s.borrowBps,
    }),
  );
  checkSizing(ref, returns, momentum);
  checkSweep(ref, returns, momentum);
}

realDataTest("agrees to 1e-9 with the numpy reference on real prices (committed fixture)", (dir) => {
  const ref = JSON.parse(readFileSync(fixturePath, "utf8")) as Reference;
  // The fixture must exercise gaps (missing prices), a listing inside the window, and every portfolio scheme.
  assert.ok(ref.symbols.includes("WELL") && ref.symbols.includes("MA"));
  checkAgainst(ref, dir);
});

function pythonWithNumpy(): boolean {
  if (!existsSync("/usr/bin/python3")) return false;
  const out = new Deno.Command("/usr/bin/python3", { args: ["-c", "import numpy"], stderr: "null", stdout: "null" })
    .outputSync();
  return out.success;
}

const hasPython = pythonWithNumpy();
if (!hasPython) console.warn("numpy reference rerun skipped: /usr/bin/python3 with numpy not found");
realDataTest("the numpy reference script, rerun now, still agrees (skipped without Python + numpy)", async (dir) => {
  if (!hasPython) return;
  const out = join(await Deno.makeTempDir(), "reference.json");
  const cmd = await new Deno.Command("/usr/bin/python3", { args: [script, "fixture", dir, out], stderr: "piped" })
    .output();
  assert.ok(cmd.success, new TextDecoder().decode(cmd.stderr));
  const fresh = JSON.parse(readFileSync(out, "utf8")) as Reference;
  checkAgainst(fresh, dir);
  const committed = JSON.parse(readFileSync(fixturePath, "utf8")) as Reference;
  assert.deepEqual(fresh.panel.map((p) => p.metrics), committed.panel.map((p) => p.metrics));
  assert.deepEqual(fresh.sizing.cases.map((c) => c.positions), committed.sizing.cases.map((c) => c.positions));
  assert.deepEqual(fresh.sweep.rows.map((r) => r.metrics), committed.sweep.rows.map((r) => r.metrics));
});

/** Long-format momentum forecasts on the fixture's window for dates[0..last]. */
function forecastsUpTo(ref: Reference, dates: string[], momentum: Float64Array, last: number) {
  const m = ref.symbols.length;
  const out = { dates: [] as string[], symbols: [] as string[], values: [] as number[] };
  for (let t = 0; t <= last; t++) {
    for (let j = 0; j < m; j++) {
      if (Number.isFinite(momentum[t * m + j])) {
        out.dates.push(dates[t]);
        out.symbols.push(ref.symbols[j]);
        out.values.push(momentum[t * m + j]);
      }
    }
  }
  return out;
}

realDataTest("backtestPanel on a loaded real Panel reproduces the numpy reference (gaps, listings)", async (dir) => {
  const ref = JSON.parse(readFileSync(fixturePath, "utf8")) as Reference;
  const panel = await loadPanel(ref.symbols.map((s) => join(dir, `${s}.csv.gz`)));
  const { dates, prices } = loadGrid(dir, ref);
  const { momentum } = returnsAndMomentum(prices, dates.length, ref.symbols.length, ref.momentum);
  for (const cfg of ref.panel) {
    const r = backtestPanel({
      panel,
      // Not the window's last `lag` dates: the fixture's data ends there, so it never holds those decisions.
      forecasts: forecastsUpTo(ref, dates, momentum, dates.length - 1 - cfg.lag),
      portfolio: cfg.portfolio,
      lag: cfg.lag,
      costBps: cfg.costBps,
      slippageBps: cfg.slippageBps,
      borrowBps: cfg.borrowBps,
    });
    // Same window in dates; the panel's date axis is the full history, so indices are offset.
    const offset = r.dates.indexOf(ref.dates[0]);
    assert.equal(r.window.startDate, ref.dates[cfg.start], cfg.name);
    assert.equal(r.window.endDate, ref.dates[cfg.end], cfg.name);
    for (let i = 0; i < cfg.net.length; i++) {
      near(r.netReturns[offset + cfg.start + i], cfg.net[i], `${cfg.name}: net[${i}]`);
      near(r.buyAndHold.netReturns[offset + cfg.start + i], cfg.buyAndHoldNet[i], `${cfg.name}: bh[${i}]`);
    }
    near(r.metrics.sharpe, cfg.metrics.sharpe, `${cfg.name}: sharpe`);
    near(r.metrics.maxDrawdown, cfg.metrics.maxDrawdown!, `${cfg.name}: maxDrawdown`);
    assert.equal(r.record.equity.dates.length, cfg.net.length);
  }
});
