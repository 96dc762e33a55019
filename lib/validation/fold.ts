/**
 * Folds on the date axis: the common output of every splitter.
 *
 * @module
 */

/** An inclusive range of trading dates (ISO `YYYY-MM-DD`). */
export interface DateWindow {
  /** First date, ISO `YYYY-MM-DD`, inclusive. */
  start: string;
  /** Last date, ISO `YYYY-MM-DD`, inclusive. */
  end: string;
}

/**
 * One fold. Indices point into the sorted, unique `dates` array the splitter was given; the date windows say the same
 * thing in dates, for storage and humans. `purge` is the number of dates dropped from training on each side of a test
 * window (never shorter than the label horizon); `embargo` the number dropped after a test window.
 */
export interface Fold {
  /** 0-based position of this fold in the splitter's output. */
  index: number;
  /** Training dates as maximal runs of consecutive dates on the axis (several when test blocks cut through them). */
  train: DateWindow[];
  /** Test dates as maximal runs of consecutive dates on the axis. */
  test: DateWindow[];
  /** Optional validation tail carved from training (early stopping). */
  validation?: DateWindow[];
  /** Sorted ascending indices into `dates` of the dates a model is fitted on (the validation tail excluded). */
  trainIndices: Int32Array;
  /** Sorted ascending indices into `dates` of the out-of-sample dates. */
  testIndices: Int32Array;
  /** Sorted ascending indices of the validation tail; disjoint from `trainIndices`, `purge` dates after them. */
  validationIndices?: Int32Array;
  /** Dates dropped from training before each test window (and after it, plus `embargo`); ≥ the label horizon. */
  purge: number;
  /** Extra dates dropped from training after each test window, on top of `purge` (0 = none). */
  embargo: number;
}

/** Half-open index ranges `[start, end)`: the compact JSON form of sorted fold indices. */
export type IndexRanges = Array<[number, number]>;

/**
 * A fold in plain JSON: indices as half-open ranges. `JSON.stringify` of a raw {@link Fold} would turn each
 * Int32Array into an object keyed "0", "1", ..., which reads back as garbage; use {@link foldToJSON}.
 */
export interface FoldJSON {
  /** Same as {@link Fold.index}. */
  index: number;
  /** Same as {@link Fold.train}. */
  train: DateWindow[];
  /** Same as {@link Fold.test}. */
  test: DateWindow[];
  /** Same as {@link Fold.validation}. */
  validation?: DateWindow[];
  /** {@link Fold.trainIndices} as half-open `[start, end)` ranges. */
  trainIndices: IndexRanges;
  /** {@link Fold.testIndices} as half-open `[start, end)` ranges. */
  testIndices: IndexRanges;
  /** {@link Fold.validationIndices} as half-open `[start, end)` ranges. */
  validationIndices?: IndexRanges;
  /** Same as {@link Fold.purge} (dates). */
  purge: number;
  /** Same as {@link Fold.embargo} (dates). */
  embargo: number;
}

function toRanges(indices: Int32Array): IndexRanges {
  const out: IndexRanges = [];
  let i = 0;
  while (i < indices.length) {
    let j = i;
    while (j + 1 < indices.length && indices[j + 1] === indices[j] + 1) j++;
    out.push([indices[i], indices[j] + 1]);
    i = j + 1;
  }
  return out;
}

function fromRanges(ranges: IndexRanges): Int32Array {
  let n = 0;
  for (const [a, b] of ranges) {
    if (!(Number.isInteger(a) && Number.isInteger(b) && 0 <= a && a <= b)) {
      throw new TypeError(`invalid index range [${a}, ${b}) in a serialized fold`);
    }
    n += b - a;
  }
  const out = new Int32Array(n);
  let k = 0;
  for (const [a, b] of ranges) for (let i = a; i < b; i++) out[k++] = i;
  return out;
}

/** A fold as plain JSON-safe data (indices as ranges). Inverse of {@link foldFromJSON}. */
export function foldToJSON(fold: Fold): FoldJSON {
  const out: FoldJSON = {
    index: fold.index,
    train: fold.train.map((w) => ({ ...w })),
    test: fold.test.map((w) => ({ ...w })),
    trainIndices: toRanges(fold.trainIndices),
    testIndices: toRanges(fold.testIndices),
    purge: fold.purge,
    embargo: fold.embargo,
  };
  if (fold.validation !== undefined) out.validation = fold.validation.map((w) => ({ ...w }));
  if (fold.validationIndices !== undefined) out.validationIndices = toRanges(fold.validationIndices);
  return out;
}

/** Rebuilds a {@link Fold} from {@link foldToJSON} output (or its `JSON.parse`d text). */
export function foldFromJSON(json: FoldJSON): Fold {
  const fold: Fold = {
    index: json.index,
    train: json.train.map((w) => ({ ...w })),
    test: json.test.map((w) => ({ ...w })),
    trainIndices: fromRanges(json.trainIndices),
    testIndices: fromRanges(json.testIndices),
    purge: json.purge,
    embargo: json.embargo,
  };
  if (json.validation !== undefined) fold.validation = json.validation.map((w) => ({ ...w }));
  if (json.validationIndices !== undefined) fold.validationIndices = fromRanges(json.validationIndices);
  return fold;
}
