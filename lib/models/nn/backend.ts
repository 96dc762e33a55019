/**
 * TensorFlow.js backend selection for every neural model.
 *
 * `TFJS_BACKEND=auto|tensorflow|wasm|cpu` (or the `requested` argument) chooses the backend:
 *
 * - `tensorflow`: `@tensorflow/tfjs-node-gpu`, then `@tensorflow/tfjs-node`, through a guarded dynamic import. They
 *   are optional (their install script downloads libtensorflow from outside the npm registry, so they cannot be
 *   installed offline). Asked for explicitly and missing, this throws {@link BackendUnavailableError}.
 * - `wasm` (the default in practice): `setWasmPaths()` to the package's own `dist/` folder (resolved with
 *   `createRequire`, so it works offline and from any working directory), one thread (threads hang Deno at start-up
 *   about one time in three and gain < 20 % on two cores), SIMD auto-detected; the kernel patches of
 *   `wasm_patches.ts` are installed first.
 * - `cpu`: the pure-JS reference backend; always available, slowest.
 * - `auto`: tensorflow if importable, else wasm, else cpu. Each fallback's reason is recorded in
 *   {@link BackendInfo.fallbacks}; the backend actually used is recorded with every fit report.
 *
 * @module
 */

import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs"; // registers every gradient (see lib/training/loop.ts)
import "@tensorflow/tfjs-backend-cpu";
import { setThreadsCount, setWasmPaths } from "@tensorflow/tfjs-backend-wasm";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { BackendUnavailableError, ConfigError } from "../../errors.ts";
import { installWasmPatches } from "./wasm_patches.ts";

/** A backend request: `auto` picks the fastest available one. */
export type BackendRequest = "auto" | "tensorflow" | "wasm" | "cpu";

/** The backend in use and how it was chosen; stored with every run. */
export interface BackendInfo {
  /** What was asked for (argument, else `TFJS_BACKEND`, else `auto`). */
  requested: BackendRequest;
  /** tfjs backend name actually active: `tensorflow`, `wasm` or `cpu`. */
  name: string;
  /** Why faster backends were skipped, e.g. "tensorflow: @tensorflow/tfjs-node not installed (...)". */
  fallbacks: string[];
  /** Kernel patches installed (wasm only). */
  patches: string[];
  /** tfjs-core version. */
  version: string;
}

let current: BackendInfo | undefined;

const BACKENDS: readonly BackendRequest[] = ["auto", "tensorflow", "wasm", "cpu"];

function parseRequest(value: string | undefined): BackendRequest {
  const v = (value ?? "auto").trim().toLowerCase() || "auto";
  if (!(BACKENDS as readonly string[]).includes(v)) {
    throw new ConfigError(`TFJS_BACKEND must be one of ${BACKENDS.join(", ")}; got ${JSON.stringify(value)}`);
  }
  return v as BackendRequest;
}

async function tryTensorflow(): Promise<string | undefined> {
  const reasons: string[] = [];
  for (const pkg of ["@tensorflow/tfjs-node-gpu", "@tensorflow/tfjs-node"]) {
    try {
      // A bare, variable specifier keeps the optional package out of the module graph and the lock file, and never
      // touches the network: it resolves only once the package is added to the import map (deno add).
      const spec: string = pkg;
      await import(spec);
      if (await tf.setBackend("tensorflow")) return undefined;
      reasons.push(`${pkg} imported but the "tensorflow" backend did not initialize`);
    } catch (e) {
      reasons.push(`${pkg} not available (${(e as Error).message.split("\n")[0]})`);
    }
  }
  return reasons.join("; ");
}

async function tryWasm(): Promise<string[] | string> {
  try {
    const require = createRequire(import.meta.url);
    const pkgDir = dirname(require.resolve("@tensorflow/tfjs-backend-wasm/package.json"));
    setWasmPaths(join(pkgDir, "dist") + "/");
    setThreadsCount(1);
    const patches = installWasmPatches();
    if (await tf.setBackend("wasm")) return patches;
    return "setBackend('wasm') returned false";
  } catch (e) {
    return (e as Error).message.split("\n")[0];
  }
}

/**
 * Selects and initializes the tfjs backend once per process (later calls return the same {@link BackendInfo} unless
 * a different explicit backend is requested). Throws BackendUnavailableError when an explicitly requested backend
 * cannot be used, ConfigError for an unknown name.
 */
export async function initBackend(requested?: BackendRequest): Promise<BackendInfo> {
  const req = requested ?? parseRequest(Deno.env.get("TFJS_BACKEND"));
  if (current !== undefined && (req === "auto" || req === current.name)) return current;
  const fallbacks: string[] = [];
  let patches: string[] = [];
  let name: string | undefined;
  if (req === "auto" || req === "tensorflow") {
    const why = await tryTensorflow();
    if (why === undefined) name = "tensorflow";
    else if (req === "tensorflow") {
      throw new BackendUnavailableError(
        `TFJS_BACKEND=tensorflow but no TensorFlow native binding loads: ${why}. Install @tensorflow/tfjs-node@4.22.0 ` +
          `(needs network access to download libtensorflow) or use TFJS_BACKEND=wasm.`,
      );
    } else fallbacks.push(`tensorflow: ${why}`);
  }
  if (name === undefined && (req === "auto" || req === "wasm")) {
    const r = await tryWasm();
    if (typeof r !== "string") {
      name = "wasm";
      patches = r;
    } else if (req === "wasm") {
      throw new BackendUnavailableError(`TFJS_BACKEND=wasm failed to initialize: ${r}. Use TFJS_BACKEND=cpu.`);
    } else fallbacks.push(`wasm: ${r}`);
  }
  if (name === undefined) {
    if (!(await tf.setBackend("cpu"))) throw new BackendUnavailableError("the tfjs cpu backend failed to initialize");
    name = "cpu";
  }
  // PROD silences tfjs's console advice ("install tfjs-node") that would otherwise interleave with every run's output.
  tf.env().set("PROD", true);
  current = { requested: req, name, fallbacks, patches, version: tf.version_core };
  return current;
}

/**
 * {@link initBackend} for loading a saved model: the saved model records the backend it was trained on, which may be
 * unavailable here (a model trained with tfjs-node, loaded where only wasm exists). Weights are plain float32 values
 * valid on every backend, so an unavailable backend falls back to `auto` (the returned info's
 * {@link BackendInfo.fallbacks} says why) instead of refusing to load. Unknown names are still a ConfigError.
 */
export async function initBackendForLoad(saved?: BackendRequest): Promise<BackendInfo> {
  try {
    return await initBackend(saved);
  } catch (e) {
    if (!(e instanceof BackendUnavailableError) || saved === undefined || saved === "auto") throw e;
    const info = await initBackend("auto");
    // A copy: the process-wide record (and every later fit report) must not inherit this load's fallback.
    return {
      ...info,
      fallbacks: [...info.fallbacks, `${saved} (saved with the model): ${(e as Error).message.split(":")[0]}`],
    };
  }
}

/** The backend selected by {@link initBackend}, or undefined before the first call. */
export function backendInfo(): BackendInfo | undefined {
  return current;
}
