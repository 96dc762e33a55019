/**
 * The dashboard page in a real browser: Debian's chromium driven by playwright-core (no browser is downloaded). The
 * page loads from `candor serve`, lists a stored study, opens it, shows its comparison table, follows an entry to its
 * run page with the verdict line, the gate, the fold table with per-fold efficiency, the target distribution and the
 * equity chart; lists a stored run, opens it, draws the equity chart (strategy and buy & hold) and the fold chart;
 * follows a running study live until it is sealed; shows production models with their latest predictions and positions
 * and sweeps with their trials, deflated Sharpe ratios and PBO; logs no console error, and makes no request that leaves 127.0.0.1.
 * Screenshots are kept in tests/artifacts/ (git-ignored) for a human to look at.
 *
 * Skips with a message when /usr/bin/chromium is absent (`apt-get install chromium`).
 */

import assert from "node:assert/strict";
import { chromium, type Page } from "playwright-core";
import { openStore } from "../../lib/store/mod.ts";
import type { Store } from "../../lib/store/store.ts";
import { startServer } from "../../graphql/server.ts";
import { sampleFold, sampleRun } from "../store/contract.ts";
import { recordStudy } from "./_study_fixture.ts";
import { recordProduction } from "./_production_fixture.ts";

const CHROMIUM = "/usr/bin/chromium";
const ARTIFACTS = new URL("../artifacts/", import.meta.url);
const LAUNCH_ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--disable-quic",
  "--no-first-run",
];

const hasChromium = (() => {
  try {
    return Deno.statSync(CHROMIUM).isFile;
  } catch {
    return false;
  }
})();

/** A finished run as the pipeline stores one: folds with baselines, epochs, diagnostics, a 300-day backtest. */
async function storeRun(store: Store): Promise<string> {
  const id = await store.createRun(sampleRun({ model: "mlp", backend: "wasm", symbols: ["AAA", "BBB", "CCC"] }));
  for (let f = 0; f < 3; f++) {
    await store.appendFold(
      id,
      sampleFold(f, {
        metrics: { accuracy: 0.52 + f / 100, ic: 0.03, rankIc: 0.025 },
        baselines: { coinFlip: 0.5, majorityClass: 0.51, previousSign: 0.49, alwaysLong: 0.51 },
      }),
    );
    await store.appendEpochs(
      id,
      Array.from({ length: 6 }, (_, e) => ({
        fold: f,
        epoch: e,
        trainLoss: 0.7 - e / 100,
        valLoss: 0.7 - e / 200,
        gradNorm: 1 / (e + 1),
        clipRatio: 0,
      })),
    );
  }
  await store.appendDiagnostics(id, [
    { fold: 0, kind: "sign-bias", severity: "warning", message: "68% of predictions are up" },
    { fold: null, kind: "walk-forward-efficiency", severity: "info", message: "walk-forward efficiency 0.9" },
  ]);
  const start = Date.UTC(2021, 0, 4);
  const dates: string[] = [];
  for (let d = 0; dates.length < 300; d++) {
    const day = new Date(start + d * 86_400_000);
    if (day.getUTCDay() !== 0 && day.getUTCDay() !== 6) dates.push(day.toISOString().slice(0, 10));
  }
  await store.putBacktest(id, {
    lag: 1,
    costBps: 5,
    slippageBps: 1,
    annualization: 252,
    metrics: { sharpe: 0.8, maxDrawdown: -0.12 },
    buyAndHold: { sharpe: 0.5, maxDrawdown: -0.2 },
    warnings: [],
    equity: {
      dates,
      values: dates.map((_, i) => 1 + 0.0005 * i + 0.01 * Math.sin(i / 9)),
      buyAndHold: dates.map((_, i) => 1 + 0.0003 * i + 0.03 * Math.sin(i / 20)),
    },
  });
  await store.finishRun(id, {
    status: "succeeded",
    summary: {
      pooled: { accuracy: 0.53, accuracyLow: 0.515, accuracyHigh: 0.545, ic: 0.03, rankIc: 0.025 },
      warnings: ["a stored warning"],
    },
  });
  return id;
}

