/**
 * Fault: every connection of the gateway's database is ended (`pg_terminate_backend`), twice, while 20
 * clients read and write for 10 s: what an operator, a pooler restart or a failover does. The gateway
 * (in this process, with a real pg-boss queue on the same database) must stay up, never answer 500,
 * answer 503 with `retry-after` while it cannot reach the database, lose none of the episodes it
 * answered 201 for, and serve again by itself.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDatabase, createPlatform, type Db, silentLogger } from "../../packages/core/src/index.ts";
import { createGateway, type ServedGateway } from "../../packages/gateway/src/index.ts";
import { type CyberneticQueue, createJobQueue } from "../../packages/workers/src/index.ts";
import { seedTenant } from "../factories/index.ts";
import { useTestPlatform } from "../setup/database.ts";
import { until } from "../support/until.ts";
import { type Created, describeStatuses, runLoad, Tally } from "./support/load.ts";
import { storedEpisodeIds, terminateConnections } from "./support/postgres.ts";
import { captureProcessFaults } from "./support/process-faults.ts";

const LOAD_MS = 10_000;
const FAULTS_AT_MS = [3_000, 6_500];
const CLIENTS = 20;

const ctx = useTestPlatform();
const faults = captureProcessFaults();
let db: Db;
let queue: CyberneticQueue;
let server: ServedGateway;
let key = "";

beforeAll(async () => {
  key = (await seedTenant(ctx.platform)).apiKey.key;
  db = createDatabase({
    url: ctx.database.appUrl,
    directUrl: ctx.database.directUrl,
    poolSize: 10,
    connectionTimeoutMs: 2_000,
  });
  queue = createJobQueue({
    connectionString: ctx.database.directUrl,
    poolSize: 4,
    maintenanceIntervalSeconds: 2,
  });
  await queue.start();
  const gateway = createGateway({
    platform: createPlatform({ db, queue }),
    queue,
    // Every request resolves its key in the database (no cache), so every request meets the fault.
    config: { apiKeyCacheTtlMs: 0, rateLimit: { perSecond: 1_000_000, burst: 1_000_000 } },
    logger: silentLogger,
  });
  server = await gateway.serve({ port: 0, host: "127.0.0.1" });
});

afterAll(async () => {
  await server?.close({ timeoutMs: 2_000 });
  await queue?.stop({ graceful: false });
  await db?.destroy();
});

describe("all of the database's connections terminated twice under load", () => {
  it("stays up, never answers 500, loses no 201, and recovers by itself", async () => {
    const tally = new Tally();
    const created: Created[] = [];
    const started = performance.now();
    let running = true;
    const load = runLoad({
      base: server.url,
      key,
      clients: CLIENTS,
      running: () => running,
      tally,
      created,
    });
    const faultTimes: number[] = [];
    const ended: number[] = [];
    for (const at of FAULTS_AT_MS) {
      await new Promise((r) => setTimeout(r, Math.max(0, started + at - performance.now())));
      faultTimes.push(performance.now());
      ended.push(await terminateConnections(ctx.database.adminUrl, ctx.database.name));
    }
    await new Promise((r) => setTimeout(r, Math.max(0, started + LOAD_MS - performance.now())));
    running = false;
    await load;

    // Afterwards: ready again, and a burst of fresh requests all succeed.
    await until(
      async () => (await fetch(`${server.url}/ready`)).status === 200,
      "/ready to answer 200 again",
      15_000,
    );
    const after = new Tally();
    await Promise.all(
      Array.from({ length: 20 }, (_, n) =>
        n % 2
          ? after.call(server.url, "GET /v1/episodes", "/v1/episodes?limit=5", { key })
          : after.call(server.url, "POST /v1/episodes", "/v1/episodes", {
              method: "POST",
              key,
              body: { title: `after the faults ${n}`, content: "served again" },
            }),
      ),
    );

    const windows = faultTimes.map((at, i) => tally.recovery(at, faultTimes[i + 1]));
    const stored = await storedEpisodeIds(
      ctx.database.adminUrl,
      created.map((c) => c.id),
    );
    console.log(
      `[fault] database-terminated: ${tally.outcomes.length} requests by ${CLIENTS} clients in ${LOAD_MS / 1000} s; ` +
        `${describeStatuses(tally.byStatus())}; connections ended: ${ended.join(" and ")}; ` +
        windows
          .map((w, i) => `fault ${i + 1}: ${w.failed} failed, recovered in ${w.recoveryMs} ms`)
          .join("; ") +
        `; 201s: ${created.length}, stored: ${stored.size}; after: ${describeStatuses(after.byStatus())}`,
    );

    expect(faults.uncaught, "uncaught exceptions / unhandled rejections").toEqual([]);
    expect(
      ended.every((n) => n > 0),
      "each fault ended some connections",
    ).toBe(true);
    expect(tally.serverErrors(), "no 5xx other than 503").toEqual([]);
    expect(tally.unexpected(), "only 2xx, 4xx and 503").toEqual([]);
    expect(tally.unavailableWithoutRetryAfter(), "every 503 carries retry-after").toEqual([]);
    expect(tally.network(), "the gateway answered every request").toEqual([]);
    expect(created.length).toBeGreaterThan(0);
    expect(
      created.filter((c) => !stored.has(c.id)),
      "every episode answered 201 is stored",
    ).toEqual([]);
    // Requests succeed after each fault, not only at the very end.
    for (const at of faultTimes) {
      expect(tally.outcomes.some((o) => o.sentAt > at && o.status === 201)).toBe(true);
    }
    expect(after.outcomes.map((o) => o.status).filter((s) => s !== 200 && s !== 201)).toEqual([]);
  }, 60_000);
});
