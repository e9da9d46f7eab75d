import { type IncomingMessage, type Server, type ServerResponse, STATUS_CODES } from "node:http";
import { Server as NetServer, type Socket } from "node:net";
import type { Duplex } from "node:stream";
import { CyberneticError } from "@cybernetic/core";
import { type H3, serve } from "h3";
import { lingerOnClose } from "./internal/lingering-close.js";
import { requestIdOf } from "./middleware/request-id.js";
import type { RequestTracker } from "./pipeline.js";

/**
 * How long a connection that has not sent a request yet may take to send it once the listener closed (or
 * from its accept, if later) before it is closed as idle. Its request is usually already in the socket
 * buffer: this covers the parse on a busy process, also for a connection opened long before the signal
 * whose request was written just before it.
 */
const FRESH_CONNECTION_GRACE_MS = 1_000;

/**
 * At most this much of `close()`'s `timeoutMs` (and never more than a tenth of it) is kept after the cut
 * for the interrupted requests to finish.
 */
const CUT_SETTLE_MS = 50;

/** How long an idle keep-alive connection stays open, when the target does not say (fastify's default too). */
const DEFAULT_KEEP_ALIVE_TIMEOUT_MS = 72_000;

/** Node requires requestTimeout ≥ headersTimeout unless it is 0 (off). */
const requestTimeoutFor = (target: ServeTarget) => {
  const request = target.requestTimeoutMs ?? 300_000;
  return request === 0 ? 0 : Math.max(request, target.headersTimeoutMs ?? 10_000);
};

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Options of `Gateway.serve`. */
export interface ServeOptions {
  /** 0 (the default) picks a free port. */
  port?: number;
  /** Default 127.0.0.1; use 0.0.0.0 to listen on every interface. */
  host?: string;
}

/** A listening gateway. */
export interface ServedGateway {
  /** e.g. `http://127.0.0.1:8080` (no trailing slash). */
  url: string;
  port: number;
  /**
   * Graceful stop, within `timeoutMs` in all (a hard ceiling):
   * 1. draining: `/ready` answers 503 and every response carries `connection: close`; for `drainMs` the
   *    server keeps accepting, so a load balancer has time to see it and stop sending;
   * 2. connections already waiting in the kernel's accept queue are accepted and answered, not reset;
   * 3. the listener closes; idle keep-alive connections close at once, new ones once they had a moment
   *    to send their request; in-flight requests finish;
   * 4. whatever is left shortly before `timeoutMs` runs out is cut (50 ms before, or a tenth of it when
   *    shorter), and the requests the cut interrupted get that time to finish.
   * Resolves once the server is closed; calling it twice returns the same promise.
   */
  close(options?: { timeoutMs?: number; drainMs?: number }): Promise<void>;
}

/** Internal: the pieces `serveGateway` needs from the gateway. */
export interface ServeTarget {
  app: H3;
  tracker: RequestTracker;
  defaultTimeoutMs: number;
  /** Default `drainMs` of `close()`. */
  defaultDrainMs?: number;
  /** Node's `headersTimeout` (ms): a request head must arrive within it, or 408. */
  headersTimeoutMs?: number;
  /** Node's `keepAliveTimeout` (ms): how long an idle keep-alive connection waits for its next request. */
  keepAliveTimeoutMs?: number;
  /** Node's `requestTimeout` (ms; 0 for none): the whole request must arrive within it. */
  requestTimeoutMs?: number;
  /** Run once draining is over, before the listener closes (ends SSE streams with a final event). */
  beforeStop?(): void;
  /** Run after the server closed. */
  onClose(): Promise<void>;
  /** Told when `timeoutMs` ran out with requests still in flight, just before they are cut. */
  onCut?(info: { requests: number; connections: number; timeoutMs: number }): void;
  /** Told about a request Node's HTTP parser rejected before the app saw it (answered by `serveGateway`). */
  onClientError?(info: { requestId: string; status: number; reason: string }): void;
}

/**
 * A `validation_failed` error in the API's JSON shape, for answers written outside the app (the request
 * never reached it), with the headers that close the connection.
 */
function closingError(
  requestId: string,
  message: string,
  details: unknown,
): { headers: Record<string, string>; body: string } {
  const error = new CyberneticError("validation_failed", message, { details });
  const body = JSON.stringify({ error: error.toJSON(), requestId });
  return {
    headers: {
      "content-type": "application/json",
      "content-length": String(Buffer.byteLength(body)),
      "x-request-id": requestId,
      connection: "close",
    },
    body,
  };
}

