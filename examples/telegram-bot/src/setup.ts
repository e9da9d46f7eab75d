/**
 * Sets up a tenant as a Telegram bot, through the gateway's API (`@cybernetic/client`):
 * - the tenant (created when its slug is new),
 * - its settings: the chat that gets algedonic alerts and, for a bot of its own, the bot's token and
 *   webhook secret (write-only: the API never shows them again),
 * - a policy: "when an episode is analysed with risk high (or critical), notify this chat".
 *
 * Run it with the environment of README.md (`pnpm --filter @cybernetic/example-telegram-bot setup`);
 * the platform's tests call `setUpTelegramBot` too, so this file cannot rot.
 */
import { fileURLToPath } from "node:url";
import { CyberneticApiError, createClient } from "@cybernetic/client";

/** What `setUpTelegramBot` needs. */
export interface TelegramBotSetup {
  /** The gateway, e.g. `http://127.0.0.1:8080`. */
  gatewayUrl: string;
  /** `CYBERNETIC_ADMIN_KEY` (or `adminKey` in `.cybernetic/secrets.json` with the embedded default). */
  adminKey: string;
  /** The tenant the bot reports to; with the platform's bot, the same as `TELEGRAM_TENANT`. */
  slug: string;
  /** Its display name when it is created. */
  name?: string;
  /** The chat that receives high-risk alerts (a group's id is negative: `-100…`). */
  alertChatId: string;
  /** A bot of the tenant's own (from @BotFather); without it, the platform's `TELEGRAM_BOT_TOKEN` answers. */
  botToken?: string;
  /** The tenant bot's webhook secret (16-256 of `A-Za-z0-9_-`); required with `botToken`. */
  webhookSecret?: string;
  fetch?: typeof fetch;
}

/** What `setUpTelegramBot` did. */
export interface TelegramBotSetupResult {
  tenantId: string;
  /** A new API key of the tenant (shown once), for the REST API and the event stream. */
  apiKey: string;
  /** The policy that alerts the chat. */
  policyId: string;
  /** The gateway path Telegram must call (`cybernetic telegram set-webhook` adds it to your URL). */
  webhookPath: string;
}

/** The policy this example installs. */
export const ALERT_POLICY_NAME = "High risk to the Telegram chat";

/**
 * Creates or updates the tenant, its Telegram settings and the alert policy. Safe to run again: an
 * existing tenant is updated and an existing policy of the same name is replaced.
 *
 * @example
 * ```ts
 * await setUpTelegramBot({ gatewayUrl: "http://127.0.0.1:8080", adminKey, slug: "default", alertChatId: "1001" });
 * ```
 */
export async function setUpTelegramBot(setup: TelegramBotSetup): Promise<TelegramBotSetupResult> {
  if ((setup.botToken === undefined) !== (setup.webhookSecret === undefined))
    throw new Error("a tenant's own bot needs both botToken and webhookSecret");
  const admin = createClient({
    baseUrl: setup.gatewayUrl,
    apiKey: setup.adminKey,
    ...(setup.fetch ? { fetch: setup.fetch } : {}),
  });

  let tenantId: string | undefined;
  for (let cursor: string | undefined; tenantId === undefined; ) {
    const page = await admin.tenants.list({ limit: 100, ...(cursor ? { cursor } : {}) });
    tenantId = page.items.find((t) => t.slug === setup.slug)?.id;
    if (!page.nextCursor) break;
    cursor = page.nextCursor;
  }
  if (tenantId === undefined) {
    const created = await admin.tenants.create({ name: setup.name ?? setup.slug, slug: setup.slug });
    tenantId = created.tenant.id;
  }
  await admin.tenants.update(tenantId, {
    settings: {
      alerts: [{ channel: "telegram", to: setup.alertChatId }],
      ...(setup.botToken && setup.webhookSecret
        ? { telegram: { botToken: setup.botToken, webhookSecret: setup.webhookSecret } }
        : {}),
    },
  });
  const { key } = await admin.tenants.createApiKey(tenantId, { name: "telegram-bot example" });

  const tenant = createClient({
    baseUrl: setup.gatewayUrl,
    apiKey: key,
    ...(setup.fetch ? { fetch: setup.fetch } : {}),
  });
  const existing = (await tenant.policies.list({ limit: 100 })).items.find(
    (p) => p.name === ALERT_POLICY_NAME,
  );
  if (existing) await tenant.policies.delete(existing.id);
  const policy = await tenant.policies.create({
    name: ALERT_POLICY_NAME,
    description: "S5: a report S4 finds risky comes back to the chat at once.",
    rules: {
      on: ["episode.analyzed"],
      if: { in: [{ var: "event.data.risk" }, ["high", "critical"]] },
      then: [
        {
          type: "notify",
          channel: "telegram",
          to: setup.alertChatId,
          template: "⚠️ Risk {{event.data.risk}}: {{episode.title}}\n{{episode.analysis.summary}}",
        },
      ],
    },
    priority: 500,
  });
  return {
    tenantId,
    apiKey: key,
    policyId: policy.id,
    webhookPath: setup.botToken ? `/telegram/webhook/${setup.slug}` : "/telegram/webhook",
  };
}

async function main(): Promise<void> {
  const env = process.env;
  const adminKey = env.CYBERNETIC_ADMIN_KEY;
  const alertChatId = env.ALERT_CHAT_ID;
  if (!adminKey || !alertChatId) {
    process.stderr.write(
      "set CYBERNETIC_ADMIN_KEY and ALERT_CHAT_ID (see examples/telegram-bot/README.md)\n",
    );
    process.exit(2);
  }
  const slug = env.BOT_TENANT ?? "default";
  try {
    const result = await setUpTelegramBot({
      gatewayUrl: env.CYBERNETIC_URL ?? "http://127.0.0.1:8080",
      adminKey,
      slug,
      alertChatId,
      ...(env.TENANT_BOT_TOKEN ? { botToken: env.TENANT_BOT_TOKEN } : {}),
      ...(env.TENANT_WEBHOOK_SECRET ? { webhookSecret: env.TENANT_WEBHOOK_SECRET } : {}),
    });
    process.stdout.write(
      [
        `tenant ${slug} (${result.tenantId}) is ready: alerts and the policy "${ALERT_POLICY_NAME}" go to chat ${alertChatId}`,
        `API key (shown once): ${result.apiKey}`,
        "next: register the webhook with Telegram (same environment as the gateway):",
        `  pnpm cybernetic telegram set-webhook --url <public URL of the gateway>${env.TENANT_BOT_TOKEN ? ` --tenant ${slug}` : ""}`,
        "",
      ].join("\n"),
    );
  } catch (error) {
    const detail = CyberneticApiError.isInstance(error) ? ` (${error.status} ${error.code})` : "";
    process.stderr.write(`setup failed${detail}: ${(error as Error).message}\n`);
    process.exit(1);
  }
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) await main();
