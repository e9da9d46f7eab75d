/**
 * The worker runtime on real PostgreSQL and pg-boss: analysis end to end, enqueueing inside the caller's
 * transaction, retry then success, dead-lettering, crash recovery after SIGKILL with exactly-once effects,
 * and graceful stop with a deadline.
 */
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { episodeInput, seedTenant } from "../../../test/factories/index.ts";
import { until } from "../../../test/support/until.ts";
import { type EpisodeAnalysis, withTenant } from "../../core/src/index.ts";
import {
  type Analyzer,
  builtInJobs,
  type CyberneticQueue,
  createHeuristicAnalyzer,
  deadLetterQueue,
  startWorkers,
  type WorkerRuntime,
} from "../src/index.ts";
import { useQueuePlatform } from "./support/queue-platform.ts";

describe("worker runtime", () => {
  let queue: CyberneticQueue;
  const ctx = useQueuePlatform((q) => {
    queue = q;
  });
  let tenantId: string;
  let runtime: WorkerRuntime | undefined;
  const heuristic = createHeuristicAnalyzer();

  beforeAll(async () => {
    tenantId = (await seedTenant(ctx.platform)).tenant.id;
  });
  afterEach(async () => {
    await runtime?.stop({ timeoutMs: 5_000 });
    runtime = undefined;
  });
  const start = async (analyzer: Analyzer) => {
    runtime = await startWorkers({
      platform: ctx.platform,
      queue,
      jobs: builtInJobs(),
      only: ["episode.analyze"],
      deps: { analyzer },
    });
    return runtime;
  };
  const episode = (id: string) => ctx.platform.episodes.get(tenantId, id);
  const eventsOf = (type: string, episodeId: string) =>
    withTenant(ctx.db, tenantId, (trx) =>
      trx
        .selectFrom("events")
        .select(["type", "data"])
        .where("type", "=", type)
        .where((eb) => eb(eb.ref("data", "->>").key("episodeId"), "=", episodeId))
        .execute(),
    );

  it("analyses a new episode end to end: pending → analyzing → complete, with its event and job record", async () => {
    await start(heuristic);
    const { episode: created, jobId } = await ctx.platform.episodes.create(
      tenantId,
      episodeInput({
        title: "Checkout outage",
        content: "The payment service is down and customers cannot pay.",
      }),
    );
    expect(created.status).toBe("pending");
    expect(jobId).toEqual(expect.any(String));
    const done = await until(async () => {
      const e = await episode(created.id);
      return e.status === "complete" ? e : undefined;
    }, "analysis");
    const analysis = done.analysis as unknown as EpisodeAnalysis;
    expect(analysis.analyzer.name).toBe("heuristic");
    expect(["high", "critical"]).toContain(analysis.risk.level);
    expect(await eventsOf("episode.analyzed", created.id)).toHaveLength(1);
    const job = await until(async () => {
      const j = await queue.getJob(jobId as string);
      return j?.state === "completed" ? j : undefined;
    }, "job completion");
    expect(job).toMatchObject({ name: "episode.analyze", tenantId, attempts: 1 });
  });

  it("enqueues inside the caller's transaction: a rolled-back write leaves no job", async () => {
    let jobId: string | null | undefined;
    await expect(
      withTenant(ctx.db, tenantId, async (trx) => {
        const result = await ctx.platform.episodes.createIn(trx, tenantId, episodeInput());
        jobId = result.jobId;
        throw new Error("the caller changed its mind");
      }),
    ).rejects.toThrow("changed its mind");
    expect(jobId).toEqual(expect.any(String));
    expect(await queue.getJob(jobId as string)).toBeNull();
  });

  it("retries a failed attempt and then succeeds, storing the analysis once", async () => {
    let calls = 0;
    await start({
      name: "flaky",
      async analyze(input, options) {
        calls++;
        if (calls === 1) throw new Error("upstream timeout");
        return heuristic.analyze(input, options);
      },
    });
    const { episode: created, jobId } = await ctx.platform.episodes.create(tenantId, episodeInput());
    const job = await until(async () => {
      const j = await queue.getJob(jobId as string);
      return j?.state === "completed" ? j : undefined;
    }, "the retried job to complete");
    expect(job.attempts).toBe(2);
    expect(calls).toBe(2);
    expect((await episode(created.id)).status).toBe("complete");
    expect(await eventsOf("episode.analyzed", created.id)).toHaveLength(1);
  });

  it("moves a job whose retries are exhausted to its dead-letter queue and marks the episode failed", async () => {
    await start({
      name: "broken",
      async analyze() {
        throw new Error("model unavailable");
      },
    });
    // A short retry policy for this one job (the queue's own policy retries for minutes).
    const { episode: created, jobId: automatic } = await ctx.platform.episodes.create(
      tenantId,
      episodeInput({ source: "dlq-test" }),
    );
    // The job the platform enqueued would keep retrying for minutes (into later tests): cancel it.
    await queue.boss.cancel("episode.analyze", automatic as string);
    const jobId = await queue.boss.send(
      "episode.analyze",
      { tenantId, episodeId: created.id },
      { retryLimit: 1, retryDelay: 1, retryBackoff: false },
    );
    const failed = await until(async () => {
      const j = await queue.getJob(jobId as string);
      return j?.state === "failed" ? j : undefined;
    }, "retries to run out");
    expect(failed.attempts).toBe(2);
    expect(failed.output).toMatchObject({ message: "model unavailable" });
    const dead = await until(async () => {
      const jobs = await queue.boss.findJobs(deadLetterQueue("episode.analyze"), {
        data: { episodeId: created.id },
      });
      return jobs.length > 0 ? jobs : undefined;
    }, "the dead-letter job");
    expect(dead[0]?.data).toEqual({ tenantId, episodeId: created.id });
    const e = await episode(created.id);
    expect(e.status).toBe("failed");
    expect(e.error).toContain("model unavailable");
    expect(await eventsOf("episode.failed", created.id)).toHaveLength(1);
  });

  it("sends an invalid payload straight to the dead-letter queue without retrying", async () => {
    await start(heuristic);
    const jobId = await queue.boss.send("episode.analyze", { tenantId: "not-a-uuid", episodeId: 42 });
    const failed = await until(async () => {
      const j = await queue.getJob(jobId as string);
      return j && j.state === "failed" ? j : undefined;
    }, "dead-lettering");
    expect(failed.attempts).toBe(1);
    expect(failed.output).toMatchObject({ message: "invalid payload" });
  });

  it("recovers a job from a worker killed with SIGKILL mid-job; the effect happens exactly once", async () => {
    const child = spawn(
      process.execPath,
      [
        "--import",
        "tsx",
        fileURLToPath(new URL("./fixtures/worker-process.ts", import.meta.url)),
        ctx.database.directUrl,
      ],
      { cwd: fileURLToPath(new URL("../../..", import.meta.url)), stdio: ["ignore", "pipe", "inherit"] },
    );
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => {
      output += chunk.toString();
    });
    try {
      await until(async () => output.includes("ready"), "the child worker", 30_000);
      const { episode: created, jobId } = await ctx.platform.episodes.create(
        tenantId,
        episodeInput({ title: "crash-me" }),
      );
      await until(async () => output.includes("started crash-me"), "the child to start the job", 30_000);
      expect((await episode(created.id)).status).toBe("analyzing");
      child.kill("SIGKILL");
      await new Promise((resolve) => child.once("exit", resolve));
      // Another worker takes over once the dead worker's heartbeat lapses.
      await start(heuristic);
      const job = await until(
        async () => {
          const j = await queue.getJob(jobId as string);
          return j?.state === "completed" ? j : undefined;
        },
        "the job to be recovered",
        60_000,
      );
      expect(job.attempts).toBe(2);
      const e = await episode(created.id);
      expect(e.status).toBe("complete");
      expect(await eventsOf("episode.analyzed", created.id)).toHaveLength(1);
    } finally {
      child.kill("SIGKILL");
    }
  }, 90_000);

  it("graceful stop waits for in-flight jobs, and a stop deadline is honoured", async () => {
    let release: (() => void) | undefined;
    let started = 0;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const slow: Analyzer = {
      name: "slow",
      async analyze(input, options) {
        if (input.title !== "graceful") return heuristic.analyze(input, options);
        started++;
        await gate;
        return heuristic.analyze(input, options);
      },
    };
    const first = await start(slow);
    runtime = undefined;
    const { episode: a } = await ctx.platform.episodes.create(tenantId, episodeInput({ title: "graceful" }));
    await until(async () => started === 1, "the slow job to start");
    const stopping = first.stop({ timeoutMs: 10_000 });
    await new Promise((r) => setTimeout(r, 200));
    expect(first.inFlight).toBe(1);
    release?.();
    expect(await stopping).toEqual({ timedOut: false });
    expect((await episode(a.id)).status).toBe("complete");

    const hung: Analyzer = {
      name: "hung",
      analyze: (_input, options) =>
        new Promise((_resolve, reject) =>
          options?.signal?.addEventListener("abort", () => reject(new Error("aborted"))),
        ),
    };
    started = 0;
    const second = await start({
      name: "counting",
      analyze: (input, options) => {
        if (input.title !== "deadline") return heuristic.analyze(input, options);
        started++;
        return hung.analyze(input, options);
      },
    });
    runtime = undefined;
    await ctx.platform.episodes.create(tenantId, episodeInput({ title: "deadline" }));
    await until(async () => started === 1, "the hung job to start");
    const result = await second.stop({ timeoutMs: 300 });
    expect(result).toEqual({ timedOut: true });
    expect(second.inFlight).toBe(0);
  });
});
