/**
 * The numbers a chapter's story depends on, published so the notebook tests can check them.
 *
 * A chapter ends with `await recordFacts({ ... })`: plain JSON (numbers, strings, booleans, arrays, objects) sent as
 * one display output of MIME type {@link FACTS_MIME}. Jupyter keeps it in the executed notebook; the HTML reports do not
 * show it (no renderer claims that MIME type), so the reader sees the story's own tables and charts, while
 * tests/notebooks/ read the facts from the executed notebook (`renderNotebook(...).facts`) and assert what the story
 * claims: that the leak's accuracy is far above chance, that the collapse monitor fired in the first arm and not after
 * the fix, and so on. The facts are the same values the chapter's tables show, not recomputed.
 *
 * This module imports nothing, so the report renderer can read {@link FACTS_MIME} without loading the library.
 *
 * @module
 */

/** MIME type of a chapter's facts output. */
export const FACTS_MIME = "application/vnd.candor.facts+json";

/** JSON value a fact may hold. */
export type FactValue = number | string | boolean | null | FactValue[] | { [key: string]: FactValue };

/** A chapter's facts: name → JSON value. Names are the keys the tests read; keep them stable. */
export type Facts = Record<string, FactValue>;

/** Deno's Jupyter API, present only when running inside the kernel. */
export interface JupyterApi {
  /** Publishes a MIME bundle as it is (`raw: true`). */
  display(bundle: Record<string, unknown>, options: { raw: true }): Promise<void>;
}

/**
 * Publishes `facts` as one output of MIME type {@link FACTS_MIME} (inside Jupyter; elsewhere it does nothing). It returns nothing, so a
 * cell ending with it shows no value. Non-finite numbers are refused: JSON would turn them into null and a test would then read a
 * missing number as a value.
 */
export async function recordFacts(facts: Facts): Promise<void> {
  const bad: string[] = [];
  const walk = (v: FactValue, path: string) => {
    if (typeof v === "number" && !Number.isFinite(v)) bad.push(`${path} = ${v}`);
    else if (Array.isArray(v)) v.forEach((x, i) => walk(x, `${path}[${i}]`));
    else if (v !== null && typeof v === "object") { for (const [k, x] of Object.entries(v)) walk(x, `${path}.${k}`); }
  };
  for (const [k, v] of Object.entries(facts)) walk(v, k);
  if (bad.length > 0) throw new Error(`recordFacts: non-finite value(s): ${bad.join(", ")}`);
  const jupyter = jupyterApi();
  if (jupyter !== undefined) await jupyter.display({ [FACTS_MIME]: facts }, { raw: true });
}

/** Deno's Jupyter API inside the kernel; undefined elsewhere (reading `Deno.jupyter` outside the kernel throws). */
export function jupyterApi(): JupyterApi | undefined {
  try {
    return (Deno as unknown as { jupyter?: JupyterApi }).jupyter;
  } catch {
    return undefined;
  }
}
