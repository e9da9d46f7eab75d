/**
 * SSE: 1, 1,000, 5,000 and 10,000 concurrent subscribers on one gateway process against two peers in the
 * same run: a bare `node:http` SSE server writing the same frames to the same number of sockets from
 * memory (the floor of fan-out), and the same bare server fed by a bare `LISTEN/NOTIFY` listener on the
 * same database (what a user would write instead of the outbox: commit → NOTIFY → broadcast).
 *
 * For each size and server: the server starts fresh (its own process, pinned to CPU 0 with `taskset`), the
 * load generator (its own process, CPU 1) opens the streams in waves and reports connect → `connected`;
 * the server's RSS is read after a GC before and after the streams are open (RSS per connection); then
 * `BENCH_SSE_EVENTS` events are written one every `BENCH_SSE_SPACING_MS`: for the gateway, through the
 * outbox (a committed `custom.bench` event, published and fanned out by the bus); for the bare server, by
 * a `POST /broadcast`; for the LISTEN/NOTIFY peer, by a transaction that inserts a row and calls
 * `pg_notify` with the event. Latency is commit (or POST) → received, for every (event, subscriber) pair; missing
 * deliveries are counted. Both children raise their soft open-file limit to the hard limit at start; the
 * hard limit caps the sizes (reported).
 */
import { execFileSync, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readFile } from "node:fs/promises";
import { cpus } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { appendEvent, createDatabase, createPlatform, withTenant } from "../../packages/core/src/index.ts";
import {
  type BenchResult,
  type BenchRow,
  BUILT_PACKAGES_ENV,
  hasTaskset,
  machine,
  percentile,
  row,
  startBenchDatabase,
} from "../lib.ts";

const here = fileURLToPath(new URL(".", import.meta.url));
const SIZES = (process.env.BENCH_SSE_SIZES ?? "1,1000,5000,10000").split(",").map(Number);
const EVENTS = Number(process.env.BENCH_SSE_EVENTS ?? 20);
const SPACING_MS = Number(process.env.BENCH_SSE_SPACING_MS ?? 500);
const PROFILE = process.env.BENCH_SSE_PROFILE;
const now = () => performance.timeOrigin + performance.now();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Rejects after `ms` without holding the process open. */
const deadline = (ms: number, message: string) =>
  new Promise<never>((_, reject) => setTimeout(() => reject(new Error(message)), ms).unref());

const hardFileLimit = Number(execFileSync("sh", ["-c", "ulimit -Hn"], { encoding: "utf8" }).trim());

/** A child on `cpu`, its soft open-file limit raised to the hard one, talking by lines on stdio. */
function child(cpu: number, args: string[], env: Record<string, string> = {}) {
  // BENCH_SSE_PROFILE=<dir>: the servers (CPU 0) run with --cpu-prof into that directory.
  const profile = PROFILE !== undefined && cpu === 0 ? ["--cpu-prof", `--cpu-prof-dir=${PROFILE}`] : [];
  const node = [process.execPath, "--expose-gc", ...profile, "--import", "tsx", ...args];
  const command = hasTaskset() ? ["taskset", "-c", String(cpu), ...node] : node;
  const proc = spawn("sh", ["-c", 'ulimit -n "$(ulimit -Hn)"; exec "$@"', "sh", ...command], {
    env: { ...process.env, ...env },
    stdio: ["pipe", "pipe", "inherit"],
  });
  let out = "";
  const waiters: { prefix: string; resolve: (rest: string) => void }[] = [];
  const early: string[] = []; // lines that came before anyone waited for them
  proc.stdout?.setEncoding("utf8").on("data", (chunk: string) => {
    out += chunk;
    for (let nl = out.indexOf("\n"); nl >= 0; nl = out.indexOf("\n")) {
      const line = out.slice(0, nl);
      out = out.slice(nl + 1);
      const i = waiters.findIndex((w) => line.startsWith(`${w.prefix} `));
      const waiter = i >= 0 ? waiters.splice(i, 1)[0] : undefined;
      if (waiter) waiter.resolve(line.slice(waiter.prefix.length + 1));
      else early.push(line);
    }
  });
  const exited = new Promise<number | null>((resolve) => proc.once("exit", resolve));
  return {
    proc,
    /** The rest of the next line starting with `prefix `. */
    next(prefix: string, timeoutMs = 300_000): Promise<string> {
      const i = early.findIndex((line) => line.startsWith(`${prefix} `));
      if (i >= 0) return Promise.resolve((early.splice(i, 1)[0] as string).slice(prefix.length + 1));
      return Promise.race([
        new Promise<string>((resolve) => waiters.push({ prefix, resolve })),
        exited.then((code) => Promise.reject(new Error(`${args[0]} exited (${code}) before ${prefix}`))),
        deadline(timeoutMs, `${args[0]}: no ${prefix} in ${timeoutMs} ms`),
      ]);
    },
    send(line: string) {
      proc.stdin?.write(`${line}\n`);
    },
    async stop() {
      if (proc.exitCode !== null) return;
      proc.stdin?.end();
      proc.kill("SIGTERM");
      await Promise.race([exited, deadline(5000, "").catch(() => proc.kill("SIGKILL"))]);
    },
  };
}

