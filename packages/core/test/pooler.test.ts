/**
 * The tenant context behind a transaction pooler (`pooler: "transaction"`, or detected by `"auto"`):
 * an unnamed statement that also sets the timeouts for its transaction, no startup parameters, the same
 * isolation. Detection is proven with what a pooler sharing server connections does to a named
 * statement: it finds it already prepared by another client (42P05) or missing on the server connection
 * it picked (26000); here both are made to happen on a real connection with PREPARE and DEALLOCATE.
 * CI's PostgreSQL 15 pass runs the whole suite through a real PgBouncer 1.18 in transaction mode.
 */
import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { episodeInput, seedTenant } from "../../../test/factories/index.ts";
import { useTestPlatform } from "../../../test/setup/database.ts";
import {
  createDatabase,
  createPlatform,
  type Db,
  databasePooler,
  idempotencyFingerprint,
  poolOf,
  withTenant,
} from "../src/index.ts";

const ctx = useTestPlatform();
let a: string;
let b: string;
const opened: Db[] = [];
const open = (input: Parameters<typeof createDatabase>[0]) => {
  const db = createDatabase(input);
  opened.push(db);
  return db;
};

beforeAll(async () => {
  a = (await seedTenant(ctx.platform)).tenant.id;
  b = (await seedTenant(ctx.platform)).tenant.id;
  await ctx.platform.episodes.create(b, episodeInput({ title: "b's episode" }));
});
afterAll(async () => {
  await Promise.all(opened.map((db) => db.destroy()));
});

/** The runtime role's connections: through the run's pooler when there is one, else direct. */
const runtime = () => ({ url: ctx.database.appUrl, directUrl: ctx.database.directUrl });
const titles = (db: Db, tenant: string, title: string) =>
  withTenant(db, tenant, (trx) =>
    trx.selectFrom("episodes").select("title").where("title", "=", title).execute(),
  );

describe("which pooler a database is treated as", () => {
  const url = "postgres://app:secret@pooler:6432/cyb";
  const direct = "postgres://app:secret@db:5432/cyb";
  it.each([
    [{ url }, "none"],
    [{ url, directUrl: url }, "none"],
    [{ url, directUrl: direct }, "transaction"],
    [{ url, pooler: "transaction" as const }, "transaction"],
    [{ url, directUrl: direct, pooler: "none" as const }, "none"],
  ])("%j: %s", (input, expected) => {
    expect(databasePooler(open(input))).toBe(expected);
  });

  it("the owner connection (migrations) is direct unless told otherwise", () => {
    const owner = createDatabase({ url, directUrl: direct, ownerUrl: direct }, { owner: true });
    opened.push(owner);
    expect(databasePooler(owner)).toBe("none");
  });
});

describe('pooler "transaction"', () => {
  it("sets the timeouts per transaction and sends no startup parameter; isolation holds", async () => {
    const db = open({
      ...runtime(),
      pooler: "transaction",
      poolSize: 2,
      statementTimeoutMs: 4321,
      idleInTransactionTimeoutMs: 6543,
    });
    const inside = await withTenant(db, a, (trx) =>
      sql<{ statement: string; idle: string; tenant: string; seen: number }>`
        select current_setting('statement_timeout') as statement,
               current_setting('idle_in_transaction_session_timeout') as idle,
               current_setting('app.tenant_id') as tenant,
               (select count(*)::int from episodes) as seen`.execute(trx),
    );
    expect(inside.rows[0]).toEqual({ statement: "4321ms", idle: "6543ms", tenant: a, seen: 0 });
    // Outside a tenant transaction the server's (or the role's) own setting applies: nothing was sent
    // at connection start.
    const outside = await sql<{
      statement: string;
    }>`select current_setting('statement_timeout') as statement`.execute(db);
    expect(outside.rows[0]?.statement).not.toBe("4321ms");
    expect((await titles(db, b, "b's episode")).length).toBe(1);
    expect(await titles(db, a, "b's episode")).toEqual([]);
  });

  it("enforces the statement timeout it sets", async () => {
    const db = open({ ...runtime(), pooler: "transaction", poolSize: 1, statementTimeoutMs: 150 });
    await expect(withTenant(db, a, (trx) => sql`select pg_sleep(3)`.execute(trx))).rejects.toMatchObject({
      code: "unavailable",
    });
    // The connection is fine afterwards, and the next transaction has its own context.
    expect(await titles(db, b, "b's episode")).toHaveLength(1);
  });
});

