import type { CyberneticConfig } from "../config.js";
import type { CliIo } from "./cli-io.js";
import { withCliPlatform } from "./with-cli-platform.js";

/** `cybernetic tenant create <slug> [--name] [--json]`. */
export function tenantCreateCommand(
  config: CyberneticConfig,
  args: { slug: string; name?: string; json: boolean },
  io: CliIo,
): Promise<number> {
  return withCliPlatform(config, async (platform) => {
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
  });
}

/** `cybernetic tenant key <slug> [--name] [--json]`: issues another API key (all scopes) for a tenant. */
export function tenantKeyCommand(
  config: CyberneticConfig,
  args: { slug: string; name?: string; json: boolean },
  io: CliIo,
): Promise<number> {
  return withCliPlatform(config, async (platform) => {
    const tenantId = await platform.tenants.idBySlug(args.slug);
    const apiKey = await platform.apiKeys.issue(tenantId, { name: args.name ?? "cli" });
    if (args.json) io.out(`${JSON.stringify(apiKey, null, 2)}\n`);
    else io.out(`API key for tenant ${args.slug} (shown once, store it now): ${apiKey.key}\n`);
    return 0;
  });
}
