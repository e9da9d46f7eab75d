import {
  createIndicatorSchema,
  indicatorListSchema,
  indicatorSchema,
  listReadingsSchema,
  readingPageSchema,
  recordedReadingsSchema,
  recordReadingsSchema,
  updateIndicatorSchema,
} from "@cybernetic/core";
import { json } from "../internal/reply.js";
import { type AnyRoute, defineApiRoute } from "../route-definition.js";
import { idParams, unitIndicatorParams } from "./path-params.js";
import { type RouteDependencies, tenantOf } from "./route-dependencies.js";

/** Beer's triple index: a unit's indicators and their readings. */
export function indicatorRoutes(deps: RouteDependencies): AnyRoute[] {
  const { indicators } = deps.platform;
  const base = "/v1/units/:id/indicators";
  return [
    defineApiRoute({
      method: "POST",
      path: base,
      operationId: "createIndicator",
      summary: "Declare an indicator on a unit, with its capability and potentiality",
      description:
        "Names are unique per unit (409 `duplicate`); at most 200 per unit. `detector` overrides the change detector's " +
        "parameters (see docs/vsm.md). Writes `indicator.created`.",
      tag: "units",
      auth: "tenant",
      params: idParams,
      body: createIndicatorSchema,
      responses: { 201: { description: "Declared", schema: indicatorSchema } },
      errors: ["validation_failed", "not_found", "duplicate", "conflict"],
      async handler(ctx) {
        return json(201, await indicators.create(tenantOf(ctx), ctx.params.id, ctx.body));
      },
    }),
    defineApiRoute({
      method: "GET",
      path: base,
      operationId: "listIndicators",
      summary: "A unit's indicators, with their current targets and latest reading",
      description: "By name.",
      tag: "units",
      auth: "tenant",
      params: idParams,
      responses: { 200: { description: "The indicators", schema: indicatorListSchema } },
      errors: ["validation_failed", "not_found"],
      async handler(ctx) {
        return { items: await indicators.list(tenantOf(ctx), ctx.params.id) };
      },
    }),
    defineApiRoute({
      method: "GET",
      path: `${base}/:indicatorId`,
      operationId: "getIndicator",
      summary: "One indicator, with every set of targets and its latest reading",
      description: "404 for an indicator of another unit or tenant.",
      tag: "units",
      auth: "tenant",
      params: unitIndicatorParams,
      responses: { 200: { description: "The indicator", schema: indicatorSchema } },
      errors: ["validation_failed", "not_found"],
      handler: (ctx) => indicators.get(tenantOf(ctx), ctx.params.id, ctx.params.indicatorId),
    }),
    defineApiRoute({
      method: "PATCH",
      path: `${base}/:indicatorId`,
      operationId: "updateIndicator",
      summary: "Rename an indicator, or give it new capability and potentiality from a moment on",
      description:
        "New targets apply to readings from `effectiveFrom` (default now); earlier readings keep theirs. Writes `indicator.updated`.",
      tag: "units",
      auth: "tenant",
      params: unitIndicatorParams,
      body: updateIndicatorSchema,
      responses: { 200: { description: "The indicator", schema: indicatorSchema } },
      errors: ["validation_failed", "not_found", "duplicate"],
      handler: (ctx) => indicators.update(tenantOf(ctx), ctx.params.id, ctx.params.indicatorId, ctx.body),
    }),
    defineApiRoute({
      method: "POST",
      path: `${base}/:indicatorId/readings`,
      operationId: "recordReadings",
      summary: "Record readings of actuality (a batch of up to 1000, idempotent by timestamp)",
      description:
        "Each reading gets its productivity, latency and performance against the targets in effect at its time, and " +
        "the change detector's verdict. A reading already recorded with the same value is skipped; with another value, " +
        "or older than the latest, 409 `conflict`. A significant fall raises an algedonic alert at the unit. Writes " +
        "`indicator.readings_recorded` and, per change, `indicator.change_detected`.",
      tag: "units",
      auth: "tenant",
      params: unitIndicatorParams,
      body: recordReadingsSchema,
      responses: { 200: { description: "What was recorded", schema: recordedReadingsSchema } },
      errors: ["validation_failed", "not_found", "conflict"],
      handler: (ctx) => indicators.record(tenantOf(ctx), ctx.params.id, ctx.params.indicatorId, ctx.body),
    }),
    defineApiRoute({
      method: "GET",
      path: `${base}/:indicatorId/readings`,
      operationId: "listReadings",
      summary:
        "The series for plotting: readings in time order with indices, smoothed values, forecast and band",
      description: "`from` and `to` bound it; pages of up to 1000.",
      tag: "units",
      auth: "tenant",
      params: unitIndicatorParams,
      query: listReadingsSchema,
      responses: { 200: { description: "One page of readings", schema: readingPageSchema } },
      errors: ["validation_failed", "invalid_cursor", "not_found"],
      handler: (ctx) => indicators.readings(tenantOf(ctx), ctx.params.id, ctx.params.indicatorId, ctx.query),
    }),
  ];
}
