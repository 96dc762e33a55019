import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import {
  backtest,
  createStampedDir,
  deflateSweep,
  microsecondStamp,
  rollingWindows,
  runSweep,
  signPositions,
  type SizingSpec,
  sweepDataFromPanel,
  sweepMeta,
  sweepToCsv,
  writeSweep,
  yearlyWindows,
} from "../../lib/backtest/mod.ts";
import type { Panel } from "../../lib/data/panel.ts";
import pl from "nodejs-polars";
import { ConfigError } from "../../lib/errors.ts";
import { deflatedSharpe } from "../../lib/metrics/sharpe.ts";

function series(n: number, seed: number) {
  let s = seed;
  const u = () => (s = (s * 16807) % 2147483647) / 2147483647;
  const returns = Float64Array.from({ length: n }, (_, t) => (t === 0 ? NaN : (u() - 0.5) * 0.04));
  const forecasts = Float64Array.from(
    { length: n },
    (_, t) => (t + 1 < n ? returns[t + 1] * 0.2 : 0) + (u() - 0.5) * 0.01,
  );
  const probabilities = forecasts.map((f) => Math.min(0.9, Math.max(0.1, 0.5 + 10 * f)));
  return { returns, forecasts, probabilities };
}

const n = 300;
const dates = Array.from({ length: n }, (_, t) => new Date(Date.UTC(2019, 0, 1 + t)).toISOString().slice(0, 10));
const data = { dates, series: { AAA: series(n, 1), BBB: series(n, 2) } };
const sizing: SizingSpec[] = [
  { kind: "sign" },
  { kind: "volatilityTarget", targetVol: 0.1, window: 10 },
  { kind: "kelly", fraction: 0.5 },
  {
    kind: "hybrid",
    maxLong: 1,
    maxShort: 0.5,
    baseLongBias: 0.2,
    bearishRiskOff: false,
    winRate: 0.55,
    drawdownThreshold: 0.05,
    drawdownMaxPosition: 0.1,
  },
];
const windows = [{ start: "2019-01-01", end: "2019-06-30" }, { start: "2019-04-01", end: "2019-10-27" }];

Deno.test("a sweep has one row per cell and each row is that cell's backtest", () => {
  const rows = runSweep(data, { windows, sizing, costBps: [0, 5, 10, 20] });
  assert.equal(rows.length, 2 * 2 * 4 * 4);
  const keys = new Set(rows.map((r) => `${r.symbol}|${r.windowStart}|${r.sizing}|${r.costBps}`));
  assert.equal(keys.size, rows.length);
  // Spot-check one cell against a direct backtest of the window's data.
  const row = rows.find((r) =>
    r.symbol === "BBB" && r.windowStart === "2019-04-01" && r.sizing === "sign()" && r.costBps === 10
  )!;
  const a = dates.indexOf("2019-04-01");
  const b = dates.indexOf("2019-10-27");
  const s = data.series.BBB;
  const direct = backtest({
    returns: s.returns.slice(a, b + 1),
    positions: signPositions(s.forecasts.slice(a, b + 1)),
    costBps: 10,
  });
  assert.deepEqual(row.metrics, direct.metrics);
  assert.equal(row.windowEnd, "2019-10-27");
  // Costs never help: with positions fixed, total return falls as costs rise.
  for (const sym of ["AAA", "BBB"]) {
    for (const w of windows) {
      for (const z of sizing.filter((s) => s.kind !== "hybrid")) { // the breaker makes positions cost-dependent
        const fam = rows.filter((r) =>
          r.symbol === sym && r.windowStart === w.start &&
          r.sizing === rows.find((x) => x.sizing.startsWith(z.kind))!.sizing
        );
        for (let i = 1; i < fam.length; i++) {
          assert.ok(fam[i].metrics.totalReturn <= fam[i - 1].metrics.totalReturn + 1e-15);
        }
      }
    }
  }
  assert.throws(() => runSweep(data, { windows: [{ start: "2030-01-01", end: "2030-02-01" }] }), /no date/);
  assert.throws(() => runSweep(data, { costBps: [-5] }), /costBps/);
});

