/**
 * The default feature set: 12 past-only features — returns over 1, 5 and 20 days, realized
 * volatility over 5 and 20 days, moving-average ratios over 5 and 20 days, RSI(14), the 20-day volume z-score, the
 * daily range, ATR(14) and Bollinger %B(20) — cheap enough for every run; the pipeline's default. Formulas are in
 * ./technical.ts; the full set is in ./catalog.ts.
 *
 * @module
 */

import type { FeatureDef } from "./definition.ts";
import {
  atrFeature,
  bollingerPercentBFeature,
  logReturnFeature,
  movingAverageRatioFeature,
  rangeFeature,
  realizedVolatilityFeature,
  rsiFeature,
  volumeZScoreFeature,
} from "./technical.ts";

export type { FeatureDef } from "./definition.ts";

/** The default feature set: 12 past-only features (see the module doc). */
export const BASE_FEATURES: readonly FeatureDef[] = Object.freeze([
  logReturnFeature(1),
  logReturnFeature(5),
  logReturnFeature(20),
  realizedVolatilityFeature(5),
  realizedVolatilityFeature(20),
  movingAverageRatioFeature(5),
  movingAverageRatioFeature(20),
  rsiFeature(14),
  volumeZScoreFeature(20),
  rangeFeature(),
  atrFeature(14),
  bollingerPercentBFeature(20, 2),
]);
