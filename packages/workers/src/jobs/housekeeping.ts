import { appendEvent, IDEMPOTENCY_RETENTION_HOURS, withTenant } from "@cybernetic/core";
import { sql } from "kysely";
import { z } from "zod";
import { defineJob } from "../runtime/define-job.js";

/**
 * What housekeeping needs to delete an expired artifact's blob. A `StorageAdapter` from
 * `@cybernetic/storage` satisfies it as is; declared here so workers need not depend on storage.
 */
export interface ArtifactBlobRemover {
  /** The adapter's driver (`local`, `s3`, …). When set, only artifacts stored with this backend lose their blob. */
  readonly driver?: string;
  /** Removes the blob at `key` (the artifact's `storage_key`). Must be idempotent. */
  delete(key: string): Promise<void>;
}

/** Retention settings of the housekeeping job. */
export interface HousekeepingOptions {
  /** Published outbox events older than this go (with their policy evaluation records). Default 7. */
  eventRetentionDays?: number;
  /** Telegram update ids kept for deduplication this long. Default 48. */
  telegramDedupeHours?: number;
  /** Rows deleted per statement. Default 10 000. */
  batchSize?: number;
}

declare module "../runtime/define-job.js" {
  interface WorkerDependencies {
    /** Deletes expired artifacts' blobs; without it only the rows go. */
    artifactBlobs?: ArtifactBlobRemover;
    /** Retention periods. */
    housekeeping?: HousekeepingOptions;
  }
}

const MAX_ROUNDS = 100;

/**
 * Housekeeping, across tenants, through the narrow SECURITY DEFINER functions of migration 0002 (each
 * deletes only what retention says may go):
 * - outbox events published more than `eventRetentionDays` ago (default 7), and their evaluation records;
 * - Telegram deduplication rows older than `telegramDedupeHours` (default 48), with the chat buckets idle
 *   that long and the outgoing pacing slots already past;
 * - expired artifacts: each row is deleted within its own tenant (row-level security applies), with its
 *   `artifact.deleted` event, and its blob removed before that transaction commits, so a blob never
 *   outlives its row by more than a failed commit (a retry then deletes the row; deleting a blob twice
 *   is harmless).
 * Finished jobs are pg-boss's own business: each queue deletes completed and failed jobs after
 * `deleteAfterSeconds` (7 days, set by `installQueue`), in its maintenance pass.
 *
 * Its definition schedules it every 15 minutes; `startWorkers` registers the schedule.
 */
export const housekeepingJob = defineJob({
  name: "housekeeping",
  schema: z.record(z.string(), z.never()),
  policy: {
    retryLimit: 2,
    retryDelay: 30,
    retryDelayMax: 600,
    expireInSeconds: 900,
    heartbeatSeconds: 30,
    priority: "low",
    batchSize: 1,
    deadLetterRetentionDays: 30,
  },
  // Every 15 minutes, once across all workers (pg-boss cron).
  schedule: { cron: "*/15 * * * *", payload: {} },
  async handler(_payload, ctx) {
    const { db } = ctx.platform;
    const options = ctx.deps.housekeeping ?? {};
    const batch = Math.max(1, Math.min(options.batchSize ?? 10_000, 100_000));
    const eventDays = options.eventRetentionDays ?? 7;
    const dedupeHours = options.telegramDedupeHours ?? 48;

    let events = 0;
    for (let round = 0; round < MAX_ROUNDS && !ctx.signal.aborted; round++) {
      const { rows } = await sql<{ n: number }>`
        select cybernetic.purge_events(now() - make_interval(secs => ${eventDays * 86_400}), ${batch}) as n`.execute(
        db,
      );
      const n = Number(rows[0]?.n ?? 0);
      events += n;
      if (n < batch) break;
    }

    const { rows: dedupe } = await sql<{ n: number }>`
      select cybernetic.purge_telegram_updates(now() - make_interval(secs => ${dedupeHours * 3_600})) as n`.execute(
      db,
    );
    const telegramUpdates = Number(dedupe[0]?.n ?? 0);
    // Pacing slots in the past, and chat buckets idle as long as the dedupe window (refilled by then).
    const { rows: telegram } = await sql<{ n: number }>`
      select cybernetic.purge_telegram_state(now() - make_interval(secs => ${dedupeHours * 3_600})) as n`.execute(
      db,
    );
    const telegramState = Number(telegram[0]?.n ?? 0);

    const { rows: keys } = await sql<{ n: number }>`
      select cybernetic.purge_idempotency_keys(now() - make_interval(secs => ${IDEMPOTENCY_RETENTION_HOURS * 3_600})) as n`.execute(
      db,
    );
    const idempotencyKeys = Number(keys[0]?.n ?? 0);

    const blobs = ctx.deps.artifactBlobs;
    let artifacts = 0;
    let blobsRemoved = 0;
    let artifactErrors = 0;
    const { rows: expired } = await sql<{ tenant_id: string; id: string; path: string }>`
      select tenant_id, id, path from cybernetic.expired_artifacts(1000)`.execute(db);
    for (const artifact of expired) {
      if (ctx.signal.aborted) break;
      try {
        const purged = await withTenant(db, artifact.tenant_id, async (trx) => {
          const row = await trx
            .deleteFrom("artifacts")
            .where("id", "=", artifact.id)
            .where("expires_at", "<=", sql<Date>`now()`)
            .returning(["path", "storage_key", "storage_backend"])
            .executeTakeFirst();
          if (!row) return { deleted: false, blob: false };
          await appendEvent(trx, artifact.tenant_id, "artifact.deleted", {
            path: row.path,
            reason: "expired",
          });
          if (!blobs) return { deleted: true, blob: false };
          if (blobs.driver !== undefined && blobs.driver !== row.storage_backend) {
            ctx.logger.warn(
              { tenantId: artifact.tenant_id, backend: row.storage_backend, driver: blobs.driver },
              "housekeeping: expired artifact stored on another backend; its blob is left in place",
            );
            return { deleted: true, blob: false };
          }
          // Before the commit: if the blob cannot go, the row stays and the next run tries again.
          await blobs.delete(row.storage_key);
          return { deleted: true, blob: true };
        });
        if (purged.deleted) artifacts++;
        if (purged.blob) blobsRemoved++;
      } catch (error) {
        artifactErrors++;
        ctx.logger.warn(
          { err: error, tenantId: artifact.tenant_id, artifactId: artifact.id },
          "housekeeping: artifact not purged",
        );
      }
    }

    const result = {
      events,
      telegramUpdates,
      telegramState,
      idempotencyKeys,
      artifacts,
      blobsRemoved,
      artifactErrors,
    };
    ctx.logger.info(result, "housekeeping done");
    return result;
  },
});
