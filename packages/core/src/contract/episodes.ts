import { z } from "zod";
import {
  cursorSchema,
  jsonRecordSchema,
  limitSchema,
  pageSchemaOf,
  timestampSchema,
  uuidSchema,
} from "./common.js";

/** Episode statuses, in lifecycle order. */
export const episodeStatuses = ["pending", "analyzing", "complete", "failed"] as const;
/** An episode status. */
export type EpisodeStatus = (typeof episodeStatuses)[number];

const tag = z
  .string()
  .trim()
  .min(1)
  .max(64)
  .regex(/^[\p{L}\p{N}_:.-]+$/u, { message: "tags are letters, digits and _ : . -" });

/** Body of `POST /v1/episodes`. */
export const createEpisodeSchema = z
  .object({
    title: z.string().trim().min(1).max(500),
    content: z.string().max(1_000_000).default(""),
    source: z
      .string()
      .trim()
      .min(1)
      .max(100)
      .regex(/^[a-z0-9][a-z0-9_.-]*$/, { message: "source is lowercase letters, digits and _ . -" })
      .default("api"),
    /** The id of the episode in its source (e.g. a Telegram message id): ingesting it twice makes one episode. */
    sourceId: z.string().trim().min(1).max(200).optional(),
    tags: z.array(tag).max(50).default([]),
    unitId: uuidSchema.optional().describe("The unit the episode happened in; default the root unit."),
  })
  .strict();
/** Input of `episodes.create`. */
export type CreateEpisodeInput = z.input<typeof createEpisodeSchema>;

/** Query of `GET /v1/episodes`. */
export const listEpisodesSchema = z
  .object({
    limit: limitSchema,
    cursor: cursorSchema.optional(),
    status: z.enum(episodeStatuses).optional(),
    tag: tag.optional(),
    unitId: uuidSchema.optional().describe("Only episodes of this unit."),
  })
  .strict();
/** Input of `episodes.list`. */
export type ListEpisodesInput = z.input<typeof listEpisodesSchema>;

/** An episode as the API returns it. */
export const episodeSchema = z
  .object({
    id: z.uuid(),
    unitId: z.uuid().describe("The unit the episode happened in."),
    title: z.string(),
    content: z.string(),
    source: z.string(),
    sourceId: z.string().nullable(),
    tags: z.array(z.string()),
    status: z.enum(episodeStatuses),
    analysis: jsonRecordSchema.nullable().describe("S4's analysis, once `status` is `complete`."),
    error: z.string().nullable(),
    createdAt: timestampSchema,
    updatedAt: timestampSchema,
    analyzedAt: timestampSchema.nullable(),
  })
  .meta({ id: "Episode" });
/** An episode as the API returns it. */
export type Episode = z.infer<typeof episodeSchema>;

/** Answer of `POST /v1/episodes` and of a re-analysis request. */
export const episodeWriteResultSchema = z
  .object({
    episode: episodeSchema,
    created: z.boolean().describe("False when the same (source, sourceId) was ingested before."),
    jobId: z.string().nullable().describe("The analysis job, when one was enqueued."),
  })
  .meta({ id: "EpisodeWriteResult" });
/** Answer of `POST /v1/episodes`. */
export type EpisodeWriteResult = z.infer<typeof episodeWriteResultSchema>;

/** A page of episodes. */
export const episodePageSchema = pageSchemaOf(episodeSchema, "EpisodePage");
