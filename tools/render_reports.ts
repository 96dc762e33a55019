/**
 * Executes every notebook and renders it to HTML (`deno task report`).
 *
 *   deno run -A tools/render_reports.ts [notebook.ipynb ...] [--out DIR]    # default: notebooks/*.ipynb → reports/
 *
 * Each notebook runs top to bottom in a fresh Deno kernel under `jupyter nbconvert --execute`, with the notebook's
 * own directory as the working directory (so `../lib/mod.ts` and the import map of deno.json resolve as they do in
 * Jupyter). A cell that throws fails that notebook, with nbconvert's report of the cell, and the command exits 1
 * after trying the others.
 *
 * nbconvert is run with tools/nbconvert/candor_config.py, whose template keeps inline SVG intact: nbconvert 6.5.x
 * (Debian 12) would otherwise empty every chart (jupyter/nbconvert#1849). Each report is then checked for an emptied
 * `<svg>`, so a wrong nbconvert set-up is caught here rather than by a reader.
 *
 * Requirements: Jupyter (Debian: jupyter-notebook jupyter-nbconvert python3-nbclient python3-ipykernel) and the
 * Deno kernel (`deno jupyter --install`). Missing either is reported with the command that installs it.
 *
 * @module
 */

import { basename, dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

/** Repository root (this file lives in tools/). */
export const REPO_ROOT: string = resolve(dirname(fileURLToPath(import.meta.url)), "..");

/** The nbconvert configuration that selects candor's SVG-preserving HTML template. */
export const NBCONVERT_CONFIG: string = join(REPO_ROOT, "tools", "nbconvert", "candor_config.py");

/** Why notebooks cannot be executed here, with the command that fixes it. */
export class JupyterUnavailableError extends Error {
  override name = "JupyterUnavailableError";
}

/** Result of rendering one notebook. */
export interface RenderResult {
  notebook: string;
  html: string;
  seconds: number;
  ok: boolean;
  /** nbconvert's diagnostics (stderr) when it failed, or the post-check's complaint. */
  error?: string;
  /** What the executed notebook's outputs contain (absent when execution failed). */
  outputs?: OutputSummary;
}

async function run(cmd: string, args: string[], cwd?: string) {
  try {
    const out = await new Deno.Command(cmd, { args, cwd, stdout: "piped", stderr: "piped" }).output();
    const dec = new TextDecoder();
    return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw e;
  }
}

/**
 * Check that `jupyter nbconvert` and the Deno kernel are available; throws JupyterUnavailableError naming the
 * missing piece and how to install it.
 */
export async function assertJupyterReady(): Promise<void> {
  const nbconvert = await run("jupyter", ["nbconvert", "--version"]);
  if (!nbconvert || nbconvert.code !== 0) {
    throw new JupyterUnavailableError(
      "Jupyter's nbconvert is not installed (the `jupyter nbconvert` command is missing). Install it with:\n" +
        "  sudo apt-get install jupyter-notebook jupyter-nbconvert python3-nbclient python3-ipykernel\n" +
        "or run `bash tools/setup.sh --no-demo`, which installs everything the project needs.",
    );
  }
  if (!(await denoKernelInstalled())) {
    throw new JupyterUnavailableError(
      "The Deno Jupyter kernel is not registered. Register it with:\n  deno jupyter --install",
    );
  }
}

/** Whether a kernelspec named "deno" exists in any of Jupyter's data directories. */
export async function denoKernelInstalled(): Promise<boolean> {
  const paths = await run("jupyter", ["--paths", "--json"]);
  if (!paths || paths.code !== 0) return false;
  const data = (JSON.parse(paths.stdout) as { data?: string[] }).data ?? [];
  for (const dir of data) {
    try {
      await Deno.stat(join(dir, "kernels", "deno", "kernel.json"));
      return true;
    } catch {
      // not in this data directory
    }
  }
  return false;
}

/** How `renderNotebook` decides that an execution showed everything. */
export interface RenderOptions {
  /**
   * `agree` (default, `deno task report`): two executions must show the same output in every cell. `once`: one
   * execution in which no displaying cell came back empty (cheaper; the test suite uses it to check that notebooks
   * run, while the agreement rule itself is unit-tested).
   */
  executions?: "agree" | "once";
}

/** At most this many executions of a notebook while looking for two that agree on every cell's output. */
export const EXECUTION_ATTEMPTS = 4;

/**
 * The first execution (from the last) that another execution agrees with cell by cell, that shows at least as much
 * as every execution in every cell, and has no lost cell; undefined while there is none.
 */
export function agreedExecution<T extends { outputs: OutputSummary }>(runs: T[]): T | undefined {
  if (runs.length < 2) return undefined;
  const cells = runs[0].outputs.cellSizes.length;
  const most = Array.from({ length: cells }, (_, c) => Math.max(...runs.map((r) => r.outputs.cellSizes[c] ?? 0)));
  for (let i = runs.length - 1; i >= 0; i--) {
    const sizes = runs[i].outputs.cellSizes;
    if (runs[i].outputs.lostCells.length > 0 || sizes.some((v, c) => v !== most[c])) continue;
    if (runs.some((r, j) => j !== i && r.outputs.cellSizes.every((v, c) => v === sizes[c]))) return runs[i];
  }
  return undefined;
}

/** Cells (1-based, among all cells) whose output size differs between executions. */
export function differingCells(summaries: OutputSummary[]): number[] {
  const out: number[] = [];
  summaries[0]?.codeCellIndices.forEach((cell, c) => {
    if (summaries.some((s) => s.cellSizes[c] !== summaries[0].cellSizes[c])) out.push(cell);
  });
  return out;
}

/** Empty `<svg ...></svg>` elements in an HTML report: what nbconvert's sanitizer leaves of a chart. */
export function countEmptiedSvgs(html: string): number {
  return [...html.matchAll(/<svg\b[^>]*>\s*<\/svg>/g)].length;
}

/**
 * Execute one notebook and write `<outDir>/<name>.html`. Never throws for a failing notebook: the result says what
 * went wrong. Two nbconvert passes: execute to a temporary .ipynb (so the outputs can be inspected as data), then
 * convert that to HTML with candor's template. `options.executions` says when an execution is accepted (see
 * {@link RenderOptions}).
 */
export async function renderNotebook(
  notebook: string,
  outDir: string,
  options: RenderOptions = {},
): Promise<RenderResult> {
  const agree = (options.executions ?? "agree") === "agree";
  const name = basename(notebook, ".ipynb");
  const html = join(outDir, `${name}.html`);
  const started = performance.now();
  const elapsed = () => (performance.now() - started) / 1000;
  const tmp = await Deno.makeTempDir({ prefix: "candor-report-" });
  try {
    // Deno's kernel can publish an output after it has reported the cell finished; nbclient stops listening there,
    // so the output was lost (more likely under load): a whole cell's output, or one line or table of it. The
    // executor in tools/nbconvert/candor_config.py keeps listening a moment after "idle". As a check: notebooks are
    // seeded, so every execution must show the same amount in every cell. The notebook is executed
    // until two executions agree cell by cell and show as much as any execution did (at least 2, at most
    // EXECUTION_ATTEMPTS times); a cell that still differs, or shows nothing though it calls a display helper, fails.
    const runs: { path: string; outputs: OutputSummary }[] = [];
    let accepted: { path: string; outputs: OutputSummary } | undefined;
    for (let attempt = 1; attempt <= EXECUTION_ATTEMPTS && accepted === undefined; attempt++) {
      const output = `${name}.run${attempt}`;
      const executed = await run("jupyter", [
        "nbconvert",
        "--config",
        NBCONVERT_CONFIG,
        "--to",
        "notebook",
        "--execute",
        "--output-dir",
        tmp,
        "--output",
        output,
        resolve(notebook),
      ], dirname(resolve(notebook)));
      if (!executed) {
        return { notebook, html, seconds: elapsed(), ok: false, error: "the `jupyter` command is missing" };
      }
      if (executed.code !== 0) {
        return { notebook, html, seconds: elapsed(), ok: false, error: nbconvertError(executed.stderr) };
      }
      const path = join(tmp, `${output}.ipynb`);
      runs.push({ path, outputs: summarizeOutputs(JSON.parse(await Deno.readTextFile(path))) });
      const latest = runs[runs.length - 1];
      accepted = agree ? agreedExecution(runs) : latest.outputs.lostCells.length === 0 ? latest : undefined;
      if (accepted === undefined && attempt >= 2 && attempt < EXECUTION_ATTEMPTS) {
        const differing = differingCells(runs.map((r) => r.outputs));
        console.error(
          `${basename(notebook)}: cell(s) ${differing.join(", ")} showed different output; executing again`,
        );
      }
    }
    if (accepted === undefined) {
      const last = runs[runs.length - 1].outputs;
      const differing = differingCells(runs.map((r) => r.outputs));
      return {
        notebook,
        html,
        seconds: elapsed(),
        ok: false,
        outputs: last,
        error: differing.length > 0
          ? `cell(s) ${differing.join(", ")} showed different output in ${runs.length} executions (lost kernel output)`
          : `cell(s) ${last.lostCells.join(", ")} showed nothing in ${runs.length} executions ` +
            "(they call showChart/showTable/Deno.jupyter.display)",
      };
    }
    const outputs = accepted.outputs;
    await Deno.copyFile(accepted.path, join(tmp, `${name}.ipynb`));
    const converted = await run("jupyter", [
      "nbconvert",
      "--config",
      NBCONVERT_CONFIG,
      "--to",
      "html",
      "--output-dir",
      resolve(outDir),
      "--output",
      name,
      join(tmp, `${name}.ipynb`),
    ]);
    if (!converted || converted.code !== 0) {
      return { notebook, html, seconds: elapsed(), ok: false, outputs, error: nbconvertError(converted?.stderr ?? "") };
    }
    const emptied = countEmptiedSvgs(await Deno.readTextFile(html));
    if (emptied > 0) {
      return {
        notebook,
        html,
        seconds: elapsed(),
        ok: false,
        outputs,
        error: `${emptied} chart(s) were emptied by nbconvert's HTML sanitizer; is ${
          relative(Deno.cwd(), NBCONVERT_CONFIG)
        } being used?`,
      };
    }
    return { notebook, html, seconds: elapsed(), ok: true, outputs };
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
}

/** What an executed notebook's outputs contain. */
export interface OutputSummary {
  /** Number of code cells. */
  codeCells: number;
  /** Outputs of type "error" (a cell threw). */
  errors: number;
  /** Outputs carrying an `image/svg+xml` representation. */
  svgs: number;
  /** Cells (1-based, among all cells) with an error output. */
  errorCells: number[];
  /** Code cells (1-based, among all cells) that produced no output at all. */
  silentCells: number[];
  /** Silent cells whose source shows something (showChart, showTable, Deno.jupyter.display): lost outputs. */
  lostCells: number[];
  /** Cells (1-based, among all cells) that are code cells, in order. */
  codeCellIndices: number[];
  /**
   * How much each code cell showed, in the order of `codeCellIndices`: lines of stream text plus one per other
   * output (display data, results, errors). Seeded notebooks show the same amount on every execution.
   */
  cellSizes: number[];
}

/** A cell source that publishes output while it runs. */
const SHOWS_OUTPUT = /\bshow(Chart|Table)\s*\(|\bDeno\.jupyter\.display\s*\(/;

/** Count code cells, error outputs, SVG outputs and silent cells of an executed notebook (nbformat 4 JSON). */
export function summarizeOutputs(nb: {
  cells: {
    cell_type: string;
    source?: string | string[];
    outputs?: { output_type: string; data?: Record<string, unknown>; text?: string | string[] }[];
  }[];
}): OutputSummary {
  const summary: OutputSummary = {
    codeCells: 0,
    errors: 0,
    svgs: 0,
    errorCells: [],
    silentCells: [],
    lostCells: [],
    codeCellIndices: [],
    cellSizes: [],
  };
  nb.cells.forEach((cell, i) => {
    if (cell.cell_type !== "code") return;
    summary.codeCells++;
    summary.codeCellIndices.push(i + 1);
    let size = 0;
    for (const out of cell.outputs ?? []) {
      if (out.output_type === "stream") {
        const text = Array.isArray(out.text) ? out.text.join("") : out.text ?? "";
        size += text.split("\n").filter((line) => line.length > 0).length;
      } else size++;
    }
    summary.cellSizes.push(size);
    if ((cell.outputs ?? []).length === 0) {
      summary.silentCells.push(i + 1);
      const source = Array.isArray(cell.source) ? cell.source.join("") : cell.source ?? "";
      if (SHOWS_OUTPUT.test(source)) summary.lostCells.push(i + 1);
    }
    for (const out of cell.outputs ?? []) {
      if (out.output_type === "error") {
        summary.errors++;
        if (!summary.errorCells.includes(i + 1)) summary.errorCells.push(i + 1);
      }
      if (out.data && "image/svg+xml" in out.data) summary.svgs++;
    }
  });
  return summary;
}

/** The useful part of nbconvert's stderr: from the cell error on, without the kernel's start-up noise. */
function nbconvertError(stderr: string): string {
  const lines = stderr.split("\n").filter((l) =>
    !/deno jupyter" is unstable|^\[NbConvertApp\] (Converting|Writing)/.test(l)
  );
  const cellError = lines.findIndex((l) => /An error occurred while executing/.test(l));
  const start = cellError >= 0 ? cellError : lines.findIndex((l) => /Traceback/.test(l));
  return lines.slice(start >= 0 ? start : Math.max(0, lines.length - 40)).join("\n").trim();
}

/** The notebooks under a directory, sorted by name. */
export function listNotebooks(dir: string): string[] {
  try {
    return [...Deno.readDirSync(dir)]
      .filter((e) => e.isFile && e.name.endsWith(".ipynb") && !e.name.startsWith("."))
      .map((e) => join(dir, e.name))
      .sort();
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return [];
    throw e;
  }
}

if (import.meta.main) {
  const { values, positionals } = parseArgs({
    args: Deno.args,
    options: { out: { type: "string", default: join(REPO_ROOT, "reports") } },
    allowPositionals: true,
  });
  const notebooks = positionals.length > 0 ? positionals : listNotebooks(join(REPO_ROOT, "notebooks"));
  if (notebooks.length === 0) {
    console.error("no notebooks found under notebooks/");
    Deno.exit(0);
  }
  try {
    await assertJupyterReady();
  } catch (e) {
    if (e instanceof JupyterUnavailableError) {
      console.error(`report: ${e.message}`);
      Deno.exit(2);
    }
    throw e;
  }
  await Deno.mkdir(values.out!, { recursive: true });
  let failed = 0;
  for (const [i, notebook] of notebooks.entries()) {
    const label = `[${i + 1}/${notebooks.length}] ${relative(Deno.cwd(), resolve(notebook))}`;
    console.error(`${label}: executing…`);
    const r = await renderNotebook(notebook, values.out!);
    if (r.ok) {
      console.error(`${label}: ok in ${r.seconds.toFixed(1)} s → ${relative(Deno.cwd(), r.html)}`);
    } else {
      failed++;
      console.error(`${label}: FAILED after ${r.seconds.toFixed(1)} s\n${r.error}\n`);
    }
  }
  if (failed > 0) {
    console.error(`${failed} of ${notebooks.length} notebook(s) failed.`);
    Deno.exit(1);
  }
}
