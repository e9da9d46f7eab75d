import {
  CyberneticError,
  slugSchema,
  type TelegramReceiveOutcome,
  type TelegramWebhookTarget,
  telegramUpdateSchema,
} from "@cybernetic/core";
import { z } from "zod";
import type { ResolvedGatewayConfig } from "../config.js";
import { BoundedCache } from "../internal/bounded-cache.js";
import { timingSafeEqualStrings } from "../internal/timing-safe-equal.js";
import type { TelegramOutcome } from "../metrics.js";
import { type AnyRoute, defineApiRoute, type RouteContext } from "../route-definition.js";
import type { RouteDependencies } from "./route-dependencies.js";

/** The header Telegram sends the webhook's `secret_token` in. */
export const TELEGRAM_SECRET_HEADER = "x-telegram-bot-api-secret-token";

/** Webhook targets the routes remember (by slug), so an update does not cost a look-up. */
export interface TelegramTargets {
  /** The tenant behind a slug and its webhook secret, cached for the API-key cache's TTL. */
  get(slug: string): Promise<TelegramWebhookTarget>;
  /** Forgets a tenant (its settings or active flag changed through this gateway). */
  forgetTenant(tenantId: string): void;
}

/** The webhook-target cache, over `platform.telegram.webhookTarget`. */
export function createTelegramTargets(
  lookUp: (slug: string) => Promise<TelegramWebhookTarget>,
  ttlMs: number,
): TelegramTargets {
  const cache = new BoundedCache<string, TelegramWebhookTarget>(10_000, ttlMs);
  return {
    async get(slug) {
      const cached = cache.get(slug);
      if (cached) return cached;
      const target = await lookUp(slug);
      cache.set(slug, target);
      return target;
    },
    forgetTenant(tenantId) {
      cache.deleteWhere((target) => target.tenantId === tenantId);
    },
  };
}

/** What the webhook answers: Telegram only reads the status; the body says what became of the update. */
export const telegramAckSchema = z
  .object({
    ok: z.literal(true),
    outcome: z
      .enum(["queued", "duplicate", "ignored", "limited", "slow_down"])
      .describe(
        "`queued`: it will be handled; `duplicate`: seen before; `ignored`: a kind ignored on purpose; `limited`/`slow_down`: its chat is over the limit, so it is not handled (`slow_down`: the chat is told once).",
      ),
  })
  .meta({ id: "TelegramAck" });

const headersSchema = z.object({
  [TELEGRAM_SECRET_HEADER]: z
    .string()
    .describe("The `secret_token` given to `setWebhook` (required; compared in constant time)."),
});

const tenantParams = z.object({ tenantSlug: slugSchema.describe("The tenant whose own bot this is.") });

const metricOutcome: Record<TelegramReceiveOutcome, TelegramOutcome> = {
  queued: "queued",
  duplicate: "duplicate",
  ignored: "ignored",
  limited: "rate_limited",
  slow_down: "rate_limited",
};

const unauthorized = (reason: "missing_secret_token" | "wrong_secret_token") =>
  new CyberneticError(
    "unauthorized",
    reason === "missing_secret_token"
      ? `the ${TELEGRAM_SECRET_HEADER} header is required (the secret_token given to setWebhook)`
      : `the ${TELEGRAM_SECRET_HEADER} header does not match the webhook's secret`,
    { details: { reason } },
  );

const notConfigured = (message: string) =>
  new CyberneticError("forbidden", message, { details: { reason: "telegram_webhook_not_configured" } });

/**
 * `POST /telegram/webhook` (the platform's bot, for the tenant `TELEGRAM_TENANT`) and
 * `POST /telegram/webhook/:tenantSlug` (a tenant's own bot, from its settings). The secret token is
 * checked before the body is read; the update is then acknowledged in one transaction (deduplication,
 * the chat's rate limit, the `telegram.update` job) and answered 200 without waiting for it to be
 * handled. An update over its chat's limit is answered 200 too: anything else makes Telegram retry it
 * and hold back every other chat's updates behind it.
 */
