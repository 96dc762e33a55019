/**
 * Headless rendering of Vega-Lite (or Vega) specifications to SVG and PNG.
 *
 * SVG comes from vega's own renderer (`View.toSVG()` with `renderer: "none"`), which needs no DOM and no canvas:
 * text widths are estimated, which is fine for charts. PNG rasterises that SVG with resvg (a Rust SVG renderer,
 * loaded as a native addon), using the system's fonts. Both are deterministic for a given spec.
 *
 * vega, vega-lite and resvg load on first use, not with the library (about half a second of module evaluation):
 * vega and vega-lite through `import()` (they are ES modules with top-level await), resvg through
 * lib/lazy_package.ts.
 *
 * @module
 */

import type * as vega from "vega";
import type { TopLevelSpec } from "vega-lite";
import type * as ResvgModule from "@resvg/resvg-js";
import { ConfigError } from "../errors.ts";
import { lazyPackage } from "../lazy_package.ts";

const loadResvg = lazyPackage<typeof ResvgModule>("@resvg/resvg-js");

/** A Vega-Lite top-level spec or an already compiled Vega spec. */
export type ChartSpec = TopLevelSpec | vega.Spec;

/** Options of {@link renderPng}. */
export interface PngOptions {
  /** Pixel density: 2 renders at twice the SVG's size (default 2, sharp on high-DPI screens). */
  scale?: number;
  /** Font family used for "sans-serif" and for text whose font is missing (default "DejaVu Sans"). */
  fontFamily?: string;
  /** Background colour (default white). */
  background?: string;
}

/**
 * Whether a spec is Vega (compiled) rather than Vega-Lite, decided by its `$schema`.
 * Specs without a `$schema` are treated as Vega-Lite, which is what every builder in lib/report produces.
 */
export function isVegaSpec(spec: ChartSpec): spec is vega.Spec {
  const schema = (spec as { $schema?: unknown }).$schema;
  return typeof schema === "string" && /\/schema\/vega\/v\d/.test(schema);
}

/** Compile a Vega-Lite spec to Vega (Vega specs pass through). Invalid specs reject with a ConfigError. */
export async function compileToVega(spec: ChartSpec): Promise<vega.Spec> {
  if (isVegaSpec(spec)) return spec;
  const vegaLite = await import("vega-lite");
  try {
    return vegaLite.compile(spec as TopLevelSpec).spec as vega.Spec;
  } catch (e) {
    throw new ConfigError(`Vega-Lite could not compile the chart spec: ${(e as Error).message}`);
  }
}

/**
 * Render a chart to an SVG document string (starts with `<svg`, has explicit width/height and a white background).
 * Runs vega's dataflow headlessly; the view is finalized afterwards so no timers or listeners leak.
 */
export async function renderSvg(spec: ChartSpec): Promise<string> {
  const compiled = await compileToVega(spec);
  const vega = await import("vega");
  const view = new vega.View(vega.parse(compiled), { renderer: "none" });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** Render a chart to PNG bytes (via {@link renderSvg}, rasterised by resvg). */
export async function renderPng(spec: ChartSpec, options: PngOptions = {}): Promise<Uint8Array> {
  return svgToPng(await renderSvg(spec), options);
}

/** Rasterise an SVG document to PNG bytes with resvg. */
export function svgToPng(svg: string, options: PngOptions = {}): Uint8Array {
  const fontFamily = options.fontFamily ?? "DejaVu Sans";
  const resvg = new (loadResvg().Resvg)(svg, {
    fitTo: { mode: "zoom", value: options.scale ?? 2 },
    background: options.background ?? "white",
    font: { loadSystemFonts: true, defaultFontFamily: fontFamily, sansSerifFamily: fontFamily },
  });
  return new Uint8Array(resvg.render().asPng());
}
