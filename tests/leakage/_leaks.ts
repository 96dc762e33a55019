/**
 * Deliberately leaking feature definitions and columns, one per leak kind the auditor must catch.
 *
 * @module
 */

import pl from "nodejs-polars";
import type { FeatureDef, Panel } from "../../lib/mod.ts";
import { crossSectionalRank, WAVELET_WHOLE_SERIES_LEAK_DEMO } from "../../lib/mod.ts";
import { panelFromFrame } from "../features/_panels.ts";

const C = pl.col("px_close");

/** Leaking definitions, each caught by the truncation test (and some by target identity). */
export function leakingDefinitions(): FeatureDef[] {
  const fwd: FeatureDef = {
    kind: "expr",
    name: "LEAK_NEXT_RETURN",
    lookback: 0,
    description: "returns misaligned by one day: ln(C_{t+1}/C_t)",
    expr: C.shift(-1).div(C).log(),
  };
  return [
    fwd,
    {
      kind: "expr",
      name: "LEAK_CENTERED_MA",
      lookback: 0,
      description: "centred 5-day moving average over C",
      expr: C.rollingMean({ windowSize: 5, center: true }).div(C),
    },
    {
      kind: "expr",
      name: "LEAK_WHOLE_SERIES_ZSCORE",
      lookback: 0,
      description: "price z-scored with the whole-series mean and std",
      expr: C.sub(C.mean()).div(C.std()),
    },
    {
      kind: "series",
      name: "LEAK_FUTURE_MAX",
      lookback: 0,
      description: "highest close of the next 10 days over C_t",
      compute: (s) => s.close.map((c, i) => Math.max(...s.close.subarray(i, Math.min(i + 10, s.close.length))) / c),
    },
    WAVELET_WHOLE_SERIES_LEAK_DEMO,
    { ...crossSectionalRank(fwd), name: "LEAK_CS_RANK_NEXT_RETURN" },
  ];
}

/** Adds precomputed columns to a panel: exact target, noisy target, weakly leaking, and two honest ones. */
export function withPrecomputedColumns(panel: Panel, faintScale: number, seed = 7): Panel {
  const c = pl.col("adj_close");
  let state = seed;
  const noise = () => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return state / 2147483648 - 0.5;
  };
  const n = panel.frame.height;
  const e1 = pl.Series("e1", Array.from({ length: n }, noise));
  const e2 = pl.Series("e2", Array.from({ length: n }, noise));
  const e3 = pl.Series("e3", Array.from({ length: n }, noise));
  const next = c.shift(-1).div(c).log().over("symbol");
  const frame = panel.frame.withColumns(e1, e2, e3).withColumns(
    // the classic misaligned "returns" column: pct_change shifted the wrong way
    c.shift(-1).div(c).sub(1).over("symbol").alias("returns"),
    // the target plus as much noise again: |IC| ≈ 0.5
    next.add(pl.col("e1").mul(0.035)).alias("noisy_future"),
    // a faint echo of tomorrow's return (|IC| ≈ 0.07 with the scale the tests choose), invisible in past returns
    next.add(pl.col("e2").mul(faintScale)).alias("faint_future"),
    // honest: yesterday's return, and pure noise
    c.div(c.shift(1)).log().over("symbol").alias("past_return"),
    pl.col("e3").alias("noise"),
  ).drop("e1", "e2", "e3");
  return panelFromFrame(frame);
}
