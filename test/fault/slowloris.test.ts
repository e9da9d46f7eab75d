/**
 * Fault: 500 slow clients (slowloris) open connections to `cybernetic serve` and send their request
 * headers one byte at a time, never finishing, while normal clients keep using the API. The normal
 * requests must all succeed (their latency, with and without the slow clients, is reported, not
 * asserted); the slow clients must not be held forever: once the server's header timeout
 * (`HEADERS_TIMEOUT_MS`) has passed each one is answered 408 or closed.
 */
import { randomBytes } from "node:crypto";
import type { Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningCli, startCli } from "../../packages/gateway/test/helpers/run-cli.ts";
import { seedTenant } from "../factories/index.ts";
import { useTestPlatform } from "../setup/database.ts";
import { until } from "../support/until.ts";
import { describeStatuses, Tally } from "./support/load.ts";
import { openRaw, type RawAnswer } from "./support/raw-http.ts";

const SLOW_CLIENTS = 500;
const NORMAL_CLIENTS = 10;
const PHASE_MS = 2_500;
/** The server's header timeout in this test: short, so the test sees it act. */
const HEADERS_TIMEOUT_MS = 8_000;
/** How long past the header timeout a slow client may stay open (the server checks periodically). */
const CLOSE_MARGIN_MS = 15_000;
/** One byte per slow client per this interval. */
const DRIP_MS = 400;

const ctx = useTestPlatform();
let serve: RunningCli;
let url = "";
let key = "";

beforeAll(async () => {
  serve = startCli(["serve", "--no-workers"], {
    ...ctx.database.env,
    DATABASE_OWNER_URL: ctx.database.ownerUrl,
    PORT: "0",
    STORAGE_DRIVER: "memory",
    CYBERNETIC_ADMIN_KEY: randomBytes(32).toString("base64url"),
    RATE_LIMIT_PER_SECOND: "1000000",
    RATE_LIMIT_BURST: "1000000",
    HEADERS_TIMEOUT_MS: String(HEADERS_TIMEOUT_MS),
    LOG_LEVEL: "error",
  });
  url = (await serve.waitFor(/listening on (http:\/\/\S+)/))[1] ?? "";
  key = (await seedTenant(ctx.platform)).apiKey.key;
}, 120_000);

afterAll(async () => {
  await serve?.stop("SIGKILL");
});

/** Latency percentiles of the authenticated reads. */
function latency(t: Tally): string {
  const p = Tally.percentiles(t.outcomes.filter((o) => o.op !== "GET /health"));
  return `p50 ${p.p50} ms, p95 ${p.p95} ms, p99 ${p.p99} ms, max ${p.max} ms`;
}

/** `clients` normal clients for `ms`: authenticated reads and the health check. */
async function normalLoad(tally: Tally, ms: number): Promise<void> {
  const end = performance.now() + ms;
  await Promise.all(
    Array.from({ length: NORMAL_CLIENTS }, async (_, n) => {
      while (performance.now() < end) {
        if (n % 3 === 0) await tally.call(url, "GET /health", "/health");
        else await tally.call(url, "GET /v1/systems/:system", `/v1/systems/${1 + (n % 5)}`, { key });
      }
    }),
  );
}

describe("500 slow clients holding connections (slowloris)", () => {
  it("normal requests keep succeeding; the slow clients are cut by the header timeout", async () => {
    const baseline = new Tally();
    await normalLoad(baseline, PHASE_MS);

    // The slow clients: a request line and one header, then one more byte every DRIP_MS, forever.
    const slow: { socket: Socket; done: Promise<RawAnswer>; closed: boolean }[] = [];
    const openedAt = performance.now();
    for (let i = 0; i < SLOW_CLIENTS; i += 50) {
      const batch = Array.from({ length: Math.min(50, SLOW_CLIENTS - i) }, () => {
        const raw = openRaw(url);
        const entry = { socket: raw.socket, done: raw.done, closed: false };
        raw.done.then(() => {
          entry.closed = true;
        });
        slow.push(entry);
        return raw.connected.then(() =>
          raw.socket.write("GET /health HTTP/1.1\r\nhost: localhost\r\nx-slow: "),
        );
      });
      await Promise.all(batch);
    }
    const drip = setInterval(() => {
      for (const s of slow) if (!s.closed && s.socket.writable) s.socket.write("a");
    }, DRIP_MS);
    try {
      const heldAtStart = slow.filter((s) => !s.closed).length;
      const openingMs = Math.round(performance.now() - openedAt);
      const during = new Tally();
      await normalLoad(during, PHASE_MS);
      const heldAtEnd = slow.filter((s) => !s.closed).length;
      console.log(
        `[fault] slowloris: baseline ${baseline.outcomes.length} requests (${describeStatuses(baseline.byStatus())}), ${latency(baseline)}; ` +
          `with ${heldAtStart} slow clients held (opened in ${openingMs} ms; ${heldAtEnd} still held at the end of the phase): ${during.outcomes.length} requests ` +
          `(${describeStatuses(during.byStatus())}), ${latency(during)}`,
      );
      expect(heldAtStart, "the slow clients were all connected and held").toBe(SLOW_CLIENTS);
      for (const t of [baseline, during]) {
        expect(t.outcomes.length).toBeGreaterThan(0);
        expect(t.outcomes.filter((o) => o.status !== 200)).toEqual([]);
      }

      // Every slow client is answered 408 or closed once the header timeout has passed.
      await until(
        () => slow.every((s) => s.closed),
        "every slow client to be cut",
        HEADERS_TIMEOUT_MS + CLOSE_MARGIN_MS,
      ).catch((error: Error) => {
        throw new Error(
          `${error.message}: ${slow.filter((s) => !s.closed).length} of ${SLOW_CLIENTS} still open ` +
            `${Math.round(performance.now() - openedAt)} ms after they connected (HEADERS_TIMEOUT_MS=${HEADERS_TIMEOUT_MS})`,
        );
      });
      const answers = await Promise.all(slow.map((s) => s.done));
      const cutAfter = answers.map((a) => a.closedAt - openedAt);
      const after = new Tally();
      await normalLoad(after, 1_000);

      const endings: Record<string, number> = {};
      for (const a of answers) {
        const how = a.status !== undefined ? String(a.status) : a.error ? `reset (${a.error})` : "closed";
        endings[how] = (endings[how] ?? 0) + 1;
      }
      console.log(
        `[fault] slowloris: slow clients ended: ${describeStatuses(endings)}, ` +
          `${Math.round(Math.min(...cutAfter))}–${Math.round(Math.max(...cutAfter))} ms after connecting; ` +
          `afterwards ${describeStatuses(after.byStatus())}`,
      );

      expect(after.outcomes.length).toBeGreaterThan(0);
      expect(after.outcomes.filter((o) => o.status !== 200)).toEqual([]);
      // Cut by the server: a 408 in the API's JSON error shape, or the connection closed; never a 2xx.
      expect(answers.filter((a) => a.status !== undefined && a.status !== 408)).toEqual([]);
      for (const a of answers.filter((x) => x.status === 408)) {
        expect(a.received).toMatch(/"code":"validation_failed"/);
      }
    } finally {
      clearInterval(drip);
      for (const s of slow) s.socket.destroy();
    }
  }, 60_000);
});
