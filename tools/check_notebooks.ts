/**
 * Type-checks the TypeScript cells of every notebook (`deno task check` runs it; `deno check` itself rejects .ipynb).
 *
 *   deno run -A tools/check_notebooks.ts [--fix] [notebook.ipynb ...]     # default: notebooks/*.ipynb
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
 * Code cells must also be formatted as `deno fmt` formats TypeScript (with the repository's deno.json, so the same line
 * width). `deno fmt` itself skips notebooks here (deno.json's fmt.exclude): Deno 2.9.6's `deno fmt --check` reports
 * every .ipynb as "not formatted" when its incremental cache is empty — as on a fresh CI machine — while `deno fmt`
 * rewrites the file byte for byte unchanged. `--fix` rewrites unformatted cells in place.
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

/** Format TypeScript source as `deno fmt` would with the given deno.json (same line width and options). */
export async function formatTypeScript(source: string, configPath: string): Promise<string> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["fmt", "--quiet", "--config", configPath, "--ext", "ts", "-"],
    env: { NO_COLOR: "1" },
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(source.endsWith("\n") ? source : source + "\n"));
  await writer.close();
  const { code, stdout, stderr } = await child.output();
  if (code !== 0) throw new Error(new TextDecoder().decode(stderr).trim() || `deno fmt exited with ${code}`);
  return new TextDecoder().decode(stdout).replace(/\n+$/, "");
}

/**
 * Code cells that `deno fmt` would change, each with the formatted source and a diagnostic at the first differing
 * line. Cells with magics are skipped (they are not TypeScript, and lintCells reports them); a cell that does not
 * parse is left to the type check, which reports it with a better message.
 */
export async function unformattedCells(
  notebook: string,
  cells: readonly NotebookCodeCell[],
  configPath: string,
): Promise<{ cell: number; formatted: string; diagnostic: NotebookDiagnostic }[]> {
  const found: { cell: number; formatted: string; diagnostic: NotebookDiagnostic }[] = [];
  for (const { cell, source } of cells) {
    if (source.split("\n").some((l) => /^\s*(%|!)/.test(l))) continue;
    let formatted: string;
    try {
      formatted = await formatTypeScript(source, configPath);
    } catch {
      continue;
    }
    const original = source.replace(/\n+$/, "");
    if (formatted === original) continue;
    const a = original.split("\n"), b = formatted.split("\n");
    let i = 0;
    while (i < a.length && i < b.length && a[i] === b[i]) i++;
    found.push({
      cell,
      formatted,
      diagnostic: {
        notebook,
        cell,
        line: i + 1,
        column: 1,
        message: `not formatted (deno fmt would write ${JSON.stringify(b[i] ?? "")}); ` +
          "run `deno run -A tools/check_notebooks.ts --fix`",
      },
    });
  }
  return found;
}

/** Replace the sources of the given code cells (numbered as Jupyter shows them) and write the notebook back. */
export function rewriteCells(path: string, sources: ReadonlyMap<number, string>): void {
  const nb = JSON.parse(Deno.readTextFileSync(path)) as { cells: { source: string | string[] }[] };
  for (const [cell, source] of sources) {
    const lines = source.split("\n");
    nb.cells[cell - 1].source = lines.map((l, i) => (i < lines.length - 1 ? l + "\n" : l));
  }
  // Jupyter's own layout: one-space indent, non-ASCII kept, trailing newline.
  Deno.writeTextFileSync(path, JSON.stringify(nb, null, 1) + "\n");
}

/**
 * Type-check one notebook: write its module to a temporary directory and run `deno check` on it with the given
 * deno.json. Returns the diagnostics mapped back to cells (empty when clean).
 */
export async function checkNotebook(
  path: string,
  configPath: string,
  opts: { fix?: boolean } = {},
): Promise<NotebookDiagnostic[]> {
  const notebook = relative(Deno.cwd(), path) || path;
  let { kernel, cells } = readCodeCells(path);
  const unformatted = await unformattedCells(notebook, cells, configPath);
  if (opts.fix && unformatted.length > 0) {
    rewriteCells(path, new Map(unformatted.map((u) => [u.cell, u.formatted])));
    ({ kernel, cells } = readCodeCells(path));
  }
  const diagnostics = lintCells(notebook, kernel, cells);
  if (!opts.fix) diagnostics.push(...unformatted.map((u) => u.diagnostic));
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
  const fix = Deno.args.includes("--fix");
  const args = Deno.args.filter((a) => a !== "--fix");
  const paths = args.length > 0 ? args.map((p) => resolve(p)) : listNotebooks(join(root, "notebooks"));
  let failures = 0;
  for (const path of paths) {
    const diagnostics = await checkNotebook(path, join(root, "deno.json"), { fix });
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
