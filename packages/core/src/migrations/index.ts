import {
  type Kysely,
  type Migration,
  type MigrationProvider,
  type MigrationResultSet,
  Migrator,
  sql,
} from "kysely";
import { CyberneticError } from "../errors.js";
import * as m0001 from "./0001-initial.js";
import * as m0002 from "./0002-workers.js";
import * as m0003 from "./0003-idempotency.js";
import * as m0004 from "./0004-telegram.js";
import * as m0005 from "./0005-units.js";
import * as m0006 from "./0006-alerts.js";
import * as m0007 from "./0007-audits.js";
import * as m0008 from "./0008-indicators.js";

/** One migration: a name (sorted order is run order) and the SQL it runs. */
export interface MigrationDefinition {
  name: string;
  /** Plain SQL, possibly many statements; run as one simple-protocol query. */
  up: string;
}

/**
 * Every migration, in order. Shipped inside the package as data (no filesystem reads), so the SDK works
 * bundled. Migrations are forward-only: a new change is a new entry, never an edit.
 */
export const migrations: readonly MigrationDefinition[] = [
  { name: "0001_initial", up: m0001.up },
  { name: "0002_workers", up: m0002.up },
  { name: "0003_idempotency", up: m0003.up },
  { name: "0004_telegram", up: m0004.up },
  { name: "0005_units", up: m0005.up },
  { name: "0006_alerts", up: m0006.up },
  { name: "0007_audits", up: m0007.up },
  { name: "0008_indicators", up: m0008.up },
];

const MIGRATION_TABLE = "kysely_migration";
const MIGRATION_LOCK_TABLE = "kysely_migration_lock";
const SCHEMA = "cybernetic";

class ListProvider implements MigrationProvider {
  async getMigrations(): Promise<Record<string, Migration>> {
    const out: Record<string, Migration> = {};
    for (const def of migrations) {
      out[def.name] = { up: async (db) => void (await sql.raw(def.up).execute(db)) };
    }
    return out;
  }
}

function migrator(db: Kysely<unknown>): Migrator {
  return new Migrator({
    db,
    provider: new ListProvider(),
    migrationTableSchema: SCHEMA,
    migrationTableName: MIGRATION_TABLE,
    migrationLockTableName: MIGRATION_LOCK_TABLE,
  });
}

/** The state of one migration. */
export interface MigrationState {
  name: string;
  executedAt: Date | null;
}

/** What `migrate()` did. */
export interface MigrateResult {
  /** Names applied by this call, in order (empty when the database was already up to date). */
  applied: string[];
  status: MigrationState[];
}

/**
 * Applies every pending migration, as the role that will own the schema (not the runtime role).
 * Kysely's Migrator holds a PostgreSQL advisory lock for the run, so several processes starting at once
 * migrate once; pending migrations run in one transaction, all or nothing. Re-running is a no-op.
 *
 * @example
 * ```ts
 * const owner = createDatabase({ url: process.env.DATABASE_OWNER_URL! });
 * const { applied } = await migrate(owner);
 * ```
 */
export async function migrate<DB>(db: Kysely<DB>): Promise<MigrateResult> {
  const result: MigrationResultSet = await migrator(db as unknown as Kysely<unknown>).migrateToLatest();
  if (result.error) {
    const failed = result.results?.find((r) => r.status === "Error")?.migrationName;
    throw new CyberneticError(
      "internal",
      `migration ${failed ?? "(unknown)"} failed: ${result.error instanceof Error ? result.error.message : String(result.error)}`,
      { cause: result.error },
    );
  }
  return {
    applied: (result.results ?? []).filter((r) => r.status === "Success").map((r) => r.migrationName),
    status: await migrationStatus(db),
  };
}

/**
 * Lists every migration this package ships and when it was applied (`null`: pending).
 *
 * @example
 * ```ts
 * const pending = (await migrationStatus(db)).filter((m) => m.executedAt === null);
 * ```
 */
export async function migrationStatus<DB>(db: Kysely<DB>): Promise<MigrationState[]> {
  const infos = await migrator(db as unknown as Kysely<unknown>).getMigrations();
  return infos.map((m) => ({ name: m.name, executedAt: m.executedAt ?? null }));
}

/**
 * The SQL of every migration (or of those after `after`), for operators who apply schema changes by hand
 * or review them first.
 *
 * @example
 * ```ts
 * process.stdout.write(migrationSql());
 * ```
 */
export function migrationSql(after?: string): string {
  return migrations
    .filter((m) => after === undefined || m.name > after)
    .map((m) => `-- migration ${m.name}\n${m.up.trim()}\n`)
    .join("\n");
}
