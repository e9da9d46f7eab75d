import { randomUUID } from "node:crypto";
import { type Selectable, sql } from "kysely";
import { limitSchema, type Page } from "../contract/common.js";
import {
  type CreateTenantInput,
  createTenantSchema,
  type IssuedApiKey,
  redactSecretSettings,
  type Tenant,
  tenantSettingsSchema,
  type UpdateTenantInput,
  updateTenantSchema,
} from "../contract/tenants.js";
import type { Db } from "../database.js";
import { retryIdempotent } from "../database-errors.js";
import { notFound } from "../errors.js";
import { decodeCursor, encodeCursor, isNonEmptyString } from "../internal/cursor.js";
import { applyMergePatch } from "../internal/merge-patch.js";
import { mapPgError } from "../internal/pg-errors.js";
import { iso } from "../internal/time.js";
import { parseInput } from "../internal/validation.js";
import type { JsonObject, TenantsTable } from "../schema.js";
import { assertUuid, withTenant } from "../tenant-context.js";
import type { ApiKeyService } from "./api-keys.js";
import { insertUnitStates } from "./units.js";

/** Options of `tenants.create`. */
export interface CreateTenantOptions {
  /** Also issue a first API key (all scopes) in the same transaction; returned once. */
  issueKey?: boolean | { name?: string };
}

/** Tenants: each one a viable system, the root unit of its tree of units, with five system states. */
export interface TenantService {
  /**
   * Creates a tenant, its root unit with its five system states and, when asked, its first API key, in one transaction.
   *
   * @example
   * ```ts
   * const { tenant, apiKey } = await platform.tenants.create({ name: "Acme", slug: "acme" }, { issueKey: true });
   * ```
   * @throws CyberneticError `validation_failed` (bad name or slug), `duplicate` (slug taken).
   */
  create(
    input: CreateTenantInput,
    options?: CreateTenantOptions,
  ): Promise<{ tenant: Tenant; apiKey?: IssuedApiKey }>;
  /** Gets one tenant; `not_found` when it does not exist. */
  get(id: string): Promise<Tenant>;
  /** Finds a tenant id by slug (a narrow cross-tenant lookup); `not_found` when unknown. */
  idBySlug(slug: string): Promise<string>;
  /** Lists tenants by slug (admin). */
  list(input?: { limit?: number | string; cursor?: string }): Promise<Page<Tenant>>;
  /**
   * Renames a tenant and/or applies a JSON Merge Patch to its settings (`null` removes a member); the
   * merged settings are validated like a new tenant's. Returns the tenant, secrets redacted.
   *
   * @example
   * ```ts
   * await platform.tenants.update(id, { settings: { webhookSecret: "a-long-random-secret" } });
   * ```
   * @throws CyberneticError `validation_failed`, `not_found`.
   */
  update(id: string, input: UpdateTenantInput): Promise<Tenant>;
  /** Deactivates a tenant: its keys stop resolving. Idempotent. */
  deactivate(id: string): Promise<Tenant>;
  /** Re-activates a tenant. Idempotent. */
  activate(id: string): Promise<Tenant>;
}

/** Maps a tenants row to the API shape. */
export function toTenant(row: Selectable<TenantsTable>): Tenant {
  return {
    id: row.id,
    name: row.name,
    slug: row.slug,
    settings: redactSecretSettings(row.settings),
    active: row.active,
    createdAt: iso(row.created_at),
    updatedAt: iso(row.updated_at),
  };
}

const slugTaken = (slug: string) => ({ tenants_slug_key: `slug "${slug}" is taken` });

