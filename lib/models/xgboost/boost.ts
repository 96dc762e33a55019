/**
 * The boosting loop: rounds of `XGBoosterUpdateOneIter`, the early-stopping tail evaluated after each, the kept
 * rounds cut out — on the calling thread ({@link boost}) or on a thread of its own ({@link boostOffThread}).
 *
 * **Why a thread of its own, and why a Worker.** A fit on one XGBoost thread leaves the process's other cores idle;
 * the study loop trains several folds at once by running each fold's loop on its own thread while the main thread
 * waits. XGBoost 1.x keeps a booster's prediction cache per calling thread, so every call on one booster must come
 * from one thread: an FFI call marked `nonblocking` runs on whichever thread of Deno's pool is free (measured: the
 * fold models changed), a Worker is one thread for the booster's whole life. The Worker returns the booster
 * serialized with its configuration (`XGBoosterSerializeToBuffer`, what Python's pickle uses); the caller rebuilds it,
 * so prediction, SHAP and saving work as for a booster trained here.
 *
 * @module
 */

import type { Matrix } from "../../data/matrix.ts";
import { Booster, DMatrix, PredictType, quantileAvailable } from "./booster.ts";
import { unusedParams } from "./params.ts";
import { XGBoostError } from "./library.ts";
import { ConfigError } from "../../errors.ts";

/** Metrics early stopping maximizes (by prefix, as Python's xgboost 1.7 decides it; `mape` is minimized). */
const MAXIMIZE_PREFIXES = ["auc", "aucpr", "map", "ndcg"];

/** What one boosting loop needs: plain data and parameters (it crosses to a Worker as is). */
export interface BoostSpec {
  /** Training features. */
  X: Matrix;
  /** Training labels. */
  label: Float32Array;
  /** Training row weights. */
  weight?: Float32Array;
  /** The early-stopping tail (used only with `earlyStopping`). */
  validation?: { X: Matrix; label: Float32Array; weight?: Float32Array };
  /** Parameters in the order they are set, XGBoost's names and string values. */
  params: Array<[string, string]>;
  /** Rounds at most. */
  rounds: number;
  /** Stop after this many rounds without a better tail score. */
  earlyStopping?: number;
  /** Parameter names the caller gave (the ones reported when XGBoost did not use them). */
  given: string[];
  /** Also return the training rows' predictions of the kept rounds. */
  trainPredictions: boolean;
}

/** What the loop produced. */
export interface Boosted {
  /** The booster, cut to the kept rounds. */
  booster: Booster;
  /** Rounds kept (1-based best round, or every round without early stopping). */
  bestIteration: number;
  /** The tail's best score. */
  bestScore?: number;
  /** The early-stopping metric, e.g. `logloss`. */
  metric?: string;
  /** The tail's score after each round. */
  history: number[];
  /** Training-row predictions of the kept rounds. */
  trainPredictions?: Float32Array;
  /** The given parameter names XGBoost did not use (params.ts). */
  unused: string[];
}

/**
 * Frees the spec's arrays now that XGBoost holds its own copies (a training thread's spec is its own): detaching a
 * buffer releases its memory at once, where dropping the last reference would wait for a garbage collection that an
 * idle thread may never run — a whole-universe fold's matrix is over 100 MB.
 */
function releaseSpec(spec: BoostSpec): void {
  const v = spec.validation;
  for (const a of [spec.X.data, spec.label, spec.weight, v?.X.data, v?.label, v?.weight]) {
    if (a !== undefined && a.buffer instanceof ArrayBuffer && !a.buffer.detached) a.buffer.transfer(0);
  }
}

/** The XGBoost thread count in `params` (−1: XGBoost's default). */
function threadsOf(params: Array<[string, string]>): number {
  return Number(params.find(([k]) => k === "nthread")?.[1] ?? -1);
}

/**
 * The bins of the QuantileDMatrix the loop trains on (`DMatrixOptions.maxBin` in booster.ts): the booster's `max_bin`
 * (XGBoost's default 256) when it grows trees with `tree_method: "hist"` on the CPU and the library has
 * QuantileDMatrix; otherwise undefined, and the loop trains on a plain DMatrix (other tree methods, `gblinear`, an
 * explicit `updater`, a device).
 */
export function quantileBins(params: Array<[string, string]>): number | undefined {
  const p = new Map(params);
  if (p.get("tree_method") !== "hist" || !["gbtree", "dart", undefined].includes(p.get("booster"))) return undefined;
  if (p.has("updater") || p.has("gpu_id") || (p.has("device") && p.get("device") !== "cpu")) return undefined;
  if (!quantileAvailable()) return undefined;
  return Number(p.get("max_bin") ?? 256);
}

