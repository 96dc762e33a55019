/**
 * Finding and reading price files: what the loader does before any parsing, with every failure a `DataError` that
 * names the file.
 *
 * - **Paths**: a missing path, a symbolic link loop (a link that leads back to itself, directly or through a chain), a
 *   broken link, a permission problem or a folder where a file was expected is each reported as what it is, for a
 *   path given directly and for a file found in a folder alike (never an uncaught `ELOOP` with a stack trace, never
 *   "not found" for a loop).
 * - **Content**: before a CSV is parsed its first bytes are identified. UTF-16 and UTF-32 text (with or without a
 *   byte-order mark), gzip data in a file not named `.gz`, Parquet, zip (an Excel `.xlsx` workbook is one), old Excel
 *   `.xls`, PDF, images, SQLite databases, executables and other binary data (NUL bytes) are refused with what they
 *   are. Text that is not UTF-8 (Latin-1, Windows-1252) is named with its first bad byte and its line.
 * - **gzip**: a `.csv.gz` that is not gzip (wrong magic bytes) is identified like any other content; a truncated or
 *   corrupt one is reported as such, with zlib's reason.
 *
 * Hand-written rather than a file-type library: the signatures checked are a dozen fixed byte prefixes, and what the
 * loader must say about each (rename it, export it as CSV, save it as UTF-8) is specific to price files.
 *
 * @module
 */

import type { Buffer } from "node:buffer";
import { lstat, readdir, readFile, readlink, stat } from "node:fs/promises";
import { basename, join } from "node:path";
import { promisify } from "node:util";
import { gunzip } from "node:zlib";
import { ConfigError, DataError } from "../errors.ts";

const gunzipAsync = promisify(gunzip);

/** File formats the loader reads, from the file name. */
export type PriceFileFormat = "csv" | "csv.gz" | "parquet";

/** One file to read, as found by {@link listPriceFiles}. */
export interface PriceFile {
  /** Path as given, or joined to the folder it was found in. */
  path: string;
  /** Format implied by the extension. */
  format: PriceFileFormat;
  /** Symbol implied by the file name (`AAPL.csv.gz` → `AAPL`). */
  fileSymbol: string;
  /** Listed explicitly (never skipped) rather than found in a folder. */
  explicit: boolean;
}

/** The file format implied by a path's extension, or undefined. */
export function formatOf(path: string): PriceFileFormat | undefined {
  const lower = path.toLowerCase();
  if (lower.endsWith(".csv.gz")) return "csv.gz";
  if (lower.endsWith(".csv")) return "csv";
  if (lower.endsWith(".parquet") || lower.endsWith(".pq")) return "parquet";
  return undefined;
}

/** `AAPL.csv.gz` → `AAPL`. */
export function symbolFromFileName(path: string): string {
  return basename(path).replace(/\.(csv\.gz|csv|parquet|pq)$/i, "");
}

/**
 * Makes sure `dir` is a folder candor can write into (creating it and its parents), before any long work whose output
 * goes there: a sweep, a production training, a synthetic market. Throws ConfigError naming `what` (the option the
 * user set, e.g. "--out") and the reason — a file in the way, a parent that cannot be created, no permission, a
 * read-only file system — instead of an uncaught `ENOENT` after the work is done. Checked by creating and removing an
 * empty temporary file.
 */
export function ensureOutputDir(dir: string, what: string): void {
  const fail = (e: unknown): never => {
    const code = errorCode(e);
    const reason = code === "EEXIST" || code === "ENOTDIR"
      ? "a file is in the way (the path, or one of its parents, is not a folder)"
      : code === "ENOENT"
      ? "the file system does not let a folder be created there"
      : code === "EACCES" || code === "EPERM"
      ? "permission denied"
      : code === "EROFS"
      ? "read-only file system"
      : `${code ?? "error"}: ${(e as Error)?.message ?? String(e)}`;
    throw new ConfigError(`${what} ${dir}: cannot write there: ${reason}`, { cause: e });
  };
  try {
    Deno.mkdirSync(dir, { recursive: true });
  } catch (e) {
    fail(e);
  }
  try {
    Deno.removeSync(Deno.makeTempFileSync({ dir, prefix: ".candor-write-check-" }));
  } catch (e) {
    fail(e);
  }
}

/** Error code of a Node/Deno file-system error (`ENOENT`, `ELOOP`, ...), or undefined. */
function errorCode(e: unknown): string | undefined {
  const code = (e as { code?: unknown })?.code;
  if (typeof code === "string") return code;
  // Deno's own errors carry the code in their class name (Deno.errors.NotFound, ...) and message.
  const m = /\b(E[A-Z]+)\b/.exec(String((e as Error)?.message ?? ""));
  return m?.[1];
}

