/**
 * Child process of the telegram benchmark: the baseline, a bare `node:http` handler that does what any
 * webhook must (read the body, parse it as JSON, compare the secret token) and answers 200 with the
 * gateway's body, without storing anything. Prints `READY <url>`.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import { createServer } from "node:http";

const secret = createHash("sha256")
  .update(process.env.BENCH_WEBHOOK_SECRET ?? "")
  .digest();
const answer = JSON.stringify({ ok: true, outcome: "queued" });

const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on("data", (chunk: Buffer) => chunks.push(chunk));
  req.on("end", () => {
    const presented = createHash("sha256")
      .update(String(req.headers["x-telegram-bot-api-secret-token"] ?? ""))
      .digest();
    let status = 200;
    try {
      const update = JSON.parse(Buffer.concat(chunks).toString("utf8")) as { update_id?: unknown };
      if (!Number.isInteger(update.update_id)) status = 400;
    } catch {
      status = 400;
    }
    if (!timingSafeEqual(presented, secret)) status = 401;
    res.writeHead(status, {
      "content-type": "application/json; charset=utf-8",
      "content-length": Buffer.byteLength(answer),
    });
    res.end(answer);
  });
});
server.listen(0, "127.0.0.1", () => {
  const address = server.address();
  if (address && typeof address === "object")
    process.stdout.write(`READY http://127.0.0.1:${address.port}\n`);
});
process.on("SIGTERM", () => server.close(() => process.exit(0)));
