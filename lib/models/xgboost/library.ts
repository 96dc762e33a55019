/**
 * Finding and opening XGBoost's C library (`libxgboost`) through `Deno.dlopen`, and the thin, checked layer over its
 * C API that the rest of lib/models/xgboost uses.
 *
 * Discovery: when `XGBOOST_LIBRARY_PATH` is set (a file path: a CUDA build or a pip wheel's
 * `xgboost/lib/libxgboost.so`) only that file is tried, so an explicit choice is never silently replaced. Otherwise,
 * first that opens wins:
 * 1. Debian's `libxgboost.so.0` (package `libxgboost0`) via the dynamic loader's search path;
 * 2. `libxgboost.so` via the loader, then the copy shipped inside a pip wheel of Python's `xgboost` in the
 *    `site-packages` / `dist-packages` folders of `lib/python3*` under: the active virtualenv (`$VIRTUAL_ENV`), the
 *    active conda environment (`$CONDA_PREFIX`), `/usr/local/lib`, `/usr/lib` and `~/.local/lib`. Other virtualenvs
 *    are not searched: activate the one holding xgboost, or set `XGBOOST_LIBRARY_PATH`.
 *
 * When none opens, {@link openXGBoost} throws `BackendUnavailableError` with the install command. The library is
 * opened once per process and never closed (closing it while a booster is alive would crash).
 *
 * Every C call returns 0 on success; {@link XGBoostLibrary.check} turns a non-zero code into an `XGBoostError`
 * carrying `XGBGetLastError()`'s text. Calls are synchronous on the calling thread because XGBoost keeps its last
 * error and its prediction buffers in thread-local storage.
 *
 * @module
 */

import { BackendUnavailableError, CandorError } from "../../errors.ts";

/** The C functions candor binds, in `Deno.dlopen`'s notation. */
export const XGBOOST_SYMBOLS = {
  XGBoostVersion: { parameters: ["buffer", "buffer", "buffer"], result: "void" },
  XGBGetLastError: { parameters: [], result: "pointer" },
  XGBuildInfo: { parameters: ["buffer"], result: "i32" },
  XGBGetGlobalConfig: { parameters: ["buffer"], result: "i32" },
  XGDMatrixCreateFromDense: { parameters: ["buffer", "buffer", "buffer"], result: "i32" },
  XGDMatrixFree: { parameters: ["pointer"], result: "i32" },
  XGDMatrixSetFloatInfo: { parameters: ["pointer", "buffer", "buffer", "u64"], result: "i32" },
  XGDMatrixNumRow: { parameters: ["pointer", "buffer"], result: "i32" },
  // QuantileDMatrix (XGBoost ≥ 1.7): optional, so an older library still opens and training falls back to DMatrix.
  XGProxyDMatrixCreate: { parameters: ["buffer"], result: "i32", optional: true },
  XGProxyDMatrixSetDataDense: { parameters: ["pointer", "buffer"], result: "i32", optional: true },
  XGQuantileDMatrixCreateFromCallback: {
    parameters: ["pointer", "pointer", "pointer", "function", "function", "buffer", "buffer"],
    result: "i32",
    optional: true,
  },
  XGBoosterCreate: { parameters: ["buffer", "u64", "buffer"], result: "i32" },
  XGBoosterFree: { parameters: ["pointer"], result: "i32" },
  XGBoosterSetParam: { parameters: ["pointer", "buffer", "buffer"], result: "i32" },
  XGBoosterUpdateOneIter: { parameters: ["pointer", "i32", "pointer"], result: "i32" },
  XGBoosterEvalOneIter: { parameters: ["pointer", "i32", "buffer", "buffer", "u64", "buffer"], result: "i32" },
  XGBoosterPredictFromDMatrix: {
    parameters: ["pointer", "pointer", "buffer", "buffer", "buffer", "buffer"],
    result: "i32",
  },
  XGBoosterPredictFromDense: {
    parameters: ["pointer", "buffer", "buffer", "pointer", "buffer", "buffer", "buffer"],
    result: "i32",
  },
  XGBoosterSlice: { parameters: ["pointer", "i32", "i32", "i32", "buffer"], result: "i32" },
  XGBoosterBoostedRounds: { parameters: ["pointer", "buffer"], result: "i32" },
  XGBoosterGetNumFeature: { parameters: ["pointer", "buffer"], result: "i32" },
  XGBoosterSaveModelToBuffer: { parameters: ["pointer", "buffer", "buffer", "buffer"], result: "i32" },
  XGBoosterLoadModelFromBuffer: { parameters: ["pointer", "buffer", "u64"], result: "i32" },
  XGBoosterSerializeToBuffer: { parameters: ["pointer", "buffer", "buffer"], result: "i32" },
  XGBoosterUnserializeFromBuffer: { parameters: ["pointer", "buffer", "u64"], result: "i32" },
  XGBoosterSaveJsonConfig: { parameters: ["pointer", "buffer", "buffer"], result: "i32" },
  XGBoosterSetAttr: { parameters: ["pointer", "buffer", "buffer"], result: "i32" },
  XGBoosterGetAttr: { parameters: ["pointer", "buffer", "buffer", "buffer"], result: "i32" },
  XGBoosterSetStrFeatureInfo: { parameters: ["pointer", "buffer", "buffer", "u64"], result: "i32" },
  XGBoosterFeatureScore: {
    parameters: ["pointer", "buffer", "buffer", "buffer", "buffer", "buffer", "buffer"],
    result: "i32",
  },
} as const satisfies Deno.ForeignLibraryInterface;

