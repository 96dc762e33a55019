/**
 * Can anything be learned from a Panel? The checks that need only the prices, run once after loading and before
 * anything is trained or stored: too few dates, a horizon as long as the data, constant prices.
 *
 * A file of 15 rows gives folds of one training date, and constant prices give a target that is always 0 (labelled
 * "down"), so every model scores "100 %" on them: both look like results and are not. `checkPanelAdequacy` reports
 * the numbers found; `assertPanelAdequate` refuses with a `DataError` naming the source and those numbers. The fold
 * plan's own needs (dates per fold, purges, the early-stopping tail) are the caller's: pass them as `minDates`.
 *
 * @module
 */

import { pl } from "./polars.ts";
import { ConfigError, DataError } from "../errors.ts";
import type { Panel } from "./panel.ts";

/**
 * Fewest dates with a known h-day target (dates − h) a panel must have by default: about five months of trading
 * days. Below it no walk-forward plan leaves a training window long enough to fit even the 12 base features and keep
 * an early-stopping tail, let alone test on a period of its own. Callers that know their fold plan pass its own need.
 */
export const MIN_LEARNING_DATES = 100;

/** Options of {@link checkPanelAdequacy}. */
export interface PanelAdequacyOptions {
  /** Label horizon h in trading days (default 1): the last h dates have no target. */
  horizon?: number;
  /** Fewest dates with a target required (default {@link MIN_LEARNING_DATES}). */
  minDates?: number;
  /** The data source as the user named it (a path), for messages and `DataError.file`. */
  source?: string;
}

/** A symbol whose adjusted close never changes over its rows. */
export interface ConstantSymbol {
  /** The symbol. */
  symbol: string;
  /** Its rows (at least 2: a single row has no return to be constant). */
  rows: number;
  /** The one adj_close value it has. */
  price: number;
  /** Its first date (ISO). */
  firstDate: string;
  /** Its last date (ISO). */
  lastDate: string;
}

/** What {@link checkPanelAdequacy} found: the numbers, and one sentence per problem. */
export interface PanelAdequacy {
  /** The source named in the options, if any. */
  source?: string;
  /** Number of symbols. */
  symbols: number;
  /** Number of dates on the shared date axis. */
  dates: number;
  /** Number of (symbol, date) rows. */
  rows: number;
  /** The horizon h the target uses. */
  horizon: number;
  /** Dates that can carry an h-day target: dates − h, at least 0. */
  datesWithTarget: number;
  /** The minimum asked for. */
  minDates: number;
  /** Fewer dates with a target than `minDates` (including none at all). */
  tooShort: boolean;
  /** Symbols whose adj_close never changes (sorted by symbol). */
  constantSymbols: ConstantSymbol[];
  /** Every symbol with at least two rows is constant: there is nothing to learn at all. */
  constantPanel: boolean;
  /** True when there is no problem. */
  ok: boolean;
  /** One sentence per problem, with the numbers found and what would do. Empty when `ok`. */
  problems: string[];
}

/**
 * Checks a panel for the problems of the module doc without throwing: too few dates with a target for `minDates`
 * (and the case h ≥ dates, where no row has one), and symbols whose adj_close never changes (each with its rows, its
 * price and its dates), or a panel made only of such symbols.
 *
 * Cost: one group-by over the panel (symbol, adj_close, date).
 *
 * @throws ConfigError when `horizon` or `minDates` is not an integer ≥ 1 (problems with the data are reported, not
 *   thrown).
 */
