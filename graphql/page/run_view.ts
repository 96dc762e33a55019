/**
 * One run: what it was (model, data, seed, backend, its study), the verdict line of a study entry (pooled accuracy with
 * its block-bootstrap interval beside the strongest naive baseline, the edge with its interval, the verdict) and the
 * walk-forward-efficiency gate, whether to trust it (warnings, error, diagnostics), its folds with every metric beside
 * the baselines on the same test rows, their aggregates, each fold's walk-forward efficiency and health, the target
 * distribution per fold, the backtest's equity and drawdown against buy & hold, the backtests added to it (re-sized,
 * with their deflated Sharpe ratios), and training health per epoch. Keyed
 * by run id (`#/runs/<id>`), so a study's comparison links to it.
 *
 * @module
 */

import { graphql, RUN_QUERY, type RunDetail } from "./api.ts";
import { type Cell, h, num, pct, replace, scroll, table, when } from "./dom.ts";
import { draw, drawdownChart, equityChart, foldMetricsChart, lineChart, widthFor } from "./charts.ts";
import { gateBadge, verdictBadge } from "./study_view.ts";

/** Human names of the baselines and metrics the pipeline stores (others show their stored name). */
const LABELS: Record<string, string> = {
  coinFlip: "coin flip",
  majorityClass: "majority class",
  previousSign: "previous-day sign",
  alwaysLong: "always up",
  accuracy: "accuracy",
  ic: "IC",
  rankIc: "rank IC",
  predictionStd: "prediction std",
  validationAccuracy: "validation accuracy",
  wfe: "walk-forward efficiency",
};
const label = (name: string) => LABELS[name] ?? name;

/** Metrics shown as percentages. */
const SHARES = new Set(["accuracy", "validationAccuracy", "coinFlip", "majorityClass", "previousSign", "alwaysLong"]);
const show = (name: string, x: number | null) => SHARES.has(name) ? pct(x) : num(x, 4);

function card(title: string, value: string, versus: string): HTMLElement {
  return h(
    "div",
    { class: "card" },
    h("div", { class: "label" }, title),
    h("div", { class: "value" }, value),
    h("div", { class: "versus" }, versus),
  );
}

function headline(run: RunDetail): HTMLElement {
  const pooled = (name: string) => run.pooled.find((m) => m.name === name)?.value ?? null;
  const line = run.pooledLine;
  const base = run.foldAggregates.baselines.reduce<RunDetail["foldAggregates"]["baselines"][number] | null>(
    (best, b) => b.mean !== null && (best === null || b.mean > best.mean!) ? b : best,
    null,
  );
  const bt = run.backtest;
  const m = (list: { name: string; value: number | null }[] | undefined, name: string) =>
    list?.find((x) => x.name === name)?.value ?? null;
  return h(
    "div",
    { class: "cards" },
    line === null
      ? card(
        "pooled out-of-sample accuracy",
        pct(pooled("accuracy")),
        `95 % [${pct(pooled("accuracyLow"))}, ${pct(pooled("accuracyHigh"))}] · strongest baseline ${
          base === null ? "—" : `${label(base.name)} ${pct(base.mean)}`
        }`,
      )
      : card(
        "pooled out-of-sample accuracy",
        pct(line.accuracy),
        `95 % [${pct(line.accuracyCi.low)}, ${pct(line.accuracyCi.high)}] (block bootstrap) · strongest baseline ${
          label(line.strongestBaseline.name)
        } ${pct(line.strongestBaseline.value)}`,
      ),
    card(
      "pooled IC / rank IC",
      `${num(line?.ic.value ?? pooled("ic"), 4)} / ${num(pooled("rankIc"), 4)}`,
      line === null
        ? "a constant forecast scores 0"
        : `IC 95 % [${num(line.ic.ci.low, 3)}, ${num(line.ic.ci.high, 3)}] · a constant forecast scores 0`,
    ),
    card(
      "Sharpe ratio (annualized, after costs)",
      num(m(bt?.metrics, "sharpe"), 2),
      `buy & hold ${num(m(bt?.buyAndHold, "sharpe"), 2)}`,
    ),
    card("maximum drawdown", pct(m(bt?.metrics, "maxDrawdown")), `buy & hold ${pct(m(bt?.buyAndHold, "maxDrawdown"))}`),
  );
}

