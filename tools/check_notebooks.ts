/**
 * Type-checks the TypeScript cells of every notebook (`deno task check` runs it; `deno check` itself rejects .ipynb).
 *
 *   deno run -A tools/check_notebooks.ts [notebook.ipynb ...]     # default: notebooks/*.ipynb
 *
 * Each notebook's code cells become one temporary module, in cell order, because that is how Deno's kernel runs them:
 * one session in which later cells see earlier cells' declarations, with top-level `await` allowed (a module allows
 * it too). `%magic`, `%%cell-magic` and `!shell` lines are commented out so the rest still type-checks, and reported,
 * because Deno's kernel has no magics and fails on them. A cell's last bare expression (what the kernel displays,
 * e.g. `chartDisplay(spec)`) is an ordinary expression statement and needs no handling.
 *
 * The module lives in a temporary directory, so relative imports (which the kernel resolves from the notebook's
 * directory, its working directory under Jupyter and nbconvert) are rewritten to absolute file URLs, and the
 * repository's deno.json is passed explicitly so bare specifiers resolve through the same import map.
 * Errors are reported as `notebooks/NAME.ipynb cell N, line L:C`, N counting code cells and markdown alike from 1 as
 * Jupyter shows them.
 *
 * Also refused, because they type-check but fail in the kernel: `import.meta` (the kernel evaluates cells as scripts)
 * and a notebook whose kernel is not Deno. Redeclaring a `const` in a later cell, which the kernel tolerates when a
 * cell is re-run, is an error here on purpose: top-to-bottom execution is what the reports do.
 *
 * @module
 */

import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { listNotebooks } from "./render_reports.ts";

/** One code cell of a notebook: its 1-based position among all cells and its source. */
export interface NotebookCodeCell {
  cell: number;
  source: string;
}

/** A problem found in a notebook, located by cell and line within the cell (1-based). */
export interface NotebookDiagnostic {
  notebook: string;
  cell: number;
  line: number;
  column: number;
  message: string;
}

/** The generated module of a notebook and where each cell starts in it. */
export interface NotebookModule {
  source: string;
  /** For each code cell: its cell number and the module line (1-based) of its first line. */
  cellStarts: { cell: number; firstLine: number; lines: number }[];
}

/** Read a notebook (nbformat 4) and return its code cells. Throws with the file name when it is not a notebook. */
export function readCodeCells(path: string): { kernel: string | undefined; cells: NotebookCodeCell[] } {
  let nb: { cells?: { cell_type: string; source: string | string[] }[]; metadata?: { kernelspec?: { name?: string } } };
  try {
    nb = JSON.parse(Deno.readTextFileSync(path));
  } catch (e) {
    throw new Error(`${path}: not a readable notebook (JSON): ${(e as Error).message}`);
  }
  if (!Array.isArray(nb.cells)) throw new Error(`${path}: not an nbformat 4 notebook (no "cells" array)`);
  const cells: NotebookCodeCell[] = [];
  nb.cells.forEach((c, i) => {
    if (c.cell_type === "code") {
      cells.push({ cell: i + 1, source: Array.isArray(c.source) ? c.source.join("") : c.source });
    }
  });
  return { kernel: nb.metadata?.kernelspec?.name, cells };
}

/**
 * Build the module that stands for a notebook's code cells. Relative import specifiers are resolved against
 * `notebookDir` and written as file URLs, so the module can live anywhere.
 */
export function notebookToModule(cells: readonly NotebookCodeCell[], notebookDir: string): NotebookModule {
  const out: string[] = ["// Generated from a notebook for type checking; not to be edited.", "export {};"];
  const cellStarts: NotebookModule["cellStarts"] = [];
  for (const { cell, source } of cells) {
    out.push(`// ---- cell ${cell} ----`);
    const lines = source.split("\n");
    cellStarts.push({ cell, firstLine: out.length + 1, lines: lines.length });
    for (const line of lines) {
      if (/^\s*(%|!)/.test(line)) {
        out.push(`// ${line}`);
      } else {
        out.push(rewriteRelativeSpecifiers(line, notebookDir));
      }
    }
  }
  return { source: out.join("\n") + "\n", cellStarts };
}

