/** Stacking: OOF causality (the meta-learner sees only predictions from earlier periods), learning, save/load. */
import assert from "node:assert/strict";
import fc from "fast-check";
import { metaFeatures, StackingModel } from "../../lib/models/stacking/stacking.ts";
import { appendRegimeColumns, causalRegimeFeatures } from "../../lib/models/stacking/regime.ts";
import { ElasticNet, Ridge } from "../../lib/models/linear/linear.ts";
import { XGBoostModel } from "../../lib/models/xgboost/model.ts";
import type { Matrix } from "../../lib/data/matrix.ts";
import type { FitOptions, FitReport, Model, Target } from "../../lib/models/model.ts";
import { ConfigError } from "../../lib/errors.ts";
import { lcg, normal } from "./_synthetic.ts";

/** A panel of `symbols` rows per date: column 0 = date index t, then features; y = x1 + noise. */
function panel(dates: number, symbols: number, features: number, seed: number) {
  const r = lcg(seed), n = normal(r);
  const rows = dates * symbols, cols = 1 + features;
  const data = new Float32Array(rows * cols), y = new Float64Array(rows), rowDates: string[] = [];
  const day0 = Date.UTC(2020, 0, 1);
  for (let t = 0; t < dates; t++) {
    const date = new Date(day0 + t * 86_400_000).toISOString().slice(0, 10);
    for (let s = 0; s < symbols; s++) {
      const i = t * symbols + s;
      data[i * cols] = t;
      for (let j = 1; j < cols; j++) data[i * cols + j] = n();
      y[i] = data[i * cols + 1] + 0.5 * data[i * cols + 2] + 0.3 * n();
      rowDates.push(date);
    }
  }
  const columns = ["t", ...Array.from({ length: features }, (_, j) => `x${j + 1}`)];
  return { X: { data, rows, cols, columns } as Matrix, y, dates: rowDates };
}

/** What every spy model shares: an instant fit report, zero predictions, nothing to save, described by its kind. */
abstract class SpyModel implements Model {
  abstract readonly kind: string;
  abstract fit(X: Matrix, y: Target, opts?: FitOptions): Promise<FitReport>;
  /** The report of a fit that took no time and has nothing to note. */
  protected fitted(): Promise<FitReport> {
    return Promise.resolve({ model: this.kind, seconds: 0, notes: [] });
  }
  predict(X: Matrix): Float64Array {
    return new Float64Array(X.rows);
  }
  save(): Promise<void> {
    return Promise.resolve();
  }
  describe() {
    return { kind: this.kind };
  }
}

/** Base model spy: remembers the latest date index it was trained on and predicts exactly that number. */
class LatestDateSpy extends SpyModel {
  readonly kind = "spy";
  maxT = -1;
  static fits: Array<{ maxT: number; predictedMinT: number }> = [];
  fit(X: Matrix, _y: Target): Promise<FitReport> {
    for (let i = 0; i < X.rows; i++) this.maxT = Math.max(this.maxT, X.data[i * X.cols]);
    return this.fitted();
  }
  override predict(X: Matrix): Float64Array {
    let minT = Infinity;
    for (let i = 0; i < X.rows; i++) minT = Math.min(minT, X.data[i * X.cols]);
    LatestDateSpy.fits.push({ maxT: this.maxT, predictedMinT: minT });
    return new Float64Array(X.rows).fill(this.maxT);
  }
}

/** Meta-learner spy: records the meta-feature rows it is fitted on. */
class MetaSpy extends SpyModel {
  readonly kind = "metaspy";
  seen: Matrix | null = null;
  weights: Float32Array | undefined;
  fit(X: Matrix, _y: Target, o?: FitOptions): Promise<FitReport> {
    this.seen = X;
    this.weights = o?.sampleWeight;
    return this.fitted();
  }
}

