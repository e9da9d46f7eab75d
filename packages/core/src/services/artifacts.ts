import { randomUUID } from "node:crypto";
import type { Readable } from "node:stream";
import type { ByteRange, StorageAdapter, StorageBody } from "@cybernetic/storage";
import { keyProblem } from "@cybernetic/storage";
import { type Selectable, sql } from "kysely";
import type { Artifact } from "../contract/artifacts.js";
import { listArtifactsSchema } from "../contract/artifacts.js";
import type { Page } from "../contract/common.js";
import type { Db } from "../database.js";
import { CyberneticError, notFound, validationError } from "../errors.js";
import { appendEvent } from "../events/append-event.js";
import { decodeCursor, encodeCursor, isNonEmptyString } from "../internal/cursor.js";
import { mapStorageError } from "../internal/storage-errors.js";
import { parseInput } from "../internal/validation.js";
import type { ArtifactsTable } from "../schema.js";
import { assertUuid, withTenant } from "../tenant-context.js";
import { toArtifact } from "./artifact-records.js";
import { targetUnitIn } from "./unit-records.js";

/** Options of `artifacts.put`. */
export interface PutArtifactOptions {
  contentType?: string;
  /** String metadata kept with the artifact (S3's rules: lowercase names, printable ASCII, 2 KiB in all). */
  metadata?: Record<string, string>;
  /** After this the artifact is removed by housekeeping. */
  expiresAt?: Date | string | null;
  /** The unit the artifact belongs to; default the root unit. */
  unitId?: string;
  signal?: AbortSignal;
}

/** An artifact being read. */
export interface ArtifactDownload {
  artifact: Artifact;
  body: Readable;
  /** Bytes in `body` (the range's length for a range read). */
  size: number;
  range?: { start: number; end: number };
}

/** Tenant artifacts: blobs in the storage adapter, records in Postgres, kept in step. */
export interface ArtifactService {
  /**
   * Streams `body` into storage under the tenant's prefix (computing size and SHA-256), then records the
   * row and `artifact.stored` in one transaction. If recording fails the blob is removed. Replacing a
   * path swaps the record in one transaction, then removes the old blob: a reader gets the old artifact or
   * the new one, whole.
   *
   * @example
   * ```ts
   * const artifact = await platform.artifacts.put(tenantId, "reports/2026-q4.pdf", fs.createReadStream(file), {
   *   contentType: "application/pdf",
   * });
   * ```
   * @throws CyberneticError `validation_failed` (bad path), `payload_too_large`, `unavailable` (storage).
   */
  put(tenantId: string, path: string, body: StorageBody, options?: PutArtifactOptions): Promise<Artifact>;
  /** Reads an artifact (optionally a byte range). */
  get(
    tenantId: string,
    path: string,
    options?: { range?: ByteRange; signal?: AbortSignal },
  ): Promise<ArtifactDownload>;
  /** An artifact's record. */
  head(tenantId: string, path: string): Promise<Artifact>;
  /** Artifacts by path, with a prefix filter, keyset-paginated. */
  list(tenantId: string, input?: unknown): Promise<Page<Artifact>>;
  /** Deletes the record (and writes `artifact.deleted`), then the blob. */
  delete(tenantId: string, path: string): Promise<void>;
  /** Removes up to `limit` artifacts past `expires_at` across tenants; returns how many. */
  removeExpired(limit?: number): Promise<number>;
}

/** Options of the artifact service. */
export interface ArtifactServiceOptions {
  /** Largest artifact accepted, in bytes. Default 5 GiB. */
  maxBytes?: number;
}

function checkPath(path: unknown): string {
  const problem = keyProblem(path);
  if (problem) {
    throw validationError(`invalid artifact path: ${problem.message}`, [
      { path: "path", message: `${problem.rule}: ${problem.message}` },
    ]);
  }
  return path as string;
}

