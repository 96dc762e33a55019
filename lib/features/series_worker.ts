/**
 * The worker thread of ./series_parallel.ts. It imports its job (./series_worker_job.ts, and with it the feature
 * catalog) dynamically: `new Worker` prepares a worker's static imports on the caller's thread, which for the catalog
 * blocked the caller for about a second; a dynamic import loads them on the worker's own thread.
 *
 * @module
 */

import type { SeriesJob } from "./series_parallel.ts";

(self as unknown as Worker).onmessage = async (event: MessageEvent<SeriesJob>) => {
  const { runSeriesJob } = await import("./series_worker_job.ts");
  runSeriesJob(event.data);
};