function rewriteRelativeSpecifiers(line: string, baseDir: string): string {
  // `from "./x"`, `import "./x"`, `import("./x")` with a relative specifier.
  return line.replace(
    /(\bfrom\s*|\bimport\s*\(?\s*)(["'])(\.\.?\/[^"']*)\2/g,
    (_m, head: string, quote: string, spec: string) =>
      `${head}${quote}${pathToFileURL(resolve(baseDir, spec)).href}${quote}`,
  );
}

/** Map a line of the generated module back to (cell, line within the cell). */
export function locateInCells(mod: NotebookModule, moduleLine: number): { cell: number; line: number } | undefined {
  for (const start of mod.cellStarts) {
    if (moduleLine >= start.firstLine && moduleLine < start.firstLine + start.lines) {
      return { cell: start.cell, line: moduleLine - start.firstLine + 1 };
    }
  }
  return undefined;
}

/** Problems the type checker cannot see: a non-Deno kernel, magics and shell escapes, and `import.meta`. */
export function lintCells(notebook: string, kernel: string | undefined, cells: readonly NotebookCodeCell[]) {
  const found: NotebookDiagnostic[] = [];
  if (kernel !== "deno") {
    found.push({
      notebook,
      cell: 0,
      line: 0,
      column: 0,
      message: `kernel is "${kernel ?? "(none)"}", expected "deno" (metadata.kernelspec.name)`,
    });
  }
  for (const { cell, source } of cells) {
    source.split("\n").forEach((text, i) => {
      const magic = text.match(/^(\s*)(%%?|!)/);
      if (magic) {
        found.push({
          notebook,
          cell,
          line: i + 1,
          column: magic[1].length + 1,
          message: `"${magic[2]}" lines (IPython magics / shell escapes) do not exist in Deno's kernel; ` +
            "use TypeScript (e.g. new Deno.Command(...) for a shell command)",
        });
        return;
      }
      const col = text.indexOf("import.meta");
      if (col >= 0 && !/^\s*\/\//.test(text)) {
        found.push({
          notebook,
          cell,
          line: i + 1,
          column: col + 1,
          message: "import.meta is not available in Deno's Jupyter kernel (cells run as scripts); use Deno.cwd()",
        });
      }
    });
  }
  return found;
}

/**
 * Type-check one notebook: write its module to a temporary directory and run `deno check` on it with the given
 * deno.json. Returns the diagnostics mapped back to cells (empty when clean).
 */
export async function checkNotebook(path: string, configPath: string): Promise<NotebookDiagnostic[]> {
  const notebook = relative(Deno.cwd(), path) || path;
  const { kernel, cells } = readCodeCells(path);
  const diagnostics = lintCells(notebook, kernel, cells);
  if (cells.length === 0) return diagnostics;
  const mod = notebookToModule(cells, dirname(resolve(path)));
  const dir = await Deno.makeTempDir({ prefix: "candor-nbcheck-" });
  const modulePath = join(dir, "notebook.ts");
  try {
    await Deno.writeTextFile(modulePath, mod.source);
    const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
      args: ["check", "--quiet", "--config", configPath, modulePath],
      env: { NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (code === 0) return diagnostics;
    const text = new TextDecoder().decode(stderr) + new TextDecoder().decode(stdout);
    diagnostics.push(...parseCheckOutput(text, modulePath, mod, notebook));
    if (diagnostics.length === 0) {
      diagnostics.push({ notebook, cell: 0, line: 0, column: 0, message: `deno check failed:\n${text.trim()}` });
    }
    return diagnostics;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** Parse `deno check` output (NO_COLOR) into diagnostics located in the notebook's cells. */
export function parseCheckOutput(
  text: string,
  modulePath: string,
  mod: NotebookModule,
  notebook: string,
): NotebookDiagnostic[] {
  const moduleUrl = pathToFileURL(modulePath).href;
  const found: NotebookDiagnostic[] = [];
  // Each error: "TSxxxx [ERROR]: message\n<source line>\n<marker>\n    at file:///...:L:C"
  const blocks = text.split(/\n(?=TS\d+ \[ERROR\]|error: )/);
  for (const block of blocks) {
    const head = block.match(/^(TS\d+) \[ERROR\]: ([\s\S]*?)\n/);
    if (!head) continue;
    const at = [...block.matchAll(/at (file:\/\/\S+?):(\d+):(\d+)/g)].find((m) => m[1] === moduleUrl);
    if (at) {
      const where = locateInCells(mod, Number(at[2]));
      found.push({
        notebook,
        cell: where?.cell ?? 0,
        line: where?.line ?? Number(at[2]),
        column: Number(at[3]),
        message: `${head[1]}: ${head[2].trim()}`,
      });
    } else {
      const other = block.match(/at (file:\/\/\S+?):(\d+):(\d+)/);
      const file = other ? `${relative(Deno.cwd(), fileURLToPath(other[1]))}:${other[2]}:${other[3]}` : "";
      found.push({ notebook, cell: 0, line: 0, column: 0, message: `${head[1]}: ${head[2].trim()} ${file}`.trim() });
    }
  }
  return found;
}

/** Format a diagnostic as one line for humans. */
export function formatDiagnostic(d: NotebookDiagnostic): string {
  const where = d.cell > 0 ? `${d.notebook} cell ${d.cell}, line ${d.line}:${d.column}` : d.notebook;
  return `${where}: ${d.message}`;
}

if (import.meta.main) {
  const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
  const paths = Deno.args.length > 0 ? Deno.args.map((p) => resolve(p)) : listNotebooks(join(root, "notebooks"));
  let failures = 0;
  for (const path of paths) {
    const diagnostics = await checkNotebook(path, join(root, "deno.json"));
    const name = relative(Deno.cwd(), path);
    if (diagnostics.length === 0) {
      console.error(`notebook ok: ${name}`);
    } else {
      failures += diagnostics.length;
      for (const d of diagnostics) console.error(formatDiagnostic(d));
    }
  }
  if (failures > 0) {
    console.error(`${failures} problem(s) in notebook cells.`);
    Deno.exit(1);
  }
  if (paths.length === 0) console.error("no notebooks found under notebooks/");
}
