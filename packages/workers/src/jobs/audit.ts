import { randomInt } from "node:crypto";
import { sql } from "kysely";
import { z } from "zod";
import { defineJob } from "../runtime/define-job.js";

/** How the S3* audit schedule spreads its audits. */
export interface AuditScheduleOptions {
  /**
   * Each tenant's audit starts at a uniformly random moment within this many seconds of the hourly
   * tick (default 3600): sporadic by design, so S1 cannot tell when the next look comes.
   */
  jitterSeconds?: number;
  /** Items each check samples per unit (default 10). */
  sample?: number;
}

declare module "../runtime/define-job.js" {
  interface WorkerDependencies {
    /** The S3* audit schedule's jitter and sample size. */
    audits?: AuditScheduleOptions;
  }
}

/**
 * S3*: audits one tenant (`platform.audits.run`, trigger `scheduled`). Idempotent enough to retry: a
 * retried audit is a second look, which is what an audit is for; its severe findings raise alerts keyed
 * by the audit, so one audit never alerts twice for one finding.
 */
export const auditRunJob = defineJob({
  name: "audit.run",
  schema: z.object({ tenantId: z.uuid(), unitId: z.uuid().optional() }).strict(),
  policy: {
    retryLimit: 2,
    retryDelay: 60,
    retryDelayMax: 600,
    expireInSeconds: 900,
    heartbeatSeconds: 30,
    priority: "low",
    batchSize: 2,
    deadLetterRetentionDays: 7,
  },
  async handler({ tenantId, unitId }, ctx) {
    const audit = await ctx.platform.audits.run(
      tenantId,
      { ...(unitId ? { unitId } : {}), sample: ctx.deps.audits?.sample ?? 10 },
      { trigger: "scheduled" },
    );
    const severe = audit.findings.filter((f) => f.severity === "severe").length;
    if (audit.findings.length > 0)
      ctx.logger.info({ tenantId, auditId: audit.id, severe }, "audit found problems");
    return { auditId: audit.id, findings: audit.findings.length, severe };
  },
});

/**
 * S3*'s schedule: every hour (pg-boss cron, once across workers) every active tenant gets one
 * `audit.run` starting at a random moment of the next `jitterSeconds` (see `AuditScheduleOptions`). The
 * tenants are listed through `active_tenant_ids`, which returns ids only.
 */
export const auditScheduleJob = defineJob({
  name: "audit.schedule",
  schema: z.record(z.string(), z.never()),
  policy: {
    retryLimit: 2,
    retryDelay: 30,
    retryDelayMax: 300,
    expireInSeconds: 600,
    heartbeatSeconds: 30,
    priority: "low",
    batchSize: 1,
    deadLetterRetentionDays: 7,
  },
  schedule: { cron: "7 * * * *", payload: {} },
  async handler(_payload, ctx) {
    const jitter = Math.max(0, Math.min(ctx.deps.audits?.jitterSeconds ?? 3600, 86_400));
    let after: string | null = null;
    let scheduled = 0;
    for (let page = 0; page < 1000 && !ctx.signal.aborted; page++) {
      const { rows } = await sql<{ id: string }>`
        select id from cybernetic.active_tenant_ids(${after}::uuid, 1000)`.execute(ctx.platform.db);
      for (const { id } of rows) {
        const delay = jitter === 0 ? 0 : randomInt(jitter);
        await ctx.queue.send(
          "audit.run",
          { tenantId: id },
          { startAfterSeconds: delay, singletonKey: `audit:${id}` },
        );
        scheduled++;
      }
      const last = rows.at(-1);
      if (!last || rows.length < 1000) break;
      after = last.id;
    }
    return { scheduled, jitterSeconds: jitter };
  },
});
