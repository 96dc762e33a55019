/**
 * Linear models behind the Model contract: ElasticNet (coordinate descent, optional non-negative coefficients),
 * ridge regression (closed form) and L2-regularized logistic regression (Newton's method).
 *
 * Objectives are scikit-learn's, so its fitted coefficients are the reference (tests compare against fixtures from
 * bench/reference/linear_fixtures.py):
 * - ElasticNet: `1/(2·Σw) · Σ wᵢ (yᵢ − xᵢ·β − b)² + α·ρ·‖β‖₁ + ½·α·(1−ρ)·‖β‖²` with `ρ = l1Ratio`; `positive`
 *   constrains β ≥ 0 (the default meta-learner of stacking: weights on base models that cannot go negative).
 * - Ridge: `Σ wᵢ (yᵢ − xᵢ·β − b)² + α·‖β‖²`.
 * - Logistic: `C · Σ wᵢ · logloss(yᵢ, σ(xᵢ·β + b)) + ½·‖β‖²`, labels in {0, 1}; `predict` returns P(y = 1).
 * The intercept is never penalized (fitted by weighted centering, or as an unpenalized Newton coordinate).
 *
 * Features are used as given: scale them first when their units differ (the penalties are not scale-free). NaN
 * features are refused with a ConfigError: linear models have no notion of a missing value.
 *
 * Hand-written: coordinate descent with `positive` and sample weights is not in any maintained npm package (docs/design.md
 * §4); the linear solves use ml-matrix.
 *
 * Files: `save(path)` writes one JSON file `{ kind, options, coef, intercept, columns }`; `load` of the matching class
 * (or {@link loadLinearModel}) reads it back with identical predictions.
 *
 * @module
 */

import type * as MlMatrixModule from "ml-matrix";
import type { Matrix as MlMatrix } from "ml-matrix";
import { assertMatrix, type Matrix } from "../../data/matrix.ts";
import { ConfigError } from "../../errors.ts";
import type { FitOptions, FitReport, Model, Target } from "../model.ts";
import { lazyNamespace, lazyPackage } from "../../lazy_package.ts";

/** ml-matrix, loaded on first use (lib/lazy_package.ts). */
const ml: typeof MlMatrixModule = lazyNamespace(lazyPackage<typeof MlMatrixModule>("ml-matrix"));

/** What every fitted linear model stores. */
export interface LinearFit {
  /** One coefficient per input column. */
  coef: Float64Array;
  /** Intercept (0 without `fitIntercept`). */
  intercept: number;
  /** Column names seen at fit time, when the matrix had them. */
  columns?: string[];
}

interface Design {
  /** Column-major copy, centered when an intercept is fitted. */
  cols: Float64Array[];
  means: Float64Array;
  y: Float64Array;
  yMean: number;
  w: Float64Array;
  wSum: number;
}

/** Checks the shapes, sample weights and targets of a fit; the weights (1 when none are given) and their sum. */
function weightsOf(X: Matrix, y: Target, sampleWeight: ArrayLike<number> | undefined, what: string) {
  assertMatrix(X, `${what} X`);
  if (y.length !== X.rows) throw new ConfigError(`${what}: ${y.length} targets for ${X.rows} rows`);
  if (X.rows === 0) throw new ConfigError(`${what}: no training rows`);
  if (sampleWeight && sampleWeight.length !== X.rows) {
    throw new ConfigError(`${what}: ${sampleWeight.length} sample weights for ${X.rows} rows`);
  }
  const n = X.rows;
  const w = new Float64Array(n);
  let wSum = 0;
  for (let i = 0; i < n; i++) {
    const wi = sampleWeight ? sampleWeight[i] : 1;
    if (!(wi >= 0) || !Number.isFinite(wi)) throw new ConfigError(`${what}: sample weight ${wi} at row ${i}`);
    if (!Number.isFinite(y[i])) throw new ConfigError(`${what}: target ${y[i]} at row ${i}`);
    w[i] = wi;
    wSum += wi;
  }
  if (!(wSum > 0)) throw new ConfigError(`${what}: sample weights sum to zero`);
  return { w, wSum };
}

/** The refusal of a non-finite feature value at (row i, column j). */
function nonFiniteFeature(X: Matrix, i: number, j: number, what: string): ConfigError {
  return new ConfigError(
    `${what}: feature ${X.columns?.[j] ?? j} is ${X.data[i * X.cols + j]} at row ${i}; impute or drop it first`,
  );
}

