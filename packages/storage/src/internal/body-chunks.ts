/**
 * Turns every accepted body type into one async sequence of byte chunks, honouring an AbortSignal even
 * while the source is stalled. The caller's stream is never destroyed or cancelled: on failure we stop
 * reading and release it, so e.g. a gateway can still answer 413 on the same connection.
 */
import type { Readable } from "node:stream";
import type { StorageBody } from "../storage-adapter.js";
import { StorageError } from "../storage-error.js";
import { raceAbort, throwIfAborted } from "./abort.js";

const WHAT = "the upload";

function isWebStream(body: object): body is ReadableStream<Uint8Array> {
  return typeof (body as ReadableStream<Uint8Array>).getReader === "function";
}

function isNodeStream(body: object): body is NodeJS.ReadableStream {
  return (
    typeof (body as NodeJS.ReadableStream).on === "function" &&
    typeof (body as NodeJS.ReadableStream)[Symbol.asyncIterator] === "function"
  );
}

function toBytes(chunk: unknown): Uint8Array {
  if (chunk instanceof Uint8Array) return chunk;
  if (typeof chunk === "string") return Buffer.from(chunk, "utf8");
  throw new StorageError("invalid_argument", "body stream chunks must be Uint8Array or string", {
    details: { field: "body" },
  });
}

/** The error for a body stream that failed (or was destroyed) before it ended: `aborted`. */
export function streamFailed(error: unknown): StorageError {
  if (StorageError.isInstance(error)) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new StorageError("aborted", `the body stream failed before it ended: ${message}`, { cause: error });
}

async function* nodeChunks(
  body: NodeJS.ReadableStream,
  signal: AbortSignal | undefined,
): AsyncGenerator<Uint8Array> {
  const readable = body as Partial<Pick<Readable, "iterator">> & NodeJS.ReadableStream;
  const iterator: AsyncIterator<unknown> =
    typeof readable.iterator === "function"
      ? readable.iterator({ destroyOnReturn: false })
      : body[Symbol.asyncIterator]();
  let finished = false;
  try {
    while (true) {
      const next = await raceAbort(iterator.next(), signal, WHAT);
      if (next.done) {
        finished = true;
        return;
      }
      const chunk = toBytes(next.value);
      if (chunk.byteLength > 0) yield chunk;
    }
  } catch (error) {
    throw streamFailed(error);
  } finally {
    if (!finished) iterator.return?.().catch(() => {});
  }
}

async function* webChunks(
  body: ReadableStream<Uint8Array>,
  signal: AbortSignal | undefined,
): AsyncGenerator<Uint8Array> {
  const reader = body.getReader();
  try {
    while (true) {
      const next = await raceAbort(reader.read(), signal, WHAT);
      if (next.done) return;
      const chunk = toBytes(next.value);
      if (chunk.byteLength > 0) yield chunk;
    }
  } catch (error) {
    throw streamFailed(error);
  } finally {
    try {
      reader.releaseLock();
    } catch {
      // A read is still pending (we were aborted mid-read); the stream stays locked until it settles.
    }
  }
}

/**
 * Yields the body's bytes in order. Throws `invalid_argument` for an unsupported body, `aborted` when
 * the signal fires or the source stream errors.
 */
export async function* bodyChunks(
  body: StorageBody,
  signal: AbortSignal | undefined,
): AsyncGenerator<Uint8Array> {
  throwIfAborted(signal, WHAT);
  if (typeof body === "string") {
    if (body.length > 0) yield Buffer.from(body, "utf8");
    return;
  }
  if (body instanceof Uint8Array) {
    if (body.byteLength > 0) yield body;
    return;
  }
  if (typeof body === "object" && body !== null) {
    if (isWebStream(body)) {
      yield* webChunks(body, signal);
      return;
    }
    if (isNodeStream(body)) {
      yield* nodeChunks(body, signal);
      return;
    }
  }
  throw new StorageError(
    "invalid_argument",
    "body must be a Uint8Array, a string, a web ReadableStream or a Node readable stream",
    { details: { field: "body" } },
  );
}
