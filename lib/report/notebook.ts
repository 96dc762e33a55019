/**
 * Rich display of charts and tables in Jupyter notebooks run by Deno's kernel (`deno jupyter`).
 *
 * The Deno kernel displays any value that has a method under `Symbol.for("Jupyter.display")` returning a MIME
 * bundle (or a promise of one): either as the last expression of a cell or through `Deno.jupyter.display(value)`.
 * Two ways to show a chart or a table:
 *
 * - `await showChart(spec)` / `await showTable(rows)` publish the output while the cell runs. **Use these in
 *   notebooks that are rendered to reports.** Deno's kernel (2.9.6) can deliver an output after its "cell finished"
 *   message, and nbconvert stops listening at that message. A cell's *result* (the value of its last expression)
 *   loses that race often — measured here: 1 to 9 of 16 one-line result cells lost per run — while outputs
 *   published during the cell rarely do (none in 100 on an idle machine, about 1 in 200 under heavy load).
 *   `deno task report` checks that every cell calling showChart/showTable/`Deno.jupyter.display` has an output and
 *   executes the notebook again when one came back empty.
 * - `chartDisplay(spec)` / `tableDisplay(rows)` return a displayable value for a cell to end with, which is fine in
 *   the interactive notebook (its front end keeps listening), or to pass to `Deno.jupyter.display`.
 *
 * The displayables carry nothing but the display method: the kernel treats a plain object's own keys as MIME types
 * when asked for a raw display, and a stray key (a `spec` field, say) makes the whole output invalid. To display a
 * bundle itself, use `Deno.jupyter.display(await chartBundle(spec), { raw: true })`.
 *
 * A chart's bundle carries:
 * - `application/vnd.vegalite.v5+json`: the Vega-Lite spec, for front ends with a Vega-Lite renderer (JupyterLab,
 *   VS Code, nteract). v5 is the newest Vega-Lite MIME type those front ends register; our specs declare the v6
 *   schema and use nothing v5 lacks, so they render there too.
 * - `image/svg+xml`: the chart rendered here (`renderSvg`). The classic notebook and nbconvert's HTML export have no
 *   Vega-Lite renderer and show this instead; it is also what ends up in the HTML reports.
 * - `image/png` (base64) when asked for, for viewers that show neither.
 * - `text/plain`: the chart's title, for terminals.
 *
 * @module
 */

import type { TopLevelSpec } from "vega-lite";
import { ConfigError } from "../errors.ts";
import { renderSvg, svgToPng } from "./render.ts";
import type { ChartSpec } from "./render.ts";

/** The symbol under which Deno's Jupyter kernel looks for a display method. */
export const JUPYTER_DISPLAY: unique symbol = Symbol.for("Jupyter.display") as never;

/** A MIME bundle as the Jupyter protocol defines it: MIME type → data (string or JSON object). */
export type MimeBundle = Record<string, string | object>;

/** A value Deno's Jupyter kernel can display richly. */
export interface NotebookDisplayable {
  /** Called by the kernel to get the output's MIME bundle. */
  [JUPYTER_DISPLAY](): Promise<MimeBundle>;
}

/** Options of {@link chartBundle} / {@link chartDisplay}. */
export interface ChartBundleOptions {
  /** Also include a base64 PNG (default false; the SVG is enough for the notebook and the reports). */
  png?: boolean;
}

/** The MIME type under which the Vega-Lite spec is sent to front ends. */
export const VEGA_LITE_MIME = "application/vnd.vegalite.v5+json";

/** Build the MIME bundle of a chart: Vega-Lite JSON (Vega-Lite specs only), SVG, optional PNG and plain text. */
export async function chartBundle(spec: ChartSpec, options: ChartBundleOptions = {}): Promise<MimeBundle> {
  const svg = await renderSvg(spec);
  const bundle: MimeBundle = {};
  const schema = (spec as { $schema?: unknown }).$schema;
  if (typeof schema !== "string" || schema.includes("/vega-lite/")) bundle[VEGA_LITE_MIME] = spec as TopLevelSpec;
  bundle["image/svg+xml"] = svg;
  if (options.png) bundle["image/png"] = encodeBase64(svgToPng(svg));
  bundle["text/plain"] = `[chart] ${chartTitle(spec)}`;
  return bundle;
}