Deno.test("sweep CSV and JSON: full precision, quoted labels, NaN kept", async () => {
  const rows = runSweep(data, {
    symbols: ["AAA"],
    sizing: [{ kind: "sign" }, { kind: "forecastOverSigma", window: 5, cap: 2 }],
    costBps: [0, 20],
  });
  const csv = sweepToCsv(rows).trim().split("\n");
  assert.equal(csv.length, 1 + rows.length);
  const header = csv[0].split(",");
  assert.deepEqual(header.slice(0, 9), [
    "symbol",
    "windowStart",
    "windowEnd",
    "costBps",
    "slippageBps",
    "lag",
    "borrowBps",
    "annualization",
    "sizing",
  ]);
  assert.ok(header.includes("sharpe") && header.includes("bh_sharpe") && header.includes("maxDrawdown"));
  assert.ok(csv.some((l) => l.includes('"forecastOverSigma(window=5,cap=2)"')), "labels with commas are quoted");
  const base = await Deno.makeTempDir();
  const out = await writeSweep(rows, base, { grid: { costBps: [0, 20] } });
  assert.ok(/sweep-\d{8}T\d{6}\.\d{6}Z$/.test(out.dir), out.dir);
  const json = JSON.parse(readFileSync(out.json, "utf8"));
  assert.equal(json.length, rows.length);
  assert.equal(json[1].sharpe, rows[1].metrics.sharpe); // full precision survives
  assert.equal(readFileSync(out.csv, "utf8"), sweepToCsv(rows));
  assert.equal(JSON.parse(readFileSync(out.meta, "utf8")).rows, rows.length);
  // A cell that never trades has NaN Sharpe: "NaN" in CSV, null in JSON.
  const flat = runSweep({
    dates: dates.slice(0, 5),
    series: { Z: { returns: [NaN, 0, 0, 0, 0], forecasts: [0, 0, 0, 0, 0] } },
  }, { costBps: [0] });
  assert.ok(Number.isNaN(flat[0].metrics.sharpe));
  assert.ok(sweepToCsv(flat).includes("NaN"));
  const o2 = await writeSweep(flat, base);
  assert.equal(JSON.parse(readFileSync(o2.json, "utf8"))[0].sharpe, null);
});

Deno.test("microsecond stamps: format, and strictly increasing within a process", () => {
  assert.equal(microsecondStamp(Date.UTC(2026, 0, 2, 3, 4, 5) * 1000 + 123456), "20260102T030405.123456Z");
  const stamps = Array.from({ length: 1000 }, () => microsecondStamp());
  for (let i = 1; i < stamps.length; i++) assert.ok(stamps[i] > stamps[i - 1]);
});

Deno.test("a taken microsecond is skipped: the folder is created exclusively", async () => {
  const base = await Deno.makeTempDir();
  // Occupy the next 3 ms worth of names.
  const now = Math.floor((performance.timeOrigin + performance.now()) * 1000);
  const taken = new Set<string>();
  for (let us = now; us < now + 3000; us++) {
    const d = join(base, `sweep-${microsecondStamp(us)}`);
    await Deno.mkdir(d);
    taken.add(d);
  }
  const dir = await createStampedDir(base);
  assert.ok(!taken.has(dir) && existsSync(dir));
});

