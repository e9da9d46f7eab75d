/**
 * Provides a real PostgreSQL to every test file: `DATABASE_URL` when set (a role that may create databases
 * and roles, on any PostgreSQL >= 15), otherwise one embedded PostgreSQL for the whole run (random free
 * port, temporary data directory, removed at the end).
 *
 * Migrations run once, as a dedicated non-superuser owner role, into a template database; each test file
 * clones it (`CREATE DATABASE … TEMPLATE`, see `test/setup/database.ts`), so files run in parallel and never
 * see each other's rows.
 */
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import type { TestProject } from "vitest/node";
import { createDatabase, ensureRuntimeRole, migrate } from "../../packages/core/src/index.ts";
import { startEmbeddedPostgres } from "../../packages/gateway/src/embedded/embedded-postgres.ts";
import { installQueue } from "../../packages/workers/src/queue/install-queue.ts";
import { type RunningPgBouncer, startPgBouncer } from "./pgbouncer.ts";
import { OWNER_ROLE, RUNTIME_ROLE, type TestDatabaseInfo, withUser } from "./urls.ts";

declare module "vitest" {
  interface ProvidedContext {
    database: TestDatabaseInfo;
  }
}

async function admin<T>(url: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  let adminUrl = process.env.DATABASE_URL;
  let stopEmbedded: (() => Promise<void>) | undefined;
  let dataDir: string | undefined;
  if (!adminUrl) {
    dataDir = await mkdtemp(join(tmpdir(), "cybernetic-test-pg-"));
    const server = await startEmbeddedPostgres({
      dataDir,
      password: randomBytes(12).toString("hex"),
      ephemeral: true,
      // Durability is not under test; speed is welcome. Many files run at once, each with a pool.
      settings: { fsync: "off", synchronous_commit: "off", full_page_writes: "off", max_connections: 400 },
    });
    adminUrl = server.url;
    stopEmbedded = server.stop;
  }

  const run = `${process.pid.toString(36)}${randomBytes(3).toString("hex")}`;
  const template = `cyb_tpl_${run}`;
  const ownerPassword = randomBytes(12).toString("hex");
  const runtimePassword = randomBytes(12).toString("hex");

  const version = await admin(adminUrl, async (client) => {
    // Roles are cluster-wide; a previous run against the same server may have left them.
    const owner = pg.escapeIdentifier(OWNER_ROLE);
    const exists = await client.query("select 1 from pg_roles where rolname = $1", [OWNER_ROLE]);
    await client.query(
      `${exists.rowCount ? "alter" : "create"} role ${owner} login nosuperuser createdb createrole password ${pg.escapeLiteral(ownerPassword)}`,
    );
    await client.query(`create database ${pg.escapeIdentifier(template)} owner ${owner}`);
    return (
      (await client.query<{ server_version: string }>("show server_version")).rows[0]?.server_version ?? "?"
    );
  });

  const ownerUrl = withUser(adminUrl, OWNER_ROLE, ownerPassword, template);
  const ownerDb = createDatabase({ url: ownerUrl, poolSize: 2 });
  try {
    await migrate(ownerDb);
    await installQueue(ownerUrl);
    await ensureRuntimeRole(ownerDb, { user: RUNTIME_ROLE, password: runtimePassword });
  } catch (error) {
    await stopEmbedded?.();
    throw error;
  } finally {
    await ownerDb.destroy();
  }

  // The runtime role through a transaction-mode PgBouncer (CI's pass on the machine's PostgreSQL).
  let pgbouncer: RunningPgBouncer | undefined;
  if (process.env.CYBERNETIC_TEST_PGBOUNCER) {
    try {
      pgbouncer = await startPgBouncer({ serverUrl: adminUrl, users: { [RUNTIME_ROLE]: runtimePassword } });
    } catch (error) {
      await stopEmbedded?.();
      throw error;
    }
  }

  const info: TestDatabaseInfo = {
    adminUrl,
    template,
    run,
    ownerPassword,
    runtimePassword,
    serverVersion: version,
    ...(pgbouncer
      ? { pooler: { host: pgbouncer.host, port: pgbouncer.port, version: pgbouncer.version } }
      : {}),
  };
  project.provide("database", info);
  if (!process.env.VITEST_QUIET_DB) {
    console.log(
      `[test db] PostgreSQL ${version} (${process.env.DATABASE_URL ? "DATABASE_URL" : "embedded"})${pgbouncer ? `, runtime role through ${pgbouncer.version} in transaction mode on port ${pgbouncer.port}` : ""}`,
    );
  }

  return async () => {
    await pgbouncer?.stop();
    await admin(adminUrl, async (client) => {
      const { rows } = await client.query<{ datname: string }>(
        "select datname from pg_database where datname like $1",
        [`cyb_%${run}%`],
      );
      for (const { datname } of rows) {
        await client.query(`drop database if exists ${pg.escapeIdentifier(datname)} with (force)`);
      }
    }).catch((error: unknown) => console.error("[test db] cleanup failed:", error));
    await stopEmbedded?.();
    if (dataDir) await rm(dataDir, { recursive: true, force: true });
  };
}
