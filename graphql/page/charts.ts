/**
 * Draws lib/report's Vega-Lite specs in the page with vega-embed: the same specs notebooks and HTML reports render, so
 * every surface draws a run alike. Vega expressions are interpreted (vega-interpreter), not compiled to functions, so
 * the page needs no `unsafe-eval` in its Content-Security-Policy.
 *
 * @module
 */

import embed from "vega-embed";
import { expressionInterpreter } from "vega-interpreter";
import type { TopLevelSpec } from "vega-lite";

export { drawdownChart, equityChart, foldMetricsChart, lineChart } from "../../lib/report/charts.ts";

/** Renders `spec` as SVG into `el` (marked `data-chart="name"` for tests and styles); errors are shown in place. */
export async function draw(el: HTMLElement, name: string, spec: TopLevelSpec): Promise<void> {
  el.classList.add("chart");
  el.dataset.chart = name;
  try {
    await embed(el, spec as Parameters<typeof embed>[1], {
      renderer: "svg",
      ast: true,
      expr: expressionInterpreter,
      actions: { export: true, source: false, compiled: false, editor: false },
      downloadFileName: `candor-${name}`,
    });
    el.dataset.rendered = "true";
  } catch (e) {
    el.textContent = `chart could not be drawn: ${(e as Error).message}`;
    el.dataset.rendered = "error";
  }
}

/** A plotting width that fits `el`'s container (pixels of the plotting area), between 320 and 900. */
export function widthFor(el: HTMLElement): number {
  const w = el.parentElement?.clientWidth ?? 800;
  return Math.max(320, Math.min(900, w - 160));
}
