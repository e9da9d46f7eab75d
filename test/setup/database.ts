/**
 * Per-file databases. `createTestDatabase()` clones the migrated template; `useTestPlatform()` wires the
 * clone into vitest's lifecycle and hands back a platform on the runtime role plus an owner connection.
 */
import { randomBytes } from "node:crypto";
import pg from "pg";
import { afterAll, beforeAll, inject } from "vitest";
import {
  createDatabase,
  createPlatform,
  type Db,
  type JobQueue,
  type Platform,
} from "../../packages/core/src/index.ts";
import type { StorageAdapter } from "../../packages/storage/src/index.ts";
import { OWNER_ROLE, RUNTIME_ROLE, withHost, withUser } from "./urls.ts";

/** A database of one's own, cloned from the migrated template. */
export interface TestDatabase {
  name: string;
  /** The admin (superuser or DATABASE_URL) connection string of this database. */
  adminUrl: string;
  /** The owner role: ran the migrations; subject to FORCE row-level security. */
  ownerUrl: string;
  /**
   * The runtime role (a member of cybernetic_app), as the application connects: through the test run's
   * PgBouncer in transaction mode when there is one (`CYBERNETIC_TEST_PGBOUNCER`), else directly.
   */
  appUrl: string;
  /**
   * The runtime role connecting to PostgreSQL itself, for sessions a transaction pooler cannot keep
   * (LISTEN, pg-boss, raw clients that look at the server). Equal to `appUrl` without a pooler.
   */
  directUrl: string;
  /** True when `appUrl` goes through a transaction pooler. */
  pooled: boolean;
  /** `DATABASE_URL` and `DATABASE_DIRECT_URL` for a CLI process on this database. */
  env: { DATABASE_URL: string; DATABASE_DIRECT_URL: string };
  drop(): Promise<void>;
}

async function onAdmin(url: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/** Creates a fresh database from the template. */
export async function createTestDatabase(): Promise<TestDatabase> {
  const info = inject("database");
  const name = `cyb_${info.run}_${randomBytes(4).toString("hex")}`;
  const create = `create database ${pg.escapeIdentifier(name)} template ${pg.escapeIdentifier(info.template)} owner ${pg.escapeIdentifier(OWNER_ROLE)}`;
  // Two clones of one template at the same instant can collide on the template's lock; retry briefly.
  for (let attempt = 0; ; attempt++) {
    try {
      await onAdmin(info.adminUrl, create);
      break;
    } catch (error) {
      if (attempt >= 20 || !String((error as Error).message).includes("being accessed by other users"))
        throw error;
      await new Promise((r) => setTimeout(r, 50 + attempt * 50));
    }
  }
  const directUrl = withUser(info.adminUrl, RUNTIME_ROLE, info.runtimePassword, name);
  const appUrl = info.pooler ? withHost(directUrl, info.pooler.host, info.pooler.port) : directUrl;
  return {
    name,
    adminUrl: withUser(
      info.adminUrl,
      decodeURIComponent(new URL(info.adminUrl).username),
      decodeURIComponent(new URL(info.adminUrl).password),
      name,
    ),
    ownerUrl: withUser(info.adminUrl, OWNER_ROLE, info.ownerPassword, name),
    appUrl,
    directUrl,
    pooled: info.pooler !== undefined,
    env: { DATABASE_URL: appUrl, DATABASE_DIRECT_URL: directUrl },
    drop: () => onAdmin(info.adminUrl, `drop database if exists ${pg.escapeIdentifier(name)} with (force)`),
  };
}

/** What `useTestPlatform` provides once `beforeAll` has run. */
export interface TestPlatformContext {
  database: TestDatabase;
  /** Runtime-role Kysely. */
  db: Db;
  /** Owner-role Kysely (row-level security still applies: it is forced). */
  owner: Db;
  platform: Platform;
}

/**
 * Registers `beforeAll`/`afterAll` hooks that create a database for this file and a platform on it.
 * Read the returned object's fields inside tests (they are filled in by `beforeAll`).
 */
export function useTestPlatform(
  options: {
    queue?: (database: TestDatabase) => JobQueue;
    storage?: () => Promise<StorageAdapter> | StorageAdapter;
  } = {},
): TestPlatformContext {
  const ctx = {} as TestPlatformContext;
  beforeAll(async () => {
    ctx.database = await createTestDatabase();
    ctx.db = createDatabase({ url: ctx.database.appUrl, directUrl: ctx.database.directUrl, poolSize: 5 });
    ctx.owner = createDatabase({ url: ctx.database.ownerUrl, poolSize: 2 });
    ctx.platform = createPlatform({
      db: ctx.db,
      ...(options.queue ? { queue: options.queue(ctx.database) } : {}),
      ...(options.storage ? { storage: await options.storage() } : {}),
    });
  });
  afterAll(async () => {
    await ctx.db?.destroy();
    await ctx.owner?.destroy();
    await ctx.database?.drop();
  });
  return ctx;
}
