import { z } from "zod";
import { cursorSchema, limitSchema } from "./common.js";

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
  })
  .strict();
/** Input of `episodes.list`. */
export type ListEpisodesInput = z.input<typeof listEpisodesSchema>;

/** An episode as the API returns it. */
export interface Episode {
  id: string;
  title: string;
  content: string;
  source: string;
  sourceId: string | null;
  tags: string[];
  status: EpisodeStatus;
  analysis: Record<string, unknown> | null;
  error: string | null;
  createdAt: string;
  updatedAt: string;
  analyzedAt: string | null;
}
