/**
 * Jobs benchmark: our worker runtime (`defineJob` + `startWorkers`, pg-boss underneath) against raw
 * pg-boss tuned the same way (same batch size, local concurrency, burst, LISTEN/NOTIFY wake-up) and
 * against graphile-worker 0.18 (what a user would pick instead), unbatched (its default: one job per
 * fetch) and with its batched local queue (see `graphile.ts`), in the same run, on one embedded
 * PostgreSQL:
 * - throughput of no-op jobs and of a "read a row, write a row" job (jobs/s);
 * - add → handler start latency, p50 and p99, workers idle and woken by NOTIFY;
 * - enqueue latency p50/p95/p99 (budget 5/10/20 ms), outside and inside a caller's transaction;
 * - the whole S4 pipeline: episodes created -> analysed per second (heuristic analyzer).
 *
 * Run: `pnpm bench jobs`. BENCH_JOBS sets the jobs per throughput round (default 5 000), BENCH_JOBS_ROUNDS
 * the rounds (default 3); BENCH_DURABLE=1 keeps PostgreSQL's default durability settings.
 */
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import os, { tmpdir } from "node:os";
import { join } from "node:path";
import type { Runner, TaskList } from "graphile-worker";
import { sql } from "kysely";
import pg from "pg";
import { PgBoss } from "pg-boss";
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
  createHeuristicAnalyzer,
  createJobQueue,
  defineJob,
  episodeAnalyzeJob,
  installQueue,
  startWorkers,
} from "../../packages/workers/src/index.ts";
import { type BenchResult, type BenchRow, machine, nowMs, percentile, row } from "../lib.ts";
import {
  addGraphileJobs,
  type GraphileMode,
  graphileBacklog,
  graphileUtils,
  startGraphile,
} from "./graphile.ts";

declare module "../../packages/core/src/jobs.ts" {
  interface JobPayloads {
    /** Bench only: a job that does nothing. */
    "bench.noop": Record<string, unknown>;
    /** Bench only: reads a row and writes a row. */
    "bench.rw": Record<string, unknown>;
  }
}

const OURS = "bench.noop";
const RAW = "bench.raw";
const OURS_RW = "bench.rw";
const RAW_RW = "bench.raw_rw";
/** graphile-worker task identifiers, one per mode so two idle runners never take each other's jobs. */
const GRAPHILE = { unbatched: "bench_noop", batched: "bench_noop_batched" } as const;
const GRAPHILE_RW = { unbatched: "bench_rw", batched: "bench_rw_batched" } as const;
const JOBS = Number(process.env.BENCH_JOBS ?? 5_000);
const ROUNDS = Number(process.env.BENCH_JOBS_ROUNDS ?? 3);
const BATCH = 50;
const CONCURRENCY = 4;
/** graphile-worker: jobs at once per runner; its local queue (batched mode) holds this many. */
const GRAPHILE_CONCURRENCY = 10;
const GRAPHILE_LOCAL_QUEUE = 50;
const LATENCY_SAMPLES = 300;
const ENQUEUE_SAMPLES = 500;
/** Rows the read/write job reads from. */
const ITEMS = 1_000;
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
  // The read/write job's tables, and graphile-worker's schema (it installs itself as the owner).
  const client = new pg.Client({ connectionString: ownerUrl });
  await client.connect();
  await client.query(`create schema bench_rw;
    create table bench_rw.items (id int primary key, n int not null);
    insert into bench_rw.items select g, g from generate_series(1, ${ITEMS}) g;
    create table bench_rw.log (id bigint generated always as identity primary key, item int not null, n int not null);
    grant usage on schema bench_rw to bench_app;
    grant select on bench_rw.items to bench_app;
    grant insert, delete on bench_rw.log to bench_app;`);
  await client.end();
  const utils = await graphileUtils(ownerUrl);
  await utils.migrate();
  await utils.release();
  // The bench queues, created by the owner like installQueue creates the built-in ones.
  const ownerQueue = createJobQueue({ connectionString: ownerUrl, poolSize: 2 });
  await ownerQueue.start();
  for (const name of [OURS, RAW, OURS_RW, RAW_RW]) {
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
 * The baseline: raw pg-boss, as its documentation sets it up: the same pool size, maintenance and
 * schema settings as `createJobQueue`, but pg-boss's own LISTEN/NOTIFY wake-up (which wakes every worker
 * of a queue) and its unnamed statements. The baseline uses pg-boss's own `work()`/`send()`, none of our
 * runtime.
 */
