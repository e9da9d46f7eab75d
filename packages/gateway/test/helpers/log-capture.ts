import { Writable } from "node:stream";
import pino from "pino";

/**
 * A real pino logger whose JSON lines are parsed into `lines`, for tests that assert on what the gateway
 * logged (access log lines, warnings).
 */
export function captureLogs(level: pino.Level = "info"): {
  logger: pino.Logger;
  lines: Record<string, unknown>[];
} {
  const lines: Record<string, unknown>[] = [];
  const logger = pino(
    { level },
    new Writable({
      write(chunk, _encoding, callback) {
        for (const line of String(chunk).split("\n")) if (line) lines.push(JSON.parse(line));
        callback();
      },
    }),
  );
  return { logger, lines };
}
