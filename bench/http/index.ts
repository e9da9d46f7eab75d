/**
 * The gateway against bare `node:http` servers returning the same bytes (headers written as an object,
 * the idiomatic way, and as a raw array, Node's fastest path), in the same run, under the same load: `/health` (no dependencies, whole middleware stack) and an authenticated
 * `GET /v1/episodes?limit=20` (auth with the key cache, tenant context, one database round trip set).
 *
 * Each server and the load generator (autocannon, 50 connections) run in their own processes; with
 * `taskset` the server is pinned to CPU 0 and the generator to CPU 1 (PostgreSQL floats). The two
 * servers are measured in alternating rounds and the medians compared, because this machine is shared
 * and its speed drifts from one second to the next.
 */
import { type ChildProcess, execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { createDatabase, createPlatform, ensureRuntimeRole, migrate } from "../../packages/core/src/index.ts";
import { startEmbeddedPostgres } from "../../packages/gateway/src/index.ts";
import { type BenchResult, hasTaskset, pinnedNode, row, startReadyChild, stopChild } from "../lib.ts";

const here = fileURLToPath(new URL(".", import.meta.url));
const CONNECTIONS = 50;
const SECONDS = Number(process.env.BENCH_HTTP_SECONDS ?? 5);
const ROUNDS = Number(process.env.BENCH_HTTP_ROUNDS ?? 5);

interface LoadResult {
  rps: number;
  p50: number;
  p90: number;
  p99: number;
  non2xx: number;
  errors: number;
  timeouts: number;
}

const pinned = (cpu: number, args: string[]) => pinnedNode(cpu, args);

const startChild = (script: string, env: Record<string, string>) =>
  startReadyChild(...pinned(0, ["--import", "tsx", join(here, script)]), env, script);

function load(url: string, seconds: number, authorization?: string): LoadResult {
  const [command, args] = pinned(1, [
    "--import",
    "tsx",
    join(here, "load.ts"),
    url,
    String(seconds),
    String(CONNECTIONS),
    ...(authorization ? [authorization] : []),
  ]);
  const out = execFileSync(command, args, { encoding: "utf8", maxBuffer: 1 << 20 });
  return JSON.parse(out.trim().split("\n").at(-1) ?? "{}") as LoadResult;
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
};

/** Alternating rounds of the same load on each server; medians of req/s and latency per server. */
function compare(urls: { gateway: string; bare: string; bareArray: string }, authorization?: string) {
  const results: Record<keyof typeof urls, LoadResult[]> = { gateway: [], bare: [], bareArray: [] };
  const names = Object.keys(urls) as (keyof typeof urls)[];
  for (const name of names) load(urls[name], 1, authorization); // warm-up: JIT, key cache, pool
  for (let round = 0; round < ROUNDS; round++) {
    for (const name of names) results[name].push(load(urls[name], SECONDS, authorization));
  }
  const pick = (name: keyof typeof urls, field: keyof LoadResult) =>
    median(results[name].map((r) => r[field]));
  return {
    gatewayRps: pick("gateway", "rps"),
    bareRps: pick("bare", "rps"),
    bareArrayRps: pick("bareArray", "rps"),
    gatewayP50: pick("gateway", "p50"),
    gatewayP99: pick("gateway", "p99"),
    bareP99: pick("bare", "p99"),
    ratios: results.gateway.map((g, i) => Number((g.rps / (results.bare[i] as LoadResult).rps).toFixed(3))),
    rounds: results.gateway.map((g, i) => ({
      gateway: Math.round(g.rps),
      bare: Math.round((results.bare[i] as LoadResult).rps),
      bareArray: Math.round((results.bareArray[i] as LoadResult).rps),
    })),
    failures: results.gateway.reduce((n, r) => n + r.non2xx + r.errors + r.timeouts, 0),
  };
}

export default async function run(): Promise<BenchResult> {
  const dataDir = await mkdtemp(join(tmpdir(), "cybernetic-bench-http-"));
  const postgres = await startEmbeddedPostgres({
    dataDir,
    password: randomBytes(12).toString("hex"),
    ephemeral: true,
    settings: { fsync: "off", synchronous_commit: "off" },
  });
  const children: ChildProcess[] = [];
  try {
    const admin = new pg.Client({ connectionString: postgres.url });
    await admin.connect();
    await admin.query("create database cybernetic_bench");
    await admin.end();
    const owner = createDatabase({ url: postgres.urlFor("cybernetic_bench"), poolSize: 2 });
    const runtimePassword = randomBytes(12).toString("hex");
    await migrate(owner);
    await ensureRuntimeRole(owner, { user: "cybernetic_bench_runtime", password: runtimePassword });
    await owner.destroy();
    const runtimeUrl = `postgres://cybernetic_bench_runtime:${runtimePassword}@127.0.0.1:${postgres.port}/cybernetic_bench`;

    const db = createDatabase({ url: runtimeUrl, poolSize: 2 });
    const platform = createPlatform({ db });
    const { apiKey } = await platform.tenants.create({ name: "Bench", slug: "bench" }, { issueKey: true });
    for (let i = 0; i < 40; i++) {
      await platform.episodes.create((apiKey as { tenantId: string }).tenantId, {
        title: `Episode ${i}`,
        content: "The night shift reported that the packaging line stopped twice; maintenance restarted it.",
        tags: ["ops", "bench"],
      });
    }
    await db.destroy();
    const authorization = `Bearer ${(apiKey as { key: string }).key}`;

    const gateway = await startChild("gateway-server.ts", {
      BENCH_DATABASE_URL: runtimeUrl,
      BENCH_ADMIN_KEY: randomBytes(32).toString("base64url"),
    });
    children.push(gateway.child);
    const listPath = "/v1/episodes?limit=20";
    const listResponse = await fetch(`${gateway.url}${listPath}`, { headers: { authorization } });
    if (listResponse.status !== 200) throw new Error(`list answered ${listResponse.status}`);
    const bodyFile = join(dataDir, "list-body.json");
    await writeFile(bodyFile, Buffer.from(await listResponse.arrayBuffer()));
    const bare = await startChild("bare-server.ts", {
      BENCH_LIST_BODY_FILE: bodyFile,
      BENCH_BARE_HEADERS: "object",
    });
    children.push(bare.child);
    const bareArray = await startChild("bare-server.ts", {
      BENCH_LIST_BODY_FILE: bodyFile,
      BENCH_BARE_HEADERS: "array",
    });
    children.push(bareArray.child);

    const at = (path: string) => ({
      gateway: `${gateway.url}${path}`,
      bare: `${bare.url}${path}`,
      bareArray: `${bareArray.url}${path}`,
    });
    const health = compare(at("/health"));
    const list = compare(at(listPath), authorization);

    return {
      name: "http",
      rows: [
        row("/health req/s vs bare (headers object)", health.gatewayRps, health.bareRps, "req/s", {
          target: ">= 0.90x",
          note: "idiomatic node:http: writeHead(200, { ... })",
        }),
        row("/health req/s vs bare (raw header array)", health.gatewayRps, health.bareArrayRps, "req/s", {
          note: "node:http's fastest path: writeHead(200, [name, value, ...])",
        }),
        row("/health p99", health.gatewayP99, health.bareP99, "ms", { target: "<= 20 ms" }),
        row("/health p50", health.gatewayP50, undefined, "ms"),
        row("GET /v1/episodes?limit=20 req/s", list.gatewayRps, list.bareRps, "req/s", {
          note: "baseline replays the bytes without a database",
        }),
        row("GET /v1/episodes?limit=20 p99", list.gatewayP99, list.bareP99, "ms"),
        row("GET /v1/episodes?limit=20 p50", list.gatewayP50, undefined, "ms"),
      ],
      context: {
        connections: CONNECTIONS,
        secondsPerRound: SECONDS,
        rounds: ROUNDS,
        pinned: hasTaskset() ? "server cpu 0, load generator cpu 1" : "not pinned (no taskset)",
        healthRatiosPerRound: health.ratios,
        healthMedianOfRoundRatios: median(health.ratios),
        healthRoundsRps: health.rounds,
        listRatiosPerRound: list.ratios,
        gatewayFailedResponses: health.failures + list.failures,
        node: process.version,
      },
    };
  } finally {
    for (const child of children) await stopChild(child);
    await postgres.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
}
