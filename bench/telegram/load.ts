/**
 * Child process of the telegram benchmark: an open-loop load generator. It sends one update every
 * 1000/rate ms for the given seconds, whether or not earlier ones were answered (Telegram does not wait
 * for a slow webhook either: it retries), over keep-alive connections, and measures each
 * acknowledgement from the moment its request was due. Prints one JSON line: the latencies (ms) and
 * the answers by status and outcome.
 */
import { Agent, request } from "node:http";

const [url, secret, seconds, rate, firstUpdate, chats] = process.argv.slice(2);
if (!url || !secret)
  throw new Error("usage: load.ts <webhook url> <secret> <seconds> <rate> <first id> <chats>");
const target = new URL(url);
const agent = new Agent({ keepAlive: true, maxSockets: 64 });
const total = Math.round(Number(seconds ?? 10) * Number(rate ?? 200));
const interval = 1000 / Number(rate ?? 200);
const chatCount = Number(chats ?? 1000);
let nextId = Number(firstUpdate ?? 1);

const latencies: number[] = [];
const statuses: Record<string, number> = {};
const outcomes: Record<string, number> = {};
let errors = 0;

function send(due: number): Promise<void> {
  const id = nextId++;
  const chat = 10_000 + (id % chatCount);
  const body = JSON.stringify({
    update_id: id,
    message: {
      message_id: id,
      date: Math.floor(Date.now() / 1000),
      chat: { id: chat, type: "private", first_name: "Bench" },
      from: { id: chat, is_bot: false, first_name: "Bench" },
      text: `Report ${id}: the packaging line stopped twice tonight; maintenance restarted it.`,
    },
  });
  return new Promise((resolve) => {
    const req = request(
      {
        agent,
        host: target.hostname,
        port: target.port,
        path: target.pathname,
        method: "POST",
        headers: {
          "content-type": "application/json",
          "content-length": Buffer.byteLength(body),
          "x-telegram-bot-api-secret-token": secret,
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          latencies.push(performance.now() - due);
          statuses[String(res.statusCode)] = (statuses[String(res.statusCode)] ?? 0) + 1;
          try {
            const outcome = String(
              (JSON.parse(Buffer.concat(chunks).toString()) as { outcome?: string }).outcome,
            );
            outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
          } catch {
            outcomes.unparsed = (outcomes.unparsed ?? 0) + 1;
          }
          resolve();
        });
      },
    );
    req.on("error", () => {
      errors++;
      resolve();
    });
    req.end(body);
  });
}

const start = performance.now() + 50;
const pending: Promise<void>[] = [];
for (let i = 0; i < total; i++) {
  const due = start + i * interval;
  const wait = due - performance.now();
  if (wait > 0.5) await new Promise((r) => setTimeout(r, wait));
  pending.push(send(due));
}
await Promise.all(pending);
agent.destroy();
process.stdout.write(`${JSON.stringify({ latencies, statuses, outcomes, errors, sent: total })}\n`);