/**
 * The verdict line and the gate of a study entry: accuracy with its interval beside the strongest baseline, the edge
 * over it with its interval and p-value, the verdict; the gate with the walk-forward efficiency and its threshold.
 */
/** The one-sided-calls check in words: the share of "up" calls and its band, or the most-called of three classes. */
export function upShareText(u: NonNullable<RunDetail["upShare"]>): string {
  if (u.classShares === null) {
    return `share of "up" calls ${pct(u.share)} (band ${pct(u.band.low, 0)}–${pct(u.band.high, 0)})`;
  }
  return `most called class "${u.call}" ${pct(u.share)} of calls (at most ${pct(u.band.high, 0)}; down/flat/up ${
    u.classShares.map((v) => pct(v)).join("/")
  })`;
}

function verdictSection(run: RunDetail): HTMLElement[] {
  const line = run.pooledLine;
  if (line === null) return [];
  const points = (x: number | null) => (x === null ? "—" : `${x >= 0 ? "+" : "−"}${Math.abs(100 * x).toFixed(2)}`);
  const onIc = line.verdictOn === "ic";
  const gate = run.gate;
  return [
    h(
      "p",
      { class: "verdict-line", id: "verdict-line" },
      verdictBadge(line.verdict),
      " ",
      onIc
        ? `IC ${num(line.ic.value, 3)} (95 % ${num(line.ic.ci.low, 3)} to ${num(line.ic.ci.high, 3)}, p = ${
          num(line.ic.pValue, 4)
        }) against 0; direction accuracy ${pct(line.accuracy)} beside ${label(line.strongestBaseline.name)} ${
          pct(line.strongestBaseline.value)
        }`
        : `accuracy ${pct(line.accuracy)} (95 % ${pct(line.accuracyCi.low)}–${pct(line.accuracyCi.high)}) vs ${
          label(line.strongestBaseline.name)
        } ${pct(line.strongestBaseline.value)}: edge ${points(line.edge.difference)} points (95 % ${
          points(line.edge.ci.low)
        } to ${points(line.edge.ci.high)}, p = ${num(line.edge.pValue, 4)})`,
      h("span", { class: "muted" }, ` · ${line.edge.method}`),
    ),
    gate === null ? h("span") : h(
      "p",
      { class: "gate-line", id: "gate-line" },
      "gate ",
      gateBadge(gate.passed),
      ` walk-forward efficiency ${num(gate.wfe, 2)} (threshold ${num(gate.threshold, 2)}): ${gate.reason}`,
    ),
    run.upShare === null ? h("span") : h(
      "p",
      { class: run.upShare.inBand ? "muted" : "sev-warning", id: "up-share-line" },
      `${upShareText(run.upShare)}${run.healthSummary ? ` · health: ${run.healthSummary}` : ""}`,
    ),
  ];
}

function meta(run: RunDetail): HTMLElement {
  const item = (k: string, v: string) => [h("dt", {}, k), h("dd", {}, v)];
  return h(
    "dl",
    { class: "meta" },
    run.study === null ? [] : [
      h("dt", {}, "study · entry"),
      h(
        "dd",
        {},
        h(
          "a",
          { href: `#/studies/${encodeURIComponent(run.study.id)}`, id: "run-study" },
          run.study.name ?? run.study.id,
        ),
        ` · ${run.entry ?? "—"}`,
      ),
    ],
    item("model", run.model),
    run.tags.length ? item("tags", run.tags.join(", ")) : [],
    run.note ? item("note", run.note) : [],
    run.targetKind === null ? [] : item("target", `${run.targetKind}, horizon ${run.horizon ?? "?"} day(s)`),
    item(
      "data",
      `${run.dataSource} · ${run.symbols.length} symbols (${run.symbols.slice(0, 12).join(", ")}${
        run.symbols.length > 12 ? ", …" : ""
      })`,
    ),
    item("created / finished (UTC)", `${when(run.createdAt)} / ${when(run.finishedAt)}`),
    item("seed · backend", `${run.seed ?? "—"} · ${run.backend ?? "—"}`),
    run.leakageOverride ? item("leakage", "trained despite leaking features, by explicit override") : [],
  );
}

