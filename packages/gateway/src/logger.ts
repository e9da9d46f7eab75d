import pino from "pino";
import type { LogLevel } from "./config.js";
import { serializeError } from "./internal/serialize-error.js";
import { RAW_WRITER } from "./middleware/access-log.js";

/** Options of `createLogger`. */
export interface CreateLoggerOptions {
  level?: LogLevel;
  /**
   * Where lines go: a file descriptor (default 1, stdout) or a path. Writes are buffered and
   * asynchronous: written once 16 KiB have gathered, at the latest `flushIntervalMs` after a line, and
   * on `flush()`; so logging a request costs no system call of its own.
   */
  destination?: number | string;
  /** Write synchronously (tests that read the output at once). */
  sync?: boolean;
  /** The longest a buffered line waits before it is written, in ms (at least 1). Default 200. */
  flushIntervalMs?: number;
}

/**
 * Buffered bytes that trigger a write. At 4 KiB (pino's usual setting) the access log of a busy gateway
 * made one write system call every dozen requests, a tenth of its CPU on `/health`.
 */
const WRITE_AT_BYTES = 16_384;

/**
 * The gateway's structured JSON logger (pino). It satisfies core's `Logger`, so it is handed to every
 * package. Call `logger.flush()` before the process exits.
 *
 * @example
 * ```ts
 * const logger = createLogger({ level: "info" });
 * logger.info({ requestId }, "request");
 * ```
 */
export function createLogger(options: CreateLoggerOptions = {}): pino.Logger {
  const destination = pino.destination({
    dest: options.destination ?? 1,
    sync: options.sync ?? false,
    ...(options.sync
      ? { minLength: 0 }
      : {
          minLength: WRITE_AT_BYTES,
          maxWrite: 4 * WRITE_AT_BYTES,
          // Without it a quiet server's lines would wait for the buffer to fill.
          periodicFlush: Math.max(1, options.flushIntervalMs ?? 200),
        }),
  });
  // The access log hands its (pre-escaped) lines to a batch that reaches the destination once per
  // event-loop turn: one destination write costs about 2 µs whatever its length, a string append almost
  // nothing. Every other line drains the batch first, so lines keep the order they were logged in, and
  // `flush()` drains it too, so nothing is lost at shutdown.
  let batch = "";
  let scheduled = false;
  const drain = () => {
    scheduled = false;
    if (batch === "") return;
    const out = batch;
    batch = "";
    destination.write(out);
  };
  const logger = pino(
    {
      level: options.level ?? "info",
      base: { service: "cybernetic" },
      formatters: { level: (label) => ({ level: label }) },
      serializers: { err: serializeError },
      hooks: {
        streamWrite(line) {
          drain();
          return line;
        },
      },
    },
    destination,
  );
  const raw = options.sync
    ? (line: string) => destination.write(line)
    : (line: string) => {
        batch += line;
        if (batch.length >= 65_536) drain();
        else if (!scheduled) {
          scheduled = true;
          setImmediate(drain);
        }
      };
  Object.defineProperty(logger, RAW_WRITER, { value: raw });
  const flush = logger.flush.bind(logger);
  Object.defineProperty(logger, "flush", {
    value: (callback?: (error?: Error) => void) => {
      drain();
      flush(callback);
    },
  });
  return logger;
}

/**
 * Resolves once everything `logger` has buffered is written (or the write failed, or `timeoutMs` passed):
 * what a command awaits before it returns and the process exits, so its last lines are not lost.
 */
export function flushed(logger: pino.Logger, timeoutMs = 2_000): Promise<void> {
  return new Promise((resolve) => {
    // A destination that never drains (a stalled pipe) must not keep the process from exiting.
    const timer = setTimeout(resolve, timeoutMs);
    timer.unref();
    logger.flush(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}
