import assert from "node:assert/strict";
import { join } from "node:path";
import { FACTS_MIME } from "../../notebooks/facts.ts";
import {
  agreedExecution,
  collectFacts,
  countEmptiedSvgs,
  differingCells,
  externalResources,
  kernelEnvironment,
  NBCONVERT_CONFIG,
  type OutputSummary,
  summarizeOutputs,
} from "../../tools/render_reports.ts";

const SVG =
  '<svg xmlns="http://www.w3.org/2000/svg" width="20" height="10"><path d="M0,0L20,10" stroke="black"/></svg>';

Deno.test("countEmptiedSvgs finds the empty boxes nbconvert's sanitizer leaves, and only those", () => {
  assert.equal(countEmptiedSvgs(`<div>${SVG}</div>`), 0);
  assert.equal(countEmptiedSvgs('<svg width="20" height="10"></svg> and <svg>\n </svg>'), 2);
});

Deno.test("summarizeOutputs counts code cells, error outputs (by cell), SVG outputs, silent cells and lost outputs", () => {
  const summary = summarizeOutputs({
    cells: [
      { cell_type: "markdown" },
      { cell_type: "code", outputs: [{ output_type: "display_data", data: { "image/svg+xml": SVG } }] },
      { cell_type: "code", outputs: [{ output_type: "stream", text: ["a\n", "b\n"] }, { output_type: "error" }] },
      { cell_type: "code", outputs: [{ output_type: "execute_result", data: { "text/plain": "1" } }] },
      { cell_type: "code", source: "const quiet = 1;", outputs: [] },
      { cell_type: "code", source: ["const x = 1;\n", "await showTable([{ x }]);"], outputs: [] },
    ],
  });
  assert.deepEqual(summary, {
    codeCells: 5,
    errors: 1,
    svgs: 1,
    errorCells: [3],
    silentCells: [5, 6],
    lostCells: [6],
    codeCellIndices: [2, 3, 4, 5, 6],
    // display 1; two stream lines + an error; a result; nothing; nothing.
    cellSizes: [1, 3, 1, 0, 0],
  });
});

function execution(cellSizes: number[], lostCells: number[] = []): { outputs: OutputSummary } {
  return {
    outputs: {
      codeCells: cellSizes.length,
      errors: 0,
      svgs: 0,
      errorCells: [],
      silentCells: [],
      lostCells,
      codeCellIndices: cellSizes.map((_, i) => 2 * i + 1),
      cellSizes,
    },
  };
}

Deno.test("agreedExecution needs two executions that agree cell by cell and show as much as any execution did", () => {
  const full = execution([2, 1, 3]);
  const lostLine = execution([1, 1, 3]); // one line of cell 1 never arrived
  assert.equal(agreedExecution([full]), undefined, "one execution proves nothing");
  assert.equal(agreedExecution([full, lostLine]), undefined, "they disagree");
  // Two executions that agree but both lost the same line are not enough once a fuller one has been seen.
  const lostAgain = execution([1, 1, 3]);
  assert.equal(agreedExecution([full, lostLine, lostAgain]), undefined);
  const fullAgain = execution([2, 1, 3]);
  assert.equal(agreedExecution([full, lostLine, fullAgain]), fullAgain);
  // A cell that calls a display helper and showed nothing is never accepted, even if the executions agree.
  assert.equal(agreedExecution([execution([0, 1], [1]), execution([0, 1], [1])]), undefined);
  assert.deepEqual(differingCells([full.outputs, lostLine.outputs, fullAgain.outputs]), [1]);
  assert.deepEqual(differingCells([full.outputs, fullAgain.outputs]), []);
});

