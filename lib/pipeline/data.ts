/**
 * From a study's `data`, `features` and `target` settings to the {@link StudyData} every model entry trains on.
 *
 * - **Data**: price files (validated by `loadPanel`) or the built-in synthetic market; the input is fingerprinted
 *   (lib/data/fingerprint.ts) and the fingerprint stored with the study.
 * - **Features**: the built-in set (`base`, `full` or named), then the extra numeric columns of the files selected by
 *   `columns` / `exclude`. Columns that are not features by nature ({@link NON_FEATURE_COLUMNS}: yfinance's
 *   `Dividends`, `Stock Splits`) are left out unless listed by name, with a note.
 * - **Target** (the time convention of docs/design.md §2: a feature at t uses information up to the close of t; the target at t is
 *   `log(adj_close[t+h] / adj_close[t])`):
 *   - `direction`: y = 1 when the h-day log return is > 0, else 0;
 *   - `direction3`: y = 0 DOWN / 1 FLAT / 2 UP with a flat band absolute or `k · σ_t · √h`, σ_t the standard deviation
 *     of the symbol's last `window` daily log returns up to t (known at t; never the forward one); rows before σ_t
 *     exists are dropped;
 *   - `return`: y = the h-day log return;
 *   - `excess`: y = the h-day log return minus the same-date equal-weight mean over the symbols.
 * - **Previous values** for the previous-period-sign baseline: the same quantity ending at t (the h-day log return
 *   `log(adj_close[t] / adj_close[t−h])`, or its excess), known at the decision time; NaN for a symbol's first h rows.
 * - **Regime**: causal volatility-percentile and trend features of the equal-weight market's daily log return, for
 *   stacking.
 *
 * @module
 */

import { type Panel, rowDatePositions } from "../data/panel.ts";
import { type Matrix, takeRows } from "../data/matrix.ts";
import { loadPanel } from "../data/load.ts";
import { syntheticMarket } from "../data/synthetic.ts";
import { fingerprintFiles } from "../data/fingerprint.ts";
import { buildDataset, type Dataset } from "../features/dataset.ts";
import { BASE_FEATURES } from "../features/base.ts";
import { FULL_FEATURES, resolveFeatures } from "../features/catalog.ts";
import type { FeatureDef } from "../features/definition.ts";
import { computeFeatureMatrix, float64Column, symbolRanges } from "../features/definition.ts";
import { excessOfMarket, forwardLogReturnExpr, threeClassLabel } from "../features/targets.ts";
import { causalRegimeFeatures } from "../models/stacking/regime.ts";
import { clipEcho, ConfigError } from "../errors.ts";
import { normalizeColumnName } from "../data/column_names.ts";
import { NON_FEATURE_COLUMNS, type StudyConfig, taskOf } from "./config.ts";
import type { StudyData } from "./trainers/contract.ts";

/** A loaded market: the panel, where it came from and its fingerprint. */
export interface Market {
  /** The validated panel. */
  panel: Panel;
  /** `path` of the files, or `synthetic:<mode>`. */
  source: string;
  /** `sha256:…` of the files read, or the generator's parameters for the synthetic market. */
  fingerprint: string;
  /** Best achievable direction accuracy (synthetic market only: the generator knows its driver). */
  theoreticalAccuracy?: number;
}

/**
 * Loads the configured prices into a validated Panel, with its fingerprint. Only the file columns `features.columns`
 * chooses are read (a file with 10,000 columns loads like its price columns when `columns` is `none` or a list).
 */
export async function loadMarket(
  data: StudyConfig["data"],
  columns: StudyConfig["features"]["columns"] = "all",
): Promise<Market> {
  if (data.kind === "files") {
    const panel = await loadPanel(data.path, {
      ...(data.symbols === undefined ? {} : { symbols: data.symbols }),
      columns,
    });
    const { fingerprint } = await fingerprintFiles(data.path);
    return { panel, source: data.path, fingerprint };
  }
  const market = syntheticMarket({
    symbols: data.symbols,
    days: data.days,
    mode: data.mode,
    seed: data.seed,
    ...(data.signalStrength === undefined ? {} : { signalStrength: data.signalStrength }),
    ...(data.drift === undefined ? {} : { drift: data.drift }),
  });
  return {
    panel: market.panel,
    source: `synthetic:${data.mode}`,
    fingerprint: `synthetic:${data.mode}:${data.symbols}x${data.days}:seed=${data.seed}` +
      (data.signalStrength === undefined ? "" : `:strength=${data.signalStrength}`) +
      (data.drift === undefined ? "" : `:drift=${data.drift}`),
    theoreticalAccuracy: market.theoreticalAccuracy,
  };
}

