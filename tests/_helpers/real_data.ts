/**
 * Locates the real S&P 500 price files used by real-data tests and benchmarks.
 *
 * The product never depends on them: tests point at them through `CANDOR_REAL_DATA` (a folder of `<SYMBOL>.csv.gz`),
 * defaulting to `../shared/data/sp500` next to the repository. When neither exists, real-data tests are skipped with a
 * message saying how to enable them.
 *
 * @module
 */

import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const repoRoot = fileURLToPath(new URL("../../", import.meta.url));

/** Absolute path of the real-data folder, or undefined when it is absent. */
export function realDataDir(): string | undefined {
  const fromEnv = Deno.env.get("CANDOR_REAL_DATA");
  const candidate = fromEnv ?? join(repoRoot, "..", "shared", "data", "sp500");
  return existsSync(candidate) ? candidate : undefined;
}

/** Why real-data tests are skipped, for `ignore` messages. */
export const REAL_DATA_SKIP_MESSAGE =
  "real-data test skipped: set CANDOR_REAL_DATA to a folder of <SYMBOL>.csv.gz price files (e.g. ../shared/data/sp500)";

/** Path of one symbol's file in the real-data folder, or undefined when the folder is absent. */
export function realDataFile(symbol: string): string | undefined {
  const dir = realDataDir();
  return dir === undefined ? undefined : join(dir, `${symbol}.csv.gz`);
}

/**
 * `Deno.test` options for a real-data test: ignored (with the skip message printed once) when the data is absent.
 */
export function realDataTest(name: string, fn: (dir: string) => void | Promise<void>): void {
  const dir = realDataDir();
  if (dir === undefined) console.warn(`${name}: ${REAL_DATA_SKIP_MESSAGE}`);
  Deno.test({ name, ignore: dir === undefined, fn: () => fn(dir!) });
}
