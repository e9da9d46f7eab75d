import type { IncomingMessage } from "node:http";
import { Readable, Transform, type TransformCallback } from "node:stream";
import type { ReadableStream as NodeWebReadableStream } from "node:stream/web";
import {
  type Artifact,
  type ArtifactService,
  artifactPageSchema,
  artifactSchema,
  CyberneticError,
  listArtifactsSchema,
} from "@cybernetic/core";
import type { H3Event } from "h3";
import { z } from "zod";
import { EVENT_CURSOR_RESPONSE_HEADERS, listAtEventCursor } from "../internal/event-cursor.js";
import { type HeaderPair, json, noContent, StreamReply } from "../internal/reply.js";
import { assertRequestOpen, payloadTooLarge } from "../middleware/body-limit.js";
import { type AnyRoute, defineApiRoute, type RouteContext } from "../route-definition.js";
import { notConfigured, type RouteDependencies, tenantOf } from "./route-dependencies.js";

/** `*path`: everything after `/v1/artifacts/`, percent-decoded; the artifact service validates it. */
const pathParams = z.object({
  path: z.string().describe("The artifact's path, e.g. `reports/2026/q4.pdf` (key rules apply)"),
});

const META_PREFIX = "x-cybernetic-meta-";
const ARTIFACT_PATH = "/v1/artifacts/**:path";

/** `bytes=a-b`, `bytes=a-` or `bytes=-n`; anything else (several ranges included) is refused with 416. */
function parseRange(header: string, size: number): { start: number; end: number } {
  const match = /^bytes=(\d{0,16})-(\d{0,16})$/.exec(header.trim());
  const unsatisfiable = () =>
    new CyberneticError("range_not_satisfiable", `the range ${JSON.stringify(header)} cannot be served`, {
      details: { size, range: header },
      headers: { "content-range": `bytes */${size}` },
    });
  if (!match || (match[1] === "" && match[2] === "")) throw unsatisfiable();
  let start: number;
  let end: number;
  if (match[1] === "") {
    const suffix = Number(match[2]);
    if (suffix === 0) throw unsatisfiable();
    start = Math.max(0, size - suffix);
    end = size - 1;
  } else {
    start = Number(match[1]);
    end = match[2] === "" ? size - 1 : Math.min(Number(match[2]), size - 1);
  }
  if (start > end || start >= size) throw unsatisfiable();
  return { start, end };
}

/** The headers describing an artifact (GET and HEAD). */
function artifactHeaders(artifact: Artifact): HeaderPair[] {
  const headers: HeaderPair[] = [
    ["etag", `"${artifact.sha256}"`],
    ["x-cybernetic-sha256", artifact.sha256],
    ["accept-ranges", "bytes"],
    ["last-modified", new Date(artifact.updatedAt).toUTCString()],
  ];
  for (const [name, value] of Object.entries(artifact.metadata))
    headers.push([`${META_PREFIX}${name}`, value]);
  return headers;
}

/** Counts the bytes of an upload and fails it with 413 as soon as it passes the limit. */
class ByteLimit extends Transform {
  bytes = 0;
  exceeded = false;
  constructor(readonly limit: number) {
    super();
  }
  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.bytes > this.limit) {
      this.exceeded = true;
      callback(payloadTooLarge(this.limit));
      return;
    }
    callback(null, chunk);
  }
}

/**
 * The request body as a Node stream passed through the byte limit; the signal aborts the upload when the
 * client goes away before it finished sending.
 */
function uploadOf(
  event: H3Event,
  limit: number,
): { body: Readable; counter: ByteLimit; signal: AbortSignal } {
  const controller = new AbortController();
  const counter = new ByteLimit(limit);
  const nodeReq = event.runtime?.node?.req as IncomingMessage | undefined;
  let source: Readable;
  if (nodeReq !== undefined) {
    // Otherwise the upload would wait forever for a stream that will never emit, its temp file open.
    assertRequestOpen(nodeReq);
    source = nodeReq;
    nodeReq.once("close", () => {
      if (!nodeReq.complete) controller.abort(new Error("the client closed the request early"));
    });
  } else {
    const web = event.req.body;
    source = web === null ? Readable.from([]) : Readable.fromWeb(web as unknown as NodeWebReadableStream);
  }
  source.on("error", (error) => counter.destroy(error));
  // Until the storage adapter starts reading (after its own async set-up) nothing else listens on the
  // counter: a client that goes away, or a body past the limit, in that window would otherwise raise an
  // 'error' with no listener and crash the process. The error stays on the stream (`errored`), and the
  // adapter meets it as soon as it reads.
  counter.on("error", () => {});
  source.pipe(counter);
  return { body: counter, counter, signal: controller.signal };
}

/** Metadata from `x-cybernetic-meta-<name>` headers. */
function metadataOf(headers: Headers): Record<string, string> {
  // No prototype: a `__proto__` header must become a name that validation refuses, not vanish.
  const metadata: Record<string, string> = Object.create(null);
  for (const [name, value] of headers) {
    if (name.startsWith(META_PREFIX) && name.length > META_PREFIX.length)
      metadata[name.slice(META_PREFIX.length)] = value;
  }
  return metadata;
}

/**
 * Artifacts: tenant files streamed to and from the storage adapter (never buffered whole). Isolation
 * comes from the tenant context: a path only ever names the calling tenant's artifacts.
 */
