/**
 * Mutations, in the schema only when the server requires a bearer token (so every request that can change the store
 * carries it): tag and untag a study or run, set or clear its note, rename a study, delete a run or a study with all
 * their parts, and mark a stale study interrupted.
 *
 * They call the store's edit methods ({@link StoreEdits}: schema version 3). A store without them answers
 * `NOT_IMPLEMENTED`. Arguments are checked here first (`BAD_USER_INPUT`, `NOT_FOUND`), so the usual mistakes never reach
 * the store; a refusal by the store itself (e.g. deleting a study that is still live) comes back as `STORE_REFUSED` with
 * its message. Every mutation answers with the changed record read afresh (or, for a delete, what was deleted).
 *
 * @module
 */

import { GraphQLError } from "graphql";
import { StoreError } from "../lib/errors.ts";
import type { RunError, RunSummary, Store, StudySummary } from "../lib/store/store.ts";
import { badInput, type Builder, type GraphQLContext, notFound, type SharedRefs } from "./builder.ts";
import type { StudyRefs } from "./schema_studies.ts";
import { labelsOf } from "./records.ts";

/** The store's edit methods (schema version 3). */
export interface StoreEdits {
  /** Adds `tag` to a study or run (by id); adding a tag it has is a no-op. */
  tag(id: string, tag: string): Promise<unknown>;
  /** Removes `tag` from a study or run; removing a tag it lacks is a no-op. */
  untag(id: string, tag: string): Promise<unknown>;
  /** Sets (or with null clears) the note of a study or run. */
  setNote(id: string, note: string | null): Promise<unknown>;
  /** Renames a study. */
  renameStudy(id: string, name: string): Promise<unknown>;
  /** Deletes a run with its folds, epochs, diagnostics, backtest and predictions. */
  deleteRun(id: string): Promise<unknown>;
  /** Deletes a study with all its runs. */
  deleteStudy(id: string): Promise<unknown>;
  /** Marks a running study (and its running runs) interrupted with `error`. */
  markInterrupted(studyId: string, error: RunError): Promise<unknown>;
}

/** Longest tag and note accepted. */
export const MAX_TAG_LENGTH = 64;
export const MAX_NOTE_LENGTH = 10_000;
export const MAX_NAME_LENGTH = 200;
const TAG = /^[\p{L}\p{N}][\p{L}\p{N} _.:/+-]*$/u;

function edits(store: Store): StoreEdits {
  const s = store as Partial<StoreEdits>;
  const names: (keyof StoreEdits)[] = [
    "tag",
    "untag",
    "setNote",
    "renameStudy",
    "deleteRun",
    "deleteStudy",
    "markInterrupted",
  ];
  if (names.some((n) => typeof s[n] !== "function")) {
    throw new GraphQLError(
      `this run store (${store.backend}) cannot edit records yet: tags, notes, renames, deletes and interruptions ` +
        `need store schema version 3`,
      { extensions: { code: "NOT_IMPLEMENTED" } },
    );
  }
  return store as unknown as StoreEdits;
}

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
          await refusable(() => edits(ctx.store).tag(id, tag));
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
          await refusable(() => edits(ctx.store).untag(id, tag));
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
          await refusable(() => edits(ctx.store).setNote(id, note));
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
          await refusable(() => edits(ctx.store).renameStudy(id, name));
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
          await refusable(() => edits(ctx.store).deleteRun(id));
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
          await refusable(() => edits(ctx.store).deleteStudy(id));
          return { id, runs: runs.length };
        },
      }),
      markInterrupted: t.field({
        type: StudyRef,
        description: "Marks a stale study — still running in the store, but its process has stopped writing — and " +
          "its running runs interrupted. A live study is refused.",
        args: {
          studyId: t.arg.id({ required: true }),
          reason: t.arg.string({ description: "Why (default: marked from the dashboard)." }),
        },
        resolve: async (_root, args, ctx) => {
          const id = String(args.studyId);
          const t = await target(ctx, id);
          if (t.kind !== "study") throw badInput(`${id} is a run; mark its study (${t.run.studyId}) interrupted`);
          if (t.study.status !== "running") throw badInput(`study ${id} is already ${t.study.status}`);
          if (labelsOf(t.study).liveness === "live") {
            throw badInput(`study ${id} is live (its process is still writing); only a stale study can be marked`);
          }
          const reason = (args.reason ?? "").trim() || "marked interrupted from the dashboard: its process stopped";
          await refusable(() =>
            edits(ctx.store).markInterrupted(id, { message: reason.slice(0, 1000), name: "Interrupted" })
          );
          return (await reread(ctx, id)) as StudySummary;
        },
      }),
    }),
  });
}
