/**
 * `candor run` / `demo` flags and the study configuration: the synthetic market's flags set `data.synthetic.*` over the
 * file's values, `--set` reaches the same keys, problems name the key as written with the value found there, `--help`
 * and `--dry-run` (YAML or `--json`) show the documented shape, and `run --resume ID` applies its flags over the
 * stored study's configuration.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import YAML from "yaml";
import { candor } from "../_helpers/candor_cli.ts";
import { InterruptedError } from "../../lib/errors.ts";
import { resolveStudyConfig } from "../../lib/pipeline/config.ts";
import { runStudy } from "../../lib/pipeline/study.ts";
import { openStore } from "../../lib/store/mod.ts";

/** The resolved configuration a YAML `--dry-run` prints (before its fold plan). */
function printedConfig(stdout: string): Record<string, unknown> {
  return YAML.parse(stdout.split("\n# fold plan")[0]);
}

Deno.test("candor run: --symbols/--days/--mode override the file's data.synthetic keys and keep the others", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const file = join(dir, "study.yaml");
    await Deno.writeTextFile(file, "data: { synthetic: { days: 600, seed: 9 } }\nvalidation: { folds: 2 }\n");
    const dry = await candor(["run", "--config", file, "--symbols", "4", "--mode", "random-walk", "--dry-run"]);
    assert.equal(dry.code, 0, dry.stderr);
    assert.deepEqual(printedConfig(dry.stdout).data, {
      synthetic: { symbols: 4, days: 600, mode: "random-walk", seed: 9 },
    });
    assert.match(dry.stdout, /^# fold plan: anchored, 2 fold\(s\), purge 1, 4 symbols/m);
    // The flag wins over the file's value of the same key.
    const days = await candor(["run", "--config", file, "--days", "300", "--dry-run"]);
    assert.equal(days.code, 0, days.stderr);
    assert.deepEqual(printedConfig(days.stdout).data, {
      synthetic: { symbols: 20, days: 300, mode: "planted", seed: 9 },
    });
    // A file of price files has no synthetic market for --symbols to size.
    const files = join(dir, "files.yaml");
    await Deno.writeTextFile(files, "data: { path: prices/ }\n");
    const refused = await candor(["run", "--config", files, "--symbols", "4", "--dry-run"]);
    assert.equal(refused.code, 2, refused.stderr);
    assert.match(refused.stderr, /^candor: --symbols is for the synthetic market, and .*files\.yaml reads price files/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("candor demo: --set reaches data.synthetic.* beside the market flags", async () => {
  const refused = await candor(["demo", "--set", "data.synthetic.signalStrength=0", "--symbols", "5", "--dry-run"]);
  assert.equal(refused.code, 2, refused.stderr);
  assert.match(refused.stderr, /^candor: data\.synthetic\.signalStrength: expected a number > 0, found 0 /);
  const dry = await candor([
    "demo",
    "--set",
    "data.synthetic.signalStrength=0.2",
    "--set",
    "data.synthetic.drift=0.001",
    "--symbols",
    "5",
    "--days",
    "300",
    "--folds",
    "2",
    "--dry-run",
  ]);
  assert.equal(dry.code, 0, dry.stderr);
  assert.deepEqual(printedConfig(dry.stdout).data, {
    synthetic: { symbols: 5, days: 300, mode: "planted", seed: 42, signalStrength: 0.2, drift: 0.001 },
  });
});

Deno.test("candor run/demo: a refused data.synthetic value is named by its key, with the value found", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const file = join(dir, "study.yaml");
    await Deno.writeTextFile(file, "data: { synthetic: { days: 10 } }\n");
    const expected =
      /^candor: data\.synthetic\.days: expected an integer ≥ 60, found 10 \(see candor (run|demo) --help\)$/m;
    for (
      const args of [
        ["run", "--config", file],
        ["demo", "--set", "data.synthetic.days=10"],
        ["demo", "--days", "10"],
      ]
    ) {
      const r = await candor([...args, "--dry-run"]);
      assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
      assert.match(r.stderr, expected, args.join(" "));
    }
    // The market's keys written directly under data are pointed to their place.
    const flat = await candor(["demo", "--set", "data.days=600", "--dry-run"]);
    assert.equal(flat.code, 2, flat.stderr);
    assert.match(
      flat.stderr,
      /^candor: data\.days: unknown key \(did you mean "synthetic\.days"\?\); allowed here: path, symbols, synthetic /,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("candor demo --seed abc: the bad seed is reported once, as seed", async () => {
  const r = await candor(["demo", "--seed", "abc", "--dry-run"]);
  assert.equal(r.code, 2, r.stderr);
  assert.equal(r.stderr.trim(), 'candor: seed: expected an integer ≥ 0, found "abc" (see candor demo --help)');
  // A valid seed still seeds the demo's market too.
  const ok = await candor(["demo", "--seed", "7", "--days", "300", "--folds", "2", "--dry-run"]);
  assert.equal(ok.code, 0, ok.stderr);
  const config = printedConfig(ok.stdout);
  assert.equal(config.seed, 7);
  assert.deepEqual(config.data, { synthetic: { symbols: 20, days: 300, mode: "planted", seed: 7 } });
});

Deno.test("candor run --dry-run prints the documented data shape, which runs again as printed; --json prints JSON", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const args = ["run", "--symbols", "3", "--days", "300", "--folds", "2", "--dry-run"];
    const dry = await candor(args);
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(
      dry.stdout,
      /^data:\n {2}synthetic:\n {4}symbols: 3\n {4}days: 300\n {4}mode: planted\n {4}seed: 42\n/m,
    );
    assert.doesNotMatch(dry.stdout, /^ {2}kind: synthetic$/m);
    const saved = join(dir, "resolved.yaml");
    await Deno.writeTextFile(saved, dry.stdout.split("\n# fold plan")[0]);
    const again = await candor(["run", "--config", saved, "--dry-run"]);
    assert.equal(again.code, 0, again.stderr);
    assert.deepEqual(printedConfig(again.stdout), printedConfig(dry.stdout), "it runs again as the same study");
    assert.equal(again.stdout.split("\n# fold plan")[1], dry.stdout.split("\n# fold plan")[1], "on the same folds");

    const json = await candor([...args, "--json"]);
    assert.equal(json.code, 0, json.stderr);
    const out = JSON.parse(json.stdout);
    assert.deepEqual(out.config.data, { synthetic: { symbols: 3, days: 300, mode: "planted", seed: 42 } });
    assert.deepEqual(out.config, printedConfig(dry.stdout), "the same configuration as the YAML");
    assert.equal(out.plan.scheme, "anchored");
    assert.equal(out.plan.purge, 1);
    assert.equal(out.plan.symbols, 3);
    assert.equal(out.plan.folds.length, 2);
    assert.deepEqual(Object.keys(out.plan.folds[0]), ["fold", "fit", "validation", "test", "rows"]);
    assert.ok(out.plan.folds[1].rows.test > 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("candor run/demo/train/simulate --help name the data.synthetic keys", async () => {
  for (const command of ["run", "demo", "train", "simulate"]) {
    const help = await candor([command, "--help"]);
    assert.equal(help.code, 0, help.stderr);
    assert.match(
      help.stdout,
      /--symbols N +synthetic market: number of symbols \(data\.synthetic\.symbols, 20\)/,
      command,
    );
    assert.match(help.stdout, /--days D +synthetic market: trading days \(data\.synthetic\.days, 2520\)/, command);
    assert.match(help.stdout, /--mode M +synthetic market: planted or random-walk \(data\.synthetic\.mode, planted\)/);
    assert.doesNotMatch(help.stdout, /\(data\.(days|mode)\b|\(data\.symbols, 20\)/, command);
  }
});

/** Stores `input` as a study interrupted as its first entry begins; returns the study's id. */
async function interruptedStudy(db: string, input: unknown): Promise<string> {
  const store = openStore(db);
  try {
    const stop = new AbortController();
    const error = await runStudy(resolveStudyConfig(input), {
      store,
      signal: stop.signal,
      // Once the study is recorded and its first entry begins (as SIGINT there does).
      onProgress: (p) => p.message.endsWith(": starting") && stop.abort("SIGINT"),
    }).then(() => undefined, (e) => e);
    assert.ok(error instanceof InterruptedError, String(error));
    return error.studyId!;
  } finally {
    await store.close();
  }
}

Deno.test("candor run --resume ID --epochs N: checked against the stored study's entries", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const db = join(dir, "runs.db");
    const small = { synthetic: { symbols: 3, days: 300, seed: 3 } };
    const lstm = await interruptedStudy(db, {
      data: small,
      validation: { folds: 2 },
      models: [{ name: "net", kind: "lstm", settings: { epochs: 2, units: 8 } }],
    });
    // Other epochs than the study began with: refused by name, with both values.
    const other = await candor(["run", "--db", db, "--resume", lstm, "--epochs", "3"]);
    assert.equal(other.code, 2, other.stderr);
    assert.match(
      other.stderr,
      /configuration differs from study study_\w+'s: models\[0\]\.settings\.epochs: 2 \(stored\) vs 3 \(given\)/,
    );
    // The stored epochs: the study is resumed with its own configuration.
    const same = await candor(["run", "--db", db, "--resume", lstm, "--epochs", "2", "--json"]);
    assert.equal(same.code, 0, same.stderr);
    const result = JSON.parse(same.stdout);
    assert.equal(result.id, lstm);
    assert.deepEqual(result.models.map((m: { name: string }) => m.name), ["net"]);
    const store = openStore(db);
    try {
      assert.equal((await store.getStudy(lstm))!.status, "succeeded");
    } finally {
      await store.close();
    }

    // A stored study without a neural entry: --epochs has nothing to set, and says so.
    const xgb = await interruptedStudy(db, { data: small, validation: { folds: 2 } });
    const none = await candor(["run", "--db", db, "--resume", xgb, "--epochs", "3"]);
    assert.equal(none.code, 2, none.stderr);
    assert.match(none.stderr, /--epochs is for neural entries \(mlp, .*\); the study's entries are xgboost/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("candor run: a CANDOR_DATA that names nothing is refused naming the variable; --modle suggests --model", async () => {
  const r = await candor(["run", "--dry-run"], { CANDOR_DATA: "/nonexistent/prices" });
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /^candor: CANDOR_DATA=\/nonexistent\/prices: no such file or folder; set it to a price file/);
  const typo = await candor(["run", "--modle", "mlp"]);
  assert.equal(typo.code, 2);
  assert.match(typo.stderr, /unknown option --modle for candor run \(did you mean --model\?\)/);
});
