/**
 * A minimal client for GraphQL subscriptions over server-sent events (yoga's "distinct connections" format: `event:
 * next` with a JSON `data:` line per result, `event: complete` at the end), for tests: POST with
 * `Accept: text/event-stream`, then read events one at a time.
 */

/** One result of a subscription. */
export interface SseResult {
  data?: Record<string, unknown> | null;
  errors?: { message: string; extensions?: Record<string, unknown> }[];
}

/** An open subscription. */
export interface SseSubscription {
  /** The HTTP status of the answer. */
  status: number;
  /** The JSON body when the answer was not an event stream (a refusal). */
  refusal?: { errors?: { message: string; extensions?: Record<string, unknown> }[] };
  /** The next result, or undefined once the stream completed. Rejects after `timeoutMs` without one. */
  next(timeoutMs?: number): Promise<SseResult | undefined>;
  /** Closes the stream from the client's side (as a browser tab closing). */
  close(): Promise<void>;
}

/** Subscribes through `fetcher` (a handler's `fetch`, or `fetch` itself against a URL). */
export async function subscribe(
  fetcher: (r: Request) => Response | Promise<Response>,
  url: string,
  source: string,
  variables?: Record<string, unknown>,
  headers: Record<string, string> = {},
): Promise<SseSubscription> {
  const res = await fetcher(
    new Request(url, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "text/event-stream", ...headers },
      body: JSON.stringify({ query: source, variables }),
    }),
  );
  if (!(res.headers.get("content-type") ?? "").includes("text/event-stream") || res.body === null) {
    const refusal = await res.json().catch(() => ({}));
    return {
      status: res.status,
      refusal,
      next: () => Promise.resolve(undefined),
      close: () => Promise.resolve(),
    };
  }
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  let done = false;
  const readEvent = async (): Promise<SseResult | undefined> => {
    for (;;) {
      const end = buffer.indexOf("\n\n");
      if (end >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const lines = block.split("\n");
        const event = lines.find((l) => l.startsWith("event:"))?.slice(6).trim();
        const data = lines.filter((l) => l.startsWith("data:")).map((l) => l.slice(5).trimStart()).join("\n");
        if (event === "complete") {
          done = true;
          return undefined;
        }
        if (event === "next") return JSON.parse(data) as SseResult;
        continue; // a keep-alive comment
      }
      if (done) return undefined;
      const { value, done: ended } = await reader.read();
      if (ended) {
        done = true;
        return undefined;
      }
      buffer += value;
    }
  };
  return {
    status: res.status,
    next: (timeoutMs = 60_000) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no subscription event within ${timeoutMs} ms`)), timeoutMs);
      });
      return Promise.race([readEvent(), timeout]).finally(() => clearTimeout(timer));
    },
    close: async () => {
      done = true;
      await reader.cancel().catch(() => {});
    },
  };
}
