import pino from "pino";

/**
 * An error's message followed by those of its causes, `outer: inner`, leaving out a cause whose message
 * the text already holds. pino's own serializer appends every cause, so an error that wraps another and
 * repeats its message (a job error around the delivery error it came from) logged
 * "the tenant has no webhookSecret to sign with: the tenant has no webhookSecret to sign with".
 */
export function messageWithCauses(error: Error): string {
  let message = error.message;
  const seen = new Set<unknown>([error]);
  let cause: unknown = error.cause;
  while (cause instanceof Error && !seen.has(cause) && seen.size < 10) {
    seen.add(cause);
    if (cause.message && !message.includes(cause.message)) message = `${message}: ${cause.message}`;
    cause = cause.cause;
  }
  return message;
}

/**
 * The logger's `err` serializer: pino's (type, stack with causes, own properties), with the message of
 * `messageWithCauses`.
 *
 * @example
 * ```ts
 * pino({ serializers: { err: serializeError } });
 * ```
 */
export function serializeError(error: unknown): unknown {
  const serialized = pino.stdSerializers.err(error as Error);
  if (error instanceof Error && serialized && typeof serialized === "object") {
    (serialized as { message: string }).message = messageWithCauses(error);
  }
  return serialized;
}