export function checkPanelAdequacy(panel: Panel, options: PanelAdequacyOptions = {}): PanelAdequacy {
  const horizon = options.horizon ?? 1;
  const minDates = options.minDates ?? MIN_LEARNING_DATES;
  if (!Number.isInteger(horizon) || horizon < 1) {
    throw new ConfigError(`horizon must be an integer ≥ 1, got ${horizon}`);
  }
  if (!Number.isInteger(minDates) || minDates < 1) {
    throw new ConfigError(`minDates must be an integer ≥ 1, got ${minDates}`);
  }
  const dates = panel.dates.length;
  const datesWithTarget = Math.max(0, dates - horizon);
  const problems: string[] = [];
  const tooShort = datesWithTarget < minDates;
  if (horizon >= dates) {
    problems.push(
      `the horizon of ${horizon} trading day(s) is not shorter than the data (${dates} date(s)): no row has a ` +
        `${horizon}-day target; use a shorter horizon or more history`,
    );
  } else if (tooShort) {
    problems.push(
      `too few dates to learn from: ${dates} date(s), of which ${datesWithTarget} have a ${horizon}-day target, ` +
        `fewer than the ${minDates} required; use more history (or a shorter horizon)`,
    );
  }

  const stats = panel.frame.groupBy("symbol").agg(
    pl.col("adj_close").min().alias("lo"),
    pl.col("adj_close").max().alias("hi"),
    pl.col("date").min().alias("first"),
    pl.col("date").max().alias("last"),
    pl.col("date").count().alias("rows"),
  ).sort("symbol").toRecords() as {
    symbol: string;
    lo: number;
    hi: number;
    first: string;
    last: string;
    rows: number;
  }[];
  const multiRow = stats.filter((s) => Number(s.rows) >= 2);
  const constantSymbols: ConstantSymbol[] = multiRow.filter((s) => s.lo === s.hi).map((s) => ({
    symbol: s.symbol,
    rows: Number(s.rows),
    price: s.lo,
    firstDate: s.first,
    lastDate: s.last,
  }));
  const constantPanel = multiRow.length > 0 && constantSymbols.length === multiRow.length;
  if (constantSymbols.length > 0) {
    const shown = constantSymbols.slice(0, 5).map((c) =>
      `${c.symbol} (${c.price} on all ${c.rows} rows, ${c.firstDate} → ${c.lastDate})`
    ).join(", ");
    const more = constantSymbols.length > 5 ? ` and ${constantSymbols.length - 5} more` : "";
    problems.push(
      constantPanel
        ? `constant prices: adj_close never changes for any of the ${multiRow.length} symbol(s): ${shown}${more}; ` +
          `every return is 0, so there is nothing to learn (check the file: a fill value, a stale feed)`
        : `constant prices: adj_close never changes for ${constantSymbols.length} of ${multiRow.length} ` +
          `symbol(s): ${shown}${more}; their returns are all 0 and would be learned as "down"; drop them or fix ` +
          `their prices`,
    );
  }
  return {
    source: options.source,
    symbols: panel.symbols.length,
    dates,
    rows: panel.frame.height,
    horizon,
    datesWithTarget,
    minDates,
    tooShort,
    constantSymbols,
    constantPanel,
    ok: problems.length === 0,
    problems,
  };
}

/**
 * {@link checkPanelAdequacy}, refusing with a `DataError` when it finds a problem: the error names `options.source`
 * as its file, states every problem with its numbers, and the caller should stop before anything is stored.
 *
 * @example
 * ```ts
 * const panel = await loadPanel(path);
 * assertPanelAdequate(panel, { horizon: 5, minDates: datesTheFoldPlanNeeds, source: path });
 * ```
 */
export function assertPanelAdequate(panel: Panel, options: PanelAdequacyOptions = {}): PanelAdequacy {
  const found = checkPanelAdequacy(panel, options);
  if (found.ok) return found;
  throw new DataError(`cannot learn from these prices: ${found.problems.join("; ")}`, {
    file: options.source,
    expected: `at least ${found.minDates} dates with a ${found.horizon}-day target and prices that move`,
    found: `${found.symbols} symbol(s), ${found.dates} date(s), ${found.rows} row(s)` +
      (found.constantSymbols.length > 0 ? `, ${found.constantSymbols.length} with constant prices` : ""),
  });
}
