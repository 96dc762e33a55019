/**
 * GraphQL server throughput: `{ runs(limit: 20) { id status folds { index metrics { name value } } } }` from 8
 * concurrent keep-alive clients on 127.0.0.1, against four servers started side by side in this run:
 *
 * - **baseline**: graphql/ as it was before the hardening and dashboard work (commit {@link BASELINE_COMMIT}),
 *   extracted with git into a temporary tree that shares this checkout's lib/, deno.json and node_modules;
 * - **main**: graphql/ of the `main` branch (or `CANDOR_BENCH_MAIN_REF`), extracted the same way — the server before
 *   the changes on this branch, so a new schema's cost shows as a ratio to it;
 * - **candor**: graphql/ now, with its response cache (a dashboard polling an unchanged store);
 * - **candor, uncached**: the same with the cache off (every request executes: store reads, graphql-jit, JSON).
 *
 * Every server has built its dashboard script before timing starts (it is bundled at start-up). Rounds are
 * interleaved (baseline, main, cached, uncached, then the reverse order, and so on) so machine noise hits all alike;
 * figures are medians over rounds with their ranges. Target: ≥ 2,000 requests/s with p99 < 20 ms for the cached server. The
 * store is a temporary SQLite file with 40 runs of 5 folds (the pipeline's 6 fold metrics and 4 baselines each) and a
 * 1,000-day backtest. Load goes to 127.0.0.1 only, bounded in time (6 s per server and round) and count.
 *
 * @module
 */

import { dirname, join } from "node:path";
import { openStore } from "../lib/store/mod.ts";
import { type BenchResult, median } from "./lib.ts";
import { type LoadResult, runLoad } from "./http_load.ts";

/** main's graphql/ when the dashboard and hardening work started. */
export const BASELINE_COMMIT = "d48a663";

const QUERY = "{ runs(limit: 20) { id status folds { index metrics { name value } } } }";
const ROUNDS = 4;
const SECONDS = 5;
const repo = new URL("../", import.meta.url).pathname;

async function seed(path: string): Promise<void> {
  const store = openStore(path);
  try {
    const start = Date.UTC(2019, 0, 1);
    const dates = Array.from({ length: 1000 }, (_, i) => new Date(start + i * 86_400_000).toISOString().slice(0, 10));
    for (let r = 0; r < 40; r++) {
      const id = await store.createRun({
        config: { horizon: 1, folds: 5 },
        seed: r,
        model: r % 2 ? "xgboost" : "mlp",
        symbols: ["AAA", "BBB", "CCC"],
        dataSource: "synthetic:planted",
      });
      for (let f = 0; f < 5; f++) {
        await store.appendFold(id, {
          index: f,
          train: [{ start: "2015-01-02", end: "2018-12-31" }],
          test: [{ start: "2019-01-03", end: "2019-12-31" }],
          validation: [{ start: "2018-10-01", end: "2018-12-20" }],
          purge: 1,
          embargo: 0,
          nTrain: 5000,
          nTest: 1000,
          metrics: {
            accuracy: 0.51 + f / 100,
            ic: 0.02,
            rankIc: 0.018,
            predictionStd: 0.04,
            validationAccuracy: 0.52,
            wfe: 0.9,
          },
          baselines: { coinFlip: 0.5, majorityClass: 0.51, previousSign: 0.49, alwaysLong: 0.51 },
          fitReport: { bestIteration: 10, seconds: 1.5, notes: [] },
        });
      }
      await store.putBacktest(id, {
        lag: 1,
        costBps: 5,
        slippageBps: 0,
        annualization: 252,
        metrics: { sharpe: 0.5, maxDrawdown: -0.1 },
        buyAndHold: { sharpe: 0.4, maxDrawdown: -0.2 },
        warnings: [],
        equity: { dates, values: dates.map((_, i) => 1 + i / 1e4), buyAndHold: dates.map((_, i) => 1 + i / 2e4) },
      });
      await store.finishRun(id, { status: "succeeded", summary: { pooled: { accuracy: 0.52 } } });
    }
  } finally {
    await store.close();
  }
}