/** Creates the artifact service over a storage adapter. */
export function createArtifactService(
  db: Db,
  storage: StorageAdapter,
  options: ArtifactServiceOptions = {},
): ArtifactService {
  const maxBytes = options.maxBytes ?? 5 * 1024 ** 3;
  const blobKey = (tenantId: string) => `tenants/${tenantId}/objects/${randomUUID()}`;
  const removeBlob = (key: string) => storage.delete(key).catch(() => {});

  const record = (tenantId: string, path: string) =>
    withTenant(
      db,
      tenantId,
      (trx) => trx.selectFrom("artifacts").selectAll().where("path", "=", path).executeTakeFirst(),
      {
        readOnly: true,
      },
    );

  return {
    async put(tenantId, rawPath, body, putOptions = {}) {
      const tenant = assertUuid(tenantId, "tenantId");
      const path = checkPath(rawPath);
      // Content type and metadata are validated by the adapter (S3's rules, the same for every adapter).
      const metadata = putOptions.metadata ?? {};
      const contentType = putOptions.contentType ?? "application/octet-stream";
      const expiresAt = putOptions.expiresAt == null ? null : new Date(putOptions.expiresAt);
      if (expiresAt && Number.isNaN(expiresAt.getTime())) {
        throw validationError("expiresAt is not a valid date", [{ path: "expiresAt", message: "invalid" }]);
      }
      // The blob's key never contains the caller's path: a path cannot reach another tenant's prefix.
      const key = blobKey(tenant);
      const stored = await storage
        .put(key, body, {
          contentType,
          metadata,
          maxBytes,
          ...(putOptions.signal ? { signal: putOptions.signal } : {}),
        })
        .catch((error: unknown) => {
          throw mapStorageError(error);
        });
      let previousKey: string | undefined;
      let row: Selectable<ArtifactsTable>;
      try {
        row = await withTenant(db, tenant, async (trx) => {
          // Writers of one path take turns: FOR UPDATE locks nothing while the path has no row yet, and
          // two first writers would then both see "no previous blob" and leave the loser's blob orphaned.
          // (A hash collision only makes two paths take turns too.)
          await sql`select pg_advisory_xact_lock(hashtextextended(${`artifact:${tenant}/${path}`}, 0))`.execute(
            trx,
          );
          const previous = await trx
            .selectFrom("artifacts")
            .select("storage_key")
            .where("path", "=", path)
            .forUpdate()
            .executeTakeFirst();
          previousKey = previous?.storage_key;
          const unit =
            putOptions.unitId === undefined ? undefined : (await targetUnitIn(trx, putOptions.unitId)).id;
          const written = await trx
            .insertInto("artifacts")
            .values({
              tenant_id: tenant,
              ...(unit === undefined ? {} : { unit_id: unit }),
              path,
              content_type: contentType,
              size: stored.size,
              sha256: stored.sha256,
              storage_backend: storage.driver,
              storage_key: key,
              metadata: JSON.stringify(metadata),
              expires_at: expiresAt,
            })
            .onConflict((oc) =>
              oc.columns(["tenant_id", "path"]).doUpdateSet((eb) => ({
                content_type: eb.ref("excluded.content_type"),
                size: eb.ref("excluded.size"),
                sha256: eb.ref("excluded.sha256"),
                storage_backend: eb.ref("excluded.storage_backend"),
                storage_key: eb.ref("excluded.storage_key"),
                metadata: eb.ref("excluded.metadata"),
                expires_at: eb.ref("excluded.expires_at"),
                // A replacement keeps the artifact's unit unless it names another.
                ...(unit === undefined ? {} : { unit_id: eb.ref("excluded.unit_id") }),
                updated_at: sql<Date>`now()`,
              })),
            )
            .returningAll()
            .executeTakeFirstOrThrow();
          await appendEvent(trx, tenant, "artifact.stored", {
            path,
            size: stored.size,
            sha256: stored.sha256,
            contentType,
            replaced: previous !== undefined,
          });
          return written;
        });
      } catch (error) {
        await removeBlob(key);
        throw error;
      }
      if (previousKey && previousKey !== key) await removeBlob(previousKey);
      return toArtifact(row);
    },

    async get(tenantId, rawPath, getOptions = {}) {
      const tenant = assertUuid(tenantId, "tenantId");
      const path = checkPath(rawPath);
      // A concurrent replace may remove the blob between reading the record and opening it; the record
      // then names the new blob, so read it again (at most twice).
      for (let attempt = 0; ; attempt++) {
        const row = await record(tenant, path);
        if (!row) throw notFound("artifact", path);
        try {
          const got = await storage.get(row.storage_key, getOptions);
          return {
            artifact: toArtifact(row),
            body: got.body,
            size: got.size,
            ...(got.range ? { range: got.range } : {}),
          };
        } catch (error) {
          const mapped = mapStorageError(error);
          if (CyberneticError.isInstance(mapped) && mapped.code === "not_found" && attempt < 2) continue;
          throw mapped;
        }
      }
    },

    async head(tenantId, rawPath) {
      const tenant = assertUuid(tenantId, "tenantId");
      const path = checkPath(rawPath);
      const row = await record(tenant, path);
      if (!row) throw notFound("artifact", path);
      return toArtifact(row);
    },

    async list(tenantId, raw = {}) {
      const tenant = assertUuid(tenantId, "tenantId");
      const input = parseInput(listArtifactsSchema, raw, "query");
      const after =
        input.cursor === undefined ? undefined : decodeCursor<[string]>(input.cursor, [isNonEmptyString])[0];
      const rows = await withTenant(
        db,
        tenant,
        (trx) => {
          let q = trx
            .selectFrom("artifacts")
            .selectAll()
            .orderBy("path")
            .limit(input.limit + 1);
          if (input.prefix) q = q.where(sql<boolean>`starts_with(path, ${input.prefix})`);
          if (after !== undefined) q = q.where("path", ">", after);
          return q.execute();
        },
        { readOnly: true },
      );
      const page = rows.slice(0, input.limit);
      const last = page.at(-1);
      return rows.length > input.limit && last
        ? { items: page.map(toArtifact), nextCursor: encodeCursor([last.path]) }
        : { items: page.map(toArtifact) };
    },

    async delete(tenantId, rawPath) {
      const tenant = assertUuid(tenantId, "tenantId");
      const path = checkPath(rawPath);
      const key = await withTenant(db, tenant, async (trx) => {
        const row = await trx
          .deleteFrom("artifacts")
          .where("path", "=", path)
          .returning("storage_key")
          .executeTakeFirst();
        if (!row) throw notFound("artifact", path);
        await appendEvent(trx, tenant, "artifact.deleted", { path });
        return row.storage_key;
      });
      await removeBlob(key);
    },

    async removeExpired(limit = 500) {
      const { rows } = await sql<{ tenant_id: string; id: string; path: string }>`
        select * from cybernetic.expired_artifacts(${limit})`.execute(db);
      let removed = 0;
      for (const row of rows) {
        const key = await withTenant(db, row.tenant_id, async (trx) => {
          const gone = await trx
            .deleteFrom("artifacts")
            .where("id", "=", row.id)
            .where("expires_at", "<=", sql<Date>`now()`)
            .returning("storage_key")
            .executeTakeFirst();
          if (gone)
            await appendEvent(trx, row.tenant_id, "artifact.deleted", { path: row.path, reason: "expired" });
          return gone?.storage_key;
        });
        if (key) {
          await removeBlob(key);
          removed++;
        }
      }
      return removed;
    },
  };
}
