/**
 * Executes notebooks with Jupyter's nbconvert and the Deno kernel, exactly as `deno task report` does.
 * Skipped, with the reason, when Jupyter or the Deno kernel is not installed.
 */
import assert from "node:assert/strict";
import { basename, join } from "node:path";
import {
  assertJupyterReady,
  countEmptiedSvgs,
  JupyterUnavailableError,
  listNotebooks,
  renderNotebook,
  REPO_ROOT,
} from "../../tools/render_reports.ts";

let unavailable: string | undefined;
try {
  await assertJupyterReady();
} catch (e) {
  if (!(e instanceof JupyterUnavailableError)) throw e;
  unavailable = e.message;
  console.warn(`SKIPPED notebook execution tests: ${e.message}`);
}

/** SVG elements of an HTML report that contain drawn path data (`d="M..."`). */
function drawnSvgs(html: string): string[] {
  return [...html.matchAll(/<svg\b[\s\S]*?<\/svg>/g)].map((m) => m[0]).filter((svg) => /\bd="M[^"]+"/.test(svg));
}

function notebookJson(sources: string[]) {
  return JSON.stringify({
    nbformat: 4,
    nbformat_minor: 5,
    metadata: { kernelspec: { name: "deno", display_name: "Deno", language: "typescript" } },
    cells: sources.map((source) => ({ cell_type: "code", metadata: {}, execution_count: null, outputs: [], source })),
  });
}

Deno.test({
  name: "report rendering keeps a chart's inline SVG and reports a failing cell",
  ignore: unavailable !== undefined,
  sanitizeResources: false,
  async fn() {
    // The kernel finds deno.json (the import map) by walking up from the notebook's folder, so the scratch notebooks
    // live under the repository, in data/ (git-ignored, excluded from fmt and lint).
    await Deno.mkdir(join(REPO_ROOT, "data"), { recursive: true });
    const dir = await Deno.makeTempDir({ dir: join(REPO_ROOT, "data"), prefix: ".nbexec-test-" });
    try {
      const charts = join(REPO_ROOT, "lib", "report", "charts.ts");
      const notebook = join(REPO_ROOT, "lib", "report", "notebook.ts");
      await Deno.writeTextFile(
        join(dir, "chart.ipynb"),
        notebookJson([
          `import { lineChart } from "${charts}";\nimport { chartDisplay, showChart } from "${notebook}";`,
          // Both ways of showing a chart while the cell runs (a cell's final value can be dropped by nbconvert).
          'const probe = lineChart({ x: [0, 1, 2], xType: "quantitative", series: { probe: [3, 1, 2] } });\n' +
          "await Deno.jupyter.display(chartDisplay(probe));\nawait showChart(probe);",
        ]),
      );
      const ok = await renderNotebook(join(dir, "chart.ipynb"), join(dir, "out"));
      assert.ok(ok.ok, ok.error ?? "");
      assert.deepEqual(ok.outputs, {
        codeCells: 2,
        errors: 0,
        svgs: 2,
        errorCells: [],
        silentCells: [1],
        lostCells: [],
        codeCellIndices: [1, 2],
        cellSizes: [0, 2],
      });
      const html = await Deno.readTextFile(ok.html);
      assert.equal(countEmptiedSvgs(html), 0);
      // Both charts keep the three points of their line in the report: "M x,y L x,y L x,y".
      const lineWithThreePoints = /aria-roledescription="line mark" d="M[-\d.]+,[-\d.]+(L[-\d.]+,[-\d.]+){2}"/;
      assert.equal(drawnSvgs(html).filter((svg) => lineWithThreePoints.test(svg)).length, 2);

      await Deno.writeTextFile(
        join(dir, "broken.ipynb"),
        notebookJson(["const a = 1;", 'throw new Error("cell two fails");']),
      );
      const failed = await renderNotebook(join(dir, "broken.ipynb"), join(dir, "out"));
      assert.equal(failed.ok, false);
      assert.match(failed.error ?? "", /cell two fails/);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

for (const path of listNotebooks(join(REPO_ROOT, "notebooks"))) {
  Deno.test({
    name: `notebook ${basename(path)} executes without errors and renders its charts`,
    ignore: unavailable !== undefined,
    sanitizeResources: false,
    async fn() {
      const out = await Deno.makeTempDir({ prefix: "candor-nbexec-test-" });
      try {
        // One execution: that the notebook runs and shows its charts is what is tested here (the two-execution
        // agreement `deno task report` applies is unit-tested in render_reports_test.ts).
        const result = await renderNotebook(path, out, { executions: "once" });
        assert.ok(result.ok, `${basename(path)} failed:\n${result.error}`);
        assert.equal(result.outputs?.errors, 0, `error outputs in cells ${result.outputs?.errorCells}`);
        assert.ok((result.outputs?.svgs ?? 0) > 0, "the notebook displays no chart");
        // Every cell that shows something did show it (after the renderer's re-executions, if any were needed).
        assert.deepEqual(result.outputs?.lostCells, [], "cells lost their output");
        const html = await Deno.readTextFile(result.html);
        assert.equal(countEmptiedSvgs(html), 0);
        assert.ok(drawnSvgs(html).length >= (result.outputs?.svgs ?? 0), "a chart lost its path data in the report");
      } finally {
        await Deno.remove(out, { recursive: true });
      }
    },
  });
}

/** Run `deno task report`'s script with a changed environment; returns its exit code and stderr. */
async function runReportScript(env: Record<string, string>) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--no-config", join(REPO_ROOT, "tools", "render_reports.ts"), "--out", join(REPO_ROOT, "data")],
    env: { NO_COLOR: "1", ...env },
    clearEnv: true,
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code: out.code, stderr: new TextDecoder().decode(out.stderr) };
}

Deno.test("deno task report says how to install Jupyter when it is missing", async () => {
  // A PATH with no `jupyter` on it (the script needs nothing else from PATH).
  const { code, stderr } = await runReportScript({ PATH: "/nonexistent", HOME: Deno.env.get("HOME") ?? "/" });
  assert.equal(code, 2);
  assert.match(stderr, /apt-get install jupyter-notebook jupyter-nbconvert python3-nbclient python3-ipykernel/);
});

// A fresh HOME hides the user's kernelspecs, not a system-wide one.
const systemWideDenoKernel = ["/usr/local/share/jupyter/kernels/deno", "/usr/share/jupyter/kernels/deno"].some(
  existsSync,
);

Deno.test({
  name: "deno task report says how to register the Deno kernel when it is missing",
  ignore: unavailable !== undefined || systemWideDenoKernel,
  async fn() {
    const home = await Deno.makeTempDir({ prefix: "candor-home-" });
    try {
      const { code, stderr } = await runReportScript({ PATH: Deno.env.get("PATH") ?? "", HOME: home });
      assert.equal(code, 2, stderr);
      assert.match(stderr, /deno jupyter --install/);
    } finally {
      await Deno.remove(home, { recursive: true });
    }
  },
});

function existsSync(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}
