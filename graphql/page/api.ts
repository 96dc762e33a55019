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
  status: Status;
  model: string;
  symbols: string[];
  dataSource: string;
  createdAt: string;
  pooled: Metric[];
  entry: string | null;
  targetKind: string | null;
  pooledLine: {
    accuracy: number | null;
    accuracyCi: Interval;
    strongestBaseline: { name: string; value: number | null };
  } | null;
  verdict: Verdict | null;
  gate: { passed: boolean } | null;
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
        id status model symbols dataSource createdAt entry targetKind
        pooled { name value }
        pooledLine { accuracy accuracyCi { low high } strongestBaseline { name value } }
        verdict
        gate { passed }
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

/** A 95 % interval (ends null where undefined). */
export interface Interval {
  low: number | null;
  high: number | null;
}

/** A study entry's pooled line (the verdict's numbers). */
export interface PooledLine {
  accuracy: number | null;
  accuracyCi: Interval;
  baselines: { name: string; value: number | null }[];
  strongestBaseline: { name: string; value: number | null };
  edge: { difference: number | null; ci: Interval; pValue: number | null; method: string; against: string };
  ic: { value: number | null; ci: Interval; pValue: number | null };
  verdict: Verdict;
  verdictOn: string;
}

/** `edge` or `no_edge`. */
export type Verdict = "edge" | "no_edge";

/** Walk-forward efficiency: null with a reason when undefined. */
export interface Efficiency {
  efficiency: number | null;
  reason: string | null;
}

/** The target on one part of a fold. */
export interface TargetStats {
  n: number;
  shareUp: number | null;
  mean: number | null;
  std: number | null;
}

/** Everything the run page shows. */
export interface RunDetail {
  id: string;
  status: Status;
  tags: string[];
  note: string | null;
  liveness: "live" | "stale" | null;
  model: string;
  studyId: string | null;
  entry: string | null;
  targetKind: string | null;
  horizon: number | null;
  study: { id: string; name: string | null } | null;
  verdict: Verdict | null;
  healthSummary: string | null;
  pooledLine: PooledLine | null;
  gate: { passed: boolean; wfe: number | null; threshold: number | null; reason: string } | null;
  efficiency: Efficiency | null;
  upShare: { call: string; share: number | null; band: Interval; inBand: boolean; classShares: number[] | null } | null;
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
    health: string | null;
    nValidation: number | null;
    targets: { fit: TargetStats; validation: TargetStats; test: TargetStats } | null;
    efficiency: Efficiency | null;
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
    sharpeDifference: { value: number | null; ci: Interval; pValue: number | null } | null;
  } | null;
  /** Backtests added to the run (`candor backtest --run`), in the order added. */
  backtests: {
    seq: number;
    createdAt: string;
    lag: number;
    costBps: number;
    slippageBps: number;
    sizing: string | null;
    portfolio: string | null;
    sharpe: number | null;
    buyAndHoldSharpe: number | null;
    maxDrawdown: number | null;
    buyAndHoldMaxDrawdown: number | null;
    deflatedSharpe: number | null;
    deflation: { trials: number } | null;
    warnings: string[];
  }[];
}

/** One run with its folds, aggregates, epochs, diagnostics, backtest (equity curve included) and added backtests. */
export const RUN_QUERY = `query Run($id: ID!) {
  run(id: $id) {
    id status model symbols dataSource backend seed leakageOverride createdAt finishedAt tags note liveness
    studyId entry targetKind horizon verdict healthSummary
    study { id name }
    error { message stage fold name }
    warnings
    pooled { name value }
    pooledLine {
      accuracy accuracyCi { low high }
      baselines { name value } strongestBaseline { name value }
      edge { difference ci { low high } pValue method against }
      ic { value ci { low high } pValue }
      verdict verdictOn
    }
    gate { passed wfe threshold reason }
    efficiency { efficiency reason }
    upShare { call share band { low high } inBand classShares }
    folds {
      index purge embargo nTrain nTest health nValidation
      train { start end } test { start end }
      metrics { name value } baselines { name value }
      targets {
        fit { n shareUp mean std }
        validation { n shareUp mean std }
        test { n shareUp mean std }
      }
      efficiency { efficiency reason }
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
      sharpeDifference { value ci { low high } pValue }
    }
    backtests {
      seq createdAt lag costBps slippageBps sizing portfolio sharpe buyAndHoldSharpe deflatedSharpe warnings
      maxDrawdown: metric(name: "maxDrawdown") buyAndHoldMaxDrawdown: buyAndHoldMetric(name: "maxDrawdown")
      deflation { trials }
    }
  }
}`;