export function telegramRoutes(deps: RouteDependencies): AnyRoute[] {
  const { platform, metrics, telegram } = deps;
  const { config, targets } = telegram;

  /** Checks the secret before anything else is read; returns the tenant to store the update for. */
  const authorize = async (
    event: RouteContext<unknown>["event"],
    target: () => Promise<{ tenantId: string; slug: string; active: boolean; secret: string | undefined }>,
    unset: string,
  ): Promise<string> => {
    try {
      const presented = event.req.headers.get(TELEGRAM_SECRET_HEADER);
      if (presented === null || presented === "") throw unauthorized("missing_secret_token");
      const resolved = await target();
      // Refused, never opened to everyone: a tenant without a secret has no webhook.
      if (resolved.secret === undefined) throw notConfigured(unset);
      if (!timingSafeEqualStrings(presented, resolved.secret)) throw unauthorized("wrong_secret_token");
      if (!resolved.active)
        throw new CyberneticError("forbidden", `tenant ${resolved.slug} is deactivated`, {
          details: { reason: "tenant_inactive" },
        });
      return resolved.tenantId;
    } catch (error) {
      metrics.telegramUpdate("rejected");
      throw error;
    }
  };

  const receive = async (tenantId: string, body: unknown) => {
    try {
      const receipt = await platform.telegram.receive(tenantId, body, config.rateLimit);
      metrics.telegramUpdate(metricOutcome[receipt.outcome]);
      return { ok: true as const, outcome: receipt.outcome };
    } catch (error) {
      if (CyberneticError.isInstance(error) && error.status < 500) metrics.telegramUpdate("rejected");
      throw error;
    }
  };

  const common = {
    method: "POST",
    tag: "telegram",
    auth: "public",
    headers: headersSchema,
    body: telegramUpdateSchema,
    bodyLimitBytes: config.maxUpdateBytes,
    responses: { 200: { description: "Acknowledged (whatever becomes of it)", schema: telegramAckSchema } },
    errors: ["unauthorized", "forbidden", "not_found", "unavailable"],
  } as const;

  return [
    defineApiRoute({
      ...common,
      path: "/telegram/webhook",
      operationId: "telegramWebhook",
      summary: "Receive an update for the platform's bot (tenant TELEGRAM_TENANT)",
      description:
        "Telegram calls it once `cybernetic telegram set-webhook` has registered it. `X-Telegram-Bot-Api-Secret-Token` must match TELEGRAM_WEBHOOK_SECRET (401 otherwise; without that variable the webhook is refused with 403). The update is stored once per `update_id`, counted against its chat's limit and queued; the answer never waits for it to be handled.",
      beforeBody: ({ event }) =>
        authorize(
          event,
          async () => {
            const target = await targets.get(config.tenant).catch((error: unknown) => {
              if (CyberneticError.isInstance(error) && error.code === "not_found")
                throw new CyberneticError(
                  "not_found",
                  `the tenant "${config.tenant}" (TELEGRAM_TENANT) does not exist`,
                  { details: { tenant: config.tenant } },
                );
              throw error;
            });
            return { ...target, secret: config.webhookSecret };
          },
          "the platform's Telegram webhook is not configured: TELEGRAM_WEBHOOK_SECRET is not set",
        ),
      handler: ({ locals, body }) => receive(locals as string, body),
    }),
    defineApiRoute({
      ...common,
      path: "/telegram/webhook/:tenantSlug",
      operationId: "telegramTenantWebhook",
      summary: "Receive an update for a tenant's own bot",
      description:
        "For a tenant whose settings hold its own bot (`settings.telegram.botToken` and `webhookSecret`, set with `PATCH /v1/tenants/:id`). `X-Telegram-Bot-Api-Secret-Token` must match `settings.telegram.webhookSecret` (401 otherwise); a tenant without one has its webhook refused (403). Unknown slug: 404.",
      params: tenantParams,
      beforeBody: ({ event, params }) => {
        const { tenantSlug } = params as z.infer<typeof tenantParams>;
        return authorize(
          event,
          async () => {
            const target = await targets.get(tenantSlug);
            return { ...target, secret: target.webhookSecret };
          },
          `tenant ${tenantSlug} has no Telegram webhook: set settings.telegram.webhookSecret first`,
        );
      },
      handler: ({ locals, body }) => receive(locals as string, body),
    }),
  ];
}

/** The route modules' view of the Telegram webhook. */
export interface TelegramRouteDependencies {
  config: ResolvedGatewayConfig["telegram"];
  targets: TelegramTargets;
}
