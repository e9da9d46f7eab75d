import { z } from "zod";
import { alertActorSchema } from "./alerts.js";
import { cursorSchema, jsonObjectSchema, limitSchema, pageSchemaOf, uuidSchema } from "./common.js";

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
  "unit.created",
  "unit.updated",
  "unit.moved",
  "unit.archived",
  "artifact.stored",
  "artifact.deleted",
  "notification.sent",
  "notification.failed",
  "algedonic.alert",
  "algedonic.escalated",
  "algedonic.acknowledged",
  "algedonic.resolved",
  "audit.finding",
  "audit.completed",
  "indicator.created",
  "indicator.updated",
  "indicator.readings_recorded",
  "indicator.change_detected",
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

/** A custom event type, `custom.<name>`: free-form JSON data. */
export type CustomEventType = `${typeof CUSTOM_EVENT_CATEGORY}.${string}`;

/**
 * Which policy evaluation wrote an event: every event a policy's actions write carries it as
 * `data.causedBy`, so evaluation can stop a chain of policy-caused events.
 */
export const causationSchema = z
  .object({
    policyId: uuidSchema.describe("The policy whose action wrote the event."),
    eventId: z.string().describe("The event that policy was evaluating."),
    depth: z.number().int().min(1).describe("1, then +1 per generation of policy-caused events."),
  })
  .strict()
  .meta({ id: "Causation" });

const notificationEventData = {
  notificationId: uuidSchema,
  channel: z.enum(["telegram", "webhook", "event"]),
  /** A webhook target appears as its origin only (never its path or query). */
  target: z.string(),
  causedBy: causationSchema.optional(),
};

/**
 * The unit an event concerns; policies on that unit or above it see the event. The platform always
 * writes it; optional so that hosts appending these events as before, and events stored before units
 * existed, still match (an event without one is the root unit's).
 */
const unitIdField = uuidSchema.optional().describe("The unit the event concerns.");

const free = (description: string) => jsonObjectSchema.describe(description);

/** Who sent a Telegram message or pressed a button. */
const telegramSenderSchema = z
  .object({ id: z.number().int(), username: z.string().nullable() })
  .strict()
  .meta({ id: "TelegramSender" });

/**
 * The event registry: each built-in event type and the schema of its `data`. `appendEvent` validates
 * against it, `CyberneticEvent` is typed from it, and the OpenAPI document describes each entry.
 */
