/**
 * Latest-date prediction with a registered production model (`candor predict`).
 *
 * Features are computed on the price files up to their last date (or `asOf`): the newest rows, whose targets are not
 * known yet, are exactly the ones predicted. Per symbol, the prediction is made from the symbol's last row:
 *
 * - **score**: P(up) (binary), P(UP) − P(DOWN) (DOWN/FLAT/UP), or the h-day log-return forecast;
 * - **confidence**: binary — the calibrated probability that the call is right: P(up) mapped through the isotonic
 *   calibration fitted at training on the entry's out-of-fold predictions in the study (each from a model that never
 *   saw its row) against the realized direction, for the side called (P(up) > 0.5: up); DOWN/FLAT/UP — the largest
 *   class probability as the model outputs it; regressors — forecast / σ, with σ = the symbol's trailing 20-day
 *   standard deviation of daily log returns scaled to the horizon (σ·√h). The output says which;
 * - **position**: the target position under the model's sizing rule (the sleeve position of lib/pipeline/sizing.ts)
 *   and **weight**, its share of capital in the model's portfolio. Rules with state (the drawdown breaker, trailing
 *   volatility) are run over the rows after the model's training data ended, the only rows where the model's own
 *   track is out of sample; with none, the breaker starts untripped (said in the warnings);
 * - **warnings**: stale data (the symbol's last price is before the as-of date), missing features (NaN in the row
 *   predicted from), a symbol the model never saw in training, a gap since training (more than
 *   {@link GAP_WARNING_DAYS} trading days between the model's last training price and the as-of date), a row that
 *   could not be predicted (a sequence model without enough history); and for the model, a gate its training
 *   overrode (`--skip-gate`) or an edge that did not hold among its study's entries (Holm).
 *
 * Refused before anything is stored (ConfigError): a model id not in the store; a model whose feature definitions
 * differ from this candor's and cannot be loaded from the model (lib/production/features.ts); price files without
 * the extra columns the model uses (named); prices ending before the model's training data ended. The same inputs
 * give the same output (nothing random, nothing time-dependent in it).
 *
 * @module
 */

import { pl } from "../data/polars.ts";
import { clipEcho, ConfigError } from "../errors.ts";
import { loadPanel } from "../data/load.ts";
import { type Panel, panelFromFrame } from "../data/panel.ts";
import { fingerprintFiles } from "../data/fingerprint.ts";
import { panelReturns, toGrid } from "../backtest/panel.ts";
import { trailingVolatility } from "../backtest/sizing.ts";
import { prepareFeatureRows } from "../pipeline/data.ts";
import { adjustedPText } from "../pipeline/evaluate.ts";
import { portfolioLabel, rowSizingInputs, sizeBook, sizingLabel } from "../pipeline/sizing.ts";
import type { Store } from "../store/store.ts";
import { dayNumber } from "../store/validate.ts";
import type { NewProductionPredictions, ProductionPrediction } from "../store/production.ts";
import { CANDOR_VERSION } from "../version.ts";
import { resolveSavedFeatures } from "./features.ts";
import { applyCalibrator } from "../models/calibration/calibration.ts";
import { findModel, loadComponents, type ModelManifest, scoreModel } from "./model.ts";

/** More trading days than this between the model's last training price and the as-of date are warned. */
export const GAP_WARNING_DAYS = 21;

/** The trailing window of σ in a regressor's confidence (forecast / (σ·√h)). */
export const CONFIDENCE_WINDOW = 20;

/** What `candor predict` is given. */
export interface PredictInput {
  /** The run store holding the model registry. */
  store: Store;
  /** A model id, or `latest`. */
  model: string;
  /** Price files: a file or a folder. */
  data: string;
  /** Predict as of this date: prices after it are ignored (a calendar date YYYY-MM-DD, else a ConfigError). */
  asOf?: string;
}

/** The prediction of one symbol (the JSON of `candor predict --json`). */
export type SymbolPrediction = ProductionPrediction;

