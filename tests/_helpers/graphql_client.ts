/**
 * Sends GraphQL operations to a handler the way a client over HTTP would (POST, JSON body, JSON accepted), so tests
 * read the same response shape a real consumer of `candor serve` gets.
 */

/** The JSON body of a GraphQL response: `data` and/or `errors` (each error may carry an `extensions.code`). */
export interface GraphQLResponse {
  data?: Record<string, unknown> | null;
  errors?: { message: string; extensions?: { code?: string } }[];
}

/** POSTs `source` (with optional `variables`) to `handler` at http://localhost/graphql and returns the parsed body. */
export async function query(
  handler: { fetch: (r: Request) => Response | Promise<Response> },
  source: string,
  variables?: Record<string, unknown>,
): Promise<GraphQLResponse> {
  const res = await handler.fetch(
    new Request("http://localhost/graphql", {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json" },
      body: JSON.stringify({ query: source, variables }),
    }),
  );
  return await res.json() as GraphQLResponse;
}
