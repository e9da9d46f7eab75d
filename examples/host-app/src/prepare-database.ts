/**
 * First-run and upgrade work as the owner role: the schema (core's `migrate`), the job queue's schema
 * (workers' `installQueue`) and the runtime login role the app connects as (core's `ensureRuntimeRole`).
 * All three are idempotent, so running them at every start is how the app stays in step with the SDK
 * version it depends on.
 */
import {
  createDatabase,
  type DatabaseConfig,
  ensureRuntimeRole,
  type Logger,
  migrate,
} from "@cybernetic/core";
import { installQueue } from "@cybernetic/workers";

/** `user` and `password` of a connection URL, decoded. */
function credentialsOf(url: string): { user: string; password: string | undefined } {
  const u = new URL(url);
  return {
    user: decodeURIComponent(u.username),
    password: u.password === "" ? undefined : decodeURIComponent(u.password),
  };
}

/**
 * Migrates the database with `config.ownerUrl`, installs the queue, and creates (or restates the
 * password of) the runtime role `config.url` names, a member of `cybernetic_app`. Does nothing without
 * an owner URL: then migrations are your deploy's job (`cybernetic migrate`).
 *
 * @example
 * ```ts
 * await prepareDatabase(parseDatabaseConfig({ url, ownerUrl }), logger);
 * ```
 */
export async function prepareDatabase(config: DatabaseConfig, logger: Logger): Promise<void> {
  const ownerUrl = config.ownerUrl;
  if (ownerUrl === undefined) {
    logger.info({}, "DATABASE_OWNER_URL is not set: not running migrations");
    return;
  }
  const owner = createDatabase({ ...config, poolSize: 1 }, { owner: true });
  try {
    const { applied } = await migrate(owner);
    logger.info({ applied }, applied.length > 0 ? "migrations applied" : "database schema is up to date");
    // The direct URL, not a pooler's: the role is the server's, and a pooler may map users.
    const runtime = credentialsOf(config.directUrl ?? config.url);
    if (runtime.user !== "" && runtime.user !== credentialsOf(ownerUrl).user) {
      await ensureRuntimeRole(owner, {
        user: runtime.user,
        ...(runtime.password === undefined ? {} : { password: runtime.password }),
      });
    }
  } finally {
    await owner.destroy();
  }
  await installQueue(ownerUrl);
}
