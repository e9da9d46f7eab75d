import { z } from "zod";
import {
  jsonObjectSchema,
  jsonRecordSchema,
  listSchemaOf,
  pageSchemaOf,
  slugSchema,
  timestampSchema,
} from "./common.js";
import { telegramSettingsSchema } from "./telegram.js";

/** Scopes an API key may hold. `admin` is never given to tenant keys. */
export const apiKeyScopes = ["read", "write", "events", "artifacts"] as const;
/** One API-key scope. */
export type ApiKeyScope = (typeof apiKeyScopes)[number];

/**
 * Members of `tenant.settings` whose names look secret (`webhookSecret`, `botToken`, `apiKey`, …, at any
 * depth): write-only, never returned by the API (their values read `"[redacted]"`) nor shown to policy
 * templates.
 */
export const SECRET_SETTING_NAME = /secret|token|password|passwd|credential|api[-_]?key|private[-_]?key/i;

/** What a secret setting's value reads as. */
export const REDACTED = "[redacted]";

/** The alert channels a tenant's algedonic alerts go to. */
export const alertChannelNames = ["telegram", "webhook", "event"] as const;

/** One alert channel: where a unit's (or the tenant's) algedonic alerts are sent. */
export const alertChannelSchema = z
  .object({ channel: z.enum(alertChannelNames), to: z.string().min(1).max(2048) })
  .strict()
  .meta({ id: "AlertChannel" });
/** One alert channel. */
export type AlertChannelConfig = z.infer<typeof alertChannelSchema>;

/**
 * A tenant's settings: a JSON object. The members the platform reads are checked; any other member is
 * kept as given (for the host application's own use). See docs/configuration.md, "Tenant settings".
 */
export const tenantSettingsSchema = z
  .object({
    /** Signs webhook notifications (`x-cybernetic-signature`); write-only. */
    webhookSecret: z.string().min(16, { message: "must be at least 16 characters" }).max(500).optional(),
    /** Where algedonic alerts go. */
    alerts: z.array(alertChannelSchema).max(20).optional(),
    /** The tenant's own Telegram bot (token, webhook secret, username); token and secret are write-only. */
    telegram: telegramSettingsSchema.optional(),
  })
  .catchall(z.json());

/** Body of `POST /v1/tenants`. */
export const createTenantSchema = z
  .object({
    name: z.string().trim().min(1).max(200),
    slug: slugSchema,
    settings: tenantSettingsSchema.optional(),
  })
  .strict();

/**
 * Body of `PATCH /v1/tenants/:id`: a new name, and/or a JSON Merge Patch (RFC 7396) of the settings
 * (members merge, `null` removes one), so a secret can be set or removed without reading it back.
 */
export const updateTenantSchema = z
  .object({
    name: z.string().trim().min(1).max(200).optional(),
    settings: jsonObjectSchema.optional(),
  })
  .strict()
  .refine((body) => body.name !== undefined || body.settings !== undefined, {
    message: "give name or settings",
  });
/** Input of `tenants.update`. */
export type UpdateTenantInput = z.input<typeof updateTenantSchema>;
/** Input of `tenants.create`. */
export type CreateTenantInput = z.input<typeof createTenantSchema>;

/** Body of `POST /v1/tenants/:id/api-keys`. */
export const createApiKeySchema = z
  .object({
    name: z.string().trim().min(1).max(200),
    scopes: z
      .array(z.enum(apiKeyScopes))
      .min(1)
      .max(apiKeyScopes.length)
      .default([...apiKeyScopes]),
    /** ISO timestamp; must be in the future. */
    expiresAt: z.iso.datetime({ offset: true }).optional(),
  })
  .strict();
/** Input of `apiKeys.issue`. */
export type CreateApiKeyInput = z.input<typeof createApiKeySchema>;

/** A tenant as the API returns it. */
export const tenantSchema = z
  .object({
    id: z.uuid(),
    name: z.string(),
    slug: z.string(),
    settings: jsonRecordSchema.describe(
      'The settings; members named like a secret (`SECRET_SETTING_NAME`) read "[redacted]".',
    ),
    active: z.boolean(),
    createdAt: timestampSchema,
    updatedAt: timestampSchema,
  })
  .meta({ id: "Tenant" });
/** A tenant as the API returns it. */
export type Tenant = z.infer<typeof tenantSchema>;

/** An API key's public record (never the key or its hash). */
export const apiKeyInfoSchema = z
  .object({
    id: z.uuid(),
    tenantId: z.uuid(),
    name: z.string(),
    prefix: z.string().describe("The first characters of the key, for recognising it in a list."),
    scopes: z.array(z.enum(apiKeyScopes)),
    expiresAt: timestampSchema.nullable(),
    revokedAt: timestampSchema.nullable(),
    lastUsedAt: timestampSchema.nullable(),
    createdAt: timestampSchema,
  })
  .meta({ id: "ApiKey" });
/** An API key's public record (never the key or its hash). */
export type ApiKeyInfo = z.infer<typeof apiKeyInfoSchema>;

/** A newly issued key: `key` is shown this once and never stored. */
export const issuedApiKeySchema = apiKeyInfoSchema
  .extend({ key: z.string().describe("The key itself; shown this once, only its hash is stored.") })
  .meta({ id: "IssuedApiKey" });
/** A newly issued key: `key` is shown this once and never stored. */
export type IssuedApiKey = z.infer<typeof issuedApiKeySchema>;

/** Answer of `POST /v1/tenants`: the tenant and its first key. */
export const createdTenantSchema = z
  .object({ tenant: tenantSchema, apiKey: issuedApiKeySchema })
  .meta({ id: "CreatedTenant" });
/** Answer of `POST /v1/tenants`. */
export type CreatedTenant = z.infer<typeof createdTenantSchema>;

/** A page of tenants. */
export const tenantPageSchema = pageSchemaOf(tenantSchema, "TenantPage");
/** A tenant's API keys. */
export const apiKeyListSchema = listSchemaOf(apiKeyInfoSchema, "ApiKeyList");
/**
 * The settings as the API shows them: each member named like a secret (`SECRET_SETTING_NAME`), at any
 * depth, reads `"[redacted]"`.
 *
 * @example
 * ```ts
 * redactSecretSettings({ webhookSecret: "s3cr3t…", alerts: [] }); // { webhookSecret: "[redacted]", alerts: [] }
 * ```
 */
export function redactSecretSettings(settings: Record<string, unknown>): Record<string, unknown> {
  const walk = (value: unknown, depth: number): unknown => {
    if (depth > 32 || value === null || typeof value !== "object") return value;
    if (Array.isArray(value)) return value.map((item) => walk(item, depth + 1));
    const out: Record<string, unknown> = {};
    for (const [key, member] of Object.entries(value)) {
      Object.defineProperty(out, key, {
        value: SECRET_SETTING_NAME.test(key) ? REDACTED : walk(member, depth + 1),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    return out;
  };
  return walk(settings, 0) as Record<string, unknown>;
}
