/**
 * The logging interface every package accepts. pino's `Logger` satisfies it, so does a thin wrapper over
 * `console`. Structured: the first argument is an object of fields, the second the message.
 */
export interface Logger {
  debug(fields: Record<string, unknown>, message?: string): void;
  info(fields: Record<string, unknown>, message?: string): void;
  warn(fields: Record<string, unknown>, message?: string): void;
  error(fields: Record<string, unknown>, message?: string): void;
  child?(fields: Record<string, unknown>): Logger;
}

/**
 * A logger that drops everything; the default when none is given.
 *
 * @example
 * ```ts
 * createPlatform({ db, logger: silentLogger });
 * ```
 */
export const silentLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
};
