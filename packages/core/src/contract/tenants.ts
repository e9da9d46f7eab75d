import { z } from "zod";
import { jsonObjectSchema, slugSchema } from "./common.js";

/** Scopes an API key may hold. `admin` is never given to tenant keys. */
export const apiKeyScopes = ["read", "write", "events", "artifacts"] as const;
/** One API-key scope. */
export type ApiKeyScope = (typeof apiKeyScopes)[number];

/** Body of `POST /v1/tenants`. */
export const createTenantSchema = z
  .object({
    name: z.string().trim().min(1).max(200),
    slug: slugSchema,
    settings: jsonObjectSchema.optional(),
  })
  .strict();
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
export interface Tenant {
  id: string;
  name: string;
  slug: string;
  settings: Record<string, unknown>;
  active: boolean;
  createdAt: string;
  updatedAt: string;
}

/** An API key's public record (never the key or its hash). */
export interface ApiKeyInfo {
  id: string;
  tenantId: string;
  name: string;
  /** The first characters of the key, for recognising it in a list. */
  prefix: string;
  scopes: ApiKeyScope[];
  expiresAt: string | null;
  revokedAt: string | null;
  lastUsedAt: string | null;
  createdAt: string;
}

/** A newly issued key: `key` is shown this once and never stored. */
export interface IssuedApiKey extends ApiKeyInfo {
  key: string;
}
