/**
 * The dashboard end to end, in headless Chromium (Debian's `chromium`, driven by playwright-core; no
 * browser download): the page is built with Vite and served by a real gateway at /dashboard, with
 * pg-boss workers on this file's database. It signs in with an API key (kept in sessionStorage, never in
 * a URL), reports an episode and sees it go from pending to analysed through the event stream, shows
 * the unit tree, the systems board, an indicator's triple index and an open algedonic alert (and
 * acknowledges it); then the gateway stops, events are written meanwhile, the gateway comes back on the
 * same port, and the feed shows every event written meanwhile: resumed with Last-Event-ID, no gap.
 */
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type Browser, chromium, type Page } from "playwright-core";
import { build } from "vite";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createEventBus, type EventBus, silentLogger } from "../../../packages/core/src/index.ts";
import { createGateway, type ServedGateway } from "../../../packages/gateway/src/index.ts";
import {
  builtInJobs,
  type CyberneticQueue,
  createHeuristicAnalyzer,
  startWorkers,
  type WorkerRuntime,
} from "../../../packages/workers/src/index.ts";
import { useQueuePlatform } from "../../../packages/workers/test/support/queue-platform.ts";
import { until } from "../../../test/support/until.ts";

const CHROMIUM = "/usr/bin/chromium";
const EXAMPLE = fileURLToPath(new URL("..", import.meta.url));
const SCREENSHOT = join(EXAMPLE, "test-results", "dashboard.png");
const ADMIN_KEY = `admin-${randomBytes(24).toString("base64url")}`;

