/**
 * Mutations, in the schema only when the server requires a bearer token (so every request that can change the store
 * carries it): tag and untag a study or run, set or clear its note, rename a study, delete a run or a study with all
 * their parts, and mark a stale study or run interrupted.
 *
 * They call the store's annotation and interruption methods (store schema version 3; annotations change no result and
 * are allowed on sealed records). Arguments are checked here first (`BAD_USER_INPUT`, `NOT_FOUND`), so the usual
 * mistakes never reach the store; a refusal by the store itself (deleting a record that is still running, interrupting
 * one whose heartbeat is fresh — checked in the same transaction, so a reaper never races a live process) comes back as
 * `STORE_REFUSED` with its message. Every mutation answers with the changed record read afresh (or, for a delete, what
 * was deleted).
 *
 * @module
 */

import { GraphQLError } from "graphql";
import { StoreError } from "../lib/errors.ts";
import type { RunSummary, StudySummary } from "../lib/store/store.ts";
import { badInput, type Builder, type GraphQLContext, notFound, type SharedRefs } from "./builder.ts";
import type { StudyRefs } from "./schema_studies.ts";

/** Longest tag and note accepted. */
export const MAX_TAG_LENGTH = 64;
export const MAX_NOTE_LENGTH = 10_000;
export const MAX_NAME_LENGTH = 200;
const TAG = /^[\p{L}\p{N}][\p{L}\p{N} _.:/+-]*$/u;

/** Runs a store edit; a StoreError is the store refusing it (its message says why). */
async function refusable<T>(what: () => Promise<T>): Promise<T> {
  try {
    return await what();
  } catch (e) {
    if (e instanceof StoreError) {
      throw new GraphQLError(e.message, { extensions: { code: "STORE_REFUSED" } });
    }
    throw e;
  }
}

function checkTag(tag: string): string {
  const t = tag.trim();
  if (t.length === 0 || t.length > MAX_TAG_LENGTH || !TAG.test(t)) {
    throw badInput(
      `tag must be 1 to ${MAX_TAG_LENGTH} letters, digits, spaces or _ . : / + - (starting with a letter or digit)`,
    );
  }
  return t;
}

type Target = { kind: "study"; study: StudySummary } | { kind: "run"; run: RunSummary };

async function target(ctx: GraphQLContext, id: string): Promise<Target> {
  if (id.startsWith("study_")) {
    const [study] = await ctx.store.getStudies([id]);
    if (study !== undefined) return { kind: "study", study };
  } else if (id.startsWith("run_")) {
    const [run] = await ctx.store.getRuns([id]);
    if (run !== undefined) return { kind: "run", run };
  }
  throw notFound(`no study or run with id ${JSON.stringify(id)}`);
}

/** Re-reads a study or run after an edit. */
async function reread(ctx: GraphQLContext, id: string): Promise<StudySummary | RunSummary> {
  const t = await target(ctx, id);
  return t.kind === "study" ? t.study : t.run;
}

