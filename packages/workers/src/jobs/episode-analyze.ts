import { episodeAnalysisSchema, type JsonObject } from "@cybernetic/core";
import { z } from "zod";
import type { Analyzer } from "../analysis/analyzer.js";
import { createHeuristicAnalyzer } from "../analysis/heuristic-analyzer.js";
import { defineJob } from "../runtime/define-job.js";

declare module "../runtime/define-job.js" {
  interface WorkerDependencies {
    /** The S4 analyzer; default: the heuristic analyzer. */
    analyzer?: Analyzer;
  }
}

let heuristic: Analyzer | undefined;
/** The heuristic analyzer (deterministic, no network), made once, when no analyzer is configured. */
const defaultAnalyzer = () => {
  heuristic ??= createHeuristicAnalyzer();
  return heuristic;
};

const payloadSchema = z.object({ tenantId: z.uuid(), episodeId: z.uuid() }).strict();

/**
 * S4: analyses an episode. pending → analyzing → complete | failed, storing the analysis and publishing
 * `episode.analyzed` (or `episode.failed` once retries are exhausted). A critical risk raises an
 * algedonic alert in the same transaction. A retry of an episode already complete does nothing, so the
 * analysis is stored exactly once.
 */
export const episodeAnalyzeJob = defineJob({
  name: "episode.analyze",
  schema: payloadSchema,
  policy: {
    retryLimit: 4,
    retryDelay: 2,
    retryDelayMax: 300,
    expireInSeconds: 300,
    heartbeatSeconds: 10,
    priority: "normal",
    batchSize: 10,
    deadLetterRetentionDays: 30,
  },
  async handler({ tenantId, episodeId }, ctx) {
    const { episodes } = ctx.platform;
    const started = await ctx.withTenant((trx) => episodes.startAnalysis(trx, episodeId));
    if (!started) return { status: "already_complete" };
    const analyzer = ctx.deps.analyzer ?? defaultAnalyzer();
    let analysis: JsonObject;
    try {
      const result = await analyzer.analyze(
        { title: started.title, content: started.content, tags: started.tags, source: started.source },
        { signal: ctx.signal },
      );
      analysis = episodeAnalysisSchema.parse(result) as unknown as JsonObject;
    } catch (error) {
      // Permanent or out of retries: record the failure (and its event) so the episode does not stay
      // "analyzing".
      if (!ctx.willRetry(error)) {
        const message = error instanceof Error ? error.message : String(error);
        await ctx.withTenant((trx) => episodes.failAnalysis(trx, tenantId, episodeId, message));
      }
      throw error;
    }
    const risk = (analysis.risk as { level?: string; reasons?: string[] } | undefined) ?? {};
    return ctx.withTenant(async (trx) => {
      await episodes.completeAnalysis(trx, tenantId, episodeId, analysis);
      let alerts = 0;
      if (risk.level === "critical") {
        const raised = await ctx.platform.alerts.raiseIn(
          trx,
          tenantId,
          {
            severity: "pain",
            message: `Critical risk in episode "${started.title}": ${(risk.reasons ?? []).slice(0, 3).join("; ") || "see analysis"}`,
            source: { kind: "analysis", episodeId },
            key: `analysis:${episodeId}`,
            unitId: started.unitId,
          },
          { queue: ctx.queue },
        );
        alerts = raised.notifications;
      }
      return { status: "complete", risk: risk.level ?? null, alerts };
    });
  },
});
