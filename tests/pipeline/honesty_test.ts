/**
 * The study's honesty guarantees, each on data where the truth is known by construction: the planted signal is found
 * but never beaten beyond the Bayes-optimal accuracy, a random walk stays a coin flip, a bull market's always-long
 * lookalike gets `no-edge` and a failed gate, folds purge the horizon, baselines are computed on exactly the rows
 * predicted, refusals write nothing.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { runStudy, type StudyProgress } from "../../lib/pipeline/study.ts";
import { callsOf, rowHits, truthOf } from "../../lib/pipeline/evaluate.ts";
import { openStore } from "../../lib/store/mod.ts";
import type { Store } from "../../lib/store/store.ts";
import { syntheticMarket } from "../../lib/data/synthetic.ts";
import { writePanelCsv } from "../../lib/data/write.ts";
import { ConfigError } from "../../lib/errors.ts";
import { crossSectionalIC } from "../../lib/metrics/correlation.ts";
import type { StudyData } from "../../lib/pipeline/trainers/contract.ts";

const SMALL = { symbols: 8, days: 900, seed: 7 };
const GBM = { kind: "xgboost", settings: { numBoostRound: 150, earlyStoppingRounds: 20 } };

Deno.test("planted market: the signal is learned (edge, gate passes) but never beyond the Bayes-optimal accuracy; pooled = row-weighted folds", async () => {
  const r = await runStudy({
    data: { synthetic: { ...SMALL, symbols: 12, days: 1500 } },
    validation: { folds: 3 },
    models: [GBM],
  });
  const e = r.report.entries[0];
  const n = e.pooled.metrics.nTest;
  const theory = r.report.theoreticalAccuracy!;
  assert.ok(theory > 0.55);
  assert.equal(e.pooled.verdict, "edge", JSON.stringify(e.pooled.edge));
  assert.ok(e.pooled.edge.ci[0] > 0);
  assert.ok(e.pooled.accuracy < theory + 3 * 0.5 / Math.sqrt(n), "exceeding the oracle by 3 SE would mean look-ahead");
  assert.ok(e.efficiency.efficiency !== null && e.efficiency.efficiency > 0.5, JSON.stringify(e.efficiency));
  assert.equal(e.gate.passed, true, e.gate.reason);
  const weighted = e.folds.reduce((s, f) => s + f.metrics.accuracy * f.nTest, 0) / n;
  assert.ok(Math.abs(weighted - e.pooled.accuracy) < 1e-12);
  // The pooled accuracy recomputed by hand from the stitched predictions.
  const p = r.predictions.get(e.name)!;
  let hits = 0;
  p.rows.forEach((row, i) => hits += (p.scores[i] > 0.5) === (r.data.target[row] > 0) ? 1 : 0);
  assert.ok(Math.abs(hits / n - e.pooled.accuracy) < 1e-12);
  assert.ok(!r.report.notes.some((n) => /Holm/.test(n)), "one entry is one test: no multiple-comparison note");
  // The mean cross-sectional rank IC's interval: above 0 here, and about as wide as the textbook one for independent
  // next-day ICs (mean ± 1.96 sd / √dates) — a block bootstrap on near-independent dates should agree with it.
  const cs = crossSectionalIC(
    Array.from(p.rows, (row) => r.data.dates[row]),
    Array.from(p.scores, (s) => s - 0.5),
    Array.from(p.rows, (row) => r.data.target[row]),
  );
  const { meanIC, meanICLow, meanICHigh } = e.pooled.metrics;
  assert.ok(Math.abs(cs.meanIC - meanIC) < 1e-12);
  assert.ok(meanICLow > 0 && meanICLow < meanIC && meanIC < meanICHigh, `${meanICLow} ${meanIC} ${meanICHigh}`);
  const textbook = 2 * 1.96 * cs.icStd / Math.sqrt(cs.nDates);
  const width = meanICHigh - meanICLow;
  assert.ok(width > 0.7 * textbook && width < 1.4 * textbook, `width ${width} against ${textbook}`);
});

Deno.test("several entries: a study with an edge says which edges hold under Holm's correction; one entry or no edge says nothing", async () => {
  const r = await runStudy({
    data: { synthetic: SMALL },
    validation: { folds: 3 },
    models: [GBM, { kind: "logistic" }],
  });
  const [a, b] = r.report.entries;
  assert.ok(a.pooled.verdict === "edge" || b.pooled.verdict === "edge", "the planted signal gives an edge");
  // Holm by hand for two one-sided bootstrap p-values: the smaller doubled, the larger raised to it if below.
  const [pa, pb] = [a.pooled.edge.pValue, b.pooled.edge.pValue];
  const low = Math.min(1, 2 * Math.min(pa, pb)), high = Math.max(low, Math.max(pa, pb));
  const adjusted = pa <= pb ? [low, high] : [high, low];
  const note = r.report.notes.find((n) => /Holm/.test(n));
  assert.ok(note, r.report.notes.join("\n"));
  assert.match(note, /^2 entries tested on the same rows: each verdict is a one-sided test at 2\.5 %/);
  [a, b].forEach((e, i) => {
    if (e.pooled.verdict !== "edge") return assert.ok(!note.includes(`${e.name}'s edge`), note);
    const shown = adjusted[i] < 0.001 ? "< 0.001" : `= ${adjusted[i].toFixed(3)}`;
    const holds = adjusted[i] <= 0.025 ? "holds" : "does not hold";
    assert.ok(note.includes(`${e.name}'s edge ${holds} (adjusted p ${shown})`), note);
  });
});

Deno.test("random walk: the out-of-sample accuracy is a coin flip, the verdict is no-edge and the gate fails", async () => {
  const r = await runStudy({
    data: { synthetic: { ...SMALL, mode: "random-walk" } },
    validation: { folds: 3 },
    models: [GBM, { kind: "logistic" }],
  });
  for (const e of r.report.entries) {
    assert.ok(Math.abs(e.pooled.accuracy - 0.5) < 4 * 0.5 / Math.sqrt(e.pooled.metrics.nTest), `${e.pooled.accuracy}`);
    assert.equal(e.pooled.verdict, "no-edge");
    assert.equal(e.gate.passed, false);
    // Nothing to find: no multiple-comparison note, and the mean cross-sectional rank IC's interval covers 0.
    assert.ok(!r.report.notes.some((n) => /Holm/.test(n)), r.report.notes.join("\n"));
    assert.ok(e.pooled.metrics.meanICLow < 0 && 0 < e.pooled.metrics.meanICHigh, JSON.stringify(e.pooled.metrics));
  }
});

Deno.test("bull-market random walk: an always-long-ish model looks accurate, but its verdict is no-edge against always long and the gate fails", async () => {
  // A strong upward drift: most h-day returns are positive, so calling "up" is right most of the time.
  const r = await runStudy({
    data: { synthetic: { ...SMALL, mode: "random-walk", drift: 0.002 } },
    target: { horizon: 5 },
    validation: { folds: 3 },
    models: [GBM],
  });
  const e = r.report.entries[0];
  assert.ok(e.pooled.metrics.shareUp > 0.8, `share of up calls ${e.pooled.metrics.shareUp}`);
  assert.ok(e.pooled.accuracy > 0.56, `the accuracy looks good: ${e.pooled.accuracy}`);
  assert.ok(e.pooled.naive.pValue < 1e-6, "against a coin flip it would look significant");
  assert.ok(["alwaysLong", "majorityClass"].includes(e.pooled.strongestBaseline), e.pooled.strongestBaseline);
  assert.equal(e.pooled.verdict, "no-edge", JSON.stringify(e.pooled.edge));
  assert.ok(e.pooled.edge.ci[0] <= 0 && e.pooled.edge.ci[1] >= -0.05);
  assert.equal(e.gate.passed, false);
  // The block-bootstrap interval of the accuracy is wider than the naive binomial one (overlapping 5-day labels).
  const boot = e.pooled.accuracyCi[1] - e.pooled.accuracyCi[0];
  const naive = e.pooled.naive.ci[1] - e.pooled.naive.ci[0];
  assert.ok(boot > 1.5 * naive, `bootstrap ${boot} vs naive ${naive}`);
});

Deno.test("folds purge the horizon, the early-stopping tail stays inside training, positions lag by one day", async () => {
  const horizon = 5;
  const r = await runStudy({
    data: { synthetic: { ...SMALL, symbols: 4 } },
    target: { horizon },
    validation: { folds: 3 },
    models: [GBM],
  });
  for (const f of r.plan.folds) {
    const lastFit = Math.max(...f.fold.trainIndices);
    const firstTail = Math.min(...f.fold.validationIndices!);
    const lastTail = Math.max(...f.fold.validationIndices!);
    const firstTest = Math.min(...f.fold.testIndices);
    // A label at index i reaches i + horizon: fitting labels end before the tail starts, tail labels before the test.
    assert.ok(lastFit + horizon < firstTail, `fold ${f.index}: fit ${lastFit}, tail ${firstTail}`);
    assert.ok(lastTail + horizon < firstTest, `fold ${f.index}: tail ${lastTail}, test ${firstTest}`);
    assert.ok(f.fold.purge >= horizon);
  }
  const e = r.report.entries[0];
  const firstForecast = r.data.axis[r.plan.folds[0].fold.testIndices[0]];
  const axis = r.data.axis;
  assert.equal(e.backtest.window.start, axis[axis.indexOf(firstForecast) + 1], "lag 1: the first return is t + 1");
  assert.equal(e.backtest.lag, 1);
});

Deno.test("baselines by hand: always long, the training majority and the previous sign on the very rows predicted", () => {
  // Four rows: targets +, −, +, +; previous values NaN, +, −, +; the model calls up, up, down, up.
  const data = {
    task: "binary",
    classes: 2,
    y: Float64Array.of(1, 0, 1, 1),
    target: Float64Array.of(0.01, -0.02, 0.03, 0.01),
  } as unknown as StudyData;
  const rows = Int32Array.of(0, 1, 2, 3);
  const calls = callsOf("binary", Float64Array.of(0.7, 0.6, 0.4, 0.55), 2);
  assert.deepEqual(Array.from(calls), [1, 1, 0, 1]);
  assert.deepEqual(Array.from(truthOf(data, rows)), [1, 0, 1, 1]);
  const hits = rowHits(data, Float64Array.of(NaN, 0.2, -0.1, 0.3), rows, calls, Float64Array.of(0, 0, 0, 0));
  assert.deepEqual(Array.from(hits.model), [1, 0, 0, 1]);
  assert.deepEqual(Array.from(hits.alwaysLong), [1, 0, 1, 1]);
  assert.deepEqual(Array.from(hits.majorityClass), [0, 1, 0, 0], "a 'down' training majority");
  assert.deepEqual(Array.from(hits.previousSign).map((x) => (Number.isNaN(x) ? "-" : x)), ["-", 0, 0, 1]);
  assert.deepEqual(Array.from(hits.coinFlip), [0.5, 0.5, 0.5, 0.5]);
  // 3-class: the largest probability is the call.
  assert.deepEqual(Array.from(callsOf("multiclass", Float64Array.of(0.2, 0.5, 0.3, 0.6, 0.1, 0.3), 3)), [1, 0]);
});

/** date → adj_close per symbol, read from the CSV files. */
async function adjCloses(dir: string, symbols: readonly string[]): Promise<Map<string, Map<string, number>>> {
  const out = new Map<string, Map<string, number>>();
  for (const s of symbols) {
    const [head, ...rows] = (await Deno.readTextFile(join(dir, `${s}.csv`))).trim().split("\n");
    const cols = head.split(",");
    const d = cols.indexOf("date"), a = cols.indexOf("adj_close");
    out.set(s, new Map(rows.map((r) => r.split(",")).map((c) => [c[d], Number(c[a])])));
  }
  return out;
}

