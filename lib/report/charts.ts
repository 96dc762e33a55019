/**
 * Vega-Lite chart specifications for candor's results: equity against buy & hold, drawdown, per-fold metrics against
 * their baselines, and a generic multi-series line chart.
 *
 * Every builder returns a plain, self-contained Vega-Lite v6 specification (data inlined as `values`), so the same
 * object can be rendered to SVG/PNG here (`renderSvg`, `renderPng`), shown in a notebook (`chartDisplay`), stored as
 * JSON or handed to any Vega-Lite front end. Builders validate their inputs (equal lengths, finite numbers where a
 * number is required) and throw a ConfigError naming the offending series instead of drawing a silently wrong chart.
 *
 * Conventions:
 * - Dates are ISO `YYYY-MM-DD` strings; they are parsed as UTC dates (`"utc:'%Y-%m-%d'"`) so a chart never shifts a
 *   day with the viewer's time zone.
 * - Equity is "growth of 1": the value at the close of each date of one unit invested before the first date. When a
 *   series is given as simple (arithmetic) returns, equity[t] = ∏_{s ≤ t} (1 + r[s]).
 * - Drawdown at t is equity[t] / max_{s ≤ t} equity[s] − 1 (0 at a new high, −0.25 for 25 % below the peak).
 * - Missing values (NaN) become nulls in the data, so lines show a gap rather than a fake value.
 *
 * @module
 */

import type { TopLevelSpec } from "vega-lite";
import { ConfigError } from "../errors.ts";

/** The Vega-Lite schema every builder declares. */
export const VEGA_LITE_SCHEMA = "https://vega.github.io/schema/vega-lite/v6.json";

/** Size and title options shared by all builders. Sizes are in pixels of the plotting area. */
export interface ChartLayout {
  /** Chart title. */
  title?: string;
  /** Width of the plotting area in pixels (default 640). */
  width?: number;
  /** Height of the plotting area in pixels (default 280). */
  height?: number;
}

/**
 * One named equity series: either an equity curve (growth of 1) or the simple returns it compounds from.
 * Exactly one of `equity` and `returns` must be given.
 */
export interface EquitySeries {
  /** Legend label, e.g. "strategy (net of costs)" or "buy & hold". */
  name: string;
  /** Equity per date, growth of 1 (value of one unit invested before the first date). */
  equity?: ArrayLike<number>;
  /** Simple (arithmetic) return earned on each date; compounded into equity. */
  returns?: ArrayLike<number>;
}

/** Input of {@link equityChart} and {@link drawdownChart}. */
export interface EquityChartInput extends ChartLayout {
  /** ISO dates, one per point, ascending. */
  dates: readonly string[];
  /** The series to draw; usually the strategy and buy & hold on the same window. */
  series: readonly EquitySeries[];
  /** Use a logarithmic y axis (equity charts only; default false). */
  logScale?: boolean;
}

/** Input of {@link lineChart}. */
export interface LineChartInput extends ChartLayout {
  /** x values, one per point: ISO dates (xType "temporal"), numbers ("quantitative") or labels ("ordinal"). */
  x: readonly (string | number)[];
  /** Named y series, each as long as `x`; NaN draws a gap. */
  series: Readonly<Record<string, ArrayLike<number>>>;
  /** Type of the x axis (default "temporal"). */
  xType?: "temporal" | "quantitative" | "ordinal";
  /** Title of the x axis (default "x"). */
  xTitle?: string;
  /** Title of the y axis (default "value"). */
  yTitle?: string;
  /** Optional horizontal reference line (e.g. 0 or 0.5). */
  reference?: number;
  /** y axis number format (d3-format, e.g. ".1%"). */
  yFormat?: string;
}

/** One fold's values for {@link foldMetricsChart}: the model and its baselines under their display names. */
export interface FoldMetricsRow {
  /** Fold label or number (shown on the x axis in the given order). */
  fold: string | number;
  /** Value per series, e.g. { model: 0.54, "coin flip": 0.50, "majority class": 0.52 }. */
  values: Readonly<Record<string, number>>;
}

/** Input of {@link foldMetricsChart}. */
export interface FoldMetricsChartInput extends ChartLayout {
  /** One row per fold. */
  folds: readonly FoldMetricsRow[];
  /** Name of the metric, used as the y axis title (default "direction accuracy"). */
  metric?: string;
  /** Horizontal reference line (default 0.5, the coin-flip accuracy); null for none. */
  reference?: number | null;
  /** y axis number format (default ".0%"). */
  yFormat?: string;
}