export function artifactRoutes(deps: RouteDependencies): AnyRoute[] {
  const { platform, metrics } = deps;
  const maxBytes = deps.artifactMaxBytes;
  const service = (): ArtifactService => {
    if (platform.artifacts === undefined) throw notConfigured("artifact storage");
    return platform.artifacts;
  };
  const artifactErrors = ["validation_failed", "not_found", "unavailable"] as const;

  const download = async (ctx: RouteContext<{ path: string }>, withBody: boolean) => {
    const artifacts = service();
    const tenant = tenantOf(ctx);
    const rangeHeader = ctx.event.req.headers.get("range");
    if (!withBody) {
      const artifact = await artifacts.head(tenant, ctx.params.path);
      return new StreamReply(200, undefined, artifact.size, artifact.contentType, artifactHeaders(artifact));
    }
    let range: { start: number; end: number } | undefined;
    if (rangeHeader !== null) {
      const artifact = await artifacts.head(tenant, ctx.params.path);
      range = parseRange(rangeHeader, artifact.size);
    }
    const got = await artifacts.get(tenant, ctx.params.path, range ? { range } : {});
    const { artifact } = got;
    const headers = artifactHeaders(artifact);
    const served = got.range ?? range;
    if (served) headers.push(["content-range", `bytes ${served.start}-${served.end}/${artifact.size}`]);
    got.body.once("end", () => metrics.storageBytes("out", got.size));
    return new StreamReply(served ? 206 : 200, got.body, got.size, artifact.contentType, headers);
  };

  return [
    defineApiRoute({
      method: "GET",
      path: "/v1/artifacts",
      operationId: "listArtifacts",
      summary: "The tenant's artifacts by path, with a prefix filter",
      description: "Cursor-paginated in path order; `prefix` keeps the paths that start with it.",
      tag: "artifacts",
      auth: "tenant",
      scope: "artifacts",
      query: listArtifactsSchema,
      responses: {
        200: {
          description: "One page of artifacts",
          schema: artifactPageSchema,
          headers: EVENT_CURSOR_RESPONSE_HEADERS,
        },
      },
      errors: ["validation_failed", "invalid_cursor", "unavailable"],
      handler: (ctx) =>
        listAtEventCursor(deps.platform.db, tenantOf(ctx), () => service().list(tenantOf(ctx), ctx.query)),
    }),
    defineApiRoute({
      method: "PUT",
      path: ARTIFACT_PATH,
      operationId: "putArtifact",
      summary: "Store an artifact (streamed); replaces the one at the same path",
      description:
        "The body is streamed to storage as it arrives. `Content-Type` is kept; `x-cybernetic-meta-<name>` headers become metadata; " +
        "`x-cybernetic-expires-at` (ISO timestamp) schedules its removal; `x-cybernetic-unit-id` names the unit it belongs to (default the root unit). " +
        "201 for a new path, 200 when it replaced one.",
      tag: "artifacts",
      auth: "tenant",
      scope: "artifacts",
      params: pathParams,
      streamBody: { description: "The artifact's bytes", bodyLimitBytes: maxBytes },
      responses: {
        201: { description: "Stored", schema: artifactSchema },
        200: { description: "Replaced the artifact at this path", schema: artifactSchema },
      },
      errors: [...artifactErrors, "payload_too_large"],
      async handler(ctx) {
        const artifacts = service();
        const tenant = tenantOf(ctx);
        const headers = ctx.event.req.headers;
        const upload = uploadOf(ctx.event, maxBytes);
        const expiresAt = headers.get("x-cybernetic-expires-at");
        const unitId = headers.get("x-cybernetic-unit-id");
        let artifact: Artifact;
        try {
          artifact = await artifacts.put(tenant, ctx.params.path, upload.body, {
            contentType: headers.get("content-type") ?? "application/octet-stream",
            metadata: metadataOf(headers),
            ...(expiresAt !== null ? { expiresAt } : {}),
            ...(unitId !== null ? { unitId } : {}),
            signal: upload.signal,
          });
        } catch (error) {
          if (upload.counter.exceeded) throw payloadTooLarge(maxBytes);
          throw error;
        }
        metrics.storageBytes("in", artifact.size);
        return json(artifact.createdAt === artifact.updatedAt ? 201 : 200, artifact);
      },
    }),
    defineApiRoute({
      method: "GET",
      path: ARTIFACT_PATH,
      operationId: "getArtifact",
      summary: "Download an artifact (streamed); `Range: bytes=a-b` gives 206",
      description:
        "Streams the bytes with `content-type`, `content-length` and `etag`; a single `Range: bytes=a-b` answers 206.",
      tag: "artifacts",
      auth: "tenant",
      scope: "artifacts",
      params: pathParams,
      responses: {
        200: {
          description: "The artifact's bytes; `etag` is the quoted SHA-256",
          contentType: "application/octet-stream",
        },
        206: { description: "The requested byte range", contentType: "application/octet-stream" },
      },
      errors: [...artifactErrors, "range_not_satisfiable"],
      handler: (ctx) => download(ctx, true),
    }),
    defineApiRoute({
      method: "HEAD",
      path: ARTIFACT_PATH,
      operationId: "headArtifact",
      summary: "An artifact's headers (size, content type, SHA-256) without its bytes",
      description: "The same headers as a download, without the body.",
      tag: "artifacts",
      auth: "tenant",
      scope: "artifacts",
      params: pathParams,
      responses: { 200: { description: "The artifact's headers" } },
      errors: [...artifactErrors],
      handler: (ctx) => download(ctx, false),
    }),
    defineApiRoute({
      method: "DELETE",
      path: ARTIFACT_PATH,
      operationId: "deleteArtifact",
      summary: "Delete an artifact (record and blob)",
      description: "Deletes the record and the stored bytes; 404 when nothing is stored at the path.",
      tag: "artifacts",
      auth: "tenant",
      scope: "artifacts",
      params: pathParams,
      responses: { 204: { description: "Deleted" } },
      errors: [...artifactErrors],
      async handler(ctx) {
        await service().delete(tenantOf(ctx), ctx.params.path);
        return noContent();
      },
    }),
  ];
}
