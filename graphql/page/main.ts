/**
 * The dashboard page's entry point: a hash router over the views, the navigation, and errors shown with the server's
 * request id. Data comes only from the public GraphQL API (api.ts); charts are lib/report's specs (charts.ts).
 *
 * Routes: `#/runs` (with filters after `?`), `#/runs/<id>`. The navigation lists {@link TABS}; a view for studies
 * becomes one more entry there and one more route.
 *
 * @module
 */

import { ApiError, saveToken } from "./api.ts";
import { h, replace } from "./dom.ts";
import { renderRuns } from "./runs_view.ts";
import { renderRun } from "./run_view.ts";

/** The navigation's tabs: label and the hash prefix they own. */
export const TABS: readonly { label: string; hash: string }[] = [{ label: "Runs", hash: "#/runs" }];

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
  const root = document.getElementById("app")!;
  const nav = document.getElementById("nav")!;
  const hash = location.hash || "#/runs";
  replace(
    nav,
    TABS.map((t) => h("a", { href: t.hash, class: hash.startsWith(t.hash) ? "active" : undefined }, t.label)),
  );
  try {
    const run = hash.match(/^#\/runs\/([^?/]+)$/);
    if (run) {
      await renderRun(root, decodeURIComponent(run[1]));
      return;
    }
    const runs = hash.match(/^#\/runs(?:\?(.*))?$/);
    if (runs || hash === "#/") {
      await renderRuns(root, runs?.[1] ?? "", navigate);
      return;
    }
    replace(root, h("p", {}, "Nothing here. ", h("a", { href: "#/runs" }, "See all runs.")));
  } catch (e) {
    showError(root, e);
  }
}

addEventListener("hashchange", () => void route());
void route();