interface Measured {
  connectP50: number;
  connectP99: number;
  connectFailures: number;
  rssPerConnection: number;
  latencyP50: number;
  latencyP99: number;
  /** p99 over events of the time the last subscriber got it. */
  broadcastP99: number;
  missing: number;
}

/** The gateway, the bare in-memory SSE server, and the bare server fed by LISTEN/NOTIFY. */
type Kind = "gateway" | "bare" | "notify";

async function measure(
  kind: Kind,
  size: number,
  env: Record<string, string>,
  emit: (url: string, seq: number) => Promise<number>,
  authorization: string | undefined,
  scratch: string,
): Promise<Measured> {
  const server = child(
    0,
    [join(here, kind === "gateway" ? "gateway-server.ts" : "bare-server.ts")],
    kind === "gateway" ? { ...env, ...BUILT_PACKAGES_ENV } : env,
  );
  const outFile = join(scratch, `${kind}-${size}.json`);
  const load: ReturnType<typeof child>[] = [];
  try {
    const base = (await server.next("READY")).trim();
    server.send("RSS");
    const rssBefore = Number(await server.next("RSS"));
    const url = kind === "gateway" ? `${base}/v1/events?topics=custom.*` : `${base}/events`;
    const gen = child(1, [
      join(here, "subscribers.ts"),
      url,
      String(size),
      String(EVENTS),
      outFile,
      ...(authorization ? [authorization] : []),
    ]);
    load.push(gen);
    const connected = JSON.parse(await gen.next("CONNECTED")) as {
      connected: number;
      failures: number;
      p50: number;
      p99: number;
    };
    await sleep(500);
    server.send("RSS");
    const rssAfter = Number(await server.next("RSS"));
    const sent = new Map<number, number>();
    for (let seq = 1; seq <= EVENTS; seq++) {
      sent.set(seq, await emit(base, seq));
      await sleep(SPACING_MS);
    }
    await gen.next("DONE", 60_000);
    const receipts = JSON.parse(await readFile(outFile, "utf8")) as Record<string, number[]>;
    const latencies: number[] = [];
    const lastPerEvent: number[] = [];
    let received = 0;
    for (const [seq, at] of sent) {
      const times = receipts[String(seq)] ?? [];
      received += times.length;
      let last = 0;
      for (const t of times) {
        latencies.push(t - at);
        if (t - at > last) last = t - at;
      }
      lastPerEvent.push(last);
    }
    return {
      connectP50: connected.p50,
      connectP99: connected.p99,
      connectFailures: connected.failures + (size - connected.connected - connected.failures),
      rssPerConnection: (rssAfter - rssBefore) / Math.max(1, connected.connected),
      latencyP50: percentile(latencies, 50),
      latencyP99: percentile(latencies, 99),
      broadcastP99: percentile(lastPerEvent, 99),
      missing: connected.connected * EVENTS - received,
    };
  } finally {
    for (const l of load) await l.stop();
    await server.stop();
  }
}

