/**
 * A fingerprint of a study's input: which price files, with exactly which bytes. Stored with every study and every
 * production model, so a result can be tied to its data and a changed file is noticed.
 *
 * The fingerprint is `sha256:` + the SHA-256 of the sorted lines `<file name>\t<size>\t<sha256 of the bytes>` of the
 * files the loader reads from `source` (a file, or the `.csv`, `.csv.gz` and `.parquet` files of a folder — the same
 * rule as `loadPanel`). Names are relative to the folder, so moving the folder keeps the fingerprint.
 *
 * @module
 */

import { basename, join } from "node:path";
import { DataError } from "../errors.ts";

const PRICE_FILE = /\.(csv|csv\.gz|parquet)$/i;

async function sha256Hex(bytes: BufferSource): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", bytes);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** The files of `source` the loader reads: `[name, path]` pairs, sorted by name. */
async function priceFiles(source: string): Promise<Array<[string, string]>> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(source);
  } catch {
    throw new DataError("file or folder not found", { file: source, found: "nothing at this path" });
  }
  if (!info.isDirectory) return [[basename(source), source]];
  const out: Array<[string, string]> = [];
  for await (const e of Deno.readDir(source)) {
    if (PRICE_FILE.test(e.name)) out.push([e.name, join(source, e.name)]);
  }
  return out.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
}

/** The fingerprint of the price files at `source` (see the module notes) and the number of files it covers. */
export async function fingerprintFiles(source: string): Promise<{ fingerprint: string; files: number }> {
  const files = await priceFiles(source);
  const lines: string[] = [];
  for (const [name, path] of files) {
    const bytes = await Deno.readFile(path);
    lines.push(`${name}\t${bytes.length}\t${await sha256Hex(bytes)}`);
  }
  return { fingerprint: `sha256:${await sha256Hex(new TextEncoder().encode(lines.join("\n")))}`, files: files.length };
}