/** The features a study uses: built-in definitions and extra file columns, with notes on what was left out. */
export interface FeatureSelection {
  /** Built-in feature definitions, in column order. */
  builtIn: FeatureDef[];
  /** Extra numeric columns of the files, in column order after the built-in ones. */
  columns: string[];
  /** Notes (columns left out by default). */
  notes: string[];
}

/** Resolves `features` against the panel's extra columns. */
export function selectFeatures(panel: Panel, features: StudyConfig["features"]): FeatureSelection {
  const builtIn = features.set === "base"
    ? [...BASE_FEATURES]
    : features.set === "full"
    ? [...FULL_FEATURES]
    : resolveFeatures(features.set);
  const notes: string[] = [];
  // The loader names extra columns in their normalized form (`My Feature` → `my_feature`): compare likewise.
  const exclude = new Set(features.exclude.map(normalizeColumnName));
  const present = () => clipEcho(panel.extraColumns.join(", ") || "none");
  for (const c of exclude) {
    if (!panel.extraColumns.includes(c)) {
      throw new ConfigError(
        `features.exclude: no column ${
          JSON.stringify(c)
        } in the price files; extra numeric columns present: ${present()}`,
      );
    }
  }
  let columns: string[];
  if (features.columns === "none") columns = [];
  else if (features.columns === "all") {
    const byNature = panel.extraColumns.filter((c) => NON_FEATURE_COLUMNS.includes(c) && !exclude.has(c));
    if (byNature.length > 0) {
      notes.push(
        `not used as features: ${byNature.join(", ")} (corporate actions, not features by nature); list them in ` +
          `features.columns to use them`,
      );
    }
    columns = panel.extraColumns.filter((c) => !exclude.has(c) && !NON_FEATURE_COLUMNS.includes(c));
  } else {
    const listed = features.columns.map(normalizeColumnName);
    const missing = listed.filter((c) => !panel.extraColumns.includes(c));
    if (missing.length > 0) {
      throw new ConfigError(
        `features.columns: not found in the price files: ${clipEcho(missing.join(", "))}; extra numeric columns ` +
          `present: ${present()}`,
      );
    }
    columns = listed.filter((c) => !exclude.has(c));
  }
  const clash = columns.filter((c) => builtIn.some((d) => d.name === c));
  if (clash.length > 0) {
    throw new ConfigError(
      `features: file column(s) ${clash.join(", ")} have the name of a built-in feature; rename them or exclude them`,
    );
  }
  return { builtIn, columns, notes };
}

/**
 * The panel row of each dataset row. Relies on the dataset's documented order: panel order (symbol, then date) minus
 * each symbol's last h rows, whose target is unknown; checked row by row against the symbols.
 */
export function panelRowsOfDataset(panel: Panel, data: Dataset): Int32Array {
  const out = new Int32Array(data.dates.length);
  let row = 0;
  for (const { symbol, start, end } of symbolRanges(panel.frame)) {
    const kept = Math.max(0, end - start - data.horizon);
    for (let i = start; i < start + kept; i++, row++) {
      if (data.symbols[row] !== symbol) throw new Error(`internal: dataset row ${row} is not in panel order`);
      out[row] = i;
    }
  }
  if (row !== out.length) throw new Error(`internal: dataset has ${out.length} rows but the panel accounts for ${row}`);
  return out;
}

/**
 * The h-day log return ending at each given panel row's date, `log(adj_close[t] / adj_close[t−h])`: the last return of
 * the target's length known at the decision time. NaN for a symbol's first h rows.
 */
export function previousReturns(panel: Panel, rows: Int32Array, horizon: number): Float64Array {
  const adj = float64Column(panel.frame, "adj_close");
  // Each row's symbol's first row (the frame is sorted by symbol): no symbol string per row is made.
  const start = new Int32Array(adj.length);
  for (const r of symbolRanges(panel.frame)) start.fill(r.start, r.start, r.end);
  const out = new Float64Array(rows.length);
  for (let k = 0; k < rows.length; k++) {
    const i = rows[k];
    out[k] = i - horizon >= start[i] ? Math.log(adj[i] / adj[i - horizon]) : NaN;
  }
  return out;
}

