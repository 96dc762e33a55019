/**
 * Owned native handles over XGBoost's C API: `DMatrix` (training/validation data) and `Booster` (the model).
 *
 * Each wrapper frees its handle exactly once: explicitly through `free()` (what callers should do, deterministically)
 * or, as a safety net for forgotten handles, when the wrapper is garbage-collected. Using a freed handle throws
 * instead of crashing the process.
 *
 * Data is passed the way Python's xgboost 1.7 passes numpy arrays: `XGDMatrixCreateFromDense` (or, for training with
 * `hist`, a QuantileDMatrix through `XGQuantileDMatrixCreateFromCallback`) and `XGBoosterPredictFromDense` with an
 * `__array_interface__` JSON describing a row-major float32 buffer, NaN as missing.
 *
 * @module
 */

import type { Matrix } from "../../data/matrix.ts";
import {
  addressOf,
  copyFloats,
  copyShape,
  copyStrings,
  cString,
  cStringArray,
  openXGBoost,
  pointerFrom,
  readCString,
  XGBoostError,
  type XGBoostLibrary,
} from "./library.ts";

const dmatrixRegistry = new FinalizationRegistry<Deno.PointerObject>((p) => {
  openXGBoost().symbols.XGDMatrixFree(p);
});
const boosterRegistry = new FinalizationRegistry<Deno.PointerObject>((p) => {
  openXGBoost().symbols.XGBoosterFree(p);
});

function arrayInterface(data: Float32Array, rows: number, cols: number): Uint8Array<ArrayBuffer> {
  // Address as a decimal integer, as numpy's __array_interface__ writes it.
  const ptr = rows * cols === 0 ? "0" : addressOf(data).toString();
  return cString(`{"data": [${ptr}, true], "shape": [${rows}, ${cols}], "typestr": "<f4", "version": 3}`);
}

/** Options of {@link DMatrix}. */
export interface DMatrixOptions {
  /** Labels, one per row. */
  label?: ArrayLike<number>;
  /** Row weights, one per row. */
  weight?: ArrayLike<number>;
  /** Threads XGBoost uses to build it (−1: all). */
  nthread?: number;
  /**
   * Build XGBoost's QuantileDMatrix with this many bins (the booster's `max_bin`) instead of a copy of the values:
   * the histogram index `tree_method: "hist"` trains on, straight from the dense array. Training on it gives the
   * same trees as on a plain DMatrix (the cuts come from the same sketch, over the same rows and weights) and
   * predicting on it the same values (tests/models/xgboost_quantile_test.ts), while it skips the float copy of every
   * value XGBoost otherwise keeps beside the index (8 bytes per value in its sparse rows) and the time to make it.
   * Only for training with `hist`; the library must have `XGQuantileDMatrixCreateFromCallback` (XGBoost ≥ 1.7),
   * see {@link quantileAvailable}.
   */
  maxBin?: number;
}

/** Whether the opened library can build a QuantileDMatrix (`DMatrixOptions.maxBin`). */
export function quantileAvailable(): boolean {
  const s = openXGBoost().symbols;
  return s.XGQuantileDMatrixCreateFromCallback !== null && s.XGProxyDMatrixCreate !== null &&
    s.XGProxyDMatrixSetDataDense !== null;
}

function setFloatInfo(lib: XGBoostLibrary, handle: Deno.PointerObject, field: string, values: ArrayLike<number>) {
  const f = values instanceof Float32Array ? values : Float32Array.from(values);
  lib.check(
    lib.symbols.XGDMatrixSetFloatInfo(handle, cString(field), f, BigInt(f.length)),
    `XGDMatrixSetFloatInfo(${field})`,
  );
}

/** XGBoost's DMatrix over a dense float32 matrix (NaN = missing), with labels and weights. */
export class DMatrix {
  #handle: Deno.PointerObject | null;
  readonly rows: number;
  readonly cols: number;
  readonly #lib: XGBoostLibrary;

