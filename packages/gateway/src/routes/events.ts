import {
  CyberneticError,
  cyberneticEventSchema,
  eventPatternSchema,
  validationError,
} from "@cybernetic/core";
import { z } from "zod";
import { HijackReply, json } from "../internal/reply.js";
import type { SseHub } from "../internal/sse-hub.js";
import type { StreamTokens } from "../internal/stream-token.js";
import { type AnyRoute, defineApiRoute, type RouteContext } from "../route-definition.js";
import { notConfigured, type RouteDependencies, tenantOf } from "./route-dependencies.js";

/** Most topics one stream may name. */
export const MAX_TOPICS = 20;

const CURSOR = /^\d{1,19}$/;

/**
 * The `topics` of a stream: comma-separated (or repeated) exact types, `category.*` or `*`; `*` when
 * absent. A bad topic is a 400 naming it, never silently dropped.
 */
export function parseTopics(raw: string | string[] | undefined): string[] {
  if (raw === undefined) return ["*"];
  const topics = (Array.isArray(raw) ? raw : [raw]).flatMap((value) => value.split(",")).map((t) => t.trim());
  if (topics.length > MAX_TOPICS) {
    throw validationError(`at most ${MAX_TOPICS} topics may be named (got ${topics.length})`, [
      { path: "topics", message: `at most ${MAX_TOPICS}` },
    ]);
  }
  for (const topic of topics) {
    const result = eventPatternSchema.safeParse(topic);
    if (topic === "" || !result.success) {
      const reason = topic === "" ? "empty topic" : (result.error?.issues[0]?.message ?? "invalid");
      throw validationError(`topic ${JSON.stringify(topic.slice(0, 100))} is invalid: ${reason}`, [
        { path: "topics", message: reason },
      ]);
    }
  }
  return [...new Set(topics)];
}

/** The resume cursor: `Last-Event-ID` or `?last_event_id=`; a malformed one is a 400. */
export function parseLastEventId(
  header: string | null,
  query: string | string[] | undefined,
): string | undefined {
  const value = header?.trim() || (Array.isArray(query) ? query[0] : query)?.trim() || undefined;
  if (value === undefined) return undefined;
  if (!CURSOR.test(value)) {
    throw validationError("Last-Event-ID must be an event id (a decimal number)", [
      { path: "last-event-id", message: "must be digits" },
    ]);
  }
  return value.replace(/^0+(?=\d)/, "");
}

const timestamp = z.iso.datetime({ offset: true });
const cursorSchema = z.string().regex(CURSOR).describe("An outbox id: the resume cursor.");

/** The first event of every stream. */
export const connectedEventSchema = z
  .object({
    topics: z.array(z.string()),
    serverTime: timestamp,
    heartbeatMs: z.number().int(),
    retryMs: z.number().int(),
    cursor: cursorSchema.describe("The stream delivers the events after this id."),
  })
  .meta({ id: "StreamConnected" });

/** The resume cursor was older than retention (or too far behind): reload state, then carry on. */
export const resyncEventSchema = z
  .object({ reason: z.enum(["cursor_expired", "too_far_behind"]), cursor: cursorSchema })
  .meta({ id: "StreamResync" });

/** The server ended the stream; resume with the last id received. */
export const disconnectedEventSchema = z
  .object({ reason: z.enum(["max_duration", "shutdown", "overflow"]) })
  .meta({ id: "StreamDisconnected" });

const streamSchema = z
  .union([
    cyberneticEventSchema,
    connectedEventSchema.describe("event: connected"),
    resyncEventSchema.describe("event: resync"),
    disconnectedEventSchema.describe("event: disconnected"),
  ])
  .describe(
    "Server-sent events. Each platform event is a frame `id: <outbox id>`, `event: <type>`, `data: <Event JSON>`; the control events `connected`, `resync` and `disconnected` carry no id. A comment line is written every `heartbeatMs`.",
  );

export const streamTokenSchema = z
  .object({ token: z.string(), expiresAt: timestamp })
  .meta({ id: "StreamToken" });

/** What the event routes need beyond the common dependencies. */
export interface EventRouteDependencies {
  hub: SseHub | undefined;
  tokens: StreamTokens;
}

/** `GET /v1/events` (the SSE stream) and `POST /v1/events/token`. */
export function eventRoutes(deps: RouteDependencies): AnyRoute[] {
  const { hub, tokens } = deps.events;
  return [
    defineApiRoute({
      method: "GET",
      path: "/v1/events",
      operationId: "streamEvents",
      summary: "The tenant's events, live, as server-sent events (resumable)",
      description:
        "Auth as the REST API, or `?token=` from `POST /v1/events/token` (for browsers' EventSource; API keys are never accepted in a URL). Send `Last-Event-ID` (or `?last_event_id=`) with the last id received, or the `x-event-cursor` of a list response, to receive every missed event first. A first `connected` event is sent once the stream is registered and any replay is done.",
      tag: "events",
      auth: "tenant",
      scope: "events",
      queryToken: (token, scope) => tokens.verify(token, scope),
      query: z.object({
        topics: z
          .string()
          .optional()
          .describe(`Comma-separated exact types, \`category.*\` or \`*\` (default); at most ${MAX_TOPICS}.`),
        last_event_id: cursorSchema.optional().describe("Same as the Last-Event-ID header."),
        token: z.string().optional().describe("A stream token (browsers)."),
      }),
      responses: {
        200: { description: "The event stream", schema: streamSchema, contentType: "text/event-stream" },
      },
      errors: ["validation_failed", "rate_limited", "unavailable"],
      async handler(ctx: RouteContext<Record<string, string>>) {
        if (hub === undefined) throw notConfigured("the event bus");
        if (deps.draining()) {
          throw new CyberneticError("unavailable", "the server is shutting down; reconnect", {
            headers: { "retry-after": "1" },
          });
        }
        const res = ctx.event.runtime?.node?.res;
        if (res === undefined) {
          throw new CyberneticError("unavailable", "the event stream is served only by the Node server", {
            details: { dependency: "node:http" },
          });
        }
        const topics = parseTopics(ctx.query.topics);
        const lastEventId = parseLastEventId(
          ctx.event.req.headers.get("last-event-id"),
          ctx.query.last_event_id,
        );
        const stream = await hub.open({
          res: res as import("node:http").ServerResponse,
          tenantId: tenantOf(ctx),
          topics,
          lastEventId,
        });
        return new HijackReply(
          (_res, headers) => stream.start(headers),
          () => stream.cancel(),
          "text/event-stream; charset=utf-8",
        );
      },
    }),
    defineApiRoute({
      method: "POST",
      path: "/v1/events/token",
      operationId: "createStreamToken",
      summary: "A short-lived token for `GET /v1/events?token=`",
      description:
        "Browsers' EventSource cannot send headers, and API keys are never accepted in a URL: trade the key for a token that only the event stream accepts, valid for minutes. Ask for a new one on every reconnect.",
      tag: "events",
      auth: "tenant",
      scope: "events",
      responses: { 201: { description: "The token", schema: streamTokenSchema } },
      handler(ctx) {
        const principal = ctx.principal;
        if (principal?.kind !== "tenant") throw new CyberneticError("internal", "tenant route without a key");
        return json(201, tokens.issue(principal), [["cache-control", "no-store"]]);
      },
    }),
  ];
}
