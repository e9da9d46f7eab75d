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
import { Readable } from "node:stream";
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

/**
 * A streamed binary answer (an artifact download): `stream` is piped to the client as it is read, never
 * buffered; `length` is its exact byte count. Without a stream (HEAD) only the headers are sent.
 */
export class StreamReply extends Reply {
  constructor(
    status: number,
    readonly stream: Readable | undefined,
    readonly length: number,
    contentType: string,
    headers: readonly HeaderPair[] = [],
  ) {
    super(status, undefined, headers, contentType);
  }
}

/**
 * An answer the handler writes itself once the pipeline has its headers (the event stream): on Node
 * `start` gets the response and the pipeline's headers (request id, CORS, security) and owns the
 * response from then on; elsewhere (HEAD, `app.fetch`) `cancel` is called and only the headers go out.
 */
export class HijackReply extends Reply {
  constructor(
    /** Resolves once the response is over: srvx ends a response as soon as the handler settles. */
    readonly start: (res: ServerResponse, headers: string[]) => Promise<void>,
    readonly cancel: () => void,
    contentType: string,
  ) {
    super(200, undefined, [], contentType);
  }
}

const JSON_TYPE = "application/json; charset=utf-8";

/** Serialises the reply; `headers` (a flat `[name, value, name, value…]` list) gains content type and extras. */
function prepare(reply: Reply, headers: string[]): string | null {
  for (const [name, value] of reply.headers) headers.push(name, value);
  if (reply.status === 204 || reply.status === 304) return null;
  headers.push("content-type", reply.contentType ?? JSON_TYPE);
  return reply.contentType === undefined ? JSON.stringify(reply.body ?? null) : String(reply.body);
}

function prepareStream(reply: StreamReply, headers: string[]): void {
  for (const [name, value] of reply.headers) headers.push(name, value);
  headers.push("content-type", reply.contentType ?? "application/octet-stream");
  headers.push("content-length", String(reply.length));
}

/** Writes the reply to a Node response in one go; returns h3's "handled" marker. */
export function writeNodeResponse(
  res: ServerResponse,
  reply: Reply,
  headers: string[],
): typeof HANDLED | Response | Promise<typeof HANDLED> {
  // A stream goes back to srvx as a response whose body it pipes to the socket (with backpressure).
  if (reply instanceof StreamReply) return toFastResponse(reply, headers, true);
  if (reply instanceof HijackReply) {
    return reply.start(res, headers).then(() => HANDLED);
  }
  const body = prepare(reply, headers);
  if (body !== null) headers.push("content-length", String(Buffer.byteLength(body)));
  res.writeHead(reply.status, headers);
  res.end(body ?? undefined);
  return HANDLED;
}

/**
 * The reply as a web `Response` (srvx `FastResponse`), for `app.fetch` and HEAD. With `nodeStream` a
 * stream body stays a Node `Readable`, which srvx's Node adapter pipes as is.
 */
export function toFastResponse(reply: Reply, headers: string[], nodeStream = false): Response {
  let body: string | ReadableStream | Readable | null;
  if (reply instanceof HijackReply) {
    reply.cancel();
    headers.push("content-type", reply.contentType as string);
    body = null;
  } else if (reply instanceof StreamReply) {
    prepareStream(reply, headers);
    body =
      reply.stream === undefined
        ? null
        : nodeStream
          ? reply.stream
          : (Readable.toWeb(reply.stream) as ReadableStream);
  } else body = prepare(reply, headers);
  const pairs: [string, string][] = [];
  for (let i = 0; i < headers.length; i += 2) pairs.push([headers[i] as string, headers[i + 1] as string]);
  return new FastResponse(body as BodyInit | null, { status: reply.status, headers: pairs });
}
