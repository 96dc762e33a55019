/**
 * Folds on the date axis: the common output of every splitter.
 *
 * @module
 */

/** An inclusive range of trading dates (ISO `YYYY-MM-DD`). */
export interface DateWindow {
  start: string;
  end: string;
}

/**
 * One fold. Indices point into the sorted, unique `dates` array the splitter was given; the date windows say the same
 * thing in dates, for storage and humans. `purge` is the number of dates dropped from training on each side of a test
 * window (never shorter than the label horizon); `embargo` the number dropped after a test window.
 */
export interface Fold {
  index: number;
  train: DateWindow[];
  test: DateWindow[];
  /** Optional validation tail carved from training (early stopping). */
  validation?: DateWindow[];
  trainIndices: Int32Array;
  testIndices: Int32Array;
  validationIndices?: Int32Array;
  purge: number;
  embargo: number;
}

/** Half-open index ranges `[start, end)`: the compact JSON form of sorted fold indices. */
export type IndexRanges = Array<[number, number]>;

/**
 * A fold in plain JSON: indices as half-open ranges. `JSON.stringify` of a raw {@link Fold} would turn each
 * Int32Array into an object keyed "0", "1", ..., which reads back as garbage; use {@link foldToJSON}.
 */
export interface FoldJSON {
  index: number;
  train: DateWindow[];
  test: DateWindow[];
  validation?: DateWindow[];
  trainIndices: IndexRanges;
  testIndices: IndexRanges;
  validationIndices?: IndexRanges;
  purge: number;
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