/** A row of a comparison table. */
export interface ComparisonRow {
  name: string;
  kind: string;
  runId: string | null;
  headline: { metric: string; value: number | null; ci: Interval };
  baseline: { name: string; value: number | null };
  verdict: Verdict;
  wfe: number | null;
  gatePassed: boolean;
  sharpe: number | null;
  maxDrawdown: number | null;
  buyAndHoldSharpe: number | null;
  buyAndHoldMaxDrawdown: number | null;
  health: string;
}

const COMPARISON_ROW = `fragment Row on ComparisonRow {
  name kind runId
  headline { metric value ci { low high } }
  baseline { name value }
  verdict wfe gatePassed sharpe maxDrawdown buyAndHoldSharpe buyAndHoldMaxDrawdown health
}`;

/** Life-cycle states of studies and runs. */
export type Status = "running" | "succeeded" | "failed" | "interrupted";

/** A study as the studies list shows it. */
export interface StudyRow {
  id: string;
  name: string | null;
  status: Status;
  liveness: "live" | "stale" | null;
  tags: string[];
  createdAt: string;
  finishedAt: string | null;
  dataSource: string;
  symbols: string[];
  targetKind: string | null;
  horizon: number | null;
  scheme: string | null;
  entries: { name: string; kind: string }[];
  comparison: { name: string; verdict: Verdict; gatePassed: boolean }[];
  error: { message: string; stage: string | null } | null;
}

/** One page of studies. */
export interface StudiesPage {
  studies: {
    totalCount: number;
    pageInfo: { hasNextPage: boolean; endCursor: string | null };
    nodes: StudyRow[];
  };
}

/** The studies list: a filtered, ordered page. */
export const STUDIES_QUERY = `query Studies($filter: StudyFilter, $orderBy: StudyOrder, $first: Int, $after: String) {
  studies(filter: $filter, orderBy: $orderBy, first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage endCursor }
    nodes {
      id name status liveness tags createdAt finishedAt dataSource symbols targetKind horizon scheme
      entries { name kind }
      comparison { name verdict gatePassed }
      error { message stage }
    }
  }
}`;

/** Everything the study page shows. */
export interface StudyDetail {
  id: string;
  name: string | null;
  status: Status;
  liveness: "live" | "stale" | null;
  heartbeatAt: string | null;
  tags: string[];
  note: string | null;
  createdAt: string;
  finishedAt: string | null;
  dataSource: string;
  dataFingerprint: string | null;
  version: string | null;
  symbols: string[];
  features: string[];
  seed: number | null;
  leakageOverride: boolean;
  legacy: boolean;
  targetKind: string | null;
  horizon: number | null;
  scheme: string | null;
  plannedFolds: number | null;
  theoreticalAccuracy: number | null;
  error: { message: string; stage: string | null; fold: number | null; name: string | null } | null;
  entries: { name: string; kind: string; run: { id: string; status: Status } | null }[];
  comparison: ComparisonRow[];
  warnings: string[];
  notes: string[];
  plan: { index: number; train: { start: string; end: string }[]; test: { start: string; end: string }[] }[] | null;
  configurationChecks: { check: string; subject: string; verdict: string; reason: string }[];
}

