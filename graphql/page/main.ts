/**
 * The dashboard page's entry point: a hash router over the views, the navigation, and errors shown with the server's
 * request id. Data comes only from the public GraphQL API (api.ts); charts are lib/report's specs (charts.ts).
 *
 * Routes: `#/studies` (with filters after `?`, the default), `#/studies/<id>`, `#/runs` (with filters), `#/runs/<id>`,
 * `#/production` (production models with their latest predictions, and sweeps).
 * The navigation lists {@link TABS}. A view that keeps working in the background (a study's live progress) gets an
 * abort signal that fires when the route changes.
 *
 * @module
 */

import { ApiError, saveToken } from "./api.ts";
import { h, replace } from "./dom.ts";
import { renderProduction } from "./production_view.ts";
import { renderRuns } from "./runs_view.ts";
import { renderRun } from "./run_view.ts";
import { renderStudies } from "./studies_view.ts";
import { renderStudy } from "./study_view.ts";

/** The navigation's tabs: label and the hash prefix they own. */
export const TABS: readonly { label: string; hash: string }[] = [
  { label: "Studies", hash: "#/studies" },
  { label: "Runs", hash: "#/runs" },
  { label: "Production", hash: "#/production" },
];

/** Aborts the previous view's background work (live progress) when the route changes. */
let current = new AbortController();

function navigate(hash: string): void {
  if (location.hash === hash) void route();
  else location.hash = hash;
}

function showError(root: HTMLElement, e: unknown): void {
  if (e instanceof ApiError && e.code === "UNAUTHENTICATED") {
    const input = h("input", { type: "password", name: "token", autocomplete: "off", placeholder: "bearer token" });
    replace(
      root,
      h("p", {}, "This server requires a bearer token (CANDOR_GRAPHQL_TOKEN) for its API."),
      h(
        "form",
        {
          class: "token",
          onsubmit: (ev: Event) => {
            ev.preventDefault();
            saveToken(input.value.trim());
            void route();
          },
        },
        input,
        h("button", { type: "submit" }, "Use token"),
      ),
    );
    return;
  }
  const message = e instanceof Error ? e.message : String(e);
  const id = e instanceof ApiError && e.requestId ? ` (request id ${e.requestId})` : "";
  replace(root, h("div", { class: "error-box", id: "page-error" }, `${message}${id}`));
}

async function route(): Promise<void> {
  current.abort();
  const controller = current = new AbortController();
  const root = document.getElementById("app")!;
  const nav = document.getElementById("nav")!;
  const hash = location.hash || "#/studies";
  replace(
    nav,
    TABS.map((t) => h("a", { href: t.hash, class: hash.startsWith(t.hash) ? "active" : undefined }, t.label)),
  );
  try {
    const study = hash.match(/^#\/studies\/([^?/]+)$/);
    if (study) {
      await renderStudy(root, decodeURIComponent(study[1]), controller.signal, () => {
        if (!controller.signal.aborted) void route();
      });
      return;
    }
    const studies = hash.match(/^#\/studies(?:\?(.*))?$/);
    if (studies || hash === "#/") {
      await renderStudies(root, studies?.[1] ?? "", navigate);
      return;
    }
    const run = hash.match(/^#\/runs\/([^?/]+)$/);
    if (run) {
      await renderRun(root, decodeURIComponent(run[1]));
      return;
    }
    const runs = hash.match(/^#\/runs(?:\?(.*))?$/);
    if (runs) {
      await renderRuns(root, runs?.[1] ?? "", navigate);
      return;
    }
    if (hash === "#/production") {
      await renderProduction(root);
      return;
    }
    replace(root, h("p", {}, "Nothing here. ", h("a", { href: "#/studies" }, "See all studies.")));
  } catch (e) {
    showError(root, e);
  }
}

addEventListener("hashchange", () => void route());
void route();
