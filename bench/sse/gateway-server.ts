/**
 * Child process of the sse benchmark: the real gateway serving `GET /v1/events` (whole middleware stack,
 * auth with the key cache, the SSE hub over one event bus with its own LISTEN connection). Prints
 * `READY <url>` when listening; answers `RSS` on stdin with `RSS <bytes>` after a GC.
 */
import { createInterface } from "node:readline";
import { createDatabase, createEventBus, createPlatform } from "@cybernetic/core";
import { createGateway, createLogger } from "@cybernetic/gateway";

const url = process.env.BENCH_DATABASE_URL;
if (!url) throw new Error("BENCH_DATABASE_URL is required");
const db = createDatabase({ url, poolSize: 10 });
const bus = createEventBus({ db, listenUrl: url });
await bus.start();
const gateway = createGateway({
  platform: createPlatform({ db }),
  bus,
  logger: createLogger({ level: "info", destination: "/dev/null" }),
  config: {
    adminKey: process.env.BENCH_ADMIN_KEY,
    // One key opens every stream; the limiter still runs on each request.
    rateLimit: { perSecond: 1_000_000, burst: 1_000_000 },
    events: { maxConnectionsPerTenant: 1_000_000, heartbeatMs: 15_000 },
  },
});
const server = await gateway.serve({ port: 0, host: "127.0.0.1" });
process.stdout.write(`READY ${server.url}\n`);

createInterface({ input: process.stdin }).on("line", (line) => {
  if (line.trim() !== "RSS") return;
  globalThis.gc?.();
  process.stdout.write(`RSS ${process.memoryUsage.rss()}\n`);
});
process.on("SIGTERM", async () => {
  await server.close({ timeoutMs: 2000 });
  await bus.stop();
  await db.destroy();
  process.exit(0);
});
