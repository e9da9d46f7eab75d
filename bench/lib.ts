/**
 * Shared helpers for the benchmarks. Every benchmark measures its baseline in the same run and reports
 * ratios against it; nothing here asserts a timing.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { createDatabase, ensureRuntimeRole, migrate } from "../packages/core/src/index.ts";
import { startEmbeddedPostgres } from "../packages/gateway/src/embedded/embedded-postgres.ts";

/** One line of a benchmark's report. */
export interface BenchRow {
  /** What was measured, e.g. "throughput up (MB/s)". */
  metric: string;
  /** Our implementation's figure. */
  value: number;
  /** The baseline's figure, measured in the same run; omitted when there is none. */
  baseline?: number;
  /** value / baseline, or the inverse where lower is better; computed by `row()`. */
  ratio?: number;
  unit: string;
  /** The issue's target, as text (e.g. ">= 0.9x"). */
  target?: string;
  note?: string;
  /** Who the baseline is (a peer: "fastify", "graphile-worker", "bare node:http"). */
  peer?: string;
}

/** What a benchmark module's default export returns. */
export interface BenchResult {
  name: string;
  rows: BenchRow[];
  /** Free-form facts about the run (sizes, concurrency, versions). */
  context?: Record<string, unknown>;
  /** The machine the figures come from; `pnpm bench` prints it above the table. */
  machine?: Machine;
}

/** Where a benchmark ran. */
export interface Machine {
  cores: number;
  cpu: string;
  node: string;
  /** `server_version` of the PostgreSQL the benchmark used, when it used one. */
  postgres?: string;
  /** The 1-minute load average when the benchmark finished (other work on a shared machine shows here). */
  loadAverage: number;
}

/**
 * The machine's cores, CPU model, Node version and load average, plus the PostgreSQL version when a
 * connection string is given.
 */
export async function machine(postgresUrl?: string): Promise<Machine> {
  let postgres: string | undefined;
  if (postgresUrl) {
    const client = new pg.Client({ connectionString: postgresUrl });
    await client.connect();
    try {
      const { rows } = await client.query<{ server_version: string }>("show server_version");
      postgres = rows[0]?.server_version;
    } finally {
      await client.end();
    }
  }
  return {
    cores: cpus().length,
    cpu: cpus()[0]?.model ?? "unknown",
    node: process.version,
    ...(postgres === undefined ? {} : { postgres }),
    loadAverage: Math.round((loadavg()[0] ?? 0) * 100) / 100,
  };
}

/** A benchmark module: `export default async function run(): Promise<BenchResult>`. */
export type Bench = () => Promise<BenchResult>;

/**
 * Builds a row with its ratio. `higherIsBetter` decides the direction: throughput ratios are
 * value / baseline, latency ratios are value / baseline too but read as "x slower".
 */
export function row(
  metric: string,
  value: number,
  baseline: number | undefined,
  unit: string,
  extra: Partial<BenchRow> = {},
): BenchRow {
  const ratio = baseline === undefined || baseline === 0 ? undefined : value / baseline;
  return {
    metric,
    value,
    unit,
    ...(baseline === undefined ? {} : { baseline }),
    ...(ratio === undefined ? {} : { ratio }),
    ...extra,
  };
}

/** Percentile of a list of numbers (nearest rank); the list need not be sorted. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank] as number;
}

/** High-resolution time in milliseconds. */
export function nowMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

/**
 * Samples the process's RSS every `intervalMs` while `fn` runs and returns the peak growth over the
 * RSS measured just before it started, in bytes.
 */
export async function measurePeakRss<T>(
  fn: () => Promise<T>,
  intervalMs = 10,
): Promise<{ result: T; peakGrowth: number }> {
  globalThis.gc?.();
  const start = process.memoryUsage.rss();
  let peak = start;
  const timer = setInterval(() => {
    const rss = process.memoryUsage.rss();
    if (rss > peak) peak = rss;
  }, intervalMs);
  try {
    const result = await fn();
    const rss = process.memoryUsage.rss();
    if (rss > peak) peak = rss;
    return { result, peakGrowth: peak - start };
  } finally {
    clearInterval(timer);
  }
}

let taskset: boolean | undefined;
/** Whether `taskset` can pin a process to a CPU here (checked once). */
export function hasTaskset(): boolean {
  if (taskset === undefined) {
    try {
      execFileSync("taskset", ["-c", "0", "true"], { stdio: "ignore" });
      taskset = true;
    } catch {
      taskset = false;
    }
  }
  return taskset;
}

/** `node <args>`, pinned to `cpu` with taskset when `pin` and taskset is available. */
export function pinnedNode(cpu: number, args: string[], pin = true): [string, string[]] {
  return pin && hasTaskset()
    ? ["taskset", ["-c", String(cpu), process.execPath, ...args]]
    : [process.execPath, args];
}

/** Spawns a server child and resolves with the URL it prints as `READY <url>`. */
export async function startReadyChild(
  command: string,
  args: string[],
  env: Record<string, string>,
  label: string,
): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(command, args, {
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "inherit"],
  });
  const url = await new Promise<string>((resolve, reject) => {
    let out = "";
    child.stdout?.on("data", (chunk: Buffer) => {
      out += chunk.toString();
      const match = /READY (\S+)/.exec(out);
      if (match?.[1]) resolve(match[1]);
    });
    child.once("exit", (code) => reject(new Error(`${label} exited with ${code} before it was ready`)));
  });
  return { url, child };
}

/** SIGTERMs a child and waits for it to exit. */
export async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once("exit", resolve));
  child.kill("SIGTERM");
  await exited;
}

