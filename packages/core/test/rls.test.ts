/**
 * Row-level security, driven by a table: every tenant table × select/insert/update/delete × context.
 * In tenant A's context no row of tenant B can be read, inserted, updated or deleted; with no tenant set
 * nothing is visible; the owner role is held to the same rules (FORCE); the runtime role is not the owner,
 * not a superuser and has no BYPASSRLS; the cross-tenant functions return only what they promise.
 */
import { createHash, randomUUID } from "node:crypto";
import { type Kysely, sql } from "kysely";
import { beforeAll, describe, expect, it } from "vitest";
import { seedTenant } from "../../../test/factories/index.ts";
import { useTestPlatform } from "../../../test/setup/database.ts";
import { assertRuntimeRoleIsSafe, checkRuntimeRole, type Db, withTenant } from "../src/index.ts";

/** How to insert one row for a tenant ($1 is the tenant id). `appendOnly`: no UPDATE/DELETE grant. */
const tables: Record<string, { insert: string; key?: string; appendOnly?: boolean; noDelete?: boolean }> = {
  api_keys: {
    insert: `insert into cybernetic.api_keys (tenant_id, name, prefix, key_hash)
             values ($1, 'k', 'cyb_x', sha256(gen_random_uuid()::text::bytea))`,
  },
  system_states: { insert: `insert into cybernetic.system_states (tenant_id, system) values ($1, 1)` },
  system_state_history: {
    insert: `insert into cybernetic.system_state_history (tenant_id, system, version, state)
             values ($1, 1, (random() * 1000000)::int + 10, '{}')`,
    appendOnly: true,
  },
  episodes: { insert: `insert into cybernetic.episodes (tenant_id, title, content) values ($1, 't', 'c')` },
  policies: {
    insert: `insert into cybernetic.policies (tenant_id, name, rules) values ($1, gen_random_uuid()::text, '{}')`,
  },
  artifacts: {
    insert: `insert into cybernetic.artifacts (tenant_id, path, size, sha256, storage_backend, storage_key)
             values ($1, gen_random_uuid()::text, 1, repeat('a', 64), 'memory', 'k')`,
  },
  events: {
    insert: `insert into cybernetic.events (tenant_id, type, data) values ($1, 'episode.created', '{}')`,
    appendOnly: true,
  },
  telegram_updates: {
    insert: `insert into cybernetic.telegram_updates (tenant_id, update_id) values ($1, (random() * 1e12)::bigint)`,
  },
  telegram_chats: {
    insert: `insert into cybernetic.telegram_chats (tenant_id, chat_id) values ($1, (random() * 1e12)::bigint)`,
  },
  telegram_chat_limits: {
    insert: `insert into cybernetic.telegram_chat_limits (tenant_id, chat_id, tokens, refilled_at)
             values ($1, (random() * 1e12)::bigint, 1, now())`,
  },
  policy_evaluations: {
    insert: `insert into cybernetic.policy_evaluations (tenant_id, event_id, policy_id, matched)
             values ($1, (random() * 1e12)::bigint, (select id from cybernetic.policies limit 1), true)`,
    appendOnly: true,
  },
  notifications: {
    insert: `insert into cybernetic.notifications (tenant_id, channel, target, payload, idempotency_key)
             values ($1, 'event', 'x', '{}', gen_random_uuid()::text)`,
  },
  idempotency_keys: {
    insert: `insert into cybernetic.idempotency_keys (tenant_id, key, fingerprint)
             values ($1, gen_random_uuid()::text, sha256(gen_random_uuid()::text::bytea))`,
  },
  units: {
    // A child of the tenant's root. In another tenant's context (or none) the root is invisible and the
    // row-level security check refuses the row before any constraint is looked at.
    insert: `with x as (select gen_random_uuid() as id, (select r.id from cybernetic.units r
                                   where r.tenant_id = $1 and r.parent_id is null) as root)
             insert into cybernetic.units (id, tenant_id, parent_id, name, slug, path, depth)
             select x.id, $1, x.root, 'u', 'u-' || substr(md5(random()::text), 1, 12), array[x.root, x.id], 1 from x`,
    noDelete: true,
  },
  policy_damping: {
    insert: `insert into cybernetic.policy_damping (tenant_id, policy_id)
             values ($1, (select id from cybernetic.policies where tenant_id = $1 limit 1))`,
  },
  audits: {
    insert: `insert into cybernetic.audits (tenant_id, unit_id, trigger, started_at, finished_at)
             select $1, r.id, 'manual', now(), now()
               from (select (select u.id from cybernetic.units u where u.tenant_id = $1 and u.parent_id is null) as id) r`,
    appendOnly: true,
  },
  audit_findings: {
    insert: `insert into cybernetic.audit_findings (tenant_id, audit_id, unit_id, check_name, severity, subject, message)
             select $1, (select a.id from cybernetic.audits a where a.tenant_id = $1 limit 1),
                    (select u.id from cybernetic.units u where u.tenant_id = $1 and u.parent_id is null),
                    'stale_state', 'warning', '{}', 'm'`,
    appendOnly: true,
  },
  indicators: {
    insert: `insert into cybernetic.indicators (tenant_id, unit_id, name)
             select $1, (select u.id from cybernetic.units u where u.tenant_id = $1 and u.parent_id is null),
                    gen_random_uuid()::text`,
    noDelete: true,
  },
  indicator_targets: {
    insert: `insert into cybernetic.indicator_targets (tenant_id, indicator_id, effective_from, capability, potentiality)
             select $1, (select i.id from cybernetic.indicators i where i.tenant_id = $1 limit 1),
                    now() - random() * interval '1000 days', 1, 2`,
    appendOnly: true,
  },
  indicator_readings: {
    insert: `insert into cybernetic.indicator_readings (tenant_id, indicator_id, at, actuality, capability, potentiality,
                                                         productivity, latency, performance, smoothed, status)
             select $1, (select i.id from cybernetic.indicators i where i.tenant_id = $1 limit 1),
                    now() - random() * interval '1000 days', 1, 1, 2, 1, 0.5, 0.5, 1, 'warmup'`,
    appendOnly: true,
  },
  alerts: {
    insert: `insert into cybernetic.alerts (tenant_id, unit_id, level_unit_id, severity, message, key, raised_at, updated_at)
             select $1, r.id, r.id, 'pain', 'm', gen_random_uuid()::text, now(), now()
               from (select (select u.id from cybernetic.units u where u.tenant_id = $1 and u.parent_id is null) as id) r`,
    noDelete: true,
  },
  tenants: {
    insert: `insert into cybernetic.tenants (id, name, slug) values ($1, 'x', 'x-' || substr(md5(random()::text), 1, 12))`,
    key: "id",
    noDelete: true,
  },
};

