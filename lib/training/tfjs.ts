/**
 * TensorFlow.js, loaded on first use. The neural models, the training loop and the kernels write
 * `import { tf } from "…/training/tfjs.ts"` instead of `import * as tf from "@tensorflow/tfjs-core"`: `tf` reads like
 * tfjs-core's namespace (`tf.add(…)`, `tf.tidy(…)`, `x instanceof tf.Variable`; in types `tf.Tensor`, `tf.Scalar`),
 * but TensorFlow.js (about a third of a second of module evaluation) loads only when a tensor is first made or a
 * backend chosen, not when the library is imported (see lib/lazy_package.ts).
 *
 * Loading it evaluates `@tensorflow/tfjs` first: tfjs-core's node bundle registers no gradients and its ESM gradient
 * modules do not resolve under Deno (extensionless imports), while the `@tensorflow/tfjs` bundle registers them all in
 * the global registry every tfjs module shares (with the cpu backend). Backends are chosen by lib/models/nn/backend.ts.
 *
 * Never call `tf` at module evaluation (it would load TensorFlow.js with the module); a test
 * (tests/validation/lazy_import_test.ts) checks that importing lib/mod.ts loads none of it.
 *
 * @module
 */

import type * as Core from "@tensorflow/tfjs-core";
// Types only (erased at run time): brings tfjs' chained tensor methods (`t.transpose()`, …) into the type program.
import type {} from "@tensorflow/tfjs";
import type * as BackendCpu from "@tensorflow/tfjs-backend-cpu";
import type * as BackendWasm from "@tensorflow/tfjs-backend-wasm";
import { lazyNamespace, lazyPackage } from "../lazy_package.ts";

const gradients = lazyPackage<unknown>("@tensorflow/tfjs");

/** Loads TensorFlow.js (gradients and the cpu backend registered) and returns tfjs-core's namespace. */
export const loadTfjs: () => typeof Core = lazyPackage<typeof Core>("@tensorflow/tfjs-core", () => gradients());

/** Loads the cpu backend package (registered with TensorFlow.js, which loads first) and returns its exports. */
export const loadTfjsCpuBackend: () => typeof BackendCpu = lazyPackage<typeof BackendCpu>(
  "@tensorflow/tfjs-backend-cpu",
  () => loadTfjs(),
);

/** Loads the wasm backend package (its kernels registered with TensorFlow.js, which loads first). */
export const loadTfjsWasmBackend: () => typeof BackendWasm = lazyPackage<typeof BackendWasm>(
  "@tensorflow/tfjs-backend-wasm",
  () => loadTfjs(),
);

/** tfjs-core's namespace, loaded on the first property read (module doc). */
export const tf: typeof Core = lazyNamespace(loadTfjs);

/** tfjs-core's types under the same name, so `tf.Tensor` reads as with the package itself. */
export declare namespace tf {
  /** A tensor of rank R. */
  export type Tensor<R extends Core.Rank = Core.Rank> = Core.Tensor<R>;
  /** A rank-0 tensor. */
  export type Scalar = Core.Scalar;
  /** A rank-1 tensor. */
  export type Tensor1D = Core.Tensor1D;
  /** A rank-2 tensor. */
  export type Tensor2D = Core.Tensor2D;
  /** A rank-3 tensor. */
  export type Tensor3D = Core.Tensor3D;
  /** A rank-4 tensor. */
  export type Tensor4D = Core.Tensor4D;
  /** A trainable tensor. */
  export type Variable<R extends Core.Rank = Core.Rank> = Core.Variable<R>;
  /** A backend's view of a tensor (kernels). */
  export type TensorInfo = Core.TensorInfo;
  /** A backend data handle (kernels). */
  export type DataId = Core.DataId;
  /** A custom gradient's save function. */
  export type GradSaveFunc = Core.GradSaveFunc;
  /** Values a backend holds. */
  export type BackendValues = Core.BackendValues;
  /** A kernel registration. */
  export type KernelConfig = Core.KernelConfig;
  /** A tensor's element type. */
  export type DataType = Core.DataType;
  /** A backend (kernels). */
  export type KernelBackend = Core.KernelBackend;
}
