/**
 * One study (`#/studies/<id>`): what it is (target, validation, data, features), the comparison table — each entry's
 * pooled headline with its 95 % interval beside the strongest naive baseline on the same rows, the verdict, walk-forward
 * efficiency, the gate, the backtest's Sharpe ratio and maximum drawdown beside buy & hold's, training health — with a
 * link to each entry's run page; warnings and notes; the fold plan and the configuration checks.
 *
 * While the study runs, a live panel follows it through the `studyProgress` subscription (server-sent events): stage,
 * entry, fold, the latest epoch's losses, each entry's state, the loss curve of the fold just stored, and the
 * comparison as entries finish. When the study is sealed the page reloads it.
 *
 * @module
 */

import {
  type ComparisonRow,
  graphql,
  STUDY_PROGRESS_SUBSCRIPTION,
  STUDY_QUERY,
  type StudyDetail,
  type StudyProgressEvent,
  subscribe,
} from "./api.ts";
import { type Cell, h, num, pct, replace, scroll, table, when } from "./dom.ts";
import { draw, lineChart, widthFor } from "./charts.ts";

/** Baselines in words. */
const BASELINE_WORDS: Record<string, string> = {
  coinFlip: "coin flip",
  alwaysLong: "always up",
  majorityClass: "majority class",
  previousSign: "previous-day sign",
};

/** A verdict as a badge. */
export function verdictBadge(verdict: "edge" | "no_edge" | null): HTMLElement {
  if (verdict === null) return h("span", { class: "muted" }, "—");
  return h("span", { class: `verdict verdict-${verdict}` }, verdict === "edge" ? "edge" : "no edge");
}

/** A gate outcome as a badge. */
export function gateBadge(passed: boolean | null): HTMLElement {
  if (passed === null) return h("span", { class: "muted" }, "—");
  return h("span", { class: `gate gate-${passed ? "passed" : "failed"}` }, passed ? "passed" : "failed");
}

/** The headline value in its units: accuracy as a percentage, IC as a number. */
function headlineText(r: ComparisonRow): Cell {
  const f = r.headline.metric === "accuracy" ? (x: number | null) => pct(x) : (x: number | null) => num(x, 3);
  return {
    child: [
      `${r.headline.metric === "accuracy" ? "" : "IC "}${f(r.headline.value)}`,
      h("span", { class: "muted" }, ` [${f(r.headline.ci.low)}, ${f(r.headline.ci.high)}]`),
    ],
    numeric: true,
    className: r.verdict === "edge" ? "beats" : undefined,
  };
}

/** The comparison table: one row per entry that finished. */
export function comparisonTable(rows: ComparisonRow[]): HTMLElement {
  const head = [
    "entry",
    "kind",
    { text: "headline [95 %]", numeric: true, title: "Pooled out-of-sample accuracy (IC for return targets)" },
    { text: "strongest baseline (same rows)", title: "The naive baseline with the highest pooled accuracy" },
    "verdict",
    { text: "WFE", numeric: true, title: "Walk-forward efficiency (test edge / validation-tail edge)" },
    "gate",
    { text: "Sharpe vs buy & hold", numeric: true },
    { text: "max drawdown vs buy & hold", numeric: true },
    { text: "health", title: "Training health and the test calls (constant or one-sided predictions)" },
  ];
  const body: Cell[][] = rows.map((r) => [
    r.runId === null
      ? r.name
      : h("a", { href: `#/runs/${encodeURIComponent(r.runId)}`, class: "entry-link", "data-run-id": r.runId }, r.name),
    r.kind,
    headlineText(r),
    h("span", { class: "baseline" }, `${BASELINE_WORDS[r.baseline.name] ?? r.baseline.name} ${pct(r.baseline.value)}`),
    verdictBadge(r.verdict),
    { child: num(r.wfe, 2), numeric: true },
    gateBadge(r.gatePassed),
    { child: [num(r.sharpe, 2), h("span", { class: "baseline" }, ` vs ${num(r.buyAndHoldSharpe, 2)}`)], numeric: true },
    {
      child: [pct(r.maxDrawdown), h("span", { class: "baseline" }, ` vs ${pct(r.buyAndHoldMaxDrawdown)}`)],
      numeric: true,
    },
    h("span", { class: r.health === "healthy" ? undefined : "sev-warning" }, r.health),
  ]);
  return scroll(table(head, body, { id: "comparison-table" }));
}

