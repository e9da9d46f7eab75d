/**
 * An authenticated API read, `GET /v1/episodes?limit=20`, through the gateway (API key with its cache,
 * rate limiter, row-level security through `withTenant`, the outbox cursor header, JSON, access log)
 * against the same read written by hand on fastify 5 + pg (`handwritten-server.ts`: key-hash look-up,
 * `BEGIN; set_config; select; COMMIT` on a pool of the same size), in the same run, at 10 and 50
 * connections. Both return the same rows and the same JSON body (checked before measuring).
 *
 * Both servers are pinned to CPU 0 and autocannon to CPU 1 with `taskset`; PostgreSQL floats, so half
 * of each request's work competes with whichever process is busy. Rounds alternate between the two
 * servers and medians are compared. BENCH_API_SECONDS (default 3) per round, BENCH_API_ROUNDS (default
 * 3), BENCH_API_CONNECTIONS (default "10,50"). BENCH_API_PROFILE=<dir> runs both servers with
 * `--cpu-prof` into that directory (the profiles are written when the servers stop).
 * BENCH_API_PEER_PRETENURING=off gives the hand-written server the V8 setting the gateway's process runs
 * with (`tuneRuntimeForServing`, as `cybernetic serve`).
 */
import type { ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { isDeepStrictEqual } from "node:util";
import pg from "pg";
import { createDatabase, createPlatform } from "../../packages/core/src/index.ts";
import {
  alternatingRounds,
  type BenchResult,
  type BenchRow,
  BUILT_PACKAGES_ENV,
  hasTaskset,
  machine,
  pinnedNode,
  type RoundsResult,
  row,
  startBenchDatabase,
  startReadyChild,
  stopChild,
} from "../lib.ts";

const here = fileURLToPath(new URL(".", import.meta.url));
const SECONDS = Number(process.env.BENCH_API_SECONDS ?? 3);
const ROUNDS = Number(process.env.BENCH_API_ROUNDS ?? 3);
const CONNECTIONS = (process.env.BENCH_API_CONNECTIONS ?? "10,50").split(",").map(Number);
const PROFILE = process.env.BENCH_API_PROFILE;
const POOL_SIZE = 10;
const PATH = "/v1/episodes?limit=20";
const PEER = "fastify + pg by hand";

const startChild = (script: string, env: Record<string, string>) =>
  startReadyChild(
    ...pinnedNode(0, [
      ...(PROFILE ? ["--cpu-prof", `--cpu-prof-dir=${PROFILE}`] : []),
      "--import",
      "tsx",
      join(here, script),
    ]),
    env,
    script,
  );

async function body(url: string, authorization: string): Promise<unknown> {
  const response = await fetch(url, { headers: { authorization } });
  if (response.status !== 200)
    throw new Error(`${url} answered ${response.status}: ${await response.text()}`);
  return response.json();
}

/**
 * Database transactions (commits + rollbacks, from `pg_stat_database`) per request, over `count` requests
 * sent one at a time: where a database-bound route's cost goes, independent of this machine's noise. It
 * ends the runtime role's connections to read the counters.
 */
async function transactionsPerRequest(
  ownerUrl: string,
  url: string,
  authorization: string,
  count = 200,
): Promise<number> {
  const owner = new pg.Client({ connectionString: ownerUrl });
  await owner.connect();
  // A backend flushes its counters when it exits (an idle one only every 10 s): end the runtime role's
  // connections (the pools reconnect), then read.
  const read = async () => {
    await owner.query(
      "select pg_terminate_backend(pid) from pg_stat_activity where usename = 'cybernetic_bench_runtime'",
    );
    for (let i = 0; i < 50; i++) {
      const { rows } = await owner.query<{ n: number }>(
        "select count(*)::int as n from pg_stat_activity where usename = 'cybernetic_bench_runtime'",
      );
      if (rows[0]?.n === 0) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    await owner.query("select pg_stat_clear_snapshot()");
    const { rows } = await owner.query<{ n: string }>(
      "select xact_commit + xact_rollback as n from pg_stat_database where datname = current_database()",
    );
    return Number(rows[0]?.n);
  };
  try {
    const before = await read();
    for (let i = 0; i < count; i++) await body(url, authorization);
    const after = await read();
    // The owner's own reads count too (a few, over `count` requests).
    return (after - before) / count;
  } finally {
    await owner.end();
  }
}

export default async function run(): Promise<BenchResult> {
  const database = await startBenchDatabase("api");
  const children: ChildProcess[] = [];
  try {
    const db = createDatabase({ url: database.runtimeUrl, poolSize: 2 });
    const platform = createPlatform({ db });
    const { apiKey } = await platform.tenants.create({ name: "Bench", slug: "bench" }, { issueKey: true });
    const { tenantId, key } = apiKey as { tenantId: string; key: string };
    for (let i = 0; i < 40; i++) {
      await platform.episodes.create(tenantId, {
        title: `Episode ${i}`,
        content: "The night shift reported that the packaging line stopped twice; maintenance restarted it.",
        tags: ["ops", "bench"],
      });
    }
    await db.destroy();
    const authorization = `Bearer ${key}`;

    // The gateway as bench/http runs it: pool of 10, access log at info into /dev/null.
    const gateway = await startChild("../http/gateway-server.ts", {
      ...BUILT_PACKAGES_ENV,
      BENCH_DATABASE_URL: database.runtimeUrl,
      BENCH_ADMIN_KEY: randomBytes(32).toString("base64url"),
    });
    children.push(gateway.child);
    const handwritten = await startChild("handwritten-server.ts", {
      BENCH_DATABASE_URL: database.runtimeUrl,
      BENCH_POOL_SIZE: String(POOL_SIZE),
      BENCH_API_PEER_PRETENURING: process.env.BENCH_API_PEER_PRETENURING ?? "",
    });
    children.push(handwritten.child);
    const urls = { gateway: `${gateway.url}${PATH}`, handwritten: `${handwritten.url}${PATH}` };
    const ours = await body(urls.gateway, authorization);
    const theirs = await body(urls.handwritten, authorization);
    if (!isDeepStrictEqual(ours, theirs)) throw new Error("the two servers do not return the same JSON");

    const rows: BenchRow[] = [];
    const perConnections: Record<number, RoundsResult<"gateway" | "handwritten">> = {};
    for (const connections of CONNECTIONS) {
      const r = alternatingRounds(urls, { rounds: ROUNDS, seconds: SECONDS, connections, authorization });
      perConnections[connections] = r;
      const at = `${connections} conn`;
      rows.push(
        row(`${at}: req/s`, r.gateway.rps, r.handwritten.rps, "req/s", {
          peer: PEER,
          target: ">= 1.00x",
          note: `per round: ${r.gateway.rounds.map((g, i) => (g.rps / (r.handwritten.rounds[i]?.rps ?? Number.NaN)).toFixed(2)).join(", ")}`,
        }),
        row(`${at}: p50`, r.gateway.p50, r.handwritten.p50, "ms", { peer: PEER }),
        row(`${at}: p99`, r.gateway.p99, r.handwritten.p99, "ms", { peer: PEER, target: "<= 1.10x" }),
      );
    }
    // After the load: it ends the servers' connections.
    const transactions = {
      gateway: await transactionsPerRequest(database.ownerUrl, urls.gateway, authorization),
      handwritten: await transactionsPerRequest(database.ownerUrl, urls.handwritten, authorization),
    };
    rows.push(
      row("database transactions per request", transactions.gateway, transactions.handwritten, "xacts", {
        peer: PEER,
        note: "pg_stat_database commits + rollbacks over 200 sequential requests",
      }),
    );
    return {
      name: "api",
      machine: await machine(database.runtimeUrl),
      rows,
      context: {
        path: PATH,
        episodes: 40,
        peerPretenuring: process.env.BENCH_API_PEER_PRETENURING === "off" ? "off" : "V8 default",
        poolSize: POOL_SIZE,
        secondsPerRound: SECONDS,
        rounds: ROUNDS,
        pinned: hasTaskset()
          ? "servers cpu 0, load generator cpu 1, PostgreSQL floats"
          : "not pinned (no taskset)",
        roundsRps: Object.fromEntries(
          Object.entries(perConnections).map(([c, r]) => [
            c,
            {
              gateway: r.gateway.rounds.map((x) => Math.round(x.rps)),
              handwritten: r.handwritten.rounds.map((x) => Math.round(x.rps)),
            },
          ]),
        ),
        failedResponses: Object.fromEntries(
          Object.entries(perConnections).map(([c, r]) => [
            c,
            { gateway: r.gateway.failures, handwritten: r.handwritten.failures },
          ]),
        ),
      },
    };
  } finally {
    for (const child of children) await stopChild(child);
    await database.stop();
  }
}
