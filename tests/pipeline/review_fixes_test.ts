/**
 * Pipeline regressions: the walk-forward-efficiency gate when folds fail, the previous-sign baseline on symbols that
 * start inside a test window, extra columns without a value in a fold's fitting rows, unknown model settings, and the
 * configuration gate running before anything is stored.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import fc from "fast-check";
import {
  efficiencyGate,
  foldEfficiency,
  minimumValidationEdge,
  type PipelineProgress,
  previousSignOnKnownRows,
  runPipeline,
  WFE_THRESHOLD,
} from "../../lib/pipeline/run.ts";
import { MODEL_SETTINGS, resolveConfig, resolveModel } from "../../lib/pipeline/config.ts";
import { ConfigError } from "../../lib/errors.ts";
import { syntheticMarket } from "../../lib/data/synthetic.ts";
import { writePanelCsv } from "../../lib/data/write.ts";
import { openStore } from "../../lib/store/mod.ts";
import type { Store } from "../../lib/store/store.ts";

const close = (a: number, b: number, tol = 1e-12) => Math.abs(a - b) <= tol;

// ---------------------------------------------------------------------------------------------------------------
// Walk-forward efficiency

Deno.test("foldEfficiency: the validation edge must exceed 2 standard errors of the tail's accuracy, 1/√n", () => {
  // 2·sqrt(0.25 / n) = 1 / sqrt(n): 0.1 on 100 rows, 0.02 on 2500, and never below half a point.
  assert.ok(close(minimumValidationEdge(100), 0.1));
  assert.ok(close(minimumValidationEdge(2500), 0.02));
  assert.equal(minimumValidationEdge(1e6), 0.005);
  // A 6-point edge on 50 tail rows is inside the noise (1/√50 ≈ 0.1414): undefined, with the reason.
  const noisy = foldEfficiency(0.55, 0.56, 50);
  assert.equal(noisy.efficiency, null);
  assert.match(noisy.reason!, /within 2 standard errors \(0\.1414\) of its 50 tail rows/);
  // The same edge on 2500 rows (threshold 0.02) is real: 0.05 / 0.06 of it survives.
  const real = foldEfficiency(0.55, 0.56, 2500);
  assert.ok(close(real.efficiency!, 0.05 / 0.06, 1e-9));
  assert.ok(close(real.minimumEdge!, 0.02));
});

Deno.test("efficiencyGate: opposite-sign fold edges that cancel no longer pass as a pooled WFE of 1.36", () => {
  // Both folds fail: fold 1's tail is below the coin flip, fold 2's 3.5-point edge is inside its noise (1/√86 ≈
  // 0.108). Pooled tail: (0.45·40 + 0.5349·86) / 126 = 0.50794, an edge of 0.0079 < 1/√126 ≈ 0.0891.
  const gate = efficiencyGate([
    { validationAccuracy: 0.45, nValidation: 40, testAccuracy: 0.5238, nTest: 273 },
    { validationAccuracy: 0.5349, nValidation: 86, testAccuracy: 0.5032, nTest: 469 },
  ]);
  assert.ok(close(gate.pooled.validationAccuracy, (0.45 * 40 + 0.5349 * 86) / 126));
  assert.ok(close(gate.pooled.testAccuracy, (0.5238 * 273 + 0.5032 * 469) / 742));
  assert.equal(gate.pooled.efficiency, null);
  assert.ok(close(gate.pooled.minimumEdge!, 1 / Math.sqrt(126)));
  assert.deepEqual(gate.folds.map((f) => f.efficiency), [null, null]);
  assert.equal(gate.failingFolds, 2);
  assert.match(gate.warning!, /^walk-forward efficiency undefined: .*within 2 standard errors/);
});

Deno.test("efficiencyGate: a passing pooled WFE still warns when most folds fail on their own", () => {
  // Fold 1: edge 0.10 on 400 rows (threshold 0.05), WFE 0.08 / 0.10 = 0.8. Folds 2 and 3: edges 0.02 and 0.03 on 100
  // rows (threshold 0.1) are noise. Pooled tail (240 + 52 + 53) / 600 = 0.575, edge 0.075 > 1/√600 ≈ 0.0408;
  // pooled test (0.58 + 0.54 + 0.53) / 3 = 0.55; WFE 0.05 / 0.075 = 0.667 ≥ 0.5 — but 2 of 3 folds fail.
  const gate = efficiencyGate([
    { validationAccuracy: 0.6, nValidation: 400, testAccuracy: 0.58, nTest: 1000 },
    { validationAccuracy: 0.52, nValidation: 100, testAccuracy: 0.54, nTest: 1000 },
    { validationAccuracy: 0.53, nValidation: 100, testAccuracy: 0.53, nTest: 1000 },
  ]);
  assert.ok(close(gate.pooled.efficiency!, 0.05 / 0.075, 1e-9));
  assert.ok(gate.pooled.efficiency! >= WFE_THRESHOLD);
  assert.ok(close(gate.folds[0].efficiency!, 0.8, 1e-9));
  assert.equal(gate.failingFolds, 2);
  assert.equal(
    gate.warning,
    "walk-forward efficiency 0.67 pooled, but 2 of 3 folds are undefined or below 0.5 (fold 2 undefined, fold 3 " +
      "undefined): the pooled value does not show an edge that survives fold by fold",
  );
  // With fold 3 passing too, only a minority fails: no warning.
  const most = efficiencyGate([
    { validationAccuracy: 0.6, nValidation: 400, testAccuracy: 0.58, nTest: 1000 },
    { validationAccuracy: 0.52, nValidation: 100, testAccuracy: 0.54, nTest: 1000 },
    { validationAccuracy: 0.62, nValidation: 400, testAccuracy: 0.6, nTest: 1000 },
  ]);
  assert.equal(most.failingFolds, 1);
  assert.equal(most.warning, undefined);
});

Deno.test("efficiencyGate property: when every fold fails, the run is always warned", () => {
  const fold = fc.record({
    validationAccuracy: fc.double({ min: 0.3, max: 0.7, noNaN: true }),
    nValidation: fc.integer({ min: 1, max: 5000 }),
    testAccuracy: fc.double({ min: 0.3, max: 0.7, noNaN: true }),
    nTest: fc.integer({ min: 1, max: 5000 }),
  });
  fc.assert(
    fc.property(fc.array(fold, { minLength: 1, maxLength: 8 }), (folds) => {
      // Independent check of "fails": edge within 1/√n (or half a point), or under half of it survives.
      const fails = (f: typeof folds[number]) => {
        const edge = f.validationAccuracy - 0.5;
        if (!(edge > Math.max(0.005, 1 / Math.sqrt(f.nValidation)))) return true;
        return (f.testAccuracy - 0.5) / edge < WFE_THRESHOLD;
      };
      fc.pre(folds.every(fails));
      const gate = efficiencyGate(folds);
      return gate.warning !== undefined && gate.failingFolds === folds.length;
    }),
    { numRuns: 300, seed: 11 },
  );
});

// ---------------------------------------------------------------------------------------------------------------
// Previous-period-sign baseline with symbols starting inside a test window

Deno.test("previousSignOnKnownRows: rows without a previous return are left out and counted", () => {
  // Known rows 0, 2, 3: calls up, down, up against outcomes up, up, up → 2 of 3.
  const r = previousSignOnKnownRows(
    Float64Array.of(0.01, -0.02, 0.03, 0.01, 0.02),
    Float64Array.of(0.5, NaN, -0.1, 0.2, Infinity),
  );
  assert.deepEqual(r, { accuracy: 2 / 3, rows: 3, excluded: 2 });
  assert.deepEqual(previousSignOnKnownRows(Float64Array.of(0.1), Float64Array.of(NaN)), {
    accuracy: NaN,
    rows: 0,
    excluded: 1,
  });
});

/** Writes a 4-symbol planted market whose SYN03 and SYN02 start late (their last 80 and 150 days only). */
async function raggedMarket(dir: string): Promise<void> {
  const m = syntheticMarket({ symbols: 4, days: 400, mode: "planted", seed: 5 });
  await writePanelCsv(m.panel, dir);
  for (const [s, keep] of [["SYN03", 80], ["SYN02", 150]] as const) {
    const lines = (await Deno.readTextFile(join(dir, `${s}.csv`))).trim().split("\n");
    await Deno.writeTextFile(join(dir, `${s}.csv`), [lines[0], ...lines.slice(-keep)].join("\n") + "\n");
  }
}

