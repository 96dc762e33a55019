/**
 * Maps CSV record numbers back to physical line numbers, and finds rows with the wrong number of fields, for error
 * messages.
 *
 * The loader parses with polars, which numbers records, not lines. A record spans several lines when a quoted field
 * contains a newline, so "record k is on line k + 2" is only usually true. This walk is exact; it runs only on the
 * error path, when a check has already failed, so clean loads never pay for it. Hand-written because no CSV library
 * reports the line a record starts on.
 *
 * @module
 */

/**
 * 1-based line on which 0-based data record `record` starts (record 0 is the first row after the header; the header
 * is line 1). Quotes (`"`) are honoured, `""` inside quotes is an escaped quote, `\r\n` counts as one line break.
 * Every line break outside quotes ends a record, including on empty lines (polars also yields a row for those).
 * Returns undefined when the text has fewer records.
 */
export function lineOfRecord(text: string, record: number): number | undefined {
  let line = 1;
  let recordsStarted = 0; // records (header included) fully passed
  let inQuotes = false;
  const target = record + 1; // the header is record 0 of the text
  if (target === 0) return 1;
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    if (ch === 34 /* " */) {
      inQuotes = !inQuotes; // an escaped "" toggles twice
    } else if (ch === 10 /* \n */) {
      line++;
      if (!inQuotes) {
        recordsStarted++;
        if (recordsStarted === target) return i + 1 < text.length ? line : undefined;
      }
    }
  }
  return undefined;
}

/** A data record whose field count differs from the header's, as found by {@link firstRaggedRecord}. */
export interface RaggedRecord {
  /** 1-based line the record starts on (the header is line 1). */
  line: number;
  /** Number of fields in that record. */
  fields: number;
  /** Number of fields in the header. */
  width: number;
}

/**
 * The first data record whose number of comma-separated fields differs from the header's (or, with `onlyMore`, is
 * larger than it), or undefined. Works on the bytes (quote-aware: `"` toggles quoting, `""` toggles twice; `\r\n` is
 * one break) without building strings, so a file of any size costs one pass and no memory. Records that are empty or
 * only spaces are skipped, as the loader skips empty lines.
 *
 * Used to explain a file polars refused, and to catch rows with too many fields when polars reads only some columns
 * (it checks field counts only for the columns it reads).
 */
export function firstRaggedRecord(bytes: Uint8Array, opts: { onlyMore?: boolean } = {}): RaggedRecord | undefined {
  let width = -1;
  let fields = 1;
  let blank = true; // only spaces, tabs or \r so far in this record
  let inQuotes = false;
  let line = 1;
  let startLine = 1;
  const endRecord = (): RaggedRecord | undefined => {
    if (width < 0) {
      width = fields;
    } else if (!(fields === 1 && blank)) {
      if (opts.onlyMore ? fields > width : fields !== width) return { line: startLine, fields, width };
    }
    fields = 1;
    blank = true;
    startLine = line;
    return undefined;
  };
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i];
    if (b === 10 /* \n */) {
      line++;
      if (inQuotes) continue;
      const bad = endRecord();
      if (bad !== undefined) return bad;
    } else if (b === 34 /* " */) {
      inQuotes = !inQuotes;
      blank = false;
    } else if (!inQuotes && b === 44 /* , */) {
      fields++;
      blank = false;
    } else if (b !== 32 && b !== 9 && b !== 13) {
      blank = false;
    }
  }
  if (!(fields === 1 && blank)) return endRecord();
  return undefined;
}

/**
 * Byte length of the header record including its line break (quote-aware), or the whole length when the text has a
 * single record. Lets the header be parsed alone: polars reads the whole text even when asked for no rows.
 */
export function headerRecordLength(bytes: Uint8Array): number {
  let inQuotes = false;
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i];
    if (b === 34 /* " */) inQuotes = !inQuotes;
    else if (b === 10 /* \n */ && !inQuotes) return i + 1;
  }
  return bytes.length;
}
