/**
 * The worker thread of ./series_parallel.ts; the job itself is ./series_worker_job.ts (importable by tests, which
 * run it on their own thread).
 *
 * @module
 */

import type { SeriesJob } from "./series_parallel.ts";
import { runSeriesJob } from "./series_worker_job.ts";

(self as unknown as Worker).onmessage = (event: MessageEvent<SeriesJob>) => runSeriesJob(event.data);