/** Records what a page does that the test must judge: console errors and requests leaving 127.0.0.1. */
function watch(page: Page): { errors: string[]; external: string[]; requests: string[] } {
  const seen = { errors: [] as string[], external: [] as string[], requests: [] as string[] };
  page.on("console", (m) => {
    if (m.type() === "error") seen.errors.push(m.text());
  });
  page.on("pageerror", (e) => seen.errors.push(`page error: ${e.message}`));
  page.on("request", (r) => {
    const url = new URL(r.url());
    seen.requests.push(r.url());
    if (url.protocol !== "data:" && url.hostname !== "127.0.0.1") seen.external.push(r.url());
  });
  return seen;
}

Deno.test({
  name: "dashboard page (chromium): lists a stored run, opens it, draws equity and folds; nothing leaves 127.0.0.1",
  ignore: !hasChromium,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const store = openStore(":memory:");
    const id = await storeRun(store);
    const server = await startServer({ port: 0, store });
    const base = server.url.replace(/graphql$/, "");
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: LAUNCH_ARGS, timeout: 60_000 });
    try {
      const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
      page.setDefaultTimeout(60_000);
      const seen = watch(page);
      await page.goto(`${base}#/runs`);
      const link = page.locator(`#runs-table a.run-link[data-run-id="${id}"]`);
      await link.waitFor();
      assert.equal(await page.locator("#runs-count").textContent(), "1 of 1 runs");
      const row = page.locator("#runs-table tbody tr").first();
      assert.match((await row.textContent())!, /53\.0%/); // pooled accuracy
      assert.match((await row.textContent())!, /alwaysLong 51\.0%|majorityClass 51\.0%/); // strongest baseline
      await Deno.mkdir(ARTIFACTS, { recursive: true });
      await page.screenshot({ path: new URL("dashboard-runs.png", ARTIFACTS).pathname, fullPage: true });

      await link.click();
      await page.waitForURL(`**/#/runs/${id}`);
      const equity = page.locator('[data-chart="equity"][data-rendered="true"] svg.marks');
      await equity.waitFor();
      // Two lines: the strategy and buy & hold.
      assert.equal(await page.locator('[data-chart="equity"] svg.marks .mark-line path').count(), 2);
      await page.locator('[data-chart="folds"][data-rendered="true"] svg.marks').waitFor();
      await page.locator('[data-chart="loss"][data-rendered="true"] svg.marks').waitFor();
      assert.equal(await page.locator("#run-id").textContent(), id);
      assert.equal(await page.locator("#folds-table tbody tr").count(), 3 + 2); // folds, then mean and std
      assert.match((await page.locator("#folds-table thead").textContent())!, /majority class \(baseline\)/);
      assert.match((await page.locator("#diagnostics-table").textContent())!, /68% of predictions are up/);
      assert.match((await page.locator("#run-warnings").textContent())!, /a stored warning/);
      await page.screenshot({ path: new URL("dashboard-run.png", ARTIFACTS).pathname, fullPage: true });

      // Filters live in the URL: a model filter that excludes the run empties the list.
      await page.goto(`${base}#/runs?models=xgboost`);
      await page.locator("#runs-count", { hasText: "No stored run matches" }).waitFor();

      assert.deepStrictEqual(seen.errors, []);
      assert.deepStrictEqual(seen.external, []);
      assert.ok(seen.requests.some((u) => u.endsWith("/graphql")), "the page used the GraphQL API");
    } finally {
      await browser.close();
      await server.shutdown();
      await store.close();
    }
  },
});

