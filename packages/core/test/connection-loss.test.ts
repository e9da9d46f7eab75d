/**
 * Connections the platform holds die under it (pg_terminate_backend, as a failover, a pooler restart or an
 * operator would): nothing crashes, the failure is `unavailable` (503 with retry-after), reads are retried
 * once on a fresh connection, writes are not, and the event bus reconnects and catches up.
 */
import { sql } from "kysely";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { episodeInput, seedTenant } from "../../../test/factories/index.ts";
import { useTestPlatform } from "../../../test/setup/database.ts";
import { until } from "../../../test/support/until.ts";
import {
  CyberneticError,
  type CyberneticEvent,
  createEventBus,
  databaseUnavailable,
  isConnectionError,
  type Logger,
  retryIdempotent,
  withTenant,
} from "../src/index.ts";

/** Terminates backends of this file's database over a superuser connection; returns how many. */
async function terminate(adminUrl: string, where: string, pids?: number[]): Promise<number> {
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    const { rows } = await admin.query<{ n: string }>(
      `select count(pg_terminate_backend(pid)) as n from pg_stat_activity
        where datname = current_database() and pid <> pg_backend_pid() and ${where}
          and ($1::int[] is null or pid = any($1::int[]))`,
      [pids ?? null],
    );
    return Number(rows[0]?.n ?? 0);
  } finally {
    await admin.end();
  }
}

