/**
 * Live progress subscriptions (progress.ts): `studyProgress(id)` and `runProgress(id)`, served over server-sent events
 * (yoga's transport: `POST /graphql` with `Accept: text/event-stream`). Each event is a snapshot — stage, entry, fold,
 * folds done and planned, the latest epoch with its losses, each planned entry's state — and may select anything of
 * the study or run (its comparison so far, a run's epochs), read afresh for every event.
 *
 * @module
 */

import { GraphQLError } from "graphql";
import type { StoredEpoch } from "../lib/store/store.ts";
import { type Builder, type GraphQLContext, isoTime, LIST_SIZES, notFound, type SharedRefs } from "./builder.ts";
import { chargeList } from "./guard.ts";
import type { StudyRefs } from "./schema_studies.ts";
import {
  PROGRESS_STAGES,
  type ProgressStage,
  readRunSnapshot,
  readStudySnapshot,
  type RunSnapshot,
  type StudySnapshot,
  watch,
  type WatchFailure,
} from "./progress.ts";

/** A planned entry's state in a snapshot. */
interface EntryState {
  name: string;
  kind: string;
  snapshot: StudySnapshot;
}

function live(ctx: GraphQLContext) {
  if (ctx.live === undefined) {
    throw new GraphQLError(
      "subscriptions are served over server-sent events: POST them with Accept: text/event-stream",
      { extensions: { code: "BAD_REQUEST" } },
    );
  }
  return ctx.live;
}

/** The snapshot of an event, or the error its watch ended with (thrown, so the event carries it). */
function unwrap<S>(item: S | WatchFailure): S {
  if (typeof item === "object" && item !== null && "failure" in item) throw item.failure;
  return item as S;
}

/** Fresh loaders for this event, primed with what the snapshot read. */
function renewFor(ctx: GraphQLContext, prime: () => void): void {
  ctx.renew?.();
  prime();
}