function foldSection(run: RunDetail, charts: (() => Promise<void>)[]): HTMLElement[] {
  if (run.folds.length === 0) return [h("h3", {}, "Folds"), h("p", { class: "muted" }, "No fold was stored.")];
  // Study entries record each fold's efficiency, health and target distribution.
  const study = run.folds.some((f) => f.targets !== null);
  const metricNames = [...new Set(run.folds.flatMap((f) => f.metrics.map((m) => m.name)))];
  const baselineNames = [...new Set(run.folds.flatMap((f) => f.baselines.map((m) => m.name)))];
  const head = [
    "fold",
    "test window",
    { text: "train rows", numeric: true },
    { text: "test rows", numeric: true },
    { text: "purge / embargo", numeric: true },
    ...metricNames.map((n) => ({ text: label(n), numeric: true })),
    ...baselineNames.map((n) => ({ text: `${label(n)} (baseline)`, numeric: true })),
    ...(study ? [{ text: "WFE", numeric: true, title: "The fold's walk-forward efficiency" }, "health"] : []),
  ];
  const value = (list: { name: string; value: number | null }[], name: string) =>
    list.find((m) => m.name === name)?.value ?? null;
  const rows: Cell[][] = run.folds.map((f) => [
    String(f.index),
    { child: f.test.map((w) => `${w.start} → ${w.end}`).join(", "), className: "nowrap" },
    { child: String(f.nTrain), numeric: true },
    { child: String(f.nTest), numeric: true },
    { child: `${f.purge} / ${f.embargo}`, numeric: true },
    ...metricNames.map((n): Cell => ({ child: show(n, value(f.metrics, n)), numeric: true })),
    ...baselineNames.map((n): Cell => ({
      child: show(n, value(f.baselines, n)),
      numeric: true,
      className: "baseline",
    })),
    ...(study
      ? [
        {
          child: f.efficiency === null
            ? "—"
            : h("span", { title: f.efficiency.reason ?? "" }, num(f.efficiency.efficiency, 2)),
          numeric: true,
        },
        h("span", { class: f.health === "healthy" ? undefined : "sev-warning" }, f.health ?? "—"),
      ]
      : []),
  ]);
  const agg = run.foldAggregates;
  const aggCell = (list: typeof agg.metrics, n: string, stat: "mean" | "std"): Cell => ({
    child: show(n, list.find((a) => a.name === n)?.[stat] ?? null),
    numeric: true,
  });
  const aggRow = (stat: "mean" | "std"): Cell[] => [
    stat,
    `over ${agg.folds} fold${agg.folds === 1 ? "" : "s"}`,
    "",
    "",
    "",
    ...metricNames.map((n) => aggCell(agg.metrics, n, stat)),
    ...baselineNames.map((n) => aggCell(agg.baselines, n, stat)),
    ...(study ? ["", ""] : []),
  ];
  const t = table(head, [...rows, aggRow("mean"), aggRow("std")], { id: "folds-table" });
  for (const tr of [...t.tBodies[0].rows].slice(-2)) tr.classList.add("agg");
  const chartEl = h("div");
  if (metricNames.includes("accuracy")) {
    charts.push(() =>
      draw(
        chartEl,
        "folds",
        foldMetricsChart({
          folds: run.folds.map((f) => ({
            fold: f.index,
            values: Object.fromEntries([
              ["model", value(f.metrics, "accuracy") ?? NaN],
              ...baselineNames.map((n) => [label(n), value(f.baselines, n) ?? NaN]),
            ]),
          })),
          width: Math.min(720, 90 * run.folds.length + 200),
          height: 220,
        }),
      )
    );
  }
  return [
    h("h3", {}, "Folds beside their baselines (same test rows)"),
    scroll(t),
    chartEl,
    ...(study ? targetSection(run) : []),
  ];
}

