/**
 * Fault: `cybernetic serve` (a child process, workers included) gets SIGTERM while slow uploads trickle
 * in, readers keep reading, and 50 requests were sent just before the signal. Nothing sent before the
 * signal may be reset: the 50 are answered, the uploads complete and are stored whole, the reads in
 * flight finish; the process exits 0 within SHUTDOWN_TIMEOUT_MS (plus a generous margin for the process
 * itself to end).
 */
import { createHash, randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createPlatform } from "../../packages/core/src/index.ts";
import { type RunningCli, startCli } from "../../packages/gateway/test/helpers/run-cli.ts";
import { createLocalStorage, type StorageAdapter } from "../../packages/storage/src/index.ts";
import { seedTenant } from "../factories/index.ts";
import { useTestPlatform } from "../setup/database.ts";
import { describeStatuses, Tally } from "./support/load.ts";
import { jsonOf, readyGet, slowPut } from "./support/raw-http.ts";

const SHUTDOWN_TIMEOUT_MS = 6_000;
const SHUTDOWN_DRAIN_MS = 500;
/** For the process to exit once the gateway stopped (workers, pools, the runtime itself). */
const EXIT_MARGIN_MS = 4_000;
const UPLOADS = 4;
const JUST_BEFORE = 50;
const READERS = 10;

const ctx = useTestPlatform();
let root = "";
let storage: StorageAdapter;
let serve: RunningCli;
let url = "";

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "cybernetic-fault-drain-"));
  serve = startCli(["serve"], {
    ...ctx.database.env,
    DATABASE_OWNER_URL: ctx.database.ownerUrl,
    PORT: "0",
    STORAGE_DRIVER: "local",
    STORAGE_LOCAL_ROOT: root,
    CYBERNETIC_ADMIN_KEY: randomBytes(32).toString("base64url"),
    SHUTDOWN_TIMEOUT_MS: String(SHUTDOWN_TIMEOUT_MS),
    SHUTDOWN_DRAIN_MS: String(SHUTDOWN_DRAIN_MS),
    RATE_LIMIT_PER_SECOND: "1000000",
    RATE_LIMIT_BURST: "1000000",
    LOG_LEVEL: "warn",
  });
  url = (await serve.waitFor(/listening on (http:\/\/\S+)/))[1] ?? "";
  storage = await createLocalStorage({ root });
}, 120_000);

afterAll(async () => {
  await serve?.stop("SIGKILL");
  await storage?.close?.();
  await rm(root, { recursive: true, force: true });
});