/** One study with its entries, comparison table, plan and checks. */
export const STUDY_QUERY = `query Study($id: ID!) {
  study(id: $id) {
    id name status liveness heartbeatAt tags note createdAt finishedAt dataSource dataFingerprint version symbols features
    seed leakageOverride legacy
    targetKind horizon scheme plannedFolds theoreticalAccuracy
    error { message stage fold name }
    entries { name kind run { id status } }
    comparison { ...Row }
    warnings notes
    plan { index train { start end } test { start end } }
    configurationChecks { check subject verdict reason }
  }
}
${COMPARISON_ROW}`;

/** One event of a study's live progress. */
export interface StudyProgressEvent {
  stage: "preparing" | "training" | "pooling" | "comparing" | "done" | "failed" | "interrupted";
  entry: string | null;
  fold: number | null;
  foldsDone: number;
  plannedFolds: number | null;
  fraction: number | null;
  sealed: boolean;
  liveness: string | null;
  at: string;
  lastEpoch: { fold: number | null; epoch: number; trainLoss: number | null; valLoss: number | null } | null;
  run: {
    id: string;
    epochs: { fold: number | null; epoch: number; trainLoss: number | null; valLoss: number | null }[];
  } | null;
  entries: { name: string; kind: string; status: string; foldsDone: number }[];
  study: { status: Status; comparison: ComparisonRow[] };
}

/** A running study's progress, pushed as it changes (server-sent events). */
export const STUDY_PROGRESS_SUBSCRIPTION = `subscription StudyProgress($id: ID!) {
  studyProgress(id: $id) {
    stage entry fold foldsDone plannedFolds fraction sealed liveness at
    lastEpoch { fold epoch trainLoss valLoss }
    run { id epochs { fold epoch trainLoss valLoss } }
    entries { name kind status foldsDone }
    study { status comparison { ...Row } }
  }
}
${COMPARISON_ROW}`;

/**
 * Runs a subscription over server-sent events (`fetch` with `Accept: text/event-stream`, so the bearer token goes in
 * a header, which `EventSource` cannot send) and calls `onData` with each event's data until the stream completes, the
 * signal aborts, or an error arrives (thrown as {@link ApiError}).
 */
export async function subscribe<T>(
  query: string,
  variables: Record<string, unknown>,
  onData: (data: T) => void,
  signal: AbortSignal,
): Promise<void> {
  const headers: Record<string, string> = { "content-type": "application/json", accept: "text/event-stream" };
  const token = savedToken();
  if (token) headers.authorization = `Bearer ${token}`;
  const res = await fetch("/graphql", { method: "POST", headers, body: JSON.stringify({ query, variables }), signal });
  const requestId = res.headers.get("x-request-id") ?? undefined;
  if (!(res.headers.get("content-type") ?? "").includes("text/event-stream") || res.body === null) {
    let message = `the server answered HTTP ${res.status}`;
    let code: string | undefined;
    try {
      const body = await res.json();
      message = body.errors?.[0]?.message ?? message;
      code = body.errors?.[0]?.extensions?.code;
    } catch { /* not JSON */ }
    throw new ApiError(message, code, requestId, res.status);
  }
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += value;
      let end: number;
      while ((end = buffer.indexOf("\n\n")) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const lines = block.split("\n");
        const event = lines.find((l) => l.startsWith("event:"))?.slice(6).trim();
        if (event === "complete") return;
        if (event !== "next") continue;
        const body = JSON.parse(lines.filter((l) => l.startsWith("data:")).map((l) => l.slice(5)).join("\n"));
        const first = body.errors?.[0];
        if (first !== undefined) {
          throw new ApiError(first.message, first.extensions?.code, first.extensions?.requestId ?? requestId, 200);
        }
        onData(body.data as T);
      }
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
}

/** One symbol's production prediction (numbers null when the symbol could not be predicted). */
export interface ProductionRow {
  symbol: string;
  date: string;
  score: number | null;
  confidence: number | null;
  position: number | null;
  weight: number | null;
  warnings: string[];
}

