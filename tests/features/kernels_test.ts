/**
 * The typed-array kernels of the built-in features against the same formulas written as polars expressions and
 * evaluated per symbol (`.over("symbol")`): polars' own shift, rolling max/min/mean, `ewm_mean` and arithmetic are an
 * independent implementation. The two must agree exactly (to the last bit), not just to a tolerance: these features
 * were polars expressions before they became kernels, and their values must not have moved.
 *
 * The panel has symbols at different price levels, a split-like adjustment factor, a flat stretch (ties, zero moves,
 * zero ranges) and a zero close (divisions by zero), so the edge cases are exercised.
 */
import assert from "node:assert/strict";
import pl from "nodejs-polars";
import { computeFeaturesOnFrame, type ExprFeatureDef, float64Column, FULL_FEATURES } from "../../lib/mod.ts";
import { randomWalkPanel } from "./_panels.ts";

const EPS = 1e-12;
const C = pl.col("px_close");
const O = pl.col("px_open");
const H = pl.col("px_high");
const L = pl.col("px_low");

function expr(name: string, e: pl.Expr): ExprFeatureDef {
  return { kind: "expr", name: `${name}_EXPR`, lookback: 0, description: `${name} as a polars expression`, expr: e };
}

function ewm(x: pl.Expr, alpha: number, minPeriods: number): pl.Expr {
  return x.ewmMean({ alpha, adjust: false, minPeriods, bias: false, ignoreNulls: false });
}

/** The formulas of lib/features/{alpha158,technical}.ts as polars expressions, keyed by built-in feature name. */
function expressions(): Record<string, pl.Expr> {
  const range = H.sub(L).add(EPS);
  const top = pl.maxHorizontal([O, C]);
  const bottom = pl.minHorizontal([O, C]);
  const out: Record<string, pl.Expr> = {
    KMID: C.sub(O).div(O),
    KLEN: H.sub(L).div(O),
    KMID2: C.sub(O).div(range),
    KUP: H.sub(top).div(O),
    KUP2: H.sub(top).div(range),
    KLOW: bottom.sub(L).div(O),
    KLOW2: bottom.sub(L).div(range),
    KSFT: C.mul(2).sub(H).sub(L).div(O),
    KSFT2: C.mul(2).sub(H).sub(L).div(range),
    OPEN0: O.div(C),
    HIGH0: H.div(C),
    LOW0: L.div(C),
    RANGE: H.sub(L).div(C),
  };
  const dC = C.sub(C.shift(1));
  for (const d of [5, 10, 20, 30, 60]) {
    const up = pl.when(dC.isNull()).then(pl.lit(null)).otherwise(dC.gt(0).cast(pl.Float64));
    const down = pl.when(dC.isNull()).then(pl.lit(null)).otherwise(dC.lt(0).cast(pl.Float64));
    const cntp = up.rollingMean({ windowSize: d });
    const cntn = down.rollingMean({ windowSize: d });
    const hi = H.rollingMax({ windowSize: d });
    const lo = L.rollingMin({ windowSize: d });
    Object.assign(out, {
      [`ROC${d}`]: C.shift(d).div(C),
      [`MAX${d}`]: hi.div(C),
      [`MIN${d}`]: lo.div(C),
      [`RSV${d}`]: C.sub(lo).div(hi.sub(lo).add(EPS)),
      [`CNTP${d}`]: cntp,
      [`CNTN${d}`]: cntn,
      [`CNTD${d}`]: cntp.sub(cntn),
    });
  }
  const gain = pl.when(dC.gt(0)).then(dC).otherwise(pl.lit(0)).cast(pl.Float64);
  const loss = pl.when(dC.lt(0)).then(dC.mul(-1)).otherwise(pl.lit(0)).cast(pl.Float64);
  const g = ewm(pl.when(dC.isNull()).then(pl.lit(null)).otherwise(gain), 1 / 14, 14);
  const l = ewm(pl.when(dC.isNull()).then(pl.lit(null)).otherwise(loss), 1 / 14, 14);
  out.RSI14 = g.mul(100).div(g.add(l));
  const prev = C.shift(1);
  const hl = H.sub(L);
  const tr = pl.when(prev.isNull()).then(hl).otherwise(pl.maxHorizontal([hl, H.sub(prev).abs(), L.sub(prev).abs()]));
  out.ATR14 = ewm(tr, 1 / 14, 14).div(C);
  const macd = ewm(C, 2 / 13, 12).sub(ewm(C, 2 / 27, 26)).div(C);
  const signal = ewm(macd, 2 / 10, 9);
  Object.assign(out, { MACD: macd, MACDSIG: signal, MACDHIST: macd.sub(signal) });
  return out;
}

/** Random-walk prices with a split-like factor on S01, a flat stretch on S02 and a zero close on S03. */
function edgeCaseFrame(): pl.DataFrame {
  const base = randomWalkPanel(31, 4, 160).frame;
  const symbols = base.getColumn("symbol").toArray() as string[];
  const t = new Int32Array(symbols.length); // row number within the symbol
  for (let i = 0, start = 0; i < t.length; i++) {
    if (i > 0 && symbols[i - 1] !== symbols[i]) start = i;
    t[i] = i - start;
  }
  const frame = base.withColumns(pl.Series("t", t));
  const s = (name: string) => pl.col("symbol").eq(pl.lit(name));
  const flat = s("S02").and(pl.col("t").gtEq(40)).and(pl.col("t").lt(110));
  const price = (c: string) =>
    pl.when(flat).then(pl.lit(80)).when(s("S03").and(pl.col("t").eq(70))).then(pl.lit(0)).otherwise(pl.col(c)).alias(
      c,
    );
  return frame.withColumns(price("open"), price("high"), price("low"), price("close"))
    .withColumns(
      pl.when(s("S01").and(pl.col("t").lt(80))).then(pl.col("close").mul(0.5)).otherwise(pl.col("close")).alias(
        "adj_close",
      ),
    )
    .drop("t");
}

Deno.test("built-in kernels equal their polars-expression formulas bit for bit, edge cases included", () => {
  const formulas = expressions();
  const builtins = FULL_FEATURES.filter((d) => d.name in formulas);
  assert.equal(builtins.length, Object.keys(formulas).length, "every formula names a built-in feature");
  const defs = [...builtins, ...Object.entries(formulas).map(([name, e]) => expr(name, e))];
  const out = computeFeaturesOnFrame(edgeCaseFrame(), defs);
  const bad: string[] = [];
  for (const d of builtins) {
    const ours = float64Column(out, d.name);
    const polars = float64Column(out, `${d.name}_EXPR`);
    let known = 0;
    for (let i = 0; i < ours.length; i++) {
      if (!Number.isNaN(polars[i])) known++;
      if (!Object.is(ours[i], polars[i]) && !(Number.isNaN(ours[i]) && Number.isNaN(polars[i]))) {
        bad.push(`${d.name}[${i}]: kernel ${ours[i]}, polars ${polars[i]}`);
        break;
      }
    }
    if (known < 250) bad.push(`${d.name}: only ${known} values to compare`);
  }
  assert.deepEqual(bad, []);
});
