/**
 * The pg-boss job queue on real PostgreSQL: enqueueing inside the caller's transaction, send options
 * (queue priorities, a host's own jobs, delays, singleton keys), job look-ups across queues, queue depths,
 * the readiness check, graceful and hard stops, and pg-boss errors reaching the logger.
 */
import { randomUUID } from "node:crypto";
import pg from "pg";
import { beforeAll, describe, expect, it } from "vitest";
import { seedTenant } from "../../../test/factories/index.ts";
import { until } from "../../../test/support/until.ts";
import {
  CyberneticError,
  type JobName,
  type JobPayloads,
  type Logger,
  withTenant,
} from "../../core/src/index.ts";
import {
  type CyberneticQueue,
  createJobQueue,
  deadLetterQueue,
  jobNames,
  type QueuedJob,
} from "../src/index.ts";
import { createHostQueues, useQueuePlatform } from "./support/queue-platform.ts";

let queue: CyberneticQueue;
const ctx = useQueuePlatform((q) => {
  queue = q;
});
let tenantId = "";

/** Queues of a host's own jobs (names the built-in registry does not know). */
const HOST = {
  report: "report.render",
  graceful: "test.stop.graceful",
  hard: "test.stop.hard",
  deadline: "test.stop.deadline",
} as const;
/** Host queues are created without NOTIFY wake-ups: their workers poll, at pg-boss's shortest interval. */
const POLL = { pollingIntervalSeconds: 0.5 };
/** A host's job name, typed as the registry would type it after declaration merging. */
const hostJob = (name: string) => name as JobName;
const hostPayload = (payload: object) => payload as JobPayloads[JobName];

beforeAll(async () => {
  tenantId = (await seedTenant(ctx.platform)).tenant.id;
  await createHostQueues(ctx, Object.values(HOST));
});

/** A queue of the test's own on the file's database, started. */
async function ownQueue(logger?: Logger): Promise<CyberneticQueue> {
  const own = createJobQueue({
    connectionString: ctx.database.directUrl,
    poolSize: 1,
    ...(logger ? { logger } : {}),
  });
  await own.start();
  return own;
}

/** Runs `fn` expecting it to reject, and returns the error. */
async function failureOf(fn: () => Promise<unknown>): Promise<CyberneticError> {
  try {
    await fn();
  } catch (error) {
    return error as CyberneticError;
  }
  throw new Error("expected a failure");
}

describe("enqueue in the caller's transaction", () => {
  it("creates a job that no one sees until the transaction commits, with its queue's policy", async () => {
    let seenBeforeCommit: QueuedJob | null | undefined;
    const jobId = await withTenant(ctx.db, tenantId, async (trx) => {
      const id = await queue.enqueue(trx, "policy.evaluate", { tenantId, eventId: "1" });
      // pg-boss's own connections are outside the transaction.
      seenBeforeCommit = await queue.getJob(id as string);
      return id;
    });
    expect(jobId).toEqual(expect.any(String));
    expect(seenBeforeCommit).toBeNull();
    expect(await queue.getJob(jobId as string)).toMatchObject({
      id: jobId,
      name: "policy.evaluate",
      state: "created",
      priority: 20,
      attempts: 0,
      retryLimit: 5,
      tenantId,
      startedAt: null,
      completedAt: null,
    });
  });
});

describe("send", () => {
  it("gives a job its queue's priority unless one is asked for; a host's own job defaults to normal", async () => {
    const priorityOf = async (id: string | null) => (await queue.getJob(id as string))?.priority;
    expect(await priorityOf(await queue.send("housekeeping", {}))).toBe(0);
    expect(await priorityOf(await queue.send("episode.analyze", { tenantId, episodeId: "e" }))).toBe(10);
    expect(
      await priorityOf(
        await queue.send("episode.analyze", { tenantId, episodeId: "e" }, { priority: "critical" }),
      ),
    ).toBe(30);
    const report = await queue.send(hostJob(HOST.report), hostPayload({ tenantId, reportId: "r1" }));
    expect(await queue.getJob(report as string)).toMatchObject({
      name: HOST.report,
      state: "created",
      priority: 10,
      tenantId,
    });
    expect((await queue.depths())[HOST.report]).toBe(1);
  });

  it("holds a job back for startAfterSeconds while an undelayed one is handed out, and keeps its singleton key", async () => {
    const later = await queue.send(
      "notification.send",
      { tenantId, notificationId: "held" },
      { startAfterSeconds: 3600, singletonKey: "notify:held" },
    );
    const now = await queue.send("notification.send", { tenantId, notificationId: "due" });
    const fetched = await queue.boss.fetch("notification.send", { batchSize: 10 });
    expect(fetched.map((job) => job.id)).toEqual([now]);
    const held = await queue.boss.getJobById("notification.send", later as string);
    expect(held).toMatchObject({ state: "created", singletonKey: "notify:held" });
    // Due in an hour, not now (with ten minutes to spare for the database's clock).
    expect(held ? new Date(held.startAfter).getTime() : 0).toBeGreaterThan(Date.now() + 50 * 60_000);
  });
});

