import { sql } from "kysely";
import { afterAll, describe, expect, it } from "vitest";
import { createTestDatabase, useTestPlatform } from "../../../test/setup/database.ts";
import {
  createDatabase,
  migrate,
  migrationSql,
  migrationStatus,
  migrations,
  schemaColumns,
} from "../src/index.ts";

describe("migrations", () => {
  const ctx = useTestPlatform();

  it("records every shipped migration as applied in the template clone", async () => {
    const status = await migrationStatus(ctx.owner);
    expect(status.map((s) => s.name)).toEqual(migrations.map((m) => m.name));
    expect(status.every((s) => s.executedAt instanceof Date)).toBe(true);
  });

  it("re-running is a no-op", async () => {
    const result = await migrate(ctx.owner);
    expect(result.applied).toEqual([]);
    expect(result.status.every((s) => s.executedAt !== null)).toBe(true);
  });

  it("the Database interface matches the migrated columns exactly", async () => {
    const { rows } = await sql<{
      table_name: string;
      column_name: string;
      udt_name: string;
      is_nullable: string;
    }>`
      select table_name, column_name, udt_name, is_nullable from information_schema.columns
       where table_schema = 'cybernetic' and table_name not like 'kysely_%'
       order by table_name, column_name`.execute(ctx.owner);
    const actual: Record<string, Record<string, { type: string; nullable: boolean }>> = {};
    for (const r of rows) {
      actual[r.table_name] ??= {};
      (actual[r.table_name] as Record<string, { type: string; nullable: boolean }>)[r.column_name] = {
        type: r.udt_name,
        nullable: r.is_nullable === "YES",
      };
    }
    expect(actual).toEqual(JSON.parse(JSON.stringify(schemaColumns)));
  });

  it("prints the SQL of every migration for operators", () => {
    const text = migrationSql();
    expect(text).toContain("-- migration 0001_initial");
    expect(text).toContain("force row level security");
    expect(migrationSql(migrations.at(-1)?.name)).toBe("");
    expect(migrationSql("0001_initial")).not.toContain("0001_initial");
  });
});

describe("migrating an empty database", () => {
  const dbs: { drop(): Promise<void> }[] = [];
  afterAll(async () => {
    for (const d of dbs.reverse()) await d.drop();
  });

  it("creates the schema from nothing, and concurrent migrators apply it once", async () => {
    // A clone of the template has the schema already; start from an empty database instead.
    const clone = await createTestDatabase();
    dbs.push(clone);
    const admin = createDatabase({ url: clone.adminUrl, poolSize: 1 });
    const emptyName = `${clone.name}_empty`;
    await sql.raw(`create database ${emptyName} owner cybernetic_test_owner`).execute(admin);
    await admin.destroy();
    dbs.push({
      drop: async () => {
        const a = createDatabase({ url: clone.adminUrl, poolSize: 1 });
        await sql.raw(`drop database if exists ${emptyName} with (force)`).execute(a);
        await a.destroy();
      },
    });
    const url = new URL(clone.ownerUrl);
    url.pathname = `/${emptyName}`;
    const owners = [0, 1, 2].map(() => createDatabase({ url: url.toString(), poolSize: 2 }));
    try {
      const before = await migrationStatus(owners[0]!);
      expect(before.every((s) => s.executedAt === null)).toBe(true);
      const results = await Promise.all(owners.map((o) => migrate(o)));
      const applied = results.flatMap((r) => r.applied);
      expect(applied).toEqual(migrations.map((m) => m.name));
      const { rows } = await sql<{
        n: number;
      }>`select count(*)::int as n from pg_tables where schemaname = 'cybernetic'`.execute(owners[0]!);
      expect(rows[0]?.n).toBeGreaterThanOrEqual(Object.keys(schemaColumns).length);
      expect((await migrate(owners[1]!)).applied).toEqual([]);
    } finally {
      await Promise.all(owners.map((o) => o.destroy()));
    }
  });
});
