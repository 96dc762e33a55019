/**
 * `candor run --queue URL --db postgres://…`: the study's folds trained by `candor worker` processes
 * (lib/scaleout/coordinator.ts), the result printed exactly as a local run prints it. `--resume STUDY_ID` reattaches
 * to a running study whose coordinator stopped; its configuration is read from the store, so no configuration flag
 * may be given with it.
 *
 * @module
 */

import { isPostgresUrl, openStore, redactUrl, resolveStoreLocation } from "../store/mod.ts";
import type { StudyConfig } from "../pipeline/config.ts";
import type { StudyProgress } from "../pipeline/study.ts";
import { redactRedisUrl } from "../scaleout/connection.ts";
import { runStudyOnQueue } from "../scaleout/coordinator.ts";
import { integerOption, UsageError } from "./args.ts";
import { formatStudy, studyJson } from "./format.ts";
import { CONFIG_FLAGS } from "./run.ts";

/** Runs a study on the queue for `candor run`/`candor demo`; returns the exit status. */
export async function runOnQueue(
  config: StudyConfig | undefined,
  values: Record<string, string | boolean | string[] | undefined>,
  bar: { update: (p: StudyProgress) => void; stop: () => void },
): Promise<number> {
  const queue = (values.queue as string | undefined) ?? Deno.env.get("CANDOR_QUEUE") ?? "";
  if (queue === "") throw new UsageError("--attempts goes with --queue redis://HOST:PORT");
  if (values["no-store"]) throw new UsageError("--queue needs the shared run store: drop --no-store");
  if (values.production) {
    throw new UsageError("--production does not go with --queue yet: run the study, then candor train on it");
  }
  const db = resolveStoreLocation(values.db as string | undefined);
  if (!isPostgresUrl(db)) {
    throw new UsageError(
      `--queue needs the run store as a postgres:// URL every worker can reach (--db or CANDOR_DB), found ${
        JSON.stringify(redactUrl(db))
      }`,
    );
  }
  const resume = values.resume as string | undefined;
  if (resume !== undefined) {
    const given = CONFIG_FLAGS.filter((f) => values[f] !== undefined);
    if (given.length > 0) {
      throw new UsageError(
        `--resume reads the study's configuration from the store; drop ${given.map((f) => `--${f}`).join(", ")}`,
      );
    }
  }
  const attempts = integerOption(values.attempts, "attempts", 1);
  const store = openStore(db);
  try {
    const result = await runStudyOnQueue(resume === undefined ? config : undefined, {
      store,
      queue,
      ...(resume === undefined ? {} : { resume }),
      ...(attempts === undefined ? {} : { attempts }),
      onProgress: bar.update,
      onQueued: ({ studyId, jobs, resumed }) =>
        console.error(
          `candor: study ${studyId} ${resumed ? "reattached" : "started"}: ${jobs} job(s) queued on ` +
            `${redactRedisUrl(queue)} for candor worker processes. If this process stops, the workers carry on; ` +
            `reattach with: candor run --resume ${studyId} --queue ${redactRedisUrl(queue)} --db ${redactUrl(db)}`,
        ),
    });
    bar.stop();
    console.log(values.json ? JSON.stringify(studyJson(result.report), null, 2) : formatStudy(result.report));
    return 0;
  } finally {
    bar.stop();
    await store.close();
  }
}
