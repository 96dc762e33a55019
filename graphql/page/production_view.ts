/**
 * Production (`#/production`): two panels.
 *
 * - **Models**: every registered production model, newest first — what it is (entry, kind, target, the trained window,
 *   the candor version, the data fingerprint, the features), the study gate that allowed it (or that it was skipped,
 *   shown in red), and its latest predictions: per symbol the score, confidence, target position and share of
 *   capital, with the warnings that say when a prediction deserves caution.
 * - **Sweeps**: every robustness sweep, newest first — the run swept, N (every trial counted on the same data and
 *   target, this sweep's cells included) with how it splits, the trial Sharpe variance, PBO per window, and the best
 *   cells by deflated Sharpe ratio beside their Sharpe ratio and buy & hold's on the same window.
 *
 * Pages load more on demand; every number comes from the public GraphQL API (api.ts).
 *
 * @module
 */

import {
  graphql,
  type ModelRow,
  MODELS_PAGE_SIZE,
  MODELS_QUERY,
  type ModelsPage,
  type ProductionRow,
  SWEEP_TRIALS_SHOWN,
  type SweepRow,
  SWEEPS_PAGE_SIZE,
  SWEEPS_QUERY,
  type SweepsPage,
} from "./api.ts";
import { type Cell, type Child, h, num, pct, replace, scroll, table, when } from "./dom.ts";
import { gateBadge } from "./study_view.ts";

const shortFingerprint = (fp: string) => (fp.length > 22 ? `${fp.slice(0, 19)}…` : fp);

function positionCell(x: number | null): Cell {
  if (x === null) return { child: "—", numeric: true };
  return { child: num(x, 2), numeric: true, className: x > 0 ? "beats" : x < 0 ? "trails" : undefined };
}

function predictionsTable(m: ModelRow): Child {
  const batch = m.latestPredictions;
  if (batch === null) {
    return h(
      "p",
      { class: "muted" },
      "No predictions yet: `candor predict --model ",
      m.id,
      " --data PATH` writes them.",
    );
  }
  const rows = batch.rows.map((r: ProductionRow): Cell[] => [
    r.symbol,
    { child: r.date, className: "nowrap" },
    { child: num(r.score, 3), numeric: true },
    { child: pct(r.confidence), numeric: true },
    positionCell(r.position),
    { child: pct(r.weight), numeric: true },
    r.warnings.length === 0 ? "" : h("span", { class: "sev-warning" }, r.warnings.join("; ")),
  ]);
  return [
    h(
      "p",
      { class: "muted" },
      `Latest predictions as of ${batch.asOf} (written ${when(batch.createdAt)} UTC), ${batch.rowCount} symbols:`,
    ),
    scroll(
      table(
        [
          "symbol",
          "date",
          { text: "score", numeric: true, title: "P(up), P(UP) − P(DOWN) or the forecast" },
          { text: "confidence", numeric: true, title: "Calibrated probability of the called side" },
          { text: "position", numeric: true, title: "Target position under the model's sizing rule" },
          { text: "weight", numeric: true, title: "Share of capital" },
          "warnings",
        ],
        rows,
        { class: "compact predictions-table", "data-model-id": m.id },
      ),
    ),
  ];
}