  constructor(X: Matrix, opts: DMatrixOptions = {}) {
    this.#lib = openXGBoost();
    this.rows = X.rows;
    this.cols = X.cols;
    const config = (extra: Record<string, number> = {}) =>
      cString(
        JSON.stringify({ missing: "__NAN__", nthread: opts.nthread ?? -1, ...extra }).replace('"__NAN__"', "NaN"),
      );
    if (opts.maxBin !== undefined) {
      this.#handle = this.#quantile(X, opts, config({ max_bin: opts.maxBin }));
      dmatrixRegistry.register(this, this.#handle, this);
      return;
    }
    const out = new BigUint64Array(1);
    this.#lib.check(
      this.#lib.symbols.XGDMatrixCreateFromDense(arrayInterface(X.data, X.rows, X.cols), config(), out),
      "XGDMatrixCreateFromDense",
    );
    this.#handle = pointerFrom(out[0], "XGDMatrixCreateFromDense");
    dmatrixRegistry.register(this, this.#handle, this);
    if (opts.label) this.setFloatInfo("label", opts.label);
    if (opts.weight) this.setFloatInfo("weight", opts.weight);
  }

  /**
   * A QuantileDMatrix the way Python's xgboost 1.7 builds one from a numpy array: a proxy matrix holding the data,
   * labels and weights of the single batch a `next` callback reports, which XGBoost sketches and indexes. The
   * callbacks run synchronously inside the call, on this thread.
   */
  #quantile(X: Matrix, opts: DMatrixOptions, config: Uint8Array<ArrayBuffer>): Deno.PointerObject {
    const s = this.#lib.symbols;
    if (!quantileAvailable()) {
      throw new XGBoostError(`XGBoost ${this.#lib.version.join(".")} has no QuantileDMatrix (needs 1.7 or later)`);
    }
    const out = new BigUint64Array(1);
    this.#lib.check(s.XGProxyDMatrixCreate!(out), "XGProxyDMatrixCreate");
    const proxy = pointerFrom(out[0], "XGProxyDMatrixCreate");
    let batches = 0;
    let failure: unknown;
    const next = new Deno.UnsafeCallback({ parameters: ["pointer"], result: "i32" } as const, () => {
      if (batches++ > 0) return 0;
      try {
        this.#lib.check(
          s.XGProxyDMatrixSetDataDense!(proxy, arrayInterface(X.data, X.rows, X.cols)),
          "XGProxyDMatrixSetDataDense",
        );
        if (opts.label) setFloatInfo(this.#lib, proxy, "label", opts.label);
        if (opts.weight) setFloatInfo(this.#lib, proxy, "weight", opts.weight);
        return 1;
      } catch (e) {
        failure = e; // thrown below, once XGBoost has returned
        return 0;
      }
    });
    const reset = new Deno.UnsafeCallback({ parameters: ["pointer"], result: "void" } as const, () => {
      batches = 0;
    });
    try {
      const code = s.XGQuantileDMatrixCreateFromCallback!(null, proxy, null, reset.pointer, next.pointer, config, out);
      if (failure !== undefined) throw failure;
      this.#lib.check(code, "XGQuantileDMatrixCreateFromCallback");
      return pointerFrom(out[0], "XGQuantileDMatrixCreateFromCallback");
    } finally {
      next.close();
      reset.close();
      s.XGDMatrixFree(proxy);
    }
  }

  /** The live handle; throws after `free()`. */
  get handle(): Deno.PointerObject {
    if (!this.#handle) throw new XGBoostError("DMatrix used after free()");
    return this.#handle;
  }

  /** Sets a float field ("label", "weight", "base_margin") of `rows` values. */
  setFloatInfo(field: string, values: ArrayLike<number>): void {
    setFloatInfo(this.#lib, this.handle, field, values);
  }

  /** Frees the native handle. Idempotent. */
  free(): void {
    if (!this.#handle) return;
    dmatrixRegistry.unregister(this);
    this.#lib.symbols.XGDMatrixFree(this.#handle);
    this.#handle = null;
  }
}

/** Prediction kinds of XGBoost's prediction config (`type`). */
export const PredictType = { value: 0, margin: 1, contributions: 2 } as const;

/** XGBoost's Booster: parameters, boosting, evaluation, prediction, (de)serialization. */
export class Booster {
  #handle: Deno.PointerObject | null;
  readonly #lib: XGBoostLibrary;

  private constructor(handle: Deno.PointerObject) {
    this.#lib = openXGBoost();
    this.#handle = handle;
    boosterRegistry.register(this, handle, this);
  }

  /** A new booster caching the given matrices (training first, then evaluation sets). */
  static create(cache: DMatrix[] = []): Booster {
    const lib = openXGBoost();
    const handles = new BigUint64Array(cache.length);
    cache.forEach((d, i) => handles[i] = Deno.UnsafePointer.value(d.handle));
    const out = new BigUint64Array(1);
    lib.check(lib.symbols.XGBoosterCreate(handles, BigInt(cache.length), out), "XGBoosterCreate");
    return new Booster(pointerFrom(out[0], "XGBoosterCreate"));
  }

  /** Loads a model from the bytes of a JSON (or UBJSON / legacy binary) model file. */
  static fromBuffer(bytes: Uint8Array): Booster {
    return Booster.#fromBytes(bytes, "XGBoosterLoadModelFromBuffer");
  }

  /** Rebuilds a booster, model and configuration, from {@link Booster.serialize}'s bytes. */
  static unserialize(bytes: Uint8Array): Booster {
    return Booster.#fromBytes(bytes, "XGBoosterUnserializeFromBuffer");
  }

  /** A new booster filled from `bytes` by one of XGBoost's two readers; freed again if XGBoost refuses them. */
  static #fromBytes(
    bytes: Uint8Array,
    reader: "XGBoosterLoadModelFromBuffer" | "XGBoosterUnserializeFromBuffer",
  ): Booster {
    const b = Booster.create();
    try {
      b.#lib.check(b.#lib.symbols[reader](b.handle, bytes as Uint8Array<ArrayBuffer>, BigInt(bytes.length)), reader);
    } catch (e) {
      b.free();
      throw e;
    }
    return b;
  }

  /** The live handle; throws after `free()`. */
  get handle(): Deno.PointerObject {
    if (!this.#handle) throw new XGBoostError("Booster used after free()");
    return this.#handle;
  }

  /** Sets one parameter (XGBoost's own name and string form). */
  setParam(name: string, value: string): void {
    this.#lib.check(this.#lib.symbols.XGBoosterSetParam(this.handle, cString(name), cString(value)), `set ${name}`);
  }

  /** Runs boosting iteration `iteration` (0-based) on `train`. */
  updateOneIter(iteration: number, train: DMatrix): void {
    this.#lib.check(this.#lib.symbols.XGBoosterUpdateOneIter(this.handle, iteration, train.handle), "UpdateOneIter");
  }

  /** Evaluates the configured metrics on `sets`; returns XGBoost's line, e.g. `"[3]\tval-logloss:0.6912"`. */
  evalOneIter(iteration: number, sets: DMatrix[], names: string[]): string {
    const handles = new BigUint64Array(sets.length);
    sets.forEach((d, i) => handles[i] = Deno.UnsafePointer.value(d.handle));
    const { array, keep } = cStringArray(names);
    const out = new BigUint64Array(1);
    this.#lib.check(
      this.#lib.symbols.XGBoosterEvalOneIter(this.handle, iteration, handles, array, BigInt(sets.length), out),
      "EvalOneIter",
    );
    void keep;
    return readCString(out[0]);
  }

  /** Number of boosting rounds in the model. */
  boostedRounds(): number {
    const out = new Int32Array(1);
    this.#lib.check(this.#lib.symbols.XGBoosterBoostedRounds(this.handle, out), "BoostedRounds");
    return out[0];
  }

  /** Number of input features the model expects. */
  numFeatures(): number {
    const out = new BigUint64Array(1);
    this.#lib.check(this.#lib.symbols.XGBoosterGetNumFeature(this.handle, out), "GetNumFeature");
    return Number(out[0]);
  }

  /** A new booster holding rounds `[begin, end)` (the whole learner configuration is kept). */
  slice(begin: number, end: number): Booster {
    const out = new BigUint64Array(1);
    this.#lib.check(this.#lib.symbols.XGBoosterSlice(this.handle, begin, end, 1, out), "XGBoosterSlice");
    return new Booster(pointerFrom(out[0], "XGBoosterSlice"));
  }

  /**
   * Predicts from a dense row-major float32 matrix without building a DMatrix (XGBoost's in-place prediction).
   * Returns the flat output and its shape.
   */
  predictDense(X: Matrix, type: number = PredictType.value): { values: Float32Array; shape: number[] } {
    const config = `{"type": ${type}, "training": false, "iteration_begin": 0, "iteration_end": 0, ` +
      `"strict_shape": false, "missing": NaN, "cache_id": 0}`;
    const shapePtr = new BigUint64Array(1), dim = new BigUint64Array(1), result = new BigUint64Array(1);
    this.#lib.check(
      this.#lib.symbols.XGBoosterPredictFromDense(
        this.handle,
        arrayInterface(X.data, X.rows, X.cols),
        cString(config),
        null,
        shapePtr,
        dim,
        result,
      ),
      "PredictFromDense",
    );
    const shape = copyShape(shapePtr[0], Number(dim[0]));
    const n = shape.reduce((a, b) => a * b, 1);
    return { values: copyFloats(result[0], n), shape };
  }

  /**
   * Predicts from a DMatrix (needed for SHAP contributions) with the rounds [`opts.iterationBegin` (default 0),
   * `iterationEnd`) (`iterationEnd` 0: through the last), starting from the matrix's `base_margin` when it has one;
   * into `opts.into` when given (its length must be the output's). With both 0, predictions for a matrix the booster
   * was trained on come from XGBoost's prediction cache at the cost of a copy.
   */
  predictDMatrix(
    d: DMatrix,
    type: number,
    iterationEnd = 0,
    opts: { iterationBegin?: number; into?: Float32Array } = {},
  ): { values: Float32Array; shape: number[] } {
    const config = `{"type": ${type}, "training": false, "iteration_begin": ${opts.iterationBegin ?? 0}, ` +
      `"iteration_end": ${iterationEnd}, "strict_shape": false}`;
    const shapePtr = new BigUint64Array(1), dim = new BigUint64Array(1), result = new BigUint64Array(1);
    this.#lib.check(
      this.#lib.symbols.XGBoosterPredictFromDMatrix(this.handle, d.handle, cString(config), shapePtr, dim, result),
      "PredictFromDMatrix",
    );
    const shape = copyShape(shapePtr[0], Number(dim[0]));
    const n = shape.reduce((a, b) => a * b, 1);
    return { values: copyFloats(result[0], n, opts.into), shape };
  }