/** What a prediction produced (printed, and stored as a batch). */
export interface PredictOutput {
  /** Model id. */
  model: string;
  /** The last price date used. */
  asOf: string;
  /** One per symbol, in symbol order. */
  predictions: SymbolPrediction[];
  /** What the numbers are. */
  conventions: { score: string; confidence: string; position: string; weight: string };
  /**
   * Model-level warnings (version, definitions loaded from the model, no out-of-sample track, a gate overridden by
   * `--skip-gate`, an edge that did not hold under Holm's correction over its study's entries).
   */
  warnings: string[];
  /** The model's entry, kind and training window, for the printout. */
  about: { name: string; kind: string; trainedTo: string; lastPriceDate: string; version: string };
}

function truncate(panel: Panel, asOf: string): Panel {
  const frame = panel.frame.filter(pl.col("date").lessThanEquals(pl.lit(asOf)));
  if (frame.height === 0) {
    throw new ConfigError(`--as-of ${asOf}: no prices on or before it (the files start on ${panel.dates[0]})`);
  }
  return panelFromFrame(frame, { warnings: panel.warnings, extraColumns: panel.extraColumns });
}

/** A share as a percentage with one decimal ("—" when undefined). */
function pct1(x: number): string {
  return Number.isFinite(x) ? `${(100 * x).toFixed(1)}%` : "—";
}

/** Words for the score and the confidence of a task. */
function conventions(m: ModelManifest): PredictOutput["conventions"] {
  const h = m.target.horizon;
  const sizing = `${sizingLabel(m.backtest.sizing)} in a ${portfolioLabel(m.backtest.portfolio)} book`;
  const weight = "share of capital: the position times the symbol's sleeve of the book";
  if (m.task === "binary") {
    const c = m.calibration;
    return {
      score: "P(up): the probability that the next h-day log return is > 0",
      confidence: (c === null
        ? "probability of the called side, max(P(up), 1 − P(up)), as the model outputs it (not calibrated)"
        : `calibrated probability that the call is right: P(up) through the isotonic calibration of the entry's ` +
          `out-of-fold predictions in the study (${c.rows} rows, ${c.from} → ${c.to}), for the side called`) +
        // Read beside the naive rate: a confidence of 0.56 is no skill where always long was right 56 % of the time.
        `; for scale, always long was right on ${pct1(m.winRatePrior.trainShareUp)} of the training rows`,
      position: `target position under ${sizing}`,
      weight,
    };
  }
  if (m.task === "multiclass") {
    return {
      score: "P(UP) − P(DOWN)",
      confidence: "the largest class probability, as the model outputs it (not recalibrated)",
      position: `target position under ${sizing}`,
      weight,
    };
  }
  return {
    score: `forecast of the ${h}-day log return${m.target.kind === "excess" ? " in excess of the market" : ""}`,
    confidence: `forecast / σ: σ = the trailing ${CONFIDENCE_WINDOW}-day std of daily log returns × √${h}`,
    position: `target position under ${sizing}`,
    weight,
  };
}

/**
 * Predicts the latest date of the price files with a registered model (see the module notes). Nothing is stored
 * here: the caller stores the returned batch ({@link toBatch}).
 */
