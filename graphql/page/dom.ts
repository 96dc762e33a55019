/**
 * A small DOM builder for the dashboard page. Text always goes in as text nodes (never parsed as HTML), so stored
 * strings — run ids, messages, symbols — cannot inject markup.
 *
 * @module
 */

/** Attributes of {@link h}: strings set as attributes, functions as event listeners (`onclick`, `onsubmit`, ...). */
export type Attrs = Record<string, string | number | boolean | null | undefined | ((e: Event) => void)>;

/** A child: an element, text, or nothing. Arrays are flattened. */
export type Child = Node | string | number | null | undefined | false | Child[];

/** Creates an element with attributes and children (text children become text nodes). */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (typeof v === "function") el.addEventListener(k.replace(/^on/, ""), v);
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  append(el, children);
  return el;
}

function append(el: Node, children: Child[]): void {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.appendChild(typeof c === "string" || typeof c === "number" ? document.createTextNode(String(c)) : c);
  }
}

/** Replaces the children of `el`. */
export function replace(el: Element, ...children: Child[]): void {
  el.replaceChildren();
  append(el, children);
}

/** A number with `digits` decimals, or an em dash when missing. */
export function num(x: number | null | undefined, digits = 3): string {
  return x === null || x === undefined || !Number.isFinite(x) ? "—" : x.toFixed(digits);
}

/** A share as a percentage with one decimal, or an em dash when missing. */
export function pct(x: number | null | undefined, digits = 1): string {
  return x === null || x === undefined || !Number.isFinite(x) ? "—" : `${(100 * x).toFixed(digits)}%`;
}

/** An ISO timestamp as `YYYY-MM-DD HH:MM` UTC, or an em dash. */
export function when(iso: string | null | undefined): string {
  return iso ? `${iso.slice(0, 10)} ${iso.slice(11, 16)}` : "—";
}

/** A table cell: content, or content with alignment (`numeric`: right-aligned, tabular figures) and a class. */
export type Cell = Child | { child: Child; numeric?: boolean; className?: string };

/** A table from header cells and rows of cells. */
export function table(
  head: (string | { text: string; numeric?: boolean; title?: string })[],
  rows: Cell[][],
  attrs: Attrs = {},
): HTMLTableElement {
  const th = head.map((c) =>
    typeof c === "string" ? h("th", {}, c) : h("th", { class: c.numeric ? "num" : undefined, title: c.title }, c.text)
  );
  const body = rows.map((r) =>
    h(
      "tr",
      {},
      r.map((c) => {
        if (c !== null && typeof c === "object" && "child" in c) {
          return h("td", { class: [c.numeric ? "num" : "", c.className ?? ""].join(" ").trim() || undefined }, c.child);
        }
        return h("td", {}, c as Child);
      }),
    )
  );
  return h("table", attrs, h("thead", {}, h("tr", {}, th)), h("tbody", {}, body));
}

/** Wraps a wide element so it scrolls sideways instead of widening the page. */
export function scroll(el: HTMLElement): HTMLElement {
  return h("div", { class: "scroll" }, el);
}
