/**
 * One retry contract, on real PostgreSQL and pg-boss: any error with `retryable: false` is not retried,
 * whatever its class. Each error kind fails an `episode.analyze` job (enqueued by the platform with the
 * queue's own policy: 4 retries) and the test reads what pg-boss recorded: one attempt, the job in its
 * dead-letter queue, the episode `failed` with its event. A retryable error of the same classes is
 * retried.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { episodeInput, seedTenant } from "../../../test/factories/index.ts";
import { until } from "../../../test/support/until.ts";
import { CyberneticError, withTenant } from "../../core/src/index.ts";
import {
  type Analyzer,
  AnalyzerError,
  builtInJobs,
  type CyberneticQueue,
  createHeuristicAnalyzer,
  deadLetterQueue,
  isRetryable,
  NotificationError,
  PermanentJobError,
  startWorkers,
  type WorkerRuntime,
} from "../src/index.ts";
import { useQueuePlatform } from "./support/queue-platform.ts";

/** A host's own error class: not ours, no common base, only the property. */
class HostQuotaError extends Error {
  readonly retryable = false;
}

/** Each kind of permanent error, by the episode title that makes the analyzer throw it. */
const permanentErrors: Record<string, () => unknown> = {
  PermanentJobError: () => new PermanentJobError("the episode cannot be analysed"),
  AnalyzerError: () =>
    new AnalyzerError("http_error", "the LLM endpoint answered 404 (misconfigured)", {
      retryable: false,
      status: 404,
    }),
  NotificationError: () => new NotificationError("refused", "refused by the receiver", { retryable: false }),
  CyberneticError: () =>
    Object.assign(new CyberneticError("validation_failed", "bad analysis input"), { retryable: false }),
  "a host's error class": () => new HostQuotaError("the tenant's analysis quota is used up"),
  "a plain object": () => ({ message: "thrown as an object", retryable: false }),
};

describe("the retry contract", () => {
  let queue: CyberneticQueue;
  const ctx = useQueuePlatform((q) => {
    queue = q;
  });
  let tenantId: string;
  let runtime: WorkerRuntime;
  const heuristic = createHeuristicAnalyzer();
  const calls = new Map<string, number>();

  const analyzer: Analyzer = {
    name: "by-title",
    async analyze(input, options) {
      const count = (calls.get(input.title) ?? 0) + 1;
      calls.set(input.title, count);
      const permanent = permanentErrors[input.title];
      if (permanent) throw permanent();
      if (input.title === "retryable AnalyzerError" && count === 1)
        throw new AnalyzerError("timeout", "the LLM timed out", { retryable: true });
      if (input.title === "plain Error" && count === 1) throw new Error("connection reset");
      return heuristic.analyze(input, options);
    },
  };

  beforeAll(async () => {
    tenantId = (await seedTenant(ctx.platform)).tenant.id;
    runtime = await startWorkers({
      platform: ctx.platform,
      queue,
      jobs: builtInJobs(),
      only: ["episode.analyze"],
      deps: { analyzer },
    });
    return () => runtime.stop({ timeoutMs: 5_000 });
  });

  const settled = (jobId: string, state: "failed" | "completed") =>
    until(async () => {
      const job = await queue.getJob(jobId);
      return job?.state === state ? job : undefined;
    }, `job ${jobId} to be ${state}`);

  for (const kind of Object.keys(permanentErrors)) {
    it(`does not retry ${kind} with retryable: false; dead-letters it and fails the episode`, async () => {
      const { episode, jobId } = await ctx.platform.episodes.create(tenantId, episodeInput({ title: kind }));
      const job = await settled(jobId as string, "failed");
      expect(job.attempts).toBe(1);
      expect(job.retryLimit).toBe(4);
      expect(calls.get(kind)).toBe(1);
      const dead = await until(async () => {
        const jobs = await queue.boss.findJobs(deadLetterQueue("episode.analyze"), {
          data: { episodeId: episode.id },
        });
        return jobs.length > 0 ? jobs : undefined;
      }, "the dead-letter job");
      expect(dead).toHaveLength(1);
      const failed = await ctx.platform.episodes.get(tenantId, episode.id);
      expect(failed.status).toBe("failed");
      const events = await withTenant(ctx.db, tenantId, (trx) =>
        trx
          .selectFrom("events")
          .select("type")
          .where("type", "=", "episode.failed")
          .where((eb) => eb(eb.ref("data", "->>").key("episodeId"), "=", episode.id))
          .execute(),
      );
      expect(events).toHaveLength(1);
    });
  }

  for (const title of ["retryable AnalyzerError", "plain Error"]) {
    it(`retries ${title} and then succeeds`, async () => {
      const { episode, jobId } = await ctx.platform.episodes.create(tenantId, episodeInput({ title }));
      const job = await settled(jobId as string, "completed");
      expect(job.attempts).toBe(2);
      expect(calls.get(title)).toBe(2);
      expect((await ctx.platform.episodes.get(tenantId, episode.id)).status).toBe("complete");
    });
  }

  it("reads only the property: isRetryable", () => {
    for (const make of Object.values(permanentErrors)) expect(isRetryable(make())).toBe(false);
    expect(isRetryable(new AnalyzerError("timeout", "t", { retryable: true }))).toBe(true);
    expect(isRetryable(new Error("e"))).toBe(true);
    expect(isRetryable("a string")).toBe(true);
    expect(isRetryable(null)).toBe(true);
  });
});
