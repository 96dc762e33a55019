/**
 * Executes every notebook and renders it to HTML (`deno task report`).
 *
 *   deno run -A tools/render_reports.ts [notebook.ipynb ...] [--out DIR] [--jobs N] [--verify]
 *
 * Default: notebooks/*.ipynb → reports/, two notebooks at a time. Each notebook runs top to bottom in a fresh Deno
 * kernel under `jupyter nbconvert --execute`, with the notebook's own directory as the working directory (so
 * `../lib/mod.ts` and the import map of deno.json resolve as they do in Jupyter), then is converted to HTML with
 * candor's template. A cell that throws fails that notebook, with nbconvert's report of the cell, and the command
 * exits 1 after trying the others. A report is replaced only when its notebook succeeded.
 *
 * **No lost output.** Deno's kernel can publish a cell's last printed lines after reporting the cell finished, where
 * nbclient stops listening (measured: 7 of 12 cells lost lines in a notebook printing 350 lines per cell). The
 * executor in tools/nbconvert/candor_config.py runs an output barrier after every cell (a marker printed through the
 * kernel's first-in-first-out output queue; everything the cell printed arrives before it), so one execution is
 * complete by construction. As a second guard, a cell that calls a display helper (showChart, showTable,
 * recordFacts, chapterPrices, `Deno.jupyter.display`) and shows nothing fails the report. `--verify` additionally
 * executes each notebook until two executions show the same amount of output in every cell (the check the reports
 * relied on before the barrier; the renderer's tests run it).
 *
 * **Checks on every report**: no chart emptied by nbconvert's HTML sanitizer (nbconvert 6.5.x, Debian 12, would empty
 * every inline SVG: jupyter/nbconvert#1849; the template keeps them), and no reference to a resource outside the
 * file (a `<script src>`, stylesheet, image or CSS `url()` that is not a `data:` URL or an anchor), so a report opens
 * the same on any machine.
 *
 * **Environment of the kernels**: `CANDOR_REAL_DATA`, the price folder the chapters read: as given, else
 * `../shared/data/sp500` next to the repository when it exists, resolved to an absolute path because kernels run in
 * notebooks/. When there is none, chapters fall back to the synthetic market and say so; a variable naming a missing
 * folder is an error.
 *
 * Requirements: Jupyter (Debian: jupyter-notebook jupyter-nbconvert python3-nbclient python3-ipykernel) and the
 * Deno kernel (`deno jupyter --install`). Missing either is reported with the command that installs it.
 *
 * @module
 */

