/**
 * HTTP building blocks of the server that treat the browser as hostile: which `Host` names and `Origin`s are
 * accepted, the security headers of every response, a bound on concurrent executions, a bounded request-body reader
 * and the response cache.
 *
 * Why each exists:
 * - **Host allow-list** (loopback names by default): a web page can make its own domain resolve to 127.0.0.1 (DNS
 *   rebinding) and then read the API as same-origin; its requests still name its own domain in `Host`, so they are
 *   refused.
 * - **Origin check and no CORS by default**: a page on another origin can send requests to 127.0.0.1 but must neither
 *   read the answers (no `Access-Control-Allow-Origin` unless the origin is allow-listed) nor trigger work by a form or
 *   `text/plain` POST (only `application/json` bodies are executed, and a cross-origin `Origin` is refused).
 * - **Concurrency gate**: a request's memory is bounded by the value budget (guard.ts); bounding how many run at once
 *   bounds the server's.
 * - **Response cache**: dashboards poll the same queries; an answer is reused only while the store's change token is
 *   unchanged, i.e. while no write has been committed since it was computed.
 *
 * @module
 */

/** True for hosts only this machine can reach: `localhost`, `*.localhost`, 127.0.0.0/8 and `::1`. */
export function isLoopback(host: string): boolean {
  const h = host.toLowerCase();
  return h === "localhost" || h.endsWith(".localhost") || h === "::1" || h === "[::1]" ||
    /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

/** Host names (without port) accepted in `Host` besides the loopback names; lower-cased, brackets kept for IPv6. */
export function normalizeHostName(name: string): string {
  const h = name.trim().toLowerCase();
  if (h.startsWith("[")) return h.slice(0, h.indexOf("]") + 1);
  const colons = h.split(":").length - 1;
  if (colons === 1) return h.slice(0, h.indexOf(":")); // host:port
  if (colons > 1) return `[${h}]`; // bare IPv6
  return h;
}

/** Decides which `Host` names and cross-origin `Origin`s a server accepts. */
export class HostPolicy {
  readonly #hosts: Set<string>;
  readonly #origins: Set<string>;

  /**
   * @param extraHosts host names accepted besides loopback (a port, if given, is ignored).
   * @param allowedOrigins origins (`scheme://host[:port]`) allowed to call the API cross-origin (CORS).
   */
  constructor(extraHosts: readonly string[] = [], allowedOrigins: readonly string[] = []) {
    this.#hosts = new Set(extraHosts.filter((h) => h.trim() !== "").map(normalizeHostName));
    this.#origins = new Set(
      allowedOrigins.filter((o) => o.trim() !== "").map((o) => {
        let url: URL;
        try {
          url = new URL(o.trim());
        } catch {
          throw new TypeError(`allowed origin ${JSON.stringify(o)} is not a URL like https://dashboard.example.com`);
        }
        return url.origin;
      }),
    );
  }

  /** Whether a request URL's host (from the `Host` header) may be served. */
  hostAllowed(hostname: string): boolean {
    const h = normalizeHostName(hostname);
    return isLoopback(h) || this.#hosts.has(h);
  }

  /** Whether `origin` is on the CORS allow-list. */
  corsAllowed(origin: string): boolean {
    return this.#origins.has(origin);
  }

  /**
   * Whether a request carrying `Origin: origin` to `url` may be executed: no Origin (curl, scripts), the same host
   * and port as the request, or an allow-listed origin. `Origin: null` (sandboxed frames, files) is refused.
   */
  originAllowed(origin: string | null, url: URL): boolean {
    if (origin === null) return true;
    if (this.corsAllowed(origin)) return true;
    try {
      return new URL(origin).host === url.host;
    } catch {
      return false;
    }
  }
}

/** Headers every response carries. */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "x-frame-options": "DENY",
  "cross-origin-resource-policy": "same-origin",
};

/** Adds the security headers, the request id and (for allow-listed origins) CORS headers to a response. */
export function finishHeaders(headers: Headers, requestId: string, corsOrigin: string | null): void {
  for (const [k, v] of Object.entries(SECURITY_HEADERS)) if (!headers.has(k)) headers.set(k, v);
  headers.set("x-request-id", requestId);
  if (corsOrigin !== null) {
    headers.set("access-control-allow-origin", corsOrigin);
    headers.set("access-control-expose-headers", "x-request-id");
    headers.append("vary", "Origin");
  }
}