Deno.test({
  name: "candor's nbconvert template keeps the inside of inline SVG outputs (nbconvert 6.5 would empty them)",
  // Conversion only (no kernel), so it needs nbconvert but not the Deno kernel.
  ignore: !(await hasNbconvert()),
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "candor-template-test-" });
    try {
      const nb = {
        nbformat: 4,
        nbformat_minor: 4,
        metadata: { kernelspec: { name: "deno", display_name: "Deno", language: "typescript" } },
        cells: [{
          cell_type: "code",
          metadata: {},
          execution_count: 1,
          source: "chart",
          outputs: [{ output_type: "display_data", metadata: {}, data: { "image/svg+xml": SVG, "text/plain": "x" } }],
        }],
      };
      await Deno.writeTextFile(join(dir, "svg.ipynb"), JSON.stringify(nb));
      const out = await new Deno.Command("jupyter", {
        args: ["nbconvert", "--config", NBCONVERT_CONFIG, "--to", "html", join(dir, "svg.ipynb")],
        stdout: "piped",
        stderr: "piped",
      }).output();
      assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
      const html = await Deno.readTextFile(join(dir, "svg.html"));
      assert.ok(html.includes('<path d="M0,0L20,10" stroke="black"/>'), "the SVG's path was stripped");
      assert.equal(countEmptiedSvgs(html), 0);
      // The code is folded so the story reads first, and nothing is loaded from the rendering machine (Debian's
      // nbconvert points require.js and MathJax at /usr/share/javascript).
      assert.ok(html.includes('<details class="candor-code">\n<summary>code</summary>'), "the code cell is not folded");
      assert.deepEqual(externalResources(html), []);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

async function hasNbconvert(): Promise<boolean> {
  try {
    const out = await new Deno.Command("jupyter", { args: ["nbconvert", "--version"], stdout: "null", stderr: "null" })
      .output();
    return out.code === 0;
  } catch {
    return false;
  }
}

Deno.test("externalResources lists what a report would load from outside itself, and nothing else", () => {
  const selfContained = '<html><head><style>.a { background: url("data:image/png;base64,AAAA"); }</style></head>' +
    '<body><a href="https://example.com/paper">a link is not a resource</a><a href="#section">anchor</a>' +
    `<img src="data:image/png;base64,AAAA">${SVG}<svg><a href="https://vega.github.io">chart text</a></svg></body></html>`;
  assert.deepEqual(externalResources(selfContained), []);
  // What Debian's nbconvert 6.5 writes into the lab template, and other ways to depend on the rendering machine.
  const leaky = '<script src="file:///usr/share/javascript/requirejs/require.min.js"></script>' +
    '<script type="text/javascript" src="https://cdn.example/mathjax.js"></script>' +
    '<link rel="stylesheet" href="/usr/share/x.css"><img src="figure.png">' +
    "<style>@import 'fonts.css'; .b { background: url(/tmp/bg.png) }</style>";
  assert.deepEqual(externalResources(leaky), [
    '<script src="file:///usr/share/javascript/requirejs/require.min.js">',
    '<script src="https://cdn.example/mathjax.js">',
    '<img src="figure.png">',
    '<link href="/usr/share/x.css">',
    "url(/tmp/bg.png)",
    '@import "fonts.css"',
  ]);
});

Deno.test("collectFacts merges every facts output of an executed notebook in cell order", () => {
  const facts = collectFacts({
    cells: [
      { cell_type: "markdown" },
      { cell_type: "code", outputs: [{ output_type: "display_data", data: { [FACTS_MIME]: { a: 1, b: "x" } } }] },
      { cell_type: "code", outputs: [{ output_type: "stream", text: "not facts" }] },
      // A later cell overrides a key; Jupyter may store JSON bundles as text.
      { cell_type: "code", outputs: [{ output_type: "display_data", data: { [FACTS_MIME]: '{"b":"y","c":[1,2]}' } }] },
    ],
  });
  assert.deepEqual(facts, { a: 1, b: "y", c: [1, 2] });
});

Deno.test("a silent cell that calls recordFacts or chapterPrices counts as lost output", () => {
  const summary = summarizeOutputs({
    cells: [
      { cell_type: "code", source: "await recordFacts({ a: 1 });", outputs: [] },
      { cell_type: "code", source: 'const p = await chapterPrices({ symbols: ["A"] });', outputs: [] },
      { cell_type: "code", source: "const quiet = 1;", outputs: [] },
    ],
  });
  assert.deepEqual(summary.lostCells, [1, 2]);
});

Deno.test("kernelEnvironment passes the price folder as an absolute path (kernels run in notebooks/)", () => {
  assert.deepEqual(kernelEnvironment("relative/prices"), { CANDOR_REAL_DATA: join(Deno.cwd(), "relative", "prices") });
  assert.deepEqual(kernelEnvironment("/abs/prices"), { CANDOR_REAL_DATA: "/abs/prices" });
  assert.deepEqual(kernelEnvironment(undefined), {});
});
