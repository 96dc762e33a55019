/**
 * TensorFlow.js backend selection for every neural model.
 *
 * `TFJS_BACKEND=auto|tensorflow|webgpu|wasm|cpu` (or the `requested` argument) chooses the backend:
 *
 * - `tensorflow`: `@tensorflow/tfjs-node-gpu`, then `@tensorflow/tfjs-node`, through a guarded dynamic import. They
 *   are optional (their install script downloads libtensorflow from outside the npm registry, so they cannot be
 *   installed offline). Asked for explicitly and missing, this throws {@link BackendUnavailableError}.
 * - `webgpu`: `@tensorflow/tfjs-backend-webgpu` (from npm, like the rest of tfjs) on Deno's WebGPU — any GPU with a
 *   Vulkan, Metal or Direct3D 12 driver, no CUDA install. Asked for explicitly it accepts any adapter, including a
 *   software one (Mesa's lavapipe/llvmpipe: correct, but slower than wasm; CI checks gradients on it). Training reads
 *   results back asynchronously on this backend (it cannot read synchronously under Deno); `predict` runs on the cpu
 *   backend with the trained weights (the Model contract's `predict` is synchronous).
 * - `wasm` (the default in practice): `setWasmPaths()` to the package's own `dist/` folder (resolved with
 *   `createRequire`, so it works offline and from any working directory), one thread (threads hang Deno at start-up
 *   about one time in three and gain < 20 % on two cores), SIMD auto-detected; the kernel patches of
 *   `wasm_patches.ts` (OpenBLAS matrix products and fused layer kernels when OpenBLAS loads) are installed first.
 * - `cpu`: the pure-JS reference backend; always available, slowest.
 * - `auto`: tensorflow if importable, else webgpu if a **hardware** adapter exists (never a software or fallback
 *   adapter, which is slower than wasm), else wasm, else cpu. Each skipped backend's reason is recorded in
 *   {@link BackendInfo.fallbacks}; the backend actually used (and the WebGPU adapter, when one was looked at) is
 *   recorded with every fit report.
 *
 * @module
 */

// TensorFlow.js and its backends load on first use (lib/training/tfjs.ts), not with this module.
import { loadTfjsCpuBackend, loadTfjsWasmBackend, tf } from "../../training/tfjs.ts";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { BackendUnavailableError, ConfigError } from "../../errors.ts";
import { installWasmPatches } from "./wasm_patches.ts";

/** Every backend request {@link initBackend} accepts. */
export const BACKEND_REQUESTS = ["auto", "tensorflow", "webgpu", "wasm", "cpu"] as const;

/** A backend request: `auto` picks the fastest available one. */
export type BackendRequest = typeof BACKEND_REQUESTS[number];

/** A WebGPU adapter as Deno reports it. */
export interface GpuAdapterInfo {
  /** e.g. "NVIDIA GeForce RTX 4090" or "llvmpipe (LLVM 15.0.6, 256 bits)". */
  description: string;
  /** PCI vendor id or name, as the driver reports it. */
  vendor: string;
  /** Architecture, when the driver reports one. */
  architecture: string;
  /** Device id, when the driver reports one. */
  device: string;
  /** A software or fallback adapter (CPU rasterizer such as lavapipe), never chosen by `auto`. */
  fallback: boolean;
}

/** The backend in use and how it was chosen; stored with every run. */
export interface BackendInfo {
  /** What was asked for (argument, else `TFJS_BACKEND`, else `auto`). */
  requested: BackendRequest;
  /** tfjs backend name actually active: `tensorflow`, `webgpu`, `wasm` or `cpu`. */
  name: string;
  /** Why faster backends were skipped, e.g. "tensorflow: @tensorflow/tfjs-node not installed (...)". */
  fallbacks: string[];
  /** Kernel patches installed (wasm only). */
  patches: string[];
  /** tfjs-core version. */
  version: string;
  /** The WebGPU adapter found (used when `name` is `webgpu`; skipped by `auto` when it is a fallback adapter). */
  adapter?: GpuAdapterInfo;
}

let current: BackendInfo | undefined;

