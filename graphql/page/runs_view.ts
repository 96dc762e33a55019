/**
 * The runs list: filters (model kinds, symbols, data source, status, target kind, verdict, gate, creation dates, one
 * metric threshold) and order (creation or finish time, or any stored metric) kept in the URL, so a filtered view can
 * be bookmarked or shared; pages of 50 loaded by cursor. Each row puts the pooled accuracy and its 95 % interval beside
 * the strongest baseline (for a study entry, its block-bootstrap interval and the strongest pooled baseline on the same
 * rows, with the verdict and the gate), and the backtest's Sharpe ratio and maximum drawdown beside buy & hold's.
 *
 * @module
 */

import { graphql, type RunRow, RUNS_QUERY, type RunsPage } from "./api.ts";
import { type Cell, h, num, pct, replace, scroll, table, when } from "./dom.ts";
import { gateBadge, verdictBadge } from "./study_view.ts";

/** Page size of the list. */
export const PAGE_SIZE = 50;

const SOURCES = ["pooled", "backtest", "buyAndHold", "foldMean"] as const;

/** The list's state, as kept in the URL after `#/runs?`. */
export interface RunsState {
  models: string;
  symbols: string;
  dataSources: string;
  status: string;
  target: string;
  verdict: string;
  gate: string;
  from: string;
  to: string;
  mSource: string;
  mName: string;
  mMin: string;
  mMax: string;
  order: string;
  oSource: string;
  oName: string;
  dir: string;
}

const DEFAULTS: RunsState = {
  models: "",
  symbols: "",
  dataSources: "",
  status: "",
  target: "",
  verdict: "",
  gate: "",
  from: "",
  to: "",
  mSource: "pooled",
  mName: "",
  mMin: "",
  mMax: "",
  order: "createdAt",
  oSource: "backtest",
  oName: "sharpe",
  dir: "desc",
};

/** Reads the state from the hash's query string (unknown keys ignored). */
export function parseState(query: string): RunsState {
  const params = new URLSearchParams(query);
  const state = { ...DEFAULTS };
  for (const key of Object.keys(DEFAULTS) as (keyof RunsState)[]) {
    const v = params.get(key);
    if (v !== null) state[key] = v;
  }
  return state;
}

function stateQuery(state: RunsState): string {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(state)) if (v !== DEFAULTS[k as keyof RunsState]) params.set(k, v);
  return params.toString();
}

const list = (s: string) => s.split(",").map((x) => x.trim()).filter((x) => x !== "");

/** The GraphQL variables of a state (the API validates them and says what is wrong). */
export function variablesOf(state: RunsState): Record<string, unknown> {
  const filter: Record<string, unknown> = {};
  if (list(state.models).length) filter.models = list(state.models);
  if (list(state.symbols).length) filter.symbols = list(state.symbols);
  if (list(state.dataSources).length) filter.dataSources = list(state.dataSources);
  if (state.status) filter.statuses = [state.status];
  if (state.target) filter.targetKinds = [state.target];
  if (state.verdict) filter.verdicts = [state.verdict];
  if (state.gate) filter.gatePassed = state.gate === "passed";
  if (state.from) filter.createdFrom = state.from;
  if (state.to) filter.createdTo = state.to;
  if (state.mName && (state.mMin !== "" || state.mMax !== "")) {
    filter.metrics = [{
      metric: { source: state.mSource, name: state.mName },
      ...(state.mMin !== "" ? { min: Number(state.mMin) } : {}),
      ...(state.mMax !== "" ? { max: Number(state.mMax) } : {}),
    }];
  }
  const orderBy = state.order === "metric"
    ? { field: "metric", metric: { source: state.oSource, name: state.oName }, direction: state.dir }
    : { field: state.order, direction: state.dir };
  return { filter, orderBy, first: PAGE_SIZE };
}

function field(label: string, input: HTMLElement): HTMLElement {
  return h("label", {}, label, input);
}