/**
 * A file-system failure at `path` as a DataError saying what happened: loop, broken link, missing, permission,
 * folder instead of file. `what` is "file" or "file or folder" (what the caller expected to find there).
 */
export async function fileSystemError(path: string, e: unknown, what: string): Promise<DataError> {
  const code = errorCode(e);
  const expected = what === "file"
    ? "a readable .csv, .csv.gz or .parquet file"
    : "an existing .csv, .csv.gz or .parquet file, or a folder of them";
  if (code === "ELOOP") {
    return new DataError("symbolic link loop", {
      file: path,
      expected: `${expected}; the symbolic link must end at a real file or folder`,
      found: await linkChain(path),
    }, { cause: e });
  }
  if (code === "ENOENT" || code === "ENOTDIR") {
    const link = await lstat(path).then((s) => s.isSymbolicLink(), () => false);
    if (link) {
      return new DataError("broken symbolic link", {
        file: path,
        expected,
        found: `a link to ${JSON.stringify(await readlink(path).catch(() => "?"))}, which does not exist`,
      }, { cause: e });
    }
    return new DataError(`${what} not found`, { file: path, expected, found: "nothing at this path" }, { cause: e });
  }
  if (code === "EACCES" || code === "EPERM") {
    return new DataError("permission denied", {
      file: path,
      expected: `${expected} this user may read`,
      found: "no read permission",
    }, { cause: e });
  }
  if (code === "EISDIR") {
    return new DataError("a folder where a file was expected", {
      file: path,
      expected: "a file (price files inside a folder are read from that folder, not from its sub-folders)",
      found: "a folder",
    }, { cause: e });
  }
  return new DataError(`cannot read the ${what}`, {
    file: path,
    expected,
    found: `${code ?? "error"}: ${(e as Error)?.message ?? String(e)}`,
  }, { cause: e });
}

/** The first links of a symbolic-link chain, for a loop message: `a → b → a`. */
async function linkChain(path: string): Promise<string> {
  const seen: string[] = [path];
  let current = path;
  for (let i = 0; i < 8; i++) {
    const target = await readlink(current).catch(() => undefined);
    if (target === undefined) break;
    const next = target.startsWith("/") ? target : join(current, "..", target);
    seen.push(target);
    if (seen.slice(0, -1).includes(target) || next === path || seen.slice(0, -1).includes(next)) break;
    current = next;
  }
  return `links ${seen.join(" → ")}${seen.length > 8 ? " → …" : ""}`;
}

/**
 * The price files named by `source` (a file, a folder, or a list of both): every `*.csv`, `*.csv.gz`, `*.parquet`
 * directly inside a folder, sorted by name; files given directly are kept in the order given.
 *
 * @throws DataError for an empty list, a path that does not exist or is a symbolic link loop, a folder without price
 *   files, a file whose name is not a price-file name.
 */
export async function listPriceFiles(source: string | readonly string[]): Promise<PriceFile[]> {
  const inputs = typeof source === "string" ? [source] : [...source];
  if (inputs.length === 0) {
    throw new DataError("no input given", { expected: "a file, a list of files or a folder", found: "[]" });
  }
  const out: PriceFile[] = [];
  for (const input of inputs) {
    let info;
    try {
      info = await stat(input);
    } catch (e) {
      throw await fileSystemError(input, e, "file or folder");
    }
    if (info.isDirectory()) {
      let entries: string[];
      try {
        entries = await readdir(input);
      } catch (e) {
        throw await fileSystemError(input, e, "file or folder");
      }
      const names = entries.filter((n) => formatOf(n) !== undefined).sort();
      if (names.length === 0) {
        throw new DataError("folder holds no price files", {
          file: input,
          expected: "files ending in .csv, .csv.gz or .parquet",
          found: "none",
        });
      }
      for (const name of names) {
        const path = join(input, name);
        out.push({ path, format: formatOf(name)!, fileSymbol: symbolFromFileName(name), explicit: false });
      }
    } else {
      const format = formatOf(input);
      if (format === undefined) {
        throw new DataError("unsupported file type", {
          file: input,
          expected: "a name ending in .csv, .csv.gz or .parquet",
          found: basename(input),
        });
      }
      out.push({ path: input, format, fileSymbol: symbolFromFileName(input), explicit: true });
    }
  }
  return out;
}

