import { z } from "zod";
import {
  cursorSchema,
  jsonObjectSchema,
  jsonRecordSchema,
  limitSchema,
  pageSchemaOf,
  timestampSchema,
  uuidSchema,
} from "./common.js";

/** Where an algedonic alert is in its life: raised → acknowledged → resolved (or raised → resolved). */
export const alertStatuses = ["raised", "acknowledged", "resolved"] as const;
/** An alert's status. */
export type AlertStatus = (typeof alertStatuses)[number];

/** Pain (something hurts: it escalates until someone acknowledges it) or pleasure (it does not). */
export const alertSeverities = ["pain", "pleasure"] as const;
/** An alert's severity. */
export type AlertSeverity = (typeof alertSeverities)[number];

/**
 * Who acknowledged or resolved an alert: an API key (`{ kind: "api_key", id: <key id> }`), a Telegram user
 * (`{ kind: "telegram", id: <user id>, name: <username> }`), the platform (`system`), or a host's own kind.
 */
export const alertActorSchema = z
  .object({
    kind: z
      .string()
      .regex(/^[a-z][a-z0-9_]{0,31}$/, { message: "must be lowercase letters, digits and _ (e.g. api_key)" }),
    id: z.string().min(1).max(200),
    name: z.string().min(1).max(200).optional(),
  })
  .strict()
  .meta({ id: "AlertActor" });
/** Who acknowledged or resolved an alert. */
export type AlertActor = z.infer<typeof alertActorSchema>;

/** Body of `POST /v1/alerts`: raise an algedonic signal by hand. */
export const raiseAlertSchema = z
  .object({
    severity: z.enum(alertSeverities).default("pain"),
    message: z.string().trim().min(1).max(4_000),
    unitId: uuidSchema.optional().describe("The unit that hurts; default the root unit."),
    key: z
      .string()
      .min(1)
      .max(200)
      .optional()
      .describe("Makes the raise idempotent: the same key never raises twice (default: a new key)."),
    source: jsonObjectSchema.optional().describe("What raised it, for the record."),
  })
  .strict();
/** Input of `alerts.raise`. */
export type RaiseAlertInput = z.input<typeof raiseAlertSchema>;

/** Body of `POST /v1/alerts/:id/ack` and `/resolve`. */
export const alertTransitionSchema = z
  .object({
    note: z.string().trim().min(1).max(2_000).optional().describe("Kept with the alert."),
    by: z.string().trim().min(1).max(200).optional().describe("A display name for who did it."),
  })
  .strict();
/** Input of `alerts.acknowledge` and `alerts.resolve`. */
export type AlertTransitionInput = z.input<typeof alertTransitionSchema>;

/** Query of `GET /v1/alerts`. */
export const listAlertsSchema = z
  .object({
    limit: limitSchema,
    cursor: cursorSchema.optional(),
    status: z
      .enum([...alertStatuses, "open"])
      .optional()
      .describe("`open` is raised or acknowledged."),
    unitId: uuidSchema.optional().describe("Alerts raised at this unit or climbed to it."),
  })
  .strict();
/** Input of `alerts.list`. */
export type ListAlertsInput = z.input<typeof listAlertsSchema>;

/** One step of an alert's climb up the unit tree. */
export const alertEscalationSchema = z
  .object({
    step: z.number().int().min(1),
    fromUnitId: z.uuid(),
    toUnitId: z.uuid(),
    at: timestampSchema,
  })
  .meta({ id: "AlertEscalation" });

/** An algedonic alert as the API returns it. */
export const alertSchema = z
  .object({
    id: z.uuid(),
    unitId: z.uuid().describe("The unit where it was raised."),
    levelUnitId: z.uuid().describe("The unit it is raised at now (it climbs while nobody acknowledges it)."),
    severity: z.enum(alertSeverities),
    message: z.string(),
    source: jsonRecordSchema.describe('What raised it, e.g. `{ kind: "analysis", episodeId }`.'),
    status: z.enum(alertStatuses),
    escalationStep: z.number().int().describe("0 where it was raised, +1 per level climbed."),
    nextEscalationAt: timestampSchema
      .nullable()
      .describe(
        "When it climbs to the parent unless acknowledged; null once acknowledged, resolved or at the root.",
      ),
    escalations: z.array(alertEscalationSchema),
    raisedAt: timestampSchema,
    acknowledgedAt: timestampSchema.nullable(),
    acknowledgedBy: alertActorSchema.nullable(),
    resolvedAt: timestampSchema.nullable(),
    resolvedBy: alertActorSchema.nullable(),
    note: z.string().nullable().describe("The latest note given with an acknowledgement or resolution."),
    updatedAt: timestampSchema,
  })
  .meta({ id: "Alert" });
/** An algedonic alert. */
export type Alert = z.infer<typeof alertSchema>;

/** A page of alerts. */
export const alertPageSchema = pageSchemaOf(alertSchema, "AlertPage");
