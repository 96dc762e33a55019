/**
 * What a study resumed after an interruption or a failure (`candor run --resume ID`, `runStudy(config, { resume })`)
 * must be, checked before anything is written:
 *
 * - the id names a stored study, or a run of one (its study is resumed);
 * - the study is `interrupted` or `failed`, or `running` with a stale heartbeat (its process is gone); a `succeeded`
 *   study has nothing left to do, and a live one has a process still training it;
 * - the configuration is the stored one, key for key (a resumed study mixes folds trained before and after: they must
 *   come from the same configuration); the data's fingerprint is checked once the data is loaded (`runStudy`).
 *
 * Every refusal is a {@link ResumeRefusedError} saying what differs or what to do instead.
 *
 * @module
 */

import { ResumeRefusedError } from "../errors.ts";
import type { Store, Study, StudySummary } from "../store/store.ts";
import { resolveStoredConfig, type StudyConfig } from "./config.ts";

/**
 * A stored study's configuration, resolved again as read back from the store (`resolveStoredConfig`: the defaults
 * of the other validation schemes' keys dropped first, the defaults of keys added since filled in).
 */
export function storedStudyConfig(study: StudySummary): StudyConfig {
  return resolveStoredConfig(study.config);
}

/** `JSON.stringify`'s view of a value (what the store keeps): undefined keys dropped, NaN as null. */
function asStored(x: unknown): unknown {
  return x === undefined ? undefined : JSON.parse(JSON.stringify(x));
}

/**
 * The paths at which two configurations differ as stored (JSON: key order ignored, undefined keys absent), each with
 * both values, e.g. `seed: 7 (stored) vs 8 (given)`; empty when they are the same. At most `max` are listed.
 */
export function configDifferences(stored: unknown, given: unknown, max = 5): string[] {
  const out: string[] = [];
  const show = (v: unknown) => {
    const s = v === undefined ? "absent" : JSON.stringify(v);
    return s.length > 80 ? `${s.slice(0, 77)}...` : s;
  };
  const walk = (a: unknown, b: unknown, path: string) => {
    if (out.length >= max) return;
    const bothObjects = typeof a === "object" && a !== null && typeof b === "object" && b !== null;
    if (bothObjects && Array.isArray(a) === Array.isArray(b)) {
      if (Array.isArray(a) && Array.isArray(b) && a.length !== b.length) {
        out.push(`${path || "(root)"}: ${a.length} items (stored) vs ${b.length} (given)`);
        return;
      }
      const keys = new Set([...Object.keys(a as object), ...Object.keys(b as object)]);
      for (const k of [...keys].sort()) {
        const p = Array.isArray(a) ? `${path}[${k}]` : path === "" ? k : `${path}.${k}`;
        walk((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], p);
      }
      return;
    }
    if (JSON.stringify(a) !== JSON.stringify(b)) {
      out.push(`${path || "(root)"}: ${show(a)} (stored) vs ${show(b)} (given)`);
    }
  };
  walk(asStored(stored), asStored(given), "");
  return out;
}

/**
 * The study `id` names (a study id, or the id of one of its runs), checked as resumable (see the module notes); with
 * `config`, also that it is the stored configuration. Writes nothing.
 */
export async function resumableStudy(store: Store, id: string, config?: StudyConfig): Promise<Study> {
  let study = await store.getStudy(id);
  if (study === undefined) {
    const run = (await store.getRuns([id]))[0];
    if (run?.studyId) study = await store.getStudy(run.studyId);
  }
  if (study === undefined) {
    throw new ResumeRefusedError(
      `--resume: no study or run ${JSON.stringify(id)} in this run store; candor runs lists them`,
    );
  }
  if (study.status === "succeeded") {
    throw new ResumeRefusedError(
      `--resume: study ${study.id} already succeeded; there is nothing to resume (candor show ${study.id} prints it)`,
    );
  }
  if (study.status === "running" && study.liveness !== "stale") {
    throw new ResumeRefusedError(
      `--resume: study ${study.id} is running and its process is alive (heartbeat ${
        study.heartbeatAt === null ? "unknown" : new Date(study.heartbeatAt).toISOString()
      }); stop that process first (Ctrl-C records it interrupted), or wait until candor runs shows it stale`,
    );
  }
  if (config !== undefined) {
    const diff = configDifferences(storedStudyConfig(study), config);
    if (diff.length > 0) {
      throw new ResumeRefusedError(
        `--resume: the configuration differs from study ${study.id}'s: ${diff.join("; ")}. A resumed study ` +
          `finishes with the configuration it began with: drop the configuration flags to use the stored one, or ` +
          `start a new study`,
      );
    }
  }
  return study;
}
