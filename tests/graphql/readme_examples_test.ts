/**
 * The README's GraphQL examples stay true: every ```graphql block validates against the schema (mutations included).
 * A block may hold several anonymous operations side by side; only that rule is set aside.
 */

import assert from "node:assert/strict";
import { parse, validate } from "graphql";
import { buildSchema } from "../../graphql/schema.ts";

Deno.test("README: every GraphQL example validates against the schema", async () => {
  const text = await Deno.readTextFile(new URL("../../README.md", import.meta.url));
  const schema = buildSchema({ mutations: true });
  const blocks = [...text.matchAll(/```graphql\n([\s\S]*?)```/g)].map((m) => m[1]);
  assert.ok(blocks.length >= 4, `found ${blocks.length} blocks`);
  const production = blocks.find((b) => b.includes("models(first"));
  assert.ok(production !== undefined, "the production examples are there");
  for (const block of blocks) {
    const problems = validate(schema, parse(block))
      .map((e) => e.message)
      .filter((m) => !/anonymous operation must be the only defined operation/.test(m));
    assert.deepStrictEqual(problems, [], block.slice(0, 80));
  }
});
