/**
 * What a route handler returns, and how it becomes a response.
 *
 * On Node the response is written straight to the `ServerResponse` with `writeHead(status, rawHeaders)`
 * and one `end(body)`, and h3 is told the request is handled (`Symbol.for("h3.handled")`, the protocol
 * h3's own Node-handler adapter uses). That is one socket write per response and no intermediate
 * objects. Elsewhere (`app.fetch`, HEAD requests) it is an srvx `FastResponse` with the same headers.
 * Returning a native `Response`, or setting `event.res.headers`, makes h3 rebuild the response and
 * costs most of the throughput (see bench/http).
 */
import type { ServerResponse } from "node:http";
import { FastResponse } from "srvx";

/** A response header as a `[name, value]` pair; names are lower-case. */
export type HeaderPair = readonly [string, string];

/** h3's marker for "the response has already been written". */
export const HANDLED: unique symbol = Symbol.for("h3.handled") as never;

/** A handler's answer: a status, a body (JSON value, or text with its content type) and extra headers. */
export class Reply {
  constructor(
    readonly status: number,
    readonly body: unknown,
    readonly headers: readonly HeaderPair[] = [],
    /** When set, `body` is a string sent as is with this content type. */
    readonly contentType?: string,
  ) {}
}

/** A JSON answer with a status other than 200 (a plain returned value means 200). */
export function json(status: number, body: unknown, headers: readonly HeaderPair[] = []): Reply {
  return new Reply(status, body, headers);
}

/** A text answer (e.g. the Prometheus exposition). */
export function text(status: number, body: string, contentType: string): Reply {
  return new Reply(status, body, [], contentType);
}

/** 204 No Content. */
export function noContent(headers: readonly HeaderPair[] = []): Reply {
  return new Reply(204, undefined, headers);
}

const JSON_TYPE = "application/json; charset=utf-8";

/** Serialises the reply; `headers` (a flat `[name, value, name, value…]` list) gains content type and extras. */
function prepare(reply: Reply, headers: string[]): string | null {
  for (const [name, value] of reply.headers) headers.push(name, value);
  if (reply.status === 204 || reply.status === 304) return null;
  headers.push("content-type", reply.contentType ?? JSON_TYPE);
  return reply.contentType === undefined ? JSON.stringify(reply.body ?? null) : String(reply.body);
}

/** Writes the reply to a Node response in one go; returns h3's "handled" marker. */
export function writeNodeResponse(res: ServerResponse, reply: Reply, headers: string[]): typeof HANDLED {
  const body = prepare(reply, headers);
  if (body !== null) headers.push("content-length", String(Buffer.byteLength(body)));
  res.writeHead(reply.status, headers);
  res.end(body ?? undefined);
  return HANDLED;
}

/** The reply as a web `Response` (srvx `FastResponse`), for `app.fetch` and HEAD. */
export function toFastResponse(reply: Reply, headers: string[]): Response {
  const body = prepare(reply, headers);
  const pairs: [string, string][] = [];
  for (let i = 0; i < headers.length; i += 2) pairs.push([headers[i] as string, headers[i + 1] as string]);
  return new FastResponse(body, { status: reply.status, headers: pairs });
}