/** Refuses a non-finite feature as {@link design} does (column by column), for fits that read X in place. */
function assertFiniteFeatures(X: Matrix, what: string): void {
  const n = X.rows, p = X.cols;
  for (let j = 0; j < p; j++) {
    for (let i = 0; i < n; i++) if (!Number.isFinite(X.data[i * p + j])) throw nonFiniteFeature(X, i, j, what);
  }
}

function design(X: Matrix, y: Target, sampleWeight: ArrayLike<number> | undefined, center: boolean, what: string) {
  const { w, wSum } = weightsOf(X, y, sampleWeight, what);
  const n = X.rows, p = X.cols;
  const cols: Float64Array[] = [];
  const means = new Float64Array(p);
  for (let j = 0; j < p; j++) {
    const c = new Float64Array(n);
    let m = 0;
    for (let i = 0; i < n; i++) {
      const v = X.data[i * p + j];
      if (!Number.isFinite(v)) throw nonFiniteFeature(X, i, j, what);
      c[i] = v;
      m += w[i] * v;
    }
    m = center ? m / wSum : 0;
    means[j] = m;
    if (center) { for (let i = 0; i < n; i++) c[i] -= m; }
    cols.push(c);
  }
  const yy = Float64Array.from(y);
  let yMean = 0;
  if (center) {
    for (let i = 0; i < n; i++) yMean += w[i] * yy[i];
    yMean /= wSum;
    for (let i = 0; i < n; i++) yy[i] -= yMean;
  }
  return { cols, means, y: yy, yMean, w, wSum } satisfies Design;
}

/** `X·coef + intercept` for every row. */
export function linearPredict(fit: LinearFit, X: Matrix, what: string): Float64Array {
  assertMatrix(X, `${what} X`);
  if (X.cols !== fit.coef.length) {
    throw new ConfigError(`${what}: X has ${X.cols} columns, the model was fitted on ${fit.coef.length}`);
  }
  const out = new Float64Array(X.rows);
  const p = X.cols;
  for (let i = 0; i < X.rows; i++) {
    let s = fit.intercept;
    for (let j = 0; j < p; j++) s += fit.coef[j] * X.data[i * p + j];
    out[i] = s;
  }
  return out;
}

/** The JSON file a linear model's `save` writes. */
export interface SavedLinear {
  /** "elasticnet", "ridge" or "logistic". */
  kind: string;
  /** Constructor options, defaults resolved. */
  options: Record<string, unknown>;
  /** One coefficient per input column. */
  coef: number[];
  /** Intercept. */
  intercept: number;
  /** Column names seen at fit time, when the matrix had them. */
  columns?: string[];
}

/** Shared behaviour of the linear models: prediction, save, describe; subclasses implement the fit. */
export abstract class LinearModelBase<O extends object> implements Model {
  /** Model kind in reports and saved files. */
  abstract readonly kind: string;
  /** The options, defaults resolved. */
  readonly options: O;
  /** The fitted coefficients, once fitted or restored. */
  protected fitted: LinearFit | null = null;

  /** Stores the (already validated) options. */
  constructor(options: O) {
    this.options = options;
  }

  /** Fits synchronously; errors are thrown. */
  protected abstract fitNow(X: Matrix, y: Target, opts: FitOptions): FitReport;

