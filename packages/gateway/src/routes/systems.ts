import {
  cursorSchema,
  limitSchema,
  systemStateHistoryPageSchema,
  systemStateListSchema,
  systemStateSchema,
  updateSystemStateSchema,
} from "@cybernetic/core";
import { z } from "zod";
import { EVENT_CURSOR_RESPONSE_HEADERS, listAtEventCursor } from "../internal/event-cursor.js";
import { parseWith } from "../internal/parse-with.js";
import { type AnyRoute, defineApiRoute } from "../route-definition.js";
import { systemParams } from "./path-params.js";
import { type RouteDependencies, tenantOf } from "./route-dependencies.js";

/** Query of `GET /v1/systems/:system/history`. */
export const systemHistoryQuerySchema = z
  .object({ limit: limitSchema, cursor: cursorSchema.optional() })
  .strict();

/** The five VSM systems' states. */
export function systemRoutes(deps: RouteDependencies): AnyRoute[] {
  const { systems } = deps.platform;
  return [
    defineApiRoute({
      method: "GET",
      path: "/v1/systems",
      operationId: "listSystems",
      summary: "The five systems' current states",
      description:
        "The current state and version of S1 operations, S2 coordination, S3 control, S4 intelligence and S5 policy.",
      tag: "systems",
      auth: "tenant",
      responses: {
        200: { description: "S1..S5", schema: systemStateListSchema, headers: EVENT_CURSOR_RESPONSE_HEADERS },
      },
      handler: (ctx) =>
        listAtEventCursor(deps.platform.db, tenantOf(ctx), async () => ({
          items: await systems.list(tenantOf(ctx)),
        })),
    }),
    defineApiRoute({
      method: "GET",
      path: "/v1/systems/:system",
      operationId: "getSystem",
      summary: "One system's current state",
      description: "`system` is 1..5; the answer carries the `version` to send back with an update.",
      tag: "systems",
      auth: "tenant",
      params: systemParams,
      responses: { 200: { description: "The state", schema: systemStateSchema } },
      errors: ["validation_failed", "not_found"],
      handler: (ctx) => systems.get(tenantOf(ctx), ctx.params.system),
    }),
    defineApiRoute({
      method: "PUT",
      path: "/v1/systems/:system",
      operationId: "updateSystem",
      summary: "Replace a system's state (optimistic locking: send the version you read)",
      description:
        "Send the `version` you read: a stale version answers 409 `version_conflict`. The previous state goes to the history and `system.state_changed` is written to the outbox in the same transaction.",
      tag: "systems",
      auth: "tenant",
      params: systemParams,
      body: updateSystemStateSchema,
      responses: { 200: { description: "The new state", schema: systemStateSchema } },
      errors: ["validation_failed", "version_conflict", "not_found"],
      handler: (ctx) => systems.update(tenantOf(ctx), ctx.params.system, ctx.body),
    }),
    defineApiRoute({
      method: "GET",
      path: "/v1/systems/:system/history",
      operationId: "getSystemHistory",
      summary: "Every version of a system's state, newest first (the current one first)",
      description:
        "Cursor-paginated; the first entry is the current state, then each state it had before a later update replaced it.",
      tag: "systems",
      auth: "tenant",
      params: systemParams,
      query: systemHistoryQuerySchema,
      responses: {
        200: {
          description: "One page of history",
          schema: systemStateHistoryPageSchema,
        },
      },
      errors: ["validation_failed", "invalid_cursor"],
      handler(ctx) {
        const query = parseWith(systemHistoryQuerySchema, ctx.query, "query");
        return systems.history(tenantOf(ctx), ctx.params.system, query);
      },
    }),
  ];
}
