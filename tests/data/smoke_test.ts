import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadPanel } from "../../lib/data/load.ts";
import { syntheticMarket } from "../../lib/data/synthetic.ts";
import { writePanelCsv } from "../../lib/data/write.ts";

Deno.test("syntheticMarket → writePanelCsv → loadPanel round-trips exactly", async () => {
  const m = syntheticMarket({ symbols: 3, days: 300, seed: 1, exposeDriver: true });
  const dir = mkdtempSync(join(tmpdir(), "candor-rt-"));
  try {
    const paths = writePanelCsv(m.panel, dir);
    assert.equal(paths.length, 3);
    const back = await loadPanel(dir);
    assert.deepEqual(back.symbols, m.panel.symbols);
    assert.deepEqual(back.dates, m.panel.dates);
    assert.deepEqual(back.extraColumns, ["driver"]);
    assert.deepEqual(back.warnings, []);
    for (const c of m.panel.frame.columns) {
      assert.deepEqual(back.frame.getColumn(c).toArray(), m.panel.frame.getColumn(c).toArray(), c);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
