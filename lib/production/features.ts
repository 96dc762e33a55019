/**
 * Feature definitions saved with a production model, and how a model trained by one candor is checked against the
 * candor that loads it.
 *
 * A model is only as good as the features it is fed: a built-in feature whose formula changed between the version
 * that trained the model and the one predicting would feed it numbers it never saw, silently. So each built-in
 * feature is saved with a **fingerprint** — SHA-256 of its kind, look-back and recipe (the polars expression's text,
 * or the source text of a per-symbol function; a cross-sectional rank includes its source's fingerprint) — and, when
 * the recipe is a polars expression, the **expression itself** (polars' JSON serialization). When the model is
 * loaded, each feature is resolved:
 *
 * - the running candor's definition has the same fingerprint → it is used;
 * - it differs (or the feature no longer exists) but the saved expression can be loaded → the saved definition is
 *   used, and the prediction says so;
 * - otherwise (a per-symbol function whose code changed) → the model is refused, naming the features.
 *
 * Extra numeric file columns are features too; they are saved by name and must be present in the prediction files.
 *
 * @module
 */

import { createHash } from "node:crypto";
import { Buffer } from "node:buffer";
import { pl } from "../data/polars.ts";
import type { FeatureDef } from "../features/definition.ts";
import { FEATURE_REGISTRY } from "../features/catalog.ts";
import { ConfigError } from "../errors.ts";

/** One built-in feature as saved with a model. */
export interface SavedFeature {
  /** Column name. */
  name: string;
  /** Definition kind (`expr`, `series`, `row`, `cross-sectional`). */
  kind: FeatureDef["kind"];
  /** Rows of history the value at t needs. */
  lookback: number;
  /** What it measures. */
  description: string;
  /** SHA-256 (hex) of the recipe (see the module notes). */
  fingerprint: string;
  /** `expr` / `row`: the polars expression, serialized as JSON; absent for functions. */
  expr?: string;
  /** `expr`: evaluated whole-frame with a masked warm-up. */
  bounded?: boolean;
  /** `cross-sectional`: the ranked feature. */
  source?: SavedFeature;
}

/** The recipe text a fingerprint is taken of. */
function recipe(d: FeatureDef): string {
  switch (d.kind) {
    case "expr":
      return JSON.stringify({
        kind: d.kind,
        lookback: d.lookback,
        bounded: d.bounded ?? false,
        expr: d.expr.toString(),
      });
    case "row":
      return JSON.stringify({ kind: d.kind, lookback: d.lookback, expr: d.expr.toString() });
    case "series":
      return JSON.stringify({ kind: d.kind, lookback: d.lookback, compute: d.compute.toString() });
    case "cross-sectional":
      return JSON.stringify({ kind: d.kind, lookback: d.lookback, source: featureFingerprint(d.source) });
  }
}

/** The fingerprint of a feature definition (see the module notes). */
export function featureFingerprint(d: FeatureDef): string {
  return createHash("sha256").update(recipe(d)).digest("hex");
}

/** A definition as saved with a model. */
export function saveFeature(d: FeatureDef): SavedFeature {
  const out: SavedFeature = {
    name: d.name,
    kind: d.kind,
    lookback: d.lookback,
    description: d.description,
    fingerprint: featureFingerprint(d),
  };
  if (d.kind === "expr" || d.kind === "row") {
    out.expr = (d.expr as unknown as { serialize(f: "json"): Buffer }).serialize("json").toString();
  }
  if (d.kind === "expr" && d.bounded) out.bounded = true;
  if (d.kind === "cross-sectional") out.source = saveFeature(d.source);
  return out;
}

/** The definition a saved feature describes, rebuilt from its saved expression; undefined when it cannot be. */
function loadSaved(f: SavedFeature): FeatureDef | undefined {
  const common = { name: f.name, lookback: f.lookback, description: f.description };
  if ((f.kind === "expr" || f.kind === "row") && f.expr !== undefined) {
    let expr: pl.Expr;
    try {
      expr = (pl.Expr as unknown as { deserialize(b: Buffer, f: "json"): pl.Expr }).deserialize(
        Buffer.from(f.expr),
        "json",
      );
    } catch {
      return undefined;
    }
    return f.kind === "expr"
      ? { ...common, kind: "expr", expr, ...(f.bounded ? { bounded: true } : {}) }
      : { ...common, kind: "row", expr };
  }
  if (f.kind === "cross-sectional" && f.source !== undefined) {
    const source = resolveOne(f.source).def;
    return source === undefined ? undefined : { ...common, kind: "cross-sectional", source };
  }
  return undefined;
}

function resolveOne(f: SavedFeature): { def?: FeatureDef; saved: boolean } {
  const running = FEATURE_REGISTRY.get(f.name);
  if (running !== undefined && featureFingerprint(running) === f.fingerprint) return { def: running, saved: false };
  const def = loadSaved(f);
  return def === undefined ? { saved: true } : { def, saved: true };
}

/** How a model's saved features resolve against the running candor. */
export interface ResolvedFeatures {
  /** The definitions to compute, in the model's column order. */
  defs: FeatureDef[];
  /** Features computed from the saved definition because the running one differs or is gone. */
  fromSaved: string[];
}

/**
 * Resolves a model's saved built-in features (see the module notes). Throws ConfigError naming every feature whose
 * definition differs from the running candor's and cannot be loaded from the model.
 */
export function resolveSavedFeatures(saved: readonly SavedFeature[], what: string): ResolvedFeatures {
  const defs: FeatureDef[] = [];
  const fromSaved: string[] = [];
  const refused: string[] = [];
  for (const f of saved) {
    const r = resolveOne(f);
    if (r.def === undefined) refused.push(`${f.name} (${f.kind})`);
    else {
      defs.push(r.def);
      if (r.saved) fromSaved.push(f.name);
    }
  }
  if (refused.length > 0) {
    throw new ConfigError(
      `${what}: the definition of ${refused.join(", ")} differs from this candor's and cannot be loaded from the ` +
        `model (a per-symbol function, saved by fingerprint only): its inputs would not be the ones it was trained ` +
        `on. Retrain the model with this candor (candor train), or predict with the candor that trained it`,
    );
  }
  return { defs, fromSaved };
}