import { existsSync } from "node:fs";
import { basename, dirname, isAbsolute, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { type Facts, FACTS_MIME } from "../notebooks/facts.ts";

/** Repository root (this file lives in tools/). */
export const REPO_ROOT: string = resolve(dirname(fileURLToPath(import.meta.url)), "..");

/** The nbconvert configuration: candor's HTML template and the output-barrier executor. */
export const NBCONVERT_CONFIG: string = join(REPO_ROOT, "tools", "nbconvert", "candor_config.py");

/** Why notebooks cannot be executed here, with the command that fixes it. */
export class JupyterUnavailableError extends Error {
  override name = "JupyterUnavailableError";
}

/** Result of rendering one notebook. */
export interface RenderResult {
  /** The notebook as given. */
  notebook: string;
  /** Path of the report (written only when `ok`). */
  html: string;
  /** Wall-clock seconds of the whole rendering (all executions and the HTML conversion). */
  seconds: number;
  /** Whether the report was written and passed every check. */
  ok: boolean;
  /** nbconvert's diagnostics (stderr) when it failed, or the post-check's complaint. */
  error?: string;
  /** What the executed notebook's outputs contain (absent when execution failed). */
  outputs?: OutputSummary;
  /** The chapter's facts (every {@link FACTS_MIME} output, merged in cell order); empty when it records none. */
  facts?: Facts;
  /** Number of executions it took (1 unless `executions: "agree"`). */
  executions?: number;
}

async function run(cmd: string, args: string[], opts: { cwd?: string; env?: Record<string, string> } = {}) {
  try {
    const out = await new Deno.Command(cmd, { args, cwd: opts.cwd, env: opts.env, stdout: "piped", stderr: "piped" })
      .output();
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

/** How {@link renderNotebook} executes a notebook. */
export interface RenderOptions {
  /**
   * `once` (default): one execution, complete by construction (the output barrier). `agree`: execute until two
   * executions show the same amount of output in every cell (at most {@link EXECUTION_ATTEMPTS}); `--verify`.
   */
  executions?: "agree" | "once";
  /** Variables added to the kernel's environment (see {@link kernelEnvironment}). */
  env?: Record<string, string>;
  /**
   * Seconds a cell may run before nbconvert gives up on it (default: tools/nbconvert/candor_config.py's 600). An
   * execution that times out is run once more (see {@link renderNotebook}).
   */
  cellTimeoutSeconds?: number;
}

/** nbclient's error when a cell runs past the timeout (0.5+: CellTimeoutError; older: "Cell execution timed out"). */
const CELL_TIMEOUT = /CellTimeoutError|timed out/;

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
 * Resources an HTML report would load from outside itself: `src` of script/img/iframe/audio/video/source/embed,
 * `href` of `<link>` (stylesheets, icons) and CSS `url(...)` / `@import` targets that are not `data:` URLs or `#`
 * anchors. Ordinary links (`<a href>`) are not resources and are allowed. Empty for a self-contained report.
 */
export function externalResources(html: string): string[] {
  const found: string[] = [];
  const local = (ref: string) => /^(data:|#)/i.test(ref.trim());
  // Text of <svg> charts is data, not markup the browser fetches (an SVG may mention a URL in a title or a namespace).
  const markup = html.replace(/<svg\b[\s\S]*?<\/svg>/g, "");
  for (
    const m of markup.matchAll(/<(script|img|iframe|audio|video|source|embed)\b[^>]*?\ssrc\s*=\s*["']([^"']*)["']/gi)
  ) {
    if (!local(m[2])) found.push(`<${m[1].toLowerCase()} src="${m[2]}">`);
  }
  for (const m of markup.matchAll(/<link\b[^>]*?\shref\s*=\s*["']([^"']*)["']/gi)) {
    if (!local(m[1])) found.push(`<link href="${m[1]}">`);
  }
  for (const m of markup.matchAll(/url\(\s*(["']?)([^"')]*)\1\s*\)/gi)) {
    if (!local(m[2])) found.push(`url(${m[2]})`);
  }
  for (const m of markup.matchAll(/@import\s+["']([^"']+)["']/gi)) found.push(`@import "${m[1]}"`);
  return found;
}

/**
 * The kernel environment `deno task report` and the notebook tests use: `CANDOR_REAL_DATA` resolved to an absolute
 * path (kernels run in notebooks/, so a relative path would point elsewhere) when given; `realData` undefined leaves it
 * out (chapters then use the synthetic market and say so).
 */
export function kernelEnvironment(realData: string | undefined): Record<string, string> {
  return realData === undefined ? {} : { CANDOR_REAL_DATA: isAbsolute(realData) ? realData : resolve(realData) };
}

/**
 * The price folder `deno task report` hands the chapters: `CANDOR_REAL_DATA` when set (it must exist: a typo is an
 * error, not a silent switch to synthetic prices), else `../shared/data/sp500` next to the repository when present,
 * else undefined.
 */
export function reportRealData(): string | undefined {
  const given = Deno.env.get("CANDOR_REAL_DATA");
  if (given !== undefined && given !== "") {
    const path = resolve(given);
    if (!existsSync(path)) {
      throw new Error(`CANDOR_REAL_DATA=${given}: no such folder (${path}); unset it to use the synthetic market`);
    }
    return path;
  }
  const beside = resolve(REPO_ROOT, "..", "shared", "data", "sp500");
  return existsSync(beside) ? beside : undefined;
}

/**
 * Execute one notebook and write `<outDir>/<name>.html`. Never throws for a failing notebook: the result says what
 * went wrong. Two nbconvert passes: execute to a temporary .ipynb (so the outputs can be inspected as data), then
 * convert that to HTML with candor's template; the report is moved into `outDir` only after every check passed.
 */
export async function renderNotebook(
  notebook: string,
  outDir: string,
  options: RenderOptions = {},
): Promise<RenderResult> {
  const agree = options.executions === "agree";
  const name = basename(notebook, ".ipynb");
  const html = join(outDir, `${name}.html`);
  const started = performance.now();
  const elapsed = () => (performance.now() - started) / 1000;
  const env = { ...Deno.env.toObject(), ...(options.env ?? {}) };
  const tmp = await Deno.makeTempDir({ prefix: "candor-report-" });
  const fail = (error: string, outputs?: OutputSummary, executions?: number): RenderResult => ({
    notebook,
    html,
    seconds: elapsed(),
    ok: false,
    error,
    outputs,
    executions,
  });
  try {
    const runs: { path: string; outputs: OutputSummary; facts: Facts }[] = [];
    let accepted: (typeof runs)[number] | undefined;
    let attempts = agree ? EXECUTION_ATTEMPTS : 1;
    let timedOut = false;
    for (let attempt = 1; attempt <= attempts && accepted === undefined; attempt++) {
      const output = `${name}.run${attempt}`;
      const executed = await run("jupyter", [
        "nbconvert",
        "--config",
        NBCONVERT_CONFIG,
        ...(options.cellTimeoutSeconds === undefined
          ? []
          : [`--ExecutePreprocessor.timeout=${options.cellTimeoutSeconds}`]),
        "--to",
        "notebook",
        "--execute",
        "--output-dir",
        tmp,
        "--output",
        output,
        resolve(notebook),
      ], { cwd: dirname(resolve(notebook)), env });
      if (!executed) return fail("the `jupyter` command is missing");
      if (executed.code !== 0 && !timedOut && CELL_TIMEOUT.test(executed.stderr)) {
        // Deno's kernel has been seen to drop a cell's reply: the kernel idle and answering, nbconvert waiting for
        // the reply until its cell timeout. One more execution, once; a second timeout is a failure.
        timedOut = true;
        attempts++;
        console.error(`${basename(notebook)}: a cell timed out; executing again`);
        continue;
      }
      if (executed.code !== 0) return fail(nbconvertError(executed.stderr), undefined, attempt);
      const path = join(tmp, `${output}.ipynb`);
      const nb = JSON.parse(await Deno.readTextFile(path));
      runs.push({ path, outputs: summarizeOutputs(nb), facts: collectFacts(nb) });
      const latest = runs[runs.length - 1];
      accepted = agree ? agreedExecution(runs) : latest.outputs.lostCells.length === 0 ? latest : undefined;
      if (accepted === undefined && attempt >= 2 && attempt < attempts) {
        const differing = differingCells(runs.map((r) => r.outputs));
        console.error(
          `${basename(notebook)}: cell(s) ${differing.join(", ")} showed different output; executing again`,
        );
      }
    }
    if (accepted === undefined) {
      const last = runs[runs.length - 1].outputs;
      const differing = differingCells(runs.map((r) => r.outputs));
      return fail(
        differing.length > 0
          ? `cell(s) ${differing.join(", ")} showed different output in ${runs.length} executions (lost kernel output)`
          : `cell(s) ${last.lostCells.join(", ")} showed nothing in ${runs.length} execution(s) ` +
            "(they call a display helper: showChart/showTable/recordFacts/chapterPrices/Deno.jupyter.display)",
        last,
        runs.length,
      );
    }
    const { outputs, facts } = accepted;
    await Deno.copyFile(accepted.path, join(tmp, `${name}.ipynb`));
    const converted = await run("jupyter", [
      "nbconvert",
      "--config",
      NBCONVERT_CONFIG,
      "--to",
      "html",
      "--output-dir",
      tmp,
      "--output",
      name,
      join(tmp, `${name}.ipynb`),
    ], { env });
    if (!converted || converted.code !== 0) return fail(nbconvertError(converted?.stderr ?? ""), outputs, runs.length);
    const page = await Deno.readTextFile(join(tmp, `${name}.html`));
    const emptied = countEmptiedSvgs(page);
    if (emptied > 0) {
      return fail(
        `${emptied} chart(s) were emptied by nbconvert's HTML sanitizer; is ${
          relative(Deno.cwd(), NBCONVERT_CONFIG)
        } being used?`,
        outputs,
        runs.length,
      );
    }
    const external = externalResources(page);
    if (external.length > 0) {
      return fail(
        `the report is not self-contained: it loads ${external.slice(0, 5).join(", ")}` +
          (external.length > 5 ? ` and ${external.length - 5} more` : ""),
        outputs,
        runs.length,
      );
    }
    await Deno.mkdir(outDir, { recursive: true });
    await Deno.copyFile(join(tmp, `${name}.html`), html);
    return { notebook, html, seconds: elapsed(), ok: true, outputs, facts, executions: runs.length };
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
}

/**
 * Render notebooks `jobs` at a time (each in its own kernel process), calling `onResult` as each finishes; results in
 * the order of `notebooks`.
 */
export async function renderAll(
  notebooks: readonly string[],
  outDir: string,
  options: RenderOptions & {
    jobs?: number;
    onStart?: (notebook: string) => void;
    onResult?: (r: RenderResult) => void;
  } = {},
): Promise<RenderResult[]> {
  const results: RenderResult[] = new Array(notebooks.length);
  let next = 0;
  const worker = async () => {
    while (next < notebooks.length) {
      const i = next++;
      options.onStart?.(notebooks[i]);
      results[i] = await renderNotebook(notebooks[i], outDir, options);
      options.onResult?.(results[i]);
    }
  };
  const jobs = Math.max(1, Math.min(options.jobs ?? 1, notebooks.length));
  await Promise.all(Array.from({ length: jobs }, worker));
  return results;
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
  /** Silent cells whose source shows something (a display helper): lost outputs. */
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
const SHOWS_OUTPUT = /\b(showChart|showTable|recordFacts|chapterPrices)\s*\(|\bDeno\.jupyter\.display\s*\(/;

/** A notebook cell as nbformat 4 stores it (the fields read here). */
interface NotebookCell {
  cell_type: string;
  source?: string | string[];
  outputs?: { output_type: string; data?: Record<string, unknown>; text?: string | string[] }[];
}

/** Count code cells, error outputs, SVG outputs and silent cells of an executed notebook (nbformat 4 JSON). */
export function summarizeOutputs(nb: { cells: NotebookCell[] }): OutputSummary {
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

/**
 * Every {@link FACTS_MIME} output of an executed notebook merged in cell order (a later cell's key overrides an
 * earlier one's).
 */
export function collectFacts(nb: { cells: NotebookCell[] }): Facts {
  const facts: Facts = {};
  for (const cell of nb.cells) {
    for (const out of cell.outputs ?? []) {
      const data = out.data?.[FACTS_MIME];
      if (data !== undefined) Object.assign(facts, typeof data === "string" ? JSON.parse(data) : data);
    }
  }
  return facts;
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
    options: {
      out: { type: "string", default: join(REPO_ROOT, "reports") },
      jobs: { type: "string", default: "2" },
      verify: { type: "boolean", default: false },
    },
    allowPositionals: true,
  });
  const jobs = Number(values.jobs);
  if (!Number.isInteger(jobs) || jobs < 1) {
    console.error(`report: --jobs must be a positive integer, got ${values.jobs}`);
    Deno.exit(2);
  }
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
  let realData: string | undefined;
  try {
    realData = reportRealData();
  } catch (e) {
    console.error(`report: ${(e as Error).message}`);
    Deno.exit(2);
  }
  console.error(
    realData === undefined
      ? "report: no real price folder (set CANDOR_REAL_DATA); chapters use the synthetic market and say so"
      : `report: real prices from ${realData}`,
  );
  const label = (nb: string) => relative(Deno.cwd(), resolve(nb));
  const started = performance.now();
  const results = await renderAll(notebooks, values.out!, {
    jobs,
    executions: values.verify ? "agree" : "once",
    env: kernelEnvironment(realData),
    onStart: (nb) => console.error(`${label(nb)}: executing…`),
    onResult: (r) =>
      console.error(
        r.ok
          ? `${label(r.notebook)}: ok in ${r.seconds.toFixed(1)} s → ${label(r.html)}`
          : `${label(r.notebook)}: FAILED after ${r.seconds.toFixed(1)} s\n${r.error}\n`,
      ),
  });
  const total = (performance.now() - started) / 1000;
  console.error(
    `${results.filter((r) => r.ok).length} of ${results.length} notebook(s) rendered in ${total.toFixed(1)} s ` +
      `(${jobs} at a time; per notebook: ${
        results.map((r) => `${basename(r.notebook)} ${r.seconds.toFixed(1)} s`).join(", ")
      })`,
  );
  if (results.some((r) => !r.ok)) Deno.exit(1);
}