const DEFAULT_WIDTH = 640;
const DEFAULT_HEIGHT = 280;
const ISO_DATE_FORMAT = "utc:'%Y-%m-%d'";

/**
 * Equity per date as growth of 1 from simple returns: equity[t] = ∏_{s ≤ t} (1 + r[s]).
 * A NaN return yields NaN from there on, which is what it means: the equity is unknown after it.
 */
export function equityFromReturns(returns: ArrayLike<number>): Float64Array {
  const equity = new Float64Array(returns.length);
  let level = 1;
  for (let t = 0; t < returns.length; t++) {
    level *= 1 + returns[t];
    equity[t] = level;
  }
  return equity;
}

/**
 * Drawdown per date from an equity curve: equity[t] / max_{s ≤ t} equity[s] − 1 (≤ 0).
 * NaN equities give NaN and do not move the running peak.
 */
export function drawdownFromEquity(equity: ArrayLike<number>): Float64Array {
  const drawdown = new Float64Array(equity.length);
  let peak = -Infinity;
  for (let t = 0; t < equity.length; t++) {
    const e = equity[t];
    if (Number.isNaN(e)) {
      drawdown[t] = NaN;
      continue;
    }
    if (e > peak) peak = e;
    drawdown[t] = e / peak - 1;
  }
  return drawdown;
}

/**
 * Equity curves on one time axis, typically the strategy against buy & hold on the same window.
 * Guards against the classic misleading comparison: series of different lengths (different windows) are refused.
 */
export function equityChart(input: EquityChartInput): TopLevelSpec {
  const curves = resolveEquity(input);
  const values = longRows(input.dates, curves);
  return {
    $schema: VEGA_LITE_SCHEMA,
    ...header(input, "Equity (growth of 1)"),
    data: { values, format: { parse: { date: ISO_DATE_FORMAT } } },
    mark: { type: "line", strokeWidth: 1.5 },
    encoding: {
      x: { field: "date", type: "temporal", title: "date", scale: { type: "utc" } },
      y: {
        field: "value",
        type: "quantitative",
        title: "growth of 1",
        scale: input.logScale ? { type: "log" } : { zero: false },
      },
      color: {
        field: "series",
        type: "nominal",
        title: null,
        sort: curves.map((c) => c.name),
        legend: { orient: "top" },
      },
    },
  };
}

/** Drawdown curves (equity / running peak − 1) of each series, as areas below zero. */
export function drawdownChart(input: EquityChartInput): TopLevelSpec {
  const curves = resolveEquity(input).map((c) => ({ name: c.name, values: drawdownFromEquity(c.values) }));
  const values = longRows(input.dates, curves);
  return {
    $schema: VEGA_LITE_SCHEMA,
    ...header(input, "Drawdown"),
    data: { values, format: { parse: { date: ISO_DATE_FORMAT } } },
    mark: { type: "area", line: true, opacity: 0.3 },
    encoding: {
      x: { field: "date", type: "temporal", title: "date", scale: { type: "utc" } },
      y: { field: "value", type: "quantitative", title: "drawdown", axis: { format: ".0%" }, stack: null },
      color: {
        field: "series",
        type: "nominal",
        title: null,
        sort: curves.map((c) => c.name),
        legend: { orient: "top" },
      },
    },
  };
}

/**
 * A metric per fold for the model and its baselines as grouped bars, with a reference line (0.5 by default: the
 * accuracy of a coin flip). Puts every headline number beside its baselines, fold by fold.
 */
export function foldMetricsChart(input: FoldMetricsChartInput): TopLevelSpec {
  if (input.folds.length === 0) {
    throw new ConfigError("foldMetricsChart: no folds to draw; pass at least one fold row.");
  }
  const seriesOrder: string[] = [];
  const values: { fold: string; series: string; value: number | null }[] = [];
  for (const row of input.folds) {
    for (const [name, value] of Object.entries(row.values)) {
      if (!seriesOrder.includes(name)) seriesOrder.push(name);
      values.push({ fold: String(row.fold), series: name, value: Number.isFinite(value) ? value : null });
    }
  }
  const metric = input.metric ?? "direction accuracy";
  const yFormat = input.yFormat ?? ".0%";
  const reference = input.reference === undefined ? 0.5 : input.reference;
  const foldOrder = input.folds.map((r) => String(r.fold));
  const bars = {
    mark: { type: "bar" as const },
    encoding: {
      x: { field: "fold", type: "ordinal" as const, title: "fold", sort: foldOrder, axis: { labelAngle: 0 } },
      xOffset: { field: "series", type: "nominal" as const, sort: seriesOrder },
      y: { field: "value", type: "quantitative" as const, title: metric, axis: { format: yFormat } },
      color: { field: "series", type: "nominal" as const, title: null, sort: seriesOrder },
      tooltip: [
        { field: "fold", type: "ordinal" as const },
        { field: "series", type: "nominal" as const },
        { field: "value", type: "quantitative" as const, format: ".4f" },
      ],
    },
  };
  const layer: unknown[] = [bars];
  if (reference !== null) {
    layer.push({
      data: { values: [{ reference }] },
      mark: { type: "rule", strokeDash: [4, 4], color: "black" },
      encoding: { y: { field: "reference", type: "quantitative" } },
    });
  }
  return {
    $schema: VEGA_LITE_SCHEMA,
    ...header(input, `${metric} per fold vs baselines`),
    data: { values },
    layer,
  } as TopLevelSpec;
}