Deno.test({
  name: "dashboard page (chromium): with a token configured, the page asks for it and then lists runs",
  ignore: !hasChromium,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const store = openStore(":memory:");
    const id = await storeRun(store);
    const server = await startServer({ port: 0, store, token: "s3cret-token" });
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: LAUNCH_ARGS, timeout: 60_000 });
    try {
      const page = await browser.newPage();
      page.setDefaultTimeout(60_000);
      const seen = watch(page);
      await page.goto(`${server.url.replace(/graphql$/, "")}#/runs`);
      const input = page.locator('form.token input[name="token"]');
      await input.waitFor();
      await input.fill("s3cret-token");
      await page.locator("form.token button").click();
      await page.locator(`#runs-table a.run-link[data-run-id="${id}"]`).waitFor();
      // The 401 before the token was given is the only console error (the browser logs failed requests).
      assert.ok(seen.errors.every((e) => /401/.test(e)), JSON.stringify(seen.errors));
      assert.deepStrictEqual(seen.external, []);
    } finally {
      await browser.close();
      await server.shutdown();
      await store.close();
    }
  },
});

Deno.test({
  name: "dashboard page (chromium): lists a stored study, opens its comparison, follows an entry to its run page",
  ignore: !hasChromium,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const store = openStore(":memory:");
    const s = await recordStudy(store);
    const server = await startServer({ port: 0, store });
    const base = server.url.replace(/graphql$/, "");
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: LAUNCH_ARGS, timeout: 60_000 });
    try {
      const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
      page.setDefaultTimeout(60_000);
      const seen = watch(page);
      // The studies list is the landing view.
      await page.goto(base);
      const link = page.locator(`#studies-table a.study-link[data-study-id="${s.studyId}"]`);
      await link.waitFor();
      assert.equal(await page.locator("#studies-count").textContent(), "1 of 1 studies");
      const row = (await page.locator("#studies-table tbody tr").first().textContent())!;
      assert.match(row, /gbm vs mlp/);
      assert.match(row, /1 of 2 edge · 1 passed the gate/);
      await Deno.mkdir(ARTIFACTS, { recursive: true });
      await page.screenshot({ path: new URL("dashboard-studies.png", ARTIFACTS).pathname, fullPage: true });

      await link.click();
      await page.waitForURL(`**/#/studies/${s.studyId}`);
      const rows = page.locator("#comparison-table tbody tr");
      await rows.first().waitFor();
      assert.equal(await rows.count(), 2);
      const gbm = (await rows.nth(0).textContent())!;
      // Headline with its interval beside the strongest baseline, verdict, WFE, gate, Sharpe and drawdown vs B&H.
      assert.match(gbm, /55\.0%\s*\[52\.0%, 58\.0%\]/);
      assert.match(gbm, /always up 53\.0%/);
      assert.match(gbm, /no edge/);
      assert.match(gbm, /0\.80/);
      assert.match(gbm, /failed/);
      assert.match(gbm, /0\.90 vs 0\.60/);
      assert.match(gbm, /-12\.0% vs -30\.0%/);
      const mlp = (await rows.nth(1).textContent())!;
      assert.match(mlp, /edge/);
      assert.match(mlp, /passed/);
      assert.match(mlp, /1 of 2 folds unhealthy/);
      assert.match((await page.locator("#study-warnings").textContent())!, /a study warning/);
      await page.screenshot({ path: new URL("dashboard-study.png", ARTIFACTS).pathname, fullPage: true });

      await page.locator(`#comparison-table a.entry-link[data-run-id="${s.mlp}"]`).click();
      await page.waitForURL(`**/#/runs/${s.mlp}`);
      await page.locator('[data-chart="equity"][data-rendered="true"] svg.marks').waitFor();
      assert.equal(await page.locator('[data-chart="equity"] svg.marks .mark-line path').count(), 2);
      const verdict = (await page.locator("#verdict-line").textContent())!;
      assert.match(verdict, /^edge/);
      assert.match(verdict, /accuracy 60\.0% \(95 % 57\.0%–63\.0%\) vs always up 53\.0%: edge \+7\.00 points/);
      assert.match((await page.locator("#gate-line").textContent())!, /passed.*edge and WFE ≥ 0\.5/);
      assert.match(
        (await page.locator("#up-share-line").textContent())!,
        /^share of "up" calls 60\.0% \(band 20%–80%\)/,
      );
      assert.match((await page.locator("#folds-table thead").textContent())!, /WFE.*health/);
      assert.match((await page.locator("#folds-table tbody tr").nth(0).textContent())!, /0\.90\s*healthy/);
      assert.match((await page.locator("#folds-table tbody tr").nth(1).textContent())!, /variance collapse/);
      assert.equal(await page.locator("#targets-table tbody tr").count(), 2);
      assert.match((await page.locator("#targets-table tbody tr").nth(0).textContent())!, /52\.0% \(400\)/);
      assert.match((await page.locator("#sharpe-difference").textContent())!, /0\.60 \(95 % -0\.50 to 1\.10/);
      assert.equal(await page.locator("#run-study").textContent(), "gbm vs mlp");
      await page.screenshot({ path: new URL("dashboard-study-run.png", ARTIFACTS).pathname, fullPage: true });

      assert.deepStrictEqual(seen.errors, []);
      assert.deepStrictEqual(seen.external, []);
    } finally {
      await browser.close();
      await server.shutdown();
      await store.close();
    }
  },
});