/** The raw symbols of the opened library. */
export type XGBoostSymbols = Deno.DynamicLibrary<typeof XGBOOST_SYMBOLS>["symbols"];

/** A failed XGBoost C call; the message is XGBoost's own (`XGBGetLastError`) prefixed by the call's name. */
export class XGBoostError extends CandorError {}

/** Install hint shown when no library can be opened. */
export const XGBOOST_INSTALL_HINT: string =
  "install XGBoost's C library: `sudo apt-get install libxgboost0` (Debian/Ubuntu), or `pip install xgboost` and " +
  "point XGBOOST_LIBRARY_PATH at the wheel's xgboost/lib/libxgboost.so";

/** The opened library: its symbols, version, build information and where it was found. */
export interface XGBoostLibrary {
  /** The C functions candor binds (`Deno.dlopen` symbols). */
  symbols: XGBoostSymbols;
  /** The path or soname that opened. */
  path: string;
  /** `[major, minor, patch]` as reported by `XGBoostVersion`. */
  version: [number, number, number];
  /** `XGBuildInfo()` parsed (e.g. `USE_CUDA`, `USE_OPENMP`). */
  buildInfo: Record<string, unknown>;
  /** Throws `XGBoostError` with XGBoost's last error when `code` is non-zero. */
  check(code: number, call: string): void;
  /**
   * The OpenMP wait policy the library was loaded with (`OMP_WAIT_POLICY`, read by OpenMP once, when the library
   * loads): `PASSIVE` unless the environment said otherwise.
   */
  waitPolicy: string;
}

/** OpenMP wait policies. */
export type WaitPolicy = "passive" | "active";

let cached: XGBoostLibrary | undefined;

function exists(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}

/**
 * Paths tried, in order (see the module doc): only `XGBOOST_LIBRARY_PATH` when it is set; otherwise the loader's
 * sonames, then every pip-wheel location that exists on disk. Reads the environment on each call.
 */
export function libraryCandidates(): string[] {
  const env = Deno.env.get("XGBOOST_LIBRARY_PATH");
  if (env) return [env]; // an explicit choice is never silently replaced by another copy
  const out: string[] = [];
  out.push("libxgboost.so.0", "libxgboost.so");
  const home = Deno.env.get("HOME");
  const envRoots = ["VIRTUAL_ENV", "CONDA_PREFIX"].map((k) => Deno.env.get(k)).filter((v): v is string => !!v);
  const roots = [
    ...envRoots.map((r) => `${r}/lib`),
    "/usr/local/lib",
    "/usr/lib",
    ...(home ? [`${home}/.local/lib`] : []),
  ];
  for (const root of roots) {
    let entries: Deno.DirEntry[] = [];
    try {
      entries = [...Deno.readDirSync(root)];
    } catch {
      continue;
    }
    for (const e of entries) {
      if (/^python3(\.\d+)?$/.test(e.name)) {
        for (const site of ["site-packages", "dist-packages"]) {
          const path = `${root}/${e.name}/${site}/xgboost/lib/libxgboost.so`;
          if (exists(path) && !out.includes(path)) out.push(path);
        }
      }
    }
  }
  return out;
}

/**
 * Opens XGBoost's C library once per process (see the module doc for the search order).
 *
 * OpenMP's wait policy is set before the library loads, because OpenMP reads `OMP_WAIT_POLICY` only then: `passive`
 * (the default) puts idle worker threads to sleep. With the `active` policy (OpenMP's default) they spin while waiting
 * for work, and on a machine where another process keeps the cores busy a 2-second training took up to 100 s
 * (measured: the demo 1.75–104 s with spinning threads, 2.3–3.2 s passive). An `OMP_WAIT_POLICY` already in the
 * environment wins over `waitPolicy`; the policy in force is reported in {@link XGBoostLibrary.waitPolicy}.
 *
 * @throws BackendUnavailableError naming every path tried and how to install the library.
 */
