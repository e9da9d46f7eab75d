import { sql } from "kysely";
import { z } from "zod";
import {
  describeTelegramUpdate,
  type TelegramUpdateKind,
  telegramSettingsSchema,
  telegramUpdateSchema,
} from "../contract/telegram.js";
import type { Db } from "../database.js";
import { CyberneticError, notFound } from "../errors.js";
import { parseInput } from "../internal/validation.js";
import type { JobQueue } from "../jobs.js";
import { assertUuid, withTenant } from "../tenant-context.js";
import type { TenantService } from "./tenants.js";

/**
 * The per-chat limit of incoming updates: a token bucket of `burst` updates refilled at `perMinute`,
 * kept in PostgreSQL so every gateway instance shares it. Defaults and bounds live here only; the
 * gateway's environment (`TELEGRAM_CHAT_*`) reads them.
 */
export const telegramRateLimitSchema = z.object({
  /** Updates a chat may send per minute, sustained. */
  perMinute: z.number().positive().max(100_000).default(20),
  /** Updates a chat may send at once. */
  burst: z.number().int().min(1).max(100_000).default(10),
  /** At most one "slow down" reply per chat per this many seconds. */
  slowDownWindowSeconds: z.number().int().min(1).max(86_400).default(60),
});
/** The per-chat limit, defaults filled in. */
export type TelegramRateLimit = z.output<typeof telegramRateLimitSchema>;

/** What became of an update: see `TelegramService.receive`. */
export type TelegramReceiveOutcome = "queued" | "duplicate" | "ignored" | "limited" | "slow_down";

/** The answer of `TelegramService.receive`. */
export interface TelegramReceipt {
  outcome: TelegramReceiveOutcome;
  updateId: number;
  kind: TelegramUpdateKind;
  chatId: number | null;
  /** Why it is ignored (`outcome: "ignored"`). */
  reason?: string;
  /** The `telegram.update` job, for `queued` and `slow_down`. */
  jobId?: string | null;
}

/**
 * Where a tenant's webhook stands: what `POST /telegram/webhook/:tenantSlug` checks before accepting an
 * update. `webhookSecret` is the raw secret, for a constant-time comparison; never show it.
 */
export interface TelegramWebhookTarget {
  tenantId: string;
  slug: string;
  active: boolean;
  /** `settings.telegram.webhookSecret`; undefined when the tenant has none (its webhook is refused). */
  webhookSecret: string | undefined;
  /** True when `settings.telegram.botToken` is set (the tenant answers with its own bot). */
  ownBot: boolean;
}

/** Telegram's inbox: the webhook's side of the tenant's bot. The workers' `telegram.update` job reads it. */
export interface TelegramService {
  /**
   * The tenant a webhook names by slug, and its Telegram settings (a narrow cross-tenant look-up by slug,
   * then the settings under the tenant's own row-level security).
   *
   * @example
   * ```ts
   * const target = await platform.telegram.webhookTarget("acme");
   * if (!target.webhookSecret) throw new Error("acme has no webhook secret");
   * ```
   * @throws CyberneticError `not_found` for an unknown slug.
   */
  webhookTarget(slug: string): Promise<TelegramWebhookTarget>;
  /**
   * Acknowledges one update in one transaction: the deduplication row (a re-sent `update_id` is
   * `duplicate` and nothing more happens), the chat's token bucket, and the `telegram.update` job, which
   * commit together or not at all. Never waits for the update to be handled. Outcomes: `queued` (its job
   * will handle it), `ignored` (a kind ignored on purpose, see `telegramUpdateKinds`), `limited` (the
   * chat is over its limit: not handled), `slow_down` (over the limit, and the chat is due its one
   * "slow down" reply of the window, which a job sends).
   *
   * @example
   * ```ts
   * const { outcome } = await platform.telegram.receive(tenantId, update);
   * ```
   * @throws CyberneticError `validation_failed` when `update` is not a Telegram `Update`; `unavailable`
   * when the platform has no job queue.
   */
  receive(
    tenantId: string,
    update: unknown,
    rateLimit?: Partial<TelegramRateLimit>,
  ): Promise<TelegramReceipt>;
}

/** The pg-boss singleton key of a chat: its updates are handled one at a time, in order. */
export function telegramChatQueueKey(tenantId: string, chatId: number | string | null): string {
  return `telegram:${tenantId}:${chatId ?? "none"}`;
}

/** Creates the Telegram service. */
export function createTelegramService(db: Db, tenants: TenantService, queue?: JobQueue): TelegramService {
  return {
    async webhookTarget(slug) {
      const tenantId = await tenants.idBySlug(slug);
      const row = await withTenant(
        db,
        tenantId,
        (trx) =>
          trx
            .selectFrom("tenants")
            .select(["slug", "active", "settings"])
            .where("id", "=", tenantId)
            .executeTakeFirst(),
        { readOnly: true },
      );
      if (!row) throw notFound("tenant", slug);
      // Settings were validated on write; a row written by hand is read defensively.
      const parsed = telegramSettingsSchema.safeParse(row.settings.telegram ?? {});
      const settings = parsed.success ? parsed.data : {};
      return {
        tenantId,
        slug: row.slug,
        active: row.active,
        webhookSecret: settings.webhookSecret,
        ownBot: settings.botToken !== undefined,
      };
    },

    async receive(id, raw, limit = {}) {
      const tenantId = assertUuid(id, "tenantId");
      const update = parseInput(telegramUpdateSchema, raw, "Telegram update");
      const rate = telegramRateLimitSchema.parse(limit);
      if (!queue)
        throw new CyberneticError("unavailable", "Telegram updates need a job queue", {
          details: { dependency: "queue" },
        });
      const summary = describeTelegramUpdate(update);
      return withTenant(db, tenantId, async (trx) => {
        const { rows } = await sql<{ outcome: TelegramReceiveOutcome }>`
          select cybernetic.telegram_receive(${tenantId}, ${update.update_id}, ${summary.kind},
            ${summary.chatId}, ${summary.handled}, ${summary.reason ?? null}, ${JSON.stringify(update)}::jsonb,
            ${rate.perMinute}, ${rate.burst}, ${rate.slowDownWindowSeconds}) as outcome`.execute(trx);
        const outcome = rows[0]?.outcome ?? "duplicate";
        const receipt: TelegramReceipt = {
          outcome,
          updateId: update.update_id,
          kind: summary.kind,
          chatId: summary.chatId,
          ...(summary.reason !== undefined && outcome === "ignored" ? { reason: summary.reason } : {}),
        };
        if (outcome === "queued" || outcome === "slow_down") {
          receipt.jobId = await queue.enqueue(
            trx,
            "telegram.update",
            { tenantId, updateId: update.update_id },
            { singletonKey: telegramChatQueueKey(tenantId, summary.chatId) },
          );
        }
        return receipt;
      });
    },
  };
}
