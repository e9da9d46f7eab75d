/**
 * Child process of the http benchmark: the baseline, a bare `node:http` server answering with the same
 * bytes as the gateway's `/health` (status, headers, the same JSON). Prints `READY <url>` when listening.
 *
 * BENCH_BARE_HEADERS=object (default) writes headers the idiomatic way, `writeHead(200, { … })`;
 * `array` passes Node's raw `[name, value, …]` list, its fastest path (no header object to walk).
 */
import { randomUUID } from "node:crypto";
import { createServer } from "node:http";

const started = performance.now();
const security = [
  ["x-content-type-options", "nosniff"],
  ["x-frame-options", "DENY"],
  ["content-security-policy", "default-src 'none'; frame-ancestors 'none'"],
  ["referrer-policy", "no-referrer"],
  ["cross-origin-opener-policy", "same-origin"],
  ["cache-control", "no-store"],
].flat();

const asObject = process.env.BENCH_BARE_HEADERS !== "array";
const securityObject = Object.fromEntries(
  (security as string[]).flatMap((v, i, all) => (i % 2 === 0 ? [[v, all[i + 1] as string]] : [])),
);

const server = createServer((_req, res) => {
  const body = JSON.stringify({
    status: "ok",
    uptimeSeconds: Math.round(performance.now() - started) / 1000,
  });
  if (asObject) {
    res.writeHead(200, {
      ...securityObject,
      "x-request-id": randomUUID(),
      "content-type": "application/json; charset=utf-8",
      "content-length": Buffer.byteLength(body),
    });
  } else {
    res.writeHead(200, [
      ...security,
      "x-request-id",
      randomUUID(),
      "content-type",
      "application/json; charset=utf-8",
      "content-length",
      String(Buffer.byteLength(body)),
    ]);
  }
  res.end(body);
});
server.listen(0, "127.0.0.1", () => {
  const address = server.address();
  if (address && typeof address === "object")
    process.stdout.write(`READY http://127.0.0.1:${address.port}\n`);
});
process.on("SIGTERM", () => server.close(() => process.exit(0)));
