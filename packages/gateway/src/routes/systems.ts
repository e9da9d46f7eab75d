import { cursorSchema, limitSchema, updateSystemStateSchema } from "@cybernetic/core";
import { z } from "zod";
import { parseWith } from "../internal/parse-with.js";
import {
  systemStateHistoryPageSchema,
  systemStateListSchema,
  systemStateSchema,
} from "../openapi/resource-schemas.js";
import { type AnyRoute, defineRoute } from "../route-definition.js";
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
    defineRoute({
      method: "GET",
      path: "/v1/systems",
      operationId: "listSystems",
      summary: "The five systems' current states",
      tag: "systems",
      auth: "tenant",
      responses: { 200: { description: "S1..S5", schema: systemStateListSchema } },
      async handler(ctx) {
        return { items: await systems.list(tenantOf(ctx)) };
      },
    }),
    defineRoute({
      method: "GET",
      path: "/v1/systems/:system",
      operationId: "getSystem",
      summary: "One system's current state",
      tag: "systems",
      auth: "tenant",
      params: systemParams,
      responses: { 200: { description: "The state", schema: systemStateSchema } },
      errors: ["validation_failed", "not_found"],
      handler: (ctx) => systems.get(tenantOf(ctx), ctx.params.system),
    }),
    defineRoute({
      method: "PUT",
      path: "/v1/systems/:system",
      operationId: "updateSystem",
      summary: "Replace a system's state (optimistic locking: send the version you read)",
      tag: "systems",
      auth: "tenant",
      params: systemParams,
      body: updateSystemStateSchema,
      responses: { 200: { description: "The new state", schema: systemStateSchema } },
      errors: ["validation_failed", "version_conflict", "not_found"],
      handler: (ctx) => systems.update(tenantOf(ctx), ctx.params.system, ctx.body),
    }),
    defineRoute({
      method: "GET",
      path: "/v1/systems/:system/history",
      operationId: "getSystemHistory",
      summary: "A system's previous states, newest first",
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