/** A generic multi-series line chart (x shared by all series). */
export function lineChart(input: LineChartInput): TopLevelSpec {
  const names = Object.keys(input.series);
  if (names.length === 0) throw new ConfigError("lineChart: no series to draw; pass at least one named series.");
  const xType = input.xType ?? "temporal";
  const values: { x: string | number; series: string; value: number | null }[] = [];
  for (const name of names) {
    const ys = input.series[name];
    if (ys.length !== input.x.length) {
      throw new ConfigError(
        `lineChart: series "${name}" has ${ys.length} values but x has ${input.x.length}; pass one value per x.`,
      );
    }
    for (let i = 0; i < ys.length; i++) {
      values.push({ x: input.x[i], series: name, value: Number.isNaN(ys[i]) ? null : ys[i] });
    }
  }
  const lines = {
    mark: { type: "line" as const, strokeWidth: 1.5 },
    encoding: {
      x: {
        field: "x",
        type: xType,
        title: input.xTitle ?? "x",
        ...(xType === "temporal" ? { scale: { type: "utc" as const } } : {}),
      },
      y: {
        field: "value",
        type: "quantitative" as const,
        title: input.yTitle ?? "value",
        scale: { zero: false },
        ...(input.yFormat ? { axis: { format: input.yFormat } } : {}),
      },
      color: {
        field: "series",
        type: "nominal" as const,
        title: null,
        sort: names,
        legend: { orient: "top" as const },
      },
    },
  };
  const layer: unknown[] = [lines];
  if (input.reference !== undefined) {
    layer.push({
      data: { values: [{ reference: input.reference }] },
      mark: { type: "rule", strokeDash: [4, 4], color: "black" },
      encoding: { y: { field: "reference", type: "quantitative" } },
    });
  }
  return {
    $schema: VEGA_LITE_SCHEMA,
    ...header(input, input.title ?? ""),
    data: { values, ...(xType === "temporal" ? { format: { parse: { x: ISO_DATE_FORMAT } } } : {}) },
    layer,
  } as TopLevelSpec;
}

function header(layout: ChartLayout, defaultTitle: string) {
  const title = layout.title ?? defaultTitle;
  return {
    ...(title ? { title } : {}),
    width: layout.width ?? DEFAULT_WIDTH,
    height: layout.height ?? DEFAULT_HEIGHT,
    // Long series names ("strategy (long-short, net of costs)") are not truncated at vega's default 160 px.
    config: { legend: { labelLimit: 400 } },
  };
}

function resolveEquity(input: EquityChartInput): { name: string; values: ArrayLike<number> }[] {
  if (input.series.length === 0) throw new ConfigError("equity chart: no series to draw; pass at least one.");
  return input.series.map((s) => {
    if ((s.equity === undefined) === (s.returns === undefined)) {
      throw new ConfigError(`equity chart: series "${s.name}" needs exactly one of \`equity\` or \`returns\`.`);
    }
    const values = s.equity ?? equityFromReturns(s.returns!);
    if (values.length !== input.dates.length) {
      throw new ConfigError(
        `equity chart: series "${s.name}" has ${values.length} values but there are ${input.dates.length} dates; ` +
          "compare series on the same window (one value per date).",
      );
    }
    return { name: s.name, values };
  });
}

function longRows(
  dates: readonly string[],
  curves: readonly { name: string; values: ArrayLike<number> }[],
): { date: string; series: string; value: number | null }[] {
  const rows: { date: string; series: string; value: number | null }[] = [];
  for (const c of curves) {
    for (let t = 0; t < dates.length; t++) {
      const v = c.values[t];
      rows.push({ date: dates[t], series: c.name, value: Number.isNaN(v) ? null : v });
    }
  }
  return rows;
}
