/**
 * What the distributed tests need around them: a Redis (CI's shared one, `CANDOR_TEST_REDIS_URL`, or a throwaway
 * Debian `redis-server` on a free loopback port in a temp folder, with append-only persistence when the test kills
 * and restarts it); a fresh database on the throwaway Postgres cluster of the store tests (or CI's,
 * `CANDOR_TEST_POSTGRES_URL`); and `candor worker` (or `candor run`) child processes whose stderr is collected so a
 * test can wait for a line and kill a process at a chosen moment.
 *
 * When redis-server or Postgres is missing, {@link scaleoutServices} says why and the tests skip.
 */

import postgres from "postgres";
import { Redis } from "ioredis";
import { postgresForTests } from "../store/_postgres_cluster.ts";

/** A Redis server started by the test. */
export interface TestRedis {
  /** `redis://127.0.0.1:<port>`. */
  url: string;
  /** Its folder (the append-only file lives there). */
  dir: string;
  /** Kills it at once (SIGKILL: no shutdown save), as a crash would. */
  kill(): Promise<void>;
  /** Starts it again on the same port and folder. */
  restart(): Promise<void>;
  /** Stops it and removes its folder. */
  stop(): Promise<void>;
}

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

function redisBinary(): string | undefined {
  for (const p of ["/usr/bin/redis-server", "/usr/local/bin/redis-server"]) {
    try {
      Deno.statSync(p);
      return p;
    } catch { /* next */ }
  }
  return undefined;
}

async function waitForPort(port: number, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    try {
      const c = await Deno.connect({ hostname: "127.0.0.1", port });
      await c.write(new TextEncoder().encode("PING\r\n"));
      const buf = new Uint8Array(64);
      const n = await c.read(buf);
      c.close();
      if (n !== null && new TextDecoder().decode(buf.subarray(0, n)).startsWith("+PONG")) return;
    } catch { /* not up yet */ }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`redis-server did not answer on port ${port} within ${timeoutMs} ms`);
}

let sharedDatabases = 0;

/**
 * A Redis for one test. With `CANDOR_TEST_REDIS_URL` set (CI starts one redis-server for the run) and no need to kill
 * it, a database of that server of its own (1, 2, ..., flushed afterwards); otherwise a throwaway redis-server, with
 * the append-only file on (fsynced on every write) when `persistent`.
 */
export async function startRedis(persistent = false): Promise<TestRedis> {
  const shared = Deno.env.get("CANDOR_TEST_REDIS_URL");
  if (shared && !persistent) {
    const db = 1 + (sharedDatabases++ % 15);
    const url = `${shared.replace(/\/\d*$/, "")}/${db}`;
    const flush = async () => {
      const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
      try {
        await client.connect();
        await client.flushdb();
      } finally {
        client.disconnect();
      }
    };
    await flush();
    const cannot = () => Promise.reject(new Error("the shared test Redis cannot be killed; ask for a persistent one"));
    return { url, dir: "", kill: cannot, restart: cannot, stop: flush };
  }
  return await startOwnRedis(persistent);
}

/** Starts a throwaway redis-server; `persistent` turns on the append-only file, fsynced on every write. */
async function startOwnRedis(persistent: boolean): Promise<TestRedis> {
  const bin = redisBinary()!;
  const dir = await Deno.makeTempDir({ prefix: "candor-redis-" });
  const port = freePort();
  const args = [
    "--port",
    String(port),
    "--bind",
    "127.0.0.1",
    "--dir",
    dir,
    "--save",
    "",
    "--appendonly",
    persistent ? "yes" : "no",
    "--appendfsync",
    "always",
    "--daemonize",
    "no",
    "--logfile",
    `${dir}/redis.log`,
  ];
  let child: Deno.ChildProcess | undefined;
  const launch = async () => {
    child = new Deno.Command(bin, { args, stdout: "null", stderr: "null", stdin: "null" }).spawn();
    await waitForPort(port, 10_000);
  };
  await launch();
  const kill = async () => {
    if (child === undefined) return;
    try {
      child.kill("SIGKILL");
    } catch { /* already gone */ }
    await child.status;
    child = undefined;
  };
  return {
    url: `redis://127.0.0.1:${port}`,
    dir,
    kill,
    restart: launch,
    stop: async () => {
      await kill();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    },
  };
}

