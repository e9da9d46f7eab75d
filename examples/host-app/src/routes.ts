/**
 * The host app's own HTTP API, on plain `node:http`. Every route signs the user in with the app's own
 * bearer token, finds the user's tenant, and calls the SDK's services with that tenant id: row-level
 * security in PostgreSQL then keeps each organisation's notes and files apart.
 *
 * | route | SDK call |
 * |---|---|
 * | `POST /notes` | `platform.episodes.create`: the note, its `episode.created` event and its S4 analysis job, in one transaction |
 * | `GET /notes` | `platform.episodes.list` |
 * | `GET /notes/:id` | `platform.episodes.get`: status `pending` → `analyzing` → `complete` (with `analysis`) or `failed` |
 * | `PUT /files/:name` | `platform.artifacts.put`: the body streamed to the storage adapter, recorded once whole |
 * | `GET /files/:name` | `platform.artifacts.get`: streamed back |
 */
import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { pipeline } from "node:stream/promises";
import {
  type ArtifactService,
  CyberneticError,
  type Episode,
  type Logger,
  notFound,
  type Platform,
} from "@cybernetic/core";
import { keyProblem } from "@cybernetic/storage";
import { fieldError } from "./field-error.js";
import { readJson, sendError, sendJson, tooLarge } from "./http-io.js";
import type { TenantDirectory } from "./tenant-directory.js";
import type { HostUser, UserDirectory } from "./users.js";

/** Largest `POST /notes` body. */
export const NOTE_BODY_LIMIT_BYTES = 64 * 1024;
/** Where the app's files live inside each tenant's artifacts. */
const FILES_PREFIX = "files/";
/** What `POST /notes` accepts; anything else is refused by name. */
const NOTE_FIELDS = new Set(["title", "content", "tags"]);

/** What the request handler works with. */
export interface RequestHandlerOptions {
  platform: Platform;
  users: UserDirectory;
  tenants: TenantDirectory;
  logger: Logger;
  /** Largest file `PUT /files/:name` accepts (the artifact service enforces it while streaming too). */
  fileMaxBytes: number;
  /** True once shutdown began: `/health` answers 503 and responses close their connection. */
  isStopping(): boolean;
}

/** A note as the app shows it: the episode's fields the app cares about. */
export interface Note {
  id: string;
  title: string;
  content: string;
  tags: string[];
  status: Episode["status"];
  /** S4's analysis (summary, entities, sentiment, topics, systems, risk) once `status` is `complete`. */
  analysis: Episode["analysis"];
  error: string | null;
  createdAt: string;
  analyzedAt: string | null;
}

/** The app's view of an episode. */
export function toNote(episode: Episode): Note {
  const { id, title, content, tags, status, analysis, error, createdAt, analyzedAt } = episode;
  return { id, title, content, tags, status, analysis, error, createdAt, analyzedAt };
}

interface Context {
  req: IncomingMessage;
  res: ServerResponse;
  url: URL;
  requestId: string;
  user: HostUser;
  tenantId: string;
}

type Handler = (ctx: Context, param: string) => Promise<void>;

interface Route {
  method: string;
  pattern: RegExp;
  handler: Handler;
}

function unauthorized(message: string): CyberneticError {
  return new CyberneticError("unauthorized", message, { headers: { "www-authenticate": "Bearer" } });
}

/** The user the request's `Authorization: Bearer <token>` signs in (401 otherwise). */
function signIn(req: IncomingMessage, users: UserDirectory): HostUser {
  const header = req.headers.authorization;
  if (header === undefined) throw unauthorized("missing authorization: Bearer <token>");
  const match = /^Bearer\s+(\S+)$/i.exec(header);
  if (!match?.[1]) throw unauthorized("authorization must be Bearer <token>");
  const user = users.authenticate(match[1]);
  if (!user) throw unauthorized("unknown token");
  return user;
}

