/**
 * Module structure of the training loop: the data-parallel pool and its workers depend on the shared contracts
 * (trainable.ts), never on the loop itself, so there is one gradient step for every thread and no import cycle between
 * loop.ts and data_parallel.ts (a cycle is how the loop once came to carry a second copy of the gradient step).
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";

async function dependencies(file: string): Promise<string[]> {
  const path = fileURLToPath(new URL(`../../lib/training/${file}`, import.meta.url));
  const out = await new Deno.Command(Deno.execPath(), { args: ["info", "--json", path], stdout: "piped" }).output();
  assert.equal(out.code, 0, `deno info ${file} failed`);
  const graph = JSON.parse(new TextDecoder().decode(out.stdout)) as { modules: Array<{ specifier: string }> };
  return graph.modules.map((m) => m.specifier).filter((s) => s.startsWith("file:"));
}

for (const file of ["data_parallel.ts", "gradient_worker.ts", "trainable.ts", "evaluate.ts"]) {
  Deno.test(`training structure: ${file} does not import loop.ts`, async () => {
    const deps = await dependencies(file);
    assert.ok(deps.some((d) => d.endsWith(`/lib/training/${file}`)), `the graph of ${file} lists the file itself`);
    assert.ok(!deps.some((d) => d.endsWith("/lib/training/loop.ts")), deps.join("\n"));
  });
}
