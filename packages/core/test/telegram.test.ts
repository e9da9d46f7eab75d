/**
 * The Telegram inbox on real PostgreSQL: one transaction stores the update once, spends a token of its
 * chat's bucket and enqueues its job; re-sent updates, ignored kinds, over-limit chats and a failing
 * enqueue each leave exactly what they should. The outgoing pacing function reserves slots that satisfy
 * every key at once and refuses to reserve past the caller's patience.
 */
import { sql } from "kysely";
import { beforeAll, describe, expect, it } from "vitest";
import { seedTenant } from "../../../test/factories/index.ts";
import { useTestPlatform } from "../../../test/setup/database.ts";
import {
  CyberneticError,
  createPlatform,
  describeTelegramUpdate,
  type EnqueueOptions,
  type JobName,
  type JobPayloads,
  type JobQueue,
  type TelegramUpdate,
  type TenantTransaction,
  telegramAllowedUpdates,
  telegramChatQueueKey,
  withTenant,
} from "../src/index.ts";

/** A test double of the `JobQueue` boundary (pg-boss lives in workers): records calls, can fail once. */
class RecordingQueue implements JobQueue {
  calls: {
    name: JobName;
    payload: unknown;
    options: EnqueueOptions | undefined;
    statusSeen: string | null;
  }[] = [];
  failWith: Error | undefined;
  async enqueue<N extends JobName>(
    trx: TenantTransaction,
    name: N,
    payload: JobPayloads[N],
    options?: EnqueueOptions,
  ): Promise<string | null> {
    const { updateId } = payload as { updateId: number };
    const row = await trx
      .selectFrom("telegram_updates")
      .select("status")
      .where("update_id", "=", String(updateId))
      .executeTakeFirst();
    this.calls.push({ name, payload, options, statusSeen: row?.status ?? null });
    if (this.failWith) {
      const error = this.failWith;
      this.failWith = undefined;
      throw error;
    }
    return `job-${this.calls.length}`;
  }
}

let nextUpdate = 1000;
const message = (chatId: number, text: string, extra: Partial<TelegramUpdate> = {}): TelegramUpdate => ({
  update_id: nextUpdate++,
  message: {
    message_id: nextUpdate,
    date: 1_700_000_000,
    chat: { id: chatId, type: chatId < 0 ? "supergroup" : "private" },
    from: { id: 7, is_bot: false, first_name: "Ada", username: "ada" },
    text,
  },
  ...extra,
});

