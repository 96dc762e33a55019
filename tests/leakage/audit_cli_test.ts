import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pl from "nodejs-polars";
import { auditCommand } from "../../lib/cli/audit.ts";
import { randomWalkPanel } from "../features/_panels.ts";

/** Writes one CSV per symbol (date, OHLC, adj_close, volume and any extra columns) into a fresh folder. */
function writeFolder(frame: pl.DataFrame): string {
  const dir = mkdtempSync(join(tmpdir(), "candor-audit-"));
  for (const s of frame.getColumn("symbol").unique().toArray() as string[]) {
    frame.filter(pl.col("symbol").eq(pl.lit(s))).drop("symbol").writeCSV(join(dir, `${s}.csv`));
  }
  return dir;
}

async function capture(args: string[]): Promise<{ status: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const log = console.log;
  const error = console.error;
  console.log = (...a: unknown[]) => out.push(a.join(" "));
  console.error = (...a: unknown[]) => err.push(a.join(" "));
  try {
    const status = await auditCommand(args);
    return { status, out: out.join("\n"), err: err.join("\n") };
  } finally {
    console.log = log;
    console.error = error;
  }
}

Deno.test("candor audit: a misaligned returns column is a leak (exit 3, JSON verdicts), honest data exits 0", async () => {
  const panel = randomWalkPanel(31, 2, 300);
  const c = pl.col("adj_close");
  const leaky = panel.frame.withColumns(c.shift(-1).div(c).sub(1).over("symbol").alias("returns"));
  const dirty = writeFolder(leaky);
  const clean = writeFolder(panel.frame);
  try {
    const r = await capture(["--data", dirty, "--json", "--symbols", "1"]);
    assert.equal(r.status, 3, r.err);
    const json = JSON.parse(r.out) as { features: { name: string; verdict: string; reasons: string[] }[] };
    const returns = json.features.find((f) => f.name === "returns");
    assert.ok(returns, "the extra column is audited");
    assert.equal(returns.verdict, "leak");
    assert.ok(returns.reasons.length > 0);
    assert.ok(json.features.filter((f) => f.name !== "returns").every((f) => f.verdict === "ok"));
    const ok = await capture(["--data", clean, "--symbols", "1"]);
    assert.equal(ok.status, 0, ok.err);
    assert.match(ok.out, /0 leak\(s\)/);
  } finally {
    rmSync(dirty, { recursive: true });
    rmSync(clean, { recursive: true });
  }
});

Deno.test("candor audit: bad arguments exit 2 with usage", async () => {
  assert.equal((await capture([])).status, 2);
  assert.equal((await capture(["--data", "x", "--horizon", "0"])).status, 2);
  assert.equal((await capture(["--data", "x", "--bogus"])).status, 2);
});
