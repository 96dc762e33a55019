/**
 * Stacking ensembles trained on walk-forward out-of-fold predictions.
 *
 * How `fit(X, y, { dates })` works (inside one training window of the caller's own validation):
 * 1. The training rows' unique dates are cut into anchored walk-forward folds (lib/validation `walkForwardSplits`,
 *    purge ≥ the label horizon). For each fold every base model is fitted on the rows of the fold's training dates
 *    and predicts the rows of its test dates: those are the **out-of-fold (OOF) predictions**. Each OOF prediction
 *    therefore comes from a model that saw only earlier dates, separated by the purge. Rows of the first training
 *    window have no OOF prediction and are not used by the meta-learner.
 * 2. The meta-learner is fitted on meta-features of the OOF rows only: the base predictions, **model agreement**
 *    (the share of base models on the same side of `threshold` as their mean; and the dispersion, the standard
 *    deviation across base models) and the **regime columns** named in `regimeColumns` (causal features of the row's
 *    date, e.g. from {@link causalRegimeFeatures}: volatility percentile and trend; NaN is replaced by the neutral
 *    values 0.5 and 0). It never sees an in-sample base prediction.
 * 3. Every base model is refitted on all training rows for prediction.
 *
 * **Validation sets are treated the same in the OOF fits and the final refit**, so the base models the meta-learner
 * learned to combine are fitted the way the deployed ones are. A base model gets a validation set only when its spec
 * asks for one (`validation`: a fraction of its training dates or a count of dates): the last dates of *each* of its
 * training windows (every OOF fold's, and all dates for the refit) become the validation tail, with `purge` dates
 * dropped before it (lib/validation `carveValidationTail`), and the model fits on the rest. Use it for base models
 * with early stopping. A `validation` passed to `StackingModel.fit` itself is not forwarded to any model (it would
 * reach the refit only, or leak the caller's validation window into the OOF folds); the report notes it.
 * `sampleWeight` weights the rows of every base fit and of the meta-learner's fit (on the OOF rows).
 *
 * The default meta-learner is `ElasticNet({ positive: true })`: non-negative weights on the base predictions (and
 * on agreement and regime terms), the usual guard against a stack that shorts one model to lever another.
 * `meta: "xgboost"` uses `XGBoostModel` instead (it can use regime interactions). One base model is allowed (the
 * stack then learns a calibration of it conditioned on regime).
 *
 * `save(dir)` writes `dir/stacking.json` plus one file per base model and one for the meta-learner; `load(dir)`
 * restores XGBoost and linear models itself and other kinds through the `loaders` argument.
 *
 * @module
 */

import { assertMatrix, type Matrix, takeRows } from "../../data/matrix.ts";
import { ConfigError } from "../../errors.ts";
import { walkForwardSplits } from "../../validation/walk_forward.ts";
import { carveValidationTail } from "../../validation/purge.ts";
import type { FitOptions, FitReport, Model, Target } from "../model.ts";
import { ElasticNet, type ElasticNetOptions, loadLinearModel } from "../linear/linear.ts";
import { XGBoostModel, type XGBoostOptions } from "../xgboost/model.ts";

/** A base model of the stack: a name and a factory (called once per OOF fold and once for the final refit). */
export interface BaseModelSpec {
  /** Unique name; the meta-feature of its predictions is `pred_<name>`. */
  name: string;
  /** Builds a fresh, unfitted model. */
  create: () => Model;
  /**
   * Validation tail for early stopping, carved from the end of every training window of this model (OOF folds and
   * the final refit alike) with the purge before it: a fraction in (0, 1) of the window's dates or a count ≥ 1.
   * Omitted: the model never gets a validation set.
   */
  validation?: number;
}