export function openXGBoost(opts: { waitPolicy?: WaitPolicy } = {}): XGBoostLibrary {
  if (cached) return cached;
  if ((Deno.env.get("OMP_WAIT_POLICY") ?? "") === "") {
    Deno.env.set("OMP_WAIT_POLICY", (opts.waitPolicy ?? "passive").toUpperCase());
  }
  const waitPolicy = Deno.env.get("OMP_WAIT_POLICY")!;
  const tried: string[] = [];
  for (const path of libraryCandidates()) {
    let lib: Deno.DynamicLibrary<typeof XGBOOST_SYMBOLS>;
    try {
      lib = Deno.dlopen(path, XGBOOST_SYMBOLS);
    } catch (e) {
      tried.push(`${path} (${e instanceof Error ? e.message.split("\n")[0] : String(e)})`);
      continue;
    }
    const s = lib.symbols;
    const v = new Int32Array(3);
    s.XGBoostVersion(v.subarray(0, 1), v.subarray(1, 2), v.subarray(2, 3));
    const check = (code: number, call: string) => {
      if (code !== 0) {
        const p = s.XGBGetLastError();
        const msg = p ? Deno.UnsafePointerView.getCString(p) : "unknown error";
        throw new XGBoostError(`${call} failed: ${msg}`);
      }
    };
    const out = new BigUint64Array(1);
    let buildInfo: Record<string, unknown> = {};
    if (s.XGBuildInfo(out) === 0) buildInfo = JSON.parse(readCString(out[0]));
    cached = { symbols: s, path, version: [v[0], v[1], v[2]], buildInfo, check, waitPolicy };
    return cached;
  }
  throw new BackendUnavailableError(
    `XGBoost's C library was not found (tried: ${tried.join("; ")}); ${XGBOOST_INSTALL_HINT}`,
  );
}

/** Version string of the opened library, e.g. "1.7.4". */
export function xgboostVersion(): string {
  return openXGBoost().version.join(".");
}

const encoder = new TextEncoder();

/** A NUL-terminated UTF-8 copy of `s` for passing as `const char*`. */
export function cString(s: string): Uint8Array<ArrayBuffer> {
  const bytes = encoder.encode(s);
  const out = new Uint8Array(bytes.length + 1);
  out.set(bytes);
  return out;
}

/** Reads a NUL-terminated string at a raw address (as returned through a `char**` out-parameter). */
export function readCString(address: bigint): string {
  const p = Deno.UnsafePointer.create(address);
  return p ? Deno.UnsafePointerView.getCString(p) : "";
}

/** A pointer from an address written into an out-parameter; throws when XGBoost returned NULL. */
export function pointerFrom(address: bigint, what: string): Deno.PointerObject {
  const p = Deno.UnsafePointer.create(address);
  if (!p) throw new XGBoostError(`${what}: XGBoost returned a null handle`);
  return p;
}

/** Address of a typed array's first element, for `__array_interface__`-style JSON. */
export function addressOf(a: Float32Array): bigint {
  const p = Deno.UnsafePointer.of(a as Float32Array<ArrayBuffer>);
  return p ? Deno.UnsafePointer.value(p) : 0n;
}

/**
 * Copies `count` float32 values at `address` into a new Float32Array, or into `into` (of that length) when given
 * (XGBoost owns the source buffer).
 */
export function copyFloats(address: bigint, count: number, into?: Float32Array): Float32Array {
  if (into !== undefined && into.length !== count) {
    throw new XGBoostError(`XGBoost returned ${count} values for ${into.length} places`);
  }
  if (count === 0) return into ?? new Float32Array(0);
  const p = pointerFrom(address, "result buffer");
  const view = Deno.UnsafePointerView.getArrayBuffer(p, count * 4);
  if (into === undefined) return new Float32Array(view.slice(0));
  into.set(new Float32Array(view));
  return into;
}

/** Copies `count` uint64 values at `address` (shapes) into numbers. */
export function copyShape(address: bigint, count: number): number[] {
  if (count === 0) return [];
  const p = pointerFrom(address, "shape buffer");
  return Array.from(new BigUint64Array(Deno.UnsafePointerView.getArrayBuffer(p, count * 8)), Number);
}

/** Reads `count` C strings from a `char**` array at `address`. */
export function copyStrings(address: bigint, count: number): string[] {
  if (count === 0) return [];
  const p = pointerFrom(address, "string array");
  const ptrs = new BigUint64Array(Deno.UnsafePointerView.getArrayBuffer(p, count * 8));
  return Array.from(ptrs, readCString);
}

/** Builds a `const char**` array for `strings`; keep the returned `keep` alive for the duration of the call. */
export function cStringArray(strings: string[]): { array: BigUint64Array<ArrayBuffer>; keep: Uint8Array[] } {
  const keep = strings.map(cString);
  const array = new BigUint64Array(strings.length);
  keep.forEach((b, i) => {
    const p = Deno.UnsafePointer.of(b as Uint8Array<ArrayBuffer>);
    array[i] = p ? Deno.UnsafePointer.value(p) : 0n;
  });
  return { array, keep };
}