describe("isConnectionError", () => {
  it.each([
    [{ code: "57P01", message: "terminating connection due to administrator command" }, true],
    [{ code: "57P02" }, true],
    [{ code: "57P03", message: "the database system is starting up" }, true],
    [{ code: "08006" }, true],
    [{ code: "08P01" }, true],
    [{ code: "53300" }, true],
    [Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:5432"), { code: "ECONNREFUSED" }), true],
    [Object.assign(new Error("read ECONNRESET"), { code: "ECONNRESET" }), true],
    [new Error("Connection terminated unexpectedly"), true],
    [new Error("Connection terminated due to connection timeout"), true],
    [new Error("timeout exceeded when trying to connect"), true],
    [new Error("Client has encountered a connection error and is not queryable"), true],
    [new AggregateError([Object.assign(new Error("x"), { code: "ECONNREFUSED" })], "all failed"), true],
    [new Error("wrapped", { cause: { code: "57P01" } }), true],
    [{ code: "23505", message: "duplicate key value" }, false],
    [{ code: "57014", message: "canceling statement due to statement timeout" }, false],
    [{ code: "42P01", message: 'relation "x" does not exist' }, false],
    [new CyberneticError("not_found", "Connection terminated"), false],
    [new Error("something else"), false],
    [null, false],
    ["Connection terminated", false],
  ])("%o → %s", (error, expected) => {
    expect(isConnectionError(error)).toBe(expected);
  });

  it("databaseUnavailable is a 503 with retry-after that names the reason in one line", () => {
    const error = databaseUnavailable({ code: "57P01", message: "terminating connection\nsecond line" });
    expect(error.code).toBe("unavailable");
    expect(error.status).toBe(503);
    expect(error.headers?.["retry-after"]).toMatch(/^\d+$/);
    expect(error.message).toContain("57P01");
    expect(error.message).not.toContain("\n");
  });
});

describe("connection loss on real PostgreSQL", () => {
  const ctx = useTestPlatform();
  let tenantId: string;
  const uncaught: unknown[] = [];
  const onUncaught = (error: unknown) => uncaught.push(error);

  beforeAll(async () => {
    tenantId = (await seedTenant(ctx.platform)).tenant.id;
    process.on("uncaughtException", onUncaught);
  });
  afterAll(() => {
    process.off("uncaughtException", onUncaught);
  });

  const backendPid = async (trx: Parameters<Parameters<typeof withTenant>[2]>[0]) =>
    (await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(trx)).rows[0]?.pid as number;

  it("a connection terminated between two statements of a write: no crash, `unavailable`, not retried", async () => {
    let calls = 0;
    const outcome = await withTenant(ctx.db, tenantId, async (trx) => {
      calls++;
      const pid = await backendPid(trx);
      expect(await terminate(ctx.database.adminUrl, "true", [pid])).toBe(1);
      // The 'error' arrives while no statement is active: with no listener it would end the process.
      await until(
        async () => uncaught.length > 0 || (await isDead(ctx.database.adminUrl, pid)),
        "the backend to go",
      );
      await new Promise((r) => setTimeout(r, 50));
      return sql`select 1`.execute(trx);
    }).then(
      () => "resolved",
      (error: unknown) => error,
    );
    expect(uncaught).toEqual([]);
    expect(CyberneticError.isInstance(outcome) && outcome.code).toBe("unavailable");
    expect((outcome as CyberneticError).headers?.["retry-after"]).toBeDefined();
    expect(calls).toBe(1);
    // The pool discarded the broken client: the next transaction works.
    const { rows } = await withTenant(ctx.db, tenantId, (trx) =>
      sql<{ ok: number }>`select 1 as ok`.execute(trx),
    );
    expect(rows[0]?.ok).toBe(1);
  });

  it("a read-only transaction whose connection died is retried once on a fresh connection", async () => {
    const pids: number[] = [];
    const result = await withTenant(
      ctx.db,
      tenantId,
      async (trx) => {
        const pid = await backendPid(trx);
        pids.push(pid);
        if (pids.length === 1) {
          await terminate(ctx.database.adminUrl, "true", [pid]);
          await until(() => isDead(ctx.database.adminUrl, pid), "the backend to go");
        }
        return trx.selectFrom("tenants").select("id").execute();
      },
      { readOnly: true },
    );
    expect(result.map((r) => r.id)).toEqual([tenantId]);
    expect(pids).toHaveLength(2);
    expect(pids[1]).not.toBe(pids[0]);
    expect(uncaught).toEqual([]);
  });

  it("a read that fails twice is `unavailable`, tried exactly twice", async () => {
    let calls = 0;
    const outcome = await withTenant(
      ctx.db,
      tenantId,
      async (trx) => {
        calls++;
        const pid = await backendPid(trx);
        await terminate(ctx.database.adminUrl, "true", [pid]);
        await until(() => isDead(ctx.database.adminUrl, pid), "the backend to go");
        return sql`select 1`.execute(trx);
      },
      { readOnly: true },
    ).catch((error: unknown) => error);
    expect(CyberneticError.isInstance(outcome) && outcome.code).toBe("unavailable");
    expect(calls).toBe(2);
    expect(uncaught).toEqual([]);
  });

  it("every idle connection of the pool terminated at once: the next writes and reads work", async () => {
    // The pool may hand out a connection whose end it has not heard of yet (the server's FATAL is still
    // unread): a write on it fails at BEGIN, before anything could commit, and runs again on a fresh one.
    for (let round = 0; round < 10; round++) {
      await Promise.all(
        Array.from({ length: 5 }, () =>
          withTenant(ctx.db, tenantId, (trx) => sql`select pg_sleep(0.01)`.execute(trx)),
        ),
      );
      expect(await terminate(ctx.database.adminUrl, "true")).toBeGreaterThan(0);
      const episode = await ctx.platform.episodes.create(tenantId, episodeInput());
      expect((await ctx.platform.episodes.get(tenantId, episode.episode.id)).id).toBe(episode.episode.id);
    }
    expect(uncaught).toEqual([]);
  });

  it("retryIdempotent retries a pool query once, then maps to `unavailable`", async () => {
    let calls = 0;
    const ok = await retryIdempotent(async () => {
      calls++;
      if (calls === 1) throw Object.assign(new Error("read ECONNRESET"), { code: "ECONNRESET" });
      return "ok";
    });
    expect([ok, calls]).toEqual(["ok", 2]);
    calls = 0;
    const failed = await retryIdempotent(async () => {
      calls++;
      throw new Error("Connection terminated unexpectedly");
    }).catch((error: unknown) => error);
    expect(CyberneticError.isInstance(failed) && failed.code).toBe("unavailable");
    expect(calls).toBe(2);
    calls = 0;
    const other = await retryIdempotent(async () => {
      calls++;
      throw new CyberneticError("not_found", "nope");
    }).catch((error: unknown) => error);
    expect([(other as CyberneticError).code, calls]).toEqual(["not_found", 1]);
  });

  it("the event bus's LISTEN connection is terminated: it reconnects, catches up, and logs one line each way", async () => {
    const lines: { level: string; msg: string | undefined; fields: Record<string, unknown> }[] = [];
    const logger: Logger = {
      debug: (fields, msg) => lines.push({ level: "debug", msg, fields }),
      info: (fields, msg) => lines.push({ level: "info", msg, fields }),
      warn: (fields, msg) => lines.push({ level: "warn", msg, fields }),
      error: (fields, msg) => lines.push({ level: "error", msg, fields }),
    };
    const bus = createEventBus({
      db: ctx.db,
      listenUrl: ctx.database.directUrl,
      logger,
      pollIntervalMs: 60_000,
    });
    await bus.start();
    const seen: CyberneticEvent[] = [];
    bus.subscribe({ tenantId }, (e) => seen.push(e));
    try {
      expect(await terminate(ctx.database.adminUrl, "application_name = 'cybernetic-events'")).toBe(1);
      // Written while the bus is not listening: delivered after the reconnect, from the outbox.
      const { episode } = await ctx.platform.episodes.create(tenantId, episodeInput());
      await until(
        () => seen.some((e) => e.type === "episode.created" && e.data.episodeId === episode.id),
        "the missed event to arrive",
      );
      await until(
        () => lines.some((l) => l.level === "info" && l.msg?.includes("reconnected")),
        "the reconnect line",
      );
      const warnings = lines.filter((l) => l.level === "warn" || l.level === "error");
      expect(warnings.map((l) => l.msg)).toEqual(["event bus: LISTEN connection lost; reconnecting"]);
      // One line: a reason, not an error object with a stack.
      expect(warnings.every((l) => !("err" in l.fields))).toBe(true);
      expect(uncaught).toEqual([]);
    } finally {
      await bus.stop();
    }
  });
});

async function isDead(adminUrl: string, pid: number): Promise<boolean> {
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    const { rowCount } = await admin.query("select 1 from pg_stat_activity where pid = $1", [pid]);
    return rowCount === 0;
  } finally {
    await admin.end();
  }
}
