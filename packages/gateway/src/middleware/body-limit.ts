import type { IncomingMessage } from "node:http";
import { CyberneticError } from "@cybernetic/core";
import type { H3Event } from "h3";

/** 413 with `connection: close`: the rest of the body is not read, so the connection cannot be reused. */
export function payloadTooLarge(limit: number, seen?: number): CyberneticError {
  return new CyberneticError(
    "payload_too_large",
    `the request body exceeds the limit of ${limit} bytes${seen === undefined ? "" : ` (${seen} declared)`}`,
    { details: { limitBytes: limit }, headers: { connection: "close" } },
  );
}

/**
 * Checks `Content-Length` against the limit before anything is read.
 *
 * @throws CyberneticError `payload_too_large` (413), or `validation_failed` for a malformed length.
 */
export function assertContentLength(contentLength: string | null, limit: number): void {
  if (contentLength === null) return;
  if (!/^\d{1,16}$/.test(contentLength)) {
    throw new CyberneticError("validation_failed", "the Content-Length header is not a number", {
      details: { issues: [{ path: "content-length", message: "must be a non-negative integer" }] },
    });
  }
  const length = Number(contentLength);
  if (length > limit) throw payloadTooLarge(limit, length);
}

/** True when the request carries a body (or may: a chunked one). */
export function hasBody(event: H3Event): boolean {
  const headers = event.req.headers;
  const length = headers.get("content-length");
  if (length !== null) return length !== "0";
  if (headers.get("transfer-encoding") !== null) return true;
  // Without either header an HTTP/1.1 request has no body; an in-memory Request (app.fetch) may.
  return event.runtime?.node?.req === undefined && event.req.body !== null;
}

/** 400: the client went away before its request body was whole. */
export function closedEarly(): CyberneticError {
  return new CyberneticError("validation_failed", "the client closed the request early");
}

/**
 * Throws `closedEarly()` when the request stream was destroyed before its end: a client that went away
 * while the request waited (e.g. for authentication) leaves a stream that will never emit again, so a
 * reader that started now would wait forever.
 */
export function assertRequestOpen(req: IncomingMessage): void {
  if (req.destroyed && !req.readableEnded) throw closedEarly();
}

function readNode(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    try {
      assertRequestOpen(req);
    } catch (error) {
      reject(error);
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    const cleanup = () => {
      req.off("data", onData);
      req.off("end", onEnd);
      req.off("error", onError);
      req.off("close", onClose);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        cleanup();
        req.pause();
        reject(payloadTooLarge(limit));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      cleanup();
      resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size));
    };
    const onError = (error: Error) => {
      cleanup();
      reject(
        new CyberneticError("validation_failed", `the request body could not be read: ${error.message}`),
      );
    };
    // 'close' before 'end' (`onEnd` removes this listener): the body will never be whole, even when the
    // client had sent all of it (a destroyed stream drops what it had buffered).
    const onClose = () => {
      cleanup();
      reject(closedEarly());
    };
    req.on("data", onData).once("end", onEnd).once("error", onError).once("close", onClose);
  });
}

async function readWeb(body: ReadableStream<Uint8Array>, limit: number): Promise<Buffer> {
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel().catch(() => {});
      throw payloadTooLarge(limit);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks, size);
}

/**
 * Reads the whole body, counting bytes as they arrive: a chunked body (no `Content-Length`) that grows
 * past the limit is refused with 413 as soon as it does, without buffering the rest.
 */
export function readBodyLimited(event: H3Event, limit: number): Promise<Buffer> {
  const nodeReq = event.runtime?.node?.req as IncomingMessage | undefined;
  if (nodeReq !== undefined) return readNode(nodeReq, limit);
  const body = event.req.body;
  return body === null ? Promise.resolve(Buffer.alloc(0)) : readWeb(body, limit);
}