function select(name: string, value: string, options: [string, string][]): HTMLSelectElement {
  return h(
    "select",
    { name },
    options.map(([v, text]) => h("option", { value: v, selected: v === value }, text)),
  );
}

function filterForm(state: RunsState, onApply: (s: RunsState) => void): HTMLFormElement {
  const input = (name: keyof RunsState, attrs: Record<string, string> = {}) =>
    h("input", { name, value: state[name], ...attrs });
  const form = h(
    "form",
    {
      class: "filters",
      onsubmit: (e: Event) => {
        e.preventDefault();
        const data = new FormData(form);
        const next = { ...DEFAULTS };
        for (const key of Object.keys(DEFAULTS) as (keyof RunsState)[]) {
          const v = data.get(key);
          if (typeof v === "string") next[key] = v.trim();
        }
        onApply(next);
      },
    },
    field("model kinds", input("models", { placeholder: "xgboost, lstm" })),
    field("symbols (any of)", input("symbols", { placeholder: "AAPL, MSFT" })),
    field("data source", input("dataSources", { placeholder: "prices/" })),
    field(
      "status",
      select("status", state.status, [
        ["", "any"],
        ["succeeded", "succeeded"],
        ["failed", "failed"],
        ["running", "running"],
        ["interrupted", "interrupted"],
      ]),
    ),
    field(
      "target",
      select("target", state.target, [["", "any"], ["direction", "direction"], ["direction3", "direction3"], [
        "return",
        "return",
      ], ["excess", "excess"]]),
    ),
    field("verdict", select("verdict", state.verdict, [["", "any"], ["edge", "edge"], ["no_edge", "no edge"]])),
    field("gate", select("gate", state.gate, [["", "any"], ["passed", "passed"], ["failed", "failed"]])),
    field("created from", input("from", { type: "date" })),
    field("created before", input("to", { type: "date" })),
    field("metric", select("mSource", state.mSource, SOURCES.map((s) => [s, s]))),
    field("name", input("mName", { placeholder: "accuracy" })),
    field("min", input("mMin", { type: "number", step: "any" })),
    field("max", input("mMax", { type: "number", step: "any" })),
    field(
      "order by",
      select("order", state.order, [["createdAt", "created"], ["finishedAt", "finished"], ["metric", "metric →"]]),
    ),
    field("metric", select("oSource", state.oSource, SOURCES.map((s) => [s, s]))),
    field("name", input("oName", { placeholder: "sharpe" })),
    field(
      "direction",
      select("dir", state.dir, [["desc", "largest / newest first"], ["asc", "smallest / oldest first"]]),
    ),
    h("button", { type: "submit" }, "Apply"),
  );
  return form;
}

function metricValue(run: RunRow, name: string): number | null {
  return run.pooled.find((m) => m.name === name)?.value ?? null;
}

/** The accuracy cell: pooled accuracy and its interval, marked when the interval clears (or trails) the baseline. */
function accuracyCell(run: RunRow): Cell {
  const line = run.pooledLine;
  if (line !== null) {
    const { low, high } = line.accuracyCi;
    const base = line.strongestBaseline.value;
    return {
      child: [pct(line.accuracy), h("span", { class: "muted" }, ` [${pct(low)}, ${pct(high)}]`)],
      numeric: true,
      className: low !== null && base !== null && low > base
        ? "beats"
        : high !== null && base !== null && high < base
        ? "trails"
        : undefined,
    };
  }
  const acc = metricValue(run, "accuracy");
  const low = metricValue(run, "accuracyLow");
  const high = metricValue(run, "accuracyHigh");
  const base = run.foldAggregates.strongestBaseline?.mean ?? null;
  let className: string | undefined;
  if (low !== null && base !== null && low > base) className = "beats";
  if (high !== null && base !== null && high < base) className = "trails";
  return {
    child: acc === null ? "—" : [pct(acc), h("span", { class: "muted" }, ` [${pct(low)}, ${pct(high)}]`)],
    numeric: true,
    className,
  };
}