type Outcome = { rows: number } | { error: string };

/** Runs one statement in a transaction with the given tenant context (or none). */
async function attempt(db: Db, tenant: string | null, text: string, params: unknown[]): Promise<Outcome> {
  const run = async (conn: Kysely<unknown>) => {
    const q = { sql: text, parameters: params } as unknown as Parameters<typeof conn.executeQuery>[0];
    const result = await conn.executeQuery(q);
    return { rows: Number(result.numAffectedRows ?? result.rows.length) };
  };
  try {
    if (tenant) return await withTenant(db, tenant, (trx) => run(trx as unknown as Kysely<unknown>));
    return await db.transaction().execute((trx) => run(trx as unknown as Kysely<unknown>));
  } catch (error) {
    const e = error as { code?: string; cause?: { code?: string } };
    return { error: e.cause?.code ?? e.code ?? "unknown" };
  }
}

const compiled = (text: string, params: unknown[]) => [text, params] as const;

describe("row-level security", () => {
  const ctx = useTestPlatform();
  let a: string;
  let b: string;

  beforeAll(async () => {
    a = (await seedTenant(ctx.platform)).tenant.id;
    b = (await seedTenant(ctx.platform)).tenant.id;
    for (const [table, spec] of Object.entries(tables)) {
      if (table === "tenants" || table === "system_states") continue; // created with the tenant
      for (const t of [a, b]) {
        const out = await attempt(ctx.db, t, ...compiled(spec.insert, [t]));
        expect(out, `seeding ${table}`).toEqual({ rows: 1 });
      }
    }
  });

  const roles = ["runtime", "owner"] as const;
  for (const role of roles) {
    describe(`as the ${role} role`, () => {
      const db = () => (role === "runtime" ? ctx.db : ctx.owner);

      for (const [table, spec] of Object.entries(tables)) {
        const key = spec.key ?? "tenant_id";
        it(`${table}: tenant A sees its own rows and none of B's`, async () => {
          const own = await attempt(db(), a, `select 1 from cybernetic.${table} where ${key} = $1`, [a]);
          expect(own).toMatchObject({ rows: expect.any(Number) });
          expect((own as { rows: number }).rows).toBeGreaterThan(0);
          expect(await attempt(db(), a, `select 1 from cybernetic.${table} where ${key} = $1`, [b])).toEqual({
            rows: 0,
          });
          expect(await attempt(db(), a, `select 1 from cybernetic.${table} where ${key} <> $1`, [a])).toEqual(
            { rows: 0 },
          );
        });

        it(`${table}: tenant A cannot insert a row for B`, async () => {
          // For tenants the "row of B" is a new tenant id that is not A's.
          const out = await attempt(db(), a, spec.insert, [table === "tenants" ? randomUUID() : b]);
          expect(out).toEqual({ error: "42501" });
        });

        it(`${table}: tenant A cannot update or delete B's rows`, async () => {
          const update = await attempt(
            db(),
            a,
            `update cybernetic.${table} set ${key} = ${key} where ${key} = $1`,
            [b],
          );
          const del = await attempt(db(), a, `delete from cybernetic.${table} where ${key} = $1`, [b]);
          if (spec.appendOnly && role === "runtime") {
            expect(update).toEqual({ error: "42501" }); // no UPDATE grant at all
            expect(del).toEqual({ error: "42501" });
          } else {
            expect(update).toEqual({ rows: 0 });
            expect(del).toEqual(spec.noDelete && role === "runtime" ? { error: "42501" } : { rows: 0 });
          }
          // B's rows are all still there.
          const still = await attempt(db(), b, `select 1 from cybernetic.${table} where ${key} = $1`, [b]);
          expect((still as { rows: number }).rows).toBeGreaterThan(0);
        });

        it(`${table}: with no tenant set nothing is visible and nothing can be written`, async () => {
          expect(await attempt(db(), null, `select 1 from cybernetic.${table}`, [])).toEqual({ rows: 0 });
          expect(await attempt(db(), null, spec.insert, [a])).toEqual({ error: "42501" });
        });
      }
    });
  }

  it("a tenant id that is not a UUID is a validation error before any SQL", async () => {
    await expect(withTenant(ctx.db, "1' or '1'='1", async () => 1)).rejects.toMatchObject({
      code: "validation_failed",
    });
  });

  it("the context is local to the transaction: the pooled connection forgets it", async () => {
    await withTenant(ctx.db, a, async (trx) => {
      const { rows } = await sql<{ t: string }>`select current_setting('app.tenant_id', true) as t`.execute(
        trx,
      );
      expect(rows[0]?.t).toBe(a);
    });
    // Pool size 5: check every connection.
    const seen = await Promise.all(
      Array.from({ length: 5 }, () =>
        sql<{ t: string | null }>`select nullif(current_setting('app.tenant_id', true), '') as t`.execute(
          ctx.db,
        ),
      ),
    );
    expect(seen.map((r) => r.rows[0]?.t ?? null)).toEqual([null, null, null, null, null]);
  });

  it("the runtime role is not the owner, not a superuser and has no BYPASSRLS", async () => {
    const report = await checkRuntimeRole(ctx.db);
    expect(report).toMatchObject({
      superuser: false,
      bypassRls: false,
      ownsTables: false,
      memberOfApp: true,
    });
    await expect(assertRuntimeRoleIsSafe(ctx.db)).resolves.toBeDefined();
    await expect(assertRuntimeRoleIsSafe(ctx.owner)).rejects.toThrow(/owns the cybernetic tables/);
    const { rows } = await sql<{ forced: boolean; enabled: boolean; relname: string }>`
      select relname, relrowsecurity as enabled, relforcerowsecurity as forced from pg_class
       where relnamespace = 'cybernetic'::regnamespace and relkind = 'r'
         and (relname = 'tenants' or relname in (select table_name from information_schema.columns
                                                 where table_schema = 'cybernetic' and column_name = 'tenant_id'))
    `.execute(ctx.db);
    expect(rows.map((r) => r.relname).sort()).toEqual(Object.keys(tables).sort());
    expect(rows.every((r) => r.enabled && r.forced)).toBe(true);
  });

  it("the runtime role cannot become cybernetic_system or turn row-level security off", async () => {
    const setRole = await attempt(ctx.db, a, "set local role cybernetic_system", []);
    expect(setRole).toEqual({ error: "42501" });
    // With row_security off, a query that policies would filter fails instead of returning rows.
    const rowSecurityOff = await attempt(
      ctx.db,
      a,
      "set local row_security = off; select 1 from cybernetic.episodes",
      [],
    );
    expect(rowSecurityOff).toEqual({ error: "42501" });
    const disable = await attempt(
      ctx.db,
      a,
      "alter table cybernetic.episodes disable row level security",
      [],
    );
    expect(disable).toEqual({ error: "42501" });
  });

  it("the API-key lookup path resolves exact hashes only and cannot list other tenants' data", async () => {
    const { apiKey } = await seedTenant(ctx.platform);
    const good = createHash("sha256").update(apiKey.key).digest();
    const one = await sql<{ tenant_id: string }>`select * from cybernetic.resolve_api_key(${good})`.execute(
      ctx.db,
    );
    expect(one.rows).toHaveLength(1);
    for (const probe of [Buffer.alloc(32), good.subarray(0, 31), Buffer.alloc(0), null]) {
      const out = await sql`select * from cybernetic.resolve_api_key(${probe})`.execute(ctx.db);
      expect(out.rows).toHaveLength(0);
    }
    // With a resolved key's tenant in hand, the caller still sees nothing of other tenants.
    const resolved = await ctx.platform.apiKeys.resolve(apiKey.key);
    const other = await attempt(
      ctx.db,
      resolved.tenantId,
      "select 1 from cybernetic.episodes where tenant_id <> $1",
      [resolved.tenantId],
    );
    expect(other).toEqual({ rows: 0 });
  });

  it("the runtime role may call only the narrow functions it was granted", async () => {
    const { rows } = await sql<{ proname: string }>`
      select p.proname from pg_proc p where p.pronamespace = 'cybernetic'::regnamespace and p.prosecdef
         and has_function_privilege(current_user, p.oid, 'execute') order by 1`.execute(ctx.db);
    expect(rows.map((r) => r.proname)).toEqual([
      "active_tenant_ids",
      "due_alerts",
      "event_bounds",
      "expired_artifacts",
      "indicator_latest",
      "indicator_overview",
      "list_tenants",
      "publish_events",
      "purge_events",
      "purge_idempotency_keys",
      "purge_telegram_state",
      "purge_telegram_updates",
      "read_events",
      "resolve_api_key",
      "telegram_reserve_send",
      "tenant_id_by_slug",
      "unpublished_events",
    ]);
  });
});
