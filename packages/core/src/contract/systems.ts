import { z } from "zod";
import { jsonObjectSchema, type SystemNumber } from "./common.js";

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
export interface SystemState {
  system: SystemNumber;
  name: string;
  state: Record<string, unknown>;
  version: number;
  updatedAt: string;
}

/** One entry of a system's history. */
export interface SystemStateHistoryEntry {
  system: SystemNumber;
  version: number;
  state: Record<string, unknown>;
  changedAt: string;
}