/** date → adj_close per symbol, read straight from the CSV files. */
async function adjCloses(dir: string, symbols: string[]): Promise<Map<string, Map<string, number>>> {
  const out = new Map<string, Map<string, number>>();
  for (const s of symbols) {
    const [head, ...rows] = (await Deno.readTextFile(join(dir, `${s}.csv`))).trim().split("\n");
    const cols = head.split(",");
    const d = cols.indexOf("date"), a = cols.indexOf("adj_close");
    out.set(s, new Map(rows.map((r) => r.split(",")).map((c) => [c[d], Number(c[a])])));
  }
  return out;
}

Deno.test("pipeline: symbols listed inside a test window no longer crash the previous-sign baseline", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await raggedMarket(dir);
    const r = await runPipeline({
      data: { kind: "files", path: dir },
      folds: 2,
      model: { numBoostRound: 20, earlyStoppingRounds: 5 },
    });
    // Recompute each fold's baseline from the price files: the previous 1-day return is known for every row except a
    // symbol's first date, which has no earlier close.
    const prices = await adjCloses(dir, r.symbols);
    let k = 0, excludedTotal = 0;
    for (const f of r.folds) {
      let hits = 0, rows = 0, excluded = 0;
      for (let i = k; i < k + f.nTest; i++) {
        const series = prices.get(r.predictions.symbols[i])!;
        const dates = [...series.keys()].sort();
        const at = dates.indexOf(r.predictions.dates[i]);
        if (at === 0) {
          excluded++;
          continue;
        }
        const prev = Math.log(series.get(dates[at])! / series.get(dates[at - 1])!);
        rows++;
        if ((prev > 0) === (r.predictions.target[i] > 0)) hits++;
      }
      const report = f.fitReport.previousSignBaseline as { rows: number; excluded: number };
      assert.deepEqual(report, { rows, excluded }, `fold ${f.index}`);
      assert.ok(close(f.baselines.previousSign, hits / rows, 1e-9), `fold ${f.index}: ${f.baselines.previousSign}`);
      excludedTotal += excluded;
      k += f.nTest;
    }
    // The rows left out are the first rows of the symbols that start inside a test window (SYN03, maybe SYN02).
    const starts = [...prices.values()].map((series) => [...series.keys()].sort()[0]);
    const inTest = (d: string) => r.folds.some((f) => f.fold.test.some((w) => d >= w.start && d <= w.end));
    assert.ok(inTest([...prices.get("SYN03")!.keys()].sort()[0]));
    assert.equal(excludedTotal, starts.filter(inTest).length);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

// ---------------------------------------------------------------------------------------------------------------
// An extra column with no finite value in a fold's fitting rows

/**
 * A 4-symbol planted market with an extra column `ext`: NaN for each symbol's first 200 days, then `later(i)`.
 */
async function lateColumnMarket(dir: string, later: (i: number) => number): Promise<void> {
  const m = syntheticMarket({ symbols: 4, days: 400, mode: "planted", seed: 5 });
  await writePanelCsv(m.panel, dir);
  for (const s of m.panel.symbols) {
    const lines = (await Deno.readTextFile(join(dir, `${s}.csv`))).trim().split("\n");
    const out = [lines[0] + ",ext", ...lines.slice(1).map((l, i) => `${l},${i < 200 ? "NaN" : String(later(i))}`)];
    await Deno.writeTextFile(join(dir, `${s}.csv`), out.join("\n") + "\n");
  }
}

Deno.test("pipeline (MLP): a column empty in a fold's fitting rows is 0 on every split of that fold", async () => {
  const dirA = await Deno.makeTempDir();
  const dirB = await Deno.makeTempDir();
  try {
    // The same market twice; after day 200 the column is in the thousands in one and tiny in the other.
    let x = 1;
    const rnd = () => (x = (x * 16807) % 2147483647) / 2147483647;
    await lateColumnMarket(dirA, () => 5000 + 1000 * rnd());
    await lateColumnMarket(dirB, (i) => -0.001 * i);
    const model = { kind: "mlp" as const, hidden: [8], epochs: 3, batchSize: 64 };
    const a = await runPipeline({ data: { kind: "files", path: dirA }, folds: 2, model });
    const b = await runPipeline({ data: { kind: "files", path: dirB }, folds: 2, model });

    const f0 = a.folds[0];
    // Fold 1's fitting rows end before day 200 (each symbol's CSV row 200 is its 201st date).
    const day200 = (await Deno.readTextFile(join(dirA, "SYN00.csv"))).trim().split("\n")[201].split(",")[0];
    assert.ok(f0.fold.train.at(-1)!.end < day200);
    // Finite values outside the fitting rows that the fold did not use: tail and test rows dated day 200 or later.
    const tailTest = [...f0.fold.validation!, ...f0.fold.test];
    const inFold = (d: string) => tailTest.some((w) => d >= w.start && d <= w.end);
    let expected = 0;
    for (const s of a.symbols) {
      const rows = (await Deno.readTextFile(join(dirA, `${s}.csv`))).trim().split("\n").slice(1);
      // The dataset drops each symbol's last row (its 1-day target is unknown).
      rows.slice(200, -1).forEach((l) => expected += inFold(l.split(",")[0]) ? 1 : 0);
    }
    assert.deepEqual(f0.fitReport.emptyColumns, {
      columns: ["ext"],
      policy: "no finite value in the fitting rows: set to 0 on fitting, tail and test rows",
      overwritten: expected,
    });
    assert.ok(
      a.warnings.some((w) => w.startsWith("fold 1: ext has no finite value in the fitting rows")),
      a.warnings.join("\n"),
    );
    // The tail and test inputs were audited after scaling, and the column is no longer unscaled there.
    assert.doesNotMatch(String(f0.fitReport.inputScaleTail), /unscaled/);
    assert.doesNotMatch(String(f0.fitReport.inputScaleTest), /unscaled/);
    // Whatever the column holds later, fold 1 sees zeros everywhere: identical predictions in both markets.
    assert.deepEqual(
      Array.from(a.predictions.probability.subarray(0, f0.nTest)),
      Array.from(b.predictions.probability.subarray(0, b.folds[0].nTest)),
    );
    // Fold 2 fits on rows where the column has values: it is standardized, not blanked.
    assert.deepEqual((a.folds[1].fitReport.emptyColumns as { columns: string[] }).columns, []);
  } finally {
    await Deno.remove(dirA, { recursive: true });
    await Deno.remove(dirB, { recursive: true });
  }
});

// ---------------------------------------------------------------------------------------------------------------
// Model settings

Deno.test("resolveModel refuses unknown settings and settings of another model kind, naming the allowed ones", () => {
  const refuses = (input: unknown, message: RegExp) =>
    assert.throws(
      () => resolveModel(input as Parameters<typeof resolveModel>[0]),
      (e) => e instanceof ConfigError && message.test(e.message),
    );
  refuses(
    { epochs: 5 },
    /^model\.epochs is a setting of mlp and lstm, not of xgboost; xgboost accepts: kind, params, numBoostRound, earlyStoppingRounds$/,
  );
  refuses(
    { kind: "mlp", hiden: [4] },
    /^model\.hiden is not a model setting; mlp accepts: kind, epochs, batchSize, learningRate, patience, clipNorm, backend, hidden$/,
  );
  refuses({ kind: "mlp", timesteps: 30 }, /^model\.timesteps is a setting of lstm, not of mlp/);
  refuses({ kind: "lstm", hidden: [4] }, /^model\.hidden is a setting of mlp, not of lstm/);
  refuses({ kind: "xgboost", max_depth: 3 }, /^model\.max_depth is not a model setting; xgboost accepts/);
  // Through the run configuration too.
  assert.throws(() => resolveConfig({ model: { kind: "lstm", unit: 4 } as never }), ConfigError);

  // Every listed setting is accepted; an undefined one takes its default.
  assert.deepEqual(MODEL_SETTINGS.mlp.filter((k) => MODEL_SETTINGS.lstm.includes(k)).length, 6);
  const mlp = resolveModel({ kind: "mlp", epochs: undefined, hidden: [4] });
  assert.equal(mlp.kind === "mlp" && mlp.epochs, 20);
  assert.deepEqual(mlp.kind === "mlp" && mlp.hidden, [4]);
  const lstm = resolveModel({ kind: "lstm", timesteps: 5, units: 4, epochs: 2 });
  assert.equal(lstm.kind === "lstm" && lstm.timesteps, 5);
  const xgb = resolveModel({ numBoostRound: 10, earlyStoppingRounds: 2, params: { max_depth: 2 } });
  assert.equal(xgb.kind === "xgboost" && xgb.params.max_depth, 2);
});

// ---------------------------------------------------------------------------------------------------------------
// The configuration gate before the run is created

Deno.test("pipeline: the configuration stage runs before the run is created, and its refusals write nothing", async () => {
  const dir = await Deno.makeTempDir();
  const store = openStore(join(dir, "runs.db"));
  try {
    const events: string[] = [];
    const spied = new Proxy(store, {
      get(target, key, receiver) {
        const value = Reflect.get(target, key, receiver);
        if (key !== "createRun") return typeof value === "function" ? value.bind(target) : value;
        return (...args: Parameters<Store["createRun"]>) => {
          events.push("createRun");
          return target.createRun(...args);
        };
      },
    });
    const onProgress = (p: PipelineProgress) => events.push(p.stage);
    const data = { kind: "synthetic" as const, symbols: 2, days: 300, mode: "random-walk" as const };
    await runPipeline({ data, folds: 2, model: { numBoostRound: 10, earlyStoppingRounds: 3 } }, {
      store: spied,
      onProgress,
    });
    assert.ok(events.indexOf("configuration") >= 0, events.join(", "));
    assert.ok(events.indexOf("configuration") < events.indexOf("createRun"), events.join(", "));

    // 299 dates cannot hold 400 walk-forward folds: the splitter refuses at the configuration stage, and no run
    // (not even a failed one) is stored.
    const before = (await store.listRuns({ limit: 10 })).length;
    await assert.rejects(
      runPipeline({ data, folds: 400, model: { numBoostRound: 10, earlyStoppingRounds: 3 } }, { store: spied }),
      ConfigError,
    );
    assert.equal((await store.listRuns({ limit: 10 })).length, before);
  } finally {
    await store.close();
    await Deno.remove(dir, { recursive: true });
  }
});
