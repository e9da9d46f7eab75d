/**
 * Response schemas for the OpenAPI document. Request schemas come from `@cybernetic/core`'s contract
 * (the same objects the services validate with); the responses are core's TypeScript interfaces, so
 * each schema here is checked against its interface at compile time (`Same<…>` below): if core changes
 * a response type, this file stops compiling instead of drifting.
 */
import {
  type ApiKeyInfo,
  type Artifact,
  apiKeyScopes,
  type Episode,
  episodeStatuses,
  type IssuedApiKey,
  type Policy,
  policyRulesSchema,
  type SystemState,
  type SystemStateHistoryEntry,
  type Tenant,
} from "@cybernetic/core";
import { z } from "zod";

type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const same = <_T extends true>() => undefined;

const timestamp = z.iso.datetime({ offset: true });
const jsonObject = z.record(z.string(), z.unknown());
const systemNumber = z.union([z.literal(1), z.literal(2), z.literal(3), z.literal(4), z.literal(5)]);

export const tenantSchema = z
  .object({
    id: z.uuid(),
    name: z.string(),
    slug: z.string(),
    settings: jsonObject,
    active: z.boolean(),
    createdAt: timestamp,
    updatedAt: timestamp,
  })
  .meta({ id: "Tenant" });
same<Same<z.infer<typeof tenantSchema>, Tenant>>();

export const apiKeyInfoSchema = z
  .object({
    id: z.uuid(),
    tenantId: z.uuid(),
    name: z.string(),
    prefix: z.string(),
    scopes: z.array(z.enum(apiKeyScopes)),
    expiresAt: timestamp.nullable(),
    revokedAt: timestamp.nullable(),
    lastUsedAt: timestamp.nullable(),
    createdAt: timestamp,
  })
  .meta({ id: "ApiKey" });
same<Same<z.infer<typeof apiKeyInfoSchema>, ApiKeyInfo>>();

export const issuedApiKeySchema = apiKeyInfoSchema
  .extend({ key: z.string().describe("The key itself; shown this once, only its hash is stored.") })
  .meta({ id: "IssuedApiKey" });
same<Same<z.infer<typeof issuedApiKeySchema>, IssuedApiKey>>();

export const createdTenantSchema = z
  .object({ tenant: tenantSchema, apiKey: issuedApiKeySchema })
  .meta({ id: "CreatedTenant" });

export const systemStateSchema = z
  .object({
    system: systemNumber,
    name: z.string(),
    state: jsonObject,
    version: z.number().int(),
    updatedAt: timestamp,
  })
  .meta({ id: "SystemState" });
same<Same<z.infer<typeof systemStateSchema>, SystemState>>();

export const systemStateHistoryEntrySchema = z
  .object({ system: systemNumber, version: z.number().int(), state: jsonObject, changedAt: timestamp })
  .meta({ id: "SystemStateHistoryEntry" });
same<Same<z.infer<typeof systemStateHistoryEntrySchema>, SystemStateHistoryEntry>>();

export const episodeSchema = z
  .object({
    id: z.uuid(),
    title: z.string(),
    content: z.string(),
    source: z.string(),
    sourceId: z.string().nullable(),
    tags: z.array(z.string()),
    status: z.enum(episodeStatuses),
    analysis: jsonObject.nullable(),
    error: z.string().nullable(),
    createdAt: timestamp,
    updatedAt: timestamp,
    analyzedAt: timestamp.nullable(),
  })
  .meta({ id: "Episode" });
same<Same<z.infer<typeof episodeSchema>, Episode>>();

export const episodeWriteResultSchema = z
  .object({
    episode: episodeSchema,
    created: z.boolean().describe("False when the same (source, sourceId) was ingested before."),
    jobId: z.string().nullable().describe("The analysis job, when one was enqueued."),
  })
  .meta({ id: "EpisodeWriteResult" });

