import { z } from "zod";

/** Every event type the platform emits, `<category>.<name>`. */
export const eventTypes = [
  "episode.created",
  "episode.analyzed",
  "episode.failed",
  "policy.created",
  "policy.updated",
  "policy.deleted",
  "policy.triggered",
  "system.state_changed",
  "artifact.stored",
  "artifact.deleted",
  "notification.sent",
  "notification.failed",
  "algedonic.alert",
  "telegram.message",
  "telegram.command",
] as const;

/** A built-in event type. */
export type EventType = (typeof eventTypes)[number];

/** Event categories (the part before the dot). */
export const eventCategories = [
  ...new Set(eventTypes.map((t) => t.split(".")[0] as string)),
] as readonly string[];

/**
 * Category of events published by policies' `publish` actions and by host applications. Custom types
 * are `custom.<name>`; the built-in categories belong to the platform.
 */
export const CUSTOM_EVENT_CATEGORY = "custom";

const typeShape = /^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$/;

/** A custom event type: `custom.<name>`. */
export const customEventTypeSchema = z
  .string()
  .max(100)
  .regex(typeShape, { message: "must look like custom.<name>" })
  .refine((t) => t.startsWith(`${CUSTOM_EVENT_CATEGORY}.`), {
    message: `must be in the "${CUSTOM_EVENT_CATEGORY}" category (built-in categories are the platform's)`,
  });

/**
 * A subscription pattern: an exact type (`episode.analyzed`), a category (`episode.*`) or `*`.
 * Unknown types and categories are rejected, so a typo never silently matches nothing.
 */
export const eventPatternSchema = z
  .string()
  .max(100)
  .superRefine((pattern, ctx) => {
    if (pattern === "*") return;
    if (pattern.endsWith(".*")) {
      const category = pattern.slice(0, -2);
      if (category === CUSTOM_EVENT_CATEGORY || eventCategories.includes(category)) return;
      ctx.addIssue({
        code: "custom",
        message: `unknown event category "${category}"; known: ${[...eventCategories, CUSTOM_EVENT_CATEGORY].join(", ")}`,
      });
      return;
    }
    if ((eventTypes as readonly string[]).includes(pattern)) return;
    if (pattern.startsWith(`${CUSTOM_EVENT_CATEGORY}.`) && typeShape.test(pattern)) return;
    ctx.addIssue({ code: "custom", message: `unknown event type "${pattern}"` });
  });

/**
 * True when `type` matches `pattern` (exact, `category.*` or `*`).
 *
 * @example
 * ```ts
 * matchesEventPattern("episode.*", "episode.analyzed"); // true
 * matchesEventPattern("episode.created", "episode.analyzed"); // false
 * ```
 */
export function matchesEventPattern(pattern: string, type: string): boolean {
  if (pattern === "*") return true;
  if (pattern.endsWith(".*")) return type.startsWith(pattern.slice(0, -1));
  return pattern === type;
}

/**
 * An event as delivered by the outbox, the event bus and SSE.
 * `id` is the outbox id as a decimal string: strictly increasing, the SSE `id:` and the resume cursor.
 */
export interface CyberneticEvent<D = Record<string, unknown>> {
  id: string;
  type: string;
  tenantId: string;
  occurredAt: string;
  data: D;
}
