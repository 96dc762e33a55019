/**
 * Choosing where XGBoost trains: a GPU probe with an explicit, logged fallback to the CPU.
 *
 * - `"cpu"` (default): the CPU `hist` algorithm.
 * - `"cuda"`: a GPU is asked for. When the opened library was built without CUDA, or a one-round probe fit on a tiny
 *   matrix fails, training falls back to the CPU and the reason is logged to stderr and returned — unless
 *   `requireGpu` is set, in which case `BackendUnavailableError` is thrown.
 * - `"auto"`: use the GPU when the probe succeeds, the CPU otherwise (the reason is returned, not printed).
 *
 * XGBoost ≥ 2.0 selects the GPU with `device = "cuda"`; 1.x (Debian 12 ships 1.7.4) with `tree_method = "gpu_hist"`.
 * The probe result is cached per process.
 *
 * @module
 */

import { BackendUnavailableError } from "../../errors.ts";
import { Booster, DMatrix } from "./booster.ts";
import { openXGBoost } from "./library.ts";

/** Where to train. */
export type DeviceRequest = "cpu" | "cuda" | "auto";

/** The outcome of device selection. */
export interface DeviceChoice {
  /** What training actually uses. */
  device: "cpu" | "cuda";
  /** Parameters to add to the booster for that device (empty for the CPU). */
  params: Record<string, string>;
  /** Why the GPU is not used, when one was asked for (or auto mode did not find one). */
  fallbackReason?: string;
}

let probe: { ok: boolean; reason?: string; params: Record<string, string> } | undefined;

/** GPU parameters for the opened library's major version. */
function gpuParams(): Record<string, string> {
  return openXGBoost().version[0] >= 2 ? { device: "cuda" } : { tree_method: "gpu_hist" };
}

/** Tries one boosting round on a 16 × 2 matrix with the GPU parameters; caches the result. */
export function probeGpu(): { ok: boolean; reason?: string } {
  if (probe) return probe;
  const lib = openXGBoost();
  const params = gpuParams();
  if (lib.buildInfo.USE_CUDA !== true) {
    probe = {
      ok: false,
      params,
      reason: `the XGBoost library at ${lib.path} (${lib.version.join(".")}) was built without CUDA (USE_CUDA=false)`,
    };
    return probe;
  }
  const X = new Float32Array(32).map((_, i) => i % 7);
  const d = new DMatrix({ data: X, rows: 16, cols: 2 }, { label: new Float32Array(16).map((_, i) => i % 2) });
  const b = Booster.create([d]);
  try {
    for (const [k, v] of Object.entries(params)) b.setParam(k, v);
    b.updateOneIter(0, d);
    probe = { ok: true, params };
  } catch (e) {
    probe = { ok: false, params, reason: `GPU probe failed: ${e instanceof Error ? e.message : String(e)}` };
  } finally {
    b.free();
    d.free();
  }
  return probe;
}

/**
 * Resolves a device request into booster parameters.
 *
 * @throws BackendUnavailableError when `requireGpu` is set and no usable GPU build is available.
 */
export function chooseDevice(request: DeviceRequest, requireGpu = false): DeviceChoice {
  if (request === "cpu" && !requireGpu) return { device: "cpu", params: {} };
  const p = probeGpu();
  if (p.ok) return { device: "cuda", params: { ...probe!.params } };
  if (requireGpu) {
    throw new BackendUnavailableError(
      `a GPU was required but ${p.reason}; install a CUDA build of XGBoost and point XGBOOST_LIBRARY_PATH at it`,
    );
  }
  const reason = `training on CPU: ${p.reason}`;
  if (request === "cuda") console.warn(`[candor] XGBoost: ${reason}`);
  return { device: "cpu", params: {}, fallbackReason: reason };
}