export const eventDataSchemas = {
  "episode.created": z
    .object({
      episodeId: uuidSchema,
      title: z.string(),
      source: z.string(),
      tags: z.array(z.string()),
      unitId: unitIdField,
    })
    .strict(),
  "episode.analyzed": z
    .object({
      episodeId: uuidSchema,
      title: z.string(),
      risk: z.string().nullable().describe("The analysis' risk level (low, medium, high, critical)."),
      systems: z.array(z.number().int().min(1).max(5)).describe("The VSM systems the episode concerns."),
      sentiment: z.string().nullable().describe("The analysis' sentiment label."),
      unitId: unitIdField,
    })
    .strict(),
  "episode.failed": z
    .object({ episodeId: uuidSchema, error: z.string().nullable(), unitId: unitIdField })
    .strict(),
  "policy.created": z.object({ policyId: uuidSchema, name: z.string() }).strict(),
  "policy.updated": z
    .object({ policyId: uuidSchema, version: z.number().int(), active: z.boolean() })
    .strict(),
  "policy.deleted": z.object({ policyId: uuidSchema, name: z.string() }).strict(),
  "policy.triggered": z
    .object({
      policyId: uuidSchema,
      policyName: z.string(),
      eventId: z.string().describe("The event the policy matched."),
      outcome: jsonObjectSchema.describe("What the evaluation did: its status and each action's result."),
      causedBy: causationSchema,
    })
    .strict(),
  "system.state_changed": z
    .object({
      system: z.number().int().min(1).max(5),
      version: z.number().int(),
      previousVersion: z.number().int(),
      unitId: uuidSchema.describe("The unit whose state changed (the root unit for `/v1/systems`)."),
    })
    .strict(),
  "unit.created": z
    .object({ unitId: uuidSchema, parentId: uuidSchema, name: z.string(), slug: z.string() })
    .strict(),
  "unit.updated": z.object({ unitId: uuidSchema, name: z.string(), slug: z.string() }).strict(),
  "unit.moved": z
    .object({
      unitId: uuidSchema,
      fromParentId: uuidSchema,
      toParentId: uuidSchema,
      depth: z.number().int().describe("The unit's depth after the move."),
    })
    .strict(),
  "unit.archived": z.object({ unitId: uuidSchema }).strict(),
  "artifact.stored": z
    .object({
      path: z.string(),
      size: z.number().int().min(0),
      sha256: z.string(),
      contentType: z.string(),
      replaced: z.boolean().describe("True when an artifact at the same path was replaced."),
    })
    .strict(),
  "artifact.deleted": z
    .object({
      path: z.string(),
      reason: z.literal("expired").optional().describe("Set when housekeeping removed an expired artifact."),
    })
    .strict(),
  "notification.sent": z
    .object({
      ...notificationEventData,
      payload: jsonObjectSchema.optional().describe("The notification's payload (channel `event` only)."),
    })
    .strict(),
  "notification.failed": z.object({ ...notificationEventData, error: z.string() }).strict(),
  "algedonic.alert": z
    .object({
      severity: z.enum(["pain", "pleasure"]),
      message: z.string(),
      source: jsonObjectSchema.describe('What raised it, e.g. `{ kind: "analysis", episodeId }`.'),
      causedBy: causationSchema.optional(),
      alertId: uuidSchema.optional().describe("The alert (`GET /v1/alerts/:id`) to acknowledge or resolve."),
      unitId: unitIdField,
    })
    .strict(),
  "algedonic.escalated": z
    .object({
      alertId: uuidSchema,
      fromUnitId: uuidSchema,
      toUnitId: uuidSchema.describe("The parent unit the unacknowledged alert climbed to."),
      step: z.number().int().min(1),
      severity: z.enum(["pain", "pleasure"]),
      message: z.string(),
    })
    .strict(),
  "algedonic.acknowledged": z
    .object({
      alertId: uuidSchema,
      unitId: uuidSchema.describe("The level it was at."),
      by: alertActorSchema,
    })
    .strict(),
  "algedonic.resolved": z
    .object({
      alertId: uuidSchema,
      unitId: uuidSchema.describe("The level it was at."),
      by: alertActorSchema,
    })
    .strict(),
  "audit.finding": z
    .object({
      auditId: uuidSchema,
      findingId: uuidSchema,
      unitId: uuidSchema,
      check: z.string().describe("Which check found it (see `auditChecks`)."),
      severity: z.enum(["info", "warning", "severe"]),
      message: z.string(),
    })
    .strict(),
  "audit.completed": z
    .object({
      auditId: uuidSchema,
      unitId: uuidSchema,
      trigger: z.enum(["scheduled", "manual"]),
      findings: z.number().int().min(0),
      severe: z.number().int().min(0),
    })
    .strict(),
  "indicator.created": z.object({ indicatorId: uuidSchema, unitId: uuidSchema, name: z.string() }).strict(),
  "indicator.updated": z
    .object({
      indicatorId: uuidSchema,
      unitId: uuidSchema,
      capability: z.number(),
      potentiality: z.number(),
      effectiveFrom: z.string().nullable().describe("When new targets take effect; null when only renamed."),
    })
    .strict(),
  "indicator.readings_recorded": z
    .object({
      indicatorId: uuidSchema,
      unitId: uuidSchema,
      recorded: z.number().int().min(1),
      latestAt: z.string(),
      actuality: z.number().describe("The latest reading's actuality."),
      productivity: z.number(),
      latency: z.number(),
      performance: z.number(),
    })
    .strict(),
  "indicator.change_detected": z
    .object({
      indicatorId: uuidSchema,
      unitId: uuidSchema,
      at: z.string(),
      direction: z.enum(["up", "down"]),
      actuality: z.number(),
      forecast: z.number(),
      lower: z.number(),
      upper: z.number(),
    })
    .strict(),
  "telegram.message": z
    .object({
      updateId: z.number().int().describe("Telegram's `update_id`."),
      chatId: z.number().int(),
      chatType: z.string().describe("`private`, `group`, `supergroup` or `channel`."),
      messageId: z.number().int(),
      from: telegramSenderSchema.nullable(),
      text: z.string().describe("The message's text or caption."),
      episodeId: uuidSchema.nullable().describe("The episode the report became (source `telegram`)."),
    })
    .strict()
    .describe("A message received by the tenant's bot, recorded as a report."),
  "telegram.command": z
    .object({
      updateId: z.number().int().describe("Telegram's `update_id`."),
      chatId: z.number().int(),
      messageId: z.number().int().nullable(),
      from: telegramSenderSchema.nullable(),
      command: z
        .string()
        .describe("Lower-case, without the slash or `@botname` (`status`); `confirm`/`cancel` for buttons."),
      args: z.string().describe("The text after the command; the id of a `confirm:<id>` button."),
      source: z.enum(["message", "callback_query"]),
      known: z.boolean().describe("False for a command the bot does not know (it answered with help)."),
      episodeId: uuidSchema.nullable().describe("Set when `/report` recorded an episode."),
    })
    .strict()
    .describe("A command sent to the tenant's bot, or one of its buttons pressed."),
} as const satisfies Record<EventType, z.ZodType>;

