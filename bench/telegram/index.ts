/**
 * Telegram webhook benchmark: how long `POST /telegram/webhook` takes to acknowledge an update at a
 * steady 200 updates a second (target p99 <= 20 ms), against a bare `node:http` handler in the same run
 * that reads the body, parses it and compares the secret token but stores nothing.
 *
 * The gateway does the real work of an acknowledgement: secret check, validation, one transaction with
 * the deduplication row, the chat's token bucket and the `telegram.update` job (a real pg-boss queue; no
 * workers run, so handling does not compete with it). Updates come from 1 000 chats, so no chat reaches
 * its limit. The load is open-loop (one update every 5 ms whether or not earlier ones were answered,
 * latency counted from when a request was due), from its own process. The two servers alternate rounds.
 *
 * BENCH_TELEGRAM_RATE (default 200/s), BENCH_TELEGRAM_SECONDS per round (default 10),
 * BENCH_TELEGRAM_ROUNDS (default 3), BENCH_TELEGRAM_WARM_UP_SECONDS (default 5), BENCH_TELEGRAM_PIN=1.
 */
import { type ChildProcess, execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import os from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { createDatabase, createPlatform } from "../../packages/core/src/index.ts";
import { installQueue } from "../../packages/workers/src/index.ts";
import {
  type BenchResult,
  BUILT_PACKAGES_ENV,
  hasTaskset,
  percentile,
  pinnedNode,
  row,
  startBenchDatabase,
  startReadyChild,
  stopChild,
} from "../lib.ts";

const here = fileURLToPath(new URL(".", import.meta.url));
const RATE = Number(process.env.BENCH_TELEGRAM_RATE ?? 200);
const SECONDS = Number(process.env.BENCH_TELEGRAM_SECONDS ?? 10);
const ROUNDS = Number(process.env.BENCH_TELEGRAM_ROUNDS ?? 3);
const CHATS = 1_000;
const WARM_UP_SECONDS = Number(process.env.BENCH_TELEGRAM_WARM_UP_SECONDS ?? 5);

/** The gateway process's CPU time so far, from its own `/metrics`. */
async function cpuSeconds(base: string): Promise<number> {
  const text = await (await fetch(`${base}/metrics`)).text();
  const line = text.split("\n").find((l) => l.startsWith("process_cpu_seconds_total "));
  return Number(line?.split(" ")[1] ?? Number.NaN);
}

interface LoadResult {
  latencies: number[];
  statuses: Record<string, number>;
  outcomes: Record<string, number>;
  errors: number;
  sent: number;
}

// Not pinned by default: half of an acknowledgement's work is PostgreSQL's, and a gateway pinned to one
// CPU fights PostgreSQL for it (p99 went from about 18 ms unpinned to 140-400 ms pinned on the
// reference machine). BENCH_TELEGRAM_PIN=1 pins the server to CPU 0 and the generator to CPU 1.
const pin = process.env.BENCH_TELEGRAM_PIN === "1";
const isPinned = () => pin && hasTaskset();
const pinned = (cpu: number, args: string[]) => pinnedNode(cpu, args, pin);

function startChild(script: string, env: Record<string, string>) {
  // BENCH_TELEGRAM_PROFILE_DIR: write a CPU profile of each server there (open it in Chrome's DevTools).
  const profile = process.env.BENCH_TELEGRAM_PROFILE_DIR;
  const args = [
    ...(profile ? ["--cpu-prof", `--cpu-prof-dir=${profile}`] : []),
    "--import",
    "tsx",
    join(here, script),
  ];
  return startReadyChild(...pinned(0, args), env, script);
}

let nextUpdate = 1;
function load(url: string, secret: string, seconds: number): LoadResult {
  const first = nextUpdate;
  nextUpdate += Math.round(seconds * RATE) + 1;
  const [command, args] = pinned(1, [
    "--import",
    "tsx",
    join(here, "load.ts"),
    url,
    secret,
    String(seconds),
    String(RATE),
    String(first),
    String(CHATS),
  ]);
  const out = execFileSync(command, args, { encoding: "utf8", maxBuffer: 64 << 20 });
  return JSON.parse(out.trim().split("\n").at(-1) ?? "{}") as LoadResult;
}

const merge = (into: Record<string, number>, from: Record<string, number>) => {
  for (const [k, v] of Object.entries(from)) into[k] = (into[k] ?? 0) + v;
};

export default async function run(): Promise<BenchResult> {
  // The same settings as the test harness: the acknowledgement is measured, not this disk's flushes.
  const database = await startBenchDatabase("telegram", { full_page_writes: "off" });
  const { ownerUrl, runtimeUrl } = database;
  const children: ChildProcess[] = [];
  try {
    await installQueue(ownerUrl);
    const db = createDatabase({ url: runtimeUrl, poolSize: 2 });
    const { tenant } = await createPlatform({ db }).tenants.create({ name: "Bench", slug: "bench" });
    await db.destroy();

    const secret = randomBytes(24).toString("hex");
    const gateway = await startChild("gateway-server.ts", {
      ...BUILT_PACKAGES_ENV,
      BENCH_DATABASE_URL: runtimeUrl,
      BENCH_WEBHOOK_SECRET: secret,
    });
    children.push(gateway.child);
    const bare = await startChild("bare-server.ts", { BENCH_WEBHOOK_SECRET: secret });
    children.push(bare.child);
    const urls = { gateway: `${gateway.url}/telegram/webhook`, bare: `${bare.url}/telegram/webhook` };

    // Warm-up: JIT, pools, the webhook's tenant cache, pg-boss's prepared statements.
    load(urls.gateway, secret, WARM_UP_SECONDS);
    load(urls.bare, secret, WARM_UP_SECONDS);
    const cpuBefore = await cpuSeconds(gateway.url);
    const results = { gateway: [] as LoadResult[], bare: [] as LoadResult[] };
    for (let round = 0; round < ROUNDS; round++) {
      const order = round % 2 === 0 ? (["gateway", "bare"] as const) : (["bare", "gateway"] as const);
      for (const side of order) results[side].push(load(urls[side], secret, SECONDS));
    }
    const cpuPerAck =
      (((await cpuSeconds(gateway.url)) - cpuBefore) * 1000) /
      results.gateway.reduce((n, r) => n + r.sent, 0);
    const all = (side: keyof typeof results) => results[side].flatMap((r) => r.latencies);
    const statuses = { gateway: {} as Record<string, number>, bare: {} as Record<string, number> };
    const outcomes: Record<string, number> = {};
    for (const side of ["gateway", "bare"] as const)
      for (const r of results[side]) merge(statuses[side], r.statuses);
    for (const r of results.gateway) merge(outcomes, r.outcomes);
    const g = all("gateway");
    const b = all("bare");

    // Every acknowledged update is in the inbox, once, with its job.
    const check = new pg.Client({ connectionString: ownerUrl });
    await check.connect();
    await check.query("select set_config('app.tenant_id', $1, false)", [tenant.id]);
    const stored = await check.query<{ n: string }>("select count(*) as n from cybernetic.telegram_updates");
    const jobs = await check.query<{ n: string }>(
      "select count(*) as n from pgboss.job where name = 'telegram.update'",
    );
    await check.end();

    const p = (values: number[], q: number) => percentile(values, q);
    const perRound = results.gateway.map((r) => Math.round(p(r.latencies, 99) * 100) / 100);
    return {
      name: "telegram",
      rows: [
        row("ack latency p50", p(g, 50), p(b, 50), "ms"),
        row("ack latency p90", p(g, 90), p(b, 90), "ms"),
        row("ack latency p99", p(g, 99), p(b, 99), "ms", { target: "<= 20 ms" }),
        row("ack latency p99.9", p(g, 99.9), p(b, 99.9), "ms"),
        row("ack latency max", Math.max(...g), Math.max(...b), "ms"),
        row("gateway CPU per acknowledgement", cpuPerAck, undefined, "ms", {
          note: "the gateway process only (PostgreSQL is another)",
        }),
        row("updates acknowledged 200", statuses.gateway["200"] ?? 0, statuses.bare["200"] ?? 0, "updates", {
          note: `of ${results.gateway.reduce((n, r) => n + r.sent, 0)} sent per side`,
        }),
      ],
      context: {
        rate: RATE,
        secondsPerRound: SECONDS,
        rounds: ROUNDS,
        chats: CHATS,
        gatewayP99PerRound: perRound,
        gatewayStatuses: statuses.gateway,
        gatewayOutcomes: outcomes,
        gatewayErrors: results.gateway.reduce((n, r) => n + r.errors, 0),
        inboxRows: Number(stored.rows[0]?.n ?? 0),
        telegramUpdateJobs: Number(jobs.rows[0]?.n ?? 0),
        pinned: isPinned() ? "server cpu 0, load generator cpu 1" : "not pinned (no taskset)",
        loadAverage: os.loadavg().map((l) => Math.round(l * 100) / 100),
        cpus: os.cpus().length,
        node: process.version,
      },
    };
  } finally {
    for (const child of children) await stopChild(child);
    await database.stop();
  }
}
