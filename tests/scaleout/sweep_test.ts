/**
 * Sweeps on the queue (`candor sweep --queue`) end to end: Debian's redis-server and a throwaway Postgres cluster on
 * loopback, `candor worker` child processes, the coordinator in this process (or as a `candor sweep --queue` child).
 * The stored run is CI-sized (a logistic model on a few synthetic symbols), and so is the grid.
 *
 * The sweep must be the local sweep's: the same study stored twice in two databases, swept locally in one and on the
 * workers in the other, gives byte-identical CSV/JSON outputs, the same rows (deflated Sharpe ratios included), the
 * same PBO and the same stored trials — and the trial registry counts each cell once, even though a worker was killed
 * mid-batch and its batch ran again on the other worker. Faults, one test each: the coordinator killed and replaced by
 * `--resume`; a cell refused on its worker (the sweep fails naming the cell, nothing stored); a worker that cannot
 * read the price files fails on every attempt.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { Redis } from "ioredis";
import { runStudy } from "../../lib/pipeline/study.ts";
import { writePanelCsv } from "../../lib/data/write.ts";
import { syntheticMarket } from "../../lib/data/synthetic.ts";
import { parseSweepGrid, type SweepResult, sweepRun } from "../../lib/production/sweep.ts";
import {
  QueuedSweepError,
  type QueuedSweepSpec,
  sweepOnQueue,
  sweepSpecKey,
} from "../../lib/scaleout/sweep_coordinator.ts";
import { openStore, type Store } from "../../lib/store/mod.ts";
import {
  CandorProcess,
  freshDatabase,
  scaleoutServices,
  startRedis,
  startWorkerProcess,
  type TestRedis,
} from "./_services.ts";

const services = await scaleoutServices();

/** The stored study: one logistic entry, three folds, on synthetic prices (deterministic). */
const STUDY = {
  data: { synthetic: { symbols: 6, days: 500, seed: 21 } },
  validation: { folds: 3 },
  models: [{ name: "lin", kind: "logistic" }],
  backtest: { costBps: 5 },
};

/** 7 symbols (6 and the book) × 2 yearly windows × 2 lags × 3 costs × 2 slippages = 168 cells. */
const GRID = {
  symbols: ["portfolio", "SYN00", "SYN01", "SYN02", "SYN03", "SYN04", "SYN05"],
  windows: "yearly",
  lags: [1, 2],
  costBps: [0, 5, 10],
  slippageBps: [0, 2],
  pboGroups: 8,
};

/** Fast checks for tests: the coordinator looks at the queue every 300 ms and at every batch every 2 s. */
const FAST = { pollMs: 300, checkJobsMs: 2_000, backoffMs: 300 };

/** Runs `fn` with a fresh Redis and `n` fresh databases with their stores; stops and drops them afterwards. */
async function withServices(
  n: number,
  fn: (s: { redis: TestRedis; dbs: string[]; stores: Store[] }) => Promise<void>,
): Promise<void> {
  if ("skip" in services) return;
  const redis = await startRedis();
  const dbs = await Promise.all(Array.from({ length: n }, () => freshDatabase(services.postgresUrl)));
  const stores = dbs.map((d) => openStore(d.url));
  try {
    await fn({ redis, dbs: dbs.map((d) => d.url), stores });
  } finally {
    await Promise.all(stores.map((s) => s.close()));
    await redis.stop();
    await Promise.all(dbs.map((d) => d.drop()));
  }
}

/** Stores the study in `store`; returns its run id. */
async function storedRun(store: Store, study: Record<string, unknown> = STUDY): Promise<string> {
  const r = await runStudy(study, { store });
  return r.report.entries[0].runId!;
}

/** Kills the processes and waits for them. */
async function stopAll(...ps: (CandorProcess | undefined)[]): Promise<void> {
  for (const p of ps) p?.kill();
  await Promise.all(ps.map((p) => p?.done()));
}