/** Limits how many requests execute at once; further requests wait in a bounded queue. */
export class ConcurrencyGate {
  #active = 0;
  readonly #queue: (() => void)[] = [];

  /** At most `maxActive` at once, at most `maxQueued` waiting. */
  constructor(readonly maxActive: number, readonly maxQueued: number) {
    if (!(maxActive >= 1) || !(maxQueued >= 0)) throw new TypeError("maxActive must be ≥ 1 and maxQueued ≥ 0");
  }

  /** Requests executing now. */
  get active(): number {
    return this.#active;
  }

  /**
   * Waits for a slot. Resolves to a release function, or to undefined at once when the queue is full or when no slot
   * frees up before `deadline` (epoch ms).
   */
  acquire(deadline: number): Promise<(() => void) | undefined> {
    const release = () => {
      this.#active--;
      this.#queue.shift()?.();
    };
    if (this.#active < this.maxActive) {
      this.#active++;
      return Promise.resolve(release);
    }
    if (this.#queue.length >= this.maxQueued) return Promise.resolve(undefined);
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.#active++;
        resolve(release);
      };
      const timer = setTimeout(() => {
        const i = this.#queue.indexOf(wake);
        if (i >= 0) this.#queue.splice(i, 1);
        resolve(undefined);
      }, Math.max(0, deadline - Date.now()));
      this.#queue.push(wake);
    });
  }
}

/** Reads a request body as text, refusing more than `maxBytes`. Returns undefined when the body is too large. */
export async function readBodyLimited(request: Request, maxBytes: number): Promise<string | undefined> {
  const declared = Number(request.headers.get("content-length") ?? NaN);
  if (declared > maxBytes) {
    await request.body?.cancel();
    return undefined;
  }
  if (request.body === null) return "";
  // Length declared and within bounds: read at once (the common case; the HTTP layer frames the body by its declared
  // length, so it cannot exceed it).
  if (declared <= maxBytes) return await request.text();
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel();
      return undefined;
    }
    chunks.push(value);
  }
  if (chunks.length === 1) return new TextDecoder().decode(chunks[0]);
  const all = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    all.set(c, at);
    at += c.byteLength;
  }
  return new TextDecoder().decode(all);
}

/** A cached response body and what it was computed from. */
export interface CachedResponse {
  /** The store's change token read before the response was computed. */
  token: string;
  status: number;
  contentType: string;
  body: string;
}

/**
 * A least-recently-used cache of response bodies bounded by their total size (UTF-16 code units × 2, roughly the
 * memory they take). An entry is served only with the change token it was computed under.
 */
export class ResponseCache {
  readonly #entries = new Map<string, CachedResponse>();
  #bytes = 0;

  /** Keeps at most `maxBytes` of bodies and keys; a single entry larger than a quarter of that is not kept. */
  constructor(readonly maxBytes: number) {}

  /** Bytes held now. */
  get bytes(): number {
    return this.#bytes;
  }

  /** The entry for `key` if it was computed under `token`. */
  get(key: string, token: string): CachedResponse | undefined {
    const hit = this.#entries.get(key);
    if (hit === undefined) return undefined;
    if (hit.token !== token) {
      this.#delete(key, hit);
      return undefined;
    }
    // Refresh its place in the LRU order.
    this.#entries.delete(key);
    this.#entries.set(key, hit);
    return hit;
  }

  /** Stores an entry (replacing an older one), evicting the least recently used ones beyond the size bound. */
  set(key: string, entry: CachedResponse): void {
    const size = 2 * (key.length + entry.body.length);
    if (size > this.maxBytes / 4) return;
    const old = this.#entries.get(key);
    if (old !== undefined) this.#delete(key, old);
    this.#entries.set(key, entry);
    this.#bytes += size;
    for (const [k, v] of this.#entries) {
      if (this.#bytes <= this.maxBytes) break;
      this.#delete(k, v);
    }
  }

  #delete(key: string, entry: CachedResponse): void {
    this.#entries.delete(key);
    this.#bytes -= 2 * (key.length + entry.body.length);
  }
}
