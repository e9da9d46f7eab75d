/**
 * The whole bot, with real parts only: the gateway on loopback, pg-boss workers on the test database,
 * the CLI's `telegram` commands, examples/telegram-bot's own set-up, and fake Telegram Bot APIs that
 * deliver updates to the webhook the way Telegram does. A chat message becomes an episode, S4 analyses
 * it, an S5 policy fires, and the alert arrives in the same chat; a tenant's own bot answers through
 * itself, never through the platform's.
 */
import { randomBytes } from "node:crypto";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type FakeBotApi, startFakeBotApi } from "../../../examples/telegram-bot/src/fake-bot-api.ts";
import { ALERT_POLICY_NAME, setUpTelegramBot } from "../../../examples/telegram-bot/src/setup.ts";
import { until } from "../../../test/support/until.ts";
import { createEventBus, type EventBus, withTenant } from "../../core/src/index.ts";
import {
  builtInJobs,
  type CyberneticQueue,
  createHeuristicAnalyzer,
  startWorkers,
  type WorkerRuntime,
} from "../../workers/src/index.ts";
import { useQueuePlatform } from "../../workers/test/support/queue-platform.ts";
import { runCli } from "../src/cli/run-cli.ts";
import { createGateway, type ServedGateway } from "../src/index.ts";

const ADMIN_KEY = `admin-${randomBytes(24).toString("base64url")}`;
const PLATFORM_SECRET = randomBytes(24).toString("hex");
const SLUG = "ops";
const CHAT = 5001;