/**
 * A displayable chart: end a notebook cell with it (or pass it to `Deno.jupyter.display`). Rendering happens when
 * the kernel asks for the bundle, so building the value is cheap.
 */
export function chartDisplay(spec: ChartSpec, options: ChartBundleOptions = {}): NotebookDisplayable {
  return { [JUPYTER_DISPLAY]: () => chartBundle(spec, options) };
}

/**
 * Show a chart in the running notebook now (SVG + Vega-Lite bundle), rather than as the cell's result: reliable under
 * nbconvert (see the module notes). Throws a ConfigError outside Deno's Jupyter kernel.
 */
export async function showChart(spec: ChartSpec, options: ChartBundleOptions = {}): Promise<void> {
  await publishBundle(await chartBundle(spec, options));
}

/** Show a table in the running notebook now (HTML + text), like {@link showChart}. */
export async function showTable(
  rows: readonly Readonly<Record<string, unknown>>[],
  options: TableOptions = {},
): Promise<void> {
  await publishBundle(tableBundle(rows, options));
}

async function publishBundle(bundle: MimeBundle): Promise<void> {
  let jupyter: typeof Deno.jupyter;
  try {
    jupyter = Deno.jupyter; // a getter that throws outside `deno jupyter`
  } catch {
    throw new ConfigError(
      "showChart/showTable publish to a Jupyter notebook and work only inside Deno's Jupyter kernel; " +
        "elsewhere use renderSvg / renderPng, or chartBundle / tableBundle for the MIME bundle.",
    );
  }
  await jupyter.display(bundle, { raw: true });
}

/** Options of {@link tableDisplay}. */
export interface TableOptions {
  /** Columns to show, in order (default: the keys of the first row). */
  columns?: string[];
  /** Significant decimals for non-integer numbers (default 4). */
  digits?: number;
  /** Caption above the table. */
  caption?: string;
}

/**
 * A displayable table from rows of plain values: HTML for notebooks and reports, aligned text for terminals.
 * Numbers are formatted with fixed decimals (integers as they are), NaN as "NaN", null/undefined as empty.
 */
export function tableDisplay(
  rows: readonly Readonly<Record<string, unknown>>[],
  options: TableOptions = {},
): NotebookDisplayable {
  const bundle = tableBundle(rows, options);
  return { [JUPYTER_DISPLAY]: () => Promise.resolve(bundle) };
}

/** The MIME bundle of {@link tableDisplay}: `text/html` and `text/plain`. */
export function tableBundle(
  rows: readonly Readonly<Record<string, unknown>>[],
  options: TableOptions = {},
): MimeBundle {
  const columns = options.columns ?? (rows.length > 0 ? Object.keys(rows[0]) : []);
  const digits = options.digits ?? 4;
  const cells = rows.map((row) => columns.map((c) => formatCell(row[c], digits)));
  const head = columns.map((c) => `<th>${escapeHtml(c)}</th>`).join("");
  const body = cells.map((r) => `<tr>${r.map((v) => `<td>${escapeHtml(v)}</td>`).join("")}</tr>`).join("\n");
  const caption = options.caption ? `<caption>${escapeHtml(options.caption)}</caption>` : "";
  const html = `<table>${caption}<thead><tr>${head}</tr></thead>\n<tbody>\n${body}\n</tbody></table>`;
  const widths = columns.map((c, j) => Math.max(c.length, ...cells.map((r) => r[j].length)));
  const line = (vals: string[]) => vals.map((v, j) => v.padStart(widths[j])).join("  ");
  const text = [options.caption ?? "", line(columns), ...cells.map(line)].filter((l) => l !== "").join("\n");
  return { "text/html": html, "text/plain": text };
}

function formatCell(value: unknown, digits: number): string {
  if (value === null || value === undefined) return "";
  if (typeof value === "number") {
    if (Number.isNaN(value)) return "NaN";
    return Number.isInteger(value) ? String(value) : value.toFixed(digits);
  }
  return String(value);
}

function escapeHtml(s: string): string {
  return s.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;").replaceAll('"', "&quot;");
}

function chartTitle(spec: ChartSpec): string {
  const title = (spec as { title?: unknown }).title;
  if (typeof title === "string") return title;
  if (title && typeof title === "object" && typeof (title as { text?: unknown }).text === "string") {
    return (title as { text: string }).text;
  }
  return "chart";
}

function encodeBase64(bytes: Uint8Array): string {
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary);
}