Deno.test("stacking: the meta-learner only sees OOF predictions of models trained on earlier, purged periods", async () => {
  const { X, y, dates } = panel(120, 3, 2, 5);
  const purge = 3;
  const meta = new MetaSpy();
  LatestDateSpy.fits = [];
  const stack = new StackingModel({
    baseModels: [{ name: "spy", create: () => new LatestDateSpy() }],
    meta: () => meta,
    folds: 4,
    horizon: 2,
    purge,
    regimeColumns: ["t"], // the row's date index reaches the meta-learner as a "regime" column
  });
  const rep = await stack.fit(X, y, { dates });
  const seen = meta.seen!;
  assert.deepEqual(rep.details!.metaColumns, ["pred_spy", "agreement", "dispersion", "t"]);
  // Every meta row: its date t is more than `purge` dates after the last date its base prediction was trained on.
  for (let i = 0; i < seen.rows; i++) {
    const producedBy = seen.data[i * seen.cols], t = seen.data[i * seen.cols + 3];
    assert.ok(producedBy >= 0 && t - producedBy > purge, `row ${i}: t=${t}, base trained up to ${producedBy}`);
  }
  // Rows of the first training window never reach the meta-learner; all later rows do, exactly once.
  const ts = Array.from({ length: seen.rows }, (_, i) => seen.data[i * seen.cols + 3]);
  const firstTest = Math.min(...ts);
  assert.equal(seen.rows, (120 - firstTest) * 3);
  assert.ok(firstTest > purge);
  // And every OOF prediction call was made on dates after the model's training dates.
  const oofCalls = LatestDateSpy.fits.slice(0, 4);
  for (const c of oofCalls) assert.ok(c.predictedMinT - c.maxT > purge);
});