/**
 * Whether XGBoost's prediction cache for the training matrix holds, after each round, exactly the margins a fresh
 * prediction of the rounds so far gives: gbtree adds each new tree's leaf values to it in tree order, as prediction
 * does (dart reweights earlier trees; gblinear is not a sum of trees).
 */
function cacheIsSumOfTrees(params: Array<[string, string]>): boolean {
  const booster = new Map(params).get("booster");
  return booster === undefined || booster === "gbtree";
}

/**
 * Runs the boosting loop on this thread. `onRound(i)` is awaited after round i (progress; throwing stops the loop), and
 * a `stop` flag set to non-zero stops it there too ({@link BoostStopped}). The matrices are freed before it returns;
 * the booster is the caller's. `release`: free the spec's arrays once XGBoost has its copies (a training thread's own).
 */
export async function boost(
  spec: BoostSpec,
  onRound?: (i: number) => Promise<void> | void,
  opts: { release?: boolean; stop?: Int32Array } = {},
): Promise<Boosted> {
  const nthread = threadsOf(spec.params);
  const maxBin = quantileBins(spec.params);
  const dtrain = new DMatrix(spec.X, { label: spec.label, weight: spec.weight, nthread, maxBin });
  let dval: DMatrix | undefined;
  let booster: Booster | undefined;
  try {
    const v = spec.validation;
    if (v && spec.earlyStopping !== undefined) {
      dval = new DMatrix(v.X, { label: v.label, weight: v.weight, nthread });
    }
    if (opts.release) releaseSpec(spec);
    booster = Booster.create(dval ? [dtrain, dval] : [dtrain]);
    for (const [k, value] of spec.params) booster.setParam(k, value);
    const history: number[] = [];
    let unused: string[] = [];
    // The training rows' margins after the best round so far, copied from XGBoost's prediction cache whenever the
    // tail score improves (about 1.5 ns a row): the kept rounds' training predictions are then these margins
    // transformed, where predicting them afresh from the matrix cost 0.06–1.35 s a fold on the whole universe
    // (0.26–1.46 M rows; XGBoost reads a quantile index back row by row) against at most 0.18 s for the copies.
    const snapshots = spec.trainPredictions && cacheIsSumOfTrees(spec.params);
    let snapshot: Float32Array | undefined;
    let best = Infinity, bestIter = 0, since = 0, maximize = false, metric: string | undefined;
    for (let i = 0; i < spec.rounds; i++) {
      booster.updateOneIter(i, dtrain);
      if (i === 0) unused = unusedParams(booster, spec.given);
      if (dval && spec.earlyStopping !== undefined) {
        const line = booster.evalOneIter(i, [dval], ["validation"]);
        const last = line.trim().split("\t").at(-1)!;
        const colon = last.lastIndexOf(":");
        metric = last.slice(0, colon).replace(/^validation-/, "");
        if (i === 0) maximize = metric !== "mape" && MAXIMIZE_PREFIXES.some((m) => metric!.startsWith(m));
        const score = Number(last.slice(colon + 1));
        history.push(score);
        const s = maximize ? -score : score;
        if (i === 0 || s < best) {
          best = s;
          bestIter = i;
          since = 0;
          // One buffer for every copy: a new array each time left up to 90 × 6 MB for the collector on a large fold.
          if (snapshots) snapshot = booster.predictDMatrix(dtrain, PredictType.margin, 0, { into: snapshot }).values;
        } else if (++since >= spec.earlyStopping) break;
      } else bestIter = i;
      if (onRound) await onRound(i);
      if (opts.stop !== undefined && Atomics.load(opts.stop, 0) !== 0) {
        throw new BoostStopped(`stopped after round ${i}`);
      }
    }
    const kept = bestIter + 1;
    const total = booster.boostedRounds();
    // Training-row predictions of the kept rounds: from XGBoost's prediction cache when nothing is cut; else the best
    // round's margins as the matrix's base margin and no rounds after it, so that XGBoost applies its own transform
    // (a sigmoid written in JavaScript differed from XGBoost's in the last bit on 440 of 1.1 M rows); else afresh.
    let trainPredictions: Float32Array | undefined;
    if (spec.trainPredictions) {
      if (kept === total) trainPredictions = booster.predictDMatrix(dtrain, PredictType.value).values;
      else if (snapshot !== undefined) {
        dtrain.setFloatInfo("base_margin", snapshot);
        trainPredictions = booster.predictDMatrix(dtrain, PredictType.value, kept, { iterationBegin: kept }).values;
      } else trainPredictions = booster.predictDMatrix(dtrain, PredictType.value, kept).values;
    }
    if (kept < total) {
      const cut = booster.slice(0, kept);
      booster.free();
      booster = cut;
    }
    return {
      booster,
      bestIteration: kept,
      bestScore: metric === undefined ? undefined : (maximize ? -best : best),
      metric,
      history,
      trainPredictions,
      unused,
    };
  } catch (e) {
    booster?.free();
    throw e;
  } finally {
    dtrain.free();
    dval?.free();
  }
}

