/**
 * The probability distributions candor's intervals and p-values use, from `@stdlib` (accurate in the tails): the
 * Student-t CDF and quantile, the normal CDF and quantile, the binomial CDF and PMF — with `@stdlib`'s own signatures
 * (`tCdf(x, ν)`, `normalQuantile(p, μ, σ)`, `binomialCdf(k, n, p)`, …).
 *
 * They come from lib/vendor/stdlib_distributions.cjs, the six packages (versions pinned in deno.json) bundled verbatim
 * into one file by tools/bundle_distributions.ts, and load on first use. Why a bundle: each package is hundreds of
 * small CommonJS modules, and resolving them one `require` at a time (a `stat` and a `realpath` each) cost every
 * process that computed an interval 0.25–0.4 s, about a tenth of the demo; the bundle loads in 25–50 ms. A test
 * checks each function against the package itself; `deno task check` checks the bundle is what the tool builds.
 *
 * @module
 */

import type BinomialCdf from "@stdlib/stats-base-dists-binomial-cdf";
import type BinomialPmf from "@stdlib/stats-base-dists-binomial-pmf";
import type NormalCdf from "@stdlib/stats-base-dists-normal-cdf";
import type NormalQuantile from "@stdlib/stats-base-dists-normal-quantile";
import type TCdf from "@stdlib/stats-base-dists-t-cdf";
import type TQuantile from "@stdlib/stats-base-dists-t-quantile";
import { createRequire } from "node:module";
import { lazy, lazyFunction } from "./lazy_package.ts";

interface Bundle {
  tCdf: typeof TCdf;
  tQuantile: typeof TQuantile;
  normalCdf: typeof NormalCdf;
  normalQuantile: typeof NormalQuantile;
  binomialCdf: typeof BinomialCdf;
  binomialPmf: typeof BinomialPmf;
}

const bundle = lazy(() => createRequire(import.meta.url)("./vendor/stdlib_distributions.cjs") as Bundle);

/** P(T ≤ x) for Student's t with ν degrees of freedom. */
export const tCdf: (x: number, v: number) => number = lazyFunction(() => bundle().tCdf);
/** The p-quantile of Student's t with ν degrees of freedom. */
export const tQuantile: (p: number, v: number) => number = lazyFunction(() => bundle().tQuantile);
/** P(X ≤ x) for a normal distribution with mean μ and standard deviation σ. */
export const normalCdf: (x: number, mu: number, sigma: number) => number = lazyFunction(() => bundle().normalCdf);
/** The p-quantile of a normal distribution with mean μ and standard deviation σ. */
export const normalQuantile: (p: number, mu: number, sigma: number) => number = lazyFunction(() =>
  bundle().normalQuantile
);
/** P(K ≤ k) for a binomial distribution of n trials with success probability p. */
export const binomialCdf: (k: number, n: number, p: number) => number = lazyFunction(() => bundle().binomialCdf);
/** P(K = k) for a binomial distribution of n trials with success probability p. */
export const binomialPmf: (k: number, n: number, p: number) => number = lazyFunction(() => bundle().binomialPmf);
