/**
 * A closed-loop HTTP/1.1 load generator for the GraphQL server benchmark: `clients` keep-alive connections to a
 * loopback address, each sending one POST and waiting for its answer before sending the next, for a fixed time or
 * request count. Returns throughput and latency percentiles.
 *
 * Hand-written on `Deno.connect` rather than `fetch`: on a 2-core machine the client shares the CPU with the server,
 * and fetch's per-request cost (≈ 3× the server's cached path) would cap and distort the measurement. It speaks only
 * what the benchmark needs: fixed request bytes, `Content-Length` responses (no chunked bodies), keep-alive.
 *
 * Refuses any host but 127.0.0.1 / localhost / ::1: load is only ever sent to this machine.
 *
 * @module
 */

/** What to send and for how long. */
export interface LoadOptions {
  /** Endpoint, e.g. http://127.0.0.1:4000/graphql (loopback only). */
  url: string;
  /** JSON request body. */
  body: string;
  /** Concurrent connections (default 8). */
  clients?: number;
  /** Measured duration in seconds, after `warmupSeconds` (default 5). */
  seconds?: number;
  /** Unmeasured warm-up in seconds (default 1). */
  warmupSeconds?: number;
  /** Stop after this many measured requests even if time remains (default 200,000). */
  maxRequests?: number;
  /** Extra request headers. */
  headers?: Record<string, string>;
}

/** Throughput and latency of one load run. */
export interface LoadResult {
  /** Completed requests per second over the measured window. */
  rps: number;
  /** Latency percentiles in milliseconds. */
  p50: number;
  p90: number;
  p99: number;
  max: number;
  /** Measured requests. */
  requests: number;
  /** Responses that were not 200 or whose body held `"errors"`. */
  failures: number;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
}

/** One keep-alive connection that sends `request` and reads one Content-Length response at a time. */
class Connection {
  #buffer = new Uint8Array(1 << 16);
  #filled = 0;
  private constructor(readonly conn: Deno.TcpConn) {}

  static async open(hostname: string, port: number): Promise<Connection> {
    const conn = await Deno.connect({ hostname, port });
    conn.setNoDelay(true);
    return new Connection(conn);
  }

  async #fill(): Promise<void> {
    if (this.#filled === this.#buffer.length) {
      const bigger = new Uint8Array(this.#buffer.length * 2);
      bigger.set(this.#buffer);
      this.#buffer = bigger;
    }
    const n = await this.conn.read(this.#buffer.subarray(this.#filled));
    if (n === null) throw new Error("the server closed the connection");
    this.#filled += n;
  }

  /** Sends the request bytes and returns the status and body of the response. */
  async exchange(request: Uint8Array): Promise<{ status: number; body: string }> {
    let written = 0;
    while (written < request.length) written += await this.conn.write(request.subarray(written));
    let headerEnd = -1;
    for (;;) {
      for (let i = 3; i < this.#filled; i++) {
        if (this.#buffer[i] === 10 && this.#buffer[i - 1] === 13 && this.#buffer[i - 2] === 10) {
          headerEnd = i + 1;
          break;
        }
      }
      if (headerEnd >= 0) break;
      await this.#fill();
    }
    const head = decoder.decode(this.#buffer.subarray(0, headerEnd));
    const status = Number(head.slice(9, 12));
    const length = Number(head.match(/\r\ncontent-length:\s*(\d+)/i)?.[1]);
    if (!Number.isFinite(length)) throw new Error(`response without Content-Length: ${head.slice(0, 200)}`);
    while (this.#filled < headerEnd + length) await this.#fill();
    const body = decoder.decode(this.#buffer.subarray(headerEnd, headerEnd + length));
    this.#buffer.copyWithin(0, headerEnd + length, this.#filled);
    this.#filled -= headerEnd + length;
    return { status, body };
  }

  close(): void {
    try {
      this.conn.close();
    } catch { /* already closed */ }
  }
}

/** Runs closed-loop load against `options.url` and measures it. */
export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const url = new URL(options.url);
  if (!["127.0.0.1", "localhost", "[::1]"].includes(url.hostname)) {
    throw new Error(`load is only sent to this machine (127.0.0.1), not ${url.hostname}`);
  }
  const clients = options.clients ?? 8;
  const maxRequests = options.maxRequests ?? 200_000;
  const body = encoder.encode(options.body);
  const extra = Object.entries(options.headers ?? {}).map(([k, v]) => `${k}: ${v}\r\n`).join("");
  const head = `POST ${url.pathname} HTTP/1.1\r\nhost: ${url.host}\r\ncontent-type: application/json\r\n` +
    `accept: application/json\r\ncontent-length: ${body.length}\r\n${extra}\r\n`;
  const request = new Uint8Array([...encoder.encode(head), ...body]);
  const port = Number(url.port || 80);
  const hostname = url.hostname === "[::1]" ? "::1" : url.hostname;
  const conns = await Promise.all(Array.from({ length: clients }, () => Connection.open(hostname, port)));
  const latencies = new Float64Array(maxRequests);
  let measured = 0;
  let failures = 0;
  const warmupEnd = performance.now() + 1000 * (options.warmupSeconds ?? 1);
  const end = warmupEnd + 1000 * (options.seconds ?? 5);
  let windowStart = NaN;
  let windowEnd = NaN;
  try {
    await Promise.all(conns.map(async (c) => {
      for (;;) {
        const t0 = performance.now();
        if (t0 >= end || measured >= maxRequests) return;
        const { status, body } = await c.exchange(request);
        const t1 = performance.now();
        if (t0 < warmupEnd) continue;
        if (Number.isNaN(windowStart)) windowStart = t0;
        if (measured >= maxRequests) return;
        latencies[measured++] = t1 - t0;
        windowEnd = t1;
        if (status !== 200 || body.includes('"errors"')) failures++;
      }
    }));
  } finally {
    for (const c of conns) c.close();
  }
  const sorted = latencies.subarray(0, measured).sort();
  return {
    rps: measured / ((windowEnd - windowStart) / 1000),
    p50: percentile(sorted, 0.5),
    p90: percentile(sorted, 0.9),
    p99: percentile(sorted, 0.99),
    max: sorted[measured - 1] ?? NaN,
    requests: measured,
    failures,
  };
}

if (import.meta.main) {
  const [url, seconds = "5", query = "{ runs(limit: 20) { id status folds { index metrics { name value } } } }"] =
    Deno.args;
  console.log(JSON.stringify(await runLoad({ url, seconds: Number(seconds), body: JSON.stringify({ query }) })));
}
