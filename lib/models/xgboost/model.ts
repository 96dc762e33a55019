/**
 * `XGBoostModel`: gradient-boosted trees from XGBoost's own C library, behind candor's Model contract.
 *
 * Design decisions:
 * - **Parameters are XGBoost's own names** (`objective`, `max_depth`, `eta`, `subsample`, `colsample_bytree`,
 *   `lambda`, `alpha`, `min_child_weight`, `tree_method`, `nthread`, `seed`, `eval_metric`, `num_class`, ...), passed
 *   through verbatim; a name XGBoost did not use (misspelt, or not one of this booster's) is a note of the fit
 *   report (params.ts applies XGBoost's own rule; `validate_parameters` is on, so XGBoost also prints it). `tree_method`
 *   defaults to `hist`. The seed is `params.seed`, else `fit`'s `opts.seed`, else 0.
 * - **Early stopping mirrors Python's `xgb.train(..., early_stopping_rounds=k)`**: the last metric of the validation
 *   set is evaluated after every round; training stops once it has not improved (strictly) for `k` rounds. The
 *   validation set is used for nothing else. The booster is then **cut to the best iteration** (`XGBoosterSlice`), so
 *   `predict`, `save` and anyone loading the file (Python included) use exactly the best `bestIteration` rounds.
 * - **Sample weights** (`opts.sampleWeight`) weight the training rows in the fit itself.
 * - **Outputs**: `reg:squarederror` → the regression value; `binary:logistic` → P(class 1); `multi:softprob` (with
 *   `num_class = k`) → k probabilities per row, **row-major** (`out[i * k + c]`), so the array has `rows × k` values.
 * - **Calibration and the sign-bias check** (lib/models/calibration) are fitted on the training rows' predictions
 *   only and stored with the model; `predict` applies the calibration (pass `{ calibrated: false }` for the raw
 *   booster output, which is what Python's xgboost returns for the saved file). Both need one output per row:
 *   with `multi:*` objectives (or `num_class > 1`) asking for a calibration or a `positiveShareBand` is refused with a
 *   ConfigError, and the default sign-bias check is skipped with a note in the fit report saying so.
 * - **SHAP top-k feature selection** (`selectTopK`) is fitted inside `fit` on the training rows only: a preliminary
 *   booster is trained on them, features are ranked by mean |TreeSHAP| on those same rows, and the final booster sees
 *   the top k columns. Validation and test rows never influence the choice. When SHAP fails (an error or an
 *   additivity violation) the ranking falls back to the preliminary booster's gain importance, noted in the report.
 * - **Native handles** (DMatrix, Booster) are freed deterministically: DMatrices before `fit` returns, the booster
 *   by `dispose()` (idempotent) or when `fit` is called again.
 * - **Files**: `save(path)` writes one XGBoost JSON model file; candor's own settings travel inside it as the
 *   booster attribute `candor` (a JSON string), which Python's xgboost keeps and ignores.
 *
 * @module
 */

import { assertMatrix, type Matrix } from "../../data/matrix.ts";
import { ConfigError } from "../../errors.ts";
import type { FitOptions, FitReport, Model, Target } from "../model.ts";
import {
  applyCalibrator,
  type CalibrationMethod,
  type Calibrator,
  checkPositiveShare,
  fitCalibrator,
} from "../calibration/calibration.ts";
import { Booster, DMatrix, PredictType } from "./booster.ts";
import { boost, type Boosted, boostOffThread, type BoostSpec } from "./boost.ts";
import { paramString } from "./params.ts";
import { chooseDevice, type DeviceRequest } from "./device.ts";
import { openXGBoost, XGBoostError } from "./library.ts";

/** A parameter value as XGBoost accepts it (sent as a string; booleans as "1"/"0"). */
export type XGBoostParamValue = string | number | boolean;

/** Importance kinds XGBoost computes from its trees. */
export type ImportanceType = "gain" | "weight" | "cover" | "total_gain" | "total_cover";

