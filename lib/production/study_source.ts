/**
 * Where production training gets a study's verdicts from: a study just run (`candor run … --production`, or
 * `candor train` when no stored study matches), or a stored study (`candor train` finds the newest succeeded study
 * with the same resolved configuration and the same data fingerprint, or `--study ID`). Either way it yields the gate
 * of each entry, its run, and every entry's out-of-sample predictions over the dataset rows (what a stack's
 * meta-learner is fitted on).
 *
 * @module
 */

import { ConfigError } from "../errors.ts";
import { resolveStoredConfig, type StudyConfig, type StudyConfigInput } from "../pipeline/config.ts";
import { selectFeatures } from "../pipeline/data.ts";
import { type Gate, studyFamily, type VerdictOf } from "../pipeline/evaluate.ts";
import { prepareStudy, type StudyResult } from "../pipeline/study.ts";
import type { Store } from "../store/store.ts";
import type { OutOfFoldPredictions } from "../pipeline/trainers/contract.ts";
import { type EntryGate, outOfFoldFrom, type ProductionStudy, productionStudy } from "./train.ts";

/** A study ready for production training. */
export interface StudySource {
  /** Its resolved configuration. */
  config: StudyConfig;
  /** Prices, features, dataset, plan. */
  study: ProductionStudy;
  /** Gate per entry. */
  gates: Map<string, EntryGate>;
  /** Out-of-sample scores per entry. */
  oof: OutOfFoldPredictions;
  /** Stored study id, if any. */
  studyId?: string;
}

/** From a study that just ran. */
export function fromStudyResult(result: StudyResult, config: StudyConfig): StudySource {
  const { report, panel, data, plan } = result;
  const study: ProductionStudy = {
    market: { panel, source: report.source, fingerprint: report.fingerprint },
    selection: selectFeatures(panel, config.features),
    data,
    features: report.features,
    plan,
  };
  const family = studyFamily(report.entries);
  const gates = new Map<string, EntryGate>(
    report.entries.map((e) => [e.name, {
      gate: e.gate,
      ...(e.runId === undefined ? {} : { runId: e.runId }),
      ...(family.has(e.name) ? { family: family.get(e.name) } : {}),
    }]),
  );
  return {
    config,
    study,
    gates,
    oof: outOfFoldFrom(plan, data, result.predictions),
    ...(result.id === undefined ? {} : { studyId: result.id }),
  };
}

/** JSON with sorted keys (stored configurations may come back with their keys reordered). */
export function canonicalJson(x: unknown): string {
  return JSON.stringify(
    x,
    (_k, v) =>
      v !== null && typeof v === "object" && !Array.isArray(v)
        ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, (v as Record<string, unknown>)[k]]))
        : v,
  );
}

/**
 * From a stored study: `studyId`, or the newest succeeded study whose resolved configuration is `config` and whose
 * data has the fingerprint of the prices `config` reads. Undefined when none matches (and no id was given). The
 * dataset is rebuilt from the configuration (audited again), so the stored predictions map onto its rows.
 */
export async function fromStoredStudy(
  store: Store,
  config: StudyConfig | undefined,
  studyId?: string,
  dataPath?: string,
): Promise<StudySource | undefined> {
  let stored;
  if (studyId !== undefined) {
    stored = await store.getStudy(studyId);
    if (stored === undefined) throw new ConfigError(`--study: no study ${JSON.stringify(studyId)} in this store`);
    if (stored.status !== "succeeded") throw new ConfigError(`--study: study ${studyId} is ${stored.status}`);
    const input = stored.config as StudyConfigInput;
    config = resolveStoredConfig(
      dataPath === undefined ? input : { ...input, data: { kind: "files", path: dataPath } } as StudyConfigInput,
    );
  }
  if (config === undefined) throw new ConfigError("give a study configuration (--config) or a stored study (--study)");
  const prepared = await prepareStudy(config);
  const fingerprint = prepared.market.fingerprint;
  if (stored === undefined) {
    const want = canonicalJson(config);
    const candidates = await store.listStudies({ status: "succeeded", limit: 1000 });
    stored = candidates.find((s) => s.dataFingerprint === fingerprint && canonicalJson(s.config) === want);
    if (stored === undefined) return undefined;
    stored = await store.getStudy(stored.id);
    if (stored === undefined) return undefined;
  } else if (stored.dataFingerprint !== null && stored.dataFingerprint !== fingerprint) {
    throw new ConfigError(
      `--study ${stored.id} was run on data with fingerprint ${stored.dataFingerprint}; the prices at ` +
        `${prepared.market.source} have ${fingerprint}. Point --data at the study's files`,
    );
  }
  const runs = stored.runs.filter((r) => r.status === "succeeded" && r.entry !== null);
  const gates = new Map<string, EntryGate>();
  const verdicts = runs.flatMap((r) => {
    const pooled = (r.summary as { pooled?: VerdictOf["pooled"] } | null)?.pooled;
    return pooled === undefined ? [] : [{ name: r.entry!, pooled }];
  });
  const family = studyFamily(verdicts);
  for (const r of runs) {
    const gate = (r.summary as { gate?: Gate } | null)?.gate;
    const f = family.get(r.entry!);
    if (gate !== undefined) gates.set(r.entry!, { gate, runId: r.id, ...(f === undefined ? {} : { family: f }) });
  }
  // Out-of-sample predictions of every entry, placed on the rebuilt dataset's rows by (date, symbol).
  const data = prepared.prepared.data;
  const rowOf = new Map<string, number>();
  data.dates.forEach((d, i) => rowOf.set(`${d}|${data.symbols[i]}`, i));
  const predictions = await store.listPredictions(runs.map((r) => r.id), { split: "test" });
  const byEntry = new Map<string, { rows: number[]; scores: number[] }>();
  for (const p of predictions) {
    const entry = runs.find((r) => r.id === p.runId)!.entry!;
    const acc = byEntry.get(entry) ?? { rows: [], scores: [] };
    for (let i = 0; i < p.dates.length; i++) {
      const r = rowOf.get(`${p.dates[i]}|${p.symbols[i]}`);
      if (r === undefined) {
        throw new ConfigError(
          `study ${stored.id}: a stored prediction (${p.symbols[i]}, ${p.dates[i]}) is not a row of the data`,
        );
      }
      acc.rows.push(r);
      for (let k = 0; k < p.width; k++) acc.scores.push(p.values[i * p.width + k]);
    }
    byEntry.set(entry, acc);
  }
  return {
    config,
    study: productionStudy(prepared),
    gates,
    oof: outOfFoldFrom(prepared.plan, data, byEntry),
    studyId: stored.id,
  };
}