Deno.test("previous-sign baseline with symbols listed inside a test window: rows without a previous return are left out and counted", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const m = syntheticMarket({ symbols: 4, days: 400, mode: "planted", seed: 5 });
    await writePanelCsv(m.panel, dir);
    for (const [s, keep] of [["SYN03", 80], ["SYN02", 150]] as const) {
      const lines = (await Deno.readTextFile(join(dir, `${s}.csv`))).trim().split("\n");
      await Deno.writeTextFile(join(dir, `${s}.csv`), [lines[0], ...lines.slice(-keep)].join("\n") + "\n");
    }
    const r = await runStudy({ data: { path: dir }, validation: { folds: 2 }, models: [{ kind: "logistic" }] });
    const prices = await adjCloses(dir, r.report.symbols);
    const e = r.report.entries[0];
    for (const f of e.folds) {
      const planned = r.plan.folds[f.index];
      let hits = 0, rows = 0, excluded = 0;
      for (const row of planned.rows.test) {
        const series = prices.get(r.data.symbols[row])!;
        const dates = [...series.keys()].sort();
        const at = dates.indexOf(r.data.dates[row]);
        if (at === 0) {
          excluded++;
          continue;
        }
        const prev = Math.log(series.get(dates[at])! / series.get(dates[at - 1])!);
        rows++;
        if ((prev > 0) === (r.data.target[row] > 0)) hits++;
      }
      assert.ok(Math.abs(f.baselines.previousSign - hits / rows) < 1e-9, `fold ${f.index}`);
      const stored = (f.fit as unknown as { previousSignBaseline?: unknown }).previousSignBaseline;
      if (stored !== undefined) assert.deepEqual(stored, { rows, excluded });
      if (f.index === 1) assert.ok(excluded > 0, "SYN03 starts inside the last test window");
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("MLP: a file column empty in a fold's fitting rows is 0 on every split of that fold, and the fold says so", async () => {
  const dirA = await Deno.makeTempDir();
  const dirB = await Deno.makeTempDir();
  const late = async (dir: string, later: (i: number) => number) => {
    const m = syntheticMarket({ symbols: 4, days: 400, mode: "planted", seed: 5 });
    await writePanelCsv(m.panel, dir);
    for (const s of m.panel.symbols) {
      const lines = (await Deno.readTextFile(join(dir, `${s}.csv`))).trim().split("\n");
      const out = [lines[0] + ",ext", ...lines.slice(1).map((l, i) => `${l},${i < 200 ? "NaN" : String(later(i))}`)];
      await Deno.writeTextFile(join(dir, `${s}.csv`), out.join("\n") + "\n");
    }
  };
  try {
    let x = 1;
    const rnd = () => (x = (x * 16807) % 2147483647) / 2147483647;
    await late(dirA, () => 5000 + 1000 * rnd());
    await late(dirB, (i) => -0.001 * i);
    const config = (path: string) => ({
      data: { path },
      validation: { folds: 2 },
      models: [{ kind: "mlp", settings: { hidden: [8], epochs: 3, batchSize: 64 } }],
    });
    const a = await runStudy(config(dirA));
    const b = await runStudy(config(dirB));
    const f0 = a.report.entries[0].folds[0];
    const scaling = (f0.fit as unknown as { scaling: { emptyColumns: { columns: string[]; overwritten: number } } })
      .scaling;
    assert.deepEqual(scaling.emptyColumns.columns, ["ext"]);
    assert.ok(scaling.emptyColumns.overwritten > 0);
    assert.ok(a.report.warnings.some((w) => w.startsWith("fold 1: ext has no finite value in the fitting rows")));
    // Whatever the column holds later, fold 1 sees zeros everywhere: identical predictions in both markets.
    const pa = a.predictions.get("mlp")!, pb = b.predictions.get("mlp")!;
    assert.deepEqual(Array.from(pa.scores.subarray(0, f0.nTest)), Array.from(pb.scores.subarray(0, f0.nTest)));
    const f1 = a.report.entries[0].folds[1].fit as unknown as { scaling: { emptyColumns: { columns: string[] } } };
    assert.deepEqual(f1.scaling.emptyColumns.columns, []);
  } finally {
    await Deno.remove(dirA, { recursive: true });
    await Deno.remove(dirB, { recursive: true });
  }
});

Deno.test("refusals come before the study is stored: too few dates for the plan, a constant target", async () => {
  const dir = await Deno.makeTempDir();
  const store = openStore(join(dir, "runs.db"));
  try {
    const events: string[] = [];
    const spied = new Proxy(store, {
      get(target, key, receiver) {
        const value = Reflect.get(target, key, receiver);
        if (key !== "createStudy") return typeof value === "function" ? value.bind(target) : value;
        return (...args: Parameters<Store["createStudy"]>) => {
          events.push("createStudy");
          return target.createStudy(...args);
        };
      },
    });
    const onProgress = (p: StudyProgress) => events.push(p.stage);
    const data = { synthetic: { symbols: 2, days: 300, mode: "random-walk" } };
    await runStudy({ data, validation: { folds: 2 }, models: [{ kind: "logistic" }] }, { store: spied, onProgress });
    assert.ok(events.indexOf("configuration") < events.indexOf("createStudy"), events.join(", "));
    // 299 dates cannot hold 6 folds with 60 fitting dates each: refused with the numbers, nothing stored.
    await assert.rejects(
      runStudy({ data, validation: { folds: 6 }, models: [{ kind: "logistic" }] }, { store: spied }),
      (e) =>
        e instanceof ConfigError && /fold 1 of the anchored plan has \d+ fitting dates .* at least 60/.test(e.message),
    );
    assert.equal((await store.listStudies()).length, 1);
  } finally {
    await store.close();
    await Deno.remove(dir, { recursive: true });
  }
});