describe("telegram inbox", () => {
  const queue = new RecordingQueue();
  const ctx = useTestPlatform({ queue: () => queue });
  let tenantId: string;
  const rows = (updateId: number) =>
    withTenant(ctx.db, tenantId, (trx) =>
      trx.selectFrom("telegram_updates").selectAll().where("update_id", "=", String(updateId)).execute(),
    );

  beforeAll(async () => {
    tenantId = (await seedTenant(ctx.platform)).tenant.id;
  });

  it("stores an update once, with its payload, and enqueues its job in the chat's order key", async () => {
    const update = message(42, "Line 3 stopped");
    const before = queue.calls.length;
    const receipt = await ctx.platform.telegram.receive(tenantId, update);
    expect(receipt).toEqual({
      outcome: "queued",
      updateId: update.update_id,
      kind: "message",
      chatId: 42,
      jobId: expect.any(String),
    });
    expect(queue.calls.slice(before)).toEqual([
      {
        name: "telegram.update",
        payload: { tenantId, updateId: update.update_id },
        options: { singletonKey: telegramChatQueueKey(tenantId, 42) },
        // Enqueued inside the transaction that stored the row.
        statusSeen: "queued",
      },
    ]);
    const [row] = await rows(update.update_id);
    expect(row).toMatchObject({ kind: "message", chat_id: "42", status: "queued", reason: null });
    expect(row?.payload).toEqual(update);
  });

  it("acknowledges a re-sent update as a duplicate: no second row, no second job, no token spent", async () => {
    const update = message(43, "hello");
    await ctx.platform.telegram.receive(tenantId, update);
    const before = queue.calls.length;
    const again = await ctx.platform.telegram.receive(tenantId, {
      ...update,
      message: { ...update.message },
    });
    expect(again.outcome).toBe("duplicate");
    expect(queue.calls.length).toBe(before);
    expect(await rows(update.update_id)).toHaveLength(1);
    const bucket = await withTenant(ctx.db, tenantId, (trx) =>
      trx.selectFrom("telegram_chat_limits").select("tokens").where("chat_id", "=", "43").executeTakeFirst(),
    );
    expect(bucket?.tokens).toBeCloseTo(9, 0); // burst 10, one spent
  });

  it("ignores on purpose, without a job: edits, channel posts, other members, unknown types, no text", async () => {
    const before = queue.calls.length;
    const chat = { id: -100500, type: "channel" };
    const cases: [TelegramUpdate, string][] = [
      [
        { update_id: nextUpdate++, edited_message: { message_id: 1, chat, text: "fixed typo" } },
        "edited_message",
      ],
      [{ update_id: nextUpdate++, channel_post: { message_id: 2, chat, text: "news" } }, "channel_post"],
      [
        {
          update_id: nextUpdate++,
          chat_member: {
            chat,
            from: { id: 1 },
            new_chat_member: { status: "member", user: { id: 2 } },
          },
        },
        "chat_member",
      ],
      [{ update_id: nextUpdate++, poll: { id: "p" } } as TelegramUpdate, "unknown"],
      [
        {
          update_id: nextUpdate++,
          message: { message_id: 3, chat: { id: 44, type: "private" }, sticker: {} },
        },
        "message",
      ],
    ];
    for (const [update, kind] of cases) {
      const receipt = await ctx.platform.telegram.receive(tenantId, update);
      expect(receipt, kind).toMatchObject({ outcome: "ignored", kind, reason: expect.any(String) });
      const [row] = await rows(update.update_id);
      expect(row, kind).toMatchObject({ status: "ignored", kind, payload: null });
    }
    expect(queue.calls.length).toBe(before);
    // set-webhook asks only for what is handled.
    expect(telegramAllowedUpdates).toEqual(["message", "callback_query", "my_chat_member"]);
  });

  it("limits each chat by its own bucket; over the limit: stored, not handled, one slow-down job per window", async () => {
    const limit = { perMinute: 1 / 60, burst: 3, slowDownWindowSeconds: 3600 };
    const outcomes: string[] = [];
    for (let i = 0; i < 8; i++)
      outcomes.push((await ctx.platform.telegram.receive(tenantId, message(45, `m${i}`), limit)).outcome);
    expect(outcomes).toEqual([
      "queued",
      "queued",
      "queued",
      "slow_down",
      "limited",
      "limited",
      "limited",
      "limited",
    ]);
    // Another chat is unaffected.
    expect((await ctx.platform.telegram.receive(tenantId, message(46, "other"), limit)).outcome).toBe(
      "queued",
    );
    const limited = await withTenant(ctx.db, tenantId, (trx) =>
      trx
        .selectFrom("telegram_updates")
        .select(["status", "reason", "payload"])
        .where("chat_id", "=", "45")
        .where("status", "in", ["limited", "slow_down"])
        .execute(),
    );
    expect(limited).toHaveLength(5);
    expect(limited.every((r) => r.reason === "rate_limited" && r.payload === null)).toBe(true);
  });

  it("commits nothing when the job cannot be enqueued, so Telegram's retry finds no duplicate", async () => {
    const update = message(47, "retry me");
    queue.failWith = new Error("queue down");
    await expect(ctx.platform.telegram.receive(tenantId, update)).rejects.toThrow("queue down");
    expect(await rows(update.update_id)).toHaveLength(0);
    expect((await ctx.platform.telegram.receive(tenantId, update)).outcome).toBe("queued");
  });

  it("refuses what is not a Telegram update with validation_failed naming the field", async () => {
    for (const [body, path] of [
      [{}, "update_id"],
      [{ update_id: "7" }, "update_id"],
      [{ update_id: 1.5 }, "update_id"],
      [{ update_id: -1 }, "update_id"],
      [{ update_id: 8, message: { message_id: 1, text: "no chat" } }, "message.chat"],
      [[1, 2], ""],
    ] as const) {
      const error = await ctx.platform.telegram.receive(tenantId, body).catch((e: unknown) => e);
      expect(CyberneticError.isInstance(error) && error.code, JSON.stringify(body)).toBe("validation_failed");
      expect((error as CyberneticError).details).toMatchObject({
        issues: expect.arrayContaining([expect.objectContaining({ path })]),
      });
    }
  });

  it("needs a job queue: without one an update is refused as unavailable and nothing is stored", async () => {
    const bare = createPlatform({ db: ctx.db });
    const update = message(48, "no queue");
    await expect(bare.telegram.receive(tenantId, update)).rejects.toMatchObject({ code: "unavailable" });
    expect(await rows(update.update_id)).toHaveLength(0);
  });

  it("finds a webhook's tenant by slug with its raw secret, and knows whether it has its own bot", async () => {
    const { tenant } = await seedTenant(ctx.platform, {
      settings: {
        telegram: {
          botToken: "123456789:AAabcdefghijklmnopqrstuvwxyz0123456",
          webhookSecret: "s3cret-webhook-token-0123456789",
        },
      },
    });
    expect(await ctx.platform.telegram.webhookTarget(tenant.slug)).toEqual({
      tenantId: tenant.id,
      slug: tenant.slug,
      active: true,
      webhookSecret: "s3cret-webhook-token-0123456789",
      ownBot: true,
    });
    // The API never shows them.
    expect((await ctx.platform.tenants.get(tenant.id)).settings).toEqual({
      telegram: { botToken: "[redacted]", webhookSecret: "[redacted]" },
    });
    await expect(ctx.platform.telegram.webhookTarget("no-such-tenant")).rejects.toMatchObject({
      code: "not_found",
    });
    await expect(
      ctx.platform.tenants.update(tenant.id, { settings: { telegram: { webhookSecret: "short" } } }),
    ).rejects.toMatchObject({ code: "validation_failed" });
  });

  it("classifies a callback query from an inline-mode message by the user's private chat", () => {
    expect(
      describeTelegramUpdate({
        update_id: 1,
        callback_query: { id: "q", from: { id: 99 }, data: "confirm:1" },
      }),
    ).toEqual({ kind: "callback_query", handled: true, chatId: 99 });
  });
});