/** Standard deviation of each panel row's symbol's last `window` daily log returns up to and including t. */
function trailingDailyVolatility(panel: Panel, window: number): Float64Array {
  const adj = float64Column(panel.frame, "adj_close");
  const out = new Float64Array(adj.length).fill(NaN);
  for (const { start, end } of symbolRanges(panel.frame)) {
    for (let t = start + window; t < end; t++) {
      let m = 0;
      for (let k = t - window + 1; k <= t; k++) m += Math.log(adj[k] / adj[k - 1]);
      m /= window;
      let ss = 0;
      for (let k = t - window + 1; k <= t; k++) ss += (Math.log(adj[k] / adj[k - 1]) - m) ** 2;
      out[t] = Math.sqrt(ss / (window - 1));
    }
  }
  return out;
}

/** The equal-weight market's daily log return per date of the panel (mean over the symbols trading that date). */
function marketDailyReturns(panel: Panel): { dates: string[]; returns: Float64Array } {
  const adj = float64Column(panel.frame, "adj_close");
  const at = rowDatePositions(panel);
  const sum = new Float64Array(panel.dates.length), n = new Float64Array(panel.dates.length);
  for (const { start, end } of symbolRanges(panel.frame)) {
    for (let t = start + 1; t < end; t++) {
      const d = at[t];
      sum[d] += Math.log(adj[t] / adj[t - 1]);
      n[d]++;
    }
  }
  return { dates: [...panel.dates], returns: sum.map((s, i) => (n[i] > 0 ? s / n[i] : 0)) };
}

/** Appends panel columns (gathered at `rows`) to a feature matrix. */
function appendColumns(X: Matrix, panel: Panel, names: string[], rows: Int32Array): Matrix {
  if (names.length === 0) return X;
  const extra = names.map((n) => float64Column(panel.frame, n));
  const cols = X.cols + names.length;
  const data = new Float32Array(X.rows * cols);
  for (let r = 0; r < X.rows; r++) {
    data.set(X.data.subarray(r * X.cols, (r + 1) * X.cols), r * cols);
    for (let j = 0; j < extra.length; j++) data[r * cols + X.cols + j] = extra[j][rows[r]];
  }
  return { data, rows: X.rows, cols, columns: [...(X.columns ?? []), ...names] };
}

/** A study's dataset plus what the baselines need. */
export interface PreparedData {
  /** What every trainer sees. */
  data: StudyData;
  /**
   * The previous-period value of the target's quantity at each row (see the module notes): for binary and regression
   * targets the previous h-day log return (or excess); for direction3 the previous class. NaN when unknown.
   */
  previous: Float64Array;
  /** Feature names in column order. */
  features: string[];
  /** Rows dropped because the target was undefined there (direction3 before σ_t exists). */
  droppedRows: number;
}

/** Builds the study's dataset from a panel and the resolved settings (see the module notes). */
export function prepareStudyData(
  panel: Panel,
  selection: FeatureSelection,
  target: StudyConfig["target"],
): PreparedData {
  const horizon = target.horizon;
  const built = buildDataset(panel, { features: selection.builtIn, horizon });
  const panelRows = panelRowsOfDataset(panel, built);
  const X = appendColumns(built.X, panel, selection.columns, panelRows);
  const features = [...built.featureNames, ...selection.columns];
  const task = taskOf(target.kind);
  const logReturn = built.target;
  let previous = previousReturns(panel, panelRows, horizon);
  let continuous = logReturn;
  let y: Float64Array;
  if (target.kind === "direction") y = built.label;
  else if (target.kind === "return") y = logReturn;
  else if (target.kind === "excess") {
    continuous = excessOfMarket(logReturn, built.dates, built.symbols, "equal-weight");
    previous = excessOfMarket(previous, built.dates, built.symbols, "equal-weight");
    y = continuous;
  } else {
    const flat = target.flat;
    if ("absolute" in flat) {
      y = threeClassLabel(logReturn, { kind: "absolute", width: flat.absolute });
      previous = threeClassLabel(previous, { kind: "absolute", width: flat.absolute });
    } else {
      const sigma = trailingDailyVolatility(panel, flat.window);
      const dailyVolatility = Float64Array.from(panelRows, (r) => sigma[r]);
      const band = { kind: "volatility" as const, k: flat.volatility, dailyVolatility, horizon };
      y = threeClassLabel(logReturn, band);
      previous = threeClassLabel(previous, band);
    }
  }
  // Keep the rows whose y is defined.
  const keepList: number[] = [];
  for (let i = 0; i < y.length; i++) if (Number.isFinite(y[i])) keepList.push(i);
  const keep = Int32Array.from(keepList);
  const all = keep.length === y.length;
  // Loops rather than TypedArray.from(…, fn) in this function: on the whole S&P 500 (1.9 M rows) the mapping form,
  // an iterator step and a call per row, cost seconds.
  const take = (a: Float64Array) => {
    if (all) return a;
    const out = new Float64Array(keep.length);
    for (let i = 0; i < keep.length; i++) out[i] = a[keep[i]];
    return out;
  };
  const dateIndex = (dates: readonly string[], dateAt: Map<string, number>) => {
    const out = new Int32Array(dates.length);
    for (let i = 0; i < dates.length; i++) out[i] = dateAt.get(dates[i])!;
    return out;
  };
  const dates = all ? built.dates : keepList.map((i) => built.dates[i]);
  const symbols = all ? built.symbols : keepList.map((i) => built.symbols[i]);
  if (dates.length === 0) {
    throw new ConfigError(
      `no row has a defined ${target.kind} target (horizon ${horizon}): the files are too short for the horizon` +
        (target.kind === "direction3" && !("absolute" in target.flat)
          ? ` and the ${target.flat.window}-day volatility window of the FLAT band`
          : ""),
    );
  }
  const axis = [...new Set(dates)].sort();
  const dateAt = new Map(axis.map((d, i) => [d, i]));
  const regime = regimeOnAxis(panel, axis);
  return {
    data: {
      X: all ? X : { ...takeRows(X, keep), columns: X.columns },
      y: take(y),
      target: take(continuous),
      dates,
      symbols,
      axis,
      dateIndex: dateIndex(dates, dateAt),
      horizon,
      task,
      classes: task === "multiclass" ? 3 : task === "binary" ? 2 : 1,
      regime,
    },
    previous: take(previous),
    features,
    droppedRows: y.length - keep.length,
  };
}

