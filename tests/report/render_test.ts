import assert from "node:assert/strict";
import { equityChart, foldMetricsChart, lineChart } from "../../lib/report/charts.ts";
import { compileToVega, renderPng, renderSvg } from "../../lib/report/render.ts";
import { ConfigError } from "../../lib/errors.ts";

/**
 * The path data of every line mark in a vega SVG: per mark, its sub-paths (vega writes "Mx,yLx,y...", starting a new
 * sub-path with "M" after a gap), each a list of [x, y] points.
 */
function lineSubpaths(svg: string): [number, number][][][] {
  const paths = [...svg.matchAll(/aria-roledescription="line mark" d="([^"]+)"/g)].map((m) => m[1]);
  return paths.map((d) => {
    assert.match(d, /^(M[-\d.,eL]+)+$/, `unexpected line path data: ${d}`);
    return d.split("M").slice(1).map((sub) => sub.split("L").map((p) => p.split(",").map(Number) as [number, number]));
  });
}

/** Points of single-piece lines (no gaps). */
function linePoints(svg: string): [number, number][][] {
  return lineSubpaths(svg).map((subs) => {
    assert.equal(subs.length, 1, "line has a gap");
    return subs[0];
  });
}

Deno.test("renderSvg draws one line per series with one vertex per date, in the data's geometry", async () => {
  const dates = ["2021-03-01", "2021-03-02", "2021-03-03", "2021-03-04", "2021-03-05"];
  const strategy = [1, 1.1, 1.05, 1.2, 1.15];
  const bench = [1, 0.9, 1.0, 1.3, 1.25];
  const svg = await renderSvg(
    equityChart({ dates, series: [{ name: "strategy", equity: strategy }, { name: "buy & hold", equity: bench }] }),
  );
  assert.ok(svg.startsWith("<svg"));
  assert.match(svg, /aria-label="Title text 'Equity \(growth of 1\)'"/);
  assert.match(svg, />date<\/text>/);
  assert.match(svg, />growth of 1<\/text>/);
  assert.match(svg, />strategy<\/text>/);
  assert.match(svg, />buy &amp; hold<\/text>/);
  const lines = linePoints(svg);
  assert.equal(lines.length, 2);
  for (const [k, equity] of [strategy, bench].entries()) {
    const pts = lines[k];
    assert.equal(pts.length, dates.length);
    // x: consecutive days are equally spaced on a time axis.
    const dx = pts[1][0] - pts[0][0];
    for (let t = 1; t < pts.length; t++) assert.ok(Math.abs(pts[t][0] - pts[t - 1][0] - dx) < 1e-2);
    // y: a linear scale preserves ratios of differences (screen y grows downwards, hence the sign).
    const scale = (pts[1][1] - pts[0][1]) / (equity[1] - equity[0]);
    assert.ok(scale < 0);
    for (let t = 2; t < pts.length; t++) {
      assert.ok(Math.abs((pts[t][1] - pts[0][1]) - scale * (equity[t] - equity[0])) < 1e-2);
    }
  }
});

Deno.test("renderSvg draws fold bars proportional to the values from zero, and the 0.5 rule at a 0.5 bar's top", async () => {
  const folds = [1, 2].map((k) => ({ fold: k, values: { model: 0.55, "coin flip": 0.5 } }));
  const svg = await renderSvg(foldMetricsChart({ folds }));
  const bars = [...svg.matchAll(/aria-roledescription="bar" d="M([-\d.]+),([-\d.]+)h([-\d.]+)v([-\d.]+)/g)].map((
    m,
  ) => ({
    label: m[0],
    top: Number(m[2]),
    height: Number(m[4]),
  }));
  assert.equal(bars.length, 4);
  const full = svg.match(
    /aria-label="fold: 1; [^"]*series: model[^"]*" role="graphics-symbol" aria-roledescription="bar" d="M[-\d.]+,([-\d.]+)h[-\d.]+v([-\d.]+)/,
  );
  const coin = svg.match(
    /aria-label="fold: 1; [^"]*series: coin flip[^"]*" role="graphics-symbol" aria-roledescription="bar" d="M[-\d.]+,([-\d.]+)h[-\d.]+v([-\d.]+)/,
  );
  assert.ok(full && coin);
  assert.ok(Math.abs(Number(full[2]) / Number(coin[2]) - 0.55 / 0.5) < 1e-6);
  const rule = svg.match(
    /aria-label="reference: 0.5" role="graphics-symbol" aria-roledescription="rule mark" transform="translate\([-\d.]+,([-\d.]+)\)/,
  );
  assert.ok(rule, "reference rule missing");
  assert.ok(Math.abs(Number(rule[1]) - Number(coin[1])) < 1e-6);
  assert.match(svg, />direction accuracy<\/text>/);
  assert.match(svg, />fold<\/text>/);
});

Deno.test("renderSvg leaves a gap for NaN and accepts a compiled Vega spec", async () => {
  const spec = lineChart({ x: [0, 1, 2, 3, 4], xType: "quantitative", series: { loss: [4, 3, NaN, 2, 1] } });
  const [subpaths] = lineSubpaths(await renderSvg(spec));
  // vega breaks a line at an undefined point: two pieces of 2 vertices each.
  assert.deepEqual(subpaths.map((s) => s.length), [2, 2]);
  const vegaSpec = await compileToVega(spec);
  assert.match(String(vegaSpec.$schema), /\/schema\/vega\/v6/);
  assert.ok((await renderSvg(vegaSpec)).startsWith("<svg"));
});

Deno.test("compileToVega turns an invalid Vega-Lite spec into a ConfigError", async () => {
  // deno-lint-ignore no-explicit-any
  await assert.rejects(() => compileToVega({ mark: "no-such-mark" } as any), ConfigError);
});

Deno.test("renderPng returns a PNG twice the SVG's size by default", async () => {
  const spec = lineChart({ x: [0, 1, 2], xType: "quantitative", series: { a: [0, 1, 0] }, width: 200, height: 100 });
  const svg = await renderSvg(spec);
  const width = Number(svg.match(/width="(\d+)"/)![1]);
  const height = Number(svg.match(/height="(\d+)"/)![1]);
  const png = await renderPng(spec);
  assert.deepEqual(Array.from(png.subarray(0, 8)), [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  const ihdr = new DataView(png.buffer, png.byteOffset + 16, 8);
  assert.equal(ihdr.getUint32(0), 2 * width);
  assert.equal(ihdr.getUint32(4), 2 * height);
  const one = await renderPng(spec, { scale: 1 });
  assert.equal(new DataView(one.buffer, one.byteOffset + 16, 4).getUint32(0), width);
});
