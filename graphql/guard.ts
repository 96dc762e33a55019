/**
 * Limits that keep one GraphQL request from taking the server down, in three layers:
 *
 * 1. **Cost before execution.** Every field declares its cost in the schema (Pothos' complexity plugin): 1 by default,
 *    and a list multiplies the cost of what is selected under it by its size — the `limit`/`first` argument where the
 *    client chooses it, otherwise a stated typical length (folds 20, epochs 300, equity points 2,500, ...). A query
 *    whose cost exceeds the limit is refused with `extensions.code = "QUERY_TOO_COMPLEX"` before any resolver runs, so
 *    `runs(limit: 1000) { backtest { equity { date value buyAndHold } } }` costs ≈ 7.5 million and never touches the
 *    store.
 * 2. **What execution actually produces.** Typical lengths are estimates, and stored data can exceed them (a 40-year
 *    equity curve). Each list resolver charges the values it is about to return (items × fields selected on each item)
 *    to a per-request budget, and the equity loader charges its points before decoding them; past the budget the
 *    request fails with `RESPONSE_TOO_LARGE`. This bounds a request's memory whatever the data.
 * 3. **Time.** Resolvers and loaders check a per-request deadline and fail with `TIMEOUT` once it has passed (the HTTP
 *    layer also answers the client when the deadline passes, see app.ts).
 *
 * @module
 */

import { getOperationAST, GraphQLError, type GraphQLResolveInfo, type GraphQLSchema, Kind } from "graphql";
import type { DocumentNode, FieldNode, SelectionSetNode } from "graphql";
import { complexityFromQuery } from "@pothos/plugin-complexity";

/** Limits of one request. */
export interface RequestLimits {
  /** Largest static cost admitted (see the module documentation). */
  maxCost: number;
  /** Largest number of values (list items × fields selected on each) a request may produce. */
  maxValues: number;
  /** Milliseconds a request may run. */
  timeoutMs: number;
}

/**
 * Defaults: about twice the cost of the dashboard's costliest view, the run page (11,999, equity curve included); its
 * page of 50 runs costs 4,802, a page of 50 studies 3,902, a study page 936 and each event of a study's live view 1,461.
 */
export const DEFAULT_LIMITS: RequestLimits = {
  maxCost: 25_000,
  maxValues: 250_000,
  timeoutMs: 10_000,
};

/** The per-request state that enforces {@link RequestLimits} during execution. */
export class RequestGuard {
  /** Values produced so far. */
  produced = 0;
  /** Epoch ms after which the request is out of time. */
  readonly deadline: number;

  /** Starts the clock now. */
  constructor(readonly limits: RequestLimits, now = Date.now()) {
    this.deadline = now + limits.timeoutMs;
  }

  /** Throws `TIMEOUT` once the deadline has passed. */
  checkTime(): void {
    if (Date.now() > this.deadline) {
      throw new GraphQLError(
        `the request ran out of time (${this.limits.timeoutMs} ms); ask for fewer runs or fewer nested lists`,
        { extensions: { code: "TIMEOUT" } },
      );
    }
  }

  /**
   * Charges `values` to the budget (and checks the time).
   * @throws GraphQLError `RESPONSE_TOO_LARGE` past the budget.
   */
  charge(values: number, what: string): void {
    this.checkTime();
    this.produced += values;
    if (this.produced > this.limits.maxValues) {
      throw new GraphQLError(
        `the response would exceed ${this.limits.maxValues} values (reached at ${what}); ` +
          `ask for fewer runs (limit/first) or fewer nested lists such as equity or epochs`,
        { extensions: { code: "RESPONSE_TOO_LARGE", maxValues: this.limits.maxValues } },
      );
    }
  }
}

/** Number of fields selected directly under the field being resolved (fragments expanded; at least 1). */
export function selectionWidth(info: GraphQLResolveInfo): number {
  let width = 0;
  const count = (set: SelectionSetNode | undefined): void => {
    for (const s of set?.selections ?? []) {
      if (s.kind === Kind.FIELD) width++;
      else if (s.kind === Kind.INLINE_FRAGMENT) count(s.selectionSet);
      else count(info.fragments[s.name.value]?.selectionSet);
    }
  };
  for (const node of info.fieldNodes as readonly FieldNode[]) count(node.selectionSet);
  return Math.max(1, width);
}

/** Charges a list about to be returned by a resolver: its length × the fields selected on each item. */
export function chargeList<T>(guard: RequestGuard, info: GraphQLResolveInfo, items: readonly T[]): readonly T[] {
  guard.charge(items.length * selectionWidth(info), `${info.parentType.name}.${info.fieldName}`);
  return items;
}

/**
 * The static cost of the operation `operationName` of `document` with `variables`, from the costs the schema declares.
 * Returns undefined when the variables do not coerce (execution reports that error itself).
 */
export function operationCost(
  schema: GraphQLSchema,
  document: DocumentNode,
  operationName: string | null | undefined,
  variables: Record<string, unknown> | null | undefined,
): number | undefined {
  const operation = getOperationAST(document, operationName);
  if (operation === null) return undefined;
  // The plugin costs the first operation of a document: keep only the selected one, so a cheap first operation
  // cannot hide an expensive second one chosen by operationName.
  const only: DocumentNode = {
    ...document,
    definitions: document.definitions.filter((d) => d.kind !== Kind.OPERATION_DEFINITION || d === operation),
  };
  try {
    return complexityFromQuery(only, { schema, variables: variables ?? {} }).complexity;
  } catch (e) {
    if (e instanceof GraphQLError) return undefined;
    throw e;
  }
}

/** The error a too expensive operation is refused with. */
export function tooComplexError(cost: number, maxCost: number): GraphQLError {
  return new GraphQLError(
    `query refused before execution: its cost is ${cost}, above the limit of ${maxCost}. Lists multiply the cost of ` +
      `what is selected under them by their size (limit/first, or a typical length: folds 20, epochs 300, ` +
      `diagnostics 30, entries of a study 10, equity points 2500); ask for fewer runs or studies, or drop nested ` +
      `lists such as equity and epochs`,
    { extensions: { code: "QUERY_TOO_COMPLEX", cost, maxCost } },
  );
}
