import { z } from "zod";
import { listSchemaOf, slugSchema, timestampSchema, uuidSchema } from "./common.js";
import { alertChannelSchema } from "./tenants.js";

/** The deepest a unit may sit below the root (the root is depth 0). */
export const MAX_UNIT_DEPTH = 8;
/** The most units one tenant may have, archived ones included (every list of units is bounded). */
export const MAX_UNITS_PER_TENANT = 1_000;

/** Bounds of a unit's escalation window: an unacknowledged alert climbs to the parent after it. */
export const escalationSecondsSchema = z
  .number()
  .int()
  .min(60)
  .max(30 * 86_400)
  .describe("Seconds an alert raised here may stay unacknowledged before it climbs to the parent unit.");

/** How often a unit's system states are expected to change (S3* reports a state older than this). */
export const stateIntervalSecondsSchema = z
  .number()
  .int()
  .min(60)
  .max(365 * 86_400)
  .nullable()
  .describe(
    "Seconds within which each of the unit's S1..S5 states is expected to be updated; null: no expectation.",
  );

const fields = {
  name: z.string().trim().min(1).max(200),
  slug: slugSchema,
  alerts: z.array(alertChannelSchema).max(20),
};

/** Body of `POST /v1/units`: a new unit below `parentId` (default: the root unit). */
export const createUnitSchema = z
  .object({
    name: fields.name,
    slug: fields.slug,
    parentId: uuidSchema.optional().describe("The parent unit; default the root unit (the tenant)."),
    alerts: fields.alerts.default([]).describe("Where this unit's algedonic alerts are sent."),
    escalationSeconds: escalationSecondsSchema.default(900),
    stateIntervalSeconds: stateIntervalSecondsSchema.default(null),
  })
  .strict();
/** Input of `units.create`. */
export type CreateUnitInput = z.input<typeof createUnitSchema>;

/** Body of `PATCH /v1/units/:id`: rename it or change its alerting. */
export const updateUnitSchema = z
  .object({
    name: fields.name.optional(),
    slug: fields.slug.optional(),
    alerts: fields.alerts.optional(),
    escalationSeconds: escalationSecondsSchema.optional(),
    stateIntervalSeconds: stateIntervalSecondsSchema.optional(),
  })
  .strict()
  .refine((body) => Object.values(body).some((v) => v !== undefined), {
    message: "give at least one of name, slug, alerts, escalationSeconds, stateIntervalSeconds",
  });
/** Input of `units.update`. */
export type UpdateUnitInput = z.input<typeof updateUnitSchema>;

/** Body of `POST /v1/units/:id/move`. */
export const moveUnitSchema = z.object({ parentId: uuidSchema.describe("The new parent unit.") }).strict();
/** Input of `units.move`. */
export type MoveUnitInput = z.input<typeof moveUnitSchema>;

/** Query of `GET /v1/units` and `GET /v1/units/:id/subtree`. */
export const listUnitsSchema = z
  .object({
    includeArchived: z
      .enum(["true", "false"])
      .transform((v) => v === "true")
      .optional(),
  })
  .strict();
/** Input of `units.list`. */
export type ListUnitsInput = z.input<typeof listUnitsSchema>;

/** A unit as the API returns it. */
export const unitSchema = z
  .object({
    id: z.uuid(),
    parentId: z.uuid().nullable().describe("Null for the root unit (the tenant itself)."),
    name: z.string(),
    slug: z.string(),
    depth: z.number().int().describe("0 for the root."),
    path: z.array(z.uuid()).describe("Ids from the root down to this unit."),
    alerts: z.array(alertChannelSchema),
    escalationSeconds: z.number().int(),
    stateIntervalSeconds: z.number().int().nullable(),
    archivedAt: timestampSchema.nullable(),
    createdAt: timestampSchema,
    updatedAt: timestampSchema,
  })
  .meta({ id: "Unit" });
/** A unit as the API returns it. */
export type Unit = z.infer<typeof unitSchema>;

/** Units in depth-first order (a parent before its children, siblings by slug). */
export const unitListSchema = listSchemaOf(unitSchema, "UnitList");
