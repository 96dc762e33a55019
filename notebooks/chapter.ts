/**
 * Where a chapter's prices come from: real S&P 500 files when `CANDOR_REAL_DATA` names a folder of them, else the
 * synthetic market — never silently.
 *
 * `await chapterPrices({ symbols, start, end, synthetic })` loads the named symbols from the folder in
 * `CANDOR_REAL_DATA` (one `<SYMBOL>.csv.gz` per symbol, as `loadPanel` reads them) restricted to `start..end`, or,
 * when the variable is unset or empty, generates the synthetic market described by `synthetic`. Either way it
 * displays a note saying which one the chapter runs on (in the notebook and in its report), so a reader never mistakes
 * synthetic numbers for real ones. A variable that names a missing folder, or a symbol the folder lacks, is an error
 * rather than a fallback. Chapters read the variable through this function only; `deno task report` and CI point it
 * at the S&P 500 sample next to the repository.
 *
 * @module
 */

import pl from "nodejs-polars";
import { existsSync } from "node:fs";
import {
  loadPanel,
  type Panel,
  panelFromFrame,
  type SyntheticMarket,
  syntheticMarket,
  type SyntheticMarketOptions,
} from "../lib/mod.ts";
import { jupyterApi } from "./facts.ts";

/** The environment variable that names the real price folder. */
export const REAL_DATA_VARIABLE = "CANDOR_REAL_DATA";

/** What a chapter asks for. */
export interface ChapterPricesRequest {
  /** Real symbols to load (file names without `.csv.gz`), chosen by the chapter for its story and its run time. */
  symbols: readonly string[];
  /** First date kept, ISO `YYYY-MM-DD` (inclusive). */
  start: string;
  /** Last date kept, ISO `YYYY-MM-DD` (inclusive). */
  end: string;
  /** The synthetic market used when no real folder is configured (its own symbol count, days, seed, mode). */
  synthetic: SyntheticMarketOptions;
}

/** The prices a chapter runs on, and what they are. */
export interface ChapterPrices {
  /** The prices, validated (a Panel). */
  panel: Panel;
  /** `real`: S&P 500 files from `CANDOR_REAL_DATA`; `synthetic`: the fallback market. */
  source: "real" | "synthetic";
  /** One line for captions: symbols, dates and source. */
  description: string;
  /** The generated market (its theoretical accuracy and parameters) when `source` is synthetic. */
  market?: SyntheticMarket;
}

/**
 * Loads the chapter's prices (see the module documentation) and displays the note saying what they are. Throws when
 * `CANDOR_REAL_DATA` names a folder that does not exist, or when a requested symbol has no rows in `start..end`.
 */
export async function chapterPrices(request: ChapterPricesRequest): Promise<ChapterPrices> {
  const prices = await loadChapterPrices(request, Deno.env.get(REAL_DATA_VARIABLE));
  await jupyterApi()?.display({ "text/markdown": dataNote(prices), "text/plain": prices.description }, { raw: true });
  return prices;
}

/** {@link chapterPrices} without the display, with the folder given explicitly (undefined or "" = synthetic). */
export async function loadChapterPrices(
  request: ChapterPricesRequest,
  folder: string | undefined,
): Promise<ChapterPrices> {
  if (folder === undefined || folder === "") {
    const market = syntheticMarket(request.synthetic);
    const { panel } = market;
    const p = market.params;
    const description = `synthetic market (${p.mode}${p.mode === "planted" ? `, ${p.signalKind}` : ""}, seed ` +
      `${p.seed}): ${panel.symbols.length} symbols, ${panel.dates[0]} → ${panel.dates.at(-1)}`;
    return { panel, source: "synthetic", description, market };
  }
  if (!existsSync(folder)) {
    throw new Error(
      `${REAL_DATA_VARIABLE}=${folder}: no such folder. Point it at a folder of <SYMBOL>.csv.gz price files, ` +
        "or unset it to run the chapter on the synthetic market.",
    );
  }
  const loaded = await loadPanel(folder, { symbols: request.symbols });
  const frame = loaded.frame.filter(
    pl.col("date").gtEq(pl.lit(request.start)).and(pl.col("date").ltEq(pl.lit(request.end))),
  );
  const panel = panelFromFrame(frame, { warnings: loaded.warnings, extraColumns: loaded.extraColumns });
  const missing = request.symbols.filter((s) => !panel.symbols.includes(s));
  if (missing.length > 0) {
    throw new Error(
      `${REAL_DATA_VARIABLE}: no prices for ${missing.join(", ")} between ${request.start} and ${request.end}`,
    );
  }
  const description = `S&P 500 daily prices: ${panel.symbols.join(", ")}, ${panel.dates[0]} → ${panel.dates.at(-1)}`;
  return { panel, source: "real", description };
}

/** The note a chapter shows about its data (Markdown). */
export function dataNote(prices: ChapterPrices): string {
  const { panel } = prices;
  const size = `${panel.symbols.length} symbols × ${panel.dates.length} trading days (${panel.frame.height} rows)`;
  if (prices.source === "real") {
    return `**Data: real prices.** ${prices.description}; ${size}, read from the folder named by ` +
      `\`${REAL_DATA_VARIABLE}\`.`;
  }
  return `**Data: synthetic — not real prices.** \`${REAL_DATA_VARIABLE}\` is not set, so this chapter runs on the ` +
    `${prices.description}; ${size}. The text describes what happens on real S&P 500 prices; the numbers below ` +
    `are the synthetic market's. Set \`${REAL_DATA_VARIABLE}\` to a folder of \`<SYMBOL>.csv.gz\` files to run it ` +
    "on real prices.";
}
