/**
 * A JSON-lines logger that satisfies core's `Logger` interface. Your app probably has one already (pino's
 * satisfies the interface as it is); hand yours to `startHostApp({ logger })` instead.
 */
import type { Logger } from "@cybernetic/core";

/** Levels, least severe first; `silent` logs nothing. */
export const logLevels = ["debug", "info", "warn", "error", "silent"] as const;
/** One of `logLevels`. */
export type LogLevel = (typeof logLevels)[number];

/** Errors become `{ name, message, code }`: `JSON.stringify` would turn them into `{}`. */
function serialisable(fields: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(fields)) {
    out[key] =
      value instanceof Error
        ? {
            name: value.name,
            message: value.message,
            code: (value as { code?: unknown }).code,
            stack: value.stack,
          }
        : value;
  }
  return out;
}

/**
 * A logger writing one JSON object per line (`level`, `time`, `msg` and the fields) to `write`.
 *
 * @example
 * ```ts
 * const logger = createJsonLogger("info");
 * logger.info({ url }, "listening"); // {"level":"info","time":"…","msg":"listening","url":"…"}
 * ```
 */
export function createJsonLogger(
  level: LogLevel,
  write: (line: string) => void = (line) => process.stdout.write(line),
  bound: Record<string, unknown> = {},
): Logger {
  const threshold = logLevels.indexOf(level);
  const at =
    (name: Exclude<LogLevel, "silent">) =>
    (fields: Record<string, unknown>, msg?: string): void => {
      if (logLevels.indexOf(name) < threshold) return;
      const entry = { level: name, time: new Date().toISOString(), msg, ...bound, ...serialisable(fields) };
      write(`${JSON.stringify(entry)}\n`);
    };
  return {
    debug: at("debug"),
    info: at("info"),
    warn: at("warn"),
    error: at("error"),
    child: (fields) => createJsonLogger(level, write, { ...bound, ...fields }),
  };
}