/** Byte signatures of formats people save price data in by mistake, with what to say about each. */
const SIGNATURES: { bytes: number[]; what: string; advice: string }[] = [
  { bytes: [0x1f, 0x8b], what: "gzip-compressed data", advice: "name it .csv.gz" },
  { bytes: [0x50, 0x41, 0x52, 0x31], what: "a Parquet file", advice: "name it .parquet" },
  {
    bytes: [0x50, 0x4b, 0x03, 0x04],
    what: "a zip archive (an Excel .xlsx workbook is one)",
    advice: "unzip it, or export the sheet as CSV",
  },
  {
    bytes: [0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1],
    what: "an old Excel .xls workbook",
    advice: "export the sheet as CSV",
  },
  { bytes: [0x25, 0x50, 0x44, 0x46], what: "a PDF document", advice: "export the table as CSV" },
  { bytes: [0x89, 0x50, 0x4e, 0x47], what: "a PNG image", advice: "use the data, not a picture of it" },
  { bytes: [0xff, 0xd8, 0xff], what: "a JPEG image", advice: "use the data, not a picture of it" },
  {
    bytes: [...new TextEncoder().encode("SQLite format 3"), 0],
    what: "an SQLite database",
    advice: "export the price table as CSV",
  },
  { bytes: [0x7f, 0x45, 0x4c, 0x46], what: "an executable (ELF)", advice: "point --data at the price files" },
  { bytes: [0x42, 0x5a, 0x68], what: "bzip2-compressed data", advice: "decompress it (bunzip2) or gzip it as .csv.gz" },
  {
    bytes: [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00],
    what: "xz-compressed data",
    advice: "decompress it (unxz) or gzip it as .csv.gz",
  },
  {
    bytes: [0x28, 0xb5, 0x2f, 0xfd],
    what: "zstd-compressed data",
    advice: "decompress it (unzstd) or gzip it as .csv.gz",
  },
];