describe("examples/dashboard in headless Chromium against a real gateway", () => {
  let queue: CyberneticQueue;
  const ctx = useQueuePlatform((q) => {
    queue = q;
  });
  const out = mkdtempSync(join(tmpdir(), "cyb-dashboard-build-"));
  let bus: EventBus;
  let workers: WorkerRuntime;
  let server: ServedGateway;
  let browser: Browser;
  let page: Page;
  let tenantId: string;
  let apiKey: string;
  const requested: string[] = [];
  const problems: string[] = [];

  const serve = (port = 0) =>
    createGateway({
      platform: ctx.platform,
      queue,
      bus,
      config: {
        adminKey: ADMIN_KEY,
        apiKeyCacheTtlMs: 0,
        dashboardDir: out,
        events: { heartbeatMs: 1000, retryMs: 200 },
      },
      logger: silentLogger,
    }).serve({ port, host: "127.0.0.1" });

  /** The ids of the tenant's events after `since`, oldest first, as the outbox has them. */
  const eventIdsAfter = async (since: bigint) => {
    const ids: bigint[] = [];
    let cursor: string | undefined;
    do {
      const page = await ctx.platform.events.list(tenantId, { limit: 100, ...(cursor ? { cursor } : {}) });
      ids.push(...page.items.map((e) => BigInt(e.id)).filter((id) => id > since));
      cursor = page.items.some((e) => BigInt(e.id) <= since) ? undefined : page.nextCursor;
    } while (cursor);
    return ids.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)).map(String);
  };
  const feedIds = () =>
    page.$$eval("#feed [data-event-id]", (rows) => rows.map((r) => (r as HTMLElement).dataset.eventId ?? ""));

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) {
      throw new Error(
        `${CHROMIUM} is missing: this test drives Debian's chromium (no browser download). Install it with ` +
          "`apt-get update && apt-get install -y --no-install-recommends chromium` (.ci/run does).",
      );
    }
    // The dashboard as `pnpm --filter @cybernetic/example-dashboard build` makes it, into a folder of its own.
    await build({
      root: EXAMPLE,
      configFile: join(EXAMPLE, "vite.config.ts"),
      logLevel: "warn",
      build: { outDir: out, emptyOutDir: true },
    });

    bus = createEventBus({ db: ctx.db, listenUrl: ctx.database.directUrl, pollIntervalMs: 500 });
    await bus.start();
    workers = await startWorkers({
      platform: ctx.platform,
      queue,
      jobs: builtInJobs(),
      bus,
      dispatchIntervalMs: 200,
      pollIntervalSeconds: 1,
      schedules: false,
      deps: { analyzer: createHeuristicAnalyzer() },
    });
    server = await serve();

    const created = await ctx.platform.tenants.create(
      { name: "Acme", slug: `acme-${randomBytes(3).toString("hex")}` },
      { issueKey: true },
    );
    tenantId = created.tenant.id;
    apiKey = created.apiKey?.key as string;
    // Something on every panel: a unit below the root, an indicator with a fall in it, an open alert.
    const root = (await ctx.platform.units.list(tenantId))[0]?.id as string;
    const plant = await ctx.platform.units.create(tenantId, { name: "Plant 2", slug: "plant-2" });
    const indicator = await ctx.platform.indicators.create(tenantId, root, {
      name: "throughput",
      capability: 80,
      potentiality: 100,
      unitOfMeasure: "units/h",
    });
    const start = Date.now() - 40 * 3_600_000;
    await ctx.platform.indicators.record(tenantId, root, indicator.id, {
      readings: Array.from({ length: 40 }, (_, i) => ({
        at: new Date(start + i * 3_600_000).toISOString(),
        actuality: i < 30 ? 70 + (i % 4) : 35 + (i % 3),
      })),
    });
    await ctx.platform.alerts.raise(
      tenantId,
      { message: "Boiler pressure above limit", unitId: plant.id },
      { kind: "system", id: "e2e" },
    );

    browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox"] });
    page = await browser.newPage({ viewport: { width: 1400, height: 1300 } });
    // Below the test's own timeout, so a wait that fails names its selector.
    page.setDefaultTimeout(20_000);
    page.on("request", (request) => requested.push(request.url()));
    page.on("console", (message) => {
      // Chromium logs each refused fetch itself: expected while the restart test has the gateway down
      // (nothing else stops it), and not the page's doing.
      if (message.type() === "error" && !message.text().includes("net::ERR_CONNECTION_REFUSED"))
        problems.push(message.text());
    });
    page.on("pageerror", (error) => problems.push(String(error)));
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close({ timeoutMs: 1000 });
    await workers?.stop({ timeoutMs: 5000 });
    await bus?.stop();
    rmSync(out, { recursive: true, force: true });
  });

  it("signs in with a key kept in the session, never in a URL, and shows units, systems, the triple index and alerts", async () => {
    await page.goto(`${server.url}/dashboard/`);
    await page.fill("#login-form [name=apiKey]", apiKey);
    await page.click("#login-form button[type=submit]");
    await page.waitForSelector("#connection[data-state=live]");

    // The tree: the root and Plant 2, each with S1..S5 and its viability; the alert counted at Plant 2.
    await page.waitForSelector("#units [data-unit-id] .systems [data-system='5']");
    expect(await page.$$eval("#units [data-unit-id]", (rows) => rows.length)).toBe(2);
    expect(await page.textContent("#units")).toContain("Plant 2");
    expect(await page.textContent("#units")).toContain("⚠ 1");
    // The root's five systems on the board.
    await page.waitForSelector("#systems [data-system='5'][data-version]");
    expect(await page.$$eval("#systems .system-card", (cards) => cards.length)).toBe(5);
    // The indicator's chart, with the fall marked as a significant change.
    await page.waitForSelector("#indicators [data-indicator-id][data-readings='40'] svg.chart");
    expect(await page.$$eval("#indicators .change-marker", (marks) => marks.length)).toBeGreaterThan(0);
    // The alert stands out (the banner) and is listed with its buttons.
    await page.waitForSelector("#alarm:not([hidden])");
    expect(await page.textContent("#alarm")).toContain("Boiler pressure above limit");
    // Two are raised: the boiler's, and the pain of the indicator's fall. The banner stays until both
    // are acknowledged.
    const raised = () => page.$$eval("#alerts [data-status=raised]", (rows) => rows.length);
    expect(await raised()).toBe(2);
    await page.click("#alerts [data-status=raised] button.ack");
    await page.waitForSelector("#alerts [data-status=acknowledged]");
    await until(async () => (await raised()) === 1, "one alert acknowledged");
    expect(await page.isVisible("#alarm")).toBe(true);
    await page.click("#alerts [data-status=raised] button.ack");
    await until(async () => (await raised()) === 0, "both alerts acknowledged");
    await page.waitForSelector("#alarm[hidden]", { state: "attached" });

    expect(page.url()).not.toContain(apiKey);
    expect(requested.filter((url) => url.includes(apiKey))).toEqual([]);
    expect(requested.some((url) => url.includes("/v1/events"))).toBe(true);
    expect(await page.evaluate(() => sessionStorage.getItem("cybernetic.dashboard.apiKey"))).toBe(apiKey);
    expect(await page.evaluate(() => JSON.stringify(localStorage))).not.toContain(apiKey);
  });

  it("reports an episode and sees it go from pending to analysed, live through the stream", async () => {
    const title = `Line 3 stopped ${randomBytes(3).toString("hex")}`;
    // Record every status the episode's row shows, from the moment it appears.
    await page.evaluate((watched) => {
      const seen: string[] = [];
      (window as unknown as { seen: string[] }).seen = seen;
      new MutationObserver(() => {
        for (const row of document.querySelectorAll<HTMLElement>("#episodes [data-episode-id]")) {
          if (row.querySelector("strong")?.textContent !== watched) continue;
          const status = row.dataset.status ?? "";
          if (seen.at(-1) !== status) seen.push(status);
        }
      }).observe(document.getElementById("episodes") as HTMLElement, { childList: true, subtree: true });
    }, title);
    await page.fill("#episode-form [name=title]", title);
    await page.fill(
      "#episode-form [name=content]",
      "The packaging line stopped twice tonight; customers are waiting and the night shift is angry.",
    );
    await page.click("#episode-form button[type=submit]");

    const row = await page.waitForSelector(`#episodes [data-status=complete]:has-text("${title}")`, {
      timeout: 20_000,
    });
    expect(await page.evaluate(() => (window as unknown as { seen: string[] }).seen)).toEqual(
      expect.arrayContaining(["pending", "complete"]),
    );
    expect((await page.evaluate(() => (window as unknown as { seen: string[] }).seen))[0]).toBe("pending");
    expect((await row.textContent()) ?? "").toMatch(/analysed/);
    expect(((await row.$eval(".analysis .summary", (e) => e.textContent)) ?? "").length).toBeGreaterThan(0);
    expect(await row.$eval(".risk", (e) => e.textContent)).toMatch(/^risk (low|medium|high|critical)$/);
    expect(await row.$eval(".sentiment", (e) => e.textContent)).toMatch(
      /^sentiment (negative|neutral|positive)/,
    );
    // The stream brought it: the feed has the episode's created and analyzed events.
    const episodeId = await row.evaluate((e) => (e as HTMLElement).dataset.episodeId as string);
    const analyzed = await ctx.platform.events.list(tenantId, { type: "episode.analyzed", limit: 10 });
    const event = analyzed.items.find((e) => (e.data as { episodeId?: string }).episodeId === episodeId);
    expect(event).toBeDefined();
    await page.waitForSelector(`#feed [data-event-id="${event?.id}"][data-type="episode.analyzed"]`);
  });

  it("survives a gateway restart: reconnecting, then live again, with every event written meanwhile in the feed", async () => {
    const port = server.port;
    const since = BigInt((await page.getAttribute("#feed", "data-since")) ?? "0");

    await server.close({ timeoutMs: 1000 });
    await page.waitForSelector("#connection[data-state=reconnecting]");
    // Written while no gateway serves: an episode (which the workers analyse) and a new S2 state.
    await ctx.platform.episodes.create(tenantId, {
      title: "Written while the gateway was down",
      content: "The dashboard must show this after the restart.",
    });
    const s2 = await ctx.platform.systems.get(tenantId, 2);
    const updated = await ctx.platform.systems.update(tenantId, 2, {
      state: { coordination: "rota changed during the outage" },
      version: s2.version,
    });
    await until(
      async () =>
        (await ctx.platform.episodes.list(tenantId, { status: "complete" })).items.some(
          (e) => e.title === "Written while the gateway was down",
        ),
      "the workers analysed the episode written meanwhile",
      20_000,
    );
    const meanwhile = await eventIdsAfter(since);
    expect(meanwhile.length).toBeGreaterThan(0);

    server = await serve(port);
    await page.waitForSelector("#connection[data-state=live]", { timeout: 20_000 });
    await until(
      async () => {
        const shown = new Set(await feedIds());
        return meanwhile.every((id) => shown.has(id));
      },
      "the feed shows every event written while the gateway was down",
      20_000,
    );

    // No gap and nothing twice: the feed after the page's starting cursor is exactly the outbox.
    const outbox = await eventIdsAfter(since);
    const shown = (await feedIds()).filter((id) => BigInt(id) > since);
    expect(new Set(shown).size).toBe(shown.length);
    expect([...shown].sort((a, b) => (BigInt(a) < BigInt(b) ? -1 : 1))).toEqual(outbox);
    // The board caught up too: S2 of the root shows the version written meanwhile.
    await page.waitForSelector(`#systems [data-system='2'][data-version='${updated.version}']`);
    expect(await page.textContent("#episodes")).toContain("Written while the gateway was down");

    mkdirSync(join(EXAMPLE, "test-results"), { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    expect(statSync(SCREENSHOT).size).toBeGreaterThan(0);
    expect(problems).toEqual([]);
  });
});
