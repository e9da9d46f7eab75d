import type { JobDefinition } from "../runtime/define-job.js";
import { episodeAnalyzeJob } from "./episode-analyze.js";

/**
 * Every built-in job, for `startWorkers({ jobs: builtInJobs() })`.
 *
 * @example
 * ```ts
 * const workers = await startWorkers({ platform, queue, jobs: builtInJobs(), deps: { analyzer } });
 * ```
 */
export function builtInJobs(): JobDefinition[] {
  return [episodeAnalyzeJob as unknown as JobDefinition];
}

export { episodeAnalyzeJob };
