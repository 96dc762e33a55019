/**
 * `candor worker` and `candor run --queue`: help, nearest-option suggestions, and the refusals that come before any
 * connection is made (exit 2, saying what to give instead).
 */
import assert from "node:assert/strict";
import { candor } from "../_helpers/candor_cli.ts";

const PG = "postgres://candor@127.0.0.1:1/candor";

Deno.test("candor worker: --help lists its options; candor --help lists the command", async () => {
  const help = await candor(["worker", "--help"]);
  assert.equal(help.code, 0, help.stderr);
  for (
    const o of ["--queue URL", "--db URL", "--concurrency N", "--name NAME", "--lock-seconds S", "--import MODULE"]
  ) {
    assert.ok(help.stdout.includes(o), `${o} in:\n${help.stdout}`);
  }
  assert.match(help.stdout, /shared filesystem/);
  const all = await candor(["--help"]);
  assert.match(all.stdout, /^\s+worker\s+Take scale-out jobs from a Redis queue/m);
});

Deno.test("candor worker and run --queue: bad arguments exit 2 with what to give instead", async () => {
  const cases: Array<{ args: string[]; message: RegExp }> = [
    {
      args: ["worker", "--queu", "redis://127.0.0.1:1"],
      message: /unknown option --queu for candor worker \(did you mean --queue\?\)/,
    },
    { args: ["worker", "--db", PG], message: /candor worker needs --queue redis:\/\/HOST:PORT/ },
    {
      args: ["worker", "--queue", "redis://127.0.0.1:1", "--db", "runs.db"],
      message: /needs the shared run store as a postgres:\/\/ URL .* found "runs\.db"/,
    },
    {
      args: ["worker", "--queue", "redis://127.0.0.1:1", "--db", PG, "--concurrency", "0"],
      message: /--concurrency expects a number ≥ 1/,
    },
    {
      args: ["run", "--queue", "redis://127.0.0.1:1", "--db", "runs.db"],
      message: /--queue needs the run store as a postgres:\/\/ URL/,
    },
    { args: ["run", "--queue", "redis://127.0.0.1:1", "--db", PG, "--no-store"], message: /drop --no-store/ },
    { args: ["run", "--attempts", "3", "--db", PG], message: /--attempts goes with --queue/ },
    {
      args: ["run", "--queue", "redis://127.0.0.1:1", "--db", PG, "--production"],
      message: /--production does not go with --queue yet/,
    },
    { args: ["run", "--resume", "study_x", "--dry-run"], message: /--dry-run trains nothing.*drop --resume/ },
    {
      args: ["run", "--resume", "study_x", "--model", "xgboost", "--queue", "redis://127.0.0.1:1", "--db", PG],
      message: /--resume reads the study's configuration from the store; drop --model/,
    },
    {
      args: ["run", "--queue", "http://127.0.0.1:1", "--db", PG],
      message: /--queue: expected a redis:\/\/ or rediss:\/\/ URL/,
    },
    {
      args: ["run", "--queue", "redis://127.0.0.1:1", "--db", PG, "--attempts", "0"],
      message: /--attempts expects an integer ≥ 1/,
    },
    {
      args: ["run", "--qeue", "redis://127.0.0.1:1"],
      message: /unknown option --qeue for candor run \(did you mean --queue\?\)/,
    },
    {
      args: ["worker", "--queue", "redis://127.0.0.1:1", "--db", PG],
      message: /cannot reach the queue's Redis at redis:\/\/127\.0\.0\.1:1 \(connect ECONNREFUSED/,
    },
  ];
  for (const { args, message } of cases) {
    const r = await candor(args);
    assert.equal(r.code, 2, `${args.join(" ")}: exit ${r.code}\n${r.stderr}`);
    assert.match(r.stderr, message, args.join(" "));
    assert.equal(r.stdout, "");
  }
});

Deno.test("candor sweep --queue: --help tells how; bad arguments exit 2 before any connection, saying what to give", async () => {
  const help = await candor(["sweep", "--help"]);
  assert.equal(help.code, 0, help.stderr);
  for (const o of ["--queue URL", "--cells-per-job N", "--attempts N", "--resume ID"]) {
    assert.ok(help.stdout.includes(o), `${o} in:\n${help.stdout}`);
  }
  assert.match(help.stdout, /each cell is stored once however often its job\s+ran/);
  const cases: Array<{ args: string[]; message: RegExp }> = [
    {
      args: ["sweep", "--run", "run_x", "--grid", "g.yaml", "--queue", "redis://127.0.0.1:1", "--db", "runs.db"],
      message: /--queue needs the run store as a postgres:\/\/ URL .*the workers read the run's predictions from it/,
    },
    {
      args: ["sweep", "--run", "run_x", "--grid", "g.yaml", "--attempts", "2"],
      message: /--attempts goes with --queue/,
    },
    { args: ["sweep", "--resume", "sweepq_x"], message: /--resume goes with --queue/ },
    {
      args: ["sweep", "--resume", "sweepq_x", "--grid", "g.yaml", "--queue", "redis://127.0.0.1:1", "--db", PG],
      message: /--resume reads the sweep's run, grid and outputs from the queue; drop --grid/,
    },
    {
      args: [
        "sweep",
        "--run",
        "run_x",
        "--grid",
        "g.yaml",
        "--queue",
        "redis://127.0.0.1:1",
        "--db",
        PG,
        "--cells-per-job",
        "0",
      ],
      message: /--cells-per-job expects an integer ≥ 1/,
    },
  ];
  for (const { args, message } of cases) {
    const r = await candor(args);
    assert.equal(r.code, 2, `${args.join(" ")}: exit ${r.code}\n${r.stderr}`);
    assert.match(r.stderr, message, args.join(" "));
    assert.equal(r.stdout, "");
  }
});