describe("SIGTERM with slow uploads, reads and fresh requests in flight", () => {
  it("answers everything sent before the signal and exits 0 within the shutdown timeout", async () => {
    const { tenant, apiKey } = await seedTenant(ctx.platform);
    const key = apiKey.key;
    expect((await fetch(`${url}/ready`)).status).toBe(200);

    // Uploads of 256 KiB arriving over about 3 s each.
    const uploads = Array.from({ length: UPLOADS }, (_, n) =>
      slowPut(url, `/v1/artifacts/slow/upload-${n}.bin`, {
        key,
        size: 256 * 1024,
        chunks: 24,
        intervalMs: 125,
        fill: 0x41 + n,
      }),
    );
    // Readers reading until the server is gone.
    const reads = new Tally();
    let reading = true;
    const readers = Array.from({ length: READERS }, async (_, n) => {
      while (reading) {
        const answer = await reads.call(
          url,
          n % 2 ? "GET /v1/episodes" : "GET /v1/systems/:system",
          n % 2 ? "/v1/episodes?limit=5" : "/v1/systems/3",
          { key },
          15_000,
        );
        if (answer === undefined) await new Promise((r) => setTimeout(r, 20));
      }
    });
    await new Promise((r) => setTimeout(r, 700));

    // 50 connections opened (the kernel has completed their handshakes), then their requests written
    // all at once and the signal sent straight after: some are still in the accept queue when it lands.
    const ready = await Promise.all(
      Array.from({ length: JUST_BEFORE }, (_, n) =>
        readyGet(url, n % 2 ? "/health" : "/v1/systems/1", { authorization: `Bearer ${key}` }),
      ),
    );
    for (const r of ready) r.send();
    const signalAt = performance.now();
    const exited = serve.stop("SIGTERM");
    const code = await exited;
    const exitMs = Math.round(performance.now() - signalAt);
    reading = false;
    await Promise.all(readers);
    const answers = await Promise.all(ready.map((r) => r.done));
    const uploaded = await Promise.all(uploads);

    const before = reads.outcomes.filter((o) => o.sentAt < signalAt);
    const after = reads.outcomes.filter((o) => o.sentAt >= signalAt);
    const readsInFlight = before.filter((o) => o.endedAt > signalAt);
    const tally = new Tally();
    console.log(
      `[fault] sigterm-drain: exit ${code} ${exitMs} ms after SIGTERM (SHUTDOWN_TIMEOUT_MS ${SHUTDOWN_TIMEOUT_MS}, ` +
        `SHUTDOWN_DRAIN_MS ${SHUTDOWN_DRAIN_MS}); ${JUST_BEFORE} sent just before: ` +
        `${describeStatuses(countBy(answers.map((a) => (a.status === undefined ? `reset (${a.error ?? "closed"})` : String(a.status)))))}; ` +
        `uploads: ${uploaded.map((u) => `${u.answer.status ?? u.answer.error ?? "closed"} ${Math.round(u.answer.closedAt - signalAt)} ms after`).join(", ")}; ` +
        `reads sent before: ${describeStatuses(tally.byStatus(before))} (${readsInFlight.length} in flight at the signal); ` +
        `reads sent after: ${describeStatuses(countBy(after.map((o) => (o.status === "network" ? `network ${o.code}` : String(o.status)))))}`,
    );

    expect(code, serve.output().stderr).toBe(0);
    expect(exitMs, "exit within SHUTDOWN_TIMEOUT_MS plus a margin").toBeLessThan(
      SHUTDOWN_TIMEOUT_MS + EXIT_MARGIN_MS,
    );
    expect(answers.filter((a) => a.status !== 200).map((a) => a.error ?? a.received.slice(0, 60))).toEqual(
      [],
    );
    // The reads sent before the signal were all answered, none reset.
    expect(before.filter((o) => o.status !== 200)).toEqual([]);
    // After the signal: answered (while draining) or refused once the listener closed; never a 500.
    expect(after.filter((o) => typeof o.status === "number" && o.status >= 500 && o.status !== 503)).toEqual(
      [],
    );
    // The uploads were in flight at the signal, completed, and were stored whole.
    expect(uploaded.filter((u) => u.answer.closedAt < signalAt)).toEqual([]);
    const artifacts = createPlatform({ db: ctx.db, storage }).artifacts;
    if (artifacts === undefined) throw new Error("the platform has no artifact service");
    for (const [n, { answer, body }] of uploaded.entries()) {
      expect(answer.status, answer.received.slice(0, 300)).toBe(201);
      const sha256 = createHash("sha256").update(body).digest("hex");
      expect(jsonOf(answer)).toMatchObject({ size: body.length, sha256 });
      const got = await artifacts.get(tenant.id, `slow/upload-${n}.bin`);
      const stored = createHash("sha256");
      for await (const chunk of got.body) stored.update(chunk as Buffer);
      expect(stored.digest("hex")).toBe(sha256);
    }
    const lines = serve
      .output()
      .stdout.split("\n")
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { level: number; msg: string });
    expect(
      lines.filter((l) => l.level >= 50),
      "no error-level log line while stopping",
    ).toEqual([]);
  }, 60_000);
});

function countBy(values: readonly string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const v of values) out[v] = (out[v] ?? 0) + 1;
  return out;
}