Deno.test("parallel sweeps (in one process and in three processes) never share a folder", async () => {
  const base = await Deno.makeTempDir();
  const rowsFor = (tag: string) => runSweep({ dates, series: { [tag]: data.series.AAA } }, { costBps: [0] });
  const inProcess = await Promise.all(Array.from({ length: 20 }, (_, i) => writeSweep(rowsFor(`P${i}`), base)));
  const sweepUrl = new URL("../../lib/backtest/sweep.ts", import.meta.url).href;
  const script = `
    import { writeSweep } from "${sweepUrl}";
    const tag = Deno.args[0];
    const row = { symbol: tag, windowStart: "a", windowEnd: "b", costBps: 0, slippageBps: 0, lag: 1, borrowBps: 0,
      annualization: 252, sizing: "x", metrics: { totalReturn: 0 }, buyAndHold: { totalReturn: 0 } };
    await Promise.all(Array.from({ length: 10 }, (_, i) => writeSweep([{ ...row, symbol: tag + "-" + i }], Deno.args[1])));
  `;
  const file = join(await Deno.makeTempDir(), "writer.ts");
  const configPath = new URL("../../deno.json", import.meta.url).pathname;
  await Deno.writeTextFile(file, script);
  const procs = ["X", "Y", "Z"].map((tag) =>
    new Deno.Command(Deno.execPath(), { args: ["run", "-A", "--config", configPath, file, tag, base], stderr: "piped" })
      .output()
  );
  for (const p of await Promise.all(procs)) assert.ok(p.success, new TextDecoder().decode(p.stderr));
  const dirs = readdirSync(base);
  assert.equal(dirs.length, 20 + 30);
  assert.equal(new Set(inProcess.map((o) => o.dir)).size, 20);
  // Every folder holds exactly its own sweep.
  const symbols = dirs.map((d) => JSON.parse(readFileSync(join(base, d, "rows.json"), "utf8"))[0].symbol as string);
  assert.equal(new Set(symbols).size, 50);
});

Deno.test("deflateSweep: N = number of cells, variance across cells, each row deflated below its PSR", () => {
  const rows = deflateSweep(runSweep(data, { windows, sizing: sizing.slice(0, 2), costBps: [0, 10] }));
  const pp = rows.map((r) => r.metrics.sharpe / Math.sqrt(252));
  const mean = pp.reduce((a, b) => a + b) / pp.length;
  const variance = pp.reduce((a, b) => a + (b - mean) ** 2, 0) / (pp.length - 1);
  for (const r of rows) {
    assert.equal(r.metrics.trials, rows.length);
    const expected = deflatedSharpe({
      sharpe: r.metrics.sharpe / Math.sqrt(252),
      nTrials: rows.length,
      trialSharpeVariance: variance,
      nObs: r.metrics.periods,
      skew: r.metrics.skewness,
      kurtosis: r.metrics.kurtosis,
    });
    assert.ok(Math.abs(r.metrics.deflatedSharpe! - expected) < 1e-12);
    assert.ok(r.metrics.deflatedSharpe! <= r.metrics.probabilisticSharpe + 1e-15);
  }
});

