import { z } from "zod";
import {
  jsonObjectSchema,
  jsonRecordSchema,
  listSchemaOf,
  pageSchemaOf,
  systemNumberSchema,
  timestampSchema,
} from "./common.js";

/** Body of `PUT /v1/systems/:system`: the new state and the version it replaces. */
export const updateSystemStateSchema = z
  .object({
    state: jsonObjectSchema,
    /** The version the caller read; a stale version is a 409 `version_conflict`. */
    version: z.number().int().min(1),
  })
  .strict();
/** Input of `systems.update`. */
export type UpdateSystemStateInput = z.input<typeof updateSystemStateSchema>;

/** One system's current state. */
export const systemStateSchema = z
  .object({
    system: systemNumberSchema,
    unitId: z.uuid().describe("The unit whose state this is (the root unit for `/v1/systems`)."),
    name: z.string(),
    state: jsonRecordSchema,
    version: z.number().int(),
    updatedAt: timestampSchema,
  })
  .meta({ id: "SystemState" });
/** One system's current state. */
export type SystemState = z.infer<typeof systemStateSchema>;

/** One entry of a system's history: a state it had before a later update replaced it. */
export const systemStateHistoryEntrySchema = z
  .object({
    system: systemNumberSchema,
    unitId: z.uuid(),
    version: z.number().int(),
    state: jsonRecordSchema,
    changedAt: timestampSchema,
  })
  .meta({ id: "SystemStateHistoryEntry" });
/** One entry of a system's history. */
export type SystemStateHistoryEntry = z.infer<typeof systemStateHistoryEntrySchema>;

/** The five systems' states. */
export const systemStateListSchema = listSchemaOf(systemStateSchema, "SystemStateList");
/** A page of a system's history. */
export const systemStateHistoryPageSchema = pageSchemaOf(
  systemStateHistoryEntrySchema,
  "SystemStateHistoryPage",
);
