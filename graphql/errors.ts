/**
 * What clients see of errors, and what the server logs.
 *
 * - Errors raised on purpose (`GraphQLError`s: parse and validation errors, bad arguments, NOT_FOUND, the limits in
 *   guard.ts) reach the client with their message, inputs they echo shortened (a quoted value longer than
 *   {@link MAX_ECHO} characters is cut, the whole message at {@link MAX_MESSAGE}).
 * - Anything else (a store failure, a bug) is masked: the client reads "Unexpected error" with
 *   `extensions.code = "INTERNAL_SERVER_ERROR"`, and the server logs the cause and stack under the request id.
 * - Every error carries `extensions.requestId`, also sent as the `x-request-id` response header, so an operator can
 *   find the log line of a failed request.
 *
 * @module
 */

import { GraphQLError } from "graphql";

/** Longest quoted input echoed in a message, in characters. */
export const MAX_ECHO = 64;
/** Longest error message sent to a client, in characters. */
export const MAX_MESSAGE = 600;

/** One structured log line. */
export interface LogEntry {
  level: "error" | "warn" | "info";
  /** The request's id (as in `x-request-id` and `extensions.requestId`). */
  requestId?: string;
  message: string;
  [key: string]: unknown;
}

/** Where the server writes log lines. */
export type Logger = (entry: LogEntry) => void;

/** Default logger: one JSON object per line on stderr, with an ISO timestamp. */
export const stderrJsonLogger: Logger = (entry) => {
  console.error(JSON.stringify({ time: new Date().toISOString(), ...entry }));
};

/** A message with long quoted inputs cut to {@link MAX_ECHO} characters and the whole to {@link MAX_MESSAGE}. */
export function truncateEcho(message: string): string {
  const cut = message.replace(
    /"((?:[^"\\]|\\.)*)"/g,
    (whole, inner: string) =>
      inner.length > MAX_ECHO ? `"${inner.slice(0, MAX_ECHO)}…" (${inner.length} chars)` : whole,
  );
  return cut.length > MAX_MESSAGE ? cut.slice(0, MAX_MESSAGE) + "…" : cut;
}

/** True for errors raised on purpose, whose message is meant for the client. */
export function isIntended(error: GraphQLError): boolean {
  const original = error.originalError;
  // Parse, validation and coercion errors, and yoga's own request errors, have no original error; resolvers and hooks
  // that refuse on purpose throw GraphQLErrors.
  return original === undefined || original === null || original instanceof GraphQLError;
}

/** The cause chain of an error, for logs: messages and the first stack. */
function describe(e: unknown): Record<string, unknown> {
  const chain: string[] = [];
  let stack: string | undefined;
  let cur: unknown = e;
  for (let depth = 0; cur !== undefined && cur !== null && depth < 5; depth++) {
    if (cur instanceof Error) {
      chain.push(`${cur.name}: ${cur.message}`);
      stack ??= cur.stack;
      cur = (cur as { cause?: unknown }).cause;
    } else {
      chain.push(String(cur));
      break;
    }
  }
  return { cause: chain, stack };
}

/**
 * A code for the refusals that come without one: graphql-armor's depth, alias and directive limits (QUERY_TOO_COMPLEX,
 * like the cost limit) and graphql-js's variable coercion — a required variable not given, or a value of the wrong type
 * (BAD_USER_INPUT, like any other bad argument). Read from their messages, the only thing either library sets.
 */
function missingCode(message: string): string | undefined {
  if (/^Syntax Error: (Query depth limit|Aliases limit|Directives limit) /.test(message)) return "QUERY_TOO_COMPLEX";
  if (/^Variable "\$[_A-Za-z][_0-9A-Za-z]*" /.test(message)) return "BAD_USER_INPUT";
  return undefined;
}

/**
 * Masks and annotates the errors of one result: intended errors keep their (truncated) message, others become
 * "Unexpected error" after being logged with `requestId`, their path and cause. Returns the errors to send.
 */
export function maskErrors(
  errors: readonly GraphQLError[],
  requestId: string,
  log: Logger,
): GraphQLError[] {
  return errors.map((error) => {
    if (isIntended(error)) {
      // yoga describes some request errors with the parser's own message (which can quote the input) under
      // extensions.originalError; its presence also makes yoga answer 400 rather than 200. Keep the class name only.
      const { originalError, ...rest } = error.extensions ?? {};
      const extensions = originalError === undefined
        ? rest
        : { ...rest, originalError: { name: (originalError as { name?: unknown })?.name ?? "Error" } };
      const code = extensions.code ?? missingCode(error.message);
      return new GraphQLError(truncateEcho(error.message), {
        nodes: error.nodes,
        source: error.source,
        positions: error.positions,
        path: error.path,
        originalError: error.originalError ?? undefined,
        extensions: { ...extensions, ...(code === undefined ? {} : { code }), requestId },
      });
    }
    log({
      level: "error",
      requestId,
      message: "unexpected error while answering a GraphQL request",
      path: error.path?.join("."),
      ...describe(error.originalError ?? error),
    });
    return new GraphQLError(`Unexpected error; the server log has the cause under request id ${requestId}`, {
      nodes: error.nodes,
      positions: error.positions,
      path: error.path,
      extensions: { code: "INTERNAL_SERVER_ERROR", requestId },
    });
  });
}

/** A JSON error body `{ errors: [{ message, extensions: { code, requestId, ... } }] }`. */
export function errorBody(
  message: string,
  code: string,
  requestId: string,
  extra: Record<string, unknown> = {},
): string {
  return JSON.stringify({ errors: [{ message, extensions: { code, requestId, ...extra } }] });
}
