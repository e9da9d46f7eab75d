import { createPlatform, type Platform } from "@cybernetic/core";
import type { CyberneticConfig } from "../config.js";
import { createLogger } from "../logger.js";
import { openDatabaseRuntime, runtimeDatabase } from "./database-runtime.js";

/**
 * Runs `fn` with a platform on the configured database (the embedded default when no `DATABASE_URL`,
 * migrated first), logging warnings only to stderr so stdout stays the command's output; then releases it.
 */
export async function withCliPlatform<T>(
  config: CyberneticConfig,
  fn: (platform: Platform) => Promise<T>,
): Promise<T> {
  const logger = createLogger({
    level: config.logLevel === "info" ? "warn" : config.logLevel,
    destination: 2,
    sync: true,
  });
  const runtime = await openDatabaseRuntime(config, { migrate: !config.database.url, logger });
  const db = runtimeDatabase(runtime, config, { poolSize: 1 });
  try {
    return await fn(createPlatform({ db, logger }));
  } finally {
    await db.destroy();
    await runtime.close();
  }
}