export const policySchema = z
  .object({
    id: z.uuid(),
    name: z.string(),
    description: z.string(),
    rules: policyRulesSchema,
    priority: z.number().int(),
    active: z.boolean(),
    effectiveFrom: timestamp.nullable(),
    effectiveUntil: timestamp.nullable(),
    version: z.number().int(),
    createdAt: timestamp,
    updatedAt: timestamp,
  })
  .meta({ id: "Policy" });
// Rules are documented by their request schema; compare the remaining fields.
same<Same<Omit<z.infer<typeof policySchema>, "rules">, Omit<Policy, "rules">>>();

export const jobSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    state: z.string(),
    priority: z.number(),
    attempts: z.number(),
    retryLimit: z.number(),
    createdAt: timestamp.nullable(),
    startedAt: timestamp.nullable(),
    completedAt: timestamp.nullable(),
    output: z.unknown(),
  })
  .meta({ id: "Job" });

export const policyEvaluationSchema = z
  .object({
    policyId: z.uuid(),
    version: z.number().int(),
    active: z.boolean(),
    inEffect: z.boolean().describe("Active and within its effective window at the event's time."),
    event: z.object({ type: z.string(), occurredAt: timestamp }),
    patterns: z.array(z.object({ pattern: z.string(), matches: z.boolean() })),
    matched: z.boolean().describe("Some `on` pattern matches the event type."),
    condition: z.object({
      evaluated: z.boolean(),
      result: z.boolean().nullable(),
      note: z.string().optional(),
    }),
    actions: z
      .array(z.unknown())
      .describe("The actions that would run (none unless matched and the condition held)."),
    evaluator: z.enum(["workers", "on-match-only"]),
  })
  .meta({ id: "PolicyEvaluation" });

export const errorSchema = z
  .object({
    error: z.object({ code: z.string(), message: z.string(), details: z.unknown().optional() }),
    requestId: z.string(),
  })
  .meta({ id: "Error" });

const checkSchema = z.object({
  status: z.enum(["ok", "failed", "disabled"]),
  durationMs: z.number().optional(),
  error: z.string().optional(),
});
export const readinessSchema = z
  .object({
    status: z.enum(["ready", "not_ready"]),
    checks: z.object({ database: checkSchema, storage: checkSchema, queue: checkSchema }),
  })
  .meta({ id: "Readiness" });

export const healthSchema = z
  .object({ status: z.literal("ok"), uptimeSeconds: z.number() })
  .meta({ id: "Health" });

/** `{ items, nextCursor? }` of a resource schema. */
export const artifactSchema = z
  .object({
    id: z.uuid(),
    path: z.string(),
    contentType: z.string(),
    size: z.number().int(),
    sha256: z.string(),
    metadata: z.record(z.string(), z.string()),
    expiresAt: timestamp.nullable(),
    createdAt: timestamp,
    updatedAt: timestamp,
  })
  .meta({ id: "Artifact" });
same<Same<z.infer<typeof artifactSchema>, Artifact>>();

export function pageOf<T extends z.ZodType>(item: T, id: string) {
  return z
    .object({
      items: z.array(item),
      nextCursor: z
        .string()
        .optional()
        .describe("Pass as ?cursor= for the next page; absent on the last page."),
    })
    .meta({ id });
}

/** `{ items }` of a resource schema (unpaginated lists). */
export function listOf<T extends z.ZodType>(item: T, id: string) {
  return z.object({ items: z.array(item) }).meta({ id });
}

/** Pages and lists of the resources above (module constants: each id is registered once). */
export const tenantPageSchema = pageOf(tenantSchema, "TenantPage");
export const apiKeyListSchema = listOf(apiKeyInfoSchema, "ApiKeyList");
export const systemStateListSchema = listOf(systemStateSchema, "SystemStateList");
export const systemStateHistoryPageSchema = pageOf(systemStateHistoryEntrySchema, "SystemStateHistoryPage");
export const episodePageSchema = pageOf(episodeSchema, "EpisodePage");
export const policyPageSchema = pageOf(policySchema, "PolicyPage");
export const artifactPageSchema = pageOf(artifactSchema, "ArtifactPage");