/** {@link XGBoostModel.fit}'s options: the common ones, and where the boosting loop runs. */
export interface XGBoostFitOptions extends FitOptions {
  /**
   * Boost on a thread of its own (a Worker) while this thread waits, so that several fits can run at once — the
   * study loop trains folds side by side this way. The model is the same either way. Default false.
   */
  ownThread?: boolean;
  /**
   * With `ownThread`: move `X`'s buffer to that thread instead of copying it (one copy of the training matrix
   * fewer). `X.data` is detached — unusable — once `fit` has been called. Default false.
   */
  moveX?: boolean;
}

/** Constructor options of {@link XGBoostModel}. */
export interface XGBoostOptions {
  /** XGBoost parameters under XGBoost's own names. */
  params?: Record<string, XGBoostParamValue>;
  /** Maximum boosting rounds (default 100). */
  numBoostRound?: number;
  /** Stop after this many rounds without improvement of the validation metric (needs `fit`'s `opts.validation`). */
  earlyStoppingRounds?: number;
  /** Where to train (default "cpu"; see lib/models/xgboost/device.ts). */
  device?: DeviceRequest;
  /** Throw instead of falling back to the CPU when the GPU is unavailable. */
  requireGpu?: boolean;
  /** Calibration fitted on the training rows' predictions (default "none"; refused for multi-class objectives). */
  calibration?: CalibrationMethod;
  /**
   * Accepted share of positive training predictions; outside it `fit` reports a sign-bias warning. Default [0.2, 0.8].
   * Refused for multi-class objectives (no single decision threshold).
   */
  positiveShareBand?: [number, number];
  /** Keep only the k features with the largest mean |SHAP| on the training rows (fitted inside `fit`). */
  selectTopK?: number;
  /** Rounds of the preliminary booster used for SHAP selection (default min(numBoostRound, 100)). */
  selectionRounds?: number;
}

/** Result of {@link XGBoostModel.shapValues}. */
export interface ShapResult {
  /** Row-major `rows × (features + 1)`; column `features` is the bias (expected margin). In margin units. */
  values: Float64Array;
  /** Rows explained. */
  rows: number;
  /** Features of the booster + 1. */
  cols: number;
  /** Largest |sum of a row's contributions − its margin prediction|. */
  maxAdditivityError: number;
}

/** Result of {@link XGBoostModel.shapImportance}. */
export interface FeatureImportance {
  /** Input column names (or `f0`, `f1`, ... when the matrix had none). */
  names: string[];
  /** One value per input column; 0 for columns the model does not use. */
  values: Float64Array;
  /** What the values are: mean |SHAP| or, after a fallback, gain importance. */
  method: "shap" | "gain";
  /** Why SHAP was not used, after a fallback. */
  fallbackReason?: string;
}

interface SavedState {
  format: "candor-xgboost/1";
  options: XGBoostOptions;
  inputColumns: number;
  columnNames?: string[];
  selected?: number[];
  calibrator: Calibrator;
  objective: string;
  numClass: number;
  bestIteration?: number;
  bestScore?: number;
  device: "cpu" | "cuda";
}

function selectColumns(X: Matrix, cols: number[] | undefined): Matrix {
  if (!cols) return X;
  const out = new Float32Array(X.rows * cols.length);
  for (let i = 0; i < X.rows; i++) {
    const src = i * X.cols, dst = i * cols.length;
    for (let j = 0; j < cols.length; j++) out[dst + j] = X.data[src + cols[j]];
  }
  return { data: out, rows: X.rows, cols: cols.length, columns: X.columns && cols.map((c) => X.columns![c]) };
}

function checkTarget(y: Target, rows: number, what: string): void {
  if (y.length !== rows) throw new ConfigError(`${what}: ${y.length} targets for ${rows} rows`);
  for (let i = 0; i < y.length; i++) {
    if (!Number.isFinite(y[i])) {
      throw new ConfigError(`${what}: target at row ${i} is ${y[i]}; drop rows with unknown targets before fitting`);
    }
  }
}

function validFeatureNames(names: string[] | undefined): names is string[] {
  return !!names && new Set(names).size === names.length && names.every((n) => n.length > 0 && !/[[\]<,]/.test(n));
}