/** A path parameter, percent-decoded: one path segment (`:name` of `/files/:name`, `:id` of `/notes/:id`). */
function pathParam(raw: string, field: string): string {
  let value: string;
  try {
    value = decodeURIComponent(raw);
  } catch {
    throw fieldError(field, "is not valid percent-encoding");
  }
  if (value.includes("/")) throw fieldError(field, "must not contain /");
  return value;
}

/** The body of `POST /notes`, checked for shape here; its values are checked by core's episode schema. */
function noteInput(body: unknown): { title: unknown; content: unknown; tags: unknown } {
  if (typeof body !== "object" || body === null || Array.isArray(body))
    throw fieldError("(body)", 'expected a JSON object like {"title": "…", "content": "…"}');
  const unknown = Object.keys(body).filter((key) => !NOTE_FIELDS.has(key));
  if (unknown.length > 0) throw fieldError(unknown[0] as string, "unknown field (title, content, tags)");
  const { title, content, tags } = body as Record<string, unknown>;
  if (title === undefined) throw fieldError("title", "required");
  return { title, content, tags };
}

/** The `Idempotency-Key` header, if any: a retried POST with the same key creates one note. */
function idempotencyKey(req: IncomingMessage): string | undefined {
  const key = req.headers["idempotency-key"];
  if (key === undefined) return undefined;
  if (typeof key !== "string" || !/^[\x21-\x7e]{1,100}$/.test(key))
    throw fieldError("idempotency-key", "expected 1 to 100 printable ASCII characters");
  return key;
}

/** The `:name` of `/files/:name`, checked against storage's key rules before the prefix is added. */
function fileName(raw: string): string {
  const name = pathParam(raw, "name");
  const problem = keyProblem(name);
  if (problem) throw fieldError("name", problem.message);
  return name;
}

/** Rewords the SDK's `not_found` in the app's terms (a note, a file), so the client reads its own API. */
async function orNotFound<T>(work: Promise<T>, kind: string, id: string): Promise<T> {
  try {
    return await work;
  } catch (error) {
    throw CyberneticError.isInstance(error) && error.code === "not_found" ? notFound(kind, id) : error;
  }
}

function artifactsOf(platform: Platform): ArtifactService {
  // Always set here: startHostApp hands createPlatform a storage adapter.
  if (!platform.artifacts) throw new CyberneticError("unavailable", "file storage is not configured");
  return platform.artifacts;
}

/**
 * Builds the `node:http` request listener of the app's routes.
 *
 * @example
 * ```ts
 * const server = createServer(createRequestHandler({ platform, users, tenants, logger, isStopping }));
 * ```
 */