/** The target's distribution per fold: share > 0, mean and std on the fitting rows, the tail and the test rows. */
function targetSection(run: RunDetail): HTMLElement[] {
  const part = (s: { n: number; shareUp: number | null; mean: number | null; std: number | null } | undefined) =>
    s === undefined ? ["—", "—", "—"].map((c): Cell => ({ child: c, numeric: true })) : [
      { child: `${pct(s.shareUp)} (${s.n})`, numeric: true },
      { child: num(s.mean, 4), numeric: true },
      { child: num(s.std, 4), numeric: true },
    ] as Cell[];
  const head = ["fold"];
  const cols: { text: string; numeric: boolean }[] = [];
  for (const p of ["fit", "tail", "test"]) {
    cols.push({ text: `${p}: share > 0 (rows)`, numeric: true }, { text: `${p}: mean`, numeric: true }, {
      text: `${p}: std`,
      numeric: true,
    });
  }
  return [
    h("h3", {}, "Target distribution per fold"),
    h(
      "p",
      { class: "muted" },
      "A test window whose share of up moves differs from the fitting rows' changes what always-up and the majority " +
        "baseline score; tail = the early-stopping rows carved from training.",
    ),
    scroll(table(
      [...head, ...cols],
      run.folds.map((f) => [
        String(f.index),
        ...part(f.targets?.fit),
        ...part(f.targets?.validation),
        ...part(f.targets?.test),
      ]),
      { id: "targets-table", class: "compact" },
    )),
  ];
}

/** The backtests added to the run: its predictions re-sized and re-backtested, each deflated by every trial. */
function addedBacktestsSection(run: RunDetail): HTMLElement[] {
  if (run.backtests.length === 0) return [];
  const rows = run.backtests.map((b): Cell[] => [
    { child: b.seq, numeric: true },
    { child: when(b.createdAt), className: "nowrap" },
    [b.sizing ?? "—", b.portfolio ? h("span", { class: "muted" }, ` · ${b.portfolio}`) : ""],
    { child: b.lag, numeric: true },
    { child: `${b.costBps} + ${b.slippageBps}`, numeric: true },
    {
      child: [num(b.sharpe, 2), h("span", { class: "baseline" }, ` vs ${num(b.buyAndHoldSharpe, 2)}`)],
      numeric: true,
      className: b.sharpe !== null && b.buyAndHoldSharpe !== null && b.sharpe > b.buyAndHoldSharpe
        ? "beats"
        : undefined,
    },
    {
      child: [pct(b.maxDrawdown), h("span", { class: "baseline" }, ` vs ${pct(b.buyAndHoldMaxDrawdown)}`)],
      numeric: true,
    },
    { child: num(b.deflatedSharpe, 3), numeric: true },
    { child: b.deflation?.trials ?? "—", numeric: true },
    b.warnings.length ? h("span", { class: "sev-warning" }, b.warnings.join("; ")) : "",
  ]);
  return [
    h("h3", {}, "Re-sized backtests"),
    h(
      "p",
      { class: "muted" },
      "The run's out-of-sample predictions re-sized and re-backtested without retraining (`candor backtest --run`). " +
        "Each is one more trial: its deflated Sharpe ratio (DSR) counts N, every backtest tried on the same data " +
        "and target.",
    ),
    scroll(table(
      [
        { text: "#", numeric: true },
        "added (UTC)",
        "sizing",
        { text: "lag", numeric: true },
        { text: "costs (bps)", numeric: true },
        { text: "Sharpe vs buy & hold", numeric: true },
        { text: "max DD vs buy & hold", numeric: true },
        { text: "DSR", numeric: true, title: "Deflated Sharpe ratio" },
        { text: "N", numeric: true, title: "Trials counted" },
        "warnings",
      ],
      rows,
      { id: "added-backtests-table", class: "compact" },
    )),
  ];
}

