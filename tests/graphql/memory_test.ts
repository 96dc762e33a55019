/**
 * The server stays up and its memory stays bounded under the heaviest queries its limits admit, sent concurrently,
 * and refuses the query that used to take 3 GB (15 aliases of `runs(limit: 1000) { backtest { equity { ... } } }`).
 *
 * The server runs in a process of its own (`deno task serve`'s entry point) on 127.0.0.1, so its peak resident set
 * (VmHWM in /proc) measures it alone. The bound (600 MB) is a fifth of what the unguarded server took for one attack
 * query; the measured peak is printed.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { openStore } from "../../lib/store/mod.ts";
import { sampleFold, sampleRun } from "../store/contract.ts";
import type { GraphQLResponse } from "../_helpers/graphql_client.ts";

const RUNS = 60;
const POINTS = 5000;
const PEAK_LIMIT_MB = 600;

/** Runs with 5,000-point equity curves, 5 folds, 200 epochs and 30 diagnostics each. */
async function seed(path: string): Promise<string[]> {
  const store = openStore(path);
  const start = Date.UTC(2000, 0, 3);
  const dates = Array.from({ length: POINTS }, (_, i) => new Date(start + i * 86_400_000).toISOString().slice(0, 10));
  const values = dates.map((_, i) => 1 + i / 1e4);
  const ids: string[] = [];
  try {
    for (let r = 0; r < RUNS; r++) {
      const id = await store.createRun(sampleRun());
      for (let f = 0; f < 5; f++) await store.appendFold(id, sampleFold(f));
      await store.appendEpochs(
        id,
        Array.from(
          { length: 200 },
          (_, i) => ({ fold: i % 5, epoch: Math.floor(i / 5), trainLoss: 0.69, valLoss: 0.7 }),
        ),
      );
      await store.appendDiagnostics(
        id,
        Array.from({ length: 30 }, (_, i) => ({ fold: null, kind: "k", severity: "info" as const, message: `m${i}` })),
      );
      await store.putBacktest(id, {
        lag: 1,
        costBps: 5,
        slippageBps: 0,
        annualization: 252,
        metrics: { sharpe: 0.5 },
        buyAndHold: { sharpe: 0.4 },
        warnings: [],
        equity: { dates, values, buyAndHold: values },
      });
      await store.finishRun(id, { status: "succeeded", summary: { pooled: { accuracy: 0.5 } } });
      ids.push(id);
    }
  } finally {
    await store.close();
  }
  return ids;
}

function peakResidentMb(pid: number): number {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  const kb = Number(status.match(/^VmHWM:\s+(\d+) kB/m)?.[1]);
  return kb / 1024;
}

Deno.test({
  name: "graphql server: memory stays bounded under concurrent admitted heavy queries; the 3 GB attack is refused",
  ignore: Deno.build.os !== "linux",
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "candor-graphql-memory-" });
    const db = join(dir, "runs.db");
    const ids = await seed(db);
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", new URL("../../graphql/server.ts", import.meta.url).pathname],
      env: { PORT: "0", HOST: "127.0.0.1", CANDOR_DB: db },
      stdout: "null",
      stderr: "piped",
    }).spawn();
    try {
      const reader = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
      let text = "";
      let url: string | undefined;
      while (url === undefined) {
        const { value, done } = await reader.read();
        if (done) throw new Error(`server exited before listening: ${text}`);
        text += value;
        url = text.match(/(http:\/\/127\.0\.0\.1:\d+\/graphql)/)?.[1];
      }
      // Keep draining the server's log so it never blocks on a full pipe.
      (async () => {
        while (!(await reader.read()).done) { /* discard */ }
      })().catch(() => {});
      const send = async (query: string): Promise<GraphQLResponse> => {
        const res = await fetch(url!, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ query }),
        });
        return await res.json() as GraphQLResponse;
      };
      const equity = `backtest { equity { date value buyAndHold } }`;
      const attack = `{ ${Array.from({ length: 15 }, (_, i) => `a${i}: runs(limit: 1000) { ${equity} }`).join(" ")} }`;
      const refused = await Promise.all(Array.from({ length: 4 }, () => send(attack)));
      for (const r of refused) assert.equal(r.errors?.[0].extensions?.code, "QUERY_TOO_COMPLEX");

      // The heaviest shapes the limits admit (cost ≤ 25,000), each producing far more than its cost suggests where
      // the stored lists are longer than the typical lengths.
      const heavy = [
        (k: number) =>
          `{ ${[0, 1, 2].map((j) => `r${j}: run(id: "${ids[(k + j) % RUNS]}") { ${equity} }`).join(" ")} }`,
        () => `{ runs(limit: 1000) { id status model createdAt } }`,
        () => `{ runs(limit: 20) { epochs { epoch trainLoss valLoss } } }`,
        () => `{ runs(limit: 25) { folds { index metrics { name value } baselines { name value } } } }`,
      ];
      for (let round = 0; round < 3; round++) {
        const answers = await Promise.all(
          Array.from({ length: 24 }, (_, k) => send(heavy[k % heavy.length](k + round))),
        );
        for (const a of answers) {
          const codes = (a.errors ?? []).map((e) => e.extensions?.code);
          // Under load a request may wait for a slot; it is either answered in full or refused as busy.
          assert.ok(a.errors === undefined || codes.every((c) => c === "SERVER_BUSY"), JSON.stringify(codes));
        }
        // deno-lint-ignore no-explicit-any
        const served = answers.find((a) => a.data !== undefined && "r0" in (a.data as any));
        // deno-lint-ignore no-explicit-any
        if (served) assert.equal((served.data as any).r0.backtest.equity.length, POINTS);
      }
      const peak = peakResidentMb(child.pid);
      console.log(`server peak resident set: ${peak.toFixed(0)} MB (limit ${PEAK_LIMIT_MB} MB)`);
      assert.ok(peak < PEAK_LIMIT_MB, `peak resident set ${peak.toFixed(0)} MB ≥ ${PEAK_LIMIT_MB} MB`);
      const alive = await send(`{ runsConnection { totalCount } }`);
      assert.deepStrictEqual(alive.data, { runsConnection: { totalCount: RUNS } });
    } finally {
      child.kill("SIGTERM");
      await child.status;
      await child.stderr.cancel().catch(() => {});
      await Deno.remove(dir, { recursive: true });
    }
  },
});