function modelSection(m: ModelRow): HTMLElement {
  const item = (k: string, v: Child) => [h("dt", {}, k), h("dd", {}, v)];
  const g = m.gate;
  return h(
    "section",
    { class: "model", "data-model-id": m.id },
    h("h3", {}, `${m.name} `, h("span", { class: "muted" }, `(${m.kind})`)),
    h(
      "dl",
      { class: "meta" },
      item("id", h("span", { class: "mono" }, m.id)),
      item(
        "gate",
        [
          gateBadge(g.passed),
          ` walk-forward efficiency ${num(g.wfe, 2)} (threshold ${num(g.threshold, 2)})`,
          g.reason ? ` — ${g.reason}` : "",
          m.skipGate ? [" ", h("span", { class: "gate gate-failed skip-gate" }, "gate skipped (--skip-gate)")] : "",
        ],
      ),
      item(
        "from",
        m.study === null ? "—" : [
          h("a", { href: `#/studies/${encodeURIComponent(m.study.id)}` }, m.study.name ?? m.study.id),
          m.run === null ? "" : [" · ", h("a", { href: `#/runs/${encodeURIComponent(m.run.id)}` }, "its run")],
        ],
      ),
      item("target", `${m.targetKind}, horizon ${m.horizon} day(s)`),
      item(
        "trained on",
        `${m.trainedWindow.start} … ${m.trainedWindow.end} (prices to ${m.lastPriceDate}) · data ` +
          shortFingerprint(m.dataFingerprint),
      ),
      item(
        "features",
        `${m.features.length}: ${m.features.slice(0, 10).join(", ")}${m.features.length > 10 ? ", …" : ""}`,
      ),
      item("version", `candor ${m.version} · registered ${when(m.createdAt)} UTC`),
    ),
    predictionsTable(m),
  );
}

function pboText(p: SweepRow["pbo"][number]): string {
  if (p.pbo === null) return `— (${p.reason ?? "not computable"})`;
  return `${pct(p.pbo)} (P(loss) ${pct(p.probabilityOfLoss)}, ${p.cells ?? "?"} cells, S = ${p.groups ?? "?"})`;
}

function sweepSection(s: SweepRow): HTMLElement {
  const d = s.deflation;
  const split = d === null
    ? ""
    : ` = ${d.runs ?? "?"} study entr${d.runs === 1 ? "y" : "ies"} + ${d.runBacktests ?? "?"} re-sized backtest(s) + ${
      d.sweepTrials ?? "?"
    } sweep cell(s)`;
  const trials = s.trials.map((t): Cell[] => [
    { child: t.cell, numeric: true },
    t.symbol,
    { child: `${t.window.start} … ${t.window.end}`, className: "nowrap" },
    { child: `${t.costBps} + ${t.slippageBps}`, numeric: true },
    { child: t.lag, numeric: true },
    t.sizing,
    {
      child: num(t.sharpe, 2),
      numeric: true,
      className: t.sharpe !== null && t.buyAndHoldSharpe !== null && t.sharpe > t.buyAndHoldSharpe
        ? "beats"
        : undefined,
    },
    { child: num(t.buyAndHoldSharpe, 2), numeric: true },
    { child: pct(t.maxDrawdown), numeric: true },
    {
      child: num(t.deflatedSharpe, 3),
      numeric: true,
      className: t.deflatedSharpe !== null && t.deflatedSharpe >= 0.95 ? "beats" : undefined,
    },
  ]);
  return h(
    "section",
    { class: "sweep", "data-sweep-id": s.id },
    h("h3", {}, "Sweep ", h("span", { class: "mono" }, s.id)),
    h(
      "dl",
      { class: "meta" },
      h("dt", {}, "run"),
      h(
        "dd",
        {},
        s.run === null ? "— (deleted)" : h("a", { href: `#/runs/${encodeURIComponent(s.run.id)}` }, s.run.id),
        ` · ${s.targetKind}, horizon ${s.horizon} · data ${shortFingerprint(s.dataFingerprint)} · ${
          when(s.createdAt)
        } UTC`,
      ),
      h("dt", {}, "trials (N)"),
      h(
        "dd",
        { class: "sweep-trials" },
        d === null ? `${s.trialsBefore + s.cells}` : `${d.trials}${split}`,
        ` · trial Sharpe variance ${num(d?.trialSharpeVariance ?? null, 5)} (per period)`,
      ),
      h("dt", {}, "PBO"),
      h(
        "dd",
        { class: "sweep-pbo" },
        s.pbo.length === 0
          ? "—"
          : s.pbo.map((p, i) => [i > 0 ? h("br") : "", `${p.window.start} … ${p.window.end}: ${pboText(p)}`]),
      ),
    ),
    h(
      "p",
      { class: "muted" },
      `${s.cells <= SWEEP_TRIALS_SHOWN ? `All ${s.cells}` : `Best ${SWEEP_TRIALS_SHOWN} of ${s.cells}`} cells by ` +
        "deflated Sharpe ratio (the probability that its true Sharpe ratio exceeds the best that N unskilled " +
        "trials would show by luck; ≥ 0.95 in green). Costs are commission + slippage in bps.",
    ),
    scroll(
      table(
        [
          { text: "cell", numeric: true },
          "symbol",
          "window",
          { text: "costs", numeric: true },
          { text: "lag", numeric: true },
          "sizing",
          { text: "Sharpe", numeric: true },
          { text: "buy & hold", numeric: true, title: "Buy & hold's Sharpe ratio on the same window" },
          { text: "max DD", numeric: true },
          { text: "DSR", numeric: true, title: "Deflated Sharpe ratio" },
        ],
        trials,
        { class: "compact trials-table", "data-sweep-id": s.id },
      ),
    ),
  );
}

