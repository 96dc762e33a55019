/**
 * Student-t building blocks for the synthetic market: seeded sampling of unit-variance t innovations, and the
 * probability that a sum of two independent scaled t variables stays below a level (used to compute the best
 * achievable direction accuracy exactly instead of by simulation).
 *
 * Uniforms come from pure-rand (xoroshiro128+); normals, gammas and the t construction are written here because
 * pure-rand only provides uniforms: Box–Muller for normals, Marsaglia–Tsang (2000) for gammas, and
 * t = N / √(χ²_ν / ν) scaled by √((ν − 2) / ν) to unit variance. The t CDF is the finite closed form for an integer ν
 * up to {@link CLOSED_FORM_MAX_NU} (Abramowitz & Stegun 26.7.3–26.7.4: a few terms per value), else @stdlib's
 * regularized incomplete beta. Why both: the market's default ν = 6 needs about 60,000 CDF values (its table and
 * quadrature nodes); through @stdlib they took 0.27 s plus 0.17 s loading its modules — a tenth of the demo.
 *
 * @module
 */

import type { RandomGenerator } from "pure-rand/types/RandomGenerator";
import { uniformFloat64 } from "pure-rand/distribution/uniformFloat64";
import { tCdf } from "../distributions.ts";
import { ConfigError } from "../errors.ts";

/** Largest integer ν whose CDF uses the closed form (its series has ⌊ν / 2⌋ terms); larger or fractional ν use @stdlib. */
export const CLOSED_FORM_MAX_NU = 64;

/**
 * P(T ≤ t) for a standard (not unit-variance) Student-t with an integer `nu` ≥ 1 degrees of freedom, in closed form
 * (Abramowitz & Stegun 26.7.3 for odd ν, 26.7.4 for even ν): with θ = atan(t / √ν), A(t | ν) = P(|T| ≤ t) is
 * (2/π)·[θ + sin θ · Σ_{k=1}^{(ν−1)/2} c_k cos^{2k−1} θ] for odd ν (c_1 = 1, c_{k+1} = c_k · 2k / (2k + 1)) and
 * sin θ · Σ_{k=0}^{ν/2−1} d_k cos^{2k} θ for even ν (d_0 = 1, d_{k+1} = d_k · (2k + 1) / (2k + 2)); A is odd in t, and
 * P(T ≤ t) = (1 + A) / 2. Exported for the tests, which check it against @stdlib.
 */
export function integerTCdf(t: number, nu: number): number {
  if (Number.isNaN(t)) return NaN;
  if (t === Infinity) return 1;
  if (t === -Infinity) return 0;
  const theta = Math.atan(t / Math.sqrt(nu));
  const sin = Math.sin(theta), cos = Math.cos(theta), cos2 = cos * cos;
  let a: number;
  if (nu % 2 === 1) {
    let sum = 0, term = cos; // c_1 cos θ
    for (let k = 1; 2 * k + 1 <= nu; k++) {
      sum += term;
      term *= cos2 * (2 * k) / (2 * k + 1);
    }
    a = (2 / Math.PI) * (theta + sin * sum);
  } else {
    let sum = 0, term = 1; // d_0
    for (let k = 0; 2 * k + 2 <= nu; k++) {
      sum += term;
      term *= cos2 * (2 * k + 1) / (2 * k + 2);
    }
    a = sin * sum;
  }
  return 0.5 + 0.5 * a;
}

/** A stateful source of seeded variates drawn from one pure-rand generator. */
export class Variates {
  #rng: RandomGenerator;
  #spareNormal: number | undefined;

  constructor(rng: RandomGenerator) {
    this.#rng = rng;
  }

  /** Uniform on [0, 1). */
  uniform(): number {
    return uniformFloat64(this.#rng);
  }

  /** Standard normal (Box–Muller; the second variate of each pair is kept for the next call). */
  normal(): number {
    if (this.#spareNormal !== undefined) {
      const z = this.#spareNormal;
      this.#spareNormal = undefined;
      return z;
    }
    const u1 = 1 - this.uniform(); // (0, 1]: log is finite
    const u2 = this.uniform();
    const r = Math.sqrt(-2 * Math.log(u1));
    this.#spareNormal = r * Math.sin(2 * Math.PI * u2);
    return r * Math.cos(2 * Math.PI * u2);
  }

  /** Gamma(shape, 1) for shape ≥ 1 (Marsaglia & Tsang, ACM TOMS 26(3), 2000). */
  gamma(shape: number): number {
    const d = shape - 1 / 3;
    const c = 1 / Math.sqrt(9 * d);
    for (;;) {
      let x: number;
      let v: number;
      do {
        x = this.normal();
        v = 1 + c * x;
      } while (v <= 0);
      v = v * v * v;
      const u = this.uniform();
      if (u < 1 - 0.0331 * x * x * x * x) return d * v;
      if (Math.log(u) < 0.5 * x * x + d * (1 - v + Math.log(v))) return d * v;
    }
  }

  /** Student-t with `nu` > 2 degrees of freedom, scaled to unit variance. */
  studentT(nu: number): number {
    const chi2 = 2 * this.gamma(nu / 2);
    return this.normal() / Math.sqrt(chi2 / nu) * Math.sqrt((nu - 2) / nu);
  }
}

/**
 * The CDF of a unit-variance Student-t with `nu` degrees of freedom, tabulated on a fine grid for fast repeated
 * evaluation (linear interpolation; absolute error below 1e-6 for nu ≥ 3), with its quantiles at the midpoints of
 * `nodes` equal-probability cells (for integrating over a t variable).
 */
export class UnitStudentT {
  readonly nu: number;
  readonly scale: number;
  static readonly #cache = new Map<number, UnitStudentT>();
  #table: Float64Array;
  static readonly LIMIT = 40;
  static readonly STEP = 0.002;
  #nodes: Float64Array | undefined;

