/**
 * A PostgreSQL of a test's own (the embedded one the CLI uses), so the test can stop and start it again
 * without touching the one every other file shares. Prepared the way `cybernetic serve` prepares its
 * embedded default (packages/gateway/src/cli/database-runtime.ts): a `cybernetic` database migrated as
 * the superuser, pg-boss's schema installed, and a runtime login role that row-level security restricts.
 */
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { createDatabase, ensureRuntimeRole, migrate } from "../../../packages/core/src/index.ts";
import {
  type EmbeddedPostgresHandle,
  freePort,
  startEmbeddedPostgres,
} from "../../../packages/gateway/src/embedded/embedded-postgres.ts";
import { installQueue } from "../../../packages/workers/src/queue/install-queue.ts";
import { onAdmin } from "./postgres.ts";

const DATABASE = "cybernetic";
const RUNTIME_ROLE = "cybernetic_runtime";

/** A running PostgreSQL of one's own. */
export interface OwnPostgres {
  /** Superuser URL of the `cybernetic` database. */
  adminUrl: string;
  /** The runtime role's URL (row-level security applies). */
  runtimeUrl: string;
  /** Fast shutdown (SIGINT: every session is ended with 57P01), waiting for the server to exit. */
  stop(): Promise<void>;
  /** Starts the server again on the same data directory and port. */
  start(): Promise<void>;
  /** Stops the server (if running) and removes its data directory. */
  destroy(): Promise<void>;
}

function withUser(url: string, user: string, password: string, database: string): string {
  const u = new URL(url);
  u.username = encodeURIComponent(user);
  u.password = encodeURIComponent(password);
  u.pathname = `/${database}`;
  return u.toString();
}

/** Initialises, starts and prepares a PostgreSQL in a temporary directory. */
export async function startOwnPostgres(): Promise<OwnPostgres> {
  const dataDir = await mkdtemp(join(tmpdir(), "cybernetic-fault-pg-"));
  const password = randomBytes(12).toString("hex");
  const port = await freePort();
  const options = {
    dataDir,
    password,
    port,
    // Kept on stop (a restart reuses it); `destroy()` removes it.
    ephemeral: false,
    exitHooks: false,
    settings: { fsync: "off", synchronous_commit: "off", full_page_writes: "off" },
  };
  let handle: EmbeddedPostgresHandle | undefined = await startEmbeddedPostgres(options);
  const superuserUrl = handle.url;
  const runtimePassword = randomBytes(12).toString("hex");
  const adminUrl = withUser(superuserUrl, handle.user, password, DATABASE);
  try {
    await onAdmin(superuserUrl, (client: pg.Client) =>
      client.query(`create database ${pg.escapeIdentifier(DATABASE)}`),
    );
    const owner = createDatabase({ url: adminUrl, poolSize: 1 });
    try {
      await migrate(owner);
      await ensureRuntimeRole(owner, { user: RUNTIME_ROLE, password: runtimePassword });
    } finally {
      await owner.destroy();
    }
    await installQueue(adminUrl);
  } catch (error) {
    await handle.stop();
    await rm(dataDir, { recursive: true, force: true });
    throw error;
  }
  return {
    adminUrl,
    runtimeUrl: withUser(superuserUrl, RUNTIME_ROLE, runtimePassword, DATABASE),
    async stop() {
      await handle?.stop();
      handle = undefined;
    },
    async start() {
      handle ??= await startEmbeddedPostgres(options);
    },
    async destroy() {
      await handle?.stop();
      handle = undefined;
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
