/**
 * A Postgres server for the store tests: `CANDOR_TEST_POSTGRES_URL` when set, else a throwaway cluster started from
 * Debian's postgresql binaries (initdb/pg_ctl under /usr/lib/postgresql/<version>/bin) in a temp folder, on a free
 * loopback port, trust auth, fsync off, stopped when the test process exits. When neither exists, tests skip with a
 * message saying how to enable them (`apt-get install postgresql`).
 *
 * Running as root (CI containers), the cluster runs as the `postgres` system user, since Postgres refuses root.
 */

/** A usable server, or why there is none. */
export type PostgresServer = { url: string } | { skip: string };

function findBin(): string | undefined {
  const root = "/usr/lib/postgresql";
  try {
    const versions = [...Deno.readDirSync(root)].map((e) => e.name).filter((n) => /^\d+$/.test(n));
    versions.sort((a, b) => Number(b) - Number(a));
    for (const v of versions) {
      const bin = `${root}/${v}/bin`;
      try {
        Deno.statSync(`${bin}/initdb`);
        Deno.statSync(`${bin}/pg_ctl`);
        return bin;
      } catch { /* try the next version */ }
    }
  } catch { /* no postgresql installed */ }
  return undefined;
}

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

function run(cmd: string, args: string[], asUser: string | undefined): Deno.CommandOutput {
  const [c, a] = asUser === undefined ? [cmd, args] : ["runuser", ["-u", asUser, "--", cmd, ...args]];
  return new Deno.Command(c, { args: a, stdout: "piped", stderr: "piped" }).outputSync();
}

let server: Promise<PostgresServer> | undefined;

/** Starts (once per process) or finds the test server. */
export function postgresForTests(): Promise<PostgresServer> {
  server ??= Promise.resolve().then((): PostgresServer => {
    const external = Deno.env.get("CANDOR_TEST_POSTGRES_URL");
    if (external) return { url: external };
    const bin = findBin();
    if (bin === undefined) {
      return {
        skip: "no Postgres: install Debian's postgresql (apt-get install postgresql) or set CANDOR_TEST_POSTGRES_URL",
      };
    }
    const asUser = Deno.uid() === 0 ? "postgres" : undefined;
    const dir = Deno.makeTempDirSync({ prefix: "candor-pg-" });
    const data = `${dir}/data`;
    if (asUser !== undefined) {
      const id = new Deno.Command("id", { args: ["-u", asUser], stdout: "piped" }).outputSync();
      const gid = new Deno.Command("id", { args: ["-g", asUser], stdout: "piped" }).outputSync();
      if (!id.success) return { skip: `running as root and there is no ${asUser} user to run Postgres as` };
      const dec = new TextDecoder();
      Deno.chownSync(dir, Number(dec.decode(id.stdout)), Number(dec.decode(gid.stdout)));
    }
    const init = run(`${bin}/initdb`, ["-D", data, "-A", "trust", "-U", "candor", "-E", "UTF8", "--no-sync"], asUser);
    if (!init.success) return { skip: `initdb failed: ${new TextDecoder().decode(init.stderr).trim()}` };
    const port = freePort();
    const start = run(`${bin}/pg_ctl`, [
      "-D",
      data,
      "-l",
      `${dir}/log`,
      "-w",
      "-o",
      `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off`,
      "start",
    ], asUser);
    if (!start.success) return { skip: `pg_ctl start failed: ${new TextDecoder().decode(start.stderr).trim()}` };
    globalThis.addEventListener("unload", () => {
      run(`${bin}/pg_ctl`, ["-D", data, "-m", "immediate", "-w", "stop"], asUser);
      try {
        Deno.removeSync(dir, { recursive: true });
      } catch { /* best effort */ }
    });
    return { url: `postgres://candor@127.0.0.1:${port}/postgres` };
  });
  return server;
}