export async function predictLatest(
  input: PredictInput,
): Promise<{ output: PredictOutput; fingerprint: string; source: string }> {
  // Refused before anything is read: 2019-02-30 would otherwise cut the prices at 2019-02-28 without a word.
  if (input.asOf !== undefined && dayNumber(input.asOf) === undefined) {
    throw new ConfigError(`--as-of ${clipEcho(input.asOf)}: not a calendar date (expected YYYY-MM-DD)`);
  }
  const { record, manifest: m } = await findModel(input.store, input.model);
  const what = `model ${m.id}`;
  const warnings: string[] = [];
  if (m.version !== CANDOR_VERSION) {
    warnings.push(`the model was trained with candor ${m.version}; this is ${CANDOR_VERSION}`);
  }
  if (m.study.skipGate) {
    warnings.push(`trained despite a failed gate (--skip-gate): ${m.study.gate.reason}`);
  }
  const family = m.study.family;
  if (family !== undefined && family.edge && !family.holds) {
    warnings.push(
      `its edge does not hold under Holm's correction over its study's ${family.tests} entries (adjusted p ${
        adjustedPText(family.adjustedP)
      }): the best of several entries can be a chance winner`,
    );
  }
  const resolved = resolveSavedFeatures(m.features.builtIn, what);
  if (resolved.fromSaved.length > 0) {
    warnings.push(
      `${resolved.fromSaved.join(", ")}: this candor defines ${
        resolved.fromSaved.length === 1 ? "it" : "them"
      } differently; computed from the definitions saved with the model`,
    );
  }
  let panel = await loadPanel(input.data);
  if (input.asOf !== undefined) panel = truncate(panel, input.asOf);
  const asOf = panel.dates[panel.dates.length - 1];
  if (asOf < m.trainedOn.lastPriceDate) {
    throw new ConfigError(
      `the prices end on ${asOf}, before the data ${what} was trained on ended (${m.trainedOn.lastPriceDate}): its ` +
        `predictions there would be in-sample. Give prices through ${m.trainedOn.lastPriceDate} or later`,
    );
  }
  const missing = m.features.columns.filter((c) => !panel.extraColumns.includes(c));
  if (missing.length > 0) {
    throw new ConfigError(
      `the price files cannot produce the features ${what} uses: missing column(s) ${missing.join(", ")} ` +
        `(extra numeric columns present: ${panel.extraColumns.join(", ") || "none"})`,
    );
  }
  const { data, features } = prepareFeatureRows(panel, {
    builtIn: resolved.defs,
    columns: m.features.columns,
    notes: [],
  }, m.target);
  if (features.join("\u0000") !== m.features.names.join("\u0000")) {
    throw new ConfigError(
      `${what}: the features computed (${features.join(", ")}) are not the model's (${m.features.names.join(", ")})`,
    );
  }
  // Score the rows after the training data (the model's own out-of-sample track, for stateful sizing) — the newest
  // row of every symbol among them.
  const rows = Int32Array.from(data.dates.flatMap((d, i) => (d > m.trainedOn.to ? [i] : [])));
  const models = await loadComponents(record.path, m);
  let scored: { rows: Int32Array; scores: Float64Array };
  try {
    scored = scoreModel(m, models, data, rows);
  } finally {
    for (const model of models.values()) model.dispose();
  }
  const width = m.task === "multiclass" ? m.classes : 1;
  const grid = panelReturns(panel);
  const place = (values: ArrayLike<number>) =>
    toGrid(
      {
        dates: Array.from(scored.rows, (r) => data.dates[r]),
        symbols: Array.from(scored.rows, (r) => data.symbols[r]),
        values,
      },
      grid.dates,
      grid.symbols,
    );
  const inputs = rowSizingInputs(m.task, scored.scores, width);
  const b = m.backtest;
  const signal = place(inputs.signal);
  const { positions, weights } = sizeBook({
    ...grid,
    signal,
    ...(inputs.probability === undefined ? {} : { probability: place(inputs.probability) }),
    winRate: place(new Float64Array(scored.rows.length).fill(m.winRatePrior.prior)),
    task: m.task,
    targetKind: m.target.kind,
    horizon: m.target.horizon,
    sizing: b.sizing,
    portfolio: b.portfolio,
    costs: {
      lag: b.lag,
      costBps: b.costBps,
      slippageBps: b.slippageBps,
      borrowBps: b.borrowBps,
      annualization: b.annualization,
    },
  });
  const scoreOf = new Map<number, number>();
  scored.rows.forEach((r, i) => scoreOf.set(r, i));
  const lastRow = new Map<string, number>();
  data.symbols.forEach((s, i) => lastRow.set(s, i)); // rows are in (symbol, date) order: the last one wins
  const dateAt = new Map(grid.dates.map((d, i) => [d, i]));
  const symbolAt = new Map(grid.symbols.map((s, j) => [s, j]));
  const n = grid.dates.length, mSym = grid.symbols.length;
  const gapDays = grid.dates.filter((d) => d > m.trainedOn.lastPriceDate).length;
  const trained = new Set(m.symbols);
  const predictions: SymbolPrediction[] = [];
  for (const symbol of grid.symbols) {
    const r = lastRow.get(symbol)!;
    const date = data.dates[r];
    const t = dateAt.get(date)!, j = symbolAt.get(symbol)!;
    const w: string[] = [];
    if (date < asOf) {
      w.push(`stale data: the last price is on ${date}, ${n - 1 - t} trading day(s) before the as-of date ${asOf}`);
    }
    const nanFeatures = m.features.names.filter((_, k) => !Number.isFinite(data.X.data[r * data.X.cols + k]));
    if (nanFeatures.length > 0) {
      w.push(
        `missing features: ${nanFeatures.join(", ")} (no value on ${date}: too little history or missing data; ` +
          `${m.kind === "xgboost" ? "passed as missing" : "filled with the training mean"})`,
      );
    }
    if (!trained.has(symbol)) w.push("a symbol the model never saw in training");
    if (gapDays > GAP_WARNING_DAYS) {
      w.push(
        `gap since training: ${gapDays} trading days since the model's training prices ended ` +
          `(${m.trainedOn.lastPriceDate}); retrain with candor train`,
      );
    }
    const i = scoreOf.get(r);
    let score = NaN, confidence = NaN;
    if (i === undefined) {
      w.push("not predicted: the model could not score this row (not enough history for its window)");
    } else {
      const s = scored.scores.subarray(i * width, (i + 1) * width);
      if (m.task === "binary") {
        score = s[0];
        const p = m.calibration === null ? s[0] : applyCalibrator(m.calibration.calibrator, [s[0]])[0];
        confidence = s[0] > 0.5 ? p : 1 - p;
      } else if (m.task === "multiclass") {
        score = s[width - 1] - s[0];
        confidence = Math.max(...s);
      } else {
        score = s[0];
        const sigma = symbolSigma(grid.returns, j, t, mSym);
        confidence = sigma > 0 ? s[0] / (sigma * Math.sqrt(m.target.horizon)) : NaN;
      }
    }
    predictions.push({
      symbol,
      date,
      score,
      confidence,
      position: positions[t * mSym + j],
      weight: Number.isFinite(positions[t * mSym + j]) ? weights[t * mSym + j] : NaN,
      warnings: w,
    });
  }
  if (m.backtest.sizing.kind === "hybrid" && m.backtest.sizing.breaker !== null) {
    const track = grid.dates.filter((d) => d > m.trainedOn.to).length;
    warnings.push(
      `the drawdown breaker tracks each symbol's sized position over the ${track} date(s) after the training data ` +
        `(${m.trainedOn.to}); it starts untripped there`,
    );
  }
  const { fingerprint } = await fingerprintFiles(input.data);
  return {
    output: {
      model: m.id,
      asOf,
      predictions,
      conventions: conventions(m),
      warnings,
      about: {
        name: m.name,
        kind: m.kind,
        trainedTo: m.trainedOn.to,
        lastPriceDate: m.trainedOn.lastPriceDate,
        version: m.version,
      },
    },
    fingerprint,
    source: input.data,
  };
}

/** σ of a symbol's daily log returns over the trailing window ending at date index t. */
function symbolSigma(returns: Float64Array, j: number, t: number, m: number): number {
  const from = Math.max(0, t - 3 * CONFIDENCE_WINDOW);
  const logs = Float64Array.from({ length: t - from + 1 }, (_, k) => Math.log1p(returns[(from + k) * m + j]));
  const v = trailingVolatility(logs, CONFIDENCE_WINDOW);
  return v[v.length - 1];
}

/** The batch a prediction stores (`production_batches` + `production_predictions`). */
export function toBatch(r: { output: PredictOutput; fingerprint: string; source: string }): NewProductionPredictions {
  return {
    modelId: r.output.model,
    asOf: r.output.asOf,
    dataFingerprint: r.fingerprint,
    dataSource: r.source,
    rows: r.output.predictions,
    details: { conventions: r.output.conventions, warnings: r.output.warnings },
  };
}