  /** Serializes the model as XGBoost JSON (the format Python's `Booster.save_model("x.json")` writes). */
  toJSONBytes(): Uint8Array {
    const len = new BigUint64Array(1), ptr = new BigUint64Array(1);
    this.#lib.check(
      this.#lib.symbols.XGBoosterSaveModelToBuffer(this.handle, cString('{"format": "json"}'), len, ptr),
      "SaveModelToBuffer",
    );
    const p = pointerFrom(ptr[0], "SaveModelToBuffer");
    return new Uint8Array(Deno.UnsafePointerView.getArrayBuffer(p, Number(len[0])).slice(0));
  }

  /**
   * The model and its whole configuration as bytes (XGBoost's serialization, what Python's pickle stores): exactly
   * this booster again through {@link Booster.unserialize}, in this process or another with the same library.
   */
  serialize(): Uint8Array {
    const len = new BigUint64Array(1), ptr = new BigUint64Array(1);
    this.#lib.check(this.#lib.symbols.XGBoosterSerializeToBuffer(this.handle, len, ptr), "SerializeToBuffer");
    const p = pointerFrom(ptr[0], "SerializeToBuffer");
    return new Uint8Array(Deno.UnsafePointerView.getArrayBuffer(p, Number(len[0])).slice(0));
  }

  /** The learner's full configuration (objective, tree method, every parameter's effective value). */
  jsonConfig(): Record<string, unknown> {
    const len = new BigUint64Array(1), ptr = new BigUint64Array(1);
    this.#lib.check(this.#lib.symbols.XGBoosterSaveJsonConfig(this.handle, len, ptr), "SaveJsonConfig");
    return JSON.parse(readCString(ptr[0]));
  }

  /** Sets a string attribute stored in the model file (`null` deletes it). */
  setAttr(key: string, value: string | null): void {
    this.#lib.check(
      this.#lib.symbols.XGBoosterSetAttr(this.handle, cString(key), value === null ? null : cString(value)),
      "SetAttr",
    );
  }

  /** Reads a string attribute; `undefined` when absent. */
  getAttr(key: string): string | undefined {
    const out = new BigUint64Array(1), success = new Int32Array(1);
    this.#lib.check(this.#lib.symbols.XGBoosterGetAttr(this.handle, cString(key), out, success), "GetAttr");
    return success[0] ? readCString(out[0]) : undefined;
  }

  /** Stores feature names in the model (Python's `Booster.feature_names`). */
  setFeatureNames(names: string[]): void {
    const { array, keep } = cStringArray(names);
    this.#lib.check(
      this.#lib.symbols.XGBoosterSetStrFeatureInfo(this.handle, cString("feature_name"), array, BigInt(names.length)),
      "SetStrFeatureInfo",
    );
    void keep;
  }

  /**
   * Feature importance of one kind ("weight", "gain", "cover", "total_gain", "total_cover") for the features used
   * by at least one split, keyed by XGBoost's feature name (`f0`, `f1`, ... when the model has no names).
   */
  featureScore(importanceType: string): Map<string, number> {
    const nFeat = new BigUint64Array(1), feats = new BigUint64Array(1), dim = new BigUint64Array(1);
    const shapePtr = new BigUint64Array(1), scores = new BigUint64Array(1);
    this.#lib.check(
      this.#lib.symbols.XGBoosterFeatureScore(
        this.handle,
        cString(JSON.stringify({ importance_type: importanceType, feature_map: "" })),
        nFeat,
        feats,
        dim,
        shapePtr,
        scores,
      ),
      "FeatureScore",
    );
    const names = copyStrings(feats[0], Number(nFeat[0]));
    const shape = copyShape(shapePtr[0], Number(dim[0]));
    const values = copyFloats(scores[0], shape.reduce((a, b) => a * b, 1));
    const per = names.length === 0 ? 0 : values.length / names.length;
    const out = new Map<string, number>();
    names.forEach((n, i) => {
      let s = 0;
      for (let k = 0; k < per; k++) s += values[i * per + k];
      out.set(n, s);
    });
    return out;
  }

  /** Frees the native handle. Idempotent. */
  free(): void {
    if (!this.#handle) return;
    boosterRegistry.unregister(this);
    this.#lib.symbols.XGBoosterFree(this.#handle);
    this.#handle = null;
  }
}
