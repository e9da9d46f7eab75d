/**
 * Fault: the database server itself stops (a fast shutdown: every session ended with 57P01, then
 * connections refused) and starts again, under 20 clients' load, with the real workers (pg-boss queue,
 * S4 analysis, the policy dispatcher's LISTEN connection) running in the gateway's process. Nothing may
 * crash or answer 500, every 201 must be stored, and every stored episode (posted before, during or after
 * the outage) must end `complete`, analysed exactly once: the jobs in flight at the stop finish.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDatabase, createPlatform, type Db, type Platform } from "../../packages/core/src/index.ts";
import { createGateway, type ServedGateway } from "../../packages/gateway/src/index.ts";
import { captureLogs } from "../../packages/gateway/test/helpers/log-capture.ts";
import {
  builtInJobs,
  type CyberneticQueue,
  createJobQueue,
  startWorkers,
  type WorkerRuntime,
} from "../../packages/workers/src/index.ts";
import { until } from "../support/until.ts";
import { type Created, describeStatuses, runLoad, Tally } from "./support/load.ts";
import { type OwnPostgres, startOwnPostgres } from "./support/own-postgres.ts";
import { episodeStatuses, onAdmin, storedEpisodeIds } from "./support/postgres.ts";
import { captureProcessFaults } from "./support/process-faults.ts";

const LOAD_MS = 12_000;
const STOP_AT_MS = 3_000;
/** How long the server stays down once it has stopped. */
const DOWN_MS = 2_000;
const CLIENTS = 20;

const faults = captureProcessFaults();
const { logger, lines } = captureLogs("info");
let postgres: OwnPostgres;
let db: Db;
let queue: CyberneticQueue;
let platform: Platform;
let workers: WorkerRuntime;
let server: ServedGateway;
let key = "";

beforeAll(async () => {
  postgres = await startOwnPostgres();
  db = createDatabase({ url: postgres.runtimeUrl, poolSize: 10, connectionTimeoutMs: 2_000 });
  queue = createJobQueue({
    connectionString: postgres.runtimeUrl,
    poolSize: 4,
    maintenanceIntervalSeconds: 2,
    logger,
  });
  await queue.start();
  platform = createPlatform({ db, queue, logger });
  const { apiKey } = await platform.tenants.create({ name: "Restart", slug: "restart" }, { issueKey: true });
  key = apiKey?.key ?? "";
  workers = await startWorkers({
    platform,
    queue,
    jobs: builtInJobs(),
    logger,
    concurrency: 2,
    pollIntervalSeconds: 1,
    listenUrl: postgres.runtimeUrl,
  });
  const gateway = createGateway({
    platform,
    queue,
    config: { apiKeyCacheTtlMs: 0, rateLimit: { perSecond: 1_000_000, burst: 1_000_000 } },
    logger,
  });
  server = await gateway.serve({ port: 0, host: "127.0.0.1" });
}, 120_000);

afterAll(async () => {
  await server?.close({ timeoutMs: 2_000 });
  await workers?.stop({ timeoutMs: 2_000 });
  await queue?.stop({ graceful: false });
  await db?.destroy();
  await postgres?.destroy();
});

