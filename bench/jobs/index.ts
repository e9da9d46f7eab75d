/**
 * Jobs benchmark: our worker runtime (`defineJob` + `startWorkers`) against raw pg-boss tuned the same
 * way (same batch size, local concurrency, burst, LISTEN/NOTIFY wake-up, notify-enabled queues), in the
 * same run, on one embedded PostgreSQL:
 * - throughput of no-op jobs (jobs/s, target >= 0.9x raw);
 * - enqueue -> handler start latency, p50 and p99 (target <= 1.25x raw at p50, <= 1.5x at p99);
 * - enqueue latency p50/p95/p99 (budget 5/10/20 ms), outside and inside a caller's transaction;
 * - the whole S4 pipeline: episodes created -> analysed per second (heuristic analyzer).
 *
 * Run: `node --import tsx bench/run.ts jobs`. BENCH_JOBS sets the jobs per throughput round (default
 * 15 000); BENCH_DURABLE=1 keeps PostgreSQL's default durability settings.
 */
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import os, { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import {
  createDatabase,
  createPlatform,
  ensureRuntimeRole,
  jsonObjectSchema,
  migrate,
  withTenant,
} from "../../packages/core/src/index.ts";
import { startEmbeddedPostgres } from "../../packages/gateway/src/embedded/embedded-postgres.ts";
import {
  builtInJobs,
  type CyberneticQueue,
  createHeuristicAnalyzer,
  createJobQueue,
  defineJob,
  episodeAnalyzeJob,
  installQueue,
  startWorkers,
} from "../../packages/workers/src/index.ts";
import { type BenchResult, nowMs, percentile, row } from "../lib.ts";

declare module "../../packages/core/src/jobs.ts" {
  interface JobPayloads {
    /** Bench only: a job that does nothing. */
    "bench.noop": Record<string, unknown>;
  }
}

const OURS = "bench.noop";
const RAW = "bench.raw";
const JOBS = Number(process.env.BENCH_JOBS ?? 15_000);
const ROUNDS = 6;
const BATCH = 50;
const CONCURRENCY = 4;
const LATENCY_SAMPLES = 1_000;
const ENQUEUE_SAMPLES = 1_000;
const EPISODES = 400;
/** Both sides: the same fetch tuning as the runtime's defaults. */
const POLL_SECONDS = 2;

interface Env {
  ownerUrl: string;
  appUrl: string;
  stop(): Promise<void>;
}

async function setup(): Promise<Env> {
  const dataDir = await mkdtemp(join(tmpdir(), "cybernetic-bench-jobs-"));
  const server = await startEmbeddedPostgres({
    dataDir,
    password: randomBytes(12).toString("hex"),
    ephemeral: true,
    // BENCH_DURABLE=1 keeps PostgreSQL's default durability; by default the same settings as the test
    // harness (no fsync), so figures measure the job system rather than this machine's disk flushes.
    settings:
      process.env.BENCH_DURABLE === "1"
        ? { max_connections: 200 }
        : { max_connections: 200, fsync: "off", synchronous_commit: "off", full_page_writes: "off" },
  });
  const ownerPassword = randomBytes(12).toString("hex");
  const appPassword = randomBytes(12).toString("hex");
  const admin = new pg.Client({ connectionString: server.url });
  await admin.connect();
  await admin.query(`create role bench_owner login createdb createrole password '${ownerPassword}'`);
  await admin.query("create database bench owner bench_owner");
  await admin.end();
  const url = (user: string, password: string) => {
    const u = new URL(server.urlFor("bench"));
    u.username = user;
    u.password = password;
    return u.toString();
  };
  const ownerUrl = url("bench_owner", ownerPassword);
  const owner = createDatabase({ url: ownerUrl, poolSize: 2 });
  await migrate(owner);
  await installQueue(ownerUrl);
  await ensureRuntimeRole(owner, { user: "bench_app", password: appPassword });
  await owner.destroy();
  // The bench queues, created by the owner like installQueue creates the built-in ones.
  const ownerQueue = createJobQueue({ connectionString: ownerUrl, poolSize: 2 });
  await ownerQueue.start();
  for (const name of [OURS, RAW]) {
    await ownerQueue.boss.createQueue(name, { retryLimit: 2, notify: true, deleteAfterSeconds: 3_600 });
  }
  await ownerQueue.stop({ graceful: false });
  return {
    ownerUrl,
    appUrl: url("bench_app", appPassword),
    async stop() {
      await server.stop();
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * The baseline: raw pg-boss. Its instance comes from a second `createJobQueue` only so that the
 * constructor settings (pool size, LISTEN/NOTIFY, maintenance) are identical; the baseline then uses
 * pg-boss's own `work()`/`send()` directly, none of our runtime.
 */
function rawBoss(connectionString: string): CyberneticQueue {
  return createJobQueue({ connectionString });
}

const workOptions = {
  includeMetadata: true,
  perJobResults: true,
  batchSize: BATCH,
  localConcurrency: CONCURRENCY,
  burstWhenBatchFull: true,
  pollingIntervalSeconds: POLL_SECONDS,
  notifyPollingIntervalSeconds: POLL_SECONDS,
} as const;

async function completedCount(client: pg.Pool, name: string): Promise<number> {
  const { rows } = await client.query<{ n: number }>(
    "select count(*)::int as n from pgboss.job where name = $1 and state = 'completed'",
    [name],
  );
  return rows[0]?.n ?? 0;
}

async function enqueueMany(boss: CyberneticQueue["boss"], name: string, count: number): Promise<void> {
  for (let i = 0; i < count; i += 1_000) {
    const jobs = Array.from({ length: Math.min(1_000, count - i) }, (_, k) => ({ data: { i: i + k } }));
    await boss.insert(name, jobs);
  }
}

/**
 * Starts the workers, waits until `count` jobs are completed; returns jobs/s and this process's CPU time
 * per job in µs (workers and pg-boss share the process; PostgreSQL is another).
 */
async function drain(
  pool: pg.Pool,
  name: string,
  count: number,
  startWorking: () => Promise<() => Promise<void>>,
): Promise<{ rate: number; cpuPerJob: number }> {
  const base = await completedCount(pool, name);
  const cpu = process.cpuUsage();
  const started = nowMs();
  const stop = await startWorking();
  while ((await completedCount(pool, name)) - base < count) await new Promise((r) => setTimeout(r, 20));
  const seconds = (nowMs() - started) / 1000;
  const used = process.cpuUsage(cpu);
  await stop();
  return { rate: count / seconds, cpuPerJob: (used.user + used.system) / count };
}

export default async function run(): Promise<BenchResult> {
  const env = await setup();
  const pool = new pg.Pool({ connectionString: env.appUrl, max: 2 });
  pool.on("error", () => {});
  const db = createDatabase({ url: env.appUrl, poolSize: 10 });
  const queue = createJobQueue({ connectionString: env.appUrl });
  await queue.start();
  const platform = createPlatform({ db, queue });
  const rawQueue = rawBoss(env.appUrl);
  await rawQueue.start();
  const raw = rawQueue.boss;

  let onStart: (() => void) | undefined;
  const noop = defineJob({
    name: OURS,
    schema: jsonObjectSchema,
    policy: { ...episodeAnalyzeJob.policy, batchSize: BATCH },
    async handler() {
      onStart?.();
      return undefined;
    },
  });
  const ours = () =>
    startWorkers({
      platform,
      queue,
      jobs: [noop],
      concurrency: CONCURRENCY,
      pollIntervalSeconds: POLL_SECONDS,
    }).then((w) => async () => void (await w.stop()));
  const rawWorker = async () => {
    const id = await raw.work(RAW, workOptions, async (jobs) => {
      onStart?.();
      return jobs.map((j) => ({ id: j.id, status: "completed" as const, output: {} }));
    });
    return async () => raw.offWork(RAW, { id, wait: true });
  };

  try {
    // Pickup latency first, on empty job tables (a table full of finished jobs slows every fetch, the
    // same for both sides): one job at a time, workers idle and woken by NOTIFY; samples interleaved.
    const stopOurs = await ours();
    const stopRaw = await rawWorker();
    const pickup = { ours: [] as number[], raw: [] as number[] };
    const once = async (side: "ours" | "raw") => {
      const t0 = nowMs();
      const started = new Promise<void>((resolve) => {
        onStart = resolve;
      });
      if (side === "ours") await queue.send(OURS, { i: 0 });
      else await raw.send(RAW, { i: 0 });
      await started;
      pickup[side].push(nowMs() - t0);
      onStart = undefined;
      await new Promise((r) => setTimeout(r, 5));
    };
    for (let i = 0; i < 20; i++) await once(i % 2 === 0 ? "ours" : "raw"); // warm-up
    pickup.ours.length = 0;
    pickup.raw.length = 0;
    for (let i = 0; i < LATENCY_SAMPLES; i++) {
      await once("ours");
      await once("raw");
    }
    await stopOurs();
    await stopRaw();

    // Enqueue latency: our send, and an enqueue inside a caller's tenant transaction.
    const tenant = await platform.tenants.create({ name: "Bench", slug: `bench-${Date.now()}` });
    const sendLatency: number[] = [];
    const trxLatency: number[] = [];
    for (let i = 0; i < ENQUEUE_SAMPLES; i++) {
      let t0 = nowMs();
      await queue.send(OURS, { i });
      sendLatency.push(nowMs() - t0);
      t0 = nowMs();
      await withTenant(db, tenant.tenant.id, (trx) => queue.enqueue(trx, OURS, { i }));
      trxLatency.push(nowMs() - t0);
    }
    await queue.boss.deleteQueuedJobs(OURS);

    // Throughput: pre-enqueued backlog, drained; sides alternate, each round on emptied job tables; the
    // median of the rounds is compared (robust to a noisy neighbour on a shared machine).
    const throughput = { ours: [] as number[], raw: [] as number[] };
    const cpu = { ours: [] as number[], raw: [] as number[] };
    const owner = new pg.Client({ connectionString: env.ownerUrl });
    await owner.connect();
    for (let round = 0; round < ROUNDS; round++) {
      await queue.boss.deleteAllJobs(OURS);
      await raw.deleteAllJobs(RAW);
      // Without it every round runs on a more bloated job table than the last.
      await owner.query("vacuum analyze pgboss.job");
      // Which side goes first alternates: the second one runs on tables the first one just churned.
      const sides = [
        async () => {
          await enqueueMany(raw, RAW, JOBS);
          const r = await drain(pool, RAW, JOBS, rawWorker);
          throughput.raw.push(r.rate);
          cpu.raw.push(r.cpuPerJob);
        },
        async () => {
          await enqueueMany(queue.boss, OURS, JOBS);
          const r = await drain(pool, OURS, JOBS, ours);
          throughput.ours.push(r.rate);
          cpu.ours.push(r.cpuPerJob);
        },
      ];
      if (round % 2 === 1) sides.reverse();
      for (const side of sides) await side();
    }
    await owner.end();
    const medianOurs = percentile(throughput.ours, 50);
    const medianRaw = percentile(throughput.raw, 50);
    // Finished jobs would slow the pipeline's fetches; pg-boss would delete them after retention.
    await queue.boss.deleteAllJobs(OURS);
    await raw.deleteAllJobs(RAW);

    // The S4 pipeline: episodes created (8 writers) and analysed by the heuristic analyzer.
    const pipeline = await startWorkers({
      platform,
      queue,
      jobs: builtInJobs(),
      only: ["episode.analyze"],
      concurrency: CONCURRENCY,
      deps: { analyzer: createHeuristicAnalyzer() },
    });
    const t0 = nowMs();
    let next = 0;
    await Promise.all(
      Array.from({ length: 8 }, async () => {
        while (next < EPISODES) {
          const i = next++;
          await platform.episodes.create(tenant.tenant.id, {
            title: `Incident ${i}: packaging line ${i % 7} stopped`,
            content: `The night shift reported that packaging line ${i % 7} stopped twice; maintenance restarted it. Customers in Berlin are waiting for deliveries and the budget for spare parts is exhausted. @ops #incident`,
            tags: ["ops"],
          });
        }
      }),
    );
    const created = nowMs();
    const analysed = async () => {
      const rows = await withTenant(db, tenant.tenant.id, (trx) =>
        trx
          .selectFrom("episodes")
          .select((eb) => eb.fn.countAll<number>().as("n"))
          .where("status", "=", "complete")
          .execute(),
      );
      return Number(rows[0]?.n ?? 0);
    };
    while ((await analysed()) < EPISODES) await new Promise((r) => setTimeout(r, 20));
    const done = nowMs();
    await pipeline.stop();

    const p = (values: number[], q: number) => percentile(values, q);
    return {
      name: "jobs",
      context: {
        jobs: JOBS,
        batchSize: BATCH,
        localConcurrency: CONCURRENCY,
        notify: true,
        burstWhenBatchFull: true,
        pollSeconds: POLL_SECONDS,
        latencySamples: LATENCY_SAMPLES,
        enqueueSamples: ENQUEUE_SAMPLES,
        episodes: EPISODES,
        throughputRounds: { ours: throughput.ours.map(Math.round), raw: throughput.raw.map(Math.round) },
        loadAverage: os.loadavg().map((l) => Math.round(l * 100) / 100),
        postgres:
          process.env.BENCH_DURABLE === "1"
            ? "embedded, default durability"
            : "embedded, fsync/synchronous_commit off",
      },
      rows: [
        row(`no-op throughput (median of ${ROUNDS})`, medianOurs, medianRaw, "jobs/s", { target: ">= 0.9x" }),
        row(
          "no-op throughput (best round)",
          Math.max(...throughput.ours),
          Math.max(...throughput.raw),
          "jobs/s",
        ),
        row("node CPU per no-op job (median)", percentile(cpu.ours, 50), percentile(cpu.raw, 50), "µs", {
          note: "worker process only; lower is better",
        }),
        row("pickup latency p50", p(pickup.ours, 50), p(pickup.raw, 50), "ms", { target: "<= 1.25x" }),
        row("pickup latency p99", p(pickup.ours, 99), p(pickup.raw, 99), "ms", { target: "<= 1.5x" }),
        row("enqueue latency p50 (send)", p(sendLatency, 50), undefined, "ms", { target: "<= 5 ms" }),
        row("enqueue latency p95 (send)", p(sendLatency, 95), undefined, "ms", { target: "<= 10 ms" }),
        row("enqueue latency p99 (send)", p(sendLatency, 99), undefined, "ms", { target: "<= 20 ms" }),
        row("enqueue in a tenant transaction p50", p(trxLatency, 50), undefined, "ms", {
          note: "BEGIN + set_config + insert + COMMIT",
        }),
        row("enqueue in a tenant transaction p99", p(trxLatency, 99), undefined, "ms"),
        row("episodes created", EPISODES / ((created - t0) / 1000), undefined, "episodes/s", {
          note: "8 writers",
        }),
        row("episodes created -> analysed", EPISODES / ((done - t0) / 1000), undefined, "episodes/s", {
          note: "heuristic analyzer, end to end",
        }),
      ],
    };
  } finally {
    await queue.stop({ graceful: false }).catch(() => {});
    await rawQueue.stop({ graceful: false }).catch(() => {});
    await db.destroy();
    await pool.end();
    await env.stop();
  }
}
