import type { Selectable } from "kysely";
import type { Artifact } from "../contract/artifacts.js";
import { iso } from "../internal/time.js";
import type { ArtifactsTable } from "../schema.js";

/** Maps an artifacts row to the API shape. */
export function toArtifact(row: Selectable<ArtifactsTable>): Artifact {
  return {
    id: row.id,
    unitId: row.unit_id,
    path: row.path,
    contentType: row.content_type,
    size: Number(row.size),
    sha256: row.sha256,
    metadata: row.metadata as Record<string, string>,
    expiresAt: iso(row.expires_at),
    createdAt: iso(row.created_at),
    updatedAt: iso(row.updated_at),
  };
}
