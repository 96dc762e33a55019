/**
 * The built-in feature sets and lookup by name.
 *
 * - `BASE_FEATURES` (./base.ts): 12 past-only features (returns, volatility, moving-average ratios, RSI, volume z-score,
 *   range, ATR, Bollinger %B), cheap enough for every run; the pipeline's default.
 * - {@link FULL_FEATURES}: the Alpha158-style set (./alpha158.ts) plus the technical features (./technical.ts),
 *   calendar fields (./calendar.ts) and per-date cross-sectional ranks.
 *
 * @module
 */

import { ConfigError } from "../errors.ts";
import type { FeatureDef } from "./definition.ts";
import { technicalFeatures } from "./technical.ts";
import { BASE_FEATURES } from "./base.ts";
import { alpha158Features } from "./alpha158.ts";
import { calendarFeatures, crossSectionalRankFeatures } from "./calendar.ts";

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
