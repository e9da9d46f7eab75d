/**
 * `cybernetic telegram set-webhook | delete-webhook | webhook-info`: registers the gateway's webhook with
 * Telegram (with the secret token and the update types the platform handles), removes it, or shows what
 * Telegram knows about it. Without `--tenant` they act for the platform's bot (TELEGRAM_BOT_TOKEN,
 * TELEGRAM_WEBHOOK_SECRET); with it, for that tenant's own bot (`settings.telegram`, read from the
 * database). Tokens and secrets are never printed.
 */
import { telegramAllowedUpdates, telegramSettingsSchema, withTenant } from "@cybernetic/core";
import type { CyberneticConfig } from "../config.js";
import { type CliIo, UsageError } from "./cli-io.js";
import { workersModule } from "./integrations.js";
import { withCliPlatform } from "./with-cli-platform.js";

/** The bot a command acts for. */
interface Bot {
  token: string;
  /** The webhook's secret token (set-webhook needs it). */
  secret: string | undefined;
  /** The webhook path on the gateway. */
  path: string;
  /** How to name it in messages. */
  label: string;
}

/** The arguments of the telegram commands. */
export interface TelegramCommandArgs {
  action: "set-webhook" | "delete-webhook" | "webhook-info";
  url?: string;
  tenant?: string;
  dropPendingUpdates: boolean;
  maxConnections?: number;
  json: boolean;
}

async function botOf(config: CyberneticConfig, tenant: string | undefined): Promise<Bot> {
  if (tenant === undefined) {
    const token = config.telegram.botToken;
    if (!token)
      throw new UsageError("TELEGRAM_BOT_TOKEN is not set (or pass --tenant <slug> for a tenant's own bot)");
    return {
      token,
      secret: config.telegram.webhookSecret,
      path: "/telegram/webhook",
      label: `the platform's bot (tenant ${config.telegram.tenant})`,
    };
  }
  return withCliPlatform(config, async (platform) => {
    const tenantId = await platform.tenants.idBySlug(tenant);
    const settings = await withTenant(
      platform.db,
      tenantId,
      (trx) => trx.selectFrom("tenants").select("settings").where("id", "=", tenantId).executeTakeFirst(),
      { readOnly: true },
    );
    const parsed = telegramSettingsSchema.safeParse(settings?.settings.telegram ?? {});
    const own = parsed.success ? parsed.data : {};
    if (!own.botToken)
      throw new UsageError(
        `tenant ${tenant} has no bot of its own: set settings.telegram.botToken (PATCH /v1/tenants/:id), or leave out --tenant for the platform's bot`,
      );
    return {
      token: own.botToken,
      secret: own.webhookSecret,
      path: `/telegram/webhook/${tenant}`,
      label: `tenant ${tenant}'s bot`,
    };
  });
}

/**
 * The webhook URL: `--url` is the gateway's public base URL (`https://bot.example.com`), to which the
 * webhook's path is added; a URL that already ends in that path is taken as it is.
 */
export function webhookUrl(base: string, path: string): string {
  let url: URL;
  try {
    url = new URL(base);
  } catch {
    throw new UsageError(`--url must be a URL like https://bot.example.com (got ${JSON.stringify(base)})`);
  }
  if (url.protocol !== "https:" && url.protocol !== "http:")
    throw new UsageError("--url must be an https:// URL (Telegram calls only https webhooks)");
  if (url.search !== "" || url.hash !== "") throw new UsageError("--url must not have a query or fragment");
  const trimmed = url.pathname.replace(/\/+$/, "");
  url.pathname = trimmed.endsWith(path) ? trimmed : `${trimmed}${path}`;
  return url.toString();
}

/** Runs one of the telegram commands. */
export async function telegramCommand(
  config: CyberneticConfig,
  args: TelegramCommandArgs,
  io: CliIo,
): Promise<number> {
  if (args.action === "set-webhook" && !args.url)
    throw new UsageError("set-webhook needs --url <public url>");
  const bot = await botOf(config, args.tenant);
  const api = {
    token: bot.token,
    ...(config.telegram.apiBaseUrl ? { baseUrl: config.telegram.apiBaseUrl } : {}),
  };
  const call = workersModule.callTelegramBotApi;
  switch (args.action) {
    case "set-webhook": {
      if (!bot.secret)
        throw new UsageError(
          args.tenant === undefined
            ? "TELEGRAM_WEBHOOK_SECRET is not set: the webhook would be refused (generate one: openssl rand -hex 32)"
            : `tenant ${args.tenant} has no settings.telegram.webhookSecret: the webhook would be refused`,
        );
      const url = webhookUrl(args.url as string, bot.path);
      if (url.startsWith("http:"))
        io.err(
          "cybernetic: warning: Telegram accepts only https webhooks; http works against a local Bot API\n",
        );
      await call(api, "setWebhook", {
        url,
        secret_token: bot.secret,
        allowed_updates: telegramAllowedUpdates,
        drop_pending_updates: args.dropPendingUpdates,
        ...(args.maxConnections === undefined ? {} : { max_connections: args.maxConnections }),
      });
      if (args.json) io.out(`${JSON.stringify({ ok: true, url, allowedUpdates: telegramAllowedUpdates })}\n`);
      else
        io.out(
          `webhook of ${bot.label} set to ${url}\n  allowed updates: ${telegramAllowedUpdates.join(", ")}\n  secret token: sent (not shown)\n`,
        );
      return 0;
    }
    case "delete-webhook": {
      await call(api, "deleteWebhook", { drop_pending_updates: args.dropPendingUpdates });
      if (args.json) io.out(`${JSON.stringify({ ok: true })}\n`);
      else io.out(`webhook of ${bot.label} deleted\n`);
      return 0;
    }
    case "webhook-info": {
      const info = await call<Record<string, unknown>>(api, "getWebhookInfo", {});
      if (args.json) {
        io.out(`${JSON.stringify(info, null, 2)}\n`);
        return 0;
      }
      const lines = [`webhook of ${bot.label}:`, `  url: ${info.url || "(none)"}`];
      lines.push(`  pending updates: ${info.pending_update_count ?? 0}`);
      if (Array.isArray(info.allowed_updates))
        lines.push(`  allowed updates: ${info.allowed_updates.join(", ")}`);
      if (typeof info.max_connections === "number") lines.push(`  max connections: ${info.max_connections}`);
      if (typeof info.last_error_message === "string") {
        const when =
          typeof info.last_error_date === "number"
            ? new Date(info.last_error_date * 1000).toISOString()
            : "?";
        lines.push(`  last error: ${info.last_error_message} (${when})`);
      }
      io.out(`${lines.join("\n")}\n`);
      return 0;
    }
  }
}