/** Options of {@link StackingModel}. */
export interface StackingOptions {
  /** At least one base model. */
  baseModels: BaseModelSpec[];
  /** Meta-learner: "elasticnet" (default, positive weights), "xgboost", or a factory. */
  meta?: "elasticnet" | "xgboost" | (() => Model);
  /** Options of the built-in meta-learner. ElasticNet defaults: `{ alpha: 1e-4, l1Ratio: 0.5, positive: true }`. */
  metaOptions?: ElasticNetOptions | XGBoostOptions;
  /** Walk-forward folds producing the OOF predictions (default 4). */
  folds?: number;
  /**
   * Label horizon in dates: how many dates ahead the target `y` of a row looks (a 5-day forward return: 5). The purge
   * between base training and OOF rows is at least this. It must match the target's horizon: the default 1 is right
   * only for next-period targets, and a shorter horizon than the target's lets labels of the last training rows
   * overlap the OOF rows (leakage into the meta-learner's inputs).
   */
  horizon?: number;
  /** Purge in dates (default `horizon`; less is refused). */
  purge?: number;
  /** Columns of X (names or indices) carrying causal regime features for the meta-learner. */
  regimeColumns?: (string | number)[];
  /** Decision threshold of the base predictions for sign agreement (0.5 for probabilities, 0 for returns). */
  threshold?: number;
}

/** Fit options of a stack: the row dates are required to build the walk-forward OOF folds. */
export interface StackingFitOptions extends FitOptions {
  /** ISO date of every training row. */
  dates: readonly string[];
}

interface StackingFile {
  format: "candor-stacking/1";
  baseNames: string[];
  baseKinds: string[];
  metaKind: string;
  inputColumns: number;
  regimeIndices: number[];
  threshold: number;
  metaColumns: string[];
  oofRows: number;
}

/** Names of the meta-features, in order. */
export function metaFeatureNames(baseNames: string[], regimeNames: string[]): string[] {
  return [...baseNames.map((n) => `pred_${n}`), "agreement", "dispersion", ...regimeNames];
}

/**
 * Builds the meta-feature matrix from base predictions (one array per base model) and the regime columns of `X`.
 * Agreement is the share of base models on the same side of `threshold` as their mean; dispersion their standard
 * deviation (population). NaN regime values become 0.5 (volatility percentile) or 0 (anything else).
 */
export function metaFeatures(
  basePreds: Float64Array[],
  X: Matrix,
  regimeIndices: number[],
  threshold: number,
  regimeNames: string[] = [],
): Matrix {
  const m = basePreds.length, rows = X.rows, cols = m + 2 + regimeIndices.length;
  const data = new Float32Array(rows * cols);
  for (let i = 0; i < rows; i++) {
    let mean = 0;
    for (let k = 0; k < m; k++) mean += basePreds[k][i];
    mean /= m;
    let agree = 0, ss = 0;
    for (let k = 0; k < m; k++) {
      const p = basePreds[k][i];
      data[i * cols + k] = p;
      if ((p > threshold) === (mean > threshold)) agree++;
      ss += (p - mean) ** 2;
    }
    data[i * cols + m] = agree / m;
    data[i * cols + m + 1] = Math.sqrt(ss / m);
    regimeIndices.forEach((c, r) => {
      const v = X.data[i * X.cols + c];
      const neutral = /vol/.test(regimeNames[r] ?? "") ? 0.5 : 0;
      data[i * cols + m + 2 + r] = Number.isFinite(v) ? v : neutral;
    });
  }
  return { data, rows, cols };
}

