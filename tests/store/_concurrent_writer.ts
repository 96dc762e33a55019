/**
 * Helper process for the concurrency test: appends `count` folds to `runId` in the store at `path`, one transaction
 * each, while the test process writes to the same file.
 *
 * Usage: deno run -A tests/store/_concurrent_writer.ts PATH RUN_ID COUNT
 */
import { openStore } from "../../lib/store/mod.ts";
import { sampleFold } from "./contract.ts";

const [path, runId, count] = Deno.args;
const store = openStore(path);
try {
  for (let i = 0; i < Number(count); i++) await store.appendFold(runId, sampleFold(i));
} finally {
  await store.close();
}
