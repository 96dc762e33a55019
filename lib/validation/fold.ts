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
