/**
 * The built-in feature sets and lookup by name.
 *
 * - {@link BASE_FEATURES}: 12 past-only features (returns, volatility, moving-average ratios, RSI, volume z-score,
 *   range, ATR, Bollinger %B), all polars expressions, cheap enough for every run; the pipeline's default.
 * - {@link FULL_FEATURES}: the Alpha158-style set (./alpha158.ts) plus the technical features (./technical.ts),
 *   calendar fields (./calendar.ts) and per-date cross-sectional ranks.
 *
 * @module
 */

import { ConfigError } from "../errors.ts";
import type { FeatureDef } from "./definition.ts";
import {
  atrFeature,
  bollingerPercentBFeature,
  logReturnFeature,
  movingAverageRatioFeature,
  rangeFeature,
  realizedVolatilityFeature,
  rsiFeature,
  technicalFeatures,
  volumeZScoreFeature,
} from "./technical.ts";
import { alpha158Features } from "./alpha158.ts";
import { calendarFeatures, crossSectionalRankFeatures } from "./calendar.ts";

/** The default feature set: 12 past-only polars-expression features (see the module doc). */
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

/** Every built-in feature: Alpha158-style, technical, calendar and cross-sectional ranks (names are unique). */
export const FULL_FEATURES: readonly FeatureDef[] = Object.freeze([
  ...alpha158Features(),
  ...technicalFeatures(),
  ...calendarFeatures(),
  ...crossSectionalRankFeatures(),
]);

/** Built-in features by name. */
export const FEATURE_REGISTRY: ReadonlyMap<string, FeatureDef> = new Map(FULL_FEATURES.map((d) => [d.name, d]));

/**
 * Resolves built-in feature names; an empty list gives {@link BASE_FEATURES}.
 *
 * @throws ConfigError naming the unknown feature.
 */
export function resolveFeatures(names: readonly string[]): FeatureDef[] {
  if (names.length === 0) return [...BASE_FEATURES];
  return names.map((n) => {
    const d = FEATURE_REGISTRY.get(n);
    if (d === undefined) {
      throw new ConfigError(`unknown feature "${n}"; built-in names are listed by FEATURE_REGISTRY (e.g. RET5, RSI14)`);
    }
    return d;
  });
}