/** XGBoost gradient-boosted trees implementing the Model contract (see the module doc for conventions). */
export class XGBoostModel implements Model {
  /** Model kind in reports and saved stacks. */
  readonly kind = "xgboost";
  /** The options as given, with `numBoostRound` resolved and `params` copied. */
  readonly options: XGBoostOptions;
  #booster: Booster | null = null;
  #state: Omit<SavedState, "format" | "options"> | null = null;

  /**
   * Checks the options and opens XGBoost's C library (so a missing library fails here, with the install hint).
   *
   * @throws ConfigError for invalid rounds, `selectTopK`, or calibration / `positiveShareBand` with a multi-class
   *   objective; BackendUnavailableError when the library cannot be opened.
   */
  constructor(options: XGBoostOptions = {}) {
    const rounds = options.numBoostRound ?? 100;
    if (!Number.isInteger(rounds) || rounds < 1) {
      throw new ConfigError(`numBoostRound must be a positive integer, got ${rounds}`);
    }
    if (options.earlyStoppingRounds !== undefined && !(options.earlyStoppingRounds >= 1)) {
      throw new ConfigError(`earlyStoppingRounds must be ≥ 1, got ${options.earlyStoppingRounds}`);
    }
    if (options.selectTopK !== undefined && !(Number.isInteger(options.selectTopK) && options.selectTopK >= 1)) {
      throw new ConfigError(`selectTopK must be a positive integer, got ${options.selectTopK}`);
    }
    const objective = String(options.params?.objective ?? "reg:squarederror");
    const numClass = Number(options.params?.num_class ?? 1);
    if (numClass > 1 || objective.startsWith("multi:")) {
      if ((options.calibration ?? "none") !== "none") {
        throw new ConfigError(
          `calibration "${options.calibration}" needs one output per row; ${objective} (num_class ${numClass}) ` +
            `gives one per class. Use calibration "none", or a binary objective per class`,
        );
      }
      if (options.positiveShareBand !== undefined) {
        throw new ConfigError(
          `positiveShareBand needs one output per row and a decision threshold; ${objective} has neither. ` +
            `Drop positiveShareBand, or check class shares on the predictions yourself`,
        );
      }
    }
    this.options = { ...options, params: { ...(options.params ?? {}) }, numBoostRound: rounds };
    openXGBoost(); // fail early, with the install hint, when the library is missing
  }

  /** Best iteration (1-based count of rounds kept) after `fit` or `load`. */
  get bestIteration(): number | undefined {
    return this.#state?.bestIteration;
  }

  /** Indices of the input columns the booster uses (all when no selection was made). */
  get selectedColumns(): number[] | undefined {
    return this.#state?.selected;
  }

  /** The fitted calibration (identity when none was asked for). */
  get calibrator(): Calibrator | undefined {
    return this.#state?.calibrator;
  }

  #live(): Booster {
    if (!this.#booster || !this.#state) throw new ConfigError("XGBoostModel: call fit() or load() first");
    return this.#booster;
  }