Deno.test("stacking: ElasticNet(positive) puts weight on the informative base model; save → load is identical", async () => {
  const { X, y, dates } = panel(150, 4, 3, 9);
  const good = () => new Ridge({ alpha: 1 });
  // A base model that only sees noise: drop the informative columns by training on x3 alone.
  class NoiseOnly implements Model {
    readonly kind = "noise-only";
    constructor(readonly inner = new Ridge({ alpha: 1 })) {}
    #sub(X: Matrix): Matrix {
      const data = Float32Array.from({ length: X.rows * X.cols }, (_, k) => (k % X.cols === 3 ? X.data[k] : 0));
      return { data, rows: X.rows, cols: X.cols };
    }
    fit(X: Matrix, y: Target) {
      return this.inner.fit(this.#sub(X), y);
    }
    predict(X: Matrix) {
      return this.inner.predict(this.#sub(X));
    }
    save(p: string) {
      return this.inner.save(p);
    }
    describe() {
      return this.inner.describe();
    }
  }
  const stack = new StackingModel({
    baseModels: [{ name: "good", create: good }, { name: "noise", create: () => new NoiseOnly() }],
    folds: 4,
    threshold: 0,
  });
  await stack.fit(X, y, { dates });
  const meta = stack.describe().meta as { coef: number[] };
  assert.ok(meta.coef.every((c) => c >= 0), `non-negative weights ${meta.coef}`);
  assert.ok(meta.coef[0] > 0.5 && meta.coef[0] > 5 * meta.coef[1], `weights ${meta.coef}`);
  const p = stack.predict(X);
  const dir = await Deno.makeTempDir();
  await stack.save(dir);
  const back = await StackingModel.load(dir, {
    "noise-only": async (path) => new NoiseOnly(await Ridge.load(path)),
  });
  assert.equal(back.describe().metaKind, "elasticnet");
  assert.deepEqual(back.predict(X), p);
  await Deno.remove(dir, { recursive: true });
  assert.equal(p.length, X.rows);
});

Deno.test("stacking: one XGBoost base model with an XGBoost meta-learner; save → load gives identical predictions", async () => {
  const { X, y, dates } = panel(100, 4, 3, 13);
  const label = Float64Array.from(y, (v) => (v > 0 ? 1 : 0));
  const regime = causalRegimeFeatures(
    [...new Set(dates)],
    Array.from({ length: 100 }, (_, t) => Math.sin(t / 7) * 0.01),
    { volWindow: 5, rankWindow: 30, trendWindow: 10 },
  );
  const Xr = appendRegimeColumns(X, dates, regime);
  const xgb = () =>
    new XGBoostModel({ params: { objective: "binary:logistic", max_depth: 2, nthread: 1 }, numBoostRound: 20 });
  const stack = new StackingModel({
    baseModels: [{ name: "xgb", create: xgb }],
    meta: "xgboost",
    metaOptions: { params: { objective: "binary:logistic", max_depth: 2, nthread: 1 }, numBoostRound: 10 },
    regimeColumns: ["regime_vol_pct", "regime_trend"],
  });
  await stack.fit(Xr, label, { dates });
  const p = stack.predict(Xr);
  assert.ok(p.every((v) => v > 0 && v < 1));
  let ok = 0;
  for (let i = 0; i < label.length; i++) if ((p[i] > 0.5 ? 1 : 0) === label[i]) ok++;
  assert.ok(ok / label.length > 0.75, `in-sample accuracy ${ok / label.length}`);
  const dir = await Deno.makeTempDir();
  await stack.save(dir);
  const back = await StackingModel.load(dir);
  assert.deepEqual(back.predict(Xr), p);
  back.dispose();
  stack.dispose();
  await Deno.remove(dir, { recursive: true });
});

Deno.test("stacking: fit without row dates or with an unknown regime column is refused", async () => {
  const { X, y, dates } = panel(30, 2, 2, 1);
  const s = new StackingModel({ baseModels: [{ name: "en", create: () => new ElasticNet() }] });
  await assert.rejects(() => s.fit(X, y), ConfigError);
  const bad = new StackingModel({
    baseModels: [{ name: "en", create: () => new ElasticNet() }],
    regimeColumns: ["nope"],
  });
  await assert.rejects(() => bad.fit(X, y, { dates }), ConfigError);
  assert.throws(() => new StackingModel({ baseModels: [] }), ConfigError);
});

Deno.test("stacking: agreement and dispersion of base predictions", () => {
  const X: Matrix = { data: new Float32Array(2), rows: 2, cols: 1 };
  const m = metaFeatures(
    [Float64Array.from([0.7, 0.2]), Float64Array.from([0.6, 0.9]), Float64Array.from([0.4, 0.3])],
    X,
    [],
    0.5,
  );
  // Row 0: mean 0.5667 > 0.5; 2 of 3 above → 2/3. Population sd of (0.7, 0.6, 0.4).
  assert.ok(Math.abs(m.data[3] - 2 / 3) < 1e-6);
  const mean0 = (0.7 + 0.6 + 0.4) / 3;
  assert.ok(Math.abs(m.data[4] - Math.sqrt(((0.7 - mean0) ** 2 + (0.6 - mean0) ** 2 + (0.4 - mean0) ** 2) / 3)) < 1e-6);
  // Row 1: mean 0.4667 < 0.5; 2 of 3 below → 2/3.
  assert.ok(Math.abs(m.data[5 + 3] - 2 / 3) < 1e-6);
});

Deno.test("regime: features at date t are unchanged when later history is cut off (causal)", () => {
  fc.assert(
    fc.property(fc.integer({ min: 30, max: 120 }), fc.integer({ min: 1, max: 1000 }), (cut, seed) => {
      const r = normal(lcg(seed));
      const n = 150;
      const dates = Array.from(
        { length: n },
        (_, t) => new Date(Date.UTC(2021, 0, 1) + t * 86_400_000).toISOString().slice(0, 10),
      );
      const rets = Array.from({ length: n }, () => 0.01 * r());
      const opts = { volWindow: 10, rankWindow: 40, trendWindow: 15 };
      const full = causalRegimeFeatures(dates, rets, opts);
      const part = causalRegimeFeatures(dates.slice(0, cut), rets.slice(0, cut), opts);
      for (let t = 0; t < cut; t++) {
        assert.ok(Object.is(full.volPercentile[t], part.volPercentile[t]) && Object.is(full.trend[t], part.trend[t]));
      }
    }),
    { numRuns: 30 },
  );
  // Hand check: trend is the sum of the last window's returns; the percentile of a record high volatility is 1.
  const d = ["2021-01-01", "2021-01-02", "2021-01-03", "2021-01-04"];
  const f = causalRegimeFeatures(d, [0.01, -0.01, 0.02, 0.1], { volWindow: 2, rankWindow: 10, trendWindow: 2 });
  assert.ok(Math.abs(f.trend[3] - 0.12) < 1e-12 && Number.isNaN(f.trend[0]));
  assert.equal(f.volPercentile[3], 1);
});

/** Base model spy: records the date range (column 0) of its fitting rows, of its validation rows, and its weights. */
class WindowSpy extends SpyModel {
  readonly kind = "window-spy";
  static calls: Array<{ fit: [number, number]; val?: [number, number]; weighted: boolean; valWeighted: boolean }> = [];
  fit(X: Matrix, _y: Target, opts: FitOptions = {}): Promise<FitReport> {
    const span = (M: Matrix): [number, number] => {
      let lo = Infinity, hi = -Infinity;
      for (let i = 0; i < M.rows; i++) {
        lo = Math.min(lo, M.data[i * M.cols]);
        hi = Math.max(hi, M.data[i * M.cols]);
      }
      return [lo, hi];
    };
    WindowSpy.calls.push({
      fit: span(X),
      ...(opts.validation ? { val: span(opts.validation.X) } : {}),
      weighted: opts.sampleWeight?.length === X.rows,
      valWeighted: opts.validation?.sampleWeight?.length === opts.validation?.X.rows,
    });
    return this.fitted();
  }
}

Deno.test("stacking: a base model's validation tail is carved the same way in every OOF fold and in the final refit", async () => {
  const { X, y, dates } = panel(120, 3, 2, 5);
  WindowSpy.calls = [];
  const purge = 3;
  const stack = new StackingModel({
    baseModels: [{ name: "es", create: () => new WindowSpy(), validation: 0.25 }],
    meta: () => new MetaSpy(),
    folds: 4,
    horizon: 2,
    purge,
  });
  const w = Float32Array.from({ length: X.rows }, (_, i) => 1 + (i % 4));
  await stack.fit(X, y, { dates, sampleWeight: w });
  // 120 dates, 4 folds: test windows of 24 dates from date 24; fold k trains on [0, 24k + 21) (purge 3 before the
  // test window). Tail of round(0.25 · n) dates, 3 purged dates before it. Refit: all 120 dates.
  const expected = [21, 45, 69, 93, 120].map((n) => {
    const nVal = Math.round(0.25 * n);
    return { fit: [0, n - nVal - purge - 1], val: [n - nVal, n - 1], weighted: true, valWeighted: true };
  });
  assert.deepEqual(WindowSpy.calls, expected);
});

Deno.test("stacking: base models without a validation tail get no validation set anywhere, even when fit is given one", async () => {
  const { X, y, dates } = panel(60, 2, 2, 3);
  WindowSpy.calls = [];
  const meta = new MetaSpy();
  const stack = new StackingModel({
    baseModels: [{ name: "plain", create: () => new WindowSpy() }],
    meta: () => meta,
    folds: 3,
  });
  const rep = await stack.fit(X, y, { dates, validation: { X, y } });
  assert.equal(WindowSpy.calls.length, 4);
  assert.ok(WindowSpy.calls.every((c) => c.val === undefined && !c.weighted));
  assert.deepEqual(WindowSpy.calls.at(-1)!.fit, [0, 59], "the refit sees every date");
  assert.ok(rep.notes.some((n) => /validation set passed to StackingModel\.fit was not used/.test(n)));
  assert.equal(meta.weights, undefined);
});

Deno.test("stacking: sample weights reach the meta-learner, row for row on the OOF rows", async () => {
  const { X, y, dates } = panel(60, 2, 2, 4);
  const meta = new MetaSpy();
  const stack = new StackingModel({
    baseModels: [{ name: "ridge", create: () => new Ridge({ alpha: 1 }) }],
    meta: () => meta,
    folds: 3,
    regimeColumns: ["t"],
  });
  // Weight of a row: 1 + t / 8 + symbol / 2, recoverable from the meta row's date t and its position within the date.
  const w = Float32Array.from({ length: X.rows }, (_, i) => 1 + Math.floor(i / 2) / 8 + (i % 2) / 2);
  await stack.fit(X, y, { dates, sampleWeight: w });
  const seen = meta.seen!, weights = meta.weights!;
  assert.equal(weights.length, seen.rows);
  for (let i = 0; i < seen.rows; i++) {
    const t = seen.data[i * seen.cols + 3], symbol = i % 2; // OOF rows keep date order, symbols within a date
    assert.equal(weights[i], Math.fround(1 + t / 8 + symbol / 2), `meta row ${i}`);
  }
});

Deno.test("stacking: an early-stopping XGBoost base model stops on its validation tail in the OOF folds and the refit", async () => {
  const { X, y, dates } = panel(80, 3, 3, 8);
  const label = Float64Array.from(y, (v) => (v > 0 ? 1 : 0));
  const stack = new StackingModel({
    baseModels: [{
      name: "xgb",
      create: () =>
        new XGBoostModel({
          params: { objective: "binary:logistic", max_depth: 2, eta: 0.5, nthread: 1 },
          numBoostRound: 200,
          earlyStoppingRounds: 3,
        }),
      validation: 0.2,
    }],
    folds: 3,
  });
  const rep = await stack.fit(X, label, { dates });
  assert.ok(!rep.notes.some((n) => /ignored: no validation set/.test(n)), rep.notes.join("; "));
  // The deployed base model stopped early (on its tail) instead of running all 200 rounds.
  const dir = await Deno.makeTempDir();
  try {
    await stack.save(dir);
    const refit = await XGBoostModel.load(`${dir}/base-0.json`);
    assert.ok(refit.bestIteration! < 200, `best iteration ${refit.bestIteration}`);
    refit.dispose();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  assert.equal(stack.predict(X).length, X.rows);
  stack.dispose();
});

/** Base model spy: counts the rows whose sample weight is not 1 + the row's own id (column 1) in every fit. */
class OwnWeightSpy extends SpyModel {
  readonly kind = "ownweight";
  static fits: Array<{ rows: number; misaligned: number }> = [];
  fit(X: Matrix, _y: Target, o?: FitOptions): Promise<FitReport> {
    const w = o!.sampleWeight!;
    let misaligned = 0;
    for (let i = 0; i < X.rows; i++) if (w[i] !== Math.fround(1 + X.data[i * X.cols + 1])) misaligned++;
    OwnWeightSpy.fits.push({ rows: X.rows, misaligned });
    return this.fitted();
  }
}

Deno.test("stacking: every row keeps its own sample weight in every base fit, also when X is not in date order", async () => {
  // 2 symbols × 40 dates in symbol-then-date order (all of symbol 0's dates, then symbol 1's); column 1 = row id,
  // weight = 1 + row id, so a fit sees its own weights exactly when w[i] = 1 + X[i, 1].
  const S = 2, T = 40, rows = S * T, cols = 2;
  const data = new Float32Array(rows * cols), dates: string[] = [];
  for (let s = 0; s < S; s++) {
    for (let t = 0; t < T; t++) {
      const i = s * T + t;
      data[i * cols] = t;
      data[i * cols + 1] = i;
      dates.push(new Date(Date.UTC(2020, 0, 1 + t)).toISOString().slice(0, 10));
    }
  }
  const X: Matrix = { data, rows, cols, columns: ["t", "row"] };
  const y = Float64Array.from({ length: rows }, (_, i) => Math.sin(i));
  const w = Float32Array.from({ length: rows }, (_, i) => 1 + i);
  for (const validation of [undefined, 0.2]) {
    OwnWeightSpy.fits = [];
    const stack = new StackingModel({
      baseModels: [{ name: "spy", create: () => new OwnWeightSpy(), validation }],
      meta: () => new MetaSpy(),
      folds: 3,
    });
    await stack.fit(X, y, { dates, sampleWeight: w });
    assert.equal(OwnWeightSpy.fits.length, 4, "3 OOF fits and the final refit");
    if (validation === undefined) assert.equal(OwnWeightSpy.fits.at(-1)!.rows, rows, "the refit sees every row");
    assert.deepEqual(OwnWeightSpy.fits.map((f) => f.misaligned), [0, 0, 0, 0], `validation ${validation}`);
  }
});

Deno.test("stacking: hundreds of thousands of OOF rows per fold do not overflow the call stack", async () => {
  // 8 dates × 100 000 rows: 2 folds of 3 test dates = 300 000 OOF rows each (spreading that many arguments into
  // push() throws RangeError). The spies keep it cheap: the base predicts each row's date index t.
  const D = 8, per = 100_000, rows = D * per;
  const data = new Float32Array(rows), dates: string[] = [];
  for (let t = 0; t < D; t++) {
    const date = new Date(Date.UTC(2020, 0, 1 + t)).toISOString().slice(0, 10);
    for (let j = 0; j < per; j++) {
      data[t * per + j] = t;
      dates.push(date);
    }
  }
  const X: Matrix = { data, rows, cols: 1, columns: ["t"] };
  class DateEcho extends SpyModel {
    readonly kind = "echo";
    fit(): Promise<FitReport> {
      return this.fitted();
    }
    override predict(Xp: Matrix): Float64Array {
      return Float64Array.from(Xp.data);
    }
  }
  const meta = new MetaSpy();
  const stack = new StackingModel({
    baseModels: [{ name: "echo", create: () => new DateEcho() }],
    meta: () => meta,
    folds: 2,
  });
  const rep = await stack.fit(X, new Float64Array(rows), { dates });
  const seen = meta.seen!;
  assert.equal(rep.details!.oofRows, seen.rows);
  assert.ok(seen.rows >= 400_000, `${seen.rows} OOF rows`);
  // Meta column 0 is the base prediction = the row's date index: dates ascend, every date has `per` rows.
  for (let i = 1; i < seen.rows; i++) assert.ok(seen.data[i * seen.cols] >= seen.data[(i - 1) * seen.cols]);
  assert.equal(seen.data[(seen.rows - 1) * seen.cols], D - 1);
  assert.equal(seen.data[0] + seen.rows / per, D);
});
