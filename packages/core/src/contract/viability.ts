import { z } from "zod";
import { alertSchema } from "./alerts.js";
import { auditFindingSchema } from "./audits.js";
import { systemNumberSchema, timestampSchema } from "./common.js";

/** How far back "recent activity" looks, in days. */
export const VIABILITY_WINDOW_DAYS = 7;

/** One of S1..S5 of a unit: present (the unit has the means of it) and alive (it acted recently). */
export const systemViabilitySchema = z
  .object({
    system: systemNumberSchema,
    name: z.string(),
    present: z.boolean(),
    alive: z.boolean(),
    gaps: z.array(z.string()).describe("Why it is absent or not alive, in plain words; empty when neither."),
    evidence: z.record(z.string(), z.unknown()).describe("What the verdict rests on (counts, latest times)."),
  })
  .meta({ id: "SystemViability" });
/** One system's viability. */
export type SystemViability = z.infer<typeof systemViabilitySchema>;

/** One unit's viability. */
export const unitViabilitySchema = z
  .object({
    unit: z.object({
      id: z.uuid(),
      parentId: z.uuid().nullable(),
      name: z.string(),
      slug: z.string(),
      depth: z.number().int(),
    }),
    viable: z.boolean().describe("Every one of S1..S5 is present and alive."),
    systems: z.array(systemViabilitySchema),
    openAlerts: z.array(alertSchema).describe("Alerts raised or acknowledged at this level (newest 20)."),
    latestFindings: z
      .array(auditFindingSchema)
      .describe("What the latest audit that looked at this unit found here."),
  })
  .meta({ id: "UnitViability" });
/** One unit's viability. */
export type UnitViability = z.infer<typeof unitViabilitySchema>;

/** Answer of `GET /v1/units/:id/viability`: the unit, then each unit below it, depth-first. */
export const viabilitySchema = z
  .object({
    unitId: z.uuid(),
    at: timestampSchema,
    windowDays: z.number().int(),
    units: z.array(unitViabilitySchema),
  })
  .meta({ id: "Viability" });
/** Answer of `GET /v1/units/:id/viability`. */
export type Viability = z.infer<typeof viabilitySchema>;
