/**
 * Child process of the http benchmark: the real gateway (whole middleware stack: request id, access log
 * at info, auth with the key cache, rate limit, body limits, CORS, security headers, metrics) on a
 * loopback port. Access-log lines go to /dev/null through pino's buffered destination, so formatting is
 * measured but the terminal is not. The process is set up as `cybernetic serve` sets up its own
 * (`tuneRuntimeForServing`). Prints `READY <url>` when listening.
 */
import { createDatabase, createPlatform } from "@cybernetic/core";
import { createGateway, createLogger, tuneRuntimeForServing } from "@cybernetic/gateway";

tuneRuntimeForServing();

const url = process.env.BENCH_DATABASE_URL;
if (!url) throw new Error("BENCH_DATABASE_URL is required");
const db = createDatabase({ url, poolSize: 10 });
const gateway = createGateway({
  platform: createPlatform({ db }),
  // BENCH_GATEWAY_LOG_LEVEL=warn turns the access log off (the fastify peer runs with logging off).
  logger: createLogger({
    level: process.env.BENCH_GATEWAY_LOG_LEVEL === "warn" ? "warn" : "info",
    destination: "/dev/null",
  }),
  config: {
    adminKey: process.env.BENCH_ADMIN_KEY,
    corsOrigins: ["https://app.example.com"],
    // The load generator sends every request with one key; the limiter still runs on each request.
    rateLimit: { perSecond: 1_000_000, burst: 1_000_000 },
  },
});
const server = await gateway.serve({ port: 0, host: "127.0.0.1" });
process.stdout.write(`READY ${server.url}\n`);
process.on("SIGTERM", async () => {
  await server.close({ timeoutMs: 1000 });
  await db.destroy();
  process.exit(0);
});
