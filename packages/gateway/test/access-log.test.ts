/** The hand-assembled access-log line is exactly what pino would write for the same fields. */
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { createLogger } from "../src/index.ts";
import { createAccessLog } from "../src/middleware/access-log.ts";

describe("createAccessLog", () => {
  it("writes pino's shape, bindings included, and honours the level", async () => {
    const dir = await mkdtemp(join(tmpdir(), "cyb-log-"));
    try {
      const file = join(dir, "log.jsonl");
      const logger = createLogger({ level: "info", destination: file, sync: true }).child({
        component: "http",
      });
      const entry = {
        requestId: "req-1",
        tenantId: "5f0c8a9e-2b1d-4c3e-9f00-0a1b2c3d4e5f",
        keyId: "6f0c8a9e-2b1d-4c3e-9f00-0a1b2c3d4e5f",
        method: "GET",
        route: "/v1/episodes/:id",
        status: 200,
        durationMs: 1.25,
      };
      createAccessLog(logger)(entry);
      logger.info({ ...entry }, "request");
      createAccessLog(logger)({ ...entry, tenantId: undefined, keyId: undefined, route: "/health" });
      logger.level = "warn";
      createAccessLog(logger)(entry);
      const lines = (await readFile(file, "utf8"))
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l) as Record<string, unknown>);
      expect(lines).toHaveLength(3);
      const [fast, viaPino, anonymous] = lines;
      const { time: t1, ...a } = fast as Record<string, unknown>;
      const { time: t2, ...b } = viaPino as Record<string, unknown>;
      expect(a).toEqual(b);
      expect(Object.keys(fast as object)).toEqual(Object.keys(viaPino as object));
      expect(typeof t1).toBe(typeof t2);
      expect(a).toMatchObject({ level: "info", service: "cybernetic", component: "http", msg: "request" });
      expect(anonymous).not.toHaveProperty("tenantId");
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
