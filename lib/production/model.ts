/**
 * The production model folder: what `candor train` writes and `candor predict` reads.
 *
 * ```
 * data/models/<model id>/
 *   model.json            the manifest (below)
 *   entries/<name>/       one folder per component, written by its kind's TrainedModel.save
 * ```
 *
 * A model is one study entry; its **components** are that entry and, for a stack, the base entries it combines
 * (bases first), each retrained on all labelled data. The manifest holds everything needed to use and to trust the
 * model: the components with their settings, the feature names and saved definitions (lib/production/features.ts),
 * the target and its statistics on the fitting rows and the early-stopping tail, the win-rate prior, the backtest
 * conventions and sizing rule positions are computed with, the resolved study configuration, the data fingerprint,
 * the candor version, the study and gate it was allowed by (and whether the gate was skipped), and the training
 * window.
 *
 * @module
 */

import { join } from "node:path";
import { ConfigError, StoreError } from "../errors.ts";
import type { StudyConfig } from "../pipeline/config.ts";
import type { FamilyVerdict, Gate, TargetStats } from "../pipeline/evaluate.ts";
import type { FoldPrior } from "../pipeline/backtest.ts";
import type { StudyData, Task, TrainedModel } from "../pipeline/trainers/contract.ts";
import { trainerOf } from "../pipeline/trainers/registry.ts";
import type { DateWindow } from "../validation/fold.ts";
import type { Calibrator } from "../models/calibration/calibration.ts";
import type { StoredModel } from "../store/production.ts";
import type { Store } from "../store/store.ts";
import type { SavedFeature } from "./features.ts";

/** The manifest format tag. */
export const MODEL_FORMAT = "candor-model/1";

/** One component of a production model: a study entry retrained on all labelled data. */
export interface ModelComponent {
  /** Entry name. */
  name: string;
  /** Model kind. */
  kind: string;
  /** Resolved settings. */
  settings: Record<string, unknown>;
  /** Stacking: base entries. */
  base?: string[];
  /** Stacking: meta-learner. */
  meta?: string;
  /** Folder, relative to the model folder. */
  dir: string;
  /** What the fit reported (notes, iterations, ...). */
  fit: Record<string, unknown>;
}

/** `model.json` (see the module notes). */
export interface ModelManifest {
  /** {@link MODEL_FORMAT}. */
  format: typeof MODEL_FORMAT;
  /** `model_` + ULID. */
  id: string;
  /** The entry this model serves. */
  name: string;
  /** Its kind. */
  kind: string;
  /** What it predicts. */
  task: Task;
  /** Scores per row (classes for multiclass). */
  classes: number;
  /** Target kind and horizon. */
  target: StudyConfig["target"];
  /** Components in scoring order (bases first, the entry last). */
  components: ModelComponent[];
  /** Feature columns in order: built-in definitions (saved) then extra file columns. */
  features: { names: string[]; builtIn: SavedFeature[]; columns: string[] };
  /** Backtest conventions and the sizing rule target positions follow. */
  backtest: StudyConfig["backtest"];
  /** The win-rate prior of the production fit (hybrid sizing). */
  winRatePrior: Omit<FoldPrior, "fold">;
  /**
   * Binary targets: the isotonic calibration of P(up), fitted on the entry's out-of-fold predictions in the study
   * against the realized direction (rows, and the first and last decision dates), or null.
   */
  calibration: { method: "isotonic"; rows: number; from: string; to: string; calibrator: Calibrator } | null;
  /** The target on the fitting rows and the early-stopping tail. */
  targetStats: { fit: TargetStats; validation: TargetStats };
  /** Training window: decision dates of the labelled rows, their date windows, row counts, the last price date. */
  trainedOn: {
    from: string;
    to: string;
    lastPriceDate: string;
    fit: DateWindow[];
    validation: DateWindow[];
    rows: { fit: number; validation: number };
  };
  /** Symbols it was trained on. */
  symbols: string[];
  /** The resolved study configuration. */
  config: StudyConfig;
  /** Fingerprint of the training prices. */
  dataFingerprint: string;
  /** Where they came from. */
  dataSource: string;
  /** candor version that trained it. */
  version: string;
  /**
   * The study whose gate allowed it (or was overridden: `skipGate`), and, from a study of two or more entries, its
   * verdict among them under Holm's correction (absent in models trained before it was recorded).
   */
  study: { id: string | null; runId: string | null; gate: Gate; skipGate: boolean; family?: FamilyVerdict };
  /** ISO time it was trained. */
  createdAt: string;
}

