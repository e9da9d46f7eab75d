/** What an artifact upload accepts: a Blob (or File), a web ReadableStream, bytes, or a Node Readable. */
export type ArtifactBody = Blob | ReadableStream<Uint8Array> | Uint8Array | AsyncIterable<Uint8Array>;

/** Options of `artifacts.put`. */
export interface UploadOptions {
  contentType?: string;
  /** Stored as the artifact's metadata (`x-cybernetic-meta-<name>` headers). */
  metadata?: Record<string, string>;
  /** ISO 8601; the artifact expires then. */
  expiresAt?: string;
  /** Called with the bytes sent so far (and the total, when known). */
  onProgress?: (sent: number, total: number | undefined) => void;
  signal?: AbortSignal;
}

const isAsyncIterable = (value: unknown): value is AsyncIterable<Uint8Array> =>
  typeof (value as AsyncIterable<Uint8Array> | null)?.[Symbol.asyncIterator] === "function";

/** The request body for an upload, counting bytes when a progress callback is given. */
export function uploadBody(
  body: ArtifactBody,
  onProgress: UploadOptions["onProgress"],
): { body: BodyInit; streaming: boolean } {
  if (!onProgress && (body instanceof Uint8Array || body instanceof Blob)) {
    return { body: body as BodyInit, streaming: false };
  }
  const total = body instanceof Uint8Array ? body.byteLength : body instanceof Blob ? body.size : undefined;
  let source: ReadableStream<Uint8Array>;
  if (body instanceof Uint8Array) source = new Blob([body as BlobPart]).stream();
  else if (body instanceof Blob) source = body.stream();
  else if (body instanceof ReadableStream) source = body;
  else if (isAsyncIterable(body)) {
    const iterator = body[Symbol.asyncIterator]();
    source = new ReadableStream<Uint8Array>({
      async pull(controller) {
        const { value, done } = await iterator.next();
        if (done) controller.close();
        else
          controller.enqueue(value instanceof Uint8Array ? value : new TextEncoder().encode(String(value)));
      },
      async cancel() {
        await iterator.return?.();
      },
    });
  } else throw new TypeError("artifact body must be a Blob, ReadableStream, Uint8Array or Node Readable");
  if (!onProgress) return { body: source, streaming: true };
  let sent = 0;
  const counted = source.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        sent += chunk.byteLength;
        onProgress(sent, total);
        controller.enqueue(chunk);
      },
    }),
  );
  return { body: counted, streaming: true };
}
