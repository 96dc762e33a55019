/**
 * Calendar fields and per-date cross-sectional ranks.
 *
 * Calendar features read only the row's own date: `DOW` (0 = Monday … 4 = Friday), `MONTH` (1–12), `DOM` (day of the
 * month, 1–31). Anything that needs the *next* trading date (a "last trading day of the month" flag computed from the
 * data) would look ahead, so none is defined.
 *
 * Cross-sectional ranks `CSR_<feature>` are the per-date percentile (average ties, rank / number of symbols with a
 * value that date, in (0, 1]) of a per-symbol feature. Every input is known at the close of t, so a rank at t is too.
 *
 * @module
 */

import { pl } from "../data/polars.ts";
import { lazy } from "../lazy_package.ts";
import type { CrossSectionalFeatureDef, FeatureDef, RowFeatureDef } from "./definition.ts";
import {
  logReturnFeature,
  movingAverageRatioFeature,
  realizedVolatilityFeature,
  rsiFeature,
  volumeZScoreFeature,
} from "./technical.ts";

function dateExpr(): pl.Expr {
  return pl.col("date").str.strptime(pl.Date, "%Y-%m-%d");
}

/** A calendar feature whose expression (of the row's `date`) is built on first read of `expr`, not at definition. */
function calendarFeature(name: string, description: string, field: (date: pl.Expr) => pl.Expr): RowFeatureDef {
  const expr = lazy(() => field(dateExpr()));
  return {
    kind: "row",
    name,
    family: "calendar",
    lookback: 0,
    description,
    get expr() {
      return expr();
    },
  };
}

/** `DOW`, `MONTH`, `DOM` (module doc). */
export function calendarFeatures(): RowFeatureDef[] {
  return [
    calendarFeature("DOW", "day of the week, 0 = Monday ... 4 = Friday", (d) => d.dt.weekday().cast(pl.Float64).sub(1)),
    calendarFeature("MONTH", "month of the year, 1-12", (d) => d.dt.month().cast(pl.Float64)),
    calendarFeature("DOM", "day of the month, 1-31", (d) => d.dt.day().cast(pl.Float64)),
  ];
}

/** Wraps a per-symbol feature into its per-date cross-sectional percentile rank `CSR_<name>`. */
export function crossSectionalRank(source: FeatureDef): CrossSectionalFeatureDef {
  return {
    kind: "cross-sectional",
    name: `CSR_${source.name}`,
    family: "cross-sectional",
    lookback: source.lookback,
    description: `per-date cross-sectional percentile rank of ${source.name}`,
    source,
  };
}

/** Cross-sectional ranks of 1-, 5- and 20-day returns, 20-day volatility, MA ratio, RSI and volume z-score. */
export function crossSectionalRankFeatures(): CrossSectionalFeatureDef[] {
  return [
    logReturnFeature(1),
    logReturnFeature(5),
    logReturnFeature(20),
    realizedVolatilityFeature(20),
    movingAverageRatioFeature(20),
    rsiFeature(14),
    volumeZScoreFeature(20),
  ].map(crossSectionalRank);
}
