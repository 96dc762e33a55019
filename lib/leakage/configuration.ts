/**
 * Configuration checks of the leakage auditor: a split or a fitted transform that lets the future in.
 *
 * - **Purge ≥ horizon.** An h-day label at t runs to t + h; with fewer than h dates purged between training and test,
 *   the last training labels overlap the test period. `purge < horizon` is a `leak`.
 * - **Fitted windows inside their fold.** Anything fitted (scalers, de-meaning offsets, feature selection,
 *   calibration, class weights) records the date window it was fitted on (see lib/features/scalers.ts and
 *   fitTargetDemeaner). That window must lie inside one of its fold's training windows; a window reaching into the
 *   test, purge or embargo dates — the classic "scaler fitted on the whole sample" — is a `leak`.
 *
 * Fold shapes are taken structurally (index and train windows), so this module does not depend on lib/validation.
 *
 * @module
 */

import type { Verdict } from "./audit.ts";

/** An inclusive range of ISO dates. */
export interface CheckedWindow {
  /** First date, ISO `YYYY-MM-DD`, inclusive. */
  start: string;
  /** Last date, ISO `YYYY-MM-DD`, inclusive. */
  end: string;
}

/** The parts of a fold the checks need (lib/validation's Fold satisfies it). */
export interface FoldWindows {
  /** Fold number that `FittedTransformRecord.fold` refers to. */
  index: number;
  /** Training windows; a fitted window must lie wholly inside one of them. */
  train: readonly CheckedWindow[];
  /** Test windows; used to say in the reason whether an outside fitted window also overlaps the test period. */
  test: readonly CheckedWindow[];
}

/** A transform fitted for one fold, with the window it was fitted on. */
export interface FittedTransformRecord {
  /** What was fitted, e.g. "standard scaler", "target de-meaning". */
  name: string;
  /** Index of the fold it belongs to. */
  fold: number;
  /** The inclusive date window of the rows it was fitted on. */
  window: CheckedWindow;
}

/** One configuration finding. */
export interface ConfigurationFinding {
  /** `purge`: purge ≥ horizon; `fitted-window`: a fitted transform's window lies inside its training fold. */
  check: "purge" | "fitted-window";
  /** What was checked: `split` for the purge check, `"<name> (fold <k>)"` for a fitted transform. */
  subject: string;
  /**
   * `ok` when the check passed; `leak` when it failed; `suspect` when a fitted transform names a fold that was not
   * given, so it could not be checked.
   */
  verdict: Verdict;
  /** Human-readable explanation with the numbers or windows involved and, on a leak, the fix. */
  reason: string;
}

/** Input of {@link checkConfiguration}. */
export interface ConfigurationCheckInput {
  /** Label horizon in trading days. */
  horizon: number;
  /** Dates purged between training and test. */
  purge: number;
  /** The folds the fitted records are checked against (default none: every fitted record is then `suspect`). */
  folds?: readonly FoldWindows[];
  /** Every transform fitted during the run, with its window (default none: only the purge check runs). */
  fitted?: readonly FittedTransformRecord[];
}

/** Runs the configuration checks; returns one finding per check (verdict `ok` when it passed). */
export function checkConfiguration(input: ConfigurationCheckInput): ConfigurationFinding[] {
  const out: ConfigurationFinding[] = [];
  out.push(
    input.purge >= input.horizon
      ? { check: "purge", subject: "split", verdict: "ok", reason: `purge ${input.purge} ≥ horizon ${input.horizon}` }
      : {
        check: "purge",
        subject: "split",
        verdict: "leak",
        reason: `purge ${input.purge} < horizon ${input.horizon}: the last ${input.horizon - input.purge} training ` +
          `label(s) before each test window end inside it; set purge ≥ ${input.horizon}`,
      },
  );
  const folds = new Map((input.folds ?? []).map((f) => [f.index, f]));
  for (const t of input.fitted ?? []) {
    const subject = `${t.name} (fold ${t.fold})`;
    const fold = folds.get(t.fold);
    if (fold === undefined) {
      out.push({
        check: "fitted-window",
        subject,
        verdict: "suspect",
        reason: `no fold ${t.fold} to check it against`,
      });
      continue;
    }
    const inside = fold.train.some((w) => t.window.start >= w.start && t.window.end <= w.end);
    if (inside) {
      out.push({
        check: "fitted-window",
        subject,
        verdict: "ok",
        reason: `fitted on ${t.window.start}..${t.window.end}, inside training`,
      });
      continue;
    }
    const overlapsTest = fold.test.some((w) => t.window.start <= w.end && t.window.end >= w.start);
    const train = fold.train.map((w) => `${w.start}..${w.end}`).join(", ");
    out.push({
      check: "fitted-window",
      subject,
      verdict: "leak",
      reason: `fitted on ${t.window.start}..${t.window.end}, outside its training window(s) ${train}` +
        (overlapsTest ? " and overlapping the test window: test information reaches training" : "") +
        "; fit it on the training rows only",
    });
  }
  return out;
}
