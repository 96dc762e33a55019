/**
 * A per-symbol arena: short-lived arrays for the per-symbol kernels (./rolling.ts, ./alpha158.ts, ./technical.ts).
 *
 * Evaluating the full set on 2 M rows allocated about 8 GB of arrays that each lived for one symbol; allocating,
 * initialising and garbage-collecting them took about a sixth of the kernels' CPU time (measured on the S&P 500
 * panel: 4.5 s with fresh arrays, 3.8 s with the arena). While the evaluator (./series_eval.ts) works on a symbol it
 * opens a scope, and {@link floats} and {@link ints} hand out views into buffers that are reused for the next symbol;
 * outside a scope they allocate normally. Hence the rule for code that runs inside a feature's `compute`: an array
 * from a kernel is valid until the evaluator moves to the next symbol (the evaluator copies results first, and memo
 * values live exactly as long as their symbol) — never keep one across symbols. The contents of a new array are
 * unspecified inside a scope: kernels write every element.
 *
 * @module
 */

interface Scope {
  capacity: number;
  floats: Float64Array[];
  ints: Int32Array[];
  nextFloat: number;
  nextInt: number;
}

let scope: Scope | null = null;

/** A Float64Array of length n: reused memory inside an evaluator scope (contents unspecified), else a new array. */
export function floats(n: number): Float64Array {
  if (scope === null || n > scope.capacity) return new Float64Array(n);
  if (scope.nextFloat === scope.floats.length) scope.floats.push(new Float64Array(scope.capacity));
  return scope.floats[scope.nextFloat++].subarray(0, n);
}

/** `floats(n)` filled with NaN (the missing value of every kernel). */
export function nans(n: number): Float64Array {
  return floats(n).fill(Number.NaN);
}

/** An Int32Array of length n, like {@link floats}. */
export function ints(n: number): Int32Array {
  if (scope === null || n > scope.capacity) return new Int32Array(n);
  if (scope.nextInt === scope.ints.length) scope.ints.push(new Int32Array(scope.capacity));
  return scope.ints[scope.nextInt++].subarray(0, n);
}

/**
 * Runs `evaluate` with an arena for series of up to `capacity` rows; `evaluate` calls the function it is given
 * after finishing each symbol, which hands the same buffers out again. A nested evaluation gets its own buffers.
 */
export function withArena<T>(capacity: number, evaluate: (nextSymbol: () => void) => T): T {
  const outer = scope;
  const current: Scope = { capacity, floats: [], ints: [], nextFloat: 0, nextInt: 0 };
  scope = current;
  try {
    return evaluate(() => {
      current.nextFloat = 0;
      current.nextInt = 0;
    });
  } finally {
    scope = outer;
  }
}
