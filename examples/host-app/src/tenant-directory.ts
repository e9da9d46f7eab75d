/**
 * Maps the app's organisations onto Cybernetic tenants, creating each tenant on first use through
 * core's tenancy service (`platform.tenants`). The tenant id is what every other service call takes.
 */
import { CyberneticError, type Platform } from "@cybernetic/core";
import type { Organisation } from "./users.js";

/** Organisation → tenant id. */
export interface TenantDirectory {
  /** The organisation's tenant id; creates the tenant (root unit, five systems) the first time. */
  tenantOf(organisation: Organisation): Promise<string>;
}

const isCode = (error: unknown, code: string) => CyberneticError.isInstance(error) && error.code === code;

/**
 * A directory that remembers tenant ids in memory (they never change) and creates missing tenants.
 * Several app instances may create the same organisation's tenant at once: the slug is unique, so one
 * wins and the others find its tenant.
 *
 * @example
 * ```ts
 * const tenants = createTenantDirectory(platform);
 * const tenantId = await tenants.tenantOf({ slug: "acme", name: "Acme Ltd" });
 * await platform.episodes.create(tenantId, { title: "Kick-off" });
 * ```
 */
export function createTenantDirectory(platform: Platform): TenantDirectory {
  const known = new Map<string, Promise<string>>();
  const resolveTenant = async ({ slug, name }: Organisation): Promise<string> => {
    try {
      return await platform.tenants.idBySlug(slug);
    } catch (error) {
      if (!isCode(error, "not_found")) throw error;
    }
    try {
      const { tenant } = await platform.tenants.create({ name, slug });
      platform.logger.info({ tenantId: tenant.id, slug }, "tenant created for organisation");
      return tenant.id;
    } catch (error) {
      if (!isCode(error, "duplicate")) throw error;
      return platform.tenants.idBySlug(slug); // another instance created it first
    }
  };
  return {
    tenantOf(organisation) {
      let id = known.get(organisation.slug);
      if (!id) {
        id = resolveTenant(organisation);
        known.set(organisation.slug, id);
        // A failure (database away) is not remembered: the next request tries again.
        id.catch(() => known.delete(organisation.slug));
      }
      return id;
    },
  };
}
