/**
 * nodejs-polars, loaded on first use. Every module of the library that works on frames writes
 * `import { pl } from "…/data/polars.ts"` instead of `import pl from "nodejs-polars"`: `pl` reads exactly like the
 * package's default export (`pl.col(…)`, `pl.DataFrame`, `pl.Float64`; in types `pl.Expr`, `pl.DataFrame`), but the
 * native library (~0.2 s and ~100 MB mapped) loads only when a frame is first built or an expression first written,
 * not when the library is imported (see lib/lazy_package.ts).
 *
 * Consequence for module authors: never call `pl` at module evaluation (a top-level `const X = pl.col("x")` would load
 * polars with the module); build expressions inside functions or on first use — a feature definition made at module
 * evaluation (BASE_FEATURES) builds its expression on the first read of `expr` (`lazy` of lib/lazy_package.ts).
 *
 * @module
 */

import type Polars from "nodejs-polars";
import type { DataType as PolarsDataType } from "nodejs-polars";
import { lazyNamespace, lazyPackage } from "../lazy_package.ts";

/** nodejs-polars' default export, loaded on the first property read (module doc). */
export const pl: typeof Polars = lazyNamespace(lazyPackage<typeof Polars>("nodejs-polars"));

/** The package's types under the same name, so `pl.Expr` and `pl.DataFrame` read as with the package itself. */
export declare namespace pl {
  /** A polars expression. */
  export type Expr = Polars.Expr;
  /** An eager polars frame. */
  export type DataFrame = Polars.DataFrame;
  /** A polars column. */
  export type Series = Polars.Series;
  /** A polars data type. */
  export type DataType = PolarsDataType;
}