  /** Fits the model on `X`, `y` (`opts.sampleWeight` weights rows; `opts.validation` is not used). */
  fit(X: Matrix, y: Target, opts: FitOptions = {}): Promise<FitReport> {
    try {
      return Promise.resolve(this.fitNow(X, y, opts));
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /** Coefficients (one per column) and intercept; throws before `fit`. */
  get coefficients(): LinearFit {
    if (!this.fitted) throw new ConfigError(`${this.kind}: call fit() or load() first`);
    return this.fitted;
  }

  /** Linear predictor for each row (logistic regression overrides this with P(y = 1)). */
  predict(X: Matrix): Float64Array {
    return linearPredict(this.coefficients, X, `${this.kind}.predict`);
  }

  /** Writes `{ kind, options, coef, intercept, columns }` as JSON to the file `path`. */
  async save(path: string): Promise<void> {
    const f = this.coefficients;
    const saved: SavedLinear = {
      kind: this.kind,
      options: this.options as Record<string, unknown>,
      coef: Array.from(f.coef),
      intercept: f.intercept,
      ...(f.columns ? { columns: f.columns } : {}),
    };
    await Deno.writeTextFile(path, JSON.stringify(saved));
  }

  /** Kind, options and (after fit) coefficients. */
  describe(): Record<string, unknown> {
    return {
      kind: this.kind,
      ...this.options,
      ...(this.fitted
        ? { coef: Array.from(this.fitted.coef), intercept: this.fitted.intercept, columns: this.fitted.columns }
        : {}),
    };
  }

  /** Nothing native to free; present for symmetry with the other models. */
  dispose(): void {}

  /** @internal restores a saved fit. */
  restore(saved: SavedLinear): this {
    this.fitted = { coef: Float64Array.from(saved.coef), intercept: saved.intercept, columns: saved.columns };
    return this;
  }
}

/** Options of {@link ElasticNet} (scikit-learn's names in camelCase). */
export interface ElasticNetOptions {
  /** Overall penalty strength α ≥ 0 (default 1). */
  alpha?: number;
  /** Share ρ ∈ [0, 1] of the L1 penalty (default 0.5; 1 = lasso). */
  l1Ratio?: number;
  /** Constrain coefficients to be ≥ 0. */
  positive?: boolean;
  /** Fit an unpenalized intercept (default true). */
  fitIntercept?: boolean;
  /** Maximum full sweeps over the coefficients (default 10,000). */
  maxIter?: number;
  /** Stop when the largest coefficient change of a sweep is ≤ tol · max(1, max |β|) (default 1e-10). */
  tol?: number;
}

/** Elastic-net regression by cyclic coordinate descent (see the module doc for the objective). */
export class ElasticNet extends LinearModelBase<ElasticNetOptions> {
  /** Model kind in reports and saved files. */
  readonly kind = "elasticnet";

  /**
   * Resolves defaults (α = 1, ρ = 0.5, intercept, 10,000 sweeps, tol 1e-10).
   *
   * @throws ConfigError when α < 0 or ρ is outside [0, 1].
   */
  constructor(options: ElasticNetOptions = {}) {
    const o = { alpha: 1, l1Ratio: 0.5, positive: false, fitIntercept: true, maxIter: 10_000, tol: 1e-10, ...options };
    if (!(o.alpha >= 0)) throw new ConfigError(`ElasticNet: alpha must be ≥ 0, got ${o.alpha}`);
    if (!(o.l1Ratio >= 0 && o.l1Ratio <= 1)) throw new ConfigError(`ElasticNet: l1Ratio must be in [0, 1]`);
    super(o);
  }

  /** Fits by coordinate descent; `opts.sampleWeight` weights rows; `opts.validation` is not used. */
  protected fitNow(X: Matrix, y: Target, opts: FitOptions): FitReport {
    const t0 = performance.now();
    const o = this.options as Required<ElasticNetOptions>;
    const d = design(X, y, opts.sampleWeight, o.fitIntercept, "ElasticNet.fit");
    const n = X.rows, p = X.cols;
    const l1 = o.alpha * o.l1Ratio, l2 = o.alpha * (1 - o.l1Ratio);
    const norm = new Float64Array(p); // (1/Σw) Σ w x²
    for (let j = 0; j < p; j++) {
      let s = 0;
      const c = d.cols[j];
      for (let i = 0; i < n; i++) s += d.w[i] * c[i] * c[i];
      norm[j] = s / d.wSum;
    }
    const beta = new Float64Array(p);
    const r = Float64Array.from(d.y); // residual y − Xβ (β = 0)
    let sweeps = 0, converged = false;
    for (; sweeps < o.maxIter; sweeps++) {
      let maxDelta = 0, maxBeta = 0;
      for (let j = 0; j < p; j++) {
        if (norm[j] === 0) continue;
        const c = d.cols[j];
        const old = beta[j];
        let rho = 0;
        for (let i = 0; i < n; i++) rho += d.w[i] * c[i] * r[i];
        rho = rho / d.wSum + norm[j] * old;
        let next = Math.sign(rho) * Math.max(Math.abs(rho) - l1, 0) / (norm[j] + l2);
        if (o.positive && next < 0) next = 0;
        if (next !== old) {
          const delta = next - old;
          for (let i = 0; i < n; i++) r[i] -= delta * c[i];
          beta[j] = next;
          maxDelta = Math.max(maxDelta, Math.abs(delta));
        }
        maxBeta = Math.max(maxBeta, Math.abs(next));
      }
      if (maxDelta <= o.tol * Math.max(1, maxBeta)) {
        converged = true;
        sweeps++;
        break;
      }
    }
    let intercept = 0;
    if (o.fitIntercept) {
      intercept = d.yMean;
      for (let j = 0; j < p; j++) intercept -= beta[j] * d.means[j];
    }
    this.fitted = { coef: beta, intercept, columns: X.columns };
    return {
      model: this.kind,
      bestIteration: sweeps,
      seconds: (performance.now() - t0) / 1000,
      notes: converged ? [] : [`coordinate descent stopped after maxIter=${o.maxIter} sweeps without converging`],
      details: { sweeps, converged, nonZero: beta.filter((b) => b !== 0).length },
    };
  }

  /** Loads a model saved by {@link ElasticNet.save}. */
  static async load(path: string): Promise<ElasticNet> {
    const saved: SavedLinear = JSON.parse(await Deno.readTextFile(path));
    if (saved.kind !== "elasticnet") throw new ConfigError(`${path} holds a ${saved.kind} model, not elasticnet`);
    return new ElasticNet(saved.options as ElasticNetOptions).restore(saved);
  }
}

function solveSpd(A: MlMatrix, b: MlMatrix, what: string): MlMatrix {
  const chol = new ml.CholeskyDecomposition(A);
  if (!chol.isPositiveDefinite()) {
    throw new ConfigError(`${what}: the normal equations are singular; add regularization or drop collinear columns`);
  }
  return chol.solve(b);
}

/** Options of {@link Ridge}. */
export interface RidgeOptions {
  /** L2 penalty α ≥ 0 (default 1). */
  alpha?: number;
  /** Fit an unpenalized intercept (default true). */
  fitIntercept?: boolean;
}

/** Ridge regression by the closed form `(XᵀWX + αI) β = XᵀWy` on centered data (Cholesky). */
export class Ridge extends LinearModelBase<RidgeOptions> {
  /** Model kind in reports and saved files. */
  readonly kind = "ridge";

  /**
   * Resolves defaults (α = 1, intercept).
   *
   * @throws ConfigError when α < 0.
   */
  constructor(options: RidgeOptions = {}) {
    const o = { alpha: 1, fitIntercept: true, ...options };
    if (!(o.alpha >= 0)) throw new ConfigError(`Ridge: alpha must be ≥ 0, got ${o.alpha}`);
    super(o);
  }

  /** Fits in closed form; `opts.sampleWeight` weights rows. */
  protected fitNow(X: Matrix, y: Target, opts: FitOptions): FitReport {
    const t0 = performance.now();
    const o = this.options as Required<RidgeOptions>;
    const d = design(X, y, opts.sampleWeight, o.fitIntercept, "Ridge.fit");
    const p = X.cols, n = X.rows;
    const A = ml.Matrix.zeros(p, p), b = ml.Matrix.zeros(p, 1);
    for (let j = 0; j < p; j++) {
      for (let k = 0; k <= j; k++) {
        let s = 0;
        for (let i = 0; i < n; i++) s += d.w[i] * d.cols[j][i] * d.cols[k][i];
        A.set(j, k, s + (j === k ? o.alpha : 0));
        A.set(k, j, s + (j === k ? o.alpha : 0));
      }
      let s = 0;
      for (let i = 0; i < n; i++) s += d.w[i] * d.cols[j][i] * d.y[i];
      b.set(j, 0, s);
    }
    const beta = p === 0 ? new Float64Array(0) : Float64Array.from(solveSpd(A, b, "Ridge.fit").getColumn(0));
    let intercept = 0;
    if (o.fitIntercept) {
      intercept = d.yMean;
      for (let j = 0; j < p; j++) intercept -= beta[j] * d.means[j];
    }
    this.fitted = { coef: beta, intercept, columns: X.columns };
    return { model: this.kind, seconds: (performance.now() - t0) / 1000, notes: [] };
  }

  /** Loads a model saved by {@link Ridge.save}. */
  static async load(path: string): Promise<Ridge> {
    const saved: SavedLinear = JSON.parse(await Deno.readTextFile(path));
    if (saved.kind !== "ridge") throw new ConfigError(`${path} holds a ${saved.kind} model, not ridge`);
    return new Ridge(saved.options as RidgeOptions).restore(saved);
  }
}

/** Options of {@link LogisticRegression}. */
export interface LogisticRegressionOptions {
  /** Inverse L2 strength (scikit-learn's C, default 1). */
  C?: number;
  /** Fit an unpenalized intercept (default true). */
  fitIntercept?: boolean;
  /** Maximum Newton steps (default 100). */
  maxIter?: number;
  /** Stop when the largest |gradient| component is ≤ tol (default 1e-10). */
  tol?: number;
}

function sigmoid(z: number): number {
  return z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z));
}

