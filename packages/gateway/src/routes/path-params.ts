import { systemSchema, uuidSchema } from "@cybernetic/core";
import { z } from "zod";

/** `:id` must be a UUID. */
export const idParams = z.object({ id: uuidSchema });

/** `:id` (a tenant) and `:keyId` (one of its API keys) must be UUIDs. */
export const tenantKeyParams = z.object({ id: uuidSchema, keyId: uuidSchema });

/** `:system` is 1..5. */
export const systemParams = z.object({
  system: systemSchema.pipe(z.union([z.literal(1), z.literal(2), z.literal(3), z.literal(4), z.literal(5)])),
});

/** `:id` (a unit) is a UUID and `:system` is 1..5. */
export const unitSystemParams = z.object({ id: uuidSchema, system: systemParams.shape.system });

/** `:id` (a unit) and `:indicatorId` (one of its indicators) are UUIDs. */
export const unitIndicatorParams = z.object({ id: uuidSchema, indicatorId: uuidSchema });