Deno.test({
  name: "dashboard page (chromium): a running study's live view follows it until it is sealed",
  ignore: !hasChromium,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const store = openStore(":memory:");
    const s = await recordStudy(store, { seal: false });
    const server = await startServer({ port: 0, store });
    const base = server.url.replace(/graphql$/, "");
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: LAUNCH_ARGS, timeout: 60_000 });
    try {
      const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
      page.setDefaultTimeout(60_000);
      const seen = watch(page);
      await page.goto(`${base}#/studies/${s.studyId}`);
      // mlp has stored its first fold of two; gbm has finished, so the comparison holds its row already.
      await page.locator("#live-stage", { hasText: "training mlp, fold 2 of 2" }).waitFor();
      assert.match((await page.locator("#live-epoch").textContent())!, /fold 0, epoch 2 — train loss 0\.6800/);
      await page.locator('[data-chart="live-loss"][data-rendered="true"] svg.marks').waitFor();
      assert.equal(await page.locator("#comparison-table tbody tr").count(), 1);
      assert.match(
        (await page.locator("#live-entries").textContent())!,
        /gbm.*succeeded.*2 \/ 2.*mlp.*running.*1 \/ 2/,
      );
      await Deno.mkdir(ARTIFACTS, { recursive: true });
      await page.screenshot({ path: new URL("dashboard-study-live.png", ARTIFACTS).pathname, fullPage: true });
      // The writer finishes; the page follows and, once sealed, shows the study as stored.
      await s.finish();
      await page.locator(".status-succeeded", { hasText: "succeeded" }).first().waitFor();
      await page.locator("#comparison-table tbody tr:nth-child(2)").waitFor();
      assert.equal(await page.locator("#live").count(), 0);
      assert.deepStrictEqual(seen.errors, []);
      assert.deepStrictEqual(seen.external, []);
    } finally {
      await browser.close();
      await server.shutdown();
      await store.close();
    }
  },
});