describe('pooler "auto" detects a pooler sharing server connections', () => {
  it("42P05, the context already prepared on the server connection: switches, runs once, commits once", async () => {
    const db = open({ url: ctx.database.directUrl, poolSize: 1 });
    expect(databasePooler(db)).toBe("none");
    // As if another client of a pooler had prepared it on this server connection.
    await poolOf(db).query("prepare cybernetic_tenant_context as select 1");
    const title = `after-42P05-${Date.now()}`;
    let runs = 0;
    await withTenant(db, a, async (trx) => {
      runs++;
      await trx.insertInto("episodes").values({ tenant_id: a, title, content: "x" }).execute();
    });
    expect(databasePooler(db)).toBe("transaction");
    expect(runs).toBe(2); // the first try aborted at its context, before any effect
    expect(await titles(db, a, title)).toHaveLength(1);
  });

  it("26000, the context missing on the server connection: switches and runs again", async () => {
    const db = open({ url: ctx.database.directUrl, poolSize: 1 });
    await titles(db, a, "warm-up"); // prepares the context on the one connection
    // As if the pooler had picked a server connection that never prepared it.
    await poolOf(db).query("deallocate cybernetic_tenant_context");
    const title = `after-26000-${Date.now()}`;
    await withTenant(db, a, (trx) =>
      trx.insertInto("episodes").values({ tenant_id: a, title, content: "x" }).execute(),
    );
    expect(databasePooler(db)).toBe("transaction");
    expect(await titles(db, a, title)).toHaveLength(1);
  });

  it("the idempotency mark misplaced: the request's effect and its mark still commit once, together", async () => {
    const db = open({ url: ctx.database.directUrl, poolSize: 1 });
    const platform = createPlatform({ db });
    const fingerprint = idempotencyFingerprint("POST", "/v1/episodes", Buffer.from("{}"));
    expect(await platform.idempotency.begin(a, "pooled-mark", fingerprint)).toEqual({ state: "run" });
    await poolOf(db).query("prepare cybernetic_idempotency_mark as select 1");
    const title = `marked-${Date.now()}`;
    await platform.idempotency.run(a, "pooled-mark", () =>
      platform.episodes.create(a, episodeInput({ title })),
    );
    expect(databasePooler(db)).toBe("transaction");
    expect(await titles(db, a, title)).toHaveLength(1);
    const key = await withTenant(db, a, (trx) =>
      trx
        .selectFrom("idempotency_keys")
        .select("committed_at")
        .where("key", "=", "pooled-mark")
        .executeTakeFirstOrThrow(),
    );
    expect(key.committed_at).not.toBeNull();
  });

  it('pooler "none" does not switch: the failure is reported, and nothing is written', async () => {
    const db = open({ url: ctx.database.directUrl, pooler: "none", poolSize: 1 });
    await poolOf(db).query("prepare cybernetic_tenant_context as select 1");
    const title = `none-${Date.now()}`;
    await expect(
      withTenant(db, a, (trx) =>
        trx.insertInto("episodes").values({ tenant_id: a, title, content: "x" }).execute(),
      ),
    ).rejects.toMatchObject({ code: "42P05" });
    expect(databasePooler(db)).toBe("none");
    expect(await titles(ctx.db, a, title)).toEqual([]);
  });
});
