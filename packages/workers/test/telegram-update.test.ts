/**
 * `telegram.update` on real PostgreSQL and pg-boss, replying through a fake Telegram Bot API on loopback:
 * every command, reports as episodes, `/cmd@botname`, buttons, membership changes, each ignored kind,
 * duplicates, the slow-down reply, a failing update that does not block its chat, one chat's updates in
 * order and never at once across several workers (while other chats run in parallel), and outgoing
 * pacing shared by workers.
 */
import { randomUUID } from "node:crypto";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { seedTenant } from "../../../test/factories/index.ts";
import { until } from "../../../test/support/until.ts";
import { type TelegramUpdate, withTenant } from "../../core/src/index.ts";
import {
  builtInJobs,
  type CyberneticQueue,
  createJobQueue,
  PermanentJobError,
  startWorkers,
  type TelegramCommand,
  type WorkerDependencies,
  type WorkerRuntime,
} from "../src/index.ts";
import { type FakeTelegram, startFakeTelegram } from "./support/fake-servers.ts";
import { useQueuePlatform } from "./support/queue-platform.ts";

/** Pacing loose enough that replies in a test go out at once (pacing has its own tests below). */
const FAST = {
  bot: { perSecond: 1000, burst: 1000 },
  chat: { perSecond: 1000, burst: 1000 },
  group: { perSecond: 1000, burst: 1000 },
};

let nextUpdateId = 1;
let nextMessageId = 1;
const text = (chatId: number, body: string, from = { id: 7, username: "ada" }): TelegramUpdate => ({
  update_id: nextUpdateId++,
  message: {
    message_id: nextMessageId++,
    date: 1_700_000_000,
    chat: {
      id: chatId,
      type: chatId < 0 ? "supergroup" : "private",
      ...(chatId < 0 ? { title: "Ops" } : {}),
    },
    from: { ...from, is_bot: false, first_name: "Ada" },
    text: body,
  },
});