/** Binary logistic regression with an L2 penalty, fitted by damped Newton steps; `predict` returns P(y = 1). */
export class LogisticRegression extends LinearModelBase<LogisticRegressionOptions> {
  /** Model kind in reports and saved files. */
  readonly kind = "logistic";

  /**
   * Resolves defaults (C = 1, intercept, 100 Newton steps, tol 1e-10).
   *
   * @throws ConfigError when C ≤ 0.
   */
  constructor(options: LogisticRegressionOptions = {}) {
    const o = { C: 1, fitIntercept: true, maxIter: 100, tol: 1e-10, ...options };
    if (!(o.C > 0)) throw new ConfigError(`LogisticRegression: C must be > 0, got ${o.C}`);
    super(o);
  }

  /** Fits by Newton's method with step halving; labels must be 0 or 1. */
  protected fitNow(X: Matrix, y: Target, opts: FitOptions): FitReport {
    const t0 = performance.now();
    const o = this.options as Required<LogisticRegressionOptions>;
    // No design copy: the passes below read X in place (the logistic design is X as given, nothing centered).
    const { w } = weightsOf(X, y, opts.sampleWeight, "LogisticRegression.fit");
    assertFiniteFeatures(X, "LogisticRegression.fit");
    for (let i = 0; i < y.length; i++) {
      if (y[i] !== 0 && y[i] !== 1) throw new ConfigError(`LogisticRegression: label ${y[i]} at row ${i}; use 0/1`);
    }
    const n = X.rows, p = X.cols, q = p + (o.fitIntercept ? 1 : 0);
    // X's own row-major Float32 values, with the intercept as coordinate p of θ when fitted.
    const xs = X.data;
    const b = o.fitIntercept ? p : -1;
    const margin = (i: number, t: Float64Array) => {
      let s = b >= 0 ? t[b] : 0;
      for (let j = 0, r = i * p; j < p; j++) s += t[j] * xs[r + j];
      return s;
    };
    // Summed with Neumaier's compensation: near the optimum the line search compares objectives that differ by less
    // than a plain sum's rounding error over a million rows (~1e-8 on an objective of ~4e5), and takes noise for an
    // increase; compensated, the sum is good to about its last bit.
    const objective = (t: Float64Array) => {
      let s = 0, c = 0;
      for (let i = 0; i < n; i++) {
        const z = margin(i, t);
        // log(1 + e^z) − y·z, computed stably
        const softplus = z > 0 ? z + Math.log1p(Math.exp(-z)) : Math.log1p(Math.exp(z));
        const term = w[i] * (softplus - y[i] * z);
        const sum = s + term;
        c += Math.abs(s) >= Math.abs(term) ? (s - sum) + term : (term - sum) + s;
        s = sum;
      }
      s += c;
      let pen = 0;
      for (let j = 0; j < p; j++) pen += t[j] * t[j];
      return o.C * s + 0.5 * pen;
    };
    // Gradient (and, when `H` is given, the lower triangle of the Hessian, mirrored) of the objective at t.
    const derivatives = (t: Float64Array, H?: Float64Array) => {
      const g = new Float64Array(q);
      for (let i = 0; i < n; i++) {
        const pr = sigmoid(margin(i, t));
        const gi = o.C * w[i] * (pr - y[i]);
        const hi = o.C * w[i] * pr * (1 - pr);
        const r = i * p;
        for (let j = 0; j < p; j++) {
          const xij = xs[r + j];
          g[j] += gi * xij;
          if (H) { for (let k = 0, hij = hi * xij, row = j * q; k <= j; k++) H[row + k] += hij * xs[r + k]; }
        }
        if (b >= 0) {
          g[b] += gi;
          if (H) {
            for (let k = 0, row = b * q; k < p; k++) H[row + k] += hi * xs[r + k];
            H[b * q + b] += hi;
          }
        }
      }
      for (let j = 0; j < p; j++) g[j] += t[j];
      if (H) {
        for (let j = 0; j < p; j++) H[j * q + j] += 1;
        for (let j = 0; j < q; j++) for (let k = 0; k < j; k++) H[k * q + j] = H[j * q + k];
      }
      return g;
    };
    const maxAbs = (g: Float64Array) => g.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    const theta = new Float64Array(q);
    let steps = 0, converged = false, stalled = false, f = objective(theta), gradient = NaN;
    for (; steps < o.maxIter; steps++) {
      const H = new Float64Array(q * q);
      const g = derivatives(theta, H);
      gradient = maxAbs(g);
      if (gradient <= o.tol) {
        converged = true;
        break;
      }
      const hessian = new ml.Matrix(Array.from({ length: q }, (_, j) => Array.from(H.subarray(j * q, (j + 1) * q))));
      const step = solveSpd(hessian, ml.Matrix.columnVector(Array.from(g)), "LogisticRegression.fit").getColumn(0);
      // Step halving until the objective does not increase. Near the optimum the decrease a Newton step makes falls
      // below the objective's floating-point resolution (|f| · 1e-16: with tens of thousands of rows, while the
      // gradient is still above tol), and comparing objectives is noise; a step that leaves the objective equal to
      // within that resolution is then taken when it shrinks the gradient (the rule of scikit-learn's Newton solvers).
      let accepted: Float64Array | undefined;
      for (let halving = 0, t = 1; halving < 50 && accepted === undefined; halving++, t /= 2) {
        const next = theta.map((v, j) => v - t * step[j]);
        const fn = objective(next);
        if (fn <= f) {
          accepted = next;
          f = fn;
        } else if (fn - f <= 64 * Number.EPSILON * Math.abs(f) && maxAbs(derivatives(next)) < gradient) {
          accepted = next;
          f = Math.min(f, fn);
        }
      }
      if (accepted === undefined) {
        stalled = true; // no step along Newton's direction lowers the objective or the gradient: the float floor
        break;
      }
      theta.set(accepted);
    }
    if (!converged) {
      gradient = maxAbs(derivatives(theta));
      converged = gradient <= o.tol;
    }
    this.fitted = {
      coef: theta.slice(0, p),
      intercept: o.fitIntercept ? theta[p] : 0,
      columns: X.columns,
    };
    return {
      model: this.kind,
      bestIteration: steps,
      seconds: (performance.now() - t0) / 1000,
      notes: converged ? [] : [
        stalled
          ? `Newton stopped after ${steps} steps: no step lowers the objective or its gradient any further ` +
            `(largest |gradient| component ${gradient.toExponential(2)} > tol ${o.tol}; the floating-point floor)`
          : `Newton stopped after maxIter=${o.maxIter} steps without reaching tol (largest |gradient| component ` +
            `${gradient.toExponential(2)} > ${o.tol})`,
      ],
      details: { steps, converged, objective: f, gradient },
    };
  }

