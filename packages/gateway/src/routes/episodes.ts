import {
  createEpisodeSchema,
  episodePageSchema,
  episodeSchema,
  episodeWriteResultSchema,
  listEpisodesSchema,
} from "@cybernetic/core";
import { EVENT_CURSOR_RESPONSE_HEADERS, listAtEventCursor } from "../internal/event-cursor.js";
import { json } from "../internal/reply.js";
import { type AnyRoute, defineApiRoute } from "../route-definition.js";
import { idParams } from "./path-params.js";
import { notConfigured, type RouteDependencies, tenantOf } from "./route-dependencies.js";

/** Episodes: things that happened, analysed by S4. */
export function episodeRoutes(deps: RouteDependencies): AnyRoute[] {
  const { platform } = deps;
  const { episodes } = platform;
  return [
    defineApiRoute({
      method: "POST",
      path: "/v1/episodes",
      operationId: "createEpisode",
      summary: "Record an episode; its analysis is enqueued in the same transaction",
      description:
        "201 with status `pending` for a new episode; 200 with the existing one when `(source, sourceId)` was ingested before.",
      tag: "episodes",
      auth: "tenant",
      body: createEpisodeSchema,
      responses: {
        201: { description: "Created", schema: episodeWriteResultSchema },
        200: { description: "Already ingested (same source and sourceId)", schema: episodeWriteResultSchema },
      },
      errors: ["validation_failed"],
      async handler(ctx) {
        const result = await episodes.create(tenantOf(ctx), ctx.body);
        return json(result.created ? 201 : 200, {
          episode: result.episode,
          created: result.created,
          jobId: result.jobId ?? null,
        });
      },
    }),
    defineApiRoute({
      method: "GET",
      path: "/v1/episodes",
      operationId: "listEpisodes",
      summary: "Episodes, newest first; filter by status and tag",
      description: "Cursor-paginated; `status` and `tag` filter the list.",
      tag: "episodes",
      auth: "tenant",
      query: listEpisodesSchema,
      responses: {
        200: {
          description: "One page of episodes",
          schema: episodePageSchema,
          headers: EVENT_CURSOR_RESPONSE_HEADERS,
        },
      },
      errors: ["validation_failed", "invalid_cursor"],
      handler: (ctx) =>
        listAtEventCursor(platform.db, tenantOf(ctx), () => episodes.list(tenantOf(ctx), ctx.query)),
    }),
    defineApiRoute({
      method: "GET",
      path: "/v1/episodes/:id",
      operationId: "getEpisode",
      summary: "One episode",
      description: "With its analysis once S4 has analysed it (`status` `complete`).",
      tag: "episodes",
      auth: "tenant",
      params: idParams,
      responses: { 200: { description: "The episode", schema: episodeSchema } },
      errors: ["validation_failed", "not_found"],
      handler: (ctx) => episodes.get(tenantOf(ctx), ctx.params.id),
    }),
    defineApiRoute({
      method: "POST",
      path: "/v1/episodes/:id/analyze",
      operationId: "analyzeEpisode",
      summary: "Analyse a complete or failed episode again",
      description:
        "Sets the episode back to `pending` and enqueues a new analysis job; 409 while an analysis is pending or running.",
      tag: "episodes",
      auth: "tenant",
      params: idParams,
      responses: {
        202: { description: "Pending again; the job is enqueued", schema: episodeWriteResultSchema },
      },
      errors: ["validation_failed", "not_found", "conflict", "unavailable"],
      async handler(ctx) {
        if (platform.queue === undefined) throw notConfigured("the job queue");
        const result = await episodes.requestAnalysis(tenantOf(ctx), ctx.params.id);
        return json(202, { episode: result.episode, created: false, jobId: result.jobId ?? null });
      },
    }),
  ];
}
