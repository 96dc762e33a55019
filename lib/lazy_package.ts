/**
 * Deferred loading of heavy npm packages, so that `import "lib/mod.ts"` costs what the library's own modules cost and
 * a package is paid for only by the process that uses it.
 *
 * Why: evaluating TensorFlow.js, nodejs-polars, yaml or the `@stdlib` distributions (hundreds of small CommonJS
 * modules) took most of the 1.5 s an idle machine spent importing the library, whether or not a program used them.
 * Modules now import such packages as types only (`import type`) and reach the values through
 * {@link lazyPackage}/{@link lazyNamespace}: the package loads on first use, synchronously (through Node's
 * `createRequire`, which resolves bare specifiers through the import map like `import` does and returns the same module
 * instance an `import` of the package gets), so synchronous functions stay synchronous and no caller changes.
 * Packages only ever used from async code (vega, postgres) are loaded with a plain dynamic `import()` instead.
 *
 * A failure to load (a package missing from node_modules) surfaces at first use with the package's name, not at
 * import time.
 *
 * The other large cost of starting was Deno itself: with `"nodeModulesDir": "auto"` every process re-verified each of
 * the ~500 installed packages (about 15,000 file checks, 0.3–0.45 s) before running a line; deno.json sets `"manual"`,
 * and `deno install --frozen` (the set-up) fills node_modules.
 *
 * @module
 */

import { createRequire } from "node:module";

const require = createRequire(import.meta.url);

/**
 * A memoized value: `build` runs on the first call (not before), later calls return what it returned. The one helper
 * for deferring module-level work to first use — a package load, a polars expression, a schema — so that importing a
 * module costs nothing until a program needs the value.
 */
export function lazy<T>(build: () => T): () => T {
  let built = false;
  let value: T;
  return () => {
    if (!built) {
      value = build();
      built = true;
    }
    return value;
  };
}

/**
 * A memoized loader of the npm package `specifier` (a bare name from the import map, e.g. `"nodejs-polars"`): the first
 * call loads and evaluates the package (and runs `init` on it, once), later calls return the same module object.
 * The type parameter is the package's module type, e.g. `lazyPackage<typeof import("yaml")>("yaml")`.
 */
export function lazyPackage<T>(specifier: string, init?: (module: T) => void): () => T {
  return lazy(() => {
    const module = require(specifier) as T;
    init?.(module);
    return module;
  });
}

/**
 * A function standing for the function `load()` returns (a package whose export is one function, such as the
 * `@stdlib` distributions), loading it on the first call. Only calls are forwarded, not properties.
 */
export function lazyFunction<F extends (...args: never[]) => unknown>(load: () => F): F {
  return ((...args: Parameters<F>) => load()(...args)) as F;
}

/**
 * An object standing for the module `load()` returns, loading it on the first property read: `ns.fn(…)`,
 * `x instanceof ns.Class` and `ns.CONSTANT` behave as on the module itself. Lets a module keep writing `pl.col(…)` or
 * `tf.add(…)` against a package it no longer imports eagerly. Only property reads (and `in`) are forwarded: do not
 * enumerate, spread or mutate it.
 */
export function lazyNamespace<T extends object>(load: () => T): T {
  return new Proxy({} as T, {
    get: (_target, key) => Reflect.get(load(), key),
    has: (_target, key) => Reflect.has(load(), key),
  });
}