function meta(s: StudyDetail): HTMLElement {
  const item = (k: string, v: string) => [h("dt", {}, k), h("dd", {}, v)];
  return h(
    "dl",
    { class: "meta" },
    item("target", s.targetKind === null ? "—" : `${s.targetKind}, horizon ${s.horizon ?? "?"} day(s)`),
    item("validation", `${s.scheme ?? "—"} · ${s.plannedFolds ?? "?"} fold(s), the same for every entry`),
    item(
      "data",
      `${s.dataSource} · ${s.symbols.length} symbols (${s.symbols.slice(0, 12).join(", ")}${
        s.symbols.length > 12 ? ", …" : ""
      })${s.dataFingerprint ? ` · ${s.dataFingerprint.slice(0, 23)}` : ""}`,
    ),
    item(
      "features",
      s.features.length === 0
        ? "—"
        : `${s.features.length}: ${s.features.slice(0, 8).join(", ")}${s.features.length > 8 ? ", …" : ""}`,
    ),
    item("created / finished (UTC)", `${when(s.createdAt)} / ${when(s.finishedAt)}`),
    s.tags.length ? item("tags", s.tags.join(", ")) : [],
    s.note ? item("note", s.note) : [],
    item("seed · version", `${s.seed ?? "—"} · ${s.version ?? "—"}`),
    s.theoreticalAccuracy === null ? [] : item(
      "best achievable accuracy",
      `${pct(s.theoreticalAccuracy)} (synthetic market with a planted signal)`,
    ),
    s.leakageOverride ? item("leakage", "trained despite leaking features, by explicit override") : [],
  );
}

function entriesTable(s: StudyDetail): HTMLElement {
  return scroll(table(
    ["entry", "kind", "run", "status"],
    s.entries.map((e) => [
      e.name,
      e.kind,
      e.run === null
        ? h("span", { class: "muted" }, "not started")
        : h("a", { href: `#/runs/${encodeURIComponent(e.run.id)}`, class: "mono" }, e.run.id),
      e.run === null ? "pending" : h("span", { class: `status status-${e.run.status}` }, e.run.status),
    ]),
    { id: "entries-table", class: "compact" },
  ));
}

function planSection(s: StudyDetail): HTMLElement[] {
  const plan = s.plan ?? [];
  const checks = [...s.configurationChecks].sort((a, b) => (a.verdict === "ok" ? 1 : 0) - (b.verdict === "ok" ? 1 : 0));
  const notOk = checks.filter((c) => c.verdict !== "ok").length;
  return [
    plan.length === 0 ? h("span") : h(
      "details",
      {},
      h("summary", {}, `fold plan (${plan.length} folds)`),
      scroll(table(
        ["fold", "training", "test"],
        plan.map((f) => [
          String(f.index),
          f.train.map((w) => `${w.start} → ${w.end}`).join(", "),
          f.test.map((w) => `${w.start} → ${w.end}`).join(", "),
        ]),
        { class: "compact" },
      )),
    ),
    checks.length === 0 ? h("span") : h(
      "details",
      { open: notOk > 0 ? true : undefined },
      h("summary", {}, `configuration checks (${checks.length}, ${notOk} not ok)`),
      scroll(table(
        ["verdict", "check", "subject", "reason"],
        checks.map((c) => [
          h("span", { class: c.verdict === "ok" ? "sev-info" : "sev-error" }, c.verdict),
          c.check,
          c.subject,
          c.reason,
        ]),
        { class: "compact", id: "checks-table" },
      )),
    ),
  ];
}

/** The live panel's content for one progress event. */
function livePanel(p: StudyProgressEvent, chart: HTMLElement): HTMLElement[] {
  const stageText: Record<StudyProgressEvent["stage"], string> = {
    preparing: "preparing (loading prices, features, leakage audit, fold plan)",
    training: `training ${p.entry ?? ""}${p.fold === null ? "" : `, fold ${p.fold + 1} of ${p.plannedFolds ?? "?"}`}`,
    pooling: `pooling and backtesting ${p.entry ?? ""}`,
    comparing: "comparing the entries",
    done: "done",
    failed: "failed",
    interrupted: "interrupted",
  };
  const bar = h("progress", { max: "1", value: String(p.fraction ?? 0), id: "live-progress" });
  const epoch = p.lastEpoch;
  return [
    h(
      "p",
      {},
      h("strong", { id: "live-stage" }, stageText[p.stage]),
      " ",
      bar,
      ` ${p.fraction === null ? "" : pct(p.fraction, 0)} · ${p.foldsDone} fold(s) stored · updated ${when(p.at)} UTC`,
      p.liveness === "stale" ? [" · ", h("span", { class: "stale" }, "stale: no heartbeat from its process")] : [],
    ),
    epoch === null ? h("span") : h(
      "p",
      { class: "muted", id: "live-epoch" },
      `latest stored epoch: fold ${epoch.fold ?? "—"}, epoch ${epoch.epoch} — train loss ${
        num(epoch.trainLoss, 4)
      }, validation loss ${num(epoch.valLoss, 4)} (epochs are stored when their fold finishes)`,
    ),
    scroll(table(
      ["entry", "kind", "state", { text: "folds stored", numeric: true }],
      p.entries.map((e) => [
        e.name,
        e.kind,
        h("span", { class: `status status-${e.status}` }, e.status),
        { child: `${e.foldsDone} / ${p.plannedFolds ?? "?"}`, numeric: true },
      ]),
      { class: "compact", id: "live-entries" },
    )),
    chart,
  ];
}

