/**
 * bench/rls: what row-level security costs a tenant-scoped read.
 *
 * 1,000 tenants × 1,000 episodes. "The 20 newest episodes" of a random tenant, four ways, interleaved in
 * one run on one embedded PostgreSQL:
 *  - baseline: the owner-level connection (superuser here: no RLS applies), one statement, one round trip;
 *  - withTenant: the runtime role under forced RLS, BEGIN and the prepared set_config pipelined with the query
 *    right behind it (one round trip), then COMMIT (read only: the result is returned before the COMMIT
 *    completes) — what every tenant-scoped read does;
 *  - withTenant + query builder: the same, with the query built by Kysely (what services do);
 *  - withTenant, pooler "transaction": the same, with the unnamed context (parsed with every transaction,
 *    also setting the timeouts) that transaction poolers need: the setting's own cost, on a direct connection;
 *  - naive: BEGIN, set_config, query, COMMIT as four round trips (for comparison).
 * When a `pgbouncer` program is installed (Debian's package), two more ways go through a real PgBouncer in
 * transaction mode: the baseline's statement, and withTenant with pooler "transaction" (the hop's cost
 * plus the setting's). BENCH_RLS_PGBOUNCER=0 leaves them out.
 * Sizes can be lowered with BENCH_RLS_TENANTS / BENCH_RLS_EPISODES / BENCH_RLS_ITERATIONS.
 */
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CompiledQuery } from "kysely";
import pg from "pg";
import { createDatabase, ensureRuntimeRole, migrate, withTenant } from "../../packages/core/src/index.ts";
import { startEmbeddedPostgres } from "../../packages/gateway/src/embedded/embedded-postgres.ts";
import { type RunningPgBouncer, startPgBouncer } from "../../test/setup/pgbouncer.ts";
import { type BenchResult, nowMs, percentile, row } from "../lib.ts";

const TENANTS = Number(process.env.BENCH_RLS_TENANTS ?? 1000);
const EPISODES = Number(process.env.BENCH_RLS_EPISODES ?? 1000);
const ITERATIONS = Number(process.env.BENCH_RLS_ITERATIONS ?? 3000);
const QUERY = `select * from cybernetic.episodes where tenant_id = $1 order by created_at desc, id desc limit 20`;

