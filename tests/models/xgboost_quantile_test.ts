/**
 * Training on XGBoost's QuantileDMatrix (`DMatrixOptions.maxBin`, what the boosting loop uses with `hist`) against
 * training on a plain DMatrix of the same rows: the trees must be the same, bit for bit, and so must predictions read
 * from either matrix — with missing values, tied values, row weights, row and column subsampling, and fewer bins than
 * the default. The plain DMatrix is the reference: it is what Python's `xgb.DMatrix` builds and what candor trained on
 * before.
 */
import assert from "node:assert/strict";
import { boost, quantileBins } from "../../lib/models/xgboost/boost.ts";
import { Booster, DMatrix, PredictType, quantileAvailable } from "../../lib/models/xgboost/booster.ts";
import { classification, lcg } from "./_synthetic.ts";

const { X, label } = classification(6000, 6, 23, 0.3, 0.1);
// Column 3 takes 11 values only: ties, fewer distinct values than bins.
for (let i = 0; i < X.rows; i++) X.data[i * X.cols + 3] = Math.round(X.data[i * X.cols + 3] * 10) / 10;
const rand = lcg(5);
const weight = Float32Array.from({ length: X.rows }, () => 0.2 + rand());

function params(maxBin?: number): Array<[string, string]> {
  return [
    ["objective", "binary:logistic"],
    ["tree_method", "hist"],
    ["max_depth", "4"],
    ["eta", "0.1"],
    ["subsample", "0.8"],
    ["colsample_bytree", "0.7"],
    ["nthread", "1"],
    ["seed", "3"],
    ...(maxBin === undefined ? [] : [["max_bin", String(maxBin)] as [string, string]]),
  ];
}

/** `rounds` rounds on `d` with `p`; the booster's JSON model and the booster. */
function train(d: DMatrix, p: Array<[string, string]>, rounds = 40): { json: string; booster: Booster } {
  const booster = Booster.create([d]);
  for (const [k, v] of p) booster.setParam(k, v);
  for (let i = 0; i < rounds; i++) booster.updateOneIter(i, d);
  return { json: new TextDecoder().decode(booster.toJSONBytes()), booster };
}

Deno.test({
  name: "QuantileDMatrix: the same trees as a plain DMatrix, with and without weights, at 256 and 32 bins",
  ignore: !quantileAvailable(),
  fn() {
    // At 32 bins this also shows the option reaches XGBoost: an index of other bins than the booster's max_bin only
    // draws a warning from XGBoost, which then trains on the index's bins — other trees.
    for (const w of [undefined, weight]) {
      for (const bins of [undefined, 32]) {
        const plain = new DMatrix(X, { label, weight: w, nthread: 1 });
        const quantile = new DMatrix(X, { label, weight: w, nthread: 1, maxBin: bins ?? 256 });
        const a = train(plain, params(bins));
        const b = train(quantile, params(bins));
        const what = `weights ${w ? "on" : "off"}, ${bins ?? 256} bins`;
        assert.equal(b.json, a.json, what);
        // Predictions read from the quantile index equal those read from the values, also for a prefix of rounds.
        for (const end of [0, 17]) {
          const fromPlain = a.booster.predictDMatrix(plain, PredictType.value, end).values;
          const fromQuantile = a.booster.predictDMatrix(quantile, PredictType.value, end).values;
          assert.deepEqual(fromQuantile, fromPlain, `${what}, rounds 0..${end || 40}`);
        }
        for (const h of [plain, quantile]) h.free();
        for (const t of [a, b]) t.booster.free();
      }
    }
  },
});

Deno.test({
  name: "boost: trains on the quantile index with hist; its training predictions equal the kept trees' on the values",
  ignore: !quantileAvailable(),
  async fn() {
    const rows = 4500;
    const fit = { rows, cols: X.cols, data: X.data.slice(0, rows * X.cols) };
    const tail = { rows: X.rows - rows, cols: X.cols, data: X.data.slice(rows * X.cols) };
    const out = await boost({
      X: fit,
      label: label.slice(0, rows),
      validation: { X: tail, label: label.slice(rows) },
      params: params(),
      rounds: 300,
      earlyStopping: 10,
      given: [],
      trainPredictions: true,
    });
    assert.ok(out.bestIteration < out.history.length, "early stopping cut rounds off (predictions of a prefix)");
    assert.deepEqual(out.trainPredictions, out.booster.predictDense(fit).values);
    // The same loop written out over a plain DMatrix keeps the same trees.
    const plain = new DMatrix(fit, { label: label.slice(0, rows), nthread: 1 });
    const ref = train(plain, params(), out.bestIteration);
    assert.equal(new TextDecoder().decode(out.booster.toJSONBytes()), ref.json);
    plain.free();
    ref.booster.free();
    out.booster.free();
  },
});

Deno.test("quantileBins: only hist trees on the CPU train on a quantile index, with the booster's max_bin", () => {
  const hist: Array<[string, string]> = [["tree_method", "hist"]];
  const expected = quantileAvailable() ? 256 : undefined;
  assert.equal(quantileBins(hist), expected);
  assert.equal(quantileBins([...hist, ["max_bin", "64"]]), quantileAvailable() ? 64 : undefined);
  assert.equal(quantileBins([...hist, ["booster", "dart"]]), expected);
  assert.equal(quantileBins([...hist, ["device", "cpu"]]), expected);
  for (
    const other of [
      [["tree_method", "approx"]],
      [["tree_method", "exact"]],
      [["tree_method", "gpu_hist"]],
      [...hist, ["booster", "gblinear"]],
      [...hist, ["updater", "refresh"]],
      [...hist, ["device", "cuda"]],
      [...hist, ["gpu_id", "0"]],
      [],
    ] as Array<Array<[string, string]>>
  ) assert.equal(quantileBins(other), undefined, JSON.stringify(other));
});

Deno.test({
  name: "QuantileDMatrix: a failure while handing over the batch is thrown as is, and the library still works",
  ignore: !quantileAvailable(),
  fn() {
    const bad = {
      length: X.rows,
      get 0(): number {
        throw new Error("unreadable label");
      },
    } as ArrayLike<number>;
    assert.throws(() => new DMatrix(X, { label: bad, maxBin: 256 }), /unreadable label/);
    const d = new DMatrix(X, { label, maxBin: 256 });
    assert.equal(d.rows, X.rows);
    d.free();
  },
});