describe("the Telegram bot, end to end", () => {
  let queue: CyberneticQueue;
  const ctx = useQueuePlatform((q) => {
    queue = q;
  });
  let platformBot: FakeBotApi;
  let tenantBot: FakeBotApi;
  let server: ServedGateway;
  let bus: EventBus;
  let workers: WorkerRuntime;
  let tenantId: string;

  /** Runs the real CLI in this process, with only the environment given. */
  const cli = async (args: string[], env: Record<string, string>) => {
    let out = "";
    let err = "";
    const code = await runCli(args, {
      env: { LOG_LEVEL: "warn", CYBERNETIC_DATA_DIR: "/nonexistent-cybernetic-test", ...env },
      out: (text) => {
        out += text;
      },
      err: (text) => {
        err += text;
      },
    });
    return { code, out, err };
  };
  const platformEnv = () => ({
    TELEGRAM_BOT_TOKEN: platformBot.token,
    TELEGRAM_WEBHOOK_SECRET: PLATFORM_SECRET,
    TELEGRAM_API_BASE_URL: platformBot.baseUrl,
    TELEGRAM_TENANT: SLUG,
  });

  beforeAll(async () => {
    platformBot = await startFakeBotApi();
    tenantBot = await startFakeBotApi({
      token: "222333444:TENANT_own_bot_token_abcdefghijklmnop",
      username: "acme_reports_bot",
    });
    bus = createEventBus({ db: ctx.db, listenUrl: ctx.database.appUrl, pollIntervalMs: 500 });
    await bus.start();
    const gateway = createGateway({
      platform: ctx.platform,
      queue,
      bus,
      config: { adminKey: ADMIN_KEY, telegram: { tenant: SLUG, webhookSecret: PLATFORM_SECRET } },
      logger: pino({ level: "silent" }),
    });
    server = await gateway.serve({ port: 0, host: "127.0.0.1" });
    workers = await startWorkers({
      platform: ctx.platform,
      queue,
      jobs: builtInJobs(),
      bus,
      dispatchIntervalMs: 500,
      pollIntervalSeconds: 1,
      deps: {
        analyzer: createHeuristicAnalyzer(),
        telegram: { token: platformBot.token, baseUrl: platformBot.baseUrl },
        // Tenants' own bots live behind the second fake.
        telegramApi: { baseUrl: tenantBot.baseUrl },
      },
    });
  });
  afterAll(async () => {
    await workers?.stop({ timeoutMs: 5_000 });
    await server?.close({ timeoutMs: 1_000 });
    await bus?.stop();
    await platformBot?.close();
    await tenantBot?.close();
  });

  it("sets up the example's tenant and policy, and registers the webhook with the CLI", async () => {
    const setup = await setUpTelegramBot({
      gatewayUrl: server.url,
      adminKey: ADMIN_KEY,
      slug: SLUG,
      name: "Line Ops",
      alertChatId: String(CHAT),
    });
    tenantId = setup.tenantId;
    expect(setup.webhookPath).toBe("/telegram/webhook");
    // Running it again changes nothing but the key it issues.
    const again = await setUpTelegramBot({
      gatewayUrl: server.url,
      adminKey: ADMIN_KEY,
      slug: SLUG,
      alertChatId: String(CHAT),
    });
    expect(again.tenantId).toBe(tenantId);
    expect(
      (await ctx.platform.policies.list(tenantId)).items.filter((p) => p.name === ALERT_POLICY_NAME),
    ).toHaveLength(1);

    const set = await cli(["telegram", "set-webhook", "--url", server.url], platformEnv());
    expect(set).toMatchObject({ code: 0, err: expect.stringContaining("only https") });
    expect(set.out).toContain(`set to ${server.url}/telegram/webhook`);
    expect(set.out).not.toContain(PLATFORM_SECRET);
    expect(platformBot.webhook).toEqual({
      url: `${server.url}/telegram/webhook`,
      secretToken: PLATFORM_SECRET,
      allowedUpdates: ["message", "callback_query", "my_chat_member"],
      maxConnections: undefined,
    });
    const info = await cli(["telegram", "webhook-info"], platformEnv());
    expect(info.code).toBe(0);
    expect(info.out).toContain(`url: ${server.url}/telegram/webhook`);
    expect(info.out).toContain("allowed updates: message, callback_query, my_chat_member");
  });

  it("turns a chat message into an episode, analyses it, fires the policy and alerts the same chat", async () => {
    const delivered = await platformBot.sendText(
      CHAT,
      "Checkout outage: the payment service is down and customers cannot pay.",
    );
    expect(delivered.status).toBe(200);
    const episode = await until(async () => {
      const { items } = await ctx.platform.episodes.list(tenantId, { tag: "telegram" });
      const found = items[0];
      return found?.status === "complete" ? found : undefined;
    }, "the report to be analysed");
    const sent = platformBot.delivered.at(-1) as { message: { message_id: number } };
    expect(episode).toMatchObject({
      source: "telegram",
      sourceId: `${CHAT}:${sent.message.message_id}`,
      title: "Checkout outage: the payment service is down and customers cannot pay.",
    });
    const risk = (episode.analysis as { risk: { level: string } }).risk.level;
    expect(["high", "critical"]).toContain(risk);
    const messages = await until(() => {
      const texts = platformBot.messagesTo(CHAT);
      return texts.some((t) => t.startsWith("⚠️ Risk")) ? texts : undefined;
    }, "the policy's alert in the chat");
    expect(messages[0]).toMatch(/^Recorded as episode [0-9a-f]{8}: "Checkout outage/);
    expect(messages).toContainEqual(expect.stringMatching(new RegExp(`^⚠️ Risk ${risk}: Checkout outage`)));
    // The policy fired once, for this episode.
    const fired = await withTenant(ctx.db, tenantId, (trx) =>
      trx.selectFrom("events").select("data").where("type", "=", "policy.triggered").execute(),
    );
    expect(fired).toHaveLength(1);
  });

  it("answers the commands in the chat, and a button press, through the platform's bot", async () => {
    const before = platformBot.messages.length;
    await platformBot.sendText(CHAT, "/episodes");
    await platformBot.sendText(CHAT, `/policies@${platformBot.username}`);
    await platformBot.pressButton(CHAT, "confirm:incident-7");
    const replies = await until(() => {
      const fresh = platformBot.messages.slice(before).map((m) => m.text);
      return fresh.length >= 2 ? fresh : undefined;
    }, "two replies");
    expect(replies).toContainEqual(expect.stringMatching(/^The latest episodes:\n• Checkout outage/));
    expect(replies).toContainEqual(`Active policies:\n• ${ALERT_POLICY_NAME} (on episode.analyzed)`);
    await until(
      () =>
        platformBot.requests.find(
          (r) => r.method === "answerCallbackQuery" && r.params.text === "Confirmed.",
        ),
      "the button to be answered",
    );
  });

  it("serves a tenant's own bot on its own webhook, and answers through that bot only", async () => {
    const secret = randomBytes(24)
      .toString("base64url")
      .replace(/[^A-Za-z0-9_-]/g, "x");
    const acme = await setUpTelegramBot({
      gatewayUrl: server.url,
      adminKey: ADMIN_KEY,
      slug: "acme",
      alertChatId: "-1009001",
      botToken: tenantBot.token,
      webhookSecret: secret,
    });
    expect(acme.webhookPath).toBe("/telegram/webhook/acme");
    const env = {
      ...ctx.database.env,
      TELEGRAM_API_BASE_URL: tenantBot.baseUrl,
    };
    const set = await cli(
      ["telegram", "set-webhook", "--url", `${server.url}/`, "--tenant", "acme", "--json"],
      env,
    );
    expect(set.code).toBe(0);
    expect(JSON.parse(set.out)).toEqual({
      ok: true,
      url: `${server.url}/telegram/webhook/acme`,
      allowedUpdates: ["message", "callback_query", "my_chat_member"],
    });
    expect(tenantBot.webhook?.secretToken).toBe(secret);
    const platformBefore = platformBot.messages.length;
    await tenantBot.sendText(-1009001, "/status@acme_reports_bot", { chatType: "supergroup" });
    const [status] = await until(() => {
      const texts = tenantBot.messagesTo(-1009001);
      return texts.length > 0 ? texts : undefined;
    }, "the tenant bot's answer");
    expect(status).toMatch(/^The five systems now:\nS1 operations \(v1, /);
    expect(platformBot.messages.length).toBe(platformBefore);
    // The platform's bot cannot post into acme's webhook: its secret is not acme's.
    const wrong = await fetch(`${server.url}/telegram/webhook/acme`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-telegram-bot-api-secret-token": PLATFORM_SECRET },
      body: JSON.stringify({
        update_id: 1,
        message: { message_id: 1, chat: { id: 1, type: "private" }, text: "hi" },
      }),
    });
    expect(wrong.status).toBe(401);

    const removed = await cli(["telegram", "delete-webhook", "--tenant", "acme"], env);
    expect(removed).toMatchObject({ code: 0, out: "webhook of tenant acme's bot deleted\n" });
    expect(tenantBot.webhook).toBeUndefined();
  });

  it("refuses CLI use that cannot work, with exit code 2 and what to do", async () => {
    expect(await cli(["telegram", "set-webhook"], platformEnv())).toMatchObject({
      code: 2,
      err: expect.stringContaining("set-webhook needs --url"),
    });
    expect(
      await cli(["telegram", "set-webhook", "--url", server.url], {
        TELEGRAM_API_BASE_URL: platformBot.baseUrl,
      }),
    ).toMatchObject({
      code: 2,
      err: expect.stringContaining("TELEGRAM_BOT_TOKEN is not set"),
    });
    const noSecret = { ...platformEnv(), TELEGRAM_WEBHOOK_SECRET: "" };
    expect(await cli(["telegram", "set-webhook", "--url", server.url], noSecret)).toMatchObject({
      code: 2,
      err: expect.stringContaining("TELEGRAM_WEBHOOK_SECRET is not set"),
    });
    expect(await cli(["telegram", "set-webhook", "--url", "ftp://x"], platformEnv())).toMatchObject({
      code: 2,
    });
    expect(await cli(["telegram", "rename"], platformEnv())).toMatchObject({ code: 2 });
    expect(
      await cli(["telegram", "set-webhook", "--url", server.url, "--tenant", SLUG], {
        ...ctx.database.env,
        TELEGRAM_API_BASE_URL: platformBot.baseUrl,
      }),
    ).toMatchObject({ code: 2, err: expect.stringContaining("has no bot of its own") });
    // Telegram's refusal is a failure (exit 1) quoting Telegram, never the token.
    platformBot.failNext(
      400,
      "Bad Request: bad webhook: HTTPS url must be provided for webhook",
      "setWebhook",
    );
    const refused = await cli(["telegram", "set-webhook", "--url", server.url], platformEnv());
    expect(refused.code).toBe(1);
    expect(refused.err).toContain("HTTPS url must be provided");
    expect(refused.err).not.toContain(platformBot.token);
  });
});
