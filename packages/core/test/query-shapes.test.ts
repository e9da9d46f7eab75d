/**
 * Queries compiled once per shape, on real PostgreSQL: each shape is built once however often it runs,
 * every run binds its own values (a tenant's read never sees another tenant's rows), and constants the
 * builder wrote stay in place.
 */
import { sql } from "kysely";
import { describe, expect, it } from "vitest";
import { episodeInput, seedTenant } from "../../../test/factories/index.ts";
import { useTestPlatform } from "../../../test/setup/database.ts";
import { type Database, withTenant } from "../src/index.ts";
import { QueryShapes } from "../src/internal/query-shapes.ts";

describe("QueryShapes", () => {
  const ctx = useTestPlatform();

  it("builds each shape once and binds every run's own values", async () => {
    const a = (await seedTenant(ctx.platform)).tenant.id;
    const b = (await seedTenant(ctx.platform)).tenant.id;
    for (const [tenant, title] of [
      [a, "A one"],
      [a, "A two"],
      [b, "B one"],
    ] as const) {
      await ctx.platform.episodes.create(tenant, episodeInput({ title }));
    }
    const built: string[] = [];
    const titles = new QueryShapes<
      "all" | "titled",
      { tenant: string; title: string },
      { title: string },
      Database
    >((trx, shape, slot) => {
      built.push(shape);
      const q = trx
        .selectFrom("episodes")
        .select("title")
        .where("tenant_id", "=", slot("tenant"))
        // A constant the builder wrote: it stays a parameter with this value.
        .where(sql<boolean>`length(title) > ${0}`)
        .orderBy("title");
      return shape === "titled" ? q.where("title", "=", slot("title")) : q;
    });
    const read = (tenant: string, shape: "all" | "titled", title = "") =>
      withTenant(ctx.db, tenant, (trx) => titles.run(trx, shape, { tenant, title }), { readOnly: true }).then(
        (rows) => rows.map((row) => row.title),
      );

    expect(await read(a, "all")).toEqual(["A one", "A two"]);
    expect(await read(b, "all")).toEqual(["B one"]);
    expect(await read(a, "titled", "A two")).toEqual(["A two"]);
    expect(await read(a, "titled", "A one")).toEqual(["A one"]);
    // Another tenant's id in the slot finds nothing: row-level security holds whatever the SQL says.
    expect(await withTenant(ctx.db, a, (trx) => titles.run(trx, "all", { tenant: b, title: "" }))).toEqual(
      [],
    );
    expect(built).toEqual(["all", "titled"]);
  });
});
