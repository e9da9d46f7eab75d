import { z } from "zod";
import { defineJob } from "../runtime/define-job.js";

/**
 * Algedonic escalation: every minute (pg-boss cron, once across all workers), every pain alert that
 * nobody acknowledged within its unit's escalation window climbs one level up the unit tree, with an
 * `algedonic.escalated` event and notifications on the parent's alert channels (see
 * `platform.alerts.escalateDue`). State lives in the `alerts` table, not in memory: a restart loses
 * nothing, and each step is a conditional update on (status, step), so it happens once however many
 * runs race for it or repeat it. Time is the platform's clock (tests move it instead of sleeping).
 */
export const alertEscalateJob = defineJob({
  name: "alert.escalate",
  schema: z.record(z.string(), z.never()),
  policy: {
    retryLimit: 2,
    retryDelay: 5,
    retryDelayMax: 60,
    expireInSeconds: 300,
    heartbeatSeconds: 30,
    priority: "critical",
    batchSize: 1,
    deadLetterRetentionDays: 7,
  },
  schedule: { cron: "* * * * *", payload: {} },
  async handler(_payload, ctx) {
    let escalated = 0;
    let skipped = 0;
    // Bounded passes: a backlog (after an outage) drains over a few runs, not one endless one.
    for (let pass = 0; pass < 20 && !ctx.signal.aborted; pass++) {
      const result = await ctx.platform.alerts.escalateDue({ limit: 500, queue: ctx.queue });
      escalated += result.escalated;
      skipped += result.skipped;
      if (result.escalated + result.skipped < 500) break;
    }
    if (escalated > 0) ctx.logger.info({ escalated, skipped }, "alerts escalated");
    return { escalated, skipped };
  },
});
