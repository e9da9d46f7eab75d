import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { timingSafeEqualStrings } from "../internal/timing-safe-equal.js";
import type { GatewayMetrics } from "../metrics.js";

/** The worker process's own small HTTP endpoint (`WORKER_PORT`): liveness and metrics for Prometheus. */
export interface WorkerHttp {
  url: string;
  close(): Promise<void>;
}

/**
 * Serves `GET /health` (`{"status":"ok"}`) and `GET /metrics` (the worker's registry: jobs by queue and
 * outcome, queue depths, the pool, the process), `Authorization: Bearer <METRICS_TOKEN>` required for
 * `/metrics` when a token is set, like the gateway's. Anything else is a JSON 404.
 */
export async function serveWorkerHttp(options: {
  port: number;
  host: string;
  metrics: GatewayMetrics;
  metricsToken: string | undefined;
}): Promise<WorkerHttp> {
  const { metrics, metricsToken } = options;
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    const json = (status: number, body: unknown) => {
      res.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
    };
    if (req.method !== "GET" && req.method !== "HEAD") {
      json(405, { error: { code: "method_not_allowed", message: "only GET is served here" } });
      return;
    }
    if (path === "/health") {
      json(200, { status: "ok" });
      return;
    }
    if (path === "/metrics") {
      const given = /^Bearer (.+)$/i.exec(req.headers.authorization ?? "")?.[1];
      if (metricsToken && (given === undefined || !timingSafeEqualStrings(given, metricsToken))) {
        json(401, { error: { code: "unauthorized", message: "GET /metrics needs the metrics token" } });
        return;
      }
      metrics.render().then(
        (text) => res.writeHead(200, { "content-type": metrics.contentType }).end(text),
        () => json(500, { error: { code: "internal", message: "metrics could not be collected" } }),
      );
      return;
    }
    json(404, {
      error: { code: "not_found", message: `no route ${path}: the worker serves /health and /metrics` },
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const host = options.host.includes(":") ? `[${options.host}]` : options.host;
  return {
    url: `http://${host === "0.0.0.0" ? "127.0.0.1" : host}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