function rawBoss(connectionString: string): PgBoss {
  const boss = new PgBoss({
    connectionString,
    schema: "pgboss",
    max: 10,
    migrate: false,
    createSchema: false,
    useListenNotify: true,
    supervise: true,
    schedule: true,
    reindex: false,
    monitorVacuum: false,
    superviseIntervalSeconds: 10,
    monitorIntervalSeconds: 10,
  });
  boss.on("error", () => {});
  return boss;
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

async function enqueueMany(boss: PgBoss, name: string, count: number): Promise<void> {
  for (let i = 0; i < count; i += 1_000) {
    const jobs = Array.from({ length: Math.min(1_000, count - i) }, (_, k) => ({ data: { i: i + k } }));
    await boss.insert(name, jobs);
  }
}

/**
 * Starts the workers, waits until `count` jobs are completed (`completed()` counts them since the call);
 * returns jobs/s and this process's CPU time per job in µs (workers, pg-boss and graphile-worker share the
 * process; PostgreSQL is another).
 */
async function drain(
  completed: () => Promise<number>,
  count: number,
  startWorking: () => Promise<() => Promise<void>>,
): Promise<{ rate: number; cpuPerJob: number }> {
  const cpu = process.cpuUsage();
  const started = nowMs();
  const stop = await startWorking();
  while ((await completed()) < count) await new Promise((r) => setTimeout(r, 20));
  const seconds = (nowMs() - started) / 1000;
  const used = process.cpuUsage(cpu);
  await stop();
  return { rate: count / seconds, cpuPerJob: (used.user + used.system) / count };
}

/** The sides, in the order of the report. */
const SIDES = ["ours", "raw", "graphile", "graphileBatched"] as const;
type Side = (typeof SIDES)[number];
const PEERS: Record<Exclude<Side, "ours">, string> = {
  raw: "raw pg-boss",
  graphile: "graphile-worker",
  graphileBatched: "graphile-worker, batched",
};
type Kind = "noop" | "rw";

/** The read/write job's two statements, the same SQL on every side through that side's own connections. */
const READ = "select n from bench_rw.items where id = $1";
const WRITE = "insert into bench_rw.log (item, n) values ($1, $2)";
const itemOf = (payload: unknown) => ((Number((payload as { i?: number }).i) || 0) % ITEMS) + 1;

export default async function run(): Promise<BenchResult> {
  const env = await setup();
  const pool = new pg.Pool({ connectionString: env.appUrl, max: 2 });
  pool.on("error", () => {});
  const ownerPool = new pg.Pool({ connectionString: env.ownerUrl, max: 2 });
  ownerPool.on("error", () => {});
  // Raw pg-boss's read/write handler: a pool of the same size as the platform's.
  const rawPool = new pg.Pool({ connectionString: env.appUrl, max: 10 });
  rawPool.on("error", () => {});
  const db = createDatabase({ url: env.appUrl, poolSize: 10 });
  const queue = createJobQueue({ connectionString: env.appUrl });
  await queue.start();
  const platform = createPlatform({ db, queue });
  const raw = rawBoss(env.appUrl);
  await raw.start();
  const gUtils = await graphileUtils(env.ownerUrl);

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
  const readWrite = defineJob({
    name: OURS_RW,
    schema: jsonObjectSchema,
    policy: { ...episodeAnalyzeJob.policy, batchSize: BATCH },
    async handler(payload, ctx) {
      const id = itemOf(payload);
      const { rows } = await sql<{ n: number }>`select n from bench_rw.items where id = ${id}`.execute(
        ctx.platform.db,
      );
      await sql`insert into bench_rw.log (item, n) values (${id}, ${rows[0]?.n ?? 0})`.execute(
        ctx.platform.db,
      );
      return undefined;
    },
  });
  const ours = () =>
    startWorkers({
      platform,
      queue,
      jobs: [noop, readWrite],
      concurrency: CONCURRENCY,
      pollIntervalSeconds: POLL_SECONDS,
    }).then((w) => async () => void (await w.stop()));
  const rawWorker = async () => {
    const ids = [
      await raw.work(RAW, workOptions, async (jobs) => {
        onStart?.();
        return jobs.map((j) => ({ id: j.id, status: "completed" as const, output: {} }));
      }),
      await raw.work(RAW_RW, workOptions, async (jobs) =>
        Promise.all(
          jobs.map(async (j) => {
            const id = itemOf(j.data);
            const { rows } = await rawPool.query<{ n: number }>(READ, [id]);
            await rawPool.query(WRITE, [id, rows[0]?.n ?? 0]);
            return { id: j.id, status: "completed" as const, output: {} };
          }),
        ),
      ),
    ];
    return async () => {
      await raw.offWork(RAW, { id: ids[0], wait: true });
      await raw.offWork(RAW_RW, { id: ids[1], wait: true });
    };
  };
  const graphileTasks = (mode: GraphileMode): TaskList => ({
    [GRAPHILE[mode]]: async () => {
      onStart?.();
    },
    [GRAPHILE_RW[mode]]: async (payload, helpers) => {
      const id = itemOf(payload);
      const { rows } = await helpers.query<{ n: number }>(READ, [id]);
      await helpers.query(WRITE, [id, rows[0]?.n ?? 0]);
    },
  });
  const graphileWorker = (mode: GraphileMode) => async () => {
    const runner: Runner = await startGraphile({
      connectionString: env.ownerUrl,
      mode,
      concurrentJobs: GRAPHILE_CONCURRENCY,
      localQueueSize: GRAPHILE_LOCAL_QUEUE,
      taskList: graphileTasks(mode),
    });
    return () => runner.stop();
  };
  const starters: Record<Side, () => Promise<() => Promise<void>>> = {
    ours,
    raw: rawWorker,
    graphile: graphileWorker("unbatched"),
    graphileBatched: graphileWorker("batched"),
  };

  try {
    // Add -> start latency first, on empty job tables (a table full of finished jobs slows every fetch,
    // the same for every side): one job at a time, all workers idle and woken by NOTIFY; samples
    // interleaved across the sides.
    const stops = await Promise.all(SIDES.map((side) => starters[side]()));
    const pickup: Record<Side, number[]> = { ours: [], raw: [], graphile: [], graphileBatched: [] };
    const send: Record<Side, () => Promise<unknown>> = {
      ours: () => queue.send(OURS, { i: 0 }),
      raw: () => raw.send(RAW, { i: 0 }),
      graphile: () => gUtils.addJob(GRAPHILE.unbatched, { i: 0 }),
      graphileBatched: () => gUtils.addJob(GRAPHILE.batched, { i: 0 }),
    };
    const once = async (side: Side) => {
      const t0 = nowMs();
      const started = new Promise<void>((resolve) => {
        onStart = resolve;
      });
      await send[side]();
      await started;
      pickup[side].push(nowMs() - t0);
      onStart = undefined;
      await new Promise((r) => setTimeout(r, 5));
    };
    for (let i = 0; i < 20; i++) await once(SIDES[i % SIDES.length] as Side); // warm-up
    for (const side of SIDES) pickup[side].length = 0;
    for (let i = 0; i < LATENCY_SAMPLES; i++) {
      for (const side of SIDES) await once(side);
    }
    for (const stop of stops) await stop();

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

    // Throughput: a pre-enqueued backlog, drained; the sides rotate who goes first, each round on
    // emptied, vacuumed job tables; medians of the rounds are compared (robust to a noisy neighbour).
    const names: Record<Kind, Record<Side, string>> = {
      noop: { ours: OURS, raw: RAW, graphile: GRAPHILE.unbatched, graphileBatched: GRAPHILE.batched },
      rw: {
        ours: OURS_RW,
        raw: RAW_RW,
        graphile: GRAPHILE_RW.unbatched,
        graphileBatched: GRAPHILE_RW.batched,
      },
    };
    const empty = (): Record<Side, number[]> => ({ ours: [], raw: [], graphile: [], graphileBatched: [] });
    const throughput: Record<Kind, Record<Side, number[]>> = { noop: empty(), rw: empty() };
    const cpu: Record<Kind, Record<Side, number[]>> = { noop: empty(), rw: empty() };
    const owner = new pg.Client({ connectionString: env.ownerUrl });
    await owner.connect();
    const measureSide = async (kind: Kind, side: Side) => {
      const name = names[kind][side];
      let completed: () => Promise<number>;
      if (side === "graphile" || side === "graphileBatched") {
        await addGraphileJobs(gUtils, name, JOBS);
        completed = async () => JOBS - (await graphileBacklog(ownerPool, name));
      } else {
        const boss = side === "ours" ? queue.boss : raw;
        await boss.deleteAllJobs(name);
        await enqueueMany(boss, name, JOBS);
        const base = await completedCount(pool, name);
        completed = async () => (await completedCount(pool, name)) - base;
      }
      const r = await drain(completed, JOBS, starters[side]);
      throughput[kind][side].push(r.rate);
      cpu[kind][side].push(r.cpuPerJob);
    };
    for (const kind of ["noop", "rw"] as const) {
      for (let round = 0; round < ROUNDS; round++) {
        for (let i = 0; i < SIDES.length; i++) {
          // Without it every run goes on a more bloated job table than the last.
          await owner.query("vacuum analyze pgboss.job");
          await owner.query("vacuum analyze graphile_worker._private_jobs");
          await owner.query("truncate bench_rw.log");
          await measureSide(kind, SIDES[(i + round) % SIDES.length] as Side);
        }
      }
    }
    await owner.end();
    // Finished jobs would slow the pipeline's fetches; pg-boss would delete them after retention.
    for (const name of [OURS, OURS_RW]) await queue.boss.deleteAllJobs(name);
    for (const name of [RAW, RAW_RW]) await raw.deleteAllJobs(name);

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
    const rows: BenchRow[] = [];
    for (const kind of ["noop", "rw"] as const) {
      const label = kind === "noop" ? "no-op" : "read+write";
      const ourRate = percentile(throughput[kind].ours, 50);
      for (const peer of ["raw", "graphile", "graphileBatched"] as const) {
        rows.push(
          row(
            `${label} throughput (median of ${ROUNDS})`,
            ourRate,
            percentile(throughput[kind][peer], 50),
            "jobs/s",
            {
              peer: PEERS[peer],
              target: peer === "raw" ? ">= 0.9x" : peer === "graphile" ? ">= 1.0x" : undefined,
              note: `rounds: ours ${throughput[kind].ours.map(Math.round).join("/")}, peer ${throughput[kind][peer].map(Math.round).join("/")}`,
            },
          ),
        );
      }
      rows.push(
        row(
          `${label}: node CPU per job (median)`,
          percentile(cpu[kind].ours, 50),
          percentile(cpu[kind].graphile, 50),
          "µs",
          {
            peer: PEERS.graphile,
            note: `raw pg-boss ${percentile(cpu[kind].raw, 50).toFixed(0)}, graphile batched ${percentile(cpu[kind].graphileBatched, 50).toFixed(0)}; lower is better`,
          },
        ),
      );
    }
    for (const q of [50, 99] as const) {
      for (const peer of ["raw", "graphile", "graphileBatched"] as const) {
        rows.push(
          row(`add -> start latency p${q}`, p(pickup.ours, q), p(pickup[peer], q), "ms", {
            peer: PEERS[peer],
            target:
              peer === "graphile" && q === 50
                ? "<= 1.0x"
                : peer === "raw"
                  ? q === 50
                    ? "<= 1.25x"
                    : "<= 1.5x"
                  : undefined,
          }),
        );
      }
    }
    rows.push(
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
    );
    return {
      name: "jobs",
      machine: await machine(env.appUrl),
      context: {
        jobs: JOBS,
        rounds: ROUNDS,
        pgBoss: { batchSize: BATCH, localConcurrency: CONCURRENCY, notify: true, burstWhenBatchFull: true },
        graphileWorker: {
          concurrentJobs: GRAPHILE_CONCURRENCY,
          maxPoolSize: Math.max(10, GRAPHILE_CONCURRENCY + 2),
          batched: { localQueueSize: GRAPHILE_LOCAL_QUEUE, completeJobBatchDelay: 0, failJobBatchDelay: 0 },
        },
        pollSeconds: POLL_SECONDS,
        latencySamples: LATENCY_SAMPLES,
        enqueueSamples: ENQUEUE_SAMPLES,
        episodes: EPISODES,
        throughputRounds: Object.fromEntries(
          (["noop", "rw"] as const).map((k) => [
            k,
            Object.fromEntries(SIDES.map((side) => [side, throughput[k][side].map(Math.round)])),
          ]),
        ),
        loadAverage: os.loadavg().map((l) => Math.round(l * 100) / 100),
        postgres:
          process.env.BENCH_DURABLE === "1"
            ? "embedded, default durability"
            : "embedded, fsync/synchronous_commit off",
      },
      rows,
    };
  } finally {
    await queue.stop({ graceful: false }).catch(() => {});
    await raw.stop({ graceful: false, close: true }).catch(() => {});
    await Promise.resolve(gUtils.release()).catch(() => {});
    await db.destroy();
    await pool.end();
    await rawPool.end();
    await ownerPool.end();
    await env.stop();
  }
}
