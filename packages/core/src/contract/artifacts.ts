import { z } from "zod";
import { cursorSchema, pageSchemaOf, timestampSchema } from "./common.js";

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
export const artifactSchema = z
  .object({
    id: z.uuid(),
    unitId: z.uuid().describe("The unit the artifact belongs to (default the root unit)."),
    path: z.string(),
    contentType: z.string(),
    size: z.number().int(),
    sha256: z.string(),
    metadata: z.record(z.string(), z.string()),
    expiresAt: timestampSchema.nullable(),
    createdAt: timestampSchema,
    updatedAt: timestampSchema,
  })
  .meta({ id: "Artifact" });
/** An artifact's record. */
export type Artifact = z.infer<typeof artifactSchema>;

/** A page of artifacts. */
export const artifactPageSchema = pageSchemaOf(artifactSchema, "ArtifactPage");
