import { z } from "zod";
import { cursorSchema } from "./common.js";

/** Query of `GET /v1/artifacts`. */
export const listArtifactsSchema = z
  .object({
    prefix: z.string().max(1024).default(""),
    limit: z.coerce.number().int().min(1).max(1000).default(100),
    cursor: cursorSchema.optional(),
  })
  .strict();
/** Input of `artifacts.list`. */
export type ListArtifactsInput = z.input<typeof listArtifactsSchema>;

/** An artifact's record. */
export interface Artifact {
  id: string;
  path: string;
  contentType: string;
  size: number;
  sha256: string;
  metadata: Record<string, string>;
  expiresAt: string | null;
  createdAt: string;
  updatedAt: string;
}
