import assert from "node:assert/strict";
import { join } from "node:path";
import {
  checkNotebook,
  locateInCells,
  notebookToModule,
  readCodeCells,
  unformattedCells,
} from "../../tools/check_notebooks.ts";
import { REPO_ROOT } from "../../tools/render_reports.ts";

const CONFIG = join(REPO_ROOT, "deno.json");

function notebookJson(cells: { type: "code" | "markdown"; source: string }[], kernel = "deno") {
  return JSON.stringify({
    nbformat: 4,
    nbformat_minor: 5,
    metadata: { kernelspec: { name: kernel, display_name: "Deno", language: "typescript" } },
    cells: cells.map((c) =>
      c.type === "code"
        ? { cell_type: "code", metadata: {}, execution_count: null, outputs: [], source: c.source }
        : { cell_type: "markdown", metadata: {}, source: c.source }
    ),
  });
}

Deno.test("notebookToModule keeps cell order, comments out magics and maps lines back to cells", () => {
  const mod = notebookToModule([
    { cell: 2, source: 'import { x } from "./helper.ts";\n%time\nconst a = await Promise.resolve(x);' },
    { cell: 4, source: "a + 1" },
  ], "/nb/dir");
  const lines = mod.source.split("\n");
  assert.ok(lines.includes('import { x } from "file:///nb/dir/helper.ts";'));
  assert.ok(lines.includes("// %time"));
  const second = lines.indexOf("a + 1") + 1; // 1-based module line
  assert.deepEqual(locateInCells(mod, second), { cell: 4, line: 1 });
  const third = lines.indexOf("const a = await Promise.resolve(x);") + 1;
  assert.deepEqual(locateInCells(mod, third), { cell: 2, line: 3 });
  assert.equal(locateInCells(mod, 1), undefined);
});

Deno.test("checkNotebook reports type errors by cell and line, resolving relative imports from the notebook's folder", async () => {
  const dir = await Deno.makeTempDir({ prefix: "candor-nbcheck-test-" });
  try {
    await Deno.writeTextFile(
      join(dir, "helper.ts"),
      "export function double(n: number): number {\n  return 2 * n;\n}\n",
    );
    const path = join(dir, "sample.ipynb");
    await Deno.writeTextFile(
      path,
      notebookJson([
        { type: "markdown", source: "# title" },
        {
          type: "code",
          source: 'import { double } from "./helper.ts";\nconst four = await Promise.resolve(double(2));',
        },
        { type: "markdown", source: "text" },
        { type: "code", source: 'const ok: number = four;\nconst bad: string = double("x");\nok' },
        { type: "code", source: "%%time\nconsole.log(import.meta.url);" },
      ]),
    );
    assert.equal(readCodeCells(path).cells.length, 3);
    const found = await checkNotebook(path, CONFIG);
    const typeErrors = found.filter((d) => d.message.startsWith("TS")).map((d) =>
      `cell ${d.cell} line ${d.line} ${d.message.split(":")[0]}`
    );
    // Cell 4, line 2: `double("x")` takes a number (TS2345) and returns one, not a string (TS2322).
    assert.deepEqual(typeErrors.sort(), ["cell 4 line 2 TS2322", "cell 4 line 2 TS2345"]);
    assert.ok(found.some((d) => d.cell === 5 && d.line === 1 && d.message.includes("magics")));
    assert.ok(found.some((d) => d.cell === 5 && d.line === 2 && d.message.includes("import.meta")));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("checkNotebook passes a clean notebook and refuses a non-Deno kernel", async () => {
  const dir = await Deno.makeTempDir({ prefix: "candor-nbcheck-test-" });
  try {
    const clean = join(dir, "clean.ipynb");
    await Deno.writeTextFile(
      clean,
      notebookJson([{ type: "code", source: "const n: number = await Promise.resolve(1);\nn;" }]),
    );
    assert.deepEqual(await checkNotebook(clean, CONFIG), []);
    const python = join(dir, "python.ipynb");
    await Deno.writeTextFile(python, notebookJson([{ type: "code", source: "const n = 1;" }], "python3"));
    const found = await checkNotebook(python, CONFIG);
    assert.equal(found.length, 1);
    assert.match(found[0].message, /expected "deno"/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("unformatted code cells are reported at their first differing line, and --fix rewrites only those cells", async () => {
  const dir = await Deno.makeTempDir({ prefix: "candor-nbcheck-test-" });
  try {
    const path = join(dir, "fmt.ipynb");
    await Deno.writeTextFile(
      path,
      notebookJson([
        { type: "markdown", source: "# keep   this   markdown as is" },
        { type: "code", source: "const a = 1;\nconst b = {c:1}\nb" },
        { type: "code", source: "const d: number = a + 1;\nd; // the kernel still displays d" },
        { type: "code", source: "%%time\nconst e = {f:1}" },
      ]),
    );
    const found = await unformattedCells("fmt.ipynb", readCodeCells(path).cells, CONFIG);
    // Cell 2 line 2 lacks spaces in the object and the semicolons (deno fmt ends `b` with one too); cell 3 is formatted; cell 4 has a magic.
    assert.deepEqual(found.map((f) => [f.cell, f.diagnostic.line]), [[2, 2]]);
    assert.equal(found[0].formatted, "const a = 1;\nconst b = { c: 1 };\nb;");
    assert.ok((await checkNotebook(path, CONFIG)).some((d) => d.cell === 2 && /not formatted/.test(d.message)));

    await checkNotebook(path, CONFIG, { fix: true });
    const nb = JSON.parse(await Deno.readTextFile(path));
    assert.deepEqual(nb.cells[1].source, ["const a = 1;\n", "const b = { c: 1 };\n", "b;"]);
    assert.equal(nb.cells[2].source, "const d: number = a + 1;\nd; // the kernel still displays d");
    assert.equal(nb.cells[0].source, "# keep   this   markdown as is");
    assert.deepEqual((await checkNotebook(path, CONFIG)).filter((d) => /not formatted/.test(d.message)), []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