function parseRequest(value: string | undefined): BackendRequest {
  const v = (value ?? "auto").trim().toLowerCase() || "auto";
  if (!(BACKEND_REQUESTS as readonly string[]).includes(v)) {
    throw new ConfigError(`TFJS_BACKEND must be one of ${BACKEND_REQUESTS.join(", ")}; got ${JSON.stringify(value)}`);
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

/** navigator.gpu where the runtime has WebGPU (Deno does; typed loosely, the DOM lib's types vary by version). */
interface GpuLike {
  requestAdapter(o?: { powerPreference?: string }): Promise<
    | {
      info?: {
        vendor?: string;
        architecture?: string;
        device?: string;
        description?: string;
        isFallbackAdapter?: boolean;
      };
      isFallbackAdapter?: boolean;
    }
    | null
  >;
}

/**
 * The adapter tfjs-backend-webgpu will use (it asks for the high-performance one, as here), or why there is none.
 * Looking costs ~0.5 s the first time (the Vulkan/Metal driver loads), once per process.
 */
export async function probeGpuAdapter(): Promise<GpuAdapterInfo | string> {
  const gpu = (globalThis.navigator as unknown as { gpu?: GpuLike } | undefined)?.gpu;
  if (gpu === undefined) return "this runtime has no WebGPU (Deno: run with --unstable-webgpu)";
  try {
    const adapter = await gpu.requestAdapter({ powerPreference: "high-performance" });
    if (adapter === null) return "no WebGPU adapter (no GPU driver: Vulkan, Metal or Direct3D 12)";
    const i = adapter.info ?? {};
    return {
      description: i.description || "(no description)",
      vendor: i.vendor ?? "",
      architecture: i.architecture ?? "",
      device: i.device ?? "",
      fallback: Boolean(i.isFallbackAdapter ?? adapter.isFallbackAdapter),
    };
  } catch (e) {
    return `WebGPU adapter request failed (${(e as Error).message.split("\n")[0]})`;
  }
}

/**
 * On Linux, why no hardware GPU adapter can exist — no GPU device node (`/dev/dri/renderD*`, `/dev/nvidia*`, WSL's
 * `/dev/dxg`) — or undefined (other systems, nodes present, /dev unreadable). `auto` then skips asking WebGPU for an
 * adapter, which would load a Vulkan driver (~0.5 s and ~70 MB of resident memory) only to find a software one.
 */
function noGpuDevice(): string | undefined {
  if (Deno.build.os !== "linux") return undefined;
  try {
    const dri = (() => {
      try {
        return [...Deno.readDirSync("/dev/dri")].some((e) => e.name.startsWith("renderD"));
      } catch {
        return false;
      }
    })();
    if (dri) return undefined;
    for (const e of Deno.readDirSync("/dev")) if (e.name.startsWith("nvidia") || e.name === "dxg") return undefined;
    return "no GPU device node (/dev/dri/renderD*, /dev/nvidia*, /dev/dxg): no hardware adapter to look for";
  } catch {
    return undefined;
  }
}

/** Sets up the webgpu backend (the cpu backend too, which `predict` uses), or returns why it cannot be used. */
async function tryWebgpu(adapter: GpuAdapterInfo): Promise<string | undefined> {
  try {
    await import("@tensorflow/tfjs-backend-webgpu");
    if (!(await tf.setBackend("cpu"))) return "the cpu backend (used for predict) failed to initialize";
    if (await tf.setBackend("webgpu")) return undefined;
    return `setBackend('webgpu') returned false on ${adapter.description}`;
  } catch (e) {
    return `${adapter.description}: ${(e as Error).message.split("\n")[0]}`;
  }
}

async function tryWasm(): Promise<string[] | string> {
  try {
    const require = createRequire(import.meta.url);
    const pkgDir = dirname(require.resolve("@tensorflow/tfjs-backend-wasm/package.json"));
    const wasm = loadTfjsWasmBackend();
    wasm.setWasmPaths(join(pkgDir, "dist") + "/");
    wasm.setThreadsCount(1);
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
  loadTfjsCpuBackend(); // the fallback and `predict` backend, registered before any backend is chosen
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
  let adapter: GpuAdapterInfo | undefined;
  if (name === undefined && (req === "auto" || req === "webgpu")) {
    const probe = req === "auto" ? (noGpuDevice() ?? await probeGpuAdapter()) : await probeGpuAdapter();
    let why: string | undefined = typeof probe === "string" ? probe : undefined;
    if (typeof probe !== "string") {
      adapter = probe;
      if (req === "auto" && probe.fallback) {
        why = `only a software adapter (${probe.description}), slower than wasm; TFJS_BACKEND=webgpu uses it anyway`;
      } else why = await tryWebgpu(probe);
    }
    if (why === undefined) name = "webgpu";
    else if (req === "webgpu") {
      throw new BackendUnavailableError(
        `TFJS_BACKEND=webgpu but WebGPU cannot be used: ${why}. Use TFJS_BACKEND=wasm (or auto).`,
      );
    } else fallbacks.push(`webgpu: ${why}`);
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
  current = { requested: req, name, fallbacks, patches, version: tf.version_core, adapter };
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

/**
 * Runs `fn` where tensor values can be read synchronously: on the active backend, or — while WebGPU is active, which
 * cannot read synchronously under Deno — on the cpu backend, switched to for the duration of `fn` (initBackend sets
 * up the cpu backend next to webgpu, so the switch is immediate). Tensors `fn` uses that live on the GPU are moved
 * to the cpu backend, which needs their values cached on the host first: {@link cacheOnHost} after training.
 * Used by the synchronous parts of the Model contract (`predict`).
 */
export function withReadableBackend<T>(fn: () => T): T {
  const active = tf.getBackend();
  if (active !== "webgpu") return fn();
  const cpu = tf.findBackend("cpu");
  // setBackend switches synchronously when the backend is already initialized (its promise only reports success).
  void tf.setBackend("cpu");
  if (cpu === null || tf.backend() !== cpu) {
    throw new BackendUnavailableError("the cpu backend is not initialized next to webgpu: call initBackend first");
  }
  try {
    return fn();
  } finally {
    void tf.setBackend(active);
  }
}

/**
 * Reads the values of `tensors` once, asynchronously, so a backend that cannot read synchronously (WebGPU) keeps a
 * host copy and later synchronous reads and moves to the cpu backend succeed ({@link withReadableBackend}). A no-op
 * cost elsewhere (values are read and dropped).
 */
export async function cacheOnHost(tensors: tf.Tensor[]): Promise<void> {
  if (tf.getBackend() !== "webgpu") return;
  await Promise.all(tensors.map((t) => t.data()));
}
