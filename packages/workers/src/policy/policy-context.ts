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
 *   state:   { system, name, state, version, updatedAt }       when event.data.system names one (1..5)
 * }
 * ```
 */
import type { CyberneticEvent, Json, JsonObject } from "@cybernetic/core";

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

/** Everything a policy is evaluated against. */
export interface PolicyContext {
  event: CyberneticEvent;
  tenant?: PolicyTenantContext;
  episode?: PolicyEpisodeContext;
  state?: PolicyStateContext;
}

/** The context beside the event, as `evaluatePolicy` takes it. */
export type PolicyContextInput = Omit<PolicyContext, "event">;

const SECRET_KEY = /secret|token|password|passwd|credential|api[-_]?key|private[-_]?key/i;

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
      if (SECRET_KEY.test(key)) continue;
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
