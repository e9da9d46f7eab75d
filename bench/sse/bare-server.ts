/**
 * Child process of the sse benchmark: the baseline, a bare `node:http` SSE server. It answers every
 * request with the gateway's stream headers and a `connected` frame, keeps the sockets in an array, and on
 * `POST /broadcast?seq=` encodes one event frame (the same shape and size as the gateway's) and writes the
 * same bytes to every socket: the least any SSE server can do. With BENCH_SSE_LISTEN_URL it is instead the
 * bare LISTEN/NOTIFY peer: one connection LISTENs on `bench_sse` and every notification (payload
 * `{"seq":n}`, sent by a committing transaction) is broadcast the same way. Prints `READY <url>`; answers
 * `RSS` on stdin with `RSS <bytes>` after a GC.
 */
import { randomUUID } from "node:crypto";
import { createServer, type ServerResponse } from "node:http";
import { createInterface } from "node:readline";
import pg from "pg";

const tenantId = randomUUID();
const streams = new Set<ServerResponse>();
let nextId = 1;

/** Encodes one event frame and writes the same bytes to every stream. */
function broadcast(seq: number): void {
  const event = {
    id: String(nextId++),
    type: "custom.bench",
    tenantId,
    occurredAt: new Date().toISOString(),
    data: { seq },
  };
  const frame = Buffer.from(`id: ${event.id}\nevent: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`);
  for (const stream of streams) stream.write(frame);
}

const listenUrl = process.env.BENCH_SSE_LISTEN_URL;
const listener = listenUrl ? new pg.Client({ connectionString: listenUrl }) : undefined;
if (listener) {
  await listener.connect();
  listener.on("notification", (message) => {
    broadcast((JSON.parse(message.payload ?? "{}") as { seq: number }).seq);
  });
  await listener.query("listen bench_sse");
}

const server = createServer((req, res) => {
  if (req.method === "POST" && req.url?.startsWith("/broadcast")) {
    broadcast(Number(new URL(req.url, "http://x").searchParams.get("seq")));
    res.writeHead(204).end();
    return;
  }
  res.writeHead(200, [
    "x-request-id",
    randomUUID(),
    "content-type",
    "text/event-stream; charset=utf-8",
    "cache-control",
    "no-cache",
    "x-accel-buffering",
    "no",
  ]);
  res.write(
    `retry: 2000\nevent: connected\ndata: ${JSON.stringify({ topics: ["*"], serverTime: new Date().toISOString(), heartbeatMs: 15000, retryMs: 2000, cursor: "0" })}\n\n`,
  );
  streams.add(res);
  res.once("close", () => streams.delete(res));
});
server.listen(0, "127.0.0.1", () => {
  const address = server.address();
  if (address && typeof address === "object")
    process.stdout.write(`READY http://127.0.0.1:${address.port}\n`);
});
createInterface({ input: process.stdin }).on("line", (line) => {
  if (line.trim() !== "RSS") return;
  globalThis.gc?.();
  process.stdout.write(`RSS ${process.memoryUsage.rss()}\n`);
});
process.on("SIGTERM", () => {
  for (const stream of streams) stream.destroy();
  void listener?.end();
  server.close(() => process.exit(0));
});