describe("getJob", () => {
  it("finds a job in any queue, dead-letter queues included, and answers null for an unknown or malformed id", async () => {
    const dead = await queue.boss.send(deadLetterQueue("episode.analyze"), { tenantId, episodeId: "e" });
    expect(await queue.getJob(dead as string)).toMatchObject({ name: "episode.analyze.dead", tenantId });
    const housekeeping = await queue.send("housekeeping", {});
    expect((await queue.getJob(housekeeping as string))?.tenantId).toBeNull();
    expect(await queue.getJob(randomUUID())).toBeNull();
    for (const id of ["", "42", "not-a-uuid", "' or 1=1 --", `${randomUUID()}x`]) {
      expect(await queue.getJob(id), id).toBeNull();
    }
  });
});

describe("depths", () => {
  it("counts the jobs waiting (created or retry) in every queue and dead-letter queue, never active or finished ones", async () => {
    const before = await queue.depths();
    for (const name of jobNames) {
      expect(before[name], name).toEqual(expect.any(Number));
      expect(before[deadLetterQueue(name)], deadLetterQueue(name)).toEqual(expect.any(Number));
    }
    const payload = (n: number) => ({ tenantId, notificationId: `n${n}` });
    const ids = await Promise.all([1, 2, 3].map((n) => queue.send("notification.send", payload(n))));
    await queue.boss.send(deadLetterQueue("notification.send"), payload(4));
    const [done, failed] = await queue.boss.fetch("notification.send", { batchSize: 2 });
    expect(ids).toContain(done?.id);
    await queue.boss.complete("notification.send", done?.id as string);
    await queue.boss.fail("notification.send", failed?.id as string, { message: "try again" });
    expect((await queue.getJob(failed?.id as string))?.state).toBe("retry");

    const after = await queue.depths();
    // Three sent: one completed (gone), one back in retry (waiting), one never started (waiting).
    expect(after["notification.send"]).toBe((before["notification.send"] ?? 0) + 2);
    expect(after["notification.send.dead"]).toBe((before["notification.send.dead"] ?? 0) + 1);
    expect(after["housekeeping.dead"]).toBe(0);
  });
});

describe("check", () => {
  it("passes on a started queue, and reports unavailable (503) before start and after stop", async () => {
    await expect(queue.check()).resolves.toBeUndefined();
    const own = createJobQueue({ connectionString: ctx.database.directUrl, poolSize: 1 });
    const early = await failureOf(() => own.check());
    expect(CyberneticError.isInstance(early)).toBe(true);
    expect([early.code, early.status, early.message]).toEqual(["unavailable", 503, "job queue unavailable"]);
    await own.start();
    await expect(own.check()).resolves.toBeUndefined();
    await own.stop();
    expect(await failureOf(() => own.check())).toMatchObject({ code: "unavailable", status: 503 });
  });

  it("reports unavailable for a schema where pg-boss is not installed, whose queue does not start", async () => {
    const missing = createJobQueue({
      connectionString: ctx.database.directUrl,
      schema: "not_installed",
      poolSize: 1,
    });
    try {
      await expect(missing.start()).rejects.toThrow(/not installed/);
      const error = await failureOf(() => missing.check());
      expect(error).toMatchObject({ code: "unavailable", status: 503 });
      expect((error.cause as Error).message).toContain("not_installed");
    } finally {
      await missing.stop({ graceful: false });
    }
  });

  it("refuses a schema name that is not a plain lower-case SQL identifier, before connecting", () => {
    for (const schema of ["", "Upper", "1st", "a-b", "pgboss; drop schema public", 'x"y']) {
      let error: unknown;
      try {
        createJobQueue({ connectionString: ctx.database.directUrl, schema });
      } catch (caught) {
        error = caught;
      }
      expect(error, schema).toMatchObject({
        code: "validation_failed",
        message: "invalid queue schema name",
      });
    }
    expect(createJobQueue({ connectionString: ctx.database.directUrl, schema: "tenant_jobs_2" }).schema).toBe(
      "tenant_jobs_2",
    );
  });
});

