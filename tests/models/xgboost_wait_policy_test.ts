import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";

const LIBRARY = fileURLToPath(new URL("../../lib/models/xgboost/library.ts", import.meta.url));

/** What `openXGBoost(opts)` reports as the wait policy in a fresh process with `env`. */
async function policyIn(env: Record<string, string>, opts = "{}"): Promise<string> {
  const code = `import { openXGBoost } from ${JSON.stringify(LIBRARY)};
    const lib = openXGBoost(${opts});
    console.log(JSON.stringify({ lib: lib.waitPolicy, env: Deno.env.get("OMP_WAIT_POLICY") }));`;
  const clean: Record<string, string> = {};
  for (const [k, v] of Object.entries(Deno.env.toObject())) if (k !== "OMP_WAIT_POLICY") clean[k] = v;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", code],
    env: { ...clean, ...env },
    clearEnv: true,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  const r = JSON.parse(new TextDecoder().decode(out.stdout));
  assert.equal(r.lib, r.env, "the reported policy is the one OpenMP read");
  return r.lib;
}

Deno.test("XGBoost loads with OpenMP's passive wait policy unless told otherwise; the environment wins", async () => {
  assert.equal(await policyIn({}), "PASSIVE");
  assert.equal(await policyIn({}, `{ waitPolicy: "active" }`), "ACTIVE");
  assert.equal(await policyIn({ OMP_WAIT_POLICY: "ACTIVE" }), "ACTIVE");
  assert.equal(await policyIn({ OMP_WAIT_POLICY: "PASSIVE" }, `{ waitPolicy: "active" }`), "PASSIVE");
});
