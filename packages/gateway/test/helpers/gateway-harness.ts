/**
 * Starts a real gateway on a random loopback port over a per-file test database, and talks to it with
 * `fetch`. Nothing in the gateway is mocked; the job queue is the in-memory `RecordingQueue` (see there).
 */
import { randomBytes } from "node:crypto";
import { request as httpRequest } from "node:http";
import type { StorageAdapter } from "@cybernetic/storage";
import pino from "pino";
import { afterAll, beforeAll } from "vitest";
import { type TestPlatformContext, useTestPlatform } from "../../../../test/setup/database.ts";
import {
  createGateway,
  type Gateway,
  type GatewayConfig,
  type GatewayOptions,
  type ServedGateway,
} from "../../src/index.ts";
import { createRecordingQueue, type RecordingQueue } from "./recording-queue.ts";

export const ADMIN_KEY = `admin-${randomBytes(24).toString("base64url")}`;

/** A parsed JSON body: tests read it by shape, so it is deliberately untyped. */
// biome-ignore lint/suspicious/noExplicitAny: response bodies are asserted field by field
export type Body = any;

/** A response with its JSON body parsed (when it has one). */
export interface ApiResponse<T = Body> {
  status: number;
  headers: Headers;
  body: T;
  text: string;
}

export interface RequestOptions {
  method?: string;
  /** Sent as `Authorization: Bearer <key>`. */
  key?: string;
  /** JSON-encoded unless a string or Uint8Array. */
  body?: unknown;
  headers?: Record<string, string>;
}

export interface GatewayHarness {
  db: TestPlatformContext;
  queue: RecordingQueue;
  gateway: Gateway;
  server: ServedGateway;
  url: string;
  request<T = Body>(path: string, options?: RequestOptions): Promise<ApiResponse<T>>;
}

export interface HarnessOptions {
  config?: GatewayConfig;
  /** Extra createGateway options (storage, evaluatePolicy…). */
  gateway?: (ctx: { queue: RecordingQueue }) => Partial<GatewayOptions>;
  /** Give the gateway a job queue (default true). */
  withQueue?: boolean;
  /** A storage adapter for the platform (artifacts) and the gateway (readiness). */
  storage?: () => StorageAdapter | Promise<StorageAdapter>;
}

/** Registers hooks that start a gateway for this test file; read the fields inside tests. */
export function useGateway(options: HarnessOptions = {}): GatewayHarness {
  const queue = createRecordingQueue();
  const withQueue = options.withQueue !== false;
  const db = useTestPlatform({
    ...(withQueue ? { queue: () => queue } : {}),
    ...(options.storage ? { storage: options.storage } : {}),
  });
  const harness = { db, queue } as GatewayHarness;
  beforeAll(async () => {
    harness.gateway = createGateway({
      platform: db.platform,
      config: { adminKey: ADMIN_KEY, apiKeyCacheTtlMs: 0, ...options.config },
      logger: pino({ level: "silent" }),
      ...(withQueue ? { queue } : {}),
      ...(db.platform.storage ? { storage: db.platform.storage } : {}),
      ...options.gateway?.({ queue }),
    });
    harness.server = await harness.gateway.serve({ port: 0, host: "127.0.0.1" });
    harness.url = harness.server.url;
    harness.request = (path, init) => request(harness.url, path, init);
  });
  afterAll(async () => {
    await harness.server?.close({ timeoutMs: 1000 });
  });
  return harness;
}

/** One HTTP request with fetch. */
export async function request<T = Body>(
  base: string,
  path: string,
  options: RequestOptions = {},
): Promise<ApiResponse<T>> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.key !== undefined) headers.authorization = `Bearer ${options.key}`;
  let body: string | Uint8Array | undefined;
  if (options.body !== undefined) {
    if (typeof options.body === "string" || options.body instanceof Uint8Array) body = options.body;
    else {
      body = JSON.stringify(options.body);
      headers["content-type"] ??= "application/json";
    }
  }
  const response = await fetch(`${base}${path}`, {
    method: options.method ?? "GET",
    headers,
    body: body as BodyInit | undefined,
  });
  const text = await response.text();
  let parsed: unknown;
  try {
    parsed = text === "" ? undefined : JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  return { status: response.status, headers: response.headers, body: parsed as T, text };
}

/** Creates a tenant through the admin API; returns it with its first key. */
export async function createTenant(harness: GatewayHarness, slug?: string) {
  const res = await harness.request("/v1/tenants", {
    method: "POST",
    key: ADMIN_KEY,
    body: { name: "Test tenant", slug: slug ?? `t-${randomBytes(5).toString("hex")}` },
  });
  if (res.status !== 201) throw new Error(`tenant creation failed: ${res.status} ${res.text}`);
  return {
    tenant: res.body.tenant as { id: string; slug: string },
    key: res.body.apiKey.key as string,
    keyId: res.body.apiKey.id as string,
  };
}

/**
 * A request through `node:http`, for what fetch cannot send: no content type, a body written in chunks
 * without `Content-Length`, a bogus `Content-Length`, a raw path.
 */
export function rawRequest(
  base: string,
  options: { method: string; path: string; headers?: Record<string, string>; chunks?: (string | Buffer)[] },
): Promise<ApiResponse> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    let responded = false;
    const req = httpRequest(
      {
        host: url.hostname,
        port: url.port,
        method: options.method,
        path: options.path,
        headers: options.headers,
      },
      (res) => {
        responded = true;
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          const headers = new Headers();
          for (const [k, v] of Object.entries(res.headers)) if (typeof v === "string") headers.set(k, v);
          let body: unknown;
          try {
            body = text ? JSON.parse(text) : undefined;
          } catch {
            body = undefined;
          }
          resolve({ status: res.statusCode ?? 0, headers, body, text });
        });
      },
    );
    // The server may answer (413) and close before the whole body is written; that is the point.
    req.on("error", (error: NodeJS.ErrnoException) => {
      if (!responded && error.code !== "EPIPE" && error.code !== "ECONNRESET") reject(error);
    });
    req.on("close", () => {
      if (!responded) reject(new Error("the connection closed without a response"));
    });
    const write = async () => {
      for (const chunk of options.chunks ?? []) {
        if (req.destroyed) return;
        if (!req.write(chunk)) {
          await new Promise<void>((resolve) => {
            const done = () => {
              req.off("drain", done).off("close", done);
              resolve();
            };
            req.once("drain", done).once("close", done);
          });
        }
      }
      req.end();
    };
    void write();
  });
}
