import assert from "node:assert/strict";
import { ConfigError } from "../../lib/errors.ts";
import { walkForwardSplits } from "../../lib/validation/walk_forward.ts";
import ref from "../fixtures/metrics/reference.json" with { type: "json" };

/** `n` consecutive calendar dates from 2020-01-01 (weekends included: the splitter only needs sorted unique dates). */
export function makeDates(n: number): string[] {
  const out: string[] = [];
  const t0 = Date.UTC(2020, 0, 1);
  for (let i = 0; i < n; i++) out.push(new Date(t0 + i * 86_400_000).toISOString().slice(0, 10));
  return out;
}

Deno.test("walkForwardSplits matches scikit-learn TimeSeriesSplit (gap = purge) index for index", () => {
  for (const c of ref.timeSeriesSplit) {
    const dates = makeDates(c.n);
    const folds = walkForwardSplits(dates, {
      folds: c.folds,
      horizon: c.gap,
      purge: c.gap,
      testSize: c.testSize ?? Math.floor(c.n / (c.folds + 1)), // TimeSeriesSplit default
      trainSize: c.maxTrainSize ?? undefined,
      mode: c.maxTrainSize === null ? "anchored" : "rolling",
    });
    assert.equal(folds.length, c.split.length, `n=${c.n}`);
    folds.forEach((f, i) => {
      assert.deepEqual(Array.from(f.trainIndices), c.split[i].train, `train, n=${c.n} fold ${i}`);
      assert.deepEqual(Array.from(f.testIndices), c.split[i].test, `test, n=${c.n} fold ${i}`);
    });
  }
});

Deno.test("walkForwardSplits refuses a purge shorter than the horizon", () => {
  const dates = makeDates(200);
  assert.throws(() => walkForwardSplits(dates, { folds: 5, horizon: 5, purge: 4 }), ConfigError);
  assert.throws(() => walkForwardSplits(dates, { folds: 5, horizon: 0 }), ConfigError);
  // Default purge is the horizon.
  const f = walkForwardSplits(dates, { folds: 5, horizon: 5 });
  assert.equal(f[0].purge, 5);
  assert.equal(f[0].testIndices[0] - f[0].trainIndices.at(-1)!, 6);
});

Deno.test("walkForwardSplits refuses unsorted or duplicate dates and layouts without training data", () => {
  assert.throws(() => walkForwardSplits(["2020-01-02", "2020-01-01"], { folds: 1, horizon: 1 }), ConfigError);
  assert.throws(() => walkForwardSplits(["2020-01-01", "2020-01-01"], { folds: 1, horizon: 1 }), ConfigError);
  assert.throws(() => walkForwardSplits(makeDates(20), { folds: 5, horizon: 5 }), ConfigError);
  assert.throws(
    () => walkForwardSplits(makeDates(100), { folds: 5, horizon: 1, mode: "rolling", trainSize: 96 }),
    ConfigError,
  );
});

Deno.test("walkForwardSplits records date windows, purge and embargo; rolling windows keep their length", () => {
  const dates = makeDates(300);
  const folds = walkForwardSplits(dates, { horizon: 2, embargo: 3, testSize: 50, trainSize: 100, mode: "rolling" });
  // room = 300 - 100 - 2 - 50 = 148 → 3 folds with step 50, the last ending on the last date.
  assert.equal(folds.length, 3);
  for (const f of folds) {
    assert.equal(f.trainIndices.length, 100);
    assert.equal(f.purge, 2);
    assert.equal(f.embargo, 3);
    assert.deepEqual(f.test, [{ start: dates[f.testIndices[0]], end: dates[f.testIndices.at(-1)!] }]);
    assert.deepEqual(f.train, [{ start: dates[f.trainIndices[0]], end: dates[f.trainIndices.at(-1)!] }]);
  }
  assert.equal(folds[2].testIndices.at(-1), 299);
});

Deno.test("walkForwardSplits carves a purged validation tail from each training window", () => {
  const dates = makeDates(240);
  const folds = walkForwardSplits(dates, { folds: 4, horizon: 3, validation: 0.2 });
  for (const f of folds) {
    const v = f.validationIndices!;
    assert.ok(v.length > 0);
    // fit | purge (3) | validation | purge (3) | test
    assert.equal(v[0] - f.trainIndices.at(-1)!, 4);
    assert.equal(f.testIndices[0] - v.at(-1)!, 4);
    assert.equal(f.validation![0].start, dates[v[0]]);
  }
});

Deno.test("walkForwardSplits with a step shorter than the test window: overlapping windows, last ends on the last date", () => {
  const dates = makeDates(100);
  const folds = walkForwardSplits(dates, { horizon: 1, testSize: 20, step: 10, trainSize: 30 });
  // room = 100 - 30 - 1 - 20 = 49 → floor(49 / 10) + 1 = 5 folds; starts 40, 50, 60, 70, 80
  assert.deepEqual(folds.map((f) => f.testIndices[0]), [40, 50, 60, 70, 80]);
  assert.deepEqual(folds.map((f) => f.trainIndices.at(-1)), [38, 48, 58, 68, 78]);
  assert.ok(folds.every((f) => f.trainIndices[0] === 0 && f.testIndices.length === 20));
});
