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
  const headers: Record<string, string> = { ...known.headers };
  // The rest of a refused body is not read: the connection cannot be reused.
  if (known.status === 413) headers.connection = "close";
  sendJson(res, known.status, { error: known.toJSON(), requestId }, headers);
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
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > limit) throw tooLarge(limit);
    chunks.push(chunk as Buffer);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString("utf8"));
  } catch (error) {
    throw new CyberneticError("invalid_json", `the body is not valid JSON: ${(error as Error).message}`);
  }
}

/** 413, naming the limit. */
export function tooLarge(limit: number): CyberneticError {
  return new CyberneticError("payload_too_large", `the body is larger than ${limit} bytes`, {
    details: { limit },
  });
}