function row(edge: RunsPage["runsConnection"]["edges"][number], showSort: boolean): Cell[] {
  const r = edge.node;
  const agg = r.foldAggregates;
  const symbols = r.symbols.length <= 3 ? r.symbols.join(", ") : `${r.symbols.length} symbols`;
  const cells: Cell[] = [
    h("a", { href: `#/runs/${encodeURIComponent(r.id)}`, class: "mono run-link", "data-run-id": r.id }, r.id),
    h("span", { class: `status status-${r.status}`, title: r.error?.message ?? "" }, r.status),
    r.model,
    h("span", {}, r.dataSource, h("br"), h("span", { class: "muted" }, symbols)),
    { child: when(r.createdAt), className: "nowrap" },
    accuracyCell(r),
    r.pooledLine !== null
      ? h(
        "span",
        { class: "baseline" },
        `${r.pooledLine.strongestBaseline.name} ${pct(r.pooledLine.strongestBaseline.value)} (pooled)`,
      )
      : agg.strongestBaseline === null
      ? "—"
      : h("span", { class: "baseline" }, `${agg.strongestBaseline.name} ${pct(agg.strongestBaseline.mean)}`),
    [verdictBadge(r.verdict), " ", r.gate === null ? "" : gateBadge(r.gate.passed)],
    agg.accuracy === null ? "—" : `${pct(agg.accuracy.mean)} ± ${pct(agg.accuracy.std)} (${agg.folds})`,
    r.backtest === null
      ? "—"
      : [num(r.backtest.sharpe, 2), h("span", { class: "baseline" }, ` vs ${num(r.backtest.bhSharpe, 2)}`)],
    r.backtest === null
      ? "—"
      : [pct(r.backtest.maxDrawdown), h("span", { class: "baseline" }, ` vs ${pct(r.backtest.bhMaxDrawdown)}`)],
  ];
  if (showSort) cells.push(num(edge.sortValue, 4));
  return cells;
}

/** Renders the runs list for the URL query `query` into `root`. */
export async function renderRuns(root: HTMLElement, query: string, navigate: (hash: string) => void): Promise<void> {
  const state = parseState(query);
  const showSort = state.order === "metric";
  const head = [
    "run",
    "status",
    "model",
    "data",
    "created (UTC)",
    { text: "pooled accuracy [95 %]", numeric: true },
    {
      text: "strongest baseline",
      title: "A study entry's strongest pooled baseline on the same rows; otherwise the largest fold-mean baseline",
    },
    { text: "verdict · gate" },
    { text: "fold accuracy mean ± std (folds)", numeric: true },
    { text: "Sharpe vs buy & hold", numeric: true },
    { text: "max drawdown vs buy & hold", numeric: true },
    ...(showSort ? [{ text: `${state.oSource}.${state.oName}`, numeric: true }] : []),
  ];
  const status = h("p", { class: "muted", id: "runs-count" }, "Loading runs…");
  const tbodyHolder = h("div");
  const more = h("button", { type: "button", hidden: true }, "Load more");
  replace(
    root,
    h("h2", {}, "Runs"),
    filterForm(state, (next) => navigate(`#/runs${stateQuery(next) ? `?${stateQuery(next)}` : ""}`)),
    status,
    tbodyHolder,
    more,
  );
  const variables = variablesOf(state);
  const rows: Cell[][] = [];
  let after: string | null = null;
  const load = async () => {
    const data: RunsPage = await graphql<RunsPage>(RUNS_QUERY, { ...variables, after });
    const c = data.runsConnection;
    for (const edge of c.edges) rows.push(row(edge, showSort));
    replace(tbodyHolder, scroll(table(head, rows, { id: "runs-table" })));
    replace(
      status,
      c.totalCount === 0
        ? "No stored run matches. Runs appear here once `candor run` or `candor demo` has stored one."
        : `${rows.length} of ${c.totalCount} runs`,
    );
    after = c.pageInfo.endCursor;
    more.hidden = !c.pageInfo.hasNextPage;
  };
  more.addEventListener("click", () => {
    more.disabled = true;
    load().finally(() => (more.disabled = false));
  });
  await load();
}