  /** P(y = 1) for each row. */
  override predict(X: Matrix): Float64Array {
    return linearPredict(this.coefficients, X, "logistic.predict").map(sigmoid);
  }

  /** Loads a model saved by {@link LogisticRegression.save}. */
  static async load(path: string): Promise<LogisticRegression> {
    const saved: SavedLinear = JSON.parse(await Deno.readTextFile(path));
    if (saved.kind !== "logistic") throw new ConfigError(`${path} holds a ${saved.kind} model, not logistic`);
    return new LogisticRegression(saved.options as LogisticRegressionOptions).restore(saved);
  }
}

/** Loads any linear model file written by `save`, dispatching on its `kind`. */
export async function loadLinearModel(path: string): Promise<ElasticNet | Ridge | LogisticRegression> {
  const saved: SavedLinear = JSON.parse(await Deno.readTextFile(path));
  if (saved.kind === "elasticnet") return new ElasticNet(saved.options as ElasticNetOptions).restore(saved);
  if (saved.kind === "ridge") return new Ridge(saved.options as RidgeOptions).restore(saved);
  if (saved.kind === "logistic") {
    return new LogisticRegression(saved.options as LogisticRegressionOptions).restore(saved);
  }
  throw new ConfigError(`${path}: unknown linear model kind ${JSON.stringify(saved.kind)}`);
}
