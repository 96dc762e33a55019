/**
 * Typed errors shared by every candor module.
 *
 * Every error says what went wrong and what to do about it. Callers branch on the class, never on the message.
 * This module sits at the bottom of the import graph: anything may import it, it imports nothing.
 *
 * @module
 */

/** Base class of every error candor throws on purpose. */
export class CandorError extends Error {
  /**
   * Creates the error; `name` is set to the concrete subclass name (e.g. "DataError") so logs and stack traces show it.
   * Pass `options.cause` to keep the underlying error.
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Where in an input file a problem was found. Lines and columns are 1-based; line 1 is the header. */
export interface DataLocation {
  /** Path of the offending file, as given or as found in a folder. */
  file?: string;
  /** 1-based line number in the file (the header is line 1). */
  line?: number;
  /** Column name (as written in the file) or 1-based column number. */
  column?: string | number;
}

/** Longest echo of an input value (a found value, a column name, an expectation) that an error message carries. */
export const MAX_ECHO_CHARS = 200;

/**
 * `text` cut to {@link MAX_ECHO_CHARS} characters (or `max`), saying how long it was: a 20 MB field must not make a
 * 20 MB error line. Cuts between UTF-16 surrogates are avoided.
 */
export function clipEcho(text: string, max = MAX_ECHO_CHARS): string {
  if (text.length <= max) return text;
  let end = max;
  const code = text.charCodeAt(end - 1);
  if (code >= 0xd800 && code <= 0xdbff) end--; // do not split a surrogate pair
  return `${text.slice(0, end)}… (${text.length.toLocaleString("en-US")} characters in all)`;
}

/**
 * Bad input data: the message names file, line, column, what was expected and what was found.
 * Raised before anything is written, so a failed load never leaves partial state behind. Every echoed part (column,
 * expected, found) is cut by {@link clipEcho}, so the message stays a few hundred characters whatever the input.
 */
export class DataError extends CandorError {
  /** Path of the offending file, when the problem is tied to one. */
  readonly file?: string;
  /** 1-based line number in that file (the header is line 1). */
  readonly line?: number;
  /** Column name as written in the file, or its 1-based number. */
  readonly column?: string | number;
  /** What a valid value would look like, in words (e.g. "a positive number"). */
  readonly expected?: string;
  /** What was found instead: the offending value as read (cut by {@link clipEcho}), or a short description of it. */
  readonly found?: string;

  /**
   * Builds the message as `file, line N, column "c": problem; expected …, found "…"`, leaving out the parts that
   * `where` does not give, and keeps each part as a field so callers can point at the location programmatically.
   */
  constructor(
    problem: string,
    where: DataLocation & { expected?: string; found?: string } = {},
    options?: ErrorOptions,
  ) {
    const column = typeof where.column === "string" ? clipEcho(where.column) : where.column;
    const expected = where.expected === undefined ? undefined : clipEcho(where.expected, 4 * MAX_ECHO_CHARS);
    const found = where.found === undefined ? undefined : clipEcho(where.found);
    const parts: string[] = [];
    if (where.file !== undefined) parts.push(clipEcho(where.file, 4 * MAX_ECHO_CHARS));
    if (where.line !== undefined) parts.push(`line ${where.line}`);
    if (column !== undefined) parts.push(`column ${JSON.stringify(String(column))}`);
    const what = clipEcho(problem, 4 * MAX_ECHO_CHARS);
    let message = parts.length > 0 ? `${parts.join(", ")}: ${what}` : what;
    if (expected !== undefined) message += `; expected ${expected}`;
    if (found !== undefined) message += `, found ${JSON.stringify(found)}`;
    super(message, options);
    this.file = where.file;
    this.line = where.line;
    this.column = column;
    this.expected = expected;
    this.found = found;
  }
}

/** An invalid configuration or argument (a purge shorter than the horizon, a negative cost, an unknown option). */
export class ConfigError extends CandorError {}

/** Look-ahead detected: a feature, label or fitted transform that uses information from the future. */
export class LeakageError extends CandorError {}

/** A required native library or compute backend is missing; the message says how to install it. */
export class BackendUnavailableError extends CandorError {}

/** The run store refused or failed an operation; nothing was written. */
export class StoreError extends CandorError {}

/**
 * A study stopped on purpose by a signal (SIGINT, SIGTERM) or a caller's AbortSignal. The study is recorded as
 * `interrupted` with where it stopped, and can be resumed (`candor run --resume ID`).
 */
export class InterruptedError extends CandorError {
  /** The signal that asked for the stop, e.g. `SIGINT`, or `abort` for a programmatic abort. */
  readonly signal: string;
  /** The stored study that was interrupted (what `--resume` takes), when it was stored. */
  studyId?: string;

  /** `signal` names what asked for the stop. */
  constructor(message: string, signal: string, options?: ErrorOptions) {
    super(message, options);
    this.signal = signal;
  }
}

/**
 * A study failed (or was interrupted) and recording that in the store failed too: both are in the message, the
 * original error is the `cause`. Never swallowed: the CLI prints it and exits with status 4.
 */
export class RecordingError extends CandorError {}

/**
 * `--resume` refused before anything was written: no such study or run, a study that succeeded or is still live, or a
 * configuration or data that differ from the stored ones (a resumed study must finish exactly as it began). Exit 2.
 */
export class ResumeRefusedError extends ConfigError {}
