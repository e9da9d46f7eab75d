import type { Server } from "node:http";
import { type H3, serve } from "h3";
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
  });
  await server.ready();
  const node = server.node?.server as Server | undefined;
  const address = node?.address();
  if (!node || !address || typeof address === "string")
    throw new Error("the HTTP server did not start listening");
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
