/**
 * pg-boss's repeated statements as prepared statements, on real PostgreSQL: the queue's insert is
 * prepared on its connection after a few sends; texts that vary are never prepared; the number
 * prepared is capped; a text PostgreSQL will not run prepared (several statements, a table changed
 * under a prepared `select *`) still runs, unnamed.
 */
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createJobQueue } from "../src/index.ts";
import { prepareRepeatedStatements } from "../src/queue/internal/prepared-statements.ts";
import { useQueuePlatform } from "./support/queue-platform.ts";

const ctx = useQueuePlatform(() => {});

/** One connection, so every statement and `pg_prepared_statements` see the same session. */
let pool: pg.Pool;
beforeAll(() => {
  pool = new pg.Pool({ connectionString: ctx.database.ownerUrl, max: 1 });
  pool.on("error", () => {});
});
afterAll(async () => {
  await pool.end();
});

type Db = { executeSql(text: unknown, values?: unknown[]): Promise<pg.QueryResult> };
const poolDb = (): Db => ({ executeSql: (text, values) => pool.query(text as string, values) });
/** The session's prepared statements, asked past the wrapper. */
const prepared = async () =>
  (
    await pool.query<{ name: string; statement: string }>(
      "select name, statement from pg_prepared_statements where name like 'cybernetic_%'",
    )
  ).rows;

describe("prepared pg-boss statements", () => {
  it("prepares the queue's insert on its connection after it repeats", async () => {
    const own = createJobQueue({ connectionString: ctx.database.directUrl, poolSize: 1 });
    await own.start();
    try {
      for (let i = 0; i < 4; i++) await own.send("policy.evaluate", { tenantId: "t", eventId: String(i) });
      const db = own.boss.getDb();
      const rows = (
        await db.executeSql("select statement from pg_prepared_statements where name like 'cybernetic_%'")
      ).rows as { statement: string }[];
      expect(rows.some((row) => row.statement.includes("INSERT INTO"))).toBe(true);
    } finally {
      await own.stop({ graceful: false });
    }
  });

  it("leaves a queue's statements unnamed with prepareStatements: false", async () => {
    const own = createJobQueue({
      connectionString: ctx.database.directUrl,
      poolSize: 1,
      prepareStatements: false,
    });
    await own.start();
    try {
      for (let i = 0; i < 4; i++) await own.send("policy.evaluate", { tenantId: "t", eventId: String(i) });
      const rows = (
        await own.boss
          .getDb()
          .executeSql("select count(*)::int as n from pg_prepared_statements where name like 'cybernetic_%'")
      ).rows as { n: number }[];
      expect(rows[0]?.n).toBe(0);
    } finally {
      await own.stop({ graceful: false });
    }
  });

  it("names a text only once it has repeated, never one that varies, and at most `limit` of them", async () => {
    const db = poolDb();
    prepareRepeatedStatements(db, { after: 3, limit: 2 });
    await db.executeSql("select 1 as one where $1::int = 1", [1]);
    await db.executeSql("select 1 as one where $1::int = 1", [1]);
    expect(await prepared()).toEqual([]);
    await db.executeSql("select 1 as one where $1::int = 1", [1]);
    expect((await prepared()).map((row) => row.statement)).toEqual(["select 1 as one where $1::int = 1"]);
    for (let i = 0; i < 20; i++) await db.executeSql(`select ${i} as varying`);
    expect(await prepared()).toHaveLength(1);
    for (const n of [2, 3, 4]) {
      for (let i = 0; i < 3; i++) await db.executeSql(`select ${n} as repeated`);
    }
    const names = (await prepared()).map((row) => row.statement).sort();
    expect(names).toEqual(["select 1 as one where $1::int = 1", "select 2 as repeated"]);
    // Past the limit a text still runs, unnamed.
    expect((await db.executeSql("select 4 as repeated")).rows).toEqual([{ repeated: 4 }]);
    await pool.query("deallocate all");
  });

  it("runs a text of several statements, which cannot be prepared, unnamed", async () => {
    const db = poolDb();
    prepareRepeatedStatements(db, { after: 1 });
    for (let i = 0; i < 3; i++) {
      const results = (await db.executeSql("select 1 as a; select 2 as b")) as unknown as pg.QueryResult[];
      expect(results.map((result) => result.rows)).toEqual([[{ a: 1 }], [{ b: 2 }]]);
    }
    expect(await prepared()).toEqual([]);
  });

  it("names nothing more once a prepared statement goes missing on the server (a pooler), and says so once", async () => {
    const db = poolDb();
    const disabled: unknown[] = [];
    prepareRepeatedStatements(db, { after: 1, onDisabled: (error) => disabled.push(error) });
    const text = "select 7 as seven where $1::int = 1";
    expect((await db.executeSql(text, [1])).rows).toEqual([{ seven: 7 }]);
    expect(await prepared()).toHaveLength(1);
    // What a transaction pooler does: the next statement lands on a server connection that never saw it.
    await pool.query("deallocate all");
    expect((await db.executeSql(text, [1])).rows).toEqual([{ seven: 7 }]);
    expect(disabled).toHaveLength(1);
    expect((disabled[0] as { code?: string }).code).toBe("26000");
    for (let i = 0; i < 3; i++) await db.executeSql("select 8 as eight");
    expect(await prepared()).toEqual([]);
    expect(disabled).toHaveLength(1);
  });

  it("runs a prepared statement again, unnamed, after its table changed its columns", async () => {
    await pool.query("create table prepared_probe (a int); insert into prepared_probe values (1)");
    try {
      const db = poolDb();
      prepareRepeatedStatements(db, { after: 1 });
      expect((await db.executeSql("select * from prepared_probe")).rows).toEqual([{ a: 1 }]);
      expect(await prepared()).toHaveLength(1);
      await pool.query("alter table prepared_probe add column b int default 2");
      expect((await db.executeSql("select * from prepared_probe")).rows).toEqual([{ a: 1, b: 2 }]);
      expect((await db.executeSql("select * from prepared_probe")).rows).toEqual([{ a: 1, b: 2 }]);
    } finally {
      await pool.query("drop table prepared_probe; deallocate all");
    }
  });
});
