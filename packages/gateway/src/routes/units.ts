import {
  createUnitSchema,
  listUnitsSchema,
  moveUnitSchema,
  systemStateHistoryPageSchema,
  systemStateListSchema,
  systemStateSchema,
  unitListSchema,
  unitSchema,
  updateSystemStateSchema,
  updateUnitSchema,
  viabilitySchema,
} from "@cybernetic/core";
import { EVENT_CURSOR_RESPONSE_HEADERS, listAtEventCursor } from "../internal/event-cursor.js";
import { parseWith } from "../internal/parse-with.js";
import { json } from "../internal/reply.js";
import { type AnyRoute, defineApiRoute } from "../route-definition.js";
import { idParams, unitSystemParams } from "./path-params.js";
import { type RouteDependencies, tenantOf } from "./route-dependencies.js";
import { systemHistoryQuerySchema } from "./systems.js";

/** Units: the tree of viable systems below the tenant, and each unit's own S1..S5 states. */
export function unitRoutes(deps: RouteDependencies): AnyRoute[] {
  const { units, systems } = deps.platform;
  return [
    defineApiRoute({
      method: "GET",
      path: "/v1/units",
      operationId: "listUnits",
      summary: "The whole tree of units, depth-first (the root, the tenant itself, first)",
      description:
        "Every unit with its `parentId`, `depth` and `path`, a parent before its children and siblings by slug. " +
        "Archived units only with `includeArchived=true`.",
      tag: "units",
      auth: "tenant",
      query: listUnitsSchema,
      responses: {
        200: { description: "The units", schema: unitListSchema, headers: EVENT_CURSOR_RESPONSE_HEADERS },
      },
      errors: ["validation_failed"],
      handler: (ctx) =>
        listAtEventCursor(deps.platform.db, tenantOf(ctx), async () => ({
          items: await units.list(tenantOf(ctx), ctx.query),
        })),
    }),
    defineApiRoute({
      method: "POST",
      path: "/v1/units",
      operationId: "createUnit",
      summary: "Create a unit below a parent (default the root), with its own five system states",
      description:
        "Slugs are unique among siblings (409 `duplicate`). A unit sits at most 8 levels below the root, and a tenant " +
        "has at most 1000 units (409 `conflict` with `details.reason` `max_depth` or `max_units`). Writes `unit.created`.",
      tag: "units",
      auth: "tenant",
      body: createUnitSchema,
      responses: { 201: { description: "Created", schema: unitSchema } },
      errors: ["validation_failed", "not_found", "duplicate", "conflict"],
      async handler(ctx) {
        return json(201, await units.create(tenantOf(ctx), ctx.body));
      },
    }),
    defineApiRoute({
      method: "GET",
      path: "/v1/units/:id",
      operationId: "getUnit",
      summary: "One unit",
      description: "404 for an unknown id or a unit of another tenant.",
      tag: "units",
      auth: "tenant",
      params: idParams,
      responses: { 200: { description: "The unit", schema: unitSchema } },
      errors: ["validation_failed", "not_found"],
      handler: (ctx) => units.get(tenantOf(ctx), ctx.params.id),
    }),
    defineApiRoute({
      method: "PATCH",
      path: "/v1/units/:id",
      operationId: "updateUnit",
      summary: "Rename a unit or change its alert channels, escalation window or expected state interval",
      description: "Writes `unit.updated`.",
      tag: "units",
      auth: "tenant",
      params: idParams,
      body: updateUnitSchema,
      responses: { 200: { description: "The unit", schema: unitSchema } },
      errors: ["validation_failed", "not_found", "duplicate"],
      handler: (ctx) => units.update(tenantOf(ctx), ctx.params.id, ctx.body),
    }),
    defineApiRoute({
      method: "GET",
      path: "/v1/units/:id/subtree",
      operationId: "getUnitSubtree",
      summary: "A unit and every unit below it, depth-first",
      description: "Archived units only with `includeArchived=true`.",
      tag: "units",
      auth: "tenant",
      params: idParams,
      query: listUnitsSchema,
      responses: { 200: { description: "The subtree", schema: unitListSchema } },
      errors: ["validation_failed", "not_found"],
      async handler(ctx) {
        return { items: await units.subtree(tenantOf(ctx), ctx.params.id, ctx.query) };
      },
    }),
    defineApiRoute({
      method: "POST",
      path: "/v1/units/:id/move",
      operationId: "moveUnit",
      summary: "Move a unit, with everything below it, under another parent",
      description:
        "A move below the unit itself or one of its descendants would make a cycle: 409 `conflict` with " +
        "`details.reason` `cycle`. The root cannot move (`root`); the moved subtree must stay within 8 levels " +
        "(`max_depth`). Writes `unit.moved`.",
      tag: "units",
      auth: "tenant",
      params: idParams,
      body: moveUnitSchema,
      responses: { 200: { description: "The moved unit", schema: unitSchema } },
      errors: ["validation_failed", "not_found", "conflict", "duplicate"],
      handler: (ctx) => units.move(tenantOf(ctx), ctx.params.id, ctx.body),
    }),
    defineApiRoute({
      method: "POST",
      path: "/v1/units/:id/archive",
      operationId: "archiveUnit",
      summary: "Archive a unit that has no active children",
      description:
        "Idempotent. The root cannot be archived (409 `conflict`, `details.reason` `root`), nor a unit with active " +
        "children (`has_children`). Writes `unit.archived`.",
      tag: "units",
      auth: "tenant",
      params: idParams,
      responses: { 200: { description: "The archived unit", schema: unitSchema } },
      errors: ["validation_failed", "not_found", "conflict"],
      handler: (ctx) => units.archive(tenantOf(ctx), ctx.params.id),
    }),
    defineApiRoute({
      method: "GET",
      path: "/v1/units/:id/viability",
      operationId: "getUnitViability",
      summary:
        "Viability at a glance: S1..S5 of the unit and each unit below it, present and alive, and why not",
      description:
        "For each unit, depth-first: each system's `present` and `alive` with the reason for each gap in plain words " +
        "and the evidence (states, recent episodes and readings, damping and governing policies, audits, alert " +
        "channels), its open alerts and the latest audit findings. See docs/vsm.md for what each system needs.",
      tag: "units",
      auth: "tenant",
      params: idParams,
      responses: { 200: { description: "The viability of the subtree", schema: viabilitySchema } },
      errors: ["validation_failed", "not_found"],
      handler: (ctx) => deps.platform.viability.of(tenantOf(ctx), ctx.params.id),
    }),
    defineApiRoute({
      method: "GET",
      path: "/v1/units/:id/systems",
      operationId: "listUnitSystems",
      summary: "A unit's five systems' current states",
      description: "As `GET /v1/systems`, for this unit (`/v1/systems` is the root unit's).",
      tag: "units",
      auth: "tenant",
      params: idParams,
      responses: { 200: { description: "S1..S5", schema: systemStateListSchema } },
      errors: ["validation_failed", "not_found"],
      async handler(ctx) {
        return { items: await systems.list(tenantOf(ctx), { unitId: ctx.params.id }) };
      },
    }),
    defineApiRoute({
      method: "GET",
      path: "/v1/units/:id/systems/:system",
      operationId: "getUnitSystem",
      summary: "One system's current state in a unit",
      description: "`system` is 1..5; the answer carries the `version` to send back with an update.",
      tag: "units",
      auth: "tenant",
      params: unitSystemParams,
      responses: { 200: { description: "The state", schema: systemStateSchema } },
      errors: ["validation_failed", "not_found"],
      handler: (ctx) => systems.get(tenantOf(ctx), ctx.params.system, { unitId: ctx.params.id }),
    }),
    defineApiRoute({
      method: "PUT",
      path: "/v1/units/:id/systems/:system",
      operationId: "updateUnitSystem",
      summary: "Replace a system's state in a unit (optimistic locking: send the version you read)",
      description:
        "A stale `version` answers 409 `version_conflict`. Writes the history and `system.state_changed` (with `unitId`).",
      tag: "units",
      auth: "tenant",
      params: unitSystemParams,
      body: updateSystemStateSchema,
      responses: { 200: { description: "The new state", schema: systemStateSchema } },
      errors: ["validation_failed", "version_conflict", "not_found"],
      handler: (ctx) => systems.update(tenantOf(ctx), ctx.params.system, ctx.body, { unitId: ctx.params.id }),
    }),
    defineApiRoute({
      method: "GET",
      path: "/v1/units/:id/systems/:system/history",
      operationId: "getUnitSystemHistory",
      summary: "Every version of a system's state in a unit, newest first",
      description: "Cursor-paginated, as `GET /v1/systems/:system/history`.",
      tag: "units",
      auth: "tenant",
      params: unitSystemParams,
      query: systemHistoryQuerySchema,
      responses: { 200: { description: "One page of history", schema: systemStateHistoryPageSchema } },
      errors: ["validation_failed", "invalid_cursor", "not_found"],
      handler(ctx) {
        const query = parseWith(systemHistoryQuerySchema, ctx.query, "query");
        return systems.history(tenantOf(ctx), ctx.params.system, query, { unitId: ctx.params.id });
      },
    }),
  ];
}
