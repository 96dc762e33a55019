/**
 * The studies list: filters (status, data source, target kind, model kinds, name, creation dates) and order (creation
 * or finish time, either direction) kept in the URL after `#/studies?`, so a view can be bookmarked; pages of 50 by
 * cursor. Each row says what the study is (target, scheme, data, entries) and how its entries fared: how many found an
 * edge over their strongest naive baseline and how many passed the walk-forward-efficiency gate.
 *
 * @module
 */

import { graphql, STUDIES_QUERY, type StudiesPage, type StudyRow } from "./api.ts";
import { type Cell, h, replace, scroll, table, when } from "./dom.ts";

/** Page size of the list. */
export const PAGE_SIZE = 50;

/** The list's state, as kept in the URL. */
export interface StudiesState {
  status: string;
  source: string;
  target: string;
  kinds: string;
  name: string;
  from: string;
  to: string;
  order: string;
  dir: string;
}

const DEFAULTS: StudiesState = {
  status: "",
  source: "",
  target: "",
  kinds: "",
  name: "",
  from: "",
  to: "",
  order: "createdAt",
  dir: "desc",
};

/** Reads the state from the hash's query string (unknown keys ignored). */
export function parseStudiesState(query: string): StudiesState {
  const params = new URLSearchParams(query);
  const state = { ...DEFAULTS };
  for (const key of Object.keys(DEFAULTS) as (keyof StudiesState)[]) {
    const v = params.get(key);
    if (v !== null) state[key] = v;
  }
  return state;
}

function stateQuery(state: StudiesState): string {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(state)) if (v !== DEFAULTS[k as keyof StudiesState]) params.set(k, v);
  return params.toString();
}

const list = (s: string) => s.split(",").map((x) => x.trim()).filter((x) => x !== "");

/** The GraphQL variables of a state (the API validates them and says what is wrong). */
export function studiesVariables(state: StudiesState): Record<string, unknown> {
  const filter: Record<string, unknown> = {};
  if (state.status) filter.statuses = [state.status];
  if (list(state.source).length) filter.dataSources = list(state.source);
  if (state.target) filter.targetKinds = [state.target];
  if (list(state.kinds).length) filter.modelKinds = list(state.kinds);
  if (state.name) filter.name = state.name;
  if (state.from) filter.createdFrom = state.from;
  if (state.to) filter.createdTo = state.to;
  return { filter, orderBy: { field: state.order, direction: state.dir }, first: PAGE_SIZE };
}

function select(name: string, value: string, options: [string, string][]): HTMLSelectElement {
  return h("select", { name }, options.map(([v, text]) => h("option", { value: v, selected: v === value }, text)));
}

function filterForm(state: StudiesState, onApply: (s: StudiesState) => void): HTMLFormElement {
  const input = (name: keyof StudiesState, attrs: Record<string, string> = {}) =>
    h("input", { name, value: state[name], ...attrs });
  const field = (label: string, el: HTMLElement) => h("label", {}, label, el);
  const form = h(
    "form",
    {
      class: "filters",
      id: "studies-filters",
      onsubmit: (e: Event) => {
        e.preventDefault();
        const data = new FormData(form);
        const next = { ...DEFAULTS };
        for (const key of Object.keys(DEFAULTS) as (keyof StudiesState)[]) {
          const v = data.get(key);
          if (typeof v === "string") next[key] = v.trim();
        }
        onApply(next);
      },
    },
    field("name contains", input("name", { placeholder: "momentum" })),
    field(
      "status",
      select("status", state.status, [
        ["", "any"],
        ["running", "running"],
        ["succeeded", "succeeded"],
        ["failed", "failed"],
        ["interrupted", "interrupted"],
      ]),
    ),
    field(
      "target",
      select("target", state.target, [
        ["", "any"],
        ["direction", "direction"],
        ["direction3", "direction3"],
        ["return", "return"],
        ["excess", "excess"],
      ]),
    ),
    field("model kinds (any of)", input("kinds", { placeholder: "xgboost, lstm" })),
    field("data source", input("source", { placeholder: "prices/" })),
    field("created from", input("from", { type: "date" })),
    field("created before", input("to", { type: "date" })),
    field("order by", select("order", state.order, [["createdAt", "created"], ["finishedAt", "finished"]])),
    field("direction", select("dir", state.dir, [["desc", "newest first"], ["asc", "oldest first"]])),
    h("button", { type: "submit" }, "Apply"),
  );
  return form;
}

function row(s: StudyRow): Cell[] {
  const edges = s.comparison.filter((r) => r.verdict === "edge").length;
  const gates = s.comparison.filter((r) => r.gatePassed).length;
  const kinds = [...new Set(s.entries.map((e) => e.kind))];
  return [
    h(
      "a",
      { href: `#/studies/${encodeURIComponent(s.id)}`, class: "study-link", "data-study-id": s.id },
      s.name ?? h("span", { class: "mono" }, s.id),
    ),
    [
      h("span", { class: `status status-${s.status}`, title: s.error?.message ?? "" }, s.status),
      s.liveness === "stale"
        ? [" ", h("span", { class: "stale", title: "its process stopped sending heartbeats" }, "stale")]
        : [],
      s.tags.length ? h("div", { class: "tags" }, s.tags.map((t) => h("span", { class: "tag" }, t))) : [],
    ],
    s.targetKind === null ? "—" : `${s.targetKind}, h = ${s.horizon ?? "?"}`,
    s.scheme ?? "—",
    h(
      "span",
      {},
      s.dataSource,
      h("br"),
      h("span", { class: "muted" }, s.symbols.length <= 3 ? s.symbols.join(", ") : `${s.symbols.length} symbols`),
    ),
    `${s.entries.length}: ${kinds.join(", ")}`,
    s.comparison.length === 0 ? h("span", { class: "muted" }, s.status === "running" ? "running…" : "—") : h(
      "span",
      { class: edges > 0 ? "beats" : undefined },
      `${edges} of ${s.comparison.length} edge · ${gates} passed the gate`,
    ),
    { child: when(s.createdAt), className: "nowrap" },
  ];
}

/** Renders the studies list for the URL query `query` into `root`. */
export async function renderStudies(root: HTMLElement, query: string, navigate: (hash: string) => void): Promise<void> {
  const state = parseStudiesState(query);
  const head = ["study", "status", "target", "validation", "data", "entries", "verdicts", "created (UTC)"];
  const status = h("p", { class: "muted", id: "studies-count" }, "Loading studies…");
  const holder = h("div");
  const more = h("button", { type: "button", hidden: true }, "Load more");
  replace(
    root,
    h("h2", {}, "Studies"),
    h(
      "p",
      { class: "muted" },
      "A study trains several model entries on the same folds and rows and compares them, each against its " +
        "strongest naive baseline.",
    ),
    filterForm(state, (next) => navigate(`#/studies${stateQuery(next) ? `?${stateQuery(next)}` : ""}`)),
    status,
    holder,
    more,
  );
  const variables = studiesVariables(state);
  const rows: Cell[][] = [];
  let after: string | null = null;
  const load = async () => {
    const data: StudiesPage = await graphql<StudiesPage>(STUDIES_QUERY, { ...variables, after });
    const c = data.studies;
    for (const s of c.nodes) rows.push(row(s));
    replace(holder, scroll(table(head, rows, { id: "studies-table" })));
    replace(
      status,
      c.totalCount === 0
        ? "No stored study matches. Studies appear here once `candor run` or `candor demo` has stored one."
        : `${rows.length} of ${c.totalCount} studies`,
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
