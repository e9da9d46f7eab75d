/**
 * Factories for every entity: valid data by default, overridable field by field. Input factories build
 * request bodies; `seed*` helpers write through the platform's services (never around them).
 */
import { randomBytes } from "node:crypto";
import type {
  CreateApiKeyInput,
  CreateEpisodeInput,
  CreatePolicyInput,
  CreateTenantInput,
  IssuedApiKey,
  Platform,
  PolicyRules,
  Tenant,
} from "../../packages/core/src/index.ts";

let counter = 0;
const unique = () => `${Date.now().toString(36)}${(counter++).toString(36)}${randomBytes(2).toString("hex")}`;

/** A valid `POST /v1/tenants` body with a unique slug. */
export function tenantInput(overrides: Partial<CreateTenantInput> = {}): CreateTenantInput {
  const id = unique();
  return { name: `Tenant ${id}`, slug: `t-${id}`, ...overrides };
}

/** A valid API-key request. */
export function apiKeyInput(overrides: Partial<CreateApiKeyInput> = {}): CreateApiKeyInput {
  return { name: `key ${unique()}`, scopes: ["read", "write", "events", "artifacts"], ...overrides };
}

/** A valid system-state update (pass the version you read). */
export function systemStateInput(version: number, state: Record<string, unknown> = { note: unique() }) {
  return { state, version } as { state: Record<string, unknown>; version: number };
}

/** A valid episode. */
export function episodeInput(overrides: Partial<CreateEpisodeInput> = {}): CreateEpisodeInput {
  const id = unique();
  return {
    title: `Episode ${id}`,
    content: "The night shift reported that the packaging line stopped twice; maintenance restarted it.",
    source: "api",
    tags: ["ops"],
    ...overrides,
  };
}

/** Valid policy rules: notify on high-risk analyses. */
export function policyRules(overrides: Partial<PolicyRules> = {}): PolicyRules {
  return {
    on: ["episode.analyzed"],
    if: { "==": [{ var: "event.data.risk" }, "high"] },
    then: [{ type: "notify", channel: "event", to: "ops", template: "High risk: {{event.data.title}}" }],
    ...overrides,
  };
}

/** A valid policy. */
export function policyInput(overrides: Partial<CreatePolicyInput> = {}): CreatePolicyInput {
  return { name: `policy ${unique()}`, description: "", rules: policyRules(), priority: 100, ...overrides };
}

/** A valid artifact record's fields (the storage side writes the blob). */
export function artifactRecordInput(
  overrides: Partial<{
    path: string;
    contentType: string;
    size: number;
    sha256: string;
    metadata: Record<string, string>;
  }> = {},
) {
  return {
    path: `reports/${unique()}.txt`,
    contentType: "text/plain",
    size: 11,
    sha256: "b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9",
    metadata: { origin: "factory" },
    ...overrides,
  };
}

/** Creates a tenant with a first API key through the service. */
export async function seedTenant(
  platform: Platform,
  overrides: Partial<CreateTenantInput> = {},
): Promise<{ tenant: Tenant; apiKey: IssuedApiKey }> {
  const { tenant, apiKey } = await platform.tenants.create(tenantInput(overrides), { issueKey: true });
  if (!apiKey) throw new Error("tenant created without its key");
  return { tenant, apiKey };
}