/** The distributed sweep is the local one: rows (deflation included), PBO, deflation. */
function assertSameSweep(distributed: SweepResult, local: SweepResult): void {
  assert.equal(distributed.rows.length, local.rows.length);
  for (const [i, row] of distributed.rows.entries()) assert.deepStrictEqual(row, local.rows[i], `row ${i}`);
  assert.deepStrictEqual(distributed.deflation, local.deflation);
  assert.deepStrictEqual(distributed.pbo, local.pbo);
}

/** The queued sweep's specification as the coordinator left it in Redis, and how many of its jobs Redis holds. */
async function specOf(url: string, sweepId: string): Promise<(QueuedSweepSpec & { jobsInRedis: number }) | undefined> {
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await client.connect();
    const text = await client.get(sweepSpecKey(sweepId));
    const jobs = await client.keys(`bull:candor:sweep-cells|${sweepId}|*`);
    return text === null ? undefined : { ...JSON.parse(text) as QueuedSweepSpec, jobsInRedis: jobs.length };
  } finally {
    client.disconnect();
  }
}

if ("skip" in services) {
  Deno.test({ name: `scale-out sweep: skipped — ${services.skip}`, ignore: true, fn: () => {} });
} else {
  Deno.test("scale-out sweep: two workers, one killed mid-batch; the sweep equals the local sweep byte for byte and each cell is counted once", async () => {
    await withServices(2, async ({ redis, dbs, stores }) => {
      const [shared, alone] = stores;
      const dir = await Deno.makeTempDir({ prefix: "candor-sweep-queue-" });
      const grid = parseSweepGrid(GRID);
      const [w1, w2] = await Promise.all([
        startWorkerProcess("w1", redis.url, dbs[0]),
        startWorkerProcess("w2", redis.url, dbs[0]),
      ]);
      try {
        // The same study stored in two databases: one swept locally, the other on the workers.
        const [runA, runB] = [await storedRun(shared), await storedRun(alone)];
        const local = await sweepRun(alone, runB, grid, { outDir: join(dir, "local"), gridSource: GRID });
        assert.equal(local.rows.length, 168);

        let sweepId = "";
        const running = sweepOnQueue({
          store: shared,
          queue: redis.url,
          runId: runA,
          grid,
          gridSource: GRID,
          outDir: join(dir, "queue"),
          cellsPerJob: 56,
          onQueued: (q) => (sweepId = q.sweepId),
          ...FAST,
        });
        // Killed while loading the run or backtesting its first batch: w1 returns nothing for it.
        const [, killed] = await w1.waitFor(/w1: (cells \d+–\d+ of 168 of sweep sweepq_\w+) started/);
        w1.kill("SIGKILL");
        const distributed = await running;
        await w1.done();
        assert.ok(!w1.stderr.includes(`${killed} written`), `w1 finished ${killed} before it was killed`);
        assert.match(w2.stderr, /stalled/, "w2's stalled-job check found w1's batch");
        assert.ok(w2.stderr.includes(`${killed} started`), `w2 took over ${killed}:\n${w2.stderr}`);

        assertSameSweep(distributed, local);
        // The outputs, byte for byte.
        for (const file of ["rows.csv", "rows.json", "pbo.json"]) {
          assert.equal(
            await Deno.readTextFile(join(distributed.dir!, file)),
            await Deno.readTextFile(join(local.dir!, file)),
            file,
          );
        }
        // Stored once: 168 trials, the same as the local sweep's; the registry counts the study entry and each cell.
        const [a, b] = [(await shared.getSweep(distributed.id!))!, (await alone.getSweep(local.id!))!];
        assert.equal(a.trials.length, 168);
        assert.deepStrictEqual(
          a.trials.map(({ sweepId: _, ...t }) => t),
          b.trials.map(({ sweepId: _, ...t }) => t),
        );
        assert.equal(a.sweep.trialsBefore, 1);
        assert.deepStrictEqual(a.sweep.grid, b.sweep.grid);
        assert.deepStrictEqual(a.sweep.summary, b.sweep.summary);
        const counted = await shared.countTrials(distributed.stored.key);
        assert.equal(counted.sweepTrials, 168);
        assert.equal(counted.total, 1 + 168);
        assert.equal((await shared.listSweeps()).length, 1);
        assert.equal(distributed.rows[0].metrics.trials, 169);
        // The specification says where it went; the batches' results are gone from Redis.
        const spec = (await specOf(redis.url, sweepId))!;
        assert.equal(spec.status, "stored");
        assert.equal(spec.storedAs, distributed.id);
        assert.equal(spec.jobsInRedis, 0, "the batches' results are removed from Redis once stored");
      } finally {
        await stopAll(w1, w2);
        await Deno.remove(dir, { recursive: true });
      }
    });
  });

  Deno.test("scale-out sweep: the coordinator (candor sweep --queue) killed is replaced by --resume; the sweep equals the local one", async () => {
    await withServices(1, async ({ redis, dbs, stores: [store] }) => {
      const dir = await Deno.makeTempDir({ prefix: "candor-sweep-resume-" });
      let coordinator: CandorProcess | undefined;
      let w: CandorProcess | undefined;
      try {
        const runId = await storedRun(store);
        const gridFile = join(dir, "grid.json");
        const grid = { costBps: [0, 10], lags: [1, 2], windows: "yearly", pboGroups: 8 };
        await Deno.writeTextFile(gridFile, JSON.stringify(grid));
        // The local sweep, not stored: the distributed one sees the same registry.
        const local = await sweepRun(store, runId, parseSweepGrid(grid), { save: false });
        // No worker yet: the coordinator enqueues and waits; killed there.
        coordinator = new CandorProcess([
          "sweep",
          "--run",
          runId,
          "--grid",
          gridFile,
          "--queue",
          redis.url,
          "--db",
          dbs[0],
          "--out",
          join(dir, "out"),
          "--cells-per-job",
          "3",
        ]);
        const [, sweepId] = await coordinator.waitFor(/sweep (sweepq_\w+) started: 8 cells, 3 job\(s\) queued/);
        assert.match(coordinator.stderr, new RegExp(`reattach with: candor sweep --resume ${sweepId} --queue`));
        coordinator.kill("SIGKILL");
        await coordinator.done();
        assert.equal((await specOf(redis.url, sweepId))!.status, "running");
        assert.equal((await store.listSweeps()).length, 0);

        w = await startWorkerProcess("w1", redis.url, dbs[0]);
        const resumed = await sweepOnQueue({ store, queue: redis.url, resume: sweepId, ...FAST });
        assertSameSweep(resumed, local);
        assert.ok(resumed.dir!.startsWith(join(dir, "out")), "the outputs go where the first coordinator was told");
        assert.equal((await store.countTrials(resumed.stored.key)).sweepTrials, 8);
        // Stored: resuming again is refused.
        await assert.rejects(
          () => sweepOnQueue({ store, queue: redis.url, resume: sweepId, ...FAST }),
          new RegExp(`sweep ${sweepId} is finished and stored as ${resumed.id}`),
        );
        // A coordinator stopped after storing, before marking it stored: resume finds the stored sweep and refuses too.
        const spec = (await specOf(redis.url, sweepId))!;
        const client = new Redis(redis.url);
        try {
          const { jobsInRedis: _, storedAs: __, ...rest } = spec;
          const assembling = { ...rest, status: "assembling", assemblingAt: Date.now() - 60_000 };
          await client.set(sweepSpecKey(sweepId), JSON.stringify(assembling));
        } finally {
          client.disconnect();
        }
        await assert.rejects(
          () => sweepOnQueue({ store, queue: redis.url, resume: sweepId, ...FAST }),
          new RegExp(`sweep ${sweepId} is finished and stored as ${resumed.id}`),
        );
        assert.equal((await store.listSweeps()).length, 1);
      } finally {
        await stopAll(coordinator, w);
        await Deno.remove(dir, { recursive: true });
      }
    });
  });

  Deno.test("scale-out sweep: a cell refused on its worker fails the sweep with the cell and the error; nothing is stored", async () => {
    await withServices(1, async ({ redis, dbs, stores: [store] }) => {
      const w = await startWorkerProcess("w1", redis.url, dbs[0]);
      try {
        const runId = await storedRun(store);
        // The second window holds no prediction: its cells (4 and 5) are refused, permanently.
        const grid = parseSweepGrid({
          costBps: [0, 10],
          windows: [{ start: "2000-01-01", end: "2100-01-01" }, { start: "1990-01-01", end: "1990-12-31" }],
          lags: [1, 2],
        });
        let sweepId = "";
        await assert.rejects(
          () =>
            sweepOnQueue({
              store,
              queue: redis.url,
              runId,
              grid,
              save: true,
              cellsPerJob: 2,
              attempts: 2,
              onQueued: (q) => (sweepId = q.sweepId),
              ...FAST,
            }),
          (e: unknown) => {
            assert.ok(e instanceof QueuedSweepError, String(e));
            assert.ok(e.cell === 4 || e.cell === 6, `cell ${e.cell}`);
            assert.match(
              e.message,
              /failed at cell [46]: cell [46] \(portfolio, 1990-01-01\.\.1990-12-31, lag [12], [^,]+, slippage 0 bps, cost [0-9]+ bps\): no prediction of portfolio in the window 1990-01-01\.\.1990-12-31/,
            );
            assert.match(e.message, /Nothing was stored/);
            return true;
          },
        );
        // Refused at once: a configuration retrying cannot fix is not retried.
        assert.doesNotMatch(w.stderr, /started \(attempt 2 of 2\)/);
        const spec = (await specOf(redis.url, sweepId))!;
        assert.equal(spec.status, "failed");
        assert.ok(spec.error!.cell === 4 || spec.error!.cell === 6);
        assert.equal((await store.listSweeps()).length, 0);
      } finally {
        await stopAll(w);
      }
    });
  });

  Deno.test("scale-out sweep: a worker that cannot read the price files fails on every attempt, saying so; the sweep fails", async () => {
    await withServices(1, async ({ redis, dbs, stores: [store] }) => {
      const dir = await Deno.makeTempDir({ prefix: "candor-sweep-files-" });
      const prices = join(dir, "prices");
      await writePanelCsv(syntheticMarket({ symbols: 3, days: 400, seed: 5 }).panel, prices);
      // This worker may read everything but the price folder: a machine without the shared filesystem.
      const w = await startWorkerProcess("w1", redis.url, dbs[0], [], [`--deny-read=${prices}`]);
      try {
        const runId = await storedRun(store, { ...STUDY, data: { path: prices } });
        await assert.rejects(
          () =>
            sweepOnQueue({
              store,
              queue: redis.url,
              runId,
              grid: parseSweepGrid({ costBps: [0, 10] }),
              attempts: 2,
              ...FAST,
            }),
          (e: unknown) => {
            assert.ok(e instanceof QueuedSweepError, String(e));
            assert.equal(e.cell, undefined);
            assert.match(e.message, /worker w1 cannot read the swept run's price files/);
            assert.match(e.message, /a filesystem every worker mounts at the same path/);
            return true;
          },
        );
        assert.match(w.stderr, /cells \d+–\d+ of 2 of sweep sweepq_\w+ started \(attempt 2 of 2\)/);
        assert.equal((await store.listSweeps()).length, 0);
      } finally {
        await stopAll(w);
        await Deno.remove(dir, { recursive: true });
      }
    });
  });
}
