import {
  eventPageSchema,
  listEventsSchema,
  listNotificationsSchema,
  notificationPageSchema,
} from "@cybernetic/core";
import { type AnyRoute, defineApiRoute } from "../route-definition.js";
import { type RouteDependencies, tenantOf } from "./route-dependencies.js";

/** What the platform sent on the tenant's behalf, and what happened: its notifications and recent events. */
export function notificationRoutes(deps: RouteDependencies): AnyRoute[] {
  const { platform } = deps;
  return [
    defineApiRoute({
      method: "GET",
      path: "/v1/notifications",
      operationId: "listNotifications",
      summary: "Notifications (alerts, policy `notify` actions), newest first, with their delivery status",
      description:
        "`status` is `pending`, `sending`, `sent` or `failed`; `attempts` and `lastError` tell how delivery went.",
      tag: "notifications",
      auth: "tenant",
      query: listNotificationsSchema,
      responses: { 200: { description: "One page of notifications", schema: notificationPageSchema } },
      errors: ["validation_failed", "invalid_cursor"],
      handler: (ctx) => platform.notifications.list(tenantOf(ctx), ctx.query),
    }),
    defineApiRoute({
      method: "GET",
      path: "/v1/events/recent",
      operationId: "listRecentEvents",
      summary: "The tenant's recent events, newest first (as long as housekeeping keeps them)",
      description:
        "`type` filters like a subscription: `*`, a category (`episode.*`) or an exact type. Events of the `event` notification channel appear here as `notification.sent`.",
      tag: "notifications",
      auth: "tenant",
      scope: "events",
      query: listEventsSchema,
      responses: { 200: { description: "One page of events", schema: eventPageSchema } },
      errors: ["validation_failed", "invalid_cursor"],
      handler: (ctx) => platform.events.list(tenantOf(ctx), ctx.query),
    }),
  ];
}