Deno.test({
  name: "dashboard page (chromium): production models with their latest positions, sweeps with DSR and PBO",
  ignore: !hasChromium,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const store = openStore(":memory:");
    const f = await recordProduction(store);
    const server = await startServer({ port: 0, store });
    const base = server.url.replace(/graphql$/, "");
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: LAUNCH_ARGS, timeout: 60_000 });
    try {
      const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
      page.setDefaultTimeout(60_000);
      const seen = watch(page);
      await page.goto(base);
      await page.locator('nav a[href="#/production"]').click();
      await page.waitForURL("**/#/production");
      await page.locator("#models-count", { hasText: "3 models" }).waitFor();
      await page.locator("#sweeps-count", { hasText: "1 sweep" }).waitFor();
      assert.equal(await page.locator("section.model").count(), 3);

      // gbm: the gate that allowed it, its study, and the latest batch (2021-01-05), one row per symbol.
      const gbm = page.locator(`section.model[data-model-id="${f.models.gbm}"]`);
      assert.match((await gbm.textContent())!, /passed walk-forward efficiency 0\.80 \(threshold 0\.50\)/);
      assert.match((await gbm.textContent())!, /production fixture · its run/);
      assert.match((await gbm.textContent())!, /as of 2021-01-05 .*3 symbols/);
      const rows = gbm.locator(".predictions-table tbody tr");
      assert.equal(await rows.count(), 3);
      const cells = async (i: number) => (await rows.nth(i).locator("td").allTextContents()).map((t) => t.trim());
      assert.deepStrictEqual(await cells(0), ["AAA", "2021-01-05", "0.620", "62.0%", "1.00", "50.0%", ""]);
      assert.deepStrictEqual(await cells(1), ["BBB", "2021-01-05", "0.410", "59.0%", "-1.00", "-50.0%", ""]);
      assert.deepStrictEqual(await cells(2), [
        "CCC",
        "2021-01-05",
        "—",
        "—",
        "—",
        "—",
        "unseen symbol: CCC was not in the training data",
      ]);
      // mlp was trained with its failed gate skipped, which the page says in red; it has not predicted yet.
      const mlp = page.locator(`section.model[data-model-id="${f.models.mlp}"]`);
      assert.equal(await mlp.locator(".skip-gate").textContent(), "gate skipped (--skip-gate)");
      assert.match((await mlp.textContent())!, /failed walk-forward efficiency 0\.30/);
      assert.match((await mlp.textContent())!, /No predictions yet/);

      // The sweep: N with how it splits, PBO, and the cells by deflated Sharpe ratio (undefined last).
      const sweep = page.locator(`section.sweep[data-sweep-id="${f.sweepId}"]`);
      assert.match(
        (await sweep.locator(".sweep-trials").textContent())!,
        /^6 = 1 study entry \+ 1 re-sized backtest\(s\) \+ 4 sweep cell\(s\) · trial Sharpe variance 0\.01367/,
      );
      assert.equal(
        await sweep.locator(".sweep-pbo").textContent(),
        "2021-01-04 … 2021-06-30: 25.0% (P(loss) 12.5%, 4 cells, S = 4)",
      );
      const trials = sweep.locator(".trials-table tbody tr");
      assert.equal(await trials.count(), 4);
      const order = [];
      for (let i = 0; i < 4; i++) order.push((await trials.nth(i).locator("td").first().textContent())!.trim());
      assert.deepStrictEqual(order, ["3", "0", "2", "1"]);
      const best = (await trials.nth(0).locator("td").allTextContents()).map((t) => t.trim());
      assert.deepStrictEqual(best, [
        "3",
        "AAA",
        "2021-01-04 … 2021-06-30",
        "10 + 1",
        "1",
        "sign()",
        (0.4 * Math.sqrt(252)).toFixed(2),
        "0.50",
        "-20.0%",
        "0.950",
      ]);
      assert.equal((await trials.nth(3).locator("td").last().textContent())!.trim(), "—");
      await Deno.mkdir(ARTIFACTS, { recursive: true });
      await page.screenshot({ path: new URL("dashboard-production.png", ARTIFACTS).pathname, fullPage: true });

      // The model's run page lists the backtest added to it, with its deflated Sharpe ratio and N.
      await gbm.locator("a", { hasText: "its run" }).click();
      await page.waitForURL(`**/#/runs/${f.runId}`);
      const added = page.locator("#added-backtests-table tbody tr");
      await added.first().waitFor();
      assert.equal(await added.count(), 1);
      const a = (await added.first().locator("td").allTextContents()).map((t) => t.trim());
      assert.deepStrictEqual([a[0], a[2], a[3], a[5], a[7], a[8]], [
        String(f.seqs[0]),
        "kelly(0.25) · long-short",
        "2",
        `${(0.2 * Math.sqrt(252)).toFixed(2)} vs 0.50`,
        "0.750",
        "2",
      ]);

      assert.deepStrictEqual(seen.errors, []);
      assert.deepStrictEqual(seen.external, []);
    } finally {
      await browser.close();
      await server.shutdown();
      await store.close();
    }
  },
});

if (!hasChromium) {
  Deno.test({
    name: `dashboard page: skipped — no ${CHROMIUM} (apt-get install chromium)`,
    ignore: true,
    fn: () => {},
  });
}