export function createRequestHandler(
  options: RequestHandlerOptions,
): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  const { platform, users, tenants, logger } = options;

  const routes: Route[] = [
    {
      method: "POST",
      pattern: /^\/notes$/,
      async handler({ req, res, user, tenantId }) {
        const key = idempotencyKey(req);
        const { title, content, tags } = noteInput(await readJson(req, NOTE_BODY_LIMIT_BYTES));
        const { episode, created } = await platform.episodes.create(tenantId, {
          title,
          ...(content === undefined ? {} : { content }),
          ...(tags === undefined ? {} : { tags }),
          source: "host-app",
          // (source, sourceId) is unique per tenant: the same key from the same user is one note.
          ...(key === undefined ? {} : { sourceId: `${user.id}:${key}` }),
        });
        sendJson(res, created ? 201 : 200, toNote(episode), { location: `/notes/${episode.id}` });
      },
    },
    {
      method: "GET",
      pattern: /^\/notes$/,
      async handler({ res, url, tenantId }) {
        // core validates the query (limit 1..100, cursor) and names an unknown parameter.
        const page = await platform.episodes.list(tenantId, Object.fromEntries(url.searchParams));
        sendJson(res, 200, { items: page.items.map(toNote), nextCursor: page.nextCursor });
      },
    },
    {
      method: "GET",
      pattern: /^\/notes\/([^/]+)$/,
      async handler({ res, tenantId }, raw) {
        const id = pathParam(raw, "id");
        // Another tenant's note is `not_found`, exactly like a note that does not exist.
        const episode = await orNotFound(platform.episodes.get(tenantId, id), "note", id);
        sendJson(res, 200, toNote(episode));
      },
    },
    {
      method: "PUT",
      pattern: /^\/files\/([^/]+)$/,
      async handler({ req, res, tenantId }, raw) {
        const name = fileName(raw);
        // Refused before a byte is read when the client says up front that it is too large.
        if (Number(req.headers["content-length"] ?? 0) > options.fileMaxBytes)
          throw tooLarge(options.fileMaxBytes);
        // Nothing is stored when the client goes away half-way: the adapter writes a temp file and
        // publishes it only once the whole body arrived; the record follows in one transaction.
        const aborted = new AbortController();
        req.once("close", () => {
          if (!req.complete) aborted.abort(new Error("the client closed the upload early"));
        });
        const artifact = await artifactsOf(platform).put(tenantId, `${FILES_PREFIX}${name}`, req, {
          contentType: req.headers["content-type"] ?? "application/octet-stream",
          signal: aborted.signal,
        });
        sendJson(
          res,
          artifact.createdAt === artifact.updatedAt ? 201 : 200,
          { name, size: artifact.size, sha256: artifact.sha256, contentType: artifact.contentType },
          { location: `/files/${encodeURIComponent(name)}` },
        );
      },
    },
    {
      method: "GET",
      pattern: /^\/files\/([^/]+)$/,
      async handler({ res, tenantId }, raw) {
        const name = fileName(raw);
        const { artifact, body, size } = await orNotFound(
          artifactsOf(platform).get(tenantId, `${FILES_PREFIX}${name}`),
          "file",
          name,
        );
        res.writeHead(200, {
          "content-type": artifact.contentType,
          "content-length": size,
          etag: `"${artifact.sha256}"`,
        });
        await pipeline(body, res);
      },
    },
  ];

  const dispatch = async (req: IncomingMessage, res: ServerResponse, url: URL, requestId: string) => {
    if (url.pathname === "/health") {
      if (req.method !== "GET") throw methodNotAllowed(["GET"]);
      const stopping = options.isStopping();
      sendJson(res, stopping ? 503 : 200, { status: stopping ? "stopping" : "ok" });
      return;
    }
    const matching = routes.filter((route) => route.pattern.test(url.pathname));
    if (matching.length === 0) throw notFound("route", `${req.method} ${url.pathname}`);
    const route = matching.find((r) => r.method === req.method);
    if (!route) throw methodNotAllowed(matching.map((r) => r.method));
    const user = signIn(req, users);
    const tenantId = await tenants.tenantOf(user.organisation);
    const param = route.pattern.exec(url.pathname)?.[1] ?? "";
    await route.handler({ req, res, url, requestId, user, tenantId }, param);
  };

  return async (req, res) => {
    const requestId = randomUUID();
    const started = performance.now();
    res.setHeader("x-request-id", requestId);
    // While shutting down, a finished response also ends its keep-alive connection.
    if (options.isStopping()) res.setHeader("connection", "close");
    res.once("finish", () =>
      logger.info(
        {
          requestId,
          method: req.method,
          path: new URL(req.url ?? "/", "http://host-app").pathname,
          status: res.statusCode,
          ms: Math.round(performance.now() - started),
        },
        "request",
      ),
    );
    try {
      await dispatch(req, res, new URL(req.url ?? "/", "http://host-app"), requestId);
    } catch (error) {
      // The client is gone (an upload it abandoned, a download it stopped reading): nobody to answer.
      if (req.destroyed && res.destroyed) return;
      sendError(res, error, requestId, logger);
    }
  };
}

function methodNotAllowed(allowed: string[]): CyberneticError {
  return new CyberneticError("method_not_allowed", `method not allowed; use ${allowed.join(", ")}`, {
    headers: { allow: allowed.join(", ") },
  });
}
