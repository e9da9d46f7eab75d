import { createDatabase, migrationSql, migrationStatus } from "@cybernetic/core";
import type { CyberneticConfig } from "../config.js";
import { createLogger } from "../logger.js";
import type { CliIo } from "./cli-io.js";
import { openDatabaseRuntime } from "./database-runtime.js";
import { loadWorkers } from "./integrations.js";

/** `cybernetic migrate [--status] [--print-sql]`. */
export async function migrateCommand(
  config: CyberneticConfig,
  flags: { status: boolean; printSql: boolean },
  io: CliIo,
): Promise<number> {
  if (flags.printSql) {
    io.out(migrationSql());
    return 0;
  }
  const logger = createLogger({
    level: config.logLevel === "info" ? "warn" : config.logLevel,
    destination: 2,
    sync: true,
  });
  if (flags.status) {
    const runtime = await openDatabaseRuntime(
      { ...config, database: { ...config.database, url: config.database.ownerUrl ?? config.database.url } },
      { migrate: false, logger },
    );
    const db = createDatabase({ url: runtime.ownerUrl ?? runtime.runtimeUrl, poolSize: 1 });
    try {
      const status = await migrationStatus(db);
      for (const m of status) {
        io.out(
          `${m.executedAt ? "applied" : "pending"}  ${m.name}${m.executedAt ? `  ${m.executedAt.toISOString()}` : ""}\n`,
        );
      }
      const pending = status.filter((m) => m.executedAt === null).length;
      io.out(pending === 0 ? "database is up to date\n" : `${pending} migration(s) pending\n`);
    } finally {
      await db.destroy();
      await runtime.close();
    }
    return 0;
  }
  const { workers, problem } = await loadWorkers();
  if (problem) logger.warn({}, `${problem}; the job queue's schema is not installed`);
  const runtime = await openDatabaseRuntime(
    // Migrations run as the owner: DATABASE_OWNER_URL, else DATABASE_URL itself.
    {
      ...config,
      database: {
        ...config.database,
        url: config.database.url,
        ownerUrl: config.database.ownerUrl ?? config.database.url,
      },
    },
    { migrate: true, logger, ...(workers ? { installQueue: (url) => workers.installQueue(url) } : {}) },
  );
  try {
    const db = createDatabase({ url: runtime.ownerUrl ?? runtime.runtimeUrl, poolSize: 1 });
    try {
      const status = await migrationStatus(db);
      io.out(`database is up to date (${status.length} migration(s) applied)\n`);
    } finally {
      await db.destroy();
    }
  } finally {
    await runtime.close();
  }
  return 0;
}