/** main's graphql/ (the server before this branch's changes). */
const MAIN_REF = Deno.env.get("CANDOR_BENCH_MAIN_REF") || "main";

/**
 * A tree holding graphql/ of git revision `rev` (every file, page assets included) beside links to this checkout's
 * lib/, config and packages; or why not.
 */
async function serverTree(dir: string, name: string, rev: string): Promise<string | { skip: string }> {
  const list = await new Deno.Command("git", {
    args: ["-C", repo, "ls-tree", "-r", "--name-only", `${rev}:graphql`],
    stdout: "piped",
    stderr: "piped",
  }).output().catch((e) => ({ success: false, stdout: new Uint8Array(), stderr: new TextEncoder().encode(String(e)) }));
  if (!list.success) {
    return { skip: `${name} (${rev}) unavailable: ${new TextDecoder().decode(list.stderr).trim()}` };
  }
  const root = join(dir, name);
  for (const file of new TextDecoder().decode(list.stdout).split("\n").filter((n) => n !== "")) {
    const out = await new Deno.Command("git", {
      args: ["-C", repo, "show", `${rev}:graphql/${file}`],
      stdout: "piped",
    }).output();
    await Deno.mkdir(dirname(join(root, "graphql", file)), { recursive: true });
    await Deno.writeFile(join(root, "graphql", file), out.stdout);
  }
  for (const link of ["lib", "deno.json", "deno.lock", "node_modules"]) {
    await Deno.symlink(join(repo, link), join(root, link));
  }
  return join(root, "graphql", "server.ts");
}

interface Server {
  name: string;
  url: string;
  child: Deno.ChildProcess;
}

async function startServer(name: string, script: string, db: string, env: Record<string, string> = {}) {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", script],
    env: { PORT: "0", HOST: "127.0.0.1", CANDOR_DB: db, NO_COLOR: "1", ...env },
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const reader = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  let url: string | undefined;
  while (url === undefined) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`${name} server exited before listening: ${text}`);
    text += value;
    url = text.match(/(http:\/\/127\.0\.0\.1:\d+\/graphql)/)?.[1];
  }
  (async () => {
    while (!(await reader.read()).done) { /* drain the log */ }
  })().catch(() => {});
  return { name, url, child };
}

/** Waits until the server's dashboard script is built (servers bundle it at start-up, which costs CPU). */
async function pageReady(url: string): Promise<void> {
  const res = await fetch(url.replace(/graphql$/, ""));
  await res.body?.cancel();
}

async function answer(url: string): Promise<unknown> {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ query: QUERY }),
  });
  return ((await res.json()) as { data?: unknown }).data;
}

const fmt = (xs: number[], digits: number) =>
  `median ${median(xs).toFixed(digits)} (range ${Math.min(...xs).toFixed(digits)}–${Math.max(...xs).toFixed(digits)})`;