/** Writes the manifest into the model folder. */
export async function writeManifest(dir: string, m: ModelManifest): Promise<void> {
  await Deno.mkdir(dir, { recursive: true });
  const noNaN = (_k: string, v: unknown) => (typeof v === "number" && !Number.isFinite(v) ? null : v);
  await Deno.writeTextFile(join(dir, "model.json"), JSON.stringify(m, noNaN, 1) + "\n");
}

/** Reads a model folder's manifest; a missing or foreign file is a precise error. */
export async function readManifest(dir: string): Promise<ModelManifest> {
  let text: string;
  try {
    text = await Deno.readTextFile(join(dir, "model.json"));
  } catch (e) {
    throw new StoreError(
      `the model folder ${dir} has no readable model.json (${(e as Error).message}): it was moved or deleted; ` +
        `retrain with candor train`,
    );
  }
  const m = JSON.parse(text) as ModelManifest;
  if (m?.format !== MODEL_FORMAT) {
    throw new ConfigError(`${join(dir, "model.json")} is not a candor model manifest (format ${MODEL_FORMAT})`);
  }
  return m;
}

/**
 * The registered model `idOrLatest` (`latest`: the newest one) and its manifest. An unknown id is a ConfigError
 * listing the newest registered ones.
 */
export async function findModel(
  store: Store,
  idOrLatest: string,
): Promise<{ record: StoredModel; manifest: ModelManifest }> {
  let record: StoredModel | undefined;
  if (idOrLatest === "latest") [record] = await store.listModels({ limit: 1 });
  else [record] = await store.getModels([idOrLatest]);
  if (record === undefined) {
    const newest = (await store.listModels({ limit: 5 })).map((m) => `${m.id} (${m.name}, ${m.kind})`);
    throw new ConfigError(
      idOrLatest === "latest"
        ? "no production model is registered in this store: train one with candor train --config study.yaml"
        : `no production model ${JSON.stringify(idOrLatest)} in this store; ${
          newest.length === 0 ? "none is registered (candor train)" : `the newest: ${newest.join(", ")}`
        }`,
    );
  }
  const manifest = await readManifest(record.path);
  if (manifest.id !== record.id) {
    throw new ConfigError(`${record.path}/model.json belongs to model ${manifest.id}, not ${record.id}`);
  }
  return { record, manifest };
}

/** Loads every component of a model (bases first), through its kind's `load`. The caller disposes of them. */
export async function loadComponents(dir: string, m: ModelManifest): Promise<Map<string, TrainedModel>> {
  const out = new Map<string, TrainedModel>();
  try {
    for (const c of m.components) {
      const trainer = trainerOf(c.kind);
      if (trainer === undefined) {
        throw new ConfigError(
          `model ${m.id} needs model kind ${JSON.stringify(c.kind)}, which this candor does not have`,
        );
      }
      out.set(
        c.name,
        await trainer.load(join(dir, c.dir), {
          name: c.name,
          kind: c.kind,
          settings: c.settings,
          ...(c.base === undefined ? {} : { base: c.base }),
          ...(c.meta === undefined ? {} : { meta: c.meta }),
        }),
      );
    }
    return out;
  } catch (e) {
    for (const model of out.values()) model.dispose();
    throw e;
  }
}

/**
 * Scores `rows` of `data` with a loaded model: each component in order, a stack fed its bases' scores of the same
 * rows. Returns the rows the entry scored and their scores (width per row: `classes` for multiclass, else 1).
 */
export function scoreModel(
  m: ModelManifest,
  models: ReadonlyMap<string, TrainedModel>,
  data: StudyData,
  rows: Int32Array,
): { rows: Int32Array; scores: Float64Array } {
  const all = new Map<string, Float64Array>();
  const width = new Map<string, number>();
  const inputs = {
    scores: (name: string) => {
      const s = all.get(name);
      if (s === undefined) throw new ConfigError(`model ${m.id}: component ${name} is scored after the one using it`);
      return s;
    },
    width: (name: string) => width.get(name) ?? 1,
  };
  let last: { rows: Int32Array; scores: Float64Array } = { rows: new Int32Array(0), scores: new Float64Array(0) };
  for (const c of m.components) {
    const out = models.get(c.name)!.score(data, rows, inputs);
    const w = out.rows.length === 0 ? 1 : out.scores.length / out.rows.length;
    const scattered = new Float64Array(data.dates.length * w).fill(NaN);
    out.rows.forEach((r, i) => {
      for (let k = 0; k < w; k++) scattered[r * w + k] = out.scores[i * w + k];
    });
    all.set(c.name, scattered);
    width.set(c.name, w);
    last = out;
  }
  return last;
}