/**
 * Answers a request that Node's HTTP parser rejected (a malformed Content-Length, both Content-Length and
 * Transfer-Encoding, oversized headers, a header timeout) in the API's JSON error shape with a request id,
 * instead of Node's bare `400 Bad Request`, then closes the connection: after a framing error the rest
 * of the stream cannot be trusted. Returns what was answered, or undefined when nothing could be.
 */
export function answerClientError(
  error: NodeJS.ErrnoException,
  socket: Duplex,
): { requestId: string; status: number; reason: string } | undefined {
  const reason = error.code ?? "HPE_INVALID";
  // A response already under way on this connection (a pipelined request behind it broke) must not be
  // interleaved with another: only the connection can go.
  const inProgress = (socket as Duplex & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
  if (reason === "ECONNRESET" || !socket.writable || inProgress?.headersSent) {
    socket.destroy();
    return undefined;
  }
  const [status, message] =
    reason === "HPE_HEADER_OVERFLOW"
      ? [431, "the request headers are too large"]
      : reason === "ERR_HTTP_REQUEST_TIMEOUT"
        ? [408, "the request was not received in time"]
        : [400, `the HTTP request is malformed (${reason})`];
  const requestId = requestIdOf(undefined);
  const { headers, body } = closingError(requestId, message, { reason: reason.toLowerCase() });
  const head = Object.entries(headers).map(([name, value]) => `${name}: ${value}\r\n`);
  socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\n${head.join("")}\r\n${body}`);
  return { requestId, status, reason };
}

/**
 * Starts a Node HTTP server for the app with h3's `serve()` (srvx), whose response path writes
 * FastResponses without building web streams. srvx's own signal handling is turned off: the CLI owns
 * SIGTERM/SIGINT and calls `close()`.
 */
export async function serveGateway(target: ServeTarget, options: ServeOptions = {}): Promise<ServedGateway> {
  const server = serve(target.app, {
    port: options.port ?? 0,
    hostname: options.host ?? "127.0.0.1",
    silent: true,
    gracefulShutdown: false,
    node: {
      // The pipeline refuses a Host-less HTTP/1.1 request itself, with a JSON error (Node's is a bare 400).
      requireHostHeader: false,
      // Slow clients: Node's defaults (a 60 s head timeout, checked every 30 s) let one hold a connection
      // for 90 s. A timed-out request is answered 408 in the API's shape (answerClientError).
      headersTimeout: target.headersTimeoutMs ?? 10_000,
      requestTimeout: requestTimeoutFor(target),
      connectionsCheckingInterval: 1_000,
    },
  });
  await server.ready();
  const node = server.node?.server as Server | undefined;
  const address = node?.address();
  if (!node || !address || typeof address === "string")
    throw new Error("the HTTP server did not start listening");
  // Node's default (5 s) is shorter than the idle timeout of most load balancers in front of it (see
  // `keepAliveTimeoutMs` in config.ts).
  node.keepAliveTimeout = target.keepAliveTimeoutMs ?? DEFAULT_KEEP_ALIVE_TIMEOUT_MS;
  // An `Expect` other than 100-continue: Node would answer a bare 417.
  node.on("checkExpectation", (req: IncomingMessage, res: ServerResponse) => {
    const requestId = requestIdOf(req.headers["x-request-id"] as string | undefined);
    const { headers, body } = closingError(
      requestId,
      `the Expect header is not supported: ${JSON.stringify(String(req.headers.expect).slice(0, 100))}`,
      { issues: [{ path: "expect", message: "only 100-continue is supported" }] },
    );
    res.shouldKeepAlive = false;
    res.writeHead(417, headers);
    res.end(body);
    target.onClientError?.({ requestId, status: 417, reason: "unsupported Expect" });
  });
  node.on("clientError", (error: NodeJS.ErrnoException, socket: Duplex) => {
    const answered = answerClientError(error, socket);
    if (answered) target.onClientError?.(answered);
  });
  const host = address.family === "IPv6" ? `[${address.address}]` : address.address;
  let closing: Promise<void> | undefined;

  // Every connection, with what it has done, so shutdown can tell an idle keep-alive connection (close
  // it) from one just accepted whose request is still in the socket buffer (let it be read and answered).
  const sockets = new Map<
    Socket,
    { acceptedAt: number; served: number; inFlight: number; current?: IncomingMessage }
  >();
  let accepted = 0;
  node.on("connection", (socket: Socket) => {
    accepted++;
    const info: { acceptedAt: number; served: number; inFlight: number; current?: IncomingMessage } = {
      acceptedAt: Date.now(),
      served: 0,
      inFlight: 0,
    };
    sockets.set(socket, info);
    socket.once("close", () => sockets.delete(socket));
    // A 413 (or any closing answer) sent before the body was read must reach a client still sending it.
    lingerOnClose(socket, () => info.current);
  });
  // One `request` listener: the bookkeeping, then srvx's handler (its own listener, swapped for this one).
  // Node's emit of an event with two listeners copies the listener array on every request, and one shared
  // `close` listener spares a closure and a once-wrapper per response.
  const onResponseClose = function (this: ServerResponse) {
    const info = sockets.get(this.req?.socket as Socket);
    if (info !== undefined) info.inFlight--;
  };
  const handle = server.node?.handler as ((req: IncomingMessage, res: ServerResponse) => void) | undefined;
  if (handle === undefined || !node.listeners("request").includes(handle))
    throw new Error("the HTTP server's request handler was not found");
  node.removeListener("request", handle);
  node.on("request", (req: IncomingMessage, res: ServerResponse) => {
    const info = sockets.get(req.socket as Socket);
    if (info !== undefined) {
      info.served++;
      info.inFlight++;
      info.current = req;
      res.on("close", onResponseClose);
    }
    handle(req, res);
  });

  const close = async (timeoutMs: number, drainMs: number) => {
    const deadline = Date.now() + timeoutMs;
    const left = () => Math.max(0, deadline - Date.now());
    target.tracker.draining = true;
    // 1. Draining: still accepting (and answering with `connection: close`) while /ready says 503.
    if (drainMs > 0) await sleep(Math.min(drainMs, left()));
    // 2. The accept queue: libuv accepts what is pending each time the loop polls; wait until a few polls
    // in a row bring nothing new (bounded), so closing the listener resets nobody who already connected.
    for (let quiet = 0, rounds = 0; quiet < 3 && rounds < 30 && left() > 0; rounds++) {
      const before = accepted;
      await sleep(Math.min(5, left()));
      quiet = accepted === before ? quiet + 1 : 0;
    }
    // 3. Stop listening. (http.Server#close would also close every connection it considers idle at once,
    // including ones accepted a moment ago whose request has not been parsed yet: those would be reset.)
    const closed = new Promise<void>((resolve) => NetServer.prototype.close.call(node, () => resolve()));
    target.beforeStop?.();
    const stoppedListening = Date.now();
    const sweep = () => {
      const now = Date.now();
      for (const [socket, info] of sockets) {
        if (info.inFlight > 0) continue;
        const since = Math.max(info.acceptedAt, stoppedListening);
        if (info.served > 0 || now - since >= FRESH_CONNECTION_GRACE_MS) socket.destroy();
      }
    };
    sweep();
    const sweeper = setInterval(sweep, 25);
    // The end of the ceiling is kept for the requests a cut interrupts: their body reads fail within a turn
    // or two of the loop, and they finish (status, access-log line) before the server reports closed.
    const settleMs = Math.min(CUT_SETTLE_MS, Math.floor(timeoutMs / 10));
    let timer: NodeJS.Timeout | undefined;
    const outcome = await Promise.race([
      Promise.all([closed, target.tracker.idle()]).then(() => "closed" as const),
      new Promise<"timeout">((resolve) => {
        timer = setTimeout(() => resolve("timeout"), Math.max(0, left() - settleMs));
      }),
    ]);
    clearInterval(sweeper);
    clearTimeout(timer);
    if (outcome === "timeout") {
      target.onCut?.({ requests: target.tracker.active, connections: sockets.size, timeoutMs });
      node.closeAllConnections();
      for (const socket of sockets.keys()) socket.destroy();
      await closed;
      await Promise.race([target.tracker.idle(), sleep(left())]);
    }
    await target.onClose();
  };

  return {
    url: `http://${host}:${address.port}`,
    port: address.port,
    close(options) {
      closing ??= close(
        options?.timeoutMs ?? target.defaultTimeoutMs,
        options?.drainMs ?? target.defaultDrainMs ?? 0,
      );
      return closing;
    },
  };
}
