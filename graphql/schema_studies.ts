/**
 * Studies, their comparison, `compare(runIds)` and out-of-sample predictions.
 *
 * - `studies(filter, orderBy, first, after)`: a page of studies (status, data source, target kind, model kind, name,
 *   creation dates; newest or oldest first by creation or finish time) with cursors and the total count.
 * - `study(id)`: one study with its planned entries (each with its run), its runs, the comparison table as typed rows
 *   (pooled headline with its interval beside the strongest baseline, verdict, walk-forward efficiency, gate, Sharpe
 *   and maximum drawdown beside buy & hold, health), the fold plan, warnings, notes and configuration checks.
 * - `compare(runIds)`: the comparison rows of any runs, with the differences in the rows they were tested on (data,
 *   symbols, target, fold windows and sizes) — rows of different data are not comparable, and the answer says so.
 * - `Run.predictions(fold, first, after)`: one fold's out-of-sample predictions by pages; only the page is read from
 *   the store (`readPredictionSlices`), whatever the fold's size.
 *
 * Every list is batched through the per-request loaders (loaders.ts) and costed by its size (builder.ts LIST_SIZES).
 *
 * @module
 */

import type { ConfigurationFinding } from "../lib/leakage/configuration.ts";
import {
  PREDICTION_SPLITS,
  type PredictionFold,
  type PredictionSplit,
  type Reopening,
  type RunSummary,
  type StoredFold,
  type StudyEntry,
  type StudySummary,
} from "../lib/store/store.ts";
import { StoreError } from "../lib/errors.ts";
import { checkStudyQuery, MAX_PREDICTION_SLICE, MAX_STUDY_PAGE } from "../lib/store/study_query.ts";
import type { DateWindow } from "../lib/validation/fold.ts";
import {
  badInput,
  type Builder,
  finiteOrNull,
  type GraphQLContext,
  isoTime,
  LIST_SIZES,
  notFound,
  OPAQUE_COST,
  parseTime,
  type SharedRefs,
} from "./builder.ts";
import { chargeList } from "./guard.ts";
import type { EntryRefs } from "./schema_entries.ts";
import {
  comparisonOf,
  type ComparisonRow,
  comparisonRowOf,
  plannedFoldsOf,
  rowDifferences,
  schemeOf,
  studySummaryOf,
  targetOf,
} from "./records.ts";

/** Most runs `compare` takes. */
export const MAX_COMPARE_RUNS = 50;
/** Default and largest page of `Run.predictions`. */
export const DEFAULT_PREDICTION_PAGE = 100;
export const MAX_PREDICTION_PAGE = Math.min(5000, MAX_PREDICTION_SLICE);

interface StudyEdge {
  node: StudySummary;
  cursor: string;
}

interface StudyConnection {
  edges: StudyEdge[];
  totalCount: number;
  hasNextPage: boolean;
}

/** A planned entry of a study. */
interface PlannedEntry extends StudyEntry {
  studyId: string;
}

interface Comparison {
  runs: RunSummary[];
  rows: ComparisonRow[];
  differences: string[];
}

interface PredictionRow {
  date: string;
  symbol: string;
  values: number[];
}

interface PredictionPage {
  runId: string;
  fold: PredictionFold;
  offset: number;
  rows: PredictionRow[];
}

const predictionCursor = (offset: number) => btoa(`predictions:${offset}`).replace(/=+$/, "");

function decodePredictionCursor(after: string | null | undefined): number {
  if (after === null || after === undefined) return 0;
  let text = "";
  try {
    text = atob(after);
  } catch { /* refused below */ }
  const m = /^predictions:(\d{1,12})$/.exec(text);
  if (m === null) throw badInput("after must be an endCursor returned by a previous page of predictions");
  return Number(m[1]);
}

/** The runs of a study, latest run per planned entry name. */
function runOfEntry(runs: readonly RunSummary[], name: string): RunSummary | null {
  let found: RunSummary | null = null;
  for (const r of runs) if (r.entry === name) found = r;
  return found;
}

/** Types defined here that other parts of the schema use. */
export interface StudyRefs {
  StudyRef: ReturnType<typeof studyRef>;
}

