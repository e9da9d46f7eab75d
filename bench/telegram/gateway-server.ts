/**
 * Child process of the telegram benchmark: the real gateway with a real pg-boss job queue (no workers:
 * only the acknowledgement is measured), serving `POST /telegram/webhook` for the tenant `bench`.
 * Access-log lines go to /dev/null through pino's buffered destination. Prints `READY <url>`.
 */
import { createDatabase, createPlatform } from "@cybernetic/core";
import { createGateway, createLogger } from "@cybernetic/gateway";
import { createJobQueue } from "@cybernetic/workers";

const url = process.env.BENCH_DATABASE_URL;
const secret = process.env.BENCH_WEBHOOK_SECRET;
if (!url || !secret) throw new Error("BENCH_DATABASE_URL and BENCH_WEBHOOK_SECRET are required");
const db = createDatabase({ url, poolSize: 10 });
const queue = createJobQueue({ connectionString: url, poolSize: 4 });
await queue.start();
const gateway = createGateway({
  platform: createPlatform({ db, queue }),
  queue,
  logger: createLogger({ level: "info", destination: "/dev/null" }),
  config: { telegram: { tenant: "bench", webhookSecret: secret } },
});
const server = await gateway.serve({ port: 0, host: "127.0.0.1" });
process.stdout.write(`READY ${server.url}\n`);
process.on("SIGTERM", async () => {
  await server.close({ timeoutMs: 1000 });
  await queue.stop({ graceful: false });
  await db.destroy();
  process.exit(0);
});
