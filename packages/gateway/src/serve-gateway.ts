import { type IncomingMessage, type Server, type ServerResponse, STATUS_CODES } from "node:http";
import type { Duplex } from "node:stream";
import { CyberneticError } from "@cybernetic/core";
import { type H3, serve } from "h3";
import { requestIdOf } from "./middleware/request-id.js";
import type { RequestTracker } from "./pipeline.js";

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
   * Graceful stop: stops accepting connections, lets in-flight requests finish (responses then carry
   * `connection: close`), closes idle keep-alive connections, and after `timeoutMs` cuts whatever is left.
   * Resolves once the server is closed; calling it twice returns the same promise.
   */
  close(options?: { timeoutMs?: number }): Promise<void>;
}

/** Internal: the pieces `serveGateway` needs from the gateway. */
export interface ServeTarget {
  app: H3;
  tracker: RequestTracker;
  defaultTimeoutMs: number;
  /** Run after the server closed (e.g. ending SSE streams with a final event). */
  onClose(): Promise<void>;
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
  const { headers, body } = closingError(requestId, message, { reason });
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
    // The pipeline refuses a Host-less HTTP/1.1 request itself, with a JSON error (Node's is a bare 400).
    node: { requireHostHeader: false },
  });
  await server.ready();
  const node = server.node?.server as Server | undefined;
  const address = node?.address();
  if (!node || !address || typeof address === "string")
    throw new Error("the HTTP server did not start listening");
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

  const close = async (timeoutMs: number) => {
    target.tracker.draining = true;
    const closed = new Promise<void>((resolve) => node.close(() => resolve()));
    node.closeIdleConnections();
    // Keep-alive connections become idle as their last response finishes; close them as they do.
    const sweep = setInterval(() => node.closeIdleConnections(), 50);
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<"timeout">((resolve) => {
      timer = setTimeout(() => resolve("timeout"), timeoutMs);
    });
    const outcome = await Promise.race([
      Promise.all([closed, target.tracker.idle()]).then(() => "closed" as const),
      deadline,
    ]);
    clearInterval(sweep);
    clearTimeout(timer);
    if (outcome === "timeout") {
      node.closeAllConnections();
      await closed;
    }
    await target.onClose();
  };

  return {
    url: `http://${host}:${address.port}`,
    port: address.port,
    close(options) {
      closing ??= close(options?.timeoutMs ?? target.defaultTimeoutMs);
      return closing;
    },
  };
}
