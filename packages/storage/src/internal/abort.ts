/** AbortSignal helpers: every abort surfaces as a `StorageError` with code `aborted`. */
import { StorageError } from "../storage-error.js";

/** The error for an aborted signal; keeps the signal's reason as `cause`. */
export function abortedError(signal: AbortSignal, what: string): StorageError {
  if (StorageError.isInstance(signal.reason)) return signal.reason;
  return new StorageError("aborted", `${what} was aborted`, { cause: signal.reason });
}

/** Throws `aborted` when the signal has fired. */
export function throwIfAborted(signal: AbortSignal | undefined, what: string): void {
  if (signal?.aborted) throw abortedError(signal, what);
}

/**
 * Settles with `promise`, or rejects with `aborted` as soon as `signal` fires, whichever comes first.
 * The losing promise's rejection is handled, so it never becomes an unhandled rejection.
 */
export function raceAbort<T>(promise: Promise<T>, signal: AbortSignal | undefined, what: string): Promise<T> {
  if (!signal) return promise;
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(abortedError(signal, what));
    if (signal.aborted) {
      promise.catch(() => {});
      onAbort();
      return;
    }
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener("abort", onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(error);
      },
    );
  });
}

/**
 * Destroys `stream` with an `aborted` error when `signal` fires before the stream closes, so a caller
 * that aborts a download stops the file read or HTTP response at once.
 */
export function destroyOnAbort(
  stream: { destroy(error?: Error): unknown; once(event: "close", listener: () => void): unknown },
  signal: AbortSignal | undefined,
  what: string,
): void {
  if (!signal) return;
  const onAbort = () => stream.destroy(abortedError(signal, what));
  if (signal.aborted) {
    onAbort();
    return;
  }
  signal.addEventListener("abort", onAbort, { once: true });
  stream.once("close", () => signal.removeEventListener("abort", onAbort));
}
