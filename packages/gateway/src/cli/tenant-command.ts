import { createDatabase, createPlatform } from "@cybernetic/core";
import type { CyberneticConfig } from "../config.js";
import { createLogger } from "../logger.js";
import type { CliIo } from "./cli-io.js";
import { openDatabaseRuntime } from "./database-runtime.js";

/** `cybernetic tenant create <slug> [--name] [--json]`. */
export async function tenantCreateCommand(
  config: CyberneticConfig,
  args: { slug: string; name?: string; json: boolean },
  io: CliIo,
): Promise<number> {
  const logger = createLogger({
    level: config.logLevel === "info" ? "warn" : config.logLevel,
    destination: 2,
    sync: true,
  });
  const runtime = await openDatabaseRuntime(config, { migrate: !config.database.url, logger });
  const db = createDatabase({ url: runtime.runtimeUrl, poolSize: 1 });
  try {
    const platform = createPlatform({ db, logger });
    const { tenant, apiKey } = await platform.tenants.create(
      { name: args.name ?? args.slug, slug: args.slug },
      { issueKey: true },
    );
    if (args.json) {
      io.out(`${JSON.stringify({ tenant, apiKey }, null, 2)}\n`);
    } else {
      io.out(`tenant ${tenant.slug} created (id ${tenant.id})\n`);
      io.out(`API key (shown once, store it now): ${apiKey?.key}\n`);
    }
    return 0;
  } finally {
    await db.destroy();
    await runtime.close();
  }
}
