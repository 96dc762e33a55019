/**
 * The dashboard page's files as the server sends them: `index.html`, `style.css` and one script bundled from
 * `main.ts` — the page's code, lib/report/charts.ts (the same Vega-Lite specs notebooks and reports draw) and the npm
 * packages vega, vega-lite, vega-embed and vega-interpreter — so the page loads nothing from another host.
 *
 * The bundle is built with `deno bundle` (esbuild; Deno fetches esbuild's npm package on first use) once per process,
 * at the first request for the page or when the server warms it up at start, and kept in memory (≈ 0.9 MB minified).
 * Its URL carries a hash of its content, so browsers may cache it for good.
 *
 * The page runs under a strict Content-Security-Policy: scripts only from this server and no `eval` — charts are
 * drawn with vega's expression interpreter (vega-interpreter) instead of generated code.
 *
 * @module
 */

import { fileURLToPath } from "node:url";

const here = new URL(".", import.meta.url);
const root = new URL("../../", import.meta.url);

/** Content-Security-Policy of the dashboard page. */
export const PAGE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  // vega-embed and vega-tooltip add <style> elements for their menus and tooltips.
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");

/** A built script. */
interface Bundle {
  js: string;
  /** Path the page loads it from, with a content hash. */
  path: string;
}

async function sha256Hex(text: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** Bundles graphql/page/main.ts for the browser with `deno bundle`; throws with Deno's message when it fails. */
export async function bundlePageScript(): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "candor-page-" });
  try {
    const out = `${dir}/app.js`;
    const result = await new Deno.Command(Deno.execPath(), {
      args: [
        "bundle",
        "--quiet",
        "--platform",
        "browser",
        "--minify",
        "--config",
        fileURLToPath(new URL("deno.json", root)),
        "-o",
        out,
        fileURLToPath(new URL("main.ts", here)),
      ],
      env: { NO_COLOR: "1" },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (!result.success) {
      const err = new TextDecoder().decode(result.stderr).trim();
      throw new Error(`deno bundle failed (exit ${result.code}): ${err.slice(-2000)}`);
    }
    return await Deno.readTextFile(out);
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

/** Serves the page, its stylesheet and its bundled script. */
export class PageAssets {
  #bundle: Promise<Bundle> | undefined;
  #static: Promise<{ html: string; css: string }> | undefined;

  /** Builds the script (once; later calls share the first build). Rejects when bundling fails. */
  build(): Promise<void> {
    return this.#script().then(() => {});
  }

  #script(): Promise<Bundle> {
    if (this.#bundle !== undefined) return this.#bundle;
    const bundle = bundlePageScript().then(async (js) => ({
      js,
      path: `/assets/app.${(await sha256Hex(js)).slice(0, 16)}.js`,
    }));
    // A failed build is retried at the next request rather than kept.
    bundle.catch(() => {
      if (this.#bundle === bundle) this.#bundle = undefined;
    });
    return this.#bundle = bundle;
  }

  #files(): Promise<{ html: string; css: string }> {
    this.#static ??= Promise.all([
      Deno.readTextFile(new URL("index.html", here)),
      Deno.readTextFile(new URL("style.css", here)),
    ]).then(([html, css]) => ({ html, css }));
    return this.#static;
  }

  /** The response for `pathname`, or undefined when it is not one of the page's files. */
  async serve(pathname: string): Promise<Response | undefined> {
    if (pathname === "/" || pathname === "/index.html") {
      let bundle: Bundle;
      try {
        bundle = await this.#script();
      } catch (e) {
        return new Response(
          `The dashboard's script could not be built, so the page cannot be shown: ${(e as Error).message}\n` +
            `The GraphQL API at /graphql works regardless.`,
          { status: 503, headers: { "content-type": "text/plain; charset=utf-8" } },
        );
      }
      const { html } = await this.#files();
      return new Response(html.replace("{{APP_JS}}", bundle.path), {
        headers: {
          "content-type": "text/html; charset=utf-8",
          "content-security-policy": PAGE_CSP,
          "cache-control": "no-cache",
        },
      });
    }
    if (pathname === "/assets/style.css") {
      return new Response((await this.#files()).css, {
        headers: { "content-type": "text/css; charset=utf-8", "cache-control": "no-cache" },
      });
    }
    if (pathname.startsWith("/assets/app.") && pathname.endsWith(".js")) {
      const bundle = await this.#script().catch(() => undefined);
      if (bundle === undefined || pathname !== bundle.path) return undefined;
      return new Response(bundle.js, {
        headers: {
          "content-type": "text/javascript; charset=utf-8",
          "cache-control": "public, max-age=31536000, immutable",
        },
      });
    }
    return undefined;
  }
}