describe("the database server stopped and started again under load, workers running", () => {
  it("no 500, no crash, every 201 stored, every episode analysed exactly once", async () => {
    const tally = new Tally();
    const created: Created[] = [];
    const started = performance.now();
    let running = true;
    const load = runLoad({ base: server.url, key, clients: CLIENTS, running: () => running, tally, created });

    await new Promise((r) => setTimeout(r, STOP_AT_MS));
    // The outage must meet writes that succeeded before it: on a loaded machine the first 201s can take
    // longer than STOP_AT_MS.
    await until(() => created.length >= 5, "five episodes created before the stop", 60_000);
    const stopAt = performance.now();
    await postgres.stop();
    const stoppedAt = performance.now();
    await new Promise((r) => setTimeout(r, DOWN_MS));
    const startAt = performance.now();
    await postgres.start();
    const upAt = performance.now();
    await new Promise((r) => setTimeout(r, Math.max(0, started + LOAD_MS - performance.now())));
    // And the load goes on until writes succeed again (bounded: the assertions below say if they never do).
    await until(() => created.some((c) => c.at > upAt), "a write after the restart", 60_000).catch(() => {});
    running = false;
    await load;

    const firstSuccessAfterUp = tally.outcomes
      .filter((o) => o.sentAt >= upAt && typeof o.status === "number" && o.status < 300)
      .reduce((min, o) => Math.min(min, o.endedAt), Number.POSITIVE_INFINITY);
    const outage = tally.recovery(stopAt);

    // Every stored episode, including those in flight at the stop, ends complete.
    const settleStarted = performance.now();
    const statuses = await until(
      async () => {
        const s = await episodeStatuses(postgres.adminUrl);
        return Object.keys(s).every((status) => status === "complete") ? s : undefined;
      },
      "every episode to be complete",
      50_000,
    ).catch(async (error: Error) => {
      throw new Error(`${error.message}: ${JSON.stringify(await episodeStatuses(postgres.adminUrl))}`);
    });
    const settledMs = Math.round(performance.now() - settleStarted);
    const analysed = await onAdmin(postgres.adminUrl, async (client) => {
      const { rows } = await client.query<{ id: string; events: number }>(
        `select e.id::text, (select count(*)::int from cybernetic.events v
            where v.type = 'episode.analyzed' and v.data->>'episodeId' = e.id::text) as events
           from cybernetic.episodes e`,
      );
      return rows;
    });
    const stored = await storedEpisodeIds(
      postgres.adminUrl,
      created.map((c) => c.id),
    );
    // What the outage logged besides the access log and the 503s' one-line warnings.
    const messages: Record<string, number> = {};
    for (const l of lines) {
      if (l.msg === "request" || l.code === "unavailable") continue;
      const text = `${Number(l.level) >= 50 ? "error" : Number(l.level) >= 40 ? "warn" : "info"} ${String(l.msg).slice(0, 70)}${l.reason ? ` (${String(l.reason).slice(0, 60)})` : ""}`;
      messages[text] = (messages[text] ?? 0) + 1;
    }
    const busLost = lines.filter((l) => String(l.msg).startsWith("event bus: LISTEN connection lost")).length;

    console.log(
      `[fault] database-restart: ${tally.outcomes.length} requests by ${CLIENTS} clients in ${LOAD_MS / 1000} s; ` +
        `${describeStatuses(tally.byStatus())}; stop took ${Math.round(stoppedAt - stopAt)} ms, down ${Math.round(upAt - stoppedAt)} ms ` +
        `(start took ${Math.round(upAt - startAt)} ms); ${outage.failed} requests failed; ` +
        `first success ${Math.round(firstSuccessAfterUp - upAt)} ms after the server was up, ` +
        `last failure ${outage.recoveryMs} ms after the stop began; 201s: ${created.length}, stored: ${stored.size}; ` +
        `episodes ${JSON.stringify(statuses)} within ${settledMs} ms of the load ending; other log lines ${JSON.stringify(messages)}`,
    );

    expect(faults.uncaught, "uncaught exceptions / unhandled rejections").toEqual([]);
    expect(tally.serverErrors(), "no 5xx other than 503").toEqual([]);
    expect(tally.unexpected(), "only 2xx, 4xx and 503").toEqual([]);
    expect(tally.unavailableWithoutRetryAfter(), "every 503 carries retry-after").toEqual([]);
    expect(tally.network(), "the gateway answered every request").toEqual([]);
    expect(outage.failed, "the outage was seen by the clients").toBeGreaterThan(0);
    expect(created.filter((c) => c.at < stopAt).length).toBeGreaterThan(0);
    expect(created.filter((c) => c.at > upAt).length, "writes succeed after the restart").toBeGreaterThan(0);
    expect(
      created.filter((c) => !stored.has(c.id)),
      "every episode answered 201 is stored",
    ).toEqual([]);
    expect(busLost, "the event bus logs its lost LISTEN connection once per outage").toBe(1);
    expect(
      analysed.filter((row) => row.events !== 1),
      "each episode analysed exactly once",
    ).toEqual([]);
  }, 110_000);
});