describe("telegram.update", () => {
  let queue: CyberneticQueue;
  const ctx = useQueuePlatform((q) => {
    queue = q;
  });
  let telegram: FakeTelegram;
  let tenantId: string;
  const runtimes: WorkerRuntime[] = [];
  const extraQueues: CyberneticQueue[] = [];

  beforeAll(async () => {
    telegram = await startFakeTelegram();
    tenantId = (await seedTenant(ctx.platform, { name: "Line Ops" })).tenant.id;
  });
  afterEach(async () => {
    for (const runtime of runtimes.splice(0)) await runtime.stop({ timeoutMs: 5_000 });
    for (const q of extraQueues.splice(0)) await q.stop({ graceful: false });
  });
  afterAll(() => telegram.close());

  const deps = (extra: WorkerDependencies = {}): WorkerDependencies => ({
    telegram: { token: telegram.token, baseUrl: telegram.baseUrl },
    telegramPacing: FAST,
    ...extra,
  });
  const start = async (extra: WorkerDependencies = {}, on: CyberneticQueue = queue) => {
    const runtime = await startWorkers({
      platform: ctx.platform,
      queue: on,
      jobs: builtInJobs(),
      only: ["telegram.update", "notification.send"],
      concurrency: 4,
      pollIntervalSeconds: 1,
      deps: deps(extra),
    });
    runtimes.push(runtime);
    return runtime;
  };
  /** The per-chat limit out of the way (it has its own test). */
  const UNLIMITED = { perMinute: 100_000, burst: 100_000 };
  const receive = (update: TelegramUpdate, tenant = tenantId) =>
    ctx.platform.telegram.receive(tenant, update, UNLIMITED);
  const updateRow = (updateId: number) =>
    withTenant(ctx.db, tenantId, (trx) =>
      trx
        .selectFrom("telegram_updates")
        .selectAll()
        .where("update_id", "=", String(updateId))
        .executeTakeFirst(),
    );
  const settled = (updateId: number) =>
    until(async () => {
      const row = await updateRow(updateId);
      return row && !["queued", "slow_down"].includes(row.status) ? row : undefined;
    }, `update ${updateId} to be handled`);
  const repliesIn = (chatId: number, count: number) =>
    until(() => {
      const messages = telegram.messagesTo(chatId);
      return messages.length >= count ? messages : undefined;
    }, `${count} replies in chat ${chatId}`);
  const events = (type: string) =>
    withTenant(ctx.db, tenantId, (trx) =>
      trx.selectFrom("events").select("data").where("type", "=", type).orderBy("seq").execute(),
    ).then((rows) => rows.map((r) => r.data));

  it("records plain text as an episode (source telegram, id <chat>:<message>) and replies to it", async () => {
    await start();
    const update = text(
      1001,
      "Line 3 stopped twice tonight\nMaintenance restarted it; customers are waiting.",
    );
    expect((await receive(update)).outcome).toBe("queued");
    const row = await settled(update.update_id);
    expect(row).toMatchObject({ status: "processed", payload: null, attempts: 1, error: null });
    const { items } = await ctx.platform.episodes.list(tenantId, { tag: "telegram" });
    const episode = items.find((e) => e.sourceId === `1001:${update.message?.message_id}`);
    expect(episode).toMatchObject({
      source: "telegram",
      title: "Line 3 stopped twice tonight",
      content: "Line 3 stopped twice tonight\nMaintenance restarted it; customers are waiting.",
      tags: ["telegram"],
    });
    const [reply] = await repliesIn(1001, 1);
    expect(reply).toBe(
      `Recorded as episode ${episode?.id.slice(0, 8)}: "Line 3 stopped twice tonight". S4 is analysing it.`,
    );
    expect(telegram.messages.find((m) => m.chatId === "1001")?.replyToMessageId).toBe(
      update.message?.message_id,
    );
    expect(await events("telegram.message")).toContainEqual({
      updateId: update.update_id,
      chatId: 1001,
      chatType: "private",
      messageId: update.message?.message_id,
      from: { id: 7, username: "ada" },
      text: update.message?.text,
      episodeId: episode?.id,
    });
  });

  it("answers every command, addressed or not, and explains an unknown one", async () => {
    await start();
    await ctx.platform.systems.update(tenantId, 1, { state: { line3: "stopped" }, version: 1 });
    await ctx.platform.policies.create(tenantId, {
      name: "High risk to ops",
      rules: {
        on: ["episode.analyzed"],
        then: [{ type: "notify", channel: "event", to: "ops", template: "x" }],
      },
    });
    const chat = -100777;
    const sent = [
      "/start",
      `/help@${telegram.username}`,
      "/status",
      "/episodes",
      "/policies",
      "/report Conveyor belt torn at station 4",
      "/report",
      "/frobnicate now",
      "/status@some_other_bot",
    ].map((body) => text(chat, body));
    for (const update of sent) await receive(update);
    for (const update of sent) await settled(update.update_id);
    await repliesIn(chat, 8);
    // Each reply answers its command (replies are sent by concurrent jobs, so match them by that).
    const replies = sent.map(
      (update) => telegram.messages.find((m) => m.replyToMessageId === update.message?.message_id)?.text,
    );
    expect(replies[8]).toBeUndefined(); // the command addressed to another bot gets none
    expect(replies[0]).toMatch(/^Hello! Tell me what happens/);
    expect(replies[0]).toContain("I take reports for Line Ops. Commands:");
    expect(replies[1]).toMatch(/^I take reports for Line Ops/);
    expect(replies[1]).toContain("/report <text>: record what happened");
    expect(replies[2]).toContain("S1 operations (v2, ");
    expect(replies[2]).toContain('{"line3":"stopped"}');
    expect(replies[2]).toContain("S5 policy (v1, ");
    expect(replies[2]).toContain("no state recorded yet");
    expect(replies[3]).toMatch(/^The latest episodes:\n• /);
    expect(replies[4]).toBe("Active policies:\n• High risk to ops (on episode.analyzed)");
    expect(replies[5]).toMatch(/^Recorded as episode [0-9a-f]{8}: "Conveyor belt torn at station 4"/);
    expect(replies[6]).toBe("Usage: /report <what happened>");
    expect(replies[7]).toBe("I don't know /frobnicate. Try /help.");
    const commands = (await events("telegram.command")).filter((d) => d.chatId === chat);
    expect(commands.map((d) => [d.command, d.known])).toEqual([
      ["start", true],
      ["help", true],
      ["status", true],
      ["episodes", true],
      ["policies", true],
      ["report", true],
      ["report", true],
      ["frobnicate", false],
    ]);
    expect(commands[5]).toMatchObject({
      args: "Conveyor belt torn at station 4",
      episodeId: expect.any(String),
    });
    expect(await updateRow(sent[8]?.update_id as number)).toMatchObject({ status: "processed" });
  });

  it("answers confirm:<id> and cancel:<id> buttons, publishes them, and answers an unknown one too", async () => {
    await start();
    const before = telegram.requests.length;
    const press = (data: string): TelegramUpdate => ({
      update_id: nextUpdateId++,
      callback_query: {
        id: `q-${data}`,
        from: { id: 7, username: "ada" },
        message: { message_id: 55, chat: { id: 1002, type: "private" } },
        data,
      },
    });
    const updates = [press("confirm:42"), press("cancel:42"), press("launch:rockets")];
    for (const update of updates) await receive(update);
    for (const update of updates) await settled(update.update_id);
    const answers = await until(() => {
      const found = telegram.requests.slice(before).filter((r) => r.method === "answerCallbackQuery");
      return found.length >= 3 ? found : undefined;
    }, "three callback answers");
    expect(answers.map((a) => a.params)).toEqual([
      { callback_query_id: "q-confirm:42", text: "Confirmed." },
      { callback_query_id: "q-cancel:42", text: "Cancelled." },
      { callback_query_id: "q-launch:rockets", text: "Unknown action." },
    ]);
    const buttons = (await events("telegram.command")).filter((d) => d.source === "callback_query");
    expect(buttons.map((d) => [d.command, d.args, d.known, d.messageId])).toEqual([
      ["confirm", "42", true, 55],
      ["cancel", "42", true, 55],
      ["unknown", "launch:rockets", false, 55],
    ]);
  });

  it("records the bot's own membership changes in the chat's row", async () => {
    await start();
    const member = (status: string): TelegramUpdate => ({
      update_id: nextUpdateId++,
      my_chat_member: {
        chat: { id: -100900, type: "supergroup", title: "Night shift" },
        from: { id: 7 },
        date: 1_700_000_000,
        old_chat_member: { status: "left" },
        new_chat_member: { status, user: { id: 123456789, is_bot: true } },
      },
    });
    const added = member("administrator");
    await receive(added);
    await settled(added.update_id);
    const chat = () =>
      withTenant(ctx.db, tenantId, (trx) =>
        trx
          .selectFrom("telegram_chats")
          .selectAll()
          .where("chat_id", "=", "-100900")
          .executeTakeFirstOrThrow(),
      );
    expect(await chat()).toMatchObject({
      bot_status: "administrator",
      type: "supergroup",
      title: "Night shift",
    });
    const kicked = member("kicked");
    await receive(kicked);
    await settled(kicked.update_id);
    expect(await chat()).toMatchObject({ bot_status: "kicked", last_update_id: String(kicked.update_id) });
    expect(telegram.messagesTo(-100900)).toEqual([]);
  });

  it("handles a re-sent update once: one episode, one reply", async () => {
    await start();
    const update = text(1003, "Forklift battery overheated");
    await receive(update);
    expect((await receive(structuredClone(update))).outcome).toBe("duplicate");
    await settled(update.update_id);
    await repliesIn(1003, 1);
    const { items } = await ctx.platform.episodes.list(tenantId, { tag: "telegram", limit: 100 });
    expect(items.filter((e) => e.sourceId === `1003:${update.message?.message_id}`)).toHaveLength(1);
    // A second job for the same update (pg-boss retrying, say) changes nothing either.
    await queue.send("telegram.update", { tenantId, updateId: update.update_id }, { singletonKey: "again" });
    const again = await until(async () => {
      const jobs = await queue.boss.findJobs("telegram.update", { key: "again" });
      return jobs[0]?.state === "completed" ? jobs[0] : undefined;
    }, "the repeated job");
    expect(again.output).toEqual({ status: "done", update: "processed" });
    expect(telegram.messagesTo(1003)).toHaveLength(1);
  });

  it("sends a chat over its limit one slow-down reply per window, and handles none of its extra updates", async () => {
    await start();
    const limit = { perMinute: 1 / 60, burst: 2, slowDownWindowSeconds: 3600 };
    const burst = Array.from({ length: 6 }, (_, i) => text(1004, `report ${i}`));
    const outcomes = [];
    for (const update of burst)
      outcomes.push((await ctx.platform.telegram.receive(tenantId, update, limit)).outcome);
    expect(outcomes).toEqual(["queued", "queued", "slow_down", "limited", "limited", "limited"]);
    for (const update of burst.slice(0, 3)) await settled(update.update_id);
    const replies = await repliesIn(1004, 3);
    expect(replies.filter((r) => r.includes("slow down"))).toEqual([
      "You are sending messages faster than I can take them, so I skipped some. Please slow down a little.",
    ]);
    expect(replies.filter((r) => r.startsWith("Recorded as episode"))).toHaveLength(2);
    expect((await updateRow(burst[2]?.update_id as number))?.status).toBe("limited");
  });

  it("marks an update that fails for good as failed, and the chat's next update still runs", async () => {
    const broken: TelegramCommand = {
      description: "always fails",
      async run() {
        throw new PermanentJobError("the printer is on fire");
      },
    };
    await start({ telegramCommands: { broken } });
    const bad = text(1005, "/broken");
    const good = text(1005, "Printer on fire");
    await receive(bad);
    await receive(good);
    expect(await settled(bad.update_id)).toMatchObject({ status: "failed", error: "the printer is on fire" });
    expect(await settled(good.update_id)).toMatchObject({ status: "processed" });
    const replies = await repliesIn(1005, 1);
    expect(replies[0]).toMatch(/^Recorded as episode/);
    // The failed update's effects were rolled back: no event of it.
    expect((await events("telegram.command")).filter((d) => d.updateId === bad.update_id)).toEqual([]);
  });

  it("runs one chat's updates in update_id order and never two at once, across several workers", async () => {
    // Three workers, each with its own pg-boss instance (they compete for jobs as separate processes do).
    const observed = new Map<number, number[]>();
    const running = new Map<number, number>();
    let maxOverlap = 0;
    const step: TelegramCommand = {
      description: "test: record the order",
      async run({ chat, args }) {
        const now = (running.get(chat.id) ?? 0) + 1;
        running.set(chat.id, now);
        maxOverlap = Math.max(maxOverlap, now);
        // Yield for a while so that, were two of a chat's updates running, they would overlap here.
        await new Promise((resolve) => setTimeout(resolve, Math.random() * 15));
        observed.set(chat.id, [...(observed.get(chat.id) ?? []), Number(args)]);
        running.set(chat.id, (running.get(chat.id) ?? 1) - 1);
      },
    };
    for (let i = 0; i < 3; i++) {
      const q = createJobQueue({
        connectionString: ctx.database.appUrl,
        poolSize: 3,
        maintenanceIntervalSeconds: 2,
      });
      await q.start();
      extraQueues.push(q);
      await start({ telegramCommands: { step } }, q);
    }
    const chats = [2001, 2002, 2003, 2004];
    const sent = new Map<number, number[]>();
    const all: TelegramUpdate[] = [];
    for (let n = 0; n < 12; n++) {
      for (const chat of chats) {
        const update = text(chat, `/step ${n}`);
        all.push(update);
        sent.set(chat, [...(sent.get(chat) ?? []), n]);
        await receive(update);
      }
    }
    for (const update of all) await settled(update.update_id);
    expect(maxOverlap).toBe(1);
    for (const chat of chats) expect(observed.get(chat), `chat ${chat}`).toEqual(sent.get(chat));
  });

  it("keeps the order even when two jobs of one chat run at once, and lets other chats run alongside", async () => {
    // Jobs sent past the per-chat queue key (as an expired job still running would be), so pg-boss runs
    // them side by side; the chat's row lock still admits one at a time. Chat 3001's first update waits
    // until chat 3002's update has run: it can only finish because another chat runs in parallel.
    let released: () => void = () => {};
    const release = new Promise<void>((resolve) => {
      released = resolve;
    });
    const order: string[] = [];
    let inside = 0;
    let overlap = 0;
    const hold: TelegramCommand = {
      description: "test: wait for the other chat",
      async run({ args }) {
        inside++;
        overlap = Math.max(overlap, inside);
        if (args === "first") await release;
        order.push(args);
        inside--;
      },
    };
    const free: TelegramCommand = {
      description: "test: release the first chat",
      async run() {
        released();
      },
    };
    await start({ telegramCommands: { hold, free } });
    const first = text(3001, "/hold first");
    const second = text(3001, "/hold second");
    const other = text(3002, "/free");
    // Stored as the webhook stores them, but each with a job of its own key.
    for (const update of [first, second]) {
      await receive(update);
    }
    for (const update of [first, second]) {
      await queue.send(
        "telegram.update",
        { tenantId, updateId: update.update_id },
        { singletonKey: randomUUID() },
      );
    }
    await receive(other);
    await settled(second.update_id);
    expect(order).toEqual(["first", "second"]);
    expect(overlap).toBe(1);
    expect((await updateRow(other.update_id))?.status).toBe("processed");
  });

  it("paces replies to one chat across workers: a send past its slot waits as a continuation, nothing is lost", async () => {
    const slow = { ...FAST, chat: { perSecond: 1 / 3600, burst: 1 } };
    const q = createJobQueue({ connectionString: ctx.database.appUrl, poolSize: 3 });
    await q.start();
    extraQueues.push(q);
    await start({ telegramPacing: slow });
    await start({ telegramPacing: slow }, q);
    const before = telegram.messages.length;
    const chat = 4001;
    await receive(text(chat, "first report"));
    await receive(text(chat, "second report"));
    await repliesIn(chat, 1);
    // The second reply's slot is an hour away: it is kept as a job starting then, not sent, not failed.
    const paced = await until(async () => {
      const jobs = await queue.boss.findJobs("notification.send", { data: { paced: true } });
      return jobs.length > 0 ? jobs : undefined;
    }, "a paced continuation");
    expect(paced).toHaveLength(1);
    expect(paced[0]?.startAfter.getTime()).toBeGreaterThan(Date.now() + 3_000_000);
    expect(telegram.messages.length - before).toBe(1);
    const notifications = await withTenant(ctx.db, tenantId, (trx) =>
      trx
        .selectFrom("notifications")
        .select(["status", "attempts"])
        .where("target", "=", String(chat))
        .execute(),
    );
    expect(notifications.map((n) => n.status).sort()).toEqual(["pending", "sent"]);
    await queue.boss.deleteJob("notification.send", paced[0]?.id as string);
  });
});
