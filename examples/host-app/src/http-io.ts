/**
 * The few HTTP helpers a plain `node:http` app needs around the SDK: JSON replies, errors as JSON from
 * core's one error catalog (`CyberneticError`: its `code` and `status`), and a bounded JSON body reader.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { CyberneticError, type Logger } from "@cybernetic/core";

/** Sends `body` as JSON with `status`. */
export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    "content-type": "application/json; charset=utf-8",
    "content-length": Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

/**
 * Answers with the error as `{ error: { code, message, details? }, requestId }`. A `CyberneticError`
 * (thrown by the SDK's services or by this app) carries its status; anything else is a bug: logged,
 * and answered 500 without its message.
 */
export function sendError(res: ServerResponse, error: unknown, requestId: string, logger: Logger): void {
  const known = CyberneticError.isInstance(error)
    ? error
    : new CyberneticError("internal", "internal error", { cause: error });
  if (!CyberneticError.isInstance(error)) logger.error({ err: error, requestId }, "unexpected error");
  if (res.headersSent) {
    // A download failed half-way: the status is gone, so the client must see a truncated response.
    res.destroy();
    return;
  }
  sendJson(res, known.status, { error: known.toJSON(), requestId }, { ...known.headers });
  if (!res.req.complete) drainRefusedBody(res.req);
}

/** How long a client may go on sending a body the app refused, after the answer. */
const DRAIN_MS = 5_000;

/**
 * Reads and discards the rest of a refused body (a 413 sent while the client is still uploading), so the
 * answer reaches the client and the connection stays usable. Closing at once instead would leave unread
 * bytes in the socket: the kernel then resets the connection, and the client sees `EPIPE` instead of the
 * 413. A client that goes on sending past `DRAIN_MS` has its connection closed.
 */
function drainRefusedBody(req: IncomingMessage): void {
  const timer = setTimeout(() => req.socket.destroy(), DRAIN_MS);
  timer.unref();
  req.once("end", () => clearTimeout(timer));
  req.once("close", () => clearTimeout(timer));
  req.resume();
}

/** Reads a JSON request body of at most `limit` bytes (413 past it, 415 for another media type). */
export async function readJson(req: IncomingMessage, limit: number): Promise<unknown> {
  const type = (req.headers["content-type"] ?? "").split(";")[0]?.trim().toLowerCase();
  if (type !== "application/json")
    throw new CyberneticError("unsupported_media_type", "expected content-type: application/json", {
      details: { contentType: req.headers["content-type"] ?? null },
    });
  const declared = Number(req.headers["content-length"] ?? 0);
  if (declared > limit) throw tooLarge(limit);
  const body = await readLimited(req, limit);
  try {
    return JSON.parse(body.toString("utf8"));
  } catch (error) {
    throw new CyberneticError("invalid_json", `the body is not valid JSON: ${(error as Error).message}`);
  }
}

/**
 * Collects the body, counting bytes as they arrive. Past the limit it stops without destroying the
 * request (`for await` would: breaking out of it destroys the socket, so the 413 never reaches a client
 * still sending a chunked body).
 */
function readLimited(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const cleanup = () => {
      req.off("data", onData);
      req.off("end", onEnd);
      req.off("error", onError);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        cleanup();
        req.pause(); // the error answer drains the rest (sendError)
        reject(tooLarge(limit));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      cleanup();
      resolve(Buffer.concat(chunks, size));
    };
    const onError = (error: Error) => {
      cleanup();
      reject(error);
    };
    req.on("data", onData).once("end", onEnd).once("error", onError);
  });
}

/** 413, naming the limit. */
export function tooLarge(limit: number): CyberneticError {
  return new CyberneticError("payload_too_large", `the body is larger than ${limit} bytes`, {
    details: { limit },
  });
}
