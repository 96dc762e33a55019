/**
 * Maps CSV record numbers back to physical line numbers, for error messages.
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

/**
 * Splits a CSV text into records of fields (quote-aware, `\r\n` or `\n`), each with the line it starts on. Used only
 * to explain a file polars refused to parse (a row with too many fields, an unclosed quote), so speed does not matter.
 */
export function csvRecords(text: string): { line: number; fields: string[] }[] {
  const out: { line: number; fields: string[] }[] = [];
  let fields: string[] = [];
  let field = "";
  let inQuotes = false;
  let line = 1;
  let startLine = 1;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (inQuotes) {
      if (ch === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i++;
        } else inQuotes = false;
      } else {
        if (ch === "\n") line++;
        field += ch;
      }
    } else if (ch === '"') {
      inQuotes = true;
    } else if (ch === ",") {
      fields.push(field);
      field = "";
    } else if (ch === "\n") {
      fields.push(field.endsWith("\r") ? field.slice(0, -1) : field);
      out.push({ line: startLine, fields });
      fields = [];
      field = "";
      line++;
      startLine = line;
    } else {
      field += ch;
    }
  }
  if (field !== "" || fields.length > 0) {
    fields.push(field.endsWith("\r") ? field.slice(0, -1) : field);
    out.push({ line: startLine, fields });
  }
  return out;
}