/** The causal market-regime features of the panel's equal-weight market, on a date axis (a subset of its dates). */
function regimeOnAxis(panel: Panel, axis: readonly string[]): StudyData["regime"] {
  const market = marketDailyReturns(panel);
  const regimeAll = causalRegimeFeatures(market.dates, market.returns);
  const regimeAt = new Map(regimeAll.dates.map((d, i) => [d, i]));
  return {
    dates: [...axis],
    volPercentile: Float64Array.from(axis, (d) => regimeAll.volPercentile[regimeAt.get(d)!]),
    trend: Float64Array.from(axis, (d) => regimeAll.trend[regimeAt.get(d)!]),
  };
}

/**
 * The features of **every** row of a panel, the newest ones included (their targets are not known yet: exactly the
 * rows a production model predicts), as a {@link StudyData} with the same columns, in the same order, as a study's
 * dataset built with the same selection: `X`, dates, symbols, the date axis, the regime features. `target` holds the
 * h-day log return where it is known (NaN where it is not yet), `y` the binary label or the return (NaN for
 * DOWN/FLAT/UP targets, whose labels prediction never needs).
 */
export function prepareFeatureRows(
  panel: Panel,
  selection: FeatureSelection,
  target: StudyConfig["target"],
): { data: StudyData; features: string[] } {
  const horizon = target.horizon;
  const names = selection.builtIn.map((d) => d.name);
  const n = panel.frame.height;
  const all = Int32Array.from({ length: n }, (_, i) => i);
  const built = computeFeatureMatrix(panel.frame, selection.builtIn, all);
  const X = appendColumns(built, panel, selection.columns, all);
  const dates = panel.frame.getColumn("date").toArray() as string[];
  const symbols = panel.frame.getColumn("symbol").toArray() as string[];
  const forward = float64Column(panel.frame.select(forwardLogReturnExpr(horizon).alias("target")), "target");
  const task = taskOf(target.kind);
  const axis = [...panel.dates];
  const dateAt = new Map(axis.map((d, i) => [d, i]));
  return {
    data: {
      X,
      y: task === "regression"
        ? forward
        : task === "binary"
        ? forward.map((v) => (Number.isFinite(v) ? (v > 0 ? 1 : 0) : NaN))
        : new Float64Array(n).fill(NaN), // DOWN/FLAT/UP labels are not needed to predict

      target: forward,
      dates,
      symbols,
      axis,
      dateIndex: Int32Array.from(dates, (d) => dateAt.get(d)!),
      horizon,
      task,
      classes: task === "multiclass" ? 3 : task === "binary" ? 2 : 1,
      regime: regimeOnAxis(panel, axis),
    },
    features: [...names, ...selection.columns],
  };
}
