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

/**
 * Bad input data: the message names file, line, column, what was expected and what was found.
 * Raised before anything is written, so a failed load never leaves partial state behind.
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
  /** What was found instead: the offending value as read, or a short description of it. */
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
    const parts: string[] = [];
    if (where.file !== undefined) parts.push(where.file);
    if (where.line !== undefined) parts.push(`line ${where.line}`);
    if (where.column !== undefined) parts.push(`column ${JSON.stringify(String(where.column))}`);
    let message = parts.length > 0 ? `${parts.join(", ")}: ${problem}` : problem;
    if (where.expected !== undefined) message += `; expected ${where.expected}`;
    if (where.found !== undefined) message += `, found ${JSON.stringify(where.found)}`;
    super(message, options);
    this.file = where.file;
    this.line = where.line;
    this.column = where.column;
    this.expected = where.expected;
    this.found = where.found;
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
