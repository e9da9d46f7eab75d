import { createEpisodeSchema, listEpisodesSchema } from "@cybernetic/core";
import { json } from "../internal/reply.js";
import { episodePageSchema, episodeSchema, episodeWriteResultSchema } from "../openapi/resource-schemas.js";
import { type AnyRoute, defineRoute } from "../route-definition.js";
import { idParams } from "./path-params.js";
import { notConfigured, type RouteDependencies, tenantOf } from "./route-dependencies.js";

/** Episodes: things that happened, analysed by S4. */
export function episodeRoutes(deps: RouteDependencies): AnyRoute[] {
  const { platform } = deps;
  const { episodes } = platform;
  return [
    defineRoute({
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
    defineRoute({
      method: "GET",
      path: "/v1/episodes",
      operationId: "listEpisodes",
      summary: "Episodes, newest first; filter by status and tag",
      tag: "episodes",
      auth: "tenant",
      query: listEpisodesSchema,
      responses: { 200: { description: "One page of episodes", schema: episodePageSchema } },
      errors: ["validation_failed", "invalid_cursor"],
      handler: (ctx) => episodes.list(tenantOf(ctx), ctx.query),
    }),
    defineRoute({
      method: "GET",
      path: "/v1/episodes/:id",
      operationId: "getEpisode",
      summary: "One episode",
      tag: "episodes",
      auth: "tenant",
      params: idParams,
      responses: { 200: { description: "The episode", schema: episodeSchema } },
      errors: ["validation_failed", "not_found"],
      handler: (ctx) => episodes.get(tenantOf(ctx), ctx.params.id),
    }),
    defineRoute({
      method: "POST",
      path: "/v1/episodes/:id/analyze",
      operationId: "analyzeEpisode",
      summary: "Analyse a complete or failed episode again",
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
