/**
 * The context S5 policy conditions (`if`, JSON Logic) and templates (`{{…}}`) are evaluated against.
 * Documented for tenants in docs/policies.md; keep the two in step.
 *
 * ```text
 * {
 *   event:   { id, type, tenantId, occurredAt, data }          the event being evaluated
 *   tenant:  { id, slug, name, settings }                      settings without secrets (see below)
 *   episode: { id, title, content, source, sourceId, tags,     when event.data.episodeId names one
 *              status, analysis, createdAt, analyzedAt }
 *   state:   { system, name, state, version, updatedAt }       when event.data.system names one (1..5):
 *                                                              that system of the event's unit
 *   unit:    { id, name, slug, depth, path }                   the unit the event concerns
 *                                                              (event.data.unitId, else the root)
 * }
 * ```
 */
import { type EventEnvelope, type Json, type JsonObject, SECRET_SETTING_NAME } from "@cybernetic/core";

/** The tenant as conditions and templates see it. */
export interface PolicyTenantContext {
  id: string;
  slug: string;
  name: string;
  /** The tenant's settings with secret-looking members removed (`redactSettings`). */
  settings: JsonObject;
}

/** The episode an event is about (`event.data.episodeId`). */
export interface PolicyEpisodeContext {
  id: string;
  title: string;
  content: string;
  source: string;
  sourceId: string | null;
  tags: string[];
  status: string;
  /** The S4 analysis once complete (summary, sentiment, systems, risk…), else null. */
  analysis: JsonObject | null;
  createdAt: string;
  analyzedAt: string | null;
}

/** The system state an event is about (`event.data.system`), as it is now. */
export interface PolicyStateContext {
  system: number;
  /** `operations`, `coordination`, `control`, `intelligence` or `policy`. */
  name: string;
  state: JsonObject;
  version: number;
  updatedAt: string;
}

/** The unit an event concerns (`event.data.unitId`, else the root unit). */
export interface PolicyUnitContext {
  id: string;
  name: string;
  slug: string;
  /** 0 for the root. */
  depth: number;
  /** Ids from the root down to the unit. */
  path: string[];
}

/** Everything a policy is evaluated against. */
export interface PolicyContext {
  event: EventEnvelope;
  tenant?: PolicyTenantContext;
  episode?: PolicyEpisodeContext;
  state?: PolicyStateContext;
  unit?: PolicyUnitContext;
}

/** The context beside the event, as `evaluatePolicy` takes it. */
export type PolicyContextInput = Omit<PolicyContext, "event">;

/**
 * Removes members whose names look secret (`webhookSecret`, `botToken`, `apiKey`, …) at any depth, so a
 * template such as `{{tenant.settings.webhookSecret}}` renders nothing and a condition cannot probe a
 * secret.
 *
 * @example
 * ```ts
 * redactSettings({ webhookSecret: "s", alerts: [] }); // { alerts: [] }
 * ```
 */
export function redactSettings(settings: JsonObject): JsonObject {
  const walk = (value: Json, depth: number): Json => {
    if (depth > 32 || value === null || typeof value !== "object") return value;
    if (Array.isArray(value)) return value.map((item) => walk(item, depth + 1));
    const out: JsonObject = {};
    for (const [key, member] of Object.entries(value)) {
      if (SECRET_SETTING_NAME.test(key)) continue;
      Object.defineProperty(out, key, {
        value: walk(member, depth + 1),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    return out;
  };
  return walk(settings, 0) as JsonObject;
}