/** Adds the progress types and the `Subscription` type. */
export function addProgressSubscriptions(builder: Builder, refs: SharedRefs, studyRefs: StudyRefs): void {
  const { RunRef, EpochRef } = refs;
  const { StudyRef } = studyRefs;

  const StageEnum = builder.enumType("ProgressStage", {
    description: "Where a study or run is, as its records show it: preparing (loading, features, audit, plan — " +
      "not recorded separately), training (an entry's folds), pooling (an entry's folds are done: pooled " +
      "evaluation and backtest), comparing (every entry done, the study not yet sealed), then done, failed or " +
      "interrupted.",
    values: PROGRESS_STAGES as ProgressStage[],
  });

  const EntryStatusEnum = builder.enumType("EntryStatus", {
    description: "A planned entry's state: pending until its run is created, then its run's status.",
    values: ["pending", "running", "succeeded", "failed", "interrupted"] as const,
  });

  const EntryStateRef = builder.objectRef<EntryState>("EntryProgress").implement({
    fields: (t) => ({
      name: t.exposeString("name"),
      kind: t.exposeString("kind"),
      status: t.field({
        type: EntryStatusEnum,
        resolve: (e) => {
          const run = e.snapshot.runs.findLast((r) => r.entry === e.name);
          return (run?.status ?? "pending") as "pending" | "running" | "succeeded" | "failed" | "interrupted";
        },
      }),
      run: t.field({
        type: RunRef,
        nullable: true,
        resolve: (e) => e.snapshot.runs.findLast((r) => r.entry === e.name) ?? null,
      }),
      foldsDone: t.int({
        resolve: (e) => {
          const run = e.snapshot.runs.findLast((r) => r.entry === e.name);
          return run === undefined ? 0 : e.snapshot.foldsDone.get(run.id) ?? 0;
        },
      }),
    }),
  });

  const StudyProgressRef = builder.objectRef<StudySnapshot>("StudyProgress").implement({
    description: "A running study at one moment. Epochs are stored when their fold finishes, so `lastEpoch` " +
      "advances fold by fold.",
    fields: (t) => ({
      study: t.field({ type: StudyRef, resolve: (s) => s.study }),
      stage: t.field({ type: StageEnum, resolve: (s) => s.position.stage }),
      entry: t.string({
        nullable: true,
        description: "The entry in training or pooling (or next to train).",
        resolve: (s) => s.position.entry,
      }),
      run: t.field({ type: RunRef, nullable: true, resolve: (s) => s.position.run }),
      fold: t.int({
        nullable: true,
        description: "The 0-based fold being trained (folds its run has stored).",
        resolve: (s) => s.position.fold,
      }),
      plannedFolds: t.int({ nullable: true, description: "Folds per entry.", resolve: (s) => s.plannedFolds }),
      foldsDone: t.int({
        description: "Folds stored, over all entries.",
        resolve: (s) => [...s.foldsDone.values()].reduce((a, b) => a + b, 0),
      }),
      fraction: t.float({
        nullable: true,
        description: "Share of the study's folds done (finished entries count whole), in [0, 1].",
        resolve: (s) => {
          if (s.plannedFolds === null || s.study.entries.length === 0) return null;
          if (s.sealed && s.study.status === "succeeded") return 1;
          let done = 0;
          for (const e of s.study.entries) {
            const run = s.runs.findLast((r) => r.entry === e.name);
            if (run === undefined) continue;
            done += run.status === "succeeded"
              ? s.plannedFolds
              : Math.min(s.plannedFolds, s.foldsDone.get(run.id) ?? 0);
          }
          return done / (s.plannedFolds * s.study.entries.length);
        },
      }),
      lastEpoch: t.field({
        type: EpochRef,
        nullable: true,
        description: "The latest epoch stored by the run in training (fold, epoch, losses).",
        resolve: (s) => s.lastEpoch,
      }),
      entries: t.field({
        type: [EntryStateRef],
        complexity: { field: 1, multiplier: LIST_SIZES.entries },
        resolve: (s, _a, ctx, info) =>
          chargeList(ctx.guard, info, s.study.entries.map((e) => ({ name: e.name, kind: e.kind, snapshot: s }))),
      }),
      liveness: t.string({
        nullable: true,
        description: "live or stale while running (stale: its process stopped sending heartbeats); null once sealed.",
        resolve: (s) => s.study.liveness,
      }),
      sealed: t.boolean({ description: "True on the last event: the study is sealed.", resolve: (s) => s.sealed }),
      at: t.string({ description: "When the snapshot was read (ISO 8601 UTC).", resolve: (s) => isoTime(s.at)! }),
    }),
  });

  const RunProgressRef = builder.objectRef<RunSnapshot>("RunProgress").implement({
    description: "A running run at one moment.",
    fields: (t) => ({
      run: t.field({ type: RunRef, resolve: (s) => s.run }),
      stage: t.field({ type: StageEnum, resolve: (s) => s.stage }),
      fold: t.int({ nullable: true, resolve: (s) => s.fold }),
      foldsDone: t.exposeInt("foldsDone"),
      plannedFolds: t.int({ nullable: true, resolve: (s) => s.plannedFolds }),
      lastEpoch: t.field({ type: EpochRef, nullable: true, resolve: (s): StoredEpoch | null => s.lastEpoch }),
      sealed: t.exposeBoolean("sealed"),
      at: t.string({ resolve: (s) => isoTime(s.at)! }),
    }),
  });

  builder.subscriptionType({
    description: "Live progress over server-sent events: POST /graphql with Accept: text/event-stream.",
    fields: (t) => ({
      studyProgress: t.field({
        type: StudyProgressRef,
        description: "Progress of a study: one event at once, then one per visible change; ends after the event " +
          "that shows it sealed (or after the server's maximum subscription time).",
        args: { id: t.arg.id({ required: true }) },
        subscribe: async (_root, { id }, ctx) => {
          const options = live(ctx);
          const missing = () => notFound(`no study with id ${JSON.stringify(String(id))}`);
          // An unknown id is refused at once (one error event), not after the stream has started.
          if ((await ctx.store.getStudies([String(id)])).length === 0) throw missing();
          return watch(() => readStudySnapshot(ctx.store, String(id)), missing, options);
        },
        resolve: (item, _a, ctx) => {
          const snapshot = unwrap(item);
          renewFor(ctx, () => {
            ctx.loaders.study.prime(snapshot.study.id, snapshot.study);
            ctx.loaders.studyRuns.prime(snapshot.study.id, snapshot.runs);
            for (const r of snapshot.runs) ctx.loaders.run.prime(r.id, r);
          });
          return snapshot;
        },
      }),
      runProgress: t.field({
        type: RunProgressRef,
        description: "Progress of a run (a study entry): one event at once, then one per visible change; ends " +
          "after the event that shows it sealed.",
        args: { id: t.arg.id({ required: true }) },
        subscribe: async (_root, { id }, ctx) => {
          const options = live(ctx);
          const missing = () => notFound(`no run with id ${JSON.stringify(String(id))}`);
          if ((await ctx.store.getRuns([String(id)])).length === 0) throw missing();
          return watch(() => readRunSnapshot(ctx.store, String(id)), missing, options);
        },
        resolve: (item, _a, ctx) => {
          const snapshot = unwrap(item);
          renewFor(ctx, () => ctx.loaders.run.prime(snapshot.run.id, snapshot.run));
          return snapshot;
        },
      }),
    }),
  });
}
