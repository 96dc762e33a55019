/**
 * Where the job queue lives: a Redis server named by a `redis://` (or TLS `rediss://`) URL, as `candor worker` and
 * `candor run --queue` take it: `redis://[user:password@]host[:port][/db]`. Every worker and the coordinator of a
 * study must name the same server and database number; clusters that must not share jobs use different database
 * numbers (or servers).
 *
 * BullMQ needs `maxRetriesPerRequest: null` on its connections (a blocked worker connection must wait for Redis to
 * come back rather than fail the command), so a Redis restart pauses workers and the coordinator instead of failing
 * them.
 *
 * @module
 */

import type { Queue, QueueEvents, RedisOptions } from "bullmq";
import type { RedisOptions as RedisClientOptions } from "ioredis";
import { ConfigError } from "../errors.ts";

/** Connection options (BullMQ's, passed on to ioredis) for the queue at `url`. */
export function redisConnection(url: string): RedisOptions {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new ConfigError(`--queue: expected a redis://host:port URL, found ${JSON.stringify(redactRedisUrl(url))}`);
  }
  if (u.protocol !== "redis:" && u.protocol !== "rediss:") {
    throw new ConfigError(
      `--queue: expected a redis:// or rediss:// URL (the Redis server holding the job queue), found ${
        JSON.stringify(redactRedisUrl(url))
      }`,
    );
  }
  const db = u.pathname === "" || u.pathname === "/" ? 0 : Number(u.pathname.slice(1));
  if (!Number.isInteger(db) || db < 0) {
    throw new ConfigError(`--queue: the database number after the host must be an integer ≥ 0, found ${u.pathname}`);
  }
  return {
    host: u.hostname === "" ? "127.0.0.1" : u.hostname.replace(/^\[|\]$/g, ""),
    port: u.port === "" ? 6379 : Number(u.port),
    db,
    ...(u.username === "" ? {} : { username: decodeURIComponent(u.username) }),
    ...(u.password === "" ? {} : { password: decodeURIComponent(u.password) }),
    ...(u.protocol === "rediss:" ? { tls: {} } : {}),
    maxRetriesPerRequest: null,
  };
}

/** A Redis URL safe to print: the password replaced by `***`. */
export function redactRedisUrl(url: string): string {
  return url.replace(/(\/\/[^:/@]*:)[^@]*@/, "$1***@");
}

/**
 * Checks that the queue's Redis answers, within `timeoutMs`: one connection without retries, a PING, closed again.
 * BullMQ's own connections retry forever (so a Redis restart only pauses them), which would make a wrong `--queue`
 * hang instead of failing; this probe makes it fail at once with the reason.
 */
export async function probeRedis(url: string, timeoutMs = 10_000): Promise<void> {
  // Loaded here, not with the module: ioredis (CommonJS) would otherwise be paid by every import of the library.
  const { Redis } = await import("ioredis");
  const client = new Redis({
    ...redisConnection(url),
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    connectTimeout: timeoutMs,
  } as RedisClientOptions);
  let cause = "";
  client.on("error", (e: Error) => (cause ||= e.message)); // the first error says why; reported below
  try {
    await client.connect();
    await client.ping();
  } catch (e) {
    const why = cause || (e as Error).message;
    throw new ConfigError(
      `cannot reach the queue's Redis at ${redactRedisUrl(url)} (${why}): is redis-server running there, and does ` +
        `this machine reach it?`,
    );
  } finally {
    client.disconnect();
  }
}

/** BullMQ job states in which a job has not started yet (what a stopping coordinator removes). */
export const NOT_STARTED: ReadonlySet<string> = new Set([
  "waiting",
  "delayed",
  "prioritized",
  "paused",
  "waiting-children",
]);

/** A coordinator's live view of its jobs on the workers, from {@link watchJobs}. */
export interface JobWatch {
  /** Running jobs (by id) and their last reported progress in [0, 1]. */
  running: Map<string, number>;
  /** Waits `ms`, or less: a job of the coordinator's that completes or fails ends the wait at once. */
  sleep(ms: number): Promise<void>;
}

/**
 * Follows the queue's job events for the jobs `mine` accepts: which are running and how far along (their `fraction`
 * progress), with a sleep that a finished or failed job cuts short; `onSettled` hears each finished or failed job.
 * The study and sweep coordinators share this.
 */
export function watchJobs(
  events: QueueEvents,
  mine: (jobId: string) => boolean,
  onSettled: (jobId: string) => void = () => {},
): JobWatch {
  const running = new Map<string, number>();
  let wake = () => {};
  events.on("active", ({ jobId }) => mine(jobId) && running.set(jobId, 0));
  events.on("progress", ({ jobId, data }) => {
    if (!mine(jobId)) return;
    const f = (data as { fraction?: number }).fraction;
    running.set(jobId, typeof f === "number" && Number.isFinite(f) ? f : 0);
  });
  const settled = ({ jobId }: { jobId: string }) => {
    if (!mine(jobId)) return;
    running.delete(jobId);
    onSettled(jobId);
    wake();
  };
  events.on("completed", settled);
  events.on("failed", settled);
  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  return { running, sleep };
}

/** A coordinator's clients on the queue, from {@link withQueueClients}. */
export interface QueueClients<Data, Result> {
  /** The queue the coordinator adds jobs to and asks about them. */
  queue: Queue<Data, Result>;
  /** The queue's event stream (job progress, completion, failure). */
  events: QueueEvents;
  /** Records a connection error of another client the coordinator opened on the same Redis. */
  onError: (e: Error) => void;
  /**
   * The last connection error since the previous call, as a suffix for a progress message (`""` when there was
   * none), then forgotten: while Redis restarts the clients reconnect on their own, so errors are shown, not thrown.
   */
  connectionNote(): string;
}

/**
 * Checks the queue's Redis answers ({@link probeRedis}), opens a Queue and its QueueEvents on `queueName`, runs `fn`
 * with them, and closes both — boundedly (5 s), since Redis may be gone by then. bullmq is loaded here, not with the
 * module: it is CommonJS and would otherwise be paid by every import of the library. The study and sweep
 * coordinators share this.
 */
export async function withQueueClients<Data, Result, T>(
  url: string,
  queueName: string,
  connectTimeoutMs: number,
  fn: (clients: QueueClients<Data, Result>) => Promise<T>,
): Promise<T> {
  await probeRedis(url, connectTimeoutMs);
  const connection = redisConnection(url);
  const { Queue, QueueEvents } = await import("bullmq");
  const queue = new Queue<Data, Result>(queueName, { connection });
  const events = new QueueEvents(queueName, { connection });
  let last = "";
  const onError = (e: Error) => (last = e.message);
  queue.on("error", onError);
  events.on("error", onError);
  const connectionNote = () => {
    const note = last === "" ? "" : ` (queue connection: ${last}; reconnecting)`;
    last = "";
    return note;
  };
  try {
    await Promise.all([queue.waitUntilReady(), events.waitUntilReady()]);
    return await fn({ queue, events, onError, connectionNote });
  } finally {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const closing = Promise.allSettled([events.close(), queue.close()]);
    await Promise.race([closing, new Promise((r) => (timer = setTimeout(r, 5_000)))]);
    clearTimeout(timer); // a pending timer would keep the process alive after the clients closed
  }
}