  private constructor(nu: number) {
    if (!(nu > 2)) throw new ConfigError(`Student-t degrees of freedom must be > 2 for a finite variance, got ${nu}`);
    this.nu = nu;
    this.scale = Math.sqrt((nu - 2) / nu);
    const n = Math.round((2 * UnitStudentT.LIMIT) / UnitStudentT.STEP) + 1;
    this.#table = new Float64Array(n);
    for (let i = 0; i < n; i++) this.#table[i] = this.exactCdf(-UnitStudentT.LIMIT + i * UnitStudentT.STEP);
  }

  /** The (cached) unit-variance t with `nu` degrees of freedom. */
  static of(nu: number): UnitStudentT {
    let d = UnitStudentT.#cache.get(nu);
    if (d === undefined) {
      d = new UnitStudentT(nu);
      UnitStudentT.#cache.set(nu, d);
    }
    return d;
  }

  /** P(Z ≤ x) (Z unit-variance t): the closed form for an integer ν ≤ {@link CLOSED_FORM_MAX_NU}, else @stdlib's. */
  exactCdf(x: number): number {
    const nu = this.nu;
    return Number.isInteger(nu) && nu <= CLOSED_FORM_MAX_NU
      ? integerTCdf(x / this.scale, nu)
      : tCdf(x / this.scale, nu);
  }

  /** P(Z ≤ x), interpolated from the table. */
  cdf(x: number): number {
    const pos = (x + UnitStudentT.LIMIT) / UnitStudentT.STEP;
    if (pos <= 0) return 0;
    const table = this.#table;
    if (pos >= table.length - 1) return 1;
    const i = Math.floor(pos);
    const w = pos - i;
    return table[i] + w * (table[i + 1] - table[i]);
  }

  /** Quantile by bisection on the exact CDF. */
  quantile(p: number): number {
    let lo = -1e3;
    let hi = 1e3;
    for (let k = 0; k < 100 && hi - lo > 1e-12; k++) {
      const mid = (lo + hi) / 2;
      if (this.exactCdf(mid) < p) lo = mid;
      else hi = mid;
    }
    return (lo + hi) / 2;
  }

  /** Quantiles at (j − ½)/M, j = 1..M, M = 512: nodes of an equal-weight quadrature over Z. */
  nodes(): Float64Array {
    if (this.#nodes === undefined) {
      const m = 512;
      const q = new Float64Array(m);
      for (let j = 0; j < m / 2; j++) {
        q[j] = this.quantile((j + 0.5) / m);
        q[m - 1 - j] = -q[j]; // symmetric
      }
      this.#nodes = q;
    }
    return this.#nodes;
  }

  /**
   * P(a·Z₁ + b·Z₂ < c) for independent unit-variance t variables Z₁, Z₂ (both with this `nu`), a ≥ 0, b > 0:
   * E over Z₁ of F((c − a·Z₁) / b), integrated with 512 equal-probability nodes (midpoint rule in probability
   * space; the integrand is bounded and monotone, absolute error ≈ 1e-5).
   */
  probSumBelow(a: number, b: number, c: number): number {
    if (a === 0) return this.cdf(c / b);
    const q = this.nodes();
    // `cdf` inlined, with the table position linear in the node (one multiply-add instead of two divisions; equal to
    // the divided form up to rounding): this loop runs 512 times per symbol and day of a synthetic market (25 M times
    // for the default one), and took 0.13 s of it in the divided form, 0.08 s in this one.
    const table = this.#table, last = table.length - 1, limit = UnitStudentT.LIMIT, step = UnitStudentT.STEP;
    const base = (c / b + limit) / step, slope = a / b / step;
    let s = 0;
    for (let j = 0; j < q.length; j++) {
      const pos = base - slope * q[j];
      if (pos <= 0) continue;
      if (pos >= last) {
        s += 1;
        continue;
      }
      const i = pos | 0; // floor: 0 < pos < 2³¹
      const lo = table[i];
      s += lo + (pos - i) * (table[i + 1] - lo);
    }
    return s / q.length;
  }
}
