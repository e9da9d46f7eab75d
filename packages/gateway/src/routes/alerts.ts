import {
  type AlertActor,
  alertPageSchema,
  alertSchema,
  alertTransitionSchema,
  listAlertsSchema,
  raiseAlertSchema,
} from "@cybernetic/core";
import { EVENT_CURSOR_RESPONSE_HEADERS, listAtEventCursor } from "../internal/event-cursor.js";
import { json } from "../internal/reply.js";
import { type AnyRoute, defineApiRoute, type RouteContext } from "../route-definition.js";
import { idParams } from "./path-params.js";
import { type RouteDependencies, tenantOf } from "./route-dependencies.js";

/** Who is acting: the calling API key. */
function actorOf(ctx: RouteContext<unknown>): AlertActor {
  const principal = ctx.principal;
  return principal?.kind === "tenant"
    ? { kind: "api_key", id: principal.keyId }
    : { kind: "system", id: "gateway" };
}

/** Algedonic alerts and their lifecycle. */
export function alertRoutes(deps: RouteDependencies): AnyRoute[] {
  const { platform } = deps;
  const { alerts } = platform;
  return [
    defineApiRoute({
      method: "GET",
      path: "/v1/alerts",
      operationId: "listAlerts",
      summary: "Algedonic alerts, newest first; by status (`open`: raised or acknowledged) and unit",
      description:
        "Each alert says where it was raised (`unitId`), where it is now (`levelUnitId`), how far it climbed " +
        "(`escalations`) and when it climbs next, and who acknowledged or resolved it.",
      tag: "alerts",
      auth: "tenant",
      query: listAlertsSchema,
      responses: {
        200: {
          description: "One page of alerts",
          schema: alertPageSchema,
          headers: EVENT_CURSOR_RESPONSE_HEADERS,
        },
      },
      errors: ["validation_failed", "invalid_cursor"],
      handler: (ctx) =>
        listAtEventCursor(platform.db, tenantOf(ctx), () => alerts.list(tenantOf(ctx), ctx.query)),
    }),
    defineApiRoute({
      method: "POST",
      path: "/v1/alerts",
      operationId: "raiseAlert",
      summary: "Raise an algedonic signal by hand (pain by default)",
      description:
        "Writes `algedonic.alert` and notifies the unit's alert channels at once. A `key` makes it idempotent: 201 " +
        "for a new alert, 200 with the existing one when the key was raised before.",
      tag: "alerts",
      auth: "tenant",
      body: raiseAlertSchema,
      responses: {
        201: { description: "Raised", schema: alertSchema },
        200: { description: "Raised before with this key", schema: alertSchema },
      },
      errors: ["validation_failed", "not_found", "conflict"],
      async handler(ctx) {
        const raised = await alerts.raise(tenantOf(ctx), ctx.body, actorOf(ctx));
        return json(raised.created ? 201 : 200, raised.alert);
      },
    }),
    defineApiRoute({
      method: "GET",
      path: "/v1/alerts/:id",
      operationId: "getAlert",
      summary: "One alert",
      description: "404 for an unknown id or an alert of another tenant.",
      tag: "alerts",
      auth: "tenant",
      params: idParams,
      responses: { 200: { description: "The alert", schema: alertSchema } },
      errors: ["validation_failed", "not_found"],
      handler: (ctx) => alerts.get(tenantOf(ctx), ctx.params.id),
    }),
    defineApiRoute({
      method: "POST",
      path: "/v1/alerts/:id/ack",
      operationId: "acknowledgeAlert",
      summary: "Acknowledge an alert: it stops climbing",
      description:
        "Records who (the API key, and `by` when given) and when, and writes `algedonic.acknowledged`. " +
        "Idempotent; 409 `conflict` for a resolved alert.",
      tag: "alerts",
      auth: "tenant",
      params: idParams,
      body: alertTransitionSchema,
      bodyRequired: false,
      responses: { 200: { description: "The acknowledged alert", schema: alertSchema } },
      errors: ["validation_failed", "not_found", "conflict"],
      async handler(ctx) {
        return (await alerts.acknowledge(tenantOf(ctx), ctx.params.id, actorOf(ctx), ctx.body ?? {})).alert;
      },
    }),
    defineApiRoute({
      method: "POST",
      path: "/v1/alerts/:id/resolve",
      operationId: "resolveAlert",
      summary: "Resolve an alert (raised or acknowledged)",
      description: "Records who and when, and writes `algedonic.resolved`. Idempotent.",
      tag: "alerts",
      auth: "tenant",
      params: idParams,
      body: alertTransitionSchema,
      bodyRequired: false,
      responses: { 200: { description: "The resolved alert", schema: alertSchema } },
      errors: ["validation_failed", "not_found"],
      async handler(ctx) {
        return (await alerts.resolve(tenantOf(ctx), ctx.params.id, actorOf(ctx), ctx.body ?? {})).alert;
      },
    }),
  ];
}