/** The data of a custom event (`custom.<name>`): any JSON object. */
export const customEventDataSchema = free("A custom event's data: any JSON object.");

/** The `data` of an event type: the registry's schema for a built-in type, any JSON object for `custom.*`. */
export type EventData<T extends EventType | CustomEventType> = T extends EventType
  ? z.infer<(typeof eventDataSchemas)[T]>
  : z.infer<typeof customEventDataSchema>;

/**
 * An event of any type, as generic code (policy evaluation, logging) handles it: `data` is an object it
 * reads by key. `CyberneticEvent` is the typed form.
 */
export interface EventEnvelope<T extends string = string, D = Record<string, unknown>> {
  /** The outbox id as a decimal string: strictly increasing, the SSE `id:` and the resume cursor. */
  id: string;
  type: T;
  tenantId: string;
  /** ISO 8601 timestamp of the write. */
  occurredAt: string;
  data: D;
}

/**
 * An event as delivered by the outbox, the event bus and SSE: a union discriminated by `type`, so
 * narrowing on the type types the data.
 *
 * @example
 * ```ts
 * bus.subscribe({ patterns: ["episode.*"] }, (event) => {
 *   if (event.type === "episode.analyzed") console.log(event.data.risk);
 * });
 * ```
 */
export type CyberneticEvent =
  | { [T in EventType]: EventEnvelope<T, EventData<T>> }[EventType]
  | EventEnvelope<CustomEventType, EventData<CustomEventType>>;

/**
 * The schema of an event's data, or undefined when `type` is neither built-in nor `custom.<name>`.
 *
 * @example
 * ```ts
 * eventDataSchemaOf("episode.failed")?.parse({ episodeId, error: "model unavailable" });
 * ```
 */
export function eventDataSchemaOf(type: string): z.ZodType | undefined {
  if (Object.hasOwn(eventDataSchemas, type)) return eventDataSchemas[type as EventType];
  return customEventTypeSchema.safeParse(type).success ? customEventDataSchema : undefined;
}

/** `system.state_changed` → `SystemStateChangedEvent`: the name a document gives an event's schema. */
const schemaNameOf = (type: string) =>
  `${type
    .split(/[._]/)
    .map((word) => word.charAt(0).toUpperCase() + word.slice(1))
    .join("")}Event`;

/** One event of the given type, for documents: `{ id, type, tenantId, occurredAt, data }`. */
function eventSchemaOf(name: string, type: z.ZodType, data: z.ZodType) {
  return z
    .object({
      id: z.string().describe("The outbox id as a decimal string; the SSE `id:` and the resume cursor."),
      type,
      tenantId: uuidSchema,
      occurredAt: z.iso.datetime({ offset: true }),
      data,
    })
    .strict()
    .meta({ id: name });
}

/**
 * `CyberneticEvent` as a schema (each built-in type with its data, then `custom.*`), for the OpenAPI
 * document and for clients that validate what they receive.
 */
export const cyberneticEventSchema = z
  .union([
    ...(Object.keys(eventDataSchemas) as EventType[]).map((type) =>
      eventSchemaOf(schemaNameOf(type), z.literal(type), eventDataSchemas[type]),
    ),
    eventSchemaOf("CustomEvent", customEventTypeSchema, customEventDataSchema),
  ])
  .meta({ id: "CyberneticEvent" });

/** A page of events (`GET /v1/events/recent`). */
export const eventPageSchema = pageSchemaOf(cyberneticEventSchema, "EventPage");

/** Query of `GET /v1/events/recent`. */
export const listEventsSchema = z
  .object({
    limit: limitSchema,
    cursor: cursorSchema.optional(),
    /** `*`, a category (`episode.*`) or an exact type (`episode.analyzed`), as subscriptions take them. */
    type: eventPatternSchema.optional(),
  })
  .strict();
/** Input of `events.list`. */
export type ListEventsInput = z.input<typeof listEventsSchema>;