Deno.test("sweep.json always states the grid, the options and the conventions, even when given nothing", async () => {
  const rows = runSweep(data, { symbols: ["AAA"], windows, lags: [1, 2], slippageBps: [0, 3], costBps: [0, 10] }, {
    borrowBps: 75,
    annualization: 52,
  });
  // Rows carry the fixed options.
  for (const r of rows) assert.deepEqual([r.borrowBps, r.annualization], [75, 52]);
  const out = await writeSweep(rows, await Deno.makeTempDir()); // no grid, no options given
  const meta = JSON.parse(readFileSync(out.meta, "utf8"));
  assert.equal(meta.rows, 2 * 2 * 2 * 2);
  assert.deepEqual(meta.options, { borrowBps: 75, annualization: 52, sameBar: false });
  const c = meta.conventions;
  assert.deepEqual(
    [c.lags, c.costBps, c.slippageBps, c.borrowBps, c.annualization, c.sameBar],
    [[1, 2], [0, 10], [0, 3], 75, 52, false],
  );
  assert.ok(c.engine.includes("q[t] = p[t - lag]") && c.engine.includes("borrowBps/1e4/annualization"));
  assert.ok(c.returns.startsWith("arithmetic"));
  assert.ok(typeof c.metrics.sharpe === "string" && typeof c.deflation === "string");
  assert.deepEqual(meta.grid.symbols, ["AAA"]);
  assert.deepEqual(meta.grid.windows, windows);
  assert.deepEqual(meta.grid.lags, [1, 2]);
  assert.deepEqual(meta.grid.sizing, ["sign()"]);
  // The caller's grid fields are kept as given (sizing as specs); the rest still comes from the rows.
  const given = await writeSweep(rows, await Deno.makeTempDir(), { grid: { sizing: [{ kind: "sign" }] } });
  const g = JSON.parse(readFileSync(given.meta, "utf8")).grid;
  assert.deepEqual(g.sizing, [{ kind: "sign" }]);
  assert.deepEqual(g.costBps, [0, 10]);
  // Options contradicting the rows, and rows mixing options, are refused before anything is written.
  const base = await Deno.makeTempDir();
  await assert.rejects(() => writeSweep(rows, base, { options: { annualization: 252 } }), ConfigError);
  const other = runSweep(data, { symbols: ["BBB"], costBps: [0] }); // borrow 0, annualization 252
  await assert.rejects(() => writeSweep([...rows, ...other], base), /mix borrowBps/);
  assert.equal(readdirSync(base).length, 0);
  // lag 0 needs sameBar, and then the flag is stored.
  assert.throws(() => runSweep(data, { symbols: ["AAA"], lags: [0], costBps: [0] }), /sameBar/);
  const sb = runSweep(data, { symbols: ["AAA"], lags: [0, 1], costBps: [0] }, { sameBar: true });
  const sbMeta = JSON.parse(readFileSync((await writeSweep(sb, base)).meta, "utf8"));
  assert.equal(sbMeta.conventions.sameBar, true);
  assert.deepEqual(sbMeta.conventions.lags, [0, 1]);
});

Deno.test("deflateSweep takes the annualization from the rows and refuses a mix", () => {
  const weekly = deflateSweep(runSweep(data, { windows, costBps: [0, 10] }, { annualization: 52 }));
  const pp = weekly.map((r) => r.metrics.sharpe / Math.sqrt(52));
  const mean = pp.reduce((a, b) => a + b) / pp.length;
  const variance = pp.reduce((a, b) => a + (b - mean) ** 2, 0) / (pp.length - 1);
  for (const r of weekly) {
    const expected = deflatedSharpe({
      sharpe: r.metrics.sharpe / Math.sqrt(52),
      nTrials: weekly.length,
      trialSharpeVariance: variance,
      nObs: r.metrics.periods,
      skew: r.metrics.skewness,
      kurtosis: r.metrics.kurtosis,
    });
    assert.ok(Math.abs(r.metrics.deflatedSharpe! - expected) < 1e-12);
  }
  const daily = runSweep(data, { windows, costBps: [0] });
  assert.throws(() => deflateSweep([...runSweep(data, { windows, costBps: [0] }, { annualization: 52 }), ...daily]), {
    name: "ConfigError",
    message: /mix annualization values \(52, 252\)/,
  });
});

Deno.test("window helpers: calendar years and rolling windows", () => {
  const d = ["2019-12-30", "2019-12-31", "2020-01-02", "2020-06-30", "2020-12-31", "2021-01-04"];
  assert.deepEqual(yearlyWindows(d), [
    { start: "2019-12-30", end: "2019-12-31" },
    { start: "2020-01-02", end: "2020-12-31" },
    { start: "2021-01-04", end: "2021-01-04" },
  ]);
  assert.deepEqual(rollingWindows(d, 3, 2), [
    { start: "2019-12-30", end: "2020-01-02" },
    { start: "2020-01-02", end: "2020-12-31" },
  ]);
  assert.throws(() => rollingWindows(d, 1), /length/);
});