/** Why the distributed tests cannot run here, or the Postgres server they use. */
export async function scaleoutServices(): Promise<{ postgresUrl: string } | { skip: string }> {
  if (redisBinary() === undefined) {
    return { skip: "no redis-server: install Debian's redis-server (apt-get install redis-server)" };
  }
  const pg = await postgresForTests();
  if ("skip" in pg) return { skip: pg.skip };
  return { postgresUrl: pg.url };
}

let databases = 0;

/** A fresh, empty database on the test cluster; returns its URL and how to drop it. */
export async function freshDatabase(serverUrl: string): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `candor_scaleout_${Date.now().toString(36)}_${databases++}`;
  const admin = postgres(serverUrl, { onnotice: () => {}, max: 1 });
  try {
    await admin.unsafe(`CREATE DATABASE "${name}"`);
  } finally {
    await admin.end();
  }
  const u = new URL(serverUrl);
  u.pathname = `/${name}`;
  const url = u.toString();
  return {
    url,
    drop: async () => {
      const a = postgres(serverUrl, { onnotice: () => {}, max: 1 });
      try {
        await a.unsafe(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      } finally {
        await a.end();
      }
    },
  };
}

/** A `candor` child process whose stderr (and stdout) text is collected as it arrives. */
export class CandorProcess {
  readonly #child: Deno.ChildProcess;
  /** Everything it wrote to stderr so far. */
  stderr = "";
  /** Everything it wrote to stdout so far. */
  stdout = "";
  /** Resolves with its exit status. */
  readonly status: Promise<Deno.CommandStatus>;
  readonly #pumps: Promise<void>[];

  /** Starts `deno run -A [denoFlags] lib/cli/main.ts ...args`. */
  constructor(args: string[], options: { denoFlags?: string[]; env?: Record<string, string> } = {}) {
    this.#child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", ...(options.denoFlags ?? []), "lib/cli/main.ts", ...args],
      stdout: "piped",
      stderr: "piped",
      stdin: "null",
      env: { NO_COLOR: "1", ...(options.env ?? {}) },
    }).spawn();
    const pump = async (stream: ReadableStream<Uint8Array>, key: "stderr" | "stdout") => {
      const dec = new TextDecoder();
      for await (const chunk of stream) this[key] += dec.decode(chunk, { stream: true });
    };
    this.#pumps = [pump(this.#child.stderr, "stderr"), pump(this.#child.stdout, "stdout")];
    this.status = this.#child.status;
  }

  /** Waits until stderr matches `pattern` (rejects after `timeoutMs` or if the process exits first). */
  async waitFor(pattern: RegExp, timeoutMs = 120_000): Promise<RegExpMatchArray> {
    const until = Date.now() + timeoutMs;
    let exited = false;
    this.status.then(() => (exited = true));
    while (Date.now() < until) {
      const m = this.stderr.match(pattern);
      if (m !== null) return m;
      if (exited) {
        await Promise.all(this.#pumps);
        const again = this.stderr.match(pattern);
        if (again !== null) return again;
        throw new Error(`process exited before ${pattern}; stderr:\n${this.stderr}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`no ${pattern} within ${timeoutMs} ms; stderr:\n${this.stderr}`);
  }

  /** Sends a signal (SIGKILL: killed mid-whatever, as a lost machine). */
  kill(signal: Deno.Signal = "SIGKILL"): void {
    try {
      this.#child.kill(signal);
    } catch { /* already gone */ }
  }

  /** Waits for it to exit and for its output to be read. */
  async done(): Promise<Deno.CommandStatus> {
    const s = await this.status;
    await Promise.all(this.#pumps);
    return s;
  }
}

/**
 * Starts a worker process on `queue` and `db`, waits until it takes jobs. Tests use a 2-second job lock so a killed
 * worker's job is retried quickly (a job whose worker blocks its event loop longer than that runs twice; the store
 * keeps one copy); the benchmark uses the default (120 s).
 */
export async function startWorkerProcess(
  name: string,
  queue: string,
  db: string,
  extra: string[] = [],
  denoFlags: string[] = [],
  lockSeconds = 2,
): Promise<CandorProcess> {
  const p = new CandorProcess(
    ["worker", "--queue", queue, "--db", db, "--name", name, "--lock-seconds", String(lockSeconds), ...extra],
    { denoFlags },
  );
  await p.waitFor(/taking jobs from/);
  return p;
}