/** A training thread's answer: progress after a round, the result, or the failure. */
export type BoostMessage =
  | { round: number }
  | { done: Omit<Boosted, "booster"> & { booster: Uint8Array } }
  | { error: { name: string; message: string } };

/** What a training thread is sent: the loop's spec and the flag that stops it (1: stop after the current round). */
export interface BoostRequest {
  /** The boosting loop. */
  spec: BoostSpec;
  /** One Int32 on shared memory, set to 1 by the caller to stop the loop. */
  stop: Int32Array;
}

/** Thrown by a loop stopped through its flag (see {@link boostOffThread}). */
export class BoostStopped extends Error {}

/**
 * Idle training threads, kept for the next loop (a new one costs about 25 ms of CPU: an isolate and its modules) and
 * stopped after {@link IDLE_MS} without work: a live Worker keeps the process running, and the study loop starts a
 * fold's next loop within milliseconds of the last one.
 */
const idle: { worker: Worker; timer: ReturnType<typeof setTimeout> }[] = [];
const IDLE_MS = 100;

function takeThread(): Worker {
  const kept = idle.pop();
  if (kept === undefined) return new Worker(new URL("./boost_worker.ts", import.meta.url), { type: "module" });
  clearTimeout(kept.timer);
  return kept.worker;
}

function releaseThread(worker: Worker): void {
  worker.onmessage = null;
  worker.onerror = null;
  if (idle.length >= Math.max(1, navigator.hardwareConcurrency ?? 1)) return worker.terminate();
  const kept = {
    worker,
    timer: setTimeout(() => {
      idle.splice(idle.indexOf(kept), 1);
      worker.terminate();
    }, IDLE_MS),
  };
  idle.push(kept);
}

/** The buffers of `spec` that may move to the training thread: the labels and weights it made, and `X` if `moveX`. */
function transferable(spec: BoostSpec, moveX: boolean): ArrayBuffer[] {
  const whole = (a: Float32Array | undefined) =>
    a !== undefined && a.byteOffset === 0 && a.byteLength === a.buffer.byteLength && a.buffer instanceof ArrayBuffer
      ? [a.buffer]
      : [];
  return [
    ...(moveX ? whole(spec.X.data) : []),
    ...whole(spec.label),
    ...whole(spec.weight),
    ...whole(spec.validation?.label),
    ...whole(spec.validation?.weight),
  ];
}

/**
 * Runs the boosting loop on a thread of its own and rebuilds the booster here. Results are those of {@link boost}:
 * the same library, parameters and data, and every call on the booster from one thread. `onRound(i)` is called here
 * as rounds finish; if it throws, the thread is stopped after the round in progress and the error rethrown.
 *
 * `spec`'s labels and weights move to the thread (they are detached here); so does `spec.X`'s buffer with `moveX`
 * (one copy of the training matrix fewer; `X` is unusable afterwards), otherwise it is copied.
 */
export function boostOffThread(
  spec: BoostSpec,
  onRound?: (i: number) => Promise<void> | void,
  opts: { moveX?: boolean } = {},
): Promise<Boosted> {
  const worker = takeThread();
  const stop = new Int32Array(new SharedArrayBuffer(4));
  return new Promise<Boosted>((resolve, reject) => {
    let settled = false;
    const settle = (fn: () => void, reuse: boolean) => {
      if (settled) return;
      settled = true;
      if (reuse) releaseThread(worker);
      else {
        // `terminate()` takes effect only when the thread returns to its event loop, which a boosting loop does not do
        // until it ends (measured: a terminated Worker in a loop kept its core busy): the flag ends the loop after
        // the round in progress, then the thread is gone.
        Atomics.store(stop, 0, 1);
        worker.terminate();
      }
      fn();
    };
    worker.onmessage = async (e: MessageEvent<BoostMessage>) => {
      const m = e.data;
      if ("round" in m) {
        try {
          await onRound?.(m.round);
        } catch (err) {
          settle(() => reject(err), false);
        }
      } else if ("done" in m) {
        settle(() => {
          try {
            resolve({ ...m.done, booster: Booster.unserialize(m.done.booster) });
          } catch (err) {
            reject(err);
          }
        }, true);
      } else {
        const { name, message } = m.error;
        settle(() => reject(name === "ConfigError" ? new ConfigError(message) : new XGBoostError(message)), true);
      }
    };
    worker.onerror = (e: ErrorEvent) => {
      e.preventDefault();
      settle(() => reject(new XGBoostError(`XGBoost's training thread failed: ${e.message}`)), false);
    };
    const request: BoostRequest = { spec, stop };
    worker.postMessage(request, transferable(spec, opts.moveX === true));
  });
}