function backtestSection(run: RunDetail, charts: (() => Promise<void>)[]): HTMLElement[] {
  const bt = run.backtest;
  if (bt === null) return [h("h3", {}, "Backtest"), h("p", { class: "muted" }, "No backtest was stored.")];
  const names = [...new Set([...bt.metrics.map((m) => m.name), ...bt.buyAndHold.map((m) => m.name)])];
  const v = (list: typeof bt.metrics, n: string) => list.find((m) => m.name === n)?.value ?? null;
  const metricsTable = table(
    ["metric", { text: "strategy", numeric: true }, { text: "buy & hold (same window)", numeric: true }],
    names.map((
      n,
    ) => [n, { child: num(v(bt.metrics, n), 4), numeric: true }, {
      child: num(v(bt.buyAndHold, n), 4),
      numeric: true,
      className: "baseline",
    }]),
    { id: "backtest-table", class: "compact" },
  );
  const equityEl = h("div");
  const drawdownEl = h("div");
  const log = h("input", { type: "checkbox", id: "equity-log" });
  if (bt.equity.length > 0) {
    const dates = bt.equity.map((p) => p.date);
    const series = [{ name: "strategy (after costs)", equity: bt.equity.map((p) => p.value) }];
    if (bt.equity.every((p) => p.buyAndHold !== null)) {
      series.push({ name: "buy & hold", equity: bt.equity.map((p) => p.buyAndHold as number) });
    }
    const drawEquity = () =>
      draw(
        equityEl,
        "equity",
        equityChart({ dates, series, width: widthFor(equityEl), height: 260, logScale: log.checked }),
      );
    log.addEventListener("change", () => void drawEquity());
    charts.push(drawEquity);
    charts.push(() =>
      draw(drawdownEl, "drawdown", drawdownChart({ dates, series, width: widthFor(drawdownEl), height: 180 }))
    );
  }
  return [
    h("h3", {}, "Backtest against buy & hold"),
    h(
      "p",
      { class: "muted" },
      `lag ${bt.lag} day(s) from decision to first return · costs ${bt.costBps} bps + slippage ${bt.slippageBps} bps per unit turnover · ${bt.annualization} periods per year · ${bt.points} dates`,
    ),
    bt.sharpeDifference === null ? h("span") : h(
      "p",
      { id: "sharpe-difference" },
      `Sharpe − buy & hold Sharpe: ${num(bt.sharpeDifference.value, 2)} (95 % ${num(bt.sharpeDifference.ci.low, 2)} ` +
        `to ${num(bt.sharpeDifference.ci.high, 2)}, p = ${num(bt.sharpeDifference.pValue, 4)}, block bootstrap)`,
    ),
    bt.warnings.length ? h("ul", { class: "warnings" }, bt.warnings.map((w) => h("li", {}, w))) : h("span"),
    h("p", {}, h("label", { class: "toggle" }, log, " logarithmic equity axis")),
    equityEl,
    drawdownEl,
    scroll(metricsTable),
  ];
}

function healthSection(run: RunDetail, charts: (() => Promise<void>)[]): HTMLElement[] {
  const title = h("h3", {}, "Training health per epoch");
  if (run.epochs.length === 0) {
    return [
      title,
      h(
        "p",
        { class: "muted" },
        "No per-epoch record: gradient-boosted and linear runs store none; a neural run stores them as it trains.",
      ),
    ];
  }
  const folds = [...new Set(run.epochs.map((e) => e.fold))];
  const lossEl = h("div");
  const gradEl = h("div");
  const details = h("details", {});
  const choose = h(
    "select",
    { id: "epoch-fold" },
    folds.map((f) => h("option", { value: String(f ?? "") }, f === null ? "outside folds" : `fold ${f}`)),
  );
  const render = () => {
    const fold = choose.value === "" ? null : Number(choose.value);
    const epochs = run.epochs.filter((e) => e.fold === fold);
    const x = epochs.map((e) => e.epoch);
    const nan = (v: number | null) => v ?? NaN;
    const loss: Record<string, number[]> = { train: epochs.map((e) => nan(e.trainLoss)) };
    if (epochs.some((e) => e.valLoss !== null)) loss.validation = epochs.map((e) => nan(e.valLoss));
    const grads = epochs.some((e) => e.gradNorm !== null);
    replace(
      details,
      h("summary", {}, "every epoch"),
      table(
        [
          "epoch",
          { text: "train loss", numeric: true },
          { text: "validation loss", numeric: true },
          { text: "learning rate", numeric: true },
          { text: "gradient norm", numeric: true },
          { text: "clipped steps", numeric: true },
          "non-finite",
        ],
        epochs.map((e) => [
          String(e.epoch),
          { child: num(e.trainLoss, 5), numeric: true },
          { child: num(e.valLoss, 5), numeric: true },
          { child: num(e.lr, 6), numeric: true },
          { child: num(e.gradNorm, 3), numeric: true },
          { child: pct(e.clipRatio), numeric: true },
          e.nonFinite.join(", "),
        ]),
      ),
    );
    const width = widthFor(lossEl) / 2 + 40;
    return Promise.all([
      draw(
        lossEl,
        "loss",
        lineChart({
          x,
          series: loss,
          xType: "quantitative",
          xTitle: "epoch",
          yTitle: "loss",
          title: "loss per epoch",
          width,
          height: 200,
        }),
      ),
      grads
        ? draw(
          gradEl,
          "gradients",
          lineChart({
            x,
            series: { "gradient norm (before clipping)": epochs.map((e) => nan(e.gradNorm)) },
            xType: "quantitative",
            xTitle: "epoch",
            yTitle: "L2 norm",
            title: "gradient norm per epoch",
            width,
            height: 200,
          }),
        )
        : Promise.resolve(replace(gradEl)),
    ]).then(() => {});
  };
  choose.addEventListener("change", () => void render());
  const nonFinite = run.epochs.filter((e) => e.nonFinite.length > 0);
  const nonFiniteNote = nonFinite.length === 0 ? h("span") : h(
    "ul",
    { class: "warnings", id: "non-finite-epochs" },
    nonFinite.slice(0, 10).map((e) =>
      h("li", {}, `fold ${e.fold ?? "—"}, epoch ${e.epoch}: ${e.nonFinite.join(", ")} (not drawn)`)
    ),
    nonFinite.length > 10 ? h("li", {}, `… ${nonFinite.length - 10} more epochs with non-finite values`) : [],
  );
  charts.push(render);
  return [
    title,
    nonFiniteNote,
    h("p", {}, h("label", {}, "fold ", choose)),
    h("div", { class: "charts" }, lossEl, gradEl),
    details,
  ];
}