/** An embedded PostgreSQL with the platform migrated and a runtime role (not the owner, RLS forced). */
export interface BenchDatabase {
  /** The superuser's URL for the bench database (migrations, seeding across tenants). */
  ownerUrl: string;
  /** The runtime role's URL: what the gateway and the peers connect as. */
  runtimeUrl: string;
  /** Server port. */
  port: number;
  /** A scratch directory removed by `stop()`. */
  dataDir: string;
  stop(): Promise<void>;
}

/**
 * Starts an ephemeral embedded PostgreSQL (fsync and synchronous commit off, so figures measure the
 * software rather than this machine's disk), creates `cybernetic_bench`, migrates it and creates the
 * runtime role `cybernetic_bench_runtime`.
 */
export async function startBenchDatabase(
  label: string,
  settings: Record<string, string | number> = {},
): Promise<BenchDatabase> {
  const dataDir = await mkdtemp(join(tmpdir(), `cybernetic-bench-${label}-`));
  const postgres = await startEmbeddedPostgres({
    dataDir,
    password: randomBytes(12).toString("hex"),
    ephemeral: true,
    settings: { fsync: "off", synchronous_commit: "off", ...settings },
  });
  try {
    const admin = new pg.Client({ connectionString: postgres.url });
    await admin.connect();
    await admin.query("create database cybernetic_bench");
    await admin.end();
    const ownerUrl = postgres.urlFor("cybernetic_bench");
    const owner = createDatabase({ url: ownerUrl, poolSize: 2 });
    const runtimePassword = randomBytes(12).toString("hex");
    await migrate(owner);
    await ensureRuntimeRole(owner, { user: "cybernetic_bench_runtime", password: runtimePassword });
    await owner.destroy();
    return {
      ownerUrl,
      runtimeUrl: `postgres://cybernetic_bench_runtime:${runtimePassword}@127.0.0.1:${postgres.port}/cybernetic_bench`,
      port: postgres.port,
      dataDir,
      async stop() {
        await postgres.stop();
        await rm(dataDir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await postgres.stop();
    await rm(dataDir, { recursive: true, force: true });
    throw error;
  }
}

/** What one autocannon run measured (latencies in ms). */
export interface LoadResult {
  rps: number;
  p50: number;
  p90: number;
  p99: number;
  non2xx: number;
  errors: number;
  timeouts: number;
}

const loadScript = fileURLToPath(new URL("./http/load.ts", import.meta.url));

/**
 * One autocannon run against `url` from its own process (pinned to CPU 1 when taskset is available, so it
 * does not share a core with a server pinned to CPU 0).
 */
export function runLoad(
  url: string,
  seconds: number,
  connections: number,
  authorization?: string,
  pin = true,
): LoadResult {
  const [command, args] = pinnedNode(
    1,
    [
      "--import",
      "tsx",
      loadScript,
      url,
      String(seconds),
      String(connections),
      ...(authorization ? [authorization] : []),
    ],
    pin,
  );
  const out = execFileSync(command, args, { encoding: "utf8", maxBuffer: 1 << 20 });
  return JSON.parse(out.trim().split("\n").at(-1) ?? "{}") as LoadResult;
}

/** Median (upper of the two middle values for an even count). */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
}

/** Per server: every round's result, and the medians of req/s and latency over the rounds. */
export type RoundsResult<K extends string> = Record<
  K,
  { rounds: LoadResult[]; rps: number; p50: number; p99: number; failures: number }
>;

/**
 * The same load on each server in alternating rounds (after a 1 s warm-up each: JIT, caches, pools);
 * medians per server, because on a shared machine speed drifts from one second to the next and a
 * round-robin exposes every server to the same drift.
 */
export function alternatingRounds<K extends string>(
  urls: Record<K, string>,
  options: { rounds: number; seconds: number; connections: number; authorization?: string; pin?: boolean },
): RoundsResult<K> {
  const names = Object.keys(urls) as K[];
  const rounds = Object.fromEntries(names.map((n) => [n, [] as LoadResult[]])) as Record<K, LoadResult[]>;
  const go = (name: K, seconds: number) =>
    runLoad(urls[name], seconds, options.connections, options.authorization, options.pin);
  for (const name of names) go(name, 1);
  for (let round = 0; round < options.rounds; round++) {
    // Which server goes first rotates, so none always runs right after the same neighbour.
    for (let i = 0; i < names.length; i++) {
      const name = names[(i + round) % names.length] as K;
      rounds[name].push(go(name, options.seconds));
    }
  }
  return Object.fromEntries(
    names.map((n) => {
      const list = rounds[n];
      return [
        n,
        {
          rounds: list,
          rps: median(list.map((r) => r.rps)),
          p50: median(list.map((r) => r.p50)),
          p99: median(list.map((r) => r.p99)),
          failures: list.reduce((sum, r) => sum + r.non2xx + r.errors + r.timeouts, 0),
        },
      ];
    }),
  ) as RoundsResult<K>;
}

/**
 * Environment for a server child that runs the gateway as users do: from the built packages. The repo's
 * tsconfig maps `@cybernetic/*` to their sources, and tsx follows that mapping, so the child is pointed at
 * a tsconfig without it; tsx's transform of the sources adds per-call work of its own (its function-name
 * helper showed up in the gateway's profile). `pnpm bench` builds what is stale first.
 */
export const BUILT_PACKAGES_ENV: Readonly<Record<string, string>> = Object.freeze({
  TSX_TSCONFIG_PATH: fileURLToPath(new URL("./tsconfig.dist.json", import.meta.url)),
});