/** Adds the `Mutation` type. */
export function addMutations(builder: Builder, refs: SharedRefs, studyRefs: StudyRefs): void {
  const { RunRef } = refs;
  const { StudyRef } = studyRefs;

  const LabelledRef = builder.unionType("Labelled", {
    description: "A study or a run: what tags and notes attach to.",
    types: [StudyRef, RunRef],
    resolveType: (x) => ("entries" in x ? StudyRef : RunRef),
  });

  const DeletedRef = builder.objectRef<{ id: string; runs: number }>("Deleted").implement({
    description: "What a delete removed.",
    fields: (t) => ({
      id: t.exposeID("id"),
      runs: t.exposeInt("runs", { description: "Runs deleted with it (1 for a run)." }),
    }),
  });

  builder.mutationType({
    description: "Edits to stored records; present only when the server requires a bearer token.",
    fields: (t) => ({
      tag: t.field({
        type: LabelledRef,
        args: { id: t.arg.id({ required: true }), tag: t.arg.string({ required: true }) },
        resolve: async (_root, args, ctx) => {
          const id = String(args.id);
          const tag = checkTag(args.tag);
          await target(ctx, id);
          await refusable(() => ctx.store.tag(id, tag));
          return await reread(ctx, id);
        },
      }),
      untag: t.field({
        type: LabelledRef,
        args: { id: t.arg.id({ required: true }), tag: t.arg.string({ required: true }) },
        resolve: async (_root, args, ctx) => {
          const id = String(args.id);
          const tag = checkTag(args.tag);
          await target(ctx, id);
          await refusable(() => ctx.store.untag(id, tag));
          return await reread(ctx, id);
        },
      }),
      setNote: t.field({
        type: LabelledRef,
        description: "Sets the note of a study or run; null (or an empty note) clears it.",
        args: { id: t.arg.id({ required: true }), note: t.arg.string() },
        resolve: async (_root, args, ctx) => {
          const id = String(args.id);
          const note = args.note === null || args.note === undefined || args.note.trim() === "" ? null : args.note;
          if (note !== null && note.length > MAX_NOTE_LENGTH) {
            throw badInput(`note must be at most ${MAX_NOTE_LENGTH} characters, got ${note.length}`);
          }
          await target(ctx, id);
          await refusable(() => ctx.store.setNote(id, note));
          return await reread(ctx, id);
        },
      }),
      renameStudy: t.field({
        type: StudyRef,
        args: { id: t.arg.id({ required: true }), name: t.arg.string({ required: true }) },
        resolve: async (_root, args, ctx) => {
          const id = String(args.id);
          const name = args.name.trim();
          if (name.length === 0 || name.length > MAX_NAME_LENGTH) {
            throw badInput(`name must be 1 to ${MAX_NAME_LENGTH} characters`);
          }
          const t = await target(ctx, id);
          if (t.kind !== "study") throw badInput(`${id} is a run; only studies have names`);
          await refusable(() => ctx.store.renameStudy(id, name));
          return (await reread(ctx, id)) as StudySummary;
        },
      }),
      deleteRun: t.field({
        type: DeletedRef,
        description: "Deletes a run with its folds, epochs, diagnostics, backtest and predictions.",
        args: { id: t.arg.id({ required: true }) },
        resolve: async (_root, args, ctx) => {
          const id = String(args.id);
          const t = await target(ctx, id);
          if (t.kind !== "run") throw badInput(`${id} is a study; delete it with deleteStudy`);
          await refusable(() => ctx.store.deleteRun(id));
          return { id, runs: 1 };
        },
      }),
      deleteStudy: t.field({
        type: DeletedRef,
        description: "Deletes a study with all its runs and their parts.",
        args: { id: t.arg.id({ required: true }) },
        resolve: async (_root, args, ctx) => {
          const id = String(args.id);
          const t = await target(ctx, id);
          if (t.kind !== "study") throw badInput(`${id} is a run; delete it with deleteRun`);
          const runs = await ctx.loaders.studyRuns.load(id);
          await refusable(() => ctx.store.deleteStudy(id));
          return { id, runs: runs.length };
        },
      }),
      markInterrupted: t.field({
        type: LabelledRef,
        description: "Marks a stale study (with its running runs) or a stale run interrupted: still running in the " +
          "store, but its process has stopped sending heartbeats. A live one is refused.",
        args: {
          id: t.arg.id({ required: true, description: "A study or run id." }),
          reason: t.arg.string({ description: "Why (default: marked from the dashboard)." }),
        },
        resolve: async (_root, args, ctx) => {
          const id = String(args.id);
          const t = await target(ctx, id);
          const record = t.kind === "study" ? t.study : t.run;
          if (record.status !== "running") throw badInput(`${id} is already ${record.status}`);
          if (record.liveness === "live") {
            throw badInput(
              `${id} is live (its process sent a heartbeat at ${
                new Date(record.heartbeatAt ?? record.createdAt).toISOString()
              }); only a stale record can be marked interrupted`,
            );
          }
          const reason = (args.reason ?? "").trim() || "marked interrupted from the dashboard: its process stopped";
          await refusable(() =>
            ctx.store.markInterrupted(id, { message: reason.slice(0, 1000), name: "Interrupted" }, {
              onlyIfStale: true,
            })
          );
          return await reread(ctx, id);
        },
      }),
    }),
  });
}