export default async function run(): Promise<BenchResult> {
  const database = await startBenchDatabase("sse");
  const { runtimeUrl, ownerUrl, dataDir } = database;
  try {
    const db = createDatabase({ url: runtimeUrl, poolSize: 2 });
    const platform = createPlatform({ db });
    const { tenant, apiKey } = await platform.tenants.create(
      { name: "Bench", slug: "bench" },
      { issueKey: true },
    );
    const authorization = `Bearer ${(apiKey as { key: string }).key}`;
    const env = { BENCH_DATABASE_URL: runtimeUrl, BENCH_ADMIN_KEY: randomBytes(32).toString("base64url") };

    const viaOutbox = async (_url: string, seq: number) => {
      await withTenant(db, tenant.id, (trx) => appendEvent(trx, tenant.id, "custom.bench", { seq }));
      return now(); // committed
    };
    // The LISTEN/NOTIFY peer's writer: a row and its notification in one transaction, as a user would.
    const notifier = new pg.Client({ connectionString: ownerUrl });
    await notifier.connect();
    await notifier.query(
      "create table bench_sse_events (id bigint generated always as identity, data jsonb)",
    );
    const viaNotify = async (_url: string, seq: number) => {
      const payload = JSON.stringify({ seq });
      await notifier.query("begin");
      await notifier.query("insert into bench_sse_events (data) values ($1)", [payload]);
      await notifier.query("select pg_notify('bench_sse', $1)", [payload]);
      await notifier.query("commit");
      return now(); // committed
    };
    const viaPost = async (url: string, seq: number) => {
      const at = now();
      await fetch(`${url}/broadcast?seq=${seq}`, { method: "POST" });
      return at;
    };

    const cap = hardFileLimit - 200;
    const rows: BenchRow[] = [];
    const perSize: Record<string, Record<Kind, Measured>> = {};
    const BARE = "node:http SSE, in memory";
    const NOTIFY = "node:http SSE + LISTEN/NOTIFY";
    for (const wanted of SIZES) {
      const size = Math.min(wanted, cap);
      const gateway = await measure("gateway", size, env, viaOutbox, authorization, dataDir);
      const notify = await measure(
        "notify",
        size,
        { ...env, BENCH_SSE_LISTEN_URL: ownerUrl },
        viaNotify,
        undefined,
        dataDir,
      );
      const bare = await measure("bare", size, env, viaPost, undefined, dataDir);
      perSize[size] = { gateway, notify, bare };
      const at = `${size} subscriber${size === 1 ? "" : "s"}`;
      rows.push(
        row(`${at}: commit → delivery p50`, gateway.latencyP50, notify.latencyP50, "ms", { peer: NOTIFY }),
        row(`${at}: commit → delivery p99`, gateway.latencyP99, notify.latencyP99, "ms", { peer: NOTIFY }),
        row(`${at}: delivery p50`, gateway.latencyP50, bare.latencyP50, "ms", { peer: BARE }),
        row(`${at}: delivery p99`, gateway.latencyP99, bare.latencyP99, "ms", {
          peer: BARE,
          target: size === 10_000 ? "<= 1.25x" : undefined,
          note: "gateway: commit → received; bare: POST → received",
        }),
        row(`${at}: last subscriber p99`, gateway.broadcastP99, bare.broadcastP99, "ms", { peer: BARE }),
        row(`${at}: connect → connected p99`, gateway.connectP99, bare.connectP99, "ms", {
          peer: BARE,
          target: size === 10_000 ? "<= 200 ms" : undefined,
        }),
        row(`${at}: missing deliveries`, gateway.missing, bare.missing, "events", {
          peer: BARE,
          target: "0",
          note: `LISTEN/NOTIFY peer ${notify.missing}; connect failures: gateway ${gateway.connectFailures}, bare ${bare.connectFailures}, notify ${notify.connectFailures}`,
        }),
      );
      // Per-connection memory means nothing for a handful of streams.
      if (size >= 100) {
        rows.push(
          row(
            `${at}: RSS per connection`,
            gateway.rssPerConnection / 1024,
            bare.rssPerConnection / 1024,
            "KiB",
            {
              peer: BARE,
              target: size === 10_000 ? "<= 20 KB" : undefined,
            },
          ),
        );
      }
      if (wanted > cap)
        rows.at(-1)!.note += `; capped from ${wanted} by the open-file hard limit (${hardFileLimit})`;
    }
    await notifier.end();
    await db.destroy();
    return {
      name: "sse",
      machine: await machine(runtimeUrl),
      rows,
      context: {
        sizes: SIZES,
        eventsPerSize: EVENTS,
        spacingMs: SPACING_MS,
        openFileHardLimit: hardFileLimit,
        pinned: hasTaskset() ? "server cpu 0, load generator cpu 1" : "not pinned (no taskset)",
        cpus: cpus().length,
        node: process.version,
        perSize,
      },
    };
  } finally {
    await database.stop();
  }
}
