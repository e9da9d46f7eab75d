/**
 * Child process of the sse benchmark: the load generator. Opens `count` SSE streams to `url` (in waves
 * of `WAVE` concurrent connects, so the listen backlog is not what is measured), parses every stream with
 * eventsource-parser, and records when each `custom.bench` event (by its `data.seq`) reached each stream.
 *
 * Protocol on stdout: `CONNECTED <json>` once every stream got its `connected` event (connect →
 * `connected` latencies), then, after `events` events reached every stream or `IDLE_MS` passed without
 * one, the receipts are written to `outFile` ({ seq: receive times }) and `DONE <json>` is printed.
 * Times are `performance.timeOrigin + performance.now()`, comparable across processes.
 *
 * Usage: subscribers.ts <url> <count> <events> <outFile> [authorization]
 */
import { writeFileSync } from "node:fs";
import { type ClientRequest, request } from "node:http";
import { createParser } from "eventsource-parser";

const [url, countArg, eventsArg, outFile, authorization] = process.argv.slice(2);
if (!url || !countArg || !eventsArg || !outFile)
  throw new Error("usage: <url> <count> <events> <outFile> [auth]");
const count = Number(countArg);
const events = Number(eventsArg);
const WAVE = 200;
const IDLE_MS = 10_000;
const now = () => performance.timeOrigin + performance.now();

const receipts = new Map<number, number[]>();
const connectMs: number[] = [];
const requests: ClientRequest[] = [];
let received = 0;
let failures = 0;
let lastReceipt = now();

function open(): Promise<void> {
  return new Promise((resolve) => {
    const started = now();
    let connected = false;
    const req = request(
      url as string,
      { agent: false, headers: { accept: "text/event-stream", ...(authorization ? { authorization } : {}) } },
      (res) => {
        if (res.statusCode !== 200) {
          failures++;
          res.resume();
          resolve();
          return;
        }
        const parser = createParser({
          onEvent(event) {
            if (event.event === "connected") {
              if (!connected) connectMs.push(now() - started);
              connected = true;
              resolve();
              return;
            }
            if (event.event !== "custom.bench") return;
            const at = now();
            const seq = (JSON.parse(event.data) as { data: { seq: number } }).data.seq;
            const list = receipts.get(seq);
            if (list === undefined) receipts.set(seq, [at]);
            else list.push(at);
            received++;
            lastReceipt = at;
          },
        });
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => parser.feed(chunk));
      },
    );
    req.on("error", () => {
      failures++;
      resolve();
    });
    req.end();
    requests.push(req);
  });
}

for (let opened = 0; opened < count; opened += WAVE) {
  await Promise.all(Array.from({ length: Math.min(WAVE, count - opened) }, open));
}
const sorted = [...connectMs].sort((a, b) => a - b);
const pct = (p: number) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? 0;
process.stdout.write(
  `CONNECTED ${JSON.stringify({ connected: connectMs.length, failures, p50: pct(50), p99: pct(99), max: sorted.at(-1) ?? 0 })}\n`,
);

const expected = connectMs.length * events;
await new Promise<void>((resolve) => {
  const timer = setInterval(() => {
    if (received >= expected || now() - lastReceipt > IDLE_MS) {
      clearInterval(timer);
      resolve();
    }
  }, 50);
  lastReceipt = now();
});
writeFileSync(outFile, JSON.stringify(Object.fromEntries(receipts)));
process.stdout.write(`DONE ${JSON.stringify({ received, expected })}\n`);
process.stdin.resume();
process.stdin.on("end", () => {
  for (const req of requests) req.destroy();
  process.exit(0);
});