/** The loss curve of the running entry's latest stored fold (lib/report's line chart). */
function drawLiveLoss(el: HTMLElement, p: StudyProgressEvent): Promise<void> {
  const epochs = p.run?.epochs ?? [];
  if (epochs.length === 0) {
    replace(el);
    return Promise.resolve();
  }
  const fold = epochs.reduce((m, e) => Math.max(m, e.fold ?? -1), -1);
  const mine = epochs.filter((e) => (e.fold ?? -1) === fold);
  const series: Record<string, number[]> = { train: mine.map((e) => e.trainLoss ?? NaN) };
  if (mine.some((e) => e.valLoss !== null)) series.validation = mine.map((e) => e.valLoss ?? NaN);
  return draw(
    el,
    "live-loss",
    lineChart({
      x: mine.map((e) => e.epoch),
      series,
      xType: "quantitative",
      xTitle: "epoch",
      yTitle: "loss",
      title: `${p.entry ?? ""} loss per epoch, fold ${fold}`,
      width: Math.min(520, widthFor(el)),
      height: 180,
    }),
  );
}

/** Renders study `id` into `root`; a running study is followed live until `signal` aborts or it is sealed. */
export async function renderStudy(
  root: HTMLElement,
  id: string,
  signal: AbortSignal,
  reload: () => void,
): Promise<void> {
  replace(root, h("p", { class: "muted" }, "Loading study…"));
  const { study } = await graphql<{ study: StudyDetail }>(STUDY_QUERY, { id });
  const comparisonHolder = h("div", { id: "comparison" });
  const live = h("section", { class: "live", id: "live" });
  const chart = h("div");
  const fillComparison = (rows: ComparisonRow[]) =>
    replace(
      comparisonHolder,
      rows.length === 0
        ? h("p", { class: "muted" }, study.status === "running" ? "No entry has finished yet." : "No comparison.")
        : comparisonTable(rows),
    );
  fillComparison(study.comparison);
  replace(
    root,
    h("p", {}, h("a", { href: "#/studies" }, "← all studies")),
    h(
      "h2",
      {},
      "Study ",
      h("span", { id: "study-name" }, study.name ?? ""),
      " ",
      h("span", { class: "mono muted", id: "study-id" }, study.id),
      " ",
      h("span", { class: `status status-${study.status}` }, study.status),
    ),
    meta(study),
    study.error === null ? h("span") : h(
      "div",
      { class: "error-box" },
      `Failed${study.error.stage ? ` in stage ${study.error.stage}` : ""}${
        study.error.fold !== null ? ` (fold ${study.error.fold})` : ""
      }${study.error.name ? ` with ${study.error.name}` : ""}: ${study.error.message}`,
    ),
    study.liveness === "stale"
      ? h(
        "div",
        { class: "error-box", id: "study-stale" },
        `Still marked running, but its process has sent no heartbeat since ${
          when(study.heartbeatAt)
        } UTC: it has probably stopped. Mark it interrupted (markInterrupted, with the server's token) to seal ` +
          "it; it can then be resumed.",
      )
      : h("span"),
    study.status === "running" ? [h("h3", {}, "Live progress"), live] : [],
    h("h3", {}, "Comparison (same folds, same rows)"),
    h(
      "p",
      { class: "muted" },
      "Headline: pooled out-of-sample accuracy (IC for return targets) with its block-bootstrap 95 % interval over " +
        "dates. Verdict edge: the interval of the difference to the strongest baseline lies above 0. The gate " +
        "passes on an edge with walk-forward efficiency at least its threshold.",
    ),
    comparisonHolder,
    study.warnings.length
      ? h("ul", { class: "warnings", id: "study-warnings" }, study.warnings.map((w) => h("li", {}, w)))
      : h("span"),
    study.notes.length ? h("ul", { class: "notes" }, study.notes.map((n) => h("li", {}, n))) : h("span"),
    h("h3", {}, "Entries"),
    entriesTable(study),
    h("h3", {}, "Folds and checks"),
    ...planSection(study),
  );
  if (study.status !== "running") return;
  replace(live, h("p", { class: "muted" }, "Connecting…"));
  // Followed in the background: the page is usable meanwhile; a new route aborts it. The server ends a subscription
  // after its lifetime even if the study still runs: subscribe again until the study is sealed.
  const follow = async () => {
    while (!signal.aborted) {
      let sealed = false;
      await subscribe<{ studyProgress: StudyProgressEvent }>(STUDY_PROGRESS_SUBSCRIPTION, { id }, (data) => {
        const p = data.studyProgress;
        replace(live, ...livePanel(p, chart));
        fillComparison(p.study.comparison);
        void drawLiveLoss(chart, p);
        sealed ||= p.sealed;
      }, signal);
      if (sealed) {
        if (!signal.aborted) reload();
        return;
      }
      await new Promise((r) => setTimeout(r, 1000));
    }
  };
  follow().catch((e) => {
    if (signal.aborted) return;
    replace(live, h("div", { class: "error-box" }, `Live progress stopped: ${(e as Error).message}`));
  });
}
