/**
 * Housekeeping on real PostgreSQL: it deletes what retention says may go and nothing else (outbox
 * events and their evaluation records, Telegram dedupe rows, expired artifacts with their blobs), and
 * `startWorkers` puts it on a cron schedule.
 */
import { sql } from "kysely";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { artifactRecordInput, seedTenant } from "../../../test/factories/index.ts";
import { withTenant } from "../../core/src/index.ts";
import {
  type ArtifactBlobRemover,
  builtInJobs,
  type CyberneticQueue,
  type HousekeepingOptions,
  housekeepingJob,
  startWorkers,
  type WorkerRuntime,
} from "../src/index.ts";
import { until } from "./support/fake-servers.ts";
import { useQueuePlatform } from "./support/queue-platform.ts";

const DAY = 86_400_000;
const HOUR = 3_600_000;

/** A blob store that records what it was asked to delete (it stands in for a StorageAdapter). */
function recordingBlobs(driver: string): ArtifactBlobRemover & { deleted: string[] } {
  const deleted: string[] = [];
  return {
    driver,
    deleted,
    async delete(key) {
      deleted.push(key);
    },
  };
}

describe("housekeeping", () => {
  let queue: CyberneticQueue;
  const ctx = useQueuePlatform((q) => {
    queue = q;
  });
  let runtime: WorkerRuntime | undefined;
  let tenantId: string;

  beforeAll(async () => {
    tenantId = (await seedTenant(ctx.platform)).tenant.id;
  });
  afterEach(async () => {
    await runtime?.stop({ timeoutMs: 5_000 });
    runtime = undefined;
  });
  const run = async (deps: { artifactBlobs?: ArtifactBlobRemover; housekeeping?: HousekeepingOptions }) => {
    runtime = await startWorkers({
      platform: ctx.platform,
      queue,
      jobs: builtInJobs(),
      only: ["housekeeping"],
      deps,
    });
    const id = await queue.send("housekeeping", {});
    const job = await until(async () => {
      const j = await queue.getJob(String(id));
      return j?.state === "completed" || j?.state === "failed" ? j : undefined;
    }, "housekeeping");
    await runtime.stop();
    runtime = undefined;
    expect(job.state).toBe("completed");
    return job.output as Record<string, number>;
  };
  const ago = (ms: number) => new Date(Date.now() - ms);
  const tenantRows = <T>(fn: Parameters<typeof withTenant<T>>[2]) => withTenant(ctx.db, tenantId, fn);

  it("purges old events, dedupe rows and expired artifacts, and keeps everything retention protects", async () => {
    await tenantRows(async (trx) => {
      for (const [type, age] of [
        ["custom.ancient", 30 * DAY],
        ["custom.old", 8 * DAY],
        ["custom.old", 7 * DAY + HOUR],
        ["custom.recent", 1 * DAY],
        ["custom.recent", 2 * HOUR],
      ] as const) {
        await trx
          .insertInto("events")
          .values({ tenant_id: tenantId, type, data: "{}", created_at: ago(age) })
          .execute();
      }
      for (const [updateId, age] of [
        [1, 49 * HOUR],
        [2, 47 * HOUR],
        [3, 0],
      ] as const) {
        await trx
          .insertInto("telegram_updates")
          .values({ tenant_id: tenantId, update_id: updateId, received_at: ago(age) })
          .execute();
      }
      for (const [chatId, age] of [
        [1, 49 * HOUR],
        [2, 1 * HOUR],
      ] as const) {
        await trx
          .insertInto("telegram_chat_limits")
          .values({ tenant_id: tenantId, chat_id: chatId, tokens: 0, refilled_at: ago(age) })
          .execute();
      }
      for (const [key, age] of [
        ["kept", 23 * HOUR],
        ["purged", 25 * HOUR],
      ] as const) {
        await trx
          .insertInto("idempotency_keys")
          .values({ tenant_id: tenantId, key, fingerprint: Buffer.alloc(32), created_at: ago(age) })
          .execute();
      }
      const artifact = (path: string, key: string, backend: string, expiresAt: Date | null) => ({
        ...artifactRecordInput({ path }),
        tenant_id: tenantId,
        content_type: "text/plain",
        metadata: "{}",
        storage_backend: backend,
        storage_key: key,
        expires_at: expiresAt,
      });
      for (const a of [
        artifact("exports/expired-1.csv", "t/expired-1", "memory", ago(HOUR)),
        artifact("exports/expired-2.csv", "t/expired-2", "memory", ago(DAY)),
        artifact("exports/elsewhere.csv", "t/elsewhere", "s3", ago(DAY)),
        artifact("exports/later.csv", "t/later", "memory", new Date(Date.now() + DAY)),
        artifact("exports/forever.csv", "t/forever", "memory", null),
      ]) {
        const { contentType: _c, ...row } = a;
        await trx.insertInto("artifacts").values(row).execute();
      }
    });
    // Retention applies to published events; publishing waits for older transactions to end.
    await until(async () => {
      await sql`select cybernetic.publish_events(10000)`.execute(ctx.db);
      const { rows } = await sql<{ n: string }>`select cybernetic.unpublished_events() as n`.execute(ctx.db);
      return Number(rows[0]?.n) === 0;
    }, "every event to be published");
    const ancient = await tenantRows((trx) =>
      trx.selectFrom("events").select("id").where("type", "=", "custom.ancient").executeTakeFirstOrThrow(),
    );
    const policy = await ctx.platform.policies.create(tenantId, {
      name: "any",
      rules: { on: ["custom.*"], then: [{ type: "notify", channel: "event", to: "x", template: "y" }] },
    });
    await tenantRows((trx) =>
      trx
        .insertInto("policy_evaluations")
        .values({
          tenant_id: tenantId,
          event_id: String(ancient.id),
          policy_id: policy.id,
          matched: false,
          outcome: "{}",
        })
        .execute(),
    );

    // Outgoing pacing slots: one past (an absent row paces the same), one still ahead. No application
    // role may touch the table; the owner made it.
    await sql`insert into cybernetic.telegram_send_pacing (key, tat)
              values ('test:past', now() - interval '1 minute'), ('test:ahead', now() + interval '1 hour')`.execute(
      ctx.owner,
    );

    const blobs = recordingBlobs("memory");
    expect(await run({ artifactBlobs: blobs })).toEqual({
      events: 3,
      telegramUpdates: 1,
      telegramState: 2,
      idempotencyKeys: 1,
      artifacts: 3,
      blobsRemoved: 2,
      artifactErrors: 0,
    });

    const types = await tenantRows((trx) =>
      trx.selectFrom("events").select("type").where("type", "like", "custom.%").execute(),
    );
    expect(types.map((t) => t.type)).toEqual(["custom.recent", "custom.recent"]);
    const updates = await tenantRows((trx) =>
      trx.selectFrom("telegram_updates").select("update_id").orderBy("update_id").execute(),
    );
    expect(updates.map((u) => Number(u.update_id))).toEqual([2, 3]);
    const buckets = await tenantRows((trx) =>
      trx.selectFrom("telegram_chat_limits").select("chat_id").execute(),
    );
    expect(buckets.map((b) => b.chat_id)).toEqual(["2"]);
    const { rows: pacing } = await sql<{
      key: string;
    }>`select key from cybernetic.telegram_send_pacing where key like 'test:%'`.execute(ctx.owner);
    expect(pacing.map((p) => p.key)).toEqual(["test:ahead"]);
    const keys = await tenantRows((trx) => trx.selectFrom("idempotency_keys").select("key").execute());
    expect(keys.map((k) => k.key)).toEqual(["kept"]);
    const artifacts = await tenantRows((trx) =>
      trx.selectFrom("artifacts").select("path").orderBy("path").execute(),
    );
    expect(artifacts.map((a) => a.path)).toEqual(["exports/forever.csv", "exports/later.csv"]);
    expect(blobs.deleted.sort()).toEqual(["t/expired-1", "t/expired-2"]);
    expect(await tenantRows((trx) => trx.selectFrom("policy_evaluations").selectAll().execute())).toEqual([]);
    const deletedEvents = await tenantRows((trx) =>
      trx.selectFrom("events").select("data").where("type", "=", "artifact.deleted").execute(),
    );
    expect(deletedEvents.map((e) => e.data.path).sort()).toEqual([
      "exports/elsewhere.csv",
      "exports/expired-1.csv",
      "exports/expired-2.csv",
    ]);

    // Shorter retention, configured: now the day-old event goes too, the two-hour-old one stays.
    expect(await run({ housekeeping: { eventRetentionDays: 0.5, telegramDedupeHours: 1 } })).toMatchObject({
      events: 1,
      telegramUpdates: 1,
      artifacts: 0,
    });
    const left = await tenantRows((trx) =>
      trx.selectFrom("events").select("type").where("type", "like", "custom.%").execute(),
    );
    expect(left).toHaveLength(1);
  });

  it("keeps an artifact whose blob could not be deleted, to try again next time", async () => {
    await tenantRows(async (trx) => {
      const { contentType: _c, ...base } = artifactRecordInput({ path: "exports/stuck.csv" });
      await trx
        .insertInto("artifacts")
        .values({
          ...base,
          tenant_id: tenantId,
          content_type: "text/csv",
          metadata: "{}",
          storage_backend: "memory",
          storage_key: "t/stuck",
          expires_at: ago(HOUR),
        })
        .execute();
    });
    const failing: ArtifactBlobRemover = {
      driver: "memory",
      async delete() {
        throw new Error("storage unavailable");
      },
    };
    expect(await run({ artifactBlobs: failing })).toMatchObject({
      artifacts: 0,
      blobsRemoved: 0,
      artifactErrors: 1,
    });
    const stuck = await tenantRows((trx) =>
      trx.selectFrom("artifacts").select("path").where("path", "=", "exports/stuck.csv").execute(),
    );
    expect(stuck).toHaveLength(1);
  });

  it("is scheduled on its definition's cron by startWorkers, unless told not to", async () => {
    runtime = await startWorkers({
      platform: ctx.platform,
      queue,
      jobs: builtInJobs(),
      only: ["housekeeping"],
    });
    const schedules = await queue.boss.getSchedules("housekeeping");
    expect(housekeepingJob.schedule?.cron).toBe("*/15 * * * *");
    expect(schedules.map((s) => s.cron)).toEqual([housekeepingJob.schedule?.cron]);
    await runtime.stop();
    await queue.boss.unschedule("housekeeping");
    runtime = await startWorkers({
      platform: ctx.platform,
      queue,
      jobs: builtInJobs(),
      only: ["housekeeping"],
      schedules: false,
    });
    expect(await queue.boss.getSchedules("housekeeping")).toEqual([]);
  });
});
