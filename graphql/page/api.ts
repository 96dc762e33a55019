/**
 * The dashboard's only way to data: the public GraphQL API of the server that served the page (same origin), with
 * the bearer token the user typed when the server requires one (kept for the browser tab only).
 *
 * @module
 */

const TOKEN_KEY = "candor.token";

/** A refused or failed request, with what the server said (code, request id for its log). */
export class ApiError extends Error {
  /** Creates the error from the server's answer. */
  constructor(
    message: string,
    readonly code: string | undefined,
    readonly requestId: string | undefined,
    readonly status: number,
  ) {
    super(message);
    this.name = "ApiError";
  }
}

/** The bearer token for this tab, if the user gave one. */
export function savedToken(): string | null {
  return sessionStorage.getItem(TOKEN_KEY);
}

/** Keeps (or with an empty string forgets) the bearer token for this tab. */
export function saveToken(token: string): void {
  if (token === "") sessionStorage.removeItem(TOKEN_KEY);
  else sessionStorage.setItem(TOKEN_KEY, token);
}

/** Runs a GraphQL query; resolves to `data` or throws {@link ApiError} with the first error. */
export async function graphql<T>(query: string, variables: Record<string, unknown> = {}): Promise<T> {
  const headers: Record<string, string> = { "content-type": "application/json", accept: "application/json" };
  const token = savedToken();
  if (token) headers.authorization = `Bearer ${token}`;
  const res = await fetch("/graphql", { method: "POST", headers, body: JSON.stringify({ query, variables }) });
  const requestId = res.headers.get("x-request-id") ?? undefined;
  let body: { data?: T; errors?: { message: string; extensions?: { code?: string; requestId?: string } }[] };
  try {
    body = await res.json();
  } catch {
    throw new ApiError(`the server answered HTTP ${res.status} without JSON`, undefined, requestId, res.status);
  }
  const first = body.errors?.[0];
  if (first !== undefined) {
    throw new ApiError(first.message, first.extensions?.code, first.extensions?.requestId ?? requestId, res.status);
  }
  if (body.data === undefined) throw new ApiError("the server answered without data", undefined, requestId, res.status);
  return body.data;
}

/** `{ name, value }` as the API returns metric maps (value null when undefined). */
export interface Metric {
  name: string;
  value: number | null;
}

/** A metric over folds. */
export interface Aggregate {
  name: string;
  n: number;
  mean: number | null;
  std: number | null;
  min: number | null;
  max: number | null;
}

/** A run as the runs list shows it. */
export interface RunRow {
  id: string;
  status: "running" | "succeeded" | "failed";
  model: string;
  symbols: string[];
  dataSource: string;
  createdAt: string;
  pooled: Metric[];
  foldAggregates: { folds: number; accuracy: Aggregate | null; strongestBaseline: Aggregate | null };
  backtest: {
    sharpe: number | null;
    maxDrawdown: number | null;
    bhSharpe: number | null;
    bhMaxDrawdown: number | null;
  } | null;
  error: { message: string; stage: string | null } | null;
}

/** One page of runs. */
export interface RunsPage {
  runsConnection: {
    totalCount: number;
    pageInfo: { hasNextPage: boolean; endCursor: string | null };
    edges: { sortValue: number | null; node: RunRow }[];
  };
}

/** The runs list: a filtered, ordered page with what each row shows. */
export const RUNS_QUERY = `query Runs($filter: RunFilter, $orderBy: RunOrder, $first: Int, $after: String) {
  runsConnection(filter: $filter, orderBy: $orderBy, first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges {
      sortValue
      node {
        id status model symbols dataSource createdAt
        pooled { name value }
        foldAggregates {
          folds
          accuracy: metric(name: "accuracy") { name n mean std min max }
          strongestBaseline { name n mean std min max }
        }
        backtest {
          sharpe: metric(name: "sharpe")
          maxDrawdown: metric(name: "maxDrawdown")
          bhSharpe: buyAndHoldMetric(name: "sharpe")
          bhMaxDrawdown: buyAndHoldMetric(name: "maxDrawdown")
        }
        error { message stage }
      }
    }
  }
}`;

/** Everything the run page shows. */
export interface RunDetail {
  id: string;
  status: "running" | "succeeded" | "failed";
  model: string;
  symbols: string[];
  dataSource: string;
  backend: string | null;
  seed: number | null;
  leakageOverride: boolean;
  createdAt: string;
  finishedAt: string | null;
  error: { message: string; stage: string | null; fold: number | null; name: string | null } | null;
  warnings: string[];
  pooled: Metric[];
  folds: {
    index: number;
    train: { start: string; end: string }[];
    test: { start: string; end: string }[];
    purge: number;
    embargo: number;
    nTrain: number;
    nTest: number;
    metrics: Metric[];
    baselines: Metric[];
  }[];
  foldAggregates: { folds: number; metrics: Aggregate[]; baselines: Aggregate[] };
  epochs: {
    fold: number | null;
    epoch: number;
    trainLoss: number | null;
    valLoss: number | null;
    lr: number | null;
    gradNorm: number | null;
    clipRatio: number | null;
    nonFinite: string[];
  }[];
  diagnostics: { fold: number | null; kind: string; severity: "info" | "warning" | "error"; message: string }[];
  backtest: {
    lag: number;
    costBps: number;
    slippageBps: number;
    annualization: number;
    points: number;
    warnings: string[];
    metrics: Metric[];
    buyAndHold: Metric[];
    equity: { date: string; value: number; buyAndHold: number | null }[];
  } | null;
}

/** One run with its folds, aggregates, epochs, diagnostics and backtest (equity curve included). */
export const RUN_QUERY = `query Run($id: ID!) {
  run(id: $id) {
    id status model symbols dataSource backend seed leakageOverride createdAt finishedAt
    error { message stage fold name }
    warnings
    pooled { name value }
    folds {
      index purge embargo nTrain nTest
      train { start end } test { start end }
      metrics { name value } baselines { name value }
    }
    foldAggregates {
      folds
      metrics { name n mean std min max }
      baselines { name n mean std min max }
    }
    epochs { fold epoch trainLoss valLoss lr gradNorm clipRatio nonFinite }
    diagnostics { fold kind severity message }
    backtest {
      lag costBps slippageBps annualization points warnings
      metrics { name value } buyAndHold { name value }
      equity { date value buyAndHold }
    }
  }
}`;
