/** The gateway's logger: an error wrapped in another with the same message is logged once, not twice. */
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { until } from "../../../test/support/until.ts";
import { PermanentJobError } from "../../workers/src/index.ts";
import { NotificationError } from "../../workers/src/notify/notification-error.ts";
import { createLogger } from "../src/index.ts";
import { flushed } from "../src/logger.ts";

const dir = await mkdtemp(join(tmpdir(), "cybernetic-log-"));
afterAll(() => rm(dir, { recursive: true, force: true }));

async function logged(error: Error): Promise<{ msg: string; err: { message: string; stack: string } }> {
  const file = join(dir, `${Math.random().toString(36).slice(2)}.log`);
  const logger = createLogger({ destination: file, sync: true });
  logger.error({ err: error }, "job failed permanently; dead-lettered");
  logger.flush();
  return JSON.parse((await readFile(file, "utf8")).trim());
}

describe("createLogger's err serializer", () => {
  it("does not repeat a message its cause already said (the job error around a delivery error)", async () => {
    const delivery = new NotificationError("not_configured", "the tenant has no webhookSecret to sign with", {
      retryable: false,
    });
    const line = await logged(new PermanentJobError(delivery.message, { cause: delivery }));
    expect(line.err.message).toBe("the tenant has no webhookSecret to sign with");
    expect(line.err.stack).toContain("caused by:");
  });

  it("still chains causes that add something", async () => {
    const inner = new Error("ECONNREFUSED 127.0.0.1:1");
    const line = await logged(new Error("telegram sendMessage failed", { cause: inner }));
    expect(line.err.message).toBe("telegram sendMessage failed: ECONNREFUSED 127.0.0.1:1");
  });
});

describe("createLogger's buffered destination", () => {
  it("writes a quiet server's single line within the flush interval, without flush()", async () => {
    const file = join(dir, "quiet.log");
    const logger = createLogger({ destination: file, flushIntervalMs: 50 });
    logger.info({ requestId: "r1" }, "one line");
    const line = await until(async () => {
      const text = await readFile(file, "utf8").catch(() => "");
      return text.includes("one line") ? text : undefined;
    }, "the buffered line");
    expect(JSON.parse(line.trim())).toMatchObject({ msg: "one line", requestId: "r1", level: "info" });
  });

  it("keeps an access-log line before a line logged after it (the batch drains first)", async () => {
    const file = join(dir, "ordered.log");
    const logger = createLogger({ destination: file });
    const raw = (logger as unknown as Record<symbol, (line: string) => void>)[
      Symbol.for("cybernetic.logger.rawWriter")
    ];
    raw?.(`${JSON.stringify({ level: "info", msg: "request" })}\n`);
    logger.info({}, "stopped");
    await flushed(logger);
    const lines = (await readFile(file, "utf8")).trim().split("\n");
    expect(lines.map((l) => (JSON.parse(l) as { msg: string }).msg)).toEqual(["request", "stopped"]);
  });

  it("keeps a busy server's lines, in order, across its 16 KiB writes", async () => {
    const file = join(dir, "busy.log");
    const logger = createLogger({ destination: file });
    for (let i = 0; i < 2_000; i++) logger.info({ i }, "request");
    await new Promise<void>((resolve, reject) =>
      logger.flush((error) => (error ? reject(error) : resolve())),
    );
    const lines = (await readFile(file, "utf8")).trim().split("\n");
    expect(lines.map((l) => (JSON.parse(l) as { i: number }).i)).toEqual(
      Array.from({ length: 2_000 }, (_, i) => i),
    );
  });
});