/** A registered production model with its latest prediction batch. */
export interface ModelRow {
  id: string;
  name: string;
  kind: string;
  targetKind: string;
  horizon: number;
  trainedWindow: { start: string; end: string };
  lastPriceDate: string;
  version: string;
  dataFingerprint: string;
  features: string[];
  skipGate: boolean;
  gate: { passed: boolean | null; wfe: number | null; threshold: number | null; reason: string | null };
  createdAt: string;
  study: { id: string; name: string | null } | null;
  run: { id: string } | null;
  latestPredictions: { asOf: string; createdAt: string; rowCount: number; rows: ProductionRow[] } | null;
}

/** A page of models. */
export interface ModelsPage {
  models: { pageInfo: { hasNextPage: boolean; endCursor: string | null }; nodes: ModelRow[] };
}

/** Models per page of the production panel (each brings its latest batch: costed at 100 rows). */
export const MODELS_PAGE_SIZE = 5;

/** The production panel's models: newest first, each with its latest batch of predictions and positions. */
export const MODELS_QUERY = `query Models($first: Int, $after: String) {
  models(first: $first, after: $after) {
    pageInfo { hasNextPage endCursor }
    nodes {
      id name kind targetKind horizon trainedWindow { start end } lastPriceDate version dataFingerprint features
      skipGate gate { passed wfe threshold reason } createdAt study { id name } run { id }
      latestPredictions { asOf createdAt rowCount rows { symbol date score confidence position weight warnings } }
    }
  }
}`;

/** How a deflated Sharpe ratio was computed. */
export interface Deflation {
  trials: number;
  runs: number | null;
  runBacktests: number | null;
  sweepTrials: number | null;
  trialSharpeVariance: number | null;
}

/** One cell of a sweep. */
export interface TrialRow {
  cell: number;
  symbol: string;
  window: { start: string; end: string };
  costBps: number;
  slippageBps: number;
  lag: number;
  sizing: string;
  sharpe: number | null;
  deflatedSharpe: number | null;
  trials: number | null;
  maxDrawdown: number | null;
  buyAndHoldSharpe: number | null;
}

/** A sweep with its best cells. */
export interface SweepRow {
  id: string;
  createdAt: string;
  run: { id: string } | null;
  dataFingerprint: string;
  targetKind: string;
  horizon: number;
  cells: number;
  trialsBefore: number;
  deflation: Deflation | null;
  pbo: {
    window: { start: string; end: string };
    cells: number | null;
    pbo: number | null;
    probabilityOfLoss: number | null;
    groups: number | null;
    reason: string | null;
  }[];
  trials: TrialRow[];
}

/** A page of sweeps. */
export interface SweepsPage {
  sweeps: { pageInfo: { hasNextPage: boolean; endCursor: string | null }; nodes: SweepRow[] };
}

/** Sweeps per page of the production panel. */
export const SWEEPS_PAGE_SIZE = 10;

/** Cells of each sweep the panel shows, best deflated Sharpe ratio first. */
export const SWEEP_TRIALS_SHOWN = 25;

/** The sweeps panel: newest first, each with its deflation, PBO and best cells by deflated Sharpe ratio. */
export const SWEEPS_QUERY = `query Sweeps($first: Int, $after: String) {
  sweeps(first: $first, after: $after) {
    pageInfo { hasNextPage endCursor }
    nodes {
      id createdAt run { id } dataFingerprint targetKind horizon cells trialsBefore
      deflation { trials runs runBacktests sweepTrials trialSharpeVariance }
      pbo { window { start end } cells pbo probabilityOfLoss groups reason }
      trials(orderBy: "deflatedSharpe", limit: ${SWEEP_TRIALS_SHOWN}) {
        cell symbol window { start end } costBps slippageBps lag sizing sharpe deflatedSharpe trials maxDrawdown
        buyAndHoldSharpe
      }
    }
  }
}`;