/** Runs the benchmark (see the module documentation). */
export async function run(): Promise<BenchResult[]> {
  const dir = await Deno.makeTempDir({ prefix: "candor-bench-graphql-" });
  const servers: Server[] = [];
  try {
    const db = join(dir, "runs.db");
    await seed(db);
    const baseline = await serverTree(dir, "baseline", BASELINE_COMMIT);
    const main = await serverTree(dir, "main", MAIN_REF);
    const script = join(repo, "graphql", "server.ts");
    // The current server first: it migrates the store (the others then read it as it is).
    servers.push(await startServer("candor", script, db));
    servers.push(await startServer("candor-uncached", script, db, { CANDOR_GRAPHQL_CACHE_MB: "0" }));
    for (const [name, tree] of [["baseline", baseline], ["main", main]] as const) {
      if (typeof tree === "string") servers.push(await startServer(name, tree, db));
      else console.error(`[bench] graphql: ${tree.skip}; measured without it`);
    }
    for (const s of servers) if (s.name !== "baseline") await pageReady(s.url);

    // Same data from every server, before timing anything.
    const expected = await answer(servers[0].url);
    for (const s of servers.slice(1)) {
      if (JSON.stringify(await answer(s.url)) !== JSON.stringify(expected)) {
        throw new Error(`${s.name} answers the benchmark query differently from candor`);
      }
    }

    const results = new Map<string, LoadResult[]>(servers.map((s) => [s.name, []]));
    const order = ["baseline", "main", "candor", "candor-uncached"];
    const interleaved = [...servers].sort((a, b) => order.indexOf(a.name) - order.indexOf(b.name));
    for (let round = 0; round < ROUNDS; round++) {
      // Alternate the order, so no server always follows the same one (a load run leaves sockets and garbage behind).
      for (const s of round % 2 === 0 ? interleaved : [...interleaved].reverse()) {
        const r = await runLoad({ url: s.url, body: JSON.stringify({ query: QUERY }), clients: 8, seconds: SECONDS });
        if (r.failures > 0) throw new Error(`${s.name}: ${r.failures} failed responses`);
        console.error(
          `[bench] graphql round ${round + 1} ${s.name}: ${r.rps.toFixed(0)} req/s, p50 ${r.p50.toFixed(1)} ms, ` +
            `p99 ${r.p99.toFixed(1)} ms`,
        );
        results.get(s.name)!.push(r);
      }
    }
    const rps = (name: string) => (results.get(name) ?? []).map((r) => r.rps);
    const p99 = (name: string) => (results.get(name) ?? []).map((r) => r.p99);
    const hasBaseline = results.has("baseline");
    const hasMain = results.has("main");
    const base = hasBaseline ? median(rps("baseline")) : undefined;
    const load = Deno.loadavg()[0].toFixed(1);
    const baseNote = [
      hasBaseline
        ? `baseline (${BASELINE_COMMIT}) ${fmt(rps("baseline"), 0)} req/s, p99 ${fmt(p99("baseline"), 1)} ms`
        : "baseline unavailable",
      hasMain
        ? `main (${MAIN_REF}) cached ${fmt(rps("main"), 0)} req/s, p99 ${fmt(p99("main"), 1)} ms`
        : "main unavailable",
    ].join("; ");
    const out: BenchResult[] = [];
    for (const name of ["candor", "candor-uncached"]) {
      const label = name === "candor" ? "cached" : "uncached";
      const value = median(rps(name));
      out.push({
        name: `graphql runs(limit: 20) folds, 8 clients, ${label}: throughput`,
        value,
        unit: "req/s",
        reference: base,
        ratio: base === undefined ? undefined : value / base,
        target: name === "candor" ? "≥ 2000 req/s" : undefined,
        pass: name === "candor" ? value >= 2000 : undefined,
        notes: `${fmt(rps(name), 0)} req/s over ${ROUNDS} interleaved rounds of ${SECONDS} s; ${baseNote}; ` +
          `ratio = candor / baseline; 1-min load average ${load}`,
      });
      const latency = median(p99(name));
      out.push({
        name: `graphql runs(limit: 20) folds, 8 clients, ${label}: p99 latency`,
        value: latency,
        unit: "ms",
        reference: hasBaseline ? median(p99("baseline")) : undefined,
        ratio: hasBaseline ? median(p99("baseline")) / latency : undefined,
        target: name === "candor" ? "< 20 ms" : undefined,
        pass: name === "candor" ? latency < 20 : undefined,
        notes: `${fmt(p99(name), 1)} ms; ratio = baseline p99 / candor p99`,
      });
    }
    if (hasMain) {
      const value = median(rps("candor"));
      out.push({
        name: "graphql runs(limit: 20) folds, 8 clients, cached: throughput against main's server",
        value,
        unit: "req/s",
        reference: median(rps("main")),
        ratio: value / median(rps("main")),
        notes: `candor ${fmt(rps("candor"), 0)} req/s vs main (${MAIN_REF}) ${fmt(rps("main"), 0)} req/s, ` +
          `p99 ${fmt(p99("candor"), 1)} vs ${fmt(p99("main"), 1)} ms; ratio = candor / main`,
      });
    }
    return out;
  } finally {
    for (const s of servers) {
      try {
        s.child.kill("SIGTERM");
      } catch { /* already gone */ }
      await s.child.status;
    }
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

if (import.meta.main) console.table(await run());
