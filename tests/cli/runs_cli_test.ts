/**
 * `candor runs` and `candor show` as a user reads them: the study's name beside its id, a filter that matches nothing
 * said as such (not "no studies stored yet"), and an unknown id refused with exit 2 like every other bad argument.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { candor } from "../_helpers/candor_cli.ts";

Deno.test("candor runs shows names, says when a filter matches nothing; show refuses an unknown id with exit 2", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const db = join(dir, "runs.db");
    const small = ["--symbols", "4", "--days", "450", "--folds", "2", "--model", "logistic"];
    const demo = await candor(["demo", ...small, "--db", db, "--set", "name=momentum-check", "--json"]);
    assert.equal(demo.code, 0, demo.stderr);
    const id = JSON.parse(demo.stdout).id;

    const runs = await candor(["runs", "--db", db]);
    assert.equal(runs.code, 0, runs.stderr);
    const row = runs.stdout.split("\n").findIndex((l) => l.includes(id));
    assert.ok(row > 0, runs.stdout);
    assert.match(runs.stdout.split("\n")[row + 1], /^│ momentum-check +│/, "the name under the id");
    // Each entry's pooled result with its interval and beside its strongest baseline, as the study printed them.
    const entry = JSON.parse(demo.stdout).models[0];
    const baseline = {
      alwaysLong: "always long",
      majorityClass: "majority",
      majority: "majority",
      previousSign: "previous sign",
      coinFlip: "coin flip",
    }[
      entry.pooled.strongestBaseline as string
    ];
    const p = (x: number) => `${(100 * x).toFixed(1)}%`;
    assert.ok(
      runs.stdout.includes(
        `logistic (logistic): ${p(entry.pooled.accuracy)} [${p(entry.pooled.accuracyCi[0])}, ${
          p(entry.pooled.accuracyCi[1])
        }] vs ${baseline} ${
          p(
            entry.pooled.baselines[
              entry.pooled.strongestBaseline === "majorityClass" ? "majority" : entry.pooled.strongestBaseline
            ],
          )
        } ${entry.pooled.verdict}`,
      ),
      runs.stdout,
    );

    for (const [filter, words] of [[["--status", "failed"], "--status failed"], [["--tag", "nope"], "--tag nope"]]) {
      const r = await candor(["runs", "--db", db, ...filter]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout.trim(), `no stored study matches ${words} (candor runs without it lists the others)`);
    }
    // The printout's only p-value is the edge's over the strongest baseline; the naive one (rows as if independent,
    // against the coin flip) is an interval for contrast, its p-value only in the JSON.
    const shown = await candor(["show", id, "--db", db]);
    assert.equal(shown.code, 0, shown.stderr);
    assert.doesNotMatch(shown.stdout, /vs coin flip/);
    assert.match(shown.stdout, /naive binomial, rows as if independent: [\d.]+%–[\d.]+%\)/);
    assert.match(
      shown.stdout,
      /edge over [a-z ]+: [-+][\d.]+ points \(95% CI [-+][\d.]+ to [-+][\d.]+, p [<=] [\d.]+\)/,
    );
    assert.equal(typeof JSON.parse(demo.stdout).models[0].pooled.naive.pValue, "number");
    const show = await candor(["show", "study_NOPE", "--db", db]);
    assert.equal(show.code, 2, show.stderr);
    assert.match(show.stderr, /^candor: no study or run "study_NOPE" in the store \(candor runs lists them\)/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