/** One array holding the chunks one after another (typed-array `set`, no argument spreading). */
function concatChunks(chunks: Float64Array[]): Float64Array {
  const out = new Float64Array(chunks.reduce((a, c) => a + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

async function loadByKind(
  kind: string,
  path: string,
  loaders: Record<string, (path: string) => Promise<Model>>,
): Promise<Model> {
  if (loaders[kind]) return await loaders[kind](path);
  if (kind === "xgboost") return await XGBoostModel.load(path);
  if (kind === "elasticnet" || kind === "ridge" || kind === "logistic") return await loadLinearModel(path);
  throw new ConfigError(`no loader for model kind ${JSON.stringify(kind)}; pass one in StackingModel.load's loaders`);
}

/** A stacking ensemble over walk-forward OOF predictions (see the module doc). */
export class StackingModel implements Model {
  /** Model kind in reports and saved stacks. */
  readonly kind = "stacking";
  /** The options as given. */
  readonly options: StackingOptions;
  #base: Model[] = [];
  #meta: Model | null = null;
  #file: StackingFile | null = null;

  /**
   * Checks the options (nothing is fitted yet).
   *
   * @throws ConfigError without base models or with duplicate base names.
   */
  constructor(options: StackingOptions) {
    if (!options.baseModels || options.baseModels.length === 0) {
      throw new ConfigError("StackingModel: give at least one base model");
    }
    const names = options.baseModels.map((b) => b.name);
    if (new Set(names).size !== names.length) throw new ConfigError(`StackingModel: duplicate base names ${names}`);
    this.options = options;
  }

  #regimeIndices(X: Matrix): number[] {
    return (this.options.regimeColumns ?? []).map((c) => {
      const idx = typeof c === "number" ? c : (X.columns ?? []).indexOf(c);
      if (!(idx >= 0 && idx < X.cols)) {
        throw new ConfigError(`StackingModel: regime column ${JSON.stringify(c)} is not a column of X`);
      }
      return idx;
    });
  }

  #newMeta(): Model {
    const meta = this.options.meta ?? "elasticnet";
    if (typeof meta === "function") return meta();
    if (meta === "xgboost") return new XGBoostModel(this.options.metaOptions as XGBoostOptions);
    return new ElasticNet({ alpha: 1e-4, l1Ratio: 0.5, positive: true, ...(this.options.metaOptions ?? {}) });
  }

  /** Fits base models fold by fold (OOF), the meta-learner on OOF rows, then refits the base models on all rows. */
  async fit(X: Matrix, y: Target, opts?: StackingFitOptions): Promise<FitReport> {
    const t0 = performance.now();
    assertMatrix(X, "StackingModel.fit X");
    if (!opts?.dates || opts.dates.length !== X.rows) {
      throw new ConfigError("StackingModel.fit: pass opts.dates with the ISO date of every training row");
    }
    if (y.length !== X.rows) throw new ConfigError(`StackingModel.fit: ${y.length} targets for ${X.rows} rows`);
    this.dispose();
    const o = this.options;
    const regimeIndices = this.#regimeIndices(X);
    const regimeNames = regimeIndices.map((c) => X.columns?.[c] ?? `f${c}`);
    const threshold = o.threshold ?? 0.5;
    const uniqueDates = [...new Set(opts.dates)].sort();
    const dateIndex = new Map(uniqueDates.map((d, i) => [d, i]));
    const rowsByDate: number[][] = uniqueDates.map(() => []);
    opts.dates.forEach((d, i) => rowsByDate[dateIndex.get(d)!].push(i));
    const rowsOf = (idx: Int32Array) => Array.from(idx).flatMap((k) => rowsByDate[k]);
    const horizon = o.horizon ?? 1;
    const purge = o.purge ?? horizon;
    const folds = walkForwardSplits(uniqueDates, { folds: o.folds ?? 4, horizon, purge });
    for (const spec of o.baseModels) {
      if (spec.validation !== undefined && !(spec.validation > 0)) {
        throw new ConfigError(`StackingModel: base model ${spec.name}: validation must be > 0, got ${spec.validation}`);
      }
    }
    if (opts.sampleWeight && opts.sampleWeight.length !== X.rows) {
      throw new ConfigError(`StackingModel.fit: ${opts.sampleWeight.length} sample weights for ${X.rows} rows`);
    }
    const pick = (rows: number[]) => Float64Array.from(rows, (r) => y[r]);
    const weightsOf = (rows: number[]) => opts.sampleWeight && Float32Array.from(rows, (r) => opts.sampleWeight![r]);
    /** Fit options of base model `k` on the dates `dateIdx` (sorted): with its validation tail when it wants one. */
    const baseFitOptions = (k: number, dateIdx: Int32Array): { rows: number[]; fit: FitOptions } => {
      const share = o.baseModels[k].validation;
      if (share === undefined) {
        const rows = rowsOf(dateIdx);
        return { rows, fit: { seed: opts.seed, sampleWeight: weightsOf(rows) } };
      }
      const carved = carveValidationTail(dateIdx, share, purge);
      const rows = rowsOf(carved.fit), vRows = rowsOf(carved.validation);
      const validation = { X: takeRows(X, vRows), y: pick(vRows), sampleWeight: weightsOf(vRows) };
      return { rows, fit: { seed: opts.seed, sampleWeight: weightsOf(rows), validation } };
    };

    const m = o.baseModels.length;
    // Appended element by element (or as typed-array chunks): `push(...xs)` passes every element as an argument and
    // overflows the call stack from ~10^5 rows.
    const oofRows: number[] = [];
    const oofChunks: Float64Array[][] = o.baseModels.map(() => []);
    const notes: string[] = [];
    if (opts.validation) {
      notes.push(
        "the validation set passed to StackingModel.fit was not used; give base models a `validation` tail instead",
      );
    }
    for (const [f, fold] of folds.entries()) {
      const testRows = rowsOf(fold.testIndices);
      const Xte = takeRows(X, testRows);
      for (let k = 0; k < m; k++) {
        const base = o.baseModels[k].create();
        try {
          const { rows, fit } = baseFitOptions(k, fold.trainIndices);
          await base.fit(takeRows(X, rows), pick(rows), fit);
          const p = base.predict(Xte);
          if (p.length !== testRows.length) {
            throw new ConfigError(`base model ${o.baseModels[k].name} must return one prediction per row`);
          }
          oofChunks[k].push(Float64Array.from(p));
        } finally {
          base.dispose?.();
        }
      }
      for (const r of testRows) oofRows.push(r);
      opts.onProgress?.((f + 1) / (folds.length + 2), `stacking: OOF fold ${f + 1}/${folds.length}`);
    }
    if (oofRows.length === 0) throw new ConfigError("StackingModel.fit: no out-of-fold rows; give more dates");

    const Xoof = takeRows(X, oofRows);
    const metaX = metaFeatures(oofChunks.map(concatChunks), Xoof, regimeIndices, threshold, regimeNames);
    const metaColumns = metaFeatureNames(o.baseModels.map((b) => b.name), regimeNames);
    metaX.columns = metaColumns;
    const meta = this.#newMeta();
    const metaReport = await meta.fit(metaX, pick(oofRows), { seed: opts.seed, sampleWeight: weightsOf(oofRows) });
    this.#meta = meta;
    opts.onProgress?.((folds.length + 1) / (folds.length + 2), "stacking: final base fits");

    const baseReports: FitReport[] = [];
    const allDates = Int32Array.from(uniqueDates.keys());
    for (const [k, spec] of o.baseModels.entries()) {
      const base = spec.create();
      const { rows, fit } = baseFitOptions(k, allDates);
      // Without a validation tail the refit uses every row: X and y are passed as they are (no copy), so the weights
      // must be the caller's own, in X's order; `rows` lists the same rows in date order.
      const whole = rows.length === X.rows;
      baseReports.push(
        whole
          ? await base.fit(X, y, { ...fit, sampleWeight: opts.sampleWeight })
          : await base.fit(takeRows(X, rows), pick(rows), fit),
      );
      this.#base.push(base);
    }
    this.#file = {
      format: "candor-stacking/1",
      baseNames: o.baseModels.map((b) => b.name),
      baseKinds: this.#base.map((b) => b.kind),
      metaKind: meta.kind,
      inputColumns: X.cols,
      regimeIndices,
      threshold,
      metaColumns,
      oofRows: oofRows.length,
    };
    opts.onProgress?.(1, "stacking: done");
    for (const r of [metaReport, ...baseReports]) notes.push(...r.notes.map((n) => `${r.model}: ${n}`));
    return {
      model: this.kind,
      seconds: (performance.now() - t0) / 1000,
      notes,
      details: {
        oofRows: oofRows.length,
        folds: folds.length,
        metaColumns,
        meta: meta.describe(),
        oofWindows: folds.map((f) => ({ train: f.train, test: f.test })),
      },
    };
  }

  /** Meta-learner prediction from the refitted base models' predictions and the regime columns of `X`. */
  predict(X: Matrix): Float64Array {
    if (!this.#meta || !this.#file) throw new ConfigError("StackingModel: call fit() or load() first");
    assertMatrix(X, "StackingModel.predict X");
    if (X.cols !== this.#file.inputColumns) {
      throw new ConfigError(`StackingModel.predict: X has ${X.cols} columns, fitted on ${this.#file.inputColumns}`);
    }
    const preds = this.#base.map((b) => b.predict(X));
    const regimeNames = this.#file.metaColumns.slice(this.#base.length + 2);
    const metaX = metaFeatures(preds, X, this.#file.regimeIndices, this.#file.threshold, regimeNames);
    metaX.columns = this.#file.metaColumns;
    return this.#meta.predict(metaX);
  }

  /** Writes `dir/stacking.json`, `dir/base-<i>.json` and `dir/meta.json`. */
  async save(dir: string): Promise<void> {
    if (!this.#meta || !this.#file) throw new ConfigError("StackingModel: nothing to save; call fit() first");
    await Deno.mkdir(dir, { recursive: true });
    for (const [i, b] of this.#base.entries()) await b.save(`${dir}/base-${i}.json`);
    await this.#meta.save(`${dir}/meta.json`);
    await Deno.writeTextFile(`${dir}/stacking.json`, JSON.stringify(this.#file, null, 2));
  }

  /**
   * Loads a stack written by `save`. XGBoost and linear models load by themselves; pass `loaders` keyed by model
   * kind for others. The loaded stack predicts; refitting needs the factories of the original options.
   */
  static async load(
    dir: string,
    loaders: Record<string, (path: string) => Promise<Model>> = {},
  ): Promise<StackingModel> {
    const file: StackingFile = JSON.parse(await Deno.readTextFile(`${dir}/stacking.json`));
    if (file.format !== "candor-stacking/1") throw new ConfigError(`${dir}: not a candor stacking model`);
    const base: Model[] = [];
    for (const [i, kind] of file.baseKinds.entries()) {
      base.push(await loadByKind(kind, `${dir}/base-${i}.json`, loaders));
    }
    const meta = await loadByKind(file.metaKind, `${dir}/meta.json`, loaders);
    const model = new StackingModel({
      baseModels: file.baseNames.map((name) => ({
        name,
        create: () => {
          throw new ConfigError("a loaded StackingModel cannot refit: construct it with base model factories");
        },
      })),
    });
    model.#base = base;
    model.#meta = meta;
    model.#file = file;
    return model;
  }

  /** Kinds, names, meta-learner and layout. */
  describe(): Record<string, unknown> {
    return {
      kind: this.kind,
      baseModels: this.options.baseModels.map((b) => b.name),
      folds: this.options.folds ?? 4,
      horizon: this.options.horizon ?? 1,
      ...(this.#file ? { ...this.#file, meta: this.#meta?.describe() } : {}),
    };
  }

  /** Frees every base model and the meta-learner. Idempotent. */
  dispose(): void {
    for (const b of this.#base) b.dispose?.();
    this.#meta?.dispose?.();
    this.#base = [];
    this.#meta = null;
  }
}