export default async function run(): Promise<BenchResult> {
  const dataDir = await mkdtemp(join(tmpdir(), "cybernetic-bench-rls-"));
  const superPassword = randomBytes(8).toString("hex");
  const server = await startEmbeddedPostgres({ dataDir, password: superPassword, ephemeral: true });
  let pgbouncer: RunningPgBouncer | undefined;
  try {
    const admin = new pg.Client({ connectionString: server.url });
    await admin.connect();
    await admin.query("create database bench");
    await admin.end();
    const superUrl = server.urlFor("bench");
    const owner = createDatabase({ url: superUrl, poolSize: 2 });
    await migrate(owner);
    const runtimePassword = randomBytes(8).toString("hex");
    await ensureRuntimeRole(owner, { user: "bench_runtime", password: runtimePassword });
    await owner.destroy();

    // Seed as the superuser (it bypasses RLS): tenants, then episodes with spread-out timestamps.
    const seed = new pg.Client({ connectionString: superUrl });
    await seed.connect();
    const t0 = nowMs();
    await seed.query(
      `insert into cybernetic.tenants (id, name, slug)
       select gen_random_uuid(), 'Tenant ' || i, 'tenant-' || i from generate_series(1, $1) i`,
      [TENANTS],
    );
    await seed.query(
      `insert into cybernetic.episodes (tenant_id, title, content, tags, created_at)
       select t.id, 'Episode ' || i, 'content of episode ' || i, array['ops'],
              now() - (i || ' seconds')::interval
         from cybernetic.tenants t, generate_series(1, $1) i`,
      [EPISODES],
    );
    await seed.query("vacuum analyze cybernetic.episodes");
    const seedSeconds = (nowMs() - t0) / 1000;
    const tenants = (await seed.query<{ id: string }>("select id from cybernetic.tenants")).rows.map(
      (r) => r.id,
    );
    await seed.end();

    const runtimeUrl = new URL(superUrl);
    runtimeUrl.username = "bench_runtime";
    runtimeUrl.password = runtimePassword;
    // A pool of one connection per way, so no way ever waits for another's connection.
    const db = createDatabase({ url: runtimeUrl.toString(), poolSize: 1 });
    const builderDb = createDatabase({ url: runtimeUrl.toString(), poolSize: 1 });
    const base = new pg.Pool({ connectionString: superUrl, max: 1 });
    const naive = new pg.Pool({ connectionString: runtimeUrl.toString(), max: 1 });
    const unnamedDb = createDatabase({ url: runtimeUrl.toString(), pooler: "transaction", poolSize: 1 });
    if (process.env.BENCH_RLS_PGBOUNCER !== "0") {
      pgbouncer = await startPgBouncer({
        serverUrl: superUrl,
        users: { bench_runtime: runtimePassword, postgres: superPassword },
        poolSize: 4,
      }).catch((error: Error) => {
        console.warn(`[bench rls] no PgBouncer ways: ${error.message.split("\n")[0]}`);
        return undefined;
      });
    }
    const viaPgBouncer = (url: URL) => {
      const u = new URL(url);
      u.port = String(pgbouncer?.port);
      return u.toString();
    };
    const pooledBase =
      pgbouncer && new pg.Pool({ connectionString: viaPgBouncer(new URL(superUrl)), max: 1 });
    const pooledDb =
      pgbouncer && createDatabase({ url: viaPgBouncer(runtimeUrl), pooler: "transaction", poolSize: 1 });
    const read = (on: typeof db) => (tenant: string) =>
      withTenant(
        on,
        tenant,
        async (trx) => (await trx.executeQuery(CompiledQuery.raw(QUERY, [tenant]))).rows.length,
        { readOnly: true },
      );

    const ways: Record<string, (tenant: string) => Promise<number>> = {
      baseline: async (tenant) => (await base.query(QUERY, [tenant])).rowCount ?? 0,
      // The same SQL text as the baseline, executed inside withTenant.
      withTenant: (tenant) =>
        withTenant(
          db,
          tenant,
          async (trx) => (await trx.executeQuery(CompiledQuery.raw(QUERY, [tenant]))).rows.length,
          {
            readOnly: true,
          },
        ),
      // What a service does: the same query built with Kysely's query builder inside withTenant.
      withTenantBuilder: (tenant) =>
        withTenant(
          builderDb,
          tenant,
          async (trx) =>
            (
              await trx
                .selectFrom("episodes")
                .selectAll()
                .where("tenant_id", "=", tenant)
                .orderBy("created_at", "desc")
                .orderBy("id", "desc")
                .limit(20)
                .execute()
            ).length,
          { readOnly: true },
        ),
      // The pooler setting: the unnamed context, on the same direct connection.
      withTenantUnnamed: read(unnamedDb),
      ...(pooledBase && pooledDb
        ? {
            pgbouncerBaseline: async (tenant: string) =>
              (await pooledBase.query(QUERY, [tenant])).rowCount ?? 0,
            pgbouncerWithTenant: read(pooledDb),
          }
        : {}),
      naive: async (tenant) => {
        const client = await naive.connect();
        try {
          await client.query("begin read only");
          await client.query("select set_config('app.tenant_id', $1, true)", [tenant]);
          const r = await client.query(QUERY, [tenant]);
          await client.query("commit");
          return r.rowCount ?? 0;
        } finally {
          client.release();
        }
      },
    };
    const samples: Record<string, number[]> = Object.fromEntries(Object.keys(ways).map((name) => [name, []]));
    const pick = () => tenants[Math.floor(Math.random() * tenants.length)] as string;
    // Warm up every path (plans, connections), then interleave so drift hits all of them alike.
    for (let i = 0; i < 300; i++) for (const fn of Object.values(ways)) await fn(pick());
    // The order of the ways is shuffled every iteration: what one way leaves running (a read's background
    // COMMIT) then lands on every way alike instead of always on the same neighbour. A way never runs twice
    // in a row: its second read would wait for its own first read's COMMIT to free the pool's one
    // connection, a round trip no pool with a spare connection makes a read pay.
    const order = Object.entries(ways);
    for (let i = 0; i < ITERATIONS; i++) {
      const tenant = pick();
      const last = order.at(-1)?.[0];
      do {
        for (let j = order.length - 1; j > 0; j--) {
          const k = Math.floor(Math.random() * (j + 1));
          [order[j], order[k]] = [order[k] as (typeof order)[number], order[j] as (typeof order)[number]];
        }
      } while (order[0]?.[0] === last);
      for (const [name, fn] of order) {
        const start = nowMs();
        const rows = await fn(tenant);
        samples[name]?.push(nowMs() - start);
        if (rows !== 20) throw new Error(`${name} returned ${rows} rows, expected 20`);
      }
    }
    await db.destroy();
    await builderDb.destroy();
    await unnamedDb.destroy();
    await pooledDb?.destroy();
    await pooledBase?.end();
    await base.end();
    await naive.end();

    const p = (name: string, q: number) => percentile(samples[name] ?? [], q) * 1000;
    return {
      name: "rls",
      context: {
        tenants: TENANTS,
        episodesPerTenant: EPISODES,
        iterations: ITERATIONS,
        seedSeconds,
        postgres: "embedded",
        pgbouncer: pgbouncer?.version ?? "not installed",
      },
      rows: [
        row("p50 baseline (owner, no RLS, 1 round trip)", p("baseline", 50), undefined, "µs"),
        row("p99 baseline", p("baseline", 99), undefined, "µs"),
        row(
          "p50 withTenant (RLS, read only: 1 round trip waited)",
          p("withTenant", 50),
          p("baseline", 50),
          "µs",
          {
            target: "<= 1.5x",
          },
        ),
        row("p99 withTenant", p("withTenant", 99), p("baseline", 99), "µs", { target: "<= 1.5x" }),
        row("p50 withTenant + query builder", p("withTenantBuilder", 50), p("baseline", 50), "µs"),
        row("p99 withTenant + query builder", p("withTenantBuilder", 99), p("baseline", 99), "µs"),
        row(
          'p50 withTenant, pooler "transaction" (unnamed context + timeouts, direct)',
          p("withTenantUnnamed", 50),
          p("baseline", 50),
          "µs",
        ),
        row('p99 withTenant, pooler "transaction"', p("withTenantUnnamed", 99), p("baseline", 99), "µs"),
        row(
          'p50 the pooler setting alone (pooler "transaction" vs "none")',
          p("withTenantUnnamed", 50),
          p("withTenant", 50),
          "µs",
        ),
        ...(pooledDb
          ? [
              row(
                "p50 baseline through PgBouncer (transaction mode)",
                p("pgbouncerBaseline", 50),
                p("baseline", 50),
                "µs",
              ),
              row(
                'p50 withTenant through PgBouncer, pooler "transaction"',
                p("pgbouncerWithTenant", 50),
                p("pgbouncerBaseline", 50),
                "µs",
                { note: "baseline: the same statement through the same PgBouncer" },
              ),
              row(
                'p99 withTenant through PgBouncer, pooler "transaction"',
                p("pgbouncerWithTenant", 99),
                p("pgbouncerBaseline", 99),
                "µs",
              ),
            ]
          : []),
        row("p50 naive (RLS, 4 round trips)", p("naive", 50), p("baseline", 50), "µs"),
        row("p99 naive", p("naive", 99), p("baseline", 99), "µs"),
        row("round trips a tenant-scoped read waits for (withTenant, read only)", 1, 1, "round trips", {
          note:
            "by design, not timed: BEGIN, the prepared set_config and the query are pipelined (proven by " +
            "packages/core/test/with-tenant.test.ts); COMMIT completes after the result is returned",
        }),
      ],
    };
  } finally {
    await pgbouncer?.stop();
    await server.stop().catch(() => {});
    await rm(dataDir, { recursive: true, force: true });
  }
}
