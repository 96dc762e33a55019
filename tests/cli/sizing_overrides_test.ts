/** `candor backtest`'s sizing flags over a stored run's rule: a flag of another rule is refused, naming the rule. */
import assert from "node:assert/strict";
import { sizingOverrides } from "../../lib/cli/production.ts";
import { UsageError } from "../../lib/cli/args.ts";
import type { StudyConfig } from "../../lib/pipeline/config.ts";

type Sizing = StudyConfig["backtest"]["sizing"];

Deno.test("backtest --target-vol: refused over a rule without a volatility target; set with --sizing vol-target", () => {
  const hybrid = { kind: "hybrid" } as unknown as Sizing;
  assert.throws(() => sizingOverrides({ "target-vol": "0.2" }, hybrid), (e: unknown) => {
    assert.ok(e instanceof UsageError);
    assert.equal(
      e.message,
      "--target-vol is the vol-target rule's volatility target, and the sizing is hybrid; give --sizing vol-target " +
        "with it",
    );
    return true;
  });
  const out = sizingOverrides({ "target-vol": "0.2", sizing: "vol-target" }, hybrid);
  assert.equal((out.sizing as { kind: string }).kind, "vol-target");
  assert.equal((out.sizing as { targetVol: number }).targetVol, 0.2);
});