Deno.test("sweepDataFromPanel: per-symbol returns and forecasts on the panel's date axis", () => {
  const frame = pl.DataFrame({
    date: ["2020-01-01", "2020-01-02", "2020-01-03", "2020-01-02", "2020-01-03"],
    symbol: ["A", "A", "A", "B", "B"],
    adj_close: [100, 110, 99, 50, 55],
  });
  const panel = {
    frame,
    symbols: ["A", "B"],
    dates: ["2020-01-01", "2020-01-02", "2020-01-03"],
    warnings: [],
    extraColumns: [],
  } as unknown as Panel;
  const data = sweepDataFromPanel(
    panel,
    { dates: ["2020-01-01", "2020-01-02"], symbols: ["A", "B"], values: [0.5, -0.5] },
    [0.6, 0.4],
  );
  assert.deepEqual(data.dates, panel.dates);
  assert.deepEqual(Array.from(data.series.A.returns).map((x) => Number.isNaN(x) ? null : +x.toFixed(12)), [
    null,
    0.1,
    -0.1,
  ]);
  assert.deepEqual(Array.from(data.series.B.forecasts).map((x) => Number.isNaN(x) ? null : x), [null, -0.5, null]);
  assert.deepEqual(Array.from(data.series.A.probabilities!).map((x) => Number.isNaN(x) ? null : x), [0.6, null, null]);
  const rows = runSweep(data, { costBps: [0] });
  assert.equal(rows.length, 2);
  // A: long on day 0, held on day 1 (+10 %); B: short on day 1, held on day 2 (55/50 − 1 = +10 % against it).
  assert.ok(Math.abs(rows[0].metrics.totalReturn - 0.1) < 1e-12);
  assert.ok(Math.abs(rows[1].metrics.totalReturn + 0.1) < 1e-12);
});

Deno.test("a caller's grid that contradicts the rows is refused before anything is written", async () => {
  // Rows: AAA only, costs 0 and 10, lag 1, slippage 0, sign(), the two windows (2019-01-01..06-30, 04-01..10-27).
  const rows = runSweep(data, { symbols: ["AAA"], windows, costBps: [0, 10] });
  const base = await Deno.makeTempDir();
  const contradicting: [string, object][] = [
    ["costBps", { costBps: [0, 20] }], // 20 was never run, 10 is missing
    ["costBps", { costBps: [0] }], // a subset hides the 10 bps rows
    ["lags", { lags: [2] }],
    ["slippageBps", { slippageBps: [0, 5] }],
    ["symbols", { symbols: ["AAA", "BBB"] }],
    ["sizing", { sizing: [{ kind: "sign", scale: 2 }] }], // "sign(scale=2)" ≠ "sign()"
    ["windows", { windows: [windows[0]] }],
    ["windows", { windows: [{ start: "2019-02-01", end: "2019-06-30" }, windows[1]] }], // does not hold a row window
  ];
  for (const [field, grid] of contradicting) {
    assert.throws(() => sweepMeta(rows, { grid }), {
      name: "ConfigError",
      message: new RegExp(`^grid\\.${field} = .* but the rows were run with ${field}`),
    }, JSON.stringify(grid));
    await assert.rejects(() => writeSweep(rows, base, { grid }), ConfigError);
  }
  assert.equal(readdirSync(base).length, 0, "nothing written");
  // The grid the rows were run with is accepted in any order, with windows as given (wider than the data's dates)
  // and sizing as specs, and is stored as given.
  const grid = {
    symbols: ["AAA"],
    windows: [{ start: "2019-04-01", end: "2019-10-31" }, { start: "2018-12-01", end: "2019-06-30" }],
    costBps: [10, 0],
    slippageBps: [0],
    lags: [1],
    sizing: [{ kind: "sign" } as const],
  };
  const meta = JSON.parse(readFileSync((await writeSweep(rows, base, { grid })).meta, "utf8"));
  assert.deepEqual(meta.grid, grid);
  assert.deepEqual(meta.conventions.costBps, [0, 10]);
});
