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

/**
 * vega's logger, minus one false alarm: vega 6.3.0's build reports its version as 5.33.1, so vega-embed warns that
 * the compiled spec "uses Vega v6, but current version is v5.33.1" on every chart.
 */
const logger = {
  level(): number {
    return 2; // warnings and errors
  },
  error: (...args: unknown[]) => console.error(...args),
  warn: (...args: unknown[]) => {
    if (!String(args.at(-1) ?? "").includes("but current version is v5.")) console.warn(...args);
  },
  info: () => {},
  debug: () => {},
};

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
      logger: logger as unknown as NonNullable<Parameters<typeof embed>[2]>["logger"],
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
