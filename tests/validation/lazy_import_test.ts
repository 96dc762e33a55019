import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";

/**
 * Importing lib/mod.ts must not evaluate the heavy packages that load on first use (lib/lazy_package.ts):
 * TensorFlow.js, the store's Postgres driver, yaml, vega/resvg, the `@stdlib` distributions (their bundle,
 * lib/vendor/stdlib_distributions.cjs), cli-progress and ml-matrix. Run in a fresh process, which lists the CommonJS packages in Node's module cache after the import, then
 * again after first use of TensorFlow.js (so the check can see a package when one loads).
 */

const root = fileURLToPath(new URL("../..", import.meta.url));

const PROBE = `
import { createRequire } from "node:module";
const cache = createRequire(import.meta.url).cache;
const packages = () => {
  const out = new Set();
  for (const k of Object.keys(cache)) {
    const m = k.match(/node_modules\\/\\.deno\\/[^/]+\\/node_modules\\/((@[^/]+\\/)?[^/]+)/);
    if (m) out.add(m[1]);
  }
  return [...out].sort();
};
const bundled = () => Object.keys(cache).some((k) => k.endsWith("/lib/vendor/stdlib_distributions.cjs"));
await import(new URL("lib/mod.ts", Deno.env.get("ROOT_URL")).href);
const atImport = packages();
const bundledAtImport = bundled();
const { tf } = await import(new URL("lib/training/tfjs.ts", Deno.env.get("ROOT_URL")).href);
tf.scalar(1).dispose();
const { tCdf } = await import(new URL("lib/distributions.ts", Deno.env.get("ROOT_URL")).href);
tCdf(0, 5);
console.log(JSON.stringify({ atImport, afterUse: packages(), bundledAtImport, bundledAfterUse: bundled() }));
`;

const DEFERRED = [
  "@tensorflow/tfjs",
  "@tensorflow/tfjs-core",
  "@tensorflow/tfjs-backend-cpu",
  "@tensorflow/tfjs-backend-wasm",
  "postgres",
  "yaml",
  "@resvg/resvg-js",
  "cli-progress",
  "ml-matrix",
];

Deno.test("importing lib/mod.ts evaluates none of the packages loaded on first use", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--config", `${root}/deno.json`, PROBE],
    cwd: root,
    env: { ROOT_URL: new URL("../../", import.meta.url).href },
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.ok(out.success, new TextDecoder().decode(out.stderr));
  const { atImport, afterUse, bundledAtImport, bundledAfterUse } = JSON.parse(
    new TextDecoder().decode(out.stdout).trim().split("\n").at(-1)!,
  ) as { atImport: string[]; afterUse: string[]; bundledAtImport: boolean; bundledAfterUse: boolean };
  for (const name of DEFERRED) assert.ok(!atImport.includes(name), `${name} was evaluated by import "lib/mod.ts"`);
  assert.ok(!atImport.some((p) => p.startsWith("@stdlib/")), `@stdlib evaluated at import: ${atImport.join(", ")}`);
  assert.equal(bundledAtImport, false, 'the @stdlib bundle was evaluated by import "lib/mod.ts"');
  assert.equal(bundledAfterUse, true, "the first tCdf call loads the bundle");
  assert.ok(!afterUse.some((p) => p.startsWith("@stdlib/")), `@stdlib packages loaded: ${afterUse.join(", ")}`);
  // The check sees a package once something uses it.
  assert.ok(afterUse.includes("@tensorflow/tfjs-core"), `after tf.scalar: ${afterUse.join(", ")}`);
});