/** Renders both panels into `root`. */
export async function renderProduction(root: HTMLElement): Promise<void> {
  const models = h("div", { id: "models" });
  const sweeps = h("div", { id: "sweeps" });
  const modelsStatus = h("p", { class: "muted", id: "models-count" }, "Loading models…");
  const sweepsStatus = h("p", { class: "muted", id: "sweeps-count" }, "Loading sweeps…");
  const moreModels = h("button", { type: "button", hidden: true }, "More models");
  const moreSweeps = h("button", { type: "button", hidden: true }, "More sweeps");
  replace(
    root,
    h("h2", {}, "Production models"),
    h(
      "p",
      { class: "muted" },
      "Entries retrained on all labelled data once their study gate passed (`candor train`), and their latest " +
        "predictions (`candor predict`).",
    ),
    modelsStatus,
    models,
    moreModels,
    h("h2", {}, "Sweeps"),
    h(
      "p",
      { class: "muted" },
      "A run's predictions backtested over a grid of costs, lags, sizing rules, windows and symbols (`candor " +
        "sweep`). Every cell is a trial: its deflated Sharpe ratio counts every backtest tried on the same data and " +
        "target.",
    ),
    sweepsStatus,
    sweeps,
    moreSweeps,
  );

  let modelsAfter: string | null = null;
  let modelCount = 0;
  const loadModels = async () => {
    const data = await graphql<ModelsPage>(MODELS_QUERY, { first: MODELS_PAGE_SIZE, after: modelsAfter });
    for (const m of data.models.nodes) models.appendChild(modelSection(m));
    modelCount += data.models.nodes.length;
    replace(
      modelsStatus,
      modelCount === 0
        ? "No registered model. `candor train --config study.yaml` registers the entries whose gate passed."
        : `${modelCount} model${modelCount === 1 ? "" : "s"}${data.models.pageInfo.hasNextPage ? " so far" : ""}`,
    );
    modelsAfter = data.models.pageInfo.endCursor;
    moreModels.hidden = !data.models.pageInfo.hasNextPage;
  };
  let sweepsAfter: string | null = null;
  let sweepCount = 0;
  const loadSweeps = async () => {
    const data = await graphql<SweepsPage>(SWEEPS_QUERY, { first: SWEEPS_PAGE_SIZE, after: sweepsAfter });
    for (const s of data.sweeps.nodes) sweeps.appendChild(sweepSection(s));
    sweepCount += data.sweeps.nodes.length;
    replace(
      sweepsStatus,
      sweepCount === 0
        ? "No sweep. `candor sweep --run ID --grid grid.yaml` stores one."
        : `${sweepCount} sweep${sweepCount === 1 ? "" : "s"}${data.sweeps.pageInfo.hasNextPage ? " so far" : ""}`,
    );
    sweepsAfter = data.sweeps.pageInfo.endCursor;
    moreSweeps.hidden = !data.sweeps.pageInfo.hasNextPage;
  };
  for (const [button, load] of [[moreModels, loadModels], [moreSweeps, loadSweeps]] as const) {
    button.addEventListener("click", () => {
      button.disabled = true;
      load().finally(() => (button.disabled = false));
    });
  }
  await Promise.all([loadModels(), loadSweeps()]);
}