function diagnosticsSection(run: RunDetail): HTMLElement[] {
  const title = h("h3", {}, "Diagnostics");
  if (run.diagnostics.length === 0) return [title, h("p", { class: "muted" }, "No diagnostic was recorded.")];
  const rank = { error: 0, warning: 1, info: 2 } as const;
  const rows = (list: RunDetail["diagnostics"]) =>
    list.map((d): Cell[] => [
      h("span", { class: `sev-${d.severity}` }, d.severity),
      d.fold === null ? "run" : String(d.fold),
      d.kind,
      d.message,
    ]);
  const head = ["severity", "fold", "kind", "message"];
  const notable = run.diagnostics.filter((d) => d.severity !== "info")
    .sort((a, b) => rank[a.severity] - rank[b.severity]);
  const info = run.diagnostics.filter((d) => d.severity === "info");
  return [
    title,
    notable.length === 0
      ? h("p", { class: "muted" }, "No warning or error.")
      : scroll(table(head, rows(notable), { id: "diagnostics-table" })),
    info.length === 0
      ? h("span")
      : h("details", {}, h("summary", {}, `${info.length} informational findings`), scroll(table(head, rows(info)))),
  ];
}

/** Renders run `id` into `root`. */
export async function renderRun(root: HTMLElement, id: string): Promise<void> {
  replace(root, h("p", { class: "muted" }, "Loading run…"));
  const { run } = await graphql<{ run: RunDetail }>(RUN_QUERY, { id });
  const charts: (() => Promise<void>)[] = [];
  replace(
    root,
    h(
      "p",
      {},
      run.study === null
        ? h("a", { href: "#/runs" }, "← all runs")
        : h("a", { href: `#/studies/${encodeURIComponent(run.study.id)}` }, "← its study"),
    ),
    h(
      "h2",
      {},
      "Run ",
      h("span", { class: "mono", id: "run-id" }, run.id),
      " ",
      h("span", { class: `status status-${run.status}` }, run.status),
    ),
    meta(run),
    ...verdictSection(run),
    run.error === null ? h("span") : h(
      "div",
      { class: "error-box" },
      `Failed${run.error.stage ? ` in stage ${run.error.stage}` : ""}${
        run.error.fold !== null ? ` (fold ${run.error.fold})` : ""
      }${run.error.name ? ` with ${run.error.name}` : ""}: ${run.error.message}`,
    ),
    headline(run),
    run.warnings.length
      ? h("ul", { class: "warnings", id: "run-warnings" }, run.warnings.map((w) => h("li", {}, w)))
      : h("span"),
    ...foldSection(run, charts),
    ...backtestSection(run, charts),
    ...addedBacktestsSection(run),
    ...healthSection(run, charts),
    ...diagnosticsSection(run),
  );
  // Charts are drawn once their containers are in the page (widths depend on the layout).
  await Promise.all(charts.map((c) => c()));
}