describe("telegram send pacing", () => {
  const ctx = useTestPlatform();
  const reserve = async (keys: string[], intervals: number[], bursts: number[], maxWaitMs: number) => {
    const { rows } = await sql<{ wait: number }>`
      select cybernetic.telegram_reserve_send(${keys}::text[], ${intervals}::float8[], ${bursts}::int[], ${maxWaitMs}) as wait`.execute(
      ctx.db,
    );
    return Number(rows[0]?.wait);
  };

  it("spaces sends on one key by its interval, and lets a burst through at once", async () => {
    const hour = 3_600_000;
    expect(await reserve(["t:a"], [hour], [1], hour * 10)).toBe(0);
    const second = await reserve(["t:a"], [hour], [1], hour * 10);
    expect(second).toBeGreaterThan(hour - 60_000);
    expect(second).toBeLessThanOrEqual(hour);
    // A burst of 3: three at once, the fourth waits.
    const waits = [];
    for (let i = 0; i < 4; i++) waits.push(await reserve(["t:b"], [hour], [3], hour * 10));
    expect(waits.slice(0, 3)).toEqual([0, 0, 0]);
    expect(waits[3]).toBeGreaterThan(0);
  });

  it("reserves a time that satisfies every key, and nothing when the wait exceeds the caller's patience", async () => {
    const hour = 3_600_000;
    await reserve(["t:chat"], [hour], [1], hour); // the chat is busy for an hour
    // Bot free, chat busy: the send waits for the chat, and the bot's slot moves with it.
    const wait = await reserve(["t:bot", "t:chat"], [1000, hour], [1, 1], hour * 10);
    expect(wait).toBeGreaterThan(hour - 60_000);
    // Too long to wait: nothing is reserved, so the next caller with patience gets the same slot.
    const refused = await reserve(["t:chat"], [hour], [1], 1000);
    expect(refused).toBeGreaterThan(hour);
    const after = await reserve(["t:chat"], [hour], [1], hour * 10);
    expect(after).toBeCloseTo(refused, -4);
  });

  it("is the only way in: the runtime role cannot read or write the pacing table", async () => {
    await expect(sql`select * from cybernetic.telegram_send_pacing`.execute(ctx.db)).rejects.toMatchObject({
      code: "42501",
    });
    await expect(reserve([], [], [], 0)).rejects.toThrow(/1 to 10 keys/);
  });
});