function startsWith(bytes: Uint8Array, prefix: readonly number[]): boolean {
  if (bytes.length < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (bytes[i] !== prefix[i]) return false;
  return true;
}

/** What non-CSV content is, and what to do about it. */
export interface ContentKind {
  /** What the bytes are, e.g. "UTF-16 (little-endian) text" or "binary data (a NUL byte at byte 17)". */
  what: string;
  /** What to do, e.g. "save it as UTF-8". */
  advice: string;
}

/**
 * Identifies content that is not UTF-8/ASCII text from its first bytes (at most 4 KiB are looked at): the byte-order
 * marks of UTF-16/UTF-32, UTF-16 without a mark (every other byte NUL in text that is mostly ASCII), the signatures in
 * {@link SIGNATURES}, and any NUL byte (text files have none). Returns undefined for anything that may be text.
 */
export function identifyContent(bytes: Uint8Array): ContentKind | undefined {
  const head = bytes.subarray(0, 4096);
  const asUtf8 = { advice: "save it as UTF-8 (in Excel: CSV UTF-8; with iconv: iconv -f UTF-16 -t UTF-8)" };
  if (startsWith(head, [0xff, 0xfe, 0x00, 0x00])) return { what: "UTF-32 (little-endian) text", ...asUtf8 };
  if (startsWith(head, [0x00, 0x00, 0xfe, 0xff])) return { what: "UTF-32 (big-endian) text", ...asUtf8 };
  if (startsWith(head, [0xff, 0xfe])) return { what: "UTF-16 (little-endian) text", ...asUtf8 };
  if (startsWith(head, [0xfe, 0xff])) return { what: "UTF-16 (big-endian) text", ...asUtf8 };
  for (const s of SIGNATURES) if (startsWith(head, s.bytes)) return { what: s.what, advice: s.advice };
  const nul = head.indexOf(0);
  if (nul < 0) return undefined;
  // UTF-16 without a byte-order mark: ASCII characters with a NUL on the same side of (nearly) every pair.
  if (head.length >= 8) {
    let even = 0;
    let odd = 0;
    for (let i = 0; i < head.length; i++) {
      if (head[i] === 0) {
        if (i % 2 === 0) even++;
        else odd++;
      }
    }
    const pairs = Math.floor(head.length / 2);
    if (odd >= 0.9 * pairs && even === 0) {
      return { what: "UTF-16 (little-endian) text without a byte-order mark", ...asUtf8 };
    }
    if (even >= 0.9 * pairs && odd === 0) {
      return { what: "UTF-16 (big-endian) text without a byte-order mark", ...asUtf8 };
    }
  }
  return { what: `binary data (a NUL byte at byte ${nul + 1}), not text`, advice: "point --data at CSV text files" };
}

/**
 * The first line holding bytes that are not valid UTF-8, with the offending byte, or undefined when the text is valid
 * UTF-8. Lines are split at `\n` bytes, which never occur inside a multi-byte UTF-8 sequence, so the line is exact.
 */
export function firstInvalidUtf8Line(bytes: Uint8Array): { line: number; byte: number } | undefined {
  const fatal = new TextDecoder("utf-8", { fatal: true });
  try {
    fatal.decode(bytes);
    return undefined;
  } catch { /* find where, line by line */ }
  const lossy = new TextDecoder("utf-8");
  const encoder = new TextEncoder();
  let start = 0;
  for (let line = 1; start <= bytes.length; line++) {
    let end = bytes.indexOf(10, start);
    if (end < 0) end = bytes.length;
    const chunk = bytes.subarray(start, end);
    try {
      fatal.decode(chunk);
    } catch {
      // Decoded leniently, a bad byte becomes U+FFFD; the valid text before it re-encodes to its byte offset. A
      // genuine U+FFFD in the file (bytes ef bf bd) is skipped.
      const text = lossy.decode(chunk);
      for (let i = text.indexOf("\uFFFD"); i >= 0; i = text.indexOf("\uFFFD", i + 1)) {
        const at = encoder.encode(text.slice(0, i)).length;
        if (!(chunk[at] === 0xef && chunk[at + 1] === 0xbf && chunk[at + 2] === 0xbd)) return { line, byte: chunk[at] };
      }
      return { line, byte: chunk[0] };
    }
    start = end + 1;
  }
  return undefined;
}

/** Refuses content {@link identifyContent} recognizes as not being CSV text, naming what it is. */
export function assertTextContent(file: PriceFile, bytes: Uint8Array): void {
  const kind = identifyContent(bytes);
  if (kind === undefined) return;
  throw new DataError(`not CSV text: the ${file.format === "csv.gz" ? "decompressed " : ""}content is ${kind.what}`, {
    file: file.path,
    expected: `comma-separated UTF-8 text with a header line; ${kind.advice}`,
    found: hexPrefix(bytes),
  });
}

/** The first bytes of a file in hex, for messages about binary content. */
function hexPrefix(bytes: Uint8Array): string {
  return [...bytes.subarray(0, 8)].map((b) => b.toString(16).padStart(2, "0")).join(" ") +
    (bytes.length > 8 ? " …" : "");
}

/**
 * The file's bytes, decompressed for `.csv.gz`, without a UTF-8 byte-order mark.
 *
 * @throws DataError for a file that cannot be read (loop, broken link, permission, folder), a `.csv.gz` that is not
 *   gzip (saying what it is instead), or a truncated or corrupt gzip stream.
 */
export async function readPriceFileBytes(file: PriceFile): Promise<Buffer> {
  let bytes: Buffer;
  try {
    bytes = await readFile(file.path);
  } catch (e) {
    throw await fileSystemError(file.path, e, "file");
  }
  if (file.format === "csv.gz") bytes = await gunzipPriceFile(file, bytes);
  if (file.format !== "parquet" && bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) {
    bytes = bytes.subarray(3);
  }
  return bytes;
}

async function gunzipPriceFile(file: PriceFile, bytes: Buffer): Promise<Buffer> {
  if (!startsWith(bytes, [0x1f, 0x8b])) {
    const kind = identifyContent(bytes);
    const what = bytes.length === 0
      ? "an empty file"
      : kind?.what ?? "plain text, not compressed (name it .csv, or compress it with gzip)";
    throw new DataError("not a gzip file", {
      file: file.path,
      expected: `gzip-compressed CSV (a file starting with the bytes 1f 8b)${kind ? `; ${kind.advice}` : ""}`,
      found: `${what}: ${hexPrefix(bytes)}`,
    });
  }
  try {
    return await gunzipAsync(bytes);
  } catch (e) {
    const reason = (e as Error).message;
    const truncated = /unexpected end of file/i.test(reason);
    throw new DataError(truncated ? "truncated gzip file" : "corrupt gzip file", {
      file: file.path,
      expected: truncated
        ? "a complete gzip stream (the file ends early: an interrupted download or copy?)"
        : "an intact gzip stream",
      found: `${bytes.length} compressed bytes; zlib: ${reason}`,
    }, { cause: e });
  }
}