/** Creates the tenant service. */
export function createTenantService(db: Db, apiKeys: ApiKeyService): TenantService {
  // async: a malformed id must reject the returned promise, not throw before there is one.
  const setActive = async (id: string, active: boolean) => {
    const tenantId = assertUuid(id, "id");
    return withTenant(db, tenantId, async (trx) => {
      const row = await trx
        .updateTable("tenants")
        .set({ active, updated_at: sql<Date>`now()` })
        .where("id", "=", tenantId)
        .returningAll()
        .executeTakeFirst();
      if (!row) throw notFound("tenant", tenantId);
      return toTenant(row);
    });
  };

  return {
    async create(raw, options = {}) {
      const input = parseInput(createTenantSchema, raw, "tenant");
      // The new tenant's own id is the transaction's tenant context, so row-level security admits exactly
      // its rows: no privileged path is needed to create a tenant.
      const id = randomUUID();
      return withTenant(db, id, async (trx) => {
        const row = await trx
          .insertInto("tenants")
          .values({
            id,
            name: input.name,
            slug: input.slug,
            settings: JSON.stringify(input.settings ?? {}),
          })
          .returningAll()
          .executeTakeFirstOrThrow()
          .catch((e: unknown) => {
            // Mapped here, inside the transaction: withTenant maps driver errors generically, and an
            // already-mapped error passes through mapPgError unchanged, so the slug's message would be lost.
            throw mapPgError(e, slugTaken(input.slug));
          });
        // The tenant is the root of its tree of units; its five system states are the root's.
        const rootId = randomUUID();
        await trx
          .insertInto("units")
          .values({
            id: rootId,
            tenant_id: id,
            parent_id: null,
            name: input.name,
            slug: input.slug,
            path: [rootId],
            depth: 0,
          })
          .execute();
        await insertUnitStates(trx, id, rootId);
        const tenant = toTenant(row);
        if (!options.issueKey) return { tenant };
        const name = typeof options.issueKey === "object" ? (options.issueKey.name ?? "default") : "default";
        const apiKey = await apiKeys.issueIn(trx, id, { name });
        return { tenant, apiKey };
      });
    },

    async get(id) {
      const tenantId = assertUuid(id, "id");
      const row = await withTenant(
        db,
        tenantId,
        (trx) => trx.selectFrom("tenants").selectAll().where("id", "=", tenantId).executeTakeFirst(),
        { readOnly: true },
      );
      if (!row) throw notFound("tenant", tenantId);
      return toTenant(row);
    },

    async idBySlug(slug) {
      const { rows } = await retryIdempotent(() =>
        sql<{ id: string | null }>`select cybernetic.tenant_id_by_slug(${slug}) as id`.execute(db),
      );
      const id = rows[0]?.id;
      if (!id) throw notFound("tenant", slug);
      return id;
    },

    async list(raw = {}) {
      const limit = parseInput(limitSchema, raw.limit, "limit");
      const after =
        raw.cursor === undefined ? null : decodeCursor<[string]>(raw.cursor, [isNonEmptyString])[0];
      const { rows } = await retryIdempotent(() =>
        sql<Selectable<TenantsTable>>`select * from cybernetic.list_tenants(${after}, ${limit + 1})`.execute(
          db,
        ),
      );
      const items = rows.slice(0, limit).map(toTenant);
      const last = items.at(-1);
      return rows.length > limit && last ? { items, nextCursor: encodeCursor([last.slug]) } : { items };
    },

    async update(id, raw) {
      const tenantId = assertUuid(id, "id");
      const input = parseInput(updateTenantSchema, raw, "tenant");
      return withTenant(db, tenantId, async (trx) => {
        const current = await trx
          .selectFrom("tenants")
          .select("settings")
          .where("id", "=", tenantId)
          .forUpdate()
          .executeTakeFirst();
        if (!current) throw notFound("tenant", tenantId);
        const settings =
          input.settings === undefined
            ? undefined
            : parseInput(
                tenantSettingsSchema,
                applyMergePatch(current.settings, input.settings as JsonObject),
                "settings",
              );
        const row = await trx
          .updateTable("tenants")
          .set({
            ...(input.name !== undefined ? { name: input.name } : {}),
            ...(settings !== undefined ? { settings: JSON.stringify(settings) } : {}),
            updated_at: sql<Date>`now()`,
          })
          .where("id", "=", tenantId)
          .returningAll()
          .executeTakeFirstOrThrow();
        return toTenant(row);
      });
    },

    deactivate: (id) => setActive(id, false),
    activate: (id) => setActive(id, true),
  };
}