function studyRef(builder: Builder) {
  return builder.objectRef<StudySummary>("Study");
}

/** Adds the study types, queries and the study-related fields of `Run`; returns the types other parts reuse. */
export function addStudyTypes(builder: Builder, refs: SharedRefs, entryRefs: EntryRefs): StudyRefs {
  const { RunRef, RunErrorRef, RunStatusEnum, DateWindowRef, VerdictEnum, SortDirectionEnum, PageInfoRef } = refs;
  const { IntervalRef, BaselineRef } = entryRefs;

  const HeadlineRef = builder.objectRef<ComparisonRow["headline"]>("Headline").implement({
    description: "An entry's headline: pooled accuracy (classification) or IC (return targets) with its " +
      "block-bootstrap 95 % interval.",
    fields: (t) => ({
      metric: t.exposeString("metric", { description: "accuracy or ic." }),
      value: t.float({ nullable: true, resolve: (h) => finiteOrNull(h.value) }),
      ci: t.field({ type: IntervalRef, resolve: (h) => h.ci }),
    }),
  });

  const ComparisonRowRef = builder.objectRef<ComparisonRow>("ComparisonRow").implement({
    description: "One row of a comparison table: the entry's headline beside its strongest naive baseline, the " +
      "verdict, walk-forward efficiency and gate, the backtest's Sharpe and maximum drawdown beside buy & hold's on " +
      "the same window, and training health.",
    fields: (t) => ({
      name: t.exposeString("name", { description: "Entry name." }),
      kind: t.exposeString("kind", { description: "Model kind." }),
      runId: t.id({ nullable: true, resolve: (r) => r.runId ?? null }),
      run: t.field({
        type: RunRef,
        nullable: true,
        resolve: (r, _a, ctx) => (r.runId === undefined ? null : ctx.loaders.run.load(r.runId)),
      }),
      headline: t.field({ type: HeadlineRef, resolve: (r) => r.headline }),
      baseline: t.field({
        type: BaselineRef,
        description: "The strongest naive baseline on the same rows.",
        resolve: (r) => r.baseline,
      }),
      verdict: t.field({ type: VerdictEnum, resolve: (r) => r.verdict }),
      wfe: t.float({
        nullable: true,
        description: "Pooled walk-forward efficiency (null when undefined).",
        resolve: (r) => finiteOrNull(r.wfe),
      }),
      gatePassed: t.boolean({ resolve: (r) => r.gate }),
      sharpe: t.float({ nullable: true, resolve: (r) => finiteOrNull(r.sharpe) }),
      maxDrawdown: t.float({
        nullable: true,
        description: "Negative fraction.",
        resolve: (r) => finiteOrNull(r.maxDrawdown),
      }),
      buyAndHoldSharpe: t.float({ nullable: true, resolve: (r) => finiteOrNull(r.buyAndHoldSharpe) }),
      buyAndHoldMaxDrawdown: t.float({ nullable: true, resolve: (r) => finiteOrNull(r.buyAndHoldMaxDrawdown) }),
      health: t.exposeString("health", { description: '"healthy" or how many folds were not.' }),
    }),
  });

  const StudyEntryRef = builder.objectRef<PlannedEntry>("StudyEntry").implement({
    description: "A model entry planned in a study, with the run that trains it (null until it starts).",
    fields: (t) => ({
      name: t.exposeString("name"),
      kind: t.exposeString("kind"),
      run: t.field({
        type: RunRef,
        nullable: true,
        resolve: async (e, _a, ctx) => runOfEntry(await ctx.loaders.studyRuns.load(e.studyId), e.name),
      }),
    }),
  });

  const PlannedFoldRef = builder.objectRef<{
    index: number;
    train: DateWindow[];
    validation: DateWindow[];
    test: DateWindow[];
  }>("PlannedFold").implement({
    description: "A fold of a study's plan: the date windows every entry trains, tunes and is tested on.",
    fields: (t) => {
      const windows = { field: 1, multiplier: LIST_SIZES.windows };
      return {
        index: t.exposeInt("index"),
        train: t.field({ type: [DateWindowRef], complexity: windows, resolve: (f) => f.train }),
        validation: t.field({ type: [DateWindowRef], complexity: windows, resolve: (f) => f.validation }),
        test: t.field({ type: [DateWindowRef], complexity: windows, resolve: (f) => f.test }),
      };
    },
  });

  const ConfigurationCheckRef = builder.objectRef<ConfigurationFinding>("ConfigurationCheck").implement({
    description: "A finding of the configuration gate: purge ≥ horizon, and every fitted transform inside its fold's " +
      "training period.",
    fields: (t) => ({
      check: t.exposeString("check", { description: "purge or fitted-window." }),
      subject: t.exposeString("subject"),
      verdict: t.exposeString("verdict", { description: "ok, suspect or leak." }),
      reason: t.exposeString("reason"),
    }),
  });

  const StudyRef = studyRef(builder);
  StudyRef.implement({
    description: "One fold plan and the model entries trained on exactly the same rows and folds, each stored as a " +
      "run, compared side by side.",
    fields: (t) => ({
      id: t.exposeID("id"),
      name: t.string({ nullable: true, resolve: (s) => s.name }),
      status: t.field({ type: RunStatusEnum, resolve: (s) => s.status }),
      createdAt: t.string({ description: "ISO 8601 UTC.", resolve: (s) => isoTime(s.createdAt)! }),
      finishedAt: t.string({
        nullable: true,
        description: "ISO 8601 UTC; null while running.",
        resolve: (s) => isoTime(s.finishedAt),
      }),
      error: t.field({ type: RunErrorRef, nullable: true, resolve: (s) => s.error }),
      config: t.field({ type: "JSON", complexity: OPAQUE_COST, resolve: (s) => s.config }),
      seed: t.float({ nullable: true, resolve: (s) => s.seed }),
      symbols: t.exposeStringList("symbols", { complexity: OPAQUE_COST }),
      dataSource: t.exposeString("dataSource"),
      dataFingerprint: t.string({ nullable: true, resolve: (s) => s.dataFingerprint }),
      version: t.string({ nullable: true, resolve: (s) => s.version }),
      features: t.exposeStringList("features", { complexity: OPAQUE_COST }),
      leakageOverride: t.exposeBoolean("leakageOverride"),
      legacy: t.boolean({
        description: "True for a study given to a run stored before studies existed (no comparison, no plan).",
        resolve: (s) => (s.summary as { legacy?: unknown } | null)?.legacy === true,
      }),
      targetKind: t.string({ nullable: true, resolve: (s) => targetOf(s.config).kind }),
      horizon: t.int({ nullable: true, resolve: (s) => targetOf(s.config).horizon }),
      scheme: t.string({
        nullable: true,
        description: "Validation scheme: anchored, rolling, three-way, purged-kfold or cpcv.",
        resolve: (s) => schemeOf(s.config),
      }),
      plannedFolds: t.int({
        nullable: true,
        description: "Folds each entry trains (from the stored plan; while running, from the configuration).",
        resolve: (s) => plannedFoldsOf(s),
      }),
      entries: t.field({
        type: [StudyEntryRef],
        description: "The planned entries, in training order.",
        complexity: { field: 1, multiplier: LIST_SIZES.entries },
        resolve: (s, _a, ctx, info) => chargeList(ctx.guard, info, s.entries.map((e) => ({ ...e, studyId: s.id }))),
      }),
      runs: t.field({
        type: [RunRef],
        description: "Its runs, in creation order.",
        complexity: { field: 1, multiplier: LIST_SIZES.entries },
        resolve: async (s, _a, ctx, info) => chargeList(ctx.guard, info, await ctx.loaders.studyRuns.load(s.id)),
      }),
      comparison: t.field({
        type: [ComparisonRowRef],
        description: "The comparison table as stored when the study was sealed; while it runs, the rows of the " +
          "entries that have finished.",
        complexity: { field: 1, multiplier: LIST_SIZES.entries },
        resolve: async (s, _a, ctx, info) => {
          const runs = studySummaryOf(s) === null ? await ctx.loaders.studyRuns.load(s.id) : [];
          return chargeList(ctx.guard, info, comparisonOf(s, runs));
        },
      }),
      plan: t.field({
        type: [PlannedFoldRef],
        nullable: true,
        description: "The fold plan (stored when the study is sealed).",
        complexity: { field: 1, multiplier: LIST_SIZES.folds },
        resolve: (s, _a, ctx, info) => {
          const folds = studySummaryOf(s)?.plan?.folds;
          return folds === undefined ? null : chargeList(ctx.guard, info, folds);
        },
      }),
      warnings: t.stringList({
        description: "Study-wide warnings (audit, plausibility, gates).",
        complexity: OPAQUE_COST,
        resolve: (s) => studySummaryOf(s)?.warnings ?? [],
      }),
      notes: t.stringList({ complexity: OPAQUE_COST, resolve: (s) => studySummaryOf(s)?.notes ?? [] }),
      theoreticalAccuracy: t.float({
        nullable: true,
        description: "Best achievable accuracy (synthetic market, next-day direction targets only).",
        resolve: (s) => finiteOrNull(studySummaryOf(s)?.theoreticalAccuracy),
      }),
      configurationChecks: t.field({
        type: [ConfigurationCheckRef],
        complexity: { field: 1, multiplier: LIST_SIZES.checks },
        resolve: (s, _a, ctx, info) => chargeList(ctx.guard, info, studySummaryOf(s)?.configurationChecks ?? []),
      }),
      summary: t.field({ type: "JSON", nullable: true, complexity: OPAQUE_COST, resolve: (s) => s.summary }),
    }),
  });

  const StudyEdgeRef = builder.objectRef<StudyEdge>("StudyEdge").implement({
    fields: (t) => ({
      cursor: t.exposeString("cursor"),
      node: t.field({ type: StudyRef, resolve: (e) => e.node }),
    }),
  });

  const StudyConnectionRef = builder.objectRef<StudyConnection>("StudyConnection").implement({
    description: "A page of studies.",
    fields: (t) => ({
      totalCount: t.exposeInt("totalCount", { description: "Studies matching the filter, over all pages." }),
      pageInfo: t.field({
        type: PageInfoRef,
        resolve: (c) => ({ hasNextPage: c.hasNextPage, endCursor: c.edges.at(-1)?.cursor ?? null }),
      }),
      // The page size is already the multiplier of studies; the lists inside do not multiply again.
      edges: t.field({
        type: [StudyEdgeRef],
        complexity: { field: 0, multiplier: 1 },
        resolve: (c, _a, ctx, info) => chargeList(ctx.guard, info, c.edges),
      }),
      nodes: t.field({
        type: [StudyRef],
        complexity: { field: 0, multiplier: 1 },
        resolve: (c, _a, ctx, info) => chargeList(ctx.guard, info, c.edges.map((e) => e.node)),
      }),
    }),
  });

  const StudyFilterInput = builder.inputType("StudyFilter", {
    description: "Each list keeps studies matching any of its values; different fields must all hold.",
    fields: (t) => ({
      statuses: t.field({ type: [RunStatusEnum] }),
      dataSources: t.stringList({ description: "Data sources exactly as stored." }),
      targetKinds: t.stringList({ description: 'Target kinds, e.g. ["direction", "return"].' }),
      modelKinds: t.stringList({ description: "Studies planning at least one entry of these kinds." }),
      tags: t.stringList({ description: "Studies carrying at least one of these tags." }),
      name: t.string({ description: "Studies whose name contains this text (case-insensitive)." }),
      createdFrom: t.string({ description: "Created at or after (ISO 8601 date or timestamp, UTC)." }),
      createdTo: t.string({ description: "Created before (ISO 8601 date or timestamp, UTC)." }),
    }),
  });

  const StudyOrderFieldEnum = builder.enumType("StudyOrderField", {
    description: "What studies are ordered by (unfinished studies last by finishedAt).",
    values: ["createdAt", "finishedAt"] as const,
  });

  const StudyOrderInput = builder.inputType("StudyOrder", {
    description: "Ties are broken by study id in the same direction.",
    fields: (t) => ({
      field: t.field({ type: StudyOrderFieldEnum, required: true, defaultValue: "createdAt" }),
      direction: t.field({ type: SortDirectionEnum, required: true, defaultValue: "desc" }),
    }),
  });

  const ComparisonRef = builder.objectRef<Comparison>("Comparison").implement({
    description: "Comparison rows of chosen runs, and whether they were tested on the same rows.",
    fields: (t) => ({
      // `compare` multiplies by the number of runs already.
      rows: t.field({
        type: [ComparisonRowRef],
        description: "One per run that is a finished study entry, in the order asked.",
        complexity: { field: 0, multiplier: 1 },
        resolve: (c, _a, ctx, info) => chargeList(ctx.guard, info, c.rows),
      }),
      runs: t.field({
        type: [RunRef],
        complexity: { field: 0, multiplier: 1 },
        resolve: (c, _a, ctx, info) => chargeList(ctx.guard, info, c.runs),
      }),
      sameRows: t.boolean({
        description: "True when every run was tested on the same data, symbols, target, folds and rows.",
        resolve: (c) => c.differences.length === 0,
      }),
      differences: t.stringList({
        description: "What differs between the first run and each other one (empty when sameRows).",
        complexity: OPAQUE_COST,
        resolve: (c) => c.differences,
      }),
      missing: t.stringList({
        description: "Runs without a comparison row (still running, failed, or stored before studies).",
        complexity: OPAQUE_COST,
        resolve: (c) => c.runs.filter((r) => comparisonRowOf(r) === null).map((r) => r.id),
      }),
    }),
  });

  const SplitEnum = builder.enumType("PredictionSplit", {
    description: "Which rows of a fold a prediction record holds: the out-of-sample test rows, or the early-stopping " +
      "tail carved from training (validation).",
    values: PREDICTION_SPLITS as PredictionSplit[],
  });

  const PredictionFoldRef = builder.objectRef<PredictionFold>("PredictionFold").implement({
    description: "A fold's stored predictions (one record per split), without the rows.",
    fields: (t) => ({
      fold: t.exposeInt("fold"),
      split: t.field({ type: SplitEnum, resolve: (p) => p.split }),
      rows: t.exposeInt("rows", { description: "Rows (date, symbol) predicted." }),
      width: t.exposeInt("width", { description: "Scores per row: 1 (P(up) or a forecast) or the classes." }),
      createdAt: t.string({ resolve: (p) => isoTime(p.createdAt)! }),
    }),
  });

  const PredictionRowRef = builder.objectRef<PredictionRow>("PredictionRow").implement({
    fields: (t) => ({
      date: t.exposeString("date"),
      symbol: t.exposeString("symbol"),
      values: t.floatList({
        nullable: { list: false, items: true },
        description: "The row's scores (null where no prediction was made).",
        complexity: { field: 1, multiplier: LIST_SIZES.scores },
        resolve: (r) => r.values.map((v) => finiteOrNull(v)),
      }),
    }),
  });

  const PredictionPageRef = builder.objectRef<PredictionPage>("PredictionPage").implement({
    description: "A page of one fold's out-of-sample predictions, in stored row order.",
    fields: (t) => ({
      fold: t.int({ resolve: (p) => p.fold.fold }),
      split: t.field({ type: SplitEnum, resolve: (p) => p.fold.split }),
      width: t.int({ resolve: (p) => p.fold.width }),
      totalCount: t.int({ description: "Rows of the fold.", resolve: (p) => p.fold.rows }),
      pageInfo: t.field({
        type: PageInfoRef,
        resolve: (p) => {
          const end = p.offset + p.rows.length;
          return { hasNextPage: end < p.fold.rows, endCursor: p.rows.length === 0 ? null : predictionCursor(end) };
        },
      }),
      // `Run.predictions` multiplies by the page size already.
      rows: t.field({
        type: [PredictionRowRef],
        complexity: { field: 0, multiplier: 1 },
        resolve: (p, _a, ctx, info) => chargeList(ctx.guard, info, p.rows),
      }),
    }),
  });

  const LivenessEnum = builder.enumType("Liveness", {
    description: "Whether a running record's process still shows signs of life: live while its heartbeat is recent, " +
      "stale when the store's threshold has passed without one (its process has probably stopped: mark it " +
      "interrupted).",
    values: ["live", "stale"] as const,
  });
  const ReopeningRef = builder.objectRef<Reopening>("Reopening").implement({
    description: "An earlier ending of a record that was reopened and resumed.",
    fields: (t) => ({
      at: t.string({ description: "When it was reopened (ISO 8601 UTC).", resolve: (r) => isoTime(r.at)! }),
      status: t.exposeString("status", { description: "failed or interrupted." }),
      error: t.field({ type: RunErrorRef, resolve: (r) => r.error }),
      finishedAt: t.string({ resolve: (r) => isoTime(r.finishedAt)! }),
    }),
  });
  // The same fields on both types (both summaries carry them), so one builder serves both.
  for (const ref of [StudyRef, RunRef] as const) {
    builder.objectFields(ref as typeof RunRef, (t) => ({
      tags: t.exposeStringList("tags", { description: "Tags, sorted.", complexity: OPAQUE_COST }),
      note: t.string({ nullable: true, resolve: (x) => x.note }),
      liveness: t.field({
        type: LivenessEnum,
        nullable: true,
        description: "live or stale while running; null once sealed.",
        resolve: (x) => x.liveness,
      }),
      heartbeatAt: t.string({
        nullable: true,
        description: "Last sign of life of its process (ISO 8601 UTC); null for records stored before heartbeats.",
        resolve: (x) => isoTime(x.heartbeatAt),
      }),
      reopened: t.field({
        type: [ReopeningRef],
        description: "Earlier endings, oldest first, when it was reopened and resumed.",
        complexity: { field: 1, multiplier: 2 },
        resolve: (x) => x.reopened,
      }),
    }));
  }

  builder.objectFields(RunRef, (t) => ({
    study: t.field({
      type: StudyRef,
      nullable: true,
      resolve: (r, _a, ctx) => (r.studyId === null ? null : ctx.loaders.study.load(r.studyId)),
    }),
    comparisonRow: t.field({
      type: ComparisonRowRef,
      nullable: true,
      description: "This entry's row of the comparison table (null until it succeeds).",
      resolve: (r) => comparisonRowOf(r),
    }),
    predictionFolds: t.field({
      type: [PredictionFoldRef],
      description: "The folds with stored out-of-sample predictions.",
      complexity: { field: 1, multiplier: LIST_SIZES.folds },
      resolve: async (r, _a, ctx, info) => chargeList(ctx.guard, info, await ctx.loaders.predictionFolds.load(r.id)),
    }),
    predictions: t.field({
      type: PredictionPageRef,
      nullable: true,
      description: "A page of one fold's predictions (null when the fold has none): the test rows by default, or " +
        "the early-stopping tail's. Only the page is read from the store.",
      args: {
        fold: t.arg.int({ required: true }),
        split: t.arg({ type: SplitEnum, description: "Which rows (default test)." }),
        first: t.arg.int({ description: `Rows (default ${DEFAULT_PREDICTION_PAGE}, at most ${MAX_PREDICTION_PAGE}).` }),
        after: t.arg.string({ description: "endCursor of the previous page." }),
      },
      complexity: (args) => ({ field: 2, multiplier: Math.max(0, args.first ?? DEFAULT_PREDICTION_PAGE) }),
      resolve: async (r, args, ctx) => {
        const first = args.first ?? DEFAULT_PREDICTION_PAGE;
        if (first < 1 || first > MAX_PREDICTION_PAGE) {
          throw badInput(`first must be between 1 and ${MAX_PREDICTION_PAGE}, got ${first}`);
        }
        if (args.fold < 0) throw badInput(`fold must be ≥ 0 (folds are numbered from 0), got ${args.fold}`);
        const offset = decodePredictionCursor(args.after);
        const split = args.split ?? "test";
        const fold = (await ctx.loaders.predictionFolds.load(r.id)).find((f) =>
          f.fold === args.fold && f.split === split
        );
        if (fold === undefined) return null;
        const slice = await ctx.loaders.predictionSlice.load({
          runId: r.id,
          fold: args.fold,
          split,
          offset,
          limit: first,
        });
        const rows: PredictionRow[] = [];
        if (slice !== null) {
          for (let i = 0; i < slice.dates.length; i++) {
            rows.push({
              date: slice.dates[i],
              symbol: slice.symbols[i],
              values: slice.values.slice(i * slice.width, (i + 1) * slice.width),
            });
          }
        }
        return { runId: r.id, fold, offset, rows };
      },
    }),
  }));

  builder.queryFields((t) => ({
    studies: t.field({
      type: StudyConnectionRef,
      description: "A page of studies matching `filter`, in `orderBy` order (newest first by default), after the " +
        "cursor `after`, with the total count.",
      args: {
        filter: t.arg({ type: StudyFilterInput }),
        orderBy: t.arg({ type: StudyOrderInput }),
        first: t.arg.int({ description: `Page size (default 50, at most ${MAX_STUDY_PAGE}).` }),
        after: t.arg.string({ description: "endCursor of the previous page (same filter and order)." }),
      },
      complexity: (args) => ({ field: 2, multiplier: Math.max(0, args.first ?? 50) }),
      resolve: async (_root, args, ctx) => {
        const f = args.filter ?? {};
        const query = {
          statuses: f.statuses ?? undefined,
          dataSources: f.dataSources ?? undefined,
          targetKinds: f.targetKinds ?? undefined,
          modelKinds: f.modelKinds ?? undefined,
          tags: f.tags ?? undefined,
          nameContains: f.name ?? undefined,
          createdFrom: parseTime(f.createdFrom, "filter.createdFrom"),
          createdTo: parseTime(f.createdTo, "filter.createdTo"),
          order: args.orderBy ? { by: args.orderBy.field, direction: args.orderBy.direction } : undefined,
          first: args.first ?? undefined,
          after: args.after,
        };
        try {
          checkStudyQuery(query); // bad arguments are the client's to fix; anything the store throws later is ours
        } catch (e) {
          if (e instanceof StoreError) {
            throw badInput(e.message.replace(/^queryStudies: /, "").replace(/^nameContains/, "filter.name"));
          }
          throw e;
        }
        const page = await ctx.store.queryStudies(query);
        for (const s of page.studies) ctx.loaders.study.prime(s.id, s);
        return {
          edges: page.studies.map((node, i) => ({ node, cursor: page.cursors[i] })),
          totalCount: page.totalCount,
          hasNextPage: page.hasNextPage,
        };
      },
    }),
    study: t.field({
      type: StudyRef,
      nullable: true,
      description: "One study by id; an unknown id is an error with extensions.code NOT_FOUND.",
      args: { id: t.arg.id({ required: true }) },
      resolve: async (_root, { id }, ctx) => {
        const study = await ctx.loaders.study.load(String(id));
        if (study === null) {
          throw notFound(
            `no study with id ${JSON.stringify(String(id))}; list stored studies with { studies { nodes { id } } }`,
          );
        }
        return study;
      },
    }),
    compare: t.field({
      type: ComparisonRef,
      description: "The comparison rows of any runs (study entries), in the order given, and whether they were " +
        `tested on the same rows (at most ${MAX_COMPARE_RUNS} runs; an unknown id is NOT_FOUND).`,
      args: { runIds: t.arg.idList({ required: true }) },
      complexity: (args) => ({ field: 5, multiplier: Math.max(1, args.runIds.length) }),
      resolve: async (_root, { runIds }, ctx: GraphQLContext) => {
        const ids = [...new Set(runIds.map(String))];
        if (ids.length === 0 || ids.length > MAX_COMPARE_RUNS) {
          throw badInput(`runIds must name 1 to ${MAX_COMPARE_RUNS} runs, got ${ids.length}`);
        }
        const runs = await Promise.all(ids.map((id) => ctx.loaders.run.load(id)));
        const unknown = ids.filter((_, i) => runs[i] === null);
        if (unknown.length > 0) {
          throw notFound(`no run with id ${unknown.map((u) => JSON.stringify(u)).join(", ")}`);
        }
        const found = runs as RunSummary[];
        const folds = await Promise.all(found.map((r) => ctx.loaders.folds.load(r.id)));
        const byRun = new Map<string, StoredFold[]>(found.map((r, i) => [r.id, folds[i]]));
        return {
          runs: found,
          rows: found.map(comparisonRowOf).filter((r): r is ComparisonRow => r !== null),
          differences: rowDifferences(found, byRun),
        };
      },
    }),
  }));
  return { StudyRef };
}
