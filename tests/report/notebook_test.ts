import assert from "node:assert/strict";
import { equityChart } from "../../lib/report/charts.ts";
import {
  chartBundle,
  chartDisplay,
  showChart,
  showTable,
  tableBundle,
  tableDisplay,
  VEGA_LITE_MIME,
} from "../../lib/report/notebook.ts";
import { ConfigError } from "../../lib/errors.ts";
import { compileToVega } from "../../lib/report/render.ts";

const spec = equityChart({
  dates: ["2021-01-04", "2021-01-05"],
  series: [{ name: "strategy", equity: [1, 1.1] }],
  title: "Equity test",
});

Deno.test("chartBundle carries the Vega-Lite spec unchanged, an SVG with path data and a text fallback", async () => {
  const bundle = await chartBundle(spec);
  assert.deepEqual(Object.keys(bundle).sort(), ["image/svg+xml", "text/plain", VEGA_LITE_MIME].sort());
  assert.equal(bundle[VEGA_LITE_MIME], spec);
  const svg = bundle["image/svg+xml"] as string;
  assert.ok(svg.startsWith("<svg"));
  assert.match(svg, /aria-roledescription="line mark" d="M[^"]+"/);
  assert.equal(bundle["text/plain"], "[chart] Equity test");
  const withPng = await chartBundle(spec, { png: true });
  const png = Uint8Array.from(atob(withPng["image/png"] as string), (c) => c.charCodeAt(0));
  assert.deepEqual(Array.from(png.subarray(1, 4)), [0x50, 0x4e, 0x47]); // "PNG"
  // A compiled Vega spec is not announced as Vega-Lite.
  assert.equal(VEGA_LITE_MIME in await chartBundle(await compileToVega(spec)), false);
});

Deno.test("chartDisplay and tableDisplay answer the Deno kernel's display protocol", async () => {
  const display = Symbol.for("Jupyter.display");
  // deno-lint-ignore no-explicit-any
  const chart = chartDisplay(spec) as any;
  assert.equal(typeof chart[display], "function");
  assert.ok((await chart[display]())["image/svg+xml"].startsWith("<svg"));
  // deno-lint-ignore no-explicit-any
  const table = tableDisplay([{ a: 1 }]) as any;
  assert.match((await table[display]())["text/html"], /<td>1<\/td>/);
});

Deno.test("tableBundle formats numbers, escapes HTML and keeps the column order", () => {
  const bundle = tableBundle(
    [{ fold: 1, accuracy: 0.523456, note: "<b>" }, { fold: 2, accuracy: NaN, note: null }],
    { columns: ["fold", "accuracy", "note"], digits: 3, caption: "folds" },
  );
  const html = bundle["text/html"] as string;
  assert.match(html, /<caption>folds<\/caption>/);
  assert.match(html, /<th>fold<\/th><th>accuracy<\/th><th>note<\/th>/);
  assert.match(html, /<td>1<\/td><td>0.523<\/td><td>&lt;b&gt;<\/td>/);
  assert.match(html, /<td>2<\/td><td>NaN<\/td><td><\/td>/);
  const text = (bundle["text/plain"] as string).split("\n");
  assert.deepEqual(text, ["folds", "fold  accuracy  note", "   1     0.523   <b>", "   2       NaN      "]);
});

Deno.test("showChart and showTable refuse to run outside Deno's Jupyter kernel, saying what to use instead", async () => {
  await assert.rejects(() => showChart(spec), (e: unknown) => e instanceof ConfigError && /renderSvg/.test(e.message));
  await assert.rejects(() => showTable([{ a: 1 }]), ConfigError);
});
