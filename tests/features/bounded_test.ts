import assert from "node:assert/strict";
import pl from "nodejs-polars";
import {
  computeFeaturesOnFrame,
  type ExprFeatureDef,
  type FeatureDef,
  float64Column,
  FULL_FEATURES,
} from "../../lib/mod.ts";
import { randomWalkPanel } from "./_panels.ts";

/** Names of bounded features whose whole-frame (masked) values differ from their per-symbol `.over` values. */
function boundedMismatches(frame: pl.DataFrame, defs: readonly FeatureDef[]): string[] {
  const bounded = defs.filter((d): d is ExprFeatureDef => d.kind === "expr" && d.bounded === true);
  const fast = computeFeaturesOnFrame(frame, bounded);
  const slow = computeFeaturesOnFrame(frame, bounded, { evaluateBoundedPerSymbol: true });
  const bad: string[] = [];
  for (const d of bounded) {
    const a = float64Column(fast, d.name);
    const b = float64Column(slow, d.name);
    for (let i = 0; i < a.length; i++) {
      const same = (Number.isNaN(a[i]) && Number.isNaN(b[i])) ||
        Math.abs(a[i] - b[i]) <= 1e-9 * Math.max(Math.abs(a[i]), Math.abs(b[i])) + 1e-12;
      if (!same) {
        bad.push(d.name);
        break;
      }
    }
  }
  return bad;
}

/** Symbols at different price and volume levels, so anything crossing a symbol boundary shows. */
function multiLevelFrame(): pl.DataFrame {
  return randomWalkPanel(21, 4, 150).frame.withColumns(
    pl.when(pl.col("symbol").eq(pl.lit("S01"))).then(pl.col("volume").mul(1000)).otherwise(pl.col("volume")).alias(
      "volume",
    ),
  );
}

Deno.test("every bounded built-in feature equals its per-symbol evaluation (lookbacks are declared correctly)", () => {
  assert.ok(FULL_FEATURES.filter((d) => d.kind === "expr" && d.bounded).length >= 5);
  assert.deepEqual(boundedMismatches(multiLevelFrame(), FULL_FEATURES), []);
});

Deno.test("bounded expressions with shifts, rolling max/min and counts equal their per-symbol evaluation", () => {
  // Your own features take this path: the masked whole-frame evaluation must agree with `.over("symbol")`.
  const C = pl.col("px_close");
  const dC = C.sub(C.shift(1));
  const up = pl.when(dC.isNull()).then(pl.lit(null)).otherwise(dC.gt(0).cast(pl.Float64));
  const own = (name: string, lookback: number, expr: pl.Expr): ExprFeatureDef => ({
    kind: "expr",
    bounded: true,
    name,
    lookback,
    description: name,
    expr,
  });
  const defs = [
    own("ROC_OWN", 10, C.shift(10).div(C)),
    own("MAX_OWN", 19, pl.col("px_high").rollingMax({ windowSize: 20 }).div(C)),
    own("MIN_OWN", 19, pl.col("px_low").rollingMin({ windowSize: 20 }).div(C)),
    own("CNT_OWN", 20, up.rollingMean({ windowSize: 20 })),
    own("VOL_OWN", 1, pl.col("px_volume").div(pl.col("px_volume").shift(1))),
  ];
  assert.deepEqual(boundedMismatches(multiLevelFrame(), defs), []);
});

Deno.test("a bounded feature that reads further back than its lookback is caught by the same comparison", () => {
  const frame = randomWalkPanel(22, 3, 60).frame;
  const wrong: ExprFeatureDef = {
    kind: "expr",
    bounded: true,
    name: "WRONG_LOOKBACK",
    lookback: 2,
    description: "reads 5 rows back but declares 2",
    expr: pl.col("px_close").div(pl.col("px_close").shift(5)),
  };
  assert.deepEqual(boundedMismatches(frame, [wrong]), ["WRONG_LOOKBACK"]);
});

Deno.test("SUM ratios are exactly 0 on flat windows (no rounding residue from earlier rows)", () => {
  // A symbol whose close moves for 40 days then stays flat: SUMP5 over a flat window must be exactly 0.
  const panel = randomWalkPanel(23, 1, 60);
  const flat = panel.frame.withColumns(
    pl.when(pl.col("date").gt(pl.lit(panel.dates[40]))).then(pl.lit(123.456789)).otherwise(pl.col("close")).alias("c"),
  ).withColumns(
    pl.col("c").alias("close"),
    pl.col("c").alias("adj_close"),
    pl.col("c").alias("open"),
    pl.col("c").alias("high"),
    pl.col("c").alias("low"),
  ).drop("c");
  const out = computeFeaturesOnFrame(flat, FULL_FEATURES.filter((d) => ["SUMP5", "SUMN5", "SUMD5"].includes(d.name)));
  for (const name of ["SUMP5", "SUMN5", "SUMD5"]) {
    const v = float64Column(out, name);
    for (let t = 47; t < 60; t++) assert.equal(v[t], 0, `${name}[${t}]`);
  }
});