describe("stop", () => {
  it("by default waits for the job in progress to finish, so its result is kept", async () => {
    const own = await ownQueue();
    let release: (() => void) | undefined;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    let started = false;
    await own.boss.work(HOST.graceful, POLL, async () => {
      started = true;
      await gate;
      return { rendered: true };
    });
    const id = await own.send(hostJob(HOST.graceful), hostPayload({ tenantId }));
    await until(() => started, "the job to start");
    let stopped = false;
    const stopping = own.stop().then(() => {
      stopped = true;
    });
    // A stop that did not wait would have failed the job back and resolved well within this.
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(stopped).toBe(false);
    expect((await queue.getJob(id as string))?.state).toBe("active");
    release?.();
    await stopping;
    expect(await queue.getJob(id as string)).toMatchObject({
      state: "completed",
      attempts: 1,
      output: { rendered: true },
    });
  });

  it("with graceful: false fails the job in progress back to its queue at once: retried later, not lost", async () => {
    const own = await ownQueue();
    let signal: AbortSignal | undefined;
    await own.boss.work(HOST.hard, POLL, async ([job]) => {
      signal = job?.signal;
      // Never finishes on its own: only the stop can end it.
      await new Promise((resolve) => job?.signal.addEventListener("abort", resolve));
      return { rendered: true };
    });
    const id = await own.send(hostJob(HOST.hard), hostPayload({ tenantId }));
    await until(() => signal, "the job to start");
    await own.stop({ graceful: false });
    expect(signal?.aborted).toBe(true);
    const job = await queue.getJob(id as string);
    expect(job).toMatchObject({ state: "retry", attempts: 1, completedAt: null });
    expect(JSON.stringify(job?.output)).toContain("shut down while active");
  });

  it("a graceful stop honours its deadline: a job still running then is failed back for a retry", async () => {
    const own = await ownQueue();
    let signal: AbortSignal | undefined;
    await own.boss.work(HOST.deadline, POLL, async ([job]) => {
      signal = job?.signal;
      await new Promise((resolve) => job?.signal.addEventListener("abort", resolve));
      return { rendered: true };
    });
    const id = await own.send(hostJob(HOST.deadline), hostPayload({ tenantId }));
    await until(() => signal, "the job to start");
    await own.stop({ graceful: true, timeoutMs: 1000 });
    expect(signal?.aborted).toBe(true);
    const job = await queue.getJob(id as string);
    expect(job).toMatchObject({ state: "retry", attempts: 1 });
    expect(JSON.stringify(job?.output)).toContain("shut down while active");
  });
});

describe("pg-boss errors", () => {
  it("a connection the database drops is one warning line (no stack), and the queue carries on", async () => {
    const entries: { level: string; fields: Record<string, unknown>; message: string | undefined }[] = [];
    const record =
      (level: string) =>
      (fields: Record<string, unknown>, message?: string): void => {
        entries.push({ level, fields, message });
      };
    const logger: Logger = {
      debug: record("debug"),
      info: record("info"),
      warn: record("warn"),
      error: record("error"),
    };
    const own = await ownQueue(logger);
    try {
      const { rows } = await own.boss.getDb().executeSql("select pg_backend_pid() as pid");
      const admin = new pg.Client({ connectionString: ctx.database.adminUrl });
      await admin.connect();
      try {
        await admin.query("select pg_terminate_backend($1)", [(rows[0] as { pid: number }).pid]);
      } finally {
        await admin.end();
      }
      const logged = await until(
        () =>
          entries.find(
            (e) => e.level === "warn" && e.message?.startsWith("job queue: the database is unavailable"),
          ),
        "the dropped connection to be logged",
      );
      expect(String(logged.fields.reason)).toMatch(/terminat/);
      expect(logged.fields.err).toBeUndefined();
      expect(entries.filter((e) => e.level === "error")).toEqual([]);
      await expect(own.check()).resolves.toBeUndefined();
    } finally {
      await own.stop({ graceful: false });
    }
  });
});
