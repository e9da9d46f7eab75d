/**
 * Fault: a worker process (the real `cybernetic worker` CLI) is SIGKILLed while it holds a batch of
 * analysis jobs; a second worker process takes over. Every episode must be analysed exactly once (one
 * `episode.analyzed` event in the outbox each, stored analysis, status `complete`) and no job may stay
 * behind (created, retry or active). The jobs the dead worker held come back once their heartbeat lapses.
 */
import { describe, expect, it } from "vitest";
import { startCli } from "../../packages/gateway/test/helpers/run-cli.ts";
import type { CyberneticQueue } from "../../packages/workers/src/index.ts";
import { useQueuePlatform } from "../../packages/workers/test/support/queue-platform.ts";
import { episodeInput, seedTenant } from "../factories/index.ts";
import { until } from "../support/until.ts";
import { onAdmin } from "./support/postgres.ts";

const EPISODES = 600;

let queue: CyberneticQueue | undefined;
// The test's own queue only enqueues (and runs maintenance every 2 s, as any gateway's queue does, so a
// dead worker's jobs are failed soon after their heartbeat lapses).
const ctx = useQueuePlatform((q) => {
  queue = q;
});

interface Snapshot {
  episodes: Record<string, number>;
  jobs: Record<string, number>;
}

async function snapshot(): Promise<Snapshot> {
  return onAdmin(ctx.database.adminUrl, async (client) => {
    const episodes = await client.query<{ status: string; n: number }>(
      "select status, count(*)::int as n from cybernetic.episodes group by status",
    );
    const jobs = await client.query<{ state: string; n: number }>(
      "select state, count(*)::int as n from pgboss.job where name = 'episode.analyze' group by state",
    );
    return {
      episodes: Object.fromEntries(episodes.rows.map((r) => [r.status, r.n])),
      jobs: Object.fromEntries(jobs.rows.map((r) => [r.state, r.n])),
    };
  });
}

const worker = () =>
  startCli(["worker"], {
    ...ctx.database.env,
    STORAGE_DRIVER: "memory",
    WORKER_CONCURRENCY: "2",
    LOG_LEVEL: "warn",
    SHUTDOWN_TIMEOUT_MS: "5000",
  });

describe("a worker process SIGKILLed mid-batch", () => {
  it("a second worker finishes: every episode analysed exactly once, nothing stuck", async () => {
    expect(queue).toBeDefined();
    const { tenant } = await seedTenant(ctx.platform);
    const ids: string[] = [];
    for (let i = 0; i < EPISODES; i += 20) {
      const batch = await Promise.all(
        Array.from({ length: Math.min(20, EPISODES - i) }, (_, n) =>
          ctx.platform.episodes.create(tenant.id, episodeInput({ title: `kill ${i + n}` })),
        ),
      );
      ids.push(...batch.map((b) => b.episode.id));
    }

    const first = worker();
    let atKill: Snapshot;
    let killedAt = 0;
    try {
      // Kill it once it has done some of the work and holds jobs (a batch is active).
      atKill = await until(
        async () => {
          const s = await snapshot();
          return (s.episodes.complete ?? 0) >= EPISODES * 0.15 && (s.jobs.active ?? 0) > 0 ? s : undefined;
        },
        "the first worker to be mid-batch",
        60_000,
      );
      first.child.kill("SIGKILL");
      killedAt = performance.now();
    } finally {
      await first.stop("SIGKILL");
    }
    const afterKill = await snapshot();

    const second = worker();
    let settled: Snapshot;
    try {
      settled = await until(
        async () => {
          const s = await snapshot();
          const jobsLeft = (s.jobs.created ?? 0) + (s.jobs.retry ?? 0) + (s.jobs.active ?? 0);
          return s.episodes.complete === EPISODES && jobsLeft === 0 ? s : undefined;
        },
        "the second worker to finish every job",
        50_000,
      ).catch(async (error: Error) => {
        throw new Error(`${error.message}: ${JSON.stringify(await snapshot())}\n${second.output().stderr}`);
      });
    } finally {
      expect(await second.stop("SIGTERM"), second.output().stderr).toBe(0);
    }
    const recoveredMs = Math.round(performance.now() - killedAt);

    const { perEpisode, retried } = await onAdmin(ctx.database.adminUrl, async (client) => {
      const events = await client.query<{ episode: string; n: number }>(
        `select data->>'episodeId' as episode, count(*)::int as n from cybernetic.events
          where type = 'episode.analyzed' group by 1`,
      );
      const jobs = await client.query<{ n: number }>(
        "select count(*)::int as n from pgboss.job where name = 'episode.analyze' and retry_count > 0",
      );
      return {
        perEpisode: new Map(events.rows.map((r) => [r.episode, r.n])),
        retried: jobs.rows[0]?.n ?? 0,
      };
    });
    console.log(
      `[fault] worker-sigkill: ${EPISODES} episodes; at the kill ${JSON.stringify(atKill)}, just after ${JSON.stringify(afterKill)}; ` +
        `all ${settled.episodes.complete} complete ${recoveredMs} ms after the kill; jobs retried: ${retried}; ` +
        `analysed exactly once: ${ids.filter((id) => perEpisode.get(id) === 1).length} of ${EPISODES}`,
    );

    expect(afterKill.jobs.active ?? 0, "the dead worker held jobs (killed mid-batch)").toBeGreaterThan(0);
    expect(afterKill.episodes.complete ?? 0).toBeLessThan(EPISODES);
    expect(
      ids.filter((id) => perEpisode.get(id) !== 1),
      "episodes not analysed exactly once",
    ).toEqual([]);
    expect(perEpisode.size).toBe(EPISODES);
    expect(settled.jobs).toEqual({ completed: EPISODES });
  }, 120_000);
});
