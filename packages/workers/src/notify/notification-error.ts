/**
 * Why a notification could not be delivered, and whether trying again can help. Channels throw it; the
 * `notification.send` job maps `retryable: false` to a permanent failure and `retryAfterSeconds` to a
 * deferred retry.
 */

/** Kinds of delivery failure. */
export type NotificationErrorCode =
  | "invalid_target"
  | "refused"
  | "not_configured"
  | "dns"
  | "timeout"
  | "network"
  | "rejected"
  | "rate_limited"
  | "server_error";

/** Options of `NotificationError`. */
export interface NotificationErrorOptions {
  retryable: boolean;
  /** The receiver asked us to wait this long before trying again. */
  retryAfterSeconds?: number;
  /** HTTP status of the receiver's answer, when there was one. */
  status?: number;
  cause?: unknown;
}

/**
 * A failed delivery.
 *
 * @example
 * ```ts
 * throw new NotificationError("refused", "host resolves to 10.0.0.5 (private)", { retryable: false });
 * ```
 */
export class NotificationError extends Error {
  override readonly name = "NotificationError";
  readonly code: NotificationErrorCode;
  readonly retryable: boolean;
  readonly retryAfterSeconds: number | undefined;
  readonly status: number | undefined;

  constructor(code: NotificationErrorCode, message: string, options: NotificationErrorOptions) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.retryable = options.retryable;
    this.retryAfterSeconds = options.retryAfterSeconds;
    this.status = options.status;
  }
}
