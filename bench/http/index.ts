/**
 * `/health` on the gateway against what a user would pick instead, in the same run and under the same
 * load: fastify 5 (production settings, logging off), and bare `node:http` servers returning the same
 * bytes (headers written as an object, the idiomatic way, and as a raw array, Node's fastest path).
 * `/health` has no dependencies, so this measures the whole middleware stack (request id, access log,
 * CORS, security headers, metrics) against each peer. The authenticated read through the database is
 * `bench/api`.
 *
 * Each server and the load generator (autocannon, 50 connections) run in their own processes; with
 * `taskset` every server is pinned to CPU 0 and the generator to CPU 1. The servers are measured in
 * alternating rounds and the medians compared, because this machine is shared and its speed drifts.
 *
 * BENCH_HTTP_SECONDS (default 3) per round, BENCH_HTTP_ROUNDS (default 3).
 */
import type { ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  alternatingRounds,
  type BenchResult,
  BUILT_PACKAGES_ENV,
  hasTaskset,
  machine,
  pinnedNode,
  row,
  startBenchDatabase,
  startReadyChild,
  stopChild,
} from "../lib.ts";

const here = fileURLToPath(new URL(".", import.meta.url));
const CONNECTIONS = 50;
const SECONDS = Number(process.env.BENCH_HTTP_SECONDS ?? 3);
const ROUNDS = Number(process.env.BENCH_HTTP_ROUNDS ?? 3);

const startChild = (script: string, env: Record<string, string>) =>
  startReadyChild(...pinnedNode(0, ["--import", "tsx", join(here, script)]), env, script);

export default async function run(): Promise<BenchResult> {
  // The gateway needs its database to start (readiness, the key cache's service); /health never uses it.
  const database = await startBenchDatabase("http");
  const children: ChildProcess[] = [];
  try {
    const servers = {
      gateway: await startChild("gateway-server.ts", {
        ...BUILT_PACKAGES_ENV,
        BENCH_DATABASE_URL: database.runtimeUrl,
        BENCH_ADMIN_KEY: randomBytes(32).toString("base64url"),
      }),
      // The same gateway logging at warn: no access log, as fastify runs with logging off.
      gatewayQuiet: await startChild("gateway-server.ts", {
        ...BUILT_PACKAGES_ENV,
        BENCH_DATABASE_URL: database.runtimeUrl,
        BENCH_ADMIN_KEY: randomBytes(32).toString("base64url"),
        BENCH_GATEWAY_LOG_LEVEL: "warn",
      }),
      fastify: await startChild("fastify-server.ts", {}),
      bare: await startChild("bare-server.ts", { BENCH_BARE_HEADERS: "object" }),
      bareArray: await startChild("bare-server.ts", { BENCH_BARE_HEADERS: "array" }),
    };
    for (const s of Object.values(servers)) children.push(s.child);
    const health = alternatingRounds(
      {
        gateway: `${servers.gateway.url}/health`,
        gatewayQuiet: `${servers.gatewayQuiet.url}/health`,
        fastify: `${servers.fastify.url}/health`,
        bare: `${servers.bare.url}/health`,
        bareArray: `${servers.bareArray.url}/health`,
      },
      { rounds: ROUNDS, seconds: SECONDS, connections: CONNECTIONS },
    );
    const g = health.gateway;
    const q = health.gatewayQuiet;
    const perRound = (peer: keyof typeof health, of = g) =>
      of.rounds.map((r, i) => Number((r.rps / (health[peer].rounds[i]?.rps ?? Number.NaN)).toFixed(3)));
    return {
      name: "http",
      machine: await machine(database.runtimeUrl),
      rows: [
        row("/health req/s, no access log", q.rps, health.fastify.rps, "req/s", {
          peer: "fastify 5",
          target: ">= 1.00x",
          note: `both logging off; per round: ${perRound("fastify", q).join(", ")}`,
        }),
        row("/health req/s, no access log", q.rps, health.bare.rps, "req/s", {
          peer: "node:http (headers object)",
          note: `per round: ${perRound("bare", q).join(", ")}`,
        }),
        row("/health req/s", g.rps, health.fastify.rps, "req/s", {
          peer: "fastify 5",
          note: `gateway as deployed (access log at info); per round: ${perRound("fastify").join(", ")}`,
        }),
        row("/health req/s", g.rps, health.bare.rps, "req/s", {
          peer: "node:http (headers object)",
          target: ">= 0.90x",
          note: `per round: ${perRound("bare").join(", ")}`,
        }),
        row("/health req/s", g.rps, health.bareArray.rps, "req/s", {
          peer: "node:http (raw header array)",
          note: "node:http's fastest path: writeHead(200, [name, value, ...])",
        }),
        row("/health p50", g.p50, health.fastify.p50, "ms", { peer: "fastify 5" }),
        row("/health p99", g.p99, health.fastify.p99, "ms", { peer: "fastify 5", target: "<= 20 ms" }),
        row("/health p99", g.p99, health.bare.p99, "ms", { peer: "node:http (headers object)" }),
      ],
      context: {
        connections: CONNECTIONS,
        secondsPerRound: SECONDS,
        rounds: ROUNDS,
        pinned: hasTaskset() ? "servers cpu 0, load generator cpu 1" : "not pinned (no taskset)",
        roundsRps: Object.fromEntries(
          Object.entries(health).map(([name, r]) => [name, r.rounds.map((x) => Math.round(x.rps))]),
        ),
        failedResponses: Object.fromEntries(Object.entries(health).map(([name, r]) => [name, r.failures])),
      },
    };
  } finally {
    for (const child of children) await stopChild(child);
    await database.stop();
  }
}