  #baseParams(seed: number | undefined): Array<[string, string]> {
    const p = this.options.params ?? {};
    const out: Array<[string, string]> = [["validate_parameters", "1"]];
    if (!("tree_method" in p)) out.push(["tree_method", "hist"]);
    for (const [k, v] of Object.entries(p)) {
      if (k === "device") continue; // handled by chooseDevice (1.x libraries do not know it)
      out.push([k, paramString(v)]);
    }
    if (!("seed" in p) && !("random_state" in p)) out.push(["seed", String(seed ?? 0)]);
    return out;
  }

  /** The boosting loop on `X`, `y` (see boost.ts), here or, with `ownThread`, on a thread of its own. */
  #boost(
    X: Matrix,
    y: Target,
    params: Array<[string, string]>,
    rounds: number,
    opts: XGBoostFitOptions,
    earlyStopping: number | undefined,
    onRound?: (i: number) => Promise<void>,
    wantTrainPredictions = false,
    movable = false,
  ): Promise<Boosted> {
    const v = opts.validation;
    const spec: BoostSpec = {
      X,
      label: Float32Array.from(y),
      ...(opts.sampleWeight === undefined ? {} : { weight: Float32Array.from(opts.sampleWeight) }),
      ...(v === undefined || earlyStopping === undefined ? {} : {
        validation: {
          X: selectColumns(v.X, this.#state?.selected),
          label: Float32Array.from(v.y),
          ...(v.sampleWeight === undefined ? {} : { weight: Float32Array.from(v.sampleWeight) }),
        },
      }),
      params,
      rounds,
      ...(earlyStopping === undefined ? {} : { earlyStopping }),
      given: Object.keys(this.options.params ?? {}).filter((k) => k !== "device"), // device: chooseDevice's
      trainPredictions: wantTrainPredictions,
    };
    return opts.ownThread ? boostOffThread(spec, onRound, { moveX: movable }) : boost(spec, onRound);
  }

  /**
   * Fits the booster (and, when configured, SHAP feature selection, calibration and the bias check) on `X`, `y`.
   * `opts.validation` is used only for early stopping; `opts.sampleWeight` weights the training rows.
   */
  async fit(X: Matrix, y: Target, opts: XGBoostFitOptions = {}): Promise<FitReport> {
    const t0 = performance.now();
    assertMatrix(X, "XGBoostModel.fit X");
    checkTarget(y, X.rows, "XGBoostModel.fit");
    if (X.rows === 0) throw new ConfigError("XGBoostModel.fit: no training rows");
    if (opts.sampleWeight && opts.sampleWeight.length !== X.rows) {
      throw new ConfigError(`XGBoostModel.fit: ${opts.sampleWeight.length} sample weights for ${X.rows} rows`);
    }
    if (opts.validation) {
      assertMatrix(opts.validation.X, "XGBoostModel.fit validation X");
      checkTarget(opts.validation.y, opts.validation.X.rows, "XGBoostModel.fit validation");
      if (opts.validation.X.cols !== X.cols) {
        throw new ConfigError(
          `XGBoostModel.fit: validation has ${opts.validation.X.cols} columns, training has ${X.cols}`,
        );
      }
    }
    this.dispose();
    const notes: string[] = [];
    const o = this.options;
    const paramDevice = o.params?.device;
    const request: DeviceRequest = o.device ??
      (paramDevice === "cuda" || paramDevice === "gpu" ? "cuda" : paramDevice === "auto" ? "auto" : "cpu");
    const device = chooseDevice(request, o.requireGpu);
    if (device.fallbackReason) notes.push(device.fallbackReason);
    const params = this.#baseParams(opts.seed);
    for (const [k, v] of Object.entries(device.params)) {
      const at = params.findIndex(([name]) => name === k);
      if (at >= 0) params[at] = [k, v];
      else params.push([k, v]);
    }
    const objective = String(o.params?.objective ?? "reg:squarederror");
    const numClass = Number(o.params?.num_class ?? 1);
    if (objective === "binary:logistic") {
      for (let i = 0; i < y.length; i++) {
        if (y[i] < 0 || y[i] > 1) throw new ConfigError(`binary:logistic needs labels in [0, 1]; row ${i} has ${y[i]}`);
      }
    }
    if (opts.validation && o.earlyStoppingRounds === undefined) {
      notes.push("validation set given without earlyStoppingRounds: it was not used");
    }
    if (!opts.validation && o.earlyStoppingRounds !== undefined) {
      notes.push(`earlyStoppingRounds=${o.earlyStoppingRounds} ignored: no validation set; trained all rounds`);
    }

    this.#state = {
      inputColumns: X.cols,
      columnNames: X.columns,
      calibrator: { kind: "identity" },
      objective,
      numClass,
      device: device.device,
    };

    // SHAP top-k selection, fitted on the training rows only.
    let fitX = X;
    if (o.selectTopK !== undefined && o.selectTopK < X.cols) {
      const rounds = o.selectionRounds ?? Math.min(o.numBoostRound!, 100);
      const pre = await this.#boost(
        X,
        y,
        params,
        rounds,
        { sampleWeight: opts.sampleWeight, ownThread: opts.ownThread }, // beside other fits too; X stays the caller's
        undefined,
      );
      this.#booster = pre.booster;
      // Same naming as the final booster: `importance` (the gain fallback) looks features up by these names.
      if (validFeatureNames(X.columns)) this.#booster.setFeatureNames(X.columns);
      try {
        const imp = this.shapImportance(X);
        if (imp.fallbackReason) notes.push(`feature selection used gain importance: ${imp.fallbackReason}`);
        const order = Array.from(imp.values.keys()).sort((a, b) => imp.values[b] - imp.values[a] || a - b);
        this.#state.selected = order.slice(0, o.selectTopK).sort((a, b) => a - b);
      } finally {
        this.#booster.free();
        this.#booster = null;
      }
      fitX = selectColumns(X, this.#state.selected);
    }

    const rounds = o.numBoostRound!;
    let lastYield = performance.now();
    const onRound = opts.onProgress
      ? async (i: number) => {
        opts.onProgress!((i + 1) / rounds, `round ${i + 1}/${rounds}`);
        if (performance.now() - lastYield > 100) {
          await new Promise((r) => setTimeout(r, 0));
          lastYield = performance.now();
        }
      }
      : undefined;
    const movable = fitX !== X || opts.moveX === true; // a selection's copy is this fit's own
    const trained = await this.#boost(
      fitX,
      y,
      params,
      rounds,
      opts,
      o.earlyStoppingRounds,
      onRound,
      numClass <= 1,
      movable,
    );
    this.#booster = trained.booster;
    if (trained.unused.length > 0) {
      const [what, had] = trained.unused.length === 1 ? ["parameter", "it had"] : ["parameters", "they had"];
      notes.push(
        `XGBoost did not use ${what} ${trained.unused.join(", ")}: ${had} no effect (misspelt, or not one of this ` +
          `booster's)`,
      );
    }
    this.#state.bestIteration = trained.bestIteration;
    this.#state.bestScore = trained.bestScore;
    const names = fitX.columns;
    if (validFeatureNames(names)) this.#booster.setFeatureNames(names);

    // Calibration and sign-bias check on the training rows.
    let positiveShare: number | undefined;
    let signBiasSkipped: string | undefined;
    if (trained.trainPredictions) {
      const raw = trained.trainPredictions;
      const method = o.calibration ?? "none";
      if (method !== "none") {
        this.#state.calibrator = fitCalibrator(method, raw, y, {
          sampleWeight: opts.sampleWeight,
          clip: objective === "binary:logistic" ? [0, 1] : undefined,
        });
      }
      const calibrated = applyCalibrator(this.#state.calibrator, raw);
      const check = checkPositiveShare(calibrated, {
        threshold: objective === "binary:logistic" ? 0.5 : 0,
        band: o.positiveShareBand,
        what: "training predictions",
      });
      positiveShare = check.share;
      if (check.warning) notes.push(check.warning);
    } else {
      // Not a finding about this fit (the check does not apply to class probabilities): a detail, not a note.
      signBiasSkipped = `${objective} gives ${numClass} class probabilities per row, not one score with a decision ` +
        `threshold`;
    }
    this.#saveAttr();
    opts.onProgress?.(1, "done");
    const lib = openXGBoost();
    return {
      model: this.kind,
      bestIteration: trained.bestIteration,
      seconds: (performance.now() - t0) / 1000,
      notes,
      details: {
        library: { version: lib.version.join("."), path: lib.path },
        device: device.device,
        ...(trained.metric ? { metric: trained.metric, bestScore: trained.bestScore } : {}),
        validationCurve: trained.history,
        ...(positiveShare !== undefined ? { trainPositiveShare: positiveShare } : {}),
        ...(signBiasSkipped !== undefined ? { signBiasCheckSkipped: signBiasSkipped } : {}),
        ...(this.#state.selected ? { selectedColumns: this.#state.selected } : {}),
        calibration: this.#state.calibrator.kind,
      },
    };
  }

  #saveAttr(): void {
    const state: SavedState = { format: "candor-xgboost/1", options: this.options, ...this.#state! };
    this.#live().setAttr("candor", JSON.stringify(state));
    if (state.bestIteration !== undefined) {
      this.#live().setAttr("best_iteration", String(state.bestIteration - 1));
    }
  }

  /**
   * Predicts every row of `X` (same columns as in `fit`). Returns one value per row (P(class 1) for
   * `binary:logistic`), or `rows × num_class` row-major probabilities for `multi:softprob`. Calibrated unless
   * `{ calibrated: false }`.
   */
  predict(X: Matrix, opts: { calibrated?: boolean } = {}): Float64Array {
    const b = this.#live();
    const s = this.#state!;
    assertMatrix(X, "XGBoostModel.predict X");
    if (X.cols !== s.inputColumns) {
      throw new ConfigError(`XGBoostModel.predict: X has ${X.cols} columns, the model was fitted on ${s.inputColumns}`);
    }
    if (X.rows === 0) return new Float64Array(0);
    const raw = b.predictDense(selectColumns(X, s.selected), PredictType.value).values;
    if (opts.calibrated === false || s.calibrator.kind === "identity") return Float64Array.from(raw);
    return applyCalibrator(s.calibrator, raw);
  }

  /**
   * Untransformed margin (log-odds for `binary:logistic`, the value itself for regression; `rows × num_class`
   * row-major for multi-class) of every row of `X` (same columns as in `fit`). Calibration is not applied.
   */
  predictMargin(X: Matrix): Float64Array {
    const b = this.#live();
    const s = this.#state!;
    assertMatrix(X, "XGBoostModel.predictMargin X");
    if (X.cols !== s.inputColumns) {
      throw new ConfigError(
        `XGBoostModel.predictMargin: X has ${X.cols} columns, the model was fitted on ${s.inputColumns}`,
      );
    }
    if (X.rows === 0) return new Float64Array(0);
    return Float64Array.from(b.predictDense(selectColumns(X, s.selected), PredictType.margin).values);
  }

  /**
   * The booster's effective configuration as XGBoost reports it (`XGBoosterSaveJsonConfig`): objective, tree
   * method, `nthread`, `seed` and every training parameter's value, as strings.
   */
  jsonConfig(): Record<string, unknown> {
    return this.#live().jsonConfig();
  }

  /**
   * Exact TreeSHAP contributions (XGBoost `pred_contribs`) for single-output models, with the additivity check:
   * each row's contributions (bias included) must sum to its margin prediction.
   *
   * @throws XGBoostError when the additivity check fails (tolerance 1e-3 · max(1, |margin|)).
   */
  shapValues(X: Matrix): ShapResult {
    const b = this.#live();
    const s = this.#state!;
    if (s.numClass > 1) throw new ConfigError("shapValues: multi-class models are not supported");
    assertMatrix(X, "shapValues X");
    const Xs = selectColumns(X, s.selected);
    const d = new DMatrix(Xs);
    try {
      const contrib = b.predictDMatrix(d, PredictType.contributions);
      const margin = this.predictMargin(X);
      const cols = Xs.cols + 1;
      if (contrib.values.length !== X.rows * cols) {
        throw new XGBoostError(`pred_contribs returned ${contrib.values.length} values for ${X.rows} × ${cols}`);
      }
      const values = Float64Array.from(contrib.values);
      let maxErr = 0;
      for (let i = 0; i < X.rows; i++) {
        let sum = 0;
        for (let j = 0; j < cols; j++) sum += values[i * cols + j];
        const err = Math.abs(sum - margin[i]);
        if (!(err <= 1e-3 * Math.max(1, Math.abs(margin[i])))) {
          throw new XGBoostError(
            `SHAP additivity failed at row ${i}: contributions sum to ${sum}, margin is ${margin[i]}`,
          );
        }
        maxErr = Math.max(maxErr, err);
      }
      return { values, rows: X.rows, cols, maxAdditivityError: maxErr };
    } finally {
      d.free();
    }
  }

  /** Feature importance of one kind, one value per input column (0 for unused columns). */
  importance(type: ImportanceType = "gain"): FeatureImportance & { method: "gain" } {
    const b = this.#live();
    const s = this.#state!;
    const names = s.columnNames ?? Array.from({ length: s.inputColumns }, (_, i) => `f${i}`);
    const used = s.selected ?? Array.from({ length: s.inputColumns }, (_, i) => i);
    const boosterNames = names && validFeatureNames(s.columnNames) ? used.map((c) => names[c]) : undefined;
    const scores = b.featureScore(type);
    const values = new Float64Array(s.inputColumns);
    used.forEach((col, j) => {
      const key = boosterNames ? boosterNames[j] : `f${j}`;
      values[col] = scores.get(key) ?? 0;
    });
    return { names, values, method: "gain" };
  }

  /**
   * Mean |SHAP| per input column on `X` (the ranking used for feature selection). Falls back to gain importance,
   * saying why, when SHAP fails (error or additivity violation).
   */
  shapImportance(X: Matrix): FeatureImportance {
    const s = this.#state!;
    try {
      const shap = this.shapValues(X);
      const values = new Float64Array(s.inputColumns);
      const used = s.selected ?? Array.from({ length: s.inputColumns }, (_, i) => i);
      for (let i = 0; i < shap.rows; i++) {
        used.forEach((col, j) => values[col] += Math.abs(shap.values[i * shap.cols + j]));
      }
      for (let j = 0; j < values.length; j++) values[j] /= Math.max(1, shap.rows);
      const names = s.columnNames ?? Array.from({ length: s.inputColumns }, (_, i) => `f${i}`);
      return { names, values, method: "shap" };
    } catch (e) {
      const gain = this.importance("gain");
      return { ...gain, fallbackReason: e instanceof Error ? e.message : String(e) };
    }
  }

  /** The model as XGBoost JSON bytes (what `save` writes). */
  toJSONBytes(): Uint8Array {
    return this.#live().toJSONBytes();
  }

  /** Writes one XGBoost JSON model file at `path` (loadable by Python's `xgboost.Booster(model_file=path)`). */
  async save(path: string): Promise<void> {
    await Deno.writeFile(path, this.toJSONBytes());
  }

  /** Builds a model from XGBoost JSON bytes (candor's or any XGBoost JSON model). */
  static fromJSONBytes(bytes: Uint8Array): XGBoostModel {
    const booster = Booster.fromBuffer(bytes);
    try {
      const attr = booster.getAttr("candor");
      const saved: SavedState | undefined = attr ? JSON.parse(attr) : undefined;
      const model = new XGBoostModel(saved?.options ?? {});
      if (saved) {
        const { format: _f, options: _o, ...state } = saved;
        model.#state = state;
      } else {
        const config = booster.jsonConfig() as {
          learner?: { objective?: { name?: string }; learner_model_param?: { num_class?: string } };
        };
        const objective = config.learner?.objective?.name ?? "reg:squarederror";
        let names: string[] | undefined;
        if (bytes[0] === 0x7b) { // JSON: feature names, when the writer stored them
          const fn = (JSON.parse(new TextDecoder().decode(bytes)) as { learner?: { feature_names?: string[] } })
            .learner?.feature_names;
          if (fn && fn.length === booster.numFeatures()) names = fn;
        }
        model.#state = {
          inputColumns: booster.numFeatures(),
          ...(names ? { columnNames: names } : {}),
          calibrator: { kind: "identity" },
          objective,
          numClass: Math.max(1, Number(config.learner?.learner_model_param?.num_class ?? 1)),
          bestIteration: booster.boostedRounds(),
          device: "cpu",
        };
      }
      model.#booster = booster;
      return model;
    } catch (e) {
      booster.free();
      throw e;
    }
  }

  /** Loads a model written by `save` (or any XGBoost JSON model file). */
  static async load(path: string): Promise<XGBoostModel> {
    return XGBoostModel.fromJSONBytes(await Deno.readFile(path));
  }

  /** Kind, parameters, rounds, library version and fitted state (JSON-serializable). */
  describe(): Record<string, unknown> {
    const lib = openXGBoost();
    return {
      kind: this.kind,
      library: { version: lib.version.join("."), path: lib.path },
      params: this.options.params,
      numBoostRound: this.options.numBoostRound,
      earlyStoppingRounds: this.options.earlyStoppingRounds,
      calibration: this.options.calibration ?? "none",
      selectTopK: this.options.selectTopK,
      ...(this.#state
        ? {
          bestIteration: this.#state.bestIteration,
          bestScore: this.#state.bestScore,
          device: this.#state.device,
          selectedColumns: this.#state.selected,
          inputColumns: this.#state.inputColumns,
        }
        : {}),
    };
  }

  /** Frees the native booster. Idempotent; the model must be fitted or loaded again before use. */
  dispose(): void {
    this.#booster?.free();
    this.#booster = null;
  }
}
